"""The guarantees of docs/reliability.md, case by case (issue 14): bounded resources, CSV
variants, complete validation, atomic outputs, fits that never destroy a card."""

from __future__ import annotations

import json
import os
import stat

import numpy as np
import pytest
from typer.testing import CliRunner

from devicelib import Q_
from devicelib.catalog import CardError, load_card
from devicelib.cli import app
from devicelib.dgtable import DGTableError
from devicelib.dgtable import read_dg_table as read_dg
from devicelib.fit.readers import read_dg_table
from devicelib.limits import ResourceLimitError, memory_limit
from devicelib.measurement import (
    MeasurementError,
    read_instrument_csv,
    read_long_csv,
    read_measurement,
    read_wide_csv,
    save_measurement,
)
from devicelib.pulses import identical
from devicelib.registry import get_model
from devicelib.simulate import check_start_conductance, simulate
from devicelib.units import UnitError

LONG = "trace,pulse,conductance [S],amplitude [V],width [s]\n"
runner = CliRunner()


def write(tmp_path, name, text, mode="w"):
    f = tmp_path / name
    if mode == "wb":
        f.write_bytes(text)
    else:
        f.write_text(text, encoding="utf-8")
    return f


# -- bounded resources ------------------------------------------------------------------
def test_huge_pulse_index_is_refused_before_allocating(tmp_path, monkeypatch):
    # 6 x 7.45 GiB would be allocated before the gap check; the limit makes any allocation fail
    monkeypatch.setenv("DEVICELIB_MEMORY_LIMIT", "1 MiB")
    f = write(tmp_path, "p.csv", LONG + "t1,0,1e-3,1,1e-7\nt1,999999999,1e-3,1,1e-7\nt1,1,1e-3,1,1e-7\n")
    with pytest.raises(MeasurementError, match=r"p.csv: line 3: trace 't1': pulse index 999999999 but the trace "
                                               r"has 3 row\(s\)"):
        read_long_csv(f)


def test_grid_beyond_the_memory_limit_names_limit_and_remedy(tmp_path, monkeypatch):
    monkeypatch.setenv("DEVICELIB_MEMORY_LIMIT", "1 KiB")
    rows = "".join(f"t1,{k},1e-3,1,1e-7\n" for k in range(40))
    f = write(tmp_path, "big.csv", LONG + rows)
    with pytest.raises(MeasurementError, match=r"1 traces x 40 pulses needs about .* above the memory limit 1 KiB "
                                               r"\(\$DEVICELIB_MEMORY_LIMIT\); split the file"):
        read_long_csv(f)


def test_memory_limit_parses_quantities(monkeypatch):
    monkeypatch.setenv("DEVICELIB_MEMORY_LIMIT", "2 GiB")
    assert memory_limit() == 2 * 2**30
    monkeypatch.setenv("DEVICELIB_MEMORY_LIMIT", "1000")
    assert memory_limit() == 1000.0
    monkeypatch.setenv("DEVICELIB_MEMORY_LIMIT", "lots")
    with pytest.raises(UnitError, match="DEVICELIB_MEMORY_LIMIT"):
        memory_limit()


def test_ensemble_size_checked_before_allocation(monkeypatch):
    monkeypatch.setenv("DEVICELIB_MEMORY_LIMIT", "1 GiB")
    m = get_model("vcm.stanford_pku")
    with pytest.raises(ResourceLimitError, match=r"1000000000 devices x 10 pulses needs about .* GiB.*chunks"):
        simulate(m, identical(10, Q_(1, "V"), 1e-7), n_devices=10**9)
    res = runner.invoke(app, ["simulate", "vcm.stanford_pku", "--devices", "1000000000"])
    assert res.exit_code == 2 and "above the memory limit" in res.output and "Traceback" not in res.output


def test_long_csv_one_pass_matches_values(tmp_path):
    rows = [f"d{t},{k},{1e-3 * (1 + k + 10 * t):.6g},{1 if k % 2 else -1},1e-7\n" for t in range(3) for k in range(5)]
    f = write(tmp_path, "l.csv", LONG + "".join(reversed(rows)))  # any row order
    ds = read_long_csv(f)
    assert list(ds["trace"].values) == ["d2", "d1", "d0"]  # order of first appearance
    np.testing.assert_allclose(ds["conductance"].sel(trace="d1").values, 1e-3 * (11 + np.arange(5)))
    np.testing.assert_allclose(ds["amplitude"].sel(trace="d0").values, [-1, 1, -1, 1, -1])


