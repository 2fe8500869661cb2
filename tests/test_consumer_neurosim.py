"""Consumer test: a Python harness of MLP_NeuroSim V3.0's RealDevice replays the exported device.

NeuroSim is C++ without a parameter file, so the harness follows its source (``Cell.cpp``:
``RealDevice::RealDevice`` and ``RealDevice::Write``; ``formula.cpp``: ``truncate``,
``getParamA``, ``NonlinearWeight``, ``InvNonlinearWeight``) step by step:

1. the exported sed script is applied with the real ``sed`` to a copy of the constructor's
   assignment lines (``CELL_CPP`` below: the RealDevice defaults of V3.0 in their order, and an
   IdealDevice constructor that must stay untouched);
2. the constructor is "run" by executing its numeric assignments in order (a later line overrides
   an earlier one, which is how a block pasted at the top of the constructor lost its NL values),
   then ``paramALTP = getParamA(NL_LTP) * maxNumLevelLTP`` etc. at their place;
3. every pulse is ``Write(+-2 / maxNumLevel, ...)`` (weights in [-1, 1], one pulse requested) with
   ``int numPulse``, ``truncate`` (threshold 0.5), the nonlinear curve and the clip.

``getParamA``'s table is not copied: the closed form of :mod:`devicelib.metrics` reproduces its
printed 6 digits (tests/test_metrics.py); the index arithmetic and the clamp are NeuroSim's.
"""

import math
import re
import shutil
import subprocess

import numpy as np
import pytest

from devicelib.export import export, neurosim
from devicelib.export.common import resolve_card, simulate_response
from devicelib.metrics import neurosim_a_from_nl

# The assignment lines of MLP_NeuroSim V3.0 Cell.cpp that the export touches, with their defaults,
# in source order (comments shortened). IdealDevice comes first and shares the names.
CELL_CPP = """\
IdealDevice::IdealDevice(int x, int y) {
\tmaxConductance = 5e-6;\t\t// Maximum cell conductance (S)
\tminConductance = 100e-9;\t    // Minimum cell conductance (S)
\treadVoltage = 0.5;\t// On-chip read voltage (Vr) (V)
\twriteVoltageLTP = 2;\t// Write voltage (V) for LTP or weight increase
\tmaxNumLevelLTP = 64;\t// Maximum number of conductance states during LTP or weight increase
\tmaxNumLevelLTD = 64;\t// Maximum number of conductance states during LTD or weight decrease
}

RealDevice::RealDevice(int x, int y) {
\tmaxConductance = 1e-5;\t\t// Maximum cell conductance (S)
\tminConductance = 4.76e-7;\t// Minimum cell conductance (S)
\tavgMaxConductance = maxConductance; // Average maximum cell conductance (S)
\tavgMinConductance = minConductance; // Average minimum cell conductance (S)
\tconductance = minConductance;\t// Current conductance (S) (dynamic variable)
\treadVoltage = 0.5;\t// On-chip read voltage (Vr) (V)
\twriteVoltageLTP = 2;\t// Write voltage (V) for LTP or weight increase
\twriteVoltageLTD = 2;\t// Write voltage (V) for LTD or weight decrease
\twritePulseWidthLTP = 8e-8;\t// Write pulse width (s) for LTP or weight increase
\twritePulseWidthLTD = 8e-8;\t// Write pulse width (s) for LTD or weight decrease
\tmaxNumLevelLTP = 31;\t// Maximum number of conductance states during LTP or weight increase
\tmaxNumLevelLTD = 31;\t// Maximum number of conductance states during LTD or weight decrease
\tnonlinearIV = false;\t// Consider I-V nonlinearity or not (Currently for cross-point array only)
\tif (nonlinearIV) {  // Currently for cross-point array only
\t\tmaxConductance = NonlinearConductance(maxConductance, NL, writeVoltageLTP, Vr_exp, readVoltage);
\t\tminConductance = NonlinearConductance(minConductance, NL, writeVoltageLTP, Vr_exp, readVoltage);
\t}
\tnonlinearWrite = true;\t// Consider weight update nonlinearity or not
\tNL_LTP = 4.22;\t// LTP nonlinearity
\tNL_LTD = -4.22;\t// LTD nonlinearity
\tsigmaDtoD = 0;\t// Sigma of device-to-device weight update vairation in gaussian distribution
\tparamALTP = getParamA(NL_LTP + (*gaussian_dist2)(localGen)) * maxNumLevelLTP;\t// Parameter A for LTP nonlinearity
\tparamALTD = getParamA(NL_LTD + (*gaussian_dist2)(localGen)) * maxNumLevelLTD;\t// Parameter A for LTD nonlinearity
\tsigmaCtoC = 0.005* (maxConductance - minConductance);\t// Sigma of cycle-to-cycle weight update vairation
}
"""

_NUMERIC = re.compile(r"^\s*(\w+)\s*=\s*([-+.0-9eE]+|true|false)\s*;")


def get_param_a(nl: float) -> float:
    """formula.cpp getParamA: index = (int)(fabs(NL) * 100) - 1, clamped to [0, 899]; sign = NL > 0 ? 1 : -1."""
    index = int(math.fabs(nl) * 100) - 1
    index = min(max(index, 0), 899)
    return (1 if nl > 0 else -1) * float(neurosim_a_from_nl((index + 1) / 100))


def truncate(x: float, num_level: int, threshold: float = 0.5) -> float:
    if num_level <= 0:
        return x
    sign = -1 if x < 0 else 1
    val = x * num_level * sign
    r_val = int(val)
    val = r_val + 1 if val - r_val >= threshold else r_val
    return val * sign / num_level


