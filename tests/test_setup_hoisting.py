"""Per-train set-up hoisted out of the pulse loop (issue 15): the fast paths equal the general ones.

VCM: the parameter matrix is built once (one shared row, or one row per device) and small problems run
the serial twin of the parallel kernel; both must give the same numbers as the general per-device layout.
Stochastic MTJ: pulse conditions shared by all devices are evaluated once per pulse and the per-device
update runs in one compiled pass; with the same generator it must draw the same states as the numpy path.
"""

from __future__ import annotations

import numpy as np
import pytest

from devicelib import get_model
from devicelib.physics import vcm


def _pulse_general(model, g, amp, width, temp):
    """One pulse through the parallel kernel with every parameter and condition spelt out per device."""
    n = g.size
    rows = np.stack([np.broadcast_to(np.asarray(model.params[k], float), (n,)) for k in vcm._KERNEL_PARAMS], 1)
    full = [np.ascontiguousarray(np.broadcast_to(np.asarray(x, float), (n,))) for x in (amp, width, temp)]
    return vcm._pulse_kernel(g, *full, np.ascontiguousarray(rows), model.max_gap_step, model.max_substeps)


@pytest.mark.parametrize("name", ["vcm.crosssim_oxide_fit", "vcm.jiang2016_hfox"])
def test_vcm_serial_shared_row_equals_general_layout(name):
    model = get_model(name)
    rng = np.random.default_rng(5)
    n = 64
    g = rng.uniform(model.params["g_min"], model.params["g_max"], n)
    for amp, width, temp in ((1.3, 5e-8, 300.0), (-1.4, 1e-6, 350.0), (rng.uniform(-1.5, 1.5, n), 1e-7, 320.0)):
        ref = _pulse_general(model, g, amp, width, temp)
        new = model.apply_pulse({"gap": g}, amp, width, temp)
        assert model._param_matrix(n).shape == (1, len(vcm._KERNEL_PARAMS))
        assert n < vcm.SERIAL_BELOW  # the serial twin ran
        np.testing.assert_allclose(new["gap"], ref[0], rtol=1e-12, atol=0)
        np.testing.assert_allclose(new["peak_temperature"], ref[1], rtol=1e-12)
        np.testing.assert_allclose(new["_energy"], ref[2], rtol=1e-12, atol=0)
        assert np.any(new["gap"] != g)  # the pulse moved the gaps: the comparison has content


def test_vcm_parameter_matrix_cache_follows_with_params():
    model = get_model("vcm.crosssim_oxide_fit")
    n = vcm.SERIAL_BELOW + 10  # the parallel kernel
    assert n >= vcm.SERIAL_BELOW
    nu = model.params["nu0"] * np.geomspace(0.3, 3.0, n)
    per_dev = model.with_params(nu0=nu)
    m = per_dev._param_matrix(n)
    assert m.shape == (n, len(vcm._KERNEL_PARAMS))
    assert per_dev._param_matrix(n) is m  # cached for the next pulse
    g = np.full(n, model.params["g_max"])
    out = per_dev.apply_pulse({"gap": g}, 1.2, 1e-7, 300.0)
    ref = _pulse_general(per_dev, g, 1.2, 1e-7, 300.0)
    np.testing.assert_allclose(out["gap"], ref[0], rtol=1e-12, atol=0)
    # faster hopping closes the gap further: the per-device rows were used, not a shared one
    assert out["gap"][-1] < out["gap"][0]
    # a new parameter object invalidates the cache
    again = per_dev.with_params(nu0=nu * 2.0)
    assert again._param_matrix(n)[0, vcm._KERNEL_PARAMS.index("nu0")] == pytest.approx(2.0 * nu[0])


@pytest.mark.parametrize("current, width", [(30e-6, 1e-6), (-40e-6, 1e-8), (120e-6, 2e-9), (-150e-6, 1e-9),
                                            (0.0, 1e-3)])
@pytest.mark.parametrize("mean", [False, True])
def test_mtj_shared_condition_pass_equals_numpy_path(monkeypatch, current, width, mean):
    base = get_model("spintronic.stochastic_mtj").with_params(E_b=12 * 1.380649e-23 * 300)
    n = 4000
    start = {"antiparallel": (np.random.default_rng(1).random(n) < 0.5).astype(float)}

    def run(general):
        model = base.mean_field() if mean else base
        model.rng = np.random.default_rng(11)
        if general:
            monkeypatch.setattr(type(model), "_step_shared", lambda *a, **k: None)
        out = model.apply_pulse(start, current, width, 310.0)
        energy = model.pulse_energy(start, out, current, width, 310.0)
        monkeypatch.undo()
        return out, energy

    (fast, e_fast), (ref, e_ref) = run(False), run(True)
    np.testing.assert_allclose(fast["antiparallel"], ref["antiparallel"], rtol=1e-12, atol=0)
    np.testing.assert_allclose(fast["_t_ap"], ref["_t_ap"], rtol=1e-12, atol=1e-30)
    np.testing.assert_allclose(e_fast, e_ref, rtol=1e-12, atol=0)
    if current > 50e-6 and width >= 1e-8:  # well above I_c0,P for long enough: the devices end in P
        assert fast["antiparallel"].mean() < 0.05
    if not mean:
        assert set(np.unique(fast["antiparallel"])) <= {0.0, 1.0}


def test_mtj_r_ap_cached_for_a_scalar_current():
    model = get_model("spintronic.stochastic_mtj")
    r = model._r_ap_at_current(80e-6)
    assert np.ndim(r) == 0
    assert model._r_ap_at_current(np.full(5, 80e-6)) == pytest.approx(np.full(5, float(r)), rel=1e-15)
    # self-consistent bias: V = I R_AP(V)
    v = 80e-6 * float(r)
    assert float(r) == pytest.approx(float(model.r_ap(v)), rel=1e-12)
    assert float(model.r_p()) < float(r) < float(model.r_ap(0.0))


def test_ecm_parameter_pack_built_once_per_train():
    model = get_model("ecm.menzel2013_ag")
    n = 40
    first = model._packed(n)
    assert model._packed(n) is first  # reused by the next pulse
    assert model._packed(n + 1).shape[0] == n + 1  # another device count rebuilds it
    other = model.with_params(j0=2.0 * model.params["j0"])
    from devicelib.physics import ecm
    col = ecm._KP.index("j0")
    assert other._packed(n)[0, col] == pytest.approx(2.0 * model.params["j0"])
    np.testing.assert_array_equal(other._packed(n), ecm._pack(other.params, n))
