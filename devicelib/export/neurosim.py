r"""Export to NeuroSim (MLP_NeuroSim V3.0 ``Cell.cpp``; DNN_NeuroSim V2.1 training arguments).

NeuroSim reads no parameter file: its device is the C++ constructor
``RealDevice::RealDevice`` in ``Cell.cpp``. This exporter writes a *sed script*
that replaces, inside that constructor only, the number of each assignment it
sets (``maxConductance``, ``minConductance``, ``readVoltage``,
``writeVoltageLTP/LTD``, ``writePulseWidthLTP/LTD``, ``maxNumLevelLTP/LTD``,
``NL_LTP``, ``NL_LTD``, ``sigmaDtoD``, the factor of ``sigmaCtoC`` and
``nonlinearWrite = true``). Apply it with ``sed -i -f export.sed Cell.cpp``. The
lines NeuroSim derives from these further down the constructor (``paramALTP =
getParamA(NL_LTP + ...) * maxNumLevelLTP``, ``paramALTD``, ``gaussian_dist3`` from
``sigmaCtoC``) are left in place and so use the new values. The DNN_NeuroSim
V2.1 ``train.py`` arguments follow as comments.

NeuroSim's device (``RealDevice::Write``, ``formula.cpp``): G(x) = B (1 - exp(-x/A))
+ Gmin with B = (Gmax - Gmin) / (1 - exp(-n/A)), n = ``maxNumLevel``, A =
``getParamA(NL) * n``. A write of ``deltaWeight`` (weights in [-1, 1]) becomes
``numPulse = (int)(truncate(deltaWeight / 2, n) * n)`` pulses; the present G is
placed on the curve (``x = -A ln(1 - (G - Gmin)/B)``), moved by ``numPulse`` and
clipped to [Gmin, Gmax]. LTD uses the same form with its own A (negative for a
negative label) and ``numPulse < 0``. ``getParamA`` looks |NL| up in a table of
0.01 steps with C truncation, ``index = (int)(|NL| * 100) - 1``, clamped to
[0, 899]: labels beyond 9 act as 9, and a label printed as ``4.35`` selects the
4.34 entry (4.35 * 100 = 434.999...). The exporter therefore writes labels at the
middle of their 0.01 cell (``4.355`` selects 4.35) and chooses them, for each of
LTP and LTD, as the table entry whose replay is closest to the physics.

The mapping error is the RMSE of the physics trace against that replay
(:func:`replay`: NeuroSim's own arithmetic, one pulse per write, no noise). The
level counts are the pulses of the trains, moved to the nearest n for which
``(1.0 / n) * n == 1.0`` in double: for n = 49, 161, 322, ... NeuroSim's
integer pulse count of a one-pulse write is 0 and the device never moves.

Cycle-to-cycle noise in NeuroSim is absolute, ``N(0, sigmaCtoC) sqrt(|numPulse|)``
with ``sigmaCtoC`` written as a fraction of (Gmax - Gmin); device-to-device
variation ``sigmaDtoD`` is the standard deviation of the NL label across
devices (fitted per device of the ensemble). NeuroSim has no write-current
field: for a current-driven card the write currents are written as comments and
``writeVoltageLTP/LTD`` are left untouched (they only enter NeuroSim's write
energy, which then does not describe the device).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import numpy as np

from ..catalog import Card, atomic_write_text
from ..metrics import fit_neurosim, neurosim_a_from_nl
from .common import (
    ExportError,
    ExportResult,
    PhysicsResponse,
    PulseCondition,
    mapping_record,
    provenance,
    require_positive,
    rmse,
)

FORMAT = "devicelib.export.neurosim"
SCHEMA = 2
NL_MAX = 9.0  # getParamA's table ends at |NL| = 9.00
ENSEMBLE_DEVICES = 1000
#: all labels NeuroSim distinguishes: +-0.01 ... +-9.00 (table entries 1 ... 900)
_ENTRIES = np.arange(1, 901)
_A_TABLE = np.asarray(neurosim_a_from_nl(_ENTRIES / 100.0))  # the closed form reproduces the printed table


# -- NeuroSim's arithmetic ----------------------------------------------------------------
def param_a(nl: float) -> float:
    """``getParamA(NL)`` of MLP_NeuroSim V3.0 (A / maxNumLevel), with its C index arithmetic and clamp."""
    index = min(max(int(abs(nl) * 100.0) - 1, 0), 899)
    return (1.0 if nl > 0 else -1.0) * float(_A_TABLE[index])


def label_text(entry: int, sign: float) -> str:
    """The label for table entry ``entry`` (1..900 = |NL| 0.01..9.00), written mid-cell so C selects it."""
    return f"{'-' if sign < 0 else ''}{(entry + 0.5) / 100.0:.3f}"


def _truncate(x: float, n: int) -> float:
    """``truncate(x, numLevel)`` of formula.cpp (threshold 0.5)."""
    if n <= 0:
        return x
    sign = -1 if x < 0 else 1
    val = x * n * sign
    r = int(val)
    val = r + 1 if val - r >= 0.5 else r
    return val * sign / n


def pulses_per_write(n: int, up: bool) -> int:
    """NeuroSim's integer pulse count for a one-pulse write (deltaWeight = +-2/n, weights in [-1, 1])."""
    dw = (2.0 / n if up else -2.0 / n) / 2.0
    return int(_truncate(dw, n) * n)  # C's (int) truncates toward zero


