r"""Fused whole-train kernel of ``pcm.gst_mushroom`` (:mod:`devicelib.engine`, :class:`~devicelib.engine.KernelSpec`).

The same physics as :class:`~devicelib.physics.pcm.GSTMushroom` (``apply_pulse``, ``relax``, ``conductance``,
``pulse_energy``) and the same order of events as the per-pulse reference path of
:func:`devicelib.simulate.simulate`: pulse (melt-quench or closed-form growth of the plug), cycle-to-cycle
noise on the plug, relaxation over the pulse interval (drift clock and retention growth, the model is
volatile), read. What is done once instead of per pulse or per device:

- each distinct pulse condition's peak temperature, melt verdict, quenched plug, crystallised thickness
  :math:`u(T_{peak}) t_p` and Joule energy, and each distinct relaxation's growth :math:`u(T) \Delta t` and
  drift-clock advance, are computed once (per device when parameters vary between devices, up to
  :data:`TABLE_BYTES`) by the model's own methods, so the plug thickness is bit-identical to the reference
  path (beyond the table limit the kernel computes them per device with :func:`growth_velocity`, equal to
  rounding);
- the Poole-Frenkel read (:math:`R_c I + b u\,\mathrm{asinh}(I/I_0) = V`) is solved for
  :math:`y = \mathrm{asinh}(I/I_0)`, where :math:`F(y) = R_c I_0 \sinh y + b u y - V` is increasing and convex
  with its root in :math:`[0, \min(\mathrm{asinh}(V/R_c I_0), V/b u)]`: Halley steps kept in that bracket
  (:func:`_halley`), started from the device's previous solution moved along the root's slope :math:`dy/du`
  by the change of the plug (:func:`_start`), two passes over a chunk of devices in a loop the compiler
  vectorises (:func:`~devicelib.engine.vexp`; two steps for most devices of a SET staircase, where Newton in
  :math:`I` took 4-6), the few devices left one by one, each device to its own convergence, the root to a few
  ulp (the reference's Newton stops at :math:`|\delta I| \le 10^{-12} |I|`, i.e. at the root too);
  :math:`\sinh y` of the root by a Taylor step from the last iteration's (no further exponential);
- the statistical layer's draws of a programming event (drift exponent, programming error, read-noise
  draw; functions of :math:`G_{phys}` at :math:`V_{stat}` of the freshly programmed plug) are resolved
  lazily, at the next read that needs them (recorded state, drift, noise) or at the end of the train:
  they depend only on that plug and on counter-based normals keyed by the programming pulse, so the result
  is the same as resolving them at the pulse;
- every per-device pass over a chunk (draws, drift, 1/f noise, growth-spread factors) is branch-free with
  the parameters hoisted when shared, so the compiler vectorises it: logarithms and exponentials by
  :func:`~devicelib.engine.vlog` / :func:`~devicelib.engine.vexp`, normals by Box-Muller on counter-based
  hashes (:func:`bm_pair`, a polynomial sine and cosine), the growth-spread gamma factor by a vectorised first
  Marsaglia-Tsang attempt with its squeeze (no logarithm for most devices), the full test and a scalar redraw
  for the few others (:func:`gamma_chunk`); that attempt's second Box-Muller normal, unused by the gamma factor
  and independent of it, is the programming event's read-noise draw (two Box-Muller pairs per SET pulse, not
  three); the 1/f noise amplitude reuses the draws' :math:`\ln(G/G_{max})` and its time factor is one number
  per chunk while no device reads after :math:`t_0`.

Noise: the programming error, drift-exponent spread and 1/f read-noise draws, the gamma factor of
``growth_spread`` (Marsaglia-Tsang) and the variability's cycle-to-cycle and read noise use counter-based
generators keyed by (seed, device, pulse, stream), independent of the thread layout: seeded results equal the
reference path in distribution, not draw for draw. Deterministic cards agree with it to 1e-12.
"""

from __future__ import annotations

import math

import numba
import numpy as np

from .. import engine
from ..engine import CHUNK, normal, record_chunk, twin
from ..units import k_B, q_e

#: kernel order of the parameters (columns of P)
PARAMS = ("R_prog", "R_th", "T_melt", "r_h", "u_max", "T_g", "m_frag", "eta_inf", "E_glass", "lambda_j", "dh_f",
          "R_c", "E_pf", "N_T", "dz", "tau0", "T_read", "E_drift", "g_max_stat", "t0_drift", "t_r", "v_stat",
          "prog_noise", "nu_spread", "read_noise", "growth_spread")
(R_PROG, R_TH, T_MELT, R_H, U_MAX, T_G, M_FRAG, ETA_INF, E_GLASS, LAMBDA_J, DH_F, R_C, E_PF, N_T, DZ, TAU0,
 T_READ, E_DRIFT, G_MAX, T0, T_R, V_STAT, S_P, S_NU, S_Q, S_U) = range(len(PARAMS))
#: kernel order of the state (rows of xs)
STATES = ("amorphous_thickness", "t_prog", "nu", "prog_error", "read_xi", "peak_temperature",
          "ambient_temperature")
#: columns of pre (N, 7): acts, |I|, width, ambient T, interval, index of the pulse condition in C (T_peak,
#: melt, quenched plug, growth step u(T_peak) t_p, Joule energy) and of the relaxation in Rt (growth u(T) dt,
#: drift-clock advance); -1: not tabulated (computed per device)
N_PRE = 7
#: devices below which the serial twin runs (a device-pulse costs 30-130 ns, so from about a thousand devices a
#: train is milliseconds of work per thread: two threads pay off)
SERIAL_BELOW = 768
#: largest size of the per-condition tables when parameters vary between devices
TABLE_BYTES = 256 << 20
_LN10 = math.log(10.0)
_STREAM_GAMMA = 6
#: G/G_max above which nu_mean sits at its floor (with a margin of 1e-4 in nu against rounding)
_G_FLOOR = math.exp((0.0244 - 0.0489) / 0.0155)

