"""ECM (Menzel) family: the series ionic laws, SET-time decades and regimes, Arrhenius, nucleation reduced time,
per-pulse integration against solve_ivp, RESET, multilevel LRS, energy, retention, cards, simulate, fit recovery."""

import numpy as np
import pytest
from _ecm_cases import NM, fine_pulse
from scipy.integrate import quad

from devicelib import get_model
from devicelib.catalog import load_card
from devicelib.physics.ecm import Menzel
from devicelib.pulses import identical, read_after_delay
from devicelib.simulate import simulate
from devicelib.units import k_B, q_e

VT = k_B * 300.0 / q_e


def _laws(m, temp):
    """Prefactors of the two ionic laws (A) and the growth speed per ampere (m/s/A)."""
    p = m.params
    kt = k_B * temp
    area = np.pi * p["r_fil"] ** 2
    i_e0 = p["j0"] * area * np.exp(-p["dG_et"] / kt)
    i_h0 = 2 * p["z"] * q_e * p["c_ion"] * p["a_hop"] * p["nu0"] * area * np.exp(-p["dW_hop"] / kt)
    speed = p["M"] / (p["z"] * q_e * p["rho_m"] * area)
    return i_e0, i_h0, speed


def _i_et(m, eta, temp, cathodic=True):
    """Butler-Volmer current magnitude at overpotential eta (V) > 0 (deposition if cathodic, else dissolution)."""
    p = m.params
    i_e0, _, _ = _laws(m, temp)
    a = 1 - p["alpha_et"] if cathodic else p["alpha_et"]
    s = p["z"] * eta * q_e / (k_B * temp)
    return i_e0 * (np.exp(a * s) - np.exp(-(1 - a) * s))


def test_ionic_current_solves_the_two_laws_in_series(ag):
    """Electron transfer and hopping carry the same current and share the gap voltage (checked by inverting the
    hopping law in closed form); the fast-hopping and fast-transfer limits reduce to the single laws."""
    rng = np.random.default_rng(0)
    p = ag.params
    n = 400
    x = 10 ** rng.uniform(np.log10(0.1 * NM), np.log10(p["L"]), n)
    vg = rng.choice([-1.0, 1.0], n) * 10 ** rng.uniform(-3, np.log10(2.0), n)
    temp = rng.uniform(250, 400, n)
    i = Menzel._ion_current(p, x, vg, temp)
    _, i_h0, _ = _laws(ag, temp)
    beta = p["a_hop"] * q_e / (2 * x * k_B * temp)
    eta_hop = np.arcsinh(i / i_h0) / beta
    eta_et = np.abs(vg) - eta_hop
    assert np.all(eta_et > 0) and np.all(eta_hop > 0)
    back = _i_et(ag, eta_et, temp, cathodic=False)
    back = np.where(vg > 0, _i_et(ag, eta_et, temp), back)
    np.testing.assert_allclose(back, i, rtol=1e-7)
    # limits: hopping made 1e12 times easier -> Butler-Volmer alone; transfer made easy -> hopping alone
    fast_hop = ag.with_params(c_ion=1e30, nu0=1e15, dW_hop=0.0)
    assert Menzel._ion_current(fast_hop.params, 5 * NM, 0.3, 300.0) == pytest.approx(
        _i_et(ag, 0.3, 300.0), rel=1e-4)
    fast_et = ag.with_params(j0=1e25, dG_et=0.0)
    _, i_h0, _ = _laws(ag, 300.0)
    assert Menzel._ion_current(fast_et.params, 5 * NM, 1.0, 300.0) == pytest.approx(
        i_h0 * np.sinh(p["a_hop"] * 1.0 / (2 * 5 * NM * VT)), rel=1e-4)


def test_gap_voltage_includes_the_ionic_current_in_the_divider(ag):
    p = ag.params
    x = np.array([20.0, 5.0, 1.0, 0.3]) * NM
    v = np.array([1.5, 1.5, 0.8, -1.0])
    vg, i = Menzel._gap_solve(p, x, v, 300.0)
    r_tot = p["R_series"] + p["rho_fil"] * (p["L"] - x) / (np.pi * p["r_fil"] ** 2)
    g_tu = Menzel._g_tunnel(p, x)
    np.testing.assert_allclose(vg * (1 + r_tot * g_tu) + np.sign(v) * r_tot * i, v, rtol=1e-10)
    # at 1.5 V with the tip 5 nm from the electrode, 23 uA of Ag+ current drops 0.12 V on R_S + R_fil
    assert i[1] == pytest.approx(2.27e-5, rel=0.01)
    assert v[1] - vg[1] == pytest.approx(i[1] * r_tot[1], rel=1e-9)
    assert v[1] - vg[1] > 0.1
    # before contact the correction is small at low voltage (1.2 uA at 0.8 V, 1 nm)
    assert v[2] - vg[2] == pytest.approx(r_tot[2] * (g_tu[2] * vg[2] + i[2]), rel=1e-9)


