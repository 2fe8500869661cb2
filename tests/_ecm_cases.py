"""Set-up shared by tests/test_ecm.py and tests/test_ecm_engine.py: the two ECM cards as module fixtures and the
fine solve_ivp reference of one pulse (gap and dissipated energy against time), held at the bounds."""

import numpy as np
import pytest
from scipy.integrate import solve_ivp

from devicelib import get_model

NM = 1e-9


@pytest.fixture(scope="module")
def ag():
    return get_model("ecm.menzel2013_ag")


@pytest.fixture(scope="module")
def cu():
    return get_model("ecm.schindler2009_cu_sio2")


def fine_pulse(m, v, temp, x0, t_end, rtol, atol):
    """Reference of one pulse of amplitude v (V) at temp (K) from gap x0 (m): LSODA on (gap, energy) up to t_end,
    stopped where the gap reaches x_min or L. Returns ref(w) -> (gap (m), energy (J)) after a pulse of width w (s),
    the gap held at the bound (dissipating at its power) for the rest of a longer pulse."""
    p = m.params

    def rate_power(x):
        return m._rate_power(p, np.asarray(x, dtype=float), np.array([v]), np.array([temp]))

    def rhs(t, y):
        rate, power = rate_power(np.clip(y[:1], p["x_min"], p["L"]))
        return [rate[0], power[0]]

    def at_min(t, y):
        return y[0] - p["x_min"]

    def at_max(t, y):
        return y[0] - p["L"]

    at_min.terminal, at_min.direction = True, -1
    at_max.terminal, at_max.direction = True, 1
    sol = solve_ivp(rhs, (0, t_end), [x0, 0.0], method="LSODA", rtol=rtol, atol=atol, events=[at_min, at_max],
                    dense_output=True)

    def ref(w):
        gap, energy = sol.sol(min(w, sol.t[-1]))
        if w > sol.t[-1]:  # held at the bound for the rest of the pulse
            energy += rate_power([gap])[1][0] * (w - sol.t[-1])
        return gap, energy

    return ref
