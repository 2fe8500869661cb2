"""Which VCM parameters the CrossSim oxide ramps constrain: fit several parameter subsets and tabulate.

    python docs/scripts/vcm_identifiability.py

Writes docs/figures/vcm_identifiability.md (used by docs/families/vcm.md). Data and assumptions as in
docs/scripts/fit_crosssim_vcm.py (one pulse condition per direction, +/-1.0 V, 100 ns assumed).
"""

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from fit_crosssim_vcm import I0, ROOT, load

from devicelib import get_model
from devicelib.fit import fit

SUBSETS = [["nu0"], ["nu0", "gamma0"], ["nu0", "beta"], ["nu0", "R_th"], ["nu0", "Ea"], ["nu0", "gamma0", "beta"]]


def main():
    data = load()
    rows = []
    for vary in SUBSETS:
        t = time.perf_counter()
        r = fit(get_model("vcm.stanford_pku", I0=I0, nu0=1e-4), data, vary=vary)
        corr = max((abs(c) for a in r.correlations.values() for c in a.values()), default=0.0)
        vals = ", ".join(f"{n} = {r.values[n]:.4g} ± {r.stderr[n]:.2g}" if r.stderr[n] is not None
                         else f"{n} = {r.values[n]:.4g} (no stderr)" for n in vary)
        rows.append(f"| {', '.join(vary)} | {'yes' if r.converged else 'no'} | {r.condition:.3g} | {corr:.6f} | "
                    f"{r.rmse * 1e6:.2f} | {r.bic:.0f} | {vals} | {r.status} |")
        print(rows[-1], f"({time.perf_counter() - t:.1f} s)", flush=True)
    head = ("| varied | converged | condition number | max abs(correlation) | RMSE (µS) | BIC | values | status |\n"
            "|---|---|---|---|---|---|---|---|\n")
    (ROOT / "docs" / "figures" / "vcm_identifiability.md").write_text(head + "\n".join(rows) + "\n")


if __name__ == "__main__":
    main()
