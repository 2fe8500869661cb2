r"""devicelib cards as MemTorch memristor models.

MemTorch patches a torch network into crossbars of ``memtorch.bh.memristor.Memristor`` objects
(``patch_model(..., memristor_model=cls, memristor_model_params={})``). :func:`memtorch_memristor`
returns such a class bound to one card; :func:`program_crossbars` then programs every crossbar of the
patched network with the card's physics, vectorised over each conductance matrix:

.. code-block:: python

    import memtorch, torch
    from memtorch.mn.Module import patch_model
    from memtorch.map.Parameter import naive_map
    from devicelib.adapters.memtorch import memtorch_memristor, program_crossbars

    device = memtorch_memristor("pcm.joshi2020_statistical")
    patched = patch_model(net, memristor_model=device, memristor_model_params={},
                          module_parameters_to_patch=[torch.nn.Linear], mapping_routine=naive_map,
                          transistor=True, programming_routine=None, verbose=False)
    program_crossbars(patched, device, t=3600.0, read_noise=True)   # programming error, 1 h drift, read noise
    y = patched(x)

The class (``r_on = 1/g_max``, ``r_off = 1/g_min``: the card's window, so MemTorch's ``naive_map`` maps
``|w|/max|w|`` linearly onto ``[g_min, g_max]`` in S) implements

``set_conductance(g)``
    the state whose read at ``v_read`` is ``g`` (MemTorch's ideal 1T1R write), clipped to the window (the
    state is inferred when first needed: MemTorch calls this once per device object);
``simulate(voltage_signal, return_current=False)``
    the model's ``apply_pulse`` for every sample of the signal (in the family's amplitude unit: V, or A for
    current-driven families such as PCM) (width ``time_series_resolution``, the
    card's operating pulse width by default), ``g`` read at ``v_read`` after it; the current is the model's
    current law at each sample's voltage (ohmic at the read conductance for families without one).

:func:`program_crossbars` replaces each crossbar's ``conductance_matrix`` (what MemTorch's 1T1R forward
multiplies by) with the programmed and drifted conductances of
:meth:`~devicelib.adapters.common.DeviceAdapter.conductance_at` and stores the values in the device objects;
with ``read_noise=True`` a forward pre-hook redraws the card's read noise at every forward pass. MemTorch sets
``np.seterr(all="raise")`` process-wide in its own models' ``simulate``; this class does not touch it.
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np

from .common import DeviceAdapter, require

_HOOK = "_devicelib_read_noise_hook"


def _base():
    require("memtorch", "memtorch-cpu",
            how="`pip install --no-build-isolation --no-deps memtorch-cpu==1.1.6` and its runtime dependencies "
                "(see .ci/install-memtorch.sh)")
    from memtorch.bh.memristor.Memristor import Memristor

    return Memristor


def memtorch_memristor(source: Any, *, name: str | None = None, **adapter_options) -> type:
    """A MemTorch ``Memristor`` subclass bound to the card ``source`` (card, name/path or DeviceModel).

    ``adapter_options`` go to :class:`~devicelib.adapters.common.DeviceAdapter`. The class can be built with no
    argument (MemTorch does so to read ``r_on``/``r_off``); it shares one adapter (and random generator).
    """
    base = _base()
    adapter = source if isinstance(source, DeviceAdapter) else DeviceAdapter(source, **adapter_options)
    cls_name = name or "Devicelib_" + re.sub(r"\W", "_", adapter.name)
    width = adapter._pulses[2]

    def __init__(self, time_series_resolution=width, r_off=None, r_on=None, **kwargs):
        r_on = 1.0 / adapter.g_max if r_on is None else r_on
        r_off = (1.0 / adapter.g_min if adapter.g_min > 0 else np.inf) if r_off is None else r_off
        base.__init__(self, r_off, r_on, time_series_resolution)
        self._state = None
        self.set_conductance(adapter.g_min if adapter.g_min > 0 else 1e-3 * adapter.g_max)

    cls = type(cls_name, (base,), {
        "__doc__": f"devicelib card {adapter.name} as a MemTorch memristor (devicelib.adapters.memtorch).",
        "__module__": __name__,
        "adapter": adapter,
        "__init__": __init__,
        "set_conductance": _set_conductance,
        "simulate": _simulate,
        "state": property(_get_state),
        "plot_hysteresis_loop": _plot_hysteresis_loop,
        "plot_bipolar_switching_behaviour": _plot_bipolar,
    })
    return cls


def _get_state(self):
    if self._state is None:  # set lazily: program_crossbars stores only g in the device objects
        self._state = self.adapter.state_of(np.array([self.g], dtype=float))
    return self._state


def _set_conductance(self, conductance):
    # MemTorch calls this once per device object when it writes a crossbar: keep it cheap, infer the state lazily
    a = self.adapter
    self.g = float(np.clip(float(conductance), a.g_min, a.g_max))
    self._state = None


def _simulate(self, voltage_signal, return_current=False):
    a = self.adapter
    v = np.atleast_1d(np.asarray(voltage_signal, dtype=float))
    state = self.state
    current = np.empty(v.size) if return_current else None
    for k, vk in enumerate(v):  # the time samples are sequential; one device
        if vk != 0.0:
            state = a.model.apply_pulse(state, vk, self.time_series_resolution, a.temperature)
        if return_current:  # current-driven families (amplitude unit A): the drive is the current
            current[k] = vk if a.model.amplitude_unit == "A" else a.current(a.read(state), np.array([vk]))[0]
    self._state = state
    self.g = float(a.read(state)[0])
    return current


def _plot_hysteresis_loop(self, duration=1e-6, voltage_signal_amplitude=1.0, voltage_signal_frequency=1e6,
                          log_scale=False, return_result=False):
    from memtorch.bh.memristor.Memristor import plot_hysteresis_loop

    return plot_hysteresis_loop(self, duration, voltage_signal_amplitude, voltage_signal_frequency, log_scale,
                                return_result)


def _plot_bipolar(self, voltage_signal_amplitude=1.0, voltage_signal_frequency=1e6, log_scale=True,
                  return_result=False):
    from memtorch.bh.memristor.Memristor import plot_bipolar_switching_behaviour

    return plot_bipolar_switching_behaviour(self, voltage_signal_amplitude, voltage_signal_frequency, log_scale,
                                            return_result)


def _crossbars(model):
    for module in model.modules():
        if hasattr(module, "crossbars"):
            yield module, module.crossbars


def program_crossbars(model, memristor: type | DeviceAdapter, *, t: float = 0.0, read_noise: bool = False) -> int:
    """Program every crossbar of a MemTorch-patched ``model`` with the card's physics; returns the device count.

    Each ``conductance_matrix`` (S) is taken as the targets: programming error, then ``t`` s of the model's
    relax (:meth:`~devicelib.adapters.common.DeviceAdapter.conductance_at`), vectorised over the matrix. With
    ``read_noise`` a fresh draw of the card's read noise at ``t`` is added before every forward pass (from the
    stored programmed values, so draws do not accumulate). Call it once after ``patch_model``.
    """
    import torch

    a = memristor if isinstance(memristor, DeviceAdapter) else memristor.adapter
    total = 0
    for module, crossbars in _crossbars(model):
        for xb in crossbars:
            target = xb.conductance_matrix.detach().cpu().double().numpy()
            g = a.conductance_at(target, float(t))
            xb.conductance_matrix = torch.as_tensor(g, dtype=xb.conductance_matrix.dtype,
                                                    device=xb.conductance_matrix.device)
            xb.max_abs_conductance = torch.abs(xb.conductance_matrix).flatten().max()
            xb._devicelib_programmed = xb.conductance_matrix.clone()
            _store_devices(xb.devices, g)
            total += g.size
        old = getattr(module, _HOOK, None)
        if old is not None:
            old.remove()
            setattr(module, _HOOK, None)
        if read_noise and np.any(a.read_sigma(np.array([a.g_min, a.g_max]), t)):
            setattr(module, _HOOK, module.register_forward_pre_hook(_noise_hook(a, float(t))))
    if total == 0:
        raise ValueError("program_crossbars: the model has no MemTorch crossbars (patch it with patch_model first)")
    return total


def _store_devices(devices, g) -> None:
    # MemTorch keeps one Python object per device: store the programmed values (their state is set lazily)
    flat_dev, flat_g = devices.reshape(-1), np.asarray(g).reshape(-1)
    if flat_dev.size != flat_g.size:
        return  # tiled crossbars: the objects follow another layout; the conductance matrix is authoritative
    for dev, gi in zip(flat_dev, flat_g, strict=True):
        dev.g = float(gi)
        dev._state = None


def _noise_hook(adapter: DeviceAdapter, t: float):
    import torch

    def hook(module, args):
        for xb in module.crossbars:
            g = xb._devicelib_programmed.detach().cpu().double().numpy()
            xb.conductance_matrix = torch.as_tensor(adapter.add_read_noise(g, t),
                                                    dtype=xb._devicelib_programmed.dtype,
                                                    device=xb._devicelib_programmed.device)
        return None

    return hook
