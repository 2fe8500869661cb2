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

import os
import re
import sys
from collections.abc import Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from . import textio
from . import units as _units
from ._xrcompat import (
    defer_dask,
    xr,  # xarray imported on first use (not by the fit command)
)
from .pulses import ROOM_TEMPERATURE
from .units import UnitError, check_unit, parse_unit, same_dimension, to_si

if "xarray" in sys.modules:  # building a measurement must not import dask (xarray's duck-array check would);
    defer_dask()  # when xarray is not imported yet, ``xr`` applies this on first use

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
    _light: bool = False,
) -> xr.Dataset:
    """Build a schema-conforming Dataset from arrays.

    ``conductance`` is (trace, pulse) in ``conductance_unit`` (converted to S,
    or kept dimensionless for normalised weights). Pulse conditions may be
    scalars, one value per trace (shape (trace,)), or (trace, pulse) arrays;
    quantities or SI numbers. ``_light=True`` (the fit command's) returns the read-only stand-in
    :class:`devicelib._lightds.LightDataset` instead, which imports no xarray until asked for more
    than values, dims and attributes.
    """
    g = np.atleast_2d(np.asarray(conductance, dtype=float))
    if g.size == 0:
        raise MeasurementError(f"{source or 'measurement'}: empty conductance array")
    unit = conductance_unit or "dimensionless"
    check_unit(unit, "conductance unit")
    if same_dimension(unit, "S"):
        g = np.asarray(_units.convert(g, unit, "S", "conductance"))  # pint's factor (no pint for listed units)
        g_units = "S"
    elif same_dimension(unit, "dimensionless"):
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
    if _light:  # the fit command's read-only stand-in (devicelib._lightds): no xarray import
        from ._lightds import LightDataset

        ds = LightDataset(data, {"trace": labels, "pulse": np.arange(npu)}, attrs)
    else:
        ds = xr.Dataset(data, coords={"trace": labels, "pulse": np.arange(npu)}, attrs=attrs)
    validate(ds)
    return ds


def validate(ds: xr.Dataset, where: str | None = None, values: bool = True) -> xr.Dataset:
    """Check a Dataset against the schema; raise MeasurementError naming the problem.

    ``values=False`` checks the schema only (variables, dims, units, not empty): ``fit_batch`` checks
    the values chunk by chunk with :func:`check_values`, where the chunks are fitted."""
    where = where or ds.attrs.get("source") or "measurement"
    if ds.attrs.get("observable", "conductance") != "conductance":  # resistance, polarisation, probability...
        from .observables import validate_observation

        return validate_observation(ds, where)
    var = ds.variables  # Variables, not DataArrays: building a DataArray per access costs ~50 us (a fit's set-up)
    for name in ("conductance", *PULSE_VARS):
        if name not in ds:
            raise MeasurementError(f"{where}: missing variable {name!r}")
        if var[name].dims != ("trace", "pulse"):
            raise MeasurementError(f"{where}: {name} has dims {var[name].dims}, expected ('trace', 'pulse')")
        if "units" not in var[name].attrs:
            raise MeasurementError(f"{where}: {name} has no 'units' attribute")
    gu = var["conductance"].attrs["units"]
    if gu not in ("S", ""):
        raise MeasurementError(f"{where}: conductance units must be 'S' or '' (normalised), got {gu!r}")
    if ds.sizes["trace"] == 0 or ds.sizes["pulse"] == 0:
        raise MeasurementError(f"{where}: empty measurement (no pulses)")
    au = var["amplitude"].attrs["units"]
    if au not in ("V", "A"):
        raise MeasurementError(f"{where}: amplitude units must be 'V' or 'A', got {au!r}")
    if values:
        check_values(where, var["trace"].values, gu, var["conductance"].values,
                     *(var[name].values for name in PULSE_VARS))
    return ds


