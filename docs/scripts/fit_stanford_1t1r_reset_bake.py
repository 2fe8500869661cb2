# ruff: noqa: E501  (the card template below holds TOML lines longer than the code limit)
"""Confront the fitted 1T1R SET card with the measured RESET map and the bakes; write the combined SET+RESET
card models/vcm/stanford1t1r_fit.toml, docs/figures/vcm_1t1r_reset_bake.png and vcm_1t1r_bake_arrhenius.png.

Data (../shared/data/stanford-1t1r-pulse-sweeps/, same chip as set_sweep.tsv, MIT licence):

- reset_sweep.tsv: one RESET pulse per cell (source line driven: negative on the cell), width 20, 40, 100,
  200, 400 ns x V_WL 0.5-3.4 V x V_SL 0.5-3.0 V, R read at 0.2 V before and after. The cells start at
  ~9.4 kOhm (the SET state) and the map contains no RESET: the median log10(R_after/R_before) per
  condition stays within -0.04..+0.01 dex (cell-to-cell sigma 0.014 dex).
- prebake{85,110,130}.tsv / postbake*.tsv: R of 16,384 cells before and after a bake at 85/110/130 C
  (bake time not recorded).

RESET method: per condition the medians over its ~26 cells (as the SET fit). The SET card
(vcm.stanford1t1r_set_fit, every value held) predicts each RESET condition: start at the gap that reads
the median R_before, one pulse of -V_SL through the transistor with V_G = V_WL (source degeneration:
V_GS = V_G - |V_cell|, devicelib.circuit), read at 0.2 V. It predicts a full RESET (+2.5 dex) wherever
V_WL >= ~2.1 V and V_SL >= 2 V, which the chip does not show. A joint fit of the four SET parameters to
both maps does not help (trial run, 100 evaluations: SET RMSE 0.06 -> 0.40 dex, RESET still 0.17 dex: the hopping law is symmetric
in V). The one element not shared between the polarities is the transistor threshold: in RESET the
source node rises to |V_cell| and the body effect (neglected by the square-law circuit) raises V_th.
So V_th_T for negative pulses is fitted alone (bisection for the smallest value on the RMSE plateau) to
the 20, 100, 400 ns columns (540 conditions) and the 40, 200 ns columns (360 conditions) are predicted. Because the map
holds no RESET, the fitted value is only a lower bound: any larger threshold fits as well.

Bake method: per temperature the distribution of log10(R_post/R_pre) over the 16,384 cells (statistics), then
the retention law. The bake times are not recorded: ASSUMED equal, T_BAKE = 1 h. Over all cells the median drift
falls with temperature (85 C: +0.38 dex; 110 and 130 C: +0.005 and +0.003 dex), but the 85 C jump is confined to
the half of the array whose address bits 11 and 12 differ (99 % vs 3 %): selected by address, not temperature, so
that half is excluded. On the other half the per-level spread of dG = G_post - G_pre (32 programmed levels, read
noise removed) grows with temperature while the mean shift is not ordered, so the law is an Arrhenius random walk
(devicelib.physics.relaxation.ArrheniusBroadening): var = d(level) t_bake exp[-Ea/kB (1/T - 1/T_ref)], fitted on
85 and 110 C, 130 C predicted (and each bake held out in turn). With equal durations Ea does not depend on
T_BAKE; the rates scale as 1/T_BAKE. Figure: docs/figures/vcm_1t1r_bake_arrhenius.png.

Usage (from the repository root): ``python docs/scripts/fit_stanford_1t1r_reset_bake.py``.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))  # _common and the SET script
from _common import holdout_tables, parse_args, pyplot, rmse_table, save_figure, stamp, toml_bool
from fit_stanford_1t1r_set import FIT_WIDTHS, read_map

from devicelib.catalog import load_card

ROOT = Path(__file__).resolve().parents[2]
DATA_DIR = ROOT.parent / "shared" / "data" / "stanford-1t1r-pulse-sweeps"
SET_CARD = ROOT / "models" / "vcm" / "stanford1t1r_set_fit.toml"
OUT = ROOT / "models" / "vcm" / "stanford1t1r_fit.toml"
FIGURE = ROOT / "docs" / "figures" / "vcm_1t1r_reset_bake.png"
BAKE_FIGURE = ROOT / "docs" / "figures" / "vcm_1t1r_bake_arrhenius.png"
V_READ = 0.2
T_AMB = 300.0
BAKES = (85, 110, 130)  # C
V_TH_MAX = 3.4  # V: the highest word-line voltage of the map
TOL = 1e-3  # dex above the plateau RMSE that still counts as on it
SPLIT = 20e3  # ohm: SET state (~8-10 kOhm) below, higher states above


def predict_reset(model, m: dict, sel: np.ndarray, v_th_reset: float | None = None) -> np.ndarray:
    """R_after (ohm) for RESET conditions ``sel`` (-V_SL on the cell, V_G = V_WL), optionally with the
    transistor threshold of the RESET polarity."""
    kw = {"V_g": m["v_wl"][sel]}
    if v_th_reset is not None:
        kw["V_th_T"] = v_th_reset
    dev = model.with_params(**kw)
    st = dev.state_from_conductance(1.0 / m["r_before"][sel], V_READ)
    out = dev.apply_pulse(st, -m["v_sl"][sel], m["width"][sel], T_AMB)
    return 1.0 / dev.conductance(out, V_READ)


def read_reset(path: Path) -> dict:
    m = read_map(path)
    m["v_sl"] = m.pop("v_bl")
    return m


def _rmse(x) -> float:
    return float(np.sqrt(np.mean(np.asarray(x) ** 2)))


def reset_analysis(model, m: dict) -> dict:
    sel_fit = np.isin(np.round(m["width"] * 1e9), np.round(np.array(FIT_WIDTHS) * 1e9))
    sel_hold = ~sel_fit
    every = np.ones_like(sel_fit)
    meas = np.log10(m["r_after"])
    card_pred = predict_reset(model, m, every)
    v_th_set = float(model.params["V_th_T"])

    def rmse(v):
        return _rmse(np.log10(predict_reset(model, m, sel_fit, v)) - meas[sel_fit])

    # the cost falls to a plateau (no RESET anywhere in the map) and stays flat: the fitted value is the
    # smallest threshold on the plateau (within TOL dex), found by bisection, i.e. a lower bound
    plateau = rmse(V_TH_MAX)
    lo, hi = v_th_set, V_TH_MAX
    for _ in range(30):
        mid = 0.5 * (lo + hi)
        lo, hi = (lo, mid) if rmse(mid) <= plateau + TOL else (mid, hi)
        if hi - lo < 1e-3:
            break
    v_th = hi
    pred = np.empty_like(meas)
    pred[sel_fit] = predict_reset(model, m, sel_fit, v_th)
    pred[sel_hold] = predict_reset(model, m, sel_hold, v_th)
    res = np.log10(pred) - meas
    res_card = np.log10(card_pred) - meas
    d = np.loadtxt(DATA_DIR / "reset_sweep.tsv")
    cell_dlog = np.log10(d[:, 5] / d[:, 4])
    return {"v_th": v_th, "pred": pred, "card_pred": card_pred, "sel_fit": sel_fit,
            "rmse_fit": _rmse(res[sel_fit]), "rmse_hold": _rmse(res[sel_hold]),
            "rmse_card": _rmse(res_card), "max_card": float(np.max(np.abs(res_card))),
            "n_fit": int(sel_fit.sum()), "n_hold": int(sel_hold.sum()), "cells": int(m["cells"].sum()),
            "meas_dlog_rmse": _rmse(np.log10(m["r_after"] / m["r_before"])),
            "meas_dlog_min": float(np.min(np.log10(m["r_after"] / m["r_before"]))),
            "meas_dlog_max": float(np.max(np.log10(m["r_after"] / m["r_before"]))),
            "cell_sigma": float(np.std(cell_dlog)), "converged": bool(hi - lo < 1e-3), "plateau": plateau,
            "r_before": float(np.median(m["r_before"]))}


def bake_stats(data_dir: Path = DATA_DIR) -> dict[int, dict]:
    """log10(R_post/R_pre) statistics per bake temperature (all cells; cells below / above 20 kOhm)."""
    out = {}
    for t in BAKES:
        pre, post = np.loadtxt(data_dir / f"prebake{t}.tsv"), np.loadtxt(data_dir / f"postbake{t}.tsv")
        if not np.array_equal(pre[:, 0], post[:, 0]):
            raise ValueError(f"prebake{t}.tsv / postbake{t}.tsv: the cell addresses differ")
        r0, r1 = pre[:, 1], post[:, 1]
        dl = np.log10(r1 / r0)
        low = r0 < SPLIT
        out[t] = {"cells": int(r0.size), "median": float(np.median(dl)), "mean": float(dl.mean()),
                  "sigma": float(dl.std()), "iqr": float(np.subtract(*np.percentile(dl, [75, 25]))),
                  "frac_2x": float(np.mean(r1 > 2 * r0)), "median_low": float(np.median(dl[low])),
                  "median_high": float(np.median(dl[~low])), "frac_low": float(low.mean()),
                  "r_pre": float(np.median(r0)), "r_post": float(np.median(r1)), "dlog": dl, "r0": r0}
    return out


K_B = 8.617333262e-5  # eV/K
T_BAKE = 3600.0  # s: ASSUMED bake duration (not recorded), equal at 85, 110 and 130 C
T_REF = BAKES[0] + 273.15  # K: reference temperature of the fitted rates (the 85 C bake)
SIGMA_READ = 0.0169  # relative read noise per read ([variability] read, stanford-nirram-endurance/ret1.csv)
N_LEVELS = 32  # the bake pattern: 32 conductance targets cycling with (addr / 2) mod 32
FIT_BAKES = (85, 110)  # fitted; 130 C held out
HOLD_BAKE = 130


def anomalous_block(addr: np.ndarray) -> np.ndarray:
    """Cells whose address bits 11 and 12 differ: after the 85 C bake 99 % of them read at ~0.2-6 MOhm with no
    memory of their level (corr(pre, post) = 0.00), against 3 % of the other half. A uniform bake cannot
    pick cells by an address bit, so this half is excluded from the retention law (statistics kept)."""
    a = addr.astype(np.int64)
    return ((a >> 11) & 1) != ((a >> 12) & 1)


def bake_levels(data_dir: Path = DATA_DIR, sigma_read: float = SIGMA_READ) -> dict:
    """Per programmed level and bake: mean G0 and the excess variance of dG = G_post - G_pre (S^2).

    Excess = var(dG) - 2 sigma_read^2 <G0^2> (one read before and one after); its standard error is
    var(dG) sqrt(2/(n-1)). Only cells outside :func:`anomalous_block`."""
    out = {"g0": np.zeros((N_LEVELS, len(BAKES))), "var": np.zeros((N_LEVELS, len(BAKES))),
           "se": np.zeros((N_LEVELS, len(BAKES))), "mean_dg": np.zeros((N_LEVELS, len(BAKES))),
           "g0_median": np.zeros((N_LEVELS, len(BAKES))),
           "n": np.zeros((N_LEVELS, len(BAKES)), dtype=int), "T": np.array(BAKES) + 273.15}
    for j, t in enumerate(BAKES):
        pre, post = np.loadtxt(data_dir / f"prebake{t}.tsv"), np.loadtxt(data_dir / f"postbake{t}.tsv")
        if not np.array_equal(pre[:, 0], post[:, 0]):
            raise ValueError(f"prebake{t}.tsv / postbake{t}.tsv: the cell addresses differ")
        keep = ~anomalous_block(pre[:, 0])
        level = (pre[:, 0].astype(np.int64) // 2) % N_LEVELS
        g0, g1 = 1.0 / pre[:, 1], 1.0 / post[:, 1]
        for lv in range(N_LEVELS):
            s = keep & (level == lv)
            dg = g1[s] - g0[s]
            v = dg.var(ddof=1)
            out["g0"][lv, j] = g0[s].mean()
            out["g0_median"][lv, j] = np.median(g0[s])  # the level's coordinate (a few outliers move the mean)
            out["var"][lv, j] = v - 2.0 * sigma_read**2 * np.mean(g0[s] ** 2)
            out["se"][lv, j] = v * np.sqrt(2.0 / (s.sum() - 1))
            out["mean_dg"][lv, j] = dg.mean()
            out["n"][lv, j] = s.sum()
    return out


def fit_arrhenius(lv: dict, fit: tuple = FIT_BAKES, t_bake: float = T_BAKE, ea_fixed: float | None = None) -> dict:
    """Least-squares fit of var_excess(level, T) = d(level) t_bake exp[-Ea/kB (1/T - 1/T_ref)] to the bakes
    ``fit`` (one Ea shared by all levels, one rate per level), each residual divided by its standard error;
    the other bakes are predicted. ``ea_fixed`` holds Ea (0: the temperature-independent null model)."""
    from scipy.optimize import least_squares

    cols = [BAKES.index(t) for t in fit]
    T = lv["T"]
    v, se = lv["var"][:, cols], lv["se"][:, cols]

    def full(p):
        return p if ea_fixed is None else np.r_[ea_fixed, p]

    def model(p, tt):
        p = full(p)
        return np.exp(p[1:, None]) * np.exp(-p[0] / K_B * (1.0 / tt[None, :] - 1.0 / T_REF))

    def resid(p):
        return ((model(p, T[cols]) - v) / se).ravel()

    x0 = np.log(np.maximum(lv["var"][:, cols[0]], 1e-15))
    res = least_squares(resid, x0 if ea_fixed is not None else np.r_[0.1, x0], method="trf", x_scale="jac")
    dof = res.fun.size - res.x.size
    redchi = float(np.sum(res.fun**2) / dof) if dof > 0 else float("nan")
    cov = np.linalg.pinv(res.jac.T @ res.jac) * (redchi if dof > 0 else 1.0)
    pred = model(res.x, T)
    x = full(res.x)
    out = {"Ea": float(x[0]), "Ea_stderr": float(np.sqrt(cov[0, 0])) if ea_fixed is None else 0.0,
           "rate_ref": np.exp(x[1:]) / t_bake,
           "pred": pred, "redchi": redchi, "ndata": int(res.fun.size), "nvary": int(res.x.size),
           "converged": bool(res.success), "fit": tuple(fit)}
    for j, t in enumerate(BAKES):
        sd_pred, sd_meas = np.sqrt(pred[:, j]), np.sqrt(np.maximum(lv["var"][:, j], 0.0))
        out[t] = {"rmse_sd": float(np.sqrt(np.mean((sd_pred - sd_meas) ** 2))),
                  "rel_rmse_sd": float(np.sqrt(np.mean((sd_pred / np.maximum(sd_meas, 1e-12) - 1.0) ** 2))),
                  "chi2n": float(np.mean(((pred[:, j] - lv["var"][:, j]) / lv["se"][:, j]) ** 2)),
                  "held_out": t not in fit}
    return out


def bake_fits(data_dir: Path = DATA_DIR) -> dict:
    """The card's law (85 + 110 C fitted, 130 C held out), the other two hold-outs, all three, no read-noise
    correction (sensitivity), and the mean shifts per bake."""
    lv = bake_levels(data_dir)
    law = fit_arrhenius(lv)
    loo = {t: fit_arrhenius(lv, tuple(b for b in BAKES if b != t)) for t in BAKES}
    every = fit_arrhenius(lv, BAKES)
    raw = fit_arrhenius(bake_levels(data_dir, sigma_read=0.0))
    null = fit_arrhenius(lv, ea_fixed=0.0)
    pre, post = np.loadtxt(data_dir / "prebake85.tsv"), np.loadtxt(data_dir / "postbake85.tsv")
    odd = anomalous_block(pre[:, 0])
    moved = np.log10(post[:, 1] / pre[:, 1]) > 0.3
    p5, p95 = np.percentile(post[odd, 1], [5, 95])
    block85 = (float(moved[~odd].mean()), float(moved[odd].mean()),
               float(np.corrcoef(np.log10(pre[odd, 1]), np.log10(post[odd, 1]))[0, 1]), float(p5), float(p95))
    mean_shift = (lv["mean_dg"] * lv["n"]).sum(0) / lv["n"].sum(0)
    return {"levels": lv, "law": law, "loo": loo, "all": every, "no_read_noise": raw, "null": null,
            "block85": block85, "mean_shift": mean_shift}


def card_text(set_text: str, r: dict, b: dict[int, dict], f: dict) -> str:
    """The SET card's text with the combined name, title and notes and the RESET and bake tables appended."""
    law = f["law"]
    notes = (
        "One card for the Stanford 1T1R chip's SET map, RESET map, read noise and bakes. SET: the parameters below, "
        "fitted by docs/scripts/fit_stanford_1t1r_set.py (identical to vcm.stanford1t1r_set_fit; widths 40 and 200 ns held out). "
        f"RESET (docs/scripts/fit_stanford_1t1r_reset_bake.py, [fit.reset]): the measured RESET map (V_SL 0.5-3 V, V_WL 0.5-3.4 V, 20-400 ns, cells at ~{r['r_before'] / 1e3:.1f} kOhm) contains no RESET "
        f"(condition medians of log10 R_after/R_before within {r['meas_dlog_min']:+.3f}..{r['meas_dlog_max']:+.3f} dex); with every SET value shared the card predicts a full RESET at V_WL >= ~2.1 V, V_SL >= 2 V "
        f"(RMSE {r['rmse_card']:.2f} dex over the map). Shared between SET and RESET: every cell value and the transistor's k_T; not shared: the transistor threshold, "
        f"which for RESET (source node lifted to |V_cell|, body effect) is >= {r['v_th']:.2f} V (fitted lower bound, [fit.reset]; set V_th_T to it for negative pulses). "
        "So RESET within 3 V / 400 ns is 'no change' on this chip; the card has no RESET operating point (the chip's own RESET settings use V_SL 3-3.5 V and 1-100 us, outside the maps). "
        f"Bakes ([fit.retention]): bake time not recorded, ASSUMED {T_BAKE / 3600:g} h at each temperature. Half of the cells (address bits 11 and 12 differ) lost their level in the 85 C bake "
        f"({100 * f['block85'][1]:.0f} % of them vs {100 * f['block85'][0]:.0f} % of the other half moved > 0.3 dex, to {f['block85'][3] / 1e6:.1f}-{f['block85'][4] / 1e6:.0f} MOhm): an address-selected event a uniform bake cannot make, excluded from the law. "
        f"On the other half the spread of G_post - G_pre beyond read noise grows with temperature as an Arrhenius random walk (devicelib.physics.relaxation.ArrheniusBroadening, "
        f"per-level rate, one Ea): Ea = {law['Ea']:.3f} +- {law['Ea_stderr']:.3f} eV fitted to 85 and 110 C; the held-out 130 C spread per level is predicted within {100 * law[HOLD_BAKE]['rel_rmse_sd']:.0f} % RMS "
        f"({law[HOLD_BAKE]['rmse_sd'] * 1e6:.2f} uS; temperature-independent null model {100 * f['null'][HOLD_BAKE]['rel_rmse_sd']:.0f} %). Ea does not depend on the assumed duration (equal at the three bakes); the rates scale as 1/duration. "
        "The mean shifts are not Arrhenius-ordered (see mean_shift), so the law has no drift term. The VCM model's own relax stays the identity: wrap it in devicelib.physics.relaxation.BakedDevice with ArrheniusBroadening.from_fit([fit.retention]). "
        "Read noise as in the SET card (1.69 %). The transistor is the square-law model of devicelib.circuit; V_g is a default word-line voltage (set per use). "
        "Ambient 300 K assumed (not recorded). Stack not stated by the data source: the HfOx defaults of Jiang 2016 are kept for every value not varied."
    )
    text = re.sub(r'^name = ".*"$', 'name = "vcm.stanford1t1r_fit"', set_text, count=1, flags=re.M)
    text = re.sub(r'^title = ".*"$', 'title = "1T1R oxide RRAM (Stanford test chip): Stanford/PKU cell with its access transistor, SET map fitted, RESET map and bakes confronted"',
                  text, count=1, flags=re.M)
    text = re.sub(r'^notes = ".*"$', lambda _m: f'notes = "{notes}"', text, count=1, flags=re.M)
    text = text.replace('where = "set_sweep.tsv: addr, width, V_WL, V_BL, R_before, R_after;',
                        'where = "set_sweep.tsv and reset_sweep.tsv: addr, width, V_WL, V_BL or V_SL, R_before, R_after; prebake/postbake{85,110,130}.tsv: addr, R;')
    text = text.replace('script = "docs/scripts/fit_stanford_1t1r_set.py"',
                        'script = "docs/scripts/fit_stanford_1t1r_set.py, docs/scripts/fit_stanford_1t1r_reset_bake.py"')
    text += f'''
[fit.reset]
data = "../shared/data/stanford-1t1r-pulse-sweeps/reset_sweep.tsv"
method = "RESET map condition medians predicted with every SET value held (card as is); then the transistor threshold of the RESET polarity alone fitted to the 20, 100, 400 ns columns: the RMSE falls to a plateau (no RESET predicted anywhere) and stays flat, so the value is the smallest threshold within 0.001 dex of the plateau (bisection on {float(r['v_th_set']):.3f}-3.4 V), a lower bound"
varied = ["V_th_T (RESET polarity only)"]
shared = ["I0", "nu0", "k_T", "g0", "V0", "Ea", "a0", "gamma0", "beta", "g1", "t_ox", "R_th", "g_min", "g_max", "F_min"]
converged = {toml_bool(r["converged"])}
ndata = {r["n_fit"]}
cells = {r["cells"]}
residual = "log10(R_model / R_measured) of the condition medians"
measured_change_rmse = {{ value = {r["meas_dlog_rmse"]:.4g}, unit = "", note = "RMSE of log10(R_after/R_before) of the condition medians: the chip does not RESET in this map" }}
cell_sigma = {{ value = {r["cell_sigma"]:.4g}, unit = "", note = "sigma of log10(R_after/R_before) over all cells (read noise and cell-to-cell)" }}
card_rmse = {{ value = {r["rmse_card"]:.4g}, unit = "", note = "every SET value shared (V_th_T = {r['v_th_set']:.3f} V): the card predicts RESET where the chip shows none" }}
card_max_error = {{ value = {r["max_card"]:.4g}, unit = "" }}
V_th_T = {{ value = {r["v_th"]:.4g}, unit = "V", note = "fitted transistor threshold for negative (RESET) pulses; a lower bound, since any larger value fits as well (the map holds no RESET)" }}
{stamp()}

{rmse_table("fit.reset.rmse", r["rmse_fit"])}

{holdout_tables("fit.reset.holdout", f'the 40 ns and 200 ns columns of the RESET map ({r["n_hold"]} conditions), not used in the fit', r["n_hold"], r["rmse_hold"])}

[fit.retention]
data = "../shared/data/stanford-1t1r-pulse-sweeps/prebake{{85,110,130}}.tsv, postbake{{85,110,130}}.tsv"
method = "per bake and programmed level (32 targets, level = (addr / 2) mod 32; cells whose address bits 11 and 12 differ excluded) the variance of dG = G_post - G_pre minus the read noise of two reads (2 sigma_read^2 <G0^2>); least squares of var = d(level) t_bake exp[-Ea/kB (1/T - 1/T_ref)] on the 85 and 110 C bakes (64 points: one Ea, 32 rates; residuals divided by the standard error var sqrt(2/(n-1))); the 130 C bake predicted"
law = "Var[G(t) - G0] = d(G0) t exp[-Ea/kB (1/T - 1/T_ref)], zero mean (devicelib.physics.relaxation.ArrheniusBroadening; BakedDevice applies it in relax)"
assumption = "bake duration not recorded (no time information in the files or PROVENANCE.md; none found for this data set in the source repositories): ASSUMED {T_BAKE:g} s at each of the three temperatures. Ea depends only on the ratio of the spreads between temperatures and does not depend on the duration if the durations are equal; rate_ref scales as 1/t_bake (rate_ref x t_bake is what the data fix: for 10 min multiply rate_ref by 6, for 24 h divide by 24). Unequal durations would bias Ea by kB ln(t1/t2) / (1/T1 - 1/T2) per pair"
excluded = "cells whose address bits 11 and 12 differ (8192 of 16384): after the 85 C bake {100 * f['block85'][1]:.1f} % of them moved by > 0.3 dex to {f['block85'][3] / 1e6:.1f}-{f['block85'][4] / 1e6:.0f} MOhm (5-95 %) with corr(pre, post) {abs(f['block85'][2]):.2f} (no memory of the level), against {100 * f['block85'][0]:.1f} % of the other half: selected by address, not by temperature"
varied = ["Ea", "rate_ref (32 levels)"]
converged = {toml_bool(law["converged"])}
ndata = {law["ndata"]}
redchi = {law["redchi"]:.4g}
figure = "docs/figures/vcm_1t1r_bake_arrhenius.png"
Ea = {{ value = {law["Ea"]:.4g}, unit = "eV", stderr = {law["Ea_stderr"]:.2g} }}
T_ref = {{ value = {T_REF:.2f}, unit = "K", note = "reference temperature of rate_ref (the 85 C bake)" }}
t_bake = {{ value = {T_BAKE:g}, unit = "s", assumption = "not recorded; equal durations assumed (see assumption)" }}
sigma_read = {{ value = {SIGMA_READ}, unit = "", note = "relative read noise per read subtracted twice ([variability] read); without it Ea = {f['no_read_noise']['Ea']:.3f} eV" }}
g_levels = {{ value = [{", ".join(f"{x:.4g}" for x in f["levels"]["g0_median"].mean(1))}], unit = "S", note = "median G0 of the 32 programmed levels (kept cells, three bakes averaged)" }}
rate_ref = {{ value = [{", ".join(f"{x:.4g}" for x in law["rate_ref"])}], unit = "S^2/s", note = "variance rate per level at T_ref for the assumed t_bake" }}
mean_shift = {{ value = [{", ".join(f"{x:.4g}" for x in f["mean_shift"])}], unit = "S", note = "mean G_post - G_pre of the kept cells at 85, 110, 130 C: not ordered with temperature, so no drift term" }}

{rmse_table("fit.retention.rmse", np.sqrt(np.mean([law[t]["rmse_sd"] ** 2 for t in FIT_BAKES])), "S")}
note = "RMSE of the per-level standard deviation of dG (read noise removed), 85 and 110 C"

[fit.retention.holdout]
description = "the {HOLD_BAKE} C bake (32 levels), predicted from the 85 and 110 C fit"
ndata = {N_LEVELS}
chi2_per_point = {law[HOLD_BAKE]["chi2n"]:.4g}
relative_rmse = {{ value = {law[HOLD_BAKE]["rel_rmse_sd"]:.4g}, unit = "", note = "RMS of sigma_pred / sigma_meas - 1 over the levels" }}
null_relative_rmse = {{ value = {f["null"][HOLD_BAKE]["rel_rmse_sd"]:.4g}, unit = "", note = "same with Ea = 0 (temperature-independent spread), chi2 per point {f['null'][HOLD_BAKE]['chi2n']:.3g}" }}

{rmse_table("fit.retention.holdout.rmse", law[HOLD_BAKE]["rmse_sd"], "S")}

[fit.retention.other_holdouts]
description = "each bake held out in turn: Ea fitted to the other two and the held-out spread predicted"
'''
    for t in BAKES:
        o = f["loo"][t]
        text += (f'hold_{t}C = {{ value = {o[t]["rel_rmse_sd"]:.4g}, unit = "", note = "relative RMSE of the held-out sigma; '
                 f'Ea = {o["Ea"]:.4g} +- {o["Ea_stderr"]:.2g} eV from the other two" }}\n')
    text += (f'all_three = {{ value = {f["all"]["Ea"]:.4g}, unit = "eV", stderr = {f["all"]["Ea_stderr"]:.2g}, '
             f'note = "Ea fitted to all three bakes, redchi {f["all"]["redchi"]:.3g}" }}\n')
    for t in BAKES:
        s = b[t]
        text += f'''
[fit.retention.bake_{t}C]
temperature = {{ value = {t + 273.15:.2f}, unit = "K" }}
cells = {s["cells"]}
median_R_before = {{ value = {s["r_pre"]:.4g}, unit = "ohm" }}
median_R_after = {{ value = {s["r_post"]:.4g}, unit = "ohm" }}
median_dlog10R = {{ value = {s["median"]:.4g}, unit = "" }}
mean_dlog10R = {{ value = {s["mean"]:.4g}, unit = "" }}
sigma_dlog10R = {{ value = {s["sigma"]:.4g}, unit = "" }}
iqr_dlog10R = {{ value = {s["iqr"]:.4g}, unit = "" }}
fraction_R_doubled = {{ value = {s["frac_2x"]:.4g}, unit = "" }}
median_dlog10R_below_20k = {{ value = {s["median_low"]:.4g}, unit = "", note = "{100 * s['frac_low']:.0f} % of the cells start below 20 kOhm" }}
median_dlog10R_above_20k = {{ value = {s["median_high"]:.4g}, unit = "" }}
'''
    return text


