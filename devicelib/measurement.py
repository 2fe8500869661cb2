"""Pulse measurements as ``xarray`` Datasets, and readers for the usual layouts.

Schema (``schema = "devicelib.measurement/1"``)
------------------------------------------------
dims ``trace`` (one programming sequence: a ramp, a cycle, a device) and
``pulse`` (index of the pulse within the trace, from 0).

============== ============== ======== =============================================
variable       dims           units    meaning
============== ============== ======== =============================================
conductance    trace, pulse   S or ""  read after each pulse; NaN where a trace is
                                       shorter than the longest (trailing NaN only).
                                       ``""`` (dimensionless) marks normalised weights
amplitude      trace, pulse   V or A   pulse amplitude (signed)
width          trace, pulse   s        pulse width
interval       trace, pulse   s        wait between the end of the pulse and the read
temperature    trace, pulse   K        ambient temperature
============== ============== ======== =============================================

coordinates ``trace`` (labels, str) and ``pulse`` (int); attributes
``read_voltage`` (float) with ``read_voltage_units = "V"``, ``source``
(file or description) and ``schema``. Optional ``conductance_initial``
(trace) holds a read before the first pulse.

Units are declared, never guessed: a reader takes them from the file header
(``"rmp1 [A]"``) or from the caller, converts with pint, and refuses files
whose units it cannot establish. Errors name the file, line and column.
"""

from __future__ import annotations

import csv
import os
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import xarray as xr

from .pulses import ROOM_TEMPERATURE
from .units import UnitError, parse_unit, to_si, ureg

SCHEMA = "devicelib.measurement/1"
PULSE_VARS = {"amplitude": None, "width": "s", "interval": "s", "temperature": "K"}


class MeasurementError(ValueError):
    """A measurement file or Dataset does not follow the schema."""


# -- building and checking --------------------------------------------------------
def make_measurement(
    conductance,
    amplitude,
    width,
    v_read=None,
    interval=0.0,
    temperature=ROOM_TEMPERATURE,
    trace_labels: Sequence[str] | None = None,
    source: str = "",
    conductance_unit: str = "S",
    amplitude_unit: str = "V",
) -> xr.Dataset:
    """Build a schema-conforming Dataset from arrays.

    ``conductance`` is (trace, pulse) in ``conductance_unit`` (converted to S,
    or kept dimensionless for normalised weights). Pulse conditions may be
    scalars, one value per trace (shape (trace,)), or (trace, pulse) arrays;
    quantities or SI numbers.
    """
    g = np.atleast_2d(np.asarray(conductance, dtype=float))
    if g.size == 0:
        raise MeasurementError(f"{source or 'measurement'}: empty conductance array")
    unit = parse_unit(conductance_unit or "dimensionless", "conductance unit")
    if unit.dimensionality == ureg.S.dimensionality:
        g = np.asarray(to_si(ureg.Quantity(g, unit), "S", "conductance"))
        g_units = "S"
    elif unit.dimensionality == ureg.dimensionless.dimensionality:
        g_units = ""
    else:
        raise UnitError(f"{source or 'measurement'}: conductance unit {conductance_unit!r} is not a conductance")
    ntr, npu = g.shape

    def grid(value, unit_, name):
        if unit_ is None:  # amplitude: V or A
            from .pulses import _amplitude

            arr, _u = _amplitude(value, amplitude_unit, name)
        else:
            arr = np.asarray(to_si(value, unit_, name), dtype=float)
        if arr.ndim == 1 and arr.shape[0] == ntr and ntr != npu:
            arr = arr[:, None]
        try:
            return np.broadcast_to(arr, (ntr, npu)).astype(float)
        except ValueError:
            raise MeasurementError(
                f"{source or 'measurement'}: {name} has shape {np.shape(arr)}, expected a scalar, "
                f"({ntr},) per trace or ({ntr}, {npu}) per pulse"
            ) from None

    labels = list(trace_labels) if trace_labels is not None else [f"trace{i}" for i in range(ntr)]
    if len(labels) != ntr:
        raise MeasurementError(f"{source or 'measurement'}: {len(labels)} trace labels for {ntr} traces")
    data = {
        "conductance": (("trace", "pulse"), g, {"units": g_units}),
        "amplitude": (("trace", "pulse"), grid(amplitude, None, "amplitude"), {"units": amplitude_unit}),
        "width": (("trace", "pulse"), grid(width, "s", "width"), {"units": "s"}),
        "interval": (("trace", "pulse"), grid(interval, "s", "interval"), {"units": "s"}),
        "temperature": (("trace", "pulse"), grid(temperature, "K", "temperature"), {"units": "K"}),
    }
    attrs = {"schema": SCHEMA, "source": str(source), "read_voltage_units": "V"}
    if v_read is not None:
        attrs["read_voltage"] = float(to_si(v_read, "V", "v_read"))
    ds = xr.Dataset(data, coords={"trace": labels, "pulse": np.arange(npu)}, attrs=attrs)
    validate(ds)
    return ds


