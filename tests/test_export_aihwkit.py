"""aihwkit export: the target's rules (C++ semantics), fitting, the JSON file and the real-aihwkit consumer test."""

import functools
import json

import numpy as np
import pytest

from devicelib.export import aihwkit as A
from devicelib.export import export
from devicelib.export.common import PhysicsResponse, PulseCondition, resolve_card, resolve_condition, simulate_response
from devicelib.export.consumers import replay_aihwkit_tile

COND = PulseCondition(1.0, -1.0, 1e-7, 300.0, 0.1)


def _synthetic(rule, params, n=60, w0=-1.0):
    d = np.concatenate([np.ones(n), -np.ones(n)])
    w = A.rule_trace(rule, params, w0, d)
    g = 1e-6 * (w + 3.0)  # 2..4 uS
    return PhysicsResponse(COND, n, n, g), w


@pytest.mark.parametrize("rule,params", [
    ("constant", [-1.0, 1.0, 0.03, 0.02]),
    ("soft_bounds", [-1.0, 1.0, 0.05, 0.06, 1.0, 1.0]),
    ("linear", [-1.2, 0.9, 0.05, 0.04, 0.6, 0.3]),
    ("exponential", [-1.0, 1.0, 0.04, 0.05, 0.2, 0.1, 2.0, 1.5, 1.0, 0.0]),
    ("power", [-1.0, 1.0, 0.06, 0.03, 1.5, 0.7]),
    ("piecewise", [-1.0, 1.0, 1.0, 1.0, *np.linspace(0.05, 0.01, A.N_NODES), *np.linspace(0.01, 0.04, A.N_NODES)]),
])
def test_fields_round_trip_the_one_sided_up_down(rule, params):
    # device_fields -> dataclass fields -> kernel parameters reproduces the same pulse response exactly
    f = A.device_fields(rule, np.array(params, float), {})
    k = A.fields_to_kernel(rule, f)
    d = np.array([1, 1, -1, 1, -1, -1, 1] * 10, float)
    np.testing.assert_allclose(A.rule_trace(rule, k, 0.1, d), A.rule_trace(rule, params, 0.1, d), rtol=0, atol=1e-13)
    assert f["w_min"] <= 0 <= f["w_max"]
    # aihwkit's one-sided bias: only one of the two scales is reduced
    su, sd = k[2], k[3]
    assert max(su, sd) == pytest.approx(f["dw_min"])


def test_soft_bounds_matches_closed_form():
    # soft bounds up: w_k = w_max - (w_max - w_0)(1 - s/w_max)^k (affine map), no clipping reached
    s, wmax = 0.05, 1.0
    w = A.rule_trace("soft_bounds", [-1.0, wmax, s, s, 1.0, 1.0], -1.0, np.ones(50))
    k = np.arange(51)
    np.testing.assert_allclose(w, wmax - (wmax + 1.0) * (1 - s / wmax) ** k, rtol=1e-12)


def test_fit_recovers_known_rules():
    resp, _w = _synthetic("soft_bounds", [-1.3, 1.1, 0.05, 0.04, 1.0, 1.0])
    m = A.map_response(resp, rules=["constant", "soft_bounds", "linear"])
    assert m["rule"] == "soft_bounds"  # linear fits as well, soft bounds has fewer parameters
    assert m["mapping"]["rmse"]["value"] < 1e-12
    resp, _w = _synthetic("exponential", [-1.0, 1.0, 0.04, 0.05, -0.3, 0.2, 1.5, 1.0, 1.0, 0.0])
    m = A.map_response(resp, rules=["constant", "soft_bounds", "exponential"])
    assert m["rule"] == "exponential"
    assert m["mapping"]["rmse_relative_to_window"] < 1e-4


@pytest.fixture(scope="module")
def hfox_response():
    card = resolve_card("vcm.jiang2016_hfox_continuous")
    cond = resolve_condition(card, amplitude=1.2, amplitude_down=-1.2, width=1e-8)
    return card, simulate_response(card, cond, n_pulses=60)


def test_export_vcm_card(tmp_path, hfox_response):
    card, resp = hfox_response
    r = export(card, "aihwkit", tmp_path / "hfox.json", response=resp)
    doc = json.loads((tmp_path / "hfox.json").read_text())
    assert doc["device_class"] in {c for c, _ in A.RULES.values()}
    assert doc["fields"]["w_min"] <= 0 <= doc["fields"]["w_max"]
    assert doc["provenance"]["card"] == "vcm.jiang2016_hfox_continuous" and doc["provenance"]["devicelib_version"]
    assert doc["pulse_condition"]["width"] == {"value": 1e-8, "unit": "s"}
    assert doc["drift"] is None  # a non-volatile card
    # the accelerating SET of the gap model needs more than soft bounds: the chosen rule beats it clearly
    cands = {k: v["rmse"]["value"] for k, v in doc["mapping"]["candidates"].items()}
    assert r.rmse == pytest.approx(min(cands.values()), rel=0.05)
    assert r.rmse < 0.01 * (resp.g_max - resp.g_min) < cands["soft_bounds"]
    # the stored rule trace is the rule replayed from the fields
    k = A.fields_to_kernel(r.mapping["rule"], doc["fields"])
    np.testing.assert_allclose(A.rule_trace(r.mapping["rule"], k, doc["response"]["w_physics"][0],
                                            doc["response"]["directions"]), doc["response"]["w_rule"], atol=1e-12)


