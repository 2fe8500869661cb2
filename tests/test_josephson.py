"""Josephson family: fluxon-loop synapse and magnetic Josephson junction (Mn clusters)."""

from pathlib import Path

import lmfit
import numpy as np
import pytest
from scipy.integrate import solve_ivp
from scipy.optimize import brentq

from devicelib import get_model
from devicelib.catalog import load_card
from devicelib.fit import fit
from devicelib.measurement import from_simulation
from devicelib.physics import josephson as J
from devicelib.physics.josephson import FluxonLoop, MagneticJJ
from devicelib.pulses import identical, potentiation_depression
from devicelib.simulate import simulate
from devicelib.units import PHI0, h_planck, k_B, q_e

CARDS = Path(__file__).resolve().parents[1] / "models" / "josephson"
MEV = 1e-3 * q_e


# -- junction physics ---------------------------------------------------------------------------
def test_flux_quantum_and_quantised_loop_states():
    assert PHI0 == pytest.approx(h_planck / (2 * q_e), rel=1e-12)
    assert PHI0 == pytest.approx(2.0678e-15, rel=1e-4)
    m = FluxonLoop().seed(3)
    st = m.initial_state(200)
    amps = m.rng.uniform(-80e-6, 80e-6, size=30)
    for a in amps:  # random pulses (some near threshold, stochastic): n stays an integer
        st = m.apply_pulse(st, a, 1e-9, 4.2)
    n = st["fluxons"]
    assert np.all(n == np.rint(n))
    obs = m.observe(st)
    # flux quantisation: L I_circ + Phi_ext = n Phi0 exactly, trapped flux n Phi0
    assert obs["circulating_current"] * m.params["L"] / PHI0 == pytest.approx(n, abs=1e-9)
    assert obs["trapped_flux"] == pytest.approx(n * PHI0)
    # the readout is linear in I_circ: equal conductance steps per fluxon
    g = m.conductance({"fluxons": np.arange(-5.0, 6.0)}, 0.1)
    step = (1e-4 - 1e-6) * PHI0 / (2 * m.params["L"] * m.params["Ic"])
    assert np.diff(g) == pytest.approx(np.full(10, step), rel=1e-9)
    assert m.state_from_conductance(g, 0.1)["fluxons"] == pytest.approx(np.arange(-5.0, 6.0))


@pytest.mark.parametrize("L", [0.5e-9, 2e-9])
def test_storable_states_about_L_Ic_over_Phi0(L):
    m = FluxonLoop(L=L)
    lic = L * m.params["Ic"] / PHI0  # 12.09 and 48.36
    assert m.beta_l() == pytest.approx(2 * np.pi * lic)
    # strong positive pulses fill the loop up to floor(L Ic / Phi0) fluxons, negative ones to the mirror state
    big = FluxonLoop(L=L, max_per_pulse=1e4)  # one long current pulse moves as many fluxons as it can
    up = big.apply_pulse(m.initial_state(1), 10 * m.params["Ic"], 1e-9, 4.2)["fluxons"][0]
    down = big.apply_pulse(m.initial_state(1), -10 * m.params["Ic"], 1e-9, 4.2)["fluxons"][0]
    assert up == np.floor(lic)
    assert down == -np.floor(lic)
    st = m.initial_state(1)  # SFQ-like pulses (default): one fluxon each, same ceiling
    levels = []
    for _ in range(int(lic) + 5):
        st = m.apply_pulse(st, 10 * m.params["Ic"], 1e-9, 4.2)
        levels.append(st["fluxons"][0])
    assert levels[: int(lic)] == list(np.arange(1.0, int(lic) + 1))
    assert levels[-1] == np.floor(lic)
    # all metastable states (both polarities): 2 L Ic / Phi0 + 1 within one
    assert m.storable_states() == pytest.approx(2 * lic + 1, abs=1.0)
    # an under-screened loop (beta_L <= 1) cannot store flux: rejected
    with pytest.raises(ValueError, match="beta_L"):
        FluxonLoop(L=5e-12, Ic=10e-6)


