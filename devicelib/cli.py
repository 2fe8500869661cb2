"""The ``devicelib`` command line (typer + rich).

Every subcommand has ``--help``. Bad input exits with status 2 and one line
``error: ...`` on stderr; ``--json`` prints exactly one JSON document on
stdout. Quantities are written with their unit (``"1.2 V"``, ``"100 ns"``);
a bare number is taken in SI.
"""

from __future__ import annotations

import functools
import json
import sys
from pathlib import Path
from typing import Annotated

import numpy as np
import typer
from rich import box
from rich.console import Console
from rich.table import Table

from . import __version__

app = typer.Typer(
    name="devicelib",
    help="Physics-based models of analog-AI memory devices: simulate, fit, export, compare.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
console = Console()
err_console = Console(stderr=True)

JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON document instead of a table.")]


def _fail(msg: str) -> None:
    err_console.print(f"error: {msg}", markup=False, highlight=False, soft_wrap=True)
    raise typer.Exit(2)


def handle_errors(func):
    """Turn user-facing errors into one line on stderr and exit status 2."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        import warnings

        from .catalog import CatalogWarning  # light: numpy and the unit helpers only

        try:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always", CatalogWarning)
                try:
                    return func(*args, **kwargs)
                finally:
                    for w in caught:  # one line each on stderr; other warnings as usual
                        if issubclass(w.category, CatalogWarning):
                            err_console.print(f"warning: {w.message}", markup=False, highlight=False,
                                              soft_wrap=True)
                        else:
                            warnings.showwarning(w.message, w.category, w.filename, w.lineno)
        except typer.Exit:
            raise
        except Exception as exc:
            # CardError / MeasurementError can only be raised once their module is imported: look
            # them up there instead of importing xarray (measurement) for every command
            user = [ValueError, KeyError, TypeError, FileNotFoundError, IsADirectoryError, PermissionError]
            for mod, cls in (("devicelib.catalog", "CardError"), ("devicelib.measurement", "MeasurementError")):
                if mod in sys.modules:
                    user.append(getattr(sys.modules[mod], cls))
            if not isinstance(exc, tuple(user)):
                raise
            msg = exc.args[0] if isinstance(exc, KeyError) and exc.args else str(exc)
            _fail(str(msg).replace("\n", " "))

    return wrapper


def _emit_json(obj) -> None:
    sys.stdout.write(json.dumps(obj, indent=2, default=_json_default) + "\n")


def _json_default(o):
    if isinstance(o, np.generic):
        return o.item()
    if isinstance(o, np.ndarray):
        return o.tolist()
    if isinstance(o, Path):
        return str(o)
    raise TypeError(f"not JSON serialisable: {type(o).__name__}")


def _quantity(text: str | None, unit: str, name: str):
    """Parse ``"1.2 V"`` / ``"100 ns"`` / ``"1e-7"`` (SI) into an SI float."""
    from .units import Q_, UnitError, to_si

    if text is None:
        return None
    text = text.strip()
    try:
        value = float(text)
        return value
    except ValueError:
        pass
    try:
        q = Q_(text)
    except Exception:
        raise UnitError(f"--{name}: cannot read {text!r} as a quantity (write e.g. '1.2 V')") from None
    return to_si(q, unit, f"--{name}")


def _model_or_card(name: str):
    """Resolve a registered model name, a catalog card name or a card path."""
    from .catalog import find_card, load_card
    from .registry import available_models, model_class

    if name in available_models():
        return model_class(name)(), None
    path = find_card(name)
    if path is None:
        raise KeyError(
            f"{name!r} is neither a registered model nor a card (see `devicelib models`, `devicelib catalog`)"
        )
    card = load_card(path)
    return card.model(), card


@app.callback(invoke_without_command=True)
def _main(version: Annotated[bool, typer.Option("--version", help="Print the version and exit.")] = False):
    if version:
        console.print(f"devicelib {__version__}")
        raise typer.Exit()


@app.command()
@handle_errors
def models(as_json: JsonOpt = False):
    """List the registered device models (built-in families and plugins)."""
    from .model_index import model_rows  # cached metadata: no family (numba, scipy) is imported

    rows = model_rows()
    if as_json:
        _emit_json({"models": rows, "families": sorted({r["family"] for r in rows})})
        return
    table = Table(title=f"{len(rows)} models in {len({r['family'] for r in rows})} families", box=box.SIMPLE_HEAD,
                  pad_edge=False)
    # names are never cut (they are what users type); the description wraps; full rows in --json
    table.add_column("name", no_wrap=True)
    table.add_column("drive", no_wrap=True)
    table.add_column("params", justify="right", no_wrap=True)
    table.add_column("volatile", no_wrap=True)
    table.add_column("description", overflow="fold", ratio=1)
    for r in rows:
        table.add_row(r["name"], r["amplitude_unit"], str(r["parameters"]),
                      "yes" if r["volatile"] else "no", r["family_name"])
    console.print(table)


def _short_citation(text: str, limit: int = 40) -> str:
    """First author and year of a citation, for tables ("S. Menzel et al. 2013"); full text in --json."""
    import re

    first = re.split(r",| and |;", text, maxsplit=1)[0].strip()
    year = re.search(r"\((?:[^()]*\b)?((?:19|20)\d\d)\)", text) or re.search(r"\b((?:19|20)\d\d)\b", text)
    out = f"{first} et al." if ("," in text or " and " in text) and "et al" not in first else first
    if year:
        out += f" {year.group(1)}"
    return out if len(out) <= limit else out[: limit - 1] + "…"


@app.command()
@handle_errors
def catalog(
    family: Annotated[str | None, typer.Option(help="Only cards of this family (e.g. vcm).")] = None,
    as_json: JsonOpt = False,
):
    """List the model cards (kind: fitted, literature or estimate) and the literature records, with sources."""
    from .catalog import list_catalog
    from .records import list_records

    cards = list_catalog()
    records = list_records()
    if family:
        cards = [c for c in cards if c.model_class().family == family]
        records = [r for r in records if r.family == family]
    rows = [{
        "name": c.name, "model": c.model_name, "kind": c.kind, "title": c.title,
        "citation": c.citation(), "path": str(c.path),
    } for c in cards]
    recs = [{
        "name": r.name, "family": r.family, "kind": "record", "title": r.title,
        "citation": r.citation(), "card": r.card, "path": str(r.path),
    } for r in records]
    if as_json:
        _emit_json({"cards": rows, "records": recs})
        return
    table = Table(title=f"{len(rows)} cards, {len(recs)} literature records", box=box.SIMPLE_HEAD, pad_edge=False)
    # names are never cut; the model column only when the terminal is wide; full rows in --json
    wide = console.width >= 110
    table.add_column("name", overflow="fold", min_width=min(32, max((len(r["name"]) for r in rows + recs), default=4)))
    if wide:
        table.add_column("model", overflow="fold")
    table.add_column("kind", no_wrap=True)
    table.add_column("source", overflow="ellipsis", no_wrap=True, ratio=1)
    short = {"literature": "lit.", "estimate": "est.", "fit": "fit", "fitted": "fitted", "record": "record"}
    for r in [*rows, *recs]:
        model = [r.get("model") or r.get("card") or "-"] if wide else []
        table.add_row(r["name"], *model, short.get(r["kind"], r["kind"]), _short_citation(r["citation"]))
    console.print(table)


@app.command()
@handle_errors
def show(name: Annotated[str, typer.Argument(help="Model name, card name or card file.")], as_json: JsonOpt = False):
    """Show a model's parameters (with units and bounds) or a card's values and provenance."""
    from .core import param_table
    from .units import format_unit

    model, card = _model_or_card(name)
    cls = type(model)
    rows = param_table(cls)
    for r in rows:
        r["value"] = model.params[r["name"]]
        if card is not None and r["name"] in card.parameters:
            e = card.parameters[r["name"]]
            r.update({"stderr": e.stderr, "source": e.source, "estimate": e.estimate})
    if as_json:
        out = {"model": cls.name, "family": cls.family, "references": list(cls.references), "parameters": rows}
        if card is not None:
            out["card"] = card.to_dict()
        _emit_json(out)
        return
    title = f"{cls.name} — {cls.family_name}"
    if card is not None:
        title = f"{card.name} ({card.kind}) — model {cls.name}"
    table = Table(title=title)
    for col in ("symbol", "name", "value", "unit", "bounds", "meaning / source"):
        table.add_column(col, overflow="fold")
    for r in rows:
        note = r["description"]
        if r.get("estimate"):
            note += f" [estimate: {r['estimate']}]"
        elif r.get("source"):
            note += f" [{r['source']}]"
        val = f"{r['value']:.4g}"
        if r.get("stderr") is not None:
            val += f" ± {r['stderr']:.2g}"
        table.add_row(r["symbol"], r["name"], val, format_unit(r["unit"]),
                      f"[{r['min']:.3g}, {r['max']:.3g}]", note)
    console.print(table)
    if card is not None:
        console.print(f"source: {card.citation()}", highlight=False)
        if card.provenance.get("where"):
            console.print(f"where: {card.provenance['where']}", highlight=False)
        for key, v in card.validity.items():
            console.print(f"valid {key}: {v['min']:.3g} .. {v['max']:.3g} {v['unit']}", highlight=False)
    else:
        for ref in cls.references:
            console.print(f"reference: {ref}", highlight=False)


def _progress(total: int, label: str):
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    prog = Progress(TextColumn(label), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                    console=err_console, transient=True, disable=not err_console.is_terminal)
    return prog


@app.command()
@handle_errors
def simulate(
    name: Annotated[str, typer.Argument(help="Model name, card name or card file.")],
    protocol: Annotated[str, typer.Option(help="identical | pd (potentiation/depression) | ispp | retention")] = "pd",
    pulses: Annotated[int, typer.Option("--pulses", "-n", help="Pulses per train (per half-cycle for pd).")] = 50,
    amplitude: Annotated[str, typer.Option(help="Pulse amplitude with unit, e.g. '1.2 V' or '10 uA'.")] = "1.0 V",
    amplitude_down: Annotated[str | None, typer.Option(help="Depression amplitude (pd); default -amplitude.")] = None,
    width: Annotated[str, typer.Option(help="Pulse width, e.g. '100 ns'.")] = "100 ns",
    step: Annotated[str | None, typer.Option(help="Amplitude step for ispp, e.g. '0.05 V'.")] = None,
    interval: Annotated[str, typer.Option(help="Wait before each read, e.g. '1 us'.")] = "0 s",
    temperature: Annotated[str, typer.Option(help="Ambient temperature, e.g. '300 K'.")] = "300 K",
    cycles: Annotated[int, typer.Option(help="Cycles for pd.")] = 1,
    devices: Annotated[int, typer.Option(help="Number of devices.")] = 1,
    v_read: Annotated[str, typer.Option("--v-read", help="Read voltage.")] = "0.1 V",
    seed: Annotated[int | None, typer.Option(help="Random seed (variability, stochastic switching).")] = None,
    g_start: Annotated[str | None, typer.Option(
        "--g-start", help="Start every device at this conductance, e.g. '1.65 mS' (default: the lowest "
                          "state a fitted card was calibrated over, else the model's initial state).")] = None,
    variability: Annotated[bool, typer.Option(help="Use the card's variability.")] = True,
    out: Annotated[Path | None, typer.Option(help="Write the result (.nc NetCDF or .csv).")] = None,
    as_json: JsonOpt = False,
):
    """Apply a pulse protocol to one or many devices and report the conductance response."""
    from . import pulses as P
    from .simulate import simulate as run
    from .units import Q_

    model, card = _model_or_card(name)
    au = model.amplitude_unit
    amp = _quantity(amplitude, au, "amplitude")
    w = _quantity(width, "s", "width")
    ivl = _quantity(interval, "s", "interval")
    temp = _quantity(temperature, "K", "temperature")
    if protocol == "identical":
        train = P.identical(pulses, Q_(amp, au), w, ivl, temp)
    elif protocol == "pd":
        down = -amp if amplitude_down is None else _quantity(amplitude_down, au, "amplitude-down")
        train = P.potentiation_depression(pulses, pulses, Q_(amp, au), Q_(down, au), w, cycles=cycles,
                                          interval=ivl, temperature=temp)
    elif protocol == "ispp":
        if step is None:
            raise ValueError("--step is required for the ispp protocol")
        train = P.incremental_step(pulses, Q_(amp, au), Q_(_quantity(step, au, "step"), au), w, ivl, temp)
    elif protocol == "retention":
        train = P.read_after_delay(np.logspace(-3, 5, pulses), temp, amplitude_unit=au)
    else:
        raise ValueError(f"unknown protocol {protocol!r}; use identical, pd, ispp or retention")
    var = card.variability if (card is not None and variability) else None
    vr = _quantity(v_read, "V", "v-read")
    from .simulate import check_inputs, check_start_conductance

    check_inputs(model, len(train), devices, vr, None)  # ensemble size and read voltage, before allocating
    state = None
    if g_start is None and card is not None and card.start_conductance() is not None:
        # a fitted card starts inside the states it was calibrated over (as exporters and compare do)
        state = model.state_from_conductance(np.full(devices, card.start_conductance()), vr)
    if g_start is not None:
        gs = _quantity(g_start, "S", "g-start")
        try:
            check_start_conductance(model, gs, vr)
        except ValueError as exc:
            raise ValueError(f"--g-start: {exc}") from None
        state = model.state_from_conductance(np.full(devices, gs), vr)
    prog = _progress(len(train), "simulating")
    with prog:
        task = prog.add_task("sim", total=len(train))
        ds = run(model, train, n_devices=devices, v_read=vr, variability=var, seed=seed, state=state,
                 progress=lambda k: prog.update(task, completed=k))
    g = ds["conductance"].values
    summary = {
        "model": model.name,
        "card": card.name if card else None,
        "protocol": protocol,
        "pulses": len(train),
        "devices": devices,
        "conductance_initial": {"value": float(np.mean(ds["conductance_initial"])), "unit": "S"},
        "conductance_final": {"value": float(np.mean(g[:, -1])), "unit": "S"},
        "conductance_min": {"value": float(g.min()), "unit": "S"},
        "conductance_max": {"value": float(g.max()), "unit": "S"},
        "energy_total": {"value": float(ds["energy"].sum("pulse").mean()), "unit": "J"},
    }
    if out is not None:
        from .catalog import atomic_write_text

        out = Path(out)
        if out.suffix == ".nc":
            from .measurement import atomic_output

            with atomic_output(out) as tmp:  # unique temp beside the target, renamed when complete
                ds.to_netcdf(tmp, engine="h5netcdf")
        elif out.suffix == ".csv":
            lines = [f"pulse,time [s],amplitude [{au}],width [s],"
                     + ",".join(f"device{i} [S]" for i in range(devices))]
            for k in range(len(train)):
                lines.append(f"{k},{train.read_time[k]:.6g},{train.amplitude[k]:.6g},{train.width[k]:.6g},"
                             + ",".join(f"{v:.8g}" for v in g[:, k]))
            atomic_write_text(out, "\n".join(lines) + "\n")
        else:
            raise ValueError(f"--out: use a .nc or .csv file, got {out.name!r}")
        summary["out"] = str(out)
    if as_json:
        _emit_json(summary)
        return
    console.print(f"{model.name}: {protocol}, {len(train)} pulses, {devices} device(s)", highlight=False)
    for key in ("conductance_initial", "conductance_final", "conductance_min", "conductance_max"):
        console.print(f"  {key:<20s} {summary[key]['value'] * 1e6:.4g} uS", highlight=False)
    console.print(f"  {'energy (per device)':<20s} {summary['energy_total']['value']:.4g} J", highlight=False)
    if out is not None:
        console.print(f"wrote {out}", highlight=False)


def main() -> None:
    app()


# Commands kept in their own modules (one owner each); importing registers them.
from . import cli_export, cli_fit  # noqa: E402, F401

if __name__ == "__main__":
    main()
from . import cli_compare  # noqa: E402, F401
