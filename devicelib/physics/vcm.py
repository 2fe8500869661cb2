r"""Anion migration (VCM): oxygen-vacancy filament oxide ReRAM (HfOx, TaOx).

Stanford/PKU gap model
----------------------
The state is the tunnelling gap :math:`g` between the tip of the
oxygen-vacancy filament and the electrode (Guan, Yu, Wong 2012; Jiang et al.
2016). Field-driven, thermally activated ion hopping moves the tip:

.. math::

    \frac{dg}{dt} = -\nu_0 \exp\!\left(-\frac{E_a}{k T}\right)
        \sinh\!\left(\frac{\gamma\, a_0\, q V}{t_{ox}\, k T}\right),
    \qquad \gamma = \gamma_0 - \beta \left(\frac{g}{g_1}\right)^3

(positive V closes the gap: SET; negative V opens it: RESET), with
:math:`g_{min} \le g \le g_{max}`. As in the released Verilog-A (parameter ``F_min``, "minimum
field requirement to enhance gap formation", 1.4e9 V/m), the field enhancement is switched off
below a minimum local field: :math:`\gamma \leftarrow 0` when :math:`\gamma |V| / t_{ox} < F_{min}`,
so the gap does not move at all below a gap-dependent threshold voltage
:math:`V_{th}(g) = F_{min} t_{ox} / \gamma(g)` (1.05 V at g_min, 1.39 V at g_max with the defaults;
a RESET pulse stops where :math:`\gamma(g)` has fallen to :math:`F_{min} t_{ox}/|V|`). The card of
the source model's defaults, ``vcm.jiang2016_hfox``, has it on (1.4e9 V/m, as the Verilog-A); the
bare model class defaults to ``F_min = 0`` (the continuous law) so that fits made without the
threshold (``vcm.crosssim_oxide_fit``, synthetic recoveries) keep their meaning. The cell current is
tunnelling-like,

.. math::  I = I_0 \exp(-g/g_0) \sinh(V/V_0),

and Joule heating sets the filament temperature
:math:`T = T_0 + |V I| R_{th}`; the thermal time constant (~1 ns or less) is
taken to be far shorter than the pulse, so T follows the state.

Series circuit
--------------
The cell may sit in series with a resistance ``R_s``, a source compliance ``I_cc`` and a 1T1R access
transistor (``V_g``, ``V_th_T``, ``k_T``), all off by default (:mod:`devicelib.circuit`). The voltage on
the cell V is then the root of the divider ``V + R_s I + V_DS(I) = V_applied`` at the present gap,
solved at every integration stage (Newton's method safeguarded by the bracket [0, |V_applied|]; the
numpy reference :func:`devicelib.circuit.solve_divider` bisects), so the compliance follows the SET as
the gap closes. Heating, the field and the energy use the cell voltage; the pulse energy is the
energy dissipated in the cell, :math:`\int V I\,dt`.

Per-pulse integration
---------------------
During a rectangular pulse V is constant and T depends on g only, so
``dg/dt = f(g)`` is autonomous. A pulse whose gap change fits in one sub-step of
``|dg| <= max_gap_step`` (0.005 nm by default) takes one explicit midpoint step (devices whose rate
is small). A pulse that needs several takes classical 4th-order Runge-Kutta sub-steps of
``|dg| <= 10 max_gap_step`` and at most half the room left to the bound it moves to (above
2 max_gap_step), kept when every stage moves with a rate within 2x of the first (the full SET of
``vcm.stanford1t1r_fit`` at 2 V through its transistor: 38 sub-steps, about 140 rate evaluations,
instead of 303 midpoint steps, 606), and midpoint sub-steps of ``max_gap_step`` near the bounds and
the F_min threshold. A sub-step that crosses the F_min threshold is cut back to the
threshold gap by bisection. The loop is compiled with numba (one call per pulse for all devices, or one
call per whole trace for fitting), so no Python runs per device or sub-step. Tests compare against
``scipy.integrate.solve_ivp`` (rtol 1e-10): the relative error of the gap change per pulse is below 1e-3
over 0.5-2 V, 1 ns - 1 ms, 250-400 K; and against the fine-step solution (max_gap_step / 250): gap change
within 1e-3, energy within 2e-3, peak temperature rise within 1e-2.

Read: :math:`G = I(g, V_{read}) / V_{read}` (the limit ``I0 exp(-g/g0)/V0``
at V_read = 0).

References
----------
- X. Guan, S. Yu, H.-S. P. Wong, "A SPICE compact
  model of metal oxide resistive switching memory with variations", IEEE
  EDL 33, 1405 (2012), doi:10.1109/LED.2012.2210856.
- Z. Jiang et al., "A compact model for metal-oxide resistive random access
  memory with experiment verification", IEEE TED 63, 1884 (2016),
  doi:10.1109/TED.2016.2545412 (defaults: the published Verilog-A values).
"""

from __future__ import annotations

import math
import types

import numba
import numpy as np

from .. import engine
from ..circuit import CIRCUIT_PARAMETERS, solve_divider
from ..core import DeviceModel, Parameter, State, StateVariable
from ..engine import CHUNK, KernelSpec, normal, record_chunk, twin
from ..units import k_B, q_e

EV = q_e  # J per eV
K_B, Q_E = k_B, q_e  # module-level floats numba can freeze
NM = 1e-9


_KERNEL_PARAMS = ("I0", "g0", "V0", "nu0", "Ea", "a0", "gamma0", "beta", "g1", "t_ox", "R_th", "F_min",
                  "R_s", "I_cc", "V_g", "V_th_T", "k_T", "g_min", "g_max")
#: gap step of the Runge-Kutta sub-steps in units of max_gap_step (see _pulse_one): 0.05 nm by default
_RK_STEP = 10.0
_DIVIDER_ITER = 60  # at most 60 steps of the bracketed divider solve (2^-60 of |V_a| if all were halvings)


