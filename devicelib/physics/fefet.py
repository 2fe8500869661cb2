r"""Ferroelectric FET (HfZrO2 gate stack): polarisation switching drives the threshold voltage.

Three models share one gate stack and one read (:class:`_FeFETBase`):

``fefet.multidomain``
    stochastic multi-domain nucleation-limited switching with accumulation
    (Deng et al., VLSI 2020);
``fefet.nls``
    its deterministic closed form: nucleation-limited switching with a
    Lorentzian distribution of log switching times (Tagantsev 2002; Jo 2007);
``fefet.preisach``
    quasi-static Preisach hysteresis with minor loops and a self-consistent
    ferroelectric / interlayer gate stack (Ni et al., VLSI 2018).

Gate stack and read (all models)
--------------------------------
Ferroelectric layer (thickness :math:`t_{FE}`, permittivity
:math:`\varepsilon_{FE}`) on an interlayer (:math:`t_{IL}`,
:math:`\varepsilon_{IL}`); per area :math:`C_{FE} = \varepsilon_0\varepsilon_{FE}/t_{FE}`,
:math:`C_{IL} = \varepsilon_0\varepsilon_{IL}/t_{IL}`. A polarisation change
:math:`\Delta P` acts as a sheet charge at the channel and shifts the threshold by

.. math::  \Delta V_T = -\Delta P_{ret}\, t_{FE} / (\varepsilon_0 \varepsilon_{FE}).

In the domain models the retained polarisation is depolarisation-limited,
:math:`P_{ret} = P \min(1, \varepsilon_0\varepsilon_{FE} E_c / P_r)`: a frozen
charge larger than :math:`\varepsilon_0\varepsilon_{FE}E_c` would put more than
the coercive field across the ferroelectric at threshold and back-switch it, so
the window saturates at the Miller-McWhorter value
:math:`MW = 2 E_c t_{FE}` (Miller & McWhorter, J. Appl. Phys. 72, 5999
(1992), doi:10.1063/1.351910). In the Preisach model this limit is not imposed:
the threshold is found by following the hysteresis branch to the stack charge
:math:`Q = P + C_{FE} V_{FE} = 0`, and the window ~ :math:`2 E_c t_{FE}` emerges.

Read (gate at :math:`V_{GR}`, small drain bias) with one expression covering the
subthreshold exponential and the linear region (EKV-style interpolation):

.. math::  G = G_{off} + \beta_{ch}\, n v_t \ln\!\left(1 + e^{(V_{GR}-V_T)/(n v_t)}\right),
           \qquad v_t = kT/q,\ T = 300\,K,

i.e. :math:`G \approx \beta_{ch} n v_t e^{(V_{GR}-V_T)/(n v_t)}` below threshold and
:math:`\beta_{ch}(V_{GR}-V_T)` above (:math:`\beta_{ch} = \mu C_{ox} W/L`).

Energy per pulse: the source charges the linear gate stack (series
:math:`C_g = C_{FE}C_{IL}/(C_{FE}+C_{IL})`) and discharges it at the falling edge,
:math:`\int V I\,dt = A C_g V^2`, plus the hysteresis loss of the switched
polarisation :math:`A E_c t_{FE} |\Delta P|` (= :math:`2 P_r A V_c` for a full
reversal). ``observe`` returns the polarisation (C/m^2) and the threshold voltage (V).

References
----------
- M. Jerry et al., "Ferroelectric FET analog synapse
  for acceleration of deep neural network training", IEDM 2017, doi:10.1109/IEDM.2017.8268338.
- S. Deng et al., "A comprehensive model for ferroelectric FET capturing the key behaviors:
  scalability, variation, stochasticity, and accumulation", VLSI 2020,
  doi:10.1109/VLSITechnology18217.2020.9265014.
- A. K. Tagantsev, I. Stolichnov, N. Setter, J. S. Cross, M. Tsukada, PRB 66, 214109 (2002),
  doi:10.1103/PhysRevB.66.214109.
- J. Y. Jo et al., PRL 99, 267602 (2007), doi:10.1103/PhysRevLett.99.267602.
- K. Ni, M. Jerry, J. A. Smith, S. Datta, "A circuit compatible accurate compact model for
  ferroelectric-FETs", VLSI 2018, doi:10.1109/VLSIT.2018.8510622.
- S. L. Miller, P. J. McWhorter, J. Appl. Phys. 72, 5999 (1992), doi:10.1063/1.351910.
"""

from __future__ import annotations

import math

import numba
import numpy as np

from ..core import DeviceModel, Observable, Parameter, State, StateVariable
from ..core import per_device as _bc
from ..units import eps0, k_B, q_e

NM = 1e-9
VT_READ = k_B * 300.0 / q_e  # thermal voltage of the read (V)

_STACK = (
    Parameter("Pr", "C/m**2", 0.25, (0.01, 1.0), "P_r", "remanent (saturation) polarisation of the HZO layer"),
    Parameter("Ec", "V/m", 1.0e8, (1e7, 1e9), "E_c", "coercive field"),
    Parameter("t_FE", "m", 8 * NM, (1 * NM, 100 * NM), "t_FE", "ferroelectric thickness", fixed=True),
    Parameter("eps_FE", "", 28.0, (5.0, 100.0), "eps_FE", "background relative permittivity of the ferroelectric",
              fixed=True),
    Parameter("t_IL", "m", 1 * NM, (0.1 * NM, 10 * NM), "t_IL", "interlayer (SiO2) thickness", fixed=True),
    Parameter("eps_IL", "", 3.9, (1.0, 30.0), "eps_IL", "interlayer relative permittivity", fixed=True),
    Parameter("V_T0", "V", 0.5, (-3.0, 3.0), "V_T0", "threshold voltage with an unpolarised ferroelectric (P = 0)"),
    Parameter("V_GR", "V", 0.5, (-5.0, 5.0), "V_GR", "gate voltage during the read"),
    Parameter("beta_ch", "A/V**2", 1e-4, (1e-9, 1e-1), "beta_ch", "channel transconductance factor mu C_ox W/L",
              log=True),
    Parameter("n_ss", "", 1.5, (1.0, 5.0), "n", "subthreshold ideality factor"),
    Parameter("G_off", "S", 1e-12, (0.0, 1e-6), "G_off", "off-state leakage conductance"),
    Parameter("area", "m**2", 1e-12, (1e-16, 1e-6), "A", "gate area (energy only)", fixed=True),
)

_OBSERVABLES = (
    Observable("polarization", "C/m**2", "remanent polarisation of the ferroelectric"),
    Observable("threshold_voltage", "V", "threshold voltage of the transistor"),
)



# -- nucleation-limited switching (NLS), shared by fefet.nls and the ferroelectric tunnel junction ----------------
def nls_t1(field, tau0, Ea, alpha):
    """Characteristic (median) NLS switching time t1(E) = tau0 exp[(E_a/|E|)^alpha] (s) at field E (V/m)."""
    e = np.abs(np.asarray(field, dtype=float))
    with np.errstate(over="ignore", divide="ignore"):
        return tau0 * np.exp((Ea / np.maximum(e, 1e-300)) ** alpha)


