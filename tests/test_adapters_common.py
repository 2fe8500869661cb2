"""The simulator-neutral part of devicelib.adapters: mapping, window, programming physics, optional imports."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from devicelib.adapters import AdapterError, DeviceAdapter
from devicelib.registry import get_model


def test_importing_adapters_imports_no_simulator():
    code = ("import sys, devicelib.adapters, devicelib.adapters.crosssim, devicelib.adapters.aihwkit, "
            "devicelib.adapters.memtorch; print(sorted(m for m in ('simulator', 'aihwkit', 'memtorch', 'torch') "
            "if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


@pytest.mark.parametrize(("module", "func", "package"), [
    ("crosssim", "crosssim_device", "crosssim"),
    ("aihwkit", "aihwkit_noise_model", "aihwkit"),
    ("memtorch", "memtorch_memristor", "memtorch-cpu"),
])
def test_missing_simulator_names_the_package(monkeypatch, module, func, package):
    import importlib

    mod = importlib.import_module(f"devicelib.adapters.{module}")
    for name in ("simulator", "simulator.devices", "simulator.devices.idevice", "aihwkit", "memtorch"):
        monkeypatch.setitem(sys.modules, name, None)  # None in sys.modules makes the import fail
    if module == "aihwkit":
        monkeypatch.setattr(mod, "_CLASS", None)
    with pytest.raises(ImportError, match=rf"needs the '{package}' package.*install it with"):
        getattr(mod, func)("vcm.jiang2016_hfox")


def test_mapping_round_trip_and_window_from_validity():
    a = DeviceAdapter("vcm.crosssim_oxide_fit")
    assert (a.g_min, a.g_max) == pytest.approx((1.60568e-3, 2.48507e-3))  # validity.conductance
    x = np.linspace(0.1, 1.0, 7)
    g = a.to_physical(x, 0.1, 1.0)
    assert g[0] == pytest.approx(a.g_min) and g[-1] == pytest.approx(a.g_max)
    np.testing.assert_allclose(a.to_normalised(g, 0.1, 1.0), x, rtol=1e-12)


def test_window_from_state_bounds_is_the_sinh_law_at_the_gap_limits():
    """No validity.conductance: the window is the read at the gap bounds, G = I0 exp(-g/g0) sinh(V/V0)/V."""
    a = DeviceAdapter("vcm.jiang2016_hfox")
    p = a.model.params
    g_of = lambda gap: p["I0"] * np.exp(-gap / p["g0"]) * np.sinh(0.1 / p["V0"]) / 0.1  # noqa: E731
    assert a.g_min == pytest.approx(g_of(p["g_max"]), rel=1e-12)
    assert a.g_max == pytest.approx(g_of(p["g_min"]), rel=1e-12)
    b = DeviceAdapter("vcm.jiang2016_hfox", g_min="10 uS", g_max="1 mS", v_read=0.2)
    assert (b.g_min, b.g_max, b.v_read) == pytest.approx((1e-5, 1e-3, 0.2))


def test_write_verify_residual_matches_its_prediction():
    """Cards without a statistical layer: the error is uniform within +-dG/2 of the operating pulse's own step at
    that state (up or down at random): std sqrt((dG+^2 + dG-^2)/24) within 3 % (20000 devices), no bias."""
    a = DeviceAdapter("vcm.crosssim_oxide_fit", seed=3)
    g = np.full(20000, 2.0e-3)
    out = a.conductance_at(g, 0.0)
    sig = a.programming_sigma(np.array([2.0e-3]))[0]
    up, dn = a.pulse_steps(np.array([2.0e-3]))
    assert sig == pytest.approx(np.sqrt((up[0] ** 2 + dn[0] ** 2) / 24))
    assert out.std() == pytest.approx(sig, rel=0.03)
    assert abs(out.mean() - 2.0e-3) < 4 * sig / np.sqrt(g.size)
    assert np.abs(out - 2.0e-3).max() <= 0.5 * max(up[0], dn[0]) * (1 + 1e-9)


def test_pcm_programming_sigma_is_the_published_polynomial_at_v_stat():
    a = DeviceAdapter("pcm.joshi2020_statistical")
    g = np.array([5e-6, 25e-6])
    gn = g / 25e-6
    np.testing.assert_allclose(a.programming_sigma(g), (0.26348 + 1.9650 * gn - 1.1731 * gn**2) * 1e-6, rtol=1e-6)


def test_volatile_family_drifts_through_its_own_relax():
    """Protonic ECRAM (Onen 2022) relaxes with no bias; the adapter's drift is exactly the model's relax (and moves
    the conductance by more than 0.1 % in 1000 s somewhere in the window)."""
    a = DeviceAdapter("ecram.onen2022_protonic", seed=0)
    g = np.linspace(a.g_min, a.g_max, 6)[1:]
    s = a.state_of(g)
    drifted = a.read(a.drift(dict(s), 1e3))
    np.testing.assert_allclose(drifted, a.read(a.model.relax(dict(s), 1e3, 300.0)), rtol=1e-12)
    assert np.max(np.abs(drifted / a.read(s) - 1.0)) > 1e-3


def test_bad_inputs_fail_with_clear_errors():
    with pytest.raises(AdapterError, match="cannot set a state from a conductance"):
        DeviceAdapter(get_model("fefet.preisach"))
    with pytest.raises(AdapterError, match="g_min < g_max"):
        DeviceAdapter("vcm.jiang2016_hfox", g_min=1e-3, g_max=1e-4)
    with pytest.raises(AdapterError, match="outside the card's validity"):
        DeviceAdapter("pcm.joshi2020_statistical", temperature=400.0)
    with pytest.raises(AdapterError, match="no card"):
        DeviceAdapter("no.such_card")


def test_pcm_current_law_is_the_models_poole_frenkel_read():
    """PCM I-V: the adapter's current over a matrix of voltages equals the model's own read G(|V|) V at each
    voltage (Poole-Frenkel plug in series with R_c) to 1e-9, and is far from ohmic away from v_read."""
    a = DeviceAdapter("pcm.joshi2020_statistical")
    assert a.has_current_law
    g = np.array([1e-6, 5e-6, 20e-6])
    volts = np.array([-0.5, -0.05, 0.0, 0.1, 0.2, 0.5])
    i = a.current(g, np.broadcast_to(volts, (3, volts.size)))
    assert i.shape == (3, volts.size)
    state = a.state_of(g)
    for k, v in enumerate(volts):
        expect = a.model.conductance(state, abs(v)) * v if v else np.zeros(3)
        np.testing.assert_allclose(i[:, k], expect, rtol=1e-9, atol=0)
    np.testing.assert_allclose(i[:, 4], g * 0.2, rtol=1e-9)  # the read voltage defines G
    # away from v_read the amorphous plug is far from ohmic; at high G the crystalline annulus in parallel
    # (ohmic) carries more of the current, so the nonlinearity shrinks with G
    dev = np.abs(i[:, 5] / (g * 0.5) - 1)
    assert dev[0] > 0.1 and np.all(np.diff(dev) < 0) and dev[-1] > 0.01


def test_every_card_adapts_or_says_why():
    """Every catalog card becomes a device (window from validity, state bounds, or what its operating pulses
    reach; ambient from its [operating] temperature), except models that cannot be set to a conductance,
    which are refused with the reason. Programmed means land on the targets."""
    import warnings

    from devicelib.catalog import list_catalog

    refused = {}
    for card in list_catalog():
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                a = DeviceAdapter(card.name, seed=0)
        except AdapterError as exc:
            refused[card.name] = str(exc)
            continue
        assert np.isfinite(a.g_min) and np.isfinite(a.g_max) and 0 <= a.g_min < a.g_max, card.name
        lo, hi = card.validity_range("temperature") or (0.0, np.inf)
        assert lo <= a.temperature <= hi, card.name
    assert set(refused) <= {"fefet.ni2018_preisach", "mott.galloni2024_vo2_rv_fit", "mott.galloni2024_vo2_pulse_fit",
                            "mott.pickett2012_nbo2", "mott.qiu2024_vo2"}, refused
    assert all("cannot set a state from a conductance" in m for m in refused.values())
    assert "volatile threshold switch" in refused["mott.qiu2024_vo2"]
    # the FeFET read is unbounded in polarisation: its window is what the operating pulses reach
    a = DeviceAdapter("fefet.jerry2017_synapse", seed=1)
    targets = a.to_physical(np.linspace(0.1, 0.9, 5))
    g = a.read(a.program(np.repeat(targets, 400))).reshape(5, 400)
    assert np.all(np.abs(g.mean(axis=1) - targets) < 0.01 * (a.g_max - a.g_min))
    # a 4.2 K card is adapted at its operating temperature, not at 300 K
    assert DeviceAdapter("josephson.schneider2018_nbsimn").temperature == 4.2
