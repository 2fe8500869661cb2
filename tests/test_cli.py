"""The command line: every subcommand's help, JSON output and one-line errors."""

import json

import pytest
from typer.testing import CliRunner

from devicelib.cli import app

runner = CliRunner()


def run(*args):
    return runner.invoke(app, list(args))


@pytest.mark.parametrize("cmd", ["models", "catalog", "show", "simulate", "fit", "export"])
def test_every_subcommand_has_help(cmd):
    r = run(cmd, "--help")
    assert r.exit_code == 0
    assert "Usage" in r.output


def test_models_and_catalog_json():
    r = run("models", "--json")
    assert r.exit_code == 0, r.output
    doc = json.loads(r.stdout)
    names = {m["name"] for m in doc["models"]}
    assert "vcm.stanford_pku" in names
    r = run("catalog", "--json")
    cards = {c["name"]: c for c in json.loads(r.stdout)["cards"]}
    assert "10.1109/TED.2016.2545412" in cards["vcm.jiang2016_hfox"]["citation"]


def test_show_and_simulate_json():
    r = run("show", "vcm.jiang2016_hfox", "--json")
    doc = json.loads(r.stdout)
    g0 = next(p for p in doc["parameters"] if p["name"] == "g0")
    assert g0["value"] == pytest.approx(2.5e-10) and g0["unit"] == "m"
    r = run("simulate", "vcm.jiang2016_hfox", "--protocol", "pd", "-n", "10", "--amplitude", "1.6 V",
            "--width", "50 ns", "--devices", "3", "--json")
    assert r.exit_code == 0, r.output
    doc = json.loads(r.stdout)
    assert doc["pulses"] == 20 and doc["devices"] == 3
    assert doc["conductance_max"]["unit"] == "S"
    assert doc["conductance_max"]["value"] > doc["conductance_initial"]["value"]


def test_simulate_writes_netcdf(tmp_path):
    import xarray as xr

    out = tmp_path / "sim.nc"
    r = run("simulate", "vcm.jiang2016_hfox", "-n", "5", "--amplitude", "1.5 V", "--out", str(out))
    assert r.exit_code == 0, r.output
    with xr.open_dataset(out, engine="h5netcdf") as ds:
        assert ds["conductance"].shape == (1, 10)


def test_fit_example_dataset_json(repo_root, tmp_path):
    card = tmp_path / "fit.toml"
    r = run("fit", str(repo_root / "datasets" / "vcm_pulse_trains.csv"), "--model",
            str(repo_root / "datasets" / "vcm_example_start.toml"),
            "--vary", "nu0,gamma0", "--card", str(card), "--json")
    assert r.exit_code == 0, r.output
    doc = json.loads(r.stdout)
    assert doc["model"] == "vcm.stanford_pku"
    assert isinstance(doc["converged"], bool)
    assert doc["rmse"]["unit"] == "S" and doc["rmse"]["value"] < 1e-5
    assert set(doc["parameters"]["nu0"]) >= {"value", "stderr", "unit"}
    assert doc["parameters"]["nu0"]["unit"] == "m/s"
    from devicelib.catalog import load_card

    fitted = load_card(card)
    assert fitted.kind == "fitted" and fitted.parameters["nu0"].stderr > 0


@pytest.mark.parametrize(
    "args, match",
    [
        (("show", "no.such"), "neither a registered model nor a card"),
        (("simulate", "vcm.stanford_pku", "--amplitude", "1 s"), "--amplitude: expected a quantity in V"),
        (("simulate", "vcm.stanford_pku", "--protocol", "zigzag"), "unknown protocol"),
        (("fit", "missing_file.csv", "--amplitude", "1 V", "--width", "1 us", "--unit", "A"), "no such file"),
        (("export", "no.such.card", "--to", "native"), "no card"),
    ],
)
def test_bad_input_exits_nonzero_with_one_line_error(args, match):
    r = run(*args)
    assert r.exit_code == 2
    err = r.stderr.strip()
    assert err.startswith("error: ") and "\n" not in err
    assert match in err


def test_fit_wide_csv_needs_pulse_conditions(tmp_path):
    f = tmp_path / "w.csv"
    f.write_text("a [S]\n1e-3\n1.1e-3\n1.2e-3\n")
    r = run("fit", str(f))
    assert r.exit_code == 2
    assert "give --amplitude and --width" in r.stderr


def test_simulate_from_a_start_conductance():
    r = run("simulate", "vcm.crosssim_oxide_fit", "--protocol", "identical", "-n", "5", "--amplitude", "1.0 V",
            "--g-start", "1.65 mS", "--devices", "3", "--json")
    assert r.exit_code == 0, r.output
    doc = json.loads(r.stdout)
    assert doc["conductance_initial"]["value"] == pytest.approx(1.65e-3, rel=1e-9)
    assert doc["conductance_final"]["value"] > 1.65e-3  # SET pulses raise it
    r = run("simulate", "vcm.crosssim_oxide_fit", "--g-start", "1 s")
    assert r.exit_code == 2 and "--g-start: expected a quantity in S" in r.stderr


def test_models_index_cache_is_used_and_invalidated(tmp_path, monkeypatch):
    """`models` reads a cached index (no family import) and rebuilds it when the entry points change."""
    import json
    import subprocess
    import sys

    from devicelib import model_index

    monkeypatch.setenv("DEVICELIB_CACHE_DIR", str(tmp_path))
    first = model_index.model_rows()
    doc = json.loads((tmp_path / "models.json").read_text())
    assert doc["rows"] == first and any(r["name"] == "baseline.soft_bounds" for r in first)
    code = ("import sys; from devicelib.model_index import model_rows; rows = model_rows(); "
            "print(len(rows), [m for m in ('numba', 'scipy', 'xarray', 'pint') if m in sys.modules])")
    env = {**__import__("os").environ, "DEVICELIB_CACHE_DIR": str(tmp_path)}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env).stdout
    assert out.strip() == f"{len(first)} []"
    # a stale key (e.g. a plugin installed since) is rebuilt by importing
    doc["key"] = "stale"
    doc["rows"] = []
    (tmp_path / "models.json").write_text(json.dumps(doc))
    assert model_index.model_rows() == first
