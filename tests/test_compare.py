"""`devicelib compare`: fitted and literature cards next to literature records, in chosen units."""

import csv
import io
import json

import pytest
from typer.testing import CliRunner

from devicelib.cli import app
from devicelib.cli.compare_lib import parse_units
from devicelib.units import UnitError

runner = CliRunner()
MIX = ["vcm.crosssim_oxide_fit", "vcm.jiang2016_hfox", "lit.fefet.jerry2017_hzo", "lit.ftj.ma2020_bto",
       "lit.ecram.vandeburgt2017_enode"]


def _run(*args):
    res = runner.invoke(app, ["compare", *args])
    return res


@pytest.fixture(scope="module")
def mixed_json():
    res = _run(*MIX, "--pulses", "30", "--units", "energy=fJ,time=ns,conductance=uS", "--format", "json")
    assert res.exit_code == 0, res.output
    return json.loads(res.stdout)


def test_json_mixes_cards_and_records_in_chosen_units(mixed_json):
    rows = {r["name"]: r for r in mixed_json["rows"]}
    assert set(rows) == set(MIX)
    assert rows["vcm.crosssim_oxide_fit"]["kind"] == "card" and rows["lit.ftj.ma2020_bto"]["kind"] == "record"
    # records: 75 ns, 600 ps -> 0.6 ns, < 10 pJ -> 1e4 fJ (upper bound kept)
    assert rows["lit.fefet.jerry2017_hzo"]["metrics"]["update_time"]["value"] == pytest.approx(75.0)
    assert rows["lit.ftj.ma2020_bto"]["metrics"]["switching_time"]["value"] == pytest.approx(0.6)
    e = rows["lit.ecram.vandeburgt2017_enode"]["metrics"]["energy_per_update"]
    assert (e["value"], e["unit"], e["bound"], e["si_value"]) == (pytest.approx(1e4), "fJ", "upper", 1e-11)
    # cards: the pulse width of the default condition (crosssim fit: 100 ns) and energy converted from J
    fit = rows["vcm.crosssim_oxide_fit"]["metrics"]
    assert fit["update_time"]["value"] == pytest.approx(100.0)
    assert fit["energy_per_update"]["value"] == pytest.approx(fit["energy_per_update"]["si_value"] * 1e15)
    assert fit["g_max"]["unit"] == "uS"
    assert fit["g_max"]["value"] == pytest.approx(fit["g_max"]["si_value"] * 1e6)
    assert "simulated" not in rows["vcm.jiang2016_hfox"]["condition"]  # the condition itself, stated
    # its [operating] condition, not the off-design top of its validity range (+2 V, 1 us; issue 11)
    assert rows["vcm.jiang2016_hfox"]["condition"].startswith("+1.5 V/-1.5 V, 1e-08 s")


def test_csv_and_markdown():
    res = _run("vcm.jiang2016_hfox", "lit.ecm.jo2010_agsi", "--pulses", "20", "--format", "csv",
               "--units", "time=us,conductance=nS", "--metrics", "g_max,nl_ltp,nl_ltd,update_time")
    assert res.exit_code == 0, res.output
    rows = list(csv.reader(io.StringIO(res.stdout)))
    assert rows[0] == ["name", "kind", "family", "Gmax [nS]", "NL_LTP", "NL_LTD", "t_update [µs]", "condition",
                       "citation"]
    ag = rows[2]
    assert ag[:3] == ["lit.ecm.jo2010_agsi", "record", "ecm"]
    assert float(ag[3]) == pytest.approx(38.5, rel=1e-2)  # 1 / 26 MOhm = 38.46 nS
    assert ag[4:7] == ["2.4", "-4.88", "300"]
    assert float(rows[1][6]) == pytest.approx(0.01)  # card: its [operating] 10 ns pulses
    md = _run("lit.ecm.jo2010_agsi", "lit.fefet.jerry2017_hzo", "--format", "markdown")
    assert md.exit_code == 0
    assert md.stdout.startswith("| name | kind | family |") and "| ~1.75 |" in md.stdout


def test_incompatible_units_are_an_error():
    res = _run("lit.ftj.ma2020_bto", "--units", "energy=ns")
    assert res.exit_code == 2
    assert "incompatible" in res.output and "energy_per_update" in res.output
    with pytest.raises(UnitError, match="unknown key"):
        parse_units("speed=m/s")
    with pytest.raises(UnitError, match="key=unit"):
        parse_units("fJ")
    u = parse_units("time=ns,switching_time=us,energy_per_area=fJ/um^2")
    assert (u["update_time"], u["switching_time"], u["energy_per_area"]) == ("ns", "us", "fJ/um^2")


def test_unknown_name_and_format():
    res = _run("no.such_device")
    assert res.exit_code == 2 and "neither a card nor a record" in res.output
    assert _run("lit.ftj.ma2020_bto", "--format", "xml").exit_code == 2
    assert _run().exit_code == 2


def test_family_and_plot(tmp_path):
    png = tmp_path / "cmp.png"
    res = _run("--family", "vcm", "--pulses", "20", "--format", "json", "--plot", str(png),
               "--units", "energy=pJ,time=ns")
    assert res.exit_code == 0, res.output
    names = {r["name"] for r in json.loads(res.stdout)["rows"]}
    assert {"vcm.jiang2016_hfox", "vcm.crosssim_oxide_fit", "lit.vcm.taox_hfox_neurosim"} <= names
    assert all(n.startswith(("vcm.", "lit.vcm.")) for n in names)
    assert png.stat().st_size > 10_000 and png.read_bytes()[:4] == b"\x89PNG"
