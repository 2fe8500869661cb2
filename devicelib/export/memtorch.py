r"""Export to MemTorch: keyword parameters for the closest ``memtorch.bh.memristor`` model.

``vcm.stanford_pku`` cards map one to one onto MemTorch's ``Stanford_PKU``
model (the same Guan/Yu/Wong equations): ``g_0 = g0``, ``V_0 = V0``,
``I_0 = I0``, ``vel_0 = nu0``, ``E_a = Ea`` (eV), ``a_0 = a0``,
``gamma_init = gamma0``, ``beta``, ``t_ox``, ``R_th``, ``T_init`` = ambient
temperature, ``F_min = 0`` (no field threshold in devicelib's model),
``model_switch = 0``; ``r_on``/``r_off`` are chosen so MemTorch's derived gap
bounds equal ``g_min``/``g_max`` exactly at the read voltage. MemTorch fixes the
gap normalisation of gamma at 1 nm (devicelib's ``g1``): a card with another
``g1`` is rejected. MemTorch integrates with explicit Euler at
``time_series_resolution``; the exporter halves it until MemTorch's update
(replayed here exactly, including its use of the previous step's current for
the Joule temperature, which is zero at the start of each pulse) matches the
physics, or until halving no longer helps, and reports the remaining difference as the mapping
error (MemTorch's rounded constants ``q = 1.6e-19`` C and ``k_B = 1.3806503e-23``
J/K shift the Arrhenius factor by a few per cent).

Other families map onto ``Data_Driven2021``, whose one-step resistance update
at a constant voltage, ``R' = (R + s r (r - R) dt)/(1 + s (r - R) dt)``, makes
``1/(r - R)`` grow by ``s dt`` per step: a closed form fitted to each branch
(``r_p``/``r_n`` = [r, 0], ``A_p``/``A_n`` from ``s`` with MemTorch's default
``t_p``/``t_n``, ``time_series_resolution`` = pulse width). ``Data_Driven2021``
picks its branch by the *sign* of the applied voltage and each branch moves one
way only: V > 0 lowers R towards ``r_p`` (a step that would end below it leaves
R unchanged), V < 0 raises R towards ``r_n``. The potentiation fit therefore
goes into the p branch and the depression fit into the n branch whatever the
device's physical polarity, and the export writes the values to drive MemTorch
with, ``drive_voltage`` = {"potentiating": +|V_up|, "depressing": -|V_down|}: for a
device potentiated by a negative pulse (ENODe, the nickelate) or depressed by a
positive RESET (PCM) these differ in sign from the physical pulses. The mapping
error replays MemTorch's update step by step (:func:`replay_data_driven`: its
branch test, its freeze rule and its clip to [r_on, r_off]).

Reading the conductance: ``Stanford_PKU`` keeps an attribute ``g`` that its
``simulate`` sets to the chord conductance at the *write* voltage of the
previous sample (one step late); the conductance this export describes is
``current(read_voltage) / read_voltage`` (what its ``set_conductance`` inverts).
``Data_Driven2021``'s ``g`` is 1/R. MemTorch's ``simulate`` calls
``np.seterr(all="raise")`` and leaves it set for the whole process: wrap calls in
``with np.errstate():`` to restore numpy's error handling afterwards.

Device-to-device spread of card parameters (``[variability] d2d``, log-normal
sigma) becomes ``StochasticParameter`` entries
``{"StochasticParameter": {"loc", "scale", "min", "max"}}`` (normal with the
same mean and standard deviation, clipped to the parameter's bounds);
:func:`build_params` turns them into ``memtorch.bh.StochasticParameter`` objects.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
from scipy.optimize import least_squares

from ..catalog import Card
from ..units import q_e
from .common import (
    EXPORT_SCHEMA_VERSION,
    ExportError,
    ExportResult,
    PhysicsResponse,
    PulseCondition,
    mapping_record,
    provenance,
    require_positive,
    rmse,
    write_json,
)

FORMAT = "devicelib.export.memtorch"
MT_Q = 1.6e-19  # MemTorch's constants in Stanford_PKU.dg_dt
MT_KB = 1.3806503e-23
DD_T_P, DD_T_N = -0.0212028, -0.05343997  # MemTorch Data_Driven2021 defaults


# -- Stanford_PKU ----------------------------------------------------------------------------------
def stanford_pku_params(card: Card, cond: PulseCondition, steps_per_pulse: int) -> dict[str, Any]:
    p = card.model().params
    if abs(float(p["g1"]) - 1e-9) > 1e-15:
        raise ExportError(f"{card.name}: MemTorch's Stanford_PKU fixes g1 = 1 nm, the card has {float(p['g1'])} m")
    vr = cond.read_voltage
    per_gap = float(p["I0"]) * math.sinh(vr / float(p["V0"])) / vr

    def r_at(gap):
        return 1.0 / (per_gap * math.exp(-gap / float(p["g0"])))

    return {
        "time_series_resolution": cond.width / steps_per_pulse,
        "r_off": r_at(float(p["g_max"])),
        "r_on": r_at(float(p["g_min"])),
        "gap_init": float(p["g_max"]),
        "g_0": float(p["g0"]), "V_0": float(p["V0"]), "I_0": float(p["I0"]),
        "read_voltage": vr,
        "T_init": cond.temperature,
        "R_th": float(p["R_th"]),
        "gamma_init": float(p["gamma0"]), "beta": float(p["beta"]), "t_ox": float(p["t_ox"]),
        "F_min": 0.0,
        "vel_0": float(p["nu0"]),
        "E_a": float(p["Ea"]) / q_e,
        "a_0": float(p["a0"]),
        "delta_g_init": 0.0, "model_switch": 0,
    }


def replay_stanford_pku(kw: dict[str, Any], resp: PhysicsResponse, steps_per_pulse: int) -> np.ndarray:
    """MemTorch's Stanford_PKU.simulate (model_switch 0) called once per pulse; conductance in S.

    Parameters may be arrays (one value per device, e.g. sampled StochasticParameter values): the result is
    then (pulses + 1, devices)."""
    arr = {k: np.asarray(v, dtype=float) for k, v in kw.items() if isinstance(v, (int, float, np.ndarray))}
    vr = arr["read_voltage"]
    per_gap = arr["I_0"] * np.sinh(vr / arr["V_0"]) / vr
    gap_min = arr["g_0"] * np.log(per_gap * arr["r_on"])
    gap_max = arr["g_0"] * np.log(per_gap * arr["r_off"])
    cond = resp.condition
    gap = np.clip(arr["g_0"] * np.log(per_gap / resp.g_nominal[0]), gap_min, gap_max)
    dt = arr["time_series_resolution"]
    out = [per_gap * np.exp(-gap / arr["g_0"])]
    for d in resp.directions():
        v = cond.amplitude_up if d > 0 else cond.amplitude_down
        current = 0.0
        for _ in range(steps_per_pulse):
            gamma = arr["gamma_init"] - arr["beta"] * (gap / 1e-9) ** 3
            gamma = np.where(gamma * abs(v) / arr["t_ox"] < arr["F_min"], 0.0, gamma)
            temp = arr["T_init"] + np.abs(v * current * arr["R_th"])
            rate = -arr["vel_0"] * np.exp(-MT_Q * arr["E_a"] / MT_KB / temp) * np.sinh(
                gamma * arr["a_0"] / arr["t_ox"] * MT_Q * v / MT_KB / temp)
            gap = np.clip(gap + rate * dt, gap_min, gap_max)
            current = arr["I_0"] * np.exp(-gap / arr["g_0"]) * np.sinh(v / arr["V_0"])
        out.append(per_gap * np.exp(-gap / arr["g_0"]))
    return np.array(np.broadcast_arrays(*out))  # the start is one value when only the dynamics vary


def sample_stochastic(kw: dict[str, Any], n_devices: int, seed: int = 0) -> dict[str, Any]:
    """``kw`` with each StochasticParameter entry replaced by ``n_devices`` draws, as MemTorch samples it at
    construction (``Normal(loc, scale).sample().clamp(min, max)``); the other entries stay scalars."""
    rng = np.random.default_rng(seed)
    out = dict(kw)
    for k, v in kw.items():
        if isinstance(v, dict) and "StochasticParameter" in v:
            sp = v["StochasticParameter"]
            out[k] = np.clip(sp["loc"] + sp["scale"] * rng.standard_normal(n_devices), sp["min"], sp["max"])
    return out


def ensemble_record(kw: dict[str, Any], resp: PhysicsResponse, steps_per_pulse: int,
                    n_devices: int = 256, seed: int = 0) -> dict[str, Any] | None:
    """Mean and spread of MemTorch Stanford_PKU devices built from the StochasticParameter entries against
    devicelib's ensemble (None without an ensemble or without stochastic entries)."""
    if resp.g_ensemble is None or not any(isinstance(v, dict) for v in kw.values()):
        return None
    g = replay_stanford_pku(sample_stochastic(kw, n_devices, seed), resp, steps_per_pulse)
    span = resp.g_max - resp.g_min
    return {"rmse_relative_to_window": rmse(g.mean(axis=1), resp.g_ensemble.mean(axis=0)) / span,
            "spread_rmse_relative_to_window": rmse(g.std(axis=1), resp.g_ensemble.std(axis=0)) / span,
            "n_devices": n_devices, "seed": seed,
            "protocol": "Stanford_PKU devices with their StochasticParameter values sampled (normal, clamped) "
                        "against the physics ensemble (card d2d variability)"}