def validate(ds: xr.Dataset, where: str | None = None) -> xr.Dataset:
    """Check a Dataset against the schema; raise MeasurementError naming the problem."""
    where = where or ds.attrs.get("source") or "measurement"
    if ds.attrs.get("observable", "conductance") != "conductance":  # resistance, polarisation, probability...
        from .observables import validate_observation

        return validate_observation(ds, where)
    for name in ("conductance", *PULSE_VARS):
        if name not in ds:
            raise MeasurementError(f"{where}: missing variable {name!r}")
        if ds[name].dims != ("trace", "pulse"):
            raise MeasurementError(f"{where}: {name} has dims {ds[name].dims}, expected ('trace', 'pulse')")
        if "units" not in ds[name].attrs:
            raise MeasurementError(f"{where}: {name} has no 'units' attribute")
    gu = ds["conductance"].attrs["units"]
    if gu not in ("S", ""):
        raise MeasurementError(f"{where}: conductance units must be 'S' or '' (normalised), got {gu!r}")
    g = ds["conductance"].values
    if g.size == 0 or ds.sizes["pulse"] == 0:
        raise MeasurementError(f"{where}: empty measurement (no pulses)")
    valid = np.isfinite(g)
    for i, label in enumerate(ds["trace"].values):
        row = valid[i]
        n = int(row.sum())
        if n == 0:
            raise MeasurementError(f"{where}: trace {label!r} has no finite conductance value")
        if not row[:n].all():
            k = int(np.flatnonzero(~row[:n])[0])
            raise MeasurementError(
                f"{where}: trace {label!r} has a missing/NaN value at pulse {k} before its end "
                "(only trailing NaN may pad a shorter trace)"
            )
    if gu == "S" and np.any(g[valid] <= 0):
        i, k = np.argwhere(valid & (g <= 0))[0]
        raise MeasurementError(
            f"{where}: trace {ds['trace'].values[i]!r} pulse {k}: conductance {g[i, k]:g} S is not positive"
        )
    au = ds["amplitude"].attrs["units"]
    if au not in ("V", "A"):
        raise MeasurementError(f"{where}: amplitude units must be 'V' or 'A', got {au!r}")
    for name in PULSE_VARS:
        vals = ds[name].values[valid]
        if not np.all(np.isfinite(vals)):
            raise MeasurementError(f"{where}: {name} has non-finite values where conductance is measured")
    if np.any(ds["width"].values[valid] < 0) or np.any(ds["interval"].values[valid] < 0):
        raise MeasurementError(f"{where}: negative pulse width or interval")
    if np.any(ds["temperature"].values[valid] <= 0):
        raise MeasurementError(f"{where}: temperature must be positive kelvin")
    return ds


def trace_lengths(ds: xr.Dataset) -> np.ndarray:
    return np.isfinite(ds["conductance"].values).sum(axis=1)


def read_voltage(ds: xr.Dataset, override=None) -> float:
    if override is not None:
        return float(to_si(override, "V", "v_read"))
    if "read_voltage" not in ds.attrs:
        raise MeasurementError(
            f"{ds.attrs.get('source') or 'measurement'}: no read voltage recorded; give v_read explicitly"
        )
    return float(ds.attrs["read_voltage"])


