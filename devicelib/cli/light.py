"""``devicelib --help``, ``models``, ``catalog`` and ``show`` without typer (first runs nearly as fast as replayed).

typer builds the whole click app (every command's signature, pydantic-free but inspect-heavy) and
imports rich's markdown, syntax and traceback modules (markdown-it, pygments) before it prints the
top-level help: 0.2-0.5 s of a 0.3 s budget. The top-level help is the same few lines each time, so
it is drawn here with rich alone, by the code of typer's ``rich_utils.rich_format_help`` for a group
(same console, theme, highlighters, tables and panels) from the constants below. ``models``,
``catalog [--family F] [--json]`` and ``show NAME [--json]`` run the commands' bodies (defined here; the
typer commands in :mod:`.browse` call the same functions) directly; one that fails goes to typer,
which runs it again and reports the error as usual. tests/test_startup.py holds the output equal
to typer's, byte for byte, at several widths with and without colour, and the constants equal to the
app's; anything this module does not handle (other arguments, a ``TYPER_USE_RICH`` setting, a program
name that click would wrap) goes to typer as before.
"""

from __future__ import annotations

import json
import os
import sys

# The app's help (common.py builds the typer app with it), its options and its commands' help (the
# first paragraph of each command's docstring), in the order `--help` lists them.
APP_HELP = "Physics-based models of analog-AI memory devices: simulate, fit, export, compare."
VERSION_HELP = "Print the version and exit."
OPTIONS = (("--version", "<bool>", VERSION_HELP), ("--help", "<bool>", "Show this message and exit."))
COMMANDS = (
    ("models", "List the registered device models (built-in families and plugins)."),
    ("catalog", "List the model cards (kind: fitted, literature or estimate) and the literature records, "
                "with sources."),
    ("show", "Show a model's parameters (with units and bounds) or a card's values and provenance."),
    ("simulate", "Apply a pulse protocol to one or many devices and report the conductance response."),
    ("export", "Export a card at a stated pulse condition; prints the mapping error (RMSE, S) and the "
               "condition."),
    ("fit", "Fit a model to measured pulse data (lmfit), or compare several models, and optionally write a "
            "card."),
    ("compare", "Compare figures of merit of cards (simulated) and literature records, in units you choose."),
)
USAGE_PIECES = "[OPTIONS] COMMAND [ARGS]..."


def _program_name() -> str:
    """click's ``_detect_program_name``: the script's file name, or ``python -m package.module``."""
    main = sys.modules.get("__main__")
    path = sys.argv[0] if sys.argv else ""
    if getattr(main, "__package__", None) in {None, ""}:
        return os.path.basename(path)
    module, name = main.__package__, os.path.splitext(os.path.basename(path))[0]
    if name != "__main__":
        module = f"{module}.{name}"
    return f"python -m {module.lstrip('.')}"


def _typer_console():
    """The console of typer's ``rich_utils._get_rich_console`` (same theme, highlighter and settings)."""
    from rich.console import Console
    from rich.theme import Theme

    force = True if (os.getenv("GITHUB_ACTIONS") or os.getenv("FORCE_COLOR") or os.getenv("PY_COLORS")) else None
    if os.getenv("_TYPER_FORCE_DISABLE_TERMINAL"):
        force = False
    width = os.getenv("TERMINAL_WIDTH")
    theme = Theme({"option": "bold cyan", "switch": "bold green", "negative_option": "bold magenta",
                   "negative_switch": "bold red", "types": "bold yellow", "types_sep": "dim", "usage": "yellow"})
    return Console(theme=theme, highlighter=_highlighters()[0], color_system="auto", force_terminal=force,
                   width=int(width) if width else None)


