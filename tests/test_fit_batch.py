"""Batch fitting of many independent devices: vectorised LM, block-sparse least_squares, dask."""

import numpy as np
import pytest

from devicelib import get_model
from devicelib.fit.batch import batch_summary, fit_batch
from devicelib.measurement import make_measurement


def population(n, npulse=120, noise=0.01, seed=0):
    rng = np.random.default_rng(seed)
    truth = {"w_min": -1 + 0.1 * rng.standard_normal(n), "w_max": 1 + 0.1 * rng.standard_normal(n),
             "dw_min": 0.03 * np.exp(0.2 * rng.standard_normal(n)), "up_down": 0.2 + 0.05 * rng.standard_normal(n)}
    m = get_model("baseline.soft_bounds").with_params(**truth)
    d = np.r_[np.ones(npulse // 2), -np.ones(npulse // 2)]
    D = np.tile(d, (n, 1))
    D[:, 0] = 0
    w = m.weight_trace(np.full(n, -0.8), D) + noise * rng.standard_normal((n, npulse))
    ds = make_measurement(w, amplitude=np.tile(d, (n, 1)), width=1e-6, conductance_unit="", source="population")
    return ds, truth


def test_lm_batch_recovers_every_device():
    ds, truth = population(300)
    seen = []
    out = fit_batch("baseline.soft_bounds", ds, chunk=100, progress=lambda done, n: seen.append(done))
    assert seen == [100, 200, 300]
    ok = out["converged"].values
    assert ok.mean() > 0.97
    assert np.median(out["rmse"].values) == pytest.approx(0.01, rel=0.1)
    for j, name in enumerate(out["param"].values):
        err = out["value"].values[ok, j] - truth[name][ok]
        pull = err / out["stderr"].values[ok, j]
        # standard errors describe the scatter of the estimates (robust width of the pulls ~ 1)
        assert 0.6 < 1.4826 * np.median(np.abs(pull - np.median(pull))) < 1.6, name
        assert np.median(np.abs(err)) < 0.1 * np.median(np.abs(truth[name])) + 0.01, name
    s = batch_summary(out)
    assert s["devices"] == 300 and s["parameters"]["dw_min"]["unit"] == ""


def test_sparse_block_diagonal_solver_agrees_on_a_few_devices():
    ds, _ = population(4, npulse=80)
    lm = fit_batch("baseline.soft_bounds", ds, ["dw_min", "up_down"])
    sp = fit_batch("baseline.soft_bounds", ds, ["dw_min", "up_down"], method="sparse", max_iter=60)
    np.testing.assert_allclose(sp["value"].values, lm["value"].values, rtol=0.02, atol=2e-3)


def test_dask_local_cluster_same_result():
    distributed = pytest.importorskip("distributed")
    ds, _ = population(40, npulse=60)
    ref = fit_batch("baseline.soft_bounds", ds, chunk=20)
    with distributed.LocalCluster(n_workers=1, threads_per_worker=2, processes=False,
                                  dashboard_address=None) as cluster, distributed.Client(cluster):
        out = fit_batch("baseline.soft_bounds", ds.chunk({"trace": 20}))
    np.testing.assert_allclose(out["value"].values, ref["value"].values, rtol=1e-10)
    assert out["converged"].values.sum() == ref["converged"].values.sum()


def test_scattered_chunks_on_a_local_cluster_same_result():
    """client=...: chunks scattered to the workers (no data in the graph), one task per chunk."""
    distributed = pytest.importorskip("distributed")
    ds, _ = population(40, npulse=60)
    ref = fit_batch("baseline.soft_bounds", ds, chunk=20, workers=1)

    class Spy:  # records what each task is given
        def __init__(self, client):
            self.client, self.args = client, []

        def scatter(self, data, **kw):
            return self.client.scatter(data, **kw)

        def submit(self, fn, *args, **kw):
            self.args.append(args)
            return self.client.submit(fn, *args, **kw)

    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False,
                                  dashboard_address=None) as cluster, distributed.Client(cluster) as client:
        spy = Spy(client)
        out = fit_batch("baseline.soft_bounds", ds, chunk=15, client=spy)
    assert len(spy.args) == 3  # 40 devices in chunks of 15
    # each task: its chunk as one future (data already on a worker) and the fit options
    assert all(isinstance(args[0], distributed.Future) and len(args) == 2 for args in spy.args)
    np.testing.assert_allclose(out["value"].values, ref["value"].values, rtol=1e-8)
    assert out["converged"].values.sum() == ref["converged"].values.sum()


def test_thread_pool_equals_serial():
    ds, _ = population(60, npulse=80)
    serial = fit_batch("baseline.soft_bounds", ds, chunk=20, workers=1)
    threaded = fit_batch("baseline.soft_bounds", ds, chunk=20, workers=2)
    np.testing.assert_array_equal(threaded["value"].values, serial["value"].values)
