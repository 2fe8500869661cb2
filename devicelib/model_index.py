"""A cached index of the registered models' metadata, so ``devicelib models`` imports no family.

Listing the models needs each class's name, family, drive and references; importing the
families for that loads numba and scipy (about a second). The rows are cached as JSON in the
user cache directory (``$DEVICELIB_CACHE_DIR``, else ``$XDG_CACHE_HOME/devicelib``, else
``~/.cache/devicelib``; ``DEVICELIB_CACHE_DIR=""`` disables the cache), keyed by the
registered entry points and the size and modification time of every ``.py`` file of the
packages that provide them, so installing a plugin or editing a family rebuilds the index.
A cache that cannot be read or written is ignored (the rows are then built by importing).

The same file keeps each model's parameter schema (units, bounds, defaults), so that loading a
card (:func:`devicelib.catalog.load_card`) and ``devicelib show`` need no family import either;
a card's cross-parameter check (the model's ``_check``, e.g. ``g_min < g_max``) runs by building
the model once, and a passing set of values is remembered in ``valid-cards.json`` under the same
key (a changed family or plugin forgets them all); building the index checks the catalog's cards.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
from importlib.util import find_spec
from pathlib import Path

from . import __version__

VERSION = 2
SHIPPED = Path(__file__).with_name("_model_index.json")


def cache_dir() -> Path | None:
    env = os.environ.get("DEVICELIB_CACHE_DIR")
    if env is not None:
        return Path(env) if env else None
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "devicelib"


def _roots(eps) -> list[str]:
    """The package folders (or module files) that provide the entry points ``eps``."""
    roots = set()
    for ep in eps.values():
        top = ep.value.split(":")[0].split(".")[0]
        spec = find_spec(top)
        if spec is not None and spec.submodule_search_locations:
            roots.update(spec.submodule_search_locations)
        elif spec is not None and spec.origin:
            roots.add(spec.origin)
    return sorted(roots)


def _source_stats(roots) -> list:
    """(path, mtime, size) of every ``.py`` file under ``roots``."""
    files = []
    for root in roots:
        if os.path.isfile(root):
            st = os.stat(root)
            files.append((root, st.st_mtime_ns, st.st_size))
            continue
        for dirpath, _dirs, names in os.walk(root):
            for name in names:
                if name.endswith(".py"):
                    st = os.stat(os.path.join(dirpath, name))
                    files.append((os.path.join(dirpath, name), st.st_mtime_ns, st.st_size))
    return sorted(files)


def _fingerprint(eps) -> str:
    parts = [VERSION, __version__, sys.version_info[:2], sorted((ep.name, ep.value) for ep in eps.values()),
             _source_stats(_roots(eps))]
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


def _schema(cls) -> dict:
    """What validating a card and ``show`` need of a class, in JSON (floats round-trip exactly)."""
    from .core import DeviceModel

    return {
        "name": cls.name, "family": cls.family, "family_name": cls.family_name,
        "amplitude_unit": cls.amplitude_unit, "references": list(cls.references),
        "inverts_conductance": cls.state_from_conductance is not DeviceModel.state_from_conductance,
        "parameters": [{"name": p.name, "unit": p.unit, "default": p.default, "bounds": list(p.bounds),
                        "symbol": p.symbol, "description": p.description, "log": p.log, "fixed": p.fixed}
                       for p in cls.parameters],
    }


def _write(path: Path, obj) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        tmp.write_text(json.dumps(obj))
        tmp.replace(path)
    except OSError:
        pass


_keys: dict = {}  # entry points -> fingerprint, once per process (stat-ing the sources takes ~10 ms)
_read: dict = {}  # (file, mtime, size) -> parsed index


def _index(build: bool) -> tuple[str | None, dict | None]:
    """(key, {"key", "rows", "schemas"}) of the current index. A missing or stale cache is rebuilt by
    importing the families when ``build``; otherwise (key, None) is returned then."""
    from .registry import _entry_points, available_models, model_class

    eps = _entry_points()
    where = cache_dir()
    key = data = None
    if where is not None:
        path = where / "models.json"
        try:
            ident = tuple(sorted((n, ep.value) for n, ep in eps.items()))
            if ident not in _keys:
                _keys[ident] = _fingerprint(eps)
            key = _keys[ident]
            st = os.stat(path)
            stamp = (str(path), st.st_mtime_ns, st.st_size)
            if stamp not in _read:
                _read.clear()
                _read[stamp] = json.loads(path.read_text())
            got = _read[stamp]
            if got.get("key") == key and isinstance(got.get("rows"), list) and isinstance(got.get("schemas"), dict):
                return key, got
        except (OSError, ValueError, KeyError, TypeError, AttributeError, ImportError):
            pass
    shipped = _shipped()
    known = {n for n, ep in eps.items() if shipped is not None and shipped["entry_points"].get(n) == ep.value}
    if not build and len(known) < len(eps):
        return key, None
    rows, schemas = [], {}
    for name in available_models():  # the shipped metadata of built-in models, the class of any other
        if name in known:
            rows.append(shipped["rows"][name])
            schemas[name] = shipped["schemas"][name]
        else:
            cls = model_class(name)
            rows.append(_row(cls))
            schemas[name] = _schema(cls)
    data = {"key": key, "rows": rows, "schemas": schemas}
    if where is not None and key is not None:
        _write(where / "models.json", data)
        if len(known) < len(eps):
            _check_cards()
    return key, data


_shipped_memo: list = []


def _shipped() -> dict | None:
    """The shipped index of the built-in models when every source file it was built from is unchanged
    (compared by SHA-256, not by time: an installed copy has other modification times), else None."""
    if not _shipped_memo:
        got = None
        try:
            data = json.loads(SHIPPED.read_text(encoding="utf-8"))
            base = SHIPPED.resolve().parent.parent
            if data.get("version") == VERSION and all(
                    hashlib.sha256((base / rel).read_bytes()).hexdigest() == digest
                    for rel, digest in data["sources"].items()):
                got = data
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            pass
        _shipped_memo.append(got)
    return _shipped_memo[0]


def build_shipped() -> dict:
    """The index of devicelib's own models as shipped in ``_model_index.json`` (imports every built-in
    family and loads every card of the shipped catalog; run in a fresh process with the cache disabled,
    as ``python -m devicelib.model_index`` does, so that the recorded sources are exactly the files that
    loading the families imports)."""
    from .registry import _entry_points, model_class

    _shipped_memo[:] = [None]  # the file being rebuilt vouches for nothing meanwhile
    eps = {n: ep for n, ep in _entry_points().items() if ep.value.split(".")[0] == "devicelib"}
    classes = [model_class(n) for n in sorted(eps)]
    base = Path(__file__).resolve().parent.parent
    files = sorted({Path(m.__file__).resolve() for n, m in list(sys.modules.items())
                    if (n == "devicelib" or n.startswith("devicelib.")) and getattr(m, "__file__", None)})
    sources = {f.relative_to(base).as_posix(): hashlib.sha256(f.read_bytes()).hexdigest() for f in files}
    from .catalog import CardError, catalog_dirs, load_card

    valid = set()
    for d in catalog_dirs():
        for path in sorted(d.rglob("*.toml")):
            if "records" in path.relative_to(d).parts:
                continue
            try:
                card = load_card(path)
            except (CardError, OSError):
                continue
            if card.model_name in eps:
                valid.add(_values_hash(card.model_name, card.values()))
    return {"version": VERSION, "sources": sources, "entry_points": {n: eps[n].value for n in sorted(eps)},
            "rows": {c.name: _row(c) for c in classes}, "schemas": {c.name: _schema(c) for c in classes},
            "valid": sorted(valid)}


def write_shipped() -> Path:
    """Rewrite ``_model_index.json`` next to this module (see :func:`build_shipped`)."""
    SHIPPED.write_text(json.dumps(build_shipped(), indent=1) + "\n", encoding="utf-8")
    return SHIPPED


def _check_cards() -> None:
    """Load every catalog card once while the families are imported anyway (building the index), so
    that the cards' cross-parameter checks are remembered and the next ``catalog`` imports none."""
    import warnings

    from .catalog import CardError, iter_cards, load_card

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for path in iter_cards():
            try:
                load_card(path)
            except (CardError, OSError):
                pass  # reported when the card is used


