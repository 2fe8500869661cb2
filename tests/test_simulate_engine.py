"""The fused simulate engine (devicelib.engine) against the per-pulse reference path, and the recording modes."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from devicelib import engine as E
from devicelib import get_model
from devicelib.physics.baselines import SoftBounds
from devicelib.pulses import PulseTrain
from devicelib.simulate import simulate
from devicelib.variability import Variability

BASELINES = ["baseline.constant_step", "baseline.soft_bounds", "baseline.linear_step", "baseline.exponential",
             "baseline.power_step", "baseline.piecewise_step"]


def _train(n_up=30, n_down=25, amp=1.0, width=1e-7, seed=0):
    """Bipolar train with interleaved reads (zero amplitude) and zero-width entries."""
    rng = np.random.default_rng(seed)
    a = np.r_[np.full(n_up, amp), np.full(n_down, -amp), rng.choice([-amp, 0.0, amp], 40)]
    a = a * rng.uniform(0.8, 1.2, a.size)
    w = np.full(a.size, width) * rng.uniform(0.5, 2.0, a.size)
    w[::17] = 0.0
    return PulseTrain(amplitude=a, width=w, interval=np.zeros(a.size), temperature=np.full(a.size, 300.0))


def _close(a, b, rtol=1e-12):
    a, b = np.asarray(a, float), np.asarray(b, float)
    scale = np.maximum(np.abs(b), 1e-300)
    assert np.all(np.abs(a - b) <= rtol * scale + 1e-300), float(np.max(np.abs(a - b) / scale))


@pytest.mark.parametrize("name", BASELINES)
@pytest.mark.parametrize("d2d", [False, True])
def test_baselines_fused_equal_reference(name, d2d):
    model = get_model(name)
    if "dw_min" in model.params:
        model = model.with_params(dw_min=0.04, up_down=0.2)
    var = Variability(d2d={"w_max": 0.2, "w_min": 0.1}) if d2d else None
    train = _train()
    kw = {"n_devices": 37, "variability": var, "seed": 3}
    fused = simulate(model, train, engine="fused", **kw)
    ref = simulate(model, train, engine="reference", **kw)
    assert fused.attrs["engine"] == "fused" and ref.attrs["engine"] == "reference"
    assert fused["conductance"].dims == ("device", "pulse")
    for v in ("conductance", "w", "energy", "conductance_initial"):
        _close(fused[v].values, ref[v].values)
    # the weights really move (a test that cannot fail is a defect)
    assert np.ptp(ref["w"].values) > 0.1


@pytest.mark.parametrize("d2d", [False, True])
def test_fefet_nls_fused_equal_reference(d2d):
    model = get_model("fefet.nls")
    var = Variability(d2d={"Ea": 0.05, "w": 0.1}) if d2d else None
    train = _train(amp=3.0, width=1e-6)
    kw = {"n_devices": 29, "variability": var, "seed": 5}
    fused = simulate(model, train, engine="fused", **kw)
    ref = simulate(model, train, engine="reference", **kw)
    for v in ("conductance", "polarization", "energy"):
        _close(fused[v].values, ref[v].values)
    pol = ref["polarization"].values
    assert pol.min() < -0.1 and pol.max() > 0.1  # switched both ways
    on = (train.width > 0) & (train.amplitude != 0)
    assert np.all(ref["energy"].values[:, on] > 0) and np.all(ref["energy"].values[:, ~on] == 0)


def test_parallel_kernel_equals_serial(monkeypatch):
    model = get_model("baseline.soft_bounds", dw_min=0.03, up_down=-0.1)
    train = _train()
    var = Variability(c2c=0.3, read=0.01, d2d={"w_max": 0.1})
    serial = simulate(model, train, n_devices=1500, variability=var, seed=11)
    monkeypatch.setattr(E, "SERIAL_BELOW", 0)
    assert E.blocks_for(1500) > 1
    par = simulate(model, train, n_devices=1500, variability=var, seed=11)
    # counter-based noise: the same draws whatever the number of blocks and threads
    np.testing.assert_array_equal(par["conductance"].values, serial["conductance"].values)


@pytest.mark.parametrize("name", ["baseline.soft_bounds", "fefet.nls"])
def test_noisy_fused_equal_in_distribution(name):
    model = get_model(name)
    amp = 3.0 if name == "fefet.nls" else 1.0
    train = _train(amp=amp, width=1e-6 if name == "fefet.nls" else 1e-7)
    var = Variability(c2c=0.4, c2c_abs=0.002, read=0.02)
    kw = {"n_devices": 3000, "variability": var}
    fused = simulate(model, train, engine="fused", seed=1, **kw)
    ref = simulate(model, train, engine="reference", seed=2, **kw)
    again = simulate(model, train, engine="fused", seed=1, **kw)
    np.testing.assert_array_equal(fused["conductance"].values, again["conductance"].values)
    for k in (10, 54, train.amplitude.size - 1):
        a, b = fused["conductance"].values[:, k], ref["conductance"].values[:, k]
        assert stats.ks_2samp(a, b).pvalue > 1e-4, k
        assert np.std(a) > 0  # noise is there
    quiet = simulate(model, train, engine="fused", seed=1, n_devices=3000)
    assert np.ptp(quiet["conductance"].values[:, -1]) == 0


def test_recording_modes_match_full_history(tmp_path):
    model = get_model("fefet.nls")
    train = _train(amp=3.0, width=1e-6)
    var = Variability(d2d={"Ea": 0.05})
    kw = {"n_devices": 41, "variability": var, "seed": 7}
    full = simulate(model, train, **kw)
    npulse = train.amplitude.size
    every = simulate(model, train, record=4, **kw)
    np.testing.assert_array_equal(every["pulse"].values, np.arange(3, npulse, 4))
    np.testing.assert_array_equal(every["conductance"].values, full["conductance"].values[:, 3::4])
    np.testing.assert_array_equal(every["amplitude"].values, train.amplitude[3::4])
    sel = simulate(model, train, record=[5, 0, -1], **kw)
    np.testing.assert_array_equal(sel["pulse"].values, [0, 5, npulse - 1])
    np.testing.assert_array_equal(sel["energy"].values, full["energy"].values[:, [0, 5, npulse - 1]])
    summ = simulate(model, train, record="summary", **kw)
    for v in ("conductance", "energy", "polarization"):
        x = full[v].values
        for s, f in zip(("mean", "std", "min", "max"), (np.mean, np.std, np.min, np.max), strict=True):
            np.testing.assert_allclose(summ[v].sel(statistic=s).values, f(x, axis=0), rtol=1e-9,
                                       atol=1e-12 * np.abs(x).max())
    np.testing.assert_array_equal(summ["conductance_final"].values, full["conductance"].values[:, -1])
    f32 = simulate(model, train, dtype="float32", **kw)
    assert f32["conductance"].dtype == np.float32
    np.testing.assert_array_equal(f32["conductance"].values, full["conductance"].values.astype(np.float32))
    lean = simulate(model, train, record_state=False, **kw)
    assert "polarization" not in lean
    # streamed to HDF5 in blocks (force blocks of 3 pulses)
    path = tmp_path / "run.nc"
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr("devicelib.simulate._Recorder.block_bytes", 3 * 41 * 8)
        streamed = simulate(model, train, out=path, record=2, **kw)
        ref_streamed = simulate(model, train, out=tmp_path / "ref.nc", engine="reference", **kw)
    assert streamed["conductance"].dims == ("device", "pulse")
    # (each block starts by recovering the NLS reduced time from P: equal to rounding, not bit for bit)
    _close(streamed["conductance"].values, full["conductance"].values[:, 1::2])
    _close(streamed["polarization"].values, full["polarization"].values[:, 1::2])
    _close(ref_streamed["energy"].values, full["energy"].values)
    assert not list(tmp_path.glob(".*.tmp"))
    streamed.close()
    ref_streamed.close()


def test_reference_path_records_too():
    model = get_model("fefet.multidomain")  # no fused kernel
    train = _train(amp=3.0, width=1e-6)
    full = simulate(model, train, n_devices=5, seed=1)
    assert full.attrs["engine"] == "reference"
    every = simulate(model, train, n_devices=5, seed=1, record=3)
    np.testing.assert_array_equal(every["conductance"].values, full["conductance"].values[:, 2::3])
    summ = simulate(model, train, n_devices=5, seed=1, record="summary")
    np.testing.assert_allclose(summ["conductance"].sel(statistic="mean").values,
                               full["conductance"].values.mean(axis=0), rtol=1e-12)


def test_baseline_energy_is_a_zero_view_and_subclass_falls_back(tmp_path):
    model = get_model("baseline.soft_bounds")
    ds = simulate(model, _train(), n_devices=4)
    assert not ds["energy"].values.any()
    disk = simulate(model, _train(), n_devices=4, out=tmp_path / "b.nc")  # never written: reads as zeros
    np.testing.assert_array_equal(disk["energy"].values, np.zeros((4, _train().amplitude.size)))
    np.testing.assert_array_equal(disk["w"].values, ds["w"].values)
    disk.close()

    class Custom(SoftBounds):
        def apply_pulse(self, state, amplitude, width, temperature):
            return {"w": np.asarray(state["w"]) + 0.0}

    assert simulate(Custom(), _train(), n_devices=2).attrs["engine"] == "reference"


def test_bad_arguments():
    model = get_model("baseline.soft_bounds")
    train = _train()
    with pytest.raises(ValueError, match="record"):
        simulate(model, train, record="some")
    with pytest.raises(ValueError, match="interval"):
        simulate(model, train, record=0)
    with pytest.raises(ValueError, match="indices"):
        simulate(model, train, record=[1000])
    with pytest.raises(ValueError, match="dtype"):
        simulate(model, train, dtype="int32")
    with pytest.raises(ValueError, match="summary"):
        simulate(model, train, record="summary", out="x.nc")
    with pytest.raises(ValueError, match="no fused kernel"):
        simulate(get_model("fefet.multidomain"), _train(amp=3.0), engine="fused")


def test_zero_noise_scales_draw_nothing():
    """A zero d2d entry draws no numbers (the other entries get the same draws as without it)."""
    model = get_model("baseline.soft_bounds")
    a = Variability(d2d={"dw_min": 0.2}).sample_devices(model, 50, np.random.default_rng(4))
    b = Variability(d2d={"w_max": 0.0, "dw_min": 0.2}).sample_devices(model, 50, np.random.default_rng(4))
    np.testing.assert_array_equal(a.params["dw_min"], b.params["dw_min"])
    assert np.ndim(b.params["w_max"]) == 0
    # reference path: c2c = 0 with c2c_abs > 0 draws one normal per device and pulse, not two
    rng = np.random.default_rng(9)
    st = model.initial_state(6)
    new = model.apply_pulse(st, 1.0, 1e-7, 300.0)
    out = model.perturb_step(st, new, 0.0, 0.01, rng)
    xi = np.random.default_rng(9).standard_normal(6)
    np.testing.assert_allclose(out["w"], np.clip(new["w"] + 0.01 * xi, -1.0, 1.0), rtol=1e-14)


def test_summary_over_blocks_and_chunks(monkeypatch):
    """Statistics merged over several blocks (threads) and chunks equal numpy's over the full history."""
    monkeypatch.setattr(E, "SERIAL_BELOW", 0)
    model = get_model("baseline.soft_bounds", dw_min=0.02)
    train = _train()
    kw = {"n_devices": 1500, "variability": Variability(d2d={"w_max": 0.3, "dw_min": 0.3}), "seed": 2}
    assert E.blocks_for(1500) > 1 and 1500 // E.blocks_for(1500) > E.CHUNK
    full = simulate(model, train, **kw)
    summ = simulate(model, train, record="summary", **kw)
    for v in ("conductance", "w"):
        x = full[v].values
        for s, f in zip(("mean", "std", "min", "max"), (np.mean, np.std, np.min, np.max), strict=True):
            np.testing.assert_allclose(summ[v].sel(statistic=s).values, f(x, axis=0), rtol=1e-9,
                                       atol=1e-12 * np.abs(x).max())