def figure(m: dict, r: dict, b: dict[int, dict]) -> None:
    plt = pyplot()

    fig, axes = plt.subplots(1, 2, figsize=(10, 3.8))
    ax = axes[0]
    for j, vsl in enumerate((1.0, 2.0, 3.0)):
        s = np.isclose(m["width"], 2e-7) & np.isclose(m["v_sl"], vsl)
        ax.semilogy(m["v_wl"][s], m["r_after"][s], "o", ms=3, mfc="none", color=f"C{j}", label=f"measured, V_SL {vsl:g} V")
        ax.semilogy(m["v_wl"][s], r["card_pred"][s], ":", color=f"C{j}")
        ax.semilogy(m["v_wl"][s], r["pred"][s], "-", color=f"C{j}")
    ax.set(xlabel="word-line (gate) voltage V_WL (V)", ylabel="R after the pulse, median (ohm)",
           title=f"200 ns RESET (held out): dotted SET values, solid V_th(RESET) {r['v_th']:.2f} V", ylim=(3e3, 3e6))
    ax.title.set_fontsize(8)
    ax.legend(fontsize=7)
    ax = axes[1]
    bins = np.linspace(-1, 2.5, 141)
    for j, t in enumerate(BAKES):
        ax.hist(b[t]["dlog"], bins=bins, histtype="step", color=f"C{j}",
                label=f"{t} C: median {b[t]['median']:+.3f} dex, {100 * b[t]['frac_2x']:.0f} % doubled")
    ax.set(xlabel="log10(R after bake / R before)", ylabel="cells", yscale="log",
           title="bakes, all cells: the 85 C jump is the address-selected half")
    ax.title.set_fontsize(9)
    ax.legend(fontsize=7)
    fig.suptitle(f"vcm.stanford1t1r_fit: RESET fit RMSE {r['rmse_fit']:.3f} dex, held-out {r['rmse_hold']:.3f} dex "
                 f"(card with SET values: {r['rmse_card']:.2f} dex)", fontsize=10)
    save_figure(fig, FIGURE, dpi=110)


