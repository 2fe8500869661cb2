"""Apply a pulse train to many devices and return an ``xarray.Dataset``.

The loop runs over pulses (sequential in time), never over devices: every
step is a handful of array operations over all devices at once.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import xarray as xr

from . import __version__
from .core import DeviceModel, State
from .pulses import PulseTrain
from .units import to_si
from .variability import Variability


def simulate(
    model: DeviceModel,
    train: PulseTrain,
    n_devices: int = 1,
    v_read=0.1,
    variability: Variability | None = None,
    seed: int | None = None,
    state: State | None = None,
    record_state: bool = True,
    progress: Callable[[int], None] | None = None,
) -> xr.Dataset:
    """Run ``train`` on ``n_devices`` devices of ``model``.

    Parameters
    ----------
    v_read : read voltage (V, quantity or SI number).
    variability : device-to-device, cycle-to-cycle and read noise, drawn
        from ``numpy.random.default_rng(seed)``.
    state : start state (dict of arrays); default ``model.initial_state``.
    progress : called with the number of pulses done, for progress bars.

    Returns
    -------
    Dataset with dims ``(device, pulse)``: ``conductance`` (S) read after each
    event, ``energy`` (J) per pulse, the state variables, and pulse
    coordinates ``amplitude``, ``width``, ``interval``, ``temperature`` and
    ``time`` (read time, s). Units are in each variable's ``units`` attribute.
    """
    if not isinstance(train, PulseTrain):
        raise TypeError(f"simulate: train must be a PulseTrain, got {type(train).__name__}")
    if train.amplitude_unit != model.amplitude_unit:
        raise ValueError(
            f"simulate: {model.name} is driven by amplitudes in {model.amplitude_unit}, "
            f"the train is in {train.amplitude_unit}"
        )
    n = int(n_devices)
    if n < 1:
        raise ValueError("simulate: n_devices must be at least 1")
    v_read = to_si(v_read, "V", "v_read")
    rng = np.random.default_rng(seed)
    var = variability or Variability()
    per_device = model.n_param_devices()
    if per_device is not None and per_device != n:
        raise ValueError(f"simulate: model has per-device parameters for {per_device} devices, asked for {n}")
    dev = var.sample_devices(model, n, rng)
    dev.seed(rng)

    st = dev.initial_state(n) if state is None else {k: np.array(v, dtype=float) for k, v in state.items()}
    npulse = len(train)
    g = np.empty((n, npulse))
    energy = np.zeros((n, npulse))
    names = [sv.name for sv in dev.state_variables] if record_state else []
    rec = {k: np.empty((n, npulse)) for k in names}
    g0 = var.read_noise(dev.conductance(st, v_read), rng)

    for k in range(npulse):
        a, w, T = train.amplitude[k], train.width[k], train.temperature[k]
        if w > 0 and a != 0:
            new = dev.apply_pulse(st, a, w, T)
            energy[:, k] = dev.pulse_energy(st, new, a, w, T)
            st = var.perturb_step(dev, st, new, rng)
        if train.interval[k] > 0 and dev.volatile:
            st = dev.relax(st, train.interval[k], T)
        g[:, k] = var.read_noise(dev.conductance(st, v_read), rng)
        for name in names:
            rec[name][:, k] = st[name]
        if progress is not None:
            progress(k + 1)

    data = {
        "conductance": (("device", "pulse"), g, {"units": "S", "long_name": "read conductance"}),
        "conductance_initial": (("device",), g0, {"units": "S", "long_name": "conductance before the first pulse"}),
        "energy": (("device", "pulse"), energy, {"units": "J", "long_name": "energy delivered by the pulse"}),
    }
    for sv in dev.state_variables:
        if sv.name in rec:
            data[sv.name] = (("device", "pulse"), rec[sv.name], {"units": sv.unit, "long_name": sv.description})
    coords = {
        "device": np.arange(n),
        "pulse": np.arange(npulse),
        "amplitude": ("pulse", train.amplitude, {"units": train.amplitude_unit}),
        "width": ("pulse", train.width, {"units": "s"}),
        "interval": ("pulse", train.interval, {"units": "s"}),
        "temperature": ("pulse", train.temperature, {"units": "K"}),
        "time": ("pulse", train.read_time, {"units": "s", "long_name": "read time"}),
    }
    attrs = {
        "model": model.name,
        "read_voltage": float(v_read),
        "read_voltage_units": "V",
        "seed": -1 if seed is None else int(seed),
        "variability": str(var.to_dict()),
        "devicelib_version": __version__,
    }
    return xr.Dataset(data, coords=coords, attrs=attrs)


def replay(
    model: DeviceModel,
    state: State,
    amplitude: np.ndarray,
    width: np.ndarray,
    interval: np.ndarray,
    temperature: np.ndarray,
    v_read: float,
) -> np.ndarray:
    """Conductance (S) of ``n`` devices after each of ``N`` pulses whose conditions
    differ per device: every condition is an array of shape (n, N).

    This is the deterministic kernel fitters call for several traces measured
    under different pulse conditions; a zero-amplitude or zero-width entry is a
    read only (padding of a shorter trace). A model that defines
    ``replay_trace(state, amplitude, width, interval, temperature, v_read)``
    (same signature and result) is replayed by it.
    """
    fast = getattr(model, "replay_trace", None)
    if fast is not None:  # a family's compiled whole-trace kernel (same integration as apply_pulse)
        return fast(state, amplitude, width, interval, temperature, v_read)
    n, npulse = amplitude.shape
    g = np.empty((n, npulse))
    st = state
    volatile = model.volatile
    for k in range(npulse):
        a, w = amplitude[:, k], width[:, k]
        if np.any((a != 0) & (w > 0)):
            st = model.apply_pulse(st, a, w, temperature[:, k])
        if volatile and np.any(interval[:, k] > 0):
            st = model.relax(st, interval[:, k], temperature[:, k])
        g[:, k] = model.conductance(st, v_read)
    return g
