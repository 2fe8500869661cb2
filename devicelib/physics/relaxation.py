r"""Conductance relaxation of programmed ReRAM cells (post-programming drift and broadening).

After a program-and-verify operation an oxide ReRAM cell does not keep its
conductance: the mean of a population programmed to :math:`G_0` drifts and
its spread grows roughly linearly in log time, as reported for the data set of
A. Levy's RRAM relaxation master model (repository
akashlevy/RRAM-Relaxation-Master-Model, MIT; its analysis fits
``var(g, t) = C1(g) log(t) + C2(g)``). The dominant picture is random
rearrangement of defects in the filament with a broad (log-uniform)
distribution of activation energies, which gives 1/f noise and changes that
accumulate per decade of time.

Model (per cell, time t since programming, initial conductance G0)
-------------------------------------------------------------------
With :math:`\ell(t) = \log_{10}(1 + t/t_0)`,

.. math::

    E[G(t)] - G_0 = a(G_0)\,\ell(t), \qquad
    a(G_0) = a_\infty + (a_0 - a_\infty)\,e^{-G_0/G_a}

    \mathrm{Var}[G(t)] - \mathrm{Var}[G(0)] = b(G_0)\,\ell(t), \qquad
    b(G_0) = b_0 + b_1\,G_0\,(1 - G_0/G_b)

(clipped at zero). :math:`a_0` is the drift per decade of a cell programmed
near zero conductance (upward), :math:`a_\infty` that of a well-formed
filament (downward); :math:`b` grows with the number of defects
(:math:`\propto G_0`) and saturates as the filament fills
(:math:`1 - G_0/G_b`). Sample paths are Gaussian with independent increments
in :math:`\ell`: a wait from :math:`t_1` to :math:`t_2` adds
:math:`a\,\Delta\ell` to the mean and :math:`b\,\Delta\ell` to the variance
(a Brownian motion in log time), so the marginal statistics above hold at
every read whatever the read schedule.

Use
---
- :class:`RelaxationModel`: the fitted parameters and the closed forms
  :meth:`~RelaxationModel.mean_drift`, :meth:`~RelaxationModel.variance_growth`,
  :meth:`~RelaxationModel.sample`, :meth:`~RelaxationModel.relax`.
- :class:`RelaxingDevice`: a layer over any :class:`~devicelib.core.DeviceModel`;
  each pulse restarts the relaxation clock at the conductance it produced and
  ``relax`` adds the drift and broadening to the read conductance.
- :func:`read_relaxation_tsv`, :func:`relaxation_statistics`,
  :func:`fit_relaxation`: reading and fitting data in the ``addr timept g
  range`` TSV layout.
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import xarray as xr

from ..core import DeviceModel, State

US = 1e-6


@dataclass(frozen=True)
class RelaxationModel:
    """Mean drift and variance growth versus log time and initial conductance (SI units)."""

    a0: float = 0.1 * US        # S per decade: drift of cells programmed near G = 0
    a_inf: float = -0.25 * US   # S per decade: drift of high-conductance cells
    G_a: float = 8.0 * US       # S: conductance scale of the drift cross-over
    b0: float = 0.05 * US**2    # S^2 per decade: variance growth at G0 -> 0
    b1: float = 0.15 * US       # S per decade: variance growth per unit G0
    G_b: float = 60.0 * US      # S: saturation conductance of the variance growth
    t0: float = 1e-3            # s: onset time of the log-time regime
    stderr: dict = field(default_factory=dict, compare=False)

    def __post_init__(self):
        for name in ("G_a", "G_b", "t0"):
            if not getattr(self, name) > 0:
                raise ValueError(f"RelaxationModel.{name} must be positive, got {getattr(self, name)}")

    def log_time(self, t):
        t = np.asarray(t, dtype=float)
        if np.any(t < 0):
            raise ValueError("RelaxationModel: time since programming must be >= 0")
        return np.log10(1.0 + t / self.t0)

    def drift_rate(self, g0):
        """a(G0), S per decade of (1 + t/t0)."""
        g0 = np.asarray(g0, dtype=float)
        return self.a_inf + (self.a0 - self.a_inf) * np.exp(-g0 / self.G_a)

    def variance_rate(self, g0):
        """b(G0) >= 0, S^2 per decade of (1 + t/t0)."""
        g0 = np.asarray(g0, dtype=float)
        return np.maximum(self.b0 + self.b1 * g0 * (1.0 - g0 / self.G_b), 0.0)

    def mean_drift(self, g0, t):
        """E[G(t)] - G0 (S)."""
        return self.drift_rate(g0) * self.log_time(t)

    def variance_growth(self, g0, t):
        """Var[G(t)] - Var[G(0)] (S^2)."""
        return self.variance_rate(g0) * self.log_time(t)

    def relax(self, g, g0, age, dt, rng: np.random.Generator):
        """Conductance after waiting ``dt`` more seconds, for cells of age ``age`` (s).

        Independent Gaussian increments in log time; returns (g_new, age_new).
        """
        age = np.asarray(age, dtype=float)
        age_new = age + np.asarray(dt, dtype=float)
        dl = self.log_time(age_new) - self.log_time(age)
        mean = self.drift_rate(g0) * dl
        sd = np.sqrt(self.variance_rate(g0) * dl)
        g_new = np.asarray(g, dtype=float) + mean + sd * rng.standard_normal(np.shape(g))
        return np.maximum(g_new, 0.0), age_new

    def sample(self, g0, times, rng: np.random.Generator) -> np.ndarray:
        """Sample paths at ``times`` (s, increasing) for cells programmed to ``g0``: shape (n, len(times))."""
        g0 = np.atleast_1d(np.asarray(g0, dtype=float))
        times = np.asarray(times, dtype=float)
        if np.any(np.diff(times) < 0):
            raise ValueError("RelaxationModel.sample: times must be increasing")
        out = np.empty((g0.size, times.size))
        g, age = g0.copy(), np.zeros_like(g0)
        for k, t in enumerate(times):
            g, age = self.relax(g, g0, age, t - age, rng)
            out[:, k] = g
        return out

    def to_dict(self) -> dict:
        d = asdict(self)
        d.pop("stderr")
        return d


class RelaxingDevice(DeviceModel):
    """A layer adding post-programming relaxation to any device model.

    State: the base model's state plus ``relax_offset`` (S, added to the
    read), ``relax_g0`` (S, conductance right after the last pulse) and
    ``relax_age`` (s since the last pulse). ``apply_pulse`` runs the base
    pulse, folds the accumulated offset into nothing (a new program-and-verify
    starts from the base state) and restarts the clock; ``relax`` runs the base
    relax and adds drift and broadening from :class:`RelaxationModel`.

    Device-to-device variability of the base parameters must be applied to
    the base model before wrapping.
    """

    volatile = True
    stochastic = True

    def __init__(self, base: DeviceModel, relaxation: RelaxationModel, v_read: float = 0.1):
        self.base = base
        self.relaxation = relaxation
        self.v_read = float(v_read)
        self.params = {}
        self.rng = base.rng
        self.name = f"{base.name}+relaxation"
        self.family = base.family
        self.family_name = f"{base.family_name} with conductance relaxation"
        self.amplitude_unit = base.amplitude_unit
        self.state_variables = base.state_variables
        self.references = (*base.references, "akashlevy/RRAM-Relaxation-Master-Model (data, MIT)")

    def seed(self, seed):
        super().seed(seed)
        self.base.rng = self.rng
        return self

    def with_params(self, **values):
        return RelaxingDevice(self.base.with_params(**values), self.relaxation, self.v_read)

    def n_param_devices(self):
        return self.base.n_param_devices()

    def _extra(self, st: State, offset, g0, age) -> State:
        out = dict(st)
        out.update(relax_offset=offset, relax_g0=g0, relax_age=age)
        return out

    def initial_state(self, n: int) -> State:
        st = self.base.initial_state(n)
        return self._extra(st, np.zeros(n), self.base.conductance(st, self.v_read), np.zeros(n))

    def apply_pulse(self, state, amplitude, width, temperature):
        base_state = {k: v for k, v in state.items() if not k.startswith("relax_")}
        new = self.base.apply_pulse(base_state, amplitude, width, temperature)
        n = np.shape(state["relax_offset"])
        return self._extra(new, np.zeros(n), self.base.conductance(new, self.v_read), np.zeros(n))

    def relax(self, state, dt, temperature):
        base_state = {k: v for k, v in state.items() if not k.startswith("relax_")}
        new = self.base.relax(base_state, dt, temperature) if self.base.volatile else base_state
        g0 = state["relax_g0"]
        g = g0 + state["relax_offset"]
        g_new, age = self.relaxation.relax(g, g0, state["relax_age"], dt, self.rng)
        return self._extra(new, g_new - g0, g0, age)

    def conductance(self, state, v_read):
        return np.maximum(self.base.conductance(state, v_read) + state["relax_offset"], 0.0)

    def pulse_energy(self, before, after, amplitude, width, temperature):
        b = {k: v for k, v in before.items() if not k.startswith("relax_")}
        a = {k: v for k, v in after.items() if not k.startswith("relax_")}
        return self.base.pulse_energy(b, a, amplitude, width, temperature)


# -- data ------------------------------------------------------------------------


def read_relaxation_tsv(path: str | os.PathLike) -> xr.Dataset:
    """Read an ``addr timept g range`` TSV (g in S, timept in s) into ``g(cell, time)``.

    Missing reads are NaN. Coordinates: ``cell`` (address), ``time`` (s),
    ``range`` (programming range index per cell), ``g0`` (read at t = 0).
    """
    path = Path(path)
    try:
        with open(path, encoding="utf-8") as fh:
            header = fh.readline().split()
    except FileNotFoundError:
        raise FileNotFoundError(f"{path}: no such relaxation data file") from None
    want = ["addr", "timept", "g", "range"]
    if header != want:
        raise ValueError(f"{path}:1: expected the header {' '.join(want)!r} (tab-separated), got {header!r}")
    try:
        data = np.loadtxt(path, skiprows=1, ndmin=2)
    except ValueError as exc:
        raise ValueError(f"{path}: malformed row: {exc}") from None
    if data.shape[1] != 4:
        raise ValueError(f"{path}: expected 4 columns, found {data.shape[1]}")
    addr, tp, g, rng = data.T
    cells, cell_idx = np.unique(addr.astype(np.int64), return_inverse=True)
    times, time_idx = np.unique(tp, return_inverse=True)
    grid = np.full((cells.size, times.size), np.nan)
    grid[cell_idx, time_idx] = g
    ranges = np.full(cells.size, -1, dtype=np.int64)
    ranges[cell_idx] = rng.astype(np.int64)
    if times[0] != 0.0:
        raise ValueError(f"{path}: no reads at timept 0 (the initial conductance)")
    return xr.Dataset(
        {"g": (("cell", "time"), grid, {"units": "S", "long_name": "read conductance"})},
        coords={
            "cell": ("cell", cells, {"long_name": "cell address"}),
            "time": ("time", times, {"units": "s", "long_name": "time since programming"}),
            "range": ("cell", ranges, {"long_name": "programming range index"}),
            "g0": ("cell", grid[:, 0], {"units": "S", "long_name": "conductance at t = 0"}),
        },
        attrs={"source": str(path)},
    )


def relaxation_statistics(ds: xr.Dataset, g_max: float | None = None, min_cells: int = 20) -> xr.Dataset:
    """Per programming range and read time: mean G0, mean drift, variance and their standard errors.

    Cells with G0 above ``g_max`` (S) are dropped; ranges with fewer than
    ``min_cells`` cells are dropped.
    """
    g = ds["g"].values
    g0 = ds["g0"].values
    rng = ds["range"].values
    keep = np.isfinite(g0) if g_max is None else np.isfinite(g0) & (g0 <= g_max)
    ranges = [r for r in np.unique(rng[keep]) if np.sum(keep & (rng == r)) >= min_cells]
    nr, nt = len(ranges), g.shape[1]
    out = {k: np.full((nr, nt), np.nan) for k in ("drift", "drift_se", "var", "var_se", "count")}
    g0_mean = np.empty(nr)
    for i, r in enumerate(ranges):
        sel = keep & (rng == r)
        gi, g0i = g[sel], g0[sel]
        g0_mean[i] = g0i.mean()
        ok = np.isfinite(gi)
        cnt = ok.sum(0)
        d = np.where(ok, gi - g0i[:, None], np.nan)
        out["drift"][i] = np.nanmean(d, 0)
        out["drift_se"][i] = np.nanstd(d, 0, ddof=1) / np.sqrt(cnt)
        v = np.nanvar(gi, 0, ddof=1)
        out["var"][i] = v
        out["var_se"][i] = v * np.sqrt(2.0 / np.maximum(cnt - 1, 1))
        out["count"][i] = cnt
    units = {"drift": "S", "drift_se": "S", "var": "S^2", "var_se": "S^2", "count": "1"}
    return xr.Dataset(
        {k: (("range", "time"), v, {"units": units[k]}) for k, v in out.items()},
        coords={"range": np.array(ranges), "time": ds["time"].values,
                "g0": ("range", g0_mean, {"units": "S", "long_name": "mean conductance at t = 0"})},
    )


def fit_relaxation(stats: xr.Dataset, t0: float | None = None):
    """Fit :class:`RelaxationModel` to :func:`relaxation_statistics` output (lmfit, weighted).

    Mean drift and variance growth (variance minus the t = 0 variance) at all
    t > 0 are fitted together, each residual divided by its standard error.
    Returns ``(model, result, summary)``; ``summary`` has the RMSE of the mean
    drift (S) and of the standard deviation (S) over all ranges and times.
    """
    import lmfit

    t = stats["time"].values
    pos = t > 0
    g0 = stats["g0"].values[:, None]
    drift = stats["drift"].values[:, pos]
    dse = stats["drift_se"].values[:, pos]
    var = stats["var"].values
    dvar = var[:, pos] - var[:, :1]
    vse = np.hypot(stats["var_se"].values[:, pos], stats["var_se"].values[:, :1])
    tt = t[pos][None, :]
    ok_d = np.isfinite(drift) & (dse > 0)
    ok_v = np.isfinite(dvar) & (vse > 0)

    p = lmfit.Parameters()
    p.add("a0", 0.1, min=-5, max=5)           # uS/decade
    p.add("a_inf", -0.25, min=-5, max=5)      # uS/decade
    p.add("G_a", 8.0, min=0.1, max=200)       # uS
    p.add("b0", 0.05, min=-5, max=20)         # uS^2/decade
    p.add("b1", 0.2, min=0, max=10)           # uS/decade
    p.add("G_b", 60.0, min=5, max=1000)       # uS
    p.add("log_t0", -3.0 if t0 is None else np.log10(t0), min=-8, max=0, vary=t0 is None)

    def build(par):
        v = par.valuesdict()
        return RelaxationModel(a0=v["a0"] * US, a_inf=v["a_inf"] * US, G_a=v["G_a"] * US,
                               b0=v["b0"] * US**2, b1=v["b1"] * US, G_b=v["G_b"] * US, t0=10 ** v["log_t0"])

    def resid(par):
        m = build(par)
        rd = (m.mean_drift(g0, tt) - drift) / dse
        rv = (m.variance_growth(g0, tt) - dvar) / vse
        return np.concatenate([rd[ok_d], rv[ok_v]])

    res = lmfit.minimize(resid, p, method="least_squares")
    model = build(res.params)
    scale = {"a0": US, "a_inf": US, "G_a": US, "b0": US**2, "b1": US, "G_b": US}
    stderr = {k: (res.params[k].stderr or np.nan) * s for k, s in scale.items()}
    if res.params["log_t0"].vary and res.params["log_t0"].stderr is not None:
        stderr["t0"] = model.t0 * np.log(10) * res.params["log_t0"].stderr
    model = RelaxationModel(**model.to_dict(), stderr=stderr)
    pred_d = model.mean_drift(g0, tt)
    pred_sd = np.sqrt(var[:, :1] + model.variance_growth(g0, tt))
    rmse_drift = float(np.sqrt(np.nanmean((pred_d - drift)[ok_d] ** 2)))
    rmse_sd = float(np.sqrt(np.nanmean((pred_sd - np.sqrt(var[:, pos]))[ok_v] ** 2)))
    summary = {"rmse_drift": rmse_drift, "rmse_std": rmse_sd, "redchi": float(res.redchi),
               "n_points": int(ok_d.sum() + ok_v.sum()), "success": bool(res.success)}
    return model, res, summary


# -- thermally activated broadening (bakes) ------------------------------------------

K_B_EV = 8.617333262e-5  # Boltzmann constant, eV/K


@dataclass(frozen=True)
class ArrheniusBroadening:
    r"""Arrhenius-activated random-walk broadening of programmed conductance levels (bake retention).

    A cell programmed to :math:`G_0` and held at temperature :math:`T` for a time :math:`t`
    performs an unbiased random walk in conductance whose variance grows at a thermally
    activated rate (hopping of defects over one effective barrier :math:`E_a`):

    .. math::

        \mathrm{Var}[G(t) - G_0] = D(G_0, T)\,t, \qquad
        D(G_0, T) = d(G_0)\,\exp\!\left[-\frac{E_a}{k_B}\left(\frac{1}{T} - \frac{1}{T_\mathrm{ref}}\right)\right]

    :math:`d(G_0)` (S^2/s) is the rate at :math:`T_\mathrm{ref}`, tabulated on the programmed
    levels ``g_levels`` (S) and interpolated linearly in :math:`G_0` (held constant outside).
    For two bakes of equal duration the ratio of their variance growth is
    :math:`\exp[-E_a/k_B (1/T_1 - 1/T_2)]`, so :math:`E_a` does not depend on the (common)
    duration, while :math:`d` scales as 1/duration. Fitted to the Stanford 1T1R bakes by
    ``docs/scripts/fit_stanford_1t1r_reset_bake.py`` (card ``vcm.stanford1t1r_fit``, ``[fit.retention]``).
    The mean is unchanged (no drift term): the measured mean shifts are not Arrhenius-ordered.
    """

    g_levels: tuple            # S, increasing
    rate_ref: tuple            # S^2/s at T_ref, one per level (>= 0)
    Ea: float                  # eV
    T_ref: float = 358.15      # K

    def __post_init__(self):
        g, d = np.asarray(self.g_levels, float), np.asarray(self.rate_ref, float)
        if g.ndim != 1 or g.shape != d.shape or g.size < 1:
            raise ValueError("ArrheniusBroadening: g_levels and rate_ref must be 1-D and of equal length")
        if np.any(np.diff(g) <= 0):
            raise ValueError("ArrheniusBroadening.g_levels must be strictly increasing")
        if np.any(d < 0) or not np.all(np.isfinite(d)):
            raise ValueError("ArrheniusBroadening.rate_ref must be finite and >= 0")
        if not (np.isfinite(self.Ea) and self.T_ref > 0):
            raise ValueError(f"ArrheniusBroadening: need finite Ea and T_ref > 0, got {self.Ea}, {self.T_ref}")

    def acceleration(self, temperature):
        """exp[-Ea/kB (1/T - 1/T_ref)]: rate at ``temperature`` (K) relative to T_ref."""
        t = np.asarray(temperature, dtype=float)
        if np.any(t <= 0):
            raise ValueError("ArrheniusBroadening: temperature must be > 0 K")
        return np.exp(-self.Ea / K_B_EV * (1.0 / t - 1.0 / self.T_ref))

    def variance_rate(self, g0, temperature):
        """D(G0, T), S^2/s."""
        d = np.interp(np.asarray(g0, float), np.asarray(self.g_levels, float), np.asarray(self.rate_ref, float))
        return d * self.acceleration(temperature)

    def variance_growth(self, g0, t, temperature):
        """Var[G(t) - G0] (S^2) after ``t`` seconds at ``temperature``."""
        t = np.asarray(t, dtype=float)
        if np.any(t < 0):
            raise ValueError("ArrheniusBroadening: bake time must be >= 0")
        return self.variance_rate(g0, temperature) * t

    def relax(self, g, g0, dt, temperature, rng: np.random.Generator):
        """Conductance after ``dt`` more seconds at ``temperature`` (independent Gaussian increments)."""
        sd = np.sqrt(self.variance_growth(g0, dt, temperature))
        return np.maximum(np.asarray(g, float) + sd * rng.standard_normal(np.shape(g)), 0.0)

    @classmethod
    def from_fit(cls, table: dict) -> ArrheniusBroadening:
        """From a card's ``[fit.retention]`` table (``g_levels``, ``rate_ref``, ``Ea``, ``T_ref`` entries)."""
        try:
            return cls(tuple(table["g_levels"]["value"]), tuple(table["rate_ref"]["value"]),
                       float(table["Ea"]["value"]), float(table["T_ref"]["value"]))
        except KeyError as exc:
            raise ValueError(f"[fit.retention]: no {exc.args[0]!r} entry for an Arrhenius broadening law") from None


class BakedDevice(RelaxingDevice):
    """A layer adding :class:`ArrheniusBroadening` to any device model: ``relax(state, dt, T)`` adds a
    zero-mean random walk whose variance is D(G0, T) dt to the read conductance (G0: the conductance
    right after the last pulse, which restarts the walk)."""

    def __init__(self, base: DeviceModel, law: ArrheniusBroadening, v_read: float = 0.1):
        super().__init__(base, RelaxationModel(), v_read)
        self.law = law
        self.name = f"{base.name}+bake"
        self.family_name = f"{base.family_name} with activated broadening"

    def with_params(self, **values):
        return BakedDevice(self.base.with_params(**values), self.law, self.v_read)

    def relax(self, state, dt, temperature):
        base_state = {k: v for k, v in state.items() if not k.startswith("relax_")}
        new = self.base.relax(base_state, dt, temperature) if self.base.volatile else base_state
        g0 = state["relax_g0"]
        g_new = self.law.relax(g0 + state["relax_offset"], g0, dt, temperature, self.rng)
        return self._extra(new, g_new - g0, g0, state["relax_age"] + np.asarray(dt, dtype=float))
