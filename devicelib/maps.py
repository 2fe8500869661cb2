"""Single-pulse response maps: one pulse per row, state read before and after.

Schema
------
A map is a measurement (:mod:`devicelib.observables`) with one trace per row
and one pulse per trace: ``resistance`` (or conductance/current) after the
pulse, ``resistance_initial`` (trace) the read before it, so a fit starts
every row from its own measured state (``initial="first"``). The pulse
variables carry each row's width and amplitude; ``compliance`` (trace, pulse)
holds the current-limiting condition of the row (for a 1T1R cell the
word-line/gate voltage, V) and ``device`` (trace) the cell address: rows may
be on different devices. Rows can be selected by condition before a fit
(:func:`select`), e.g. a model without a transistor only where the gate is
fully on.

Reader
------
:func:`read_pulse_map` reads delimited text with one row per pulse and the
columns named by the caller (default the Stanford 1T1R sweep layout
``addr, width [s], V_WL [V], V_BL or V_SL [V], R_before [ohm], R_after [ohm]``).
A RESET map (``polarity="reset"``) stores the source-line voltage as a
negative amplitude, the sign convention of the bipolar models.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import xarray as xr

from .measurement import MeasurementError
from .observables import make_observation

STANFORD_COLUMNS = ("device", "width", "compliance", "amplitude", "before", "after")


def make_pulse_map(before, after, width, amplitude, *, compliance=None, device=None, observable="resistance",
                   unit="ohm", v_read=None, temperature=300.0, source="", amplitude_unit="V",
                   compliance_unit="V") -> xr.Dataset:
    """A single-pulse map from 1-D arrays (one entry per row)."""
    after = np.asarray(after, dtype=float).ravel()
    n = after.size

    def col(a):
        return np.broadcast_to(np.asarray(a, dtype=float), (n,)).reshape(n, 1)

    extra = {"compliance": (col(compliance), compliance_unit)} if compliance is not None else None
    ds = make_observation(after[:, None], observable, unit, col(amplitude), col(width), v_read=v_read,
                          temperature=temperature, initial=np.asarray(before, dtype=float).ravel(),
                          trace_labels=[f"row{i}" for i in range(n)], source=source,
                          amplitude_unit=amplitude_unit, extra=extra)
    if device is not None:
        ds["device"] = (("trace",), np.asarray(device).ravel().astype(str))
    ds.attrs["layout"] = "single-pulse map"
    return ds


def read_pulse_map(path, *, polarity: str = "set", columns=STANFORD_COLUMNS, observable="resistance",
                   unit="ohm", v_read=None, delimiter=None, temperature=300.0) -> xr.Dataset:
    """Read a single-pulse map (one pulse per row, state before and after) from delimited text.

    ``columns`` names every column in order: ``device``, ``width`` (s),
    ``amplitude`` (V), ``compliance`` (V), ``before`` and ``after`` (in
    ``unit``); any other name is skipped. ``polarity`` ``"reset"`` negates the
    amplitude (a RESET pulse on the source line). The read voltage is not in
    such files: give ``v_read`` (V).
    """
    path = Path(path)
    if polarity not in ("set", "reset"):
        raise MeasurementError(f"{path}: polarity must be 'set' or 'reset', got {polarity!r}")
    need = {"width", "amplitude", "before", "after"}
    if missing := need - set(columns):
        raise MeasurementError(f"{path}: columns must name {sorted(need)}; missing {sorted(missing)}")
    try:
        raw = np.loadtxt(path, delimiter=delimiter, ndmin=2, dtype=str)
    except (OSError, ValueError) as exc:
        raise MeasurementError(f"{path}: cannot read a pulse map: {str(exc)[:120]}") from None
    if raw.shape[1] != len(columns):
        raise MeasurementError(f"{path}: {raw.shape[1]} columns per row, but {len(columns)} named {list(columns)}")
    cols = {}
    for j, name in enumerate(columns):
        if name == "device":
            cols[name] = raw[:, j]
            continue
        try:
            cols[name] = raw[:, j].astype(float)
        except ValueError:
            bad = next(i for i, v in enumerate(raw[:, j]) if not _is_float(v))
            raise MeasurementError(f"{path}: line {bad + 1}, column {j + 1} ({name}): not a number: "
                                   f"{raw[bad, j][:120]!r}") from None
    amp = cols["amplitude"] * (-1.0 if polarity == "reset" else 1.0)
    ds = make_pulse_map(cols["before"], cols["after"], cols["width"], amp, compliance=cols.get("compliance"),
                        device=cols.get("device"), observable=observable, unit=unit, v_read=v_read,
                        temperature=temperature, source=str(path))
    ds.attrs["polarity"] = polarity
    return ds


def _is_float(v: str) -> bool:
    try:
        float(v)
    except ValueError:
        return False
    return True


def select(ds: xr.Dataset, **ranges) -> xr.Dataset:
    """Rows whose conditions lie in the given (min, max) ranges, e.g. ``select(m, compliance=(2.5, 3.4))``."""
    keep = np.ones(ds.sizes["trace"], bool)
    for name, (lo, hi) in ranges.items():
        if name not in ds:
            raise MeasurementError(f"select: the map has no variable {name!r}")
        v = ds[name].values
        v = v[:, 0] if v.ndim == 2 else v
        keep &= (v >= lo) & (v <= hi)
    if not keep.any():
        raise MeasurementError(f"select: no row inside {ranges}")
    return ds.isel(trace=np.flatnonzero(keep))