def test_stewart_mccumber_plasma_frequency_and_josephson_energy():
    ic, r, c = 100e-6, 2.0, 1e-12
    assert J.stewart_mccumber(ic, r, c) == pytest.approx(2 * np.pi * ic * r**2 * c / 2.067833848e-15, rel=1e-8)
    assert J.stewart_mccumber(ic, r, c) == pytest.approx(1.2155, rel=1e-3)
    wp = J.plasma_frequency(ic, c)
    assert wp == pytest.approx(np.sqrt(2 * np.pi * ic / (PHI0 * c)), rel=1e-12)
    assert wp / (2 * np.pi) == pytest.approx(87.73e9, rel=1e-3)
    assert J.plasma_frequency(ic, c, 0.6 * ic) == pytest.approx(wp * 0.64**0.25, rel=1e-12)
    assert J.josephson_energy(ic) == pytest.approx(ic * PHI0 / (2 * np.pi))
    # the default loop junction is overdamped
    assert FluxonLoop().beta_c() == pytest.approx(J.stewart_mccumber(50e-6, 2.0, 50e-15))
    assert FluxonLoop().beta_c() < 1


def test_escape_rate_formula():
    ic, c, t = 50e-6, 50e-15, 4.2
    i = 0.95 * ic
    du = 2 * np.sqrt(2) * ic * PHI0 / (3 * np.pi) * 0.05**1.5
    wp = np.sqrt(2 * np.pi * ic / (PHI0 * c)) * (1 - 0.95**2) ** 0.25
    expected = wp / (2 * np.pi) * np.exp(-du / (k_B * t))
    assert J.barrier_height(i, ic) == pytest.approx(du, rel=1e-12)
    assert J.escape_rate(i, ic, c, t) == pytest.approx(expected, rel=1e-12)
    assert J.escape_probability(i, ic, c, t, 2e-9) == pytest.approx(1 - np.exp(-expected * 2e-9), rel=1e-12)
    # barrier -> 0 at Ic: immediate switching; the cubic barrier at I = 0 is within 6 % of 2 E_J
    assert np.isinf(J.escape_rate(ic, ic, c, t)) and J.escape_probability(1.01 * ic, ic, c, t, 1e-12) == 1.0
    assert J.barrier_height(0.0, ic) == pytest.approx(2 * J.josephson_energy(ic), rel=0.06)
    # Arrhenius: ln Gamma is linear in 1/T with slope -Delta U / k
    temps = np.array([3.0, 4.2, 6.0])
    slope = np.polyfit(1 / temps, np.log(J.escape_rate(i, ic, c, temps)), 1)[0]
    assert -slope * k_B == pytest.approx(du, rel=1e-9)


def test_thermal_escape_statistics_on_many_seeded_devices():
    m = FluxonLoop()
    tp, temp, n_dev = 1e-9, 4.2, 20000
    amps = np.array([47.3e-6, 47.55e-6, 47.8e-6])
    p_expected = m.switching_probability(amps, tp, temp)
    assert np.all((p_expected > 0.05) & (p_expected < 0.95))  # inside the stochastic window
    for a, p in zip(amps, p_expected, strict=True):
        ds = simulate(m, identical(1, a, tp, temperature=temp, amplitude_unit="A"), n_dev, seed=11)
        frac = np.mean(ds.fluxons.values[:, 0] >= 1)
        assert frac == pytest.approx(p, abs=4 * np.sqrt(p * (1 - p) / n_dev))
    # same seed, same devices: reproducible; different seed: a different draw
    tr = identical(5, 47.55e-6, tp, temperature=temp, amplitude_unit="A")
    a1, a2 = (simulate(m, tr, 50, seed=s).fluxons.values for s in (5, 5))
    assert np.array_equal(a1, a2)
    assert not np.array_equal(a1, simulate(m, tr, 50, seed=6).fluxons.values)


