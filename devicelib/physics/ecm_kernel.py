r"""Fused whole-train kernel of ``ecm.menzel`` (:mod:`devicelib.engine`, :class:`~devicelib.engine.KernelSpec`).

Each chunk of devices runs the whole pulse train with the gap and the nucleation progress in place. A pulse is
the same computation as :meth:`devicelib.physics.ecm.Menzel.apply_pulse`:

- with parameters shared by all devices and at least :data:`~devicelib.physics.ecm.TABLE_MIN` devices, the
  tabulated flow map of the pulse's condition (:func:`~devicelib.physics.ecm._pulse_tab`; one table per distinct
  (amplitude, temperature) of the train, built once before the kernel);
- otherwise the sub-step integrator :func:`~devicelib.physics.ecm._pulse_one` with each device's parameter row.

Volatile devices (:math:`\gamma_s > 0`) relax in the kernel during each pulse's interval, as
:meth:`~devicelib.physics.ecm.Menzel.relax` (Gibbs-Thomson dissolution, sub-step integrator). Cycle-to-cycle
noise moves the gap (``DeviceModel.perturb_step``, clipped to [x_min, L]) and read noise scales the read, both
from the engine's counter-based normals (equal to the reference path in distribution); stochastic nucleation
and the gradual RESET keep the per-pulse path (``Menzel.fused_available``).
"""

from __future__ import annotations

import math

import numba
import numpy as np

from ..engine import CHUNK, normal, stat_add, twin
from .ecm import I_L, I_XMIN, TAB_BLOCK, _pulse_one, _pulse_tab

STATES = ("gap", "nucleation")


