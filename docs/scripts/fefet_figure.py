"""Figure for docs/families/fefet.md: NLS accumulation, multi-domain Monte Carlo, Preisach minor loops."""

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

from devicelib import get_model
from devicelib.physics.fefet import FeFETPreisach
from devicelib.pulses import identical
from devicelib.simulate import simulate

OUT = Path(__file__).resolve().parents[1] / "figures" / "fefet.png"


def main() -> None:
    fig, ax = plt.subplots(1, 3, figsize=(13, 3.8))

    nls = get_model("fefet.nls", w=0.4)
    t = np.logspace(-9, -3, 200)
    for v in (1.8, 2.2, 2.6, 3.2):
        st = nls.initial_state(t.size)
        p = nls.apply_pulse(st, v, t, 300.0)["polarization"]
        ax[0].semilogx(t, p, label=f"{v} V")
    ax[0].set(xlabel="pulse width / accumulated time (s)", ylabel="P (C/m$^2$)",
              title="fefet.nls: arctan step limit (w = 0.4 dec)")
    ax[0].legend(fontsize=8)

    md = get_model("fefet.deng2020_hzo")
    ds = simulate(md, identical(60, 2.0, 30e-9), 8, seed=1)
    for k in range(8):
        ax[1].plot(np.arange(1, 61), ds.polarization.values[k], lw=0.8, alpha=0.7)
    ax[1].plot(np.arange(1, 61), ds.polarization.values.mean(axis=0), "k", lw=2, label="mean of 8 devices")
    ax[1].set(xlabel="pulse number (2.0 V, 30 ns)", ylabel="P (C/m$^2$)",
              title="fefet.multidomain: accumulation, 64 domains")
    ax[1].legend(fontsize=8)

    pm = FeFETPreisach(a=3.0)
    vc = float(pm.coercive_voltage())
    st = pm.initial_state(1)
    st, _ = pm.sweep_fe(st, [-3 * vc])
    for v_to, style in ((3 * vc, "k-"), (-3 * vc, "k-"), (1.2 * vc, "C0-"), (-1.1 * vc, "C0-"),
                        (1.05 * vc, "C1-"), (-0.7 * vc, "C1-"), (1.05 * vc, "C1-")):
        path = np.linspace(st["v_fe"][0], v_to, 120)
        st, p = pm.sweep_fe(st, path)
        ax[2].plot(path, p[:, 0], style, lw=1.2)
    ax[2].set(xlabel="$V_{FE}$ (V)", ylabel="P (C/m$^2$)", title="fefet.preisach: nested minor loops")

    fig.tight_layout()
    OUT.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(OUT, dpi=110)
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