def model_rows() -> list[dict]:
    """Metadata rows of every registered model, sorted by name (from the cache when it is current)."""
    return _index(build=True)[1]["rows"]


def warm() -> None:
    """Make the cached index current (importing the families once when it is missing or stale), so that
    the card loads that follow import none; nothing when the cache is disabled."""
    if cache_dir() is not None:
        _index(build=True)


class ModelSchema:
    """A registered model's declared metadata without its class (read from the index): ``name``,
    ``family``, ``family_name``, ``amplitude_unit``, ``references``, ``parameters``
    (:class:`devicelib.core.Parameter`) and ``inverts_conductance`` (the class overrides
    ``state_from_conductance``). Duck-types the class attributes that validation and ``show`` read."""

    def __init__(self, d: dict):
        from .core import Parameter

        self.name, self.family, self.family_name = d["name"], d["family"], d["family_name"]
        self.amplitude_unit = d["amplitude_unit"]
        self.references = tuple(d["references"])
        self.inverts_conductance = bool(d["inverts_conductance"])
        self.parameters = tuple(Parameter(**{**p, "bounds": tuple(p["bounds"])}) for p in d["parameters"])

    def __repr__(self) -> str:
        return f"<ModelSchema {self.name}>"


def model_schema(name: str):
    """The schema of registered model ``name`` from a current index, else the class itself (imported;
    both have the attributes :class:`ModelSchema` lists). Raises ``ModelNotFound`` for unknown names."""
    from .registry import _entry_points, model_class

    if name in _entry_points():
        _, data = _index(build=False)
        if data is not None and name in data["schemas"]:
            return ModelSchema(data["schemas"][name])
    return model_class(name)


