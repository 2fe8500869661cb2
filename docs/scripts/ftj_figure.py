"""Figure for docs/families/ftj.md: accumulative NLS switching of the FTJ and the WKB electroresistance."""

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

from devicelib import get_model
from devicelib.pulses import potentiation_depression
from devicelib.simulate import simulate
from devicelib.units import q_e

OUT = Path(__file__).resolve().parents[1] / "figures" / "ftj.png"


def main() -> None:
    m = get_model("ftj.chanthbouala2012_bto")
    fig, ax = plt.subplots(1, 2, figsize=(10, 3.8))
    for amp in (2.2, 2.5, 2.8):
        ds = simulate(m, potentiation_depression(30, 30, amp, -amp, 20e-9), 1)
        ax[0].plot(np.arange(1, 61), ds.conductance.values[0] * 1e6, ".-", ms=3, label=f"+/-{amp:.1f} V, 20 ns")
    ax[0].set(xlabel="pulse number (30 up, 30 down)", ylabel="G (uS)",
              title="FTJ: domains in parallel, NLS kinetics of fefet.nls")
    ax[0].legend(fontsize=8)
    dphi = np.linspace(0.0, 0.3, 61)
    for t, col in ((1.5e-9, "C0"), (2e-9, "C1"), (2.5e-9, "C2")):
        ter = [m.with_params(dphi=d * q_e, t_FE=t).tunnelling_electroresistance() for d in dphi]
        ax[1].semilogy(dphi, ter, color=col, label=f"t_FE = {t * 1e9:.1f} nm")
    ax[1].set(xlabel="barrier change Delta phi (eV)", ylabel="TER = G_on / G_off",
              title="WKB (Simmons) electroresistance, phi0 = 0.5 eV")
    ax[1].legend(fontsize=8)
    fig.tight_layout()
    OUT.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(OUT, dpi=110)


if __name__ == "__main__":
    main()
