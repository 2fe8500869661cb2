"""Helpers of ``devicelib compare`` (collect, convert, format, plot).

Figures of merit of cards and literature records, side by side, in chosen units.

Cards are simulated at a stated pulse condition (:func:`devicelib.metrics.card_metrics`);
records give the figures their paper reports (:mod:`devicelib.records`). Every
value is held in SI and converted for display by pint; a unit of the wrong
dimension is an error, never a silent mix.
"""

from __future__ import annotations

import csv
import io
import math
from contextlib import nullcontext
from pathlib import Path

from ..metrics import METRICS, DeviceMetrics, MetricError
from .common import console


class CompareError(ValueError):
    """Bad input to ``compare`` (unknown name, bad --units, nothing to compare)."""


# ---------------------------------------------------------------------------
# what to compare
# ---------------------------------------------------------------------------

def resolve(name: str):
    """A card or a record by name or path: ("card", Card) or ("record", Record)."""
    from ..catalog import find_card, load_card
    from ..records import find_record, load_record

    rec_path = find_record(name)
    card_path = None if rec_path is not None and str(name).startswith("lit.") else find_card(name)
    if rec_path is not None and card_path is not None and card_path != rec_path:
        raise CompareError(f"{name!r} names both a card ({card_path}) and a record ({rec_path}); give a path")
    if rec_path is not None:
        return "record", load_record(rec_path)
    if card_path is not None:
        return "card", load_card(card_path)
    raise CompareError(f"{name!r} is neither a card nor a record (see `devicelib catalog` and models/records/)")


def collect(names=(), family: str | None = None, all_: bool = False, warn=None, progress=None,
            **condition) -> list[DeviceMetrics]:
    """Metrics of the named cards/records, or of a whole family, or of everything registered.

    ``condition`` goes to :func:`devicelib.metrics.card_metrics` (amplitude,
    amplitude_down, width, temperature, v_read, pulses, seed, tolerance).
    A card that fails to simulate is an error when named, a warning (``warn``)
    when it comes from --family/--all. ``progress(n_items)`` (optional) returns a context
    manager with ``advance()``, called once per card or record.
    """
    from ..catalog import list_catalog
    from ..metrics import card_metrics
    from ..records import list_records, record_metrics

    items: list[tuple[str, object, bool]] = [(*resolve(n), True) for n in names]
    if family or all_:
        fam = family.lower() if family else None
        for card in list_catalog():
            try:
                cfam = card.model_class().family
            except Exception as exc:  # a card whose model is not registered (another family being added)
                if warn:
                    warn(f"skipping card {card.name}: {exc}")
                continue
            if fam is None or cfam == fam:
                items.append(("card", card, False))
        for rec in list_records():
            if fam is None or rec.family == fam:
                items.append(("record", rec, False))
    out: list[DeviceMetrics] = []
    seen = set()
    with progress(len(items)) if progress is not None else nullcontext() as prog:
        for kind, obj, named in items:
            key = (kind, obj.name)
            if prog is not None:
                prog.advance()
            if key in seen:
                continue
            seen.add(key)
            if kind == "record":
                out.append(record_metrics(obj))
                continue
            try:
                out.append(card_metrics(obj, **condition))
            except (MetricError, ValueError, ArithmeticError, FloatingPointError) as exc:
                if named:
                    raise CompareError(f"{obj.name}: cannot compute metrics: {exc}") from None
                if warn:
                    warn(f"skipping card {obj.name}: {type(exc).__name__}: {exc}")
    if not out:
        raise CompareError("nothing to compare: give card or record names, --family or --all")
    return out


# ---------------------------------------------------------------------------
# units
# ---------------------------------------------------------------------------

