"""dG lookup tables: the real TaOx and ENODe tables, round trip, malformed files."""

import numpy as np
import pytest

from devicelib.dgtable import DGTableError, dg_statistics, read_dg_table, write_dg_table


@pytest.mark.parametrize(
    ("device", "shape", "g_first", "g_last", "g_step"),
    [
        ("ENODe", (122, 48), 0.00029772, 0.00097828, 1.448e-05),
        ("TaOx", (501, 501), 1.86312369e-05, 1.18644007e-04, 2.000255e-07),
    ],
)
@pytest.mark.parametrize("direction", ["increasing", "decreasing"])
def test_real_tables(shared_data, device, direction, shape, g_first, g_last, g_step):
    ds = read_dg_table(shared_data / "crosssim-dg-tables" / device / f"dG_{direction}.txt")
    assert ds["dG"].dims == ("cdf", "g")
    assert ds["dG"].shape == shape
    assert ds["g"].attrs["units"] == "S" and ds["dG"].attrs["units"] == "S"
    cdf = ds["cdf"].values
    assert cdf[0] == 0.0 and cdf[-1] == 1.0 and np.all(np.diff(cdf) >= 0)
    g = ds["g"].values
    assert g[0] == pytest.approx(g_first, rel=1e-8)
    assert g[-1] == pytest.approx(g_last, rel=1e-8)
    np.testing.assert_allclose(np.diff(g), g_step, rtol=1e-3)
    assert ds.attrs["header"].startswith("1st Row = Gbins")


def test_enode_statistics(shared_data):
    inc = dg_statistics(read_dg_table(shared_data / "crosssim-dg-tables" / "ENODe" / "dG_increasing.txt"))
    dec = dg_statistics(read_dg_table(shared_data / "crosssim-dg-tables" / "ENODe" / "dG_decreasing.txt"))
    # ENODe: steps quantised to 1 uS; potentiation median 7 uS at low G, 1 uS at the top
    assert inc["median"].values[5] == pytest.approx(7e-6, abs=1e-9)
    assert inc["median"].values[-1] == pytest.approx(1e-6, abs=1e-9)
    assert np.all(dec["mean"].values < 0) and np.all(inc["mean"].values > 0)
    assert 0.3e-6 < float(inc["std"].mean()) < 1.5e-6


def test_round_trip_identical(shared_data, tmp_path):
    for device in ("ENODe", "TaOx"):
        src = read_dg_table(shared_data / "crosssim-dg-tables" / device / "dG_increasing.txt")
        out = write_dg_table(src, tmp_path / device / "dG_increasing.txt")
        back = read_dg_table(out)
        np.testing.assert_array_equal(back["dG"].values, src["dG"].values)
        np.testing.assert_array_equal(back["g"].values, src["g"].values)
        np.testing.assert_array_equal(back["cdf"].values, src["cdf"].values)
        assert back.attrs["header"] == src.attrs["header"]
        assert [p.name for p in (tmp_path / device).iterdir()] == ["dG_increasing.txt"]  # no temp file left


def test_round_trip_synthetic(tmp_path):
    import xarray as xr

    rng = np.random.default_rng(0)
    dg = np.sort(rng.normal(size=(7, 5)), axis=0) * 1e-6
    ds = xr.Dataset({"dG": (("cdf", "g"), dg, {"units": "S"})},
                    coords={"cdf": np.linspace(0, 1, 7), "g": np.linspace(1e-5, 5e-5, 5)},
                    attrs={"header": "synthetic"})
    back = read_dg_table(write_dg_table(ds, tmp_path / "t.txt"))
    np.testing.assert_array_equal(back["dG"].values, dg)


GOOD = "header\n1e-5, 2e-5, 3e-5\n0, 0.5, 1\n\n-1e-6, -1e-6, -1e-6\n0, 0, 0\n1e-6, 1e-6, 1e-6\n"


@pytest.mark.parametrize(
    ("text", "match"),
    [
        (GOOD.replace("0, 0, 0", "0, zero, 0"), r"bad\.txt:6: cannot read 'zero'"),
        (GOOD.replace("0, 0, 0", "0, 0"), r"bad\.txt:6: dG row has 2 values, expected 3"),
        (GOOD.replace("0, 0.5, 1", "0, 0.7, 0.5"), r"bad\.txt:3: CDF points must be non-decreasing"),
        (GOOD.replace("0, 0.5, 1", "0, 0.5, 1.5"), r"bad\.txt:3: CDF points must lie in \[0, 1\]"),
        (GOOD.replace("1e-5, 2e-5, 3e-5", "1e-5, 3e-5, 2e-5"), r"bad\.txt:2: G bins must increase"),
        (GOOD + "2e-6, 2e-6, 2e-6\n", r"bad\.txt: 4 dG rows .* expected 3"),
        ("header\n1e-5, 2e-5\n", r"bad\.txt: expected a row of G bins"),
        ("", r"bad\.txt: empty file"),
        (GOOD.replace("0, 0, 0", "0, nan, 0"), r"bad\.txt:6: non-finite"),
    ],
)
def test_malformed_files(tmp_path, text, match):
    path = tmp_path / "bad.txt"
    path.write_text(text)
    with pytest.raises(DGTableError, match=match):
        read_dg_table(path)


def test_missing_file_and_bad_dataset(tmp_path):
    with pytest.raises(DGTableError, match="no such dG table file"):
        read_dg_table(tmp_path / "absent.txt")
    import xarray as xr

    with pytest.raises(ValueError, match="no 'dG' variable"):
        write_dg_table(xr.Dataset(), tmp_path / "x.txt")
