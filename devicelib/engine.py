r"""The fused simulate engine: a whole pulse train per chunk of devices in one compiled kernel.

:func:`devicelib.simulate.simulate` runs a model through here when the model provides
``fused_spec`` (the phenomenological baselines and ``fefet.nls``; ``vcm.stanford_pku`` brings its own
kernel on the same plan, :class:`KernelSpec`); every other family keeps the
per-pulse Python path, which stays the reference (``engine="reference"``). The tests hold the
two equal to 1e-12 for deterministic models and equal in distribution for noisy ones.

Layout and loop order
    Devices are split into one block per thread (``prange``), each block into chunks of
    :data:`CHUNK` devices; a chunk runs the whole pulse train (``for pulse: for device in
    chunk``), so its state stays in the L1 cache and every recorded pulse writes one contiguous
    run of the (pulse, device) output. Parameters are rows of a matrix read once per device
    (one shared row when no parameter varies between devices) and pulse-invariant terms are
    computed once per pulse before the kernel (``pre``). Below :data:`SERIAL_BELOW` devices a
    serial twin of the kernel runs, so small problems never wait for worker threads.
Noise
    cycle-to-cycle noise :math:`x' = x + \Delta x (1 + c_{rel}\xi) + c_{abs}\xi'` (clipped to the
    state's bounds, as ``DeviceModel.perturb_step``) and read noise :math:`G (1 + r \xi)` use a
    counter-based generator: :math:`\xi` is a function of (seed, device, pulse, stream)
    (splitmix64 hash, Box-Muller), so results do not depend on the number of threads or chunks
    and no noise is drawn when a scale is zero. The streams differ from the reference path's
    ``numpy.random.Generator``: seeded results agree with it in distribution, not draw for draw.
Recording
    ``slot[k]`` is the output row of pulse ``k`` (-1: not recorded); conductance, energy and the
    state are written only for recorded pulses, and in ``summary`` mode only per-block shifted
    sums, minima and maxima are kept (combined in :func:`combine_stats`).
"""

from __future__ import annotations

import types
from dataclasses import dataclass

import numba
import numpy as np
from numba import njit, prange

from .physics.baselines import step_rule
from .physics.fefet import nls_advance, nls_start

CHUNK = 512  # devices per chunk: 4 kB of state per chunk, well inside L1
SERIAL_BELOW = 8192  # devices: fewer run serially (no thread start-up)

# engine kinds: 0..4 are the baseline rules (devicelib.physics.baselines), 10 the FeFET NLS closed form
NLS = 10
READ_LINEAR, READ_FEFET = 0, 1
# statistics kept per (block, recorded pulse, quantity): shift, sum, sum of squares, min, max
N_STAT = 5

_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_GOLD = np.uint64(0x9E3779B97F4A7C15)
_K1 = np.uint64(0xD1B54A32D192ED03)
_K2 = np.uint64(0x8CB92BA72F3D8DD7)
_S30, _S27, _S31, _S11 = np.uint64(30), np.uint64(27), np.uint64(31), np.uint64(11)
_TWO53 = 1.0 / 9007199254740992.0


@dataclass
class FusedSpec:
    """What a family hands the engine (see ``fused_spec`` of the baselines and ``fefet.nls``).

    ``P`` step parameters and ``R`` read parameters are (1, k) when shared by all devices, else
    (n, k); ``pre`` (N, m) per-pulse terms, column 0 the pulse direction (0: no pulse);
    ``state`` the one state variable the kernel carries; ``energy`` False for counting rules.
    """

    kind: int
    P: np.ndarray
    R: np.ndarray
    read: int
    pre: np.ndarray
    state: str
    energy: bool = True
    n_nodes: int = 0


@njit(cache=True, inline="always")
def _mix(z):  # pragma: no cover - compiled; splitmix64 finaliser
    z = (z ^ (z >> _S30)) * _M1
    z = (z ^ (z >> _S27)) * _M2
    return z ^ (z >> _S31)


