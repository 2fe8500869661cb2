"""The CLI package: no import cycle, every command's --help, and light start-up.

Each command module is imported first in a fresh interpreter: with a cycle (a module importing
back from one that is still initialising) that import fails. Start-up is asserted by which heavy
libraries a command leaves in ``sys.modules`` (never by timing; timings are in docs/benchmarks.md).
"""

import json
import subprocess
import sys

import pytest
from typer.testing import CliRunner

from devicelib.cli import app

MODULES = ["common", "browse", "simulate", "fit", "export", "compare", "compare_lib", "light", "__init__"]
COMMANDS = ["models", "catalog", "show", "simulate", "export", "fit", "compare"]
HEAVY = ["xarray", "scipy", "lmfit", "numba", "dask", "pandas", "h5py", "matplotlib"]


def _fresh(code: str) -> str:
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    return out.stdout


@pytest.mark.parametrize("module", MODULES)
def test_each_module_imports_first_in_a_fresh_interpreter(module):
    name = "devicelib.cli" if module == "__init__" else f"devicelib.cli.{module}"
    out = _fresh(f"import importlib; m = importlib.import_module({name!r}); print(m.__name__)")
    assert out.strip() == name


def test_import_graph_has_no_cycle():
    # light is at the bottom (no typer: `--help` and `models` without it), common above it (it imports no
    # command module); a command module imports only common and light (and compare its compare_lib); the
    # package __init__ alone imports the command modules
    import ast
    from importlib.util import find_spec

    commands = {"browse", "simulate", "fit", "export", "compare", "compare_lib"}
    allowed = {"light": set(), "common": {"light"}, "compare": {"common", "compare_lib"}, "compare_lib": {"common"},
               "browse": {"common", "light"}}
    for mod in ["light", "common", *commands]:
        tree = ast.parse(open(find_spec(f"devicelib.cli.{mod}").origin).read())
        local = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.level == 1:
                local |= {node.module} if node.module else {a.name for a in node.names}
        assert local <= allowed.get(mod, {"common"}), f"devicelib.cli.{mod} imports {local}"


def test_entry_point_and_app_object():
    out = _fresh("from devicelib.cli import app, main; import typer; "
                 "print(isinstance(app, typer.Typer), callable(main))")
    assert out.split() == ["True", "True"]


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_help(command):
    r = CliRunner().invoke(app, [command, "--help"])
    assert r.exit_code == 0, r.output
    assert "Usage" in r.output and command in r.output


_PROBE = """
import json, sys
from typer.testing import CliRunner
from devicelib.cli import app
r = CliRunner().invoke(app, {args!r})
print(json.dumps({{"exit": r.exit_code, "loaded": sorted(m for m in {heavy!r} if m in sys.modules)}}))
"""


def _probe(args, heavy, env=None) -> dict:
    out = subprocess.run([sys.executable, "-c", _PROBE.format(args=args, heavy=heavy)], capture_output=True,
                         text=True, timeout=120, env=env)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def warm_env(tmp_path_factory):
    """An environment whose model-index cache is current (as after any first `devicelib models`)."""
    import os

    env = {**os.environ, "DEVICELIB_CACHE_DIR": str(tmp_path_factory.mktemp("cache"))}
    _probe(["models"], [], env)  # builds the cache (this first run imports the families)
    return env


@pytest.mark.parametrize("args", [["--help"], ["models"], ["models", "--json"], ["catalog"], ["catalog", "--json"],
                                  ["catalog", "--family", "vcm"], ["show", "vcm.jiang2016_hfox"],
                                  ["show", "vcm.stanford_pku", "--json"]])
def test_light_commands_import_no_heavy_library(args, warm_env):
    res = _probe(args, HEAVY, warm_env)
    assert res["exit"] == 0
    assert res["loaded"] == [], f"devicelib {' '.join(args)} imported {res['loaded']}"


@pytest.mark.parametrize("args", [["--help"], ["models", "--json"], ["catalog", "--family", "vcm"],
                                  ["show", "vcm.stanford_pku"]])
