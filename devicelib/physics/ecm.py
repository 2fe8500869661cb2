r"""Cation migration (ECM / CBRAM): growth and dissolution of an Ag or Cu filament.

Menzel model (``ecm.menzel``)
-----------------------------
After S. Menzel, U. Böttger, R. Waser, J. Appl. Phys. 111, 014501 (2012),
doi:10.1063/1.3673239 and S. Menzel, S. Tappertzhofen, R. Waser, I. Valov,
Phys. Chem. Chem. Phys. 15, 6945 (2013), doi:10.1039/C3CP50738F.

A metallic filament grows from the inert electrode through an ion-conducting
layer of thickness :math:`L` towards the active (Ag, Cu) electrode. The state
is the tunnelling gap :math:`x` between the filament tip and the active
electrode (:math:`x_{min} \le x \le L`, m) and the nucleation progress
:math:`\xi` (0-1). All parameters are SI (J for energies; cards may write eV)
with the bounds declared in :attr:`Menzel.parameters`.

*Voltage division.* The filament (resistance
:math:`R_{fil} = \rho_{fil} (L - x)/A`, :math:`A = \pi r_{fil}^2`) is in series
with the gap; the pulse circuit has a series resistance :math:`R_S`. Across
the gap the tunnelling conductance :math:`G_{tu}(x)` and the ionic branch
are in parallel, so the gap voltage solves

.. math::  V = V_{gap}\,[1 + (R_S + R_{fil}) G_{tu}(x)] + (R_S + R_{fil})\, I_{ion}(V_{gap}) ,

by safeguarded Newton (the residual is monotone; bracket
:math:`0 < |V_{gap}| \le |V|/(1 + (R_S + R_{fil}) G_{tu})`). The ionic term
matters at high voltage: 23 uA at 1.5 V drops 0.12 V on 5 kOhm. Inside a pulse
the divider and the split below are solved together (Newton on the pair
:math:`|V_{gap}|, \phi` started from a linear extrapolation of the last two
solutions along the trajectory, about two iterations; the cold nested solve is
the fallback); both give the same root to 1e-11 (tested).

*Ionic current.* The gap voltage is shared between electron transfer at the
filament tip (Butler-Volmer, overpotential :math:`\eta_{et}`) and
field-assisted ion hopping across the gap (:math:`\eta_{hop}`),
:math:`\eta_{et} + \eta_{hop} = V_{gap}`, carrying the same current:

.. math::

    I_{et} = j_0 A\, e^{-\Delta G_{et}/kT}
        \left[e^{(1-\alpha) z q \eta_{et}/kT} - e^{-\alpha z q \eta_{et}/kT}\right],

    I_{hop} = 2 z q c\, a\, \nu_0 A\, e^{-\Delta W/kT}
        \sinh\!\left(\frac{a z q \eta_{hop}}{2 x k T}\right),

solved by safeguarded Newton in :math:`\phi = \mathrm{logit}(\eta_{et}/V_{gap})`
(to 1e-11 in :math:`\phi`; both laws are checked in the tests). For RESET
(V < 0, dissolution at the tip) the exponents swap (:math:`\alpha` on the
driving branch). The electron-transfer reaction at the (much larger) active
electrode is taken as fast. The gap closes (SET, V > 0) or opens (RESET) at

.. math::  \frac{dx}{dt} = -\operatorname{sign}(V)\,\frac{M}{z q \rho_m}\,\frac{I_{ion}}{A} .

Three regimes follow for the SET time: nucleation-limited at low voltage
(slope :math:`(N_c + \alpha_{nuc}) z / (V_T \ln 10)` decades/V),
electron-transfer-limited (:math:`(1 - \alpha) z / (V_T \ln 10)`; growth time
:math:`(L - x_{end}) / (\dot x_{et}(V))`), and mixed electron-transfer/hopping
at high voltage (below 1 decade/V).

*Nucleation.* Growth starts only after a stable nucleus has formed. The
nucleation time :math:`t_{nuc} = t_0 e^{\Delta G_{nuc}/kT}
e^{-(N_c + \alpha_{nuc}) z q V_{gap}/kT}` (V > 0, gap voltage of the
filament-free cell) is consumed as an additive reduced time,
:math:`\xi \mathrel{+}= t_p / t_{nuc}(V, T)`; growth begins when :math:`\xi`
reaches 1, at :math:`(1 - \xi_{old}) t_{nuc}` into the pulse. A filament
dissolved back to :math:`x = L` resets :math:`\xi` to 0.

*Stochastic nucleation* (``nuc_stochastic = 1``; default 0, the reduced time
above, which places every device at the mean). Forming the critical nucleus
is a Poisson event of rate :math:`1/t_{nuc}(V, T)`: a device nucleates when
its integrated hazard :math:`H = \sum t_p / t_{nuc}` (exact for the
piecewise-constant rate of a pulse train) reaches its threshold
:math:`E \sim \mathrm{Exp}(1)`, drawn from ``self.rng`` (seeded by
``simulate(..., seed=)``) and kept in the hidden state key
``_nuc_threshold``; :math:`\xi = H/E`, so growth again starts at
:math:`\xi = 1`, at :math:`(1 - \xi_{old}) E t_{nuc}` into the pulse. A new
threshold is drawn whenever the filament (or the sub-critical progress) is
dissolved back to :math:`x = L` by a RESET or at rest. Hence
:math:`P(\text{nucleated by } t) = 1 - e^{-t/t_{nuc}}` and the SET time is
:math:`E t_{nuc} + t_{growth}`: mean :math:`t_{nuc} + t_{growth}`, standard
deviation :math:`t_{nuc}`, so the spread is exponential-wide where nucleation
limits (low voltage) and vanishes where growth limits. A state without
thresholds (built by hand) takes :math:`\xi` as hazard already spent and
draws the remainder (memorylessness). This is the waiting-time statistics
of a single rate-limiting event; the compact model's :math:`t_{nuc}` is its
mean (Menzel 2017 reviews kinetic Monte Carlo models that resolve the
atomistic events and agree with the compact models in the mean behaviour).

*Read.* Simmons tunnelling in the low-voltage regime, in series with the
filament, parallel to the electrolyte leakage :math:`G_{el}`:

.. math::

    G_{tu}(x) = A \frac{3\sqrt{2 m^* \phi}}{2 x}\left(\frac{q}{h}\right)^2
        e^{-\kappa x}, \quad \kappa = \frac{4\pi\sqrt{2 m^* \phi}}{h},
    \qquad G = G_{el} + \frac{G_{tu}}{1 + R_{fil} G_{tu}} .

*Retention* (a devicelib extension, off by default). At rest the tip of a
filament of radius :math:`r_{fil}` is driven to dissolve by its
Gibbs-Thomson overpotential :math:`\eta_{GT} = 2\gamma_s \Omega / (z q r_{fil})`
(:math:`\Omega = M/\rho_m`; the curvature emf of the nanoscale cell, Valov et
al. 2013; the relaxation of thin Ag filaments, Wang et al. 2017): ``relax``
integrates the RESET law with :math:`V_{gap} = -\eta_{GT}` (no divider: the
cell is unbiased). :math:`\gamma_s = 0` (default) makes the model
non-volatile; an instance is ``volatile`` only when :math:`\gamma_s > 0`.

*Gradual RESET* (``reset_mode = 1``, chosen per card; a devicelib
extension after the lateral growth and dissolution of the CBRAM compact model
of Yu & Wong 2011). A bridged filament (gap below ``x_contact``) first
dissolves laterally: its radius r shrinks at the speed of the same
metal/electrolyte interface, :math:`dr/dt = -|dx/dt|(x, V; r)` (the Menzel
dissolution speed at the present gap, with the cross-section
:math:`\pi r^2` in the divider, tunnelling and ionic currents), until
:math:`r = r_{min}`; only then does the gap open (rupture) for the rest of the
pulse. Because :math:`G_{tu}` and :math:`1/R_{fil}` both scale with
:math:`\pi r^2`, the bridge conductance falls as :math:`r^2`: a gradual
depression instead of the runaway of the opening gap. SET is the reverse
order: the gap closes to ``x_contact``, then the bridge thickens back to
``r_fil`` at the deposition speed. The radius is the hidden state key
``_radius`` (present only in this mode); its steps are explicit, at most 5 %
of r each (energy by the left-point rule). With ``reset_mode = 0`` (default)
nothing changes.

Temperature enters every rate through Arrhenius factors and kT; the device
is isothermal at the ambient temperature of the pulse (no Joule heating).

Per-pulse integration and its error
-----------------------------------
V is constant during a pulse and the rate depends on x only, so the gap ODE
is autonomous: the time to move from :math:`x_a` to :math:`x_b` is
:math:`\int dx/|f(x)|`. The gap is advanced in steps
:math:`\Delta x = \mathrm{clip}(0.05\,x, 0.005, 0.5)` nm, shortened so that
:math:`\ln|f|` changes by at most 0.5 across a step (steep near contact);
each step's duration (and energy :math:`\int P\,dx/|f|`) is a 3-point
Gauss-Legendre quadrature. The last, partial step (remaining pulse time
shorter than the step's duration) is one classical RK4 step in time. The
nucleation phase is exact. The loop is compiled (numba) and runs the devices
in parallel from ``PARALLEL_MIN`` devices (serially below). Against
``scipy.integrate.solve_ivp`` (LSODA, rtol 1e-10) over 0.1-2 V (Ag card) and
0.1-3 V (Cu card) of either polarity, 250-400 K, start gaps 0.12 nm to L (240
random cases, 12 widths from 10 ps to 1 s), the gap after a pulse agrees
within :math:`\max(2\times10^{-4}|\Delta x|, 2\times10^{-5}` nm) (worst seen
1.3e-4 of the change, 1.4e-5 nm) and the pulse energy within 5e-4 (worst
2.4e-4); ``tests/test_ecm.py`` asserts these bounds on eight cases. A full
SET from the pristine cell to contact takes about 130 steps (about 440
evaluations of the rate) whatever the pulse width.

Tabulated pulses (shared parameters)
------------------------------------
Because the ODE is autonomous, a pulse condition (amplitude, temperature) of
devices sharing their parameters has one flow map: with
:math:`\tau(x) = \int dx/|f|` a pulse of width :math:`t_p` moves every
device from x to :math:`\tau^{-1}(\tau(x) \pm t_p)`, and its energy is the
matching difference of :math:`\int P\,dx/|f|`. From ``TABLE_MIN`` devices
(shared parameters, one amplitude and temperature in the call) this map is
tabulated once per condition and model instance (``Menzel._table``,
:func:`_build_table`): knots from x_min to L spaced
:math:`\mathrm{clip}(0.01\,x, 0.001, 0.1)` nm and shortened so that
:math:`\ln|f|` changes by at most 0.05 between knots (5-10x finer than the
sub-steps), each interval's duration and energy by 3-point Gauss-Legendre
(560-830 intervals, five rate evaluations each, under a millisecond for
the Ag card). A pulse then costs a table look-up: the device's interval,
whole intervals crossed by their tabulated durations (whole blocks of 32 by
their sums, the last block by bisection in its running sums, which keeps the
sums accurate where durations span decades along the gap), and the partial
intervals by cubic Hermite interpolation: the elapsed time against the gap
(slopes :math:`1/|f|` at the knots) where the pulse starts, the gap and the
energy against the time (slopes :math:`|f|` and P) where it ends. Nucleation
and the hold at a bound are as above. The interpolation error is of order
:math:`(h\,d\ln|f|/dx)^4/384` of an interval; against ``solve_ivp`` (LSODA,
rtol 1e-12) on both cards, both polarities and widths from 100 ps to 10 ms
the gap agrees within 6.3e-7 of its change (the sub-step integrator: 2.8e-5)
and the energy within 4.3e-7 (3.2e-5); ``tests/test_ecm_engine.py`` asserts
1e-5 and 2e-5. With per-device parameters, fewer devices, several pulse
conditions in one call, ``stop_gap`` (``set_time``), retention and the
gradual RESET the sub-step integrator runs; a device's result may thus
differ between the two paths within the integrator's error bound.

The fused simulate kernel (:func:`_ecm_drive`, :meth:`Menzel.fused_spec`)
runs a whole train per chunk of devices with the gap and nucleation in
place: the same per-pulse functions as :meth:`apply_pulse` (tables built once
per distinct condition of the train, or the sub-step integrator with each
device's parameter row), the relaxation of volatile cells between pulses as
:meth:`relax`, the engine's counter-based cycle-to-cycle and read noise.
Stochastic nucleation (its thresholds are drawn from ``self.rng``) and the
gradual RESET keep the per-pulse path (:attr:`Menzel.fused_available`).

References
----------
- S. Menzel, U. Böttger, R. Waser, J. Appl. Phys. 111, 014501 (2012), doi:10.1063/1.3673239.
- S. Menzel, J. Comput. Electron. 16, 1017 (2017), doi:10.1007/s10825-017-1051-2 (review: compact to kinetic
  Monte Carlo models of ECM cells).
- S. Menzel, S. Tappertzhofen, R. Waser, I. Valov, Phys. Chem. Chem. Phys. 15, 6945 (2013),
  doi:10.1039/C3CP50738F.
- J. G. Simmons, J. Appl. Phys. 34, 1793 (1963), doi:10.1063/1.1702682 (tunnelling).
- I. Valov et al., Nat. Commun. 4, 1771 (2013), doi:10.1038/ncomms2784 (emf of nanoscale cells).
- Z. Wang et al., Nat. Mater. 16, 101 (2017), doi:10.1038/nmat4756 (relaxation of Ag filaments).
- S. Yu, H.-S. P. Wong, "Compact modeling of conducting-bridge random-access memory (CBRAM)", IEEE TED 58,
  1352 (2011), doi:10.1109/TED.2011.2116120 (vertical and lateral filament growth and dissolution).
"""