@numba.njit(cache=True, inline="always")
def _divider_residual(x, pre, mag, neg, V0, R_s, I_cc, V_g, V_th, k):
    """h(x) = x + R_s I + V_DS(I) - |V_a| at cell voltage x >= 0 (the series drop of
    :func:`devicelib.circuit.divider_drop_scalar`) and dh/dx; h = inf where the circuit cannot carry I."""
    i = pre * math.sinh(x / V0)
    di = pre * math.cosh(x / V0) / V0
    if I_cc > 0.0 and i > I_cc:
        return math.inf, 0.0
    h = x + i * R_s - mag
    dh = 1.0 + R_s * di
    if k > 0.0 and i > 0.0:
        vov = (V_g - x if neg else V_g) - V_th
        disc = vov * vov - 2.0 * i / k
        if vov <= 0.0 or disc <= 0.0:
            return math.inf, 0.0
        sq = math.sqrt(disc)
        h += vov - sq
        # V_DS = vov - sqrt(vov^2 - 2 I/k): d/dI = 1/(k sq); through vov (RESET: V_GS = V_g - x) d/dx = vov/sq - 1
        dh += di / (k * sq) + ((vov / sq - 1.0) if neg else 0.0)
    return h, dh


@numba.njit(cache=True)
def _divider_limit(pre, mag, neg, V0, I_cc, V_g, V_th, k):
    """The smallest cell voltage in [0, |V_a|] at which the circuit can no longer carry the cell current
    (|V_a| if none): the compliance I = I_cc, x = V0 asinh(I_cc/pre), and the transistor's saturation
    I = k V_ov^2 / 2 (V_ov = V_g - V_th, or V_g - x - V_th on RESET, where the source node is lifted by x:
    the root of pre sinh(x/V0) = k (c - x)^2 / 2, increasing in x, by Newton's method in its bracket)."""
    lim = mag
    if I_cc > 0.0:
        lim = min(lim, V0 * math.asinh(I_cc / pre))
    if k > 0.0:
        c = V_g - V_th
        if c <= 0.0:
            return 0.0
        if not neg:
            lim = min(lim, V0 * math.asinh(0.5 * k * c * c / pre))
        else:
            lo, hi = 0.0, min(c, lim)
            x = hi
            for _ in range(2 * _DIVIDER_ITER):
                u = c - x
                phi = pre * math.sinh(x / V0) - 0.5 * k * u * u
                if phi == 0.0:
                    break
                if phi > 0.0:
                    hi = x
                else:
                    lo = x
                xn = x - phi / (pre * math.cosh(x / V0) / V0 + k * u)
                if not (lo < xn < hi):
                    xn = 0.5 * (lo + hi)
                done = abs(xn - x) <= 1e-15 * mag or hi - lo <= 1e-15 * mag
                x = xn
                if done:
                    break
            lim = min(lim, x)
    return lim


@numba.njit(cache=True, inline="always")
def _cell_voltage(g, v, I0, g0, V0, R_s, I_cc, V_g, V_th, k, xg=-1.0):
    """Voltage on the cell at gap g with the series circuit (devicelib.circuit): the root of the divider
    h(x) = x + R_s I + V_DS(I) - |V_a| = 0 in [0, |V_a|] (h increases with the cell voltage x; it jumps to
    infinity at :func:`_divider_limit`, where the compliance or the transistor stops the current). When h is
    still negative just below that limit, the limit is the root (where the 60 halvings this replaces also
    end); else Newton's method inside the bracket, a halving whenever a step would leave it, until the step
    is below 1e-15 |V_a| (quadratic convergence: the root to rounding). ``xg`` >= 0: the cell voltage
    (magnitude) of a nearby gap, e.g. the previous integration stage, as the first iterate (a warm start:
    4 Newton steps instead of 5-10 for the SET at 2 V, measured); negative: the bracket's midpoint."""
    if R_s <= 0.0 and I_cc <= 0.0 and k <= 0.0:
        return v
    mag = abs(v)
    neg = v < 0.0
    pre = I0 * math.exp(-g / g0)
    lim = _divider_limit(pre, mag, neg, V0, I_cc, V_g, V_th, k)
    if lim < mag:
        # h just below the limit: the series drop there is finite (V_DS -> V_ov at saturation)
        i = pre * math.sinh(lim / V0)
        drop = i * R_s
        if k > 0.0 and i > 0.0:
            vov = (V_g - lim if neg else V_g) - V_th
            drop += vov - math.sqrt(max(vov * vov - 2.0 * i / k, 0.0))
        if lim + drop - mag <= 0.0:
            return -lim if neg else lim
    if k > 0.0 and not neg:
        # SET through the transistor (fixed V_ov): in the drain voltage w the divider is smooth, where in the
        # cell voltage V_DS(I) has a square-root singularity at saturation that slows Newton's method to
        # halvings: I = k (V_ov w - w^2/2), x = V0 asinh(I/pre), r(w) = x + R_s I + w - |V_a| (increasing)
        vov = V_g - V_th
        lo, hi = 0.0, vov
        w = 0.5 * vov
        if xg >= 0.0:  # the drain voltage that cell voltage leaves at this gap, when inside the bracket
            wg = mag - xg - R_s * pre * math.sinh(xg / V0)
            if lo < wg < hi:
                w = wg
        for _ in range(2 * _DIVIDER_ITER):
            i = k * w * (vov - 0.5 * w)
            r = V0 * math.asinh(i / pre) + R_s * i + w - mag
            if r == 0.0:
                break
            if r > 0.0:
                hi = w
            else:
                lo = w
            di = k * (vov - w)
            wn = w - r / (1.0 + di * (V0 / math.sqrt(pre * pre + i * i) + R_s))
            if not (lo < wn < hi):
                wn = 0.5 * (lo + hi)
            done = abs(wn - w) <= 1e-15 * mag or hi - lo <= 1e-15 * mag
            w = wn
            if done:
                break
        return V0 * math.asinh(k * w * (vov - 0.5 * w) / pre)
    lo, hi = 0.0, lim
    x = xg if 0.0 < xg < lim else 0.5 * lim
    for _ in range(2 * _DIVIDER_ITER):  # at least every second step halves the bracket
        h, dh = _divider_residual(x, pre, mag, neg, V0, R_s, I_cc, V_g, V_th, k)
        if h == 0.0:
            break
        if h > 0.0:
            hi = x
        else:
            lo = x
        xn = x - h / dh if (h < math.inf and dh > 0.0) else 0.5 * (lo + hi)
        if not (lo < xn < hi):
            xn = 0.5 * (lo + hi)
        done = abs(xn - x) <= 1e-15 * mag or hi - lo <= 1e-15 * mag
        x = xn
        if done:
            break
    return -x if neg else x


