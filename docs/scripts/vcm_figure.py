"""Figure for docs/families/vcm.md: pulse response and SET time of the VCM Stanford/PKU model.

    python docs/scripts/vcm_figure.py
"""

from pathlib import Path

import matplotlib
import numpy as np

matplotlib.use("Agg")
import matplotlib.pyplot as plt

from devicelib import get_model
from devicelib.pulses import identical, potentiation_depression
from devicelib.simulate import simulate

ROOT = Path(__file__).resolve().parents[2]


def set_time(model, v, target_gap=0.5e-9, t_amb=300.0):
    """Time for a constant bias v to close the gap from g_max to target_gap (s), by bisection on width."""
    st = model.initial_state(1)
    lo, hi = 1e-15, 1e3
    for _ in range(80):
        mid = np.sqrt(lo * hi)
        g = model.apply_pulse(st, v, mid, t_amb)["gap"][0]
        lo, hi = (mid, hi) if g > target_gap else (lo, mid)
    return hi


def main():
    fit = get_model("vcm.crosssim_oxide_fit")
    jiang = get_model("vcm.jiang2016_hfox")
    fig, ax = plt.subplots(1, 2, figsize=(10, 3.8))
    for amp in (0.95, 1.0, 1.05, 1.1):
        tr = potentiation_depression(150, 150, amp, -amp, 100e-9)
        st = fit.state_from_conductance(np.array([1.65e-3]), 0.1)
        ds = simulate(fit, tr, 1, 0.1, state=st)
        ax[0].semilogy(ds["conductance"].values[0] * 1e3, label=f"±{amp:.2f} V, 100 ns")
    ax[0].set_xlabel("pulse")
    ax[0].set_ylabel("conductance at 0.1 V (mS)")
    ax[0].set_title("vcm.crosssim_oxide_fit: SET then RESET")
    ax[0].legend()
    volts = np.linspace(0.9, 2.0, 12)
    for temp in (300.0, 350.0):
        ts = [set_time(jiang, v, t_amb=temp) for v in volts]
        ax[1].semilogy(volts, ts, "o-", label=f"T0 = {temp:.0f} K")
    ax[1].set_xlabel("SET voltage (V)")
    ax[1].set_ylabel("time to close gap 1.7 -> 0.5 nm (s)")
    ax[1].set_title("vcm.jiang2016_hfox: SET time")
    ax[1].legend()
    fig.tight_layout()
    fig.savefig(ROOT / "docs" / "figures" / "vcm_model.png", dpi=120)
    # identical-train check printed for the docs
    ds = simulate(jiang, identical(20, 1.5, 10e-9), 1, 0.1)
    print("Jiang card, 20 x (1.5 V, 10 ns): G from", ds["conductance_initial"].values[0], "to",
          ds["conductance"].values[0, -1], "S")


if __name__ == "__main__":
    main()
