"""The lean objective of baseline fits (devicelib.fit._rule_objective) equals the general path bit for bit.

Residuals and the forward-difference Jacobian (scipy's 2-point steps) are compared at the same points; whole
fits with and without it must give identical values, standard errors, evaluations and condition numbers.
"""

import numpy as np
import pytest
from scipy.optimize._numdiff import approx_derivative

import devicelib.fit.core as core
from devicelib import get_model
from devicelib.fit import fit
from devicelib.fit._rule_objective import RuleObjective, applies
from devicelib.fit.readers import read_sequence_csv
from devicelib.measurement import make_measurement


def _synthetic(name, normalised, n=150, ntr=3, seed=1, nan_tail=True, **truth):
    """``ntr`` traces of ``name`` (up n then down n), read noise 1 %, the last trace shorter (NaN padding)."""
    m = get_model(name, **truth)
    d = np.tile(np.r_[np.ones(n), -np.ones(n)], (ntr, 1))
    w = m.weight_trace(np.linspace(-0.8, -0.5, ntr), d)
    w = w + 0.01 * np.random.default_rng(seed).standard_normal(w.shape)
    amp = d.copy()
    if nan_tail:
        w[-1, -20:] = np.nan
        amp[-1, -20:] = np.nan
    if normalised:
        return make_measurement(w, amplitude=amp, width=1e-6, conductance_unit="", source="synthetic")
    g = 50e-6 + 20e-6 * w  # in S: the fit's guess sets g_offset/g_ref from the range
    return make_measurement(g, amplitude=amp, width=1e-6, conductance_unit="S", source="synthetic", v_read=0.1)


def _setup(name, data, vary, holdout=None, at_once=True):
    model = get_model(name)
    prob = core.Problem(model, data, holdout=holdout)
    space = core.ParamSpace(model, vary, {k: float(model.params[k]) for k in vary})

    def trial(x):
        return core.trial_model(model, space.to_values(x))

    def general(x):
        try:
            r = prob.residual(prob.predict(trial(x)))
        except ValueError:
            return np.full(int(prob.m.sum()), 1e6)
        return np.where(np.isfinite(r), r, 1e6)

    assert applies(prob, model)
    kw = {"values_of": space.to_values, "trial": lambda v: core.trial_model(model, v)} if at_once else {}
    return general, RuleObjective(prob, model, trial, space.lo, space.hi, **kw), space


CASES = [
    ("baseline.soft_bounds", True, ["w_min", "w_max", "dw_min", "up_down"], None),
    ("baseline.soft_bounds", False, ["w_min", "w_max", "dw_min", "up_down", "g_ref"], "later:0.2"),
    ("baseline.power_step", True, ["w_min", "w_max", "dw_min", "up_down", "pow_gamma"], None),
    ("baseline.exponential", True, ["w_min", "w_max", "a_ltp", "a_ltd"], "every:3"),
    ("baseline.constant_step", True, ["w_min", "w_max", "dw_min", "up_down"], None),
]


@pytest.mark.parametrize("at_once", [True, False])
@pytest.mark.parametrize("name,normalised,vary,holdout", CASES)
def test_residual_and_jacobian_equal_the_general_path(name, normalised, vary, holdout, at_once):
    data = _synthetic(name, normalised)
    general, lean, space = _setup(name, data, vary, holdout, at_once)
    rng = np.random.default_rng(3)
    for x in (space.x0, space.x0 + 0.05 * rng.standard_normal(space.x0.size)):
        x = np.clip(x, space.lo, space.hi)
        f = general(x)
        np.testing.assert_array_equal(lean.residual(x), f)
        J = approx_derivative(general, x, method="2-point", f0=f, bounds=(space.lo, space.hi))
        np.testing.assert_array_equal(lean.jacobian(x), J)
        assert lean.jacobian(x).flags.f_contiguous  # scipy's layout (its products then sum in the same order)


def test_invalid_trial_is_bad_as_in_the_general_path():
    data = _synthetic("baseline.soft_bounds", True)
    general, lean, space = _setup("baseline.soft_bounds", data, ["w_min", "w_max"], None)
    x = np.array([2.0, 1.0])  # w_min = 2 above w_max = 1 (scales 1): the model refuses the trial
    f = general(x)
    assert np.all(f == 1e6)
    np.testing.assert_array_equal(lean.residual(x), f)
    J = approx_derivative(general, x, method="2-point", f0=f, bounds=(space.lo, space.hi))
    np.testing.assert_array_equal(lean.jacobian(x), J)
    # a valid base point whose w_max column step makes the trial invalid (w_max just above w_min)
    x = np.array([0.5, 0.5 + 1e-9])
    f = general(x)
    assert np.all(f < 1e6)
    np.testing.assert_array_equal(lean.residual(x), f)
    J = approx_derivative(general, x, method="2-point", f0=f, bounds=(space.lo, space.hi))
    np.testing.assert_array_equal(lean.jacobian(x, steps=np.array([1e-8, -1e-8])),
                                  approx_derivative(general, x, method="2-point", f0=f, abs_step=[1e-8, -1e-8],
                                                    bounds=(space.lo, space.hi)))


