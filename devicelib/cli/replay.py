"""A replay cache for the pure listing commands (``devicelib --help``, ``models``, ``models --json``).

Their output depends only on the installed code and the terminal, yet producing it imports typer,
rich and (through typer) much more: 0.2-0.5 s, most of the command. The first run records the
exact bytes written to stdout; later runs with the same key write them back without importing
typer (nor ``importlib.metadata``). The key has two parts. The first, checked by name: the
arguments, the Python version, whether stdout is a terminal, its size and encoding, every
environment variable that changes rich's or typer's rendering, and the modification times of the
folders on ``sys.path`` (installing, removing or upgrading a package, a plugin or typer/rich/click,
changes its site-packages folder). The second, stored with the output: the sizes and modification
times of every source file of devicelib and of the packages providing model plugins (an edited
family or plugin misses). Only a run that exits with status 0 is recorded;
``DEVICELIB_CACHE_DIR=""`` disables this with the model index. Importing this module is cheap.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys

COMMANDS = {("--help",), ("models",), ("models", "--json")}
RECORD_VERSION = 1
_ENV_WORDS = ("COLOR", "TERM", "COLUMNS", "LINES", "TTY", "TYPER", "RICH", "JUPYTER", "LANG", "LC_", "PYTHONIO")


def _key(args: tuple[str, ...]) -> str | None:
    out = sys.stdout
    try:
        tty = out.isatty()
        size = tuple(os.get_terminal_size(out.fileno())) if tty else None
    except (AttributeError, OSError, ValueError):
        return None  # not a real stream (e.g. a test runner's buffer): no replay
    env = sorted((k, v) for k, v in os.environ.items() if any(w in k for w in _ENV_WORDS))
    paths = []
    for p in sys.path:
        try:
            paths.append((p, os.stat(p or ".").st_mtime_ns))
        except OSError:
            paths.append((p, None))
    parts = [RECORD_VERSION, args, sys.version, sys.platform, sys.executable, tty, size,
             getattr(out, "encoding", None), env, paths]
    return hashlib.sha256(json.dumps(parts, default=str).encode()).hexdigest()


def _stamp(roots) -> str:
    from ..model_index import _source_stats

    return hashlib.sha256(json.dumps(_source_stats(roots), default=str).encode()).hexdigest()


def _path(args: tuple[str, ...]):
    if args not in COMMANDS or os.environ.get("DEVICELIB_CACHE_DIR") == "":  # disabled: not even model_index
        return None
    from ..model_index import cache_dir

    where = cache_dir()
    if where is None:
        return None
    try:
        key = _key(args)
    except Exception:  # the cache is an optimisation: any doubt means the ordinary path
        return None
    return None if key is None else where / "cli" / f"{key}.json"


def replay(args: list[str]) -> bool:
    """Write the recorded output of ``args`` to stdout and return True, or return False."""
    path = _path(tuple(args))
    if path is None:
        return False
    try:
        rec = json.loads(path.read_text(encoding="utf-8"))
        if rec["stamp"] != _stamp(rec["roots"]):
            return False
        data = rec["out"]
        sys.stdout.write(data)
        sys.stdout.flush()
    except (OSError, ValueError, KeyError, TypeError):
        return False
    return True


class _Tee:
    """stdout that also keeps a copy of what is written (everything else goes to the stream)."""

    def __init__(self, stream):
        self._stream, self.copy, self.complete = stream, [], True

    def write(self, text):
        if isinstance(text, str):  # click probes with b"" (a text stream refuses it): not output
            self.copy.append(text)
        return self._stream.write(text)

    def __getattr__(self, name):
        if name == "buffer":  # bytes written past the copy: this run is not recorded
            self.complete = False
        return getattr(self._stream, name)


def run_recording(args: list[str], run) -> None:
    """Run ``run()`` (the typer app) and record its stdout when ``args`` may be replayed later."""
    path = _path(tuple(args))
    if path is None:
        run()
        return
    tee = _Tee(sys.stdout)
    sys.stdout = tee
    code = 0
    try:
        run()
    except SystemExit as exc:
        code = exc.code
        raise
    finally:
        sys.stdout = tee._stream
        if code in (0, None) and tee.complete:
            try:
                from ..model_index import _roots
                from ..registry import _entry_points

                roots = _roots(_entry_points())
                path.parent.mkdir(parents=True, exist_ok=True)
                tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
                tmp.write_text(json.dumps({"roots": roots, "stamp": _stamp(roots), "out": "".join(tee.copy)}),
                               encoding="utf-8")
                tmp.replace(path)
            except (OSError, ValueError, ImportError):
                pass
