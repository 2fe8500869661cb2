import numpy as np
import pytest

from devicelib import Q_
from devicelib.measurement import (
    MeasurementError,
    concat_traces,
    load_measurement,
    make_measurement,
    read_long_csv,
    read_measurement,
    read_wide_csv,
    save_measurement,
)
from devicelib.units import UnitError


def test_read_real_crosssim_set_ramps(shared_data):
    ds = read_wide_csv(shared_data / "crosssim-pulse-trains" / "set.csv", "A", v_read=Q_(0.1, "V"),
                       amplitude=Q_(1.0, "V"), width=Q_(100, "ns"))
    assert ds.sizes == {"trace": 39, "pulse": 192}
    assert ds["conductance"].attrs["units"] == "S"
    # first value of rmp1 is 0.000160588 A at 0.1 V -> 1.60588 mS
    assert ds["conductance"].values[0, 0] == pytest.approx(1.60588e-3)
    assert ds.attrs["read_voltage"] == pytest.approx(0.1)
    assert ds["width"].values[0, 0] == pytest.approx(1e-7)
    # ragged ramps: 126 trailing empty cells in all
    assert int(np.isnan(ds["conductance"].values).sum()) == 126
    assert list(ds["trace"].values[:2]) == ["rmp1", "rmp2"]


def test_units_from_header_and_conversions(tmp_path):
    f = tmp_path / "w.csv"
    f.write_text("a [uS],b [uS]\n1.0,2.0\n1.5,\n")
    ds = read_wide_csv(f, amplitude=1.0, width=1e-6)
    np.testing.assert_allclose(ds["conductance"].values, [[1e-6, 1.5e-6], [2e-6, np.nan]])
    f2 = tmp_path / "r.csv"
    f2.write_text("a\n1000\n500\n")
    ds2 = read_wide_csv(f2, "kohm", amplitude=1.0, width=1e-6)
    np.testing.assert_allclose(ds2["conductance"].values, [[1e-6, 2e-6]])


@pytest.mark.parametrize(
    "text, kwargs, match",
    [
        ("a,b\n1,2\n", {}, "unit of the values is not in the header"),
        ("a [A],b [A]\n1,2\n", {}, "give the read voltage"),
        ("a [S],b [S]\n1,x\n", {}, r"line 2, column 2 \('b'\): expected a number, got 'x'"),
        ("a [S],b [S]\n1,\n2,3\n", {}, r"line 2, column 2 \('b'\): empty cell inside the trace"),
        ("a [S],b [S]\n1,nan\n", {}, "non-finite value"),
        ("a [S],b [V]\n1,2\n", {}, "different units"),
        ("a [s]\n1\n", {}, "neither a current, a conductance"),
        ("a [S]\n", {}, "no data rows"),
        ("", {}, "empty file"),
        ("a [S],b [S]\n1,2,3\n", {}, "line 2: 3 fields"),
        ("a [S]\n-1\n", {}, "not positive"),
    ],
)
def test_wide_csv_errors_name_file_line_and_column(tmp_path, text, kwargs, match):
    f = tmp_path / "bad.csv"
    f.write_text(text)
    with pytest.raises(MeasurementError, match=match) as info:
        read_wide_csv(f, amplitude=1.0, width=1e-7, **kwargs)
    assert "bad.csv" in str(info.value)


def test_wrong_dimension_for_pulse_condition(tmp_path):
    f = tmp_path / "w.csv"
    f.write_text("a [S]\n1e-3\n")
    with pytest.raises(UnitError, match="width"):
        read_wide_csv(f, amplitude=1.0, width=Q_(1, "V"))


def test_long_csv_round_trip_through_netcdf(tmp_path):
    f = tmp_path / "long.csv"
    f.write_text(
        "trace,pulse,amplitude [V],width [ns],temperature [K],read_voltage [mV],current [uA]\n"
        "t1,0,1.0,100,300,100,10\n"
        "t1,1,1.0,100,300,100,12\n"
        "t2,0,-1.0,50,350,100,20\n"
    )
    ds = read_long_csv(f)
    assert ds.sizes == {"trace": 2, "pulse": 2}
    assert ds.attrs["read_voltage"] == pytest.approx(0.1)
    np.testing.assert_allclose(ds["conductance"].values[0], [1e-4, 1.2e-4])
    assert np.isnan(ds["conductance"].values[1, 1])
    assert ds["width"].values[1, 0] == pytest.approx(5e-8)
    assert ds["temperature"].values[1, 0] == 350.0
    out = save_measurement(ds, tmp_path / "m.nc")
    back = load_measurement(out)
    np.testing.assert_array_equal(back["conductance"].values, ds["conductance"].values)
    assert back["conductance"].attrs["units"] == "S"
    assert list(back["trace"].values) == ["t1", "t2"]
    assert read_measurement(out).attrs["read_voltage"] == pytest.approx(0.1)


