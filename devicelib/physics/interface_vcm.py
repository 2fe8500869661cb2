r"""Interface-type VCM: oxygen-vacancy redistribution at a Schottky interface (Nb:SrTiO3, PCMO).

In interface-type (non-filamentary, "area") valence-change cells the whole electrode area switches:
oxygen vacancies drift into or out of a thin layer of thickness :math:`d` under a Schottky
contact and change the effective barrier height (Sawa 2008). The current scales with the
electrode area and the conductance changes gradually with pulse amplitude and width in both
directions, unlike the abrupt filament of ``vcm.stanford_pku``.

State
-----
:math:`w \in [0, 1]`: the vacancy density in the interface layer relative to its saturated value
(``vacancy_fraction``). The effective barrier height falls linearly with it (vacancies are donors;
they thin and lower the depletion barrier):

.. math::  \phi_B(w) = \phi_{HRS} - (\phi_{HRS} - \phi_{LRS})\, w.

Current (read and energy)
-------------------------
Thermionic emission over the barrier (Sze & Ng 2007, ch. 3) with ideality :math:`n` in series with
the bulk and electrode resistance, both scaling with the electrode area :math:`A`:

.. math::

    I_s = A\, A^{*} T^2 \exp\!\left(-\frac{\phi_B}{kT}\right),\qquad
    V = n v_t \ln\!\left(1 + \frac{I}{I_s}\right) + I R_s,\qquad R_s = r_s / A,

solved exactly with the Wright omega function :math:`\omega(x) = W(e^x)`:
:math:`I = \frac{n v_t}{R_s}\,\omega\!\left(\ln\frac{I_s R_s}{n v_t} + \frac{V + I_s R_s}{n v_t}\right) - I_s`.
:math:`\phi_B` is an *effective* barrier: thermionic-field emission through the thin depletion
layer of heavily doped Nb:SrTiO3 is absorbed in it and in :math:`n`. Reads are at
:math:`T = 300` K; :math:`G = I(V_{read})/V_{read}` (:math:`G = 1/(n v_t/I_s + R_s)` at 0 V).
Every current and conductance is proportional to :math:`A` (area scaling, the signature of
interface switching).

Switching kinetics
------------------
Vacancies (charge :math:`z q`) hop a distance :math:`a` over a barrier :math:`E_a` in the field
:math:`V/d` (Mott-Gurney ionic hopping, the exponential ionic drift of Strukov & Williams 2009),
first-order in the free sites:

.. math::

    \frac{dw}{dt} = \begin{cases}
      +\nu_{set}\, e^{-E_a/kT} \sinh\!\left(\frac{z q a V}{2 d k T}\right)(1 - w) & V > 0\ (\text{SET})\\
      -\nu_{reset}\, e^{-E_a/kT} \sinh\!\left(\frac{z q a |V|}{2 d k T}\right) w & V < 0\ (\text{RESET}).
    \end{cases}

For a rectangular pulse the rate constant :math:`r(V, T)` is constant, so the update is exact:
:math:`w_1 = 1 - (1 - w_0)e^{-r t_p}` (SET), :math:`w_1 = w_0 e^{-r t_p}` (RESET). The change per
pulse grows smoothly with amplitude (through the sinh) and with width, and shrinks towards the
bounds (soft bounds). Joule heating and the series-resistance drop during the write are neglected
(the full pulse voltage is taken across the interface layer: an estimate that the fitted
:math:`a` absorbs). Sign convention: positive pulses SET (raise G); which electrode bias that is
depends on the stack. Non-volatile (no vacancy back-diffusion in ``relax``). Energy: the default
trapezoid of :math:`V I t_p` with the diode current above.

References
----------
- A. Sawa, "Resistive switching in transition metal oxides", Materials Today 11, 28 (2008),
  doi:10.1016/S1369-7021(08)70119-6 (interface-type switching, Nb:SrTiO3 and PCMO).
- D. B. Strukov, R. S. Williams, "Exponential ionic drift: fast switching and low volatility of
  thin-film memristors", Appl. Phys. A 94, 515 (2009), doi:10.1007/s00339-008-4975-3.
- S. M. Sze, K. K. Ng, Physics of Semiconductor Devices, 3rd ed., Wiley (2007), ch. 3
  (thermionic emission, Richardson constant :math:`A^* = 1.20\times10^6\,(m^*/m_0)` A m^-2 K^-2).
"""

from __future__ import annotations

import numpy as np
from scipy.special import wrightomega