@pytest.mark.parametrize("normalised", [True, False])
def test_fit_identical_with_and_without_the_lean_objective(normalised, monkeypatch):
    data = _synthetic("baseline.soft_bounds", normalised, seed=4)
    out = {}
    for lean in (False, True):
        monkeypatch.setattr(core, "LEAN_OBJECTIVE", lean)
        out[lean] = fit("baseline.soft_bounds", data, vary=["w_min", "w_max", "dw_min", "up_down"])
    a, b = out[False], out[True]
    assert a.converged and b.converged
    assert a.values == b.values and a.stderr == b.stderr
    assert (a.nfev, a.chisqr, a.condition, a.status) == (b.nfev, b.chisqr, b.condition, b.status)
    assert a.correlations == b.correlations
    np.testing.assert_array_equal(a.prediction.values, b.prediction.values)


def test_gong_fit_identical_and_recovers_published_values(shared_data, monkeypatch):
    data = read_sequence_csv(shared_data / "aihwkit-gong2018" / "gong_et_al.csv", "", amplitudes=[1.0, -1.0],
                             width=1e-6)
    out = {}
    for lean in (False, True):
        monkeypatch.setattr(core, "LEAN_OBJECTIVE", lean)
        out[lean] = fit("baseline.soft_bounds", data)
    a, b = out[False], out[True]
    assert a.values == b.values and a.stderr == b.stderr and a.nfev == b.nfev
    # docs/benchmarks.md: dw_min 0.003366 +/- 0.000045, up_down -0.432 +/- 0.007, w_min -0.995 +/- 0.016
    assert b.values["dw_min"] == pytest.approx(3.366e-3, rel=2e-3)
    assert b.stderr["dw_min"] == pytest.approx(4.5e-5, rel=0.05)
    assert b.values["up_down"] == pytest.approx(-0.432, abs=2e-3)
    assert b.values["w_min"] == pytest.approx(-0.995, abs=2e-3)
    assert b.rmse == pytest.approx(0.18036, abs=1e-4)


def test_not_used_where_it_does_not_apply():
    data = _synthetic("baseline.soft_bounds", True)
    model = get_model("baseline.soft_bounds")
    assert not applies(core.Problem(model, data, initial="fit"), model)  # fitted start shifts
    assert not applies(core.Problem(model, data, initial="model"), model)
    gdata = _synthetic("baseline.soft_bounds", False)
    assert applies(core.Problem(model, gdata), model)
    assert not applies(core.Problem(model, gdata, space="log"), model)  # log residuals
    assert not applies(core.Problem(get_model("vcm.stanford_pku"), gdata), get_model("vcm.stanford_pku"))


@pytest.mark.parametrize("holdout", [None, "later:0.2"])
def test_one_trace_jacobian_equal_the_general_path(holdout):
    """One trace with every point fitted takes the kernel's output as the Jacobian without a copy."""
    data = _synthetic("baseline.soft_bounds", True, ntr=1, nan_tail=False)
    general, lean, space = _setup("baseline.soft_bounds", data, ["w_min", "w_max", "dw_min", "up_down"], holdout)
    x = space.x0 + 0.03
    f = general(x)
    np.testing.assert_array_equal(lean.residual(x), f)
    J = lean.jacobian(x)
    np.testing.assert_array_equal(J, approx_derivative(general, x, method="2-point", f0=f,
                                                       bounds=(space.lo, space.hi)))
    assert J.flags.f_contiguous and J.shape == (f.size, 4)


@pytest.mark.parametrize("initial", ["fit", "first"])
def test_direct_trf_equals_least_squares(initial, monkeypatch):
    """scipy's trf called directly (callable Jacobians: the lean one, the grouped start-shift one) follows
    least_squares' iterates exactly."""
    data = _synthetic("baseline.soft_bounds", True, seed=5)
    vary = ["w_min", "w_max", "dw_min", "up_down"]
    a = fit("baseline.soft_bounds", data, vary=vary, initial=initial)
    monkeypatch.setattr(core, "_trf_direct", lambda *args, **kw: None)  # least_squares itself
    b = fit("baseline.soft_bounds", data, vary=vary, initial=initial)
    assert a.values == b.values and a.stderr == b.stderr
    assert (a.nfev, a.chisqr, a.status) == (b.nfev, b.chisqr, b.status)
