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
    CrossSim's training lookup tables (layout of
    ``sandialabs/cross-sim-data/lookup_tables``, written by
    :func:`devicelib.dgtable.write_dg_table`): a shared uniform grid of G bins
    over the nominal window and CDF points; ``dG[i, j]`` is the ``c_i``
    quantile of the signed conductance change of one pulse at ``G_j``. The
    quantiles come from the ensemble (with the card's variability), or are the
    deterministic step when the card has none. The header line carries the
    provenance.
``devicelib_export.json``
    provenance, pulse condition and mapping errors.

Mapping error of the tables: the nominal physics trace against CrossSim's
lookup-table update replayed with the expected step (the mean over the CDF),
``G <- G + E[dG](G)`` (linear interpolation between bins, clipped to the window).

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
    mapping_record,
    provenance,
    require_positive,
    write_json,
)

FORMAT = "devicelib.export.crosssim"
N_BINS = 50
N_CDF = 101


def _steps(resp: PhysicsResponse, up: bool) -> tuple[np.ndarray, np.ndarray]:
    """Conductance before each pulse and its signed change, pooled over the devices."""
    traces = resp.g_ensemble if resp.g_ensemble is not None else resp.g_nominal[None, :]
    sl = slice(0, resp.n_up + 1) if up else slice(resp.n_up, None)
    seg = traces[:, sl]
    return seg[:, :-1].ravel(), np.diff(seg, axis=1).ravel()


def dg_tables(resp: PhysicsResponse, n_bins: int = N_BINS, n_cdf: int = N_CDF, header: str = ""):
    """(increasing, decreasing) tables as Datasets in :mod:`devicelib.dgtable`'s layout."""
    g_bins = np.linspace(resp.g_min, resp.g_max, n_bins)
    cdf = np.linspace(0.0, 1.0, n_cdf)
    half = 0.5 * (g_bins[1] - g_bins[0])
    out = []
    for up in (True, False):
        g, dg = _steps(resp, up)
        table = np.empty((n_cdf, n_bins))
        # nominal step at each bin (interpolated) fills bins without samples
        nom_g, nom_dg = _steps_nominal(resp, up)
        order = np.argsort(nom_g)
        fill = np.interp(g_bins, nom_g[order], nom_dg[order])
        for j, gb in enumerate(g_bins):
            sel = dg[np.abs(g - gb) <= half]
            if sel.size >= 3 and resp.g_ensemble is not None:
                table[:, j] = np.quantile(sel, cdf)
            else:
                table[:, j] = fill[j]
        ds = xr.Dataset(
            {"dG": (("cdf", "g"), table, {"units": "S"})},
            coords={"cdf": ("cdf", cdf, {"units": "1"}), "g": ("g", g_bins, {"units": "S"})},
            attrs={"header": header},
        )
        out.append(ds)
    return out[0], out[1]


def _steps_nominal(resp: PhysicsResponse, up: bool):
    seg = resp.up if up else resp.down
    return seg[:-1], np.diff(seg)


def replay_tables(resp: PhysicsResponse, inc: xr.Dataset, dec: xr.Dataset) -> np.ndarray:
    """CrossSim-style lookup-table update with the expected step, from the nominal start (S).

    CrossSim draws each step from the table's CDF at the present conductance; the expected step is
    the mean over the CDF (the median would be 0 for a device that switches on a fraction of the
    pulses, such as a multi-domain FeFET).
    """
    def mean_step(ds):
        cdf = ds["cdf"].values
        dg = ds["dG"].transpose("cdf", "g").values
        return ds["g"].values, np.trapezoid(dg, cdf, axis=0) / (cdf[-1] - cdf[0])

    gi, mi = mean_step(inc)
    gd, md = mean_step(dec)
    g = resp.g_nominal[0]
    out = [g]
    for d in resp.directions():
        g = g + (np.interp(g, gi, mi) if d > 0 else np.interp(g, gd, md))
        g = min(max(g, resp.g_min), resp.g_max)
        out.append(g)
    return np.array(out)


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
    record = mapping_record("CrossSim lookup table (expected step)", resp, g_rule,
                            n_bins=inc.sizes["g"], n_cdf=inc.sizes["cdf"])
    device = device_block(card, resp)
    out.mkdir(parents=True, exist_ok=True)
    p_dev = write_json(out / "crosssim_device.json", {"xbar": {"device": device}})
    p_inc = write_dg_table(inc, out / "dG_increasing.txt")
    p_dec = write_dg_table(dec, out / "dG_decreasing.txt")
    meta = {"format": FORMAT, "schema_version": EXPORT_SCHEMA_VERSION, "files": [p_dev.name, p_inc.name, p_dec.name],
            "mapping": record, "variability": resp.stats, "pulse_condition": cond.to_dict(), "provenance": prov}
    p_meta = write_json(out / "devicelib_export.json", meta)
    return ExportResult("crosssim", [p_dev, p_inc, p_dec, p_meta], cond, record,
                        {"device": device, "meta": meta}, prov["validity_warnings"])


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