# asinh(x) = sum_n (-1)^n (2n)! / (4^n (n!)^2 (2n + 1)) x^(2n+1): Horner in x^2 up to x^21 (|x| < 1/8: below 1e-20)
_AS = tuple((-1) ** k * math.factorial(2 * k) / (4**k * math.factorial(k) ** 2 * (2 * k + 1)) for k in range(11))


@numba.njit(cache=True, inline="always", fastmath={"contract"}, error_model="numpy")
def vasinh(x):  # pragma: no cover - compiled
    """asinh(x) for |x| < 1e150 to a few ulp, branch-free: the series below |x| = 1/8, else
    log(|x| + sqrt(x^2 + 1)) by :func:`~devicelib.engine.vlog` (argument >= 1.13: no cancellation)."""
    a = abs(x)
    big = engine.vlog(a + np.sqrt(a * a + 1.0))
    a2 = a * a
    p = _AS[10]
    p = p * a2 + _AS[9]
    p = p * a2 + _AS[8]
    p = p * a2 + _AS[7]
    p = p * a2 + _AS[6]
    p = p * a2 + _AS[5]
    p = p * a2 + _AS[4]
    p = p * a2 + _AS[3]
    p = p * a2 + _AS[2]
    p = p * a2 + _AS[1]
    p = p * a2 + _AS[0]
    r = a * p if a < 0.125 else big
    return r if x >= 0.0 else -r


# -- scalar physics (GSTMushroom's methods for one device; used when parameters vary between devices) -----------------

@numba.njit(cache=True, inline="always")
def growth_velocity(P, r, t):  # pragma: no cover - compiled
    """GSTMushroom.growth_velocity for row r of P at temperature t (K)."""
    tg = P[r, T_G]
    lg_inf = np.log10(P[r, ETA_INF])
    a = 12.0 - lg_inf
    if t >= tg:
        x = tg / max(t, tg)
        lg = lg_inf + a * x * np.exp((P[r, M_FRAG] / a - 1.0) * (x - 1.0))
    else:
        lg = 12.0 + P[r, E_GLASS] / (k_B * _LN10) * (1.0 / t - 1.0 / tg)
    tm = P[r, T_MELT]
    df = P[r, DH_F] * (tm - t) / tm * 2.0 * t / (tm + t) if t < tm else 0.0
    kt = k_B * t
    wf = -np.expm1(-df / kt)
    if not wf > 0.0:
        return 0.0
    ln_u = np.log(4.0 * kt / (3.0 * np.pi * P[r, LAMBDA_J] ** 2)) - _LN10 * lg + np.log(max(wf, 1e-300))
    return np.exp(ln_u)


@numba.njit(cache=True, inline="always")
def pf_terms(P, r, t):  # pragma: no cover - compiled
    """(I0, b) of the Poole-Frenkel read at temperature t (GSTMushroom._pf)."""
    kt = k_B * t
    area = np.pi * P[r, R_H] ** 2
    i0 = 2.0 * q_e * area * P[r, N_T] * P[r, DZ] / P[r, TAU0] * np.exp(-P[r, E_PF] / kt)
    return i0, 2.0 * kt / (q_e * P[r, DZ])


@numba.njit(cache=True, inline="always")
def _uniform(key, i, k, stream):  # pragma: no cover - compiled
    """Uniform number in (0, 1) for (key, device, pulse, stream) (the engine's splitmix64 hash)."""
    c = (np.uint64(i) * engine._GOLD) ^ (np.uint64(k) * engine._K1) ^ (np.uint64(stream) * engine._K2)
    z = engine._mix(key ^ c ^ engine._K1)
    return (float(z >> engine._S11) + 0.5) * engine._TWO53


# -- branch-free counter-based draws (the loops over a chunk vectorise with them) --------------------------------------

_S12 = np.uint64(12)
_ONE_U = np.uint64(0x3FF0000000000000)
_STREAM_STAT, _STREAM_GV = 3, 1 << 20  # programming draws (nu, P, R); vectorised gamma attempt (scalar: 6, 7, ...)
# sin and cos on |phi| <= pi/4: Taylor coefficients to phi^17 and phi^18 (truncation below 1e-17)
_SN = tuple((-1) ** k / math.factorial(2 * k + 1) for k in range(9))
_CS = tuple((-1) ** k / math.factorial(2 * k) for k in range(10))


@numba.njit(cache=True, inline="always")
def _base(key, i, k, stream):  # pragma: no cover - compiled
    """First 64-bit hash of (key, device i, pulse k, stream); chain further ones with ``_mix(z ^ _GOLD)``."""
    c = (np.uint64(i) * engine._GOLD) ^ (np.uint64(k) * engine._K1) ^ (np.uint64(stream) * engine._K2)
    return engine._mix(key ^ c ^ engine._K2)


@numba.njit(cache=True, inline="always")
def _u01(z):  # pragma: no cover - compiled
    """Uniform number in [0, 1) from the top 52 bits of a hash (exponent bits of 1.0, minus 1: no int-float
    conversion, so the loop vectorises)."""
    return np.int64((z >> _S12) | _ONE_U).view(np.float64) - 1.0