def test_aihwkit_consumer(tmp_path, hfox_response):
    """Build the real aihwkit objects from the export and simulate the pulse response in aihwkit."""
    pytest.importorskip("aihwkit.simulator.rpu_base", reason="aihwkit is not installed (see .ci/install-aihwkit.sh)")
    import torch
    from aihwkit.simulator.tiles.analog import AnalogTile

    card, resp = hfox_response
    for rules in (None, ["soft_bounds"], ["exponential"], ["power"], ["linear"], ["constant"]):
        path = tmp_path / f"dev_{rules}.json"
        mapped = A.map_response(resp, rules)
        A.write_json(path, A.build_document(card, resp.condition, resp, mapped))
        cfg = A.build_rpu_config(path)
        assert type(cfg.device).__name__ == A.RULES[mapped["rule"]][0]
        cfg.update.desired_bl = 1  # one pulse per update, as aihwkit's own fitter does
        cfg.update.update_bl_management = False
        cfg.update.update_management = False
        tile = AnalogTile(1, 1, cfg)
        tile.set_learning_rate(1.0)
        w0 = mapped["w_physics"][0]
        tile.set_weights(torch.tensor([[w0]], dtype=torch.float32))
        trace = [float(tile.get_weights()[0].flatten()[0])]
        for d in resp.directions():
            tile.update(torch.tensor([d], dtype=torch.float32), -torch.ones(1, dtype=torch.float32))
            trace.append(float(tile.get_weights()[0].flatten()[0]))
        # aihwkit (float32) reproduces the exported rule; float32 rounding accumulates over 120 pulses
        np.testing.assert_allclose(trace, mapped["w_rule"], atol=2e-5, err_msg=str(rules))
    assert A.build_noise_model(path) is None


def test_pcm_drift_table_follows_the_published_nu_of_g(tmp_path):
    """The PCM card's drift goes to aihwkit's CustomDriftPCMLikeNoiseModel: nu(G) and sigma_nu(G) of
    Nandakumar 2019 / Joshi 2020 over [0, g_max], t_0 = 20 s; with aihwkit, its sampled coefficients match."""
    from devicelib.export import export
    from devicelib.physics.pcm import drift_nu_mean, drift_nu_sigma

    export("pcm.joshi2020_statistical", "aihwkit", tmp_path / "pcm.json")
    doc = A.read(tmp_path / "pcm.json")
    d = doc["drift"]
    g = np.array(d["g_lst"]) * 1e-6
    assert g[0] == 0.0 and d["g_max"] == pytest.approx(g[-1] * 1e6) and d["t_0"] == 20.0
    np.testing.assert_allclose(d["nu_mean_lst"][1:], drift_nu_mean(g[1:]), atol=2e-4)
    np.testing.assert_allclose(d["nu_std_lst"][1:], drift_nu_sigma(g[1:]), rtol=1e-9)
    pytest.importorskip("aihwkit.simulator.rpu_base", reason="aihwkit is not installed (see .ci/install-aihwkit.sh)")
    import torch

    nm = A.build_noise_model(tmp_path / "pcm.json")
    assert type(nm).__name__ == "CustomDriftPCMLikeNoiseModel"
    torch.manual_seed(0)
    g_uS = float(g[4] * 1e6)
    nu = nm.generate_drift_coefficients(torch.full((20000,), g_uS)).numpy()
    assert nu.mean() == pytest.approx(d["nu_mean_lst"][4], abs=3e-4)
    assert nu.std() == pytest.approx(d["nu_std_lst"][4], rel=0.05)


# -- the claimed errors are aihwkit's own (real AnalogTile, one pulse per update) ------------------------------
@functools.cache
def _default_response(name):
    """Card, default condition and physics response (cached: several tests use the same card)."""
    from devicelib.export.common import prepare_condition

    card = resolve_card(name)
    cond, _ = prepare_condition(card)
    return card, cond, simulate_response(card, cond)


@pytest.mark.parametrize("name", ["fefet.deng2020_hzo", "pcm.joshi2020_statistical", "ecram.tang2018_liion",
                                  "ecram.enode_crosssim_fit"])
