"""The ``devicelib fit`` command."""

from __future__ import annotations

from contextlib import nullcontext
from pathlib import Path
from typing import Annotated

import typer

from . import __version__
from .cli import JsonOpt, _emit_json, _model_or_card, _quantity, app, console, err_console, handle_errors


@app.command()
@handle_errors
def fit(
    data: Annotated[list[Path], typer.Argument(help="Measurement file(s): .csv (wide or long), .tsv, .nc/.h5.")],
    model: Annotated[str, typer.Option(help="Model or card to start from.")] = "vcm.stanford_pku",
    vary: Annotated[str | None, typer.Option(help="Comma-separated parameters to fit (default: all not fixed).")] = (
        None
    ),
    unit: Annotated[str | None, typer.Option(help="Unit of the values in a wide CSV (A, S, uS, ohm, or '').")] = None,
    amplitude: Annotated[list[str] | None, typer.Option(help="Pulse amplitude for a wide CSV, one per file.")] = None,
    width: Annotated[list[str] | None, typer.Option(help="Pulse width for a wide CSV, once or per file.")] = None,
    temperature: Annotated[str, typer.Option(help="Ambient temperature for a wide CSV.")] = "300 K",
    v_read: Annotated[str | None, typer.Option("--v-read", help="Read voltage (needed for currents).")] = None,
    card: Annotated[Path | None, typer.Option(help="Write the fitted card (TOML) here.")] = None,
    name: Annotated[str | None, typer.Option(help="Name of the fitted card.")] = None,
    as_json: JsonOpt = False,
):
    """Fit a model to measured pulse data (lmfit) and optionally write a card."""
    from .fit import fit as run_fit
    from .measurement import concat_traces, read_measurement

    start, start_card = _model_or_card(model)
    vr = _quantity(v_read, "V", "v-read")
    parts = []
    for i, path in enumerate(data):
        kwargs = {}
        if path.suffix.lower() in (".csv", ".tsv", ".txt"):
            from .measurement import _read_csv_rows, _split_header_unit

            rows = _read_csv_rows(path, "\t" if path.suffix.lower() == ".tsv" else ",")
            first = [_split_header_unit(c)[0].lower() for c in rows[0]] if rows else []
            if not ("pulse" in first and "trace" in first):  # wide layout: conditions from options
                if not amplitude or not width:
                    raise ValueError(f"{path}: a wide CSV holds no pulse conditions; give --amplitude and --width")
                if len(amplitude) not in (1, len(data)) or len(width) not in (1, len(data)):
                    raise ValueError("give --amplitude and --width once, or once per data file")
                amp_i = amplitude[i] if len(amplitude) > 1 else amplitude[0]
                width_i = width[i] if len(width) > 1 else width[0]
                au = start.amplitude_unit
                kwargs = {"unit": unit, "amplitude": _quantity(amp_i, au, "amplitude"),
                          "width": _quantity(width_i, "s", "width"),
                          "temperature": _quantity(temperature, "K", "temperature"), "amplitude_unit": au}
            kwargs["v_read"] = vr
        ds = read_measurement(path, **kwargs)
        if len(data) > 1:
            ds = ds.assign_coords(trace=[f"{path.stem}:{t}" for t in ds["trace"].values])
        parts.append(ds)
    measurement = parts[0] if len(parts) == 1 else concat_traces(parts)
    vary_list = [v.strip() for v in vary.split(",") if v.strip()] if vary else None
    with err_console.status("fitting", spinner="dots") if err_console.is_terminal else nullcontext():
        result = run_fit(start, measurement, vary=vary_list, v_read=vr)
    out = result.to_json()
    if card is not None:
        card_name = name or f"{start.family}.fit_{Path(data[0]).stem}"
        c = result.to_card(card_name, provenance={
            "citation": f"devicelib {__version__} fit of {start.name} to {', '.join(str(d) for d in data)}",
            "where": "this fit",
            "start": start_card.name if start_card else start.name,
        }, start=start_card)
        c.save(card)
        out["card"] = str(card)
    if as_json:
        _emit_json(out)
    else:
        console.print(result.summary(), highlight=False)
        if card is not None:
            console.print(f"wrote card {card}", highlight=False)
    if not result.converged:
        err_console.print(f"warning: fit not converged: {result.status}", highlight=False)
