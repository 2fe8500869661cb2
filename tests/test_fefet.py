"""FeFET family: multi-domain NLS with accumulation, closed-form NLS, Preisach with minor loops."""

from pathlib import Path

import numpy as np
import pytest
from scipy.integrate import quad

from devicelib import get_model
from devicelib.catalog import load_card
from devicelib.physics.fefet import FeFETMultiDomain, FeFETNLS, FeFETPreisach
from devicelib.pulses import concatenate, identical
from devicelib.simulate import simulate

CARDS = Path(__file__).resolve().parents[1] / "models" / "fefet"


def _fraction(m, pol):
    return (np.asarray(pol) / m.params["Pr"] + 1) / 2


def test_nls_is_the_step_limit_of_lorentzian_kai():
    """Closed form = integral of KAI (exponent beta) over a Lorentzian of log10 t0, for beta -> infinity."""
    m = FeFETNLS(w=0.4)
    v = 2.5
    lt1 = np.log10(m.t1(v))
    w = 0.4

    def kai_ensemble(t, beta):
        def integrand(u):
            lorentz = (w / np.pi) / ((u - lt1) ** 2 + w**2)
            z = min(beta * (np.log10(t) - u) * np.log(10.0), 700.0)
            return -np.expm1(-np.exp(z)) * lorentz

        val, _ = quad(integrand, lt1 - 4000 * w, lt1 + 4000 * w, points=[lt1, np.log10(t)], limit=800)
        return val

    st = m.initial_state(1)
    worst_step, worst_soft = 0.0, 0.0
    for dec in (-1.0, -0.3, 0.0, 0.5, 1.2):
        t = 10 ** (lt1 + dec)
        s_model = _fraction(m, m.apply_pulse(st, v, t, 300.0)["polarization"])[0]
        assert s_model == pytest.approx(0.5 + np.arctan(dec / w) / np.pi, abs=1e-12)
        worst_step = max(worst_step, abs(s_model - kai_ensemble(t, 200.0)))
        worst_soft = max(worst_soft, abs(s_model - kai_ensemble(t, 1.0)))
    assert worst_step < 3e-3  # step limit reached
    assert worst_soft > 2e-2  # and a soft KAI (beta = 1) is measurably different


def test_nls_accumulation_n_pulses_equal_one_long_pulse():
    m = FeFETNLS()
    st = m.initial_state(3)
    v = np.array([1.8, 2.2, 3.0])
    one = m.apply_pulse(st, v, 40 * 20e-9, 300.0)
    many = st
    for _ in range(40):
        many = m.apply_pulse(many, v, 20e-9, 300.0)
    assert many["polarization"] == pytest.approx(one["polarization"], rel=1e-9, abs=1e-12)
    # low-field accumulation: one 20 ns pulse at 1.5 V (t1 = 10 us) switches 11 %, 1000 of them 59 %
    m0 = m.initial_state(1)
    many = m0
    for _ in range(1000):
        many = m.apply_pulse(many, 1.5, 20e-9, 300.0)
    single = _fraction(m, m.apply_pulse(m0, 1.5, 20e-9, 300.0)["polarization"])[0]
    acc = _fraction(m, many["polarization"])[0]
    assert single == pytest.approx(0.5 + np.arctan(np.log10(20e-9 / m.t1(1.5)) / m.params["w"]) / np.pi)
    assert single < 0.12 and acc > 0.55


def test_multidomain_accumulation_statistics():
    """Seeded Monte Carlo: 10 pulses of t switch each domain like one pulse of 10 t, 1 - exp(-(N t / tau)^beta)."""
    n, v, t = 400, 2.0, 30e-9
    m = FeFETMultiDomain().seed(7)
    st = m.initial_state(n)
    tau = m.params["tau0"] * np.exp((st["_domain_Ea"] / m.fe_field(v)) ** m.params["alpha"])
    expect = np.mean(-np.expm1(-((10 * t / tau) ** m.params["beta"])))
    many = st
    for _ in range(10):
        many = m.apply_pulse(many, v, t, 300.0)
    one = m.seed(8).apply_pulse(st, v, 10 * t, 300.0)
    f_many = np.mean(many["_domain_s"] > 0)
    f_one = np.mean(one["_domain_s"] > 0)
    sd = np.sqrt(expect * (1 - expect) / st["_domain_s"].size)
    assert 0.1 < expect < 0.9
    assert abs(f_many - expect) < 4 * sd
    assert abs(f_one - expect) < 4 * sd
    # the polarisation state variable is the domain mean
    assert many["polarization"] == pytest.approx(m.params["Pr"] * many["_domain_s"].mean(axis=1))


