r"""Phenomenological pulse-response baselines (aihwkit / NeuroSim update rules).

These are not physics: they are the per-pulse update rules network simulators
use, registered as ordinary :class:`~devicelib.core.DeviceModel` plugins so a
physics model and a baseline are fitted, compared (AIC/BIC, held-out error)
and exported on equal terms.

Weight units
------------
Every baseline works on a dimensionless weight :math:`w` with bounds
:math:`w_{min} \le w \le w_{max}`, and a fixed normalisation layer maps it to
the read conductance, :math:`G = g_{off} + g_{ref}\, w` (``g_offset``,
``g_ref`` in S, both ``fixed``). aihwkit's rules assume weights that bracket
zero (w_min < 0 < w_max), so for measured conductances the fitter's guess sets
``g_offset`` to the middle and ``g_ref`` to half the measured range: the
weights then span about [-1, 1], as in aihwkit. Data that are already
normalised (measurement unit ``""``, e.g. aihwkit's ``gong_et_al.csv``) are
fitted as weights directly (class attribute ``supports_normalised = True``;
:meth:`PulseResponseModel.to_weight` / :meth:`~PulseResponseModel.from_weight`
are the layer), so the fitted ``w_min``, ``w_max``, ``dw_min`` ... are exactly
the fields of the corresponding aihwkit device and transfer without conversion.

Pulses
------
Only the sign of the amplitude matters: a positive pulse is an "up" (potentiating)
pulse, a negative one "down"; zero amplitude or zero width is a read. Pulse
width and temperature are ignored (these rules count pulses).

Update rules (one pulse; ``w`` is then clipped to [w_min, w_max])
--------------------------------------------------------------------
Step scales follow aihwkit's C++ (``rpu_pulsed_device.cpp``): the ``up_down``
bias is one-sided, ``s_up = dw_min (1 + min(up_down, 0))``,
``s_down = dw_min (1 - max(up_down, 0))``.

``baseline.constant_step`` (aihwkit ConstantStepDevice)
    :math:`w \pm s`.
``baseline.soft_bounds`` (aihwkit SoftBoundsDevice)
    up :math:`w + s_{up}(1 - w/w_{max})`, down :math:`w - s_{down}(1 - w/w_{min})`.
``baseline.linear_step`` (aihwkit LinearStepDevice, multiplicative form)
    up :math:`w + s_{up}(1 - \gamma_{up} w/w_{max})`,
    down :math:`w - s_{down}(1 - \gamma_{down} w/w_{min})`
    (a zero bound gives a zero slope, as in aihwkit).
``baseline.exponential`` (NeuroSim ``RealDevice``)
    :math:`w(P) = B (1 - e^{-P/A}) + w_{min}`,
    :math:`B = (w_{max} - w_{min}) / (1 - e^{-P_{max}/A})`; potentiation moves
    :math:`P \to P + 1` with :math:`A = a_{LTP}`, depression
    :math:`P \to P - 1` on the curve with :math:`A = -a_{LTD}` (NeuroSim's
    negative A for LTD). Per pulse this is exactly the affine map
    :math:`w \to c + (w - c) e^{-1/a}` towards the curve's asymptote
    :math:`c = w_{min} + B` (LTP) or :math:`c = w_{min} - (w_{max}-w_{min})/\mathrm{expm1}(P_{max}/a_{LTD})`
    (LTD).
``baseline.power_step`` (aihwkit PowStepDevice)
    up :math:`w + s_{up} ((w_{max} - w)/r)^{\gamma_{up}}`, down
    :math:`w - s_{down} ((w - w_{min})/r)^{\gamma_{down}}`, :math:`r = w_{max}-w_{min}`,
    :math:`\gamma_{up} = \gamma (1 + \min(u, 0))`,
    :math:`\gamma_{down} = \gamma (1 - \max(u, 0))` with ``u = pow_up_down``.
``baseline.piecewise_step`` (aihwkit PiecewiseStepDevice)
    the step is ``s`` times a factor interpolated linearly between
    ``N_NODES`` equally spaced nodes over [w_min, w_max] (``up_0..``, ``down_0..``).

Integration: these maps are discrete and exact by definition. Identical pulse
trains have closed forms for constant step, soft bounds / linear step and the
exponential (all affine maps: :math:`w_k = c + (w_0 - c) r^k`, clipped);
power and piecewise steps have none and run a compiled per-pulse loop (numba).
:meth:`PulseResponseModel.replay_trace` evaluates a whole trace for many devices
in one compiled call (a 2000-pulse trace takes a few microseconds), which the
fitters use instead of the generic per-pulse Python loop.

References
----------
- M. J. Rasch et al., "A flexible and fast PyTorch toolkit for simulating
  training and inference on analog crossbar arrays", IEEE AICAS 2021,
  doi:10.1109/AICAS51828.2021.9458494 (aihwkit device update rules).
- P.-Y. Chen, X. Peng, S. Yu, "NeuroSim: a circuit-level macro model for
  benchmarking neuro-inspired architectures in online learning", IEEE TCAD 37,
  3067 (2018), doi:10.1109/TCAD.2018.2789723 (exponential conductance model).
- S. Agarwal et al., "Resistive memory device requirements for a neural
  algorithm accelerator", IJCNN 2016, doi:10.1109/IJCNN.2016.7727298
  (soft-bounds / lookup-table update models).
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np
from numba import njit

from ..core import DeviceModel, Parameter, State, StateVariable

_W = 1e9  # bound on weights (weight units are arbitrary; G = g_ref * w)

# kernel kinds
CONSTANT, LINEAR, AFFINE, POWER, PIECEWISE = 0, 1, 2, 3, 4


@njit(cache=True, inline="always", nogil=True)
def step_rule(kind, P, r, w, s, n_nodes):  # pragma: no cover - compiled
    """One pulse of direction ``s`` (+1 up, -1 down) on weight ``w`` with parameter row ``P[r]``, clipped.

    The single implementation of every rule: :func:`_run` (replay, fits) and the fused simulate engine
    (:mod:`devicelib.engine`) both call it, so the two paths agree bit for bit.
    """
    lo = P[r, 0]
    hi = P[r, 1]
    su = P[r, 2]
    sd = P[r, 3]
    rng = hi - lo
    if kind == CONSTANT:
        if s > 0:
            w = w + su
        else:
            w = w - sd
    elif kind == LINEAR:
        if s > 0:
            slope = -P[r, 4] * su / hi if hi != 0.0 else 0.0
            w = w + (slope * w + su)
        else:
            slope = -P[r, 5] * sd / lo if lo != 0.0 else 0.0
            w = w - (slope * w + sd)
    elif kind == AFFINE:
        if s > 0:
            w = P[r, 5] + (w - P[r, 5]) * P[r, 4]
        else:
            w = P[r, 7] + (w - P[r, 7]) * P[r, 6]
    elif kind == POWER:
        if rng > 0.0:
            if s > 0:
                x = (hi - w) / rng
                if x > 0.0:
                    w = w + su * x ** P[r, 4]
            else:
                x = (w - lo) / rng
                if x > 0.0:
                    w = w - sd * x ** P[r, 5]
    else:  # PIECEWISE: nodes up at 4..4+n_nodes, down after
        if rng > 0.0 and n_nodes > 1:
            nsec = n_nodes - 1
            ws = (w - lo) / rng * nsec
            if ws < 0.0:
                ws = 0.0
            j = int(np.floor(ws))
            if j > nsec - 1:
                j = nsec - 1
            t = ws - j
            if t > 1.0:
                t = 1.0
            if s > 0:
                f = (1.0 - t) * P[r, 4 + j] + t * P[r, 5 + j]
                w = w + su * f
            else:
                f = (1.0 - t) * P[r, 4 + n_nodes + j] + t * P[r, 5 + n_nodes + j]
                w = w - sd * f
    if w < lo:
        w = lo
    if w > hi:
        w = hi
    return w


@njit(cache=True, nogil=True)
def _run(kind, P, w0, d, n_nodes):  # pragma: no cover - compiled
    """Weights after each entry of ``d`` (n, N): +1 up, -1 down, 0 read.

    ``P`` (n, k) or (1, k) (shared by all devices) holds per-device [w_min, w_max, s_up, s_down, extra...].
    """
    n, N = d.shape
    out = np.empty((n, N))
    shared = P.shape[0] == 1
    for i in range(n):
        w = w0[i]
        r = 0 if shared else i
        for k in range(N):
            s = d[i, k]
            if s != 0.0:
                w = step_rule(kind, P, r, w, s, n_nodes)
            out[i, k] = w
    return out


def _col(x):
    """A per-device array as a column (n, 1); scalars pass through."""
    return np.asarray(x, dtype=float).reshape(-1, 1) if np.ndim(x) else x


def _common():
    return (
        Parameter("g_ref", "S", 1e-6, (1e-15, 1e3), "g_{ref}",
                  "conductance of one weight unit (G = g_offset + g_ref w)", log=True, fixed=True),
        Parameter("g_offset", "S", 0.0, (-1e3, 1e3), "g_{off}", "conductance at w = 0", fixed=True),
        Parameter("w_min", "", -1.0, (-_W, _W), "w_{min}", "lower weight bound"),
        Parameter("w_max", "", 1.0, (-_W, _W), "w_{max}", "upper weight bound"),
    )


_DW = Parameter("dw_min", "", 0.01, (1e-12, _W), "\\Delta w_{min}", "step size (at w = 0 for bounded rules)",
                log=True)
_UPDOWN = Parameter("up_down", "", 0.0, (-0.99, 0.99), "u",
                    "asymmetry: >0 shrinks down steps by (1-u), <0 shrinks up steps (aihwkit, one-sided)")


class PulseResponseModel(DeviceModel):
    """Base of the phenomenological baselines (see the module docstring)."""

    family = "baseline"
    family_name = "Phenomenological pulse-response rule"
    amplitude_unit = "V"
    #: the model can be fitted to normalised (dimensionless) data: it predicts w = G / g_ref
    supports_normalised: ClassVar[bool] = True
    #: replay_trace runs a serial nogil kernel: batch fits may call it from several threads at once
    replay_thread_safe: ClassVar[bool] = True
    #: True when identical pulse trains have a closed form (:meth:`closed_form`)
    has_closed_form: ClassVar[bool] = False
    references = (
        "Rasch et al., IEEE AICAS 2021, doi:10.1109/AICAS51828.2021.9458494 (aihwkit)",
        "Chen, Peng, Yu, IEEE TCAD 37, 3067 (2018), doi:10.1109/TCAD.2018.2789723 (NeuroSim)",
    )
    state_variables = (StateVariable("w", "", ("w_min", "w_max"), "normalised weight, G = g_offset + g_ref w"),)
    _kind: ClassVar[int] = CONSTANT
    _n_nodes: ClassVar[int] = 0
    #: parameters a fit varies by default: the identifiable ones (others are redundant with them)
    default_vary: ClassVar[tuple[str, ...] | None] = None
    #: held parameters a fitter may set from :meth:`guess` while they are at their defaults
    guess_sets_held: ClassVar[tuple[str, ...]] = ("g_ref", "g_offset", "p_max")
    #: the closed-form guess from the measured range and steps is the start; no objective scan (devicelib.fit)
    guess_scan: ClassVar[bool] = False

    def _check(self) -> None:
        lo, hi = self.params["w_min"], self.params["w_max"]
        if (lo >= hi) if type(lo) is float and type(hi) is float else np.any(np.asarray(lo) >= np.asarray(hi)):
            raise ValueError(f"{self.name}: w_min must be smaller than w_max")

    # -- parameters as a per-device matrix for the kernel ----------------------
    def _scales(self):
        p = self.params
        ud, dw = p.get("up_down", 0.0), p.get("dw_min", 0.0)
        if type(ud) is float and type(dw) is float:  # scalars (a fit's trial): the same operations, no numpy calls
            return dw * (1.0 + min(ud, 0.0)), dw * (1.0 - max(ud, 0.0))
        ud, dw = np.asarray(ud, dtype=float), np.asarray(dw, dtype=float)
        return dw * (1.0 + np.minimum(ud, 0.0)), dw * (1.0 - np.maximum(ud, 0.0))

    def _extra(self) -> list:
        return []

    def _matrix(self, n: int) -> np.ndarray:
        su, sd = self._scales()
        cols = [self.params["w_min"], self.params["w_max"], su, sd, *self._extra()]
        if all(type(c) is float for c in cols) or all(np.ndim(c) == 0 for c in cols):  # one shared row: the
            # kernels index row 0 for every device
            return np.array([[float(c) for c in cols]])
        out = np.empty((n, len(cols)))
        for j, c in enumerate(cols):
            out[:, j] = c
        return out

    # -- the interface -----------------------------------------------------------
    def initial_state(self, n: int) -> State:
        return {"w": np.broadcast_to(np.asarray(self.params["w_min"], dtype=float), (n,)).copy()}

    @staticmethod
    def _direction(amplitude, width, n):
        a = np.broadcast_to(np.asarray(amplitude, dtype=float), n)
        w = np.broadcast_to(np.asarray(width, dtype=float), n)
        return np.where(w > 0, np.sign(a), 0.0)

    def weight_trace(self, w0, direction) -> np.ndarray:
        """Weights (n, N) after each pulse of ``direction`` (n, N; +1, -1, 0) from ``w0`` (n,)."""
        d = np.ascontiguousarray(np.atleast_2d(np.asarray(direction, dtype=float)))
        n = d.shape[0]
        w0 = np.ascontiguousarray(np.broadcast_to(np.asarray(w0, dtype=float), (n,)))
        return _run(self._kind, self._matrix(n), w0, d, self._n_nodes)

    def apply_pulse(self, state: State, amplitude, width, temperature) -> State:
        w = np.asarray(state["w"], dtype=float)
        d = self._direction(amplitude, width, w.shape)
        return {"w": self.weight_trace(w, d[:, None])[:, 0]}

    def conductance(self, state: State, v_read) -> np.ndarray:
        return self.from_weight(np.asarray(state["w"], dtype=float))

    def to_weight(self, g) -> np.ndarray:
        """The normalisation layer: weight of a conductance (S)."""
        return (np.asarray(g, dtype=float) - self.params["g_offset"]) / self.params["g_ref"]

    def from_weight(self, w) -> np.ndarray:
        """Conductance (S) of a weight."""
        return self.params["g_offset"] + self.params["g_ref"] * np.asarray(w, dtype=float)

    def state_from_conductance(self, g, v_read) -> State:
        g = np.asarray(g, dtype=float)
        if not np.all(np.isfinite(g)):
            raise ValueError(f"{self.name}: conductance must be finite to infer the weight")
        return {"w": self.to_weight(g)}

    def replay_trace(self, state: State, amplitude, width, interval, temperature, v_read) -> np.ndarray:
        """Conductance (S) after each pulse, as :func:`devicelib.simulate.replay`, in one compiled call."""
        d = np.where(np.asarray(width) > 0, np.sign(np.asarray(amplitude, dtype=float)), 0.0)
        W = self.weight_trace(state["w"], d)
        g_ref, g_off = _col(self.params["g_ref"]), _col(self.params["g_offset"])
        return g_off + g_ref * W

    def pulse_energy(self, before, after, amplitude, width, temperature):
        return np.zeros(np.shape(after["w"]))  # a counting rule carries no energetics

    def fused_spec(self, n: int, amplitude, width, temperature=None, v_read=None):
        """Parameters of the fused simulate engine (:mod:`devicelib.engine`): the rule's parameter
        matrix (one shared row unless parameters vary between devices) and each pulse's direction."""
        from ..engine import READ_LINEAR, FusedSpec

        amplitude = np.asarray(amplitude, dtype=float)
        pre = np.where(np.asarray(width, dtype=float) > 0, np.sign(amplitude), 0.0)[:, None]
        g_ref, g_off = self.params["g_ref"], self.params["g_offset"]
        if np.ndim(g_ref) == 0 and np.ndim(g_off) == 0:
            R = np.array([[float(g_off), float(g_ref)]])
        else:
            R = np.empty((n, 2))
            R[:, 0], R[:, 1] = g_off, g_ref
        return FusedSpec(kind=self._kind, P=self._matrix(n), R=R, read=READ_LINEAR, pre=np.ascontiguousarray(pre),
                         state="w", energy=False, n_nodes=self._n_nodes)

    def closed_form(self, w0, n_pulses: int, up: bool = True) -> np.ndarray:
        """Weights after 1..n identical pulses, shape (n_devices, n_pulses), without a loop."""
        raise NotImplementedError(f"{self.name}: no closed form for identical pulses (discrete power/piecewise map)")

    def guess(self, g: np.ndarray, amplitude: np.ndarray, normalise: bool = True) -> dict[str, float]:
        """Start values for a fit from conductance traces ``g`` (S, (n, N), NaN-padded) and their amplitudes.

        Includes the normalisation layer (``g_offset`` = middle, ``g_ref`` = half the measured range);
        with ``normalise=False`` (normalised data) the model's own layer is kept."""
        g = np.asarray(g, dtype=float)
        g_lo, g_hi = float(np.nanmin(g)), float(np.nanmax(g))
        if normalise:
            layer = {"g_offset": 0.5 * (g_lo + g_hi), "g_ref": max(0.5 * (g_hi - g_lo), 1e-15)}
            w = (g - layer["g_offset"]) / layer["g_ref"]
        else:
            layer, w = {}, self.to_weight(g)
        # robust extremes: a plateau at a hard bound then starts clipped (its noise straddles the bound)
        lo, hi = (float(v) for v in np.nanpercentile(w, [0.5, 99.5]))
        span = max(hi - lo, 1e-12 * max(abs(hi), 1.0))
        dw = np.abs(np.diff(w, axis=-1))
        dw = dw[np.isfinite(dw) & (dw > 0)]
        step = float(np.median(dw)) if dw.size else span / 100
        out = {**layer, "w_min": lo, "w_max": hi}
        if "dw_min" in self.parameter_names():
            out["dw_min"] = float(np.clip(step, span * 1e-5, span * 0.5))
        return out

    @staticmethod
    def _affine_closed(w0, c, r, n_pulses, lo, hi):
        k = np.arange(1, n_pulses + 1)
        w0 = np.asarray(w0, dtype=float)[:, None]
        c, r = np.asarray(c, dtype=float), np.asarray(r, dtype=float)
        c = c[:, None] if c.ndim else c
        r = r[:, None] if r.ndim else r
        lo = np.asarray(lo)[:, None] if np.ndim(lo) else lo
        hi = np.asarray(hi)[:, None] if np.ndim(hi) else hi
        return np.clip(c + (w0 - c) * r**k, lo, hi)


