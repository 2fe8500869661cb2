"""PCM multi-level SET: staircase statistics, distinguishable levels and the drive-current sensitivity.

Literature reference. The accumulative-SET model of Nandakumar et al., J. Appl. Phys. 124, 152135 (2018)
could not be read here (only titles and abstracts were reachable): none of its own figures is verified.
The reference numbers below are those of a public simplification of that model, YigitDemirag/meta-analog
``analog.py`` (commit 1669e59b, Y. Demirag, FZ Juelich 2022; "a simplified version of the empirical PCM model
introduced in Nandakumar et al., 2018"): after a RESET to G0 = 0.1 uS, each SET pulse adds
dG ~ N(0.892 - 0.084 G, (0.575 + 0.09 G)^2) uS. They are a secondary source, used as such: the tests compare
the shape and the ratios (step spread over step mean, pulses to saturation), not absolute conductances
(that reference saturates near 10.6 uS, the Joshi card at 25 uS).
"""

import numpy as np
import pytest

from devicelib import get_model
from devicelib.physics.pcm import distinguishable_levels, set_staircase, set_step_sensitivity

W = 50e-9


def reference_staircase(n_pulses=30, n_devices=3000, seed=0):
    """Monte Carlo of the reference's per-pulse update (uS), conductance clipped at G_min = 0.1 uS."""
    rng = np.random.default_rng(seed)
    g = 0.1 + 0.01 * rng.standard_normal(n_devices)
    out = [g.copy()]
    for _ in range(n_pulses):
        g = np.maximum(g + (0.892 - 0.084 * g) + (0.575 + 0.09 * g) * rng.standard_normal(n_devices), 0.1)
        out.append(g.copy())
    return np.array(out).T


def stats(g):
    mu, sd = g.mean(0), g.std(0)
    d = np.diff(g, axis=1)
    dm, ds = d.mean(0), d.std(0)
    first = int(np.argmax(dm > 0.8 * dm.max()))  # first full step of the staircase
    return {"mu": mu, "sd": sd, "step": dm, "step_sd": ds, "first": first, "cv_first": ds[first] / dm[first],
            "n90": int(np.argmax(mu >= mu[0] + 0.9 * (mu[-1] - mu[0]))),
            "largest": dm.max() / (mu[-1] - mu[0]), "levels": distinguishable_levels(mu, sd).size}


@pytest.fixture(scope="module")
def ref():
    return stats(reference_staircase())


@pytest.fixture(scope="module")
def joshi():
    return get_model("pcm.joshi2020_statistical")


def test_reference_numbers(ref):
    # what the reference model gives under the same protocol (30 pulses, 3000 devices)
    assert ref["step"][0] == pytest.approx(0.89 - 0.084 * 0.1, abs=0.05)
    assert ref["cv_first"] == pytest.approx(0.60, abs=0.06)
    assert ref["n90"] == pytest.approx(21, abs=2)
    assert ref["levels"] == 4  # its update noise accumulates: sigma 3.6 uS after 30 pulses
    assert ref["sd"][-1] == pytest.approx(3.6, abs=0.3)


def test_card_operating_condition_is_still_coarse(joshi, ref):
    # 400 uA RESET (35 nm plug), 194 uA SET: 4 pulses thin the dome to the heater radius, then ~5 pulses span
    # the window: the largest mean step is 27 % of it, 90 % is reached after 9 pulses (reference: 21)
    s = stats(set_staircase(joshi.seed(1), 400e-6, 194e-6, W, 30, 2000) * 1e6)
    assert s["largest"] == pytest.approx(0.27, abs=0.03)
    assert s["n90"] == pytest.approx(9, abs=1)
    assert s["cv_first"] == pytest.approx(0.15, abs=0.05)  # the reference's 0.60 is four times larger
    assert s["largest"] > 2.5 * ref["largest"]  # reference: 9.4 % of its 30-pulse range


