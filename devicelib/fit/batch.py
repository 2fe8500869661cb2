"""Batch fitting: many devices fitted independently, vectorised and chunked.

Every trace of the measurement is one device with its own parameters. Two
solvers, both vectorised over devices (no Python loop over devices):

``method="lm"`` (default)
    a Levenberg-Marquardt iteration run for all devices of a chunk at once:
    the residuals of all devices are one (n, M) array, the forward-difference
    Jacobian costs p + 1 vectorised model evaluations, and the n small
    (p x p) damped normal equations are solved in one batched
    ``numpy.linalg.solve``; each device has its own damping, acceptance and
    convergence test. Parameters live in the fitter's scaled/log space and
    are kept inside their declared bounds by projection.
``method="sparse"``
    the chunk is one stacked ``scipy.optimize.least_squares`` problem (TRF)
    with a block-diagonal ``jac_sparsity``: scipy groups the columns so a
    Jacobian again costs p + 1 evaluations.

Chunking: ``fit_batch`` splits the devices into chunks of ``chunk`` devices.
A numpy-backed measurement is processed chunk by chunk in this process (with
a progress callback or bar). A dask-backed one (``data.chunk({"trace": k})``)
goes through ``xarray.apply_ufunc(..., dask="parallelized")``: the same
code runs on the threaded scheduler or, when a ``dask.distributed`` Client
exists, on its cluster (workers need devicelib installed). With ``client=`` a
numpy-backed measurement is scattered to the workers chunk by chunk (no data in
the task graph); :func:`local_cluster` starts a cluster laid out and thread-pinned
for this (one single-threaded worker process per core by default).

Per device the result gives values and standard errors (from the Jacobian at
the solution, scaled by the reduced chi-square), RMSE, chi-square, reduced
chi-square, iterations and a convergence flag (converged, finite standard
errors and a condition number below 1e8).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable

import numpy as np
import xarray as xr

from ..core import DeviceModel
from ..measurement import check_values, read_voltage, validate
from ..simulate import replay
from .core import COND_LIMIT, ParamSpace
from .errors import FitError

FIELDS_PER_PARAM = ("value", "stderr")
SCALARS = ("rmse", "chisqr", "redchi", "nfev", "converged", "condition")


def noise_per_trace(g: np.ndarray) -> np.ndarray:
    """Vectorised per-trace noise: 1.4826 MAD(second differences) / sqrt(6), NaN ignored."""
    d2 = np.diff(g, n=2, axis=-1)
    with np.errstate(all="ignore"):
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            med = _nanmedian_rows(d2)[..., None]
            mad = _nanmedian_rows(np.abs(d2 - med))
    s = 1.4826 * mad / np.sqrt(6.0)
    pooled = np.nanmedian(s[np.isfinite(s) & (s > 0)]) if np.any(np.isfinite(s) & (s > 0)) else 1.0
    return np.where(np.isfinite(s) & (s > 0), s, pooled)


def _nanmedian_rows(a: np.ndarray) -> np.ndarray:
    """``np.nanmedian(a, axis=-1)`` without its per-row Python loop (numpy loops over rows for long
    rows): ``np.median`` when there is no NaN, else a sort (NaN last) and the middle finite values."""
    if not np.isnan(a).any():
        return np.median(a, axis=-1)
    s = np.sort(a, axis=-1)
    k = np.sum(~np.isnan(a), axis=-1)
    lo = np.take_along_axis(s, np.maximum((k - 1) // 2, 0)[..., None], axis=-1)[..., 0]
    hi = np.take_along_axis(s, np.maximum(k // 2, 0)[..., None], axis=-1)[..., 0]
    return np.where(k > 0, (lo + hi) / 2, np.nan)


def _fused_rule(model) -> bool:
    """True for the phenomenological rules replayed by the baselines' own kernel: their residuals and
    Jacobian columns are computed by :func:`._batch_kernels.rule_residual` in one compiled pass."""
    from ..physics.baselines import PulseResponseModel

    return isinstance(model, PulseResponseModel) and type(model).replay_trace is PulseResponseModel.replay_trace


def _unchecked(model: DeviceModel, values: dict) -> DeviceModel:
    new = object.__new__(type(model))
    new.params = dict(model.params)
    new.params.update(values)
    new.rng = model.rng
    return new


class _Block:
    """One chunk of devices: data, masks, forward model in the fitter's parameter space."""

    def __init__(self, model, space, g, amp, width, interval, temp, vr, normalised, initial, sigma):
        self.model, self.space = model, space
        valid = np.isfinite(g)
        if initial not in ("first", "fit", "model"):
            raise FitError(f"initial must be 'first', 'fit' or 'model', got {initial!r}")
        self.first = 0 if initial == "model" else 1
        # initial="fit": the start read is a data point like the others; the start state is a fitted
        # nuisance parameter per device (its shift from the first read, in units of sigma, last column)
        self.fit_start = initial == "fit"
        self.lo = np.r_[space.lo, -10.0] if self.fit_start else space.lo
        self.hi = np.r_[space.hi, 10.0] if self.fit_start else space.hi
        self.g0 = g[:, 0]
        self.vr, self.normalised = vr, normalised
        sl = slice(self.first, None)
        self.conds = [np.ascontiguousarray(np.where(valid, c, d)[:, sl])
                      for c, d in ((amp, 0.0), (width, 0.0), (interval, 0.0), (temp, 300.0))]
        self.mask = valid[:, sl]
        sig = noise_per_trace(g) if sigma is None else np.broadcast_to(np.asarray(sigma, float), (g.shape[0],))
        self.sig = sig
        self.target = np.where(self.mask, g[:, sl], 0.0)
        self.w = np.where(self.mask, 1.0 / sig[:, None], 0.0)
        self._rows = (None, None)
        self.fused = _fused_rule(model)
        if self.fused:  # the pulse directions, once (replay_trace derives them on every call)
            a, wd = self.conds[0], self.conds[1]
            self.conds = [np.ascontiguousarray(np.where(wd > 0, np.sign(a), 0.0))]

    def _gather(self, idx: np.ndarray | None):
        """Pulse conditions, targets and weights of the devices ``idx``: the arrays themselves for all
        devices; a fancy-indexed copy made once per active set (the LM loop and the Jacobian's p
        columns call ``resid`` many times with the same ``idx``), not once per evaluation."""
        n = self.target.shape[0]
        if idx is None or (idx.size == n and idx[0] == 0 and idx[-1] == n - 1):
            return (*self.conds, self.target, self.w)
        last, rows = self._rows
        if last is not None and last.size == idx.size and np.array_equal(last, idx):
            return rows
        rows = tuple(np.ascontiguousarray(a[idx]) for a in (*self.conds, self.target, self.w))
        self._rows = (idx.copy(), rows)
        return rows

    def resid(self, x: np.ndarray, idx: np.ndarray | None = None) -> np.ndarray:
        """Weighted residuals (len(idx), M) for internal parameters x (len(idx), p)."""
        if self.fused:
            out = np.empty((x.shape[0], self.target.shape[1] + self.fit_start))
            self._fused_resid(x, idx, out)
            return out
        amp, width, interval, temp, target, weight = self._gather(idx)
        idx = np.arange(self.target.shape[0]) if idx is None else idx
        p = len(self.space.names)
        trial = _unchecked(self.model, self.space.to_values(x[:, :p]))
        g0 = self.g0[idx] + (x[:, p] * self.sig[idx] if self.fit_start else 0.0)
        g0 = self.model.from_weight(g0) if self.normalised else g0
        try:
            with np.errstate(all="ignore"):
                st = trial.state_from_conductance(g0, self.vr) if self.first else trial.initial_state(idx.size)
                pred = replay(trial, st, amp, width, interval, temp, self.vr)
        except (ValueError, FloatingPointError, RuntimeError, ZeroDivisionError):
            return np.full((idx.size, self.target.shape[1] + self.fit_start), 1e6)
        if self.normalised:
            pred = self.model.to_weight(pred)
        r = (pred - target) * weight
        if self.fit_start:
            r = np.concatenate([r, x[:, p:p + 1]], axis=1)
        return np.where(np.isfinite(r), r, 1e6)

    def _fused_resid(self, x, idx, out, r0=None, step=None) -> None:
        """:meth:`resid` of a baseline rule in one compiled pass, written into ``out``; with ``r0`` and
        ``step`` the forward-difference quotient ``(resid - r0) / step`` (a Jacobian column) instead."""
        from ._batch_kernels import BAD, rule_residual

        (d, target, weight) = self._gather(idx)
        n, M = target.shape
        idx = np.arange(self.target.shape[0]) if idx is None else idx
        p = len(self.space.names)
        trial = _unchecked(self.model, self.space.to_values(x[:, :p]))
        g0 = self.g0[idx] + (x[:, p] * self.sig[idx] if self.fit_start else 0.0)
        g0 = self.model.from_weight(g0) if self.normalised else g0
        jac = r0 is not None
        try:
            with np.errstate(all="ignore"):
                st = trial.state_from_conductance(g0, self.vr) if self.first else trial.initial_state(n)
                w0 = np.ascontiguousarray(np.broadcast_to(np.asarray(st["w"], float), (n,)))

                def col(v):
                    return np.ascontiguousarray(np.broadcast_to(np.asarray(v, float), (n,)))

                rule_residual(trial._kind, trial._matrix(n), trial._n_nodes, w0, d,
                              col(trial.params["g_offset"]), col(trial.params["g_ref"]),
                              col(self.model.params["g_offset"]), col(self.model.params["g_ref"]),
                              bool(self.normalised), target, weight,
                              r0 if jac else target, step if jac else g0, jac, out)  # fills out[:, :M]
        except (ValueError, FloatingPointError, RuntimeError, ZeroDivisionError):
            out[:] = BAD
            if jac:
                out[:] = (out - r0) / step[:, None]
            return
        if self.fit_start:
            last = x[:, p]
            out[:, M] = (last - r0[:, M]) / step if jac else last

    def jac(self, x, idx, r0):
        """Forward-difference Jacobian, returned transposed as (n, p, M): each column is written
        contiguously and J^T J is a batched matrix product."""
        n, p = x.shape
        J = np.empty((n, p, r0.shape[1]))
        hi = self.hi
        cols = []
        for j in range(p):
            h = 1e-6 * np.maximum(1.0, np.abs(x[:, j]))
            xp = x.copy()
            up = x[:, j] + h <= hi[j]
            xp[:, j] = np.where(up, x[:, j] + h, x[:, j] - h)
            step = xp[:, j] - x[:, j]
            if self.fused:
                cols.append((xp, step))
            else:
                J[:, j, :] = (self.resid(xp, idx) - r0) / step[:, None]
        if self.fused and not self._fused_jac(cols, idx, r0, J):
            for j, (xp, step) in enumerate(cols):  # a trial state could not be set: column by column
                self._fused_resid(xp, idx, J[:, j, :], r0, step)
        return J

    def _fused_jac(self, cols, idx, r0, J) -> bool:
        """Every Jacobian column of a baseline rule in one compiled call (see ``rule_jacobian``);
        False when a trial start state cannot be set (then :meth:`jac` goes column by column)."""
        from ._batch_kernels import rule_jacobian

        d, target, weight = self._gather(idx)
        n, M = target.shape
        idx = np.arange(self.target.shape[0]) if idx is None else idx
        p = len(self.space.names)
        k = len(cols)
        w0, off, ref, steps = (np.empty((k, n)) for _ in range(4))
        mats = kind = n_nodes = None
        for j, (xp, step) in enumerate(cols):
            trial = _unchecked(self.model, self.space.to_values(xp[:, :p]))
            g0 = self.g0[idx] + (xp[:, p] * self.sig[idx] if self.fit_start else 0.0)
            g0 = self.model.from_weight(g0) if self.normalised else g0
            try:
                with np.errstate(all="ignore"):
                    st = trial.state_from_conductance(g0, self.vr) if self.first else trial.initial_state(n)
            except (ValueError, FloatingPointError, RuntimeError, ZeroDivisionError):
                return False
            P = trial._matrix(n)
            if mats is None:
                mats = np.empty((k, n, P.shape[1]))
                kind, n_nodes = trial._kind, trial._n_nodes
            mats[j] = P  # a shared (1, k) row broadcasts to every device
            w0[j] = np.asarray(st["w"], float)
            off[j], ref[j] = trial.params["g_offset"], trial.params["g_ref"]
            steps[j] = step
        col = [np.ascontiguousarray(np.broadcast_to(np.asarray(self.model.params[q], float), (n,)))
               for q in ("g_offset", "g_ref")]
        with np.errstate(all="ignore"):
            rule_jacobian(kind, mats, n_nodes, w0, d, off, ref, col[0], col[1], bool(self.normalised), target,
                          weight, r0, steps, J)  # fills J[:, :, :M]; J whole keeps its rows contiguous (SIMD)
        if self.fit_start:
            for j, (xp, step) in enumerate(cols):
                J[:, j, M] = (xp[:, p] - r0[:, M]) / step
        return True


