import numpy as np
import pytest

from devicelib import Q_, get_model
from devicelib.core import Parameter
from devicelib.pulses import identical, potentiation_depression
from devicelib.simulate import simulate
from devicelib.units import UnitError
from devicelib.variability import Variability


def test_parameter_validation_names_value_and_bounds():
    p = Parameter("nu0", "m/s", 10.0, (1e-3, 1e3), "nu_0", "hopping velocity", log=True)
    assert p.validate(Q_(36, "km/h")) == pytest.approx(10.0)
    with pytest.raises(ValueError, match=r"nu0 = 5000 m/s is outside its bounds \[0.001, 1000\]"):
        p.validate(5e3)
    with pytest.raises(ValueError, match="finite"):
        p.validate(np.nan)
    with pytest.raises(UnitError, match="nu0"):
        p.validate(Q_(1, "V"))
    with pytest.raises(ValueError, match="log-scaled"):
        Parameter("x", "", 1.0, (0.0, 2.0), "x", "x", log=True)


def test_model_rejects_unknown_and_out_of_range_parameters():
    with pytest.raises(KeyError, match="unknown parameter"):
        get_model("vcm.stanford_pku", not_a_parameter=1.0)
    with pytest.raises(ValueError, match="g_min must be smaller"):
        get_model("vcm.stanford_pku", g_min=Q_(1.5, "nm"), g_max=Q_(1.0, "nm"))
    m = get_model("vcm.stanford_pku", g0=Q_(0.3, "nm"))
    assert m.params["g0"] == pytest.approx(3e-10)
    assert m.with_params(nu0=1.0).params["g0"] == pytest.approx(3e-10)


def test_simulate_dataset_dims_units_and_energy():
    m = get_model("vcm.jiang2016_hfox")
    train = potentiation_depression(20, 20, Q_(1.6, "V"), Q_(-1.6, "V"), Q_(50, "ns"))
    ds = simulate(m, train, n_devices=5, v_read=Q_(0.1, "V"))
    assert ds["conductance"].dims == ("device", "pulse")
    assert ds["conductance"].shape == (5, 40)
    assert ds["conductance"].attrs["units"] == "S" and ds["energy"].attrs["units"] == "J"
    assert ds["gap"].attrs["units"] == "m"
    g = ds["conductance"].values[0]
    assert g[19] > ds["conductance_initial"].values[0]  # SET raised the conductance
    assert g[39] < g[19]  # RESET lowered it
    assert np.all(ds["energy"].values > 0)
    # identical devices without variability give identical responses
    np.testing.assert_array_equal(ds["conductance"].values[0], ds["conductance"].values[4])


def test_variability_is_seeded_and_has_the_requested_spread():
    m = get_model("vcm.jiang2016_hfox")
    var = Variability(d2d={"nu0": 0.5}, c2c=0.1, read=0.01)
    train = identical(10, Q_(1.5, "V"), Q_(50, "ns"))
    a = simulate(m, train, 2000, 0.1, variability=var, seed=7)
    b = simulate(m, train, 2000, 0.1, variability=var, seed=7)
    c = simulate(m, train, 2000, 0.1, variability=var, seed=8)
    np.testing.assert_array_equal(a["conductance"].values, b["conductance"].values)
    assert not np.array_equal(a["conductance"].values, c["conductance"].values)
    # d2d draws: std of ln(nu0) across devices equals the requested 0.5
    dev = var.sample_devices(m, 20000, np.random.default_rng(0))
    assert np.std(np.log(dev.params["nu0"])) == pytest.approx(0.5, rel=0.03)
    # read noise: relative spread of reads of identical states is 1 %
    g = var.read_noise(np.full(20000, 1e-4), np.random.default_rng(1))
    assert np.std(g) / 1e-4 == pytest.approx(0.01, rel=0.03)


def test_variability_rejects_bad_values():
    with pytest.raises(ValueError, match="c2c"):
        Variability(c2c=-1)
    with pytest.raises(KeyError, match="unknown key"):
        Variability.from_dict({"c2c": 0.1, "typo": 1})


def test_simulate_rejects_current_train_for_voltage_model():
    m = get_model("vcm.stanford_pku")
    with pytest.raises(ValueError, match="driven by amplitudes in V"):
        simulate(m, identical(3, Q_(1, "mA"), 1e-9))
