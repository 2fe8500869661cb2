"""Figure for docs/families/ecm.md: SET time versus voltage (three regimes), pulse trains, retention, and the
SET-time distributions of stochastic nucleation."""

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
from scipy.integrate import quad

from devicelib import get_model
from devicelib.physics.ecm import Menzel
from devicelib.pulses import identical, read_after_delay
from devicelib.simulate import simulate
from devicelib.units import k_B, q_e

OUT = Path(__file__).resolve().parents[1] / "figures" / "ecm.png"
NM = 1e-9


def limits(m, v, temp=300.0, x_end=1 * NM):
    """Growth time of the electron-transfer law alone and of the hopping law alone (closed form, quadrature)."""
    p = m.params
    kt = k_B * temp
    area = np.pi * p["r_fil"] ** 2
    speed = p["M"] / (p["z"] * q_e * p["rho_m"] * area)
    s = p["z"] * q_e * v / kt
    i_et = p["j0"] * area * np.exp(-p["dG_et"] / kt) * (np.exp((1 - p["alpha_et"]) * s) - np.exp(-p["alpha_et"] * s))
    t_et = (p["L"] - x_end) / (speed * i_et)
    i_h0 = 2 * p["z"] * q_e * p["c_ion"] * p["a_hop"] * p["nu0"] * area * np.exp(-p["dW_hop"] / kt)
    b = p["a_hop"] * p["z"] * q_e / (2 * kt)
    t_hop = np.array([quad(lambda x, vv=vv: 1 / (speed * i_h0 * np.sinh(b * vv / x)), x_end, p["L"])[0] for vv in v])
    return t_et, t_hop


def main() -> None:
    fig, axs = plt.subplots(2, 2, figsize=(12.5, 8.6))
    ax = axs.ravel()

    ag = get_model("ecm.menzel2013_ag")
    cu = get_model("ecm.schindler2009_cu_sio2")
    v = np.linspace(0.05, 2.0, 80)
    for temp, col in ((300.0, "C0"), (350.0, "C1")):
        ax[0].semilogy(v, ag.set_time(v, temp), col, lw=2, label=f"Ag card, {temp:.0f} K")
    ax[0].semilogy(v, cu.set_time(v), "C2", lw=1.5, label="Cu/SiO2 card, 300 K")
    t_et, t_hop = limits(ag, v)
    ax[0].semilogy(v, ag.nucleation_time(v), "k:", lw=1, label="t_nuc alone")
    ax[0].semilogy(v, t_et, "k--", lw=1, label="electron transfer alone")
    ax[0].semilogy(v, t_hop, "k-.", lw=1, label="hopping alone")
    ax[0].plot([0.1, 1.5], [1e2, 1e-10], "s", ms=9, mfc="none", mec="C3", mew=1.5,
               label="published Ag-cell span (issue summary)")
    ax[0].set(xlabel="SET voltage (V)", ylabel="SET time to a 1 nm gap (s)", ylim=(1e-12, 1e6),
              title="SET time: nucleation, electron transfer, mixed")
    ax[0].legend(fontsize=7, loc="upper right")

    for amp, w, col in ((0.3, 1e-4, "C0"), (0.4, 1e-5, "C1"), (0.5, 1e-6, "C2")):
        train = identical(25, amp, w) + identical(25, -amp - 0.3, 10 * w)
        ds = simulate(ag, train, 1)
        ax[1].semilogy(np.arange(1, 51), ds.conductance.values[0] * 1e6, ".-", color=col,
                       label=f"+{amp:g} V, {w * 1e6:g} us / {-amp - 0.3:g} V, {10 * w * 1e6:g} us")
    ax[1].axvline(25.5, color="0.6", lw=0.8)
    ax[1].set(xlabel="pulse number (25 SET, 25 RESET)", ylabel="read conductance at 0.1 V (uS)",
              title="Ag card from the pristine cell: incubation,\nabrupt SET, gradual creep, RESET")
    ax[1].legend(fontsize=7, loc="center")

    m = Menzel(gamma_s=1.2)
    delays = np.logspace(-6, 0, 40)
    for temp, col in ((275.0, "C0"), (300.0, "C1"), (325.0, "C3")):
        train = identical(1, 1.0, 1e-6) + read_after_delay(delays, temperature=temp)
        ds = simulate(m, train, 1)
        ax[2].loglog(delays, ds.conductance.values[0, 1:] * 1e6, color=col, label=f"{temp:.0f} K")
    ax[2].set(xlabel="time at rest after a 1 V, 1 us SET (s)", ylabel="read conductance (uS)",
              title="retention: Gibbs-Thomson dissolution\n(gamma_s = 1.2 J/m^2, r = 2 nm; no card sets it)")
    ax[2].legend(fontsize=8)

    # stochastic nucleation: SET times of 4000 seeded devices per voltage against E t_nuc + t_growth, E ~ Exp(1)
    det = get_model("ecm.menzel2013_ag")
    sto = det.with_params(nuc_stochastic=1).seed(2026)
    n = 4000
    for v, col in ((0.1, "C0"), (0.15, "C1"), (0.2, "C2"), (0.25, "C3"), (0.3, "C4")):
        tn = det.nucleation_time(v)[0]
        tg = det.set_time(v)[0] - tn
        t = np.sort(sto.set_time(np.full(n, v)))
        frac = (np.arange(1, n + 1) - 0.5) / n
        ax[3].semilogx(t, frac, ".", ms=2, color=col,
                       label=f"{v:g} V: {t.std() / t.mean():.2g} ({tn / (tn + tg):.2g})")
        tt = np.logspace(np.log10(tg * 1.0001), np.log10(t[-1] * 3), 300)
        ax[3].semilogx(tt, 1 - np.exp(-(tt - tg) / tn), "-", color=col, lw=0.8)
        ax[3].axvline(det.set_time(v)[0], color=col, lw=0.6, ls=":")
    ax[3].set(xlabel="SET time to a 1 nm gap (s)", ylabel="cumulative fraction of devices",
              xlim=(5e-4, 1e6))
    ax[3].set_title("stochastic nucleation (nuc_stochastic = 1), Ag card, 300 K:\n4000 devices per voltage (dots), "
                    "1 - exp(-(t - t_g)/t_nuc) (lines),\ndeterministic SET time (dotted)", fontsize=10)
    ax[3].legend(fontsize=7, loc="center right", markerscale=4, title="sd/mean (t_nuc/(t_nuc + t_g))",
                 title_fontsize=7)

    fig.tight_layout()
    OUT.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(OUT, dpi=120)
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
