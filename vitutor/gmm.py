r"""Bayesian mixture of unit-variance Gaussians (Blei, Kucukelbir & McAuliffe 2017).

The model of chapter 1, eq. (gmm-model)::

    mu_k ~ N(0, prior_var),        k = 1..K
    c_i  ~ Uniform{1..K},          i = 1..n
    x_i | c_i, mu ~ N(mu_{c_i}, 1)

In code, components are numbered ``0..K-1``.  This module holds the model itself: simulation
and the exact log evidence by enumeration of all ``K**n`` assignments.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import logsumexp

from ._validate import check_data, check_int, check_positive, check_seed

__all__ = ["MixtureSample", "simulate", "log_joint_assignments", "log_evidence_exact"]

#: Default cap on the number of assignments ``K**n`` that ``log_evidence_exact`` will sum
#: (about five seconds on a 2-core machine; memory stays near 70 MB whatever the size).
MAX_ASSIGNMENTS = 100_000_000

#: Number of assignments processed at once; bounds memory at a few tens of MB.
_CHUNK = 1 << 16


@dataclass(frozen=True)
class MixtureSample:
    """A draw from the model: data ``x`` (n,), assignments ``c`` (n,) in ``0..K-1``, means ``mu`` (K,)."""

    x: np.ndarray
    c: np.ndarray
    mu: np.ndarray


def simulate(n, K, prior_var, seed=None):
    """Draw ``(x, c, mu)`` from the mixture -- eq. (gmm-model), chapter 1.

    Parameters
    ----------
    n : int
        Number of observations, ``n >= 1``.
    K : int
        Number of components, ``K >= 1``.
    prior_var : float
        Prior variance ``sigma^2 > 0`` of the component means.
    seed : int, numpy.random.Generator or None
        Source of randomness.

    Returns
    -------
    MixtureSample
        ``x`` (n,), ``c`` (n,) with values in ``0..K-1``, ``mu`` (K,).
    """
    n = check_int(n, "n", 1)
    K = check_int(K, "K", 1)
    prior_var = check_positive(prior_var, "prior_var")
    rng = check_seed(seed)
    mu = rng.normal(0.0, np.sqrt(prior_var), size=K)
    c = rng.integers(0, K, size=n)
    x = mu[c] + rng.standard_normal(n)
    return MixtureSample(x=x, c=c, mu=mu)


def _check_model_args(x, K, prior_var):
    x = check_data(x, "x", ndim=1)
    K = check_int(K, "K", 1)
    prior_var = check_positive(prior_var, "prior_var")
    return x, K, prior_var


def _block_statistics(x_block, K):
    """Per-component counts n_k and sums S_k for every assignment of a block of points.

    Row ``a`` enumerates the assignments of the block in C order (first point slowest).
    Returns ``counts`` (K**m, K) int and ``sums`` (K**m, K) float.
    """
    m = x_block.size
    idx = np.arange(K**m, dtype=np.int64)
    powers = K ** np.arange(m - 1, -1, -1, dtype=np.int64)
    digits = (idx[:, None] // powers[None, :]) % K  # digits[a, i] = c_i of assignment a
    onehot = digits[:, :, None] == np.arange(K)  # (K**m, m, K)
    counts = onehot.sum(axis=1)
    sums = np.einsum("amk,m->ak", onehot, x_block)
    return counts, sums


def _log_joint_chunks(x, K, prior_var, chunk=_CHUNK):
    """Yield ``log p(x, c)`` for all assignments ``c`` in C order, a chunk at a time.

    Eq. (gmm-marginal-given-c): with mu integrated out, the points of component k (count n_k,
    sum S_k) contribute ``-1/2 log(1 + sigma^2 n_k) + sigma^2 S_k^2 / (2 (1 + sigma^2 n_k))``
    on top of the assignment-free constant ``-n/2 log 2 pi - 1/2 sum_i x_i^2 - n log K``.
    The statistics are additive over points, so they are tabulated once for a trailing block
    of points and once for the leading block, and combined by broadcasting.
    """
    n = x.size
    const = -0.5 * n * np.log(2 * np.pi) - 0.5 * np.sum(x**2) - n * np.log(K)
    j = np.arange(n + 1)
    log_det_term = -0.5 * np.log1p(prior_var * j)  # indexed by n_k
    quad_coef = 0.5 * prior_var / (1.0 + prior_var * j)  # indexed by n_k

    m_lo = 0
    while m_lo < n and K ** (m_lo + 1) <= chunk:
        m_lo += 1
    m_lo = max(m_lo, min(n, 1))
    cnt_lo, sum_lo = _block_statistics(x[n - m_lo :], K)
    cnt_hi, sum_hi = _block_statistics(x[: n - m_lo], K)
    rows = max(1, chunk // cnt_lo.shape[0])
    for start in range(0, cnt_hi.shape[0], rows):
        counts = cnt_hi[start : start + rows, None, :] + cnt_lo[None, :, :]
        sums = sum_hi[start : start + rows, None, :] + sum_lo[None, :, :]
        terms = log_det_term[counts] + quad_coef[counts] * sums**2
        yield const + terms.sum(axis=-1).ravel()


def _check_size(n, K, max_assignments, what):
    max_assignments = check_int(max_assignments, "max_assignments", 1)
    total = K**n
    if total > max_assignments:
        raise ValueError(
            f"{what} would enumerate K**n = {K}**{n} = {total:.3e} assignments, more than "
            f"max_assignments = {max_assignments:.3e}; exact inference is infeasible here"
        )
    return total


def log_joint_assignments(x, K, prior_var, max_assignments=1_000_000):
    """Table of ``log p(x, c)`` over all assignments, means integrated out -- eq. (gmm-marginal-given-c).

    Parameters
    ----------
    x : array_like, shape (n,)
        Observations.
    K : int
        Number of components.
    prior_var : float
        Prior variance of the means.
    max_assignments : int
        Refuse to build a table with more than this many cells.

    Returns
    -------
    numpy.ndarray, shape (K,) * n
        ``table[c_1, ..., c_n] = log p(x, c)``; a joint table for :mod:`vitutor.discrete`.
    """
    x, K, prior_var = _check_model_args(x, K, prior_var)
    _check_size(x.size, K, max_assignments, "log_joint_assignments")
    return np.concatenate(list(_log_joint_chunks(x, K, prior_var))).reshape((K,) * x.size)


def log_evidence_exact(x, K, prior_var, max_assignments=MAX_ASSIGNMENTS):
    """Exact ``log p(x)`` by summing over all ``K**n`` assignments -- eq. (gmm-evidence-exact), chapter 1.

    The means are integrated out in closed form for each assignment; the sum runs in chunks in
    log space, so memory stays bounded whatever ``n``.

    Parameters
    ----------
    x : array_like, shape (n,)
        Observations (finite, ``n >= 1``).
    K : int
        Number of components, ``K >= 1``.
    prior_var : float
        Prior variance of the means, ``> 0``.
    max_assignments : int
        Largest ``K**n`` to attempt; beyond it a ``ValueError`` says how many it would be.

    Returns
    -------
    float
        ``log p(x)``.
    """
    x, K, prior_var = _check_model_args(x, K, prior_var)
    _check_size(x.size, K, max_assignments, "log_evidence_exact")
    partial = [logsumexp(chunk) for chunk in _log_joint_chunks(x, K, prior_var)]
    return float(logsumexp(partial))
