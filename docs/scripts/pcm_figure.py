"""Figure for docs/families/pcm.md: viscosity-limited growth velocity and MYEGA viscosity, accumulative SET staircase
and melt-quench RESET, drift G(t) of seeded devices, drift exponent nu versus G against the published band."""

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

from devicelib import get_model
from devicelib.physics.pcm import drift_nu_mean, drift_nu_sigma
from devicelib.pulses import identical, read_after_delay
from devicelib.simulate import simulate
from devicelib.units import k_B, q_e

OUT = Path(__file__).resolve().parents[1] / "figures" / "pcm.png"
# I_OP: the cards' [operating] SET pulse (panel a); I_DEMO: the SET pulse of the growth and drift panels
I_RESET, W, I_OP, I_DEMO = 450e-6, 50e-9, 183e-6, 194e-6
TEN_YEARS = 10 * 365.25 * 86400.0


def pulses(n, amp, width=W):
    return identical(n, amp, width, amplitude_unit="A")


def growth_panels(ax_u, ax_eta) -> None:
    """(a) growth velocity u(T) of both cards against the former single-Arrhenius law; (b) viscosity vs T_g/T."""
    det = get_model("pcm.sebastian2014_gst")
    stat = get_model("pcm.joshi2020_statistical")
    t = np.linspace(300.0, 899.0, 1200)
    for m, col, lw, lab in ((stat, "C0", 3.0, "T_melt 900 K (Joshi card)"),
                            (det, "C1", 1.2, "T_melt 890 K (Sebastian card)")):
        ax_u.semilogy(t, m.growth_velocity(t), col, lw=lw, label=f"viscosity-limited, {lab}")
    # the former law of this model: 6.3e15 m/s exp(-2 eV/kT) [1 - exp(-dmu/kT)], dmu = 0.12 eV (T_m - T)/T_m
    kt = k_B * t
    old = 6.3e15 * np.exp(-2.0 * q_e / kt) * -np.expm1(-0.12 * q_e * (900.0 - t) / 900.0 / kt)
    ax_u.semilogy(t, old, color="0.5", ls="--", lw=1, label="former single Arrhenius (2 eV)")
    ax_u.axhspan(1.0, 3.0, color="C2", alpha=0.2, lw=0, label="~1-3 m/s peak (ultrafast DSC, Orava 2012)")
    t_op = stat.peak_temperature(I_OP)
    ax_u.plot([t_op], [stat.growth_velocity(t_op)], "ko", ms=4)
    ax_u.annotate(f"SET {I_OP * 1e6:.0f} uA: {t_op:.0f} K", (t_op, stat.growth_velocity(t_op)), fontsize=7.5,
                  xytext=(8, -4), textcoords="offset points")
    ax_u.plot([356.86], [30e-9 / TEN_YEARS], "ks", ms=4)
    ax_u.annotate("30 nm in 10 years: 357 K", (356.86, 30e-9 / TEN_YEARS), fontsize=7.5, xytext=(6, -3),
                  textcoords="offset points")
    ax_u.axvline(stat.params["T_g"], color="0.5", lw=0.6, ls=":")
    ax_u.set(xlabel="temperature (K)", ylabel="growth velocity u (m/s)", ylim=(1e-24, 1e3),
             title="u = 4kT/(3 pi lambda^2 eta) [1 - exp(-dmu/kT)]\n(dotted: T_g = 383 K)")
    ax_u.legend(fontsize=6.8, loc="lower right")

    tg = stat.params["T_g"]
    tt = np.linspace(250.0, 1400.0, 1500)
    x = tg / tt
    ax_eta.plot(x, np.log10(stat.viscosity(tt)), "C0", lw=1.5, label="MYEGA liquid (T >= T_g), glass (T < T_g)")
    lg_inf, m_f = np.log10(stat.params["eta_inf"]), stat.params["m_frag"]
    a = 12.0 - lg_inf
    xl = x[tt < tg]
    ax_eta.plot(xl, lg_inf + a * xl * np.exp((m_f / a - 1.0) * (xl - 1.0)), "C0:", lw=1,
                label="liquid extrapolated below T_g")
    tm = np.linspace(900.0, 1400.0, 50)  # Arrhenius fit to measured liquid GST (Schumacher et al. 2016, Fig. 7)
    ax_eta.plot(tg / tm, np.log10(0.063e-3 * np.exp(0.266 * q_e / (k_B * tm))), "C3", lw=2.5, alpha=0.7,
                label="measured liquid GST (Sci. Rep. 6, 27434)")
    ax_eta.plot([0.0, 1.0], [lg_inf, 12.0], color="0.6", lw=0.7, ls="--", label="strong (Arrhenius) limit")
    ax_eta.plot([1.0], [12.0], "ko", ms=4)
    ax_eta.set(xlabel="T_g / T", ylabel="log10 viscosity (Pa s)", xlim=(0.25, 1.55), ylim=(-4, 30),
               title=f"viscosity: m = {m_f:.0f}, T_g = {tg:.0f} K, eta_inf = 10^{lg_inf:.2f} Pa s\n"
                     f"glass: E_glass = {stat.params['E_glass'] / q_e:.2f} eV")
    ax_eta.legend(fontsize=6.8, loc="upper left")