def parse_units(spec: str | None) -> dict[str, str]:
    """``"energy=fJ,time=ns"`` -> {metric name: display unit} for every metric, checked by pint.

    A key is a category (energy, time, conductance, area, energy_per_area,
    ratio, count, accuracy) or a metric name (which wins over its category).
    A unit of another dimension than the metric's raises :class:`devicelib.units.UnitError`.
    """
    from ..units import UnitError, parse_unit

    chosen = {name: info.unit for name, info in METRICS.items()}
    if not spec:
        return chosen
    categories = {info.category for info in METRICS.values()}
    pairs = []
    for part in spec.split(","):
        part = part.strip()
        if not part:
            continue
        if "=" not in part:
            raise UnitError(f"--units: expected key=unit (e.g. energy=fJ), got {part!r}")
        key, unit = (s.strip() for s in part.split("=", 1))
        if key not in categories and key not in METRICS:
            raise UnitError(f"--units: unknown key {key!r}; use a category {sorted(categories)} or a metric name")
        pairs.append((key, unit))
    # categories first, then metric names override
    for key, unit in sorted(pairs, key=lambda kv: kv[0] in METRICS):
        targets = [key] if key in METRICS else [n for n, i in METRICS.items() if i.category == key]
        u = parse_unit(unit, f"--units {key}")
        for name in targets:
            si = parse_unit(METRICS[name].unit or "dimensionless", name)
            if u.dimensionality != si.dimensionality:
                raise UnitError(
                    f"--units {key}={unit}: {unit!r} ({u.dimensionality}) is incompatible with {name} "
                    f"in {METRICS[name].unit or 'dimensionless'} ({si.dimensionality})"
                )
            chosen[name] = unit
    return chosen


def convert_value(value: float | None, si_unit: str, unit: str) -> float | None:
    """SI value -> display unit, by pint."""
    if value is None:
        return None
    if unit == si_unit:
        return value
    from ..units import convert

    if math.isinf(value):
        return value
    return float(convert(value, si_unit or "dimensionless", unit or "dimensionless"))


# ---------------------------------------------------------------------------
# tables
# ---------------------------------------------------------------------------

def columns_for(rows: list[DeviceMetrics], metrics: list[str] | None = None) -> list[str]:
    if metrics:
        bad = [m for m in metrics if m not in METRICS]
        if bad:
            raise CompareError(f"--metrics: unknown metric(s) {bad}; known: {list(METRICS)}")
        return list(metrics)
    return [m for m in METRICS if any(r.value(m) is not None for r in rows)]


def cell(row: DeviceMetrics, name: str, unit: str) -> str:
    m = row.metrics.get(name)
    if m is None or m.value is None:
        return ""
    v = convert_value(m.value, m.unit, unit)
    text = "inf" if math.isinf(v) else (f"{v:.0f}" if name in ("states", "endurance") else f"{v:.3g}")
    prefix = {"upper": "<", "lower": ">"}.get(m.bound or "", "")
    if m.estimate:
        prefix = "~" + prefix
    return prefix + text


def header(name: str, unit: str) -> str:
    from ..units import format_unit

    u = format_unit(unit) if unit not in ("", "%") else unit
    return f"{METRICS[name].label} [{u}]" if u else METRICS[name].label


def as_rows(rows: list[DeviceMetrics], cols: list[str], units: dict[str, str]) -> tuple[list[str], list[list[str]]]:
    head = ["name", "kind", "family"] + [header(c, units[c]) for c in cols]
    body = [[r.name, "model" if r.kind == "card" else r.kind, r.family] + [cell(r, c, units[c]) for c in cols]
            for r in rows]
    return head, body


def to_csv(rows, cols, units) -> str:
    head, body = as_rows(rows, cols, units)
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow([*head, "condition", "citation"])
    for r, line in zip(rows, body, strict=True):
        w.writerow([*line, r.condition, r.citation])
    return buf.getvalue()


def to_markdown(rows, cols, units) -> str:
    head, body = as_rows(rows, cols, units)

    def esc(s):
        return str(s).replace("|", "\\|") if s != "" else "—"

    lines = ["| " + " | ".join(head) + " |", "|" + "|".join("---" for _ in head) + "|"]
    lines += ["| " + " | ".join(esc(c) for c in line) + " |" for line in body]
    lines.append("")
    lines.append("`<` upper bound, `>` lower bound, `~` estimate (see the record), — not available.")
    lines.append("")
    for r in rows:
        lines.append(f"- **{r.name}** ({'simulated at ' + r.condition if r.kind == 'card' else r.condition}): "
                     f"{r.citation}")
    return "\n".join(lines) + "\n"


def to_json(rows, cols, units) -> dict:
    out = []
    for r in rows:
        d = r.to_dict()
        for name, m in d["metrics"].items():
            unit = units.get(name, m["unit"])
            m["si_value"], m["si_unit"] = m["value"], m["unit"]
            m["value"], m["unit"] = convert_value(m["value"], m["unit"], unit), unit
        out.append(d)
    return {"columns": cols, "units": {c: units[c] for c in cols}, "rows": out}


