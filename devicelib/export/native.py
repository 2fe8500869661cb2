r"""devicelib's native exchange file: one self-describing HDF5 file (h5py).

Layout (``schema_version`` 1; every number with a ``units`` attribute, pint strings, ``""`` dimensionless)::

    /                         attrs: format, schema_version, devicelib_version, created, card
    /card                     attrs: name, model, kind, title, citation; dataset card_toml (the card, exact)
    /card/parameters/<name>   scalar or per-device array, attrs: units, stderr, source, estimate
    /condition                attrs: <key> and <key>_units (the pulse condition)
    /response                 g_nominal (S), g_ensemble (S, optional), directions; attrs n_up, n_down
    /measurement (optional)   the measurement the card was fitted to: one dataset per variable with
                              attrs units and dims, coordinates as datasets, attrs of the Dataset
    /fit (optional)           attrs json (the fit result), datasets <param> with units
    /mappings/<target>        attrs rule, json (the full mapping record); dataset rmse (S)

:func:`load` reads it back: the card (re-validated from its TOML), the
measurement as an ``xarray.Dataset``, the fit dict, the mappings and the
response arrays, with identical values. The file is written to a temporary
name and renamed, so an error never leaves a half-written file.
"""

from __future__ import annotations

import datetime as _dt
import json
import tomllib
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from .. import __version__
from ..catalog import Card, card_from_dict
from .common import (
    EXPORT_SCHEMA_VERSION,
    ExportError,
    ExportResult,
    PhysicsResponse,
    PulseCondition,
    atomic_write_with,
    json_default,
    mapping_record,
    provenance,
)

FORMAT = "devicelib.native"


def _str_attr(v) -> str:
    return "" if v is None else str(v)


def _write_measurement(grp, ds: xr.Dataset) -> None:
    for name, coord in ds.coords.items():
        values = coord.values
        if values.dtype.kind in "OU":
            values = np.array([str(v) for v in values], dtype=h5_str())
        d = grp.create_dataset(f"coords/{name}", data=values)
        d.attrs["dims"] = json.dumps(list(coord.dims))
        d.attrs["units"] = str(coord.attrs.get("units", ""))
    for name, var in ds.data_vars.items():
        d = grp.create_dataset(f"data/{name}", data=var.values)
        d.attrs["dims"] = json.dumps(list(var.dims))
        d.attrs["units"] = str(var.attrs.get("units", ""))
        d.attrs["attrs"] = json.dumps(dict(var.attrs), default=json_default)
    grp.attrs["attrs"] = json.dumps(dict(ds.attrs), default=json_default)


def _read_measurement(grp) -> xr.Dataset:
    coords = {}
    for name, d in grp["coords"].items():
        values = d[()]
        if values.dtype.kind in "SO":
            values = np.array([v.decode() if isinstance(v, bytes) else str(v) for v in values])
        coords[name] = (json.loads(d.attrs["dims"]), values, {"units": d.attrs["units"]} if d.attrs["units"] else {})
    data = {}
    for name, d in grp["data"].items():
        data[name] = (json.loads(d.attrs["dims"]), d[()], json.loads(d.attrs["attrs"]))
    return xr.Dataset(data, coords=coords, attrs=json.loads(grp.attrs["attrs"]))


def card_text(card: Card) -> str:
    """The card as TOML: the file itself when it has one (exact), else the serialised card."""
    if card.path is not None and Path(card.path).is_file():
        return Path(card.path).read_text(encoding="utf-8")
    return card.to_toml()


def h5_str():
    import h5py

    return h5py.string_dtype()


def write(card: Card, cond: PulseCondition, resp: PhysicsResponse, out: Path, measurement: xr.Dataset | None = None,
          fit: dict[str, Any] | None = None, mappings: dict[str, dict[str, Any]] | None = None) -> ExportResult:
    """Write the native file. ``mappings`` default: every simulator mapping of this response."""
    import h5py

    out = Path(out)
    if out.suffix.lower() not in (".h5", ".hdf5"):
        raise ExportError(f"native export writes an HDF5 file (.h5), got {out.name!r}")
    if mappings is None:
        mappings = all_mappings(card, resp)
    if fit is None and card.fit:
        fit = dict(card.fit)
    prov = provenance(card, cond, "native")
    record = mapping_record("physics (native: no phenomenological rule)", resp, resp.g_nominal)

    def writer(tmp: Path) -> None:
        with h5py.File(tmp, "w") as f:
            f.attrs.update({"format": FORMAT, "schema_version": EXPORT_SCHEMA_VERSION,
                            "devicelib_version": __version__,
                            "created": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
                            "card": card.name, "provenance": json.dumps(prov, default=json_default)})
            g = f.create_group("card")
            g.attrs.update({"name": card.name, "model": card.model_name, "kind": card.kind, "title": card.title,
                            "citation": card.citation()})
            g.create_dataset("card_toml", data=card_text(card), dtype=h5_str())
            pg = g.create_group("parameters")
            for name, e in card.parameters.items():
                d = pg.create_dataset(name, data=np.asarray(e.value, dtype=float))
                d.attrs["units"] = e.unit
                d.attrs["stderr"] = np.nan if e.stderr is None else float(e.stderr)
                d.attrs["source"] = _str_attr(e.source)
                d.attrs["estimate"] = _str_attr(e.estimate)
            c = f.create_group("condition")
            for key, q in cond.to_dict().items():
                c.attrs[key] = q["value"]
                c.attrs[f"{key}_units"] = q["unit"]
            r = f.create_group("response")
            d = r.create_dataset("g_nominal", data=resp.g_nominal)
            d.attrs["units"] = "S"
            if resp.g_ensemble is not None:
                d = r.create_dataset("g_ensemble", data=resp.g_ensemble)
                d.attrs["units"] = "S"
            d = r.create_dataset("directions", data=resp.directions())
            d.attrs["units"] = ""
            r.attrs.update({"n_up": resp.n_up, "n_down": resp.n_down,
                            "stats": json.dumps(resp.stats, default=json_default)})
            if measurement is not None:
                _write_measurement(f.create_group("measurement"), measurement)
            if fit is not None:
                fg = f.create_group("fit")
                fg.attrs["json"] = json.dumps(fit, default=json_default)
                for name, p in (fit.get("parameters") or {}).items():
                    if isinstance(p, dict) and isinstance(p.get("value"), int | float):
                        d = fg.create_dataset(name, data=float(p["value"]))
                        d.attrs["units"] = str(p.get("unit", ""))
            mg = f.create_group("mappings")
            for target, rec in mappings.items():
                t = mg.create_group(target)
                t.attrs["rule"] = str(rec["mapping"]["rule"])
                t.attrs["json"] = json.dumps(rec, default=json_default)
                d = t.create_dataset("rmse", data=float(rec["mapping"]["rmse"]["value"]))
                d.attrs["units"] = "S"

    atomic_write_with(out, writer)
    content = {"mappings": mappings, "provenance": prov}
    return ExportResult("native", [out], cond, record, content, prov["validity_warnings"])