@numba.njit(cache=True, inline="always", fastmath={"contract"}, error_model="numpy")
def bm_pair(z1, z2):  # pragma: no cover - compiled
    """Two independent standard normals from two hashes (Box-Muller), branch-free: r = sqrt(-2 ln u1) with
    :func:`~devicelib.engine.vlog`, (cos, sin) of 2 pi u2 by quadrant reduction and polynomials."""
    u1 = 1.0 - _u01(z1)  # (0, 1]
    r = np.sqrt(-2.0 * engine.vlog(u1))
    w = 4.0 * _u01(z2)  # quarter turns, [0, 4)
    q = np.floor(w + 0.5)
    f = (w - q) * 1.5707963267948966  # |f| <= pi/4
    f2 = f * f
    s = _SN[8]
    s = s * f2 + _SN[7]
    s = s * f2 + _SN[6]
    s = s * f2 + _SN[5]
    s = s * f2 + _SN[4]
    s = s * f2 + _SN[3]
    s = s * f2 + _SN[2]
    s = s * f2 + _SN[1]
    s = s * f2 + _SN[0]
    s = s * f
    c = _CS[9]
    c = c * f2 + _CS[8]
    c = c * f2 + _CS[7]
    c = c * f2 + _CS[6]
    c = c * f2 + _CS[5]
    c = c * f2 + _CS[4]
    c = c * f2 + _CS[3]
    c = c * f2 + _CS[2]
    c = c * f2 + _CS[1]
    c = c * f2 + _CS[0]
    odd = (q == 1.0) | (q == 3.0)
    c0 = s if odd else c
    s0 = c if odd else s
    cs = -c0 if (q == 1.0) | (q == 2.0) else c0
    sn = -s0 if (q == 2.0) | (q == 3.0) else s0
    return r * cs, r * sn


@numba.njit(cache=True, nogil=True, fastmath={"contract"}, error_model="numpy", inline="always")
def _gamma_attempt(key, i, k, c):  # pragma: no cover - compiled
    """Device i's first Marsaglia-Tsang attempt at pulse k: the Box-Muller pair (x, y), v = 1 + c x, v^3 and
    the uniform u, from counter-based draws (the same numbers however often it is asked)."""
    z1 = _base(key, i, k, _STREAM_GV)
    z2 = engine._mix(z1 ^ engine._GOLD)
    z3 = engine._mix(z2 ^ engine._GOLD)
    x, y = bm_pair(z1, z2)
    v = 1.0 + c * x
    return x, y, v, v * v * v, 1.0 - _u01(z3), z3


@numba.njit(cache=True, nogil=True, fastmath={"contract"}, error_model="numpy")
def gamma_chunk(key, c0, c1, k, cv, out, bad, spare):  # pragma: no cover - compiled
    """Gamma factors of mean 1 and CV ``cv`` for devices c0..c1-1 at pulse k into ``out`` (Marsaglia-Tsang as
    :func:`gamma_unit`): the first attempt for the whole chunk in a branch-free loop with Marsaglia-Tsang's squeeze
    (accept if u < 1 - 0.0331 x^4, no logarithm: it implies the full test), the few devices the squeeze leaves then
    the full test ln u < x^2/2 + d - d v^3 + d ln v^3 on the same (x, u), and a device rejected by it draws a fresh
    :func:`gamma_unit` (independent streams), so each factor is an exact gamma variable (the same one as without
    the squeeze). ``spare``: the second normal of the attempt's Box-Muller pair, unused by the gamma factor and
    independent of it (acceptance depends on x and u only), a free standard normal of (device, pulse)."""
    shape = 1.0 / (cv * cv)
    s = shape if shape >= 1.0 else shape + 1.0
    d = s - 1.0 / 3.0
    c = 1.0 / np.sqrt(9.0 * d)
    inv = 1.0 / shape
    boost = shape < 1.0
    m = c1 - c0
    nbad = 0
    for j in range(m):
        x, y, v, v3, u, z3 = _gamma_attempt(key, c0 + j, k, c)
        x2 = x * x
        ok = (v > 0.0) & (u < 1.0 - 0.0331 * (x2 * x2))
        g = d * v3
        if boost:  # Gamma(s) = Gamma(s + 1) U^(1/s)
            ub = 1.0 - _u01(engine._mix(z3 ^ engine._GOLD))
            g = g * engine.vexp(engine.vlog(ub) * inv)
        out[j] = g * inv
        spare[j] = y
        bad[j] = not ok
        nbad += not ok
    if nbad:
        for j in range(m):
            if bad[j]:
                x, _y, v, v3, u, _z3 = _gamma_attempt(key, c0 + j, k, c)
                if not (v > 0.0 and np.log(u) < 0.5 * x * x + d - d * v3 + d * np.log(v3)):
                    out[j] = gamma_unit(key, c0 + j, k, shape)


@numba.njit(cache=True)
def gamma_unit(key, i, k, shape):  # pragma: no cover - compiled
    """Gamma variable of mean 1 and shape ``shape`` (CV 1/sqrt(shape)): Marsaglia-Tsang, counter-based draws
    (attempt a uses streams 6 + 2a, 7 + 2a); shape < 1 by the boost Gamma(s) = Gamma(s + 1) U^(1/s)."""
    s = shape if shape >= 1.0 else shape + 1.0
    d = s - 1.0 / 3.0
    c = 1.0 / np.sqrt(9.0 * d)
    att = 0
    while True:
        x = normal(key, i, k, _STREAM_GAMMA + 2 * att)
        v = 1.0 + c * x
        if v > 0.0:
            v = v * v * v
            u = _uniform(key, i, k, _STREAM_GAMMA + 2 * att + 1)
            if np.log(u) < 0.5 * x * x + d - d * v + d * np.log(v):
                break
        att += 1
    g = d * v
    if shape < 1.0:
        g = g * _uniform(key, i, k, 1) ** (1.0 / shape)
    return g / shape


# -- the Poole-Frenkel read over a chunk, vectorised ------------------------------------------------------------------

#: Taylor coefficients of sinh, 1/(2n+1)!
_SH = tuple(1.0 / math.factorial(2 * k + 1) for k in range(7))


