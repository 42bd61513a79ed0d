"""Exact inference on a finite latent space -- chapter 2 (KL divergence and the ELBO).

Every function takes tables of log probabilities.  A table may have any shape; each axis is
one latent variable and each cell one joint configuration ``z``.  ``log_joint[z]`` is
``log p(x, z)`` for the fixed, observed ``x``; ``log_q[z]`` is ``log q(z)``.

Conventions on zero-probability cells (``-inf`` in log space):

* ``0 log 0 = 0``: a cell with ``q(z) = 0`` contributes nothing to an expectation under ``q``;
* ``KL(q || p) = inf`` when ``q`` puts mass on a cell where ``p`` has none, and likewise the
  ELBO is ``-inf`` when ``q`` puts mass where ``p(x, z) = 0``.
"""

from __future__ import annotations

import numpy as np
from scipy.special import logsumexp

from ._validate import as_float_array, check_log_distribution, check_log_table

__all__ = ["log_evidence", "posterior", "kl", "elbo", "entropy", "log_probs"]


def log_evidence(log_joint):
    """Log evidence ``log p(x) = log sum_z p(x, z)`` -- eq. :eq:`evidence-sum`, chapter 1.

    Parameters
    ----------
    log_joint : array_like
        ``log p(x, z)`` for every configuration ``z``; any shape, all axes latent.

    Returns
    -------
    float
        ``log p(x)``, computed with ``scipy.special.logsumexp`` (no underflow).
    """
    log_joint = check_log_table(log_joint, "log_joint")
    return float(logsumexp(log_joint))


def posterior(log_joint):
    """Exact posterior ``log p(z | x) = log p(x, z) - log p(x)`` -- eq. :eq:`posterior-bayes`,
    chapter 2.

    Parameters
    ----------
    log_joint : array_like
        ``log p(x, z)`` for every configuration ``z``.

    Returns
    -------
    numpy.ndarray
        Log posterior table of the same shape, normalised so that ``exp`` sums to one.
    """
    log_joint = check_log_table(log_joint, "log_joint")
    return log_joint - logsumexp(log_joint)


def kl(log_q, log_p):
    """Kullback--Leibler divergence ``KL(q || p) = E_q[log q - log p]`` -- eq. :eq:`kl-def`, chapter
    2.

    Parameters
    ----------
    log_q, log_p : array_like
        Normalised log-probability tables of the same shape.

    Returns
    -------
    float
        ``KL(q || p) >= 0``; ``0 log 0`` is taken as 0, and the result is ``inf`` when ``q``
        puts mass on a cell where ``p`` is zero.

    Raises
    ------
    ValueError
        If either table contains NaN or +inf, is not normalised, or the shapes differ.
    """
    log_q = check_log_distribution(log_q, "log_q")
    log_p = check_log_distribution(log_p, "log_p")
    if log_q.shape != log_p.shape:
        raise ValueError(
            f"log_q and log_p must have the same shape, got {log_q.shape} and {log_p.shape}"
        )
    q = np.exp(log_q)
    support = q > 0
    if np.any(log_p[support] == -np.inf):
        return np.inf
    return float(np.sum(q[support] * (log_q[support] - log_p[support])))


def entropy(log_q):
    """Entropy ``H[q] = -E_q[log q]`` of a normalised table -- eq. :eq:`elbo-entropy-form`, chapter
    2.

    Parameters
    ----------
    log_q : array_like
        Normalised log-probability table.

    Returns
    -------
    float
        ``H[q] >= 0`` with ``0 log 0 = 0``.
    """
    log_q = check_log_distribution(log_q, "log_q")
    q = np.exp(log_q)
    support = q > 0
    return (
        float(-np.sum(q[support] * log_q[support])) + 0.0
    )  # + 0.0 turns -0.0 into 0.0


def elbo(log_q, log_joint):
    """Evidence lower bound ``ELBO(q) = E_q[log p(x, z) - log q(z)]`` -- eq. :eq:`elbo-def`, chapter
    2.

    Parameters
    ----------
    log_q : array_like
        Normalised log-probability table of the variational distribution ``q(z)``.
    log_joint : array_like
        ``log p(x, z)`` of the same shape; it need not be normalised (an unnormalised target
        shifts the ELBO by the log of its normaliser, nothing else).

    Returns
    -------
    float
        ``ELBO(q) <= log p(x)``; ``-inf`` when ``q`` puts mass where ``p(x, z) = 0``.
    """
    log_q = check_log_distribution(log_q, "log_q")
    log_joint = check_log_table(log_joint, "log_joint")
    if log_q.shape != log_joint.shape:
        raise ValueError(
            f"log_q and log_joint must have the same shape, got {log_q.shape} and {log_joint.shape}"
        )
    q = np.exp(log_q)
    support = q > 0
    if np.any(log_joint[support] == -np.inf):
        return -np.inf
    return float(np.sum(q[support] * (log_joint[support] - log_q[support])))


def log_probs(p, name="p"):
    """Validated logarithm of a probability table, with ``log 0 = -inf`` and no warning.

    Parameters
    ----------
    p : array_like
        Probabilities: finite, non-negative, summing to one (to 1e-8) over the whole table.
    name : str
        Name used in error messages.

    Returns
    -------
    numpy.ndarray
        ``log p`` as float64.
    """
    arr = as_float_array(p, name)
    if arr.ndim == 0 or arr.size == 0:
        raise ValueError(
            f"{name} must be a non-empty table with at least one axis, got shape {arr.shape}"
        )
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} must not contain NaN or inf")
    if np.any(arr < 0):
        raise ValueError(
            f"{name} must be non-negative, its smallest entry is {arr.min():.3g}"
        )
    total = arr.sum()
    if abs(total - 1.0) > 1e-8:
        raise ValueError(f"{name} must sum to one, got {total:.6g}")
    with np.errstate(divide="ignore"):
        return np.log(arr)