def from_simulation(ds: xr.Dataset, label_prefix: str = "device") -> xr.Dataset:
    """Turn the output of :func:`devicelib.simulate.simulate` into a measurement (device -> trace)."""
    n = ds.sizes["device"]
    out = make_measurement(
        ds["conductance"].values,
        amplitude=np.broadcast_to(ds["amplitude"].values, (n, ds.sizes["pulse"])),
        width=ds["width"].values,
        interval=ds["interval"].values,
        temperature=ds["temperature"].values,
        v_read=ds.attrs.get("read_voltage"),
        trace_labels=[f"{label_prefix}{i}" for i in range(n)],
        source=f"simulation of {ds.attrs.get('model', '?')}",
        amplitude_unit=ds["amplitude"].attrs.get("units", "V"),
    )
    if "conductance_initial" in ds:
        out["conductance_initial"] = (("trace",), ds["conductance_initial"].values, {"units": "S"})
    return out


def concat_traces(parts: Sequence[xr.Dataset]) -> xr.Dataset:
    """Join measurements along ``trace`` (e.g. set and reset ramps), padding pulses with NaN.

    Colliding trace labels (files with the same column names) get the source file name as a
    prefix (``set:rmp1``); the parts must then come from differently named files.
    """
    if not parts:
        raise MeasurementError("concat_traces: nothing to join")
    units = {p["conductance"].attrs["units"] for p in parts}
    if len(units) > 1:
        raise MeasurementError(f"concat_traces: conductance units differ {sorted(units)}")
    vr = {p.attrs.get("read_voltage") for p in parts}
    if len(vr) > 1:
        raise MeasurementError(f"concat_traces: read voltages differ {sorted(map(str, vr))}")
    labels = np.concatenate([p["trace"].values for p in parts])
    if len(set(labels)) != len(labels):
        # the usual case: several files with the same column names (rmp1, rmp2, ...): prefix the file name
        stems = [Path(str(p.attrs.get("source", ""))).stem for p in parts]
        if any(not st for st in stems) or len(set(stems)) != len(stems):
            raise MeasurementError("concat_traces: trace labels collide and the parts have no distinct source "
                                   "file names; relabel with ds.assign_coords(trace=[...])")
        parts = [p.assign_coords(trace=[f"{st}:{t}" for t in p["trace"].values]) for p, st in zip(parts, stems,
                                                                                                   strict=True)]
    out = xr.concat(parts, dim="trace", join="outer", combine_attrs="drop_conflicts")
    for name in PULSE_VARS:
        # pulse conditions of padded pulses are irrelevant; keep them finite
        out[name] = out[name].fillna(0.0 if name != "temperature" else ROOM_TEMPERATURE)
        out[name].attrs["units"] = parts[0][name].attrs["units"]
    out["conductance"].attrs["units"] = parts[0]["conductance"].attrs["units"]
    out.attrs["source"] = " + ".join(str(p.attrs.get("source", "")) for p in parts)
    out.attrs["schema"] = SCHEMA
    return validate(out)


# -- readers ------------------------------------------------------------------------
def _split_header_unit(name: str) -> tuple[str, str | None]:
    """``"rmp1 [A]"`` -> ("rmp1", "A"); ``"rmp1"`` -> ("rmp1", None)."""
    name = name.strip()
    if name.endswith("]") and "[" in name:
        base, _, unit = name[:-1].rpartition("[")
        return base.strip(), unit.strip()
    return name, None


def _quantity_to_conductance(values: np.ndarray, unit: str, v_read: float | None, where: str):
    """Convert current or conductance (or normalised weight) columns to S."""
    u = parse_unit(unit, where)
    if u.dimensionality == ureg.A.dimensionality:
        if v_read is None:
            raise MeasurementError(f"{where}: values are currents ({unit}); give the read voltage to convert to S")
        return to_si(ureg.Quantity(values, u), "A", where) / v_read, "S"
    if u.dimensionality == ureg.S.dimensionality:
        return to_si(ureg.Quantity(values, u), "S", where), "S"
    if u.dimensionality == ureg.ohm.dimensionality:
        with np.errstate(divide="ignore"):
            return 1.0 / to_si(ureg.Quantity(values, u), "ohm", where), "S"
    if u == ureg.dimensionless:
        return np.asarray(values, dtype=float), ""
    raise MeasurementError(f"{where}: unit {unit!r} is neither a current, a conductance, a resistance nor ''")