@njit(cache=True, inline="always")
def normal(key, i, k, stream):  # pragma: no cover - compiled
    """Standard normal number for (key, device i, pulse k, stream), independent of the thread layout."""
    c = (np.uint64(i) * _GOLD) ^ (np.uint64(k) * _K1) ^ (np.uint64(stream) * _K2)
    z1 = _mix(key ^ c)
    z2 = _mix(z1 ^ _GOLD)
    u1 = (float(z1 >> _S11) + 1.0) * _TWO53
    u2 = float(z2 >> _S11) * _TWO53
    return np.sqrt(-2.0 * np.log(u1)) * np.cos(2.0 * np.pi * u2)


@njit(cache=True, inline="always")
def _read(rkind, R, r, x):  # pragma: no cover - compiled
    if rkind == READ_LINEAR:  # G = g_offset + g_ref w
        return R[r, 0] + R[r, 1] * x
    # FeFET read (fefet._FeFETBase.conductance): R = [G_off, beta n V_T, n V_T, V_GR, V_T0, MW/2, Pr]
    vt = R[r, 4] - R[r, 5] * x / R[r, 6]
    z = (R[r, 3] - vt) / R[r, 2]
    if z > 0.0:
        lae = z + np.log1p(np.exp(-z))
    elif z < 0.0:
        lae = np.log1p(np.exp(z))
    else:
        lae = np.log(2.0)
    return R[r, 0] + R[r, 1] * lae


@njit(cache=True, inline="always")
def _bounds(kind, P, r):  # pragma: no cover - compiled
    if kind == NLS:
        return -P[r, 0], P[r, 0]
    return P[r, 0], P[r, 1]