def check_values(where: str, labels, g_units: str, conductance, amplitude, width, interval, temperature) -> None:
    """The value checks of :func:`validate` on (trace, pulse) arrays (or on a chunk of traces, with
    their ``labels``), vectorised: a finite conductance per trace, NaN only trailing, positive
    conductance in S, finite pulse conditions where conductance is measured, non-negative widths
    and intervals, positive temperatures. A pulse condition may be one row (1, pulse) shared by all
    traces. The error names the first bad trace (and pulse)."""
    g = conductance
    valid = np.isfinite(g)
    if not valid.all():
        n = valid.sum(axis=1)
        # a NaN before a finite value: not trailing padding (an empty trace is reported as such)
        gap = (n == 0) | np.any(~valid[:, :-1] & valid[:, 1:], axis=1)
        i = int(np.flatnonzero(gap)[0]) if gap.any() else -1
        if i >= 0 and n[i] == 0:
            raise MeasurementError(f"{where}: trace {str(labels[i])!r} has no finite conductance value")
        if i >= 0:
            k = int(np.flatnonzero(~valid[i])[0])
            raise MeasurementError(
                f"{where}: trace {str(labels[i])!r} has a missing/NaN value at pulse {k} before its end "
                "(only trailing NaN may pad a shorter trace)"
            )
    every = valid.all()  # then no masking: the checks read the arrays as they are (a shared row once)

    def measured(x):
        return x if every else np.broadcast_to(x, g.shape)[valid]

    if g_units == "S" and np.any(measured(g) <= 0):
        i, k = np.argwhere(valid & (g <= 0))[0]
        raise MeasurementError(
            f"{where}: trace {str(labels[i])!r} pulse {k}: conductance {g[i, k]:g} S is not positive"
        )
    for name, x in zip(PULSE_VARS, (amplitude, width, interval, temperature), strict=True):
        if not np.all(np.isfinite(measured(x))):
            raise MeasurementError(f"{where}: {name} has non-finite values where conductance is measured")
    if np.any(measured(width) < 0) or np.any(measured(interval) < 0):
        raise MeasurementError(f"{where}: negative pulse width or interval")
    if np.any(measured(temperature) <= 0):
        raise MeasurementError(f"{where}: temperature must be positive kelvin")


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
# Files are sniffed from their first 64 KiB (encoding, header block, header, delimiter;
# devicelib.textio) and parsed in one pass by pandas' C parser; the exact line of a problem
# is found by a second, streaming pass only when the parser rejects the file.
def _split_header_unit(name: str) -> tuple[str, str | None]:
    """``"rmp1 [A]"`` -> ("rmp1", "A"); ``"rmp1"`` -> ("rmp1", None)."""
    name = name.strip()
    if name.endswith("]") and "[" in name:
        base, _, unit = name[:-1].rpartition("[")
        return base.strip(), unit.strip()
    return name, None


def _affine(unit: str, target: str, where: str) -> tuple[float, float]:
    """(scale, offset) with ``si = value * scale + offset`` from ``unit`` to ``target``.

    Checked on the unit alone, so a wrong dimension names the unit and never dumps the data
    (and no pint Quantity wraps a large array)."""
    factor = _units._factor(unit, target) if unit and target else None
    if factor is not None:  # multiplicative, same dimension: pint's factor from the shipped table
        return factor, 0.0
    ureg = _units.registry()
    u = parse_unit(unit, where)
    t = parse_unit(target, where)
    if u.dimensionality != t.dimensionality:
        raise UnitError(f"{where}: unit {unit!r} is not a {target!r} unit (dimension {u.dimensionality})")
    zero = float(ureg.Quantity(0.0, u).to(t).magnitude)
    one = float(ureg.Quantity(1.0, u).to(t).magnitude)
    return one - zero, zero


def _to_si_inplace(values: np.ndarray, unit: str, target: str, where: str) -> np.ndarray:
    scale, offset = _affine(unit, target, where)
    if scale != 1.0:
        values *= scale
    if offset != 0.0:
        values += offset
    return values


def _quantity_to_conductance(values: np.ndarray, unit: str, v_read: float | None, where: str,
                             copy: bool = True):
    """Convert current or conductance (or normalised weight) columns to S (``copy=False``: in place)."""
    check_unit(unit, where)
    values = np.array(values, dtype=float, copy=copy or None)
    if same_dimension(unit, "A"):
        if v_read is None:
            raise MeasurementError(f"{where}: values are currents ({unit}); give the read voltage to convert to S")
        if not np.isfinite(v_read) or v_read == 0:
            raise MeasurementError(f"{where}: read voltage {v_read} V cannot convert currents to conductance")
        return _to_si_inplace(values, unit, "A", where) / v_read, "S"
    if same_dimension(unit, "S"):
        return _to_si_inplace(values, unit, "S", where), "S"
    if same_dimension(unit, "ohm"):
        with np.errstate(divide="ignore"):
            return 1.0 / _to_si_inplace(values, unit, "ohm", where), "S"
    if same_dimension(unit, "dimensionless"):
        return _to_si_inplace(values, unit, "dimensionless", where), ""
    raise MeasurementError(f"{where}: unit {unit!r} is neither a current, a conductance, a resistance nor ''")


def _delimiter_arg(delimiter):
    """API spelling -> textio spelling: "auto" detects, "whitespace" (or None) splits on runs of blanks."""
    if delimiter == "auto":
        return ...
    if delimiter in (None, "whitespace", " "):
        return None
    if not isinstance(delimiter, str) or len(delimiter) != 1:
        raise MeasurementError(f"delimiter must be one character, 'auto' or 'whitespace', got {delimiter!r}")
    return delimiter


def _sniff(path, delimiter="auto") -> textio.Layout:
    return textio.sniff(path, MeasurementError, _delimiter_arg(delimiter))


def _read_csv_rows(path: Path, delimiter: str | None = "auto") -> list[list[str]]:
    """All non-blank rows of a small file (header included), for layouts read cell by cell."""
    lay = _sniff(path, delimiter)
    lay.data_line, lay.header_line = 1, None
    return [cells for _, cells in textio.iter_rows(lay, MeasurementError)]