# -- CSV variants -------------------------------------------------------------------------
@pytest.mark.parametrize("sep", [",", ";", "\t"])
def test_delimiters_and_bom(tmp_path, sep):
    text = (LONG + "t1,0,1e-3,1,1e-7\nt1,1,2e-3,1,1e-7\n").replace(",", sep)
    f = write(tmp_path, "d.csv", b"\xef\xbb\xbf" + text.encode(), "wb")
    ds = read_measurement(f)
    np.testing.assert_allclose(ds["conductance"].values, [[1e-3, 2e-3]])


def test_whitespace_separated_with_units_in_brackets(tmp_path):
    f = write(tmp_path, "w.txt",
              "trace  pulse  conductance [uS]  amplitude [V]  width [ns]\nt 0 10 1 100\nt 1 20 1 100\n")
    ds = read_measurement(f)
    np.testing.assert_allclose(ds["conductance"].values, [[1e-5, 2e-5]])
    assert ds["width"].values[0, 0] == pytest.approx(1e-7)


def test_bom_does_not_rename_the_first_wide_trace(tmp_path):
    f = write(tmp_path, "w.csv", b"\xef\xbb\xbfrmp1 [S],rmp2 [S]\n1e-3,2e-3\n", "wb")
    ds = read_wide_csv(f, amplitude=1.0, width=1e-7)
    assert list(ds["trace"].values) == ["rmp1", "rmp2"]


def test_one_trace_per_row(tmp_path):
    f = write(tmp_path, "r.csv", "up [uS],1,2,3\ndown [uS],3,2\n")
    ds = read_measurement(f, layout="rows", amplitude=[1.0, -1.0], width=1e-7)
    assert list(ds["trace"].values) == ["up", "down"]
    np.testing.assert_allclose(ds["conductance"].values, [[1e-6, 2e-6, 3e-6], [3e-6, 2e-6, np.nan]])
    np.testing.assert_allclose(ds["amplitude"].values[:, 0], [1.0, -1.0])


def test_blank_lines_keep_line_numbers_exact(tmp_path):
    f = write(tmp_path, "b.csv", LONG + "\n\nt1,0,1e-3,1,1e-7\n\nt1,1,oops,1,1e-7\n")
    with pytest.raises(MeasurementError, match=r"b.csv: line 6, column 'conductance': expected a number, got 'oops'"):
        read_long_csv(f)
    g = write(tmp_path, "g.csv", "a [S],b [S]\n\n1e-3,\n\n2e-3,3e-3\n")
    with pytest.raises(MeasurementError, match=r"line 3, column 2 \('b'\): empty cell inside the trace"):
        read_wide_csv(g, amplitude=1.0, width=1e-7)


def test_error_excerpts_are_short(tmp_path):
    f = write(tmp_path, "x.csv", LONG + "t1,0," + "9" * 6000 + "x,1,1e-7\n")
    with pytest.raises(MeasurementError) as info:
        read_long_csv(f)
    msg = str(info.value).replace(str(f), "")
    assert len(msg) < 200 and "..." in msg


def test_wrong_dimension_unit_names_the_unit_not_the_array(tmp_path):
    rows = "".join(f"t1,{k},1e-3,1,1e-7\n" for k in range(200))
    f = write(tmp_path, "u.csv", LONG.replace("width [s]", "width [V]") + rows)
    with pytest.raises(UnitError, match=r"column 'width': unit 'V' is not a 's' unit") as info:
        read_long_csv(f)
    assert len(str(info.value)) < 250


def test_negative_pulse_index(tmp_path):
    f = write(tmp_path, "n.csv", LONG + "t1,-5,1e-3,1,1e-7\n")
    with pytest.raises(MeasurementError, match="line 2, column 'pulse': negative pulse index -5"):
        read_long_csv(f)


def test_layout_is_honoured_and_conflicting_options_refused(tmp_path):
    f = write(tmp_path, "l.csv", LONG + "t1,0,1e-3,1,1e-7\n")
    with pytest.raises(MeasurementError, match=r"holds its own pulse conditions.*amplitude"):
        read_measurement(f, amplitude=1.0, width=1e-7)
    with pytest.raises(MeasurementError, match="layout 'wide'"):
        read_measurement(f, layout="wide")
    w = write(tmp_path, "w.csv", "a [S]\n1e-3\n")
    with pytest.raises(MeasurementError, match="holds no pulse conditions; give amplitude= and width="):
        read_measurement(w)


