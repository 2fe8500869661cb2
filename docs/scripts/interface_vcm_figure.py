"""Figure for docs/families/interface_vcm.md: gradual, amplitude-dependent updates and area scaling."""

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

from devicelib import get_model
from devicelib.pulses import potentiation_depression
from devicelib.simulate import simulate

OUT = Path(__file__).resolve().parents[1] / "figures" / "interface_vcm.png"


def main() -> None:
    m = get_model("vcm.sawa_nbsto_interface")
    fig, ax = plt.subplots(1, 2, figsize=(10, 3.8))
    for amp in (2.0, 2.5, 3.0):
        ds = simulate(m, potentiation_depression(50, 50, amp, -amp, 1e-6), 1)
        ax[0].semilogy(np.arange(1, 101), ds.conductance.values[0], ".-", ms=3, label=f"+/-{amp:.1f} V, 1 us")
    ax[0].set(xlabel="pulse number (50 SET, 50 RESET)", ylabel="G at 0.1 V (S)",
              title="interface VCM: gradual in both directions")
    ax[0].legend(fontsize=8)
    v = np.linspace(-1.0, 1.0, 201)
    for area, ls in ((m.params["area"], "-"), (4 * m.params["area"], "--")):
        mm = m.with_params(area=area)
        for w, col in ((0.0, "C0"), (1.0, "C3")):
            i = mm.current({"vacancy_fraction": np.full(v.size, w)}, v)
            ax[1].semilogy(v, np.abs(i), ls, color=col,
                           label=f"w = {w:.0f}, A = {area * 1e12:.0f} um^2")
    ax[1].set(xlabel="V (V)", ylabel="|I| (A)", title="Schottky + series R: rectifying, current scales with area")
    ax[1].legend(fontsize=7)
    fig.tight_layout()
    OUT.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(OUT, dpi=110)


if __name__ == "__main__":
    main()