def main() -> None:
    fig, axes = plt.subplots(2, 3, figsize=(16.5, 9.0))
    growth_panels(axes[0, 0], axes[0, 1])
    ax = [axes[0, 2], axes[1, 0], axes[1, 1], axes[1, 2]]

    # (c, d) RESET, 16 SET pulses, RESET, 16 SET pulses at three currents: deterministic card
    det = get_model("pcm.sebastian2014_gst")
    stat = get_model("pcm.joshi2020_statistical")
    for col, i_set in (("C0", 190e-6), ("C1", I_DEMO), ("C2", 198e-6)):
        train = (pulses(1, I_RESET) + pulses(16, i_set)).repeat(2)
        ds = simulate(det, train, 1, v_read=0.2)
        k = np.arange(1, len(train) + 1)
        t_pk = det.peak_temperature(i_set)
        ax[0].step(k, ds.amorphous_thickness.values[0] * 1e9, col, where="post",
                   label=f"SET {i_set * 1e6:.0f} uA (T_peak {t_pk:.0f} K)")
        ax[1].semilogy(k, ds.conductance.values[0] * 1e6, col, lw=1)
        if i_set == I_DEMO:  # statistical card: programming noise around the same staircase (G(t0), 6 devices)
            dss = simulate(stat, train, 6, seed=1, v_read=0.2)
            ax[1].semilogy(np.tile(k, 6), dss.conductance.values.ravel() * 1e6, ".", color=col, ms=2.5, alpha=0.6)
    ax[0].set(xlabel="pulse number (RESET 450 uA, then SET; 50 ns)", ylabel="amorphous plug u_a (nm)",
              title="accumulative SET by crystal growth,\nmelt-quench RESET (u = r_h (T_peak-T0)/(T_melt-T0))")
    ax[0].legend(fontsize=7.5, loc="upper right")
    ax[1].set(xlabel="pulse number", ylabel="G at 0.2 V (uS)", ylim=(0.03, 40),
              title="read conductance (lines: deterministic card;\ndots: Joshi card, programming noise, 6 devices)")

    # (c) drift of seeded devices (Joshi card: programming noise, nu spread and 1/f read noise)
    times = np.logspace(0, 6, 25)
    stat_fixed = stat.with_params(growth_spread=0.0)  # plug depth set exactly: the spread shown is that of drift
    for col, u_t in (("C0", 0.0), ("C1", 3.0e-9), ("C2", 5.5e-9), ("C3", 10.3e-9)):
        v = stat.growth_velocity(stat.peak_temperature(I_DEMO))
        u_reset = stat.params["r_h"] * (stat.peak_temperature(I_RESET) - 300.0) / (stat.params["T_melt"] - 300.0)
        train = pulses(1, I_RESET) + pulses(1, I_DEMO, (u_reset - u_t) / v if u_t > 0 else 2e-6)
        ds = simulate(stat_fixed, train + read_after_delay(times, amplitude_unit="A"), 2000, seed=7, v_read=0.2)
        g = ds.conductance.values[:, 2:] * 1e6
        g_ref = stat.physical_conductance(ds.amorphous_thickness.values[0, -1], 0.2)
        lo, med, hi = np.percentile(g, [16, 50, 84], axis=0)
        ax[2].fill_between(times, lo, hi, color=col, alpha=0.25, lw=0)
        ax[2].loglog(times, med, col, lw=1.2, label=f"G_ref {g_ref * 1e6:.2g} uS")
        ax[2].loglog(times, g_ref * 1e6 * (np.maximum(times, 20.0) / 20.0) ** -drift_nu_mean(g_ref), "k--", lw=0.7)
    ax[2].axvline(20.0, color="0.5", lw=0.6, ls=":")
    ax[2].set(xlabel="time since programming t (s)", ylabel="G (uS)",
              title="drift G(t) = G(t0)(t/t0)^-nu, 2000 devices each\n(median, 16-84 %; dashed: mean-nu law)")
    ax[2].legend(fontsize=7.5, loc="lower left")

    # (d) nu recovered from G(20 s) and G(2e4 s) of 6000 devices at random SET depths vs the published band
    m = get_model("pcm.joshi2020_statistical", prog_noise=0.0, read_noise=0.0, growth_spread=0.0).seed(3)
    n = 6000
    st = m.apply_pulse(m.initial_state(n), I_RESET, W, 300.0)
    u_target = np.random.default_rng(4).uniform(0.0, 25e-9, n)  # SET widths that leave 0-25 nm of plug
    widths = (st["amorphous_thickness"] - u_target) / m.growth_velocity(m.peak_temperature(I_DEMO))
    st = m.apply_pulse(st, I_DEMO, widths, 300.0)
    g_ref = m.physical_conductance(st["amorphous_thickness"], 0.2)
    st = m.relax(st, 20.0, 300.0)
    g1 = m.conductance(st, 0.2)
    st = m.relax(st, 2e4 - 20.0, 300.0)
    nu = -np.log(m.conductance(st, 0.2) / g1) / np.log(1e3)
    ax[3].semilogx(g_ref * 1e6, nu, ".", ms=1.5, alpha=0.35, color="C0", label="from simulated G(t), 6000 devices")
    gg = np.logspace(-1.3, np.log10(25), 200) * 1e-6
    mu, s = drift_nu_mean(gg), drift_nu_sigma(gg)
    ax[3].fill_between(gg * 1e6, mu - s, mu + s, color="C1", alpha=0.3, lw=0, label="published mu +/- sigma")
    ax[3].semilogx(gg * 1e6, mu, "C1", lw=1.5)
    ax[3].set(xlabel="G_ref at 0.2 V (uS)", ylabel="drift exponent nu",
              title="nu versus G (Nandakumar 2019 / Joshi 2020)")
    ax[3].legend(fontsize=7.5, loc="upper right")

    fig.tight_layout()
    OUT.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(OUT, dpi=130)
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
