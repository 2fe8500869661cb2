"""Reliability layers (devicelib.layers): endurance calibrated on the Stanford NI-RRAM 1 us record, read noise
calibrated on 10,000 consecutive reads (ret1.csv), read disturb through the family's own kinetics."""

import numpy as np
import pytest

from devicelib import get_model
from devicelib.layers import (
    Endurance,
    ReadDisturb,
    ReadNoise,
    calibrate_endurance,
    calibrate_read_noise,
    with_layers,
)
from devicelib.pulses import potentiation_depression
from devicelib.simulate import simulate


@pytest.fixture(scope="module")
def endurance_record(shared_data):
    return np.loadtxt(shared_data / "stanford-nirram-endurance" / "1us_endurance.tsv")


@pytest.fixture(scope="module")
def reads(shared_data):
    d = np.loadtxt(shared_data / "stanford-nirram-endurance" / "ret1.csv", delimiter=",")
    return d[:, 3], float(np.median(np.diff(d[:, 1])))


def test_endurance_calibration_reproduces_window_closure_and_failures(endurance_record):
    c, r_set, r_reset = endurance_record[:, 3], endurance_record[:, 1], endurance_record[:, 2]
    e = calibrate_endurance(c, r_set, r_reset)

    def ratio(n):
        s = e.shrink(n)
        return (e.g_hi / e.g_center) ** s / (e.g_lo / e.g_center) ** s

    # measured median R_reset/R_set: 12.4 over 1e3-1e5 cycles, 7.1 over 6e5-1e6 (window closes ~45 %)
    for lo, hi in ((1e3, 1e5), (1e5, 3e5), (3e5, 6e5), (6e5, 1.1e6)):
        s = (c > lo) & (c <= hi) & (r_reset / r_set >= 2)
        assert ratio(np.median(c[s])) == pytest.approx(np.median(r_reset[s] / r_set[s]), rel=0.2), (lo, hi)
    assert ratio(1e2) > 1.8 * ratio(1e6)
    # failed RESETs (window < 2): none before 1e5 cycles, ~2 % of cycles after 3e5
    late = c > 3e5
    assert e.fail_probability(np.median(c[late])) == pytest.approx(np.mean(r_reset[late] / r_set[late] < 2), abs=0.01)
    assert e.fail_probability(1e4) < 1e-3


def test_endurance_layer_counts_cycles_and_closes_the_window():
    base = get_model("vcm.sawa_nbsto_interface")
    g_lo = base.conductance({"vacancy_fraction": np.zeros(1)}, 0.1)[0]
    g_hi = base.conductance({"vacancy_fraction": np.ones(1)}, 0.1)[0]
    e = Endurance(g_lo=g_lo, g_hi=g_hi, g_center=np.sqrt(g_lo * g_hi), n_half=1e3, beta=1.0)
    m = with_layers(base, endurance=e)
    assert m.name == base.name and m.params == base.params
    st = m.initial_state(2)
    # a full swing (w 0 -> 1 -> 0, huge pulses) is one cycle
    st = m.apply_pulse(st, 3.5, 1.0, 300.0)
    st = m.apply_pulse(st, -3.5, 1.0, 300.0)
    assert st["cycles"] == pytest.approx(1.0, rel=1e-3)
    # at N = n_half the log window is half: ln(G_hi/G_lo) / 2
    aged = {"vacancy_fraction": np.array([0.0, 1.0]), "cycles": np.full(2, 1e3), "life": np.full(2, np.inf)}
    g = m.conductance(aged, 0.1)
    assert np.log(g[1] / g[0]) == pytest.approx(0.5 * np.log(g_hi / g_lo), rel=1e-9)
    # simulate works through the layer and records the family's state variables
    ds = simulate(m, potentiation_depression(20, 20, 2.5, -2.5, 1e-6), 3, seed=0)
    assert ds.conductance.shape == (3, 40) and "vacancy_fraction" in ds


def test_stuck_at_faults_follow_the_weibull_lifetime():
    base = get_model("vcm.sawa_nbsto_interface")
    g_lo = base.conductance({"vacancy_fraction": np.zeros(1)}, 0.1)[0]
    g_hi = base.conductance({"vacancy_fraction": np.ones(1)}, 0.1)[0]
    e = Endurance(g_lo=g_lo, g_hi=g_hi, g_center=np.sqrt(g_lo * g_hi), n_half=1e9, life_scale=5.0, life_shape=2.0)
    m = with_layers(base, endurance=e).seed(11)
    n = 4000
    st = m.initial_state(n)
    for _ in range(8):  # 8 full cycles
        st = m.apply_pulse(st, 3.5, 1.0, 300.0)
        st = m.apply_pulse(st, -3.5, 1.0, 300.0)
    stuck = st["cycles"] < 7.99
    # a device stops once its count reaches its lifetime; counts move in half cycles, so a device ends below
    # 8 cycles iff life <= 7.5: P = 1 - exp(-(7.5/5)^2) = 0.895
    p = 1 - np.exp(-(7.5 / 5) ** 2)
    assert np.mean(stuck) == pytest.approx(p, abs=4 * np.sqrt(p * (1 - p) / n))
    before = st["vacancy_fraction"].copy()
    now = st["cycles"] >= st["life"]
    after = m.apply_pulse(st, 3.5, 1.0, 300.0)["vacancy_fraction"]
    assert np.all(after[now] == before[now]) and np.all(after[~now] == 1.0) and np.all(now[stuck])