def test_energy_per_switching_event_is_ic_phi0():
    # seeded: after the 2 deterministic entries a third can still come by thermal escape (rarely)
    m = FluxonLoop(max_per_pulse=100).seed(3)
    st = m.initial_state(1)
    new = m.apply_pulse(st, 55e-6, 1e-9, 4.2)  # 5 uA overdrive: 2 fluxons (Phi0/L = 4.1 uA each)
    assert new["fluxons"][0] == 2
    e = m.pulse_energy(st, new, 55e-6, 1e-9, 4.2)[0]
    assert e == pytest.approx(2 * 50e-6 * PHI0, rel=1e-12)
    # any number of events costs Ic Phi0 each
    many = m.apply_pulse(m.initial_state(200), 55e-6, 1e-9, 4.2)
    n = many["fluxons"]
    np.testing.assert_allclose(m.pulse_energy(m.initial_state(200), many, 55e-6, 1e-9, 4.2), n * 50e-6 * PHI0,
                               rtol=1e-12)
    assert np.all(n >= 2)
    assert 1e-19 < e / 2 < 1e-18  # 0.10 aJ per event: attojoule range
    # a sub-threshold pulse costs nothing
    assert m.pulse_energy(st, m.apply_pulse(st, 30e-6, 1e-9, 4.2), 30e-6, 1e-9, 4.2)[0] == 0.0


def test_ambegaokar_baratoff_for_niobium():
    assert J.ambegaokar_baratoff(1.5 * MEV, 0.0) == pytest.approx(np.pi * 1.5e-3 / 2, rel=1e-12)
    assert J.ambegaokar_baratoff(1.5 * MEV, 0.0) == pytest.approx(2.36e-3, rel=2e-3)
    at_42 = np.pi * 1.5e-3 / 2 * np.tanh(1.5 * MEV / (2 * k_B * 4.2))
    assert J.ambegaokar_baratoff(1.5 * MEV, 4.2) == pytest.approx(at_42, rel=1e-12)
    assert at_42 == pytest.approx(2.283e-3, rel=1e-3)
    # BCS gap of Nb (Tc 9.2 K): 1.764 k Tc = 1.40 meV at 0 K, closes at Tc
    assert J.bcs_gap(1e-3, 9.2) / MEV == pytest.approx(1.398, rel=1e-3)
    assert J.bcs_gap(9.2, 9.2) == 0.0


def test_retention_of_edge_states_and_temperature_guard():
    m = FluxonLoop().seed(0)
    st = {"fluxons": np.array([12.0, 5.0, -12.0])}  # |I_J| at rest 0.99 Ic for +-12: barrier 0.4 kT at 4.2 K
    out = m.relax(st, 1.0, 4.2)
    assert out["fluxons"][1] == 5.0  # deep state: Delta U / kT ~ 190, kept
    assert abs(out["fluxons"][0]) <= 10 and abs(out["fluxons"][2]) <= 10  # edge states lose fluxons within 1 s
    # thermal stability bound: a state kept for 1 s needs Delta U / kT > ln(f_p * 1 s) ~ 26
    lim = 1 - (np.log(m.plasma_frequency() * 1.0) * k_B * 4.2 / (J._U_PREF * 50e-6 * PHI0)) ** (2 / 3)
    assert abs(out["fluxons"][0]) * PHI0 / m.params["L"] <= lim * 50e-6 * 1.01
    with pytest.raises(ValueError, match="Tc"):
        m.apply_pulse(st, 10e-6, 1e-9, 300.0)
    with pytest.raises(ValueError, match="Tc"):
        simulate(m, identical(2, 60e-6, 1e-9, amplitude_unit="A"), 2)  # default 300 K train


