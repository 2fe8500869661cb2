"""Model cards: TOML parameter files, one per published or fitted device.

A card names a registered model, gives every parameter it sets with its unit
and source, says where the values come from and over which pulse conditions
they hold. Loading validates every value against the model's declared
parameters (unit dimension, bounds) and never executes code (``tomllib``).

Format (``schema_version = 1``)::

    schema_version = 1
    name = "vcm.jiang2016"              # catalog name, family.short
    model = "vcm.stanford_pku"          # registered model
    title = "HfOx RRAM, Stanford/PKU model defaults"
    kind = "literature"                 # literature | fitted | estimate ("fit" read as fitted)

    [provenance]
    citation = "Jiang et al., IEEE TED 63, 1884 (2016)"
    doi = "10.1109/TED.2016.2545412"
    where = "Table I"                   # page, table or figure
    notes = "..."

    [parameters]
    g0 = { value = 0.25, unit = "nm", source = "Table I" }
    nu0 = { value = 10, unit = "m/s", estimate = "order of magnitude from ..." }

    [validity]                          # pulse conditions the card holds for
    amplitude = { min = -2.0, max = 2.0, unit = "V" }
    width = { min = 1e-9, max = 1e-3, unit = "s" }
    temperature = { min = 250, max = 400, unit = "K" }
    conductance = { min = 1e-5, max = 1e-3, unit = "S" }   # states the card was calibrated over

    [operating]                         # optional: the source's programming condition, the default
    amplitude = { value = 1.2, unit = "V" }        # of exporters and metrics (validity says where the
    amplitude_down = { value = -1.4, unit = "V" }  # model holds; operating says how the device is used)
    width = { value = 100, unit = "ns" }

    [variability]                       # optional, see devicelib.variability
    c2c = 0.05
    read = 0.01
    d2d = { nu0 = 0.3 }

    [fit]                               # present when kind = "fitted"
    data = "../shared/data/crosssim-pulse-trains/set.csv"
    rmse = { value = 1.2e-5, unit = "S" }
    ...

A parameter entry may carry ``stderr`` (same unit as ``value``), ``source``
(where in the cited work) and ``estimate`` (a string saying the basis of a
value that could not be verified). Parameters a card does not list take the
model's declared defaults; ``Card.defaulted`` lists them.
"""

from __future__ import annotations

import datetime as _dt
import os
import tempfile
import tomllib
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from . import model_index, registry
from .core import DeviceModel
from .registry import ModelNotFound, model_class
from .units import UnitError, check_unit, convert, to_si
from .variability import Variability

SCHEMA_VERSION = 1
# fitted: fitted to measurements ([fit]: data, statistics, held-out error); literature: every value with its
# source; estimate: values without a direct source, marked per parameter. "fit" = "fitted" (older spelling,
# still written by devicelib.fit).
KINDS = ("literature", "fitted", "fit", "estimate")
VALIDITY_UNITS = {"amplitude": None, "width": "s", "temperature": "K", "read_voltage": "V",
                  "interval": "s", "time": "s", "conductance": "S"}
_TOP_KEYS = {"schema_version", "name", "model", "title", "kind", "provenance", "parameters",
             "validity", "operating", "variability", "fit", "notes", "figures"}
# [operating]: the nominal programming condition (what the source uses to program the device), the
# default of exporters and metrics; validity says only where the model holds.
OPERATING_UNITS = {"amplitude": None, "amplitude_down": None, "width": "s", "temperature": "K",
                   "read_voltage": "V"}


class CardError(ValueError):
    """A card file is malformed or inconsistent with its model."""


def catalog_dirs() -> list[Path]:
    """Where cards are looked up: $DEVICELIB_CATALOG (os.pathsep-separated), then the shipped catalog."""
    dirs = [Path(p) for p in os.environ.get("DEVICELIB_CATALOG", "").split(os.pathsep) if p]
    here = Path(__file__).resolve().parent
    for cand in (here / "_catalog", here.parent / "models"):
        if cand.is_dir():
            dirs.append(cand)
            break
    return dirs


