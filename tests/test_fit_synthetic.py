"""devicelib.fit.synthetic: the documented synthetic population (bench_fit_batch.py, test_fit_batch_dask.py)."""

import numpy as np
import pytest

from devicelib import get_model
from devicelib.fit.batch import fit_batch
from devicelib.fit.synthetic import soft_bounds_population


def test_population_is_the_soft_bounds_rule_with_its_stated_spread():
    data, truth = soft_bounds_population(2000, 40, noise=0.0, seed=4)
    w = data["conductance"].values
    assert w.shape == (2000, 40) and data["amplitude"].values[0, 0] == 1.0
    assert np.all(w[:, 0] == -0.8)  # the start state, no pulse
    # noiseless: device 7's trace is the rule's, from -0.8, with its own parameters
    m = get_model("baseline.soft_bounds").with_params(**{k: v[7] for k, v in truth.items()})
    d = np.r_[np.zeros(1), np.ones(19), -np.ones(20)][None, :]
    np.testing.assert_allclose(w[7], m.weight_trace(np.array([-0.8]), d)[0], rtol=0, atol=1e-15)
    # the spread of the module docstring (2000 devices: means within ~4 standard errors)
    assert np.mean(truth["w_min"]) == pytest.approx(-1.0, abs=0.01)
    assert np.std(truth["w_max"]) == pytest.approx(0.1, rel=0.07)
    assert np.median(truth["dw_min"]) == pytest.approx(0.03, rel=0.03)
    assert np.std(np.log(truth["dw_min"])) == pytest.approx(0.2, rel=0.07)
    assert np.mean(truth["up_down"]) == pytest.approx(0.2, abs=0.005)
    # seeded: the same seed, the same population; read noise of the stated size
    noisy, t2 = soft_bounds_population(2000, 40, seed=4)
    assert all(np.array_equal(truth[k], t2[k]) for k in truth)
    assert np.std(noisy["conductance"].values - w) == pytest.approx(0.01, rel=0.02)
    with pytest.raises(ValueError, match="npulse >= 2"):
        soft_bounds_population(3, 1)


def test_population_fitted_back_to_its_truth():
    data, truth = soft_bounds_population(60, 200, seed=2)
    out = fit_batch("baseline.soft_bounds", data, chunk=60, workers=1)
    ok = out["converged"].values
    assert ok.mean() > 0.95
    for j, name in enumerate(out["param"].values):
        err = out["value"].values[ok, j] - truth[str(name)][ok]
        assert np.median(np.abs(err)) < 0.1 * np.median(np.abs(truth[str(name)])) + 0.01, name