def test_multidomain_seeded_reproducible_and_stochastic():
    m = get_model("fefet.deng2020_hzo")
    train = identical(20, 2.0, 50e-9)
    a = simulate(m, train, 5, seed=3)
    b = simulate(m, train, 5, seed=3)
    c = simulate(m, train, 5, seed=4)
    assert np.array_equal(a.conductance.values, b.conductance.values)
    assert not np.array_equal(a.conductance.values, c.conductance.values)
    assert m.stochastic


def test_memory_window_about_two_ec_tfe():
    # Preisach with the self-consistent stack: the window emerges from the loop
    for a, tol in ((8.0, 0.12), (40.0, 0.03)):
        m = FeFETPreisach(a=a)
        st = m.initial_state(1)
        prog = m.apply_pulse(st, 5.0, 1e-6, 300.0)
        erase = m.apply_pulse(prog, -5.0, 1e-6, 300.0)
        mw = m.threshold_voltage(erase)[0] - m.threshold_voltage(prog)[0]
        assert mw == pytest.approx(2 * 1e8 * 8e-9, rel=tol)
        assert m.observe(prog)["polarization"][0] > 0 > m.observe(erase)["polarization"][0]
    # the multi-domain model saturates at the Miller-McWhorter window 2 Ec t_FE
    m = FeFETMultiDomain().seed(0)
    st = m.initial_state(1)
    prog = m.apply_pulse(st, 5.0, 1e-3, 300.0)
    assert prog["polarization"][0] == pytest.approx(0.25)
    assert m.threshold_voltage(st)[0] - m.threshold_voltage(prog)[0] == pytest.approx(1.6, rel=1e-9)
    # NLS (heavy arctan tails) approaches it: shift = 2 Ec t_FE * dP / (2 Pr)
    m = FeFETNLS()
    st = m.initial_state(1)
    prog = m.apply_pulse(st, 5.0, 1e-3, 300.0)
    dp = prog["polarization"][0] - st["polarization"][0]
    assert m.threshold_voltage(st)[0] - m.threshold_voltage(prog)[0] == pytest.approx(1.6 * dp / 0.5, rel=1e-9)
    assert dp / 0.5 > 0.9


def test_preisach_minor_loops_nest_and_return():
    m = FeFETPreisach(a=6.0)
    vc = float(m.coercive_voltage())
    st = m.initial_state(1)
    st, _ = m.sweep_fe(st, [-3 * vc])  # negative saturation
    path = [1.0 * vc, -0.5 * vc, 0.6 * vc, -0.1 * vc, 0.6 * vc, -0.5 * vc, 1.0 * vc]
    ps = []
    for v in path:
        st, p = m.sweep_fe(st, np.linspace(st["v_fe"][0], v, 40)[1:])
        ps.append(p[-1, 0])
    p_v1, p_v2, p_v3, p_v4, p_v3b, p_v2b, p_v1b = ps
    # return-point memory: closing an inner loop returns exactly to its turning point
    assert p_v3b == pytest.approx(p_v3, abs=1e-12)
    assert p_v2b == pytest.approx(p_v2, abs=1e-12)
    assert p_v1b == pytest.approx(p_v1, abs=1e-12)
    # nesting: the inner loop (V3, V4) lies inside the outer one (V1, V2)
    assert p_v2 < p_v4 < p_v3 < p_v1
    # wiping-out: the turning-point stack is back to its depth after the first reversal
    assert st["_depth"][0] == 2  # back on the major ascending branch
    # the ascending minor branch from (V4) lies between the major branches
    grid = np.linspace(-0.1 * vc, 0.6 * vc, 7)
    _, p_in = m.sweep_fe(m.sweep_fe(st, np.linspace(vc, -0.1 * vc, 50))[0], grid)
    major_up = m._f(grid, True, 1)
    major_dn = m._f(grid, False, 1)
    assert np.all(p_in[:, 0] >= major_up - 1e-12)
    assert np.all(p_in[:, 0] <= major_dn + 1e-12)