from __future__ import annotations

import math
import types

import numba
import numpy as np

from ..core import DeviceModel, Parameter, State, StateVariable
from ..engine import CHUNK, SERIAL_BELOW, normal, record_chunk, twin, vexp
from ..units import h_planck, k_B, q_e

EV = q_e
NM = 1e-9
M_E = 9.1093837015e-31  # electron mass, kg
K_B, Q_E, H_PLANCK = k_B, q_e, h_planck  # module-level floats numba can freeze
LN2 = math.log(2.0)
PHI_MAX = 700.0  # bracket of the logit of the electron-transfer share of the gap voltage
GL_X0, GL_W0, GL_W1 = math.sqrt(0.6), 5.0 / 9.0, 8.0 / 9.0  # 3-point Gauss-Legendre on [-1, 1]

#: parameter order of the packed per-device parameter rows handed to the compiled kernels
_KP = ("L", "x_min", "r_fil", "M", "rho_m", "z", "j0", "dG_et", "alpha_et", "a_hop", "nu0", "c_ion", "dW_hop",
       "t0_nuc", "dG_nuc", "N_c", "alpha_nuc", "phi_b", "m_eff", "rho_fil", "G_el", "R_series", "gamma_s")
(I_L, I_XMIN, I_RFIL, I_M, I_RHO, I_Z, I_J0, I_DGET, I_AET, I_A, I_NU0, I_C, I_DW, I_T0, I_DGN, I_NC, I_ANUC,
 I_PHIB, I_MEFF, I_RHOFIL, I_GEL, I_RS, I_GAM) = range(len(_KP))


def _pack(p, n: int) -> np.ndarray:
    """Parameters as an (n, len(_KP)) array, one row per device (scalars broadcast)."""
    vals = [p[k] for k in _KP]
    if all(isinstance(v, float) for v in vals):  # the usual case: one row repeated (cheap for a few devices)
        return np.tile(np.array(vals), (n, 1))
    out = np.empty((n, len(_KP)))
    for j, v in enumerate(vals):
        out[:, j] = v
    return out


def _full(a, n: int) -> np.ndarray:
    """``a`` broadcast to a contiguous float array of shape (n,)."""
    if isinstance(a, float | int):
        return np.full(n, float(a))
    return np.array(np.broadcast_to(np.asarray(a, dtype=float), (n,)))


_jit = numba.njit(cache=True, error_model="numpy")
#: the table walk's small functions, inlined into their callers in numba's IR (no call with arrays passed as
#: structures and reference counts per device and pulse)
_jit_inline = numba.njit(cache=True, error_model="numpy", inline="always")

#: from this many devices the parallel pulse kernel runs; below it the serial twin (waking the worker threads
#: costs more than it saves for a few devices, and on a loaded machine a worker may wait for a core)
PARALLEL_MIN = 32


@_jit
def _sig2(phi):
    """(sigma(phi), sigma(-phi)) = (1 / (1 + e^-phi), 1 / (1 + e^phi)) from one exponential, no cancellation."""
    if phi >= 0.0:
        t = math.exp(-phi)
        return 1.0 / (1.0 + t), t / (1.0 + t)
    t = math.exp(phi)
    return t / (1.0 + t), 1.0 / (1.0 + t)


@_jit
def _consts(temp, v, rest, q):
    """The gap-independent constants of one device under one pulse (a tuple read by the rate functions):

    0 vt (V), 1 z, 2 a_s (exponent coefficient of the driving Butler-Volmer branch: 1 - alpha for
    deposition, alpha for dissolution), 3 ln I_et0, 4 ln I_hop0 (ln A), 5 beta x (m/V), 6 growth speed per
    ampere (m/s/A), 7 tunnelling prefactor (G_tu x e^{kappa x}, S m), 8 kappa (1/m), 9 rho_fil / A (ohm/m),
    10 L (m), 11 R_S (ohm), 12 G_el (S), 13 Gibbs-Thomson overpotential (V)."""
    kt = K_B * temp
    z = q[I_Z]
    area = math.pi * q[I_RFIL] ** 2
    a_s = q[I_AET] if (rest or v < 0.0) else 1.0 - q[I_AET]
    ln_ie0 = math.log(q[I_J0] * area) - q[I_DGET] / kt
    ln_ih0 = math.log(2.0 * z * Q_E * q[I_C] * q[I_A] * q[I_NU0] * area) - q[I_DW] / kt
    root = math.sqrt(2.0 * q[I_MEFF] * M_E * q[I_PHIB])
    eta_gt = 2.0 * q[I_GAM] * q[I_M] / q[I_RHO] / (z * Q_E * q[I_RFIL])
    return (kt / Q_E, z, a_s, ln_ie0, ln_ih0, q[I_A] * z * Q_E / (2.0 * kt), q[I_M] / (z * Q_E * q[I_RHO] * area),
            area * 1.5 * root * (Q_E / H_PLANCK) ** 2, 4.0 * math.pi * root / H_PLANCK, q[I_RHOFIL] / area,
            q[I_L], q[I_RS], q[I_GEL], eta_gt)


@_jit
def _g_tunnel_c(x, c):
    """Simmons tunnelling conductance (S) across the gap x."""
    return c[7] / x * math.exp(-c[8] * x)


@_jit
def _split_eval(mag, phi, z, vt, a_s, ln_ie0, ln_ih0, beta):
    """The two ionic laws at the split phi of the gap voltage magnitude mag (eta_et = mag sigma(phi),
    eta_hop = mag sigma(-phi)): residual ln I_et - ln I_hop, ln I_hop, g_e = d ln I_et / d eta_et and
    g_h = d ln I_hop / d eta_hop (1/V), sigma(phi), sigma(-phi). One exp and two expm1/log pairs."""
    sp, sm = _sig2(phi)
    s = z * mag * sp / vt
    w = beta * mag * sm
    es = math.expm1(-s)  # e^-s - 1: ln(1 - e^-s) and 1 / expm1(s) without cancellation
    ew = math.expm1(-2.0 * w)  # e^-2w - 1: ln sinh(w) = w + ln(1 - e^-2w) - ln 2, coth(w)
    ln_ie = ln_ie0 + a_s * s + math.log(-es) if s > 0.0 else -np.inf
    ln_ih = ln_ih0 + w + math.log(-ew) - LN2 if w > 0.0 else -np.inf
    ge = (z / vt) * (a_s + (1.0 + es) / (-es))
    gh = beta * (2.0 + ew) / (-ew)
    return ln_ie - ln_ih, ln_ih, ge, gh, sp, sm


@_jit
def _split(mag, z, vt, a_s, ln_ie0, ln_ih0, beta, phi0, use_phi0):
    """Ionic current magnitude I (A) at gap voltage magnitude mag, dI/dmag (S) and the split phi.

    eta_et + eta_hop = mag with I_et(eta_et) = I_hop(eta_hop): safeguarded Newton on the monotone residual
    in phi = logit(eta_et / mag), started from ``phi0`` if given and its residual is below 0.1, else from the
    best of it, the high-overpotential (both laws exponential) and the small-signal (both linear) solutions;
    converged to 1e-11 in phi (the current then follows from the last evaluation to first order in the last
    step)."""
    if mag <= 0.0:
        return 0.0, 0.0, 0.0
    phi = 0.0
    best = np.inf
    if use_phi0 and np.isfinite(phi0):
        phi = min(max(phi0, -PHI_MAX), PHI_MAX)
        best = abs(_split_eval(mag, phi, z, vt, a_s, ln_ie0, ln_ih0, beta)[0])
    if not best < 0.1:
        u0 = (ln_ih0 - LN2 - ln_ie0 + beta * mag) / (a_s * z / vt + beta)
        frac = min(max(u0 / mag, 1e-300), 1.0)
        for k in range(2):
            if k == 0:
                c = math.log(frac) - math.log(max(1.0 - frac, 1e-300))
            else:
                c = ln_ih0 + math.log(beta) - ln_ie0 - math.log(z / vt)
            if not np.isfinite(c):
                c = 0.0
            c = min(max(c, -PHI_MAX), PHI_MAX)
            r = abs(_split_eval(mag, c, z, vt, a_s, ln_ie0, ln_ih0, beta)[0])
            if r < best or not np.isfinite(best):
                phi, best = c, r
    lo, hi = -PHI_MAX, PHI_MAX
    ln_ih, ge, gh, sp, sm, at = 0.0, 0.0, 0.0, 0.0, 0.0, np.nan
    for _ in range(200):
        f, ln_ih, ge, gh, sp, sm = _split_eval(mag, phi, z, vt, a_s, ln_ie0, ln_ih0, beta)
        at = phi
        if f == 0.0:
            break
        if f < 0.0:
            lo = phi
        else:
            hi = phi
        pn = phi - f / ((ge + gh) * mag * sp * sm)
        if not np.isfinite(pn) or pn < lo or pn > hi:
            pn = 0.5 * (lo + hi)
        done = abs(pn - phi) <= 1e-11 * max(1.0, abs(phi))
        phi = pn
        if done:
            break
    if not abs(phi - at) <= 1e-11 * max(1.0, abs(at)):  # iterations exhausted: evaluate where they ended
        _, ln_ih, ge, gh, sp, sm = _split_eval(mag, phi, z, vt, a_s, ln_ie0, ln_ih0, beta)
        at = phi
    # d ln I_hop / d phi = -g_h mag sigma sigma': the last (sub-1e-11) step to first order
    i = math.exp(ln_ih - gh * mag * sp * sm * (phi - at))
    # dI/dmag = I / (1/(dlnI_et/deta_et) + 1/(dlnI_hop/deta_hop)): the two overpotentials in series
    return i, i / (1.0 / ge + 1.0 / gh), phi