def test_fit_switching_probability_curve_recovers_ic_and_L():
    """Synthetic data with known truth: switching fractions of 4000 seeded devices per amplitude from the
    empty loop and from n = 3, fitted with the exact 1 - exp(-Gamma t_p) (binomial weights, lmfit)."""
    truth = FluxonLoop(Ic=60e-6, L=0.8e-9)
    tp, temp, n_dev = 2e-9, 20.0, 4000
    data = []
    for n0, shift in ((0.0, 0.0), (3.0, 3 * PHI0 / 0.8e-9)):
        amps = np.linspace(49.5e-6, 54.5e-6, 12) + shift  # across the 5-95 % window (50.1-53.4 uA)
        for k, a in enumerate(amps):
            ds = simulate(truth, identical(1, a, tp, temperature=temp, amplitude_unit="A"), n_dev, seed=100 + k,
                          state={"fluxons": np.full(n_dev, n0)})
            data.append((n0, a, np.mean(ds.fluxons.values[:, 0] > n0)))
    n0s, amps, frac = (np.array(v) for v in zip(*data, strict=True))

    def resid(pars):
        m = FluxonLoop(Ic=pars["Ic"].value * 1e-6, L=pars["L"].value * 1e-9)
        p = m.switching_probability(amps, tp, temp, fluxons=n0s)
        sig = np.sqrt(np.clip(p * (1 - p), 1e-4, None) / n_dev)
        return (p - frac) / sig

    # start values from the data: 50 % point of the n = 0 curve solved for Ic, shift of the n = 3 curve = 3 Phi0 / L;
    # then moved off by 1 % and 10 % so the fit has work to do (the curves are ~1.5 % of Ic wide)
    a50 = [np.interp(0.5, frac[n0s == v], amps[n0s == v]) for v in (0.0, 3.0)]
    ic0 = brentq(lambda ic: FluxonLoop(Ic=ic, L=0.8e-9).switching_probability(a50[0], tp, temp)[0] - 0.5,
                 a50[0] * 1.0001, 2 * a50[0])
    pars = lmfit.Parameters()
    pars.add("Ic", value=ic0 * 1e6 * 1.01, min=10, max=500)
    pars.add("L", value=3 * PHI0 / (a50[1] - a50[0]) * 1e9 * 0.9, min=0.05, max=20)
    res = lmfit.minimize(resid, pars)
    assert res.success
    assert res.params["Ic"].value == pytest.approx(60.0, rel=0.002)
    assert res.params["L"].value == pytest.approx(0.8, rel=0.01)
    assert res.redchi < 3


def test_goteti_card_loads_and_runs():
    card = load_card(CARDS / "goteti2022_ybco_loop.toml")
    m = card.model()
    assert card.provenance["doi"] == "10.1126/sciadv.abn4485"
    assert m.params["L"] * m.params["Ic"] / PHI0 == pytest.approx(12.09, rel=1e-3)
    assert get_model("josephson.goteti2022_ybco_loop").params["Tc"] == 89.0
    assert all(card.parameters[k].estimate for k in ("Ic", "L", "C"))
    ds = simulate(m, potentiation_depression(15, 15, 90e-6, -90e-6, 1e-9, temperature=4.2, amplitude_unit="A"),
                  4, seed=1)
    n = ds.fluxons.values
    # one fluxon per pulse (max_per_pulse = 1) until 90 uA - n Phi0/L drops to the threshold (~47.6 uA)
    assert np.array_equal(n[:, :9], np.tile(np.arange(1.0, 10.0), (4, 1)))
    assert set(n[:, 14]) <= {10.0, 11.0}
    assert np.array_equal(n[:, -1], n[:, 14] - 15)  # and one out per negative pulse
    assert np.all(ds.energy.values[:, :9] == pytest.approx(50e-6 * PHI0))  # Ic Phi0 per event


# -- magnetic Josephson junction -------------------------------------------------------------------
def _mjj_reference(m, order, amp, width):
    p = m.params
    mt = 0.0 if amp > 0 else p["m_field"]
    i = abs(amp)

    def rhs(_, y):
        ic = p["Ic_dis"] + (p["Ic_ord"] - p["Ic_dis"]) * y[0]
        v = p["R_n"] * np.sqrt(max(i * i - ic * ic, 0.0))
        return [-p["p_slip"] * v / PHI0 * (y[0] - mt), i * v]

    sol = solve_ivp(rhs, (0, width), [order, 0.0], rtol=1e-11, atol=[1e-13, 1e-30], method="LSODA")
    return sol.y[0, -1], sol.y[1, -1]