def test_preisach_is_rate_independent_and_partial():
    m = get_model("fefet.ni2018_preisach")
    st = m.initial_state(4)
    out = m.apply_pulse(st, np.array([1.5, 2.0, 2.5, 4.0]), 1e-7, 300.0)
    assert np.all(np.diff(out["polarization"]) > 0)  # partial switching grows with amplitude
    again = m.apply_pulse(out, np.array([1.5, 2.0, 2.5, 4.0]), 1e-7, 300.0)
    assert again["polarization"] == pytest.approx(out["polarization"], abs=1e-9)  # no accumulation


def test_switching_energy_two_pr_a_vc():
    m = FeFETMultiDomain().seed(1)
    st = m.initial_state(1)
    v = 5.0
    new = m.apply_pulse(st, v, 1e-3, 300.0)
    e = m.pulse_energy(st, new, v, 1e-3, 300.0)[0]
    dielectric = m.params["area"] * m.c_gate() * v**2
    dp = new["polarization"][0] - st["polarization"][0]
    assert dp == pytest.approx(2 * m.params["Pr"], rel=1e-3)
    assert e - dielectric == pytest.approx(2 * m.params["Pr"] * m.params["area"] * 1e8 * 8e-9, rel=1e-3)


def test_jerry2017_card_32_states_45x_75ns():
    card = load_card(CARDS / "jerry2017_synapse.toml")
    assert card.provenance["doi"] == "10.1109/IEDM.2017.8268338"
    m = card.model()
    ds = simulate(m, identical(32, 2.1, 75e-9), 1, v_read=0.1)
    g = np.concatenate([ds.conductance_initial.values, ds.conductance.values[0]])
    assert g[-1] / g[0] == pytest.approx(45.0, rel=0.25)
    steps = np.diff(g)
    assert np.all(steps / g[1:] > 0.002)  # 32 distinguishable increasing states


def test_cards_load():
    for name in ("deng2020_hzo", "jerry2017_synapse", "ni2018_preisach"):
        card = load_card(CARDS / f"{name}.toml")
        m = card.model()
        assert card.provenance["doi"]
        assert m.family == "fefet"
    assert get_model("fefet.deng2020_hzo").params["t_FE"] == pytest.approx(8e-9)


def test_observables_and_state_inversion():
    m = FeFETNLS()
    pol = np.array([-0.2, 0.0, 0.15])
    g = m.conductance({"polarization": pol}, 0.1)
    assert m.state_from_conductance(g, 0.1)["polarization"] == pytest.approx(pol, abs=1e-9)
    obs = m.observe({"polarization": pol})
    assert {o.name for o in m.observables} == set(obs)
    assert obs["threshold_voltage"] == pytest.approx(0.5 - 0.8 * pol / 0.25)


def test_nls_parameter_recovery():
    from devicelib.fit import fit
    from devicelib.measurement import concat_traces, from_simulation

    truth = FeFETNLS(tau0=40e-9, w=0.45)
    parts = []
    for v in (2.0, 2.6):
        tr = identical(25, v, 50e-9)
        parts.append(from_simulation(simulate(truth, tr, 1, v_read=0.1), label_prefix=f"V{v}"))
    meas = concat_traces(parts)
    res = fit(FeFETNLS(tau0=15e-9, w=0.8), meas, vary=["tau0", "w"], sigma=1e-9)
    assert res.values["tau0"] == pytest.approx(40e-9, rel=1e-3)
    assert res.values["w"] == pytest.approx(0.45, rel=1e-3)


# -- Preisach: compiled solver against references ------------------------------------------------------------------

def _random_preisach_states(m, n, seed, pulses=60):
    """States with deep, device-specific turning-point histories: random bipolar pulse trains."""
    rng = np.random.default_rng(seed)
    st = m.initial_state(n)
    scale = rng.uniform(0.3, 1.2, n)
    for k in range(pulses):
        st = m.apply_pulse(st, rng.uniform(-4.0, 4.0) * scale * 0.97 ** k, 1e-7, 300.0)
    return st


def _device(st, i):
    return {k: np.asarray(v)[i:i + 1] for k, v in st.items() if not k.startswith("_switched")}