@numba.njit(cache=True, inline="always")
def _rate_scalar(g, v, t_amb, I0, g0, V0, nu0, Ea, a0, gamma0, beta, g1, t_ox, R_th, F_min,
                 R_s, I_cc, V_g, V_th, k, xg=-1.0):
    """dg/dt, filament temperature, cell current and cell voltage at gap g under the applied pulse v
    (``xg``: the divider's warm start, see :func:`_cell_voltage`)."""
    vd = _cell_voltage(g, v, I0, g0, V0, R_s, I_cc, V_g, V_th, k, xg)
    current = I0 * math.exp(-g / g0) * math.sinh(vd / V0)
    temp = t_amb + abs(vd * current) * R_th
    kt = K_B * temp
    gamma = gamma0 - beta * (g / g1) ** 3
    if gamma * abs(vd) / t_ox < F_min:  # below the minimum field no vacancy generation (Verilog-A F_min)
        gamma = 0.0
    return -nu0 * math.exp(-Ea / kt) * math.sinh(gamma * a0 * Q_E * vd / (t_ox * kt)), temp, current, vd


@numba.njit(cache=True)
def _threshold_gap(g_moving, g_stopped, v, t_amb, I0, g0, V0, nu0, Ea, a0, gamma0, beta, g1, t_ox, R_th, F_min,
                   R_s, I_cc, V_g, V_th, k):
    """The gap where the rate drops to 0 (F_min threshold) between a moving and a stopped gap, by bisection.

    A sub-step that crosses the threshold would otherwise overshoot it by up to one step (max_step)."""
    lo, hi = g_moving, g_stopped
    for _ in range(48):
        mid = 0.5 * (lo + hi)
        fm, _t, _i, _v = _rate_scalar(mid, v, t_amb, I0, g0, V0, nu0, Ea, a0, gamma0, beta, g1, t_ox, R_th, F_min,
                                      R_s, I_cc, V_g, V_th, k)
        if fm == 0.0:
            hi = mid
        else:
            lo = mid
    return lo


@numba.njit(cache=True)
def _pulse_one(g, v, width, t_amb, I0, g0, V0, nu0, Ea, a0, gamma0, beta, g1, t_ox, R_th, F_min,
               R_s, I_cc, V_g, V_th, k, g_min, g_max, max_step, max_sub):
    """Adaptive explicit-midpoint integration of one device over one pulse: (gap, T_peak, energy, ok).

    The energy is the energy dissipated in the cell (sum of V_cell I dt). Each rate evaluation starts the
    divider solve (series circuit) from the cell voltage of the previous one. A device that does not move
    (below F_min) or already sits at the bound the pulse drives it to costs one rate evaluation: the gap
    stays, the current is constant for the whole pulse."""
    if width <= 0.0 or v == 0.0:
        return g, t_amb, 0.0, True
    remaining, energy, t_peak = width, 0.0, t_amb
    g_prev = g
    xg = -1.0  # |cell voltage| of the last rate evaluation: the divider's warm start
    for _ in range(max_sub):
        f1, temp, cur, vd = _rate_scalar(g, v, t_amb, I0, g0, V0, nu0, Ea, a0, gamma0, beta, g1, t_ox, R_th,
                                         F_min, R_s, I_cc, V_g, V_th, k, xg)
        xg = abs(vd)
        if f1 == 0.0:
            # no motion (below F_min) for the rest of the pulse; if the last sub-step crossed the threshold,
            # the gap stops at it (bisection between the two ends of that sub-step, at most max_step apart)
            if g != g_prev:
                g = _threshold_gap(g_prev, g, v, t_amb, I0, g0, V0, nu0, Ea, a0, gamma0, beta, g1, t_ox, R_th,
                                   F_min, R_s, I_cc, V_g, V_th, k)
                _f, temp, cur, vd = _rate_scalar(g, v, t_amb, I0, g0, V0, nu0, Ea, a0, gamma0, beta, g1, t_ox,
                                                 R_th, F_min, R_s, I_cc, V_g, V_th, k, xg)
            return g, max(t_peak, temp), energy + abs(vd * cur) * remaining, True
        if (g == g_min and f1 < 0.0) or (g == g_max and f1 > 0.0):
            # at the bound the pulse drives the gap to: pinned for the rest of the pulse, constant current
            return g, max(t_peak, temp), energy + abs(vd * cur) * remaining, True
        dt = min(remaining, max_step / max(abs(f1), 1e-300))
        room = g - g_min if f1 < 0.0 else g_max - g  # to the bound the gap moves to
        if dt < remaining and room > 4.0 * max_step:
            # several sub-steps, away from the bound: a classical Runge-Kutta step (4th order) of gap change
            # up to _RK_STEP max_step and half the room left above 2 max_step (so the approach to the bound
            # is geometric), kept when every stage moves (no F_min threshold inside), the rate changes less
            # than 2x along it and it stays inside the bounds; else the midpoint step below
            d4 = min(remaining, min(_RK_STEP * max_step, 0.5 * room - max_step) / abs(f1))
            k2, t2, c2, v2 = _rate_scalar(g + 0.5 * d4 * f1, v, t_amb, I0, g0, V0, nu0, Ea, a0, gamma0, beta, g1,
                                          t_ox, R_th, F_min, R_s, I_cc, V_g, V_th, k, xg)
            k3, t3, c3, v3 = _rate_scalar(g + 0.5 * d4 * k2, v, t_amb, I0, g0, V0, nu0, Ea, a0, gamma0, beta, g1,
                                          t_ox, R_th, F_min, R_s, I_cc, V_g, V_th, k, abs(v2))
            k4, t4, c4, v4 = _rate_scalar(g + d4 * k3, v, t_amb, I0, g0, V0, nu0, Ea, a0, gamma0, beta, g1,
                                          t_ox, R_th, F_min, R_s, I_cc, V_g, V_th, k, abs(v3))
            gn = g + d4 / 6.0 * (f1 + 2.0 * k2 + 2.0 * k3 + k4)
            if (k2 != 0.0 and k3 != 0.0 and 0.5 <= k4 / f1 <= 2.0 and 0.5 <= k2 / f1 <= 2.0
                    and 0.5 <= k3 / f1 <= 2.0 and g_min < gn < g_max):
                xg = abs(v4)
                energy += d4 / 6.0 * (abs(vd * cur) + 2.0 * abs(v2 * c2) + 2.0 * abs(v3 * c3) + abs(v4 * c4))
                t_peak = max(t_peak, temp, t2, t3, t4)
                g_prev = g
                g = gn
                remaining -= d4
                if remaining <= 0.0:
                    if F_min > 0.0:
                        fe, _t, _i, _v = _rate_scalar(g, v, t_amb, I0, g0, V0, nu0, Ea, a0, gamma0, beta, g1, t_ox,
                                                      R_th, F_min, R_s, I_cc, V_g, V_th, k, xg)
                        if fe == 0.0:  # the step crossed the threshold
                            g = _threshold_gap(g_prev, g, v, t_amb, I0, g0, V0, nu0, Ea, a0, gamma0, beta, g1,
                                               t_ox, R_th, F_min, R_s, I_cc, V_g, V_th, k)
                    return g, t_peak, energy, True
                continue
        gm = min(max(g + 0.5 * dt * f1, g_min), g_max)
        f2, temp, cur, vd = _rate_scalar(gm, v, t_amb, I0, g0, V0, nu0, Ea, a0, gamma0, beta, g1, t_ox, R_th,
                                         F_min, R_s, I_cc, V_g, V_th, k, xg)
        xg = abs(vd)
        if f2 == 0.0 and f1 != 0.0:
            f2 = f1  # the midpoint lies past the threshold: Euler step, then the bisection above
        g_prev = g
        g = min(max(g + dt * f2, g_min), g_max)
        energy += abs(vd * cur) * dt
        t_peak = max(t_peak, temp)
        remaining -= dt
        if (g <= g_min and f2 < 0.0) or (g >= g_max and f2 > 0.0):
            # pinned at a bound for the rest of the pulse: constant current there
            _f, temp, cur, vd = _rate_scalar(g, v, t_amb, I0, g0, V0, nu0, Ea, a0, gamma0, beta, g1, t_ox, R_th,
                                             F_min, R_s, I_cc, V_g, V_th, k, xg)
            energy += abs(vd * cur) * remaining
            t_peak = max(t_peak, temp)
            remaining = 0.0
        if remaining <= 0.0:
            if F_min > 0.0 and f1 != 0.0 and g != g_prev:
                fe, _t, _i, _v = _rate_scalar(g, v, t_amb, I0, g0, V0, nu0, Ea, a0, gamma0, beta, g1, t_ox, R_th,
                                              F_min, R_s, I_cc, V_g, V_th, k, xg)
                if fe == 0.0:  # the last sub-step crossed the threshold
                    g = _threshold_gap(g_prev, g, v, t_amb, I0, g0, V0, nu0, Ea, a0, gamma0, beta, g1, t_ox, R_th,
                                       F_min, R_s, I_cc, V_g, V_th, k)
            return g, t_peak, energy, True
    return g, t_peak, energy, False


