r"""ECRAM: electrochemical random-access memory (Li-ion, protonic, oxygen-ion).

An ECRAM is a three-terminal battery-like transistor: a gate stack (ion
reservoir + solid electrolyte) inserts ions into a mixed ionic-electronic
channel (e.g. :math:`\mathrm{H_xWO_3}`, :math:`\mathrm{Li_xWO_3}`,
PEDOT:PSS), each ion adding :math:`\eta_e` mobile electronic carriers. There
is no canonical open compact model; this one is built from electrochemistry
(Bazant 2013) as in devicelib's physics notes, section 3.

State and read
--------------
The state is the ion fraction :math:`x = c/N_{sites}` of the channel
(:math:`0 < x < 1`). The channel of length :math:`L`, width :math:`W` and
thickness :math:`t_{ch}` holds :math:`N_{tot} = N_{sites} W t_{ch} L` sites.
The read conductance is

.. math::

    G = q\,\mu(x)\,n\,\frac{W t_{ch}}{L}, \qquad n = n_0 + \eta_e\, x N_{sites},
    \qquad \mu(x) = \mu_0\, e^{k_\mu (x - 1/2)}

(``k_mu = 0``: constant mobility). ``eta_e < 0`` describes de-doping
channels (PEDOT:PSS), where inserted cations remove holes.

Current-driven pulse (:class:`ECRAMCurrent`, amplitude in A)
------------------------------------------------------------
A gate current :math:`I_g` for :math:`t_p` moves
:math:`\Delta N = \epsilon_F I_g t_p/(z q)` ions (positive: insertion), so
:math:`\Delta x = \Delta N / N_{tot}` and, while :math:`\mu` is constant,

.. math::  \Delta G = \frac{\mu\,\eta_e\,\epsilon_F\, I_g t_p}{z L^2}

independent of the state and of the sign: linear and symmetric (e.g.
:math:`\mu` = 1e-6 m^2/(V s), Q = 1 pC, L = 10 um gives 10 nS). The current
source forces the charge, so the update is exact; at capacity the state is
clipped to ``[x_lo, x_hi]`` (the source's compliance stops it).

Voltage-driven pulse (:class:`ECRAMVoltage`, amplitude in V)
------------------------------------------------------------
The open-circuit voltage of the channel versus the gate reservoir (regular
solution with interaction energy :math:`\Omega`, an insertion electrode) is

.. math::  V_{oc}(x) = V_0 - \frac{kT}{zq}\ln\frac{x}{1-x} - \frac{\Omega(1-2x)}{zq}.

A gate voltage :math:`V_g` (positive inserts cations) gives the insertion
overpotential :math:`\eta = V_g + V_{oc}(x)` (zero at the equilibrium gate
voltage :math:`-V_{oc}(x)`). The gate current is Butler-Volmer with symmetric
transfer (:math:`\alpha = 1/2`) and exchange current
:math:`i_0 = 2 j_0 W L \sqrt{x(1-x)}` (:math:`j_0` at x = 1/2, gate area W L):

.. math::  I_g = 4 j_0 W L \sqrt{x(1-x)}\,\sinh\frac{zq\eta}{2kT}.

Writing :math:`s = zq(V_g+V_0)/(2kT)` and :math:`w(x) = \Omega(1-2x)/(2kT)`,
the Nernst factor cancels the square root and

.. math::

    \frac{dx}{dt} = \frac{I_g}{zqN_{tot}} = k\,[(1-x)\,e^{s-w(x)} - x\,e^{-s+w(x)}],
    \qquad k = \frac{2 j_0 W L}{z q N_{tot}}.

Insertion slows as :math:`(1-x)` and extraction as :math:`x`: saturation
near capacity (and near empty) follows from :math:`V_{oc}(x)` and
:math:`i_0(x)`; :math:`\Omega` bends it. :math:`\Omega < 2kT` is required (no
phase separation; checked at run time).

Per-pulse integration. For :math:`\Omega = 0` the equation is linear and the
update is exact: :math:`x = x_\infty + (x_0-x_\infty)e^{-\lambda t_p}`,
:math:`x_\infty = 1/(1+e^{-2s})`, :math:`\lambda = 2k\cosh s`. For
:math:`\Omega \ne 0` the same exponential update is applied on sub-steps with
the coefficients frozen at a midpoint predictor (exponential midpoint rule),
sub-steps limited to ``|dw| <= max_w_step`` (0.02); tests compare against
``scipy.integrate.solve_ivp`` (rtol 1e-11): the error of x after a pulse is
below 2e-5 (absolute) for |Omega| <= 1.5 kT, amplitudes 0.05-1 V, widths
1 us - 1 s.

Retention (both models)
-----------------------
With the gate floating, electronic leakage :math:`R_{leak}` through the
electrolyte lets the cell self-discharge towards :math:`V_{oc}(x_{eq}) = 0`:

.. math::

    \frac{dx}{dt} = \frac{V_{oc}(x)}{R_{leak}\, z q N_{tot}}, \qquad
    \tau = R_{leak} C_{chem},\quad C_{chem} = \frac{z^2q^2N_{tot}\,x(1-x)}{kT - 2\Omega x(1-x)}

(:math:`C_{chem} = z^2q^2N_{tot}x(1-x)/kT` for :math:`\Omega = 0`, as in
the notes). ``relax`` integrates it in :math:`u = \ln(x/(1-x))` with an
exponential midpoint rule, :math:`u - u_{eq} \to (u - u_{eq})e^{-\lambda h}`
with the local decay rate :math:`\lambda` taken at the predicted half step,
on sub-steps that change u by at most ``max_logit_step`` (0.02); close to
equilibrium this is the exact exponential decay with :math:`\tau`. Tested
against solve_ivp from x = 1e-4 to 0.9999 and dt = 1e-3 to 1e3 tau:
absolute error in x below 2e-5.

Noise
-----
Ion-number (shot) noise per pulse: the number of transferred ions is drawn
as :math:`\Delta N + \sqrt{F}\,(\mathrm{Poisson}(|\Delta N|) - |\Delta N|)`
(sign of :math:`\Delta N`), variance :math:`F|\Delta N|`; ``fano`` F = 1 is
Poisson, 0 switches the noise off (deterministic model for fits), F > 1 is
super-Poissonian excess noise. Drawn from ``self.rng``.

Energy per pulse (:meth:`_ECRAMBase.pulse_energy`): Faradaic work plus the resistive
losses in the electrolyte (:math:`\bar I^2 R_{el} t_p`), in the channel
(:math:`\bar I^2 t_p/12G`, the compensating electrons fed from both contacts) and
through the electrolyte's electronic leakage (:math:`V_g^2 t_p/R_{leak}`, voltage drive).

Not modelled: the electrolyte IR drop in the kinetics (V_g is the interfacial drive: the
terminal voltage is higher by :math:`I_g R_{el}`, counted in the energy only) and ion
transport limits in the gate stack, double-layer (non-Faradaic) charging,
asymmetric transfer coefficients, phase separation (Omega >= 2 kT).

References
----------
- M. Z. Bazant, "Theory of chemical kinetics and charge transfer based on
  nonequilibrium thermodynamics", Acc. Chem. Res. 46, 1144 (2013),
  doi:10.1021/ar300145c (Butler-Volmer with i0(x), regular-solution V_oc).
- J. Tang et al., "ECRAM as scalable synaptic cell for high-speed,
  low-power neuromorphic computing", IEDM 2018, doi:10.1109/IEDM.2018.8614551.
- E. J. Fuller et al., "Parallel programming of an ionic floating-gate
  memory array for scalable neuromorphic computing", Science 364, 570 (2019),
  doi:10.1126/science.aaw5581.
- M. Onen et al., "Nanosecond protonic programmable resistors for analog
  deep learning", Science 377, 539 (2022), doi:10.1126/science.abp8064.
"""