def nls_step(pol, Pr, w, v, reduced_dt):
    r"""Polarisation after one pulse of sign ``v`` adding the reduced time ``reduced_dt`` = t_p / t1(E).

    Step-limit NLS with a Lorentzian of log10 waiting times (half width ``w`` decades): the fraction s
    switched towards the pulse's direction is converted to its equivalent reduced time
    :math:`H = 10^{w \tan(\pi(s - 1/2))}`, ``reduced_dt`` is added and
    :math:`s = 1/2 + \arctan(\log_{10} H / w)/\pi` (never decreasing). Exact for any pulse sequence.
    """
    pol = np.asarray(pol, dtype=float)
    n = pol.size
    pr, w, v = _bc(Pr, n), _bc(w, n), _bc(v, n)
    up = v > 0
    s = np.clip(np.where(up, (pol / pr + 1) / 2, (1 - pol / pr) / 2), 0.0, 1.0)
    with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
        h = np.where(s <= 0, 0.0, np.where(s >= 1, np.inf, 10 ** (w * np.tan(np.pi * (s - 0.5)))))
        h = h + _bc(reduced_dt, n)
        s_new = np.where(np.isinf(h), 1.0, 0.5 + np.arctan(np.log10(h) / w) / np.pi)
    s_new = np.maximum(s_new, s)
    return np.where(up, pr * (2 * s_new - 1), pr * (1 - 2 * s_new))


# -- compiled Preisach kernels (one device per loop iteration, devices spread over the cores) ----------------------
# A device's history is a row of turning points ``tv`` (V_FE) / ``tpp`` (P) with depth ``d``: entries 0 and 1 are the
# sentinels (+V_s, +P_r) and (-V_s, -P_r); an even index is a maximum, an odd one a minimum. These functions are the
# compiled twins of FeFETPreisach._move (the numpy reference, which the tests compare them with).

_PR_TOL_V = 1e-13  # V: tolerance of every V_FE root (Newton step / bracket width)


@numba.njit(cache=True, inline="always")
def _pr_branch(tv, tpp, d, v, pr, a, vc):
    """P at V_FE = v on the branch from turning point d-1 towards turning point d-2 (scaled tanh)."""
    v1, p1, v2, p2 = tv[d - 1], tpp[d - 1], tv[d - 2], tpp[d - 2]
    shift = -vc if (d - 1) % 2 == 1 else vc
    f1 = pr * math.tanh(a * (v1 + shift))
    den = pr * math.tanh(a * (v2 + shift)) - f1
    if den == 0.0:
        den = 1.0
    return p1 + (p2 - p1) * (pr * math.tanh(a * (v + shift)) - f1) / den


@numba.njit(cache=True, inline="always")
def _pr_turn(tv, tpp, d, v0, p0, up):
    """Depth after leaving (v0, p0) up or down: a reversal pushes (v0, p0), or pops it when it is the top."""
    if up != ((d - 1) % 2 == 0):  # no reversal: keep following the present branch
        return d
    if d >= 3 and abs(v0 - tv[d - 1]) <= 1e-12:
        return d - 1
    k = tv.size
    if d >= k:  # full: forget the oldest inner pair (indices 2 and 3)
        for j in range(2, k - 2):
            tv[j] = tv[j + 2]
            tpp[j] = tpp[j + 2]
        d -= 2
    tv[d] = v0
    tpp[d] = p0
    return d + 1


@numba.njit(cache=True)
def _pr_move(tv, tpp, d, v0, p0, v_new, pr, a, vc):
    """Move one device monotonically from (v0, p0) to V_FE = v_new; updates its row, returns (P, depth)."""
    if v_new == v0:
        return p0, d
    up = v_new > v0
    d = _pr_turn(tv, tpp, d, v0, p0, up)
    while d >= 4:
        tgt = tv[d - 2]
        if (up and v_new >= tgt) or ((not up) and v_new <= tgt):
            d -= 2  # passing a turning point wipes it and its partner out
        else:
            break
    return _pr_branch(tv, tpp, d, v_new, pr, a, vc), d


@numba.njit(cache=True)
def _pr_solve(tv, tpp, d, v0, p0, alpha, beta, gamma, pr, a, vc, vs, tol):
    """Follow the hysteresis path from (v0, p0) to the V_FE where r(v) = alpha v + beta P(v) - gamma = 0.

    r increases along the path (alpha > 0, beta >= 0, dP/dV_FE >= 0 on every branch), so the root lies
    upwards if r(v0) < 0. The path is piecewise: one scaled-tanh branch up to the next turning point,
    then (wipe-out) the enclosing branch. r at each turning point locates the segment holding the root;
    on it a safeguarded Newton iteration (bisection fallback, bracket kept) converges to ``tol`` in V_FE.
    A turning point within ``tol`` of the root closes its loop (return-point memory is exact there).
    Beyond +-V_s the path stops at the saturation voltage. Updates the row; returns (v, P, depth).
    """
    r0 = alpha * v0 + beta * p0 - gamma
    if r0 == 0.0:
        return v0, p0, d
    up = r0 < 0.0
    tol_r = alpha * tol
    d = _pr_turn(tv, tpp, d, v0, p0, up)
    start = v0
    while True:
        if d >= 4:
            end, p_end = tv[d - 2], tpp[d - 2]
        else:
            end = vs if up else -vs
            p_end = _pr_branch(tv, tpp, d, end, pr, a, vc)
        r_end = alpha * end + beta * p_end - gamma
        beyond = r_end <= tol_r if up else r_end >= -tol_r
        if not beyond:
            break
        if d < 4:
            return end, p_end, d
        d -= 2
        start = end
    # the root is inside (start, end) on the branch from turning point d-1 towards d-2
    v1, p1, v2, p2 = tv[d - 1], tpp[d - 1], tv[d - 2], tpp[d - 2]
    shift = -vc if (d - 1) % 2 == 1 else vc
    f1 = pr * math.tanh(a * (v1 + shift))
    den = pr * math.tanh(a * (v2 + shift)) - f1
    if den == 0.0:
        den = 1.0
    scale = (p2 - p1) / den
    lo, hi = (start, end) if up else (end, start)
    g_lo = alpha * lo + beta * (p1 + scale * (pr * math.tanh(a * (lo + shift)) - f1)) - gamma
    if g_lo >= 0.0:
        return lo, _pr_branch(tv, tpp, d, lo, pr, a, vc), d
    g_hi = alpha * hi + beta * (p1 + scale * (pr * math.tanh(a * (hi + shift)) - f1)) - gamma
    if g_hi <= 0.0:
        return hi, _pr_branch(tv, tpp, d, hi, pr, a, vc), d
    v = lo - g_lo * (hi - lo) / (g_hi - g_lo)
    dx_old = hi - lo
    for _ in range(200):
        t = math.tanh(a * (v + shift))
        g = alpha * v + beta * (p1 + scale * (pr * t - f1)) - gamma
        if g == 0.0:
            break
        if g < 0.0:
            lo = v
        else:
            hi = v
        step = g / (alpha + beta * scale * pr * a * (1.0 - t * t))
        if abs(step) <= tol:  # converged (checked first: a step below one ulp would look like leaving the bracket)
            v -= step
            break
        v_new = v - step
        if not (lo < v_new < hi) or abs(step) > 0.5 * dx_old:
            v_new = 0.5 * (lo + hi)  # Newton left the bracket or is not converging fast: bisect
        dx_old = abs(v_new - v)
        v = v_new
        if hi - lo <= tol:
            break
    return v, _pr_branch(tv, tpp, d, v, pr, a, vc), d


