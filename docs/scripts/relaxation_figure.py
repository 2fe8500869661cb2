"""Fit of the ReRAM relaxation model to the techC data (Levy relaxation data set): table and figure.

Run from the repository root: .venv/bin/python docs/scripts/relaxation_figure.py
Prints the fitted parameters and a markdown table of mean drift and spread versus G0.
"""

from pathlib import Path

import matplotlib
import numpy as np

matplotlib.use("Agg")
import matplotlib.pyplot as plt

from devicelib.physics.relaxation import fit_relaxation, read_relaxation_tsv, relaxation_statistics

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT.parent / "shared" / "data" / "rram-relaxation" / "techC_model.tsv"
FIG = ROOT / "docs" / "figures" / "relaxation_techC.png"
US = 1e-6


def main():
    ds = read_relaxation_tsv(DATA)
    stats = relaxation_statistics(ds, g_max=40e-6)
    model, res, summary = fit_relaxation(stats)
    print(res.params.pretty_repr())
    print(summary)
    for k, v in model.to_dict().items():
        print(f"{k} = {v:.4g} +/- {model.stderr.get(k, float('nan')):.2g}")
    t = stats["time"].values
    g0 = stats["g0"].values
    sd = np.sqrt(stats["var"].values)
    print("| range | G0 (uS) | cells | drift 1 s (uS) | drift 1e5 s (uS) | model | std 0 s | std 1 s | "
          "std 1e5 s (uS) | model |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for i, r in enumerate(stats["range"].values):
        if r % 4 and r != 31:
            continue
        md = model.mean_drift(g0[i], 1e5) / US
        ms = np.sqrt(sd[i, 0] ** 2 + model.variance_growth(g0[i], 1e5)) / US
        cnt = int(stats['count'].values[i, 0])
        print(f"| {r} | {g0[i] / US:.1f} | {cnt} | {stats['drift'].values[i, 3] / US:+.2f} "
              f"| {stats['drift'].values[i, -1] / US:+.2f} | {md:+.2f} | {sd[i, 0] / US:.2f} | {sd[i, 3] / US:.2f} "
              f"| {sd[i, -1] / US:.2f} | {ms:.2f} |")

    fig, ax = plt.subplots(1, 3, figsize=(14, 4))
    gg = np.linspace(0, 40e-6, 200)
    colors = plt.cm.viridis(np.linspace(0, 0.9, t.size - 1))
    for k in range(1, t.size):
        c = colors[k - 1]
        ax[0].errorbar(g0 / US, stats["drift"].values[:, k] / US, stats["drift_se"].values[:, k] / US, fmt="o", ms=3,
                       color=c, label=f"t = {t[k]:g} s")
        ax[0].plot(gg / US, model.mean_drift(gg, t[k]) / US, "-", color=c, lw=1)
        ax[1].plot(g0 / US, sd[:, k] / US, "o", ms=3, color=c, label=f"t = {t[k]:g} s")
        ax[1].plot(gg / US, np.sqrt(np.interp(gg, g0, sd[:, 0] ** 2) + model.variance_growth(gg, t[k])) / US, "-",
                   color=c, lw=1)
    ax[0].axhline(0, color="k", lw=0.5)
    ax[0].set(xlabel="initial conductance G0 (uS)", ylabel="mean drift (uS)")
    ax[0].set_title(f"mean drift (points: data, lines: model); RMSE {summary['rmse_drift'] / US:.2f} uS", fontsize=9)
    ax[0].legend(fontsize=7)
    ax[1].set(xlabel="initial conductance G0 (uS)", ylabel="standard deviation (uS)")
    ax[1].set_title(f"spread; RMSE {summary['rmse_std'] / US:.2f} uS", fontsize=9)
    tt = np.logspace(-3, 6, 100)
    for i in (0, 8, 16, 31):
        (ln,) = ax[2].plot(t[1:], (sd[i, 1:] ** 2 - sd[i, 0] ** 2) / US**2, "o", ms=4, label=f"G0 {g0[i] / US:.1f} uS")
        ax[2].plot(tt, model.variance_growth(g0[i], tt) / US**2, "-", color=ln.get_color(), lw=1)
    ax[2].set_xscale("log")
    ax[2].set(xlabel="time since programming (s)", ylabel="variance growth (uS^2)")
    ax[2].set_title("variance grows linearly in log10(1 + t/t0)", fontsize=9)
    ax[2].legend(fontsize=7)
    fig.tight_layout()
    FIG.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(FIG, dpi=110)
    print(f"wrote {FIG}")


if __name__ == "__main__":
    main()
