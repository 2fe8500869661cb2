r"""Export to Sandia CrossSim: the v3 ``xbar.device`` JSON block and the training dG lookup tables.

Writes into the directory ``out``:

``crosssim_device.json``
    ``{"xbar": {"device": {...}}}`` with the fields of CrossSim 3's
    ``DeviceParameters`` (``cell_bits``, ``Rmin``, ``Rmax``, ``Vread``,
    ``time``, ``infinite_on_off_ratio``, ``clip_conductance``) and the
    sub-blocks ``read_noise``, ``programming_error``, ``drift_error``, each
    ``{enable, model, magnitude}`` naming one of CrossSim's generic device
    classes. Merge it into a full ``CrossSimParameters`` JSON (it holds only
    CrossSim keys so ``from_json`` accepts it unchanged).
``dG_increasing.txt``, ``dG_decreasing.txt``
    CrossSim 2.0's training lookup tables (layout of
    ``sandialabs/cross-sim-data/lookup_tables``, written by
    :func:`devicelib.dgtable.write_dg_table`): a shared *uniform* grid of G bins
    over the nominal window (CrossSim 2.0 indexes a uniform grid arithmetically;
    any other grid drops it to a slow linear interpolator) and CDF points;
    ``dG[i, j]`` is the ``c_i`` quantile of the signed conductance change of one
    pulse near ``G_j``, shifted so that CrossSim's mean of the column is the
    bin's step (below). The header line carries the provenance.
``devicelib_export.json``
    provenance, pulse condition, mapping errors and ``crosssim2_dG_lookup``: the
    ``numeric_params.dG_lookup`` settings the claimed error holds for
    (``Gmin_relative = 0``, ``Gmax_relative = 1``: CrossSim's weight range spans
    the whole table; its defaults 0.1 / 0.9 use the middle 80 %) and the request
    that is exactly one pulse (CrossSim's ``ave_dw_inc`` / ``ave_dw_dec`` in S).

Mapping error of the tables: the nominal physics trace against CrossSim 2.0's own
update replayed on the same pulses (:func:`replay_tables`): the weight moves by the
mean step of the *nearest* bin (CrossSim rounds, it does not interpolate), then is
clipped to the table's range. A bin's step is the *transit* step (the G the
physics covers in the bin over the pulses it spends there, so the replay crosses
every bin in the physics' number of pulses) or the step at the bin centre, and the
grid has 50-400 bins: whichever replays the physics best (:func:`dg_tables`).

Device block choices: ``Rmin = 1/G_max``, ``Rmax = 1/G_min`` of the nominal
window at the read voltage; ``cell_bits = floor(log2(levels))`` with levels the
pulses across the window; programming error ``NormalIndependentDevice`` whose
magnitude (relative to G_max) is the single-pulse programming uncertainty:
the root sum of squares of the median step over sqrt(12) (uniform within one
step) and the absolute cycle-to-cycle step noise; read noise
``NormalProportionalDevice`` with the card's relative read noise (disabled at 0).
Drift is not exported to CrossSim (its drift models are custom classes).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from ..catalog import Card
from ..dgtable import read_dg_table, write_dg_table
from .common import (
    EXPORT_SCHEMA_VERSION,
    ExportError,
    ExportResult,
    PhysicsResponse,
    PulseCondition,
    atomic_directory,
    mapping_record,
    provenance,
    require_positive,
    rmse,
    write_json,
)

FORMAT = "devicelib.export.crosssim"
N_CDF = 101
#: candidate numbers of G bins; the exporter keeps the smallest whose replay error is within 10 % of the best
BIN_CANDIDATES = (50, 100, 200, 400)
N_BINS = BIN_CANDIDATES[0]
#: the relative window written into the export (``dG_lookup.Gmin_relative`` / ``Gmax_relative``): the whole
#: table, so CrossSim's weight range spans the device window (its defaults, 0.1 / 0.9, use the middle 80 %)
GMIN_RELATIVE = 0.0
GMAX_RELATIVE = 1.0


def _steps(resp: PhysicsResponse, up: bool) -> tuple[np.ndarray, np.ndarray]:
    """Conductance before each pulse and its signed change, pooled over the devices."""
    traces = resp.g_ensemble if resp.g_ensemble is not None else resp.g_nominal[None, :]
    sl = slice(0, resp.n_up + 1) if up else slice(resp.n_up, None)
    seg = traces[:, sl]
    return seg[:, :-1].ravel(), np.diff(seg, axis=1).ravel()


def _steps_nominal(resp: PhysicsResponse, up: bool):
    seg = resp.up if up else resp.down
    return seg[:-1], np.diff(seg)


def _centre_steps(resp: PhysicsResponse, up: bool, g_bins: np.ndarray) -> np.ndarray:
    """The nominal one-pulse step at each bin centre (linear interpolation in G)."""
    nom_g, nom_dg = _steps_nominal(resp, up)
    order = np.argsort(nom_g, kind="stable")
    return np.interp(g_bins, nom_g[order], nom_dg[order])


def _transit_steps(resp: PhysicsResponse, up: bool, g_bins: np.ndarray) -> np.ndarray | None:
    """Per bin, the G the nominal branch covers inside the bin over the pulses it spends there.

    CrossSim 2.0 applies one constant step per bin (nearest bin), so a bin written with this
    *transit* step is crossed in the same number of pulses as the physics crosses it: the replay
    follows the physics at every bin edge, also where the step varies by decades inside one bin
    (an ECM filament's tunnelling gap). None for a branch that is not monotonic.
    """
    branch = resp.up if up else resp.down
    s = 1.0 if up else -1.0
    y = s * branch
    span = resp.g_max - resp.g_min
    if np.any(np.diff(y) < -1e-9 * span) or y[-1] - y[0] <= 0:
        return None
    y = np.maximum.accumulate(y)
    # strictly increasing for the inverse k(G); a flat run (pulses without change) keeps its pulse count
    y = y + np.arange(y.size) * 1e-12 * span
    k = np.arange(y.size, dtype=float)
    half = 0.5 * (g_bins[1] - g_bins[0])
    lo = np.clip(np.minimum(s * (g_bins - half), s * (g_bins + half)), y[0], y[-1])
    hi = np.clip(np.maximum(s * (g_bins - half), s * (g_bins + half)), y[0], y[-1])
    covered = hi - lo
    pulses = np.interp(hi, y, k) - np.interp(lo, y, k)
    reached = (covered > 0) & (pulses > 0)
    if not reached.any():
        return None
    step = np.where(reached, s * covered / np.where(reached, pulses, 1.0), np.nan)
    # bins the branch never enters take the step of the nearest bin it enters
    idx = np.flatnonzero(reached)
    nearest = idx[np.abs(np.arange(g_bins.size)[:, None] - idx[None, :]).argmin(axis=1)]
    return step[nearest]


def crosssim_mean(ds: xr.Dataset, g_max_used: float | None = None) -> np.ndarray:
    """The mean step per bin exactly as CrossSim 2.0 forms it (S): ``sum(diff(CDF) * dG[:-1])``.

    (``numeric_params.dGLookupParams.manual_post_set``: a left Riemann sum over the CDF points, on
    dG normalised by the ``Gmax`` of the relative window and scaled back here.)
    """
    return _mean_w(ds, 1.0 if g_max_used is None else g_max_used) * (1.0 if g_max_used is None else g_max_used)


def _mean_w(ds: xr.Dataset, g_max_used: float) -> np.ndarray:
    """CrossSim 2.0's ``ave_dw_*_vec`` in its weight units (dG / Gmax), in its order of operations."""
    dg = ds["dG"].transpose("cdf", "g").values / g_max_used
    pdf = np.tile(np.diff(ds["cdf"].values), (dg.shape[1], 1)).T
    return np.sum(pdf * dg[0:-1, :], axis=0)


def _table(resp: PhysicsResponse, up: bool, g_bins: np.ndarray, mean_step: np.ndarray, cdf: np.ndarray,
           header: str) -> xr.Dataset:
    """Quantiles of the ensemble's steps near each bin, shifted so CrossSim's mean is ``mean_step``."""
    table = np.tile(mean_step, (cdf.size, 1))
    if resp.g_ensemble is not None:
        g, dg = _steps(resp, up)
        order = np.argsort(g, kind="stable")
        g, dg = g[order], dg[order]
        half = 0.5 * (g_bins[1] - g_bins[0])
        first = np.searchsorted(g, g_bins - half, side="left")
        last = np.searchsorted(g, g_bins + half, side="right")
        w = np.diff(cdf)
        for j in np.flatnonzero(last - first >= 3):
            q = np.quantile(dg[first[j]:last[j]], cdf)
            table[:, j] = q - np.sum(w * q[:-1]) + mean_step[j]
    return xr.Dataset(
        {"dG": (("cdf", "g"), table, {"units": "S"})},
        coords={"cdf": ("cdf", cdf, {"units": "1"}), "g": ("g", g_bins, {"units": "S"})},
        attrs={"header": header},
    )


def _mean_steps(resp: PhysicsResponse, g_bins: np.ndarray, method: str) -> tuple[np.ndarray, np.ndarray]:
    out = []
    for up in (True, False):
        step = _transit_steps(resp, up, g_bins) if method == "transit" else None
        out.append(_centre_steps(resp, up, g_bins) if step is None else step)
    return out[0], out[1]


def dg_tables(resp: PhysicsResponse, n_bins: int | None = None, n_cdf: int = N_CDF, header: str = ""):
    """(increasing, decreasing) tables as Datasets in :mod:`devicelib.dgtable`'s layout.

    A uniform G grid over the nominal window (CrossSim 2.0 indexes bins arithmetically and falls
    back to a slow, differently-behaving interpolator on any other grid). The mean step of each bin
    is the *transit* step (:func:`_transit_steps`) or the step at the bin centre, and the number of
    bins one of :data:`BIN_CANDIDATES` (or ``n_bins``): the combination whose CrossSim 2.0 replay
    (:func:`replay_means`) is closest to the nominal physics trace, preferring fewer bins within
    10 % of the best. The CDF columns are the ensemble's step quantiles near the bin, shifted to
    that mean (CrossSim's left Riemann sum over the CDF).
    """
    counts = (int(n_bins),) if n_bins is not None else BIN_CANDIDATES
    if min(counts) < 2:
        raise ExportError(f"a dG table needs at least 2 G bins, got {min(counts)}")
    cands = []
    for n in counts:
        g_bins = np.linspace(resp.g_min, resp.g_max, n)
        for method in ("transit", "centre"):
            m_inc, m_dec = _mean_steps(resp, g_bins, method)
            err = rmse(replay_means(resp, g_bins, m_inc, m_dec), resp.g_nominal)
            cands.append((err, n, method, g_bins, m_inc, m_dec))
    err_min = min(c[0] for c in cands)
    _, _, method, g_bins, m_inc, m_dec = min((c for c in cands if c[0] <= 1.1 * err_min), key=lambda c: (c[1], c[0]))
    cdf = np.linspace(0.0, 1.0, n_cdf)
    inc = _table(resp, True, g_bins, m_inc, cdf, header)
    dec = _table(resp, False, g_bins, m_dec, cdf, header)
    for ds in (inc, dec):
        ds.attrs["step_rule"] = method
    return inc, dec


def _used(g_bins: np.ndarray, gmin_relative: float, gmax_relative: float) -> tuple[float, int, int]:
    """CrossSim 2.0's Gmax of the relative window and the bin range [i0, i1) it averages over."""
    g_lo_used = g_bins[0] + (g_bins[-1] - g_bins[0]) * gmin_relative
    g_hi_used = g_bins[0] + (g_bins[-1] - g_bins[0]) * gmax_relative
    w_vec = g_bins / g_hi_used
    i0 = int(np.abs(w_vec - g_lo_used / g_hi_used).argmin())
    i1 = int(np.abs(w_vec - 1.0).argmin())
    return g_hi_used, i0, i1 + 1 if i1 < w_vec.size - 1 else i1


def replay_means(resp: PhysicsResponse, g_bins: np.ndarray, mean_inc: np.ndarray, mean_dec: np.ndarray,
                 gmin_relative: float = GMIN_RELATIVE, gmax_relative: float = GMAX_RELATIVE,
                 weight_units: bool = False) -> np.ndarray:
    """CrossSim 2.0's lookup-table update on the same pulses, write noise off, from the nominal start (S).

    Follows ``dGLookupParams.manual_post_set`` / ``compute_update`` and ``NumericCore.update_matrix_burst``
    of CrossSim 2.0 in its own arithmetic: weights ``w = G / Gmax`` with
    ``Gmax = G_1 + (G_M - G_1) * Gmax_relative``; one pulse is the request ``dw = ave_dw_inc`` (the mean
    step over the used bins; CrossSim clips a request to [-1, 1] first, so the scale is 1 unless it is
    larger), which moves ``w`` by the scale times the mean step of the bin *nearest* to ``w`` (index
    ``int((w - (w_1 - w_step / 2)) / w_step)``); then ``w`` is clipped to the table's range
    ``[w_1, w_M]``. Each pulse uses its own table (CrossSim swaps the files when the increasing one
    steps down on average; :func:`crosssim2_check`).
    """
    g_hi_used, i0, i1 = _used(g_bins, gmin_relative, gmax_relative)
    w_vec = g_bins / g_hi_used
    w_step = np.mean(np.diff(w_vec))
    m_inc = mean_inc if weight_units else mean_inc / g_hi_used  # CrossSim's ave_dw_*_vec (dG / Gmax)
    m_dec = mean_dec if weight_units else mean_dec / g_hi_used
    scales = []
    for m in (m_inc, m_dec):
        req = float(np.sum(m[i0:i1]) / (i1 - i0))
        scales.append(float(np.clip(req, -1.0, 1.0) / req) if req != 0 else 1.0)
    steps_up, steps_dn = scales[0] * m_inc, scales[1] * m_dec
    lo, hi = w_vec[0], w_vec[-1]
    w = min(max(resp.g_nominal[0] / g_hi_used, lo), hi)
    out = np.empty(resp.n_up + resp.n_down + 1)
    out[0] = w
    start = lo - w_step / 2
    for i, d in enumerate(resp.directions(), start=1):
        j = int((w - start) / w_step)
        w = w + (steps_up[j] if d > 0 else steps_dn[j])
        w = min(max(w, lo), hi)
        out[i] = w
    return out * g_hi_used


def replay_tables(resp: PhysicsResponse, inc: xr.Dataset, dec: xr.Dataset,
                  gmin_relative: float = GMIN_RELATIVE, gmax_relative: float = GMAX_RELATIVE) -> np.ndarray:
    """:func:`replay_means` with the mean steps CrossSim 2.0 forms from the written tables (S)."""
    g_bins = inc["g"].values
    g_hi_used = _used(g_bins, gmin_relative, gmax_relative)[0]
    return replay_means(resp, g_bins, _mean_w(inc, g_hi_used), _mean_w(dec, g_hi_used),
                        gmin_relative, gmax_relative, weight_units=True)


def _one_pulse(ds: xr.Dataset, gmin_relative: float, gmax_relative: float) -> float:
    """CrossSim 2.0's ``ave_dw_inc`` / ``ave_dw_dec`` times its Gmax: the mean step over the used bins (S)."""
    g_hi_used, i0, i1 = _used(ds["g"].values, gmin_relative, gmax_relative)
    return float(np.sum(_mean_w(ds, g_hi_used)[i0:i1]) / (i1 - i0) * g_hi_used)


def replay_tables_noisy(resp: PhysicsResponse, inc: xr.Dataset, dec: xr.Dataset, n_devices: int = 1000,
                        seed: int = 0, gmin_relative: float = GMIN_RELATIVE,
                        gmax_relative: float = GMAX_RELATIVE) -> np.ndarray:
    """CrossSim 2.0's update with its write noise on, for ``n_devices`` devices (S), shape (pulses + 1, n).

    As ``compute_update`` with ``disable_writenoise = False``: a uniform random number picks the
    *nearest* CDF row, ``int((c + c_step/2) / c_step)``, and the update is
    ``scale * mean + (dG[row] - mean) * sqrt(scale)`` at the nearest G bin (scale 1 for a one-pulse
    request unless CrossSim clipped the request). Vectorised over the devices.
    """
    g_bins = inc["g"].values
    g_hi_used, i0, i1 = _used(g_bins, gmin_relative, gmax_relative)
    w_vec = g_bins / g_hi_used
    w_step = np.mean(np.diff(w_vec))
    cdf = inc["cdf"].values
    c_step = np.mean(np.diff(cdf))
    lo, hi = w_vec[0], w_vec[-1]
    tables = []
    for ds in (inc, dec):
        dw = ds["dG"].transpose("cdf", "g").values / g_hi_used
        mean = _mean_w(ds, g_hi_used)
        req = float(np.sum(mean[i0:i1]) / (i1 - i0))
        scale = float(np.clip(req, -1.0, 1.0) / req) if req != 0 else 1.0
        tables.append(scale * mean[None, :] + (dw - mean[None, :]) * math.sqrt(scale))
    rng = np.random.default_rng(seed)
    w = np.full(n_devices, min(max(resp.g_nominal[0] / g_hi_used, lo), hi))
    out = np.empty((resp.n_up + resp.n_down + 1, n_devices))
    out[0] = w
    start = lo - w_step / 2
    for i, d in enumerate(resp.directions(), start=1):
        j = ((w - start) / w_step).astype(int)
        row = ((rng.random(n_devices) + c_step / 2) / c_step).astype(int)
        w = np.clip(w + tables[0 if d > 0 else 1][row, j], lo, hi)
        out[i] = w
    return out * g_hi_used


def ensemble_record(resp: PhysicsResponse, inc: xr.Dataset, dec: xr.Dataset, n_devices: int = 1000,
                    seed: int = 0) -> dict[str, Any] | None:
    """Mean of CrossSim 2.0's noisy replay against the physics ensemble mean (None without an ensemble)."""
    if resp.g_ensemble is None:
        return None
    g_cs = replay_tables_noisy(resp, inc, dec, n_devices, seed).mean(axis=1)
    err = rmse(g_cs, resp.g_ensemble.mean(axis=0))
    return {"rmse": {"value": err, "unit": "S"}, "rmse_relative_to_window": err / (resp.g_max - resp.g_min),
            "n_devices": n_devices, "protocol": "mean of CrossSim 2.0 devices with its write noise on "
            "(disable_writenoise = False) against the mean of the physics ensemble (card variability)"}


def crosssim2_check(inc: xr.Dataset, dec: xr.Dataset, gmin_relative: float = GMIN_RELATIVE,
                    gmax_relative: float = GMAX_RELATIVE) -> list[str]:
    """What CrossSim 2.0's ``manual_post_set`` will say about the tables (its average-step sign checks)."""
    a_inc = _one_pulse(inc, gmin_relative, gmax_relative)
    a_dec = _one_pulse(dec, gmin_relative, gmax_relative)
    if a_inc < 0 < a_dec:
        return ["CrossSim 2.0 swaps these tables (the potentiating pulses lower G on average): "
                "its positive updates will use dG_decreasing.txt"]
    if a_inc < 0 or a_dec > 0:
        return [f"CrossSim 2.0 rejects these tables: the average step is {a_inc:.3g} S (increasing) and "
                f"{a_dec:.3g} S (decreasing); it needs > 0 and < 0"]
    return []


def crosssim2_settings(inc: xr.Dataset, dec: xr.Dataset) -> dict[str, Any]:
    """The ``numeric_params.dG_lookup`` settings the claimed error assumes, and one pulse's request."""
    return {
        "update_model": "DG_LOOKUP",
        "file_increasing": "dG_increasing.txt",
        "file_decreasing": "dG_decreasing.txt",
        "Gmin_relative": GMIN_RELATIVE,
        "Gmax_relative": GMAX_RELATIVE,
        "disable_writenoise": True,
        "one_pulse_dG_increasing": {"value": _one_pulse(inc, GMIN_RELATIVE, GMAX_RELATIVE), "unit": "S"},
        "one_pulse_dG_decreasing": {"value": _one_pulse(dec, GMIN_RELATIVE, GMAX_RELATIVE), "unit": "S"},
    }


def device_block(card: Card, resp: PhysicsResponse) -> dict[str, Any]:
    require_positive(resp, "CrossSim")
    g_lo, g_hi = resp.g_min, resp.g_max
    levels = max(resp.n_up, resp.n_down) + 1
    med_step = float(np.median(np.abs(np.diff(resp.g_nominal))))
    c2c_abs = resp.stats.get("step_c2c_abs", 0.0) * (g_hi - g_lo)
    prog = math.sqrt((med_step / math.sqrt(12.0)) ** 2 + c2c_abs**2) / g_hi
    read = float(resp.stats.get("read", 0.0))
    return {
        "cell_bits": math.floor(math.log2(levels)),
        "Rmin": 1.0 / g_hi,
        "Rmax": 1.0 / g_lo,
        "Vread": resp.condition.read_voltage,
        "time": 0,
        "infinite_on_off_ratio": False,
        "clip_conductance": True,
        "read_noise": {"enable": read > 0, "model": "NormalProportionalDevice" if read > 0 else "IdealDevice",
                       "magnitude": read},
        "programming_error": {"enable": prog > 0, "model": "NormalIndependentDevice", "magnitude": prog},
        "drift_error": {"enable": False, "model": "IdealDevice", "magnitude": 0},
    }


def write(card: Card, cond: PulseCondition, resp: PhysicsResponse, out: Path) -> ExportResult:
    out = Path(out)
    if out.is_file() or out.suffix.lower() in (".json", ".txt", ".h5", ".csv"):
        raise ExportError(f"crosssim export writes a directory (device JSON + dG tables), got a file name {out}")
    prov = provenance(card, cond, "crosssim")
    header = (f"1st Row = Gbins, 2nd Row = CDF Points, 3rd row onward =  dG matrix (rows= CDF, columns = Gbins) "
              f"| devicelib {prov['devicelib_version']} card {card.name} | {cond.describe()} | {prov['date']}")
    inc, dec = dg_tables(resp, header=header)
    g_rule = replay_tables(resp, inc, dec)
    lookup = crosssim2_settings(inc, dec)
    record = mapping_record("CrossSim 2.0 lookup table (nearest bin, mean step, write noise off)", resp, g_rule,
                            n_bins=inc.sizes["g"], n_cdf=inc.sizes["cdf"], step_rule=inc.attrs["step_rule"],
                            crosssim2=lookup)
    ens = ensemble_record(resp, inc, dec)
    if ens is not None:
        record["ensemble"] = ens
    device = device_block(card, resp)
    meta = {"format": FORMAT, "schema_version": EXPORT_SCHEMA_VERSION,
            "files": ["crosssim_device.json", "dG_increasing.txt", "dG_decreasing.txt"],
            "crosssim2_dG_lookup": lookup, "mapping": record, "variability": resp.stats,
            "pulse_condition": cond.to_dict(), "provenance": prov}
    with atomic_directory(out, "devicelib_export.json") as tmp:  # the folder is replaced as a whole
        write_json(tmp / "crosssim_device.json", {"xbar": {"device": device}})
        write_dg_table(inc, tmp / "dG_increasing.txt")
        write_dg_table(dec, tmp / "dG_decreasing.txt")
        write_json(tmp / "devicelib_export.json", meta)
    p_dev, p_inc, p_dec, p_meta = (out / f for f in (*meta["files"], "devicelib_export.json"))
    warnings = list(prov["validity_warnings"]) + crosssim2_check(inc, dec)
    return ExportResult("crosssim", [p_dev, p_inc, p_dec, p_meta], cond, record,
                        {"device": device, "meta": meta}, warnings)


def read(directory: str | Path) -> dict[str, Any]:
    """Read an export directory back: device block, both tables (:func:`read_dg_table`) and metadata."""
    import json

    d = Path(directory)
    try:
        device = json.loads((d / "crosssim_device.json").read_text(encoding="utf-8"))["xbar"]["device"]
        meta = json.loads((d / "devicelib_export.json").read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ExportError(f"{d}: not a complete CrossSim export ({exc.filename} missing)") from None
    return {"device": device, "increasing": read_dg_table(d / "dG_increasing.txt"),
            "decreasing": read_dg_table(d / "dG_decreasing.txt"), "meta": meta}
