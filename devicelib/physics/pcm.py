r"""Phase-change memory (GST mushroom cell): accumulative SET, melt-quench RESET, drift and noise.

Physics model (``pcm.gst_mushroom``)
------------------------------------
State: thickness :math:`u_a` of the amorphous plug over the heater (radius
:math:`r_h`), the time :math:`t` since the last programming pulse, and the
per-programming draws of the statistical layer (drift exponent
:math:`\nu`, programming error, read-noise realisation).

*Temperature.* The cell is driven by current pulses (amplitude in A). After
threshold switching the cell conducts with resistance :math:`R_{prog}`; with a
thermal time constant of ns or less the peak temperature of a rectangular
pulse is

.. math::  T_{peak} = T_0 + R_{th} R_{prog} I^2 .

*RESET (melt-quench).* If :math:`T_{peak} \ge T_{melt}`, the molten
hemisphere over the heater (1/r heat spreading,
:math:`r_m = r_h (T_{peak} - T_0)/(T_{melt} - T_0)`) is quenched amorphous,
whatever the previous state: :math:`u_a = \min(r_m, u_{max})`. Below
:math:`T_{melt}` nothing melts.

*Accumulative SET (crystal growth).* Below :math:`T_{melt}` the
crystalline-amorphous interface advances into the plug at the
viscosity-limited growth velocity of a fragile glass former (Stokes-Einstein
diffusivity in the Wilson-Frenkel law; Orava et al. 2012)

.. math::

    u(T) = \frac{4 k_B T}{3 \pi \lambda^2 \eta(T)}
           \left[1 - e^{-\Delta\mu(T)/k_B T}\right],
    \qquad
    \Delta\mu = \Delta h_f \frac{T_{melt} - T}{T_{melt}} \frac{2T}{T_{melt} + T}

(:math:`\lambda` atomic jump distance; this is the form
:math:`4 r k_B T/(3\pi\lambda^2 r_H \eta)` with the atomic radius :math:`r`
taken equal to the Stokes-Einstein hydrodynamic radius :math:`r_H`;
:math:`\Delta\mu` per atom in the Thompson-Spaepen approximation,
:math:`\Delta h_f` the heat of fusion per atom). Above the glass transition
the viscosity is that of the supercooled liquid (MYEGA, Mauro et al. 2009):

.. math::

    \log_{10}\eta = \log_{10}\eta_\infty + (12 - \log_{10}\eta_\infty)
        \frac{T_g}{T} \exp\!\left[\left(\frac{m}{12 - \log_{10}\eta_\infty}
        - 1\right)\left(\frac{T_g}{T} - 1\right)\right],
    \qquad T \ge T_g,

so :math:`\eta(T_g) = 10^{12}` Pa s and :math:`m = d\log_{10}\eta /
d(T_g/T)` at :math:`T_g` (fragility). Below :math:`T_g` the amorphous phase
is a glass that has fallen out of equilibrium; its viscosity follows an
Arrhenius law from the same value at :math:`T_g`,

.. math::  \eta = 10^{12}\,\mathrm{Pa\,s}\;
           e^{(E_{gl}/k_B)(1/T - 1/T_g)}, \qquad T < T_g,

which sets the retention activation energy (the MYEGA liquid extrapolated
below :math:`T_g` would give an apparent activation energy of
:math:`m k_B T_g \ln 10` = 6.8 eV at :math:`T_g`, rising to 17 eV at 330 K
for the cards' values, against 2-3 eV measured for GST retention). The
velocity rises by decades from the glass to a maximum of a few m/s a little
above :math:`0.8\,T_{melt}`, then falls to 0 at :math:`T_{melt}` as the
driving force vanishes. One pulse of width :math:`t_p` gives
:math:`u_a \leftarrow \max(u_a - u(T_{peak})\, t_p, 0)`: exact (the rate
does not depend on the state, physics notes section 0), so identical pulses
give identical steps of :math:`u_a`. The same law crystallises the plug at
the ambient temperature in :meth:`relax` (retention; 10 years for a 30 nm
plug near 357 K with the cards' values).

*Integration and error.* The thermal time constant of the cell (ns or
less) is taken as zero against the pulse widths (>= 10 ns in the cards), so
the temperature is :math:`T_{peak}` for the whole pulse and the interface
velocity does not depend on :math:`u_a`: one pulse is integrated in closed
form, exactly (error = float rounding; one pulse of :math:`t_p` equals
:math:`N` pulses of :math:`t_p/N`, tested). The melt-quench is algebraic.
The only iterative step is the read (Newton, below). Any pulse with
:math:`I > 0` counts as a programming event (the drift clock restarts and
the statistical draws are renewed). Amplitudes are unipolar: the sign of
the current is ignored.

*Read (Poole-Frenkel).* The amorphous plug conducts by Poole-Frenkel
hopping between traps (distance :math:`\Delta z`) in series with the
crystalline and heater resistance :math:`R_c`:

.. math::

    I = 2 q A N_T \frac{\Delta z}{\tau_0} e^{-E_{PF}/kT}
        \sinh\!\left(\frac{q V_a \Delta z}{2 k T u_a}\right), \qquad
    V = V_a + R_c I, \quad A = \pi r_h^2,

solved for :math:`I` by Newton iteration (monotone from I = 0; to 1e-12
relative). :math:`G_{slab} = I/V` (the low-field limit at V = 0).

*Partial crystallisation of the plug (multi-level SET).* The amorphous region
is the quenched hemisphere of radius :math:`u_a` over the heater. While
:math:`u_a \ge r_h` it covers the whole heater and the read is the slab above.
Once growth has shrunk it below the heater radius, the crystallised annulus
:math:`u_a < \rho < r_h` conducts in parallel through the crystal and heater
(ohmic, area-specific :math:`R_c\pi r_h^2`), and the still-covered disc
(area fraction :math:`f = (u_a/r_h)^2`) keeps the Poole-Frenkel slab of height
:math:`u_a` in series with its share of :math:`R_c` (current and :math:`R_c`
both scale with area, so that part is :math:`f\,G_{slab}`):

.. math::  G_{phys} = f\,G_{slab}(u_a) + (1 - f)/R_c,\qquad f = \min(1, u_a^2/r_h^2).

This is continuous at :math:`u_a = r_h` and makes the last :math:`r_h` of
growth a gradual rise of :math:`G` (quadratic in :math:`u_a`) instead of the
jump of a pure series read (flat-top approximation of the dome over the
covered disc; lateral spreading neglected).

*Read temperature.* Reads are at the ambient temperature of the last event
(``ambient_temperature``, set by every pulse and relaxation; :math:`T_{read}`
before any): the Poole-Frenkel law gives :math:`e^{-E_{PF}/kT}` with the
field term, e.g. a 30 nm plug reads 36x higher at 350 K than at 250 K.

*Drift versus temperature.* Drift is structural relaxation of the glass that
raises the conduction activation energy logarithmically in time (Ielmini et
al. 2007; Boniardi & Ielmini 2011): :math:`E_{PF}(t) = E_{PF} + \nu k T_{read}
\ln(\theta/t_0)`, where the relaxation advances in an effective time at
:math:`T_{read}`, :math:`d\theta = e^{(E_D/k)(1/T_{read} - 1/T)}dt`
(thermally activated, activation :math:`E_D`). Read at temperature :math:`T`:

.. math::  G(t) = G(t_0)\,(\theta/t_0)^{-\nu T_{read}/T},

so the drift exponent seen at a read temperature is :math:`\nu T_{read}/T`
and storage at higher temperature drifts further in the same time (state
``t_prog`` is :math:`\theta`; at :math:`T = T_{read}` everything reduces to the
published room-temperature law).

Statistical layer (Nandakumar et al. 2019; Joshi et al. 2020)
-------------------------------------------------------------
With :math:`g = G_{ref}/G_{max}`, :math:`G_{max}` = 25 uS, :math:`G_{ref}` the
physical conductance read at :math:`V_{stat}` = 0.2 V (functions below):

- programming noise: :math:`G(t_0) = G_{phys} (1 + \sigma_P \xi / G_{ref})`,
  :math:`\sigma_P = (0.26348 + 1.9650 g - 1.1731 g^2)` uS (times
  :math:`G_{max}`/25 uS), redrawn at every pulse (:func:`programming_sigma`);
  i.e. exactly :math:`G_{ref} + \sigma_P \xi` at the reference read voltage,
  clipped at 0 (no negative conductance);
- drift: :math:`G(t) = G(t_0) (t/t_0)^{-\nu}` for :math:`t \ge t_0` = 20 s
  (reads before :math:`t_0` return :math:`G(t_0)`: the model is calibrated
  from :math:`t_0` on), :math:`\nu = |\mu_\nu(g) + \sigma_\nu(g) \xi|` drawn
  at every pulse, :math:`\mu_\nu = \mathrm{clip}(-0.0155 \ln g + 0.0244,
  0.049, 0.1)`, :math:`\sigma_\nu = \mathrm{clip}(-0.0125 \ln g - 0.0059,
  0.008, 0.045)` (:func:`drift_nu_mean`, :func:`drift_nu_sigma`);
- accumulated 1/f read noise: :math:`\sigma_G = G(t)\, Q
  \sqrt{\ln((t + t_r)/(2 t_r))}`, :math:`Q = \min(0.0088/g^{0.65}, 0.2)`,
  :math:`t_r` = 250 ns (:func:`read_noise_q`, :func:`read_noise_sigma`). One
  standard-normal draw per programming event scales it, so repeated reads of
  one state are consistent (white read noise: ``Variability(read=...)``).

The coefficients are those of aihwkit's ``PCMLikeNoiseModel``. Two conventions
differ from it: :math:`t` is the time since the programming pulse (aihwkit reads at
:math:`t_{inference} + t_0`), and :math:`Q` is taken at :math:`G_{ref}`
(aihwkit: at the programmed conductance including its error).

The scale parameters ``prog_noise``, ``nu_spread`` and ``read_noise`` (1 =
published model, 0 = off) switch the layer; with all three at 0 the model is
deterministic (for fitting) and draws no random numbers.

*Multi-level SET helpers.* :func:`set_staircase` (RESET then n SET pulses, read at t0, vectorised over
devices), :func:`distinguishable_levels` (greedy levels separated by k(sigma_a + sigma_b)) and
:func:`set_step_sensitivity` (relative change of the plug step u(T_peak) t_p for I(1 -+ rel) and the elasticity
d ln u/d ln I = 2 (T_peak - T0) d ln u/dT). Option ``growth_spread`` (s_u, default 0): each pulse's
crystallised thickness is multiplied by a gamma variable of mean 1 and CV s_u (stochastic growth: the plug
does a random walk, so the spread accumulates over pulses; the closed-form exactness above then holds for
the mean only). The cards' ``[operating]`` point is the gradual multi-level regime: a RESET 4-6 % over the
melt threshold quenches a dome just over r_h, and each SET pulse crystallises ~0.8 nm (u(T_peak) t_p), so ~20
pulses span the window (largest step ~8 % of it); the statistical card sets s_u = 0.35. docs/families/pcm.md
compares the staircases with two public implementations of the Nandakumar et al. 2018/2020 accumulative-SET model
(a simplification in YigitDemirag/meta-analog and aihwkit's ``PCMPresetDevice``; the papers were not re-read).

*Fitting pulse trains.* A pulse acts on the cell only through :math:`T_{peak} = T_0 + R_{th} R_{prog} I^2`,
so a pulse train read at :math:`V_{read}` identifies the product :math:`R_{th} R_{prog}`, never the two
apart (a fit varying both reports the degenerate pair). ``default_vary`` varies R_th and R_prog is held: it
is the ON-state resistance during the pulse, measured directly as V/I of the programming pulse. The start of
R_th comes from the melt threshold the train brackets (``guess``); u_init, which sets only the fresh cell's
read, is varied only when the fit starts from the initial state (``initial="model"``).

References
----------
- M. Le Gallo, A. Sebastian, J. Phys. D 53, 213002 (2020), doi:10.1088/1361-6463/ab7794 (review, cell model).
- A. Sebastian, M. Le Gallo, D. Krebs, Nat. Commun. 5, 4314 (2014), doi:10.1038/ncomms5314 (crystal growth in
  a mushroom cell).
- J. Orava, A. L. Greer, B. Gholipour, D. W. Hewak, C. E. Smith, Nat. Mater. 11, 279 (2012),
  doi:10.1038/nmat3275 (GST growth velocity from ultrafast calorimetry; viscosity-limited growth, MYEGA liquid).
- M. Salinga et al., Nat. Commun. 4, 2371 (2013), doi:10.1038/ncomms3371 (Arrhenius growth of the melt-quenched
  glass, fragile liquid).
- J. C. Mauro, Y. Yue, A. J. Ellison, P. K. Gupta, D. C. Allan, PNAS 106, 19780 (2009),
  doi:10.1073/pnas.0911705106 (MYEGA viscosity).
- D. Ielmini, A. L. Lacaita, D. Mantegazza, IEEE TED 54, 308 (2007), doi:10.1109/TED.2006.888752 (drift,
  Poole-Frenkel read).
- M. Boniardi, D. Ielmini, "Physical origin of the resistance drift exponent in amorphous phase change
  materials", Appl. Phys. Lett. 98, 243506 (2011), doi:10.1063/1.3599559 (drift as structural relaxation).
- S. R. Nandakumar et al., IEEE ICECS 2019, 727, doi:10.1109/ICECS46596.2019.8964852 (statistical model).
- V. Joshi et al., Nat. Commun. 11, 2473 (2020), doi:10.1038/s41467-020-16108-9 (statistical model, Methods).
- S. R. Nandakumar et al., "A phase-change memory model for neuromorphic computing", J. Appl. Phys. 124, 152135
  (2018) (accumulative-SET statistics; not re-read: compared through YigitDemirag/meta-analog ``analog.py``,
  a public simplification of it).
"""

