"""Figure for docs/families/ecm.md: RESET by gap opening (rupture) versus lateral dissolution (gradual)."""

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

from devicelib import get_model

OUT = Path(__file__).resolve().parents[1] / "figures" / "ecm_reset.png"


def trace(card, v, n_max=400):
    m = get_model(card)
    st = m.apply_pulse(m.initial_state(1), 1.0, 1e-6, 300.0)
    g = [m.conductance(st, 0.1)[0]]
    for _ in range(n_max):
        st = m.apply_pulse(st, v, 1e-6, 300.0)
        g.append(m.conductance(st, 0.1)[0])
    return np.array(g)


def main() -> None:
    fig, ax = plt.subplots(figsize=(6.5, 3.8))
    for card, ls in (("ecm.menzel2013_ag", "--"), ("ecm.menzel2013_ag_gradual", "-")):
        for v, col in ((-1.4, "C0"), (-1.6, "C1")):
            g = trace(card, v)
            ax.plot(np.arange(g.size), g * 1e6, ls, color=col, label=f"{card.split('.')[1]}, {v} V")
    ax.set(xlabel="RESET pulse number (1 us)", ylabel="G at 0.1 V (uS)",
           title="ECM RESET: rupture (dashed) vs lateral dissolution (solid)")
    ax.legend(fontsize=7)
    fig.tight_layout()
    OUT.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(OUT, dpi=110)


if __name__ == "__main__":
    main()
