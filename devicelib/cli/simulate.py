"""``devicelib simulate``: a pulse protocol on one device or an ensemble."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from .common import JsonOpt, _emit_json, _model_or_card, _progress, _quantity, app, console, handle_errors


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
    import numpy as np

    from .. import pulses as P
    from ..simulate import simulate as run
    from ..units import Q_

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
    from ..simulate import check_inputs, check_start_conductance

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
        from ..catalog import atomic_write_text

        out = Path(out)
        if out.suffix == ".nc":
            from ..measurement import atomic_output

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
