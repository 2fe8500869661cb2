"""xarray without importing dask until a dask array exists.

xarray asks ``isinstance(data, array_type("dask"))`` whenever it wraps an array, and the first such
question imports dask and ``dask.array`` (0.3-0.6 s on the build machine: most of a one-device
``devicelib fit``'s set-up). No object can be a dask array while ``dask.array`` is not imported, so
:func:`defer_dask` puts a lazy entry in xarray's duck-array cache that answers the type check with
``()`` until ``dask.array`` is in ``sys.modules`` and defers everything else (version, availability,
module) to xarray's own ``DuckArrayModule("dask")``, built on first use. Likewise xarray's
``is_dask_collection`` (called on every array it wraps; it imports ``dask.base``) answers False while
dask is not imported (a dask collection is an object of dask's) and is xarray's own afterwards. Nothing
changes once dask is imported. pint gets the same lazy entry (xarray imports pint for its first type
check too; no pint quantity exists before pint is imported). When xarray's internals differ (another
version), this does nothing.
"""

from __future__ import annotations

import sys


class _LazyDask:
    """Stands in for ``xarray.namedarray.pycompat.DuckArrayModule("dask")`` until it is needed."""

    def __init__(self, cls, mod="dask", marker="dask.array"):
        self._cls, self._mod, self._marker = cls, mod, marker
        self._real = None

    def _load(self):
        if self._real is None:
            self._real = self._cls(self._mod)
        return self._real

    @property
    def type(self):
        if self._real is None and self._marker not in sys.modules:
            return ()  # no dask array (pint quantity) can exist yet
        return self._load().type

    def __getattr__(self, name):  # module, version, available
        return getattr(self._load(), name)


def defer_dask() -> bool:
    """Install the lazy dask entry in xarray's duck-array cache; True when it is (or was) installed."""
    if "dask.array" in sys.modules:
        return False
    try:
        from xarray.namedarray import pycompat
    except ImportError:  # pragma: no cover - another xarray layout
        return False
    cache = getattr(pycompat, "_cached_duck_array_modules", None)
    cls = getattr(pycompat, "DuckArrayModule", None)
    if not isinstance(cache, dict) or cls is None:  # pragma: no cover - another xarray layout
        return False
    if "dask" not in cache:
        cache["dask"] = _LazyDask(cls)
    if "pint" not in cache and "pint" not in sys.modules:  # likewise pint (0.1 s): a quantity implies pint
        cache["pint"] = _LazyDask(cls, "pint", "pint")
    try:
        from xarray.namedarray import utils
    except ImportError:  # pragma: no cover
        utils = None
    orig = getattr(utils, "is_dask_collection", None)
    if orig is not None and not getattr(orig, "_devicelib_deferred", False):
        def is_dask_collection(x):
            return "dask" in sys.modules and orig(x)

        is_dask_collection._devicelib_deferred = True
        utils.is_dask_collection = is_dask_collection
    return isinstance(cache["dask"], _LazyDask)


class _LazyXarray:
    """``xarray`` imported on first attribute access (``xr.Dataset``), with :func:`defer_dask` applied then.

    Modules on the fit command's path (measurement, observables, the fit) name ``xr`` at module level but
    need xarray only where an xarray object is really built or asked for; importing xarray (and pandas)
    is 0.4-0.5 s of a ~1 s command."""

    _mod = None

    def __getattr__(self, name: str):
        mod = _LazyXarray._mod
        if mod is None:
            import xarray

            defer_dask()
            mod = _LazyXarray._mod = xarray
        return getattr(mod, name)


xr = _LazyXarray()
