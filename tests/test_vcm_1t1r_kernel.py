"""VCM 1T1R (series transistor) integration: the work-savers of the compiled pulse (divider warm start, one
rate evaluation for a pinned or stopped device, the fused kernel's repeat of an identical pulse on an unchanged
gap) leave the results those of the reference path and of the cold divider solve."""

from __future__ import annotations

import numpy as np
from numba import njit

from devicelib import get_model
from devicelib.pulses import PulseTrain
from devicelib.simulate import simulate
from devicelib.variability import Variability


def _close(a, b, rtol=1e-12):
    a, b = np.asarray(a, float), np.asarray(b, float)
    scale = np.maximum(np.abs(b), 1e-300)
    assert np.all(np.abs(a - b) <= rtol * scale + 1e-300), float(np.max(np.abs(a - b) / scale))


def test_repeated_pulses_on_pinned_and_stopped_devices_equal_reference():
    """Identical 2 V SET pulses (the card's operating point: the first SETs every device to g_min, the rest find
    it pinned), -2 V pulses (cell voltage below the F_min threshold: no motion), a read, a changed width, and
    device-to-device spread: the fused kernel (which repeats a pulse's result for an unchanged gap and condition)
    equals the per-pulse reference path to 1e-12."""
    model = get_model("vcm.stanford1t1r_fit")
    a = np.r_[np.full(6, 2.0), np.full(4, -2.0), 0.0, np.full(3, -2.0), np.full(3, 1.4), np.full(3, 2.0)]
    w = np.full(a.size, 1e-7)
    w[-2:] = 4e-8
    train = PulseTrain(amplitude=a, width=w, interval=np.zeros(a.size), temperature=np.full(a.size, 300.0))
    gap = np.linspace(0.2e-9, 1.7e-9, 40)
    kw = {"n_devices": 40, "variability": Variability(d2d={"nu0": 0.5}), "seed": 2, "v_read": 0.2,
          "state": {"gap": gap, "peak_temperature": np.full(40, 300.0)}}
    fused = simulate(model, train, engine="fused", **kw)
    ref = simulate(model, train, engine="reference", **kw)
    for v in ("conductance", "gap", "peak_temperature", "energy"):
        _close(fused[v].values, ref[v].values)
    g, g_min = ref["gap"].values, float(model.params["g_min"])
    assert np.all(g[:, 0] == g_min) and np.all(g[:, 5] == g_min)  # one 2 V pulse SETs fully: pinned after
    assert np.all(g[:, 6:14] == g[:, 5:6])  # -2 V does not move this card (no RESET operating point)
    e = ref["energy"].values
    # pinned: the same energy per pulse, the current at g_min over the whole width (the card's 1.5 V gate)
    vd = model.cell_voltage(model.params, g_min, 2.0)
    i_min = float(model.current({"gap": np.array([g_min])}, vd)[0])
    assert np.allclose(e[:, 1:6], abs(vd * i_min) * 1e-7, rtol=1e-12)
    assert e[-1, 0] < e[-1, 1]  # the last device starts at g_max (high resistance, less current)


def test_divider_warm_start_gives_the_cold_root():
    """The divider started from a nearby gap's cell voltage (or any guess in its bracket) converges to the root
    of the cold start to 1e-14 of |V_a|, over random 1T1R circuits on SET and RESET, with and without R_s."""
    from devicelib.physics.vcm import _cell_voltage

    cell = njit(lambda g, v, c, xg: _cell_voltage(g, v, c[0], 0.25e-9, c[1], c[2], c[3], c[4], c[5], c[6], xg))
    rng = np.random.default_rng(7)
    worst = 0.0
    for _ in range(300):
        c = np.array([10 ** rng.uniform(-5, -3), rng.uniform(0.1, 0.5), rng.choice([0.0, 10 ** rng.uniform(1, 4)]),
                      rng.choice([0.0, 10 ** rng.uniform(-5, -3)]), rng.uniform(0.5, 3.4), rng.uniform(0.1, 1.0),
                      10 ** rng.uniform(-4, -2)])
        g = rng.uniform(0.2e-9, 1.7e-9)
        v = rng.choice([-1.0, 1.0]) * rng.uniform(0.3, 3.5)
        cold = cell(g, v, c, -1.0)
        for xg in (abs(cell(g + 0.005e-9, v, c, -1.0)), rng.uniform(0, abs(v)), 0.0, abs(v)):
            worst = max(worst, abs(cell(g, v, c, xg) - cold) / abs(v))
    assert worst <= 1e-14, worst


def test_runge_kutta_sub_steps_converge_to_the_fine_step_solution():
    """Pulses that need several sub-steps take 4th-order Runge-Kutta steps of up to 10 max_gap_step (0.05 nm)
    away from the gap bounds and the F_min threshold (midpoint steps of max_gap_step there). Against the fine-step
    solution of the same equations (max_gap_step / 250, converged: /500 agrees to 1e-6) over three cards (1T1R
    transistor, F_min threshold, continuous law), start gaps, both polarities, 1 ns - 400 ns: the stated tolerance
    is 1e-3 of the gap change, 2e-3 of the pulse energy and 1e-2 of the peak temperature rise."""
    g0 = np.array([1.7e-9, 1.2e-9, 0.5e-9])
    v = np.array([2.0, 1.5, 1.2, -1.5, -2.0, -2.5])
    w = np.array([1e-9, 3e-9, 2e-8, 1e-7, 4e-7])
    G, V, W = (x.ravel() for x in np.meshgrid(g0, v, w, indexing="ij"))
    moved = 0
    for name in ("vcm.stanford1t1r_fit", "vcm.jiang2016_hfox", "vcm.crosssim_oxide_fit"):
        m = get_model(name)
        fine = get_model(name)
        fine.max_gap_step, fine.max_substeps = m.max_gap_step / 250, 10**7
        finer = get_model(name)
        finer.max_gap_step, finer.max_substeps = m.max_gap_step / 500, 10**7
        st = {"gap": G.copy(), "peak_temperature": np.full(G.size, 300.0)}
        out, ref, ref2 = (x.apply_pulse(st, V, W, 300.0) for x in (m, fine, finer))
        dg_ref = ref["gap"] - G
        assert np.all(np.abs(ref2["gap"] - ref["gap"]) <= 1e-6 * np.abs(dg_ref) + 1e-18)
        assert np.all(np.abs(out["gap"] - ref["gap"]) <= 1e-3 * np.abs(dg_ref) + 1e-15)
        assert np.all(np.abs(out["_energy"] - ref["_energy"]) <= 2e-3 * ref["_energy"])
        rise = ref["peak_temperature"] - 300.0
        assert np.all(np.abs(out["peak_temperature"] - ref["peak_temperature"]) <= 1e-2 * rise + 1e-9)
        moved += np.sum(np.abs(dg_ref) > 0.1e-9)
    assert moved > 60  # most cases move the gap by more than 0.1 nm (several sub-steps)
