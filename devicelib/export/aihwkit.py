r"""Export to IBM aihwkit: a pulsed-update device (JSON) and a loader that builds the real objects.

The exporter simulates the physics model at the pulse condition
(:mod:`devicelib.export.common`), maps conductance to aihwkit's normalised
weight ``w = 2 (G - G_min)/(G_max - G_min) - 1`` (so the window brackets
zero), fits each update rule aihwkit offers and writes the best one.

The target's rules, exactly as aihwkit's C++ applies one pulse (``rpucuda``
``rpu_*_device.cpp``, aihwkit 1.2; ``s_up``/``s_down`` are the device's
``w_scale_up``/``w_scale_down``), followed by clipping to ``[w_min, w_max]``:

``ConstantStepDevice``   up ``w += s_up``, down ``w -= s_down``.
``LinearStepDevice``     up ``w += s_up (1 - gamma_up w / w_max)``,
                         down ``w -= s_down (1 - gamma_down w / w_min)``
                         (``gamma`` >= 0; a zero bound gives zero slope).
``SoftBoundsDevice``     LinearStep with ``gamma_up = gamma_down = 1``.
``ExpStepDevice``        ``z = 2 a w / (w_max - w_min) + b``;
                         up ``w += s_up max(1 - A_up exp(gamma_up z), 0)``,
                         down ``w -= s_down max(1 - A_down exp(-gamma_down z), 0)``.
``PowStepDevice``        up ``w += s_up ((w_max - w)/r)^gamma_up``,
                         down ``w -= s_down ((w - w_min)/r)^gamma_down``, ``r = w_max - w_min``.
``PiecewiseStepDevice``  the step is ``s`` times a factor interpolated linearly between
                         equally spaced nodes (``piecewise_up``/``piecewise_down``) over ``[w_min, w_max]``.

``up_down`` is one-sided in the C++ (``rpu_pulsed_device.cpp``):
``s_up = dw_min (1 + min(up_down, 0))``, ``s_down = dw_min (1 - max(up_down, 0))``;
``PowStep``'s ``pow_up_down`` acts on ``pow_gamma`` the same way. The fit works in
``s_up, s_down`` (and ``gamma_up, gamma_down``) and converts exactly.

Device-to-device and cycle-to-cycle terms come from the card's variability
through the ensemble statistics, in aihwkit's own units
(``PulsedRPUDevice::populate``): ``dw_min_dtod`` (device gain spread,
relative to ``dw_min``), ``w_min_dtod``/``w_max_dtod`` (bound spread relative
to the weight bound, not to G), ``dw_min_std`` (cycle-to-cycle factor
``1 + dw_min_std xi`` on every step). Step-noise fields large enough to make
aihwkit's ensemble mean drift from devicelib's are capped
(:func:`choose_noise`, using :func:`replay_ensemble`, a numpy replay of
aihwkit's construction and update); the file states measured and written
values and the ensemble mean/spread errors. Weights are rescaled when
``dw_min`` would exceed 1, so one update of ``lr = 1`` is one pulse. A
volatile model whose conductance drifts gets a
``CustomDriftPCMLikeNoiseModel`` (``g_lst``, ``nu_mean_lst``,
``nu_std_lst``) for inference, with aihwkit's PCM programming and read noise
only where the card's physics has them; a non-volatile one none.

Loader: :func:`build_rpu_config` returns ``SingleRPUConfig(device=Cls(**fields))``;
:func:`build_noise_model` the drift noise model (or None). aihwkit is optional.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
from numba import njit
from scipy.optimize import least_squares

from ..catalog import Card
from .common import (
    EXPORT_SCHEMA_VERSION,
    ExportError,
    ExportResult,
    PhysicsResponse,
    PulseCondition,
    mapping_record,
    provenance,
    rmse,
    write_json,
)

FORMAT = "devicelib.export.aihwkit"
CONSTANT, LINEAR, EXP, POW, PIECEWISE = 0, 1, 2, 3, 4
N_NODES = 17  # piecewise nodes (aihwkit allows < 64)
MAX_NFEV = 300  # function evaluations per start of the least-squares fit

#: rule name -> (aihwkit class, kernel kind)
RULES = {
    "constant": ("ConstantStepDevice", CONSTANT),
    "linear": ("LinearStepDevice", LINEAR),
    "soft_bounds": ("SoftBoundsDevice", LINEAR),
    "exponential": ("ExpStepDevice", EXP),
    "power": ("PowStepDevice", POW),
    "piecewise": ("PiecewiseStepDevice", PIECEWISE),
}


@njit(cache=True)
def _step(kind, p, lo, hi, su, sd, ref_lo, ref_hi, w, up, noise):  # pragma: no cover - compiled
    """One pulse of aihwkit's rule (before clipping): device bounds ``lo, hi``, scales ``su, sd``, LinearStep
    slope references ``ref_lo, ref_hi`` and the cycle-to-cycle factor ``noise = 1 + dw_min_std xi``."""
    nn = (p.shape[0] - 4) // 2
    if kind == CONSTANT:
        return w + su * noise if up else w - sd * noise
    if kind == LINEAR:
        if up:
            slope = -p[4] * su / ref_hi if ref_hi != 0.0 else 0.0
            return w + (slope * w + su) * noise
        slope = -p[5] * sd / ref_lo if ref_lo != 0.0 else 0.0
        return w - (slope * w + sd) * noise
    if kind == EXP:
        bd = hi - lo
        if bd > 0.0:
            z = 2.0 * w / bd * p[8] + p[9]
            if up:
                y = 1.0 - p[4] * np.exp(p[6] * z)
                return w + (y if y > 0.0 else 0.0) * noise * su
            y = 1.0 - p[5] * np.exp(-p[7] * z)
            return w - (y if y > 0.0 else 0.0) * noise * sd
        return w
    if kind == POW:
        r = hi - lo
        if r != 0.0:
            if up:
                return w + su * ((hi - w) / r) ** p[4] * noise
            return w - sd * ((w - lo) / r) ** p[5] * noise
        return w
    # PIECEWISE
    if nn > 1 and hi > lo:
        nsec = nn - 1
        ws = (w - lo) / (hi - lo) * nsec
        if ws < 0.0:
            ws = 0.0
        j = int(np.floor(ws))
        if j > nsec - 1:
            j = nsec - 1
        t = ws - j
        if t > 1.0:
            t = 1.0
        if up:
            return w + su * ((1.0 - t) * p[4 + j] + t * p[5 + j]) * noise
        return w - sd * ((1.0 - t) * p[4 + nn + j] + t * p[5 + nn + j]) * noise
    return w


@njit(cache=True)
def _trace_ens(kind, p, lo, hi, su, sd, ref_lo, ref_hi, w0, d, xi, std):  # pragma: no cover - compiled
    """Weights (start, then after each pulse) of devices with their own bounds and scales, for directions
    ``d`` (+1 up, -1 down); ``xi`` (devices x pulses) standard normals of the cycle-to-cycle noise."""
    n_dev, n = lo.shape[0], d.shape[0]
    out = np.empty((n_dev, n + 1))
    for i in range(n_dev):
        w = min(max(w0, lo[i]), hi[i])  # set_weights clips to the bounds (onSetWeights)
        out[i, 0] = w
        for k in range(n):
            w = _step(kind, p, lo[i], hi[i], su[i], sd[i], ref_lo[i], ref_hi[i], w, d[k] > 0,
                      1.0 + std * xi[i, k])
            if w < lo[i]:
                w = lo[i]
            if w > hi[i]:
                w = hi[i]
            out[i, k + 1] = w
    return out


@njit(cache=True)
def _trace(kind, p, w0, d):  # pragma: no cover - compiled
    """Weights (start, then after each pulse) of the nominal device for directions ``d`` (+1 up, -1 down).

    ``p`` = [w_min, w_max, s_up, s_down, extra...]; extras per kind:
    LINEAR gamma_up, gamma_down; EXP A_up, A_down, gamma_up, gamma_down, a, b;
    POW gamma_up, gamma_down; PIECEWISE n up nodes then n down nodes.
    """
    one = np.ones(1)
    return _trace_ens(kind, p, one * p[0], one * p[1], one * p[2], one * p[3], one * p[0], one * p[1], w0, d,
                      np.zeros((1, d.shape[0])), 0.0)[0]


def rule_trace(rule: str, params: np.ndarray, w0: float, directions: np.ndarray) -> np.ndarray:
    """The target's rule replayed (deterministic part), weights including the start."""
    return _trace(RULES[rule][1], np.asarray(params, dtype=float), float(w0), np.asarray(directions, dtype=float))


