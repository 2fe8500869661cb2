r"""Readers and observables of the VO2 threshold-pulse data set (Galloni et al., PNAS 121 (2024)).

Data (``vo2-threshold-pulses/`` of the shared data, MIT licence, Milstein Lab ``neuromorphic-btsp``):

- ``short_Vpulses_data/<V>V_<w>s_<T>C.csv``: a Keithley KickStart export of ONE source-measure trace
  per file, sampled every 0.2 ms: a voltage pulse of amplitude V and width w (10 ms) at stage
  temperature T (68.5 C), then a 0.5 V read for ~100 ms (the recovery), then a second identical
  pulse and read. Columns time, voltage, current, resistance (= V/I of the SMU) in a per-file order:
  read by header (:func:`devicelib.measurement.read_instrument_csv`). No load resistor is recorded.
- ``relaxation_timescales.xlsx``: resistance R(t) after current steps (sheet ``fast``: 4-20 mA for
  0.1 s, 0.2 ms sampling; ``slow``: 10-70 mA at 64 C, 1 ms sampling; ``ultraslow``: 100 mA steps of
  several widths) on other devices of the same film; read with :mod:`devicelib.xlsx`.

Observables (:func:`pulse_features`), per pulse file:

- ``r_initial``: resistance at the pulse's leading-edge sample (the device is still at the stage
  temperature: the edge sample sees a fraction of the amplitude for a fraction of 0.2 ms);
- ``t_threshold`` (s): the switching (threshold) time, the first time after the edge at which
  R(t) falls to ``fraction`` (default 1/2) of ``r_initial``, interpolated linearly between samples;
  NaN when the pulse ends first (no switching within the pulse);
- ``r_on``, ``i_on``: resistance and current at the last full-amplitude sample (the on state when
  the device switched, the heated insulating state otherwise);
- ``tau_recovery`` (s): time constant of a single exponential g(t) = g_inf - A e^{-t/tau} fitted to
  the conductance read at 0.5 V after the pulse (until the next pulse), as Galloni et al. fit their
  conductance decays; ``r_read_first`` and ``r_read_last``: first and last read resistance.

:func:`read_relaxation` returns the traces of one sheet of ``relaxation_timescales.xlsx`` and
:func:`relaxation_tau` the same single-exponential time constant after the current step ends.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..measurement import MeasurementError, read_instrument_csv
from ..textio import as_path

_NAME = re.compile(r"^(?P<v>[0-9.]+)V_(?P<w>[0-9.eE+-]+)s_(?P<t>[0-9.]+)C\.csv$")


@dataclass(frozen=True)
class PulseRecord:
    """One short-pulse trace: SI arrays on the sample axis and the pulse found in them."""

    path: Path
    amplitude: float  # V, nominal (file name)
    width: float  # s, nominal (file name)
    stage_temperature: float  # K (file name)
    time: np.ndarray = field(repr=False)
    voltage: np.ndarray = field(repr=False)
    current: np.ndarray = field(repr=False)
    resistance: np.ndarray = field(repr=False)
    edge: int = 0  # index of the leading-edge sample
    last: int = 0  # index of the last full-amplitude sample
    read_stop: int = 0  # index after the last read sample before the next pulse

    @property
    def plateau_voltage(self) -> float:
        """Median measured voltage over the full-amplitude samples (V)."""
        return float(np.median(self.voltage[self.edge + 1:self.last + 1]))

    @property
    def pulse_time(self) -> np.ndarray:
        """Times of the full-amplitude samples from the leading edge (s)."""
        return self.time[self.edge + 1:self.last + 1] - self.time[self.edge]

    @property
    def pulse_resistance(self) -> np.ndarray:
        return self.resistance[self.edge + 1:self.last + 1]

    @property
    def read_slice(self) -> slice:
        """Samples of the 0.5 V read after the pulse (the trailing-edge sample excluded)."""
        return slice(self.last + 2, self.read_stop)


def read_vo2_pulse(path: str | os.PathLike) -> PulseRecord:
    """Read one ``<V>V_<w>s_<T>C.csv`` file and locate its first pulse and the read after it."""
    path = as_path(path)
    m = _NAME.match(path.name)
    if m is None:
        raise MeasurementError(f"{path}: file name is not '<V>V_<width>s_<T>C.csv' (amplitude, width, stage T)")
    raw = read_instrument_csv(path)
    for key in ("time", "voltage", "current", "resistance"):
        if key not in raw:
            raise MeasurementError(f"{path}: no '{key}' column (columns: {', '.join(raw.data_vars)})")
    t, v, i, r = (raw[k].to_numpy() for k in ("time", "voltage", "current", "resistance"))
    amp = float(m["v"])
    high = v > 0.5 * amp
    if not high.any():
        raise MeasurementError(f"{path}: no sample reaches half of the {amp} V amplitude: no pulse found")
    edge = int(np.argmax(high))
    after = np.flatnonzero(~high[edge:])
    end = edge + (int(after[0]) if after.size else high.size - edge)  # first sample below half amplitude
    full = np.flatnonzero(v[edge:end] > 0.95 * amp) + edge
    if full.size < 2:
        raise MeasurementError(f"{path}: fewer than two full-amplitude samples in the pulse at t = {t[edge]:.4g} s")
    last = int(full[-1])
    nxt = np.flatnonzero(high[end:])
    read_stop = end + (int(nxt[0]) if nxt.size else high.size - end)
    return PulseRecord(path, amp, float(m["w"]), float(m["t"]) + 273.15, t, v, i, r, edge, last, read_stop)


def read_vo2_pulses(folder: str | os.PathLike) -> list[PulseRecord]:
    """All ``*.csv`` pulse files of ``folder``, by increasing amplitude."""
    folder = as_path(folder)
    files = sorted(folder.glob("*.csv"))
    if not files:
        raise MeasurementError(f"{folder}: no pulse files (*.csv)")
    return sorted((read_vo2_pulse(f) for f in files), key=lambda rec: rec.amplitude)


def threshold_time(t: np.ndarray, r: np.ndarray, r_cross: float) -> float:
    """First time at which r falls to r_cross (linear interpolation between samples); NaN if never.

    ``t`` starts at the pulse edge; a first sample already below ``r_cross`` is interpolated from
    (0, r[0] of the edge) by the caller prepending the edge sample.
    """
    below = np.flatnonzero(r <= r_cross)
    if below.size == 0:
        return float("nan")
    k = int(below[0])
    if k == 0:
        return float(t[0])
    t0, t1, r0, r1 = t[k - 1], t[k], r[k - 1], r[k]
    return float(t0 + (r0 - r_cross) / (r0 - r1) * (t1 - t0))


def exponential_tau(t: np.ndarray, g: np.ndarray) -> tuple[float, float]:
    """Time constant (s) of g(t) = g_inf + A e^{-t/tau} (least squares) and the relative RMS residual."""
    from scipy.optimize import curve_fit

    t = np.asarray(t, float) - float(t[0])
    g = np.asarray(g, float)
    span = float(np.ptp(g)) or 1.0
    y = (g - g[-1]) / span

    def f(x, a, tau, c):
        return a * np.exp(-x / tau) + c

    # start: the time at which the excursion has fallen to 1/e of its first value
    e = np.flatnonzero(np.abs(y - y[-1]) <= abs(y[0] - y[-1]) / np.e)
    tau0 = float(t[e[0]]) if e.size and t[e[0]] > 0 else float(t[-1]) / 5
    p, _ = curve_fit(f, t, y, p0=(y[0] - y[-1], tau0, y[-1]), bounds=([-10, 1e-7, -10], [10, 1e3, 10]),
                     maxfev=20000)
    return float(p[1]), float(np.sqrt(np.mean((f(t, *p) - y) ** 2)))


def pulse_features(rec: PulseRecord, fraction: float = 0.5) -> dict[str, float]:
    """Threshold time, on state and recovery of one pulse record (see the module docstring)."""
    r0 = float(rec.resistance[rec.edge])
    t = np.r_[0.0, rec.pulse_time]
    r = np.r_[r0, rec.pulse_resistance]
    t_th = threshold_time(t[1:], r[1:], fraction * r0)
    if np.isfinite(t_th) and t_th == t[1]:  # crossed before the first full sample: interpolate from the edge
        t_th = threshold_time(t, r, fraction * r0)
    rs = rec.read_slice
    t_read, r_read = rec.time[rs], rec.resistance[rs]
    tau, rms = exponential_tau(t_read, 1.0 / r_read) if r_read.size > 5 else (float("nan"), float("nan"))
    return {
        "amplitude": rec.amplitude, "plateau_voltage": rec.plateau_voltage, "r_initial": r0,
        "t_threshold": t_th, "r_on": float(rec.resistance[rec.last]), "i_on": float(rec.current[rec.last]),
        "t_end": float(rec.time[rec.last] - rec.time[rec.edge]), "tau_recovery": tau, "tau_fit_rms": rms,
        "r_read_first": float(r_read[0]) if r_read.size else float("nan"),
        "r_read_last": float(r_read[-1]) if r_read.size else float("nan"),
        "read_voltage": float(np.median(rec.voltage[rs])) if r_read.size else float("nan"),
    }


@dataclass(frozen=True)
class RelaxationTrace:
    label: str  # the sheet's label row, e.g. "8 mA"
    time: np.ndarray = field(repr=False)  # s
    resistance: np.ndarray = field(repr=False)  # ohm


def read_relaxation(path: str | os.PathLike, sheet: str) -> list[RelaxationTrace]:
    """Resistance traces of one sheet of ``relaxation_timescales.xlsx``.

    Row 1 names the columns (``Time (s)`` or ``Resistance (Ω)``; a column left unnamed continues the
    kind of its left neighbour), row 3 labels each trace, data start at row 4. Each resistance column
    takes the nearest time column to its left.
    """
    from ..xlsx import column_index, read_xlsx

    path = as_path(path)
    rows = read_xlsx(path, [sheet])[sheet]
    head, labels = rows.get(1, {}), rows.get(3, {})
    cols = sorted(set(head) | set(labels), key=column_index)
    data_rows = sorted(k for k in rows if k >= 4)
    out, tcol, name = [], None, ""
    for c in cols:
        name = str(head.get(c, name)).strip().lower()  # an unnamed column continues its left neighbour's kind
        if name.startswith("time"):
            tcol = c
        elif name.startswith("resistance"):
            if tcol is None:
                raise MeasurementError(f"{path}: sheet {sheet!r}: resistance column {c} has no time column")
            pairs = [(rows[k][tcol], rows[k][c]) for k in data_rows if tcol in rows[k] and c in rows[k]]
            arr = np.array(pairs, dtype=float)
            if arr.size == 0:
                raise MeasurementError(f"{path}: sheet {sheet!r}: column {c} holds no numbers")
            out.append(RelaxationTrace(str(labels.get(c, c)).strip(), arr[:, 0], arr[:, 1]))
    if not out:
        raise MeasurementError(f"{path}: sheet {sheet!r}: no 'Time'/'Resistance' columns in row 1")
    return out


def step_end(trace: RelaxationTrace) -> int:
    """Index of the first recovering sample after the current step.

    During the step the device is metallic: the low run (R below max(R)/3) has its on-state
    resistance r_on as median. The step has ended at the first sample after the middle of that run
    whose R exceeds 2 r_on (the firing transient at the leading edge is skipped that way).
    """
    r = trace.resistance
    low = np.flatnonzero(r < np.max(r) / 3)
    if low.size < 3:
        raise MeasurementError(f"trace {trace.label!r}: no low-resistance (metallic) run: no current step found")
    mid, r_on = int(low[low.size // 2]), float(np.median(r[low]))
    rise = np.flatnonzero(r[mid:] > 2 * r_on)
    if rise.size == 0:
        raise MeasurementError(f"trace {trace.label!r}: the resistance never recovers after the step")
    return mid + int(rise[0])


def relaxation_tau(trace: RelaxationTrace, window: float | None = None) -> tuple[float, float]:
    """Single-exponential time constant (s) of the conductance after the step (first ``window`` s)."""
    k = step_end(trace)
    t, r = trace.time[k:], trace.resistance[k:]
    if window is not None:
        keep = t - t[0] <= window
        t, r = t[keep], r[keep]
    return exponential_tau(t, 1.0 / r)
