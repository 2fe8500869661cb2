"""Data-driven start values: what the measurement says about a model's parameters before the fit.

Two stages, both used by :func:`devicelib.fit.fit` when ``guess`` is on (the default for a model given
by its registered name):

1. the model's own ``guess(g, amplitude, ...)`` (families that map a measured quantity onto a parameter in
   closed form: the resistance window of an MTJ, the first read of an ECRAM channel or a fresh ECM/PCM
   cell (:func:`match_first_read`), the melt threshold of a PCM train (:func:`melt_threshold`), the
   switching rates of a stochastic MTJ, the weight layer of the baselines); a guess that declares
   ``v_read``, ``width`` or ``temperature`` gets the measurement's;
2. :func:`scan_start`, a coordinate scan of the objective: each varied parameter in turn is set on a
   grid of its fitted coordinate (log10 for rate prefactors and other ``log`` parameters, +/- 3 decades
   around the start; value/scale for the others, 0.25x to 4x of the start) with the others held, then on
   a finer grid between the best point's neighbours, and the lowest chi-square is kept; parameters the
   guess did not set are scanned first; two sweeps, stopping once the chi-square is at the noise level.
   The measured conductance range, step sizes and pulse conditions enter through the objective itself,
   so every family gets a start from its own equations without a family-specific formula: about
   ``p (n_grid + 6) sweeps`` evaluations (about 75 for two parameters), far fewer than a local fit
   started a decade away (which often stalls on a plateau where no pulse moves the state).

A rate prefactor a decade off changes a switching time by a decade; a local trust-region fit sees a
flat objective where pulses do nothing at all, so the scan is what makes a fit by name converge
without a hand scan (tests/test_fit_guess.py: from a start a decade off; tests/test_fit_by_name.py: every
registered physics model from its defaults).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

#: half-width of the scan of a log parameter, decades
LOG_SPAN = 3.0
#: factor range of the scan of a linear parameter (start / F .. start * F)
LIN_FACTOR = 4.0
#: points of the finer grid between the neighbours of the best coarse point
N_FINE = 6


def scan_start(resid_x: Callable[[np.ndarray], np.ndarray], x0: np.ndarray, lo: np.ndarray, hi: np.ndarray,
               log: np.ndarray, *, nz: int = 0, n_grid: int = 13, sweeps: int = 2,
               order=None, good: float = 0.0) -> tuple[np.ndarray, int]:
    """Coordinate scan of the objective ``sum(resid_x(x)**2)`` from ``x0`` (fitted coordinates).

    ``lo``/``hi`` are the coordinate bounds, ``log`` marks log10 coordinates; ``nz`` trailing start
    shifts (held at 0); ``order`` the coordinates in scan order (default 0, 1, ...: the fit puts those the
    model's ``guess`` did not set first, so a read-out parameter the data fixed is not bent to make up for
    a rate still at its default); ``good`` a chi-square at which the start already explains the data
    (the scan stops there). Returns the best point found (never worse than ``x0``) and the evaluations spent.
    """
    x = np.array(x0, dtype=float)
    zeros = np.zeros(nz)

    def chi2(v):
        r = resid_x(np.r_[v, zeros])
        return float(r @ r)

    best = chi2(x)
    evals = 1
    for _ in range(sweeps):
        if best <= good:
            break
        moved = False
        for j in (range(x.size) if order is None else order):
            if best <= good:
                break
            if log[j]:
                grid = x[j] + np.linspace(-LOG_SPAN, LOG_SPAN, n_grid)
            elif x[j] != 0:
                grid = x[j] * np.geomspace(1 / LIN_FACTOR, LIN_FACTOR, n_grid)
            else:
                grid = np.linspace(-1.0, 1.0, n_grid)
            span = hi[j] - lo[j]
            pad = 1e-9 * span if np.isfinite(span) else 0.0
            grid = np.unique(np.clip(grid, lo[j] + pad, hi[j] - pad))
            # then a finer grid between the best coarse point's neighbours: a switching threshold makes
            # valleys narrower than a coarse step (PCM's melt: T_peak grows with R_th I^2)
            for level in range(2):
                for v in grid:
                    if v == x[j]:
                        continue
                    trial = x.copy()
                    trial[j] = v
                    c = chi2(trial)
                    evals += 1
                    if c < best * (1 - 1e-9):
                        best, x, moved = c, trial, True
                if level == 0 and grid.size > 2:
                    i = int(np.argmin(np.abs(grid - x[j])))
                    a_, b_ = grid[max(i - 1, 0)], grid[min(i + 1, grid.size - 1)]
                    grid = np.linspace(a_, b_, N_FINE + 2)[1:-1]
        if not moved:
            break
    return x, evals


def first_read(g) -> float | None:
    """Median of the positive first reads of the traces (S), or None."""
    g0 = np.asarray(g, dtype=float)
    g0 = g0[:, 0] if g0.ndim == 2 else g0[:1]
    g0 = g0[np.isfinite(g0) & (g0 > 0)]
    return float(np.median(g0)) if g0.size else None


def match_first_read(model, g, name: str, v_read: float = 0.1, n_grid: int = 41) -> float | None:
    """The value of parameter ``name`` at which the model's initial state reads the measured first read.

    For families whose fresh (initial-state) conductance is set by one varied parameter (a resistivity
    prefactor, a barrier height): ``ln G_model(p) = ln G_first`` is bracketed on a grid over the
    parameter's bounds (log10 for log parameters; values the model rejects are skipped) and solved with
    Brent's method. None when the data have no positive first read or no bracket exists.
    """
    from scipy.optimize import brentq

    target = first_read(g)
    if target is None:
        return None
    p = model.parameter(name)
    lo, hi = p.bounds
    to_val = (lambda x: 10.0**x) if p.log else (lambda x: x)
    xs = np.linspace(np.log10(lo), np.log10(hi), n_grid) if p.log else np.linspace(lo, hi, n_grid)

    def f(x):
        try:
            m = model.with_params(**{name: float(to_val(x))})
            with np.errstate(all="ignore"):
                gm = float(np.mean(m.conductance(m.initial_state(1), v_read)))
        except (ValueError, FloatingPointError, ZeroDivisionError):
            return np.nan
        return np.log(gm) - np.log(target) if gm > 0 and np.isfinite(gm) else np.nan

    fs = np.array([f(x) for x in xs])
    for i in range(n_grid - 1):
        if np.isfinite(fs[i]) and np.isfinite(fs[i + 1]) and fs[i] * fs[i + 1] <= 0:
            x = brentq(f, xs[i], xs[i + 1], xtol=1e-12, rtol=1e-10) if fs[i] != fs[i + 1] else xs[i]
            return float(to_val(x))
    return None


def melt_threshold(g, amplitude, drop: float = 2.0, rise: float = 1.1) -> float | None:
    """The switching threshold amplitude a unipolar pulse train brackets (|amplitude|, the geometric mean of
    the bracket), or None.

    A pulse after which the read falls by ``drop`` or more is above the threshold (a PCM melt-quench RESET);
    one after which it rises by ``rise`` or more is below it (crystal growth). The threshold lies between the
    largest rising and the smallest falling amplitude; None unless both exist in that order.
    """
    g = np.atleast_2d(np.asarray(g, dtype=float))
    a = np.abs(np.atleast_2d(np.asarray(amplitude, dtype=float)))
    a = np.broadcast_to(a, g.shape)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = g[:, 1:] / g[:, :-1]
    amp = a[:, 1:]
    ok = np.isfinite(ratio) & (amp > 0)
    falls, rises = amp[ok & (ratio <= 1 / drop)], amp[ok & (ratio >= rise)]
    if not falls.size or not rises.size or rises.max() >= falls.min():
        return None
    return float(np.sqrt(rises.max() * falls.min()))
