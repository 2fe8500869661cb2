"""Observables, noise models, likelihoods, stochastic models and single-pulse maps (issue 10)."""

import numpy as np
import pytest

from devicelib.fit import FitError, fit
from devicelib.fit.compare import compare
from devicelib.fit.noise import NoiseError, binomial_deviance_residual, robust_sigma
from devicelib.maps import make_pulse_map, read_pulse_map, select
from devicelib.measurement import make_measurement
from devicelib.observables import make_observation
from devicelib.registry import get_model


def soft(noise=0.01, n=200, seed=0):
    m = get_model("baseline.soft_bounds", dw_min=0.03, up_down=0.1)
    d = np.r_[np.ones(n), -np.ones(n)]
    D = d[None, :].copy()
    D[0, 0] = 0
    w = m.weight_trace(np.array([-0.9]), D) + noise * np.random.default_rng(seed).standard_normal((1, 2 * n))
    return make_measurement(w, amplitude=d[None, :], width=1e-6, conductance_unit="", source="synthetic")


# -- noise: estimates that cannot be made say so ------------------------------------------------------
def test_robust_sigma_recovers_white_noise_and_refuses_what_it_cannot_estimate():
    rng = np.random.default_rng(1)
    y = np.linspace(0, 5, 400) ** 0.5 + 0.02 * rng.standard_normal(400)
    assert robust_sigma(y[None, :])[0] == pytest.approx(0.02, rel=0.15)
    with pytest.raises(NoiseError, match="fewer than 8"):
        robust_sigma(np.array([[1.0], [2.0]]))  # one-point traces: no pooled spread invented
    with pytest.raises(NoiseError, match="constant"):
        robust_sigma(np.full((1, 20), 3e-6))
    alt = np.where(np.arange(40) % 2, 1e-4, 1e-6) * (1 + 0.01 * rng.standard_normal(40))
    with pytest.raises(NoiseError, match="alternates"):
        robust_sigma(alt[None, :])  # SET/RESET reads: the window is not the noise
    # a short trace takes the pooled estimate of the long ones
    both = np.full((2, 400), np.nan)
    both[0] = y
    both[1, :3] = [1.0, 1.1, 1.2]
    s = robust_sigma(both)
    assert s[1] == pytest.approx(s[0])


def test_fit_refuses_one_point_rows_without_sigma_and_pure_noise_is_not_converged():
    rng = np.random.default_rng(3)
    rows = make_measurement(rng.uniform(0.1, 0.9, (30, 2)), amplitude=1.0, width=1e-7, conductance_unit="")
    with pytest.raises(NoiseError, match="give sigma"):
        fit("baseline.soft_bounds", rows)
    noise = make_measurement(rng.standard_normal((1, 300)) * 0.1, amplitude=np.where(np.arange(300) < 150, 1, -1),
                             width=1e-7, conductance_unit="")
    r = fit("baseline.soft_bounds", noise)
    assert not r.converged and "no signal" in r.status


def test_noise_models_and_reduced_chi_square():
    data = soft(noise=0.01)
    r = fit("baseline.soft_bounds", data)
    assert r.converged, r.status
    assert r.noise_model == "trace" and 0.7 < r.redchi < 1.3
    r = fit("baseline.soft_bounds", data, sigma=0.001)  # a tenfold too small given sigma: flagged
    assert not r.converged and "reduced chi-square" in r.status and r.redchi > 50
    r = fit("baseline.soft_bounds", data, noise="constant")
    assert r.noise_model == "constant" and r.sigma == pytest.approx(0.01, rel=0.2)
    with pytest.raises(FitError, match="needs sigma"):
        fit("baseline.soft_bounds", data, noise="given")


