"""ECRAM family: analytic limits, integration error bounds, retention, ion-number noise, ENODe card."""

import numpy as np
import pytest
from scipy.integrate import solve_ivp

from devicelib import get_model
from devicelib.catalog import find_card, load_card
from devicelib.physics.ecram import ECRAMCurrent, ECRAMVoltage
from devicelib.pulses import PulseTrain
from devicelib.simulate import simulate
from devicelib.units import k_B, q_e

KT = k_B * 300.0


def test_current_mode_linear_symmetric_step():
    # physics notes example: mu 1e-6 m2/Vs, Q = 1 pC, L = 10 um -> dG = mu eta Q / (z L^2) = 10 nS
    m = ECRAMCurrent(mu0=1e-6, L=10e-6, eta_e=1.0, eps_F=1.0, fano=0.0)
    st = m.initial_state(4)
    g0 = m.conductance(st, 0.1)
    up = m.apply_pulse(st, 1e-6, 1e-6, 300.0)  # 1 uA x 1 us = 1 pC
    down = m.apply_pulse(up, -1e-6, 1e-6, 300.0)
    dg_up = m.conductance(up, 0.1) - g0
    dg_down = m.conductance(down, 0.1) - m.conductance(up, 0.1)
    np.testing.assert_allclose(dg_up, 10e-9, rtol=1e-6)
    np.testing.assert_allclose(dg_down, -dg_up, rtol=1e-9)
    np.testing.assert_allclose(m.step_conductance(1e-12), 10e-9, rtol=1e-6)
    # still linear 100 pulses later (constant mobility)
    st = up
    for _ in range(100):
        st = m.apply_pulse(st, 1e-6, 1e-6, 300.0)
    np.testing.assert_allclose(m.conductance(st, 0.1) - g0, 101 * 10e-9, rtol=1e-6)


def test_current_mode_saturates_at_capacity():
    m = ECRAMCurrent(fano=0.0, x_init=0.999)
    st = m.initial_state(1)
    q_fill = 0.01 * m.n_sites_total() * q_e  # charge for dx = 0.01, more than the remaining 0.001
    st = m.apply_pulse(st, q_fill / 1e-3, 1e-3, 300.0)
    assert st["x"][0] == pytest.approx(1.0, abs=1e-8)
    g_full = m.conductance(st, 0.1)
    st2 = m.apply_pulse(st, q_fill / 1e-3, 1e-3, 300.0)
    assert m.conductance(st2, 0.1)[0] == pytest.approx(g_full[0], rel=1e-12)


def test_voltage_mode_closed_form_and_saturation():
    m = ECRAMVoltage(fano=0.0, j0=1e-6, V0=0.0, Omega=0.0)
    x0 = np.array([0.1, 0.5, 0.9])
    # Omega = 0: exact linear ODE, x_inf = 1/(1+exp(-2s)), lambda = 2 k cosh(s)
    v, tp = 0.1, 1e-3
    s = q_e * v / (2 * KT)
    k = 2 * 1e-6 * m.params["W"] * m.params["L"] / (q_e * m.n_sites_total())
    xinf = 1 / (1 + np.exp(-2 * s))
    expect = xinf + (x0 - xinf) * np.exp(-2 * k * np.cosh(s) * tp)
    np.testing.assert_allclose(m.apply_pulse({"x": x0}, v, tp, 300.0)["x"], expect, rtol=1e-12)
    # saturation near capacity: at a strong drive the step shrinks as (1 - x)
    xs = np.array([0.5, 0.9, 0.99])
    dx = m.apply_pulse({"x": xs}, 0.8, 1e-12, 300.0)["x"] - xs
    np.testing.assert_allclose(dx / dx[0], (1 - xs) / 0.5, rtol=1e-3)
    # and the equal-and-opposite pulse steps are no longer symmetric away from x = 1/2
    up = m.apply_pulse({"x": np.array([0.9])}, 0.8, 1e-12, 300.0)["x"] - 0.9
    down = m.apply_pulse({"x": np.array([0.9])}, -0.8, 1e-12, 300.0)["x"] - 0.9
    assert abs(down[0]) / up[0] == pytest.approx(0.9 / 0.1, rel=1e-3)


