"""Apply a pulse train to many devices and return an ``xarray.Dataset``.

Two paths give the same result (docs/simulate.md): families with a compiled
whole-train kernel (``fused_spec``: the baselines, ``fefet.nls``, ``vcm.stanford_pku``,
``pcm.gst_mushroom``) run in
:mod:`devicelib.engine`; every other family runs the reference path, a loop
over pulses (sequential in time), never over devices: every step is a handful
of array operations over all devices at once. Both record into (pulse, device)
arrays, decimated, as summary statistics or streamed to an HDF5 file.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np

from . import __version__
from ._xrcompat import xr  # xarray imported on first use (not by the fit command)
from .core import DeviceModel, State
from .pulses import PulseTrain
from .units import to_si
from .variability import Variability

STATISTICS = ("mean", "std", "min", "max")


def _record_plan(record, npulse: int) -> tuple[np.ndarray, bool]:
    """Recorded pulse indices for ``record`` and whether only statistics are kept."""
    if isinstance(record, str):
        if record not in ("full", "summary"):
            raise ValueError(f"simulate: record must be 'full', 'summary', an interval k or pulse indices, "
                             f"got {record!r}")
        return np.arange(npulse), record == "summary"
    if isinstance(record, (bool, np.bool_)):
        raise TypeError("simulate: record must be 'full', 'summary', an interval k or pulse indices, got a bool")
    if isinstance(record, (int, np.integer)):
        k = int(record)
        if k < 1:
            raise ValueError(f"simulate: record interval must be >= 1, got {k}")
        return np.arange(k - 1, npulse, k), False
    idx = np.asarray(record)
    if idx.ndim != 1 or idx.size == 0 or not np.issubdtype(idx.dtype, np.integer):
        raise ValueError("simulate: record as pulse indices must be a non-empty 1-D sequence of integers")
    idx = np.where(idx < 0, idx + npulse, idx)
    if idx.min() < 0 or idx.max() >= npulse:
        raise ValueError(f"simulate: recorded pulse indices must lie in [-{npulse}, {npulse - 1}]")
    return np.unique(idx), False


def _fused_ok(dev: DeviceModel) -> bool:
    """True when ``dev`` provides a fused kernel that still describes its behaviour (a subclass that
    overrides the pulse, read, noise or energy methods falls back to the reference path)."""
    cls = type(dev)
    owner = next((c for c in cls.__mro__ if "fused_spec" in vars(c)), None)
    # a volatile family's kernel must relax between pulses itself (``fused_relax``: it takes the intervals)
    if owner is None or (dev.volatile and not vars(owner).get("fused_relax", False)):
        return False
    if not getattr(dev, "fused_available", True):  # the instance uses a feature its family's kernel lacks
        return False
    return all(getattr(cls, m) is getattr(owner, m)
               for m in ("apply_pulse", "conductance", "perturb_step", "pulse_energy", "relax", "fused_spec"))


class _Recorder:
    """Where recorded pulses go: in-memory (pulse, device) arrays, per-pulse statistics, or an
    HDF5 (netCDF4) file written in blocks of pulses."""

    #: size of one variable's buffer of pulses when streaming to a file
    block_bytes = 32 << 20

    def __init__(self, names, units, pulses, summary, n, npulse, dtype, path, coords, attrs, g0):
        self.names, self.units, self.pulses, self.summary = names, units, pulses, summary
        self.n, self.dtype, self.path = n, dtype, path
        self.slot = np.full(npulse, -1, dtype=np.int64)
        self.slot[pulses] = np.arange(pulses.size)
        nrec = pulses.size
        self.arrays, self.stats, self.file = {}, None, None
        if summary:
            self.stats = np.empty((nrec, len(names), len(STATISTICS)))
            self.block = npulse
        elif path is None:
            self.block = npulse
        else:
            # rows of a (pulse, device) buffer flushed per block
            self.block = max(1, min(nrec, self.block_bytes // (8 * n)))
            self._open(coords, attrs, g0)

    def new_arrays(self, zero=()):
        """In-memory outputs (nrec, n); ``zero`` names get a read-only zero view (no memory)."""
        shape = (self.pulses.size, self.n)
        for name in self.names:
            if name in zero:
                self.arrays[name] = np.broadcast_to(np.zeros((), dtype=self.dtype), shape)
            else:
                self.arrays[name] = np.empty(shape, dtype=self.dtype)
        return self.arrays

    def _open(self, coords, attrs, g0):
        try:
            import h5netcdf
        except ImportError as exc:  # pragma: no cover - optional dependency
            raise ImportError("simulate: streaming to a file needs h5netcdf (pip install 'devicelib[netcdf]')") from exc
        self.tmp = self.path.with_name(f".{self.path.name}.tmp")
        f = h5netcdf.File(self.tmp, "w")
        nrec = self.pulses.size
        f.dimensions = {"pulse": nrec, "device": self.n}
        f.create_variable("pulse", ("pulse",), data=self.pulses.astype(np.int64))
        f.create_variable("device", ("device",), data=np.arange(self.n, dtype=np.int64))
        for key, (dims, values, vattrs) in coords.items():
            v = f.create_variable(key, (dims,), data=np.asarray(values)[self.pulses])
            v.attrs.update(vattrs)
        v = f.create_variable("conductance_initial", ("device",), data=g0)
        v.attrs.update({"units": "S", "long_name": "conductance before the first pulse"})
        chunks = (max(1, min(self.block, nrec)), self.n) if self.n * 8 <= (8 << 20) else (1, min(self.n, 1 << 20))
        for name in self.names:
            v = f.create_variable(name, ("pulse", "device"), dtype=self.dtype, chunks=chunks)
            v.attrs.update(self.units[name])
        f.attrs.update(attrs)
        self.file = f
        self.buffers = {name: np.empty((self.block, self.n), dtype=self.dtype) for name in self.names}
        self.buf_start = 0  # output row of buffer row 0

    def push(self, k: int, values: dict) -> None:
        """Reference path: record pulse ``k``'s (n,) vectors if it is recorded."""
        s = self.slot[k]
        if s < 0:
            return
        if self.summary:
            for j, name in enumerate(self.names):
                v = values[name]
                self.stats[s, j] = (v.mean(), v.std(), v.min(), v.max())
        elif self.file is None:
            for name in self.names:
                self.arrays[name][s] = values[name]
        else:
            r = s - self.buf_start
            for name in self.names:
                self.buffers[name][r] = values[name]
            if r + 1 == self.block:
                self.flush(s + 1)

    def flush(self, end: int, skip=()) -> None:
        """Write buffered rows up to output row ``end`` to the file."""
        if self.file is None or end <= self.buf_start:
            return
        rows = end - self.buf_start
        for name in self.names:
            if name not in skip:
                self.file.variables[name][self.buf_start:end] = self.buffers[name][:rows]
        self.buf_start = end

    def close(self):
        self.file.close()
        self.tmp.replace(self.path)

    def abort(self):
        if self.file is not None:
            self.file.close()
            self.tmp.unlink(missing_ok=True)


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
    *,
    record="full",
    out=None,
    dtype="float64",
    engine: str = "auto",
) -> xr.Dataset:
    """Run ``train`` on ``n_devices`` devices of ``model``.

    Parameters
    ----------
    v_read : read voltage (V, quantity or SI number).
    variability : device-to-device, cycle-to-cycle and read noise, drawn
        from ``numpy.random.default_rng(seed)``.
    state : start state (dict of arrays); default ``model.initial_state``.
    record_state : also record the state variables (nothing is allocated for them when False).
    progress : called with the number of pulses done, for progress bars.
    record : which pulses are kept: ``"full"`` (every pulse), an integer ``k`` (every k-th pulse:
        indices k-1, 2k-1, ...), a sequence of pulse indices, or ``"summary"`` (no per-device
        history: mean, std, min and max over devices after each pulse).
    out : path of an HDF5 (netCDF4) file to stream the recorded pulses to, in blocks of pulses
        (needs h5netcdf); the file is written under a temporary name and renamed when complete,
        and the returned Dataset reads it lazily. Not with ``record="summary"``.
    dtype : ``"float64"`` (default) or ``"float32"`` for the recorded arrays (the state is always
        integrated in float64; float32 halves memory and bandwidth, about 7 significant digits).
    engine : ``"auto"`` (the family's fused compiled kernel when it has one, see
        :mod:`devicelib.engine`, else the per-pulse path), ``"fused"`` (require it) or
        ``"reference"`` (the per-pulse Python path).

    Returns
    -------
    Dataset with dims ``(device, pulse)``: ``conductance`` (S) read after each
    event, ``energy`` (J) per pulse, the state variables, and pulse
    coordinates ``amplitude``, ``width``, ``interval``, ``temperature`` and
    ``time`` (read time, s); ``pulse`` holds the indices of the recorded pulses.
    Units are in each variable's ``units`` attribute. The arrays are stored
    (pulse, device) in C order and shown transposed (views). With
    ``record="summary"`` the same variables have dims ``(statistic, pulse)``
    and ``conductance_final`` (device) is added. Counting rules without
    energetics (the baselines) return ``energy`` as a read-only zero view.
    """
    if not isinstance(train, PulseTrain):
        raise TypeError(f"simulate: train must be a PulseTrain, got {type(train).__name__}")
    if train.amplitude_unit != model.amplitude_unit:
        raise ValueError(
            f"simulate: {model.name} is driven by amplitudes in {model.amplitude_unit}, "
            f"the train is in {train.amplitude_unit}"
        )
    if engine not in ("auto", "fused", "reference"):
        raise ValueError(f"simulate: engine must be 'auto', 'fused' or 'reference', got {engine!r}")
    dt = np.dtype(dtype)
    if dt not in (np.dtype(np.float64), np.dtype(np.float32)):
        raise ValueError(f"simulate: dtype must be float64 or float32, got {dtype!r}")
    npulse = len(train)
    pulses, summary = _record_plan(record, npulse)
    if out is not None:
        if summary:
            raise ValueError("simulate: out= streams per-device records; record='summary' keeps none")
        out = Path(out)
        if not out.parent.is_dir():
            raise FileNotFoundError(f"simulate: out: directory {str(out.parent)!r} does not exist")
    # memory is checked for what is held in RAM: nothing per pulse for summaries or streamed output
    n_held = 0 if (summary or out is not None) else len(pulses)
    n, v_read, state = check_inputs(model, n_held, n_devices, v_read, state, record_state)
    rng = np.random.default_rng(seed)
    var = variability or Variability()
    per_device = model.n_param_devices()
    if per_device is not None and per_device != n:
        raise ValueError(f"simulate: model has per-device parameters for {per_device} devices, asked for {n}")
    dev = var.sample_devices(model, n, rng)
    dev.seed(rng)
    fused = engine != "reference" and _fused_ok(dev)
    if engine == "fused" and not fused:
        raise ValueError(f"simulate: {model.name} has no fused kernel (engine='fused'); use 'auto' or 'reference'")

    if state is None:
        st = dev.initial_state(n)
    else:
        st = {k: np.array(v, dtype=float) for k, v in state.items()}
    svars = [sv for sv in dev.state_variables if sv.name in st] if record_state else []
    names = ["conductance", "energy", *(sv.name for sv in svars)]
    units = {"conductance": {"units": "S", "long_name": "read conductance"},
             "energy": {"units": "J", "long_name": "energy delivered by the pulse"}}
    units.update({sv.name: {"units": sv.unit, "long_name": sv.description} for sv in svars})
    g0 = var.read_noise(dev.conductance(st, v_read), rng)
    coords = {
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
        "engine": "fused" if fused else "reference",
    }
    rec = _Recorder(names, units, pulses, summary, n, npulse, dt, out, coords, attrs, np.asarray(g0, dtype=float))
    try:
        if fused:
            st = _run_fused(dev, train, st, rec, var, rng, v_read, svars, progress)
        else:
            st = _run_reference(dev, train, st, rec, var, rng, v_read, svars, progress)
        if out is not None:
            rec.close()
    except BaseException:
        rec.abort()
        raise
    if out is not None:
        ds = xr.open_dataset(out, engine="h5netcdf")
        return ds.transpose("device", "pulse")

    coords_out = {"device": np.arange(n), "pulse": pulses}
    coords_out.update({k: (d, np.asarray(v)[pulses], a) for k, (d, v, a) in coords.items()})
    data = {"conductance_initial": (("device",), g0, {"units": "S", "long_name": "conductance before the first pulse"})}
    if summary:
        coords_out["statistic"] = list(STATISTICS)
        for j, name in enumerate(names):
            data[name] = (("statistic", "pulse"), rec.stats[:, j, :].T, units[name])
        g_end = var.read_noise(dev.conductance(st, v_read), rng)
        data["conductance_final"] = (("device",), g_end, {"units": "S", "long_name": "conductance after the train"})
    else:
        for name in names:
            data[name] = (("device", "pulse"), rec.arrays[name].T, units[name])
    return xr.Dataset(data, coords=coords_out, attrs=attrs)


