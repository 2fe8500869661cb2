"""Fused kernels of the physics families (engine.KernelSpec) against the per-pulse reference path."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from devicelib import engine as E
from devicelib import get_model
from devicelib.pulses import PulseTrain
from devicelib.simulate import simulate
from devicelib.variability import Variability


def _train(amp, width, n_up=20, n_down=15, seed=0):
    """Bipolar train with random amplitudes, interleaved reads (zero amplitude) and zero-width entries."""
    rng = np.random.default_rng(seed)
    a = np.r_[np.full(n_up, amp), np.full(n_down, -amp), rng.choice([-amp, 0.0, amp], 20)]
    a = a * rng.uniform(0.85, 1.1, a.size)
    w = np.full(a.size, width) * rng.uniform(0.5, 2.0, a.size)
    w[::13] = 0.0
    return PulseTrain(amplitude=a, width=w, interval=np.zeros(a.size), temperature=np.full(a.size, 300.0))


def _close(a, b, rtol=1e-12):
    a, b = np.asarray(a, float), np.asarray(b, float)
    scale = np.maximum(np.abs(b), 1e-300)
    assert np.all(np.abs(a - b) <= rtol * scale + 1e-300), float(np.max(np.abs(a - b) / scale))


# the continuous law (crosssim from gaps across the range: single-sub-step pulses through the vectorised pass
# mixed with multi-step ones), the F_min threshold (stops inside a pulse: bisection), the 1T1R series circuit
VCM_CASES = [("vcm.crosssim_oxide_fit", 1.2, 1e-7), ("vcm.jiang2016_hfox_continuous", 1.4, 2e-8),
             ("vcm.jiang2016_hfox", 1.5, 1e-8), ("vcm.stanford1t1r_fit", 2.0, 1e-7)]


@pytest.mark.parametrize(("name", "amp", "width"), VCM_CASES)
@pytest.mark.parametrize("d2d", [False, True])
def test_vcm_fused_equal_reference(name, amp, width, d2d):
    model = get_model(name)
    var = Variability(d2d={"nu0": 0.3, "gamma0": 0.02}) if d2d else None
    train = _train(amp, width)
    gap = np.linspace(0.3e-9, 1.7e-9, 23)
    kw = {"n_devices": 23, "variability": var, "seed": 4, "v_read": 0.1,
          "state": {"gap": gap, "peak_temperature": np.full(23, 300.0)}}
    fused = simulate(model, train, engine="fused", **kw)
    ref = simulate(model, train, engine="reference", **kw)
    assert fused.attrs["engine"] == "fused" and ref.attrs["engine"] == "reference"
    for v in ("conductance", "gap", "peak_temperature", "energy", "conductance_initial"):
        _close(fused[v].values, ref[v].values)
    gap = ref["gap"].values
    assert np.max(np.ptp(gap, axis=1)) > 0.05e-9  # the gap really moves
    on = (train.width > 0) & (train.amplitude != 0)
    assert np.all(ref["energy"].values[:, on] > 0) and np.all(ref["energy"].values[:, ~on] == 0)
    assert np.all(ref["peak_temperature"].values[:, on] > 300.0)


def test_vcm_recording_modes_and_parallel_blocks(tmp_path, monkeypatch):
    model = get_model("vcm.jiang2016_hfox_continuous")
    train = _train(1.4, 2e-8)
    kw = {"n_devices": 31, "variability": Variability(d2d={"nu0": 0.2}), "seed": 8}
    ref = simulate(model, train, engine="reference", **kw)
    npulse = train.amplitude.size
    every = simulate(model, train, record=3, **kw)
    np.testing.assert_array_equal(every["pulse"].values, np.arange(2, npulse, 3))
    for v in ("conductance", "gap", "peak_temperature", "energy"):
        _close(every[v].values, ref[v].values[:, 2::3])
    sel = simulate(model, train, record=[7, 0, -1], record_state=False, **kw)
    assert "gap" not in sel
    _close(sel["conductance"].values, ref["conductance"].values[:, [0, 7, npulse - 1]])
    summ = simulate(model, train, record="summary", **kw)
    for v in ("conductance", "energy", "gap", "peak_temperature"):
        x = ref[v].values
        for s, f in zip(("mean", "std", "min", "max"), (np.mean, np.std, np.min, np.max), strict=True):
            np.testing.assert_allclose(summ[v].sel(statistic=s).values, f(x, axis=0), rtol=1e-9,
                                       atol=1e-12 * np.abs(x).max())
    _close(summ["conductance_final"].values, ref["conductance"].values[:, -1])
    with monkeypatch.context() as mp:  # streamed in blocks of 4 recorded pulses
        mp.setattr("devicelib.simulate._Recorder.block_bytes", 4 * 31 * 8)
        streamed = simulate(model, train, out=tmp_path / "run.nc", record=2, **kw)
    for v in ("conductance", "gap", "peak_temperature", "energy"):
        _close(streamed[v].values, ref[v].values[:, 1::2])
    streamed.close()
    monkeypatch.setattr(E, "SERIAL_BELOW", 0)  # several blocks in the parallel kernel
    assert E.blocks_for(2000) > 1
    big = {**kw, "n_devices": 2000, "variability": Variability(d2d={"nu0": 0.2}, c2c=0.2, read=0.01)}
    par = simulate(model, train, **big)
    monkeypatch.setattr(E, "SERIAL_BELOW", 10**9)
    ser = simulate(model, train, **big)
    np.testing.assert_array_equal(par["gap"].values, ser["gap"].values)  # counter-based draws


def test_vcm_vectorised_pass_equal_to_scalar_pass_with_noise(monkeypatch):
    """The vectorised single-sub-step pass (its cached e^{-g/g0} through cycle-to-cycle noise, read noise,
    the scalar fallback of marked devices and every recording mode) against the same kernel with the pass off:
    the counter-based draws are the same, so the two agree to rounding."""
    from dataclasses import replace

    from devicelib.physics.vcm import StanfordPKU

    model = get_model("vcm.crosssim_oxide_fit")
    train = _train(1.2, 1e-7)
    gap = np.linspace(0.3e-9, 1.7e-9, 40)
    kw = {"n_devices": 40, "seed": 5, "v_read": 0.1, "variability": Variability(c2c=0.2, c2c_abs=1e-12, read=0.01),
          "state": {"gap": gap, "peak_temperature": np.full(40, 300.0)}}
    assert model.fused_spec(40, train.amplitude, train.width, train.temperature, 0.1).args[-1] is True
    runs = {r: simulate(model, train, record=r, **kw) for r in ("full", 3, "summary")}
    spec = StanfordPKU.fused_spec
    monkeypatch.setattr(StanfordPKU, "fused_spec", lambda self, *a: replace(spec(self, *a),
                                                                            args=(*spec(self, *a).args[:-1], False)))
    for r, fast in runs.items():
        slow = simulate(model, train, record=r, **kw)
        for v in ("conductance", "gap", "peak_temperature", "energy"):
            _close(fast[v].values, slow[v].values)
    g = runs["full"]["conductance"].values
    assert np.std(g[:, -1] / runs["full"]["conductance_initial"].values) > 0  # the state moved


def test_vcm_noisy_fused_equal_in_distribution():
    model = get_model("vcm.jiang2016_hfox_continuous")
    train = _train(1.4, 2e-8)
    var = Variability(c2c=0.3, c2c_abs=2e-12, read=0.02)
    kw = {"n_devices": 3000, "variability": var}
    fused = simulate(model, train, engine="fused", seed=1, **kw)
    ref = simulate(model, train, engine="reference", seed=2, **kw)
    for k in (10, 30, train.amplitude.size - 1):
        a, b = fused["conductance"].values[:, k], ref["conductance"].values[:, k]
        assert np.std(a) > 0.01 * np.mean(a)  # the noise is there
        assert stats.ks_2samp(a, b).pvalue > 1e-4, k


def test_vcm_vectorised_pass_taken_only_where_it_applies():
    a, w, t = np.array([1.2, -1.2]), np.full(2, 1e-7), np.full(2, 300.0)
    assert get_model("vcm.crosssim_oxide_fit").fused_spec(5, a, w, t, 0.1).args[-1] is True
    assert get_model("vcm.jiang2016_hfox").fused_spec(5, a, w, t, 0.1).args[-1] is False  # F_min > 0
    assert get_model("vcm.stanford1t1r_fit").fused_spec(5, a, w, t, 0.1).args[-1] is False  # series circuit
    per_device = get_model("vcm.crosssim_oxide_fit").with_params(nu0=np.full(5, 0.3))
    assert per_device.fused_spec(5, a, w, t, 0.1).args[-1] is False


def test_branch_free_exp_and_sinh_to_a_few_ulp():
    from numba import njit

    @njit
    def both(x):
        a, b = np.empty_like(x), np.empty_like(x)
        for i in range(x.size):
            a[i], b[i] = E.vexp(x[i]), E.vsinh(x[i])
        return a, b

    x = np.r_[np.linspace(-700.0, 700.0, 20001), np.linspace(-1.0, 1.0, 2001), 1e-300, -1e-12, 0.4999, 0.5]
    e, s = both(x)
    assert np.max(np.abs(e / np.exp(x) - 1)) < 5e-16
    nz = x != 0
    assert np.max(np.abs(s[nz] / np.sinh(x[nz]) - 1)) < 2e-15
    assert np.all(s[~nz] == 0.0)


def test_branch_free_log_atan_softplus_to_a_few_ulp():
    from numba import njit

    @njit
    def three(x, y):
        a, b, c = np.empty_like(x), np.empty_like(y), np.empty_like(y)
        for i in range(x.size):
            a[i] = E.vlog(x[i])
        for i in range(y.size):
            b[i], c[i] = E.vatan(y[i]), E.vsoftplus(y[i])
        return a, b, c

    x = np.r_[np.geomspace(1e-299, 1e299, 20001), np.linspace(0.5, 2.0, 2001)]
    y = np.r_[np.linspace(-700.0, 700.0, 20001), np.geomspace(1e-300, 1e10, 3001), -np.geomspace(1e-300, 1e10, 3001)]
    lg, at, sp = three(x, y)
    nz = x != 1.0
    assert np.max(np.abs(lg[nz] / np.log(x[nz]) - 1)) < 1e-15 and np.all(lg[~nz] == 0.0)
    assert np.max(np.abs(at / np.arctan(y) - 1)) < 1e-15
    ref = np.logaddexp(0.0, y)
    ok = ref > 1e-300
    assert np.max(np.abs(sp[ok] / ref[ok] - 1)) < 2e-15


def test_nls_vectorised_pulse_in_every_recording_mode(tmp_path, monkeypatch):
    # shared parameters and no c2c noise: the vectorised NLS pulse (engine._nls_chunk) runs
    model = get_model("fefet.nls")
    train = _train(3.0, 1e-6)
    kw = {"n_devices": 37, "seed": 2}
    ref = simulate(model, train, engine="reference", **kw)
    full = simulate(model, train, **kw)
    assert full.attrs["engine"] == "fused"
    pr = float(model.params["Pr"])
    for v in ("conductance", "energy"):
        _close(full[v].values, ref[v].values)
    # polarization to 1e-12 of Pr (it passes through zero, where a relative tolerance means nothing)
    assert np.max(np.abs(full["polarization"].values - ref["polarization"].values)) <= 1e-12 * pr
    assert np.ptp(ref["polarization"].values) > pr  # switched both ways
    npulse = train.amplitude.size
    every = simulate(model, train, record=3, **kw)
    for v in ("conductance", "energy", "polarization"):
        np.testing.assert_array_equal(every[v].values, full[v].values[:, 2::3])
    with monkeypatch.context() as mp:
        mp.setattr("devicelib.simulate._Recorder.block_bytes", 4 * 37 * 8)
        streamed = simulate(model, train, out=tmp_path / "nls.nc", record=[0, 5, npulse - 1], **kw)
    _close(streamed["conductance"].values, full["conductance"].values[:, [0, 5, npulse - 1]])
    streamed.close()
    # summary statistics from the vectorised pass, devices spread over the polarization range
    spread = {**kw, "state": {"polarization": np.linspace(-0.9 * pr, 0.9 * pr, 37)}}
    ref_s = simulate(model, train, engine="reference", **spread)
    summ = simulate(model, train, record="summary", **spread)
    for v in ("conductance", "energy", "polarization"):
        x = ref_s[v].values
        assert np.ptp(x[:, 3]) > 0
        for st, f in zip(("mean", "std", "min", "max"), (np.mean, np.std, np.min, np.max), strict=True):
            np.testing.assert_allclose(summ[v].sel(statistic=st).values, f(x, axis=0), rtol=1e-9,
                                       atol=1e-12 * np.abs(x).max())
    noisy = simulate(model, train, variability=Variability(read=0.05), n_devices=4000, seed=3)
    g, g0 = noisy["conductance"].values[:, -1], full["conductance"].values[0, -1]
    assert abs(np.std(g) / g0 - 0.05) < 0.005 and abs(np.mean(g) / g0 - 1) < 0.005


def test_vcm_divider_solve_equals_bisection():
    """The compiled divider solve (Newton's method in its bracket, the compliance and saturation limits in closed
    form) against the numpy bisection of devicelib.circuit.solve_divider (60 halvings): the same root to 1e-13
    of |V_a| over random circuits (series resistor, compliance, 1T1R transistor on SET and RESET)."""
    from numba import njit

    from devicelib.circuit import solve_divider
    from devicelib.physics.vcm import _cell_voltage

    cell = njit(lambda g, v, c: _cell_voltage(g, v, c[0], 0.25e-9, c[1], c[2], c[3], c[4], c[5], c[6]))
    rng = np.random.default_rng(3)
    g = rng.uniform(0.2e-9, 1.7e-9, 40)
    v = rng.choice([-1.0, 1.0], 40) * rng.uniform(0.05, 3.5, 40)
    limited = 0
    for _ in range(150):
        c = np.array([10 ** rng.uniform(-5, -1), rng.uniform(0.1, 0.5), rng.choice([0.0, 10 ** rng.uniform(1, 5)]),
                      rng.choice([0.0, 10 ** rng.uniform(-6, -3)]), rng.uniform(0.5, 3.4), rng.uniform(0.1, 1.5),
                      rng.choice([0.0, 10 ** rng.uniform(-5, -2)])])
        if not np.any(c[2:4] > 0) and c[6] == 0:
            c[6] = 1e-3
        ref, _ = solve_divider(v, lambda u, c=c: c[0] * np.exp(-g / 0.25e-9) * np.sinh(u / c[1]), c[2], c[3], c[4],
                               c[5], c[6], n_iter=60)
        got = np.array([cell(gi, vi, c) for gi, vi in zip(g, v, strict=True)])
        assert np.all(np.abs(got - ref) <= 1e-13 * np.abs(v)), np.max(np.abs(got - ref) / np.abs(v))
        limited += np.sum(np.abs(ref) < 0.98 * np.abs(v))
    assert limited > 1000  # most cases put a real part of the voltage on the circuit
