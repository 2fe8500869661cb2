r"""Spintronic synapses: domain-wall MTJ and stochastic (thermally activated) MTJ.

Model ``spintronic.dw_mtj`` (Siddiqui et al., Nano Lett. 20, 1033 (2020))
-------------------------------------------------------------------------
A magnetic tunnel junction sits on a ferromagnetic track between :math:`x_l` and :math:`x_h`; a
domain wall at :math:`x` splits the free layer under it into an antiparallel part
:math:`[x_l, x]` and a parallel part :math:`[x, x_h]`. The two parts conduct in parallel, so the
conductance is linear in the wall position:

.. math::  G = \frac{(x - x_l)/R_{AP} + (x_h - x)/R_P}{x_h - x_l}.

A write current I through the track (three-terminal device: the write path does not cross the
tunnel barrier) of cross-section :math:`w\,t` has density :math:`J = I/(w t)`. Below the depinning
density the wall does not move; above it moves at the linear-regime velocity

.. math::  |\Delta x| = \mu_{DW}\,(|J| - J_{dep})\,t_p \quad (|J| > J_{dep}),\qquad 0 \text{ otherwise},

and stops at the ends of the MTJ region. Direction (set in a real stack by the sign of the spin
Hall angle and the wall chirality): positive current moves the wall towards :math:`x_l`, growing
the parallel region (potentiation). Per pulse: constant velocity, so the update is exact.
Energy: :math:`\int V I\,dt = I^2 R_{write} t_p` for the write-path resistance (exact for a
rectangular pulse). ``observe``: wall position (m), antiparallel fraction and the mean free-layer
magnetisation along the reference, :math:`m_z = 1 - 2 f_{AP}`. Thermally activated creep below
:math:`J_{dep}` and stochastic depinning are not modelled (deterministic).

Model ``spintronic.stochastic_mtj`` (Neel-Brown, Koch et al., PRL 92, 088302 (2004))
-----------------------------------------------------------------------------------
Two states, parallel (P, ``antiparallel`` = 0) and antiparallel (AP, 1). Conductances
:math:`G_P = A/RA` (:math:`R_P = RA/A`) and :math:`G_{AP}(V) = G_P/(1 + TMR(V))` with the bias
dependence :math:`TMR(V) = TMR_0/(1 + V^2/V_h^2)`; Julliere: :math:`TMR_0 = 2P_1P_2/(1 - P_1P_2)`
(``julliere_tmr``). Spin-transfer-assisted thermal switching,
:math:`\Delta = E_b/kT`,

.. math::

    \tau_{AP\to P} = \tau_0 \exp[\Delta(1 - I/I_{c0,P})],\qquad
    \tau_{P\to AP} = \tau_0 \exp[\Delta(1 + I/I_{c0,AP})],

(positive current favours P), exponents floored at 0. The thermal one-way switching probability
of a pulse is :math:`P_{th} = 1 - e^{-t_p/\tau}`; 50 % at :math:`t_p = \tau\ln 2`.

*Precessional regime (short pulses above* :math:`I_{c0}` *).* Above the critical current the
spin torque outweighs the damping and the magnetisation spirals out from its thermal initial
angle :math:`\theta_0`: :math:`\theta(t) = \theta_0 e^{(i - 1)t/\tau_D}`, :math:`i = |I|/I_{c0}`,
so the switching time is inversely proportional to the overdrive (Sun, PRB 62, 570 (2000)):

.. math::  t_{sw} = \frac{\tau_D}{i - 1}\ln\frac{\pi}{2\theta_0},\qquad
           \tau_D = \frac{1 + \alpha^2}{\alpha\gamma\mu_0 H_k}.

With the Boltzmann distribution of the initial angle, :math:`p(\theta_0) \propto
e^{-\Delta\theta_0^2}`, a device has switched at :math:`t` when :math:`\theta_0` exceeded
:math:`(\pi/2)e^{-(i-1)t/\tau_D}` (macrospin, Butler et al., IEEE Trans. Magn. 48, 4684 (2012)):

.. math::  P_{prec}(t) = \exp\!\left[-\frac{\pi^2\Delta}{4}\,e^{-2(i-1)t/\tau_D}\right]
           \quad (i > 1),\qquad 0 \quad (i \le 1),

whose median is :math:`t_{50} = \frac{\tau_D}{i-1}\ln\frac{\pi\sqrt{\Delta}}{2\sqrt{\ln 2}}`
(Sun's law with :math:`\theta_0 = \sqrt{\ln 2/\Delta}`; ``precessional_time``).

*Crossover.* The two channels act independently on the favoured transition:
:math:`P_{sw} = 1 - (1 - P_{th})(1 - P_{prec})` (``switching_probability``). Far below
:math:`I_{c0}` the thermal term dominates (ms-s pulses), far above it the precessional term (sub-ns
to ns pulses); near :math:`I_{c0}` (the dynamic-reversal region, about 0.8-1.5 :math:`I_{c0}`) this
product is an interpolation, not a derived result: the thermal channel's exponent is floored at 0
(rate :math:`1/\tau_0`), so at 1 ns and :math:`\tau_0` = 1 ns it contributes 0.63 until the
precessional term takes over.

*Per pulse (exact sampling).* With constant current the two-state Markov chain with rates
:math:`a = 1/\tau_{AP\to P}`, :math:`b = 1/\tau_{P\to AP}` has the closed form
:math:`p_{AP}(t) = p_\infty + (p_0 - p_\infty)e^{-(a+b)t}`, :math:`p_\infty = b/(a+b)`, which includes
switching back during the pulse (important for low-barrier p-bits, for which the stationary
:math:`\langle m_z\rangle = \tanh`-like in I; it reduces to :math:`1 - e^{-t/\tau}` when
:math:`b \ll a`). Then the precessional channel moves the remaining probability of the disfavoured
state: :math:`p_{AP} \leftarrow p_{AP}(1 - P_{prec})` for :math:`I > I_{c0,P}` and
:math:`p_{AP} \leftarrow p_{AP} + (1 - p_{AP})P_{prec}` for :math:`-I > I_{c0,AP}`. The final state of
each device is drawn from it with ``self.rng``. ``relax``
applies the same chain at zero current (retention time :math:`\tau_0 e^{\Delta}/2` for the
symmetric chain), so the model is ``volatile``. :meth:`StochasticMTJ.mean_field` returns a
deterministic twin whose state is the probability of AP: its conductance is exactly the ensemble
mean (the read is linear in the state), which ``devicelib.fit`` can fit.

*Energy.* Current drive through the junction: :math:`I^2\int R\,dt` with the AP resistance at the
self-consistent bias :math:`V = I R_{AP}(V)` (bisection). The time spent in AP during the pulse
is its expectation given the start state, :math:`\int p_{AP}dt = p_\infty t + (p_0 -
p_\infty)(1 - e^{-kt})/k`; the realised path differs by at most :math:`I^2(R_{AP} - R_P)t_p`.
A device that switches by precession is taken to leave its state at the median time
:math:`t_{50}` (an approximation of the expected dwell). The bisection depends only on the current,
so it is done once per distinct current (cached when all devices get the same current).

Conductance is read at ``v_read`` (bias-dependent TMR). ``observe``: ``magnetisation`` m_z = +1
(P) / -1 (AP), resistance (Ohm) and TMR at 0 V.

References
----------
- S. A. Siddiqui, S. Dutta, A. Tang, L. Liu, C. A. Ross, M. A. Baldo, "Magnetic domain wall based
  synaptic and activation function generator for neuromorphic accelerators", Nano Lett. 20, 1033
  (2020), doi:10.1021/acs.nanolett.9b04200.
- R. H. Koch, J. A. Katine, J. Z. Sun, "Time-resolved reversal of spin-transfer switching in a
  nanomagnet", PRL 92, 088302 (2004), doi:10.1103/PhysRevLett.92.088302.
- M. Julliere, Phys. Lett. A 54, 225 (1975), doi:10.1016/0375-9601(75)90174-7.
- J. Z. Sun, "Spin-current interaction with a monodomain magnetic body: a model study", PRB 62, 570
  (2000), doi:10.1103/PhysRevB.62.570.
- W. H. Butler et al., "Switching distributions for perpendicular spin-torque devices within the
  macrospin approximation", IEEE Trans. Magn. 48, 4684 (2012), doi:10.1109/TMAG.2012.2209122.
- W. A. Borders et al., "Integer factorization using stochastic magnetic tunnel junctions",
  Nature 573, 390 (2019), doi:10.1038/s41586-019-1557-9.
"""

