"""NeuroSim export: labels through NeuroSim's NL <-> A map, the sed script, its parser."""

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
    # labels are written mid-cell (2.405 selects NeuroSim's 2.40 entry through its int(|NL| * 100) index)
    assert parsed["cell"]["NL_LTP"] == pytest.approx(2.405, abs=1e-9)
    assert parsed["cell"]["NL_LTD"] == pytest.approx(-4.885, abs=1e-9)
    assert neurosim.param_a(parsed["cell"]["NL_LTP"]) == pytest.approx(0.499181, abs=1e-6)
    assert parsed["cell"]["maxNumLevelLTP"] == 100 and parsed["cell"]["maxNumLevelLTD"] == 100
    assert parsed["cell"]["minConductance"] == pytest.approx(1e-6, rel=1e-6)
    assert parsed["cell"]["maxConductance"] == pytest.approx(11e-6, rel=1e-6)
    assert parsed["dnn"]["nonlinearityLTP"] == pytest.approx(2.405) and parsed["dnn"]["max_level"] == 100
    assert parsed["dnn"]["onoffratio"] == pytest.approx(11.0, rel=1e-5)
    # the rule is NeuroSim's own: the mapping error is the table's 6-digit rounding of A only
    assert r.mapping["rmse_relative_to_window"] < 1e-4


def test_vcm_card_block(tmp_path):
    card = resolve_card("vcm.jiang2016_hfox_continuous")
    cond = resolve_condition(card, amplitude=1.2, amplitude_down=-1.2, width=1e-8)
    resp = simulate_response(card, cond, n_pulses=60)
    r = export(card, "neurosim", tmp_path / "hfox.txt", response=resp)
    text = (tmp_path / "hfox.txt").read_text()
    assert "maxConductance[[:space:]]*=" in text and "args.nonlinearityLTD = " in text
    assert "vcm.jiang2016_hfox_continuous" in text and "sed -i -f" in text
    assert "mapping error" in text and "1e-08 s" in text
    p = neurosim.read(tmp_path / "hfox.txt")["cell"]
    assert p["writePulseWidthLTP"] == pytest.approx(1e-8) and p["writeVoltageLTD"] == pytest.approx(1.2)
    # the gap model's SET accelerates: a convex LTP curve, negative NL_LTP
    assert p["NL_LTP"] < 0
    g = neurosim.replay(resp, p["NL_LTP"], p["NL_LTD"], p["maxNumLevelLTP"], p["maxNumLevelLTD"])
    assert r.rmse == pytest.approx(np.sqrt(np.mean((g - resp.g_nominal) ** 2)))


def test_levels_survive_neurosims_arithmetic():
    # (1.0 / n) * n < 1 in double: NeuroSim's int numPulse of a one-pulse write is 0 (issue 13)
    for n in (49, 98, 161, 322):
        assert neurosim.pulses_per_write(n, True) == 0 and neurosim.safe_levels(n) != n
    for n in (8, 31, 100, 162, 400):
        assert neurosim.pulses_per_write(n, True) == 1 and neurosim.pulses_per_write(n, False) == -1
        assert neurosim.safe_levels(n) == n
    assert neurosim.safe_levels(161) == 162


def test_param_a_is_getparama():
    # C index arithmetic: 4.35 * 100 = 434.99.. selects the 4.34 entry; the mid-cell text 4.355 selects 4.35
    assert neurosim.param_a(4.35) == pytest.approx(neurosim.param_a(4.345))
    assert neurosim.param_a(4.355) != pytest.approx(neurosim.param_a(4.35))
    # clamp: every |NL| >= 9 is the 9.00 entry (0.022810), sign from the label; NL = 0 is the -0.01 entry
    assert neurosim.param_a(14.7) == pytest.approx(0.022810, abs=1e-6) == -neurosim.param_a(-9.0)
    assert neurosim.param_a(0.0) == pytest.approx(-126.268958, rel=1e-6)
    assert neurosim.label_text(900, 1.0) == "9.005" and neurosim.label_text(421, -1.0) == "-4.215"