def all_mappings(card: Card, resp: PhysicsResponse) -> dict[str, dict[str, Any]]:
    """Every simulator mapping of one physics response (JSON-able)."""
    from . import aihwkit, crosssim, memtorch, neurosim

    out: dict[str, dict[str, Any]] = {}
    a = aihwkit.map_response(resp)
    out["aihwkit"] = {"device_class": aihwkit.RULES[a["rule"]][0], "fields": a["fields"], "mapping": a["mapping"]}
    try:
        n = neurosim.map_response(resp)
        out["neurosim"] = {"values": n["values"], "mapping": n["mapping"]}
    except ExportError as exc:
        out["neurosim"] = {"error": str(exc), "mapping": {"rule": "none", "rmse": {"value": float("nan"), "unit": "S"}}}
    inc, dec = crosssim.dg_tables(resp)
    g_rule = crosssim.replay_tables(resp, inc, dec)
    try:
        out["crosssim"] = {"device": crosssim.device_block(card, resp),
                           "mapping": mapping_record("CrossSim lookup table (expected step)", resp, g_rule)}
    except ExportError as exc:
        out["crosssim"] = {"error": str(exc), "mapping": {"rule": "none", "rmse": {"value": float("nan"), "unit": "S"}}}
    try:
        m = memtorch.map_response(card, resp)
        out["memtorch"] = {"model": m["model"], "params": m["params"], "mapping": m["mapping"]}
    except ExportError as exc:
        out["memtorch"] = {"error": str(exc), "mapping": {"rule": "none", "rmse": {"value": float("nan"), "unit": "S"}}}
    return out


def load(path: str | Path) -> dict[str, Any]:
    """Read a native file: card, condition, response, measurement, fit, mappings, provenance."""
    import h5py

    path = Path(path)
    if not path.is_file():
        raise ExportError(f"{path}: no such file")
    with h5py.File(path, "r") as f:
        if f.attrs.get("format") != FORMAT:
            raise ExportError(f"{path}: not a devicelib native file (format {f.attrs.get('format')!r})")
        version = int(f.attrs["schema_version"])
        if version != EXPORT_SCHEMA_VERSION:
            raise ExportError(f"{path}: schema_version {version} not supported (expected {EXPORT_SCHEMA_VERSION})")
        toml_text = f["card/card_toml"][()]
        toml_text = toml_text.decode() if isinstance(toml_text, bytes) else toml_text
        card = card_from_dict(tomllib.loads(toml_text), where=f"{path}:/card")
        params = {}
        for name, d in f["card/parameters"].items():
            params[name] = {"value": d[()], "units": d.attrs["units"], "stderr": float(d.attrs["stderr"]),
                            "source": d.attrs["source"], "estimate": d.attrs["estimate"]}
        cattrs = dict(f["condition"].attrs)
        cond = PulseCondition.from_dict({k: {"value": cattrs[k], "unit": cattrs[f"{k}_units"]}
                                         for k in cattrs if not k.endswith("_units")})
        r = f["response"]
        response = {"g_nominal": r["g_nominal"][()], "directions": r["directions"][()],
                    "g_ensemble": r["g_ensemble"][()] if "g_ensemble" in r else None,
                    "n_up": int(r.attrs["n_up"]), "n_down": int(r.attrs["n_down"]),
                    "stats": json.loads(r.attrs["stats"]), "units": r["g_nominal"].attrs["units"]}
        measurement = _read_measurement(f["measurement"]) if "measurement" in f else None
        fit = json.loads(f["fit"].attrs["json"]) if "fit" in f else None
        mappings = {t: json.loads(g.attrs["json"]) for t, g in f["mappings"].items()}
        attrs = {k: (v.decode() if isinstance(v, bytes) else v) for k, v in f.attrs.items()}
    return {"card": card, "parameters": params, "condition": cond, "response": response,
            "measurement": measurement, "fit": fit, "mappings": mappings, "attrs": attrs,
            "provenance": json.loads(attrs["provenance"])}
