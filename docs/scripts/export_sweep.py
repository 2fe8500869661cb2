"""Export every card to every target at its operating condition and replay each export in the real consumer.

For each catalog card the physics response at the card's default condition (its ``[operating]`` table, else
the validity-derived default that ``devicelib export`` uses) is simulated once and exported to aihwkit,
CrossSim, NeuroSim and MemTorch; each file is replayed by its consumer (:mod:`devicelib.export.consumers`:
CrossSim 2.0 from ``../shared/consumers``, the NeuroSim V3.0 harness, aihwkit's numpy replay and its real
``AnalogTile``, MemTorch) and the consumer's error is compared with the claimed one, nominal and (for cards
with variability) ensemble mean and spread. ``--write`` puts the table into docs/export/index.md (between
the ``export-sweep`` markers) and the aihwkit rows into docs/export/aihwkit.md.

Usage (from the repository root)::

    python docs/scripts/export_sweep.py [--targets aihwkit,crosssim,neurosim,aihwkit-tile,memtorch]
                                        [--cards PREFIX ...] [--write]

Exit status 1 when a claim is not reproduced within 10 %.
"""

from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path

from devicelib import catalog
from devicelib.export import consumers

ROOT = Path(__file__).resolve().parents[2]
CROSSSIM2 = ROOT / ".." / "shared" / "consumers" / "crosssim-2.0" / "cross_sim"
ALL = ("aihwkit", "aihwkit-tile", "crosssim", "neurosim", "memtorch")


def replace_between(path: Path, tag: str, body: str) -> None:
    text = path.read_text(encoding="utf-8")
    begin, end = f"<!-- {tag}:begin -->", f"<!-- {tag}:end -->"
    if begin not in text or end not in text:
        raise SystemExit(f"{path}: markers {begin} / {end} not found")
    head, rest = text.split(begin, 1)
    tail = rest.split(end, 1)[1]
    path.write_text(f"{head}{begin}\n{body}\n{end}{tail}", encoding="utf-8")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--targets", default=",".join(ALL), help="comma-separated, of: " + ", ".join(ALL))
    ap.add_argument("--cards", nargs="*", help="card-name prefixes (default: every catalog card)")
    ap.add_argument("--devices", type=int, default=1024, help="consumer ensemble size (default 1024)")
    ap.add_argument("--write", action="store_true", help="write the tables into docs/export/")
    args = ap.parse_args(argv)
    targets = tuple(t.strip() for t in args.targets.split(",") if t.strip())
    bad = [t for t in targets if t not in ALL]
    if bad:
        raise SystemExit(f"--targets: unknown {bad}; choose from {', '.join(ALL)}")
    if "memtorch" in targets:
        consumers.import_memtorch()
    cards = [c for c in catalog.list_catalog() if not args.cards or any(c.name.startswith(p) for p in args.cards)]
    warnings.simplefilter("ignore")

    def show(c):
        print(f"{c.card:40s} {c.target:13s} {c.what:16s} claimed {consumers._pct(c.claimed):>8s} % "
              f"consumer {consumers._pct(c.consumer):>8s} % {'ok' if c.ok else 'NO'} {c.note}", flush=True)

    result = consumers.sweep(cards, targets, CROSSSIM2 if CROSSSIM2.is_dir() else None, args.devices, show)
    fails = result.failures()
    print(f"{len(result.checks)} checks, {len(fails)} not reproduced within 10 %")
    if args.write:
        table = consumers.markdown_table(result.checks)
        replace_between(ROOT / "docs" / "export" / "index.md", "export-sweep", table)
        rows = [c for c in result.checks if c.target.startswith("aihwkit")]
        replace_between(ROOT / "docs" / "export" / "aihwkit.md", "export-sweep", consumers.markdown_table(rows))
    return 1 if fails else 0


if __name__ == "__main__":
    sys.exit(main())
