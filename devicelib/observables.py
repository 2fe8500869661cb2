"""What a measurement measured: observables, their units, and how a model predicts them.

A measurement Dataset names its observable in ``attrs["observable"]``
(default ``"conductance"``) and holds it as the data variable of that name,
dims (trace, pulse), in SI units (``units`` attribute). The pulse variables
(amplitude, width, interval, temperature) are those of
:mod:`devicelib.measurement`. Built-in observables:

======================== ========= ==================================================
observable               SI unit   predicted by
======================== ========= ==================================================
conductance              S         ``model.conductance(state, v_read)``
resistance               ohm       ``1 / conductance`` at the read voltage
current                  A         ``model.current(state, v_read)`` (read current;
                                   the read voltage is required)
polarization             C/m**2    ``model.observe(state)["polarization"]``
threshold_voltage        V         ``model.observe(state)["threshold_voltage"]``
switching_probability    ""        the switched fraction of a two-state device: the
                                   change of its state probability (mean-field
                                   models), with ``trials`` (trace, pulse) counts
======================== ========= ==================================================

Any other name is accepted when the model declares it as an
:class:`devicelib.core.Observable` (e.g. ``insulating_fraction`` of
``mott.thermal_switch``); its unit is the declaration's. Units are read from
the data (``units`` attribute) and converted with pint, never guessed; a
dimension mismatch is an error naming both units.

Optional ``<observable>_initial`` (trace) is a read before the first pulse
(for single-pulse maps: the state each row starts from).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ._xrcompat import xr  # xarray imported on first use (not by the fit command)
from .core import DeviceModel
from .pulses import ROOM_TEMPERATURE

#: built-in observables: name -> SI unit
BUILTIN = {
    "conductance": "S",
    "resistance": "ohm",
    "current": "A",
    "polarization": "C/m**2",
    "threshold_voltage": "V",
    "switching_probability": "",
}
ALIASES = {"polarisation": "polarization", "read_current": "current", "probability": "switching_probability",
           "p_sw": "switching_probability", "vth": "threshold_voltage"}
#: observables computed from the read conductance (fast replay path, start state invertible)
READ_OBSERVABLES = ("conductance", "resistance", "current")


class ObservableError(ValueError):
    """A measurement's observable is unknown, has the wrong unit, or the model cannot predict it."""


def canonical(name: str) -> str:
    key = name.strip().lower().replace("-", "_").replace(" ", "_")
    return ALIASES.get(key, key)


def observable_of(ds: xr.Dataset) -> str:
    return canonical(str(ds.attrs.get("observable", "conductance")))


def si_unit(name: str, model: DeviceModel | type[DeviceModel] | None = None) -> str:
    """The SI unit of observable ``name`` (built-in, or declared by ``model``)."""
    name = canonical(name)
    if name in BUILTIN:
        return BUILTIN[name]
    if model is not None:
        for o in model.observables:
            if o.name == name:
                return o.unit
    raise ObservableError(
        f"unknown observable {name!r}: built-in are {sorted(BUILTIN)}"
        + (f"; {model.name} declares {[o.name for o in model.observables]}" if model is not None else ""))


def predicts(model: DeviceModel) -> list[str]:
    """The observables ``model`` predicts."""
    out = list(READ_OBSERVABLES)
    if getattr(model, "expectation", False) or hasattr(model, "switching_fraction"):
        out.append("switching_probability")
    out += [o.name for o in model.observables if o.name not in out]
    return out


def check_model(model: DeviceModel, name: str) -> None:
    """Refuse a model that does not predict observable ``name``, saying what it predicts."""
    name = canonical(name)
    if name not in predicts(model):
        hint = ""
        if name == "switching_probability" and getattr(model, "stochastic", False):
            hint = " (a stochastic model predicts it through its mean_field())"
        raise ObservableError(f"{model.name} does not predict {name!r}{hint}; it predicts {predicts(model)}")


def to_si_values(values, unit: str, name: str, model=None, where: str = "measurement") -> np.ndarray:
    """Convert ``values`` in ``unit`` to the SI unit of observable ``name`` (pint; refuses other dimensions)."""
    from .units import parse_unit, ureg

    target = si_unit(name, model)
    u = parse_unit(unit or "dimensionless", f"{where}: unit of {name}")
    t = parse_unit(target or "dimensionless", name)
    if u.dimensionality != t.dimensionality:
        raise ObservableError(f"{where}: {name} given in {unit!r}, which is not a {name} unit ({target or '1'})")
    return np.asarray(ureg.Quantity(np.asarray(values, dtype=float), u).to(t).magnitude, dtype=float)


