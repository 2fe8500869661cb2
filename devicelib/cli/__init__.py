"""The ``devicelib`` command line, one module per command group.

:mod:`.common` holds the typer app, the shared options and the error handling; the command modules
import from it and register their commands on import. This ``__init__`` only assembles them, so
no module imports back into one that imports it (no cycle). ``devicelib.cli:entry`` is the console
entry point (:func:`main`, then a quick process exit after ``fit``), ``main`` runs a command in this
process and ``from devicelib.cli import app`` gives the typer app (e.g. for ``CliRunner``).
Every command module is light at import time; the heavy libraries load inside the commands, and
the package imports the command modules (and typer) only when ``app`` is first used.
"""

from __future__ import annotations

__all__ = ["app", "entry", "main"]


# the command modules in the order `--help` lists their commands (importing one registers its commands)
_MODULES = ("browse", "simulate", "export", "fit", "compare")
_MODULE_OF = {"models": "browse", "catalog": "browse", "show": "browse", "simulate": "simulate", "export": "export",
              "fit": "fit", "compare": "compare"}


def _app(command: str | None = None):
    """The typer app; ``command`` (the first argument of a run) registers only that command's module: typer
    then builds the click objects of that command alone (``devicelib fit`` parses as before, ~15 ms less)."""
    from importlib import import_module

    from .common import app

    for mod in (_MODULE_OF[command],) if command in _MODULE_OF else _MODULES:
        import_module(f"{__name__}.{mod}")
    if command not in _MODULE_OF:  # every module: `--help` order, also after a one-command run in this process
        from .light import COMMANDS

        order = [name for name, _ in COMMANDS]
        app.registered_commands.sort(key=lambda c: order.index(c.name or c.callback.__name__.replace("_", "-")))
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

    run_recording(args, light_command(args) or _app(args[0] if args else None))


# commands after which the process ends without the interpreter's teardown (see _end_process)
_QUICK_EXIT = {"fit"}


def entry() -> None:
    """Console entry point (``[project.scripts] devicelib``, ``python -m devicelib.cli``): :func:`main`; after a
    finished ``fit`` the process then ends at once (:func:`_end_process`)."""
    import sys

    quick = sys.argv[1:2] and sys.argv[1] in _QUICK_EXIT
    try:
        main()
    except SystemExit as exc:
        if quick:
            _end_process(exc.code)
        raise
    if quick:
        _end_process(0)


def _end_process(code) -> None:
    """End a command's process without the interpreter's teardown, which after a fit frees every object of
    numpy, scipy and numba's compiled code (LLVM) one by one: 0.2-0.4 s of the command's wall time (measured
    with the Gong fit), for memory the operating system takes back at once. Only for a command that has
    finished (its files written and closed: a card by an atomic rename, a report by matplotlib) with an
    integer exit status and no other thread but daemon threads; atexit handlers run first and stdout and
    stderr are flushed here. Anything else (or a failed flush, e.g. a closed pipe) returns: the ordinary
    exit follows."""
    import atexit
    import os
    import sys
    import threading

    code = 0 if code is None else code
    run_exitfuncs = getattr(atexit, "_run_exitfuncs", None)  # CPython's: what the interpreter's exit runs
    if not isinstance(code, int) or run_exitfuncs is None or any(
            not t.daemon for t in threading.enumerate() if t is not threading.main_thread()):
        return
    run_exitfuncs()
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except (OSError, ValueError):
        return
    os._exit(code)
