"""Did it work? Diagnostics of an approximation and bounds tighter than the ELBO -- chapter 9.

Model-free: every function takes arrays of log weights ``log w = log p(x, z) - log q(z)`` at
draws ``z ~ q`` (or log-probability tables, or Gaussian parameters), never a model object, so
the same calls serve any ``q`` and any model, including an amortised ``q`` per data point.

* Importance sampling with ``q`` as proposal and its Pareto-smoothed form (PSIS; Vehtari,
  Simpson, Gelman, Yao and Gabry 2024): :func:`gpd_fit` (Zhang and Stephens 2009, with Vehtari
  et al.'s weak prior), :func:`psis`, :func:`psis_tail_length`, :func:`khat_threshold`; the
  tail index of the weights when ``q`` and the target are Gaussian, :func:`gaussian_tail_index`.
* Bounds on ``log p(x)``: the importance-weighted bound (Burda, Grosse and Salakhutdinov 2016),
  estimated by :func:`importance_weighted_bound` and computed exactly on a finite latent space
  by :func:`importance_weighted_bound_exact`; the Renyi family (Li and Turner 2016)
  :func:`renyi_bound`, with the chi upper bound (CUBO, Dieng et al. 2017) :func:`cubo` as its
  member ``alpha = 1 - n``; the Renyi divergence between Gaussians in closed form,
  :func:`gaussian_renyi_divergence`.
* Calibration (simulation-based calibration, Talts et al. 2018): :func:`sbc_ranks` and the
  chi-square test of uniform ranks :func:`rank_uniformity_test`.
* Convergence of a stochastic optimisation: the split-``R-hat`` of chains of iterates
  (Gelman et al. 2013; Dhaka et al. 2020), :func:`split_rhat`, and the relative change of a
  running average of the ELBO trace, :func:`running_mean_change`.

Nothing here imports ArviZ: chapter 9 and the tests use ``arviz_stats`` as the peer of
:func:`psis` and :func:`split_rhat`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats
from scipy.special import logsumexp

from ._validate import MAX_ELEMENTS as _MAX_ELEMENTS
from ._validate import (
    as_float_array,
    check_covariance,
    check_data,
    check_elements,
    check_int,
    check_log_distribution,
    check_log_table,
    check_positive,
    check_real,
    check_seed,
)

__all__ = [
    "gpd_fit",
    "psis_tail_length",
    "khat_threshold",
    "PsisResult",
    "psis",
    "gaussian_tail_index",
    "importance_weighted_bound",
    "importance_weighted_bound_exact",
    "renyi_bound",
    "cubo",
    "gaussian_renyi_divergence",
    "sbc_ranks",
    "UniformityTest",
    "rank_uniformity_test",
    "split_rhat",
    "running_mean_change",
    "MAX_ELEMENTS",
]

#: Default cap on the array elements a call may allocate (``2**28``, as everywhere in vitutor).
MAX_ELEMENTS = _MAX_ELEMENTS


def _check_log_weights(log_w, name="log_w", min_len=1):
    """A 1-D array of log weights: finite or -inf (a draw where p = 0), not +inf or NaN."""
    arr = as_float_array(log_w, name)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be a 1-D array, got shape {arr.shape}")
    if arr.size < min_len:
        raise ValueError(
            f"{name} must hold at least {min_len} draws, got {arr.size}"
        )
    if np.any(np.isnan(arr)) or np.any(arr == np.inf):
        raise ValueError(f"{name} must not contain NaN or +inf")
    if np.all(arr == -np.inf):
        raise ValueError(f"{name} is -inf everywhere: every weight is zero")
    return arr


def gpd_fit(x):
    """Shape ``k`` and scale ``sigma`` of a generalised Pareto distribution fitted to ``x`` --
    eq. :eq:`dg-zhang-stephens`, chapter 9.

    The empirical Bayes estimate of Zhang and Stephens (2009) as used by PSIS (Vehtari et al.
    2024): in ``theta = k / sigma`` the log-likelihood, maximised over ``k``, is the profile
    ``n [log(theta / k(theta)) - k(theta) - 1]`` with ``k(theta) = mean(log(1 + theta x))``;
    ``theta`` is its posterior mean over ``30 + floor(sqrt(n))`` grid points, then
    ``k = k(theta)``, ``sigma = k / theta``, and ``k`` is shrunk towards ``1/2`` by a weak prior
    worth 10 observations, ``(n k + 10 / 2) / (n + 10)``.

    Parameters
    ----------
    x : array_like, shape (n,)
        Exceedances over the threshold: finite, ``>= 0``, not all equal, sorted or not,
        ``n >= 5``.

    Returns
    -------
    k, sigma : float
    """
    x = as_float_array(x, "x")
    if x.ndim != 1 or x.size < 5:
        raise ValueError(
            f"x must be a 1-D array of at least 5 exceedances, got shape {x.shape}"
        )
    if not np.all(np.isfinite(x)) or np.any(x < 0):
        raise ValueError("x must hold finite exceedances >= 0")
    x = np.sort(x)
    if x[-1] - x[0] <= np.finfo(float).tiny:
        raise ValueError("x must not be constant")
    return _gpd_fit(x)


def _gpd_fit(x):
    # x sorted ascending, n >= 5
    n = x.size
    m = 30 + int(np.sqrt(n))
    # grid of b = -theta, from far below 0 up to 1 / x_max (where 1 + theta x_max = 0)
    b = 1.0 - np.sqrt(m / (np.arange(1, m + 1) - 0.5))
    b = b / (3.0 * x[int(n / 4 + 0.5) - 1]) + 1.0 / x[-1]
    k = np.mean(np.log1p(-b[:, None] * x), axis=1)  # k(theta)
    profile = n * (np.log(-b / k) - k - 1.0)  # profile log-likelihood
    weights = np.exp(profile - logsumexp(profile))
    keep = weights >= 10 * np.finfo(float).eps
    weights, b = weights[keep], b[keep]
    b_post = np.sum(b * weights) / np.sum(weights)
    k_hat = np.mean(np.log1p(-b_post * x))
    sigma = -k_hat / b_post
    return float((n * k_hat + 10 * 0.5) / (n + 10)), float(sigma)


def psis_tail_length(n_draws, r_eff=1.0):
    """Number ``M`` of largest weights PSIS replaces -- eq. :eq:`dg-tail-length`, chapter 9.

    ``M = floor(3 sqrt(S / r_eff))`` when ``S r_eff > 225``, else ``floor(S / 5)``, with ``S``
    draws of relative efficiency ``r_eff`` (1 for independent draws from ``q``).
    """
    n_draws = check_int(n_draws, "n_draws", 25)
    r_eff = check_positive(r_eff, "r_eff")
    if n_draws * r_eff > 225:
        return int(np.floor(3.0 * np.sqrt(n_draws / r_eff)))
    return int(np.floor(n_draws / 5))


def khat_threshold(n_draws):
    """The sample-size dependent threshold ``min(1 - 1 / log10 S, 0.7)`` on ``k-hat`` of
    Vehtari et al. (2024) -- chapter 9: above it, ``S`` draws cannot make the PSIS estimate
    reliable."""
    n_draws = check_int(n_draws, "n_draws", 11)
    return float(min(1.0 - 1.0 / np.log10(n_draws), 0.7))


@dataclass(frozen=True)
class PsisResult:
    """Output of :func:`psis`.

    ``log_weights`` are the smoothed, truncated and normalised log weights (``exp`` sums to one),
    ``khat`` the fitted shape of the weights' right tail, ``sigma`` its scale (relative to the
    largest raw weight), ``tail_length`` the number ``M`` of weights replaced.
    """

    log_weights: np.ndarray
    khat: float
    sigma: float
    tail_length: int


def psis(log_w, r_eff=1.0):
    """Pareto-smoothed importance sampling -- algorithm :prf:ref:`dg-psis`, chapter 9.

    The ``M`` (:func:`psis_tail_length`) largest weights are replaced by the quantiles
    ``F^-1((z - 1/2) / M)``, ``z = 1..M``, of a generalised Pareto distribution fitted by
    :func:`gpd_fit` to their exceedances over the largest weight outside the tail, the smoothed
    weights are truncated at the largest raw weight, and all are normalised (Vehtari et al.
    2024).  ``khat`` estimates the tail index of the weights ``w = p / q``: the estimate of
    ``E_p[f]`` by the normalised weights has finite variance only if ``k < 1/2``, and is
    reliable in practice for ``k < 0.7`` (:func:`khat_threshold`).

    Parameters
    ----------
    log_w : array_like, shape (S,)
        Log importance weights ``log p(x, z_s) - log q(z_s)``, ``z_s ~ q``, up to a common
        constant; ``-inf`` where ``p = 0``.  ``S >= 25``.
    r_eff : float
        Relative efficiency of the draws (1 for independent draws).

    Returns
    -------
    PsisResult
    """
    log_w = _check_log_weights(log_w, min_len=25)
    S = log_w.size
    M = psis_tail_length(S, r_eff)
    lw = log_w - np.max(log_w)
    order = np.argsort(lw, kind="stable")
    tail = order[S - M :]
    cutoff = np.exp(lw[order[S - M - 1]])  # largest weight outside the tail
    exceed = np.exp(lw[tail]) - cutoff
    if exceed[-1] - exceed[0] <= np.finfo(float).tiny:
        raise ValueError(
            f"log_w: the {M} largest weights are all equal, no tail to fit"
        )
    k, sigma = _gpd_fit(exceed)
    smoothed = lw.copy()
    if np.isfinite(k):
        p = (np.arange(1, M + 1) - 0.5) / M
        # GPD quantiles, F^-1(p) = cutoff + sigma ((1 - p)^-k - 1) / k
        if k == 0:
            q = cutoff - sigma * np.log1p(-p)
        else:
            q = cutoff + sigma * np.expm1(-k * np.log1p(-p)) / k
        smoothed[tail] = np.minimum(np.log(q), 0.0)  # truncated at max raw
    smoothed -= logsumexp(smoothed)
    return PsisResult(smoothed, float(k), float(sigma), M)


def gaussian_tail_index(cov_q, cov_p):
    """Tail index of the weights ``N(z; mu_p, cov_p) / N(z; mu_q, cov_q)``, ``z ~ q`` -- theorem
    :prf:ref:`dg-tail-theorem`, chapter 9.

    With ``lambda_min`` the smallest eigenvalue of ``cov_q cov_p^-1``: if ``lambda_min < 1``
    the weights have a power-law tail ``P(w > t) = t^(-1/k) L(t)``, ``L`` slowly varying, with
    ``k = 1 - lambda_min``.  If ``lambda_min > 1`` the weights are bounded, and near their
    maximum they follow a generalised Pareto tail of shape ``k = -2 / d`` in ``d`` dimensions.
    The means do not enter either case.  At ``lambda_min = 1`` exactly, 0 is returned (the
    log-normal, Gumbel-type tail a mean difference along that direction leaves).

    Returns
    -------
    float
    """
    cov_q = as_float_array(cov_q, "cov_q")
    d = cov_q.shape[0] if cov_q.ndim == 2 else 0
    cov_q = check_covariance(cov_q, d, "cov_q")
    cov_p = check_covariance(cov_p, d, "cov_p")
    # eigenvalues of cov_q cov_p^-1 = those of the symmetric L_p^-1 cov_q L_p^-T
    Lp = np.linalg.cholesky(cov_p)
    A = np.linalg.solve(Lp, np.linalg.solve(Lp, cov_q).T)
    lam_min = float(np.min(np.linalg.eigvalsh(0.5 * (A + A.T))))
    if lam_min < 1.0:
        return 1.0 - lam_min
    if lam_min > 1.0:
        return -2.0 / d
    return 0.0


def _check_weight_array(log_w, name="log_w"):
    """Log weights of any shape with at least one axis: no NaN, no +inf."""
    arr = as_float_array(log_w, name)
    if arr.ndim == 0 or arr.size == 0:
        raise ValueError(
            f"{name} must be a non-empty array with at least one axis, got shape {arr.shape}"
        )
    if np.any(np.isnan(arr)) or np.any(arr == np.inf):
        raise ValueError(f"{name} must not contain NaN or +inf")
    return arr


def _check_axis(axis, ndim):
    if isinstance(axis, bool) or not isinstance(axis, (int, np.integer)):
        raise TypeError(f"axis must be an integer, got {type(axis).__name__}")
    if not -ndim <= axis < ndim:
        raise ValueError(f"axis must be in [{-ndim}, {ndim}), got {axis}")
    return int(axis)


def importance_weighted_bound(log_w, axis=-1):
    """One estimate of the importance-weighted bound per slice: ``log (1/S sum_s w_s)`` along
    ``axis`` -- eq. :eq:`dg-iwae`, chapter 9 (Burda, Grosse and Salakhutdinov 2016).

    Each slice of ``S`` log weights ``log p(x, z_s) - log q(z_s)``, ``z_s ~ q`` independent,
    gives an unbiased estimate of ``IWAE_S = E[log (1/S sum_s w_s)]``, a lower bound on
    ``log p(x)`` that is the ELBO at ``S = 1`` and does not decrease with ``S``.  Average the
    returned estimates over independent slices (data points, replicates) for the bound and its
    standard error.

    Parameters
    ----------
    log_w : array_like
        Log weights, ``-inf`` allowed (a draw where ``p = 0``), no NaN or ``+inf``.
    axis : int
        The axis of the ``S`` draws.

    Returns
    -------
    numpy.ndarray or float
        ``log_w`` with ``axis`` reduced.
    """
    log_w = _check_weight_array(log_w)
    axis = _check_axis(axis, log_w.ndim)
    S = log_w.shape[axis]
    out = logsumexp(log_w, axis=axis) - np.log(S)
    return out[()] if np.ndim(out) == 0 else out


_GL_NODES, _GL_WEIGHTS = np.polynomial.legendre.leggauss(10)


def importance_weighted_bound_exact(
    log_q, log_joint, n_samples, max_elements=MAX_ELEMENTS
):
    """Exact ``IWAE_S`` of a ``q`` on a finite latent space -- eq. :eq:`dg-iwae-exact`,
    chapter 9.

    With ``v_z = w_z / p(x)`` (mean 1 under ``q``) and Frullani's integral
    ``log y = int_0^inf (e^-t - e^-ty) dt / t``, the expectation over the ``S``-sample product
    factorises into the Laplace transform of one weight:

    ``IWAE_S = log p(x) - int_0^inf e^-t (phi(t)^S - 1) dt / t``, with
    ``phi(t) = sum_z q(z) exp(-t (v_z - 1) / S)``.

    The integral is taken over ``u = log t`` by a composite 10-point Gauss--Legendre rule on
    panels of width 1/4, with ``S log phi`` computed through ``log1p`` and ``expm1`` where it
    is small; the result agrees with enumeration of all ``|Z|^S`` samples to about ``1e-13``
    and stays accurate (relative error of the gap ``log p(x) - IWAE_S`` about ``1e-6``) up to
    ``S = 10^9``.

    Parameters
    ----------
    log_q : array_like
        Normalised ``log q(z)``, any shape; cells with ``q = 0`` are never drawn.
    log_joint : array_like
        ``log p(x, z)``, the same shape.
    n_samples : int
        ``S >= 1``.
    max_elements : int
        Cap on the ``(nodes, cells)`` array the rule evaluates.

    Returns
    -------
    float
        ``IWAE_S``; ``-inf`` if ``q`` puts mass where ``p(x, z) = 0`` (then all ``S`` draws
        land there with positive probability).
    """
    log_q = check_log_distribution(log_q, "log_q")
    log_joint = check_log_table(log_joint, "log_joint")
    if log_joint.shape != log_q.shape:
        raise ValueError(
            f"log_joint must have the shape of log_q {log_q.shape}, got {log_joint.shape}"
        )
    S = check_int(n_samples, "n_samples", 1)
    support = log_q > -np.inf
    log_q, log_joint = log_q[support], log_joint[support]
    if np.any(log_joint == -np.inf):
        return -np.inf
    log_w = log_joint - log_q
    log_c = float(
        logsumexp(log_q + log_w)
    )  # log p(x) restricted to q's support
    v = np.exp(log_w - log_c)
    q = np.exp(log_q)
    chi2 = max(float(q @ v**2) - 1.0, 0.0)
    # the integrand is negligible below t ~ 1e-9 sqrt(S / (1 + chi2)) and above 50 S / min v
    lo = 0.5 * np.log(S / (1.0 + chi2)) - 20.0
    hi = np.log(50.0 * S) - np.log(v.min())
    width = 0.25
    n_panels = int(np.ceil((hi - lo) / width))
    check_elements(
        10 * n_panels * q.size,
        f"n_samples = {S} with {q.size} cells",
        max_elements,
    )
    mid = lo + width * (np.arange(n_panels) + 0.5)
    t = np.exp((mid[:, None] + 0.5 * width * _GL_NODES).ravel())
    x = -t[:, None] * (v - 1.0) / S
    small = np.max(np.abs(x), axis=1) < 0.5
    log_phi = np.empty(t.size)
    log_phi[small] = np.log1p(np.expm1(x[small]) @ q)
    log_phi[~small] = logsumexp(np.log(q) + x[~small], axis=1)
    # a = S log phi >= 0 (Jensen); the gap integrand is e^-t (e^a - 1)
    a = S * log_phi
    integrand = np.where(
        a < 700.0,
        np.exp(-t) * np.expm1(np.minimum(a, 700.0)),
        np.exp(np.minimum(a - t, 700.0)),
    )
    gap = 0.5 * width * np.sum(integrand * np.tile(_GL_WEIGHTS, n_panels))
    return float(log_c - gap)


def renyi_bound(log_w, alpha, axis=-1):
    """Monte Carlo estimate of the Renyi bound ``L_alpha`` along ``axis`` -- eq.
    :eq:`dg-renyi`, chapter 9 (Li and Turner 2016).

    ``L_alpha = 1 / (1 - alpha) log E_q[w^(1 - alpha)] = log p(x) - D_alpha(q || p(z | x))``,
    estimated by ``1 / (1 - alpha) log (1/S sum_s w_s^(1 - alpha))``; at ``alpha = 1`` the
    limit, the ELBO, is estimated by the mean of ``log w``.  ``L_alpha`` is a lower bound on
    ``log p(x)`` for ``alpha > 0`` and an upper bound for ``alpha < 0``; the estimator is
    biased low for ``alpha < 1`` (Jensen's inequality for the concave ``log``), so an
    estimated upper bound can fall below ``log p(x)``.

    Parameters
    ----------
    log_w : array_like
        Log weights; ``-inf`` allowed for ``alpha < 1``.
    alpha : float
    axis : int

    Returns
    -------
    numpy.ndarray or float
    """
    log_w = _check_weight_array(log_w)
    alpha = check_real(alpha, "alpha")
    axis = _check_axis(axis, log_w.ndim)
    S = log_w.shape[axis]
    if alpha == 1.0:
        out = np.mean(log_w, axis=axis)
    else:
        out = (logsumexp((1.0 - alpha) * log_w, axis=axis) - np.log(S)) / (
            1.0 - alpha
        )
    return out[()] if np.ndim(out) == 0 else out


def cubo(log_w, n=2.0, axis=-1):
    """Monte Carlo estimate of the chi upper bound ``CUBO_n = 1/n log E_q[w^n]`` -- eq.
    :eq:`dg-cubo`, chapter 9 (Dieng et al. 2017).

    ``CUBO_n >= log p(x)`` for ``n >= 1``; it is the Renyi bound :func:`renyi_bound` with
    ``alpha = 1 - n``, and its estimate is biased low.
    """
    n = check_real(n, "n")
    if n < 1:
        raise ValueError(f"n must be >= 1 for an upper bound, got {n}")
    return renyi_bound(log_w, 1.0 - n, axis=axis)


def gaussian_renyi_divergence(m_q, cov_q, m_p, cov_p, alpha):
    """Renyi divergence ``D_alpha(N(m_q, cov_q) || N(m_p, cov_p))`` in closed form -- eq.
    :eq:`dg-renyi-gauss`, chapter 9.

    ``D_alpha = 1 / (alpha - 1) log int q^alpha p^(1 - alpha)``; with
    ``C = alpha cov_p + (1 - alpha) cov_q`` and ``d = m_q - m_p``,
    ``D_alpha = alpha/2 d^T C^-1 d - 1 / (2 (alpha - 1)) log(|C| / (|cov_q|^(1-alpha)
    |cov_p|^alpha))`` when ``C`` is positive definite.  Otherwise (possible only for ``alpha``
    outside ``[0, 1]``) the integral diverges: ``D_alpha = +inf`` for ``alpha > 1`` and
    ``-inf`` for ``alpha < 0``, where ``D_alpha <= 0`` always.  ``alpha = 1`` gives
    ``KL(q || p)``.

    Returns
    -------
    float
    """
    m_q = check_data(m_q, "m_q")
    d = m_q.size
    m_p = check_data(m_p, "m_p")
    if m_p.shape != (d,):
        raise ValueError(f"m_p must have shape ({d},), got {m_p.shape}")
    cov_q = check_covariance(cov_q, d, "cov_q")
    cov_p = check_covariance(cov_p, d, "cov_p")
    alpha = check_real(alpha, "alpha")
    diff = m_q - m_p
    ld_q, ld_p = np.linalg.slogdet(cov_q)[1], np.linalg.slogdet(cov_p)[1]
    if alpha == 1.0:
        P = np.linalg.inv(cov_p)
        return float(
            0.5 * (np.trace(P @ cov_q) + diff @ P @ diff - d + ld_p - ld_q)
        )
    C = alpha * cov_p + (1.0 - alpha) * cov_q
    try:
        Lc = np.linalg.cholesky(0.5 * (C + C.T))
    except np.linalg.LinAlgError:
        return float("inf") if alpha > 1 else float("-inf")
    ld_c = 2.0 * np.sum(np.log(np.diag(Lc)))
    y = np.linalg.solve(Lc, diff)
    return float(
        0.5 * alpha * (y @ y)
        - (ld_c - (1.0 - alpha) * ld_q - alpha * ld_p) / (2.0 * (alpha - 1.0))
    )


def sbc_ranks(truth, draws, seed=None):
    """Rank of each true value among its posterior draws -- eq. :eq:`dg-sbc-rank`, chapter 9
    (Talts et al. 2018).

    ``rank_r = #{l : draws[r, l] < truth[r]}``, in ``{0, ..., L}``; ties (discrete draws) are
    broken uniformly at random with ``seed``, so that an exact posterior gives exactly uniform
    ranks.

    Parameters
    ----------
    truth : array_like, shape (R, ...)
        One value drawn from the prior per replicate (any trailing shape: one rank each).
    draws : array_like, shape (R, L, ...)
        ``L`` draws from the (approximate) posterior of replicate ``r``.

    Returns
    -------
    numpy.ndarray of int, shape (R, ...)
    """
    truth = as_float_array(truth, "truth")
    draws = as_float_array(draws, "draws")
    if truth.ndim < 1 or draws.ndim != truth.ndim + 1:
        raise ValueError(
            f"draws must have one axis more than truth (R, L, ...), got shapes "
            f"{truth.shape} and {draws.shape}"
        )
    if draws.shape[0] != truth.shape[0] or draws.shape[2:] != truth.shape[1:]:
        raise ValueError(
            f"draws must have shape ({truth.shape[0]}, L) + {truth.shape[1:]}, got {draws.shape}"
        )
    if draws.shape[1] < 1:
        raise ValueError("draws must hold at least one draw per replicate")
    if not (np.all(np.isfinite(truth)) and np.all(np.isfinite(draws))):
        raise ValueError("truth and draws must not contain NaN or inf")
    below = np.sum(draws < truth[:, None], axis=1)
    ties = np.sum(draws == truth[:, None], axis=1)
    if np.any(ties):
        rng = check_seed(seed)
        below = below + rng.integers(0, ties + 1)
    return below


@dataclass(frozen=True)
class UniformityTest:
    """Output of :func:`rank_uniformity_test`: the bin counts, Pearson's statistic, its degrees
    of freedom and the p-value under the chi-square approximation."""

    counts: np.ndarray
    statistic: float
    dof: int
    p_value: float


def rank_uniformity_test(ranks, n_draws, n_bins):
    """Pearson's chi-square test that SBC ranks are uniform on ``{0, ..., L}`` -- eq.
    :eq:`dg-sbc-chi2`, chapter 9.

    The ``L + 1`` rank values are grouped into ``n_bins`` bins of equal size (``L + 1`` must be
    a multiple of ``n_bins``), so under uniformity each of the ``R`` ranks falls in each bin
    with probability ``1 / B``; ``X^2 = sum_b (O_b - R/B)^2 / (R/B)`` is then approximately
    chi-square with ``B - 1`` degrees of freedom (the multinomial approximation; check its size
    by simulation when ``R/B`` is small).

    Parameters
    ----------
    ranks : array_like of int, shape (R,)
    n_draws : int
        ``L``, the number of posterior draws per rank.
    n_bins : int
        ``B >= 2`` dividing ``L + 1``.

    Returns
    -------
    UniformityTest
    """
    n_draws = check_int(n_draws, "n_draws", 1)
    n_bins = check_int(n_bins, "n_bins", 2)
    if (n_draws + 1) % n_bins:
        raise ValueError(
            f"n_bins must divide n_draws + 1 = {n_draws + 1}, got {n_bins}"
        )
    r = np.asarray(ranks)
    if r.ndim != 1 or r.size < 1 or not np.issubdtype(r.dtype, np.integer):
        raise ValueError("ranks must be a non-empty 1-D array of integers")
    if np.any(r < 0) or np.any(r > n_draws):
        raise ValueError(f"ranks must lie in 0..{n_draws}")
    counts = np.bincount(r * n_bins // (n_draws + 1), minlength=n_bins)
    expected = r.size / n_bins
    stat = float(np.sum((counts - expected) ** 2) / expected)
    return UniformityTest(
        counts, stat, n_bins - 1, float(stats.chi2.sf(stat, n_bins - 1))
    )


def split_rhat(chains):
    """Split-``R-hat`` of chains of draws or iterates -- eq. :eq:`dg-rhat`, chapter 9 (Gelman
    et al. 2013; used on optimisation iterates by Dhaka et al. 2020).

    Each of ``C`` chains of length ``T`` is split into halves (dropping the middle draw when
    ``T`` is odd); with ``n = floor(T/2)``, ``W`` the mean within-half variance and ``B / n``
    the variance of the half means, ``R-hat = sqrt(((n - 1)/n W + B/n) / W)``, which tends to 1
    when the halves are stationary and agree.

    Parameters
    ----------
    chains : array_like, shape (C, T) or (C, T, P)
        ``C >= 1`` chains, ``T >= 4``; one ``R-hat`` per trailing parameter.

    Returns
    -------
    float or numpy.ndarray of shape (P,)
    """
    x = as_float_array(chains, "chains")
    if x.ndim not in (2, 3) or x.shape[1] < 4:
        raise ValueError(
            f"chains must have shape (C, T) or (C, T, P) with T >= 4, got {x.shape}"
        )
    if not np.all(np.isfinite(x)):
        raise ValueError("chains must not contain NaN or inf")
    n = x.shape[1] // 2
    halves = np.concatenate([x[:, :n], x[:, x.shape[1] - n :]], axis=0)
    W = np.mean(np.var(halves, axis=1, ddof=1), axis=0)
    B_over_n = np.var(np.mean(halves, axis=1), axis=0, ddof=1)
    out = np.sqrt(((n - 1) / n * W + B_over_n) / W)
    return out[()] if np.ndim(out) == 0 else out


def running_mean_change(trace, window):
    """Relative change of the running average of a noisy trace -- eq. :eq:`dg-relchange`,
    chapter 9.

    The trace (one Monte Carlo ELBO per step) is cut into consecutive blocks of ``window``
    steps; entry ``j`` is ``|mean_j - mean_(j-1)| / |mean_j|`` for block means ``mean_j``,
    ``j = 1..``.  A stopping rule stops at the first block where it falls below a tolerance.

    Returns
    -------
    numpy.ndarray, shape (floor(len(trace) / window) - 1,)
    """
    trace = check_data(trace, "trace")
    window = check_int(window, "window", 1)
    n_blocks = trace.size // window
    if n_blocks < 2:
        raise ValueError(
            f"trace must hold at least two windows of {window} steps, got {trace.size}"
        )
    means = trace[: n_blocks * window].reshape(n_blocks, window).mean(axis=1)
    return np.abs(np.diff(means)) / np.abs(means[1:])
