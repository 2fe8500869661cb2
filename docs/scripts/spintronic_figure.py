"""Figure for docs/families/spintronic.md: DW-MTJ linear synapse, Neel-Brown switching probability, p-bit response."""

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

from devicelib import get_model
from devicelib.pulses import identical, potentiation_depression
from devicelib.simulate import simulate

OUT = Path(__file__).resolve().parents[1] / "figures" / "spintronic.png"


def main() -> None:
    fig, ax = plt.subplots(1, 3, figsize=(13.5, 3.9))

    dw = get_model("spintronic.siddiqui2020_dwmtj")
    i_dep = dw.params["J_dep"] * dw.params["width"] * dw.params["thickness"]
    for amp in (0.9 * i_dep, 0.6e-3, 1.0e-3, 1.4e-3):
        ds = simulate(dw, potentiation_depression(30, 30, amp, -amp, 8e-9, amplitude_unit="A"), 1)
        ax[0].plot(np.arange(1, 61), ds.conductance.values[0] * 1e3, ".-", ms=3,
                   label=f"+/-{amp * 1e3:.2f} mA" + (" (< depinning)" if amp < i_dep else ""))
    ax[0].set(xlabel="pulse number (30 up, 30 down; 8 ns)", ylabel="G (mS)",
              title="domain-wall MTJ: G linear in wall position")
    ax[0].legend(fontsize=7)

    m = get_model("spintronic.koch2004_mtj")
    widths = np.logspace(-8, -0.5, 300)
    for cur, col in ((30e-6, "C0"), (35e-6, "C1"), (40e-6, "C2")):
        tau = m.tau(cur, 300.0)[0]
        ax[1].semilogx(widths, m.switching_probability(cur, widths, 300.0), col,
                       label=f"{cur * 1e6:.0f} uA: tau = {tau:.2g} s")
        pts = np.logspace(np.log10(tau) - 1.5, np.log10(tau) + 1, 8)
        frac = [np.mean(simulate(m, identical(1, cur, w, amplitude_unit="A"), 2000, seed=k)
                        .antiparallel.values[:, 0] == 0) for k, w in enumerate(pts)]
        ax[1].semilogx(pts, frac, "o", color=col, ms=3)
        ax[1].plot(tau * np.log(2), 0.5, "k+", ms=8)
    ax[1].set(xlabel="pulse width (s)", ylabel="P_sw (AP -> P)",
              title="Neel-Brown: 1 - exp(-t/tau); + at tau ln 2\n(Delta = 40, dots: 2000 seeded MTJs)")
    ax[1].legend(fontsize=7, loc="upper left")

    pb = get_model("spintronic.borders2019_pbit")
    delta = float(pb.delta(300.0))
    i0 = 2 / (delta * (1 / pb.params["Ic0_p"] + 1 / pb.params["Ic0_ap"]))
    cur = np.linspace(-25e-6, 25e-6, 21)
    mz = [np.mean(1 - 2 * pb.seed(k).apply_pulse(pb.initial_state(4000), c, 1.0, 300.0)["antiparallel"])
          for k, c in enumerate(cur)]
    ax[2].plot(cur * 1e6, mz, "o", ms=4, label="4000 p-bits, 1 s pulse")
    fine = np.linspace(cur[0], cur[-1], 200)
    ax[2].plot(fine * 1e6, np.tanh(fine / i0), "k", lw=1, label=f"tanh(I / {i0 * 1e6:.1f} uA)")
    ax[2].set(xlabel="current (uA)", ylabel="<m_z>", title=f"stochastic MTJ (p-bit), Delta = {delta:.0f}")
    ax[2].legend(fontsize=8)

    fig.tight_layout()
    OUT.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(OUT, dpi=110)
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