def test_read_noise_calibrated_on_ten_thousand_reads(reads):
    g, dt = reads
    nz = calibrate_read_noise(g, dt)
    x = g / g.mean() - 1
    # measured: 1.69 % relative sigma, lag-1 autocorrelation 0.45 (a slow 1/f part), no RTN (unimodal)
    assert np.std(x) == pytest.approx(0.0169, abs=5e-4)
    assert nz.white == pytest.approx(0.013, rel=0.1) and nz.flicker == pytest.approx(0.0086, rel=0.1)
    assert nz.rtn_amplitude == 0.0
    base = get_model("vcm.stanford_pku")
    m = with_layers(base, read_noise=nz).seed(3)
    st0 = base.state_from_conductance(np.full(16, g.mean()), 0.1)
    st = m.initial_state(16)
    st.update(st0)
    series, _ = m.read_series(st, 10_000, dt, 0.1)
    xs = series / series.mean(axis=1, keepdims=True) - 1
    assert np.mean(np.std(xs, axis=1)) == pytest.approx(np.std(x), rel=0.15)
    lag1 = np.mean([np.corrcoef(r[:-1], r[1:])[0, 1] for r in xs])
    assert lag1 == pytest.approx(np.corrcoef(x[:-1], x[1:])[0, 1], abs=0.12)


def test_read_noise_depends_on_conductance_and_rtn_is_two_level():
    nz = ReadNoise(g_ref=1e-4, white=0.01, gamma=0.5)
    m = with_layers(get_model("vcm.stanford_pku"), read_noise=nz).seed(5)
    base = get_model("vcm.stanford_pku")
    sig = []
    for g in (1e-4, 2.5e-5):
        st = m.initial_state(20000)
        st.update(base.state_from_conductance(np.full(20000, g), 0.1))
        sig.append(np.std(m.conductance(st, 0.1) / g - 1))
    assert sig[0] == pytest.approx(0.01, rel=0.03)
    assert sig[1] / sig[0] == pytest.approx(2.0, rel=0.05)  # (G/G_ref)^-1/2
    rtn = with_layers(base, read_noise=ReadNoise(g_ref=1e-4, rtn_amplitude=0.05, rtn_tau_capture=1.0,
                                                 rtn_tau_emission=3.0)).seed(6)
    st = rtn.initial_state(1)
    st.update(base.state_from_conductance(np.full(1, 1e-4), 0.1))
    series, _ = rtn.read_series(st, 4000, 0.1, 0.1)
    levels = np.unique(np.round(series[0] / 1e-4, 9))
    assert levels.size == 2 and levels[1] - levels[0] == pytest.approx(0.05, rel=1e-6)
    assert np.mean(series[0] > 1e-4) == pytest.approx(0.75, abs=0.08)  # occupancy tau_e/(tau_c + tau_e)


def test_read_disturb_uses_the_family_kinetics():
    base = get_model("vcm.sawa_nbsto_interface")
    m = with_layers(base, read_disturb=ReadDisturb(v_read=0.1, t_read=1e-6))
    st = m.initial_state(1)
    out, st_end = m.read_series(st, 1000, 0.0, 0.1)
    r = base.rate(0.1, 300.0)
    # 1000 reads of 1 us at 0.1 V: w = 1 - exp(-1000 r t_read) exactly (first-order kinetics)
    assert st_end["vacancy_fraction"][0] == pytest.approx(-np.expm1(-1000 * r * 1e-6), rel=1e-9)
    assert st_end["vacancy_fraction"][0] > 0.01  # the interface cell is read-disturbed measurably at 0.1 V
    assert np.all(np.diff(out[0]) > 0)
    fil = with_layers(get_model("vcm.jiang2016_hfox"), read_disturb=ReadDisturb(v_read=0.1, t_read=1e-6))
    st = fil.initial_state(1)
    _, st_end = fil.read_series(st, 50, 0.0, 0.1)
    assert st_end["gap"][0] == pytest.approx(st["gap"][0], rel=1e-6)  # filamentary HfOx: no disturb at 0.1 V
