"""Non-conductance observables (polarisation, switching probability with trials) from long and wide files:
values converted to SI, padding, trials, errors naming the line; and a fit from each file layout."""

import numpy as np
import pytest

from devicelib import get_model
from devicelib.fit import fit
from devicelib.measurement import MeasurementError
from devicelib.observables import read_observation


def _fefet_polarisation():
    truth = get_model("fefet.nls")
    amp = np.linspace(2.0, 4.5, 15)
    st = truth.apply_pulse(truth.initial_state(15), amp, np.full(15, 1e-6), np.full(15, 300.0))
    pol = 100 * truth.observe(st)["polarization"] + 0.2 * np.random.default_rng(5).standard_normal(15)  # uC/cm^2
    return amp, pol


def test_long_semicolon_polarisation_in_uC_per_cm2_fits_fefet(tmp_path):
    amp, pol = _fefet_polarisation()
    lines = ["trace;pulse;amplitude [V];width [us];polarisation [uC/cm^2]"]
    lines += [f"p{i};0;{a};1;{p}" for i, (a, p) in enumerate(zip(amp, pol, strict=True))]
    f = tmp_path / "pol.csv"
    f.write_text("\ufeff" + "\n".join(lines) + "\n", encoding="utf-8")  # with a byte-order mark
    ds = read_observation(f, "polarization")
    assert ds.attrs["observable"] == "polarization" and ds["polarization"].attrs["units"] == "C/m**2"
    assert ds.sizes == {"trace": 15, "pulse": 1}
    np.testing.assert_allclose(ds["polarization"].values[:, 0], pol * 1e-2)  # 1 uC/cm^2 = 1e-2 C/m^2
    np.testing.assert_allclose(ds["width"].values, 1e-6)
    r = fit(get_model("fefet.nls").with_params(Ea=2e8), ds, ["Ea"], sigma=0.2e-2)
    assert r.converged and abs(r.values["Ea"] / 1.67e8 - 1) < 0.03


def test_long_pads_unequal_traces_with_nan_and_reads_trials(tmp_path):
    f = tmp_path / "p.tsv"
    f.write_text("trace\tpulse\tamplitude [uA]\twidth [ns]\tswitching_probability\ttrials\n"
                 "a\t0\t40\t10\t0.10\t200\na\t1\t60\t10\t0.55\t200\nb\t0\t80\t10\t0.97\t100\n")
    ds = read_observation(f, "switching_probability")
    assert list(ds["trace"].values) == ["a", "b"]
    np.testing.assert_allclose(ds["amplitude"].values[0], [40e-6, 60e-6])
    assert np.isnan(ds["switching_probability"].values[1, 1])
    np.testing.assert_allclose(ds["trials"].values[:, 0], [200, 100])
    np.testing.assert_allclose(ds["width"].values[0], 1e-8)


def _mtj_probabilities():
    truth = get_model("spintronic.stochastic_mtj").mean_field()
    current = np.linspace(30e-6, 80e-6, 12)
    st = truth.initial_state(current.size)
    p = 1 - truth.apply_pulse(dict(st), current, np.full(12, 1e-8), np.full(12, 300.0))["antiparallel"]
    return current, np.random.default_rng(4).binomial(200, p) / 200


@pytest.mark.parametrize("layout", ["columns", "rows"])
def test_wide_probabilities_with_trials_fit_the_mean_field(tmp_path, layout):
    current, p = _mtj_probabilities()
    f = tmp_path / "psw.txt"
    if layout == "columns":  # one single-pulse trace per column, whitespace-delimited, labelled
        f.write_text(" ".join(f"I{i}" for i in range(12)) + "\n" + " ".join(f"{v:g}" for v in p) + "\n")
    else:  # one trace per row, no header
        f.write_text("\n".join(f"{v:g}" for v in p) + "\n")
    ds = read_observation(f, "switching_probability", layout, amplitude=current, width=1e-8, trials=200,
                          amplitude_unit="A", header=layout == "columns")
    assert ds.sizes == {"trace": 12, "pulse": 1}
    np.testing.assert_allclose(ds["switching_probability"].values[:, 0], p)
    np.testing.assert_allclose(ds["amplitude"].values[:, 0], current)
    assert (ds["trials"].values == 200).all()
    if layout == "columns":
        assert ds["trace"].values[3] == "I3"
    r = fit("spintronic.stochastic_mtj", ds)
    assert r.noise_model == "binomial" and "mean field" in r.method
    assert r.converged, r.status


def test_wide_rows_train_of_polarisations(tmp_path):
    f = tmp_path / "rows.csv"
    f.write_text("1.0,2.0,3.0\n4.0,5.0\n")
    ds = read_observation(f, "polarisation", "rows", unit="uC/cm**2", amplitude=[[3.0, 3.0, -3.0]], width=1e-6,
                          header=False)
    assert ds.sizes == {"trace": 2, "pulse": 3}
    np.testing.assert_allclose(ds["polarization"].values[0], [0.01, 0.02, 0.03])
    assert np.isnan(ds["polarization"].values[1, 2])


def test_reader_errors_name_the_problem(tmp_path):
    f = tmp_path / "bad.csv"
    f.write_text("trace,pulse,amplitude [V],width [s],polarization\na,0,1,1e-6,0.1\n")
    with pytest.raises(MeasurementError, match="no unit"):
        read_observation(f, "polarization")
    f.write_text("trace,pulse,amplitude [V],width [s],polarization [C/m^2]\na,0,1,1e-6," + "x" * 500 + "\n")
    with pytest.raises(MeasurementError, match=r"line 2 \(polarization\): not a number") as exc:
        read_observation(f, "polarization")
    assert len(str(exc.value)) < 250
    f.write_text("trace,pulse,amplitude [V],polarization [C/m^2]\na,0,1,0.1\n")
    with pytest.raises(MeasurementError, match="missing \\['width'\\]"):
        read_observation(f, "polarization")
    with pytest.raises(MeasurementError, match="give amplitude= and width="):
        read_observation(f, "polarization", "columns", unit="C/m^2")
    f.write_text("0.1,0.2\n")
    with pytest.raises(MeasurementError, match="layout must be"):
        read_observation(f, "polarization", "diagonal")
