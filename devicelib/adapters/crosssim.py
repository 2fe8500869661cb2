r"""devicelib cards as live CrossSim 3 device classes.

CrossSim 3 (``simulator.devices``) finds device models by *class name*:
``Device.create_device`` collects every subclass of ``IDevice`` and looks up
``params.xbar.device.<error>.model``. :func:`crosssim_device` therefore
creates a named subclass of ``simulator.devices.idevice.EmptyDevice`` bound to
one card and returns its name; put that name in the parameters (or JSON), or
let :func:`configure` do it:

.. code-block:: python

    from simulator import AnalogCore, CrossSimParameters
    from devicelib.adapters.crosssim import configure

    params = CrossSimParameters()
    configure(params, "pcm.joshi2020_statistical", time=3600.0)   # drift to 1 h
    core = AnalogCore(weights, params)
    y = core.matvec(x)

The class implements CrossSim's contract on normalised conductance matrices
(see ``simulator/devices/readme.md``):

``programming_error(G)``
    the card's programming error at the target (:class:`DeviceAdapter.program`);
``drift_error(G, time)``
    programming error, then the model's ``relax`` for ``time`` seconds at the
    adapter temperature, then a read at ``v_read`` (CrossSim calls it instead of
    ``programming_error`` when ``time > 0``, so it includes the programming error);
``read_noise(G)``
    a fresh draw of the card's state-dependent read noise at ``device.time``
    (re-sampled at every MVM);
``nonlinear_current(G, V)`` / ``nonlinear_current_sum(G, V)``
    the model's own current law at :math:`V = V_{norm} V_{read}` (VCM:
    :math:`I_0 e^{-g/g_0}\sinh(V/V_0)` with the gap whose read at ``v_read`` is
    G), normalised like CrossSim's own ``CubicDevice``.

Mapping: normalised ``[Gmin_norm, Gmax_norm]`` (CrossSim: ``Rmin/Rmax`` .. 1)
maps linearly onto the card's physical window ``[g_min, g_max]``
(:mod:`devicelib.adapters.common`). :func:`configure` sets ``Rmin = 1/g_max``
and ``Rmax = 1/g_min`` so that CrossSim's on/off ratio is the card's, and
``Vread`` to the card's read voltage. The device physics runs in numpy: use
CrossSim's numpy backend (``params.simulation.useGPU = False``, its default).
"""

from __future__ import annotations

import gc
import re
from typing import Any

import numpy as np

from .common import DeviceAdapter, require

#: live classes by name: CrossSim finds subclasses through ``__subclasses__``, which holds weak references
_CLASSES: dict[str, type] = {}


def _base():
    return require("simulator.devices.idevice", "crosssim",
                   how="`pip install <path to the CrossSim 3 source tree>` (github.com/sandialabs/cross-sim)"
                   ).EmptyDevice


def _class_name(name: str) -> str:
    return "Devicelib_" + re.sub(r"\W", "_", name)


def crosssim_device(source: Any, *, name: str | None = None, **adapter_options) -> str:
    """Create (or replace) a CrossSim device class bound to a card and return its class name.

    ``source`` is a card, a card name or path, or a DeviceModel; ``adapter_options`` go to
    :class:`~devicelib.adapters.common.DeviceAdapter` (``g_min``, ``g_max``, ``v_read``, ``temperature``,
    ``seed``). The default class name is ``Devicelib_`` plus the card name with non-word characters
    replaced by ``_`` (``pcm.joshi2020_statistical`` -> ``Devicelib_pcm_joshi2020_statistical``).
    """
    base = _base()
    adapter = DeviceAdapter(source, **adapter_options)
    cls_name = name or _class_name(adapter.name)
    if not cls_name.isidentifier():
        raise ValueError(f"crosssim_device: class name {cls_name!r} is not a Python identifier")
    if cls_name in _CLASSES:  # drop the old class so that only the new one answers to the name
        del _CLASSES[cls_name]
        gc.collect()
    cls = type(cls_name, (base,), {
        "__doc__": f"devicelib card {adapter.name} as a CrossSim device (devicelib.adapters.crosssim).",
        "__module__": __name__,
        "adapter": adapter,
        "__init__": _init,
        "programming_error": _programming_error,
        "drift_error": _drift_error,
        "read_noise": _read_noise,
        "nonlinear_current": _nonlinear_current,
        "nonlinear_current_sum": _nonlinear_current_sum,
    })
    _CLASSES[cls_name] = cls
    return cls_name


