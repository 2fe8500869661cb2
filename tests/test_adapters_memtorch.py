"""devicelib cards as MemTorch memristors in patched networks (skips when MemTorch does not import).

MemTorch's own models set np.seterr(all="raise") process-wide in simulate(); every test here restores numpy's error
state. Statistics of the programmed crossbars are checked against devicelib's closed-form predictions.
"""

from __future__ import annotations

import sys
import types

import numpy as np
import pytest

from devicelib.physics.pcm import drift_nu_mean, drift_nu_sigma, programming_sigma, read_noise_sigma

PCM = "pcm.joshi2020_statistical"
VCM = "vcm.crosssim_oxide_fit"


def _import_memtorch():
    """memtorch, with a stand-in for torchvision where that is absent (memtorch.utils imports it for its
    MNIST/CIFAR loaders only; a CPU torch may have no loadable torchvision wheel)."""
    try:
        import torchvision  # noqa: F401
    except Exception:
        tv = types.ModuleType("torchvision")
        tv.datasets = types.ModuleType("torchvision.datasets")
        tv.transforms = types.ModuleType("torchvision.transforms")
        tv.datasets.utils = types.ModuleType("torchvision.datasets.utils")
        for name in ("download_and_extract_archive", "download_url", "extract_archive", "verify_str_arg"):
            setattr(tv.datasets.utils, name, None)
        sys.modules.update({"torchvision": tv, "torchvision.datasets": tv.datasets,
                            "torchvision.transforms": tv.transforms, "torchvision.datasets.utils": tv.datasets.utils})
    try:
        import memtorch
        import memtorch.bh.memristor
        from memtorch.map.Parameter import naive_map
        from memtorch.mn.Module import patch_model
    except Exception as exc:  # ImportError or a broken binary extension
        pytest.skip(f"memtorch does not import ({type(exc).__name__}: {exc}); .ci/install-memtorch.sh installs it")
    return memtorch, patch_model, naive_map


@pytest.fixture(autouse=True)
def _numpy_errstate():
    saved = np.geterr()
    yield
    np.seterr(**saved)


@pytest.fixture(scope="module")
def mt():
    return _import_memtorch()


def _patch(mt, net, device):
    import torch

    _, patch_model, naive_map = mt
    return patch_model(net, memristor_model=device, memristor_model_params={},
                       module_parameters_to_patch=[torch.nn.Linear], mapping_routine=naive_map, transistor=True,
                       programming_routine=None, verbose=False)


def _layers(patched):
    return [m for m in patched.modules() if hasattr(m, "crossbars")]


def test_memristor_class_follows_devicelib_pulse_by_pulse(mt):
    """simulate() of the VCM card's memristor equals devicelib's own pulse-by-pulse evolution of the same device
    (state from the same conductance, same pulses): to 1e-12 relative; current from the sinh law."""
    from devicelib.adapters.memtorch import memtorch_memristor

    memristor = mt[0].bh.memristor.Memristor
    cls = memtorch_memristor(VCM, seed=0)
    assert issubclass(cls, memristor)
    d = cls()
    a = cls.adapter
    assert d.r_on == pytest.approx(1 / a.g_max) and d.r_off == pytest.approx(1 / a.g_min)
    d.set_conductance(2.0e-3)
    signal = np.array([-1.0, -1.0, 0.0, 1.0, 0.5])
    current = d.simulate(signal, return_current=True)
    model = a.model
    state = model.state_from_conductance(np.array([2.0e-3]), a.v_read)
    for v in signal:
        if v:
            state = model.apply_pulse(state, v, d.time_series_resolution, 300.0)
    assert d.g == pytest.approx(model.conductance(state, a.v_read)[0], rel=1e-12)
    assert current[-1] == pytest.approx(model.current(state, 0.5)[0], rel=1e-12)
    assert d.time_series_resolution == pytest.approx(100e-9)  # the card's pulse width


def test_patched_crossbars_programming_drift_and_read_noise(mt):
    """A patched Linear(128 -> 64) with all weights 0.5 under the PCM card: the positive crossbar sits at
    g_max = 25 uS. After program_crossbars(t = 1 h): mean within 1 % of G E[(t/t0)^-nu], spread within 6 % of the
    programming + drift prediction; with read noise the spread between two forward passes' conductances is
    devicelib's 1/f sigma_G(G(t), t) within 4 %."""
    import torch

    from devicelib.adapters.memtorch import memtorch_memristor, program_crossbars

    device = memtorch_memristor(PCM, seed=1)
    net = torch.nn.Sequential(torch.nn.Linear(128, 64, bias=False))
    with torch.no_grad():
        net[0].weight.fill_(0.5)
    patched = _patch(mt, net, device)
    (layer,) = _layers(patched)
    g_max = device.adapter.g_max
    np.testing.assert_allclose(layer.crossbars[0].conductance_matrix.numpy(), g_max, rtol=1e-6)
    t = 3600.0
    n = program_crossbars(patched, device, t=t, read_noise=True)
    assert n == 2 * 128 * 64
    g = layer.crossbars[0]._devicelib_programmed.numpy().astype(float)
    z = np.linspace(-8, 8, 4001)
    w = np.exp(-0.5 * z**2)
    w /= w.sum()
    f = (t / 20.0) ** (-np.abs(drift_nu_mean(g_max) + drift_nu_sigma(g_max) * z))
    mean_pred = g_max * np.sum(w * f)
    std_pred = np.sqrt((g_max**2 + programming_sigma(g_max) ** 2) * np.sum(w * f**2) - mean_pred**2)
    assert g.mean() == pytest.approx(mean_pred, rel=0.01)
    assert g.std() == pytest.approx(std_pred, rel=0.06)
    x = torch.ones(1, 128)
    patched(x)
    g1 = layer.crossbars[0].conductance_matrix.numpy().astype(float)
    patched(x)
    g2 = layer.crossbars[0].conductance_matrix.numpy().astype(float)
    assert np.std(g1 - g2) / np.sqrt(2) == pytest.approx(np.sqrt(np.mean(read_noise_sigma(g, t) ** 2)), rel=0.04)
    # the device objects hold the programmed values
    assert layer.crossbars[0].devices.flat[5].g == pytest.approx(float(g.flat[5]), rel=1e-6)


def test_digits_mlp_through_memtorch_two_cards(mt):
    """The digits MLP patched into MemTorch crossbars: the VCM oxide fit stays within 1 point of the ideal accuracy,
    the PCM card one day after programming (with read noise) within 15 points."""
    import torch
    from adapters_mlp import digits_mlp

    from devicelib.adapters.memtorch import memtorch_memristor, program_crossbars

    w1, w2, x, y, acc_ideal = digits_mlp()
    acc = {}
    for card, t in ((VCM, 0.0), (PCM, 86400.0)):
        net = torch.nn.Sequential(torch.nn.Linear(64, 32, bias=False), torch.nn.ReLU(),
                                  torch.nn.Linear(32, 10, bias=False))
        with torch.no_grad():
            net[0].weight.copy_(torch.as_tensor(w1.T))
            net[2].weight.copy_(torch.as_tensor(w2.T))
        device = memtorch_memristor(card, seed=2)
        patched = _patch(mt, net, device)
        program_crossbars(patched, device, t=t, read_noise=True)
        with torch.no_grad():
            out = patched(torch.as_tensor(x, dtype=torch.float32))
        acc[card] = float((out.argmax(1).numpy() == y).mean())
    assert acc_ideal > 0.95
    assert acc[VCM] >= acc_ideal - 0.01
    assert acc[PCM] >= acc_ideal - 0.15