from __future__ import annotations

import numpy as np

from ..core import DeviceModel, Parameter, State, StateVariable
from ..units import k_B, q_e

EV = q_e
NM = 1e-9
G_MAX_STAT = 25e-6  # S, normalisation of the published statistical model
_PF_PARAMS = ("R_c", "T_read", "r_h", "N_T", "dz", "tau0", "E_pf")  # parameters of the Poole-Frenkel read
T0_DRIFT = 20.0  # s
T_READ_NOISE = 250e-9  # s
LOG10_ETA_G = 12.0  # log10 of the viscosity (Pa s) at the glass transition: the definition of T_g
ETA_INF = 10**-2.93  # Pa s, default high-temperature limit of the MYEGA viscosity


# -- statistical model of Nandakumar et al. 2019 / Joshi et al. 2020 (G in S) ---------------------
def _gnorm(g, g_max):
    return np.clip(np.abs(np.asarray(g, dtype=float)) / g_max, 1e-7, None)


def programming_sigma(g_target, g_max=G_MAX_STAT):
    """Standard deviation (S) of the programmed conductance around ``g_target`` (S)."""
    g = np.abs(np.asarray(g_target, dtype=float)) / g_max
    return (0.26348 + 1.9650 * g - 1.1731 * g**2) * 1e-6 * (g_max / G_MAX_STAT)