@numba.njit(cache=True, inline="always", fastmath={"contract"}, error_model="numpy")
def _sinh_cosh(y):  # pragma: no cover - compiled
    """(sinh y, cosh y) for 0 <= y <= 708, branch-free: e = exp(y) by :func:`~devicelib.engine.vexp`, the series to
    y^13 below y = 0.5 (no cancellation), else (e - 1/e)/2."""
    e = engine.vexp(y)
    ei = 1.0 / e
    y2 = y * y
    # Horner in y^2 with the coefficients 1/(2n+1)! as constants (a division by a constant stays a division)
    small = y * (1.0 + y2 * (_SH[1] + y2 * (_SH[2] + y2 * (_SH[3] + y2 * (_SH[4] + y2 * (_SH[5] + y2 * _SH[6]))))))
    return small if y < 0.5 else 0.5 * (e - ei), 0.5 * (e + ei)


@numba.njit(cache=True, inline="always", fastmath={"contract"}, error_model="numpy")
def _halley_step(y, a, bu, v):  # pragma: no cover - compiled
    """One Halley step on F(y) = a sinh y + bu y - v from y (a Newton step where Halley's denominator is small):
    (step s, sinh y, cosh y)."""
    sh, ch = _sinh_cosh(y)
    f = a * sh + bu * y - v
    d1 = a * ch + bu
    den = d1 * d1 - 0.5 * f * (a * sh)
    hal = den > 0.5 * d1 * d1
    return f * (d1 if hal else 1.0) / (den if hal else d1), sh, ch


@numba.njit(cache=True, nogil=True, fastmath={"contract"}, error_model="numpy")
def _halley(m, U, I0, B, RC, V, UB, cur, done, SH):  # pragma: no cover - compiled
    r"""Solve the Poole-Frenkel read R_c I + b u asinh(I/I0) = V for y = asinh(I/I0) of devices 0..m-1 of the chunk
    buffers, from the start ``cur`` (updated in place), and sinh y into ``SH``: :math:`F(y) = R_c I_0 \sinh y + b u y -
    V` is increasing and convex, its root lies in [0, ``UB``] (UB = min(asinh(V/(R_c I0)), V/(b u))); Halley steps
    (F'' = R_c I0 sinh y comes free; a Newton step where Halley's denominator is small), kept inside [0, UB], until
    the step is within 1e-7 of y: convergence is cubic, so the error left is below 1e-20 of y, far inside the
    reference's Newton test (|dI| <= 1e-12 |I|, GSTMushroom._slab_conductance). Each device stops at its own
    convergence (``done``), so its result does not depend on its chunk. From a predicted start (:func:`_phys`) most
    devices converge in two steps: two branch-free passes over the chunk (vectorised), then the few devices left
    one by one. sinh of the last step's end y + d comes from the step's sinh and cosh at y by Taylor to d^2
    (|d| <= 1e-7 y: the remainder d^3 cosh/6 is below 1e-20 relative for y < 20), which saves an exponential."""
    for p in range(2):
        for j in range(m):
            y = cur[j]
            s, sh, ch = _halley_step(y, RC[j] * I0[j], B[j] * U[j], V[j])
            yn = min(max(y - s, 0.0), UB[j])
            d = yn - y
            fin = p == 0 or not done[j]
            cur[j] = yn if fin else y
            SH[j] = sh + d * (ch + 0.5 * d * sh) if fin else SH[j]
            done[j] = (abs(s) <= 1e-7 * yn) if p == 0 else (done[j] or abs(s) <= 1e-7 * yn)
    for j in range(m):
        if done[j]:
            continue
        y = cur[j]
        a, bu = RC[j] * I0[j], B[j] * U[j]
        for _ in range(98):
            s, sh, ch = _halley_step(y, a, bu, V[j])
            yn = min(max(y - s, 0.0), UB[j])
            d = yn - y
            y = yn
            SH[j] = sh + d * (ch + 0.5 * d * sh)
            if abs(s) <= 1e-7 * yn:
                break
        cur[j] = y


@numba.njit(cache=True, inline="always")
def _fill_pf(P, sp, c0, c1, temps, I0, B, RC, cache):  # pragma: no cover - compiled
    """I0, b and R_c of devices c0..c1-1 at their temperatures ``temps[j]`` (one exp per new temperature
    when parameters are shared: ``cache`` = [T, I0, b])."""
    for i in range(c0, c1):
        j = i - c0
        t = temps[j]
        if sp:
            i0, b = pf_terms(P, i, t)
            RC[j] = P[i, R_C]
        else:
            if t != cache[0]:
                cache[1], cache[2] = pf_terms(P, 0, t)
                cache[0] = t
            i0, b = cache[1], cache[2]
            RC[j] = P[0, R_C]
        I0[j], B[j] = i0, b


@numba.njit(cache=True, inline="always", fastmath={"contract"}, error_model="numpy")
def _start(W, j, u, ub):  # pragma: no cover - compiled
    """Start of :func:`_halley` for device j of the chunk: its last solution y at this voltage (``W[0]``, -1: none)
    moved along the root's slope dy/du (``W[2]``) by the change of the plug since then (``W[1]``: the plug then),
    clipped to the bracket [0, ub]; with none, the upper end."""
    y0 = W[0, j]
    yp = y0 + W[2, j] * (u - W[1, j])
    return min(max(yp, 0.0), ub) if y0 >= 0.0 else ub


@numba.njit(cache=True, inline="always", fastmath={"contract"}, error_model="numpy")
def _slope(W, j, u, a, bu, b, sh):  # pragma: no cover - compiled
    """Keep the plug u of the solution y = W[0, j] and the root's slope dy/du = -b y/(a cosh y + b u) (implicit
    derivative of F(y, u) = 0; cosh y = sqrt(1 + sinh^2 y)) for the next start."""
    W[1, j] = u
    W[2, j] = -b * W[0, j] / (a * np.sqrt(1.0 + sh * sh) + bu)