class ConstantStep(PulseResponseModel):
    __doc__ = "Constant step (aihwkit ConstantStepDevice): w -> w +/- s, clipped.\n\n" + (__doc__ or "")
    name = "baseline.constant_step"
    family_name = "Constant step (aihwkit ConstantStepDevice)"
    parameters = (*_common(), _DW, _UPDOWN)
    has_closed_form = True
    _kind = CONSTANT

    def closed_form(self, w0, n_pulses, up=True):
        su, sd = self._scales()
        k = np.arange(1, n_pulses + 1)
        w0 = np.asarray(w0, dtype=float)[:, None]
        s = (su if up else -sd)
        s = np.asarray(s)[:, None] if np.ndim(s) else s
        lo, hi = self.params["w_min"], self.params["w_max"]
        return np.clip(w0 + s * k, np.asarray(lo)[:, None] if np.ndim(lo) else lo,
                       np.asarray(hi)[:, None] if np.ndim(hi) else hi)


class LinearStep(PulseResponseModel):
    __doc__ = "Linear step (aihwkit LinearStepDevice, multiplicative).\n\n" + (__doc__ or "")
    name = "baseline.linear_step"
    family_name = "Linear step (aihwkit LinearStepDevice)"
    parameters = (
        *_common(), _DW, _UPDOWN,
        Parameter("gamma_up", "", 1.0, (0.0, 100.0), "\\gamma_{up}", "relative step decrease at w_max (up)"),
        Parameter("gamma_down", "", 1.0, (0.0, 100.0), "\\gamma_{down}", "relative step decrease at w_min (down)"),
    )
    has_closed_form = True
    _kind = LINEAR

    def _gammas(self):
        return self.params["gamma_up"], self.params["gamma_down"]

    def guess(self, g, amplitude, normalise=True):
        out = super().guess(g, amplitude, normalise)
        if "gamma_up" in self.parameter_names():
            # gamma = 1 makes the bound a fixed point: it is never reached and gamma/w_max is all the data
            # determine. Start below 1, where the hard bound clips and both are identifiable.
            out["gamma_up"] = out["gamma_down"] = 0.5
        return out

    def _extra(self):
        return list(self._gammas())

    def closed_form(self, w0, n_pulses, up=True):
        """Affine map w -> r w + b per pulse: w_k = r^k w0 + b (1 - r^k) / (1 - r) (b k when r = 1), clipped.

        Exact while r >= 0 (each step smaller than the distance to the map's fixed point)."""
        su, sd = self._scales()
        gu, gd = self._gammas()
        lo = np.asarray(self.params["w_min"], dtype=float)
        hi = np.asarray(self.params["w_max"], dtype=float)
        if up:
            slope = np.where(hi != 0, -np.asarray(gu) * su / np.where(hi == 0, 1.0, hi), 0.0)
            r, b = 1.0 + slope, su
        else:
            slope = np.where(lo != 0, -np.asarray(gd) * sd / np.where(lo == 0, 1.0, lo), 0.0)
            r, b = 1.0 - slope, -np.asarray(sd)
        if np.any(r < 0):
            raise ValueError(f"{self.name}: steps overshoot the fixed point (r < 0); no monotone closed form")
        col = _col
        k = np.arange(1, n_pulses + 1)
        r, b = col(r), col(b)
        rk = r**k
        with np.errstate(divide="ignore", invalid="ignore"):
            geo = np.where(r != 1.0, (1.0 - rk) / (1.0 - r), k)
        w0 = np.asarray(w0, dtype=float).reshape(-1, 1)
        return np.clip(rk * w0 + b * geo, col(lo), col(hi))


