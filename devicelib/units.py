"""The one pint unit registry of devicelib, and conversions at the edges.

Hot paths work on plain float arrays in SI units; quantities are converted
once when data or parameters enter (:func:`to_si`) and when results leave
(unit strings in ``xarray`` attributes, :func:`quantity`).

Every public function of devicelib accepts either a pint quantity (any
compatible unit) or a plain number, which is then taken to be in the SI unit
the function documents.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pint

ureg = pint.UnitRegistry()
ureg.formatter.default_format = "~P"
Q_ = ureg.Quantity
pint.set_application_registry(ureg)


class UnitError(ValueError):
    """A value has the wrong physical dimension or an unknown unit."""


def parse_unit(unit: str | pint.Unit, where: str = "unit") -> pint.Unit:
    """Parse a unit string (``"uS"``, ``"m^2"``, ``"1/K"``), naming ``where`` on error."""
    if isinstance(unit, pint.Unit):
        return unit
    if unit is None or str(unit).strip() == "":
        raise UnitError(f"{where}: no unit given; write one explicitly (e.g. 'S', 'V', 's')")
    try:
        return ureg.Unit(str(unit).strip())
    except Exception as exc:  # pint raises several types (incl. AssertionError) on bad strings
        raise UnitError(f"{where}: unknown unit {unit!r}") from exc


def to_si(value: Any, unit: str, name: str = "value") -> np.ndarray | float:
    """Return ``value`` as a float (array) expressed in ``unit``.

    ``value`` may be a pint quantity of any compatible unit, or a plain number
    or array, which is taken to be already in ``unit`` (the SI unit the caller
    documents). A quantity of another dimension raises :class:`UnitError`
    naming ``name`` and both dimensions.
    """
    target = parse_unit(unit, name)
    if isinstance(value, pint.Quantity):
        try:
            mag = value.to(target).magnitude
        except pint.errors.DimensionalityError as exc:
            raise UnitError(
                f"{name}: expected a quantity in {target:~P} ({target.dimensionality}), "
                f"got {value:~P} ({value.dimensionality})"
            ) from exc
    elif isinstance(value, str):
        try:
            q = Q_(value)
        except Exception as exc:
            raise UnitError(f"{name}: cannot read {value!r} as a quantity") from exc
        return to_si(q, unit, name)
    else:
        mag = value
    arr = np.asarray(mag, dtype=float)
    return float(arr) if arr.ndim == 0 else arr


def quantity(value: Any, unit: str) -> pint.Quantity:
    """Wrap an SI value as a pint quantity in ``unit``."""
    return Q_(value, parse_unit(unit))


def dimensionality_of(unit: str) -> str:
    return str(parse_unit(unit).dimensionality)


def same_dimension(unit_a: str, unit_b: str) -> bool:
    return parse_unit(unit_a).dimensionality == parse_unit(unit_b).dimensionality


def convert(value: Any, from_unit: str, to_unit: str, name: str = "value"):
    """Convert a plain number from ``from_unit`` to ``to_unit`` (pint does it)."""
    return to_si(Q_(np.asarray(value, dtype=float), parse_unit(from_unit, name)), to_unit, name)


def format_unit(unit: str) -> str:
    """Short, readable form of a unit string (``'microsiemens'`` -> ``'µS'``)."""
    if not unit:
        return ""
    u = parse_unit(unit)
    return "" if u == ureg.dimensionless else f"{u:~P}"


# Physical constants in SI, taken from pint's CODATA definitions so they have
# one source.
q_e = float(Q_(1, "elementary_charge").to("C").magnitude)
k_B = float(Q_(1, "boltzmann_constant").to("J/K").magnitude)
h_planck = float(Q_(1, "planck_constant").to("J*s").magnitude)
eps0 = float(Q_(1, "vacuum_permittivity").to("F/m").magnitude)
mu0 = float(Q_(1, "magnetic_constant").to("H/m").magnitude)
PHI0 = h_planck / (2 * q_e)  # magnetic flux quantum, Wb