def _read_csv_rows(path: Path, delimiter: str) -> list[list[str]]:
    try:
        with open(path, newline="", encoding="utf-8") as fh:
            return [row for row in csv.reader(fh, delimiter=delimiter) if any(c.strip() for c in row)]
    except FileNotFoundError:
        raise MeasurementError(f"{path}: no such file") from None
    except UnicodeDecodeError as exc:
        raise MeasurementError(f"{path}: not a text file ({exc.reason})") from None


def read_wide_csv(
    path: str | os.PathLike,
    unit: str | None = None,
    *,
    amplitude,
    width,
    v_read=None,
    interval=0.0,
    temperature=ROOM_TEMPERATURE,
    header: bool = True,
    delimiter: str = ",",
    labels: Sequence[str] | None = None,
    amplitude_unit: str = "V",
) -> xr.Dataset:
    """Read a CSV with one trace per column and one row per pulse.

    ``unit`` is the unit of the values (``"A"`` for read currents, ``"S"``,
    ``"uS"``, ``"ohm"``, or ``""`` for normalised weights); it may instead come
    from the header (``"rmp1 [A]"``). Currents need ``v_read``. Pulse
    conditions (``amplitude``, ``width``, ...) are required because the file
    does not hold them: a scalar for all columns or one value per column.
    Empty cells at the end of a column pad shorter traces.

    Example: ``read_wide_csv("set.csv", "A", v_read=0.1, amplitude=1.0, width=1e-7)``.
    """
    path = Path(path)
    rows = _read_csv_rows(path, delimiter)
    if not rows:
        raise MeasurementError(f"{path}: empty file")
    ncol = len(rows[0])
    if header:
        names_units = [_split_header_unit(c) for c in rows[0]]
        header_units = {u for _, u in names_units if u}
        if len(header_units) > 1:
            raise MeasurementError(f"{path}: line 1: columns have different units {sorted(header_units)}")
        hu = header_units.pop() if header_units else None
        if hu and unit and parse_unit(hu) != parse_unit(unit):
            raise MeasurementError(f"{path}: line 1: header says unit {hu!r} but {unit!r} was given")
        unit = unit or hu
        col_labels = [n or f"col{j + 1}" for j, (n, _) in enumerate(names_units)]
        body, first_line = rows[1:], 2
    else:
        col_labels = [f"col{j + 1}" for j in range(ncol)]
        body, first_line = rows, 1
    if labels is not None:
        col_labels = list(labels)
        if len(col_labels) != ncol:
            raise MeasurementError(f"{path}: {len(col_labels)} labels given for {ncol} columns")
    if unit is None:
        raise MeasurementError(
            f"{path}: the unit of the values is not in the header (e.g. 'rmp1 [A]'); pass unit= explicitly"
        )
    if not body:
        raise MeasurementError(f"{path}: no data rows")
    values = np.full((ncol, len(body)), np.nan)
    for i, row in enumerate(body):
        line = first_line + i
        if len(row) > ncol:
            raise MeasurementError(f"{path}: line {line}: {len(row)} fields, header has {ncol}")
        for j, cell in enumerate(row):
            cell = cell.strip()
            if cell == "":
                continue
            try:
                values[j, i] = float(cell)
            except ValueError:
                raise MeasurementError(
                    f"{path}: line {line}, column {j + 1} ({col_labels[j]!r}): expected a number, got {cell!r}"
                ) from None
            if not np.isfinite(values[j, i]):
                raise MeasurementError(f"{path}: line {line}, column {j + 1}: non-finite value {cell!r}")
    for j in range(ncol):
        col = values[j]
        n = int(np.isfinite(col).sum())
        if n == 0:
            raise MeasurementError(f"{path}: column {j + 1} ({col_labels[j]!r}) is empty")
        if not np.isfinite(col[:n]).all():
            k = int(np.flatnonzero(~np.isfinite(col[:n]))[0])
            raise MeasurementError(
                f"{path}: line {first_line + k}, column {j + 1} ({col_labels[j]!r}): "
                "empty cell inside the trace (only trailing cells may be empty)"
            )
    vr = None if v_read is None else float(to_si(v_read, "V", "v_read"))
    g, gu = _quantity_to_conductance(values, unit, vr, str(path))
    return make_measurement(
        g, amplitude=amplitude, width=width, v_read=vr, interval=interval, temperature=temperature,
        trace_labels=col_labels, source=str(path), conductance_unit=gu or "dimensionless",
        amplitude_unit=amplitude_unit,
    )