def drift_nu_mean(g, g_max=G_MAX_STAT):
    """Mean drift exponent at conductance ``g`` (S)."""
    return np.clip(-0.0155 * np.log(_gnorm(g, g_max)) + 0.0244, 0.049, 0.1)


def drift_nu_sigma(g, g_max=G_MAX_STAT):
    """Standard deviation of the drift exponent at conductance ``g`` (S)."""
    return np.clip(-0.0125 * np.log(_gnorm(g, g_max)) - 0.0059, 0.008, 0.045)


def read_noise_q(g, g_max=G_MAX_STAT):
    """1/f noise amplitude Q (dimensionless) at conductance ``g`` (S)."""
    return np.minimum(0.0088 / _gnorm(g, g_max) ** 0.65, 0.2)


def read_noise_sigma(g, t, g_max=G_MAX_STAT, t_r=T_READ_NOISE):
    """Accumulated 1/f read-noise standard deviation (S) of conductance ``g`` at time ``t`` (s) after
    programming: g Q(g) sqrt(ln((t + t_r)/(2 t_r)))."""
    t = np.asarray(t, dtype=float)
    if np.any(t < t_r):
        raise ValueError(f"read_noise_sigma: t must be at least t_r = {t_r:g} s (the formula is undefined below)")
    g = np.asarray(g, dtype=float)
    return np.abs(g) * read_noise_q(g, g_max) * np.sqrt(np.log((t + t_r) / (2.0 * t_r)))


def drift_factor(t, nu, t0=T0_DRIFT):
    """G(t)/G(t0) = (t/t0)^-nu for t >= t0 (1 before t0)."""
    return (np.maximum(np.asarray(t, dtype=float), t0) / t0) ** (-np.asarray(nu, dtype=float))