@pytest.mark.parametrize("omega_kt", [1.5, -1.5, 0.7])
def test_voltage_pulse_matches_solve_ivp(omega_kt):
    m = ECRAMVoltage(fano=0.0, j0=1e-6, V0=0.02, Omega=omega_kt * KT)
    x0 = np.array([0.02, 0.3, 0.5, 0.95])
    for v in (0.05, 0.3, -0.3, 1.0):
        for tp in (1e-6, 1e-3, 1.0):
            got = m.apply_pulse({"x": x0}, v, tp, 300.0)["x"]
            ref = [solve_ivp(lambda t, x, v=v: m.insertion_rate(x, v, 300.0), (0, tp), [xi], method="LSODA",
                             rtol=1e-11, atol=1e-14).y[0, -1] for xi in x0]
            np.testing.assert_allclose(got, ref, atol=2e-5, rtol=0)


def test_retention_time_constant():
    m = ECRAMVoltage(fano=0.0, R_leak=1e12, V0=0.0, Omega=0.0)
    # x_eq = 1/2: C_chem = q^2 N_tot / (4 kT), tau = R_leak C_chem
    tau = m.retention_time_constant()[0]
    assert tau == pytest.approx(1e12 * q_e**2 * m.n_sites_total() * 0.25 / KT, rel=1e-9)
    # a small deviation decays exponentially with tau
    x0 = np.array([0.5 + 1e-4])
    for t in (0.3 * tau, tau, 3 * tau):
        got = m.relax({"x": x0}, t, 300.0)["x"] - 0.5
        assert got[0] == pytest.approx(1e-4 * np.exp(-t / tau), rel=1e-4)


@pytest.mark.parametrize(("v0", "omega_kt"), [(0.05, 0.0), (-0.2, 0.8), (0.0, -2.0)])
def test_relax_matches_solve_ivp(v0, omega_kt):
    m = ECRAMVoltage(fano=0.0, V0=v0, Omega=omega_kt * KT, R_leak=1e12)
    x0 = np.array([1e-4, 0.05, 0.5, 0.95, 0.9999])

    def f(t, x):
        return m.open_circuit_voltage(x, 300.0) / (m.params["R_leak"] * q_e * m.n_sites_total())

    tau = m.retention_time_constant()[0]
    for dt in (1e-3 * tau, 0.1 * tau, tau, 10 * tau, 1e3 * tau):
        got = m.relax({"x": x0}, dt, 300.0)["x"]
        ref = [solve_ivp(f, (0, dt), [xi], method="LSODA", rtol=1e-12, atol=1e-15).y[0, -1] for xi in x0]
        np.testing.assert_allclose(got, ref, atol=2e-5, rtol=0)


def test_poisson_noise_variance():
    m = ECRAMCurrent(fano=1.0, W=1e-7, L=1e-7, t_ch=1e-8, N_sites=1e28)  # 1e6 sites
    m.seed(7)
    n = 20000
    st = {"x": np.full(n, 0.5)}
    charge = 50 * q_e  # 50 ions per pulse
    new = m.apply_pulse(st, charge / 1e-9, 1e-9, 300.0)
    dn = (new["x"] - 0.5) * m.n_sites_total()
    assert dn.mean() == pytest.approx(50, rel=0.01)
    assert dn.var() == pytest.approx(50, rel=0.05)  # Poisson: var = mean (5 % ~ 5 sigma of the estimate)
    assert np.allclose(dn, np.round(dn), atol=1e-6)  # integer ion numbers
    m2 = m.with_params(fano=4.0)
    m2.seed(7)
    dn2 = (m2.apply_pulse(st, charge / 1e-9, 1e-9, 300.0)["x"] - 0.5) * m.n_sites_total()
    assert dn2.var() == pytest.approx(200, rel=0.05)