@numba.njit(cache=True, nogil=True, fastmath={"contract"}, error_model="numpy")
def _phys(P, sp, c0, c1, U, temps, V, W, I0, B, RC, out, cache, done, UB, SH):  # pragma: no cover - compiled
    """G_phys (GSTMushroom.physical_conductance) of plugs U[j] at temperatures temps[j] and read voltages V[j],
    devices c0..c1-1, into ``out``. ``W`` (3, CHUNK): the device's last solution y = asinh(I/I0) at this voltage (-1:
    none), its plug and dy/du, for the start of :func:`_halley` (:func:`_start`)."""
    m = c1 - c0
    if not sp:  # shared parameters: one temperature and voltage for the chunk (the common case)?
        t0, v0 = temps[0], V[0]
        uni = True
        for j in range(m):
            uni = uni and temps[j] == t0 and V[j] == v0
        if uni:
            _phys_shared(P, m, U, t0, V, W, I0, B, RC, out, cache, done, UB, SH)
            return
    _fill_pf(P, sp, c0, c1, temps, I0, B, RC, cache)
    for j in range(m):
        v = abs(V[j])
        V[j] = v
        bu = B[j] * U[j]
        ub = min(vasinh(v / (RC[j] * I0[j])), v / bu if bu > 0.0 else np.inf)
        UB[j] = ub
        W[0, j] = _start(W, j, U[j], ub)
    _halley(m, U, I0, B, RC, V, UB, W[0], done, SH)  # V = 0: y = 0
    for j in range(m):
        r = c0 + j if sp else 0
        f = min(1.0, (U[j] / P[r, R_H]) ** 2)
        slab = I0[j] * SH[j] / V[j] if V[j] > 0.0 else 1.0 / (RC[j] + B[j] * U[j] / I0[j])
        out[j] = f * slab + (1.0 - f) / RC[j]
        _slope(W, j, U[j], RC[j] * I0[j], B[j] * U[j], B[j], SH[j])


@numba.njit(cache=True, nogil=True, fastmath={"contract"}, error_model="numpy")
def _phys_shared(P, m, U, t, V, W, I0, B, RC, out, cache, done, UB, SH):  # pragma: no cover - compiled
    """:func:`_phys` for shared parameters, one temperature ``t`` and one voltage ``V[0]`` for the chunk (the
    Poole-Frenkel terms and asinh(V/(R_c I0)) once, the per-device loops vectorised)."""
    v = abs(V[0])
    if t != cache[0]:
        cache[1], cache[2] = pf_terms(P, 0, t)
        cache[0] = t
    i0, b, rc = cache[1], cache[2], P[0, R_C]
    inv_rh = 1.0 / P[0, R_H]
    if v == 0.0:  # the low-field limit
        for j in range(m):
            f = min(1.0, (U[j] * inv_rh) ** 2)
            out[j] = f / (rc + b * U[j] / i0) + (1.0 - f) / rc
            W[0, j] = 0.0
            W[2, j] = 0.0
        return
    uba = vasinh(v / (rc * i0))
    for j in range(m):
        I0[j], B[j], RC[j], V[j] = i0, b, rc, v
        bu = b * U[j]
        ub = min(uba, v / bu if bu > 0.0 else np.inf)
        UB[j] = ub
        W[0, j] = _start(W, j, U[j], ub)
    _halley(m, U, I0, B, RC, V, UB, W[0], done, SH)
    iv, g_c, a = i0 / v, 1.0 / rc, rc * i0
    for j in range(m):
        f = min(1.0, (U[j] * inv_rh) ** 2)
        out[j] = f * (iv * SH[j]) + (1.0 - f) * g_c
        _slope(W, j, U[j], a, b * U[j], b, SH[j])


@numba.njit(cache=True, inline="always", fastmath={"contract"}, error_model="numpy")
def _lng(g, gm):  # pragma: no cover - compiled
    """ln of the normalised conductance |G|/G_max clipped at 1e-7 (branch-free log)."""
    return engine.vlog(max(abs(g) / gm, 1e-7))


@numba.njit(cache=True, inline="always", fastmath={"contract"}, error_model="numpy")
def _draws(key, i, k, g, gm, s_p, s_nu, xr, own):  # pragma: no cover - compiled
    """(nu, programming error, read-noise draw, ln g/G_max) of device i programmed at pulse k to G_phys(v_stat) = g
    (:meth:`GSTMushroom._stat_draws`), from Box-Muller pairs of its counter-based hashes: (nu, error) from one pair,
    the read-noise draw from a second pair when ``own``, else ``xr`` (the spare normal of the pulse's gamma factor,
    :func:`gamma_chunk`)."""
    z1 = _base(key, i, k, _STREAM_STAT)
    z2 = engine._mix(z1 ^ engine._GOLD)
    xnu, xp = bm_pair(z1, z2)
    if own:
        z3 = engine._mix(z2 ^ engine._GOLD)
        xr, _x = bm_pair(z3, engine._mix(z3 ^ engine._GOLD))
    lg = _lng(g, gm)
    mu = min(max(-0.0155 * lg + 0.0244, 0.049), 0.1)
    sg = min(max(-0.0125 * lg - 0.0059, 0.008), 0.045)
    x = abs(g) / gm
    sig = (0.26348 + 1.9650 * x - 1.1731 * x * x) * 1e-6 * (gm / 25e-6)
    return abs(mu + s_nu * sg * xnu), max(s_p * sig / g * xp, -1.0), xr, lg


