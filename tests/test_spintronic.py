"""Spintronic family: domain-wall MTJ synapse and stochastic (Neel-Brown) MTJ."""

from pathlib import Path

import lmfit
import numpy as np
import pytest

from devicelib import get_model
from devicelib.catalog import load_card
from devicelib.fit import fit
from devicelib.measurement import from_simulation
from devicelib.physics.spintronic import DomainWallMTJ, StochasticMTJ, julliere_tmr, tmr_bias
from devicelib.pulses import identical, potentiation_depression
from devicelib.simulate import simulate
from devicelib.units import k_B

CARDS = Path(__file__).resolve().parents[1] / "models" / "spintronic"


# -- stochastic MTJ ----------------------------------------------------------------------------
def test_switching_probability_statistics_on_many_seeded_devices():
    m = StochasticMTJ()  # Delta = 40 at 300 K, Ic0 = 50 uA
    cur, n_dev = 40e-6, 20000
    tau_ap, tau_p = m.tau(cur, 300.0)
    assert tau_ap == pytest.approx(1e-9 * np.exp(40 * (1 - 0.8)), rel=1e-9)  # 2.98 us
    assert tau_p / tau_ap > 1e20  # back-switching negligible: one-way P_sw applies
    for t in (0.3 * tau_ap, tau_ap, 3 * tau_ap):
        p = 1 - np.exp(-t / tau_ap)
        assert m.switching_probability(cur, t, 300.0) == pytest.approx(p, rel=1e-12)
        ds = simulate(m, identical(1, cur, t, amplitude_unit="A"), n_dev, seed=int(t * 1e9))
        frac = np.mean(ds.antiparallel.values[:, 0] == 0.0)  # started AP, now P
        assert frac == pytest.approx(p, abs=4 * np.sqrt(p * (1 - p) / n_dev))
    # P_sw is a property of the accumulated time: two pulses of t/2 switch as often as one of t
    ds2 = simulate(m, identical(2, cur, 0.5 * tau_ap, amplitude_unit="A"), n_dev, seed=9)
    p = 1 - np.exp(-1.0)
    assert np.mean(ds2.antiparallel.values[:, 1] == 0.0) == pytest.approx(p, abs=4 * np.sqrt(p * (1 - p) / n_dev))


def test_half_of_the_devices_switch_at_tau_ln2():
    m = StochasticMTJ()
    cur = 35e-6
    tau = m.tau(cur, 300.0)[0]
    assert m.switching_probability(cur, tau * np.log(2), 300.0) == pytest.approx(0.5, rel=1e-12)
    n_dev = 40000
    ds = simulate(m, identical(1, cur, tau * np.log(2), amplitude_unit="A"), n_dev, seed=2)
    assert np.mean(ds.antiparallel.values[:, 0] == 0.0) == pytest.approx(0.5, abs=4 * 0.5 / np.sqrt(n_dev))
    # Neel-Brown: ln tau linear in I with slope -Delta / Ic0, and in 1/T with slope E_b (1 - I/Ic0) / k
    currents = np.array([10e-6, 20e-6, 30e-6])
    slope = np.polyfit(currents, np.log(m.tau(currents, 300.0)[0]), 1)[0]
    assert slope == pytest.approx(-40 / 50e-6, rel=1e-9)
    temps = np.array([280.0, 300.0, 330.0])
    slope_t = np.polyfit(1 / temps, np.log(m.tau(cur, temps)[0]), 1)[0]
    assert slope_t * k_B == pytest.approx(m.params["E_b"] * (1 - cur / 50e-6), rel=1e-9)


def test_julliere_and_tmr_bias_dependence():
    assert julliere_tmr(0.5, 0.5) == pytest.approx(2 / 3)
    assert julliere_tmr(0.6, 0.6) == pytest.approx(1.125)
    assert julliere_tmr(0.0, 0.9) == 0.0
    assert tmr_bias(0.5, 1.5, 0.5) == pytest.approx(0.75)  # halves at V_h
    assert tmr_bias(0.0, 1.5, 0.5) == 1.5
    m = StochasticMTJ()
    assert m.r_p() == pytest.approx(3e-12 / 2.5e-15)  # R_P = RA / area = 1.2 kOhm
    g_p = m.conductance({"antiparallel": np.array([0.0])}, 0.1)[0]
    assert g_p == pytest.approx(1 / 1200.0)
    for v in (0.01, 0.25, 0.5, 1.0):
        g_ap = m.conductance({"antiparallel": np.array([1.0])}, v)[0]
        assert g_p / g_ap - 1 == pytest.approx(1.5 / (1 + (v / 0.5) ** 2), rel=1e-12)
    assert m.observe({"antiparallel": np.array([0.0, 1.0])})["magnetisation"] == pytest.approx([1.0, -1.0])


