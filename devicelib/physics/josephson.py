r"""Josephson / superconducting synapses: fluxon-storing loop and magnetic Josephson junction.

Junction physics shared by both models (RCSJ, thermal escape)
------------------------------------------------------------
Resistively and capacitively shunted junction (Stewart 1968, McCumber 1968):

.. math::

    I = I_c \sin\varphi + \frac{\Phi_0}{2\pi R}\dot\varphi + C\frac{\Phi_0}{2\pi}\ddot\varphi,
    \qquad \Phi_0 = h/2e = 2.0678\times10^{-15}\ \mathrm{Wb},

Stewart-McCumber parameter :math:`\beta_c = 2\pi I_c R^2 C/\Phi_0`, zero-bias plasma frequency
:math:`\omega_{p0} = \sqrt{2\pi I_c/(\Phi_0 C)}` (rad/s), at bias :math:`I`:
:math:`\omega_p = \omega_{p0}(1 - (I/I_c)^2)^{1/4}`. Ambegaokar-Baratoff (PRL 10, 486 (1963)):
:math:`I_c R_n = (\pi\Delta/2e)\tanh(\Delta/2kT)` (Nb, Delta = 1.5 meV: 2.356 mV at 0 K).

Thermal escape over the tilted-washboard barrier (Kramers; Fulton & Dunkleberger, PRB 9, 4760
(1974)), cubic approximation of the barrier valid near threshold (it is 6 % below the exact
washboard barrier :math:`(I_c\Phi_0/\pi)(\sqrt{1-i^2} - i\arccos i)` at i = 0):

.. math::

    \Gamma = \frac{\omega_p}{2\pi}\exp\!\left(-\frac{\Delta U}{kT}\right),\qquad
    \Delta U = \frac{2\sqrt2\, I_c\Phi_0}{3\pi}\left(1 - \frac{|I|}{I_c}\right)^{3/2},

so a junction held at current I for a time t switches with :math:`P = 1 - e^{-\Gamma t}`. At
:math:`|I| \ge I_c` there is no barrier and the switch is taken to be immediate (the ~1/f_p
switching time, ps, is neglected against ns pulses). Damping corrections to the prefactor
(Kramers' moderate-damping factor) and quantum tunnelling (below the crossover temperature
:math:`\hbar\omega_p/2\pi k`, ~0.2 K here) are not modelled.

Model ``josephson.fluxon_loop`` (Goteti et al., Sci. Adv. 8, eabn4485 (2022); Cybart et al.,
Nat. Nanotechnol. 10, 598 (2015))
----------------------------------------------------------------------------------------------
A superconducting loop of inductance L closed by a junction (I_c, C) stores an integer number n of
fluxons. Flux quantisation gives the circulating current

.. math::  I_{circ} = (n\Phi_0 - \Phi_{ext})/L .

The junction carries :math:`I_J = I_{bias} + I_{pulse} - I_{circ}` (the circulating current opposes
further entry: Lenz). A fluxon enters (n -> n+1) when :math:`I_J > I_c` and leaves (n -> n-1) when
:math:`I_J < -I_c`; this is the criterion :math:`I_{bias} + I_{pulse} + I_{circ} > I_c` of the physics
notes with the circulating current counted in the junction's direction. Every entry lowers
:math:`|I_J|` by :math:`\Phi_0/L`, so a long pulse well above threshold could let in several
fluxons (one per :math:`\Phi_0/L` of overdrive); ``max_per_pulse`` caps the number one pulse moves
(default 1: an SFQ-like input pulse carries one flux quantum, so each pulse adds +/-1 fluxon as
in the physics notes). Identical pulses of amplitude :math:`I_p` then add one fluxon each until
:math:`I_{bias} + I_p - I_{circ}` falls below threshold: the amplitude sets the ceiling of the
potentiation curve. Near threshold, entries are thermal escapes with rate Gamma.
Metastable states at rest satisfy :math:`|I_{bias} - I_{circ}| < I_c`: about
:math:`2LI_c/\Phi_0 = \beta_L/\pi` states in all, i.e. n = 0 ... ~L I_c/Phi0 fluxons of one polarity
from the empty loop (needs :math:`\beta_L = 2\pi L I_c/\Phi_0 > 1`).

*Weight and read.* The weight is n. A superconducting loop has no dc resistance, so
``conductance`` is that of a readout whose value is linear in the circulating current (e.g. the
output stage of a flux-coupled readout SQUID in its linear range):

.. math::  G = G_{min} + (G_{max} - G_{min})\,\frac{I_{circ} - (I_{bias} - I_c)}{2 I_c},

which maps the metastable window :math:`I_{circ} \in (I_{bias} - I_c, I_{bias} + I_c)` onto
:math:`(G_{min}, G_{max})`; one fluxon is a step :math:`(G_{max} - G_{min})\Phi_0/(2 L I_c)`.
``observe`` gives n, :math:`I_{circ}` (A), the trapped flux :math:`n\Phi_0` (Wb) and the junction
current at rest (A).

*Per pulse (exact sampling).* During the pulse :math:`I_J` is constant between entries, so the
entries form a pure-birth (or death) process with rates :math:`\Gamma_k = \Gamma(I_J - k\Phi_0/L)`.
It is sampled exactly: deterministic entries while :math:`|I_J| \ge I_c`, then successive
exponential waiting times :math:`E/\Gamma_k` (E ~ Exp(1) from ``self.rng``) while time remains.
After the pulse the current returns to :math:`I_{bias}`; fluxons beyond the metastable window leave
at once. Sampling stops when :math:`\Gamma_k t_{rem} < 10^{-15}` (the neglected probability) or
after ``max_per_pulse`` entries.
Escapes against the junction current are neglected (relative rate
:math:`\exp(-[\Delta U(-I) - \Delta U(I)]/kT)`). ``relax`` applies the same process at rest
(thermal loss of weakly bound states), so the model is ``volatile``; deep states do not move.
The probability of at least one entry in a pulse is :math:`1 - e^{-\Gamma_0 t_p}` exactly
(``switching_probability``).

*Energy.* Each fluxon entry is a :math:`2\pi` phase slip across a junction carrying
:math:`\approx I_c`: :math:`E = I_c\Phi_0` per event (0.1 aJ for 50 uA).

Model ``josephson.mjj`` (Schneider et al., Sci. Adv. 4, e1701329 (2018))
-----------------------------------------------------------------------
Nb / Si barrier with Mn nanoclusters / Nb. The weight is the critical current, set by the order
m in [0, 1] of the cluster moments (Schneider: more order, lower I_c; the direction is a
parameter choice here):

.. math::  I_c(m) = I_{c,dis} + (I_{c,ord} - I_{c,dis})\,m .

Order changes only while the junction is resistive (|I| > I_c(m)): each 2 pi phase slip (rate
V/Phi0) lets a fraction p_slip of the clusters re-equilibrate towards the order m_t set by the
field during the pulse (a model hypothesis: the paper reports order changed by electrical pulses
with a small applied field; the per-slip kinetics is ours). Overdamped RCSJ voltage
:math:`V = R_n\sqrt{I^2 - I_c(m)^2}`:

.. math::  \dot m = -p_{slip}\,\frac{R_n\sqrt{I^2 - I_c(m)^2}}{\Phi_0}\,(m - m_t).

Sign convention of the amplitude (the current polarity itself does not order the clusters):
**positive** amplitude = pulse in zero field, clusters disorder (m_t = 0); **negative** amplitude =
pulse with the write field on, clusters order (m_t = m_field). With the default
I_c,ord < I_c,dis positive pulses raise the weight (potentiation).

*Per pulse (closed form, exact).* With :math:`u = I_c(m) = I\cos\theta` and :math:`c = I_c(m_t)`
the equation becomes Adler-like, :math:`\dot\theta = \kappa(I\cos\theta - c)`,
:math:`\kappa = p_{slip}R_n/\Phi_0`, and integrates in closed form: for c < I,
:math:`H(r\tan(\theta/2))` grows by :math:`\kappa s t/2` (H = artanh below 1, arcoth above;
:math:`s = \sqrt{I^2 - c^2}`, :math:`r = \sqrt{(I+c)/(I-c)}`): m approaches m_t asymptotically; for
c > I, :math:`\arctan(r'\tan(\theta/2))` falls by :math:`\kappa s' t/2` until theta = 0, where
I_c(m) = I and the junction returns to the zero-voltage state (writing is self-limiting).
Energy :math:`\int IV dt = I R_n \kappa^{-1}\ln(|u_0 - c|/|u_1 - c|)` exactly
(:math:`I R_n\sqrt{I^2-c^2}\,t_p` when u_0 = c). Tests check both against ``solve_ivp``.
``conductance`` = :math:`I_c(m)/(I_{c,dis}R_n)`: a readout linear in the weight, normalised so a
disordered junction reads its normal-state conductance 1/R_n. ``observe``: order, critical current
(A), spike energy :math:`I_c\Phi_0` (J), plasma frequency (Hz). The clusters are frozen at the
operating temperature (non-volatile); many clusters (>> 1) make the mean-field kinetics
deterministic.

Temperatures at or above the superconducting T_c raise a clear error (ValueError): the models
hold below T_c only. I_c is the value at the operating temperature (no I_c(T) scaling).

References
----------
- U. S. Goteti, H. Cai, J. C. LeFebvre, S. A. Cybart, R. C. Dynes, "Superconducting disordered
  neural networks for neuromorphic processing with fluxons", Sci. Adv. 8, eabn4485 (2022),
  doi:10.1126/sciadv.abn4485.
- S. A. Cybart et al., "Nano Josephson superconducting tunnel junctions in YBa2Cu3O7-delta directly
  patterned with a focused helium ion beam", Nat. Nanotechnol. 10, 598 (2015), doi:10.1038/nnano.2015.76.
- M. L. Schneider et al., "Ultralow power artificial synapses using nanotextured magnetic Josephson
  junctions", Sci. Adv. 4, e1701329 (2018), doi:10.1126/sciadv.1701329.
- V. Ambegaokar, A. Baratoff, PRL 10, 486 (1963), doi:10.1103/PhysRevLett.10.486.
- T. A. Fulton, L. N. Dunkleberger, PRB 9, 4760 (1974), doi:10.1103/PhysRevB.9.4760.
"""