def _pulse_loop(g, v, width, t_amb, P, max_step, max_sub):
    """One pulse on every device. ``P`` holds the parameters in :data:`_KERNEL_PARAMS` order, one row
    shared by all devices or one row per device; ``v``, ``width``, ``t_amb`` have 1 or n entries."""
    n = g.size
    # index strides: 0 for an entry shared by all devices (integers, so the parfor types them as such)
    sp, sv, sw, st = int(P.shape[0] > 1), int(v.size > 1), int(width.size > 1), int(t_amb.size > 1)
    g_out, t_peak, energy = np.empty(n), np.empty(n), np.empty(n)
    good = np.empty(n, dtype=np.bool_)
    for i in numba.prange(n):  # devices are independent: spread them over the cores
        r = i * sp
        g_out[i], t_peak[i], energy[i], good[i] = _pulse_one(
            g[i], v[i * sv], width[i * sw], t_amb[i * st],
            P[r, 0], P[r, 1], P[r, 2], P[r, 3], P[r, 4], P[r, 5], P[r, 6], P[r, 7], P[r, 8], P[r, 9], P[r, 10],
            P[r, 11], P[r, 12], P[r, 13], P[r, 14], P[r, 15], P[r, 16], P[r, 17], P[r, 18], max_step, max_sub)
    return g_out, t_peak, energy, good.all()


_pulse_kernel = numba.njit(cache=True, parallel=True)(_pulse_loop)
# the serial twin (the same code under its own name and cache entry; prange runs as range): small
# problems never wait for worker threads, which on a loaded machine cost up to ms per pulse
_serial_loop = types.FunctionType(_pulse_loop.__code__, _pulse_loop.__globals__, "_pulse_kernel_serial")
_serial_loop.__qualname__ = "_pulse_kernel_serial"
_pulse_kernel_serial = numba.njit(cache=True)(_serial_loop)
SERIAL_BELOW = 16384  # devices: fewer run serially (about 3 ms per pulse; see apply_pulse)


@numba.njit(cache=True)
def _trace_kernel(g, v, width, t_amb, P, max_step, max_sub):
    n, npulse = v.shape
    shared = P.shape[0] == 1
    gaps = np.empty((n, npulse))
    ok = True
    for i in range(n):
        gi = g[i]
        r = 0 if shared else i
        for j in range(npulse):
            gi, _tp, _e, good = _pulse_one(
                gi, v[i, j], width[i, j], t_amb[i, j], P[r, 0], P[r, 1], P[r, 2], P[r, 3], P[r, 4], P[r, 5],
                P[r, 6], P[r, 7], P[r, 8], P[r, 9], P[r, 10], P[r, 11], P[r, 12], P[r, 13], P[r, 14], P[r, 15],
                P[r, 16], P[r, 17], P[r, 18], max_step, max_sub)
            ok = ok and good
            gaps[i, j] = gi
    return gaps, ok


_SMALL_EXP = 0.05  # |x| bound of _exp_small (a sub-step's change of the gap over g0)
_EG_REFRESH = 16  # fast pulses between exact recomputations of e^{-g/g0} (carried by products in between)


@numba.njit(cache=True, inline="always", fastmath={"contract"}, error_model="numpy")
def _exp_small(x):  # pragma: no cover - compiled
    """exp(x) for |x| <= :data:`_SMALL_EXP` by its Taylor polynomial of degree 10 (truncation below 3e-20)."""
    p = 1.0 / 3628800.0
    p = p * x + 1.0 / 362880.0
    p = p * x + 1.0 / 40320.0
    p = p * x + 1.0 / 5040.0
    p = p * x + 1.0 / 720.0
    p = p * x + 1.0 / 120.0
    p = p * x + 1.0 / 24.0
    p = p * x + 1.0 / 6.0
    p = p * x + 0.5
    p = p * x + 1.0
    return p * x + 1.0


