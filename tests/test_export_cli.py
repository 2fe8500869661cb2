"""The `devicelib export` command: condition with units, mapping error on the terminal."""

import json

from typer.testing import CliRunner

from devicelib.cli import app


def test_cli_export_neurosim(tmp_path):
    out = tmp_path / "hfox.txt"
    res = CliRunner().invoke(app, ["export", "vcm.jiang2016_hfox_continuous", "--to", "neurosim", "--out", str(out),
                                   "--amplitude", "1.2 V", "--amplitude-down", "-1200 mV", "--width", "10 ns",
                                   "--temperature", "300 K", "--read-voltage", "0.1 V", "--pulses", "30"])
    assert res.exit_code == 0, res.output
    assert "RMSE" in res.output and "1e-08 s" in res.output and out.exists()


def test_cli_export_json_and_errors(tmp_path):
    res = CliRunner().invoke(app, ["export", "vcm.jiang2016_hfox_continuous", "--to", "aihwkit", "--out",
                                   str(tmp_path / "a.json"), "--amplitude", "1.2 V", "--amplitude-down", "-1.2 V",
                                   "--width", "10 ns", "--pulses", "30", "--json"])
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)
    assert doc["mapping"]["rmse"]["unit"] == "S" and doc["pulse_condition"]["amplitude_up"]["value"] == 1.2
    bad = CliRunner().invoke(app, ["export", "vcm.jiang2016_hfox_continuous", "--to", "spice",
                                   "--out", str(tmp_path / "x")])
    assert bad.exit_code == 2 and "unknown export target" in bad.output
    bad = CliRunner().invoke(app, ["export", "vcm.jiang2016_hfox_continuous", "--to", "aihwkit", "--out",
                                   str(tmp_path / "y.json"), "--width", "10 V"])
    assert bad.exit_code == 2


def test_cli_pulse_counts_default_out_and_force(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    args = ["export", "vcm.jiang2016_hfox_continuous", "--to", "aihwkit", "--amplitude", "1.2 V",
            "--amplitude-down", "-1.2 V", "--width", "10 ns", "--pulses", "30", "--pulses-down", "12", "--json"]
    res = CliRunner().invoke(app, args)
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)
    assert (doc["mapping"]["n_up"], doc["mapping"]["n_down"]) == (30, 12)
    assert doc["paths"] == ["vcm.jiang2016_hfox_continuous_aihwkit.json"] and (tmp_path / doc["paths"][0]).exists()
    bad = CliRunner().invoke(app, ["export", "vcm.jiang2016_hfox_continuous", "--to", "native", "--width", "2 ms",
                                   "--pulses", "10"])
    assert bad.exit_code != 0 and "outside the card's validity range" in bad.output and "--force" in bad.output
    ok = CliRunner().invoke(app, ["export", "vcm.jiang2016_hfox_continuous", "--to", "native", "--width", "2 ms",
                                  "--amplitude", "1.2 V", "--amplitude-down", "-1.2 V", "--pulses", "10", "--force"])
    assert ok.exit_code == 0, ok.output
    assert (tmp_path / "vcm.jiang2016_hfox_continuous.h5").exists() and "width 0.002 outside" in ok.output