from __future__ import annotations

import numpy as np

from ..core import DeviceModel, Observable, Parameter, State, StateVariable
from ..core import against_state as _like
from ..units import PHI0, k_B, q_e

MEV = 1e-3 * q_e
_U_PREF = 2.0 * np.sqrt(2.0) / (3.0 * np.pi)  # Delta U = _U_PREF * Ic * Phi0 * (1 - i)^(3/2)
_NEGLIGIBLE = 1e-15  # Gamma * t below this: escape neglected


# -- junction physics (functions, SI) -------------------------------------------------------
def stewart_mccumber(ic, r, c):
    """Stewart-McCumber parameter beta_c = 2 pi Ic R^2 C / Phi0 (dimensionless)."""
    return 2.0 * np.pi * np.asarray(ic, float) * np.asarray(r, float) ** 2 * np.asarray(c, float) / PHI0


def plasma_frequency(ic, c, current=0.0):
    """Angular plasma frequency omega_p (rad/s) = sqrt(2 pi Ic/(Phi0 C)) (1 - (I/Ic)^2)^(1/4)."""
    ic = np.asarray(ic, float)
    i = np.minimum(np.abs(np.asarray(current, float)) / ic, 1.0)
    return np.sqrt(2.0 * np.pi * ic / (PHI0 * np.asarray(c, float))) * (1.0 - i * i) ** 0.25


