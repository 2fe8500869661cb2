"""The shipped unit table (devicelib/_unit_table.json) against pint, and its answers against pint's.

The table lets the fit command read "1 V", "1 us" and a card's units without importing pint; every answer
it gives must be pint's (the same float, the same symbol, the same dimension), and anything not in it
goes to pint (offset units, expressions, errors).
"""

import json
import math

import numpy as np
import pytest

from devicelib import unit_table, units
from devicelib.units import UnitError, registry


def test_the_shipped_table_is_pints():
    shipped = json.loads(unit_table.TABLE.read_text(encoding="utf-8"))
    assert shipped == json.loads(json.dumps(unit_table.build())), \
        "devicelib/_unit_table.json is stale: run `python -m devicelib.unit_table`"
    assert {"V", "us", "uS", "kohm", "nm", "eV", "1/m^3", "m^2/(V*s)"} <= set(shipped["units"])
    assert shipped["factors"]["us|s"] == 1e-6 and shipped["factors"]["kohm|ohm"] == 1000.0
    for text, entry in shipped["units"].items():  # each unit's dimension text is pint's own for it
        assert entry["dim"] == str(registry().Unit(text).dimensionality)
        assert not text or units.dimensionality_of(text) == entry["dim"]


@pytest.mark.parametrize("text, unit", [
    ("1 V", "V"), ("-1 V", "V"), ("1 us", "s"), ("100 ns", "s"), ("0.35 V", "V"), ("320 uA", "A"),
    ("1e-7 A", "A"), ("2.5e3 mV", "V"), ("10 kohm", "ohm"), (".5 uS", "S"), ("3 nm", "m"), ("1V", "V"),
    ("1.5 MV/cm", "V/m"), ("7 um^2", "m**2"), ("0.4 eV", "J"), ("300 K", "K"), ("5 %", ""),
])
def test_quantity_strings_convert_exactly_as_pint(text, unit):
    fast = units.quick_si(text, unit)
    if unit == "":  # no target unit: pint's path (parse_unit('') is an error)
        assert fast is None
        return
    slow = float(np.asarray(registry().Quantity(text).to(registry().Unit(unit)).magnitude, dtype=float))
    assert fast is not None and fast == slow  # bit for bit
    assert units.to_si(text, unit, "x") == slow


@pytest.mark.parametrize("text, unit", [("3 kV/mm", "V/m"), ("2*3 V", "V"), ("1 V/s", "V"), ("nan V", "V"),
                                        ("1 Vx", "V"), ("V", "V"), ("1e V", "V")])
def test_anything_else_goes_to_pint(text, unit):
    assert units.quick_si(text, unit) is None  # not in the table: pint parses it (and reports errors)
    try:
        want = float(registry().Quantity(text).to(registry().Unit(unit)).magnitude)
    except Exception:
        with pytest.raises(UnitError):
            units.to_si(text, unit, "x")
    else:
        got = units.to_si(text, unit, "x")
        assert got == want or (math.isnan(got) and math.isnan(want))
    assert units.to_si("3 kV/mm", "V/m", "e") == 3e6


def test_convert_symbols_and_dimensions_match_pint():
    ureg = registry()
    table = units._table()
    for src in ("uA", "kohm", "ms", "fF", "eV", "nm^2", "A/(cm^2*K^2)", "g/cm^3", "mPa s", "%"):
        for dst in [u for u in table["units"] if u and ureg.Unit(u).dimensionality == ureg.Unit(src).dimensionality]:
            x = np.array([0.3, -2.0, 1e-9])
            want = ureg.Quantity(x, ureg.Unit(src)).to(ureg.Unit(dst)).magnitude
            assert np.array_equal(units.convert(x, src, dst), want)
            assert units.same_dimension(src, dst)
        u = ureg.Unit(src)
        assert units.format_unit(src) == ("" if u == ureg.dimensionless else f"{u:~P}")
        assert units.dimensionality_of(src) == table["units"][src]["dim"]
        for other in ("V", "A", "S", "s", "ohm", "dimensionless", "J", "m^2"):  # the table's dimension = pint's
            assert units.same_dimension(src, other) == (u.dimensionality == ureg.Unit(other).dimensionality)
    assert not units.same_dimension("V", "A") and units.same_dimension("S", "uS")
    assert math.isclose(units.convert(1.0, "degC", "K"), 274.15)  # offset units: pint
