"""Make datasets/vcm_pulse_trains.csv, the example measurement devicelib ships.

Synthetic data with known truth: the VCM Stanford/PKU model with the parameters
of datasets/vcm_example_start.toml except nu0 = 120 m/s and gamma0 = 6.6
(TRUTH below), driven at six pulse
conditions (SET +0.85, +1.0 and +1.15 V; RESET -0.9, -1.0 and -1.1 V; all
100 ns, 300 K), 2 cycles each, read at 0.1 V with 0.1 % Gaussian read noise, seed 2026.
Fitting nu0 and gamma0 from the start card recovers the truth (see
tests/test_example.py). Regenerate with:

    python datasets/make_vcm_example.py
"""

from pathlib import Path

import numpy as np

from devicelib.catalog import load_card
from devicelib.pulses import identical
from devicelib.simulate import simulate
from devicelib.variability import Variability

HERE = Path(__file__).resolve().parent
CONDITIONS = [(+0.85, 200), (+1.0, 140), (+1.15, 60), (-0.9, 200), (-1.0, 140), (-1.1, 80)]  # (V, pulses)
WIDTH, TEMPERATURE, V_READ, CYCLES, SEED = 100e-9, 300.0, 0.1, 2, 2026
TRUTH = {"nu0": 120.0, "gamma0": 6.6}


def make(path: Path = HERE / "vcm_pulse_trains.csv") -> Path:
    model = load_card(HERE / "vcm_example_start.toml").model().with_params(**TRUTH)
    rng = np.random.default_rng(SEED)
    var = Variability(read=0.001)
    lines = ["trace,pulse,amplitude [V],width [s],temperature [K],read_voltage [V],conductance [S]"]
    for amp, n in CONDITIONS:
        for cycle in range(CYCLES):
            # SET starts from a high-resistance state, RESET from a low-resistance one
            g_start = 1.65e-3 if amp > 0 else 2.45e-3
            state = model.state_from_conductance(np.array([g_start]), V_READ)
            ds = simulate(model, identical(n, amp, WIDTH, temperature=TEMPERATURE), 1, V_READ, var,
                          seed=int(rng.integers(2**31)), state=state)
            label = f"{'set' if amp > 0 else 'reset'}_{abs(amp):.2f}V_c{cycle + 1}"
            for k, g in enumerate(ds["conductance"].values[0]):
                lines.append(f"{label},{k},{amp},{WIDTH},{TEMPERATURE},{V_READ},{g:.6e}")
    path.write_text("\n".join(lines) + "\n")
    return path


if __name__ == "__main__":
    print(f"wrote {make()}")
