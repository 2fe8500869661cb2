"""The shipped unit lookup (``_unit_table.json``): the unit strings the CLI and the cards use, without pint.

Importing pint and building its registry is 0.3-0.5 s, most of a one-device ``devicelib fit``'s set-up,
yet a command reads only a few unit strings ("1 V", "1 us", a card's "uA"). This module generates, with
pint, a table of those strings: each one's dimensionality and short symbol (pint's ``~P`` format), and
for every pair of strings of the same dimensionality pint's conversion factor (``value * factor`` is
exactly what pint's ``Quantity(value, src).to(dst)`` computes for multiplicative units, bit for bit).
:mod:`devicelib.units` answers from it and falls back to pint for anything not in it (offset units such
as ``degC``, expressions, typos: pint's error). pint Quantities stay the public API: they are built
when a caller asks for one.

Regenerate after changing :data:`UNITS` or upgrading pint::

    python -m devicelib.unit_table

``tests/test_units_table.py`` regenerates the table with pint and compares it with the shipped file.
"""

from __future__ import annotations

import json
from pathlib import Path

TABLE = Path(__file__).with_name("_unit_table.json")
VERSION = 1

_PREFIXED = ("V", "A", "S", "s", "ohm", "m", "J", "W", "F", "C", "H", "Hz", "Pa", "T", "Wb", "eV", "g")
_PREFIXES = ("f", "p", "n", "u", "µ", "m", "", "k", "M", "G")

# The built-in parameter declarations' units (units.KNOWN_UNITS), the units written in the shipped cards
# and datasets, and the prefixed SI units a command line takes ("1 V", "100 ns", "2 uS", "10 kohm").
UNITS = sorted({
    *(p + u for u in _PREFIXED for p in _PREFIXES),
    "", "dimensionless", "%", "percent", "K", "mK", "min", "h",
    "1/K", "1/V", "1/m", "1/m^3", "1/s", "A/V**2", "A/V^2", "A/m**2", "A/m^2", "C/m**2", "C/m^2",
    "A/(m^2*K^2)", "A/(cm^2*K^2)", "F/m", "J/K", "J/m^2", "K/W", "Pa s", "mPa s", "V/m", "MV/cm", "W/K",
    "kg/m^3", "g/cm^3", "m**2", "m**3", "m/s", "m^2", "m^2/(V*s)", "m^3", "m^3/(A*s)", "ohm*m", "ohm*m^2",
    "ohm*um^2", "um^2", "um**2", "nm^2", "S^2/s", "dalton", "boltzmann_constant * kelvin",
})


def build() -> dict:
    """The table, computed with pint (the registry devicelib uses)."""
    from .units import registry

    ureg = registry()
    units, groups = {}, {}
    for text in UNITS:
        u = ureg.Unit(text)
        if not ureg.Quantity(1.0, u)._is_multiplicative:  # pragma: no cover - offset units (degC) stay pint's
            continue
        groups.setdefault(u.dimensionality, []).append(text)  # pint's equality, not the text's term order
    for dim, members in groups.items():
        for text in members:  # one text per dimensionality: the table compares dimensions as strings
            u = ureg.Unit(text)
            units[text] = {"dim": str(dim),
                           "symbol": "" if u == ureg.dimensionless else f"{u:~P}"}
    factors = {}
    for members in groups.values():
        for src in members:
            for dst in members:
                # pint's own factor: Quantity(x, src).to(dst) is x * factor
                factor = ureg._get_conversion_factor(ureg.Unit(src)._units, ureg.Unit(dst)._units)
                factors[f"{src}|{dst}"] = float(factor)
    import pint

    return {"version": VERSION, "pint": pint.__version__, "units": units, "factors": factors}


def write(path: Path = TABLE) -> Path:
    path.write_text(json.dumps(build(), indent=0, sort_keys=True, ensure_ascii=False) + "\n", encoding="utf-8")
    return path


if __name__ == "__main__":
    print(f"wrote {write()}")
