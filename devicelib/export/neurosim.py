r"""Export to NeuroSim (MLP_NeuroSim V3.0 ``Cell.cpp``, DNN_NeuroSim V2.1 training arguments).

NeuroSim reads no parameter file: this exporter writes a text file with a
ready-to-paste C++ block for the ``RealDevice::RealDevice`` constructor in
``Cell.cpp`` (MLP_NeuroSim V3.0) and the argument assignments of
DNN_NeuroSim V2.1's ``Training_pytorch/train.py`` (``args.nonlinearityLTP``,
``args.nonlinearityLTD``, ``args.max_level``, ``args.c2cVari``,
``args.d2dVari``, ``--onoffratio``), with the provenance and the mapping error
as comments.

NeuroSim's device (``RealDevice::Write``): G(P) = B (1 - exp(-P/A)) + Gmin,
B = (Gmax - Gmin)/(1 - exp(-Pmax/A)), Pmax = ``maxNumLevelLTP`` (LTD: the same
form with its own A, P counted down from Pmax). Each write finds the pulse
position of the present conductance on the curve and moves it by the number of
pulses. The labels ``NL_LTP``/``NL_LTD`` are not A: NeuroSim maps them through a
fixed table to A / maxNumLevel; :mod:`devicelib.metrics` inverts that map
(``fit_neurosim``, ``neurosim_a_from_nl``, ``neurosim_nl_from_a``).

Cycle-to-cycle noise in NeuroSim is absolute, ``N(0, sigmaCtoC) sqrt(|pulses|)``
with ``sigmaCtoC`` written as a fraction of (Gmax - Gmin); device-to-device
variation ``sigmaDtoD`` is the standard deviation of the NL label across
devices (fitted per device of the ensemble).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import numpy as np

from ..catalog import Card, atomic_write_text
from ..metrics import fit_neurosim, neurosim_curve
from .common import (
    ExportError,
    ExportResult,
    PhysicsResponse,
    PulseCondition,
    mapping_record,
    provenance,
    require_positive,
)

FORMAT = "devicelib.export.neurosim"


def _curve(x, a_norm):
    return neurosim_curve(np.clip(x, 0.0, 1.0), a_norm)


def _inverse(y, a_norm):
    """Pulse position x in [0, 1] of the normalised conductance y on the curve."""
    y = np.clip(y, 0.0, 1.0)
    if np.isinf(a_norm):
        return y
    s = 1.0 / a_norm
    with np.errstate(divide="ignore"):  # y = 1 on a very steep curve: x = inf, clipped to 1 by the callers
        return -np.log1p(y * np.expm1(-s)) / s


def replay(resp: PhysicsResponse, a_ltp: float, a_ltd: float) -> np.ndarray:
    """NeuroSim's RealDevice (no noise) on the same pulses, from the same start, in S."""
    g_lo, g_hi = resp.g_min, resp.g_max
    y0 = (resp.g_nominal[0] - g_lo) / (g_hi - g_lo)
    k_up = np.arange(resp.n_up + 1)
    x_up = np.minimum(_inverse(y0, a_ltp) + k_up / resp.n_up, 1.0)
    y_up = _curve(x_up, a_ltp)
    # LTD: P counts down from Pmax = n_down
    x_d0 = _inverse(y_up[-1], a_ltd)
    k_dn = np.arange(1, resp.n_down + 1)
    y_dn = _curve(np.maximum(x_d0 - k_dn / resp.n_down, 0.0), a_ltd)
    return g_lo + (g_hi - g_lo) * np.concatenate([y_up, y_dn])