def _lm(block: _Block, x0: np.ndarray, max_iter: int = 100, ftol: float = 1e-10, xtol: float = 1e-10):
    """Vectorised Levenberg-Marquardt over devices; returns x, cost, iterations, converged."""
    x = x0.copy()
    n, p = x.shape
    lo, hi = block.lo, block.hi
    r = block.resid(x)
    cost = np.sum(r**2, axis=1)
    lam = np.full(n, 1e-3)
    done = np.zeros(n, bool)
    conv = np.zeros(n, bool)
    nfev = np.ones(n, int)
    for _ in range(max_iter):
        idx = np.flatnonzero(~done)
        if idx.size == 0:
            break
        xa, ra = x[idx], r[idx]
        J = block.jac(xa, idx, ra)
        nfev[idx] += p
        A = J @ J.transpose(0, 2, 1)  # J^T J (J is stored transposed)
        grad = (J @ ra[:, :, None])[:, :, 0]
        diag = np.einsum("nii->ni", A)
        diag = np.maximum(diag, 1e-12 * np.maximum(diag.max(axis=1, keepdims=True), 1e-300))
        for _inner in range(8):  # raise damping until a step lowers the cost (per device)
            M = A + (lam[idx, None] * diag)[:, :, None] * np.eye(p)[None]
            try:
                delta = -np.linalg.solve(M, grad[..., None])[..., 0]
            except np.linalg.LinAlgError:
                delta = -np.einsum("nij,nj->ni", np.linalg.pinv(M), grad)
            xn = np.clip(xa + delta, lo, hi)
            rn = block.resid(xn, idx)
            nfev[idx] += 1
            cn = np.sum(rn**2, axis=1)
            ok = cn < cost[idx]
            small = np.linalg.norm(xn - xa, axis=1) <= xtol * (np.linalg.norm(xa, axis=1) + xtol)
            # accept improving steps
            acc = idx[ok]
            rel = (cost[acc] - cn[ok]) / np.maximum(cost[acc], 1e-300)
            x[acc], r[acc], cost[acc] = xn[ok], rn[ok], cn[ok]
            lam[acc] = np.maximum(lam[acc] / 10.0, 1e-12)
            fin = acc[(rel <= ftol) | small[ok]]
            conv[fin] = True
            done[fin] = True
            rej = idx[~ok]
            lam[rej] *= 10.0
            stuck = rej[(lam[rej] > 1e12) | small[~ok]]
            conv[stuck] = True  # no descent direction left: a (local) minimum
            done[stuck] = True
            if ok.all():
                break
            keep = ~ok & ~done[idx]
            idx, xa, ra = idx[keep], xa[keep], ra[keep]
            A, grad, diag = A[keep], grad[keep], diag[keep]
            if idx.size == 0:
                break
    return x, cost, nfev, conv