def test_set_time_spans_the_published_range_with_three_regimes(ag):
    """Menzel et al. 2012/2013: SET time exponential in voltage over ~12 decades (about 1e2 s at 0.1 V to 1e-10 s
    at 1.5 V for the Ag-based cells), nucleation-limited, electron-transfer-limited, then mixed transfer/hopping."""
    v = np.array([0.05, 0.10, 0.30, 0.40, 0.50, 1.0, 1.2, 1.5, 2.0])
    t = ag.set_time(v)
    assert np.all(np.diff(t) < 0)
    assert 50.0 < t[1] < 200.0  # 104 s at 0.1 V
    assert 5e-11 < t[7] < 2e-10  # 1.8e-10 s at 1.5 V
    assert np.log10(t[1] / t[7]) == pytest.approx(11.76, abs=0.05)
    # nucleation-limited: t_set = t_nuc, slope (N_c + alpha_nuc) z / (V_T ln 10) = 42.0 decades/V
    tn = ag.nucleation_time(v[:2])
    np.testing.assert_allclose(t[:2], tn, rtol=3e-3)
    slope_nuc = np.log10(t[0] / t[1]) / 0.05
    assert slope_nuc == pytest.approx(2.5 / (VT * np.log(10)), rel=2e-3)
    # electron-transfer-limited: slope (1 - alpha_et) z / (V_T ln 10) = 11.76 decades/V, and the growth time is the
    # closed form (L - 1 nm) / (speed * I_et(V)) of Butler-Volmer alone
    slope_et = np.log10(t[2] / t[4]) / 0.2
    assert slope_et == pytest.approx(0.7 / (VT * np.log(10)), rel=5e-3)
    _, i_h0, speed = _laws(ag, 300.0)
    for k in (2, 3):
        t_et = (ag.params["L"] - 1 * NM) / (speed * _i_et(ag, v[k], 300.0))
        assert t[k] - ag.nucleation_time(v[k])[0] == pytest.approx(t_et, rel=2e-4)
    # mixed regime: below 1 decade/V, slower than either law alone (the two overpotentials share the voltage)
    assert np.log10(t[6] / t[8]) / 0.8 < 1.0
    beta_v = ag.params["a_hop"] / (2 * VT)
    t_hop = quad(lambda xx: 1 / (speed * i_h0 * np.sinh(beta_v * 1.5 / xx)), 1 * NM, ag.params["L"], epsrel=1e-10)[0]
    t_et = (ag.params["L"] - 1 * NM) / (speed * _i_et(ag, 1.5, 300.0))
    assert t[7] > 2 * t_hop and t[7] > 1e6 * t_et


def test_set_time_temperature_follows_arrhenius(ag):
    p = ag.params
    t = ag.set_time([0.1, 0.1, 0.4, 0.4], [300.0, 350.0, 300.0, 350.0])
    fac = (1 / 300.0 - 1 / 350.0) / k_B
    # nucleation regime: ln(t300/t350) = (dG_nuc - (N_c + alpha_nuc) z q V) (1/kT300 - 1/kT350) = 6.33
    assert np.log(t[0] / t[1]) == pytest.approx((p["dG_nuc"] - 2.5 * q_e * 0.1) * fac, rel=3e-3)
    # electron-transfer regime: activation dG_et - (1 - alpha) z q V
    assert np.log(t[2] / t[3]) == pytest.approx((p["dG_et"] - 0.7 * q_e * 0.4) * fac, rel=3e-3)


def test_pulse_width_around_set_time(ag):
    v = np.array([0.1, 0.3, 1.5])
    t = ag.set_time(v)
    st = ag.initial_state(3)
    short = ag.apply_pulse(st, v, 0.9 * t, 300.0)
    long = ag.apply_pulse(st, v, 1.1 * t, 300.0)
    assert np.all(short["gap"] > 1 * NM) and np.all(long["gap"] < 1 * NM)


def test_nucleation_is_an_additive_reduced_time():
    m = Menzel()
    v = 0.2
    tn = float(m.nucleation_time(v)[0])
    st = m.initial_state(1)
    for _ in range(2):
        st = m.apply_pulse(st, v, 0.4 * tn, 300.0)
    assert st["nucleation"][0] == pytest.approx(0.8, rel=1e-12)
    assert st["gap"][0] == m.params["L"]  # no growth before a nucleus exists
    three = m.apply_pulse(st, v, 0.4 * tn, 300.0)
    one = m.apply_pulse(m.initial_state(1), v, 1.2 * tn, 300.0)
    assert three["nucleation"][0] == 1.0
    assert three["gap"][0] < m.params["L"]
    assert three["gap"][0] == pytest.approx(one["gap"][0], rel=1e-9)


