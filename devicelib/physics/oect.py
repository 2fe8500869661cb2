r"""Bistable organic electrochemical transistor (OECT): the ECRAM lattice gas past its critical point.

Same electrochemistry as :class:`devicelib.physics.ecram.ECRAMVoltage` (regular-solution insertion of
cations from the gate electrolyte into a mixed conductor, Butler-Volmer kinetics with
:math:`\alpha = 1/2`, Bazant 2013), with the two extensions a bistable OECT needs:

1. **Interaction energy above the critical value.** With

   .. math::  V_{oc}(x) = V_0 - \frac{kT}{zq}\ln\frac{x}{1-x} - \frac{\Omega(1-2x)}{zq},

   :math:`dV_{oc}/dx = 0` has the two roots (spinodals)
   :math:`x_\pm = \tfrac12\left(1 \pm \sqrt{1 - 2kT/\Omega}\right)` when :math:`\Omega > 2kT`. Between the
   gate voltages :math:`V_\pm = -V_{oc}(x_\pm)` (:meth:`BistableOECT.spinodal_voltages`) the equilibrium
   condition :math:`V_g + V_{oc}(x) = 0` has two stable roots: a swept gate keeps the channel on its branch
   until the branch ends at a spinodal, which is the hysteresis (bistability) of the transfer curve. This is
   the enthalpy-driven bistability of Bongartz et al. 2024 (mixing enthalpy against configurational
   entropy; their thermodynamic model is not re-derived here: the regular solution is the one-parameter
   form of such a free energy). ``ecram.voltage`` refuses :math:`\Omega \ge 2kT` (phase separation); here
   the channel is taken as one homogeneous phase on each branch (no domains: the mean-field limit).
2. **Effective charge number.** ``z`` may lie below 1: a measured transfer curve of a PEDOT:PSS-type
   channel is broader than Nernstian (``z`` = 1 gives 60 mV per decade of the de-doped channel at 300 K).
   ``z`` is then ``1/n`` of an ideality factor ``n`` (an effective parameter, not the ion's charge).

Read: the channel is a de-doping hole conductor (``eta_e < 0``, ``n0`` slightly above
``|eta_e| N_sites``: an inserted cation removes a hole), :math:`G = q\mu n W t_{ch}/L`,
:math:`n = n_0 + \eta_e x N_{sites}`; the drain current at a small drain voltage is :math:`G V_d`
(linear regime: the drain voltage's own effect on the doping profile is neglected).

Pulse integration is the exponential-midpoint scheme of ``ecram.voltage`` (sub-steps with
:math:`|\Delta w| \le 0.02`); tests compare it with ``scipy.integrate.solve_ivp`` for
:math:`\Omega > 2kT` across a spinodal jump.

Retention: the model is non-volatile (``relax`` keeps the state): the bistable states are the
non-volatile states of the device, and no self-discharge was characterised (the single-equilibrium
self-discharge of ``ecram`` does not apply with two stable states).

References
----------
- L. Bongartz, R. Kantelberg, T. Meier, R. Hoffmann, C. Matthus, A. Weissbach, M. Cucchi, H. Kleemann,
  K. Leo, "Bistable organic electrochemical transistors: enthalpy vs. entropy", Nat. Commun. 15, 6819
  (2024), doi:10.1038/s41467-024-51001-9 (author list as recalled; not re-read).
- M. Z. Bazant, Acc. Chem. Res. 46, 1144 (2013), doi:10.1021/ar300145c (regular solution, Butler-Volmer).
"""

from __future__ import annotations

import numpy as np

from ..core import Parameter, State
from ..units import k_B, q_e
from .ecram import ECRAMVoltage

EV = q_e


def _z_effective(p: Parameter) -> Parameter:
    return Parameter("z", "", 1.0, (0.05, 3.0), "z",
                     "effective charge number (1/n of the ideality factor n; the ion charge when Nernstian)",
                     fixed=True) if p.name == "z" else p


class BistableOECT(ECRAMVoltage):
    __doc__ = __doc__
    name = "ecram.bistable_oect"
    family_name = "ECRAM family: bistable organic electrochemical transistor (lattice gas with Omega > 2kT)"
    volatile = False
    references = (
        "Bongartz et al., Nat. Commun. 15, 6819 (2024), doi:10.1038/s41467-024-51001-9",
        "Bazant, Acc. Chem. Res. 46, 1144 (2013), doi:10.1021/ar300145c",
    )
    parameters = tuple(_z_effective(p) for p in ECRAMVoltage.parameters)

    def _check_omega(self, temperature):
        """Any Omega is allowed: above 2kT the channel is bistable (the point of this model)."""

    def is_bistable(self, temperature=300.0) -> np.ndarray:
        return np.asarray(self.params["Omega"]) > 2.0 * k_B * np.asarray(temperature, dtype=float)

    def spinodal_voltages(self, temperature=300.0) -> tuple[np.ndarray, np.ndarray]:
        """Gate voltages (V) where the two branches end: (V_up, V_down) = (-V_oc(x_-), -V_oc(x_+)).

        A gate swept upwards leaves the low-x (doped, ON) branch at V_up; swept downwards it leaves the
        high-x (de-doped, OFF) branch at V_down < V_up. NaN where Omega <= 2kT (no bistability)."""
        kt = k_B * np.asarray(temperature, dtype=float)
        om = np.asarray(self.params["Omega"], dtype=float)
        bist = om > 2 * kt
        r = np.sqrt(np.where(bist, 1.0 - 2.0 * kt / np.where(bist, om, 1.0), 0.0))
        x_lo, x_hi = 0.5 * (1 - r), 0.5 * (1 + r)
        v_up = np.where(bist, -self.open_circuit_voltage(x_lo, temperature), np.nan)
        v_dn = np.where(bist, -self.open_circuit_voltage(x_hi, temperature), np.nan)
        return v_up, v_dn

    def equilibrium_x(self, temperature=300.0, n=None):
        if np.any(self.is_bistable(temperature)):
            raise ValueError(f"{self.name}: Omega > 2kT: V_oc(x) = 0 has up to three roots (two stable); "
                             "the state depends on the history (use apply_pulse)")
        return super().equilibrium_x(temperature, n)

    def relax(self, state: State, dt, temperature) -> State:
        """Non-volatile: the state is kept (no self-discharge characterised)."""
        return {k: np.array(v, copy=True) for k, v in state.items()}
