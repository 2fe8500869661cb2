"""NeuroSim export: labels through NeuroSim's NL <-> A map, the paste-ready block, its parser."""

import numpy as np
import pytest

from devicelib.catalog import card_from_dict
from devicelib.export import export, neurosim
from devicelib.export.common import resolve_card, resolve_condition, simulate_response


def _exponential_card(a_ltp, a_ltd, p_max=100):
    """A card of the NeuroSim RealDevice rule itself (baseline.exponential), G = 1 uS * w, w in [1, 11]."""
    return card_from_dict({
        "schema_version": 1, "name": "test.neurosim_curve", "model": "baseline.exponential", "kind": "estimate",
        "provenance": {"citation": "synthetic NeuroSim curve with known A (test)"},
        "parameters": {
            "w_min": {"value": 1.0, "unit": ""}, "w_max": {"value": 11.0, "unit": ""},
            "p_max": {"value": p_max, "unit": ""},
            "a_ltp": {"value": a_ltp, "unit": ""}, "a_ltd": {"value": a_ltd, "unit": ""},
        },
    })


def test_known_a_gives_neurosim_table_labels(tmp_path):
    # NeuroSim's table: A/maxNumLevel 0.4992 <-> NL 2.40, 0.2003 <-> NL 4.88 (Ag:a-Si row: 2.4 / -4.88)
    card = _exponential_card(0.4992 * 100, 0.2003 * 100)
    cond = resolve_condition(card, amplitude=1.0, amplitude_down=-1.0, width=1e-7)
    resp = simulate_response(card, cond, n_pulses=100)
    r = export(card, "neurosim", tmp_path / "agsi.txt", response=resp)
    parsed = neurosim.read(tmp_path / "agsi.txt")
    assert parsed["cell"]["NL_LTP"] == pytest.approx(2.40, abs=0.005)
    assert parsed["cell"]["NL_LTD"] == pytest.approx(-4.88, abs=0.005)
    assert parsed["cell"]["maxNumLevelLTP"] == 100 and parsed["cell"]["maxNumLevelLTD"] == 100
    assert parsed["cell"]["minConductance"] == pytest.approx(1e-6, rel=1e-6)
    assert parsed["cell"]["maxConductance"] == pytest.approx(11e-6, rel=1e-6)
    assert parsed["dnn"]["nonlinearityLTP"] == pytest.approx(2.40) and parsed["dnn"]["max_level"] == 100
    assert parsed["dnn"]["onoffratio"] == pytest.approx(11.0, rel=1e-5)
    # the rule is NeuroSim's own: the mapping error is rounding only
    assert r.rmse < 1e-6 * 1e-6


def test_vcm_card_block(tmp_path):
    card = resolve_card("vcm.jiang2016_hfox_continuous")
    cond = resolve_condition(card, amplitude=1.2, amplitude_down=-1.2, width=1e-8)
    resp = simulate_response(card, cond, n_pulses=60)
    r = export(card, "neurosim", tmp_path / "hfox.txt", response=resp)
    text = (tmp_path / "hfox.txt").read_text()
    assert "maxConductance = " in text and "args.nonlinearityLTD = " in text and "vcm.jiang2016_hfox_continuous" in text
    assert "mapping error" in text and "1e-08 s" in text
    p = neurosim.read(tmp_path / "hfox.txt")["cell"]
    assert p["writePulseWidthLTP"] == pytest.approx(1e-8) and p["writeVoltageLTD"] == pytest.approx(1.2)
    # the gap model's SET accelerates: a convex LTP curve, negative NL_LTP
    assert p["NL_LTP"] < 0
    g = neurosim.replay(resp, r.mapping["a_norm_ltp"], r.mapping["a_norm_ltd"])
    assert r.rmse == pytest.approx(np.sqrt(np.mean((g - resp.g_nominal) ** 2)))
