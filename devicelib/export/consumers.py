"""Replay exports in their consumers and compare with the claimed mapping errors (the export sweep).

Each export states a *claimed* mapping error (``mapping.rmse_relative_to_window``, and for a card with
variability ``mapping.ensemble``). This module replays the written files with the consumer's own
semantics and measures the error against the devicelib physics response the export was fitted to:

- ``crosssim2``: the real CrossSim 2.0 (``NumericCore.update_matrix_burst`` with the written
  ``Gmin_relative`` / ``Gmax_relative``, one request of its mean step per pulse; write noise off for the
  nominal trace, on for the ensemble mean);
- ``neurosim``: a harness of MLP_NeuroSim V3.0 ``RealDevice`` (the exported sed script applied with the
  real ``sed`` to the constructor's assignment lines; ``Write`` with ``int numPulse``, ``truncate``,
  the ``getParamA`` table index and the NL clamp at 9);
- ``aihwkit``: the numpy replay of aihwkit 1.2's pulsed devices (:func:`devicelib.export.aihwkit.rule_trace`,
  :func:`~devicelib.export.aihwkit.replay_ensemble`) built from the *file's* fields; ``aihwkit-tile``: the
  real ``AnalogTile`` (one pulse per update, lr = 1);
- ``memtorch``: the real MemTorch memristor built from the file (read-voltage conductance for
  Stanford_PKU, ``g`` for Data_Driven2021).

All errors are RMSE / (G_max - G_min) of the exported window. The consumer checks are pass/fail at
``rel`` (10 %) of the claim, with an absolute floor for claims at numerical zero and, for noisy
ensemble means, 3 standard errors of the Monte Carlo means.
"""

from __future__ import annotations

import contextlib
import functools
import importlib
import importlib.util
import io
import json
import math
import re
import shutil
import subprocess
import sys
import tempfile
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .common import PhysicsResponse

#: targets of the sweep and the consumer that replays each
CONSUMERS = {"aihwkit": "aihwkit (numpy replay)", "aihwkit-tile": "aihwkit 1.2 AnalogTile",
             "crosssim": "CrossSim 2.0", "neurosim": "NeuroSim V3.0 harness", "memtorch": "MemTorch 1.1.6"}
FAST = ("aihwkit", "crosssim", "neurosim")
REL_TOL = 0.10
ABS_FLOOR = 1e-6  # fraction of the window: claims at numerical zero (float32 / float rounding)


def _rel(g, ref, span) -> float:
    return float(np.sqrt(np.mean((np.asarray(g, float) - np.asarray(ref, float)) ** 2)) / span)


# -- CrossSim 2.0 --------------------------------------------------------------------------------------------
_SHIM = '''"""Stand-in for setuptools' pkg_resources: only resource_filename, as CrossSim 2.0 uses it."""
import importlib.util
import os


def resource_filename(package, path):
    return os.path.join(os.path.dirname(importlib.util.find_spec(package).origin), path)
'''


def load_crosssim2(source: Path):
    """``(Parameters, verify_parameters, NumericCore)`` of CrossSim 2.0 from its source folder (the one that
    holds the ``cross_sim`` package). It imports ``pkg_resources`` (gone from setuptools >= 81): a module of
    that name providing ``resource_filename`` is put on ``sys.path`` when none is installed."""
    source = Path(source).resolve()
    if not (source / "cross_sim" / "__init__.py").is_file():
        raise FileNotFoundError(f"CrossSim 2.0 source not found: {source / 'cross_sim'} is absent")
    added = [str(source)]
    if importlib.util.find_spec("pkg_resources") is None:
        shim = Path(tempfile.mkdtemp(prefix="devicelib_shim_"))
        (shim / "pkg_resources.py").write_text(_SHIM, encoding="utf-8")
        added.append(str(shim))
    sys.path[:0] = added
    try:
        cross_sim = importlib.import_module("cross_sim")
        from cross_sim.xbar_simulator.cores.core_initialization import verify_parameters
        from cross_sim.xbar_simulator.cores.numeric_core import NumericCore
    finally:
        for p in added:
            sys.path.remove(p)
    return cross_sim.Parameters, verify_parameters, NumericCore