CASES = [("ag", 0.3, 300.0, 19.0), ("ag", 1.0, 350.0, 8.0), ("ag", 1.5, 300.0, 2.0), ("ag", 2.0, 250.0, 0.3),
         ("ag", -0.3, 300.0, 0.12), ("ag", -1.0, 350.0, 0.5), ("cu", 2.2, 390.0, 0.22), ("cu", -2.0, 300.0, 0.3)]


@pytest.mark.parametrize(("card", "v", "temp", "x0_nm"), CASES)
def test_pulse_integration_matches_solve_ivp(card, v, temp, x0_nm, ag, cu):
    """The docstring's error statement: gap within max(2e-4 |gap change|, 2e-5 nm), energy within 5e-4."""
    m = ag if card == "ag" else cu
    x0 = x0_nm * NM
    widths = 10.0 ** np.arange(-10, -1)
    out = m.apply_pulse({"gap": np.full(widths.size, x0), "nucleation": np.ones(widths.size)}, v, widths, temp)
    ref = fine_pulse(m, v, temp, x0, widths[-1], rtol=1e-10, atol=[1e-22, 1e-30])
    for w, g, e in zip(widths, out["gap"], out["_energy"], strict=True):
        g_ref, e_ref = ref(w)
        assert abs(g - g_ref) <= max(2e-4 * abs(g_ref - x0), 2e-5 * NM), (w, g, g_ref)
        assert e == pytest.approx(e_ref, rel=5e-4), w


def test_reset_dissolves_filament_and_nucleation_restarts():
    m = Menzel()
    on = m.apply_pulse(m.initial_state(1), 1.0, 1e-6, 300.0)
    # growth stalls near contact: the 5 kOhm series resistance takes the voltage (0.19 nm, 0.45 mS)
    assert 0.15 * NM < on["gap"][0] < 0.25 * NM
    assert m.conductance(on, 0.1)[0] == pytest.approx(4.51e-4, rel=0.01)
    off = m.apply_pulse(on, -1.0, 1e-3, 350.0)
    assert off["gap"][0] == m.params["L"]
    assert off["nucleation"][0] == 0.0
    assert m.conductance(off, 0.1)[0] == pytest.approx(m.params["G_el"], rel=1e-6)
    # a SET pulse below the nucleation time now leaves the cell OFF again
    again = m.apply_pulse(off, 0.2, 0.5 * m.nucleation_time(0.2)[0], 300.0)
    assert again["gap"][0] == m.params["L"] and again["nucleation"][0] == pytest.approx(0.5)


def test_series_resistance_sets_the_on_state():
    # Menzel et al. 2012: the tunnelling gap left after a SET, hence the LRS, is set by the series resistance
    m = Menzel()
    g = []
    for rs in (20e3, 5e3, 1e3):
        st = m.with_params(R_series=rs).apply_pulse(m.initial_state(1), 0.6, 1e-3, 300.0)
        g.append(m.conductance(st, 0.1)[0])
    assert g[0] < g[1] < g[2]
    assert g[0] == pytest.approx(3.57e-4, rel=0.01) and g[2] / g[0] > 4.0


def test_tunnelling_read_is_exponential_in_the_gap():
    m = Menzel(rho_fil=1e-9, G_el=1e-15)
    p = m.params
    kappa = 4 * np.pi * np.sqrt(2 * p["m_eff"] * 9.1093837015e-31 * p["phi_b"]) / 6.62607015e-34
    assert kappa == pytest.approx(9.16e9, rel=1e-3)  # 9.16 /nm for 2 eV, m* = 0.4
    x = np.array([1.0, 1.5]) * NM
    g = m.conductance({"gap": x, "nucleation": np.ones(2)}, 0.1)
    assert np.log(g[0] / g[1]) == pytest.approx(kappa * 0.5 * NM + np.log(1.5), rel=1e-3)