def make_observation(values, observable: str, unit: str, amplitude, width, *, v_read=None, interval=0.0,
                     temperature=ROOM_TEMPERATURE, trials=None, initial=None, trace_labels: Sequence[str] | None = None,
                     source: str = "", amplitude_unit: str = "V", model=None, extra: dict | None = None) -> xr.Dataset:
    """A measurement of ``observable`` (any of :data:`BUILTIN` or one ``model`` declares).

    ``values`` (trace, pulse) in ``unit`` (converted to SI); ``trials`` the
    number of trials per point for probabilities; ``initial`` (trace,) a read
    before the first pulse in the same unit; ``extra`` further (trace, pulse)
    variables kept as they are (name -> (array, unit)), e.g. ``compliance``.
    """
    from .measurement import make_measurement

    name = canonical(observable)
    v = np.atleast_2d(np.asarray(values, dtype=float))
    si = to_si_values(v, unit, name, model, source or "measurement")
    # pulse grids through the conductance builder (one validated code path), then swap the variable
    ds = make_measurement(np.ones_like(v), amplitude, width, v_read=v_read, interval=interval,
                          temperature=temperature, trace_labels=trace_labels, source=source,
                          amplitude_unit=amplitude_unit)
    ds = ds.drop_vars("conductance")
    ds[name] = (("trace", "pulse"), si, {"units": si_unit(name, model)})
    ds.attrs["observable"] = name
    if trials is not None:
        n = np.broadcast_to(np.asarray(trials, dtype=float), v.shape)
        ds["trials"] = (("trace", "pulse"), n.copy(), {"units": ""})
    if initial is not None:
        ds[f"{name}_initial"] = (("trace",), to_si_values(np.ravel(initial), unit, name, model, source),
                                 {"units": si_unit(name, model)})
    for k, (arr, u) in (extra or {}).items():
        ds[k] = (("trace", "pulse"), np.broadcast_to(np.asarray(arr, float), v.shape).copy(), {"units": u})
    return validate_observation(ds)


def validate_observation(ds: xr.Dataset, where: str | None = None) -> xr.Dataset:
    """Schema check of a non-conductance measurement (the pulse variables as in measurement.validate)."""
    from .measurement import PULSE_VARS, MeasurementError

    where = where or ds.attrs.get("source") or "measurement"
    name = observable_of(ds)
    if name not in ds:
        raise MeasurementError(f"{where}: observable {name!r} named in attrs but no variable {name!r}")
    for var in (name, *PULSE_VARS):
        if var not in ds:
            raise MeasurementError(f"{where}: missing variable {var!r}")
        if ds[var].dims != ("trace", "pulse"):
            raise MeasurementError(f"{where}: {var} has dims {ds[var].dims}, expected ('trace', 'pulse')")
        if "units" not in ds[var].attrs:
            raise MeasurementError(f"{where}: {var} has no 'units' attribute")
    y = ds[name].values
    valid = np.isfinite(y)
    for i, label in enumerate(ds["trace"].values):
        n = int(valid[i].sum())
        if n == 0:
            raise MeasurementError(f"{where}: trace {label!r} has no finite {name} value")
        if not valid[i, :n].all():
            raise MeasurementError(f"{where}: trace {label!r} has a missing {name} value before its end")
    if name in ("resistance", "current") and np.any(y[valid] <= 0):
        raise MeasurementError(f"{where}: {name} must be positive")
    if name == "switching_probability":
        if np.any((y[valid] < 0) | (y[valid] > 1)):
            raise MeasurementError(f"{where}: switching_probability outside [0, 1]")
        if "trials" in ds:
            n = ds["trials"].values[valid]
            if np.any(~np.isfinite(n)) or np.any(n < 1) or np.any(n != np.round(n)):
                raise MeasurementError(f"{where}: trials must be positive whole numbers")
    if name == "current" and "read_voltage" not in ds.attrs:
        raise MeasurementError(f"{where}: a read current needs its read voltage (attrs read_voltage)")
    for var in PULSE_VARS:
        if not np.all(np.isfinite(ds[var].values[valid])):
            raise MeasurementError(f"{where}: {var} has non-finite values where {name} is measured")
    return ds