class SoftBounds(LinearStep):
    __doc__ = "Soft bounds (aihwkit SoftBoundsDevice): linear step with gamma = 1.\n\n" + (PulseResponseModel.__doc__
                                                                                          or "")
    name = "baseline.soft_bounds"
    family_name = "Soft bounds (aihwkit SoftBoundsDevice)"
    parameters = (*_common(), _DW, _UPDOWN)

    def _gammas(self):
        return 1.0, 1.0


class Exponential(PulseResponseModel):
    __doc__ = "Exponential conductance curve (NeuroSim RealDevice).\n\n" + (PulseResponseModel.__doc__ or "")
    name = "baseline.exponential"
    family_name = "Exponential pulse curve (NeuroSim)"
    parameters = (
        *_common(),
        Parameter("p_max", "", 100.0, (1.0, 1e7), "P_{max}", "pulses from w_min to w_max (maxNumLevel)", log=True),
        Parameter("a_ltp", "", 50.0, (1e-3, 1e9), "A_{LTP}", "nonlinearity of potentiation, in pulses", log=True),
        Parameter("a_ltd", "", 50.0, (1e-3, 1e9), "A_{LTD}",
                  "nonlinearity of depression, in pulses (NeuroSim's A_LTD = -a_ltd)", log=True),
    )
    has_closed_form = True
    _kind = AFFINE
    # the pulse map depends on (w_min, w_max, p_max, a) only through the two asymptotes and
    # two ratios, so one of the five is redundant while the bounds are not reached: hold p_max
    default_vary = ("w_min", "w_max", "a_ltp", "a_ltd")

    def _affine(self):
        p = self.params
        lo, hi = np.asarray(p["w_min"], float), np.asarray(p["w_max"], float)
        pm, au, ad = (np.asarray(p[k], float) for k in ("p_max", "a_ltp", "a_ltd"))
        rng = hi - lo
        c_up = lo + rng / (-np.expm1(-pm / au))
        with np.errstate(over="ignore"):
            c_dn = lo - rng / np.expm1(pm / ad)
        return np.exp(-1.0 / au), c_up, np.exp(-1.0 / ad), c_dn

    def _extra(self):
        return list(self._affine())

    def closed_form(self, w0, n_pulses, up=True):
        r_up, c_up, r_dn, c_dn = self._affine()
        lo, hi = self.params["w_min"], self.params["w_max"]
        if up:
            return self._affine_closed(w0, c_up, r_up, n_pulses, lo, hi)
        return self._affine_closed(w0, c_dn, r_dn, n_pulses, lo, hi)

    def guess(self, g, amplitude, normalise=True):
        out = super().guess(g, amplitude, normalise)
        n_up = int(np.sum(np.asarray(amplitude) > 0, axis=-1).max()) if np.size(amplitude) else 100
        out["p_max"] = float(max(n_up, 2))
        out["a_ltp"] = out["a_ltd"] = float(max(n_up, 2))
        return out