def josephson_energy(ic):
    """E_J = Ic Phi0 / (2 pi) (J)."""
    return np.asarray(ic, float) * PHI0 / (2.0 * np.pi)


def beta_l(inductance, ic):
    """Screening parameter beta_L = 2 pi L Ic / Phi0 (a loop stores flux only if > 1)."""
    return 2.0 * np.pi * np.asarray(inductance, float) * np.asarray(ic, float) / PHI0


def barrier_height(current, ic):
    """Escape barrier (J): (2 sqrt 2 Ic Phi0 / 3 pi) (1 - |I|/Ic)^(3/2); 0 at and above Ic."""
    ic = np.asarray(ic, float)
    i = np.minimum(np.abs(np.asarray(current, float)) / ic, 1.0)
    return _U_PREF * ic * PHI0 * (1.0 - i) ** 1.5


def escape_rate(current, ic, c, temperature):
    """Thermal escape rate Gamma (1/s) = (omega_p/2 pi) exp(-Delta U/kT); +inf at |I| >= Ic."""
    ic = np.asarray(ic, float)
    current = np.asarray(current, float)
    t = np.asarray(temperature, float)
    above = np.abs(current) >= ic
    with np.errstate(over="ignore", under="ignore", divide="ignore"):
        rate = plasma_frequency(ic, c, current) / (2.0 * np.pi) * np.exp(-barrier_height(current, ic) / (k_B * t))
    return np.where(above, np.inf, rate)