def _check_memory(nbytes: float, where: str, what: str) -> None:
    from .limits import check_memory

    try:
        check_memory(nbytes, what, hint="split the file into several files (e.g. by trace) and read them apart")
    except ValueError as exc:
        raise MeasurementError(f"{where}: {exc}") from None


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
    delimiter: str | None = "auto",
    labels: Sequence[str] | None = None,
    amplitude_unit: str = "V",
    traces: str = "columns",
) -> xr.Dataset:
    """Read a CSV with one trace per column and one row per pulse (``traces="rows"``: one trace per row).

    ``unit`` is the unit of the values (``"A"`` for read currents, ``"S"``,
    ``"uS"``, ``"ohm"``, or ``""`` for normalised weights); it may instead come
    from the header (``"rmp1 [A]"``; with ``traces="rows"`` from a leading label
    cell ``"rmp1 [A]"``). Currents need ``v_read``. Pulse
    conditions (``amplitude``, ``width``, ...) are required because the file
    does not hold them: a scalar for all traces or one value per trace.
    Empty cells at the end of a trace pad shorter traces.
    The delimiter (comma, tab, semicolon, whitespace) and a UTF-8 byte-order mark are detected.

    Example: ``read_wide_csv("set.csv", "A", v_read=0.1, amplitude=1.0, width=1e-7)``.
    """
    path = textio.as_path(path)
    if traces not in ("columns", "rows"):
        raise MeasurementError(f"{path}: traces must be 'columns' or 'rows', got {traces!r}")
    lay = _sniff(path, delimiter)
    if lay.header is None and lay.data_line is None:
        raise MeasurementError(f"{path}: empty file")
    if traces == "rows":
        return _read_row_traces(path, lay, unit, header, labels, amplitude=amplitude, width=width, v_read=v_read,
                                interval=interval, temperature=temperature, amplitude_unit=amplitude_unit)
    if header:
        if lay.header_line is None:  # the file starts with numbers: its first line is the header
            first = next(textio.iter_rows(lay, MeasurementError), None)
            if first is None:
                raise MeasurementError(f"{path}: no data rows")
            lay.header, lay.header_line, lay.data_line = [c.strip() for c in first[1]], first[0], first[0] + 1
        names_units = [_split_header_unit(c) for c in lay.header]
        header_units = {u for _, u in names_units if u}
        if len(header_units) > 1:
            raise MeasurementError(f"{path}: line {lay.header_line}: columns have different units "
                                   f"{sorted(header_units)}")
        hu = header_units.pop() if header_units else None
        if hu and unit and parse_unit(hu) != parse_unit(unit):
            raise MeasurementError(f"{path}: line {lay.header_line}: header says unit {hu!r} but {unit!r} was given")
        unit = unit or hu
        col_labels = [n or f"col{j + 1}" for j, (n, _) in enumerate(names_units)]
        if lay.data_line is None:
            raise MeasurementError(f"{path}: no data rows")
    else:
        lay.header, lay.header_line = None, None
        lay.data_line = 1
        first = next(textio.iter_rows(lay, MeasurementError), None)
        if first is None:
            raise MeasurementError(f"{path}: empty file")
        col_labels = [f"col{j + 1}" for j in range(len(first[1]))]
        lay.header = col_labels  # the field count every line is checked against
    ncol = len(col_labels)
    if labels is not None:
        col_labels = list(labels)
        if len(col_labels) != ncol:
            raise MeasurementError(f"{path}: {len(col_labels)} labels given for {ncol} columns")
    if unit is None:
        raise MeasurementError(
            f"{path}: the unit of the values is not in the header (e.g. 'rmp1 [A]'); pass unit= explicitly"
        )
    names = [f"c{j}" for j in range(ncol)]

    def check(lineno, cells):
        for j, cell in enumerate(cells[:ncol]):
            cell = cell.strip()
            if cell == "":
                continue
            try:
                v = float(cell)
            except ValueError:
                return f", column {j + 1} ({col_labels[j]!r}): expected a number, got {textio.excerpt(cell)}"
            if not np.isfinite(v):
                return f", column {j + 1}: non-finite value {textio.excerpt(cell)}"
        return None

    try:
        df = textio.read_table(lay, names, dict.fromkeys(names, np.float64))
    except textio.PARSE_ERRORS as exc:
        textio.locate_problem(lay, MeasurementError, check,
                              textio.first_bad_chunk(lay, names, dict.fromkeys(names, np.float64)))
        raise MeasurementError(f"{path}: cannot parse: {textio.excerpt(str(exc))}") from None
    if len(df) == 0:
        raise MeasurementError(f"{path}: no data rows")
    values = df.to_numpy(dtype=float).T.copy()
    del df
    finite = np.isfinite(values)
    if (~finite & ~np.isnan(values)).any():  # inf parsed as a number
        textio.locate_problem(lay, MeasurementError, check)
    for j in range(ncol):
        n = int(finite[j].sum())
        if n == 0:
            raise MeasurementError(f"{path}: column {j + 1} ({col_labels[j]!r}) is empty")
        if not finite[j, :n].all():
            k = int(np.flatnonzero(~finite[j, :n])[0])
            lineno, _ = textio.line_of_row(lay, k, MeasurementError)
            raise MeasurementError(
                f"{path}: line {lineno}, column {j + 1} ({col_labels[j]!r}): "
                "empty cell inside the trace (only trailing cells may be empty)"
            )
    vr = None if v_read is None else float(to_si(v_read, "V", "v_read"))
    g, gu = _quantity_to_conductance(values, unit, vr, str(path), copy=False)
    ds = make_measurement(
        g, amplitude=amplitude, width=width, v_read=vr, interval=interval, temperature=temperature,
        trace_labels=col_labels, source=str(path), conductance_unit=gu or "dimensionless",
        amplitude_unit=amplitude_unit,
    )
    if lay.metadata:
        ds.attrs["metadata"] = lay.metadata_json()
    return ds


