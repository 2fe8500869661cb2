"""Circuit elements (devicelib.circuit): divider solutions against closed forms, and the compliance they
give VCM and Mott devices."""

import numpy as np
import pytest

from devicelib import get_model
from devicelib.circuit import (
    series_drop,
    solve_divider,
    transistor_current,
    transistor_saturation_current,
)
from devicelib.physics.vcm import StanfordPKU


def test_series_resistance_is_the_ohmic_divider():
    r_dev = np.array([1e3, 1e4, 1e5, 1e6])
    va = np.array([1.0, -2.0, 0.5, 3.0])
    vd, i = solve_divider(va, lambda v: v / r_dev, R_s=1e4)
    np.testing.assert_allclose(vd, va * r_dev / (r_dev + 1e4), rtol=1e-12)
    np.testing.assert_allclose(i, va / (r_dev + 1e4), rtol=1e-12)


def test_compliance_limits_the_current_and_leaves_smaller_currents_alone():
    r_dev = np.array([100.0, 1e4])  # 10 mA and 0.1 mA at 1 V
    vd, i = solve_divider(np.array([1.0, 1.0]), lambda v: v / r_dev, I_cc=1e-3)
    assert i[0] == pytest.approx(1e-3, rel=1e-12) and vd[0] == pytest.approx(0.1, rel=1e-12)
    assert i[1] == pytest.approx(1e-4, rel=1e-12) and vd[1] == pytest.approx(1.0, rel=1e-12)


def test_square_law_transistor_saturation_and_triode():
    k, vth = 4e-4, 0.5
    # a 100 Ohm device at 2 V would draw 20 mA: the transistor saturates at k (V_G - V_th)^2 / 2
    for vg in (1.0, 1.3, 2.0):
        _, i = solve_divider(np.array([2.0]), lambda v: v / 100.0, V_g=vg, V_th=vth, k=k)
        assert i[0] == pytest.approx(0.5 * k * (vg - vth) ** 2, rel=1e-9)
        assert transistor_saturation_current(vg, vth, k) == pytest.approx(0.5 * k * (vg - vth) ** 2)
    # a 10 kOhm device: the transistor is in triode, and I = I_T(V_a - V_dev) = V_dev / R holds
    vd, i = solve_divider(np.array([1.0]), lambda v: v / 1e4, V_g=3.0, V_th=vth, k=k)
    assert float(transistor_current(1.0 - vd[0], 3.0, vth, k)) == pytest.approx(i[0], rel=1e-9)
    assert 1.0 - vd[0] < 3.0 - vth  # V_DS below V_ov: triode
    # gate below threshold: the transistor is off and the cell sees nothing
    vd, i = solve_divider(np.array([2.0]), lambda v: v / 1e3, V_g=0.4, V_th=vth, k=k)
    assert abs(vd[0]) < 1e-15 and abs(i[0]) < 1e-18


def test_reset_polarity_source_degeneration():
    # negative pulse: V_GS = V_G - |V_cell|, so the same gate passes less current than for SET
    k, vth, vg = 4e-4, 0.5, 2.0
    _, i_set = solve_divider(np.array([2.0]), lambda v: v / 2e3, V_g=vg, V_th=vth, k=k)
    vd, i_reset = solve_divider(np.array([-2.0]), lambda v: v / 2e3, V_g=vg, V_th=vth, k=k)
    assert vd[0] < 0 and i_reset[0] < 0
    assert abs(i_reset[0]) < 0.8 * i_set[0]
    # here the transistor saturates at V_GS = V_G - |V_cell|: V/R = k (V_G - V - V_th)^2 / 2, a quadratic in V
    a, b, c = 0.5 * k, -(k * (vg - vth) + 1 / 2e3), 0.5 * k * (vg - vth) ** 2
    v_exact = (-b - np.sqrt(b * b - 4 * a * c)) / (2 * a)
    assert abs(vd[0]) == pytest.approx(v_exact, rel=1e-9)
    # in triode (larger gate) the drop of the series elements closes the loop: |V_cell| + V_DS = |V_a|
    vd, i = solve_divider(np.array([-2.0]), lambda v: v / 2e3, V_g=5.0, V_th=vth, k=k)
    drop = series_drop(abs(i[0]), abs(vd[0]), True, 0.0, 0.0, 5.0, vth, k)
    assert abs(vd[0]) + drop == pytest.approx(2.0, rel=1e-9)


def test_compiled_vcm_divider_matches_numpy():
    m = get_model("vcm.jiang2016_hfox", R_s=2e3, k_T=4e-4, V_g=1.8)
    p = {k: float(v) for k, v in m.params.items()}
    gaps = np.linspace(0.2e-9, 1.7e-9, 7)
    for v in (1.5, -1.5):
        vd = StanfordPKU.cell_voltage(p, gaps, v)
        # the compiled kernel: a pulse too weak to move the gap returns its energy = V_cell I t at this gap
        out = m.with_params(nu0=1e-12).apply_pulse({"gap": gaps.copy()}, v, 1e-9, 300.0)
        e_ref = np.abs(vd * StanfordPKU._current(p, gaps, vd)) * 1e-9
        np.testing.assert_allclose(out["_energy"], e_ref, rtol=1e-9)


