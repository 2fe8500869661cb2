"""VCM Stanford/PKU model: analytic limits, integration accuracy, physics trends."""

import numpy as np
import pytest
from scipy.integrate import solve_ivp

from devicelib import Q_, get_model
from devicelib.physics.vcm import StanfordPKU
from devicelib.units import k_B, q_e


def _reference(m, g0, v, width, t_amb):
    """solve_ivp reference for one device: gap and energy after a pulse.

    Integration stops when the gap reaches a bound (terminal event); the rest
    of the pulse is spent at the bound, where the current is constant.
    """
    p = {k: float(val) for k, val in m.params.items()}

    def rhs(t, y):
        rate, _ = StanfordPKU._rate(p, y[0], v, t_amb)
        return [rate, abs(v * StanfordPKU._current(p, y[0], v))]

    def at_min(t, y):
        return y[0] - p["g_min"]

    def at_max(t, y):
        return y[0] - p["g_max"]

    at_min.terminal = at_max.terminal = True
    sol = solve_ivp(rhs, (0, width), [g0, 0.0], method="LSODA", rtol=1e-10, atol=[1e-16, 1e-24],
                    events=[at_min, at_max])
    g, e = sol.y[0, -1], sol.y[1, -1]
    if sol.status == 1:  # hit a bound: stay there for the rest of the pulse
        g = p["g_min"] if sol.t_events[0].size else p["g_max"]
        e += abs(v * StanfordPKU._current(p, g, v)) * (width - sol.t[-1])
    return g, e


def test_constant_rate_limit_is_exact():
    # With no heating and no gap dependence of gamma, dg/dt is constant: dg = f * t_p.
    m = get_model("vcm.stanford_pku", R_th=0.0, beta=0.0, nu0=1e-3)
    st = {"gap": np.array([1.0e-9])}
    v, tp, T = 1.2, 1e-6, 300.0
    f = -1e-3 * np.exp(-0.6 * q_e / (k_B * T)) * np.sinh(16 * 0.25e-9 * q_e * v / (12e-9 * k_B * T))
    out = m.apply_pulse(st, v, tp, T)
    assert out["gap"][0] - 1.0e-9 == pytest.approx(f * tp, rel=1e-9)


@pytest.mark.parametrize("v", [0.8, 1.2, 1.6, -1.2, -2.0])
@pytest.mark.parametrize("width", [1e-9, 1e-7, 1e-5])
@pytest.mark.parametrize("t_amb", [250.0, 400.0])
def test_integration_error_below_stated_bound(v, width, t_amb):
    m = get_model("vcm.jiang2016_hfox")
    g_start = np.array([1.2e-9])
    out = m.apply_pulse({"gap": g_start}, v, width, t_amb)
    g_ref, e_ref = _reference(m, 1.2e-9, v, width, t_amb)
    dg, dg_ref = out["gap"][0] - 1.2e-9, g_ref - 1.2e-9
    # stated bound: relative error of the gap change below 1e-3 (absolute floor 1e-15 m)
    assert abs(dg - dg_ref) <= 1e-3 * abs(dg_ref) + 1e-15
    assert out["_energy"][0] == pytest.approx(e_ref, rel=2e-3)


def test_set_time_exponential_in_voltage_and_arrhenius_in_temperature():
    m = get_model("vcm.jiang2016_hfox", R_th=0.0)
    g = 1.0e-9
    r1 = abs(m.switching_rate(g, 1.2, 300.0))
    r2 = abs(m.switching_rate(g, 1.4, 300.0))
    gamma = 16 - 0.8 * 1.0**3
    # sinh >> 1: d ln(rate)/dV = gamma a0 q / (t_ox k T)
    slope = gamma * 0.25e-9 * q_e / (12e-9 * k_B * 300.0)
    assert np.log(r2 / r1) / 0.2 == pytest.approx(slope, rel=1e-3)
    # temperature enters through the Arrhenius factor and the field term kT
    def analytic(temp):
        kt = k_B * temp
        return 10.0 * np.exp(-0.6 * q_e / kt) * np.sinh(gamma * 0.25e-9 * q_e * 1.2 / (12e-9 * kt))

    assert abs(m.switching_rate(g, 1.2, 350.0)) / r1 == pytest.approx(analytic(350.0) / analytic(300.0), rel=1e-9)
    assert abs(m.switching_rate(g, 1.2, 350.0)) > 3 * r1


