"""Figure for docs/families/josephson.md: fluxon-loop potentiation, thermal-escape switching curves, MJJ weight."""

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

from devicelib import get_model
from devicelib.pulses import identical, potentiation_depression
from devicelib.simulate import simulate
from devicelib.units import PHI0

OUT = Path(__file__).resolve().parents[1] / "figures" / "josephson.png"


def main() -> None:
    fig, ax = plt.subplots(1, 3, figsize=(13.5, 3.9))

    loop = get_model("josephson.goteti2022_ybco_loop")
    for amp in (60e-6, 75e-6, 100e-6):
        train = potentiation_depression(16, 16, amp, -amp, 1e-9, temperature=4.2, amplitude_unit="A")
        ds = simulate(loop, train, 1, seed=0)
        ax[0].step(np.arange(1, len(train) + 1), ds.fluxons.values[0], where="post", label=f"+/-{amp * 1e6:.0f} uA")
    lic = loop.params["L"] * loop.params["Ic"] / PHI0
    ax[0].set(xlabel="pulse number (16 up, 16 down; 1 ns)", ylabel="trapped fluxons n",
              title=f"fluxon loop: one fluxon per pulse\n(L Ic/Phi0 = {lic:.1f})")
    axg = ax[0].twinx()
    lim = np.array(ax[0].get_ylim())
    axg.set_ylim(loop.conductance({"fluxons": lim}, 0.1) * 1e6)
    axg.set_ylabel("readout G (uS)")
    ax[0].legend(fontsize=8, loc="lower left")

    m = get_model("josephson.fluxon_loop")
    amps = np.linspace(30e-6, 50e-6, 400)
    for temp, col in ((4.2, "C0"), (20.0, "C1"), (40.0, "C2")):
        ax[1].plot(amps * 1e6, m.switching_probability(amps, 1e-9, temp), col, label=f"{temp:g} K: 1 - exp(-Gamma t_p)")
        pts = np.linspace(amps[0], amps[-1], 26)
        frac = [np.mean(simulate(m, identical(1, a, 1e-9, temperature=temp, amplitude_unit="A"), 2000,
                                 seed=k).fluxons.values[:, 0] >= 1) for k, a in enumerate(pts)]
        ax[1].plot(pts * 1e6, frac, "o", color=col, ms=3)
    ax[1].set(xlabel="pulse amplitude (uA), Ic = 50 uA, 1 ns", ylabel="P(fluxon enters)",
              title="thermal escape (dots: 2000 seeded loops)")
    ax[1].legend(fontsize=8)

    mjj = get_model("josephson.schneider2018_nbsimn")
    order = identical(30, -450e-6, 0.2e-9, temperature=4.2, amplitude_unit="A")
    disorder = identical(30, 450e-6, 0.2e-9, temperature=4.2, amplitude_unit="A")
    train = order + disorder + order + disorder
    ds = simulate(mjj, train, 1)
    ic = mjj.observe({"order": ds.order.values[0]})["critical_current"]
    k = np.arange(1, len(train) + 1)
    ax[2].plot(k, ic * 1e6, ".-")
    ax[2].set(xlabel="pulse number (-450 uA in field / +450 uA zero field, 0.2 ns)", ylabel="Ic (uA)",
              title="magnetic JJ: weight = Ic(order)")
    ax3 = ax[2].twinx()
    ax3.semilogy(k, ds.energy.values[0] * 1e18, "C1", lw=0.8)
    ax3.axhline(ic.max() * PHI0 * 1e18, color="C3", ls=":", lw=0.8)
    ax3.set_ylabel("energy per pulse (aJ); dotted: spike Ic Phi0", color="C1")

    fig.tight_layout()
    OUT.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(OUT, dpi=110)
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