def test_claimed_errors_are_what_aihwkit_produces(tmp_path, name):
    """Nominal, ensemble-mean and ensemble-spread errors claimed in the file (numpy replay of aihwkit's
    semantics) against the real aihwkit 1.2 tile: equal within 10 % of the claim, plus the sampling error of
    a 1024-device mean (3 sigma / sqrt(N)) for the stochastic ensemble figures."""
    pytest.importorskip("aihwkit.simulator.rpu_base", reason="aihwkit is not installed (see .ci/install-aihwkit.sh)")
    card, _, resp = _default_response(name)
    r = export(card, "aihwkit", tmp_path / "d.json", response=resp)
    doc = A.read(tmp_path / "d.json")
    m, c, f = doc["mapping"], doc["weight_map"]["w_scale"], doc["fields"]
    # one update = one pulse: dw_min <= 1 (aihwkit fires with probability lr / dw_min otherwise)
    assert f["dw_min"] <= 1.0 + 1e-12
    w_nom = replay_aihwkit_tile(doc, 1, noise=False)[0]
    nominal = A.rmse(resp.to_conductance(w_nom / c), resp.g_nominal) / (resp.g_max - resp.g_min)
    assert nominal == pytest.approx(m["rmse_relative_to_window"], rel=0.1, abs=1e-6)
    w = replay_aihwkit_tile(doc, 1024)
    got = A.ensemble_errors(resp, w.mean(axis=0), w.std(axis=0), c)
    floor = 3.0 * float(np.max(w.std(axis=0))) / c / 2.0 / np.sqrt(1024)  # fraction of the window
    for key in ("mean_rmse_relative_to_window", "spread_rmse_relative_to_window"):
        claimed = m["ensemble"][key]
        assert abs(got[key] - claimed) <= 0.1 * claimed + floor, (key, got[key], claimed, floor)
    # the mean follows devicelib's ensemble mean (the issue: 44 % and 35 % of the window for Deng and Joshi)
    assert m["ensemble"]["mean_rmse_relative_to_window"] < 0.05
    assert r.rmse == pytest.approx(m["rmse"]["value"])


def test_noise_fields_in_aihwkit_units(tmp_path):
    """w_max_dtod is relative to the weight bound, not to G; dw_min_std above ~1 (wrong-way pulses) is capped
    and the measured value kept in the record; no aihwkit PCM programming / read noise on an ECRAM card."""
    from devicelib.export.common import prepare_condition

    def mapped_at(cond, resp):
        mapped = A.map_response(resp, ["piecewise"], n_devices=256)
        c = mapped["w_scale"]
        sigma_g = resp.stats["g_max_dtod"] * resp.g_max  # S
        expect = sigma_g * 2 * c / (resp.g_max - resp.g_min) / abs(mapped["fields"]["w_max"])
        assert mapped["fields"]["w_max_dtod"] == pytest.approx(expect, rel=1e-12)
        return mapped

    # the card's [operating] condition (1 uA, 10 us): the trains sweep nearly the whole 0.24-30 uS range, so
    # the bound-relative spread is ~2 g_max / (g_max - g_min) = ~2x the G-relative one (as for PCM)
    card, cond, resp = _default_response("ecram.tang2018_liion")
    assert resp.g_max > 50 * resp.g_min
    mapped = mapped_at(cond, resp)
    assert 1.9 < mapped["fields"]["w_max_dtod"] / resp.stats["g_max_dtod"] < 2.2
    # 1 ns pulses (issue 13's condition): the window is a small part of G and the old G-relative value was
    # far too small (775x)
    short, _ = prepare_condition(card, width="1 ns")
    short_resp = simulate_response(card, short)
    assert short_resp.g_max < 1.01 * short_resp.g_min
    assert mapped_at(short, short_resp)["fields"]["w_max_dtod"] > 100 * short_resp.stats["g_max_dtod"]
    doc = A.build_document(card, cond, resp, mapped)
    assert doc["drift"]["prog_noise_scale"] == 0.0 and doc["drift"]["read_noise_scale"] == 0.0
    pytest.importorskip("aihwkit.simulator.rpu_base", reason="aihwkit is not installed (see .ci/install-aihwkit.sh)")
    nm = A.build_noise_model(doc)
    assert nm.prog_noise_scale == 0.0 and nm.read_noise_scale == 0.0


def test_pcm_step_noise_is_capped_and_keeps_its_published_noise(tmp_path):
    card, _, resp = _default_response("pcm.joshi2020_statistical")
    r = export(card, "aihwkit", tmp_path / "p.json", response=resp)
    ens = r.mapping["ensemble"]
    assert ens["measured"]["dw_min_std"] > 5 and ens["written"]["dw_min_std"] < 1.0
    assert r.content["fields"]["dw_min_std"] == ens["written"]["dw_min_std"]
    assert r.content["drift"]["prog_noise_scale"] == 1.0 and r.content["drift"]["read_noise_scale"] == 1.0
