"""Figure for docs/layers.md: endurance records of the Stanford 1T1R chip (window versus cycles, stuck-at
failures of 19 cells versus SET gate voltage, their censored Weibull lifetime).

Reads ../shared/data/stanford-1t1r-pulse-sweeps and stanford-nirram-endurance (beside the repository)."""

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

from devicelib.layers import fit_weibull_lifetime, read_endurance_record, stuck_onsets, window_trend

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT.parent / "shared" / "data"
OUT = ROOT / "docs" / "figures" / "endurance_1t1r.png"


def main() -> None:
    d = DATA / "stanford-1t1r-pulse-sweeps"
    recs = {
        "1T1R endurance_slow.tsv (1 µs)": read_endurance_record(d / "endurance_slow.tsv"),
        "1T1R endurance_log.csv (1 µs, nominal cycles)": read_endurance_record(d / "endurance_log.csv"),
        "NI-RRAM 1us_endurance.tsv": read_endurance_record(DATA / "stanford-nirram-endurance" / "1us_endurance.tsv"),
    }
    fig, ax = plt.subplots(1, 3, figsize=(14, 4))
    for i, (label, r) in enumerate(recs.items()):
        ax[0].loglog(r.cycles, r.window, ",", color=f"C{i}", alpha=0.5)
        w0, b = window_trend(r)
        n = np.logspace(np.log10(r.cycles.min()), np.log10(r.cycles.max()), 50)
        ax[0].loglog(n, w0 * np.exp(b * np.log10(n)), color=f"C{i}", lw=2, label=f"{label}: {b:+.2f}/decade")
    ax[0].axhline(2, color="k", ls=":", lw=1)
    ax[0].set(xlabel="cycles", ylabel="R_reset / R_set", title="(a) window vs cycles (line: ln-window trend)")
    ax[0].legend(fontsize=7)

    many = read_endurance_record(d / "endurance_log_many.csv")
    addr, onset, stuck = stuck_onsets(many)
    v = np.array([many.cell(a).v_wl_set[0] for a in addr])
    for a, vv in zip(addr, v, strict=True):
        c = many.cell(a)
        ax[1].semilogy(c.cycles, c.window, lw=0.6, color=plt.cm.viridis((vv - 1.0) / 1.8))
    ax[1].axhline(2, color="k", ls=":", lw=1)
    ax[1].set(xlabel="cycles (20 ns pulses)", ylabel="R_reset / R_set",
              title="(b) 19 cells, SET V_WL 1.0 (purple) - 2.8 V (yellow)")

    m = v < 2.15
    eta, k = fit_weibull_lifetime(onset[m], stuck[m], first_check=50_000)
    n = np.logspace(5, 8, 100)
    ax[2].semilogx(n, 1 - np.exp(-(n / eta) ** k), "C3", label=f"Weibull η = {eta:.3g}, k = {k:.2f}")
    t = np.sort(onset[m & stuck])
    ax[2].step(t, np.arange(1, t.size + 1) / m.sum(), where="post", color="k",
               label=f"stuck cells / {m.sum()} (V_WL 1.0-2.1 V)")
    ax[2].set(xlabel="cycles", ylabel="fraction stuck", title="(c) stuck-at lifetime (censored at 1e7)")
    ax[2].legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(OUT, dpi=110)


if __name__ == "__main__":
    main()
