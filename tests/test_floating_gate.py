"""Floating-gate cell (floating_gate.fn_cell): FN constants, exact tunnelling update, dV_T = -Q/C_cg,
subthreshold read, Arrhenius retention, and a fit at two amplitudes predicting a third."""

import numpy as np
import pytest
from scipy.integrate import solve_ivp

from devicelib import get_model
from devicelib.fit import fit
from devicelib.measurement import make_measurement
from devicelib.physics.floating_gate import FloatingGate, fn_constants, fn_current_density
from devicelib.units import k_B, q_e

YEAR = 3.156e7


def run_trains(model, amplitude, width=10e-6, v_read=0.1):
    amplitude = np.atleast_2d(amplitude)
    st = model.initial_state(amplitude.shape[0])
    g = np.empty(amplitude.shape)
    for k in range(amplitude.shape[1]):
        st = model.apply_pulse(st, amplitude[:, k], width, 300.0)
        g[:, k] = model.conductance(st, v_read)
    return g


def test_fowler_nordheim_constants_of_si_sio2():
    a, b = fn_constants(3.2 * q_e, 0.42)
    assert b == pytest.approx(2.54e10, rel=0.005)  # 254 MV/cm (Lenzlinger & Snow)
    assert a == pytest.approx(1.15e-6, rel=0.01)  # q^3 / (8 pi h phi_b) m0/m_ox
    # J at 10 MV/cm: A E^2 exp(-B/E) = 1.15e-6 * 1e18 * exp(-25.4) ~ 1e-5 A/cm^2 order
    assert fn_current_density(1e9, 3.2 * q_e, 0.42) == pytest.approx(a * 1e18 * np.exp(-b / 1e9))
    assert fn_current_density(-1e9, 3.2 * q_e, 0.42) == pytest.approx(-a * 1e18 * np.exp(-b / 1e9))


def test_pulse_update_is_the_exact_solution_of_the_tunnelling_ode():
    m = get_model("floating_gate.diorio1996_fg_synapse")
    p = m.params
    ct = m.c_total()

    def rhs(_t, q, v):
        e = (p["C_cg"] * v + q[0]) / (ct * p["t_tun"])
        return [-p["A_tun"] * fn_current_density(e, p["phi_b"], p["m_ox"])]

    for v, q0, t in ((13.0, 0.0, 1e-4), (-14.0, -2e-16, 1e-3), (15.0, 1e-16, 1e-2)):
        sol = solve_ivp(rhs, (0, t), [q0], args=(v,), method="LSODA", rtol=1e-10, atol=1e-24)
        q1 = m.apply_pulse({"charge": np.array([q0])}, v, t, 300.0)["charge"][0]
        assert q1 == pytest.approx(sol.y[0, -1], rel=1e-6)


def test_program_erase_threshold_shift_and_subthreshold_read():
    m = get_model("floating_gate.diorio1996_fg_synapse")
    st = m.apply_pulse(m.initial_state(1), 13.0, 1e-3, 300.0)
    q = st["charge"][0]
    assert q < 0  # electrons injected
    assert m.threshold_voltage(st)[0] == pytest.approx(1.0 - q / 1e-15, rel=1e-12)  # dV_T = -Q/C_cg
    assert m.observe(st)["electrons"][0] == pytest.approx(-q / q_e)
    # deep subthreshold: one decade of read current per n v_t ln 10 (= 89.3 mV at n = 1.5, 300 K)
    vt_dec = 1.5 * k_B * 300.0 / q_e * np.log(10)
    st2 = {"charge": st["charge"] - vt_dec * 1e-15}
    assert m.conductance(st, 0.1) / m.conductance(st2, 0.1) == pytest.approx(10.0, rel=1e-3)
    # above threshold the EKV square law: G(x=20)/G(x=10) -> (20/10)^2 within the ln(1+e^-x/2) correction
    nvt = 1.5 * k_B * 300.0 / q_e
    hi = [m.conductance({"charge": np.array([(0.2 + k * nvt) * 1e-15])}, 0.1)[0] for k in (10, 20)]
    assert hi[1] / hi[0] == pytest.approx(4.0, rel=0.02)
    # programming (positive gate) depresses, erasing potentiates, and FN self-limits: steps shrink
    g = run_trains(m, np.r_[np.full(40, 13.0), np.full(40, -13.0)])[0]
    assert np.all(np.diff(g[:40]) < 0) and np.all(np.diff(g[40:]) > 0)
    dvt = -np.diff(np.log(g[:40]))
    assert dvt[-1] < 0.8 * dvt[0]
    assert m.state_from_conductance(m.conductance(st, 0.1), 0.1)["charge"] == pytest.approx(st["charge"], rel=1e-9)


