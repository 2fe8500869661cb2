"""devicelib cards as aihwkit inference noise models, run through aihwkit's analog tiles (skips without aihwkit).

Statistics inside aihwkit are checked against devicelib's closed-form predictions (PCM statistical layer of
Nandakumar 2019 / Joshi 2020) with the tolerances stated per test.
"""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("aihwkit", reason="aihwkit not installed (.ci/install-aihwkit.sh builds it)")
import torch
from aihwkit.inference.noise.base import BaseNoiseModel
from aihwkit.nn import AnalogLinear
from aihwkit.nn.conversion import convert_to_analog
from aihwkit.simulator.configs import InferenceRPUConfig

from devicelib.adapters.aihwkit import aihwkit_noise_model
from devicelib.physics.pcm import drift_nu_mean, drift_nu_sigma, programming_sigma, read_noise_sigma

PCM = "pcm.joshi2020_statistical"
VCM = "vcm.crosssim_oxide_fit"


def _drift_moments(g, t, t0=20.0, n=4001):
    mu, sig = drift_nu_mean(g), drift_nu_sigma(g)
    z = np.linspace(-8, 8, n)
    w = np.exp(-0.5 * z**2)
    w /= w.sum()
    f = (t / t0) ** (-np.abs(mu + sig * z))
    return float(np.sum(w * f)), float(np.sum(w * f**2))


def _rpu(noise_model):
    rpu = InferenceRPUConfig(noise_model=noise_model)
    rpu.forward.is_perfect = True  # no aihwkit I/O noise: the device is the only non-ideality
    return rpu


def test_noise_model_is_an_aihwkit_noise_model_on_the_card_window():
    nm = aihwkit_noise_model(PCM)
    assert isinstance(nm, BaseNoiseModel)
    assert nm.g_converter.g_max == pytest.approx(25.0)  # uS
    assert 0.0 < nm.g_converter.g_min < 0.1
    assert "pcm.joshi2020_statistical" in str(nm)


def test_noise_model_pickles_with_the_layer_state():
    """aihwkit pickles the rpu config in state dicts and deep-copies it per tile: the run-time class survives."""
    import io
    import pickle

    nm = aihwkit_noise_model(PCM)
    again = pickle.loads(pickle.dumps(nm))
    assert again == nm and type(again) is type(nm)
    assert again.adapter.g_max == nm.adapter.g_max
    layer = AnalogLinear(8, 4, rpu_config=_rpu(nm))
    buf = io.BytesIO()
    torch.save(layer.state_dict(), buf)
    buf.seek(0)
    other = AnalogLinear(8, 4, rpu_config=_rpu(aihwkit_noise_model(PCM)))
    other.load_state_dict(torch.load(buf, weights_only=False))
    torch.testing.assert_close(other.get_weights()[0], layer.get_weights()[0])


def test_pcm_programming_and_drift_statistics_match_devicelib():
    """At 5, 12.5 and 25 uS (20000 devices each): programmed sigma within 4 % of sigma_P(G); after t = 1 h the
    mean within 1 % of G E[(t/t0)^-nu] and the spread within 6 % of the drift + 1/f prediction; the 1/f read noise
    alone (two evaluations of the same programmed devices) within 3 % of devicelib's sigma_G(G(t), t)."""
    torch.manual_seed(0)
    nm = aihwkit_noise_model(PCM)
    t = 3600.0
    for g_us in (5.0, 12.5, 25.0):
        g = g_us * 1e-6
        target = torch.full((20000,), g_us, dtype=torch.float64)
        prog = nm.apply_programming_noise_to_conductance(target)
        nu = nm.generate_drift_coefficients(target)
        assert prog.std().item() * 1e-6 == pytest.approx(programming_sigma(g), rel=0.04)
        assert abs(prog.mean().item() - g_us) < 4 * programming_sigma(g) * 1e6 / np.sqrt(20000)
        d1 = nm.apply_drift_noise_to_conductance(prog, nu, t).numpy() * 1e-6
        d2 = nm.apply_drift_noise_to_conductance(prog, nu, t).numpy() * 1e-6
        m1, m2 = _drift_moments(g, t)
        mean_pred = g * m1
        var_drift = (g**2 + programming_sigma(g) ** 2) * m2 - mean_pred**2
        var_read = read_noise_sigma(mean_pred, t) ** 2
        assert d1.mean() == pytest.approx(mean_pred, rel=0.01)
        assert d1.std() == pytest.approx(np.sqrt(var_drift + var_read), rel=0.06)
        drifted = nm.adapter.read(nm.adapter.drift(nm.adapter.state_of(prog.numpy() * 1e-6), t))
        assert np.std(d1 - d2) / np.sqrt(2) == pytest.approx(np.sqrt(np.mean(read_noise_sigma(drifted, t) ** 2)),
                                                             rel=0.03)