def replay_crosssim2(cs2, directory: Path, lookup: dict, g0: float, directions, n_devices: int = 1,
                     write_noise: bool = False) -> np.ndarray:
    """Conductance (S), shape (pulses + 1, n_devices), of CrossSim 2.0 devices driven one mean step per pulse."""
    Parameters, verify_parameters, NumericCore = cs2
    directory = Path(directory)
    p = Parameters()
    p.numeric_params.update_model = lookup["update_model"]
    lut = p.numeric_params.dG_lookup
    lut.file_increasing = str(directory / lookup["file_increasing"])
    lut.file_decreasing = str(directory / lookup["file_decreasing"])
    lut.Gmin_relative = lookup["Gmin_relative"]
    lut.Gmax_relative = lookup["Gmax_relative"]
    lut.disable_writenoise = not write_noise
    with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # its table-swap warning: the exporter states polarity itself
        verify_parameters(p)
    core = NumericCore(p)
    g_hi = lut.Gmin_clip + (lut.Gmax_clip - lut.Gmin_clip) * lut.Gmax_relative
    swapped = Path(lut.file_increasing).name != lookup["file_increasing"]
    core.set_matrix(np.full((1, n_devices), g0 / g_hi), applyErrors=False)
    out = [core._read_matrix()[0].copy()]
    for d in directions:
        dw = lut.ave_dw_inc if (d > 0) != swapped else lut.ave_dw_dec
        core.update_matrix_burst(np.full((1, n_devices), dw), 1, 0)
        out.append(core._read_matrix()[0].copy())
    return np.array(out) * g_hi


# -- NeuroSim V3.0 harness -----------------------------------------------------------------------------------
#: the assignment lines of MLP_NeuroSim V3.0 Cell.cpp the export replaces, with their defaults, in source
#: order; IdealDevice comes first and shares the names (the sed script must leave it alone)
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
_SIGMA_CTOC = re.compile(r"^\s*sigmaCtoC\s*=\s*([-+.0-9eE]+)\s*\*\s*\(maxConductance - minConductance\)")


def get_param_a(nl: float) -> float:
    """formula.cpp getParamA: index = (int)(fabs(NL) * 100) - 1, clamped to [0, 899]; sign = NL > 0 ? 1 : -1."""
    index = min(max(int(math.fabs(nl) * 100) - 1, 0), 899)
    return (1 if nl > 0 else -1) * _table_a(index)


@functools.cache
def _table_a(index: int) -> float:
    """|A| of NeuroSim's table entry ``index`` (NL = (index + 1) / 100): computed once per entry, since the
    device-to-device replay looks one up per device (a bisection each, ~8 ms)."""
    from ..metrics import neurosim_a_from_nl

    return float(neurosim_a_from_nl((index + 1) / 100))


def _truncate(x: float, num_level: int, threshold: float = 0.5) -> float:
    if num_level <= 0:
        return x
    sign = -1 if x < 0 else 1
    val = x * num_level * sign
    r_val = int(val)
    val = r_val + 1 if val - r_val >= threshold else r_val
    return val * sign / num_level