# -- fitting ------------------------------------------------------------------------------
def _unpack(rule: str, x: np.ndarray) -> np.ndarray:
    """Optimiser vector -> kernel parameter vector."""
    if rule == "soft_bounds":
        return np.concatenate([x[:4], [1.0, 1.0]])
    if rule == "exponential":
        return np.concatenate([x[:8], [1.0, 0.0]])  # a = 1, b = 0 (redundant with A, gamma)
    if rule == "piecewise":
        return np.concatenate([x[:2], [1.0, 1.0], x[2:]])
    return np.asarray(x, dtype=float)


def _start(rule: str, w: np.ndarray, n_up: int, n_down: int, d: np.ndarray) -> list[tuple[np.ndarray, tuple]]:
    """Start vectors and bounds per rule (several starts where the problem is multimodal)."""
    s_up = max(abs(w[n_up] - w[0]) / n_up, 1e-6)
    s_dn = max(abs(w[n_up] - w[-1]) / n_down, 1e-6)
    wl, wh = -1.0, 1.0
    base_lo, base_hi = [-10.0, 1e-6, 1e-9, 1e-9], [-1e-6, 10.0, 2.0, 2.0]
    base = [wl, wh, s_up, s_dn]
    if rule == "constant":
        return [(np.array(base), (base_lo, base_hi))]
    if rule in ("linear", "soft_bounds"):
        if rule == "soft_bounds":
            return [(np.array([wl, wh, 2 * s_up, 2 * s_dn]), (base_lo, base_hi))]
        return [(np.array([*base, g, g]), ([*base_lo, 0.0, 0.0], [*base_hi, 50.0, 50.0])) for g in (0.5, 0.05)]
    if rule == "exponential":
        lo, hi = [*base_lo, -50.0, -50.0, -20.0, -20.0], [*base_hi, 50.0, 50.0, 20.0, 20.0]
        return [(np.array([*base, a, a, 1.0, 1.0]), (lo, hi)) for a in (0.3, -0.3)]
    if rule == "power":
        return [(np.array([*base, g, g]), ([*base_lo, 0.0, 0.0], [*base_hi, 20.0, 20.0])) for g in (1.0, 0.2)]
    if rule == "piecewise":
        # node factors from the observed steps, interpolated onto the node grid
        grid = np.linspace(wl, wh, N_NODES)
        nodes = []
        for sl, sign in ((slice(0, n_up + 1), 1.0), (slice(n_up, None), -1.0)):
            seg = w[sl]
            mid, step = 0.5 * (seg[1:] + seg[:-1]), sign * np.diff(seg)
            order = np.argsort(mid)
            nodes.append(np.clip(np.interp(grid, mid[order], step[order]), 0.0, None))
        x0 = np.concatenate([[wl, wh], nodes[0], nodes[1]])
        lo = [-10.0, 1e-6] + [0.0] * (2 * N_NODES)
        hi = [-1e-6, 10.0] + [2.0] * (2 * N_NODES)
        return [(x0, (lo, hi))]
    raise ExportError(f"unknown aihwkit rule {rule!r}")