# -- Data_Driven2021 ---------------------------------------------------------------------------------
def _dd_branch(r_trace: np.ndarray) -> tuple[float, float, np.ndarray]:
    """Fit R_k = r - 1/(1/(r - R_0) + c k) to one branch (least squares in R, refined in G = 1/R);
    returns (r, c, fitted trace)."""
    k = np.arange(r_trace.size, dtype=float)
    r0 = r_trace[0]
    going_down = r_trace[-1] < r0
    end = r_trace[-1]

    def model(x):
        r, c = x
        u0 = r - r0
        return r - 1.0 / (1.0 / u0 + c * k)

    span = abs(end - r0)
    if going_down:  # r below the end, c < 0 (u < 0, |u| shrinks)
        # r must stay in [0, end): a 10 % margin below the end, or half the end when the swing is large
        x0, lo, hi = [end - min(0.1 * span, 0.5 * end), -1.0 / span], [0.0, -np.inf], [end - 1e-9 * span, 0.0]
    else:
        x0, lo, hi = [end + 0.1 * span, 1.0 / span], [end + 1e-9 * span, 0.0], [np.inf, np.inf]
    scale = np.array([span, 1.0 / span])
    bounds = (np.array(lo) / scale, np.array(hi) / scale)
    res = least_squares(lambda x: (model(x * scale) - r_trace) / span, np.array(x0) / scale, bounds=bounds)
    # then in conductance, the quantity the mapping error is stated in: a fit in R is dominated by the
    # high-resistance end (e.g. a PCM staircase that leaves the RESET level slowly: 52 % of the window in G)
    g_trace = 1.0 / r_trace
    g_span = max(float(np.ptp(g_trace)), 1e-300)
    if going_down:  # keep r_p representable: in G the optimum can run to r = 0 (MemTorch then underflows)
        bounds = (np.maximum(bounds[0], np.array([1e-3 * end, -np.inf]) / scale), bounds[1])
    res = least_squares(lambda x: (1.0 / model(x * scale) - g_trace) / g_span,
                        np.clip(res.x, bounds[0], bounds[1]), bounds=bounds)
    r, c = res.x * scale
    return float(r), float(c), model((r, c))


