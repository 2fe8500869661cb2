"""Figures of merit of a memory device, from a measured curve or a simulated card.

Every metric is a plain function of arrays in SI units (conductance in S,
time in s, energy in J) and returns SI numbers; the unit of each is listed in
:data:`METRICS` and the definitions, with formulas, are in ``docs/metrics.md``.

NeuroSim nonlinearity labels
----------------------------
NeuroSim (MLP_NeuroSim V3.0, DNN_NeuroSim; Chen, Peng & Yu, IEEE TCAD 37,
3067 (2018), doi:10.1109/TCAD.2018.2789723) models a weight-update curve as

    G(P) = B (1 - exp(-P/A)) + Gmin,   B = (Gmax - Gmin) / (1 - exp(-Pmax/A)),

with P the pulse position in [0, Pmax] and Pmax = maxNumLevel. The user gives
a *label* NL, not A: NeuroSim looks up the normalised a = A/maxNumLevel in a
fixed table (``getParamA`` in ``formula.cpp``; |NL| = 0.01 ... 9.00 in steps
of 0.01, index = int(|NL| * 100) - 1, sign(A) = sign(NL); documented in
``documents/Nonlinearity-NormA.htm`` of MLP_NeuroSim V3.0). That table is
reproduced to its printed 6 digits by a closed form, which is what this module
uses instead of copying it: with x = P/Pmax and the normalised curve
y(x) = (1 - exp(-x/a)) / (1 - exp(-1/a)), the largest deviation from the
straight line is (y' = 1 at x* = -a ln(a c))

    D(a) = max_x (y(x) - x) = (1 - a c)/c + a ln(a c),   c = 1 - exp(-1/a),

and the label is NL = D(a) / (0.07 sqrt(2)), i.e. NL counts the largest
perpendicular distance of the curve from the diagonal, D/sqrt(2), in units of
0.07. Checked against the published table: NL 0.01 -> 126.268958,
1.00 -> 1.251653, 2.40 -> 0.499181, 4.88 -> 0.2003, 9.00 -> 0.022810
(tests/test_metrics.py). A positive A (NL > 0) bends the curve down (concave
in P, steps shrink as P grows); a negative A bends it up.

For depression NeuroSim walks the same curve backwards (P from Pmax down to
0), so a depression train whose first steps are the largest has NL < 0
(e.g. Ag:a-Si, NL_LTD = -4.88).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

_NL_PER_D = 1.0 / (0.07 * math.sqrt(2.0))  # NL = D(a) * 100 / (7 sqrt 2) = 10.1015...
NL_TABLE_MIN = 0.01  # NeuroSim table range of |NL|
NL_TABLE_MAX = 9.00
NL_TABLE_STEP = 0.01


class MetricError(ValueError):
    """A metric cannot be computed from the data given (too short, flat, wrong shape...)."""


# ---------------------------------------------------------------------------
# NeuroSim nonlinearity label <-> normalised A
# ---------------------------------------------------------------------------

def _max_deviation(a_abs: np.ndarray) -> np.ndarray:
    """D(a) = max_x (y(x) - x) of the normalised NeuroSim curve, for a > 0 (vectorised)."""
    a = np.asarray(a_abs, dtype=float)
    with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
        c = -np.expm1(-1.0 / a)
        d = (1.0 - a * c) / c + a * np.log(a * c)
        # large a: D = 1/(8a) - 1/(576 a^3) + O(a^-5) (the closed form loses digits to cancellation)
        big = a > 1e3
        d = np.where(big, 1.0 / (8.0 * a) - 1.0 / (576.0 * a**3), d)
    return d


def neurosim_nl_from_a(a_norm):
    """NeuroSim nonlinearity label NL from the normalised A (a = A / maxNumLevel).

    Exact inverse of NeuroSim's NL -> A table (see the module docstring):
    NL = sign(a) * D(|a|) / (0.07 sqrt 2). ``a = +-inf`` (a straight line) gives 0.
    Accepts scalars or arrays; returns the same shape (float for a scalar).

    >>> round(neurosim_nl_from_a(0.499181), 3)
    2.4
    """
    a = np.asarray(a_norm, dtype=float)
    if np.any(a == 0) or np.any(np.isnan(a)):
        raise MetricError("neurosim_nl_from_a: a_norm must be non-zero and not NaN (a = 0 is a step function)")
    nl = np.sign(a) * np.where(np.isinf(a), 0.0, _max_deviation(np.abs(a))) * _NL_PER_D
    return float(nl) if nl.ndim == 0 else nl


def neurosim_a_from_nl(nl, *, quantise: bool = False):
    """Normalised A (a = A / maxNumLevel) for a NeuroSim nonlinearity label NL.

    Inverts :func:`neurosim_nl_from_a` (monotone in |a|) by bisection in log a
    to machine precision, vectorised; sign(a) = sign(NL); NL = 0 gives +inf (a
    straight line). Reproduces NeuroSim's table (|NL| 0.01 ... 9.00), e.g.
    NL 2.40 -> 0.4992, -4.88 -> -0.2003, 9.00 -> 0.02281, and extends it
    smoothly between and beyond the table points.

    ``quantise=True`` mimics NeuroSim's lookup exactly: |NL| is truncated to
    the 0.01 grid (``int(|NL|*100)``) and clamped to [0.01, 9.00] before the
    conversion, as ``getParamA`` does.

    >>> round(neurosim_a_from_nl(2.40), 4)
    0.4992
    """
    x = np.asarray(nl, dtype=float)
    if np.any(~np.isfinite(x)):
        raise MetricError("neurosim_a_from_nl: NL must be finite")
    mag = np.abs(x)
    if quantise:
        idx = np.clip(np.floor(mag * 100.0 + 1e-9), 1, 900)
        mag = idx * NL_TABLE_STEP
    target = mag / _NL_PER_D
    # D(a) falls monotonically from 1 (a -> 0: a step at x = 0) to 0 (a -> inf: a straight line)
    if np.any(target >= 1.0):
        raise MetricError(f"neurosim_a_from_nl: |NL| must be below {_NL_PER_D:.4f} (a step function)")
    lo = np.full(target.shape, math.log(1e-6))
    hi = np.full(target.shape, math.log(1e8))
    for _ in range(80):
        mid = 0.5 * (lo + hi)
        dm = _max_deviation(np.exp(mid))
        too_curved = dm > target  # a too small
        lo = np.where(too_curved, mid, lo)
        hi = np.where(too_curved, hi, mid)
    a = np.exp(0.5 * (lo + hi))
    a = np.where(mag == 0, np.inf, a) * np.where(x < 0, -1.0, 1.0)
    return float(a) if a.ndim == 0 else a


def neurosim_curve(x, a_norm):
    """Normalised NeuroSim curve y(x) = (1 - exp(-x/a)) / (1 - exp(-1/a)), x in [0, 1]."""
    x = np.asarray(x, dtype=float)
    if np.isinf(a_norm):
        return x.copy()
    s = 1.0 / float(a_norm)
    return np.expm1(-s * x) / np.expm1(-s)


@dataclass(frozen=True)
class NeuroSimFit:
    """Result of fitting G = B (1 - exp(-P/A)) + Gmin to one monotone train."""

    nl: float  # the NeuroSim label
    a_norm: float  # A / maxNumLevel (signed); inf for a straight line
    direction: str  # "ltp" or "ltd"
    n_pulses: int  # maxNumLevel = number of steps in the curve
    g_at_p0: float  # fitted conductance at P = 0 (Gmin of NeuroSim; S or the input unit)
    g_at_pmax: float  # fitted conductance at P = Pmax (Gmax)
    rmse: float  # root-mean-square residual, in the input's unit


def _fit_curvature(x: np.ndarray, y: np.ndarray) -> tuple[float, float, float, float]:
    """Least squares of y = g0 + span * f(x; s), f = expm1(-s x)/expm1(-s); s = 1/a.

    g0 and span are linear and solved exactly for each s; s is found by a
    coarse grid in asinh(s) then a bounded scalar refinement.
    """
    from scipy.optimize import minimize_scalar

    def f(s):
        if abs(s) < 1e-9:
            return x
        return np.expm1(-s * x) / np.expm1(-s)

    def sse(s):
        basis = np.column_stack([np.ones_like(x), f(s)])
        coef, *_ = np.linalg.lstsq(basis, y, rcond=None)
        r = y - basis @ coef
        return float(r @ r), coef

    u_grid = np.linspace(-6.0, 6.0, 241)  # s = sinh(u): |s| up to ~200, i.e. |NL| up to ~9.9
    vals = [sse(math.sinh(u))[0] for u in u_grid]
    k = int(np.argmin(vals))
    lo, hi = u_grid[max(k - 1, 0)], u_grid[min(k + 1, len(u_grid) - 1)]
    res = minimize_scalar(lambda u: sse(math.sinh(u))[0], bounds=(lo, hi), method="bounded",
                          options={"xatol": 1e-10})
    s = math.sinh(res.x)
    e, coef = sse(s)
    return s, float(coef[0]), float(coef[1]), e


def fit_neurosim(curve, direction: str | None = None) -> NeuroSimFit:
    """Fit NeuroSim's update curve to one monotone pulse train.

    ``curve[0]`` is the conductance before the first pulse and ``curve[k]``
    after k identical pulses, so maxNumLevel = len(curve) - 1. ``direction``
    is ``"ltp"`` (potentiation) or ``"ltd"`` (depression); by default it is
    the sign of curve[-1] - curve[0]. Any unit (or a normalised curve) works:
    the label depends on the shape only. For LTD the curve is reversed
    (P = Pmax - k) as NeuroSim does.
    """
    g = np.asarray(curve, dtype=float).ravel()
    if g.size < 4:
        raise MetricError(f"fit_neurosim: need at least 4 points (initial state and 3 pulses), got {g.size}")
    if not np.all(np.isfinite(g)):
        raise MetricError("fit_neurosim: curve contains NaN or inf")
    if direction is None:
        direction = "ltp" if g[-1] >= g[0] else "ltd"
    direction = direction.lower()
    if direction not in ("ltp", "ltd"):
        raise MetricError(f"fit_neurosim: direction must be 'ltp' or 'ltd', got {direction!r}")
    span = float(np.ptp(g))
    if span == 0:
        raise MetricError("fit_neurosim: the curve is flat (no conductance change)")
    n = g.size - 1
    p = np.arange(g.size, dtype=float)
    if direction == "ltd":
        p = n - p  # NeuroSim's pulse position for depression
    x = p / n
    order = np.argsort(x)
    x, y = x[order], g[order]
    s, g0, amp, e = _fit_curvature(x, y)
    a_norm = math.inf if s == 0 else 1.0 / s
    # a fitted shape with (near) zero curvature is a straight line: NL = 0
    nl = 0.0 if abs(s) < 1e-9 else neurosim_nl_from_a(a_norm)
    g_lo, g_hi = g0, g0 + amp
    return NeuroSimFit(nl=float(nl), a_norm=float(a_norm), direction=direction, n_pulses=n,
                       g_at_p0=g_lo, g_at_pmax=g_hi, rmse=math.sqrt(e / g.size))


def _fit_curvature_pinned(x: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """Least squares of y = f(x; s) = expm1(-s x)/expm1(-s) (ends pinned at (0, 0) and (1, 1)); s = 1/a."""
    from scipy.optimize import minimize_scalar

    def sse(s):
        f = x if abs(s) < 1e-9 else np.expm1(-s * x) / np.expm1(-s)
        r = y - f
        return float(r @ r)

    u_grid = np.linspace(-6.0, 6.0, 241)
    vals = [sse(math.sinh(u)) for u in u_grid]
    k = int(np.argmin(vals))
    lo, hi = u_grid[max(k - 1, 0)], u_grid[min(k + 1, len(u_grid) - 1)]
    res = minimize_scalar(lambda u: sse(math.sinh(u)), bounds=(lo, hi), method="bounded", options={"xatol": 1e-10})
    s = math.sinh(res.x)
    return s, sse(s)


def fit_neurosim_pinned(curve, direction: str | None = None, *, pulses=None, p_max=None, g_min=None,
                        g_max=None) -> NeuroSimFit:
    """NeuroSim's own fit: the curve through (0, Gmin) and (Pmax, Gmax), A by least squares.

    NeuroSim's device model is G(P) = B (1 - exp(-P/A)) + Gmin with B fixed by
    G(Pmax) = Gmax, so both ends are pinned at the device's conductance range
    and A is the only shape parameter. ``curve`` holds the measured
    conductances at their own pulse positions ``pulses`` (the number of pulses
    applied before each read; default 0, 1, 2, ...: digitised curves need no
    interpolation), Pmax = ``p_max`` (default the last position). ``g_min`` /
    ``g_max`` default to the lowest and highest measured conductance. For
    depression P = Pmax - pulses (NeuroSim walks the curve backwards). The
    free-end variant (offset and span fitted too) is :func:`fit_neurosim`.
    """
    g = np.asarray(curve, dtype=float).ravel()
    k = np.arange(g.size, dtype=float) if pulses is None else np.asarray(pulses, dtype=float).ravel()
    if k.shape != g.shape:
        raise MetricError(f"fit_neurosim_pinned: {k.size} pulse positions for {g.size} conductances")
    if g.size < 3:
        raise MetricError(f"fit_neurosim_pinned: need at least 3 points, got {g.size}")
    if not (np.all(np.isfinite(g)) and np.all(np.isfinite(k))):
        raise MetricError("fit_neurosim_pinned: curve or pulse positions contain NaN or inf")
    if np.any(k < 0):
        raise MetricError("fit_neurosim_pinned: pulse positions must be >= 0")
    order = np.argsort(k, kind="stable")
    g, k = g[order], k[order]
    pm = float(k[-1] if p_max is None else p_max)
    if not pm > 0 or np.any(k > pm):
        raise MetricError(f"fit_neurosim_pinned: Pmax {pm:g} must be positive and cover every pulse position")
    if direction is None:
        direction = "ltp" if g[-1] >= g[0] else "ltd"
    direction = direction.lower()
    if direction not in ("ltp", "ltd"):
        raise MetricError(f"fit_neurosim_pinned: direction must be 'ltp' or 'ltd', got {direction!r}")
    lo = float(np.min(g) if g_min is None else g_min)
    hi = float(np.max(g) if g_max is None else g_max)
    if not hi > lo:
        raise MetricError("fit_neurosim_pinned: the curve is flat (Gmax <= Gmin)")
    p = k if direction == "ltp" else pm - k
    x, y = p / pm, (g - lo) / (hi - lo)
    s, e = _fit_curvature_pinned(x, y)
    a_norm = math.inf if abs(s) < 1e-9 else 1.0 / s
    nl = 0.0 if abs(s) < 1e-9 else neurosim_nl_from_a(a_norm)
    return NeuroSimFit(nl=float(nl), a_norm=float(a_norm), direction=direction, n_pulses=round(pm),
                       g_at_p0=lo, g_at_pmax=hi, rmse=math.sqrt(e / g.size) * (hi - lo))


def neurosim_nl(curve, direction: str | None = None, *, pulses=None, p_max=None, g_min=None,
                g_max=None) -> float:
    """NeuroSim nonlinearity label (NL_LTP or NL_LTD) by NeuroSim's definition.

    The curve passes through (0, Gmin) and (Pmax, Gmax) and A is fitted by
    least squares on the measured points at their own pulse positions (see
    :func:`fit_neurosim_pinned`); NL = ``neurosim_nl_from_a(A / Pmax)``,
    NeuroSim's Nonlinearity-NormA table. A potentiation curve that saturates
    gives NL > 0; a depression curve whose first steps are largest gives
    NL < 0. :func:`neurosim_nl_free` leaves the ends free.
    """
    return fit_neurosim_pinned(curve, direction, pulses=pulses, p_max=p_max, g_min=g_min, g_max=g_max).nl


def neurosim_nl_free(curve, direction: str | None = None) -> float:
    """NL of the free-end fit G = g0 + span f(P) (:func:`fit_neurosim`): not NeuroSim's definition.

    The ends float with the noise of the first and last reads; on measured
    curves it can differ from :func:`neurosim_nl` by several tenths.
    """
    return fit_neurosim(curve, direction).nl


# ---------------------------------------------------------------------------
# Metric catalogue: name -> (SI unit, unit category for --units, one-line definition)
# ---------------------------------------------------------------------------

@dataclass(frozen=True)
class MetricInfo:
    name: str
    unit: str  # SI unit ("" = dimensionless)
    category: str  # the key users give to --units (energy, time, conductance, ...)
    label: str  # short column header
    definition: str


METRICS: dict[str, MetricInfo] = {m.name: m for m in (
    MetricInfo("g_min", "S", "conductance", "Gmin", "lowest conductance reached by the train"),
    MetricInfo("g_max", "S", "conductance", "Gmax", "highest conductance reached by the train"),
    MetricInfo("on_off_ratio", "", "ratio", "on/off", "Gmax / Gmin"),
    MetricInfo("states", "", "count", "states",
               "distinguishable levels: 1 + floor((Gmax - Gmin) / (k sigma_step)), at most the pulses + 1"),
    MetricInfo("nl_ltp", "", "ratio", "NL_LTP", "NeuroSim nonlinearity label of the potentiation train"),
    MetricInfo("nl_ltd", "", "ratio", "NL_LTD", "NeuroSim nonlinearity label of the depression train"),
    MetricInfo("asymmetry", "", "ratio", "asym",
               "(<|dG_up|> - <|dG_down|>) / (<|dG_up|> + <|dG_down|>) at equal conductances"),
    MetricInfo("symmetry_point", "S", "conductance", "G_sym", "conductance where |dG_up| = |dG_down|"),
    MetricInfo("step_noise_ratio", "", "ratio", "step/noise", "mean |dG| per pulse / sigma of one step"),
    MetricInfo("energy_per_update", "J", "energy", "E/update", "energy of one programming pulse"),
    MetricInfo("energy_per_area", "J/m^2", "energy_per_area", "E/area", "energy of one update per device area"),
    MetricInfo("energy_per_spike", "J", "energy", "E/spike", "energy per spike of a spiking device (reported)"),
    MetricInfo("update_time", "s", "time", "t_update", "duration of one update (pulse width)"),
    MetricInfo("switching_time", "s", "time", "t_switch",
               "programming time to cover 90 % of the range (reported switching time for records)"),
    MetricInfo("drift_exponent", "", "ratio", "nu", "nu in G(t) = G(t0) (t/t0)^-nu"),
    MetricInfo("retention_time", "s", "time", "t_ret", "time until |G/G(t0) - 1| exceeds the tolerance"),
    MetricInfo("endurance", "", "count", "endurance", "programming cycles before failure (reported)"),
    MetricInfo("c2c", "", "ratio", "c2c", "cycle-to-cycle noise of one step relative to the range"),
    MetricInfo("accuracy", "%", "accuracy", "accuracy", "network accuracy on the named task (reported)"),
    MetricInfo("area", "m^2", "area", "area", "device area"),
)}


@dataclass
class Metric:
    """One figure of merit: SI value (None when unknown) with how it was obtained."""

    value: float | None
    unit: str
    bound: str | None = None  # "upper" or "lower" for a reported bound (< or >)
    estimate: str | None = None  # basis of a value that is not measured or not verified
    note: str | None = None  # e.g. the task of an accuracy, why a value is missing
    source: str = "model"  # "model" (simulated) or "reported" (literature figure)

    def to_dict(self) -> dict:
        d = {"value": self.value, "unit": self.unit, "source": self.source}
        for k in ("bound", "estimate", "note"):
            if getattr(self, k):
                d[k] = getattr(self, k)
        return d


# ---------------------------------------------------------------------------
# Metrics of curves (plain arrays, SI)
# ---------------------------------------------------------------------------

def _curve(g, name: str = "curve") -> np.ndarray:
    g = np.asarray(g, dtype=float)
    if g.ndim == 0 or g.shape[-1] < 2:
        raise MetricError(f"{name}: need at least 2 points")
    if not np.all(np.isfinite(g)):
        raise MetricError(f"{name}: contains NaN or inf")
    return g


def conductance_range(*curves) -> tuple[float, float]:
    """(Gmin, Gmax) in S over all points of the given curves."""
    allg = np.concatenate([_curve(c).ravel() for c in curves if c is not None])
    return float(allg.min()), float(allg.max())


def on_off_ratio(*curves) -> float:
    """Gmax / Gmin over the curves (dimensionless); inf when Gmin <= 0."""
    lo, hi = conductance_range(*curves)
    return math.inf if lo <= 0 else hi / lo


def step_noise(curves) -> float:
    """Standard deviation of one programming step (S): the cycle-to-cycle noise.

    ``curves`` of shape (n, N+1), n >= 2 repeats of the same train (devices or
    cycles): the steps dG_k are compared across repeats at equal k, and the
    pooled sigma = sqrt(mean_k var_k(dG_k)) (ddof = 1) is returned. A single
    curve (1-D): sigma = std(dG_{k+1} - dG_k) / sqrt(2), which is unbiased for
    independent step noise on a slowly varying mean step.
    """
    g = _curve(curves)
    if g.ndim == 2 and g.shape[0] >= 2:
        steps = np.diff(g, axis=1)
        return float(np.sqrt(np.mean(np.var(steps, axis=0, ddof=1))))
    steps = np.diff(g.ravel())
    if steps.size < 3:
        raise MetricError("step_noise: a single curve needs at least 4 points")
    return float(np.std(np.diff(steps), ddof=1) / math.sqrt(2.0))


def step_to_noise_ratio(curves, sigma: float | None = None) -> float:
    """Mean |dG| per pulse divided by the step noise sigma (dimensionless).

    The mean step is the average over pulses of |mean over repeats of dG_k|.
    ``sigma`` defaults to :func:`step_noise` of the same curves.
    """
    g = _curve(curves)
    steps = np.diff(g, axis=-1)
    mean_step = np.abs(steps.mean(axis=0) if steps.ndim == 2 else steps).mean()
    sigma = step_noise(g) if sigma is None else float(sigma)
    return math.inf if sigma == 0 else float(mean_step / sigma)


def distinguishable_states(g_min: float, g_max: float, sigma: float, separation: float = 6.0,
                           max_states: int | None = None) -> int:
    """Number of conductance levels that adjacent levels do not confuse.

    Levels spaced by ``separation`` * sigma (default 6: +-3 sigma windows do
    not overlap) fit 1 + floor((Gmax - Gmin) / (separation sigma)) times into
    the range. ``max_states`` caps it (a train of N pulses makes at most N + 1
    levels); sigma = 0 needs that cap.
    """
    span = float(g_max) - float(g_min)
    if span < 0:
        raise MetricError("distinguishable_states: g_max < g_min")
    if sigma < 0 or separation <= 0:
        raise MetricError("distinguishable_states: sigma must be >= 0 and separation > 0")
    if sigma == 0:
        if max_states is None:
            raise MetricError("distinguishable_states: sigma = 0 (noise-free) needs max_states")
        return int(max_states)
    n = 1 + math.floor(span / (separation * sigma) + 1e-9)
    return n if max_states is None else min(n, int(max_states))


def _steps_vs_g(curve) -> tuple[np.ndarray, np.ndarray]:
    """(G before each pulse, dG of the pulse), sorted by G, from one monotone train."""
    g = _curve(curve).ravel()
    start, dg = g[:-1], np.diff(g)
    order = np.argsort(start)
    return start[order], dg[order]


def _common_grid(ltp, ltd, n: int = 513):
    gu, du = _steps_vs_g(ltp)
    gd, dd = _steps_vs_g(ltd)
    lo, hi = max(gu[0], gd[0]), min(gu[-1], gd[-1])
    if not hi > lo:
        raise MetricError("potentiation and depression trains do not overlap in conductance")
    grid = np.linspace(lo, hi, n)
    return grid, np.abs(np.interp(grid, gu, du)), np.abs(np.interp(grid, gd, dd))


def asymmetry(ltp, ltd) -> float:
    """Signed up/down step asymmetry (dimensionless, -1 ... 1).

    The step sizes |dG_up(G)| and |dG_down(G)| are interpolated against the
    conductance G before each pulse and averaged over the common conductance
    range: (<|dG_up|> - <|dG_down|>) / (<|dG_up|> + <|dG_down|>). 0 is a
    symmetric device; +1 a device that only goes up.
    """
    _, up, down = _common_grid(ltp, ltd)
    return float((up.mean() - down.mean()) / (up.mean() + down.mean()))


def symmetry_point(ltp, ltd) -> float | None:
    """Conductance (S) where up and down steps are equal, |dG_up(G)| = |dG_down(G)|.

    Found as the sign change of |dG_up| - |dG_down| on the common conductance
    range (linear interpolation); None when there is none in that range.
    """
    grid, up, down = _common_grid(ltp, ltd)
    h = up - down
    idx = np.flatnonzero(np.sign(h[:-1]) * np.sign(h[1:]) <= 0)
    if idx.size == 0:
        return None
    k = int(idx[0])
    if h[k] == h[k + 1]:
        return float(grid[k])
    return float(grid[k] - h[k] * (grid[k + 1] - grid[k]) / (h[k + 1] - h[k]))


def switching_time(curve, width, fraction: float = 0.9) -> float:
    """Programming time (s) for a train to cover ``fraction`` of its change.

    ``curve[0]`` is the state before the first pulse; ``width`` is one pulse
    width (s) or one per pulse. Returns the summed width of the pulses up to
    the first read at which |G - G0| >= fraction * max |G - G0|.
    """
    g = _curve(curve).ravel()
    w = np.broadcast_to(np.asarray(width, dtype=float), (g.size - 1,))
    dev = np.abs(g - g[0])
    if dev.max() == 0:
        raise MetricError("switching_time: the curve does not change")
    k = int(np.argmax(dev >= fraction * dev.max()))
    return float(np.sum(w[:k]))


def drift_exponent(t, g) -> float:
    """nu of G(t) = G(t0) (t/t0)^-nu: minus the least-squares slope of ln G against ln t."""
    t, g = np.asarray(t, dtype=float), np.asarray(g, dtype=float)
    ok = (t > 0) & (g > 0)
    if ok.sum() < 2:
        raise MetricError("drift_exponent: need at least 2 reads with t > 0 and G > 0")
    slope = np.polyfit(np.log(t[ok]), np.log(g[ok]), 1)[0]
    return float(-slope)


def retention_time_powerlaw(nu: float, t0: float, tolerance: float = 0.1) -> float:
    """Time (s) at which a power-law drift G0 (t/t0)^-nu moves G by ``tolerance`` (relative).

    t_ret = t0 (1 - tol)^(-1/nu) for nu > 0 (decay), t0 (1 + tol)^(1/|nu|) for
    nu < 0; inf for nu = 0.
    """
    if not 0 < tolerance < 1:
        raise MetricError("retention tolerance must be in (0, 1)")
    if nu == 0:
        return math.inf
    # in log space: a tiny |nu| gives a time beyond any float, which is inf (no drift to speak of)
    ln_ratio = -math.log1p(-tolerance) / nu if nu > 0 else math.log1p(tolerance) / -nu
    if ln_ratio > 700.0:
        return math.inf
    return float(t0 * math.exp(ln_ratio))


def retention_time(t, g, tolerance: float = 0.1, extrapolate: bool = True) -> float | None:
    """Time (s) until |G(t)/G(t[0]) - 1| first exceeds ``tolerance``.

    Interpolated in log t between the reads that bracket the crossing. When
    the reads never cross, the power law fitted to them (:func:`drift_exponent`)
    is extrapolated (``extrapolate=True``) or None is returned.
    """
    t, g = np.asarray(t, dtype=float), np.asarray(g, dtype=float)
    if t.size < 2 or np.any(t <= 0) or np.any(np.diff(t) <= 0):
        raise MetricError("retention_time: need >= 2 reads at increasing times t > 0")
    dev = np.abs(g / g[0] - 1.0)
    over = np.flatnonzero(dev > tolerance)
    if over.size:
        k = int(over[0])
        lt = np.log(t)
        f = (tolerance - dev[k - 1]) / (dev[k] - dev[k - 1])
        return float(np.exp(lt[k - 1] + f * (lt[k] - lt[k - 1])))
    if not extrapolate:
        return None
    return retention_time_powerlaw(drift_exponent(t, g), t[0], tolerance)


def levels_in_train(curve, resolution: float = 1e-3) -> int:
    """Levels a train visits: 1 + the pulses that move G by more than ``resolution`` x its range.

    The noise-free cap of :func:`distinguishable_states` (an abrupt switch
    visits 2 levels however many pulses it gets).
    """
    g = _curve(curve).ravel()
    span = np.ptp(g)
    if span == 0:
        return 1
    return 1 + int(np.sum(np.abs(np.diff(g)) > resolution * span))


# ---------------------------------------------------------------------------
# All metrics of a device: from curves (measured) or from a card (simulated)
# ---------------------------------------------------------------------------

@dataclass
class DeviceMetrics:
    """The figures of merit of one device (a card, a record or a measurement)."""

    name: str
    kind: str  # "card" (simulated model), "record" (literature figures) or "measurement"
    family: str = ""
    title: str = ""
    citation: str = ""
    condition: str = ""  # the pulse condition the metrics hold for
    has_model: bool = False
    card: str | None = None  # linked card (records)
    metrics: dict[str, Metric] = None  # type: ignore[assignment]
    curves: dict[str, np.ndarray] = None  # type: ignore[assignment]  # normalised ltp / ltd (for plots)

    def __post_init__(self):
        self.metrics = {} if self.metrics is None else self.metrics
        self.curves = {} if self.curves is None else self.curves

    def value(self, name: str) -> float | None:
        m = self.metrics.get(name)
        return None if m is None else m.value

    def to_dict(self) -> dict:
        return {
            "name": self.name, "kind": self.kind, "family": self.family, "title": self.title,
            "citation": self.citation, "condition": self.condition, "has_model": self.has_model,
            "card": self.card, "metrics": {k: v.to_dict() for k, v in self.metrics.items()},
        }


def _set(out: dict, name: str, value, **kw) -> None:
    info = METRICS[name]
    out[name] = Metric(None if value is None else float(value), info.unit, **kw)


def curve_metrics(ltp, ltd=None, *, width: float | None = None, energy=None, separation: float = 6.0,
                  retention: tuple | None = None, tolerance: float = 0.1) -> dict[str, Metric]:
    """Metrics of measured or simulated curves (SI arrays).

    ``ltp`` / ``ltd``: conductance (S) before and after each pulse of one
    potentiation / depression train, shape (N+1,) or (n_repeats, N+1); repeats
    give the step noise. ``width``: pulse width (s). ``energy``: per-pulse
    energies (J). ``retention``: (t, G) reads after programming, or (t, G,
    G_end) with the read right after programming, for the drift exponent and
    the retention time at ``tolerance`` (an upper bound t[0] when G has moved
    by more than ``tolerance`` from G_end before the first read).
    """
    out: dict[str, Metric] = {}
    ltp = _curve(ltp, "ltp")
    ltd = None if ltd is None else _curve(ltd, "ltd")
    mean_up = ltp.mean(axis=0) if ltp.ndim == 2 else ltp
    mean_dn = None if ltd is None else (ltd.mean(axis=0) if ltd.ndim == 2 else ltd)
    g_lo, g_hi = conductance_range(ltp, ltd)
    _set(out, "g_min", g_lo)
    _set(out, "g_max", g_hi)
    _set(out, "on_off_ratio", math.inf if g_lo <= 0 else g_hi / g_lo)
    reps = [c for c in (ltp, ltd) if c is not None and c.ndim == 2 and c.shape[0] >= 2]
    sigma = float(np.sqrt(np.mean([step_noise(c) ** 2 for c in reps]))) if reps else 0.0
    if sigma <= 1e-12 * max(abs(g_hi), abs(g_lo)):  # identical repeats up to rounding: no step noise
        sigma = 0.0
    cap = max(levels_in_train(mean_up), levels_in_train(mean_dn) if mean_dn is not None else 0)
    note = None if reps else "no repeats: noise-free count of levels the train visits"
    _set(out, "states", distinguishable_states(g_lo, g_hi, sigma, separation, max_states=cap), note=note)
    if reps:
        _set(out, "c2c", sigma / (g_hi - g_lo) if g_hi > g_lo else None)
        _set(out, "step_noise_ratio", step_to_noise_ratio(ltp, sigma) if sigma > 0 else math.inf,
             note=None if sigma > 0 else "the repeats are identical: no step noise")
    for key, c, d in (("nl_ltp", mean_up, "ltp"), ("nl_ltd", mean_dn, "ltd")):
        if c is None:
            continue
        try:
            _set(out, key, neurosim_nl(c, d))
        except MetricError as exc:
            _set(out, key, None, note=str(exc))
    if mean_dn is not None:
        try:
            _set(out, "asymmetry", asymmetry(mean_up, mean_dn))
            _set(out, "symmetry_point", symmetry_point(mean_up, mean_dn))
        except MetricError as exc:
            _set(out, "asymmetry", None, note=str(exc))
    if width is not None:
        _set(out, "update_time", width)
        try:
            _set(out, "switching_time", switching_time(mean_up, width))
        except MetricError as exc:
            _set(out, "switching_time", None, note=str(exc))
    if energy is not None:
        _set(out, "energy_per_update", float(np.mean(energy)))
    if retention is not None:
        t, g = (np.asarray(v, dtype=float) for v in retention[:2])
        g_end = retention[2] if len(retention) > 2 else None
        if g_end is not None and g_end > 0 and g.size and abs(g[0] / g_end - 1.0) > tolerance:
            note = f"moved by more than {tolerance:g} of the programmed value before the first read at {t[0]:.3g} s"
            _set(out, "retention_time", t[0], bound="upper", note=note)
            _set(out, "drift_exponent", None, note=note)
            return out
        if not (np.all(np.isfinite(g)) and np.all(g > 0)):
            _set(out, "retention_time", None, note="the retention reads are not all finite and > 0")
            _set(out, "drift_exponent", None, note="the retention reads are not all finite and > 0")
            return out
        t_ret = retention_time(t, g, tolerance, extrapolate=False)
        window = t <= (t_ret if t_ret is not None else t[-1])
        # from the first read that differs from the first one: models calibrated from a time t0 on
        # (PCM: G(t) = G(t0) for t < t0) hold G flat before, which is not drift
        moved = np.flatnonzero(np.abs(g / g[0] - 1.0) > 1e-9)
        if moved.size:
            window &= np.arange(t.size) >= moved[0]
        nu = drift_exponent(t[window], g[window]) if window.sum() >= 3 else None
        if t_ret is None and nu is not None and nu != 0:
            t_ret = retention_time_powerlaw(nu, t[0], tolerance)
            _set(out, "retention_time", t_ret, note=f"power law extrapolated beyond the last read ({t[-1]:.3g} s)")
        else:
            _set(out, "retention_time", t_ret, note=f"tolerance {tolerance:g}")
        _set(out, "drift_exponent", nu)
    return out


def _default_condition(card, model) -> dict:
    """The pulse condition used when the user states none: the card's ``[operating]`` condition where it
    states one, else a guess from its validity ranges."""
    amp = card.validity_range("amplitude")
    wid = card.validity_range("width")
    tmp = card.validity_range("temperature")
    vr = card.validity_range("read_voltage")
    if amp is None and card.operating_value("amplitude") is None:
        raise MetricError(f"{card.name}: the card states no validity.amplitude; give the amplitude explicitly")
    if amp is None:
        amp = (card.operating_value("amplitude"),) * 2
    up = amp[1] if amp[1] > 0 else amp[0]
    down = amp[0] if amp[0] < 0 < amp[1] else None
    width = math.sqrt(wid[0] * wid[1]) if wid is not None and wid[0] > 0 else (wid[1] if wid else 1e-7)
    temp = min(max(300.0, tmp[0]), tmp[1]) if tmp is not None else 300.0
    v_read = vr[0] if vr is not None else 0.1
    out = {"amplitude": up, "amplitude_down": down, "width": width, "temperature": temp, "v_read": v_read}
    # the card's nominal programming condition, where it states one, wins over the validity-based guess
    for key, okey in (("amplitude", "amplitude"), ("amplitude_down", "amplitude_down"), ("width", "width"),
                      ("temperature", "temperature"), ("v_read", "read_voltage")):
        if card.operating_value(okey) is not None:
            out[key] = card.operating_value(okey)
    if card.operating_value("amplitude") is not None and card.operating_value("amplitude_down") is None:
        out["amplitude_down"] = None  # a unipolar programming condition (e.g. PCM SET pulses)
    return out


def card_metrics(card, *, amplitude=None, amplitude_down=None, width=None, temperature=None, v_read=None,
                 pulses: int = 100, n_devices: int | None = None, seed: int = 0, tolerance: float = 0.1,
                 separation: float = 6.0) -> DeviceMetrics:
    """Simulate a card at a stated pulse condition and compute its metrics.

    Protocol: two cycles of ``pulses`` identical potentiating pulses then
    ``pulses`` depressing pulses (:func:`devicelib.pulses.potentiation_depression`);
    the metrics use the second cycle, so the arbitrary initial state does not
    bias them. Without a depressing amplitude (unipolar validity range) only
    the potentiation train is run. The condition defaults to the card's
    ``[operating]`` condition, else to its validity: amplitude = the largest positive (and most negative) amplitude,
    width = the geometric middle of the width range, T = 300 K clipped into
    the range, read at the card's read voltage or 0.1 V. Volatile models are
    also read after delays of 1 ns ... 1e6 s following the potentiation train
    (drift exponent and retention time at ``tolerance``). With card
    variability (or a stochastic model) ``n_devices`` (default 8) devices give
    the step noise. Quantities or SI numbers are accepted.
    """
    from . import pulses as P
    from .simulate import simulate
    from .units import to_si

    model = card.model()
    au = model.amplitude_unit
    cond = _default_condition(card, model)
    given = {"amplitude": amplitude, "amplitude_down": amplitude_down, "width": width,
             "temperature": temperature, "v_read": v_read}
    units = {"amplitude": au, "amplitude_down": au, "width": "s", "temperature": "K", "v_read": "V"}
    for k, v in given.items():
        if v is not None:
            cond[k] = float(to_si(v, units[k], k))
    if amplitude is not None and amplitude_down is None and cond["amplitude_down"] is not None:
        cond["amplitude_down"] = -cond["amplitude"] if cond["amplitude_down"] < 0 else None
    n = int(pulses)
    if n < 4:
        raise MetricError("card_metrics: pulses must be at least 4")
    up, down, w, temp = cond["amplitude"], cond["amplitude_down"], cond["width"], cond["temperature"]
    var = card.variability
    noisy = (var is not None and not var.is_zero) or model.stochastic
    nd = int(n_devices) if n_devices is not None else (8 if noisy else 1)
    if down is not None:
        train = P.potentiation_depression(n, n, up, down, w, cycles=2, temperature=temp, amplitude_unit=au)
    else:
        train = P.identical(n, up, w, temperature=temp, amplitude_unit=au)
    g0 = card.start_conductance()  # a fitted card starts inside the states it was calibrated over
    start = None if g0 is None else model.state_from_conductance(np.full(nd, g0), cond["v_read"])
    ds = simulate(model, train, n_devices=nd, v_read=cond["v_read"], variability=var, seed=seed, state=start)
    g = ds["conductance"].values
    if down is not None:
        ltp, ltd = g[:, 2 * n - 1:3 * n], g[:, 3 * n - 1:4 * n]
        energy = ds["energy"].values[:, 2 * n:4 * n]
    else:
        ltp = np.concatenate([ds["conductance_initial"].values[:, None], g], axis=1)
        ltd, energy = None, ds["energy"].values
    retention = None
    if model.volatile:
        delays = np.logspace(-9, 6, 61)
        rtrain = P.identical(n, up, w, temperature=temp, amplitude_unit=au) + P.read_after_delay(
            delays, temp, amplitude_unit=au)
        rds = simulate(model, rtrain, n_devices=1, v_read=cond["v_read"], seed=seed,
                       state=None if g0 is None else model.state_from_conductance(np.full(1, g0), cond["v_read"]))
        # the read right after the last pulse is the reference: a state gone before the first delayed
        # read (1 ns) has a retention time below 1 ns, not an infinite one
        retention = (delays, rds["conductance"].values[0, n:], float(rds["conductance"].values[0, n - 1]))
    mets = curve_metrics(ltp if nd > 1 else ltp[0], None if ltd is None else (ltd if nd > 1 else ltd[0]),
                         width=w, energy=energy, separation=separation, retention=retention, tolerance=tolerance)
    if not model.volatile:
        _set(mets, "drift_exponent", None, note="not modelled: non-volatile model")
        _set(mets, "retention_time", None, note="not modelled: non-volatile model")
    if "area" in model.params and np.ndim(model.params["area"]) == 0:
        area = float(model.params["area"])
        _set(mets, "area", area)
        if mets.get("energy_per_update") and mets["energy_per_update"].value is not None:
            _set(mets, "energy_per_area", mets["energy_per_update"].value / area)
    _add_card_figures(card, mets)
    parts = [f"{up:+.3g} {au}"] + ([f"{down:+.3g} {au}"] if down is not None else [])
    condition = (f"{'/'.join(parts)}, {w:.3g} s, {temp:.4g} K, {n} pulses per train, read {cond['v_read']:.3g} V"
                 f"{', ' + str(nd) + ' devices' if nd > 1 else ''}"
                 f"{'' if g0 is None else f', from {g0:.3g} S (the lowest calibrated state)'}")
    ref_up = ltp.mean(axis=0) if ltp.ndim == 2 else ltp
    curves = {"ltp": ref_up}
    if ltd is not None:
        curves["ltd"] = ltd.mean(axis=0) if ltd.ndim == 2 else ltd
    return DeviceMetrics(name=card.name, kind="card", family=type(model).family, title=card.title,
                         citation=card.citation(), condition=condition, has_model=True, card=card.name,
                         metrics=mets, curves=curves)


# card [figures] that are not simulated but reported (endurance, accuracy, area ...)
_CARD_FIGURE_ALIASES = {"endurance": "endurance", "accuracy": "accuracy", "area": "area"}


def _add_card_figures(card, mets: dict[str, Metric]) -> None:
    from .units import UnitError, convert

    for key, entry in (card.figures or {}).items():
        name = _CARD_FIGURE_ALIASES.get(key)
        if name is None or not isinstance(entry, dict) or "value" not in entry:
            continue
        if name in mets and mets[name].value is not None:
            continue
        info = METRICS[name]
        try:
            si = float(convert(entry["value"], entry.get("unit") or "dimensionless", info.unit or "dimensionless"))
        except (UnitError, ValueError, TypeError):
            continue
        mets[name] = Metric(si, info.unit, bound=entry.get("bound"), estimate=entry.get("estimate"),
                            note=entry.get("task") or entry.get("where"), source="reported")
