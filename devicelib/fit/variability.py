"""Variability from multi-cycle / multi-device data, in the terms of :class:`devicelib.variability.Variability`.

Device-to-device (trace-to-trace) parameter spread
    every trace is fitted on its own (:func:`devicelib.fit.batch.fit_batch`,
    the other parameters held at the pooled fit). For a parameter with a
    positive lower bound the spread is that of ``ln p`` (Variability draws it
    log-normally), otherwise that of ``p / |p_pooled|``; the estimation noise
    is removed: ``sigma^2 = var(y_i) - mean(se_i^2)`` (floored at 0).
    Traces that are cycles of one device (CrossSim ramps) give the
    cycle-to-cycle spread of the parameters; traces from different devices
    give the device-to-device spread; the result says which was assumed.

State-dependent cycle-to-cycle noise per pulse and read noise
    with the per-trace models, every measured pulse is predicted one step
    from the measured state before it: ``e_k = x_k - f(x_{k-1})`` in the
    model's primary state variable (``state_from_conductance``). Read noise
    makes consecutive one-step residuals anti-correlated,
    ``cov(e_k, e_{k+1}) = -s_r^2``, while pulse noise does not, so
    ``s_r^2 = -cov`` and the pulse noise variance is ``var(e) - 2 s_r^2``.
    That variance is regressed (non-negative least squares over 20 quantile
    bins of the model step) on ``c2c^2 dx^2 + c2c_abs^2``, the form in which
    :class:`~devicelib.variability.Variability` applies it
    (``x + dx (1 + c2c xi) + c2c_abs xi'``). ``read`` is ``s_r`` relative to
    the mean conductance.

From CrossSim dG tables
    :func:`from_dg_tables` fits the model's one-pulse step to the mean dG(G)
    of both tables and regresses the dG variance per bin on
    ``c2c^2 dG^2 + (c2c_abs dG/dx)^2`` (read noise is not separable there).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy.optimize import nnls

from .._xrcompat import xr  # xarray imported on first use, with dask deferred
from ..core import DeviceModel
from ..variability import Variability
from .batch import fit_batch
from .core import FitResult, fit
from .errors import FitError
from .readers import DGTable


@dataclass
class VariabilityEstimate:
    variability: Variability
    d2d: dict[str, dict[str, float]] = field(default_factory=dict)
    c2c: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    pooled: FitResult | None = field(default=None, repr=False)
    per_trace: xr.Dataset | None = field(default=None, repr=False)

    def to_dict(self) -> dict[str, Any]:
        return {"variability": self.variability.to_dict(), "d2d": self.d2d, "c2c": self.c2c, "notes": self.notes}


def _step_noise(dx: np.ndarray, e: np.ndarray, s_r2: float, nbins: int = 20) -> tuple[float, float]:
    """NNLS of var(e) - 2 s_r^2 on (dx^2, 1) over quantile bins of |dx|; returns (c2c, c2c_abs)."""
    ok = np.isfinite(dx) & np.isfinite(e)
    dx, e = dx[ok], e[ok]
    if dx.size < 3 * nbins:
        nbins = max(1, dx.size // 3)
    edges = np.quantile(np.abs(dx), np.linspace(0, 1, nbins + 1))
    which = np.clip(np.searchsorted(edges, np.abs(dx), side="right") - 1, 0, nbins - 1)
    A, b, w = [], [], []
    for k in range(nbins):
        sel = which == k
        if sel.sum() < 3:
            continue
        A.append([np.mean(dx[sel] ** 2), 1.0])
        b.append(np.mean(e[sel] ** 2) - 2 * s_r2)
        w.append(np.sqrt(sel.sum()))
    A, b, w = np.array(A), np.array(b), np.array(w)
    # scale columns so both terms are O(1) for the solver
    cs = np.maximum(np.abs(A).max(axis=0), 1e-300)
    coef, _ = nnls((A / cs) * w[:, None], b * w)
    coef = coef / cs
    return float(np.sqrt(max(coef[0], 0.0))), float(np.sqrt(max(coef[1], 0.0)))


def extract_variability(
    model: DeviceModel | str,
    data: xr.Dataset,
    spread: list[str],
    *,
    vary: list[str] | None = None,
    pooled: FitResult | None = None,
    traces_are: str = "devices",
    v_read=None,
) -> VariabilityEstimate:
    """Parameter spread of ``spread`` across traces plus per-pulse and read noise.

    ``vary`` are the parameters of the pooled fit (default: the model's);
    ``traces_are`` is ``"devices"`` or ``"cycles"`` (recorded in the notes).
    """
    if traces_are not in ("devices", "cycles"):
        raise FitError("traces_are must be 'devices' or 'cycles'")
    if "conductance" not in data:
        raise FitError(f"variability extraction works on conductance traces; these data measure "
                       f"{data.attrs.get('observable', '?')} (fit them with devicelib.fit.fit)")
    if pooled is None:
        pooled = fit(model, data, vary, v_read=v_read, guess=isinstance(model, str))
    base = pooled.model
    if data.sizes["trace"] < 3:
        raise FitError("variability needs at least 3 traces (cycles or devices)")
    per = fit_batch(base, data, spread, guess=False, v_read=v_read)
    ok = per["converged"].values
    notes = [f"{int(ok.sum())} of {ok.size} per-trace fits converged and were used",
             f"traces are {traces_are}: the parameter spread is "
             + ("device-to-device" if traces_are == "devices" else "the cycle-to-cycle spread of one device "
                "(stored as d2d: each simulated device then draws its own values)")]
    if ok.sum() < 3:
        raise FitError("fewer than 3 per-trace fits converged; cannot estimate a spread")
    d2d_sig: dict[str, float] = {}
    d2d: dict[str, dict[str, float]] = {}
    for j, name in enumerate(spread):
        p = base.parameter(name)
        v = per["value"].values[ok, j]
        se = per["stderr"].values[ok, j]
        if p.bounds[0] > 0:
            y, sy, kind = np.log(v), se / v, "sigma of ln p"
        else:
            ref = abs(float(base.params[name])) or 1.0
            y, sy, kind = v / ref, se / ref, "relative sigma"
        raw = float(np.var(y, ddof=1))
        est = float(np.mean(sy**2))
        s = float(np.sqrt(max(raw - est, 0.0)))
        d2d_sig[name] = s
        d2d[name] = {"sigma": s, "kind": kind, "sigma_raw": float(np.sqrt(raw)),
                     "estimation_sigma": float(np.sqrt(est)), "n": int(ok.sum()),
                     "median": float(np.median(v))}

    # one-step residuals with per-trace parameters
    g = data["conductance"].values.astype(float)
    amp = data["amplitude"].values
    width = data["width"].values
    temp = data["temperature"].values
    normalised = data["conductance"].attrs.get("units") == ""
    to_si = base.from_weight if normalised else (lambda x: x)
    vr = 0.1 if normalised and "read_voltage" not in data.attrs else float(data.attrs.get("read_voltage", v_read))
    vals = {name: per["value"].values[:, j] for j, name in enumerate(spread)}
    dev = _per_device(base, vals)
    sv = base.state_variables[0].name
    n, N = g.shape
    x_meas = np.full((n, N), np.nan)
    dx_mod = np.full((n, N), np.nan)
    e = np.full((n, N), np.nan)
    eg = np.full((n, N), np.nan)
    with np.errstate(all="ignore"):
        for k in range(1, N):  # loop over pulses, vectorised over traces
            prev, cur = g[:, k - 1], g[:, k]
            live = np.isfinite(prev) & np.isfinite(cur)
            if not live.any():
                continue
            st = dev.state_from_conductance(to_si(np.where(live, prev, np.nanmean(g))), vr)
            new = dev.apply_pulse(st, amp[:, k], width[:, k], temp[:, k])
            st_meas = dev.state_from_conductance(to_si(np.where(live, cur, np.nanmean(g))), vr)
            gpred = dev.conductance(new, vr)
            x_meas[live, k] = st_meas[sv][live]
            dx_mod[live, k] = (new[sv] - st[sv])[live]
            e[live, k] = (st_meas[sv] - new[sv])[live]
            eg[live, k] = (to_si(cur) - gpred)[live]
    use = ok[:, None] & np.isfinite(e)
    # per-trace, per-direction means of the one-step residuals are model bias (a trajectory fit of a
    # random walk is not a step fit), not noise: remove them before taking covariances
    sgn = np.sign(amp)
    e_c, eg_c = e.copy(), eg.copy()
    for s_ in (-1.0, 1.0):
        sel = use & (sgn == s_)
        for arr in (e_c, eg_c):
            cnt = sel.sum(axis=1, keepdims=True)
            mu = np.where(cnt > 0, np.where(sel, arr, 0.0).sum(axis=1, keepdims=True) / np.maximum(cnt, 1), 0.0)
            arr[:] = np.where(sel, arr - np.nan_to_num(mu), arr)

    def lag_cov(a):
        m = use[:, :-1] & use[:, 1:] & (sgn[:, :-1] == sgn[:, 1:])
        return float(np.mean((a[:, :-1] * a[:, 1:])[m])) if m.any() else 0.0

    s_rx2 = max(-lag_cov(e_c), 0.0)
    s_rg2 = max(-lag_cov(eg_c), 0.0)
    e = e_c
    c2c, c2c_abs = _step_noise(dx_mod[use], e[use], s_rx2)
    g_mean = float(np.nanmean(np.abs(to_si(g[ok]))))
    read = float(np.sqrt(s_rg2) / g_mean) if g_mean > 0 else 0.0
    c2c_info = {"c2c": c2c, "c2c_abs": c2c_abs, "c2c_abs_unit": base.state_variables[0].unit,
                "state_variable": sv, "read": read, "read_sigma_S": float(np.sqrt(s_rg2)),
                "steps": int(use.sum())}
    if normalised:
        notes.append("normalised data: the read noise is relative to the mean |conductance| of the placeholder "
                     "normalisation layer; an absolute read-noise term would describe weight units better")
    var = Variability(d2d=d2d_sig, c2c=c2c, c2c_abs=c2c_abs, read=read)
    return VariabilityEstimate(variability=var, d2d=d2d, c2c=c2c_info, notes=notes, pooled=pooled, per_trace=per)


def _per_device(model: DeviceModel, values: dict[str, np.ndarray]) -> DeviceModel:
    new = object.__new__(type(model))
    new.params = dict(model.params)
    for k, v in values.items():
        p = model.parameter(k)
        new.params[k] = np.clip(np.nan_to_num(v, nan=float(model.params[k])), *p.bounds)
    new.rng = model.rng
    return new


def from_dg_tables(model: DeviceModel, increasing: DGTable, decreasing: DGTable, vary: list[str],
                   amplitude=(1.0, -1.0), width=1e-7, temperature=300.0, v_read=0.1):
    """Fit the one-pulse step of ``model`` to the mean dG(G) of CrossSim dG tables and extract pulse noise.

    Returns ``(fitted_model, VariabilityEstimate, rmse_of_mean_dG_in_S)``.
    """
    import lmfit

    from .core import ParamSpace, trial_model

    G = np.concatenate([increasing.g, decreasing.g])
    mean = np.concatenate([increasing.mean, decreasing.mean])
    std = np.concatenate([increasing.std, decreasing.std])
    amp = np.concatenate([np.full(increasing.g.size, amplitude[0]), np.full(decreasing.g.size, amplitude[1])])
    if hasattr(model, "guess"):
        start_model = model.with_params(**{k: v for k, v in model.guess(G[None, :], amp[None, :]).items()
                                           if k not in vary and k in ("g_ref", "g_offset")})
        start = {k: v for k, v in model.guess(G[None, :], amp[None, :]).items() if k in vary}
        start = {k: start.get(k, float(start_model.params[k])) for k in vary}
    else:
        start_model, start = model, {k: float(model.params[k]) for k in vary}
    space = ParamSpace(start_model, vary, start)
    sig = np.maximum(std / np.sqrt(np.concatenate([increasing.cdf, decreasing.cdf]).size / 2), 1e-30)

    def step(trial):
        st = trial.state_from_conductance(G, v_read)
        new = trial.apply_pulse(st, amp, width, temperature)
        return trial.conductance(new, v_read) - G, st, new

    def resid(pars):
        try:
            dg, _, _ = step(trial_model(start_model, space.to_values(space.from_lmfit(pars))))
        except (ValueError, FloatingPointError):
            return np.full(G.size, 1e6)
        r = (dg - mean) / sig
        return np.where(np.isfinite(r), r, 1e6)

    res = lmfit.minimize(resid, space.lmfit_params(), method="least_squares")
    fitted = start_model.with_params(**space.to_values(space.from_lmfit(res.params)))
    dg, st, new = step(fitted)
    rmse = float(np.sqrt(np.mean((dg - mean) ** 2)))
    sv = fitted.state_variables[0].name
    dx = new[sv] - st[sv]
    with np.errstate(divide="ignore", invalid="ignore"):
        dgdx = np.where(np.abs(dx) > 0, dg / dx, np.nan)
    dgdx = np.where(np.isfinite(dgdx), dgdx, np.nanmedian(dgdx))
    # std(dG)^2 = c2c^2 dG^2 + (c2c_abs dG/dx)^2 : regress per bin (state units for c2c_abs)
    A = np.stack([dg**2, dgdx**2], 1)
    cs = np.maximum(A.max(axis=0), 1e-300)
    coef, _ = nnls(A / cs, std**2)
    coef = coef / cs
    c2c, c2c_abs = float(np.sqrt(coef[0])), float(np.sqrt(coef[1]))
    var = Variability(c2c=c2c, c2c_abs=c2c_abs)
    est = VariabilityEstimate(
        variability=var,
        c2c={"c2c": c2c, "c2c_abs": c2c_abs, "c2c_abs_unit": fitted.state_variables[0].unit, "state_variable": sv,
             "bins": int(G.size), "rmse_mean_dG_S": rmse},
        notes=[f"from dG tables {increasing.source} and {decreasing.source}; read noise is not separable from "
               "pulse noise in a dG table and is included in c2c/c2c_abs"],
    )
    return fitted, est, rmse
