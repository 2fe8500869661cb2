"""Figure for docs/families/pcm.md: multi-level SET of the PCM cards at their [operating] point against a public
simplification of the Nandakumar et al. 2018 accumulative-SET model, the former operating point, and the +-2 % drive
sensitivity."""

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

from devicelib import get_model
from devicelib.catalog import find_card, load_card
from devicelib.physics.pcm import distinguishable_levels, set_staircase

OUT = Path(__file__).resolve().parents[2] / "docs" / "figures" / "pcm_levels.png"
W = 50e-9


def reference(n=30, n_dev=3000, seed=0):
    # YigitDemirag/meta-analog analog.py: dG ~ N(0.892 - 0.084 G, (0.575 + 0.09 G)^2) uS per SET pulse
    rng = np.random.default_rng(seed)
    g = 0.1 + 0.01 * rng.standard_normal(n_dev)
    out = [g.copy()]
    for _ in range(n):
        g = np.maximum(g + (0.892 - 0.084 * g) + (0.575 + 0.09 * g) * rng.standard_normal(n_dev), 0.1)
        out.append(g.copy())
    return np.array(out).T


def main() -> None:
    card = load_card(find_card("pcm.joshi2020_statistical"))
    i_reset, i_set = card.operating_value("amplitude_down"), card.operating_value("amplitude")
    j = card.model().seed(1)
    runs = {
        f"Joshi card, [operating] (RESET {i_reset * 1e6:.0f} µA, SET {i_set * 1e6:.0f} µA)":
            set_staircase(j, i_reset, i_set, W, 30, 2000) * 1e6,
        "Joshi card, former operating point (RESET 400 µA, SET 194 µA)":
            set_staircase(j.with_params(growth_spread=0.0), 400e-6, 194e-6, W, 30, 2000) * 1e6,
        "reference (simplified Nandakumar 2018)": reference(),
    }
    fig, ax = plt.subplots(1, 3, figsize=(14, 4))
    n = np.arange(31)
    for i, (label, g) in enumerate(runs.items()):
        mu, sd = g.mean(0), g.std(0)
        lv = distinguishable_levels(mu, sd)
        ax[0].plot(n, mu, "o-", ms=3, color=f"C{i}", label=f"{label}: {lv.size} levels")
        ax[0].fill_between(n, mu - sd, mu + sd, color=f"C{i}", alpha=0.2)
        ax[0].plot(n[lv], mu[lv], "s", mfc="none", ms=8, color=f"C{i}")
        ax[1].plot(mu[:-1], np.diff(g, axis=1).mean(0), "o-", ms=3, color=f"C{i}")
    ax[0].set(xlabel="SET pulses after RESET", ylabel="G at t0 (µS)",
              title="(a) staircases: mean ± σ (squares: levels, k = 1)")
    ax[0].legend(fontsize=6.5, loc="lower right")
    ax[1].set(xlabel="mean G (µS)", ylabel="mean step per pulse (µS)", title="(b) step size vs conductance")
    s = get_model("pcm.sebastian2014_gst")
    for rel, c in ((0.98, "C0"), (1.0, "k"), (1.02, "C3")):
        g = set_staircase(s, i_reset, i_set * rel, W, 40)[0] * 1e6
        ax[2].plot(np.arange(41), g, "o-", ms=3, color=c, label=f"SET {i_set * 1e6 * rel:.1f} µA")
        g = set_staircase(s, 400e-6, 194e-6 * rel, W, 14)[0] * 1e6
        ax[2].plot(np.arange(15), g, "--", color=c, lw=1)
    ax[2].set(xlabel="SET pulses after RESET", ylabel="G (µS), deterministic card",
              title=f"(c) ±2 % drive (solid: {i_set * 1e6:.0f} µA; dashed: former 194 µA)")
    ax[2].legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(OUT, dpi=110)


if __name__ == "__main__":
    main()