def map_response(resp: PhysicsResponse) -> dict[str, Any]:
    require_positive(resp, "NeuroSim")  # its cell model uses the on/off ratio and 1/minConductance
    ltp = fit_neurosim(resp.up, "ltp")
    ltd = fit_neurosim(resp.down, "ltd")
    g_rule = replay(resp, ltp.a_norm, ltd.a_norm)
    span = resp.g_max - resp.g_min
    # device-to-device: spread of the NL labels of the ensemble's devices
    sigma_dtod = 0.0
    sigma_ctoc = 0.0
    if resp.g_ensemble is not None:
        nls = []
        for g in resp.g_ensemble:
            try:
                nls.append(0.5 * (fit_neurosim(g[: resp.n_up + 1], "ltp").nl - fit_neurosim(g[resp.n_up:], "ltd").nl))
            except ValueError:
                continue
        sigma_dtod = float(np.std(nls)) if len(nls) > 1 else 0.0
        sigma_ctoc = float(resp.stats.get("step_c2c_abs", 0.0))
    values = {
        "maxConductance": resp.g_max,
        "minConductance": resp.g_min,
        "readVoltage": resp.condition.read_voltage,
        "writeVoltageLTP": abs(resp.condition.amplitude_up),
        "writeVoltageLTD": abs(resp.condition.amplitude_down),
        "writePulseWidthLTP": resp.condition.width,
        "writePulseWidthLTD": resp.condition.width,
        "maxNumLevelLTP": resp.n_up,
        "maxNumLevelLTD": resp.n_down,
        "NL_LTP": round(ltp.nl, 2),
        "NL_LTD": round(ltd.nl, 2),
        "sigmaDtoD": sigma_dtod,
        "sigmaCtoC_fraction": sigma_ctoc,
    }
    record = mapping_record("NeuroSim RealDevice exponential", resp, g_rule,
                            a_norm_ltp=ltp.a_norm, a_norm_ltd=ltd.a_norm, nl_ltp=ltp.nl, nl_ltd=ltd.nl)
    record["rmse_ltp_fit_only"] = {"value": ltp.rmse, "unit": "S"}
    record["rmse_ltd_fit_only"] = {"value": ltd.rmse, "unit": "S"}
    return {"values": values, "mapping": record, "g_rule": g_rule, "span": span}


def _fmt(v) -> str:
    return f"{v:.6g}" if isinstance(v, float) else str(v)