@_jit
def _gap(x, v, c, m0, phi0, warm):
    """Gap voltage, ionic current magnitude, tunnelling conductance, filament resistance at applied voltage v,
    and the solution (|V_gap|, split phi) for the next warm start.

    V = V_gap (1 + (R_S + R_fil) G_tu) + (R_S + R_fil) I_ion(V_gap). ``warm``: Newton on the pair
    (|V_gap|, phi) of this equation and the split equation from (m0, phi0), the previous solution along the
    trajectory (quadratic, usually 2-4 iterations, converged to 1e-12 |V| in V_gap and 1e-11 in phi; if it
    fails to converge in 12 iterations or leaves the bracket, the cold solve runs). Cold: safeguarded Newton
    on |V_gap| (the residual is monotone, negative at 0 and >= 0 at V / (1 + (R_S + R_fil) G_tu), the start),
    each iterate's split solved by :func:`_split`."""
    vt, z, a_s, ln_ie0, ln_ih0 = c[0], c[1], c[2], c[3], c[4]
    beta = c[5] / x
    gt = _g_tunnel_c(x, c)
    rf = c[9] * (c[10] - x)
    r_tot = c[11] + rf
    d0 = 1.0 + r_tot * gt
    mag_v = abs(v)
    hi = mag_v / d0
    tol_m = 1e-12 * max(mag_v, 1e-3)
    if warm and 0.0 < m0 and np.isfinite(phi0):
        m = min(m0, hi)
        phi = phi0
        for _ in range(12):
            f1, ln_ih, ge, gh, sp, sm = _split_eval(m, phi, z, vt, a_s, ln_ie0, ln_ih0, beta)
            i = math.exp(ln_ih)
            f2 = m * d0 + r_tot * i - mag_v
            cc = m * sp * sm  # d eta_et / d phi = -d eta_hop / d phi
            j11 = ge * sp - gh * sm
            j12 = (ge + gh) * cc
            j21 = d0 + r_tot * i * gh * sm
            j22 = -r_tot * i * gh * cc
            det = j11 * j22 - j12 * j21  # < 0: j12 j21 > |j11 j22| whenever cc > 0
            dm = (j12 * f2 - j22 * f1) / det
            dp = (j21 * f1 - j11 * f2) / det
            if not (np.isfinite(dm) and np.isfinite(dp)):
                break
            if abs(dm) <= 1e-8 * mag_v and abs(dp) <= 1e-8 * max(1.0, abs(phi)):
                # quadratic convergence: the error after this step is ~1e-16 relative; the current follows
                # to first order in it (second order ~(g_h dm)^2 < 1e-13)
                i *= math.exp(gh * (sm * dm - cc * dp))
                m += dm
                return math.copysign(m, v), i, gt, rf, m, phi + dp
            m += dm
            phi += dp
            if not (0.0 < m < 2.0 * hi) or abs(phi) > PHI_MAX:
                break
    lo = 0.0
    mag = hi
    phi = 0.0
    use = False
    i = 0.0
    for _ in range(60):
        i, didv, phi = _split(mag, z, vt, a_s, ln_ie0, ln_ih0, beta, phi, use)
        use = True
        resid = mag * d0 + r_tot * i - mag_v
        if resid < 0.0:
            lo = mag
        else:
            hi = mag
        new = mag - resid / (d0 + r_tot * didv)
        if not np.isfinite(new) or new < lo or new > hi:
            new = 0.5 * (lo + hi)
        step = new - mag
        mag = new
        if abs(step) <= tol_m:
            i += didv * step  # first order in a step of < 1e-12 relative
            break
    else:
        i, _, phi = _split(mag, z, vt, a_s, ln_ie0, ln_ih0, beta, phi, use)
    return math.copysign(mag, v), i, gt, rf, mag, phi


@_jit
def _rate(x, v, c, rest, m0, phi0, warm):
    """dx/dt (m/s), the power in the device (W) and the solution (|V_gap|, phi) for the next warm start.

    ``rest``: the unbiased cell (Gibbs-Thomson overpotential on the dissolution branch, power 0)."""
    if rest:
        eta = c[13]
        if eta <= 0.0:
            return 0.0, 0.0, 0.0, 0.0
        i, _, phi = _split(eta, c[1], c[0], c[2], c[3], c[4], c[5] / x, phi0, warm)
        return c[6] * i, 0.0, eta, phi
    if v == 0.0:
        return 0.0, 0.0, 0.0, 0.0
    vg, i, gt, rf, m, phi = _gap(x, v, c, m0, phi0, warm)
    sg = math.copysign(1.0, v)
    i_f = gt * vg + sg * i
    v_dev = vg + i_f * rf
    return -sg * c[6] * i, abs(v_dev * i_f) + c[12] * v_dev * v_dev, m, phi


@_jit
def _rate_h(x, v, c, rest, hist):
    """:func:`_rate` warm-started from ``hist`` = (x_a, m_a, phi_a, x_b, m_b, phi_b, count), the last two
    solutions along the trajectory (linear inter-/extrapolation in x between them, the last one alone if
    the new point is farther than twice their distance); returns the rate, the power and the updated history."""
    xa, ma, pa, xb, mb, pb, nh = hist
    m0, p0 = mb, pb
    if nh >= 2.0 and xb != xa:
        t = (x - xb) / (xb - xa)
        if -2.0 <= t <= 2.0:
            m0 += (mb - ma) * t
            p0 += (pb - pa) * t
    k, pw, m, p = _rate(x, v, c, rest, m0, p0, nh > 0.0)
    return k, pw, (xb, mb, pb, x, m, p, nh + 1.0)


@_jit
def _pulse_one(x, nu, v, temp, width, stop, has_stop, rest, q, e_nuc, frac, s_min, s_max, max_log, floor,
               max_sub):
    """One device, one rectangular pulse: (gap, nucleation, energy, elapsed, finished).

    ``e_nuc`` scales the nucleation time of this device: 1 for the deterministic reduced time, the device's
    Exp(1) threshold of the integrated hazard for stochastic nucleation (nucleation is then the fraction of
    that threshold reached)."""
    L = q[I_L]
    lo = q[I_XMIN]
    if has_stop:
        lo = max(lo, stop)
    rem = width
    energy = 0.0
    elapsed = 0.0
    if v == 0.0 or not rem > 0.0:
        return x, nu, energy, elapsed, True
    c = _consts(temp, v, rest, q)
    d = -math.copysign(1.0, v)
    hist = (0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0)  # warm starts of the divider solve: solutions along the path
    if not rest and nu < 1.0 and x >= L:
        # nucleation: exact additive reduced time, t_nuc at the gap voltage of the filament-free cell
        ln_tn = np.inf
        vg = v / (1.0 + q[I_RS] * _g_tunnel_c(L, c))
        if vg > 0.0:
            kt = K_B * temp
            ln_tn = (math.log(q[I_T0]) + q[I_DGN] / kt - (q[I_NC] + q[I_ANUC]) * q[I_Z] * Q_E * vg / kt)
        t_nuc = math.exp(min(ln_tn, 700.0)) * e_nuc
        _, pw, hist = _rate_h(x, v, c, rest, hist)
        need = (1.0 - nu) * t_nuc
        if need >= rem or not np.isfinite(need):
            nu = min(nu + rem / t_nuc, 1.0)
            if np.isfinite(rem):
                energy += pw * rem
            elapsed += np.inf if has_stop else rem
            rem = 0.0
        else:
            nu = 1.0
            energy += pw * need
            elapsed += need
            rem -= need
    ok = True
    if (nu >= 1.0 or x < L) and rem > 0.0 and not (has_stop and x <= lo):
        ok = False
        cached = False
        k1, p1 = 0.0, 0.0
        for _ in range(max_sub):
            if not cached:
                k1, p1, hist = _rate_h(x, v, c, rest, hist)
            cached = False
            dx = min(max(frac * x, s_min), s_max)
            # limit the change of ln|dx/dt| across the step (steep near contact, where R_S takes the voltage)
            xp = min(max(x + d * dx, lo), L)
            kp, pp, hist = _rate_h(xp, v, c, rest, hist)
            dlog = abs(math.log(abs(kp) / abs(k1)))
            if dlog > max_log:
                dx *= max_log / dlog
            dx = max(dx, floor)
            xn = min(max(x + d * dx, lo), L)
            h = xn - x
            if h != 0.0:
                partial = abs(k1) * rem <= 0.5 * abs(h)  # the rest of the pulse moves the gap by < half a step
                if not partial:
                    tau = 0.0
                    e_step = 0.0
                    for node, wgt in ((-GL_X0, GL_W0), (0.0, GL_W1), (GL_X0, GL_W0)):
                        f, pw, hist = _rate_h(x + 0.5 * h * (1.0 + node), v, c, rest, hist)
                        inv = abs(0.5 * h * wgt) / abs(f)
                        tau += inv
                        e_step += pw * inv
                    if tau <= rem:
                        x = xn
                        if xn == xp:  # the probe was the end of this step: it starts the next one
                            k1, p1, cached = kp, pp, True
                        rem -= tau
                        energy += e_step
                        elapsed += tau
                        if not np.isfinite(tau):  # the gap stops moving: the target is never reached
                            elapsed = np.inf
                            rem = 0.0
                    else:
                        partial = True
                if partial:  # one classical RK4 step in time over the remaining pulse
                    dt = rem
                    k2, p2, hist = _rate_h(min(max(x + 0.5 * dt * k1, lo), L), v, c, rest, hist)
                    k3, p3, hist = _rate_h(min(max(x + 0.5 * dt * k2, lo), L), v, c, rest, hist)
                    k4, p4, hist = _rate_h(min(max(x + dt * k3, lo), L), v, c, rest, hist)
                    x = min(max(x + dt * (k1 + 2.0 * k2 + 2.0 * k3 + k4) / 6.0, lo), L)
                    energy += dt * (p1 + 2.0 * p2 + 2.0 * p3 + p4) / 6.0
                    elapsed += dt
                    rem = 0.0
            if rem > 0.0 and ((x <= lo and d < 0.0) or (x >= L and d > 0.0)):
                # at a bound, pushed outward: hold the state for the rest of the pulse
                if not has_stop:
                    _, pw, hist = _rate_h(x, v, c, rest, hist)
                    energy += pw * rem
                    elapsed += rem
                rem = 0.0
            if not rem > 0.0:
                ok = True
                break
    if x >= L and d > 0.0:
        nu = 0.0  # the filament is dissolved: nucleation starts again
    return x, nu, energy, elapsed, ok


