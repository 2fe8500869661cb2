"""Cost of one pulse and one conductance read of the FeFET Preisach card, before and after the compiled solver.

    python benchmarks/bench_fefet.py [--devices 1 10000] [--repeat 5] [--export]

"before" is the former numpy implementation (48 bisection halvings in V_FE, each re-walking the
turning-point stack through ``FeFETPreisach._move``), kept here as ``BisectionPreisach`` so the
comparison can be rerun; "after" is ``fefet.preisach`` as shipped (numba kernels, segment search
plus safeguarded Newton). The devices start from the card's initial state and get a spread of
amplitudes (1-3 V), so their turning-point histories differ. Reports the median of ``--repeat``
timed calls after one warm-up call (which loads or compiles the numba kernels), the largest
difference between the two implementations, and the cost of the cycle-to-cycle perturbation.
``--export`` also times ``devicelib.export.export`` of the card to the native format.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from functools import partial
from pathlib import Path

import numpy as np

from devicelib.catalog import load_card
from devicelib.physics.fefet import FeFETPreisach, _bc

CARD = Path(__file__).resolve().parents[1] / "models" / "fefet" / "ni2018_preisach.toml"


class BisectionPreisach(FeFETPreisach):
    """The implementation before the compiled solver: fixed bisection, numpy path walk per step."""

    bisection_steps = 48

    def _solve_vfe(self, st, target_fn, upward):
        n = st["v_fe"].size
        vs = _bc(self._vs(), n)
        v0 = st["v_fe"]
        lo, hi = np.where(upward, v0, -vs), np.where(upward, vs, v0)
        for _ in range(self.bisection_steps):
            mid = 0.5 * (lo + hi)
            val = target_fn(mid, self._move(st, mid))
            lo, hi = np.where(val < 0, mid, lo), np.where(val < 0, hi, mid)
        return 0.5 * (lo + hi)

    def _to_gate(self, st, v_gate):
        n = st["v_fe"].size
        cf, ci = _bc(self.c_fe(), n), _bc(self.c_il(), n)
        rhs = _bc(v_gate, n) - _bc(self.params["V_T0"], n)

        def res(v, pol):
            return v + (pol + cf * v) / ci - rhs

        v = self._solve_vfe(st, res, res(st["v_fe"], st["polarization"]) < 0)
        return self._move(st, v, commit=True)

    def apply_pulse(self, state, amplitude, width, temperature):
        st = {k: np.array(v, dtype=float) for k, v in state.items() if not k.startswith("_switched")}
        p_before = st["polarization"]
        peak = self._to_gate(st, amplitude)
        rest = self._to_gate(peak, 0.0)
        p_peak = peak["polarization"]
        rest["_switched"] = np.abs(p_peak - p_before) + np.abs(rest["polarization"] - p_peak)
        return rest

    def threshold_voltage(self, state):
        st = {k: np.asarray(v, dtype=float) for k, v in state.items()}
        cf = _bc(self.c_fe(), st["v_fe"].size)

        def charge(v, pol):
            return pol + cf * v

        v_star = self._solve_vfe(st, charge, charge(st["v_fe"], st["polarization"]) < 0)
        return _bc(self.params["V_T0"], st["v_fe"].size) + v_star


def _median_time(fn, repeat: int) -> float:
    fn()  # warm-up (numba kernels load from the cache or compile here)
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def run(devices: list[int], repeat: int) -> list[dict]:
    after = load_card(CARD).model()
    before = BisectionPreisach(**after.params)
    rows = []
    for n in devices:
        amp = np.linspace(1.0, 3.0, n) if n > 1 else np.array([2.0])
        st = after.initial_state(n)
        prog_a = after.apply_pulse(st, amp, 1e-7, 300.0)
        prog_b = before.apply_pulse(st, amp, 1e-7, 300.0)
        row = {"devices": n}
        for label, m, prog in (("before", before, prog_b), ("after", after, prog_a)):
            row[f"pulse_{label}"] = _median_time(partial(m.apply_pulse, st, amp, 1e-7, 300.0), repeat)
            row[f"read_{label}"] = _median_time(partial(m.conductance, prog, 0.1), repeat)
        rng = np.random.default_rng(0)
        row["c2c_after"] = _median_time(partial(after.perturb_step, st, prog_a, 0.1, 0.0, rng), repeat)
        row["max_dP"] = float(np.max(np.abs(prog_a["polarization"] - prog_b["polarization"])))
        g_a, g_b = after.conductance(prog_a, 0.1), after.conductance(prog_b, 0.1)
        row["max_rel_dG"] = float(np.max(np.abs(g_a / g_b - 1)))
        rows.append(row)
    return rows


def time_export() -> float:
    from devicelib.export import export

    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        export(str(CARD), "native", Path(tmp) / "fefet.h5")
        return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--devices", type=int, nargs="+", default=[1, 10_000])
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--export", action="store_true", help="also time the export of the card (after only)")
    a = ap.parse_args()
    print("fefet.ni2018_preisach: median of", a.repeat, "calls")
    print(f"{'devices':>8s} {'pulse before':>13s} {'pulse after':>12s} {'speed-up':>9s} "
          f"{'read before':>12s} {'read after':>11s} {'speed-up':>9s} {'c2c after':>10s}  max |dP|, max rel dG")
    for r in run(a.devices, a.repeat):
        print(f"{r['devices']:>8d} {r['pulse_before'] * 1e3:10.3f} ms {r['pulse_after'] * 1e3:9.3f} ms "
              f"{r['pulse_before'] / r['pulse_after']:8.0f}x {r['read_before'] * 1e3:9.3f} ms "
              f"{r['read_after'] * 1e3:8.3f} ms {r['read_before'] / r['read_after']:8.0f}x "
              f"{r['c2c_after'] * 1e3:7.3f} ms  {r['max_dP']:.1e} C/m^2, {r['max_rel_dG']:.1e}")
    if a.export:
        print(f"export to native (after): {time_export():.2f} s")


if __name__ == "__main__":
    main()
