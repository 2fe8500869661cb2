import sys
import textwrap

import numpy as np
import pytest

from devicelib import available_models, get_model, registry
from devicelib.catalog import CardError, find_card, iter_cards, list_catalog, load_card
from devicelib.pulses import identical
from devicelib.simulate import simulate

GOOD = textwrap.dedent("""
    schema_version = 1
    name = "vcm.test_card"
    model = "vcm.stanford_pku"
    title = "test"
    kind = "literature"
    [provenance]
    citation = "Someone et al., Journal 1, 1 (2020)"
    doi = "10.0/x"
    where = "Table 1"
    [parameters]
    g0 = { value = 0.3, unit = "nm", source = "Table 1" }
    Ea = { value = 0.7, unit = "eV", stderr = 0.01 }
    [validity]
    amplitude = { min = -1500, max = 1500, unit = "mV" }
""")


def test_every_shipped_card_loads_and_builds_its_model():
    cards = list_catalog()
    assert len(cards) >= 2
    for card in cards:
        model = card.model()
        assert model.name == card.model_name
        assert card.citation(), f"{card.path} has no citation"
        for name, entry in card.parameters.items():
            assert entry.source or entry.estimate, f"{card.path}: {name} has neither source nor estimate"


def test_card_values_are_converted_to_si(tmp_path):
    f = tmp_path / "c.toml"
    f.write_text(GOOD)
    card = load_card(f)
    m = card.model()
    assert m.params["g0"] == pytest.approx(3e-10)
    assert m.params["Ea"] == pytest.approx(0.7 * 1.602176634e-19)
    assert card.parameters["Ea"].stderr == pytest.approx(0.01 * 1.602176634e-19)
    assert card.validity_range("amplitude") == pytest.approx((-1.5, 1.5))
    assert "nu0" in card.defaulted
    # save and reload gives identical values
    card.save(tmp_path / "again.toml")
    again = load_card(tmp_path / "again.toml")
    for k in card.parameters:
        assert again.parameters[k].value == pytest.approx(card.parameters[k].value, rel=1e-15)


@pytest.mark.parametrize(
    "edit, match",
    [
        (('g0 = { value = 0.3, unit = "nm", source = "Table 1" }', 'g0 = { value = 0.3, unit = "V" }'),
         r"parameters.g0: expected a quantity in m"),
        (('g0 = { value = 0.3, unit = "nm", source = "Table 1" }', 'g0 = { value = 30, unit = "nm" }'),
         "outside its bounds"),
        (('g0 = { value = 0.3, unit = "nm", source = "Table 1" }', 'gzero = { value = 0.3, unit = "nm" }'),
         "has no such parameter"),
        (('g0 = { value = 0.3, unit = "nm", source = "Table 1" }', 'g0 = { value = 0.3 }'), "missing 'unit'"),
        (('g0 = { value = 0.3, unit = "nm", source = "Table 1" }',
          'g0 = { value = "__import__(\'os\')", unit = "nm" }'), "must be a number"),
        (('model = "vcm.stanford_pku"', 'model = "nope.model"'), "no model named 'nope.model'"),
        (('citation = "Someone et al., Journal 1, 1 (2020)"', 'note = "x"'), "citation"),
        (('schema_version = 1', 'schema_version = 9'), "schema_version"),
        (('kind = "literature"', 'kind = "rumour"'), "kind must be one of"),
        (('amplitude = { min = -1500, max = 1500, unit = "mV" }', 'amplitude = { min = 1, max = 2, unit = "s" }'),
         "validity.amplitude"),
        (('title = "test"', 'title = "test"\nbogus = 1'), "unknown top-level key"),
        (('[parameters]', '[operating]\nwidth = { value = 10, unit = "V" }\n\n[parameters]'),
         "operating.width: expected a quantity in s"),
        (('[parameters]', '[operating]\nduty = { value = 1, unit = "" }\n\n[parameters]'),
         "operating.duty: unknown pulse condition"),
        (('[parameters]', '[parameters\n'), "not valid TOML"),
    ],
)
def test_bad_cards_give_errors_naming_file_and_key(tmp_path, edit, match):
    f = tmp_path / "bad.toml"
    f.write_text(GOOD.replace(*edit))
    with pytest.raises(CardError, match=match) as info:
        load_card(f)
    assert "bad.toml" in str(info.value)