def test_energy_of_a_current_pulse():
    m = StochasticMTJ()
    st = m.initial_state(3)
    cur, w = 10e-6, 1e-8  # far below switching: stays AP
    new = m.apply_pulse(st, cur, w, 300.0)
    r_ap = m._r_ap_at_current(cur)
    v = cur * r_ap
    assert r_ap == pytest.approx(m.r_ap(v), rel=1e-10)  # self-consistent bias
    assert m.pulse_energy(st, new, cur, w, 300.0) == pytest.approx(np.full(3, cur**2 * r_ap * w), rel=1e-6)
    # a parallel device dissipates I^2 R_P t
    p_st = {"antiparallel": np.zeros(1)}
    new_p = m.apply_pulse(p_st, cur, w, 300.0)
    assert m.pulse_energy(p_st, new_p, cur, w, 300.0)[0] == pytest.approx(cur**2 * 1200.0 * w, rel=1e-9)


def test_pbit_card_mean_magnetisation_is_tanh():
    card = load_card(CARDS / "borders2019_pbit.toml")
    m = card.model().seed(4)
    delta = m.delta(300.0)
    assert delta == pytest.approx(14.0, rel=2e-3)
    i0 = 2 / (delta * (1 / 100e-6 + 1 / 100e-6))  # 7.1 uA
    currents = np.array([-10e-6, -4e-6, 0.0, 4e-6, 10e-6])
    n_dev = 20000
    for cur in currents:  # a pulse of 1000 mean dwell times: stationary distribution
        st = m.apply_pulse(m.initial_state(n_dev), cur, 1e-3 * 1000 / 1.0, 300.0)
        mz = np.mean(1 - 2 * st["antiparallel"])
        assert mz == pytest.approx(np.tanh(cur / i0), abs=4 / np.sqrt(n_dev))
    # telegraph noise at rest (volatile): after 10 dwell times at zero current half the devices flipped
    tau_rest = m.tau(0.0, 300.0)[0]
    rel = m.relax(m.initial_state(n_dev), 10 * tau_rest, 300.0)
    assert np.mean(rel["antiparallel"]) == pytest.approx(0.5, abs=4 * 0.5 / np.sqrt(n_dev))


def test_retention_of_the_nonvolatile_card():
    card = load_card(CARDS / "koch2004_mtj.toml")
    m = card.model().seed(0)
    assert m.params["tau0"] == pytest.approx(1e-9)
    assert m.delta(300.0) == pytest.approx(40.0, rel=2e-3)
    tau_rest = m.tau(0.0, 300.0)[0]
    assert tau_rest == pytest.approx(1e-9 * np.exp(m.delta(300.0)))  # 2.4e8 s, ~7 years
    st = m.relax(m.initial_state(2000), 3600.0, 300.0)  # one hour: P(flip) = 1.5e-5 per device
    assert -np.expm1(-3600.0 / tau_rest) < 2e-5
    assert np.mean(st["antiparallel"]) > 0.998
    assert get_model("spintronic.koch2004_mtj").name == "spintronic.stochastic_mtj"


