"""Fitting a registered model to a measurement with lmfit.

Objective
---------
Every trace of the measurement is simulated at its own pulse conditions, all
traces at once as a vector of devices, so several traces and several pulse
conditions (amplitude, width, temperature) enter one objective. Residuals are
``(model - data) / sigma`` over the fitted points.

Noise weights and likelihoods
-----------------------------
``sigma`` is the measurement noise: given by the caller (a number in the
data's unit, one per trace, or an array like the data; ``"5%"`` relative), or
estimated robustly per trace (or pooled, or proportional) from second
differences; an estimate that cannot be made stops the fit with the reason
(:mod:`devicelib.fit.noise`). Residuals are linear, in log space for data
spanning decades, or binomial deviances for probabilities with trial counts.
A reduced chi-square far from 1 or a fit no better than a constant is not
called converged. The measured observable (conductance, resistance, current,
polarisation, switching probability, ...: :mod:`devicelib.observables`) is
compared with the model's prediction of the same observable.

Parametrisation
---------------
A parameter declared ``log=True`` is fitted as ``log10(value)``; any other as
``value / scale`` with ``scale`` its start magnitude (1 when the start is 0),
so fitted numbers are of order one. Bounds come from the declarations.

Start
-----
``initial="first"``: each trace starts from the state whose
conductance equals its first point (``model.state_from_conductance``) or its
``conductance_initial``; the fit predicts the rest. ``initial="auto"``
(default): ``"first"`` when the model inverts a read, else ``"model"`` (a
volatile threshold switch or a Preisach ensemble has no state a read fixes). ``initial="fit"`` also
fits each trace's start state (a nuisance shift of the first read, in units
of its sigma, with the first read as its measurement), so the noise of that
read enters the standard errors instead of biasing every later prediction;
it costs one parameter per trace. ``initial="model"`` starts from
``model.initial_state``. Start values of the varied parameters are
the model's, or with ``guess=True`` (default when the model is given by name)
the model's ``guess(g, amplitude)`` from the data. ``starts=N`` adds N-1
Latin-hypercube starts around the first one (log parameters +/- 1 decade,
others +/- 50 %) and keeps the lowest chi-square.

Normalised data
---------------
A measurement in normalised weight units (conductance unit ``""``) can be
fitted only by a model that declares ``supports_normalised = True`` (the
phenomenological baselines, whose output is ``G = g_offset + g_ref w``): the
data are taken as weights ``w``, mapped through the model's normalisation layer
(``from_weight`` / ``to_weight``) and predicted as weights. Any other model raises
:class:`FitError`: physics does not know what a weight unit is.

Status
------
A result is ``converged`` only when the optimiser reports success, the
covariance exists, no parameter sits on a bound, and the problem is well
conditioned (condition number of the scaled Jacobian below 1e8 and no
correlation above 0.9995 in magnitude) and no log-scaled parameter is
uncertain by more than a decade. Otherwise ``status`` says why; an
unconverged or ill-conditioned fit is never reported as good.

Fast path
---------
Predictions go through :func:`devicelib.simulate.replay`, which uses a
model's ``replay_trace(state, amplitude, width, interval, temperature,
v_read)`` when it has one (baselines, VCM: one compiled call) and applies
pulses one by one otherwise. A phenomenological baseline rule with a start
from the first read is fitted through :mod:`devicelib.fit._rule_objective`:
the same residual and the same 2-point Jacobian, each in one compiled call,
bit for bit the general path's (``LEAN_OBJECTIVE = False`` switches it off),
and scipy's trust-region iteration called without ``least_squares``'s
per-evaluation wrappers. The result's
(trace, pulse) DataArrays are built when first read. The ``least_squares`` path
imports neither lmfit nor scipy.stats (lmfit is imported only for the other
``method`` values).
"""

from __future__ import annotations

import datetime as _dt
import functools
import inspect
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .. import observables as obs_mod
from .._lightds import LightDataset, LightVariable
from .._xrcompat import xr  # xarray imported on first use (not by the fit command)
from ..core import DeviceModel
from ..measurement import MeasurementError, read_voltage, validate
from ..observables import observable_of
from ..simulate import replay
from ..units import format_unit
from .errors import FitError
from .guess import scan_start
from .holdout import holdout_mask
from .noise import (
    NOISE_MODELS,
    NoiseError,
    binomial_deviance_residual,
    parse_sigma,
    robust_constant,
    robust_sigma,
    use_log_space,
)

