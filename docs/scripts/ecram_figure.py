"""Figure of the ECRAM family: current- vs voltage-driven pulse trains and self-discharge retention.

Run from the repository root: .venv/bin/python docs/scripts/ecram_figure.py
"""

from pathlib import Path

import matplotlib
import numpy as np

matplotlib.use("Agg")
import matplotlib.pyplot as plt

from devicelib.physics.ecram import ECRAMCurrent, ECRAMVoltage
from devicelib.pulses import PulseTrain
from devicelib.simulate import simulate

FIG = Path(__file__).resolve().parents[2] / "docs" / "figures" / "ecram_model.png"


def train(amp, width, n, unit):
    a = np.r_[np.full(n, amp), np.full(n, -amp)]
    return PulseTrain(a, np.full(2 * n, width), np.full(2 * n, 1e-3), np.full(2 * n, 300.0), unit)


def main():
    fig, ax = plt.subplots(1, 3, figsize=(13, 3.8))
    cur = ECRAMCurrent(x_init=0.05, fano=1.0, W=1e-6, L=1e-6, t_ch=10e-9, N_sites=1e27, R_leak=1e20)  # 1e4 sites
    ds = simulate(cur, train(1.602e-11, 1e-7, 400, "A"), n_devices=3, seed=1)  # 1.6 aC = 10 ions per pulse
    for d in range(3):
        ax[0].plot(ds.conductance[d] * 1e9, lw=0.8)
    ax[0].set_title("current-driven, +/-10 ions per pulse:\nlinear, symmetric, Poisson noise (3 devices)", fontsize=9)
    ax[0].set(xlabel="pulse number", ylabel="G (nS)")
    volt = ECRAMVoltage(x_init=0.05, fano=0.0, j0=0.1, R_leak=1e20)
    for v, c in ((0.2, "C0"), (0.25, "C1"), (0.3, "C2")):
        dv = simulate(volt, train(v, 1e-3, 400, "V"), n_devices=1, seed=0)
        ax[1].plot(dv.conductance[0] * 1e6, color=c, label=f"+/-{v} V, 1 ms")
    ax[1].set_title("voltage-driven (Butler-Volmer):\nsaturation near capacity", fontsize=9)
    ax[1].set(xlabel="pulse number", ylabel="G (uS)")
    ax[1].legend(fontsize=8)
    t = np.logspace(0, 6, 200)
    for om, c in ((0.0, "C0"), (0.03, "C3")):
        m = ECRAMVoltage(fano=0.0, R_leak=1e12, Omega=om * 1.602176634e-19)
        x = np.array([0.9])
        gx = [m.conductance({"x": m.relax({"x": x}, ti, 300.0)["x"]}, 0.1)[0] for ti in t]
        tau = m.retention_time_constant()[0]
        ax[2].semilogx(t, np.array(gx) * 1e6, color=c, label=f"Omega = {om * 1e3:.0f} meV, tau(x_eq) = {tau:.3g} s")
        ax[2].axvline(tau, color=c, ls=":", lw=0.8)
    ax[2].set_title("retention: self-discharge from x = 0.9\nthrough R_leak = 1e12 ohm", fontsize=9)
    ax[2].set(xlabel="time (s)", ylabel="G (uS)")
    ax[2].legend(fontsize=8)
    fig.tight_layout()
    FIG.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(FIG, dpi=110)
    print(f"wrote {FIG}")


if __name__ == "__main__":
    main()