def _read_row_traces(path, lay, unit, header, labels, **conditions) -> xr.Dataset:
    """One trace per row; a leading non-numeric cell is the trace label (``"rmp1 [A]"`` may give the unit)."""
    # a header line (found by the sniffer: not mostly numbers) is skipped; rows may be ragged, so no
    # field count is checked
    lay.data_line = (lay.header_line + 1) if (header and lay.header_line) else 1
    lay.header = None
    rows: list[np.ndarray] = []
    row_labels: list[str] = []
    units: set[str] = set()
    for lineno, cells in textio.iter_rows(lay, MeasurementError):
        cells = [c.strip() for c in cells]
        label = None
        if cells and cells[0] and not textio._is_number(cells[0]):
            label, u = _split_header_unit(cells[0])
            if u:
                units.add(u)
            cells = cells[1:]
        while cells and cells[-1] == "":
            cells.pop()
        vals = np.empty(len(cells))
        for j, cell in enumerate(cells):
            try:
                vals[j] = float(cell)
            except ValueError:
                what = "empty cell inside the trace" if cell == "" else f"expected a number, got {textio.excerpt(cell)}"
                raise MeasurementError(f"{path}: line {lineno}, field {j + 1 + (label is not None)}: {what}") from None
            if not np.isfinite(vals[j]):
                raise MeasurementError(f"{path}: line {lineno}: non-finite value {textio.excerpt(cell)}")
        if not len(vals):
            raise MeasurementError(f"{path}: line {lineno}: a trace without values")
        rows.append(vals)
        row_labels.append(label or f"row{len(rows)}")
    if not rows:
        raise MeasurementError(f"{path}: no data rows")
    if len(units) > 1:
        raise MeasurementError(f"{path}: traces have different units {sorted(units)}")
    hu = units.pop() if units else None
    if hu and unit and parse_unit(hu) != parse_unit(unit):
        raise MeasurementError(f"{path}: the labels say unit {hu!r} but {unit!r} was given")
    unit = unit or hu
    if unit is None:
        raise MeasurementError(f"{path}: the unit of the values is not in the labels (e.g. 'rmp1 [A]'); pass unit=")
    npu = max(len(r) for r in rows)
    _check_memory(len(rows) * npu * 8 * 6, str(path), f"{len(rows)} traces x {npu} pulses")
    values = np.full((len(rows), npu), np.nan)
    for i, r in enumerate(rows):
        values[i, : len(r)] = r
    if labels is not None:
        if len(labels) != len(rows):
            raise MeasurementError(f"{path}: {len(labels)} labels given for {len(rows)} traces")
        row_labels = list(labels)
    vr = None if conditions["v_read"] is None else float(to_si(conditions.pop("v_read"), "V", "v_read"))
    conditions.pop("v_read", None)
    g, gu = _quantity_to_conductance(values, unit, vr, str(path))
    return make_measurement(g, v_read=vr, trace_labels=row_labels, source=str(path),
                            conductance_unit=gu or "dimensionless", **conditions)


LONG_COLUMNS = ("trace", "pulse", "amplitude", "width", "interval", "temperature")
VALUE_COLUMNS = ("conductance", "current", "resistance", "weight")


