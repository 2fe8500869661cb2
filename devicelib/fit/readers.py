"""Readers for the calibration layouts the measurement module does not cover yet.

``read_sequence_csv``
    a header-less (or headed) CSV whose columns are consecutive segments of
    ONE pulse sequence, e.g. aihwkit's ``gong_et_al.csv``: column 1 holds the
    reads after 1000 potentiating pulses, column 2 continues the same trace
    with 1000 depressing pulses. Each column gets its own amplitude. The
    Dataset is built with :func:`devicelib.measurement.make_measurement`.
``read_dg_table``
    CrossSim v2 lookup tables ``dG_increasing.txt`` / ``dG_decreasing.txt``:
    a header line, a row of conductance bins (S), a row of CDF points, then
    the dG matrix (rows = CDF points, columns = bins).
"""

from __future__ import annotations

import math
import os
import re
from dataclasses import dataclass

import numpy as np

from .._xrcompat import xr  # xarray imported on first use (not by the fit command)
from ..measurement import MeasurementError, _quantity_to_conductance, _read_csv_rows, make_measurement
from ..units import to_si


def read_sequence_csv(
    path: str | os.PathLike,
    unit: str,
    *,
    amplitudes,
    width,
    v_read=None,
    interval=0.0,
    temperature=300.0,
    header: bool = False,
    label: str | None = None,
    amplitude_unit: str = "V",
    _light: bool = False,
) -> xr.Dataset:
    """Read columns that are consecutive segments of one trace (one amplitude per column).

    ``unit`` is the unit of the values (``""`` for normalised weights, ``"S"``,
    ``"A"`` with ``v_read``, ...). ``amplitudes`` gives one amplitude per
    column (e.g. ``[1.0, -1.0]`` for an up/down sequence). ``_light=True``: see
    :func:`devicelib.measurement.make_measurement`.

    Example (aihwkit's Gong et al. 2018 trace, normalised weights, nominal
    +/-1 V pulses since the file records only their sign)::

        read_sequence_csv("gong_et_al.csv", "", amplitudes=[1.0, -1.0], width=1e-6)
    """
    from ..textio import as_path

    path = as_path(path)
    rows = _read_csv_rows(path, "auto")
    if not rows:
        raise MeasurementError(f"{path}: empty file")
    body, first_line = (rows[1:], 2) if header else (rows, 1)
    if not body:
        raise MeasurementError(f"{path}: no data rows")
    ncol = len(body[0])
    amps = np.atleast_1d(np.asarray(to_si(amplitudes, amplitude_unit, "amplitudes"), dtype=float))
    if amps.shape != (ncol,):
        raise MeasurementError(f"{path}: {ncol} columns but {amps.size} amplitude(s) given (one per column)")
    cols: list[list[float]] = [[] for _ in range(ncol)]
    ended = [False] * ncol
    for i, row in enumerate(body):
        line = first_line + i
        if len(row) > ncol:
            raise MeasurementError(f"{path}: line {line}: {len(row)} fields, expected {ncol}")
        for j in range(ncol):
            cell = row[j].strip() if j < len(row) else ""
            if cell == "":
                ended[j] = True
                continue
            if ended[j]:
                raise MeasurementError(f"{path}: line {line}, column {j + 1}: value after an empty cell")
            try:
                v = float(cell)
            except ValueError:
                raise MeasurementError(f"{path}: line {line}, column {j + 1}: expected a number, got {cell!r}") \
                    from None
            if not math.isfinite(v):  # a float: math's test (numpy's costs ~1 us a cell)
                raise MeasurementError(f"{path}: line {line}, column {j + 1}: non-finite value {cell!r}")
            cols[j].append(v)
    for j, c in enumerate(cols):
        if not c:
            raise MeasurementError(f"{path}: column {j + 1} is empty")
    values = np.concatenate([np.asarray(c) for c in cols])[None, :]
    amp = np.concatenate([np.full(len(c), a) for c, a in zip(cols, amps, strict=True)])[None, :]
    vr = None if v_read is None else float(to_si(v_read, "V", "v_read"))
    g, gu = _quantity_to_conductance(values, unit or "dimensionless", vr, str(path))
    ds = make_measurement(g, amplitude=amp, width=width, v_read=vr, interval=interval, temperature=temperature,
                          trace_labels=[label or path.stem], source=str(path),
                          conductance_unit=gu or "dimensionless", amplitude_unit=amplitude_unit, _light=_light)
    ds.attrs["segments"] = ",".join(str(len(c)) for c in cols)
    return ds


@dataclass
class DGTable:
    """A CrossSim dG lookup table: ``dg[cdf, bin]`` (S) at conductance ``g`` (S) and CDF points ``cdf``."""

    g: np.ndarray
    cdf: np.ndarray
    dg: np.ndarray
    source: str

    @property
    def mean(self) -> np.ndarray:
        """Mean dG per bin (integral of the quantile function over the CDF)."""
        return np.trapezoid(self.dg, self.cdf, axis=0) / (self.cdf[-1] - self.cdf[0])

    @property
    def std(self) -> np.ndarray:
        m2 = np.trapezoid(self.dg**2, self.cdf, axis=0) / (self.cdf[-1] - self.cdf[0])
        return np.sqrt(np.maximum(m2 - self.mean**2, 0.0))


def read_dg_table(path: str | os.PathLike) -> DGTable:
    from ..textio import as_path

    path = as_path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise MeasurementError(f"{path}: no such file") from None
    except UnicodeDecodeError as exc:
        raise MeasurementError(f"{path}: not a UTF-8 text file ({exc.reason})") from None
    except OSError as exc:
        raise MeasurementError(f"{path}: cannot read ({exc.strerror or exc})") from None
    lines = [ln for ln in text.splitlines()[1:] if ln.strip()]
    rows = []
    for i, ln in enumerate(lines):
        try:
            rows.append(np.array([float(x) for x in re.split(r"[,\s]+", ln.strip()) if x]))
        except ValueError:
            raise MeasurementError(f"{path}: a non-numeric entry in data row {i + 1}") from None
        if rows[-1].size == 0:
            raise MeasurementError(f"{path}: data row {i + 1} holds no numbers")
        if not np.all(np.isfinite(rows[-1])):
            raise MeasurementError(f"{path}: a non-finite entry in data row {i + 1}")
    if len(rows) < 3:
        raise MeasurementError(f"{path}: expected a G-bin row, a CDF row and the dG matrix")
    g, cdf = rows[0], rows[1]
    widths = {len(r) for r in rows[2:]}
    if widths != {len(g)}:
        raise MeasurementError(f"{path}: dG rows have {sorted(widths)} columns, the G-bin row {len(g)}")
    dg = np.array(rows[2:])
    if dg.shape[0] != len(cdf):
        raise MeasurementError(f"{path}: {dg.shape[0]} dG rows for {len(cdf)} CDF points")
    if np.any(np.diff(cdf) < 0) or cdf[0] < 0 or cdf[-1] > 1:
        raise MeasurementError(f"{path}: CDF points must increase within [0, 1]")
    return DGTable(g=g, cdf=cdf, dg=dg, source=str(path))
