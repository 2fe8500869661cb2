"""``devicelib models``, ``catalog`` and ``show``: what is installed, with units and sources.

These commands must stay light (no xarray, scipy, lmfit, numba or dask): they read cached
model metadata and TOML cards only.
"""

from __future__ import annotations

from typing import Annotated

import typer

from .common import JsonOpt, app, console, handle_errors


@app.command()
@handle_errors
def models(as_json: JsonOpt = False):
    """List the registered device models (built-in families and plugins)."""
    from ..model_index import model_rows  # cached metadata: no family (numba, scipy) is imported
    from .light import render_models  # also drawn by `devicelib models` without typer (see .light)

    render_models(model_rows(), as_json, console)


@app.command()
@handle_errors
def catalog(
    family: Annotated[str | None, typer.Option(help="Only cards of this family (e.g. vcm).")] = None,
    as_json: JsonOpt = False,
):
    """List the model cards (kind: fitted, literature or estimate) and the literature records, with sources."""
    from .light import catalog_data, print_catalog  # also run without typer (see .light)

    print_catalog(*catalog_data(family), as_json, console)


@app.command()
@handle_errors
def show(name: Annotated[str, typer.Argument(help="Model name, card name or card file.")], as_json: JsonOpt = False):
    """Show a model's parameters (with units and bounds) or a card's values and provenance."""
    from .light import print_show, show_data  # also run without typer (see .light)

    print_show(*show_data(name), as_json, console)