def _sparse(block: _Block, x0: np.ndarray, max_nfev: int = 200):
    import scipy.sparse as sp
    from scipy.optimize import least_squares

    n, p = x0.shape
    M = block.target.shape[1] + block.fit_start
    S = sp.kron(sp.identity(n, format="csr"), np.ones((M, p)), format="csr")
    lo = np.tile(block.lo, n)
    hi = np.tile(block.hi, n)

    def fun(z):
        return block.resid(z.reshape(n, p)).ravel()

    res = least_squares(fun, x0.ravel(), jac_sparsity=S, bounds=(lo, hi), method="trf", tr_solver="lsmr",
                        max_nfev=max_nfev, x_scale="jac")
    x = res.x.reshape(n, p)
    r = res.fun.reshape(n, M)
    conv = np.full(n, res.status > 0)
    return x, np.sum(r**2, axis=1), np.full(n, res.nfev), conv


def _block_fit(g, amp, width, interval, temp, *, model, vary, x0, method, initial, sigma, vr, normalised,
               max_iter):
    """Fit one chunk; returns (n, 2p + len(SCALARS)) floats."""
    g = np.asarray(g, float)
    space = _space(model, vary, x0)
    block = _Block(model, space, g, np.asarray(amp, float), np.asarray(width, float), np.asarray(interval, float),
                   np.asarray(temp, float), vr, normalised, initial, sigma)
    n = g.shape[0]
    p = len(vary)
    start = np.tile(np.r_[space.x0, 0.0] if block.fit_start else space.x0, (n, 1))
    if method == "lm":
        x, cost, nfev, conv = _lm(block, start, max_iter=max_iter)
    elif method == "sparse":
        x, cost, nfev, conv = _sparse(block, start, max_nfev=max_iter * (p + 1))
    else:
        raise FitError(f"batch method must be 'lm' or 'sparse', got {method!r}")
    m = block.mask.sum(axis=1) + block.fit_start
    dof = np.maximum(m - p - block.fit_start, 1)
    redchi = cost / dof
    # standard errors and conditioning from the Jacobian at the solution
    r = block.resid(x)
    J = block.jac(x, np.arange(n), r)
    sv = np.linalg.svd(J, compute_uv=False)
    with np.errstate(divide="ignore", invalid="ignore"):
        cond = sv[:, 0] / sv[:, -1]
        A = J @ J.transpose(0, 2, 1)
        try:
            cov = np.linalg.inv(A)
        except np.linalg.LinAlgError:
            cov = np.linalg.pinv(A)
        ex = np.sqrt(np.abs(np.einsum("nii->ni", cov)) * redchi[:, None])
    vals = space.to_values(x[:, :p])
    out = np.empty((n, 2 * p + len(SCALARS)))
    for j, name in enumerate(vary):
        v = np.asarray(vals[name], float)
        out[:, j] = v
        out[:, p + j] = np.where(space.log[j], v * np.log(10) * ex[:, j], ex[:, j] * space.scale[j])
    rr = r[:, : block.target.shape[1]]
    pred_res = rr / np.where(block.w > 0, block.w, np.inf)
    nm = block.mask.sum(axis=1)
    rmse = np.sqrt(np.sum(pred_res**2 * block.mask, axis=1) / np.maximum(nm, 1))
    out[:, 2 * p] = rmse
    out[:, 2 * p + 1] = cost
    out[:, 2 * p + 2] = redchi
    out[:, 2 * p + 3] = nfev
    out[:, 2 * p + 4] = (conv & np.all(np.isfinite(ex), axis=1) & (cond < COND_LIMIT)).astype(float)
    out[:, 2 * p + 5] = cond
    return out