def test_mean_response_fit_recovers_barrier_and_critical_current():
    """4000 stochastic devices, mean conductance after each pulse; the deterministic mean-field twin (exact
    ensemble mean) is fitted with devicelib.fit, with the sampling noise of the mean as sigma."""
    truth = StochasticMTJ(E_b=30 * k_B * 300.0, Ic0_p=60e-6, Ic0_ap=90e-6)
    n_dev = 4000
    # tau AP->P 148 ns at 50 uA, 27 ns at 54 uA; tau P->AP 148 ns at -75 uA: tens of % per pulse
    train = (identical(12, 50e-6, 50e-9, amplitude_unit="A") + identical(12, -75e-6, 50e-9, amplitude_unit="A")
             + identical(12, 54e-6, 10e-9, amplitude_unit="A"))
    ds = simulate(truth, train, n_dev, seed=3, v_read=0.1)
    mean = ds.mean("device")
    g = mean["conductance"].values
    meas = from_simulation(ds.isel(device=[0]))
    meas["conductance"].values[0] = g
    meas["conductance_initial"].values[0] = mean["conductance_initial"].values
    gp, gap = truth.conductance({"antiparallel": np.array([0.0, 1.0])}, 0.1)
    sigma = (gp - gap) * np.sqrt(0.25 / n_dev)  # worst-case binomial spread of the mean
    # start below the barrier and above the pulse currents (above Ic0 the exponent is floored: no gradient)
    start = StochasticMTJ(E_b=25 * k_B * 300.0, Ic0_p=70e-6, Ic0_ap=100e-6).mean_field()
    r = fit(start, meas, vary=["E_b", "Ic0_p", "Ic0_ap"], sigma=sigma)
    assert r.converged, r.status
    assert r.values["E_b"] / (k_B * 300.0) == pytest.approx(30.0, rel=0.02)
    assert r.values["Ic0_p"] == pytest.approx(60e-6, rel=0.01)
    assert r.values["Ic0_ap"] == pytest.approx(90e-6, rel=0.01)
    # the twin is exact: its prediction with the true values matches the ensemble mean within the noise
    twin = truth.mean_field()
    st = twin.initial_state(1)
    pred = []
    for a, w in zip(train.amplitude, train.width, strict=True):
        st = twin.apply_pulse(st, a, w, 300.0)
        pred.append(twin.conductance(st, 0.1)[0])
    assert np.max(np.abs(np.array(pred) - g)) < 5 * sigma


def test_switching_probability_curve_fit():
    """P_sw(I) at a fixed width from seeded devices, fitted with 1 - exp(-t / tau(I)): Delta and Ic0."""
    truth = StochasticMTJ()
    tp, n_dev = 1e-6, 5000
    currents = np.linspace(30e-6, 42e-6, 9)
    frac = []
    for k, cur in enumerate(currents):
        ds = simulate(truth, identical(1, cur, tp, amplitude_unit="A"), n_dev, seed=50 + k)
        frac.append(np.mean(ds.antiparallel.values[:, 0] == 0.0))
    frac = np.array(frac)

    def resid(pars):
        m = StochasticMTJ(E_b=pars["delta"].value * k_B * 300.0, Ic0_p=pars["ic0"].value * 1e-6)
        p = m.switching_probability(currents, tp, 300.0)
        return (p - frac) / np.sqrt(np.clip(p * (1 - p), 1e-4, None) / n_dev)

    pars = lmfit.Parameters()
    pars.add("delta", value=35.0, min=5, max=100)
    pars.add("ic0", value=45.0, min=10, max=200)
    res = lmfit.minimize(resid, pars)
    assert res.success
    assert res.params["delta"].value == pytest.approx(40.0, rel=0.05)
    assert res.params["ic0"].value == pytest.approx(50.0, rel=0.02)


# -- domain-wall MTJ ----------------------------------------------------------------------------
def test_dw_conductance_linear_in_wall_position():
    m = DomainWallMTJ()
    x = np.linspace(0.0, 1e-6, 11)
    g = m.conductance({"wall_position": x}, 0.1)
    assert g[0] == pytest.approx(1 / 1e3) and g[-1] == pytest.approx(1 / 2e3)  # 1/R_P at x_l, 1/R_AP at x_h
    assert np.diff(g, 2) == pytest.approx(np.zeros(9), abs=1e-15)
    assert m.state_from_conductance(g, 0.1)["wall_position"] == pytest.approx(x, abs=1e-18)
    obs = m.observe({"wall_position": x})
    assert obs["magnetisation"][[0, 5, 10]] == pytest.approx([1.0, 0.0, -1.0], abs=1e-12)


