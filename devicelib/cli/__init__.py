"""The ``devicelib`` command line, one module per command group.

:mod:`.common` holds the typer app, the shared options and the error handling; the command modules
import from it and register their commands on import. This ``__init__`` only assembles them, so
no module imports back into one that imports it (no cycle). ``devicelib.cli:main`` is the console
entry point and ``from devicelib.cli import app`` gives the typer app (e.g. for ``CliRunner``).
Every command module is light at import time; the heavy libraries load inside the commands.
"""

from __future__ import annotations

# importing a command module registers its commands; this order is the order `--help` lists them
# isort: off
from . import browse, simulate, export, fit, compare  # noqa: F401
# isort: on
from .common import app

__all__ = ["app", "main"]


def main() -> None:
    """Console entry point (``[project.scripts] devicelib``)."""
    app()