def test_preisach_solver_agrees_with_brentq_and_the_reference_path():
    """Stack and threshold roots from the compiled solver = brentq on the numpy reference path (_move), 1e-11 V."""
    from scipy.optimize import brentq

    m = get_model("fefet.ni2018_preisach")
    n = 30
    st = _random_preisach_states(m, n, seed=11)
    depth = st["_depth"].astype(int)
    assert depth.max() >= 6  # nested minor loops are exercised
    rng = np.random.default_rng(12)
    v_gate = rng.uniform(-5.0, 5.0, n)
    new = m._to_gate(st, v_gate)
    vt = m.threshold_voltage(st)
    cf, ci = float(m.c_fe()), float(m.c_il())
    vs = float(m._vs())
    for i in range(n):
        one = _device(st, i)
        v0 = one["v_fe"][0]

        def stack(v, one=one, i=i):
            return v + (m._move(one, np.array([v]))[0] + cf * v) / ci - (v_gate[i] - 0.5)

        def charge(v, one=one):
            return m._move(one, np.array([v]))[0] + cf * v

        for fun, got in ((stack, new["v_fe"][i]), (charge, vt[i] - 0.5)):
            lo, hi = (v0, vs) if fun(v0) < 0 else (-vs, v0)
            ref = brentq(fun, lo, hi, xtol=1e-15, rtol=4 * np.finfo(float).eps, maxiter=500)
            assert got == pytest.approx(ref, abs=1e-11), (i, fun.__name__)
        # the committed state is the reference path's state at the solver's root
        ref_state = m._move(one, new["v_fe"][i:i + 1], commit=True)
        assert new["polarization"][i] == pytest.approx(ref_state["polarization"][0], abs=1e-14)
        assert new["_depth"][i] == ref_state["_depth"][0]
        d = int(new["_depth"][i])
        assert np.array_equal(new["_tp_v"][i, :d], ref_state["_tp_v"][0, :d])


def test_preisach_compiled_pulses_equal_the_bisection_reference():
    """A random bipolar train through the compiled pulse equals the former numpy bisection (48 halvings)."""
    from devicelib.physics.fefet import _bc

    class Bisection(FeFETPreisach):
        def _to_gate(self, st, v_gate):
            n = st["v_fe"].size
            cf, ci = _bc(self.c_fe(), n), _bc(self.c_il(), n)
            rhs = _bc(v_gate, n) - _bc(self.params["V_T0"], n)
            vs = _bc(self._vs(), n)
            v0 = st["v_fe"]
            upward = v0 + (st["polarization"] + cf * v0) / ci - rhs < 0
            lo, hi = np.where(upward, v0, -vs), np.where(upward, vs, v0)
            for _ in range(48):
                mid = 0.5 * (lo + hi)
                val = mid + (self._move(st, mid) + cf * mid) / ci - rhs
                lo, hi = np.where(val < 0, mid, lo), np.where(val < 0, hi, mid)
            return self._move(st, 0.5 * (lo + hi), commit=True)

        def apply_pulse(self, state, amplitude, width, temperature):
            st = {k: np.array(v, dtype=float) for k, v in state.items() if not k.startswith("_switched")}
            return self._to_gate(self._to_gate(st, amplitude), 0.0)

    card = load_card(CARDS / "ni2018_preisach.toml")
    fast = card.model()
    slow = Bisection(**fast.params)
    rng = np.random.default_rng(5)
    n = 20
    scale = rng.uniform(0.5, 1.5, n)
    a, b = fast.initial_state(n), slow.initial_state(n)
    assert a["polarization"] == pytest.approx(b["polarization"], abs=1e-13)
    for _ in range(80):
        amp = rng.uniform(-4.0, 4.0) * scale
        a, b = fast.apply_pulse(a, amp, 1e-7, 300.0), slow.apply_pulse(b, amp, 1e-7, 300.0)
        assert a["polarization"] == pytest.approx(b["polarization"], abs=1e-12)
        assert a["v_fe"] == pytest.approx(b["v_fe"], abs=1e-11)
        assert fast.conductance(a, 0.1) == pytest.approx(fast.conductance(b, 0.1), rel=1e-9)


# -- cycle-to-cycle noise --------------------------------------------------------------------------------------------