def render(card: Card, cond: PulseCondition, resp: PhysicsResponse, mapped: dict[str, Any]) -> str:
    v = mapped["values"]
    m = mapped["mapping"]
    prov = provenance(card, cond, "neurosim")
    on_off = v["maxConductance"] / v["minConductance"]
    levels = max(v["maxNumLevelLTP"], v["maxNumLevelLTD"])
    lines = [
        f"// {FORMAT} schema_version=1",
        f"// devicelib {prov['devicelib_version']}  date {prov['date']}",
        f"// card {card.name} ({card.kind}), model {card.model_name}",
        f"// source: {card.citation()}",
        f"// pulse condition: {cond.describe()}",
        f"// mapping error (RMSE physics vs NeuroSim curve): {m['rmse']['value']:.6g} S "
        f"({100 * m['rmse_relative_to_window']:.3g} % of Gmax - Gmin), {m['n_up']} LTP / {m['n_down']} LTD pulses",
        f"// A/maxNumLevel: LTP {m['a_norm_ltp']:.6g}, LTD {m['a_norm_ltd']:.6g}",
    ]
    lines += [f"// warning: {w}" for w in prov["validity_warnings"]]
    lines += [
        "",
        "// ---- MLP_NeuroSim V3.0: paste into RealDevice::RealDevice(int x, int y) in Cell.cpp ----",
        f"maxConductance = {_fmt(v['maxConductance'])};\t// Maximum cell conductance (S)",
        f"minConductance = {_fmt(v['minConductance'])};\t// Minimum cell conductance (S)",
        f"readVoltage = {_fmt(v['readVoltage'])};\t// On-chip read voltage (V)",
        f"writeVoltageLTP = {_fmt(v['writeVoltageLTP'])};\t// Write voltage (V) for LTP",
        f"writeVoltageLTD = {_fmt(v['writeVoltageLTD'])};\t// Write voltage (V) for LTD (magnitude)",
        f"writePulseWidthLTP = {_fmt(v['writePulseWidthLTP'])};\t// Write pulse width (s) for LTP",
        f"writePulseWidthLTD = {_fmt(v['writePulseWidthLTD'])};\t// Write pulse width (s) for LTD",
        f"maxNumLevelLTP = {v['maxNumLevelLTP']};\t// Maximum number of conductance states during LTP",
        f"maxNumLevelLTD = {v['maxNumLevelLTD']};\t// Maximum number of conductance states during LTD",
        f"NL_LTP = {v['NL_LTP']:.2f};\t// LTP nonlinearity label",
        f"NL_LTD = {v['NL_LTD']:.2f};\t// LTD nonlinearity label",
        f"sigmaDtoD = {_fmt(v['sigmaDtoD'])};\t// Sigma of device-to-device variation of NL",
        f"sigmaCtoC = {_fmt(v['sigmaCtoC_fraction'])} * (maxConductance - minConductance);"
        "\t// Sigma of cycle-to-cycle variation (absolute, per sqrt(pulse))",
        "",
        "# ---- DNN_NeuroSim V2.1 (Training_pytorch/train.py): replace the argument assignments ----",
        f"args.max_level = {levels}",
        f"args.nonlinearityLTP = {v['NL_LTP']:.2f}",
        f"args.nonlinearityLTD = {v['NL_LTD']:.2f}",
        f"args.c2cVari = {_fmt(v['sigmaCtoC_fraction'])}",
        f"args.d2dVari = {_fmt(v['sigmaDtoD'])}",
        f"args.onoffratio = {_fmt(on_off)}",
        f"# command line equivalent: python train.py --max_level {levels} --nonlinearityLTP {v['NL_LTP']:.2f} "
        f"--nonlinearityLTD {v['NL_LTD']:.2f} --c2cVari {_fmt(v['sigmaCtoC_fraction'])} "
        f"--d2dVari {_fmt(v['sigmaDtoD'])} --onoffratio {_fmt(on_off)}",
        "# Param.cpp (DNN_NeuroSim): "
        f"resistanceOn = {_fmt(1.0 / v['maxConductance'])}; resistanceOff = {_fmt(1.0 / v['minConductance'])}; "
        f"maxNumLevelLTP = {v['maxNumLevelLTP']}; maxNumLevelLTD = {v['maxNumLevelLTD']};",
        "",
    ]
    return "\n".join(lines)


def write(card: Card, cond: PulseCondition, resp: PhysicsResponse, out: Path) -> ExportResult:
    out = Path(out)
    mapped = map_response(resp)
    text = render(card, cond, resp, mapped)
    atomic_write_text(out, text)
    prov = provenance(card, cond, "neurosim")
    content = {"values": mapped["values"], "mapping": mapped["mapping"], "provenance": prov}
    return ExportResult("neurosim", [out], cond, mapped["mapping"], content, prov["validity_warnings"])


_ASSIGN = re.compile(r"^\s*(?:args\.)?([A-Za-z_]\w*)\s*=\s*([^;/#\t]+?)\s*;?\s*(?://.*|#.*)?$")


def read(path: str | Path) -> dict[str, Any]:
    """Parse the assignments of an exported NeuroSim block (Cell.cpp part and train.py part)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ExportError(f"{path}: no such file") from None
    if FORMAT not in text.splitlines()[0]:
        raise ExportError(f"{path}: not a devicelib NeuroSim export")
    cell: dict[str, Any] = {}
    dnn: dict[str, Any] = {}
    section = None
    for line in text.splitlines():
        if "MLP_NeuroSim" in line:
            section = cell
            continue
        if "DNN_NeuroSim V2.1" in line:
            section = dnn
            continue
        if section is None or line.lstrip().startswith(("//", "#")) or not line.strip():
            continue
        m = _ASSIGN.match(line)
        if not m:
            continue
        key, val = m.group(1), m.group(2).strip()
        if key == "sigmaCtoC":
            frac = float(val.split("*")[0])
            section["sigmaCtoC_fraction"] = frac
            continue
        section[key] = int(val) if re.fullmatch(r"-?\d+", val) else float(val)
    return {"cell": cell, "dnn": dnn}
