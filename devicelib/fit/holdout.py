"""Hold-out selections for predictive validation.

A hold-out removes points from the fit objective; the fitted model then
predicts them and the out-of-sample error is reported. Specifications:

``"later:F"``
    the last fraction ``F`` of every trace's pulses (extrapolation in pulse
    number: the model continues from its own fitted trajectory);
``"traces:PATTERN[,PATTERN...]"``
    whole traces whose label matches a shell pattern (``"reset:*"``,
    ``"rmp3?"``): other cycles or other devices;
``"every:K"``
    every K-th trace (index K-1, 2K-1, ...): interleaved cycles;
``"condition:NAME OP VALUE"``
    pulses whose condition ``NAME`` (amplitude, width, interval,
    temperature, or another per-pulse variable of the data such as a map's
    ``compliance``; SI value) satisfies ``OP`` (``=``, ``<``, ``>``, ``<=``,
    ``>=``), e.g. ``"condition:width>1e-7"``: another pulse condition;
``"NAME:V1,V2,..."``
    pulses whose condition ``NAME`` equals one of the listed values
    (relative tolerance 1e-6), each a quantity converted to the variable's
    unit or a bare SI number, e.g. ``"width:40ns,200ns"``: whole columns of
    a single-pulse map;
a boolean array (trace, pulse)
    any selection (True = held out).

The first point of a trace is never held out when it is the start state.
"""

from __future__ import annotations

import fnmatch
import re

import numpy as np

from .._xrcompat import xr  # xarray imported on first use (not by the fit command)
from .errors import FitError

_OPS = {"=": np.isclose, "==": np.isclose, "<": np.less, ">": np.greater, "<=": np.less_equal,
        ">=": np.greater_equal}


def holdout_mask(spec, data: xr.Dataset) -> tuple[np.ndarray, str]:
    """Boolean mask (trace, pulse) of held-out points and a readable description."""
    obs = str(data.attrs.get("observable", "conductance"))
    values = data.variables[obs].values  # a Variable: no DataArray built (a fit's set-up)
    shape = values.shape
    valid = np.isfinite(values)
    if spec is None or (isinstance(spec, str) and spec.strip().lower() in ("", "none")):
        return np.zeros(shape, bool), "none"
    if not isinstance(spec, str):
        arr = np.asarray(spec.values if isinstance(spec, xr.DataArray) else spec, dtype=bool)
        if arr.shape != shape:
            raise FitError(f"holdout mask has shape {arr.shape}, the data {shape}")
        return arr & valid, f"custom selection of {int((arr & valid).sum())} points"
    kind, _, arg = spec.partition(":")
    kind = kind.strip().lower()
    arg = arg.strip()
    labels = [str(t) for t in data["trace"].values]
    if kind == "later":
        try:
            frac = float(arg)
        except ValueError:
            raise FitError(f"holdout {spec!r}: expected 'later:FRACTION', e.g. 'later:0.25'") from None
        if not 0 < frac < 1:
            raise FitError(f"holdout {spec!r}: the fraction must be between 0 and 1")
        n = valid.sum(axis=1)
        cut = np.ceil(n * (1 - frac)).astype(int)
        mask = np.arange(shape[1])[None, :] >= cut[:, None]
        return mask & valid, f"last {frac:.0%} of the pulses of every trace (extrapolation in pulse number)"
    if kind == "traces":
        pats = [p.strip() for p in arg.split(",") if p.strip()]
        if not pats:
            raise FitError(f"holdout {spec!r}: give label patterns, e.g. 'traces:reset:*'")
        sel = np.array([any(fnmatch.fnmatchcase(lab, p) for p in pats) for lab in labels])
        if not sel.any():
            raise FitError(f"holdout {spec!r}: no trace label matches; labels are e.g. {labels[:3]}")
        if sel.all():
            raise FitError(f"holdout {spec!r}: every trace would be held out")
        return valid & sel[:, None], f"{int(sel.sum())} whole trace(s) matching {', '.join(pats)}"
    if kind == "every":
        try:
            k = int(arg)
        except ValueError:
            raise FitError(f"holdout {spec!r}: expected 'every:K' with an integer K >= 2") from None
        if k < 2 or k > len(labels):
            raise FitError(f"holdout {spec!r}: K must be between 2 and the number of traces ({len(labels)})")
        sel = (np.arange(len(labels)) % k) == k - 1
        return valid & sel[:, None], f"every {k}th trace ({int(sel.sum())} of {len(labels)} traces)"
    if kind == "condition":
        m = re.fullmatch(r"\s*(\w+)\s*(==|<=|>=|=|<|>)\s*(\S+)\s*", arg)
        if not m or m[1] not in data or data[m[1]].dims != data[obs].dims:
            raise FitError(f"holdout {spec!r}: expected 'condition:NAME OP VALUE', e.g. 'condition:amplitude<0'")
        name, op, val = m.groups()
        try:
            value = float(val)
        except ValueError:
            raise FitError(f"holdout {spec!r}: {val!r} is not a number (SI units)") from None
        sel = _OPS[op](data[name].values, value) & valid
        if not sel.any():
            raise FitError(f"holdout {spec!r}: no measured point has {name} {op} {value:g}")
        return sel, f"pulses with {name} {op} {value:g} {data[name].attrs.get('units', '')} (another pulse condition)"
    if kind in data and data[kind].dims == data[obs].dims:
        return _values_mask(spec, data, kind, arg, valid)
    raise FitError(f"unknown holdout {spec!r}; use later:F, traces:PATTERN, every:K, condition:NAME<VALUE or "
                   "NAME:V1,V2 (e.g. width:40ns,200ns)")


def _values_mask(spec: str, data: xr.Dataset, name: str, arg: str, valid: np.ndarray) -> tuple[np.ndarray, str]:
    """Points whose per-pulse variable ``name`` equals one of the listed values (``"width:40ns,200ns"``)."""
    from ..units import parse_unit, ureg

    unit = str(data[name].attrs.get("units", "")) or "dimensionless"
    values = []
    for text in (t.strip() for t in arg.split(",")):
        if not text:
            continue
        try:
            q = ureg.Quantity(text)
            values.append(float(q.to(parse_unit(unit, name)).magnitude) if not q.dimensionless or unit ==
                          "dimensionless" else float(q.magnitude))
        except Exception:
            raise FitError(f"holdout {spec[:120]!r}: cannot read {text[:40]!r} as a {name} in {unit}") from None
    if not values:
        raise FitError(f"holdout {spec[:120]!r}: give values, e.g. 'width:40ns,200ns'")
    v = data[name].values
    sel = np.zeros(v.shape, bool)
    for x in values:
        sel |= np.isclose(v, x, rtol=1e-6, atol=0.0)
    sel &= valid
    if not sel.any():
        raise FitError(f"holdout {spec[:120]!r}: no measured point has {name} in {values}")
    if sel.sum() == valid.sum():
        raise FitError(f"holdout {spec[:120]!r}: every point would be held out")
    return sel, f"pulses with {name} in {', '.join(f'{x:g}' for x in values)} {unit} (another pulse condition)"