def safe_levels(n: int) -> int:
    """The level count nearest ``n`` (>= 2) whose one-pulse write is one pulse in NeuroSim's arithmetic."""
    for k in range(0, n):
        for cand in (n + k, n - k):
            if cand >= 2 and pulses_per_write(cand, True) == 1 and pulses_per_write(cand, False) == -1:
                return cand
    raise ExportError(f"no NeuroSim level count near {n} survives its pulse arithmetic")


def _write(g, num: int, n: int, a_norm, g_lo: float, g_hi: float, noise=None):
    """RealDevice::Write's nonlinear branch for ``num`` pulses (vectorised over G and/or A), plus the
    cycle-to-cycle term ``noise`` (S, drawn by the caller) when given, then the clip (NeuroSim's order)."""
    a = np.asarray(a_norm, dtype=float) * n
    b = (g_hi - g_lo) / (1.0 - np.exp(-n / a))
    x = -a * np.log(1.0 - (g - g_lo) / b)
    g_new = b * (1.0 - np.exp(-(x + num) / a)) + g_lo
    if noise is not None:
        g_new = g_new + noise
    return np.clip(g_new, g_lo, g_hi)


def replay_branch(g0, n_pulses: int, up: bool, n_levels: int, a_norm, g_lo: float, g_hi: float) -> np.ndarray:
    """G after each of ``n_pulses`` one-pulse writes (start included), shape (n_pulses + 1, *a_norm.shape)."""
    num = pulses_per_write(n_levels, up)
    g = np.broadcast_to(np.asarray(g0, dtype=float), np.shape(a_norm)).astype(float)
    out = [g]
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        for _ in range(n_pulses):
            g = _write(g, num, n_levels, a_norm, g_lo, g_hi) if num != 0 else g
            out.append(g)
    return np.array(out)


def replay(resp: PhysicsResponse, nl_ltp: float, nl_ltd: float, n_ltp: int | None = None,
           n_ltd: int | None = None) -> np.ndarray:
    """NeuroSim's RealDevice (no noise) on the same pulses, from the same start, in S.

    ``nl_*`` are the labels as NeuroSim reads them (through :func:`param_a`); ``n_*`` the
    ``maxNumLevel`` values (default: the pulses of the trains). Window: [g_min, g_max] of the response.
    """
    n_ltp = resp.n_up if n_ltp is None else int(n_ltp)
    n_ltd = resp.n_down if n_ltd is None else int(n_ltd)
    g_lo, g_hi = resp.g_min, resp.g_max
    up = replay_branch(resp.g_nominal[0], resp.n_up, True, n_ltp, param_a(nl_ltp), g_lo, g_hi)
    dn = replay_branch(up[-1], resp.n_down, False, n_ltd, param_a(nl_ltd), g_lo, g_hi)
    return np.concatenate([up, dn[1:]])


