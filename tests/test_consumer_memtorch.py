"""Consumer test: the real MemTorch (memtorch-cpu 1.1.6) builds the exported memristor and replays the pulses.

MemTorch is installed by ``.ci/install-memtorch.sh``; the tests skip with the reason when it does not
import. ``memtorch.utils`` imports torchvision for its MNIST/CIFAR loaders only; where no torchvision
loads on the CPU torch (PyPI's wheel is a CUDA build), a stand-in module provides the names it imports.
MemTorch's ``simulate`` sets ``np.seterr(all="raise")`` for the whole process: every call here runs
inside ``np.errstate()``, which restores numpy's error handling afterwards.
"""

import sys
import types

import numpy as np
import pytest

from devicelib.export import export, memtorch
from devicelib.export.common import resolve_card, resolve_condition, simulate_response


def _torchvision_stand_in():
    tv = types.ModuleType("torchvision")
    tv.datasets = types.ModuleType("torchvision.datasets")
    tv.transforms = types.ModuleType("torchvision.transforms")
    tv.datasets.utils = types.ModuleType("torchvision.datasets.utils")
    for name in ("download_and_extract_archive", "download_url", "extract_archive", "verify_str_arg"):
        setattr(tv.datasets.utils, name, None)
    return {"torchvision": tv, "torchvision.datasets": tv.datasets, "torchvision.transforms": tv.transforms,
            "torchvision.datasets.utils": tv.datasets.utils}


@pytest.fixture(scope="module")
def mt():
    pytest.importorskip("torch", reason="MemTorch needs torch (see .ci/install-memtorch.sh)")
    stand_in = {}
    try:
        import torchvision  # noqa: F401
    except ImportError:
        stand_in = {k: v for k, v in _torchvision_stand_in().items() if k not in sys.modules}
        sys.modules.update(stand_in)
    try:
        with np.errstate():
            return pytest.importorskip("memtorch", reason="MemTorch is not installed (see .ci/install-memtorch.sh)")
    finally:  # memtorch.utils keeps its references; nothing else in the session sees the stand-in
        for k in stand_in:
            sys.modules.pop(k, None)


def _export(tmp_path, name, **cond):
    card = resolve_card(name)
    r = export(card, "memtorch", tmp_path / "m.json", **cond)
    resp = simulate_response(card, r.condition)
    return r, resp, memtorch.read(tmp_path / "m.json")


def _run_data_driven(mt, doc, g0, directions, drive=None):
    cls, params = memtorch.build_params(doc)
    drive = drive or doc["drive_voltage"]
    with np.errstate():
        dev = cls(**params)
        dev.set_conductance(g0)
        out = [dev.g]
        for d in directions:
            dev.simulate([drive["potentiating"] if d > 0 else drive["depressing"]])
            out.append(dev.g)
    return np.array(out)


def _rel_rmse(g, resp):
    return float(np.sqrt(np.mean((g - resp.g_nominal) ** 2)) / (resp.g_max - resp.g_min))


# ENODe and the nickelate are potentiated by a negative pulse, PCM depressed by a positive RESET current
CASES = [("ecram.enode_crosssim_fit", {"amplitude": "-0.5 V", "amplitude_down": "0.5 V"}),
         ("mott.zhang2022_nickelate", {"amplitude": "-5 V", "amplitude_down": "5 V"}),
         ("pcm.joshi2020_statistical", {}),
         ("ecram.tang2018_liion", {})]


@pytest.mark.parametrize(("name", "cond"), CASES)
def test_data_driven_reproduces_claimed_error(mt, tmp_path, name, cond):
    r, resp, doc = _export(tmp_path, name, **cond)
    assert doc["model"] == "Data_Driven2021"
    g = _run_data_driven(mt, doc, resp.g_nominal[0], resp.directions())
    assert _rel_rmse(g, resp) == pytest.approx(r.mapping["rmse_relative_to_window"], rel=0.10, abs=1e-9)
    # potentiation raises G and depression lowers it in MemTorch
    assert g[resp.n_up] > g[0] and g[-1] < g[resp.n_up]


def test_data_driven_branch_is_the_sign_not_the_physics(mt, tmp_path):
    """Driving MemTorch with ENODe's physical pulses (-0.5 V potentiates) runs the depression branch."""
    r, resp, doc = _export(tmp_path, CASES[0][0], **CASES[0][1])
    assert doc["drive_voltage"] == {"potentiating": 0.5, "depressing": -0.5}
    physical = {"potentiating": r.condition.amplitude_up, "depressing": r.condition.amplitude_down}
    g = _run_data_driven(mt, doc, resp.g_nominal[0], resp.directions(), drive=physical)
    assert g[resp.n_up] <= g[0]  # the "potentiating" train never raises G
    assert _rel_rmse(g, resp) > 5 * r.mapping["rmse_relative_to_window"]


@pytest.fixture(scope="module")
def pku(tmp_path_factory):
    card = resolve_card("vcm.jiang2016_hfox_continuous")  # F_min = 0: moves at +/-1.2 V, 10 ns
    resp = simulate_response(card, resolve_condition(card, amplitude=1.2, amplitude_down=-1.2, width=1e-8),
                             n_pulses=30)
    out = tmp_path_factory.mktemp("pku") / "m.json"
    r = export(card, "memtorch", out, response=resp)
    return r, resp, memtorch.read(out)


def test_stanford_pku_reads_at_the_read_voltage(mt, pku):
    r, resp, doc = pku
    cls, params = memtorch.build_params(doc)
    steps = r.mapping["steps_per_pulse"]
    vr = params["read_voltage"]
    span = resp.g_max - resp.g_min
    with np.errstate():
        dev = cls(**params)
        dev.set_conductance(resp.g_nominal[0])
        g_read, g_attr = [dev.current(vr) / vr], [dev.g]
        for d in resp.directions():
            v = doc["drive_voltage"]["potentiating"] if d > 0 else doc["drive_voltage"]["depressing"]
            dev.simulate(np.full(steps, v))
            g_read.append(dev.current(vr) / vr)
            g_attr.append(dev.g)
    g_read, g_attr = np.array(g_read), np.array(g_attr)
    assert doc["conductance_readout"] == "current(read_voltage) / read_voltage"
    err = float(np.sqrt(np.mean((g_read - resp.g_nominal) ** 2)) / span)
    assert err == pytest.approx(r.mapping["rmse_relative_to_window"], rel=0.10, abs=1e-6)
    # its g is the chord conductance at the write voltage, one step late: not the device's conductance
    assert np.max(np.abs(g_attr[1:] - resp.g_nominal[1:])) > span


def test_simulate_sets_numpy_errors_process_wide(mt, pku):
    _, _, doc = pku
    cls, params = memtorch.build_params(doc)
    before = np.geterr()
    with np.errstate():
        cls(**params).simulate(np.full(4, 1.2))
        assert np.geterr()["divide"] == "raise"  # what MemTorch leaves behind ...
    assert np.geterr() == before  # ... and what np.errstate restores
