"""Parameter recovery from noisy synthetic data for every fitted model, with stated tolerances.

Truth -> simulate -> add Gaussian noise (sigma known) -> fit -> every varied parameter must be within
max(5 standard errors, the stated relative tolerance) of the truth, and the fit must report converged.
"""

import numpy as np
import pytest

from devicelib import get_model
from devicelib.fit import fit
from devicelib.measurement import concat_traces, from_simulation, make_measurement
from devicelib.pulses import identical
from devicelib.simulate import simulate

NOISE = 0.01  # weight units


def updown(n_up, n_down, cycles=1):
    d = np.tile(np.r_[np.ones(n_up), -np.ones(n_down)], cycles)
    return d


def synthetic(model, w0, d, noise=NOISE, seed=0, normalised=True):
    D = np.atleast_2d(d).copy()
    D[:, 0] = 0.0  # the first point is the start read
    w = model.weight_trace(np.atleast_1d(w0), D)
    w = w + noise * np.random.default_rng(seed).standard_normal(w.shape)
    if normalised:
        return make_measurement(w, amplitude=np.atleast_2d(d), width=1e-6, conductance_unit="", source="synthetic")
    g = model.from_weight(w)
    return make_measurement(g, amplitude=np.atleast_2d(d), width=1e-6, v_read=0.1, source="synthetic")


CASES = [
    # name, truth, vary (None = the model's default), pulses (up, down, cycles), relative tolerance
    ("baseline.constant_step", dict(w_min=-0.6, w_max=0.7, dw_min=0.01, up_down=0.2), None, (200, 200, 1), 0.02),
    ("baseline.soft_bounds", dict(w_min=-1.0, w_max=1.0, dw_min=0.02, up_down=-0.3), None, (300, 300, 1), 0.05),
    ("baseline.linear_step", dict(w_min=-1.0, w_max=1.0, dw_min=0.02, up_down=0.1, gamma_up=0.5, gamma_down=0.6),
     None, (300, 300, 1), 0.05),
    ("baseline.exponential", dict(w_min=-1.0, w_max=1.0, p_max=200.0, a_ltp=60.0, a_ltd=40.0), None,
     (200, 200, 1), 0.05),
    ("baseline.power_step", dict(w_min=-1.0, w_max=1.0, dw_min=0.05, up_down=0.2, pow_gamma=1.5), None,
     (300, 300, 1), 0.10),
    ("baseline.piecewise_step", dict(w_min=-1.0, w_max=1.0, dw_min=0.02, up_0=2.0, up_1=1.5, up_2=1.0, up_3=0.6,
                                     up_4=0.3, down_0=0.3, down_1=0.7, down_2=1.0, down_3=1.4, down_4=2.0),
     [f"up_{j}" for j in range(5)] + [f"down_{j}" for j in range(5)], (300, 300, 1), 0.10),
]


@pytest.mark.parametrize("name,truth,vary,pulses,rtol", CASES, ids=[c[0] for c in CASES])
def test_recovery_normalised(name, truth, vary, pulses, rtol):
    true_model = get_model(name, **truth)
    data = synthetic(true_model, truth["w_min"] + 0.05, updown(*pulses))
    start = get_model(name)  # defaults, the guess takes start values from the data
    if vary is not None:  # held parameters at their true values (bounds of the node grid)
        start = start.with_params(**{k: v for k, v in truth.items() if k not in vary})
    r = fit(start, data, vary, guess=True, starts=2)
    assert r.converged, r.status
    assert r.rmse == pytest.approx(NOISE, rel=0.1)
    assert r.redchi == pytest.approx(1.0, abs=0.15)
    for k in r.varied:
        tol = max(5 * r.stderr[k], rtol * abs(truth[k]), 1e-3)
        assert abs(r.values[k] - truth[k]) <= tol, (k, r.values[k], truth[k], r.stderr[k])


def test_recovery_in_siemens_with_normalisation_layer():
    truth = dict(g_ref=20e-6, g_offset=50e-6, w_min=-1.0, w_max=1.0, dw_min=0.02, up_down=0.1)
    true_model = get_model("baseline.soft_bounds", **truth)
    data = synthetic(true_model, -0.9, updown(300, 300), normalised=False)
    r = fit("baseline.soft_bounds", data, starts=2)
    assert r.converged, r.status
    assert r.rmse_unit == "S"
    assert r.rmse == pytest.approx(NOISE * 20e-6, rel=0.1)
    # the guessed layer differs from the truth's; the physical step and bounds (in S) must agree
    m = r.model
    for w_name in ("w_min", "w_max"):
        assert float(m.from_weight(m.params[w_name])) == pytest.approx(true_model.from_weight(truth[w_name]),
                                                                       abs=2e-7)
    step = m.params["dw_min"] * m.params["g_ref"] * (1 - m.params["up_down"])
    assert step == pytest.approx(0.02 * 20e-6 * 0.9, rel=0.05)


def test_vcm_two_pulse_conditions_break_the_degeneracy():
    """One amplitude cannot separate nu0 from gamma0; 1.0 V and 1.2 V (and a 10x width) can."""
    m = get_model("vcm.stanford_pku")
    parts = []
    for i, (a, w) in enumerate([(1.0, 1e-7), (1.2, 1e-7), (1.0, 1e-6)]):
        sim = simulate(m, identical(40, a, w), n_devices=1, v_read=0.1)
        g = sim["conductance"].values * (1 + 0.01 * np.random.default_rng(i).standard_normal((1, 40)))
        sim["conductance"].values[:] = g
        parts.append(from_simulation(sim, label_prefix=f"c{i}:"))
    data = concat_traces(parts)
    # the noise is 1 % of the value: with that noise model the fit is consistent (reduced chi-square ~ 1)
    r = fit(m.with_params(nu0=30.0, gamma0=14.0), data, vary=["nu0", "gamma0"], sigma="1%")
    assert r.converged, r.status
    assert r.noise_model == "proportional" and 0.6 < r.redchi < 1.6
    # one constant sigma per trace is the wrong noise model for these traces (G grows 10x): flagged
    wrong = fit(m.with_params(nu0=30.0, gamma0=14.0), data, vary=["nu0", "gamma0"], noise="trace")
    assert not wrong.converged and "reduced chi-square" in wrong.status
    assert r.values["nu0"] == pytest.approx(10.0, rel=0.02)
    assert r.values["gamma0"] == pytest.approx(16.0, rel=0.005)