def read_long_csv(
    path: str | os.PathLike,
    units: Mapping[str, str] | None = None,
    *,
    v_read=None,
    delimiter: str | None = "auto",
    defaults: Mapping[str, object] | None = None,
    progress=None,
) -> xr.Dataset:
    """Read a CSV with one row per pulse.

    Columns: ``trace``, ``pulse`` (integer index), one of ``conductance`` /
    ``current`` / ``resistance`` / ``weight``, and the pulse conditions
    ``amplitude``, ``width``, optionally ``interval``, ``temperature`` and
    ``read_voltage`` (one value for the whole file).
    Units come from the header (``"width [ns]"``) or ``units={"width": "ns"}``;
    a column without a unit is an error (``trace``, ``pulse`` and ``weight``
    excepted). Missing optional columns take ``defaults`` (quantities or SI).

    The file is parsed in one pass (peak memory a few times the parsed arrays);
    pulse indices are checked against the row count before the (trace, pulse) grid is
    allocated, and the grid against the memory limit (:mod:`devicelib.limits`).
    ``progress(bytes_read, bytes_total)`` is called while parsing.
    """
    path = textio.as_path(path)
    lay = _sniff(path, delimiter)
    if lay.header is None or lay.data_line is None:
        raise MeasurementError(f"{path}: needs a header line and at least one data row")
    hl = lay.header_line
    units = dict(units or {})
    cols: dict[str, int] = {}
    col_units: dict[str, str | None] = {}
    for j, raw in enumerate(lay.header):
        name, u = _split_header_unit(raw)
        name = name.lower()
        if len(raw) > 80:
            raise MeasurementError(f"{path}: line {hl}: column {j + 1} header {textio.excerpt(raw, 60)} is too long "
                                   "for a name and a unit")
        if name in cols:
            raise MeasurementError(f"{path}: line {hl}: column {textio.excerpt(name)} appears twice")
        if u and name in units and parse_unit(u) != parse_unit(units[name]):
            raise MeasurementError(f"{path}: line {hl}: header unit {u!r} for {name!r} contradicts {units[name]!r}")
        cols[name] = j
        col_units[name] = u or units.get(name)
    value_cols = [c for c in VALUE_COLUMNS if c in cols]
    if len(value_cols) != 1:
        raise MeasurementError(
            f"{path}: line {hl}: need exactly one of conductance/current/resistance/weight columns, "
            f"found {value_cols}"
        )
    vcol = value_cols[0]
    for req in ("trace", "pulse", "amplitude", "width"):
        if req not in cols:
            raise MeasurementError(f"{path}: line {hl}: missing column {req!r}")
    defaults = dict(defaults or {})
    for name in ("amplitude", "width", "interval", "temperature", "read_voltage", vcol):
        if name in cols and name != "weight" and not col_units.get(name):
            raise MeasurementError(
                f"{path}: line {hl}: column {name!r} has no unit; write it in the header ('{name} [unit]') "
                "or pass units={...}"
            )
    numeric = [n for n in (vcol, "amplitude", "width", "interval", "temperature", "read_voltage") if n in cols]
    names = [f"c{j}" for j in range(len(lay.header))]
    dtypes = dict.fromkeys(names, "category")  # unused columns: cheap labels
    dtypes[names[cols["pulse"]]] = np.int64
    dtypes.update({names[cols[n]]: np.float64 for n in numeric})

    def check(lineno, cells):
        if len(cells) != len(names):
            return f": {len(cells)} fields, header has {len(names)}"
        return textio.number_problem(cells, {n: cols[n] for n in ("pulse", *numeric)}, integer=("pulse",))

    try:
        df = textio.read_table(lay, names, dtypes, progress=progress)
    except textio.PARSE_ERRORS as exc:
        textio.locate_problem(lay, MeasurementError, check, textio.first_bad_chunk(lay, names, dtypes))
        raise MeasurementError(f"{path}: cannot parse: {textio.excerpt(str(exc))}") from None
    nrows = len(df)
    if nrows == 0:
        raise MeasurementError(f"{path}: needs a header line and at least one data row")

    def fail_at(row: int, msg: str):
        lineno, _ = textio.line_of_row(lay, int(row), MeasurementError)
        raise MeasurementError(f"{path}: line {lineno}{msg}")

    for n in numeric:
        col = df[names[cols[n]]].to_numpy()
        bad = ~np.isfinite(col)
        if bad.any():
            lineno, cells = textio.line_of_row(lay, int(np.argmax(bad)), MeasurementError)
            cell = cells[cols[n]].strip() if cols[n] < len(cells) else ""
            what = "empty cell" if cell == "" else f"non-finite value {textio.excerpt(cell)}"
            raise MeasurementError(f"{path}: line {lineno}, column {n!r}: {what}")
    # trace labels in order of first appearance
    cat = df[names[cols["trace"]]].cat
    raw_codes = cat.codes.to_numpy()
    if (raw_codes < 0).any():
        fail_at(np.argmax(raw_codes < 0), ", column 'trace': empty trace label")
    present, first = np.unique(raw_codes, return_index=True)
    order = np.argsort(first)
    rank = np.zeros(len(cat.categories), dtype=np.int64)
    rank[present[order]] = np.arange(len(present))
    codes = rank[raw_codes]
    del raw_codes
    labels = [str(x) for x in np.asarray(cat.categories)[present[order]]]
    ntr = len(labels)
    pulse = df[names[cols["pulse"]]].to_numpy(dtype=np.int64)
    if (pulse < 0).any():
        fail_at(np.argmax(pulse < 0), f", column 'pulse': negative pulse index {int(pulse[pulse < 0][0])}")
    # cheap checks before allocating the (trace, pulse) grid: indices 0..N-1 per trace
    counts = np.bincount(codes, minlength=ntr)
    maxp = np.full(ntr, -1, dtype=np.int64)
    np.maximum.at(maxp, codes, pulse)
    gap = maxp + 1 > counts
    if gap.any():
        i = int(np.argmax(gap))
        row = int(np.flatnonzero((codes == i) & (pulse == maxp[i]))[0])
        fail_at(row, f": trace {str(labels[i])!r}: pulse index {int(maxp[i])} but the trace has {int(counts[i])} "
                     "row(s); pulse indices must run 0..N-1 without gaps")
    npulse = int(maxp.max()) + 1
    grid_vars = (vcol, *PULSE_VARS)
    _check_memory(ntr * npulse * 8.0 * (len(grid_vars) + 1), str(path), f"{ntr} traces x {npulse} pulses")
    lin = codes * npulse + pulse
    del codes, pulse
    if not (maxp + 1 == counts).all() or np.unique(lin).size != nrows:
        srt = np.argsort(lin, kind="stable")
        d = int(np.flatnonzero(lin[srt][1:] == lin[srt][:-1])[0])
        row = int(srt[d + 1])
        i, k = divmod(int(lin[row]), npulse)
        fail_at(row, f": trace {str(labels[i])!r} pulse {k} appears twice")

    vr = None if v_read is None else float(to_si(v_read, "V", "v_read"))
    if "read_voltage" in cols:
        col = df[names[cols["read_voltage"]]].to_numpy()
        distinct = np.unique(col)
        if len(distinct) != 1:
            raise MeasurementError(
                f"{path}: column 'read_voltage' must hold one value for the file, found {len(distinct)}"
            )
        file_vr = float(distinct[0]) * _affine(col_units["read_voltage"], "V", f"{path}: column 'read_voltage'")[0]
        if vr is not None and not np.isclose(vr, file_vr):
            raise MeasurementError(f"{path}: read voltage {file_vr} V in the file contradicts v_read={v_read}")
        vr = file_vr

    def grid(name: str, fill: float) -> np.ndarray:
        return _scatter(lin, columns[name], (ntr, npulse), fill)

    columns = {n: df[names[cols[n]]].to_numpy() for n in numeric}
    del df
    unit_v = "dimensionless" if vcol == "weight" else col_units[vcol]
    g, gu = _quantity_to_conductance(grid(vcol, np.nan), unit_v, vr, f"{path}: column {vcol!r}", copy=False)
    check_unit(col_units["amplitude"], f"{path}: column 'amplitude'")
    amp_unit = "A" if same_dimension(col_units["amplitude"], "A") else "V"
    data = {"conductance": (("trace", "pulse"), g, {"units": gu})}
    for name in PULSE_VARS:
        target = amp_unit if name == "amplitude" else PULSE_VARS[name]
        pad = ROOM_TEMPERATURE if name == "temperature" else 0.0
        if name in cols:
            arr = _to_si_inplace(grid(name, np.nan), col_units[name], target, f"{path}: column {name!r}")
            arr[np.isnan(arr)] = pad
        else:
            value = defaults.get(name, 0.0 if name == "interval" else ROOM_TEMPERATURE)
            arr = np.full((ntr, npulse), float(to_si(value, target, name)))
        data[name] = (("trace", "pulse"), arr, {"units": target})
    attrs = {"schema": SCHEMA, "source": str(path), "read_voltage_units": "V"}
    if vr is not None:
        attrs["read_voltage"] = vr
    if lay.metadata:
        attrs["metadata"] = lay.metadata_json()
    ds = xr.Dataset(data, coords={"trace": labels, "pulse": np.arange(npulse)}, attrs=attrs)
    return validate(ds)


