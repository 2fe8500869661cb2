r"""devicelib cards as aihwkit inference noise models.

:func:`aihwkit_noise_model` returns a :class:`DevicelibNoiseModel` (built on first use as a subclass of
``aihwkit.inference.noise.base.BaseNoiseModel``) that runs the card's physics inside aihwkit's
inference tiles:

.. code-block:: python

    from aihwkit.simulator.configs import InferenceRPUConfig
    from devicelib.adapters.aihwkit import aihwkit_noise_model

    rpu = InferenceRPUConfig(noise_model=aihwkit_noise_model("pcm.joshi2020_statistical"))
    analog = convert_to_analog(model, rpu)
    analog.eval(); analog.program_analog_weights(); analog.drift_analog_weights(3600.0)

Mapping: aihwkit's conductance converter works in uS; the noise model's converter is a
``SinglePairConductanceConverter(g_min, g_max)`` with the card's physical window in uS
(:mod:`devicelib.adapters.common`), so ``|w| / max|w|`` maps linearly onto ``[g_min, g_max]`` on one
device of the pair and the other device sits at ``g_min``.

``apply_programming_noise_to_conductance(g_target)``
    the card's programming error (:meth:`DeviceAdapter.program`), read at ``v_read``;
``generate_drift_coefficients(g_target)``
    PCM cards: the drift exponents drawn at programming by the model's statistical layer
    (:math:`\nu \sim |N(\mu_\nu(G), \sigma_\nu(G))|`); other cards: ``None`` (their drift is the
    model's ``relax`` and needs no coefficient);
``apply_drift_noise_to_conductance(g_prog, nu, t_inference)``
    the state that reads ``g_prog``, relaxed by the model for ``t_inference`` seconds (time since
    programming, as aihwkit defines it; devicelib's PCM model reads G(t0) before t0 = 20 s, where
    aihwkit's ``PCMLikeNoiseModel`` evaluates at ``t_inference + t0``), read, plus one draw of the
    state-dependent read noise at that time.

Random draws come from a numpy generator seeded from torch's global generator at each call, so
``torch.manual_seed`` makes a run reproducible and tiles (which aihwkit deep-copies) do not share draws.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .common import DeviceAdapter, require

_CLASS: type | None = None


def _torch_seed(torch) -> int:
    return int(torch.randint(0, 2**62, (1,)).item())


def _noise_model_class() -> type:
    global _CLASS
    if _CLASS is not None:
        return _CLASS
    require("aihwkit", "aihwkit")
    import torch
    from aihwkit.inference.converter.conductance import SinglePairConductanceConverter
    from aihwkit.inference.noise.base import BaseNoiseModel

    class DevicelibNoiseModel(BaseNoiseModel):
        """aihwkit noise model running a devicelib card (see :mod:`devicelib.adapters.aihwkit`)."""

        def __init__(self, source: Any, g_converter=None, **adapter_options):
            adapter = source if isinstance(source, DeviceAdapter) else DeviceAdapter(source, **adapter_options)
            g_converter = g_converter or SinglePairConductanceConverter(g_max=adapter.g_max * 1e6,
                                                                        g_min=adapter.g_min * 1e6)
            super().__init__(g_converter)
            self.adapter = adapter

        def __reduce__(self):
            # the class is built at run time: pickle (torch.save of a state dict, deepcopy) rebuilds it by name
            return _rebuild, (self.adapter, self.g_converter)

        def __eq__(self, other: object) -> bool:
            key = lambda a: (a.name, a.g_min, a.g_max, a.v_read, a.temperature)  # noqa: E731
            return (type(self) is type(other) and key(self.adapter) == key(other.adapter)
                    and self.g_converter.__dict__ == other.g_converter.__dict__)

        __hash__ = None

        def __str__(self) -> str:
            a = self.adapter
            return (f"DevicelibNoiseModel({a.name}, g_min={a.g_min * 1e6:.4g} uS, g_max={a.g_max * 1e6:.4g} uS, "
                    f"v_read={a.v_read:g} V, T={a.temperature:g} K)")

        def _reseed(self) -> None:
            self.adapter.rng = np.random.default_rng(_torch_seed(torch))
            self.adapter.model.seed(self.adapter.rng)

        @staticmethod
        def _to_np(t) -> np.ndarray:
            return t.detach().cpu().double().numpy() * 1e-6  # uS -> S

        @staticmethod
        def _to_torch(g, like):
            return torch.as_tensor(np.asarray(g) * 1e6, dtype=like.dtype, device=like.device)

        @torch.no_grad()
        def apply_programming_noise_to_conductance(self, g_target):
            self._reseed()
            g = self._to_np(g_target)
            self._last = self.adapter.program(g)  # kept for generate_drift_coefficients of the same targets
            self._last_shape = g.shape
            return self._to_torch(self.adapter.read(self._last).reshape(g.shape), g_target)

        @torch.no_grad()
        def generate_drift_coefficients(self, g_target):
            if not self.adapter.pcm:
                return None
            state = getattr(self, "_last", None)
            if state is None or getattr(self, "_last_shape", None) != tuple(g_target.shape):
                self._reseed()
                state = self.adapter.program(self._to_np(g_target))
            self._last = None
            return torch.as_tensor(state["nu"].reshape(tuple(g_target.shape)), dtype=g_target.dtype,
                                   device=g_target.device)

        @torch.no_grad()
        def apply_drift_noise_to_conductance(self, g_prog, drift_noise_param, t_inference):
            self._reseed()
            a = self.adapter
            g = self._to_np(g_prog)
            state = a.state_of(g)
            if a.pcm:  # the programming error is in g_prog already; the drift exponent is the one drawn
                n = g.size
                nu = (a.model.nominal().initial_state(1)["nu"] if drift_noise_param is None else
                      drift_noise_param.detach().cpu().double().numpy().ravel())
                # G(t0) = g_prog exactly, also above the crystalline cell's read (a positive programming error)
                g_phys = a.model.physical_conductance(state["amorphous_thickness"], a.v_read)
                err = np.clip(g.ravel() / g_phys - 1.0, -1.0, None)
                state.update(nu=np.broadcast_to(nu, (n,)).copy(), prog_error=err, read_xi=np.zeros(n),
                             t_prog=np.zeros(n))
            t = float(t_inference)
            g_t = a.read(a.drift(state, t)).reshape(g.shape)
            return self._to_torch(a.add_read_noise(g_t, t), g_prog)

    _CLASS = DevicelibNoiseModel
    return _CLASS


def _rebuild(adapter: DeviceAdapter, g_converter):
    return _noise_model_class()(adapter, g_converter=g_converter)


def aihwkit_noise_model(source: Any, g_converter=None, **adapter_options):
    """An aihwkit noise model (``BaseNoiseModel``) running the card ``source`` (card, name/path or model).

    ``adapter_options`` go to :class:`~devicelib.adapters.common.DeviceAdapter` (``g_min``, ``g_max``,
    ``v_read``, ``temperature``, ``seed``); ``g_converter`` replaces the default single-pair converter
    over the card's window (uS).
    """
    return _noise_model_class()(source, g_converter=g_converter, **adapter_options)


def __getattr__(name: str):
    if name == "DevicelibNoiseModel":
        return _noise_model_class()
    raise AttributeError(name)