@numba.njit(cache=True)
def _pr_rest_after_peak(tv, tpp, d, v0, p0, peak, alpha, beta, gamma, pr, a, vc, vs, tol):
    """Rest state after a quasi-static excursion of V_FE from v0 to ``peak`` and back to gate 0: (v, P, d, P_peak)."""
    pk, dk = _pr_move(tv, tpp, d, v0, p0, peak, pr, a, vc)
    v, p, d = _pr_solve(tv, tpp, dk, peak, pk, alpha, beta, gamma, pr, a, vc, vs, tol)
    return v, p, d, pk


@numba.njit(cache=True)
def _pr_perturb_one(tv, tpp, d0, v0, p0, tgt, alpha, beta, gamma, pr, a, vc, vs, tol, tol_p):
    """Rest state whose polarisation is ``tgt``, reached by one quasi-static excursion of V_FE from (v0, p0).

    The rest polarisation after an excursion to V_FE = peak is continuous and non-decreasing in the peak
    (it equals the start value between the enclosing turning points), so the peak is bracketed on
    [v0, V_s] (target above the start) or [-V_s, v0] and found by the Illinois (modified regula falsi)
    iteration to |P - tgt| <= tol_p or a bracket <= tol. A target beyond the reachable range stops at the
    saturated end. Updates the row; returns (v, P, depth, P at the peak).
    """
    if tgt == p0:
        return v0, p0, d0, p0
    k = tv.size
    sv, sp = np.empty(k), np.empty(k)
    sv[:] = tv
    sp[:] = tpp
    if tgt > p0:
        lo, hi, f_lo = v0, vs, p0 - tgt
        f_hi = _pr_rest_after_peak(sv, sp, d0, v0, p0, hi, alpha, beta, gamma, pr, a, vc, vs, tol)[1] - tgt
        peak = hi if f_hi <= 0.0 else np.nan
    else:
        lo, hi, f_hi = -vs, v0, p0 - tgt
        f_lo = _pr_rest_after_peak(sv, sp, d0, v0, p0, lo, alpha, beta, gamma, pr, a, vc, vs, tol)[1] - tgt
        peak = lo if f_lo >= 0.0 else np.nan
    if np.isnan(peak):
        side = 0
        x = 0.5 * (lo + hi)
        for _ in range(200):
            x = hi - f_hi * (hi - lo) / (f_hi - f_lo) if f_hi != f_lo else 0.5 * (lo + hi)
            if not (lo < x < hi):
                x = 0.5 * (lo + hi)
            sv[:] = tv
            sp[:] = tpp
            fx = _pr_rest_after_peak(sv, sp, d0, v0, p0, x, alpha, beta, gamma, pr, a, vc, vs, tol)[1] - tgt
            if abs(fx) <= tol_p:
                break
            if fx < 0.0:
                lo, f_lo = x, fx
                if side == -1:
                    f_hi *= 0.5  # Illinois: the same end twice in a row halves the other end's value
                side = -1
            else:
                hi, f_hi = x, fx
                if side == 1:
                    f_lo *= 0.5
                side = 1
            if hi - lo <= tol:
                break
        peak = x
    return _pr_rest_after_peak(tv, tpp, d0, v0, p0, peak, alpha, beta, gamma, pr, a, vc, vs, tol)


# Loops over devices: a serial and a parallel twin of each (numba caches them separately). The parallel ones are
# used from _PR_PARALLEL_MIN devices: below that, waking the worker threads costs more than it saves (and on a
# loaded machine a worker waiting for a core costs milliseconds).
_PR_PARALLEL_MIN = 2048


@numba.njit(cache=True)
def _pr_pulse_serial(tv, tpp, d, v, p, p_peak, alpha, beta, gamma_peak, gamma_rest, pr, a, vc, vs, tol):
    """Quasi-static pulse for every device: gate 0 -> V_p (stack root at gamma_peak) -> 0 (gamma_rest); in place."""
    for i in range(v.size):
        vi, pi, di = _pr_solve(tv[i], tpp[i], d[i], v[i], p[i], alpha[i], beta[i], gamma_peak[i],
                               pr[i], a[i], vc[i], vs[i], tol)
        p_peak[i] = pi
        v[i], p[i], d[i] = _pr_solve(tv[i], tpp[i], di, vi, pi, alpha[i], beta[i], gamma_rest[i],
                                     pr[i], a[i], vc[i], vs[i], tol)


@numba.njit(cache=True, parallel=True)
def _pr_pulse_parallel(tv, tpp, d, v, p, p_peak, alpha, beta, gamma_peak, gamma_rest, pr, a, vc, vs, tol):
    for i in numba.prange(v.size):
        vi, pi, di = _pr_solve(tv[i], tpp[i], d[i], v[i], p[i], alpha[i], beta[i], gamma_peak[i],
                               pr[i], a[i], vc[i], vs[i], tol)
        p_peak[i] = pi
        v[i], p[i], d[i] = _pr_solve(tv[i], tpp[i], di, vi, pi, alpha[i], beta[i], gamma_rest[i],
                                     pr[i], a[i], vc[i], vs[i], tol)


@numba.njit(cache=True)
def _pr_solve_serial(tv, tpp, d, v, p, alpha, beta, gamma, pr, a, vc, vs, tol, commit):
    """Root of alpha v + beta P(v) = gamma along each device's path; rows updated in place only if commit."""
    out = np.empty(v.size)
    for i in range(v.size):
        rv, rp = (tv[i], tpp[i]) if commit else (tv[i].copy(), tpp[i].copy())
        vi, pi, di = _pr_solve(rv, rp, d[i], v[i], p[i], alpha[i], beta[i], gamma[i], pr[i], a[i], vc[i], vs[i], tol)
        out[i] = vi
        if commit:
            v[i], p[i], d[i] = vi, pi, di
    return out


@numba.njit(cache=True, parallel=True)
def _pr_solve_parallel(tv, tpp, d, v, p, alpha, beta, gamma, pr, a, vc, vs, tol, commit):
    out = np.empty(v.size)
    for i in numba.prange(v.size):
        rv, rp = (tv[i], tpp[i]) if commit else (tv[i].copy(), tpp[i].copy())
        vi, pi, di = _pr_solve(rv, rp, d[i], v[i], p[i], alpha[i], beta[i], gamma[i], pr[i], a[i], vc[i], vs[i], tol)
        out[i] = vi
        if commit:
            v[i], p[i], d[i] = vi, pi, di
    return out


