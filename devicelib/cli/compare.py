"""``devicelib compare``: figures of merit of cards and literature records, side by side, in chosen units.

The helpers (and :mod:`devicelib.metrics`, which needs numpy) live in :mod:`.compare_lib` and are
imported when the command runs, so that ``devicelib --help`` stays light.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from .common import _emit_json, _quantity, app, console, err_console, handle_errors, late_progress

FORMATS = ("table", "csv", "markdown", "json")

# ---------------------------------------------------------------------------
# the command
# ---------------------------------------------------------------------------

@app.command()
@handle_errors
def compare(
    names: Annotated[list[str] | None, typer.Argument(help="Card or record names (or files).")] = None,
    family: Annotated[str | None, typer.Option(help="Every card and record of this family.")] = None,
    all_: Annotated[bool, typer.Option("--all", help="Every registered card and every record.")] = False,
    units: Annotated[str | None, typer.Option(
        help="Display units, e.g. 'energy=fJ,time=ns,conductance=uS' (categories or metric names).")] = None,
    fmt: Annotated[str, typer.Option("--format", help="table | csv | markdown | json")] = "table",
    metrics: Annotated[str | None, typer.Option(help="Comma-separated metric names (default: all available).")] = None,
    plot_path: Annotated[Path | None, typer.Option("--plot", help="Write the comparison figure (.png/.svg/.pdf).")]
    = None,
    out: Annotated[Path | None, typer.Option(help="Write the table to this file instead of stdout.")] = None,
    amplitude: Annotated[str | None, typer.Option(help="Potentiating amplitude for cards, e.g. '1.2 V'.")] = None,
    amplitude_down: Annotated[str | None, typer.Option(help="Depressing amplitude, e.g. '-1.2 V'.")] = None,
    width: Annotated[str | None, typer.Option(help="Pulse width for cards, e.g. '100 ns'.")] = None,
    temperature: Annotated[str | None, typer.Option(help="Temperature for cards, e.g. '300 K'.")] = None,
    pulses: Annotated[int, typer.Option(help="Pulses per potentiation / depression train.")] = 100,
    tolerance: Annotated[float, typer.Option(help="Relative change that ends retention.")] = 0.1,
    seed: Annotated[int, typer.Option(help="Random seed for noisy cards.")] = 0,
):
    """Compare figures of merit of cards (simulated) and literature records, in units you choose."""
    from ..units import UnitError
    from .compare_lib import as_rows, collect, columns_for, parse_units, plot, print_table, to_csv, to_json, to_markdown

    if fmt not in FORMATS:
        raise ValueError(f"--format must be one of {FORMATS}, got {fmt!r}")
    shown = parse_units(units)

    def amp(text, name):
        if text is None:
            return None
        from ..units import Q_

        try:
            return float(text)
        except ValueError:
            pass
        try:
            return Q_(text.strip())
        except Exception:
            raise UnitError(f"--{name}: cannot read {text!r} as a quantity (e.g. '1.2 V' or '10 uA')") from None

    condition = {
        "amplitude": amp(amplitude, "amplitude"), "amplitude_down": amp(amplitude_down, "amplitude-down"),
        "width": _quantity(width, "s", "width"), "temperature": _quantity(temperature, "K", "temperature"),
        "pulses": pulses, "seed": seed, "tolerance": tolerance,
    }
    rows = collect(names or [], family=family, all_=all_,
                   warn=lambda m: err_console.print(f"warning: {m}", markup=False, highlight=False),
                   progress=lambda n: late_progress("computing metrics", total=n),
                   **condition)
    cols = columns_for(rows, [m.strip() for m in metrics.split(",")] if metrics else None)
    if plot_path is not None:
        plot(rows, plot_path, shown)
    if fmt == "json":
        doc = to_json(rows, cols, shown)
        if plot_path is not None:
            doc["plot"] = str(plot_path)
        if out is not None:
            from ..catalog import atomic_write_text

            atomic_write_text(out, json.dumps(doc, indent=2) + "\n")
        else:
            _emit_json(doc)
        return
    if fmt == "table" and out is None:
        print_table(rows, cols, shown)
        if plot_path is not None:
            console.print(f"wrote {plot_path}", highlight=False)
        return
    text = to_csv(rows, cols, shown) if fmt == "csv" else to_markdown(rows, cols, shown)
    if fmt == "table":
        head, body = as_rows(rows, cols, shown)
        text = "\t".join(head) + "\n" + "\n".join("\t".join(c or "-" for c in line) for line in body) + "\n"
    if out is not None:
        from ..catalog import atomic_write_text

        atomic_write_text(Path(out), text)
        err_console.print(f"wrote {out}", highlight=False)
    else:
        typer.echo(text, nl=False)
