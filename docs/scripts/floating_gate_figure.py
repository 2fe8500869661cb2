"""Figure for docs/families/floating_gate.md: FN program/erase trains, and retention by charge loss."""

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

from devicelib import get_model

OUT = Path(__file__).resolve().parents[1] / "figures" / "floating_gate.png"
YEAR = 3.156e7


def main() -> None:
    m = get_model("floating_gate.diorio1996_fg_synapse")
    fig, ax = plt.subplots(1, 3, figsize=(13.5, 3.8))
    for amp in (12.0, 13.0, 14.0):
        st = m.initial_state(1)
        vt, g = [], []
        for a in np.r_[np.full(40, amp), np.full(40, -amp)]:
            st = m.apply_pulse(st, a, 10e-6, 300.0)
            vt.append(m.threshold_voltage(st)[0])
            g.append(m.conductance(st, 0.1)[0])
        ax[0].plot(np.arange(1, 81), vt, ".-", ms=3, label=f"+/-{amp:.0f} V, 10 us")
        ax[1].semilogy(np.arange(1, 81), g, ".-", ms=3)
    ax[0].set(xlabel="pulse (40 program, 40 erase)", ylabel="V_T (V)", title="FN tunnelling: dV_T = -Q / C_cg")
    ax[0].legend(fontsize=8)
    ax[1].set(xlabel="pulse (40 program, 40 erase)", ylabel="G at V_GR = 0.8 V (S)",
              title="subthreshold read (EKV)")
    t = np.logspace(0, np.log10(30 * YEAR), 200)
    q0 = np.array([-3e-16])
    for temp in (300.0, 358.15, 398.15):
        vt = [m.threshold_voltage(m.relax({"charge": q0}, tt, temp))[0] for tt in t]
        ax[2].semilogx(t / YEAR, vt, label=f"{temp - 273.15:.0f} C")
    ax[2].set(xlabel="time (years)", ylabel="V_T (V)", title="retention: Arrhenius charge loss, E = 1.1 eV")
    ax[2].legend(fontsize=8)
    fig.tight_layout()
    OUT.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(OUT, dpi=110)


if __name__ == "__main__":
    main()
