"""The ``devicelib`` command line, one module per command group.

:mod:`.common` holds the typer app, the shared options and the error handling; the command modules
import from it and register their commands on import. This ``__init__`` only assembles them, so
no module imports back into one that imports it (no cycle). ``devicelib.cli:main`` is the console
entry point and ``from devicelib.cli import app`` gives the typer app (e.g. for ``CliRunner``).
Every command module is light at import time; the heavy libraries load inside the commands, and
the package imports the command modules (and typer) only when ``app`` is first used.
"""

from __future__ import annotations

__all__ = ["app", "main"]


def _app():
    # importing a command module registers its commands; this order is the order `--help` lists them
    # isort: off
    from . import browse, simulate, export, fit, compare  # noqa: F401
    # isort: on
    from .common import app

    return app


def __getattr__(name: str):
    # the typer app is assembled on first use: `devicelib --help` / `models` replayed from the cache
    # (see .replay) import no typer at all
    if name == "app":
        return _app()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def main() -> None:
    """Console entry point (``[project.scripts] devicelib``)."""
    import sys

    from .replay import replay, run_recording

    args = sys.argv[1:]
    if replay(args):
        return
    from .light import light_command  # typer only for what .light does not draw

    run_recording(args, light_command(args) or _app())
