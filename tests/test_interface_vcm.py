"""Interface-type VCM (vcm.interface): area scaling, exact kinetics, gradual amplitude- and width-dependent
updates, read inversion, and a fit to pulse trains at two amplitudes that predicts a third."""

import numpy as np
import pytest
from scipy.integrate import solve_ivp

from devicelib import get_model
from devicelib.fit import fit
from devicelib.measurement import make_measurement
from devicelib.physics.interface_vcm import InterfaceVCM
from devicelib.units import k_B, q_e


def run_trains(model, amplitude, width=1e-6, temperature=300.0, v_read=0.1):
    """Conductance after every pulse of (trace, pulse) amplitude trains, from the initial state."""
    amplitude = np.atleast_2d(amplitude)
    st = model.initial_state(amplitude.shape[0])
    g = np.empty(amplitude.shape)
    for k in range(amplitude.shape[1]):
        st = model.apply_pulse(st, amplitude[:, k], width, temperature)
        g[:, k] = model.conductance(st, v_read)
    return g


def updown(levels, n=40):
    return np.array([np.r_[np.full(n, a), np.full(n, -a)] for a in levels])


def test_current_and_conductance_scale_with_area():
    m1 = InterfaceVCM()
    m4 = InterfaceVCM(area=4 * m1.params["area"], r_s=m1.params["r_s"])
    st = {"vacancy_fraction": np.linspace(0, 1, 7)}
    for v in (0.0, 0.1, -0.2):
        assert m4.conductance(st, v) == pytest.approx(4 * m1.conductance(st, v), rel=1e-9)
    assert m4.current(st, 2.0) == pytest.approx(4 * m1.current(st, 2.0), rel=1e-9)


def test_read_is_thermionic_and_rectifying():
    m = InterfaceVCM(r_s=1e-14)  # series resistance negligible at the read
    p = m.params
    st = {"vacancy_fraction": np.array([0.0, 1.0])}
    i_s = p["area"] * p["A_star"] * 300.0**2 * np.exp(-np.array([p["phi_hrs"], p["phi_lrs"]]) / (k_B * 300.0))
    nvt = p["n_id"] * k_B * 300.0 / q_e
    assert m.current(st, 0.1) == pytest.approx(i_s * np.expm1(0.1 / nvt), rel=1e-6)
    assert m.current(st, -0.5) == pytest.approx(-i_s * -np.expm1(-0.5 / nvt), rel=1e-6)
    # window: exp((phi_hrs - phi_lrs)/kT) = exp(0.2 eV / 25.85 meV) = 2290 in the small-signal conductance
    ratio = m.conductance({"vacancy_fraction": np.array([1.0])}, 0.0) / m.conductance(
        {"vacancy_fraction": np.array([0.0])}, 0.0)
    assert ratio[0] == pytest.approx(np.exp(0.2 * q_e / (k_B * 300.0)), rel=1e-6)


def test_pulse_update_matches_the_ode():
    m = get_model("vcm.sawa_nbsto_interface")
    p = m.params
    for v, w0 in ((2.5, 0.2), (-2.5, 0.8), (3.2, 0.0)):
        def rhs(_t, w, v=v):
            r = m.rate(v, 300.0)
            return [r * (1 - w[0]) if v > 0 else r * w[0]]
        sol = solve_ivp(rhs, (0, 5e-6), [w0], rtol=1e-10, atol=1e-13)
        out = m.apply_pulse({"vacancy_fraction": np.array([w0])}, v, 5e-6, 300.0)["vacancy_fraction"][0]
        assert out == pytest.approx(sol.y[0, -1], rel=1e-7, abs=1e-12)
    # Mott-Gurney field factor: sinh(z q a V / (2 d kT))
    arg = p["z"] * q_e * p["a_hop"] * 2.0 / (2 * p["d_int"] * k_B * 300.0)
    assert m.rate(2.0, 300.0) == pytest.approx(p["nu_set"] * np.exp(-p["Ea"] / (k_B * 300.0)) * np.sinh(arg))


def test_update_is_gradual_and_depends_on_amplitude_and_width():
    m = get_model("vcm.sawa_nbsto_interface")
    g = run_trains(m, np.array([[2.0] * 50, [2.5] * 50, [3.0] * 50]))
    logg = np.log(np.c_[np.full(3, m.conductance(m.initial_state(1), 0.1)[0]), g])
    steps = np.diff(logg, axis=1)
    assert np.all(steps > 0)
    # gradual: no single pulse does more than 15 % of the change of 50 pulses at the operating amplitude
    assert steps[1].max() / steps[1].sum() < 0.15
    # amplitude dependence is smooth and monotone: total change 2.0 V < 2.5 V < 3.0 V
    total = logg[:, -1] - logg[:, 0]
    assert total[0] < total[1] < total[2]
    # width: one 2 us pulse = two 1 us pulses (first-order kinetics at constant rate, exact)
    one = m.apply_pulse({"vacancy_fraction": np.array([0.3])}, 2.5, 2e-6, 300.0)["vacancy_fraction"]
    two = m.apply_pulse(m.apply_pulse({"vacancy_fraction": np.array([0.3])}, 2.5, 1e-6, 300.0),
                        2.5, 1e-6, 300.0)["vacancy_fraction"]
    assert one == pytest.approx(two, rel=1e-12)
    # both directions: RESET pulses lower the conductance gradually
    g_down = run_trains(m, updown([2.5]))[0, 40:]
    assert np.all(np.diff(g_down) < 0)


def test_state_from_conductance_inverts_the_read():
    m = get_model("vcm.sawa_nbsto_interface")
    w = np.linspace(0, 1, 11)
    for v in (0.0, 0.1, -0.1):
        back = m.state_from_conductance(m.conductance({"vacancy_fraction": w}, v), v)["vacancy_fraction"]
        assert back == pytest.approx(w, abs=1e-9)


def test_fit_two_amplitudes_predicts_a_third():
    truth = get_model("vcm.sawa_nbsto_interface")
    rng = np.random.default_rng(3)
    amps = updown([2.0, 2.6])
    g = run_trains(truth, amps) * (1 + 0.01 * rng.standard_normal(amps.shape))
    data = make_measurement(g, amplitude=amps, width=1e-6, v_read=0.1, source="synthetic interface VCM")
    start = truth.with_params(nu_set=3 * truth.params["nu_set"], nu_reset=0.3 * truth.params["nu_reset"],
                              a_hop=0.3e-9)
    r = fit(start, data, vary=["nu_set", "nu_reset", "a_hop"], initial="model")
    assert r.converged, r.status
    for k in ("nu_set", "nu_reset", "a_hop"):
        assert r.values[k] == pytest.approx(truth.params[k], rel=0.05), k
    # prediction at 3.0 V (not in the fit): within 3 % of the truth at every pulse
    third = updown([3.0])
    pred, true = run_trains(r.model, third), run_trains(truth, third)
    assert np.max(np.abs(pred / true - 1)) < 0.03
