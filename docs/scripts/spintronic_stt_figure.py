"""Figure for docs/families/spintronic.md (spin-transfer torque across regimes): P_sw vs width and vs current."""

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

from devicelib import get_model

OUT = Path(__file__).resolve().parents[1] / "figures" / "spintronic_stt.png"


def main() -> None:
    m = get_model("spintronic.koch2004_mtj")
    ic0 = m.params["Ic0_p"]
    fig, ax = plt.subplots(1, 2, figsize=(10, 3.8))
    widths = np.logspace(-10, -3, 300)
    for r in (0.6, 0.8, 1.2, 2.0, 4.0):
        ax[0].semilogx(widths, m.switching_probability(r * ic0, widths, 300.0), label=f"I = {r:.1f} Ic0")
    ax[0].set(xlabel="pulse width (s)", ylabel="P_sw (AP -> P)", title="thermal (long) to precessional (short)")
    ax[0].legend(fontsize=8)
    cur = np.linspace(0.2, 8, 300) * ic0
    for w in (1e-9, 1e-8, 1e-6):
        ax[1].plot(cur / ic0, m.switching_probability(cur, w, 300.0), label=f"{w * 1e9:g} ns")
    ax[1].axhline(1 - np.exp(-1), color="k", lw=0.5, ls=":")
    ax[1].set(xlabel="I / Ic0", ylabel="P_sw", title="at 1 ns: rises above 0.63 with overdrive (Sun 2000)")
    ax[1].legend(fontsize=8)
    fig.tight_layout()
    OUT.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(OUT, dpi=110)


if __name__ == "__main__":
    main()