from __future__ import annotations

import numpy as np

from ..core import DeviceModel, Observable, Parameter, State, StateVariable
from ..core import against_state as _like
from ..units import k_B, q_e

EV = q_e


def julliere_tmr(p1, p2):
    """Julliere TMR ratio 2 P1 P2 / (1 - P1 P2) (dimensionless, 1.0 = 100 %)."""
    p1, p2 = np.asarray(p1, float), np.asarray(p2, float)
    return 2.0 * p1 * p2 / (1.0 - p1 * p2)


def tmr_bias(voltage, tmr0, v_half):
    """Bias dependence TMR(V) = TMR0 / (1 + V^2 / Vh^2)."""
    v = np.asarray(voltage, float)
    return np.asarray(tmr0, float) / (1.0 + (v / np.asarray(v_half, float)) ** 2)



def _per_device(x, n):
    return np.broadcast_to(np.asarray(x, dtype=float), (n,))


def _uniform(x):
    """``x[0]`` as a 0-d array when every entry of the 1-d ``x`` is equal, else ``x``."""
    return np.asarray(x[0]) if x.size > 1 and np.all(x == x[0]) else x


def _shared(x, n):
    """A pulse condition evaluated once when it is the same for all ``n`` devices: a scalar stays a
    0-d array (no per-pulse broadcast and comparison over the devices), a uniform array becomes one."""
    a = np.asarray(x, dtype=float)
    if a.ndim == 0 or (a.size == 1 and n > 1):
        return a.reshape(())
    return _uniform(_per_device(a, n))


