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

from ._xrcompat import xr  # xarray imported on first use, with dask deferred
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


def condition_medians(ds: xr.Dataset, by=("width", "amplitude", "compliance")) -> xr.Dataset:
    """One row per pulse condition: the medians of the reads before and after over its rows (cells).

    Cells of one map scatter by a factor of a few around their condition's typical response (device
    to device), so a fit to every row mostly fits that scatter; the medians carry the condition's
    response. Each row gets ``cells`` (rows pooled) and ``spread``, the robust relative scatter of the
    after-reads, ``1.4826 MAD(ln after)``, so ``spread / sqrt(cells) * 1.2533`` is the relative
    standard error of the median (the asymptotic efficiency of the median of normal data).
    """
    obs = ds.attrs.get("observable", "resistance")
    if ds.attrs.get("layout") != "single-pulse map":
        raise MeasurementError("condition_medians: not a single-pulse map (read it with read_pulse_map)")
    for name in by:
        if name not in ds:
            raise MeasurementError(f"condition_medians: the map has no variable {name!r}")
    keys = np.column_stack([ds[n].values.reshape(ds.sizes["trace"], -1)[:, 0] for n in by])
    uniq, inv = np.unique(np.round(keys, 12), axis=0, return_inverse=True)
    inv = inv.ravel()
    after = ds[obs].values[:, 0]
    before = ds[f"{obs}_initial"].values
    order = np.argsort(inv, kind="stable")
    groups = np.split(order, np.cumsum(np.bincount(inv, minlength=len(uniq)))[:-1])
    med_a = np.array([np.median(after[g]) for g in groups])
    med_b = np.array([np.median(before[g]) for g in groups])
    lna = np.log(np.abs(after))
    spread = np.array([1.4826 * np.median(np.abs(lna[g] - np.median(lna[g]))) for g in groups])
    cond = dict(zip(by, uniq.T, strict=True))
    out = make_pulse_map(med_b, med_a, cond.get("width", ds["width"].values[0, 0]),
                         cond.get("amplitude", ds["amplitude"].values[0, 0]), compliance=cond.get("compliance"),
                         observable=obs, unit=str(ds[obs].attrs.get("units", "")),
                         v_read=ds.attrs.get("read_voltage"), source=ds.attrs.get("source", ""),
                         compliance_unit=str(ds["compliance"].attrs.get("units", "V")) if "compliance" in ds
                         else "V")
    out["cells"] = (("trace",), np.array([g.size for g in groups]))
    out["spread"] = (("trace",), spread)
    out.attrs.update({k: v for k, v in ds.attrs.items() if k not in out.attrs})
    out.attrs["pooled"] = f"medians over cells per ({', '.join(by)})"
    return out


def with_gate(model, ds: xr.Dataset, parameter: str = "V_g", variable: str = "compliance"):
    """``model`` with ``parameter`` set row by row from the map's ``variable`` (for a 1T1R map: the
    word-line voltage of each row as the access transistor's gate voltage ``V_g``, devicelib.circuit)."""
    if variable not in ds:
        raise MeasurementError(f"with_gate: the map has no variable {variable!r}")
    if parameter not in model.params:
        raise MeasurementError(f"with_gate: {model.name} has no parameter {parameter!r} (no series circuit)")
    v = ds[variable].values
    return model.with_params(**{parameter: (v[:, 0] if v.ndim == 2 else v).astype(float)})
