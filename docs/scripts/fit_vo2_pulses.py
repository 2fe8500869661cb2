# ruff: noqa: E501  (the card template below holds TOML lines longer than the code limit)
"""Fit mott.thermal_switch to the VO2 10 ms voltage-pulse traces and write models/mott/galloni2024_vo2_pulse_fit.toml.

Data: ../shared/data/vo2-threshold-pulses/short_Vpulses_data/<V>V_0.01s_68.5C.csv (one 10 ms pulse of
4.0-6.5 V at 68.5 C stage temperature, SMU trace every 0.2 ms, then a 0.5 V read for ~100 ms; MIT licence,
Milstein Lab; devices of Galloni et al., PNAS 121 (2024), doi:10.1073/pnas.2318362121), read with
devicelib.fit.vo2 (threshold time = first time R falls to half its leading-edge value; on state at the
last full-amplitude sample; recovery tau of the 0.5 V read).

Method: the thermal switch is integrated through each pulse sample by sample (ThermalSwitch.apply_pulse
over each 0.2 ms interval, all amplitudes at once), starting at the stage temperature on the heating
branch; the SMU drives the device directly (no load resistor recorded: R_s = 0, an assumption; lead
resistance is absorbed in R_m). Least squares (scipy.optimize.least_squares, trust-region reflective) on
log10 R of the 49 full-amplitude samples of the pulses at 4.25-5.75 V (7 files); varied R0, R_m, Tc, C_th,
S_e; held: Ea at the DC-sweep card of the same film (mott.galloni2024_vo2_rv_fit), the transition
sharpness at the Qiu 2024 value, the hysteresis width at 0 (the device returns to its initial resistance
after every pulse that does not switch it, which a hysteresis loop around the stage temperature would
forbid). Held out: the pulses at 4.0, 6.0, 6.25 and 6.5 V (threshold time and trace predicted), and the
recovery after every pulse (model conductance decay at the 0.5 V read against the measured one).
Cross-check: the card's thermal time C_th/S_e against the conductance decay times of the other devices
in relaxation_timescales.xlsx (sheet "slow", 64 C, 10-70 mA steps).

Usage (from the repository root): ``python docs/scripts/fit_vo2_pulses.py [--data DIR]``.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
from scipy.optimize import least_squares

sys.path.insert(0, str(Path(__file__).resolve().parent))  # _common
from _common import holdout_tables, parse_args, pyplot, rmse_table, save_figure, stamp, toml_bool

from devicelib import get_model
from devicelib.fit.vo2 import exponential_tau, pulse_features, read_relaxation, read_vo2_pulses, relaxation_tau
from devicelib.fit.vo2 import threshold_time as _threshold_time
from devicelib.units import k_B

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT.parent / "shared" / "data" / "vo2-threshold-pulses"
PULSES = "short_Vpulses_data"
RELAX = "relaxation_timescales.xlsx"
OUT = ROOT / "models" / "mott" / "galloni2024_vo2_pulse_fit.toml"
FIGURE = ROOT / "docs" / "figures" / "mott_vo2_pulse_fit.png"
FIT_RANGE = (4.25, 5.75)  # V: amplitudes fitted; the others are held out
NAMES = ("R0", "R_m", "Tc", "C_th", "S_e")
READ_WINDOW = 0.02  # s of the 0.5 V read used for the recovery check (the decay is over by then)
DC_CARD = "mott.galloni2024_vo2_rv_fit"


def base_model():
    """The DC-sweep card with the pulse circuit: no compliance, no load, no hysteresis (see the docstring)."""
    return get_model(DC_CARD, I_cc=0.0, R_s=0.0, w_h=0.0)


def with_x(base, x):
    return base.with_params(R0=10 ** x[0], R_m=10 ** x[1], Tc=x[2], C_th=10 ** x[3], S_e=10 ** x[4])


def simulate(model, recs, read=True):
    """Resistance at the full-amplitude samples (n, k), at the read samples (n, m) and the peak temperature (n,).

    All records share one time base (checked); the pulse runs from the leading edge for the nominal width,
    then the read voltage is applied.
    """
    t = recs[0].pulse_time
    for r in recs:
        if r.pulse_time.shape != t.shape or not np.allclose(r.pulse_time, t):
            raise ValueError(f"{r.path.name}: sample times differ from {recs[0].path.name}")
    v = np.array([r.plateau_voltage for r in recs])
    t0 = recs[0].stage_temperature
    n = v.size
    p = model.params
    state = {"device_temperature": np.full(n, t0),
             "insulating_fraction": model._branch(p, np.full(n, t0), 1.0) * np.ones(n)}
    r_pulse, prev, t_peak = [], 0.0, np.full(n, t0)
    for tk in t:
        state = model.apply_pulse(state, v, tk - prev, t0)
        prev = tk
        t_peak = np.maximum(t_peak, state["_peak_temperature"])
        r_pulse.append(model.resistance(state))
    r_read = []
    if read:
        rec = recs[0]
        state = model.apply_pulse(state, v, rec.width - prev, t0)
        t_peak = np.maximum(t_peak, state["_peak_temperature"])
        prev = rec.width
        v_read = float(np.median(rec.voltage[rec.read_slice]))
        for tk in read_times(rec):
            state = model.apply_pulse(state, v_read, tk - prev, t0)
            prev = tk
            r_read.append(model.resistance(state))
    return np.array(r_pulse).T, np.array(r_read).T, t_peak


def read_times(rec):
    """Times of the read samples within READ_WINDOW after the pulse, from the leading edge (s)."""
    t = rec.time[rec.read_slice] - rec.time[rec.edge]
    return t[t <= rec.width + READ_WINDOW + 1e-9]


def split(recs):
    fit = [r for r in recs if FIT_RANGE[0] - 1e-9 <= r.amplitude <= FIT_RANGE[1] + 1e-9]
    held = [r for r in recs if r not in fit]
    return fit, held


def residuals(model, recs):
    r_model, _, _ = simulate(model, recs, read=False)
    meas = np.array([r.pulse_resistance for r in recs])
    return (np.log10(r_model) - np.log10(meas)).ravel()


def threshold_times(r_model, recs):
    return np.array([_threshold_time(rec.pulse_time, rm, 0.5 * rec.resistance[rec.edge])
                     for rec, rm in zip(recs, r_model, strict=True)])


def fit(data: Path = DATA, x0=None, max_nfev: int = 200) -> dict:
    recs = read_vo2_pulses(data / PULSES)
    fit_recs, _ = split(recs)
    base = base_model()
    if x0 is None:
        x0 = [np.log10(1e-3), np.log10(190.0), 345.0, np.log10(1e-5), np.log10(1.4e-2)]
    sol = least_squares(lambda x: residuals(with_x(base, x), fit_recs), x0, x_scale=[0.3, 0.1, 2.0, 0.3, 0.3],
                        bounds=([-15, 0, 300, -12, -6], [6, 4, 450, -3.01, 0]), max_nfev=max_nfev)
    model = with_x(base, sol.x)
    res = sol.fun
    dof = max(res.size - len(NAMES), 1)
    s2 = float(res @ res / dof)
    cov = s2 * np.linalg.pinv(sol.jac.T @ sol.jac)
    err_x = np.sqrt(np.diag(cov))
    x = sol.x
    values = {"R0": 10 ** x[0], "R_m": 10 ** x[1], "Tc": x[2], "C_th": 10 ** x[3], "S_e": 10 ** x[4]}
    # stderr of the physical values (log10-parametrised ones by the delta method)
    stderr = {"R0": values["R0"] * np.log(10) * err_x[0], "R_m": values["R_m"] * np.log(10) * err_x[1],
              "Tc": err_x[2], "C_th": values["C_th"] * np.log(10) * err_x[3],
              "S_e": values["S_e"] * np.log(10) * err_x[4]}
    return {"x": x, "model": model, "values": values, "stderr": stderr, "redchi": s2, "ndata": int(res.size),
            "rmse_fit": float(np.sqrt(np.mean(res**2))), "converged": bool(sol.success), "nfev": int(sol.nfev),
            **evaluate(model, recs, data)}


def evaluate(model, recs, data: Path = DATA) -> dict:
    """Every statistic of the card on the data: per-amplitude trace RMSE, threshold times, recovery, peak T."""
    fit_recs, _ = split(recs)
    r_model, r_read, t_peak = simulate(model, recs)
    feats = [pulse_features(r) for r in recs]
    meas = np.array([r.pulse_resistance for r in recs])
    rmse = np.sqrt(np.mean(np.log10(r_model / meas) ** 2, axis=1))
    t_model = threshold_times(r_model, recs)
    t_data = np.array([f["t_threshold"] for f in feats])
    amps = np.array([r.amplitude for r in recs])
    is_fit = np.array([r in fit_recs for r in recs])
    both = np.isfinite(t_model) & np.isfinite(t_data)
    rel = np.where(both, t_model / np.where(both, t_data, 1.0) - 1.0, np.nan)
    # recovery: the same single-exponential conductance decay on model and data over READ_WINDOW
    tau_data, tau_model = [], []
    for rec, rr in zip(recs, r_read, strict=True):
        tr = read_times(rec) + rec.time[rec.edge]
        meas_read = rec.resistance[rec.read_slice][:tr.size]
        tau_data.append(exponential_tau(tr, 1.0 / meas_read)[0])
        tau_model.append(exponential_tau(tr, 1.0 / rr)[0])
    slow = read_relaxation(data / RELAX, "slow")
    relax = {tr.label: relaxation_tau(tr)[0] for tr in slow}
    held_trace = np.log10(r_model[~is_fit] / meas[~is_fit]).ravel()
    held_switch = ~is_fit & both
    return {"amplitudes": amps, "is_fit": is_fit, "rmse_by_amplitude": rmse, "t_model": t_model,
            "t_data": t_data, "t_rel_error": rel, "r_model": r_model, "t_peak": t_peak,
            "r_on_data": np.array([f["r_on"] for f in feats]), "r_on_model": r_model[:, -1],
            "i_on_data": np.array([f["i_on"] for f in feats]),
            "tau_data": np.array(tau_data), "tau_model": np.array(tau_model), "relax_slow": relax,
            "rmse_holdout": float(np.sqrt(np.mean(held_trace**2))), "n_holdout": int(held_trace.size),
            "holdout_t_rel_max": float(np.max(np.abs(rel[held_switch]))) if held_switch.any() else float("nan"),
            "tau_th": float(model.tau_th()), "t_stage": recs[0].stage_temperature,
            "files": [r.path.name for r in recs]}


def _arr(a, fmt="{:.4g}"):
    return "[" + ", ".join("nan" if not np.isfinite(v) else fmt.format(v) for v in a) + "]"


def card_text(f: dict) -> str:
    val, err = f["values"], f["stderr"]
    dc = get_model(DC_CARD)
    ea_k = float(dc.params["Ea"]) / k_B
    amps, is_fit = f["amplitudes"], f["is_fit"]
    held_amps = ", ".join(f"{a:g}" for a in amps[~is_fit])
    sw = [(a, td, tm, e) for a, td, tm, e, h in zip(amps, f["t_data"], f["t_model"], f["t_rel_error"], ~is_fit, strict=True)
          if h and np.isfinite(td)]
    sw_text = "; ".join(f"{a:g} V: {td * 1e3:.2f} ms measured, {tm * 1e3:.2f} ms predicted ({e * 100:+.0f} %)" for a, td, tm, e in sw)
    i_op = int(np.argmin(np.abs(amps - 6.0)))
    t_peak_op = float(f["t_peak"][i_op])
    relax = f["relax_slow"]
    rlo, rhi = min(relax.values()), max(relax.values())
    stage = f["t_stage"]
    fit_files = ", ".join(f"\"short_Vpulses_data/{n}\"" for n, h in zip(f["files"], is_fit, strict=True) if h)
    return f'''schema_version = 1
name = "mott.galloni2024_vo2_pulse_fit"
model = "mott.thermal_switch"
title = "VO2 two-terminal device (Schuller lab) at 68.5 C, electrothermal switch fitted to 10 ms voltage-pulse traces"
kind = "fitted"
notes = "Fitted by docs/scripts/fit_vo2_pulses.py to the resistance traces R(t) = V/I during 10 ms pulses of {FIT_RANGE[0]}-{FIT_RANGE[1]} V at 68.5 C stage temperature; the pulses at {held_amps} V are held out. Threshold (switching) time: the first time R falls to half its leading-edge value; below 5.5 V the device does not switch within 10 ms (it heats and its resistance falls gradually). The lumped one-temperature model fits the fitted traces to {f["rmse_fit"]:.3f} dex RMSE ({(10 ** f["rmse_fit"] - 1) * 100:.1f} % in R) but its metallic resistance R_m ({val["R_m"]:.0f} Ohm) is a floor, whereas the measured end-of-pulse resistance keeps falling with amplitude (155, 136, 124 Ohm at 6, 6.25, 6.5 V: the metallic path widens): above the fitted range the model switches late and its on-state resistance is too high (held-out errors below). The recovery after the pulse is not fitted and is too fast in the model: its conductance decays with {np.min(f["tau_model"]) * 1e3:.2f}-{np.max(f["tau_model"]) * 1e3:.2f} ms, the device's with {np.min(f["tau_data"]) * 1e3:.1f}-{np.max(f["tau_data"]) * 1e3:.1f} ms (one thermal time in the lumped model; the device also has a slower tail; [fit.recovery]). Assumptions (not recorded with the data): the SMU drives the device directly (no load resistor; R_s = 0, lead resistance absorbed in R_m); the stage temperature is the ambient T0 of the heat balance; no hysteresis (w_h = 0), since the device returns to its initial resistance after every pulse that does not switch it. Tc is an effective value of the lumped model (the transition of the film is broad and the device sits in it at 68.5 C). This card is a different device from mott.galloni2024_vo2_rv_fit (about 700 Ohm at 68.5 C against 5 kOhm at room temperature); only Ea is taken from that card."

[provenance]
citation = "VO2 devices of S. Galloni et al., PNAS 121 (2024) (Milstein Lab neuromorphic-btsp data, MIT licence); model form: E. Qiu, Y.-H. Zhang, M. Di Ventra, I. K. Schuller, Adv. Mater. 36, 2306818 (2024)"
doi = "10.1073/pnas.2318362121"
where = "short_Vpulses_data/<V>V_0.01s_68.5C.csv: one 10 ms voltage pulse per file at 68.5 C stage temperature, SMU (Keithley) trace every 0.2 ms, then a 0.5 V read; relaxation_timescales.xlsx sheet 'slow' for the cross-check of the thermal time"
data = "../shared/data/vo2-threshold-pulses/short_Vpulses_data/*_0.01s_68.5C.csv"
script = "docs/scripts/fit_vo2_pulses.py"

[parameters]
R0 = {{ value = {val["R0"]:.10g}, unit = "ohm", source = "fitted" }}
Ea = {{ value = {ea_k:.10g}, unit = "boltzmann_constant * kelvin", source = "held at the value fitted to the same film's DC sweep (mott.galloni2024_vo2_rv_fit); one stage temperature does not identify it" }}
R_m = {{ value = {val["R_m"]:.10g}, unit = "ohm", source = "fitted" }}
Tc = {{ value = {val["Tc"]:.10g}, unit = "K", source = "fitted (effective transition temperature of the lumped model)" }}
w_h = {{ value = 0.0, unit = "K", estimate = "basis: assumption: the device recovers its initial resistance after sub-switching pulses (4-5.25 V: within 1 % after 100 ms at the 0.5 V read), which a hysteresis loop around the stage temperature would forbid" }}
beta_h = {{ value = 0.253, unit = "1/K", estimate = "basis: held at the mott.qiu2024_vo2 value (the fit does not separate it from Tc and S_e)" }}
C_th = {{ value = {val["C_th"]:.10g}, unit = "J/K", source = "fitted" }}
S_e = {{ value = {val["S_e"]:.10g}, unit = "W/K", source = "fitted" }}
R_s = {{ value = 0.0, unit = "ohm", estimate = "basis: assumption: no load resistor recorded with the pulse data (2-wire SMU as in the same lab's DC sweep, whose header says so); lead resistance is part of R_m" }}
I_cc = {{ value = 0.0, unit = "A", estimate = "basis: assumption: the SMU current limit was not recorded and not reached (largest measured current {np.max(f["i_on_data"]) * 1e3:.1f} mA)" }}
V_g = {{ value = 0.0, unit = "V", source = "no access transistor" }}
V_th_T = {{ value = 0.5, unit = "V", source = "no access transistor (unused)" }}
k_T = {{ value = 0.0, unit = "A/V^2", source = "no access transistor" }}

[operating]
amplitude = {{ value = 6.0, unit = "V", source = "a measured condition inside the validity range (short_Vpulses_data/6V_0.01s_68.5C.csv): the device switches in {f["t_data"][i_op] * 1e3:.2f} ms; model peak temperature {t_peak_op:.1f} K" }}
width = {{ value = 10, unit = "ms", source = "pulse width of the data set (file names: 0.01 s)" }}
temperature = {{ value = {stage:.2f}, unit = "K", source = "stage temperature 68.5 C (file names)" }}

[validity]
amplitude = {{ min = {amps.min():.2f}, max = {amps.max():.2f}, unit = "V" }}
width = {{ min = 2e-4, max = 1e-2, unit = "s" }}
temperature = {{ min = {stage - 0.5:.2f}, max = {stage + 0.5:.2f}, unit = "K" }}

[fit]
data = "../shared/data/vo2-threshold-pulses/short_Vpulses_data/*_0.01s_68.5C.csv"
files = [{fit_files}]
method = "least_squares (scipy, trust-region reflective) on log10 R at the 49 full-amplitude samples of each fitted pulse; the model integrated sample by sample (ThermalSwitch.apply_pulse)"
varied = ["R0", "R_m", "Tc", "C_th", "S_e"]
converged = {toml_bool(f["converged"])}
ndata = {f["ndata"]}
redchi = {f["redchi"]:.4g}
residual = "log10(R_model / R_measured)"
amplitude_range = {{ min = {FIT_RANGE[0]}, max = {FIT_RANGE[1]}, unit = "V" }}
stderr = {{ R0 = {err["R0"]:.4g}, R_m = {err["R_m"]:.4g}, Tc = {err["Tc"]:.4g}, C_th = {err["C_th"]:.4g}, S_e = {err["S_e"]:.4g} }}
tau_th = {{ value = {f["tau_th"] * 1e3:.4g}, unit = "ms", note = "C_th / S_e" }}
{stamp()}

{rmse_table("fit.rmse", f["rmse_fit"])}

[fit.threshold_time]
definition = "first time after the leading edge at which R = V/I falls to half its leading-edge value (linear interpolation between 0.2 ms samples); nan: no switching within the pulse"
amplitude = {{ value = {_arr(amps, "{:g}")}, unit = "V" }}
measured = {{ value = {_arr(f["t_data"] * 1e3)}, unit = "ms" }}
model = {{ value = {_arr(f["t_model"] * 1e3)}, unit = "ms" }}
held_out = {str([bool(h) for h in ~is_fit]).lower()}

[fit.on_state]
note = "R = V/I at the last full-amplitude sample (9.8 ms)"
measured = {{ value = {_arr(f["r_on_data"], "{:.1f}")}, unit = "ohm" }}
model = {{ value = {_arr(f["r_on_model"], "{:.1f}")}, unit = "ohm" }}

[fit.recovery]
note = "single-exponential time constant of the conductance read at 0.5 V in the {READ_WINDOW * 1e3:.0f} ms after each pulse, on data and model alike (devicelib.fit.vo2.exponential_tau); none of it was fitted"
measured = {{ value = {_arr(f["tau_data"] * 1e3, "{:.3g}")}, unit = "ms" }}
model = {{ value = {_arr(f["tau_model"] * 1e3, "{:.3g}")}, unit = "ms" }}
relaxation_data = "../shared/data/vo2-threshold-pulses/relaxation_timescales.xlsx"
relaxation_timescales_slow = {{ min = {rlo * 1e3:.3g}, max = {rhi * 1e3:.3g}, unit = "ms", note = "conductance decay after 10-70 mA steps at 64 C, other devices of the film (sheet 'slow'); the card's tau_th lies in this range" }}

{holdout_tables("fit.holdout", f'the pulses at {held_amps} V (4 files, 49 samples each), not used in the fit; threshold-time errors: {sw_text}', f["n_holdout"], f["rmse_holdout"], extra=f'threshold_time_max_rel_error = {f["holdout_t_rel_max"]:.4g}')}
'''


def figure(f) -> None:
    plt = pyplot()

    amps, is_fit = f["amplitudes"], f["is_fit"]
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10.0, 4.0))
    sw = np.isfinite(f["t_data"])
    for sel, mk, lab in ((is_fit & sw, "o", "measured, fitted"), (~is_fit & sw, "s", "measured, held out")):
        ax1.plot(amps[sel], f["t_data"][sel] * 1e3, mk, ms=7, mfc="none" if mk == "s" else "C0", color="C0", label=lab)
    msw = np.isfinite(f["t_model"])
    ax1.plot(amps[msw], f["t_model"][msw] * 1e3, "x-", color="C3", label="model (card)")
    ns = amps[~sw]
    ax1.plot(ns, np.full(ns.size, 10.0), "v", color="0.5", label="no switching in 10 ms (measured)")
    ax1.axvspan(FIT_RANGE[0] - 0.05, FIT_RANGE[1] + 0.05, color="0.92", zorder=0, label="fitted amplitudes")
    ax1.set(xlabel="pulse amplitude (V), 68.5 C", ylabel="threshold time (ms): R falls to R0/2", yscale="log",
            title=f"held-out error up to {f['holdout_t_rel_max'] * 100:.0f} %")
    ax1.legend(fontsize=7)
    t = f["pulse_time"] * 1e3
    shown = [k for k, a in enumerate(amps) if a in (4.0, 5.0, 5.5, 5.75, 6.0, 6.5)]
    for c, k in enumerate(shown):
        ax2.plot(t, f["r_model"][k], "-", color=f"C{c}", lw=1)
        ax2.plot(t, f["meas"][k], "o" if is_fit[k] else "s", ms=2.5, mfc="none", color=f"C{c}",
                 label=f"{amps[k]:g} V{'' if is_fit[k] else ' (held out)'}")
    ax2.set(xlabel="time in the pulse (ms)", ylabel="R = V/I (ohm)", yscale="log",
            title="traces: measured (markers), model (lines)")
    ax2.legend(fontsize=7)
    save_figure(fig, FIGURE)


def main(argv=None) -> int:
    args = parse_args(__doc__, argv, OUT, data=DATA, data_help="the vo2-threshold-pulses folder")
    f = fit(args.data)
    recs = read_vo2_pulses(args.data / PULSES)
    f["meas"], f["pulse_time"] = np.array([r.pulse_resistance for r in recs]), recs[0].pulse_time
    args.out.write_text(card_text(f), encoding="utf-8")
    if not args.no_figure:
        figure(f)
    print(f"wrote {args.out}: fit RMSE {f['rmse_fit']:.4f} dex ({f['nfev']} evaluations), held-out trace RMSE "
          f"{f['rmse_holdout']:.4f} dex, held-out threshold time error up to {f['holdout_t_rel_max'] * 100:.0f} %, "
          f"tau_th {f['tau_th'] * 1e3:.3g} ms")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
