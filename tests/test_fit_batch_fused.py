"""The batch fitter's compiled residual path for the baseline rules equals its numpy path."""

import numpy as np
import pytest

from devicelib import get_model
from devicelib.fit import batch
from devicelib.fit._batch_kernels import rule_residual
from devicelib.measurement import make_measurement


def population(n, npulse, unit, seed=0):
    rng = np.random.default_rng(seed)
    truth = {"w_min": -1 + 0.1 * rng.standard_normal(n), "w_max": 1 + 0.1 * rng.standard_normal(n),
             "dw_min": 0.03 * np.exp(0.2 * rng.standard_normal(n)), "up_down": 0.2 + 0.05 * rng.standard_normal(n)}
    m = get_model("baseline.soft_bounds").with_params(**truth)
    d = np.tile(np.r_[np.ones(npulse // 2), -np.ones(npulse - npulse // 2)], (n, 1))
    d[:, 0] = 0
    w = m.weight_trace(np.full(n, -0.8), d) + 0.01 * rng.standard_normal((n, npulse))
    w[3, -25:] = np.nan  # a shorter trace, padded
    g = w if unit == "" else 2e-5 + 1e-5 * w  # conductance in S: g_offset + g_ref w
    return make_measurement(g, amplitude=d, width=1e-6, conductance_unit=unit, source="synthetic")


@pytest.mark.parametrize("unit, initial", [("", "fit"), ("", "first"), ("S", "fit")])
def test_compiled_residuals_equal_the_numpy_path(monkeypatch, unit, initial):
    ds = population(40, 150, unit)
    model = get_model("baseline.soft_bounds")
    if unit == "S":
        model = model.with_params(g_ref=1e-5, g_offset=2e-5)
    fused = batch.fit_batch(model, ds, chunk=16, initial=initial, workers=1, v_read=0.1)
    monkeypatch.setattr(batch, "_fused_rule", lambda m: False)
    ref = batch.fit_batch(model, ds, chunk=16, initial=initial, workers=1, v_read=0.1)
    assert fused["converged"].values.mean() > 0.9
    for k in ("value", "stderr", "rmse", "chisqr", "nfev", "condition"):
        np.testing.assert_allclose(fused[k].values, ref[k].values, rtol=1e-12, atol=0, err_msg=k)
    np.testing.assert_array_equal(fused["converged"].values, ref["converged"].values)


def test_block_uses_the_compiled_path_only_for_the_baseline_rules():
    assert batch._fused_rule(get_model("baseline.soft_bounds"))
    assert batch._fused_rule(get_model("baseline.piecewise_step"))
    assert not batch._fused_rule(get_model("vcm.stanford_pku"))


@pytest.mark.parametrize("name", ["baseline.soft_bounds", "baseline.linear_step", "baseline.power_step",
                                  "baseline.constant_step", "baseline.exponential"])
def test_kernel_weights_equal_the_rule(name):
    # with G = w, no target and unit weights the kernel's residual is the weight trace itself: the
    # LINEAR rule's hoisted loop and step_rule (every other kind) agree bit for bit with weight_trace
    rng = np.random.default_rng(1)
    n, N = 30, 300
    m = get_model(name)
    if "up_down" in m.params:
        m = m.with_params(up_down=rng.uniform(-0.5, 0.5, n))
    d = rng.choice([-1.0, 0.0, 1.0], size=(n, N))
    w0 = rng.uniform(-0.9, 0.9, n)
    ref = m.weight_trace(w0, d)
    one, zero = np.ones(n), np.zeros(n)
    out = np.empty((n, N))
    rule_residual(m._kind, m._matrix(n), m._n_nodes, w0, d, zero, one, zero, one, False, np.zeros((n, N)),
                  np.ones((n, N)), out, one, False, out)
    np.testing.assert_array_equal(out, ref)


def test_threads_equal_serial_with_the_compiled_path():
    ds = population(48, 120, "")
    serial = batch.fit_batch("baseline.soft_bounds", ds, chunk=12, workers=1)
    threaded = batch.fit_batch("baseline.soft_bounds", ds, chunk=12, workers=2)
    for k in ("value", "stderr", "rmse", "nfev"):
        np.testing.assert_array_equal(threaded[k].values, serial[k].values)


def test_vectorised_nanmedian_equals_numpy():
    rng = np.random.default_rng(2)
    a = rng.standard_normal((50, 700))
    np.testing.assert_array_equal(batch._nanmedian_rows(a), np.nanmedian(a, axis=-1))
    a[::3, -rng.integers(1, 600):] = np.nan  # trailing padding, odd and even counts
    a[5, 100] = np.nan
    a[7] = np.nan  # nothing finite: NaN as numpy (which warns)
    with np.errstate(all="ignore"), pytest.warns(RuntimeWarning):
        expect = np.nanmedian(a, axis=-1)
    np.testing.assert_array_equal(batch._nanmedian_rows(a), expect)


def test_scattered_chunks_send_shared_pulse_conditions_as_one_row():
    distributed = pytest.importorskip("distributed")
    ds = population(30, 80, "")
    w = ds["width"].values.copy()
    w[2, 10] = 2e-6  # the first chunk's widths differ between devices: they travel whole
    ds["width"].values[:] = w
    ref = batch.fit_batch("baseline.soft_bounds", ds, chunk=15, workers=1)
    shapes = []

    class Spy:
        def __init__(self, client):
            self.client = client

        def scatter(self, data, **kw):
            [chunk] = data  # a chunk travels as one object (to one worker)
            shapes.append([x.shape for x in chunk])
            return self.client.scatter(data, **kw)

        def submit(self, *a, **kw):
            return self.client.submit(*a, **kw)

    with distributed.LocalCluster(n_workers=1, threads_per_worker=2, processes=False,
                                  dashboard_address=None) as cluster, distributed.Client(cluster) as client:
        out = batch.fit_batch("baseline.soft_bounds", ds, chunk=15, client=Spy(client))
    # conductance, amplitude, width, interval, temperature and the trace labels of each chunk
    assert shapes == [[(15, 80), (1, 80), (15, 80), (1, 80), (1, 80), (15,)],
                      [(15, 80), (1, 80), (1, 80), (1, 80), (1, 80), (15,)]]
    for k in ("value", "stderr", "nfev"):
        np.testing.assert_array_equal(out[k].values, ref[k].values)