@numba.njit(cache=True, nogil=True, fastmath={"contract"}, error_model="numpy")
def _resolve(P, sp, c0, c1, xs, kp, gs, solved, stoch, key, b1, b2, b3, lgq, spare, has_spare):
    # pragma: no cover - compiled
    """The statistical draws of the pending programming events (``kp[j] >= 0``) of devices c0..c1-1 from
    G_phys(v_stat, T_read) of their plug in ``gs`` (:meth:`GSTMushroom._stat_draws`): drift exponent, programming
    error and read-noise draw, computed for the chunk in branch-free loops into the buffers b1..b3 (which the
    compiler vectorises), then copied to the pending devices; ``solved`` False: nu_mean at its floor. The read-noise
    draws are the gamma factors' spare normals when the pending event drew them (``has_spare``); ``lgq`` gets
    ln(G/G_max) of each plug (the 1/f noise amplitude of a read of this plug)."""
    m = c1 - c0
    if not solved:
        for j in range(m):
            b1[j], b2[j], b3[j] = 0.049, 0.0, 0.0  # nu_mean at its floor (see the caller)
    elif stoch and sp:
        for j in range(m):
            r = c0 + j
            b1[j], b2[j], b3[j], lgq[j] = _draws(key, r, kp[j], gs[j], P[r, G_MAX], P[r, S_P], P[r, S_NU],
                                                 spare[j], not has_spare)
    elif stoch and has_spare:
        gm, s_p, s_nu = P[0, G_MAX], P[0, S_P], P[0, S_NU]
        for j in range(m):
            b1[j], b2[j], b3[j], lgq[j] = _draws(key, c0 + j, kp[j], gs[j], gm, s_p, s_nu, spare[j], False)
    elif stoch:
        gm, s_p, s_nu = P[0, G_MAX], P[0, S_P], P[0, S_NU]
        for j in range(m):
            b1[j], b2[j], b3[j], lgq[j] = _draws(key, c0 + j, kp[j], gs[j], gm, s_p, s_nu, 0.0, True)
    else:
        for j in range(m):
            b1[j] = min(max(-0.0155 * _lng(gs[j], P[c0 + j if sp else 0, G_MAX]) + 0.0244, 0.049), 0.1)
            b2[j] = b3[j] = 0.0
    for j in range(m):
        if kp[j] >= 0:
            xs[2, c0 + j] = b1[j]
            xs[3, c0 + j] = b2[j]
            xs[4, c0 + j] = b3[j]
        kp[j] = -1


@numba.njit(cache=True, inline="always", fastmath={"contract"}, error_model="numpy")
def _drift(g, theta, nu, t_amb, t0, t_read):  # pragma: no cover - compiled
    """G (theta/t0)^(-nu T_read/T) for theta > t0, else G (exactly: log 1 = 0)."""
    return g * engine.vexp(-(nu * t_read / t_amb) * engine.vlog(max(theta, t0) / t0))


@numba.njit(cache=True, inline="always", fastmath={"contract"}, error_model="numpy")
def _one_over_f(g, lg, el, xi, s_q):  # pragma: no cover - compiled
    """G (1 + s_Q Q(G_ref) sqrt(ln((t + t_r)/(2 t_r))) xi), clipped at 0 (GSTMushroom.conductance), from
    lg = ln(G_ref/G_max) and el = sqrt(ln((t + t_r)/(2 t_r)))."""
    q = min(0.0088 * engine.vexp(-0.65 * lg), 0.2)
    return max(g * (1.0 + s_q * q * el * xi), 0.0)


@numba.njit(cache=True, inline="always", fastmath={"contract"}, error_model="numpy")
def _el(theta, t0, t_r):  # pragma: no cover - compiled
    """sqrt(ln((t + t_r)/(2 t_r))) at t = max(theta, t0) (the 1/f noise accumulated since t_r)."""
    return np.sqrt(engine.vlog((max(theta, t0) + t_r) / (2.0 * t_r)))


@numba.njit(cache=True, nogil=True, fastmath={"contract"}, error_model="numpy")
def _read_chunk(P, sp, c0, c1, xs, gr, gq, lgq, qfresh, qneed, rnoise, key, k):  # pragma: no cover - compiled
    """GSTMushroom.conductance of devices c0..c1-1 from G_phys at the read (``gr``, replaced by the read) and at
    (v_stat, T_read) (``gq``, only when ``qneed``; ``qfresh``: ``lgq`` already holds ln(gq/G_max) from
    :func:`_resolve`): programming error, drift (only when some device of the chunk reads after t0), 1/f read noise
    (its time factor once for the chunk while no device reads after t0) and the white read noise (variability),
    each a branch-free pass (parameters hoisted when shared, so the compiler vectorises it)."""
    m = c1 - c0
    for j in range(m):
        gr[j] = max(gr[j] * (1.0 + xs[3, c0 + j]), 0.0)
    drift = False
    for j in range(m):
        drift = drift or xs[1, c0 + j] > P[c0 + j if sp else 0, T0]
    if drift and sp:
        for j in range(m):
            i = c0 + j
            gr[j] = _drift(gr[j], xs[1, i], xs[2, i], xs[6, i], P[i, T0], P[i, T_READ])
    elif drift:
        t0, t_read = P[0, T0], P[0, T_READ]
        for j in range(m):
            i = c0 + j
            gr[j] = _drift(gr[j], xs[1, i], xs[2, i], xs[6, i], t0, t_read)
    if qneed and sp:
        for j in range(m):
            i = c0 + j
            lg = lgq[j] if qfresh else _lng(gq[j], P[i, G_MAX])
            gr[j] = _one_over_f(gr[j], lg, _el(xs[1, i], P[i, T0], P[i, T_R]), xs[4, i], P[i, S_Q])
    elif qneed:
        t0, gm, s_q, t_r = P[0, T0], P[0, G_MAX], P[0, S_Q], P[0, T_R]
        if not qfresh:
            for j in range(m):
                lgq[j] = _lng(gq[j], gm)
        if drift:  # (some device reads after t0)
            for j in range(m):
                i = c0 + j
                gr[j] = _one_over_f(gr[j], lgq[j], _el(xs[1, i], t0, t_r), xs[4, i], s_q)
        else:
            el = np.sqrt(np.log((t0 + t_r) / (2.0 * t_r)))
            for j in range(m):
                gr[j] = _one_over_f(gr[j], lgq[j], el, xs[4, c0 + j], s_q)
    if rnoise != 0.0:  # Variability(read=...): G (1 + r xi)
        for j in range(m):
            z1 = _base(key, c0 + j, k, 2)
            xr, _x = bm_pair(z1, engine._mix(z1 ^ engine._GOLD))
            gr[j] = gr[j] * (1.0 + rnoise * xr)