@numba.njit(cache=True)
def _pr_perturb_serial(tv, tpp, d, v, p, p_peak, target, alpha, beta, gamma, pr, a, vc, vs, tol, tol_p):
    """_pr_perturb_one for every device, in place; p_peak receives P at the peak."""
    for i in range(v.size):
        v[i], p[i], d[i], p_peak[i] = _pr_perturb_one(tv[i], tpp[i], d[i], v[i], p[i], target[i], alpha[i], beta[i],
                                                      gamma[i], pr[i], a[i], vc[i], vs[i], tol, tol_p[i])


@numba.njit(cache=True, parallel=True)
def _pr_perturb_parallel(tv, tpp, d, v, p, p_peak, target, alpha, beta, gamma, pr, a, vc, vs, tol, tol_p):
    for i in numba.prange(v.size):
        v[i], p[i], d[i], p_peak[i] = _pr_perturb_one(tv[i], tpp[i], d[i], v[i], p[i], target[i], alpha[i], beta[i],
                                                      gamma[i], pr[i], a[i], vc[i], vs[i], tol, tol_p[i])


def _pr_kernel(n, serial, parallel):
    return parallel if n >= _PR_PARALLEL_MIN else serial


@numba.njit(cache=True, inline="always", nogil=True)
def nls_start(P, r, pol, d):  # pragma: no cover - compiled
    """Switched fraction s in the direction ``d`` of a pulse and its reduced time H (FeFETNLS.apply_pulse)."""
    pr = P[r, 0]
    s = (pol / pr + 1) / 2 if d > 0 else (1 - pol / pr) / 2
    s = min(max(s, 0.0), 1.0)
    if s <= 0:
        h = 0.0
    elif s >= 1:
        h = np.inf
    else:
        h = 10.0 ** (P[r, 1] * np.tan(np.pi * (s - 0.5)))
    return s, h


@numba.njit(cache=True, inline="always", nogil=True)
def nls_advance(P, r, s, h, d, v, inc, width):  # pragma: no cover - compiled
    """One pulse of :class:`FeFETNLS` from (s, H): returns (P_new, s_new, H_new).

    The same closed form as :meth:`FeFETNLS.apply_pulse`. ``P[r]`` = [Pr, w, tau0, Ea, alpha, C_IL,
    area, C_gate, V_c, C_FE, t_FE]; ``inc`` = width / t1(v) when it is the same for every device
    (computed once per pulse), NaN to compute it here from the device's own parameters.
    """
    pr = P[r, 0]
    w = P[r, 1]
    if inc != inc:
        e = abs(v * P[r, 5] / (P[r, 9] + P[r, 5]) / P[r, 10])
        t1 = P[r, 2] * np.exp((P[r, 3] / max(e, 1e-300)) ** P[r, 4])
        inc = width / t1
    h = h + inc
    if np.isinf(h):
        s_new = 1.0
    else:
        s_new = 0.5 + np.arctan(np.log10(h) / w) / np.pi
    s_new = max(s_new, s)
    return (pr * (2 * s_new - 1) if d > 0 else pr * (1 - 2 * s_new)), s_new, h


class _FeFETBase(DeviceModel):
    """Gate stack, threshold shift, read and energy shared by the FeFET models."""

    family = "fefet"
    amplitude_unit = "V"
    observables = _OBSERVABLES

    # -- stack -----------------------------------------------------------------
    def c_fe(self):
        return eps0 * np.asarray(self.params["eps_FE"]) / np.asarray(self.params["t_FE"])

    def c_il(self):
        return eps0 * np.asarray(self.params["eps_IL"]) / np.asarray(self.params["t_IL"])

    def c_gate(self):
        cf, ci = self.c_fe(), self.c_il()
        return cf * ci / (cf + ci)

    def coercive_voltage(self):
        return np.asarray(self.params["Ec"]) * np.asarray(self.params["t_FE"])

    def memory_window(self):
        """Full-switching window of the domain models (V): 2 P_ret t_FE / (eps0 eps_FE)."""
        p = self.params
        return 2 * np.minimum(p["Pr"], eps0 * p["eps_FE"] * p["Ec"]) * p["t_FE"] / (eps0 * p["eps_FE"])

    def fe_field(self, v_gate):
        """Field across the ferroelectric (V/m) from the linear divider of the stack."""
        cf, ci = self.c_fe(), self.c_il()
        return np.asarray(v_gate, dtype=float) * ci / (cf + ci) / self.params["t_FE"]

    def threshold_voltage(self, state: State) -> np.ndarray:
        p = self.params
        return p["V_T0"] - 0.5 * self.memory_window() * state["polarization"] / p["Pr"]

    # -- read --------------------------------------------------------------------
    def _g_of_vt(self, vt):
        p = self.params
        nvt = p["n_ss"] * VT_READ
        x = (p["V_GR"] - vt) / nvt
        return p["G_off"] + p["beta_ch"] * nvt * np.logaddexp(0.0, x)

    def conductance(self, state: State, v_read) -> np.ndarray:
        return self._g_of_vt(self.threshold_voltage(state))

    def observe(self, state: State) -> dict[str, np.ndarray]:
        return {"polarization": np.asarray(state["polarization"]), "threshold_voltage": self.threshold_voltage(state)}

    def pulse_energy(self, before: State, after: State, amplitude, width, temperature):
        p = self.params
        v = np.asarray(amplitude, dtype=float)
        dp = np.abs(np.asarray(after.get("_switched", after["polarization"] - before["polarization"])))
        return p["area"] * (self.c_gate() * v**2 + self.coercive_voltage() * dp)

    def perturb_step(self, before: State, after: State, rel: float, abs_: float,
                     rng: np.random.Generator) -> State:
        r"""Cycle-to-cycle noise on the polarisation change, kept physical.

        :math:`P' = P_0 + \Delta P (1 + rel\,\xi) + abs\_\,\xi'` (:math:`\xi, \xi'` standard normal),
        clipped to :math:`|P'| \le P_r`. Used as is by ``fefet.nls`` (its state is P alone); the
        multi-domain and Preisach models override it to keep their hidden states consistent.
        """
        p0 = np.asarray(before["polarization"], dtype=float)
        n = p0.size
        x = p0 + (np.asarray(after["polarization"]) - p0) * (1.0 + rel * rng.standard_normal(n))
        if abs_:
            x = x + abs_ * rng.standard_normal(n)
        pr = _bc(self.params["Pr"], n)
        out = dict(after)
        out["polarization"] = np.clip(x, -pr, pr)
        return out

    def _vt_to_polarization(self, g):
        """Polarisation whose read conductance is g (domain models)."""
        p = self.params
        g = np.asarray(g, dtype=float)
        nvt = p["n_ss"] * VT_READ
        y = (g - p["G_off"]) / (p["beta_ch"] * nvt)
        if np.any(y <= 0) or not np.all(np.isfinite(y)):
            raise ValueError(f"{self.name}: conductance must exceed G_off = {np.max(p['G_off']):g} S to infer P")
        x = np.log(np.expm1(np.minimum(y, 700.0))) if np.ndim(y) else np.log(np.expm1(min(y, 700.0)))
        x = np.where(y > 700.0, y, x)
        vt = p["V_GR"] - nvt * x
        pol = (p["V_T0"] - vt) * 2 * p["Pr"] / self.memory_window()
        return np.clip(pol, -p["Pr"], p["Pr"])