def test_light_commands_build_no_pydantic_adapter(args, warm_env):
    # typer coerces through pydantic; bool flags and str values take typer's pass-through instead
    assert _probe(args, ["pydantic"], warm_env) == {"exit": 0, "loaded": []}


def test_numbers_are_still_coerced_and_checked():
    r = CliRunner().invoke(app, ["compare", "--family", "vcm", "--format", "json", "--pulses", "many"])
    assert r.exit_code == 2 and "--pulses" in r.output and "valid integer" in r.output


@pytest.mark.parametrize("args", [["--help"], ["models"]])
def test_help_and_models_do_not_import_numpy_or_pint(args, warm_env):
    # --help and a cached `models` load neither numpy nor the pint registry
    assert _probe(args, ["numpy", "pint"], warm_env) == {"exit": 0, "loaded": []}


# -- export hardening: refused before anything is simulated ---------------------------------------------------

def test_export_refuses_an_unreachable_start_conductance(tmp_path):
    out = tmp_path / "x.txt"
    r = CliRunner().invoke(app, ["export", "vcm.jiang2016_hfox", "--to", "neurosim", "--out", str(out),
                                 "--g-start", "1e6 S"])
    assert r.exit_code == 2
    line = r.output.strip()
    assert line.startswith("error: ") and "\n" not in line
    # names the reachable range of the card's model at the read voltage (4.57 uS .. 1.85 mS, see show)
    assert "g_start" in line and "reachable" in line and "1.85 mS" in line
    assert not out.exists()


def test_export_accepts_a_reachable_start_conductance(tmp_path):
    out = tmp_path / "x.txt"
    r = CliRunner().invoke(app, ["export", "vcm.jiang2016_hfox", "--to", "neurosim", "--out", str(out),
                                 "--g-start", "1 mS", "--json"])
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["pulse_condition"]["g_start"]["value"] == pytest.approx(1e-3)
    assert out.exists()


@pytest.mark.parametrize("devices, expect", [("1000000000", ["memory limit", "GiB", "chunks"]),
                                             ("0", ["n_devices must be at least 1"])])
def test_export_refuses_an_ensemble_at_once(tmp_path, devices, expect):
    out = tmp_path / "x.txt"
    r = CliRunner().invoke(app, ["export", "vcm.jiang2016_hfox", "--to", "neurosim", "--out", str(out),
                                 "--devices", devices])
    assert r.exit_code == 2
    line = r.output.strip()
    assert line.startswith("error: ") and "\n" not in line
    for word in expect:
        assert word in line
    assert not out.exists()


def test_export_api_checks_the_ensemble_against_the_limit(monkeypatch):
    from devicelib.export import ExportError, export

    monkeypatch.setenv("DEVICELIB_MEMORY_LIMIT", "1e6")  # 1 MB: 10,000 devices x 16 pulses do not fit
    with pytest.raises(ExportError, match="memory limit"):
        export("vcm.jiang2016_hfox", "neurosim", "unused.txt", n_devices=10_000)


# -- progress after ~2 s, on a terminal only ------------------------------------------------------------------

def test_late_progress_shows_only_on_a_terminal_after_the_delay():
    import io
    import time

    from rich.console import Console

    from devicelib.cli.common import late_progress

    def run(terminal: bool, delay: float, work: float) -> str:
        buf = io.StringIO()
        con = Console(file=buf, force_terminal=terminal, width=80)
        with late_progress("exporting [x]", total=3, delay=delay, console=con) as p:
            for _ in range(3):
                p.advance()
            time.sleep(work)
        return buf.getvalue()

    assert run(True, 60.0, 0.0) == ""  # finished before the delay: nothing drawn
    assert run(False, 0.0, 0.3) == ""  # not a terminal (pipes, CI logs): nothing drawn
    shown = run(True, 0.0, 0.3)
    assert "exporting [x]" in shown and "3/3" in shown  # markup in the label is shown literally