class PowerStep(PulseResponseModel):
    __doc__ = "Power step (aihwkit PowStepDevice).\n\n" + (PulseResponseModel.__doc__ or "")
    name = "baseline.power_step"
    family_name = "Power step (aihwkit PowStepDevice)"
    parameters = (
        *_common(), _DW, _UPDOWN,
        Parameter("pow_gamma", "", 1.0, (0.0, 20.0), "\\gamma", "exponent of the distance to the bound"),
        Parameter("pow_up_down", "", 0.0, (-0.99, 0.99), "u_\\gamma", "asymmetry of the exponent (one-sided)"),
    )
    _kind = POWER
    default_vary = ("w_min", "w_max", "dw_min", "up_down", "pow_gamma")

    def _extra(self):
        g = np.asarray(self.params["pow_gamma"], float)
        u = np.asarray(self.params["pow_up_down"], float)
        return [g * (1.0 + np.minimum(u, 0.0)), g * (1.0 - np.maximum(u, 0.0))]

    def guess(self, g, amplitude, normalise=True):
        out = super().guess(g, amplitude, normalise)
        span = out["w_max"] - out["w_min"]
        out["dw_min"] = float(np.clip(2 * out.get("dw_min", span / 100), span * 1e-5, span * 0.5))
        return out


N_NODES = 5