def fit_rule(rule: str, w: np.ndarray, n_up: int, n_down: int) -> tuple[np.ndarray, float]:
    """Least-squares fit of one rule to the normalised physics trace; returns (kernel params, RMSE in w)."""
    d = np.concatenate([np.ones(n_up), -np.ones(n_down)])
    kind = RULES[rule][1]
    best = None
    for x0, (lo, hi) in _start(rule, w, n_up, n_down, d):
        x0 = np.clip(x0, np.asarray(lo) + 1e-12, np.asarray(hi) - 1e-12)

        def resid(x):
            return _trace(kind, _unpack(rule, x), float(w[0]), d) - w

        with np.errstate(over="ignore", invalid="ignore"):
            res = least_squares(lambda x: np.nan_to_num(resid(x), nan=10.0, posinf=10.0, neginf=-10.0), x0,
                                bounds=(lo, hi), max_nfev=MAX_NFEV)
        err = rmse(_trace(kind, _unpack(rule, res.x), float(w[0]), d), w)
        if best is None or err < best[1]:
            best = (_unpack(rule, res.x), err)
    return best


def _scales_to_fields(s_up: float, s_down: float) -> tuple[float, float]:
    """(dw_min, up_down) reproducing the one-sided C++ scales exactly."""
    if s_up >= s_down:
        return s_up, 1.0 - s_down / s_up
    return s_down, s_up / s_down - 1.0