def _space(model, vary, x0):
    space = ParamSpace(model, vary, x0)
    return space


def _start(model: DeviceModel, data: xr.Dataset, vary, guess: bool, normalised: bool) -> tuple[DeviceModel, dict]:
    start = {n: float(model.params[n]) for n in vary}
    if guess and hasattr(model, "guess"):
        # the same start for every chunk and every backend: a guess from the first (up to) 200 devices
        g = np.asarray(data["conductance"][: min(200, data.sizes["trace"])].values)
        amp = data["amplitude"][: g.shape[0]].values
        held = {}
        g_si = model.from_weight(g) if normalised else g
        for k, v in model.guess(g_si, amp, normalise=not normalised).items():
            if k in start:
                start[k] = v
            elif (k in getattr(model, 'guess_sets_held', ()) and np.ndim(model.params[k]) == 0
                  and model.params[k] == model.parameter(k).default):
                held[k] = v
        if held:
            model = model.with_params(**held)
    return model, start


def fit_batch(
    model: DeviceModel | str,
    data: xr.Dataset,
    vary: list[str] | None = None,
    *,
    method: str = "lm",
    initial: str = "fit",
    sigma=None,
    v_read=None,
    chunk: int = 1000,
    max_iter: int = 100,
    guess: bool = True,
    progress: bool | Callable[[int, int], None] = False,
    workers: int | None = None,
    client=None,
) -> xr.Dataset:
    """Fit ``vary`` of ``model`` to every trace of ``data`` independently (one device per trace).

    Returns a Dataset with ``value`` and ``stderr`` (trace, param) and ``rmse``,
    ``chisqr``, ``redchi``, ``nfev``, ``converged``, ``condition`` (trace).
    ``initial="fit"`` (default) fits each device's start state as a nuisance parameter, so the
    noise of the first read enters the standard errors; ``"first"`` starts exactly at the first
    read (cheaper, but then the standard errors ignore that read's noise); ``"model"`` starts from
    ``model.initial_state``.
    ``progress`` is a callback ``(devices_done, total)`` or True for a bar
    (rich for in-process chunks, dask's progress bar for dask-backed data).
    ``workers``: threads fitting chunks in parallel in this process (default: the number of
    cores for models whose replay kernel is serial and releases the GIL, ``replay_thread_safe``
    (the baselines), else 1: numba's default threading layer does not allow concurrent calls of
    parallel kernels). ``client``: a ``dask.distributed`` Client
    (of :func:`local_cluster`, or of a running deployment: ``Client("tcp://scheduler:8786")``): a
    numpy-backed measurement is then scattered to the workers chunk by chunk
    (``client.scatter``, each chunk as one object to the worker thread that has just finished one),
    so no data travel inside the task graph, and each chunk is one task running the same code as in
    process (same results).
    """
    if isinstance(model, str):
        from ..registry import get_model

        model = get_model(model)
    dask_backed = hasattr(data["conductance"].data, "dask")
    names = ("conductance", "amplitude", "width", "interval", "temperature")
    if not dask_backed:
        # the schema here; the values chunk by chunk where each chunk is fitted (check_values: on both
        # threads or workers at once, not over the whole measurement serially before the first chunk)
        data = validate(data, values=False)
        where = data.attrs.get("source") or "measurement"
        arrs = [data.variables[k].values for k in names]
        labels = data.variables["trace"].values
        g_units = data.variables["conductance"].attrs["units"]
        head = min(200, arrs[0].shape[0])  # the traces _start's guess reads, checked before it
        check_values(where, labels[:head], g_units, *(x[:head] for x in arrs))
    normalised = data["conductance"].attrs.get("units") == ""
    if normalised and not getattr(model, "supports_normalised", False):
        raise FitError(f"{model.name} predicts conductance in S but the measurement is normalised (unit '')")
    if data["amplitude"].attrs.get("units") != model.amplitude_unit:
        raise FitError(f"{model.name} is driven in {model.amplitude_unit}; the amplitudes are in "
                       f"{data['amplitude'].attrs.get('units')}")
    vr = 0.1 if normalised and v_read is None and "read_voltage" not in data.attrs else read_voltage(data, v_read)
    if vary is None:
        from .core import default_vary

        vary = default_vary(model, data)
    vary = list(vary)
    for name in vary:
        model.parameter(name)
    if data.sizes["pulse"] - (1 if initial == "first" else 0) <= len(vary):
        raise FitError(f"{data.sizes['pulse']} pulses per trace cannot determine {len(vary)} parameters")
    model, x0 = _start(model, data, vary, guess, normalised)
    kw = {"model": model, "vary": vary, "x0": x0, "method": method, "initial": initial, "sigma": sigma, "vr": vr,
          "normalised": normalised, "max_iter": max_iter}
    nf = 2 * len(vary) + len(SCALARS)
    t0 = time.perf_counter()
    if not dask_backed:
        ckw = {**kw, "where": where, "g_units": g_units}  # what _fit_parts needs to check a chunk's values
    if client is not None and not dask_backed:
        arr = _fit_scattered(client, arrs, labels, chunk, ckw, nf, progress)
    elif dask_backed:
        args = [data[k].chunk({"pulse": -1}) for k in names]
        out = xr.apply_ufunc(
            _block_fit, *args, input_core_dims=[["pulse"]] * 5, output_core_dims=[["field"]],
            dask="parallelized", output_dtypes=[float], dask_gufunc_kwargs={"output_sizes": {"field": nf}},
            kwargs=kw,
        )
        out = _compute(out, progress)
        arr = out.values
    else:
        n = data.sizes["trace"]
        arr = np.empty((n, nf))
        bar = _bar(progress, n)
        starts = list(range(0, n, chunk))
        if workers is None:  # threads only where the replay kernel is serial and nogil (numba's default
            # workqueue threading layer aborts on concurrent calls of parallel kernels)
            workers = (os.cpu_count() or 1) if getattr(model, "replay_thread_safe", False) else 1
        nw = max(1, min(len(starts), workers))

        def one(a):
            b = min(a + chunk, n)
            arr[a:b] = _fit_parts([*(x[a:b] for x in arrs), labels[a:b]], ckw)
            return b - a

        if nw == 1:
            for a in starts:
                one(a)
                bar(min(a + chunk, n), n)
        else:  # chunks on a thread pool: the kernels and numpy's batched solves release the GIL
            from concurrent.futures import ThreadPoolExecutor, as_completed

            done = 0
            with ThreadPoolExecutor(nw) as pool:
                futs = [pool.submit(one, a) for a in starts]
                try:
                    for fut in as_completed(futs):
                        done += fut.result()
                        bar(done, n)
                except BaseException:  # a chunk's bad values: no more chunks are started
                    for fut in futs:
                        fut.cancel()
                    raise
        bar(None, n)
    p = len(vary)
    units = [model.parameter(v).unit for v in vary]
    ds = xr.Dataset(
        {
            "value": (("trace", "param"), arr[:, :p]),
            "stderr": (("trace", "param"), arr[:, p:2 * p]),
            "rmse": (("trace",), arr[:, 2 * p], {"units": "" if normalised else "S"}),
            "chisqr": (("trace",), arr[:, 2 * p + 1]),
            "redchi": (("trace",), arr[:, 2 * p + 2]),
            "nfev": (("trace",), arr[:, 2 * p + 3].astype(int)),
            "converged": (("trace",), arr[:, 2 * p + 4] > 0.5),
            "condition": (("trace",), arr[:, 2 * p + 5]),
        },
        coords={"trace": data["trace"].values, "param": vary, "unit": ("param", units)},
        attrs={"model": model.name, "method": method, "elapsed_s": time.perf_counter() - t0,
               "normalised": int(normalised)},
    )
    return ds