def _assert_valid_preisach(m, st):
    """|P| <= Pr, nested turning points, rest point on its branch and on the gate-0 load line."""
    pol, v = st["polarization"], st["v_fe"]
    n = pol.size
    d = st["_depth"].astype(int)
    tv, tpp = st["_tp_v"], st["_tp_p"]
    assert np.all(np.abs(pol) <= m.params["Pr"] + 1e-12)
    assert np.all((d >= 2) & (d <= m.max_turning_points))
    rows = np.arange(n)
    for i in range(n):
        maxima, minima = tv[i, 0:d[i]:2], tv[i, 1:d[i]:2]
        # nested loops (a turning point reached at the saturation voltage repeats its sentinel)
        assert np.all(np.diff(maxima) <= 0) and np.all(np.diff(minima) >= 0)
        assert minima.max() < maxima.min()
    v1, p1, v2, p2 = tv[rows, d - 1], tpp[rows, d - 1], tv[rows, d - 2], tpp[rows, d - 2]
    assert np.all((v - np.minimum(v1, v2) >= -1e-12) & (np.maximum(v1, v2) - v >= -1e-12))
    asc = (d - 1) % 2 == 1
    f1, f2 = m._f(v1, asc, n), m._f(v2, asc, n)
    on_branch = p1 + (p2 - p1) * (m._f(v, asc, n) - f1) / np.where(f2 != f1, f2 - f1, 1.0)
    assert pol == pytest.approx(on_branch, abs=1e-12)
    cf, ci = m.c_fe(), m.c_il()
    assert v + (pol + cf * v) / ci + m.params["V_T0"] == pytest.approx(np.zeros(n), abs=1e-10)


def test_preisach_c2c_spread_of_the_polarisation_step():
    """Identical devices, one 1.0 V pulse, c2c = 0.1: std(dP)/mean(dP) = 0.1 within 6 % (5.5 standard errors)."""
    from devicelib.variability import Variability

    m = get_model("fefet.ni2018_preisach")
    n, c2c = 4000, 0.1
    train = identical(1, 1.0, 1e-7)
    p0 = m.initial_state(1)["polarization"][0]
    nominal = simulate(m, train, 1).polarization.values[0, 0] - p0
    var = Variability(c2c=c2c)
    ds = simulate(m, train, n, seed=21, variability=var)
    dp = ds.polarization.values[:, 0] - p0
    # sample sd of n normals: standard error sd / sqrt(2 n) = 1.1 % of c2c; the mean: c2c / sqrt(n) = 1.6 %
    assert np.std(dp, ddof=1) / nominal == pytest.approx(c2c, rel=0.06)
    assert np.mean(dp) == pytest.approx(nominal, abs=5 * c2c * nominal / np.sqrt(n))
    assert np.array_equal(ds.polarization.values, simulate(m, train, n, seed=21, variability=var).polarization.values)
    # the noiseless perturbation is the pulse itself (the peak is recovered to 1e-12 of Pr)
    st = m.initial_state(3)
    after = m.apply_pulse(st, np.array([0.8, 1.5, -2.0]), 1e-7, 300.0)
    same = m.perturb_step(st, after, 0.0, 0.0, np.random.default_rng(0))
    assert same["polarization"] == pytest.approx(after["polarization"], abs=1e-12)
    assert same["v_fe"] == pytest.approx(after["v_fe"], abs=1e-10)
    assert np.array_equal(same["_depth"], after["_depth"])


def test_preisach_c2c_keeps_the_hysteresis_state_valid():
    """Strong noise (c2c 0.5, c2c_abs 0.01 C/m^2) over a bipolar train: every state is a valid Preisach state."""
    from devicelib.variability import Variability

    m = get_model("fefet.ni2018_preisach")
    rng = np.random.default_rng(3)
    amps = rng.uniform(-3.0, 3.0, 40)
    train = concatenate([identical(1, a, 1e-7) for a in amps])
    var = Variability(c2c=0.5, c2c_abs=0.01)
    ds = simulate(m, train, 50, seed=4, variability=var)
    again = simulate(m, train, 50, seed=4, variability=var)
    assert np.array_equal(ds.conductance.values, again.conductance.values)
    assert np.all(np.abs(ds.polarization.values) <= m.params["Pr"] + 1e-12)
    # walk the same noise by hand to inspect the hidden stack after every pulse
    st = m.initial_state(50)
    g = np.random.default_rng(9)
    for a in amps:
        st = var.perturb_step(m, st, m.apply_pulse(st, a, 1e-7, 300.0), g)
        _assert_valid_preisach(m, st)
    assert np.ptp(st["polarization"]) > 0.01  # the noise did act


