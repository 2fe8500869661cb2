r"""Circuit elements in series with a two-terminal device: series resistance, current compliance, 1T1R transistor.

A pulse of amplitude :math:`V_a` is applied to the device in series with

- a **series resistance** :math:`R_s` (lines, contacts, an explicit load resistor);
- a **current compliance** :math:`I_{cc}` of the source: an ideal current limiter, the current can
  never exceed :math:`I_{cc}` (0 = none);
- a **1T1R access transistor** (long-channel NMOS, square law, 0 = none when :math:`k = 0`):

  .. math::

      I_T(V_{DS}) = \begin{cases}
          k\,\big(V_{ov} V_{DS} - V_{DS}^2/2\big) & V_{DS} < V_{ov} \ \text{(triode)}\\
          \tfrac12 k V_{ov}^2 & V_{DS} \ge V_{ov} \ \text{(saturation)}
      \end{cases},\qquad V_{ov} = V_{GS} - V_{th},

  with no channel-length modulation and no sub-threshold current (:math:`I_T = 0` for
  :math:`V_{ov} \le 0`). The gate voltage therefore sets the compliance
  :math:`I_{sat} = k (V_G - V_{th})^2 / 2`. For a positive pulse (SET: bit line driven, source line
  grounded) the transistor's source is grounded and :math:`V_{GS} = V_G`. For a negative pulse (RESET:
  source line driven) the transistor's source is the node between it and the cell, so
  :math:`V_{GS} = V_G - |V_{cell}|` (source degeneration: RESET needs a higher gate voltage).
  The body effect is neglected.

Divider
-------
The series elements carry the device current :math:`I_d(V)`; the voltage left on the device,
:math:`V`, solves (for :math:`|V_a|`, the sign restored afterwards)

.. math::  h(V) = V + R_s I_d(V) + V_{DS}(I_d(V); V) - |V_a| = 0,\qquad 0 \le V \le |V_a|,

with :math:`V_{DS}(I) = V_{ov} - \sqrt{V_{ov}^2 - 2I/k}` the inverse of the triode branch and
:math:`V_{DS} = +\infty` at or beyond saturation or beyond :math:`I_{cc}` (an ideal limiter takes up
whatever voltage keeps the current at its limit). For a device whose current grows with its voltage,
:math:`h` increases monotonically from :math:`h(0) = -|V_a|` to :math:`h(|V_a|) \ge 0`, so the root is
bracketed and bisection converges unconditionally; :func:`solve_divider` bisects all devices at once
(arrays, ``n_iter`` halvings of the bracket: 2^-52 of |V_a| after 52). The families call it at every
integration sub-step, so the divider follows the state through the pulse (self-consistent per pulse).

A family opts in by adding :data:`CIRCUIT_PARAMETERS` to its parameters (all off by default) and
solving the divider with its own device current (``devicelib.physics.vcm`` in its compiled kernel
through :func:`divider_drop_scalar`, ``devicelib.physics.mott`` through :func:`solve_divider`).

References: the 1T1R compliance picture and square-law transistor are standard (e.g. S. Yu,
H.-S. P. Wong, IEEE EDL 31, 1455 (2010), doi:10.1109/LED.2010.2078794 — compliance current sets the
filament; Sedra & Smith, *Microelectronic Circuits*, square-law MOSFET). The transistor constants of a
card are estimates unless the card says otherwise.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numba
import numpy as np

from .core import Parameter

#: parameters a family adds to take the series circuit (all elements off at their defaults)
CIRCUIT_PARAMETERS: tuple[Parameter, ...] = (
    Parameter("R_s", "ohm", 0.0, (0.0, 1e9), "R_s",
              "series resistance in the pulse circuit (lines, contacts, load resistor)"),
    Parameter("I_cc", "A", 0.0, (0.0, 10.0), "I_cc",
              "current compliance of the pulse source (ideal limiter; 0 = none)"),
    Parameter("V_g", "V", 0.0, (0.0, 10.0), "V_G",
              "gate (word-line) voltage of the 1T1R access transistor"),
    Parameter("V_th_T", "V", 0.5, (-2.0, 5.0), "V_th",
              "threshold voltage of the access transistor"),
    Parameter("k_T", "A/V^2", 0.0, (0.0, 1.0), "k",
              "transconductance factor mu C_ox W/L of the access transistor (0 = no transistor)"),
)
CIRCUIT_NAMES = tuple(p.name for p in CIRCUIT_PARAMETERS)


def circuit_active(params: dict) -> bool:
    """True when any series element is present (otherwise the device sees the full pulse)."""
    return bool(np.any(np.asarray(params.get("R_s", 0.0)) > 0) or np.any(np.asarray(params.get("I_cc", 0.0)) > 0)
                or np.any(np.asarray(params.get("k_T", 0.0)) > 0))


def transistor_saturation_current(v_g, v_th, k):
    """I_sat = k (V_G - V_th)^2 / 2 (A), 0 below threshold: the compliance a gate voltage sets (SET polarity)."""
    vov = np.maximum(np.asarray(v_g, dtype=float) - v_th, 0.0)
    return 0.5 * np.asarray(k, dtype=float) * vov**2


def transistor_current(v_ds, v_gs, v_th, k):
    """Square-law drain current (A) at V_DS >= 0 (triode below V_ov, flat saturation above)."""
    v_ds = np.asarray(v_ds, dtype=float)
    vov = np.maximum(np.asarray(v_gs, dtype=float) - v_th, 0.0)
    vd = np.minimum(v_ds, vov)
    return np.asarray(k, dtype=float) * (vov * vd - 0.5 * vd**2)


def series_drop(i, v_dev, negative, R_s, I_cc, V_g, V_th, k):
    """Voltage (V, >= 0) the series elements take to carry |current| ``i`` with ``v_dev`` on the device.

    ``+inf`` where the current exceeds the compliance or the transistor's saturation current.
    Arrays broadcast; see the module docstring for the transistor and the RESET source degeneration.
    """
    i = np.abs(np.asarray(i, dtype=float))
    drop = i * R_s
    with np.errstate(invalid="ignore", divide="ignore"):
        limited = (np.asarray(I_cc) > 0) & (i > I_cc)
        has_t = np.asarray(k) > 0
        vgs = np.where(negative, V_g - np.abs(v_dev), V_g)
        vov = vgs - V_th
        disc = vov**2 - 2.0 * i / np.where(has_t, k, 1.0)
        sat = has_t & ((vov <= 0) | (disc <= 0)) & (i > 0)
        v_ds = np.where(has_t & ~sat, vov - np.sqrt(np.maximum(disc, 0.0)), 0.0)
    return np.where(limited | sat, np.inf, drop + v_ds)


def solve_divider(v_applied, device_current: Callable[[np.ndarray], np.ndarray], R_s=0.0, I_cc=0.0, V_g=0.0,
                  V_th=0.5, k=0.0, n_iter: int = 52) -> tuple[np.ndarray, np.ndarray]:
    """Device voltage and current (V, A) with the series circuit, for every device at once.

    ``device_current(v)`` gives the device current at device voltage ``v`` (same shape as
    ``v_applied``; it must grow with v and vanish at 0). Bisection on h(V) (module docstring), all
    devices together; the result is the midpoint of the final bracket, within |V_a| 2^-n_iter.
    """
    va = np.asarray(v_applied, dtype=float)
    sign = np.where(va < 0, -1.0, 1.0)
    mag = np.abs(va)
    negative = va < 0
    lo, hi = np.zeros_like(mag), mag.copy()
    for _ in range(int(n_iter)):
        mid = 0.5 * (lo + hi)
        i = np.abs(device_current(sign * mid))
        h = mid + series_drop(i, mid, negative, R_s, I_cc, V_g, V_th, k) - mag
        above = h > 0
        hi = np.where(above, mid, hi)
        lo = np.where(above, lo, mid)
    v = sign * 0.5 * (lo + hi)
    return v, device_current(v)


@numba.njit(cache=True, inline="always")
def divider_drop_scalar(i, v_dev, negative, R_s, I_cc, V_g, V_th, k):
    """Scalar :func:`series_drop` for compiled kernels (same equations)."""
    i = abs(i)
    if I_cc > 0.0 and i > I_cc:
        return math.inf
    drop = i * R_s
    if k > 0.0:
        vgs = V_g - abs(v_dev) if negative else V_g
        vov = vgs - V_th
        if i > 0.0:
            disc = vov * vov - 2.0 * i / k
            if vov <= 0.0 or disc <= 0.0:
                return math.inf
            drop += vov - math.sqrt(disc)
    return drop


__all__ = [
    "CIRCUIT_NAMES",
    "CIRCUIT_PARAMETERS",
    "circuit_active",
    "divider_drop_scalar",
    "series_drop",
    "solve_divider",
    "transistor_current",
    "transistor_saturation_current",
]
