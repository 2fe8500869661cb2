"""Mott / MIT family: VO2 / NbO2 electrothermal threshold switch and the nickelate synapse."""

from pathlib import Path

import numpy as np
import pytest
from scipy.integrate import quad, solve_ivp

from devicelib import get_model
from devicelib.catalog import load_card
from devicelib.physics.mott import Nickelate, ThermalSwitch
from devicelib.pulses import identical
from devicelib.simulate import simulate
from devicelib.units import k_B, q_e

CARDS = Path(__file__).resolve().parents[1] / "models" / "mott"


def _ode_reference(m, v, width, t0=300.0):
    """solve_ivp of C dT/dt = V^2 R/(R+R_s)^2 - S_e (T - T0) along the heating branch from T0, g = 1."""
    p = m.params

    def rhs(_, y):
        t = y[0]
        g = min(1.0, ThermalSwitch._branch(p, t, 1.0))
        r = p["R0"] * np.exp(p["Ea"] / (k_B * t)) * g + p["R_m"]
        power = v**2 * r / (r + p["R_s"]) ** 2
        return [(power - p["S_e"] * (t - t0)) / p["C_th"], power]

    sol = solve_ivp(rhs, (0, width), [t0, 0.0], rtol=1e-10, atol=[1e-9, 1e-22], method="LSODA")
    return sol.y[0, -1], sol.y[1, -1]


@pytest.mark.parametrize("v,width", [(10.0, 1e-6), (17.0, 2e-6), (25.0, 3e-7), (16.6, 5e-6)])
def test_pulse_integration_matches_solve_ivp(v, width):
    m = ThermalSwitch()
    st = {"device_temperature": np.array([300.0]), "insulating_fraction": np.array([1.0])}
    new = m.apply_pulse(st, v, width, 300.0)
    t_ref, e_ref = _ode_reference(m, v, width)
    assert new["device_temperature"][0] == pytest.approx(t_ref, abs=0.05)
    assert new["_energy"][0] == pytest.approx(e_ref, rel=5e-3)


def test_threshold_voltage_from_thermal_balance():
    m = ThermalSwitch()  # VO2 defaults (physics notes section 6)
    v_exact = m.threshold_voltage()
    # the textbook estimate sqrt((Tc - T0) R_ins / R_th), R_th = 1/S_e, within 15 %
    tc = m.params["Tc"]
    r_ins = m.resistance({"device_temperature": tc, "insulating_fraction": ThermalSwitch._branch(m.params, tc, 1.0)})
    v_est = np.sqrt((tc - 300.0) * r_ins * m.params["S_e"])
    assert v_est == pytest.approx(m.threshold_estimate())
    assert v_exact == pytest.approx(v_est, rel=0.15)
    # the simulated device switches (g < 0.5 after 40 tau) just above the exact threshold, not just below
    st = m.initial_state(2)
    out = m.apply_pulse(st, np.array([0.99 * v_exact, 1.01 * v_exact]), 40 * m.tau_th(), 300.0)
    assert out["insulating_fraction"][0] > 0.9
    assert out["insulating_fraction"][1] < 0.1
    assert 16.0 < v_exact < 17.0  # 16.5 V for the VO2 values


def test_relaxation_time_constant_and_read_after_delay():
    m = ThermalSwitch()
    tau = m.tau_th()
    assert tau == pytest.approx(4.96e-11 / 2.06e-4)
    assert tau == pytest.approx(0.24e-6, rel=0.01)  # stated ~0.24 us
    st = m.apply_pulse(m.initial_state(1), 20.0, 2e-6, 300.0)
    assert st["insulating_fraction"][0] < 1e-3  # metallic
    g_on = m.conductance(st, 0.1)[0]
    delays = np.array([0.1, 0.5, 1.0, 2.0, 5.0]) * tau
    temps = np.array([m.relax(st, d, 300.0)["device_temperature"][0] for d in delays])
    slope = np.polyfit(delays, np.log(temps - 300.0), 1)[0]
    assert -1 / slope == pytest.approx(tau, rel=1e-9)
    # read after a delay: still metallic shortly after, insulating again after ~20 tau
    assert m.conductance(m.relax(st, 0.1 * tau, 300.0), 0.1)[0] == pytest.approx(g_on, rel=0.05)
    late = m.relax(st, 20 * tau, 300.0)
    assert late["insulating_fraction"][0] > 0.99
    assert m.conductance(late, 0.1)[0] < 0.05 * g_on
    # the runner applies relax during intervals: the read after a delay matches
    ds = simulate(m, identical(1, 20.0, 2e-6, interval=20 * tau), 1, v_read=0.1)
    assert ds.conductance.values[0, 0] == pytest.approx(m.conductance(late, 0.1)[0], rel=1e-9)


