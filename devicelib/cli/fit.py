"""The ``devicelib fit`` command: fit one model, or compare several (``--model a,b,c``)."""

from __future__ import annotations

from contextlib import nullcontext
from pathlib import Path
from typing import Annotated

import typer

from .. import __version__
from .common import JsonOpt, _emit_json, _model_or_card, _quantity, app, console, err_console, handle_errors


def _read(path: Path, i: int, n_files: int, start, layout: str, unit, amplitude, width, temperature, vr, header,
          observable=None, trials=None, light=False):
    from ..measurement import read_measurement

    au = start.amplitude_unit
    suffix = path.suffix.lower()
    if layout in ("map", "map-reset"):
        from ..maps import read_pulse_map

        if vr is None:
            raise ValueError(f"{path}: a single-pulse map records no read voltage; give --v-read")
        return read_pulse_map(path, polarity="reset" if layout == "map-reset" else "set", v_read=vr,
                              observable=observable or "resistance", unit=unit or "ohm",
                              temperature=_quantity(temperature, "K", "temperature"))
    if observable:
        return _read_observable(path, i, n_files, start, layout, unit, amplitude, width, temperature, vr, header,
                                observable, trials)
    if layout in ("table", "cycling"):
        raise ValueError(f"{path}: --layout {layout} needs --observable (e.g. --observable resistance)")
    if layout == "sequence":
        from ..fit.readers import read_sequence_csv

        if not amplitude or not width:
            raise ValueError(f"{path}: a sequence CSV holds no pulse conditions; give --amplitude once per column "
                             "(e.g. --amplitude '1 V' --amplitude '-1 V') and --width")
        if unit is None:
            raise ValueError(f"{path}: give --unit for a sequence CSV ('' for normalised weights, A, S, ...)")
        return read_sequence_csv(path, unit, amplitudes=[_quantity(a, au, "amplitude") for a in amplitude],
                                 width=_quantity(width[0], "s", "width"), v_read=vr,
                                 temperature=_quantity(temperature, "K", "temperature"), header=header,
                                 amplitude_unit=au, _light=light)
    kwargs: dict = {}
    if suffix in (".csv", ".tsv", ".txt", ".dat"):
        from ..measurement import sniff_layout

        if layout == "auto":
            layout = sniff_layout(path)  # reads only the head of the file; the reader parses it once
        if layout in ("wide", "columns", "rows"):  # conditions from options
            if not amplitude or not width:
                raise ValueError(f"{path}: a {layout} CSV holds no pulse conditions; give --amplitude and --width")
            if len(amplitude) not in (1, n_files) or len(width) not in (1, n_files):
                raise ValueError("give --amplitude and --width once, or once per data file")
            amp_i = amplitude[i] if len(amplitude) > 1 else amplitude[0]
            width_i = width[i] if len(width) > 1 else width[0]
            kwargs = {"unit": unit, "amplitude": _quantity(amp_i, au, "amplitude"),
                      "width": _quantity(width_i, "s", "width"),
                      "temperature": _quantity(temperature, "K", "temperature"), "amplitude_unit": au,
                      "header": header}
        if layout == "instrument":
            kwargs = {"temperature": _quantity(temperature, "K", "temperature"), "select": "biased"}
        else:
            kwargs["v_read"] = vr
        if layout == "long" and path.stat().st_size > 8 * 2**20 and err_console.is_terminal:
            from .common import _progress

            prog = _progress(path.stat().st_size, f"reading {path.name}")
            with prog:
                task = prog.add_task("read", total=path.stat().st_size)
                return read_measurement(path, layout=layout, progress=lambda done, total: prog.update(
                    task, completed=done), **kwargs)
    elif layout != "auto":
        raise ValueError(f"{path}: --layout {layout} applies to text files (.csv, .tsv, .txt), not {suffix!r}")
    return read_measurement(path, layout=layout, **kwargs)


def _per_file(values, i: int, n_files: int, name: str):
    if len(values) not in (1, n_files):
        raise ValueError(f"give --{name} once, or once per data file")
    return values[i] if len(values) > 1 else values[0]