def test_energy_and_state_inversion():
    m = Menzel()
    st = {"gap": np.array([0.3, 0.8, 1.5, 20.0]) * NM, "nucleation": np.ones(4)}
    g = m.conductance(st, 0.1)
    back = m.state_from_conductance(g, 0.1)
    np.testing.assert_allclose(back["gap"][:3], st["gap"][:3], rtol=1e-9)
    assert back["nucleation"][3] == 0.0 and back["gap"][3] == m.params["L"]
    # a pulse held at contact dissipates V_dev * I (device only, not R_series) over the pulse
    on = {"gap": np.array([m.params["x_min"]]), "nucleation": np.ones(1)}
    new = m.apply_pulse(on, 0.5, 1e-6, 300.0)
    gt = m._g_tunnel(m.params, m.params["x_min"])
    rf = m._r_fil(m.params, m.params["x_min"])
    i = 0.5 / (m.params["R_series"] + rf + 1 / gt)
    vdev = i * (rf + 1 / gt)
    assert m.pulse_energy(on, new, 0.5, 1e-6, 300.0)[0] == pytest.approx(
        (vdev * i + m.params["G_el"] * vdev**2) * 1e-6, rel=1e-3)


def test_retention_gibbs_thomson_dissolution():
    """gamma_s > 0: the tip dissolves at rest under eta = 2 gamma Omega / (z q r); electron transfer limits it."""
    assert not Menzel().volatile
    st = {"gap": np.array([0.3 * NM]), "nucleation": np.ones(1)}
    assert Menzel().relax(st, 1e3, 400.0) is st
    m = Menzel(gamma_s=1.2)
    assert m.volatile
    p = m.params
    eta = 2 * 1.2 * (p["M"] / p["rho_m"]) / (q_e * p["r_fil"])
    assert eta == pytest.approx(0.128, rel=2e-3)
    _, _, speed = _laws(m, 300.0)
    rate = m.retention_rate([0.3 * NM, 3 * NM], 300.0)
    assert rate[0] == pytest.approx(speed * _i_et(m, eta, 300.0, cathodic=False), rel=1e-3)
    assert rate[1] == pytest.approx(rate[0], rel=1e-3)  # gap-independent: the gap opens linearly in time
    after = m.relax(st, 5e-3, 300.0)
    assert after["gap"][0] == pytest.approx(0.3 * NM + rate[0] * 5e-3, rel=1e-3)
    # Arrhenius: electron-transfer activation at the dissolution overpotential
    r350 = m.retention_rate(0.3 * NM, 350.0)
    assert r350 / rate[0] == pytest.approx(speed * _i_et(m, eta, 350.0, False) / (speed * _i_et(m, eta, 300.0, False)),
                                           rel=1e-3)
    # thinner filaments are less stable
    assert m.with_params(r_fil=1 * NM).retention_rate(0.3 * NM)[0] > 2 * rate[0]
    # through simulate: a SET pulse, then reads after delays; the filament dissolves and must nucleate again
    train = identical(1, 1.0, 1e-6) + read_after_delay([1e-4, 1e-3, 1e-2, 1.0])
    ds = simulate(m, train, 2, v_read=0.1)
    g = ds["conductance"].values[0]
    assert np.all(np.diff(g) < 0) and g[0] > 1e-4
    assert g[-1] == pytest.approx(p["G_el"], rel=1e-6) and ds["nucleation"].values[0, -1] == 0.0


def test_cards_load_and_simulate(repo_root, ag):
    agc = load_card(repo_root / "models" / "ecm" / "menzel2013_ag.toml")
    cuc = load_card(repo_root / "models" / "ecm" / "schindler2009_cu_sio2.toml")
    assert agc.provenance["doi"] == "10.1039/C3CP50738F"
    assert cuc.provenance["doi"] == "10.1063/1.3077310"
    for card in (agc, cuc):
        assert card.model_name == "ecm.menzel" and not card.defaulted
        assert card.validity_range("temperature") == (250.0, 400.0)
        # every kinetic value is marked as an estimate; only handbook constants carry a source
        for name in ("j0", "dG_et", "dW_hop", "t0_nuc", "dG_nuc", "N_c", "gamma_s"):
            assert card.parameters[name].estimate
        assert card.parameters["M"].source and not card.parameters["M"].estimate
        assert not card.model().volatile
    assert agc.model().params["M"] == pytest.approx(107.8682 * 1.66053907e-27, rel=1e-6)
    assert cuc.model().params["M"] == pytest.approx(1.055e-25, rel=1e-3)  # physics notes: Cu 1.055e-25 kg
    assert cuc.model().params["rho_m"] == pytest.approx(8960.0)
    # the class defaults are the Ag card
    for k, val in agc.model().params.items():
        assert Menzel().params[k] == pytest.approx(val, rel=1e-4), k
    # Cu/SiO2 (card notes: ~1e5 s at 0.2 V, ~1 s at 0.5 V, ~5 us at 3 V) is slower than Ag at every voltage
    t_cu = cuc.model().set_time([0.2, 0.5, 3.0])
    assert 3e4 < t_cu[0] < 3e5 and 0.3 < t_cu[1] < 3.0 and 1e-6 < t_cu[2] < 1e-5
    assert np.all(cuc.model().set_time([0.3, 1.0]) > 10 * ag.set_time([0.3, 1.0]))
    # both cards through devicelib.simulate: SET pulses switch on, RESET pulses switch off
    for name, up, down in (("ecm.menzel2013_ag", 0.5, -1.0), ("ecm.schindler2009_cu_sio2", 1.5, -2.5)):
        m = get_model(name)
        ds = simulate(m, identical(4, up, 1e-4) + identical(4, down, 1e-3, temperature=350.0), 3, seed=1)
        g = ds["conductance"].values
        assert np.all(g[:, 3] > 1e-4) and np.allclose(g[:, -1], m.params["G_el"], rtol=1e-6)
        assert np.all(ds["energy"].values > 0)
        assert ds["energy"].attrs["units"] == "J"