class NeuroSimDevice:
    """MLP_NeuroSim V3.0 RealDevice: its constructor's assignments run in order, then ``Write`` for
    ``n`` devices at once; ``sigmaCtoC`` (fraction of the window, Gaussian per write) when ``noise``."""

    def __init__(self, source: str):
        ctor = source[source.index("RealDevice::RealDevice("):]
        ctor = ctor[: ctor.index("\n}") + 2]
        v: dict[str, Any] = {}
        for line in ctor.splitlines():
            m = _NUMERIC.match(line)
            s = _SIGMA_CTOC.match(line)
            if m:
                v[m.group(1)] = {"true": True, "false": False}.get(m.group(2), None)
                if v[m.group(1)] is None:
                    v[m.group(1)] = float(m.group(2))
            elif s:
                v["sigmaCtoC"] = float(s.group(1)) * (v["maxConductance"] - v["minConductance"])
            elif "paramALTP = getParamA(" in line:
                v["paramALTP"] = get_param_a(v["NL_LTP"]) * int(v["maxNumLevelLTP"])
            elif "paramALTD = getParamA(" in line:
                v["paramALTD"] = get_param_a(v["NL_LTD"]) * int(v["maxNumLevelLTD"])
        self.v = v
        self.max_g, self.min_g = v["maxConductance"], v["minConductance"]
        self.n_ltp, self.n_ltd = int(v["maxNumLevelLTP"]), int(v["maxNumLevelLTD"])

    def write(self, g: np.ndarray, delta_weight: float, rng: np.random.Generator | None = None,
              min_weight: float = -1.0, max_weight: float = 1.0) -> np.ndarray:
        n, a = (self.n_ltp, self.v["paramALTP"]) if delta_weight > 0 else (self.n_ltd, self.v["paramALTD"])
        num_pulse = int(_truncate(delta_weight / (max_weight - min_weight), n) * n)  # int numPulse (C truncation)
        with np.errstate(all="ignore"):  # IEEE as C's libm: log(0) = -inf, exp overflow = inf
            b = (self.max_g - self.min_g) / (1 - np.exp(-n / a))
            x_pulse = -a * np.log(1 - (g - self.min_g) / b)
            g_new = b * (1 - np.exp(-(x_pulse + num_pulse) / a)) + self.min_g
        if rng is not None and num_pulse != 0 and self.v.get("sigmaCtoC", 0.0) > 0:
            g_new = g_new + self.v["sigmaCtoC"] * rng.standard_normal(np.shape(g_new))
        return np.clip(g_new, self.min_g, self.max_g)


def apply_sed(script: Path, workdir: Path) -> str:
    """The exported sed script applied with the real ``sed`` to :data:`CELL_CPP` (returns the patched text)."""
    if shutil.which("sed") is None:
        raise FileNotFoundError("no sed binary to apply the exported script")
    cell = Path(workdir) / "Cell.cpp"
    cell.write_text(CELL_CPP, encoding="utf-8")
    subprocess.run(["sed", "-i", "-f", str(script), str(cell)], check=True)
    return cell.read_text(encoding="utf-8")


def replay_neurosim(patched: str, g0: float, directions, n_devices: int = 1, seed: int | None = None) -> np.ndarray:
    """Conductance (S), shape (pulses + 1, n_devices); each pulse is ``Write(+-2 / maxNumLevel)``. With a
    ``seed`` the variability is on: per device ``paramA = getParamA(NL + N(0, sigmaDtoD)) * maxNumLevel`` (one
    draw for LTP, one for LTD) and ``N(0, sigmaCtoC)`` per write."""
    dev = NeuroSimDevice(patched)
    rng = None if seed is None else np.random.default_rng(seed)
    sd = float(dev.v.get("sigmaDtoD", 0.0))
    if rng is not None and sd > 0:
        dev.v["paramALTP"] = np.array([get_param_a(dev.v["NL_LTP"] + x) for x in sd * rng.standard_normal(n_devices)]
                                      ) * dev.n_ltp
        dev.v["paramALTD"] = np.array([get_param_a(dev.v["NL_LTD"] + x) for x in sd * rng.standard_normal(n_devices)]
                                      ) * dev.n_ltd
    g = np.full(n_devices, float(g0))
    out = [g]
    for d in directions:
        g = dev.write(g, 2.0 / dev.n_ltp if d > 0 else -2.0 / dev.n_ltd, rng)
        out.append(g)
    return np.array(out)


