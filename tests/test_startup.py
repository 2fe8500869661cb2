"""Start-up on a first run: `devicelib --help` and `models` without typer, numpy or a family import.

The light path (devicelib/cli/light.py) must print exactly what typer prints; the shipped model index
(devicelib/_model_index.json) must be current and equal to the index built from the classes; the
entry-point reader must agree with importlib.metadata. Import checks only: timings are in
docs/benchmarks.md (benchmarks/run_all.py).
"""

import json
import os
import subprocess
import sys
from importlib.metadata import entry_points

import pytest

from devicelib import model_index
from devicelib.registry import EntryPoint, _scan

HEAVY = ["numpy", "scipy", "xarray", "lmfit", "numba", "dask", "pint", "pandas", "typer"]

_MAIN = """
import sys
sys.argv = ['devicelib', *{args!r}]
from devicelib.cli import main
try:
    main()
finally:
    print('LOADED', sorted(m for m in {heavy!r} if m in sys.modules), file=sys.stderr)
"""


def _run_raw(args, env_extra=None, heavy=HEAVY):
    """(exit status, stdout, stderr, heavy modules loaded) of ``devicelib ARGS`` in a fresh process."""
    env = {**os.environ, "DEVICELIB_CACHE_DIR": "", **(env_extra or {})}  # a first run: no cache at all
    out = subprocess.run([sys.executable, "-c", _MAIN.format(args=args, heavy=heavy)], capture_output=True,
                         text=True, timeout=120, env=env)
    *err, last = out.stderr.strip().splitlines() or [""]
    loaded = json.loads(last.removeprefix("LOADED ").replace("'", '"')) if last.startswith("LOADED") else None
    return out.returncode, out.stdout, "\n".join(err), loaded


def _run(args, env_extra=None, heavy=HEAVY):
    code, out, err, loaded = _run_raw(args, env_extra, heavy)
    assert code == 0, err
    return out, loaded


def test_the_shipped_model_index_is_current():
    # built in a fresh process exactly as `python -m devicelib.model_index` writes it
    code = "import json; from devicelib.model_index import build_shipped; print(json.dumps(build_shipped()))"
    env = {**os.environ, "DEVICELIB_CACHE_DIR": ""}
    env.pop("DEVICELIB_CATALOG", None)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300, env=env)
    assert out.returncode == 0, out.stderr
    built = json.loads(out.stdout)
    shipped = json.loads(model_index.SHIPPED.read_text(encoding="utf-8"))
    assert shipped == built, "devicelib/_model_index.json is stale: run `python -m devicelib.model_index`"
    assert set(built["rows"]) == {ep.name for ep in entry_points(group="devicelib.models")
                                  if ep.value.startswith("devicelib.")}
    assert "devicelib/physics/vcm.py" in built["sources"] and len(built["valid"]) >= 20


def test_a_stale_shipped_index_is_ignored(tmp_path, monkeypatch):
    import hashlib

    data = json.loads(model_index.SHIPPED.read_text(encoding="utf-8"))
    fake = tmp_path / "devicelib" / "_model_index.json"
    fake.parent.mkdir()
    (tmp_path / "devicelib" / "core.py").write_text("x = 1\n")
    monkeypatch.setattr(model_index, "SHIPPED", fake)
    for text, current in (("x = 1\n", True), ("x = 2\n", False)):  # as built; then as after an edit
        data["sources"] = {"devicelib/core.py": hashlib.sha256(text.encode()).hexdigest()}
        fake.write_text(json.dumps(data))
        monkeypatch.setattr(model_index, "_shipped_memo", [])
        got = model_index._shipped()
        assert (got["rows"] == data["rows"]) if current else got is None


@pytest.mark.parametrize("group", ["devicelib.models", "console_scripts", "pytest11"])
def test_entry_point_reader_agrees_with_importlib_metadata(group):
    ours = _scan(group)
    assert ours is not None
    assert [(e.name, e.value, e.group) for e in ours] == [(e.name, e.value, e.group) for e in entry_points(group=group)]


