r"""Physics to phenomenology: what every exporter shares.

A simulator's per-pulse rule is phenomenological; a devicelib card is physics.
An exporter therefore (1) fixes a *pulse condition* (potentiating and
depressing amplitude, width, ambient temperature, read voltage; defaults from
the card's validity ranges), (2) simulates the physics model under that
condition — a potentiation train from the start state followed by a
depression train, for the nominal device and, when the card has device-to-device or
cycle-to-cycle variability, for an ensemble of devices (read noise is kept
out of the ensemble: every simulator has its own read-noise term) — and (3) fits the target's rule to that response
(:mod:`devicelib.export.aihwkit`, ``neurosim``, ``crosssim``, ``memtorch``).
Every export reports its *mapping error*: the RMSE (S) between the physics
response of the nominal device and the exported rule replayed on the same
pulses, and the pulse condition it holds for.

Defaults of the pulse condition (all overridable):

- amplitude (potentiating): the card's ``[operating]`` value, else the largest
  positive amplitude of the card's ``validity.amplitude`` range; depressing:
  its most negative value (or ``-amplitude`` when the range has no negative
  part); 1 V / -1 V if the card gives no range. :func:`prepare_condition`
  then checks the polarity by simulation (:func:`orient_condition`: default
  amplitudes that act the wrong way are swapped, given ones refused) and
  refuses a condition outside the validity ranges unless ``force``;
- width: the shortest width of ``validity.width`` (the most gradual response
  the card vouches for); 100 ns if absent;
- temperature: 300 K when inside ``validity.temperature``, else its middle;
- read voltage: the middle of ``validity.read_voltage``; 0.1 V if absent.

Variability statistics (for the simulators' device-to-device and
cycle-to-cycle terms) come from the ensemble: per device, the observed
conductance window and the ratio of each observed step to the nominal step at
the same conductance, ``r = dG_obs / dG_nom(G)``; the device gain is the
median of ``r``, its spread across devices is the relative device-to-device
step spread, and the spread of ``r / gain`` within a device is the relative
cycle-to-cycle step noise.
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import shutil
import tempfile
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from .. import __version__
from ..catalog import Card, find_card, load_card
from ..core import DeviceModel
from ..units import format_unit, to_si
from ..variability import Variability

EXPORT_SCHEMA_VERSION = 1
DEFAULT_MAX_PULSES = 400
DEFAULT_DEVICES = 32


class ExportError(ValueError):
    """An export cannot be made (bad condition, no response, unsupported card)."""


class NoResponseError(ExportError):
    """The physics response does not move at the pulse condition (a longer pulse may help)."""


# -- sources --------------------------------------------------------------------------
def resolve_card(source: Any, name: str | None = None) -> Card:
    """A :class:`Card` from a card, a card name or path, or a fit result (``to_card``)."""
    if isinstance(source, Card):
        return source
    if hasattr(source, "to_card") and hasattr(source, "values"):  # FitResult
        return source.to_card(name or f"{source.model.name}.fit")
    if isinstance(source, str | os.PathLike):
        path = find_card(source)
        if path is None:
            raise ExportError(f"no card {str(source)!r} (see `devicelib catalog`)")
        return load_card(path)
    raise ExportError(f"cannot export from a {type(source).__name__}: give a Card, a card name/path or a FitResult")


# -- the pulse condition ------------------------------------------------------------------
@dataclass(frozen=True)
class PulseCondition:
    """The pulse condition an export holds for (SI: V or A, s, K, V)."""

    amplitude_up: float
    amplitude_down: float
    width: float
    temperature: float
    read_voltage: float
    amplitude_unit: str = "V"
    g_start: float | None = None  # start conductance (S); None: the model's initial state
    notes: tuple[str, ...] = field(default=(), compare=False)  # how the condition was chosen (provenance)

    def to_dict(self) -> dict[str, Any]:
        out = {
            "amplitude_up": {"value": self.amplitude_up, "unit": self.amplitude_unit},
            "amplitude_down": {"value": self.amplitude_down, "unit": self.amplitude_unit},
            "width": {"value": self.width, "unit": "s"},
            "temperature": {"value": self.temperature, "unit": "K"},
            "read_voltage": {"value": self.read_voltage, "unit": "V"},
        }
        if self.g_start is not None:
            out["g_start"] = {"value": self.g_start, "unit": "S"}
        return out

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> PulseCondition:
        return cls(
            amplitude_up=float(d["amplitude_up"]["value"]),
            amplitude_down=float(d["amplitude_down"]["value"]),
            width=float(d["width"]["value"]),
            temperature=float(d["temperature"]["value"]),
            read_voltage=float(d["read_voltage"]["value"]),
            amplitude_unit=d["amplitude_up"]["unit"],
            g_start=float(d["g_start"]["value"]) if "g_start" in d else None,
        )

    def describe(self) -> str:
        u = self.amplitude_unit
        text = (f"{self.amplitude_up:+.4g} {u} / {self.amplitude_down:+.4g} {u}, {self.width:.4g} s, "
                f"{self.temperature:.4g} K, read at {self.read_voltage:.4g} V")
        if self.g_start is not None:
            text += f", from {self.g_start:.4g} S"
        return text


def resolve_condition(card: Card, amplitude=None, amplitude_down=None, width=None, temperature=None,
                      read_voltage=None, g_start=None) -> PulseCondition:
    """The pulse condition: given values (quantities or SI), else the card's ``[operating]`` condition,
    else defaults from its validity ranges."""
    au = card.model_class().amplitude_unit
    arange = card.validity_range("amplitude")
    op = card.operating_value
    if amplitude is None:
        amplitude = op("amplitude")
    if amplitude is None:
        amplitude = arange[1] if arange and arange[1] > 0 else (abs(arange[0]) if arange else 1.0)
    amp = float(to_si(amplitude, au, "amplitude"))
    if amplitude_down is None:
        amplitude_down = op("amplitude_down")
    if amplitude_down is None:
        amplitude_down = arange[0] if arange and arange[0] < 0 else -amp
    amp_d = float(to_si(amplitude_down, au, "amplitude_down"))
    if amp == 0 or amp_d == 0:
        raise ExportError("pulse amplitudes must be non-zero")
    if width is None:
        width = op("width")
    if width is None:
        wr = card.validity_range("width")
        width = wr[0] if wr else 100e-9
    w = float(to_si(width, "s", "width"))
    if not w > 0:
        raise ExportError(f"pulse width must be positive, got {w} s")
    if temperature is None:
        temperature = op("temperature")
    if temperature is None:
        tr = card.validity_range("temperature")
        temperature = 300.0 if tr is None or tr[0] <= 300.0 <= tr[1] else 0.5 * (tr[0] + tr[1])
    t = float(to_si(temperature, "K", "temperature"))
    if not t > 0:
        raise ExportError(f"temperature must be positive kelvin, got {t}")
    if read_voltage is None:
        read_voltage = op("read_voltage")
    if read_voltage is None:
        rr = card.validity_range("read_voltage")
        read_voltage = 0.5 * (rr[0] + rr[1]) if rr else 0.1
    vr = float(to_si(read_voltage, "V", "read_voltage"))
    if g_start is None:  # a fitted card: start where the measured states start, not at the model's default
        g_start = card.start_conductance()
    gs = None if g_start is None else float(to_si(g_start, "S", "g_start"))
    if gs is not None and not gs > 0:
        raise ExportError(f"g_start must be a positive conductance, got {gs} S")
    return PulseCondition(amp, amp_d, w, t, vr, au, gs)


POLARITY_PROBE = 40  # pulses per segment of the polarity probe
_DOWN_LADDER = (0.5, 0.2, 0.1, 0.05, 0.02, 0.01)  # same-sign fractions of the potentiating amplitude


def _probe(model: DeviceModel, cond: PulseCondition, a: float, b: float, n: int = POLARITY_PROBE,
           n_dev: int = 1) -> tuple[float, float]:
    """Relative change of the nominal conductance under ``n`` pulses of ``b`` that follow ``n`` of ``a``, and
    under ``n`` more of ``a`` after those: ``(dG_b, dG_a) / mean|G|``. The first ``a`` segment only moves
    the device off a bound it may start on, so a device that starts saturated is judged correctly."""

    g, _ = _run(model, replace(cond, amplitude_up=b, amplitude_down=a), n, n, n_dev, None, 0, n_pre=n)
    g = g.mean(axis=0)
    scale = max(float(np.mean(np.abs(g))), 1e-300)
    return float(g[n] - g[0]) / scale, float(g[2 * n] - g[n]) / scale


def orient_condition(card: Card, cond: PulseCondition, given_up: bool = False, given_down: bool = False,
                     tol: float = 1e-6) -> tuple[PulseCondition, list[str]]:
    """The condition with a potentiating amplitude that raises G and a depressing one that lowers it.

    Decided by simulating the nominal device (:func:`_probe`): ``amplitude_down`` must lower G after
    ``amplitude_up`` pulses, and ``amplitude_up`` raise it again. Default amplitudes (from the card's
    validity) that act the other way round are swapped; when no negative amplitude depresses (or the
    default one lies outside the validity range) the largest same-sign fraction of the potentiating
    amplitude inside the validity range that depresses is taken (a thermal/volatile switch cools back
    during a weaker pulse). Amplitudes the user or the card's ``[operating]`` table gave are never
    changed: a wrong polarity raises :class:`ExportError` naming the swap. A device the probe does not
    move is returned unchanged (:func:`simulate_response` reports it). Returns the condition and notes.
    """
    model = card.model().nominal()
    n_dev = DEFAULT_DEVICES if model.stochastic else 1
    up, down = cond.amplitude_up, cond.amplitude_down
    given_up = given_up or card.operating_value("amplitude") is not None
    given_down = given_down or card.operating_value("amplitude_down") is not None
    u = cond.amplitude_unit
    arange = card.validity_range("amplitude")

    def inside(a):
        return arange is None or arange[0] - 1e-12 * abs(arange[0]) <= a <= arange[1] + 1e-12 * abs(arange[1])

    def verdict(a, b):
        db, da = _probe(model, cond, a, b, n_dev=n_dev)
        if db < -tol and da > tol:
            return "ok"
        if db > tol and da < -tol:
            return "swapped"
        if max(abs(db), abs(da)) <= tol:
            return "flat"
        return "same"

    v = verdict(up, down) if (given_down or inside(down)) else "outside"
    if v in ("ok", "flat"):
        return cond, []
    if v == "swapped":
        if given_up or given_down:
            raise ExportError(
                f"{card.name}: the potentiating amplitude {up:+.4g} {u} lowers the conductance and the depressing "
                f"amplitude {down:+.4g} {u} raises it ({cond.width:.4g} s pulses): swap them "
                f"(amplitude={down:.4g} {u}, amplitude_down={up:.4g} {u}; --amplitude / --amplitude-down)")
        note = (f"polarity from the physics: {down:+.4g} {u} raises the conductance of {card.name}, so it is the "
                f"potentiating amplitude and {up:+.4g} {u} the depressing one")
        return replace(cond, amplitude_up=down, amplitude_down=up), [note]
    if given_down:
        raise ExportError(
            f"{card.name}: the depressing amplitude {down:+.4g} {u} does not lower the conductance after "
            f"{up:+.4g} {u} pulses ({cond.width:.4g} s): give one that does (amplitude_down, --amplitude-down)")
    for f in _DOWN_LADDER:
        b = up * f
        if inside(b) and verdict(up, b) == "ok":
            note = (f"polarity from the physics: no opposite-sign amplitude inside the card's validity depresses "
                    f"{card.name}; {b:+.4g} {u} (a weaker pulse of the same sign) does")
            return replace(cond, amplitude_down=b), [note]
    rng = f" [{arange[0]:.4g}, {arange[1]:.4g}] {u}" if arange else ""
    raise ExportError(
        f"{card.name}: no amplitude inside the card's validity range{rng} lowers the conductance after "
        f"{up:+.4g} {u} pulses of {cond.width:.4g} s (a volatile switch returns by relaxing between pulses, which "
        "a per-pulse up/down rule does not describe): give amplitude_down (--amplitude-down; --force outside "
        "the validity range)")


def fit_warning(card: Card) -> str | None:
    """A warning when the card is a fit that did not converge (``[fit] converged = false``)."""
    fit = card.fit or {}
    if fit.get("converged") is False or str(fit.get("status", "")).lower() in ("failed", "not converged"):
        return (f"{card.name}: the fit this card holds did not converge (status {fit.get('status', 'unknown')!r}); "
                "its parameters, and this export, are not a calibrated description of the data")
    return None


def prepare_condition(card: Card, amplitude=None, amplitude_down=None, width=None, temperature=None,
                      read_voltage=None, g_start=None, *, force: bool = False) -> tuple[PulseCondition, list[str]]:
    """:func:`resolve_condition`, then :func:`orient_condition` (polarity from the physics), then the
    validity check: a condition outside the card's validity ranges raises :class:`ExportError` unless
    ``force``. Returns the condition and notes for the export's provenance."""
    cond = resolve_condition(card, amplitude, amplitude_down, width, temperature, read_voltage, g_start)
    cond, notes = orient_condition(card, cond, amplitude is not None, amplitude_down is not None)
    cond = replace(cond, notes=tuple(notes))
    out = outside_validity(card, cond)
    if out and not force:
        raise ExportError(f"{card.name}: " + "; ".join(out) + " (force=True / --force exports it anyway)")
    return cond, notes


