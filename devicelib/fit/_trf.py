"""scipy's trust-region-reflective iteration for a fit with a few parameters, without its per-call Python.

:func:`trf_bounds` is ``scipy.optimize._lsq.trf.trf_bounds`` (as of scipy 1.17) as ``least_squares(method="trf",
loss="linear", x_scale=1, tr_solver="exact")`` calls it on a bounded problem: the same floating-point
operations in the same order, so the iterates, the evaluations and the result are scipy's bit for bit
(tests/test_fit_trf.py and tests/test_fit_lean.py compare whole fits with ``least_squares``). What differs is
only the Python around them, which for a baseline fit (2000 residuals, 4 parameters, 13 iterations) costs as
much as the residuals and Jacobians themselves:

- the products with ``x_scale = 1`` (exact, so left out) and the scaling vector of Coleman and Li, the
  strict-feasibility projection and the infinity norms of an ``n``-vector, in Python floats for ``n <= 16``
  (elementwise, the same IEEE operations); norms as ``sqrt(x.dot(x))``, which is what ``numpy.linalg.norm``
  computes;
- the SVD through the LAPACK ``gesdd`` that ``scipy.linalg.svd`` calls, with the workspace size queried once
  per shape (scipy queries it on every call) and the same finiteness check;
- :func:`solve_lsq_trust_region` is scipy's (``scipy.optimize._lsq.common``), with those norms; a step that
  stays inside the bounds is taken as ``select_step`` takes it (its quadratic model inlined); reflected steps,
  the trust-radius update and the termination test are scipy's own functions.

Reference: M. A. Branch, T. F. Coleman, Y. Li, "A Subspace, Interior, and Conjugate Gradient Method for
Large-Scale Bound-Constrained Minimization Problems", SIAM J. Sci. Comput. 21, 1 (1999) (scipy's trf).
"""

from __future__ import annotations

import numpy as np

#: above this many parameters the elementwise steps in Python floats cost more than numpy's: scipy's trf
MAX_PARAMS = 16
EPS = np.finfo(float).eps

_SVD: dict[tuple, tuple] = {}  # (m, n, dtype) -> (gesdd, lwork)


def _norm(x: np.ndarray):
    """``numpy.linalg.norm(x)`` of a 1-D float array (``sqrt(x.dot(x))``, as numpy computes it)."""
    x = x.ravel(order="K")
    return np.sqrt(x.dot(x))


def _svd(a: np.ndarray):
    """``scipy.linalg.svd(a, full_matrices=False)`` (driver gesdd) of a finite 2-D float array."""
    from scipy.linalg import get_lapack_funcs

    try:
        from scipy.linalg._decomp import _compute_lwork
    except ImportError:  # pragma: no cover - another scipy layout: its svd itself
        from scipy.linalg import svd

        return svd(a, full_matrices=False)
    if not np.isfinite(a).all():
        raise ValueError("array must not contain infs or NaNs")  # scipy.linalg.svd's check_finite
    key = (a.shape, a.dtype.char)
    got = _SVD.get(key)
    if got is None:
        gesdd, gesdd_lwork = get_lapack_funcs(("gesdd", "gesdd_lwork"), (a,), ilp64="preferred")
        lwork = _compute_lwork(gesdd_lwork, a.shape[0], a.shape[1], compute_uv=True, full_matrices=False)
        got = _SVD[key] = (gesdd, lwork)
    gesdd, lwork = got
    u, s, v, info = gesdd(a, compute_uv=True, lwork=lwork, full_matrices=False, overwrite_a=False)
    if info > 0:
        raise np.linalg.LinAlgError("SVD did not converge")
    if info < 0:  # pragma: no cover - a wrong call
        raise ValueError(f"illegal value in {-info}-th argument of internal gesdd")
    return u, s, v


def solve_lsq_trust_region(n, m, uf, s, V, Delta, initial_alpha=None, rtol=0.01, max_iter=10):
    """scipy's ``solve_lsq_trust_region`` (More's algorithm for the trust-region subproblem), same arithmetic."""

    def phi_and_derivative(alpha, suf, s, Delta):
        denom = s**2 + alpha
        p_norm = _norm(suf / denom)
        phi = p_norm - Delta
        phi_prime = -np.sum(suf**2 / denom**3) / p_norm
        return phi, phi_prime

    suf = s * uf
    if m >= n:
        threshold = EPS * m * s[0]
        full_rank = s[-1] > threshold
    else:
        full_rank = False
    if full_rank:
        p = -V.dot(uf / s)
        if _norm(p) <= Delta:
            return p, 0.0, 0
    alpha_upper = _norm(suf) / Delta
    if full_rank:
        phi, phi_prime = phi_and_derivative(0.0, suf, s, Delta)
        alpha_lower = -phi / phi_prime
    else:
        alpha_lower = 0.0
    if initial_alpha is None or (not full_rank and initial_alpha == 0):
        alpha = max(0.001 * alpha_upper, (alpha_lower * alpha_upper) ** 0.5)
    else:
        alpha = initial_alpha
    for it in range(max_iter):  # noqa: B007 - it is returned
        if alpha < alpha_lower or alpha > alpha_upper:
            alpha = max(0.001 * alpha_upper, (alpha_lower * alpha_upper) ** 0.5)
        phi, phi_prime = phi_and_derivative(alpha, suf, s, Delta)
        if phi < 0:
            alpha_upper = alpha
        ratio = phi / phi_prime
        alpha_lower = max(alpha_lower, alpha - ratio)
        alpha -= (phi + Delta) * ratio / Delta
        if np.abs(phi) < rtol * Delta:
            break
    p = -V.dot(suf / (s**2 + alpha))
    p *= Delta / _norm(p)
    return p, alpha, it + 1


