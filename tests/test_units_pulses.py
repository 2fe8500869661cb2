import numpy as np
import pytest

from devicelib import Q_
from devicelib.pulses import (
    PulseTrain,
    concatenate,
    identical,
    incremental_step,
    potentiation_depression,
    read_after_delay,
)
from devicelib.units import PHI0, UnitError, k_B, parse_unit, q_e, to_si


def test_to_si_converts_quantities_and_passes_si_numbers():
    assert to_si(Q_(100, "ns"), "s") == pytest.approx(1e-7)
    assert to_si(Q_(2.5, "uS"), "S") == pytest.approx(2.5e-6)
    assert to_si(0.3, "V") == 0.3
    np.testing.assert_allclose(to_si(Q_([1, 2], "mV"), "V"), [1e-3, 2e-3])
    assert to_si("1.2 V", "V") == pytest.approx(1.2)


def test_wrong_dimension_is_a_clear_error():
    with pytest.raises(UnitError, match=r"amplitude: expected a quantity in V .* got 1 s"):
        to_si(Q_(1, "s"), "V", "amplitude")
    with pytest.raises(UnitError, match="unknown unit"):
        parse_unit("Vx")
    with pytest.raises(UnitError, match="unknown unit"):
        parse_unit("S/")


def test_constants_have_codata_values():
    assert q_e == pytest.approx(1.602176634e-19)
    assert k_B == pytest.approx(1.380649e-23)
    assert PHI0 == pytest.approx(2.067833848e-15, rel=1e-9)


def test_identical_train_and_times():
    t = identical(4, Q_(1.2, "V"), Q_(50, "ns"), interval=Q_(1, "us"))
    assert len(t) == 4 and t.amplitude_unit == "V"
    np.testing.assert_allclose(t.width, 5e-8)
    np.testing.assert_allclose(t.start_time, [0, 1.05e-6, 2.1e-6, 3.15e-6])
    np.testing.assert_allclose(t.read_time, [1.05e-6, 2.1e-6, 3.15e-6, 4.2e-6])
    assert identical(2, Q_(10, "uA"), 1e-9).amplitude_unit == "A"


def test_potentiation_depression_cycles():
    t = potentiation_depression(3, 2, Q_(1, "V"), Q_(-1.5, "V"), Q_(10, "ns"), cycles=2)
    np.testing.assert_allclose(t.amplitude, [1, 1, 1, -1.5, -1.5] * 2)
    assert len(t) == 10


def test_incremental_step_and_retention():
    t = incremental_step(5, Q_(0.5, "V"), Q_(50, "mV"), Q_(1, "us"))
    np.testing.assert_allclose(t.amplitude, [0.5, 0.55, 0.6, 0.65, 0.7])
    r = read_after_delay(Q_([1, 10, 100], "s"))
    np.testing.assert_allclose(r.read_time, [1, 10, 100])
    assert np.all(r.amplitude == 0) and np.all(r.width == 0)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"amplitude": [1.0, 2.0], "width": [1e-9]}, "width has 1 entries"),
        ({"amplitude": [1.0], "width": [-1e-9]}, "negative duration"),
        ({"amplitude": [np.nan], "width": [1e-9]}, "non-finite value at pulse 0"),
        ({"amplitude": [], "width": []}, "empty train"),
    ],
)
def test_bad_trains_are_rejected(kwargs, match):
    n = len(kwargs["amplitude"])
    with pytest.raises(ValueError, match=match):
        PulseTrain(interval=np.zeros(n), temperature=np.full(n, 300.0), **kwargs)


def test_amplitude_must_be_voltage_or_current():
    with pytest.raises(UnitError, match=r"voltage .* or a current"):
        identical(2, Q_(1, "s"), 1e-9)
    with pytest.raises(UnitError, match="mix amplitude units"):
        concatenate([identical(1, Q_(1, "V"), 1e-9), identical(1, Q_(1, "A"), 1e-9)])
    with pytest.raises(ValueError, match="strictly increasing"):
        read_after_delay([1.0, 1.0])


def test_known_units_parse_and_constants_match_pint():
    """The unit strings accepted without pint at import are valid, and the written-out constants equal pint's."""
    from devicelib import units

    for u in units.KNOWN_UNITS:
        units.parse_unit(u or "dimensionless", "KNOWN_UNITS")
    Q = units.registry().Quantity
    for value, name, unit in [(units.q_e, "elementary_charge", "C"), (units.k_B, "boltzmann_constant", "J/K"),
                              (units.h_planck, "planck_constant", "J*s"), (units.eps0, "vacuum_permittivity", "F/m"),
                              (units.mu0, "magnetic_constant", "H/m")]:
        assert value == pytest.approx(float(Q(1, name).to(unit).magnitude), rel=1e-15), name


def test_import_does_not_build_the_registry():
    import subprocess
    import sys

    code = ("import sys, devicelib; from devicelib.registry import available_models, model_class; "
            "[model_class(n) for n in available_models()]; print('pint' in sys.modules); "
            "from devicelib import Q_; print(Q_(1, 'V').to('mV').magnitude)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert out == ["False", "1000.0"]


def test_bad_parameter_unit_still_fails_where_declared():
    from devicelib.core import Parameter

    with pytest.raises(UnitError, match="parameter p"):
        Parameter("p", "furlongz", 1.0, (0.0, 2.0), "p", "a typo in a unit")