# -- aihwkit ---------------------------------------------------------------------------------------------------
def replay_aihwkit_numpy(doc: dict, n_devices: int = 1024, seed: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """(nominal weights, ensemble weights devices x (pulses + 1)) from the file's fields (numpy replay)."""
    from . import aihwkit as A

    rule, f = doc["mapping"]["rule"], doc["fields"]
    w0, d = doc["response"]["w_physics"][0], doc["response"]["directions"]
    w_nom = A.rule_trace(rule, A.fields_to_kernel(rule, f), w0, np.asarray(d, float))
    return w_nom, A.replay_ensemble(rule, f, w0, d, n_devices, seed)


def replay_aihwkit_tile(doc: dict, n_devices: int, noise: bool = True) -> np.ndarray:
    """Weights (devices x (1 + pulses)) of real aihwkit devices from the file (lr = 1, x = +-1, d = -1)."""
    import torch
    from aihwkit.simulator.tiles.analog import AnalogTile

    from . import aihwkit as A

    if not noise:
        doc = {**doc, "fields": {**doc["fields"], "dw_min_std": 0.0, "dw_min_dtod": 0.0, "w_min_dtod": 0.0,
                                 "w_max_dtod": 0.0}}
    torch.manual_seed(0)
    cfg = A.build_rpu_config(doc, pulse_per_update=True)
    cfg.device.construction_seed = 1234
    tile = AnalogTile(n_devices, 1, cfg)
    tile.set_learning_rate(doc["update"]["learning_rate"])
    tile.set_weights(torch.full((n_devices, 1), doc["response"]["w_physics"][0], dtype=torch.float32))
    out = [tile.get_weights()[0][:, 0].double().numpy()]
    for d in doc["response"]["directions"]:
        tile.update(torch.tensor([d], dtype=torch.float32), -torch.ones(n_devices, dtype=torch.float32))
        out.append(tile.get_weights()[0][:, 0].double().numpy())
    return np.array(out).T


# -- MemTorch ----------------------------------------------------------------------------------------------------
def import_memtorch():
    """Import MemTorch (installed by ``.ci/install-memtorch.sh``). ``memtorch.utils`` imports torchvision for its
    dataset loaders only; where none loads on the CPU torch, a stand-in with the names it imports is used
    during the import and removed afterwards."""
    import types

    stand_in: dict[str, Any] = {}
    try:
        import torchvision  # noqa: F401
    except ImportError:
        tv = types.ModuleType("torchvision")
        tv.datasets = types.ModuleType("torchvision.datasets")
        tv.transforms = types.ModuleType("torchvision.transforms")
        tv.datasets.utils = types.ModuleType("torchvision.datasets.utils")
        for name in ("download_and_extract_archive", "download_url", "extract_archive", "verify_str_arg"):
            setattr(tv.datasets.utils, name, None)
        stand_in = {"torchvision": tv, "torchvision.datasets": tv.datasets, "torchvision.transforms": tv.transforms,
                    "torchvision.datasets.utils": tv.datasets.utils}
        stand_in = {k: v for k, v in stand_in.items() if k not in sys.modules}
        sys.modules.update(stand_in)
    try:
        with np.errstate():
            return importlib.import_module("memtorch")
    finally:
        for k in stand_in:
            sys.modules.pop(k, None)


def replay_memtorch(doc: dict, g0: float, directions, seed: int | None = None) -> np.ndarray:
    """Conductance (S) of the real MemTorch memristor built from the file, start included. With a ``seed``
    its StochasticParameter entries are sampled at construction (``torch.manual_seed(seed)``); without, the
    nominal device (each entry's ``nominal``, the card's value)."""
    from . import memtorch as M

    cls, params = M.build_params(doc)
    drive = doc["drive_voltage"]
    steps = int(doc["mapping"].get("steps_per_pulse", 1))
    pku = doc["model"] == "Stanford_PKU"
    if seed is not None:
        import torch

        torch.manual_seed(seed)
    else:  # the nominal device: the card's values in place of the StochasticParameter entries
        params = {k: doc["memristor_model_params"][k]["StochasticParameter"]["nominal"] if callable(v) else v
                  for k, v in params.items()}
    with np.errstate():  # MemTorch's simulate sets np.seterr(all="raise") process-wide
        dev = cls(**params)
        dev.set_conductance(g0)
        vr = params.get("read_voltage")

        def read():
            return dev.current(vr) / vr if pku else dev.g

        out = [read()]
        for d in directions:
            v = drive["potentiating"] if d > 0 else drive["depressing"]
            dev.simulate(np.full(steps, v) if pku else [v])
            out.append(read())
    return np.array(out, float)


# -- the sweep ---------------------------------------------------------------------------------------------------
@dataclass
class Check:
    """One claimed-vs-consumer comparison (errors as fractions of the window)."""

    card: str
    target: str
    what: str  # "nominal" or "ensemble mean"
    claimed: float | None
    consumer: float | None
    slack: float = 0.0  # Monte Carlo allowance added to the 10 % (ensemble means)
    note: str = ""
    condition: str = ""

    @property
    def ok(self) -> bool:
        if self.claimed is None or self.consumer is None:
            return False
        return abs(self.consumer - self.claimed) <= REL_TOL * self.claimed + max(ABS_FLOOR, self.slack)


@dataclass
class Sweep:
    checks: list[Check] = field(default_factory=list)

    def failures(self) -> list[Check]:
        return [c for c in self.checks if not c.ok]


def _span(resp: PhysicsResponse) -> float:
    return resp.g_max - resp.g_min


def check_export(card, resp: PhysicsResponse, target: str, workdir: Path, cs2=None,
                 n_devices: int = 1024, memtorch_devices: int = 64) -> list[Check]:
    """Export ``card`` (at ``resp``'s condition) to ``target`` and replay it in the consumer."""
    from . import export

    workdir = Path(workdir)
    cond = resp.condition.describe()
    base = {"card": card.name, "target": target, "condition": cond}
    to = "aihwkit" if target.startswith("aihwkit") else target
    out = {"aihwkit": "d.json", "crosssim": "cs", "neurosim": "d.sed", "memtorch": "m.json"}[to]
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            r = export(card, to, workdir / out, response=resp)
    except Exception as exc:  # an export that fails at the operating condition is a finding
        return [Check(**base, what="nominal", claimed=None, consumer=None,
                      note=f"export fails: {type(exc).__name__}: {str(exc).splitlines()[0][:160]}")]
    m = r.mapping
    claimed = float(m["rmse_relative_to_window"])
    span, g0, d = _span(resp), resp.g_nominal[0], resp.directions()
    checks: list[Check] = []
    ens_ref = resp.g_ensemble.mean(axis=0) if resp.g_ensemble is not None else None
    try:
        if to == "crosssim":
            if cs2 is None:
                raise RuntimeError("CrossSim 2.0 not loaded")
            meta = json.loads((workdir / out / "devicelib_export.json").read_text(encoding="utf-8"))
            lookup = meta["crosssim2_dG_lookup"]
            g = replay_crosssim2(cs2, workdir / out, lookup, g0, d)[:, 0]
            checks.append(Check(**base, what="nominal", claimed=claimed, consumer=_rel(g, resp.g_nominal, span)))
            if ens_ref is not None and "ensemble" in m:
                gn = replay_crosssim2(cs2, workdir / out, lookup, g0, d, n_devices=2 * n_devices, write_noise=True)
                se = float(np.sqrt(np.mean(gn.var(axis=1) * (1 / gn.shape[1] + 1 / m["ensemble"]["n_devices"]))))
                checks.append(Check(**base, what="ensemble mean", claimed=m["ensemble"]["rmse_relative_to_window"],
                                    consumer=_rel(gn.mean(axis=1), ens_ref, span), slack=3 * se / span))
        elif to == "neurosim":
            patched = apply_sed(workdir / out, workdir)
            g = replay_neurosim(patched, g0, d)[:, 0]
            checks.append(Check(**base, what="nominal", claimed=claimed, consumer=_rel(g, resp.g_nominal, span)))
            if ens_ref is not None and "ensemble" in m:
                gn = replay_neurosim(patched, g0, d, n_devices=2 * n_devices, seed=12345)
                se = float(np.sqrt(np.mean(gn.var(axis=1) * (1 / gn.shape[1] + 1 / m["ensemble"]["n_devices"]))))
                checks.append(Check(**base, what="ensemble mean", claimed=m["ensemble"]["rmse_relative_to_window"],
                                    consumer=_rel(gn.mean(axis=1), ens_ref, span), slack=3 * se / span))
        elif to == "memtorch":
            g = replay_memtorch(r.content, g0, d)
            checks.append(Check(**base, what="nominal", claimed=claimed, consumer=_rel(g, resp.g_nominal, span),
                                note=r.content["model"]))
            if ens_ref is not None and "ensemble" in m:
                n = memtorch_devices
                gs = np.array([replay_memtorch(r.content, g0, d, seed=i) for i in range(n)]).T
                se = float(np.sqrt(np.mean(gs.var(axis=1) * (1 / n + 1 / m["ensemble"]["n_devices"]))))
                checks.append(Check(**base, what="ensemble mean", claimed=m["ensemble"]["rmse_relative_to_window"],
                                    consumer=_rel(gs.mean(axis=1), ens_ref, span), slack=3 * se / span))
                checks.append(Check(**base, what="ensemble spread",
                                    claimed=m["ensemble"]["spread_rmse_relative_to_window"],
                                    consumer=_rel(gs.std(axis=1), resp.g_ensemble.std(axis=0), span),
                                    slack=3 * float(np.max(gs.std(axis=1))) / math.sqrt(2 * n) / span))
        else:
            from . import aihwkit as A

            doc = A.read(workdir / out)
            c = doc["weight_map"]["w_scale"]
            ens = m["ensemble"]
            if target == "aihwkit":
                w_nom, w = replay_aihwkit_numpy(doc, n_devices)
            else:
                w_nom = replay_aihwkit_tile(doc, 1, noise=False)[0]
                w = replay_aihwkit_tile(doc, n_devices)
            nominal = _rel(resp.to_conductance(w_nom / c), resp.g_nominal, span)
            checks.append(Check(**base, what="nominal", claimed=claimed, consumer=nominal, note=m["rule"]))
            got = A.ensemble_errors(resp, w.mean(axis=0), w.std(axis=0), c)
            floor = 3.0 * float(np.max(w.std(axis=0))) / c / 2.0 / math.sqrt(w.shape[0])
            for key, what in (("mean_rmse_relative_to_window", "ensemble mean"),
                              ("spread_rmse_relative_to_window", "ensemble spread")):
                checks.append(Check(**base, what=what, claimed=ens[key], consumer=got[key], slack=floor))
    except Exception as exc:
        checks.append(Check(**base, what="nominal", claimed=claimed, consumer=None,
                            note=f"consumer fails: {type(exc).__name__}: {str(exc).splitlines()[0][:160]}"))
    return checks


def operating_response(card) -> PhysicsResponse:
    """The physics response at the card's default (``[operating]``) condition, as ``export`` simulates it."""
    from . import _check_polarity, _longer_width
    from .common import NoResponseError, prepare_condition, simulate_response

    cond, _ = prepare_condition(card)
    try:
        resp = simulate_response(card, cond)
    except NoResponseError as exc:
        if card.operating_value("width") is not None or card.validity_range("width") is None:
            raise
        resp = _longer_width(card, cond, exc)
    _check_polarity(card, resp)
    return resp


def sweep(cards, targets=FAST, crosssim2_source: Path | None = None, n_devices: int = 1024,
          progress=None) -> Sweep:
    """Every card x every target at the card's operating condition (one physics response per card)."""
    cs2 = load_crosssim2(crosssim2_source) if "crosssim" in targets and crosssim2_source is not None else None
    result = Sweep()
    for card in cards:
        try:
            resp = operating_response(card)
        except Exception as exc:
            c = Check(card.name, "(all)", "nominal", None, None,
                      note=f"no response: {type(exc).__name__}: {str(exc).splitlines()[0][:160]}")
            result.checks.append(c)
            if progress:
                progress(c)
            continue
        for target in targets:
            with tempfile.TemporaryDirectory(prefix="devicelib_sweep_") as tmp:
                checks = check_export(card, resp, target, Path(tmp), cs2=cs2, n_devices=n_devices)
            result.checks.extend(checks)
            if progress:
                for c in checks:
                    progress(c)
    return result


def _pct(x: float | None) -> str:
    if x is None:
        return "—"
    return f"{100 * x:.3g}"


def markdown_table(checks: list[Check]) -> str:
    """Claimed vs consumer errors (% of the window), one row per card, target and figure."""
    lines = ["| card | target | figure | claimed (%) | consumer (%) | within 10 % | note |",
             "|---|---|---|---|---|---|---|"]
    for c in checks:
        lines.append(f"| `{c.card}` | {CONSUMERS.get(c.target, c.target)} | {c.what} | {_pct(c.claimed)} | "
                     f"{_pct(c.consumer)} | {'yes' if c.ok else '**no**'} | {c.note} |")
    return "\n".join(lines)


__all__ = ["CELL_CPP", "CONSUMERS", "FAST", "Check", "NeuroSimDevice", "Sweep", "apply_sed", "check_export",
           "load_crosssim2", "markdown_table", "operating_response", "replay_aihwkit_numpy",
           "replay_aihwkit_tile", "replay_crosssim2", "replay_memtorch", "replay_neurosim", "sweep"]