def _values_hash(model: str, values: dict) -> str:
    return hashlib.sha256(json.dumps([model, sorted(values.items())]).encode()).hexdigest()


def known_valid(model: str, values: dict) -> bool:
    """True when ``model(**values)`` was built without error under the current index (its
    cross-parameter check passed), so a card with these values need not import the family again."""
    shipped = _shipped()
    if shipped is not None and model in shipped["entry_points"] and _values_hash(model, values) in shipped["valid"]:
        from .registry import _entry_points

        ep = _entry_points().get(model)
        if ep is not None and ep.value == shipped["entry_points"][model]:
            return True
    key, data = _index(build=False)
    where = cache_dir()
    if data is None or where is None:
        return False
    try:
        got = json.loads((where / "valid-cards.json").read_text())
        return got.get("key") == key and _values_hash(model, values) in got.get("ok", [])
    except (OSError, ValueError, TypeError, AttributeError):
        return False


def remember_valid(model: str, values: dict) -> None:
    """Record that ``model(**values)`` passed its checks (see :func:`known_valid`); no-op without a cache."""
    key, data = _index(build=False)
    where = cache_dir()
    if data is None or where is None:
        return
    path = where / "valid-cards.json"
    ok: list = []
    try:
        got = json.loads(path.read_text())
        if got.get("key") == key and isinstance(got.get("ok"), list):
            ok = got["ok"]
    except (OSError, ValueError, TypeError, AttributeError):
        pass
    h = _values_hash(model, values)
    if h not in ok:
        _write(path, {"key": key, "ok": [*ok[-4095:], h]})


if __name__ == "__main__":
    # ``python -m devicelib.model_index``: rewrite the shipped index in this fresh process, with the user
    # cache and any user catalog folders out of the way
    os.environ["DEVICELIB_CACHE_DIR"] = ""
    os.environ.pop("DEVICELIB_CATALOG", None)
    from devicelib.model_index import write_shipped

    print(write_shipped())