def test_simulate_runs_and_is_seeded():
    m = ECRAMVoltage(j0=1e-6)
    train = PulseTrain(np.array([0.3, 0.3, -0.3]), np.full(3, 1e-3), np.full(3, 1.0), np.full(3, 300.0), "V")
    a = simulate(m, train, n_devices=5, seed=3)
    b = simulate(m, train, n_devices=5, seed=3)
    np.testing.assert_array_equal(a.conductance.values, b.conductance.values)
    assert a.conductance.shape == (5, 3)


def test_bad_parameters_rejected():
    with pytest.raises(ValueError, match="carrier density"):
        ECRAMVoltage(n0=1e20, eta_e=-1.0, N_sites=1e28)
    with pytest.raises(ValueError, match="phase-separates"):
        ECRAMVoltage(Omega=3 * KT).apply_pulse({"x": np.array([0.5])}, 0.1, 1e-3, 300.0)


def test_enode_card_reproduces_table(shared_data, repo_root):
    from devicelib.dgtable import dg_statistics, read_dg_table

    card = load_card(repo_root / "models" / "ecram" / "enode_crosssim_fit.toml")
    assert card.kind == "fitted"
    m = card.model()
    inc = dg_statistics(read_dg_table(shared_data / "crosssim-dg-tables" / "ENODe" / "dG_increasing.txt"))
    dec = dg_statistics(read_dg_table(shared_data / "crosssim-dg-tables" / "ENODe" / "dG_decreasing.txt"))
    g = inc["g"].values
    up, _ = m.step_at_conductance(g, -0.5, 10e-3)
    dn, _ = m.step_at_conductance(g, 0.5, 10e-3)
    rmse = np.sqrt(np.mean(np.concatenate([up - inc["mean"].values, dn - dec["mean"].values]) ** 2))
    assert rmse < 0.3e-6  # fit: 0.22 uS on steps of 1-7 uS
    assert rmse == pytest.approx(card.fit["rmse"]["value"], rel=1e-3)
    # the qualitative shape: potentiation shrinks towards the top, depression grows from the bottom
    assert up[0] > 6e-6 and up[-1] < 1e-6
    assert dn[0] > -1.5e-6 and dn[30] < -3e-6


def test_literature_cards_load(repo_root):
    for path in sorted((repo_root / "models" / "ecram").glob("*.toml")):
        card = load_card(path)
        assert card.provenance.get("doi"), path
        assert card.provenance.get("where"), path


def test_write_energy_is_faradaic_work_plus_resistive_losses():
    """Issue 12: the energy was only |V_oc| Q, 0 at half filling for current drive."""
    qe = q_e
    m = get_model("ecram.tang2018_liion").with_params(fano=0.0, R_el=1e6)
    st = {"x": np.array([0.5])}
    i, tp = 1e-9, 1e-6
    new = m.apply_pulse(st, i, tp, 300.0)
    q = abs(new["x"][0] - 0.5) * m.n_sites_total() * m.params["z"] * qe
    assert q == pytest.approx(m.params["eps_F"] * i * tp, rel=1e-9)
    g_mid = m.conductance_of_x(0.5 * (0.5 + new["x"][0]))
    voc = abs(m.open_circuit_voltage(0.5 * (0.5 + new["x"][0])))
    expect = voc * q + (q / tp) ** 2 * tp * (1e6 + 1 / (12 * g_mid))
    e = m.pulse_energy(st, new, i, tp, 300.0)[0]
    assert e == pytest.approx(expect, rel=1e-12)
    assert e > 0.99 * i**2 * 1e6 * tp  # 1 fJ of electrolyte loss where the Faradaic term nearly vanishes
    # voltage drive: |V_g Q| + resistive + electronic leakage V^2 t / R_leak
    mv = get_model("ecram.onen2022_protonic").with_params(fano=0.0)
    st = {"x": np.array([0.5])}
    new = mv.apply_pulse(st, 1.0, tp, 300.0)
    q = abs(new["x"][0] - 0.5) * mv.n_sites_total() * mv.params["z"] * qe
    g_mid = mv.conductance_of_x(0.5 * (0.5 + new["x"][0]))
    expect = 1.0 * q + (q / tp) ** 2 * tp * (mv.params["R_el"] + 1 / (12 * g_mid)) + tp / mv.params["R_leak"]
    assert mv.pulse_energy(st, new, 1.0, tp, 300.0)[0] == pytest.approx(expect, rel=1e-12)


