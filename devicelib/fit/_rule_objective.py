"""The lean objective of a one-device (or few-trace) fit of a phenomenological pulse-response rule.

:func:`devicelib.fit.fit` evaluates its objective through the general path: a trial model, its
start state, :func:`devicelib.simulate.replay`, the normalisation layer, the mask and the noise
weights, about ten numpy passes and some 250 us of Python around a 20-80 us compiled kernel. For
the baselines of :mod:`devicelib.physics.baselines` (the rules aihwkit simulates) this module
computes the same weighted residual ``(G(w) - data) / sigma`` in one compiled call
(:func:`~devicelib.fit._batch_kernels.rule_residual`, the kernels of the batch fitter), with the
pulse directions, targets, weights and mask indices prepared once per fit; and the forward-difference
Jacobian that scipy's ``least_squares(jac="2-point")`` would build by ``p`` separate calls, all
columns in one compiled call (:func:`~devicelib.fit._batch_kernels.rule_jacobian`), with scipy's own
steps (relative step sqrt(eps), sign flipped at a bound, ``dx = (x + h) - x``). The arithmetic is the
general path's operation for operation, so residuals and Jacobians are equal bit for bit
(tests/test_fit_lean.py) and the fit follows the same iterates to the same values and standard errors.

Used only when it applies: a baseline whose parameters are scalars, a conductance (or normalised
weight) observable with linear residuals, a start state from the first read (``initial="first"``,
the default for these rules), and scipy's ``least_squares``. Anything else takes the general path.
"""

from __future__ import annotations

import numpy as np

from ..physics.baselines import PulseResponseModel

BAD = 1e6  # a non-finite residual (as in devicelib.fit.core)
EPS_2POINT = np.finfo(float).eps ** 0.5  # scipy's relative step of the "2-point" scheme


def applies(prob, model) -> bool:
    """Whether the lean objective reproduces ``prob``'s residual for ``model`` (see the module docstring)."""
    cls = type(model)
    if not isinstance(model, PulseResponseModel):
        return False
    # a subclass that changes how a trace is computed is not the kernel's rule
    for name in ("weight_trace", "replay_trace", "to_weight", "from_weight", "state_from_conductance"):
        if getattr(cls, name) is not getattr(PulseResponseModel, name):
            return False
    if any(np.ndim(v) != 0 for v in model.params.values()):
        return False
    return (prob.obs == "conductance" and not prob.binomial and not prob.log and prob.g_start is not None
            and not prob.fit_start and prob.model is model)