def test_log_space_for_data_spanning_decades():
    m = get_model("baseline.soft_bounds").with_params(g_ref=1e-4, g_offset=1.001e-4, dw_min=0.004)
    from devicelib.measurement import from_simulation
    from devicelib.pulses import identical
    from devicelib.simulate import simulate

    sim = simulate(m, identical(300, 1.0, 1e-7), n_devices=1, v_read=0.1)
    g = sim["conductance"].values * np.exp(0.05 * np.random.default_rng(2).standard_normal((1, 300)))
    sim["conductance"].values[:] = g
    data = from_simulation(sim)
    assert g.max() / g.min() > 100
    r = fit(m.with_params(dw_min=0.002), data, ["dw_min"], space="auto")
    assert r.space == "log" and r.converged, r.status
    assert r.sigma == pytest.approx(0.05, rel=0.25)  # relative noise in ln units
    assert r.values["dw_min"] == pytest.approx(m.params["dw_min"], rel=0.05)


# -- observables -----------------------------------------------------------------------------------------
def test_binomial_switching_probability_of_a_stochastic_mtj_fitted_by_name():
    """P_sw(AP -> P) of one 10 ns pulse vs current, 200 trials each: the mean field recovers Ic0_p."""
    truth = get_model("spintronic.stochastic_mtj").mean_field()
    current = np.linspace(30e-6, 80e-6, 12)
    st = truth.initial_state(current.size)
    after = truth.apply_pulse(dict(st), current, np.full(current.size, 1e-8), np.full(current.size, 300.0))
    p = np.abs(after["antiparallel"] - st["antiparallel"])
    n = 200
    k = np.random.default_rng(4).binomial(n, p)
    data = make_observation((k / n)[:, None], "switching_probability", "", current[:, None], 1e-8, trials=n,
                            amplitude_unit="A")
    r = fit("spintronic.stochastic_mtj", data, ["Ic0_p"])
    assert "mean field" in r.method and r.noise_model == "binomial"
    assert r.converged, r.status
    assert r.values["Ic0_p"] == pytest.approx(truth.params["Ic0_p"], rel=0.05)
    # deviance residuals: zero where the model equals the data, and squares sum to the deviance
    assert binomial_deviance_residual(np.array([50.0]), np.array([100.0]), np.array([0.5]))[0] == 0.0


def test_polarisation_is_fitted_as_polarisation_and_a_mismatch_is_refused():
    truth = get_model("fefet.nls")
    amp = np.linspace(2.0, 4.5, 15)
    st = truth.initial_state(amp.size)
    st = truth.apply_pulse(st, amp, np.full(amp.size, 1e-6), np.full(amp.size, 300.0))
    pol = truth.observe(st)["polarization"] * 100.0  # uC/cm^2 (1 C/m^2 = 100 uC/cm^2)
    pol = pol + 0.2 * np.random.default_rng(5).standard_normal(pol.size)
    data = make_observation(pol[:, None], "polarisation", "uC/cm**2", amp[:, None], 1e-6)
    assert data["polarization"].attrs["units"] == "C/m**2"
    r = fit(truth.with_params(Ea=2e8), data, ["Ea"], sigma=0.2e-2)
    assert r.observable == "polarization" and r.converged, r.status
    assert r.values["Ea"] == pytest.approx(1.67e8, rel=0.03)
    with pytest.raises(FitError, match="does not predict 'polarization'"):
        fit("vcm.stanford_pku", data)
    with pytest.raises(ValueError, match="not a polarization unit"):
        make_observation(pol[:, None], "polarization", "V", amp[:, None], 1e-6)


def test_stochastic_model_without_mean_field_is_refused():
    data = soft()
    m = get_model("josephson.fluxon_loop")  # thermal escape: stochastic, no mean field
    data["amplitude"].attrs["units"] = m.amplitude_unit
    with pytest.raises(FitError, match="no mean_field"):
        fit(m, data)