from __future__ import annotations

import numpy as np

from ..core import DeviceModel, Observable, Parameter, State, StateVariable
from ..units import k_B, q_e

EV = q_e
X_LO, X_HI = 1e-9, 1.0 - 1e-9


def _b(value, n):
    return np.broadcast_to(np.asarray(value, dtype=float), (n,))


def _take(value, idx):
    return value[idx] if np.ndim(value) else value


_COMMON = (
    Parameter("mu0", "m^2/(V*s)", 1e-6, (1e-12, 1.0), "mu_0", "electronic mobility of the channel at x = 1/2",
              log=True),
    Parameter("k_mu", "", 0.0, (-20.0, 20.0), "k_mu", "mobility change with x: mu = mu0 exp(k_mu (x - 1/2))"),
    Parameter("n0", "1/m^3", 1e25, (0.0, 1e30), "n_0", "background carrier density (no inserted ions)"),
    Parameter("eta_e", "", 1.0, (-4.0, 4.0), "eta_e", "electronic carriers added per inserted ion"),
    Parameter("N_sites", "1/m^3", 1e28, (1e20, 1e31), "N_sites", "ion site density of the channel", log=True),
    Parameter("W", "m", 10e-6, (1e-9, 1e-2), "W", "channel width", fixed=True),
    Parameter("L", "m", 10e-6, (1e-9, 1e-2), "L", "channel length (source-drain)", fixed=True),
    Parameter("t_ch", "m", 10e-9, (1e-10, 1e-4), "t_ch", "channel thickness", fixed=True),
    Parameter("z", "", 1.0, (1.0, 3.0), "z", "ion charge number", fixed=True),
    Parameter("V0", "V", 0.0, (-5.0, 5.0), "V_0", "open-circuit voltage at x = 1/2 (channel vs gate reservoir)"),
    Parameter("Omega", "J", 0.0, (-0.5 * EV, 0.5 * EV), "Omega", "regular-solution interaction energy per ion"),
    Parameter("R_leak", "ohm", 1e12, (1.0, 1e22), "R_leak", "electronic leakage resistance of the electrolyte",
              log=True),
    Parameter("x_init", "", 0.5, (1e-6, 1.0 - 1e-6), "x_init", "ion fraction of a fresh device"),
    Parameter("fano", "", 1.0, (0.0, 1e15), "F", "Fano factor of ion-number noise (1 Poisson, 0 none)"),
    Parameter("R_el", "ohm", 0.0, (0.0, 1e15), "R_el",
              "ionic resistance of the gate electrolyte (energy: I_g^2 R_el t_p; 0 = not characterised)"),
)


