"""Phenomenological baselines: aihwkit / NeuroSim update rules, closed forms, interface."""

import numpy as np
import pytest

from devicelib import get_model
from devicelib.physics.baselines import BASELINES, aihwkit_fields
from devicelib.pulses import potentiation_depression
from devicelib.registry import available_models
from devicelib.simulate import simulate

NAMES = [c.name for c in BASELINES]


def test_all_registered():
    for name in NAMES:
        assert name in available_models()
        assert get_model(name).name == name


def one_step(model, w, up):
    return model.weight_trace(np.array([w]), np.array([[1.0 if up else -1.0]]))[0, 0]


def test_soft_bounds_matches_aihwkit_rule():
    # aihwkit C++: s_up = dw (1 + min(u, 0)), s_down = dw (1 - max(u, 0)); up w + s_up (1 - w/w_max),
    # down w - s_down (1 - w/w_min)
    m = get_model("baseline.soft_bounds", dw_min=0.1, up_down=0.2, w_min=-1.0, w_max=1.0)
    assert one_step(m, 0.5, True) == pytest.approx(0.5 + 0.1 * (1 - 0.5), abs=1e-15)
    assert one_step(m, 0.5, False) == pytest.approx(0.5 - 0.08 * (1 - 0.5 / -1.0), abs=1e-15)
    m = m.with_params(up_down=-0.2)
    assert one_step(m, 0.5, True) == pytest.approx(0.5 + 0.08 * 0.5, abs=1e-15)
    assert one_step(m, 0.5, False) == pytest.approx(0.5 - 0.1 * 1.5, abs=1e-15)


def test_linear_step_power_piecewise_constant_rules():
    m = get_model("baseline.linear_step", dw_min=0.1, w_min=-2.0, w_max=1.0, gamma_up=0.5, gamma_down=2.0)
    assert one_step(m, 0.4, True) == pytest.approx(0.4 + 0.1 * (1 - 0.5 * 0.4 / 1.0), abs=1e-15)
    assert one_step(m, 0.4, False) == pytest.approx(0.4 - 0.1 * (1 - 2.0 * 0.4 / -2.0), abs=1e-15)
    p = get_model("baseline.power_step", dw_min=0.1, w_min=-1.0, w_max=1.0, pow_gamma=2.0, pow_up_down=0.5)
    # gamma_up = 2 (1 + min(0.5, 0)) = 2; gamma_down = 2 (1 - 0.5) = 1
    assert one_step(p, 0.2, True) == pytest.approx(0.2 + 0.1 * ((1 - 0.2) / 2) ** 2, abs=1e-15)
    assert one_step(p, 0.2, False) == pytest.approx(0.2 - 0.1 * ((0.2 + 1) / 2) ** 1, abs=1e-15)
    pw = get_model("baseline.piecewise_step", dw_min=0.1, w_min=-1.0, w_max=1.0,
                   up_0=1.0, up_1=2.0, up_2=3.0, up_3=4.0, up_4=5.0)
    # w = 0.25 sits 1/2 between nodes 2 (w = 0) and 3 (w = 0.5): factor 3.5
    assert one_step(pw, 0.25, True) == pytest.approx(0.25 + 0.1 * 3.5, abs=1e-15)
    c = get_model("baseline.constant_step", dw_min=0.3, w_min=-1.0, w_max=1.0)
    assert one_step(c, 0.9, True) == 1.0  # clipped at w_max
    assert one_step(c, 0.9, False) == pytest.approx(0.6)


def test_neurosim_exponential_curve():
    # from w_min, P identical pulses follow G = B (1 - exp(-P/A)) + Gmin and reach w_max at P = p_max
    m = get_model("baseline.exponential", w_min=0.0, w_max=1.0, p_max=100.0, a_ltp=30.0, a_ltd=20.0)
    w = m.weight_trace(np.array([0.0]), np.ones((1, 100)))[0]
    P = np.arange(1, 101)
    B = 1.0 / (1 - np.exp(-100 / 30.0))
    np.testing.assert_allclose(w, B * (1 - np.exp(-P / 30.0)), rtol=1e-12, atol=1e-13)
    assert w[-1] == pytest.approx(1.0, abs=1e-12)
    # depression walks back down NeuroSim's LTD curve (A = -a_ltd) and reaches w_min after p_max pulses
    down = m.weight_trace(np.array([1.0]), -np.ones((1, 100)))[0]
    Bd = 1.0 / (1 - np.exp(100 / 20.0))
    np.testing.assert_allclose(down, Bd * (1 - np.exp((100 - P) / 20.0)), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("name", ["baseline.constant_step", "baseline.soft_bounds", "baseline.linear_step",
                                  "baseline.exponential"])
def test_closed_form_equals_pulse_loop(name):
    m = get_model(name).with_params(w_min=-0.8, w_max=1.2)
    if "dw_min" in m.params:
        m = m.with_params(dw_min=0.02, up_down=0.15)
    w0 = np.array([-0.5, 0.0, 0.7])
    for up in (True, False):
        d = np.full((3, 300), 1.0 if up else -1.0)
        np.testing.assert_allclose(m.closed_form(w0, 300, up), m.weight_trace(w0, d), rtol=0, atol=1e-12)
    assert m.has_closed_form


def test_no_closed_form_for_power_and_piecewise():
    for name in ("baseline.power_step", "baseline.piecewise_step"):
        with pytest.raises(NotImplementedError):
            get_model(name).closed_form(np.zeros(1), 5)


@pytest.mark.parametrize("name", NAMES)
def test_simulate_interface_matches_trace_kernel(name):
    m = get_model(name, g_ref=2e-6, g_offset=5e-6)
    train = potentiation_depression(30, 30, 1.0, -1.0, 1e-7)
    ds = simulate(m, train, n_devices=2, v_read=0.1)
    st = m.initial_state(2)
    g = m.replay_trace(st, np.tile(train.amplitude, (2, 1)), np.tile(train.width, (2, 1)),
                       np.tile(train.interval, (2, 1)), np.tile(train.temperature, (2, 1)), 0.1)
    np.testing.assert_allclose(ds["conductance"].values, g, rtol=1e-13)
    # the normalisation layer: G = g_offset + g_ref w, inverted exactly
    w = m.state_from_conductance(g[:, 5], 0.1)["w"]
    np.testing.assert_allclose(m.conductance({"w": w}, 0.1), g[:, 5], rtol=1e-13)


def test_per_device_parameters_and_reads():
    m = get_model("baseline.soft_bounds", dw_min=np.array([0.01, 0.05]))
    d = np.array([[1.0, 0.0, -1.0], [1.0, 0.0, -1.0]])
    w = m.weight_trace(np.zeros(2), d)
    assert w[0, 0] == pytest.approx(0.01) and w[1, 0] == pytest.approx(0.05)
    assert w[0, 1] == w[0, 0]  # a read leaves the state alone


def test_aihwkit_fields():
    f = aihwkit_fields(get_model("baseline.soft_bounds", dw_min=0.02, up_down=0.1))
    assert f == {"class": "SoftBoundsDevice", "w_min": -1.0, "w_max": 1.0, "dw_min": 0.02, "up_down": 0.1}
    assert aihwkit_fields(get_model("baseline.power_step"))["class"] == "PowStepDevice"
    with pytest.raises(ValueError):
        aihwkit_fields(get_model("baseline.exponential"))


def test_bad_bounds_rejected():
    with pytest.raises(ValueError, match="w_min must be smaller"):
        get_model("baseline.soft_bounds", w_min=1.0, w_max=0.5)