# -- single-pulse maps -------------------------------------------------------------------------------------
def test_pulse_map_rows_start_from_their_own_state_and_recover_truth():
    truth = get_model("vcm.stanford_pku")
    rng = np.random.default_rng(6)
    n = 60
    g0 = 10 ** rng.uniform(-5.5, -4.5, n)
    amp = rng.choice([0.9, 1.0, 1.1], n)
    width = rng.choice([1e-7, 4e-7], n)
    st = truth.state_from_conductance(g0, 0.2)
    g1 = truth.conductance(truth.apply_pulse(st, amp, width, np.full(n, 300.0)), 0.2)
    r1 = (1 / g1) * np.exp(0.02 * rng.standard_normal(n))
    data = make_pulse_map(1 / g0, r1, width, amp, compliance=3.0, v_read=0.2)
    assert data.attrs["observable"] == "resistance" and "resistance_initial" in data
    r = fit(truth.with_params(nu0=20.0), data, ["nu0"], sigma="2%", space="log")
    assert r.converged, r.status
    assert abs(r.values["nu0"] - truth.params["nu0"]) < 3 * r.stderr["nu0"]
    assert r.values["nu0"] == pytest.approx(truth.params["nu0"], rel=0.1)


def test_stanford_1t1r_sweeps_read_as_maps(shared_data):
    root = shared_data / "stanford-1t1r-pulse-sweeps"
    s = read_pulse_map(root / "set_sweep.tsv", v_read=0.2)
    r = read_pulse_map(root / "reset_sweep.tsv", polarity="reset", v_read=0.2)
    assert s.sizes["trace"] == 23408 and s.sizes["pulse"] == 1
    assert s["resistance_initial"].values[0] == pytest.approx(151240.47066190236)
    assert s["resistance"].values[0, 0] == pytest.approx(115068.98689767806)
    assert set(np.unique(s["width"].values)) == {2e-8, 4e-8, 1e-7, 2e-7, 4e-7}
    assert r["amplitude"].values.max() < 0 and s["amplitude"].values.min() > 0
    sub = select(s, compliance=(3.0, 3.4), width=(1e-7, 1e-7))
    assert np.all(sub["compliance"].values >= 3.0) and sub.sizes["trace"] > 100
    # median R_after / R_before of strong SET rows: the cells set by an order of magnitude
    ratio = sub["resistance"].values[:, 0] / sub["resistance_initial"].values
    assert np.median(ratio[sub["amplitude"].values[:, 0] >= 2.0]) < 0.2


# -- ranking ------------------------------------------------------------------------------------------------
def test_ranking_weighs_converged_fits_only():
    c = compare(["baseline.soft_bounds", "baseline.constant_step"], soft(noise=0.01))
    rows = c.ranking()
    ok = [r for r in rows if r["converged"]]
    bad = [r for r in rows if not r["converged"]]
    assert ok[0]["model"] == "baseline.soft_bounds" and ok[0]["akaike_weight"] == pytest.approx(1.0)
    assert all(r["akaike_weight"] is None and r["rank"] is None for r in bad)
    assert "not converged" in c.table() or not bad


# -- fitted start states: grouped Jacobian ---------------------------------------------------------------
def test_fitted_start_states_grouped_jacobian_equals_dense(monkeypatch):
    """Six traces with a noisy first read: initial='fit' recovers the truth; the grouped Jacobian (all start
    shifts in one evaluation) reaches the dense finite-difference optimum with fewer evaluations."""
    import devicelib.fit.core as fc

    m = get_model("baseline.soft_bounds", dw_min=0.03, up_down=0.1)
    rng = np.random.default_rng(7)
    d = np.r_[np.ones(60), -np.ones(60)]
    D = np.tile(d, (6, 1))
    D[:, 0] = 0
    w = m.weight_trace(rng.uniform(-0.8, 0.2, 6), D) + 0.01 * rng.standard_normal((6, 120))
    data = make_measurement(w, amplitude=D, width=1e-6, conductance_unit="")
    vary = ["dw_min", "up_down", "w_min", "w_max"]
    grouped = fit(m.with_params(dw_min=0.05), data, vary, initial="fit", sigma=0.01)
    monkeypatch.setattr(fc, "GROUPED_JACOBIAN", False)
    dense = fit(m.with_params(dw_min=0.05), data, vary, initial="fit", sigma=0.01)
    assert grouped.converged and dense.converged, (grouped.status, dense.status)
    for k in vary:
        assert grouped.values[k] == pytest.approx(dense.values[k], rel=1e-4, abs=1e-6)
        assert grouped.stderr[k] == pytest.approx(dense.stderr[k], rel=1e-2)
    assert grouped.values["dw_min"] == pytest.approx(0.03, rel=0.05)
    assert grouped.nfev < dense.nfev


