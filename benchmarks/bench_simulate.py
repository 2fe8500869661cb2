"""Device-pulse updates per second of the VCM model on 100,000 devices x 100 pulses.

    python benchmarks/bench_simulate.py [--devices 100000] [--pulses 100] [--repeat 3]

Two regimes of the same card (vcm.crosssim_oxide_fit): a gradual train (0.9 V, 100 ns
from 1.65 mS: one integration sub-step per pulse) and an abrupt SET train (1.2 V from the
fully reset state: the gap closes in hundreds of sub-steps). Reports the best of
``--repeat`` runs (after one warm-up that compiles the numba kernels) and the peak
memory (tracemalloc, numpy buffers included).
"""

from __future__ import annotations

import argparse
import time
import tracemalloc

import numpy as np

from devicelib import get_model
from devicelib.pulses import identical
from devicelib.simulate import simulate


def run(n_devices: int, n_pulses: int, repeat: int) -> list[dict]:
    model = get_model("vcm.crosssim_oxide_fit")
    cases = {
        "gradual (0.9 V, 100 ns)": (identical(n_pulses, 0.9, 100e-9),
                                    model.state_from_conductance(np.full(n_devices, 1.65e-3), 0.1)),
        "abrupt SET (1.2 V, 100 ns)": (identical(n_pulses, 1.2, 100e-9), None),
    }
    simulate(model, identical(2, 1.0, 1e-7), 4)  # compile
    rows = []
    for label, (train, state) in cases.items():
        best = np.inf
        for _ in range(repeat):
            t0 = time.perf_counter()
            simulate(model, train, n_devices, 0.1, state=state, record_state=False)
            best = min(best, time.perf_counter() - t0)
        tracemalloc.start()
        simulate(model, train, n_devices, 0.1, state=state, record_state=False)
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        rows.append({"case": label, "seconds": best, "updates_per_s": n_devices * n_pulses / best,
                     "peak_MiB": peak / 2**20})
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--devices", type=int, default=100_000)
    ap.add_argument("--pulses", type=int, default=100)
    ap.add_argument("--repeat", type=int, default=3)
    a = ap.parse_args()
    print(f"VCM Stanford/PKU, {a.devices} devices x {a.pulses} pulses")
    for r in run(a.devices, a.pulses, a.repeat):
        print(f"  {r['case']:<28s} {r['seconds']:7.3f} s  {r['updates_per_s']:.3g} device-pulse updates/s  "
              f"peak {r['peak_MiB']:.0f} MiB")


if __name__ == "__main__":
    main()
