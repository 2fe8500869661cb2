"""Fit reports: data against model with residuals (PNG and SVG) and a readable HTML/text report.

``write_report(result_or_comparison, directory)`` writes, for each fitted model
``<model>.png`` and ``<model>.svg`` (top: measured points and model; held-out
points marked; bottom: residuals), ``report.html`` and ``report.txt`` with the
fit statistics, parameter table (values, standard errors, units), strong
correlations, the hold-out used and its error. Files are written atomically.
"""

from __future__ import annotations

import html
import os
import tempfile
from pathlib import Path

import numpy as np

from ..units import format_unit
from .compare import Comparison
from .core import FitResult

MAX_TRACES_PLOTTED = 12


def _atomic_bytes(path: Path, write) -> None:
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    os.close(fd)
    try:
        write(tmp)
        mask = os.umask(0)
        os.umask(mask)
        os.chmod(tmp, 0o666 & ~mask)  # mkstemp creates 0600: follow the umask like any new file
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def plot_fit(result: FitResult, stem: Path) -> list[Path]:
    """Data vs model and residuals; writes ``stem``.png and ``stem``.svg."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    obs = result.observed.values
    pred = result.prediction.values
    res = result.residuals.values
    fitm = result.fit_mask.values
    hold = np.isfinite(res) & ~fitm
    labels = [str(t) for t in result.observed["trace"].values]
    ntr = obs.shape[0]
    idx = np.unique(np.linspace(0, ntr - 1, min(ntr, MAX_TRACES_PLOTTED)).astype(int))
    scale, unit = (1.0, "weight") if result.normalised else (1e6, "uS")
    fig, (ax, axr) = plt.subplots(2, 1, figsize=(8, 6), sharex=True, gridspec_kw={"height_ratios": [3, 1.3]})
    # traces side by side along one axis: offset each trace by the pulses before it
    offset = 0
    ticks = []
    for n, i in enumerate(idx):
        x = np.arange(obs.shape[1]) + offset
        ok = np.isfinite(obs[i])
        col = f"C{n % 10}"
        ax.plot(x[ok & ~hold[i]], obs[i][ok & ~hold[i]] * scale, ".", ms=2, color=col, alpha=0.35,
                label="measured" if n == 0 else None)
        if hold[i].any():
            ax.plot(x[hold[i]], obs[i][hold[i]] * scale, "x", ms=2.5, color="0.3", alpha=0.6,
                    label="held out" if not any(hold[j].any() for j in idx[:n]) else None)
        ax.plot(x[ok], pred[i][ok] * scale, "-", lw=1.0, color="k", label="model" if n == 0 else None)
        axr.plot(x[ok], res[i][ok] * scale, ".", ms=1.5, color=col, alpha=0.5)
        ticks.append((offset + ok.sum() / 2, labels[i]))
        offset += int(ok.sum()) + max(2, int(0.02 * obs.shape[1]))
    axr.axhline(0, color="k", lw=0.6)
    ax.set_ylabel(f"conductance ({unit})" if not result.normalised else "weight")
    axr.set_ylabel("model - data")
    axr.set_xlabel("pulse" + (f" (traces side by side; {len(idx)} of {ntr} shown)" if ntr > 1 else ""))
    ax.legend(loc="best", fontsize=8)
    title = f"{result.model.name}: RMSE {result.rmse * scale:.3g} {unit}"
    if result.holdout:
        title += f", held-out RMSE {result.holdout['rmse'] * scale:.3g}"
    if not result.converged:
        title += "  [NOT CONVERGED]"
    ax.set_title(title, fontsize=10)
    fig.tight_layout()
    out = []
    for ext in ("png", "svg"):
        path = stem.with_suffix(f".{ext}")
        _atomic_bytes(path, lambda tmp, ext=ext: fig.savefig(tmp, dpi=120, format=ext))
        out.append(path)
    plt.close(fig)
    return out


def _param_rows(r: FitResult) -> list[tuple[str, str, str, str, str]]:
    rows = []
    for n, v in r.values.items():
        e = r.stderr.get(n)
        val = f"{v:.6g}" if np.ndim(v) == 0 else f"array[{np.size(v)}]"
        err = f"{e:.3g}" if e is not None else ("-" if n not in r.varied else "not determined")
        rows.append((n, val, err, format_unit(r.units[n]) or "-", "fitted" if n in r.varied else "held"))
    return rows


def _text(r: FitResult) -> str:
    return r.summary()


def _html_fit(r: FitResult, fig: str) -> str:
    ok = "ok" if r.converged else "bad"
    stats = [
        ("status", r.status), ("data", r.data_source), ("method", r.method),
        ("points fitted", r.ndata), ("parameters varied", r.nvarys), ("evaluations", r.nfev),
        ("starts", r.n_starts), ("RMSE", f"{r.rmse:.4g} {r.rmse_unit or '(weight)'}"),
        ("noise sigma (mean)", f"{r.sigma:.4g} {r.rmse_unit or '(weight)'}"),
        ("chi-square", f"{r.chisqr:.5g}"), ("reduced chi-square", f"{r.redchi:.4g}"),
        ("AIC", f"{r.aic:.2f}"), ("BIC", f"{r.bic:.2f}"),
        ("condition number", f"{r.condition:.3g}" if r.condition is not None else "-"),
        ("time", f"{r.elapsed:.3g} s"),
    ]
    if r.holdout:
        stats += [("hold-out", r.holdout["description"]), ("held-out points", r.holdout["ndata"]),
                  ("held-out RMSE", f"{r.holdout['rmse']:.4g} {r.rmse_unit or '(weight)'}"),
                  ("held-out chi2 per point", f"{r.holdout['chisqr_per_point']:.3g}")]
    s = [f"<h2>{html.escape(r.model.name)}</h2>", f'<p class="{ok}">{html.escape(r.status)}</p>',
         f'<img src="{html.escape(fig)}" alt="data and model" width="720">', "<table>"]
    s += [f"<tr><th>{html.escape(str(k))}</th><td>{html.escape(str(v))}</td></tr>" for k, v in stats]
    s += ["</table>", "<h3>Parameters</h3>",
          "<table><tr><th>name</th><th>value</th><th>stderr</th><th>unit</th><th></th></tr>"]
    s += ["<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in row) + "</tr>" for row in _param_rows(r)]
    s.append("</table>")
    strong = [(a, b, c) for a, row in r.correlations.items() for b, c in row.items() if a < b and abs(c) > 0.5]
    if strong:
        s.append("<h3>Correlations (|r| &gt; 0.5)</h3><table>")
        s += [f"<tr><td>{html.escape(a)} / {html.escape(b)}</td><td>{c:+.3f}</td></tr>" for a, b, c in strong]
        s.append("</table>")
    return "\n".join(s)


_CSS = ("body{font-family:sans-serif;max-width:960px;margin:2em auto}table{border-collapse:collapse;margin:1em 0}"
        "td,th{border:1px solid #ccc;padding:2px 8px;text-align:left}.ok{color:#070}.bad{color:#b00;"
        "font-weight:bold}")


def write_report(obj: FitResult | Comparison, directory: str | os.PathLike, title: str = "devicelib fit report"
                 ) -> list[Path]:
    """Write figures and ``report.html`` / ``report.txt`` for a fit or a comparison into ``directory``."""
    from ..catalog import atomic_write_text

    out_dir = Path(directory)
    out_dir.mkdir(parents=True, exist_ok=True)
    results = obj.results if isinstance(obj, Comparison) else {obj.model.name: obj}
    written: list[Path] = []
    parts = [f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
             f"<style>{_CSS}</style></head><body><h1>{html.escape(title)}</h1>"]
    text = [title, "=" * len(title), ""]
    if isinstance(obj, Comparison):
        rows = obj.ranking()
        parts.append("<h2>Ranking</h2><table><tr>" + "".join(
            f"<th>{h}</th>" for h in ("rank", "model", "k", "AIC", "dAIC", "Akaike weight", "BIC", "RMSE",
                                      "held-out RMSE", "status")) + "</tr>")
        for r in rows:
            ho = f"{r['holdout_rmse']:.4g}" if r["holdout_rmse"] is not None else "-"
            parts.append("<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in (
                r["rank"] or "-", r["model"], r["k"], f"{r['aic']:.2f}",
                "-" if r["daic"] is None else f"{r['daic']:.2f}",
                "-" if r["akaike_weight"] is None else f"{r['akaike_weight']:.3f}",
                f"{r['bic']:.2f}", f"{r['rmse']:.4g}", ho, r["status"])) + "</tr>")
        parts.append("</table>")
        parts.append(f"<p>Hold-out: {html.escape(obj.holdout or 'none')}</p>")
        for name, msg in obj.errors.items():
            parts.append(f'<p class="bad">{html.escape(name)}: {html.escape(msg)}</p>')
        text += [obj.table(), ""]
    for name, r in results.items():
        stem = out_dir / name.replace("/", "_").replace(".", "_")
        written += plot_fit(r, stem)
        parts.append(_html_fit(r, stem.with_suffix(".png").name))
        text += [_text(r), ""]
    parts.append("</body></html>")
    atomic_write_text(out_dir / "report.html", "\n".join(parts))
    atomic_write_text(out_dir / "report.txt", "\n".join(text))
    written += [out_dir / "report.html", out_dir / "report.txt"]
    return written
