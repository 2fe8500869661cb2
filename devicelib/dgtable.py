"""Read and write conductance-step lookup tables (CrossSim ``dG_*.txt`` layout).

A table gives, for each conductance bin ``G_j``, the distribution of the
conductance change ``dG`` caused by one programming pulse, as its inverse CDF
sampled at points ``c_i``: ``dG[i, j]`` is the ``c_i`` quantile of the step at
``G_j``. The text layout (as in sandialabs/cross-sim-data ``lookup_tables/``)::

    <one free-text header line>
    G_1, G_2, ..., G_M                  # conductance bins, S
    c_1, c_2, ..., c_K                  # CDF points in [0, 1], non-decreasing
    <blank lines are ignored>
    dG[1, 1], ..., dG[1, M]             # K rows of M values, S
    ...
    dG[K, 1], ..., dG[K, M]

Values are separated by commas and/or whitespace (tabs). In memory a table is
an ``xarray.Dataset`` with the variable ``dG`` on dims ``(cdf, g)``; units are
in the ``units`` attributes (``S`` for ``g`` and ``dG``, ``1`` for ``cdf``)
and the header line in ``attrs["header"]``.
"""

from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path

import numpy as np

from ._xrcompat import xr  # xarray imported on first use, with dask deferred

DEFAULT_HEADER = "1st Row = Gbins, 2nd Row = CDF Points, 3rd row onward =  dG matrix (rows= CDF, columns = Gbins)"
_SPLIT = re.compile(r"[,\s]+")


class DGTableError(ValueError):
    """A dG table file is malformed; the message names the file and the line."""


def _parse_row(text: str, where: str) -> np.ndarray:
    tokens = [t for t in _SPLIT.split(text.strip()) if t]
    try:
        values = np.array([float(t) for t in tokens], dtype=float)
    except ValueError:
        bad = next(t for t in tokens if not _is_float(t))
        raise DGTableError(f"{where}: cannot read {bad[:60]!r} as a number") from None
    if not np.all(np.isfinite(values)):
        raise DGTableError(f"{where}: non-finite value (nan or inf)")
    return values


def _is_float(token: str) -> bool:
    try:
        float(token)
    except ValueError:
        return False
    return True


def read_dg_table(path: str | os.PathLike) -> xr.Dataset:
    """Read a dG lookup table into a Dataset with ``dG(cdf, g)`` (S).

    Raises :class:`DGTableError` naming the file and the line for a missing
    file, a non-numeric value, rows of the wrong length, a dG row count that
    differs from the number of CDF points, or CDF points that are not
    non-decreasing in [0, 1].
    """
    from .textio import as_path

    path = as_path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise DGTableError(f"{path}: no such dG table file") from None
    except UnicodeDecodeError as exc:
        raise DGTableError(f"{path}: not a text file ({exc.reason})") from None
    except OSError as exc:
        raise DGTableError(f"{path}: cannot read ({exc.strerror or exc})") from None
    lines = text.splitlines()
    if not lines:
        raise DGTableError(f"{path}: empty file (expected a header line, G bins, CDF points, dG rows)")
    header = lines[0].strip()
    rows: list[tuple[int, np.ndarray]] = []
    for lineno, line in enumerate(lines[1:], start=2):
        if line.strip():
            rows.append((lineno, _parse_row(line, f"{path}:{lineno}")))
    if len(rows) < 3:
        raise DGTableError(
            f"{path}: expected a row of G bins, a row of CDF points and at least one dG row after the header, "
            f"found {len(rows)} data line(s)"
        )
    (g_line, g), (c_line, cdf) = rows[0], rows[1]
    if g.size < 1:
        raise DGTableError(f"{path}:{g_line}: no G bins")
    if np.any(np.diff(g) <= 0):
        k = int(np.flatnonzero(np.diff(g) <= 0)[0])
        raise DGTableError(f"{path}:{g_line}: G bins must increase strictly (bin {k + 1} -> {k + 2})")
    if np.any(cdf < 0) or np.any(cdf > 1):
        raise DGTableError(f"{path}:{c_line}: CDF points must lie in [0, 1]")
    if np.any(np.diff(cdf) < 0):
        k = int(np.flatnonzero(np.diff(cdf) < 0)[0])
        raise DGTableError(f"{path}:{c_line}: CDF points must be non-decreasing (point {k + 1} -> {k + 2})")
    body = rows[2:]
    for lineno, row in body:
        if row.size != g.size:
            raise DGTableError(
                f"{path}:{lineno}: dG row has {row.size} values, expected {g.size} (one per G bin)"
            )
    if len(body) != cdf.size:
        raise DGTableError(
            f"{path}: {len(body)} dG rows (lines {body[0][0]}-{body[-1][0]}), expected {cdf.size} "
            f"(one per CDF point on line {c_line})"
        )
    dg = np.vstack([row for _, row in body])
    return xr.Dataset(
        {"dG": (("cdf", "g"), dg, {"units": "S", "long_name": "conductance change per pulse (quantile)"})},
        coords={
            "cdf": ("cdf", cdf, {"units": "1", "long_name": "cumulative probability"}),
            "g": ("g", g, {"units": "S", "long_name": "conductance bin"}),
        },
        attrs={"header": header, "source": str(path)},
    )