def test_hysteresis_width():
    m = ThermalSwitch()
    st = m.initial_state(1)
    temps_up = np.arange(300.0, 360.0, 0.05)
    g_up, g_dn = [], []
    for t in temps_up:  # quasi-static heating: relax for 50 tau at each ambient temperature
        st = m.relax(st, 50 * m.tau_th(), t)
        g_up.append(st["insulating_fraction"][0])
    for t in temps_up[::-1]:
        st = m.relax(st, 50 * m.tau_th(), t)
        g_dn.append(st["insulating_fraction"][0])
    t_up = np.interp(0.5, np.array(g_up)[::-1], temps_up[::-1])
    t_dn = np.interp(0.5, np.array(g_dn), temps_up[::-1])
    assert t_up - t_dn == pytest.approx(7.19, abs=0.05)
    assert 0.5 * (t_up + t_dn) == pytest.approx(332.8, abs=0.05)
    # minor loop: reverse inside the loop, g stays between the major branches and is held
    st = m.initial_state(1)
    st = m.relax(st, 50 * m.tau_th(), 335.0)
    g_mid = st["insulating_fraction"][0]
    st2 = m.relax(st, 50 * m.tau_th(), 331.0)
    assert st2["insulating_fraction"][0] == pytest.approx(g_mid)
    assert 0.05 < g_mid < 0.95


def test_nbo2_card_against_stated_values():
    card = load_card(CARDS / "pickett2012_nbo2.toml")
    m = card.model()
    assert m.params["Tc"] == pytest.approx(1080.0)
    assert m.params["R_s"] == pytest.approx(1e3)  # the load resistor (estimate) that keeps it below melting
    v = card.operating_value("amplitude")  # 1.5 V through the 1 kOhm load: fires at 0.24 ns with 70 fJ
    widths = np.logspace(-12, -9, 400)  # one device per pulse width, all in one vectorised call
    out = m.apply_pulse(m.initial_state(widths.size), v, widths, 300.0)
    switched = out["insulating_fraction"] < 0.5
    assert switched[-1]  # switches within 1 ns
    k = int(np.argmax(switched))
    assert k > 0 and np.all(switched[k:])
    t_switch = widths[k]
    e_switch = out["_energy"][k - 1]  # energy delivered up to the switching event
    assert t_switch < 1e-9  # "sub-nanosecond"
    assert e_switch < 100e-15  # "sub-100 fJ"
    assert out["_peak_temperature"].max() < 1450.0  # metallic steady state ~1425 K, below NbO2 melting (~2190 K)
    assert m.volatile


def test_vo2_card_loads_and_matches_notes():
    card = load_card(CARDS / "qiu2024_vo2.toml")
    m = card.model()
    assert m.params["Ea"] / k_B == pytest.approx(5220.0, rel=1e-6)
    assert m.tau_th() == pytest.approx(2.408e-7, rel=1e-3)
    assert get_model("mott.qiu2024_vo2").params["Tc"] == pytest.approx(332.8)
    assert card.provenance["doi"] == "10.1002/adma.202306818"


# -- nickelate ------------------------------------------------------------------

def test_nickelate_closed_form_and_log_linear_resistivity():
    m = Nickelate()
    st = m.initial_state(1)
    r = m.rate(2.0, 300.0)
    new = m.apply_pulse(st, 2.0, 1e-3, 300.0)
    assert new["proton_concentration"][0] == pytest.approx(1.0 - np.exp(-r * 1e-3), rel=1e-12)
    # N pulses = one pulse of N t (linear ODE at fixed V)
    x = st
    for _ in range(10):
        x = m.apply_pulse(x, 2.0, 1e-4, 300.0)
    assert x["proton_concentration"][0] == pytest.approx(new["proton_concentration"][0], rel=1e-12)
    # log(rho) linear in x_H with slope kappa
    xs = np.array([0.0, 0.1, 0.2, 0.4])
    rho = m.observe({"proton_concentration": xs})["resistivity"]
    assert np.diff(np.log(rho)) / np.diff(xs) == pytest.approx(np.full(3, 18.0))
    # Arrhenius: rate ratio between 350 K and 300 K (small-field sinh ~ linear in 1/T)
    ratio = m.rate(0.05, 350.0) / m.rate(0.05, 300.0)
    expect = np.exp(-0.5 * q_e / k_B * (1 / 350 - 1 / 300)) * (300 / 350)
    assert ratio == pytest.approx(expect, rel=1e-3)
    # depression pulse removes protons: x exp(-r t)
    back = m.apply_pulse(new, -2.0, 1e-3, 300.0)
    assert back["proton_concentration"][0] == pytest.approx(new["proton_concentration"][0] * np.exp(-r * 1e-3))


def test_nickelate_energy_quadrature():
    m = Nickelate()
    st = {"proton_concentration": np.array([0.1])}
    v, tp = 1.5, 2e-3
    new = m.apply_pulse(st, v, tp, 300.0)
    r = m.rate(v)

    def power(t):
        x = 1.0 - 0.9 * np.exp(-r * t)
        return v**2 / (m.params["rho0"] * np.exp(m.params["kappa"] * x) * m.params["geometry"])

    ref, _ = quad(power, 0, tp, epsabs=0, epsrel=1e-12, limit=200)
    assert new["_energy"][0] == pytest.approx(ref, rel=1e-6)