def test_vcm_compliance_bounds_the_set_and_the_gate_sets_the_resistance():
    # issue 11: vcm.jiang2016_hfox at +2 V for 1 us without a circuit: 0.67 A, 3100 K, 1.3 uJ
    bare = get_model("vcm.jiang2016_hfox")
    s = bare.apply_pulse(bare.initial_state(1), 2.0, 1e-6, 300.0)
    assert s["peak_temperature"][0] == pytest.approx(3113, rel=0.01)
    assert s["_energy"][0] == pytest.approx(1.34e-6, rel=0.02)
    # with a 1 mA source compliance: 1 mA through 1.09 V, 304 K, 1.13 nJ, LRS 9.6 kOhm at 0.1 V
    m = bare.with_params(I_cc=1e-3)
    s = m.apply_pulse(m.initial_state(1), 2.0, 1e-6, 300.0)
    p = {k: float(v) for k, v in m.params.items()}
    vd = StanfordPKU.cell_voltage(p, s["gap"], 2.0)
    assert float(m.current(s, vd)[0]) == pytest.approx(1e-3, rel=1e-9)
    assert s["peak_temperature"][0] < 305.0
    assert s["_energy"][0] == pytest.approx(1.13e-9, rel=0.02)
    assert 1 / m.conductance(s, 0.1)[0] == pytest.approx(9.6e3, rel=0.02)
    # 1T1R: the gate voltage sets the compliance, and a higher gate leaves a lower resistance
    r_after = []
    for vg in (2.0, 2.5, 3.0):
        mt = bare.with_params(k_T=4e-4, V_g=vg)
        st = mt.apply_pulse(mt.initial_state(1), 2.0, 1e-6, 300.0)
        pt = {k: float(v) for k, v in mt.params.items()}
        i = float(mt.current(st, StanfordPKU.cell_voltage(pt, st["gap"], 2.0))[0])
        assert i <= transistor_saturation_current(vg, 0.5, 4e-4) * (1 + 1e-9)
        assert st["peak_temperature"][0] < 305.0 and st["_energy"][0] < 1e-9
        r_after.append(1 / mt.conductance(st, 0.1)[0])
    assert r_after[0] > r_after[1] > r_after[2]
    assert r_after[2] == pytest.approx(13.9e3, rel=0.02)


def test_vcm_f_min_threshold():
    m = get_model("vcm.jiang2016_hfox")
    assert m.params["F_min"] == pytest.approx(1.4e9)
    # issue 11: without F_min 0.3 V SET the cell in 63 ms; with it the gap does not move even in 1 s
    g = m.apply_pulse(m.initial_state(1), 0.3, 1.0, 300.0)["gap"]
    assert g[0] == pytest.approx(1.7e-9, rel=1e-12)
    g_cont = m.with_params(F_min=0.0).apply_pulse(m.initial_state(1), 0.3, 63e-3, 300.0)["gap"]
    assert g_cont[0] < 1.0e-9
    # threshold at g_max: V_th = F_min t_ox / gamma(g_max) = 1.4e9 * 12 nm / (16 - 0.8 * 1.7^3) = 1.392 V
    v_th = 1.4e9 * 12e-9 / (16 - 0.8 * 1.7**3)
    below = m.apply_pulse(m.initial_state(1), 0.995 * v_th, 1e-3, 300.0)["gap"][0]
    above = m.apply_pulse(m.initial_state(1), 1.005 * v_th, 1e-6, 300.0)["gap"][0]
    assert below == pytest.approx(1.7e-9, rel=1e-12) and above < 1.7e-9
    # a RESET stops where gamma(g) |V| / t_ox = F_min: at -1.2 V, (16 - 14) / 0.8 = 2.5 -> g = 1.357 nm
    g_stop = m.apply_pulse({"gap": np.array([0.2e-9])}, -1.2, 1e-3, 300.0)["gap"][0]
    assert g_stop == pytest.approx(1e-9 * 2.5 ** (1 / 3), rel=1e-6)


def test_mott_vo2_with_its_load_resistor_stays_below_400_K():
    # issue 11: VO2 without a load reached 2490 K inside its validity range; with 5 kOhm 393 K
    m = get_model("mott.qiu2024_vo2")
    assert m.params["R_s"] == pytest.approx(5e3)
    s = m.apply_pulse(m.initial_state(1), 25.0, 1e-6, 300.0)
    assert s["_peak_temperature"][0] == pytest.approx(392.8, abs=0.5)
    assert s["insulating_fraction"][0] < 0.01  # it fires (metallic)
    s = m.apply_pulse(m.initial_state(1), 25.0, 1e-4, 300.0)  # the longest pulse of the validity range
    assert s["_peak_temperature"][0] < 400.0
    bare = m.with_params(R_s=0.0)
    assert bare.apply_pulse(bare.initial_state(1), 25.0, 1e-6, 300.0)["_peak_temperature"][0] > 2400.0


def test_mott_compliance_and_transistor():
    # a 2 mA compliance on the bare VO2 device: the power is at most V_dev I_cc with V_dev = I_cc R
    m = get_model("mott.qiu2024_vo2", R_s=0.0, I_cc=2e-3)
    s = m.apply_pulse(m.initial_state(1), 25.0, 1e-4, 300.0)
    r = m.resistance(s)[0]
    # steady state: S_e (T - T0) = I_cc^2 R
    assert s["device_temperature"][0] - 300.0 == pytest.approx(2e-3**2 * r / 2.06e-4, rel=1e-3)
    assert s["_peak_temperature"][0] < 350.0
    mt = get_model("mott.qiu2024_vo2", R_s=0.0, k_T=1e-3, V_g=2.0)  # I_sat = 1.125 mA
    st = mt.apply_pulse(mt.initial_state(1), 25.0, 1e-4, 300.0)
    i_sat = transistor_saturation_current(2.0, 0.5, 1e-3)
    assert st["device_temperature"][0] - 300.0 <= i_sat**2 * mt.resistance(st)[0] / 2.06e-4 * (1 + 1e-6)