LONG_COLUMNS = ("trace", "pulse", "amplitude", "width", "interval", "temperature")


def read_long_csv(
    path: str | os.PathLike,
    units: Mapping[str, str] | None = None,
    *,
    v_read=None,
    delimiter: str = ",",
    defaults: Mapping[str, object] | None = None,
) -> xr.Dataset:
    """Read a CSV with one row per pulse.

    Columns: ``trace``, ``pulse`` (integer index), one of ``conductance`` /
    ``current`` / ``resistance`` / ``weight``, and the pulse conditions
    ``amplitude``, ``width``, optionally ``interval``, ``temperature`` and
    ``read_voltage`` (one value for the whole file).
    Units come from the header (``"width [ns]"``) or ``units={"width": "ns"}``;
    a column without a unit is an error (``trace``, ``pulse`` and ``weight``
    excepted). Missing optional columns take ``defaults`` (quantities or SI).
    """
    path = Path(path)
    rows = _read_csv_rows(path, delimiter)
    if len(rows) < 2:
        raise MeasurementError(f"{path}: needs a header line and at least one data row")
    units = dict(units or {})
    cols: dict[str, int] = {}
    col_units: dict[str, str | None] = {}
    for j, raw in enumerate(rows[0]):
        name, u = _split_header_unit(raw)
        name = name.lower()
        if name in cols:
            raise MeasurementError(f"{path}: line 1: column {name!r} appears twice")
        if u and name in units and parse_unit(u) != parse_unit(units[name]):
            raise MeasurementError(f"{path}: line 1: header unit {u!r} for {name!r} contradicts {units[name]!r}")
        cols[name] = j
        col_units[name] = u or units.get(name)
    value_cols = [c for c in ("conductance", "current", "resistance", "weight") if c in cols]
    if len(value_cols) != 1:
        raise MeasurementError(
            f"{path}: line 1: need exactly one of conductance/current/resistance/weight columns, found {value_cols}"
        )
    vcol = value_cols[0]
    for req in ("trace", "pulse", "amplitude", "width"):
        if req not in cols:
            raise MeasurementError(f"{path}: line 1: missing column {req!r}")
    defaults = dict(defaults or {})
    for name in ("amplitude", "width", "interval", "temperature", vcol):
        if name in cols and name != "weight" and not col_units.get(name):
            raise MeasurementError(
                f"{path}: line 1: column {name!r} has no unit; write it in the header ('{name} [unit]') "
                "or pass units={...}"
            )
    if "read_voltage" in cols:
        vr_unit = col_units.get("read_voltage")
        if not vr_unit:
            raise MeasurementError(f"{path}: line 1: column 'read_voltage' has no unit")
        cells = {row[cols["read_voltage"]].strip() for row in rows[1:] if len(row) == len(rows[0])}
        if len(cells) != 1:
            raise MeasurementError(
                f"{path}: column 'read_voltage' must hold one value for the file, found {len(cells)}"
            )
        try:
            file_vr = float(to_si(ureg.Quantity(float(cells.pop()), parse_unit(vr_unit)), "V", "read_voltage"))
        except ValueError:
            raise MeasurementError(f"{path}: column 'read_voltage': expected a number") from None
        if v_read is not None and not np.isclose(float(to_si(v_read, "V", "v_read")), file_vr):
            raise MeasurementError(f"{path}: read voltage {file_vr} V in the file contradicts v_read={v_read}")
        v_read = file_vr
    records: dict[str, dict[int, dict[str, float]]] = {}
    for i, row in enumerate(rows[1:]):
        line = i + 2
        if len(row) != len(rows[0]):
            raise MeasurementError(f"{path}: line {line}: {len(row)} fields, header has {len(rows[0])}")
        trace = row[cols["trace"]].strip()
        try:
            pulse = int(row[cols["pulse"]])
        except ValueError:
            raise MeasurementError(f"{path}: line {line}, column 'pulse': expected an integer") from None
        rec = {}
        for name in (vcol, "amplitude", "width", "interval", "temperature"):
            if name not in cols:
                continue
            cell = row[cols[name]].strip()
            try:
                val = float(cell)
            except ValueError:
                raise MeasurementError(
                    f"{path}: line {line}, column {name!r}: expected a number, got {cell!r}"
                ) from None
            if not np.isfinite(val):
                raise MeasurementError(f"{path}: line {line}, column {name!r}: non-finite value {cell!r}")
            rec[name] = val
        tr = records.setdefault(trace, {})
        if pulse in tr:
            raise MeasurementError(f"{path}: line {line}: trace {trace!r} pulse {pulse} appears twice")
        tr[pulse] = rec
    labels = list(records)
    npulse = max(max(t) for t in records.values()) + 1
    grids = {name: np.full((len(labels), npulse), np.nan) for name in (vcol, *PULSE_VARS)}
    for i, label in enumerate(labels):
        pulses = sorted(records[label])
        if pulses != list(range(len(pulses))):
            raise MeasurementError(f"{path}: trace {label!r}: pulse indices must run 0..N-1 without gaps")
        for k in pulses:
            for name, val in records[label][k].items():
                grids[name][i, k] = val
    vr = None if v_read is None else float(to_si(v_read, "V", "v_read"))
    unit_v = "dimensionless" if vcol == "weight" else col_units[vcol]
    g, gu = _quantity_to_conductance(grids[vcol], unit_v, vr, f"{path}: column {vcol!r}")
    amp_u = parse_unit(col_units["amplitude"], f"{path}: column 'amplitude'")
    amp_unit = "A" if amp_u.dimensionality == ureg.A.dimensionality else "V"
    conds = {}
    for name in PULSE_VARS:
        target = amp_unit if name == "amplitude" else PULSE_VARS[name]
        if name in cols:
            conds[name] = to_si(ureg.Quantity(grids[name], parse_unit(col_units[name])), target, f"{path}: {name}")
        else:
            conds[name] = defaults.get(name, 0.0 if name == "interval" else ROOM_TEMPERATURE)
    return make_measurement(
        g, v_read=vr, trace_labels=labels, source=str(path), conductance_unit=gu or "dimensionless",
        amplitude_unit=amp_unit, **{k: np.nan_to_num(v, nan=0.0) if isinstance(v, np.ndarray) else v
                                    for k, v in conds.items()},
    )