def test_get_model_by_card_name_and_registry():
    assert "vcm.stanford_pku" in available_models()
    m = get_model("vcm.jiang2016_hfox")
    assert m.params["R_th"] == 2100.0
    assert find_card("vcm.jiang2016_hfox") is not None
    assert all(p.suffix == ".toml" and "records" not in p.parts for p in iter_cards())
    with pytest.raises(KeyError, match="neither a registered model"):
        get_model("nothing.here")


def test_third_party_plugin_is_discovered_and_driven(tmp_path, monkeypatch):
    """A package that declares the entry point is found with no change to devicelib."""
    pkg = tmp_path / "acme_devices.py"
    pkg.write_text(textwrap.dedent('''
        import numpy as np
        from devicelib.core import DeviceModel, Parameter, StateVariable

        class Linear(DeviceModel):
            """G = G0 + k * (charge passed): a toy ohmic synapse for the plugin test."""
            name = "acme.linear"
            family = "acme"
            family_name = "ACME linear test device"
            amplitude_unit = "A"
            parameters = (Parameter("G0", "S", 1e-6, (0, 1), "G_0", "base conductance"),
                          Parameter("k", "S/C", 1e3, (0, 1e9), "k", "conductance per charge"),)
            state_variables = (StateVariable("charge", "C", (-1, 1), "charge passed"),)

            def initial_state(self, n):
                return {"charge": np.zeros(n)}

            def apply_pulse(self, state, amplitude, width, temperature):
                return {"charge": state["charge"] + np.asarray(amplitude) * width}

            def conductance(self, state, v_read):
                return self.params["G0"] + self.params["k"] * state["charge"]
    '''))
    dist = tmp_path / "acme_devices-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: acme-devices\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text("[devicelib.models]\nacme.linear = acme_devices:Linear\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    registry.refresh()
    try:
        assert "acme.linear" in available_models()
        m = get_model("acme.linear", k=2e3)
        ds = simulate(m, identical(5, 1e-6, 1e-3, amplitude_unit="A"), n_devices=3)
        np.testing.assert_allclose(ds["conductance"].values[0], 1e-6 + 2e3 * 1e-9 * np.arange(1, 6))
    finally:
        sys.modules.pop("acme_devices", None)
        monkeypatch.undo()
        registry.refresh()
    assert "acme.linear" not in available_models()


def test_operating_condition_is_the_default_of_exporters_and_metrics(tmp_path):
    from devicelib.export.common import resolve_condition
    from devicelib.metrics import _default_condition

    f = tmp_path / "c.toml"
    f.write_text(GOOD.replace("[parameters]", '[operating]\namplitude = { value = 1200, unit = "mV" }\n'
                                              'amplitude_down = { value = -1.4, unit = "V" }\n'
                                              'width = { value = 50, unit = "ns", estimate = "basis: test" }\n\n'
                                              "[parameters]"))
    card = load_card(f)
    assert card.operating_value("amplitude") == pytest.approx(1.2)
    assert card.operating["width"]["estimate"] == "basis: test"
    cond = resolve_condition(card)
    assert (cond.amplitude_up, cond.amplitude_down, cond.width) == pytest.approx((1.2, -1.4, 50e-9))
    assert resolve_condition(card, width=1e-6).width == pytest.approx(1e-6)  # given values win
    d = _default_condition(card, card.model())
    assert (d["amplitude"], d["amplitude_down"], d["width"]) == pytest.approx((1.2, -1.4, 50e-9))
    card.save(tmp_path / "again.toml")
    assert load_card(tmp_path / "again.toml").operating_value("width") == pytest.approx(50e-9, rel=1e-15)


def test_every_card_round_trips_through_its_dict():
    """Serialising a card (exporters embed it, fits save it) and loading it back gives the same values;
    a dimensionless parameter written with unit = "" and a stderr once failed here (ENODe fit card)."""
    from devicelib.catalog import card_from_dict, list_catalog

    for card in list_catalog():
        back = card_from_dict(card.to_dict(), where=card.name)
        assert back.name == card.name and back.kind == card.kind
        for k, e in card.parameters.items():
            np.testing.assert_allclose(back.parameters[k].value, e.value, rtol=1e-12, err_msg=f"{card.name}.{k}")
            if e.stderr is not None:
                assert back.parameters[k].stderr == pytest.approx(e.stderr, rel=1e-12), (card.name, k)
