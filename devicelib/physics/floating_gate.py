r"""Floating-gate / charge-trap cell: Fowler-Nordheim programming, subthreshold read, charge-loss retention.

The analog non-volatile cell behind commercial analog in-memory chips (Mythic, Syntiant) and the
single-transistor floating-gate synapse (Diorio et al. 1996): a transistor whose gate is an
isolated node holding the charge :math:`Q` (C; electrons make it negative), capacitively coupled
to a control gate (:math:`C_{cg}`) and to the channel / tunnelling electrode (:math:`C_{ch}`),
:math:`C_T = C_{cg} + C_{ch}`.

Electrostatics
--------------
.. math::

    V_{FG} = \frac{C_{cg}V_G + Q}{C_T},\qquad E_{ox} = \frac{V_{FG}}{t_{tun}},\qquad
    V_T = V_{T0} - \frac{Q}{C_{cg}}

(channel and tunnelling electrode at 0 V during a pulse; the threshold seen from the control gate
shifts by :math:`\Delta V_T = -Q/C_{cg}`).

Fowler-Nordheim tunnelling (Lenzlinger & Snow 1969)
---------------------------------------------------
.. math::

    J = A_{FN} E^2 e^{-B_{FN}/|E|},\quad A_{FN} = \frac{q^3}{8\pi h\phi_b}\frac{m_0}{m_{ox}},\quad
    B_{FN} = \frac{8\pi\sqrt{2 m_{ox}}\,\phi_b^{3/2}}{3 h q}

(:math:`\phi_b` = 3.2 eV, :math:`m_{ox}` = 0.42 :math:`m_0` for Si/SiO2 give
:math:`B_{FN}` = 254 MV/cm). Electrons tunnel towards the higher potential:
:math:`dQ/dt = -A_{tun} J\,\mathrm{sign}(E)`. Because :math:`E` is linear in :math:`Q`,
:math:`dE/dt = -k A_{FN} E^2 e^{-B/|E|}\,\mathrm{sign}(E)` with :math:`k = A_{tun}/(C_T t_{tun})`
is separable and the pulse update is exact:

.. math::  |E_1| = \frac{B}{\ln\!\left(e^{B/|E_0|} + k A_{FN} B\, t_p\right)},\qquad
           Q_1 = C_T t_{tun} E_1 - C_{cg} V_G

(the field decays towards 0 without changing sign: FN programming is self-limiting). Positive
gate pulses inject electrons (program: :math:`V_T` up, read conductance down, depression);
negative pulses remove them (erase: potentiation).

Read (subthreshold, EKV interpolation)
--------------------------------------
Control gate at :math:`V_{GR}`, drain at :math:`V_D = V_{read}`, :math:`v_t = kT/q` at 300 K,
:math:`x = (V_{GR} - V_T)/(n v_t)`; the EKV forward current (Enz, Krummenacher, Vittoz 1995) with the
subthreshold drain factor:

.. math::  I_D = I_{S}\,\ln^2\!\left(1 + e^{x/2}\right)(1 - e^{-V_D/v_t}),\qquad G = I_D / V_D

(:math:`G = I_D/(V_D (1 - e^{-V_D/v_t}))\cdot(1 - e^{-V_D/v_t})/v_t` at :math:`V_D \to 0`, i.e.
:math:`I_S \ln^2(1+e^{x/2})/v_t`). Below threshold (:math:`x \ll 0`)
:math:`I_D = I_S e^{x}(1 - e^{-V_D/v_t})`, the subthreshold current analog floating-gate arrays read
with (one decade per :math:`n v_t \ln 10`); above threshold it turns into the square law
:math:`I_S x^2/4`, so erased cells stay finite.

Retention (``relax``)
---------------------
Over an interval :math:`\Delta t` with the gate grounded: FN leakage in the cell's own field
(exact update above with :math:`V_G = 0`), then thermally activated charge loss (Arrhenius detrapping /
leakage), :math:`Q \leftarrow Q\,e^{-\Delta t/\tau_{ret}}`, :math:`\tau_{ret} = \tau_{r0}\,
e^{E_{ret}/kT}` (operator splitting; both are exact on their own). The model is ``volatile``.

Energy per pulse: charging and discharging the series gate capacitance
:math:`C_{cg}C_{ch}/C_T` to :math:`V_G` plus the work of moving the tunnelled charge across the
oxide, :math:`|\Delta Q|\,|\bar V_{FG}|` (mean of the floating-gate potential before and after).

References
----------
- M. Lenzlinger, E. H. Snow, "Fowler-Nordheim tunneling into thermally grown SiO2",
  J. Appl. Phys. 40, 278 (1969), doi:10.1063/1.1657043.
- C. Diorio, P. Hasler, B. A. Minch, C. A. Mead, "A single-transistor silicon synapse",
  IEEE Trans. Electron Devices 43, 1972 (1996), doi:10.1109/16.543035.
- C. C. Enz, F. Krummenacher, E. A. Vittoz, Analog Integr. Circuits Signal Process. 8, 83 (1995),
  doi:10.1007/BF01239381 (EKV model).
- P. Pavan, R. Bez, P. Olivo, E. Zanoni, "Flash memory cells - an overview", Proc. IEEE 85, 1248
  (1997), doi:10.1109/5.622505 (coupling ratio, dV_T = -Q/C_cg, retention).
"""

