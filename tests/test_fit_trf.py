"""The fit's lean trust-region iteration (devicelib.fit._trf) is scipy's bit for bit; the noise estimate's
median is numpy's; the result's DataArrays built on first read equal the fit's arrays."""

import dataclasses
import pickle

import numpy as np
import pytest
from scipy.optimize._lsq.trf import trf

import devicelib.fit.core as core
from devicelib import get_model
from devicelib.fit import _trf, fit
from devicelib.fit.noise import _median
from devicelib.measurement import make_measurement


def _scipy(fun, jac, x0, lb, ub, max_nfev=2000):
    f0, J0 = fun(x0), jac(x0)
    r = trf(fun, jac, x0, f0, J0, lb, ub, 1e-8, 1e-8, 1e-8, max_nfev, np.ones(x0.size), None, "exact", {}, 0)
    return r.x, r.fun, r.jac, r.nfev, r.njev, r.status


def _lean(fun, jac, x0, lb, ub, max_nfev=2000):
    return _trf.trf_bounds(fun, jac, x0, fun(x0), jac(x0), lb, ub, 1e-8, 1e-8, 1e-8, max_nfev)


def _decay_problem(seed):
    """y = a exp(-t / tau) + c with noise; the Jacobian analytic (exact); bounds that the optimum may touch."""
    rng = np.random.default_rng(seed)
    t = np.linspace(0, 5, 400)
    y = 2.0 * np.exp(-t / 0.7) + 0.3 + 0.05 * rng.standard_normal(t.size)

    def fun(x):
        return x[0] * np.exp(-t / x[1]) + x[2] - y

    def jac(x):
        e = np.exp(-t / x[1])
        return np.column_stack([e, x[0] * e * t / x[1] ** 2, np.ones_like(t)])
    return fun, jac


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("case", ["interior", "active upper bound", "start on a bound", "few evaluations"])
def test_trf_bounds_equals_scipy(seed, case):
    fun, jac = _decay_problem(seed)
    lb, ub = np.array([0.0, 0.05, -1.0]), np.array([10.0, 5.0, 1.0])
    x0, nfev = np.array([1.0, 2.0, 0.0]), 2000
    if case == "active upper bound":
        ub = np.array([1.5, 5.0, 1.0])  # a = 2 is outside: the fit ends on the bound (reflective steps)
    elif case == "start on a bound":
        x0 = np.array([1.0, 5.0 - 1e-12, -1.0 + 1e-12])
    elif case == "few evaluations":
        nfev = 4
    a, b = _scipy(fun, jac, x0, lb, ub, nfev), _lean(fun, jac, x0, lb, ub, nfev)
    for u, v in zip(a, b, strict=True):
        np.testing.assert_array_equal(u, v)
    if case == "active upper bound":
        assert a[0][0] == pytest.approx(1.5)


def _synthetic(name, n=150, seed=1, **truth):
    m = get_model(name, **truth)
    d = np.tile(np.r_[np.ones(n), -np.ones(n)], (2, 1))
    w = m.weight_trace(np.array([-0.8, -0.6]), d)
    w = w + 0.01 * np.random.default_rng(seed).standard_normal(w.shape)
    return make_measurement(w, amplitude=d, width=1e-6, conductance_unit="", source="synthetic")


@pytest.mark.parametrize("name", ["baseline.soft_bounds", "baseline.power_step", "baseline.exponential",
                                  "baseline.constant_step"])
def test_fits_identical_with_scipys_trf(name, monkeypatch):
    """Whole fits through the lean iteration and through scipy's own trf: the same values, errors, evaluations."""
    data = _synthetic(name)
    a = fit(name, data)
    monkeypatch.setattr(_trf, "MAX_PARAMS", 0)  # every fit through scipy's trf
    b = fit(name, data)
    assert a.values == b.values and a.stderr == b.stderr
    assert (a.nfev, a.chisqr, a.condition, a.status) == (b.nfev, b.chisqr, b.condition, b.status)
    assert a.correlations == b.correlations


def test_median_is_numpys():
    rng = np.random.default_rng(0)
    for n in [*range(1, 40), 1999, 2000]:
        for a in (rng.standard_normal(n), rng.integers(-2, 3, n) * 1.0, np.where(rng.random(n) < 0.5, -0.0, 0.0)):
            m, ref = _median(a), float(np.median(a))
            assert m == ref and np.signbit(m) == np.signbit(ref)
    assert np.isnan(_median(np.array([1.0, np.nan, 0.0])))


def test_result_arrays_built_on_first_read():
    data = _synthetic("baseline.soft_bounds")
    r = fit("baseline.soft_bounds", data)
    assert r.__dict__["_prediction"] is None  # not built by the fit
    pred, res = r.prediction, r.residuals
    assert pred.dims == res.dims == ("trace", "pulse") and pred.attrs == {"units": ""}
    np.testing.assert_array_equal(r.observed.values, data["conductance"].values)
    np.testing.assert_array_equal(res.values, np.where(r.fit_mask.values, pred.values - r.observed.values,
                                                       np.nan))
    assert list(pred["trace"].values) == list(data["trace"].values) and r.fit_mask.dtype == bool
    assert np.sqrt(np.nanmean(res.values**2)) == pytest.approx(r.rmse)
    assert r.prediction is pred  # built once
    r2 = pickle.loads(pickle.dumps(fit("baseline.soft_bounds", data)))
    np.testing.assert_array_equal(r2.prediction.values, pred.values)
    r3 = dataclasses.replace(r, converged=False)
    assert r3.residuals is res and not r3.converged
    assert core.FitResult.residuals.__doc__.startswith("residuals")
