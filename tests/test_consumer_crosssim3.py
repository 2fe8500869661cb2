"""Consumer test: the real CrossSim 3.2 loads the exported device JSON and runs an MVM with it.

CrossSim 3.2.0 is installed into the venv from ``../shared/consumers/crosssim-3.2.0`` by ``.ci/run``
(``pip install --no-deps``); the test skips with the reason when it is not importable.
"""

import json

import numpy as np
import pytest

from devicelib.catalog import card_from_dict
from devicelib.export import export
from devicelib.export.common import resolve_card, resolve_condition, simulate_response

simulator = pytest.importorskip(
    "simulator", reason="CrossSim 3.2 is not installed (pip install --no-deps ../shared/consumers/crosssim-3.2.0)")


@pytest.mark.parametrize("name", ["vcm.jiang2016_hfox", "ecram.tang2018_liion"])
def test_crosssim3_loads_and_runs_mvm(tmp_path, name):
    r = export(name, "crosssim", tmp_path / "cs")
    path = tmp_path / "cs" / "crosssim_device.json"
    params = simulator.CrossSimParameters.from_json(str(path))
    dev = params.xbar.device
    written = json.loads(path.read_text(encoding="utf-8"))["xbar"]["device"]
    # every field reaches CrossSim unchanged
    assert dev.Rmin == written["Rmin"] and dev.Rmax == written["Rmax"] and dev.cell_bits == written["cell_bits"]
    assert dev.Vread == written["Vread"] and dev.clip_conductance is True
    assert dev.programming_error.enable == written["programming_error"]["enable"]
    g_lo, g_hi = (r.mapping["window"][k]["value"] for k in ("g_min", "g_max"))
    assert 1 / dev.Rmax == pytest.approx(g_lo) and 1 / dev.Rmin == pytest.approx(g_hi)
    # the MVM check below is the deterministic part: programming noise (tested separately) off
    dev.programming_error.enable = False
    dev.read_noise.enable = False
    rng = np.random.default_rng(0)
    w = rng.uniform(-1, 1, (8, 16))
    x = rng.uniform(-1, 1, 16)
    core = simulator.AnalogCore(w, params)
    y = core.matvec(x)
    w_prog = core.get_matrix()
    # without noise the weights are the written cell_bits levels, nothing else
    assert np.abs(w_prog - w).max() <= 1.0 / (2 ** dev.cell_bits - 1) + 1e-12
    np.testing.assert_allclose(y, w_prog @ x, atol=1e-6)
    assert np.abs(y - w @ x).max() < np.abs(x).sum() / (2 ** dev.cell_bits - 1)


def test_crosssim3_noise_models_are_crosssims(tmp_path):
    """Read noise and programming error blocks name CrossSim's generic device classes; it runs them."""
    data = resolve_card("vcm.jiang2016_hfox_continuous").to_dict()
    data["variability"] = {"c2c": 0.1, "read": 0.02}
    card = card_from_dict(data)
    resp = simulate_response(card, resolve_condition(card, amplitude=1.2, amplitude_down=-1.2, width=1e-8),
                             n_pulses=40, n_devices=16, seed=1)
    export(card, "crosssim", tmp_path / "cs", response=resp)
    params = simulator.CrossSimParameters.from_json(str(tmp_path / "cs" / "crosssim_device.json"))
    dev = params.xbar.device
    assert dev.read_noise.enable and dev.read_noise.model == "NormalProportionalDevice"
    assert dev.read_noise.magnitude == pytest.approx(0.02)
    assert dev.programming_error.enable and dev.programming_error.magnitude > 0
    w = np.full((4, 64), 0.5)

    def mvms(clip):
        dev.clip_conductance = clip
        core = simulator.AnalogCore(w, params)
        return np.array([core.matvec(np.ones(64)) for _ in range(50)])

    # read noise (2 % of G per read) makes repeated MVMs differ; without clipping their mean is the programmed
    # value (64 x 0.5; programming error is 6e-4 of the window here)
    ys = mvms(clip=False)
    assert ys.std(axis=0).mean() > 0
    assert ys.mean() == pytest.approx(32.0, rel=0.03)
    # CrossSim clips each noisy read to [Gmin, Gmax]: this window is only 8.8 % of G wide, so 2 % of G is
    # about 0.24 of the window per read and clipping pulls the mean down (about 26 in CrossSim 3.2)
    assert 22.0 < mvms(clip=True).mean() < 30.5