_UPDATE = None


def _update_kernel():
    """The per-device part of a stochastic-MTJ pulse whose condition all devices share, compiled on
    first use (numba imported lazily): one pass instead of a dozen numpy temporaries. The expressions
    and their order are those of ``StochasticMTJ._chain`` and ``_step``, so the results are the same."""
    global _UPDATE
    if _UPDATE is None:
        import numba

        @numba.njit(cache=True, nogil=True)
        def update(s0, u, p_inf, decay, t_lin, dur, prec, to_p, to_ap, t50, expectation):  # pragma: no cover
            n = s0.size
            s1, t_ap = np.empty(n), np.empty(n)
            for i in range(n):
                p0 = s0[i]
                p1 = min(max(p0 + (p_inf - p0) * decay, 0.0), 1.0)
                ta = p_inf * dur + (p0 - p_inf) * t_lin
                if prec:
                    ta = ta * (1.0 - to_p) + to_p * p0 * t50 + to_ap * (1.0 - p1) * (dur - t50)
                    p1 = p1 * (1.0 - to_p)
                    p1 = p1 + (1.0 - p1) * to_ap
                if expectation:
                    s1[i] = p1
                else:
                    s1[i] = 1.0 if u[i] < p1 else 0.0
                t_ap[i] = ta
            return s1, t_ap

        _UPDATE = update
    return _UPDATE


def _check_temperature(name, temperature):
    t = np.asarray(temperature, dtype=float)
    if np.any(~np.isfinite(t)) or np.any(t <= 0):
        raise ValueError(f"{name}: temperature must be positive kelvin, got {temperature!r}")
    return t