def _ecm_drive(qs, R, pre, tab_of, TG, TS, TP, TD, TE, TC, TB, tnk, ttn, ctl, max_sub, xs, k0, k1, slot, G, E, X, flags,
               noise, key, stats, nblocks):  # pragma: no cover - compiled
    """Pulses k0..k1-1 on every device; ``xs`` (2, n) = (gap, nucleation) updated in place.

    ``qs`` parameter rows (1 shared or n), ``R`` read rows (G_tu x e^{kappa x} / (q/h)^2, kappa, rho_fil, L,
    area, G_el), ``pre`` (N, 5) = amplitude, width, temperature, 1 when the pulse acts, interval (relaxation
    when > 0), ``tab_of[k]`` the table of pulse k (-1: sub-step integrator), tables padded in TG, TS, TP
    (knots, 1/|f|, power), TD, TE (interval durations and energies), TC, TB (block-local running sums and block
    sums) with ``tnk`` intervals and ``ttn`` nucleation times, ``ctl`` the sub-step control. Returns False when
    an integration did not finish."""
    n = xs.shape[1]
    sp = qs.shape[0] > 1
    rec_g, rec_e, rec_x, do_stats = flags[0], flags[1], flags[2], flags[3]
    c2c, c2c_abs, rnoise = noise[0], noise[1], noise[2]
    perturb = c2c != 0.0 or c2c_abs != 0.0
    frac, s_min, s_max, max_log, floor, qh2 = ctl[0], ctl[1], ctl[2], ctl[3], ctl[4], ctl[5]
    per = (n + nblocks - 1) // nblocks
    good = np.ones(nblocks, dtype=np.bool_)
    for b in numba.prange(nblocks):
        a0 = b * per
        a1 = min(n, a0 + per)
        bg, be = np.empty(CHUNK), np.empty(CHUNK)
        for c0 in range(a0, a1, CHUNK):
            c1 = min(a1, c0 + CHUNK)
            for k in range(k0, k1):
                sl = slot[k]
                on = pre[k, 3] != 0.0
                rest = pre[k, 4] > 0.0
                if not on and not rest and sl < 0:
                    continue
                v, w, ta = pre[k, 0], pre[k, 1], pre[k, 2]
                t = tab_of[k]
                if on and t >= 0:  # shared parameters: the flow map of this pulse's table
                    nk = tnk[t]
                    g, s, p, d, e = TG[t, :nk + 1], TS[t, :nk + 1], TP[t, :nk + 1], TD[t, :nk], TE[t, :nk]
                    cu, bl = TC[t, :, :nk + 1], TB[t, :, :(nk + TAB_BLOCK - 1) // TAB_BLOCK]
                    tn, L = ttn[t], qs[0, I_L]
                    for i in range(c0, c1):
                        x0 = xs[0, i]
                        xs[0, i], xs[1, i], be[i - c0] = _pulse_tab(x0, xs[1, i], v, w, 1.0, tn, L, g, s, p, d, e,
                                                                    cu, bl, nk)
                        if perturb:  # DeviceModel.perturb_step on the gap, clipped to [x_min, L]
                            xp = x0 + (xs[0, i] - x0) * (1.0 + c2c * normal(key, i, k, 0))
                            if c2c_abs != 0.0:
                                xp = xp + c2c_abs * normal(key, i, k, 1)
                            xs[0, i] = min(max(xp, qs[0, I_XMIN]), L)
                elif on:
                    for i in range(c0, c1):
                        r = i if sp else 0
                        x0 = xs[0, i]
                        xn, nun, en, _, ok = _pulse_one(x0, xs[1, i], v, ta, w, 0.0, False, False, qs[r], 1.0, frac,
                                                        s_min, s_max, max_log, floor, max_sub)
                        if not ok:
                            good[b] = False
                        if perturb:
                            xp = x0 + (xn - x0) * (1.0 + c2c * normal(key, i, k, 0))
                            if c2c_abs != 0.0:
                                xp = xp + c2c_abs * normal(key, i, k, 1)
                            xn = min(max(xp, qs[r, I_XMIN]), qs[r, I_L])
                        xs[0, i], xs[1, i], be[i - c0] = xn, nun, en
                else:
                    for i in range(c0, c1):
                        be[i - c0] = 0.0
                if rest:  # Menzel.relax: Gibbs-Thomson dissolution of the unbiased cell over the interval
                    for i in range(c0, c1):
                        r = i if sp else 0
                        x0, nu0 = xs[0, i], xs[1, i]
                        xn, nun, _, _, ok = _pulse_one(x0, nu0, -1.0, ta, pre[k, 4], 0.0, False, True, qs[r], 1.0,
                                                       frac, s_min, s_max, max_log, floor, max_sub)
                        if not ok:
                            good[b] = False
                        xs[0, i] = xn
                        xs[1, i] = nu0 if x0 >= qs[r, I_L] else nun
                if sl < 0:
                    continue
                for i in range(c0, c1):  # the read (Menzel.conductance)
                    r = i if sp else 0
                    x = xs[0, i]
                    gt = R[r, 0] / x * qh2 * math.exp(-R[r, 1] * x)
                    bg[i - c0] = R[r, 5] + gt / (1.0 + R[r, 2] * (R[r, 3] - x) / R[r, 4] * gt)
                if rnoise != 0.0:
                    for i in range(c0, c1):
                        bg[i - c0] = bg[i - c0] * (1.0 + rnoise * normal(key, i, k, 2))
                if rec_g:
                    for i in range(c0, c1):
                        G[sl, i] = bg[i - c0]
                if rec_e:
                    for i in range(c0, c1):
                        E[sl, i] = be[i - c0]
                if rec_x:
                    for i in range(c0, c1):
                        X[0, sl, i] = xs[0, i]
                    for i in range(c0, c1):
                        X[1, sl, i] = xs[1, i]
                if do_stats:
                    for i in range(c0, c1):
                        j = i - c0
                        first = i == a0
                        stat_add(stats, b, sl, 0, bg[j], first)
                        stat_add(stats, b, sl, 1, be[j], first)
                        stat_add(stats, b, sl, 2, xs[0, i], first)
                        stat_add(stats, b, sl, 3, xs[1, i], first)
    return good.all()


kernels = twin(_ecm_drive, "_ecm_drive_serial")


def pack_tables(tables):
    """Tables (:func:`~devicelib.physics.ecm._build_table` results) padded into arrays for the kernel."""
    m = max(1, len(tables))
    kmax = max([t[7] for t in tables], default=1)
    nbmax = max(1, (kmax + TAB_BLOCK - 1) // TAB_BLOCK)
    TG, TS, TP = (np.zeros((m, kmax + 1)) for _ in range(3))
    TD, TE = np.zeros((m, kmax)), np.zeros((m, kmax))
    TC, TB = np.zeros((m, 2, kmax + 1)), np.zeros((m, 2, nbmax))
    tnk, ttn = np.zeros(m, dtype=np.int64), np.zeros(m)
    for j, (g, s, p, d, e, cum, blk, nk, tn, _) in enumerate(tables):
        TG[j, :nk + 1], TS[j, :nk + 1], TP[j, :nk + 1] = g, s, p
        TD[j, :nk], TE[j, :nk] = d, e
        TC[j, :, :nk + 1], TB[j, :, :blk.shape[1]] = cum, blk
        tnk[j], ttn[j] = nk, tn
    return TG, TS, TP, TD, TE, TC, TB, tnk, ttn
