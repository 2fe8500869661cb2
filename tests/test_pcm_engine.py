"""The fused PCM kernel (devicelib.physics.pcm_kernel) against the per-pulse reference path."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from devicelib import engine as E
from devicelib import get_model
from devicelib.physics import pcm_kernel as K
from devicelib.pulses import PulseTrain
from devicelib.simulate import simulate
from devicelib.variability import Variability

STATES = K.STATES


def _train(n=60, seed=0, i_melt=304e-6):
    """RESET (1.05 I_melt) every 20th pulse, gradual SET (0.6 I_melt) between, amplitudes +-3 %; a read-only entry, a
    zero-width entry, relaxations of 100 s (drift past t0 = 20 s) and 1000 s, three pulses at 330 K."""
    rng = np.random.default_rng(seed)
    a = np.where(np.arange(n) % 20 == 0, 1.05, 0.6) * i_melt * rng.uniform(0.97, 1.03, n)
    a[7] = 0.0
    w = np.full(n, 5e-8)
    w[11] = 0.0
    iv = np.zeros(n)
    iv[25:30] = 100.0
    iv[40] = 1e3
    t = np.full(n, 300.0)
    t[26:29] = 330.0
    return PulseTrain(amplitude=a, width=w, interval=iv, temperature=t, amplitude_unit="A")


def _close(a, b, rtol=1e-12):
    a, b = np.asarray(a, float), np.asarray(b, float)
    scale = np.maximum(np.abs(b), 1e-300)
    assert np.all(np.abs(a - b) <= rtol * scale + 1e-300), float(np.max(np.abs(a - b) / scale))


@pytest.mark.parametrize("name", ["pcm.sebastian2014_gst", "pcm.zarcone2020_partial_reset_fit"])
@pytest.mark.parametrize(("d2d", "v_read"), [(False, 0.1), (False, 0.0), (True, 0.2)])
def test_pcm_fused_equal_reference(name, d2d, v_read):
    model = get_model(name)
    var = Variability(d2d={"R_th": 0.02, "N_T": 0.1}) if d2d else None
    train = _train(i_melt=float(model.melt_current(300.0)))
    kw = {"n_devices": 37, "variability": var, "seed": 3, "v_read": v_read}
    fused = simulate(model, train, engine="fused", **kw)
    ref = simulate(model, train, engine="reference", **kw)
    assert fused.attrs["engine"] == "fused" and ref.attrs["engine"] == "reference"
    for v in ("conductance", "energy", "conductance_initial", *STATES):
        _close(fused[v].values, ref[v].values)
    u, g = ref["amorphous_thickness"].values, ref["conductance"].values
    assert np.ptp(u[0]) > 10e-9 and np.ptp(np.log(g[0])) > 1.0  # RESETs and SET steps really happen
    assert np.all(ref["t_prog"].values[:, 29] > 20.0)  # the reads at 25..29 drift
    assert np.all(ref["ambient_temperature"].values[:, 27] == 330.0)


def test_pcm_recording_modes_and_parallel_blocks(tmp_path, monkeypatch):
    model = get_model("pcm.sebastian2014_gst")
    train = _train()
    kw = {"n_devices": 31, "variability": Variability(d2d={"R_th": 0.02}), "seed": 8}
    ref = simulate(model, train, engine="reference", **kw)
    npulse = train.amplitude.size
    every = simulate(model, train, record=3, **kw)
    assert every.attrs["engine"] == "fused"
    np.testing.assert_array_equal(every["pulse"].values, np.arange(2, npulse, 3))
    for v in ("conductance", "energy", *STATES):
        _close(every[v].values, ref[v].values[:, 2::3])
    sel = simulate(model, train, record=[7, 0, -1], record_state=False, **kw)
    assert "nu" not in sel
    _close(sel["conductance"].values, ref["conductance"].values[:, [0, 7, npulse - 1]])
    summ = simulate(model, train, record="summary", **kw)
    for v in ("conductance", "energy", *STATES):
        x = ref[v].values
        for s, f in zip(("mean", "std", "min", "max"), (np.mean, np.std, np.min, np.max), strict=True):
            np.testing.assert_allclose(summ[v].sel(statistic=s).values, f(x, axis=0), rtol=1e-9,
                                       atol=1e-12 * np.abs(x).max())
    _close(summ["conductance_final"].values, ref["conductance"].values[:, -1])  # the final state is complete
    with monkeypatch.context() as mp:  # streamed in blocks of 4 recorded pulses
        mp.setattr("devicelib.simulate._Recorder.block_bytes", 4 * 31 * 8)
        streamed = simulate(model, train, out=tmp_path / "run.nc", record=2, **kw)
    for v in ("conductance", "energy", *STATES):
        _close(streamed[v].values, ref[v].values[:, 1::2])
    streamed.close()
    monkeypatch.setattr(K, "SERIAL_BELOW", 0)  # several blocks in the parallel kernel
    assert E.blocks_for(2000, K.SERIAL_BELOW) > 1 and E.blocks_for(1000, 768) == min(1000, E.numba.get_num_threads())
    assert E.blocks_for(700, 768) == 1 and E.blocks_for(1000) == 1  # the engine's own threshold stays
    big = {**kw, "n_devices": 2000, "variability": Variability(d2d={"R_th": 0.02}, c2c=0.2, read=0.01)}
    par = simulate(get_model("pcm.joshi2020_statistical"), train, **big)
    monkeypatch.setattr(K, "SERIAL_BELOW", 10**9)
    ser = simulate(get_model("pcm.joshi2020_statistical"), train, **big)
    for v in ("conductance", *STATES):  # counter-based draws: independent of the thread layout
        np.testing.assert_array_equal(par[v].values, ser[v].values)


def test_pcm_statistical_card_equal_in_distribution():
    """pcm.joshi2020_statistical (programming noise, drift-exponent spread, 1/f read noise, gamma growth spread)
    with cycle-to-cycle and read noise on top: the fused and reference ensembles agree (two-sample KS)."""
    model = get_model("pcm.joshi2020_statistical")
    train = _train()
    kw = {"n_devices": 3000, "v_read": 0.2, "variability": Variability(c2c=0.1, read=0.02)}
    fused = simulate(model, train, engine="fused", seed=1, **kw)
    ref = simulate(model, train, engine="reference", seed=2, **kw)
    for v in ("conductance", "amorphous_thickness", "nu", "prog_error", "read_xi"):
        for k in (1, 5, 12, 29, 45, 59):
            a, b = fused[v].values[:, k], ref[v].values[:, k]
            assert np.std(a) > 0.0  # the noise is there
            assert stats.ks_2samp(a, b).pvalue > 1e-4, (v, k)


def test_pcm_gamma_growth_factor_and_asinh():
    """The kernel's gamma factor has mean 1 and CV 1/sqrt(shape) (also below shape 1); its asinh is accurate to
    a few ulp on both sides of the series/log switch."""
    key = np.uint64(12345)
    for shape in (8.16, 0.5):
        x = np.array([K.gamma_unit(key, i, 3, shape) for i in range(20000)])
        assert abs(x.mean() - 1.0) < 5 / np.sqrt(shape * 20000)
        assert abs(x.std() / (1 / np.sqrt(shape)) - 1.0) < 0.05
        assert stats.kstest(x, stats.gamma(shape, scale=1 / shape).cdf).pvalue > 1e-4
    xs = np.r_[0.0, np.geomspace(1e-300, 1e150, 4000), 0.124999, 0.125, 0.125001]
    got = np.array([K.vasinh(x) for x in xs])
    ref = np.arcsinh(xs)
    np.testing.assert_allclose(got, ref, rtol=1e-15, atol=0)
    assert K.vasinh(-0.3) == -K.vasinh(0.3)


def test_pcm_fused_checks_temperature_like_reference():
    model = get_model("pcm.sebastian2014_gst")
    train = _train()
    bad = PulseTrain(amplitude=train.amplitude, width=train.width, interval=train.interval,
                     temperature=np.full(60, 950.0), amplitude_unit="A")
    for engine in ("fused", "reference"):
        with pytest.raises(ValueError, match="below T_melt"):
            simulate(model, bad, n_devices=3, engine=engine)


def test_uniform_ensemble_read_solved_once():
    """An ensemble in one state with shared parameters (a fresh simulate) is read by one solve, broadcast: the same
    bits as solving every device (the 2-D input takes the full path); mixed states and temperatures still solve."""
    model = get_model("pcm.sebastian2014_gst")
    for u0, v, t in ((17e-9, 0.2, None), (30e-9, 0.1, np.full(40, 330.0)), (5e-9, 0.0, None)):
        u = np.full(40, u0)
        one = model.physical_conductance(u, v, t)
        full = model.physical_conductance(u.reshape(4, 10), v, None if t is None else t.reshape(4, 10))
        np.testing.assert_array_equal(one, full.ravel())
    mixed = np.r_[np.full(5, 17e-9), 25e-9]
    g = model.physical_conductance(mixed, 0.2, np.r_[np.full(5, 300.0), 310.0])
    assert g[0] == g[4] and g[5] < g[0] and np.all(np.isfinite(g))


def test_pcm_statistical_card_quick_path_equal_in_distribution():
    """The statistical card without plug noise runs the kernel's quick pulse (the chunk's gamma factors in one pass,
    their spare Box-Muller normals as the read-noise draws, 1/f noise from the draws' ln g): the fused and reference
    ensembles agree (two-sample KS at 3000 devices, p > 1e-4), reads before and after t0 (pulses 25-29 drift)."""
    model = get_model("pcm.joshi2020_statistical")
    train = _train()
    kw = {"n_devices": 3000, "v_read": 0.1}
    fused = simulate(model, train, engine="fused", seed=4, **kw)
    ref = simulate(model, train, engine="reference", seed=5, **kw)
    for v in ("conductance", "amorphous_thickness", "nu", "prog_error", "read_xi"):
        for k in (1, 5, 12, 21, 29, 45, 59):
            a, b = fused[v].values[:, k], ref[v].values[:, k]
            assert np.std(a) > 0.0
            assert stats.ks_2samp(a, b).pvalue > 1e-4, (v, k)
    # the read-noise draw is a standard normal independent of the programming error and of the plug
    xi = fused["read_xi"].values[:, 5]
    assert stats.kstest(xi, "norm").pvalue > 1e-4
    for other in ("prog_error", "amorphous_thickness"):
        assert abs(np.corrcoef(xi, fused[other].values[:, 5])[0, 1]) < 4 / np.sqrt(3000)


def test_pcm_gamma_chunk_factors_and_spare_normals():
    """The vectorised gamma attempt with the squeeze gives exact gamma factors of mean 1 and CV cv (KS against
    scipy's gamma at 20480 draws, also below shape 1), and its spare normals are standard normal and uncorrelated
    with the factors."""
    key = np.uint64(777)
    for cv in (0.35, 1.5):
        out, bad, spare = np.empty(E.CHUNK), np.empty(E.CHUNK, dtype=np.bool_), np.empty(E.CHUNK)
        g, z = [], []
        for c0 in range(0, 40 * E.CHUNK, E.CHUNK):
            K.gamma_chunk(key, c0, c0 + E.CHUNK, 9, cv, out, bad, spare)
            g.append(out.copy())
            z.append(spare.copy())
        g, z = np.concatenate(g), np.concatenate(z)
        shape = 1 / cv**2
        assert stats.kstest(g, stats.gamma(shape, scale=1 / shape).cdf).pvalue > 1e-4
        assert stats.kstest(z, "norm").pvalue > 1e-4
        assert abs(np.corrcoef(g, z)[0, 1]) < 4 / np.sqrt(g.size)
        assert abs(g.mean() - 1.0) < 5 * cv / np.sqrt(g.size)