def test_set_and_reset_directions_and_bounds():
    m = get_model("vcm.jiang2016_hfox")
    st = m.initial_state(3)
    assert np.all(st["gap"] == pytest.approx(1.7e-9))
    st = m.apply_pulse(st, 2.0, 1e-6, 300.0)
    assert np.all(st["gap"] == pytest.approx(0.2e-9))  # full SET stops at g_min
    st2 = m.apply_pulse(st, -2.0, 1e-6, 300.0)
    assert np.all(st2["gap"] > 0.5e-9)  # RESET reopens the gap
    assert np.all(st2["peak_temperature"] > 300.0)  # Joule heating during the pulse


def test_conductance_formula_and_inverse():
    m = get_model("vcm.jiang2016_hfox")
    st = {"gap": np.array([0.5e-9, 1.0e-9])}
    expected = 1e-3 * np.exp(-st["gap"] / 0.25e-9) * np.sinh(0.1 / 0.25) / 0.1
    np.testing.assert_allclose(m.conductance(st, 0.1), expected, rtol=1e-12)
    np.testing.assert_allclose(m.conductance(st, 0.0), 1e-3 * np.exp(-st["gap"] / 0.25e-9) / 0.25, rtol=1e-12)
    back = m.state_from_conductance(expected, 0.1)
    np.testing.assert_allclose(back["gap"], st["gap"], rtol=1e-12)
    with pytest.raises(ValueError, match="positive"):
        m.state_from_conductance(np.array([0.0]), 0.1)


def test_per_device_parameters_broadcast():
    base = get_model("vcm.jiang2016_hfox")
    nu = np.array([1.0, 10.0, 100.0])
    m = base.with_params(nu0=nu)
    st = m.apply_pulse({"gap": np.full(3, 1.2e-9)}, 1.2, 1e-8, 300.0)
    single = [base.with_params(nu0=v).apply_pulse({"gap": np.array([1.2e-9])}, 1.2, 1e-8, 300.0)["gap"][0]
              for v in nu]
    np.testing.assert_allclose(st["gap"], single, rtol=1e-12)
    assert st["gap"][0] > st["gap"][1] > st["gap"][2]  # faster hopping closes the gap more


def test_amplitude_array_per_device_and_zero_amplitude_is_no_op():
    m = get_model("vcm.jiang2016_hfox")
    st = {"gap": np.full(2, 1.2e-9)}
    out = m.apply_pulse(st, np.array([0.0, 1.4]), Q_(10, "ns").m_as("s"), 300.0)
    assert out["gap"][0] == 1.2e-9 and out["gap"][1] < 1.2e-9


def _train(m, gap0, v, width, n, t_amb=300.0):
    """Gap after each of n identical pulses and the peak temperatures (one device)."""
    st = {"gap": np.array([gap0]), "peak_temperature": np.array([t_amb])}
    gaps, temps = [gap0], []
    for _ in range(n):
        st = m.apply_pulse(st, v, width, t_amb)
        gaps.append(st["gap"][0])
        temps.append(st["peak_temperature"][0])
    return np.array(gaps), np.array(temps)


def test_gradual_reset_under_a_train_of_identical_pulses():
    # Jiang 2016 defaults, -1.2 V / 10 ns from full SET: gamma and the Joule temperature both fall as the
    # gap opens, so every step is smaller than the one before and the RESET takes ~160 pulses to 90 %.
    # The continuous law is tested: F_min = 0 (with F_min the RESET stops at the threshold gap, tested apart).
    m = get_model("vcm.jiang2016_hfox", F_min=0.0)
    gaps, temps = _train(m, 0.2e-9, -1.2, 10e-9, 300)
    steps = np.diff(gaps)
    assert np.all(steps > 0) and np.all(np.diff(steps) < 0)
    # the rate falls monotonically with the gap, so the first step lies between the rates at its two ends
    r_start, r_end = (abs(float(m.switching_rate(g, -1.2))) for g in gaps[:2])
    assert r_end * 10e-9 < steps[0] < r_start * 10e-9
    assert steps[0] == pytest.approx(7.70e-11, rel=0.01) and steps[-1] < 1e-2 * steps[0]
    k90 = int(np.argmax(gaps - gaps[0] >= 0.9 * (gaps[-1] - gaps[0])))
    assert 100 < k90 < 250
    assert gaps[-1] < 1.7e-9  # still short of g_max: a partial, analog RESET
    assert np.all(np.diff(temps) < 0)  # the filament cools as it thins