def _block_fit_rows(g, *conds, **kw):
    """:func:`_block_fit` of a scattered chunk whose shared pulse conditions came as one row each."""
    return _block_fit(g, *(np.broadcast_to(c, g.shape) for c in conds), **kw)


def _fit_parts(parts, kw):
    """One chunk, in process or on a dask worker (the same code: the same results): ``parts`` =
    [conductance, amplitude, width, interval, temperature, trace labels], a pulse condition shared
    by the chunk possibly as one row; its values checked first (:func:`check_values`: the error
    names the measurement (``kw["where"]``) and the trace), then fitted by :func:`_block_fit`."""
    *arrays, labels = parts
    check_values(kw["where"], labels, kw["g_units"], *arrays)
    return _block_fit_rows(*arrays, **{k: v for k, v in kw.items() if k not in ("where", "g_units")})


_SERIAL = None  # a process-wide lock for models whose replay kernels are numba-parallel (see _fit_chunk)


def _fit_chunk(parts, kw):
    """One scattered chunk on a dask worker: ``parts`` (see :func:`_fit_parts`) arrived as one object
    (so all of it sits on one worker), checked and fitted by the same :func:`_fit_parts` as in
    process, with the worker's threads pinned: BLAS to one thread (the batched solves are 5 x 5:
    BLAS threads only contend), numba to one thread per task when the worker runs several tasks at
    once, and the models whose kernels are numba-parallel one task at a time per process (numba's
    default threading layer aborts on concurrent parallel calls)."""
    import threading

    from .core import _blas_limit

    global _SERIAL
    try:
        from distributed import get_worker

        nthreads = get_worker().state.nthreads
    except (ImportError, ValueError):  # run outside a worker (tests call it directly)
        nthreads = 1
    lock = None
    if nthreads > 1:
        import numba

        numba.set_num_threads(1)  # thread-local: this task's thread only
        if not getattr(kw["model"], "replay_thread_safe", False):
            if _SERIAL is None:
                _SERIAL = threading.Lock()
            lock = _SERIAL
    with _blas_limit(0, 0):
        if lock is None:
            return _fit_parts(parts, kw)
        with lock:
            return _fit_parts(parts, kw)