def test_retention_is_arrhenius_charge_loss():
    m = get_model("floating_gate.diorio1996_fg_synapse")
    st = {"charge": np.array([-3e-16])}  # 0.3 V shift, field in the oxide far below FN leakage
    tau85 = m.retention_time(358.15)
    assert tau85 == pytest.approx(1e-7 * np.exp(1.1 * q_e / (k_B * 358.15)))
    assert 5 * YEAR < tau85 < 20 * YEAR  # the card's basis: ~10 years at 85 C
    out = m.relax(st, tau85, 358.15)["charge"][0]
    assert out == pytest.approx(-3e-16 * np.exp(-1), rel=1e-6)
    # at 300 K the same time loses < 0.1 % (Arrhenius factor exp(1.1 eV (1/kT300 - 1/kT358)) ~ 900)
    assert m.relax(st, tau85, 300.0)["charge"][0] == pytest.approx(-3e-16, rel=2e-3)
    assert FloatingGate.volatile


def test_fit_two_amplitudes_predicts_a_third():
    """Tunnelling area (dynamics) and neutral threshold (read) from trains at 12.5 and 13.5 V; prediction at
    14 V. The FN barrier alone is recovered when the area is known; area and barrier together are
    degenerate over a programming window (the slope and intercept of an FN plot over a narrow 1/E range)
    and the fit says so."""
    truth = get_model("floating_gate.diorio1996_fg_synapse")
    amps = np.array([np.r_[np.full(30, a), np.full(30, -a)] for a in (12.5, 13.5)])
    rng = np.random.default_rng(7)
    g = run_trains(truth, amps) * (1 + 0.01 * rng.standard_normal(amps.shape))
    data = make_measurement(g, amplitude=amps, width=10e-6, v_read=0.1, source="synthetic floating gate")
    r = fit(truth.with_params(A_tun=3e-13, V_T0=1.2), data, vary=["A_tun", "V_T0"], initial="model",
            sigma="1%")  # the synthetic noise is proportional (the read spans decades)
    assert r.converged, r.status
    assert r.values["A_tun"] == pytest.approx(truth.params["A_tun"], rel=0.02)
    assert r.values["V_T0"] == pytest.approx(1.0, abs=2e-3)
    third = np.r_[np.full(30, 14.0), np.full(30, -14.0)]
    pred, true = run_trains(r.model, third), run_trains(truth, third)
    # in threshold voltage (the read is exponential in V_T: 1 mV = 2.6 % of current): within 4 mV
    nvt = 1.5 * k_B * 300.0 / q_e
    assert np.max(np.abs(np.log(pred / true))) * nvt < 4e-3
    rb = fit(truth.with_params(phi_b=3.0 * q_e), data, vary=["phi_b"], initial="model", sigma="1%")
    assert rb.converged, rb.status
    assert rb.values["phi_b"] == pytest.approx(3.2 * q_e, rel=2e-3)
    both = fit(truth.with_params(A_tun=3e-13, phi_b=3.0 * q_e), data, vary=["A_tun", "phi_b"], initial="model",
               sigma="1%")
    assert not both.converged and "A_tun/phi_b" in both.status