def _read_observable(path: Path, i: int, n_files: int, start, layout: str, unit, amplitude, width, temperature,
                     vr, header, observable: str, trials):
    """``--observable X``: a per-row table, a long file, one trace per column or row, an instrument export
    (Keithley-style header block) or a cycling table, all into the observable schema (units from the
    headers or --unit, never guessed)."""
    from ..measurement import sniff_layout
    from ..observables import read_instrument_observation, read_observation, read_observation_table

    au = start.amplitude_unit
    temp = _quantity(temperature, "K", "temperature")
    if path.suffix.lower() not in (".csv", ".tsv", ".txt", ".dat"):
        raise ValueError(f"{path}: --observable reads delimited text (.csv, .tsv, .txt, .dat)")
    if layout == "auto":
        layout = sniff_layout(path)
        if layout == "wide":  # a header naming amplitude and the observable: one experiment per row
            layout = "columns" if amplitude else "table"
    if layout == "sequence":
        raise ValueError(f"{path}: --layout sequence reads conductance-like sequences; without --observable")
    if layout == "instrument":
        if amplitude or width:
            raise ValueError(f"{path}: an instrument export holds its own voltages and times; drop --amplitude "
                             "and --width")
        from ..observables import READ_OBSERVABLES, canonical

        if vr is None and canonical(observable) in READ_OBSERVABLES:
            raise ValueError(f"{path}: an instrument record reads at each sample's own voltage; give --v-read, "
                             "the read voltage the model is evaluated at (exact for a read that is ohmic at "
                             "its state)")
        return read_instrument_observation(path, observable, v_read=vr, temperature=temp, model=start)
    if layout == "cycling":
        from ..cycling import read_cycling_table

        if not amplitude or len(amplitude) != 2 or not width:
            raise ValueError(f"{path}: a cycling table holds no pulse conditions; give --amplitude twice (SET, "
                             "then RESET, e.g. --amplitude '1.3 V' --amplitude '-2 V') and --width")
        return read_cycling_table(path, set_amplitude=_quantity(amplitude[0], au, "amplitude"),
                                  reset_amplitude=_quantity(amplitude[1], au, "amplitude"),
                                  width=_quantity(width[0], "s", "width"), observable=observable,
                                  unit=unit or "ohm", v_read=vr, temperature=temp)
    w = _quantity(_per_file(width, i, n_files, "width"), "s", "width") if width else None
    if layout == "table":
        return read_observation_table(path, observable, width=w, unit=unit, amplitude_unit=au, v_read=vr,
                                      temperature=temp, model=start)
    n_trials = float(trials) if trials is not None else None
    if layout == "long":
        return read_observation(path, observable, "long", unit=unit, width=w, trials=n_trials, v_read=vr,
                                temperature=temp, amplitude_unit=au, model=start)
    if layout in ("wide", "columns", "rows"):
        if not amplitude or w is None:
            raise ValueError(f"{path}: a {layout} file holds only values; give --amplitude and --width")
        return read_observation(path, observable, "rows" if layout == "rows" else "columns", unit=unit,
                                amplitude=_quantity(_per_file(amplitude, i, n_files, "amplitude"), au, "amplitude"),
                                width=w, trials=n_trials, v_read=vr, temperature=temp, amplitude_unit=au,
                                header=header, model=start)
    raise ValueError(f"{path}: --layout {layout} does not apply to --observable")


def _with_set(model, text: str):
    """``--set 'a=1e-4,b=0.5 V'``: start values (quantities converted to the parameter's SI unit)."""
    values = {}
    for part in text.split(","):
        if not part.strip():
            continue
        key, sep, val = part.partition("=")
        key = key.strip()
        if not sep or key not in model.params:
            raise ValueError(f"--set: {part.strip()[:60]!r} must be NAME=VALUE with NAME a parameter of "
                             f"{model.name}")
        values[key] = _quantity(val, type(model).parameter(key).unit, f"set {key}")
    return model.with_params(**values)


def _set_names(text: str | None) -> list[str]:
    return [p.partition("=")[0].strip() for p in (text or "").split(",") if p.strip()]


def _gate_entry(card, measurement) -> None:
    """The fit varied V_g row by row (--gate): the card keeps one representative gate voltage."""
    import numpy as np

    from ..catalog import ParameterEntry

    v = measurement["compliance"].values
    lo, hi = float(v.min()), float(v.max())
    card.parameters["V_g"] = ParameterEntry(
        value=float(np.median(v)), unit="V", source="word-line voltage of the map (set row by row during the fit)",
        estimate=f"basis: median word-line voltage of the fitted rows ({lo:g}-{hi:g} V); set it per use")