def _scatter(lin: np.ndarray, values: np.ndarray, shape: tuple[int, int], fill: float) -> np.ndarray:
    out = np.full(shape[0] * shape[1], fill)
    out[lin] = values
    return out.reshape(shape)


_INSTRUMENT_COLUMN = re.compile(r"^(?:SMU-?\d+\s+)?(?P<name>[^()\[\]]+?)\s*[(\[](?P<unit>[^()\[\]]*)[)\]]\s*$")


def read_instrument_csv(path: str | os.PathLike, *, delimiter: str | None = "auto") -> xr.Dataset:
    """Read an instrument export (Keithley 2400/2450/2461 KickStart CSV and alike) as it is.

    The header block (``"key","value"`` lines before the table, e.g. ``Model``, ``NPLC``,
    ``Limit``) is kept in ``attrs["metadata"]`` (a JSON object); the table's columns
    ``"SMU-1 Voltage (V)"`` become variables on dim ``sample`` named after the quantity
    (``time``, ``voltage``, ``current``, ``resistance``, ``index``) in SI units, with the
    column as written in ``long_name``. Units come from the column headers; a column
    without a unit is kept as a dimensionless number. Use
    :func:`instrument_to_measurement` to put a pulse record into the measurement schema.
    """
    path = textio.as_path(path)
    lay = _sniff(path, delimiter)
    if lay.header is None or lay.data_line is None:
        raise MeasurementError(f"{path}: no table (a header line followed by numbers) found")
    variables = {}
    names = [f"c{j}" for j in range(len(lay.header))]
    for j, col in enumerate(lay.header):
        m = _INSTRUMENT_COLUMN.match(col)
        name, unit = (m["name"], m["unit"].strip()) if m else (col, "")
        key = re.sub(r"\W+", "_", name.strip().lower()).strip("_") or f"col{j + 1}"
        if unit in ("Ω", "Ohm", "ohms"):
            unit = "ohm"
        variables[names[j]] = (key, unit or "dimensionless", col)

    def check(lineno, cells):
        for j, cell in enumerate(cells):
            if cell.strip() and not textio._is_number(cell.strip()):
                return f", column {j + 1} ({textio.excerpt(lay.header[j] if j < len(lay.header) else '?')}): " \
                       f"expected a number, got {textio.excerpt(cell.strip())}"
        return None

    try:
        df = textio.read_table(lay, names, dict.fromkeys(names, np.float64))
    except textio.PARSE_ERRORS as exc:
        textio.locate_problem(lay, MeasurementError, check,
                              textio.first_bad_chunk(lay, names, dict.fromkeys(names, np.float64)))
        raise MeasurementError(f"{path}: cannot parse: {textio.excerpt(str(exc))}") from None
    data = {}
    for c, (key, unit, col) in variables.items():
        target = {"s": "s", "V": "V", "A": "A", "ohm": "ohm"}.get(unit)
        values = df[c].to_numpy(dtype=float).copy()
        if target is None:
            u = parse_unit(unit, f"{path}: column {col!r}")
            si = _units.registry().Quantity(1.0, u).to_base_units()
            target = f"{si.units:~}" if unit != "dimensionless" else ""
            values *= float(si.magnitude)
        else:
            _to_si_inplace(values, unit, target, f"{path}: column {col!r}")
        while key in data:
            key += "_"
        data[key] = (("sample",), values, {"units": target, "long_name": col})
    attrs = {"source": str(path), "metadata": lay.metadata_json(), "schema": "devicelib.instrument/1"}
    return xr.Dataset(data, coords={"sample": np.arange(len(df))}, attrs=attrs)


