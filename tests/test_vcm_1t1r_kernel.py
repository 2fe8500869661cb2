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