class _ECRAMBase(DeviceModel):
    family = "ecram"

    def guess(self, g, amplitude, normalise=True) -> dict[str, float]:
        """Data-driven start (devicelib.fit): mu0 scaled so the fresh device reads the median first read
        (G is proportional to mu0 at fixed x)."""
        g0 = np.asarray(g, dtype=float)[:, 0]
        g0 = g0[np.isfinite(g0) & (g0 > 0)]
        if not g0.size:
            return {}
        g_model = float(np.mean(self.conductance(self.initial_state(1), 0.1)))
        mu0 = float(np.mean(self.params["mu0"])) * float(np.median(g0)) / g_model
        return {"mu0": float(np.clip(mu0, *self.parameter("mu0").bounds))}
    volatile = True
    stochastic = True
    references = (
        "Bazant, Acc. Chem. Res. 46, 1144 (2013), doi:10.1021/ar300145c",
        "Tang et al., IEDM 2018, doi:10.1109/IEDM.2018.8614551",
        "Fuller et al., Science 364, 570 (2019), doi:10.1126/science.aaw5581",
        "Onen et al., Science 377, 539 (2022), doi:10.1126/science.abp8064",
    )
    state_variables = (StateVariable("x", "", (X_LO, X_HI), "ion fraction of the channel sites"),)
    observables = (
        Observable("V_oc", "V", "open-circuit voltage of the channel vs the gate reservoir"),
        Observable("ions", "", "number of inserted ions in the channel"),
    )

    #: sub-step limit of relax: largest change of logit(x) = ln(x/(1-x)) per step
    max_logit_step = 0.02
    #: below this |x - x_eq| relax finishes with one exact exponential
    linear_tolerance = 1e-9
    max_substeps = 10_000

    # -- derived quantities ----------------------------------------------------
    def n_sites_total(self):
        p = self.params
        return p["N_sites"] * p["W"] * p["t_ch"] * p["L"]

    def mobility(self, x):
        p = self.params
        return p["mu0"] * np.exp(p["k_mu"] * (np.asarray(x, dtype=float) - 0.5))

    def conductance_of_x(self, x):
        p = self.params
        x = np.asarray(x, dtype=float)
        n = p["n0"] + p["eta_e"] * x * p["N_sites"]
        return q_e * self.mobility(x) * n * p["W"] * p["t_ch"] / p["L"]

    def _check(self) -> None:
        p = self.params
        for xb in (X_LO, X_HI):
            if np.any(p["n0"] + p["eta_e"] * xb * p["N_sites"] <= 0):
                raise ValueError(f"{self.name}: carrier density n0 + eta_e x N_sites must stay positive for "
                                 f"0 <= x <= 1 (n0 = {np.min(p['n0']):g} 1/m^3, eta_e = {np.min(p['eta_e']):g})")

    def _check_omega(self, temperature):
        kt = k_B * np.asarray(temperature, dtype=float)
        if np.any(np.asarray(self.params["Omega"]) >= 2.0 * kt):
            raise ValueError(
                f"{self.name}: Omega = {np.max(self.params['Omega']) / EV:.4g} eV >= 2kT = "
                f"{2 * np.min(kt) / EV:.4g} eV at {np.min(temperature):g} K: the channel phase-separates, "
                "which this model does not describe"
            )

    def open_circuit_voltage(self, x, temperature=300.0):
        """V_oc(x) (V) of the channel versus the gate reservoir."""
        p = self.params
        x = np.asarray(x, dtype=float)
        zq = p["z"] * q_e
        kt = k_B * np.asarray(temperature, dtype=float)
        return p["V0"] - kt / zq * np.log(x / (1 - x)) - p["Omega"] * (1 - 2 * x) / zq

    def equilibrium_x(self, temperature=300.0, n=None):
        """x with V_oc(x) = 0 (where self-discharge ends), per device."""
        p = self.params
        kt = k_B * np.asarray(temperature, dtype=float)
        self._check_omega(temperature)
        if n is None:
            n = self.n_param_devices() or 1
        zq = p["z"] * q_e
        # V_oc is monotone for Omega < 2kT: bisection in logit(x), 60 halvings -> 1e-15 in x
        lo = np.full(n, -60.0)
        hi = np.full(n, 60.0)
        for _ in range(80):
            mid = 0.5 * (lo + hi)
            xm = 1.0 / (1.0 + np.exp(-mid))
            v = p["V0"] - kt / zq * mid - p["Omega"] * (1 - 2 * xm) / zq
            lo = np.where(v > 0, mid, lo)
            hi = np.where(v > 0, hi, mid)
        return 1.0 / (1.0 + np.exp(-0.5 * (lo + hi)))

    def chemical_capacitance(self, x, temperature=300.0):
        """C_chem (F) = z^2 q^2 N_tot x(1-x) / (kT - 2 Omega x(1-x))."""
        p = self.params
        x = np.asarray(x, dtype=float)
        kt = k_B * np.asarray(temperature, dtype=float)
        xx = x * (1 - x)
        return (p["z"] * q_e) ** 2 * self.n_sites_total() * xx / (kt - 2 * p["Omega"] * xx)

    def retention_time_constant(self, x=None, temperature=300.0):
        """tau = R_leak C_chem (s), at x (default: the equilibrium state)."""
        if x is None:
            x = self.equilibrium_x(temperature)
        return self.params["R_leak"] * self.chemical_capacitance(x, temperature)

    # -- interface -----------------------------------------------------------
    def initial_state(self, n: int) -> State:
        return {"x": _b(self.params["x_init"], n).copy()}

    def conductance(self, state: State, v_read) -> np.ndarray:
        return self.conductance_of_x(state["x"])

    def state_from_conductance(self, g, v_read) -> State:
        """Invert G(x) (monotone) by bisection."""
        g = np.asarray(g, dtype=float)
        glo, ghi = self.conductance_of_x(X_LO), self.conductance_of_x(X_HI)
        lo, hi = np.zeros(g.shape), np.ones(g.shape)
        rising = np.broadcast_to(ghi > glo, g.shape)
        for _ in range(60):
            mid = 0.5 * (lo + hi)
            above = (self.conductance_of_x(mid) > g) == rising
            hi = np.where(above, mid, hi)
            lo = np.where(above, lo, mid)
        return {"x": np.clip(0.5 * (lo + hi), X_LO, X_HI)}

    def observe(self, state: State) -> dict[str, np.ndarray]:
        return {"V_oc": self.open_circuit_voltage(state["x"]), "ions": state["x"] * self.n_sites_total()}

    def _ion_noise(self, x0, x1):
        """Add ion-number noise to a deterministic update x0 -> x1 (variance fano * |dN|)."""
        fano = np.asarray(self.params["fano"], dtype=float)
        if not np.any(fano > 0):
            return x1
        ntot = self.n_sites_total()
        dn = (x1 - x0) * ntot
        mag = np.abs(dn)
        draw = self.rng.poisson(np.minimum(mag, 1e15)).astype(float)
        big = mag > 1e15  # far beyond any device; numpy's Poisson limit, Gaussian is exact there
        if np.any(big):
            draw[big] = mag[big] + np.sqrt(mag[big]) * self.rng.standard_normal(int(big.sum()))
        dn_noisy = dn + np.sign(dn) * np.sqrt(fano) * (draw - mag)
        return np.clip(x0 + dn_noisy / ntot, X_LO, X_HI)

    def relax(self, state: State, dt, temperature) -> State:
        x = np.array(state["x"], dtype=float)
        n = x.size
        remaining = _b(dt, n).copy()
        temp = _b(temperature, n)
        self._check_omega(temp)
        p = self.params
        kt = k_B * temp
        ntot = _b(self.n_sites_total(), n)
        xeq = np.clip(self.equilibrium_x(temp, n), X_LO, X_HI)
        ueq = np.log(xeq / (1 - xeq))
        u = np.log(x / (1 - x))
        pz, pv0, pom, pr = (_b(p[k], n) for k in ("z", "V0", "Omega", "R_leak"))

        def decay(i, uu):
            """lambda_u = -(du/dt)/(u - u_eq) > 0 at logit uu; du/dt = V_oc / (R z q N_tot x(1-x))."""
            xv = 1.0 / (1.0 + np.exp(-uu))
            xx = xv * (1 - xv)
            zq = pz[i] * q_e
            dev = uu - ueq[i]
            voc = pv0[i] - kt[i] / zq * uu - pom[i] * (1 - 2 * xv) / zq
            dudt = voc / (pr[i] * zq * ntot[i] * xx)
            # linearised rate (1 / R C_chem) where the deviation is tiny
            lin = (kt[i] - 2 * pom[i] * xx) / (pr[i] * zq**2 * ntot[i] * xx)
            with np.errstate(divide="ignore", invalid="ignore"):
                lam = np.where(np.abs(dev) > self.linear_tolerance, -dudt / dev, lin)
            lam = np.where(np.isfinite(lam) & (lam > 0), lam, lin)
            return lam, np.abs(dudt)

        idx = np.flatnonzero(remaining > 0)
        for _ in range(self.max_substeps):
            if idx.size == 0:
                break
            ui = u[idx]
            dev = ui - ueq[idx]
            lam, speed = decay(idx, ui)
            near = np.abs(dev) <= self.linear_tolerance
            with np.errstate(divide="ignore"):
                h_lim = self.max_logit_step / np.maximum(speed, 1e-300)
            h = np.where(near, remaining[idx], np.minimum(remaining[idx], h_lim))
            # exponential midpoint in u: decay rate taken at the predicted half step
            lam_m, _ = decay(idx, ueq[idx] + dev * np.exp(-0.5 * h * lam))
            u[idx] = ueq[idx] + dev * np.exp(-h * lam_m)
            remaining[idx] -= h
            idx = idx[remaining[idx] > 0]
        else:
            raise RuntimeError(f"{self.name}: relax did not finish in {self.max_substeps} sub-steps")
        return {"x": np.clip(1.0 / (1.0 + np.exp(-u)), X_LO, X_HI)}

    def mean_field(self):
        """Deterministic twin for fitting: the ion-number noise has zero mean in dN, so the expected
        update is the noise-free one (``fano = 0``); the spread is estimated separately."""
        return self.with_params(fano=0.0)

    def step_at_conductance(self, g, amplitude, width, temperature=300.0):
        """Deterministic step dG (S) of one pulse from each conductance ``g`` and its ion-noise
        standard deviation sqrt(F |dN|) |dG/dN| (S): returns (dG, sigma)."""
        g = np.asarray(g, dtype=float)
        st = self.state_from_conductance(g, 0.1)
        quiet = self.with_params(fano=0.0)
        new = quiet.apply_pulse(st, amplitude, width, temperature)
        dg = quiet.conductance(new, 0.1) - quiet.conductance(st, 0.1)
        dn = np.abs(new["x"] - st["x"]) * self.n_sites_total()
        with np.errstate(divide="ignore", invalid="ignore"):
            sigma = np.where(dn > 0, np.sqrt(self.params["fano"] / dn) * np.abs(dg), 0.0)
        return dg, sigma

    def pulse_energy(self, before: State, after: State, amplitude, width, temperature):
        r"""Energy the gate source delivers in one pulse (J): Faradaic work plus resistive losses.

        With :math:`Q = zq\,\Delta N` moved in :math:`t_p` (mean gate current :math:`\bar I = Q/t_p`):

        - Faradaic: :math:`|V_g Q|` for voltage drive (the interfacial drive: reversible part
          :math:`-V_{oc}Q` plus the Butler-Volmer overpotential loss); :math:`|V_{oc}(\bar x)\,Q|` for
          current drive (reversible work against the open-circuit voltage; energy stored or recovered is
          not credited, so it is counted as a magnitude);
        - electrolyte (ionic): :math:`\bar I^2 R_{el} t_p`;
        - channel: the electrons that compensate the inserted ions enter through the grounded source
          and drain and are consumed uniformly along the channel, so the lateral current falls linearly
          from each contact to the middle: :math:`\bar I^2 t_p / (12\,G)` with the read conductance
          :math:`G` at the mean state (two-sided feed of a uniform sink);
        - electronic leakage of the electrolyte during voltage drive: :math:`V_g^2 t_p / R_{leak}`.

        The channel term keeps the energy of a current pulse positive at half filling, where
        :math:`V_{oc} = V_0` may vanish.
        """
        p = self.params
        q = np.abs(after["x"] - before["x"]) * self.n_sites_total() * p["z"] * q_e
        tp = np.asarray(width, dtype=float)
        xm = 0.5 * (before["x"] + after["x"])
        with np.errstate(divide="ignore", invalid="ignore"):
            i_mean = np.where(tp > 0, q / np.where(tp > 0, tp, 1.0), 0.0)
        resistive = i_mean**2 * tp * (p["R_el"] + 1.0 / (12.0 * self.conductance_of_x(xm)))
        if self.amplitude_unit == "V":
            v = np.asarray(amplitude, dtype=float)
            return np.abs(v) * q + resistive + v**2 * tp / p["R_leak"]
        return np.abs(self.open_circuit_voltage(xm, temperature)) * q + resistive


