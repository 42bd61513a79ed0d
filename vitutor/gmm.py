r"""Bayesian mixture of unit-variance Gaussians (Blei, Kucukelbir & McAuliffe 2017).

The model of chapter 1, eq. :eq:`gmm-model`::

    mu_k ~ N(0, prior_var),        k = 1..K
    c_i  ~ Uniform{1..K},          i = 1..n
    x_i | c_i, mu ~ N(mu_{c_i}, 1)

In code, components are numbered ``0..K-1``.  This module holds the model itself (simulation,
the exact log evidence by enumeration of all ``K**n`` assignments, the exact posterior of the
means as a mixture over assignments) and, for chapter 4, the mean-field approximation

    q(mu, c) = prod_k N(mu_k; m_k, s2_k) prod_i Categorical(c_i; phi_i)

fitted by coordinate ascent (CAVI), its closed-form ELBO, and a Gibbs sampler for comparison.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import logsumexp, xlogy
from scipy.stats import norm

from ._validate import (
    as_float_array,
    check_data,
    check_distribution_rows,
    check_elements,
    check_int,
    check_nonnegative,
    check_positive,
    check_seed,
)
from .expfam import Categorical, Gaussian
from .svi import ConjugateModel, Factor, MeanFieldModel

__all__ = [
    "MixtureSample",
    "simulate",
    "log_joint_assignments",
    "log_evidence_exact",
    "log_joint",
    "mean_posterior_exact",
    "update_assignments",
    "update_means",
    "elbo",
    "CaviResult",
    "cavi",
    "GibbsResult",
    "gibbs",
    "mean_field_form",
    "conjugate_form",
]

#: Default cap on the number of assignments ``K**n`` that ``log_evidence_exact`` will sum
#: (about five seconds on a 2-core machine; memory stays near 70 MB whatever the size).
MAX_ASSIGNMENTS = 100_000_000

#: Default cap on the number of array elements a call may allocate for its result
#: (``simulate``: ``2 n + K``; ``gibbs``: ``n_sweeps * K``, plus ``n_sweeps * n`` with
#: ``keep_assignments``): 2**28 float64 elements are 2 GiB, refused with a ValueError that names
#: the argument rather than left to fail in a MemoryError.  Pass ``max_elements`` to go further.
MAX_ELEMENTS = 2**28

#: Number of assignments processed at once; bounds memory at a few tens of MB.
_CHUNK = 1 << 16


@dataclass(frozen=True)
class MixtureSample:
    """A draw from the model: data ``x`` (n,), assignments ``c`` (n,), means ``mu`` (K,).

    Components are numbered ``0..K-1``.
    """

    x: np.ndarray
    c: np.ndarray
    mu: np.ndarray


def simulate(n, K, prior_var, seed=None, max_elements=MAX_ELEMENTS):
    """Draw ``(x, c, mu)`` from the mixture -- eq. :eq:`gmm-model`, chapter 1.

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
    max_elements : int
        Largest ``2 n + K`` (elements of ``x``, ``c`` and ``mu``) to allocate; above it a
        ValueError naming ``n`` is raised instead of a MemoryError.

    Returns
    -------
    MixtureSample
        ``x`` (n,), ``c`` (n,) with values in ``0..K-1``, ``mu`` (K,).
    """
    n = check_int(n, "n", 1)
    K = check_int(K, "K", 1)
    prior_var = check_positive(prior_var, "prior_var")
    check_elements(2 * n + K, f"simulate(n={n}, K={K}): 2 n + K", max_elements)
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
    digits = (
        idx[:, None] // powers[None, :]
    ) % K  # digits[a, i] = c_i of assignment a
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
    """``log p(x, c)`` for every assignment, means integrated out -- eq. :eq:`gmm-marginal-given-c`.

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
    return np.concatenate(list(_log_joint_chunks(x, K, prior_var))).reshape(
        (K,) * x.size
    )


