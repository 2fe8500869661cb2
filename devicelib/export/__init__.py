"""Export a card (published or freshly fitted) to the simulators people use.

>>> from devicelib.export import export                                  # doctest: +SKIP
>>> r = export("vcm.jiang2016_hfox", "aihwkit", "hfox.json",
...            amplitude="1.2 V", amplitude_down="-1.2 V", width="10 ns")  # doctest: +SKIP
>>> print(r.summary())                                                   # doctest: +SKIP

Targets: ``aihwkit`` (JSON + :func:`devicelib.export.aihwkit.build_rpu_config`),
``crosssim`` (directory: device JSON + dG tables), ``neurosim`` (text block for
Cell.cpp / train.py), ``memtorch`` (JSON of keyword parameters), ``native``
(HDF5). See :mod:`devicelib.export.common` for the pulse condition and the
mapping error every export reports.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .common import (
    DEFAULT_DEVICES,
    ExportError,
    ExportResult,
    NoResponseError,
    PhysicsResponse,
    PulseCondition,
    depression_hint,
    fit_warning,
    prepare_condition,
    resolve_card,
    resolve_condition,
    simulate_response,
)

TARGETS = ("aihwkit", "crosssim", "neurosim", "memtorch", "native")
#: default output per target (``{card}`` is the card name)
DEFAULT_OUT = {"aihwkit": "{card}_aihwkit.json", "crosssim": "{card}_crosssim", "neurosim": "{card}_neurosim.txt",
               "memtorch": "{card}_memtorch.json", "native": "{card}.h5"}


def default_out(card_name: str, to: str) -> Path:
    """The default output path of a target for a card (in the current directory)."""
    if to not in DEFAULT_OUT:
        raise ExportError(f"unknown export target {to!r}; available: {', '.join(TARGETS)}")
    return Path(DEFAULT_OUT[to].format(card=card_name.replace("/", "_")))


def export(
    source: Any,
    to: str,
    out: str | Path | None = None,
    *,
    amplitude=None,
    amplitude_down=None,
    width=None,
    temperature=None,
    read_voltage=None,
    g_start=None,
    n_pulses: int | tuple[int, int] | None = None,
    n_up: int | None = None,
    n_down: int | None = None,
    force: bool = False,
    n_devices: int | None = None,
    seed: int = 0,
    name: str | None = None,
    measurement=None,
    response: PhysicsResponse | None = None,
) -> ExportResult:
    """Export ``source`` (a Card, a card name or path, or a FitResult) to ``to`` at ``out``.

    Pulse-condition arguments take quantities (``Q_(1.2, "V")``), strings
    (``"10 ns"``) or SI numbers; missing ones default from the card's validity
    ranges (:func:`devicelib.export.common.resolve_condition`). ``g_start`` (S)
    starts the trains from a given conductance instead of the model's initial
    state. ``n_pulses`` (or ``(n_up, n_down)``) fixes the train lengths;
    ``n_up`` / ``n_down`` fix one of them; the others are automatic and stay
    inside the range the card was calibrated on
    (:func:`devicelib.export.common.simulate_response`). The polarity comes
    from the physics (:func:`devicelib.export.common.orient_condition`): given
    amplitudes that act the wrong way are refused, default ones swapped. A
    condition outside the card's validity ranges is refused unless ``force``.
    ``out`` None writes :data:`DEFAULT_OUT` (e.g. ``<card>_aihwkit.json``).
    ``measurement`` (native only) stores the data the card
    was fitted to; with a FitResult source it defaults to nothing (pass it).
    ``response`` (from :func:`simulate_response`) reuses one simulation for
    several targets; its condition then applies.
    """
    if to not in TARGETS:
        raise ExportError(f"unknown export target {to!r}; available: {', '.join(TARGETS)}")
    card = resolve_card(source, name)
    fit_json = source.to_json() if hasattr(source, "to_json") and hasattr(source, "to_card") else None
    if n_up is not None or n_down is not None:
        if n_pulses is not None:
            raise ExportError("give either n_pulses or n_up / n_down, not both")
        n_pulses = (n_up, n_down)
    if response is None:
        vals = [_parse(v) for v in (amplitude, amplitude_down, width, temperature, read_voltage, g_start)]
        cond, _ = prepare_condition(card, *vals, force=force)
        _check_start_and_size(card, cond, g_start is not None, n_devices, n_pulses)
        try:
            response = simulate_response(card, cond, n_pulses=n_pulses, n_devices=n_devices, seed=seed)
        except NoResponseError as exc:
            if width is not None or card.operating_value("width") is not None or card.validity_range("width") is None:
                raise
            # the default (shortest valid) width does not move this device within the train: take the
            # shortest decade-longer width inside the card's validity range that does (stated in the file)
            response = _longer_width(card, cond, exc, n_pulses=n_pulses, n_devices=n_devices, seed=seed)
            cond = response.condition
        _check_polarity(card, response)
    else:  # a response simulated beforehand (e.g. shared by several targets) fixes the condition
        cond = response.condition
    warn = fit_warning(card)
    if warn:
        import warnings

        warnings.warn(warn, stacklevel=2)
    if out is None:
        out = default_out(card.name, to)
    out = Path(out)
    if to == "native":
        from . import native

        result = native.write(card, cond, response, out, measurement=measurement, fit=fit_json)
    else:
        if to == "aihwkit":
            from . import aihwkit as mod
        elif to == "crosssim":
            from . import crosssim as mod
        elif to == "neurosim":
            from . import neurosim as mod
        else:
            from . import memtorch as mod
        result = mod.write(card, cond, response, out)
    result.warnings = list(cond.notes) + ([warn] if warn else []) + list(result.warnings)
    return result


def _check_start_and_size(card, cond, explicit_start: bool, n_devices, n_pulses) -> None:
    """Refuse, before anything is simulated, a given start conductance the model cannot reach (it
    would be clamped silently to its range) and an ensemble too large for the memory limit."""
    from ..simulate import check_inputs, check_start_conductance

    model = card.model()
    if explicit_start:
        try:
            check_start_conductance(model, cond.g_start, cond.read_voltage)
        except ValueError as exc:
            raise ExportError(f"{card.name}: g_start: {exc}") from None
    if n_devices is None:
        return
    # the smallest trains the export can run (8 pulses each way unless fixed): a size refused for
    # these is refused for any; the actual trains are checked again when they are simulated
    ups = n_pulses if isinstance(n_pulses, tuple) else (n_pulses, n_pulses)
    n_min = sum(8 if k is None else int(k) for k in ups)
    try:
        check_inputs(model, n_min, n_devices, cond.read_voltage, None, record_state=False)
    except ValueError as exc:
        msg = str(exc).replace("simulate: n_devices", "n_devices").replace("simulate: ", "export ensemble: ")
        if "memory limit" in msg:
            msg = msg.split("; ")[0] + ("; export a smaller ensemble (the spread statistics need "
                                        f"about {DEFAULT_DEVICES}-1000 devices), or simulate larger "
                                        "populations in chunks with devicelib.simulate and different seeds")
        raise ExportError(f"{card.name}: {msg}") from None


def _check_polarity(card, resp: PhysicsResponse) -> None:
    """The simulated trains must potentiate then depress (a probe can miss a device that moves late)."""
    g = resp.g_nominal
    rise, fall = g[resp.n_up] - g[0], g[-1] - g[resp.n_up]
    c = resp.condition
    if rise > 0 and fall >= 0:
        # e.g. a negative SET-level current on PCM: it heats like a positive one and finishes the SET
        raise ExportError(
            f"{card.name}: at {c.describe()} the depressing pulses ({c.amplitude_down:+.4g} {c.amplitude_unit}) "
            f"do not lower the conductance (the potentiating train changes G by {rise:+.3g} S, the depressing "
            f"train by {fall:+.3g} S). " + depression_hint(card.model()) + " Otherwise choose amplitudes whose "
            "signs potentiate and depress (--amplitude, --amplitude-down).")
    if not (rise > 0 and fall < 0):
        raise ExportError(
            f"{card.name}: at {c.describe()} the potentiating train changes G by {rise:+.3g} S and the depressing "
            f"train by {fall:+.3g} S: choose amplitudes whose signs potentiate and depress (--amplitude, "
            "--amplitude-down)")


def _longer_width(card, cond: PulseCondition, first: ExportError, **kw) -> PhysicsResponse:
    from dataclasses import replace

    w_max = card.validity_range("width")[1]
    w = cond.width * 10.0
    while w <= w_max * (1 + 1e-12):
        try:
            return simulate_response(card, replace(cond, width=w), **kw)
        except NoResponseError:
            w *= 10.0
    raise ExportError(f"{first} (also at every longer width up to {w_max:.3g} s, the card's validity)")


def _parse(value):
    """A string with a unit becomes a pint quantity; numbers and quantities pass through."""
    if isinstance(value, str):
        from ..units import Q_

        text = value.strip()
        try:
            return float(text)
        except ValueError:
            pass
        try:
            return Q_(text)
        except Exception:
            raise ExportError(f"cannot read {value!r} as a quantity (write e.g. '1.2 V', '10 ns')") from None
    return value


__all__ = [
    "DEFAULT_OUT",
    "TARGETS",
    "ExportError",
    "ExportResult",
    "PhysicsResponse",
    "PulseCondition",
    "default_out",
    "export",
    "prepare_condition",
    "resolve_card",
    "resolve_condition",
    "simulate_response",
]