def _drive_py(kind, n_nodes, P, R, rkind, xs, pre, k0, k1, slot, G, E, X, flags, noise, key, stats, nblocks):
    """Run pulses k0..k1-1 on every device, updating the state ``xs`` (1, n) in place (see the module docstring).
    Recording goes through :func:`record_chunk` as in the family kernels (``X`` is (1, nrec, n))."""
    x = xs[0]
    n = x.size
    shared_p = P.shape[0] == 1
    shared_r = R.shape[0] == 1
    rec_g, rec_e, rec_x, do_stats, has_e = flags[0], flags[1], flags[2], flags[3], flags[4]
    c2c, c2c_abs, rnoise = noise[0], noise[1], noise[2]
    perturb = c2c != 0.0 or c2c_abs != 0.0
    fast = kind != NLS and not perturb and shared_p
    # FeFET NLS without c2c noise and with shared parameters: the vectorised pulse (_nls_chunk), in every
    # recording mode
    nls_fast = kind == NLS and not perturb and shared_p and shared_r
    per = (n + nblocks - 1) // nblocks
    for b in prange(nblocks):
        a0 = b * per
        a1 = min(n, a0 + per)
        # FeFET NLS: each device's switched fraction and reduced time carried between pulses of one
        # direction (recovered from P after a reversal or a noisy step), which saves a tan and a pow
        hs = np.empty(CHUNK)
        ss = np.empty(CHUNK)
        hd = np.zeros(CHUNK)
        # the chunk's reads and energies of a recorded pulse (record_chunk's input)
        bx, bsn, bh, bgb, beb, bf = (np.empty(CHUNK), np.empty(CHUNK), np.empty(CHUNK), np.empty(CHUNK),
                                     np.empty(CHUNK), np.empty(CHUNK))
        for c0 in range(a0, a1, CHUNK):
            c1 = min(a1, c0 + CHUNK)
            hd[:] = 0.0
            for k in range(k0, k1):
                sl = slot[k]
                d = pre[k, 0]
                if d == 0.0 and sl < 0:
                    continue
                upd = d != 0.0
                if upd and nls_fast and pre[k, 2] == pre[k, 2]:
                    # (s, H) from P for devices whose last pulse had the other direction (or none)
                    for i in range(c0, c1):
                        if hd[i - c0] != d:
                            ss[i - c0], hs[i - c0] = nls_start(P, 0, x[i], d)
                            hd[i - c0] = d
                    _nls_chunk(x, c0, c1, P, R, d, pre[k, 2], pre[k, 4], ss, hs, bx, bsn, bh, bgb, beb, bf, sl >= 0)
                    for i in range(c0, c1):
                        j = i - c0
                        if bf[j] != 0.0:  # H at 0 or infinity: the scalar closed form, into the buffers
                            bx[j], bsn[j], bh[j] = nls_advance(P, 0, ss[j], hs[j], d, pre[k, 1], pre[k, 2],
                                                               pre[k, 3])
                            beb[j] = P[0, 6] * (P[0, 7] * pre[k, 4] + P[0, 8] * abs(bx[j] - x[i]))
                            bgb[j] = _read(rkind, R, 0, bx[j])
                    # then plain copies (vectorised)
                    for i in range(c0, c1):
                        x[i] = bx[i - c0]
                        ss[i - c0] = bsn[i - c0]
                        hs[i - c0] = bh[i - c0]
                elif upd and fast:
                    # the common case as its own tight loop (no noise, shared parameters, a baseline
                    # rule): the compiler vectorises it; then the reads of a recorded pulse
                    for i in range(c0, c1):
                        x[i] = step_rule(kind, P, 0, x[i], d, n_nodes)
                    if sl < 0:
                        continue
                    for i in range(c0, c1):
                        bgb[i - c0] = _read(rkind, R, 0 if shared_r else i, x[i])
                        beb[i - c0] = 0.0
                else:
                    for i in range(c0, c1):
                        rp = 0 if shared_p else i
                        xi = x[i]
                        e = 0.0
                        if upd:
                            if kind == NLS:
                                j = i - c0
                                if hd[j] == d:
                                    s0, h0 = ss[j], hs[j]
                                else:
                                    s0, h0 = nls_start(P, rp, xi, d)
                                xn, ss[j], hs[j] = nls_advance(P, rp, s0, h0, d, pre[k, 1], pre[k, 2], pre[k, 3])
                                hd[j] = d
                            else:
                                xn = step_rule(kind, P, rp, xi, d, n_nodes)
                            if has_e:  # fefet._FeFETBase.pulse_energy, before the c2c noise (as the reference)
                                e = P[rp, 6] * (P[rp, 7] * pre[k, 4] + P[rp, 8] * abs(xn - xi))
                            if perturb:
                                xp = xi + (xn - xi) * (1.0 + c2c * normal(key, i, k, 0))
                                if c2c_abs != 0.0:
                                    xp = xp + c2c_abs * normal(key, i, k, 1)
                                lo, hi = _bounds(kind, P, rp)
                                xn = min(max(xp, lo), hi)
                                if kind == NLS:
                                    hd[i - c0] = 0.0
                            xi = xn
                            x[i] = xi
                        if sl >= 0:
                            bgb[i - c0] = _read(rkind, R, 0 if shared_r else i, xi)
                            beb[i - c0] = e
                if sl >= 0:
                    record_chunk(bgb, beb, xs, c0, c1, a0, b, sl, k, G, E, X, stats, rnoise, key, rec_g, rec_e,
                                 rec_x, do_stats)


_drive_parallel = njit(cache=True, nogil=True, parallel=True)(_drive_py)
# the serial twin: the same code under its own name (its own cache entry), prange then runs as range
_serial_py = types.FunctionType(_drive_py.__code__, _drive_py.__globals__, "_drive_serial")
_serial_py.__qualname__ = "_drive_serial"
_drive_serial = njit(cache=True, nogil=True)(_serial_py)