class ECRAMCurrent(_ECRAMBase):
    __doc__ = __doc__
    name = "ecram.current"
    #: parameters a typical measurement of each data kind identifies (devicelib.fit; rate prefactors,
    #: not activation energies, at one temperature): a choice by identifiability, not a measured value
    default_vary = {"pulse_train": ("mu0", "N_sites")}  # noqa: RUF012
    #: N_sites enters a read only through n = n0 + eta_e x N_sites: the fresh read at x_init, or where a train
    #: runs into capacity (the clip at x_hi); the step dG = mu eta_e eps_F Q/(z L^2) does not depend on it.
    #: Varied by default only when the fit starts from the initial state: a train in the device's linear
    #: range started from its first read does not determine it.
    fresh_read = ("N_sites",)
    family_name = "ECRAM (electrochemical RAM), current-driven gate"
    amplitude_unit = "A"
    parameters = (
        *_COMMON,
        Parameter("eps_F", "", 1.0, (1e-6, 1.0), "eps_F", "Faradaic efficiency of the gate current"),
    )

    def step_conductance(self, charge):
        """Linear-regime step dG (S) for gate charge Q (C), constant mobility at x = 1/2."""
        p = self.params
        return p["mu0"] * p["eta_e"] * p["eps_F"] * np.asarray(charge, dtype=float) / (p["z"] * p["L"] ** 2)

    def apply_pulse(self, state: State, amplitude, width, temperature) -> State:
        x0 = np.asarray(state["x"], dtype=float)
        p = self.params
        dn = p["eps_F"] * np.asarray(amplitude, dtype=float) * np.asarray(width, dtype=float) / (p["z"] * q_e)
        x1 = np.clip(x0 + dn / self.n_sites_total(), X_LO, X_HI)
        return {"x": self._ion_noise(x0, x1)}


