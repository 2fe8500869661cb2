"""``devicelib models``, ``catalog`` and ``show``: what is installed, with units and sources.

These commands must stay light (no xarray, scipy, lmfit, numba or dask): they read cached
model metadata and TOML cards only.
"""

from __future__ import annotations

from typing import Annotated

import typer

from .common import JsonOpt, _emit_json, app, console, handle_errors


@app.command()
@handle_errors
def models(as_json: JsonOpt = False):
    """List the registered device models (built-in families and plugins)."""
    from ..model_index import model_rows  # cached metadata: no family (numba, scipy) is imported
    from .light import render_models  # also drawn by `devicelib models` without typer (see .light)

    render_models(model_rows(), as_json, console)


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
    from rich import box
    from rich.table import Table

    from ..catalog import list_catalog
    from ..model_index import model_schema, warm
    from ..records import list_records

    warm()  # a current model index: cards are then validated without importing the families
    cards = list_catalog()
    records = list_records()
    if family:
        cards = [c for c in cards if model_schema(c.model_name).family == family]
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


def _schema_or_card(name: str):
    """(model schema, parameter values in SI, card or None) of a registered model name, a catalog card
    name or a card path, as :func:`.common._model_or_card` resolves it, from the cached model index
    (no family import): the values are the card's, else the declared defaults."""
    from ..catalog import find_card, load_card
    from ..model_index import model_schema, warm
    from ..registry import available_models

    warm()  # a current index (built once by importing the families when missing or stale)
    if name in available_models():
        cls, card = model_schema(name), None
    else:
        path = find_card(name)
        if path is None:
            raise KeyError(f"{name!r} is neither a registered model nor a card (see `devicelib models`, "
                           "`devicelib catalog`)")
        card = load_card(path)
        cls = model_schema(card.model_name)
    values = {p.name: p.default for p in cls.parameters}
    if card is not None:  # validated by load_card as the model's constructor would (SI, bounds, checks)
        values.update(card.values())
    return cls, values, card


@app.command()
@handle_errors
def show(name: Annotated[str, typer.Argument(help="Model name, card name or card file.")], as_json: JsonOpt = False):
    """Show a model's parameters (with units and bounds) or a card's values and provenance."""
    from rich.table import Table

    from ..core import param_table
    from ..units import format_unit

    cls, values, card = _schema_or_card(name)
    rows = param_table(cls)
    for r in rows:
        r["value"] = values[r["name"]]
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
