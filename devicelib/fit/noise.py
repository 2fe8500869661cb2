"""Noise models and likelihoods of a fit.

Gaussian noise
--------------
``sigma`` of every point comes from one of these noise models:

``given``
    the caller's number(s) in the data's unit: a scalar, one per trace or one per point;
``proportional``
    ``sigma_i = r |y_i|`` with the relative noise ``r`` given (``"5%"``) or
    estimated robustly from the logarithm of the data (below);
``constant``
    one sigma for every point, estimated robustly from all traces together;
``trace`` (the default, ``auto``)
    one sigma per trace, estimated robustly from that trace; traces too short
    for an estimate (fewer than :data:`MIN_POINTS` points) take the pooled
    estimate of the traces that have one.

Robust estimate
---------------
From second differences along the pulse axis, which remove a smooth trend:
for white noise of variance s^2, ``d2 y`` has variance ``6 s^2``, so
``s = 1.4826 MAD(d2 y) / sqrt(6)``. The estimate refuses (raises
:class:`NoiseError` with the reason) instead of inventing a number when

- no trace has :data:`MIN_POINTS` points (e.g. single-pulse maps: give sigma);
- a trace is constant (or exactly linear): its noise is below the resolution;
- a trace alternates between two levels (SET/RESET reads of an endurance
  run): its second differences measure the switching window, not the noise.
  Test: ``median |y[i+1]-y[i]| > ALTERNATION * median |y[i+2]-y[i]|`` (for
  white noise both are ``0.95 s``; for a smooth trend the ratio is 1/2).

Log space
---------
Resistances and conductances spanning decades have multiplicative noise:
``space="log"`` compares ``ln(model)`` with ``ln(data)`` with a sigma in
natural-log units (relative noise), estimated as above from ``ln y``;
``space="auto"`` picks log when the positive data span more than
:data:`LOG_SPAN` (a factor 100).

Binomial
--------
A switching probability measured as ``k`` switches in ``n`` trials is
compared by the binomial deviance: residual
``sign(k/n - p) sqrt(2 [k ln(k/(n p)) + (n-k) ln((n-k)/(n (1-p)))])`` so that
the sum of squares is the deviance (chi-square distributed for large n).
"""

from __future__ import annotations

import numpy as np

from .errors import FitError

MIN_POINTS = 8
ALTERNATION = 3.0
LOG_SPAN = 100.0
NOISE_MODELS = ("auto", "trace", "constant", "proportional", "given")


class NoiseError(FitError):
    """The noise cannot be estimated from these data; the message says why and what to give instead."""


def _median(a: np.ndarray) -> float:
    """``np.median`` of a 1-D float array: the same partition and mean of the middle pair (NaN if any), without
    the generic axis/out handling (a fit's noise estimate takes four medians per trace)."""
    n = a.size
    k = n // 2
    part = np.partition(a, [k - 1, k, -1] if n % 2 == 0 else [k, -1])
    if np.isnan(part[-1]):
        return float("nan")
    # as numpy sums: the first value plus (0.0 + the rest), which turns a pair of -0.0 into +0.0
    return float((part[k - 1] + (0.0 + part[k])) / 2 if n % 2 == 0 else 0.0 + part[k])


def _robust_row(y: np.ndarray, label: str) -> float | None:
    """Robust sigma of one trace (finite values in order); None when the trace is too short."""
    y = y[np.isfinite(y)]
    if y.size < MIN_POINTS:
        return None
    d1 = np.abs(np.diff(y))
    lag2 = np.abs(y[2:] - y[:-2])
    m1, m2 = _median(d1), _median(lag2)
    if m1 > 0 and m1 > ALTERNATION * m2:
        raise NoiseError(
            f"trace {label!r} alternates between two levels (median |step| {m1:.3g} vs {m2:.3g} two reads apart, "
            "e.g. SET/RESET reads): its spread is the switching window, not the read noise; give sigma "
            "(--sigma) or fit the two states as separate traces")
    d2 = np.diff(y, n=2)
    mad = _median(np.abs(d2 - _median(d2)))
    s = 1.4826 * mad / np.sqrt(6.0)
    if s == 0:  # quantised data: more than half the second differences are exactly 0
        s = float(np.std(d2)) / np.sqrt(6.0)
    if not s > 0:
        raise NoiseError(f"trace {label!r} is constant (or exactly linear): its noise is below the data's "
                         "resolution and cannot be estimated; give sigma (--sigma)")
    return s


