"""Fits by name converge without a hand scan: every physics family from a start a decade off.

For each family: synthetic truth (the registered model's values with its ``default_vary`` parameters moved,
log-scaled rate/scale parameters by a decade, energies and other linear ones by 15-30 %), pulse trains at
the operating point of its card (up and down pulses at 1x and 1.2x amplitude and at 10x width: several
conditions separate the parameters), 1 % proportional noise. ``fit(name, data)`` uses the family's
``default_vary`` and the data-driven start (the model's ``guess`` and the objective scan of
devicelib.fit.guess) and must converge to the truth within 5 standard errors or 3 %.
"""

import numpy as np
import pytest

from devicelib import get_model
from devicelib.fit import fit
from devicelib.fit.core import default_vary
from devicelib.measurement import make_measurement
from devicelib.observables import make_observation
from devicelib.simulate import replay

LEVELS = ((1.0, 1.0), (1.2, 1.0), (1.0, 10.0))  # (amplitude factor, width factor) of the three traces


def _train(truth_model, a_up, a_dn, width, v_read, temperature, n=20):
    rows, amps, widths = [], [], []
    for i, (fa, fw) in enumerate(LEVELS):
        amp = np.r_[0.0, np.full(n, a_up * fa), np.full(n, a_dn * fa)][None, :]
        w = np.full_like(amp, width * fw)
        st = truth_model.initial_state(1)
        g = replay(truth_model, st, amp[:, 1:], w[:, 1:], np.zeros_like(w[:, 1:]), np.full_like(w[:, 1:], temperature),
                   v_read)
        g = np.c_[truth_model.conductance(st, v_read)[:, None], g]
        rows.append(g * (1 + 0.01 * np.random.default_rng(i).standard_normal(g.shape)))
        amps.append(amp)
        widths.append(w)
    return make_measurement(np.vstack(rows), np.vstack(amps), np.vstack(widths), v_read=v_read,
                            temperature=temperature, amplitude_unit=truth_model.amplitude_unit, source="synthetic")


# family model, factor per default_vary parameter (truth = default x factor), operating (up, down, width, v_read)
CASES = [
    ("vcm.stanford_pku", {"nu0": 10.0, "gamma0": 1 / 1.3}, (1.0, -1.0, 1e-7, 0.1)),
    ("vcm.interface", {"nu_set": 10.0, "nu_reset": 10.0, "a_hop": 1.15, "phi_hrs": 1.15, "phi_lrs": 1.15},
     (2.5, -2.5, 1e-6, 0.1)),
    ("floating_gate.fn_cell", {"A_tun": 10.0, "phi_b": 1 / 1.3}, (-13.0, 13.0, 1e-5, 0.1)),
    ("ftj.nls_wkb", {"dphi": 1.15, "tau0": 10.0, "Ea": 1.15, "w": 1.15}, (2.5, -2.5, 2e-8, 0.1)),
    ("fefet.nls", {"Ea": 1.3, "V_T0": 1 / 1.3}, (2.1, -2.1, 7.5e-8, 0.1)),
    ("fefet.preisach", {"Ec": 1.15, "a": 1.15}, (2.0, -2.0, 3e-8, 0.1)),
    ("mott.nickelate", {"rho0": 10.0, "nu0": 10.0}, (-2.0, 2.0, 3e-4, 0.1)),
    ("spintronic.dw_mtj", {"R_P": 10.0, "R_AP": 10.0, "mu_dw": 10.0}, (1e-3, -1e-3, 8e-9, 0.1)),
    ("ecram.current", {"mu0": 10.0, "N_sites": 10.0}, (1e-6, -1e-6, 1e-5, 0.1)),
]