def drive_voltages(model: str, cond: PulseCondition) -> dict[str, float]:
    """The values to pass to MemTorch's ``simulate`` for one potentiating / depressing pulse."""
    if model == "Stanford_PKU":  # a physical model: the physical signed voltages
        return {"potentiating": cond.amplitude_up, "depressing": cond.amplitude_down}
    # Data_Driven2021: the sign selects the branch (V > 0 lowers R, V < 0 raises it)
    return {"potentiating": abs(cond.amplitude_up), "depressing": -abs(cond.amplitude_down)}


def replay_data_driven(kw: dict[str, Any], resp: PhysicsResponse) -> np.ndarray:
    """MemTorch's Data_Driven2021 (``set_conductance`` then one ``simulate`` sample per pulse), in S."""
    drive = drive_voltages("Data_Driven2021", resp.condition)
    dt = kw["time_series_resolution"]
    r_on, r_off = kw["r_on"], kw["r_off"]
    res = 1.0 / min(max(resp.g_nominal[0], 1.0 / r_off), 1.0 / r_on)
    out = [1.0 / res]
    for d in resp.directions():
        v = drive["potentiating"] if d > 0 else drive["depressing"]
        if v > 0:
            r = kw["r_p"][0] + kw["r_p"][1] * v
            s = kw["A_p"] * math.expm1(abs(v) / kw["t_p"])
        else:
            r = kw["r_n"][0] + kw["r_n"][1] * v
            s = kw["A_n"] * math.expm1(abs(v) / kw["t_n"])
        new = (res + s * r * (r - res) * dt) / (1.0 + s * (r - res) * dt)
        if (v > 0 and new >= r) or (v < 0 and new <= r):
            res = max(min(new, r_off), r_on)
        out.append(1.0 / res)
    return np.array(out)


