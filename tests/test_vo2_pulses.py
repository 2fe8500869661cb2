"""VO2 threshold-pulse data (Galloni et al. 2024): readers, and the card fitted to the 10 ms pulse traces."""

import importlib.util
import zipfile
from pathlib import Path

import numpy as np
import pytest

from devicelib.catalog import load_card
from devicelib.fit.vo2 import (
    exponential_tau,
    pulse_features,
    read_relaxation,
    read_vo2_pulse,
    read_vo2_pulses,
    relaxation_tau,
    step_end,
    threshold_time,
)
from devicelib.measurement import MeasurementError
from devicelib.xlsx import XlsxError, column_index, read_xlsx

ROOT = Path(__file__).resolve().parents[1]
CARD = ROOT / "models" / "mott" / "galloni2024_vo2_pulse_fit.toml"


def _script():
    spec = importlib.util.spec_from_file_location("fit_vo2_pulses", ROOT / "docs" / "scripts" / "fit_vo2_pulses.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture(scope="module")
def vo2(shared_data):
    folder = shared_data / "vo2-threshold-pulses"
    if not (folder / "short_Vpulses_data").is_dir():
        pytest.skip(f"VO2 pulse data not available: {folder / 'short_Vpulses_data'} is absent")
    return folder


@pytest.fixture(scope="module")
def recs(vo2):
    return read_vo2_pulses(vo2 / "short_Vpulses_data")


# -- the stdlib xlsx reader on a workbook written here ----------------------------------------------------------
def _workbook(path: Path, sheet_xml: str, shared=("Time (s)", "Resistance (Ω)")):
    ns = 'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"'
    rns = 'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"'
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("xl/workbook.xml", f'<workbook {ns} {rns}><sheets><sheet name="fast" sheetId="1" r:id="rId1"/>'
                                      "</sheets></workbook>")
        z.writestr("xl/_rels/workbook.xml.rels",
                   '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
                   '<Relationship Id="rId1" Target="worksheets/sheet1.xml"/></Relationships>')
        z.writestr("xl/sharedStrings.xml", f"<sst {ns}>" + "".join(f"<si><t>{s}</t></si>" for s in shared) + "</sst>")
        z.writestr("xl/worksheets/sheet1.xml", f"<worksheet {ns}><sheetData>{sheet_xml}</sheetData></worksheet>")


def test_xlsx_reader_on_a_synthetic_workbook(tmp_path):
    rows = ('<row r="1"><c r="A1" t="s"><v>0</v></c><c r="B1" t="s"><v>1</v></c></row>'
            '<row r="3"><c r="B3" t="inlineStr"><is><t>4 mA</t></is></c><c r="C3" t="str"><v>8 mA</v></c></row>')
    rows += "".join(f'<row r="{k}"><c r="A{k}"><v>{(k - 4) * 1e-3}</v></c><c r="B{k}"><v>{1e3 * np.exp(-(k - 4) / 5)}'
                    f'</v></c><c r="C{k}"><v>{2e3}</v></c></row>' for k in range(4, 40))
    path = tmp_path / "r.xlsx"
    _workbook(path, rows)
    cells = read_xlsx(path)["fast"]
    assert cells[1] == {"A": "Time (s)", "B": "Resistance (Ω)"}
    assert cells[3] == {"B": "4 mA", "C": "8 mA"} and cells[5]["A"] == pytest.approx(1e-3)
    assert column_index("A") == 0 and column_index("AA") == 26 and column_index("AB") == 27
    # the unnamed column C continues B's kind (resistance) and takes the time column A
    traces = read_relaxation(path, "fast")
    assert [t.label for t in traces] == ["4 mA", "8 mA"]
    assert traces[0].time.size == 36 and traces[0].resistance[5] == pytest.approx(1e3 * np.exp(-1.0))
    with pytest.raises(XlsxError, match="no sheet 'slow'"):
        read_xlsx(path, ["slow"])
    (tmp_path / "bad.xlsx").write_bytes(b"not a zip")
    with pytest.raises(XlsxError, match=r"not an \.xlsx"):
        read_xlsx(tmp_path / "bad.xlsx")
    _workbook(tmp_path / "num.xlsx", '<row r="1"><c r="A1"><v>abc</v></c></row>')
    with pytest.raises(XlsxError, match="cell A1: expected a number"):
        read_xlsx(tmp_path / "num.xlsx")


def test_threshold_time_and_exponential_on_known_values():
    t = np.arange(1, 50) * 2e-4
    r = 700.0 - 1e5 * t  # 700 -> 350 Ohm at 3.5 ms
    assert threshold_time(t, r, 350.0) == pytest.approx(3.5e-3, rel=1e-9)
    assert np.isnan(threshold_time(t, r, r.min() - 1.0))  # never reached: no switching
    g = 2e-3 - 1e-3 * np.exp(-t / 1.7e-3)
    tau, rms = exponential_tau(t, g)
    assert tau == pytest.approx(1.7e-3, rel=1e-6) and rms < 1e-8


def test_pulse_reader_bad_input(tmp_path):
    with pytest.raises(MeasurementError, match="file name is not"):
        read_vo2_pulse(tmp_path / "pulse.csv")
    p = tmp_path / "5V_0.01s_68.5C.csv"
    p.write_text("Index,SMU-1 Time (s),SMU-1 Voltage (V),SMU-1 Current (A),SMU-1 Resistance (Ω)\n"
                 + "".join(f"{k},{k * 2e-4},0.5,0.001,500\n" for k in range(20)), encoding="utf-8")
    with pytest.raises(MeasurementError, match="no pulse found"):
        read_vo2_pulse(p)


# -- readers on the shared data ------------------------------------------------------------------------------
def test_pulse_reader_values(recs):
    assert [r.amplitude for r in recs] == [4.0, 4.25, 4.5, 4.75, 5.0, 5.25, 5.5, 5.75, 6.0, 6.25, 6.5]
    for r in recs:
        assert r.stage_temperature == pytest.approx(341.65) and r.width == pytest.approx(0.01)
        assert r.pulse_time.size == 49 and r.pulse_time[-1] == pytest.approx(9.8e-3, abs=1e-9)
        assert r.plateau_voltage == pytest.approx(r.amplitude, abs=0.01)
        # column order differs between files (5V starts with resistance): R = V/I holds in every file
        on = np.abs(r.current) > 1e-4
        assert np.allclose(r.resistance[on], r.voltage[on] / r.current[on], rtol=1e-6)
    f = {r.amplitude: pulse_features(r) for r in recs}
    # values read off the files (0.2 ms samples): switching from 5.5 V, faster with amplitude
    assert [a for a, x in f.items() if np.isnan(x["t_threshold"])] == [4.0, 4.25, 4.5, 4.75, 5.0, 5.25]
    assert f[5.5]["t_threshold"] == pytest.approx(6.02e-3, abs=0.02e-3)
    assert f[6.5]["t_threshold"] == pytest.approx(1.15e-3, abs=0.02e-3)
    t = [f[a]["t_threshold"] for a in (5.5, 5.75, 6.0, 6.25, 6.5)]
    assert all(np.diff(t) < 0)
    assert f[4.0]["r_initial"] == pytest.approx(699.3, abs=0.1)
    assert f[6.5]["r_on"] == pytest.approx(124.3, abs=0.1) and f[6.5]["i_on"] == pytest.approx(52.25e-3, abs=0.01e-3)
    assert f[4.0]["read_voltage"] == pytest.approx(0.499, abs=0.002)
    # the device recovers after a pulse that does not switch it (4 V: back to its initial resistance)
    assert f[4.0]["r_read_last"] == pytest.approx(f[4.0]["r_initial"], rel=0.01)
    assert 1.5e-3 < f[4.0]["tau_recovery"] < 5e-3


def test_relaxation_reader_values(vo2):
    slow = read_relaxation(vo2 / "relaxation_timescales.xlsx", "slow")
    assert [t.label for t in slow] == ["70 mA", "60 mA", "50 mA", "40 mA", "30 mA", "20 mA", "10 mA"]
    for tr in slow:
        assert tr.time.size == 1101 and tr.time[step_end(tr)] == pytest.approx(0.1005, abs=0.0006)
    tau = {t.label: relaxation_tau(t)[0] for t in slow}
    assert tau["70 mA"] == pytest.approx(4.34e-3, rel=0.02)
    # after the larger currents the conductance decays more slowly (70 -> 30 mA)
    assert all(np.diff([tau[k] for k in ("30 mA", "40 mA", "50 mA", "60 mA", "70 mA")]) > 0)


# -- the fitted card ----------------------------------------------------------------------------------------
def test_card_statistics_are_what_the_card_gives_on_the_data(vo2, recs):
    mod = _script()
    card = load_card(CARD)
    assert card.kind == "fitted" and card.fit["converged"]
    ev = mod.evaluate(card.model(), recs, vo2)
    fit_recs, _ = mod.split(recs)
    res = mod.residuals(card.model(), fit_recs)
    assert np.sqrt(np.mean(res**2)) == pytest.approx(card.fit["rmse"]["value"], rel=1e-3)
    assert ev["rmse_holdout"] == pytest.approx(card.fit["holdout"]["rmse"]["value"], rel=1e-3)
    assert ev["holdout_t_rel_max"] == pytest.approx(card.fit["holdout"]["threshold_time_max_rel_error"], rel=1e-3)
    # fit quality: 3.3 % in R over the fitted traces; held-out bounds (the lumped model switches late above
    # the fitted range: its metallic resistance is a floor the measured on state falls below)
    assert card.fit["rmse"]["value"] < 0.02
    assert ev["rmse_holdout"] < 0.1 and ev["holdout_t_rel_max"] < 0.5
    a = ev["amplitudes"]
    # 4 V (held out below the fitted range): neither data nor model switch; trace within 2 % in R
    k4 = int(np.argmin(np.abs(a - 4.0)))
    assert np.isnan(ev["t_data"][k4]) and np.isnan(ev["t_model"][k4]) and ev["rmse_by_amplitude"][k4] < 0.01
    # 6 V (held out): threshold time within 10 %; the switching amplitudes agree exactly (5.5 V and up)
    k6 = int(np.argmin(np.abs(a - 6.0)))
    assert abs(ev["t_rel_error"][k6]) < 0.1
    assert np.array_equal(np.isnan(ev["t_model"]), np.isnan(ev["t_data"]))
    # recovery (not fitted): the card's thermal time lies inside the measured conductance decay times of
    # the film (relaxation_timescales.xlsx, sheet 'slow'), and the model recovers within 5x of the data
    relax = ev["relax_slow"].values()
    assert min(relax) < ev["tau_th"] < max(relax)
    assert np.all(ev["tau_model"] < ev["tau_data"]) and np.all(ev["tau_data"] / ev["tau_model"] < 8)
    # physical at the top of the validity range: a few K above the stage, current below the SMU's 0.1 A
    assert np.max(ev["t_peak"]) < 400.0
    v = np.array([r.plateau_voltage for r in recs])
    assert np.max(v / ev["r_on_model"]) < 0.1


def test_fit_recovers_the_card_within_its_stderr(recs):
    from scipy.optimize import least_squares

    mod = _script()
    card = load_card(CARD)
    p, err = card.model().params, card.fit["stderr"]
    names = ("R0", "R_m", "Tc", "C_th", "S_e")
    logged = {"R0": True, "R_m": True, "Tc": False, "C_th": True, "S_e": True}
    x = np.array([np.log10(p[k]) if logged[k] else p[k] for k in names])
    ex = np.array([err[k] / p[k] / np.log(10) if logged[k] else err[k] for k in names])
    fit_recs, _ = mod.split(recs)
    base = mod.base_model()
    start = x + 3 * ex * np.array([1, -1, 1, -1, 1])  # 3 standard errors off in every parameter
    sol = least_squares(lambda z: mod.residuals(mod.with_x(base, z), fit_recs), start,
                        x_scale=[0.3, 0.1, 2.0, 0.3, 0.3], max_nfev=12)
    assert np.all(np.abs(sol.x - x) < ex), (sol.x - x) / ex