def escape_probability(current, ic, c, temperature, duration):
    """P = 1 - exp(-Gamma t) that a junction held at ``current`` for ``duration`` switches."""
    rate = escape_rate(current, ic, c, temperature)
    with np.errstate(invalid="ignore"):
        p = -np.expm1(-rate * np.asarray(duration, float))
    return np.where(np.isinf(rate), 1.0, p)


def bcs_gap(temperature, tc, delta0=None):
    """BCS gap (J), interpolation Delta(T) = Delta0 tanh(1.74 sqrt(Tc/T - 1)); Delta0 = 1.764 k Tc by default."""
    t = np.asarray(temperature, float)
    d0 = 1.764 * k_B * np.asarray(tc, float) if delta0 is None else np.asarray(delta0, float)
    with np.errstate(divide="ignore", invalid="ignore"):
        x = np.where(t > 0, np.tanh(1.74 * np.sqrt(np.maximum(tc / np.where(t > 0, t, 1.0) - 1.0, 0.0))), 1.0)
    return np.where(t >= tc, 0.0, d0 * x)


def ambegaokar_baratoff(delta, temperature=0.0):
    """IcRn product (V) = (pi Delta / 2e) tanh(Delta / 2kT) for an SIS junction with gap ``delta`` (J)."""
    d = np.asarray(delta, float)
    t = np.asarray(temperature, float)
    with np.errstate(divide="ignore", over="ignore"):
        th = np.where(t > 0, np.tanh(d / (2.0 * k_B * np.where(t > 0, t, 1.0))), 1.0)
    return np.pi * d / (2.0 * q_e) * th


# -- helpers ---------------------------------------------------------------------------------

def _per_device(x, n):
    return np.broadcast_to(np.asarray(x, dtype=float), (n,))


class _Superconducting(DeviceModel):
    family = "josephson"
    amplitude_unit = "A"

    def _check_temperature(self, temperature, n=None) -> np.ndarray:
        t = np.asarray(temperature, dtype=float)
        tc = np.asarray(self.params["Tc"], dtype=float)
        if np.any(t <= 0):
            raise ValueError(f"{self.name}: temperature must be positive kelvin, got {np.min(t):g} K")
        if np.any(t >= tc):
            bad = float(np.max(t))
            raise ValueError(
                f"{self.name}: temperature {bad:g} K is not below the superconducting transition Tc = "
                f"{float(np.min(tc)):g} K; the model holds only in the superconducting state (give the pulse "
                "train a cryogenic temperature, e.g. temperature=4.2)")
        return t if n is None else _per_device(t, n)