# -- NetCDF / HDF5 round trip ------------------------------------------------------
def save_measurement(ds: xr.Dataset, path: str | os.PathLike) -> Path:
    """Write a measurement to NetCDF4/HDF5 (h5netcdf engine) atomically."""
    import tempfile

    validate(ds)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".nc", dir=path.parent)
    os.close(fd)
    try:
        out = ds.copy()
        out["trace"] = out["trace"].astype(str)
        out.to_netcdf(tmp, engine="h5netcdf")
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def load_measurement(path: str | os.PathLike) -> xr.Dataset:
    """Read a measurement written by :func:`save_measurement` (or any schema-conforming NetCDF/HDF5)."""
    path = Path(path)
    if not path.is_file():
        raise MeasurementError(f"{path}: no such file")
    try:
        with xr.open_dataset(path, engine="h5netcdf") as ds:
            out = ds.load()
    except (OSError, ValueError) as exc:
        raise MeasurementError(f"{path}: not a readable NetCDF/HDF5 measurement ({exc})") from None
    out.attrs.setdefault("source", str(path))
    return validate(out, str(path))


def read_measurement(path: str | os.PathLike, **kwargs) -> xr.Dataset:
    """Read by extension: ``.nc``/``.h5`` (schema file), ``.csv``/``.tsv`` (long if it has a
    ``pulse`` column, else wide). Keyword arguments go to the reader."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix in (".nc", ".h5", ".hdf5", ".nc4"):
        return load_measurement(path)
    if suffix in (".csv", ".tsv", ".txt"):
        delimiter = kwargs.pop("delimiter", "\t" if suffix == ".tsv" else ",")
        rows = _read_csv_rows(path, delimiter)
        first = [_split_header_unit(c)[0].lower() for c in rows[0]] if rows else []
        if "pulse" in first and "trace" in first:
            return read_long_csv(path, delimiter=delimiter, **kwargs)
        return read_wide_csv(path, delimiter=delimiter, **kwargs)
    raise MeasurementError(f"{path}: unknown measurement format {suffix!r} (use .csv, .tsv, .nc or .h5)")