@numba.njit(cache=True, nogil=True, fastmath={"contract"}, error_model="numpy")  # no zero-division branches
def _fast_chunk(xs, c0, c1, v, w, ta, sv, P, max_step, eg, bg, bt, be, bs, wk):
    r"""One pulse on devices c0..c1-1 when it takes a single midpoint sub-step (the common case), in a loop
    the compiler vectorises: :func:`_pulse_one`'s first sub-step with :func:`~devicelib.engine.vexp`,
    shared parameters, no series circuit and F_min = 0 (the caller checks). ``sv`` = sinh(V/V0) of the
    pulse; ``eg[j]`` = exp(-g/g0) of each device's gap on entry, replaced by that of the new gap; ``wk``
    five (CHUNK,) scratch arrays. Results go to the buffers (gap, peak temperature, energy); ``bs[j]`` = 1
    marks a device that needs more
    (several sub-steps, a bound reached, no motion, arguments out of range): the caller runs
    :func:`_pulse_one` for it (and recomputes its ``eg``). Agrees with :func:`_pulse_one` to rounding.

    Four exponentials per device instead of seven (identities exact in real arithmetic):
    the rate :math:`\nu_0 e^{-a} \sinh y = \tfrac{\nu_0}{2}(e^{y-a} - e^{-y-a})` (a = E_a/kT; no sinh
    and no division by e^y; devices with |y| < 0.01, where the difference loses more than two digits,
    go to :func:`_pulse_one`), :math:`e^{-g_m/g_0} = e^{-g/g_0} e^{-(g_m - g)/g_0}` at the midpoint with
    the small factor by :func:`_exp_small` (|g_m - g| <= max_step/2), and e^{-g/g0} of the new gap the
    same way (devices whose step exceeds 0.05 g0 are marked), kept for the next pulse and the read (the
    caller recomputes it exactly every :data:`_EG_REFRESH` pulses); a single sub-step has dt = width, so
    max_step/|f| is a comparison."""
    I0, g0, nu0, Ea, a0, gamma0, beta, g1, t_ox, R_th = (P[0, 0], P[0, 1], P[0, 3], P[0, 4], P[0, 5], P[0, 6],
                                                        P[0, 7], P[0, 8], P[0, 9], P[0, 10])
    g_min, g_max = P[0, 17], P[0, 18]
    c_y = a0 * Q_E * v / t_ox / K_B
    # reciprocals hoisted (one division per rate left): the rates then differ from _pulse_one by rounding only
    r_g0, r_g1, ea_k = 1.0 / g0, 1.0 / g1, Ea / K_B
    i_sv = I0 * sv  # cell current I = I0 sv e^{-g/g0}; Joule power |V I| = c_p e^{-g/g0}
    c_p = abs(v * i_sv)
    c_t = c_p * R_th
    h_nu, half_w = 0.5 * nu0, 0.5 * w
    m = c1 - c0
    # the sub-step as four passes over the chunk (loop fission): one device's chain of dependent
    # exponentials and divisions is ~400 cycles long, and the passes let the CPU overlap devices
    p1, q1, p2, q2, f1 = wk
    for j in range(m):  # the exponents of the rate at the gap
        g = xs[0, c0 + j]
        r_t1 = 1.0 / (ta + c_t * eg[j])
        u1 = g * r_g1
        gam1 = gamma0 - beta * (u1 * u1 * u1)
        y1 = gam1 * c_y * r_t1
        a1 = ea_k * r_t1
        p1[j], q1[j] = -y1 - a1, y1 - a1
        bs[j] = 1.0 if ((abs(y1) < 0.01) | (gam1 <= 0.0) | (abs(y1) + a1 > 700.0) | (g * r_g0 > 700.0)) else 0.0
    for j in range(m):
        f1[j] = h_nu * (engine.vexp(p1[j]) - engine.vexp(q1[j]))
    for j in range(m):  # the midpoint and the exponents of its rate
        g = xs[0, c0 + j]
        f = f1[j]
        gm = min(max(g + half_w * f, g_min), g_max)
        xm = (g - gm) * r_g0
        e = eg[j] * _exp_small(xm)
        t2 = ta + c_t * e
        r_t2 = 1.0 / t2
        u2 = gm * r_g1
        gam2 = gamma0 - beta * (u2 * u2 * u2)
        y2 = gam2 * c_y * r_t2
        a2 = ea_k * r_t2
        p2[j], q2[j] = -y2 - a2, y2 - a2
        bt[j] = max(ta, t2)
        be[j] = c_p * e * w
        slow = ((abs(y2) < 0.01) | (gam2 <= 0.0) | (w * abs(f) > max_step) | (abs(xm) > _SMALL_EXP)
                | (abs(y2) + a2 > 700.0) | (f == 0.0))
        bs[j] = 1.0 if slow else bs[j]
    for j in range(m):  # the full step, and e^{-g/g0} of the new gap
        g = xs[0, c0 + j]
        f2 = h_nu * (engine.vexp(p2[j]) - engine.vexp(q2[j]))
        gn = min(max(g + w * f2, g_min), g_max)
        xn = (g - gn) * r_g0
        eg[j] = eg[j] * _exp_small(xn)
        bg[j] = gn
        slow = ((gn <= g_min) & (f2 < 0.0)) | ((gn >= g_max) & (f2 > 0.0)) | (f2 == 0.0) | (abs(xn) > _SMALL_EXP)
        bs[j] = 1.0 if slow else bs[j]


@numba.njit(cache=True, nogil=True, fastmath={"contract"}, error_model="numpy")
def _eg_chunk(xs, c0, c1, P, eg):
    """exp(-g/g0) of devices c0..c1-1 (shared parameters) into ``eg``, vectorised."""
    r_g0 = 1.0 / P[0, 1]
    for i in range(c0, c1):
        eg[i - c0] = engine.vexp(-xs[0, i] * r_g0)


@numba.njit(cache=True, nogil=True, fastmath={"contract"}, error_model="numpy")
def _read_chunk(xs, c0, c1, P, R, out):
    """Reads G = I0 e^{-g/g0} f of devices c0..c1-1 into ``out`` (vectorised; :meth:`StanfordPKU.conductance`
    to rounding)."""
    if P.shape[0] == 1:  # shared parameters hoisted (a per-row index in the loop keeps it from vectorising)
        r_g0, amp = 1.0 / P[0, 1], P[0, 0] * R[0, 0]
        for i in range(c0, c1):
            out[i - c0] = engine.vexp(-xs[0, i] * r_g0) * amp
    else:
        for i in range(c0, c1):
            out[i - c0] = engine.vexp(-xs[0, i] / P[i, 1]) * P[i, 0] * R[i, 0]