def outside_validity(card: Card, cond: PulseCondition) -> list[str]:
    """Warnings for condition values outside the card's validity ranges."""
    out = []
    checks = [("amplitude", cond.amplitude_up), ("amplitude", cond.amplitude_down), ("width", cond.width),
              ("temperature", cond.temperature), ("read_voltage", cond.read_voltage)]
    if cond.g_start is not None:
        checks.append(("conductance", cond.g_start))
    for key, val in checks:
        r = card.validity_range(key)
        tol = 1e-9 * max(abs(r[0]), abs(r[1]), 1e-30) if r is not None else 0.0
        if r is not None and not (r[0] - tol <= val <= r[1] + tol):
            out.append(f"{key} {val:.4g} outside the card's validity range [{r[0]:.4g}, {r[1]:.4g}]")
    return out


# -- the physics response ------------------------------------------------------------------
@dataclass
class PhysicsResponse:
    """Conductance (S) before and after each pulse of a potentiation then depression train.

    ``g_nominal`` has length ``1 + n_up + n_down`` (start, then after each
    pulse); ``g_ensemble`` is ``(n_devices, 1 + n_up + n_down)`` or None when
    the card has no variability.
    """

    condition: PulseCondition
    n_up: int
    n_down: int
    g_nominal: np.ndarray
    g_ensemble: np.ndarray | None = None
    variability: Variability | None = None
    energy_up: float = float("nan")  # mean energy per potentiating pulse (J)
    energy_down: float = float("nan")
    stats: dict[str, float] = field(default_factory=dict)
    n_pre: int = 0  # conditioning depressing pulses before the trains (device saturated at the start)

    @property
    def g_min(self) -> float:
        return float(np.min(self.g_nominal))

    @property
    def g_max(self) -> float:
        return float(np.max(self.g_nominal))

    @property
    def up(self) -> np.ndarray:
        """Nominal potentiation trace, start included (n_up + 1)."""
        return self.g_nominal[: self.n_up + 1]

    @property
    def down(self) -> np.ndarray:
        """Nominal depression trace, its start (end of potentiation) included (n_down + 1)."""
        return self.g_nominal[self.n_up:]

    def directions(self) -> np.ndarray:
        return np.concatenate([np.ones(self.n_up), -np.ones(self.n_down)])

    def to_weights(self, g) -> np.ndarray:
        """Normalised weight w in [-1, 1] over the nominal window [g_min, g_max]."""
        return 2.0 * (np.asarray(g, dtype=float) - self.g_min) / (self.g_max - self.g_min) - 1.0

    def to_conductance(self, w) -> np.ndarray:
        return self.g_min + 0.5 * (np.asarray(w, dtype=float) + 1.0) * (self.g_max - self.g_min)