def replay_ensemble(resp: PhysicsResponse, nl_ltp: float, nl_ltd: float, n_ltp: int, n_ltd: int,
                    sigma_dtod: float, sigma_ctoc: float, n_devices: int = ENSEMBLE_DEVICES,
                    seed: int = 0) -> np.ndarray:
    """G (S), shape (pulses + 1, n_devices), of NeuroSim devices with its variability on.

    As ``RealDevice``: each device draws ``paramALTP = getParamA(NL_LTP + N(0, sigmaDtoD)) * maxNumLevelLTP``
    (and LTD with its own draw) at construction; each write adds ``N(0, sigmaCtoC) sqrt(|numPulse|)`` before
    the clip, with ``sigmaCtoC = sigma_ctoc (Gmax - Gmin)``."""
    rng = np.random.default_rng(seed)
    g_lo, g_hi = resp.g_min, resp.g_max
    a_up = np.array([param_a(nl_ltp + x) for x in sigma_dtod * rng.standard_normal(n_devices)])
    a_dn = np.array([param_a(nl_ltd + x) for x in sigma_dtod * rng.standard_normal(n_devices)])
    sig = sigma_ctoc * (g_hi - g_lo)
    g = np.full(n_devices, float(resp.g_nominal[0]))
    out = [g]
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        for d in resp.directions():
            up = d > 0
            n = n_ltp if up else n_ltd
            num = pulses_per_write(n, up)
            if num != 0:
                noise = sig * np.sqrt(abs(num)) * rng.standard_normal(n_devices) if sig > 0 else None
                g = _write(g, num, n, a_up if up else a_dn, g_lo, g_hi, noise)
            out.append(g)
    return np.array(out)


def _best_entry(g0: float, target: np.ndarray, up: bool, n_levels: int, g_lo: float, g_hi: float):
    """The signed table entry whose replay of one branch is closest to ``target`` (start excluded)."""
    a = np.concatenate([_A_TABLE, -_A_TABLE])
    traces = replay_branch(g0, target.size, up, n_levels, a, g_lo, g_hi)[1:]
    err = np.sqrt(np.nanmean((traces - target[:, None]) ** 2, axis=0))
    err = np.where(np.isfinite(err), err, np.inf)
    k = int(np.argmin(err))
    entry = int(_ENTRIES[k % _ENTRIES.size])
    return entry, (1.0 if k < _ENTRIES.size else -1.0)


# -- mapping -----------------------------------------------------------------------------
def map_response(resp: PhysicsResponse) -> dict[str, Any]:
    require_positive(resp, "NeuroSim")  # its cell model uses the on/off ratio and 1/minConductance
    cond = resp.condition
    ltp_fit = fit_neurosim(resp.up, "ltp")
    ltd_fit = fit_neurosim(resp.down, "ltd")
    n_ltp, n_ltd = safe_levels(resp.n_up), safe_levels(resp.n_down)
    g_lo, g_hi = resp.g_min, resp.g_max
    e_ltp, s_ltp = _best_entry(resp.g_nominal[0], resp.up[1:], True, n_ltp, g_lo, g_hi)
    t_ltp = label_text(e_ltp, s_ltp)
    g_up = replay_branch(resp.g_nominal[0], resp.n_up, True, n_ltp, param_a(float(t_ltp)), g_lo, g_hi)
    e_ltd, s_ltd = _best_entry(g_up[-1], resp.down[1:], False, n_ltd, g_lo, g_hi)
    t_ltd = label_text(e_ltd, s_ltd)
    g_rule = replay(resp, float(t_ltp), float(t_ltd), n_ltp, n_ltd)
    span = g_hi - g_lo
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
    values: dict[str, Any] = {
        "maxConductance": g_hi,
        "minConductance": g_lo,
        "readVoltage": cond.read_voltage,
    }
    if cond.amplitude_unit == "V":
        values["writeVoltageLTP"] = abs(cond.amplitude_up)
        values["writeVoltageLTD"] = abs(cond.amplitude_down)
    else:  # NeuroSim has no write-current field; see the module docstring
        values["writeCurrentLTP"] = abs(cond.amplitude_up)
        values["writeCurrentLTD"] = abs(cond.amplitude_down)
    values.update({
        "writePulseWidthLTP": cond.width,
        "writePulseWidthLTD": cond.width,
        "maxNumLevelLTP": n_ltp,
        "maxNumLevelLTD": n_ltd,
        "NL_LTP": float(t_ltp),
        "NL_LTD": float(t_ltd),
        "sigmaDtoD": sigma_dtod,
        "sigmaCtoC_fraction": sigma_ctoc,
    })
    record = mapping_record(
        "NeuroSim RealDevice::Write (exponential curve, getParamA table, integer pulses)", resp, g_rule,
        a_norm_ltp=param_a(float(t_ltp)), a_norm_ltd=param_a(float(t_ltd)), nl_ltp=float(t_ltp),
        nl_ltd=float(t_ltd), nl_fit_ltp=ltp_fit.nl, nl_fit_ltd=ltd_fit.nl, max_num_level_ltp=n_ltp,
        max_num_level_ltd=n_ltd)
    if resp.g_ensemble is not None:
        g_ens = replay_ensemble(resp, float(t_ltp), float(t_ltd), n_ltp, n_ltd, sigma_dtod, sigma_ctoc)
        err = rmse(g_ens.mean(axis=1), resp.g_ensemble.mean(axis=0))
        record["ensemble"] = {
            "rmse": {"value": err, "unit": "S"}, "rmse_relative_to_window": err / span,
            "n_devices": g_ens.shape[1], "seed": 0,
            "spread_rmse_relative_to_window": rmse(g_ens.std(axis=1), resp.g_ensemble.std(axis=0)) / span,
            "protocol": "mean of NeuroSim devices with sigmaDtoD (on the NL label) and sigmaCtoC (per write, "
                        "before the clip) on, against the mean of the physics ensemble"}
    record["rmse_ltp_fit_only"] = {"value": ltp_fit.rmse, "unit": "S"}
    record["rmse_ltd_fit_only"] = {"value": ltd_fit.rmse, "unit": "S"}
    record["rmse_unclamped_fit"] = {"value": rmse(_replay_a(resp, ltp_fit.a_norm, ltd_fit.a_norm), resp.g_nominal),
                                    "unit": "S"}
    return {"values": values, "mapping": record, "g_rule": g_rule, "span": span,
            "labels": {"NL_LTP": t_ltp, "NL_LTD": t_ltd}}


