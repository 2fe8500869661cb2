"""Consumer test: a Python harness of MLP_NeuroSim V3.0's RealDevice replays the exported device.

NeuroSim is C++ without a parameter file, so the harness follows its source (``Cell.cpp``:
``RealDevice::RealDevice`` and ``RealDevice::Write``; ``formula.cpp``: ``truncate``,
``getParamA``, ``NonlinearWeight``, ``InvNonlinearWeight``) step by step:

1. the exported sed script is applied with the real ``sed`` to a copy of the constructor's
   assignment lines (``CELL_CPP``: the RealDevice defaults of V3.0 in their order, and an
   IdealDevice constructor that must stay untouched);
2. the constructor is "run" by executing its numeric assignments in order (a later line overrides
   an earlier one, which is how a block pasted at the top of the constructor lost its NL values),
   then ``paramALTP = getParamA(NL_LTP) * maxNumLevelLTP`` etc. at their place;
3. every pulse is ``Write(+-2 / maxNumLevel, ...)`` (weights in [-1, 1], one pulse requested) with
   ``int numPulse``, ``truncate`` (threshold 0.5), the nonlinear curve and the clip.

``getParamA``'s table is not copied: the closed form of :mod:`devicelib.metrics` reproduces its
printed 6 digits (tests/test_metrics.py); the index arithmetic and the clamp are NeuroSim's.

The harness (``CELL_CPP``, ``apply_sed``, ``NeuroSimDevice``, ``replay_neurosim``) lives in
:mod:`devicelib.export.consumers`, shared with the export sweep.
"""

import shutil

import numpy as np
import pytest

from devicelib.export import export, neurosim
from devicelib.export.common import resolve_card, simulate_response
from devicelib.export.consumers import CELL_CPP, NeuroSimDevice, apply_sed, replay_neurosim

needs_sed = pytest.mark.skipif(shutil.which("sed") is None, reason="no sed binary to apply the exported script")


@needs_sed
@pytest.mark.parametrize("name", ["fefet.jerry2017_synapse", "mott.qiu2024_vo2", "ecm.menzel2013_ag",
                                  "ecram.tang2018_liion"])
def test_neurosim_reproduces_claimed_error(tmp_path, name):
    card = resolve_card(name)
    r = export(card, "neurosim", tmp_path / "device.sed")
    resp = simulate_response(card, r.condition)
    patched = apply_sed(tmp_path / "device.sed", tmp_path)
    g = replay_neurosim(patched, resp.g_nominal[0], resp.directions())[:, 0]  # one device, noise off
    err = np.sqrt(np.mean((g - resp.g_nominal) ** 2)) / (resp.g_max - resp.g_min)
    assert err == pytest.approx(r.mapping["rmse_relative_to_window"], rel=0.10)
    # NeuroSim moves on every pulse (no level count where a one-pulse write is 0 pulses) ...
    assert np.all(np.diff(g[: resp.n_up + 1]) >= 0) and g[resp.n_up] > g[0]
    # ... and reads the labels the export claims (|NL| <= 9, the table entry intended)
    dev = NeuroSimDevice(patched)
    assert abs(dev.v["NL_LTP"]) <= 9.005 and abs(dev.v["NL_LTD"]) <= 9.005
    assert dev.v["paramALTP"] / dev.n_ltp == pytest.approx(r.mapping["a_norm_ltp"], rel=1e-9)


@needs_sed
def test_sed_replaces_only_realdevice_and_keeps_derived_lines(tmp_path):
    card = resolve_card("fefet.jerry2017_synapse")
    r = export(card, "neurosim", tmp_path / "device.sed")
    patched = apply_sed(tmp_path / "device.sed", tmp_path)
    ideal = patched[: patched.index("RealDevice::RealDevice(")]
    assert ideal == CELL_CPP[: CELL_CPP.index("RealDevice::RealDevice(")]  # IdealDevice untouched
    dev = NeuroSimDevice(patched)
    vals = r.content["values"]
    assert dev.max_g == pytest.approx(vals["maxConductance"], rel=1e-9)
    assert dev.min_g == pytest.approx(vals["minConductance"], rel=1e-9)
    # issue 13: at the card's [operating] condition (+/-2.1 V, 75 ns) the trains have 197 and 199 pulses;
    # NeuroSim's (1.0/197)*197 < 1 would drop every one-pulse write, so 198 is written; 199 is safe and kept
    assert (r.mapping["n_up"], r.mapping["n_down"]) == (197, 199)
    assert resp_levels(r) == (198, 199) and (1.0 / 197) * 197 < 1.0 and (1.0 / 199) * 199 == 1.0
    # the NonlinearConductance lines (non-numeric) and the derived paramA lines are still there
    assert "NonlinearConductance(maxConductance" in patched and "paramALTP = getParamA(NL_LTP" in patched
    assert f"sigmaCtoC = {neurosim._fmt(vals['sigmaCtoC_fraction'])}* (maxConductance" in patched
    assert neurosim.read(tmp_path / "device.sed")["cell"]["maxNumLevelLTP"] == 198


def resp_levels(r):
    return r.mapping["max_num_level_ltp"], r.mapping["max_num_level_ltd"]


@needs_sed
def test_pasting_at_the_top_would_have_lost_the_labels(tmp_path):
    """Why the export is a replacement, not a block: NeuroSim's later default lines win."""
    top = CELL_CPP.replace("RealDevice::RealDevice(int x, int y) {\n",
                           "RealDevice::RealDevice(int x, int y) {\n\tNL_LTP = 1.00;\n\tNL_LTD = -1.00;\n")
    assert NeuroSimDevice(top).v["NL_LTP"] == pytest.approx(4.22)


def test_current_driven_card_writes_no_amperes_as_volts(tmp_path):
    r = export("ecram.tang2018_liion", "neurosim", tmp_path / "tang.sed")
    text = (tmp_path / "tang.sed").read_text()
    assert "writeVoltageLTP" not in neurosim.read(tmp_path / "tang.sed")["cell"]
    assert "write current LTP" in text and r.condition.amplitude_unit == "A"
    assert r.content["values"]["writeCurrentLTP"] == pytest.approx(abs(r.condition.amplitude_up))