def _parse_vary(vary: str | None, names: list[str]):
    """``a,b`` (one model) or ``model:a,b;model2:c`` -> (list for a single model, {model: list})."""
    if not vary:
        return None, None
    if ":" not in vary:
        lst = [v.strip() for v in vary.split(",") if v.strip()]
        if len(names) > 1:
            raise ValueError("--vary with several models: give each model its own list, "
                             "e.g. --vary 'ecm.menzel:k0,E_a;baseline.soft_bounds:dw_min' (others keep defaults)")
        return lst, None
    out: dict[str, list[str]] = {}
    for part in vary.split(";"):
        if not part.strip():
            continue
        m, sep, lst = part.partition(":")
        if not sep or m.strip() not in names:
            raise ValueError(f"--vary: {part.strip()!r} must be MODEL:a,b with MODEL one of {names}")
        out[m.strip()] = [v.strip() for v in lst.split(",") if v.strip()]
    return (out.get(names[0]) if len(names) == 1 else None), out


def _sigma(text: str | None, measurement, vr):
    """--sigma as the fit's sigma: '5%' stays relative, a quantity is converted to the data's SI unit."""
    if text is None or text.strip().endswith("%"):
        return text
    from ..observables import observable_of, si_unit
    from ..units import parse_unit, ureg

    obs = observable_of(measurement)
    unit = str(measurement[obs].attrs.get("units", ""))
    q = ureg.Quantity(text) if any(c.isalpha() for c in text) else ureg.Quantity(float(text), unit or "")
    if obs == "conductance" and unit == "S" and q.dimensionality == ureg.A.dimensionality:
        if vr is None and "read_voltage" not in measurement.attrs:
            raise ValueError("--sigma in A for conductance data needs the read voltage (--v-read)")
        v = float(vr if vr is not None else measurement.attrs["read_voltage"])
        return float(q.to("A").magnitude) / v
    target = parse_unit(unit or "dimensionless", "data unit")
    if q.dimensionality != target.dimensionality:
        raise ValueError(f"--sigma {text!r} is not in a unit of the data ({unit or 'dimensionless'}, {obs}; "
                         f"SI {si_unit(obs) or '1'})")
    return float(q.to(target).magnitude)


