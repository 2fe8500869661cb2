r"""Ferroelectric tunnel junction (FTJ): polarisation-controlled tunnelling barrier.

A ferroelectric only a few nm thick (BaTiO3, BiFeO3, HfZrO2) is the tunnel barrier between two
electrodes with different screening. Reversing the polarisation changes the depolarising potential
profile and so the mean barrier height seen by tunnelling electrons: tunnelling electroresistance
(Zhuravlev et al. 2005). The film switches by nucleation of reversed domains; the junction
conductance is that of the up (ON) and down (OFF) domain areas in parallel (Chanthbouala et al.
2012), so the conductance is linear in the switched fraction.

Barrier and read
----------------
Mean barrier height :math:`\bar\phi_{\pm} = \phi_0 \mp \Delta\phi` for polarisation pointing
towards (+, ON) or away from (-, OFF) the electrode with the longer screening length;
:math:`\Delta\phi` is the electrostatic asymmetry :math:`\approx q P_r \delta_{eff}/\varepsilon_0`
(Zhuravlev 2005) and is given directly. Low-bias WKB (Simmons 1963, rectangular barrier of
thickness :math:`d = t_{FE}`, effective mass :math:`m^* = m_r m_0`):

.. math::

    \frac{G}{A} = \frac{3\sqrt{2 m^*\bar\phi}}{2 d}\left(\frac{q}{h}\right)^2
                  \exp\!\left(-\frac{4\pi d}{h}\sqrt{2 m^*\bar\phi}\right),

.. math::  G = A\,[s\, g(\bar\phi_+) + (1 - s)\, g(\bar\phi_-)],\qquad s = (1 + P/P_r)/2.

TER = :math:`g(\bar\phi_+)/g(\bar\phi_-)`. The read is taken in the low-bias limit (independent of
:math:`V_{read}`; valid for :math:`|V| \ll \bar\phi/q`).

Switching (shared with ``fefet.nls``)
------------------------------------
Nucleation-limited switching with a Lorentzian distribution of log switching times (Tagantsev
2002; Jo 2007), using the FeFET family's functions :func:`devicelib.physics.fefet.nls_t1` and
:func:`devicelib.physics.fefet.nls_step`: the field is :math:`E = V/t_{FE}` (no interlayer; the
whole pulse drops across the ferroelectric), :math:`t_1(E) = \tau_0\exp[(E_a/|E|)^\alpha]`, and
pulses accumulate the reduced time :math:`\sum t_p/t_1(E)`. Positive pulses switch towards
:math:`+P_r` (ON: potentiation). Exact per pulse; deterministic; non-volatile (no depolarisation
back-switching in ``relax``).

Energy per pulse: tunnelling :math:`V^2 G t_p` (trapezoid over the state change, low-bias G) plus
the charge the source moves to reverse the polarisation at the pulse voltage,
:math:`A\,|\Delta P|\,|V|`.

References
----------
- M. Ye. Zhuravlev, R. F. Sabirianov, S. S. Jaswal, E. Y. Tsymbal, "Giant electroresistance in
  ferroelectric tunnel junctions", PRL 94, 246802 (2005), doi:10.1103/PhysRevLett.94.246802.
- A. Chanthbouala et al., "A ferroelectric memristor", Nat. Mater. 11, 860 (2012),
  doi:10.1038/nmat3415 (conductance of up/down domains in parallel, nucleation-dominated switching).
- J. G. Simmons, "Generalized formula for the electric tunnel effect between similar electrodes
  separated by a thin insulating film", J. Appl. Phys. 34, 1793 (1963), doi:10.1063/1.1702682.
- A. K. Tagantsev et al., PRB 66, 214109 (2002), doi:10.1103/PhysRevB.66.214109;
  J. Y. Jo et al., PRL 99, 267602 (2007), doi:10.1103/PhysRevLett.99.267602.
"""

from __future__ import annotations

import numpy as np

from ..core import DeviceModel, Observable, Parameter, State, StateVariable
from ..core import against_state as _like
from ..core import per_device as _bc
from ..units import h_planck, q_e
from .fefet import nls_step, nls_t1

EV = q_e
NM = 1e-9
M_E = 9.1093837015e-31  # kg, electron rest mass (CODATA 2018)


def simmons_conductance(phi, thickness, m_rel=1.0):
    """Low-bias WKB tunnelling conductance per area (S/m^2) of a rectangular barrier (Simmons 1963).

    ``phi`` mean barrier height (J), ``thickness`` (m), ``m_rel`` effective mass / m_0.
    """
    k = np.sqrt(2.0 * m_rel * M_E * np.asarray(phi, dtype=float))
    d = np.asarray(thickness, dtype=float)
    return 1.5 * k / d * (q_e / h_planck) ** 2 * np.exp(-4.0 * np.pi * d * k / h_planck)