def print_table(rows, cols, units) -> None:
    from rich.table import Table

    head, body = as_rows(rows, cols, units)
    table = Table(title=f"{len(rows)} devices", caption="< upper bound, > lower bound, ~ estimate")
    for h in head:
        table.add_column(h, overflow="fold")
    for line in body:
        table.add_row(*[c or "—" for c in line])
    from rich.console import Console

    out = console if console.is_terminal else Console(width=240)
    out.print(table)
    for r in rows:
        where = f"simulated at {r.condition}" if r.kind == "card" else r.condition
        out.print(f"{r.name}: {where}; {r.citation}", highlight=False, markup=False)


# ---------------------------------------------------------------------------
# plot
# ---------------------------------------------------------------------------

def plot(rows: list[DeviceMetrics], path: str | Path, units: dict[str, str]) -> Path:
    """Energy per update versus update time by family (log axes) and normalised curves, one PNG/SVG/PDF."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    from ..units import format_unit

    path = Path(path)
    if path.suffix.lower() not in (".png", ".svg", ".pdf"):
        raise CompareError(f"--plot: use a .png, .svg or .pdf file, got {path.name!r}")
    e_unit, t_unit = units["energy_per_update"], units["update_time"]
    fams = sorted({r.family for r in rows})
    cmap = plt.get_cmap("tab10")
    color = {f: cmap(i % 10) for i, f in enumerate(fams)}
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(12, 5))
    plotted = set()
    for r in rows:
        e = r.metrics.get("energy_per_update")
        t = r.metrics.get("update_time")
        if t is None or t.value is None:
            t = r.metrics.get("switching_time")
        if e is None or e.value is None or t is None or t.value is None or e.value <= 0 or t.value <= 0:
            continue
        x, y = convert_value(t.value, t.unit, t_unit), convert_value(e.value, e.unit, e_unit)
        bound = e.bound or t.bound
        marker = "o" if r.kind == "card" else "s"
        ax1.scatter([x], [y], s=60, marker=marker, color=color[r.family],
                    facecolors="none" if (bound or e.estimate or t.estimate) else color[r.family],
                    label=r.family if r.family not in plotted else None, zorder=3)
        plotted.add(r.family)
        tag = ("<" if bound == "upper" else ">" if bound == "lower" else "") + r.name.split(".")[-1]
        ax1.annotate(tag, (x, y), textcoords="offset points", xytext=(5, 4), fontsize=7)
    ax1.set_xscale("log")
    ax1.set_yscale("log")
    ax1.set_xlabel(f"update time [{format_unit(t_unit)}]")
    ax1.set_ylabel(f"energy per update [{format_unit(e_unit)}]")
    ax1.set_title("energy vs update time (o model, □ record; open = bound/estimate)", fontsize=9)
    ax1.grid(True, which="both", alpha=0.3)
    if plotted:
        ax1.legend(title="family", fontsize=8)
    else:
        ax1.text(0.5, 0.5, "no device with both energy and time", transform=ax1.transAxes, ha="center")
    ncurves = 0
    cmap2 = plt.get_cmap("tab20")
    for r in rows:
        if not r.curves:
            continue
        ls = "-" if r.kind == "card" else "--"
        segs = []
        for key, x0 in (("ltp", 0.0), ("ltd", 1.0)):
            g = r.curves.get(key)
            if g is None:
                continue
            g = np.asarray(g, dtype=float)
            segs.append((x0 + np.linspace(0, 1, g.size), g))
        allg = np.concatenate([s[1] for s in segs])
        lo, hi = allg.min(), allg.max()
        if hi <= lo:
            continue
        for k, (x, g) in enumerate(segs):
            ax2.plot(x, (g - lo) / (hi - lo), ls, color=cmap2(ncurves % 20), lw=1.2,
                     label=r.name if k == 0 else None)
        ncurves += 1
    ax2.set_xlabel("pulse number / pulses per train (potentiation 0-1, depression 1-2)")
    ax2.set_ylabel("normalised conductance (G - Gmin)/(Gmax - Gmin)")
    ax2.set_title("update curves (solid: simulated card, dashed: NeuroSim form of a record)", fontsize=9)
    ax2.grid(True, alpha=0.3)
    if ncurves:
        ax2.legend(fontsize=6, ncol=2)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=130)
    plt.close(fig)
    return path
