"""Figure for docs/families/mott.md: VO2 hysteresis, threshold switching and volatile decay; nickelate synapse."""

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

from devicelib import get_model
from devicelib.pulses import potentiation_depression
from devicelib.simulate import simulate

OUT = Path(__file__).resolve().parents[1] / "figures" / "mott.png"


def main() -> None:
    fig, ax = plt.subplots(1, 3, figsize=(13, 3.8))
    m = get_model("mott.qiu2024_vo2")
    tau = float(m.tau_th())

    temps = np.arange(300.0, 360.0, 0.1)
    st = m.initial_state(1)
    for seq, lab in ((temps, "heating"), (temps[::-1], "cooling")):
        r = []
        for t in seq:
            st = m.relax(st, 50 * tau, t)
            r.append(1 / m.conductance(st, 0.1)[0])
        ax[0].semilogy(seq, r, label=lab)
    ax[0].set(xlabel="ambient temperature (K)", ylabel="R ($\\Omega$)", title="VO2: R(T) hysteresis (w = 7.19 K)")
    ax[0].legend(fontsize=8)

    vth = m.threshold_voltage()
    delays = np.linspace(0, 8 * tau, 200)
    for v in (0.95 * vth, 1.2 * vth):
        on = m.apply_pulse(m.initial_state(1), v, 3e-6, 300.0)
        g = [m.conductance(m.relax(on, d, 300.0), 0.1)[0] for d in delays]
        ax[1].semilogy(delays * 1e6, g, label=f"after 3 us at {v:.1f} V")
    ax[1].axvline(tau * 1e6, color="k", ls=":", label=f"tau_th = {tau * 1e6:.2f} us")
    ax[1].set(xlabel="delay after the pulse (us)", ylabel="G (S)",
              title=f"VO2: read after a delay (V_th = {vth:.1f} V)")
    ax[1].legend(fontsize=8)

    nk = get_model("mott.zhang2022_nickelate")
    train = potentiation_depression(30, 30, 2.0, -2.0, 3e-4, cycles=2)
    ds = simulate(nk, train, 1, v_read=0.1)
    ax[2].semilogy(np.arange(len(train)) + 1, ds.conductance.values[0], ".-")
    ax2 = ax[2].twinx()
    ax2.plot(np.arange(len(train)) + 1, ds.proton_concentration.values[0], "C1", lw=0.8)
    ax2.set_ylabel("x_H", color="C1")
    ax[2].set(xlabel="pulse number (+2 V in, -2 V out; 0.3 ms)", ylabel="G (S)",
              title="nickelate: proton doping (non-volatile)")

    fig.tight_layout()
    OUT.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(OUT, dpi=110)
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