def test_dw_depinning_threshold_and_step():
    m = DomainWallMTJ()
    area = 1e-6 * 5e-9
    i_dep = 5e10 * area  # 250 uA
    st = m.initial_state(4)
    amps = np.array([0.99 * i_dep, -0.99 * i_dep, 1.01 * i_dep, 1e-3])
    new = m.apply_pulse(st, amps, 8e-9, 300.0)
    dx = new["wall_position"] - st["wall_position"]
    assert dx[0] == 0.0 and dx[1] == 0.0  # below depinning: no motion
    assert dx[2] == pytest.approx(-4e-11 * 0.01 * 5e10 * 8e-9, rel=1e-9)  # just above: 0.16 nm
    assert dx[3] == pytest.approx(-4e-11 * (1e-3 / area - 5e10) * 8e-9, rel=1e-12)  # 48 nm towards x_l
    # N pulses of equal size give N equal conductance steps (linear synapse) until the wall reaches x_l
    ds = simulate(m, potentiation_depression(25, 25, 1e-3, -1e-3, 8e-9, amplitude_unit="A"), 1)
    g = ds.conductance.values[0]
    step = (1 / 1e3 - 1 / 2e3) * 48e-9 / 1e-6
    assert np.diff(g[:20]) == pytest.approx(np.full(19, step), rel=1e-9)
    assert g[24] == pytest.approx(1e-3)  # saturated at 1/R_P
    assert np.all(np.diff(g[25:44]) < 0) and g[-1] == pytest.approx(5e-4)  # back to 1/R_AP
    # energy I^2 R_write t_p: 16 pJ at 1 mA, 8 ns (Siddiqui 2020: <= 16 pJ)
    assert ds.energy.values[0] == pytest.approx(np.full(50, 16e-12), rel=1e-12)


def test_dw_parameter_recovery_with_devicelib_fit():
    truth = DomainWallMTJ(mu_dw=3e-11, J_dep=6e10)
    tr = (potentiation_depression(15, 15, 0.8e-3, -0.8e-3, 8e-9, amplitude_unit="A")
          + potentiation_depression(15, 15, 1.2e-3, -1.2e-3, 8e-9, amplitude_unit="A"))
    ds = simulate(truth, tr, 1, v_read=0.1)
    meas = from_simulation(ds)
    sigma = 5e-7
    meas["conductance"].values[:] += sigma * np.random.default_rng(0).standard_normal(meas["conductance"].shape)
    r = fit(DomainWallMTJ(mu_dw=5e-11, J_dep=4e10), meas, vary=["mu_dw", "J_dep"], sigma=sigma)
    assert r.converged, r.status
    assert r.values["mu_dw"] == pytest.approx(3e-11, rel=0.01)
    assert r.values["J_dep"] == pytest.approx(6e10, rel=0.02)


def test_siddiqui_card_and_bad_input():
    card = load_card(CARDS / "siddiqui2020_dwmtj.toml")
    m = card.model()
    assert card.provenance["doi"] == "10.1021/acs.nanolett.9b04200"
    st = m.initial_state(1)
    new = m.apply_pulse(st, 1e-3, 8e-9, 300.0)
    assert m.pulse_energy(st, new, 1e-3, 8e-9, 300.0)[0] == pytest.approx(16e-12)
    with pytest.raises(ValueError, match="R_P must be smaller"):
        DomainWallMTJ(R_P=3e3, R_AP=2e3)
    with pytest.raises(ValueError, match="J_dep"):
        DomainWallMTJ(J_dep=-1.0)
    with pytest.raises(ValueError, match="temperature"):
        StochasticMTJ().apply_pulse({"antiparallel": np.ones(1)}, 1e-5, 1e-9, -3.0)


# -- spin-transfer torque across regimes (thermal, precessional, crossover) -----------------------------------
def test_precessional_switching_time_is_inverse_in_overdrive():
    m = get_model("spintronic.koch2004_mtj")
    ic0 = 50e-6
    # Sun 2000 with theta0 = sqrt(ln2 / Delta), Delta = 40: t50 = tau_D / (i - 1) ln(pi sqrt(40) / (2 sqrt(ln 2)))
    t2 = m.precessional_time(2 * ic0)
    assert t2 == pytest.approx(1e-9 * np.log(np.pi * np.sqrt(40.0) / (2 * np.sqrt(np.log(2)))), rel=1e-3)
    assert t2 == pytest.approx(2.479e-9, rel=1e-3)
    assert m.precessional_time(3 * ic0) == pytest.approx(t2 / 2, rel=1e-9)
    assert np.isinf(m.precessional_time(0.9 * ic0))
    # t50 is the median of the macrospin distribution P_prec(t) = exp(-pi^2 Delta/4 exp(-2 (i-1) t / tau_D))
    for i in (1.5, 2.0, 4.0):
        assert m._prec(i * ic0, m.precessional_time(i * ic0), 300.0)[0] == pytest.approx(0.5, rel=1e-3)
    # negative current drives P -> AP above Ic0_AP = 75 uA
    assert m._prec(-2 * 75e-6, m.precessional_time(-2 * 75e-6), 300.0)[1] == pytest.approx(0.5, rel=1e-3)