def bake_figure(f: dict) -> None:
    plt = pyplot()

    lv, law, null = f["levels"], f["law"], f["null"]
    g0 = lv["g0_median"].mean(1) * 1e6
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.8))
    ax = axes[0]
    for j, t in enumerate(BAKES):
        held = t not in FIT_BAKES
        ax.errorbar(g0, np.sqrt(np.maximum(lv["var"][:, j], 0)) * 1e6,
                    yerr=0.5 * lv["se"][:, j] / np.sqrt(np.maximum(lv["var"][:, j], 1e-15)) * 1e6,
                    fmt="o", ms=3, mfc="none" if held else f"C{j}", color=f"C{j}", lw=0.6,
                    label=f"{t} C measured" + (" (held out)" if held else ""))
        ax.plot(g0, np.sqrt(law["pred"][:, j]) * 1e6, "--" if held else "-", color=f"C{j}",
                label=f"{t} C Arrhenius law" + (" (predicted)" if held else " (fitted)"))
    j = BAKES.index(HOLD_BAKE)
    ax.plot(g0, np.sqrt(null["pred"][:, j]) * 1e6, ":", color="0.4", label=f"{HOLD_BAKE} C, Ea = 0 (null)")
    ax.set(xlabel="programmed level G0 (uS)", ylabel="sigma of G_post - G_pre, read noise removed (uS)",
           title=f"spread per level: fit 85+110 C, {HOLD_BAKE} C held out ({100 * law[HOLD_BAKE]['rel_rmse_sd']:.0f} % RMS)")
    ax.title.set_fontsize(9)
    ax.legend(fontsize=6.5, ncol=2)
    ax = axes[1]
    inv = 1.0 / (K_B * lv["T"])
    w = lv["n"][:, 0]
    tot = (lv["var"] * w[:, None]).sum(0) / w.sum()
    ax.semilogy(inv, tot * 1e12, "ko", mfc="none", label="measured (level-weighted mean)")
    xx = np.linspace(inv.min() - 0.3, inv.max() + 0.3, 50)
    for key, style, lab in (("law", "-", f"fit 85+110 C: Ea {law['Ea']:.3f} +- {law['Ea_stderr']:.3f} eV"),
                            ("all", ":", f"all three: Ea {f['all']['Ea']:.3f} +- {f['all']['Ea_stderr']:.3f} eV")):
        o = f[key]
        ref = (o["rate_ref"] * T_BAKE * w).sum() / w.sum()
        ax.semilogy(xx, ref * np.exp(-o["Ea"] * (xx - 1.0 / (K_B * T_REF))) * 1e12, style, color="C3", label=lab)
    ax.semilogy(inv, (law["pred"] * w[:, None]).sum(0) / w.sum() * 1e12, "x", color="C3", label="law (85+110 C fit)")
    for j, t in enumerate(BAKES):
        ax.annotate(f"{t} C", (inv[j], tot[j] * 1e12), textcoords="offset points", xytext=(4, 4), fontsize=7)
    ax.set(xlabel="1 / kB T (1/eV)", ylabel=f"excess variance per {T_BAKE / 3600:g} h bake (uS^2)",
           title=f"Arrhenius: duration assumed equal ({T_BAKE:g} s); Ea independent of it")
    ax.title.set_fontsize(9)
    ax.legend(fontsize=7)
    fig.suptitle("vcm.stanford1t1r_fit bakes: activated broadening of 32 programmed levels (half of the array; "
                 "the address-selected half excluded)", fontsize=9.5)
    save_figure(fig, BAKE_FIGURE, dpi=110)