# -- prediction ---------------------------------------------------------------------------
def from_conductance(name: str, g: np.ndarray, model: DeviceModel, state, v_read: float) -> np.ndarray:
    if name == "conductance":
        return g
    if name == "resistance":
        return 1.0 / g
    if name == "current":
        return model.current(state, v_read) if state is not None else g * v_read
    raise ObservableError(name)


def to_conductance(name: str, y: np.ndarray, v_read: float) -> np.ndarray:
    """A read observable (conductance, resistance, current) as conductance (S)."""
    if name == "conductance":
        return y
    if name == "resistance":
        return 1.0 / y
    if name == "current":
        return y / v_read
    raise ObservableError(f"{name} is not a read of the conductance; the start state cannot be inferred from it")


def _switched(model: DeviceModel, before, after) -> np.ndarray:
    fn = getattr(model, "switching_fraction", None)
    if fn is not None:
        return fn(before, after)
    sv = model.state_variables[0]
    lo, hi = model._state_bounds(sv)
    return np.abs(np.asarray(after[sv.name]) - np.asarray(before[sv.name])) / (np.asarray(hi) - np.asarray(lo))


def replay_observable(model: DeviceModel, name: str, state, amplitude, width, interval, temperature,
                      v_read: float) -> np.ndarray:
    """``name`` after each pulse of every trace (conditions (n, N)), pulse by pulse.

    The read observables take :func:`devicelib.simulate.replay` (a family's compiled kernel when it has one).
    A switching probability is that of each pulse from the state before it.
    """
    from .simulate import replay

    if name in READ_OBSERVABLES and name != "current":
        return from_conductance(name, replay(model, state, amplitude, width, interval, temperature, v_read),
                                model, None, v_read)
    n, npulse = amplitude.shape
    out = np.empty((n, npulse))
    st = state
    for k in range(npulse):
        a, w = amplitude[:, k], width[:, k]
        before = st
        if np.any((a != 0) & (w > 0)):
            st = model.apply_pulse(dict(st), a, w, temperature[:, k])
        if model.volatile and np.any(interval[:, k] > 0):
            st = model.relax(st, interval[:, k], temperature[:, k])
        if name == "current":
            out[:, k] = model.current(st, v_read)
        elif name == "switching_probability":
            out[:, k] = _switched(model, before, st)
        else:
            obs = model.observe(st)
            if name not in obs:
                raise ObservableError(f"{model.name}.observe() does not return {name!r}")
            out[:, k] = obs[name]
    return out