def log_evidence_exact(x, K, prior_var, max_assignments=MAX_ASSIGNMENTS):
    """Exact ``log p(x)``, summed over all ``K**n`` assignments -- eq. :eq:`gmm-evidence-exact`.

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
    partial = [
        logsumexp(chunk) for chunk in _log_joint_chunks(x, K, prior_var)
    ]
    return float(logsumexp(partial))


def log_joint(x, c, mu, prior_var):
    """Full joint ``log p(x, c, mu)`` -- eqs. :eq:`gmm-model`, :eq:`gmm-log-joint-full`.

    Used for Monte Carlo checks of the ELBO: leading axes of ``c`` and ``mu`` broadcast, so a
    batch of draws ``(c^(s), mu^(s))`` from ``q`` gives a batch of joint log densities.

    Parameters
    ----------
    x : array_like, shape (n,)
        Observations.
    c : array_like of int, shape (..., n)
        Assignments with values in ``0..K-1``.
    mu : array_like, shape (..., K)
        Component means.
    prior_var : float
        Prior variance ``sigma^2 > 0`` of the means.

    Returns
    -------
    numpy.ndarray or float
        ``log p(mu) + log p(c) + log p(x | c, mu)`` over the broadcast leading axes.
    """
    x = check_data(x, "x", ndim=1)
    prior_var = check_positive(prior_var, "prior_var")
    mu = as_float_array(mu, "mu")
    if mu.ndim < 1 or mu.shape[-1] < 1:
        raise ValueError(
            f"mu must have a last axis of length K >= 1, got shape {mu.shape}"
        )
    if not np.all(np.isfinite(mu)):
        raise ValueError("mu must not contain NaN or inf")
    c = np.asarray(c)
    if not np.issubdtype(c.dtype, np.integer):
        raise TypeError(f"c must be an array of integers, got dtype {c.dtype}")
    K = mu.shape[-1]
    if c.ndim < 1 or c.shape[-1] != x.size:
        raise ValueError(
            f"c must have a last axis of length n = {x.size}, got shape {c.shape}"
        )
    if np.any(c < 0) or np.any(c >= K):
        raise ValueError(f"c must take values in 0..{K - 1}")
    lead = np.broadcast_shapes(c.shape[:-1], mu.shape[:-1])
    mu_c = np.take_along_axis(
        np.broadcast_to(mu, lead + (K,)),
        np.broadcast_to(c, lead + (x.size,)),
        axis=-1,
    )
    log_prior_mu = norm.logpdf(mu, scale=np.sqrt(prior_var)).sum(axis=-1)
    log_prior_c = -x.size * np.log(K)
    log_lik = norm.logpdf(x, loc=mu_c).sum(axis=-1)
    return log_prior_mu + log_prior_c + log_lik


def mean_posterior_exact(x, K, prior_var, max_assignments=1_000_000):
    """Exact posterior of the means, a mixture over assignments -- eq. :eq:`gmm-mu-exact`.

    ``p(mu | x) = sum_c p(c | x) prod_k N(mu_k; S_k / (1/sigma^2 + n_k), 1 / (1/sigma^2 + n_k))``
    where ``n_k`` and ``S_k`` are the count and the sum of the points that ``c`` puts in
    component ``k``.

    Parameters
    ----------
    x : array_like, shape (n,)
        Observations.
    K : int
        Number of components.
    prior_var : float
        Prior variance of the means.
    max_assignments : int
        Refuse to enumerate more than this many assignments.

    Returns
    -------
    weights : numpy.ndarray, shape (K**n,)
        ``p(c | x)`` for the assignments in C order (as ``log_joint_assignments(...).ravel()``).
    loc, var : numpy.ndarray, shape (K**n, K)
        Mean and variance of ``mu_k`` given each assignment.
    """
    x, K, prior_var = _check_model_args(x, K, prior_var)
    log_table = log_joint_assignments(
        x, K, prior_var, max_assignments=max_assignments
    ).ravel()
    counts, sums = _block_statistics(x, K)
    precision = 1.0 / prior_var + counts
    return (
        np.exp(log_table - logsumexp(log_table)),
        sums / precision,
        1.0 / precision,
    )


def _check_q_means(m, s2):
    m = as_float_array(m, "m")
    s2 = as_float_array(s2, "s2")
    if m.ndim != 1 or m.size < 1:
        raise ValueError(
            f"m must be a non-empty 1-D array, got shape {m.shape}"
        )
    if s2.shape != m.shape:
        raise ValueError(
            f"s2 must have the same shape as m {m.shape}, got {s2.shape}"
        )
    if not np.all(np.isfinite(m)):
        raise ValueError("m must not contain NaN or inf")
    if not np.all(np.isfinite(s2)) or np.any(s2 <= 0):
        raise ValueError("s2 must be finite and > 0")
    return m, s2


def _means_from_stats(counts, sums, prior_var):
    precision = 1.0 / prior_var + counts
    return sums / precision, 1.0 / precision


def update_assignments(x, m, s2):
    """Optimal ``q(c_i)`` given ``q(mu)`` -- eq. :eq:`gmm-phi`, chapter 4.

    ``phi_ik`` is proportional to ``exp(E[mu_k] x_i - E[mu_k^2] / 2)`` with ``E[mu_k] = m_k`` and
    ``E[mu_k^2] = s2_k + m_k^2``.  It is evaluated with ``x`` and ``m`` first shifted to the
    centre of the data's range, so that large ``|x_i|`` cost no accuracy, and with factors common
    to all ``k`` (such as ``exp(-x_i^2 / 2)``) left out, which gives the same ``phi``; the E-step's
    docstring lists the three forms and bounds their rounding.

    Parameters
    ----------
    x : array_like, shape (n,)
        Observations.
    m, s2 : array_like, shape (K,)
        Means and variances (> 0) of ``q(mu_k)``.

    Returns
    -------
    numpy.ndarray, shape (n, K)
        ``phi``, rows summing to one.
    """
    x = check_data(x, "x", ndim=1)
    m, s2 = _check_q_means(m, s2)
    phi = np.empty((x.size, m.size))
    _estep_statistics(_centre(x), m, s2, _BLOCK, phi_out=phi)
    return phi


def update_means(x, phi, prior_var):
    """Optimal ``q(mu_k) = N(m_k, s2_k)`` given ``q(c)`` -- eqs. :eq:`gmm-m`, :eq:`gmm-s2`.

    ``m_k = sum_i phi_ik x_i / (1/sigma^2 + sum_i phi_ik)`` and
    ``s2_k = 1 / (1/sigma^2 + sum_i phi_ik)``.

    Parameters
    ----------
    x : array_like, shape (n,)
        Observations.
    phi : array_like, shape (n, K)
        Responsibilities, rows summing to one.
    prior_var : float
        Prior variance ``sigma^2 > 0`` of the means.

    Returns
    -------
    m, s2 : numpy.ndarray, shape (K,)
    """
    x = check_data(x, "x", ndim=1)
    phi = _check_phi(phi, x.size, "phi")
    prior_var = check_positive(prior_var, "prior_var")
    return _means_from_stats(phi.sum(axis=0), x @ phi, prior_var)


def _check_phi(phi, n, name):
    arr = as_float_array(phi, name)
    if arr.ndim != 2 or arr.shape[0] != n or arr.shape[1] < 1:
        raise ValueError(
            f"{name} must have shape (n, K) = ({n}, K), got {arr.shape}"
        )
    return check_distribution_rows(arr, name)


def _kl_means(m, s2, prior_var):
    # sum_k KL(N(m_k, s2_k) || N(0, sigma^2)) = -sum_k (E[log p(mu_k)] + H[q(mu_k)])
    return 0.5 * float(
        np.sum((s2 + m**2) / prior_var - 1.0 - np.log(s2 / prior_var))
    )


def elbo(x, phi, m, s2, prior_var):
    """Closed-form ELBO of the mean-field family -- eqs. :eq:`gmm-elbo-terms`, :eq:`gmm-elbo-each`.

    ``sum_k E[log p(mu_k)] + sum_i E[log p(c_i)] + sum_i E[log p(x_i | c_i, mu)]
    - sum_i E[log q(c_i)] - sum_k E[log q(mu_k)]``, every constant included, so that
    ``elbo <= log p(x)`` (``log_evidence_exact``) holds as a number, not up to a constant.

    Parameters
    ----------
    x : array_like, shape (n,)
        Observations.
    phi : array_like, shape (n, K)
        Responsibilities of ``q(c_i)``, rows summing to one.
    m, s2 : array_like, shape (K,)
        Means and variances (> 0) of ``q(mu_k)``.
    prior_var : float
        Prior variance ``sigma^2 > 0`` of the means.

    Returns
    -------
    float
    """
    x = check_data(x, "x", ndim=1)
    m, s2 = _check_q_means(m, s2)
    phi = _check_phi(phi, x.size, "phi")
    if phi.shape[1] != m.size:
        raise ValueError(
            f"phi has {phi.shape[1]} columns but m has K = {m.size} entries"
        )
    prior_var = check_positive(prior_var, "prior_var")
    n, K = phi.shape
    # sum_k E[log p(mu_k)] = sum_k -1/2 log(2 pi sigma^2) - (s2_k + m_k^2) / (2 sigma^2)
    e_log_p_mu = float(
        np.sum(
            norm.logpdf(0.0, scale=np.sqrt(prior_var))
            - 0.5 * (s2 + m**2) / prior_var
        )
    )
    e_log_p_c = -n * np.log(K)
    # E[log p(x_i | c_i, mu)] = sum_k phi_ik (-1/2 log 2 pi - ((x_i - m_k)^2 + s2_k) / 2)
    e_log_lik = float(
        np.sum(phi * (norm.logpdf(np.subtract.outer(x, m)) - 0.5 * s2))
    )
    entropy_c = -float(np.sum(xlogy(phi, phi)))
    entropy_mu = float(np.sum(norm.entropy(scale=np.sqrt(s2))))
    return e_log_p_mu + e_log_p_c + e_log_lik + entropy_c + entropy_mu


#: Rows of ``x`` per block of the CAVI E-step: a (K, 8192) float64 block (640 kB at K = 10)
#: stays in the L2 cache while it is exponentiated and reduced.
_BLOCK = 8192

#: The "outer" form of the exponent is taken when ``max_k |m_k - c| * max_i |x_i - c|`` plus
#: ``max_k (m_k - c)^2 / 2 + s2_k / 2`` is at most this: every factor ``exp(a_k (x_i - c))``,
#: ``exp(b_k)`` and every product of the two then lies in ``[e**-600, e**600]``, normal floats
#: far from overflow (``e**709``) and from the subnormals below ``e**-708``, whose exponentials
#: numpy computes some fifty times more slowly.
_OUTER_RANGE = 600.0

#: The "product" form is taken, when the outer one is not, if
#: ``max_i |x_i - c| + max_k |m_k - c|`` is at most this: the product's rounding error in each
#: exponent is then below ``eps * 256**2``, about 1.5e-11, and in practice far smaller.
_PRODUCT_SCALE = 256.0

#: In the product and difference forms, a row whose sum ``sum_k exp(-energy[k, i])`` falls below
#: this is recomputed with the max-shift: above it the largest term is a normal float and every
#: term within 1e-25 of it too.
_UNDERFLOW = 2.0**-900


@dataclass(frozen=True)
class _Centred:
    """The data as the E-step uses them, prepared once per data set (:func:`_centre`).

    ``x`` (n,), the centre ``c`` of its range, ``xc = x - c``, ``square_sum = sum_i xc_i^2``
    and ``half_range = max_i |xc_i|``.
    """

    x: np.ndarray
    c: float
    xc: np.ndarray
    square_sum: float
    half_range: float


def _centre(x):
    lo, hi = float(x.min()), float(x.max())
    c = 0.5 * (lo + hi)
    xc = x - c
    return _Centred(x, c, xc, float(np.dot(xc, xc)), 0.5 * (hi - lo))


def _exponent_plan(data, m, s2):
    """How the E-step forms its exponents for centred data ``data`` (a :class:`_Centred`) and
    ``q(mu) = N(m, s2)``: ``"outer"``, ``"product"`` or ``"difference"``
    (see :func:`_estep_statistics`)."""
    a = np.abs(m - data.c)
    reach = float(a.max()) * data.half_range
    depth = float(np.max(0.5 * (a * a + s2)))
    if reach + depth <= _OUTER_RANGE:
        return "outer"
    if data.half_range + float(a.max()) <= _PRODUCT_SCALE:
        return "product"
    return "difference"


def _estep_statistics(data, m, s2, block, phi_out=None):
    """E-step at q(mu) = N(m, s2), one cache-sized block at a time -- eq. :eq:`gmm-phi`.

    ``data`` is the :class:`_Centred` form of ``x``.  ``phi`` itself is written only when
    ``phi_out`` (n, K) is given.  Returns ``counts[k] = sum_i phi_ik``,
    ``sums[k] = sum_i phi_ik x_i`` and
    ``log_z = sum_i log sum_k exp(-((x_i - m_k)^2 + s2_k) / 2)``, the only data-dependent part of
    the ELBO when ``phi`` is the optimum (gmm-phi) for ``q(mu)`` -- eq. :eq:`gmm-elbo-collapsed`.

    With ``x`` and ``m`` shifted by the centre ``c`` of the data's range (``x'_i = x_i - c``,
    ``a_k = m_k - c``), the exponent is

        -((x_i - m_k)^2 + s2_k) / 2 = -x'_i^2 / 2 + a_k x'_i + b_k,   b_k = -(a_k^2 + s2_k) / 2.

    Each block of points is exponentiated once, in place, in a (K, block) buffer that stays in
    the cache; the row sums ``r_i`` are one matrix-vector product over k, and the statistics two
    more (with ``1 / r_i`` and ``x_i / r_i``), so scipy's ``softmax`` and ``logsumexp``, which
    allocate several n x K temporaries, are not needed.  The exponent is written in one of three
    forms (:func:`_exponent_plan`):

    * ``"outer"``: the factor ``exp(-x'_i^2 / 2)`` is common to all k, so it cancels from
      ``phi`` and enters ``log_z`` as ``-x'_i^2 / 2``, in log space; ``exp(b_k)`` is a weight of
      the matrix-vector products.  What is exponentiated is the outer product ``a_k x'_i``, one
      multiplication per (i, k).  Taken when every factor and product stays within
      ``e**(+-600)`` (``_OUTER_RANGE``): no row can then under- or overflow, and the rounding
      error in each exponent is a few times ``eps * 600`` (1.3e-13) at most.
    * ``"product"``: the whole exponent as the product of the (K, 3) matrix
      ``[a_k, -1/2, b_k]`` with the (3, block) block ``[x'_i, x'_i^2, 1]``, for data whose
      range is too wide for the outer form but within ``_PRODUCT_SCALE``; rounding loses about
      ``eps * (|x'_i| + |a_k|)^2``.
    * ``"difference"``: from ``x_i - m_k``, exactly, in three passes, for anything wider.

    In the last two the exponent is never positive (beyond rounding), so the softmax needs no
    max-shift against overflow; only a row far from every mean (``min_k energy[k, i]`` above
    ``900 log 2``, about 624) can underflow, and such rows are recomputed shifted by their
    minimum energy.  ``sum_i log r_i`` is formed from products of up to eight row sums, as many
    as cannot under- or overflow (``_sum_log``).
    """
    x, xc = data.x, data.xc
    K, n = m.size, x.size
    rows = min(block, n)
    form = _exponent_plan(data, m, s2)
    a = m - data.c
    if form == "outer":
        weights = np.exp(-0.5 * (a * a + s2))
        a_col = a[:, None]
    else:
        weights = np.ones(K)
        if form == "product":
            coef = np.column_stack([a, np.full(K, -0.5), -0.5 * (a * a + s2)])
            features = np.ones((3, rows))
        else:
            half = np.sqrt(0.5)
            m_half = (half * m)[:, None]
            neg_s2_half = (-0.5 * s2)[:, None]
    buf = np.empty((K, rows))
    # every row's r_i, kept so that their logs are taken together, at the end
    row_sums = np.empty(n)
    w = np.empty((2, rows))
    # block_stats[:, j, k]: (sum_i rho[k, i] / r_i, sum_i rho[k, i] x_i / r_i) over block j
    block_stats = np.empty((2, -(-n // rows), K))
    log_z = -0.5 * data.square_sum if form == "outer" else 0.0
    for j, start in enumerate(range(0, n, rows)):
        stop = start + rows
        xb = x[start:stop]
        nb = xb.size
        # rho[k, i] = phi_ik * r_i / weights[k]; phi_ik of eq. (gmm-phi) is proportional to
        # exp(-((x_i - m_k)^2 + s2_k) / 2), which differs from exp(E[mu_k] x_i - E[mu_k^2] / 2)
        # by the factor exp(-x_i^2 / 2), common to all k
        rho = buf[:, :nb]
        if form == "outer":
            np.multiply(a_col, xc[start:stop], out=rho)
        elif form == "product":
            f = features[:, :nb]
            np.copyto(f[0], xc[start:stop])
            np.square(f[0], out=f[1])
            np.matmul(coef, f, out=rho)
        else:
            np.subtract(half * xb, m_half, out=rho)
            np.square(rho, out=rho)
            np.subtract(neg_s2_half, rho, out=rho)
        np.exp(rho, out=rho)
        row_sum = np.dot(weights, rho, out=row_sums[start:stop])
        if form != "outer" and row_sum.min() < _UNDERFLOW:
            log_z -= _shift_underflowing_rows(xb, m, s2, rho, row_sum)
        inv = np.divide(1.0, row_sum, out=w[0, :nb])
        np.dot(rho, inv, out=block_stats[0, j])
        np.dot(rho, np.multiply(inv, xb, out=w[1, :nb]), out=block_stats[1, j])
        if phi_out is not None:
            phi_block = np.multiply(
                rho.T, inv[:, None], out=phi_out[start:stop]
            )
            if form == "outer":
                phi_block *= weights
    log_z += _sum_log(row_sums)
    counts, sums = block_stats.sum(axis=1) * weights
    return counts, sums, log_z


#: ``sum_i log r_i`` is taken as the sum of the logs of products of up to ``_LOG_GROUP``
#: consecutive ``r_i``, as many as keep every partial product within ``e**(+-_LOG_RANGE)``,
#: normal floats (the smallest is about ``e**-708``): one log then replaces up to eight.
_LOG_GROUP = 8
_LOG_RANGE = 700.0


def _sum_log(r):
    """``sum_i log r_i`` for positive, finite ``r``."""
    span = max(-float(np.log(r.min())), float(np.log(r.max())), 1.0)
    group = int(min(_LOG_GROUP, _LOG_RANGE // span))
    if group <= 1:
        return float(np.sum(np.log(r)))
    head = r.size - r.size % group
    grouped = r[:head].reshape(group, -1).prod(axis=0)
    return float(np.sum(np.log(grouped)) + np.sum(np.log(r[head:])))


def _shift_underflowing_rows(xb, m, s2, rho, row_sum):
    """Recompute, in place, the rows of a block whose unshifted weights underflow.

    For each row ``i`` with ``row_sum[i] < _UNDERFLOW``: ``rho[:, i] = exp(low_i - energy[:, i])``
    and ``row_sum[i] = sum_k rho[k, i]``, with ``low_i = min_k energy[k, i]``.  Returns
    ``sum_i low_i`` over those rows, the amount by which ``sum_i log row_sum[i]`` now exceeds
    ``sum_i log sum_k exp(-energy[k, i])``.
    """
    idx = np.flatnonzero(row_sum < _UNDERFLOW)
    energy = 0.5 * ((xb[idx][None, :] - m[:, None]) ** 2 + s2[:, None])
    low = energy.min(axis=0)
    shifted = np.exp(low - energy)
    rho[:, idx] = shifted
    row_sum[idx] = shifted.sum(axis=0)
    return float(np.sum(low))


@dataclass(frozen=True)
class CaviResult:
    """Output of :func:`cavi`: the fitted ``q`` and the optimisation record.

    ``phi`` (n, K), ``m`` (K,), ``s2`` (K,); ``elbo_trace[t]`` is the ELBO after iteration
    ``t + 1`` and ``elbo_trace[-1] == elbo(x, phi, m, s2, prior_var)``.
    """

    phi: np.ndarray
    m: np.ndarray
    s2: np.ndarray
    elbo_trace: np.ndarray
    n_iter: int
    converged: bool


def _may_converge_next(trace, tol):
    """Whether the next iteration's ELBO increase, extrapolated geometrically, meets ``tol``.

    With increases ``d1, d2`` over the last two iterations, CAVI's linear convergence predicts
    ``d2**2 / d1`` for the next one; the test is the stopping rule of :func:`cavi` applied to it.
    """
    if len(trace) < 3:
        return False
    d1, d2 = trace[-2] - trace[-3], trace[-1] - trace[-2]
    predicted = d2 * d2 / d1 if 0.0 < d2 < d1 else d2
    return predicted <= tol * abs(trace[-1])


def cavi(
    x,
    K,
    prior_var,
    seed=None,
    max_iter=1000,
    tol=1e-10,
    init_phi=None,
    block_size=_BLOCK,
):
    """Coordinate ascent VI for the mixture -- algorithm :prf:ref:`gmm-cavi`, chapter 4.

    Each iteration sets ``q(mu)`` by eqs. :eq:`gmm-m`, :eq:`gmm-s2` from the current ``phi``, then
    ``phi`` by eq. :eq:`gmm-phi`, and records the ELBO, which never decreases.  The E-step runs over
    blocks of ``block_size`` points and keeps only the sufficient statistics
    ``sum_i phi_ik`` and ``sum_i phi_ik x_i``.  ``phi`` is written only by the E-step of an
    iteration that may be the last: the ``max_iter``-th, or one whose ELBO increase, extrapolated
    geometrically from the two before it, is within the tolerance.  Only if the run stops at an
    iteration that did not write ``phi`` is it built by one more pass at the final ``q(mu)``.

    Parameters
    ----------
    x : array_like, shape (n,)
        Observations.
    K : int
        Number of components, ``K >= 1``.
    prior_var : float
        Prior variance ``sigma^2 > 0`` of the means.
    seed : int, numpy.random.Generator or None
        Randomness of the initialisation (``K`` data points drawn as initial means); unused
        when ``init_phi`` is given.
    max_iter : int
        Maximum number of iterations.
    tol : float
        Stop when an iteration raises the ELBO by at most ``tol * |ELBO|``.
    init_phi : array_like, shape (n, K), optional
        Initial responsibilities (rows summing to one).
    block_size : int
        Points per block of the E-step.

    Returns
    -------
    CaviResult
    """
    x, K, prior_var = _check_model_args(x, K, prior_var)
    max_iter = check_int(max_iter, "max_iter", 1)
    tol = check_nonnegative(tol, "tol")
    block_size = check_int(block_size, "block_size", 1)
    rng = check_seed(seed)
    n = x.size
    data = _centre(x)
    if init_phi is None:
        m0 = rng.choice(x, size=K, replace=K > n)
        counts, sums, _ = _estep_statistics(data, m0, np.ones(K), block_size)
    else:
        phi0 = _check_phi(init_phi, n, "init_phi")
        if phi0.shape[1] != K:
            raise ValueError(
                f"init_phi must have shape (n, K) = ({n}, {K}), got {phi0.shape}"
            )
        counts, sums = phi0.sum(axis=0), x @ phi0
    # sum_i E[log p(c_i)] and the -1/2 log 2 pi of every E[log p(x_i | c_i, mu)]
    const = -n * np.log(K) - 0.5 * n * np.log(2 * np.pi)
    trace = []
    converged = False
    phi = np.empty((n, K))
    for it in range(max_iter):
        m, s2 = _means_from_stats(counts, sums, prior_var)
        wrote_phi = it + 1 == max_iter or _may_converge_next(trace, tol)
        counts, sums, log_z = _estep_statistics(
            data, m, s2, block_size, phi_out=phi if wrote_phi else None
        )
        trace.append(const + log_z - _kl_means(m, s2, prior_var))
        if len(trace) > 1 and trace[-1] - trace[-2] <= tol * abs(trace[-1]):
            converged = True
            break
    if not wrote_phi:
        _estep_statistics(data, m, s2, block_size, phi_out=phi)
    return CaviResult(
        phi=phi,
        m=m,
        s2=s2,
        elbo_trace=np.asarray(trace),
        n_iter=len(trace),
        converged=converged,
    )


@dataclass(frozen=True)
class GibbsResult:
    """Output of :func:`gibbs`: ``mu`` (n_sweeps, K) draws, the last assignments ``c_last`` (n,),
    and every sweep's assignments ``c`` (n_sweeps, n) when asked for, else ``None``."""

    mu: np.ndarray
    c_last: np.ndarray
    c: np.ndarray | None


def _sample_assignments(x, mu, rng):
    # p(c_i = k | mu, x_i) is proportional to exp(-(x_i - mu_k)^2 / 2): inverse-CDF sampling
    logits = -0.5 * np.subtract.outer(x, mu) ** 2
    logits -= logits.max(axis=1, keepdims=True)
    cdf = np.cumsum(np.exp(logits), axis=1)
    u = rng.random(x.size) * cdf[:, -1]
    return np.minimum((cdf <= u[:, None]).sum(axis=1), mu.size - 1)


def _sample_means(x, c, K, prior_var, rng):
    # mu_k | c, x ~ N(S_k / (1/sigma^2 + n_k), 1 / (1/sigma^2 + n_k))
    precision = 1.0 / prior_var + np.bincount(c, minlength=K)
    sums = np.bincount(c, weights=x, minlength=K)
    return sums / precision + rng.standard_normal(K) / np.sqrt(precision)


def gibbs(
    x,
    K,
    prior_var,
    n_sweeps,
    seed=None,
    init_mu=None,
    keep_assignments=False,
    max_elements=MAX_ELEMENTS,
):
    """Gibbs sampler for the mixture -- eqs. :eq:`gmm-gibbs-c` and :eq:`gmm-gibbs-mu`, chapter 4.

    A sweep draws every ``c_i`` at once from ``p(c_i | mu, x_i)`` (the ``c_i`` are conditionally
    independent given ``mu``), then every ``mu_k`` from ``p(mu_k | c, x)``.

    Parameters
    ----------
    x : array_like, shape (n,)
        Observations.
    K : int
        Number of components.
    prior_var : float
        Prior variance ``sigma^2 > 0`` of the means.
    n_sweeps : int
        Number of sweeps (draws), ``>= 1``; no burn-in is discarded.
    seed : int, numpy.random.Generator or None
        Source of randomness.
    init_mu : array_like, shape (K,), optional
        Starting means; by default ``K`` data points drawn at random.
    keep_assignments : bool
        Also return the assignments of every sweep (memory ``n_sweeps * n``).
    max_elements : int
        Largest result to allocate, in array elements: ``n_sweeps * K`` draws of the means, plus
        ``n_sweeps * n`` assignments with ``keep_assignments``; above it a ValueError naming
        ``n_sweeps`` is raised instead of a MemoryError.

    Returns
    -------
    GibbsResult
    """
    x, K, prior_var = _check_model_args(x, K, prior_var)
    n_sweeps = check_int(n_sweeps, "n_sweeps", 1)
    per_sweep = K + (x.size if keep_assignments else 0)
    check_elements(
        n_sweeps * per_sweep,
        f"gibbs(n_sweeps={n_sweeps}): n_sweeps * "
        + ("(K + n)" if keep_assignments else "K"),
        max_elements,
    )
    rng = check_seed(seed)
    if init_mu is None:
        mu = rng.choice(x, size=K, replace=K > x.size)
    else:
        mu = as_float_array(init_mu, "init_mu")
        if mu.shape != (K,) or not np.all(np.isfinite(mu)):
            raise ValueError(
                f"init_mu must be a finite array of shape ({K},), got shape {mu.shape}"
            )
    mus = np.empty((n_sweeps, K))
    cs = (
        np.empty((n_sweeps, x.size), dtype=np.int64)
        if keep_assignments
        else None
    )
    for t in range(n_sweeps):
        c = _sample_assignments(x, mu, rng)
        mu = _sample_means(x, c, K, prior_var, rng)
        mus[t] = mu
        if cs is not None:
            cs[t] = c
    return GibbsResult(mu=mus, c_last=c, c=cs)


def mean_field_form(x, K, prior_var):
    """The mixture as mean-field exponential-family blocks -- eqs. :eq:`ef-gmm-blocks`, chapter 6.

    Two factors, updated in this order: ``"mu"``, ``K`` independent
    :class:`~vitutor.expfam.Gaussian` with natural parameter
    ``(sum_i phi_ik x_i, -(1/sigma^2 + sum_i phi_ik) / 2)``, and ``"c"``, ``n`` independent
    :class:`~vitutor.expfam.Categorical` with natural parameter ``x_i E[mu_k] - E[mu_k^2] / 2``.
    The expected log joint is written out densely over ``(n, K)``: this is the readable
    cross-check of :func:`cavi` for :func:`vitutor.svi.cavi`, not a fast path.

    Parameters
    ----------
    x : array_like, shape (n,)
        Observations.
    K : int
        Number of components.
    prior_var : float
        Prior variance ``sigma^2 > 0`` of the means.

    Returns
    -------
    vitutor.svi.MeanFieldModel
    """
    x, K, prior_var = _check_model_args(x, K, prior_var)
    n = x.size
    alpha = Gaussian.from_mean_var(np.zeros(K), prior_var).eta

    def eta_mu(means):
        phi = means["c"]
        # eta_k = alpha + sum_i phi_ik (x_i, -1/2)
        return alpha + np.stack([x @ phi, -0.5 * phi.sum(axis=0)], axis=-1)

    def eta_c(means):
        E_mu, E_mu2 = means["mu"][:, 0], means["mu"][:, 1]
        return np.outer(x, E_mu) - 0.5 * E_mu2

    def expected_log_joint(means):
        phi = means["c"]
        E_mu, E_mu2 = means["mu"][:, 0], means["mu"][:, 1]
        # E log p(mu) + E log p(c) + E log p(x | c, mu), all constants included
        log_prior = np.sum(
            -0.5 * np.log(2 * np.pi * prior_var) - 0.5 * E_mu2 / prior_var
        )
        log_lik = np.sum(phi * (np.outer(x, E_mu) - 0.5 * E_mu2)) - 0.5 * (
            x @ x + n * np.log(2 * np.pi)
        )
        return log_prior - n * np.log(K) + log_lik

    return MeanFieldModel(
        factors=(
            Factor("mu", Gaussian, eta_mu),
            Factor("c", Categorical, eta_c),
        ),
        expected_log_joint=expected_log_joint,
    )


def conjugate_form(K, prior_var, block_size=_BLOCK):
    """The mixture as a conditionally conjugate model -- eq. :eq:`ef-gmm-conjugate`, chapter 6.

    Global ``beta = mu`` (``K`` Gaussians, prior natural parameter ``alpha = (0, -1/(2 sigma^2))``),
    local ``c_i``.  The local step is the blocked E-step of :func:`cavi` at
    ``E[mu_k] = m_k``, ``E[mu_k^2] = m_k^2 + s2_k``; it returns
    ``sum_i E[t(c_i, x_i)] = (sum_i phi_ik x_i, -sum_i phi_ik / 2)`` and the data part of the ELBO,
    ``sum_i E[log p(x_i, c_i | mu) - log q(c_i)]`` (eq. :eq:`gmm-elbo-collapsed`).

    Parameters
    ----------
    K : int
        Number of components.
    prior_var : float
        Prior variance ``sigma^2 > 0`` of the means.
    block_size : int
        Points per block of the E-step.

    Returns
    -------
    vitutor.svi.ConjugateModel
    """
    K = check_int(K, "K", 1)
    prior_var = check_positive(prior_var, "prior_var")
    block_size = check_int(block_size, "block_size", 1)

    def local_step(x, mean_T):
        m = mean_T[:, 0]
        s2 = mean_T[:, 1] - m**2
        counts, sums, log_z = _estep_statistics(_centre(x), m, s2, block_size)
        nb = x.shape[0]
        local_elbo = log_z - nb * np.log(K) - 0.5 * nb * np.log(2 * np.pi)
        return np.stack([sums, -0.5 * counts], axis=-1), local_elbo

    alpha = Gaussian.from_mean_var(np.zeros(K), prior_var).eta
    return ConjugateModel(family=Gaussian, alpha=alpha, local_step=local_step)
