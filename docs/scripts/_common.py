"""Boilerplate shared by the docs/scripts/fit_*.py scripts that write a fitted card by hand: the command line,
the figure backend and the standard lines of the card's ``[fit]`` tables.

The scripts build their cards as text (not with ``FitResult.to_card``) because they fit with
``scipy.optimize.least_squares`` around a simulation of their own and write tables of their own (held-out
branches, per-bake statistics); only the lines every such card shares live here. The scripts put this folder
on ``sys.path`` so that they also import when loaded by file location (as the tests do).
"""

from __future__ import annotations

import argparse
import datetime
from pathlib import Path

from devicelib import __version__


def parse_args(doc: str, argv, out: Path, data: Path | None = None, data_help: str | None = None):
    """``--out`` (the card to write), ``--data`` when the script reads one file or folder, and ``--no-figure``;
    the description is the first line of the script's docstring."""
    ap = argparse.ArgumentParser(description=doc.splitlines()[0])
    if data is not None:
        ap.add_argument("--data", type=Path, default=data, help=data_help)
    ap.add_argument("--out", type=Path, default=out)
    ap.add_argument("--no-figure", action="store_true", help="write the card only (no figure under docs/figures)")
    return ap.parse_args(argv)


def pyplot():
    """matplotlib.pyplot on the non-interactive Agg backend (the scripts run headless)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def save_figure(fig, path: Path, dpi: int = 120) -> None:
    """Tight layout, write, close (the scripts make several figures in one process)."""
    import matplotlib.pyplot as plt

    fig.tight_layout()
    fig.savefig(path, dpi=dpi)
    plt.close(fig)


def toml_bool(x) -> str:
    """A Python or numpy truth value as a TOML boolean."""
    return str(bool(x)).lower()


def stamp() -> str:
    """The closing lines of a ``[fit]`` table: today's date and the devicelib version that wrote it."""
    return f'date = "{datetime.date.today().isoformat()}"\ndevicelib_version = "{__version__}"'


def rmse_table(table: str, value: float, unit: str = "") -> str:
    """A ``[table]`` holding one RMSE (``value`` to 4 significant digits, ``unit`` "" for dex)."""
    return f'[{table}]\nvalue = {value:.4g}\nunit = "{unit}"'


def holdout_tables(table: str, description: str, ndata: int, rmse: float, extra: str = "") -> str:
    """``[table]`` (what was held out, how many points, an optional ``extra`` line) and its ``[table.rmse]``."""
    extra = f"{extra}\n" if extra else ""
    return f'[{table}]\ndescription = "{description}"\nndata = {ndata}\n{extra}\n{rmse_table(table + ".rmse", rmse)}'
