"""Figure for docs/layers.md: endurance and read-noise layers calibrated on the Stanford NI-RRAM data.

Reads ../shared/data/stanford-nirram-endurance (beside the repository)."""

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

from devicelib import get_model
from devicelib.layers import calibrate_endurance, calibrate_read_noise, with_layers

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT.parent / "shared" / "data" / "stanford-nirram-endurance"
OUT = ROOT / "docs" / "figures" / "layers.png"


def main() -> None:
    d = np.loadtxt(DATA / "1us_endurance.tsv")
    c, r_set, r_reset = d[:, 3], d[:, 1], d[:, 2]
    e = calibrate_endurance(c, r_set, r_reset)
    fig, ax = plt.subplots(1, 3, figsize=(13.5, 3.8))
    ax[0].loglog(c, r_set, ",", color="C0", alpha=0.4)
    ax[0].loglog(c, r_reset, ",", color="C3", alpha=0.4)
    n = np.logspace(2, 6, 100)
    s = e.shrink(n)
    ax[0].loglog(n, 1 / (e.g_center * (e.g_hi / e.g_center) ** s), "C0", lw=2, label="model, after SET")
    ax[0].loglog(n, 1 / (e.g_center * (e.g_lo / e.g_center) ** s), "C3", lw=2, label="model, after RESET")
    ax[0].set(xlabel="cycles", ylabel="R (ohm)", title=f"endurance: log window halves at {e.n_half:.2g} cycles")
    ax[0].legend(fontsize=8)

    r = np.loadtxt(DATA / "ret1.csv", delimiter=",")
    g, dt = r[:, 3], float(np.median(np.diff(r[:, 1])))
    nz = calibrate_read_noise(g, dt)
    base = get_model("vcm.stanford_pku")
    m = with_layers(base, read_noise=nz).seed(0)
    st = m.initial_state(1)
    st.update(base.state_from_conductance(np.full(1, g.mean()), 0.1))
    sim, _ = m.read_series(st, g.size, dt, 0.1)
    t = np.arange(g.size) * dt
    ax[1].plot(t, g * 1e6, lw=0.4, label="ret1.csv (measured)")
    ax[1].plot(t, sim[0] * 1e6 - 8, lw=0.4, label="layer (offset -8 uS)")
    ax[1].set(xlabel="time (s)", ylabel="G (uS)", title="10,000 consecutive reads")
    ax[1].legend(fontsize=8)
    for series, lab in ((g, "measured"), (sim[0], "layer")):
        x = series / series.mean() - 1
        f = np.fft.rfftfreq(x.size, dt)[1:]
        p = (np.abs(np.fft.rfft(x))[1:] ** 2) * 2 * dt / x.size
        edges = np.logspace(np.log10(f[0]), np.log10(f[-1]), 25)
        idx = np.digitize(f, edges)
        fb = [f[idx == k].mean() for k in range(1, 25) if np.any(idx == k)]
        pb = [p[idx == k].mean() for k in range(1, 25) if np.any(idx == k)]
        ax[2].loglog(fb, pb, "o-", ms=3, label=lab)
    ax[2].set(xlabel="f (Hz)", ylabel="S_G / G^2 (1/Hz)", title="white + McWhorter 1/f")
    ax[2].legend(fontsize=8)
    fig.tight_layout()
    OUT.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(OUT, dpi=110)


if __name__ == "__main__":
    main()