def _run(model: DeviceModel, cond: PulseCondition, n_up: int, n_down: int, n: int,
         variability: Variability | None, seed: int, n_pre: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Conductance (start + after each pulse) and energies of ``n_up`` up then ``n_down`` down pulses,
    after ``n_pre`` conditioning down pulses (left out of the returned arrays)."""
    from ..pulses import PulseTrain
    from ..simulate import simulate

    amp = np.concatenate([np.full(n_pre, cond.amplitude_down), np.full(n_up, cond.amplitude_up),
                          np.full(n_down, cond.amplitude_down)])
    npl = amp.size
    train = PulseTrain(amp, np.full(npl, cond.width), np.zeros(npl), np.full(npl, cond.temperature),
                       cond.amplitude_unit)
    state = None
    if cond.g_start is not None:
        try:
            state = model.state_from_conductance(np.full(n, cond.g_start), cond.read_voltage)
        except NotImplementedError:
            raise ExportError(f"{model.name} cannot start from a given conductance (g_start)") from None
    ds = simulate(model, train, n_devices=n, v_read=cond.read_voltage, variability=variability, seed=seed,
                  state=state, record_state=False)
    g = np.concatenate([ds["conductance_initial"].values[:, None], ds["conductance"].values], axis=1)
    return g[:, n_pre:], ds["energy"].values[:, n_pre:]


def _k99(trace: np.ndarray) -> int:
    """Pulses needed to reach 99 % of the total change of a trace (start included)."""
    change = trace - trace[0]
    total = change[-1]
    if total == 0:
        return len(trace) - 1
    idx = np.flatnonzero(change / total >= 0.99)
    return int(idx[0]) if idx.size else len(trace) - 1


def _first(mask: np.ndarray) -> int:
    """Index of the first True (the trace's pulse count), or the last index when none is."""
    idx = np.flatnonzero(mask)
    return int(idx[0]) if idx.size else len(mask) - 1


def calibrated_pulses(card: Card) -> tuple[int | None, int | None]:
    """Potentiating and depressing pulse counts the card was calibrated on (``[fit]`` keys ``pulses_up``
    / ``pulses_down``, or ``pulses`` for both), else ``(None, None)``."""
    fit = card.fit or {}
    both = fit.get("pulses")
    up, down = fit.get("pulses_up", both), fit.get("pulses_down", both)
    return (None if up is None else int(up)), (None if down is None else int(down))


def simulate_response(card: Card, cond: PulseCondition, n_pulses: int | tuple[int, int] | None = None,
                      n_devices: int | None = None, seed: int = 0,
                      max_pulses: int = DEFAULT_MAX_PULSES) -> PhysicsResponse:
    """Simulate the card's model at ``cond``: ``n_up`` potentiating then ``n_down`` depressing pulses.

    ``n_pulses`` None (or None for one count of an ``(n_up, n_down)`` tuple)
    chooses the count automatically: the pulses the card was calibrated on
    (:func:`calibrated_pulses`), else the pulses the nominal device needs to
    reach 99 % of its change within ``max_pulses`` (at least 8), and for a
    fitted card never beyond the conductance range it was fitted on
    (``validity.conductance``: the up train stops where it first reaches the
    top, the down train where it first reaches the bottom).
    The nominal trace is that of ``model.nominal()`` (intrinsic noise layers off),
    or the mean of ``n_devices`` seeded devices when that is still stochastic;
    the ensemble (the spread statistics) runs the full model with the card's
    programming variability, and runs for a stochastic model even without it.
    """
    model = card.model()
    nominal = model.nominal()
    n_dev = int(n_devices or DEFAULT_DEVICES)
    # a stochastic model without a deterministic twin: its nominal trace is the ensemble mean (the expected
    # update a simulator's per-pulse rule stands for), not one random realisation
    n_nom = n_dev if nominal.stochastic else 1

    n_pre = 0

    def nominal_run(n_a, n_b):
        g, e = _run(nominal, cond, n_a, n_b, n_nom, None, seed, n_pre)
        return g.mean(axis=0, keepdims=True), e.mean(axis=0, keepdims=True)

    req_up, req_down = n_pulses if isinstance(n_pulses, tuple) else (n_pulses, n_pulses)
    cal_up, cal_down = calibrated_pulses(card)
    req_up = cal_up if req_up is None else req_up
    req_down = cal_down if req_down is None else req_down
    g_cal = card.validity_range("conductance") if card.kind == "fitted" else None
    if req_up is None or req_down is None:
        g_up, _ = nominal_run(max_pulses if req_up is None else int(req_up), 0)
        if req_up is None and np.ptp(g_up[0]) <= 1e-6 * np.mean(np.abs(g_up[0])):
            # the device starts saturated at the top: condition it with depressing pulses first, so the
            # potentiation branch starts from the bottom of the window
            g_pre, _ = nominal_run(0, max_pulses)
            n_pre = _k99(g_pre[0])
            g_up, _ = nominal_run(max_pulses, 0)
        n_up = int(req_up) if req_up is not None else max(_k99(g_up[0]), 8)
        if req_up is None and g_cal is not None:  # stay inside the conductance range the card was fitted on
            n_up = min(n_up, max(_first(g_up[0] >= g_cal[1]), 2))
        if req_down is None:
            g_tmp, _ = nominal_run(n_up, max_pulses)
            n_down = max(_k99(g_tmp[0, n_up:]), 8)
            if g_cal is not None:
                n_down = min(n_down, max(_first(g_tmp[0, n_up:] <= g_cal[0]), 2))
        else:
            n_down = int(req_down)
    else:
        n_up, n_down = int(req_up), int(req_down)
    if n_up < 2 or n_down < 2:
        raise ExportError("need at least 2 potentiating and 2 depressing pulses")
    g, energy = nominal_run(n_up, n_down)
    g_nom = g[0]
    if not np.all(np.isfinite(g_nom)) or np.ptp(g_nom) <= 1e-6 * np.mean(np.abs(g_nom)):
        raise NoResponseError(
            f"the physics response at {cond.describe()} does not change the conductance (less than 1 ppm): "
            "choose another "
            "pulse condition (amplitude, width) or start conductance"
        )
    for label, seg, amp in (("potentiating", g_nom[: n_up + 1], cond.amplitude_up),
                            ("depressing", g_nom[n_up:], cond.amplitude_down)):
        if np.ptp(seg) <= 1e-6 * np.mean(np.abs(g_nom)):
            hint = " " + depression_hint(model) if label == "depressing" else ""
            raise ExportError(f"the {label} pulses ({amp:.4g} {cond.amplitude_unit}) do not change the conductance "
                              f"at {cond.describe()}.{hint}")
    var = card.variability
    ens = None
    # programming variability only: read noise is a separate term of every simulator (stats["read"])
    prog = Variability() if var is None else Variability(d2d=var.d2d, c2c=var.c2c, c2c_abs=var.c2c_abs, read=0.0)
    if not prog.is_zero or model.stochastic or nominal is not model:
        ens, _ = _run(model, cond, n_up, n_down, n_dev, None if prog.is_zero else prog, seed + 1, n_pre)
    resp = PhysicsResponse(cond, n_up, n_down, g_nom, ens, var,
                           energy_up=float(np.mean(energy[0, :n_up])), energy_down=float(np.mean(energy[0, n_up:])),
                           n_pre=n_pre)
    resp.stats = ensemble_stats(resp)
    return resp


def depression_hint(model: DeviceModel) -> str:
    """What to give when the depressing pulses do not lower G: Joule heating is even in the amplitude, so a
    unipolar device (PCM) keeps crystallising under an opposite-sign SET-level pulse and is depressed only by
    a RESET (melt-quench) pulse of the same sign; a volatile switch returns by relaxing, not by a pulse."""
    return ("A unipolar device (e.g. PCM) is depressed by a RESET pulse of the same sign: give it as "
            "amplitude_down (--amplitude-down)."
            + (" A volatile threshold switch (e.g. Mott) returns by relaxing between pulses instead, which a "
               "per-pulse up/down rule does not describe." if model.volatile else ""))


def require_positive(resp: PhysicsResponse, target: str) -> None:
    """Resistance-based targets (1/G) need a response that stays above 0 S."""
    g = resp.g_nominal
    if g.min() <= 0:
        raise ExportError(
            f"{target} describes the window by resistances (1/G), but the physics response reaches "
            f"{g.min():.3g} S at {resp.condition.describe()} (e.g. programming noise clipped at 0 S in a PCM "
            "RESET state): export from a start conductance or a condition that stays above 0 S"
        )


def ensemble_stats(resp: PhysicsResponse) -> dict[str, float]:
    """Relative spreads from the ensemble (zeros without variability); see the module docstring."""
    read = float(resp.variability.read) if resp.variability is not None else 0.0
    out = {"g_max_dtod": 0.0, "g_min_dtod": 0.0, "step_dtod": 0.0, "step_c2c": 0.0, "step_c2c_abs": 0.0,
           "read": read, "n_devices": 0}
    ens = resp.g_ensemble
    if ens is None:
        return out
    span = resp.g_max - resp.g_min
    hi, lo = ens.max(axis=1), ens.min(axis=1)
    out["g_max_dtod"] = float(np.std(hi) / max(abs(resp.g_max), 1e-300))
    out["g_min_dtod"] = float(np.std(lo) / max(abs(resp.g_min), 1e-300))
    ratios, abs_dev = [], []
    for sl, nom in ((slice(0, resp.n_up + 1), resp.up), (slice(resp.n_up, None), resp.down)):
        g_nom, dg_nom = nom[:-1], np.diff(nom)
        order = np.argsort(g_nom)
        obs = ens[:, sl]
        g_obs, dg_obs = obs[:, :-1], np.diff(obs, axis=1)
        expect = np.interp(g_obs, g_nom[order], dg_nom[order])
        ok = np.abs(expect) > 1e-3 * np.max(np.abs(dg_nom))
        r = np.where(ok, dg_obs / np.where(ok, expect, 1.0), np.nan)
        ratios.append(r)
        abs_dev.append(np.where(ok, dg_obs - expect, np.nan))
    r = np.concatenate(ratios, axis=1)
    with np.errstate(all="ignore"):
        gain = np.nanmedian(r, axis=1)
    # a device whose typical step is 0 (a telegraph device that switches on few pulses) has no gain to
    # normalise by: its steps count relative to the nominal step
    gain = np.where(np.isfinite(gain) & (gain != 0), gain, 1.0)
    out["step_dtod"] = float(np.nanstd(gain))
    out["step_c2c"] = float(np.nanstd(r / gain[:, None])) if np.isfinite(r).any() else 0.0
    out["step_c2c_abs"] = float(np.nanstd(np.concatenate(abs_dev, axis=1)) / span)  # fraction of the window
    out["n_devices"] = int(ens.shape[0])
    return out


def rmse(a, b) -> float:
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    return float(np.sqrt(np.mean((a - b) ** 2)))


def mapping_record(rule: str, resp: PhysicsResponse, g_rule: np.ndarray, **extra) -> dict[str, Any]:
    """The mapping-error record every export carries: RMSE (S) of the rule against the physics response."""
    err = rmse(g_rule, resp.g_nominal)
    span = resp.g_max - resp.g_min
    rec = {
        "rule": rule,
        "rmse": {"value": err, "unit": "S"},
        "rmse_relative_to_window": err / span,
        "window": {"g_min": {"value": resp.g_min, "unit": "S"}, "g_max": {"value": resp.g_max, "unit": "S"}},
        "n_up": resp.n_up,
        "n_down": resp.n_down,
        "protocol": "n_up potentiating then n_down depressing pulses from the start state; RMSE over the "
                    "start and every read after a pulse, nominal device",
    }
    if resp.n_pre:
        rec["n_pre"] = resp.n_pre
        rec["protocol"] += (f"; the start state is the model's initial state after {resp.n_pre} depressing pulses "
                            "(it starts saturated at the top of the window)")
    rec.update(extra)
    return rec


# -- provenance and writing ---------------------------------------------------------------------
def provenance(card: Card, cond: PulseCondition, target: str) -> dict[str, Any]:
    return {
        "generator": f"devicelib.export.{target}",
        "devicelib_version": __version__,
        "date": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
        "card": card.name,
        "card_kind": card.kind,
        "card_path": str(card.path) if card.path else None,
        "model": card.model_name,
        "citation": card.citation(),
        "pulse_condition": cond.to_dict(),
        "validity_warnings": outside_validity(card, cond),
        "condition_notes": list(cond.notes),
        "fit_warning": fit_warning(card),
    }


def json_default(o):
    if isinstance(o, np.generic):
        return o.item()
    if isinstance(o, np.ndarray):
        return o.tolist()
    if isinstance(o, Path):
        return str(o)
    raise TypeError(f"not JSON serialisable: {type(o).__name__}")


def write_json(path: Path, obj: Any) -> Path:
    """Write JSON through a unique temporary file next to ``path``, then rename (mode follows the umask)."""
    text = json.dumps(obj, indent=2, default=json_default) + "\n"
    return atomic_write_with(Path(path), lambda tmp: tmp.write_text(text, encoding="utf-8"))


def _umask_mode(base: int = 0o666) -> int:
    """``base`` less the process umask: the mode ``open()`` (0666) or ``mkdir`` (0777) would give."""
    mask = os.umask(0)
    os.umask(mask)
    return base & ~mask


def atomic_write_with(path: Path, writer: Callable[[Path], None]) -> Path:
    """Call ``writer(tmp_path)`` on a unique temporary file next to ``path``, then rename it to ``path``: no
    half-written file on error, and the file mode follows the umask (``mkstemp`` alone gives 0600)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        writer(Path(tmp))
        os.chmod(tmp, _umask_mode())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


@contextmanager
def atomic_directory(out: Path, marker: str):
    """Yield a unique temporary directory beside ``out``; on success it replaces ``out`` as a whole.

    An interrupted or failed export leaves the previous ``out`` untouched and no temporary behind,
    never a mix of two exports' files. An existing ``out`` is replaced only when it is empty or a
    previous export (it holds ``marker``): a folder of the user's own files is refused, not deleted.
    The directory mode follows the umask (``mkdtemp`` alone gives 0700).
    """
    out = Path(out)
    if out.exists() and not (out.is_dir() and (not any(out.iterdir()) or (out / marker).is_file())):
        raise ExportError(f"{out} exists and is not a previous export (no {marker}): choose a new folder; "
                          "devicelib replaces only its own export folders")
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    old = None
    try:
        yield tmp
        os.chmod(tmp, _umask_mode(0o777))
        if out.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{out.name}.old.", dir=out.parent))
            os.replace(out, old / "x")
        os.replace(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        if old is not None and (old / "x").exists() and not out.exists():
            os.replace(old / "x", out)  # put the previous export back
        raise
    finally:
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)


@dataclass
class ExportResult:
    """What an export wrote and how well the exported rule matches the physics."""

    target: str
    paths: list[Path]
    condition: PulseCondition
    mapping: dict[str, Any]
    content: dict[str, Any] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)

    @property
    def rmse(self) -> float:
        return float(self.mapping["rmse"]["value"])

    def summary(self) -> str:
        m = self.mapping
        lines = [
            f"target      {self.target}",
            f"rule        {m['rule']}",
            f"condition   {self.condition.describe()}",
            f"window      {m['window']['g_min']['value']:.4g} .. {m['window']['g_max']['value']:.4g} S, "
            f"{m['n_up']} up / {m['n_down']} down pulses",
            f"mapping     RMSE {m['rmse']['value']:.4g} {format_unit('S')} "
            f"({100 * m['rmse_relative_to_window']:.3g} % of the window)",
        ]
        lines += [f"wrote       {p}" for p in self.paths]
        lines += [f"warning     {w}" for w in self.warnings]
        return "\n".join(lines)