def test_keithley_export_with_header_block(shared_data):
    d = shared_data / "vo2-threshold-pulses"
    raw = read_instrument_csv(d / "VO2_data_RvsV_transition.csv")
    meta = json.loads(raw.attrs["metadata"])
    assert meta["Model"] == "2461" and meta["NPLC"] == "5" and meta["Limit"] == "0.1"
    assert raw.sizes["sample"] == 419  # 454 lines - 34 header-block lines - 1 column header
    assert raw["voltage"].values[0] == pytest.approx(0.09999872)
    assert raw["current"].attrs["units"] == "A" and raw["resistance"].attrs["units"] == "ohm"
    # R = V / I as the instrument computed it
    np.testing.assert_allclose(raw["resistance"].values[:5], (raw["voltage"] / raw["current"]).values[:5], rtol=5e-3)
    # (the file prints currents with 3 significant digits)
    # a pulse record, columns in another order in this file: read by name, not position
    pulse = d / "short_Vpulses_data" / "4V_0.01s_68.5C.csv"
    ds = read_measurement(pulse, temperature=Q_(68.5, "degC"), select="biased")
    assert ds.attrs["read_at"] == "amplitude"
    assert ds["temperature"].values[0, 0] == pytest.approx(341.65)
    assert ds["width"].values[0, 1] == pytest.approx(2e-4)
    i0, v0 = 0.00310381944291294, 2.17056393623352  # first sample of the file
    assert ds["conductance"].values[0, 0] == pytest.approx(i0 / v0)
    assert ds["amplitude"].values[0, 0] == pytest.approx(v0)


# -- validation ---------------------------------------------------------------------------
GOOD_CARD = """schema_version = 1
name = "vcm.t"
model = "vcm.stanford_pku"
kind = "literature"
[provenance]
citation = "Someone et al., Journal 1, 1 (2020)"
[parameters]
g0 = { value = 0.3, unit = "nm", stderr = 0.01 }
"""


@pytest.mark.parametrize("edit, match", [
    (("stderr = 0.01", "stderr = -5.0"), r"parameters.g0.stderr: must not be negative"),
    (("stderr = 0.01", "stderr = nan"), r"parameters.g0.stderr: must be finite"),
    (("", "validity = \"x\"\n"), r"\[validity\] must be a table"),
    (("", "[validity]\nwidth = { min = nan, max = 1.0, unit = \"s\" }\n"), r"validity.width.min: must be finite"),
    (("", "variability = []\n"), r"\[variability\] must be a table"),
    (("", "variability = 0.0\n"), r"\[variability\] must be a table"),
    (("", "fit = 0.0\n"), r"\[fit\] must be a table"),
    (("", "fit = [[]]\n"), r"\[fit\] must be a table"),
    (("", "[fit]\nrmse = { value = \"a\", unit = \"S\" }\n"), r"fit.rmse.value: must be a number"),
    (("", "[fit]\nconverged = \"yes\"\n"), r"fit.converged: must be true or false"),
    (("", "[operating]\nwidth = { value = 1979-05-27, unit = \"s\" }\n"), r"operating.width.value: must be a number"),
    (("kind = \"literature\"", "kind = \"literature\"\ntitle = 1979-05-27T07:32:00"), None),  # a date as title: text
    (("", "[variability]\nc2c = \"0.1\"\n"), r"variability.c2c: expected a number"),
    (("", "[variability]\nd2d = 3\n"), r"variability.d2d: must be a table"),
])
def test_card_problems_are_card_errors_naming_file_and_key(tmp_path, edit, match):
    old, new = edit
    if old:
        text = GOOD_CARD.replace(old, new)
    elif new.startswith("["):
        text = GOOD_CARD + new  # a table after the others
    else:
        text = GOOD_CARD.replace("[provenance]", new + "[provenance]")  # a top-level key
    f = write(tmp_path, "c.toml", text)
    if match is None:
        card = load_card(f)
        assert card.title == "1979-05-27T07:32:00"
        return
    with pytest.raises(CardError, match=match) as info:
        load_card(f)
    assert "c.toml" in str(info.value)


