r"""Mott / metal-insulator transition (MIT) devices: VO2 / NbO2 threshold switches and nickelate synapses.

``mott.thermal_switch`` — volatile, electrothermal (VO2, NbO2)
-----------------------------------------------------------------
Joule heating of the device drives it through its insulator-metal transition:

.. math::

    C_{th}\frac{dT}{dt} = \frac{V^2 R}{(R + R_s)^2} - S_e (T - T_0),\qquad
    R(T) = R_0\, e^{E_a/k T}\, g + R_m,

with :math:`T_0` the ambient temperature, :math:`R_s` an optional series (load) resistor (with a
source compliance ``I_cc`` or a 1T1R transistor the device voltage comes from the divider of
:mod:`devicelib.circuit`, solved by bisection at every stage; the power is then :math:`V_d I`) and
:math:`g\in[0,1]` the insulating fraction. Its major hysteresis branches are

.. math::  g_\delta(T) = \tfrac12 + \tfrac12\tanh\!\big(\beta(\delta\, w/2 + T_c - (T + T_p))\big),

:math:`\delta = +1` heating, :math:`-1` cooling, so the heating branch switches at
:math:`T_c + w/2` and the cooling branch at :math:`T_c - w/2`. Minor loops: :math:`T_p` is
chosen at every reversal so that g is continuous; we use the flat limit of that
construction, in which g is held inside the loop until T meets a major branch:
heating :math:`g \leftarrow \min(g, g_{+}(T))`, cooling :math:`g \leftarrow \max(g, g_{-}(T))`.

Threshold: runaway happens when :math:`V^2 > \max_T S_e (T-T_0) R(T)` on the insulating
branch, close to the estimate :math:`V_{th} \approx \sqrt{(T_c - T_0) R_{ins}/R_{th}}`,
:math:`R_{th} = 1/S_e` (:meth:`ThermalSwitch.threshold_voltage` gives the exact balance).

Per-pulse integration: V is constant, so dT/dt = f(T) is autonomous and T is monotone; g
follows T through the branch rule, so f depends on T alone during a pulse. Integrated with
classical RK4 (energy :math:`\int V I\,dt` as a second component) on adaptive sub-steps
limited to :math:`|\Delta T| \le` ``max_dT`` (0.25 K) within :math:`w/2 + 8/\beta` of
:math:`T_c` (0.25 K + 2 % of :math:`T - T_0` elsewhere) and :math:`\Delta t \le 0.5\,\tau_{lin}`
(:math:`\tau_{lin} = C_{th}/|df/dT|`); a device at its fixed point
(:math:`|f|\tau_{lin} < 10^{-9}` K) finishes at once. Tests compare with
``scipy.integrate.solve_ivp`` (rtol 1e-10): temperature within 0.05 K, energy within 0.5 %.

Relaxation (no bias) is exact: :math:`T = T_0 + (T - T_0) e^{-t/\tau_{th}}`,
:math:`\tau_{th} = C_{th}/S_e`, then the cooling rule for g. The device is volatile.

``mott.nickelate`` — non-volatile proton-doped nickelate synapse
-----------------------------------------------------------------
The state is the proton concentration :math:`x_H` (H per formula unit) in a perovskite
nickelate (H-NdNiO3, H-SmNiO3). Electron doping by the protons localises carriers, and the
resistivity grows exponentially:

.. math::  \rho(x_H) = \rho_0\, e^{\kappa x_H},\qquad G = 1/(\rho\, L/(W t)) = 1/(\rho\,\Gamma).

Protons drift by thermally activated, field-assisted hopping (barrier :math:`E_a`, hop
length a, field V/L):

.. math::

    r(V,T) = \nu_0 e^{-E_a/kT}\sinh\!\left(\frac{q a |V|}{2 L k T}\right),\quad
    \frac{dx_H}{dt} = \begin{cases} r\,(x_{max} - x_H) & V > 0 \text{ (protons in)}\\
                                    -r\, x_H & V < 0 \text{ (protons out)}\end{cases}

so a pulse gives the exact closed form :math:`x_{max} - (x_{max}-x)e^{-r t_p}` or
:math:`x e^{-r t_p}`. Energy :math:`\int V^2 G(x(t))\,dt` by 16-point Gauss-Legendre
quadrature over the closed-form trajectory (relative error < 1e-6 when
:math:`\kappa\,\Delta x_H < 10`, tested against adaptive quadrature). Non-volatile (proton
back-diffusion neglected).

References
----------
- VO2 electrothermal model and parameters: E. Qiu, Y.-H. Zhang, M. Di Ventra, I. K. Schuller,
  "Reconfigurable cascaded thermal neuristors for neuromorphic computing", Adv. Mater. 36,
  2306818 (2024), doi:10.1002/adma.202306818 (values as listed in devicelib's physics notes).
- M. D. Pickett, R. S. Williams, "Sub-100 fJ and sub-nanosecond thermally driven threshold
  switching in niobium oxide crosspoint nanodevices", Nanotechnology 23, 215202 (2012),
  doi:10.1088/0957-4484/23/21/215202.
- S. Kumar, R. S. Williams, Z. Wang, "Third-order nanocircuit elements for neuromorphic
  engineering", Nature 585, 518 (2020), doi:10.1038/s41586-020-2735-5.
- H.-T. Zhang et al., "Reconfigurable perovskite nickelate electronics for artificial
  intelligence", Science 375, 533 (2022), doi:10.1126/science.abj7943.
- J. Shi, S. D. Ha, Y. Zhou, F. Schoofs, S. Ramanathan, "A correlated nickelate synaptic
  transistor", Nat. Commun. 4, 2676 (2013), doi:10.1038/ncomms3676.
"""

