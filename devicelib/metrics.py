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


def neurosim_nl(curve, direction: str | None = None) -> float:
    """NeuroSim nonlinearity label (NL_LTP or NL_LTD) of one monotone train.

    Fits G = B (1 - exp(-P/A)) + Gmin (see :func:`fit_neurosim`) and returns
    ``neurosim_nl_from_a(A / maxNumLevel)``. A potentiation curve that
    saturates gives NL > 0; a depression curve whose first steps are largest
    gives NL < 0, as in NeuroSim's device tables.
    """
    return fit_neurosim(curve, direction).nl