def _chunk_parts(arrs, labels, a, chunk):
    """The parts of chunk ``a`` (see :func:`_fit_parts`): conductances whole; a pulse condition the
    same for every device of the chunk (a shared pulse train, one width, one temperature) as one row
    (1/5 of the bytes); the chunk's trace labels (for the error messages of its checks)."""
    parts = [np.ascontiguousarray(x[a:a + chunk]) for x in arrs]
    return parts[:1] + [x[:1] if x.shape[0] > 1 and (x == x[:1]).all() else x for x in parts[1:]] + \
        [labels[a:a + chunk]]


def _worker_slots(client) -> list:
    """One entry (the worker's address) per worker thread of the cluster; ``[None]`` (let the scheduler
    place) when the client cannot tell."""
    try:
        info = client.scheduler_info()["workers"]
        slots = [w for w, d in sorted(info.items()) for _ in range(max(1, int(d.get("nthreads", 1))))]
    except (AttributeError, KeyError, TypeError):
        slots = []
    # interleaved (a, b, a, b rather than a, a, b, b): the first chunks go to different workers
    order = sorted(range(len(slots)), key=lambda i: (slots[:i].count(slots[i]), i))
    return [slots[i] for i in order] or [None]


def _scatter_direct(client, slots) -> bool | None:
    """Scatter straight to the workers (one hop, not client -> scheduler -> worker: half the client's
    CPU per chunk, measured) when they run on the scheduler's host, as in a LocalCluster; else the
    client's own setting (a client outside a deployment's network reaches only the scheduler)."""
    own = getattr(client, "direct_to_workers", None)
    if own is not None or None in slots:
        return own
    from distributed.comm import get_address_host

    try:
        host = get_address_host(client.scheduler.address)
        return all(get_address_host(w) == host for w in slots) or None
    except (AttributeError, ValueError, TypeError):
        return None


