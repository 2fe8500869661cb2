"""The cached model index as a parameter schema: cards are validated and ``show`` is rendered without
importing the families, with the same results as the classes give (import checks in test_cli_package)."""

import json
import subprocess
import sys

import pytest

from devicelib import model_index
from devicelib.catalog import CardError, load_card
from devicelib.core import param_table
from devicelib.registry import available_models, model_class

CARD = """schema_version = 1
name = "test.soft"
model = "baseline.soft_bounds"
title = "test"
kind = "estimate"
[provenance]
citation = "Someone et al., Journal 1, 1 (2020)"
[parameters]
w_min = {{ value = {w_min}, unit = "" }}
w_max = {{ value = 0.8, unit = "" }}
"""


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("DEVICELIB_CACHE_DIR", str(tmp_path))
    model_index.warm()
    return tmp_path


def test_schema_equals_the_classes(cache):
    assert json.loads((cache / "models.json").read_text())["schemas"]  # the index holds the schemas
    for name in available_models():
        schema, cls = model_index.model_schema(name), model_class(name)
        assert isinstance(schema, model_index.ModelSchema)
        assert param_table(schema) == param_table(cls)  # units, bounds, defaults exactly (JSON floats round-trip)
        assert schema.parameters == cls.parameters
        assert (schema.name, schema.family, schema.family_name, schema.amplitude_unit, schema.references) == (
            cls.name, cls.family, cls.family_name, cls.amplitude_unit, tuple(cls.references))


def test_without_a_cache_the_shipped_index_else_the_class_is_used(monkeypatch):
    monkeypatch.setenv("DEVICELIB_CACHE_DIR", "")
    monkeypatch.setattr(model_index, "_shipped_memo", [None])  # as when the shipped index is stale
    assert model_index.model_schema("vcm.stanford_pku") is model_class("vcm.stanford_pku")
    assert not model_index.known_valid("baseline.soft_bounds", {})
    monkeypatch.setattr(model_index, "_shipped_memo", [])  # read afresh: current (tests/test_startup.py)
    schema, cls = model_index.model_schema("vcm.stanford_pku"), model_class("vcm.stanford_pku")
    assert isinstance(schema, model_index.ModelSchema) and schema.parameters == cls.parameters
    assert not model_index.known_valid("baseline.soft_bounds", {"w_min": 0.9, "w_max": 0.8})


def test_cross_parameter_check_still_runs_and_only_passing_values_are_remembered(cache, tmp_path):
    good, bad = tmp_path / "good.toml", tmp_path / "bad.toml"
    good.write_text(CARD.format(w_min=-0.7))
    bad.write_text(CARD.format(w_min=0.9))  # inside its bounds, but w_min >= w_max: the model's _check
    for _ in range(2):  # the second load is served by the index: the same outcome
        assert load_card(good).values() == {"w_min": -0.7, "w_max": 0.8}
        with pytest.raises(CardError, match=r"bad\.toml: .*w_min must be smaller than w_max"):
            load_card(bad)
    assert model_index.known_valid("baseline.soft_bounds", {"w_min": -0.7, "w_max": 0.8})
    assert not model_index.known_valid("baseline.soft_bounds", {"w_min": 0.9, "w_max": 0.8})
    # a changed family (another index key) forgets what passed
    doc = json.loads((cache / "valid-cards.json").read_text())
    (cache / "valid-cards.json").write_text(json.dumps({**doc, "key": "stale"}))
    assert not model_index.known_valid("baseline.soft_bounds", {"w_min": -0.7, "w_max": 0.8})


def test_a_card_loads_in_a_fresh_interpreter_without_its_family(cache, tmp_path):
    card = tmp_path / "good.toml"
    card.write_text(CARD.format(w_min=-0.5))
    load_card(card)  # first load: builds the model once (cross-parameter check) and remembers it
    code = (f"import sys; from devicelib.catalog import load_card; c = load_card({str(card)!r}); "
            "print(c.values()['w_min'], [m for m in ('devicelib.physics.baselines', 'numba', 'scipy') "
            "if m in sys.modules])")
    env = {**__import__("os").environ, "DEVICELIB_CACHE_DIR": str(cache)}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["-0.5", "[]"]


def test_pint_gets_scipy_lazily():
    # pint is imported with scipy hidden (no scipy for unit parsing); its one scipy use still works
    from pint.facets.plain import qto

    from devicelib.units import ureg

    assert ureg.Quantity(1, "mS").to("S").magnitude == pytest.approx(1e-3)
    assert callable(qto.scipy.optimize.milp)