class GSTMushroom(DeviceModel):
    __doc__ = __doc__
    name = "pcm.gst_mushroom"
    #: parameters a typical measurement of each data kind identifies (devicelib.fit; rate prefactors,
    #: not activation energies, at one temperature): a choice by identifiability, not a measured value.
    #: A pulse acts only through T_peak = T0 + R_th R_prog I^2, so a pulse train read at V_read identifies
    #: the product R_th R_prog, never the two apart (a fit varying both reports the degenerate pair): R_th
    #: is varied and R_prog held (it is the ON-state resistance during the pulse, measured directly as V/I of
    #: the programming pulse). The fresh read identifies u_init (the Poole-Frenkel read of the initial plug).
    default_vary = {"pulse_train": ("R_th", "u_init")}  # noqa: RUF012
    #: set only the fresh cell's read: varied by default only when the fit starts from the initial state
    fresh_read = ("u_init",)

    def guess(self, g, amplitude, normalise=True, v_read=0.1) -> dict[str, float]:
        """Data-driven start (devicelib.fit): u_init at which the fresh cell reads the median first read, and
        R_th from the melt threshold the train brackets. A pulse that lowers the read at least 2x melts
        (RESET), one that raises it by 10 % or more does not (SET): the melt current lies between the
        largest SET and the smallest RESET amplitude, I_melt ~ their geometric mean, and
        R_th = (T_melt - T0) / (R_prog I_melt^2) (T0 = 300 K)."""
        from ..fit.guess import match_first_read, melt_threshold

        out = {}
        u = match_first_read(self, g, "u_init", v_read)
        if u is not None:
            out["u_init"] = u
        i_melt = melt_threshold(g, amplitude)
        p = self.params
        if i_melt is not None and np.ndim(p["R_prog"]) == 0 and np.ndim(p["T_melt"]) == 0:
            r_th = (float(p["T_melt"]) - 300.0) / (float(p["R_prog"]) * i_melt**2)
            out["R_th"] = float(np.clip(r_th, *self.parameter("R_th").bounds))
        return out
    family = "pcm"
    family_name = "Phase-change memory (GST mushroom cell): crystal growth, melt-quench, drift and 1/f noise"
    amplitude_unit = "A"
    volatile = True  # drift and retention crystallisation in relax()
    stochastic = True
    references = (
        "Sebastian, Le Gallo, Krebs, Nat. Commun. 5, 4314 (2014), doi:10.1038/ncomms5314",
        "Orava et al., Nat. Mater. 11, 279 (2012), doi:10.1038/nmat3275",
        "Ielmini, Lacaita, Mantegazza, IEEE TED 54, 308 (2007), doi:10.1109/TED.2006.888752",
        "Nandakumar et al., IEEE ICECS 2019, 727, doi:10.1109/ICECS46596.2019.8964852",
        "Joshi et al., Nat. Commun. 11, 2473 (2020), doi:10.1038/s41467-020-16108-9",
    )
    parameters = (
        Parameter("R_prog", "ohm", 5e3, (1e2, 1e6), "R_prog", "cell resistance while programming (ON state)"),
        Parameter("R_th", "K/W", 1.3e6, (1e4, 1e9), "R_th", "thermal resistance of the hot spot", log=True),
        Parameter("T_melt", "K", 900.0, (500.0, 1500.0), "T_melt", "melting temperature of GST", fixed=True),
        Parameter("r_h", "m", 20 * NM, (2 * NM, 500 * NM), "r_h", "heater radius", fixed=True),
        Parameter("u_max", "m", 60 * NM, (5 * NM, 1e-6), "u_max", "largest amorphous plug (GST thickness)",
                  fixed=True),
        Parameter("u_init", "m", 30 * NM, (0.0, 1e-6), "u_init", "amorphous plug of the initial state"),
        Parameter("T_g", "K", 383.0, (200.0, 800.0), "T_g",
                  "glass-transition temperature of the supercooled liquid (eta(T_g) = 1e12 Pa s)"),
        Parameter("m_frag", "", 90.0, (15.0, 250.0), "m", "kinetic fragility of the supercooled liquid (MYEGA)"),
        Parameter("eta_inf", "Pa s", ETA_INF, (1e-8, 1e2), "eta_inf", "viscosity in the high-temperature limit",
                  log=True, fixed=True),
        Parameter("E_glass", "J", 2.34 * EV, (0.1 * EV, 6.0 * EV), "E_gl",
                  "activation energy of the glass viscosity below T_g (retention)"),
        Parameter("lambda_j", "m", 0.3 * NM, (0.05 * NM, 2 * NM), "lambda",
                  "atomic jump distance at the growth front", fixed=True),
        Parameter("dh_f", "J", 0.12 * EV, (0.005 * EV, 1.0 * EV), "dh_f",
                  "heat of fusion per atom (driving force of growth)", fixed=True),
        Parameter("R_c", "ohm", 40e3, (1e2, 1e7), "R_c", "series resistance of crystalline GST and heater"),
        Parameter("E_pf", "J", 0.3 * EV, (0.05 * EV, 1.0 * EV), "E_c-E_F",
                  "Poole-Frenkel activation energy of the amorphous phase", fixed=True),
        Parameter("N_T", "1/m^3", 1e25, (1e20, 1e28), "N_T", "trap density of the amorphous phase", log=True),
        Parameter("dz", "m", 6 * NM, (0.5 * NM, 30 * NM), "dz", "inter-trap distance", fixed=True),
        Parameter("tau0", "s", 1e-14, (1e-16, 1e-10), "tau_0", "trap escape time prefactor", log=True,
                  fixed=True),
        Parameter("T_read", "K", 300.0, (150.0, 450.0), "T_read",
                  "reference temperature of reads and of the drift law (reads follow the ambient)", fixed=True),
        Parameter("E_drift", "J", 1.0 * EV, (0.0, 4.0 * EV), "E_D",
                  "activation energy of the structural relaxation behind drift (0: drift clock in real time)",
                  fixed=True),
        Parameter("g_max_stat", "S", G_MAX_STAT, (1e-9, 1e-2), "G_max",
                  "normalising conductance of the statistical model", fixed=True),
        Parameter("t0_drift", "s", T0_DRIFT, (1e-9, 1e6), "t_0", "reference time of the drift law", fixed=True),
        Parameter("t_r", "s", T_READ_NOISE, (1e-12, 1.0), "t_r", "time constant of the 1/f noise model",
                  fixed=True),
        Parameter("v_stat", "V", 0.2, (0.01, 1.0), "V_stat",
                  "read voltage at which the statistical model's g = G/G_max is taken", fixed=True),
        Parameter("prog_noise", "", 1.0, (0.0, 10.0), "s_P", "scale of the programming noise (1 = published)",
                  fixed=True),
        Parameter("nu_spread", "", 1.0, (0.0, 10.0), "s_nu", "scale of sigma_nu (1 = published)", fixed=True),
        Parameter("read_noise", "", 1.0, (0.0, 10.0), "s_Q", "scale of the 1/f read noise (1 = published)",
                  fixed=True),
        Parameter("growth_spread", "", 0.0, (0.0, 3.0), "s_u",
                  "coefficient of variation of the crystallised thickness per SET pulse (0 = deterministic growth)",
                  fixed=True),
    )
    state_variables = (
        StateVariable("amorphous_thickness", "m", (0.0, "u_max"), "thickness u_a of the amorphous plug"),
        StateVariable("t_prog", "s", (0.0, np.inf),
                      "time since the last programming pulse (effective relaxation time at T_read)"),
        StateVariable("nu", "", (0.0, np.inf), "drift exponent drawn at the last programming pulse"),
        StateVariable("prog_error", "", (-1.0, np.inf), "relative programming error of G(t0)"),
        StateVariable("read_xi", "", (-np.inf, np.inf), "standard-normal draw scaling the 1/f read noise"),
        StateVariable("peak_temperature", "K", (0.0, np.inf), "peak temperature of the last pulse"),
        StateVariable("ambient_temperature", "K", (0.0, np.inf), "ambient temperature of the last event (reads)"),
    )

    def _ambient(self, temperature, n: int, where: str) -> np.ndarray:
        """Ambient temperature (K) as an (n,) array, checked to lie in (0, T_melt)."""
        t = np.broadcast_to(np.asarray(temperature, dtype=float), (n,))
        tm = np.broadcast_to(np.asarray(self.params["T_melt"], dtype=float), (n,))
        bad = ~np.isfinite(t) | (t <= 0.0) | (t >= tm)
        if np.any(bad):
            k = int(np.flatnonzero(bad)[0])
            raise ValueError(f"{self.name}.{where}: ambient temperature must be above 0 K and below "
                             f"T_melt = {tm[k]:g} K, got {t[k]:g} K (device {k})")
        return t

    def _check(self) -> None:
        p = self.params
        if np.any(np.asarray(p["u_init"]) > np.asarray(p["u_max"])):
            raise ValueError(f"{self.name}: u_init must not exceed u_max")
        if np.any(np.asarray(p["r_h"]) >= np.asarray(p["u_max"])):
            raise ValueError(f"{self.name}: the heater radius r_h must be smaller than u_max")
        strong = LOG10_ETA_G - np.log10(np.asarray(p["eta_inf"]))
        if np.any(np.asarray(p["m_frag"]) < strong):
            raise ValueError(f"{self.name}: the fragility m_frag must be at least 12 - log10(eta_inf / Pa s) = "
                             f"{np.min(strong):.3g} (the Arrhenius, strongest liquid in MYEGA)")
        if np.any(np.asarray(p["T_g"]) >= np.asarray(p["T_melt"])):
            raise ValueError(f"{self.name}: the glass transition T_g must lie below T_melt")

    # -- physics -----------------------------------------------------------
    def peak_temperature(self, current, temperature=300.0) -> np.ndarray:
        """T_peak (K) of a rectangular current pulse (A) at ambient ``temperature``."""
        p = self.params
        i = np.asarray(current, dtype=float)
        return np.asarray(temperature, dtype=float) + p["R_th"] * p["R_prog"] * i**2

    def melt_current(self, temperature=300.0) -> np.ndarray:
        """Smallest current (A) whose pulse melts the cell (T_peak = T_melt)."""
        p = self.params
        return np.sqrt((p["T_melt"] - np.asarray(temperature, dtype=float)) / (p["R_th"] * p["R_prog"]))

    def _log10_viscosity(self, t):
        p = self.params
        tg = p["T_g"]
        lg_inf = np.log10(p["eta_inf"])
        a = LOG10_ETA_G - lg_inf
        x = tg / np.maximum(t, tg)  # the liquid branch is evaluated at T >= T_g only (no overflow below)
        liquid = lg_inf + a * x * np.exp((p["m_frag"] / a - 1.0) * (x - 1.0))
        glass = LOG10_ETA_G + p["E_glass"] / (k_B * np.log(10.0)) * (1.0 / t - 1.0 / tg)
        return np.where(t >= tg, liquid, glass)

    def viscosity(self, temperature) -> np.ndarray:
        """Viscosity eta(T) (Pa s) of the amorphous phase: MYEGA liquid at T >= T_g, Arrhenius glass below."""
        t = np.asarray(temperature, dtype=float)
        if np.any(~np.isfinite(t) | (t <= 0.0)):
            raise ValueError(f"{self.name}.viscosity: temperature must be positive and finite")
        return 10.0 ** self._log10_viscosity(t)

    def driving_force(self, temperature) -> np.ndarray:
        """Free-energy difference liquid - crystal per atom (J), Thompson-Spaepen; 0 at and above T_melt."""
        p = self.params
        t = np.asarray(temperature, dtype=float)
        tm = p["T_melt"]
        return np.where(t < tm, p["dh_f"] * (tm - t) / tm * 2.0 * t / (tm + t), 0.0)

    def growth_velocity(self, temperature) -> np.ndarray:
        """Crystal growth velocity u(T) (m/s), viscosity limited (Stokes-Einstein / Wilson-Frenkel); zero at and
        above T_melt."""
        p = self.params
        t = np.asarray(temperature, dtype=float)
        if np.any(~np.isfinite(t) | (t <= 0.0)):
            raise ValueError(f"{self.name}.growth_velocity: temperature must be positive and finite")
        kt = k_B * t
        wf = -np.expm1(-self.driving_force(t) / kt)  # Wilson-Frenkel factor, in [0, 1)
        ln_u = (np.log(4.0 * kt / (3.0 * np.pi * p["lambda_j"] ** 2)) - np.log(10.0) * self._log10_viscosity(t)
                + np.log(np.maximum(wf, 1e-300)))
        return np.where(wf > 0.0, np.exp(ln_u), 0.0)

    def _pf(self, temperature=None):
        p = self.params
        kt = k_B * (p["T_read"] if temperature is None else np.asarray(temperature, dtype=float))
        area = np.pi * p["r_h"] ** 2
        i0 = 2.0 * q_e * area * p["N_T"] * p["dz"] / p["tau0"] * np.exp(-p["E_pf"] / kt)
        b = 2.0 * kt / (q_e * p["dz"])  # V per m of plug: V_a = b u asinh(I/I0)
        return i0, b

    def covered_fraction(self, u_a) -> np.ndarray:
        """Fraction f = min(1, (u_a/r_h)^2) of the heater still covered by the amorphous dome."""
        return np.minimum(1.0, (np.asarray(u_a, dtype=float) / self.params["r_h"]) ** 2)

    def physical_conductance(self, u_a, v_read=0.1, temperature=None) -> np.ndarray:
        """G (S) of a plug of thickness ``u_a`` (m) read at ``v_read`` and ``temperature`` (K; default
        T_read), without drift or noise: covered disc (slab) in parallel with the crystallised annulus."""
        f = self.covered_fraction(u_a)
        return f * self._slab_conductance(u_a, v_read, temperature) + (1.0 - f) / self.params["R_c"]

    def _slab_conductance(self, u_a, v_read=0.1, temperature=None) -> np.ndarray:
        p = self.params
        u = np.asarray(u_a, dtype=float)
        t = None if temperature is None else np.asarray(temperature, dtype=float)
        if (u.ndim == 1 and u.size > 1 and np.ndim(v_read) == 0 and (t is None or t.ndim <= 1)
                and all(np.ndim(p[k]) == 0 for k in _PF_PARAMS) and u.min() == u.max()
                and (t is None or t.ndim == 0 or t.min() == t.max())):
            # devices in one state (a fresh ensemble) with shared parameters: one solve, broadcast (elementwise
            # arithmetic and the same Newton count for identical elements: bit-identical to solving them all)
            one = self._slab_conductance(u[:1], v_read, None if t is None else t.reshape(-1)[:1])
            return np.broadcast_to(one, u.shape).copy()
        i0, b = self._pf(temperature)
        rc = p["R_c"]
        v = np.abs(np.asarray(v_read, dtype=float))  # one read voltage, or an array (I-V of a crossbar input)
        if v.ndim == 0 and v == 0.0:
            return 1.0 / (rc + b * u / i0)
        # F(I) = R_c I + b u asinh(I/I0) - V: increasing and concave, so Newton from I = 0 climbs monotonically
        i = np.zeros(np.broadcast(u, rc, i0, v).shape)
        for _ in range(100):
            f = rc * i + b * u * np.arcsinh(i / i0) - v
            d = rc + b * u / np.sqrt(i0**2 + i**2)
            step = f / d
            i = i - step
            if np.all(np.abs(step) <= 1e-12 * np.abs(i)):
                break
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(v > 0, i / np.where(v > 0, v, 1.0), 1.0 / (rc + b * u / i0))

    # -- interface ---------------------------------------------------------------
    def _stat_draws(self, g_phys, n):
        """Drift exponent, programming error and read-noise draw for freshly programmed devices."""
        p = self.params
        gm = p["g_max_stat"]
        if all(np.ndim(p[k]) == 0 and p[k] == 0 for k in ("prog_noise", "nu_spread", "read_noise")):
            z = np.zeros(n)  # deterministic cell: the mean exponent, no random draws
            return np.broadcast_to(drift_nu_mean(g_phys, gm), (n,)).copy(), z, z.copy()
        xi_nu, xi_p, xi_r = self.rng.standard_normal((3, n))
        nu = np.abs(drift_nu_mean(g_phys, gm) + p["nu_spread"] * drift_nu_sigma(g_phys, gm) * xi_nu)
        err = p["prog_noise"] * programming_sigma(g_phys, gm) / g_phys * xi_p
        return nu, np.maximum(err, -1.0), xi_r  # no negative conductance

    def initial_state(self, n: int) -> State:
        p = self.params
        u = np.broadcast_to(np.asarray(p["u_init"], dtype=float), (n,)).copy()
        g = self.physical_conductance(u, p["v_stat"])
        nu = np.broadcast_to(drift_nu_mean(g, p["g_max_stat"]), (n,)).copy()
        z = np.zeros(n)
        return {"amorphous_thickness": u, "t_prog": z.copy(), "nu": nu, "prog_error": z.copy(),
                "read_xi": z.copy(), "peak_temperature": np.full(n, 300.0),
                "ambient_temperature": np.broadcast_to(np.asarray(p["T_read"], dtype=float), (n,)).copy()}

    def apply_pulse(self, state: State, amplitude, width, temperature) -> State:
        p = self.params
        u = np.asarray(state["amorphous_thickness"], dtype=float)
        n = u.size
        i = np.broadcast_to(np.abs(np.asarray(amplitude, dtype=float)), (n,))
        tp = np.broadcast_to(np.asarray(width, dtype=float), (n,))
        t_amb = self._ambient(temperature, n, "apply_pulse")
        act = (i > 0) & (tp > 0)
        t_peak = self.peak_temperature(i, t_amb)
        melt = t_peak >= p["T_melt"]
        r_m = p["r_h"] * (t_peak - t_amb) / (p["T_melt"] - t_amb)
        u_melt = np.minimum(r_m, p["u_max"])
        step = self.growth_velocity(np.where(melt, 300.0, t_peak)) * tp
        cv = p["growth_spread"]
        if np.ndim(cv) or cv > 0:
            # stochastic growth: gamma factor of mean 1 and CV s_u per pulse, so the spread accumulates
            k = 1.0 / np.maximum(np.broadcast_to(cv, (n,)), 1e-12) ** 2
            step = step * self.rng.gamma(k, 1.0 / k)
        u_grow = np.maximum(u - step, 0.0)
        u_new = np.where(act, np.where(melt, u_melt, u_grow), u)
        g_phys = self.physical_conductance(u_new, p["v_stat"])
        nu, err, xi_r = self._stat_draws(g_phys, n)
        out = {
            "amorphous_thickness": u_new,
            "t_prog": np.where(act, 0.0, state["t_prog"]),
            "nu": np.where(act, nu, state["nu"]),
            "prog_error": np.where(act, err, state["prog_error"]),
            "read_xi": np.where(act, xi_r, state["read_xi"]),
            "peak_temperature": np.where(act, t_peak, state["peak_temperature"]),
            "ambient_temperature": t_amb.copy(),
        }
        return out

    #: the fused kernel relaxes between pulses itself (devicelib.simulate takes it for this volatile model)
    fused_relax = True

    def fused_spec(self, n: int, amplitude, width, temperature=300.0, v_read=0.1, interval=0.0):
        """The fused simulate kernel (:mod:`devicelib.physics.pcm_kernel`) for a pulse train: the parameter
        matrix (one shared row unless parameters vary between devices), each pulse's condition, and the
        pulse-invariant terms (peak temperature, melt, quenched plug, growth step and Joule energy per distinct
        pulse condition; growth and drift-clock advance per distinct relaxation), computed here once by this
        model's own methods. Ambient temperatures are checked as :meth:`apply_pulse` and :meth:`relax` check
        them."""
        from ..engine import KernelSpec
        from . import pcm_kernel as K

        amp = np.abs(np.asarray(amplitude, dtype=float))
        npulse = amp.size
        w = np.broadcast_to(np.asarray(width, dtype=float), (npulse,))
        temp = np.broadcast_to(np.asarray(temperature, dtype=float), (npulse,))
        dt = np.broadcast_to(np.asarray(interval, dtype=float), (npulse,))
        act = (w > 0) & (amp > 0)
        for where, used in (("apply_pulse", act), ("relax", dt > 0)):
            for t in np.unique(temp[used]):
                self._ambient(t, n, where)
        p = self.params
        vals = [np.asarray(p[k], dtype=float) for k in K.PARAMS]
        shared = all(x.size == 1 for x in vals)
        if shared:
            P = np.array([[float(x.reshape(-1)[0]) for x in vals]])
        else:
            P = np.ascontiguousarray(np.stack([np.broadcast_to(x.reshape(-1) if x.size == 1 else x, (n,))
                                               for x in vals], axis=1))
        pre = np.zeros((npulse, K.N_PRE))
        pre[:, 0], pre[:, 1], pre[:, 2], pre[:, 3], pre[:, 4] = act, amp, w, temp, dt
        # pulse-invariant terms once per distinct pulse condition (per device when parameters vary, up to
        # K.TABLE_BYTES; beyond that the kernel computes them per device and pulse)
        rows = 1 if shared else n
        conds, ci = _unique_rows(np.stack([amp, w, temp], axis=1)[act])
        rels, ri = _unique_rows(np.stack([temp, dt], axis=1)[dt > 0])
        C, Rt = np.zeros((0, 5, 1)), np.zeros((0, 2, 1))
        if 8 * rows * (5 * len(conds) + 2 * len(rels)) <= K.TABLE_BYTES:
            pre[act, 5], pre[dt > 0, 6] = ci.reshape(-1), ri.reshape(-1)
            C = np.empty((len(conds), 5, rows))
            for c, (a_c, w_c, t_c) in enumerate(conds):
                t_peak = np.broadcast_to(self.peak_temperature(a_c, t_c), (rows,))
                melt = t_peak >= p["T_melt"]
                C[c, 0] = t_peak
                C[c, 1] = melt
                C[c, 2] = np.minimum(p["r_h"] * (t_peak - t_c) / (p["T_melt"] - t_c), p["u_max"])
                C[c, 3] = self.growth_velocity(np.where(melt, 300.0, t_peak)) * w_c
                C[c, 4] = a_c**2 * p["R_prog"] * w_c
            Rt = np.empty((len(rels), 2, rows))
            for c, (t_c, dt_c) in enumerate(rels):
                Rt[c, 0] = self.growth_velocity(t_c) * dt_c
                Rt[c, 1] = dt_c * self.drift_clock_rate(t_c)
        else:
            pre[:, 5] = pre[:, 6] = -1.0
        stoch = not all(np.ndim(p[k]) == 0 and p[k] == 0 for k in ("prog_noise", "nu_spread", "read_noise"))
        spread = bool(np.any(np.asarray(p["growth_spread"]) > 0))
        return KernelSpec(states=K.STATES, kernels=K.kernels, args=(P, pre, C, Rt, float(v_read), stoch, spread),
                          serial_below=K.SERIAL_BELOW)

    def drift_clock_rate(self, temperature) -> np.ndarray:
        """d theta / dt: speed of the structural-relaxation clock at ``temperature`` relative to T_read."""
        p = self.params
        t = np.asarray(temperature, dtype=float)
        return np.exp(p["E_drift"] / k_B * (1.0 / p["T_read"] - 1.0 / t))

    def relax(self, state: State, dt, temperature) -> State:
        out = dict(state)
        dt = np.asarray(dt, dtype=float)
        t_amb = self._ambient(temperature, np.size(state["amorphous_thickness"]), "relax")
        out["t_prog"] = state["t_prog"] + dt * self.drift_clock_rate(t_amb)
        out["ambient_temperature"] = t_amb.copy()
        out["amorphous_thickness"] = np.maximum(
            state["amorphous_thickness"] - self.growth_velocity(t_amb) * dt, 0.0)
        return out

    def pulse_energy(self, before: State, after: State, amplitude, width, temperature):
        # Joule energy in the ON state during the pulse: I^2 R_prog t_p, one value per device
        e = np.asarray(amplitude, dtype=float) ** 2 * self.params["R_prog"] * np.asarray(width, dtype=float)
        return np.broadcast_to(e, np.shape(before["amorphous_thickness"])).copy()

    def _read_temperature(self, state: State):
        t = state.get("ambient_temperature")
        return None if t is None else np.asarray(t, dtype=float)

    def conductance_t0(self, state: State, v_read) -> np.ndarray:
        """G(t0) (S): physical conductance (at the read temperature) with the programming error."""
        g = self.physical_conductance(state["amorphous_thickness"], v_read, self._read_temperature(state))
        return np.maximum(g * (1.0 + state["prog_error"]), 0.0)

    def drift_exponent(self, state: State) -> np.ndarray:
        """Drift exponent at the read temperature, nu T_read / T (the published nu at T = T_read)."""
        t = self._read_temperature(state)
        nu = np.asarray(state["nu"], dtype=float)
        return nu if t is None else nu * self.params["T_read"] / t

    def conductance(self, state: State, v_read) -> np.ndarray:
        p = self.params
        g0 = self.conductance_t0(state, v_read)
        t_eff = np.maximum(state["t_prog"], p["t0_drift"])
        g = g0 * drift_factor(t_eff, self.drift_exponent(state), p["t0_drift"])
        q = read_noise_q(self.physical_conductance(state["amorphous_thickness"], p["v_stat"]), p["g_max_stat"])
        noise = p["read_noise"] * q * np.sqrt(np.log((t_eff + p["t_r"]) / (2.0 * p["t_r"]))) * state["read_xi"]
        return np.maximum(g * (1.0 + noise), 0.0)

    def nominal(self) -> GSTMushroom:
        """The cell without the statistical layer (mean drift exponent, no programming or read noise)."""
        return self.with_params(prog_noise=0.0, nu_spread=0.0, read_noise=0.0, growth_spread=0.0)

    def mean_field(self) -> GSTMushroom:
        """The deterministic expectation of the read that a fit compares with data (devicelib.fit): the nominal
        cell. Exact for reads within ``t0_drift`` of the last pulse with ``growth_spread = 0``: the programming
        error and the read noise are zero-mean multiplicative factors on G (the clip at G = 0, 1/sigma_P
        away, is neglected) and the drift factor is 1. Reads later than t0_drift: the mean exponent gives
        (t/t0)^-<nu> where the ensemble has <(t/t0)^-nu>, which differ at second order,
        (sigma_nu ln(t/t0))^2 / 2 relative. With ``growth_spread > 0`` the plug does a random walk and G is
        nonlinear in it: no closed-form expectation (NotImplementedError)."""
        if np.any(np.asarray(self.params["growth_spread"]) > 0):
            raise NotImplementedError(f"{self.name}: growth_spread > 0 has no closed-form mean read")
        return self.nominal()

    def drift_nu_std(self, g) -> np.ndarray:
        """Spread of the drift exponent at conductance ``g`` (S): ``nu_spread`` x sigma_nu(G) (exporters)."""
        return self.params["nu_spread"] * drift_nu_sigma(np.asarray(g, dtype=float), self.params["g_max_stat"])

    def state_from_conductance(self, g, v_read) -> State:
        p = self.params
        g = np.asarray(g, dtype=float)
        if not np.all(np.isfinite(g)) or np.any(g <= 0):
            raise ValueError(f"{self.name}: conductance must be positive and finite to infer the plug thickness")
        i0, b = self._pf()
        v = abs(float(v_read))
        if v == 0.0:
            u = (1.0 / g - p["R_c"]) * i0 / b
        else:
            i = g * v
            va = v - p["R_c"] * i
            with np.errstate(divide="ignore", invalid="ignore"):
                u = va / (b * np.arcsinh(i / i0))
        # above G at u = r_h the heater is partly uncovered: invert f G_slab + (1 - f)/R_c by bisection
        r_h = np.broadcast_to(np.asarray(p["r_h"], dtype=float), g.shape)
        part = g > self.physical_conductance(r_h, v_read)
        if np.any(part):
            lo, hi = np.zeros(g.shape), r_h.copy()
            for _ in range(60):
                mid = 0.5 * (lo + hi)
                above = self.physical_conductance(mid, v_read) > g  # G falls with u
                lo, hi = np.where(above, mid, lo), np.where(above, hi, mid)
            u = np.where(part, 0.5 * (lo + hi), u)
        u = np.clip(np.nan_to_num(u, nan=0.0), 0.0, p["u_max"])
        n = u.size
        nu = np.broadcast_to(drift_nu_mean(self.physical_conductance(u, p["v_stat"]), p["g_max_stat"]),
                             (n,)).copy()
        z = np.zeros(n)
        return {"amorphous_thickness": u, "t_prog": z.copy(), "nu": nu, "prog_error": z.copy(),
                "read_xi": z.copy(), "peak_temperature": np.full(n, 300.0),
                "ambient_temperature": np.broadcast_to(np.asarray(p["T_read"], dtype=float), (n,)).copy()}


