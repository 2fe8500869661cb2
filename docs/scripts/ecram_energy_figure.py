"""Figure for docs/families/ecram.md: write energy = Faradaic work + electrolyte + channel losses vs ion fraction."""

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

from devicelib import get_model
from devicelib.units import q_e

OUT = Path(__file__).resolve().parents[1] / "figures" / "ecram_energy.png"


def main() -> None:
    m = get_model("ecram.tang2018_liion").with_params(fano=0.0, R_el=1e6)
    i, tp = 1e-9, 1e-6
    x = np.linspace(0.02, 0.98, 97)
    st = {"x": x}
    new = m.apply_pulse(st, i, tp, 300.0)
    xm = 0.5 * (x + new["x"])
    q = np.abs(new["x"] - x) * m.n_sites_total() * m.params["z"] * q_e
    far = np.abs(m.open_circuit_voltage(xm)) * q
    el = (q / tp) ** 2 * tp * m.params["R_el"]
    ch = (q / tp) ** 2 * tp / (12 * m.conductance_of_x(xm))
    total = m.pulse_energy(st, new, i, tp, 300.0)
    fig, ax = plt.subplots(figsize=(6, 3.8))
    ax.semilogy(x, far, label="Faradaic |V_oc| Q")
    ax.semilogy(x, el, label="electrolyte I^2 R_el t")
    ax.semilogy(x, ch, label="channel I^2 t / 12 G")
    ax.semilogy(x, total, "k--", label="pulse_energy (total)")
    ax.set(xlabel="ion fraction x", ylabel="energy per pulse (J)", title="ECRAM write energy, 1 nA x 1 us")
    ax.legend(fontsize=8)
    fig.tight_layout()
    OUT.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(OUT, dpi=110)


if __name__ == "__main__":
    main()