def _highlighters():
    from rich.highlighter import RegexHighlighter

    class OptionHighlighter(RegexHighlighter):
        highlights = (r"(^|\W)(?P<switch>\-\w+)(?![a-zA-Z0-9])", r"(^|\W)(?P<option>\-\-[\w\-]+)(?![a-zA-Z0-9])",
                      r"(?P<types>\<[^\>]+\>)", r"(?P<usage>Usage: )")

    class NegativeOptionHighlighter(RegexHighlighter):
        highlights = (r"(^|\W)(?P<negative_switch>\-\w+)(?![a-zA-Z0-9])",
                      r"(^|\W)(?P<negative_option>\-\-[\w\-]+)(?![a-zA-Z0-9])")

    class TypesHighlighter(RegexHighlighter):
        highlights = (r"^(?P<types_sep>(\[|<))", r"(?P<types_sep>\|)", r"(?P<types_sep>(\]|>))(\.\.\.)?$")

    return OptionHighlighter(), NegativeOptionHighlighter(), TypesHighlighter()


def print_help(prog: str) -> None:
    """The top-level ``--help`` as typer's ``rich_format_help`` prints it (rich markup mode, no arguments,
    no deprecated or hidden entries, no epilog: what the app has)."""
    from rich.align import Align
    from rich.columns import Columns
    from rich.console import Group
    from rich.padding import Padding
    from rich.panel import Panel
    from rich.table import Table
    from rich.text import Text

    hl, neg, types = _highlighters()
    console = _typer_console()
    console.print(Padding(hl(f"Usage: {prog} {USAGE_PIECES}"), 1), style="bold")
    console.print(Padding(Align(Group(hl(Text.from_markup(APP_HELP, style=""))), pad=False), (0, 1, 1, 1)))
    table_style = {"show_lines": False, "leading": 0, "border_style": None, "row_styles": None, "pad_edge": False,
                   "padding": (0, 1)}
    options = Table(highlight=True, show_header=False, expand=True, box=None, **table_style)
    for opt, kind, text in OPTIONS:
        options.add_row(hl(opt), hl(""), neg(""), neg(""), types(Text(kind, style="bold yellow", overflow="fold")),
                        Columns([hl(Text.from_markup(text, style=""))]))
    console.print(Panel(options, border_style="dim", title="Options", title_align="left"))
    commands = Table(highlight=False, show_header=False, expand=True, box=None, **table_style)
    commands.add_column(style="bold cyan", no_wrap=True, width=max(len(name) for name, _ in COMMANDS))
    commands.add_column("Description", justify="left", no_wrap=False, ratio=10)
    for name, text in COMMANDS:
        commands.add_row(Text(name), hl(Text.from_markup(text, style="")))
    console.print(Panel(commands, border_style="dim", title="Commands", title_align="left"))
    # click then echoes the (empty) plain help it formatted: one more newline
    sys.stdout.write("\n")
    sys.stdout.flush()


def _click_width() -> int:
    """The width click formats the usage line to (``HelpFormatter``: the terminal, at most 80, less 2, at
    least 50)."""
    import shutil

    return max(min(shutil.get_terminal_size().columns, 80) - 2, 50)


def light_command(args: list[str]):
    """A callable printing the output of ``devicelib ARGS`` without typer, or None (then typer runs it)."""
    if os.getenv("TYPER_USE_RICH") is not None:
        return None
    if args == ["--help"]:
        prog = _program_name()
        if len(f"Usage: {prog} {USAGE_PIECES}") > _click_width():  # click would wrap it: typer draws it
            return None
        return lambda: print_help(prog)
    if args in (["models"], ["models", "--json"]):
        try:
            from ..model_index import model_rows

            rows = model_rows()  # an error here is typer's to report (one line on stderr, status 2)
        except Exception:
            return None
        return lambda: render_models(rows, as_json=args[-1] == "--json")
    parsed = _parse(args)
    if parsed is None:
        return None
    command, value, as_json = parsed
    import warnings

    # the command's work, with its warnings recorded as handle_errors does; any error: typer runs it again
    # and reports it (one line on stderr, status 2)
    with warnings.catch_warnings(record=True) as caught:
        try:
            data = catalog_data(value) if command == "catalog" else show_data(value)
        except Exception:
            return None

    def run():
        from rich.console import Console

        console = Console()
        try:
            (print_catalog if command == "catalog" else print_show)(*data, as_json, console)
        finally:
            show_warnings(caught, lambda: Console(stderr=True))

    return run