RECORDS_DIR = "records"  # literature records (figures only, no model) live apart


def iter_cards() -> Iterator[Path]:
    for d in catalog_dirs():
        yield from sorted(p for p in d.rglob("*.toml") if RECORDS_DIR not in p.relative_to(d).parts)


def _card_name(path: Path) -> str | None:
    """The ``name`` of a card file, or None (with a warning naming the file) when it cannot be read:
    one broken card in a catalog folder must not hide the others."""
    try:
        with open(path, "rb") as fh:
            name = tomllib.load(fh).get("name")
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        reason = exc.reason if isinstance(exc, UnicodeDecodeError) else exc
        warnings.warn(f"skipping unreadable card {path}: {reason}", CatalogWarning, stacklevel=3)
        return None
    return name if isinstance(name, str) else None


class CatalogWarning(UserWarning):
    """A card in a catalog folder was skipped because it cannot be read or is invalid."""


def find_card(name_or_path: str | os.PathLike) -> Path | None:
    """A card by file path or by its ``name`` in the catalog."""
    p = Path(name_or_path)
    if p.suffix == ".toml" and p.is_file():
        return p
    for path in iter_cards():
        if _card_name(path) == str(name_or_path) or path.stem == str(name_or_path):
            return path
    return None


@dataclass
class ParameterEntry:
    value: Any  # SI float or list (per-device)
    unit: str  # the model's SI unit
    stderr: float | None = None
    source: str | None = None
    estimate: str | None = None
    original: tuple[Any, str] | None = None  # value and unit as written in the file


@dataclass
class Card:
    name: str
    model_name: str
    title: str = ""
    kind: str = "literature"
    provenance: dict[str, Any] = field(default_factory=dict)
    parameters: dict[str, ParameterEntry] = field(default_factory=dict)
    validity: dict[str, dict[str, Any]] = field(default_factory=dict)
    operating: dict[str, dict[str, Any]] = field(default_factory=dict)  # key -> {value (SI), unit, source...}
    variability: Variability | None = None
    fit: dict[str, Any] = field(default_factory=dict)
    notes: str = ""
    figures: dict[str, Any] = field(default_factory=dict)
    path: Path | None = None
    defaulted: list[str] = field(default_factory=list)

    # -- use ----------------------------------------------------------------
    def model_class(self) -> type[DeviceModel]:
        return model_class(self.model_name)

    def model(self) -> DeviceModel:
        """The model with this card's parameter values."""
        return self.model_class()(**{k: e.value for k, e in self.parameters.items()})

    def values(self) -> dict[str, Any]:
        return {k: e.value for k, e in self.parameters.items()}

    def validity_range(self, key: str) -> tuple[float, float] | None:
        """(min, max) of a pulse condition in SI, or None when the card does not say."""
        if key not in self.validity:
            return None
        v = self.validity[key]
        return float(v["min"]), float(v["max"])

    def start_conductance(self) -> float | None:
        """The lowest conductance of ``validity.conductance`` (S) when the model can start there
        (overrides ``state_from_conductance``), else None: where simulations of the card begin by default."""
        rng = self.validity_range("conductance")
        if rng is None or self.model_class().state_from_conductance is DeviceModel.state_from_conductance:
            return None
        return rng[0]

    def operating_value(self, key: str) -> float | None:
        """The nominal programming condition ``key`` in SI, or None when the card does not say."""
        entry = self.operating.get(key)
        return None if entry is None else float(entry["value"])

    def citation(self) -> str:
        c = self.provenance.get("citation", "")
        doi = self.provenance.get("doi")
        return f"{c}, doi:{doi}" if doi else c

    # -- serialise ------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        params = {}
        for k, e in self.parameters.items():
            val = e.value.tolist() if isinstance(e.value, np.ndarray) else e.value
            entry: dict[str, Any] = {"value": val, "unit": e.unit}
            if e.original is not None and e.original[1] != e.unit:
                entry = {"value": e.original[0], "unit": e.original[1]}
                if e.stderr is not None:
                    entry["stderr"] = float(convert(e.stderr, e.unit or "dimensionless",
                                                    e.original[1] or "dimensionless"))
            elif e.stderr is not None:
                entry["stderr"] = e.stderr
            if e.source:
                entry["source"] = e.source
            if e.estimate:
                entry["estimate"] = e.estimate
            params[k] = entry
        out: dict[str, Any] = {
            "schema_version": SCHEMA_VERSION,
            "name": self.name,
            "model": self.model_name,
            "title": self.title,
            "kind": self.kind,
            "provenance": dict(self.provenance),
            "parameters": params,
        }
        if self.validity:
            out["validity"] = self.validity
        if self.operating:
            out["operating"] = self.operating
        if self.variability is not None and not self.variability.is_zero:
            out["variability"] = self.variability.to_dict()
        if self.fit:
            out["fit"] = self.fit
        if self.figures:
            out["figures"] = self.figures
        if self.notes:
            out["notes"] = self.notes
        return out

    def to_toml(self) -> str:
        import tomli_w

        return tomli_w.dumps(_clean_for_toml(self.to_dict()))

    def save(self, path: str | os.PathLike) -> Path:
        path = Path(path)
        atomic_write_text(path, self.to_toml())
        self.path = path
        return path


