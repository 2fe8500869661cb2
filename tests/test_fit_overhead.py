"""The fit's cheaper set-up: the noise estimate's median is numpy's; the result's DataArrays built on first
read equal the fit's arrays."""

import dataclasses
import pickle

import numpy as np
import pytest

import devicelib.fit.core as core
from devicelib import get_model
from devicelib.fit import fit
from devicelib.fit.noise import _median
from devicelib.measurement import make_measurement


def _synthetic(name, n=150, seed=1, **truth):
    m = get_model(name, **truth)
    d = np.tile(np.r_[np.ones(n), -np.ones(n)], (2, 1))
    w = m.weight_trace(np.array([-0.8, -0.6]), d)
    w = w + 0.01 * np.random.default_rng(seed).standard_normal(w.shape)
    return make_measurement(w, amplitude=d, width=1e-6, conductance_unit="", source="synthetic")


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
