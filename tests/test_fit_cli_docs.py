"""The command-line worked examples of docs/fitting.md ("From a file to a card in one command"), run as written
on ../shared/data (in-process through typer's runner, with --json), with the fitted values asserted.

Where the full file takes more than ~20 s to fit on the loaded 2-core CI machine, the command runs on a
subset of the same file, written here from the shared data (the docs say which): the single-pulse map on
every third word-line voltage, the cycling table on its first 100 checks, the VO2 instrument export on 12
samples below the firing. Polarisation and switching probabilities have no measured file in the shared
data: their examples use synthetic files (written here from a known model: labelled synthetic in the docs).
"""

import json
import re
import shlex
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from devicelib.cli import app

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "fitting.md"
KINDS = ("pulse-train", "single-pulse-map", "probability", "polarisation", "cycling", "instrument")


def _commands() -> dict[str, list[str]]:
    """``<!-- cli-example: KIND -->`` followed by a ```sh block holding one ``devicelib fit`` command."""
    text = DOC.read_text()
    out = {}
    for kind, block in re.findall(r"<!-- cli-example: ([\w-]+) -->\s*```sh\n(.*?)```", text, flags=re.S):
        out[kind] = shlex.split(block.replace("\\\n", " "))
    return out


def _run(args: list[str], subs: dict[str, str], tmp_path: Path) -> dict:
    assert args[:2] == ["devicelib", "fit"]
    args = [subs.get(a, a) for a in args[2:]]
    for opt in ("--card", "--report"):  # write outputs into the test's folder
        if opt in args:
            k = args.index(opt) + 1
            args[k] = str(tmp_path / Path(args[k]).name)
    res = CliRunner().invoke(app, ["fit", *args, "--json"])
    assert res.exit_code == 0, (res.output, res.exception)
    return json.loads(res.stdout)


def _value(out, name):
    return out["parameters"][name]["value"]


def test_every_data_kind_has_a_cli_example():
    assert set(_commands()) == set(KINDS)


def test_pulse_train_example(shared_data, tmp_path, monkeypatch):
    monkeypatch.chdir(ROOT)
    out = _run(_commands()["pulse-train"], {}, tmp_path)
    assert out["converged"] and out["noise_model"] == "trace"
    # aihwkit's Gong et al. 2018 trace, normalised weights; the 1/90 weight grid leaves a reduced chi-square ~3
    assert abs(_value(out, "dw_min") / 3.366e-3 - 1) < 0.03
    assert abs(_value(out, "up_down") + 0.4316) < 0.03 and abs(_value(out, "w_min") + 0.995) < 0.05
    assert 2.0 < out["redchi"] < 4.0
    assert (tmp_path / "gong_soft_bounds.toml").is_file()


def test_single_pulse_map_example(shared_data, tmp_path, monkeypatch):
    """The Stanford 1T1R SET map in one command: medians per condition, the gate from V_WL, 40 and 200 ns held
    out. Run on every third word-line voltage (300 conditions; the full map takes ~3x longer)."""
    monkeypatch.chdir(ROOT)
    src = shared_data / "stanford-1t1r-pulse-sweeps" / "set_sweep.tsv"
    rows = [ln for ln in src.read_text().splitlines() if ln.strip()]
    keep = [ln for ln in rows if round((float(ln.split("\t")[2]) - 0.5) * 10) % 3 == 0]
    sub = tmp_path / "set_sweep.tsv"
    sub.write_text("\n".join(keep) + "\n")
    out = _run(_commands()["single-pulse-map"], {"../shared/data/stanford-1t1r-pulse-sweeps/set_sweep.tsv": str(sub)},
               tmp_path)
    # the card vcm.stanford1t1r_set_fit (all 540 fitted conditions): I0 7.41e-5 A, k_T 1.94e-3 A/V^2,
    # 0.061 dex fitted and 0.066 dex held out
    assert out["converged"] and 0.5 < out["redchi"] < 1.5 and out["ndata"] == 180
    assert abs(_value(out, "I0") / 7.41e-5 - 1) < 0.05 and abs(_value(out, "k_T") / 1.94e-3 - 1) < 0.15
    h = out["holdout"]
    assert h["ndata"] == 120 and h["rmse_dex"] < 0.08 and h["rmse_dex_fit"] < 0.07
    from devicelib.catalog import load_card

    card = load_card(tmp_path / "stanford_set_map.toml")
    assert card.fit["holdout"]["rmse_log10"] == pytest.approx(h["rmse_dex"])
    assert card.parameters["V_g"].value == pytest.approx(1.7, abs=0.2) and "word-line" in card.parameters["V_g"].source