def _nodes(prefix, label):
    return tuple(
        Parameter(f"{prefix}_{j}", "", 1.0, (0.0, 100.0), f"f^{{{label}}}_{j}",
                  f"{label} step factor at node {j} of {N_NODES} over [w_min, w_max]")
        for j in range(N_NODES)
    )


class PiecewiseStep(PulseResponseModel):
    __doc__ = "Piecewise-linear step (aihwkit PiecewiseStepDevice).\n\n" + (PulseResponseModel.__doc__ or "")
    name = "baseline.piecewise_step"
    family_name = "Piecewise step (aihwkit PiecewiseStepDevice)"
    parameters = (*_common(), _DW, _UPDOWN, *_nodes("up", "up"), *_nodes("down", "down"))
    _kind = PIECEWISE
    _n_nodes = N_NODES
    # dw_min and up_down only rescale the node factors: hold them
    default_vary = ("w_min", "w_max", *(f"up_{j}" for j in range(N_NODES)), *(f"down_{j}" for j in range(N_NODES)))

    def _extra(self):
        p = self.params
        return [p[f"up_{j}"] for j in range(N_NODES)] + [p[f"down_{j}"] for j in range(N_NODES)]

    def piecewise_up(self) -> list[float]:
        return [float(self.params[f"up_{j}"]) for j in range(N_NODES)]

    def piecewise_down(self) -> list[float]:
        return [float(self.params[f"down_{j}"]) for j in range(N_NODES)]