COND_LIMIT = 1e8
LEAN_OBJECTIVE = True  # False: baselines through the general objective (the reference tests compare with)
GROUPED_JACOBIAN = True  # False: scipy's dense finite differences (the reference the tests compare with)
REDCHI_FAIL = 10.0  # a reduced chi-square beyond 10 (or below 1/10) is a wrong model or a wrong noise model
CORR_LIMIT = 0.9995
LOG_LIMIT = 1.0  # decades: a log-scaled parameter with a larger stderr is not determined
GLOBAL_LOG_SPAN = 6.0  # decades either side of the start that the global stage searches (log parameters)


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
    # -- added for issue 3 (all optional, defaults keep old constructors working) --
    observed: xr.DataArray | None = field(repr=False, default=None)
    fit_mask: xr.DataArray | None = field(repr=False, default=None)
    holdout: dict[str, Any] | None = None
    condition: float | None = None
    n_starts: int = 1
    start_chisqr: list[float] = field(default_factory=list)
    normalised: bool = False
    elapsed: float = 0.0
    sigma_trace: np.ndarray | None = field(repr=False, default=None)
    validity: dict[str, dict[str, Any]] = field(default_factory=dict)  # conditions the data span
    # -- issue 10: what was measured and how it was weighed --
    observable: str = "conductance"
    noise_model: str = "trace"
    space: str = "linear"
    warnings: list[str] = field(default_factory=list)
    #: the arrays behind residuals / prediction / observed / fit_mask while those are not built (see _Grids)
    grids: Any = field(repr=False, compare=False, default=None)

    @property
    def nvarys(self) -> int:
        return len(self.varied)

    @property
    def holdout_rmse(self) -> float | None:
        return None if not self.holdout else self.holdout.get("rmse")

    def summary(self) -> str:
        u = self.rmse_unit or ("(weight)" if self.normalised else "")
        lines = [
            f"model      {self.model.name}",
            f"data       {self.data_source}" + ("   [normalised weights]" if self.normalised else ""),
            f"status     {self.status}",
            f"observable {self.observable}   noise {self.noise_model}   residuals {self.space}"
            + ("" if self.space == "linear" else " (sigma relative)"),
            f"RMSE       {self.rmse:.4g} {u}   (sigma {self.sigma:.3g} {'' if self.space == 'log' else u})",
            f"chi2       {self.chisqr:.4g}   reduced {self.redchi:.4g}   AIC {self.aic:.2f}   BIC {self.bic:.2f}",
            f"points     {self.ndata}   parameters {self.nvarys}   evaluations {self.nfev}   starts {self.n_starts}"
            f"   time {self.elapsed:.3g} s",
        ]
        if self.condition is not None:
            lines.append(f"condition  {self.condition:.3g} (scaled Jacobian)")
        if self.holdout:
            h = self.holdout
            lines.append(f"hold-out   {h['description']}: {h['ndata']} points, RMSE {h['rmse']:.4g} {u}"
                         + (f" = {h['rmse_dex']:.3g} dex (fitted points {h['rmse_dex_fit']:.3g} dex)"
                            if "rmse_dex" in h else ""))
        lines.append("parameters:")
        for name in self.varied:
            v, e, pu = self.values[name], self.stderr[name], format_unit(self.units[name])
            err = f"+/- {e:.3g}" if e is not None else "+/- (not determined)"
            rel = f" ({100 * e / abs(v):.2g} %)" if e is not None and v else ""
            lines.append(f"  {name:<12s} {v:.5g} {err} {pu}{rel}")
        strong = [(a, b, c) for a, row in self.correlations.items() for b, c in row.items() if a < b and abs(c) > 0.9]
        for a, b, c in strong:
            lines.append(f"  correlation {a} / {b}: {c:+.3f}")
        return "\n".join(lines)

    def to_json(self) -> dict[str, Any]:
        return {
            "model": self.model.name,
            "data": self.data_source,
            "converged": bool(self.converged),
            "status": self.status,
            "observable": self.observable,
            "noise_model": self.noise_model,
            "space": self.space,
            "warnings": list(self.warnings),
            "rmse": {"value": self.rmse, "unit": self.rmse_unit},
            "sigma": {"value": self.sigma, "unit": self.rmse_unit},
            "chisqr": self.chisqr,
            "redchi": self.redchi,
            "aic": self.aic,
            "bic": self.bic,
            "ndata": self.ndata,
            "nvarys": self.nvarys,
            "nfev": self.nfev,
            "method": self.method,
            "normalised": self.normalised,
            "condition": self.condition,
            "n_starts": self.n_starts,
            "elapsed_s": self.elapsed,
            "holdout": self.holdout,
            "parameters": {
                n: {"value": _plain(self.values[n]), "stderr": self.stderr[n], "unit": self.units[n],
                    "varied": n in self.varied}
                for n in self.values
            },
            "correlations": self.correlations,
        }

    def to_card(self, name: str, title: str = "", provenance: dict | None = None,
                validity: dict | None = None, notes: str = "", start=None, variability=None):
        """A ``kind = "fitted"`` card holding the fitted values, stderr and statistics.

        ``start`` is the card the fit started from: held parameters keep its
        source and estimate notes, so provenance is not lost. ``variability``
        (a :class:`devicelib.variability.Variability`) becomes the card's
        ``[variability]`` table.
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
        if getattr(self.model, "supports_normalised", False) and not self.normalised:
            for k in ("g_ref", "g_offset"):
                if k in params and start is None:
                    params[k].source = "normalisation layer (w = (G - g_offset) / g_ref), set from the measured range"
        if self.normalised:
            for k in ("g_ref", "g_offset"):
                if k in params:
                    params[k].source = "not determined: the data are normalised weights"
                    params[k].estimate = "placeholder; set the device's conductance per weight unit and offset"
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
            "normalised": self.normalised,
            "observable": self.observable,
            "noise_model": self.noise_model,
            "space": self.space,
            "date": _dt.date.today().isoformat(),
        }
        if self.holdout:
            fit_info["holdout"] = {"description": self.holdout["description"], "ndata": self.holdout["ndata"],
                                   "rmse": {"value": self.holdout["rmse"], "unit": self.rmse_unit}}
            if "rmse_dex" in self.holdout:
                fit_info["holdout"]["rmse_log10"] = self.holdout["rmse_dex"]
                fit_info["holdout"]["rmse_log10_fitted"] = self.holdout["rmse_dex_fit"]
        from .. import __version__

        fit_info["devicelib_version"] = __version__
        return Card(name=name, model_name=self.model.name, title=title or f"{self.model.name} fitted to data",
                    kind="fitted", provenance=prov, parameters=params, validity=validity or dict(self.validity),
                    variability=variability, fit=fit_info, notes=notes)


class _Grids:
    """The (trace, pulse) arrays of a fit (prediction, residuals, observed, fit_mask), made into DataArrays on
    the measurement's own coordinates when one is first read: building four DataArrays costs about a
    millisecond, more than a baseline's whole optimisation, and a caller that wants the fitted values never
    reads them."""

    def __init__(self, data, unit: str, **arrays: np.ndarray):
        dims = ("trace", "pulse")
        self.coord_vars = {k: data.variables[k] for k in dims}  # taken now: the caller may change data later
        # the CLI's read-only measurement answers alike, without importing xarray (see devicelib._lightds)
        self.light = isinstance(data, LightDataset)
        self.indexes = None if self.light else getattr(data, "xindexes", None)
        self.unit, self.arrays, self.built = unit, arrays, None

    def get(self, name: str):
        if self.built is None and self.light:
            self.built = {k: LightVariable(("trace", "pulse"), v, {"units": self.unit} if k != "fit_mask" else {},
                                           coords=self.coord_vars) for k, v in self.arrays.items()}
        if self.built is None:
            dims = ("trace", "pulse")
            try:  # the measurement's own coordinate indexes, not new ones (xarray index building is ms)
                coords = xr.Coordinates(self.coord_vars, indexes={k: self.indexes[k] for k in dims})
            except (AttributeError, KeyError, TypeError, ValueError):  # pragma: no cover - no xr.Coordinates
                coords = {k: v.values for k, v in self.coord_vars.items()}
            unit = self.unit
            # one DataArray holds the coordinates; the others share them
            pred = xr.DataArray(self.arrays["prediction"], dims=dims, coords=coords, attrs={"units": unit})
            built = {"prediction": pred}
            for k in ("residuals", "observed", "fit_mask"):
                da = pred.copy(deep=False, data=self.arrays[k])
                da.attrs = {"units": unit} if k != "fit_mask" else {}
                built[k] = da
            self.built = built
        return self.built[name]


def _grid_field(name: str) -> property:
    """``FitResult.<name>``: the value given to the constructor, else the DataArray built from ``grids``."""
    key = "_" + name

    def get(self):
        v = self.__dict__.get(key)
        if v is None and self.grids is not None:
            v = self.__dict__[key] = self.grids.get(name)
        return v

    def put(self, value):
        self.__dict__[key] = value

    return property(get, put, doc=f"{name} on (trace, pulse) (an xarray.DataArray)")


for _name in ("residuals", "prediction", "observed", "fit_mask"):
    setattr(FitResult, _name, _grid_field(_name))  # after @dataclass: its __init__ assigns through them


def _plain(v):
    return v.tolist() if isinstance(v, np.ndarray) else v


def data_validity(data: xr.Dataset, g_si: np.ndarray, amplitude_unit: str, v_read: float | None = None,
                  normalised: bool = False) -> dict[str, dict[str, Any]]:
    """The pulse conditions (and conductance range) a measurement spans: a fitted card's validity.

    A fit says nothing outside the amplitudes, widths, temperatures and states
    it saw; the card records them so exporters and metrics default to them.
    ``v_read`` (V) is the read voltage the fit used; ``g_si`` the measured
    conductance in S.
    """
    g = np.asarray(g_si, dtype=float)
    measured = np.isfinite(g)  # padding of shorter traces carries no pulse condition
    out: dict[str, dict[str, Any]] = {}
    for key, unit in (("amplitude", amplitude_unit), ("width", "s"), ("temperature", "K")):
        if key in data:
            v = np.broadcast_to(np.asarray(data.variables[key].values, dtype=float), g.shape)[measured]
            v = v[np.isfinite(v)]
            if v.size:
                out[key] = {"min": float(v.min()), "max": float(v.max()), "unit": unit}
    if v_read is not None and np.isfinite(v_read):
        out["read_voltage"] = {"min": float(v_read), "max": float(v_read), "unit": "V"}
    g = g[measured & (g > 0)]
    if g.size and not normalised:
        out["conductance"] = {"min": float(g.min()), "max": float(g.max()), "unit": "S"}
    return out


# -- noise ------------------------------------------------------------------------
def estimate_noise(g: np.ndarray) -> float:
    """Robust noise estimate from second differences along the pulse axis, pooled over traces (NaN ignored).

    Raises :class:`devicelib.fit.noise.NoiseError` when it cannot be made (see :mod:`devicelib.fit.noise`).
    """
    return robust_constant(np.atleast_2d(np.asarray(g, dtype=float)))


def estimate_noise_per_trace(g: np.ndarray) -> np.ndarray:
    """One robust noise estimate per trace (row); short traces take the pooled estimate of the others."""
    return robust_sigma(np.atleast_2d(np.asarray(g, dtype=float)))


# -- parameter transform ------------------------------------------------------------
class ParamSpace:
    """Map declared parameters to fitted (internal) numbers: log10 or value/scale."""

    def __init__(self, model: DeviceModel, vary: list[str], start: dict[str, float]):
        self.names = list(vary)
        self.decl = {p.name: model.parameter(p.name) for p in model.parameters if p.name in vary}
        self.log = np.array([self.decl[n].log for n in vary], bool)
        self.scale = np.ones(len(vary))
        lo, hi, x0 = [], [], []
        for j, n in enumerate(vary):
            p = self.decl[n]
            a, b = p.bounds
            v = float(np.clip(start[n], a, b))
            if p.log:
                lo.append(np.log10(a))
                hi.append(np.log10(b))
                x0.append(np.log10(v))
            else:
                s = abs(v) if v != 0 else 1.0
                self.scale[j] = s
                lo.append(a / s)
                hi.append(b / s)
                x0.append(v / s)
        self.lo, self.hi = np.array(lo), np.array(hi)
        span = self.hi - self.lo
        pad = np.where(np.isfinite(span), 1e-9 * span, 0.0)
        self.x0 = np.clip(np.array(x0), self.lo + pad, self.hi - pad)

    def key(self, j: int) -> str:
        return f"log10_{self.names[j]}" if self.log[j] else self.names[j]

    def to_values(self, x) -> dict[str, Any]:
        x = np.asarray(x, dtype=float)
        if x.ndim == 1:  # the inner loop: one vector operation, no per-parameter Python arithmetic
            if not hasattr(self, "_blo"):
                self._blo = np.array([self.decl[n].bounds[0] for n in self.names], float)
                self._bhi = np.array([self.decl[n].bounds[1] for n in self.names], float)
            v = np.where(self.log, 10.0 ** np.where(self.log, x, 0.0), x * self.scale)
            return dict(zip(self.names, np.minimum(np.maximum(v, self._blo), self._bhi).tolist(), strict=True))
        out = {}
        for j, n in enumerate(self.names):
            xj = x[..., j]
            v = 10.0**xj if self.log[j] else xj * self.scale[j]
            a, b = self.decl[n].bounds
            out[n] = np.clip(v, a, b) if np.ndim(v) else float(min(max(v, a), b))
        return out

    def lmfit_params(self, x=None, light: bool = False):
        """lmfit Parameters at ``x`` (``light``: the :class:`LightParameters` of the direct path)."""
        x = self.x0 if x is None else x
        if light:
            pars = LightParameters()
        else:
            import lmfit

            pars = lmfit.Parameters()
        for j in range(len(self.names)):
            pars.add(self.key(j), value=float(x[j]), min=float(self.lo[j]), max=float(self.hi[j]))
        return pars

    def from_lmfit(self, pars) -> np.ndarray:
        return np.array([pars[self.key(j)].value for j in range(len(self.names))])

    def stderr(self, x, ex) -> list[float | None]:
        out = []
        for j in range(len(self.names)):
            if ex[j] is None or not np.isfinite(ex[j]):
                out.append(None)
            elif self.log[j]:
                out.append(float(10.0 ** x[j] * np.log(10) * ex[j]))
            else:
                out.append(float(ex[j] * self.scale[j]))
        return out

    def sample(self, n: int, seed: int = 0) -> np.ndarray:
        """``n`` Latin-hypercube points around ``x0`` (log: +/- 1 decade, linear: +/- 50 %), inside bounds."""
        from scipy.stats import qmc

        u = qmc.LatinHypercube(d=len(self.names), seed=seed).random(n)
        half = np.where(self.log, 1.0, 0.5 * np.maximum(np.abs(self.x0), 1e-3))
        lo = np.maximum(self.x0 - half, self.lo)
        hi = np.minimum(self.x0 + half, self.hi)
        return lo + u * (hi - lo)


def trial_model(model: DeviceModel, values: dict[str, Any]) -> DeviceModel:
    """A copy of ``model`` with ``values`` set, without re-validating bounds (the caller clipped them).

    Cross-parameter checks (``_check``) still run. Used in the fit's inner loop, where the
    full validation would cost more than a baseline's whole-trace evaluation.
    """
    new = object.__new__(type(model))
    new.params = dict(model.params)
    new.params.update(values)
    new.rng = model.rng
    new._check()
    return new


# -- the problem ------------------------------------------------------------------------
class Problem:
    """Data, masks, weights and the forward model of one fit."""

    def __init__(self, model: DeviceModel, data: xr.Dataset, *, v_read=None, initial="auto", sigma=None,
                 holdout=None, noise: str = "auto", space: str = "linear"):
        try:
            data = validate(data)
        except MeasurementError as exc:
            raise FitError(str(exc)) from None
        if data.variables["amplitude"].attrs["units"] != model.amplitude_unit:
            raise FitError(
                f"{model.name} is driven in {model.amplitude_unit}; the measurement's amplitudes are in "
                f"{data.variables['amplitude'].attrs['units']}"
            )
        self.model = model
        self.data = data
        self.obs = observable_of(data)
        try:
            obs_mod.check_model(model, self.obs)
        except obs_mod.ObservableError as exc:
            raise FitError(f"{data.attrs.get('source') or 'measurement'} measures {self.obs}: {exc}") from None
        self.read_obs = self.obs in obs_mod.READ_OBSERVABLES
        self.normalised = self.obs == "conductance" and data.variables["conductance"].attrs["units"] == ""
        if self.normalised and not getattr(model, "supports_normalised", False):
            raise FitError(
                f"{model.name} predicts conductance in S but the measurement is normalised (unit ''); "
                "fit it with a model that supports normalised weights (baseline.*) or give the data in S"
            )
        self.unit = "" if self.normalised else str(data.variables[self.obs].attrs.get("units", ""))
        if self.normalised or not self.read_obs:
            self.vr = float(read_voltage(data, v_read)) if (v_read is not None or "read_voltage" in data.attrs) \
                else 0.1  # unused by weight models and non-read observables
        else:
            self.vr = read_voltage(data, v_read)
        g = data.variables[self.obs].values.astype(float)
        valid = np.isfinite(g)
        conds = {k: data.variables[k].values.astype(float) for k in ("amplitude", "width", "interval", "temperature")}
        for k, v in conds.items():
            conds[k] = np.where(valid, v, 0.0 if k != "temperature" else 300.0)
        self.g, self.valid = g, valid
        ntr = g.shape[0]
        self.initial_note = ""
        if initial == "auto":  # the first read where the model can invert a read, else its initial state
            inverts = type(model).state_from_conductance is not DeviceModel.state_from_conductance
            initial = "first" if inverts else "model"  # (a non-read observable: "model" below, with its note)
            if not inverts:
                self.initial_note = f"start state: the model's initial state ({model.name} does not invert a read)"
        if initial in ("first", "fit") and not self.read_obs:
            # a polarisation or probability does not fix the state: start from the model's
            initial = "model"
            self.initial_note = f"start state: the model's initial state ({self.obs} does not determine it)"
        if initial in ("first", "fit"):
            init_name = f"{self.obs}_initial"
            if init_name in data:
                self.g_start, self.first = data.variables[init_name].values.astype(float), 0
            else:
                self.g_start, self.first = g[:, 0], 1
        elif initial == "model":
            self.g_start, self.first = None, 0
        else:
            raise FitError(f"initial must be 'auto', 'first', 'fit' or 'model', got {initial!r}")
        self.initial = initial
        self.fit_start = initial == "fit"
        self.shift = None  # start shift (residual-space units) per trace when the start is fitted
        hold, self.holdout_description = holdout_mask(holdout, data)
        self.holdout_spec = holdout
        hold[:, : self.first] = False
        fitm = valid & ~hold
        fitm[:, : self.first] = False
        self.hold, self.fitm = hold, fitm
        if fitm.sum() < 2:
            raise FitError(
                f"{data.attrs.get('source') or 'measurement'}: {int(fitm.sum())} data point(s) to fit; "
                "a fit needs at least 2 points after the start point (is every trace a single point?)"
            )
        self.conds = {k: np.ascontiguousarray(v[:, self.first:]) for k, v in conds.items()}
        self.binomial = self.obs == "switching_probability" and "trials" in data
        self.log = use_log_space(space, g[valid], self.read_obs and not self.normalised)
        y = np.log(g) if self.log else g
        labels = [str(t) for t in data.variables["trace"].values]
        self.noise_model = self._noise(noise, sigma, g, y, valid, labels, ntr)
        sig = self.sig
        if np.any(~np.isfinite(sig[valid])) or np.any(sig[valid] <= 0):
            raise FitError("sigma must be positive and finite (a constant trace has no measurable noise: "
                           "give sigma explicitly)")
        self.sig_trace = np.array([np.mean(sig[i][valid[i]]) for i in range(ntr)])
        self.m = fitm[:, self.first:]
        self.mh = hold[:, self.first:]
        self.y = y
        self.target = y[:, self.first:]
        self.w = 1.0 / sig[:, self.first:]
        if self.binomial:
            self.trials = data.variables["trials"].values[:, self.first:].astype(float)
            self.k = np.round(np.where(self.m, g[:, self.first:], 0.0) * np.where(self.m, self.trials, 1.0))
        if self.g_start is not None and not self.normalised and np.any(self.g_start <= 0):
            raise FitError(f"the start {self.obs} of a trace is not positive")

    def _noise(self, noise, sigma, g, y, valid, labels, ntr) -> str:
        """Set ``self.sig`` (residual-space units, like the data) from the noise model; return its name."""
        if noise not in NOISE_MODELS:
            raise FitError(f"noise must be one of {', '.join(NOISE_MODELS)}, got {noise!r}")
        if self.binomial:
            n = self.data.variables["trials"].values.astype(float)
            p = np.clip(np.where(valid, g, 0.5), 0.5 / n, 1 - 0.5 / n)
            self.sig = np.sqrt(p * (1 - p) / n)  # for reporting; the objective is the binomial deviance
            return "binomial"
        kind, value = parse_sigma(sigma) if isinstance(sigma, str) else (("given", sigma) if sigma is not None
                                                                          else (None, None))
        if kind is not None:
            if noise not in ("auto", kind):
                raise FitError(f"sigma {sigma!r} is a {kind} noise but noise={noise!r}")
            noise = kind
        elif noise == "given":
            raise FitError("noise 'given' needs sigma (a number in the data's unit, per trace or per point)")
        yv = np.where(valid, y, np.nan)
        absg = np.where(valid, np.abs(g), np.nan)
        try:
            if noise == "given":
                s = np.asarray(value, dtype=float)
                if s.ndim == 1 and s.shape[0] == ntr and g.shape[1] != ntr:
                    s = s[:, None]
                try:
                    s = np.broadcast_to(s, g.shape)
                except ValueError:
                    raise FitError(f"sigma has shape {s.shape}; expected a scalar, ({ntr},) or {g.shape}") from None
                sig = s / absg if self.log else s
            elif noise == "proportional":
                rel = value if value is not None else robust_constant(np.log(absg), labels)
                sig = np.full(g.shape, rel) if self.log else rel * absg
            elif noise == "constant":
                sig = np.full(g.shape, robust_constant(yv, labels))
            else:
                noise = "trace"
                sig = np.broadcast_to(robust_sigma(yv, labels)[:, None], g.shape)
        except NoiseError as exc:
            raise NoiseError(f"{self.data.attrs.get('source') or 'measurement'}: {exc}") from None
        self.sig = np.where(valid, sig, 1.0)
        return noise

    @property
    def ntrace(self) -> int:
        return self.g.shape[0]

    def start_value(self):
        """Start read (data units) of each trace, with the fitted shift."""
        if self.shift is None:
            return self.g_start
        return self.g_start * np.exp(self.shift) if self.log else self.g_start + self.shift

    def start_state(self, trial: DeviceModel):
        if self.g_start is None:
            return trial.initial_state(self.ntrace)
        g0 = self.start_value()
        if self.obs != "conductance":
            g0 = obs_mod.to_conductance(self.obs, g0, self.vr)
        return trial.state_from_conductance(self.to_si(g0), self.vr)

    def to_si(self, values):
        """Data units -> S (the normalisation layer of the model for normalised data)."""
        return self.model.from_weight(values) if self.normalised else values

    def from_si(self, g):
        return self.model.to_weight(g) if self.normalised else g

    def predict(self, trial: DeviceModel) -> np.ndarray:
        """Model values (data units) for pulses ``first..`` of every trace."""
        st = self.start_state(trial)
        c = self.conds
        if self.obs != "conductance":
            return obs_mod.replay_observable(trial, self.obs, st, c["amplitude"], c["width"], c["interval"],
                                             c["temperature"], self.vr)
        out = replay(trial, st, c["amplitude"], c["width"], c["interval"], c["temperature"], self.vr)
        return self.from_si(out)

    def residual(self, pred: np.ndarray) -> np.ndarray:
        """Weighted residuals of the fitted points (the likelihood's)."""
        m = self.m
        if self.binomial:
            return binomial_deviance_residual(self.k[m], self.trials[m], pred[m])
        p = pred[m]
        if self.log:
            with np.errstate(divide="ignore", invalid="ignore"):
                p = np.log(p)
        return (p - self.target[m]) * self.w[m]

    def full_prediction(self, trial: DeviceModel) -> np.ndarray:
        pred = np.full_like(self.g, np.nan)
        pred[:, self.first:] = self.predict(trial)
        if self.first:
            pred[:, : self.first] = (self.g[:, 0] if self.shift is None else self.start_value())[:, None]
        pred[~self.valid] = np.nan
        return pred


def data_kind(data: xr.Dataset) -> str:
    """``pulse_map`` (one pulse per row), ``switching_probability``, ``polarization``, ... or ``pulse_train``."""
    if data.attrs.get("layout") == "single-pulse map":
        return "pulse_map"
    obs = observable_of(data)
    return "pulse_train" if obs in obs_mod.READ_OBSERVABLES else obs


def default_vary(model: DeviceModel, data: xr.Dataset | None = None, start_from_data: bool = False) -> list[str]:
    """The parameters a fit varies by default: the model's ``default_vary`` for the data's kind.

    ``default_vary`` is a tuple (any data) or a dict keyed by :func:`data_kind` (``pulse_train`` is the
    fallback); without one, every parameter not declared ``fixed``. With ``start_from_data`` (each trace
    starts from its first read) the model's ``fresh_read`` parameters are left out: they set only the
    read of the fresh device, which the data then replace.
    """
    dv = getattr(model, "default_vary", None)
    if isinstance(dv, dict):
        kind = data_kind(data) if data is not None else "pulse_train"
        dv = dv.get(kind) or dv.get("pulse_train")
    out = list(dv or [p.name for p in model.parameters if not p.fixed])
    if start_from_data:  # the first read fixes the start state: what sets only the fresh read is not seen
        out = [n for n in out if n not in getattr(model, "fresh_read", ())] or out
    return out


def global_stage(resid_x, space: ParamSpace, nz: int, budget: int, seed: int = 0, progress=None,
                 keep: int = 1) -> tuple[list[np.ndarray], int]:
    """Latin-hypercube search over the box of the varied parameters (log10 for log ones).

    The box is the declared bounds, cut for a log parameter to ``GLOBAL_LOG_SPAN`` decades either side of
    the (guessed) start: declared bounds of rate prefactors span 20-35 decades (ECM's j0: 1e-10 to 1e25
    A/m^2), where a budget of a few hundred points leaves decades between samples; a start from the model's
    defaults or the family's guess is within a few decades of any physical device.
    ``budget`` objective evaluations (the start ``space.x0`` is one of them); returns the ``keep`` best points
    (lowest chi-square first) and the evaluations spent. ``progress(done, budget, best_chisqr)`` is called
    after each evaluation (e.g. a progress bar).
    """
    from scipy.stats import qmc

    lo, hi = space.lo.copy(), space.hi.copy()
    half = np.where(space.log, 1.0, 0.5 * np.maximum(np.abs(space.x0), 1e-3))
    lo = np.where(np.isfinite(lo), lo, space.x0 - 10 * half)
    hi = np.where(np.isfinite(hi), hi, space.x0 + 10 * half)
    lo = np.where(space.log, np.maximum(lo, space.x0 - GLOBAL_LOG_SPAN), lo)
    hi = np.where(space.log, np.minimum(hi, space.x0 + GLOBAL_LOG_SPAN), hi)
    n = max(int(budget), 1)
    pts = np.vstack([space.x0, lo + qmc.LatinHypercube(d=lo.size, seed=seed).random(n - 1) * (hi - lo)])
    chi = np.empty(n)
    zeros = np.zeros(nz)
    best = np.inf
    for i, x in enumerate(pts):
        r = resid_x(np.r_[x, zeros])
        chi[i] = float(r @ r)
        best = min(best, chi[i])
        if progress is not None:
            progress(i + 1, n, best)
    order = np.argsort(chi, kind="stable")[:keep]
    return [pts[i] for i in order], n


class _LSQResult:
    """The parts of an lmfit MinimizerResult the fit reads, from a direct scipy least_squares run."""

    def __init__(self, **kw):
        self.__dict__.update(kw)


class _Par:
    """The fields of an ``lmfit.Parameter`` the direct path reads and writes (lmfit itself costs about a
    second to import and milliseconds to build its Parameters: the direct path does not need it)."""

    __slots__ = ("correl", "max", "min", "name", "stderr", "value", "vary")

    def __init__(self, name, value, min=-np.inf, max=np.inf, vary=True):
        self.name, self.value, self.min, self.max, self.vary = name, value, min, max, vary
        self.stderr = None
        self.correl = None

    def __repr__(self):
        return f"<Parameter {self.name!r}, value={self.value!r}, bounds=[{self.min}:{self.max}]>"


class LightParameters(dict):
    """A dict of :class:`_Par` with ``lmfit.Parameters``' ``add`` and ``valuesdict`` (the direct path's)."""

    def add(self, name, value=None, vary=True, min=-np.inf, max=np.inf):
        self[name] = _Par(name, value, min, max, vary)

    def valuesdict(self):
        return {k: p.value for k, p in self.items()}


def _least_squares(fun, x0, lo, hi, jac, max_nfev, loss, make_params, count=None) -> _LSQResult:
    """scipy's trust-region-reflective fit with lmfit's settings and statistics (covariance scaled by the
    reduced chi-square, stderr, correlations, AIC/BIC), without lmfit's per-evaluation overhead.
    ``count()``: the objective's own evaluation counter (a callable ``jac`` that evaluates it), else the
    calls of ``fun`` are counted."""
    from scipy.optimize import least_squares

    calls = [0]

    def f(x):
        calls[0] += 1
        return fun(x)

    c0 = count() if count is not None else 0
    ret = _trf_direct(f, x0, lo, hi, jac, max_nfev) if (callable(jac) and loss == "linear") else None
    if ret is None:
        ret = least_squares(f, x0, jac=jac, bounds=(lo, hi), method="trf", ftol=1e-8, xtol=1e-8, gtol=1e-8,
                            loss=loss, max_nfev=max_nfev)
    if count is not None:
        calls[0] = count() - c0
    r = np.asarray(ret.fun, dtype=float)
    n, k = r.size, x0.size
    chisqr = float(r @ r)
    redchi = chisqr / max(1, n - k)
    pars = make_params(ret.x)
    names = [nm for nm in pars if pars[nm].vary]
    for nm, v in zip(names, ret.x, strict=True):  # lmfit_params clips its start values into the bounds
        pars[nm].value = float(v)
    errorbars = False
    try:
        J = np.asarray(ret.jac, dtype=float)
        cov = np.linalg.inv(J.T @ J) * redchi
        d = np.diag(cov)
        errorbars = bool(np.all(np.isfinite(cov)) and np.all(d > 0))
        sd = np.sqrt(np.where(d > 0, d, np.nan))
        for i, nm in enumerate(names):
            pars[nm].stderr = float(sd[i]) if np.isfinite(sd[i]) else None
            pars[nm].correl = {names[j]: float(cov[i, j] / (sd[i] * sd[j])) for j in range(k) if j != i} \
                if errorbars else None
    except np.linalg.LinAlgError:
        pass
    with np.errstate(divide="ignore"):
        aic = n * np.log(chisqr / n) + 2 * k if n else np.nan
        bic = n * np.log(chisqr / n) + np.log(n) * k if n else np.nan
    return _LSQResult(params=pars, chisqr=chisqr, redchi=redchi, aic=float(aic), bic=float(bic),
                      success=bool(ret.success), message=str(ret.message), errorbars=errorbars, nfev=calls[0],
                      ndata=n, nvarys=k, x=ret.x)


#: the leading parameters of scipy.optimize._lsq.trf.trf (scipy 1.11-1.17) that _trf_direct passes by position
_TRF_ARGS = ("fun", "jac", "x0", "f0", "J0", "lb", "ub", "ftol", "xtol", "gtol", "max_nfev", "x_scale",
             "loss_function", "tr_solver", "tr_options", "verbose")


@functools.cache
def _leading_args(fn, n: int | None = None) -> tuple[str, ...]:
    """The first ``n`` parameter names of ``fn`` (inspect.signature costs tens of microseconds: once per function)."""
    return tuple(inspect.signature(fn).parameters)[:n]


def _trf_direct(fun, x0, lo, hi, jac, max_nfev):
    """scipy's trust-region-reflective iteration (``scipy.optimize._lsq.trf.trf``) called as
    ``least_squares(method="trf", loss="linear", x_scale=1, tr_solver="exact")`` calls it, without
    least_squares' per-evaluation wrappers (about a tenth of a baseline fit). Same function, same arguments,
    same iterates (tests/test_fit_lean.py holds the fits equal); None when scipy's internals differ (the
    caller then uses least_squares)."""
    try:
        from scipy.optimize._lsq.common import in_bounds, make_strictly_feasible
        from scipy.optimize._lsq.least_squares import TERMINATION_MESSAGES
        from scipy.optimize._lsq.trf import trf
    except ImportError:  # pragma: no cover - another scipy layout
        return None
    if _leading_args(trf, 16) != _TRF_ARGS:  # pragma: no cover - another scipy version
        return None  # the positional call below would not mean what it says
    x0 = np.atleast_1d(np.asarray(x0, dtype=float)).copy()
    lb, ub = np.asarray(lo, dtype=float), np.asarray(hi, dtype=float)
    if not in_bounds(x0, lb, ub) or np.any(lb >= ub):
        return None  # least_squares says what is wrong
    x0 = make_strictly_feasible(x0, lb, ub)
    f0 = np.atleast_1d(fun(x0.copy()))
    if f0.ndim != 1 or not np.all(np.isfinite(f0)):
        return None
    J0 = np.atleast_2d(jac(x0.copy()))
    ret = trf(fun, lambda x: np.atleast_2d(jac(x)), x0, f0, J0, lb, ub, 1e-8, 1e-8, 1e-8, max_nfev,
              np.ones(x0.size), None, "exact", {}, 0)
    ret.message = TERMINATION_MESSAGES[ret.status]
    ret.success = ret.status > 0
    return ret


def expectation_model(model: DeviceModel) -> tuple[DeviceModel, str]:
    """The deterministic model a fit compares with data: a stochastic model's ``mean_field()``.

    Random draws are no fit target; a stochastic model without an expectation is refused with how to proceed.
    """
    if not getattr(model, "stochastic", False):
        return model, ""
    mf = getattr(model, "mean_field", None)
    if mf is not None:
        try:
            return mf(), f"fitted through the mean field of the stochastic {model.name}"
        except NotImplementedError:  # not for these parameters (e.g. PCM's growth_spread > 0)
            pass
    try:  # a stochastic family whose noise parameters are all off is deterministic as configured
        nominal = model.nominal()
    except (NotImplementedError, ValueError, AttributeError):
        nominal = None
    if nominal is not None and nominal is not model and getattr(nominal, "params", None) is not None and \
            all(np.array_equal(np.asarray(v), np.asarray(model.params.get(k))) for k, v in nominal.params.items()):
        return model, ""
    raise FitError(
        f"{model.name} is stochastic (apply_pulse draws random numbers) and has no mean_field() for these "
        "parameters: a fit to random draws is meaningless. Fit its deterministic instance (model.nominal() "
        "where the family provides one) and estimate the spread with devicelib.fit.variability")


def _redchi_band(dof: int) -> tuple[float, float]:
    """The 99.9 % band of the reduced chi-square: ``chi2.ppf(q, dof) / dof``, computed as scipy.stats does
    (``2 gammaincinv(dof / 2, q)``) without importing scipy.stats (a third of a second)."""
    from scipy.special import gammaincinv

    return float(2 * gammaincinv(dof / 2, 0.0005) / dof), float(2 * gammaincinv(dof / 2, 0.9995) / dof)


def _no_signal(prob: Problem, chisqr: float, k: int) -> str:
    """Reason the fit explains nothing (AIC no better than a constant per trace), or ''."""
    if prob.binomial:
        return ""
    y = np.where(prob.m, prob.target, np.nan)
    w = np.where(prob.m, prob.w, 0.0)
    counts = prob.m.sum(axis=1)
    n = int(prob.m.sum())
    null = "a constant per trace"
    if np.all(counts[counts > 0] >= 3):  # a weighted mean per trace
        mu = np.nansum(y * w**2, axis=1) / np.maximum(np.sum(w**2, axis=1), 1e-300)
        k0 = int((counts > 0).sum())
        chi0 = float(np.nansum(((y - mu[:, None]) * w) ** 2))
    else:
        mu = np.nansum(y * w**2) / np.sum(w**2)
        k0, null = 1, "one constant"
        chi0 = float(np.nansum(((y - mu) * w) ** 2))
    if n <= k0 or chisqr <= 0 or chi0 <= 0:
        return ""
    aic, aic0 = n * np.log(chisqr / n) + 2 * k, n * np.log(chi0 / n) + 2 * k0
    if aic >= aic0 - 2.0:
        return (f"no signal: the model explains the data no better than {null} plus noise "
                f"(AIC {aic:.1f} vs {aic0:.1f})")
    return ""


def _conductance_for_validity(prob: Problem) -> np.ndarray:
    if not prob.read_obs:
        return np.where(prob.valid, np.nan, np.nan)
    y = np.where(prob.valid, prob.g, np.nan)
    if prob.obs != "conductance":
        y = obs_mod.to_conductance(prob.obs, y, prob.vr)
    return prob.to_si(y)


_POOL = None


class _blas_limit:
    """Limit BLAS to one thread for small dense problems (trf's SVD under threaded OpenBLAS on busy cores
    costs 100x its single-thread time); a no-op without threadpoolctl or for large Jacobians."""

    def __init__(self, m: int, n: int):
        self.active = m * n < 2_000_000
        self.ctl = None

    def __enter__(self):
        if self.active:
            try:
                import threadpoolctl  # noqa: F401
            except ImportError:
                return self
            global _POOL
            if _POOL is None:  # inspecting the loaded libraries costs ms: once per process
                import scipy.linalg  # noqa: F401 - scipy's own OpenBLAS (trf's SVD) must be loaded to be limited
                from threadpoolctl import ThreadpoolController

                _POOL = ThreadpoolController()
            self.ctl = _POOL.limit(limits=1, user_api="blas")
        return self

    def __exit__(self, *exc):
        if self.ctl is not None:
            self.ctl.restore_original_limits()
        return False


def _jacobian_steps(x, hi):
    """The signed steps of :func:`_jacobian` (``x_j + step_j`` is its ``xp[j]``)."""
    h = 1e-6 * np.maximum(1.0, np.abs(x))
    return np.where(x + h <= hi, h, -h)


def _jacobian(fun, x, lo, hi, f0=None):
    f0 = fun(x) if f0 is None else f0
    J = np.empty((f0.size, x.size))
    for j in range(x.size):
        h = 1e-6 * max(1.0, abs(x[j]))
        xp = x.copy()
        xp[j] = x[j] + h if x[j] + h <= hi[j] else x[j] - h
        J[:, j] = (fun(xp) - f0) / (xp[j] - x[j])
    return J


def fit(
    model: DeviceModel | str,
    data: xr.Dataset,
    vary: list[str] | None = None,
    *,
    v_read=None,
    initial: str = "auto",
    sigma=None,
    method: str = "least_squares",
    max_nfev: int | None = 2000,
    holdout=None,
    starts: int = 1,
    guess: bool | None = None,
    loss: str = "linear",
    seed: int = 0,
    noise: str = "auto",
    space: str = "linear",
    restarts: int = 0,
    global_budget: int = 0,
    progress=None,
) -> FitResult:
    """Fit ``vary`` parameters of ``model`` to the measurement ``data``.

    Parameters
    ----------
    model : a model instance (its values are the start point and the values
        of held parameters) or a registered model / card name.
    vary : parameters to fit; default the model's ``default_vary`` if it has one, else every
        parameter not declared ``fixed``.
    v_read : read voltage (V); default the measurement's ``read_voltage``.
    initial : ``"auto"``, ``"first"``, ``"fit"`` or ``"model"`` (see module docstring).
    sigma : measurement noise in the data's unit (scalar, per trace or per
        point); default estimated per trace.
    method : any lmfit method; ``least_squares`` (trust region reflective,
        bounded) by default.
    holdout : points left out of the objective and predicted (see
        :mod:`devicelib.fit.holdout`): ``"later:0.25"``, ``"traces:reset:*"``,
        ``"every:4"``, ``"condition:amplitude<0"`` or a boolean mask.
    starts : number of starting points (multi-start; 1 = the start only).
    guess : take start values of the varied parameters from the data
        (``model.guess``); default True when ``model`` is a registered model name
        (not a card name: a card's values are the start).
    loss : ``least_squares`` loss (``"linear"``, or ``"soft_l1"``/``"huber"``
        to down-weight outliers).
    noise : noise model (:mod:`devicelib.fit.noise`): ``auto``/``trace`` (robust per trace),
        ``constant``, ``proportional`` or ``given``; ``sigma="5%"`` means proportional.
    space : residuals in ``linear`` or ``log`` space, or ``auto`` (log when the data span > 100x).
    restarts : further Latin-hypercube starts tried only when the fit from the first start(s) is not
        converged (the lowest chi-square is kept).
    global_budget : evaluations of a global stage (:func:`global_stage`: Latin hypercube over the whole
        log/linear box) before the local fit, which then starts from the ``starts`` best points;
        0 = none. ``progress(done, budget, best_chisqr)`` reports it.

    A stochastic model is fitted through its deterministic expectation ``mean_field()``; one
    without it is refused (its random draws are no fit target).
    """
    t0 = time.perf_counter()
    by_name = False
    if isinstance(model, str):
        from ..registry import available_models, get_model

        by_name = model in available_models()  # a registered model at its defaults, not a card's values
        model = get_model(model)
    model, stochastic_note = expectation_model(model)
    prob = Problem(model, data, v_read=v_read, initial=initial, sigma=sigma, holdout=holdout, noise=noise,
                   space=space)
    data = prob.data
    declared = {p.name: p for p in model.parameters}
    if vary is None:
        vary = default_vary(model, data, start_from_data=prob.g_start is not None)
    vary = list(vary)
    if not vary:
        raise FitError("no parameter to vary")
    for name in vary:
        if name not in declared:
            raise FitError(f"cannot vary {name!r}: {model.name} declares {sorted(declared)}")
        if np.ndim(model.params[name]) != 0:
            raise FitError(f"cannot vary {name!r}: it holds per-device values")
    if prob.normalised and {"g_ref", "g_offset"} & set(vary):
        raise FitError("g_ref/g_offset cannot be fitted to normalised data (they set the unit the data do not have)")
    npts = int(prob.m.sum())
    if npts <= len(vary):
        raise FitError(f"{npts} data points cannot determine {len(vary)} parameters")
    if starts < 1:
        raise FitError("starts must be at least 1")

    start = {n: float(model.params[n]) for n in vary}
    use_guess = bool(guess or (guess is None and by_name))
    guessed: set[str] = set()
    if use_guess and hasattr(model, "guess") and prob.obs == "conductance":
        g_si = prob.to_si(np.where(prob.valid, prob.g, np.nan))
        held = {}
        sig_names = _leading_args(getattr(model.guess, "__func__", model.guess))  # (a bound method's function)
        dv = data.variables
        extra = {"v_read": prob.vr, "width": dv["width"].values, "temperature": dv["temperature"].values}
        gkw = {k: v for k, v in extra.items() if k in sig_names}  # what a family's closed form needs
        for k, v in model.guess(g_si, dv["amplitude"].values, normalise=not prob.normalised, **gkw).items():
            if k in start:
                start[k] = v
                guessed.add(k)
            elif (k in getattr(model, 'guess_sets_held', ()) and np.ndim(model.params[k]) == 0
                  and model.params[k] == declared[k].default):
                held[k] = v  # a held parameter still at its default takes the data's value (e.g. p_max)
        if held:
            model = model.with_params(**held)
            prob.model = model
    space = ParamSpace(model, vary, start)
    p_n = len(vary)
    nz = prob.ntrace if prob.fit_start else 0
    sig0 = prob.sig[:, 0] if prob.first else prob.sig_trace
    bad = np.full(npts + nz, 1e6)
    zkeys = [f"start_shift_{i}" for i in range(nz)]

    def resid_x(x):
        if nz:
            prob.shift = x[p_n:] * sig0
        try:
            pred = prob.predict(trial_model(model, space.to_values(x[:p_n])))
        except (ValueError, FloatingPointError, RuntimeError, ZeroDivisionError):
            return bad
        r = prob.residual(pred)
        if nz:  # the start read is a measurement of the fitted start state
            r = np.concatenate([r, x[p_n:]])
        return np.where(np.isfinite(r), r, 1e6)

    def full_x(pars):
        x = space.from_lmfit(pars)
        return np.concatenate([x, [pars[k].value for k in zkeys]]) if nz else x

    def resid(pars):
        return resid_x(full_x(pars))

    # trace of each fitted residual (row-major boolean mask: a trace's points are contiguous)
    row_trace = np.repeat(np.arange(prob.ntrace), prob.m.sum(axis=1))
    jac_evals = [0]

    def grouped_jac(x, *args, **kwargs):
        """Forward differences; all start shifts in one step: trace i's shift moves only trace i's residuals
        and its own prior term (derivative 1), so the shift columns are block-diagonal."""
        f0 = resid_x(x)
        J = np.zeros((f0.size, x.size))
        for j in range(p_n):
            h = 1e-7 * max(1.0, abs(x[j]))
            xp = x.copy()
            xp[j] = x[j] + h if x[j] + h <= space.hi[j] else x[j] - h
            J[:, j] = (resid_x(xp) - f0) / (xp[j] - x[j])
        h = np.where(x[p_n:] + 1e-6 <= 10.0, 1e-6, -1e-6)
        xp = x.copy()
        xp[p_n:] += h
        df = resid_x(xp) - f0
        J[np.arange(npts), p_n + row_trace] = df[:npts] / h[row_trace]
        J[npts + np.arange(nz), p_n + np.arange(nz)] = 1.0
        jac_evals[0] += p_n + 2
        prob.shift = x[p_n:] * sig0
        return J

    def lm_params(x, light=False):
        pars = space.lmfit_params(x, light=light)
        for k in zkeys:
            pars.add(k, value=0.0, min=-10.0, max=10.0)
        return pars

    kws: dict[str, Any] = {}
    direct = method == "least_squares"
    lean = None
    if direct and not nz and LEAN_OBJECTIVE:
        from . import _rule_objective

        if _rule_objective.applies(prob, model):
            lean = _rule_objective.RuleObjective(prob, model, lambda x: trial_model(model, space.to_values(x)),
                                                 space.lo, space.hi, values_of=space.to_values,
                                                 trial=lambda v: trial_model(model, v))
    if direct:  # scipy directly: lmfit's Parameters bookkeeping per evaluation costs more than a baseline's kernel
        lo_all = np.concatenate([space.lo, np.full(nz, -10.0)])
        hi_all = np.concatenate([space.hi, np.full(nz, 10.0)])
        # block-separable start shifts: p_n + 2 evaluations per Jacobian, not p_n + nz
        jac = grouped_jac if nz and GROUPED_JACOBIAN else "2-point"
        if lean is not None:  # a baseline rule: the same residual and 2-point Jacobian, each in one compiled call
            resid_x = lean.residual
            jac = lean.jacobian
    elif loss != "linear":
        raise FitError(f"loss={loss!r} needs method='least_squares'")
    nfev_total = 0
    start_chi: list[float] = []
    best = None
    points = [space.x0] + (list(space.sample(starts - 1, seed)) if starts > 1 else [])
    global_evals = 0
    if global_budget > 0:
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            points, global_evals = global_stage(resid_x, space, nz, global_budget, seed, progress, keep=starts)
    if use_guess and global_budget <= 0 and getattr(model, "guess_scan", True):
        # a coordinate scan of the objective from the (guessed) start: a start a decade off converges
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            order = sorted(range(p_n), key=lambda j: vary[j] in guessed)  # what the data did not set first
            x_scan, scan_evals = scan_start(resid_x, space.x0, space.lo, space.hi, space.log, nz=nz, order=order,
                                            good=2.0 * (npts + nz))  # a start at the noise level needs none
        points[0] = space.x0 = x_scan
        nfev_total += scan_evals
    extra = None  # the restart points, drawn only when a restart is needed (scipy.stats.qmc costs 0.3 s to import)
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"), _blas_limit(npts + nz, p_n + nz):
        k = 0
        while k < len(points):
            x0 = np.concatenate([points[k], np.zeros(nz)])
            if direct:
                res = _least_squares(resid_x, x0, lo_all, hi_all, jac, max_nfev, loss,
                                     lambda x: lm_params(x, light=True),
                                     count=None if lean is None else (lambda: lean.evals))
            else:
                import lmfit

                res = lmfit.minimize(resid, lm_params(points[k]), method=method, **kws)
            nfev_total += int(res.nfev)
            start_chi.append(float(res.chisqr))
            if best is None or res.chisqr < best.chisqr * (1 - 1e-12):
                best = res
            k += 1
            if k == len(points) and restarts > 0 and not (best.success and best.errorbars):
                if extra is None:
                    extra = list(space.sample(restarts, seed + 1))
                if extra:
                    points.append(extra.pop(0))  # restart only while the best fit is not converged
    res = best
    nfev_total += jac_evals[0] + global_evals
    xfull = full_x(res.params)
    prob.shift = xfull[p_n:] * sig0 if nz else None
    xbest = xfull[:p_n]
    values_best = space.to_values(xbest)
    try:
        if type(model).__init__ is DeviceModel.__init__ and all(np.isfinite(v) for v in values_best.values()):
            # inside the bounds by construction: what with_params adds is the validation of every value (units,
            # bounds: tens of microseconds a parameter); the cross-parameter checks run in trial_model
            fitted = trial_model(model, values_best)
        else:
            fitted = model.with_params(**values_best)
    except ValueError as exc:
        raise FitError(f"the best fit is not a valid {model.name}: {exc}") from None
    values = {n: (float(np.asarray(fitted.params[n])) if np.ndim(fitted.params[n]) == 0 else fitted.params[n])
              for n in declared}
    ex = [res.params[space.key(j)].stderr for j in range(len(vary))]
    stderr: dict[str, float | None] = {n: None for n in declared}
    stderr.update(dict(zip(vary, space.stderr(xbest, ex), strict=True)))

    pred_full = prob.full_prediction(fitted)
    resid_full = np.where(prob.fitm | prob.hold, pred_full - prob.g, np.nan)
    rmse = float(np.sqrt(np.mean(resid_full[prob.fitm] ** 2)))
    hold_info = None
    if prob.hold.any():
        rh = resid_full[prob.hold]
        hold_info = {
            "spec": prob.holdout_spec if isinstance(prob.holdout_spec, str) else "custom",
            "description": prob.holdout_description,
            "ndata": int(prob.hold.sum()),
            "rmse": float(np.sqrt(np.mean(rh**2))),
            "chisqr_per_point": float(np.mean(((np.log(pred_full[prob.hold] / prob.g[prob.hold]) if prob.log
                                                else rh) / prob.sig[prob.hold]) ** 2)),
            "rmse_fit": rmse,
        }
        if prob.log:  # data spanning decades: the error a user compares is in decades, not in ohm
            with np.errstate(divide="ignore", invalid="ignore"):
                dex = np.log10(pred_full / prob.g)
            hold_info["rmse_dex"] = float(np.sqrt(np.mean(dex[prob.hold] ** 2)))
            hold_info["rmse_dex_fit"] = float(np.sqrt(np.mean(dex[prob.fitm] ** 2)))

    # conditioning: singular values of the Jacobian in fitted (scaled/log) coordinates
    cond = None
    try:
        with np.errstate(all="ignore"):
            if lean is not None:  # the steps of _jacobian, all columns in one compiled call
                J = lean.jacobian(xfull, _jacobian_steps(xfull, np.concatenate([space.hi, np.full(nz, 10.0)])))
            else:
                J = _jacobian(resid_x, xfull.copy(), np.concatenate([space.lo, np.full(nz, -10.0)]),
                              np.concatenate([space.hi, np.full(nz, 10.0)]))
            prob.shift = xfull[p_n:] * sig0 if nz else None
        with _blas_limit(*J.shape):
            sv = np.linalg.svd(J, compute_uv=False)
        cond = float(sv[0] / sv[-1]) if sv[-1] > 0 else float("inf")
    except (np.linalg.LinAlgError, ValueError):
        cond = float("inf")

    at_bound = []
    for j, name in enumerate(vary):
        par = res.params[space.key(j)]
        span = par.max - par.min
        if np.isfinite(span) and span > 0 and min(par.value - par.min, par.max - par.value) < 1e-6 * span:
            at_bound.append(name)
    corr: dict[str, dict[str, float]] = {}
    for j, name in enumerate(vary):
        c = res.params[space.key(j)].correl or {}
        corr[name] = {(k[6:] if k.startswith("log10_") else k): float(v) for k, v in c.items()}
    degenerate = sorted({tuple(sorted((a, b))) for a, row in corr.items() for b, c in row.items()
                         if abs(c) > CORR_LIMIT})
    reasons = []
    if not res.success:
        reasons.append(f"optimiser did not converge ({res.message})")
    if not res.errorbars or any(stderr[n] is None for n in vary):
        reasons.append("covariance not available: parameters not identifiable from these data (ill-conditioned)")
    if cond is not None and cond > COND_LIMIT:
        reasons.append(f"ill-conditioned: Jacobian condition number {cond:.2g} > {COND_LIMIT:.0g}")
    if degenerate:
        reasons.append("ill-conditioned: degenerate parameter pair(s) " +
                       ", ".join(f"{a}/{b}" for a, b in degenerate))
    if at_bound:
        reasons.append(f"parameter(s) at a bound: {', '.join(at_bound)}")
    loose = [n for j, n in enumerate(vary) if space.log[j] and ex[j] is not None and ex[j] > LOG_LIMIT]
    if loose:
        reasons.append(f"poorly determined (stderr over a factor 10^{LOG_LIMIT:.1f}): {', '.join(loose)}")
    warn = []
    dof = max(npts - p_n, 1)
    redchi_v = float(res.chisqr) / dof
    lo_q, hi_q = _redchi_band(dof)
    if redchi_v > REDCHI_FAIL or redchi_v < 1.0 / REDCHI_FAIL:
        reasons.append(f"reduced chi-square {redchi_v:.3g} far from 1: the model or the noise model "
                       f"({prob.noise_model}) is inadequate")
    elif not lo_q <= redchi_v <= hi_q:
        warn.append(f"reduced chi-square {redchi_v:.3g} outside the 99.9 % band [{lo_q:.3g}, {hi_q:.3g}] "
                    f"for {dof} degrees of freedom: check the model or the noise model ({prob.noise_model})")
    no_signal = _no_signal(prob, float(res.chisqr), p_n)
    if no_signal:
        reasons.append(no_signal)
    converged = not reasons
    status = "converged" if converged else "; ".join(reasons)
    if warn:
        status += "; warning: " + "; ".join(warn)
    notes = [n for n in (stochastic_note, prob.initial_note) if n]

    unit = prob.unit
    grids = _Grids(data, unit, prediction=pred_full, residuals=resid_full, observed=prob.g, fit_mask=prob.fitm)
    return FitResult(
        model=fitted,
        values=values,
        stderr=stderr,
        units={n: declared[n].unit for n in declared},
        varied=vary,
        rmse=rmse,
        rmse_unit=unit,
        chisqr=float(res.chisqr),
        redchi=float(res.redchi),
        aic=float(res.aic),
        bic=float(res.bic),
        ndata=npts + nz,
        nfev=nfev_total,
        converged=converged,
        status=status,
        correlations=corr,
        residuals=None,  # the (trace, pulse) DataArrays: built from grids when first read
        prediction=None,
        sigma=float(np.mean(prob.sig[prob.fitm])),
        method=(method if loss == "linear" else f"{method} ({loss} loss)") + "".join(f"; {n}" for n in notes),
        data_source=str(data.attrs.get("source", "")),
        lmfit_result=res,
        holdout=hold_info,
        validity=data_validity(data, _conductance_for_validity(prob), model.amplitude_unit,
                               v_read=None if (prob.normalised or not prob.read_obs) else prob.vr,
                               normalised=prob.normalised),
        condition=cond,
        n_starts=len(points),
        start_chisqr=start_chi,
        normalised=prob.normalised,
        elapsed=time.perf_counter() - t0,
        sigma_trace=prob.sig_trace,
        observable=prob.obs,
        noise_model=prob.noise_model,
        space="log" if prob.log else "linear",
        warnings=warn,
        grids=grids,
    )
