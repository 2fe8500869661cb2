"""Pulse condition, physics response, variability statistics and atomic writing shared by the exporters."""

from pathlib import Path

import numpy as np
import pytest

from devicelib.catalog import card_from_dict
from devicelib.export.common import (
    ExportError,
    atomic_write_with,
    outside_validity,
    resolve_card,
    resolve_condition,
    simulate_response,
)
from devicelib.units import Q_


def test_condition_defaults_from_validity():
    data = resolve_card("vcm.jiang2016_hfox_continuous").to_dict()
    data.pop("operating")  # every shipped card states one (issue 11); the fallback is for cards that do not
    card = card_from_dict(data)
    c = resolve_condition(card)
    # validity: amplitude -2..2 V, width 1 ns..1 ms, temperature 250..400 K, no read-voltage range
    assert (c.amplitude_up, c.amplitude_down, c.width, c.temperature, c.read_voltage) == (2.0, -2.0, 1e-9, 300.0, 0.1)
    assert outside_validity(card, c) == []


def test_condition_units_and_warnings():
    card = resolve_card("vcm.jiang2016_hfox_continuous")
    c = resolve_condition(card, Q_(1.2, "V"), Q_(-1500, "mV"), Q_(10, "ns"), Q_(27, "degC"), Q_(200, "mV"))
    assert c.amplitude_down == pytest.approx(-1.5)
    assert c.width == pytest.approx(1e-8)
    assert c.temperature == pytest.approx(300.15)
    assert c.read_voltage == pytest.approx(0.2)
    c2 = resolve_condition(card, amplitude=3.0, width=1.0)
    warn = outside_validity(card, c2)
    assert any("amplitude 3" in w for w in warn) and any("width 1" in w for w in warn)
    with pytest.raises(ExportError, match="width"):
        resolve_condition(card, width=0.0)


def test_flat_response_is_refused():
    card = resolve_card("vcm.jiang2016_hfox_continuous")
    cond = resolve_condition(card, amplitude=0.05, amplitude_down=-0.05, width=1e-9)
    with pytest.raises(ExportError, match="does not change the conductance"):
        simulate_response(card, cond, n_pulses=4)


def test_ensemble_statistics_recover_cycle_to_cycle_noise():
    data = resolve_card("vcm.jiang2016_hfox_continuous").to_dict()
    data["variability"] = {"c2c": 0.05, "d2d": {"nu0": 0.2}}
    card = card_from_dict(data)
    cond = resolve_condition(card, amplitude=1.2, amplitude_down=-1.2, width=1e-8)
    resp = simulate_response(card, cond, n_pulses=40, n_devices=48, seed=3)
    s = resp.stats
    assert resp.g_ensemble.shape == (48, 81)
    # c2c noise is 5 % of each gap step; G = exp(-g/g0) turns it into ~5 % of each conductance step
    assert 0.035 < s["step_c2c"] < 0.065
    # log-normal nu0 spread (sigma 0.2) scales every step of a device alike: a device gain spread of ~20 %
    assert 0.1 < s["step_dtod"] < 0.35


def test_atomic_write_leaves_nothing_on_error(tmp_path: Path):
    target = tmp_path / "x.bin"

    def bad(p: Path):
        p.write_bytes(b"half")
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        atomic_write_with(target, bad)
    assert list(tmp_path.iterdir()) == []
    atomic_write_with(target, lambda p: p.write_bytes(b"ok"))
    assert target.read_bytes() == b"ok" and len(list(tmp_path.iterdir())) == 1


def test_unknown_source():
    with pytest.raises(ExportError, match="no card"):
        resolve_card("vcm.no_such_card")
    with pytest.raises(ExportError):
        resolve_card(3.0)
    assert np.isfinite(resolve_condition(resolve_card("vcm.crosssim_oxide_fit")).width)


