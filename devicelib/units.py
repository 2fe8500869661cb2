"""The one pint unit registry of devicelib, and conversions at the edges.

Hot paths work on plain float arrays in SI units; quantities are converted
once when data or parameters enter (:func:`to_si`) and when results leave
(unit strings in ``xarray`` attributes, :func:`quantity`).

Every public function of devicelib accepts either a pint quantity (any
compatible unit) or a plain number, which is then taken to be in the SI unit
the function documents.
"""

from __future__ import annotations

import json
import os
import re
import sys
from functools import cache, lru_cache
from typing import Any

import numpy as np

# pint is imported and its registry built (0.3-1 s) on first use, not at ``import devicelib``:
# ``ureg`` and ``Q_`` are module attributes resolved by :func:`__getattr__`.


@cache
def registry():
    """The one pint ``UnitRegistry`` of devicelib (built once, on first use).

    pint's parsed definitions are cached on disk (``cache_folder=":auto:"``, the user cache
    directory; 0.05 s instead of 0.5 s to build). pint is imported with ``dask`` hidden unless
    dask is already loaded: pint's dask integration (quantities wrapping dask arrays) is not
    used by devicelib and importing dask for it doubled pint's import time. scipy is hidden likewise
    and handed to pint as a proxy that imports it on first use (only ``Quantity.to_preferred`` uses
    it), so that commands which only read cards (``catalog``, ``show``) load no scipy."""
    hide = [m for m in ("dask", "scipy") if m not in sys.modules]
    for m in hide:
        sys.modules[m] = None  # find_spec / import then fail inside pint.compat
    try:
        import pint
    finally:
        for m in hide:
            del sys.modules[m]
    if "scipy" in hide:
        from pint import compat
        from pint.facets.plain import qto

        compat.scipy = qto.scipy = _LazyModule("scipy")
    try:
        reg = pint.UnitRegistry(cache_folder=":auto:")
    except Exception:  # an unwritable cache directory: build without the cache
        reg = pint.UnitRegistry()
    reg.formatter.default_format = "~P"
    pint.set_application_registry(reg)
    return reg


class _LazyModule:
    """A module imported on first attribute access."""

    def __init__(self, name: str):
        self._name = name

    def __getattr__(self, attr: str):
        from importlib import import_module

        return getattr(import_module(self._name), attr)


def __getattr__(name: str):
    if name == "ureg":
        return registry()
    if name == "Q_":
        return registry().Quantity
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


@cache
def _table() -> dict:
    """The shipped unit lookup (:mod:`devicelib.unit_table`): symbols, dimensions and pint's conversion
    factors of the unit strings the CLI and the cards use, so that reading them imports no pint. Empty
    when missing or unreadable (then pint answers everything)."""
    try:
        with open(os.path.join(os.path.dirname(__file__), "_unit_table.json"), encoding="utf-8") as f:
            table = json.load(f)
        if table.get("version") == 1:
            return table
    except (OSError, ValueError):
        pass
    return {"units": {}, "factors": {}}


def _factor(src: str, dst: str) -> float | None:
    """pint's factor from ``src`` to ``dst`` (``Quantity(x, src).to(dst)`` is ``x * factor``), or None when
    the pair is not in the shipped table (other units, other dimensions: ask pint)."""
    return _table()["factors"].get(f"{src}|{dst}")


_NUMBER_UNIT = re.compile(r"\s*([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)\s*(.*?)\s*")


def _split_quantity(text: str) -> tuple[float, str] | None:
    """``"1.2 V"`` -> (1.2, "V") when the unit is in the shipped table, else None (pint parses it)."""
    m = _NUMBER_UNIT.fullmatch(text)
    if m is None or m.group(2) not in _table()["units"]:
        return None
    return float(m.group(1)), m.group(2)


def quick_si(text: str, unit: str) -> float | None:
    """``"1.2 V"`` in ``unit`` (SI) from the shipped table: exactly pint's value, or None when the text is not
    a number and a listed unit of ``unit``'s dimension (then pint parses it, and reports errors)."""
    split = _split_quantity(text)
    factor = None if split is None or not unit else _factor(split[1], unit)
    return None if factor is None else split[0] * factor


def _is_quantity(value) -> bool:
    # a pint Quantity exists only once pint is imported: no import for plain numbers
    pint = sys.modules.get("pint")
    return pint is not None and isinstance(value, pint.Quantity)


class UnitError(ValueError):
    """A value has the wrong physical dimension or an unknown unit."""


def parse_unit(unit, where: str = "unit"):
    """Parse a unit string (``"uS"``, ``"m^2"``, ``"1/K"``) into a ``pint.Unit``, naming ``where`` on error."""
    pint = sys.modules.get("pint")
    if pint is not None and isinstance(unit, pint.Unit):
        return unit
    if unit is None or str(unit).strip() == "":
        raise UnitError(f"{where}: no unit given; write one explicitly (e.g. 'S', 'V', 's')")
    try:
        return _parse(str(unit).strip())
    except Exception as exc:  # pint raises several types (incl. AssertionError) on bad strings
        raise UnitError(f"{where}: unknown unit {unit!r}") from exc