def device_fields(rule: str, p: np.ndarray, noise: dict[str, float] | None = None) -> dict[str, Any]:
    """The aihwkit dataclass fields for a fitted rule: the deterministic part from the kernel vector ``p``
    and the variability terms ``noise`` already in aihwkit's units (:func:`noise_fields`; zeros if None)."""
    p = np.asarray(p, dtype=float)
    noise = noise or {}
    f: dict[str, Any] = {
        "w_min": float(p[0]), "w_max": float(p[1]),
        "dw_min_dtod": float(noise.get("dw_min_dtod", 0.0)),
        "dw_min_std": float(noise.get("dw_min_std", 0.0)),
        "w_min_dtod": float(noise.get("w_min_dtod", 0.0)),
        "w_max_dtod": float(noise.get("w_max_dtod", 0.0)),
        "up_down_dtod": 0.0,
        "dw_min_dtod_log_normal": False,
        "lifetime": 0.0,
        "diffusion": 0.0,
        "reset_std": 0.0,
        "enforce_consistency": True,
        "construction_seed": 0,
    }
    if rule != "constant":  # ConstantStepDevice has no write noise (aihwkit 1.2 dataclass fields)
        f["write_noise_std"] = 0.0
    if rule == "piecewise":
        up, down = p[4:4 + N_NODES], p[4 + N_NODES:]
        dw = float(max(up.max(), down.max(), 1e-12))
        f.update(dw_min=dw, up_down=0.0, piecewise_up=(up / dw).tolist(), piecewise_down=(down / dw).tolist())
        return f
    dw, ud = _scales_to_fields(float(p[2]), float(p[3]))
    f.update(dw_min=dw, up_down=ud)
    if rule == "linear":
        f.update(gamma_up=float(p[4]), gamma_down=float(p[5]), gamma_up_dtod=0.0, gamma_down_dtod=0.0,
                 mult_noise=True)
    elif rule == "soft_bounds":
        f.update(mult_noise=True)
    elif rule == "exponential":
        f.update(A_up=float(p[4]), A_down=float(p[5]), gamma_up=float(p[6]), gamma_down=float(p[7]),
                 a=float(p[8]), b=float(p[9]))
    elif rule == "power":
        g_up, g_dn = float(p[4]), float(p[5])
        gamma, pud = _scales_to_fields(g_up, g_dn)
        if gamma == 0:
            pud = 0.0
        f.update(pow_gamma=gamma, pow_up_down=pud, pow_gamma_dtod=0.0, pow_up_down_dtod=0.0)
    return f


def fields_to_kernel(rule: str, f: dict[str, Any]) -> np.ndarray:
    """Kernel parameters from dataclass fields (inverse of :func:`device_fields`, deterministic part)."""
    dw, ud = f["dw_min"], f.get("up_down", 0.0)
    su, sd = dw * (1 + min(ud, 0.0)), dw * (1 - max(ud, 0.0))
    head = [f["w_min"], f["w_max"], su, sd]
    if rule == "constant":
        return np.array(head)
    if rule == "soft_bounds":
        return np.array([*head, 1.0, 1.0])
    if rule == "linear":
        return np.array([*head, f["gamma_up"], f["gamma_down"]])
    if rule == "exponential":
        return np.array([*head, f["A_up"], f["A_down"], f["gamma_up"], f["gamma_down"], f["a"], f["b"]])
    if rule == "power":
        g, pu = f["pow_gamma"], f["pow_up_down"]
        return np.array([*head, g * (1 + min(pu, 0.0)), g * (1 - max(pu, 0.0))])
    if rule == "piecewise":
        return np.array([*head, *f["piecewise_up"], *f["piecewise_down"]])
    raise ExportError(f"unknown aihwkit rule {rule!r}")


N_PARAMS = {"constant": 4, "soft_bounds": 4, "linear": 6, "power": 6, "exponential": 8, "piecewise": 2 + 2 * N_NODES}


ENSEMBLE_DEVICES = 1024  # devices of the aihwkit-semantics ensemble replay behind the claimed ensemble errors
ENSEMBLE_TOL = 0.005  # ensemble-mean error (fraction of the window) a noise field may add over the best choice
_SHRINK = (1.0, 0.5, 0.25, 0.125, 0.0625, 0.03125, 0.0)  # fractions of a measured noise field tried


def _scale_params(rule: str, p: np.ndarray, c: float) -> np.ndarray:
    """Kernel parameters for weights multiplied by ``c`` (every rule is covariant: bounds and steps scale,
    shape parameters do not; piecewise steps live in the nodes)."""
    q = np.array(p, dtype=float)
    q[:2] *= c
    if rule == "piecewise":
        q[4:] *= c
    else:
        q[2:4] *= c
    return q


