"""Fit the VCM Stanford/PKU model to the CrossSim oxide-memristor pulse trains.

Reproduces models/vcm/crosssim_oxide_fit.toml and docs/figures/vcm_crosssim_fit.png:

    python docs/scripts/fit_crosssim_vcm.py

Data: ../shared/data/crosssim-pulse-trains/{set,reset}.csv (read current at
0.1 V, 39 SET and 40 RESET ramps of identical pulses). The files do not record
the pulse amplitude or width; this fit assumes +1.0 V / -1.0 V, 100 ns pulses
(an estimate), so nu0 absorbs the true width and amplitude. Varied: nu0 and beta, an
identifiable pair (docs/scripts/vcm_identifiability.py: nu0 and gamma0 are degenerate at one
pulse condition); nu0 with R_th has a lower BIC but needs 1300-1800 K filament temperatures.
"""

from pathlib import Path

import numpy as np

from devicelib import get_model
from devicelib.fit import fit
from devicelib.measurement import concat_traces, read_wide_csv

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT.parent / "shared" / "data" / "crosssim-pulse-trains"
AMP_SET, AMP_RESET, WIDTH = 1.0, -1.0, 100e-9  # assumed (estimate)
I0 = 10e-3  # A: places the measured 1.6-2.5 mS inside the model's gap range
VARY = ["nu0", "beta"]  # identifiable and physical at one pulse condition (docs/figures/vcm_identifiability.md)


def load():
    s = read_wide_csv(DATA / "set.csv", "A", v_read=0.1, amplitude=AMP_SET, width=WIDTH)
    r = read_wide_csv(DATA / "reset.csv", "A", v_read=0.1, amplitude=AMP_RESET, width=WIDTH)
    s = s.assign_coords(trace=[f"set:{t}" for t in s.trace.values])
    r = r.assign_coords(trace=[f"reset:{t}" for t in r.trace.values])
    data = concat_traces([s, r])
    data.attrs["source"] = "../shared/data/crosssim-pulse-trains/{set,reset}.csv"
    return data


def run(write=True):
    data = load()
    start = get_model("vcm.stanford_pku", I0=I0, nu0=1e-4)
    result = fit(start, data, vary=VARY)
    if not write:
        return result
    card = result.to_card(
        "vcm.crosssim_oxide_fit",
        title="Oxide memristor (CrossSim example ramps), Stanford/PKU model fitted by devicelib",
        provenance={
            "citation": "Sandia CrossSim lookup-table example data (sandialabs/cross-sim, "
                        "examples/lookup_table_generation/lookup_table_example, BSD-3-Clause)",
            "where": "set.csv (39 ramps) and reset.csv (40 ramps), read current at 0.1 V",
            "data": "../shared/data/crosssim-pulse-trains/{set,reset}.csv",
            "script": "docs/scripts/fit_crosssim_vcm.py",
        },
        validity={
            **result.validity,  # the measured conductance range (exporters start there)
            "amplitude": {"min": -1.0, "max": 1.0, "unit": "V"},
            "width": {"min": WIDTH, "max": WIDTH, "unit": "s"},
            "temperature": {"min": 300.0, "max": 300.0, "unit": "K"},
            "read_voltage": {"min": 0.1, "max": 0.1, "unit": "V"},
        },
        notes=(
            "Pulse conditions are NOT recorded in the data: +1.0 V (SET) / -1.0 V (RESET), 100 ns were "
            "assumed (estimate), so nu0 absorbs the true width and amplitude; use the card only at that nominal "
            "condition. Varied: nu0 and beta (at one pulse condition nu0 is degenerate with gamma0 and Ea, which "
            "are held at the Jiang 2016 defaults; the SET acceleration is carried by beta, the fall of the field "
            "enhancement with the gap. nu0 with R_th fits better by BIC but puts the filament at 1300-1800 K "
            "during +/-1 V pulses, which is not physical: docs/families/vcm.md). I0 = 10 mA (estimate) was chosen "
            "so the measured 1.6-2.5 mS lie inside the model's gap range. Reduced chi-square >> 1: the "
            "ramp-to-ramp (cycle-to-cycle) spread of the device is far larger than the read noise; the stderr "
            "are scaled by sqrt(redchi) (lmfit scale_covar)."
        ),
    )
    for name in ("g0", "V0", "Ea", "a0", "gamma0", "g1", "t_ox", "R_th", "g_min", "g_max"):
        card.parameters[name].source = "Jiang et al. 2016 Verilog-A default, held fixed"
    card.parameters["I0"].source = "set for this fit, held fixed"
    card.parameters["I0"].estimate = "chosen (not fitted) so the measured 1.6-2.5 mS lie inside the gap range"
    card.provenance["doi"] = "10.1109/TED.2016.2545412"
    card.save(ROOT / "models" / "vcm" / "crosssim_oxide_fit.toml")
    plot(data, result)
    return result


def plot(data, result):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    g = data["conductance"].values * 1e3
    p = result.prediction.values * 1e3
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.6), sharey=True)
    for ax, prefix, title in ((axes[0], "set:", "SET ramps (+1.0 V assumed)"),
                              (axes[1], "reset:", "RESET ramps (-1.0 V assumed)")):
        idx = [i for i, t in enumerate(data.trace.values) if t.startswith(prefix)]
        for j, i in enumerate(idx):
            ax.plot(g[i], color="0.7", lw=0.6, label="measured" if j == 0 else None)
            ax.plot(p[i], color="C3", lw=0.6, alpha=0.6, label="model" if j == 0 else None)
        ax.set_title(title)
        ax.set_xlabel("pulse")
    axes[0].set_ylabel("conductance (mS)")
    axes[0].legend(loc="upper left")
    fig.suptitle(f"VCM Stanford/PKU fit: RMSE {result.rmse * 1e6:.1f} uS over {result.ndata} points")
    fig.tight_layout()
    fig.savefig(ROOT / "docs" / "figures" / "vcm_crosssim_fit.png", dpi=120)


if __name__ == "__main__":
    r = run()
    print(r.summary())
    print("residual RMSE per ramp (uS): median", np.round(np.nanmedian(
        np.sqrt(np.nanmean(r.residuals.values ** 2, axis=1))) * 1e6, 2))
