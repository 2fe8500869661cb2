"""The fit command's read-only measurement (devicelib._lightds) against the xarray one it stands in for."""

import numpy as np
import pytest
import xarray as xr

from devicelib._lightds import LightDataset, LightVariable
from devicelib.fit import fit
from devicelib.measurement import make_measurement


def _pair(**kw):
    g = np.array([[0.0, 0.1, 0.2, 0.25, 0.3, 0.32, 0.2, 0.1, 0.05, 0.0]])
    amp = np.r_[np.ones(5), -np.ones(5)][None, :]
    args = dict(amplitude=amp, width=1e-6, source="synthetic", conductance_unit="", trace_labels=["t0"], **kw)
    return make_measurement(g, **args), make_measurement(g, _light=True, **args)


def test_light_measurement_equals_the_xarray_one():
    real, light = _pair(v_read=0.1)
    assert isinstance(real, xr.Dataset) and isinstance(light, LightDataset)
    xr.testing.assert_identical(light.to_xarray(), real)
    assert light.attrs == real.attrs and dict(light.sizes) == dict(real.sizes) and set(light) == set(real.data_vars)
    for name in ("conductance", "amplitude", "width", "interval", "temperature", "trace", "pulse"):
        assert name in light
        v, w = light[name], real[name]
        assert v.dims == w.dims and v.shape == w.shape and v.attrs == w.attrs and v.sizes == dict(w.sizes)
        np.testing.assert_array_equal(v.values, w.values)
        assert v.values.dtype == w.values.dtype
        np.testing.assert_array_equal(np.asarray(v), np.asarray(w))
    # anything else is xarray's, on the equivalent Dataset built once
    assert light.isel(pulse=slice(0, 3)).sizes["pulse"] == 3
    assert float(light["conductance"].sel(trace="t0").max()) == pytest.approx(0.32)
    assert light.to_xarray() is light.to_xarray()


def test_fit_on_a_light_measurement_gives_the_same_result_and_xarray_results_on_demand():
    rng = np.random.default_rng(3)
    w = np.zeros(400)
    dw, up_down = 0.01, -0.2
    for k in range(1, 400):  # soft-bounds rule with bounds -1 and 1
        d = (1 + up_down) * dw * (1 - w[k - 1]) if k < 200 else -(1 - up_down) * dw * (1 + w[k - 1])
        w[k] = w[k - 1] + d
    g = (w + rng.normal(0, 0.01, w.size))[None, :]
    amp = np.r_[np.ones(200), -np.ones(200)][None, :]
    args = dict(amplitude=amp, width=1e-6, source="synthetic", conductance_unit="")
    real, light = make_measurement(g, **args), make_measurement(g, _light=True, **args)
    a, b = fit("baseline.soft_bounds", real), fit("baseline.soft_bounds", light)
    assert a.values == b.values and a.stderr == b.stderr and a.status == b.status and a.nfev == b.nfev
    assert a.summary().replace(f"{a.elapsed:.3g}", "") == b.summary().replace(f"{b.elapsed:.3g}", "")
    assert isinstance(b.residuals, LightVariable)
    for name in ("residuals", "prediction", "observed", "fit_mask"):
        x, y = getattr(a, name), getattr(b, name)
        np.testing.assert_array_equal(x.values, y.values)
        xr.testing.assert_identical(y.to_xarray(), x)
    assert float(b.residuals.sel(pulse=5, trace="trace0")) == float(a.residuals.sel(pulse=5, trace="trace0"))
