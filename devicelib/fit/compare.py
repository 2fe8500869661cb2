"""Fit several models to the same data and rank them.

Every model is fitted with the same data, the same noise weights (estimated
from the data, not from a model) and the same hold-out, so chi-square,
AIC = n ln(chi2/n) + 2k and BIC = n ln(chi2/n) + k ln(n) (lmfit's
definitions) are comparable. Models are ranked by AIC; the table also gives
dAIC, the Akaike weight exp(-dAIC/2) / sum, BIC and the held-out RMSE.
A model whose fit is not converged or ill-conditioned is listed separately with
its status: it gets no rank and no Akaike weight (weights are computed among
converged fits only), and it becomes ``best`` only when no fit converged.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .._xrcompat import xr  # xarray imported on first use (not by the fit command)
from .core import FitResult, fit
from .errors import FitError


@dataclass
class Comparison:
    results: dict[str, FitResult]
    errors: dict[str, str] = field(default_factory=dict)
    holdout: str | None = None

    def ranking(self) -> list[dict[str, Any]]:
        rows = []
        for name, r in self.results.items():
            rows.append({
                "model": name, "k": r.nvarys, "ndata": r.ndata, "chisqr": r.chisqr, "redchi": r.redchi,
                "aic": r.aic, "bic": r.bic, "rmse": r.rmse, "unit": r.rmse_unit,
                "holdout_rmse": r.holdout_rmse, "converged": r.converged, "status": r.status,
                "elapsed_s": r.elapsed,
            })
        rows.sort(key=lambda row: (not row["converged"], row["aic"]))
        # AIC weights only among converged fits: an unconverged fit has no likelihood to weigh against
        ok = [r for r in rows if r["converged"]]
        if ok:
            aic0 = min(r["aic"] for r in ok)
            bic0 = min(r["bic"] for r in ok)
            w = np.array([np.exp(-0.5 * (r["aic"] - aic0)) for r in ok])
            w = w / w.sum()
            for r, wi in zip(ok, w, strict=True):
                r["daic"] = r["aic"] - aic0
                r["dbic"] = r["bic"] - bic0
                r["akaike_weight"] = float(wi)
        for i, r in enumerate(rows):
            r["rank"] = i + 1 if r["converged"] else None
            r.setdefault("daic", None)
            r.setdefault("dbic", None)
            r.setdefault("akaike_weight", None)
        return rows

    @property
    def best(self) -> FitResult:
        rows = self.ranking()
        if not rows:
            raise FitError("no model could be fitted: " + "; ".join(f"{k}: {v}" for k, v in self.errors.items()))
        return self.results[rows[0]["model"]]

    def to_json(self) -> dict[str, Any]:
        return {
            "ranking": self.ranking(),
            "holdout": self.holdout,
            "fits": {k: r.to_json() for k, r in self.results.items()},
            "errors": self.errors,
        }

    def table(self) -> str:
        rows = self.ranking()
        unit = rows[0]["unit"] if rows else ""
        head = (f"{'rank':>4} {'model':<26} {'k':>3} {'AIC':>10} {'dAIC':>8} {'weight':>7} {'BIC':>10} "
                f"{'RMSE':>10} {'held-out':>10}  status")
        lines = [head, "-" * len(head)]
        for r in [r for r in rows if r["converged"]]:
            ho = f"{r['holdout_rmse']:.4g}" if r["holdout_rmse"] is not None else "-"
            lines.append(
                f"{r['rank']:>4} {r['model']:<26} {r['k']:>3} {r['aic']:>10.2f} {r['daic']:>8.2f} "
                f"{r['akaike_weight']:>7.3f} {r['bic']:>10.2f} {r['rmse']:>10.4g} {ho:>10}  ok"
            )
        bad = [r for r in rows if not r["converged"]]
        if bad:
            lines.append("not converged (not ranked, no weight):")
        for r in bad:
            ho = f"{r['holdout_rmse']:.4g}" if r["holdout_rmse"] is not None else "-"
            lines.append(f"   - {r['model']:<26} {r['k']:>3} {r['aic']:>10.2f} {'-':>8} {'-':>7} {r['bic']:>10.2f} "
                         f"{r['rmse']:>10.4g} {ho:>10}  {r['status']}")
        for name, msg in self.errors.items():
            lines.append(f"   - {name:<26} failed: {msg}")
        lines.append(f"RMSE in {unit or 'weight units'}; hold-out: {self.holdout or 'none'}")
        return "\n".join(lines)


def compare(models, data: xr.Dataset, *, vary: dict[str, list[str] | None] | None = None, holdout=None,
            **fit_kwargs) -> Comparison:
    """Fit each of ``models`` (names or instances) to ``data`` and rank them.

    ``vary`` maps a model name to the parameters to fit (default: each model's
    default). Other keyword arguments go to :func:`devicelib.fit.fit`.
    A model that cannot be fitted (e.g. a physics model on normalised data)
    is listed in ``errors`` with the reason instead of stopping the comparison.
    """
    results: dict[str, FitResult] = {}
    errors: dict[str, str] = {}
    for m in models:
        name = m if isinstance(m, str) else m.name
        try:
            r = fit(m, data, (vary or {}).get(name), holdout=holdout, **fit_kwargs)
        except (FitError, ValueError, KeyError) as exc:
            errors[name] = str(exc)
            continue
        results[name] = r
    desc = None
    for r in results.values():
        if r.holdout:
            desc = r.holdout["description"]
            break
    return Comparison(results=results, errors=errors, holdout=desc)
