"""devicelib cards as live device classes inside other simulators.

One module per simulator; importing this package imports none of them:

- :mod:`devicelib.adapters.crosssim`: ``configure(params, card)`` / ``crosssim_device(card)`` -> a CrossSim 3
  device class (programming error, drift, read noise, I-V nonlinearity);
- :mod:`devicelib.adapters.aihwkit`: ``aihwkit_noise_model(card)`` -> an aihwkit ``BaseNoiseModel``;
- :mod:`devicelib.adapters.memtorch`: ``memtorch_memristor(card)`` -> a MemTorch ``Memristor`` class and
  ``program_crossbars`` for a patched network.

The shared physics and the normalised <-> physical conductance mapping are in
:mod:`devicelib.adapters.common`.
"""

from .common import AdapterError, DeviceAdapter

__all__ = ["AdapterError", "DeviceAdapter"]