def test_thermal_runaway_accelerates_set_and_is_bounded():
    m = get_model("vcm.jiang2016_hfox", F_min=0.0)  # the continuous law (no field threshold)
    cold = get_model("vcm.jiang2016_hfox", R_th=0.0, F_min=0.0)
    v, width = 1.3, 10e-9
    gaps, temps = _train(m, 1.7e-9, v, width, 400)
    gaps_cold, _ = _train(cold, 1.7e-9, v, width, 400)
    # positive feedback: SET steps grow as the gap closes, faster with Joule heating than without
    steps = -np.diff(gaps)
    live = gaps[1:] > 0.2e-9 * (1 + 1e-9)
    assert np.all(np.diff(steps[live][:-1]) > 0)
    n_hot = int(np.argmax(gaps <= 0.2e-9 * (1 + 1e-9)))
    n_cold = int(np.argmax(gaps_cold <= 0.2e-9 * (1 + 1e-9))) or 10**6
    assert 0 < n_hot < n_cold
    # bounded: the gap stops at g_min and the filament never exceeds the full-SET temperature
    p = {k: float(val) for k, val in m.params.items()}
    t_bound = 300.0 + abs(v * StanfordPKU._current(p, p["g_min"], v)) * p["R_th"]  # 300 K + 185 K at 1.3 V
    assert gaps.min() >= 0.2e-9 * (1 - 1e-12)
    assert temps.max() <= t_bound * (1 + 1e-9)
    assert temps[-1] == pytest.approx(t_bound, rel=1e-9)
    assert t_bound == pytest.approx(300.0 + 1.3 * 1e-3 * np.exp(-0.8) * np.sinh(1.3 / 0.25) * 2100, rel=1e-12)


def test_replay_fast_path_equals_pulse_by_pulse():
    # simulate.replay dispatches to the compiled whole-trace kernel; it must match apply_pulse step by step
    from devicelib.simulate import replay

    m = get_model("vcm.jiang2016_hfox")
    rng = np.random.default_rng(3)
    n, npulse = 4, 60
    amp = rng.choice([1.1, 1.3, -1.2, -1.5, 0.0], size=(n, npulse))
    width = rng.choice([1e-9, 1e-8], size=(n, npulse))
    temp = np.full((n, npulse), 320.0)
    st = m.initial_state(n)
    fast = replay(m, st, amp, width, np.zeros((n, npulse)), temp, 0.1)
    slow = np.empty((n, npulse))
    for k in range(npulse):
        st = m.apply_pulse(st, amp[:, k], width[:, k], temp[:, k])
        slow[:, k] = m.conductance(st, 0.1)
    np.testing.assert_allclose(fast, slow, rtol=1e-12)


def test_stanford_1t1r_set_card_predicts_the_held_out_widths(shared_data, repo_root):
    """The 1T1R card fitted to the SET map (20/100/400 ns) predicts the 40/200 ns columns it never saw."""
    import importlib.util

    from devicelib.catalog import load_card
    from devicelib.circuit import transistor_saturation_current

    spec = importlib.util.spec_from_file_location(
        "fit_1t1r", repo_root / "docs" / "scripts" / "fit_stanford_1t1r_set.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    data = mod.read_map(shared_data / "stanford-1t1r-pulse-sweeps" / "set_sweep.tsv")
    assert data["width"].size == 900 and data["cells"].sum() == 23408
    card = load_card(repo_root / "models" / "vcm" / "stanford1t1r_set_fit.toml")
    assert card.kind == "fitted" and card.fit["holdout"]["ndata"] == 360
    model = card.model()
    held = ~np.isin(np.round(data["width"] * 1e9), [20, 100, 400])
    pred = mod.predict(model, data, held)
    rmse = np.sqrt(np.mean(np.log10(pred / data["r_after"][held]) ** 2))
    assert rmse == pytest.approx(card.fit["holdout"]["rmse"]["value"], rel=1e-3)
    assert rmse < 0.08  # 20 % in R on conditions held out of the fit
    # the gate sets the compliance: at 3 V on the bit line the SET resistance falls with V_WL as on the chip
    s = held & np.isclose(data["v_bl"], 3.0) & np.isclose(data["width"], 2e-7)
    order = np.argsort(data["v_wl"][s])
    r_model, r_chip = pred[s[held]][order], data["r_after"][s][order]
    assert r_model[0] > 5 * r_model[-1] and r_chip[0] > 5 * r_chip[-1]
    # and the current through the cell never exceeds the transistor's saturation current
    p = {k: float(v) for k, v in model.params.items()}
    i_sat = transistor_saturation_current(3.4, p["V_th_T"], p["k_T"])
    assert 50e-6 < i_sat < 20e-3  # fitted: ~10 mA at V_WL 3.4 V, 0.13 mA at 0.5 V
    # read noise from 10,000 consecutive reads of one cell (ret1.csv): 1.7 % relative
    noise = mod.read_noise(shared_data / "stanford-nirram-endurance" / "ret1.csv")
    assert noise["n"] == 10000 and noise["r_mean"] == pytest.approx(10.76e3, rel=1e-3)
    assert card.variability.read == pytest.approx(noise["rel"], rel=1e-3) and 0.01 < noise["rel"] < 0.03
