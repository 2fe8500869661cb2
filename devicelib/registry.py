"""Model discovery through the ``devicelib.models`` entry-point group.

Built-in families are registered in devicelib's own ``pyproject.toml`` under
the same group as third-party plugins, so there is one discovery path::

    [project.entry-points."devicelib.models"]
    "mylab.mymodel" = "mylab.devices:MyModel"

Loading a registered name imports only that module. The group is read from the ``entry_points.txt``
of the installed distributions directly (:func:`_scan`: the same files, order and precedence as
``importlib.metadata``, which costs 0.1-0.3 s of start-up to import and scan); anything unusual on
the path (a zip or egg entry, a finder with its own distributions) takes ``importlib.metadata``.

This module knows nothing of model cards: :mod:`devicelib.catalog` (which imports this
one, never the reverse) registers a *card resolver* with :func:`add_resolver`, through
which :func:`get_model` also finds catalog card names. Importing ``devicelib`` installs it.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Callable
from functools import cache, reduce
from importlib import import_module
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # imported where used: `devicelib models` reads the cached index without numpy
    from .core import DeviceModel

GROUP = "devicelib.models"


class ModelNotFound(KeyError):
    def __str__(self) -> str:  # KeyError quotes its message; keep it readable
        return str(self.args[0])


class EntryPoint:
    """One ``name = module:attr`` line of an ``entry_points.txt`` (what ``importlib.metadata.EntryPoint``
    gives: ``name``, ``value``, ``group``, ``module``, ``attr``, ``load()``)."""

    __slots__ = ("group", "name", "value")

    def __init__(self, name: str, value: str, group: str):
        self.name, self.value, self.group = name, value, group

    @property
    def module(self) -> str:
        return self.value.partition(":")[0].strip()

    @property
    def attr(self) -> str:
        return self.value.partition(":")[2].partition("[")[0].strip()

    def load(self):
        """Import the module and return the named attribute (as ``importlib.metadata`` does)."""
        return reduce(getattr, filter(None, self.attr.split(".")), import_module(self.module))

    def __eq__(self, other) -> bool:
        return isinstance(other, EntryPoint) and (self.name, self.value, self.group) == \
            (other.name, other.value, other.group)

    def __hash__(self) -> int:
        return hash((self.name, self.value, self.group))

    def __repr__(self) -> str:
        return f"EntryPoint(name={self.name!r}, value={self.value!r}, group={self.group!r})"


def _normalize(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower().replace("-", "_")


def _parse_group(text: str, group: str) -> list[EntryPoint]:
    """The entries of section ``[group]`` of an ``entry_points.txt`` (importlib.metadata's reading:
    stripped lines, ``#`` comments, ``name = value`` split at the first ``=``)."""
    out, section = [], None
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("[") and line.endswith("]"):
            section = line.strip("[]")
        elif section == group:
            name, _, value = line.partition("=")
            out.append(EntryPoint(name.strip(), value.strip(), group))
    return out


def _scan(group: str) -> list[EntryPoint] | None:
    """Entry points of ``group`` from the ``*.dist-info`` / ``*.egg-info`` folders on ``sys.path``: one
    distribution per normalised name (the first on the path wins), in ``importlib.metadata``'s order.
    None when the path holds something this reader does not handle (then importlib.metadata is used)."""
    from importlib.machinery import PathFinder

    for f in sys.meta_path:  # the standard finder (or importlib_metadata's, installed by some packages) only
        if getattr(f, "find_distributions", None) is not None and f is not PathFinder and \
                (type(f).__module__, type(f).__name__) != ("importlib_metadata", "MetadataPathFinder"):
            return None
    seen: set[str] = set()
    out: list[EntryPoint] = []
    for entry in sys.path:
        root = entry or "."
        if not isinstance(entry, str) or os.path.basename(root).lower().endswith(".egg"):
            return None
        try:
            children = os.listdir(root)
        except OSError:
            if os.path.isfile(root):  # a zip on the path
                return None
            continue
        infos: dict[str, list[str]] = {}
        for child in children:
            low = child.lower()
            if low.endswith((".dist-info", ".egg-info")):
                infos.setdefault(_normalize(low.rpartition(".")[0].partition("-")[0]), []).append(child)
        for norm, dists in infos.items():
            for child in dists:
                if norm in seen:
                    continue
                seen.add(norm)
                try:
                    with open(os.path.join(root, child, "entry_points.txt"), encoding="utf-8") as fh:
                        text = fh.read()
                except (FileNotFoundError, IsADirectoryError, NotADirectoryError, PermissionError):
                    continue
                if group in text:
                    out += _parse_group(text, group)
    return out


@cache
def _entry_points() -> dict[str, EntryPoint]:
    eps = _scan(GROUP)
    if eps is None:
        from importlib.metadata import entry_points

        eps = entry_points(group=GROUP)
    return {ep.name: ep for ep in eps}


def refresh() -> None:
    """Forget cached entry points (after installing a plugin at run time)."""
    _entry_points.cache_clear()
    model_class.cache_clear()


def available_models() -> list[str]:
    """Names of all registered models, sorted."""
    return sorted(_entry_points())


@cache
def model_class(name: str) -> type[DeviceModel]:
    """The class registered under ``name``."""
    eps = _entry_points()
    if name not in eps:
        raise ModelNotFound(f"no model named {name!r}; registered: {', '.join(sorted(eps)) or 'none'}")
    cls = eps[name].load()
    from .core import DeviceModel

    if not (isinstance(cls, type) and issubclass(cls, DeviceModel)):
        raise TypeError(f"entry point {name!r} ({eps[name].value}) is not a DeviceModel subclass")
    if cls.name != name:
        raise TypeError(f"entry point {name!r} loads {cls.__name__} whose name is {cls.name!r}")
    return cls


# name -> model or None; the catalog installs one for card names (no import of the catalog here)
_resolvers: list[Callable[[str], DeviceModel | None]] = []


def add_resolver(resolve: Callable[[str], DeviceModel | None]) -> None:
    """Let :func:`get_model` resolve names that are not registered models (e.g. catalog cards)."""
    if resolve not in _resolvers:
        _resolvers.append(resolve)


def get_model(name: str, **params) -> DeviceModel:
    """A model instance by registered model name or catalog card name.

    ``get_model("vcm.stanford_pku", g0=0.3e-9)`` builds the model with its
    defaults overridden; ``get_model("vcm.jiang2016")`` loads the card of that
    name from the catalog (parameters then override the card's values).
    """
    if name in _entry_points():
        return model_class(name)(**params)
    if not _resolvers:  # the catalog installs its card resolver when imported; import it by name (no cycle)
        import_module("devicelib.catalog")
    for resolve in _resolvers:
        model = resolve(name)
        if model is not None:
            return model.with_params(**params) if params else model
    raise ModelNotFound(
        f"{name!r} is neither a registered model ({', '.join(available_models())}) "
        "nor a card in the catalog (see `devicelib catalog`)"
    )