def _parse(args: list[str]):
    """(command, family or name, as_json) of ``catalog [--family F] [--json]`` or ``show NAME [--json]``, in any
    order; None for anything else (other options, ``--help``, a value that looks like an option)."""
    if not args or args[0] not in ("catalog", "show"):
        return None
    rest, as_json, value = list(args[1:]), False, None
    if "--json" in rest:
        rest.remove("--json")
        as_json = True
    if args[0] == "catalog":
        if len(rest) == 2 and rest[0] == "--family" and rest[1] and not rest[1].startswith("-"):
            value = rest[1]
        elif rest:
            return None
    elif len(rest) == 1 and rest[0] and not rest[0].startswith("-"):
        value = rest[0]
    else:
        return None
    return args[0], value, as_json


def show_warnings(caught, err_console) -> None:
    """Show warnings recorded during a command: a catalog warning as one line ``warning: ...`` on stderr,
    any other as Python shows it. ``err_console`` is a callable giving the stderr console."""
    import warnings

    # the catalog module is not imported here (it loads numpy and pint): a CatalogWarning can only have
    # been raised once a command imported it, so it is looked up afterwards
    cat = getattr(sys.modules.get("devicelib.catalog"), "CatalogWarning", None)
    for w in caught:
        if cat is not None and issubclass(w.category, cat):
            err_console().print(f"warning: {w.message}", markup=False, highlight=False, soft_wrap=True)
        else:
            warnings.showwarning(w.message, w.category, w.filename, w.lineno)


def emit_json(obj) -> None:
    sys.stdout.write(json.dumps(obj, indent=2, default=json_default) + "\n")


def json_default(o):
    np = sys.modules.get("numpy")  # a numpy value implies numpy is loaded: never import it here
    if np is not None and isinstance(o, np.generic):
        return o.item()
    if np is not None and isinstance(o, np.ndarray):
        return o.tolist()
    pathlib = sys.modules.get("pathlib")  # likewise
    if pathlib is not None and isinstance(o, pathlib.PurePath):
        return str(o)
    raise TypeError(f"not JSON serialisable: {type(o).__name__}")


def render_models(rows: list[dict], as_json: bool = False, console=None) -> None:
    """The output of ``devicelib models`` (``--json``: one JSON document) from the model index rows."""
    if as_json:
        emit_json({"models": rows, "families": sorted({r["family"] for r in rows})})
        return
    from rich import box
    from rich.table import Table

    if console is None:
        from rich.console import Console

        console = Console()
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


def catalog_data(family: str | None) -> tuple[list[dict], list[dict]]:
    """The rows of ``devicelib catalog``: (cards, literature records), of one family when given."""
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
    return rows, recs


def print_catalog(rows: list[dict], recs: list[dict], as_json: bool, console) -> None:
    if as_json:
        emit_json({"cards": rows, "records": recs})
        return
    from rich import box
    from rich.table import Table

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


def show_data(name: str):
    """(model schema, parameter rows with values, card or None) of ``devicelib show NAME``."""
    from ..core import param_table

    cls, values, card = _schema_or_card(name)
    rows = param_table(cls)
    for r in rows:
        r["value"] = values[r["name"]]
        if card is not None and r["name"] in card.parameters:
            e = card.parameters[r["name"]]
            r.update({"stderr": e.stderr, "source": e.source, "estimate": e.estimate})
    return cls, rows, card


def print_show(cls, rows: list[dict], card, as_json: bool, console) -> None:
    if as_json:
        out = {"model": cls.name, "family": cls.family, "references": list(cls.references), "parameters": rows}
        if card is not None:
            out["card"] = card.to_dict()
        emit_json(out)
        return
    from rich.table import Table

    from ..units import format_unit

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