def _fmt(values: np.ndarray) -> str:
    # 17 significant digits round-trip every float64 exactly
    return ",".join(f"{v:.17g}" for v in np.asarray(values, dtype=float))


def write_dg_table(ds: xr.Dataset, path: str | os.PathLike) -> Path:
    """Write ``ds`` (``dG`` on dims ``(cdf, g)``, S) in the layout :func:`read_dg_table` reads.

    Written atomically: a temporary file in the same folder, then
    ``os.replace``, so readers never see a half-written table.
    """
    path = Path(path)
    if "dG" not in ds:
        raise ValueError(f"write_dg_table({path}): the Dataset has no 'dG' variable")
    da = ds["dG"]
    if set(da.dims) != {"cdf", "g"}:
        raise ValueError(f"write_dg_table({path}): dG must have dims ('cdf', 'g'), got {da.dims}")
    for name in ("g", "dG"):
        unit = ds[name].attrs.get("units", "S")
        if unit != "S":
            raise ValueError(f"write_dg_table({path}): {name} must be in S, has units {unit!r}")
    dg = da.transpose("cdf", "g").values
    g = ds["g"].values
    cdf = ds["cdf"].values
    if not (np.all(np.isfinite(dg)) and np.all(np.isfinite(g)) and np.all(np.isfinite(cdf))):
        raise ValueError(f"write_dg_table({path}): non-finite values")
    header = str(ds.attrs.get("header", DEFAULT_HEADER)).replace("\n", " ")
    lines = [header, _fmt(g), _fmt(cdf), ""]
    lines += [_fmt(row) for row in dg]
    text = "\n".join(lines) + "\n"
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        mask = os.umask(0)
        os.umask(mask)
        os.chmod(tmp, 0o666 & ~mask)  # mkstemp creates 0600: follow the umask like any new file
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def dg_statistics(ds: xr.Dataset) -> xr.Dataset:
    """Median, mean and standard deviation of the step at each G bin (S).

    The mean and standard deviation integrate the quantile function over the
    CDF (trapezoid), ``E[dG] = int_0^1 dG(c) dc``; the median interpolates it
    at c = 0.5.
    """
    dg = ds["dG"].transpose("cdf", "g").values
    cdf = ds["cdf"].values
    span = cdf[-1] - cdf[0]
    if span <= 0:
        raise ValueError("dg_statistics: the CDF points span zero probability")
    mean = np.trapezoid(dg, cdf, axis=0) / span
    var = np.trapezoid((dg - mean) ** 2, cdf, axis=0) / span
    median = np.array([np.interp(0.5, cdf, dg[:, j]) for j in range(dg.shape[1])])
    attrs = {"units": "S"}
    return xr.Dataset(
        {"median": ("g", median, attrs), "mean": ("g", mean, attrs), "std": ("g", np.sqrt(var), attrs)},
        coords={"g": ds["g"]},
    )
