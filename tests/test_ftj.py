"""Ferroelectric tunnel junction (ftj.nls_wkb): WKB barrier limits, domains in parallel, NLS kinetics shared
with fefet.nls, read inversion and a fit at two amplitudes predicting a third."""

import numpy as np
import pytest

from devicelib import get_model
from devicelib.fit import fit
from devicelib.measurement import make_measurement
from devicelib.physics import fefet
from devicelib.physics.ftj import FTJ, simmons_conductance
from devicelib.units import q_e

EV = q_e


def run_trains(model, amplitude, width=20e-9, v_read=0.1):
    amplitude = np.atleast_2d(amplitude)
    st = model.initial_state(amplitude.shape[0])
    g = np.empty(amplitude.shape)
    for k in range(amplitude.shape[1]):
        st = model.apply_pulse(st, amplitude[:, k], width, 300.0)
        g[:, k] = model.conductance(st, v_read)
    return g


def test_wkb_decay_length_and_electroresistance():
    # d ln(G)/dd = -(2 kappa + 1/d), kappa = sqrt(2 m phi)/hbar = 5.123 nm^-1 sqrt(phi / eV) (free electron)
    d, dd = 2e-9, 1e-13
    for phi_ev in (0.3, 0.5, 1.0):
        slope = (np.log(simmons_conductance(phi_ev * EV, d + dd)) - np.log(simmons_conductance(phi_ev * EV, d))) / dd
        kappa = 5.1232e9 * np.sqrt(phi_ev)
        assert -slope == pytest.approx(2 * kappa + 1 / d, rel=1e-3)
    m = get_model("ftj.chanthbouala2012_bto")
    g_on, g_off = m.g_on_off()
    assert 1e-6 < g_on < 1e-4 and 1e-8 < g_off < 1e-6  # ~100 kOhm ON, ~10 MOhm OFF
    assert m.tunnelling_electroresistance() == pytest.approx(59.65, rel=1e-3)
    assert FTJ(dphi=0.25 * EV).tunnelling_electroresistance() > m.tunnelling_electroresistance()


def test_domains_conduct_in_parallel():
    m = FTJ()
    g_on, g_off = m.g_on_off()
    pr = m.params["Pr"]
    pol = np.array([-pr, -0.5 * pr, 0.0, pr])
    g = m.conductance({"polarization": pol}, 0.1)
    assert g == pytest.approx([g_off, 0.75 * g_off + 0.25 * g_on, 0.5 * (g_on + g_off), g_on], rel=1e-12)
    back = m.state_from_conductance(g, 0.1)["polarization"]
    assert back == pytest.approx(pol, abs=1e-12)


def test_nls_kinetics_are_the_fefet_family_s():
    m = get_model("ftj.chanthbouala2012_bto")
    p = m.params
    # t1 = tau0 exp((Ea t_FE / V)^alpha): at 2.5 V, (2.5e9 * 2e-9 / 2.5)^2 = 4 -> 54.6 ns
    assert m.t1(2.5) == pytest.approx(1e-9 * np.exp(4.0), rel=1e-9)
    assert m.t1(2.5) == pytest.approx(fefet.nls_t1(2.5 / p["t_FE"], p["tau0"], p["Ea"], p["alpha"]))
    # a pulse of width t1 switches half the area (median of the Lorentzian)
    st = m.apply_pulse(m.initial_state(1), 2.5, m.t1(2.5), 300.0)
    assert m.on_fraction(st)[0] == pytest.approx(0.5, abs=1e-12)
    # accumulation: 10 pulses of 5 ns = one pulse of 50 ns
    st10 = m.initial_state(1)
    for _ in range(10):
        st10 = m.apply_pulse(st10, 2.5, 5e-9, 300.0)
    st1 = m.apply_pulse(m.initial_state(1), 2.5, 50e-9, 300.0)
    assert st10["polarization"] == pytest.approx(st1["polarization"], rel=1e-12)
    # negative pulses switch back; a read-level pulse (0.1 V) does nothing measurable
    back = m.apply_pulse(st1, -3.0, 1e-6, 300.0)
    assert m.on_fraction(back)[0] < m.on_fraction(st1)[0] - 0.3
    assert m.apply_pulse(st1, 0.1, 1e-3, 300.0)["polarization"] == pytest.approx(st1["polarization"], abs=1e-12)


def test_energy_counts_tunnelling_and_switching_charge():
    m = FTJ()
    before = m.initial_state(1)
    after = m.apply_pulse(before, 3.0, 1e-6, 300.0)
    e = m.pulse_energy(before, after, 3.0, 1e-6, 300.0)
    dp = after["polarization"] - before["polarization"]
    g_mid = 0.5 * (m.conductance(before, 0.0) + m.conductance(after, 0.0))
    assert e == pytest.approx(9.0 * g_mid * 1e-6 + m.params["area"] * np.abs(dp) * 3.0, rel=1e-12)


def test_fit_two_amplitudes_predicts_a_third():
    truth = get_model("ftj.chanthbouala2012_bto")
    amps = np.array([np.r_[np.full(30, a), np.full(30, -a)] for a in (2.2, 2.8)])
    rng = np.random.default_rng(5)
    g = run_trains(truth, amps) * (1 + 0.01 * rng.standard_normal(amps.shape))
    data = make_measurement(g, amplitude=amps, width=20e-9, v_read=0.1, source="synthetic FTJ")
    start = truth.with_params(dphi=0.12 * EV, tau0=3e-9, Ea=2.2e9)
    r = fit(start, data, vary=["dphi", "tau0", "Ea"], initial="model")
    assert r.converged, r.status
    for k in ("dphi", "tau0", "Ea"):
        assert r.values[k] == pytest.approx(truth.params[k], rel=0.05), k
    third = np.r_[np.full(30, 2.5), np.full(30, -2.5)]
    pred, true = run_trains(r.model, third), run_trains(truth, third)
    assert np.max(np.abs(pred / true - 1)) < 0.03