def test_nickelate_card_and_state_inversion():
    card = load_card(CARDS / "zhang2022_nickelate.toml")
    m = card.model()
    x = np.array([0.0, 0.2, 0.5])
    g = m.conductance({"proton_concentration": x}, 0.1)
    assert m.state_from_conductance(g, 0.1)["proton_concentration"] == pytest.approx(x)
    assert card.provenance["doi"] == "10.1126/science.abj7943"


def test_nickelate_parameter_recovery():
    from devicelib.fit import fit
    from devicelib.measurement import from_simulation

    truth = Nickelate(Ea=0.52 * q_e, kappa=15.0)
    train = identical(20, 2.0, 2e-4) + identical(20, -2.0, 2e-4)
    temps = [300.0, 330.0]
    parts = []
    from devicelib.measurement import concat_traces

    for t in temps:
        tr = identical(20, 2.0, 2e-4, temperature=t) + identical(20, -2.0, 2e-4, temperature=t)
        parts.append(from_simulation(simulate(truth, tr, 1, v_read=0.1, seed=1), label_prefix=f"T{t:.0f}"))
    assert len(train) == 40
    meas = concat_traces(parts)
    start = Nickelate(Ea=0.45 * q_e, kappa=12.0)
    res = fit(start, meas, vary=["Ea", "kappa"], sigma=1e-9)
    assert res.values["Ea"] == pytest.approx(0.52 * q_e, rel=1e-3)
    assert res.values["kappa"] == pytest.approx(15.0, rel=1e-3)


# -- DC sweep and the VO2 card fitted to a measured R(V) sweep ----------------------------------------------
def test_dc_sweep_matches_the_time_domain_steady_state():
    m = get_model("mott.qiu2024_vo2")  # 5 kOhm load
    v = np.array([5.0, 10.0, 15.0])
    dc = m.dc_sweep(v, 300.0)
    for k, vk in enumerate(v):  # below threshold: a pulse of 100 tau_th settles on the same fixed point
        st = m.apply_pulse(m.initial_state(1), vk, 100 * float(m.tau_th()), 300.0)
        assert st["device_temperature"][0] == pytest.approx(dc["temperature"][k], abs=0.05)
    # rising to 25 V fires the device; falling back it stays metallic down to well below the firing voltage
    up = np.linspace(0.1, 25.0, 250)
    sweep = m.dc_sweep(np.r_[up, up[::-1]], 300.0)
    r = sweep["resistance"]
    k_fire = int(np.argmax(r[:250] < 2e3))
    k_off = 250 + int(np.argmax(r[250:] > 2e3))
    assert 0 < k_fire < 249 and up[::-1][k_off - 250] < up[k_fire]  # hysteresis of the electrothermal loop


def test_vo2_card_fitted_to_the_dc_sweep(shared_data):
    import importlib.util

    root = Path(__file__).resolve().parents[1]
    spec = importlib.util.spec_from_file_location("fit_vo2_rv", root / "docs" / "scripts" / "fit_vo2_rv.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    v, r = mod.read_sweep(shared_data / "vo2-threshold-pulses" / "VO2_data_RvsV_transition.csv")
    assert v.size == 419 and v.max() == pytest.approx(21.0, abs=1e-3)
    card = load_card(CARDS / "galloni2024_vo2_rv_fit.toml")
    assert card.kind == "fitted" and card.fit["holdout"]["ndata"] == 209
    m = card.model()
    pred = m.dc_sweep(v, card.operating_value("temperature"))["resistance"]
    top = int(np.argmax(v))
    rmse_up = np.sqrt(np.mean(np.log10(pred[:top + 1] / r[:top + 1]) ** 2))
    rmse_dn = np.sqrt(np.mean(np.log10(pred[top + 1:] / r[top + 1:]) ** 2))
    # the card's stated statistics are what the card gives on the data
    assert rmse_up == pytest.approx(card.fit["rmse"]["value"], rel=1e-3) and rmse_up < 0.05  # 8 % in R
    assert rmse_dn == pytest.approx(card.fit["holdout"]["rmse"]["value"], rel=1e-3) and rmse_dn < 0.3
    # fires where the device fires (17.7 V), and the metallic resistance is the measured ~220 Ohm
    fire = lambda rr: v[: top + 1][np.argmax(rr[: top + 1] < 1e3)]  # noqa: E731
    assert fire(pred) == pytest.approx(fire(r), abs=0.15)
    assert m.params["R_m"] == pytest.approx(np.median(r[top - 20:top + 1]), rel=0.05)
    # the current never exceeds the SMU limit that the card carries as its compliance
    assert m.params["I_cc"] == pytest.approx(0.1)
    assert np.all(m.dc_sweep(v, 300.0)["current"] <= 0.1 + 1e-12)
