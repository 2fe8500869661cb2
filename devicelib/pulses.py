"""Pulse trains and the standard programming protocols.

A :class:`PulseTrain` is a sequence of events. Event ``k`` is a rectangular
pulse of ``amplitude[k]`` (V, or A for current-driven families) lasting
``width[k]`` seconds at ambient ``temperature[k]`` (K), followed by a wait of
``interval[k]`` seconds, after which the device is read. A read-only event has
zero amplitude and zero width, so retention is a train of reads after delays.

All arrays are plain float arrays in SI units; builders accept pint
quantities or SI numbers.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import units
from .units import UnitError, to_si

AMPLITUDE_UNITS = ("V", "A")
ROOM_TEMPERATURE = 300.0  # K


def _amplitude(value, amplitude_unit: str | None, name: str) -> tuple[np.ndarray, str]:
    """Convert an amplitude to SI and tell whether it is a voltage or a current."""
    if units._is_quantity(value):  # pint is imported only once a caller built a quantity
        ureg = units.registry()
        for u in AMPLITUDE_UNITS:
            if value.dimensionality == ureg.Unit(u).dimensionality:
                if amplitude_unit is not None and amplitude_unit != u:
                    raise UnitError(f"{name}: expected a quantity in {amplitude_unit}, got {value:~P}")
                return np.asarray(value.to(u).magnitude, dtype=float), u
        raise UnitError(
            f"{name}: a pulse amplitude is a voltage (V) or a current (A), got {value:~P}"
        )
    unit = amplitude_unit or "V"
    if unit not in AMPLITUDE_UNITS:
        raise UnitError(f"{name}: amplitude_unit must be 'V' or 'A', got {unit!r}")
    return np.asarray(value, dtype=float), unit


@dataclass(frozen=True)
class PulseTrain:
    """A sequence of programming (or read-only) events, SI arrays of equal length."""

    amplitude: np.ndarray
    width: np.ndarray
    interval: np.ndarray
    temperature: np.ndarray
    amplitude_unit: str = "V"

    def __post_init__(self):
        n = None
        for name in ("amplitude", "width", "interval", "temperature"):
            arr = np.atleast_1d(np.asarray(getattr(self, name), dtype=float))
            if arr.ndim != 1:
                raise ValueError(f"PulseTrain.{name}: expected a 1-D array, got shape {arr.shape}")
            if not np.all(np.isfinite(arr)):
                bad = int(np.flatnonzero(~np.isfinite(arr))[0])
                raise ValueError(f"PulseTrain.{name}: non-finite value at pulse {bad}")
            object.__setattr__(self, name, arr)
            n = len(arr) if n is None else n
            if len(arr) != n:
                raise ValueError(
                    f"PulseTrain: {name} has {len(arr)} entries, amplitude has {n}"
                )
        if n == 0:
            raise ValueError("PulseTrain: empty train (no pulses)")
        for name in ("width", "interval"):
            if np.any(getattr(self, name) < 0):
                raise ValueError(f"PulseTrain.{name}: negative duration")
        if np.any(self.temperature <= 0):
            raise ValueError("PulseTrain.temperature: must be positive (kelvin)")
        if self.amplitude_unit not in AMPLITUDE_UNITS:
            raise UnitError(f"PulseTrain.amplitude_unit must be 'V' or 'A', got {self.amplitude_unit!r}")

    def __len__(self) -> int:
        return len(self.amplitude)

    @property
    def start_time(self) -> np.ndarray:
        """Start time of each pulse (s), the first at t = 0."""
        period = self.width + self.interval
        return np.concatenate([[0.0], np.cumsum(period)[:-1]])

    @property
    def read_time(self) -> np.ndarray:
        """Time of the read that follows each event (s)."""
        return np.cumsum(self.width + self.interval)

    def __add__(self, other: PulseTrain) -> PulseTrain:
        return concatenate([self, other])

    def repeat(self, times: int) -> PulseTrain:
        return concatenate([self] * int(times))


def _full(n: int, value, unit: str, name: str) -> np.ndarray:
    arr = np.asarray(to_si(value, unit, name), dtype=float)
    return np.broadcast_to(arr, (n,)).copy() if arr.ndim == 0 else arr


def identical(
    n: int,
    amplitude,
    width,
    interval=0.0,
    temperature=ROOM_TEMPERATURE,
    amplitude_unit: str | None = None,
) -> PulseTrain:
    """``n`` identical pulses.

    >>> from devicelib.units import Q_
    >>> t = identical(3, Q_(1.2, "V"), Q_(50, "ns"))
    >>> t.width
    array([5.e-08, 5.e-08, 5.e-08])
    """
    n = int(n)
    if n < 1:
        raise ValueError("identical: n must be at least 1")
    amp, unit = _amplitude(amplitude, amplitude_unit, "amplitude")
    return PulseTrain(
        amplitude=np.broadcast_to(amp, (n,)).copy(),
        width=_full(n, width, "s", "width"),
        interval=_full(n, interval, "s", "interval"),
        temperature=_full(n, temperature, "K", "temperature"),
        amplitude_unit=unit,
    )


def potentiation_depression(
    n_up: int,
    n_down: int,
    amplitude_up,
    amplitude_down,
    width_up,
    width_down=None,
    cycles: int = 1,
    interval=0.0,
    temperature=ROOM_TEMPERATURE,
    amplitude_unit: str | None = None,
) -> PulseTrain:
    """``cycles`` repetitions of ``n_up`` potentiating then ``n_down`` depressing pulses.

    Give ``amplitude_down`` with its sign (negative for a bipolar device).
    """
    width_down = width_up if width_down is None else width_down
    up = identical(n_up, amplitude_up, width_up, interval, temperature, amplitude_unit)
    down = identical(n_down, amplitude_down, width_down, interval, temperature, up.amplitude_unit)
    return (up + down).repeat(cycles)


def incremental_step(
    n: int,
    start,
    step,
    width,
    interval=0.0,
    temperature=ROOM_TEMPERATURE,
    amplitude_unit: str | None = None,
) -> PulseTrain:
    """Incremental-step pulse programming: amplitude ``start + k * step``, k = 0..n-1."""
    a0, unit = _amplitude(start, amplitude_unit, "start")
    da, _ = _amplitude(step, unit, "step")
    amp = a0 + da * np.arange(int(n))
    return PulseTrain(
        amplitude=amp,
        width=_full(int(n), width, "s", "width"),
        interval=_full(int(n), interval, "s", "interval"),
        temperature=_full(int(n), temperature, "K", "temperature"),
        amplitude_unit=unit,
    )


def read_after_delay(delays, temperature=ROOM_TEMPERATURE, amplitude_unit: str = "V") -> PulseTrain:
    """Reads (no programming) at the given times after the start, for retention and drift.

    ``delays`` are absolute read times (s), strictly increasing and non-negative.
    """
    t = np.atleast_1d(np.asarray(to_si(delays, "s", "delays"), dtype=float))
    if t.size == 0:
        raise ValueError("read_after_delay: no delays given")
    if np.any(t < 0) or np.any(np.diff(t) <= 0):
        raise ValueError("read_after_delay: delays must be non-negative and strictly increasing")
    n = len(t)
    return PulseTrain(
        amplitude=np.zeros(n),
        width=np.zeros(n),
        interval=np.diff(t, prepend=0.0),
        temperature=_full(n, temperature, "K", "temperature"),
        amplitude_unit=amplitude_unit,
    )


def concatenate(trains: list[PulseTrain]) -> PulseTrain:
    """Join trains in order; they must share the amplitude unit."""
    if not trains:
        raise ValueError("concatenate: no trains")
    units = {t.amplitude_unit for t in trains}
    if len(units) > 1:
        raise UnitError(f"concatenate: trains mix amplitude units {sorted(units)}")
    return PulseTrain(
        amplitude=np.concatenate([t.amplitude for t in trains]),
        width=np.concatenate([t.width for t in trains]),
        interval=np.concatenate([t.interval for t in trains]),
        temperature=np.concatenate([t.temperature for t in trains]),
        amplitude_unit=trains[0].amplitude_unit,
    )
