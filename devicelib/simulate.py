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
    n, v_read, state = check_inputs(model, len(train), n_devices, v_read, state, record_state)
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


# bytes per (device, pulse) cell of the result beyond the state variables: conductance, energy, and
# the working copies of one step (a few state-sized temporaries)
_CELLS_PER_RESULT = 2


def estimate_memory(model: DeviceModel, n_devices: int, n_pulses: int, record_state: bool = True) -> float:
    """Bytes a :func:`simulate` result needs (float64 arrays on (device, pulse)), before running it."""
    nvars = len(model.state_variables) if record_state else 0
    return 8.0 * n_devices * (n_pulses * (_CELLS_PER_RESULT + nvars) + 4 * max(1, len(model.state_variables)))


def check_inputs(model: DeviceModel, n_pulses: int, n_devices, v_read, state, record_state: bool = True):
    """Validate what :func:`simulate` is given, before anything is allocated.

    Returns ``(n_devices, v_read in V, state as float arrays)``; raises ValueError (or
    UnitError, ResourceLimitError) naming the bad input: a non-integer or too large ensemble
    (checked against :func:`devicelib.limits.memory_limit`), a non-finite read voltage, a start
    state with unknown or missing keys, the wrong shape or non-finite values.
    """
    from .limits import check_memory

    if isinstance(n_devices, bool) or not float(n_devices).is_integer():
        raise ValueError(f"simulate: n_devices must be a whole number, got {n_devices!r}")
    n = int(n_devices)
    if n < 1:
        raise ValueError("simulate: n_devices must be at least 1")
    check_memory(estimate_memory(model, n, n_pulses, record_state), f"simulate: {n} devices x {n_pulses} pulses",
                 hint="simulate fewer devices per call (e.g. chunks of 10**5 with different seeds) and concatenate "
                      "the results along 'device', or pass record_state=False")
    vr = np.asarray(to_si(v_read, "V", "v_read"), dtype=float)
    if vr.ndim != 0:
        raise ValueError(f"simulate: v_read must be one voltage, got shape {vr.shape}")
    if not np.isfinite(vr):
        raise ValueError(f"simulate: v_read must be a finite voltage, got {float(vr)}")
    if state is None:
        return n, float(vr), None
    if not isinstance(state, dict):
        raise ValueError(f"simulate: state must be a dict of arrays, got {type(state).__name__}")
    names = [sv.name for sv in model.state_variables]
    # hidden sub-states (leading "_": FeFET domains, Preisach turning points) travel with the state;
    # their shape is (n, ...) and they may hold sentinels, so only the device axis is checked
    hidden = [k for k in model.initial_state(1) if k.startswith("_")]
    unknown = sorted(set(state) - set(names) - set(hidden))
    if unknown:
        raise ValueError(f"simulate: unknown state variable(s) {unknown} for {model.name}; it has {names}")
    missing = [k for k in [*names, *hidden] if k not in state]
    if missing:
        raise ValueError(f"simulate: start state lacks {missing} (give every state variable of {model.name}, "
                         "e.g. from model.initial_state(n) or model.state_from_conductance(g, v_read))")
    out = {}
    for k, v in state.items():
        if k in hidden:
            arr = np.array(v, dtype=float)
            if arr.ndim == 0 or arr.shape[0] != n:
                raise ValueError(f"simulate: state[{k!r}] has shape {arr.shape}, expected ({n}, ...) for {n} "
                                 "device(s)")
            out[k] = arr
            continue
        try:
            arr = np.array(to_si(v, next(sv.unit for sv in model.state_variables if sv.name == k) or
                                 "dimensionless", f"state[{k!r}]"), dtype=float)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"simulate: state[{k!r}]: not numbers ({exc})") from None
        if arr.ndim == 0:
            arr = np.full(n, float(arr))
        if arr.shape != (n,):
            raise ValueError(f"simulate: state[{k!r}] has shape {arr.shape}, expected ({n},) for {n} device(s)")
        if not np.all(np.isfinite(arr)):
            i = int(np.flatnonzero(~np.isfinite(arr))[0])
            raise ValueError(f"simulate: state[{k!r}] is not finite for device {i} ({arr[i]})")
        out[k] = arr
    return n, float(vr), out


def check_start_conductance(model: DeviceModel, g, v_read, rtol: float = 1e-3) -> State:
    """The state of ``model`` whose read at ``v_read`` gives conductance ``g`` (S or a quantity).

    Raises ValueError when ``g`` is not a positive finite conductance, when the model cannot
    start from a conductance, or when ``g`` lies outside what the model can reach (its inverse
    clamps to the state bounds: the read of the returned state would differ from ``g`` by more
    than ``rtol``); the message gives the reachable range. Exporters and the CLI call this for
    ``--g-start``.
    """
    garr = np.atleast_1d(np.asarray(to_si(g, "S", "start conductance"), dtype=float))
    vr = float(to_si(v_read, "V", "v_read"))
    if not np.all(np.isfinite(garr)) or np.any(garr <= 0):
        bad = garr[~(garr > 0) | ~np.isfinite(garr)][0]
        raise ValueError(f"start conductance must be positive and finite, got {bad} S")
    try:
        st = model.state_from_conductance(garr, vr)
    except NotImplementedError:
        raise ValueError(f"{model.name} cannot start from a given conductance") from None
    back = np.asarray(model.conductance(st, vr), dtype=float)
    off = ~np.isclose(back, garr, rtol=rtol, atol=0.0)
    if np.any(off):
        i = int(np.flatnonzero(off)[0])
        lo, hi = reachable_conductance(model, vr)
        if lo is not None and lo * (1 - rtol) <= garr[i] <= hi * (1 + rtol):
            # inside the range but not reproduced: discrete levels (flux quanta) or a non-invertible read
            raise ValueError(f"start conductance {_fmt(garr[i], 'S')} is not a state of {model.name}: the nearest "
                             f"state reads {_fmt(back[i], 'S')} at {_fmt(vr, 'V')}")
        rng = "" if lo is None else f" (reachable at {_fmt(vr, 'V')}: " \
                                    f"{_fmt(lo, 'S')} .. {_fmt(hi, 'S')})"
        raise ValueError(f"start conductance {_fmt(garr[i], 'S')} is outside the range {model.name} can "
                         f"reach{rng}")
    return st


def _fmt(value: float, unit: str) -> str:
    from .units import Q_

    return f"{Q_(float(value), unit).to_compact():.3g~P}"


def reachable_conductance(model: DeviceModel, v_read: float) -> tuple[float | None, float | None]:
    """(min, max) conductance (S) at the bounds of the model's primary state variable, or (None, None)."""
    if not model.state_variables:
        return None, None
    sv = model.state_variables[0]
    try:
        lo, hi = model._state_bounds(sv)
        st = model.initial_state(2)
        st[sv.name] = np.array([np.min(lo), np.max(hi)], dtype=float)
        g = np.asarray(model.conductance(st, v_read), dtype=float)
    except Exception:  # a family whose state cannot be set this way: no range to quote
        return None, None
    if not np.all(np.isfinite(g)):
        return None, None
    return float(g.min()), float(g.max())


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