def test_export_and_compare_use_late_progress(monkeypatch, tmp_path):
    # the commands wrap their work in late_progress (a recorder stands in for the terminal bar)
    import devicelib.cli.compare as cmp_mod
    import devicelib.cli.export as exp_mod

    seen = []

    class Rec:
        def __init__(self, label, total=None, **_):
            seen.append((label, total))

        def __enter__(self):
            return self

        def __exit__(self, *a):
            return None

        def advance(self, n=1):
            seen.append("advance")

    monkeypatch.setattr(exp_mod, "late_progress", Rec)
    monkeypatch.setattr(cmp_mod, "late_progress", Rec)
    r = CliRunner().invoke(app, ["compare", "--family", "vcm", "--format", "json", "--pulses", "20"])
    assert r.exit_code == 0, r.output
    assert seen[0][0] == "computing metrics" and seen[0][1] >= 2 and seen.count("advance") == seen[0][1]
    seen.clear()
    r = CliRunner().invoke(app, ["export", "vcm.jiang2016_hfox", "--to", "neurosim", "--out", str(tmp_path / "x.txt")])
    assert r.exit_code == 0, r.output
    assert seen and seen[0][0].startswith("exporting vcm.jiang2016_hfox")


# -- replayed listings: --help and models written back without typer -------------------------------------------

_MAIN = """
import sys
sys.argv = ['devicelib', *{args!r}]
from devicelib.cli import main
try:
    main()
except SystemExit as exc:
    assert exc.code in (0, None), exc.code
print('LOADED', sorted(m for m in ('typer', 'rich', 'click') if m in sys.modules), file=sys.stderr)
"""


def _main(args, env):
    out = subprocess.run([sys.executable, "-c", _MAIN.format(args=args)], capture_output=True, text=True,
                         timeout=120, env=env)
    assert out.returncode == 0, out.stderr
    return out.stdout, out.stderr.strip().splitlines()[-1]


@pytest.mark.parametrize("args", [["--help"], ["models"], ["models", "--json"]])
def test_listings_are_replayed_byte_for_byte_without_typer(args, warm_env, tmp_path):
    # the first run draws them without typer too (see .light and tests/test_startup.py) and records them
    import os

    env = {**warm_env, "DEVICELIB_CACHE_DIR": str(tmp_path)}
    first, loaded_first = _main(args, env)
    (record,) = os.listdir(tmp_path / "cli")
    again, loaded_again = _main(args, env)
    plain, _ = _main(args, {**env, "DEVICELIB_CACHE_DIR": ""})  # no cache
    assert again == first == plain
    assert "typer" not in loaded_first and loaded_again == "LOADED []"  # replayed: not even rich
    assert json.loads((tmp_path / "cli" / record).read_text())["out"] == first
    # another terminal width is another key: rendered afresh for it, not replayed from the first
    wide, _ = _main(args, {**env, "COLUMNS": "123"})
    assert wide == _main(args, {**env, "COLUMNS": "123", "DEVICELIB_CACHE_DIR": ""})[0]
    if args == ["--help"]:
        assert wide != first and max(len(line) for line in wide.splitlines()) == 123
    assert len(os.listdir(tmp_path / "cli")) == 2
    # an edited source file (another stamp of the sources) is not replayed: rendered and recorded afresh
    for name in os.listdir(tmp_path / "cli"):
        rec = json.loads((tmp_path / "cli" / name).read_text())
        assert rec["roots"] and rec["out"] in (first, wide)
        (tmp_path / "cli" / name).write_text(json.dumps({**rec, "stamp": "edited", "out": "stale"}))
    again, _ = _main(args, env)
    assert again == first
    assert json.loads((tmp_path / "cli" / record).read_text())["stamp"] != "edited"
    assert _main(args, env) == (first, "LOADED []")


def test_other_commands_are_never_replayed(tmp_path, warm_env):
    from devicelib.cli.replay import COMMANDS, _path

    assert _path(("show", "vcm.stanford_pku")) is None and ("catalog",) not in COMMANDS