def test_per_device_parameters_match_single_devices():
    """Parameter arrays (device-to-device variability) run in one call and equal the devices run one by one."""
    j0 = np.array([2e11, 6e11, 2e12])
    rf = np.array([1.5e-9, 2e-9, 3e-9])
    many = Menzel(j0=j0, r_fil=rf)
    st = {"gap": np.array([5e-9, 1e-9, 20e-9]), "nucleation": np.array([1.0, 1.0, 0.0])}
    out = many.apply_pulse(st, np.array([0.4, -0.6, 0.5]), 1e-5, np.array([300.0, 350.0, 320.0]))
    for k, (v, temp) in enumerate([(0.4, 300.0), (-0.6, 350.0), (0.5, 320.0)]):
        one = Menzel(j0=j0[k], r_fil=rf[k]).apply_pulse({n: a[k:k + 1] for n, a in st.items()}, v, 1e-5, temp)
        assert out["gap"][k] == one["gap"][0] and out["_energy"][k] == one["_energy"][0]
    with pytest.raises(ValueError, match="per-device parameters"):
        many.apply_pulse(Menzel().initial_state(2), 0.4, 1e-5, 300.0)


def test_bad_input_is_named():
    with pytest.raises(ValueError, match="x_min must be smaller than L"):
        Menzel(x_min=2e-9, L=2e-9)
    with pytest.raises(ValueError, match="gamma_s"):
        Menzel(gamma_s=-1.0)
    with pytest.raises(ValueError, match="conductance must be positive"):
        Menzel().state_from_conductance([1e-6, -1e-6], 0.1)
    with pytest.raises(ValueError, match="one voltage per device"):
        Menzel(r_fil=np.array([2e-9, 3e-9])).set_time([0.3, 0.4, 0.5])


def test_parameter_recovery_with_devicelib_fit():
    """Gradual SET trains near contact at two voltages and two temperatures, 2 uS read noise: devicelib.fit
    recovers the electron-transfer prefactor, transfer coefficient and barrier (j0 and dG_et separate only
    because two temperatures are fitted together)."""
    from devicelib.fit import fit
    from devicelib.measurement import concat_traces, from_simulation

    truth = Menzel()
    rng = np.random.default_rng(1)
    sigma = 2e-6
    parts = []
    for v, w, temp in [(0.35, 1e-4, 300.0), (0.45, 1e-5, 300.0), (0.35, 1e-5, 350.0)]:
        st = {"gap": np.array([0.3 * NM]), "nucleation": np.array([1.0])}
        ds = simulate(truth, identical(8, v, w, temperature=temp), 1, v_read=0.1, state=st, seed=0)
        meas = from_simulation(ds, label_prefix=f"V{v}T{temp:.0f}")
        meas["conductance"].values[:] += sigma * rng.standard_normal(meas["conductance"].shape)
        parts.append(meas)
    start = Menzel(j0=1e11, alpha_et=0.4, dG_et=0.55 * q_e)
    res = fit(start, concat_traces(parts), vary=["j0", "alpha_et", "dG_et"], sigma=sigma)
    assert res.converged, res.status
    for name, true in (("j0", 6e11), ("alpha_et", 0.3), ("dG_et", 0.6 * q_e)):
        assert abs(res.values[name] - true) < 4 * res.stderr[name], name
    assert res.values["j0"] == pytest.approx(6e11, rel=0.05)
    assert res.values["alpha_et"] == pytest.approx(0.3, rel=0.02)
    assert res.values["dG_et"] / q_e == pytest.approx(0.6, abs=0.005)