def _replay_a(resp: PhysicsResponse, a_ltp: float, a_ltd: float) -> np.ndarray:
    """Replay with free (untabulated, unclamped) A: what the fit alone would give (for the record)."""
    if not (np.isfinite(a_ltp) and np.isfinite(a_ltd)):
        return np.full(resp.g_nominal.shape, np.nan)
    up = replay_branch(resp.g_nominal[0], resp.n_up, True, resp.n_up, a_ltp, resp.g_min, resp.g_max)
    dn = replay_branch(up[-1], resp.n_down, False, resp.n_down, a_ltd, resp.g_min, resp.g_max)
    return np.concatenate([up, dn[1:]])


# -- the sed script ------------------------------------------------------------------------
_CTOR = "/^RealDevice::RealDevice(/,/^}/"
_NUM = "[-+.0-9eE]*"


def _fmt(v) -> str:
    # shortest round-trip repr: C's strtod reads back the same double (the steep curves of |NL| ~ 9 turn a
    # rounded Gmin into a different pulse position)
    return repr(float(v)) if isinstance(v, float) else str(v)


def sed_commands(values: dict[str, Any], labels: dict[str, str]) -> list[str]:
    """``s`` commands that replace the number of each assignment (inside RealDevice::RealDevice)."""
    order = ["maxConductance", "minConductance", "readVoltage", "writeVoltageLTP", "writeVoltageLTD",
             "writePulseWidthLTP", "writePulseWidthLTD", "maxNumLevelLTP", "maxNumLevelLTD", "NL_LTP", "NL_LTD",
             "sigmaDtoD"]
    cmds = []
    for key in order:
        if key not in values:
            continue
        text = labels.get(key, _fmt(values[key]))
        cmds.append(f"s/^\\([[:space:]]*{key}[[:space:]]*=[[:space:]]*\\){_NUM};/\\1{text};/")
    cmds.append(f"s/^\\([[:space:]]*sigmaCtoC[[:space:]]*=[[:space:]]*\\){_NUM}\\([[:space:]]*\\*\\)/"
                f"\\1{_fmt(values['sigmaCtoC_fraction'])}\\2/")
    cmds.append("s/^\\([[:space:]]*nonlinearWrite[[:space:]]*=[[:space:]]*\\)[a-z]*;/\\1true;/")
    return cmds