# =============================================================================================
class FluxonLoop(_Superconducting):
    __doc__ = __doc__
    name = "josephson.fluxon_loop"
    #: parameters a typical measurement of each data kind identifies (devicelib.fit; rate prefactors,
    #: not activation energies, at one temperature): a choice by identifiability, not a measured value
    default_vary = {"pulse_train": ("Ic", "L")}  # noqa: RUF012
    family_name = "Josephson / superconducting: fluxon-storing loop synapse"
    stochastic = True
    volatile = True
    references = (
        "Goteti et al., Sci. Adv. 8, eabn4485 (2022), doi:10.1126/sciadv.abn4485",
        "Cybart et al., Nat. Nanotechnol. 10, 598 (2015), doi:10.1038/nnano.2015.76",
        "Fulton & Dunkleberger, PRB 9, 4760 (1974), doi:10.1103/PhysRevB.9.4760",
    )
    parameters = (
        Parameter("Ic", "A", 50e-6, (1e-8, 1e-2), "I_c", "critical current of the loop junction", log=True),
        Parameter("L", "H", 0.5e-9, (1e-13, 1e-6), "L", "loop inductance (geometric + kinetic)", log=True),
        Parameter("C", "F", 50e-15, (1e-18, 1e-9), "C", "junction capacitance (plasma frequency)", log=True),
        Parameter("R_n", "ohm", 2.0, (1e-4, 1e5), "R_n", "junction normal-state (shunt) resistance", log=True,
                  fixed=True),
        Parameter("I_bias", "A", 0.0, (-1e-2, 1e-2), "I_bias", "dc bias current through the junction"),
        Parameter("Phi_ext", "Wb", 0.0, (-1e-12, 1e-12), "Phi_ext", "external flux applied to the loop"),
        Parameter("Tc", "K", 89.0, (0.1, 200.0), "T_c", "superconducting transition temperature", fixed=True),
        Parameter("max_per_pulse", "", 1.0, (1.0, 1e6), "k_max",
                  "most fluxons one pulse can move (1: SFQ-like input pulse carrying one flux quantum)", fixed=True),
        Parameter("G_min", "S", 1e-6, (1e-15, 1e3), "G_min", "readout conductance at I_circ = I_bias - I_c",
                  log=True, fixed=True),
        Parameter("G_max", "S", 1e-4, (1e-15, 1e3), "G_max", "readout conductance at I_circ = I_bias + I_c",
                  log=True, fixed=True),
    )
    state_variables = (
        StateVariable("fluxons", "", (-1e9, 1e9), "trapped fluxon number n (integer)"),
    )
    observables = (
        Observable("fluxons", "", "trapped fluxon number n"),
        Observable("circulating_current", "A", "I_circ = (n Phi0 - Phi_ext) / L"),
        Observable("trapped_flux", "Wb", "n Phi0"),
        Observable("junction_current", "A", "junction current at rest, I_bias - I_circ"),
    )
    #: safety bound on sequential escapes in one pulse or relaxation
    max_events = 1_000_000

    def _check(self) -> None:
        p = self.params
        if np.any(np.asarray(p["G_min"]) >= np.asarray(p["G_max"])):
            raise ValueError(f"{self.name}: G_min must be smaller than G_max")
        if np.any(np.abs(np.asarray(p["I_bias"])) >= np.asarray(p["Ic"])):
            raise ValueError(f"{self.name}: |I_bias| must be below Ic (the loop would be in the voltage state)")
        bl = beta_l(p["L"], p["Ic"])
        if np.any(bl <= 1.0):
            raise ValueError(f"{self.name}: beta_L = 2 pi L Ic / Phi0 = {float(np.min(bl)):.3g} <= 1: "
                             "the loop cannot store a fluxon (increase L or Ic)")

    # -- derived quantities ------------------------------------------------------------------
    def beta_l(self):
        return beta_l(self.params["L"], self.params["Ic"])

    def beta_c(self):
        return stewart_mccumber(self.params["Ic"], self.params["R_n"], self.params["C"])

    def plasma_frequency(self):
        """Zero-bias plasma frequency f_p = omega_p0 / 2 pi (Hz)."""
        return plasma_frequency(self.params["Ic"], self.params["C"]) / (2.0 * np.pi)

    def metastable_range(self) -> tuple[np.ndarray, np.ndarray]:
        """Smallest and largest n with |I_bias - I_circ| < Ic (states that hold at rest without a pulse)."""
        p = self.params
        lo = (p["L"] * (p["I_bias"] - p["Ic"]) + p["Phi_ext"]) / PHI0
        hi = (p["L"] * (p["I_bias"] + p["Ic"]) + p["Phi_ext"]) / PHI0
        return np.floor(lo) + 1.0, np.ceil(hi) - 1.0

    def storable_states(self):
        """Number of metastable fluxon states, about 2 L Ic / Phi0 (both polarities)."""
        lo, hi = self.metastable_range()
        return hi - lo + 1.0

    def circulating_current(self, n):
        p = self.params
        n = np.asarray(n, dtype=float)
        return (n * PHI0 - _like(p["Phi_ext"], n)) / _like(p["L"], n)

    def switching_probability(self, amplitude, width, temperature, fluxons=None):
        """Probability that a pulse lets in (or out) at least one fluxon: 1 - exp(-Gamma(I_J) t_p), exact."""
        p = self.params
        n = self.initial_state(1)["fluxons"] if fluxons is None else np.asarray(fluxons, float)
        self._check_temperature(temperature)
        ij = p["I_bias"] + np.asarray(amplitude, float) - self.circulating_current(n)
        return escape_probability(ij, p["Ic"], p["C"], temperature, width)

    # -- interface -------------------------------------------------------------------------
    def initial_state(self, n: int) -> State:
        n0 = np.rint(np.asarray(self.params["Phi_ext"], dtype=float) / PHI0)  # I_circ ~ 0
        return {"fluxons": _per_device(n0, n).copy()}

    def _escape(self, n, ij, duration, temperature, cap=np.inf):
        """Exact sampling of sequential fluxon escapes at constant drive, at most ``cap`` of them;
        returns (n, I_J, events)."""
        p = self.params
        size = n.size
        ic, c, step = (_per_device(p[k], size) for k in ("Ic", "C", "L"))
        step = PHI0 / step
        cap = _per_device(cap, size)
        events = np.zeros(size)
        # deterministic entries while |I_J| >= Ic (no barrier): one per Phi0/L of overdrive
        over = np.abs(ij) - ic
        k = np.minimum(np.where(over >= 0, np.floor(over / step) + 1.0, 0.0), cap)
        s = np.sign(ij)
        n, ij, events = n + s * k, ij - s * k * step, events + k
        t_rem = np.array(_per_device(duration, size), dtype=float)
        active = t_rem > 0
        for _ in range(self.max_events):
            rate = escape_rate(ij, ic, c, temperature)
            active &= (rate * t_rem > _NEGLIGIBLE) & (events < cap)
            if not active.any():
                return n, ij, events
            wait = self.rng.exponential(size=size) / np.where(active, rate, 1.0)
            hit = active & (wait < t_rem)
            s = np.sign(ij)
            n = n + s * hit
            ij = ij - s * step * hit
            events = events + hit
            t_rem = np.where(hit, t_rem - wait, t_rem)
            active = hit
        raise RuntimeError(f"{self.name}: more than {self.max_events} fluxon escapes in one step")

    def apply_pulse(self, state: State, amplitude, width, temperature) -> State:
        p = self.params
        n = np.rint(np.asarray(state["fluxons"], dtype=float))
        size = n.size
        t = self._check_temperature(temperature, size)
        a = _per_device(amplitude, size)
        ij = p["I_bias"] + a - self.circulating_current(n)
        n, _ij, ev1 = self._escape(n, ij, width, t, cap=np.rint(p["max_per_pulse"]))
        # pulse over: the junction sees I_bias - I_circ; states outside the metastable window empty at once
        n, _ij, ev2 = self._escape(n, p["I_bias"] - self.circulating_current(n), 0.0, t)
        return {"fluxons": n, "_events": ev1 + ev2}

    def relax(self, state: State, dt, temperature) -> State:
        n = np.rint(np.asarray(state["fluxons"], dtype=float))
        t = self._check_temperature(temperature, n.size)
        n, _ij, _ev = self._escape(n, self.params["I_bias"] - self.circulating_current(n), dt, t)
        return {"fluxons": n}

    def pulse_energy(self, before: State, after: State, amplitude, width, temperature):
        events = after.get("_events")
        if events is None:
            events = np.abs(np.rint(after["fluxons"]) - np.rint(before["fluxons"]))
        return events * np.asarray(self.params["Ic"], float) * PHI0

    def conductance(self, state: State, v_read) -> np.ndarray:
        p = self.params
        n = np.asarray(state["fluxons"], dtype=float)
        ic, ib = _like(p["Ic"], n), _like(p["I_bias"], n)
        g0, g1 = _like(p["G_min"], n), _like(p["G_max"], n)
        frac = np.clip((self.circulating_current(n) - (ib - ic)) / (2.0 * ic), 0.0, 1.0)
        return g0 + (g1 - g0) * frac

    def state_from_conductance(self, g, v_read) -> State:
        p = self.params
        g = np.asarray(g, dtype=float)
        if not np.all(np.isfinite(g)):
            raise ValueError(f"{self.name}: conductance must be finite to infer the fluxon number")
        frac = np.clip((g - p["G_min"]) / (p["G_max"] - p["G_min"]), 0.0, 1.0)
        i_circ = p["I_bias"] - p["Ic"] + 2.0 * p["Ic"] * frac
        return {"fluxons": np.rint((p["L"] * i_circ + p["Phi_ext"]) / PHI0) * np.ones_like(g)}

    def observe(self, state: State) -> dict[str, np.ndarray]:
        n = np.asarray(state["fluxons"], dtype=float)
        ic = self.circulating_current(n)
        return {"fluxons": n, "circulating_current": ic, "trapped_flux": n * PHI0,
                "junction_current": _like(self.params["I_bias"], n) - ic}


