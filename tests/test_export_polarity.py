"""Polarity from the physics: the default condition potentiates and depresses for real, wrong given
amplitudes are refused, and nothing outside a card's validity is exported without force."""

from dataclasses import replace

import pytest

from devicelib.export import ExportError, export
from devicelib.export.common import orient_condition, prepare_condition, resolve_card, resolve_condition


def _without_operating(name: str):
    """The card with its [operating] table removed: the condition then defaults from the validity range
    (largest positive amplitude potentiating) and the polarity comes from the physics probe alone."""
    card = resolve_card(name)
    assert card.operating_value("amplitude") is not None, name  # the shipped card states its condition
    return replace(card, operating={})


def test_enode_potentiates_at_negative_voltage_by_default(tmp_path):
    """ENODe (cation insertion de-dopes PEDOT:PSS, eta_e = -1): potentiation is -0.5 V, as the card's
    [operating] table states; the export uses it as given (no swap, no note) and maps it to < 0.1 %."""
    r = export("ecram.enode_crosssim_fit", "aihwkit", tmp_path / "e.json")
    assert (r.condition.amplitude_up, r.condition.amplitude_down) == (-0.5, 0.5)
    assert r.mapping["rmse_relative_to_window"] < 1e-3
    assert not any("polarity" in w for w in r.warnings)
    g = r.content["response"]["w_physics"]
    assert g[r.mapping["n_up"]] > g[0] and g[-1] < g[r.mapping["n_up"]]


def test_enode_without_operating_gets_its_polarity_from_the_physics(tmp_path):
    """Without [operating] the default is +0.5 V potentiating (the validity maximum), which depresses ENODe.
    The old behaviour exported it so (32.5 % aihwkit mapping error); the physics probe swaps it (< 0.1 %)."""
    card = _without_operating("ecram.enode_crosssim_fit")
    cond = resolve_condition(card)
    assert (cond.amplitude_up, cond.amplitude_down) == (0.5, -0.5)  # the wrong default the probe must catch
    r = export(card, "aihwkit", tmp_path / "e.json")
    assert (r.condition.amplitude_up, r.condition.amplitude_down) == (-0.5, 0.5)
    assert r.mapping["rmse_relative_to_window"] < 1e-3
    assert any("polarity from the physics" in w for w in r.warnings)
    assert r.content["provenance"]["condition_notes"] == [w for w in r.warnings if "polarity" in w]
    g = r.content["response"]["w_physics"]
    assert g[r.mapping["n_up"]] > g[0] and g[-1] < g[r.mapping["n_up"]]


def test_given_amplitudes_that_depress_are_refused_with_the_swap():
    card = resolve_card("ecram.enode_crosssim_fit")
    with pytest.raises(ExportError, match=r"lowers the conductance.*swap them \(amplitude=-0.5 V, amplitude_down=0.5"):
        prepare_condition(card, amplitude=0.5, amplitude_down=-0.5)
    cond, notes = prepare_condition(card, amplitude=-0.5, amplitude_down=0.5)  # the right way round: unchanged
    assert (cond.amplitude_up, notes) == (-0.5, [])


def test_nickelate_default_polarity():
    """Proton insertion raises the nickelate's resistance: a negative pulse potentiates. The card's [operating]
    condition (-2 V / +2 V) is used as given; without it the validity default +5 V / -5 V (old export: 22 %
    error) is swapped by the physics probe."""
    card = resolve_card("mott.zhang2022_nickelate")
    cond, notes = orient_condition(card, resolve_condition(card))
    assert (cond.amplitude_up, cond.amplitude_down, notes) == (-2.0, 2.0, [])
    bare = _without_operating("mott.zhang2022_nickelate")
    default = resolve_condition(bare)
    assert (default.amplitude_up, default.amplitude_down) == (5.0, -5.0)
    cond, notes = orient_condition(bare, default)
    assert (cond.amplitude_up, cond.amplitude_down) == (-5.0, 5.0) and "polarity from the physics" in notes[0]


def test_volatile_switch_depresses_with_a_weaker_pulse_inside_validity():
    """VO2's validity is 0..25 V: the old default -25 V lay outside it and raised G (Joule heating is even in V).
    Within the range, a weaker pulse lets the film cool: G falls."""
    card = resolve_card("mott.qiu2024_vo2")
    cond, notes = prepare_condition(card)
    assert cond.amplitude_up == 25.0 and 0.0 < cond.amplitude_down < 25.0
    assert "weaker pulse" in notes[0]


def test_outside_validity_needs_force(tmp_path):
    with pytest.raises(ExportError, match=r"width 1 outside the card's validity range.*force"):
        prepare_condition(resolve_card("vcm.jiang2016_hfox_continuous"), width=1.0)
    card = resolve_card("vcm.jiang2016_hfox_continuous")
    cond, _ = prepare_condition(card, amplitude=1.2, amplitude_down=-1.2, width=2e-3, force=True)
    assert cond.width == 2e-3
    r = export(card, "aihwkit", tmp_path / "h.json", amplitude="1.2 V", amplitude_down="-1.2 V", width="2 ms",
               n_pulses=10, force=True)
    assert any("width 0.002 outside" in w for w in r.warnings)


def test_pcm_operating_condition_is_kept():
    """PCM's [operating] condition (SET 183 uA, RESET 320 uA of the same sign) passes the probe unchanged."""
    card = resolve_card("pcm.sebastian2014_gst")
    cond, notes = prepare_condition(card)
    assert (cond.amplitude_up, cond.amplitude_down, notes) == (pytest.approx(183e-6), pytest.approx(320e-6), [])