@pytest.mark.parametrize("name,factors,op", CASES, ids=[c[0] for c in CASES])
def test_fit_by_name_from_a_decade_off_converges(name, factors, op):
    base = get_model(name)
    assert sorted(factors) == sorted(default_vary(base))
    truth = {k: float(base.params[k]) * f for k, f in factors.items()}
    data = _train(base.with_params(**truth), *op, temperature=300.0)
    r = fit(name, data, sigma="1%", initial="model")
    assert r.converged, r.status
    assert sorted(r.varied) == sorted(factors)
    for k, v in truth.items():
        tol = max(5 * (r.stderr[k] or 0.0), 0.03 * abs(v))
        assert abs(r.values[k] - v) <= tol, (k, r.values[k], v, r.stderr[k])


def test_the_scan_is_what_converges_a_start_three_decades_off():
    """VCM with nu0 three decades above the start: no pulse moves the start model's gap within the
    data's widths, the local fit alone (guess=False) stalls far off; the scan finds the valley."""
    base = get_model("vcm.stanford_pku")
    truth = {"nu0": float(base.params["nu0"]) * 1e3, "gamma0": float(base.params["gamma0"]) / 1.3}
    data = _train(base.with_params(**truth), 1.0, -1.0, 1e-7, 0.1, 300.0)
    without = fit(base, data, sigma="1%", initial="model", guess=False)
    assert not without.converged and without.redchi > 100
    r = fit(base, data, sigma="1%", initial="model", guess=True)
    assert r.converged, r.status
    assert r.redchi < 2 and r.values["nu0"] == pytest.approx(truth["nu0"], rel=0.05)
    assert r.values["gamma0"] == pytest.approx(truth["gamma0"], rel=0.01)


def test_switching_probability_of_the_stochastic_mtj_from_a_decade_off():
    """Spintronic probabilities: the mean field by name, default_vary (E_b, Ic0_p), truth Ic0_p a decade up."""
    base = get_model("spintronic.stochastic_mtj")
    truth = base.mean_field().with_params(Ic0_p=float(base.params["Ic0_p"]) * 10.0)
    current = np.linspace(0.3, 0.8, 12) * float(truth.params["Ic0_p"])
    st = truth.initial_state(current.size)
    p = 1 - truth.apply_pulse(dict(st), current, np.full(12, 1e-8), np.full(12, 300.0))["antiparallel"]
    k = np.random.default_rng(4).binomial(200, p)
    data = make_observation((k / 200)[:, None], "switching_probability", "", current[:, None], 1e-8, trials=200,
                            amplitude_unit="A")
    r = fit("spintronic.stochastic_mtj", data)
    assert r.converged, r.status
    tol = max(5 * r.stderr["Ic0_p"], 0.03 * truth.params["Ic0_p"])
    assert abs(r.values["Ic0_p"] - truth.params["Ic0_p"]) <= tol, (r.values, r.stderr)


@pytest.mark.parametrize("name,truth,rtol", [
    ("mott.nickelate", {"rho0": 7.0}, 1e-6),  # G proportional to 1/rho0 in the fresh film: exact
    ("vcm.interface", {"phi_hrs": 1.1, "phi_lrs": 1.1}, 0.03),  # the fresh read depends weakly on phi_lrs too
    ("ecram.voltage", {"mu0": 7.0}, 1e-6),
])
def test_closed_form_guess_reads_the_first_read(name, truth, rtol):
    """The family's guess maps the measured first read onto the parameter that sets the fresh device's read."""
    m = get_model(name)
    t = m.with_params(**{k: float(m.params[k]) * f for k, f in truth.items()})
    g0 = float(t.conductance(t.initial_state(1), 0.1)[0])
    g = np.array([[g0, 2 * g0], [g0, 3 * g0]])
    out = m.guess(g, None, v_read=0.1) if name != "ecram.voltage" else m.guess(g, None)
    first = next(iter(truth))
    assert out[first] == pytest.approx(float(t.params[first]), rel=rtol)
    # a start that reads the data's first point: the guess did not just return the default
    assert abs(out[first] / float(m.params[first]) - 1) > 0.05
