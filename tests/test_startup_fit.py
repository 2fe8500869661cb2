"""What a whole ``devicelib fit`` command imports (issue 15: the fit command's start-up).

The Gong et al. (2018) one-device fit and the README's main-job fit run in fresh processes; their
import set must hold no pint (units come from the shipped table, devicelib/_unit_table.json), no
pydantic (typer's coercion of the fit options) and no dask, and the Gong fit (one file, one model, a
sequence CSV: devicelib._lightds) no xarray or pandas; their fitted values must be the ones the
in-process fit (on xarray objects) gives. Import checks only: timings are in docs/benchmarks.md
(benchmarks/run_all.py, cases fit_cli and fit_readme).
"""

import json
import os
import subprocess
import sys

import pytest
from test_startup import _MAIN  # the same child script: run the CLI, list the modules loaded

NOT_LOADED = ["pint", "pydantic", "dask", "lmfit", "matplotlib", "h5py", "xarray", "pandas"]


# what the one-model fit of a registered model does not need: the catalog (cards), model comparison, the other
# commands' modules (the CLI registers only the command it runs)
NOT_FOR_GONG = ["devicelib.catalog", "devicelib.fit.compare", "devicelib.cli.browse", "devicelib.cli.simulate",
                "devicelib.cli.export", "devicelib.cli.compare"]


def _run(args, cwd, extra=()):
    heavy = [*NOT_LOADED, "numba", "scipy", *extra]
    out = subprocess.run([sys.executable, "-c", _MAIN.format(args=args, heavy=heavy)],
                         capture_output=True, text=True, timeout=600, cwd=cwd, env=dict(os.environ))
    assert out.returncode == 0, out.stderr
    last = out.stderr.strip().splitlines()[-1]
    assert last.startswith("LOADED"), out.stderr
    return json.loads(last.removeprefix("LOADED ").replace("'", '"')), out.stdout


def test_gong_fit_command_imports_no_pint_xarray_pandas_pydantic_or_dask(shared_data, repo_root):
    gong = shared_data / "aihwkit-gong2018" / "gong_et_al.csv"
    args = ["fit", str(gong), "--layout", "sequence", "--no-header", "--unit", "", "--amplitude", "1 V",
            "--amplitude", "-1 V", "--width", "1 us", "--model", "baseline.soft_bounds", "--json"]
    loaded, out = _run(args, repo_root, NOT_FOR_GONG)
    assert loaded == ["numba", "scipy"], f"the fit command imported {loaded}"
    got = json.loads(out)
    from devicelib.fit import fit
    from devicelib.fit.readers import read_sequence_csv

    ref = fit("baseline.soft_bounds", read_sequence_csv(gong, "", amplitudes=[1.0, -1.0], width=1e-6))
    assert got["status"].startswith("converged") and got["nfev"] == ref.nfev
    for name in ref.varied:  # the command's numbers are the in-process fit's, to the last digit JSON keeps
        assert got["parameters"][name]["value"] == ref.values[name]
        assert got["parameters"][name]["stderr"] == ref.stderr[name]
    assert got["parameters"]["dw_min"]["value"] == pytest.approx(0.0033655, rel=1e-4)  # docs/benchmarks.md


def test_readme_fit_command_imports_no_pint_pydantic_or_dask(repo_root, tmp_path):
    args = ["fit", "datasets/vcm_pulse_trains.csv", "--model", "datasets/vcm_example_start.toml", "--vary",
            "nu0,gamma0", "--initial", "fit", "--sigma", "0.1%", "--card", str(tmp_path / "card.toml"), "--json"]
    loaded, out = _run(args, repo_root)
    # the long CSV reader parses with pandas (and the card path builds xarray objects): no pint or pydantic
    assert loaded == ["numba", "pandas", "scipy", "xarray"], f"the fit command imported {loaded}"
    got = json.loads(out)
    p = got["parameters"]
    assert round(p["nu0"]["value"], 1) == 119.8 and round(p["gamma0"]["value"], 3) == 6.601  # the README's values
    assert (tmp_path / "card.toml").exists()


def test_quantity_options_and_cards_read_without_pint():
    code = ("import sys; from devicelib.cli.common import _quantity; from devicelib.catalog import load_card; "
            "v = [_quantity('1 us', 's', 'width'), _quantity('-1 V', 'V', 'amplitude'), "
            "_quantity('320 uA', 'A', 'a')]; "
            "c = load_card('datasets/vcm_example_start.toml'); "
            "print(v, c.values()['nu0'], 'pint' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300,
                         cwd=os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    assert out.returncode == 0, out.stderr
    from devicelib.units import registry

    q = registry().Quantity
    want = [q("1 us").to("s").magnitude, q("-1 V").to("V").magnitude, q("320 uA").to("A").magnitude]  # pint's
    assert out.stdout.split()[-1] == "False" and out.stdout.startswith(f"{[float(x) for x in want]} 217.9")


def test_one_command_app_then_the_whole_app_keeps_the_help_order():
    # `devicelib fit ...` registers only the fit command; the whole app assembled later in the same process
    # lists the commands in `--help`'s order (.light.COMMANDS, which test_startup holds equal to typer's)
    code = ("from devicelib.cli import _app; from devicelib.cli.light import COMMANDS; "
            "a = _app('fit'); print([c.callback.__name__ for c in a.registered_commands]); "
            "a = _app(); print([c.callback.__name__ for c in a.registered_commands] == [n for n, _ in COMMANDS])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split("\n")[:2] == ["['fit']", "True"]


def test_fit_command_process_ends_at_once_with_its_output_card_and_status(shared_data, repo_root, tmp_path):
    # `python -m devicelib.cli` (like the `devicelib` script) ends a finished fit with os._exit (no interpreter
    # teardown): stdout complete, the card written, the exit status kept (0; 2 for a user error)
    gong = shared_data / "aihwkit-gong2018" / "gong_et_al.csv"
    card = tmp_path / "gong.toml"
    cmd = [sys.executable, "-m", "devicelib.cli", "fit", str(gong), "--layout", "sequence", "--no-header", "--unit",
           "", "--amplitude", "1 V", "--amplitude", "-1 V", "--width", "1 us", "--model", "baseline.soft_bounds"]
    out = subprocess.run([*cmd, "--json", "--card", str(card)], capture_output=True, text=True, timeout=600,
                         cwd=repo_root)
    assert out.returncode == 0, out.stderr
    got = json.loads(out.stdout)
    assert got["card"] == str(card)
    from devicelib.catalog import load_card

    values = load_card(card).values()
    for name in ("w_min", "w_max", "dw_min", "up_down"):
        assert values[name] == got["parameters"][name]["value"]
    bad = subprocess.run([*cmd[:4], str(tmp_path / "missing.csv"), *cmd[5:]], capture_output=True, text=True,
                         timeout=600, cwd=repo_root)
    assert bad.returncode == 2 and bad.stderr.startswith("error: ") and "missing.csv" in bad.stderr


@pytest.mark.parametrize("args, quick", [(["fit", "--help"], True), (["show", "baseline.soft_bounds"], False)])
def test_entry_ends_only_fit_with_os_exit(args, quick):
    code = (f"import os, sys\nsys.argv = ['devicelib', *{args!r}]\n"
            "def _exit(c):\n    print('QUICK', c, file=sys.stderr)\n    raise SystemExit(c)\n"
            "os._exit = _exit\nfrom devicelib.cli import entry\nentry()\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    assert ("QUICK 0" in out.stderr) is quick and out.stdout
