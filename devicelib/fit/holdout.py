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
    temperature; SI value) satisfies ``OP`` (``=``, ``<``, ``>``, ``<=``,
    ``>=``), e.g. ``"condition:width>1e-7"``: another pulse condition;
a boolean array (trace, pulse)
    any selection (True = held out).

The first point of a trace is never held out when it is the start state.
"""

from __future__ import annotations

import fnmatch
import re

import numpy as np
import xarray as xr

from .errors import FitError

_OPS = {"=": np.isclose, "==": np.isclose, "<": np.less, ">": np.greater, "<=": np.less_equal,
        ">=": np.greater_equal}


def holdout_mask(spec, data: xr.Dataset) -> tuple[np.ndarray, str]:
    """Boolean mask (trace, pulse) of held-out points and a readable description."""
    obs = str(data.attrs.get("observable", "conductance"))
    shape = data[obs].shape
    valid = np.isfinite(data[obs].values)
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
        m = re.fullmatch(r"\s*(amplitude|width|interval|temperature)\s*(==|<=|>=|=|<|>)\s*(\S+)\s*", arg)
        if not m:
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
    raise FitError(f"unknown holdout {spec!r}; use later:F, traces:PATTERN, every:K or condition:NAME<VALUE")