# -- starts without hand scans --------------------------------------------------------------------------
def test_default_vary_per_data_kind_and_global_stage():
    from devicelib.fit.core import data_kind, default_vary
    from devicelib.measurement import concat_traces, from_simulation
    from devicelib.pulses import identical
    from devicelib.simulate import simulate

    mtj = get_model("spintronic.stochastic_mtj")
    assert default_vary(get_model("vcm.stanford_pku")) == ["nu0", "gamma0"]
    prob = make_observation([[0.5]], "switching_probability", "", [[5e-5]], 1e-8, trials=10, amplitude_unit="A")
    assert data_kind(prob) == "switching_probability" and default_vary(mtj, prob) == ["E_b", "Ic0_p"]
    m = get_model("vcm.stanford_pku")
    parts = []
    for i, (a, w) in enumerate([(1.0, 1e-7), (1.2, 1e-7), (1.0, 1e-6)]):
        sim = simulate(m, identical(40, a, w), n_devices=1, v_read=0.1)
        sim["conductance"].values[:] *= 1 + 0.01 * np.random.default_rng(i).standard_normal((1, 40))
        parts.append(from_simulation(sim, label_prefix=f"c{i}:"))
    data = concat_traces(parts)
    calls = []
    r = fit(m.with_params(nu0=1e-2, gamma0=5.0), data, sigma="1%", global_budget=32,
            progress=lambda done, n, best: calls.append((done, best)))
    assert r.varied == ["nu0", "gamma0"] and r.converged, r.status
    assert [c[0] for c in calls] == list(range(1, 33)) and calls[-1][1] <= calls[0][1]
    assert r.values["nu0"] == pytest.approx(10.0, rel=0.02) and r.values["gamma0"] == pytest.approx(16.0, rel=0.005)


# -- CLI ------------------------------------------------------------------------------------------------
def test_cli_sigma_noise_vary_per_model_and_map_layout(tmp_path, shared_data):
    import json

    from typer.testing import CliRunner

    from devicelib.cli import app

    w = soft(n=150)["conductance"].values[0]
    path = tmp_path / "seq.csv"
    np.savetxt(path, np.stack([w[:150], w[150:]], 1), delimiter=",")
    base = ["fit", str(path), "--layout", "sequence", "--no-header", "--unit", "", "--amplitude", "1 V",
            "--amplitude", "-1 V", "--width", "1 us", "--json", "--model", "baseline.soft_bounds"]
    res = CliRunner().invoke(app, [*base, "--sigma", "0.01"])
    out = json.loads(res.stdout)
    assert res.exit_code == 0 and out["noise_model"] == "given" and out["sigma"]["value"] == pytest.approx(0.01)
    assert out["converged"] and 0.7 < out["redchi"] < 1.3
    res = CliRunner().invoke(app, [*base, "--noise", "constant"])
    assert json.loads(res.stdout)["noise_model"] == "constant"
    res = CliRunner().invoke(app, [*base[:-2], "--model", "baseline.soft_bounds,baseline.constant_step",
                                   "--vary", "baseline.constant_step:dw_min"])
    out = json.loads(res.stdout)
    assert out["fits"]["baseline.constant_step"]["nvarys"] == 1 and out["fits"]["baseline.soft_bounds"]["nvarys"] == 4
    res = CliRunner().invoke(app, [*base[:-2], "--model", "baseline.soft_bounds,baseline.constant_step",
                                   "--vary", "dw_min"])
    assert res.exit_code != 0 and "each model its own list" in res.output
    # a single-pulse map from the file, each row from its own state; no noise estimate from one-point rows
    tsv = tmp_path / "rows.tsv"
    rows = np.loadtxt(shared_data / "stanford-1t1r-pulse-sweeps" / "set_sweep.tsv")
    rows = rows[(rows[:, 2] >= 3.0) & (rows[:, 1] == 1e-7)][:200]
    np.savetxt(tsv, rows, delimiter="\t")
    mapped = ["fit", str(tsv), "--layout", "map", "--v-read", "0.2 V", "--model", "vcm.stanford_pku", "--json"]
    res = CliRunner().invoke(app, mapped)
    assert res.exit_code != 0 and "give sigma" in res.output
    res = CliRunner().invoke(app, [*mapped, "--sigma", "30%", "--space", "log"])
    out = json.loads(res.stdout)
    assert res.exit_code == 0 and out["observable"] == "resistance" and out["space"] == "log"
    assert out["nvarys"] == 2 and out["ndata"] == 200