class ECRAMVoltage(_ECRAMBase):
    __doc__ = __doc__
    name = "ecram.voltage"
    #: parameters a typical measurement of each data kind identifies (devicelib.fit; rate prefactors,
    #: not activation energies, at one temperature): a choice by identifiability, not a measured value
    default_vary = {"pulse_train": ("mu0", "N_sites", "j0")}  # noqa: RUF012
    family_name = "ECRAM (electrochemical RAM), voltage-driven gate (Butler-Volmer)"
    amplitude_unit = "V"
    parameters = (
        *_COMMON,
        Parameter("j0", "A/m^2", 1e-6, (1e-30, 1e6), "j_0", "exchange current density at x = 1/2", log=True),
    )

    #: largest change of w = Omega (1 - 2x) / 2kT per sub-step (Omega != 0 only)
    max_w_step = 0.02

    def _log_k(self, p, n):
        ntot = p["N_sites"] * p["W"] * p["t_ch"] * p["L"]
        return _b(np.log(2 * p["j0"] * p["W"] * p["L"] / (p["z"] * q_e * ntot)), n)

    def insertion_rate(self, x, voltage, temperature=300.0):
        """dx/dt (1/s) at state x under gate voltage V (for analysis and tests)."""
        p = self.params
        x = np.asarray(x, dtype=float)
        kt = k_B * np.asarray(temperature, dtype=float)
        s = p["z"] * q_e * (np.asarray(voltage, dtype=float) + p["V0"]) / (2 * kt)
        w = p["Omega"] * (1 - 2 * x) / (2 * kt)
        lk = self._log_k(p, np.size(x))
        return np.exp(lk + s - w) * (1 - x) - np.exp(lk - s + w) * x

    def apply_pulse(self, state: State, amplitude, width, temperature) -> State:
        x0 = np.asarray(state["x"], dtype=float)
        n = x0.size
        temp = _b(temperature, n)
        self._check_omega(temp)
        p = self.params
        kt = k_B * temp
        s = _b(p["z"] * q_e * (np.asarray(amplitude, dtype=float) + p["V0"]), n) / (2 * kt)
        wfac = _b(p["Omega"], n) / (2 * kt)  # w(x) = wfac (1 - 2x)
        lk = self._log_k(p, n)
        remaining = _b(width, n).copy()
        x = x0.copy()

        def coeffs(idx, xv):
            w = wfac[idx] * (1 - 2 * xv)
            la = lk[idx] + s[idx] - w
            lb = lk[idx] - s[idx] + w
            lam = np.exp(np.logaddexp(la, lb))
            xinf = 1.0 / (1.0 + np.exp(lb - la))
            return lam, xinf

        idx = np.flatnonzero(remaining > 0)
        for _ in range(self.max_substeps):
            if idx.size == 0:
                break
            xi = x[idx]
            lam, xinf = coeffs(idx, xi)
            if np.all(wfac[idx] == 0):
                h = remaining[idx]
                x[idx] = xinf + (xi - xinf) * np.exp(-lam * h)
                remaining[idx] = 0.0
                break
            # sub-step so that |dw| = 2 |wfac| |dx| <= max_w_step; |dx| <= |x_inf - x| (1 - e^{-lam h})
            dxmax = self.max_w_step / np.maximum(2 * np.abs(wfac[idx]), 1e-300)
            gap = np.abs(xinf - xi)
            with np.errstate(divide="ignore", invalid="ignore"):
                frac = np.where(gap > dxmax, dxmax / gap, 1.0)
                h_lim = np.where(frac < 1.0, -np.log1p(-frac) / lam, np.inf)
            h = np.minimum(remaining[idx], h_lim)
            # exponential midpoint: predictor to h/2, coefficients there, full step
            xh = xinf + (xi - xinf) * np.exp(-0.5 * lam * h)
            lam_m, xinf_m = coeffs(idx, xh)
            x[idx] = xinf_m + (xi - xinf_m) * np.exp(-lam_m * h)
            remaining[idx] -= h
            idx = idx[remaining[idx] > 0]
        else:
            raise RuntimeError(f"{self.name}: pulse integration did not finish in {self.max_substeps} sub-steps")
        x = np.clip(x, X_LO, X_HI)
        return {"x": self._ion_noise(x0, x)}
