"""The ``devicelib export`` command: a card to aihwkit, CrossSim, NeuroSim, MemTorch or the native HDF5 file."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from .common import JsonOpt, _emit_json, app, console, err_console, handle_errors, late_progress


@app.command()
@handle_errors
def export(
    source: Annotated[str, typer.Argument(help="Card name or card file (e.g. vcm.jiang2016_hfox).")],
    to: Annotated[str, typer.Option("--to", help="Target: aihwkit, crosssim, neurosim, memtorch or native.")] = (
        "native"
    ),
    out: Annotated[Path | None, typer.Option(
        help="Output: .json (aihwkit, memtorch), a directory (crosssim), .txt (neurosim), .h5 (native); default "
             "<card>_aihwkit.json, <card>_crosssim/, <card>_neurosim.txt, <card>_memtorch.json, <card>.h5.")] = None,
    amplitude: Annotated[str | None, typer.Option(help="Potentiating amplitude, e.g. '1.2 V' (default: card).")] = None,
    amplitude_down: Annotated[str | None, typer.Option("--amplitude-down",
                                                       help="Depressing amplitude with sign, e.g. '-1.2 V'.")] = None,
    width: Annotated[str | None, typer.Option(help="Pulse width, e.g. '10 ns' (default: card).")] = None,
    temperature: Annotated[str | None, typer.Option(help="Ambient temperature, e.g. '300 K'.")] = None,
    read_voltage: Annotated[str | None, typer.Option("--read-voltage", help="Read voltage, e.g. '0.1 V'.")] = None,
    g_start: Annotated[str | None, typer.Option("--g-start",
                                                help="Start conductance, e.g. '1.6 mS' (default: model).")] = None,
    pulses: Annotated[int | None, typer.Option(help="Pulses per direction (default: automatic, inside the card's "
                                                    "calibrated range).")] = None,
    pulses_up: Annotated[int | None, typer.Option("--pulses-up",
                                                  help="Potentiating pulses (overrides --pulses).")] = None,
    pulses_down: Annotated[int | None, typer.Option("--pulses-down",
                                                    help="Depressing pulses (overrides --pulses).")] = None,
    force: Annotated[bool, typer.Option("--force", help="Export a condition outside the card's validity ranges.")] = (
        False),
    devices: Annotated[int | None, typer.Option(help="Devices in the variability ensemble.")] = None,
    seed: Annotated[int, typer.Option(help="Random seed of the ensemble.")] = 0,
    as_json: JsonOpt = False,
):
    """Export a card at a stated pulse condition; prints the mapping error (RMSE, S) and the condition."""
    import warnings

    from ..export import export as run

    with warnings.catch_warnings(), late_progress(f"exporting {source} to {to}"):
        # warnings: printed below with the other export warnings, not twice
        warnings.filterwarnings("ignore", message=".*did not converge", category=UserWarning)
        result = run(source, to, out, amplitude=amplitude, amplitude_down=amplitude_down, width=width,
                     temperature=temperature, read_voltage=read_voltage, g_start=g_start,
                     n_up=pulses_up if pulses_up is not None else pulses,
                     n_down=pulses_down if pulses_down is not None else pulses,
                     force=force, n_devices=devices, seed=seed)
    if as_json:
        _emit_json({"target": result.target, "paths": [str(p) for p in result.paths],
                    "pulse_condition": result.condition.to_dict(), "mapping": result.mapping,
                    "warnings": result.warnings})
        return
    for w in result.warnings:
        err_console.print(f"warning: {w}", markup=False, highlight=False)
    console.print(result.summary(), markup=False, highlight=False)