def test_warm_started_divider_solve_equals_the_cold_solve(ag, cu):
    """The pulse integrator solves the divider and the split together (2-D Newton from the previous solution along
    the trajectory); from perturbed or useless starts it returns the cold nested solve's root to 1e-11."""
    from devicelib.physics.ecm import _consts, _gap, _pack

    rng = np.random.default_rng(3)
    for m, vmax in ((ag, 2.0), (cu, 3.0)):
        q = _pack(m.params, 1)[0]
        L = m.params["L"]
        worst_i = worst_v = 0.0
        for _ in range(300):
            x = 10 ** rng.uniform(np.log10(0.11 * NM), np.log10(L))
            v = rng.choice([-1.0, 1.0]) * rng.uniform(0.05, vmax)
            c = _consts(rng.uniform(250, 400), v, False, q)
            vg, i, _, _, mag, phi = _gap(x, v, c, 0.0, 0.0, False)
            for m0, p0 in ((mag * rng.uniform(0.8, 1.2), phi + rng.uniform(-1, 1)), (10 * abs(v), -600.0)):
                vg2, i2, _, _, _, _ = _gap(x, v, c, m0, p0, True)
                worst_i = max(worst_i, abs(i2 / i - 1))
                worst_v = max(worst_v, abs(vg2 - vg) / abs(v))
        assert worst_i < 1e-11 and worst_v < 1e-12, (worst_i, worst_v)


def test_serial_and_parallel_kernels_agree():
    """From PARALLEL_MIN devices the pulse runs in the parallel kernel: the same numbers as in serial chunks."""
    from devicelib.physics.ecm import PARALLEL_MIN

    m = Menzel()
    n = 2 * PARALLEL_MIN
    rng = np.random.default_rng(4)
    st = {"gap": 10 ** rng.uniform(-10, np.log10(20e-9), n), "nucleation": rng.choice([0.0, 0.5, 1.0], n)}
    v = rng.choice([-1.0, 1.0], n) * rng.uniform(0.2, 1.5, n)
    w = 10 ** rng.uniform(-9, -3, n)
    whole = m.apply_pulse(st, v, w, 320.0)
    k = PARALLEL_MIN // 4
    for s in range(0, n, k):
        part = m.apply_pulse({key: a[s:s + k] for key, a in st.items()}, v[s:s + k], w[s:s + k], 320.0)
        for key in ("gap", "nucleation", "_energy"):
            np.testing.assert_array_equal(whole[key][s:s + k], part[key])


# -- stochastic nucleation (nuc_stochastic = 1) ---------------------------------------------------------------------


def test_stochastic_nucleation_fraction_follows_the_exponential_law():
    """Each device nucleates at E t_nuc, E ~ Exp(1): after a pulse of t the nucleated fraction is 1 - exp(-t/t_nuc)
    within 4 binomial standard deviations (20,000 devices); the others keep the progress t / (E t_nuc); a pulse cut in
    four nucleates the same devices as the whole pulse (the hazard adds up per device)."""
    m = Menzel(nuc_stochastic=1).seed(11)
    assert m.stochastic and not Menzel().stochastic
    n, v = 20_000, 0.1
    tn = m.nucleation_time(v)[0]
    assert tn == pytest.approx(104.0, rel=0.01)
    L = m.params["L"]
    for f in (0.1, 0.5, 1.0, 2.0):
        st = m.initial_state(n)
        out = m.apply_pulse(st, v, f * tn, 300.0)
        hit = out["nucleation"] == 1.0
        p = 1.0 - np.exp(-f)
        assert abs(hit.mean() - p) < 4.0 * np.sqrt(p * (1.0 - p) / n), (f, hit.mean(), p)
        assert np.all(out["gap"][hit] < L) and np.all(out["gap"][~hit] == L)
        np.testing.assert_allclose(out["nucleation"][~hit], f / st["_nuc_threshold"][~hit], rtol=1e-12)
    st = m.initial_state(n)
    whole = m.apply_pulse(st, v, tn, 300.0)
    cut = st
    for _ in range(4):
        cut = m.apply_pulse(cut, v, tn / 4, 300.0)
    np.testing.assert_array_equal(cut["nucleation"] == 1.0, whole["nucleation"] == 1.0)
    np.testing.assert_allclose(cut["nucleation"], whole["nucleation"], rtol=1e-12)