def _fit_scattered(client, arrs, labels, chunk, kw, nf, progress, ahead: int = 2) -> np.ndarray:
    """One task per chunk on a dask.distributed cluster, fed as the workers free up.

    Each chunk's arrays are scattered as one object to one worker thread and its task submitted next to
    them (no task fetches a piece from another worker; the graph holds only the reference and the fit
    options, a few hundred bytes). ``ahead`` chunks per worker thread are in flight: one computing, the
    next already on the worker, so a worker never waits for data. When a chunk's result comes back, the
    next chunk goes to the thread that fitted it: the workers finish together (a slower worker, or one
    sharing its core with other jobs, is given fewer chunks; a fixed round robin left one worker
    computing while the other idled) and each worker holds ``ahead`` chunks of data (one more while
    the scheduler releases a fitted one), not a share of the whole measurement. The
    results come back as compact (chunk, fields) float arrays, gathered in the background
    (``as_completed(with_results=True)``) while this loop scatters the next chunk."""
    from distributed import as_completed

    n = arrs[0].shape[0]
    todo = iter(range(0, n, chunk))
    slots = _worker_slots(client)
    direct = _scatter_direct(client, slots)
    placed = {}  # task key -> (first device of its chunk, worker thread)
    running = as_completed(with_results=True)

    def feed(slot):
        a = next(todo, None)
        if a is None:
            return
        where = None if slot is None else [slot]
        # hash=False: no tokenising of megabytes of data; the chunk travels as one object
        [data] = client.scatter([_chunk_parts(arrs, labels, a, chunk)], workers=where, hash=False, direct=direct)
        fut = client.submit(_fit_chunk, data, kw, pure=False)
        placed[fut.key] = (a, slot)
        running.add(fut)

    for _ in range(max(1, ahead)):
        for slot in slots:
            feed(slot)
    bar = _bar(progress, n)
    arr = np.empty((n, nf))
    done = 0
    for fut, block in running:
        a, slot = placed.pop(fut.key)
        feed(slot)
        arr[a:a + block.shape[0]] = block
        done += block.shape[0]
        bar(done, n)
    bar(None, n)
    return arr