def test_decoder_errors_become_library_errors(tmp_path):
    bad = write(tmp_path, "latin.toml", b"name = \"caf\xe9\"\n", "wb")
    with pytest.raises(CardError, match=r"latin\.toml: not a UTF-8 text file"):
        load_card(bad)
    with pytest.raises(CardError, match="not valid TOML"):
        load_card(write(tmp_path, "t.toml", "name = \n"))
    dg = write(tmp_path, "dg.txt", b"\xa0\n", "wb")
    with pytest.raises(MeasurementError, match=r"dg\.txt: not a UTF-8 text file"):
        read_dg_table(dg)
    with pytest.raises(DGTableError, match=r"dg\.txt: not a text file"):
        read_dg(dg)
    with pytest.raises(MeasurementError, match=r"x\.csv: not a UTF-8 text file"):
        read_measurement(write(tmp_path, "x.csv", b"a [S]\n\xaf\n", "wb"), amplitude=1.0, width=1e-7)
    # a bytes path is a path
    with pytest.raises(CardError, match="no such card file"):
        load_card(os.fsencode(tmp_path / "missing.toml"))


def test_bad_card_in_user_catalog_does_not_break_show(tmp_path, monkeypatch):
    (tmp_path / "bad.toml").write_bytes(b"name = \"caf\xe9\"\n")
    monkeypatch.setenv("DEVICELIB_CATALOG", str(tmp_path))
    res = runner.invoke(app, ["show", "vcm.jiang2016_hfox", "--json"])
    assert res.exit_code == 0, res.output
    assert "bad.toml" in res.stderr
    res = runner.invoke(app, ["catalog", "--json"])
    assert res.exit_code == 0 and "bad.toml" in res.stderr
    assert any(c["name"] == "vcm.jiang2016_hfox" for c in json.loads(res.stdout)["cards"])


def test_simulate_rejects_bad_states_and_read_voltages():
    m = get_model("vcm.stanford_pku")
    tr = identical(3, Q_(1, "V"), 1e-7)
    st = m.initial_state(2)
    with pytest.raises(ValueError, match="v_read must be a finite voltage"):
        simulate(m, tr, v_read=float("nan"))
    with pytest.raises(ValueError, match=r"state\['gap'\] is not finite for device 1"):
        simulate(m, tr, n_devices=2, state={**st, "gap": np.array([1e-10, np.nan])})
    with pytest.raises(ValueError, match=r"state\['gap'\] has shape \(2,\), expected \(3,\)"):
        simulate(m, tr, n_devices=3, state=st)
    with pytest.raises(ValueError, match=r"unknown state variable\(s\) \['x'\]"):
        simulate(m, tr, n_devices=2, state={**st, "x": np.zeros(2)})
    # quantities in a state are converted
    ok = simulate(m, tr, n_devices=2, state={**st, "gap": Q_([0.3, 0.4], "nm")})
    assert ok.sizes["device"] == 2


def test_start_conductance_in_reach_and_quantities():
    m = get_model("vcm.stanford_pku")
    st = m.state_from_conductance(Q_([1.0], "mS"), Q_(100, "mV"))
    assert m.conductance(st, 0.1)[0] == pytest.approx(1e-3, rel=1e-6)
    check_start_conductance(m, "1 mS", 0.1)
    with pytest.raises(ValueError, match=r"1 MS is outside the range vcm.stanford_pku can reach \(reachable at "
                                         r"100 mV: 4.57 µS .. 1.85 mS\)"):
        check_start_conductance(m, Q_(1e6, "S"), 0.1)
    res = runner.invoke(app, ["simulate", "vcm.stanford_pku", "--g-start", "1e6 S"])
    assert res.exit_code == 2 and "outside the range" in res.output


# -- atomic outputs -----------------------------------------------------------------------
def test_simulate_out_is_atomic_and_follows_the_umask(tmp_path):
    out = tmp_path / "x.nc"
    old = os.umask(0o022)
    try:
        res = runner.invoke(app, ["simulate", "vcm.stanford_pku", "-n", "5", "--out", str(out)])
    finally:
        os.umask(old)
    assert res.exit_code == 0, res.output
    assert stat.S_IMODE(out.stat().st_mode) == 0o644
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x.nc"]  # no temp left beside it