def data_driven_params(resp: PhysicsResponse) -> tuple[dict[str, Any], np.ndarray]:
    cond = resp.condition
    r_up = 1.0 / resp.up
    r_dn = 1.0 / resp.down
    rp, cp, _ = _dd_branch(r_up)
    rn, cn, _ = _dd_branch(r_dn)
    dt = cond.width
    # s dt = c with s = A (exp(|V|/t) - 1)
    a_p = cp / dt / math.expm1(abs(cond.amplitude_up) / DD_T_P)
    a_n = cn / dt / math.expm1(abs(cond.amplitude_down) / DD_T_N)
    kw = {
        "time_series_resolution": dt,
        "r_off": 1.0 / resp.g_min, "r_on": 1.0 / resp.g_max,
        "A_p": a_p, "A_n": a_n, "t_p": DD_T_P, "t_n": DD_T_N,
        "r_p": [rp, 0.0], "r_n": [rn, 0.0],
    }
    return kw, replay_data_driven(kw, resp)


# -- variability -------------------------------------------------------------------------------------
def stochastic_entries(card: Card, kw: dict[str, Any], names: dict[str, str], scale: dict[str, float]):
    """Replace d2d-varied card parameters by StochasticParameter descriptions (normal, same mean and std)."""
    var = card.variability
    if var is None:
        return kw
    cls = card.model_class()
    for pname, sigma in var.d2d.items():
        if not sigma or pname not in names:
            continue
        key = names[pname]
        p = cls.parameter(pname)
        base = float(card.model().params[pname])
        if p.bounds[0] > 0:  # log-normal in devicelib: match mean and std
            mean = base * math.exp(0.5 * sigma**2)
            std = mean * math.sqrt(math.expm1(sigma**2))
        else:
            mean, std = base, sigma * abs(base)
        f = scale.get(pname, 1.0)
        kw[key] = {"StochasticParameter": {"distribution": "torch.distributions.normal.Normal",
                                           "loc": mean * f, "scale": std * f,
                                           "min": p.bounds[0] * f, "max": p.bounds[1] * f,
                                           "nominal": base * f}}  # the card's value (the nominal device)
    return kw


PKU_NAMES = {"g0": "g_0", "V0": "V_0", "I0": "I_0", "nu0": "vel_0", "Ea": "E_a", "a0": "a_0", "gamma0": "gamma_init",
             "beta": "beta", "t_ox": "t_ox", "R_th": "R_th"}