def render(card: Card, cond: PulseCondition, resp: PhysicsResponse, mapped: dict[str, Any]) -> str:
    v = mapped["values"]
    m = mapped["mapping"]
    prov = provenance(card, cond, "neurosim")
    on_off = v["maxConductance"] / v["minConductance"]
    levels = max(v["maxNumLevelLTP"], v["maxNumLevelLTD"])
    labels = mapped["labels"]
    lines = [
        f"# {FORMAT} schema_version={SCHEMA}",
        f"# devicelib {prov['devicelib_version']}  date {prov['date']}",
        f"# card {card.name} ({card.kind}), model {card.model_name}",
        f"# source: {card.citation()}",
        f"# pulse condition: {cond.describe()}",
        f"# mapping error (RMSE physics vs NeuroSim RealDevice::Write replay): {m['rmse']['value']:.6g} S "
        f"({100 * m['rmse_relative_to_window']:.3g} % of Gmax - Gmin), {m['n_up']} LTP / {m['n_down']} LTD pulses",
        f"# NL labels: LTP {labels['NL_LTP']} (table entry {abs(float(labels['NL_LTP'])) - 0.005:.2f}), "
        f"LTD {labels['NL_LTD']} (entry {abs(float(labels['NL_LTD'])) - 0.005:.2f}); free fit "
        f"{m['nl_fit_ltp']:.3g} / {m['nl_fit_ltd']:.3g} (NeuroSim clamps |NL| to 9)",
        f"# A/maxNumLevel as NeuroSim reads the labels: LTP {m['a_norm_ltp']:.6g}, LTD {m['a_norm_ltd']:.6g}",
    ]
    if "writeCurrentLTP" in v:
        lines.append(f"# write current LTP {_fmt(v['writeCurrentLTP'])} A, LTD {_fmt(v['writeCurrentLTD'])} A: "
                     "NeuroSim has no write-current field; writeVoltageLTP/LTD are left at their values "
                     "(NeuroSim's write energy then does not describe this device)")
    lines += [f"# warning: {w}" for w in prov["validity_warnings"]]
    lines += [
        "#",
        "# MLP_NeuroSim V3.0: sed -i -f THIS_FILE Cell.cpp",
        "# Each command replaces the number of one assignment inside RealDevice::RealDevice only, so the",
        "# lines derived from it further down (paramALTP/paramALTD, gaussian_dist3) use the new values.",
        "# Check afterwards: sed -n '/^RealDevice::RealDevice(/,/^}/p' Cell.cpp | grep -n 'NL_LT\\|maxNumLevel'",
        _CTOR + "{",
        *sed_commands(v, labels),
        "}",
        "#",
        "# DNN_NeuroSim V2.1 (Training_pytorch/train.py) arguments:",
        f"#   args.max_level = {levels}",
        f"#   args.nonlinearityLTP = {labels['NL_LTP']}",
        f"#   args.nonlinearityLTD = {labels['NL_LTD']}",
        f"#   args.c2cVari = {_fmt(v['sigmaCtoC_fraction'])}",
        f"#   args.d2dVari = {_fmt(v['sigmaDtoD'])}",
        f"#   args.onoffratio = {_fmt(on_off)}",
        f"# DNN_NeuroSim Param.cpp: resistanceOn = {_fmt(1.0 / v['maxConductance'])}; "
        f"resistanceOff = {_fmt(1.0 / v['minConductance'])};",
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


_SED = re.compile(r"^s/\^\\\(\[\[:space:\]\]\*(\w+)\[\[:space:\]\]\*=\[\[:space:\]\]\*\\\)\S*?/\\1([^/;]*?)(?:;|\\2)/$")
_ARG = re.compile(r"^#\s+args\.(\w+)\s*=\s*(\S+)\s*$")


def _number(val: str):
    return int(val) if re.fullmatch(r"-?\d+", val) else float(val)


def read(path: str | Path) -> dict[str, Any]:
    """Parse an exported sed script back: ``cell`` (the values it writes) and ``dnn`` (train.py arguments)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ExportError(f"{path}: no such file") from None
    lines = text.splitlines()
    if not lines or FORMAT not in lines[0]:
        raise ExportError(f"{path}: not a devicelib NeuroSim export")
    cell: dict[str, Any] = {}
    dnn: dict[str, Any] = {}
    for line in lines:
        m = _SED.match(line.strip())
        if m:
            key, val = m.group(1), m.group(2)
            if key == "sigmaCtoC":
                cell["sigmaCtoC_fraction"] = float(val)
            elif key != "nonlinearWrite":
                cell[key] = _number(val)
            continue
        a = _ARG.match(line)
        if a:
            dnn[a.group(1)] = _number(a.group(2))
    if not cell:
        raise ExportError(f"{path}: no RealDevice assignments found")
    return {"cell": cell, "dnn": dnn}