def test_stochastic_set_time_mean_spread_and_narrowing():
    """SET time = E t_nuc + t_growth: mean t_nuc + t_growth (within 4 standard errors), standard deviation t_nuc (4
    standard errors: sqrt(2/n) relative for an exponential), so the relative spread t_nuc / (t_nuc + t_growth) falls
    from 1.0 at 0.1 V (nucleation-limited) to 0.29 at 0.2 V and 4e-4 at 0.3 V (growth-limited)."""
    det = Menzel()
    m = Menzel(nuc_stochastic=1).seed(5)
    n = 20_000
    cv = {}
    for v in (0.1, 0.2, 0.3):
        tn = det.nucleation_time(v)[0]
        tg = det.set_time(v)[0] - tn
        t = m.set_time(np.full(n, v))
        assert t.mean() == pytest.approx(tn + tg, abs=4 * tn / np.sqrt(n)), v
        assert t.std() == pytest.approx(tn, rel=4 * np.sqrt(2 / n)), v
        assert np.all(t > tg * (1 - 1e-9))  # never faster than growth alone
        cv[v] = (t.std() / t.mean(), tn / (tn + tg))
    assert cv[0.1][1] == pytest.approx(0.998, abs=1e-3) and cv[0.1][0] == pytest.approx(cv[0.1][1], rel=0.05)
    assert cv[0.2][1] == pytest.approx(0.293, abs=2e-3) and cv[0.2][0] == pytest.approx(cv[0.2][1], rel=0.05)
    assert cv[0.3][0] < 1e-3 and cv[0.3][0] == pytest.approx(cv[0.3][1], rel=0.05)
    # device by device: the growth after the nucleation event is the deterministic one (same integration)
    e = np.array([0.01, 0.5, 1.0, 3.0])
    tn, tg = det.nucleation_time(0.2)[0], det.set_time(0.2)[0] - det.nucleation_time(0.2)[0]
    st = det.initial_state(4)
    _, _, _, elapsed = m._run(st["gap"], st["nucleation"], 0.2, 300.0, np.inf, stop_gap=1 * NM, e_nuc=e)
    np.testing.assert_allclose(elapsed, e * tn + tg, rtol=1e-12)


def test_deterministic_nucleation_is_the_default_and_draws_nothing():
    """nuc_stochastic = 0 (default, both cards): no thresholds in the state, no random numbers drawn, the committed
    reduced-time results (104 s at 0.1 V); nominal() of a stochastic model is the deterministic one."""
    for m in (Menzel(), Menzel(nuc_stochastic=0.0), get_model("ecm.menzel2013_ag"),
              get_model("ecm.schindler2009_cu_sio2")):
        assert m.params["nuc_stochastic"] == 0.0 and not m.stochastic and m.nominal() is m
        m.seed(1)
        st = m.initial_state(3)
        assert "_nuc_threshold" not in st
        out = m.apply_pulse(st, np.array([0.1, 0.3, -1.0]), 1e-3, 300.0)
        assert "_nuc_threshold" not in out
        assert m.rng.random() == np.random.default_rng(1).random()  # the generator was not touched
    assert Menzel().set_time(0.1)[0] == Menzel(nuc_stochastic=0.0).set_time(0.1)[0] == pytest.approx(104.4, rel=1e-3)
    s = Menzel(nuc_stochastic=1)
    assert s.nominal().params["nuc_stochastic"] == 0.0 and not s.nominal().stochastic
    assert s.nominal().set_time(0.1)[0] == Menzel().set_time(0.1)[0]
    with pytest.raises(ValueError, match=r"nuc_stochastic = 0\.5"):
        Menzel(nuc_stochastic=0.5)


def test_stochastic_nucleation_is_seeded_and_redrawn_after_reset():
    """Seeded runs repeat exactly (another seed differs); a RESET that dissolves the filament draws a new, independent
    Exp(1) threshold (mean 1 and correlation 0 within 4/sqrt(n)); a filament dissolved at rest (gamma_s > 0) too."""
    m = Menzel(nuc_stochastic=1)
    train = identical(3, 0.2, 5e-3) + identical(2, -1.0, 1e-3, temperature=350.0) + identical(3, 0.2, 5e-3)
    a, b, c = (simulate(m, train, 300, seed=s) for s in (3, 3, 4))
    np.testing.assert_array_equal(a.conductance.values, b.conductance.values)
    np.testing.assert_array_equal(a.nucleation.values, b.nucleation.values)
    assert not np.array_equal(a.nucleation.values, c.nucleation.values)
    n = 20_000
    m.seed(9)
    st = m.initial_state(n)
    on = m.apply_pulse(st, 1.0, 1e-6, 300.0)  # t_nuc ~ 1e-36 s at 1 V: every device nucleates and reaches contact
    assert np.all(on["nucleation"] == 1.0) and np.all(on["gap"] < 0.25 * NM)
    np.testing.assert_array_equal(on["_nuc_threshold"], st["_nuc_threshold"])
    off = m.apply_pulse(on, -1.0, 1e-3, 350.0)
    assert np.all(off["gap"] == m.params["L"]) and np.all(off["nucleation"] == 0.0)
    e1, e2 = st["_nuc_threshold"], off["_nuc_threshold"]
    assert np.all(e1 != e2)
    assert e2.mean() == pytest.approx(1.0, abs=4 / np.sqrt(n))
    assert e2.std() == pytest.approx(1.0, rel=4 * np.sqrt(2 / n))
    assert abs(np.corrcoef(e1, e2)[0, 1]) < 4 / np.sqrt(n)
    # at rest: a filament dissolved by Gibbs-Thomson must nucleate again with a new threshold; a cell at L keeps its
    g = Menzel(nuc_stochastic=1, gamma_s=1.2).seed(2)
    st = {"gap": np.array([0.3 * NM, 20 * NM]), "nucleation": np.array([1.0, 0.4]),
          "_nuc_threshold": np.array([2.0, 2.0])}
    rest = g.relax(st, 10.0, 300.0)
    assert rest["gap"][0] == g.params["L"] and rest["nucleation"][0] == 0.0 and rest["_nuc_threshold"][0] != 2.0
    assert rest["nucleation"][1] == 0.4 and rest["_nuc_threshold"][1] == 2.0