def read_observation_table(path, observable: str, *, width=None, unit: str | None = None,
                           amplitude_unit: str = "V", v_read=None, temperature=ROOM_TEMPERATURE,
                           model=None) -> xr.Dataset:
    """One single-pulse experiment per row: amplitude, the observable, optional width and trials columns.

    The header names the columns with units in brackets, e.g. ``current [uA], switching_probability, trials``
    or ``amplitude [V], width [s], polarisation [uC/cm^2]``. The amplitude column is the first whose name is
    ``amplitude``, ``voltage`` or ``current``; the observable's column is the one named like it (aliases
    allowed). Units come from the header or ``unit`` (a probability is a fraction); a value column without
    either is refused. Every row starts from the model's initial state. Delimiter: tab for .tsv, else comma.
    """
    import csv
    from pathlib import Path

    from .measurement import MeasurementError, _split_header_unit
    from .units import parse_unit, to_si, ureg

    path = Path(path)
    name = canonical(observable)
    delim = "\t" if path.suffix.lower() == ".tsv" else ","
    try:
        with open(path, newline="", encoding="utf-8-sig") as fh:
            rows = [r for r in csv.reader(fh, delimiter=delim) if any(c.strip() for c in r)]
    except (OSError, UnicodeDecodeError) as exc:
        raise MeasurementError(f"{path}: cannot read ({str(exc)[:120]})") from None
    if len(rows) < 2:
        raise MeasurementError(f"{path}: need a header and at least one row")
    head = [_split_header_unit(c) for c in rows[0]]
    keys = [canonical(h) for h, _ in head]

    def col(j, label):
        try:
            return np.array([float(r[j]) for r in rows[1:]])
        except (ValueError, IndexError):
            bad = next(i for i, r in enumerate(rows[1:], start=2) if len(r) <= j or not _num(r[j]))
            raise MeasurementError(f"{path}: line {bad}, column {j + 1} ({label}): not a number: "
                                   f"{','.join(rows[bad - 1])[:120]!r}") from None

    amp_j = next((j for j, k in enumerate(keys) if k in ("amplitude", "voltage", "current")), None)
    if amp_j is None:
        raise MeasurementError(f"{path}: no amplitude/voltage/current column in {[h for h, _ in head]}")
    val_j = next((j for j, k in enumerate(keys) if k == name), None)
    if val_j is None:
        raise MeasurementError(f"{path}: no {name!r} column in {[h for h, _ in head]}")
    a_unit = head[amp_j][1] or amplitude_unit
    a_si = "A" if _is_current(a_unit) else "V"
    amp = np.asarray(to_si(ureg.Quantity(col(amp_j, "amplitude"), parse_unit(a_unit, "amplitude")), a_si,
                           "amplitude"), dtype=float)
    _check_declared(path, name, head[val_j][1], unit)
    v_unit = head[val_j][1] or unit
    if v_unit is None:
        if name != "switching_probability":
            raise MeasurementError(f"{path}: the {name} column has no unit; put it in the header "
                                   f"('{head[val_j][0]} [unit]') or give unit=")
        v_unit = ""
    w_j = next((j for j, k in enumerate(keys) if k == "width"), None)
    if w_j is not None:
        w = np.asarray(to_si(ureg.Quantity(col(w_j, "width"), parse_unit(head[w_j][1] or "s", "width")), "s",
                             "width"), dtype=float)
    elif width is not None:
        w = width
    else:
        raise MeasurementError(f"{path}: no width column; give the pulse width")
    t_j = next((j for j, k in enumerate(keys) if k in ("trials", "n_trials")), None)
    trials = col(t_j, "trials")[:, None] if t_j is not None else None
    vals = col(val_j, name)
    n = vals.size
    return make_observation(vals[:, None], name, v_unit, amp[:, None],
                            np.broadcast_to(np.asarray(w, float), (n,))[:, None], v_read=v_read,
                            temperature=temperature, trials=trials, source=str(path),
                            amplitude_unit=a_si, model=model)


def _check_declared(path, name: str, header_unit: str | None, declared: str | None) -> None:
    """A unit in the header and another one declared (``unit=``, ``--unit``): refuse rather than pick one."""
    from .measurement import MeasurementError
    from .units import parse_unit, ureg

    if not header_unit or declared is None:
        return
    a, b = parse_unit(header_unit, f"{path}: {name} header unit"), parse_unit(declared or "dimensionless", "unit")
    if a.dimensionality != b.dimensionality or not np.isclose(ureg.Quantity(1.0, a).to(b).magnitude, 1.0):
        raise MeasurementError(f"{path}: the header gives the {name} in {header_unit!r}, the declared unit is "
                               f"{declared!r}; drop one")


def _num(v: str) -> bool:
    try:
        float(v)
    except ValueError:
        return False
    return True


def _is_current(unit: str) -> bool:
    from .units import parse_unit, ureg

    return parse_unit(unit, "amplitude unit").dimensionality == ureg.A.dimensionality


