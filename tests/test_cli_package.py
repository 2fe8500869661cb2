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

MODULES = ["common", "browse", "simulate", "fit", "export", "compare", "compare_lib", "__init__"]
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
    # common is at the bottom (it imports no command module); a command module imports only common
    # (and compare its compare_lib); the package __init__ alone imports the command modules
    import ast
    from importlib.util import find_spec

    commands = {"browse", "simulate", "fit", "export", "compare", "compare_lib"}
    allowed = {"common": set(), "compare": {"common", "compare_lib"}, "compare_lib": {"common"}}
    for mod in ["common", *commands]:
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


@pytest.mark.parametrize("args", [["--help"], ["models"], ["models", "--json"], ["catalog"], ["catalog", "--json"],
                                  ["show", "vcm.jiang2016_hfox"], ["show", "vcm.jart"]])
def test_light_commands_import_no_heavy_library(args):
    res = json.loads(_fresh(_PROBE.format(args=args, heavy=HEAVY)).strip().splitlines()[-1])
    assert res["exit"] == 0
    assert res["loaded"] == [], f"devicelib {' '.join(args)} imported {res['loaded']}"


def test_help_does_not_import_numpy_or_pint():
    res = json.loads(_fresh(_PROBE.format(args=["--help"], heavy=["numpy", "pint"])).strip().splitlines()[-1])
    assert res == {"exit": 0, "loaded": []}