def test_stochastic_ecram_is_fitted_through_its_mean_field():
    """ECRAM draws Poisson ion-number noise per pulse; a fit uses the noise-free expectation (fano = 0)
    and recovers the mobility of synthetic truth, instead of refusing or chasing random draws."""
    from devicelib.fit import fit
    from devicelib.measurement import make_measurement

    truth = get_model("ecram.tang2018_liion")
    card = load_card(find_card("ecram.tang2018_liion"))
    up, down = card.operating_value("amplitude"), card.operating_value("amplitude_down")
    width = card.operating_value("width")
    amps = np.r_[np.full(40, up), np.full(40, down)][None, :]
    st = truth.mean_field().initial_state(1)
    g = np.empty(amps.shape)
    q = truth.mean_field()
    for k, a in enumerate(amps[0]):
        st = q.apply_pulse(st, a, width, 300.0)
        g[0, k] = q.conductance(st, 0.1)[0]
    g *= 1 + 0.002 * np.random.default_rng(3).standard_normal(g.shape)
    data = make_measurement(g, amplitude=amps, width=width, v_read=0.1, amplitude_unit="A", source="synthetic")
    r = fit(truth.with_params(mu0=2 * truth.params["mu0"]), data, vary=["mu0"], initial="model", sigma="0.2%")
    assert r.converged, r.status
    assert r.values["mu0"] == pytest.approx(truth.params["mu0"], rel=0.01)
    assert r.model.params["fano"] == 0.0


# -- bistable OECT (ecram.bistable_oect) ---------------------------------------------------------------

def _oect(**kw):
    base = dict(Omega=0.1 * q_e, z=0.5, V0=0.0, j0=1e-2, fano=0.0, eta_e=-1.0, N_sites=1e27, n0=1e27 * (1 + 1e-4),
                W=100e-6, L=100e-6, t_ch=100e-9, x_init=1e-6)
    base.update(kw)
    return get_model("ecram.bistable_oect", **base)


def test_oect_spinodals_are_the_folds_of_the_equilibrium_curve():
    m = _oect()
    kt = k_B * 300.0
    assert m.is_bistable(300.0) and not _oect(Omega=0.04 * q_e).is_bistable(300.0)
    v_up, v_dn = (float(v) for v in m.spinodal_voltages(300.0))
    # analytic: x_pm = (1 +- sqrt(1 - 2kT/Omega))/2, V = -V_oc(x); symmetric about -V0 = 0
    r = np.sqrt(1 - 2 * kt / (0.1 * q_e))
    xm = 0.5 * (1 - r)
    expect = (kt * np.log(xm / (1 - xm)) + 0.1 * q_e * (1 - 2 * xm)) / (0.5 * q_e)
    assert v_up == pytest.approx(expect, rel=1e-12) and v_dn == pytest.approx(-expect, rel=1e-12)
    assert v_up > 0.05  # 2 Omega r/(zq) - (2kT/zq) ln((1+r)/(1-r)) = hysteresis width > 0.1 V here
    # the equilibrium gate voltage -V_oc(x) is non-monotonic between the spinodals: a fold
    x = np.linspace(0.01, 0.99, 999)
    vg = -m.open_circuit_voltage(x)
    assert vg.max() == pytest.approx(v_up, abs=1e-4) and np.any(np.diff(vg) < 0)
    with pytest.raises(ValueError, match="three roots"):
        m.equilibrium_x(300.0)
    assert np.isnan(_oect(Omega=0.0).spinodal_voltages(300.0)[0])