def read_observation(path, observable: str, layout: str = "long", *, unit: str | None = None, amplitude=None,
                     width=None, trials=None, v_read=None, temperature=ROOM_TEMPERATURE, amplitude_unit: str = "V",
                     delimiter: str | None = "auto", header: bool = True, model=None) -> xr.Dataset:
    """Read a measurement of any ``observable`` (polarisation, switching probability, ...) from delimited text.

    Layouts (delimiter detected: comma, tab, semicolon, whitespace; a UTF-8 byte-order mark is skipped):

    ``"long"``
        one row per pulse with a header: ``trace``, ``pulse`` (integer index), ``amplitude``, ``width``,
        the observable's column (aliases allowed, e.g. ``polarisation [uC/cm^2]``), optionally ``trials``
        and ``temperature``. Units in brackets in the header (or ``unit=`` for the observable's column);
        pulse conditions without a unit are SI (amplitude: ``amplitude_unit``).
    ``"columns"`` / ``"rows"`` (wide)
        one trace per column (per row), one pulse per row (column); the header (``header=True``) labels
        the traces. The file holds only the values, in ``unit``: the pulse conditions are given
        (``amplitude``, ``width``: scalars, per trace or (trace, pulse)), and for probabilities the
        number of ``trials`` (scalar, per trace or (trace, pulse)).

    Shorter traces are padded with NaN (not fitted). Every value is converted to SI with pint; a value
    column without a unit is refused unless the observable is dimensionless (a probability).
    """
    from pathlib import Path

    from .measurement import MeasurementError, _read_csv_rows, _split_header_unit
    from .units import parse_unit, to_si, ureg

    path = Path(path)
    name = canonical(observable)
    if layout not in ("long", "columns", "rows"):
        raise MeasurementError(f"{path}: layout must be 'long', 'columns' or 'rows', got {layout!r}")
    rows = _read_csv_rows(path, delimiter)
    if len(rows) < 2 and (header or layout == "long"):
        raise MeasurementError(f"{path}: need a header and at least one data row")

    def num(cells, line, label):
        try:
            return float(cells) if cells.strip() else np.nan
        except ValueError:
            raise MeasurementError(f"{path}: line {line} ({label}): not a number: "
                                   f"{','.join(rows[line - 1])[:120]!r}") from None

    def value_unit(u):
        _check_declared(path, name, u, unit)
        u = u if u is not None else unit
        if u is None:
            if name == "switching_probability":
                return ""
            raise MeasurementError(f"{path}: the {name} values have no unit; put it in the header "
                                   f"('{name} [unit]') or give unit=")
        return u

    if layout == "long":
        head = [_split_header_unit(c) for c in rows[0]]
        keys = [canonical(h) for h, _ in head]
        need = {"trace", "pulse", "amplitude", name} | ({"width"} if width is None else set())
        if missing := need - set(keys):
            raise MeasurementError(f"{path}: long layout needs columns {sorted(need)}; missing {sorted(missing)} "
                                   f"in {[h for h, _ in head]}"[:300])
        j = {k: keys.index(k) for k in keys}
        body = rows[1:]
        for i, r in enumerate(body, start=2):
            if len(r) != len(keys):
                raise MeasurementError(f"{path}: line {i} has {len(r)} fields, the header {len(keys)}: "
                                       f"{','.join(r)[:120]!r}")
        labels = [r[j["trace"]].strip() for r in body]
        order = list(dict.fromkeys(labels))
        ti = np.array([order.index(lb) for lb in labels]) if len(order) < 1000 else \
            np.unique(np.array(labels), return_inverse=True)[1]
        try:
            pi = np.array([int(float(r[j["pulse"]])) for r in body])
        except ValueError:
            raise MeasurementError(f"{path}: the pulse column must hold integer indices") from None
        if pi.min() < 0:
            raise MeasurementError(f"{path}: negative pulse index")
        shape = (len(order), int(pi.max()) + 1)
        if len(set(zip(ti.tolist(), pi.tolist(), strict=True))) != len(body):
            raise MeasurementError(f"{path}: a (trace, pulse) pair appears twice")

        def grid(key, fill, target=None, default_unit=None):
            vals = np.array([num(r[j[key]], i, key) for i, r in enumerate(body, start=2)])
            u = head[j[key]][1] or default_unit
            if target is not None and u:
                vals = np.asarray(to_si(ureg.Quantity(vals, parse_unit(u, key)), target, key), dtype=float)
            out = np.full(shape, fill)
            out[ti, pi] = vals
            return out

        vu = value_unit(head[j[name]][1])
        vals = grid(name, np.nan)
        a_unit = head[j["amplitude"]][1] or amplitude_unit
        a_si = "A" if _is_current(a_unit) else "V"
        amp = grid("amplitude", 0.0, a_si, a_unit)
        wid = grid("width", 0.0, "s", "s") if "width" in j else width
        temp = grid("temperature", ROOM_TEMPERATURE, "K", "K") if "temperature" in j else temperature
        tr = grid("trials", 1.0) if "trials" in j else trials
        return make_observation(vals, name, vu, amp, wid, v_read=v_read, temperature=temp, trials=tr,
                                trace_labels=order, source=str(path), amplitude_unit=a_si, model=model)

    # wide: one trace per column or per row
    if amplitude is None or width is None:
        raise MeasurementError(f"{path}: a {layout!r} file holds only the values; give amplitude= and width=")
    body = _pad(rows[1:] if header else rows)
    first = 2 if header else 1
    grid = np.array([[num(c, i, name) for c in r] for i, r in enumerate(body, start=first)])  # (line, field)
    vals = grid.T if layout == "columns" else grid  # (trace, pulse)
    labels = None
    if header and layout == "columns":  # the header names the column traces (over row traces it names pulses)
        labels = [c.strip() for c in rows[0]]
        if len(labels) != vals.shape[0]:
            raise MeasurementError(f"{path}: {len(labels)} labels in the header but {vals.shape[0]} columns")
    vu = value_unit(None)
    a_si = "A" if _is_current(amplitude_unit) else "V"
    return make_observation(vals, name, vu, _per_trace(amplitude, vals.shape), _per_trace(width, vals.shape),
                            v_read=v_read, temperature=temperature,
                            trials=None if trials is None else _per_trace(trials, vals.shape),
                            trace_labels=labels, source=str(path), amplitude_unit=a_si, model=model)