class FTJ(DeviceModel):
    __doc__ = __doc__
    name = "ftj.nls_wkb"
    family = "ftj"
    family_name = "Ferroelectric tunnel junction (polarisation-controlled WKB barrier, NLS switching)"
    amplitude_unit = "V"
    references = (
        "Zhuravlev et al., PRL 94, 246802 (2005), doi:10.1103/PhysRevLett.94.246802",
        "Chanthbouala et al., Nat. Mater. 11, 860 (2012), doi:10.1038/nmat3415",
        "Simmons, J. Appl. Phys. 34, 1793 (1963), doi:10.1063/1.1702682",
        "Tagantsev et al., PRB 66, 214109 (2002), doi:10.1103/PhysRevB.66.214109",
    )
    parameters = (
        Parameter("area", "m^2", 1e-13, (1e-18, 1e-6), "A", "junction area", log=True, fixed=True),
        Parameter("t_FE", "m", 2 * NM, (0.3 * NM, 10 * NM), "t_FE", "ferroelectric barrier thickness", fixed=True),
        Parameter("m_rel", "", 1.0, (0.05, 5.0), "m*/m_0", "tunnelling effective mass", fixed=True),
        Parameter("phi0", "J", 0.5 * EV, (0.05 * EV, 3.0 * EV), "phi_0", "mean barrier height at P = 0"),
        Parameter("dphi", "J", 0.15 * EV, (0.0, 1.5 * EV), "Delta phi",
                  "change of the mean barrier height on full polarisation (ON: -, OFF: +)"),
        Parameter("Pr", "C/m**2", 0.2, (0.01, 1.0), "P_r", "remanent polarisation"),
        Parameter("tau0", "s", 1e-9, (1e-13, 1e-3), "tau_0", "attempt time of domain nucleation", log=True),
        Parameter("Ea", "V/m", 2.5e9, (1e7, 2e10), "E_a", "activation field of the NLS switching time"),
        Parameter("alpha", "", 2.0, (1.0, 8.0), "alpha", "field exponent of the NLS switching time"),
        Parameter("w", "", 1.0, (0.02, 5.0), "w", "half width of the Lorentzian of log10 switching times (decades)"),
    )
    state_variables = (
        StateVariable("polarization", "C/m**2", (-np.inf, np.inf), "remanent polarisation (+: ON)"),
    )
    observables = (
        Observable("polarization", "C/m**2", "remanent polarisation"),
        Observable("on_fraction", "", "fraction of the junction area with ON (up) polarisation"),
    )
    default_vary = ("dphi", "tau0", "Ea", "w")

    def _check(self) -> None:
        if np.any(np.asarray(self.params["dphi"]) >= np.asarray(self.params["phi0"])):
            raise ValueError(f"{self.name}: dphi must be smaller than phi0 (the ON barrier must stay positive)")

    # -- read -----------------------------------------------------------------------------------
    def g_on_off(self):
        """Conductances (S) of the fully ON and fully OFF junction."""
        p = self.params
        g_on = p["area"] * simmons_conductance(p["phi0"] - p["dphi"], p["t_FE"], p["m_rel"])
        g_off = p["area"] * simmons_conductance(p["phi0"] + p["dphi"], p["t_FE"], p["m_rel"])
        return g_on, g_off

    def tunnelling_electroresistance(self):
        g_on, g_off = self.g_on_off()
        return g_on / g_off

    def on_fraction(self, state: State):
        pol = np.asarray(state["polarization"], dtype=float)
        return np.clip(0.5 * (1.0 + pol / _like(self.params["Pr"], pol)), 0.0, 1.0)

    def conductance(self, state: State, v_read) -> np.ndarray:
        s = self.on_fraction(state)
        g_on, g_off = self.g_on_off()
        return _like(g_off, s) + s * (_like(g_on, s) - _like(g_off, s))

    def state_from_conductance(self, g, v_read) -> State:
        g = np.asarray(g, dtype=float)
        if not np.all(np.isfinite(g)):
            raise ValueError(f"{self.name}: conductance must be finite to infer the polarisation")
        g_on, g_off = self.g_on_off()
        s = np.clip((g - g_off) / (g_on - g_off), 0.0, 1.0)
        return {"polarization": self.params["Pr"] * (2 * s - 1)}

    # -- switching -------------------------------------------------------------------------------
    def field(self, voltage):
        return np.asarray(voltage, dtype=float) / self.params["t_FE"]

    def t1(self, voltage):
        """Median NLS switching time (s) at pulse voltage ``voltage``."""
        p = self.params
        return nls_t1(self.field(voltage), p["tau0"], p["Ea"], p["alpha"])

    def initial_state(self, n: int) -> State:
        return {"polarization": -_bc(self.params["Pr"], n).copy()}  # all OFF

    def apply_pulse(self, state: State, amplitude, width, temperature) -> State:
        pol = np.asarray(state["polarization"], dtype=float)
        n = pol.size
        v = _bc(amplitude, n)
        reduced = _bc(width, n) / _bc(self.t1(v), n)
        return {"polarization": nls_step(pol, self.params["Pr"], self.params["w"], v, reduced)}

    def pulse_energy(self, before: State, after: State, amplitude, width, temperature):
        v = np.asarray(amplitude, dtype=float)
        g = 0.5 * (self.conductance(before, 0.0) + self.conductance(after, 0.0))
        dp = np.abs(np.asarray(after["polarization"]) - np.asarray(before["polarization"]))
        return v**2 * g * np.asarray(width, dtype=float) + self.params["area"] * dp * np.abs(v)

    def observe(self, state: State) -> dict[str, np.ndarray]:
        return {"polarization": np.asarray(state["polarization"]), "on_fraction": self.on_fraction(state)}
