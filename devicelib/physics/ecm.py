r"""Cation migration (ECM / CBRAM): growth and dissolution of an Ag or Cu filament.

Menzel model (``ecm.menzel``)
-----------------------------
After S. Menzel, U. Böttger, R. Waser, J. Appl. Phys. 111, 014501 (2012),
doi:10.1063/1.3673239 and S. Menzel, S. Tappertzhofen, R. Waser, I. Valov,
Phys. Chem. Chem. Phys. 15, 6945 (2013), doi:10.1039/C3CP50738F.

A metallic filament grows from the inert electrode through an ion-conducting
layer of thickness :math:`L` towards the active (Ag, Cu) electrode. The state
is the tunnelling gap :math:`x` between the filament tip and the active
electrode (:math:`x_{min} \le x \le L`) and the nucleation progress
:math:`\xi`.

*Voltage division.* The filament (resistance
:math:`R_{fil} = \rho_{fil} (L - x)/A`, :math:`A = \pi r_{fil}^2`) is in series
with the gap; the pulse circuit has a series resistance :math:`R_S`. Across
the gap the tunnelling conductance :math:`G_{tu}(x)` and the ionic branch
are in parallel. With the ionic current neglected in the division
(:math:`I_{ion} R_S \ll V`; :math:`I_{ion} \lesssim 1\,\mu A`),

.. math::  V_{gap} = \frac{V}{1 + (R_S + R_{fil}) G_{tu}(x)} .

*Ionic current.* The gap voltage is shared between electron transfer at the
filament tip (Butler-Volmer, overpotential :math:`\eta_{et}`) and
field-assisted ion hopping across the gap (:math:`\eta_{hop}`),
:math:`\eta_{et} + \eta_{hop} = V_{gap}`, carrying the same current:

.. math::

    I_{et} = j_0 A\, e^{-\Delta G_{et}/kT}
        \left[e^{(1-\alpha) z q \eta_{et}/kT} - e^{-\alpha z q \eta_{et}/kT}\right],

    I_{hop} = 2 z q c\, a\, \nu_0 A\, e^{-\Delta W/kT}
        \sinh\!\left(\frac{a z q \eta_{hop}}{2 x k T}\right),

solved for :math:`\eta_{et}` by safeguarded Newton iteration (to 1e-12 V).
The electron-transfer reaction at the (much larger) active electrode is
taken as fast. The gap closes (SET, V > 0) or opens (RESET, V < 0) at

.. math::  \frac{dx}{dt} = -\operatorname{sign}(V)\,\frac{M}{z q \rho_m}\,\frac{I_{ion}}{A} .

*Nucleation.* Growth starts only after a stable nucleus has formed. The
nucleation time :math:`t_{nuc} = t_0 e^{\Delta G_{nuc}/kT}
e^{-(N_c + \alpha_{nuc}) z q V_{gap}/kT}` (V > 0) is consumed as an
additive reduced time, :math:`\xi \mathrel{+}= t_p / t_{nuc}(V, T)`; growth
begins when :math:`\xi` reaches 1, at :math:`(1 - \xi_{old}) t_{nuc}` into
the pulse. A filament dissolved back to :math:`x = L` resets :math:`\xi` to 0.

*Read.* Simmons tunnelling in the low-voltage regime, in series with the
filament, parallel to the electrolyte leakage :math:`G_{el}`:

.. math::

    G_{tu}(x) = A \frac{3\sqrt{2 m^* \phi}}{2 x}\left(\frac{q}{h}\right)^2
        e^{-\kappa x}, \quad \kappa = \frac{4\pi\sqrt{2 m^* \phi}}{h},
    \qquad G = G_{el} + \frac{G_{tu}}{1 + R_{fil} G_{tu}} .

Temperature enters every rate through Arrhenius factors and kT; the device
is isothermal at the ambient temperature of the pulse (ionic currents are nA
to uA before contact: no Joule heating is modelled).

Per-pulse integration
---------------------
V is constant during a pulse and the rate depends on x only, so the gap ODE
is autonomous: the time to move from :math:`x_a` to :math:`x_b` is
:math:`\int dx/|f(x)|`. The gap is advanced in steps
:math:`\Delta x = \mathrm{clip}(0.05\,x, 0.005, 0.5)` nm; each step's
duration (and energy :math:`\int P\,dx/|f|`) is a 3-point Gauss-Legendre
quadrature. The last, partial step (when the remaining pulse time is shorter
than the step's duration) is one classical RK4 step in time. The nucleation
phase is exact. Tests compare against ``scipy.integrate.solve_ivp`` (LSODA,
rtol 1e-10): the gap after a pulse agrees to 2e-3 of the gap change (and
within 1e-3 nm) over 0.2-1.5 V SET and -0.2 to -1 V RESET, 300-400 K.
A full SET takes about 110 steps whatever the pulse width.

References
----------
- S. Menzel, U. Böttger, R. Waser, J. Appl. Phys. 111, 014501 (2012), doi:10.1063/1.3673239.
- S. Menzel, S. Tappertzhofen, R. Waser, I. Valov, Phys. Chem. Chem. Phys. 15, 6945 (2013),
  doi:10.1039/C3CP50738F.
- J. G. Simmons, J. Appl. Phys. 34, 1793 (1963), doi:10.1063/1.1702682 (tunnelling).
"""