def test_probability_example_synthetic(tmp_path, monkeypatch):
    """Synthetic (no measured probabilities with trial counts ship in the shared data; the docs say why the
    PCM partial-RESET trials are not fitted): a stochastic MTJ, 500 trials per current at two pulse widths,
    one experiment per row; the mean field and the binomial deviance are chosen from the data kind."""
    from devicelib import get_model

    truth = get_model("spintronic.stochastic_mtj").mean_field()
    current = np.linspace(40e-6, 50e-6, 12)  # the switching transition at both widths
    lines = ["current [uA],width [ns],switching_probability,trials"]
    rng = np.random.default_rng(7)
    for w in (10.0, 30.0):
        st = truth.initial_state(current.size)
        p = 1 - truth.apply_pulse(dict(st), current, np.full(12, w * 1e-9), np.full(12, 300.0))["antiparallel"]
        lines += [f"{c * 1e6:.3f},{w:g},{k / 500},500" for c, k in zip(current, rng.binomial(500, p), strict=True)]
    (tmp_path / "psw.csv").write_text("\n".join(lines) + "\n")
    monkeypatch.chdir(tmp_path)
    out = _run(_commands()["probability"], {}, tmp_path)
    assert out["noise_model"] == "binomial" and "mean field" in out["method"] and out["ndata"] == 24
    assert out["converged"], out["status"]
    t = truth.params
    # two widths separate E_b from Ic0_p (correlation -0.90; one width: -0.99): measured 2.3 % and 0.15 % off
    assert abs(_value(out, "E_b") / t["E_b"] - 1) < 0.05 and abs(_value(out, "Ic0_p") / t["Ic0_p"] - 1) < 0.02


def _train(n=15):
    """Synthetic FeFET polarisation along a train of n identical 3 V, 1 us pulses (uC/cm^2), 0.2 noise."""
    from devicelib import get_model

    truth = get_model("fefet.nls")
    st, pol = truth.initial_state(1), []
    for _ in range(n):
        st = truth.apply_pulse(st, np.array([3.0]), np.array([1e-6]), np.array([300.0]))
        pol.append(100 * truth.observe(st)["polarization"][0])
    return np.array(pol) + 0.2 * np.random.default_rng(5).standard_normal(n)


def test_polarisation_example_synthetic(tmp_path, monkeypatch):
    """Synthetic FeFET remanent polarisation after one 1 us pulse per row, units in the header."""
    from devicelib import get_model

    truth = get_model("fefet.nls")
    amp = np.linspace(2.0, 4.5, 15)
    st = truth.apply_pulse(truth.initial_state(15), amp, np.full(15, 1e-6), np.full(15, 300.0))
    pol = 100 * truth.observe(st)["polarization"] + 0.2 * np.random.default_rng(5).standard_normal(15)
    lines = ["amplitude [V],width [us],polarisation [uC/cm^2]"] + [f"{a},1,{p}" for a, p in zip(amp, pol,
                                                                                                strict=True)]
    (tmp_path / "pol.csv").write_text("\n".join(lines) + "\n")
    monkeypatch.chdir(tmp_path)
    out = _run(_commands()["polarisation"], {}, tmp_path)
    assert out["observable"] == "polarization" and out["converged"], out["status"]
    assert abs(_value(out, "Ea") / truth.params["Ea"] - 1) < 0.03


@pytest.mark.parametrize("layout", ["long", "columns", "rows"])
def test_observable_layouts_give_the_same_fit(layout, tmp_path):
    """One synthetic polarisation train as a long file, one trace per column, one trace per row (TSV,
    semicolons, whitespace): the same 15 points and the same fitted Ea from each."""
    from devicelib import get_model

    pol = _train()
    f = tmp_path / f"train_{layout}.txt"
    opts = ["--unit", "uC/cm^2", "--amplitude", "3 V", "--width", "1 us"]
    if layout == "long":
        f = f.with_suffix(".tsv")
        f.write_text("trace\tpulse\tamplitude [V]\twidth [s]\tpolarisation [uC/cm**2]\n"
                     + "".join(f"d1\t{k}\t3.0\t1e-6\t{p}\n" for k, p in enumerate(pol)))
        opts = []
    elif layout == "columns":
        f.write_text("d1;d2\n" + "".join(f"{p};{p}\n" for p in pol))  # two identical devices
    else:
        f.write_text("  ".join(f"{p}" for p in pol) + "\n")
        opts.append("--no-header")
    res = CliRunner().invoke(app, ["fit", str(f), "--observable", "polarisation", "--layout", layout,
                                   "--model", "fefet.nls", "--set", "Ea=2e8", "--vary", "Ea",
                                   "--sigma", "0.2 uC/cm^2", "--json", *opts])
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout)
    assert out["observable"] == "polarization" and out["ndata"] == (30 if layout == "columns" else 15)
    assert out["converged"], out["status"]
    assert abs(_value(out, "Ea") / get_model("fefet.nls").params["Ea"] - 1) < 0.03


