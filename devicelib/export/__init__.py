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
    ExportError,
    ExportResult,
    NoResponseError,
    PhysicsResponse,
    PulseCondition,
    resolve_card,
    resolve_condition,
    simulate_response,
)

TARGETS = ("aihwkit", "crosssim", "neurosim", "memtorch", "native")


def export(
    source: Any,
    to: str,
    out: str | Path,
    *,
    amplitude=None,
    amplitude_down=None,
    width=None,
    temperature=None,
    read_voltage=None,
    g_start=None,
    n_pulses: int | tuple[int, int] | None = None,
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
    default automatic. ``measurement`` (native only) stores the data the card
    was fitted to; with a FitResult source it defaults to nothing (pass it).
    ``response`` (from :func:`simulate_response`) reuses one simulation for
    several targets; its condition then applies.
    """
    if to not in TARGETS:
        raise ExportError(f"unknown export target {to!r}; available: {', '.join(TARGETS)}")
    card = resolve_card(source, name)
    fit_json = source.to_json() if hasattr(source, "to_json") and hasattr(source, "to_card") else None
    if response is None:
        vals = [_parse(v) for v in (amplitude, amplitude_down, width, temperature, read_voltage, g_start)]
        cond = resolve_condition(card, *vals)
        try:
            response = simulate_response(card, cond, n_pulses=n_pulses, n_devices=n_devices, seed=seed)
        except NoResponseError as exc:
            if width is not None or card.operating_value("width") is not None or card.validity_range("width") is None:
                raise
            # the default (shortest valid) width does not move this device within the train: take the
            # shortest decade-longer width inside the card's validity range that does (stated in the file)
            response = _longer_width(card, cond, exc, n_pulses=n_pulses, n_devices=n_devices, seed=seed)
            cond = response.condition
    else:  # a response simulated beforehand (e.g. shared by several targets) fixes the condition
        cond = response.condition
    out = Path(out)
    if to == "aihwkit":
        from . import aihwkit as mod
    elif to == "crosssim":
        from . import crosssim as mod
    elif to == "neurosim":
        from . import neurosim as mod
    elif to == "memtorch":
        from . import memtorch as mod
    else:
        from . import native

        return native.write(card, cond, response, out, measurement=measurement, fit=fit_json)
    return mod.write(card, cond, response, out)


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
    "TARGETS",
    "ExportError",
    "ExportResult",
    "PhysicsResponse",
    "PulseCondition",
    "export",
    "resolve_card",
    "resolve_condition",
    "simulate_response",
]