def _clean_for_toml(obj):
    """TOML has no None and no numpy scalars: drop the former, convert the latter."""
    if isinstance(obj, dict):
        return {str(k): _clean_for_toml(v) for k, v in obj.items() if v is not None}
    if isinstance(obj, list | tuple):
        return [_clean_for_toml(v) for v in obj if v is not None]
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, _dt.datetime):
        return obj.isoformat(timespec="seconds")
    return obj


def atomic_write_text(path: Path, text: str) -> None:
    """Write via a temporary file in the same folder and rename: no half-written file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        mask = os.umask(0)
        os.umask(mask)
        os.chmod(tmp, 0o666 & ~mask)  # mkstemp creates 0600; a card is an ordinary file: follow the umask
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def load_card(path: str | os.PathLike) -> Card:
    """Read and validate a card. Every problem raises :class:`CardError` naming the file,
    the section and the key (decoder errors included: encoding, TOML syntax)."""
    from .textio import as_path

    path = as_path(path)
    where = str(path)
    try:
        with open(path, "rb") as fh:
            data = tomllib.load(fh)
    except FileNotFoundError:
        raise CardError(f"{where}: no such card file") from None
    except IsADirectoryError:
        raise CardError(f"{where}: is a directory, not a card file") from None
    except UnicodeDecodeError as exc:
        raise CardError(f"{where}: not a UTF-8 text file ({exc.reason} at byte {exc.start})") from None
    except tomllib.TOMLDecodeError as exc:
        raise CardError(f"{where}: not valid TOML: {exc}") from None
    except OSError as exc:
        raise CardError(f"{where}: cannot read ({exc.strerror or exc})") from None
    return card_from_dict(data, where=where, path=path)


def card_from_dict(data: dict[str, Any], where: str = "card", path: Path | None = None) -> Card:
    """Validate a parsed card. Raises CardError for every problem (a TypeError, KeyError or
    ValueError from a malformed section is reported as a CardError naming the file)."""
    if not isinstance(data, dict):
        raise CardError(f"{where}: a card is a TOML table, got {type(data).__name__}")
    try:
        return _card_from_dict(data, where, path)
    except CardError:
        raise
    except (TypeError, ValueError, KeyError, AttributeError, OverflowError) as exc:
        msg = exc.args[0] if isinstance(exc, KeyError) and exc.args else str(exc)
        raise CardError(msg if str(msg).startswith(where) else f"{where}: {msg}") from None


def _number(value, loc: str, *, nonneg: bool = False, allow_list: bool = False) -> Any:
    """A finite number (or list of them) from a card; bools, strings and dates are refused."""
    if allow_list and isinstance(value, list):
        if not value:
            raise CardError(f"{loc}: empty list")
        return [_number(v, loc, nonneg=nonneg) for v in value]
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise CardError(f"{loc}: must be a number, got {_short(value)}")
    if not np.isfinite(value):
        raise CardError(f"{loc}: must be finite, got {value}")
    if nonneg and value < 0:
        raise CardError(f"{loc}: must not be negative, got {value}")
    return value


def _text(value, loc: str) -> str:
    if isinstance(value, _dt.date | _dt.time):  # TOML dates in free-text fields: keep them as ISO text
        return value.isoformat()
    if not isinstance(value, str):
        raise CardError(f"{loc}: expected a string, got {_short(value)}")
    return value


def _short(value) -> str:
    r = repr(value)
    return r if len(r) <= 60 else r[:56] + "...'"


def _table(data: dict, key: str, where: str) -> dict:
    value = data.get(key)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise CardError(f"{where}: [{key}] must be a table, got {_short(value)}")
    return value


def _plain(value, loc: str, allow_nan: bool = False):
    """Provenance / fit values: text, numbers, booleans, dates (-> ISO text) or lists of those.
    NaN only where a fit reports a figure it could not compute (``allow_nan``)."""
    if isinstance(value, _dt.date | _dt.time):
        return value.isoformat()
    if isinstance(value, str | bool | int):
        return value
    if isinstance(value, float):
        if np.isnan(value) and not allow_nan:
            raise CardError(f"{loc}: NaN is not a value")
        return value
    if isinstance(value, list):
        return [_plain(v, loc, allow_nan) for v in value]
    raise CardError(f"{loc}: expected text, a number or a list, got {_short(value)}")


def _validate_fit(raw: dict, where: str, prefix: str = "fit") -> dict:
    out = {}
    for key, value in raw.items():
        loc = f"{where}: {prefix}.{key}"
        if isinstance(value, dict) and "value" not in value:
            # a sub-table (held-out statistics, a fitted figure against its data): same rules inside
            out[key] = _validate_fit(value, where, f"{prefix}.{key}")
            continue
        if isinstance(value, dict):
            entry = {k: _plain(v, f"{loc}.{k}", allow_nan=True) for k, v in value.items()}
            if isinstance(value["value"], bool) or not isinstance(value["value"], int | float | list):
                raise CardError(f"{loc}.value: must be a number, got {_short(value['value'])}")
            if isinstance(value["value"], list) and not all(
                    isinstance(v, int | float) and not isinstance(v, bool) for v in value["value"]):
                raise CardError(f"{loc}.value: must be numbers, got {_short(value['value'])}")
            if "unit" in value:
                try:
                    check_unit(_text(value["unit"], f"{loc}.unit") or "dimensionless", loc)  # pint if unlisted
                except UnitError as exc:
                    raise CardError(str(exc)) from None
            out[key] = entry
        elif key == "converged" and not isinstance(value, bool):
            raise CardError(f"{loc}: must be true or false, got {_short(value)}")
        else:
            out[key] = _plain(value, loc, allow_nan=True)
    return out


def _card_from_dict(data: dict[str, Any], where: str, path: Path | None) -> Card:
    unknown = set(data) - _TOP_KEYS
    if unknown:
        raise CardError(f"{where}: unknown top-level key(s) {sorted(unknown)}")
    version = data.get("schema_version")
    if version != SCHEMA_VERSION:
        raise CardError(f"{where}: schema_version must be {SCHEMA_VERSION}, got {version!r}")
    for key in ("name", "model"):
        if not isinstance(data.get(key), str) or not data[key]:
            raise CardError(f"{where}: missing or empty '{key}'")
    kind = data.get("kind", "literature")
    if kind not in KINDS:
        raise CardError(f"{where}: kind must be one of {KINDS}, got {_short(kind)}")
    kind = "fitted" if kind == "fit" else kind  # one spelling in memory; "fit" is read for older cards
    for key in ("title", "notes"):
        if key in data:
            _text(data[key], f"{where}: {key}")
    prov = data.get("provenance")
    if not isinstance(prov, dict) or not (prov.get("citation") or prov.get("source")):
        raise CardError(f"{where}: [provenance] with a 'citation' (paper, table or figure) is required")
    prov = {k: _plain(v, f"{where}: provenance.{k}") for k, v in prov.items()}
    for key in ("citation", "source", "doi", "where"):
        if key in prov:
            _text(prov[key], f"{where}: provenance.{key}")
    try:
        # the declared parameters from the cached model index: validating a card imports no family
        cls = model_index.model_schema(data["model"])
    except ModelNotFound as exc:
        raise CardError(f"{where}: {exc}") from None

    declared = {p.name: p for p in cls.parameters}
    raw = data.get("parameters", {})
    if not isinstance(raw, dict):
        raise CardError(f"{where}: [parameters] must be a table")
    params: dict[str, ParameterEntry] = {}
    for name, entry in raw.items():
        loc = f"{where}: parameters.{name}"
        if name not in declared:
            raise CardError(f"{loc}: {cls.name} has no such parameter; declared: {sorted(declared)}")
        if not isinstance(entry, dict) or "value" not in entry:
            raise CardError(f"{loc}: expected {{ value = ..., unit = \"...\" }}")
        extra = set(entry) - {"value", "unit", "stderr", "source", "estimate"}
        if extra:
            raise CardError(f"{loc}: unknown key(s) {sorted(extra)}")
        p = declared[name]
        if "unit" not in entry:
            raise CardError(f"{loc}: missing 'unit' (the model's unit is {p.unit or 'dimensionless'!r})")
        unit = _text(entry["unit"], f"{loc}.unit") or "dimensionless"
        value = _number(entry["value"], f"{loc}.value", allow_list=True)
        if entry.get("stderr") is not None:
            _number(entry["stderr"], f"{loc}.stderr", nonneg=True)
        for key in ("source", "estimate"):
            if key in entry:
                _text(entry[key], f"{loc}.{key}")
        try:
            check_unit(unit, loc)  # the shipped unit table, pint for unlisted units
            si = convert(value, unit, p.unit or "dimensionless", loc)
            si = p.validate(si, f"{where}: parameters.")
            stderr = entry.get("stderr")
            stderr_si = None if stderr is None else float(convert(stderr, unit, p.unit or "dimensionless", loc))
        except (UnitError, ValueError) as exc:
            raise CardError(str(exc) if str(exc).startswith(where) else f"{loc}: {exc}") from None
        if isinstance(si, np.ndarray):
            si = si.tolist()
        params[name] = ParameterEntry(
            value=si,
            unit=p.unit,
            stderr=stderr_si,
            source=entry.get("source"),
            estimate=entry.get("estimate"),
            original=(value, unit),
        )

    validity = {}
    for key, rng in _table(data, "validity", where).items():
        loc = f"{where}: validity.{key}"
        if key not in VALIDITY_UNITS:
            raise CardError(f"{loc}: unknown pulse condition; allowed {sorted(VALIDITY_UNITS)}")
        if not isinstance(rng, dict) or not {"min", "max", "unit"} <= set(rng):
            raise CardError(f"{loc}: expected {{ min = ..., max = ..., unit = \"...\" }}")
        extra = set(rng) - {"min", "max", "unit", "source", "estimate", "note"}
        if extra:
            raise CardError(f"{loc}: unknown key(s) {sorted(extra)}")
        _number(rng["min"], f"{loc}.min")
        _number(rng["max"], f"{loc}.max")
        _text(rng["unit"], f"{loc}.unit")
        target = VALIDITY_UNITS[key] or cls.amplitude_unit
        try:
            lo = float(to_si(convert(rng["min"], rng["unit"], target, loc), target, loc))
            hi = float(to_si(convert(rng["max"], rng["unit"], target, loc), target, loc))
        except (UnitError, ValueError, TypeError) as exc:
            raise CardError(f"{loc}: {exc}") from None
        if lo > hi:
            raise CardError(f"{loc}: min > max")
        validity[key] = {"min": lo, "max": hi, "unit": target}

    operating = {}
    raw_op = _table(data, "operating", where)
    for key, entry in raw_op.items():
        loc = f"{where}: operating.{key}"
        if key not in OPERATING_UNITS:
            raise CardError(f"{loc}: unknown pulse condition; allowed {sorted(OPERATING_UNITS)}")
        if not isinstance(entry, dict) or not {"value", "unit"} <= set(entry):
            raise CardError(f"{loc}: expected {{ value = ..., unit = \"...\" }}")
        extra = set(entry) - {"value", "unit", "source", "estimate"}
        if extra:
            raise CardError(f"{loc}: unknown key(s) {sorted(extra)}")
        _number(entry["value"], f"{loc}.value")
        _text(entry["unit"], f"{loc}.unit")
        target = OPERATING_UNITS[key] or cls.amplitude_unit
        try:
            val = float(to_si(convert(entry["value"], entry["unit"], target, loc), target, loc))
        except (UnitError, ValueError, TypeError) as exc:
            raise CardError(f"{loc}: {exc}") from None
        if not np.isfinite(val) or (key in ("width", "temperature") and val <= 0):
            raise CardError(f"{loc}: must be a finite{' positive' if key in ('width', 'temperature') else ''} value")
        operating[key] = {"value": val, "unit": target,
                          **{k: str(entry[k]) for k in ("source", "estimate") if k in entry}}

    variability = None
    if "variability" in data:
        if not isinstance(data["variability"], dict):
            raise CardError(f"{where}: [variability] must be a table, got {_short(data['variability'])}")
        try:
            variability = Variability.from_dict(data["variability"], f"{where}: variability")
            for pname in variability.d2d:
                if pname not in declared:
                    raise KeyError(f"{where}: variability.d2d.{pname}: no such parameter")
        except (KeyError, ValueError) as exc:
            raise CardError(str(exc).strip("'\"")) from None

    card = Card(
        name=data["name"],
        model_name=data["model"],
        title=_text(data.get("title", ""), f"{where}: title"),
        kind=kind,
        provenance=dict(prov),
        parameters=params,
        validity=validity,
        operating=operating,
        variability=variability,
        fit=_validate_fit(_table(data, "fit", where), where),
        notes=_text(data.get("notes", ""), f"{where}: notes"),
        figures={k: _plain(v, f"{where}: figures.{k}") if not isinstance(v, dict) else v
                 for k, v in _table(data, "figures", where).items()},
        path=path,
        defaulted=[n for n in declared if n not in params],
    )
    values = card.values()
    if not model_index.known_valid(card.model_name, values):  # these values passed under this index
        try:
            card.model()  # cross-parameter checks (e.g. g_min < g_max)
        except (ValueError, KeyError, TypeError) as exc:
            raise CardError(f"{where}: {exc}") from None
        model_index.remember_valid(card.model_name, values)
    return card


def list_catalog() -> list[Card]:
    """Every valid card in the catalog. A broken card in the shipped catalog raises (those files
    are ours); one in a $DEVICELIB_CATALOG folder is skipped with a CatalogWarning naming it."""
    user = [Path(p) for p in os.environ.get("DEVICELIB_CATALOG", "").split(os.pathsep) if p]
    out = []
    for p in iter_cards():
        try:
            out.append(load_card(p))
        except CardError as exc:
            if not any(d in p.parents for d in user):
                raise
            warnings.warn(f"skipping invalid card: {exc}", CatalogWarning, stacklevel=2)
    return out


def _model_from_card(name: str) -> DeviceModel | None:
    """The model of the catalog card called ``name`` (card name, file stem or path), or None."""
    path = find_card(name)
    return None if path is None else load_card(path).model()


# catalog -> registry only: get_model finds cards through this resolver
registry.add_resolver(_model_from_card)