def test_observable_errors_are_clear(tmp_path):
    f = tmp_path / "pol.csv"
    f.write_text("amplitude [V],width [s],polarisation\n3.0,1e-6,20.0\n3.5,1e-6,25.0\n")
    res = CliRunner().invoke(app, ["fit", str(f), "--observable", "polarisation", "--model", "fefet.nls"])
    assert res.exit_code == 2 and "has no unit" in res.output  # never guessed
    res = CliRunner().invoke(app, ["fit", str(f), "--observable", "polarisation", "--unit", "uC/cm^2",
                                   "--model", "vcm.stanford_pku"])
    assert res.exit_code == 2 and "does not predict 'polarization'" in res.output
    res = CliRunner().invoke(app, ["fit", str(f), "--observable", "polarisation", "--unit", "V",
                                   "--model", "fefet.nls"])
    assert res.exit_code == 2 and "not a polarization unit" in res.output
    bad = tmp_path / "bad.csv"
    bad.write_text("amplitude [V],width [s],polarisation [uC/cm^2]\n3.0,1e-6," + "x" * 500 + "\n")
    res = CliRunner().invoke(app, ["fit", str(bad), "--observable", "polarisation", "--model", "fefet.nls"])
    assert res.exit_code == 2 and "not a number" in res.output
    assert len(res.output.strip()) < 120 + 160 and "x" * 121 not in res.output


def test_cycling_example(shared_data, tmp_path, monkeypatch):
    """NI-RRAM 1 us endurance (R after SET and after RESET per check) as alternating SET/RESET pulses, fitted
    without reshaping; the first 100 checks (the full record, 20,100 pulses, takes minutes)."""
    monkeypatch.chdir(ROOT)
    src = shared_data / "stanford-nirram-endurance" / "1us_endurance.tsv"
    sub = tmp_path / "1us_endurance.tsv"
    sub.write_text("\n".join(src.read_text().splitlines()[:100]) + "\n")
    out = _run(_commands()["cycling"], {"../shared/data/stanford-nirram-endurance/1us_endurance.tsv": str(sub)},
               tmp_path)
    assert out["observable"] == "resistance" and out["ndata"] == 199 and out["converged"], out["status"]
    from devicelib.catalog import load_card
    from devicelib.layers import read_endurance_record

    m = load_card(tmp_path / "nirram_cycling.toml").model()
    st = m.initial_state(1)
    levels = []
    for a in (3.0, -3.5):
        st = m.apply_pulse(st, np.array([a]), np.array([1e-6]), np.array([300.0]))
        levels.append(1 / m.conductance(st, 0.2)[0])
    rec = read_endurance_record(sub)
    # the fitted LRS and HRS are the typical levels (log medians) of the 100 checks: 10.6 and 134 kOhm;
    # the HRS scatters by 0.5 in ln R check to check, the LRS by 0.06
    assert abs(np.log(levels[0] / np.median(rec.r_set))) < 0.05
    assert abs(np.log(levels[1] / np.median(rec.r_reset))) < 0.2


def test_instrument_example(shared_data, tmp_path, monkeypatch):
    """VO2 Keithley 2461 export (34-line header block, units in the column headers) read as resistance per
    sample; 12 samples below the firing (every 15th of the rising sweep: each sample costs the thermal model
    ~40 ms, the full 419 take minutes per fit). From R0 = 0.03 ohm the fit returns the card's R0."""
    monkeypatch.chdir(ROOT)
    src = shared_data / "vo2-threshold-pulses" / "VO2_data_RvsV_transition.csv"
    lines = src.read_text(encoding="utf-8-sig").splitlines()
    k = next(i for i, ln in enumerate(lines) if ln.startswith("Index,"))
    data = [ln for ln in lines[k + 1:k + 181] if float(ln.split(",")[2]) <= 17.45][::15]
    sub = tmp_path / "VO2_data_RvsV_transition.csv"
    sub.write_text("\ufeff" + "\n".join(lines[:k + 1] + data) + "\n", encoding="utf-8")
    out = _run(_commands()["instrument"],
               {"../shared/data/vo2-threshold-pulses/VO2_data_RvsV_transition.csv": str(sub)}, tmp_path)
    assert out["observable"] == "resistance" and out["ndata"] == 12 and out["converged"], out["status"]
    # card mott.galloni2024_vo2_rv_fit (dc_sweep fit of the whole rising sweep): R0 = 0.02560 ohm
    assert abs(_value(out, "R0") / 0.02560 - 1) < 0.03 and 0.3 < out["redchi"] < 3