@lru_cache(maxsize=512)
def _parse(text: str):
    return registry().Unit(text)


# Unit strings of the built-in parameter declarations. A declaration whose unit is listed here is
# not parsed by pint at import (tests/test_units_pulses.py checks every entry parses); any other
# unit is parsed, so a typo still fails where it is declared.
KNOWN_UNITS = frozenset({
    '', '1/K', '1/V', '1/m', '1/m^3', '1/s', 'A', 'A/V**2', 'A/m**2', 'A/m^2', 'C', 'C/m**2', 'C/m^2', 'F',
    'A/(m^2*K^2)', 'A/V^2', 'F/m', 'H', 'Hz', 'J', 'J/K', 'J/m^2', 'K', 'K/W', 'Pa s', 'S', 'T', 'V', 'V/m', 'W',
    'W/K', 'Wb',
    'dimensionless', 'eV', 'kg', 'kg/m^3', 'm', 'm**2', 'm**3', 'm/s', 'm^2', 'm^2/(V*s)', 'm^3', 'm^3/(A*s)',
    'ohm', 'ohm*m', 'ohm*m^2', 's',
})


def check_unit(unit: str, where: str = "unit") -> None:
    """Raise :class:`UnitError` unless ``unit`` is a valid unit string (pint only for unlisted units)."""
    if unit in KNOWN_UNITS or (unit and unit in _table()["units"]):
        return
    parse_unit(unit or "dimensionless", where)


def to_si(value: Any, unit: str, name: str = "value") -> np.ndarray | float:
    """Return ``value`` as a float (array) expressed in ``unit``.

    ``value`` may be a pint quantity of any compatible unit, or a plain number
    or array, which is taken to be already in ``unit`` (the SI unit the caller
    documents). A quantity of another dimension raises :class:`UnitError`
    naming ``name`` and both dimensions.
    """
    if _is_quantity(value):
        import pint

        target = parse_unit(unit, name)
        try:
            mag = value.to(target).magnitude
        except pint.errors.DimensionalityError as exc:
            raise UnitError(
                f"{name}: expected a quantity in {target:~P} ({target.dimensionality}), "
                f"got {value:~P} ({value.dimensionality})"
            ) from exc
    elif isinstance(value, str):
        fast = quick_si(value, unit)
        if fast is not None:  # pint's own factor from the shipped table: the value pint would give
            return fast
        parse_unit(unit, name)
        try:
            q = registry().Quantity(value)
        except Exception as exc:
            raise UnitError(f"{name}: cannot read {value!r} as a quantity") from exc
        return to_si(q, unit, name)
    else:
        if unit not in KNOWN_UNITS and not (unit and unit in _table()["units"]):
            parse_unit(unit, name)  # a bad target unit is an error even for plain numbers
        mag = value
    arr = np.asarray(mag, dtype=float)
    return float(arr) if arr.ndim == 0 else arr


def quantity(value: Any, unit: str):
    """Wrap an SI value as a pint quantity in ``unit``."""
    return registry().Quantity(value, parse_unit(unit))


def dimensionality_of(unit: str) -> str:
    """pint's dimensionality of ``unit`` as text (``'[time]'``; ``'dimensionless'``)."""
    known = _table()["units"].get(unit) if unit else None
    if known is not None:
        return known["dim"]
    return str(parse_unit(unit).dimensionality)


def same_dimension(unit_a: str, unit_b: str) -> bool:
    a, b = (_table()["units"].get(u) if u else None for u in (unit_a, unit_b))
    if a is not None and b is not None:
        return a["dim"] == b["dim"]
    return parse_unit(unit_a).dimensionality == parse_unit(unit_b).dimensionality


def convert(value: Any, from_unit: str, to_unit: str, name: str = "value"):
    """Convert a plain number from ``from_unit`` to ``to_unit`` (pint's factor; pint itself for units not in
    the shipped table)."""
    factor = _factor(from_unit, to_unit) if from_unit and to_unit else None
    if factor is not None:
        arr = np.asarray(value, dtype=float) * factor
        return float(arr) if arr.ndim == 0 else arr
    return to_si(registry().Quantity(np.asarray(value, dtype=float), parse_unit(from_unit, name)), to_unit, name)


def format_unit(unit: str) -> str:
    """Short, readable form of a unit string (``'microsiemens'`` -> ``'µS'``)."""
    if not unit:
        return ""
    known = _table()["units"].get(unit)
    if known is not None:
        return known["symbol"]
    u = parse_unit(unit)
    return "" if u == registry().dimensionless else f"{u:~P}"


# Physical constants in SI: the exact SI values (2019 redefinition) and CODATA 2018 for eps0 and
# mu0, the values pint's definitions give (tests/test_units_pulses.py compares them), written out
# so that importing devicelib does not build the unit registry.
q_e = 1.602176634e-19  # C
k_B = 1.380649e-23  # J/K
h_planck = 6.62607015e-34  # J s
eps0 = 8.854187818792247e-12  # F/m
mu0 = 1.2566370612696005e-06  # H/m
PHI0 = h_planck / (2 * q_e)  # magnetic flux quantum, Wb