def device_population(rule: str, fields: dict[str, Any], n_devices: int, rng: np.random.Generator):
    """Per-device bounds, scales and LinearStep slope references as aihwkit 1.2 draws them at construction
    (``PulsedRPUDevice::populate``): ``w_max_i = w_max (1 + w_max_dtod xi)``, ``w_min_i = w_min (1 + w_min_dtod
    xi)``; ``scale_up_i = |(up_bias + 1 + dw_min_dtod xi) dw_min|`` (``scale_down`` alike, one gain per device);
    ``enforce_consistency`` swaps crossed bounds and forces ``w_min_i <= 0 <= w_max_i``. LinearStep refers
    its slopes to the mean bounds, SoftBounds to the device's own."""
    p = fields_to_kernel(rule, fields)
    dwm = float(fields["dw_min"])
    gain_dev = float(fields.get("dw_min_dtod", 0.0)) * rng.standard_normal(n_devices)
    su = np.abs(p[2] + dwm * gain_dev)
    sd = np.abs(p[3] + dwm * gain_dev)
    hi = p[1] * (1.0 + float(fields.get("w_max_dtod", 0.0)) * rng.standard_normal(n_devices))
    lo = p[0] * (1.0 + float(fields.get("w_min_dtod", 0.0)) * rng.standard_normal(n_devices))
    lo, hi = np.minimum(lo, hi), np.maximum(lo, hi)
    lo, hi = -np.abs(lo), np.abs(hi)
    if rule == "soft_bounds":
        ref_lo, ref_hi = lo, hi
    else:
        ref_lo, ref_hi = np.full(n_devices, p[0]), np.full(n_devices, p[1])
    return p, lo, hi, su, sd, ref_lo, ref_hi


def replay_ensemble(rule: str, fields: dict[str, Any], w0: float, directions, n_devices: int = ENSEMBLE_DEVICES,
                    seed: int = 0) -> np.ndarray:
    """Weights (devices x (1 + pulses)) of ``n_devices`` aihwkit devices built from ``fields``, one pulse
    per update, with aihwkit's device-to-device draws (:func:`device_population`) and its cycle-to-cycle
    factor ``(1 + dw_min_std xi)`` on every step, clipped to each device's bounds."""
    rng = np.random.default_rng(seed)
    p, lo, hi, su, sd, rlo, rhi = device_population(rule, fields, n_devices, rng)
    d = np.asarray(directions, dtype=float)
    xi = rng.standard_normal((n_devices, d.size))
    return _trace_ens(RULES[rule][1], p, lo, hi, su, sd, rlo, rhi, float(w0), d, xi,
                      float(fields.get("dw_min_std", 0.0)))


def noise_fields(rule: str, p: np.ndarray, resp: PhysicsResponse, c: float = 1.0) -> dict[str, float]:
    """The measured variability in aihwkit's units: ``dw_min_dtod`` (device gain spread, relative to
    ``dw_min``), ``dw_min_std`` (cycle-to-cycle step noise, relative to the step), ``w_min_dtod`` /
    ``w_max_dtod`` (standard deviation of the device's bound, relative to the bound ``w_min`` / ``w_max``, not
    to G: ``sigma_G * 2 c / (G_max - G_min) / |w_bound|``)."""
    st = resp.stats
    span = resp.g_max - resp.g_min
    to_w = 2.0 * c / span
    return {
        "dw_min_dtod": float(st.get("step_dtod", 0.0)),
        "dw_min_std": float(st.get("step_c2c", 0.0)),
        "w_min_dtod": float(st.get("g_min_dtod", 0.0) * abs(resp.g_min) * to_w / max(abs(p[0]), 1e-12)),
        "w_max_dtod": float(st.get("g_max_dtod", 0.0) * abs(resp.g_max) * to_w / max(abs(p[1]), 1e-12)),
    }