def test_declared_unit_must_agree_with_the_header(tmp_path):
    f = tmp_path / "pol.csv"
    f.write_text("amplitude [V],width [s],polarisation [uC/cm^2]\n3.0,1e-6,20.0\n3.5,1e-6,25.0\n")
    res = CliRunner().invoke(app, ["fit", str(f), "--observable", "polarisation", "--unit", "C/m^2",
                                   "--model", "fefet.nls"])
    assert res.exit_code == 2 and "the declared unit is 'C/m^2'" in res.output
    from devicelib.observables import read_observation_table

    same = read_observation_table(f, "polarisation", unit="uC/cm**2")  # the same unit written otherwise
    assert same["polarization"].values[:, 0] == pytest.approx([0.20, 0.25])  # C/m^2


def test_holdout_by_condition_values():
    from devicelib.fit.holdout import holdout_mask
    from devicelib.maps import make_pulse_map

    m = make_pulse_map([1e5] * 4, [2e4, 3e4, 4e4, 5e4], [2e-8, 4e-8, 1e-7, 2e-7], 1.0,
                       compliance=[0.5, 1.0, 1.5, 2.0], v_read=0.2)
    mask, desc = holdout_mask("width:40ns,200ns", m)
    assert mask[:, 0].tolist() == [False, True, False, True] and "width in 4e-08, 2e-07 s" in desc
    mask, _ = holdout_mask("compliance:1 V,2", m)  # a quantity in the variable's unit, or SI
    assert mask[:, 0].tolist() == [False, True, False, True]
    assert holdout_mask("condition:compliance<1.2", m)[0][:, 0].tolist() == [True, True, False, False]
    from devicelib.fit.errors import FitError

    with pytest.raises(FitError, match="no measured point"):
        holdout_mask("width:30ns", m)
    with pytest.raises(FitError, match="cannot read"):
        holdout_mask("width:40 V", m)


def test_cycling_reader_layouts(shared_data):
    """Every endurance layout becomes alternating SET/RESET pulses with the read after each."""
    from devicelib.cycling import read_cycling_table
    from devicelib.measurement import MeasurementError

    d = shared_data / "stanford-1t1r-pulse-sweeps"
    slow = read_cycling_table(d / "endurance_slow.tsv", set_amplitude=3.0, reset_amplitude=-3.0, width=1e-6)
    assert slow["resistance"].values[0, :2] == pytest.approx([8333.244312712755, 46390.86852040065])
    assert slow["amplitude"].values[0, :4].tolist() == [3.0, -3.0, 3.0, -3.0]
    assert slow["cycle"].values[0, :4].tolist() == [999, 999, 1999, 1999]
    log = read_cycling_table(d / "endurance_log.csv", set_amplitude=3.0, reset_amplitude=-3.0,
                             observable="conductance")
    assert log["width"].values[0, 0] == 1e-6 and log["conductance"].values[0, 0] == pytest.approx(1 / 8048.94233357)
    with pytest.raises(MeasurementError, match="not the given"):
        read_cycling_table(d / "endurance_log.csv", set_amplitude=3.0, reset_amplitude=-3.0, width=1e-7)
    with pytest.raises(MeasurementError, match="opposite signs"):
        read_cycling_table(d / "endurance_slow.tsv", set_amplitude=3.0, reset_amplitude=3.0, width=1e-6)


def test_map_options_need_a_map(tmp_path):
    f = tmp_path / "pol.csv"
    f.write_text("amplitude [V],width [s],polarisation [uC/cm^2]\n3.0,1e-6,20.0\n3.5,1e-6,25.0\n")
    res = CliRunner().invoke(app, ["fit", str(f), "--observable", "polarisation", "--model", "fefet.nls", "--medians"])
    assert res.exit_code == 2 and "--medians pools the conditions of a single-pulse map" in res.output
    res = CliRunner().invoke(app, ["fit", str(f), "--observable", "polarisation", "--model", "fefet.nls", "--gate"])
    assert res.exit_code == 2 and "no variable 'compliance'" in res.output
    res = CliRunner().invoke(app, ["fit", str(f), "--observable", "polarisation", "--model", "fefet.nls",
                                   "--set", "nonsense=1"])
    assert res.exit_code == 2 and "must be NAME=VALUE with NAME a parameter of fefet.nls" in res.output