def instrument_to_measurement(
    raw: xr.Dataset, *, temperature=ROOM_TEMPERATURE, label: str | None = None, v_min=None,
    select: str = "all",
) -> xr.Dataset:
    """One instrument record (:func:`read_instrument_csv`) as a one-trace measurement.

    Each source-measure sample is one "pulse" of the trace: ``amplitude`` is the measured
    voltage of the sample, ``width`` the time to the next sample (the last repeats the
    previous step), ``conductance`` = I / V (S) read *at that amplitude* (the record has no
    separate low-voltage read: ``attrs["read_voltage"]`` is absent and
    ``attrs["read_at"] = "amplitude"``). ``temperature`` (K, quantity or SI) is the stage
    temperature, which such files do not record in the table. Samples with
    ``|V| <= v_min`` (default 1 mV) carry no conductance information: they are refused with
    ``select="all"`` and dropped (counted in ``attrs["dropped_samples"]``) with ``select="biased"``
    (e.g. the relaxation tail after a pulse).
    """
    if select not in ("all", "biased"):
        raise MeasurementError(f"select must be 'all' or 'biased', got {select!r}")
    where = raw.attrs.get("source", "instrument record")
    for need in ("time", "voltage", "current"):
        if need not in raw:
            raise MeasurementError(f"{where}: the record has no {need!r} column; found {sorted(raw.data_vars)}")
    t = raw["time"].values
    v = raw["voltage"].values
    i = raw["current"].values
    if len(t) < 2:
        raise MeasurementError(f"{where}: needs at least two samples")
    dt = np.diff(t)
    if np.any(dt <= 0) or not np.all(np.isfinite(dt)):
        raise MeasurementError(f"{where}: sample times must increase")
    width = np.append(dt, dt[-1])
    v_min = 1e-3 if v_min is None else float(to_si(v_min, "V", "v_min"))
    low = np.abs(v) <= v_min
    dropped = int(low.sum()) if select == "biased" else 0
    if dropped:
        keep = ~low
        if keep.sum() < 1:
            raise MeasurementError(f"{where}: no sample is biased above {v_min:g} V")
        t, v, i, width = t[keep], v[keep], i[keep], width[keep]
    elif low.any():
        k = int(np.argmax(low))
        raise MeasurementError(f"{where}: sample {k}: |V| = {abs(v[k]):.3g} V is too small to give a conductance "
                               f"(limit {v_min:g} V); select the biased samples first")
    g = i / v
    ds = make_measurement(g[None, :], amplitude=v[None, :], width=width[None, :], temperature=temperature,
                          trace_labels=[label or Path(str(where)).stem], source=str(where))
    ds.attrs["read_at"] = "amplitude"
    ds.attrs["dropped_samples"] = dropped
    ds.attrs["metadata"] = raw.attrs.get("metadata", "{}")
    return ds