def test_default_width_moves_up_a_decade_when_the_shortest_valid_pulse_does_nothing(tmp_path):
    # Cu/SiO2 ECM card: 10 ns at 3 V is far below the nucleation time (~5 us), so 400 pulses change nothing;
    # the default takes the next decade inside the validity range, and says so in the condition
    from devicelib.export import ExportError, export

    data = resolve_card("ecm.schindler2009_cu_sio2").to_dict()
    data.pop("operating")  # the validity-based default is what is tested here
    r = export(card_from_dict(data), "neurosim", tmp_path / "ns")
    assert r.condition.width == pytest.approx(1e-7)
    assert r.mapping["window"]["g_max"]["value"] > 1e3 * r.mapping["window"]["g_min"]["value"]
    with pytest.raises(ExportError, match="does not change the conductance"):
        export("ecm.schindler2009_cu_sio2", "neurosim", tmp_path / "ns2", width="10 ns")


def test_unipolar_pcm_exports_with_reset_as_depression_and_noise_in_the_ensemble(tmp_path):
    from devicelib.export import ExportError, export
    from devicelib.export.common import PhysicsResponse, require_positive

    # PCM depressed by a negative current: outside the card's validity (0..500 uA), refused without force
    with pytest.raises(ExportError, match=r"amplitude -0.000215 outside the card's validity range.*--force"):
        export("pcm.sebastian2014_gst", "aihwkit", tmp_path / "a.json", amplitude_down="-215 uA")
    # forced: Joule heating is even in the current, so -215 uA acts as a SET-level pulse (it finishes the gradual
    # SET the 183 uA train left at ~99 % instead of depressing); the error says so and what to give instead
    with pytest.raises(ExportError, match=r"depressing pulses \(-0.000215 A\) do not lower the conductance.*"
                                          r"depressing train by \+[0-9.e-]+ S\).*RESET pulse"):
        export("pcm.sebastian2014_gst", "aihwkit", tmp_path / "a.json", amplitude_down="-215 uA", force=True)
    # the card's [operating] condition: 183 uA SET pulses, a 320 uA RESET as the depressing pulse; the nominal
    # trace is the cell without the statistical layer, the spread comes from the full model (programming noise)
    r = export("pcm.joshi2020_statistical", "crosssim", tmp_path / "cs")
    assert r.condition.amplitude_down == pytest.approx(320e-6) and r.condition.amplitude_up == pytest.approx(183e-6)
    w = r.mapping["window"]
    assert w["g_min"]["value"] > 0 and w["g_max"]["value"] == pytest.approx(25e-6, rel=0.05)
    a = export("pcm.joshi2020_statistical", "aihwkit", tmp_path / "b.json")
    assert a.content["variability"]["step_c2c"] > 0.05 and a.content["variability"]["n_devices"] > 1
    assert r.content["device"]["programming_error"]["magnitude"] > 0
    # resistance-based targets refuse a window that reaches 0 S, naming why
    cond = r.condition
    resp = PhysicsResponse(cond, 2, 2, np.array([0.0, 1e-6, 2e-6, 1e-6, 0.0]))
    with pytest.raises(ExportError, match="CrossSim describes the window by resistances"):
        require_positive(resp, "CrossSim")


def test_a_device_saturated_at_the_start_is_conditioned_first(tmp_path):
    # the Schneider MJJ card starts at its top state: potentiation alone does nothing, so the exporter
    # first applies depressing pulses and says so in the mapping record
    from devicelib.export import export

    r = export("josephson.schneider2018_nbsimn", "aihwkit", tmp_path / "mjj.json")
    m = r.mapping
    assert m["n_pre"] > 0 and "depressing pulses" in m["protocol"]
    up = np.array(r.content["response"]["w_physics"][: m["n_up"] + 1])
    # the potentiation branch now spans most of the weight window [-c, c]: at the card's [operating]
    # condition (450 uA, 0.2 ns) a few large steps, so dw_min > 1 and the weights are rescaled (c ~ 0.63)
    c = r.content["weight_map"]["w_scale"]
    assert 0 < c <= 1.0 and up[-1] - up[0] > 0.75 * 2 * c
    assert m["rmse_relative_to_window"] < 1e-3