class FeFETMultiDomain(_FeFETBase):
    r"""Multi-domain FeFET with nucleation-limited, accumulative stochastic switching.

    The ferroelectric is ``n_domains`` equal-area domains with polarity
    :math:`s_i = \pm 1`, :math:`P = P_r \langle s_i \rangle`. Each domain has its own activation
    field :math:`E_{a,i} = E_a e^{\sigma_{Ea}\xi_i}` (:math:`\xi_i` standard normal, drawn in
    ``initial_state``). Under a gate pulse V the ferroelectric field is
    :math:`E = V C_{IL}/(C_{IL}+C_{FE})/t_{FE}` (linear divider). For every domain whose
    polarity opposes E (Deng et al., VLSI 2020):

    .. math::

        \tau_i = \tau_0 \exp\!\left[(E_{a,i}/|E|)^{\alpha}\right],\qquad
        h_i \leftarrow h_i + t_p/\tau_i,\qquad
        p_i = 1 - \exp\!\left(h_{i,old}^{\beta} - h_{i,new}^{\beta}\right),

    and the domain flips with probability :math:`p_i` (``self.rng``); a flipped domain
    starts again from :math:`h_i = 0`. The accumulated :math:`h_i` survives between pulses,
    so repeated sub-coercive pulses switch domains (accumulation): N pulses of width t switch
    each domain with the same probability :math:`1-e^{-(Nt/\tau_i)^\beta}` as one pulse of N t.
    Our assumption (not taken from the paper): a pulse whose field favours a domain's
    present polarity resets that domain's :math:`h_i` to 0.

    Per-pulse integration: exact (the per-pulse survival probability is the closed form
    above; no time stepping). State arrays ``_domain_s``, ``_domain_h`` and ``_domain_Ea`` are
    (devices x domains); ``polarization`` (C/m^2) is the primary state variable.
    """

    name = "fefet.multidomain"
    #: parameters a typical measurement of each data kind identifies (devicelib.fit; rate prefactors,
    #: not activation energies, at one temperature): a choice by identifiability, not a measured value
    default_vary = {"pulse_train": ("Ea", "sigma_Ea"), "polarization": ("Pr", "Ea", "sigma_Ea")}  # noqa: RUF012
    family_name = "Ferroelectric FET (HfZrO2), multi-domain nucleation-limited switching with accumulation"
    stochastic = True
    references = (
        "Deng et al., VLSI 2020, doi:10.1109/VLSITechnology18217.2020.9265014",
        "Miller & McWhorter, J. Appl. Phys. 72, 5999 (1992), doi:10.1063/1.351910",
    )
    parameters = (
        *_STACK,
        Parameter("tau0", "s", 19e-9, (1e-12, 1e-3), "tau_0", "attempt time of domain nucleation", log=True),
        Parameter("Ea", "V/m", 1.67e8, (1e7, 2e9), "E_a", "median activation field of domain nucleation"),
        Parameter("sigma_Ea", "", 0.15, (0.0, 1.0), "sigma_Ea", "log-normal spread of the domain activation fields"),
        Parameter("alpha", "", 3.5, (1.0, 8.0), "alpha", "field exponent of the nucleation time"),
        Parameter("beta", "", 2.0, (0.5, 50.0), "beta", "shape exponent of the per-domain switching probability"),
        Parameter("n_domains", "", 64.0, (1.0, 4096.0), "N_d", "number of domains per device (integer)",
                  fixed=True),
    )
    state_variables = (
        StateVariable("polarization", "C/m**2", (-np.inf, np.inf), "mean polarisation of the domains"),
    )

    def _check(self) -> None:
        nd = np.asarray(self.params["n_domains"])
        if np.ndim(nd) or nd != np.round(nd):
            raise ValueError(f"{self.name}: n_domains must be one integer for all devices, got {nd}")

    def _nd(self) -> int:
        return int(self.params["n_domains"])

    def initial_state(self, n: int) -> State:
        nd = self._nd()
        sig = _bc(self.params["sigma_Ea"], n)[:, None]
        ea = _bc(self.params["Ea"], n)[:, None] * np.exp(sig * self.rng.standard_normal((n, nd)))
        s = -np.ones((n, nd))
        return {
            "polarization": -_bc(self.params["Pr"], n).copy(),
            "_domain_s": s,
            "_domain_h": np.zeros((n, nd)),
            "_domain_Ea": ea,
        }

    def apply_pulse(self, state: State, amplitude, width, temperature) -> State:
        s = np.array(state["_domain_s"], dtype=float)
        h = np.array(state["_domain_h"], dtype=float)
        ea = state["_domain_Ea"]
        n = s.shape[0]
        p = self.params
        e = _bc(self.fe_field(amplitude), n)[:, None]
        tp = _bc(width, n)[:, None]
        sign = np.sign(e)
        opposing = (s * sign) < 0
        with np.errstate(over="ignore", divide="ignore"):
            ratio = ea / np.maximum(np.abs(e), 1e-300)
            tau = _bc(p["tau0"], n)[:, None] * np.exp(ratio ** _bc(p["alpha"], n)[:, None])
        h_new = np.where(opposing, h + tp / tau, 0.0)
        b = _bc(p["beta"], n)[:, None]
        prob = np.where(opposing, -np.expm1(h**b - h_new**b), 0.0)
        flip = self.rng.random(s.shape) < prob
        s_new = np.where(flip, -s, s)
        h_new = np.where(flip, 0.0, h_new)
        pol = _bc(p["Pr"], n) * s_new.mean(axis=1)
        return {"polarization": pol, "_domain_s": s_new, "_domain_h": h_new, "_domain_Ea": ea}

    def perturb_step(self, before: State, after: State, rel: float, abs_: float,
                     rng: np.random.Generator) -> State:
        r"""Cycle-to-cycle noise on the number of domains a pulse switches.

        With :math:`u` the number of up domains and :math:`\Delta u = u_{after} - u_{before}`, the perturbed
        change is :math:`\Delta u' = \Delta u (1 + rel\,\xi) + abs\_\,\xi' N_d / (2 P_r)` (``abs_`` in C/m^2),
        clipped so the up fraction stays in [0, 1] and rounded to an integer without bias (up with
        probability equal to the fractional part). :math:`|\Delta u'|` domains of the state before the pulse
        whose polarity opposes the sign of :math:`\Delta u'` flip: first those the pulse flipped, in random
        order, then others at random. Flipped domains restart at h = 0; a domain the pulse flipped that
        the perturbed pulse leaves keeps its h from before the pulse (our assumption: this pulse's share
        of its accumulated reduced time is not known here); every other domain keeps its state after the
        pulse. So :math:`P = P_r\langle s_i\rangle` and the domain arrays stay consistent, :math:`|P| \le P_r`,
        and the relative spread of :math:`\Delta P` is ``rel`` up to the rounding
        (variance :math:`\le 1/4` domain\ :sup:`2`).
        """
        s0 = np.asarray(before["_domain_s"], dtype=float)
        s1 = np.asarray(after["_domain_s"], dtype=float)
        n, nd = s1.shape
        u0 = np.sum(s0 > 0, axis=1)
        du = np.sum(s1 > 0, axis=1) - u0
        x = du * (1.0 + rel * rng.standard_normal(n))
        if abs_:
            x = x + abs_ * rng.standard_normal(n) * nd / (2.0 * _bc(self.params["Pr"], n))
        x = np.clip(x, -u0, nd - u0)
        m = np.floor(x)
        m = (m + (rng.random(n) < x - m)).astype(int)
        pulse_flipped = s1 != s0
        key = rng.random((n, nd)) + np.where(pulse_flipped, 0.0, 1.0)
        key = np.where(s0 == -np.sign(m)[:, None], key, np.inf)  # candidates oppose the perturbed change
        k = np.abs(m)
        kth = np.take_along_axis(np.sort(key, axis=1), np.maximum(k - 1, 0)[:, None], axis=1)
        flip = (key <= kth) & np.isfinite(key) & (k > 0)[:, None]
        s_new = np.where(flip, -s0, s0)
        h_new = np.where(flip, 0.0, np.where(pulse_flipped, before["_domain_h"], after["_domain_h"]))
        return {"polarization": _bc(self.params["Pr"], n) * s_new.mean(axis=1), "_domain_s": s_new,
                "_domain_h": h_new, "_domain_Ea": after["_domain_Ea"]}

    def state_from_conductance(self, g, v_read) -> State:
        pol = self._vt_to_polarization(g)
        n = pol.size
        st = self.initial_state(n)
        nd = self._nd()
        n_up = np.round((pol / _bc(self.params["Pr"], n) + 1) / 2 * nd).astype(int)
        st["_domain_s"] = np.where(np.arange(nd)[None, :] < n_up[:, None], 1.0, -1.0)
        st["polarization"] = _bc(self.params["Pr"], n) * st["_domain_s"].mean(axis=1)
        return st


