r"""Mean-field variational inference by coordinate ascent (CAVI) -- chapter 3.

The mean-field family, eq. :eq:`mf-family`, approximates the posterior by a product of one factor
per latent variable::

    q(z) = prod_j q_j(z_j)

On a finite latent space the joint ``log p(x, z)`` is a table (as in :mod:`vitutor.discrete`):
each axis ``j`` is one latent variable and each factor ``q_j`` is a categorical distribution over
that axis, stored as a vector of log probabilities.  One CAVI step replaces a single factor by its
exact coordinate-wise maximiser, eq. :eq:`mf-update`::

    log q_j(z_j) = E_{-j}[log p(x, z_j, z_{-j})] - log Z_j

where ``E_{-j}`` averages over all the other factors.  The module also solves the mean-field
approximation of a multivariate Gaussian target by the same coordinate updates
(eq. :eq:`mf-gaussian-update`, Bishop 2006, sec. 10.1.2).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.special import entr, logsumexp

from . import discrete
from ._validate import (
    as_float_array,
    check_int,
    check_log_distribution,
    check_log_table,
    check_nonnegative,
    check_seed,
)

__all__ = [
    "CaviResult",
    "GaussianMeanField",
    "log_product",
    "elbo",
    "update_factor",
    "cavi",
    "MAX_CELLS",
    "MAX_TRACE",
    "gaussian_kl",
    "gaussian_meanfield",
]


@dataclass(frozen=True)
class CaviResult:
    """Outcome of :func:`cavi`.

    Attributes
    ----------
    log_q : tuple of numpy.ndarray
        ``log_q[j]`` is the log-probability vector of the factor ``q_j`` (one per axis).
    elbo_trace : numpy.ndarray
        ``elbo_trace[0]`` is the ELBO at the initialisation and ``elbo_trace[t]`` the ELBO after
        the ``t``-th single-factor update; its length is ``1 + D * n_iter`` for ``D`` factors.
    n_iter : int
        Number of full sweeps (each sweep updates every factor once).
    converged : bool
        Whether the ELBO gain over the last sweep fell below ``tol``.
    """

    log_q: tuple
    elbo_trace: np.ndarray
    n_iter: int
    converged: bool


@dataclass(frozen=True)
class GaussianMeanField:
    """Outcome of :func:`gaussian_meanfield`: ``q(z) = prod_j N(z_j; m_j, s2_j)``.

    Attributes
    ----------
    m : numpy.ndarray, shape (d,)
        Means of the factors.
    s2 : numpy.ndarray, shape (d,)
        Variances of the factors (``1 / Lambda_jj`` at every step).
    elbo_trace : numpy.ndarray
        ``-KL(q || p)`` at the initialisation and after every single-factor update (the target
        density is normalised, so this is the ELBO with ``log p(x) = 0``).
    n_iter : int
        Number of full sweeps.
    converged : bool
        Whether the largest change of a mean over the last sweep fell below ``tol``.
    """

    m: np.ndarray
    s2: np.ndarray
    elbo_trace: np.ndarray
    n_iter: int
    converged: bool


# ----------------------------------------------------------------------------------------------
# Discrete tables
# ----------------------------------------------------------------------------------------------


def _per_axis(value, name, shape):
    """A sequence holding one vector per axis of a table of the given shape."""
    try:
        items = list(value)
    except TypeError:
        kind = type(value).__name__
        raise TypeError(
            f"{name} must be a sequence of one vector per axis, got {kind}"
        ) from None
    if len(items) != len(shape):
        raise ValueError(
            f"{name} must hold one vector per axis of log_joint ({len(shape)} axes), got "
            f"{len(items)}"
        )
    return items


def _check_length(f, name, n_j, j):
    if f.shape != (n_j,):
        raise ValueError(
            f"{name} must have shape ({n_j},) to match axis {j} of log_joint, got {f.shape}"
        )


def _check_factors(log_q, shape, name="log_q"):
    """One normalised log-probability vector per axis of a table of the given shape."""
    checked = []
    for j, (f, n_j) in enumerate(
        zip(_per_axis(log_q, name, shape), shape, strict=True)
    ):
        f = check_log_distribution(f, f"{name}[{j}]")
        _check_length(f, f"{name}[{j}]", n_j, j)
        checked.append(f)
    return checked


def _check_init(init, shape):
    """Initial factors given as probability vectors; returns their logarithms."""
    log_q = []
    for j, (f, n_j) in enumerate(
        zip(_per_axis(init, "init", shape), shape, strict=True)
    ):
        f = as_float_array(f, f"init[{j}]")
        _check_length(f, f"init[{j}]", n_j, j)
        log_q.append(discrete.log_probs(f, f"init[{j}]"))
    return log_q


def _split(log_joint):
    """Finite part (``-inf`` cells set to 0) and the indicator of the ``-inf`` cells."""
    mask = log_joint == -np.inf
    return np.where(mask, 0.0, log_joint), mask.astype(np.float64)


def _contract(table, q, skip=None):
    """``sum_{z_k, k != skip} table[z] prod_{k != skip} q_k(z_k)``.

    A vector over axis ``skip``, or a scalar when ``skip`` is None (every axis contracted).
    """
    if skip is not None:
        table = np.moveaxis(table, skip, 0)
    others = [q_k for k, q_k in enumerate(q) if k != skip]
    for q_k in reversed(others):
        table = table @ q_k  # contracts the last remaining axis with q_k
    return table


def _expected_log_joint(finite, mask, q, j):
    """``E_{-j}[log p(x, z_j, z_{-j})]`` for every value of ``z_j`` -- eq. :eq:`mf-expect`.

    A cell with ``log p = -inf`` counts only when the other factors give it positive mass
    (``0 * -inf = 0``): then the expectation is ``-inf`` for that ``z_j``.
    """
    expect = _contract(finite, q, skip=j)
    mass_on_zero = _contract(mask, q, skip=j)
    return np.where(mass_on_zero > 0, -np.inf, expect)


def _elbo(finite, mask, q):
    """Mean-field ELBO ``E_q[log p(x, z)] + sum_j H[q_j]`` -- eq. :eq:`mf-elbo`."""
    entropy = sum(float(entr(q_j).sum()) for q_j in q)
    if _contract(mask, q) > 0:
        return -np.inf
    return float(_contract(finite, q)) + entropy


#: Default cap on the cells of a table ``log_product`` builds: 2**27 float64 cells are 1 GiB.
MAX_CELLS = 2**27

#: Default cap on the length of an ELBO trace, ``1 + D * max_iter`` values for ``D`` factors
#: (``cavi``) or ``d`` means (``gaussian_meanfield``): a run that never meets its tolerance stops
#: at ``max_iter`` sweeps, and its trace must fit in memory (2**24 values are half a GiB as a
#: Python list).  Pass ``max_trace`` to go further.
MAX_TRACE = 2**24


def _check_trace(n_per_sweep, max_iter, max_trace):
    """Refuse a ``max_iter`` whose trace of ``1 + n_per_sweep * max_iter`` values is too long."""
    max_trace = check_int(max_trace, "max_trace", 1)
    length = 1 + n_per_sweep * max_iter
    if length > max_trace:
        raise ValueError(
            f"max_iter = {max_iter} would allow an ELBO trace of 1 + {n_per_sweep} * {max_iter} = "
            f"{length:.3e} values, more than max_trace = {max_trace:.3e} (lower max_iter, or pass "
            f"a larger max_trace if memory allows)"
        )


def log_product(log_q, max_cells=MAX_CELLS):
    """Log table of the product ``q(z) = prod_j q_j(z_j)`` -- eq. :eq:`mf-family`, chapter 3.

    Parameters
    ----------
    log_q : sequence of array_like
        One normalised log-probability vector per latent variable.
    max_cells : int
        Largest table to build, in cells (``prod_j len(log_q[j])``); above it a ValueError naming
        ``log_q`` is raised instead of a MemoryError.

    Returns
    -------
    numpy.ndarray
        ``log q(z) = sum_j log q_j(z_j)``, of shape ``(len(log_q[0]), len(log_q[1]), ...)``.
    """
    factors = [
        check_log_distribution(f, f"log_q[{j}]") for j, f in enumerate(log_q)
    ]
    if not factors:
        raise ValueError("log_q must hold at least one factor")
    for j, f in enumerate(factors):
        if f.ndim != 1:
            raise ValueError(
                f"log_q[{j}] must be a 1-D vector, got shape {f.shape}"
            )
    max_cells = check_int(max_cells, "max_cells", 1)
    cells = math.prod(f.size for f in factors)
    if cells > max_cells:
        raise ValueError(
            f"log_q: the product of {len(factors)} factors would be a table of "
            f"{cells:.3e} cells, more than max_cells = {max_cells:.3e}"
        )
    table = factors[0]
    for f in factors[1:]:
        table = np.add.outer(table, f)
    return table


def elbo(log_joint, log_q):
    """Mean-field ELBO ``E_q[log p(x, z)] + sum_j H[q_j]`` -- eq. :eq:`mf-elbo`, chapter 3.

    Parameters
    ----------
    log_joint : array_like
        ``log p(x, z)`` for every configuration; axis ``j`` is the latent variable ``z_j``.
    log_q : sequence of array_like
        ``log_q[j]``: normalised log-probability vector of ``q_j``, of length
        ``log_joint.shape[j]``.

    Returns
    -------
    float
        The ELBO of the product ``q``; ``-inf`` when ``q`` puts mass where ``p(x, z) = 0``.
    """
    log_joint = check_log_table(log_joint, "log_joint")
    log_q = _check_factors(log_q, log_joint.shape)
    finite, mask = _split(log_joint)
    return _elbo(finite, mask, [np.exp(f) for f in log_q])


def _update(finite, mask, q, j):
    """Optimal ``log q_j`` given the other factors -- eq. :eq:`mf-update`; ``None`` if undefined."""
    expect = _expected_log_joint(finite, mask, q, j)
    log_Z = logsumexp(expect)
    if log_Z == -np.inf:
        return None
    return expect - log_Z


def update_factor(log_joint, log_q, j):
    """Exact coordinate maximiser of the ELBO over ``q_j`` -- eq. :eq:`mf-update`, chapter 3.

    ``log q_j(z_j) = E_{-j}[log p(x, z_j, z_{-j})] - log Z_j`` with ``Z_j`` the sum over ``z_j``
    of ``exp E_{-j}[...]``, so that the new factor is normalised.

    Parameters
    ----------
    log_joint : array_like
        ``log p(x, z)`` table, one axis per latent variable.
    log_q : sequence of array_like
        Current factors (normalised log-probability vectors); ``log_q[j]`` itself is not used.
    j : int
        Axis whose factor is updated, ``0 <= j < log_joint.ndim``.

    Returns
    -------
    numpy.ndarray
        The new ``log q_j``, of length ``log_joint.shape[j]``.

    Raises
    ------
    ValueError
        If the other factors put mass on a ``-inf`` cell for every value of ``z_j``, so that the
        ELBO is ``-inf`` whatever ``q_j`` is.
    """
    log_joint = check_log_table(log_joint, "log_joint")
    log_q = _check_factors(log_q, log_joint.shape)
    j = check_int(j, "j", 0)
    if j >= log_joint.ndim:
        raise ValueError(
            f"j must be < log_joint.ndim = {log_joint.ndim}, got {j}"
        )
    finite, mask = _split(log_joint)
    new = _update(finite, mask, [np.exp(f) for f in log_q], j)
    if new is None:
        raise ValueError(
            f"log_q: the factors other than {j} put mass on a cell with log_joint = -inf for every "
            f"value of z_{j}, so the ELBO is -inf whatever q_{j} is"
        )
    return new


def _check_order(order, D):
    if order is None:
        return list(range(D))
    order = [check_int(k, "order", 0) for k in order]
    if sorted(order) != list(range(D)):
        raise ValueError(
            f"order must be a permutation of range({D}), got {order}"
        )
    return order


def _random_init(log_joint, rng):
    """Flat-Dirichlet factors, or point masses at a random supported cell when ``p`` has zeros."""
    if np.all(np.isfinite(log_joint)):
        return [
            discrete.log_probs(rng.dirichlet(np.ones(n_j)), "init")
            for n_j in log_joint.shape
        ]
    cell = np.unravel_index(
        rng.choice(np.flatnonzero(np.isfinite(log_joint))), log_joint.shape
    )
    return [
        np.where(np.arange(n_j) == c, 0.0, -np.inf)
        for n_j, c in zip(log_joint.shape, cell, strict=True)
    ]


def cavi(
    log_joint,
    init=None,
    seed=None,
    max_iter=1000,
    tol=1e-10,
    order=None,
    max_trace=MAX_TRACE,
):
    """Coordinate ascent variational inference on a discrete joint table -- algorithm
    :prf:ref:`mf-cavi`, chapter 3.

    Each sweep replaces every factor in turn by its exact coordinate maximiser, eq. :eq:`mf-update`;
    the ELBO, eq. :eq:`mf-elbo`, is recorded after every single-factor update and never decreases.

    Parameters
    ----------
    log_joint : array_like
        ``log p(x, z)`` for every configuration; axis ``j`` is the latent variable ``z_j``.
        ``-inf`` marks impossible configurations; NaN, ``+inf`` and an all ``-inf`` table are
        refused.
    init : sequence of array_like, optional
        Starting factors as probability vectors, ``init[j]`` of length ``log_joint.shape[j]``.
        Zeros are allowed.  If None, each ``q_j`` is a flat-Dirichlet draw from ``seed``; when
        ``log_joint`` has ``-inf`` cells a full-support start can leave every single-factor update
        undefined (ELBO ``-inf`` whatever ``q_j``), so instead a cell ``z0`` is drawn uniformly from
        those with ``p(x, z) > 0`` and each ``q_j`` starts as the point mass at ``z0_j``.
    seed : int, numpy.random.Generator or None
        Randomness for the initialisation when ``init`` is None.
    max_iter : int
        Maximum number of sweeps, ``>= 1``.
    tol : float
        Stop when a sweep raises the ELBO by at most ``tol * max(1, |ELBO|)``.
    order : sequence of int, optional
        Order in which the factors are updated within a sweep (a permutation of the axes);
        default ``0, 1, ..., D-1``.
    max_trace : int
        Largest ELBO trace ``max_iter`` may allow, ``1 + D * max_iter`` values; above it a
        ValueError naming ``max_iter`` is raised (default :data:`MAX_TRACE`).

    Returns
    -------
    CaviResult
        Factors ``log_q``, ``elbo_trace`` (initial value then one entry per update), ``n_iter``
        and ``converged``.

    Raises
    ------
    ValueError
        For a malformed ``log_joint``, ``init`` or ``order``, an ``init`` from which no
        single-factor update can make the ELBO finite, or a ``max_iter`` above ``max_trace``.
    """
    log_joint = check_log_table(log_joint, "log_joint")
    max_iter = check_int(max_iter, "max_iter", 1)
    _check_trace(log_joint.ndim, max_iter, max_trace)
    tol = check_nonnegative(tol, "tol")
    order = _check_order(order, log_joint.ndim)
    log_q = (
        _random_init(log_joint, check_seed(seed))
        if init is None
        else _check_init(init, log_joint.shape)
    )

    finite, mask = _split(log_joint)
    q = [np.exp(f) for f in log_q]
    trace = [_elbo(finite, mask, q)]
    previous = trace[0]
    converged = False
    n_iter = 0
    while n_iter < max_iter and not converged:
        n_iter += 1
        for j in order:
            new = _update(finite, mask, q, j)
            if new is None:
                raise ValueError(
                    f"init puts mass on cells with log_joint = -inf for every value of z_{j}: the "
                    f"ELBO is -inf whatever q_{j} is; start from factors whose product puts mass "
                    f"only where p(x, z) > 0"
                )
            log_q[j], q[j] = new, np.exp(new)
            trace.append(_elbo(finite, mask, q))
        current = trace[-1]
        converged = bool(
            np.isfinite(previous)
            and abs(current - previous) <= tol * max(1.0, abs(current))
        )
        previous = current
    return CaviResult(
        log_q=tuple(log_q),
        elbo_trace=np.array(trace),
        n_iter=n_iter,
        converged=converged,
    )


# ----------------------------------------------------------------------------------------------
# Gaussian target
# ----------------------------------------------------------------------------------------------


def _check_gaussian(mean, precision):
    mean = as_float_array(mean, "mean")
    if mean.ndim != 1 or mean.size == 0:
        raise ValueError(
            f"mean must be a non-empty 1-D vector, got shape {mean.shape}"
        )
    if not np.all(np.isfinite(mean)):
        raise ValueError("mean must not contain NaN or inf")
    precision = as_float_array(precision, "precision")
    d = mean.size
    if precision.shape != (d, d):
        raise ValueError(
            f"precision must have shape ({d}, {d}) to match mean, got {precision.shape}"
        )
    if not np.all(np.isfinite(precision)):
        raise ValueError("precision must not contain NaN or inf")
    if not np.allclose(
        precision,
        precision.T,
        rtol=1e-12,
        atol=1e-12 * np.abs(precision).max(),
    ):
        raise ValueError("precision must be symmetric")
    try:
        np.linalg.cholesky(precision)
    except np.linalg.LinAlgError:
        raise ValueError("precision must be positive definite") from None
    return mean, precision


def _gaussian_kl(m, s2, mean, precision, log_det=None):
    """KL(prod_j N(m_j, s2_j) || N(mean, precision^-1)) -- eq. :eq:`mf-gaussian-kl`.

    ``log_det`` is ``log det precision`` when the caller has it (it does not change along a run).
    """
    diff = m - mean
    if log_det is None:
        log_det = np.linalg.slogdet(precision)[1]
    return 0.5 * float(
        np.sum(np.diag(precision) * s2)
        + diff @ precision @ diff
        - m.size
        - log_det
        - np.sum(np.log(s2))
    )


def gaussian_kl(m, s2, mean, precision):
    """Reverse KL from a diagonal Gaussian to a Gaussian target -- eq. :eq:`mf-gaussian-kl`, chapter
    3.

    Parameters
    ----------
    m, s2 : array_like, shape (d,)
        Means and variances (``> 0``) of the factors of ``q(z) = prod_j N(z_j; m_j, s2_j)``.
    mean : array_like, shape (d,)
        Mean ``mu`` of the target ``N(mu, Lambda^-1)``.
    precision : array_like, shape (d, d)
        Precision matrix ``Lambda`` (symmetric positive definite).

    Returns
    -------
    float
        ``KL(q || p) = 1/2 [sum_j Lambda_jj s2_j + (m - mu)^T Lambda (m - mu) - d - log det Lambda
        - sum_j log s2_j] >= 0``.
    """
    mean, precision = _check_gaussian(mean, precision)
    m = as_float_array(m, "m")
    s2 = as_float_array(s2, "s2")
    for name, v in (("m", m), ("s2", s2)):
        if v.shape != mean.shape:
            raise ValueError(
                f"{name} must have shape {mean.shape}, got {v.shape}"
            )
        if not np.all(np.isfinite(v)):
            raise ValueError(f"{name} must not contain NaN or inf")
    if np.any(s2 <= 0):
        raise ValueError("s2 must be > 0")
    return _gaussian_kl(m, s2, mean, precision)


def gaussian_meanfield(
    mean,
    precision,
    init=None,
    max_iter=10_000,
    tol=1e-12,
    max_trace=MAX_TRACE,
):
    """Mean-field approximation of ``N(mean, precision^-1)`` by CAVI -- eq.
    :eq:`mf-gaussian-update`, chapter 3.

    Factor ``j`` is ``N(m_j, 1 / Lambda_jj)`` with
    ``m_j = mu_j - (1 / Lambda_jj) sum_{k != j} Lambda_jk (m_k - mu_k)``; the factors are
    updated in turn (Bishop 2006, sec. 10.1.2).  The fixed point is ``m = mu``.

    Parameters
    ----------
    mean : array_like, shape (d,)
        Target mean ``mu``.
    precision : array_like, shape (d, d)
        Target precision ``Lambda``, symmetric positive definite.
    init : array_like, shape (d,), optional
        Starting means ``m``; default zeros.  The variances start at ``1 / Lambda_jj``, their
        optimal value, which does not depend on the other factors.
    max_iter : int
        Maximum number of sweeps.
    tol : float
        Stop when no mean moves by more than ``tol * (1 + max_j |m_j|)`` in a sweep.
    max_trace : int
        Largest ELBO trace ``max_iter`` may allow, ``1 + d * max_iter`` values; above it a
        ValueError naming ``max_iter`` is raised (default :data:`MAX_TRACE`).

    Returns
    -------
    GaussianMeanField
        ``m``, ``s2``, ``elbo_trace`` (``-KL(q || p)`` at the start and after every single-factor
        update), ``n_iter``, ``converged``.
    """
    mean, precision = _check_gaussian(mean, precision)
    max_iter = check_int(max_iter, "max_iter", 1)
    tol = check_nonnegative(tol, "tol")
    d = mean.size
    _check_trace(d, max_iter, max_trace)
    if init is None:
        m = np.zeros(d)
    else:
        m = as_float_array(init, "init").copy()
        if m.shape != (d,):
            raise ValueError(f"init must have shape ({d},), got {m.shape}")
        if not np.all(np.isfinite(m)):
            raise ValueError("init must not contain NaN or inf")
    lam_diag = np.diag(precision).copy()
    s2 = 1.0 / lam_diag
    log_det = np.linalg.slogdet(precision)[1]
    trace = [-_gaussian_kl(m, s2, mean, precision, log_det)]
    converged = False
    n_iter = 0
    while n_iter < max_iter and not converged:
        n_iter += 1
        start = m.copy()
        for j in range(d):
            # m_j = mu_j - (1/Lambda_jj) sum_{k != j} Lambda_jk (m_k - mu_k)
            off = precision[j] @ (m - mean) - lam_diag[j] * (m[j] - mean[j])
            m[j] = mean[j] - off / lam_diag[j]
            trace.append(-_gaussian_kl(m, s2, mean, precision, log_det))
        converged = bool(
            np.max(np.abs(m - start)) <= tol * (1.0 + np.max(np.abs(m)))
        )
    return GaussianMeanField(
        m=m,
        s2=s2,
        elbo_trace=np.array(trace),
        n_iter=n_iter,
        converged=converged,
    )