# -- tabulated flow map: one table per pulse condition, shared by all devices ----------------------------------------

#: grid of the tables (see "Tabulated pulses" in the module docstring): knots from x_min to L, spacing
#: clip(TAB_FRAC x, TAB_MIN_STEP, TAB_MAX_STEP) shortened so that ln|dx/dt| changes by at most TAB_MAX_LOG
TAB_FRAC, TAB_MIN_STEP, TAB_MAX_STEP, TAB_MAX_LOG, TAB_FLOOR = 0.01, 0.001 * NM, 0.1 * NM, 0.05, 1e-6 * NM
TAB_MAX_KNOTS = 20_000
TAB_BLOCK = 32
#: from this many devices a call whose parameters and pulse condition are shared uses the table (building it costs
#: about as much as a few hundred device-pulses of the sub-step integrator)
TABLE_MIN = 256


@_jit
def _build_table(v, temp, q):
    """The gap grid of one pulse condition: (knot rows: gap, 1/|dx/dt|, |dx/dt|, power; interval rows: duration,
    energy, 1/width, 1/duration; block-local running sums of durations and energies; block sums; number of
    intervals; t_nuc of the filament-free cell; ok).

    Knots ascend from x_min to L; each interval's duration :math:`\\int dx/|f|` and energy :math:`\\int P dx/|f|`
    are 3-point Gauss-Legendre quadratures (the intervals are 10x finer in ln|f| than the sub-steps of
    :func:`_pulse_one`). ``ok`` is False when the rate vanishes or overflows somewhere (then the sub-step
    integrator runs instead)."""
    c = _consts(temp, v, False, q)
    lo, L = q[I_XMIN], q[I_L]
    kmax = TAB_MAX_KNOTS
    g, s, pw = np.empty(kmax + 1), np.empty(kmax + 1), np.empty(kmax + 1)
    dtau, den = np.empty(kmax), np.empty(kmax)
    hist = (0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0)
    x = lo
    f, p, hist = _rate_h(x, v, c, False, hist)
    g[0], s[0], pw[0] = x, 1.0 / abs(f), p
    k = 0
    ok = np.isfinite(s[0]) and np.isfinite(p)
    while ok and x < L:
        if k >= kmax:
            ok = False
            break
        h = min(max(TAB_FRAC * x, TAB_MIN_STEP), TAB_MAX_STEP)
        xp = min(x + h, L)
        fp, pp, hist = _rate_h(xp, v, c, False, hist)
        dlog = abs(math.log(abs(fp) / abs(f)))
        if dlog > TAB_MAX_LOG:
            h *= TAB_MAX_LOG / dlog
        h = max(h, TAB_FLOOR)
        xn = min(x + h, L)
        if xn != xp:
            fp, pp, hist = _rate_h(xn, v, c, False, hist)
        hh = xn - x
        tau = 0.0
        e = 0.0
        for node, wgt in ((-GL_X0, GL_W0), (0.0, GL_W1), (GL_X0, GL_W0)):
            ff, pn, hist = _rate_h(x + 0.5 * hh * (1.0 + node), v, c, False, hist)
            inv = 0.5 * hh * wgt / abs(ff)
            tau += inv
            e += pn * inv
        dtau[k], den[k] = tau, e
        k += 1
        g[k], s[k], pw[k] = xn, 1.0 / abs(fp), pp
        ok = np.isfinite(tau) and np.isfinite(e) and np.isfinite(s[k]) and s[k] > 0.0 and np.isfinite(pp)
        x, f = xn, fp
    # nucleation time of the filament-free cell (as _pulse_one)
    ln_tn = np.inf
    vg = v / (1.0 + q[I_RS] * _g_tunnel_c(L, c))
    if vg > 0.0:
        kt = K_B * temp
        ln_tn = (math.log(q[I_T0]) + q[I_DGN] / kt - (q[I_NC] + q[I_ANUC]) * q[I_Z] * Q_E * vg / kt)
    # block-local running sums (blocks of TAB_BLOCK intervals): a pulse crosses whole blocks and finds its last
    # interval by bisection, and the sums stay accurate where durations span many decades along the gap
    nb = max(1, (k + TAB_BLOCK - 1) // TAB_BLOCK)
    cum, blk = np.zeros((2, k + 1)), np.zeros((2, nb))
    for i in range(k):
        b = i // TAB_BLOCK
        c0 = 0.0 if i % TAB_BLOCK == 0 else cum[0, i]
        e0 = 0.0 if i % TAB_BLOCK == 0 else cum[1, i]
        if (i + 1) % TAB_BLOCK != 0:
            cum[0, i + 1], cum[1, i + 1] = c0 + dtau[i], e0 + den[i]
        blk[0, b], blk[1, b] = c0 + dtau[i], e0 + den[i]
    kn, iv = np.empty((4, k + 1)), np.empty((4, max(k, 1)))  # knots: gap, 1/|f|, |f|, power; intervals below
    kn[0], kn[1], kn[2], kn[3] = g[:k + 1], s[:k + 1], 1.0 / s[:k + 1], pw[:k + 1]
    iv[:, :] = 1.0
    if k:  # duration, energy and their reciprocal width and duration (no division in the walk)
        iv[0, :k], iv[1, :k] = dtau[:k], den[:k]
        iv[2, :k], iv[3, :k] = 1.0 / (g[1:k + 1] - g[:k]), 1.0 / dtau[:k]
    return kn, iv, cum, blk, k, math.exp(min(ln_tn, 700.0)), ok


@_jit_inline
def _move(ta, tb, h, y1, r, f0, f1, e1, p0, p1):
    """Gap and energy change between the times ``ta`` and ``tb`` (0..y1) into an interval of width h, duration
    y1 (r = 1/y1) and energy e1: differences of the cubic Hermites in time of the gap offset (u(0) = 0,
    u(y1) = h, du/dtau = f0, f1 at the knots, the rates) and of the energy (E(0) = 0, E(y1) = e1, dE/dtau = P,
    the powers). Explicit (no iteration); the inverse map matches the forward Hermite of the interval (time
    against gap, in :func:`_walk`) to the interpolation error, (h d ln|f|/dx)^4 / 384 of it at most (below
    2e-8 on the grid of :func:`_build_table`), and as differences a short move is the rate (power) times its
    duration to first order."""
    a0, a1 = y1 * f0, y1 * f1
    b0, b1 = y1 * p0, y1 * p1
    th = min(max(ta * r, 0.0), 1.0)
    t2 = th * th
    t3 = t2 * th
    c10, c01, c11 = t3 - 2.0 * t2 + th, 3.0 * t2 - 2.0 * t3, t3 - t2
    ua = c10 * a0 + c01 * h + c11 * a1
    ea = c10 * b0 + c01 * e1 + c11 * b1
    th = min(max(tb * r, 0.0), 1.0)
    t2 = th * th
    t3 = t2 * th
    c10, c01, c11 = t3 - 2.0 * t2 + th, 3.0 * t2 - 2.0 * t3, t3 - t2
    return (c10 * a0 + c01 * h + c11 * a1) - ua, (c10 * b0 + c01 * e1 + c11 * b1) - ea


@_jit_inline
def _find(x, g, nk, hint):
    """Interval j with g[j] <= x < g[j + 1] (j = nk - 1 at L): the hint if it holds, else by bisection without
    branches on the data (the same j either way)."""
    if 0 <= hint < nk and g[hint] <= x and (x < g[hint + 1] or hint == nk - 1):
        return hint
    j, m = 0, nk
    while m > 1:
        half = m >> 1
        j = j + half if g[j + half] <= x else j
        m -= half
    return j


@_jit_inline
def _walk(x, rem, up, kn, iv, cum, blk, nk, hint):
    """Move the gap from x for the time ``rem`` along the table (``up``: opening, else closing): (gap, energy,
    time left at the bound, interval of the end). Whole intervals are crossed by their tabulated durations and
    energies (whole blocks of them by the block sums, the last block's intervals by bisection in its running
    sums), the last interval by :func:`_move`. ``hint``: a guess of x's interval (-1: none)."""
    g = kn[0]
    j = _find(x, g, nk, hint)
    h = g[j + 1] - g[j]
    t = min(max((x - g[j]) * iv[2, j], 0.0), 1.0)
    t2 = t * t
    t3 = t2 * t  # time from the lower knot to x: cubic Hermite in the gap, slopes 1/|f|
    tau_u = (t3 - 2.0 * t2 + t) * h * kn[1, j] + (3.0 * t2 - 2.0 * t3) * iv[0, j] + (t3 - t2) * h * kn[1, j + 1]
    energy = 0.0
    if up:
        need = iv[0, j] - tau_u
        if need > rem:  # ends inside this interval
            du, de = _move(tau_u, tau_u + rem, h, iv[0, j], iv[3, j], kn[2, j], kn[2, j + 1], iv[1, j], kn[3, j],
                           kn[3, j + 1])
            return min(max(x + du, g[j]), g[j + 1]), de, 0.0, j
        rem -= need
        energy += _move(tau_u, iv[0, j], h, iv[0, j], iv[3, j], kn[2, j], kn[2, j + 1], iv[1, j], kn[3, j],
                        kn[3, j + 1])[1]
        k = j + 1
        while True:
            if k >= nk:
                return g[nk], energy, rem, nk - 1
            bb = k // TAB_BLOCK
            top = min((bb + 1) * TAB_BLOCK, nk)
            full = blk[0, bb] - cum[0, k]
            if full <= rem:
                rem -= full
                energy += blk[1, bb] - cum[1, k]
                k = top
                continue
            lo, hi = k, top  # the last knot of the block reached: cum <= cum[k] + rem
            goal = cum[0, k] + rem
            while hi - lo > 1:
                mid = (lo + hi) >> 1
                if cum[0, mid] <= goal:
                    lo = mid
                else:
                    hi = mid
            rem -= cum[0, lo] - cum[0, k]
            energy += cum[1, lo] - cum[1, k]
            j = lo
            break
        h = g[j + 1] - g[j]
        du, de = _move(0.0, rem, h, iv[0, j], iv[3, j], kn[2, j], kn[2, j + 1], iv[1, j], kn[3, j], kn[3, j + 1])
        return min(g[j] + du, g[j + 1]), energy + de, 0.0, j
    if tau_u > rem:  # ends inside this interval
        du, de = _move(tau_u - rem, tau_u, h, iv[0, j], iv[3, j], kn[2, j], kn[2, j + 1], iv[1, j], kn[3, j],
                       kn[3, j + 1])
        return min(max(x - du, g[j]), g[j + 1]), de, 0.0, j
    rem -= tau_u
    energy += _move(0.0, tau_u, h, iv[0, j], iv[3, j], kn[2, j], kn[2, j + 1], iv[1, j], kn[3, j], kn[3, j + 1])[1]
    k = j
    while True:
        if k <= 0:
            return g[0], energy, rem, 0
        bb = (k - 1) // TAB_BLOCK
        base = bb * TAB_BLOCK
        full, efull = (blk[0, bb], blk[1, bb]) if k % TAB_BLOCK == 0 else (cum[0, k], cum[1, k])
        if full <= rem:
            rem -= full
            energy += efull
            k = base
            continue
        lo, hi = base, k  # the last knot reached: the smallest i with full - cum[i] <= rem (cum[base] = 0)
        goal = full - rem
        while hi - lo > 1:
            mid = (lo + hi) >> 1
            if cum[0, mid] >= goal:
                hi = mid
            else:
                lo = mid
        if hi < k:
            rem -= full - cum[0, hi]
            energy += efull - cum[1, hi]
        j = hi - 1
        break
    h = g[j + 1] - g[j]
    du, de = _move(iv[0, j] - rem, iv[0, j], h, iv[0, j], iv[3, j], kn[2, j], kn[2, j + 1], iv[1, j], kn[3, j],
                   kn[3, j + 1])
    return min(max(g[j + 1] - du, g[j]), g[j + 1]), energy + de, 0.0, j


@_jit_inline
def _pulse_tab(x, nu, v, width, e_nuc, t_nuc0, L, kn, iv, cum, blk, nk, hint):
    """One device, one rectangular pulse on its condition's table (:func:`_build_table`): (gap, nucleation,
    energy, interval of the end gap, a hint for the next pulse on this table). Nucleation as in
    :func:`_pulse_one` (exact reduced time), then the flow map of the gap; a device reaching x_min (SET) or L
    (RESET) is held there for the rest of the pulse."""
    rem = width
    energy = 0.0
    if v == 0.0 or not rem > 0.0:
        return x, nu, energy, hint
    up = v < 0.0
    if nu < 1.0 and x >= L:
        t_nuc = t_nuc0 * e_nuc
        need = (1.0 - nu) * t_nuc
        if need >= rem or not np.isfinite(need):
            nu = min(nu + rem / t_nuc, 1.0)
            if np.isfinite(rem):
                energy += kn[3, nk] * rem
            rem = 0.0
        else:
            nu = 1.0
            energy += kn[3, nk] * need
            rem -= need
    if (nu >= 1.0 or x < L) and rem > 0.0:
        x, e, left, hint = _walk(x, rem, up, kn, iv, cum, blk, nk, hint)
        energy += e
        if left > 0.0:  # at a bound, pushed outward: held there
            energy += (kn[3, nk] if up else kn[3, 0]) * left
    if x >= L and up:
        nu = 0.0  # the filament is dissolved: nucleation starts again
    return x, nu, energy, hint


def _tab_kernel_py(x, nu, v, width, e_nuc, t_nuc0, L, kn, iv, cum, blk, nk):
    n = x.size
    xo, nuo, eo = np.empty(n), np.empty(n), np.empty(n)
    for k in numba.prange(n):
        xo[k], nuo[k], eo[k], _ = _pulse_tab(x[k], nu[k], v, width[k], e_nuc[k], t_nuc0, L, kn, iv, cum, blk, nk, -1)
    return xo, nuo, eo


def _serial_twin(fn, name):
    """The same code under its own name (its own cache entry), compiled serially: prange runs as range."""
    f = types.FunctionType(fn.__code__, fn.__globals__, name)
    f.__qualname__ = name
    return f


_tab_kernel_parallel = numba.njit(cache=True, error_model="numpy", parallel=True)(_tab_kernel_py)
_tab_kernel_serial = _jit(_serial_twin(_tab_kernel_py, "_tab_kernel_serial"))


# Loops over devices: a serial and a parallel twin (numba caches them separately); see PARALLEL_MIN.
@_jit
def _pulse_kernel_serial(x, nu, v, temp, width, stop, has_stop, rest, qs, e_nuc, frac, s_min, s_max, max_log,
                         floor, max_sub):
    n = x.size
    xo, nuo, eo, to = np.empty(n), np.empty(n), np.empty(n), np.empty(n)
    good = np.empty(n, dtype=np.bool_)
    for k in range(n):
        xo[k], nuo[k], eo[k], to[k], good[k] = _pulse_one(
            x[k], nu[k], v[k], temp[k], width[k], stop[k], has_stop, rest, qs[k], e_nuc[k], frac, s_min, s_max,
            max_log, floor, max_sub)
    return xo, nuo, eo, to, good


@numba.njit(cache=True, error_model="numpy", parallel=True)
def _pulse_kernel_parallel(x, nu, v, temp, width, stop, has_stop, rest, qs, e_nuc, frac, s_min, s_max, max_log,
                           floor, max_sub):
    n = x.size
    xo, nuo, eo, to = np.empty(n), np.empty(n), np.empty(n), np.empty(n)
    good = np.empty(n, dtype=np.bool_)
    for k in numba.prange(n):  # devices are independent: spread them over the cores
        xo[k], nuo[k], eo[k], to[k], good[k] = _pulse_one(
            x[k], nu[k], v[k], temp[k], width[k], stop[k], has_stop, rest, qs[k], e_nuc[k], frac, s_min, s_max,
            max_log, floor, max_sub)
    return xo, nuo, eo, to, good


@_jit
def _rate_kernel(x, v, temp, rest, qs):
    n = x.size
    rate, power = np.empty(n), np.empty(n)
    for k in range(n):
        c = _consts(temp[k], v[k], rest, qs[k])
        rate[k], power[k], _, _ = _rate(x[k], v[k], c, rest, 0.0, 0.0, False)
    return rate, power


@_jit
def _gap_kernel(x, v, temp, qs):
    n = x.size
    vg, cur = np.empty(n), np.empty(n)
    for k in range(n):
        c = _consts(temp[k], v[k], False, qs[k])
        vg[k], cur[k], _, _, _, _ = _gap(x[k], v[k], c, 0.0, 0.0, False)
    return vg, cur


@_jit
def _ion_kernel(x, vg, temp, qs):
    n = x.size
    cur, didv = np.empty(n), np.empty(n)
    for k in range(n):
        c = _consts(temp[k], vg[k], False, qs[k])
        cur[k], didv[k], _ = _split(abs(vg[k]), c[1], c[0], c[2], c[3], c[4], c[5] / x[k], 0.0, False)
    return cur, didv


# -- the fused whole-train kernel (devicelib.engine.KernelSpec) -------------------------------------------------------
# (in this module so that numba's cache of the kernel is renewed whenever the pulse functions above change)

FUSED_STATES = ("gap", "nucleation")


def _ecm_drive(qs, R, pre, tab_of, TK, TV, TC, TB, tnk, ttn, ctl, max_sub, xs, k0, k1, slot, G, E, X, flags,
               noise, key, stats, nblocks):  # pragma: no cover - compiled
    """Pulses k0..k1-1 on every device; ``xs`` (2, n) = (gap, nucleation) updated in place.

    ``qs`` parameter rows (1 shared or n), ``R`` read rows (G_tu x e^{kappa x} / (q/h)^2, kappa, rho_fil, L,
    area, G_el), ``pre`` (N, 5) = amplitude, width, temperature, 1 when the pulse acts, interval (relaxation
    when > 0), ``tab_of[k]`` the table of pulse k (-1: sub-step integrator), the tables' arrays padded in TK
    (knot rows), TV (interval rows), TC, TB (block-local running sums and block sums) with ``tnk`` intervals
    and ``ttn`` nucleation times, ``ctl`` the sub-step control. Returns False when an integration did not
    finish."""
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
        hint = np.empty((tnk.size, CHUNK), dtype=np.int64)  # each device's interval on each table (a guess)
        for c0 in range(a0, a1, CHUNK):
            c1 = min(a1, c0 + CHUNK)
            hint[:, :] = -1
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
                    kn, iv = TK[t, :, :nk + 1], TV[t, :, :nk]
                    cu, bl = TC[t, :, :nk + 1], TB[t, :, :(nk + TAB_BLOCK - 1) // TAB_BLOCK]
                    tn, L = ttn[t], qs[0, I_L]
                    for i in range(c0, c1):
                        x0 = xs[0, i]
                        xs[0, i], xs[1, i], be[i - c0], hint[t, i - c0] = _pulse_tab(
                            x0, xs[1, i], v, w, 1.0, tn, L, kn, iv, cu, bl, nk, hint[t, i - c0])
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
                # the read (Menzel.conductance), in a loop the compiler vectorises (branch-free exp)
                if sp:
                    for i in range(c0, c1):
                        x = xs[0, i]
                        gt = R[i, 0] / x * qh2 * vexp(-R[i, 1] * x)
                        bg[i - c0] = R[i, 5] + gt / (1.0 + R[i, 2] * (R[i, 3] - x) / R[i, 4] * gt)
                else:
                    r0, r1, r2, r3, r4, r5 = R[0, 0], R[0, 1], R[0, 2], R[0, 3], R[0, 4], R[0, 5]
                    for i in range(c0, c1):
                        x = xs[0, i]
                        gt = r0 / x * qh2 * vexp(-r1 * x)
                        bg[i - c0] = r5 + gt / (1.0 + r2 * (r3 - x) / r4 * gt)
                record_chunk(bg, be, xs, c0, c1, a0, b, sl, k, G, E, X, stats, rnoise, key, rec_g, rec_e, rec_x,
                             do_stats)
    return good.all()


_fused_kernels = twin(_ecm_drive, "_ecm_drive_serial")


def _pack_tables(tables):
    """Tables (:func:`_build_table` results) padded into arrays for the kernel."""
    m = max(1, len(tables))
    kmax = max([t[4] for t in tables], default=1)
    nbmax = max(1, (kmax + TAB_BLOCK - 1) // TAB_BLOCK)
    TK, TV = np.ones((m, 4, kmax + 1)), np.ones((m, 4, kmax))
    TC, TB = np.zeros((m, 2, kmax + 1)), np.zeros((m, 2, nbmax))
    tnk, ttn = np.zeros(m, dtype=np.int64), np.zeros(m)
    for j, (kn, iv, cum, blk, nk, tn, _) in enumerate(tables):
        TK[j, :, :nk + 1], TV[j, :, :nk] = kn, iv[:, :nk]
        TC[j, :, :nk + 1], TB[j, :, :blk.shape[1]] = cum, blk
        tnk[j], ttn[j] = nk, tn
    return TK, TV, TC, TB, tnk, ttn


class Menzel(DeviceModel):
    __doc__ = __doc__
    name = "ecm.menzel"
    #: parameters a typical measurement of each data kind identifies (devicelib.fit; rate prefactors,
    #: not activation energies, at one temperature): a choice by identifiability, not a measured value.
    #: A pulse train identifies the growth rate (j0) and, through the fresh read, the electrolyte leakage
    #: G_el; not t0_nuc: at a SET amplitude that grows a filament within microseconds the nucleation time
    #: is picoseconds (1e-11 s at 0.4 V for the defaults), so no pulse of the train resolves it and the
    #: objective is flat in t0_nuc over decades. A single-pulse map across widths and amplitudes near the
    #: threshold resolves the nucleation delay (time to SET) and fits t0_nuc.
    default_vary = {"pulse_train": ("j0", "G_el"), "pulse_map": ("j0", "t0_nuc")}  # noqa: RUF012

    def guess(self, g, amplitude, normalise=True, v_read=0.1) -> dict[str, float]:
        """Data-driven start (devicelib.fit): G_el at which the fresh device (no filament: the electrolyte's
        leakage in parallel with tunnelling across the whole layer) reads the median first read."""
        from ..fit.guess import match_first_read

        g_el = match_first_read(self, g, "G_el", v_read)
        return {} if g_el is None else {"G_el": g_el}
    family = "ecm"
    family_name = "Cation migration (ECM/CBRAM), Menzel filament-gap model"
    amplitude_unit = "V"
    references = (
        "Menzel, Böttger, Waser, J. Appl. Phys. 111, 014501 (2012), doi:10.1063/1.3673239",
        "Menzel, Tappertzhofen, Waser, Valov, Phys. Chem. Chem. Phys. 15, 6945 (2013), doi:10.1039/C3CP50738F",
        "Simmons, J. Appl. Phys. 34, 1793 (1963), doi:10.1063/1.1702682",
        "Valov et al., Nat. Commun. 4, 1771 (2013), doi:10.1038/ncomms2784 (retention: emf of nanoscale cells)",
        "Wang et al., Nat. Mater. 16, 101 (2017), doi:10.1038/nmat4756 (retention: relaxation of Ag filaments)",
        "Menzel, J. Comput. Electron. 16, 1017 (2017), doi:10.1007/s10825-017-1051-2 (review, stochastic models)",
    )
    parameters = (
        Parameter("L", "m", 20 * NM, (2 * NM, 500 * NM), "L", "thickness of the ion-conducting layer", fixed=True),
        Parameter("x_min", "m", 0.1 * NM, (0.02 * NM, 2 * NM), "x_min",
                  "smallest gap (filament touching the active electrode)"),
        Parameter("r_fil", "m", 2 * NM, (0.2 * NM, 50 * NM), "r_fil", "filament radius (A = pi r^2)"),
        Parameter("M", "kg", 1.7912e-25, (1e-26, 1e-24), "M", "mass of one metal atom (Ag 1.7912e-25 kg)",
                  fixed=True),
        Parameter("rho_m", "kg/m^3", 10.49e3, (1e3, 3e4), "rho_m", "mass density of the filament metal",
                  fixed=True),
        Parameter("z", "", 1.0, (1.0, 3.0), "z", "charge number of the mobile cation", fixed=True),
        Parameter("j0", "A/m^2", 6e11, (1e-10, 1e25), "j_0",
                  "exchange current density prefactor (times exp(-dG_et/kT))", log=True),
        Parameter("dG_et", "J", 0.6 * EV, (0.0, 2.0 * EV), "dG_et", "activation energy of electron transfer"),
        Parameter("alpha_et", "", 0.3, (0.05, 0.95), "alpha_et", "charge-transfer coefficient"),
        Parameter("a_hop", "m", 0.25 * NM, (0.05 * NM, 2 * NM), "a", "ion hopping distance", fixed=True),
        Parameter("nu0", "Hz", 1e13, (1e9, 1e15), "nu_0", "attempt frequency of ion hopping", log=True,
                  fixed=True),
        Parameter("c_ion", "1/m^3", 3.2e28, (1e24, 1e30), "c", "concentration of mobile cations", log=True,
                  fixed=True),
        Parameter("dW_hop", "J", 0.05 * EV, (0.0, 2.0 * EV), "dW", "activation energy of ion hopping"),
        Parameter("t0_nuc", "s", 6e-8, (1e-20, 1e3), "t_0", "nucleation time prefactor", log=True),
        Parameter("dG_nuc", "J", 0.8 * EV, (0.0, 3.0 * EV), "dG_nuc", "activation energy of nucleation"),
        Parameter("N_c", "", 2.0, (0.0, 30.0), "N_c", "number of atoms in the critical nucleus"),
        Parameter("alpha_nuc", "", 0.5, (0.0, 1.0), "alpha_nuc", "transfer coefficient of nucleation"),
        Parameter("phi_b", "J", 2.0 * EV, (0.1 * EV, 6.0 * EV), "phi", "tunnelling barrier height"),
        Parameter("m_eff", "", 0.4, (0.01, 3.0), "m*/m_e", "tunnelling effective mass ratio"),
        Parameter("rho_fil", "ohm*m", 1e-7, (1e-9, 1e-3), "rho_fil", "filament resistivity", log=True),
        Parameter("G_el", "S", 1e-9, (1e-15, 1e-3), "G_el", "leakage conductance of the electrolyte (HRS)",
                  log=True),
        Parameter("R_series", "ohm", 5e3, (0.0, 1e9), "R_S", "series resistance of the pulse circuit"),
        Parameter("gamma_s", "J/m^2", 0.0, (0.0, 5.0), "gamma_s",
                  "interface energy of the filament tip (Gibbs-Thomson dissolution at rest; 0: non-volatile)"),
        Parameter("nuc_stochastic", "", 0.0, (0.0, 1.0), "s_nuc",
                  "nucleation switch: 0 = deterministic reduced time (the mean), 1 = Poisson waiting time of mean "
                  "t_nuc (a seeded Exp(1) threshold per device)", fixed=True),
        Parameter("reset_mode", "", 0.0, (0.0, 1.0), "m_RESET",
                  "RESET switch: 0 = the gap opens (rupture at the tip), 1 = the bridged filament first thins "
                  "laterally down to r_min, then ruptures (gradual RESET)", fixed=True),
        Parameter("r_min", "m", 0.15 * NM, (0.05 * NM, 50 * NM), "r_min",
                  "radius at which a thinning filament ruptures (reset_mode = 1)", fixed=True),
        Parameter("x_contact", "m", 0.3 * NM, (0.02 * NM, 2 * NM), "x_c",
                  "gap below which the filament counts as bridged (tunnelling contact; reset_mode = 1)", fixed=True),
    )
    state_variables = (
        StateVariable("gap", "m", ("x_min", "L"), "tunnelling gap x between filament tip and active electrode"),
        StateVariable("nucleation", "", (0.0, 1.0),
                      "nucleation progress (sum of t_p/t_nuc over the device's threshold, 1 unless stochastic; "
                      "growth from 1)"),
    )

    #: gap step control (see module docstring)
    step_fraction = 0.05
    step_min = 0.005 * NM
    step_max = 0.5 * NM
    max_log_change = 0.5
    step_floor = 1e-5 * NM
    max_substeps = 20_000
    newton_iterations = 60

    #: the class can lose its state at rest; an instance is volatile only when gamma_s > 0 (see _check)
    volatile = True

    def _check(self) -> None:
        if np.any(np.asarray(self.params["x_min"]) >= np.asarray(self.params["L"])):
            raise ValueError(f"{self.name}: x_min must be smaller than L")
        self.volatile = bool(np.any(np.asarray(self.params["gamma_s"]) > 0))
        flag = np.asarray(self.params["nuc_stochastic"], dtype=float)
        if np.any((flag != 0.0) & (flag != 1.0)):
            bad = flag[(flag != 0.0) & (flag != 1.0)].ravel()[0] if flag.ndim else float(flag)
            raise ValueError(f"{self.name}.nuc_stochastic = {bad:g}: a switch, 0 (deterministic nucleation, the "
                             f"mean waiting time) or 1 (Poisson nucleation)")
        #: True when apply_pulse draws nucleation thresholds (nuc_stochastic = 1 for any device)
        self.stochastic = bool(np.any(flag == 1.0))
        mode = np.asarray(self.params.get("reset_mode", 0.0), dtype=float)
        if np.any((mode != 0.0) & (mode != 1.0)):
            raise ValueError(f"{self.name}.reset_mode: a switch, 0 (the gap opens) or 1 (lateral thinning, then "
                             f"rupture), got {mode.ravel()[0]:g}")
        if np.any(mode == 1.0) and np.any(np.asarray(self.params["r_min"]) >= np.asarray(self.params["r_fil"])):
            raise ValueError(f"{self.name}: r_min must be smaller than r_fil for the gradual RESET")

    # -- physics -----------------------------------------------------------
    @staticmethod
    def _area(p):
        return np.pi * p["r_fil"] ** 2

    @classmethod
    def _g_tunnel(cls, p, x):
        root = np.sqrt(2.0 * p["m_eff"] * M_E * p["phi_b"])
        kappa = 4.0 * np.pi * root / h_planck
        return cls._area(p) * 1.5 * root / x * (q_e / h_planck) ** 2 * np.exp(-kappa * x)

    @classmethod
    def _r_fil(cls, p, x):
        return p["rho_fil"] * (p["L"] - x) / cls._area(p)

    @classmethod
    def _v_gap(cls, p, x, v):
        """Gap voltage with the ionic current left out of the division (exact before a filament exists)."""
        return v / (1.0 + (p["R_series"] + cls._r_fil(p, x)) * cls._g_tunnel(p, x))

    @staticmethod
    def _flat(p, *arrays):
        """Broadcast 1-D float arrays and the packed parameter rows for the compiled kernels."""
        arrs = np.broadcast_arrays(*(np.atleast_1d(np.asarray(a, dtype=float)) for a in arrays))
        shape = arrs[0].shape
        flat = [np.array(a, dtype=float).ravel() for a in arrs]
        return shape, flat, _pack(p, flat[0].size)

    @classmethod
    def _ion_current(cls, p, x, vg, temp):
        """Magnitude of the ionic current (A) at gap voltage vg: electron transfer and hopping in series."""
        shape, (x, vg, temp), qs = cls._flat(p, x, vg, temp)
        return _ion_kernel(x, vg, temp, qs)[0].reshape(shape)

    @classmethod
    def _gap_solve(cls, p, x, v, temp):
        """Gap voltage (V) and ionic current magnitude (A) under applied voltage v, the ionic current
        included in the division (see :func:`_gap`)."""
        shape, (x, v, temp), qs = cls._flat(p, x, v, temp)
        vg, cur = _gap_kernel(x, v, temp, qs)
        return vg.reshape(shape), cur.reshape(shape)

    @classmethod
    def _eta_gt(cls, p):
        """Gibbs-Thomson overpotential (V) of the hemispherical filament tip: 2 gamma_s Omega / (z q r_fil)."""
        return 2.0 * p["gamma_s"] * p["M"] / p["rho_m"] / (p["z"] * q_e * p["r_fil"])

    @classmethod
    def _rate_power(cls, p, x, v, temp, rest=False):
        """dx/dt (m/s) and the power dissipated in the device (W) at gap x under applied voltage v.

        ``rest``: the unbiased cell, whose tip dissolves under the Gibbs-Thomson overpotential (power 0)."""
        shape, (x, v, temp), qs = cls._flat(p, x, v, temp)
        rate, power = _rate_kernel(x, v, temp, bool(rest), qs)
        return rate.reshape(shape), power.reshape(shape)

    @classmethod
    def _ln_t_nuc(cls, p, x, v, temp):
        kt = k_B * temp
        vg = cls._v_gap(p, x, v)
        ln_t = np.log(p["t0_nuc"]) + p["dG_nuc"] / kt - (p["N_c"] + p["alpha_nuc"]) * p["z"] * q_e * vg / kt
        return np.where(vg > 0, ln_t, np.inf)

    # -- integration ---------------------------------------------------------
    def _packed(self, n: int) -> np.ndarray:
        """:func:`_pack` of the parameters for ``n`` devices, built once per train: cached with the parameter
        objects it used (checked by identity, as :meth:`with_params` replaces them) and the device count."""
        refs = tuple(self.params[k] for k in _KP)
        hit = self.__dict__.get("_pack_cache")
        if hit is not None and hit[1].shape[0] == n and all(a is b for a, b in zip(hit[0], refs, strict=True)):
            return hit[1]
        packed = _pack(self.params, n)
        self.__dict__["_pack_cache"] = (refs, packed)
        return packed

    def _table(self, v: float, temp: float):
        """:func:`_build_table` of one pulse condition for shared parameters (None when a parameter varies between
        devices or the table cannot be built), cached per condition with the parameter objects it used."""
        refs = tuple(self.params[k] for k in _KP)
        if not all(isinstance(a, float) for a in refs):
            return None
        cache = self.__dict__.get("_tab_cache")
        if cache is None or not all(a is b for a, b in zip(cache[0], refs, strict=True)):
            cache = (refs, {})
            self.__dict__["_tab_cache"] = cache
        tabs = cache[1]
        key = (v, temp)
        if key not in tabs:
            if len(tabs) >= 64:  # many conditions (a pulse map): keep the memory bounded
                tabs.clear()
            tab = _build_table(v, temp, _pack(self.params, 1)[0])
            tabs[key] = tab if tab[-1] else None
        return tabs[key]

    def _run(self, gap, nuc, v, temp, width, stop_gap=None, rest=False, e_nuc=None):
        """Integrate one rectangular pulse; returns gap, nucleation, energy, elapsed time.

        ``stop_gap`` (SET only) ends the integration when the gap reaches it; ``elapsed`` is then
        the time taken (inf if never reached). ``rest`` integrates the unbiased cell (retention): the
        gap sees the Gibbs-Thomson overpotential instead of the applied voltage (``v`` < 0 marks the
        devices), there is no nucleation and no energy is recorded. ``e_nuc``: per-device scale of the
        nucleation time (the Exp(1) thresholds of stochastic nucleation; default 1, the reduced time).
        """
        x = np.ascontiguousarray(np.asarray(gap, dtype=float).ravel())
        n = x.size
        if not all(isinstance(a, float) for a in self.params.values()) and self.n_param_devices() not in (None, n):
            raise ValueError(f"{self.name}: per-device parameters for {self.n_param_devices()} devices, "
                             f"state for {n}")
        if stop_gap is None and not rest and n >= TABLE_MIN:
            va, ta = _full(v, n), _full(temp, n)
            tab = self._table(float(va[0]), float(ta[0])) if (va.min() == va.max() and ta.min() == ta.max()) \
                else None
            if tab is not None:  # shared parameters and pulse condition: the tabulated flow map
                kn, iv, cum, blk, nk, t_nuc0, _ = tab
                w = _full(width, n)
                # a look-up is tens of ns: worker threads pay off only for many devices (the engine's threshold)
                kern = _tab_kernel_parallel if n >= SERIAL_BELOW else _tab_kernel_serial
                xo, nuo, energy = kern(x, _full(nuc, n), float(va[0]), w, _full(1.0 if e_nuc is None else e_nuc, n),
                                       t_nuc0, float(self.params["L"]), kn, iv, cum, blk, nk)
                return xo, nuo, energy, w
        kernel = _pulse_kernel_parallel if n >= PARALLEL_MIN else _pulse_kernel_serial
        xo, nuo, energy, elapsed, good = kernel(
            x, _full(nuc, n), _full(v, n), _full(temp, n), _full(width, n),
            _full(0.0 if stop_gap is None else stop_gap, n), stop_gap is not None, bool(rest),
            self._packed(n), _full(1.0 if e_nuc is None else e_nuc, n), float(self.step_fraction),
            float(self.step_min), float(self.step_max),
            float(self.max_log_change), float(self.step_floor), int(self.max_substeps))
        if not good.all():
            raise RuntimeError(f"{self.name}: pulse integration did not finish in {self.max_substeps} sub-steps "
                               f"for {int((~good).sum())} of {n} devices")
        return xo, nuo, energy, elapsed

    # -- the fused simulate engine ------------------------------------------------
    #: the kernel relaxes volatile devices (gamma_s > 0) between pulses itself
    fused_relax = True

    @property
    def fused_available(self) -> bool:
        """Whether the fused kernel (:func:`_ecm_drive`) describes this instance: not with stochastic nucleation
        (the thresholds are drawn from ``self.rng`` on the reference path) or the gradual RESET."""
        return not self.stochastic and not bool(np.any(np.asarray(self.params.get("reset_mode", 0.0)) == 1.0))

    def fused_spec(self, n: int, amplitude, width, temperature=300.0, v_read=0.1, interval=0.0):
        """The fused simulate kernel (:func:`_ecm_drive`) for a pulse train: parameter and read
        rows (one shared row unless parameters vary between devices), each pulse's condition and, for shared
        parameters and at least :data:`TABLE_MIN` devices, the table of each distinct (amplitude, temperature),
        built once per train (the same tables :meth:`apply_pulse` uses)."""
        from ..engine import KernelSpec

        amplitude = np.asarray(amplitude, dtype=float)
        npulse = amplitude.size
        pre = np.zeros((npulse, 5))
        pre[:, 0], pre[:, 1] = amplitude, np.broadcast_to(np.asarray(width, dtype=float), (npulse,))
        pre[:, 2] = np.broadcast_to(np.asarray(temperature, dtype=float), (npulse,))
        pre[:, 3] = (pre[:, 1] > 0) & (amplitude != 0)
        if self.volatile:
            pre[:, 4] = np.broadcast_to(np.asarray(interval, dtype=float), (npulse,))
        shared = all(isinstance(self.params[k], float) for k in _KP)
        qs = _pack(self.params, 1) if shared else np.ascontiguousarray(self._packed(n))
        p = self.params
        area = np.broadcast_to(np.asarray(self._area(p), dtype=float), (qs.shape[0],))
        root = np.sqrt(2.0 * p["m_eff"] * M_E * p["phi_b"])
        cols = (area * 1.5 * root, 4.0 * np.pi * root / h_planck, p["rho_fil"], p["L"], area, p["G_el"])
        R = np.empty((qs.shape[0], len(cols)))
        for j, c in enumerate(cols):
            R[:, j] = c
        tab_of = np.full(npulse, -1, dtype=np.int64)
        tables, index = [], {}
        if shared and n >= TABLE_MIN:
            for k in np.flatnonzero(pre[:, 3]):
                key = (float(pre[k, 0]), float(pre[k, 2]))
                if key not in index:
                    tab = self._table(*key)
                    index[key] = -1 if tab is None else len(tables)
                    if tab is not None:
                        tables.append(tab)
                tab_of[k] = index[key]
        ctl = np.array([self.step_fraction, self.step_min, self.step_max, self.max_log_change, self.step_floor,
                        (q_e / h_planck) ** 2])
        return KernelSpec(states=FUSED_STATES, kernels=_fused_kernels,
                          args=(qs, R, pre, tab_of, *_pack_tables(tables), ctl, int(self.max_substeps)))

    # -- stochastic nucleation ---------------------------------------------------
    def _stochastic_mask(self, n: int) -> np.ndarray | None:
        """Devices with Poisson nucleation (None when no device has it: nothing is drawn)."""
        flag = self.params.get("nuc_stochastic", 0.0)
        if isinstance(flag, float) and flag == 0.0:
            return None
        mask = np.broadcast_to(np.asarray(flag, dtype=float) == 1.0, (n,))
        return mask if mask.any() else None

    def _draw_thresholds(self, mask: np.ndarray, where: np.ndarray | None = None,
                         old: np.ndarray | None = None) -> np.ndarray:
        """Exp(1) thresholds of the integrated nucleation hazard for the stochastic devices (1 for the others);
        with ``where``, only those devices get a new draw and the rest keep ``old``."""
        n = mask.size
        out = np.ones(n) if old is None else np.array(old, dtype=float)
        sel = mask if where is None else mask & where
        k = int(sel.sum())
        if k:
            out[sel] = self.rng.exponential(size=k)
        return out

    def _thresholds(self, state: State, nu: np.ndarray):
        """(mask, thresholds, nucleation) for a pulse: the state's thresholds, or for a state without them
        (built by hand or by the deterministic model) the progress taken as the hazard already accumulated, plus
        a fresh Exp(1) remainder (the Poisson process is memoryless), and the progress rescaled to it."""
        n = nu.size
        mask = self._stochastic_mask(n)
        if mask is None:
            return None, None, nu
        if "_nuc_threshold" in state:
            e = np.where(mask, np.asarray(state["_nuc_threshold"], dtype=float).ravel(), 1.0)
            return mask, e, nu
        rest = self._draw_thresholds(mask)
        done = nu >= 1.0
        e = np.where(mask & ~done, nu + rest, np.where(mask, rest, 1.0))
        return mask, e, np.where(mask & ~done, nu / e, nu)

    # -- the interface ---------------------------------------------------------
    def initial_state(self, n: int) -> State:
        x = np.broadcast_to(np.asarray(self.params["L"], dtype=float), (n,)).copy()
        st = {"gap": x, "nucleation": np.zeros(n)}
        mask = self._stochastic_mask(n)
        if mask is not None:
            st["_nuc_threshold"] = self._draw_thresholds(mask)
        if self._radial_mode(n):
            st["_radius"] = _full(self.params["r_fil"], n)
        return st

    def _radial_mode(self, n: int) -> bool:
        return bool(np.any(np.broadcast_to(np.asarray(self.params.get("reset_mode", 0.0)) == 1.0, (n,))))

    def _with_radius(self, r) -> Menzel:
        """This model with the filament radius replaced by per-device values ``r`` (no re-validation)."""
        new = object.__new__(type(self))
        new.__dict__.update(self.__dict__)
        new.params = dict(self.params)
        new.params["r_fil"] = np.asarray(r, dtype=float)
        return new

    def _lateral(self, x, r, v, temp, remaining, target, grow):
        """Move the radius of bridged filaments towards ``target`` at the interface speed |dx/dt| of the same
        metal/electrolyte interface at this gap; returns radius, energy and the time left.

        Explicit steps of at most 5 % of r (left-point power for the energy), the last one shortened so
        that the radius lands exactly on the target."""
        r, remaining = r.copy(), remaining.copy()
        energy = np.zeros(r.size)
        active = (remaining > 0) & ((r < target) if grow else (r > target))
        for _ in range(self.max_substeps):
            idx = np.flatnonzero(active)
            if idx.size == 0:
                break
            m = object.__new__(type(self))
            m.__dict__.update(self.__dict__)
            m.params = {k: (np.asarray(val)[idx] if np.ndim(val) else val) for k, val in self.params.items()}
            m.params["r_fil"] = r[idx]
            rate, power = m._rate_power(m.params, x[idx], v[idx], temp[idx])
            speed = np.abs(rate)
            dist = np.abs(target[idx] - r[idx])
            with np.errstate(divide="ignore"):
                dt = np.minimum(remaining[idx], np.minimum(0.05 * r[idx], dist) / speed)
            dr = speed * dt
            r[idx] = np.where(dr >= dist * (1 - 1e-12), target[idx], r[idx] + (dr if grow else -dr))
            energy[idx] += power * dt
            remaining[idx] -= dt
            active[idx] = (remaining[idx] > 0) & (r[idx] != target[idx]) & (speed > 0)
        return r, energy, np.maximum(remaining, 0.0)

    def _apply_radial(self, state, amplitude, width, temperature):
        """Pulse with a filament radius (reset_mode = 1): RESET thins a bridged filament to r_min before the
        gap opens; SET closes the gap first, then thickens the bridge back to r_fil."""
        p = self.params
        x0 = np.asarray(state["gap"], dtype=float).ravel()
        n = x0.size
        nu0 = np.asarray(state["nucleation"], dtype=float).ravel()
        r_fil = _full(p["r_fil"], n)
        r0 = _full(state["_radius"], n) if "_radius" in state else r_fil.copy()
        r_min = _full(p["r_min"], n)
        radial = np.broadcast_to(np.asarray(p["reset_mode"], dtype=float) == 1.0, (n,))
        v, temp, width = _full(amplitude, n), _full(temperature, n), _full(width, n)
        mask, e, nu_in = self._thresholds(state, nu0)
        bridged = x0 <= _full(p["x_contact"], n)
        energy = np.zeros(n)
        remaining = width.copy()
        r = r0.copy()
        # RESET of a bridged filament: lateral thinning first
        thin = radial & (v < 0) & bridged & (r0 > r_min)
        if np.any(thin):
            r_t, e_t, rem = self._lateral(x0, r0, v, temp, np.where(thin, remaining, 0.0), r_min, grow=False)
            r = np.where(thin, r_t, r)
            energy += np.where(thin, e_t, 0.0)
            remaining = np.where(thin, rem, remaining)
        # then the gap law (Menzel) with the present radius for the remaining time
        m = self._with_radius(r)
        x, nu, e_gap, _ = m._run(x0, nu_in, v, temp, remaining, e_nuc=e)
        e_total = energy + e_gap
        # SET of a thinned filament: the gap closes, then the bridge thickens back to r_fil
        grow = radial & (v > 0) & (r < r_fil)
        if np.any(grow):
            stop = float(np.min(_full(p["x_contact"], n)))
            xs, nus, e_s, el = m._run(x0, nu_in, v, temp, remaining, stop_gap=stop, e_nuc=e)
            reached = grow & np.isfinite(el) & (el <= remaining)
            if np.any(reached):
                r_g, e_g, _ = self._lateral(xs, r, v, temp, np.where(reached, remaining - el, 0.0), r_fil,
                                            grow=True)
                x = np.where(reached, xs, x)
                nu = np.where(reached, nus, nu)
                r = np.where(reached, r_g, r)
                e_total = np.where(reached, energy + e_s + e_g, e_total)
        out = {"gap": x, "nucleation": nu, "_energy": e_total, "_radius": np.where(radial, r, r_fil)}
        if mask is not None:
            L = _full(p["L"], n)
            reset = (v < 0) & (x >= L) & ((x0 < L) | (nu_in > 0))
            out["_nuc_threshold"] = self._draw_thresholds(mask, reset, e)
        return out

    def apply_pulse(self, state: State, amplitude, width, temperature) -> State:
        x0 = np.asarray(state["gap"], dtype=float).ravel()
        if self._radial_mode(x0.size):
            return self._apply_radial(state, amplitude, width, temperature)
        nu0 = np.asarray(state["nucleation"], dtype=float).ravel()
        mask, e, nu_in = self._thresholds(state, nu0)
        x, nu, energy, _ = self._run(x0, nu_in, amplitude, temperature, width, e_nuc=e)
        out = {"gap": x, "nucleation": nu, "_energy": energy}
        if mask is not None:
            # a RESET that leaves the cell at L has dissolved the filament (or the sub-critical nucleus): the
            # next nucleation is a new Poisson event
            L = np.broadcast_to(np.asarray(self.params["L"], dtype=float), x.shape)
            reset = (np.broadcast_to(np.asarray(amplitude, dtype=float), x.shape) < 0) & (x >= L) & (
                (x0 < L) | (nu_in > 0))
            out["_nuc_threshold"] = self._draw_thresholds(mask, reset, e)
        return out

    def relax(self, state: State, dt, temperature) -> State:
        """The unbiased cell after ``dt`` seconds: the filament tip dissolves under the Gibbs-Thomson
        overpotential (identity when gamma_s = 0). A filament dissolved back to L must nucleate again;
        a cell already at L keeps its nucleation progress."""
        if not self.volatile:
            return state
        x, nu = np.asarray(state["gap"], dtype=float), np.asarray(state["nucleation"], dtype=float)
        L = np.broadcast_to(np.asarray(self.params["L"], dtype=float), x.shape)
        x1, nu1, _, _ = self._run(x, nu, -np.ones(x.size), temperature, dt, rest=True)
        out = dict(state)
        out.update(gap=x1, nucleation=np.where(x >= L, nu, nu1))
        out.pop("_energy", None)
        mask = self._stochastic_mask(x.size)
        if mask is not None:  # a filament dissolved at rest must nucleate again: a new Poisson event
            old = state.get("_nuc_threshold")
            out["_nuc_threshold"] = self._draw_thresholds(mask, (x < L) & (x1 >= L), old) if old is not None \
                else self._draw_thresholds(mask)
        return out

    def retention_rate(self, gap, temperature=300.0) -> np.ndarray:
        """dx/dt (m/s) of the unbiased cell at a given gap (Gibbs-Thomson dissolution; 0 if gamma_s = 0)."""
        gap, temperature = np.broadcast_arrays(*(np.atleast_1d(np.asarray(a, float)) for a in (gap, temperature)))
        rate, _ = self._rate_power(self.params, gap, -np.ones(gap.shape), temperature, rest=True)
        return rate

    def pulse_energy(self, before: State, after: State, amplitude, width, temperature):
        # integrated along the trajectory in apply_pulse: sum of P dt in the device (not in R_series)
        return after["_energy"]

    def conductance(self, state: State, v_read) -> np.ndarray:
        p = self.params
        x = np.asarray(state["gap"], dtype=float)
        if "_radius" in state:  # gradual RESET: the bridge's cross-section follows the filament radius
            p = dict(p)
            r = np.asarray(state["_radius"], dtype=float)
            p["r_fil"] = r if r.shape == x.shape else np.broadcast_to(r, x.shape)
        gt = self._g_tunnel(p, x)
        return p["G_el"] + gt / (1.0 + self._r_fil(p, x) * gt)

    def current(self, state: State, voltage, temperature=300.0) -> np.ndarray:
        """Device current (A) at ``voltage`` (ohmic tunnelling read plus the ionic current)."""
        p = self.params
        x = np.asarray(state["gap"], dtype=float)
        v = np.asarray(voltage, dtype=float)
        vg = v / (1.0 + self._r_fil(p, x) * self._g_tunnel(p, x))
        i_ion = self._ion_current(p, x, vg, np.asarray(temperature, dtype=float))
        return self.conductance(state, 0.1) * v + np.sign(v) * i_ion

    def state_from_conductance(self, g, v_read) -> State:
        p = self.params
        g = np.asarray(g, dtype=float)
        if not np.all(np.isfinite(g)) or np.any(g <= 0):
            raise ValueError(f"{self.name}: conductance must be positive and finite to infer the gap")
        n = g.size
        lo = np.broadcast_to(np.asarray(p["x_min"], float), (n,)).copy()
        hi = np.broadcast_to(np.asarray(p["L"], float), (n,)).copy()
        top = hi.copy()
        for _ in range(80):  # G decreases monotonically with the gap: bisection
            mid = 0.5 * (lo + hi)
            higher = self.conductance({"gap": mid}, v_read) > g
            lo = np.where(higher, mid, lo)
            hi = np.where(higher, hi, mid)
        x = 0.5 * (lo + hi)
        # a tunnelling share below 1e-6 of G cannot be told from the leakage: take the cell as OFF
        # (no filament, gap L, nucleation to do again) -- the usual state of a cell reading the HRS
        off = (hi >= top * (1 - 1e-12)) | (g <= p["G_el"] * (1.0 + 1e-6))
        x = np.where(off, top, x)
        st = {"gap": x, "nucleation": np.where(off, 0.0, 1.0)}
        mask = self._stochastic_mask(n)
        if mask is not None:
            st["_nuc_threshold"] = self._draw_thresholds(mask)
        return st

    def nominal(self) -> Menzel:
        """The deterministic device: nucleation as the reduced time, i.e. at the mean waiting time t_nuc
        (the model itself when no device has stochastic nucleation)."""
        if np.any(np.asarray(self.params.get("nuc_stochastic", 0.0)) == 1.0):
            return self.with_params(nuc_stochastic=0.0)
        return self

    # -- analysis ---------------------------------------------------------------
    def gap_rate(self, gap, voltage, temperature=300.0) -> np.ndarray:
        """dx/dt (m/s) at a given gap, applied voltage and temperature (filament present)."""
        gap, voltage, temperature = np.broadcast_arrays(*(np.asarray(a, float) for a in (gap, voltage, temperature)))
        rate, _ = self._rate_power(self.params, gap, voltage, temperature)
        return rate

    def nucleation_time(self, voltage, temperature=300.0) -> np.ndarray:
        """t_nuc (s) at the applied voltage (gap = L, no filament yet); with stochastic nucleation the mean of
        the exponential waiting time."""
        v, t = np.broadcast_arrays(np.atleast_1d(np.asarray(voltage, float)), np.asarray(temperature, float))
        return np.exp(self._ln_t_nuc(self.params, np.asarray(self.params["L"], float), v, t))

    def set_time(self, voltage, temperature=300.0, gap_target=1.0 * NM) -> np.ndarray:
        """SET time (s) under a constant voltage from the pristine state: nucleation plus growth of
        the filament until the gap reaches ``gap_target`` (one integration, no pulse-width limit).

        With stochastic nucleation each entry is one device's draw, E t_nuc + t_growth with E ~ Exp(1)
        from ``self.rng`` (mean t_nuc + t_growth, standard deviation t_nuc)."""
        v, t = np.broadcast_arrays(np.atleast_1d(np.asarray(voltage, float)), np.asarray(temperature, float))
        if self.n_param_devices() not in (None, v.size):
            raise ValueError(f"{self.name}.set_time: per-device parameters need one voltage per device")
        st = self.initial_state(v.size)
        _, _, _, elapsed = self._run(st["gap"], st["nucleation"], v, t, np.full(v.size, np.inf), stop_gap=gap_target,
                                     e_nuc=st.get("_nuc_threshold"))
        return elapsed
