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
:math:`g_{min} \le g \le g_{max}`. The cell current is tunnelling-like,

.. math::  I = I_0 \exp(-g/g_0) \sinh(V/V_0),

and Joule heating sets the filament temperature
:math:`T = T_0 + |V I| R_{th}`; the thermal time constant (~1 ns or less) is
taken to be far shorter than the pulse, so T follows the state.

Per-pulse integration
---------------------
During a rectangular pulse V is constant and T depends on g only, so
``dg/dt = f(g)`` is autonomous. It is integrated with the explicit midpoint
rule on adaptive sub-steps limited to ``|dg| <= max_gap_step`` (0.005 nm by
default); devices whose rate is small finish in one sub-step. Tests compare
against ``scipy.integrate.solve_ivp`` (rtol 1e-10): the relative error of the
gap change per pulse is below 1e-3 over 0.5-2 V, 1 ns - 1 ms, 250-400 K.

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

import numpy as np

from ..core import DeviceModel, Parameter, State, StateVariable
from ..units import k_B, q_e

EV = q_e  # J per eV
NM = 1e-9


def _take(value, idx):
    """Select devices ``idx`` of a per-device parameter (scalars pass through)."""
    return value[idx] if np.ndim(value) else value


class StanfordPKU(DeviceModel):
    __doc__ = __doc__
    name = "vcm.stanford_pku"
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
    def _rate(cls, p, g, v, t_amb):
        """dg/dt (m/s) and the filament temperature (K) at gap g under bias v."""
        temp = t_amb + np.abs(v * cls._current(p, g, v)) * p["R_th"]
        kt = k_B * temp
        gamma = p["gamma0"] - p["beta"] * (g / p["g1"]) ** 3
        rate = -p["nu0"] * np.exp(-p["Ea"] / kt) * np.sinh(gamma * p["a0"] * q_e * v / (p["t_ox"] * kt))
        return rate, temp

    def initial_state(self, n: int) -> State:
        g = np.broadcast_to(np.asarray(self.params["g_max"], dtype=float), (n,)).copy()
        return {"gap": g, "peak_temperature": np.full(n, 300.0)}

    def apply_pulse(self, state: State, amplitude, width, temperature) -> State:
        g = np.array(state["gap"], dtype=float)
        n = g.size
        v = np.broadcast_to(np.asarray(amplitude, dtype=float), (n,))
        t_amb = np.broadcast_to(np.asarray(temperature, dtype=float), (n,))
        remaining = np.broadcast_to(np.asarray(width, dtype=float), (n,)).copy()
        energy = np.zeros(n)
        t_peak = t_amb.copy()
        g_lo = np.broadcast_to(self.params["g_min"], (n,))
        g_hi = np.broadcast_to(self.params["g_max"], (n,))
        idx = np.flatnonzero((remaining > 0) & (v != 0))
        p = self.params
        for _ in range(self.max_substeps):
            if idx.size == 0:
                break
            pi = {k: _take(val, idx) for k, val in p.items()}
            gi, vi, ti = g[idx], v[idx], t_amb[idx]
            f1, _ = self._rate(pi, gi, vi, ti)
            dt = np.minimum(remaining[idx], self.max_gap_step / np.maximum(np.abs(f1), 1e-300))
            gm = np.clip(gi + 0.5 * dt * f1, g_lo[idx], g_hi[idx])
            f2, temp = self._rate(pi, gm, vi, ti)
            g_new = np.clip(gi + dt * f2, g_lo[idx], g_hi[idx])
            energy[idx] += np.abs(vi * self._current(pi, gm, vi)) * dt
            t_peak[idx] = np.maximum(t_peak[idx], temp)
            g[idx] = g_new
            remaining[idx] -= dt
            # A device pinned at a bound by a rate pushing outward keeps that
            # state for the rest of the pulse: account for its energy at once.
            pinned = ((g_new <= g_lo[idx]) & (f2 < 0)) | ((g_new >= g_hi[idx]) & (f2 > 0))
            if np.any(pinned):
                j = idx[pinned]
                pj = {k: _take(val, j) for k, val in p.items()}
                energy[j] += np.abs(v[j] * self._current(pj, g[j], v[j])) * remaining[j]
                remaining[j] = 0.0
            idx = idx[remaining[idx] > 0]
        else:
            raise RuntimeError(f"{self.name}: pulse integration did not finish in {self.max_substeps} sub-steps")
        return {"gap": g, "peak_temperature": t_peak, "_energy": energy}

    def pulse_energy(self, before: State, after: State, amplitude, width, temperature):
        # integrated along the trajectory in apply_pulse (sum of V I dt)
        return after["_energy"]

    def current(self, state: State, voltage, temperature=300.0):
        return self._current(self.params, state["gap"], np.asarray(voltage, dtype=float))

    def conductance(self, state: State, v_read) -> np.ndarray:
        p = self.params
        v = float(v_read)
        shape = np.exp(-state["gap"] / p["g0"]) * p["I0"]
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
