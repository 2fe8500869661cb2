"""Compiled residual kernels of the batch fitter (:mod:`devicelib.fit.batch`).

For the phenomenological pulse-response rules (:mod:`devicelib.physics.baselines`) the weighted
residual of a trace, and a forward-difference column of its Jacobian, are computed in one pass of
one serial ``nogil`` kernel: the rule (the same :func:`~devicelib.physics.baselines.step_rule` the
replay and the simulate engine call), the conductance ``G = g_off + g_ref w``, the normalisation,
``(G - target) / sigma`` and the non-finite guard. The numpy path does the same in about ten passes
over (devices x pulses) arrays; chunks run on a thread pool (both cores), so the kernel must not
hold the GIL.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from ..physics.baselines import LINEAR, step_rule

BAD = 1e6  # the residual of a non-finite prediction (as in the numpy path)


@njit(cache=True, nogil=True, inline="always")
def _linear_trace(P, row, w, d, ws):  # pragma: no cover - compiled
    """The LINEAR rule (soft bounds, aihwkit's SoftBoundsDevice) of :func:`step_rule` over one trace,
    with its per-device slopes computed once instead of on every pulse: the same operations on the
    same values (tests/test_fit_batch_fused.py holds the two equal bit for bit), 5-7x faster, since
    ``step_rule`` reloads the row and divides by the bound at every step."""
    lo = P[row, 0]
    hi = P[row, 1]
    su = P[row, 2]
    sd = P[row, 3]
    slope_up = -P[row, 4] * su / hi if hi != 0.0 else 0.0
    slope_down = -P[row, 5] * sd / lo if lo != 0.0 else 0.0
    for k in range(d.shape[0]):
        s = d[k]
        if s != 0.0:
            if s > 0:
                w = w + (slope_up * w + su)
            else:
                w = w - (slope_down * w + sd)
            if w < lo:
                w = lo
            if w > hi:
                w = hi
        ws[k] = w


@njit(cache=True, nogil=True, inline="always")
def _trace(kind, P, row, w, d, n_nodes, ws):  # pragma: no cover - compiled
    """Weights ``ws`` after each entry of one device's directions ``d`` from ``w``."""
    if kind == LINEAR:
        _linear_trace(P, row, w, d, ws)
    else:
        for k in range(d.shape[0]):
            s = d[k]
            if s != 0.0:
                w = step_rule(kind, P, row, w, s, n_nodes)
            ws[k] = w


@njit(cache=True, nogil=True, inline="always")
def _residual_row(ws, o, r, nf, nr, normalised, target, weight, r0, si, jac, out):  # pragma: no cover
    """One device's weighted residuals from its weights ``ws`` (or the difference quotient against ``r0``
    when ``jac``), one branch-free loop per case: the compiler vectorises these (flags inside stop it)."""
    N = ws.shape[0]
    if normalised and jac:
        for k in range(N):
            v = (((o + r * ws[k]) - nf) / nr - target[k]) * weight[k]
            out[k] = ((v if np.isfinite(v) else BAD) - r0[k]) / si
    elif normalised:
        for k in range(N):
            v = (((o + r * ws[k]) - nf) / nr - target[k]) * weight[k]
            out[k] = v if np.isfinite(v) else BAD
    elif jac:
        for k in range(N):
            v = ((o + r * ws[k]) - target[k]) * weight[k]
            out[k] = ((v if np.isfinite(v) else BAD) - r0[k]) / si
    else:
        for k in range(N):
            v = ((o + r * ws[k]) - target[k]) * weight[k]
            out[k] = v if np.isfinite(v) else BAD


@njit(cache=True, nogil=True)
def rule_residual(kind, P, n_nodes, w0, d, off, ref, noff, nref, normalised, target, weight,
                  r0, step, jac, out):  # pragma: no cover - compiled
    """``out[i, k]`` = weighted residual of device i after entry k of ``d`` (+1 up, -1 down, 0 read),
    or, when ``jac``, ``(residual - r0[i, k]) / step[i]`` (a forward-difference Jacobian column).

    ``P`` (n, k) or (1, k): rule parameters per device (or shared); ``w0`` (n,) start weights;
    ``off``/``ref`` (n,): the trial model's ``g_offset``/``g_ref``; ``noff``/``nref`` (n,): the
    normalisation of the data (used when ``normalised``); ``target``, ``weight`` (n, N); ``out`` (n, >= N)
    (only its first N columns are written: a C-contiguous ``out`` keeps the row loops vectorised).
    """
    n, N = d.shape
    shared = P.shape[0] == 1
    ws = np.empty(N)
    for i in range(n):
        # the rule's recurrence alone in one loop, the residual arithmetic in a second one
        _trace(kind, P, 0 if shared else i, w0[i], d[i], n_nodes, ws)
        _residual_row(ws, off[i], ref[i], noff[i], nref[i], normalised, target[i], weight[i], r0[i], step[i],
                      jac, out[i])


@njit(cache=True, nogil=True)
def rule_jacobian(kind, P, n_nodes, w0, d, off, ref, noff, nref, normalised, target, weight,
                  r0, step, J):  # pragma: no cover - compiled
    """All forward-difference columns at once: ``J[i, j, k] = (residual_j[i, k] - r0[i, k]) / step[j, i]``
    for the trial parameters of column j (``P`` (p, n, k), ``w0``/``off``/``ref``/``step`` (p, n)).

    The same arithmetic as :func:`rule_residual` column by column; one device's data rows are read
    once for all columns (they stay in cache) instead of once per column."""
    p, n, _ = P.shape
    N = d.shape[1]
    ws = np.empty(N)
    for i in range(n):
        for j in range(p):
            _trace(kind, P[j], i, w0[j, i], d[i], n_nodes, ws)
            _residual_row(ws, off[j, i], ref[j, i], noff[i], nref[i], normalised, target[i], weight[i], r0[i],
                          step[j, i], True, J[i, j])
