"""``devicelib --help``, ``models`` and ``models --json`` without typer (first runs as fast as replayed ones).

typer builds the whole click app (every command's signature, pydantic-free but inspect-heavy) and
imports rich's markdown, syntax and traceback modules (markdown-it, pygments) before it prints the
top-level help: 0.2-0.5 s of a 0.3 s budget. The top-level help is the same few lines each time, so
it is drawn here with rich alone, by the code of typer's ``rich_utils.rich_format_help`` for a group
(same console, theme, highlighters, tables and panels) from the constants below. ``models`` runs the
command's body (:func:`.browse.render_models`) directly. tests/test_startup.py holds the output equal
to typer's, byte for byte, at several widths with and without colour, and the constants equal to the
app's; anything this module does not handle (other arguments, a ``TYPER_USE_RICH`` setting, a program
name that click would wrap) goes to typer as before.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

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
    return None


def emit_json(obj) -> None:
    sys.stdout.write(json.dumps(obj, indent=2, default=json_default) + "\n")


def json_default(o):
    np = sys.modules.get("numpy")  # a numpy value implies numpy is loaded: never import it here
    if np is not None and isinstance(o, np.generic):
        return o.item()
    if np is not None and isinstance(o, np.ndarray):
        return o.tolist()
    if isinstance(o, Path):
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
