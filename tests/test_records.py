"""Literature records: schema validation, units, shipped records."""

import pytest

from devicelib import records as R
from devicelib.catalog import find_card, iter_cards


def _write(tmp_path, body, name="r.toml"):
    p = tmp_path / name
    p.write_text(body)
    return p


HEAD = '''schema_version = 1
name = "lit.test.x"
kind = "record"
family = "test"
title = "test device"
has_model = false

[provenance]
citation = "A. Author, J. Test 1, 1 (2020)"
where = "Table 1"
'''


def test_units_converted_by_pint(tmp_path):
    p = _write(tmp_path, HEAD + '''
[figures]
switching_time = { value = 600, unit = "ps" }
energy_per_update = { value = 32, unit = "pJ" }
area = { value = 100, unit = "um^2" }
energy_per_area = { value = 0.18, unit = "fJ/um^2" }
c2c = { value = 3.5, unit = "%" }
accuracy = { value = 91.5, unit = "%", task = "MNIST" }
r_on = { value = 26, unit = "Mohm" }
states = { value = 97 }
''')
    rec = R.load_record(p)
    f = rec.figures
    assert f["switching_time"].value == pytest.approx(6e-10)
    assert f["energy_per_update"].value == pytest.approx(3.2e-11)
    assert f["area"].value == pytest.approx(1e-10)
    assert f["energy_per_area"].value == pytest.approx(1.8e-4)  # 0.18 fJ/um^2 = 1.8e-4 J/m^2
    assert f["c2c"].value == pytest.approx(0.035)
    assert f["accuracy"].value == pytest.approx(91.5) and f["accuracy"].unit == "%"
    assert f["states"].value == 97
    d = R.record_metrics(rec)
    assert d.metrics["g_max"].value == pytest.approx(1 / 26e6)
    assert d.metrics["accuracy"].note == "task: MNIST"


@pytest.mark.parametrize("fig, msg", [
    ('switching_time = { value = 3, unit = "pJ" }', "is not a unit of 's'"),
    ('switching_time = { value = 3 }', "missing 'unit'"),
    ('switching_time = { value = 3, unit = "parsecs_per_fortnight" }', "unknown unit"),
    ('speed = { value = 3, unit = "s" }', "unknown figure"),
    ('accuracy = { value = 90, unit = "%" }', "needs the task"),
    ('states = { value = "many" }', "must be a number"),
    ('states = { value = 3, bound = "about" }', "bound"),
])
def test_bad_figures_name_file_and_key(tmp_path, fig, msg):
    p = _write(tmp_path, HEAD + "\n[figures]\n" + fig + "\n")
    with pytest.raises(R.RecordError, match=msg) as exc:
        R.load_record(p)
    assert str(p) in str(exc.value) and "figures." in str(exc.value)


def test_bad_top_level(tmp_path):
    bad = HEAD.replace('has_model = false', 'has_model = true')
    with pytest.raises(R.RecordError, match="needs card"):
        R.load_record(_write(tmp_path, bad + '[figures]\nstates = { value = 3 }\n'))
    with pytest.raises(R.RecordError, match="kind must be"):
        R.load_record(_write(tmp_path, HEAD.replace('"record"', '"literature"') + '[figures]\nstates={value=3}\n'))
    with pytest.raises(R.RecordError, match="not valid TOML"):
        R.load_record(_write(tmp_path, "name = [\n"))
    with pytest.raises(R.RecordError, match=r"\[figures\]"):
        R.load_record(_write(tmp_path, HEAD))