def test_cli_fits_a_switching_probability_table_by_name(tmp_path):
    """current [uA], switching_probability, trials per row -> the MTJ's mean field in one command."""
    import json

    from typer.testing import CliRunner

    from devicelib.cli import app

    truth = get_model("spintronic.stochastic_mtj").mean_field()
    current = np.linspace(30e-6, 80e-6, 12)
    st = truth.initial_state(12)
    p = 1 - truth.apply_pulse(dict(st), current, np.full(12, 1e-8), np.full(12, 300.0))["antiparallel"]
    k = np.random.default_rng(8).binomial(500, p)
    lines = ["current [uA],switching_probability,trials"] + [f"{c * 1e6:.3f},{kk / 500},500"
                                                              for c, kk in zip(current, k, strict=True)]
    (tmp_path / "psw.csv").write_text("\n".join(lines) + "\n")
    res = CliRunner().invoke(app, ["fit", str(tmp_path / "psw.csv"), "--observable", "switching_probability",
                                   "--width", "10 ns", "--model", "spintronic.stochastic_mtj", "--json"])
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout)
    assert out["observable"] == "switching_probability" and out["noise_model"] == "binomial"
    assert "mean field" in out["method"] and out["converged"], out["status"]
    ic = out["parameters"]["Ic0_p"]
    assert abs(ic["value"] - truth.params["Ic0_p"]) < 4 * ic["stderr"]
    (tmp_path / "pol.csv").write_text("amplitude [V],polarisation\n2.0,-20\n3.0,5\n")
    res = CliRunner().invoke(app, ["fit", str(tmp_path / "pol.csv"), "--observable", "polarisation",
                                   "--width", "1 us", "--model", "fefet.nls"])
    assert res.exit_code != 0 and "has no unit" in res.output


def test_physics_guess_starts_from_the_data():
    dw = get_model("spintronic.dw_mtj")
    g = np.array([[1 / 3e3, 1 / 4e3, 1 / 6e3]])
    gs = dw.guess(g, np.ones_like(g))
    assert gs["R_P"] == pytest.approx(3e3) and gs["R_AP"] == pytest.approx(6e3)
    ec = get_model("ecram.current")
    g_fresh = ec.conductance(ec.initial_state(1), 0.1)[0]
    gs = ec.guess(np.array([[3 * g_fresh, 3.1 * g_fresh]]), np.ones((1, 2)))
    assert gs["mu0"] == pytest.approx(3 * ec.params["mu0"], rel=1e-9)  # G is proportional to mu0 at fixed x