from __future__ import annotations

import numpy as np

from ..core import DeviceModel, Observable, Parameter, State, StateVariable
from ..core import per_device as _bc
from ..units import h_planck, k_B, q_e

EV = q_e
NM = 1e-9
M_E = 9.1093837015e-31  # kg (CODATA 2018)
VT_READ = k_B * 300.0 / q_e


def fn_constants(phi_b, m_ox):
    """Fowler-Nordheim A (A/V^2) and B (V/m) for barrier ``phi_b`` (J) and oxide mass ratio ``m_ox``."""
    phi_b = np.asarray(phi_b, dtype=float)
    a = q_e**3 / (8.0 * np.pi * h_planck * phi_b) / np.asarray(m_ox, dtype=float)
    b = 8.0 * np.pi * np.sqrt(2.0 * m_ox * M_E) * phi_b**1.5 / (3.0 * h_planck * q_e)
    return a, b


def fn_current_density(field, phi_b, m_ox):
    """FN current density J(E) = A E^2 exp(-B/|E|) (A/m^2, signed like E)."""
    a, b = fn_constants(phi_b, m_ox)
    e = np.asarray(field, dtype=float)
    with np.errstate(divide="ignore", over="ignore"):
        return np.sign(e) * a * e**2 * np.exp(-b / np.abs(e))



