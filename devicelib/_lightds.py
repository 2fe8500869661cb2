"""A read-only stand-in for the xarray objects of a one-device ``devicelib fit`` command.

A measurement read for the fit command is a few (trace, pulse) arrays with units in attributes; the fit
reads their values, dims, sizes and attributes and nothing else. Building them as xarray objects imports
xarray and pandas (0.4-0.5 s of a ~1 s command), so the CLI's simple fit path (one file, one model, no
report, hold-out or spread) reads into :class:`LightDataset` instead. Its variables (:class:`LightVariable`)
answer ``values``, ``dims``, ``attrs``, ``shape``, ``sizes`` and ``np.asarray`` themselves; any other
attribute (``sel``, ``isel``, ``to_netcdf``, ``plot``, ...) builds the equivalent xarray object once
(:meth:`to_xarray`) and is answered by it, so code that needs xarray still gets it. The library API
(``make_measurement``, ``read_sequence_csv``, ``fit``) returns xarray objects unless asked otherwise.
"""

from __future__ import annotations

import numpy as np


class LightVariable:
    """``(dims, values, attrs)`` answering like an xarray DataArray for reads (see the module)."""

    def __init__(self, dims, values, attrs=None, coords=None, name=None, owner=None):
        self.dims = tuple(dims)
        self.values = values
        self.attrs = {} if attrs is None else attrs
        self.name = name
        self._coords = coords  # {name: LightVariable} of the dims (results), or None
        self._owner = owner  # the LightDataset it belongs to (its variables), or None
        self._xr = None

    @property
    def shape(self):
        return self.values.shape

    @property
    def sizes(self):
        return dict(zip(self.dims, self.values.shape, strict=True))

    @property
    def ndim(self):
        return self.values.ndim

    @property
    def size(self):
        return self.values.size

    @property
    def dtype(self):
        return self.values.dtype

    def __len__(self):
        return len(self.values)

    def __array__(self, dtype=None, copy=None):
        return np.asarray(self.values, dtype=dtype)

    def copy(self, deep=True, data=None):
        values = self.values if data is None else data
        if deep and data is None:
            values = values.copy()
        return LightVariable(self.dims, values, dict(self.attrs), self._coords, self.name)

    def to_xarray(self):
        """The equivalent ``xarray.DataArray`` (built once)."""
        if self._xr is None:
            if self._owner is not None and self.name is not None:
                self._xr = self._owner.to_xarray()[self.name]
            else:
                from ._xrcompat import xr

                coords = {k: v.values for k, v in (self._coords or {}).items()}
                self._xr = xr.DataArray(self.values, dims=self.dims, coords=coords, attrs=self.attrs, name=self.name)
        return self._xr

    def __getattr__(self, name):
        if name.startswith("__") or name in ("_xr", "_owner", "_coords"):
            raise AttributeError(name)
        return getattr(self.to_xarray(), name)

    def __repr__(self):
        return f"<LightVariable {self.name or ''} {self.dims} {self.values.dtype} {self.values.shape}>"


class LightDataset:
    """Data variables and coordinates of shared dims, with attributes, answering like an xarray Dataset for
    reads (see the module)."""

    def __init__(self, data_vars: dict, coords: dict, attrs: dict):
        self.attrs = attrs
        self.coords = {k: LightVariable((k,), np.asarray(v), {}, name=k, owner=self) for k, v in coords.items()}
        self.data_vars = {k: LightVariable(d, np.asarray(v), dict(a), name=k, owner=self)
                          for k, (d, v, a) in data_vars.items()}
        self.variables = {**self.data_vars, **self.coords}
        self._xr = None

    @property
    def sizes(self):
        return {k: len(v.values) for k, v in self.coords.items()}

    @property
    def dims(self):
        return self.sizes

    def __contains__(self, name):
        return name in self.variables

    def __getitem__(self, name):
        if isinstance(name, str) and name in self.variables:
            return self.variables[name]
        return self.to_xarray()[name]

    def __iter__(self):
        return iter(self.data_vars)

    def to_xarray(self):
        """The equivalent ``xarray.Dataset`` (built once, from the current attributes)."""
        if self._xr is None:
            from ._xrcompat import xr

            self._xr = xr.Dataset({k: (v.dims, v.values, v.attrs) for k, v in self.data_vars.items()},
                                  coords={k: v.values for k, v in self.coords.items()}, attrs=self.attrs)
        return self._xr

    def __getattr__(self, name):
        if name.startswith("__") or name == "_xr":
            raise AttributeError(name)
        return getattr(self.to_xarray(), name)

    def __repr__(self):
        return f"<LightDataset {dict(self.sizes)} {list(self.data_vars)}>"