class FeFETNLS(_FeFETBase):
    r"""Nucleation-limited switching (NLS) FeFET, closed form in the step limit.

    Tagantsev et al. (PRB 66, 214109, 2002) and Jo et al. (PRL 99, 267602, 2007): the film is an
    ensemble of regions that switch independently, each after its own waiting time; the
    distribution of :math:`\log_{10}` waiting times is Lorentzian with half width w (decades),
    centred on :math:`t_1(E) = \tau_0 \exp[(E_a/|E|)^\alpha]`. In the step limit (each region
    switches abruptly at its waiting time) the switched fraction after a constant-field time t is

    .. math::  s(t) = \frac12 + \frac1\pi \arctan\!\left(\frac{\log_{10}(t/t_1(E))}{w}\right).

    Since every region's waiting time scales with the same :math:`t_1(E)` (field-independent
    spread), pulses accumulate a single reduced time :math:`H = \sum_k t_{p,k}/t_1(E_k)` and
    :math:`s = \frac12 + \frac1\pi\arctan(\log_{10}H / w)`: N identical pulses of width t give
    exactly the state of one pulse of width N t. Pulses of the opposite sign act in the same way
    on the switched fraction (1 - s). The state is the polarisation :math:`P = P_r(2s-1)`; the
    equivalent reduced time is recovered from it, so the model is Markov in P.

    Per-pulse integration: closed form (exact). Field from the linear divider as in
    ``fefet.multidomain``. Deterministic.
    """

    name = "fefet.nls"
    #: parameters a typical measurement of each data kind identifies (devicelib.fit; rate prefactors,
    #: not activation energies, at one temperature): a choice by identifiability, not a measured value
    default_vary = {"pulse_train": ("Ea", "V_T0"), "polarization": ("Pr", "Ea")}  # noqa: RUF012
    family_name = "Ferroelectric FET (HfZrO2), nucleation-limited switching, closed form"
    references = (
        "Tagantsev et al., PRB 66, 214109 (2002), doi:10.1103/PhysRevB.66.214109",
        "Jo et al., PRL 99, 267602 (2007), doi:10.1103/PhysRevLett.99.267602",
        "Deng et al., VLSI 2020, doi:10.1109/VLSITechnology18217.2020.9265014",
    )
    parameters = (
        *_STACK,
        Parameter("tau0", "s", 19e-9, (1e-12, 1e-3), "tau_0", "attempt time of domain nucleation", log=True),
        Parameter("Ea", "V/m", 1.67e8, (1e7, 2e9), "E_a", "activation field of the characteristic switching time"),
        Parameter("alpha", "", 3.5, (1.0, 8.0), "alpha", "field exponent of the characteristic switching time"),
        Parameter("w", "", 1.0, (0.02, 5.0), "w", "half width of the Lorentzian of log10 switching times (decades)"),
    )
    state_variables = (
        StateVariable("polarization", "C/m**2", (-np.inf, np.inf), "remanent polarisation"),
    )

    def initial_state(self, n: int) -> State:
        return {"polarization": -_bc(self.params["Pr"], n).copy()}

    def t1(self, v_gate) -> np.ndarray:
        """Characteristic (median) switching time at gate voltage v_gate (s)."""
        p = self.params
        return nls_t1(self.fe_field(v_gate), p["tau0"], p["Ea"], p["alpha"])

    def switched_fraction(self, reduced_time) -> np.ndarray:
        """Step-limit NLS fraction for a reduced time H = t / t1."""
        with np.errstate(divide="ignore"):
            return 0.5 + np.arctan(np.log10(np.asarray(reduced_time, dtype=float)) / self.params["w"]) / np.pi

    def apply_pulse(self, state: State, amplitude, width, temperature) -> State:
        pol = np.asarray(state["polarization"], dtype=float)
        n = pol.size
        v = _bc(amplitude, n)
        return {"polarization": nls_step(pol, self.params["Pr"], self.params["w"], v,
                                         _bc(width, n) / _bc(self.t1(v), n))}

    def state_from_conductance(self, g, v_read) -> State:
        return {"polarization": self._vt_to_polarization(g)}

    def fused_spec(self, n: int, amplitude, width, temperature=None, v_read=None):
        """Parameters of the fused simulate engine (:mod:`devicelib.engine`) for a pulse train.

        Parameter broadcasts and, when no parameter varies between devices, the switching-time
        ratio width / t1(V) of each pulse are computed here once per train."""
        from ..engine import NLS, READ_FEFET, FusedSpec

        p = self.params
        amplitude = np.asarray(amplitude, dtype=float)
        width = np.asarray(width, dtype=float)
        cols = [p["Pr"], p["w"], p["tau0"], p["Ea"], p["alpha"], self.c_il(), p["area"], self.c_gate(),
                self.coercive_voltage(), self.c_fe(), p["t_FE"]]
        nvt = p["n_ss"] * VT_READ
        rcols = [p["G_off"], p["beta_ch"] * nvt, nvt, p["V_GR"], p["V_T0"], 0.5 * self.memory_window(), p["Pr"]]
        shared = all(np.ndim(c) == 0 for c in cols + rcols)
        rows = 1 if shared else n
        P = np.empty((rows, len(cols)))
        R = np.empty((rows, len(rcols)))
        for j, c in enumerate(cols):
            P[:, j] = c
        for j, c in enumerate(rcols):
            R[:, j] = c
        pre = np.zeros((amplitude.size, 5))
        on = (width > 0) & (amplitude != 0)
        pre[:, 0] = np.where(on, np.sign(amplitude), 0.0)
        pre[:, 1] = amplitude
        pre[:, 3] = width
        pre[:, 4] = amplitude**2
        if shared:
            with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
                pre[:, 2] = np.where(on, width / self.t1(np.where(on, amplitude, 1.0)), 0.0)
        else:
            pre[:, 2] = np.nan
        return FusedSpec(kind=NLS, P=P, R=R, read=READ_FEFET, pre=pre, state="polarization", energy=True)


