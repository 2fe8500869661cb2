"""Arrhenius bake retention of the Stanford 1T1R card (issue 11.2): the law, its fit and the held-out bake."""

import importlib.util

import numpy as np
import pytest

from devicelib.catalog import load_card
from devicelib.physics.relaxation import K_B_EV, ArrheniusBroadening, BakedDevice


@pytest.fixture(scope="module")
def mod(repo_root):
    spec = importlib.util.spec_from_file_location(
        "fit_1t1r_bake", repo_root / "docs" / "scripts" / "fit_stanford_1t1r_reset_bake.py")
    m = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(m)
    return m


@pytest.fixture(scope="module")
def card(repo_root):
    return load_card(repo_root / "models" / "vcm" / "stanford1t1r_fit.toml")


@pytest.fixture(scope="module")
def fits(shared_data, mod):
    return mod.bake_fits(shared_data / "stanford-1t1r-pulse-sweeps")


def test_law_is_arrhenius_and_linear_in_time():
    law = ArrheniusBroadening((1e-5, 1e-4), (1e-14, 3e-14), Ea=0.5, T_ref=358.15)
    assert law.acceleration(358.15) == pytest.approx(1.0)
    ratio = law.variance_rate(5e-5, 403.15) / law.variance_rate(5e-5, 358.15)
    assert ratio == pytest.approx(np.exp(-0.5 / K_B_EV * (1 / 403.15 - 1 / 358.15)), rel=1e-12)
    # interpolated between the levels, held outside; linear in the bake time
    assert law.variance_rate(5.5e-5, 358.15) == pytest.approx(2e-14)
    assert law.variance_rate(1e-3, 358.15) == pytest.approx(3e-14)
    assert law.variance_growth(5e-5, 7200, 383.15) == pytest.approx(2 * law.variance_growth(5e-5, 3600, 383.15))
    with pytest.raises(ValueError, match="strictly increasing"):
        ArrheniusBroadening((2e-5, 1e-5), (1e-14, 1e-14), 0.1)
    with pytest.raises(ValueError, match=">= 0"):
        ArrheniusBroadening((1e-5, 2e-5), (1e-14, -1e-14), 0.1)
    with pytest.raises(ValueError, match="temperature"):
        law.acceleration(0.0)
    with pytest.raises(ValueError, match="'Ea'"):
        ArrheniusBroadening.from_fit({"g_levels": {"value": [1e-5]}, "rate_ref": {"value": [1e-14]}})


def test_baked_device_adds_the_law_variance_to_the_read(card):
    law = ArrheniusBroadening.from_fit(card.fit["retention"])
    dev = BakedDevice(card.model(), law, v_read=0.2).seed(3)
    n = 40000
    base = dev.base.state_from_conductance(np.full(n, 5e-5), 0.2)
    g0 = dev.base.conductance(base, 0.2)
    st = dict(base, relax_offset=np.zeros(n), relax_g0=g0, relax_age=np.zeros(n))
    out = dev.relax(st, 3600.0, 403.15)
    dg = dev.conductance(out, 0.2) - g0
    want = law.variance_growth(g0.mean(), 3600.0, 403.15)
    assert np.var(dg) == pytest.approx(want, rel=0.03)  # sampling error of a variance, n = 40000: 0.7 %
    assert abs(dg.mean()) < 4 * np.sqrt(want / n)
    # a pulse restarts the walk at the conductance it produced
    few = {k: v[:8] for k, v in out.items()}
    after = dev.apply_pulse(few, np.full(8, 2.0), 1e-7, 300.0)
    assert np.all(after["relax_offset"] == 0.0) and np.all(after["relax_age"] == 0.0)


def test_card_law_matches_the_fit_and_predicts_the_held_out_bake(fits, card):
    law, null = fits["law"], fits["null"]
    ret = card.fit["retention"]
    assert ret["Ea"]["value"] == pytest.approx(law["Ea"], rel=1e-3)
    assert ret["holdout"]["rmse"]["value"] == pytest.approx(law[130]["rmse_sd"], rel=1e-3)
    assert ret["t_bake"]["value"] == 3600 and "assum" in ret["assumption"].lower()
    # a small but resolved activation energy (> 3 standard errors), stable whichever bake is held out
    assert 0.03 < law["Ea"] < 0.07 and law["Ea"] > 3 * law["Ea_stderr"]
    for t in (85, 110, 130):
        o = fits["loo"][t]
        assert o["Ea"] == pytest.approx(0.05, abs=0.01), t
        assert o[t]["held_out"] and o[t]["rel_rmse_sd"] < 0.10, t
    # held-out 130 C: the per-level spread within 10 % RMS and better than a temperature-independent spread
    assert law[130]["rel_rmse_sd"] < 0.10 and law[130]["rmse_sd"] < 0.7e-6
    assert law[130]["chi2n"] < 0.7 * null[130]["chi2n"] and law[130]["rel_rmse_sd"] < null[130]["rel_rmse_sd"]
    assert law["redchi"] < 2.0


def test_activation_energy_does_not_depend_on_the_assumed_duration(fits, mod):
    lv = fits["levels"]
    short = mod.fit_arrhenius(lv, t_bake=600.0)
    long = mod.fit_arrhenius(lv, t_bake=86400.0)
    assert short["Ea"] == pytest.approx(fits["law"]["Ea"], abs=1e-6) == long["Ea"]
    np.testing.assert_allclose(short["rate_ref"], 6.0 * fits["law"]["rate_ref"], rtol=1e-6)
    np.testing.assert_allclose(long["rate_ref"], fits["law"]["rate_ref"] / 24.0, rtol=1e-6)


def test_the_excluded_half_is_selected_by_address(fits):
    moved_kept, moved_excluded, corr, _, _ = fits["block85"]
    assert moved_excluded > 0.95 and moved_kept < 0.05 and abs(corr) < 0.05
    # the kept half's mean shift is not ordered with temperature (why the law has no drift term)
    ms = fits["mean_shift"]
    assert ms[0] < -1e-6 and abs(ms[1]) < 0.2e-6 and abs(ms[2]) < 0.2e-6