def sniff_layout(path: str | os.PathLike, delimiter: str | None = "auto") -> str:
    """``"long"`` (trace and pulse columns), ``"instrument"`` (a header block or SMU columns) or ``"wide"``;
    reads only the head of the file."""
    lay = _sniff(path, delimiter)
    first = [_split_header_unit(c)[0].lower() for c in lay.header or []]
    if "pulse" in first and "trace" in first:
        return "long"
    if lay.metadata or any(_INSTRUMENT_COLUMN.match(c) and c.upper().startswith("SMU") for c in lay.header or []):
        return "instrument"
    return "wide"


# -- NetCDF / HDF5 round trip ------------------------------------------------------
@contextmanager
def atomic_output(path: str | os.PathLike):
    """Yield a unique temporary path beside ``path``; rename it onto ``path`` when the block completes.

    The temporary name comes from ``mkstemp`` (so concurrent writers never share it); on any
    exception, KeyboardInterrupt included, it is removed and ``path`` keeps its old content.
    The file gets the permissions the umask gives a new file (``mkstemp`` would leave 0600).
    """
    import tempfile

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        yield Path(tmp)
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def save_measurement(ds: xr.Dataset, path: str | os.PathLike) -> Path:
    """Write a measurement to NetCDF4/HDF5 (h5netcdf engine) atomically."""
    validate(ds)
    path = Path(path)
    out = ds.copy()
    out["trace"] = out["trace"].astype(str)
    with atomic_output(path) as tmp:
        out.to_netcdf(tmp, engine="h5netcdf")
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


def _check_reader_kwargs(path: Path, layout: str, kwargs: dict) -> None:
    """Options that the detected layout does not take are an error, not silently dropped."""
    import inspect

    reader = {"long": read_long_csv, "wide": read_wide_csv, "columns": read_wide_csv, "rows": read_wide_csv,
              "instrument": instrument_to_measurement}.get(layout)
    if reader is None:
        return
    accepted = set(inspect.signature(reader).parameters) - {"path", "raw"}
    extra = sorted(set(kwargs) - accepted)
    if layout in ("wide", "columns", "rows") and not {"amplitude", "width"} <= set(kwargs):
        raise MeasurementError(f"{path}: read as layout {layout!r} (one trace per "
                               f"{'row' if layout == 'rows' else 'column'}): the file holds no pulse conditions; "
                               "give amplitude= and width=")
    if extra:
        why = {"long": "a long CSV (trace and pulse columns) holds its own pulse conditions and units",
               "instrument": "an instrument export holds its own samples"}.get(layout, f"the {layout} reader")
        raise MeasurementError(f"{path}: read as layout {layout!r}: {why}; it takes no {', '.join(extra)}")


def read_measurement(path: str | os.PathLike, layout: str = "auto", **kwargs) -> xr.Dataset:
    """Read by extension: ``.nc``/``.h5`` (schema file); ``.csv``/``.tsv``/``.txt`` by ``layout``:
    ``auto`` (long if the header has ``trace`` and ``pulse`` columns, an instrument export if it has a
    header block or SMU columns, else wide), ``long``, ``wide`` (one trace per column), ``rows`` (one trace
    per row) or ``instrument``. The head of the file is sniffed once; the file is parsed once.
    Keyword arguments go to the reader."""
    path = textio.as_path(path)
    suffix = path.suffix.lower()
    if suffix in (".nc", ".h5", ".hdf5", ".nc4"):
        return load_measurement(path)
    if suffix in (".csv", ".tsv", ".txt", ".dat"):
        delimiter = kwargs.pop("delimiter", "auto")
        if layout == "auto":
            layout = sniff_layout(path, delimiter)
        _check_reader_kwargs(path, layout, kwargs)
        if layout == "long":
            return read_long_csv(path, delimiter=delimiter, **kwargs)
        if layout in ("wide", "columns"):
            return read_wide_csv(path, delimiter=delimiter, **kwargs)
        if layout == "rows":
            return read_wide_csv(path, delimiter=delimiter, traces="rows", **kwargs)
        if layout == "instrument":
            conv = {k: kwargs.pop(k) for k in ("temperature", "label", "v_min", "select") if k in kwargs}
            return instrument_to_measurement(read_instrument_csv(path, delimiter=delimiter), **conv)
        raise MeasurementError(f"{path}: unknown layout {layout!r}; use auto, long, wide, rows or instrument")
    raise MeasurementError(f"{path}: unknown measurement format {suffix!r} (use .csv, .tsv, .txt, .nc or .h5)")