@pytest.mark.parametrize(
    "text, match",
    [
        ("trace,pulse,amplitude,width [s],conductance [S]\nt,0,1,1e-7,1e-3\n", "'amplitude' has no unit"),
        ("trace,pulse,amplitude [V],width [s]\nt,0,1,1e-7\n", "exactly one of conductance"),
        ("trace,pulse,amplitude [V],width [s],conductance [S]\nt,0,1,1e-7,1e-3\nt,0,1,1e-7,1e-3\n",
         "pulse 0 appears twice"),
        ("trace,pulse,amplitude [V],width [s],conductance [S]\nt,0,1,1e-7,1e-3\nt,2,1,1e-7,1e-3\n",
         "without gaps"),
        ("trace,pulse,amplitude [V],width [s],conductance [S]\nt,x,1,1e-7,1e-3\n", "expected an integer"),
    ],
)
def test_long_csv_errors(tmp_path, text, match):
    f = tmp_path / "bad_long.csv"
    f.write_text(text)
    with pytest.raises(MeasurementError, match=match):
        read_long_csv(f)


def test_schema_checks_on_built_datasets():
    with pytest.raises(MeasurementError, match="empty conductance"):
        make_measurement(np.zeros((0,)), 1.0, 1e-7)
    with pytest.raises(MeasurementError, match="no finite conductance"):
        make_measurement([[np.nan, np.nan]], 1.0, 1e-7)
    with pytest.raises(MeasurementError, match="before its end"):
        make_measurement([[1e-3, np.nan, 1e-3]], 1.0, 1e-7)
    a = make_measurement([[1e-3, 2e-3]], 1.0, 1e-7, v_read=0.1, trace_labels=["x"])
    b = make_measurement([[1e-3]], -1.0, 1e-7, v_read=0.1, trace_labels=["y"])
    both = concat_traces([a, b])
    assert both.sizes == {"trace": 2, "pulse": 2}
    with pytest.raises(MeasurementError, match="collide"):
        concat_traces([a, a])  # same labels, no source file names to tell them apart
    s1, s2 = a.assign_attrs(source="data/set.csv"), a.assign_attrs(source="data/reset.csv")
    assert list(concat_traces([s1, s2])["trace"].values) == ["set:x", "reset:x"]
    with pytest.raises(MeasurementError, match="read voltages differ"):
        concat_traces([a, make_measurement([[1e-3]], 1.0, 1e-7, v_read=0.2, trace_labels=["z"])])


def test_not_a_measurement_file(tmp_path):
    f = tmp_path / "x.nc"
    f.write_bytes(b"not hdf5")
    with pytest.raises(MeasurementError, match="not a readable"):
        load_measurement(f)
    with pytest.raises(MeasurementError, match="unknown measurement format"):
        read_measurement(tmp_path / "x.xlsx")


def test_check_values_vectorised_names_the_first_bad_trace():
    """check_values (validate's value checks, and fit_batch's per chunk) on a chunk with its labels
    and a pulse condition shared as one row: the first bad trace and pulse are named."""
    from devicelib.measurement import check_values

    g = np.full((4, 5), 1e-3)
    row = np.ones((1, 5))
    labels = np.array(["a", "b", "c", "d"])
    check_values("m", labels, "S", g, row, row * 1e-7, row * 0, row * 300)  # fine
    g[3, 1] = g[2, 4] = -1e-3
    with pytest.raises(MeasurementError, match=r"^m: trace 'c' pulse 4: conductance -0.001 S is not positive$"):
        check_values("m", labels, "S", g, row, row * 1e-7, row * 0, row * 300)
    check_values("m", labels, "", g, row, row * 1e-7, row * 0, row * 300)  # normalised weights may be negative
    g[1, 3:] = np.nan  # trailing NaN pad a shorter trace: fine
    check_values("m", labels, "", g, row, row * 1e-7, row * 0, row * 300)
    with pytest.raises(MeasurementError, match=r"^m: temperature must be positive kelvin$"):
        check_values("m", labels, "", g, row, row * 1e-7, row * 0, row * 0)
    g[0, 2] = np.nan
    with pytest.raises(MeasurementError, match=r"^m: trace 'a' has a missing/NaN value at pulse 2 before its end"):
        check_values("m", labels, "", g, row, row * 1e-7, row * 0, row * 300)
