"""Cost of one pulse of the ECM Menzel model (Ag card) in its kinetic regimes, before and after a change.

    python benchmarks/bench_ecm.py [--devices 1 10000] [--repeat 5] [--before REV] [--threads N]

"after" is ``ecm.menzel`` as it is in the work tree; "before" is ``devicelib/physics/ecm.py`` at the git
revision ``--before`` (default: the last commit before the faster solver), loaded from ``git show`` into a
temporary module, so the comparison can be rerun at any later revision (``--before none`` skips it).
Each regime starts its devices from a state and applies one rectangular pulse to all of them; the
amplitudes are spread by +-2 % over the devices so that their trajectories differ. Reports the median of
``--repeat`` timed calls after one warm-up call (which loads or compiles the numba kernels), the time per
device-pulse, and the largest difference between the two implementations: in the gap as a fraction of the
integration tolerance of the module docstring (max(2e-4 |gap change|, 2e-5 nm); below 1 is within it) and
the relative difference of the pulse energy (tolerance 5e-4).

Regimes (Ag card, 300 K):

- ``nucleation``: the pristine cell at 0.15 V for 1.5 SET times (about 1.0 s: nucleation, then growth
  through the whole gap and the stall near contact);
- ``electron-transfer``: the pristine cell at 0.3 V for 2 ms (SET time 1.1 ms);
- ``mixed``: the nucleated cell (gap L) at 1.5 V for 1 ns (electron transfer and hopping share the voltage);
- ``gradual``: a 1 nm gap at 0.35 V for 10 us (one step of a gradual SET train, the fitting benchmark);
- ``reset``: a 0.2 nm gap at -1 V for 10 us (the first RESET step near contact: R_S takes most of the voltage
  and the gap barely opens, a few rate evaluations).
- ``nucleation, stochastic``: the ``nucleation`` regime with ``nuc_stochastic = 1`` (thresholds drawn in the
  start state; after only, the former model has no such option).
"""

from __future__ import annotations

import argparse
import importlib.util
import statistics
import subprocess
import sys
import tempfile
import time
from functools import partial
from pathlib import Path

import numpy as np

from devicelib import get_model

ROOT = Path(__file__).resolve().parents[1]
NM = 1e-9
#: ecm.py before the faster solver (compiled kernel of 9dd7530)
DEFAULT_BEFORE = "9dd7530"


def load_before(rev: str):
    """The Menzel class of devicelib/physics/ecm.py at git revision ``rev`` (a module of its own)."""
    src = subprocess.run(["git", "-C", str(ROOT), "show", f"{rev}:devicelib/physics/ecm.py"], check=True,
                         capture_output=True, text=True).stdout
    tmp = Path(tempfile.mkdtemp(prefix="ecm_before_"))
    path = tmp / "_ecm_before.py"
    path.write_text(src)
    name = "devicelib.physics._ecm_before"  # a child of devicelib.physics, so its relative imports resolve
    spec = importlib.util.spec_from_file_location(name, path)
    mod = importlib.util.module_from_spec(spec)
    sys.modules[name] = mod
    spec.loader.exec_module(mod)
    return mod.Menzel


def regimes(m, n: int):
    """name -> (start state, amplitudes, width) for n devices."""
    L = float(m.params["L"])
    spread = np.linspace(0.98, 1.02, n) if n > 1 else np.ones(1)

    def state(gap, nuc):
        return {"gap": np.full(n, gap), "nucleation": np.full(n, nuc)}

    t_set = float(m.set_time(0.15)[0])
    return {
        "nucleation": (state(L, 0.0), 0.15 * spread, 1.5 * t_set),
        "electron-transfer": (state(L, 0.0), 0.3 * spread, 2e-3),
        "mixed": (state(L, 1.0), 1.5 * spread, 1e-9),
        "gradual": (state(1 * NM, 1.0), 0.35 * spread, 1e-5),
        "reset": (state(0.2 * NM, 1.0), -1.0 * spread, 1e-5),
    }


def _median_time(fn, repeat: int) -> float:
    fn()  # warm-up (numba kernels load from the cache or compile here)
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def run(devices: list[int], repeat: int, before_cls) -> list[dict]:
    after = get_model("ecm.menzel2013_ag")
    before = None if before_cls is None else before_cls(**{k: v for k, v in after.params.items()
                                                           if k in {p.name for p in before_cls.parameters}})
    rows = []
    for n in devices:
        for name, (st, amp, width) in regimes(after, n).items():
            row = {"regime": name, "devices": n}
            out_a = after.apply_pulse(st, amp, width, 300.0)
            row["after"] = _median_time(lambda st=st, amp=amp, width=width: after.apply_pulse(st, amp, width, 300.0),
                                        repeat)
            if before is not None:
                out_b = before.apply_pulse(st, amp, width, 300.0)
                row["before"] = _median_time(
                    lambda st=st, amp=amp, width=width: before.apply_pulse(st, amp, width, 300.0), repeat)
                change = np.abs(out_b["gap"] - st["gap"])
                tol = np.maximum(2e-4 * change, 2e-5 * NM)
                row["gap_err"] = float(np.max(np.abs(out_a["gap"] - out_b["gap"]) / tol))
                row["energy_err"] = float(np.max(np.abs(out_a["_energy"] / out_b["_energy"] - 1)))
            row["gap_nm"] = float(np.median(out_a["gap"])) / NM
            rows.append(row)
        sto = after.with_params(nuc_stochastic=1).seed(0)
        st, amp, width = regimes(after, n)["nucleation"]
        st = dict(st, _nuc_threshold=sto.initial_state(n)["_nuc_threshold"])
        row = {"regime": "nucleation, stochastic", "devices": n}
        row["after"] = _median_time(partial(sto.apply_pulse, st, amp, width, 300.0), repeat)
        row["gap_nm"] = float(np.median(sto.apply_pulse(st, amp, width, 300.0)["gap"])) / NM
        rows.append(row)
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--devices", type=int, nargs="+", default=[1, 10_000])
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--before", default=DEFAULT_BEFORE, help="git revision of the 'before' ecm.py, or 'none'")
    ap.add_argument("--threads", type=int, default=None, help="numba threads (default: all cores)")
    a = ap.parse_args()
    if a.threads:
        import numba

        numba.set_num_threads(a.threads)
    before_cls = None if a.before.lower() == "none" else load_before(a.before)
    print(f"ecm.menzel2013_ag, one pulse, median of {a.repeat} calls; before = {a.before}")
    print(f"{'regime':>22s} {'devices':>8s} {'before':>11s} {'after':>11s} {'speed-up':>9s} "
          f"{'per device-pulse':>17s} {'gap after':>10s}  gap diff / tol, energy diff")
    for r in run(a.devices, a.repeat, before_cls):
        per = r["after"] / r["devices"]
        b = f"{r['before'] * 1e3:8.3f} ms" if "before" in r else f"{'-':>11s}"
        s = f"{r['before'] / r['after']:8.1f}x" if "before" in r else f"{'-':>9s}"
        diff = f"  {r['gap_err']:.1e}, {r['energy_err']:.1e}" if "before" in r else ""
        print(f"{r['regime']:>22s} {r['devices']:>8d} {b} {r['after'] * 1e3:8.3f} ms {s} "
              f"{per * 1e6:12.2f} us {r['gap_nm']:7.3f} nm{diff}")


if __name__ == "__main__":
    main()
