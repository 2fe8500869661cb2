r"""Reliability layers any family can use: endurance, read noise, read disturb.

:func:`with_layers` wraps any :class:`~devicelib.core.DeviceModel` and returns a model of a
subclass of the same family (same parameters, registry name, card values, ``simulate``, fits,
exports) whose pulses, relaxation and reads pass through the layers. The layers are class
attributes of that subclass, so copies made by ``with_params``, the variability layer and the
fitters keep them. Every random draw uses the model's seeded generator (``model.seed``,
``simulate(seed=...)``).

Endurance (:class:`Endurance`)
------------------------------
*Cycle count.* Each pulse adds :math:`\Delta N = |\Delta\ln G| / (2\ln(G_{hi}/G_{lo}))` cycles
(a full SET + RESET swing over the initial window :math:`[G_{lo}, G_{hi}]` is one cycle), read on
the unlayered model at ``v_ref``.

*Window closure.* The read conductance is compressed in log space towards a centre
:math:`G_c`, :math:`\ln G' = \ln G_c + (\ln G - \ln G_c)\,s(N)`,
:math:`s(N) = 1/(1 + (N/N_{1/2})^{\beta})` (so the log window halves at :math:`N_{1/2}`); an
off-centre :math:`G_c` moves the two states by different amounts, as in wear-out of filamentary
cells where the HRS falls more than the LRS rises.

*Failed switching.* A pulse fails (the state keeps its value) with probability
:math:`p_f(N) = p_\infty x/(1 + x)`, :math:`x = (N/N_f)^{k_f}` (transient SET/RESET failures).

*Stuck-at faults.* Each device draws a Weibull lifetime :math:`N_{life} = \eta(-\ln u)^{1/k}`
at ``initial_state``; after it the device no longer switches (stuck at its last state).

:func:`calibrate_endurance` fits :math:`G_c, N_{1/2}, \beta` to the medians of (R after SET, R after
RESET) per cycle decade and :math:`p_\infty, N_f, k_f` to the fraction of failed cycles (window
below a factor 2), e.g. on the Stanford NI-RRAM 1 us endurance record. One cell gives no
permanent-failure statistics; a population does: :func:`read_endurance_record` reads the Stanford 1T1R /
NI-RRAM endurance layouts, :func:`stuck_onsets` finds the cycle after which each cell stays below the
failure ratio, and :func:`fit_weibull_lifetime` fits the Weibull scale and shape to those onsets by maximum
likelihood with right censoring (cells still switching at the end of the record). :func:`window_trend` gives
the change of ln(R_reset/R_set) per decade of cycles (docs/layers.md lists the calibrated numbers).

Read noise (:class:`ReadNoise`)
-------------------------------
Relative fluctuation of each read, :math:`\delta G/G = r(G)\,[\xi_w\sigma_w + X_{1/f} + a_{RTN}(c -
\bar c)]`, with the conductance dependence :math:`r(G) = (G/G_{ref})^{-\gamma}` (Hooge:
:math:`S_G/G^2 = \alpha_H/(N f)` with the number of conducting defects :math:`N \propto G` gives
:math:`\gamma = 1/2`, the default: an estimate with that basis).

- :math:`\xi_w`: white read noise (independent per read; amplifier and fast traps);
- :math:`X_{1/f}`: McWhorter 1/f noise, a sum of Ornstein-Uhlenbeck processes with time constants
  spaced evenly in log between :math:`\tau_{min}` and :math:`\tau_{max}`, equal variance
  :math:`\sigma_f^2` per decade (a superposition of Lorentzians, flat per decade: 1/f between
  :math:`1/2\pi\tau_{max}` and :math:`1/2\pi\tau_{min}`); each is advanced exactly over every pulse
  width and interval, :math:`x \leftarrow x e^{-\Delta t/\tau} + \sigma\sqrt{1 - e^{-2\Delta t/\tau}}\,\xi`;
- random telegraph noise: a fraction of devices hold one two-level trap (capture / emission times
  :math:`\tau_c, \tau_e`, exact two-state Markov update over each interval) of relative amplitude
  :math:`a_{RTN}`.

:func:`calibrate_read_noise` fits :math:`\sigma_w` and :math:`\sigma_f` to the autocovariance of a
series of consecutive reads (with the bias of removing the record mean) and :math:`a_{RTN}` to its
fourth cumulant (a symmetric telegraph signal of amplitude a has :math:`\kappa_4 = -a^4/8`; Gaussian
parts have none).

Read disturb (:class:`ReadDisturb`)
-----------------------------------
A read is a small pulse: after every pulse and every relaxation interval (each is followed by a
read in ``simulate``) the layer applies ``apply_pulse(state, v_read, t_read, T)`` of the unlayered
model before the read is taken, so the family's own kinetics set the disturb (e.g. the
sinh field dependence of ionic drift). :meth:`LayeredModel.read_series` gives a sequence of
consecutive reads (noise advanced and disturb applied between them).

References
----------
- A. L. McWhorter, "1/f noise and germanium surface properties", in Semiconductor Surface Physics,
  Univ. Pennsylvania Press (1957) (1/f from a distribution of trap time constants).
- F. N. Hooge, "1/f noise is no surface effect", Phys. Lett. A 29, 139 (1969),
  doi:10.1016/0375-9601(69)90076-0.
- S. Ambrogio et al., "Statistical fluctuations in HfOx resistive-switching memory: Part II - random
  telegraph noise", IEEE TED 61, 2920 (2014), doi:10.1109/TED.2014.2330202.
- Stanford NI-RRAM data (robert-radway/NI-RRAM-Python, MIT): ``1us_endurance.tsv``, ``ret1.csv``.
- Stanford 1T1R data (Anjiang-Wei/Anjiang-RRAM-Python, MIT): ``endurance_log.csv``,
  ``endurance_log_many.csv``, ``endurance_slow.tsv``.
- W. Weibull, "A statistical distribution function of wide applicability", J. Appl. Mech. 18, 293 (1951).
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import pairwise

import numpy as np

from .core import DeviceModel, State

__all__ = [
    "Endurance",
    "EnduranceRecord",
    "LayeredModel",
    "ReadDisturb",
    "ReadNoise",
    "calibrate_endurance",
    "calibrate_read_noise",
    "endurance_from_records",
    "fit_weibull_lifetime",
    "read_endurance_record",
    "stuck_onsets",
    "window_trend",
    "with_layers",
]


@dataclass(frozen=True)
class Endurance:
    """Window closure, failed switching and stuck-at faults versus cycle count (see module docstring)."""

    g_lo: float  # S, initial low state (cycle counting)
    g_hi: float  # S, initial high state
    g_center: float  # S, centre of the window closure
    n_half: float  # cycles at which the log window halves
    beta: float = 1.0
    fail_max: float = 0.0  # asymptotic probability that a switching pulse fails
    n_fail: float = np.inf
    fail_k: float = 1.0
    life_scale: float = np.inf  # Weibull scale of the stuck-at lifetime (cycles)
    life_shape: float = 1.0
    v_ref: float = 0.1  # V, read used for cycle counting

    def __post_init__(self):
        if not 0 < self.g_lo < self.g_hi:
            raise ValueError(f"Endurance: need 0 < g_lo < g_hi, got g_lo={self.g_lo!r}, g_hi={self.g_hi!r}")
        if not (self.g_center > 0 and self.n_half > 0 and self.beta > 0):
            raise ValueError("Endurance: g_center, n_half and beta must be positive")
        if not 0 <= self.fail_max <= 1:
            raise ValueError(f"Endurance: fail_max must be a probability, got {self.fail_max!r}")

    def shrink(self, cycles):
        return 1.0 / (1.0 + (np.asarray(cycles, float) / self.n_half) ** self.beta)

    def fail_probability(self, cycles):
        if self.fail_max == 0 or not np.isfinite(self.n_fail):
            return np.zeros(np.shape(cycles))
        x = (np.asarray(cycles, float) / self.n_fail) ** self.fail_k
        return self.fail_max * x / (1.0 + x)


@dataclass(frozen=True)
class ReadNoise:
    """Conductance-dependent white + 1/f (McWhorter) + random-telegraph read noise (module docstring)."""

    g_ref: float  # S
    white: float = 0.0  # relative sigma at g_ref
    flicker: float = 0.0  # relative sigma per decade of trap time constants at g_ref
    tau_min: float = 1e-3  # s
    tau_max: float = 1e4  # s
    n_tau: int = 15
    gamma: float = 0.5
    rtn_amplitude: float = 0.0  # relative, at g_ref
    rtn_tau_capture: float = 1.0  # s
    rtn_tau_emission: float = 1.0  # s
    rtn_fraction: float = 1.0  # fraction of devices holding one active trap

    def __post_init__(self):
        if not self.g_ref > 0:
            raise ValueError(f"ReadNoise: g_ref must be positive, got {self.g_ref!r}")
        if min(self.white, self.flicker, self.rtn_amplitude) < 0:
            raise ValueError("ReadNoise: noise amplitudes must be >= 0")
        if not 0 < self.tau_min < self.tau_max or self.n_tau < 2:
            raise ValueError("ReadNoise: need 0 < tau_min < tau_max and n_tau >= 2")

    def taus(self):
        return np.logspace(np.log10(self.tau_min), np.log10(self.tau_max), self.n_tau)

    def sigma_per_process(self):
        decades = np.log10(self.tau_max / self.tau_min)
        return self.flicker * np.sqrt(decades / self.n_tau)


@dataclass(frozen=True)
class ReadDisturb:
    """Each read is a pulse of ``v_read`` (V or A, the family's unit) and ``t_read`` seconds."""

    v_read: float
    t_read: float

    def __post_init__(self):
        if not self.t_read > 0:
            raise ValueError(f"ReadDisturb: t_read must be positive, got {self.t_read!r}")


class LayeredModel(DeviceModel):
    """Mixin placed before a family class by :func:`with_layers` (not used on its own)."""

    _endurance: Endurance | None = None
    _noise: ReadNoise | None = None
    _disturb: ReadDisturb | None = None
    _inner: type[DeviceModel] = DeviceModel

    # -- helpers ---------------------------------------------------------------------------------
    def _inner_keys(self, state):
        return [k for k in state if k not in _LAYER_KEYS and not k.startswith("_")]

    def _raw_g(self, state, v):
        return self._inner.conductance(self, {k: state[k] for k in self._inner_keys(state)}, v)

    def _advance_noise(self, state, dt):
        nz = self._noise
        if nz is None or "flicker" not in state:
            return state
        n = np.size(state["rtn"])
        dt = float(np.max(dt)) if np.ndim(dt) else float(dt)
        if dt <= 0:
            return state
        out = dict(state)
        if nz.flicker > 0:
            decay = np.exp(-dt / nz.taus())
            sig = nz.sigma_per_process() * np.sqrt(-np.expm1(-2 * dt / nz.taus()))
            out["flicker"] = state["flicker"] * decay + sig * self.rng.standard_normal((n, nz.n_tau))
        if nz.rtn_amplitude > 0:
            a, b = 1.0 / nz.rtn_tau_emission, 1.0 / nz.rtn_tau_capture  # 1 -> 0, 0 -> 1
            p_inf = b / (a + b)
            p1 = p_inf + (state["rtn"] - p_inf) * np.exp(-(a + b) * dt)
            out["rtn"] = (self.rng.random(n) < p1).astype(float)
        return out

    def _disturb_read(self, state, temperature):
        d = self._disturb
        if d is None:
            return state
        inner = {k: state[k] for k in self._inner_keys(state)}
        new = self._inner.apply_pulse(self, inner, d.v_read, d.t_read, temperature)
        out = dict(state)
        out.update({k: v for k, v in new.items() if not k.startswith("_")})
        return self._advance_noise(out, d.t_read)

    # -- interface -----------------------------------------------------------------------------------
    def initial_state(self, n: int) -> State:
        st = dict(self._inner.initial_state(self, n))
        e, nz = self._endurance, self._noise
        if e is not None:
            st["cycles"] = np.zeros(n)
            if np.isfinite(e.life_scale):
                st["life"] = e.life_scale * (-np.log(self.rng.random(n))) ** (1.0 / e.life_shape)
            else:
                st["life"] = np.full(n, np.inf)
        if nz is not None:
            # stationary start: each OU process at its variance, each trap at its occupancy
            st["flicker"] = nz.sigma_per_process() * self.rng.standard_normal((n, nz.n_tau))
            p_inf = nz.rtn_tau_emission / (nz.rtn_tau_emission + nz.rtn_tau_capture)
            st["rtn"] = (self.rng.random(n) < p_inf).astype(float)
            st["rtn_active"] = (self.rng.random(n) < nz.rtn_fraction).astype(float)
        return st

    def apply_pulse(self, state: State, amplitude, width, temperature) -> State:
        inner_old = {k: state[k] for k in self._inner_keys(state)}
        new = dict(self._inner.apply_pulse(self, inner_old, amplitude, width, temperature))
        e = self._endurance
        out = dict(state)
        if e is not None and "cycles" in state:
            n = np.size(state["cycles"])
            g0, g1 = self._raw_g(inner_old, e.v_ref), self._raw_g(new, e.v_ref)
            d_cycles = np.abs(np.log(g1 / g0)) / (2.0 * np.log(e.g_hi / e.g_lo))
            keep = state["cycles"] >= state["life"]
            if e.fail_max > 0:
                keep = keep | (self.rng.random(n) < e.fail_probability(state["cycles"]))
            for k in inner_old:
                kk = keep.reshape(keep.shape + (1,) * (np.ndim(new[k]) - 1))
                new[k] = np.where(kk, inner_old[k], new[k])
            out["cycles"] = state["cycles"] + np.where(keep, 0.0, d_cycles)
        out.update(new)
        out = self._advance_noise(out, width)
        return self._disturb_read(out, temperature)

    def relax(self, state: State, dt, temperature) -> State:
        inner = {k: state[k] for k in self._inner_keys(state)}
        out = dict(state)
        out.update(self._inner.relax(self, inner, dt, temperature))
        out = self._advance_noise(out, dt)
        return self._disturb_read(out, temperature)

    def pulse_energy(self, before: State, after: State, amplitude, width, temperature):
        # the family's energetics see the device itself: no window closure or read noise in its currents
        self.__dict__["_raw"] = True
        try:
            return self._inner.pulse_energy(self, before, after, amplitude, width, temperature)
        finally:
            self.__dict__["_raw"] = False

    def current(self, state: State, voltage, temperature=300.0):
        return self._inner.current(self, state, voltage, temperature)

    def window_factor(self, state: State):
        """s(N) of the endurance layer for ``state`` (1 without the layer)."""
        if self._endurance is None or "cycles" not in state:
            return np.ones(np.shape(next(iter(state.values()))))
        return self._endurance.shrink(state["cycles"])

    def conductance(self, state: State, v_read) -> np.ndarray:
        g = self._raw_g(state, v_read)
        if self.__dict__.get("_raw"):
            return g
        e, nz = self._endurance, self._noise
        if e is not None and "cycles" in state:
            lc = np.log(e.g_center)
            g = np.exp(lc + (np.log(g) - lc) * e.shrink(state["cycles"]))
        if nz is not None and "flicker" in state and np.ndim(g) == 1:
            n = g.size
            rel = (g / nz.g_ref) ** (-nz.gamma)
            x = state["flicker"].sum(axis=1) if nz.flicker > 0 else 0.0
            if nz.white > 0:
                x = x + nz.white * self.rng.standard_normal(n)
            if nz.rtn_amplitude > 0:
                p_inf = nz.rtn_tau_emission / (nz.rtn_tau_emission + nz.rtn_tau_capture)
                x = x + nz.rtn_amplitude * state["rtn_active"] * (state["rtn"] - p_inf)
            g = g * (1.0 + rel * x)
        return g

    def read_series(self, state: State, n_reads: int, dt: float, v_read, temperature=300.0):
        """(device, read) conductances of ``n_reads`` consecutive reads ``dt`` apart, and the final state
        (noise advanced, read disturb and relaxation applied between reads)."""
        n = np.size(next(iter(state.values())))
        out = np.empty((n, int(n_reads)))
        st = state
        for k in range(int(n_reads)):
            out[:, k] = self.conductance(st, v_read)
            st = self.relax(st, dt, temperature)
        return out, st


_LAYER_KEYS = frozenset({"cycles", "life", "flicker", "rtn", "rtn_active"})


def with_layers(model: DeviceModel, endurance: Endurance | None = None, read_noise: ReadNoise | None = None,
                read_disturb: ReadDisturb | None = None) -> DeviceModel:
    """``model`` with reliability layers: same family, parameters and values (see module docstring)."""
    if not isinstance(model, DeviceModel):
        raise TypeError(f"with_layers: expected a DeviceModel, got {type(model).__name__}")
    if isinstance(model, LayeredModel):
        raise TypeError(f"with_layers: {model.name} already has layers; add them all in one call")
    inner = type(model)
    attrs = {
        "_endurance": endurance, "_noise": read_noise, "_disturb": read_disturb, "_inner": inner,
        # relax advances the noise processes and applies the read that follows each interval
        "volatile": inner.volatile or read_noise is not None or read_disturb is not None,
        "stochastic": inner.stochastic or read_noise is not None
        or (endurance is not None and (endurance.fail_max > 0 or np.isfinite(endurance.life_scale))),
        "__doc__": inner.__doc__,
        "__module__": __name__,
    }
    cls = type(f"Layered{inner.__name__}", (LayeredModel, inner), attrs)
    new = object.__new__(cls)
    new.__dict__.update(model.__dict__)
    new.params = dict(model.params)
    return new


# -- calibration -------------------------------------------------------------------------------------------
def calibrate_endurance(cycles, r_set, r_reset, fail_ratio: float = 2.0, v_ref: float = 0.1) -> Endurance:
    """Endurance layer from an endurance record: resistance after SET and after RESET at cycle counts.

    Window closure: medians of ln G_hi, ln G_lo per decade bin of cycles are fitted with
    ln G = ln G_c + (ln G_0 - ln G_c) s(N) (shared G_c, N_1/2, beta; G_0 per state).
    Failures: the fraction of cycles whose R_reset/R_set < ``fail_ratio`` per bin, fitted with p_f(N).
    """
    from scipy.optimize import least_squares

    c = np.asarray(cycles, float)
    g_hi_all, g_lo_all = 1.0 / np.asarray(r_set, float), 1.0 / np.asarray(r_reset, float)
    if not (c.size == g_hi_all.size == g_lo_all.size) or c.size < 10:
        raise ValueError("calibrate_endurance: cycles, r_set and r_reset need the same length (>= 10)")
    edges = np.unique(np.r_[np.logspace(np.log10(max(c.min(), 1.0)), np.log10(c.max()), 13)])
    mid, lhi, llo, ffail, cnt = [], [], [], [], []
    for lo, hi in pairwise(edges):
        s = (c >= lo) & (c <= hi)
        if s.sum() < 3:
            continue
        mid.append(np.sqrt(lo * hi))
        ok = s & (g_hi_all / g_lo_all >= fail_ratio)
        lhi.append(np.median(np.log(g_hi_all[ok])))
        llo.append(np.median(np.log(g_lo_all[ok])))
        ffail.append(np.mean(g_hi_all[s] / g_lo_all[s] < fail_ratio))
        cnt.append(s.sum())
    mid, lhi, llo, ffail, cnt = map(np.asarray, (mid, lhi, llo, ffail, cnt))

    def resid(x):
        lc, lh0, ll0, lnh, beta = x
        s = 1.0 / (1.0 + (mid / np.exp(lnh)) ** beta)
        return np.r_[lc + (lh0 - lc) * s - lhi, lc + (ll0 - lc) * s - llo]

    x0 = [0.5 * (lhi[0] + llo[0]), lhi[0], llo[0], np.log(mid[-1]), 1.0]
    fit = least_squares(resid, x0, bounds=([-50, -50, -50, 0, 0.1], [0, 0, 0, 60, 5]))
    lc, lh0, ll0, lnh, beta = fit.x

    fail_max, n_fail, fail_k = 0.0, np.inf, 1.0
    if np.any(ffail > 0):
        w = np.sqrt(cnt)

        def fres(x):
            pm, lnf, k = x
            xx = (mid / np.exp(lnf)) ** k
            return w * (pm * xx / (1 + xx) - ffail)

        ff = least_squares(fres, [max(ffail.max(), 1e-3), np.log(mid[np.argmax(ffail > 0)]), 2.0],
                           bounds=([0, 0, 0.2], [1, 60, 10]))
        fail_max, n_fail, fail_k = float(ff.x[0]), float(np.exp(ff.x[1])), float(ff.x[2])
    return Endurance(g_lo=float(np.exp(ll0)), g_hi=float(np.exp(lh0)), g_center=float(np.exp(lc)),
                     n_half=float(np.exp(lnh)), beta=float(beta), fail_max=fail_max, n_fail=n_fail,
                     fail_k=fail_k, v_ref=v_ref)


def calibrate_read_noise(g, dt: float, tau_min: float | None = None, tau_max: float = 1e4, n_tau: int = 15,
                         gamma: float = 0.5, max_lag: int = 300) -> ReadNoise:
    """Read-noise layer from consecutive reads ``g`` (S) of one device taken every ``dt`` seconds.

    The relative series x = g/mean - 1 has autocovariance C(L) = s_w^2 [L = 0] + s_f^2 K(L) with K the
    McWhorter kernel (per decade, minus the bias of removing the record mean); s_w, s_f follow by
    non-negative least squares over lags 0..max_lag. ``tau_min`` (the fastest trap; below it the
    fluctuations are white at the read rate) is chosen on a grid from dt/10 to 100 dt by the least
    residual unless given. The RTN amplitude comes from the fourth cumulant (0 when it is not
    negative); its dwell times are not separable from the 1/f part and stay at 1 s.
    """
    from scipy.optimize import nnls

    g = np.asarray(g, float)
    if g.ndim != 1 or g.size < 100 or not np.all(np.isfinite(g)) or np.any(g <= 0):
        raise ValueError("calibrate_read_noise: need at least 100 positive finite reads in a 1-d array")
    x = g / g.mean() - 1.0
    n = x.size
    lags = np.arange(min(max_lag, n // 4))
    c_emp = np.array([np.mean(x[: n - k] * x[k:]) for k in lags])

    def solve(t_min):
        proto = ReadNoise(g_ref=1.0, flicker=1.0, tau_min=t_min, tau_max=tau_max, n_tau=n_tau)
        taus, var_j = proto.taus(), proto.sigma_per_process() ** 2
        u = n * dt / taus
        mean_bias = 2.0 / u * (1.0 - (1.0 - np.exp(-u)) / u)  # E[cov with the mean removed], OU process
        kernel = (np.exp(-np.outer(lags * dt, 1.0 / taus)) - mean_bias) @ np.full(n_tau, var_j)
        coef, res = nnls(np.c_[(lags == 0).astype(float), kernel], c_emp)
        return res, coef, t_min

    grid = [tau_min] if tau_min is not None else list(np.logspace(np.log10(dt / 10), np.log10(100 * dt), 16))
    _res, coef, tau_min = min((solve(t) for t in grid), key=lambda r: r[0])
    k4 = np.mean(x**4) - 3.0 * np.mean(x**2) ** 2
    rtn = float((-8.0 * k4) ** 0.25) if k4 < 0 else 0.0
    return ReadNoise(g_ref=float(g.mean()), white=float(np.sqrt(coef[0])), flicker=float(np.sqrt(coef[1])),
                     tau_min=float(tau_min), tau_max=tau_max, n_tau=n_tau, gamma=gamma, rtn_amplitude=rtn)


# -- endurance records (Stanford 1T1R / NI-RRAM formats) ----------------------------------------------------
@dataclass(frozen=True)
class EnduranceRecord:
    """Endurance checks of one or more cells: at each check ``cycles`` (cumulative SET + RESET cycles of
    that cell), the resistance read after a SET (``r_set``, ohm) and after a RESET (``r_reset``, ohm).
    ``v_wl_set`` is the SET word-line (gate) voltage in V where the file records it (NaN otherwise);
    ``width`` the endurance pulse width in s (NaN when not recorded)."""

    addr: np.ndarray
    cycles: np.ndarray
    r_set: np.ndarray
    r_reset: np.ndarray
    v_wl_set: np.ndarray
    width: np.ndarray
    source: str = ""

    def cell(self, addr) -> EnduranceRecord:
        s = self.addr == addr
        if not np.any(s):
            raise KeyError(f"{self.source}: no cell {addr!r} (cells: {sorted(set(self.addr.tolist()))})")
        return EnduranceRecord(self.addr[s], self.cycles[s], self.r_set[s], self.r_reset[s], self.v_wl_set[s],
                               self.width[s], self.source)

    @property
    def window(self) -> np.ndarray:
        """R_reset / R_set at each check."""
        return self.r_reset / self.r_set


def _float(cell: str, where: str) -> float:
    try:
        return float(cell)
    except ValueError:
        from .textio import excerpt
        raise ValueError(f"{where}: expected a number, got {excerpt(cell)!r}") from None


def _read_kv_log(lines, src):
    import re

    endur = re.compile(r"^[^,]*,[^,]*,([^,]*),ENDURANCE,\(([^)]*)\),([^,]*),([^,]*),([^,]*),([^,]*)$")
    out = {k: [] for k in ("addr", "cycles", "r_set", "r_reset", "v_wl_set", "width")}
    total: dict[str, float] = {}
    blk = None  # [addr, cycles, v_wl_set, width, last_op, r_set, r_reset]
    for i, line in enumerate(lines, 1):
        line = line.strip()
        if not line:
            continue
        where = f"{src}:{i}"
        f = line.split(",")
        if len(f) < 4:
            raise ValueError(f"{where}: expected 'chip,time,addr,OP,...', got {line[:60]!r}")
        op = f[3]
        if op == "ENDURANCE":
            m = endur.match(line)
            if m is None:
                raise ValueError(f"{where}: ENDURANCE row not 'chip,time,addr,ENDURANCE,(V_WL_reset, V_WL_set),"
                                 f"V_SL,V_BL,width,cycles': {line[:80]!r}")
            addr = m.group(1).strip()
            wl = [_float(x, where) for x in m.group(2).split(",")]
            n = _float(m.group(6), where)
            total[addr] = total.get(addr, 0.0) + n
            blk = [addr, total[addr], wl[-1], _float(m.group(5), where), None, np.nan, np.nan]
        elif op in ("SET", "RESET"):
            if blk is not None:
                blk[4] = op
        elif op == "READ":
            if len(f) < 5:
                raise ValueError(f"{where}: READ row without a resistance")
            if blk is None or blk[4] is None:
                continue  # a read outside an endurance block
            r = _float(f[4], where)
            if blk[4] == "SET":
                blk[5] = r
            else:
                blk[6] = r
            if np.isfinite(blk[5]) and np.isfinite(blk[6]):
                for k, v in zip(("addr", "cycles", "v_wl_set", "width", "r_set", "r_reset"),
                                (blk[0], blk[1], blk[2], blk[3], blk[5], blk[6]), strict=True):
                    out[k].append(v)
                blk[5] = blk[6] = np.nan
        else:
            raise ValueError(f"{where}: unknown operation {op[:20]!r} (expected ENDURANCE, SET, RESET or READ)")
    return out


def _read_numeric(lines, src):
    rows = []
    for i, line in enumerate(lines, 1):
        if line.strip():
            cells = line.replace(",", " ").split()
            rows.append((i, [_float(c, f"{src}:{i}") for c in cells]))
    ncol = {len(r) for _, r in rows}
    if len(ncol) != 1:
        raise ValueError(f"{src}: rows have different numbers of columns {sorted(ncol)}")
    ncol = ncol.pop()
    a = np.array([r for _, r in rows])
    out = {}
    if ncol == 4:  # addr, R_after_SET, R_after_RESET, cycle (NI-RRAM 1us_endurance.tsv)
        out = {"addr": a[:, 0], "r_set": a[:, 1], "r_reset": a[:, 2], "cycles": a[:, 3]}
    elif ncol == 3:  # addr, R, cycle: alternating post-SET / post-RESET reads (endurance_slow.tsv)
        if a.shape[0] % 2:
            raise ValueError(f"{src}: odd number of rows; expected post-SET/post-RESET pairs")
        s, r = a[0::2], a[1::2]
        bad = np.flatnonzero((s[:, 0] != r[:, 0]) | (s[:, 2] != r[:, 2]))
        if bad.size:
            raise ValueError(f"{src}:{rows[2 * bad[0]][0]}: a post-SET/post-RESET pair differs in address or cycle")
        out = {"addr": s[:, 0], "r_set": s[:, 1], "r_reset": r[:, 1], "cycles": s[:, 2]}
    else:
        raise ValueError(f"{src}: expected 3 columns (addr, R, cycle) or 4 (addr, R_set, R_reset, cycle), got {ncol}")
    out["addr"] = [str(int(x)) for x in out["addr"]]
    n = len(out["addr"])
    out["v_wl_set"], out["width"] = np.full(n, np.nan), np.full(n, np.nan)
    return out


def read_endurance_record(path) -> EnduranceRecord:
    """Read an endurance record in one of the Stanford 1T1R / NI-RRAM layouts (no code is executed):

    - key/value operation log (``endurance_log*.csv``): ``chip,time,addr,OP,...`` with OP ENDURANCE
      (``(V_WL_reset, V_WL_set),V_SL,V_BL,width,cycles``: a block of that many cycles), then SET/RESET each
      followed by a READ (``R, G, I, ...``); one check per block at the cumulative cycle count of its cell;
    - ``addr, R, cycle`` rows alternating post-SET and post-RESET reads (``endurance_slow.tsv``);
    - ``addr, R_after_SET, R_after_RESET, cycle`` rows (``1us_endurance.tsv``).
    """
    from .textio import as_path

    p = as_path(path)
    try:
        text = p.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise ValueError(f"{p}: cannot read endurance record: {exc}") from None
    lines = text.splitlines()
    first = next((ln for ln in lines if ln.strip()), None)
    if first is None:
        raise ValueError(f"{p}: empty endurance record")
    f = first.split(",")
    out = _read_kv_log(lines, p.name) if len(f) > 3 and f[3].strip().isalpha() else _read_numeric(lines, p.name)
    if not out["addr"]:
        raise ValueError(f"{p}: no complete SET/RESET check found")
    rec = EnduranceRecord(np.asarray(out["addr"], dtype=str), np.asarray(out["cycles"], float),
                          np.asarray(out["r_set"], float), np.asarray(out["r_reset"], float),
                          np.asarray(out["v_wl_set"], float), np.asarray(out["width"], float), source=p.name)
    if np.any(rec.r_set <= 0) or np.any(rec.r_reset <= 0) or not np.all(np.isfinite(rec.cycles)):
        raise ValueError(f"{p}: resistances must be positive and cycle counts finite")
    return rec


def stuck_onsets(record: EnduranceRecord, fail_ratio: float = 2.0):
    """Per cell: (addr, onset, stuck). A cell is stuck once its window R_reset/R_set stays below ``fail_ratio``
    at every later check; ``onset`` is the cycle count of the first of those checks, or the last check
    (right-censored, ``stuck`` False) for a cell that still switches at the end of its record."""
    cells = list(dict.fromkeys(record.addr.tolist()))
    addr, onset, stuck = [], [], []
    for a in cells:
        r = record.cell(a)
        ok = r.window >= fail_ratio
        last_ok = np.flatnonzero(ok)
        if last_ok.size and last_ok[-1] == ok.size - 1:
            addr.append(a), onset.append(r.cycles[-1]), stuck.append(False)
        else:
            k = last_ok[-1] + 1 if last_ok.size else 0
            addr.append(a), onset.append(r.cycles[k]), stuck.append(True)
    return np.asarray(addr), np.asarray(onset, float), np.asarray(stuck, bool)


def fit_weibull_lifetime(onset, stuck, first_check: float = 0.0) -> tuple[float, float]:
    """Weibull (scale eta, shape k) of the stuck-at lifetime by maximum likelihood with right censoring
    (cells still switching at the end contribute the survival S = exp(-(N/eta)^k)). A cell found stuck at
    the record's first check (``onset <= first_check``, the cycle count of that check) is left-censored in
    (0, first_check] (F = 1 - S). Needs at least two stuck cells."""
    from scipy.optimize import minimize

    n, s = np.asarray(onset, float), np.asarray(stuck, bool)
    if s.sum() < 2:
        raise ValueError("fit_weibull_lifetime: need at least two stuck cells")
    left = s & (n <= float(first_check))

    def nll(x):
        eta, k = np.exp(x)
        z = (n / eta) ** k
        ll = np.where(s & ~left, np.log(k / eta) + (k - 1) * np.log(n / eta) - z, 0.0)
        ll = ll + np.where(~s, -z, 0.0) + np.where(left, np.log(-np.expm1(-z) + 1e-300), 0.0)
        return -np.sum(ll)

    x0 = [np.log(np.median(n)), 0.0]
    res = minimize(nll, x0, method="Nelder-Mead", options={"xatol": 1e-6, "fatol": 1e-9, "maxiter": 4000})
    eta, k = np.exp(res.x)
    return float(eta), float(k)


def window_trend(record: EnduranceRecord, fail_ratio: float = 2.0) -> tuple[float, float]:
    """Least-squares line ln(R_reset/R_set) = a + b log10(N) over the checks that switched (window >=
    ``fail_ratio``). Returns (exp(a), b): the fitted window extrapolated to N = 1 cycle and the change of
    ln(window) per decade of cycles (b < 0: the window closes; b > 0: it widens)."""
    ok = record.window >= fail_ratio
    if ok.sum() < 3:
        raise ValueError(f"{record.source}: fewer than 3 switching checks; no window trend")
    b, a = np.polyfit(np.log10(record.cycles[ok]), np.log(record.window[ok]), 1)
    return float(np.exp(a)), float(b)


def endurance_from_records(record: EnduranceRecord, population: EnduranceRecord | None = None,
                           fail_ratio: float = 2.0, max_v_wl_set: float | None = None,
                           v_ref: float = 0.1) -> Endurance:
    """Endurance layer from a cell's record (window, closure, transient failures) and, optionally, a
    population of cells (stuck-at Weibull lifetime).

    - window: G_hi = 1/median(R_set), G_lo = 1/median(R_reset) over the switching checks;
    - closure: :func:`calibrate_endurance` when :func:`window_trend` says the window closes (b < 0),
      otherwise none (``n_half = inf``: the law of the layer only narrows the window);
    - transient failures: the fraction of checks below ``fail_ratio`` as a constant p_inf
      (``n_fail`` = 1 cycle, ``fail_k`` = 4: p_f reaches p_inf within the first cycles);
    - stuck-at lifetime: :func:`fit_weibull_lifetime` over the cells of ``population`` whose SET gate
      voltage is at most ``max_v_wl_set`` (cells never switching at a higher compliance are an
      operating-point failure, not wear-out), left-censoring cells stuck at the first check.
    """
    ok = record.window >= fail_ratio
    if ok.sum() < 10:
        raise ValueError(f"{record.source}: fewer than 10 switching checks")
    _w0, b = window_trend(record, fail_ratio)
    if b < 0:
        e = calibrate_endurance(record.cycles, record.r_set, record.r_reset, fail_ratio=fail_ratio, v_ref=v_ref)
        g_c, n_half, beta = e.g_center, e.n_half, e.beta
    else:
        g_c = float(1.0 / np.sqrt(np.median(record.r_set[ok]) * np.median(record.r_reset[ok])))
        n_half, beta = np.inf, 1.0
    p_fail = float(np.mean(~ok))
    life_scale, life_shape = np.inf, 1.0
    if population is not None:
        addr, onset, stuck = stuck_onsets(population, fail_ratio)
        v = np.array([population.cell(a).v_wl_set[0] for a in addr])
        keep = np.ones(addr.size, bool) if max_v_wl_set is None else ~(v > max_v_wl_set)
        life_scale, life_shape = fit_weibull_lifetime(onset[keep], stuck[keep],
                                                      first_check=float(np.min(population.cycles)))
    return Endurance(g_lo=float(1.0 / np.median(record.r_reset[ok])), g_hi=float(1.0 / np.median(record.r_set[ok])),
                     g_center=float(g_c), n_half=float(n_half), beta=float(beta), fail_max=p_fail,
                     n_fail=1.0 if p_fail > 0 else np.inf, fail_k=4.0, life_scale=life_scale,
                     life_shape=life_shape, v_ref=v_ref)