def map_response(card: Card, resp: PhysicsResponse, max_steps: int = 4096, rtol: float = 0.01) -> dict[str, Any]:
    require_positive(resp, "MemTorch")
    cond = resp.condition
    if card.model_name == "vcm.stanford_pku":
        steps, prev = 16, np.inf
        while True:
            kw = stanford_pku_params(card, cond, steps)
            g_rule = replay_stanford_pku(kw, resp, steps)
            err = float(np.sqrt(np.mean((g_rule - resp.g_nominal) ** 2)))
            # stop when close enough, or when halving the step no longer helps (MemTorch's own
            # constants q = 1.6e-19 C, k_B = 1.3806503e-23 J/K then dominate the difference)
            if err <= rtol * (resp.g_max - resp.g_min) or steps >= max_steps or err > 0.9 * prev:
                break
            steps, prev = steps * 2, err
        kw = stochastic_entries(card, kw, PKU_NAMES, {"Ea": 1.0 / q_e})
        model = "Stanford_PKU"
        ens = ensemble_record(kw, resp, steps)
        extra = {"ensemble": ens} if ens is not None else {}
        extra |= {"steps_per_pulse": steps,
                 "note": "apply each pulse as steps_per_pulse samples of the pulse voltage; read the conductance "
                         "as current(read_voltage) / read_voltage, not the model's g"}
    else:
        kw, g_rule = data_driven_params(resp)
        model = "Data_Driven2021"
        extra = {"steps_per_pulse": 1, "note": "phenomenological fit (closed form per branch) at this condition; "
                                               "drive with drive_voltage (its sign selects MemTorch's branch)"}
    record = mapping_record(f"MemTorch {model}", resp, g_rule, **extra)
    return {"model": model, "params": kw, "mapping": record, "g_rule": g_rule,
            "drive_voltage": drive_voltages(model, cond)}


def write(card: Card, cond: PulseCondition, resp: PhysicsResponse, out: Path) -> ExportResult:
    out = Path(out)
    if out.suffix.lower() != ".json":
        raise ExportError(f"memtorch export writes a .json file, got {out.name!r}")
    mapped = map_response(card, resp)
    doc = {
        "format": FORMAT, "schema_version": EXPORT_SCHEMA_VERSION,
        "model": mapped["model"],
        "memristor_model": f"memtorch.bh.memristor.{mapped['model']}",
        "memristor_model_params": mapped["params"],
        "drive_voltage": mapped["drive_voltage"],
        "conductance_readout": ("current(read_voltage) / read_voltage" if mapped["model"] == "Stanford_PKU"
                                else "g (= 1 / R)"),
        "units": {"time_series_resolution": "s", "r_on": "ohm", "r_off": "ohm", "E_a": "eV", "T_init": "K",
                  "g_0": "m", "a_0": "m", "t_ox": "m", "gap_init": "m", "vel_0": "m/s", "I_0": "A", "V_0": "V",
                  "read_voltage": "V", "R_th": "K/W", "r_p": "ohm", "r_n": "ohm",
                  "drive_voltage": "V (MemTorch's argument; for a current-driven card the amplitude in A)"},
        "retention_model_kwargs": None,
        "mapping": mapped["mapping"],
        "pulse_condition": cond.to_dict(),
        "provenance": provenance(card, cond, "memtorch"),
    }
    write_json(out, doc)
    return ExportResult("memtorch", [out], cond, doc["mapping"], doc, doc["provenance"]["validity_warnings"])


def read(path: str | Path) -> dict[str, Any]:
    path = Path(path)
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ExportError(f"{path}: no such file") from None
    if doc.get("format") != FORMAT:
        raise ExportError(f"{path}: not a devicelib MemTorch export")
    return doc


def build_params(path_or_doc) -> tuple[Any, dict[str, Any]]:
    """(MemTorch model class, memristor_model_params with StochasticParameter objects); needs memtorch."""
    doc = path_or_doc if isinstance(path_or_doc, dict) else read(path_or_doc)
    import memtorch  # optional dependency
    import torch

    params = {}
    for k, v in doc["memristor_model_params"].items():
        if isinstance(v, dict) and "StochasticParameter" in v:
            s = v["StochasticParameter"]
            params[k] = memtorch.bh.StochasticParameter(distribution=torch.distributions.normal.Normal,
                                                        loc=s["loc"], scale=s["scale"], min=s["min"], max=s["max"])
        else:
            params[k] = v
    return getattr(memtorch.bh.memristor, doc["model"]), params
