"""Bayesian logistic regression: the Jaakkola--Jordan local bound, Laplace, and the exact answer --
chapter 8.

The model, eq. :eq:`bc-logreg-model`::

    w          ~ N(0, prior_var I_M)
    t_n | w    ~ Bernoulli(sigma(w^T x_n)),   t_n in {0, 1},  n = 1..N

with the design matrix ``X`` of shape ``(N, M)`` (a column of ones gives an intercept). No
Gaussian is conjugate to this likelihood. Three Gaussian answers are computed here:

* the Jaakkola--Jordan (JJ) local variational bound :eq:`bc-jj-bound` with one tangent parameter
  ``xi_n`` per observation, optimised by EM (:func:`em`), which gives ``q(w) = N(m_N, S_N)`` and a
  lower bound :eq:`bc-logreg-bound` on ``log p(t)``;
* the Laplace approximation at the posterior mode (:func:`laplace`);
* the ELBO of any Gaussian ``q`` with the *true* likelihood, by quadrature of each
  ``E_q[log p(t_n | w)]``, a one-dimensional integral over ``a_n = w^T x_n``, exact to rounding
  however wide ``q`` is (:func:`expected_log_lik`, :func:`elbo`); the
  black-box estimators of :mod:`vitutor.bbvi` maximise it.

For two parameters, :func:`grid_posterior` computes the exact posterior, its moments and the exact
log evidence by quadrature on a grid, eq. :eq:`bc-grid`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import (
    expit,
    logsumexp,
    ndtr,
    roots_hermitenorm,
    roots_legendre,
)

from ._validate import (
    MAX_ELEMENTS,
    check_binary_labels,
    check_broadcast,
    check_covariance,
    check_data,
    check_design,
    check_elements,
    check_finite_array,
    check_int,
    check_nonnegative,
    check_positive,
    check_real,
    check_seed,
)

__all__ = [
    "simulate",
    "jj_lambda",
    "log_sigmoid_bound",
    "update_q",
    "update_xi",
    "local_bound",
    "bound_objective",
    "JJResult",
    "em",
    "log_joint",
    "grad_log_joint",
    "LaplaceResult",
    "laplace",
    "expected_log_lik",
    "gaussian_entropy",
    "elbo",
    "GridPosterior",
    "grid_posterior",
]

_LOG_2PI = float(np.log(2.0 * np.pi))


def _check(X, t, prior_var):
    X = check_design(X, "X")
    return (
        X,
        check_binary_labels(t, X.shape[0], "t"),
        check_positive(prior_var, "prior_var"),
    )


def _check_gaussian(m, S, M, names=("m", "S")):
    m = check_data(m, names[0])
    if m.size != M:
        raise ValueError(
            f"{names[0]} must have {M} entries (one per column of X), got {m.size}"
        )
    return m, check_covariance(S, M, names[1])


def simulate(
    n, w, x_loc=0.0, x_scale=1.0, seed=None, max_elements=MAX_ELEMENTS
):
    """Draw ``n`` points: ``x ~ N(x_loc, x_scale^2)``, design ``X = [1, x]``, ``t ~
    Bernoulli(sigma(X w))``.

    ``max_elements`` caps the ``4 n`` numbers drawn and returned; above it a ValueError naming
    ``n`` is raised before anything is drawn.

    Returns
    -------
    X : array of shape (n, 2)
    t : array of shape (n,), labels in {0, 1}
    """
    n = check_int(n, "n", 1)
    check_elements(4 * n, f"n = {n} points", max_elements)
    w = check_data(w, "w")
    if w.size != 2:
        raise ValueError(
            f"w must hold an intercept and a slope, got {w.size} entries"
        )
    x_loc = check_real(x_loc, "x_loc")
    x_scale = check_positive(x_scale, "x_scale")
    rng = check_seed(seed)
    x = rng.normal(x_loc, x_scale, size=n)
    X = np.column_stack([np.ones(n), x])
    return X, (rng.random(n) < expit(X @ w)).astype(np.float64)


def jj_lambda(xi):
    """``lambda(xi) = (sigma(xi) - 1/2) / (2 xi) = tanh(xi / 2) / (4 xi)``, with ``lambda(0) = 1/8``
    -- eq. :eq:`bc-jj-bound`.

    ``xi`` is any finite real array (``lambda`` is even in ``xi``).
    """
    xi = np.abs(check_finite_array(xi, "xi"))
    small = xi < 1e-6
    safe = np.where(small, 1.0, xi)
    return np.where(
        small, 0.125 - xi**2 / 96.0, np.tanh(safe / 2) / (4 * safe)
    )


def log_sigmoid_bound(a, xi):
    """``log sigma(xi) + (a - xi) / 2 - lambda(xi) (a^2 - xi^2)``, a lower bound on ``log sigma(a)``
    -- eq. :eq:`bc-jj-bound`.

    Equality holds at ``a = +-xi``.  ``a`` and ``xi`` are finite real arrays that broadcast.
    """
    a, xi = check_finite_array(a, "a"), check_finite_array(xi, "xi")
    check_broadcast({"a": a.shape, "xi": xi.shape})
    return (
        -np.logaddexp(0.0, -xi)
        + 0.5 * (a - xi)
        - jj_lambda(xi) * (a**2 - xi**2)
    )


def update_q(X, t, prior_var, xi):
    """Optimal Gaussian ``q(w)`` for fixed tangent points ``xi`` -- eq. :eq:`bc-logreg-qw`.

    ``S_N^-1 = I / prior_var + 2 sum_n lambda(xi_n) x_n x_n^T`` and ``m_N = S_N sum_n (t_n - 1/2)
    x_n``.

    Returns
    -------
    m_N : array of shape (M,)
    S_N : array of shape (M, M)
    """
    X, t, prior_var = _check(X, t, prior_var)
    return _update_q(X, t, prior_var, _check_xi(xi, X.shape[0]))


def _check_xi(xi, N, name="xi"):
    xi = check_data(xi, name)
    if xi.size != N:
        raise ValueError(
            f"{name} must have one entry per observation ({N}), got {xi.size}"
        )
    return xi


def _update_q(X, t, prior_var, xi):
    precision = (
        np.eye(X.shape[1]) / prior_var + 2.0 * (X.T * jj_lambda(xi)) @ X
    )
    S_N = np.linalg.inv(precision)
    S_N = 0.5 * (S_N + S_N.T)
    return S_N @ (X.T @ (t - 0.5)), S_N


def update_xi(X, m_N, S_N):
    """EM update of the tangent points -- eq. :eq:`bc-logreg-xi`: ``xi_n^2 = x_n^T (S_N + m_N m_N^T)
    x_n``.
    """
    X = check_design(X, "X")
    m_N, S_N = _check_gaussian(m_N, S_N, X.shape[1], ("m_N", "S_N"))
    return _update_xi(X, m_N, S_N)


def _update_xi(X, m_N, S_N):
    return np.sqrt(np.einsum("nj,jk,nk->n", X, S_N + np.outer(m_N, m_N), X))


def local_bound(X, t, prior_var, xi):
    """The JJ lower bound on ``log p(t)`` at tangent points ``xi`` -- eq. :eq:`bc-logreg-bound`.

    ``L(xi) = 1/2 log(|S_N| / |S_0|) + 1/2 m_N^T S_N^-1 m_N
    + sum_n [log sigma(xi_n) - xi_n / 2 + lambda(xi_n) xi_n^2]``, with ``(m_N, S_N)`` from
    :func:`update_q` and ``S_0 = prior_var I``: the log of the integral of the bound
    :eq:`bc-jj-bound` times the prior, in closed form.
    """
    X, t, prior_var = _check(X, t, prior_var)
    return _local_bound(X, t, prior_var, _check_xi(xi, X.shape[0]))


def _local_bound(X, t, prior_var, xi):
    m_N, S_N = _update_q(X, t, prior_var, xi)
    M = X.shape[1]
    logdet_ratio = np.linalg.slogdet(S_N)[1] - M * np.log(prior_var)
    quad = m_N @ np.linalg.solve(S_N, m_N)
    per_point = -np.logaddexp(0.0, -xi) - 0.5 * xi + jj_lambda(xi) * xi**2
    return float(0.5 * logdet_ratio + 0.5 * quad + per_point.sum())


def bound_objective(X, t, prior_var, m, S, xi):
    """``F(q, xi) = E_q[log h(w, xi) + log p(w)] + H[q]`` for ``q = N(m, S)`` -- eq.
    :eq:`bc-logreg-F`.

    ``h(w, xi) = prod_n exp(t_n a_n) sigma(-a_n)`` with each ``sigma`` replaced by its bound
    :eq:`bc-jj-bound`; quadratic in ``w``, so the expectation is a closed form in ``m`` and ``S``.
    ``F <= ELBO(q) <= log p(t)``; maximising ``F`` over ``q`` gives :func:`update_q` and
    :func:`local_bound`, over ``xi`` gives :func:`update_xi`.
    """
    X, t, prior_var = _check(X, t, prior_var)
    m, S = _check_gaussian(m, S, X.shape[1])
    xi = _check_xi(xi, X.shape[0])
    M = X.shape[1]
    mean_a = X @ m
    E_a2 = np.einsum("nj,jk,nk->n", X, S + np.outer(m, m), X)
    # log h_n = log sigma(xi) + (t_n - 1/2) a_n - xi / 2 - lambda(xi) (a_n^2 - xi^2)
    e_log_h = (
        -np.logaddexp(0.0, -xi)
        + (t - 0.5) * mean_a
        - 0.5 * xi
        - jj_lambda(xi) * (E_a2 - xi**2)
    )
    e_log_prior = (
        -0.5 * M * (_LOG_2PI + np.log(prior_var))
        - 0.5 * (m @ m + np.trace(S)) / prior_var
    )
    return float(e_log_h.sum() + e_log_prior + _entropy(S))


@dataclass(frozen=True)
class JJResult:
    """Output of :func:`em`: ``q(w) = N(m_N, S_N)``, tangent points ``xi``, the bound after each
    iteration.
    """

    m_N: np.ndarray
    S_N: np.ndarray
    xi: np.ndarray
    bound_trace: np.ndarray
    n_iter: int
    converged: bool


def em(X, t, prior_var, xi0=None, max_iter=500, tol=1e-12):
    """EM for the JJ bound: alternate :eq:`bc-logreg-qw` (E-step) and :eq:`bc-logreg-xi` (M-step).

    ``xi0`` defaults to ones. The bound :eq:`bc-logreg-bound` after each iteration is recorded;
    the loop stops when it changes by less than ``tol`` relative to its size.

    Returns
    -------
    JJResult
    """
    X, t, prior_var = _check(X, t, prior_var)
    xi = (
        np.ones(X.shape[0])
        if xi0 is None
        else _check_xi(xi0, X.shape[0], "xi0")
    )
    max_iter = check_int(max_iter, "max_iter", 1)
    tol = check_positive(tol, "tol")
    trace, converged = [], False
    for _ in range(max_iter):
        m_N, S_N = _update_q(X, t, prior_var, xi)
        xi = _update_xi(X, m_N, S_N)
        trace.append(_local_bound(X, t, prior_var, xi))
        if len(trace) > 1 and abs(trace[-1] - trace[-2]) <= tol * abs(
            trace[-1]
        ):
            converged = True
            break
    m_N, S_N = _update_q(X, t, prior_var, xi)
    return JJResult(m_N, S_N, xi, np.array(trace), len(trace), converged)


def _as_rows(W, M):
    W = check_finite_array(W, "W")
    if W.ndim < 1 or W.shape[-1] != M:
        raise ValueError(
            f"W must have {M} entries in its last axis, got shape {W.shape}"
        )
    return W


def log_joint(W, X, t, prior_var):
    """``log p(t, w) = sum_n [t_n a_n - log(1 + e^{a_n})] + log N(w | 0, prior_var I)``, ``a = X w``
    -- eq. :eq:`bc-logreg-model`.

    ``W`` has shape ``(..., M)``; the result has shape ``W.shape[:-1]``.
    """
    X, t, prior_var = _check(X, t, prior_var)
    W = _as_rows(W, X.shape[1])
    A = W @ X.T
    loglik = A @ t - np.logaddexp(0.0, A).sum(axis=-1)
    M = X.shape[1]
    return (
        loglik
        - 0.5 * np.sum(W**2, axis=-1) / prior_var
        - 0.5 * M * (_LOG_2PI + np.log(prior_var))
    )


def grad_log_joint(W, X, t, prior_var):
    """``grad_w log p(t, w) = X^T (t - sigma(X w)) - w / prior_var``, one row per row of ``W``."""
    X, t, prior_var = _check(X, t, prior_var)
    W = _as_rows(W, X.shape[1])
    return (t - expit(W @ X.T)) @ X - W / prior_var


@dataclass(frozen=True)
class LaplaceResult:
    """The Laplace approximation ``N(mode, cov)`` and its estimate of ``log p(t)`` -- eq.
    :eq:`bc-laplace`.
    """

    mode: np.ndarray
    cov: np.ndarray
    log_evidence: float
    n_iter: int


def laplace(X, t, prior_var, max_iter=100, tol=1e-12):
    """Laplace approximation at the posterior mode, found by Newton's method -- eq.
    :eq:`bc-laplace`.

    ``cov = (I / prior_var + X^T R X)^-1`` with ``R = diag(sigma(a_n)(1 - sigma(a_n)))`` at the
    mode, and ``log p(t) ~ log p(t, mode) + M/2 log 2 pi + 1/2 log |cov|``.
    """
    X, t, prior_var = _check(X, t, prior_var)
    max_iter = check_int(max_iter, "max_iter", 1)
    tol = check_nonnegative(tol, "tol")
    M = X.shape[1]
    w = np.zeros(M)
    n_iter = 0
    while n_iter < max_iter:
        n_iter += 1
        p = expit(X @ w)
        grad = X.T @ (t - p) - w / prior_var
        hess = (
            np.eye(M) / prior_var + (X.T * (p * (1 - p))) @ X
        )  # minus the Hessian of log p(t, w)
        step = np.linalg.solve(hess, grad)
        w = w + step
        if np.max(np.abs(step)) <= tol * (1.0 + np.max(np.abs(w))):
            break
    p = expit(X @ w)
    cov = np.linalg.inv(np.eye(M) / prior_var + (X.T * (p * (1 - p))) @ X)
    cov = 0.5 * (cov + cov.T)
    log_ev = float(
        log_joint(w, X, t, prior_var)
        + 0.5 * M * _LOG_2PI
        + 0.5 * np.linalg.slogdet(cov)[1]
    )
    return LaplaceResult(w, cov, log_ev, n_iter)


# E_q[log(1 + e^{a_n})] by Gauss--Hermite where the sd s_n of a_n is at most this, else by
# _softplus_mean_wide
_WIDE_SD = 1.0
# panels of the wide rule over u = |a| (log(1 + e^-u) < 5e-18 beyond the last edge)
_WIDE_EDGES = np.array([0.0, 1.0, 2.0, 4.0, 8.0, 16.0, 24.0, 32.0, 40.0])
# Gauss--Legendre nodes per panel of the wide rule
_WIDE_PER_PANEL = 16


def _softplus_mean_narrow(mu, s, n_nodes):
    """``E[log(1 + e^a)]``, ``a ~ N(mu, s^2)``, by ``n_nodes``-point Gauss--Hermite.

    ``log(1 + e^a)`` is analytic with its nearest singularities at ``a = +-i pi``, at distance
    ``pi / s >= pi`` from the real axis in the standard-normal variable ``z`` when ``s <= 1``;
    64 nodes then reach rounding error.
    """
    z, w = roots_hermitenorm(n_nodes)
    a = mu[:, None] + s[:, None] * z  # (N, n_nodes)
    return np.logaddexp(0.0, a) @ (w / np.sqrt(2.0 * np.pi))


def _softplus_mean_wide(mu, s):
    """``E[log(1 + e^a)]``, ``a ~ N(mu, s^2)``, as its kink in closed form plus a bounded bump.

    ``log(1 + e^a) = max(a, 0) + r(|a|)`` with ``r(u) = log(1 + e^-u)``, so
    ``E[max(a, 0)] = mu Phi(mu / s) + s phi(mu / s)`` and
    ``E[r(|a|)] = int_0^inf r(u) [N(u | mu, s^2) + N(-u | mu, s^2)] du``, which is smooth on
    ``u >= 0`` (``r`` is analytic for ``|Im u| < pi``; for ``s > 1`` the Gaussian factor
    varies on a scale above 1) and is taken by Gauss--Legendre on panels that widen as ``r``
    decays.  Neither piece loses accuracy as ``s`` grows, whereas Gauss--Hermite in
    ``z = (a - mu) / s`` sees the bend of ``log(1 + e^a)`` at ``a = 0`` as a kink of width
    ``1 / s`` and converges ever more slowly.
    """
    x, w = roots_legendre(_WIDE_PER_PANEL)
    lo, hi = _WIDE_EDGES[:-1, None], _WIDE_EDGES[1:, None]
    u = (0.5 * (hi - lo) * x + 0.5 * (hi + lo)).ravel()
    wu = (0.5 * (hi - lo) * w).ravel() * np.log1p(np.exp(-u))
    x0 = mu / s
    kink = mu * ndtr(x0) + s * np.exp(-0.5 * x0**2) / np.sqrt(2.0 * np.pi)
    zp = (u - mu[:, None]) / s[:, None]
    zm = (u + mu[:, None]) / s[:, None]
    dens = (np.exp(-0.5 * zp**2) + np.exp(-0.5 * zm**2)) / (
        s[:, None] * np.sqrt(2.0 * np.pi)
    )
    return kink + dens @ wu


def _wide_rule_size():
    return (_WIDE_EDGES.size - 1) * _WIDE_PER_PANEL


def expected_log_lik(X, t, m, S, n_nodes=64, max_elements=MAX_ELEMENTS):
    """``sum_n E_q[log p(t_n | w)]`` for ``q = N(m, S)`` by quadrature -- eq. :eq:`bc-elbo-gauss`.

    Under ``q``, ``a_n = w^T x_n ~ N(mu_n, s_n^2)`` with ``mu_n = x_n^T m`` and
    ``s_n^2 = x_n^T S x_n``, so each term is ``t_n mu_n - E[log(1 + e^{a_n})]``, a
    one-dimensional Gaussian expectation.  It is taken by ``n_nodes``-point Gauss--Hermite
    quadrature where ``s_n <= 1`` and, where ``s_n`` is larger (a wide ``q``, e.g. the
    prior), as ``E[max(a_n, 0)]`` in closed form plus the bounded remainder
    ``log(1 + e^{-|a_n|})`` on a fixed 128-point composite Gauss--Legendre rule.  With
    ``n_nodes >= 64`` (the default) each term is exact to rounding for every ``q``: against
    30-digit quadrature for ``s_n`` from ``1e-3`` to ``1e4`` and ``|mu_n| <= 50`` the largest
    error was ``9e-16`` relative to ``max(1, |term|)`` (the tests check ``1e-13`` against
    scipy's adaptive quadrature, term by term).  Gauss--Hermite alone errs by about ``2e-4``
    at ``s_n = 5`` with 64 nodes and by ``1e-2`` at ``s_n = 100`` with 1000.  Fewer than 64
    nodes lose accuracy for ``s_n`` near 1.

    The nodes come from ``scipy.special.roots_hermitenorm`` (linear memory, stable for
    any ``n_nodes``); the ``(N + 8) n_nodes + 128 N`` numbers allocated must not exceed
    ``max_elements``, else a ValueError naming ``n_nodes``.
    """
    X = check_design(X, "X")
    t = check_binary_labels(t, X.shape[0], "t")
    m, S = _check_gaussian(m, S, X.shape[1])
    n_nodes = check_int(n_nodes, "n_nodes", 1)
    N = X.shape[0]
    check_elements(
        (N + 8) * n_nodes + _wide_rule_size() * N,
        f"n_nodes = {n_nodes} for N = {N} observations",
        max_elements,
    )
    mean_a = X @ m
    sd_a = np.sqrt(np.maximum(np.einsum("nj,jk,nk->n", X, S, X), 0.0))
    wide = sd_a > _WIDE_SD
    softplus_mean = np.empty(N)
    softplus_mean[~wide] = _softplus_mean_narrow(
        mean_a[~wide], sd_a[~wide], n_nodes
    )
    softplus_mean[wide] = _softplus_mean_wide(mean_a[wide], sd_a[wide])
    return float(t @ mean_a - softplus_mean.sum())


def _entropy(S):
    return 0.5 * np.linalg.slogdet(S)[1] + 0.5 * S.shape[0] * (1.0 + _LOG_2PI)


def gaussian_entropy(S):
    """``H[N(m, S)] = 1/2 log |S| + M/2 (1 + log 2 pi)`` for a covariance matrix ``S``."""
    S = check_finite_array(S, "S")
    if S.ndim != 2 or S.shape[0] != S.shape[1] or S.shape[0] < 1:
        raise ValueError(f"S must be a square matrix, got shape {S.shape}")
    return float(_entropy(check_covariance(S, S.shape[0], "S")))


def elbo(X, t, prior_var, m, S, n_nodes=64):
    """ELBO of ``q = N(m, S)`` with the true likelihood -- eq. :eq:`bc-elbo-gauss`.

    ``E_q[log p(t | w)]`` by :func:`expected_log_lik` (exact to rounding for every ``q`` with
    the default ``n_nodes``), plus the closed forms
    ``E_q[log N(w | 0, prior_var I)] = -M/2 log(2 pi prior_var) - (m^T m + tr S) / (2 prior_var)``
    and the entropy.
    """
    X, t, prior_var = _check(X, t, prior_var)
    m, S = _check_gaussian(m, S, X.shape[1])
    M = X.shape[1]
    e_log_prior = (
        -0.5 * M * (_LOG_2PI + np.log(prior_var))
        - 0.5 * (m @ m + np.trace(S)) / prior_var
    )
    return expected_log_lik(X, t, m, S, n_nodes) + e_log_prior + _entropy(S)


@dataclass(frozen=True)
class GridPosterior:
    """Exact posterior of a two-parameter model on a grid -- eq. :eq:`bc-grid`.

    ``w1``, ``w2`` are the grid axes, ``log_post[i, j]`` the normalised log density at
    ``(w1[i], w2[j])``, ``log_evidence`` the log of the integral of ``p(t, w)``, ``mean`` and
    ``cov``
    the posterior moments.
    """

    w1: np.ndarray
    w2: np.ndarray
    log_post: np.ndarray
    log_evidence: float
    mean: np.ndarray
    cov: np.ndarray

    @property
    def cell_area(self):
        """Area of one grid cell."""
        return (self.w1[1] - self.w1[0]) * (self.w2[1] - self.w2[0])

    def kl_from_gaussian(self, m, S):
        """``KL(N(m, S) || p(w | t))`` by the same quadrature (``m`` of length 2, ``S`` a 2 x 2
        covariance)."""
        m, S = _check_gaussian(m, S, 2)
        W = np.stack(np.meshgrid(self.w1, self.w2, indexing="ij"), axis=-1)
        D = W - m
        log_q = (
            -0.5 * np.einsum("...j,jk,...k->...", D, np.linalg.inv(S), D)
            - _LOG_2PI
            - 0.5 * np.linalg.slogdet(S)[1]
        )
        return float(
            np.sum(np.exp(log_q) * (log_q - self.log_post)) * self.cell_area
        )


def grid_posterior(
    X, t, prior_var, n_grid=351, width=11.0, max_elements=MAX_ELEMENTS
):
    """Exact posterior moments and ``log p(t)`` for ``M = 2`` by quadrature on a grid -- eq.
    :eq:`bc-grid`.

    The grid spans ``width`` Laplace standard deviations either side of the mode in each
    coordinate, with ``n_grid`` points per axis; the integrals are Riemann sums, which converge
    faster than any power of the spacing for a smooth density that is negligible at the edges.
    The log joint is evaluated on all ``n_grid^2`` points at once, an ``n_grid^2 N`` array: above
    ``max_elements`` a ValueError naming ``n_grid`` is raised.
    """
    X, t, prior_var = _check(X, t, prior_var)
    if X.shape[1] != 2:
        raise ValueError(
            f"grid_posterior needs X with 2 columns, got {X.shape[1]}"
        )
    n_grid = check_int(n_grid, "n_grid", 3)
    check_elements(
        n_grid**2 * (X.shape[0] + 2),
        f"n_grid = {n_grid} for N = {X.shape[0]} observations",
        max_elements,
    )
    width = check_positive(width, "width")
    lap = laplace(X, t, prior_var)
    sd = np.sqrt(np.diag(lap.cov))
    w1, w2 = (
        np.linspace(
            lap.mode[k] - width * sd[k], lap.mode[k] + width * sd[k], n_grid
        )
        for k in range(2)
    )
    W = np.stack(np.meshgrid(w1, w2, indexing="ij"), axis=-1)
    lj = log_joint(W, X, t, prior_var)
    area = (w1[1] - w1[0]) * (w2[1] - w2[0])
    log_ev = float(logsumexp(lj) + np.log(area))
    p = np.exp(lj - log_ev) * area  # cell probabilities
    mean = np.einsum("ij,ijk->k", p, W)
    D = W - mean
    cov = np.einsum("ij,ijk,ijl->kl", p, D, D)
    return GridPosterior(w1, w2, lj - log_ev, log_ev, mean, cov)