# =============================================================================================
class DomainWallMTJ(DeviceModel):
    __doc__ = __doc__
    name = "spintronic.dw_mtj"
    #: parameters a typical measurement of each data kind identifies (devicelib.fit; rate prefactors,
    #: not activation energies, at one temperature): a choice by identifiability, not a measured value
    default_vary = {"pulse_train": ("R_P", "R_AP", "mu_dw")}  # noqa: RUF012

    def guess(self, g, amplitude, normalise=True) -> dict[str, float]:
        """Data-driven start (devicelib.fit): R_P = 1/max(G), R_AP = 1/min(G) of the measured reads."""
        g = np.asarray(g, dtype=float)
        g = g[np.isfinite(g) & (g > 0)]
        if g.size < 2 or g.max() <= g.min():
            return {}
        return {"R_P": float(np.clip(1.0 / g.max(), *self.parameter("R_P").bounds)),
                "R_AP": float(np.clip(1.0 / g.min(), *self.parameter("R_AP").bounds))}
    family = "spintronic"
    family_name = "Spintronic: domain-wall magnetic tunnel junction synapse"
    amplitude_unit = "A"
    references = ("Siddiqui et al., Nano Lett. 20, 1033 (2020), doi:10.1021/acs.nanolett.9b04200",)
    parameters = (
        Parameter("R_P", "ohm", 1e3, (1.0, 1e9), "R_P", "MTJ resistance with the free layer all parallel", log=True),
        Parameter("R_AP", "ohm", 2e3, (1.0, 1e9), "R_AP", "MTJ resistance with the free layer all antiparallel",
                  log=True),
        Parameter("x_l", "m", 0.0, (-1e-3, 1e-3), "x_l", "start of the MTJ region on the track", fixed=True),
        Parameter("x_h", "m", 1e-6, (-1e-3, 1e-3), "x_h", "end of the MTJ region on the track", fixed=True),
        Parameter("width", "m", 1e-6, (1e-9, 1e-3), "w", "track width", fixed=True),
        Parameter("thickness", "m", 5e-9, (1e-10, 1e-6), "t", "thickness of the current-carrying layer",
                  fixed=True),
        Parameter("mu_dw", "m^3/(A*s)", 4e-11, (1e-16, 1e-6), "mu_DW",
                  "domain-wall mobility dv/dJ above depinning", log=True),
        Parameter("J_dep", "A/m^2", 5e10, (0.0, 1e14), "J_dep", "depinning current density"),
        Parameter("R_write", "ohm", 2e3, (1e-3, 1e9), "R_write", "resistance of the write path (track)",
                  log=True, fixed=True),
    )
    state_variables = (
        StateVariable("wall_position", "m", ("x_l", "x_h"), "domain-wall position x along the track"),
    )
    observables = (
        Observable("wall_position", "m", "domain-wall position x"),
        Observable("ap_fraction", "", "antiparallel fraction of the free layer, (x - x_l)/(x_h - x_l)"),
        Observable("magnetisation", "", "mean free-layer magnetisation along the reference, 1 - 2 f_AP"),
    )

    def _check(self) -> None:
        p = self.params
        if np.any(np.asarray(p["R_P"]) >= np.asarray(p["R_AP"])):
            raise ValueError(f"{self.name}: R_P must be smaller than R_AP")
        if np.any(np.asarray(p["x_l"]) >= np.asarray(p["x_h"])):
            raise ValueError(f"{self.name}: x_l must be smaller than x_h")

    def current_density(self, current):
        return np.asarray(current, float) / (self.params["width"] * self.params["thickness"])

    def velocity(self, current):
        """Wall speed (m/s, signed: positive current moves the wall towards x_l)."""
        j = self.current_density(current)
        return -np.sign(j) * self.params["mu_dw"] * np.maximum(np.abs(j) - self.params["J_dep"], 0.0)

    def initial_state(self, n: int) -> State:
        return {"wall_position": _per_device(self.params["x_h"], n).copy()}  # all AP: lowest conductance

    def apply_pulse(self, state: State, amplitude, width, temperature) -> State:
        x = np.asarray(state["wall_position"], dtype=float)
        size = x.size
        dx = self.velocity(_per_device(amplitude, size)) * _per_device(width, size)
        lo, hi = (_per_device(self.params[k], size) for k in ("x_l", "x_h"))
        return {"wall_position": np.clip(x + dx, lo, hi)}

    def pulse_energy(self, before: State, after: State, amplitude, width, temperature):
        size = np.size(before["wall_position"])
        a = _per_device(amplitude, size)
        return a * a * _per_device(self.params["R_write"], size) * _per_device(width, size)

    def conductance(self, state: State, v_read) -> np.ndarray:
        p = self.params
        x = np.asarray(state["wall_position"], dtype=float)
        xl, xh = _like(p["x_l"], x), _like(p["x_h"], x)
        return ((x - xl) / _like(p["R_AP"], x) + (xh - x) / _like(p["R_P"], x)) / (xh - xl)

    def state_from_conductance(self, g, v_read) -> State:
        p = self.params
        g = np.asarray(g, dtype=float)
        if not np.all(np.isfinite(g)):
            raise ValueError(f"{self.name}: conductance must be finite to infer the wall position")
        gp, gap = 1.0 / p["R_P"], 1.0 / p["R_AP"]
        frac = np.clip((gp - g) / (gp - gap), 0.0, 1.0)
        return {"wall_position": p["x_l"] + frac * (p["x_h"] - p["x_l"])}

    def observe(self, state: State) -> dict[str, np.ndarray]:
        x = np.asarray(state["wall_position"], dtype=float)
        f = (x - _like(self.params["x_l"], x)) / (_like(self.params["x_h"], x) - _like(self.params["x_l"], x))
        return {"wall_position": x, "ap_fraction": f, "magnetisation": 1.0 - 2.0 * f}


