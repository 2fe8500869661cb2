# ruff: noqa: E501  (the card template below holds TOML lines longer than the code limit)
"""Fit the Stanford/PKU VCM model with its 1T1R access transistor to the measured SET map and write
models/vcm/stanford1t1r_set_fit.toml.

Data: ../shared/data/stanford-1t1r-pulse-sweeps/set_sweep.tsv (Stanford 1T1R oxide RRAM test chip; one SET
pulse per cell: width 20, 40, 100, 200, 400 ns x word-line (gate) voltage 0.5-3.4 V x bit-line voltage
0.5-3.0 V; R read before and after; MIT licence, Akash Levy's NI-RRAM test code). Read at 0.2 V (the chip's
READ setting, settings/default.json).

Method: per pulse condition the median R_before and R_after over its ~26 cells. The model starts each
condition at the gap that reads the median R_before, applies one pulse of V_BL through the transistor with
V_G = V_WL (devicelib.circuit: square law, solved per integration stage) and reads R at 0.2 V. Least squares
(scipy.optimize.least_squares) on log10 R_after for widths 20, 100 and 400 ns (540 conditions); the widths
40 and 200 ns (360 conditions) are held out and predicted. Varied: I0, nu0 (the cell) and k_T, V_th_T (the
transistor); every other value is the Jiang 2016 / Verilog-A default incl. F_min. Ambient 300 K assumed.

Usage (from the repository root): ``python docs/scripts/fit_stanford_1t1r_set.py``.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
from scipy.optimize import least_squares

sys.path.insert(0, str(Path(__file__).resolve().parent))  # _common
from _common import holdout_tables, parse_args, pyplot, rmse_table, save_figure, stamp, toml_bool

from devicelib import get_model

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT.parent / "shared" / "data" / "stanford-1t1r-pulse-sweeps" / "set_sweep.tsv"
OUT = ROOT / "models" / "vcm" / "stanford1t1r_set_fit.toml"
FIGURE = ROOT / "docs" / "figures" / "vcm_1t1r_set_fit.png"
V_READ = 0.2
FIT_WIDTHS = (2e-8, 1e-7, 4e-7)
READS = ROOT.parent / "shared" / "data" / "stanford-nirram-endurance" / "ret1.csv"


def read_noise(path: Path) -> dict:
    """Relative read noise of one cell from 10,000 consecutive reads (ret1.csv: addr, time, R, G, I, V)."""
    d = np.loadtxt(path, delimiter=",")
    g = d[:, 3]
    return {"rel": float(g.std() / g.mean()), "rel_white": float(np.diff(g).std() / np.sqrt(2) / g.mean()),
            "r_mean": float(1 / g.mean()), "v_read": float(np.median(d[:, 5])), "n": int(g.size),
            "duration": float(d[:, 1].max() - d[:, 1].min())}


def read_map(path: Path) -> dict[str, np.ndarray]:
    """Median R_before / R_after (ohm) per (width, V_WL, V_BL) condition, and the number of cells."""
    d = np.loadtxt(path)
    w, vwl, vbl, r0, r1 = d[:, 1], d[:, 2], d[:, 3], d[:, 4], d[:, 5]
    keys, inv = np.unique(np.round(np.c_[w * 1e9, vwl, vbl], 6), axis=0, return_inverse=True)
    inv = inv.ravel()
    med0 = np.array([np.median(r0[inv == k]) for k in range(len(keys))])
    med1 = np.array([np.median(r1[inv == k]) for k in range(len(keys))])
    cells = np.bincount(inv)
    return {"width": keys[:, 0] * 1e-9, "v_wl": keys[:, 1], "v_bl": keys[:, 2], "r_before": med0,
            "r_after": med1, "cells": cells}


def predict(model, m: dict, sel: np.ndarray) -> np.ndarray:
    """R_after (ohm) of the model for the conditions ``sel`` (one vectorised pulse over all of them)."""
    dev = model.with_params(V_g=m["v_wl"][sel])
    st = dev.state_from_conductance(1.0 / m["r_before"][sel], V_READ)
    out = dev.apply_pulse(st, m["v_bl"][sel], m["width"][sel], 300.0)
    return 1.0 / dev.conductance(out, V_READ)


def _model(base, x):
    return base.with_params(I0=10 ** x[0], nu0=10 ** x[1], k_T=10 ** x[2], V_th_T=x[3])


def fit(m: dict) -> dict:
    base = get_model("vcm.jiang2016_hfox")
    sel_fit = np.isin(np.round(m["width"] * 1e9), np.round(np.array(FIT_WIDTHS) * 1e9))
    sel_hold = ~sel_fit

    def resid(x):
        return np.log10(predict(_model(base, x), m, sel_fit)) - np.log10(m["r_after"][sel_fit])

    sol = least_squares(resid, [np.log10(1e-3), 1.0, np.log10(4e-4), 0.5], x_scale=[0.5, 1, 0.5, 0.2],
                        bounds=([-6, -6, -6, 0.0], [0, 6, -1, 1.5]), max_nfev=300)
    model = _model(base, sol.x)
    pred = np.empty_like(m["r_after"])
    pred[sel_fit], pred[sel_hold] = predict(model, m, sel_fit), predict(model, m, sel_hold)
    res_fit = np.log10(pred[sel_fit] / m["r_after"][sel_fit])
    res_hold = np.log10(pred[sel_hold] / m["r_after"][sel_hold])
    dof = max(res_fit.size - 4, 1)
    s2 = float(np.sum(res_fit**2) / dof)
    cov = np.linalg.pinv(sol.jac.T @ sol.jac) * s2
    se = np.sqrt(np.diag(cov))
    values = {"I0": 10 ** sol.x[0], "nu0": 10 ** sol.x[1], "k_T": 10 ** sol.x[2], "V_th_T": sol.x[3]}
    stderr = {"I0": values["I0"] * np.log(10) * se[0], "nu0": values["nu0"] * np.log(10) * se[1],
              "k_T": values["k_T"] * np.log(10) * se[2], "V_th_T": se[3]}
    return {"values": values, "stderr": stderr, "pred": pred, "sel_fit": sel_fit,
            "rmse_fit": float(np.sqrt(np.mean(res_fit**2))), "rmse_hold": float(np.sqrt(np.mean(res_hold**2))),
            "n_fit": int(res_fit.size), "n_hold": int(res_hold.size), "redchi": s2,
            "converged": bool(sol.success), "cells": int(m["cells"].sum()),
            "g_range": (float(1 / m["r_before"].max()), float(1 / m["r_after"].min()))}


def card_text(f: dict, noise: dict) -> str:
    v, se = f["values"], f["stderr"]
    return f'''schema_version = 1
name = "vcm.stanford1t1r_set_fit"
model = "vcm.stanford_pku"
title = "1T1R oxide RRAM (Stanford test chip): Stanford/PKU cell with its access transistor, fitted to the measured SET map"
kind = "fitted"
notes = "Fitted by docs/scripts/fit_stanford_1t1r_set.py to the medians of the SET map (one pulse per cell) over widths 20, 100, 400 ns x V_WL 0.5-3.4 V x V_BL 0.5-3.0 V; widths 40 and 200 ns are held out. SET only: RESET (reset_sweep.tsv), read noise and bake retention were not fitted, so use the card for SET pulses. The transistor is the square-law model of devicelib.circuit (no channel-length modulation, body effect neglected); V_g below is a default gate voltage inside the fitted grid: set it per use (the word-line voltage). The model's gap floor (g_min) caps the lowest resistance at ~6.8 kOhm, where the chip keeps falling to ~5.8 kOhm at V_WL 3 V. Ambient 300 K assumed (not recorded). Stack not stated by the data source: the HfOx defaults of Jiang 2016 are kept for every value not varied."

[provenance]
citation = "Stanford 1T1R RRAM test chip data (Anjiang-Wei/Anjiang-RRAM-Python fork of Akash Levy's NI-RRAM test code, MIT licence, data/set_sweep.tsv); model: Z. Jiang et al., IEEE TED 63, 1884 (2016)"
doi = "10.1109/TED.2016.2545412"
where = "set_sweep.tsv: addr, width, V_WL, V_BL, R_before, R_after; read V_BL 0.2 V (settings/default.json)"
data = "../shared/data/stanford-1t1r-pulse-sweeps/set_sweep.tsv"
script = "docs/scripts/fit_stanford_1t1r_set.py"

[parameters]
I0 = {{ value = {v["I0"]:.17g}, unit = "A", stderr = {se["I0"]:.3g}, source = "fitted" }}
nu0 = {{ value = {v["nu0"]:.17g}, unit = "m/s", stderr = {se["nu0"]:.3g}, source = "fitted" }}
k_T = {{ value = {v["k_T"]:.17g}, unit = "A/V^2", stderr = {se["k_T"]:.3g}, source = "fitted (transistor mu C_ox W/L)" }}
V_th_T = {{ value = {v["V_th_T"]:.17g}, unit = "V", stderr = {se["V_th_T"]:.3g}, source = "fitted (transistor threshold)" }}
V_g = {{ value = 1.5, unit = "V", estimate = "basis: a word-line voltage inside the fitted grid (0.5-3.4 V); set per use" }}
R_s = {{ value = 0.0, unit = "ohm", source = "not separated from the transistor in this fit" }}
I_cc = {{ value = 0.0, unit = "A", source = "the transistor is the compliance (no source limit)" }}
g0 = {{ value = 0.25, unit = "nm", source = "Jiang 2016 Verilog-A default, held" }}
V0 = {{ value = 0.25, unit = "V", source = "Jiang 2016 Verilog-A default, held" }}
Ea = {{ value = 0.6, unit = "eV", source = "Jiang 2016 Verilog-A default, held" }}
a0 = {{ value = 0.25, unit = "nm", source = "Jiang 2016 Verilog-A default, held" }}
gamma0 = {{ value = 16.0, unit = "", source = "Jiang 2016 Verilog-A default, held" }}
beta = {{ value = 0.8, unit = "", source = "Jiang 2016 Verilog-A default, held" }}
g1 = {{ value = 1.0, unit = "nm", source = "Jiang 2016 Verilog-A default, held" }}
t_ox = {{ value = 12.0, unit = "nm", source = "Jiang 2016 Verilog-A default, held" }}
R_th = {{ value = 2100.0, unit = "K/W", source = "Jiang 2016 Verilog-A default, held" }}
g_min = {{ value = 0.2, unit = "nm", source = "Jiang 2016 Verilog-A default, held" }}
g_max = {{ value = 1.7, unit = "nm", source = "Jiang 2016 Verilog-A default, held" }}
F_min = {{ value = 1.4e9, unit = "V/m", source = "Jiang 2016 Verilog-A default, held" }}

[operating]
amplitude = {{ value = 2.0, unit = "V", estimate = "basis: a bit-line SET voltage inside the fitted grid that SETs the cells (with V_g = 1.5 V: ~7 kOhm after 100 ns)" }}
width = {{ value = 100, unit = "ns", source = "a fitted width of the map" }}
read_voltage = {{ value = {V_READ}, unit = "V", source = "READ V_BL 0.2 V (settings/default.json)" }}

[validity]
amplitude = {{ min = 0.5, max = 3.0, unit = "V" }}
width = {{ min = 2e-8, max = 4e-7, unit = "s" }}
temperature = {{ min = 295.0, max = 305.0, unit = "K" }}
read_voltage = {{ min = {V_READ}, max = {V_READ}, unit = "V" }}
conductance = {{ min = {f["g_range"][0]:.6g}, max = {f["g_range"][1]:.6g}, unit = "S" }}

[variability]
read = {noise["rel"]:.4g}  # relative sigma of {noise["n"]} consecutive reads of one cell at {noise["r_mean"] / 1e3:.1f} kOhm over {noise["duration"]:.0f} s (stanford-nirram-endurance/ret1.csv, read at {noise["v_read"] * 1e3:.0f} mV; white part from successive differences {noise["rel_white"]:.4g}); measured on the NI-RRAM chip of the same group, not on the SET-map chip

[fit]
data = "../shared/data/stanford-1t1r-pulse-sweeps/set_sweep.tsv"
method = "least_squares (scipy, trust-region reflective) on log10 of the per-condition median R_after"
varied = ["I0", "nu0", "k_T", "V_th_T"]
converged = {toml_bool(f["converged"])}
ndata = {f["n_fit"]}
cells = {f["cells"]}
redchi = {f["redchi"]:.4g}
residual = "log10(R_model / R_measured) of the condition medians"
{stamp()}

{rmse_table("fit.rmse", f["rmse_fit"])}

{holdout_tables("fit.holdout", f'the 40 ns and 200 ns columns of the map ({f["n_hold"]} conditions), not used in the fit', f["n_hold"], f["rmse_hold"])}
'''


def figure(m: dict, f: dict) -> None:
    plt = pyplot()

    fig, axes = plt.subplots(1, 2, figsize=(10, 3.8), sharey=True)
    for ax, w in zip(axes, (1e-7, 2e-7), strict=True):
        for j, vbl in enumerate((1.0, 1.5, 2.0, 3.0)):
            s = np.isclose(m["width"], w) & np.isclose(m["v_bl"], vbl)
            ax.semilogy(m["v_wl"][s], m["r_after"][s], "o", ms=3, mfc="none", color=f"C{j}",
                        label=f"measured, V_BL {vbl:g} V")
            ax.semilogy(m["v_wl"][s], f["pred"][s], "-", color=f"C{j}")
        held = "held out" if not np.isclose(FIT_WIDTHS, w).any() else "fitted"
        ax.set(xlabel="word-line (gate) voltage V_WL (V)", title=f"{w * 1e9:g} ns SET pulse ({held}); lines: model")
    axes[0].set_ylabel("R after the pulse, median (ohm)")
    axes[0].legend(fontsize=7)
    fig.suptitle(f"vcm.stanford1t1r_set_fit: fit RMSE {f['rmse_fit']:.3f} dex, held-out {f['rmse_hold']:.3f} dex",
                 fontsize=10)
    save_figure(fig, FIGURE, dpi=110)


def main(argv=None) -> int:
    args = parse_args(__doc__, argv, OUT, data=DATA)
    m = read_map(args.data)
    f = fit(m)
    args.out.write_text(card_text(f, read_noise(READS)), encoding="utf-8")
    if not args.no_figure:
        figure(m, f)
    print(f"wrote {args.out}: fit RMSE {f['rmse_fit']:.3f} dex on {f['n_fit']} conditions, held-out RMSE "
          f"{f['rmse_hold']:.3f} dex on {f['n_hold']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