def _fused_drive(P, R, pre, max_step, max_sub, fast, xs, k0, k1, slot, G, E, X, flags, noise, key, stats, nblocks):
    """The fused simulate kernel (:mod:`devicelib.engine`, :class:`~devicelib.engine.KernelSpec`): pulses
    k0..k1-1 of a train on every device, the gap and peak temperature ``xs`` (2, n) updated in place.

    Each pulse is :func:`_pulse_one` (the same integration as :meth:`StanfordPKU.apply_pulse`), the
    cycle-to-cycle noise and read noise those of the engine (counter-based normals), the read
    :math:`G = I_0 e^{-g/g_0} f` with the per-row factor ``R[r, 0]`` = sinh(V_read/V0)/V_read (1/V0 at
    V_read = 0). ``pre`` (N, 5): applied voltage, width, ambient temperature, 1 when the pulse acts,
    sinh(V/V0) (for :func:`_fast_chunk` when ``fast``: shared parameters, no circuit, F_min = 0).
    Returns False when an integration did not finish in ``max_sub`` sub-steps."""
    n = xs.shape[1]
    sp = P.shape[0] > 1
    rec_g, rec_e, rec_x, do_stats = flags[0], flags[1], flags[2], flags[3]
    c2c, c2c_abs, rnoise = noise[0], noise[1], noise[2]
    perturb = c2c != 0.0 or c2c_abs != 0.0
    per = (n + nblocks - 1) // nblocks
    good = np.ones(nblocks, dtype=np.bool_)
    for b in numba.prange(nblocks):
        a0 = b * per
        a1 = min(n, a0 + per)
        bg, bt, be, bs = np.empty(CHUNK), np.empty(CHUNK), np.empty(CHUNK), np.empty(CHUNK)
        wk = (np.empty(CHUNK), np.empty(CHUNK), np.empty(CHUNK), np.empty(CHUNK), np.empty(CHUNK))  # _fast_chunk's
        eg = np.empty(CHUNK)  # fast: exp(-g/g0) of each device's present gap (the read and the next pulse)
        # not fast: each device's last _pulse_one (input gap; output gap, peak temperature, energy) under the
        # condition of pulse kl; a repeat of that condition on the same gap (a device pinned at a bound or
        # below F_min) returns the same values, taken from here (a pure function: bitwise the same)
        mi, mo, mt, me = np.empty(CHUNK), np.empty(CHUNK), np.empty(CHUNK), np.empty(CHUNK)
        for c0 in range(a0, a1, CHUNK):
            c1 = min(a1, c0 + CHUNK)
            since = 0
            kl = -1
            if fast:
                _eg_chunk(xs, c0, c1, P, eg)
            for k in range(k0, k1):
                sl = slot[k]
                on = pre[k, 3] != 0.0
                if not on and sl < 0:
                    continue
                v, w, ta = pre[k, 0], pre[k, 1], pre[k, 2]
                quick = on and fast
                memo = on and not fast
                # eg no longer that of the gap (noise moved it, or _pulse_one ran), or refreshed: each pulse
                # multiplies it by e^{-(g_new - g)/g0}, and the refresh bounds the rounding carried to 16 ulp
                since += quick
                stale = (quick and perturb) or since >= _EG_REFRESH
                if quick:
                    _fast_chunk(xs, c0, c1, v, w, ta, pre[k, 4], P, max_step, eg, bg, bt, be, bs, wk)
                if quick and not perturb:  # the common case: _pulse_one for the marked devices, then copies
                    for i in range(c0, c1):
                        j = i - c0
                        if bs[j] != 0.0:
                            stale = True
                            bg[j], bt[j], be[j], ok = _pulse_one(
                                xs[0, i], v, w, ta, P[0, 0], P[0, 1], P[0, 2], P[0, 3], P[0, 4], P[0, 5], P[0, 6],
                                P[0, 7], P[0, 8], P[0, 9], P[0, 10], P[0, 11], P[0, 12], P[0, 13], P[0, 14], P[0, 15],
                                P[0, 16], P[0, 17], P[0, 18], max_step, max_sub)
                            if not ok:
                                good[b] = False
                    for i in range(c0, c1):
                        xs[0, i] = bg[i - c0]
                    for i in range(c0, c1):
                        xs[1, i] = bt[i - c0]
                else:
                    same = memo and kl >= 0 and v == pre[kl, 0] and w == pre[kl, 1] and ta == pre[kl, 2]
                    for i in range(c0, c1):
                        r = i if sp else 0
                        g = xs[0, i]
                        gn, tp = g, xs[1, i]
                        if quick and bs[i - c0] == 0.0:
                            gn, tp = bg[i - c0], bt[i - c0]
                        elif same and g == mi[i - c0]:
                            gn, tp, be[i - c0] = mo[i - c0], mt[i - c0], me[i - c0]
                        elif on:
                            stale = stale or quick
                            gn, tp, be[i - c0], ok = _pulse_one(
                                g, v, w, ta, P[r, 0], P[r, 1], P[r, 2], P[r, 3], P[r, 4], P[r, 5], P[r, 6], P[r, 7],
                                P[r, 8], P[r, 9], P[r, 10], P[r, 11], P[r, 12], P[r, 13], P[r, 14], P[r, 15], P[r, 16],
                                P[r, 17], P[r, 18], max_step, max_sub)
                            if not ok:
                                good[b] = False
                            if memo:
                                mi[i - c0], mo[i - c0], mt[i - c0], me[i - c0] = g, gn, tp, be[i - c0]
                        else:
                            be[i - c0] = 0.0
                        if on:
                            if perturb:  # DeviceModel.perturb_step on the gap, clipped to [g_min, g_max]
                                gp = g + (gn - g) * (1.0 + c2c * normal(key, i, k, 0))
                                if c2c_abs != 0.0:
                                    gp = gp + c2c_abs * normal(key, i, k, 1)
                                gn = min(max(gp, P[r, 17]), P[r, 18])
                            xs[0, i] = gn
                            xs[1, i] = tp
                if memo:
                    kl = k
                if stale:
                    _eg_chunk(xs, c0, c1, P, eg)
                    since = 0
                if sl < 0:
                    continue
                if fast:  # the reads from eg (the same product as _read_chunk), into bg
                    amp = P[0, 0] * R[0, 0]
                    for j in range(c1 - c0):
                        bg[j] = eg[j] * amp
                else:
                    _read_chunk(xs, c0, c1, P, R, bg)  # the reads, vectorised, into bg
                record_chunk(bg, be, xs, c0, c1, a0, b, sl, k, G, E, X, stats, rnoise, key, rec_g, rec_e, rec_x,
                             do_stats)
    return good.all()