def main(argv=None) -> int:
    args = parse_args(__doc__, argv, OUT)
    model = load_card(SET_CARD).model()
    m = read_reset(DATA_DIR / "reset_sweep.tsv")
    r = reset_analysis(model, m)
    r["v_th_set"] = float(model.params["V_th_T"])
    b = bake_stats()
    f = bake_fits()
    args.out.write_text(card_text(SET_CARD.read_text(encoding="utf-8"), r, b, f), encoding="utf-8")
    if not args.no_figure:
        figure(m, r, b)
        bake_figure(f)
    print(f"wrote {args.out}: RESET map with SET values {r['rmse_card']:.3f} dex; V_th(RESET) {r['v_th']:.3f} V: "
          f"fit {r['rmse_fit']:.4f} dex on {r['n_fit']}, held-out {r['rmse_hold']:.4f} dex on {r['n_hold']}; "
          + ", ".join(f"{t} C median {b[t]['median']:+.4f} dex" for t in BAKES)
          + f"; bakes: Ea {f['law']['Ea']:.4f} +- {f['law']['Ea_stderr']:.4f} eV (85+110 C), held-out {HOLD_BAKE} C sigma "
          f"{100 * f['law'][HOLD_BAKE]['rel_rmse_sd']:.1f} % RMS ({f['law'][HOLD_BAKE]['rmse_sd'] * 1e6:.3f} uS), "
          f"null {100 * f['null'][HOLD_BAKE]['rel_rmse_sd']:.1f} %")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