from __future__ import annotations

import numpy as np

from ..circuit import CIRCUIT_PARAMETERS, solve_divider
from ..core import DeviceModel, Observable, Parameter, State, StateVariable
from ..core import per_device as _bc
from ..units import k_B, q_e

EV = q_e
NM = 1e-9



def _take(value, idx):
    return value[idx] if np.ndim(value) else value


class ThermalSwitch(DeviceModel):
    __doc__ = __doc__
    name = "mott.thermal_switch"
    #: parameters a typical measurement of each data kind identifies (devicelib.fit; rate prefactors,
    #: not activation energies, at one temperature): a choice by identifiability, not a measured value
    default_vary = {"pulse_train": ("R0", "C_th", "S_e")}  # noqa: RUF012

    def guess(self, g, amplitude, normalise=True, v_read=0.1) -> dict[str, float]:
        """Data-driven start (devicelib.fit): R0 at which the device at the ambient (300 K, heating branch)
        reads the median first read (R = R0 e^{Ea/kT} g + R_m: R0 from the insulating resistance, Ea held,
        since one temperature does not separate them). C_th and S_e are left to the scan of the objective
        (their start: the heating time constant and the rise the train shows)."""
        from ..fit.guess import match_first_read

        r0 = match_first_read(self, g, "R0", v_read)
        return {} if r0 is None else {"R0": r0}
    family = "mott"
    family_name = "Mott / metal-insulator transition, volatile electrothermal threshold switch (VO2, NbO2)"
    amplitude_unit = "V"
    volatile = True
    references = (
        "Qiu, Zhang, Di Ventra, Schuller, Adv. Mater. 36, 2306818 (2024), doi:10.1002/adma.202306818",
        "Pickett & Williams, Nanotechnology 23, 215202 (2012), doi:10.1088/0957-4484/23/21/215202",
        "Kumar, Williams, Wang, Nature 585, 518 (2020), doi:10.1038/s41586-020-2735-5",
    )
    parameters = (
        Parameter("R0", "ohm", 5.36e-3, (1e-12, 1e9), "R_0", "prefactor of the insulating-phase resistance", log=True),
        Parameter("Ea", "J", 5220 * k_B, (0.01 * EV, 2.0 * EV), "E_a", "activation energy of the insulating phase"),
        Parameter("R_m", "ohm", 1286.0, (1e-3, 1e9), "R_m", "metallic-phase (series) resistance", log=True),
        Parameter("Tc", "K", 332.8, (100.0, 1500.0), "T_c", "transition temperature (centre of the hysteresis)"),
        Parameter("w_h", "K", 7.19, (0.0, 300.0), "w", "width of the thermal hysteresis"),
        Parameter("beta_h", "1/K", 0.253, (1e-3, 100.0), "beta", "sharpness of the transition"),
        Parameter("C_th", "J/K", 4.96e-11, (1e-20, 1e-3), "C_th", "heat capacity of the switching volume", log=True),
        Parameter("S_e", "W/K", 2.06e-4, (1e-12, 10.0), "S_e", "thermal conductance to the ambient (1/R_th)",
                  log=True),
        *CIRCUIT_PARAMETERS,  # R_s: the load resistor; I_cc, 1T1R transistor: devicelib.circuit
    )
    state_variables = (
        StateVariable("device_temperature", "K", (0.0, np.inf), "device temperature T"),
        StateVariable("insulating_fraction", "", (0.0, 1.0), "insulating volume fraction g"),
    )
    observables = (
        Observable("device_temperature", "K", "device temperature"),
        Observable("insulating_fraction", "", "insulating volume fraction g"),
    )

    max_dT = 0.25  # K per sub-step
    max_substeps = 200_000

    # -- physics ---------------------------------------------------------------
    def tau_th(self):
        """Thermal time constant C_th / S_e (s)."""
        return np.asarray(self.params["C_th"]) / np.asarray(self.params["S_e"])

    @staticmethod
    def _branch(p, t, delta):
        return 0.5 + 0.5 * np.tanh(p["beta_h"] * (delta * p["w_h"] / 2 + p["Tc"] - t))

    @classmethod
    def _g_path(cls, p, t, g0, heating):
        return np.where(heating, np.minimum(g0, cls._branch(p, t, 1.0)), np.maximum(g0, cls._branch(p, t, -1.0)))

    @staticmethod
    def _resistance(p, t, g):
        with np.errstate(over="ignore"):
            return p["R0"] * np.exp(p["Ea"] / (k_B * t)) * g + p["R_m"]

    @classmethod
    def _rhs(cls, p, t, v, t0, g0, heating):
        """dT/dt (K/s) and the electrical power (W) along the pulse path."""
        r = cls._resistance(p, t, cls._g_path(p, t, g0, heating))
        if np.any(np.asarray(p["k_T"]) > 0):
            # access transistor: the divider by bisection (devicelib.circuit)
            vd, cur = solve_divider(v, lambda u: u / r, p["R_s"], p["I_cc"], p["V_g"], p["V_th_T"], p["k_T"])
            power = vd * cur
        elif np.any(np.asarray(p["I_cc"]) > 0):  # load and compliance on an ohmic device: closed form
            icc = np.asarray(p["I_cc"])
            cur = np.abs(v) / (r + p["R_s"])
            cur = np.where(icc > 0, np.minimum(cur, np.where(icc > 0, icc, np.inf)), cur)
            power = cur**2 * r
        else:  # the load resistor alone: closed form
            power = v**2 * r / (r + p["R_s"]) ** 2
        return (power - p["S_e"] * (t - t0)) / p["C_th"], power

    def resistance(self, state: State) -> np.ndarray:
        return self._resistance(self.params, state["device_temperature"], state["insulating_fraction"])

    def initial_state(self, n: int) -> State:
        t = np.full(n, 300.0)
        return {"device_temperature": t, "insulating_fraction": self._branch(self.params, t, 1.0) * np.ones(n)}

    def apply_pulse(self, state: State, amplitude, width, temperature) -> State:
        t = np.array(state["device_temperature"], dtype=float)
        g0 = np.array(state["insulating_fraction"], dtype=float)
        n = t.size
        v = _bc(amplitude, n)
        t0 = _bc(temperature, n)
        remaining = _bc(width, n).copy()
        energy = np.zeros(n)
        t_peak = t.copy()
        p = self.params
        f_start, _ = self._rhs(p, t, v, t0, g0, np.ones(n, bool))
        heating = f_start >= 0
        idx = np.flatnonzero(remaining > 0)
        for _ in range(self.max_substeps):
            if idx.size == 0:
                break
            pi = {k: _take(val, idx) for k, val in p.items()}
            ti, vi, t0i, gi, hi = t[idx], v[idx], t0[idx], g0[idx], heating[idx]
            k1, e1 = self._rhs(pi, ti, vi, t0i, gi, hi)
            dT = 1e-3 * np.maximum(np.abs(ti - t0i), 1.0)
            kd, _ = self._rhs(pi, ti + np.where(hi, dT, -dT), vi, t0i, gi, hi)
            lam = np.abs(kd - k1) / dT + 1e-300
            tau_lin = 1.0 / lam
            done = np.abs(k1) * tau_lin < 1e-9
            near = np.abs(ti - pi["Tc"]) < pi["w_h"] / 2 + 8.0 / pi["beta_h"]
            dT_max = np.where(near, self.max_dT, self.max_dT + 0.02 * np.abs(ti - t0i))
            dt = np.minimum.reduce([remaining[idx], dT_max / np.maximum(np.abs(k1), 1e-300), 0.5 * tau_lin])
            dt = np.where(done, remaining[idx], dt)
            k2, e2 = self._rhs(pi, ti + 0.5 * dt * k1, vi, t0i, gi, hi)
            k3, e3 = self._rhs(pi, ti + 0.5 * dt * k2, vi, t0i, gi, hi)
            k4, e4 = self._rhs(pi, ti + dt * k3, vi, t0i, gi, hi)
            t_new = np.where(done, ti, ti + dt / 6 * (k1 + 2 * k2 + 2 * k3 + k4))
            energy[idx] += np.where(done, e1 * dt, dt / 6 * (e1 + 2 * e2 + 2 * e3 + e4))
            t[idx] = t_new
            t_peak[idx] = np.maximum(t_peak[idx], t_new)
            remaining[idx] -= dt
            idx = idx[remaining[idx] > 1e-15 * np.maximum(_bc(width, n)[idx], 1e-300)]
        else:
            raise RuntimeError(f"{self.name}: pulse integration did not finish in {self.max_substeps} sub-steps")
        g = self._g_path(p, t, g0, heating)
        return {"device_temperature": t, "insulating_fraction": g, "_energy": energy, "_peak_temperature": t_peak}

    def relax(self, state: State, dt, temperature) -> State:
        t = np.asarray(state["device_temperature"], dtype=float)
        t0 = np.broadcast_to(np.asarray(temperature, dtype=float), t.shape)
        t_new = t0 + (t - t0) * np.exp(-np.asarray(dt, dtype=float) / self.tau_th())
        g = self._g_path(self.params, t_new, np.asarray(state["insulating_fraction"], dtype=float), t0 > t)
        return {"device_temperature": t_new, "insulating_fraction": g}

    def pulse_energy(self, before: State, after: State, amplitude, width, temperature):
        return after["_energy"]

    def conductance(self, state: State, v_read) -> np.ndarray:
        return 1.0 / self.resistance(state)

    def observe(self, state: State) -> dict[str, np.ndarray]:
        return {"device_temperature": np.asarray(state["device_temperature"]),
                "insulating_fraction": np.asarray(state["insulating_fraction"])}

    def threshold_voltage(self, ambient=300.0) -> float:
        """DC threshold from the thermal balance: sqrt(max_T S_e (T - T0) R(T)) on the heating branch, R_s = 0.

        Scalar parameters only. The maximum is taken over T0 < T < Tc + w/2 (beyond it the
        device is metallic).
        """
        p = self.params
        t = np.linspace(float(ambient), float(p["Tc"] + p["w_h"] / 2), 20001)
        r = self._resistance(p, t, self._branch(p, t, 1.0))
        return float(np.sqrt(np.max(p["S_e"] * (t - ambient) * r)))

    def dc_sweep(self, voltages, ambient=300.0, t_max=None, n_grid: int = 6000) -> dict[str, np.ndarray]:
        """Quasi-static (DC) sweep: the steady state the device settles in at each applied voltage.

        For a sweep much slower than tau_th the temperature sits on a stable fixed point of
        ``S_e (T - T0) = P(T)``, P the electrical power with the series circuit. Rising voltages follow
        the heating branch g_+(T) and the lowest stable fixed point at or above the previous one (the
        device fires when that point vanishes); falling voltages follow the cooling branch g_-(T) and the
        highest stable fixed point at or below the previous one (the flat-limit minor-loop rule of this
        model: along a monotone sweep g is the major branch). The sweep starts at the ambient on the
        heating branch. Scalar parameters only; roots on a grid of ``n_grid`` temperatures from T0 to
        ``t_max`` (default Tc + 20 w + 40/beta + 2000 K), refined linearly.

        Returns ``temperature`` (K), ``insulating_fraction`` and ``resistance`` (ohm) of the device,
        ``current`` (A) at each voltage.
        """
        p = {k: float(np.max(v)) for k, v in self.params.items()}
        v = np.asarray(voltages, dtype=float)
        t0 = float(ambient)
        t_hi = t_max or p["Tc"] + 20 * p["w_h"] + 40 / p["beta_h"] + 2000.0
        grid = np.linspace(t0, t_hi, int(n_grid))
        branch = {+1: self._branch(p, grid, 1.0), -1: self._branch(p, grid, -1.0)}
        res = {d: self._resistance(p, grid, b) for d, b in branch.items()}
        out_t = np.empty(v.size)
        t_prev, heating_prev, v_prev = t0, True, 0.0
        for k, vk in enumerate(v):  # sequential in the sweep (hysteresis); vectorised over the grid
            heating = vk >= v_prev if k else True
            if k and heating != heating_prev and abs(vk - v_prev) < 1e-15:
                heating = heating_prev
            d = 1 if heating else -1
            r = res[d]
            power = self._dc_power(p, vk, r)
            h = p["S_e"] * (grid - t0) - power
            up = np.flatnonzero((h[:-1] < 0) & (h[1:] >= 0))  # stable fixed points (upward crossings)
            roots = grid[up] - h[up] * (grid[up + 1] - grid[up]) / (h[up + 1] - h[up])
            if roots.size == 0:
                tk = t0
            elif heating:
                above = roots[roots >= t_prev - 1e-9]
                tk = above.min() if above.size else roots.max()
            else:
                below = roots[roots <= t_prev + 1e-9]
                tk = below.max() if below.size else roots.min()
            out_t[k], t_prev, heating_prev, v_prev = tk, tk, heating, vk
        # branch of each point from the sweep direction
        dirs = np.where(np.r_[True, np.diff(v) >= 0], 1.0, -1.0)
        g = np.where(dirs > 0, self._branch(p, out_t, 1.0), self._branch(p, out_t, -1.0))
        r_dev = self._resistance(p, out_t, g)
        cur = np.array([self._dc_current(p, vk, rk) for vk, rk in zip(v, r_dev, strict=True)])
        return {"temperature": out_t, "insulating_fraction": g, "resistance": r_dev, "current": cur}

    @staticmethod
    def _dc_power(p, v, r):
        """Power (W) in a device of resistance r (array) at applied voltage v with the series circuit."""
        if p["k_T"] <= 0:  # load and compliance: closed form, I = min(V / (R + R_s), I_cc)
            cur = np.abs(v) / (r + p["R_s"])
            if p["I_cc"] > 0:
                cur = np.minimum(cur, p["I_cc"])
            return cur**2 * r
        if p["I_cc"] > 0 or p["k_T"] > 0:
            vd, cur = solve_divider(np.full(np.shape(r), v), lambda u: u / r, p["R_s"], p["I_cc"], p["V_g"],
                                    p["V_th_T"], p["k_T"])
            return vd * cur
        return v**2 * r / (r + p["R_s"]) ** 2

    @staticmethod
    def _dc_current(p, v, r):
        if p["k_T"] <= 0:
            cur = abs(v) / (r + p["R_s"])
            return float(min(cur, p["I_cc"]) if p["I_cc"] > 0 else cur)
        if p["I_cc"] > 0 or p["k_T"] > 0:
            _, cur = solve_divider(np.array([v]), lambda u: u / r, p["R_s"], p["I_cc"], p["V_g"], p["V_th_T"],
                                   p["k_T"])
            return float(cur[0])
        return v / (r + p["R_s"])

    def threshold_estimate(self, ambient=300.0) -> float:
        """The textbook estimate sqrt((Tc - T0) R_ins / R_th), R_ins = R(Tc) on the heating branch."""
        p = self.params
        r_ins = self._resistance(p, p["Tc"], self._branch(p, p["Tc"], 1.0))
        return float(np.sqrt((p["Tc"] - ambient) * r_ins * p["S_e"]))