@pytest.mark.parametrize("order,amp,width", [
    (0.0, -400e-6, 1e-9),   # ordering in field, u -> c from above, c < I
    (0.9, 400e-6, 1e-9),    # disordering, c = Ic_dis < I: from below
    (0.9, 250e-6, 3e-8),    # disordering with c = 300 uA > I: stops where Ic(m) = I (self-limiting)
    (0.3, -280e-6, 2e-10),  # short pulse
])
def test_mjj_closed_form_matches_solve_ivp(order, amp, width):
    m = MagneticJJ()
    new = m.apply_pulse({"order": np.array([order])}, amp, width, 4.2)
    m_ref, e_ref = _mjj_reference(m, order, amp, width)
    assert new["order"][0] == pytest.approx(m_ref, abs=1e-7)
    assert new["_energy"][0] == pytest.approx(e_ref, rel=1e-5)
    if width == 3e-8:  # self-limiting case: the junction returned to the zero-voltage state at Ic(m) = |I|
        assert m.critical_current(new["order"])[0] == pytest.approx(250e-6, rel=1e-6)
        longer = m.apply_pulse(new, amp, 10 * width, 4.2)  # nothing more happens: zero-voltage state
        assert longer["order"][0] == new["order"][0] and longer["_energy"][0] == 0.0


def test_mjj_weight_spike_energy_and_card():
    card = load_card(CARDS / "schneider2018_nbsimn.toml")
    m = card.model()
    st = {"order": np.array([0.0, 0.5, 1.0])}
    obs = m.observe(st)
    assert obs["spike_energy"] == pytest.approx(obs["critical_current"] * PHI0)
    assert np.all(obs["spike_energy"] < 1e-18)  # "spiking energy always less than 1 aJ"
    assert np.all(obs["plasma_frequency"] > 100e9)  # "plasma frequencies all exceed 100 GHz"
    # conductance linear in the weight Ic, 1/R_n when disordered
    assert m.conductance(st, 0.1) == pytest.approx(obs["critical_current"] / (300e-6 * 0.1))
    # sub-critical pulses neither write nor dissipate (non-volatile weight)
    sub = m.apply_pulse(st, 100e-6, 1e-9, 4.2)
    assert sub["order"][2] == 1.0 and sub["_energy"][2] == 0.0
    # a training pulse of a few aJ changes the weight by a few to tens of percent
    one = m.apply_pulse({"order": np.array([0.0])}, -320e-6, 0.4e-9, 4.2)
    assert 1e-18 < one["_energy"][0] < 1e-17
    dg = 1 - m.conductance(one, 0.1)[0] / m.conductance({"order": np.array([0.0])}, 0.1)[0]
    assert 0.02 < dg < 0.3
    assert m.state_from_conductance(m.conductance(st, 0.1), 0.1)["order"] == pytest.approx(st["order"])
    with pytest.raises(ValueError, match="Tc"):
        m.apply_pulse(st, 400e-6, 1e-9, 10.0)


def test_mjj_parameter_recovery_with_devicelib_fit():
    truth = MagneticJJ(p_slip=0.03, m_field=0.7)
    tr = potentiation_depression(25, 25, 350e-6, -350e-6, 0.3e-9, cycles=2, temperature=4.2, amplitude_unit="A")
    ds = simulate(truth, tr, 1, seed=0)
    meas = from_simulation(ds)
    rng = np.random.default_rng(1)
    sigma = 0.005
    meas["conductance"].values[:] += sigma * rng.standard_normal(meas["conductance"].shape)
    r = fit(MagneticJJ(p_slip=0.1, m_field=0.5), meas, vary=["p_slip", "m_field"], sigma=sigma)
    assert r.converged, r.status
    assert r.values["p_slip"] == pytest.approx(0.03, rel=0.005)
    assert r.values["m_field"] == pytest.approx(0.7, rel=0.003)