def test_multilevel_condition_matches_the_reference_shape(joshi, ref):
    # 310 uA RESET (plug 21.2 nm, just over the 20 nm heater) and 180 uA SET (T_peak 511 K, 0.68 nm per pulse):
    # the SET walks the annulus branch, whose mean step falls linearly with G as in the reference
    s = stats(set_staircase(joshi.seed(1), 310e-6, 180e-6, W, 30, 2000) * 1e6)
    f = s["first"]  # from the first full step (pulse 2; pulse 1 still thins the dome to the heater radius)
    b, a = np.polyfit(s["mu"][f:-1], s["step"][f:], 1)
    assert a == pytest.approx(1.38, abs=0.1) and b == pytest.approx(-0.040, abs=0.006)  # reference: 0.89, -0.084
    assert np.corrcoef(s["mu"][f:-1], s["step"][f:])[0, 1] < -0.95
    assert s["largest"] == pytest.approx(0.055, abs=0.01)
    # ratios against the reference: spread of the first full step and pulses to 90 % of the staircase
    assert s["cv_first"] == pytest.approx(ref["cv_first"], abs=0.1)
    assert s["n90"] == pytest.approx(ref["n90"], rel=0.3)
    # known difference: devicelib redraws the programming error at every pulse around the deterministic plug
    # (it does not accumulate), so open-loop pulse counting separates more levels (10) than the reference (4)
    assert s["levels"] == pytest.approx(10, abs=1)
    assert s["sd"][-1] == pytest.approx(1.4, abs=0.15)


def test_drive_sensitivity_is_the_growth_kinetics():
    m = get_model("pcm.sebastian2014_gst")
    lo, hi, elasticity = set_step_sensitivity(m, 194e-6)
    # +-2 % current: T_peak - T0 = R_th R_prog I^2 moves by +-4 % (+-9.8 K at 544.6 K); the growth velocity's
    # apparent activation (1.1 eV at 550 K) turns it into -37 % / +52 % of the plug step
    assert lo == pytest.approx(-0.368, abs=0.005) and hi == pytest.approx(0.517, abs=0.005)
    assert elasticity == pytest.approx(21.9, abs=0.3)
    # the step in u_a is the same on the slab and the annulus branch: the gradual SET changes how it reads,
    # not its drive sensitivity; at the multi-level condition (180 uA, cooler) it is larger still
    lo2, hi2, el2 = set_step_sensitivity(m, 180e-6)
    assert el2 == pytest.approx(28.8, abs=0.3)
    assert lo2 == pytest.approx(-0.453, abs=0.005) and hi2 == pytest.approx(0.735, abs=0.005)
    # simulated plug steps agree with the kinetics
    for rel, expect in ((0.98, lo), (1.02, hi)):
        st = m.apply_pulse(m.initial_state(1), 400e-6, W, 300.0)
        u0 = st["amorphous_thickness"][0]
        s1 = u0 - m.apply_pulse(st, 194e-6, W, 300.0)["amorphous_thickness"][0]
        s2 = u0 - m.apply_pulse(st, 194e-6 * rel, W, 300.0)["amorphous_thickness"][0]
        assert s2 / s1 - 1 == pytest.approx(expect, rel=1e-9)


def test_distinguishable_levels_criterion():
    mu = np.array([0.0, 1.0, 2.0, 2.5, 4.0])
    assert distinguishable_levels(mu, np.full(5, 0.5)).tolist() == [0, 1, 2, 4]
    assert distinguishable_levels(mu, np.full(5, 0.5), k=2.0).tolist() == [0, 2, 4]
    with pytest.raises(ValueError, match="n_pulses"):
        set_staircase(get_model("pcm.sebastian2014_gst"), 400e-6, 194e-6, W, 0)


def test_stochastic_growth_accumulates_the_spread(joshi, ref):
    # growth_spread s_u: gamma factor (mean 1, CV s_u) on each pulse's crystallised thickness, so the spread of
    # the plug accumulates like the reference's random walk. Default 0: no draw, the cards are unchanged.
    base = set_staircase(joshi.seed(4), 310e-6, 180e-6, W, 12, 50)
    again = set_staircase(joshi.with_params(growth_spread=0.0).seed(4), 310e-6, 180e-6, W, 12, 50)
    assert np.array_equal(base, again)
    s0 = stats(set_staircase(joshi.seed(1), 310e-6, 180e-6, W, 30, 2000) * 1e6)
    s3 = stats(set_staircase(joshi.with_params(growth_spread=0.3).seed(1), 310e-6, 180e-6, W, 30, 2000) * 1e6)
    # s_u = 0.3 brings the first full step's sigma/mu to the reference's (0.66 vs 0.60; 0.53 without)
    assert s3["cv_first"] == pytest.approx(ref["cv_first"], abs=0.1) and s3["cv_first"] > s0["cv_first"] + 0.08
    assert s3["sd"][10] == pytest.approx(1.44, abs=0.15) and s0["sd"][10] == pytest.approx(1.09, abs=0.1)
    assert s3["levels"] < s0["levels"] and s3["n90"] == s0["n90"]  # the mean path is unchanged
    assert joshi.with_params(growth_spread=0.3).nominal().params["growth_spread"] == 0.0