BASELINES = (ConstantStep, SoftBounds, LinearStep, Exponential, PowerStep, PiecewiseStep)


def aihwkit_fields(model: PulseResponseModel) -> dict:
    """The aihwkit device class name and dataclass fields equivalent to ``model`` (weight units)."""
    p = {k: float(np.asarray(v)) for k, v in model.params.items()}
    base = {"w_min": p["w_min"], "w_max": p["w_max"]}
    if isinstance(model, Exponential):
        raise ValueError("the NeuroSim exponential curve has no aihwkit device; use the NeuroSim exporter "
                         "(or SoftBoundsPmaxDevice with a common A for both directions)")
    base.update(dw_min=p["dw_min"], up_down=p["up_down"])
    if isinstance(model, SoftBounds):
        return {"class": "SoftBoundsDevice", **base}
    if isinstance(model, LinearStep):
        return {"class": "LinearStepDevice", **base, "gamma_up": p["gamma_up"], "gamma_down": p["gamma_down"],
                "mult_noise": True}
    if isinstance(model, ConstantStep):
        return {"class": "ConstantStepDevice", **base}
    if isinstance(model, PowerStep):
        return {"class": "PowStepDevice", **base, "pow_gamma": p["pow_gamma"], "pow_up_down": p["pow_up_down"]}
    if isinstance(model, PiecewiseStep):
        return {"class": "PiecewiseStepDevice", **base, "piecewise_up": model.piecewise_up(),
                "piecewise_down": model.piecewise_down()}
    raise TypeError(f"no aihwkit equivalent for {model.name}")
