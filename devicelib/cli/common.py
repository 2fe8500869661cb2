"""The ``devicelib`` command line (typer + rich): the app, shared options and error handling.

Command modules (:mod:`.browse`, :mod:`.simulate`, :mod:`.fit`, :mod:`.export`, :mod:`.compare`)
import from here; this module imports none of them (the package ``__init__`` assembles the app),
so there is no import cycle. It must stay light: no numpy, xarray, scipy or pint at import time.

Every subcommand has ``--help``. Bad input exits with status 2 and one line
``error: ...`` on stderr; ``--json`` prints exactly one JSON document on
stdout. Quantities are written with their unit (``"1.2 V"``, ``"100 ns"``);
a bare number is taken in SI.
"""

from __future__ import annotations

import functools
import sys
from typing import Annotated

import typer
from rich.console import Console

from .. import __version__
from .light import APP_HELP, VERSION_HELP, show_warnings
from .light import emit_json as _emit_json  # noqa: F401 (the commands' JSON writer)

app = typer.Typer(
    name="devicelib",
    help=APP_HELP,  # `devicelib --help` is drawn from .light's constants without typer
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
console = Console()
err_console = Console(stderr=True)


def _plain_bool_flags() -> None:
    """typer >= 0.22 coerces parameters through pydantic TypeAdapters built on first use, and builds one
    even for an unset flag (``--help``'s None): importing pydantic for that is 0.1-0.3 s of every
    command. A bool flag parses to a bool (typer skips coercing those) or None and a str option or
    argument to a str or None, so their coercion is typer's own pass-through (the same values). An int,
    a ``Path`` or a list of ints, paths or strs (``fit``'s options) is converted here when the text is
    plainly one (digits; a non-empty path, then typer's own path checks): what pydantic returns for it;
    anything else (another text, other types, constraints, parsers) takes typer's pydantic path, with its
    errors. No-op on typers without it."""
    core, coercion = sys.modules.get("typer.core"), sys.modules.get("typer._coercion")
    build = getattr(core, "build_runtime_param", None)
    passthrough = getattr(coercion, "PassThroughRuntimeParam", None)
    if build is None or passthrough is None or getattr(build, "_devicelib", False):
        return
    runtime_param = getattr(coercion, "RuntimeParam", passthrough)
    import dataclasses
    import re
    from pathlib import Path
    from typing import Any, get_args, get_origin

    try:
        from typer._param_types import coerce_cli_path
    except ImportError:  # pragma: no cover - another typer layout: paths take typer's own path
        coerce_cli_path = None

    class _Other(Exception):
        pass

    def leaf(kind, info):
        def convert(value, param, ctx):
            if kind is str and isinstance(value, str):  # list[str]: typer's str coercion keeps a str
                return value
            if kind is int and type(value) is int:  # a default
                return value
            if kind is int and isinstance(value, str) and re.fullmatch(r"[+-]?[0-9]+", value):
                return int(value)
            if kind is Path and isinstance(value, str) and value:
                return coerce_cli_path(Path(value), info, path_type=Path, param=param, ctx=ctx)
            raise _Other
        return convert

    @dataclasses.dataclass(frozen=True)
    class PlainRuntimeParam(runtime_param):
        convert: Any = None
        descriptor: Any = None

        def _coerce_value(self, value, param, ctx):
            try:
                if self.descriptor.is_list:
                    return [self.convert(v, param, ctx) for v in (value if isinstance(value, list | tuple)
                                                                   else [value])]
                return self.convert(value, param, ctx)
            except _Other:
                return build(self.descriptor)._coerce_value(value, param, ctx)  # typer's own, with pydantic

    def build_runtime_param(descriptor):
        ann, info = descriptor.annotation, descriptor.parameter_info
        if ann in (bool, str) and descriptor.file_annotation is None:
            return passthrough(annotation=ann, parameter_info=info)
        kind = get_args(ann)[0] if get_origin(ann) is list and len(get_args(ann)) == 1 else ann
        plain = (descriptor.file_annotation is None and hasattr(descriptor, "is_list")
                 and all(getattr(info, k, None) is None for k in ("parser", "min", "max", "path_type"))
                 and not getattr(info, "clamp", False))
        if plain and (kind in (int, str) or (kind is Path and coerce_cli_path is not None)):
            return PlainRuntimeParam(annotation=ann, parameter_info=info, convert=leaf(kind, info),
                                     descriptor=descriptor)
        return build(descriptor)

    build_runtime_param._devicelib = True
    core.build_runtime_param = build_runtime_param


_plain_bool_flags()

JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON document instead of a table.")]


def _fail(msg: str) -> None:
    err_console.print(f"error: {msg}", markup=False, highlight=False, soft_wrap=True)
    raise typer.Exit(2)


def handle_errors(func):
    """Turn user-facing errors into one line on stderr and exit status 2."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        import warnings

        try:
            # record=True resets the warning registries (each run shows its warnings again); the
            # catalog module is not imported here (it loads numpy and pint): a CatalogWarning can only
            # have been raised once a command imported it, so it is looked up afterwards
            with warnings.catch_warnings(record=True) as caught:
                try:
                    return func(*args, **kwargs)
                finally:
                    show_warnings(caught, lambda: err_console)  # one line each on stderr; others as usual
        except typer.Exit:
            raise
        except Exception as exc:
            # CardError / MeasurementError can only be raised once their module is imported: look
            # them up there instead of importing xarray (measurement) for every command
            user = [ValueError, KeyError, TypeError, FileNotFoundError, IsADirectoryError, PermissionError,
                    NotImplementedError]  # e.g. a model that cannot infer a state from a read
            for mod, cls in (("devicelib.catalog", "CardError"), ("devicelib.measurement", "MeasurementError")):
                if mod in sys.modules:
                    user.append(getattr(sys.modules[mod], cls))
            if not isinstance(exc, tuple(user)):
                raise
            msg = exc.args[0] if isinstance(exc, KeyError) and exc.args else str(exc)
            _fail(str(msg).replace("\n", " "))

    return wrapper


def _quantity(text: str | None, unit: str, name: str):
    """Parse ``"1.2 V"`` / ``"100 ns"`` / ``"1e-7"`` (SI) into an SI float."""
    from ..units import UnitError, quick_si, registry, to_si

    if text is None:
        return None
    text = text.strip()
    try:
        value = float(text)
        return value
    except ValueError:
        pass
    fast = quick_si(text, unit)  # a listed unit: pint's value without importing pint
    if fast is not None:
        return fast
    try:
        q = registry().Quantity(text)
    except Exception:
        raise UnitError(f"--{name}: cannot read {text!r} as a quantity (write e.g. '1.2 V')") from None
    return to_si(q, unit, f"--{name}")


def _model_or_card(name: str):
    """Resolve a registered model name, a catalog card name or a card path."""
    from ..registry import available_models, model_class

    if name in available_models():
        return model_class(name)(), None
    from ..catalog import find_card, load_card  # cards only: a registered model needs no catalog

    path = find_card(name)
    if path is None:
        raise KeyError(
            f"{name!r} is neither a registered model nor a card (see `devicelib models`, `devicelib catalog`)"
        )
    card = load_card(path)
    return card.model(), card


@app.callback(invoke_without_command=True)
def _main(version: Annotated[bool, typer.Option("--version", help=VERSION_HELP)] = False):
    if version:
        console.print(f"devicelib {__version__}")
        raise typer.Exit()


def _progress(total: int, label: str):
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    prog = Progress(TextColumn(label), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                    console=err_console, transient=True, disable=not err_console.is_terminal)
    return prog


class _LateProgress:
    """A rich progress bar on stderr that appears only when the work is still running after
    ``delay`` seconds and stderr is a terminal (short runs and pipes stay quiet)."""

    def __init__(self, label: str, total: float | None, delay: float, console: Console):
        self.label, self.total, self.delay, self.console = label, total, delay, console
        self.done = 0.0
        self._prog = self._task = self._timer = None
        self._lock = __import__("threading").Lock()

    def _start(self) -> None:
        from rich.markup import escape
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

        cols = [SpinnerColumn(), TextColumn(escape(self.label))]
        if self.total is not None:
            cols += [BarColumn(), MofNCompleteColumn()]
        with self._lock:
            if self._timer is None:  # already finished
                return
            self._prog = Progress(*cols, TimeElapsedColumn(), console=self.console, transient=True)
            self._task = self._prog.add_task(self.label, total=self.total, completed=self.done)
            self._prog.start()

    def advance(self, n: float = 1.0) -> None:
        with self._lock:
            self.done += n
            if self._prog is not None:
                self._prog.update(self._task, completed=self.done)

    def __enter__(self):
        if self.console.is_terminal:
            import threading

            self._timer = threading.Timer(self.delay, self._start)
            self._timer.daemon = True
            self._timer.start()
        return self

    def __exit__(self, *exc) -> None:
        with self._lock:
            timer, self._timer = self._timer, None
            prog, self._prog = self._prog, None
        if timer is not None:
            timer.cancel()
        if prog is not None:
            prog.stop()


def late_progress(label: str, total: float | None = None, delay: float = 2.0,
                  console: Console | None = None) -> _LateProgress:
    """Progress for a command that may take over ``delay`` s: ``with late_progress("exporting") as p:``
    (``p.advance()`` per item when ``total`` is given; a spinner with elapsed time otherwise)."""
    return _LateProgress(label, total, delay, err_console if console is None else console)
