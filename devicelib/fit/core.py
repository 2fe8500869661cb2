"""Fitting a registered model to a measurement with lmfit.

Parametrisation: a parameter declared ``log=True`` is fitted as
``log10(value)``; any other is fitted as ``value / scale`` with ``scale`` its
start value (or the width of its bounds when that is zero), so all fitted
numbers are of order one. Bounds come from the declarations.

Residuals are ``(G_model - G_data) / sigma``. ``sigma`` is the measurement
noise: given by the caller (a number in the data's unit, or an array like the
data), or estimated from the data as the robust spread of second differences
along each trace, ``1.4826 * MAD(d2 G) / sqrt(6)``, which removes any smooth
trend. With that, chi-square and reduced chi-square are meaningful and
lmfit's covariance gives standard errors.

Start state: with ``initial="first"`` (default) each trace starts from the
state whose conductance equals its first measured point
(``model.state_from_conductance``), or from ``conductance_initial`` when the
measurement has it, and the fit predicts the rest. ``initial="model"`` starts
every trace from ``model.initial_state``.
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass, field
from typing import Any

import lmfit
import numpy as np
import xarray as xr

from ..core import DeviceModel
from ..measurement import read_voltage, validate
from ..simulate import replay
from ..units import format_unit


class FitError(ValueError):
    """The fit cannot be set up (bad data, unknown parameter, no free parameter)."""


@dataclass
class FitResult:
    model: DeviceModel
    values: dict[str, float]
    stderr: dict[str, float | None]
    units: dict[str, str]
    varied: list[str]
    rmse: float
    rmse_unit: str
    chisqr: float
    redchi: float
    aic: float
    bic: float
    ndata: int
    nfev: int
    converged: bool
    status: str
    correlations: dict[str, dict[str, float]]
    residuals: xr.DataArray
    prediction: xr.DataArray
    sigma: float
    method: str
    data_source: str
    lmfit_result: Any = field(repr=False, default=None)

    def summary(self) -> str:
        lines = [
            f"model      {self.model.name}",
            f"data       {self.data_source}",
            f"status     {self.status}",
            f"RMSE       {self.rmse:.4g} {self.rmse_unit}   (sigma {self.sigma:.3g} {self.rmse_unit})",
            f"chi2       {self.chisqr:.4g}   reduced {self.redchi:.4g}   AIC {self.aic:.2f}   BIC {self.bic:.2f}",
            f"points     {self.ndata}   evaluations {self.nfev}",
            "parameters:",
        ]
        for name in self.varied:
            v, e, u = self.values[name], self.stderr[name], format_unit(self.units[name])
            err = f"+/- {e:.3g}" if e is not None else "+/- (not determined)"
            rel = f" ({100 * e / abs(v):.2g} %)" if e is not None and v else ""
            lines.append(f"  {name:<12s} {v:.5g} {err} {u}{rel}")
        return "\n".join(lines)

    def to_json(self) -> dict[str, Any]:
        return {
            "model": self.model.name,
            "data": self.data_source,
            "converged": bool(self.converged),
            "status": self.status,
            "rmse": {"value": self.rmse, "unit": self.rmse_unit},
            "sigma": {"value": self.sigma, "unit": self.rmse_unit},
            "chisqr": self.chisqr,
            "redchi": self.redchi,
            "aic": self.aic,
            "bic": self.bic,
            "ndata": self.ndata,
            "nfev": self.nfev,
            "method": self.method,
            "parameters": {
                n: {"value": self.values[n], "stderr": self.stderr[n], "unit": self.units[n],
                    "varied": n in self.varied}
                for n in self.values
            },
            "correlations": self.correlations,
        }

    def to_card(self, name: str, title: str = "", provenance: dict | None = None,
                validity: dict | None = None, notes: str = "", start=None):
        """A ``kind = "fit"`` card holding the fitted values, stderr and statistics.

        ``start`` is the card the fit started from: held parameters keep its
        source and estimate notes, so provenance is not lost.
        """
        from ..catalog import Card, ParameterEntry

        params = {}
        for n, v in self.values.items():
            held = start.parameters.get(n) if start is not None else None
            if n in self.varied:
                params[n] = ParameterEntry(value=v, unit=self.units[n], stderr=self.stderr[n], source="fitted")
            else:
                if held is None:
                    source = "held fixed during the fit (model default)"
                else:
                    source = held.source or "held fixed during the fit"
                params[n] = ParameterEntry(
                    value=v, unit=self.units[n], source=source,
                    estimate=held.estimate if held else None,
                    original=held.original if held else None,
                )
        prov = {"citation": f"devicelib fit to {self.data_source}"}
        prov.update(provenance or {})
        fit_info = {
            "data": self.data_source,
            "method": self.method,
            "varied": list(self.varied),
            "converged": bool(self.converged),
            "status": self.status,
            "rmse": {"value": self.rmse, "unit": self.rmse_unit},
            "sigma": {"value": self.sigma, "unit": self.rmse_unit},
            "chisqr": self.chisqr,
            "redchi": self.redchi,
            "aic": self.aic,
            "bic": self.bic,
            "ndata": self.ndata,
            "date": _dt.date.today().isoformat(),
        }
        from .. import __version__

        fit_info["devicelib_version"] = __version__
        return Card(name=name, model_name=self.model.name, title=title or f"{self.model.name} fitted to data",
                    kind="fit", provenance=prov, parameters=params, validity=validity or {},
                    fit=fit_info, notes=notes)


def estimate_noise(g: np.ndarray) -> float:
    """Robust noise estimate from second differences along the pulse axis (NaN ignored)."""
    d2 = np.diff(g, n=2, axis=-1)
    d2 = d2[np.isfinite(d2)]
    if d2.size < 3:
        return float(np.nanstd(g)) or 1.0
    mad = np.median(np.abs(d2 - np.median(d2)))
    sigma = 1.4826 * mad / np.sqrt(6.0)
    return float(sigma) if sigma > 0 else float(np.std(d2) / np.sqrt(6.0)) or 1.0


def _prepare(data: xr.Dataset):
    g = data["conductance"].values.astype(float)
    valid = np.isfinite(g)
    conds = {k: data[k].values.astype(float) for k in ("amplitude", "width", "interval", "temperature")}
    for k, v in conds.items():
        conds[k] = np.where(valid, v, 0.0 if k != "temperature" else 300.0)
    return g, valid, conds


def fit(
    model: DeviceModel | str,
    data: xr.Dataset,
    vary: list[str] | None = None,
    *,
    v_read=None,
    initial: str = "first",
    sigma=None,
    method: str = "least_squares",
    max_nfev: int | None = 2000,
) -> FitResult:
    """Fit ``vary`` parameters of ``model`` to the measurement ``data``.

    Parameters
    ----------
    model : a model instance (its values are the start point and the values
        of held parameters) or a registered model / card name.
    vary : parameters to fit; default every parameter not declared ``fixed``.
    v_read : read voltage (V); default the measurement's ``read_voltage``.
    initial : ``"first"`` or ``"model"`` (see module docstring).
    sigma : measurement noise in the data's unit; default estimated.
    method : any lmfit method; ``least_squares`` (trust region reflective)
        by default.
    """
    if isinstance(model, str):
        from ..registry import get_model

        model = get_model(model)
    data = validate(data)
    if data["amplitude"].attrs["units"] != model.amplitude_unit:
        raise FitError(
            f"{model.name} is driven in {model.amplitude_unit}; the measurement's amplitudes are in "
            f"{data['amplitude'].attrs['units']}"
        )
    if data["conductance"].attrs["units"] != "S":
        raise FitError(f"{model.name} predicts conductance in S; the measurement is normalised (unit '')")
    vr = read_voltage(data, v_read)
    declared = {p.name: p for p in model.parameters}
    vary = [p.name for p in model.parameters if not p.fixed] if vary is None else list(vary)
    if not vary:
        raise FitError("no parameter to vary")
    for name in vary:
        if name not in declared:
            raise FitError(f"cannot vary {name!r}: {model.name} declares {sorted(declared)}")
        if np.ndim(model.params[name]) != 0:
            raise FitError(f"cannot vary {name!r}: it holds per-device values")

    g, valid, conds = _prepare(data)
    ntr = g.shape[0]
    if initial == "first":
        if "conductance_initial" in data:
            g_start, first = data["conductance_initial"].values, 0
        else:
            g_start, first = g[:, 0], 1
        if valid.sum() - (ntr if first else 0) < len(vary) + 1:
            raise FitError(f"{int(valid.sum())} data points cannot determine {len(vary)} parameters")
    elif initial == "model":
        g_start, first = None, 0
    else:
        raise FitError(f"initial must be 'first' or 'model', got {initial!r}")
    mask = valid.copy()
    mask[:, :first] = False
    if mask.sum() <= len(vary):
        raise FitError(f"{int(mask.sum())} data points cannot determine {len(vary)} parameters")
    conds_fit = {k: v[:, first:] for k, v in conds.items()}
    target = g[:, first:]
    m = mask[:, first:]
    sig = estimate_noise(g) if sigma is None else sigma
    sig_arr = np.broadcast_to(np.asarray(sig, dtype=float), g.shape)[:, first:]
    if np.any(sig_arr[m] <= 0) or not np.all(np.isfinite(sig_arr[m])):
        raise FitError("sigma must be positive and finite")

    # lmfit parameters in scaled / log space
    params = lmfit.Parameters()
    scales = {}
    for name in vary:
        p = declared[name]
        v0 = float(model.params[name])
        lo, hi = p.bounds
        if p.log:
            params.add(f"log10_{name}", value=np.log10(v0), min=np.log10(lo), max=np.log10(hi))
        else:
            scale = abs(v0) if v0 != 0 else (hi - lo if np.isfinite(hi - lo) and hi > lo else 1.0)
            scales[name] = scale
            params.add(name, value=v0 / scale, min=lo / scale, max=hi / scale)

    def unpack(pars) -> dict[str, float]:
        out = {}
        for name in vary:
            if declared[name].log:
                out[name] = 10.0 ** pars[f"log10_{name}"].value
            else:
                out[name] = pars[name].value * scales[name]
        return out

    def predict(values: dict[str, float]) -> np.ndarray:
        trial = model.with_params(**values)
        st = trial.state_from_conductance(g_start, vr) if g_start is not None else trial.initial_state(ntr)
        return replay(trial, st, conds_fit["amplitude"], conds_fit["width"], conds_fit["interval"],
                      conds_fit["temperature"], vr)

    def residual(pars):
        try:
            pred = predict(unpack(pars))
        except (ValueError, FloatingPointError, RuntimeError):
            return np.full(int(m.sum()), 1e6)
        r = (pred[m] - target[m]) / sig_arr[m]
        return np.where(np.isfinite(r), r, 1e6)

    kws = {"max_nfev": max_nfev} if method == "least_squares" else {}
    with np.errstate(over="ignore", invalid="ignore"):
        res = lmfit.minimize(residual, params, method=method, **kws)

    best = unpack(res.params)
    fitted = model.with_params(**best)
    values = {n: float(np.asarray(fitted.params[n])) if np.ndim(fitted.params[n]) == 0 else fitted.params[n]
              for n in declared}
    stderr: dict[str, float | None] = {n: None for n in declared}
    for name in vary:
        if declared[name].log:
            e = res.params[f"log10_{name}"].stderr
            stderr[name] = None if e is None else float(best[name] * np.log(10) * e)
        else:
            e = res.params[name].stderr
            stderr[name] = None if e is None else float(e * scales[name])

    pred_full = np.full_like(g, np.nan)
    pred_full[:, first:] = predict(best)
    pred_full[:, :first] = g[:, :first]
    pred_full[~valid] = np.nan  # no prediction where a shorter trace has no data
    resid = np.where(mask, pred_full - g, np.nan)
    rmse = float(np.sqrt(np.nanmean(resid[mask] ** 2)))

    at_bound = []
    for name in vary:
        key = f"log10_{name}" if declared[name].log else name
        par = res.params[key]
        span = par.max - par.min
        if np.isfinite(span) and span > 0 and min(par.value - par.min, par.max - par.value) < 1e-6 * span:
            at_bound.append(name)
    reasons = []
    if not res.success:
        reasons.append(f"optimiser did not converge ({res.message})")
    if not res.errorbars:
        reasons.append("covariance not available: parameters not identifiable from these data (ill-conditioned)")
    if at_bound:
        reasons.append(f"parameter(s) at a bound: {', '.join(at_bound)}")
    converged = not reasons
    status = "converged" if converged else "; ".join(reasons)

    corr: dict[str, dict[str, float]] = {}
    for name in vary:
        key = f"log10_{name}" if declared[name].log else name
        c = res.params[key].correl or {}
        corr[name] = {(k[6:] if k.startswith("log10_") else k): float(v) for k, v in c.items()}

    dims = ("trace", "pulse")
    coords = {"trace": data["trace"].values, "pulse": data["pulse"].values}
    return FitResult(
        model=fitted,
        values=values,
        stderr=stderr,
        units={n: declared[n].unit for n in declared},
        varied=vary,
        rmse=rmse,
        rmse_unit="S",
        chisqr=float(res.chisqr),
        redchi=float(res.redchi),
        aic=float(res.aic),
        bic=float(res.bic),
        ndata=int(mask.sum()),
        nfev=int(res.nfev),
        converged=converged,
        status=status,
        correlations=corr,
        residuals=xr.DataArray(resid, dims=dims, coords=coords, attrs={"units": "S"}),
        prediction=xr.DataArray(pred_full, dims=dims, coords=coords, attrs={"units": "S"}),
        sigma=float(np.mean(sig_arr[m])),
        method=method,
        data_source=str(data.attrs.get("source", "")),
        lmfit_result=res,
    )
