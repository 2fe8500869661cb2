"""Time and peak memory of reading a large long CSV, and of reporting an error on its last line.

    python benchmarks/bench_readers.py [--traces 520] [--pulses 10000] [--keep DIR]

Writes a long CSV (``trace, pulse, conductance [S], amplitude [V], width [s], interval [s],
temperature [K]``; 520 x 10,000 rows is about 203 MB) into a temporary folder, then runs in
fresh subprocesses (so that the peak RSS is the reader's alone):

- ``api``: ``devicelib.measurement.read_measurement(path)`` on the valid file;
- ``cli-error``: ``devicelib fit`` on the same file with a non-numeric value on its last line
  (the path that parsed the file three times before).

Reports wall time (including interpreter start-up and imports), peak RSS and its ratio to the
bytes of the parsed arrays (trace x pulse x 5 float64 variables). Figures of the change that
introduced the one-pass reader are in docs/reliability.md.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HEADER = "trace,pulse,conductance [S],amplitude [V],width [s],interval [s],temperature [K]\n"


def write_file(path: Path, traces: int, pulses: int) -> None:
    rng = np.random.default_rng(0)
    k = np.arange(pulses)
    amp = np.where(k % 2000 < 1000, 1.0, -1.0)
    with open(path, "w") as fh:
        fh.write(HEADER)
        for t in range(traces):
            g = 1e-5 + 1e-4 * (1 - np.exp(-k / 300)) * (1 + 0.01 * rng.standard_normal(pulses))
            fh.write("".join(f"t{t},{i},{g[i]:.9g},{amp[i]:g},1e-07,0,300\n" for i in range(pulses)))


def run(cmd: list[str]) -> dict:
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    peak_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return {"wall_s": round(wall, 2), "peak_rss_mb": round(max(peak_kb, before) / 1024, 1),
            "exit": proc.returncode, "stderr": proc.stderr.strip()[-200:]}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--traces", type=int, default=520)
    ap.add_argument("--pulses", type=int, default=10_000)
    ap.add_argument("--keep", type=Path, default=None, help="write the files here and keep them")
    args = ap.parse_args()
    folder = args.keep or Path(tempfile.mkdtemp(prefix="devicelib-bench-readers-"))
    folder.mkdir(parents=True, exist_ok=True)
    good, bad = folder / "long.csv", folder / "long_bad.csv"
    write_file(good, args.traces, args.pulses)
    bad.write_bytes(good.read_bytes() + f"t{args.traces - 1},{args.pulses},oops,1,1e-07,0,300\n".encode())
    arrays_mb = args.traces * args.pulses * 5 * 8 / 2**20
    out = {"file_mb": round(good.stat().st_size / 2**20, 1), "parsed_arrays_mb": round(arrays_mb, 1)}
    # each measurement in its own process: RUSAGE_CHILDREN keeps the largest child so far, so run the
    # smaller one (the API read) first
    out["api"] = run([sys.executable, "-c", f"from devicelib.measurement import read_measurement; "
                                            f"read_measurement({str(good)!r})"])
    out["cli_error"] = run([str(Path(sys.executable).with_name("devicelib")), "fit", str(bad),
                            "--model", "baseline.constant_step", "--v-read", "0.1"])
    out["api"]["rss_over_arrays"] = round(out["api"]["peak_rss_mb"] / arrays_mb, 2)
    print(json.dumps(out, indent=2))
    if args.keep is None:
        for f in (good, bad):
            f.unlink()
        folder.rmdir()


if __name__ == "__main__":
    main()
