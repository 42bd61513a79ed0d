"""Unknown mean and precision: the Normal--Gamma model -- chapter 5.

The model, eq. :eq:`ng-model`::

    tau           ~ Gamma(a0, b0)    shape a0, RATE b0
    mu | tau      ~ N(mu0, (lam0 tau)^-1)
    x_i | mu, tau ~ N(mu, tau^-1),   i = 1..n

with ``p(tau) ∝ tau^(a0 - 1) exp(-b0 tau)``.

``scipy.stats.gamma`` is parametrised by shape and SCALE, so a Gamma(a, b) with rate ``b`` is
``gamma(a, scale=1/b)`` below.

The exact posterior is again Normal--Gamma, ``NG(mu, tau | m_N, kappa_N, alpha_N, beta_N)``; the
mean-field approximation is ``q(mu) q(tau) = N(mu | mu_N, 1/lam_N) Gamma(tau | a_N, b_N)``.
Everything is computed from the sufficient statistics ``n``, ``xbar`` and the centred sum of
squares ``ss = sum_i (x_i - xbar)^2``, so a fit costs one pass over the data.

Zero prior parameters (``lam0 = 0``, ``a0 = 0``, ``b0 = 0``) give the improper non-informative
limit.  It is allowed wherever the result stays proper -- the exact posterior, the KL divergence
to it and CAVI, as long as ``beta_N > 0`` -- and refused by :func:`log_evidence`, which has no
meaning under an improper prior.  In that limit :func:`elbo` drops the (infinite) normalising
constants of the improper prior factors, so it is defined up to an additive constant.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats
from scipy.special import digamma, gammaln

from ._validate import (
    as_float_array,
    check_data,
    check_int,
    check_nonnegative,
    check_positive,
    check_real,
)
from .expfam import Gamma, Gaussian
from .svi import Factor, MeanFieldModel

__all__ = [
    "MAX_ELEMENTS",
    "MAX_ITER",
    "NormalGammaPrior",
    "SufficientStatistics",
    "NormalGammaPosterior",
    "CaviResult",
    "sufficient_statistics",
    "exact_posterior",
    "log_evidence",
    "update_q_mu",
    "update_q_tau",
    "elbo",
    "kl_to_posterior",
    "cavi",
    "mean_field_form",
]

_LOG_2PI = float(np.log(2.0 * np.pi))

#: Largest number of points at which :meth:`NormalGammaPosterior.logpdf` evaluates at once (the
#: broadcast size of ``mu`` and ``tau``): 2**28 float64 values are 2 GiB per temporary array.
MAX_ELEMENTS = 2**28

#: Largest ``max_iter`` :func:`cavi` accepts.  Each sweep contracts the distance to the fixed point
#: by ``1/(2 a_N) <= 1/2``, so a few hundred sweeps reach it in float64 from any start; the cap
#: bounds the ELBO trace (one float per sweep) when ``tol = 0``.
MAX_ITER = 100_000


@dataclass(frozen=True)
class NormalGammaPrior:
    """Prior ``NG(mu, tau | mu0, lam0, a0, b0)`` -- eq. :eq:`ng-model`, chapter 5.

    ``tau ~ Gamma(a0, b0)`` with shape ``a0`` and rate ``b0``; ``mu | tau ~ N(mu0, 1/(lam0 tau))``.
    ``lam0``, ``a0`` and ``b0`` must be finite and ``>= 0``; zeros give the improper
    non-informative limit (see the module docstring for where it is accepted).
    """

    mu0: float = 0.0
    lam0: float = 1.0
    a0: float = 1.0
    b0: float = 1.0

    def __post_init__(self):
        object.__setattr__(self, "mu0", check_real(self.mu0, "mu0"))
        for name in ("lam0", "a0", "b0"):
            object.__setattr__(
                self, name, check_nonnegative(getattr(self, name), name)
            )

    @property
    def is_proper(self):
        """True when ``lam0``, ``a0`` and ``b0`` are all strictly positive."""
        return self.lam0 > 0 and self.a0 > 0 and self.b0 > 0


@dataclass(frozen=True)
class SufficientStatistics:
    """``n``, the mean ``xbar`` and the centred sum of squares ``ss = sum_i (x_i - xbar)^2`` --
    eq. :eq:`ng-suff`, chapter 5.

    ``n`` must be an integer ``>= 1``, ``xbar`` finite and ``ss`` finite and ``>= 0``.
    """

    n: int
    xbar: float
    ss: float

    def __post_init__(self):
        object.__setattr__(self, "n", check_int(self.n, "n", 1))
        object.__setattr__(self, "xbar", check_real(self.xbar, "xbar"))
        object.__setattr__(self, "ss", check_nonnegative(self.ss, "ss"))


@dataclass(frozen=True)
class NormalGammaPosterior:
    """Exact posterior ``NG(mu, tau | m_N, kappa_N, alpha_N, beta_N)`` -- eq. :eq:`ng-exact`,
    chapter 5.

    ``tau | x ~ Gamma(alpha_N, beta_N)`` (shape, rate) and
    ``mu | tau, x ~ N(m_N, 1/(kappa_N tau))``; marginally ``mu | x`` is Student-t with
    ``2 alpha_N`` degrees of freedom.  ``m_N`` must be finite and ``kappa_N``, ``alpha_N``,
    ``beta_N`` finite and ``> 0``.
    """

    m_N: float
    kappa_N: float
    alpha_N: float
    beta_N: float

    def __post_init__(self):
        object.__setattr__(self, "m_N", check_real(self.m_N, "m_N"))
        for name in ("kappa_N", "alpha_N", "beta_N"):
            object.__setattr__(
                self, name, check_positive(getattr(self, name), name)
            )

    def logpdf(self, mu, tau):
        """``log p(mu, tau | x)`` -- eq. :eq:`ng-exact`, chapter 5.

        Parameters
        ----------
        mu, tau : array_like
            Finite points; the two must broadcast to at most :data:`MAX_ELEMENTS` values.
            Where ``tau <= 0`` (outside the support) the result is ``-inf``.

        Returns
        -------
        numpy.ndarray or float
            The log density at the broadcast points.

        Raises
        ------
        ValueError
            If ``mu`` or ``tau`` holds NaN or inf, or they do not broadcast, or broadcast to more
            than :data:`MAX_ELEMENTS` points.
        TypeError
            If ``mu`` or ``tau`` is not numeric.
        """
        mu, tau = _check_points(mu, tau)
        inside = tau > 0
        t = np.where(inside, tau, 1.0)  # a placeholder where tau <= 0
        out = stats.norm.logpdf(
            mu, self.m_N, 1.0 / np.sqrt(self.kappa_N * t)
        ) + stats.gamma.logpdf(t, self.alpha_N, scale=1.0 / self.beta_N)
        out = np.where(inside, out, -np.inf)
        return out[()] if out.ndim == 0 else out

    @property
    def mean_mu(self):
        """``E[mu | x] = m_N``."""
        return self.m_N

    @property
    def var_mu(self):
        """``var[mu | x] = beta_N / (kappa_N (alpha_N - 1))``; ``inf`` when ``alpha_N <= 1``."""
        if self.alpha_N <= 1:
            return float("inf")
        return self.beta_N / (self.kappa_N * (self.alpha_N - 1.0))

    @property
    def mean_tau(self):
        """``E[tau | x] = alpha_N / beta_N``."""
        return self.alpha_N / self.beta_N

    @property
    def var_tau(self):
        """``var[tau | x] = alpha_N / beta_N^2``."""
        return self.alpha_N / self.beta_N**2


@dataclass(frozen=True)
class CaviResult:
    """Mean-field fit ``q(mu) q(tau) = N(mu_N, 1/lam_N) Gamma(a_N, b_N)`` and its ELBO trace."""

    mu_N: float
    lam_N: float
    a_N: float
    b_N: float
    elbo_trace: np.ndarray
    n_iter: int
    converged: bool

    @property
    def E_tau(self):
        """``E_q[tau] = a_N / b_N``."""
        return self.a_N / self.b_N


def _check_points(mu, tau):
    """Finite real arrays ``mu`` and ``tau`` that broadcast to at most MAX_ELEMENTS values."""
    mu, tau = as_float_array(mu, "mu"), as_float_array(tau, "tau")
    for arr, name in ((mu, "mu"), (tau, "tau")):
        if not np.all(np.isfinite(arr)):
            raise ValueError(f"{name} must not contain NaN or inf")
    try:
        shape = np.broadcast_shapes(mu.shape, tau.shape)
    except ValueError:
        raise ValueError(
            f"mu and tau must broadcast together, got shapes {mu.shape} and {tau.shape}"
        ) from None
    size = int(np.prod(shape, dtype=np.int64)) if shape else 1
    if size > MAX_ELEMENTS:
        raise ValueError(
            f"mu and tau broadcast to {size:.3e} points, more than MAX_ELEMENTS = "
            f"{MAX_ELEMENTS:.3e}; evaluate in pieces"
        )
    return mu, tau


def _check_prior(prior):
    if not isinstance(prior, NormalGammaPrior):
        raise TypeError(
            f"prior must be a NormalGammaPrior, got {type(prior).__name__}"
        )
    return prior


def _check_q(mu_N, lam_N, a_N, b_N):
    return (
        check_real(mu_N, "mu_N"),
        check_positive(lam_N, "lam_N"),
        check_positive(a_N, "a_N"),
        check_positive(b_N, "b_N"),
    )


def _stats(x):
    x = check_data(x, "x", ndim=1)
    with np.errstate(over="ignore", invalid="ignore"):
        xbar = float(np.mean(x))
        r = x - xbar
        # two-pass centred sum of squares, with the rounding of xbar corrected
        ss = float(np.dot(r, r) - np.sum(r) ** 2 / x.shape[0])
    if not (np.isfinite(xbar) and np.isfinite(ss)):
        raise ValueError(
            "x is too large in magnitude: its mean or its sum of squared deviations "
            "overflows float64"
        )
    return SufficientStatistics(n=int(x.shape[0]), xbar=xbar, ss=max(ss, 0.0))


def sufficient_statistics(x):
    """``n``, ``xbar`` and ``ss = sum_i (x_i - xbar)^2`` of a 1-D sample -- eq. :eq:`ng-suff`,
    chapter 5.

    ``ss`` is summed from the centred data (two passes), never as ``sum x^2 - n xbar^2``.

    Parameters
    ----------
    x : array_like, shape (n,)
        Finite observations, ``n >= 1``.

    Returns
    -------
    SufficientStatistics
    """
    return _stats(x)


def _posterior(st, prior):
    """eq. :eq:`ng-exact`: completing the square in mu and collecting powers of tau."""
    kappa_N = prior.lam0 + st.n
    d = st.xbar - prior.mu0
    # (xbar - mu0)^2 as a product: it overflows to inf, where ** would raise
    d2 = d * d
    if not np.isfinite(d2):
        raise ValueError(
            f"x: the data's mean {st.xbar:.3g} is too far from mu0 = {prior.mu0:.3g} "
            "((xbar - mu0)^2 overflows float64)"
        )
    m_N = (prior.lam0 * prior.mu0 + st.n * st.xbar) / kappa_N
    alpha_N = prior.a0 + 0.5 * st.n
    # beta_N = b0 + ss/2 + lam0 n (xbar - mu0)^2 / (2 (lam0 + n))
    beta_N = prior.b0 + 0.5 * st.ss + 0.5 * prior.lam0 * (st.n / kappa_N) * d2
    if not np.isfinite(beta_N):
        raise ValueError(
            "x: beta_N = b0 + ss/2 + lam0 n (xbar - mu0)^2 / (2 kappa_N) overflows float64 "
            "(the data, or their distance from mu0, are too large in magnitude)"
        )
    if not beta_N > 0:
        raise ValueError(
            "x: with b0 = 0 the data must not all be equal (sum of squared deviations is 0, "
            "so the posterior over tau is improper); use b0 > 0 or at least two distinct "
            "observations"
        )
    return NormalGammaPosterior(
        m_N=m_N, kappa_N=kappa_N, alpha_N=alpha_N, beta_N=beta_N
    )


def exact_posterior(x, prior):
    """Exact conjugate posterior -- eq. :eq:`ng-exact`, chapter 5.

    ``kappa_N = lam0 + n``, ``m_N = (lam0 mu0 + n xbar) / kappa_N``, ``alpha_N = a0 + n/2``,
    ``beta_N = b0 + ss/2 + lam0 n (xbar - mu0)^2 / (2 kappa_N)``.

    Parameters
    ----------
    x : array_like, shape (n,)
        Finite observations.
    prior : NormalGammaPrior
        May be improper (zeros); the posterior must be proper (``beta_N > 0``).

    Returns
    -------
    NormalGammaPosterior

    Raises
    ------
    ValueError
        If ``x`` is invalid, or ``b0 = 0`` and the data leave ``beta_N = 0``.
    """
    prior = _check_prior(prior)
    return _posterior(_stats(x), prior)


def log_evidence(x, prior):
    """Exact log marginal likelihood ``log p(x)`` -- eq. :eq:`ng-evidence`, chapter 5.

    ``log p(x) = log Gamma(alpha_N) - log Gamma(a0) + a0 log b0 - alpha_N log beta_N
    + (log lam0 - log kappa_N)/2 - (n/2) log(2 pi)``.

    Parameters
    ----------
    x : array_like, shape (n,)
        Finite observations.
    prior : NormalGammaPrior
        Must be proper: ``lam0, a0, b0 > 0``.

    Returns
    -------
    float

    Raises
    ------
    ValueError
        If the prior is improper (the evidence is then not defined), naming the zero parameter.
    """
    prior = _check_prior(prior)
    for name in ("lam0", "a0", "b0"):
        if getattr(prior, name) == 0:
            raise ValueError(
                f"{name} must be > 0 for log_evidence: an improper prior has no evidence"
            )
    st = _stats(x)
    post = _posterior(st, prior)
    return float(
        gammaln(post.alpha_N)
        - gammaln(prior.a0)
        + prior.a0 * np.log(prior.b0)
        - post.alpha_N * np.log(post.beta_N)
        + 0.5 * (np.log(prior.lam0) - np.log(post.kappa_N))
        - 0.5 * st.n * _LOG_2PI
    )


def _q_mu(st, prior, E_tau):
    """eq. :eq:`ng-qmu`: mu_N = (lam0 mu0 + n xbar)/(lam0 + n), lam_N = (lam0 + n) E[tau]."""
    kappa = prior.lam0 + st.n
    return (prior.lam0 * prior.mu0 + st.n * st.xbar) / kappa, kappa * E_tau


def _q_tau(st, prior, mu_N, lam_N):
    """eq. :eq:`ng-qtau`: a_N = a0 + (n+1)/2, b_N = b0 + E_mu[sum_i (x_i - mu)^2 + lam0 (mu -
    mu0)^2]/2.
    """
    a_N = prior.a0 + 0.5 * (st.n + 1)
    # E_mu[sum_i (x_i - mu)^2] = ss + n (xbar - mu_N)^2 + n / lam_N
    e_sq_data = st.ss + st.n * ((st.xbar - mu_N) ** 2 + 1.0 / lam_N)
    # E_mu[(mu - mu0)^2] = (mu_N - mu0)^2 + 1 / lam_N
    e_sq_prior = (mu_N - prior.mu0) ** 2 + 1.0 / lam_N
    b_N = prior.b0 + 0.5 * (e_sq_data + prior.lam0 * e_sq_prior)
    return a_N, b_N


def _check_E_tau(E_tau, st, prior, name):
    """A positive ``E[tau]`` for which ``lam_N = (lam0 + n) E[tau]`` and ``1/lam_N`` are finite."""
    E_tau = check_positive(E_tau, name)
    lam_N = (prior.lam0 + st.n) * E_tau
    if not (np.isfinite(lam_N) and np.isfinite(1.0 / lam_N)):
        raise ValueError(
            f"{name} = {E_tau:.3g} is too extreme: lam_N = (lam0 + n) {name} or its inverse "
            "overflows float64"
        )
    return E_tau


def update_q_mu(x, prior, E_tau):
    """Optimal ``q(mu) = N(mu_N, 1/lam_N)`` given ``E[tau]`` -- eq. :eq:`ng-qmu`, chapter 5.

    Parameters
    ----------
    x : array_like, shape (n,)
    prior : NormalGammaPrior
    E_tau : float
        Current ``E_q[tau] > 0``, with ``(lam0 + n) E_tau`` and its inverse finite.

    Returns
    -------
    (mu_N, lam_N) : tuple of float
    """
    prior = _check_prior(prior)
    st = _stats(x)
    return _q_mu(st, prior, _check_E_tau(E_tau, st, prior, "E_tau"))


def update_q_tau(x, prior, mu_N, lam_N):
    """Optimal ``q(tau) = Gamma(a_N, b_N)`` (shape, rate) given ``q(mu)`` -- eq. :eq:`ng-qtau`,
    chapter 5.

    Parameters
    ----------
    x : array_like, shape (n,)
    prior : NormalGammaPrior
    mu_N, lam_N : float
        Mean and precision of the current ``q(mu)``.

    Returns
    -------
    (a_N, b_N) : tuple of float
    """
    prior = _check_prior(prior)
    return _q_tau(
        _stats(x),
        prior,
        check_real(mu_N, "mu_N"),
        check_positive(lam_N, "lam_N"),
    )


def _elbo(st, prior, mu_N, lam_N, a_N, b_N):
    """eq. :eq:`ng-elbo`: E_q[log p(x|mu,tau) + log p(mu|tau) + log p(tau)] + H[q(mu)] +
    H[q(tau)].
    """
    E_tau = a_N / b_N
    E_log_tau = digamma(a_N) - np.log(b_N)
    e_sq_data = st.ss + st.n * ((st.xbar - mu_N) ** 2 + 1.0 / lam_N)
    e_sq_prior = (mu_N - prior.mu0) ** 2 + 1.0 / lam_N
    lik = 0.5 * st.n * (E_log_tau - _LOG_2PI) - 0.5 * E_tau * e_sq_data
    # E[log N(mu | mu0, 1/(lam0 tau))]; for lam0 = 0 only its kernel tau^(1/2) remains
    prior_mu = 0.5 * E_log_tau - 0.5 * prior.lam0 * E_tau * e_sq_prior
    if prior.lam0 > 0:
        prior_mu += 0.5 * (np.log(prior.lam0) - _LOG_2PI)
    # E[log Gamma(tau | a0, b0)]; for a0 = 0 or b0 = 0 only its kernel remains
    prior_tau = (prior.a0 - 1.0) * E_log_tau - prior.b0 * E_tau
    if prior.a0 > 0 and prior.b0 > 0:
        prior_tau += prior.a0 * np.log(prior.b0) - gammaln(prior.a0)
    entropy = stats.norm.entropy(
        scale=1.0 / np.sqrt(lam_N)
    ) + stats.gamma.entropy(a_N, scale=1.0 / b_N)
    return float(lik + prior_mu + prior_tau + entropy)


def elbo(x, prior, mu_N, lam_N, a_N, b_N):
    """Evidence lower bound of ``q(mu) q(tau)`` in closed form -- eq. :eq:`ng-elbo`, chapter 5.

    With ``E[tau] = a_N/b_N`` and ``E[log tau] = digamma(a_N) - log b_N``; the entropies come from
    ``scipy.stats.norm`` and ``scipy.stats.gamma`` (``scale = 1/b_N``).  For an improper prior the
    normalising constants of its improper factors are dropped (the ELBO is then defined up to a
    constant that does not depend on ``q``).

    Parameters
    ----------
    x : array_like, shape (n,)
    prior : NormalGammaPrior
    mu_N, lam_N, a_N, b_N : float
        ``q(mu) = N(mu_N, 1/lam_N)``, ``q(tau) = Gamma(a_N, b_N)`` (shape, rate).

    Returns
    -------
    float
    """
    prior = _check_prior(prior)
    q = _check_q(mu_N, lam_N, a_N, b_N)
    return _elbo(_stats(x), prior, *q)


def _kl_gamma(a, b, alpha, beta):
    """KL(Gamma(a, b) || Gamma(alpha, beta)), shapes and rates."""
    return (
        (a - alpha) * digamma(a)
        - gammaln(a)
        + gammaln(alpha)
        + alpha * (np.log(b) - np.log(beta))
        + a * (beta - b) / b
    )


def kl_to_posterior(x, prior, mu_N, lam_N, a_N, b_N):
    """``KL(q(mu) q(tau) || p(mu, tau | x))`` in closed form -- eq. :eq:`ng-kl`, chapter 5.

    Splits as ``E_q(tau)[KL(N(mu_N, 1/lam_N) || N(m_N, 1/(kappa_N tau)))]
    + KL(Gamma(a_N, b_N) || Gamma(alpha_N, beta_N))``, using only the exact posterior parameters
    (never the evidence), so ``elbo + kl_to_posterior = log_evidence`` is a genuine check.

    Parameters
    ----------
    x : array_like, shape (n,)
    prior : NormalGammaPrior
        May be improper as long as the posterior is proper.
    mu_N, lam_N, a_N, b_N : float
        The variational parameters.

    Returns
    -------
    float
        ``>= 0``.
    """
    prior = _check_prior(prior)
    mu_N, lam_N, a_N, b_N = _check_q(mu_N, lam_N, a_N, b_N)
    post = _posterior(_stats(x), prior)
    E_tau = a_N / b_N
    E_log_tau = digamma(a_N) - np.log(b_N)
    # KL(N(mu_N, 1/lam_N) || N(m, 1/(kappa tau))) averaged over q(tau)
    kl_mu = 0.5 * (
        np.log(lam_N)
        - np.log(post.kappa_N)
        - E_log_tau
        + post.kappa_N * E_tau * (1.0 / lam_N + (mu_N - post.m_N) ** 2)
        - 1.0
    )
    return float(kl_mu + _kl_gamma(a_N, b_N, post.alpha_N, post.beta_N))


def cavi(x, prior, E_tau0=1.0, tol=1e-10, max_iter=1000):
    """Coordinate ascent for ``q(mu) q(tau)`` -- algorithm :prf:ref:`ng-cavi`, chapter 5.

    Each sweep sets ``q(mu)`` by eq. :eq:`ng-qmu` from the current ``E[tau]``, then ``q(tau)`` by
    eq. :eq:`ng-qtau`, then records the ELBO (eq. :eq:`ng-elbo`).  In ``v = 1/E[tau]`` a sweep is
    the affine
    map ``v <- (2 beta_N + v) / (2 a_N)``, a contraction with rate ``1/(2 a_N) < 1``, so the
    iteration converges from any ``E_tau0 > 0``.

    Parameters
    ----------
    x : array_like, shape (n,)
        Finite observations.
    prior : NormalGammaPrior
        May be improper (the non-informative limit) as long as ``beta_N > 0``.
    E_tau0 : float
        Initial ``E[tau] > 0``, with ``(lam0 + n) E_tau0`` and its inverse finite.
    tol : float
        Stop when a sweep changes ``E[tau]`` by at most ``tol * E[tau]``.  Since
        ``a_N >= 1``, the rate ``1/(2 a_N)`` is at most 1/2 and the remaining distance to the
        fixed point is no larger than the last step.
    max_iter : int
        Maximum number of sweeps, ``1 <= max_iter <=`` :data:`MAX_ITER`.

    Returns
    -------
    CaviResult

    Raises
    ------
    ValueError
        Naming the argument: ``x`` not a finite 1-D sample (or one whose statistics overflow, or
        one that leaves ``beta_N = 0``), ``E_tau0`` not positive or so extreme that
        ``(lam0 + n) E_tau0`` or its inverse overflows, ``tol < 0``, ``max_iter`` out of range.
    TypeError
        If ``prior`` is not a :class:`NormalGammaPrior`, or a number is not a real number.
    """
    prior = _check_prior(prior)
    check_positive(E_tau0, "E_tau0")
    tol = check_nonnegative(tol, "tol")
    max_iter = check_int(max_iter, "max_iter", 1)
    if max_iter > MAX_ITER:
        raise ValueError(
            f"max_iter must be <= MAX_ITER = {MAX_ITER}, got {max_iter} (a sweep contracts "
            "by at least 1/2, so a few hundred sweeps reach the fixed point)"
        )
    st = _stats(x)
    E_tau = _check_E_tau(E_tau0, st, prior, "E_tau0")
    # refuses data that leave the posterior (and the fixed point) improper
    _posterior(st, prior)
    trace = []
    converged = False
    for _ in range(max_iter):
        mu_N, lam_N = _q_mu(st, prior, E_tau)
        a_N, b_N = _q_tau(st, prior, mu_N, lam_N)
        E_tau_old, E_tau = E_tau, a_N / b_N
        trace.append(_elbo(st, prior, mu_N, lam_N, a_N, b_N))
        if abs(E_tau - E_tau_old) <= tol * E_tau:
            converged = True
            break
    elbo_trace = np.asarray(trace)
    elbo_trace.setflags(write=False)
    return CaviResult(
        mu_N=float(mu_N),
        lam_N=float(lam_N),
        a_N=float(a_N),
        b_N=float(b_N),
        elbo_trace=elbo_trace,
        n_iter=len(trace),
        converged=converged,
    )


def mean_field_form(x, prior):
    """The model as mean-field exponential-family blocks -- eq. :eq:`ef-ng-blocks`, chapter 6.

    Two factors, updated in this order: ``"mu"``, a :class:`~vitutor.expfam.Gaussian` with
    natural parameter ``E[tau] (lam0 mu0 + n xbar, -(lam0 + n) / 2)``, and ``"tau"``, a
    :class:`~vitutor.expfam.Gamma` with natural parameter
    ``(a0 - 1 + (n + 1)/2, -(b0 + E_mu[sum_i (x_i - mu)^2 + lam0 (mu - mu0)^2] / 2))``.
    The expectations over ``mu`` are taken from ``E[mu]`` and ``E[mu^2]`` alone, as the generic
    rule prescribes; :func:`cavi` is the model-specific path that :func:`vitutor.svi.cavi`
    reproduces.  For an improper prior the constants of its improper factors are dropped, as in
    :func:`elbo`.

    Parameters
    ----------
    x : array_like, shape (n,)
        Finite observations.
    prior : NormalGammaPrior

    Returns
    -------
    vitutor.svi.MeanFieldModel
    """
    prior = _check_prior(prior)
    st = _stats(x)
    _posterior(st, prior)  # refuses data that leave the posterior improper
    n = st.n

    def e_sq(E_mu, E_mu2):
        # E_mu[sum_i (x_i - mu)^2] = ss + n (xbar^2 - 2 xbar E[mu] + E[mu^2]) and E_mu[(mu - mu0)^2]
        data = st.ss + n * (st.xbar**2 - 2.0 * st.xbar * E_mu + E_mu2)
        return data, prior.mu0**2 - 2.0 * prior.mu0 * E_mu + E_mu2

    def eta_mu(means):
        E_tau = means["tau"][1]
        return E_tau * np.array(
            [prior.lam0 * prior.mu0 + n * st.xbar, -0.5 * (prior.lam0 + n)]
        )

    def eta_tau(means):
        data, pri = e_sq(*means["mu"])
        return np.array(
            [
                prior.a0 - 1.0 + 0.5 * (n + 1),
                -(prior.b0 + 0.5 * (data + prior.lam0 * pri)),
            ]
        )

    def expected_log_joint(means):
        E_log_tau, E_tau = means["tau"]
        data, pri = e_sq(*means["mu"])
        out = 0.5 * n * (E_log_tau - _LOG_2PI) - 0.5 * E_tau * data
        out += 0.5 * E_log_tau - 0.5 * prior.lam0 * E_tau * pri
        if prior.lam0 > 0:
            out += 0.5 * (np.log(prior.lam0) - _LOG_2PI)
        out += (prior.a0 - 1.0) * E_log_tau - prior.b0 * E_tau
        if prior.a0 > 0 and prior.b0 > 0:
            out += prior.a0 * np.log(prior.b0) - gammaln(prior.a0)
        return float(out)

    return MeanFieldModel(
        factors=(
            Factor("mu", Gaussian, eta_mu),
            Factor("tau", Gamma, eta_tau),
        ),
        expected_log_joint=expected_log_joint,
    )