def test_analog_linear_programmed_weights_spread():
    """Weights all 0.5 on an AnalogLinear tile: G+ = g_max, G- = g_min. The programmed G- is the normal
    N(g_min, sigma_P(g_min)) clipped at 0 S (no negative conductance; sigma_P(g_min) is 6 g_min), which biases the
    weight low; mean and spread of the weights within 4 standard errors and 5 % of that prediction (12800)."""
    torch.manual_seed(1)
    nm = aihwkit_noise_model(PCM)
    layer = AnalogLinear(128, 100, bias=False, rpu_config=_rpu(nm))
    layer.set_weights(torch.full((100, 128), 0.5))
    layer.eval()
    layer.program_analog_weights()
    w = layer.get_weights()[0].numpy()
    a = nm.adapter
    from scipy.stats import norm

    m, s = a.g_min, programming_sigma(a.g_min)
    z = m / s
    mean_minus = m * norm.cdf(z) + s * norm.pdf(z)  # moments of max(N(m, s), 0)
    var_minus = (m**2 + s**2) * norm.cdf(z) + m * s * norm.pdf(z) - mean_minus**2
    scale = 0.5 / (a.g_max - a.g_min)
    mean_pred = 0.5 - (mean_minus - m) * scale
    std_pred = np.sqrt(programming_sigma(a.g_max) ** 2 + var_minus) * scale
    assert w.std() == pytest.approx(std_pred, rel=0.05)
    assert abs(w.mean() - mean_pred) < 4 * std_pred / np.sqrt(w.size)
    assert mean_pred < 0.5 - 6 * std_pred / np.sqrt(w.size)  # the clipping bias is resolved by this test


def test_digits_mlp_through_aihwkit_two_cards():
    """The digits MLP converted to aihwkit analog layers with a devicelib card: the VCM oxide fit stays within 1
    point of the ideal accuracy; the PCM card one day after programming (with aihwkit's global drift compensation)
    within 15 points."""
    from adapters_mlp import digits_mlp

    w1, w2, x, y, acc_ideal = digits_mlp()
    net = torch.nn.Sequential(torch.nn.Linear(64, 32, bias=False), torch.nn.ReLU(),
                              torch.nn.Linear(32, 10, bias=False))
    with torch.no_grad():
        net[0].weight.copy_(torch.as_tensor(w1.T))
        net[2].weight.copy_(torch.as_tensor(w2.T))
    xt = torch.as_tensor(x, dtype=torch.float32)
    acc = {}
    for card, t in ((VCM, 0.0), (PCM, 86400.0)):
        torch.manual_seed(2)
        analog = convert_to_analog(net, _rpu(aihwkit_noise_model(card)))
        analog.eval()
        analog.program_analog_weights()
        analog.drift_analog_weights(t)
        with torch.no_grad():
            acc[card] = float((analog(xt).argmax(1).numpy() == y).mean())
    assert acc_ideal > 0.95
    assert acc[VCM] >= acc_ideal - 0.01
    assert acc[PCM] >= acc_ideal - 0.15
