"""The ``devicelib export`` command."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from .cli import app, console, handle_errors


@app.command()
@handle_errors
def export(
    source: Annotated[str, typer.Argument(help="Card name or card file.")],
    to: Annotated[str, typer.Option("--to", help="Target format.")] = "native",
    out: Annotated[Path, typer.Option(help="Output file.")] = Path("device.toml"),
):
    """Write a card in another format (native: a validated TOML card)."""
    from .catalog import find_card, load_card

    path = find_card(source)
    if path is None:
        raise KeyError(f"no card {source!r} (see `devicelib catalog`)")
    card = load_card(path)
    if to == "native":
        card.save(out)
        console.print(f"wrote {out}", highlight=False)
    else:
        raise ValueError(f"unknown export target {to!r}; available: native")