def test_multidomain_c2c_spread_and_consistent_domains():
    """c2c acts on the number of switched domains: spread = c2c (5 % tolerance), P = Pr <s>, fractions in [0, 1]."""
    from devicelib.variability import Variability

    m = FeFETMultiDomain(n_domains=1024).seed(2)
    n, c2c = 2000, 0.1
    st = m.initial_state(n)
    after = m.apply_pulse(st, 2.0, 100e-9, 300.0)
    du = np.sum(after["_domain_s"] > 0, axis=1) - np.sum(st["_domain_s"] > 0, axis=1)
    assert du.min() > 250  # about 36 % of 1024 domains switch
    var = Variability(c2c=c2c)
    ratios = []
    for k in range(10):
        out = var.perturb_step(m, st, after, np.random.default_rng(100 + k))
        s = out["_domain_s"]
        assert set(np.unique(s)) <= {-1.0, 1.0}
        assert out["polarization"] == pytest.approx(m.params["Pr"] * s.mean(axis=1), abs=1e-15)
        assert np.all(out["_domain_h"][s != st["_domain_s"]] == 0.0)  # switched domains restart
        assert np.array_equal(out["_domain_Ea"], st["_domain_Ea"])
        ratios.append((np.sum(s > 0, axis=1) - np.sum(st["_domain_s"] > 0, axis=1)) / du)
    r = np.concatenate(ratios)
    # 20,000 draws: standard error of the sd 0.5 %, of the mean 0.07 %; the integer rounding adds
    # at most 0.25 domain^2 of variance, < 1e-4 of (c2c du)^2
    assert np.std(r, ddof=1) == pytest.approx(c2c, rel=0.05)
    assert np.mean(r) == pytest.approx(1.0, abs=5 * c2c / np.sqrt(r.size))
    # same generator state -> identical result; huge noise stays within [0, 1] up fraction
    a = var.perturb_step(m, st, after, np.random.default_rng(1))
    b = var.perturb_step(m, st, after, np.random.default_rng(1))
    assert np.array_equal(a["_domain_s"], b["_domain_s"])
    wild = Variability(c2c=3.0, c2c_abs=0.2).perturb_step(m, st, after, np.random.default_rng(2))
    up = np.mean(wild["_domain_s"] > 0, axis=1)
    assert np.all((up >= 0) & (up <= 1)) and up.min() == 0.0 and up.max() == 1.0  # clipping reached both ends
    assert np.all(np.abs(wild["polarization"]) <= m.params["Pr"])


def test_multidomain_and_nls_c2c_through_simulate():
    from devicelib.variability import Variability

    var = Variability(c2c=0.3, c2c_abs=0.02)
    m = get_model("fefet.deng2020_hzo")
    train = identical(30, 2.0, 30e-9)
    a = simulate(m, train, 20, seed=5, variability=var)
    b = simulate(m, train, 20, seed=5, variability=var)
    assert np.array_equal(a.polarization.values, b.polarization.values)
    assert np.all(np.abs(a.polarization.values) <= m.params["Pr"] + 1e-15)
    # NLS: the state is P alone; relative spread of the step = c2c, |P| <= Pr under strong noise
    nls = get_model("fefet.jerry2017_synapse")
    one = identical(1, 2.1, 75e-9)
    p0 = nls.initial_state(1)["polarization"][0]
    dp = simulate(nls, one, 4000, seed=6, variability=Variability(c2c=0.1)).polarization.values[:, 0] - p0
    nominal = simulate(nls, one, 1).polarization.values[0, 0] - p0
    assert np.std(dp, ddof=1) / nominal == pytest.approx(0.1, rel=0.06)
    strong = simulate(nls, identical(40, 2.1, 75e-9), 50, seed=7, variability=var)
    assert np.all(np.abs(strong.polarization.values) <= nls.params["Pr"])
    assert np.any(np.abs(strong.polarization.values) == nls.params["Pr"])  # the clip is exercised