def test_switching_probability_at_1ns_rises_with_current_above_ic0():
    """Issue 12: at 1 ns P_sw was stuck at 1 - 1/e = 0.632 for 1-3x Ic0 (thermal law floored at tau0)."""
    m = get_model("spintronic.koch2004_mtj")
    ratios = np.array([1.0, 2.0, 3.0, 4.0, 5.0, 8.0])
    p = m.switching_probability(ratios * 50e-6, 1e-9, 300.0)
    assert np.all(np.diff(p) >= 0)
    assert p[0] == pytest.approx(1 - np.exp(-1), rel=1e-6)  # at Ic0: thermal attempt rate only
    assert p[2] == pytest.approx(0.692, abs=2e-3)
    assert p[3] == pytest.approx(0.920, abs=2e-3)
    assert p[4] > 0.98 and p[5] > 0.9999


def test_switching_probability_versus_width_from_100ps_to_1ms():
    m = get_model("spintronic.koch2004_mtj")
    widths = np.logspace(-10, -3, 36)
    thermal = m.switching_probability(0.8 * 50e-6, widths, 300.0)  # below Ic0: Neel-Brown only
    tau = 1e-9 * np.exp(m.delta(300.0) * 0.2)  # Delta = 1.034 eV / kT = 40.0
    assert thermal == pytest.approx(-np.expm1(-widths / tau), rel=1e-9)
    fast = m.switching_probability(3 * 50e-6, widths, 300.0)  # above Ic0: precession dominates at ns
    assert np.all(np.diff(thermal) >= 0) and np.all(np.diff(fast) >= 0)
    assert fast[0] < 0.1  # 100 ps: too short for either channel
    i10 = np.searchsorted(widths, 10e-9)
    assert fast[i10] > 0.9999 and thermal[i10] < 0.01
    assert thermal[-1] > 0.9999  # 1 ms >> tau = 3 us


def test_monte_carlo_and_mean_field_follow_the_crossover_probability():
    m = get_model("spintronic.koch2004_mtj").seed(4)
    cur, w = 3 * 50e-6, 1.2e-9
    p = m.switching_probability(cur, w, 300.0)
    n = 40000
    ds = simulate(m, identical(1, cur, w, amplitude_unit="A"), n, seed=4)
    frac = np.mean(ds.antiparallel.values[:, 0] == 0.0)
    assert frac == pytest.approx(p, abs=4 * np.sqrt(p * (1 - p) / n))
    mf = m.mean_field()
    assert mf.apply_pulse(mf.initial_state(1), cur, w, 300.0)["antiparallel"][0] == pytest.approx(1 - p, rel=1e-12)


def test_r_ap_bisection_is_cached_for_a_shared_current():
    m = get_model("spintronic.koch2004_mtj")
    cur = np.full(1000, 80e-6)
    r = m._r_ap_at_current(cur)
    assert r == pytest.approx(np.full(1000, m._r_ap_bisect(np.array([80e-6]))[0]), rel=1e-15)
    cached = m.__dict__["_rap_cache"][2]
    m._r_ap_at_current(cur)
    assert m.__dict__["_rap_cache"][2] is cached  # second pulse: no new bisection
    mixed = np.r_[np.full(500, 80e-6), np.full(500, 20e-6)]
    assert m._r_ap_at_current(mixed)[-1] == pytest.approx(m._r_ap_bisect(np.array([20e-6]))[0], rel=1e-15)
    # a model with another RA does not reuse the cache
    m2 = m.with_params(RA=6e-12)
    assert m2._r_ap_at_current(cur)[0] == pytest.approx(m2._r_ap_bisect(np.array([80e-6]))[0], rel=1e-15)
    assert m2._r_ap_at_current(cur)[0] > 1.5 * r[0]