def ensemble_errors(resp: PhysicsResponse, w_mean: np.ndarray, w_std: np.ndarray, c: float) -> dict[str, float]:
    """RMSE of an ensemble's mean and spread (weights, scale ``c``) against devicelib's ensemble, as fractions
    of the window; without a devicelib ensemble the reference is the nominal trace with zero spread."""
    if resp.g_ensemble is not None:
        ref_mean, ref_std = resp.g_ensemble.mean(axis=0), resp.g_ensemble.std(axis=0)
    else:
        ref_mean, ref_std = resp.g_nominal, np.zeros_like(resp.g_nominal)
    span = resp.g_max - resp.g_min
    g_mean = resp.to_conductance(np.asarray(w_mean) / c)
    g_std = np.asarray(w_std) / c * span / 2.0
    return {"mean_rmse_relative_to_window": rmse(g_mean, ref_mean) / span,
            "spread_rmse_relative_to_window": rmse(g_std, ref_std) / span}


def choose_noise(rule: str, fields: dict[str, Any], resp: PhysicsResponse, w0: float, c: float,
                 n_devices: int = ENSEMBLE_DEVICES, seed: int = 0) -> tuple[dict[str, Any], dict[str, Any]]:
    """Cap the step-noise fields so that aihwkit's ensemble mean follows devicelib's.

    aihwkit multiplies each step by ``1 + dw_min_std xi`` and takes ``|.|`` of each device gain
    ``1 + dw_min_dtod xi``: a relative noise near or above 1 makes pulses move the wrong way and the bounded
    random walk drifts to the middle of the window. Each field is tried at fractions of its measured value
    (:data:`_SHRINK`); the largest whose ensemble-mean error stays within :data:`ENSEMBLE_TOL` of the best
    is written. Returns the fields and the record (measured and written values, ensemble errors)."""
    d = resp.directions()
    f = dict(fields)
    measured = {k: float(f[k]) for k in ("dw_min_std", "dw_min_dtod")}

    def errs(ff):
        w = replay_ensemble(rule, ff, w0, d, n_devices, seed)
        return ensemble_errors(resp, w.mean(axis=0), w.std(axis=0), c)

    for key in ("dw_min_std", "dw_min_dtod"):
        if measured[key] == 0.0:
            continue
        tried = [(fr * measured[key], errs({**f, key: fr * measured[key]})["mean_rmse_relative_to_window"])
                 for fr in _SHRINK]
        best = min(e for _, e in tried)
        f[key] = max(v for v, e in tried if e <= best + ENSEMBLE_TOL)
    rec = {"devices": n_devices, "seed": seed,
           "measured": measured, "written": {k: float(f[k]) for k in measured},
           **errs(f),
           "reference": (f"devicelib ensemble of {resp.g_ensemble.shape[0]} devices"
                         if resp.g_ensemble is not None else "nominal trace (card without variability)"),
           "method": "aihwkit semantics replayed in numpy (devicelib.export.aihwkit.replay_ensemble): one pulse "
                     "per update, device draws as PulsedRPUDevice::populate, step factor (1 + dw_min_std xi)"}
    return f, rec


def map_response(resp: PhysicsResponse, rules: list[str] | None = None, tolerance: float = 0.02,
                 n_devices: int = ENSEMBLE_DEVICES) -> dict[str, Any]:
    """Fit every rule; choose the best (the simplest within ``tolerance`` relative RMSE of the best); write
    the variability in aihwkit's units, capped so aihwkit's ensemble mean follows devicelib's
    (:func:`choose_noise`); rescale the weights when ``dw_min`` would exceed 1 (with ``lr = 1`` aihwkit
    fires a pulse only with probability ``lr / dw_min``)."""
    w = resp.to_weights(resp.g_nominal)
    rules = list(rules or RULES)
    fits = {r: fit_rule(r, w, resp.n_up, resp.n_down) for r in rules}
    best_err = min(e for _, e in fits.values())
    choice = min((r for r in rules if fits[r][1] <= best_err * (1 + tolerance) + 1e-15), key=lambda r: N_PARAMS[r])
    p = fits[choice][0]
    dw = float(device_fields(choice, p)["dw_min"])
    c = 1.0 / dw if dw > 1.0 else 1.0  # one update of lr = 1 is then exactly one pulse
    p = _scale_params(choice, p, c)
    w = c * w
    span = resp.g_max - resp.g_min
    w_rule = rule_trace(choice, p, w[0], resp.directions())
    g_rule = resp.to_conductance(w_rule / c)
    cands = {r: {"rmse": {"value": e * span / 2, "unit": "S"}, "device_class": RULES[r][0]}
             for r, (_, e) in fits.items()}
    fields, ens = choose_noise(choice, device_fields(choice, p, noise_fields(choice, p, resp, c)), resp, w[0], c,
                               n_devices=n_devices)
    record = mapping_record(choice, resp, g_rule, device_class=RULES[choice][0], candidates=cands, ensemble=ens)
    return {"rule": choice, "params": p, "fields": fields, "mapping": record, "w_physics": w, "w_rule": w_rule,
            "w_scale": c}