class RealDevice:
    """MLP_NeuroSim V3.0 RealDevice: its constructor's assignments, then Write (noise off)."""

    def __init__(self, source: str):
        ctor = source[source.index("RealDevice::RealDevice("):]
        ctor = ctor[: ctor.index("\n}") + 2]
        v: dict[str, float] = {}
        for line in ctor.splitlines():
            m = _NUMERIC.match(line)
            if m:
                v[m.group(1)] = {"true": True, "false": False}.get(m.group(2), None)
                if v[m.group(1)] is None:
                    v[m.group(1)] = float(m.group(2))
            elif "paramALTP = getParamA(" in line:
                v["paramALTP"] = get_param_a(v["NL_LTP"]) * int(v["maxNumLevelLTP"])
            elif "paramALTD = getParamA(" in line:
                v["paramALTD"] = get_param_a(v["NL_LTD"]) * int(v["maxNumLevelLTD"])
        self.v = v
        self.max_g, self.min_g = v["maxConductance"], v["minConductance"]
        self.n_ltp, self.n_ltd = int(v["maxNumLevelLTP"]), int(v["maxNumLevelLTD"])
        self.conductance = self.min_g

    def write(self, delta_weight: float, min_weight: float = -1.0, max_weight: float = 1.0) -> None:
        v, g = self.v, self.conductance
        if delta_weight > 0:
            n, a = self.n_ltp, v["paramALTP"]
        else:
            n, a = self.n_ltd, v["paramALTD"]
        dwn = truncate(delta_weight / (max_weight - min_weight), n)
        num_pulse = int(dwn * n)  # int numPulse: C truncation toward zero
        with np.errstate(all="ignore"):  # IEEE like C's libm: log(0) = -inf, exp overflow = inf, no exception
            b = (self.max_g - self.min_g) / (1 - np.exp(-n / a))
            x_pulse = -a * np.log(1 - (g - self.min_g) / b)
            g_new = float(b * (1 - np.exp(-(x_pulse + num_pulse) / a)) + self.min_g)
        self.conductance = min(max(g_new, self.min_g), self.max_g)


def apply_sed(script_path, tmp_path) -> str:
    cell = tmp_path / "Cell.cpp"
    cell.write_text(CELL_CPP, encoding="utf-8")
    subprocess.run(["sed", "-i", "-f", str(script_path), str(cell)], check=True)
    return cell.read_text(encoding="utf-8")


def run_neurosim(patched: str, g0: float, directions) -> np.ndarray:
    dev = RealDevice(patched)
    dev.conductance = g0  # the cell programmed to the trains' start
    out = [dev.conductance]
    for d in directions:
        dev.write(2.0 / dev.n_ltp if d > 0 else -2.0 / dev.n_ltd)
        out.append(dev.conductance)
    return np.array(out)


needs_sed = pytest.mark.skipif(shutil.which("sed") is None, reason="no sed binary to apply the exported script")


@needs_sed
@pytest.mark.parametrize("name", ["fefet.jerry2017_synapse", "mott.qiu2024_vo2", "ecm.menzel2013_ag",
                                  "ecram.tang2018_liion"])
def test_neurosim_reproduces_claimed_error(tmp_path, name):
    card = resolve_card(name)
    r = export(card, "neurosim", tmp_path / "device.sed")
    resp = simulate_response(card, r.condition)
    patched = apply_sed(tmp_path / "device.sed", tmp_path)
    g = run_neurosim(patched, resp.g_nominal[0], resp.directions())
    err = np.sqrt(np.mean((g - resp.g_nominal) ** 2)) / (resp.g_max - resp.g_min)
    assert err == pytest.approx(r.mapping["rmse_relative_to_window"], rel=0.10)
    # NeuroSim moves on every pulse (no level count where a one-pulse write is 0 pulses) ...
    assert np.all(np.diff(g[: resp.n_up + 1]) >= 0) and g[resp.n_up] > g[0]
    # ... and reads the labels the export claims (|NL| <= 9, the table entry intended)
    dev = RealDevice(patched)
    assert abs(dev.v["NL_LTP"]) <= 9.005 and abs(dev.v["NL_LTD"]) <= 9.005
    assert dev.v["paramALTP"] / dev.n_ltp == pytest.approx(r.mapping["a_norm_ltp"], rel=1e-9)


@needs_sed
def test_sed_replaces_only_realdevice_and_keeps_derived_lines(tmp_path):
    card = resolve_card("fefet.jerry2017_synapse")
    r = export(card, "neurosim", tmp_path / "device.sed")
    patched = apply_sed(tmp_path / "device.sed", tmp_path)
    ideal = patched[: patched.index("RealDevice::RealDevice(")]
    assert ideal == CELL_CPP[: CELL_CPP.index("RealDevice::RealDevice(")]  # IdealDevice untouched
    dev = RealDevice(patched)
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
    assert RealDevice(top).v["NL_LTP"] == pytest.approx(4.22)


def test_current_driven_card_writes_no_amperes_as_volts(tmp_path):
    r = export("ecram.tang2018_liion", "neurosim", tmp_path / "tang.sed")
    text = (tmp_path / "tang.sed").read_text()
    assert "writeVoltageLTP" not in neurosim.read(tmp_path / "tang.sed")["cell"]
    assert "write current LTP" in text and r.condition.amplitude_unit == "A"
    assert r.content["values"]["writeCurrentLTP"] == pytest.approx(abs(r.condition.amplitude_up))
