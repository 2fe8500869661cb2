"""A cached index of the registered models' metadata, so ``devicelib models`` imports no family.

Listing the models needs each class's name, family, drive and references; importing the
families for that loads numba and scipy (about a second). The rows are cached as JSON in the
user cache directory (``$DEVICELIB_CACHE_DIR``, else ``$XDG_CACHE_HOME/devicelib``, else
``~/.cache/devicelib``; ``DEVICELIB_CACHE_DIR=""`` disables the cache), keyed by the
registered entry points and the size and modification time of every ``.py`` file of the
packages that provide them, so installing a plugin or editing a family rebuilds the index.
A cache that cannot be read or written is ignored (the rows are then built by importing).
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
from importlib.util import find_spec
from pathlib import Path

from . import __version__

VERSION = 1


def cache_dir() -> Path | None:
    env = os.environ.get("DEVICELIB_CACHE_DIR")
    if env is not None:
        return Path(env) if env else None
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "devicelib"


def _fingerprint(eps) -> str:
    parts = [VERSION, __version__, sys.version_info[:2], sorted((ep.name, ep.value) for ep in eps.values())]
    roots = set()
    for ep in eps.values():
        top = ep.value.split(":")[0].split(".")[0]
        spec = find_spec(top)
        if spec is not None and spec.submodule_search_locations:
            roots.update(spec.submodule_search_locations)
        elif spec is not None and spec.origin:
            roots.add(spec.origin)
    files = []
    for root in sorted(roots):
        if os.path.isfile(root):
            st = os.stat(root)
            files.append((root, st.st_mtime_ns, st.st_size))
            continue
        for dirpath, _dirs, names in os.walk(root):
            for name in names:
                if name.endswith(".py"):
                    st = os.stat(os.path.join(dirpath, name))
                    files.append((os.path.join(dirpath, name), st.st_mtime_ns, st.st_size))
    parts.append(sorted(files))
    return hashlib.sha256(json.dumps(parts, default=str).encode()).hexdigest()


def _row(cls) -> dict:
    return {
        "name": cls.name,
        "family": cls.family,
        "family_name": cls.family_name,
        "amplitude_unit": cls.amplitude_unit,
        "parameters": len(cls.parameters),
        "volatile": cls.volatile,
        "stochastic": cls.stochastic,
        "references": list(cls.references),
    }


def model_rows() -> list[dict]:
    """Metadata rows of every registered model, sorted by name (from the cache when it is current)."""
    from .registry import _entry_points, available_models, model_class

    eps = _entry_points()
    where = cache_dir()
    path = key = None
    if where is not None:
        try:
            key = _fingerprint(eps)
            path = where / "models.json"
            data = json.loads(path.read_text())
            if data.get("key") == key:
                return data["rows"]
        except (OSError, ValueError, KeyError, TypeError, ImportError):
            pass
    rows = [_row(model_class(name)) for name in available_models()]
    if path is not None and key is not None:
        try:
            where.mkdir(parents=True, exist_ok=True)
            tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
            tmp.write_text(json.dumps({"key": key, "rows": rows}))
            tmp.replace(path)
        except OSError:
            pass
    return rows
