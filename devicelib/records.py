"""Literature records: the figures a paper reports for one device, with its citation.

A record is a TOML file in ``models/records/`` (the card loader skips that
folder). It is not a model: it holds the numbers a paper gives (switching
time, energy per update, states, accuracy on a named task, area ...) so that
``devicelib compare`` can put them next to metrics simulated from cards, in
the same units. Loading validates every unit with pint and never executes
code (``tomllib``); errors name the file and the key.

Format (``schema_version = 1``)::

    schema_version = 1
    name = "lit.ftj.ma2020_bto"        # lit.<family>.<short>, unique
    kind = "record"
    family = "ftj"                     # device family (free text, lower case)
    title = "Ag/BaTiO3/Nb:SrTiO3 ferroelectric tunnel junction"
    has_model = false                  # true only with card = "<catalog card>"
    card = "fefet.jerry2017_synapse"   # the card that models this device, if any
    notes = "..."

    [provenance]
    citation = "C. Ma et al., Nat. Commun. 11, 1439 (2020)"
    doi = "10.1038/s41467-020-15249-1"
    where = "abstract"

    [figures]
    switching_time = { value = 600, unit = "ps", where = "abstract" }
    states = { value = 32 }
    energy_per_update = { value = 10, unit = "pJ", bound = "upper" }
    accuracy = { value = 91.5, unit = "%", task = "MNIST" }
    c2c = { value = 3.5, unit = "%", estimate = "basis: ..." }

A figure is ``{ value, unit }`` plus optional ``bound`` ("upper": the paper
says "<", "lower": ">"), ``where`` (page, table, figure), ``estimate`` (the
basis of a value not verified in the paper), ``task`` (required for
``accuracy``) and ``note``. Dimensionless figures may omit ``unit``.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .metrics import METRICS, DeviceMetrics, Metric
from .units import UnitError, convert, parse_unit

SCHEMA_VERSION = 1
RECORDS_SUBDIR = "records"

# Figures a record may give: the metric names (devicelib.metrics.METRICS) plus a few reported-only ones.
EXTRA_FIGURES: dict[str, tuple[str, str]] = {
    "r_on": ("ohm", "low-resistance state"),
    "r_off": ("ohm", "high-resistance state"),
    "pulse_amplitude": ("V", "programming pulse amplitude (V; use pulse_current for A)"),
    "pulse_current": ("A", "programming pulse current"),
    "switching_time_off": ("s", "switching time of the reverse (off / RESET) transition"),
}
_TOP_KEYS = {"schema_version", "name", "kind", "family", "title", "has_model", "card", "notes",
             "provenance", "figures"}
_FIGURE_KEYS = {"value", "unit", "bound", "where", "estimate", "task", "note"}


class RecordError(ValueError):
    """A record file is malformed."""


@dataclass
class Figure:
    value: float  # in the canonical unit below
    unit: str  # canonical unit (SI, "%" for accuracy)
    original: tuple[Any, str]  # as written
    bound: str | None = None
    where: str | None = None
    estimate: str | None = None
    task: str | None = None
    note: str | None = None


@dataclass
class Record:
    name: str
    family: str
    title: str
    provenance: dict[str, Any]
    figures: dict[str, Figure] = field(default_factory=dict)
    has_model: bool = False
    card: str | None = None
    notes: str = ""
    path: Path | None = None

    def citation(self) -> str:
        c = self.provenance.get("citation", "")
        doi = self.provenance.get("doi")
        return f"{c}, doi:{doi}" if doi else c


def figure_unit(name: str) -> str:
    """The canonical unit of a figure name ('' for dimensionless)."""
    if name in METRICS:
        return METRICS[name].unit
    return EXTRA_FIGURES[name][0]


def records_dirs() -> list[Path]:
    """Folders holding records: ``records/`` under each catalog folder."""
    from .catalog import catalog_dirs

    return [d / RECORDS_SUBDIR for d in catalog_dirs() if (d / RECORDS_SUBDIR).is_dir()]


def iter_records() -> Iterator[Path]:
    for d in records_dirs():
        yield from sorted(d.rglob("*.toml"))


def _figure(name: str, entry: Any, loc: str) -> Figure:
    if name not in METRICS and name not in EXTRA_FIGURES:
        allowed = sorted(set(METRICS) | set(EXTRA_FIGURES))
        raise RecordError(f"{loc}: unknown figure; allowed: {allowed}")
    if not isinstance(entry, dict) or "value" not in entry:
        raise RecordError(f"{loc}: expected {{ value = ..., unit = \"...\" }}")
    extra = set(entry) - _FIGURE_KEYS
    if extra:
        raise RecordError(f"{loc}: unknown key(s) {sorted(extra)}; allowed {sorted(_FIGURE_KEYS)}")
    value = entry["value"]
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise RecordError(f"{loc}: value must be a number, got {value!r}")
    target = figure_unit(name)
    unit = entry.get("unit")
    if unit is None:
        if target not in ("",):
            raise RecordError(f"{loc}: missing 'unit' (expected a unit of {target!r})")
        unit = ""
    try:
        given = parse_unit(unit or "dimensionless", f"{loc}.unit")
        want = parse_unit(target or "dimensionless", loc)
        if given.dimensionality != want.dimensionality:
            raise RecordError(f"{loc}: unit {unit!r} ({given.dimensionality}) is not a unit of {target or '1'!r} "
                              f"({want.dimensionality})")
        si = float(convert(value, unit or "dimensionless", target or "dimensionless", loc))
    except UnitError as exc:
        raise RecordError(str(exc) if str(exc).startswith(loc) else f"{loc}: {exc}") from None
    bound = entry.get("bound")
    if bound not in (None, "upper", "lower"):
        raise RecordError(f"{loc}.bound: must be 'upper' (<) or 'lower' (>), got {bound!r}")
    if name == "accuracy" and not entry.get("task"):
        raise RecordError(f"{loc}: an accuracy needs the task it was measured on (task = \"MNIST\", ...)")
    for key in ("where", "estimate", "task", "note"):
        if key in entry and not isinstance(entry[key], str):
            raise RecordError(f"{loc}.{key}: must be a string")
    return Figure(value=si, unit=target, original=(value, unit), bound=bound, where=entry.get("where"),
                  estimate=entry.get("estimate"), task=entry.get("task"), note=entry.get("note"))


def record_from_dict(data: dict[str, Any], where: str = "record", path: Path | None = None) -> Record:
    unknown = set(data) - _TOP_KEYS
    if unknown:
        raise RecordError(f"{where}: unknown top-level key(s) {sorted(unknown)}")
    if data.get("schema_version") != SCHEMA_VERSION:
        raise RecordError(f"{where}: schema_version must be {SCHEMA_VERSION}, got {data.get('schema_version')!r}")
    if data.get("kind") != "record":
        raise RecordError(f"{where}: kind must be \"record\", got {data.get('kind')!r}")
    for key in ("name", "family", "title"):
        if not isinstance(data.get(key), str) or not data[key].strip():
            raise RecordError(f"{where}: missing or empty '{key}'")
    has_model = data.get("has_model", False)
    if not isinstance(has_model, bool):
        raise RecordError(f"{where}: has_model must be true or false")
    card = data.get("card")
    if has_model and not (isinstance(card, str) and card):
        raise RecordError(f"{where}: has_model = true needs card = \"<catalog card name>\"")
    if not has_model and card is not None:
        raise RecordError(f"{where}: card is given but has_model = false; set has_model = true")
    prov = data.get("provenance")
    if not isinstance(prov, dict) or not prov.get("citation") or not prov.get("where"):
        raise RecordError(f"{where}: [provenance] needs 'citation' and 'where' (page, table or figure)")
    figs_raw = data.get("figures")
    if not isinstance(figs_raw, dict) or not figs_raw:
        raise RecordError(f"{where}: [figures] must be a non-empty table")
    figures = {k: _figure(k, v, f"{where}: figures.{k}") for k, v in figs_raw.items()}
    return Record(name=data["name"], family=data["family"].strip().lower(), title=data["title"],
                  provenance=dict(prov), figures=figures, has_model=has_model, card=card,
                  notes=data.get("notes", ""), path=path)


def load_record(path: str | os.PathLike) -> Record:
    """Read and validate one record file."""
    path = Path(path)
    try:
        with open(path, "rb") as fh:
            data = tomllib.load(fh)
    except FileNotFoundError:
        raise RecordError(f"{path}: no such record file") from None
    except UnicodeDecodeError as exc:
        raise RecordError(f"{path}: not a UTF-8 text file ({exc.reason} at byte {exc.start})") from None
    except tomllib.TOMLDecodeError as exc:
        raise RecordError(f"{path}: not valid TOML: {exc}") from None
    except OSError as exc:
        raise RecordError(f"{path}: cannot read ({exc.strerror or exc})") from None
    return record_from_dict(data, where=str(path), path=path)


def list_records() -> list[Record]:
    return [load_record(p) for p in iter_records()]


def find_record(name_or_path: str | os.PathLike) -> Path | None:
    """A record by file path, ``name`` or file stem."""
    p = Path(name_or_path)
    if p.suffix == ".toml" and p.is_file():
        try:
            with open(p, "rb") as fh:
                if tomllib.load(fh).get("kind") == "record":
                    return p
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
            return None
        return None
    for path in iter_records():
        if path.stem == str(name_or_path):
            return path
        try:
            with open(path, "rb") as fh:
                if tomllib.load(fh).get("name") == str(name_or_path):
                    return path
        except (OSError, tomllib.TOMLDecodeError):
            continue
    return None


def record_metrics(rec: Record) -> DeviceMetrics:
    """The record's figures as metrics (source "reported"), for ``devicelib compare``.

    Derived, and marked so: g_max = 1/r_on and g_min = g_max/on_off_ratio when
    the record gives the resistance, energy_per_area = energy_per_update/area.
    """
    mets: dict[str, Metric] = {}
    for name, f in rec.figures.items():
        if name not in METRICS:
            continue
        note = f.note
        if f.task:
            note = f"task: {f.task}" + (f"; {note}" if note else "")
        mets[name] = Metric(f.value, f.unit, bound=f.bound, estimate=f.estimate, note=note, source="reported")
    r_on = rec.figures.get("r_on")
    if r_on is not None and "g_max" not in mets:
        mets["g_max"] = Metric(1.0 / r_on.value, "S", estimate=r_on.estimate, note="derived: 1 / r_on",
                               source="reported")
        ratio = mets.get("on_off_ratio")
        if ratio is not None and ratio.value and "g_min" not in mets:
            mets["g_min"] = Metric(mets["g_max"].value / ratio.value, "S", note="derived: g_max / on_off_ratio",
                                   source="reported", estimate=r_on.estimate or ratio.estimate)
    e, a = mets.get("energy_per_update"), mets.get("area")
    if e is not None and a is not None and "energy_per_area" not in mets and a.value:
        mets["energy_per_area"] = Metric(e.value / a.value, "J/m^2", bound=e.bound,
                                         estimate=e.estimate or a.estimate,
                                         note="derived: energy_per_update / area", source="reported")
    curves = {}
    states = mets.get("states")
    n = int(states.value) - 1 if states is not None and states.value and states.value > 2 else 100
    import numpy as np

    from .metrics import neurosim_a_from_nl, neurosim_curve

    x = np.arange(n + 1) / n
    for key, direction in (("nl_ltp", "ltp"), ("nl_ltd", "ltd")):
        m = mets.get(key)
        if m is not None and m.value is not None:
            y = neurosim_curve(x, neurosim_a_from_nl(m.value)) if m.value != 0 else x
            curves[direction] = y if direction == "ltp" else y[::-1]
    return DeviceMetrics(name=rec.name, kind="record", family=rec.family, title=rec.title,
                         citation=rec.citation(), condition="as reported", has_model=rec.has_model,
                         card=rec.card, metrics=mets, curves=curves)