class FeFETPreisach(_FeFETBase):
    r"""Preisach FeFET with minor loops and a self-consistent gate stack (Ni et al., VLSI 2018).

    Major-loop branches of the ferroelectric charge versus the ferroelectric voltage
    :math:`V_{FE}`, with :math:`V_c = E_c t_{FE}`:

    .. math::  F^{\pm}(V) = P_r \tanh\!\big(a (V \mp V_c)\big)

    (:math:`F^+` ascending, :math:`F^-` descending). After a turning point
    :math:`(V_1, P_1)` the branch heads for the previous turning point of the other kind
    :math:`(V_2, P_2)` (return-point memory):

    .. math::  P(V) = P_1 + (P_2 - P_1)\,\frac{F^{\pm}(V) - F^{\pm}(V_1)}{F^{\pm}(V_2) - F^{\pm}(V_1)},

    and passing :math:`V_2` wipes out both turning points (the branch continues on the enclosing
    one). Turning points are kept per device in a stack of depth ``max_turning_points`` (two
    sentinels at :math:`\pm V_s`, :math:`V_s = V_c + 30/a`, give the major loop); on overflow the
    oldest inner pair is forgotten.

    Gate stack: :math:`V_G - V_{T0} = V_{FE} + Q/C_{IL}` with :math:`Q = P(V_{FE}) + C_{FE}V_{FE}`,
    solved for :math:`V_{FE}` along the hysteresis path (the residual increases monotonically on it).
    A pulse is quasi-static: :math:`V_G: 0 \to V_p \to 0`, so the switching is rate independent (no accumulation; use
    ``fefet.multidomain`` or ``fefet.nls`` for time dependence). The threshold voltage is the gate
    voltage at which the stack charge is zero while following the branch from the rest state:
    :math:`V_T = V_{T0} + V_{FE}^*` with :math:`P(V_{FE}^*) + C_{FE}V_{FE}^* = 0`; for a steep
    loop this gives :math:`V_{FE}^* \approx \mp V_c` and a window :math:`\approx 2 E_c t_{FE}`.

    Root finding (compiled with numba, one loop iteration per device, devices spread over the cores):
    the path from the present point is piecewise, one scaled-tanh branch up to the next turning point
    and then the enclosing branch; the residual at the turning points picks the segment holding the
    root, and a safeguarded Newton iteration (bisection fallback inside the bracket) solves it to
    :math:`10^{-13}` V in :math:`V_{FE}`. A turning point within that tolerance of the root closes its
    minor loop. The numpy method ``_move`` is the readable reference of the path rules; the tests check
    the compiled path against it and the roots against ``scipy.optimize.brentq``.

    Per-pulse integration: quasi-static and exact up to the root tolerance
    (:math:`10^{-13}` V in :math:`V_{FE}`). Energy: :math:`A C_g V^2` plus the loss
    :math:`A V_c (|P_{peak}-P_{before}| + |P_{after}-P_{peak}|)`.

    Cycle-to-cycle noise (:meth:`perturb_step`) acts on the rest polarisation change and is realised
    as a perturbed excursion of :math:`V_{FE}`, so the turning-point stack stays valid.
    """

    name = "fefet.preisach"
    #: parameters a typical measurement of each data kind identifies (devicelib.fit; rate prefactors,
    #: not activation energies, at one temperature): a choice by identifiability, not a measured value
    default_vary = {"pulse_train": ("Ec", "a"), "polarization": ("Pr", "Ec", "a")}  # noqa: RUF012
    family_name = "Ferroelectric FET (HfZrO2), Preisach hysteresis with minor loops"
    references = (
        "Ni, Jerry, Smith, Datta, VLSI 2018, doi:10.1109/VLSIT.2018.8510622",
        "Miller & McWhorter, J. Appl. Phys. 72, 5999 (1992), doi:10.1063/1.351910",
    )
    parameters = (
        *_STACK,
        Parameter("a", "1/V", 8.0, (0.5, 200.0), "a", "steepness of the tanh hysteresis branches"),
    )
    state_variables = (
        StateVariable("polarization", "C/m**2", (-np.inf, np.inf), "polarisation at rest (gate at 0 V)"),
        StateVariable("v_fe", "V", (-np.inf, np.inf), "voltage across the ferroelectric at rest"),
    )
    max_turning_points = 32

    # -- hysteresis --------------------------------------------------------------
    def _vs(self):
        return self.coercive_voltage() + 30.0 / np.asarray(self.params["a"])

    def _f(self, v, ascending, n):
        p = self.params
        vc = _bc(self.coercive_voltage(), n)
        shift = np.where(ascending, -vc, vc)
        return _bc(p["Pr"], n) * np.tanh(_bc(p["a"], n) * (v + shift))

    def _move(self, st, v_new, commit=False):
        """P after moving each device monotonically from its current V_FE to v_new."""
        tv, tpp, d = st["_tp_v"], st["_tp_p"], st["_depth"].astype(int)
        if commit:
            tv, tpp = tv.copy(), tpp.copy()
        else:
            d = d.copy()
        n = d.size
        rows = np.arange(n)
        v0, p0 = st["v_fe"], st["polarization"]
        up, down = v_new > v0, v_new < v0
        top_is_max = (d - 1) % 2 == 0
        reverse = (up & top_is_max) | (down & ~top_is_max)
        at_top = np.isclose(v0, tv[rows, d - 1], rtol=0, atol=1e-12)
        pop = reverse & at_top & (d >= 3)
        push = reverse & ~(at_top & (d >= 3))
        d = np.where(pop, d - 1, d)
        if np.any(push):
            kmax = tv.shape[1]
            over = push & (d >= kmax)
            if np.any(over):  # forget the oldest inner pair (indices 2 and 3)
                if not commit:
                    tv, tpp = tv.copy(), tpp.copy()
                tv[over, 2:-2] = tv[over, 4:]
                tpp[over, 2:-2] = tpp[over, 4:]
                d = np.where(over, d - 2, d)
            if not commit:
                tv, tpp = tv.copy(), tpp.copy()
            idx = rows[push]
            tv[idx, d[push]] = v0[push]
            tpp[idx, d[push]] = p0[push]
            d = np.where(push, d + 1, d)
        moving = up | down
        while True:
            tgt = tv[rows, np.maximum(d - 2, 0)]
            wipe = moving & (d >= 4) & ((up & (v_new >= tgt)) | (down & (v_new <= tgt)))
            if not np.any(wipe):
                break
            d = np.where(wipe, d - 2, d)
        v1, p1 = tv[rows, d - 1], tpp[rows, d - 1]
        v2, p2 = tv[rows, d - 2], tpp[rows, d - 2]
        asc = (d - 1) % 2 == 1
        f1, f2, fv = self._f(v1, asc, n), self._f(v2, asc, n), self._f(v_new, asc, n)
        denom = np.where(np.abs(f2 - f1) > 0, f2 - f1, 1.0)
        p_new = np.where(moving, p1 + (p2 - p1) * (fv - f1) / denom, p0)
        if commit:
            return {"polarization": p_new, "v_fe": np.where(moving, v_new, v0),
                    "_tp_v": tv, "_tp_p": tpp, "_depth": d.astype(float)}
        return p_new

    # -- compiled path (numba kernels above) -------------------------------------
    def _kernel_params(self, n):
        """Per-device contiguous arrays: Pr, a, V_c, V_s, C_FE, C_IL, V_T0."""
        p = self.params
        names = (p["Pr"], p["a"], self.coercive_voltage(), self._vs(), self.c_fe(), self.c_il(), p["V_T0"])
        return tuple(np.array(_bc(x, n)) for x in names)  # writable copies: one compiled signature

    @staticmethod
    def _unpack(state):
        """Fresh contiguous copies of the state arrays the kernels update in place."""
        return (np.array(state["_tp_v"], dtype=float, order="C"), np.array(state["_tp_p"], dtype=float, order="C"),
                np.asarray(state["_depth"]).astype(np.int64), np.array(state["v_fe"], dtype=float),
                np.array(state["polarization"], dtype=float))

    @staticmethod
    def _pack(tv, tpp, d, v, pol):
        return {"polarization": pol, "v_fe": v, "_tp_v": tv, "_tp_p": tpp, "_depth": d.astype(float)}

    def _to_gate(self, st, v_gate):
        """Rest state after setting the gate to v_gate quasi-statically (stack solved self-consistently)."""
        tv, tpp, d, v, pol = self._unpack(st)
        n = v.size
        pr, a, vc, vs, cf, ci, vt0 = self._kernel_params(n)
        gamma = _bc(v_gate, n) - vt0
        solve = _pr_kernel(n, _pr_solve_serial, _pr_solve_parallel)
        solve(tv, tpp, d, v, pol, 1.0 + cf / ci, 1.0 / ci, gamma, pr, a, vc, vs, _PR_TOL_V, True)
        return self._pack(tv, tpp, d, v, pol)

    def initial_state(self, n: int) -> State:
        k = self.max_turning_points
        vs = _bc(self._vs(), n)
        pr = _bc(self.params["Pr"], n)
        tv = np.zeros((n, k))
        tpp = np.zeros((n, k))
        tv[:, 0], tpp[:, 0] = vs, pr
        tv[:, 1], tpp[:, 1] = -vs, -pr
        st = {"polarization": -pr.copy(), "v_fe": -vs.copy(), "_tp_v": tv, "_tp_p": tpp, "_depth": np.full(n, 2.0)}
        return self._to_gate(st, 0.0)

    def sweep_fe(self, state: State, v_fe) -> tuple[State, np.ndarray]:
        """Follow a path of ferroelectric voltages (steps,) or (steps, n); return the final state and P (steps, n)."""
        st = {k: np.array(v, dtype=float) for k, v in state.items()}
        n = st["v_fe"].size
        vs = _bc(self._vs(), n)
        out = []
        for v in np.asarray(v_fe, dtype=float):
            st = self._move(st, np.clip(_bc(v, n), -vs, vs), commit=True)
            out.append(st["polarization"].copy())
        return st, np.array(out)

    def apply_pulse(self, state: State, amplitude, width, temperature) -> State:
        tv, tpp, d, v, pol = self._unpack(state)
        n = v.size
        p_before = pol.copy()
        pr, a, vc, vs, cf, ci, vt0 = self._kernel_params(n)
        p_peak = np.empty(n)
        gamma_peak = _bc(amplitude, n) - vt0
        pulse = _pr_kernel(n, _pr_pulse_serial, _pr_pulse_parallel)
        pulse(tv, tpp, d, v, pol, p_peak, 1.0 + cf / ci, 1.0 / ci, gamma_peak, -vt0, pr, a, vc, vs, _PR_TOL_V)
        rest = self._pack(tv, tpp, d, v, pol)
        rest["_switched"] = np.abs(p_peak - p_before) + np.abs(pol - p_peak)
        return rest

    def threshold_voltage(self, state: State) -> np.ndarray:
        tv, tpp, d, v, pol = self._unpack(state)
        n = v.size
        pr, a, vc, vs, cf, _ci, vt0 = self._kernel_params(n)
        solve = _pr_kernel(n, _pr_solve_serial, _pr_solve_parallel)
        v_star = solve(tv, tpp, d, v, pol, cf, np.ones(n), np.zeros(n), pr, a, vc, vs, _PR_TOL_V, False)
        return vt0 + v_star

    def perturb_step(self, before: State, after: State, rel: float, abs_: float,
                     rng: np.random.Generator) -> State:
        r"""Cycle-to-cycle noise on the rest polarisation change, realised on the hysteresis path.

        Target :math:`P' = P_0 + \Delta P (1 + rel\,\xi) + abs\_\,\xi'`. The perturbed state is the rest state
        after one quasi-static excursion of :math:`V_{FE}` from the state before the pulse to the peak
        whose rest polarisation is :math:`P'` (a cycle-to-cycle variation of the effective switching
        drive). So the turning-point stack, :math:`V_{FE}` and P stay a state of the model (on a branch,
        on the gate-0 load line); a target beyond saturation stops at the saturated state
        (:math:`|P| \le P_r`). P' is met to 1e-12 of P_r.
        """
        p0 = np.asarray(before["polarization"], dtype=float)
        n = p0.size
        target = p0 + (np.asarray(after["polarization"]) - p0) * (1.0 + rel * rng.standard_normal(n))
        if abs_:
            target = target + abs_ * rng.standard_normal(n)
        tv, tpp, d, v, pol = self._unpack(before)
        pr, a, vc, vs, cf, ci, vt0 = self._kernel_params(n)
        p_peak = np.empty(n)
        perturb = _pr_kernel(n, _pr_perturb_serial, _pr_perturb_parallel)
        perturb(tv, tpp, d, v, pol, p_peak, np.array(target, dtype=float), 1.0 + cf / ci, 1.0 / ci, -vt0,
                pr, a, vc, vs, _PR_TOL_V, 1e-12 * pr)
        out = self._pack(tv, tpp, d, v, pol)
        out["_switched"] = np.abs(p_peak - p0) + np.abs(pol - p_peak)
        return out