def test_entry_point_reader_precedence_and_parsing(tmp_path, monkeypatch):
    # the first distribution of a name on the path wins; comments, spacing and other sections as importlib reads
    for where, value in (("a", "first_mod:Cls"), ("b", "second_mod:Cls")):
        dist = tmp_path / where / "Acme_Devices-1.0.dist-info"
        dist.mkdir(parents=True)
        (dist / "entry_points.txt").write_text(f"[other]\nx = y:z\n\n[devicelib.models]\n# a comment\n"
                                               f"  acme.one   =  {value}  \n")
    monkeypatch.setattr(sys, "path", [str(tmp_path / "a"), str(tmp_path / "b"), str(tmp_path / "missing")])
    got = _scan("devicelib.models")
    assert got == [EntryPoint("acme.one", "first_mod:Cls", "devicelib.models")]
    assert [(e.name, e.value) for e in entry_points(group="devicelib.models")] == [("acme.one", "first_mod:Cls")]
    assert got[0].module == "first_mod" and got[0].attr == "Cls"
    assert EntryPoint("j", "json:JSONDecoder.decode", "g").load() is json.JSONDecoder.decode


@pytest.mark.parametrize("args", [["--help"], ["models"], ["models", "--json"]])
def test_help_and_models_import_no_heavy_library_on_a_first_run(args):
    out, loaded = _run(args)
    assert out and loaded == [], f"devicelib {' '.join(args)} imported {loaded}"


@pytest.mark.parametrize("args", [["catalog"], ["show", "vcm.jiang2016_hfox"], ["show", "vcm.stanford_pku", "--json"]])
def test_catalog_and_show_import_no_family_on_a_first_run(args):
    # cards are read with numpy and pint, but no family (numba, scipy), xarray, lmfit or dask
    out, loaded = _run(args, heavy=["scipy", "xarray", "lmfit", "numba", "dask", "devicelib.physics.vcm"])
    assert out and loaded == [], f"devicelib {' '.join(args)} imported {loaded}"


ENVS = [{"COLUMNS": "80"}, {"COLUMNS": "44"}, {"COLUMNS": "123"}, {"COLUMNS": "80", "FORCE_COLOR": "1"},
        {"COLUMNS": "61", "FORCE_COLOR": "1"}, {"TERMINAL_WIDTH": "70"}]


@pytest.mark.parametrize("args, env", [(["--help"], env) for env in ENVS] + [
    (args, env) for args in (["models"], ["catalog"], ["show", "vcm.jiang2016_hfox"]) for env in (ENVS[0], ENVS[4])])
def test_light_output_is_typers_byte_for_byte(args, env):
    light, loaded = _run(args, env)
    assert "typer" not in loaded
    typer_out, loaded = _run(args, {**env, "TYPER_USE_RICH": "1"})  # any TYPER_USE_RICH setting: typer draws it
    assert "typer" in loaded
    assert light == typer_out


def test_light_constants_are_the_apps():
    from typer.main import get_command

    from devicelib.cli import app
    from devicelib.cli.light import APP_HELP, COMMANDS, OPTIONS, USAGE_PIECES

    group = get_command(app)
    ctx = group.context_class(group, info_name="devicelib")
    assert group.help == APP_HELP
    assert f"{group.options_metavar} {group.subcommand_metavar}" == USAGE_PIECES
    assert [(p.opts[0], p.display_type_rich(ctx=ctx), p.help) for p in group.get_params(ctx)] == list(OPTIONS)
    cmds = [group.get_command(ctx, n) for n in group.list_commands(ctx)]
    assert [(c.name, (c.short_help or c.help).split("\n\n")[0].strip()) for c in cmds] == list(COMMANDS)
    assert not any(c.deprecated or c.hidden for c in cmds) and group.epilog is None


@pytest.mark.parametrize("args", [["models", "--json"], ["catalog", "--json", "--family", "vcm"],
                                  ["catalog", "--family", "pcm"], ["show", "--json", "pcm.sebastian2014_gst"],
                                  ["show", "no.such_model"], ["catalog", "--family"]])
def test_light_results_errors_and_warnings_are_typers(args, tmp_path):
    # a broken card in a user catalog folder: one `warning: ...` line on stderr, the same on both paths
    (tmp_path / "broken.toml").write_text("name = [unclosed\n")
    env = {"DEVICELIB_CATALOG": str(tmp_path), "COLUMNS": "100"}
    light, typer_run = _run_raw(args, env), _run_raw(args, {**env, "TYPER_USE_RICH": "1"})
    assert light[:3] == typer_run[:3]
    if args[-1] in ("no.such_model", "--family"):  # a bad name: one error line; a missing value: click's usage error
        assert light[0] == 2 and "error" in light[2].lower()
    if args[0] == "catalog" and args[-1] != "--family":
        assert "warning: skipping" in light[2] and "broken.toml" in light[2]