def test_interrupted_save_leaves_old_file_and_no_temp(tmp_path, monkeypatch):
    import xarray as xr

    ds = read_wide_csv(write(tmp_path, "w.csv", "a [S]\n1e-3\n"), amplitude=1.0, width=1e-7)
    target = save_measurement(ds, tmp_path / "m.nc")
    before = target.read_bytes()

    def boom(self, *a, **k):
        raise KeyboardInterrupt

    monkeypatch.setattr(xr.Dataset, "to_netcdf", boom)
    with pytest.raises(KeyboardInterrupt):
        save_measurement(ds, target)
    assert target.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.nc", "w.csv"]


# -- fits never destroy ---------------------------------------------------------------------
def test_non_converged_fit_does_not_overwrite_a_card(tmp_path, monkeypatch):
    import dataclasses

    import devicelib.fit as fit_pkg

    data = write(tmp_path, "l.csv", LONG + "".join(f"t,{k},{1e-4 * (1 + k)},1,1e-7\n" for k in range(6)))
    card = tmp_path / "card.toml"
    card.write_text("precious\n")
    real_fit = fit_pkg.fit
    monkeypatch.setattr(fit_pkg, "fit", lambda *a, **k: dataclasses.replace(real_fit(*a, **k), converged=False,
                                                                           status="max iterations"))
    args = ["fit", str(data), "--model", "baseline.constant_step", "--starts", "1", "--v-read", "0.1 V",
            "--sigma", "2 uS", "--card", str(card)]
    res = runner.invoke(app, args)
    assert res.exit_code == 2 and "did not converge" in res.output and "--force" in res.output
    assert card.read_text() == "precious\n"
    res = runner.invoke(app, [*args, "--force"])
    assert res.exit_code == 0, res.output
    assert card.read_text() != "precious\n"


def test_help_shows_bracketed_words():
    res = runner.invoke(app, ["fit", "--help"], env={"COLUMNS": "200"})
    assert "[variability]" in res.output


# -- CLI tables -----------------------------------------------------------------------------
def test_models_and_catalog_fit_80_columns_without_cutting_names():
    from devicelib.registry import available_models

    res = runner.invoke(app, ["models"], env={"COLUMNS": "80"}, terminal_width=80)
    assert res.exit_code == 0
    lines = res.stdout.splitlines()
    assert max(map(len, lines)) <= 80
    for name in available_models():
        assert any(line.split() and line.split()[0] == name for line in lines), name
    res = runner.invoke(app, ["catalog"], env={"COLUMNS": "80"}, terminal_width=80)
    assert res.exit_code == 0 and max(map(len, res.stdout.splitlines())) <= 80
    assert "…" not in "".join(line.split()[0] for line in res.stdout.splitlines() if line.split())
    full = json.loads(runner.invoke(app, ["catalog", "--json"]).stdout)
    assert full["records"] and all(r["kind"] == "record" for r in full["records"])
    assert any(r["name"].startswith("lit.") for r in full["records"])


def test_fuzz_finds_stay_fixed(tmp_path):
    # a vertical tab is no line break for the parser (str.splitlines would say it is)
    f = write(tmp_path, "vt.csv", b"\x0b0", "wb")
    with pytest.raises(MeasurementError, match=r"vt\.csv: the unit of the values is not in the header"):
        read_wide_csv(f, amplitude=1.0, width=1e-7, v_read=0.1)
    # a header line and nothing else
    with pytest.raises(MeasurementError, match="needs a header line and at least one data row"):
        read_measurement(write(tmp_path, "h.csv", "trace,pulse"))


@pytest.mark.parametrize("name", ["fefet.preisach", "fefet.multidomain"])
def test_hidden_sub_states_pass_the_state_checks(name):
    # FeFET states carry (device, domain) sub-states with a leading "_": checked on the device axis only
    m = get_model(name)
    tr = identical(2, Q_(2.0, "V"), 1e-6)
    st = m.initial_state(3)
    assert simulate(m, tr, n_devices=3, state=st, seed=0).sizes["device"] == 3
    hidden = next(k for k in st if k.startswith("_"))
    with pytest.raises(ValueError, match=rf"state\['{hidden}'\] has shape \(2, .*expected \(3, \.\.\.\)"):
        simulate(m, tr, n_devices=3, state={**st, hidden: st[hidden][:2]})
    with pytest.raises(ValueError, match="start state lacks"):
        simulate(m, tr, n_devices=3, state={k: v for k, v in st.items() if k != hidden})