def _scaling(x, g, lbl, ubl):
    """Coleman-Li scaling vector ``v`` and its derivative sign ``dv`` (scipy's ``CL_scaling_vector``)."""
    v, dv = [], []
    for xi, gi, lo, hi in zip(x.tolist(), g.tolist(), lbl, ubl, strict=True):
        if gi > 0 and lo > -np.inf:
            v.append(xi - lo)
            dv.append(1.0)
        elif gi < 0 and hi < np.inf:
            v.append(hi - xi)
            dv.append(-1.0)
        else:
            v.append(1.0)
            dv.append(0.0)
    return np.array(v), np.array(dv)


def trf_bounds(fun, jac, x0, f0, J0, lb, ub, ftol, xtol, gtol, max_nfev):
    """scipy's ``trf_bounds(fun, jac, x0, f0, J0, lb, ub, ftol, xtol, gtol, max_nfev, x_scale=ones,
    loss_function=None, tr_solver="exact", tr_options={}, verbose=0)``; returns (x, f, J, nfev, njev, status)."""
    from scipy.optimize._lsq.common import check_termination, make_strictly_feasible, update_tr_radius
    from scipy.optimize._lsq.trf import select_step

    lbl, ubl = lb.tolist(), ub.tolist()
    x = x0.copy()
    f = f0
    f_true = f.copy()
    nfev = 1
    J = J0
    njev = 1
    m, n = J.shape
    cost = 0.5 * np.dot(f, f)
    g = J.T.dot(f)
    v, dv = _scaling(x, g, lbl, ubl)
    Delta = _norm(x0 / v**0.5)  # x_scale = 1: scipy's products with it and its inverse are exact
    if Delta == 0:
        Delta = 1.0
    f_augmented = np.zeros(m + n)
    J_augmented = np.empty((m + n, n))
    if max_nfev is None:
        max_nfev = x0.size * 100
    alpha = 0.0
    termination_status = None
    while True:
        v, dv = _scaling(x, g, lbl, ubl)
        g_norm = np.abs(g * v).max()  # norm(g * v, ord=inf)
        if g_norm < gtol:
            termination_status = 1
        if termination_status is not None or nfev == max_nfev:
            break
        d = v**0.5
        diag_h = g * dv
        g_h = d * g
        f_augmented[:m] = f
        J_augmented[:m] = J * d
        J_h = J_augmented[:m]
        J_augmented[m:] = np.diag(diag_h**0.5)
        U, s, V = _svd(J_augmented)
        V = V.T
        uf = U.T.dot(f_augmented)
        theta = max(0.995, 1 - g_norm)
        actual_reduction = -1
        while actual_reduction <= 0 and nfev < max_nfev:
            p_h, alpha, _ = solve_lsq_trust_region(n, m, uf, s, V, Delta, initial_alpha=alpha)
            p = d * p_h
            x_p = x + p
            if all(lo <= xi <= hi for xi, lo, hi in zip(x_p.tolist(), lbl, ubl, strict=True)):
                # select_step's first case (the step stays in bounds), its evaluate_quadratic inlined
                Js = J_h.dot(p_h)
                q = np.dot(Js, Js)
                q += np.dot(p_h * diag_h, p_h)
                step, step_h, predicted_reduction = p, p_h, -(0.5 * q + np.dot(p_h, g_h))
            else:  # a reflected or truncated step
                step, step_h, predicted_reduction = select_step(x, J_h, diag_h, g_h, p, p_h, d, Delta, lb, ub,
                                                                theta)
            x_try = x + step
            if all(lo < xi < hi for xi, lo, hi in zip(x_try.tolist(), lbl, ubl, strict=True)):
                x_new = x_try  # strictly inside: make_strictly_feasible(rstep=0) returns a copy of it
            else:
                x_new = make_strictly_feasible(x_try, lb, ub, rstep=0)
            f_new = fun(x_new)
            nfev += 1
            step_h_norm = _norm(step_h)
            if not np.all(np.isfinite(f_new)):
                Delta = 0.25 * step_h_norm
                continue
            cost_new = 0.5 * np.dot(f_new, f_new)
            actual_reduction = cost - cost_new
            Delta_new, ratio = update_tr_radius(Delta, actual_reduction, predicted_reduction, step_h_norm,
                                                step_h_norm > 0.95 * Delta)
            step_norm = _norm(step)
            termination_status = check_termination(actual_reduction, cost, step_norm, _norm(x), ratio, ftol, xtol)
            if termination_status is not None:
                break
            alpha *= Delta / Delta_new
            Delta = Delta_new
        if actual_reduction > 0:
            x = x_new
            f = f_new
            f_true = f.copy()
            cost = cost_new
            J = jac(x)
            njev += 1
            g = J.T.dot(f)
    if termination_status is None:
        termination_status = 0
    return x, f_true, J, nfev, njev, termination_status