# =============================================================================================
class MagneticJJ(_Superconducting):
    __doc__ = __doc__
    name = "josephson.mjj"
    #: parameters a typical measurement of each data kind identifies (devicelib.fit; rate prefactors,
    #: not activation energies, at one temperature): a choice by identifiability, not a measured value
    default_vary = {"pulse_train": ("Ic_dis", "Ic_ord")}  # noqa: RUF012
    family_name = "Josephson / superconducting: magnetic (Mn-cluster) Josephson junction synapse"
    stochastic = False
    volatile = False
    references = (
        "Schneider et al., Sci. Adv. 4, e1701329 (2018), doi:10.1126/sciadv.1701329",
        "Ambegaokar & Baratoff, PRL 10, 486 (1963), doi:10.1103/PhysRevLett.10.486",
    )
    parameters = (
        Parameter("Ic_dis", "A", 300e-6, (1e-9, 1e-1), "I_c,dis", "critical current with disordered clusters (m = 0)",
                  log=True),
        Parameter("Ic_ord", "A", 100e-6, (1e-9, 1e-1), "I_c,ord", "critical current, fully ordered clusters (m = 1)",
                  log=True),
        Parameter("R_n", "ohm", 0.1, (1e-5, 1e4), "R_n", "normal-state resistance (overdamped RCSJ voltage)", log=True),
        Parameter("C", "F", 1e-12, (1e-18, 1e-8), "C", "junction capacitance (plasma frequency, beta_c)", log=True,
                  fixed=True),
        Parameter("p_slip", "", 0.05, (1e-9, 1.0), "p_slip",
                  "fraction of clusters re-equilibrated per 2 pi phase slip", log=True),
        Parameter("m_field", "", 0.8, (0.0, 1.0), "m_field", "cluster order reached under the write field"),
        Parameter("Tc", "K", 9.2, (0.1, 200.0), "T_c", "superconducting transition temperature (Nb)", fixed=True),
    )
    state_variables = (
        StateVariable("order", "", (0.0, 1.0), "magnetic order m of the Mn clusters (0 disordered, 1 ordered)"),
    )
    observables = (
        Observable("order", "", "magnetic order m of the Mn clusters"),
        Observable("critical_current", "A", "I_c(m), the synaptic weight"),
        Observable("spike_energy", "J", "energy of one output spike (2 pi phase slip), I_c Phi0"),
        Observable("plasma_frequency", "Hz", "zero-bias plasma frequency sqrt(2 pi I_c / (Phi0 C)) / 2 pi"),
    )

    def _check(self) -> None:
        if np.any(np.asarray(self.params["Ic_dis"]) == np.asarray(self.params["Ic_ord"])):
            raise ValueError(f"{self.name}: Ic_dis and Ic_ord must differ (the order would not change the weight)")

    def critical_current(self, order):
        p = self.params
        m = np.asarray(order, dtype=float)
        i0 = _like(p["Ic_dis"], m)
        return i0 + (_like(p["Ic_ord"], m) - i0) * m

    def beta_c(self, order=0.0):
        return stewart_mccumber(self.critical_current(order), self.params["R_n"], self.params["C"])

    def initial_state(self, n: int) -> State:
        return {"order": np.zeros(n)}

    def _target(self, amplitude, size):
        a = _per_device(amplitude, size)
        return np.where(a > 0, 0.0, _per_device(self.params["m_field"], size))

    def _evolve(self, m, amplitude, width):
        """Closed-form order after a pulse and the energy delivered (see module docstring)."""
        p = self.params
        size = m.size
        cur = np.abs(_per_device(amplitude, size))
        t = _per_device(width, size)
        i0, i1, rn, ps = (_per_device(p[k], size) for k in ("Ic_dis", "Ic_ord", "R_n", "p_slip"))
        m_t = self._target(amplitude, size)
        u0 = i0 + (i1 - i0) * m
        c = i0 + (i1 - i0) * m_t
        kappa = ps * rn / PHI0
        res = cur > u0  # resistive during the pulse
        safe_i = np.where(res, cur, 1.0)
        theta0 = np.arccos(np.clip(np.where(res, u0 / safe_i, 1.0), -1.0, 1.0))
        half = np.tan(0.5 * theta0)
        u1 = u0.copy()
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            # case c < I: artanh / arcoth branch, fixed point at r tan(theta/2) = 1
            a_ = res & (c < cur)
            s = np.sqrt(np.where(a_, cur**2 - c**2, 1.0))
            r = np.sqrt(np.where(a_, (cur + c) / np.where(a_, cur - c, 1.0), 1.0))
            x0 = r * half
            g = kappa * s * t / 2.0
            below = x0 < 1.0
            x1 = np.where(below, np.tanh(np.arctanh(np.minimum(x0, 1.0 - 1e-300)) + g),
                          1.0 / np.tanh(np.arctanh(1.0 / np.maximum(x0, 1.0)) + g))
            x1 = np.where(x0 == 1.0, 1.0, x1)
            u_a = cur * np.cos(2.0 * np.arctan(x1 / r))
            # case c >= I: theta falls to 0 where Ic(m) = I (back to the zero-voltage state)
            b_ = res & ~a_
            s2 = np.sqrt(np.where(b_, c**2 - cur**2, 1.0))
            r2 = np.sqrt(np.where(b_, (c + cur) / np.where(b_ & (c > cur), c - cur, 1e-300), 1.0))
            y1 = np.maximum(np.arctan(r2 * half) - kappa * s2 * t / 2.0, 0.0)
            u_b = cur * np.cos(2.0 * np.arctan(np.tan(y1) / r2))
        u1 = np.where(a_, u_a, np.where(b_, u_b, u0))
        m1 = np.where(res, (u1 - i0) / (i1 - i0), m)
        # exact energy: I R_n / kappa * ln(|u0 - c| / |u1 - c|); constant voltage when already at the target
        d0, d1 = np.abs(u0 - c), np.abs(u1 - c)
        steady = d0 <= 1e-12 * np.maximum(cur, 1e-300)
        with np.errstate(divide="ignore", invalid="ignore"):
            e_log = cur * rn / kappa * np.log(np.where(steady, 1.0, d0) / np.where(steady | (d1 <= 0), 1.0, d1))
        e_ss = cur * rn * np.sqrt(np.maximum(cur**2 - c**2, 0.0)) * t
        energy = np.where(res, np.where(steady, e_ss, e_log), 0.0)
        return np.clip(m1, 0.0, 1.0) + 0.0, energy

    def apply_pulse(self, state: State, amplitude, width, temperature) -> State:
        m = np.asarray(state["order"], dtype=float)
        self._check_temperature(temperature, m.size)
        m1, energy = self._evolve(m, amplitude, width)
        return {"order": m1, "_energy": energy}

    def pulse_energy(self, before: State, after: State, amplitude, width, temperature):
        e = after.get("_energy")
        return self._evolve(np.asarray(before["order"], float), amplitude, width)[1] if e is None else e

    def conductance(self, state: State, v_read) -> np.ndarray:
        m = np.asarray(state["order"], dtype=float)
        return self.critical_current(m) / (_like(self.params["Ic_dis"], m) * _like(self.params["R_n"], m))

    def state_from_conductance(self, g, v_read) -> State:
        p = self.params
        g = np.asarray(g, dtype=float)
        if not np.all(np.isfinite(g)):
            raise ValueError(f"{self.name}: conductance must be finite to infer the order")
        ic = g * p["Ic_dis"] * p["R_n"]
        return {"order": np.clip((ic - p["Ic_dis"]) / (p["Ic_ord"] - p["Ic_dis"]), 0.0, 1.0)}

    def observe(self, state: State) -> dict[str, np.ndarray]:
        m = np.asarray(state["order"], dtype=float)
        ic = self.critical_current(m)
        return {"order": m, "critical_current": ic, "spike_energy": ic * PHI0,
                "plasma_frequency": plasma_frequency(ic, _like(self.params["C"], m)) / (2.0 * np.pi)}