def test_shipped_records():
    recs = R.list_records()
    assert len(recs) >= 19
    names = [r.name for r in recs]
    assert len(set(names)) == len(names)
    card_names = {p.stem for p in iter_cards()}
    for r in recs:
        assert r.name.startswith(f"lit.{r.family}.")
        assert r.provenance["citation"] and r.provenance["where"]
        if r.has_model:  # a linked card must exist in the catalog
            assert find_card(r.card) is not None, r.name
        assert r.name not in card_names
    by = {r.name: r for r in recs}
    # NeuroSim table rows (simulator-formats.md): Ag:a-Si 97 levels, NL 2.4/-4.88, 26 MOhm, 12.5, 3.5 %
    ag = by["lit.ecm.jo2010_agsi"].figures
    assert (ag["states"].value, ag["nl_ltp"].value, ag["nl_ltd"].value) == (97, 2.4, -4.88)
    assert ag["r_on"].value == pytest.approx(26e6) and ag["c2c"].value == pytest.approx(0.035)
    assert by["lit.fefet.jerry2017_hzo"].figures["nl_ltd"].value == 1.46
    # section 9 figures
    assert by["lit.ftj.ma2020_bto"].figures["switching_time"].value == pytest.approx(600e-12)
    enode = by["lit.ecram.vandeburgt2017_enode"].figures
    assert enode["energy_per_update"].bound == "upper" and enode["area"].value == pytest.approx(1e-9)
    # issue 11: the superconducting thermal switch (McCaughan 2019) is not a Josephson device; Romera 2022
    sw = by["lit.superconducting.mccaughan2019_thermal_switch"]
    assert sw.family == "superconducting" and "1903.10461" in sw.citation()
    assert sw.figures["energy_per_area"].value == pytest.approx(1.8e-4)
    assert sw.figures["switching_time"].bound == "upper" and sw.figures["switching_time"].value == pytest.approx(3e-10)
    assert not any(r.family == "josephson" and "300" in r.title for r in by.values())
    assert by["lit.spintronic.romera2022_stno"].provenance["doi"] == "10.1038/s41467-022-28159-1"
    assert by["lit.ecram.onen2022_protonic"].figures["switching_time"].value == pytest.approx(5e-9)
    assert "5 ns" not in by["lit.ecram.vandeburgt2017_enode"].title
    # figures not verified in the paper say so
    assert by["lit.vcm.redox_tft_42ns"].figures["switching_time"].estimate.startswith("basis:")


def test_record_curves_follow_neurosim():
    import numpy as np

    from devicelib.metrics import neurosim_nl

    d = R.record_metrics(R.load_record(R.find_record("lit.ecm.jo2010_agsi")))
    assert neurosim_nl(d.curves["ltp"]) == pytest.approx(2.4, abs=2e-3)
    assert neurosim_nl(d.curves["ltd"]) == pytest.approx(-4.88, abs=2e-3)
    assert np.isclose(d.curves["ltp"][0], 0) and np.isclose(d.curves["ltd"][-1], 0)


def test_catalog_lists_cards_and_records_with_kinds():
    import json

    from typer.testing import CliRunner

    from devicelib.cli import app

    res = CliRunner().invoke(app, ["catalog", "--json"])
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)
    kinds = {c["name"]: c["kind"] for c in doc["cards"]}
    assert kinds["vcm.crosssim_oxide_fit"] == "fitted" and kinds["vcm.jiang2016_hfox"] == "literature"
    recs = {r["name"]: r for r in doc["records"]}
    assert recs["lit.superconducting.mccaughan2019_thermal_switch"]["kind"] == "record"
    assert len(recs) == len(R.list_records())


def test_catalog_page_lists_every_card_and_record(repo_root, tmp_path):
    import importlib.util

    spec = importlib.util.spec_from_file_location("catalog_page", repo_root / "docs" / "scripts" / "catalog_page.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    out = tmp_path / "catalog.md"
    assert mod.main(["--out", str(out)]) == 0
    text = out.read_text()
    for path in iter_cards():
        from devicelib.catalog import load_card

        c = load_card(path)
        row = next(line for line in text.splitlines() if line.startswith(f"| `{c.name}` |"))
        assert f"| {c.kind} |" in row
    for r in R.list_records():
        assert f"| `{r.name}` |" in text
    fit_row = next(line for line in text.splitlines() if line.startswith("| `vcm.crosssim_oxide_fit` |"))
    assert "crosssim-pulse-trains" in fit_row and "RMSE 3.49e-05 S" in fit_row
    assert mod.main(["--out", str(out), "--check"]) == 0
    out.write_text(text + "stale\n")
    assert mod.main(["--out", str(out), "--check"]) == 1