def blocks_for(n: int, serial_below: int | None = None) -> int:
    """Blocks the devices are split into: 1 (serial) below :data:`SERIAL_BELOW` (or a family's own
    ``serial_below``, lower where a device-pulse costs far more than a thread start), else 4 per thread
    (one per thread while there are fewer than a chunk per thread)."""
    threads = numba.get_num_threads()
    if n < (SERIAL_BELOW if serial_below is None else serial_below):
        return 1
    if serial_below is not None and n < threads * CHUNK:
        return min(threads, n)
    return max(1, min(4 * threads, n // CHUNK))


def drive(spec: FusedSpec, x, k0, k1, slot, G, E, X, stats, noise, key, nblocks, *, record_energy=True):
    """Call the kernel for pulses ``k0:k1``; ``G``/``E``/``X``/``stats`` None when not kept."""
    dtype = next((a.dtype for a in (G, E, X) if a is not None), np.dtype(np.float64))
    dummy = np.empty((0, 0), dtype=dtype)
    flags = np.array([G is not None, E is not None and spec.energy and record_energy, X is not None,
                      stats is not None, spec.energy], dtype=np.bool_)
    kern = _drive_serial if nblocks == 1 else _drive_parallel
    # the kernel takes the state as (1, n) and its record as (1, nrec, n): record_chunk's layout (views, no copies)
    X3 = np.empty((1, 0, 0), dtype=dtype) if X is None else X[None]
    kern(spec.kind, spec.n_nodes, spec.P, spec.R, spec.read, x.reshape(1, -1), spec.pre, k0, k1, slot,
         dummy if G is None else G, dummy if E is None else E, X3, flags,
         np.asarray(noise, dtype=np.float64), np.uint64(key),
         np.empty((0, 0, 0, N_STAT)) if stats is None else stats, nblocks)


def block_counts(n: int, nblocks: int) -> np.ndarray:
    per = -(-n // nblocks)
    return np.array([max(0, min(n, (b + 1) * per) - b * per) for b in range(nblocks)], dtype=float)


def combine_stats(stats: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """(nblocks, S, 3, 5) shifted per-block sums -> (S, 3, 4): mean, std (population), min, max.

    Blocks are merged with Chan's pairwise formula (each block's mean and sum of squared
    deviations computed from its shifted sums, which keeps the variance accurate when the
    spread is small against the mean)."""
    keep = counts > 0
    st, c = stats[keep], counts[keep][:, None, None]
    mean_b = st[..., 0] + st[..., 1] / c
    m2_b = np.maximum(st[..., 2] - st[..., 1] ** 2 / c, 0.0)
    total = c.sum()
    mean = (c * mean_b).sum(axis=0) / total
    m2 = (m2_b + c * (mean_b - mean) ** 2).sum(axis=0)
    out = np.empty((*stats.shape[1:3], 4))
    out[..., 0] = mean
    out[..., 1] = np.sqrt(m2 / total)
    out[..., 2] = st[..., 3].min(axis=0)
    out[..., 3] = st[..., 4].max(axis=0)
    return out


# -- families with their own whole-train kernel (several state variables) -------------------------------------------

@dataclass
class KernelSpec:
    """A family's own fused kernel (see ``fused_spec`` of ``vcm.stanford_pku``): several state variables.

    ``kernels`` is the (parallel, serial) pair of compiled drivers, called as
    ``kern(*args, xs, k0, k1, slot, G, E, X, flags, noise, key, stats, nblocks)`` with ``xs`` the
    (nstate, n) state in :attr:`states` order (updated in place), ``G``/``E`` (nrec, n), ``X``
    (nstate, nrec, n) (empty arrays when not kept), ``flags`` = [record G, record E, record X,
    statistics] and ``stats`` (nblocks, S, 2 + nstate, :data:`N_STAT`) (conductance, energy, states).
    The drivers follow :func:`_drive_py`: device blocks over threads, chunks of :data:`CHUNK`
    devices running the whole train, counter-based noise (:func:`normal`), recording by ``slot``.
    """

    states: tuple
    kernels: tuple
    args: tuple
    energy: bool = True
    serial_below: int | None = None  # the family's own serial threshold (:func:`blocks_for`)


def drive_kernel(spec: KernelSpec, xs, k0, k1, slot, G, E, X, stats, noise, key, nblocks) -> bool:
    """Call a family kernel for pulses ``k0:k1``; ``G``/``E``/``X``/``stats`` None when not kept.
    Returns the kernel's verdict (False: an integration did not finish)."""
    dtype = next((a.dtype for a in (G, E, X) if a is not None), np.dtype(np.float64))
    flags = np.array([G is not None, E is not None and spec.energy, X is not None, stats is not None],
                     dtype=np.bool_)
    kern = spec.kernels[1] if nblocks == 1 else spec.kernels[0]
    empty2 = np.empty((0, 0), dtype=dtype)
    return bool(kern(*spec.args, xs, k0, k1, slot, empty2 if G is None else G, empty2 if E is None else E,
         np.empty((0, 0, 0), dtype=dtype) if X is None else X, flags, np.asarray(noise, dtype=np.float64),
         np.uint64(key), np.empty((0, 0, 0, N_STAT)) if stats is None else stats, nblocks))


@njit(cache=True, inline="always")
def record_chunk(bg, be, xs, c0, c1, a0, b, sl, k, G, E, X, stats, rnoise, key, rec_g, rec_e, rec_x,
                 do_stats):  # pragma: no cover - compiled
    """Read noise on the chunk's reads ``bg``, then record them, the energies ``be`` and the states
    ``xs[:, c0:c1]`` at output slot ``sl`` (or into the block's statistics): the recording step shared by
    the family kernels, one quantity at a time as contiguous copies (the compiler vectorises them)."""
    if rnoise != 0.0:
        for i in range(c0, c1):
            bg[i - c0] = bg[i - c0] * (1.0 + rnoise * normal(key, i, k, 2))
    if rec_g:
        for i in range(c0, c1):
            G[sl, i] = bg[i - c0]
    if rec_e:
        for i in range(c0, c1):
            E[sl, i] = be[i - c0]
    if rec_x:
        for q in range(xs.shape[0]):
            for i in range(c0, c1):
                X[q, sl, i] = xs[q, i]
    if do_stats:  # one quantity at a time, its chunk sums in registers
        first = c0 == a0
        stat_run(stats, b, sl, 0, bg, c0, c0, c1, first)
        stat_run(stats, b, sl, 1, be, c0, c0, c1, first)
        for q in range(xs.shape[0]):
            stat_run(stats, b, sl, 2 + q, xs[q], 0, c0, c1, first)


@njit(cache=True, inline="always")
def stat_run(stats, b, sl, q, v, off, c0, c1, first):  # pragma: no cover - compiled
    """:func:`stat_add` of the values ``v[c0 - off:c1 - off]`` of devices c0..c1-1 in one pass (the sums, minimum
    and maximum in registers, then added to block ``b``'s slot ``sl``; ``first``: the chunk starts the block)."""
    if first:
        stats[b, sl, q, 0] = v[c0 - off]
    sh = stats[b, sl, q, 0]
    s1 = s2 = 0.0
    mn, mx = np.inf, -np.inf
    for i in range(c0 - off, c1 - off):
        vi = v[i]
        d = vi - sh
        s1 += d
        s2 += d * d
        mn = min(mn, vi)
        mx = max(mx, vi)
    stats[b, sl, q, 1] += s1
    stats[b, sl, q, 2] += s2
    stats[b, sl, q, 3] = min(stats[b, sl, q, 3], mn)
    stats[b, sl, q, 4] = max(stats[b, sl, q, 4], mx)


@njit(cache=True, inline="always")
def stat_add(stats, b, sl, q, v, first):  # pragma: no cover - compiled
    """Add value ``v`` of quantity ``q`` to block ``b``'s shifted sums, minimum and maximum of slot ``sl``
    (``first``: the block's first device, whose value is the shift)."""
    if first:
        stats[b, sl, q, 0] = v
    d = v - stats[b, sl, q, 0]
    stats[b, sl, q, 1] += d
    stats[b, sl, q, 2] += d * d
    stats[b, sl, q, 3] = min(stats[b, sl, q, 3], v)
    stats[b, sl, q, 4] = max(stats[b, sl, q, 4], v)


def twin(fn, name):
    """(parallel, serial) compiled pair of a driver written with ``prange`` (the serial twin is the same
    code under its own name and cache entry, where prange runs as range)."""
    par = njit(cache=True, nogil=True, parallel=True)(fn)
    ser_py = types.FunctionType(fn.__code__, fn.__globals__, name)
    ser_py.__qualname__ = name
    return par, njit(cache=True, nogil=True)(ser_py)


# -- branch-free elementary functions (the loops over a chunk of devices vectorise with them) -----------------------

_SHIFT = 6755399441055744.0  # 1.5 * 2**52: adding it rounds to the nearest integer, held in the low mantissa bits
_LN2_HI, _LN2_LO = 6.93147180369123816490e-01, 1.90821492927058770002e-10


@njit(cache=True, inline="always", fastmath={"contract"}, error_model="numpy")
def vexp(x):  # pragma: no cover - compiled
    """exp(x) for -708 <= x <= 709 (clamped outside) to 1-2 ulp, without a library call or branch.

    Cody-Waite reduction x = k ln2 + r (|r| <= ln2/2), Taylor polynomial of degree 13 for e^r (truncation
    below 1e-17), the 2^k scale built in the exponent bits; libm's exp is a call LLVM cannot vectorise."""
    x = min(max(x, -708.0), 709.0)
    kd = x * 1.4426950408889634 + _SHIFT
    k = kd - _SHIFT
    r = x - k * _LN2_HI
    r = r - k * _LN2_LO
    p = 1.0 / 6227020800.0
    p = p * r + 1.0 / 479001600.0
    p = p * r + 1.0 / 39916800.0
    p = p * r + 1.0 / 3628800.0
    p = p * r + 1.0 / 362880.0
    p = p * r + 1.0 / 40320.0
    p = p * r + 1.0 / 5040.0
    p = p * r + 1.0 / 720.0
    p = p * r + 1.0 / 120.0
    p = p * r + 1.0 / 24.0
    p = p * r + 1.0 / 6.0
    p = p * r + 0.5
    p = p * r + 1.0
    p = p * r + 1.0
    bits = (np.float64(kd).view(np.int64) + np.int64(1023)) << np.int64(52)
    return p * np.int64(bits).view(np.float64)


@njit(cache=True, inline="always", fastmath={"contract"}, error_model="numpy")
def vsinh(y):  # pragma: no cover - compiled
    """sinh(y) for |y| <= 708 to a few ulp, branch-free: (e - 1/e)/2 with e = vexp(|y|) above |y| = 0.5
    (cancellation at most coth(0.5) = 2.2), the Taylor series to y^13 below (truncation below 1e-16)."""
    a = abs(y)
    e = vexp(a)
    big = 0.5 * (e - 1.0 / e)
    y2 = y * y
    small = y * (1.0 + y2 / 6.0 * (1.0 + y2 / 20.0 * (1.0 + y2 / 42.0 * (1.0 + y2 / 72.0 * (
        1.0 + y2 / 110.0 * (1.0 + y2 / 156.0))))))
    return small if a < 0.5 else (big if y > 0.0 else -big)


_SQRT2 = 1.4142135623730951
_MANT = np.int64(0x000FFFFFFFFFFFFF)
_ONE_BITS = np.int64(0x3FF0000000000000)


@njit(cache=True, inline="always", fastmath={"contract"}, error_model="numpy")
def vlog(x):  # pragma: no cover - compiled
    """Natural logarithm of a positive normal x (1e-300 < x < 1e300) to a few ulp, branch-free:
    x = m 2^e with m in [sqrt(1/2), sqrt(2)), log m = 2 atanh(t), t = (m - 1)/(m + 1), |t| <= 0.172,
    series to t^21 (truncation below 1e-19). Callers route other arguments to libm."""
    bits = np.float64(x).view(np.int64)
    e = ((bits >> np.int64(52)) & np.int64(0x7FF)) - np.int64(1023)
    m = np.int64((bits & _MANT) | _ONE_BITS).view(np.float64)
    big = m > _SQRT2
    m = 0.5 * m if big else m
    ef = float(e) + (1.0 if big else 0.0)
    t = (m - 1.0) / (m + 1.0)
    t2 = t * t
    p = 1.0 / 21.0
    p = p * t2 + 1.0 / 19.0
    p = p * t2 + 1.0 / 17.0
    p = p * t2 + 1.0 / 15.0
    p = p * t2 + 1.0 / 13.0
    p = p * t2 + 1.0 / 11.0
    p = p * t2 + 1.0 / 9.0
    p = p * t2 + 1.0 / 7.0
    p = p * t2 + 1.0 / 5.0
    p = p * t2 + 1.0 / 3.0
    p = p * t2 + 1.0
    return ef * _LN2_HI + (2.0 * t * p + ef * _LN2_LO)


@njit(cache=True, inline="always", fastmath={"contract"}, error_model="numpy")
def vatan(x):  # pragma: no cover - compiled
    """arctan(x) for finite x to a few ulp, branch-free: |x| > 1 by pi/2 - atan(1/|x|), above tan(pi/12)
    by pi/6 + atan((a sqrt3 - 1)/(a + sqrt3)), then the series to a^29 on |a| <= 0.268 (below 1e-17)."""
    b = abs(x)
    inv = b > 1.0
    # one division for the four cases: 1/b above 1, and the pi/6 reduction of b or of 1/b above tan(pi/12)
    red = (b < 3.7320508075688772) if inv else (b > 0.2679491924311227)
    s3 = 1.7320508075688772
    num = (s3 - b if red else 1.0) if inv else (b * s3 - 1.0 if red else b)
    den = (1.0 + b * s3 if red else b) if inv else (b + s3 if red else 1.0)
    a = num / den
    a2 = a * a
    p = 1.0 / 29.0  # Horner in a^2 of sum_k (-1)^k a^2k / (2k + 1), k = 14 .. 0
    p = p * a2 - 1.0 / 27.0
    p = p * a2 + 1.0 / 25.0
    p = p * a2 - 1.0 / 23.0
    p = p * a2 + 1.0 / 21.0
    p = p * a2 - 1.0 / 19.0
    p = p * a2 + 1.0 / 17.0
    p = p * a2 - 1.0 / 15.0
    p = p * a2 + 1.0 / 13.0
    p = p * a2 - 1.0 / 11.0
    p = p * a2 + 1.0 / 9.0
    p = p * a2 - 1.0 / 7.0
    p = p * a2 + 1.0 / 5.0
    p = p * a2 - 1.0 / 3.0
    p = p * a2 + 1.0
    r = a * p + (0.5235987755982989 if red else 0.0)
    r = 1.5707963267948966 - r if inv else r
    return r if x >= 0.0 else -r


@njit(cache=True, inline="always", fastmath={"contract"}, error_model="numpy")
def vsoftplus(z):  # pragma: no cover - compiled
    """log(1 + e^z) to a few ulp, branch-free: max(z, 0) + log1p(e^{-|z|}), log1p(u) by the atanh series."""
    return _softplus_tail(z, vexp(-abs(z)))


@njit(cache=True, inline="always", fastmath={"contract"}, error_model="numpy")
def _softplus_tail(z, u):  # pragma: no cover - compiled
    """:func:`vsoftplus` of z given u = e^{-|z|}."""
    t = u / (2.0 + u)  # log1p(u) = 2 atanh(t), 0 <= t <= 1/3: series to t^35 (truncation below 1e-17)
    t2 = t * t
    p = 1.0 / 35.0
    p = p * t2 + 1.0 / 33.0
    p = p * t2 + 1.0 / 31.0
    p = p * t2 + 1.0 / 29.0
    p = p * t2 + 1.0 / 27.0
    p = p * t2 + 1.0 / 25.0
    p = p * t2 + 1.0 / 23.0
    p = p * t2 + 1.0 / 21.0
    p = p * t2 + 1.0 / 19.0
    p = p * t2 + 1.0 / 17.0
    p = p * t2 + 1.0 / 15.0
    p = p * t2 + 1.0 / 13.0
    p = p * t2 + 1.0 / 11.0
    p = p * t2 + 1.0 / 9.0
    p = p * t2 + 1.0 / 7.0
    p = p * t2 + 1.0 / 5.0
    p = p * t2 + 1.0 / 3.0
    p = p * t2 + 1.0
    return max(z, 0.0) + 2.0 * t * p


_INV_LN10 = 0.43429448190325176


@njit(cache=True, nogil=True, fastmath={"contract"}, error_model="numpy")
def _nls_chunk(x, c0, c1, P, R, d, inc, a2, ss, hs, bx, bs, bh, bg, be, bf, read):  # pragma: no cover
    """One pulse of the FeFET NLS closed form (:func:`nls_advance`, read and energy as :func:`_drive_py`) on
    devices c0..c1-1 from their carried (s, H) in ``ss``/``hs``, in a loop the compiler vectorises (shared
    parameters, ``inc`` = width / t1 known). Results to the buffers (P, s, H, read, energy); ``bf[j]`` = 1
    marks H outside (1e-300, 1e300) (incl. 0 and inf), which the caller computes with :func:`nls_advance`;
    the read only when ``read`` (a recorded pulse)."""
    pr, w = P[0, 0], P[0, 1]
    r_w = 1.0 / w
    up = d > 0.0
    ce1, ce2, ce3 = P[0, 6], P[0, 7] * a2, P[0, 8]
    g_off, bnvt, r_nvt, vgr, vt0, mw_pr = R[0, 0], R[0, 1], 1.0 / R[0, 2], R[0, 3], R[0, 4], R[0, 5] / R[0, 6]
    # three passes over the chunk (loop fission): log, arctan and the read's softplus are a chain of dependent
    # divisions and polynomials per device; in separate loops the CPU overlaps devices. bs holds log H first.
    m = c1 - c0
    for j in range(m):
        h = hs[j] + inc
        ok = (h > 1e-300) & (h < 1e300)
        bs[j] = vlog(h if ok else 1.0)
        bh[j] = h
        bf[j] = 0.0 if ok else 1.0
    for j in range(m):
        s_new = max(0.5 + vatan(bs[j] * _INV_LN10 * r_w) * 0.3183098861837907, ss[j])
        xn = pr * (2.0 * s_new - 1.0) if up else pr * (1.0 - 2.0 * s_new)
        bx[j] = xn
        bs[j] = s_new
        be[j] = ce1 * (ce2 + ce3 * abs(xn - x[c0 + j]))
    if read:  # vsoftplus in two passes: e^{-|z|} into bg, then log1p of it
        for j in range(m):
            bg[j] = vexp(-abs((vgr - (vt0 - mw_pr * bx[j])) * r_nvt))
        for j in range(m):
            bg[j] = g_off + bnvt * _softplus_tail((vgr - (vt0 - mw_pr * bx[j])) * r_nvt, bg[j])