# -- drift (volatile models) ----------------------------------------------------------------------
def drift_table(card: Card, cond: PulseCondition, resp: PhysicsResponse, n_levels: int = 8,
                t0: float = 20.0, t1: float = 2e4) -> dict[str, Any] | None:
    """Power-law drift exponents nu(G) for ``CustomDriftPCMLikeNoiseModel``, or None (non-volatile).

    Levels span [0, G_max] of the exported window (aihwkit's conductance
    converter maps weights onto [0, g_max], and the custom model must cover that
    range); each level > 0 is programmed (``state_from_conductance``) and
    relaxed from ``t0`` to ``t1``, ``nu = -ln(G(t1)/G(t0)) / ln(t1/t0)``; the
    level at 0 takes the exponent of the lowest level. ``t0`` = 20 s is
    aihwkit's (and the Joshi 2020 model's) reference time. A model with a
    ``drift_nu_std(g)`` method (PCM: the published sigma_nu(G)) gives
    ``nu_std_lst``; otherwise it is 0.
    """
    model = card.model()
    if not model.volatile:
        return None
    g_levels = np.linspace(0.0, resp.g_max, n_levels)
    g_levels[0] = 0.0
    probe = g_levels.copy()
    probe[0] = g_levels[1] * 1e-3  # G = 0 cannot drift: probe a small conductance and reuse the lowest nu
    try:
        st = model.state_from_conductance(probe, cond.read_voltage)
    except (NotImplementedError, ValueError):
        return None
    a = model.relax(st, t0, cond.temperature)
    ga = model.conductance(a, cond.read_voltage)
    b = model.relax(a, t1 - t0, cond.temperature)
    gb = model.conductance(b, cond.read_voltage)
    with np.errstate(divide="ignore", invalid="ignore"):
        nu = -np.log(gb / ga) / np.log(t1 / t0)
    nu = np.where(np.isfinite(nu), nu, 0.0)
    nu[0] = nu[1]
    std = np.zeros_like(nu)
    if hasattr(model, "drift_nu_std"):
        std = np.asarray(model.drift_nu_std(probe), dtype=float)
        std[0] = std[1]
    vals = card.values()
    # aihwkit's PCMLikeNoiseModel adds the Joshi 2020 programming noise and 1/f read noise unless scaled to 0:
    # keep them only where the card's physics has them (the PCM statistical layer's own scales)
    pcm_stat = model.name.startswith("pcm.")
    prog = float(vals.get("prog_noise", 0.0)) if pcm_stat else 0.0
    read = float(vals.get("read_noise", 0.0)) if pcm_stat else 0.0
    return {
        "noise_model": "CustomDriftPCMLikeNoiseModel",
        "prog_noise_scale": prog, "read_noise_scale": read,
        "g_lst": (g_levels * 1e6).tolist(), "g_lst_unit": "uS",
        "nu_mean_lst": nu.tolist(), "nu_std_lst": std.tolist(),
        "g_max": resp.g_max * 1e6, "g_max_unit": "uS",
        "t_0": t0, "t_0_unit": "s",
        "method": f"program levels 0..g_max, relax from t0 = {t0:g} s to {t1:g} s at {cond.temperature:g} K; "
                  "nu = -dlnG/dlnt" + ("; nu_std from the model's sigma_nu(G)" if hasattr(model, "drift_nu_std")
                                       else ""),
    }


# -- writing and loading ----------------------------------------------------------------------------
def build_document(card: Card, cond: PulseCondition, resp: PhysicsResponse, mapped: dict[str, Any]) -> dict:
    return {
        "format": FORMAT,
        "schema_version": EXPORT_SCHEMA_VERSION,
        "device_class": RULES[mapped["rule"]][0],
        "fields": mapped["fields"],
        "rpu_config": "SingleRPUConfig",
        "weight_map": {
            "formula": "G = g_min + (w / w_scale + 1) / 2 * (g_max - g_min)  (w = -w_scale at g_min, +w_scale "
                       "at g_max)",
            "w_scale": mapped.get("w_scale", 1.0),
            "g_min": {"value": resp.g_min, "unit": "S"},
            "g_max": {"value": resp.g_max, "unit": "S"},
        },
        "update": {"learning_rate": 1.0, "desired_bl": 1, "update_bl_management": False,
                   "update_management": False,
                   "protocol": "one pulse per update: tile.update(x = [+1 or -1], d = [-1]) with lr = 1, "
                               "desired_bl = 1 and update (BL) management off; dw_min <= 1 so the pulse fires "
                               "with probability 1"},
        "drift": drift_table(card, cond, resp),
        "mapping": mapped["mapping"],
        "variability": resp.stats,
        "pulse_condition": cond.to_dict(),
        "response": {"directions": resp.directions().tolist(), "w_physics": mapped["w_physics"].tolist(),
                     "w_rule": mapped["w_rule"].tolist(), "unit": "normalised weight"},
        "provenance": provenance(card, cond, "aihwkit"),
    }