# =============================================================================================
class StochasticMTJ(DeviceModel):
    __doc__ = __doc__
    name = "spintronic.stochastic_mtj"
    #: parameters a typical measurement of each data kind identifies (devicelib.fit; rate prefactors,
    #: not activation energies, at one temperature): a choice by identifiability, not a measured value
    default_vary = {"pulse_train": ("E_b", "Ic0_p", "Ic0_ap"), "switching_probability": ("E_b", "Ic0_p")}  # noqa: RUF012
    family = "spintronic"
    family_name = "Spintronic: stochastic (thermally activated) magnetic tunnel junction"
    amplitude_unit = "A"
    stochastic = True
    volatile = True
    #: True in the deterministic twin returned by :meth:`mean_field` (state = probability of AP)
    expectation = False
    references = (
        "Koch, Katine, Sun, PRL 92, 088302 (2004), doi:10.1103/PhysRevLett.92.088302",
        "Julliere, Phys. Lett. A 54, 225 (1975), doi:10.1016/0375-9601(75)90174-7",
        "Borders et al., Nature 573, 390 (2019), doi:10.1038/s41586-019-1557-9",
        "Sun, PRB 62, 570 (2000), doi:10.1103/PhysRevB.62.570",
        "Butler et al., IEEE Trans. Magn. 48, 4684 (2012), doi:10.1109/TMAG.2012.2209122",
    )
    parameters = (
        Parameter("RA", "ohm*m^2", 3e-12, (1e-15, 1e-6), "RA", "resistance-area product (parallel state)", log=True),
        Parameter("area", "m^2", 2.5e-15, (1e-18, 1e-9), "A", "junction area", log=True, fixed=True),
        Parameter("TMR0", "", 1.5, (0.0, 10.0), "TMR_0", "zero-bias TMR ratio (R_AP - R_P)/R_P"),
        Parameter("V_h", "V", 0.5, (1e-3, 10.0), "V_h", "bias at which the TMR halves"),
        Parameter("tau0", "s", 1e-9, (1e-13, 1e-3), "tau_0", "attempt time", log=True),
        Parameter("E_b", "J", 40 * k_B * 300.0, (1e-23, 1e-17), "E_b", "energy barrier between P and AP", log=True),
        Parameter("Ic0_p", "A", 50e-6, (1e-9, 1.0), "I_c0,P", "critical current AP -> P (positive current)",
                  log=True),
        Parameter("Ic0_ap", "A", 75e-6, (1e-9, 1.0), "I_c0,AP", "critical current P -> AP (negative current)",
                  log=True),
        Parameter("tau_D", "s", 1e-9, (1e-12, 1e-6), "tau_D",
                  "precessional time (1 + alpha^2)/(alpha gamma mu0 H_k) of the spin-torque regime", log=True),
    )
    state_variables = (
        StateVariable("antiparallel", "", (0.0, 1.0),
                      "1 in the antiparallel state, 0 in the parallel state (probability of AP in mean_field)"),
    )
    observables = (
        Observable("magnetisation", "", "free-layer magnetisation along the reference: +1 P, -1 AP"),
        Observable("resistance", "ohm", "resistance at zero bias"),
        Observable("tmr", "", "zero-bias TMR ratio"),
    )

    def guess(self, g, amplitude, normalise=True, v_read=0.1, width=None, temperature=None) -> dict[str, float]:
        """Data-driven start (devicelib.fit) from the switching rates of a pulse train (mean reads).

        The mean read gives the AP probability s = (G - G_P)/(G_AP - G_P) (R_P = RA/area, TMR held). Under
        pulses of current I and width t_p, s (AP->P, I > 0) or 1 - s (P->AP, I < 0) falls by
        exp(-t_p/tau) per pulse, and in the thermal regime ln(tau/tau0) = Delta (1 - |I|/Ic0): one line per
        polarity with a shared intercept Delta = E_b/kT. The rates of the pulses whose probability moves
        measurably (0.01 < s < 0.99 before and after) give Delta, Ic0_p, Ic0_ap by linear least squares;
        only the ones the data determine (at least two currents of a polarity) are returned."""
        if width is None:
            return {}
        g = np.atleast_2d(np.asarray(g, float))
        a = np.broadcast_to(np.atleast_2d(np.asarray(amplitude, float)), g.shape)
        w = np.broadcast_to(np.atleast_2d(np.asarray(width, float)), g.shape)
        temp = 300.0 if temperature is None else float(np.nanmedian(np.asarray(temperature, float)))
        p = self.params
        if any(np.ndim(p[k]) for k in ("RA", "area", "TMR0", "V_h", "tau0")):
            return {}
        gp = 1.0 / float(self.r_p())
        gap = gp / (1.0 + float(tmr_bias(float(v_read), p["TMR0"], p["V_h"])))
        s = (g - gp) / (gap - gp)
        rows, ys = [], []
        for pol in (1.0, -1.0):
            q = s if pol > 0 else 1.0 - s  # the probability the pulse empties
            with np.errstate(divide="ignore", invalid="ignore"):
                ok = ((a[:, 1:] * pol > 0) & (q[:, :-1] > 0.01) & (q[:, :-1] < 0.99) & (q[:, 1:] > 0.01)
                      & (q[:, 1:] < 0.99) & (q[:, 1:] < q[:, :-1]) & (w[:, 1:] > 0))
                tau = w[:, 1:][ok] / np.log(q[:, :-1][ok] / q[:, 1:][ok])
            cur = np.abs(a[:, 1:][ok])
            for c in np.unique(cur):  # one rate per current: the median of its pulses
                ys.append(np.log(np.median(tau[cur == c]) / float(p["tau0"])))
                rows.append([1.0, -c if pol > 0 else 0.0, -c if pol < 0 else 0.0])
        if len(rows) < 2:
            return {}
        A, y = np.array(rows), np.array(ys)
        used = [0] + [j for j in (1, 2) if np.count_nonzero(A[:, j]) >= 2]
        keep = np.any(A[:, used[1:]] != 0, axis=1)  # a polarity with one current has no slope: left out
        if len(used) < 2 or keep.sum() < len(used):
            return {}
        sol = np.linalg.lstsq(A[keep][:, used], y[keep], rcond=None)[0]
        delta, out = sol[0], {}
        if not delta > 0:
            return {}
        out["E_b"] = delta * k_B * temp
        for j, name in ((1, "Ic0_p"), (2, "Ic0_ap")):
            if j in used and sol[used.index(j)] > 0:
                out[name] = delta / sol[used.index(j)]
        return {k: float(np.clip(v, *self.parameter(k).bounds)) for k, v in out.items()}

    def mean_field(self) -> StochasticMTJ:
        """Deterministic twin: the state is the probability of AP and the read is the ensemble mean (exact)."""
        twin = _StochasticMTJMean(**self.params)
        twin.rng = self.rng
        return twin

    # -- physics ------------------------------------------------------------------------------
    def r_p(self):
        return self.params["RA"] / self.params["area"]

    def r_ap(self, voltage=0.0):
        return self.r_p() * (1.0 + tmr_bias(voltage, self.params["TMR0"], self.params["V_h"]))

    def delta(self, temperature):
        """Thermal stability factor Delta = E_b / kT."""
        return self.params["E_b"] / (k_B * _check_temperature(self.name, temperature))

    def tau(self, current, temperature):
        """Mean dwell times (s): (tau AP->P, tau P->AP) at ``current`` (A, positive favours P)."""
        p = self.params
        d = self.delta(temperature)
        i = np.asarray(current, float)
        e_ap = np.maximum(d * (1.0 - i / p["Ic0_p"]), 0.0)
        e_p = np.maximum(d * (1.0 + i / p["Ic0_ap"]), 0.0)
        with np.errstate(over="ignore"):
            return p["tau0"] * np.exp(e_ap), p["tau0"] * np.exp(e_p)

    def overdrive(self, current):
        """(I/Ic0_P, -I/Ic0_AP): overdrive of the AP->P and P->AP transitions (> 1: precessional)."""
        i = np.asarray(current, float)
        return i / self.params["Ic0_p"], -i / self.params["Ic0_ap"]

    def precessional_time(self, current, temperature=300.0):
        """Median precessional switching time (s) of the favoured transition; inf at or below Ic0."""
        i_p, i_ap = self.overdrive(current)
        od = np.maximum(i_p, i_ap) - 1.0
        d = self.delta(temperature)
        with np.errstate(divide="ignore"):
            return np.where(od > 0, self.params["tau_D"] / np.where(od > 0, od, 1.0), np.inf) * np.log(
                np.pi * np.sqrt(d) / (2.0 * np.sqrt(np.log(2.0))))

    def _prec(self, current, width, temperature):
        """Precessional switching probabilities (AP->P, P->AP) within ``width`` (Butler 2012 macrospin)."""
        d = self.delta(temperature)
        t = np.asarray(width, float)
        out = []
        for od in self.overdrive(current):
            x = np.maximum(od - 1.0, 0.0)
            with np.errstate(over="ignore", under="ignore"):
                p = np.exp(-0.25 * np.pi**2 * d * np.exp(-2.0 * x * t / self.params["tau_D"]))
            out.append(np.where(od > 1.0, p, 0.0))
        return out[0], out[1]

    def switching_probability(self, current, width, temperature, from_state="AP"):
        """One-way probability of leaving ``from_state`` ('AP' or 'P') in one pulse, both regimes:
        1 - (1 - P_th)(1 - P_prec) with P_th = 1 - exp(-t_p / tau) (Neel-Brown) and P_prec (Sun/Butler)."""
        t_ap, t_p = self.tau(current, temperature)
        ap = from_state.upper() == "AP"
        tau = t_ap if ap else t_p
        stay_th = np.exp(-np.asarray(width, float) / tau)
        prec = self._prec(current, width, temperature)[0 if ap else 1]
        return 1.0 - stay_th * (1.0 - prec)

    def _rates(self, current, temperature):
        t_ap, t_p = self.tau(current, temperature)
        return 1.0 / t_ap, 1.0 / t_p

    def _chain(self, p0, current, duration, temperature):
        """p_AP after ``duration`` at constant current, and the expected time spent in AP (exact)."""
        a, b = self._rates(current, temperature)
        k = a + b
        t = np.asarray(duration, float)
        with np.errstate(invalid="ignore", divide="ignore", under="ignore"):
            decay = -np.expm1(-k * t)  # 1 - exp(-k t)
            p_inf = np.where(k > 0, b / np.where(k > 0, k, 1.0), p0)
            p1 = p0 + (p_inf - p0) * decay
            t_ap = p_inf * t + (p0 - p_inf) * np.where(k * t > 1e-12, decay / np.where(k > 0, k, 1.0), t)
        return np.clip(p1, 0.0, 1.0), t_ap

    _SCALAR_KEYS = ("RA", "area", "TMR0", "V_h", "tau0", "E_b", "Ic0_p", "Ic0_ap", "tau_D")

    def _step(self, state, current, duration, temperature, precessional=True):
        s0 = np.asarray(state["antiparallel"], dtype=float)
        size = s0.size
        # a condition shared by all devices is evaluated once (rates, precession), then broadcast
        cur = _shared(current, size)
        t = _shared(_check_temperature(self.name, temperature), size)
        dur = _shared(duration, size)
        if (cur.ndim == 0 and t.ndim == 0 and dur.ndim == 0 and s0.ndim == 1 and size > 0
                and all(np.ndim(self.params[k]) == 0 for k in self._SCALAR_KEYS)):
            fast = self._step_shared(s0, cur, dur, t, precessional)
            if fast is not None:
                return fast
        p1, t_ap = self._chain(s0, cur, dur, t)
        if precessional and np.any(np.abs(cur) > np.minimum(self.params["Ic0_p"], self.params["Ic0_ap"])):
            to_p, to_ap = self._prec(cur, dur, t)
            t50 = np.minimum(self.precessional_time(cur, t), dur)
            # devices that switch by precession leave their state at the median time t50
            t_ap = t_ap * (1.0 - to_p) + to_p * s0 * t50 + to_ap * (1.0 - p1) * (dur - t50)
            p1 = p1 * (1.0 - to_p)
            p1 = p1 + (1.0 - p1) * to_ap
        if self.expectation:
            s1 = p1
        else:
            s1 = (self.rng.random(size) < p1).astype(float)
        return s1, t_ap

    def _step_shared(self, s0, cur, dur, t, precessional):
        """:meth:`_step` when the current, duration, temperature and parameters are the same for every
        device: the chain's rates and the precessional terms once, then one compiled pass over the devices
        (same draws from ``self.rng`` as the numpy path). None when the chain is degenerate (no rates)."""
        a, b = self._rates(cur, t)
        k = float(a + b)
        tt = float(dur)
        if not (k > 0.0 and np.isfinite(k)):
            return None
        decay = -np.expm1(-k * tt)
        t_lin = decay / k if k * tt > 1e-12 else tt
        prec = bool(precessional and abs(float(cur)) > min(float(self.params["Ic0_p"]), float(self.params["Ic0_ap"])))
        to_p = to_ap = t50 = 0.0
        if prec:
            to_p, to_ap = (float(x) for x in self._prec(cur, dur, t))
            t50 = float(np.minimum(self.precessional_time(cur, t), dur))
        u = np.empty(0) if self.expectation else self.rng.random(s0.size)
        s0c = np.ascontiguousarray(s0)
        return _update_kernel()(s0c, u, float(b / k), float(decay), float(t_lin), tt, prec, to_p, to_ap, t50,
                                bool(self.expectation))

    def initial_state(self, n: int) -> State:
        return {"antiparallel": np.ones(n)}

    def apply_pulse(self, state: State, amplitude, width, temperature) -> State:
        s1, t_ap = self._step(state, amplitude, width, temperature)
        return {"antiparallel": s1, "_t_ap": t_ap}

    def relax(self, state: State, dt, temperature) -> State:
        s1, _ = self._step(state, 0.0, dt, temperature, precessional=False)
        return {"antiparallel": s1}

    _RAP_KEYS = ("RA", "area", "TMR0", "V_h")

    def _r_ap_at_current(self, current):
        """R_AP at the self-consistent bias V = I R_AP(V) (bisection; R_AP falls with |V|).

        When every device gets the same current (the usual pulse train) the bisection runs once for
        that current and is cached with the parameter objects it used (checked by identity)."""
        i = np.abs(np.asarray(current, float))
        if i.ndim == 0 or (i.ndim == 1 and i.size > 1 and np.all(i == i[0])):
            refs = tuple(self.params[k] for k in self._RAP_KEYS)
            hit = self.__dict__.get("_rap_cache")
            i0 = float(i.reshape(-1)[0])
            if hit is not None and hit[0] == i0 and all(a is b for a, b in zip(hit[1], refs, strict=True)):
                r = hit[2]
            else:
                r = self._r_ap_bisect(np.array([i0]) if np.ndim(self.r_p()) == 0 else np.full(np.shape(self.r_p()), i0))
                self.__dict__["_rap_cache"] = (i0, refs, r)
            if i.ndim == 0:
                return r.reshape(()) if r.size == 1 else r
            return np.broadcast_to(r, i.shape)
        return self._r_ap_bisect(i)

    def _r_ap_bisect(self, i):
        rp, r0 = self.r_p(), self.r_ap(0.0)
        lo, hi = i * rp, i * r0
        for _ in range(60):
            mid = 0.5 * (lo + hi)
            f = mid - i * self.r_ap(mid)
            lo, hi = np.where(f < 0, mid, lo), np.where(f < 0, hi, mid)
        v = 0.5 * (lo + hi)
        return np.where(i > 0, v / np.where(i > 0, i, 1.0), r0)

    def pulse_energy(self, before: State, after: State, amplitude, width, temperature):
        size = np.size(after["antiparallel"])
        # shared conditions stay scalars (the same products per device, without per-pulse broadcasts)
        a = np.asarray(amplitude, float) if np.ndim(amplitude) == 0 else _per_device(amplitude, size)
        w = np.asarray(width, float) if np.ndim(width) == 0 else _per_device(width, size)
        t_ap = after.get("_t_ap")
        if t_ap is None:
            _, t_ap = self._chain(np.asarray(before["antiparallel"], float), _per_device(a, size),
                                  _per_device(w, size), _per_device(temperature, size))
        return a * a * (self.r_p() * w + (self._r_ap_at_current(a) - self.r_p()) * t_ap)

    def conductance(self, state: State, v_read) -> np.ndarray:
        s = np.asarray(state["antiparallel"], dtype=float)
        gp = 1.0 / _like(self.r_p(), s)
        gap = gp / (1.0 + tmr_bias(float(v_read), _like(self.params["TMR0"], s), _like(self.params["V_h"], s)))
        return gp + s * (gap - gp)

    def state_from_conductance(self, g, v_read) -> State:
        g = np.asarray(g, dtype=float)
        if not np.all(np.isfinite(g)):
            raise ValueError(f"{self.name}: conductance must be finite to infer the state")
        gp = 1.0 / self.r_p()
        gap = gp / (1.0 + tmr_bias(float(v_read), self.params["TMR0"], self.params["V_h"]))
        frac = np.clip((gp - g) / (gp - gap), 0.0, 1.0)
        return {"antiparallel": frac if self.expectation else np.rint(frac)}

    def observe(self, state: State) -> dict[str, np.ndarray]:
        s = np.asarray(state["antiparallel"], dtype=float)
        rp = _like(self.r_p(), s)
        tmr = _like(self.params["TMR0"], s) * np.ones_like(s)
        return {"magnetisation": 1.0 - 2.0 * s, "resistance": rp * (1.0 + s * tmr), "tmr": tmr}


class _StochasticMTJMean(StochasticMTJ):
    """Deterministic ensemble-mean twin of :class:`StochasticMTJ` (state = probability of AP)."""

    expectation = True
    stochastic = False