@app.command()
@handle_errors
def fit(
    data: Annotated[list[Path], typer.Argument(help="Measurement file(s): .csv (wide or long), .tsv, .nc/.h5.")],
    model: Annotated[str, typer.Option(
        help="Model or card to start from; several comma-separated (a,b,c) fits each and ranks them.")] = (
        "vcm.stanford_pku"),
    vary: Annotated[str | None, typer.Option(
        help="Comma-separated parameters to fit (default: the model's); with several models "
             "'model:a,b;model2:c' sets each model's own list (others keep their defaults).")] = None,
    unit: Annotated[str | None, typer.Option(help="Unit of the values in a wide CSV (A, S, uS, ohm, or '').")] = None,
    amplitude: Annotated[list[str] | None, typer.Option(
        help="Pulse amplitude for a wide CSV (once or per file); for --layout sequence once per column.")] = None,
    width: Annotated[list[str] | None, typer.Option(help="Pulse width for a wide CSV, once or per file.")] = None,
    temperature: Annotated[str, typer.Option(help="Ambient temperature for a wide CSV.")] = "300 K",
    v_read: Annotated[str | None, typer.Option("--v-read", help="Read voltage (needed for currents).")] = None,
    layout: Annotated[str, typer.Option(
        help="CSV layout: auto (long if it has trace and pulse columns, instrument if it has an instrument "
             "header block, else wide), wide (one trace per column), rows (one trace per row), long, instrument "
             "(Keithley-style export: each biased sample is one pulse, read at its amplitude), sequence "
             "(columns are consecutive segments of ONE trace, e.g. aihwkit's gong_et_al.csv), map or map-reset "
             "(single-pulse map: one pulse per row, columns device, width, compliance, amplitude, R before, "
             "R after; each row starts from its own state), table (with --observable: one single-pulse experiment "
             "per row), columns (= wide), cycling (with --observable resistance: an endurance table, SET and "
             "RESET alternating; --amplitude SET then RESET).")] = "auto",
    header: Annotated[bool, typer.Option("--header/--no-header", help="Whether a wide/sequence CSV has a header.")] = (
        True),
    holdout: Annotated[str | None, typer.Option(
        help="Hold out data for validation: later:0.2 | traces:PATTERN | every:K | condition:amplitude<0.")] = None,
    initial: Annotated[str, typer.Option(
        help="Start state of each trace: 'first' (the first measured point, taken as exact), 'fit' (fitted per "
             "trace, a nuisance parameter: unbiased under read noise), 'model' (the model's initial state) or "
             "'auto' (first where the model inverts a read, else model).")] = "auto",
    starts: Annotated[int, typer.Option(help="Number of starting points (multi-start).")] = 1,
    restarts: Annotated[int, typer.Option(
        help="Further starts tried only when the fit is not converged.")] = 3,
    sigma: Annotated[str | None, typer.Option(
        help="Measurement noise: a quantity in the data's unit ('2 uS', '1e-7 A' for currents is converted "
             "with the read voltage) or relative ('5%'). Default: estimated per --noise.")] = None,
    noise: Annotated[str, typer.Option(
        help="Noise model: auto/trace (robust estimate per trace), constant, proportional, given.")] = "auto",
    observable: Annotated[str | None, typer.Option(
        help="What the file measured: resistance, current, switching_probability, polarisation, "
             "threshold_voltage, or one the model declares. Read per --layout: auto (long if trace and pulse "
             "columns, instrument if a header block, columns if --amplitude is given, else table: one "
             "experiment per row with amplitude, optional width and trials columns), long, columns, rows, "
             "instrument, cycling, map. Units from the header or --unit.")] = None,
    trials: Annotated[int | None, typer.Option(
        help="Trials per point of a switching probability in a long/wide file without a trials column.")] = None,
    medians: Annotated[bool, typer.Option(
        "--medians", help="Single-pulse map: pool the cells of each (width, amplitude, compliance) condition "
                          "into one row (medians before and after; devicelib.maps.condition_medians).")] = False,
    gate: Annotated[bool, typer.Option(
        "--gate", help="Single-pulse map of 1T1R cells: set the model's access-transistor gate V_g row by row "
                       "from the map's word-line voltage (compliance; devicelib.maps.with_gate).")] = False,
    set_params: Annotated[str | None, typer.Option(
        "--set", help="Start values 'name=value,...' (a quantity or SI), e.g. 'k_T=0.4 mA/V**2,V_th_T=0.5 V': "
                      "e.g. an access transistor for --gate on a card without one.")] = None,
    global_budget: Annotated[int, typer.Option(
        "--global", help="Evaluations of a global stage (Latin hypercube over the parameters' log/linear "
                         "bounds) before the local fit; 0 = none.")] = 0,
    space: Annotated[str, typer.Option(
        help="Residuals in linear or log space, or auto (log when the data span over 100x).")] = "linear",
    loss: Annotated[str, typer.Option(help="Loss: linear, soft_l1 or huber (robust to outliers).")] = "linear",
    report: Annotated[Path | None, typer.Option(help="Write a report (PNG/SVG figures, report.html/.txt) here.")] = (
        None),
    spread: Annotated[str | None, typer.Option(
        help="Comma-separated parameters whose trace-to-trace spread goes into the card's \\[variability] "
             "(with per-pulse and read noise).")] = None,
    traces_are: Annotated[str, typer.Option(help="With --spread: the traces are 'devices' or 'cycles'.")] = (
        "devices"),
    card: Annotated[Path | None, typer.Option(help="Write the fitted card (TOML) here (best model).")] = None,
    name: Annotated[str | None, typer.Option(help="Name of the fitted card.")] = None,
    force: Annotated[bool, typer.Option(
        "--force", help="Write --card even when the fit did not converge and the file exists.")] = False,
    as_json: JsonOpt = False,
):
    """Fit a model to measured pulse data (lmfit), or compare several models, and optionally write a card."""
    from ..fit import fit as run_fit

    names = [m.strip() for m in model.split(",") if m.strip()]
    if not names:
        raise ValueError("--model: give at least one model name")
    layouts = ("auto", "wide", "columns", "rows", "long", "instrument", "sequence", "map", "map-reset", "table",
               "cycling")
    if layout not in layouts:
        raise ValueError(f"--layout must be one of {', '.join(layouts)}, got {layout!r}")
    starts_models = [_model_or_card(n) for n in names]
    if set_params:
        starts_models = [(_with_set(m, set_params), c) for m, c in starts_models]
    start, start_card = starts_models[0]
    if len({m.amplitude_unit for m, _ in starts_models}) > 1:
        raise ValueError("--model: the models are driven by different amplitude units (V and A)")
    vr = _quantity(v_read, "V", "v-read")
    parts = []
    # one file, one model and nothing that works on xarray objects: a read-only measurement without xarray
    light = len(data) == 1 and len(names) == 1 and not (holdout or report or spread or gate or medians or card)
    for i, path in enumerate(data):
        ds = _read(path, i, len(data), start, layout, unit, amplitude, width, temperature, vr, header, observable,
                   trials, light=light)
        if medians:
            from ..maps import condition_medians

            if ds.attrs.get("layout") != "single-pulse map":
                raise ValueError(f"{path}: --medians pools the conditions of a single-pulse map (--layout map)")
            ds = condition_medians(ds)
        if len(data) > 1:
            ds = ds.assign_coords(trace=[f"{path.stem}:{t}" for t in ds["trace"].values])
        parts.append(ds)
    if len(parts) > 1:
        from ..measurement import concat_traces

    measurement = parts[0] if len(parts) == 1 else concat_traces(parts)
    if gate:
        from ..maps import with_gate

        starts_models = [(with_gate(m, measurement), c) for m, c in starts_models]
        start = starts_models[0][0]
    vary_list, vary_by_model = _parse_vary(vary, names)
    if initial not in ("auto", "first", "fit", "model"):
        raise ValueError(f"--initial must be auto, first, fit or model, got {initial!r}")
    kw = {"holdout": holdout, "starts": starts, "loss": loss, "v_read": vr, "initial": initial, "noise": noise,
          "space": space, "restarts": restarts, "sigma": _sigma(sigma, measurement, vr),
          "global_budget": global_budget}
    status = err_console.status("fitting", spinner="dots") if err_console.is_terminal else nullcontext()
    if global_budget > 0 and err_console.is_terminal:
        def progress(done, total, best):
            if done % max(total // 50, 1) == 0 or done == total:
                status.update(f"global stage {done}/{total}  best chi2 {best:.4g}")

        kw["progress"] = progress
    with status:
        if len(names) == 1:
            result = run_fit(start, measurement, vary=vary_list, guess=start_card is None, **kw)
            comparison = None
        else:
            from ..fit.compare import compare

            models = [m for m, _ in starts_models]
            comparison = compare(models, measurement, vary=vary_by_model, guess=True, **kw)
            result = comparison.best
            start_card = dict(zip([m.name for m, _ in starts_models], [c for _, c in starts_models],
                                  strict=True)).get(result.model.name)
    out = result.to_json() if comparison is None else comparison.to_json()
    variability = None
    if spread:
        from ..fit.variability import extract_variability

        est = extract_variability(result.model, measurement, [p.strip() for p in spread.split(",") if p.strip()],
                                  pooled=result, traces_are=traces_are, v_read=vr)
        variability = est.variability
        out["variability"] = est.to_dict()
    if card is not None and not result.converged and Path(card).exists() and not force:
        raise ValueError(f"--card {card}: the fit did not converge ({result.status}); the existing card was "
                         "left unchanged (use --force to overwrite it)")
    if card is not None:
        card_name = name or f"{result.model.family}.fit_{Path(data[0]).stem}"
        c = result.to_card(card_name, provenance={
            "citation": f"devicelib {__version__} fit of {result.model.name} to {', '.join(str(d) for d in data)}",
            "where": "this fit",
            "start": start_card.name if start_card else result.model.name,
        }, start=start_card, variability=variability)
        if gate:
            _gate_entry(c, measurement)
        for key in _set_names(set_params):
            if key not in result.varied and key in c.parameters:  # held at a value the user gave
                c.parameters[key].source, c.parameters[key].estimate = "given with --set, held fixed", None
        c.save(card)
        out["card"] = str(card)
    if report is not None:
        from ..fit.report import write_report

        files = write_report(comparison if comparison is not None else result, report)
        out["report"] = [str(f) for f in files]
    if as_json:
        _emit_json(out)
    else:
        if comparison is not None:
            console.print(comparison.table(), highlight=False, markup=False, soft_wrap=True)
            console.print("")
            console.print(f"best: {result.model.name}", highlight=False)
        console.print(result.summary(), highlight=False, markup=False, soft_wrap=True)
        if variability is not None:
            console.print(f"variability: {variability.to_dict()}", highlight=False, markup=False, soft_wrap=True)
        if card is not None:
            console.print(f"wrote card {card}", highlight=False)
        if report is not None:
            console.print(f"wrote report {Path(report) / 'report.html'}", highlight=False)
    if not result.converged:
        err_console.print(f"warning: fit not converged: {result.status}", highlight=False, markup=False)