def cluster_layout(n_workers: int | None = None, threads_per_worker: int | None = None,
                   cores: int | None = None) -> tuple[int, int, dict[str, str]]:
    """Workers, threads per worker and the worker environment of :func:`local_cluster`.

    Default: one single-threaded worker process per core (on the 2-core build machine the fastest
    layout for ``fit_batch``: two processes do not share a GIL for the Python and numpy parts of
    the LM loop; see docs/fitting.md for the paired figures). The environment pins numba's and the
    BLAS libraries' threads so that workers x threads x kernel threads = cores: numba gets the
    cores left per worker thread, BLAS one thread (the batched solves are p x p with p ~ 5)."""
    cores = cores or _cores()
    if n_workers is None and threads_per_worker is None:
        n_workers, threads_per_worker = cores, 1
    elif n_workers is None:
        n_workers = max(1, cores // threads_per_worker)
    elif threads_per_worker is None:
        threads_per_worker = max(1, cores // n_workers)
    if n_workers < 1 or threads_per_worker < 1:
        raise FitError(f"local_cluster: n_workers and threads_per_worker must be >= 1, got "
                       f"{n_workers} and {threads_per_worker}")
    numba_threads = max(1, cores // (n_workers * threads_per_worker))
    env = {"NUMBA_NUM_THREADS": str(numba_threads), "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1",
           "MKL_NUM_THREADS": "1"}
    return n_workers, threads_per_worker, env


def _cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


# dask's housekeeping in a local_cluster, idle: default 70-90 ms of CPU per second over the client's
# process (scheduler) and two workers, with these 12 ms/s (measured on the 2-core build machine); the
# fitting workers share those cores. The worker profiler samples the fitting thread's stack 100 times
# a second (taking the GIL); the tick only watches for a blocked event loop; the system monitor feeds
# the dashboard; work stealing is not needed: fit_batch feeds each worker thread as it frees up.
QUIET_CLUSTER = {
    "distributed.worker.profile.enabled": False,
    "distributed.admin.tick.interval": "500ms",
    "distributed.admin.system-monitor.interval": "2s",
    "distributed.worker.memory.monitor-interval": "500ms",
    "distributed.scheduler.work-stealing": False,
}


# glibc malloc in local_cluster's worker processes. The LM loop allocates and frees the same (chunk,
# pulse) temporaries (8 MB each for 500 x 2000) at every iteration; glibc's adaptive defaults give
# freed memory at the heap's top back to the kernel and map large arrays afresh, so the next iteration
# page-faults and zeroes them again. Fixed thresholds keep them in the worker's heap: arrays up to
# 32 MB (glibc's largest mmap threshold) from the heap, the heap trimmed only above 1 GB, grown in
# 64 MB steps. Measured on the 2-core build machine, 10,000 x 2000 fit: per worker 0.23-0.33 s of
# system time and 4k page faults against 0.56-1.02 s and 30-47k with glibc's defaults (user time
# equal). dask's own setting (MALLOC_TRIM_THRESHOLD_ = 64 kB alone) fixes the mmap threshold at
# 128 kB: every such array a fresh mmap (2-3x the system time). The cost: a worker keeps its peak
# heap (a chunk's working set) between chunks.
WORKER_MALLOC = {"MALLOC_MMAP_THRESHOLD_": "33554432", "MALLOC_TRIM_THRESHOLD_": "1073741824",
                 "MALLOC_TOP_PAD_": "67108864"}


def local_cluster(n_workers: int | None = None, threads_per_worker: int | None = None, **kwargs):
    """A ``dask.distributed.LocalCluster`` laid out for :func:`fit_batch` (``client=Client(cluster)``).

    The layout and the thread pins come from :func:`cluster_layout` (default: one worker process
    per core, one thread each, numba and BLAS pinned in every worker through its environment, set
    before the worker imports numpy or numba; glibc's malloc thresholds fixed (:data:`WORKER_MALLOC`),
    not dask's trim setting).
    The scheduler and workers run with :data:`QUIET_CLUSTER` (no statistical profiler, slower
    housekeeping ticks, no work stealing: :func:`fit_batch` balances the chunks itself) and without a
    dashboard (``dashboard_address`` to have one). Other keyword arguments go to ``LocalCluster``
    (``processes=False`` for an in-process cluster: then the environment is this process's).
    Starting a cluster takes seconds (processes, imports, the kernels' first load): start it once
    and reuse it for every batch, as a lab keeps its cluster running."""
    import dask
    from distributed import LocalCluster

    n_workers, threads_per_worker, env = cluster_layout(n_workers, threads_per_worker)
    kwargs.setdefault("dashboard_address", None)
    quiet = QUIET_CLUSTER  # read by the scheduler and each worker at their start
    if not kwargs.get("processes", True):
        with dask.config.set(quiet):
            return LocalCluster(n_workers=n_workers, threads_per_worker=threads_per_worker, **kwargs)
    kwargs["env"] = {**env, **kwargs.get("env", {})}
    # WORKER_MALLOC in the workers: glibc reads it when the process starts, so it goes through dask's
    # pre-spawn environment, which the nannies also write into this process's environment (for later
    # spawns) and which this process's own values would override (an earlier cluster leaves dask's
    # MALLOC_TRIM_THRESHOLD_ there): they are taken out meanwhile and put back afterwards.
    before = {k: os.environ.pop(k, None) for k in WORKER_MALLOC}
    pre = {f"distributed.nanny.pre-spawn-environ.{k}": v for k, v in WORKER_MALLOC.items()}
    try:
        with dask.config.set({**pre, **quiet}):  # the nannies pass this config to their workers
            return LocalCluster(n_workers=n_workers, threads_per_worker=threads_per_worker, **kwargs)
    finally:
        for k, v in before.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def _bar(progress, total):
    if callable(progress):
        return lambda done, n: progress(done, n) if done is not None else None
    if not progress:
        return lambda done, n: None
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    prog = Progress(TextColumn("fitting devices"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                    console=Console(stderr=True), transient=True)
    prog.start()
    task = prog.add_task("fit", total=total)

    def update(done, n):
        if done is None:
            prog.stop()
        else:
            prog.update(task, completed=done)

    return update


def _compute(obj: xr.DataArray, progress) -> xr.DataArray:
    if not progress:
        return obj.compute()
    try:
        from distributed import get_client
        from distributed import progress as dprogress

        client = get_client()
    except (ImportError, ValueError):
        from dask.diagnostics import ProgressBar

        with ProgressBar():
            return obj.compute()
    fut = client.compute(obj)
    dprogress(fut)
    return fut.result()


def batch_summary(ds: xr.Dataset) -> dict:
    """Median and spread of the fitted parameters over the converged devices."""
    ok = ds["converged"].values
    out = {"devices": int(ds.sizes["trace"]), "converged": int(ok.sum()), "parameters": {}}
    for j, name in enumerate(ds["param"].values):
        v = ds["value"].values[ok, j]
        out["parameters"][str(name)] = {
            "median": float(np.median(v)) if v.size else None,
            "p16": float(np.percentile(v, 16)) if v.size else None,
            "p84": float(np.percentile(v, 84)) if v.size else None,
            "unit": str(ds["unit"].values[j]),
        }
    return out