def test_oect_pulse_matches_solve_ivp_across_a_spinodal_jump():
    m = _oect()
    v_up = float(m.spinodal_voltages(300.0)[0])
    for v, tp in ((v_up + 0.05, 50.0), (v_up - 0.05, 50.0), (-0.5, 5.0)):
        x0 = np.array([1e-3, 0.3, 0.9])
        got = m.apply_pulse({"x": x0}, v, tp, 300.0)["x"]
        ref = [solve_ivp(lambda t, x, v=v: m.insertion_rate(x, v, 300.0), (0, tp), [xi], method="LSODA",
                         rtol=1e-11, atol=1e-14).y[0, -1] for xi in x0]
        assert np.max(np.abs(got - ref)) < 2e-4, (v, got, ref)


def test_oect_quasi_static_sweep_is_hysteretic_between_the_spinodals():
    m = _oect(j0=1e3)  # fast: 1 s steps are quasi-static (slowing down near the fold: a few 10 mV late)
    v_up, v_dn = (float(v) for v in m.spinodal_voltages(300.0))
    vg = np.r_[np.arange(-0.5, 0.5001, 0.01), np.arange(0.5, -0.5001, -0.01)]
    s = m.apply_pulse(m.initial_state(1), vg[0], 1e3, 300.0)
    x = []
    for a in vg:
        s = m.apply_pulse(s, a, 1.0, 300.0)
        x.append(s["x"][0])
    x = np.array(x)
    half = vg.size // 2
    jump_up = vg[:half][np.argmax(x[:half] > 0.5)]
    jump_dn = vg[half:][np.argmax(x[half:] < 0.5)]
    assert v_up <= jump_up < v_up + 0.04 and v_dn - 0.04 < jump_dn <= v_dn
    # the same gate voltage (0) holds two states: the memory of the bistable device; relax keeps them
    assert x[:half][np.argmin(np.abs(vg[:half]))] < 0.1 and x[half:][np.argmin(np.abs(vg[half:]))] > 0.9
    assert m.relax({"x": np.array([0.05, 0.95])}, 1e6, 300.0)["x"] == pytest.approx([0.05, 0.95])


def test_oect_card_fitted_to_the_transfer_sweep(shared_data):
    import importlib.util
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    script = root / "docs" / "scripts" / "fit_oect_bistable.py"
    spec = importlib.util.spec_from_file_location("fit_oect_bistable", script)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    vg, i_d = mod.read_sweep(shared_data / "oect-bistable-transfer" / "Example.csv")
    assert vg.size == 122 and vg.max() == pytest.approx(1.5) and vg[0] == pytest.approx(-1.5)
    card = load_card(root / "models" / "ecram" / "bongartz2024_oect_fit.toml")
    assert card.kind == "fitted"
    pred = np.log10(mod.sweep(card.model(), vg))
    res = pred - np.log10(np.abs(i_d))
    idx = np.arange(vg.size)
    ok = np.abs(i_d) >= mod.I_FLOOR
    assert int((~ok).sum()) == card.fit["excluded"]["ndata"]
    rms = lambda sel: np.sqrt(np.mean(res[sel] ** 2))  # noqa: E731
    # the card's stated statistics are what the card gives on the data
    assert rms(ok & (idx % 2 == 0)) == pytest.approx(card.fit["rmse"]["value"], rel=2e-3)
    assert rms(ok & (idx % 2 == 1)) == pytest.approx(card.fit["holdout"]["rmse"]["value"], rel=2e-3)
    assert card.fit["holdout"]["ndata"] == int((ok & (idx % 2 == 1)).sum())
    # validity.conductance (written by the script): the measured |I_d|/|V_d| range of those points, to 4 digits
    g = np.abs(i_d[ok]) / abs(mod.V_D)
    assert card.validity_range("conductance") == pytest.approx((g.min(), g.max()), rel=5e-4)
    assert g.min() == pytest.approx(5.5e-8, rel=1e-3) and g.max() == pytest.approx(3.065e-3, rel=1e-3)
    # the hysteresis: at V_g = 0 the forward (doped) branch conducts far more than the backward one
    k0 = np.flatnonzero(np.abs(vg) < 1e-9)
    assert pred[k0[0]] - pred[k0[1]] > 1.0 and np.log10(abs(i_d[k0[0]] / i_d[k0[1]])) > 2.0