class FloatingGate(DeviceModel):
    __doc__ = __doc__
    name = "floating_gate.fn_cell"
    family = "floating_gate"
    family_name = "Floating-gate / charge-trap cell (Fowler-Nordheim, subthreshold read)"
    amplitude_unit = "V"
    volatile = True
    references = (
        "Lenzlinger, Snow, J. Appl. Phys. 40, 278 (1969), doi:10.1063/1.1657043",
        "Diorio, Hasler, Minch, Mead, IEEE TED 43, 1972 (1996), doi:10.1109/16.543035",
        "Pavan, Bez, Olivo, Zanoni, Proc. IEEE 85, 1248 (1997), doi:10.1109/5.622505",
    )
    parameters = (
        Parameter("C_cg", "F", 1e-15, (1e-18, 1e-11), "C_cg", "control-gate to floating-gate capacitance", log=True,
                  fixed=True),
        Parameter("C_ch", "F", 0.67e-15, (1e-18, 1e-11), "C_ch",
                  "floating gate to channel, source, drain and tunnelling electrode", log=True, fixed=True),
        Parameter("t_tun", "m", 8 * NM, (2 * NM, 30 * NM), "t_tun", "tunnel-oxide thickness", fixed=True),
        Parameter("A_tun", "m^2", 1e-13, (1e-18, 1e-9), "A_tun", "tunnelling area", log=True),
        Parameter("phi_b", "J", 3.2 * EV, (0.5 * EV, 5.0 * EV), "phi_b", "injection barrier (Si/SiO2 conduction band)"),
        Parameter("m_ox", "", 0.42, (0.1, 1.5), "m_ox/m_0", "effective electron mass in the oxide", fixed=True),
        Parameter("V_T0", "V", 1.0, (-3.0, 5.0), "V_T0", "threshold with a neutral floating gate (Q = 0)"),
        Parameter("V_GR", "V", 0.8, (-3.0, 5.0), "V_GR", "control-gate voltage during the read"),
        Parameter("I_th", "A", 1e-7, (1e-12, 1e-2), "I_S", "EKV specific current (subthreshold I_D = I_S e^x)",
                  log=True),
        Parameter("n_ss", "", 1.5, (1.0, 5.0), "n", "subthreshold slope factor"),
        Parameter("tau_r0", "s", 1e-7, (1e-20, 1e10), "tau_r0", "prefactor of the charge-loss time", log=True),
        Parameter("E_ret", "J", 1.1 * EV, (0.1 * EV, 3.0 * EV), "E_ret", "activation energy of the charge loss"),
    )
    state_variables = (
        StateVariable("charge", "C", (-1e-12, 1e-12), "charge on the floating gate (negative: electrons)"),
    )
    observables = (
        Observable("threshold_voltage", "V", "threshold voltage seen from the control gate"),
        Observable("electrons", "", "number of stored electrons, -Q/q"),
    )
    default_vary = ("A_tun", "phi_b")

    # -- electrostatics ---------------------------------------------------------------------------
    def c_total(self):
        return self.params["C_cg"] + self.params["C_ch"]

    def coupling_ratio(self):
        return self.params["C_cg"] / self.c_total()

    def threshold_voltage(self, state: State):
        p = self.params
        q = np.asarray(state["charge"], dtype=float)
        vt0, ccg = np.asarray(p["V_T0"]), np.asarray(p["C_cg"])
        if q.ndim == 2 and vt0.ndim == 1:
            vt0, ccg = vt0[:, None], ccg[:, None]
        return vt0 - q / ccg

    def fn_constants(self):
        return fn_constants(self.params["phi_b"], self.params["m_ox"])

    def _fn_update(self, q, v_gate, dt):
        """Exact charge after ``dt`` of FN tunnelling at control-gate voltage ``v_gate`` (closed form)."""
        p = self.params
        n = q.size
        ct, ccg, tt = _bc(self.c_total(), n), _bc(p["C_cg"], n), _bc(p["t_tun"], n)
        a, b = (_bc(x, n) for x in self.fn_constants())
        k = _bc(p["A_tun"], n) / (ct * tt)
        v = _bc(v_gate, n)
        e0 = (ccg * v + q) / (ct * tt)
        dt = _bc(dt, n)
        with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
            x0 = b / np.abs(e0)  # inf at E0 = 0
            growth = np.log(k * a * b * dt)  # -inf at dt = 0
            e1 = np.sign(e0) * b / np.logaddexp(x0, growth)
        e1 = np.where((e0 == 0) | (dt <= 0), e0, e1)
        return ct * tt * e1 - ccg * v

    def retention_time(self, temperature):
        t = np.asarray(temperature, dtype=float)
        if np.any(~np.isfinite(t)) or np.any(t <= 0):
            raise ValueError(f"{self.name}: temperature must be positive kelvin, got {temperature!r}")
        with np.errstate(over="ignore"):
            return self.params["tau_r0"] * np.exp(self.params["E_ret"] / (k_B * t))

    # -- interface --------------------------------------------------------------------------------
    def initial_state(self, n: int) -> State:
        return {"charge": np.zeros(n)}

    def apply_pulse(self, state: State, amplitude, width, temperature) -> State:
        q = np.asarray(state["charge"], dtype=float)
        return {"charge": self._fn_update(q, amplitude, width)}

    def relax(self, state: State, dt, temperature) -> State:
        q = np.asarray(state["charge"], dtype=float)
        n = q.size
        q = self._fn_update(q, 0.0, dt)
        return {"charge": q * np.exp(-_bc(dt, n) / _bc(self.retention_time(temperature), n))}

    def conductance(self, state: State, v_read) -> np.ndarray:
        p = self.params
        vt = self.threshold_voltage(state)
        like = (lambda x: np.asarray(x)[:, None]) if (vt.ndim == 2 and np.ndim(p["I_th"]) == 1) else np.asarray
        nvt = like(p["n_ss"]) * VT_READ
        x = (like(p["V_GR"]) - vt) / nvt
        sub = like(p["I_th"]) * np.logaddexp(0.0, 0.5 * x) ** 2
        vd = float(v_read)
        return sub / VT_READ if vd == 0.0 else sub * -np.expm1(-vd / VT_READ) / vd

    def state_from_conductance(self, g, v_read) -> State:
        p = self.params
        g = np.asarray(g, dtype=float)
        vd = float(v_read)
        factor = 1.0 / VT_READ if vd == 0.0 else -np.expm1(-vd / VT_READ) / vd
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            root = np.sqrt(g / (p["I_th"] * factor))  # = ln(1 + e^{x/2})
            x = 2.0 * np.where(root > 30.0, root, np.log(np.expm1(np.minimum(root, 30.0))))
            vt = p["V_GR"] - p["n_ss"] * VT_READ * x
        if not np.all(np.isfinite(vt)):
            raise ValueError(f"{self.name}: conductance must be positive and finite to infer the charge")
        return {"charge": np.clip((p["V_T0"] - vt) * p["C_cg"], -1e-12, 1e-12)}

    def pulse_energy(self, before: State, after: State, amplitude, width, temperature):
        p = self.params
        v = np.asarray(amplitude, dtype=float)
        q0, q1 = np.asarray(before["charge"], dtype=float), np.asarray(after["charge"], dtype=float)
        c_series = p["C_cg"] * p["C_ch"] / self.c_total()
        v_fg = (p["C_cg"] * v + 0.5 * (q0 + q1)) / self.c_total()
        return c_series * v**2 + np.abs(q1 - q0) * np.abs(v_fg)

    def observe(self, state: State) -> dict[str, np.ndarray]:
        return {"threshold_voltage": self.threshold_voltage(state), "electrons": -np.asarray(state["charge"]) / q_e}