from __future__ import annotations

import numpy as np

from ..core import DeviceModel, Parameter, State, StateVariable
from ..units import h_planck, k_B, q_e

EV = q_e
NM = 1e-9
M_E = 9.1093837015e-31  # electron mass, kg
_GL_X = np.array([-np.sqrt(0.6), 0.0, np.sqrt(0.6)])
_GL_W = np.array([5.0, 8.0, 5.0]) / 9.0


def _take(value, idx):
    return value[idx] if np.ndim(value) else value


class Menzel(DeviceModel):
    __doc__ = __doc__
    name = "ecm.menzel"
    family = "ecm"
    family_name = "Cation migration (ECM/CBRAM), Menzel filament-gap model"
    amplitude_unit = "V"
    references = (
        "Menzel, Böttger, Waser, J. Appl. Phys. 111, 014501 (2012), doi:10.1063/1.3673239",
        "Menzel, Tappertzhofen, Waser, Valov, Phys. Chem. Chem. Phys. 15, 6945 (2013), doi:10.1039/C3CP50738F",
        "Simmons, J. Appl. Phys. 34, 1793 (1963), doi:10.1063/1.1702682",
    )
    parameters = (
        Parameter("L", "m", 20 * NM, (2 * NM, 500 * NM), "L", "thickness of the ion-conducting layer", fixed=True),
        Parameter("x_min", "m", 0.1 * NM, (0.02 * NM, 2 * NM), "x_min",
                  "smallest gap (filament touching the active electrode)"),
        Parameter("r_fil", "m", 2 * NM, (0.2 * NM, 50 * NM), "r_fil", "filament radius (A = pi r^2)"),
        Parameter("M", "kg", 1.791e-25, (1e-26, 1e-24), "M", "mass of one metal atom (Ag 1.791e-25 kg)",
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
        Parameter("dW_hop", "J", 0.15 * EV, (0.0, 2.0 * EV), "dW", "activation energy of ion hopping"),
        Parameter("t0_nuc", "s", 1e-5, (1e-20, 1e3), "t_0", "nucleation time prefactor", log=True),
        Parameter("dG_nuc", "J", 0.8 * EV, (0.0, 3.0 * EV), "dG_nuc", "activation energy of nucleation"),
        Parameter("N_c", "", 2.0, (0.0, 30.0), "N_c", "number of atoms in the critical nucleus"),
        Parameter("alpha_nuc", "", 0.5, (0.0, 1.0), "alpha_nuc", "transfer coefficient of nucleation"),
        Parameter("phi_b", "J", 2.0 * EV, (0.1 * EV, 6.0 * EV), "phi", "tunnelling barrier height"),
        Parameter("m_eff", "", 0.4, (0.01, 3.0), "m*/m_e", "tunnelling effective mass ratio"),
        Parameter("rho_fil", "ohm*m", 1e-7, (1e-9, 1e-3), "rho_fil", "filament resistivity", log=True),
        Parameter("G_el", "S", 1e-9, (1e-15, 1e-3), "G_el", "leakage conductance of the electrolyte (HRS)",
                  log=True),
        Parameter("R_series", "ohm", 5e3, (0.0, 1e9), "R_S", "series resistance of the pulse circuit"),
    )
    state_variables = (
        StateVariable("gap", "m", ("x_min", "L"), "tunnelling gap x between filament tip and active electrode"),
        StateVariable("nucleation", "", (0.0, 1.0), "nucleation progress (sum of t_p/t_nuc; growth from 1)"),
    )

    #: gap step control (see module docstring)
    step_fraction = 0.05
    step_min = 0.005 * NM
    step_max = 0.5 * NM
    max_substeps = 20_000
    newton_iterations = 60

    def _check(self) -> None:
        if np.any(np.asarray(self.params["x_min"]) >= np.asarray(self.params["L"])):
            raise ValueError(f"{self.name}: x_min must be smaller than L")

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
        return v / (1.0 + (p["R_series"] + cls._r_fil(p, x)) * cls._g_tunnel(p, x))

    @classmethod
    def _ion_current(cls, p, x, vg, temp, iterations=60):
        """Magnitude of the ionic current (A) for gap voltage vg: solves eta_et + eta_hop = |vg|.

        Safeguarded Newton on ln I_et(eta_et) - ln I_hop(|vg| - eta_et) = 0 (monotone in eta_et),
        started from the solution of the exponential (high-overpotential) limits of both laws.
        """
        kt = k_B * temp
        vt = kt / q_e
        z = p["z"]
        area = cls._area(p)
        mag = np.abs(vg)
        a_s = np.where(vg >= 0, 1.0 - p["alpha_et"], p["alpha_et"])
        ln_ie0 = np.log(p["j0"] * area) - p["dG_et"] / kt
        ln_ih0 = np.log(2.0 * z * q_e * p["c_ion"] * p["a_hop"] * p["nu0"] * area) - p["dW_hop"] / kt
        beta = p["a_hop"] * z * q_e / (2.0 * x * kt)
        mag, a_s, ln_ie0, ln_ih0, beta, vt, z = np.broadcast_arrays(mag, a_s, ln_ie0, ln_ih0, beta, vt, z)
        live = mag > 0
        ce = a_s * z / vt
        # unknown phi: eta_et = |vg| sigma(phi), eta_hop = |vg| sigma(-phi); both logarithms are then
        # asymptotically linear in phi at either end, and Newton converges in a few steps.
        u0 = (ln_ih0 - np.log(2.0) - ln_ie0 + beta * mag) / (ce + beta)
        frac = np.clip(u0 / np.where(live, mag, 1.0), 1e-9, 1 - 1e-9)
        phi = np.log(frac) - np.log1p(-frac)
        lo = np.full_like(mag, -80.0)
        hi = np.full_like(mag, 80.0)
        done = ~live
        with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
            for _ in range(iterations):
                sp = 0.5 * (1.0 + np.tanh(0.5 * phi))  # sigma(phi)
                sm = 0.5 * (1.0 - np.tanh(0.5 * phi))  # sigma(-phi)
                u, w_v = mag * sp, mag * sm
                s = z * u / vt
                w = beta * w_v
                g_et = ln_ie0 + a_s * s + np.log(-np.expm1(-s))
                g_hop = ln_ih0 + w + np.log(-np.expm1(-2.0 * w)) - np.log(2.0)  # ln(I_h0 sinh w)
                fval = g_et - g_hop
                fder = (ce + (z / vt) / np.expm1(s) + beta / np.tanh(w)) * mag * sp * sm
                lo = np.where(fval < 0, phi, lo)
                hi = np.where(fval >= 0, phi, hi)
                pn = phi - fval / fder
                bad = ~np.isfinite(pn) | (pn < lo) | (pn > hi)
                pn = np.where(bad, 0.5 * (lo + hi), pn)
                pn = np.where(done | (fval == 0), phi, pn)
                done = done | (np.abs(pn - phi) <= 1e-11)
                phi = pn
                if np.all(done | ~live):
                    break
        sm = 0.5 * (1.0 - np.tanh(0.5 * phi))
        u = mag * (1.0 - sm)
        eta_hop = mag * sm
        return np.where(live, np.exp(ln_ih0) * np.sinh(beta * eta_hop), 0.0)

    @classmethod
    def _rate_power(cls, p, x, v, temp):
        """dx/dt (m/s) and the power dissipated in the device (W) at gap x under applied voltage v."""
        vg = cls._v_gap(p, x, v)
        i_ion = cls._ion_current(p, x, vg, temp)
        rate = -np.sign(vg) * p["M"] / (p["z"] * q_e * p["rho_m"]) * i_ion / cls._area(p)
        i_f = cls._g_tunnel(p, x) * vg + np.sign(vg) * i_ion
        v_dev = vg + i_f * cls._r_fil(p, x)
        power = np.abs(v_dev * i_f) + p["G_el"] * v_dev**2
        return rate, power

    @classmethod
    def _ln_t_nuc(cls, p, x, v, temp):
        kt = k_B * temp
        vg = cls._v_gap(p, x, v)
        ln_t = np.log(p["t0_nuc"]) + p["dG_nuc"] / kt - (p["N_c"] + p["alpha_nuc"]) * p["z"] * q_e * vg / kt
        return np.where(vg > 0, ln_t, np.inf)

    # -- integration ---------------------------------------------------------
    def _run(self, gap, nuc, v, temp, width, stop_gap=None):
        """Integrate one rectangular pulse; returns gap, nucleation, energy, elapsed time.

        ``stop_gap`` (SET only) ends the integration when the gap reaches it; ``elapsed`` is then
        the time taken (inf if never reached).
        """
        p_all = self.params
        x = np.array(gap, dtype=float)
        n = x.size
        nu = np.array(nuc, dtype=float)
        v = np.broadcast_to(np.asarray(v, dtype=float), (n,)).copy()
        temp = np.broadcast_to(np.asarray(temp, dtype=float), (n,)).copy()
        rem = np.broadcast_to(np.asarray(width, dtype=float), (n,)).copy()
        energy = np.zeros(n)
        elapsed = np.zeros(n)
        L = np.broadcast_to(p_all["L"], (n,)).astype(float)
        lo = np.broadcast_to(p_all["x_min"], (n,)).astype(float)
        if stop_gap is not None:
            lo = np.maximum(lo, np.broadcast_to(np.asarray(stop_gap, float), (n,)))
        # nucleation phase (exact: additive reduced time)
        idx = np.flatnonzero((nu < 1.0) & (x >= L) & (rem > 0) & (v != 0))
        if idx.size:
            pi = {k: _take(val, idx) for k, val in p_all.items()}
            ln_tn = self._ln_t_nuc(pi, x[idx], v[idx], temp[idx])
            _, power = self._rate_power(pi, x[idx], v[idx], temp[idx])
            with np.errstate(over="ignore"):
                t_nuc = np.exp(np.minimum(ln_tn, 700.0))
            need = (1.0 - nu[idx]) * t_nuc
            short = (need >= rem[idx]) | ~np.isfinite(need)
            dt = np.where(short, rem[idx], need)
            with np.errstate(invalid="ignore"):
                nu[idx] = np.where(short, np.minimum(nu[idx] + rem[idx] / t_nuc, 1.0), 1.0)
            fin = np.isfinite(dt)
            energy[idx] += np.where(fin, power * np.where(fin, dt, 0.0), 0.0)
            elapsed[idx] += np.where(short, np.inf if stop_gap is not None else rem[idx], need)
            rem[idx] = np.where(short, 0.0, rem[idx] - need)
        has_fil = (nu >= 1.0) | (x < L)
        idx = np.flatnonzero(has_fil & (rem > 0) & (v != 0))
        if stop_gap is not None:
            idx = idx[x[idx] > lo[idx]]
        direction = -np.sign(v)
        for _ in range(self.max_substeps):
            if idx.size == 0:
                break
            pi = {k: _take(val, idx) for k, val in p_all.items()}
            xi, vi, ti, di = x[idx], v[idx], temp[idx], direction[idx]
            dx = np.clip(self.step_fraction * xi, self.step_min, self.step_max)
            xn = np.clip(xi + di * dx, lo[idx], L[idx])
            h = xn - xi
            pinned = h == 0
            tau = np.zeros(idx.size)
            e_step = np.zeros(idx.size)
            with np.errstate(divide="ignore", invalid="ignore"):
                for node, w in zip(_GL_X, _GL_W, strict=True):
                    f, pw = self._rate_power(pi, xi + 0.5 * h * (1.0 + node), vi, ti)
                    inv = np.abs(0.5 * h * w) / np.abs(f)
                    tau += np.where(pinned, 0.0, inv)
                    e_step += np.where(pinned, 0.0, pw * inv)
            r = rem[idx]
            full = ~pinned & (tau <= r)
            part = ~pinned & ~full
            # full steps
            j = idx[full]
            x[j] = xn[full]
            rem[j] -= tau[full]
            energy[j] += e_step[full]
            elapsed[j] += tau[full]
            # partial steps: one RK4 step in time over the remaining pulse
            if np.any(part):
                j = idx[part]
                pj = {k: _take(val, j) for k, val in p_all.items()}
                if stop_gap is not None and np.any(~np.isfinite(rem[j])):
                    elapsed[j] = np.inf  # never reaches the target
                    rem[j] = 0.0
                else:
                    dt = rem[j]
                    x0, vj, tj = x[j], v[j], temp[j]
                    k1, p1 = self._rate_power(pj, x0, vj, tj)
                    k2, p2 = self._rate_power(pj, np.clip(x0 + 0.5 * dt * k1, lo[j], L[j]), vj, tj)
                    k3, p3 = self._rate_power(pj, np.clip(x0 + 0.5 * dt * k2, lo[j], L[j]), vj, tj)
                    k4, p4 = self._rate_power(pj, np.clip(x0 + dt * k3, lo[j], L[j]), vj, tj)
                    x[j] = np.clip(x0 + dt * (k1 + 2 * k2 + 2 * k3 + k4) / 6.0, lo[j], L[j])
                    energy[j] += dt * (p1 + 2 * p2 + 2 * p3 + p4) / 6.0
                    elapsed[j] += dt
                    rem[j] = 0.0
            # devices at a bound, pushed outward: hold the state for the rest of the pulse
            at_bound = (x[idx] <= lo[idx]) & (direction[idx] < 0) | (x[idx] >= L[idx]) & (direction[idx] > 0)
            hold = idx[at_bound & (rem[idx] > 0)]
            if hold.size:
                if stop_gap is None:
                    ph = {k: _take(val, hold) for k, val in p_all.items()}
                    _, pw = self._rate_power(ph, x[hold], v[hold], temp[hold])
                    energy[hold] += pw * rem[hold]
                    elapsed[hold] += rem[hold]
                rem[hold] = 0.0
            idx = idx[rem[idx] > 0]
        else:
            raise RuntimeError(f"{self.name}: pulse integration did not finish in {self.max_substeps} sub-steps")
        nu = np.where(x >= L, np.where(direction > 0, 0.0, nu), nu)  # filament dissolved: nucleate again
        return x, nu, energy, elapsed

    # -- the interface ---------------------------------------------------------
    def initial_state(self, n: int) -> State:
        x = np.broadcast_to(np.asarray(self.params["L"], dtype=float), (n,)).copy()
        return {"gap": x, "nucleation": np.zeros(n)}

    def apply_pulse(self, state: State, amplitude, width, temperature) -> State:
        x, nu, energy, _ = self._run(state["gap"], state["nucleation"], amplitude, temperature, width)
        return {"gap": x, "nucleation": nu, "_energy": energy}

    def pulse_energy(self, before: State, after: State, amplitude, width, temperature):
        # integrated along the trajectory in apply_pulse: sum of P dt in the device (not in R_series)
        return after["_energy"]

    def conductance(self, state: State, v_read) -> np.ndarray:
        p = self.params
        x = np.asarray(state["gap"], dtype=float)
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
        x = np.where(hi >= top * (1 - 1e-12), top, x)
        return {"gap": x, "nucleation": np.where(x < top, 1.0, 0.0)}

    # -- analysis ---------------------------------------------------------------
    def gap_rate(self, gap, voltage, temperature=300.0) -> np.ndarray:
        """dx/dt (m/s) at a given gap, applied voltage and temperature (filament present)."""
        gap, voltage, temperature = np.broadcast_arrays(*(np.asarray(a, float) for a in (gap, voltage, temperature)))
        rate, _ = self._rate_power(self.params, gap, voltage, temperature)
        return rate

    def nucleation_time(self, voltage, temperature=300.0) -> np.ndarray:
        """t_nuc (s) at the applied voltage (gap = L, no filament yet)."""
        v, t = np.broadcast_arrays(np.asarray(voltage, float), np.asarray(temperature, float))
        return np.exp(self._ln_t_nuc(self.params, np.asarray(self.params["L"], float), v, t))

    def set_time(self, voltage, temperature=300.0, gap_target=1.0 * NM) -> np.ndarray:
        """SET time (s) under a constant voltage from the pristine state: nucleation plus growth of
        the filament until the gap reaches ``gap_target`` (one integration, no pulse-width limit)."""
        v, t = np.broadcast_arrays(np.atleast_1d(np.asarray(voltage, float)), np.asarray(temperature, float))
        if self.n_param_devices() not in (None, v.size):
            raise ValueError(f"{self.name}.set_time: per-device parameters need one voltage per device")
        st = self.initial_state(v.size)
        _, _, _, elapsed = self._run(st["gap"], st["nucleation"], v, t, np.full(v.size, np.inf), stop_gap=gap_target)
        return elapsed