def write(card: Card, cond: PulseCondition, resp: PhysicsResponse, out: Path, rules=None) -> ExportResult:
    out = Path(out)
    if out.suffix.lower() != ".json":
        raise ExportError(f"aihwkit export writes a .json file, got {out.name!r}")
    mapped = map_response(resp, rules)
    doc = build_document(card, cond, resp, mapped)
    write_json(out, doc)
    return ExportResult("aihwkit", [out], cond, doc["mapping"], doc, doc["provenance"]["validity_warnings"])


def read(path: str | Path) -> dict[str, Any]:
    """Read and check an aihwkit export file."""
    path = Path(path)
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ExportError(f"{path}: no such file") from None
    except json.JSONDecodeError as exc:
        raise ExportError(f"{path}: not valid JSON ({exc})") from None
    if doc.get("format") != FORMAT:
        raise ExportError(f"{path}: not a devicelib aihwkit export (format {doc.get('format')!r})")
    if doc.get("device_class") not in {c for c, _ in RULES.values()}:
        raise ExportError(f"{path}: unknown device_class {doc.get('device_class')!r}")
    return doc


def _aihwkit():
    try:
        from aihwkit.simulator.configs import SingleRPUConfig, devices
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError("aihwkit is not installed: pip install 'devicelib[aihwkit]' (see docs/export/aihwkit.md)") \
            from exc
    return SingleRPUConfig, devices


def build_device(path_or_doc):
    """The aihwkit device dataclass named in the export, built from its fields."""
    doc = path_or_doc if isinstance(path_or_doc, dict) else read(path_or_doc)
    _, devices = _aihwkit()
    cls = getattr(devices, doc["device_class"])
    return cls(**doc["fields"])


def build_rpu_config(path_or_doc, pulse_per_update: bool = False):
    """``SingleRPUConfig(device=...)`` from an export file (requires aihwkit).

    ``pulse_per_update`` also applies the file's ``update`` block (``desired_bl = 1``, update and BL
    management off): with ``tile.set_learning_rate(1)`` and ``x, d = +-1`` each ``tile.update`` is then one
    device pulse, the protocol the mapping error is stated for. Without it, aihwkit's own update
    management applies (training use)."""
    SingleRPUConfig, _ = _aihwkit()
    doc = path_or_doc if isinstance(path_or_doc, dict) else read(path_or_doc)
    cfg = SingleRPUConfig(device=build_device(doc))
    if pulse_per_update:
        upd = doc.get("update") or {"desired_bl": 1, "update_bl_management": False, "update_management": False}
        cfg.update.desired_bl = int(upd["desired_bl"])
        cfg.update.update_bl_management = bool(upd["update_bl_management"])
        cfg.update.update_management = bool(upd["update_management"])
    return cfg


def build_noise_model(path_or_doc):
    """``CustomDriftPCMLikeNoiseModel`` for the export's drift table, or None when the card has no drift."""
    doc = path_or_doc if isinstance(path_or_doc, dict) else read(path_or_doc)
    drift = doc.get("drift")
    if not drift:
        return None
    from aihwkit.inference import CustomDriftPCMLikeNoiseModel

    return CustomDriftPCMLikeNoiseModel(
        {"g_lst": drift["g_lst"], "nu_mean_lst": drift["nu_mean_lst"], "nu_std_lst": drift["nu_std_lst"]},
        g_max=drift["g_max"], t_0=drift["t_0"],
        # files written before these keys existed: no programming / read noise the card did not state
        prog_noise_scale=float(drift.get("prog_noise_scale", 0.0)),
        read_noise_scale=float(drift.get("read_noise_scale", 0.0)),
    )