def configure(params, source: Any, *, time: float = 0.0, programming: bool = True, drift: bool = True,
              read_noise: bool = True, nonlinear_iv: bool = False, name: str | None = None,
              **adapter_options) -> str:
    """Make a card the device of ``params`` (a ``CrossSimParameters``); returns the device class name.

    Sets the four error models of ``params.xbar.device`` to the card's class with the given enables,
    ``time`` (s after programming), ``Rmin = 1/g_max``, ``Rmax = 1/g_min`` (infinite on/off ratio when
    g_min is 0) and ``Vread`` = the card's read voltage.
    """
    cls_name = crosssim_device(source, name=name, **adapter_options)
    a: DeviceAdapter = _CLASSES[cls_name].adapter
    dev = params.xbar.device
    for key, on in (("programming_error", programming), ("drift_error", drift), ("read_noise", read_noise),
                    ("nonlinear_IV", nonlinear_iv)):
        getattr(dev, key).model = cls_name
        getattr(dev, key).enable = bool(on)
    dev.time = float(time)
    dev.Rmin = 1.0 / a.g_max
    if a.g_min > 0:
        dev.Rmax = 1.0 / a.g_min
        dev.infinite_on_off_ratio = False
    else:
        dev.infinite_on_off_ratio = True
    dev.Vread = a.v_read
    return cls_name


# -- the methods of the generated classes (``self`` is a CrossSim device) -----------------------------
def _init(self, *args, **kwargs):
    super(type(self), self).__init__(*args, **kwargs)
    self.vread = float(self.device_params.Vread)
    self.lo, self.hi = float(self.Gmin_norm), float(self.Gmax_norm)


def _phys(self, g):
    return self.adapter.to_physical(np.asarray(g, dtype=float), self.lo, self.hi)


def _norm(self, g, like):
    return self.adapter.to_normalised(g, self.lo, self.hi).astype(np.asarray(like).dtype, copy=False)


def _programming_error(self, input_):
    return _norm(self, self.adapter.conductance_at(_phys(self, input_), 0.0), input_)


def _drift_error(self, input_, time):
    return _norm(self, self.adapter.conductance_at(_phys(self, input_), float(time)), input_)


def _read_noise(self, input_):
    g = _phys(self, input_)
    sig = self.adapter.read_sigma(g, float(self.time))
    if not np.any(sig):
        return input_
    scale = (self.hi - self.lo) / (self.adapter.g_max - self.adapter.g_min)
    noisy = np.asarray(input_) + (sig * scale) * self.adapter.rng.standard_normal(np.shape(input_))
    return noisy.astype(np.asarray(input_).dtype, copy=False)


def _normalise_current(self, i_phys, v_norm):
    # same normalisation as CrossSim's CubicDevice: an ohmic cell returns v_norm * G_norm exactly
    a = self.adapter
    span = a.g_max - a.g_min
    grange = self.hi - self.lo
    return (i_phys / self.vread) * grange / span - v_norm * (grange * a.g_min / span - self.lo)


def _nonlinear_current(self, Gmat, Vmat):
    v_norm = np.asarray(Vmat, dtype=float)
    i = self.adapter.current(_phys(self, Gmat), v_norm * self.vread)
    return _normalise_current(self, i, v_norm)


def _nonlinear_current_sum(self, Gmat, Vterm):
    g = np.asarray(Gmat, dtype=float)
    v = np.asarray(Vterm, dtype=float)
    # every cell of column j sees the terminal voltage V_j (no parasitics): expand to (rows, cols, ...)
    v_cells = np.broadcast_to(v[None, ...], g.shape[:1] + v.shape)
    return _nonlinear_current(self, g, v_cells).sum(axis=1)
