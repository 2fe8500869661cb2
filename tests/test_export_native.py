"""Native HDF5 export round trip, and every target written from a fresh fit."""

import json

import h5py
import numpy as np
import pytest

from devicelib.export import TARGETS, export, native
from devicelib.export.common import resolve_card, resolve_condition, simulate_response


@pytest.fixture(scope="module")
def fresh_fit():
    """Fit nu0 of the gap model to a simulated measurement with known truth (nu0 = 25 m/s)."""
    from devicelib import pulses as P
    from devicelib.fit import fit
    from devicelib.measurement import from_simulation
    from devicelib.simulate import simulate

    card = resolve_card("vcm.jiang2016_hfox_continuous")
    truth = card.model().with_params(nu0=25.0)
    ds = simulate(truth, P.potentiation_depression(30, 30, 1.2, -1.2, 1e-8), n_devices=1, v_read=0.1)
    meas = from_simulation(ds)
    # 1 nS read noise, the sigma the fit is told: a consistent fit (reduced chi-square ~ 1) that converges
    g = meas["conductance"].values
    meas["conductance"].values = g + 1e-9 * np.random.default_rng(5).standard_normal(g.shape)
    start = card.model().with_params(nu0=10.0)
    result = fit(start, meas, vary=["nu0"], sigma=1e-9)
    assert result.converged, result.status
    return result, meas


def test_native_round_trip(tmp_path):
    card = resolve_card("vcm.crosssim_oxide_fit")
    cond = resolve_condition(card, g_start=1.6e-3)
    resp = simulate_response(card, cond, n_pulses=30)
    r = export(card, "native", tmp_path / "dev.h5", response=resp)
    back = native.load(tmp_path / "dev.h5")
    assert back["card"].values() == card.values()
    assert back["card"].name == card.name and back["attrs"]["schema_version"] == 1
    assert back["condition"] == cond
    np.testing.assert_array_equal(back["response"]["g_nominal"], resp.g_nominal)
    assert back["fit"]["rmse"] == card.fit["rmse"]  # the card's fit record
    assert set(back["mappings"]) == {"aihwkit", "neurosim", "crosssim", "memtorch"}
    assert back["mappings"]["neurosim"] == json.loads(json.dumps(r.content["mappings"]["neurosim"]))
    with h5py.File(tmp_path / "dev.h5") as f:  # self-describing: units in attributes
        assert f["card/parameters/nu0"].attrs["units"] == "m/s"
        assert f["response/g_nominal"].attrs["units"] == "S"
        assert f["mappings/aihwkit/rmse"].attrs["units"] == "S"
        assert f.attrs["devicelib_version"] and f["condition"].attrs["width_units"] == "s"


def test_every_target_from_a_fresh_fit(tmp_path, fresh_fit):
    result, meas = fresh_fit
    assert result.values["nu0"] == pytest.approx(25.0, rel=1e-3)
    card = result.to_card("vcm.test_fresh_fit")
    cond = resolve_condition(card, amplitude=1.2, amplitude_down=-1.2, width=1e-8)
    resp = simulate_response(card, cond, n_pulses=30)
    outs = {"aihwkit": "a.json", "crosssim": "cs", "neurosim": "n.txt", "memtorch": "m.json", "native": "x.h5"}
    for to in TARGETS:
        r = export(result, to, tmp_path / outs[to], response=resp, measurement=meas if to == "native" else None,
                   name="vcm.test_fresh_fit")
        assert all(p.exists() for p in r.paths)
        assert np.isfinite(r.rmse)
    back = native.load(tmp_path / "x.h5")
    xr_meas = back["measurement"]
    np.testing.assert_array_equal(xr_meas["conductance"].values, meas["conductance"].values)
    assert xr_meas["conductance"].attrs["units"] == "S" and list(xr_meas["trace"].values) == ["device0"]
    assert back["fit"]["parameters"]["nu0"]["value"] == pytest.approx(result.values["nu0"])
    assert back["card"].kind == "fitted"


def test_native_write_is_atomic(tmp_path, monkeypatch):
    card = resolve_card("vcm.jiang2016_hfox_continuous")
    cond = resolve_condition(card, amplitude=1.2, amplitude_down=-1.2, width=1e-8)
    resp = simulate_response(card, cond, n_pulses=10)

    def boom(*a, **k):
        raise RuntimeError("mapping failed")

    monkeypatch.setattr(native, "json_default", boom)
    with pytest.raises((RuntimeError, TypeError)):
        native.write(card, cond, resp, tmp_path / "x.h5", mappings={"t": {"mapping": {"rule": "r", "rmse": {
            "value": 0.0}}, "bad": object()}})
    assert list(tmp_path.iterdir()) == []


def test_native_file_mode_follows_the_umask(tmp_path):
    """h5py writes through mkstemp (0600); the renamed file gets the mode open() would give (0644 under 022)."""
    import os

    card = resolve_card("vcm.jiang2016_hfox_continuous")
    cond = resolve_condition(card, amplitude=1.2, amplitude_down=-1.2, width=1e-8)
    resp = simulate_response(card, cond, n_pulses=10)
    old = os.umask(0o022)
    try:
        r = native.write(card, cond, resp, tmp_path / "x.h5", mappings={})
    finally:
        os.umask(old)
    assert r.paths[0].stat().st_mode & 0o777 == 0o644
    assert [p.name for p in tmp_path.iterdir()] == ["x.h5"]