class Nickelate(DeviceModel):
    __doc__ = __doc__
    name = "mott.nickelate"
    #: parameters a typical measurement of each data kind identifies (devicelib.fit; rate prefactors,
    #: not activation energies, at one temperature): a choice by identifiability, not a measured value
    default_vary = {"pulse_train": ("rho0", "nu0")}  # noqa: RUF012

    def guess(self, g, amplitude, normalise=True, v_read=0.1) -> dict[str, float]:
        """Data-driven start (devicelib.fit): rho0 at which the fresh (undoped) film reads the median first
        read (G = 1/R is proportional to 1/rho0 at fixed proton concentration)."""
        from ..fit.guess import match_first_read

        rho0 = match_first_read(self, g, "rho0", v_read)
        return {} if rho0 is None else {"rho0": rho0}
    family = "mott"
    family_name = "Mott / metal-insulator transition, non-volatile proton-doped nickelate synapse"
    amplitude_unit = "V"
    references = (
        "Zhang et al., Science 375, 533 (2022), doi:10.1126/science.abj7943",
        "Shi, Ha, Zhou, Schoofs, Ramanathan, Nat. Commun. 4, 2676 (2013), doi:10.1038/ncomms3676",
    )
    parameters = (
        Parameter("rho0", "ohm*m", 1e-5, (1e-9, 1e3), "rho_0", "resistivity of the undoped nickelate", log=True),
        Parameter("kappa", "", 18.0, (0.1, 100.0), "kappa", "d ln(rho) / d x_H"),
        Parameter("geometry", "1/m", 2e7, (1.0, 1e12), "Gamma", "L / (W t) of the conducting channel", log=True,
                  fixed=True),
        Parameter("x_max", "", 1.0, (0.01, 3.0), "x_max", "proton concentration at saturation (H per formula unit)"),
        Parameter("nu0", "1/s", 1e11, (1e-3, 1e16), "nu_0", "attempt rate of proton hopping", log=True),
        Parameter("Ea", "J", 0.5 * EV, (0.05 * EV, 2.0 * EV), "E_a", "activation energy of proton migration"),
        Parameter("a_hop", "m", 0.3 * NM, (0.05 * NM, 2 * NM), "a", "proton hop length", fixed=True),
        Parameter("L_drift", "m", 50 * NM, (1 * NM, 1e-4), "L", "length over which the pulse voltage drops",
                  fixed=True),
    )
    state_variables = (
        StateVariable("proton_concentration", "", (0.0, "x_max"), "proton concentration x_H (H per formula unit)"),
    )
    observables = (
        Observable("proton_concentration", "", "proton concentration x_H (H per formula unit)"),
        Observable("resistivity", "ohm*m", "resistivity of the nickelate channel"),
    )
    _gl_nodes, _gl_weights = np.polynomial.legendre.leggauss(16)

    def rate(self, amplitude, temperature=300.0):
        """r(V, T) (1/s)."""
        p = self.params
        v = np.abs(np.asarray(amplitude, dtype=float))
        kt = k_B * np.asarray(temperature, dtype=float)
        return p["nu0"] * np.exp(-p["Ea"] / kt) * np.sinh(q_e * p["a_hop"] * v / (2 * p["L_drift"] * kt))

    def _x_at(self, x0, v, r, t):
        xm = self.params["x_max"]
        return np.where(v > 0, xm - (xm - x0) * np.exp(-r * t), x0 * np.exp(-r * t))

    def initial_state(self, n: int) -> State:
        return {"proton_concentration": np.zeros(n)}

    def apply_pulse(self, state: State, amplitude, width, temperature) -> State:
        x0 = np.asarray(state["proton_concentration"], dtype=float)
        n = x0.size
        v = _bc(amplitude, n)
        tp = _bc(width, n)
        r = _bc(self.rate(v, temperature), n)
        x = self._x_at(x0, v, r, tp)
        # energy: 16-point Gauss-Legendre over the closed-form trajectory
        ts = 0.5 * tp[None, :] * (self._gl_nodes[:, None] + 1.0)
        xs = self._x_at(x0[None, :], v[None, :], r[None, :], ts)
        g = self._g(xs)
        energy = 0.5 * tp * np.sum(self._gl_weights[:, None] * v[None, :] ** 2 * g, axis=0)
        return self.clip_state({"proton_concentration": x, "_energy": energy})

    def _g(self, x):
        p = self.params
        return 1.0 / (p["rho0"] * np.exp(p["kappa"] * x) * p["geometry"])

    def pulse_energy(self, before: State, after: State, amplitude, width, temperature):
        return after["_energy"]

    def conductance(self, state: State, v_read) -> np.ndarray:
        return self._g(np.asarray(state["proton_concentration"], dtype=float))

    def state_from_conductance(self, g, v_read) -> State:
        p = self.params
        g = np.asarray(g, dtype=float)
        if np.any(g <= 0) or not np.all(np.isfinite(g)):
            raise ValueError(f"{self.name}: conductance must be positive and finite to infer x_H")
        x = np.log(1.0 / (g * p["rho0"] * p["geometry"])) / p["kappa"]
        return {"proton_concentration": np.clip(x, 0.0, p["x_max"])}

    def observe(self, state: State) -> dict[str, np.ndarray]:
        p = self.params
        x = np.asarray(state["proton_concentration"], dtype=float)
        return {"proton_concentration": x, "resistivity": p["rho0"] * np.exp(p["kappa"] * x)}
