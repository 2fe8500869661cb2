r"""A synthetic device population with known truth, to try :func:`devicelib.fit.batch.fit_batch` (in
process or on a dask cluster) before pointing it at measured dies.

Each device follows the soft-bounds rule (``baseline.soft_bounds``, aihwkit's SoftBoundsDevice: on the
normalised weight :math:`w`, a step of :math:`\Delta w_{min} (1 \pm \gamma)` that shrinks linearly to zero at
:math:`w_{max}` going up and at :math:`w_{min}` going down) with device-to-device spread drawn once per device:

- :math:`w_{min} \sim N(-1, 0.1)`, :math:`w_{max} \sim N(1, 0.1)`;
- :math:`\Delta w_{min} = 0.03\, e^{0.2 \xi}` (log-normal, median 0.03);
- asymmetry :math:`\gamma` (``up_down``) :math:`\sim N(0.2, 0.05)`.

The trace starts at :math:`w = -0.8`, takes ``npulse // 2`` potentiating pulses then depressing ones (the
first sample is the start: no pulse) and is read with white noise of standard deviation ``noise`` (in
units of :math:`w`). The values are illustrative, not a measured technology: what they give is a
population whose fitted values can be checked against ``truth``.

Example (a running cluster: ``distributed.Client("tcp://scheduler:8786")``)::

    from devicelib.fit.batch import fit_batch
    from devicelib.fit.synthetic import soft_bounds_population

    data, truth = soft_bounds_population(10_000, 2000)
    out = fit_batch("baseline.soft_bounds", data, client=client)
"""

from __future__ import annotations

import numpy as np


def soft_bounds_population(n: int, npulse: int, noise: float = 0.01, seed: int = 0):
    """``n`` soft-bounds devices, each with one trace of ``npulse`` samples (see the module docstring).

    Returns ``(measurement, truth)``: the measurement Dataset (unitless conductance = weight,
    amplitude +/-1, width 1 us, :func:`devicelib.measurement.make_measurement`) and ``truth``, a dict of
    the per-device values (arrays of length ``n``) of ``w_min``, ``w_max``, ``dw_min`` and ``up_down``.
    Seeded: the same ``seed`` gives the same population.
    """
    from .. import get_model
    from ..measurement import make_measurement

    if n < 1 or npulse < 2:
        raise ValueError(f"soft_bounds_population: need n >= 1 devices and npulse >= 2 samples, got {n}, {npulse}")
    rng = np.random.default_rng(seed)
    truth = {"w_min": -1 + 0.1 * rng.standard_normal(n), "w_max": 1 + 0.1 * rng.standard_normal(n),
             "dw_min": 0.03 * np.exp(0.2 * rng.standard_normal(n)), "up_down": 0.2 + 0.05 * rng.standard_normal(n)}
    m = get_model("baseline.soft_bounds").with_params(**truth)
    d = np.r_[np.ones(npulse // 2), -np.ones(npulse - npulse // 2)]
    D = np.tile(d, (n, 1))
    D[:, 0] = 0  # the first sample is the start state
    w = m.weight_trace(np.full(n, -0.8), D) + noise * rng.standard_normal((n, npulse))
    data = make_measurement(w, amplitude=np.tile(d, (n, 1)), width=1e-6, conductance_unit="", source="synthetic")
    return data, truth
