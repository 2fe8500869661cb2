"""ECM (Menzel): the tabulated flow map of a pulse condition against a fine solve_ivp solution, and the fused
simulate kernel (devicelib.physics.ecm_kernel) against the per-pulse reference path."""

import numpy as np
import pytest
from _ecm_cases import NM, fine_pulse

from devicelib import get_model
from devicelib.physics import ecm
from devicelib.physics.ecm import Menzel
from devicelib.pulses import PulseTrain
from devicelib.simulate import simulate
from devicelib.variability import Variability

KEYS = ("conductance", "energy", "gap", "nucleation")


# SET and RESET across the regimes of both cards, from far and near contact
CASES = [("ag", 0.3, 300.0, 19.0), ("ag", 1.0, 350.0, 8.0), ("ag", 2.0, 250.0, 0.3), ("ag", -1.0, 350.0, 0.5),
         ("ag", -0.35, 300.0, 13.0), ("cu", 2.2, 390.0, 0.22), ("cu", -2.0, 300.0, 0.3)]


@pytest.mark.parametrize(("card", "v", "temp", "x0_nm"), CASES)
def test_tabulated_pulse_converges_to_the_fine_solution(card, v, temp, x0_nm, ag, cu):
    """Convergence test of the tabulated flow map (the path of shared parameters and >= TABLE_MIN devices) against
    LSODA at rtol 1e-12: gap within max(1e-5 |gap change|, 1e-8 nm), energy within 2e-5 relative, for widths
    from 100 ps to 10 ms (crossing from within one interval to the bound). The sub-step integrator is held to
    2e-4 and 5e-4 (test_ecm.py); the table is measured at 9e-7 and 2.5e-6 at worst in these cases."""
    m = (ag if card == "ag" else cu).with_params()
    x0 = x0_nm * NM
    widths = 10.0 ** np.arange(-10, -1.5, 0.5)
    n = -(-ecm.TABLE_MIN // widths.size) * widths.size
    w = np.resize(widths, n)
    out = m.apply_pulse({"gap": np.full(n, x0), "nucleation": np.ones(n)}, v, w, temp)
    assert m._table(v, temp) is not None  # the tabulated path ran

    ref = fine_pulse(m, v, temp, x0, widths[-1], rtol=1e-12, atol=[1e-24, 1e-32])
    for k, wk in enumerate(widths):
        g_ref, e_ref = ref(wk)
        assert abs(out["gap"][k] - g_ref) <= max(1e-5 * abs(g_ref - x0), 1e-8 * NM), (wk, out["gap"][k], g_ref)
        assert out["_energy"][k] == pytest.approx(e_ref, rel=2e-5), wk


def test_table_path_agrees_with_the_substep_integrator(ag):
    """Random starts, widths and both polarities: the table and the sub-step integrator agree within the
    integrator's own error bound (max(2e-4 |gap change|, 2e-5 nm); energy 5e-4)."""
    rng = np.random.default_rng(5)
    n = ecm.TABLE_MIN
    m = ag.with_params()
    for v in (0.35, -0.35, 1.2, -1.5):
        st = {"gap": 10 ** rng.uniform(np.log10(0.11 * NM), np.log10(20 * NM), n), "nucleation": np.ones(n)}
        w = 10 ** rng.uniform(-10, -3, n)
        tab = m.apply_pulse(st, v, w, 300.0)
        step = {k: np.empty(n) for k in ("gap", "_energy")}
        for s in range(0, n, 64):  # below TABLE_MIN devices: the sub-step integrator
            part = m.apply_pulse({k: a[s:s + 64] for k, a in st.items()}, v, w[s:s + 64], 300.0)
            for k in step:
                step[k][s:s + 64] = part[k]
        change = np.abs(step["gap"] - st["gap"])
        assert np.all(np.abs(tab["gap"] - step["gap"]) <= np.maximum(2e-4 * change, 2e-5 * NM)), v
        np.testing.assert_allclose(tab["_energy"], step["_energy"], rtol=5e-4)


def _train(npulse=20, amp=0.35, width=1e-5, interval=0.0, temperature=300.0):
    a = np.where(np.arange(npulse) < npulse // 2, amp, -amp)
    return PulseTrain(amplitude=a, width=np.full(npulse, width), interval=np.full(npulse, interval),
                      temperature=np.full(npulse, temperature), amplitude_unit="V")


def _assert_equal(f, r, rtol=1e-12):
    assert f.attrs["engine"] == "fused" and r.attrs["engine"] == "reference"
    for k in KEYS:
        np.testing.assert_allclose(f[k].values, r[k].values, rtol=rtol, atol=0.0, err_msg=k)


def test_fused_kernel_equals_the_reference_on_the_tables(ag):
    """Shared parameters, >= TABLE_MIN devices (tabulated flow map), the SET/RESET train of the benchmark and a
    train crossing nucleation, contact and full RESET with start states spread over the gap."""
    n = ecm.TABLE_MIN + 7
    _assert_equal(simulate(ag, _train(), n, engine="fused"), simulate(ag, _train(), n, engine="reference"))
    rng = np.random.default_rng(2)
    st = {"gap": 10 ** rng.uniform(np.log10(0.11 * NM), np.log10(20 * NM), n), "nucleation": rng.choice([0, 1.0], n)}
    st["gap"][:50] = 20 * NM
    amp = np.tile([0.6, 0.6, 1.2, -0.8, -1.5, 0.3, 0.0], 4)
    tr = PulseTrain(amplitude=amp, width=np.tile([1e-6, 1e-4, 1e-8, 1e-6, 1e-3, 1e-5, 1e-6], 4),
                    interval=np.zeros(amp.size), temperature=np.tile([300.0, 350.0], 14), amplitude_unit="V")
    _assert_equal(simulate(ag, tr, n, state=st, engine="fused"), simulate(ag, tr, n, state=st, engine="reference"))
    summ = simulate(ag, tr, n, state=st, engine="fused", record="summary")
    ref = simulate(ag, tr, n, state=st, engine="reference", record="summary")
    for k in KEYS:
        # (std of equal values: 0 against the rounding of numpy's two-pass std, hence the absolute floor)
        np.testing.assert_allclose(summ[k].values, ref[k].values, rtol=1e-10, atol=1e-12 * np.abs(ref[k].values).max(),
                                   err_msg=k)


def test_fused_kernel_equals_the_reference_with_per_device_parameters_and_retention(cu):
    """Device-to-device spread (per-device parameter rows: the sub-step integrator in both paths), few devices,
    and a volatile cell (gamma_s > 0) relaxing in the kernel between pulses as Menzel.relax."""
    var = Variability(d2d={"j0": 0.3, "r_fil": 0.1})
    tr = _train(12, amp=1.0, width=1e-6)
    _assert_equal(simulate(cu, tr, 40, variability=var, seed=3, engine="fused"),
                  simulate(cu, tr, 40, variability=var, seed=3, engine="reference"))
    vol = Menzel(gamma_s=0.8)
    assert vol.volatile
    tr = _train(10, amp=0.8, width=1e-7, interval=1e-3)
    f = simulate(vol, tr, 5, engine="fused")
    r = simulate(vol, tr, 5, engine="reference")
    _assert_equal(f, r)
    assert np.any(np.diff(r["gap"].values[0, :5]) != 0)  # the gap does move between reads


def test_noise_in_distribution_and_fallbacks(ag):
    """Cycle-to-cycle and read noise (counter-based draws in the kernel): the same mean and spread as the reference
    path within 5 standard errors; stochastic nucleation and the gradual RESET keep the per-pulse path."""
    var = Variability(c2c=0.2, read=0.02)
    n = 4000
    f = simulate(ag, _train(), n, variability=var, seed=1, engine="fused")
    r = simulate(ag, _train(), n, variability=var, seed=2, engine="reference")
    for k in ("gap", "conductance"):
        a, b = f[k].values[:, -1], r[k].values[:, -1]
        se = np.hypot(a.std(), b.std()) / np.sqrt(n)
        assert abs(a.mean() - b.mean()) < 5 * se, k
        assert a.std() == pytest.approx(b.std(), rel=0.1), k
    sto = ag.with_params(nuc_stochastic=1.0)
    assert simulate(sto, _train(4), 3, seed=0).attrs["engine"] == "reference"
    with pytest.raises(ValueError, match="no fused kernel"):
        simulate(sto, _train(4), 3, engine="fused")
    grad = get_model("ecm.menzel2013_ag_gradual")
    assert simulate(grad, _train(4), 3).attrs["engine"] == "reference"
