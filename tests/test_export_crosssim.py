"""CrossSim export: v3 device block and dG lookup tables in the layout of the real CrossSim tables."""

import json

import numpy as np
import pytest

from devicelib.catalog import card_from_dict
from devicelib.dgtable import read_dg_table
from devicelib.export import crosssim, export
from devicelib.export.common import ExportError, resolve_card, resolve_condition, simulate_response

DEVICE_KEYS = {"cell_bits", "Rmin", "Rmax", "Vread", "time", "infinite_on_off_ratio", "clip_conductance",
               "read_noise", "programming_error", "drift_error"}


def _layout(ds):
    g, cdf, dg = ds["g"].values, ds["cdf"].values, ds["dG"].transpose("cdf", "g").values
    assert np.all(np.diff(g) > 0) and cdf[0] == 0.0 and cdf[-1] == 1.0 and np.all(np.diff(cdf) >= 0)
    assert dg.shape == (cdf.size, g.size)
    return g, cdf, dg


def test_real_tables_layout(shared_data):
    for dev in ("TaOx", "ENODe"):
        inc = read_dg_table(shared_data / "crosssim-dg-tables" / dev / "dG_increasing.txt")
        dec = read_dg_table(shared_data / "crosssim-dg-tables" / dev / "dG_decreasing.txt")
        gi, ci, _ = _layout(inc)
        gd, cd, _ = _layout(dec)
        # both files share the G grid and the CDF points (what the exporter writes too)
        np.testing.assert_array_equal(gi, gd)
        np.testing.assert_array_equal(ci, cd)
        assert inc.attrs["header"].startswith("1st Row = Gbins")


@pytest.fixture(scope="module")
def noisy():
    data = resolve_card("vcm.jiang2016_hfox_continuous").to_dict()
    data["variability"] = {"c2c": 0.1, "read": 0.01}  # read noise: only the device block, not the tables
    card = card_from_dict(data)
    cond = resolve_condition(card, amplitude=1.2, amplitude_down=-1.2, width=1e-8)
    return card, simulate_response(card, cond, n_pulses=50, n_devices=32, seed=1)


def test_export_round_trip(tmp_path, noisy):
    card, resp = noisy
    r = export(card, "crosssim", tmp_path / "cs", response=resp)
    back = crosssim.read(tmp_path / "cs")
    inc, dec = crosssim.dg_tables(resp, header=back["increasing"].attrs["header"])
    # written and read back with the shared reader: identical numbers
    np.testing.assert_array_equal(back["increasing"]["dG"].values, inc["dG"].values)
    np.testing.assert_array_equal(back["decreasing"]["g"].values, dec["g"].values)
    gi, _ci, dgi = _layout(back["increasing"])
    gd, _cd, dgd = _layout(back["decreasing"])
    np.testing.assert_array_equal(gi, gd)
    assert gi[0] == pytest.approx(resp.g_min) and gi[-1] == pytest.approx(resp.g_max)
    # quantiles are ordered along the CDF; the median step is positive (SET) / negative (RESET)
    assert np.all(np.diff(dgi, axis=0) >= 0)
    assert np.median(dgi[50]) > 0 > np.median(dgd[50])
    # provenance in the table header and the sidecar
    assert "vcm.jiang2016_hfox_continuous" in back["increasing"].attrs["header"]
    assert back["meta"]["provenance"]["devicelib_version"]
    dev = back["device"]
    assert set(dev) == DEVICE_KEYS
    assert dev["Rmin"] == pytest.approx(1 / resp.g_max) and dev["Rmax"] == pytest.approx(1 / resp.g_min)
    assert dev["read_noise"] == {"enable": True, "model": "NormalProportionalDevice", "magnitude": 0.01}
    assert dev["programming_error"]["model"] == "NormalIndependentDevice"
    raw = json.loads((tmp_path / "cs" / "crosssim_device.json").read_text())
    assert list(raw) == ["xbar"] and list(raw["xbar"]) == ["device"]
    # the median-step lookup table reproduces the nominal response within a few % of the window
    assert r.mapping["rmse_relative_to_window"] < 0.05


def test_directory_export_is_replaced_as_a_whole(tmp_path, monkeypatch):
    """An interrupted export into an existing export folder leaves the previous export complete (no mix of two
    cards' files, no temporary left); a folder of the user's own files is refused, not overwritten."""
    import os

    import devicelib.export.crosssim as cs

    out = tmp_path / "cs"
    export("ecm.menzel2013_ag", "crosssim", out)
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    assert oct(out.stat().st_mode & 0o777) == oct(0o777 & ~_umask())

    real = cs.write_dg_table
    calls = []

    def interrupted(ds, path):
        calls.append(path)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real(ds, path)

    monkeypatch.setattr(cs, "write_dg_table", interrupted)
    with pytest.raises(KeyboardInterrupt):
        export("pcm.joshi2020_statistical", "crosssim", out)
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    assert sorted(os.listdir(tmp_path)) == ["cs"]
    monkeypatch.setattr(cs, "write_dg_table", real)
    export("pcm.joshi2020_statistical", "crosssim", out)  # replaced whole: the new card's files only
    assert "pcm.joshi2020_statistical" in (out / "devicelib_export.json").read_text()
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("keep")
    with pytest.raises(ExportError, match="not a previous export"):
        export("ecm.menzel2013_ag", "crosssim", mine)
    assert (mine / "notes.txt").read_text() == "keep"


def _umask():
    import os

    mask = os.umask(0)
    os.umask(mask)
    return mask