_fused_kernels = twin(_fused_drive, "_fused_drive_serial")


def _condition(x, n: int) -> np.ndarray:
    """A pulse condition as the kernels take it: one entry when shared by all devices, else (n,)."""
    a = np.asarray(x, dtype=float)
    if a.size == 1:
        return a.reshape(1)
    return np.ascontiguousarray(np.broadcast_to(a, (n,)))


class StanfordPKU(DeviceModel):
    __doc__ = __doc__
    name = "vcm.stanford_pku"
    #: parameters a typical measurement of each data kind identifies (devicelib.fit; rate prefactors,
    #: not activation energies, at one temperature): a choice by identifiability, not a measured value
    default_vary = {"pulse_train": ("nu0", "gamma0"), "pulse_map": ("nu0", "gamma0")}  # noqa: RUF012
    family = "vcm"
    family_name = "Anion migration (VCM oxide ReRAM), Stanford/PKU gap model"
    amplitude_unit = "V"
    references = (
        "Guan, Yu, Wong, IEEE EDL 33, 1405 (2012), doi:10.1109/LED.2012.2210856",
        "Jiang et al., IEEE TED 63, 1884 (2016), doi:10.1109/TED.2016.2545412",
    )
    parameters = (
        Parameter("g0", "m", 0.25 * NM, (0.05 * NM, 2 * NM), "g_0",
                  "decay length of the tunnelling current with the gap"),
        Parameter("V0", "V", 0.25, (0.02, 5.0), "V_0", "voltage scale of the I-V nonlinearity"),
        Parameter("I0", "A", 1e-3, (1e-9, 1.0), "I_0", "current prefactor", log=True),
        Parameter("nu0", "m/s", 10.0, (1e-12, 1e6), "nu_0",
                  "ion hopping velocity prefactor", log=True),
        Parameter("Ea", "J", 0.6 * EV, (0.1 * EV, 2.0 * EV), "E_a",
                  "activation energy of vacancy generation/migration"),
        Parameter("a0", "m", 0.25 * NM, (0.05 * NM, 1 * NM), "a_0", "atomic hopping distance",
                  fixed=True),
        Parameter("gamma0", "", 16.0, (0.0, 100.0), "gamma_0", "local field enhancement factor"),
        Parameter("beta", "", 0.8, (0.0, 20.0), "beta",
                  "decrease of field enhancement with the gap (per g1^3)"),
        Parameter("g1", "m", 1.0 * NM, (0.1 * NM, 10 * NM), "g_1",
                  "length normalising the gap in gamma", fixed=True),
        Parameter("t_ox", "m", 12 * NM, (1 * NM, 100 * NM), "t_ox", "oxide thickness", fixed=True),
        Parameter("R_th", "K/W", 2.1e3, (0.0, 1e7), "R_th", "effective thermal resistance"),
        Parameter("g_min", "m", 0.2 * NM, (0.0, 5 * NM), "g_min", "smallest gap (full SET)"),
        Parameter("g_max", "m", 1.7 * NM, (0.1 * NM, 10 * NM), "g_max", "largest gap (full RESET)"),
        Parameter("F_min", "V/m", 0.0, (0.0, 3e9), "F_min",
                  "minimum local field gamma |V| / t_ox for vacancy generation/migration (0 = no threshold)"),
        *CIRCUIT_PARAMETERS,
    )
    state_variables = (
        StateVariable("gap", "m", ("g_min", "g_max"), "tunnelling gap g between filament tip and electrode"),
        StateVariable("peak_temperature", "K", (0.0, np.inf), "filament temperature during the last pulse"),
    )

    #: largest gap change per integration sub-step (m); see module docstring
    max_gap_step = 0.005 * NM
    max_substeps = 20_000

    def _check(self) -> None:
        if np.any(np.asarray(self.params["g_min"]) >= np.asarray(self.params["g_max"])):
            raise ValueError(f"{self.name}: g_min must be smaller than g_max")

    # -- physics -----------------------------------------------------------
    @staticmethod
    def _current(p, g, v):
        return p["I0"] * np.exp(-g / p["g0"]) * np.sinh(v / p["V0"])

    @classmethod
    def cell_voltage(cls, p, g, v):
        """Voltage on the cell (V) at gap g when ``v`` is applied to the cell with its series circuit
        (:func:`devicelib.circuit.solve_divider`; ``v`` itself when the circuit is absent)."""
        g, v = np.broadcast_arrays(np.asarray(g, float), np.asarray(v, float))
        if not any(np.any(np.asarray(p.get(k, 0.0)) > 0) for k in ("R_s", "I_cc", "k_T")):
            return v
        vd, _ = solve_divider(v, lambda u: cls._current(p, g, u), p.get("R_s", 0.0), p.get("I_cc", 0.0),
                              p.get("V_g", 0.0), p.get("V_th_T", 0.5), p.get("k_T", 0.0), n_iter=_DIVIDER_ITER)
        return vd

    @classmethod
    def _rate(cls, p, g, v, t_amb):
        """dg/dt (m/s) and the filament temperature (K) at gap g under the applied pulse v (numpy reference of
        the compiled kernel, incl. F_min and the series circuit)."""
        vd = cls.cell_voltage(p, g, v)
        temp = t_amb + np.abs(vd * cls._current(p, g, vd)) * p["R_th"]
        kt = k_B * temp
        gamma = p["gamma0"] - p["beta"] * (g / p["g1"]) ** 3
        gamma = np.where(gamma * np.abs(vd) / p["t_ox"] < p.get("F_min", 0.0), 0.0, gamma)
        rate = -p["nu0"] * np.exp(-p["Ea"] / kt) * np.sinh(gamma * p["a0"] * q_e * vd / (p["t_ox"] * kt))
        return rate, temp

    def initial_state(self, n: int) -> State:
        g = np.broadcast_to(np.asarray(self.params["g_max"], dtype=float), (n,)).copy()
        return {"gap": g, "peak_temperature": np.full(n, 300.0)}

    def _param_matrix(self, n: int) -> np.ndarray:
        """Parameters in kernel order as a (1, 19) row shared by all devices, or (n, 19) when any
        parameter varies per device. Built once and cached with the parameter objects it used (checked by
        identity, as :meth:`with_params` replaces them), so a pulse train does not rebuild it per pulse."""
        refs = tuple(self.params[k] for k in _KERNEL_PARAMS)
        hit = self.__dict__.get("_pm_cache")
        if hit is not None and all(a is b for a, b in zip(hit[0], refs, strict=True)) and hit[1].shape[0] in (1, n):
            return hit[1]
        vals = [np.asarray(x, dtype=float) for x in refs]
        if all(x.size == 1 for x in vals):
            m = np.array([[float(x.reshape(-1)[0]) for x in vals]])
        else:
            m = np.ascontiguousarray(np.stack([np.broadcast_to(x.reshape(-1) if x.size == 1 else x, (n,))
                                               for x in vals], axis=1))
        self.__dict__["_pm_cache"] = (refs, m)
        return m

    def apply_pulse(self, state: State, amplitude, width, temperature) -> State:
        g = np.array(state["gap"], dtype=float)
        n = g.size
        # a parallel region per pulse costs a thread wake-up, and on a shared, loaded machine a wait for a
        # core (measured: 24 ms per pulse at load 11 on 2 cores against 1.9 ms serial for 10,000 devices)
        kern = _pulse_kernel_serial if n < SERIAL_BELOW else _pulse_kernel
        g_new, t_peak, energy, ok = kern(g, _condition(amplitude, n), _condition(width, n),
                                         _condition(temperature, n), self._param_matrix(n),
                                         self.max_gap_step, self.max_substeps)
        if not ok:
            raise RuntimeError(f"{self.name}: pulse integration did not finish in {self.max_substeps} sub-steps")
        return {"gap": g_new, "peak_temperature": t_peak, "_energy": energy}

    def replay_trace(self, state: State, amplitude, width, interval, temperature, v_read) -> np.ndarray:
        """Conductance (S) after each pulse for (n, N) pulse conditions, in one compiled call
        (same integration as :meth:`apply_pulse`; the model is non-volatile, so ``interval`` is unused)."""
        g = np.array(state["gap"], dtype=float)
        n = g.size
        gaps, ok = _trace_kernel(g, *(np.ascontiguousarray(np.broadcast_to(np.asarray(x, dtype=float),
                                                                         np.shape(amplitude)))
                                      for x in (amplitude, width, temperature)),
                                 self._param_matrix(n), self.max_gap_step, self.max_substeps)
        if not ok:
            raise RuntimeError(f"{self.name}: pulse integration did not finish in {self.max_substeps} sub-steps")
        return self.conductance({"gap": gaps}, v_read)

    def fused_spec(self, n: int, amplitude, width, temperature=300.0, v_read=0.0):
        """The fused simulate kernel (:func:`_fused_drive`) for a pulse train: the parameter matrix (one
        shared row unless parameters vary between devices), the read factor and each pulse's condition,
        built once per train."""
        amplitude = np.asarray(amplitude, dtype=float)
        width = np.asarray(width, dtype=float)
        pre = np.zeros((amplitude.size, 5))
        pre[:, 0], pre[:, 1] = amplitude, width
        pre[:, 2] = np.broadcast_to(np.asarray(temperature, dtype=float), amplitude.shape)
        pre[:, 3] = (width > 0) & (amplitude != 0)
        P = self._param_matrix(n)
        v0 = np.asarray(self.params["V0"], dtype=float)
        # the vectorised single-sub-step pass (_fast_chunk): shared parameters, no circuit, no F_min
        names = list(_KERNEL_PARAMS)
        fast = bool(P.shape[0] == 1 and P[0, names.index("F_min")] == 0.0
                    and all(P[0, names.index(c)] <= 0.0 for c in ("R_s", "I_cc", "k_T")))
        if fast:
            pre[:, 4] = np.sinh(amplitude / P[0, names.index("V0")])
        v = float(v_read)
        f = 1.0 / v0 if v == 0.0 else np.sinh(v / v0) / v
        R = np.ascontiguousarray(np.broadcast_to(np.reshape(f, (-1, 1)), (P.shape[0], 1)))
        return KernelSpec(states=("gap", "peak_temperature"), kernels=_fused_kernels,
                          args=(P, R, pre, float(self.max_gap_step), int(self.max_substeps), fast))

    def pulse_energy(self, before: State, after: State, amplitude, width, temperature):
        # integrated along the trajectory in apply_pulse (sum of V I dt)
        return after["_energy"]

    def current(self, state: State, voltage, temperature=300.0):
        return self._current(self.params, state["gap"], np.asarray(voltage, dtype=float))

    def conductance(self, state: State, v_read) -> np.ndarray:
        p = self.params
        v = float(v_read)
        gap = state["gap"]
        g0, i0, v0 = (np.asarray(p[k]) for k in ("g0", "I0", "V0"))
        if gap.ndim == 2 and g0.ndim == 1:  # per-device parameters against (device, pulse) gaps
            g0, i0, v0 = g0[:, None], i0[:, None], v0[:, None]
        p = {"g0": g0, "I0": i0, "V0": v0}
        shape = np.exp(-gap / p["g0"]) * p["I0"]
        if v == 0.0:
            return shape / p["V0"]
        return shape * np.sinh(v / p["V0"]) / v

    def state_from_conductance(self, g, v_read) -> State:
        p = self.params
        g = np.asarray(g, dtype=float)
        v = float(v_read)
        per_gap = p["I0"] / p["V0"] if v == 0 else p["I0"] * np.sinh(v / p["V0"]) / v
        with np.errstate(divide="ignore", invalid="ignore"):
            gap = -p["g0"] * np.log(g / per_gap)
        if not np.all(np.isfinite(gap)):
            raise ValueError(f"{self.name}: conductance must be positive and finite to infer the gap")
        gap = np.clip(gap, p["g_min"], p["g_max"])
        return {"gap": gap, "peak_temperature": np.full(gap.shape, 300.0)}

    def switching_rate(self, gap, voltage, temperature=300.0) -> np.ndarray:
        """dg/dt (m/s) at a given gap, bias and ambient temperature (for analysis)."""
        rate, _ = self._rate(self.params, np.asarray(gap, float), np.asarray(voltage, float),
                             np.asarray(temperature, float))
        return rate