def test_stochastic_model_without_a_deterministic_twin_exports_its_mean(tmp_path):
    from devicelib.export.common import resolve_card, resolve_condition, simulate_response

    card = resolve_card("spintronic.borders2019_pbit")
    model = card.model()
    assert model.stochastic and model.nominal() is model
    cond = resolve_condition(card, amplitude=10e-6, width=1e-4)  # tau ~ 0.3 ms: ~30 % switch per pulse
    resp = simulate_response(card, cond, n_devices=64, seed=1)
    # the nominal trace is the mean of the 64 seeded devices (a gradual expected response), not one of them
    assert len(np.unique(resp.g_nominal)) > 4
    assert resp.g_ensemble.shape[0] == 64
    assert not any(np.allclose(resp.g_nominal, row) for row in resp.g_ensemble)


def _fit_card(**fit):
    """The HfOx card as a fitted card calibrated on 4.8-5.4 uS (a part of its 1.2 V / 10 ns window)."""
    data = resolve_card("vcm.jiang2016_hfox_continuous").to_dict()
    data["kind"] = "fit"
    data["validity"]["conductance"] = {"min": 4.8e-6, "max": 5.4e-6, "unit": "S"}
    data["fit"] = {"data": "synthetic", "method": "least_squares", **fit}
    return card_from_dict(data)


def test_default_pulse_counts_stay_inside_the_calibrated_range():
    """Issue 10 item 8: the automatic trains stop where the nominal device leaves the conductance range the
    card was fitted on; [fit] pulses_up / pulses_down (the counts measured) win; given counts win over both."""
    card = _fit_card()
    cond = resolve_condition(card, amplitude=1.2, amplitude_down=-1.2, width=1e-8)
    free = simulate_response(resolve_card("vcm.jiang2016_hfox_continuous"), cond, n_devices=2)
    resp = simulate_response(card, cond, n_devices=2)
    up = resp.up
    assert up[0] == pytest.approx(4.8e-6, rel=1e-6)  # a fitted card starts at the bottom of its range
    assert up[-1] >= 5.4e-6 and up[-2] < 5.4e-6  # the first pulse that reaches the top ends the train
    assert resp.n_up < free.n_up
    assert resp.down[-1] <= 4.8e-6 < resp.down[-2]
    card = _fit_card(pulses_up=12, pulses_down=7)
    resp = simulate_response(card, cond, n_devices=2)
    assert (resp.n_up, resp.n_down) == (12, 7)
    resp = simulate_response(card, cond, n_pulses=(None, 9), n_devices=2)
    assert (resp.n_up, resp.n_down) == (12, 9)


def test_unconverged_fit_warns_and_is_recorded(tmp_path):
    from devicelib.export import export

    card = _fit_card(converged=False, status="max_nfev reached")
    with pytest.warns(UserWarning, match="did not converge"):
        r = export(card, "aihwkit", tmp_path / "a.json", amplitude="1.2 V", amplitude_down="-1.2 V",
                   width="10 ns", n_up=10, n_down=10)
    assert "did not converge" in r.content["provenance"]["fit_warning"]
    assert any("did not converge" in w for w in r.warnings)
    assert (r.mapping["n_up"], r.mapping["n_down"]) == (10, 10)


def test_single_file_exports_follow_the_umask(tmp_path):
    import os

    from devicelib.export.common import write_json

    old = os.umask(0o022)
    try:
        p = write_json(tmp_path / "x.json", {"a": 1})
        assert p.stat().st_mode & 0o777 == 0o644
        os.umask(0o077)
        p = atomic_write_with(tmp_path / "y.bin", lambda t: t.write_bytes(b"1"))
        assert p.stat().st_mode & 0o777 == 0o600
    finally:
        os.umask(old)
    assert [q.name for q in tmp_path.iterdir() if q.name.startswith(".")] == []  # no temporary left behind