def test_stochastic_nucleation_of_a_state_without_thresholds_is_memoryless():
    """A hand-built state (no thresholds) with progress xi: the hazard xi is taken as done and the remainder drawn
    fresh, so the fraction nucleating within t is again 1 - exp(-t/t_nuc) (4 binomial standard deviations)."""
    m = Menzel(nuc_stochastic=1).seed(13)
    n, v = 20_000, 0.15
    tn = m.nucleation_time(v)[0]
    st = {"gap": np.full(n, m.params["L"]), "nucleation": np.full(n, 0.7)}
    out = m.apply_pulse(st, v, 0.5 * tn, 300.0)
    p = 1 - np.exp(-0.5)
    hit = out["nucleation"] == 1.0
    assert abs(hit.mean() - p) < 4 * np.sqrt(p * (1 - p) / n)
    assert np.all((out["_nuc_threshold"] > 0.7) | hit)


# -- gradual RESET by lateral dissolution (reset_mode = 1, issue 12) ----------------------------------------
def _set_then_reset(mode, v=-1.6, max_pulses=3000):
    m = get_model("ecm.menzel2013_ag").with_params(reset_mode=mode)
    st = m.apply_pulse(m.initial_state(1), 1.0, 1e-6, 300.0)
    g = [m.conductance(st, 0.1)[0]]
    for _ in range(max_pulses):
        st = m.apply_pulse(st, v, 1e-6, 300.0)
        g.append(m.conductance(st, 0.1)[0])
        if st["gap"][0] >= 0.95 * m.params["L"]:
            break
    return m, st, np.array(g)


def test_gradual_reset_thins_the_filament_before_it_ruptures():
    # rupture (Menzel, mode 0): the gap runs away within 17 pulses of -1.6 V / 1 us, 44 % of the window in one
    _, _, g0 = _set_then_reset(0.0)
    share0 = np.max(-np.diff(g0)) / (g0[0] - g0[-1])
    assert len(g0) - 1 < 30 and share0 > 0.35
    # lateral dissolution first (mode 1): ~200 pulses, largest single step < 25 % of the window, monotone
    m, st, g1 = _set_then_reset(1.0)
    share1 = np.max(-np.diff(g1)) / (g1[0] - g1[-1])
    assert len(g1) - 1 > 100 and share1 < 0.25
    assert np.all(np.diff(g1) <= 0)
    assert st["_radius"][0] == pytest.approx(m.params["r_min"])
    # a SET pulse closes the gap to contact and thickens the bridge back to r_fil
    st = m.apply_pulse(st, 1.0, 1e-6, 300.0)
    assert st["gap"][0] <= m.params["x_contact"] and st["_radius"][0] == pytest.approx(m.params["r_fil"])


def test_bridge_conductance_scales_with_the_filament_cross_section():
    m = get_model("ecm.menzel2013_ag").with_params(reset_mode=1.0)
    x = np.array([0.2e-9, 0.25e-9])
    full = m.conductance({"gap": x, "nucleation": np.ones(2), "_radius": np.full(2, 2e-9)}, 0.1)
    half = m.conductance({"gap": x, "nucleation": np.ones(2), "_radius": np.full(2, 1e-9)}, 0.1)
    g_el = m.params["G_el"]
    # tunnelling conductance and filament conductance both scale with pi r^2: the bridge by (1/2)^2
    assert half - g_el == pytest.approx(0.25 * (full - g_el), rel=1e-12)
    with pytest.raises(ValueError, match="reset_mode"):
        m.with_params(reset_mode=0.5)
    assert get_model("ecm.menzel2013_ag_gradual").params["reset_mode"] == 1.0  # chosen per card
    assert get_model("ecm.menzel2013_ag").params["reset_mode"] == 0.0