def _run_reference(dev, train, st, rec, var, rng, v_read, svars, progress):
    """The per-pulse Python path (the reference every fused kernel is tested against)."""
    n = rec.n
    if not rec.summary and rec.file is None:
        rec.new_arrays()
    energy = np.zeros(n)
    for k in range(len(train)):
        a, w, T = train.amplitude[k], train.width[k], train.temperature[k]
        if w > 0 and a != 0:
            new = dev.apply_pulse(st, a, w, T)
            energy = np.broadcast_to(np.asarray(dev.pulse_energy(st, new, a, w, T), dtype=float), (n,))
            st = var.perturb_step(dev, st, new, rng)
        else:
            energy = np.zeros(n)
        if train.interval[k] > 0 and dev.volatile:
            st = dev.relax(st, train.interval[k], T)
        g = var.read_noise(dev.conductance(st, v_read), rng)
        values = {"conductance": g, "energy": energy}
        for sv in svars:
            values[sv.name] = st[sv.name]
        rec.push(k, values)
        if progress is not None:
            progress(k + 1)
    rec.flush(rec.pulses.size)
    return st


def _run_fused(dev, train, st, rec, var, rng, v_read, svars, progress):
    """The fused path: the family's compiled kernel over the whole train (devicelib.engine)."""
    from . import engine as E

    n, npulse = rec.n, len(train)
    kw = {"interval": train.interval} if dev.volatile else {}
    spec = dev.fused_spec(n, train.amplitude, train.width, train.temperature, v_read, **kw)
    if isinstance(spec, E.KernelSpec):
        return _run_kernel(E, spec, dev, train, st, rec, var, rng, svars, progress)
    x = np.ascontiguousarray(np.broadcast_to(np.asarray(st[spec.state], dtype=float), (n,)), dtype=np.float64).copy()
    key = int(rng.integers(0, 2**63 - 1))
    noise = (var.c2c, var.c2c_abs, var.read)
    nblocks = E.blocks_for(n)
    keep_x = bool(svars)
    zero = () if spec.energy else ("energy",)
    if rec.summary:
        stats = np.zeros((nblocks, rec.pulses.size, 3, E.N_STAT))
        stats[..., 3], stats[..., 4] = np.inf, -np.inf  # running min and max
        E.drive(spec, x, 0, npulse, rec.slot, None, None, None, stats, noise, key, nblocks)
        comb = E.combine_stats(stats, E.block_counts(n, nblocks))
        rec.stats[:, 0] = comb[:, 0]
        rec.stats[:, 1] = comb[:, 1]
        if keep_x:
            rec.stats[:, 2] = comb[:, 2]
        if progress is not None:
            progress(npulse)
    elif rec.file is None:
        arrs = rec.new_arrays(zero)
        G, En, X = arrs["conductance"], (None if zero else arrs["energy"]), (arrs[spec.state] if keep_x else None)
        step = npulse if progress is None else max(1, -(-npulse // 50))
        for k0 in range(0, npulse, step):
            k1 = min(npulse, k0 + step)
            E.drive(spec, x, k0, k1, rec.slot, G, En, X, None, noise, key, nblocks)
            if progress is not None:
                progress(k1)
    else:
        b = rec.buffers
        G, En, X = b["conductance"], (None if zero else b["energy"]), (b[spec.state] if keep_x else None)
        k0 = 0
        while k0 < npulse:
            # pulses up to the one filling the buffer (or the end of the train)
            first = rec.buf_start
            last = min(rec.pulses.size, first + rec.block)
            k1 = npulse if last == rec.pulses.size else int(rec.pulses[last - 1]) + 1
            slot = np.where(rec.slot >= 0, rec.slot - first, -1)
            E.drive(spec, x, k0, k1, slot, G, En, X, None, noise, key, nblocks)
            rec.flush(last, skip=zero)
            k0 = k1
            if progress is not None:
                progress(k1)
    return {spec.state: x}


def _run_kernel(E, spec, dev, train, st, rec, var, rng, svars, progress):
    """The fused path for a family's own kernel with several state variables (engine.KernelSpec)."""
    n, npulse = rec.n, len(train)
    xs = np.empty((len(spec.states), n))
    for j, name in enumerate(spec.states):
        xs[j] = np.broadcast_to(np.asarray(st[name], dtype=float), (n,))
    key = int(rng.integers(0, 2**63 - 1))
    noise = (var.c2c, var.c2c_abs, var.read)
    nblocks = E.blocks_for(n, spec.serial_below)
    keep_x = bool(svars)
    zero = () if spec.energy else ("energy",)
    ok = True
    if rec.summary:
        stats = np.zeros((nblocks, rec.pulses.size, 2 + len(spec.states), E.N_STAT))
        stats[..., 3], stats[..., 4] = np.inf, -np.inf  # running min and max
        ok = E.drive_kernel(spec, xs, 0, npulse, rec.slot, None, None, None, stats, noise, key, nblocks)
        comb = E.combine_stats(stats, E.block_counts(n, nblocks))
        quantity = ["conductance", "energy", *spec.states]
        for j, name in enumerate(rec.names):
            rec.stats[:, j] = comb[:, quantity.index(name)]
        if progress is not None:
            progress(npulse)
    else:
        # the state records as views of one (nstate, nrec, n) block (the kernel writes all states)
        target = rec.new_arrays((*zero, *spec.states)) if rec.file is None else rec.buffers
        X = None
        if keep_x:
            X = np.empty((len(spec.states), *target["conductance"].shape), dtype=rec.dtype)
            for j, name in enumerate(spec.states):
                if name in target:
                    target[name] = X[j]
        G, En = target["conductance"], (None if zero else target["energy"])
        k0 = 0
        step = npulse if progress is None else max(1, -(-npulse // 50))
        while k0 < npulse:
            if rec.file is None:
                k1, slot = min(npulse, k0 + step), rec.slot
            else:  # pulses up to the one filling the buffer (or the end of the train)
                first = rec.buf_start
                last = min(rec.pulses.size, first + rec.block)
                k1 = npulse if last == rec.pulses.size else int(rec.pulses[last - 1]) + 1
                slot = np.where(rec.slot >= 0, rec.slot - first, -1)
            ok = E.drive_kernel(spec, xs, k0, k1, slot, G, En, X, None, noise, key, nblocks) and ok
            if rec.file is not None:
                rec.flush(last, skip=zero)
            k0 = k1
            if progress is not None:
                progress(k1)
    if not ok:
        raise RuntimeError(f"{dev.name}: pulse integration did not finish within the sub-step limit")
    return {name: xs[j] for j, name in enumerate(spec.states)}


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
