"""A replay cache for the pure listing commands (``devicelib --help``, ``models``, ``models --json``).

Their output depends only on the installed code and the terminal, yet producing it imports typer,
rich and (through typer) much more: 0.2-0.5 s, most of the command. The first run records the
exact bytes written to stdout; later runs with the same key write them back without importing
typer. The key holds the arguments, the model-index fingerprint (every source file of devicelib
and of the installed model plugins: a change of code or of plugins misses), the versions of typer,
rich and click, the Python version, whether stdout is a terminal and its size and encoding, and
every environment variable that changes rich's or typer's rendering. Only a run that exits with
status 0 is recorded; ``DEVICELIB_CACHE_DIR=""`` disables this with the model index.
Importing this module is cheap (standard library only).
"""

from __future__ import annotations

import hashlib
import json
import os
import sys

COMMANDS = {("--help",), ("models",), ("models", "--json")}
_ENV_WORDS = ("COLOR", "TERM", "COLUMNS", "LINES", "TTY", "TYPER", "RICH", "JUPYTER", "LANG", "LC_", "PYTHONIO")


def _key(args: tuple[str, ...]) -> str | None:
    from importlib.metadata import PackageNotFoundError, version

    from ..model_index import _fingerprint
    from ..registry import _entry_points

    out = sys.stdout
    try:
        tty = out.isatty()
        size = tuple(os.get_terminal_size(out.fileno())) if tty else None
    except (AttributeError, OSError, ValueError):
        return None  # not a real stream (e.g. a test runner's buffer): no replay
    try:
        versions = [version(p) for p in ("typer", "rich", "click")]
    except PackageNotFoundError:
        versions = None
    env = sorted((k, v) for k, v in os.environ.items() if any(w in k for w in _ENV_WORDS))
    parts = [args, _fingerprint(_entry_points()), versions, sys.version, sys.platform, tty, size,
             getattr(out, "encoding", None), env]
    return hashlib.sha256(json.dumps(parts, default=str).encode()).hexdigest()


def _path(args: tuple[str, ...]):
    from ..model_index import cache_dir

    if args not in COMMANDS:
        return None
    where = cache_dir()
    if where is None:
        return None
    try:
        key = _key(args)
    except Exception:  # the cache is an optimisation: any doubt means the ordinary path
        return None
    return None if key is None else where / "cli" / f"{key}.out"


def replay(args: list[str]) -> bool:
    """Write the recorded output of ``args`` to stdout and return True, or return False."""
    path = _path(tuple(args))
    if path is None:
        return False
    try:
        data = path.read_bytes()
    except OSError:
        return False
    sys.stdout.flush()
    sys.stdout.buffer.write(data)
    sys.stdout.flush()
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
                path.parent.mkdir(parents=True, exist_ok=True)
                tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
                tmp.write_bytes("".join(tee.copy).encode(getattr(tee._stream, "encoding", None) or "utf-8"))
                tmp.replace(path)
            except (OSError, UnicodeError):
                pass