# -- the whole-train driver -------------------------------------------------------------------------------------------

def _pcm_drive(P, pre, C, Rt, v_read, stoch, spread, xs, k0, k1, slot, G, E, X, flags, noise, key, stats,
               nblocks):  # pragma: no cover - compiled
    """Pulses k0..k1-1 of a train on every device, the state ``xs`` (7, n) (:data:`STATES`) updated in place;
    recording, noise and statistics as :func:`devicelib.engine._drive_py`. ``stoch``: the statistical
    layer draws (any noise scale nonzero); ``spread``: gamma factor on the growth step."""
    n = xs.shape[1]
    sp = P.shape[0] > 1
    tp = C.shape[2] > 1 or Rt.shape[2] > 1  # tables per device
    rec_g, rec_e, rec_x, do_stats = flags[0], flags[1], flags[2], flags[3]
    c2c, c2c_abs, rnoise = noise[0], noise[1], noise[2]
    perturb = c2c != 0.0 or c2c_abs != 0.0
    qneed = False  # some device's 1/f read noise is on: Q at G_phys(v_stat, T_read) for every read
    for r in range(P.shape[0]):
        qneed = qneed or P[r, S_Q] != 0.0
    per = (n + nblocks - 1) // nblocks
    for b in numba.prange(nblocks):
        a0 = b * per
        a1 = min(n, a0 + per)
        # chunk buffers: energy, pending programming pulse and its plug, Newton warm starts (read at v_read,
        # statistics at v_stat), read scratch
        be, kp, us = np.empty(CHUNK), np.empty(CHUNK, dtype=np.int64), np.empty(CHUNK)
        cr, cs, cq = np.empty((3, CHUNK)), np.empty((3, CHUNK)), np.empty((3, CHUNK))
        VV, dn, UB, SH = np.empty(CHUNK), np.empty(CHUNK, dtype=np.bool_), np.empty(CHUNK), np.empty(CHUNK)
        U, T, I0, B, RC = np.empty(CHUNK), np.empty(CHUNK), np.empty(CHUNK), np.empty(CHUNK), np.empty(CHUNK)
        gr, gs, gq = np.empty(CHUNK), np.empty(CHUNK), np.empty(CHUNK)
        gf, gbad, xsp, lgq = np.empty(CHUNK), np.empty(CHUNK, dtype=np.bool_), np.empty(CHUNK), np.empty(CHUNK)
        d1, d2, d3 = np.empty(CHUNK), np.empty(CHUNK), np.empty(CHUNK)
        cache = np.full(3, np.nan)
        for c0 in range(a0, a1, CHUNK):
            c1 = min(a1, c0 + CHUNK)
            kp[:] = -1
            has_sp = False  # xsp holds spare normals of the pending programming pulse (gamma_chunk)
            cr[0, :] = -1.0
            cs[0, :] = -1.0
            cq[0, :] = -1.0
            for k in range(k0, k1):
                sl = slot[k]
                on = pre[k, 0] != 0.0
                dt = pre[k, 4]
                if not on and sl < 0 and dt <= 0.0 and k != k1 - 1:
                    continue
                amp, w, ta = pre[k, 1], pre[k, 2], pre[k, 3]
                ci, ri = int(pre[k, 5]), int(pre[k, 6])
                quick = on and ci >= 0 and not tp and not perturb  # (tables shared, so parameters too)
                if quick:  # tabulated shared pulse, no noise on the plug: one branch-free loop (vectorised)
                    tpk, umelt, step, en = C[ci, 0, 0], C[ci, 2, 0], C[ci, 3, 0], C[ci, 4, 0]
                    melt = C[ci, 1, 0] != 0.0
                    grow = spread and not melt and P[0, S_U] > 0.0
                    has_sp = grow
                    if grow:  # growth spread: the chunk's gamma factors on the step
                        gamma_chunk(key, c0, c1, k, P[0, S_U], gf, gbad, xsp)
                    else:
                        gf[:] = 1.0
                    for i in range(c0, c1):
                        j = i - c0
                        un = umelt if melt else max(xs[0, i] - step * gf[j], 0.0)
                        us[j] = un
                        kp[j] = k
                        be[j] = en
                        xs[0, i] = un
                        xs[1, i] = 0.0
                        xs[5, i] = tpk
                        xs[6, i] = ta
                if on and not quick:
                    has_sp = False
                for i in range(c0, c1):
                    if quick and dt <= 0.0:
                        break
                    j = i - c0
                    r = i if sp else 0
                    rt = i if tp else 0
                    if not quick:
                        be[j] = 0.0
                    if on and not quick:
                        u = xs[0, i]
                        if ci >= 0:
                            tpk, melt, umelt, step = C[ci, 0, rt], C[ci, 1, rt] != 0.0, C[ci, 2, rt], C[ci, 3, rt]
                            be[j] = C[ci, 4, rt]
                        else:
                            tpk = ta + P[r, R_TH] * P[r, R_PROG] * amp * amp
                            melt = tpk >= P[r, T_MELT]
                            umelt = min(P[r, R_H] * (tpk - ta) / (P[r, T_MELT] - ta), P[r, U_MAX])
                            step = growth_velocity(P, r, 300.0 if melt else tpk) * w
                            be[j] = amp * amp * P[r, R_PROG] * w
                        if melt:
                            un = umelt
                        else:
                            if spread and P[r, S_U] > 0.0:
                                cv = P[r, S_U]
                                step = step * gamma_unit(key, i, k, 1.0 / (cv * cv))
                            un = max(u - step, 0.0)
                        us[j] = un  # the plug the statistical draws see (before the c2c noise)
                        kp[j] = k
                        if perturb:  # DeviceModel.perturb_step on the plug, clipped to [0, u_max]
                            upp = u + (un - u) * (1.0 + c2c * normal(key, i, k, 0))
                            if c2c_abs != 0.0:
                                upp = upp + c2c_abs * normal(key, i, k, 1)
                            un = min(max(upp, 0.0), P[r, U_MAX])
                        xs[0, i] = un
                        xs[1, i] = 0.0
                        xs[5, i] = tpk
                        xs[6, i] = ta
                    if dt > 0.0:  # GSTMushroom.relax over the interval
                        if ri >= 0:
                            xs[1, i] = xs[1, i] + Rt[ri, 1, rt]
                            xs[0, i] = max(xs[0, i] - Rt[ri, 0, rt], 0.0)
                        else:
                            xs[1, i] = xs[1, i] + dt * np.exp(P[r, E_DRIFT] / k_B * (1.0 / P[r, T_READ] - 1.0 / ta))
                            xs[0, i] = max(xs[0, i] - growth_velocity(P, r, ta) * dt, 0.0)
                        xs[6, i] = ta
                # the statistical draws of pending programming events, where a read or the end needs them
                need = False
                if k == k1 - 1 or (sl >= 0 and (stoch or rec_x or do_stats)):
                    for j in range(c1 - c0):
                        need = need or kp[j] >= 0
                elif sl >= 0:  # a read after t0 drifts with nu
                    for i in range(c0, c1):
                        need = need or (kp[i - c0] >= 0 and xs[1, i] > P[i if sp else 0, T0])
                solved = False  # gs holds G_phys(v_stat, T_read) of the pending plugs us
                if need:
                    for i in range(c0, c1):
                        T[i - c0] = P[i if sp else 0, T_READ]
                        VV[i - c0] = P[i if sp else 0, V_STAT]
                    # deterministic cells: no solve where the clip of nu_mean decides (G above the value at
                    # which it reaches its floor 0.049, known from the lower bound of G_phys: the low-field
                    # slab, G_slab grows with V; a margin of 1e-4 in nu against rounding)
                    solved = stoch
                    if not stoch:
                        _fill_pf(P, sp, c0, c1, T, I0, B, RC, cache)
                        for i in range(c0, c1):  # nu_mean < 0.0489 <=> G > G_max exp((0.0244 - 0.0489)/0.0155)
                            j = i - c0
                            r = i if sp else 0
                            f = min(1.0, (us[j] / P[r, R_H]) ** 2)
                            glow = f / (RC[j] + B[j] * us[j] / I0[j]) + (1.0 - f) / RC[j]
                            solved = solved or (kp[j] >= 0 and not glow > P[r, G_MAX] * _G_FLOOR)
                    if solved:
                        _phys(P, sp, c0, c1, us, T, VV, cs, I0, B, RC, gs, cache, dn, UB, SH)
                    _resolve(P, sp, c0, c1, xs, kp, gs, solved, stoch, key, d1, d2, d3, lgq, xsp, has_sp)
                if sl < 0:
                    continue
                # the read (GSTMushroom.conductance) at each device's ambient temperature
                same = solved and not sp and abs(v_read) == abs(P[0, V_STAT])
                for i in range(c0, c1):
                    U[i - c0] = xs[0, i]
                    T[i - c0] = xs[6, i]
                    VV[i - c0] = v_read
                    same = same and U[i - c0] == us[i - c0] and T[i - c0] == P[0, T_READ]
                if same:  # the read is the solve just done for the statistical draws (V_read = V_stat, T_read)
                    for j in range(c1 - c0):
                        gr[j] = gs[j]
                else:
                    _phys(P, sp, c0, c1, U, T, VV, cr, I0, B, RC, gr, cache, dn, UB, SH)
                fresh = False
                if qneed:  # Q at G_phys(v_stat, T_read) of the present plug
                    fresh = solved  # the statistics solve of this pulse is that of the present plug
                    for i in range(c0, c1):
                        fresh = fresh and xs[0, i] == us[i - c0]
                    if fresh:
                        for j in range(c1 - c0):
                            gq[j] = gs[j]
                    else:
                        for i in range(c0, c1):
                            T[i - c0] = P[i if sp else 0, T_READ]
                            VV[i - c0] = P[i if sp else 0, V_STAT]
                        _phys(P, sp, c0, c1, U, T, VV, cq, I0, B, RC, gq, cache, dn, UB, SH)
                _read_chunk(P, sp, c0, c1, xs, gr, gq, lgq, fresh and stoch, qneed, rnoise, key, k)
                # the recording step every kernel shares (read noise already applied by _read_chunk, with its
                # own vectorised draws, so none here)
                record_chunk(gr, be, xs, c0, c1, a0, b, sl, k, G, E, X, stats, 0.0, key, rec_g, rec_e, rec_x,
                             do_stats)
    return True


kernels = twin(_pcm_drive, "_pcm_drive_serial")