def _pad(rows: list[list[str]]) -> list[list[str]]:
    n = max(len(r) for r in rows)
    return [list(r) + [""] * (n - len(r)) for r in rows]


def _per_trace(v, shape):
    """A scalar, one value per trace or a (trace, pulse) array, broadcast to ``shape``."""
    a = np.asarray(v, dtype=float)
    if a.ndim == 1 and a.size == shape[0] and shape[1] != shape[0]:
        a = a[:, None]
    return np.broadcast_to(a, shape).copy()


def read_instrument_observation(path, observable: str, *, v_read=None, temperature=ROOM_TEMPERATURE,
                                v_min: float = 1e-3, model=None) -> xr.Dataset:
    """An instrument export (Keithley 2400-series CSV with its header block) as a one-trace ``observable``.

    Each biased sample (``|V| > v_min``, V) is one pulse of the trace: ``amplitude`` its measured voltage,
    ``width`` the time to the next sample (the last repeats the previous step). The observable is the
    record's column of that name in the unit of its header (``SMU-1 Resistance (Ω)`` -> ohm, ``Current
    (A)``), or for ``conductance``/``resistance`` I/V or V/I when the record has no such column: units
    come from the headers, never guessed. The record reads at the pulse amplitude (``attrs["read_at"] =
    "amplitude"``); ``v_read`` is the read voltage a model's conductance is evaluated at, exact for models
    whose read is ohmic at a given state (e.g. the Mott thermal switch: R(T)).
    """
    from pathlib import Path

    from .measurement import MeasurementError, read_instrument_csv

    raw = read_instrument_csv(path)
    name = canonical(observable)
    where = str(path)
    for need in ("time", "voltage"):
        if need not in raw:
            raise MeasurementError(f"{where}: the record has no {need!r} column; found {sorted(raw.data_vars)}")
    t, v = raw["time"].values, raw["voltage"].values
    if name in raw:
        y, unit = raw[name].values, str(raw[name].attrs.get("units", ""))
    elif name in ("conductance", "resistance") and "current" in raw:
        i = raw["current"].values
        with np.errstate(divide="ignore", invalid="ignore"):
            y, unit = (i / v, "S") if name == "conductance" else (v / i, "ohm")
    else:
        raise MeasurementError(f"{where}: the record has no {name!r} column (nor current and voltage to derive "
                               f"it); found {sorted(raw.data_vars)}")
    if len(t) < 2 or np.any(np.diff(t) <= 0):
        raise MeasurementError(f"{where}: needs at least two samples at increasing times")
    width = np.append(np.diff(t), t[-1] - t[-2])
    keep = (np.abs(v) > v_min) & np.isfinite(y)
    if not keep.any():
        raise MeasurementError(f"{where}: no sample is biased above {v_min:g} V")
    ds = make_observation(y[keep][None, :], name, unit, v[keep][None, :], width[keep][None, :], v_read=v_read,
                          temperature=temperature, trace_labels=[Path(where).stem], source=where, model=model)
    ds.attrs.update(read_at="amplitude", dropped_samples=int((~keep).sum()),
                    metadata=raw.attrs.get("metadata", "{}"))
    return ds