def _unique_rows(m: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Distinct rows of a float matrix and the index of each row among them (``np.unique(m, axis=0,
    return_inverse=True)`` by a lexicographic sort, without its structured-dtype overhead)."""
    if len(m) == 0:
        return m, np.zeros(0, dtype=np.intp)
    order = np.lexsort(m.T[::-1])
    ms = m[order]
    new = np.ones(len(m), dtype=bool)
    new[1:] = np.any(ms[1:] != ms[:-1], axis=1)
    inv = np.empty(len(m), dtype=np.intp)
    inv[order] = np.cumsum(new) - 1
    return ms[new], inv


# -- multi-level SET: staircases, distinguishable levels, drive sensitivity -----------------------------------
def set_staircase(model: GSTMushroom, i_reset: float, i_set: float, width: float, n_pulses: int,
                  n_devices: int = 1, v_read: float = 0.2, t_read: float | None = None,
                  temperature: float = 300.0) -> np.ndarray:
    """Conductance (S), shape (n_devices, n_pulses + 1), of a RESET of ``i_reset`` (A) followed by
    ``n_pulses`` SET pulses of ``i_set`` (A), all ``width`` s; column k is read ``t_read`` s (default the
    drift reference t0 of the statistical model) after the k-th SET pulse (column 0: after the RESET).
    Vectorised over devices; uses the model's seeded generator."""
    if n_pulses < 1 or n_devices < 1:
        raise ValueError("set_staircase: n_pulses and n_devices must be >= 1")
    t_read = float(model.params["t0_drift"]) if t_read is None else float(t_read)
    st = model.apply_pulse(model.initial_state(int(n_devices)), i_reset, width, temperature)
    out = np.empty((int(n_devices), int(n_pulses) + 1))
    for k in range(int(n_pulses) + 1):
        if k:
            st = model.apply_pulse(st, i_set, width, temperature)
        out[:, k] = model.conductance(model.relax(st, t_read, temperature), v_read)
    return out


def distinguishable_levels(mean, std, k: float = 1.0) -> np.ndarray:
    """Indices of a greedy set of distinguishable levels among conductance distributions given by their
    ``mean`` and ``std`` (ordered, e.g. the columns of a SET staircase): starting from the first, the next
    level is the first whose mean exceeds the last accepted one by at least k (std_a + std_b) (k = 1: the
    two distributions cross about one standard deviation from each mean). A criterion, not a standard:
    the count depends on k."""
    mean, std = np.asarray(mean, float), np.asarray(std, float)
    keep = [0]
    for j in range(1, mean.size):
        a = keep[-1]
        if mean[j] - mean[a] >= k * (std[j] + std[a]):
            keep.append(j)
    return np.asarray(keep)


def set_step_sensitivity(model: GSTMushroom, i_set: float, rel: float = 0.02,
                         temperature: float = 300.0) -> tuple[float, float, float]:
    """Relative change of the crystallised thickness per SET pulse, u(T_peak(I)) t_p, for drive currents
    I (1 - rel) and I (1 + rel), and the elasticity d ln u / d ln I = 2 (T_peak - T0) d ln u/dT at I.

    The step in u_a does not depend on the plug (closed-form growth), so this is the whole drive sensitivity
    of the kinetics; how it shows in G depends on where the staircase is (slab or annulus branch)."""
    i = np.array([i_set * (1 - rel), i_set, i_set * (1 + rel)])
    t = model.peak_temperature(i, temperature)
    u = model.growth_velocity(t)
    dt = 1e-3
    dlnu_dt = float(np.log(model.growth_velocity(t[1] + dt) / model.growth_velocity(t[1] - dt)) / (2 * dt))
    return float(u[0] / u[1] - 1.0), float(u[2] / u[1] - 1.0), 2.0 * float(t[1] - temperature) * dlnu_dt