class RuleObjective:
    """Residual ``f(x)`` and Jacobian ``J(x)`` of a fit in the fitted coordinates ``x`` (see the module
    docstring). ``make_trial(x) -> model`` is the fit's own map (values clipped to the bounds, the
    model's cross-checks run; ``ValueError`` for an invalid trial, whose residuals are all ``BAD``).
    With ``values_of(x) -> dict`` (the values ``make_trial`` sets, one per coordinate in order, each a function
    of its own coordinate alone: :meth:`devicelib.fit.core.ParamSpace.to_values`) and ``trial(values) -> model``,
    the Jacobian's trials are built as one model holding every column's values as arrays (the same
    elementwise arithmetic, one set of numpy calls instead of one per column)."""

    def __init__(self, prob, model, make_trial, lo, hi, values_of=None, trial=None):
        from ._batch_kernels import rule_jacobian, rule_residual

        self._res, self._jac = rule_residual, rule_jacobian
        self.prob, self.make_trial = prob, make_trial
        self.values_of, self.trial = values_of, trial
        self.lo, self.hi = np.asarray(lo, float), np.asarray(hi, float)
        self.lo_list, self.hi_list = self.lo.tolist(), self.hi.tolist()
        self.all_free = bool(np.all((self.lo == -np.inf) & (self.hi == np.inf)))
        self.kind, self.n_nodes = int(model._kind), int(model._n_nodes)
        c = prob.conds
        # the pulse directions replay_trace derives on every call: once
        self.d = np.ascontiguousarray(np.where(c["width"] > 0, np.sign(c["amplitude"]), 0.0))
        n, N = self.d.shape
        self.n, self.N = n, N
        self.target = np.ascontiguousarray(prob.target, dtype=float)
        self.weight = np.ascontiguousarray(prob.w, dtype=float)
        self.mask = np.ascontiguousarray(prob.m)
        self.all_points = bool(self.mask.all())
        self.normalised = bool(prob.normalised)
        norm = prob.model.params
        self.noff = np.full(n, float(norm["g_offset"]))
        self.nref = np.full(n, float(norm["g_ref"]))
        # the start read in S (data units through the data's normalisation layer), fixed during the fit
        self.g0_si = np.asarray(prob.to_si(prob.g_start), dtype=float)
        self.zero = np.zeros((n, 1))
        self.one = np.ones(n)
        self.off1, self.ref1 = np.empty(n), np.empty(n)  # the trial's g_offset, g_ref per trace (kernel inputs)
        self.buf = np.empty((n, N))
        self.last_x = None
        self.last_f = None
        self.last_full = None
        self.last_values = None  # values_of(last_x)
        self.evals = 0  # residual evaluations (a Jacobian counts one per column, as scipy's differences)

    # -- one trial ---------------------------------------------------------------------------------------------
    def _rule(self, trial):
        """The trial's rule matrix (1, k), start weights (n,), offset and reference (scalars)."""
        p = trial.params
        w0 = trial.to_weight(self.g0_si)  # as state_from_conductance (a finite start is checked once)
        return trial._matrix(self.n), np.ascontiguousarray(w0, dtype=float), float(p["g_offset"]), float(p["g_ref"])

    def _full(self, x):
        """Weighted residuals on the whole (n, N) grid (not only the fitted points), or None (invalid trial)."""
        self.evals += 1
        try:
            if self.values_of is not None:  # make_trial(x) in two steps: the Jacobian at x reuses the values
                self.last_values = self.values_of(x)
                trial = self.trial(self.last_values)
            else:
                trial = self.make_trial(x)
            P, w0, off, ref = self._rule(trial)
        except (ValueError, FloatingPointError, ZeroDivisionError):
            return None
        out = np.empty((self.n, self.N))
        self.off1.fill(off)
        self.ref1.fill(ref)
        self._res(self.kind, P, self.n_nodes, w0, self.d, self.off1, self.ref1, self.noff, self.nref,
                  self.normalised, self.target, self.weight, self.zero, self.one, False, out)
        return out

    def _points(self, full):
        if full is None:
            return np.full(int(self.mask.sum()), BAD)
        return full.reshape(-1) if self.all_points else full[self.mask]  # a fresh array: scipy keeps f

    def residual(self, x):
        """The fit's residual vector at ``x`` (the fitted points, row-major)."""
        x = np.array(x, dtype=float)
        self.last_values = None
        full = self._full(x)
        self.last_x, self.last_full = x, full
        self.last_f = self._points(full)
        return self.last_f

    def _base(self, x):
        if self.last_x is None or not np.array_equal(x, self.last_x):
            self.residual(x)
        return self.last_full, self.last_f

    def jacobian(self, x, steps=None):
        """Forward differences, all columns in one compiled call.

        ``steps`` (the signed step of each column) default to scipy's ``2-point`` steps at ``x`` within the
        bounds; column j is ``(f(x + dx_j e_j) - f(x)) / dx_j`` with ``dx_j = (x_j + h_j) - x_j``."""
        x = np.array(x, dtype=float)
        full0, f0 = self._base(x)
        h = self.scipy_steps(x) if steps is None else np.asarray(steps, dtype=float)
        p = x.size
        JT = np.empty((p, f0.size))  # scipy's approx_derivative returns J_transposed.T (Fortran order): the
        J = JT.T  # same layout keeps trf's products (J.T @ f, SVD) bit for bit the 2-point path's
        r0 = np.full((self.n, self.N), BAD) if full0 is None else full0  # an invalid base point: BAD vectors
        if self.values_of is not None:
            done = self._columns_at_once(x, h, r0, J)
            if done is not None:
                return done
        dx = np.empty(p)
        trials, ok = [], []
        for j in range(p):
            xj = x.copy()
            xj[j] = x[j] + h[j]
            dx[j] = xj[j] - x[j]
            self.evals += 1
            try:
                trials.append(self._rule(self.make_trial(xj)))
                ok.append(j)
            except (ValueError, FloatingPointError, ZeroDivisionError):
                pass
        if ok:
            q = len(ok)
            k = trials[0][0].shape[1]
            P = np.empty((q, self.n, k))
            w0 = np.empty((q, self.n))
            off = np.empty((q, self.n))
            ref = np.empty((q, self.n))
            step = np.empty((q, self.n))
            for i, (Pj, w0j, offj, refj) in enumerate(trials):
                P[i] = Pj  # (1, k) broadcast to every trace: the kernel reads row i of column i's matrix
                w0[i], off[i], ref[i], step[i] = w0j, offj, refj, dx[ok[i]]
            Jf = np.empty((self.n, q, self.N))
            self._jac(self.kind, P, self.n_nodes, w0, self.d, off, ref, self.noff, self.nref, self.normalised,
                      self.target, self.weight, r0, step, Jf)
            for i, j in enumerate(ok):
                col = Jf[:, i, :]
                J[:, j] = col.reshape(-1) if self.all_points else col[self.mask]
        for j in set(range(p)) - set(ok):
            J[:, j] = (BAD - f0) / dx[j]
        return J

    def _columns_at_once(self, x, h, r0, J):
        """Every column's trial as one model with array parameters: the Jacobian, or None (nothing written)
        when a trial is invalid or the model's checks do not take arrays (then :meth:`jacobian` goes column
        by column)."""
        p = x.size
        xd = x + h
        dx = xd - x
        # row j is x with coordinate j stepped; values_of maps coordinate j to its j-th value alone (elementwise),
        # so the rows' values are x's with the diagonal from x + h: two calls instead of p, the same numbers
        # (jacobian() has just evaluated the residual at x, or found it evaluated: last_values are x's)
        v0 = self.last_values if self.last_values is not None else self.values_of(x)
        vd = self.values_of(xd)
        V = np.empty((p, p))
        V[:] = list(v0.values())
        V.flat[:: p + 1] = list(vd.values())
        try:
            arr = dict(zip(v0, V.T, strict=True))
            T = self.trial(arr)
            Pm = np.asarray(T._matrix(p), dtype=float)
        except Exception:  # an invalid trial, or checks written for scalars: column by column
            return None
        self.evals += p
        tp = T.params
        n = self.n
        # the kernel's per-column inputs, filled into fresh contiguous arrays (no broadcast_to/copy per input)
        P = np.empty((p, n, Pm.shape[1]))
        P[:] = Pm[:, None, :]
        col = np.empty((3, p, n))  # g_offset, g_ref, step of each column
        for i, v in enumerate((tp["g_offset"], tp["g_ref"], dx)):
            v = np.asarray(v, dtype=float)
            col[i] = v[:, None] if v.ndim else v
        off2, ref2, step = col
        w0 = (self.g0_si[None, :] - off2) / ref2  # to_weight, elementwise as for one trial
        Jf = np.empty((n, p, self.N))
        self._jac(self.kind, P, self.n_nodes, w0, self.d, off2, ref2, self.noff, self.nref,
                  self.normalised, self.target, self.weight, r0, step, Jf)
        if n == 1 and self.all_points:  # one trace, every point fitted: Jf[0] is J transposed, no copy
            return Jf[0].T
        for j in range(p):
            c = Jf[:, j, :]
            J[:, j] = c.reshape(-1) if self.all_points else c[self.mask]
        return J

    def scipy_steps(self, x):
        """scipy's ``approx_derivative(method="2-point")`` steps at ``x`` (``_compute_absolute_step`` and
        ``_adjust_scheme_to_bounds``, one-sided), so the Jacobian is the one ``jac="2-point"`` builds: the same
        float operations per coordinate, in Python (a few parameters: cheaper than a dozen numpy calls)."""
        out = np.empty(x.size)
        all_free = self.all_free
        for j, (xj, lb, ub) in enumerate(zip(x.tolist(), self.lo_list, self.hi_list, strict=True)):
            h = EPS_2POINT * (1.0 if xj >= 0 else -1.0) * max(1.0, abs(xj))
            if not all_free:
                lower, upper = xj - lb, ub - xj
                xt = xj + h
                fitting = abs(h) <= max(lower, upper)
                if fitting:
                    if xt < lb or xt > ub:
                        h = -h
                elif upper >= lower:
                    h = upper
                else:
                    h = -lower
            out[j] = h
        return out