def robust_sigma(values: np.ndarray, labels=None) -> np.ndarray:
    """One robust sigma per trace (row); short traces take the pooled estimate of the others.

    Raises :class:`NoiseError` when an estimate cannot be made (see the module docstring).
    """
    v = np.atleast_2d(np.asarray(values, dtype=float))
    labels = list(labels) if labels is not None else [f"trace{i}" for i in range(v.shape[0])]
    est = [_robust_row(row, str(lab)) for row, lab in zip(v, labels, strict=True)]
    have = np.array([e is not None for e in est])
    if not have.any():
        n = int(np.isfinite(v).sum(axis=1).max())
        raise NoiseError(
            f"noise cannot be estimated: the longest trace has {n} point(s), fewer than {MIN_POINTS} "
            "(single-pulse rows or short traces); give sigma (--sigma, e.g. '2 uS' or '5%')")
    s = np.array([e if e is not None else np.nan for e in est])
    # pooled: weight each trace's variance by its number of second differences
    npts = np.isfinite(v).sum(axis=1)
    w = np.where(have, npts - 2, 0)
    pooled = float(np.sqrt(np.sum(w[have] * s[have] ** 2) / np.sum(w[have])))
    return np.where(have, s, pooled)


def robust_constant(values: np.ndarray, labels=None) -> float:
    """One sigma for all traces: the pooled robust estimate."""
    s = robust_sigma(values, labels)
    v = np.atleast_2d(np.asarray(values, dtype=float))
    w = np.maximum(np.isfinite(v).sum(axis=1) - 2, 1)
    return float(np.sqrt(np.sum(w * s**2) / np.sum(w)))


def parse_sigma(text: str | float | None):
    """``"5%"`` -> ("proportional", 0.05); a number -> ("given", value); None -> (None, None).

    Quantities with units (``"2 uS"``) are converted by the caller, who knows the data's unit.
    """
    if text is None:
        return None, None
    if isinstance(text, str) and text.strip().endswith("%"):
        try:
            r = float(text.strip()[:-1]) / 100.0
        except ValueError:
            raise FitError(f"sigma {text!r}: expected a percentage like '5%'") from None
        if not r > 0:
            raise FitError(f"sigma {text!r}: a relative noise must be positive")
        return "proportional", r
    return "given", text


def use_log_space(space: str, values: np.ndarray, positive_kind: bool) -> bool:
    """Whether residuals are taken in log space (``space`` = linear, log or auto)."""
    if space not in ("linear", "log", "auto"):
        raise FitError(f"space must be 'linear', 'log' or 'auto', got {space!r}")
    if space == "linear":
        return False
    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v)]
    if space == "log":
        if not positive_kind or np.any(v <= 0):
            raise FitError("log-space residuals need positive data (conductance, resistance, current)")
        return True
    return bool(positive_kind and v.size and np.all(v > 0) and v.max() / v.min() > LOG_SPAN)


def binomial_deviance_residual(k: np.ndarray, n: np.ndarray, p: np.ndarray) -> np.ndarray:
    """Signed deviance residuals of ``k`` successes in ``n`` trials under probability ``p``."""
    p = np.clip(p, 1e-12, 1 - 1e-12)
    with np.errstate(divide="ignore", invalid="ignore"):
        t1 = np.where(k > 0, k * np.log(k / (n * p)), 0.0)
        t2 = np.where(n - k > 0, (n - k) * np.log((n - k) / (n * (1 - p))), 0.0)
    dev = np.maximum(2.0 * (t1 + t2), 0.0)
    return np.sign(k / n - p) * np.sqrt(dev)