from ..core import DeviceModel, Observable, Parameter, State, StateVariable
from ..core import against_state as _like
from ..core import per_device as _bc
from ..units import k_B, q_e

EV = q_e
NM = 1e-9
T_READ = 300.0  # K, temperature of the read




class InterfaceVCM(DeviceModel):
    __doc__ = __doc__
    name = "vcm.interface"
    family = "vcm"
    family_name = "Interface-type VCM (Schottky barrier modulated by oxygen vacancies)"
    amplitude_unit = "V"
    references = (
        "Sawa, Materials Today 11, 28 (2008), doi:10.1016/S1369-7021(08)70119-6",
        "Strukov, Williams, Appl. Phys. A 94, 515 (2009), doi:10.1007/s00339-008-4975-3",
        "Sze, Ng, Physics of Semiconductor Devices, 3rd ed. (2007), ch. 3",
    )
    parameters = (
        Parameter("area", "m^2", 1e-10, (1e-16, 1e-4), "A", "electrode (switching) area", log=True, fixed=True),
        Parameter("A_star", "A/(m^2*K^2)", 1.56e6, (1e3, 1e8), "A*", "effective Richardson constant",
                  log=True, fixed=True),
        Parameter("phi_hrs", "J", 0.65 * EV, (0.05 * EV, 2.0 * EV), "phi_HRS",
                  "effective barrier height with no vacancies at the interface (w = 0)"),
        Parameter("phi_lrs", "J", 0.45 * EV, (0.0, 2.0 * EV), "phi_LRS",
                  "effective barrier height with the interface saturated with vacancies (w = 1)"),
        Parameter("n_id", "", 1.5, (1.0, 10.0), "n", "ideality factor of the Schottky diode"),
        Parameter("r_s", "ohm*m^2", 1e-7, (1e-14, 1.0), "r_s", "area-specific series resistance (bulk, contacts)",
                  log=True),
        Parameter("nu_set", "1/s", 1e11, (1e-3, 1e16), "nu_set", "attempt rate of vacancy hopping, SET", log=True),
        Parameter("nu_reset", "1/s", 5e10, (1e-3, 1e16), "nu_reset", "attempt rate of vacancy hopping, RESET",
                  log=True),
        Parameter("Ea", "J", 0.5 * EV, (0.05 * EV, 2.0 * EV), "E_a", "activation energy of vacancy hopping"),
        Parameter("a_hop", "m", 0.4 * NM, (0.05 * NM, 5 * NM), "a", "vacancy hopping distance"),
        Parameter("d_int", "m", 10 * NM, (0.5 * NM, 500 * NM), "d", "thickness of the switching interface layer",
                  fixed=True),
        Parameter("z", "", 2.0, (1.0, 4.0), "z", "charge number of the mobile oxygen vacancy", fixed=True),
    )
    state_variables = (
        StateVariable("vacancy_fraction", "", (0.0, 1.0),
                      "vacancy density of the interface layer relative to saturation"),
    )
    observables = (
        Observable("barrier_height", "J", "effective Schottky barrier height"),
    )
    default_vary = ("nu_set", "nu_reset", "a_hop", "phi_hrs", "phi_lrs")

    def guess(self, g, amplitude, normalise=True, v_read=0.1) -> dict[str, float]:
        """Data-driven start (devicelib.fit): the HRS barrier phi_hrs at which the fresh cell (no vacancies
        at the interface, the HRS) reads the median first read; phi_lrs keeps the model's window
        phi_hrs - phi_lrs below it."""
        from ..fit.guess import match_first_read

        window = float(self.params["phi_hrs"] - self.params["phi_lrs"])
        phi_hrs = match_first_read(self, g, "phi_hrs", v_read)
        if phi_hrs is None:  # below the model's phi_lrs: open the window downwards first
            low = self.with_params(phi_lrs=self.parameter("phi_lrs").bounds[0])
            if (phi_hrs := match_first_read(low, g, "phi_hrs", v_read)) is None:
                return {}
        out = {"phi_hrs": phi_hrs}
        if phi_hrs - window > self.parameter("phi_lrs").bounds[0]:
            out["phi_lrs"] = phi_hrs - window
            # the read of the fresh cell depends weakly on phi_lrs too: match once more with it moved
            again = match_first_read(self.with_params(phi_lrs=out["phi_lrs"]), g, "phi_hrs", v_read)
            if again is not None and again - window > self.parameter("phi_lrs").bounds[0]:
                out = {"phi_hrs": again, "phi_lrs": again - window}
        return out

    def _check(self) -> None:
        if np.any(np.asarray(self.params["phi_lrs"]) >= np.asarray(self.params["phi_hrs"])):
            raise ValueError(f"{self.name}: phi_lrs must be smaller than phi_hrs")

    # -- electrostatics and transport -----------------------------------------------------------
    def barrier(self, w):
        p = self.params
        w = np.asarray(w, dtype=float)
        return _like(p["phi_hrs"], w) - (_like(p["phi_hrs"], w) - _like(p["phi_lrs"], w)) * w

    def saturation_current(self, w, temperature=T_READ):
        """Thermionic saturation current I_s = A A* T^2 exp(-phi_B / kT) (A)."""
        p = self.params
        w = np.asarray(w, dtype=float)
        t = np.asarray(temperature, dtype=float)
        return _like(p["area"], w) * _like(p["A_star"], w) * t**2 * np.exp(-self.barrier(w) / (k_B * t))

    def _diode(self, w, temperature=T_READ):
        p = self.params
        w = np.asarray(w, dtype=float)
        i_s = self.saturation_current(w, temperature)
        rs = _like(p["r_s"], w) / _like(p["area"], w)
        nvt = _like(p["n_id"], w) * k_B * np.asarray(temperature, dtype=float) / q_e
        return i_s, rs, nvt

    def current(self, state: State, voltage, temperature=T_READ) -> np.ndarray:
        """Exact current of the Schottky diode in series with R_s at ``voltage`` (A)."""
        i_s, rs, nvt = self._diode(state["vacancy_fraction"], temperature)
        v = np.asarray(voltage, dtype=float)
        x = np.log(i_s * rs / nvt) + (v + i_s * rs) / nvt
        return nvt / rs * wrightomega(x) - i_s

    def conductance(self, state: State, v_read) -> np.ndarray:
        v = float(v_read)
        if v == 0.0:
            i_s, rs, nvt = self._diode(state["vacancy_fraction"])
            return 1.0 / (nvt / i_s + rs)
        return self.current(state, v) / v

    def state_from_conductance(self, g, v_read) -> State:
        p = self.params
        g = np.asarray(g, dtype=float)
        v = float(v_read)
        rs = p["r_s"] / p["area"]
        nvt = p["n_id"] * k_B * T_READ / q_e
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            if v == 0.0:
                i_s = nvt / (1.0 / g - rs)
            elif v > 0:
                i = g * v
                i_s = i / np.expm1((v - i * rs) / nvt)
            else:
                i = g * v  # negative: reverse current, -I_s (1 - exp(...))
                i_s = -i / -np.expm1((v - i * rs) / nvt)
            phi = -k_B * T_READ * np.log(i_s / (p["area"] * p["A_star"] * T_READ**2))
            w = (p["phi_hrs"] - phi) / (p["phi_hrs"] - p["phi_lrs"])
        if not np.all(np.isfinite(w)):
            raise ValueError(f"{self.name}: conductance must be positive and below 1/R_s to infer the state")
        return {"vacancy_fraction": np.clip(w, 0.0, 1.0)}

    # -- kinetics -------------------------------------------------------------------------------
    def rate(self, voltage, temperature):
        """Rate constant r(V, T) of the first-order vacancy redistribution (1/s; signed: + SET)."""
        p = self.params
        v = np.asarray(voltage, dtype=float)
        t = np.asarray(temperature, dtype=float)
        if np.any(~np.isfinite(t)) or np.any(t <= 0):
            raise ValueError(f"{self.name}: temperature must be positive kelvin, got {temperature!r}")
        kt = k_B * t
        nu = np.where(v >= 0, p["nu_set"], p["nu_reset"])
        with np.errstate(over="ignore"):
            return nu * np.exp(-p["Ea"] / kt) * np.sinh(p["z"] * q_e * p["a_hop"] * v / (2.0 * p["d_int"] * kt))

    def initial_state(self, n: int) -> State:
        return {"vacancy_fraction": np.zeros(n)}

    def apply_pulse(self, state: State, amplitude, width, temperature) -> State:
        w0 = np.asarray(state["vacancy_fraction"], dtype=float)
        n = w0.size
        r = _bc(self.rate(_bc(amplitude, n), _bc(temperature, n)), n)
        decay = np.exp(-np.abs(r) * _bc(width, n))
        w1 = np.where(r > 0, 1.0 - (1.0 - w0) * decay, w0 * decay)
        return {"vacancy_fraction": np.clip(w1, 0.0, 1.0)}

    def observe(self, state: State) -> dict[str, np.ndarray]:
        return {"barrier_height": self.barrier(state["vacancy_fraction"])}
