"""Model discovery through the ``devicelib.models`` entry-point group.

Built-in families are registered in devicelib's own ``pyproject.toml`` under
the same group as third-party plugins, so there is one discovery path::

    [project.entry-points."devicelib.models"]
    "mylab.mymodel" = "mylab.devices:MyModel"

Loading a registered name imports only that module.

This module knows nothing of model cards: :mod:`devicelib.catalog` (which imports this
one, never the reverse) registers a *card resolver* with :func:`add_resolver`, through
which :func:`get_model` also finds catalog card names. Importing ``devicelib`` installs it.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from importlib import import_module
from importlib.metadata import EntryPoint, entry_points
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # imported where used: `devicelib models` reads the cached index without numpy
    from .core import DeviceModel

GROUP = "devicelib.models"


class ModelNotFound(KeyError):
    def __str__(self) -> str:  # KeyError quotes its message; keep it readable
        return str(self.args[0])


@cache
def _entry_points() -> dict[str, EntryPoint]:
    return {ep.name: ep for ep in entry_points(group=GROUP)}


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
