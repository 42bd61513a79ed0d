r"""The full Bayesian Gaussian mixture of Bishop (2006, section 10.2), fitted by CAVI.

The model of chapter 4b, eq. :eq:`bgmm-model`::

    pi                ~ Dirichlet(alpha0, ..., alpha0)
    Lambda_k          ~ Wishart(W0, nu0),                      k = 1..K
    mu_k | Lambda_k   ~ N(m0, (beta0 Lambda_k)^{-1})
    z_n | pi          ~ Categorical(pi),                        n = 1..N
    x_n | z_n, mu, Lambda ~ N(mu_{z_n}, Lambda_{z_n}^{-1})

The mean-field family ``q(Z) q(pi) prod_k q(mu_k, Lambda_k)`` has the optimal factors
``q(z_n) = Categorical(resp[n])``, ``q(pi) = Dirichlet(alpha)`` and
``q(mu_k, Lambda_k) = N(mu_k | m_k, (beta_k Lambda_k)^{-1}) Wishart(Lambda_k | W_k, nu_k)``.
``W`` is always Bishop's *scale matrix of the Wishart on the precision* (so ``E[Lambda_k] =
nu_k W_k``); scikit-learn stores the covariance ``(nu_k W_k)^{-1}`` instead.

Components are numbered ``0..K-1``.  Nothing here imports scikit-learn; chapter 4b and the tests
show that :func:`fit` reproduces ``sklearn.mixture.BayesianGaussianMixture`` with
``weight_concentration_prior_type="dirichlet_distribution"`` and ``covariance_type="full"``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from scipy.special import digamma, gammaln, logsumexp, multigammaln, xlogy
from scipy.stats import multivariate_t

from ._validate import (
    as_float_array,
    check_data,
    check_distribution_rows,
    check_elements,
    check_int,
    check_nonnegative,
    check_positive,
    check_real,
    check_seed,
)

__all__ = [
    "MAX_ELEMENTS",
    "BayesGMMPrior",
    "BayesGMMPosterior",
    "BayesGMMFit",
    "load_old_faithful",
    "default_prior",
    "e_step",
    "m_step",
    "expected_log_weights",
    "expected_log_det_precision",
    "elbo_terms",
    "elbo",
    "fit",
    "predictive_density",
]

_LOG_2PI = np.log(2.0 * np.pi)

#: Default cap on the array elements one call may allocate, counted from its arguments (``fit``:
#: ``N K`` responsibilities plus ``K D^2`` for the posterior, and ``max_iter`` ELBO values;
#: ``e_step``: ``N K``; ``m_step``,
#: ``elbo_terms`` and ``elbo``: ``K D^2``; ``predictive_density``: ``M K``; ``default_prior``:
#: ``D^2``).  2**28 float64 elements are 2 GiB: above it a ValueError names the argument rather
#: than numpy failing in a MemoryError.  Pass ``max_elements`` to go further.
MAX_ELEMENTS = 2**28

#: Elements of the per-block buffers of the E step and of the statistics (``(K, D, B)`` and
#: ``(D^2, B)``): the block of ``B`` points shrinks below ``_BLOCK`` when ``K D + D^2`` is large,
#: so that the buffers stay within 8 MiB (down to one point per block; ``K D^2`` itself is capped
#: by ``max_elements``).
_BLOCK_ELEMENTS = 2**20


def _check_concentrations(alpha, name="alpha"):
    """A non-empty 1-D array of finite, strictly positive Dirichlet concentrations."""
    alpha = as_float_array(alpha, name)
    if alpha.ndim != 1 or alpha.size == 0:
        raise ValueError(
            f"{name} must be a non-empty 1-D array, got shape {alpha.shape}"
        )
    if not np.all(np.isfinite(alpha)):
        raise ValueError(f"{name} must not contain NaN or inf")
    if np.any(alpha <= 0):
        raise ValueError(
            f"{name} must be > 0 (Dirichlet concentrations), got min "
            f"{alpha.min():.6g}"
        )
    return alpha


def _check_wishart(nu, W):
    """Wishart parameters: ``nu`` (K,) with ``nu_k > D - 1`` and ``W`` (K, D, D) SPD."""
    nu = as_float_array(nu, "nu")
    W = as_float_array(W, "W")
    if W.ndim != 3 or W.shape[1] != W.shape[2] or W.shape[0] == 0:
        raise ValueError(
            f"W must be a (K, D, D) stack of square matrices, got shape {W.shape}"
        )
    K, D = W.shape[0], W.shape[1]
    if nu.shape != (K,):
        raise ValueError(
            f"nu must have shape ({K},) to match W, got {nu.shape}"
        )
    if not np.all(np.isfinite(nu)):
        raise ValueError("nu must not contain NaN or inf")
    if np.any(nu <= D - 1):
        raise ValueError(
            f"nu must be > D - 1 = {D - 1} (Wishart degrees of freedom), got "
            f"min {nu.min():.6g}"
        )
    return nu, _check_spd(W, "W")


def _readonly(a):
    a = np.array(a, dtype=np.float64, copy=True)
    a.setflags(write=False)
    return a


def _check_spd(a, name):
    """A finite symmetric positive definite matrix (or a stack of them); returns a float copy."""
    a = as_float_array(a, name)
    if a.ndim < 2 or a.shape[-1] != a.shape[-2]:
        raise ValueError(
            f"{name} must be a square matrix, got shape {a.shape}"
        )
    if not np.all(np.isfinite(a)):
        raise ValueError(f"{name} must not contain NaN or inf")
    scale = np.max(np.abs(a), axis=(-2, -1), keepdims=True)
    if np.any(np.abs(a - np.swapaxes(a, -1, -2)) > 1e-10 * scale):
        raise ValueError(f"{name} must be symmetric")
    try:
        np.linalg.cholesky(a)
    except np.linalg.LinAlgError:
        raise ValueError(
            f"{name} must be symmetric positive definite"
        ) from None
    return a


# --------------------------------------------------------------------------------------------
# Data
# --------------------------------------------------------------------------------------------


def load_old_faithful(standardize=True):
    """The Old Faithful geyser data (R ``datasets::faithful``), 272 eruptions.

    Columns are the eruption time and the waiting time to the next eruption, in minutes.  Source
    and licence: ``vitutor/data/README.md``.

    Parameters
    ----------
    standardize : bool
        If True (default), shift and scale each column to zero mean and unit variance (the
        population standard deviation, ``ddof=0``), as Bishop does for his figure 10.6.

    Returns
    -------
    numpy.ndarray, shape (272, 2)
        Columns ``eruptions``, ``waiting``.
    """
    if not isinstance(standardize, (bool, np.bool_)):
        raise TypeError(
            f"standardize must be a bool, got {type(standardize).__name__}"
        )
    X = np.loadtxt(
        Path(__file__).with_name("data") / "old_faithful.csv",
        delimiter=",",
        skiprows=1,
        dtype=np.float64,
    )
    if standardize:
        X = (X - X.mean(axis=0)) / X.std(axis=0)
    return X


# --------------------------------------------------------------------------------------------
# Prior and variational posterior
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class BayesGMMPrior:
    """Dirichlet / Gaussian-Wishart prior, eq. :eq:`bgmm-prior`, chapter 4b (Bishop 10.39-10.40).

    Parameters
    ----------
    alpha0 : float
        Dirichlet concentration of each weight, ``> 0``.
    beta0 : float
        Scale of the prior precision of the means, ``mu_k | Lambda_k ~ N(m0, (beta0 Lambda_k)^-1)``,
        ``> 0``.
    m0 : array_like, shape (D,)
        Prior mean of the component means.
    nu0 : float
        Wishart degrees of freedom, ``> D - 1``.
    W0 : array_like, shape (D, D)
        Wishart scale matrix (symmetric positive definite); ``E[Lambda_k] = nu0 W0``.
        scikit-learn's ``covariance_prior`` is ``inv(W0)``.
    """

    alpha0: float
    beta0: float
    m0: np.ndarray
    nu0: float
    W0: np.ndarray

    def __post_init__(self):
        alpha0 = check_positive(self.alpha0, "alpha0")
        beta0 = check_positive(self.beta0, "beta0")
        m0 = check_data(self.m0, "m0", ndim=1)
        D = m0.shape[0]
        nu0 = check_real(self.nu0, "nu0")
        if nu0 <= D - 1:
            raise ValueError(f"nu0 must be > D - 1 = {D - 1}, got {nu0}")
        W0 = as_float_array(self.W0, "W0")
        if W0.shape != (D, D):
            raise ValueError(
                f"W0 must have shape ({D}, {D}) to match m0, got {W0.shape}"
            )
        W0 = _check_spd(W0, "W0")
        object.__setattr__(self, "alpha0", alpha0)
        object.__setattr__(self, "beta0", beta0)
        object.__setattr__(self, "m0", _readonly(m0))
        object.__setattr__(self, "nu0", nu0)
        object.__setattr__(self, "W0", _readonly(0.5 * (W0 + W0.T)))

    @property
    def D(self):
        """Dimension of the data."""
        return self.m0.shape[0]


@dataclass(frozen=True)
class BayesGMMPosterior:
    """Parameters of ``q(pi) prod_k q(mu_k, Lambda_k)``: eqs. :eq:`bgmm-alpha`-:eq:`bgmm-W`, ch. 4b.

    Attributes
    ----------
    alpha : numpy.ndarray, shape (K,)
        Dirichlet concentrations of ``q(pi)``.
    beta : numpy.ndarray, shape (K,)
        ``q(mu_k | Lambda_k) = N(m_k, (beta_k Lambda_k)^{-1})``.
    m : numpy.ndarray, shape (K, D)
        Means of ``q(mu_k)``.
    nu : numpy.ndarray, shape (K,)
        Wishart degrees of freedom of ``q(Lambda_k)``.
    W : numpy.ndarray, shape (K, D, D)
        Wishart scale matrices of ``q(Lambda_k)``; ``E[Lambda_k] = nu_k W_k``.
    """

    alpha: np.ndarray
    beta: np.ndarray
    m: np.ndarray
    nu: np.ndarray
    W: np.ndarray

    def __post_init__(self):
        alpha = as_float_array(self.alpha, "alpha")
        beta = as_float_array(self.beta, "beta")
        m = as_float_array(self.m, "m")
        nu = as_float_array(self.nu, "nu")
        W = as_float_array(self.W, "W")
        if m.ndim != 2:
            raise ValueError(f"m must be a (K, D) array, got shape {m.shape}")
        K, D = m.shape
        if K == 0 or D == 0:
            raise ValueError(
                f"m must have at least one row and one column, got shape {m.shape}"
            )
        for name, arr, shape in (
            ("alpha", alpha, (K,)),
            ("beta", beta, (K,)),
            ("nu", nu, (K,)),
            ("W", W, (K, D, D)),
        ):
            if arr.shape != shape:
                raise ValueError(
                    f"{name} must have shape {shape}, got {arr.shape}"
                )
            if not np.all(np.isfinite(arr)):
                raise ValueError(f"{name} must not contain NaN or inf")
        if not np.all(np.isfinite(m)):
            raise ValueError("m must not contain NaN or inf")
        for name, arr in (("alpha", alpha), ("beta", beta)):
            if np.any(arr <= 0):
                raise ValueError(f"{name} must be > 0")
        if np.any(nu <= D - 1):
            raise ValueError(f"nu must be > D - 1 = {D - 1}")
        W = _check_spd(W, "W")
        for name, arr in (
            ("alpha", alpha),
            ("beta", beta),
            ("m", m),
            ("nu", nu),
            ("W", W),
        ):
            object.__setattr__(self, name, _readonly(arr))

    @property
    def K(self):
        """Number of components."""
        return self.m.shape[0]

    @property
    def D(self):
        """Dimension of the data."""
        return self.m.shape[1]

    @property
    def weights(self):
        """Posterior mean of the mixing weights, ``E[pi_k] = alpha_k / sum(alpha)``."""
        return self.alpha / self.alpha.sum()


@dataclass(frozen=True)
class BayesGMMFit(BayesGMMPosterior):
    """Result of :func:`fit`: the final ``q`` (inherited fields) and the CAVI history.

    Attributes
    ----------
    resp : numpy.ndarray, shape (N, K)
        Responsibilities ``r_nk`` that produced the final ``q`` in the last M step; the pair
        ``(resp, q)`` has ELBO ``elbo_trace[-1]``.
    elbo_trace : numpy.ndarray, shape (n_iter,)
        Full ELBO (all constants, eq. :eq:`bgmm-elbo`) after each E+M iteration.
    n_iter : int
        Number of E+M iterations run.
    converged : bool
        Whether the last ELBO change was below ``tol``.
    prior : BayesGMMPrior
        The prior used.
    """

    resp: np.ndarray = field(default=None)
    elbo_trace: np.ndarray = field(default=None)
    n_iter: int = 0
    converged: bool = False
    prior: BayesGMMPrior = None


def default_prior(X, K, max_elements=MAX_ELEMENTS):
    """scikit-learn's data-dependent default prior, in Bishop's parameterisation.

    ``alpha0 = 1/K``, ``beta0 = 1``, ``m0 = mean(X)``, ``nu0 = D`` and ``inv(W0) =`` the sample
    covariance of ``X`` (``ddof=1``), as ``BayesianGaussianMixture`` uses when its priors are None.

    Parameters
    ----------
    X : array_like, shape (N, D)
        Data, with a non-singular sample covariance (so ``N > D``).
    K : int
        Number of components.
    max_elements : int
        Largest ``D^2`` (the sample covariance) to allocate; above it a ValueError naming ``X``.

    Returns
    -------
    BayesGMMPrior
    """
    X = check_data(X, "X", ndim=2, min_len=2)
    K = check_int(K, "K", 1)
    D = X.shape[1]
    check_elements(
        D * D, f"default_prior: X has D = {D} columns; D^2", max_elements
    )
    cov = np.atleast_2d(np.cov(X.T))
    try:
        c = np.linalg.cholesky(cov)
    except np.linalg.LinAlgError:
        raise ValueError(
            "X has a singular sample covariance: pass an explicit prior"
        ) from None
    c_inv = np.linalg.inv(c)
    return BayesGMMPrior(
        alpha0=1.0 / K,
        beta0=1.0,
        m0=X.mean(axis=0),
        nu0=float(D),
        W0=c_inv.T @ c_inv,
    )


# --------------------------------------------------------------------------------------------
# Expectations under q
# --------------------------------------------------------------------------------------------


def expected_log_weights(alpha):
    """``E_q[log pi_k] = psi(alpha_k) - psi(sum_j alpha_j)`` -- eq. :eq:`bgmm-elogpi` (Bishop
    10.66).

    Parameters
    ----------
    alpha : array_like, shape (K,)
        Dirichlet concentrations of ``q(pi)``, finite and ``> 0``.

    Returns
    -------
    numpy.ndarray, shape (K,)
    """
    alpha = _check_concentrations(alpha)
    return digamma(alpha) - digamma(alpha.sum())


def _chol_logdet(W):
    """Cholesky factors ``L_k`` (``W_k = L_k L_k^T``) and ``log |W_k|`` of a stack of SPD
    matrices.
    """
    L = np.linalg.cholesky(W)
    logdet = 2.0 * np.log(np.diagonal(L, axis1=-2, axis2=-1)).sum(axis=-1)
    return L, logdet


def _digamma_sum(nu, D):
    # sum_{i=1}^{D} psi((nu + 1 - i) / 2)
    return digamma(0.5 * (nu[:, None] - np.arange(D)[None, :])).sum(axis=1)


def expected_log_det_precision(nu, W):
    """``E_q[log |Lambda_k|]`` -- eq. :eq:`bgmm-elogdet` (Bishop 10.65).

    ``sum_{i=1}^D psi((nu_k + 1 - i)/2) + D log 2 + log |W_k|``.

    Parameters
    ----------
    nu : array_like, shape (K,)
        Wishart degrees of freedom, each ``> D - 1``.
    W : array_like, shape (K, D, D)
        Wishart scale matrices, symmetric positive definite.

    Returns
    -------
    numpy.ndarray, shape (K,)
    """
    nu, W = _check_wishart(nu, W)
    D = W.shape[-1]
    _, logdet = _chol_logdet(W)
    return _digamma_sum(nu, D) + D * np.log(2.0) + logdet


#: Points per block of the E-step.  The largest intermediate is the (K, D, block) array
#: ``L_k^T (x_n - m_k)``: 640 kB at K = 8, D = 5, so a block stays in the L2 cache.
_BLOCK = 2048


def _rows_per_block(K, D, N, block):
    """Points per block: ``block``, fewer if the buffers would pass ``_BLOCK_ELEMENTS``."""
    per_point = K * D + D * D + 3 * K
    return max(1, min(block, N, _BLOCK_ELEMENTS // per_point))


def _rho_constants(q, c):
    """Per-component pieces of ``log rho`` (eq. :eq:`bgmm-rho`) for data shifted by ``c``.

    Returns ``LT`` (K, D, D) with ``LT[k] = L_k^T`` where ``W_k = L_k L_k^T``, ``Lm`` (K, D) with
    ``Lm[k] = L_k^T (m_k - c)``, ``per_k = E[log pi_k] + E[log |Lambda_k|] / 2 - D/2 log 2 pi
    - D / (2 beta_k)`` and ``half_nu = nu_k / 2``.
    """
    D = q.D
    L, logdet = _chol_logdet(q.W)
    LT = np.ascontiguousarray(L.transpose(0, 2, 1))
    Lm = np.einsum("kde,kd->ke", L, q.m - c)
    e_logdet = _digamma_sum(q.nu, D) + D * np.log(2.0) + logdet  # Bishop 10.65
    per_k = (
        expected_log_weights(q.alpha)
        + 0.5 * e_logdet
        - 0.5 * D * _LOG_2PI
        - 0.5 * D / q.beta
    )
    return LT, Lm, per_k, 0.5 * q.nu


def _block_stats(xb, r):
    """``(N_k, sum_n r_nk x_n, sum_n r_nk vec(x_n x_n^T))`` of one block: ``xb`` (D, B), ``r`` (K,
    B).
    """
    D, B = xb.shape
    xx = (xb[:, None, :] * xb[None, :, :]).reshape(
        D * D, B
    )  # xx[(d, e), n] = x_nd x_ne
    return r.sum(axis=1), r @ xb.T, r @ xx.T


def _stats_of(c, N, Sx, Sxx_flat):
    K, D = Sx.shape
    Sxx = Sxx_flat.reshape(K, D, D)
    return _Stats(c=c, N=N, Sx=Sx, Sxx=0.5 * (Sxx + Sxx.transpose(0, 2, 1)))


def _e_step_blocked(Xst, c, q, resp_out, block=_BLOCK):
    """E step (eq. :eq:`bgmm-rho`, Bishop 10.46-10.49) fused with the statistics of the next M step.

    ``Xst`` (D, N) holds the data shifted by ``c``, points along the second axis.  For each block
    of points, ``log rho_kn`` comes from ``E[(x_n - mu_k)^T Lambda_k (x_n - mu_k)] = D / beta_k +
    nu_k |L_k^T (x_n - m_k)|^2`` (eq. :eq:`bgmm-equad`, Bishop 10.64), the responsibilities
    ``r_nk = exp(log rho_nk - max_j log rho_nj) / s_n`` with ``s_n = sum_k exp(log rho_nk -
    max_j log rho_nj)`` (K exponentials and one log per point), written to ``resp_out`` (N, K).
    The term ``sum_nk r_nk log r_nk`` of the ELBO (eq. :eq:`bgmm-elbo-qz`, Bishop 10.75) comes from
    the same numbers, ``sum_nk r_nk (log rho_nk - max_j log rho_nj) - sum_n log s_n``, since each
    row of ``r`` sums to one; no (N, K) logarithm is taken.  Memory beyond ``resp_out`` is a few
    (K, D, block) buffers.

    Returns
    -------
    stats : _Stats
        ``N_k``, ``sum_n r_nk (x_n - c)``, ``sum_n r_nk (x_n - c)(x_n - c)^T``.
    r_log_r : float
        ``sum_nk r_nk log r_nk``.
    """
    D, N = Xst.shape
    K = q.K
    LT, Lm, per_k, half_nu = _rho_constants(q, c)
    N_k, Sx, Sxx = np.zeros(K), np.zeros((K, D)), np.zeros((K, D * D))
    r_log_r = 0.0
    rows = _rows_per_block(K, D, N, block)
    y_buf = np.empty((K, D, rows))
    log_buf = np.empty((K, rows))
    r_buf = np.empty((K, rows))
    for start in range(0, N, rows):
        xb = Xst[:, start : start + rows]
        nb = xb.shape[1]
        y = y_buf if nb == rows else np.empty((K, D, nb))
        np.matmul(LT, xb, out=y)
        y -= Lm[:, :, None]  # y[k, :, n] = L_k^T (x_n - m_k)
        np.square(y, out=y)
        log_rho = log_buf[:, :nb]
        np.sum(y, axis=1, out=log_rho)  # (x_n - m_k)^T W_k (x_n - m_k)
        log_rho *= -half_nu[:, None]
        log_rho += per_k[:, None]  # log rho_kn, Bishop 10.46
        log_rho -= log_rho.max(axis=0)
        r = r_buf[:, :nb]
        np.exp(log_rho, out=r)
        row_sum = r.sum(axis=0)
        r *= 1.0 / row_sum
        r_log_r += float(np.einsum("kn,kn->", r, log_rho)) - float(
            np.sum(np.log(row_sum))
        )
        resp_out[start : start + nb] = r.T
        n_b, sx_b, sxx_b = _block_stats(xb, r)
        N_k += n_b
        Sx += sx_b
        Sxx += sxx_b
    return _stats_of(c, N_k, Sx, Sxx), r_log_r


def _check_X(X, D=None):
    X = check_data(X, "X", ndim=2)
    if D is not None and X.shape[1] != D:
        raise ValueError(
            f"X must have {D} columns to match the prior/posterior, got {X.shape[1]}"
        )
    return X


def _check_posterior(q):
    if not isinstance(q, BayesGMMPosterior):
        raise TypeError(
            f"q must be a BayesGMMPosterior, got {type(q).__name__}"
        )
    return q


def _check_prior(prior, D=None):
    if not isinstance(prior, BayesGMMPrior):
        raise TypeError(
            f"prior must be a BayesGMMPrior, got {type(prior).__name__}"
        )
    if D is not None and prior.D != D:
        raise ValueError(
            f"prior has dimension {prior.D} but X has {D} columns"
        )
    return prior


def e_step(X, q, max_elements=MAX_ELEMENTS):
    """Optimal ``q(Z)`` given ``q(pi, mu, Lambda)`` -- eq. :eq:`bgmm-rho` (Bishop 10.46-10.49).

    ``r_nk = rho_nk / sum_j rho_nj`` with
    ``log rho_nk = E[log pi_k] + 1/2 E[log |Lambda_k|] - D/2 log(2 pi)
    - 1/2 (D / beta_k + nu_k (x_n - m_k)^T W_k (x_n - m_k))``.

    Parameters
    ----------
    X : array_like, shape (N, D)
        Data.
    q : BayesGMMPosterior
        Current global factors.
    max_elements : int
        Largest ``N K`` (the responsibilities) to allocate (default
        :data:`MAX_ELEMENTS`); above it a ValueError naming ``X`` is raised
        instead of a MemoryError.

    Returns
    -------
    numpy.ndarray, shape (N, K)
        Responsibilities; rows sum to one.
    """
    q = _check_posterior(q)
    X = _check_X(X, q.D)
    check_elements(
        X.shape[0] * q.K,
        f"e_step: X has N = {X.shape[0]} rows and q has K = {q.K}; N K",
        max_elements,
    )
    c = X.mean(axis=0)
    resp = np.empty((X.shape[0], q.K))
    _e_step_blocked(np.ascontiguousarray((X - c).T), c, q, resp)
    return resp


# --------------------------------------------------------------------------------------------
# M step
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Stats:
    """Responsibility-weighted statistics of data shifted by ``c``: N_k, sum r x, sum r x x^T."""

    c: np.ndarray
    N: np.ndarray
    Sx: np.ndarray
    Sxx: np.ndarray


def _stats_from_resp(Xst, c, resp, block=_BLOCK):
    """Statistics of given responsibilities ``resp`` (N, K) for data ``Xst`` (D, N) shifted by
    ``c``.
    """
    D, N = Xst.shape
    K = resp.shape[1]
    block = _rows_per_block(K, D, N, block)
    N_k, Sx, Sxx = np.zeros(K), np.zeros((K, D)), np.zeros((K, D * D))
    for start in range(0, N, block):
        n_b, sx_b, sxx_b = _block_stats(
            Xst[:, start : start + block], resp[start : start + block].T
        )
        N_k += n_b
        Sx += sx_b
        Sxx += sxx_b
    return _stats_of(c, N_k, Sx, Sxx)


def _data_stats(X, resp):
    c = X.mean(axis=0)
    return _stats_from_resp(np.ascontiguousarray((X - c).T), c, resp)


def _m_step_from_stats(st, prior, reg_covar):
    D = prior.D
    N = st.N
    alpha = prior.alpha0 + N  # Bishop 10.58
    beta = prior.beta0 + N  # Bishop 10.60
    nu = prior.nu0 + N  # Bishop 10.63
    m0s = prior.m0 - st.c
    ms = (prior.beta0 * m0s + st.Sx) / beta[
        :, None
    ]  # Bishop 10.61, in shifted coordinates
    # Bishop 10.62 in the form without 1/N_k (finite even for empty components):
    # W_k^{-1} = W0^{-1} + sum_n r_nk x_n x_n^T + beta0 m0 m0^T - beta_k m_k m_k^T
    W0_inv = np.linalg.inv(prior.W0)
    W_inv = (
        W0_inv[None]
        + st.Sxx
        + prior.beta0 * np.outer(m0s, m0s)[None]
        - beta[:, None, None] * ms[:, :, None] * ms[:, None, :]
    )
    if reg_covar:
        W_inv = W_inv + (reg_covar * N)[:, None, None] * np.eye(D)[None]
    W_inv = 0.5 * (W_inv + W_inv.transpose(0, 2, 1))
    C = np.linalg.cholesky(W_inv)
    C_inv = np.linalg.inv(C)
    W = C_inv.transpose(0, 2, 1) @ C_inv
    return BayesGMMPosterior(
        alpha=alpha,
        beta=beta,
        m=ms + st.c,
        nu=nu,
        W=0.5 * (W + W.transpose(0, 2, 1)),
    )


def m_step(X, resp, prior, reg_covar=0.0, max_elements=MAX_ELEMENTS):
    """Optimal ``q(pi) prod_k q(mu_k, Lambda_k)`` given ``q(Z)``: :eq:`bgmm-alpha`-:eq:`bgmm-W`.

    Bishop 10.58 and 10.60-10.63: ``alpha_k = alpha0 + N_k``, ``beta_k = beta0 + N_k``,
    ``m_k = (beta0 m0 + N_k xbar_k) / beta_k``, ``nu_k = nu0 + N_k`` and
    ``W_k^{-1} = W0^{-1} + N_k S_k + beta0 N_k / (beta0 + N_k) (xbar_k - m0)(xbar_k - m0)^T``.

    Parameters
    ----------
    X : array_like, shape (N, D)
        Data.
    resp : array_like, shape (N, K)
        Responsibilities ``r_nk`` (rows sum to one).
    prior : BayesGMMPrior
        The prior.
    reg_covar : float
        scikit-learn's regulariser: adds ``reg_covar * I`` to every ``S_k``, i.e.
        ``N_k reg_covar I`` to ``W_k^{-1}``.  0 (default) is Bishop's exact update.
    max_elements : int
        Largest ``K D^2`` (the matrices ``W_k``) to allocate (default
        :data:`MAX_ELEMENTS`); above it a ValueError naming ``resp`` is raised
        instead of a MemoryError.

    Returns
    -------
    BayesGMMPosterior
    """
    prior = _check_prior(prior)
    X = _check_X(X, prior.D)
    resp = _check_resp(resp, X.shape[0], None)
    reg_covar = check_nonnegative(reg_covar, "reg_covar")
    _check_posterior_size(resp.shape[1], prior.D, max_elements, "m_step: resp")
    return _m_step_from_stats(_data_stats(X, resp), prior, reg_covar)


def _check_posterior_size(K, D, max_elements, what):
    check_elements(
        K * D * D, f"{what} has K = {K} columns, D = {D}; K D^2", max_elements
    )


def _check_resp(resp, N, K, name="resp"):
    arr = as_float_array(resp, name)
    if (
        arr.ndim != 2
        or arr.shape[0] != N
        or (K is not None and arr.shape[1] != K)
    ):
        want = f"({N}, {K})" if K is not None else f"({N}, K)"
        raise ValueError(f"{name} must have shape {want}, got {arr.shape}")
    return check_distribution_rows(arr, name)


# --------------------------------------------------------------------------------------------
# ELBO
# --------------------------------------------------------------------------------------------


def _log_wishart_norm(W_logdet, nu, D):
    """``log B(W, nu)`` of the Wishart normaliser (Bishop B.79), with ``log |W|`` given."""
    return (
        -0.5 * nu * W_logdet
        - 0.5 * nu * D * np.log(2.0)
        - multigammaln(0.5 * nu, D)
    )


def _log_dirichlet_norm(alpha):
    """``log C(alpha)`` of the Dirichlet normaliser (Bishop B.23)."""
    return gammaln(np.sum(alpha)) - np.sum(gammaln(alpha))


def _elbo_terms_from_stats(st, resp_entropy_term, q, prior):
    D = prior.D
    K = q.K
    N = st.N
    beta0, nu0, alpha0 = prior.beta0, prior.nu0, prior.alpha0
    L, logdet_W = _chol_logdet(q.W)
    e_logdet = (
        _digamma_sum(q.nu, D) + D * np.log(2.0) + logdet_W
    )  # Bishop 10.65
    e_logpi = expected_log_weights(q.alpha)  # Bishop 10.66
    ms = q.m - st.c
    # A_k = sum_n r_nk (x_n - m_k)(x_n - m_k)^T, so that sum_n r_nk Q_nk = tr(W_k A_k)
    A = (
        st.Sxx
        - st.Sx[:, :, None] * ms[:, None, :]
        - ms[:, :, None] * st.Sx[:, None, :]
        + N[:, None, None] * ms[:, :, None] * ms[:, None, :]
    )
    tr_WA = np.einsum("kij,kji->k", q.W, A)
    log_lik = 0.5 * np.sum(
        N * (e_logdet - D / q.beta - D * _LOG_2PI) - q.nu * tr_WA
    )  # 10.71
    log_pz = np.sum(N * e_logpi)  # 10.72
    log_ppi = _log_dirichlet_norm(np.full(K, alpha0)) + (
        alpha0 - 1.0
    ) * np.sum(e_logpi)  # 10.73
    dm = q.m - prior.m0
    quad_m = np.einsum("ki,kij,kj->k", dm, q.W, dm)
    tr_W0inv_W = np.einsum("ij,kji->k", np.linalg.inv(prior.W0), q.W)
    _, logdet_W0 = _chol_logdet(prior.W0)
    log_pmulam = (
        0.5
        * np.sum(
            D * np.log(beta0 / (2.0 * np.pi))
            + e_logdet
            - D * beta0 / q.beta
            - beta0 * q.nu * quad_m
        )
        + K * _log_wishart_norm(logdet_W0, nu0, D)
        + 0.5 * (nu0 - D - 1.0) * np.sum(e_logdet)
        - 0.5 * np.sum(q.nu * tr_W0inv_W)
    )  # 10.74
    log_qz = resp_entropy_term  # 10.75: sum_nk r_nk log r_nk
    log_qpi = np.sum((q.alpha - 1.0) * e_logpi) + _log_dirichlet_norm(
        q.alpha
    )  # 10.76
    # Wishart entropy, Bishop B.82: H = -log B(W, nu) - (nu - D - 1)/2 E[log|Lambda|] + nu D / 2
    h_wishart = (
        -_log_wishart_norm(logdet_W, q.nu, D)
        - 0.5 * (q.nu - D - 1.0) * e_logdet
        + 0.5 * q.nu * D
    )
    log_qmulam = np.sum(
        0.5 * e_logdet
        + 0.5 * D * np.log(q.beta / (2.0 * np.pi))
        - 0.5 * D
        - h_wishart
    )  # 10.77
    return {
        "E[log p(X|Z,mu,Lambda)]": float(log_lik),
        "E[log p(Z|pi)]": float(log_pz),
        "E[log p(pi)]": float(log_ppi),
        "E[log p(mu,Lambda)]": float(log_pmulam),
        "E[log q(Z)]": float(log_qz),
        "E[log q(pi)]": float(log_qpi),
        "E[log q(mu,Lambda)]": float(log_qmulam),
    }


def _sum_terms(terms):
    signs = {
        "E[log q(Z)]": -1.0,
        "E[log q(pi)]": -1.0,
        "E[log q(mu,Lambda)]": -1.0,
    }
    return float(sum(signs.get(k, 1.0) * v for k, v in terms.items()))


def elbo_terms(X, resp, q, prior, max_elements=MAX_ELEMENTS):
    """The seven expectations of the full ELBO -- eqs. :eq:`bgmm-elbo-lik`-:eq:`bgmm-elbo-qmulam`
    (Bishop 10.71-10.77).

    Every constant is kept, so that ``elbo = sum of the p-terms - sum of the q-terms`` is a
    genuine lower bound on ``log p(X)``.

    Parameters
    ----------
    X : array_like, shape (N, D)
        Data.
    resp : array_like, shape (N, K)
        Responsibilities of ``q(Z)``.
    q : BayesGMMPosterior
        Global factors.
    prior : BayesGMMPrior
        The prior.
    max_elements : int
        Largest ``K D^2`` (the statistics of ``q(Z)``) to allocate (default
        :data:`MAX_ELEMENTS`); above it a ValueError naming ``resp`` is raised
        instead of a MemoryError.

    Returns
    -------
    dict
        Keys ``"E[log p(X|Z,mu,Lambda)]"``, ``"E[log p(Z|pi)]"``, ``"E[log p(pi)]"``,
        ``"E[log p(mu,Lambda)]"``, ``"E[log q(Z)]"``, ``"E[log q(pi)]"``, ``"E[log q(mu,Lambda)]"``.
    """
    q = _check_posterior(q)
    prior = _check_prior(prior, q.D)
    X = _check_X(X, q.D)
    resp = _check_resp(resp, X.shape[0], q.K)
    _check_posterior_size(q.K, q.D, max_elements, "elbo: resp")
    return _elbo_terms_from_stats(
        _data_stats(X, resp), float(np.sum(xlogy(resp, resp))), q, prior
    )


def elbo(X, resp, q, prior, max_elements=MAX_ELEMENTS):
    """Full ELBO ``E_q[log p(X, Z, pi, mu, Lambda)] - E_q[log q]`` -- eq. :eq:`bgmm-elbo` (Bishop
    10.70).

    Parameters are those of :func:`elbo_terms`.

    Returns
    -------
    float
    """
    return _sum_terms(elbo_terms(X, resp, q, prior, max_elements))


# --------------------------------------------------------------------------------------------
# CAVI driver
# --------------------------------------------------------------------------------------------


def _initial_resp(X, K, rng):
    """Hard assignments to the nearest of K distinct data points chosen at random."""
    N = X.shape[0]
    centres = X[rng.choice(N, size=K, replace=N < K)]
    d2 = (
        np.sum(X**2, axis=1)[:, None]
        - 2.0 * X @ centres.T
        + np.sum(centres**2, axis=1)[None, :]
    )
    resp = np.zeros((N, K))
    resp[np.arange(N), np.argmin(d2, axis=1)] = 1.0
    return resp


def fit(
    X,
    K,
    prior=None,
    init_resp=None,
    seed=None,
    max_iter=1000,
    tol=1e-6,
    reg_covar=0.0,
    max_elements=MAX_ELEMENTS,
):
    """CAVI for the Bayesian Gaussian mixture -- algorithm :prf:ref:`bgmm-cavi`, chapter 4b.

    Starting from ``init_resp`` the loop is: M step from the initial responsibilities, then
    repeat {E step, M step, ELBO} -- the same order as scikit-learn, so both give the same
    numbers from the same start.  Stops when the ELBO changes by less than ``tol`` (absolute).

    Parameters
    ----------
    X : array_like, shape (N, D)
        Data (finite).
    K : int
        Number of components, ``>= 1``.
    prior : BayesGMMPrior or None
        The prior; None uses :func:`default_prior` (scikit-learn's defaults).
    init_resp : array_like, shape (N, K) or None
        Initial responsibilities (rows sum to one).  None: each point is assigned to the nearest
        of K data points drawn with ``seed``.
    seed : int, numpy.random.Generator or None
        Draws the initial centres when ``init_resp`` is None; validated in every case, so a
        seed of the wrong type is an error even when it is not needed.
    max_iter : int
        Maximum number of E+M iterations, ``>= 1``.
    tol : float
        Absolute tolerance on the change of the ELBO, ``>= 0``.
    reg_covar : float
        scikit-learn's covariance regulariser (see :func:`m_step`); 0 is Bishop's model.  With
        ``reg_covar > 0`` the M step is no longer the exact optimum, so the ELBO trace may dip by
        round-off-sized amounts.
    max_elements : int
        Largest ``N K + K D^2`` (responsibilities and posterior) to allocate, and largest
        ``max_iter`` (the ELBO trace) (default :data:`MAX_ELEMENTS`); above it a ValueError
        naming ``K`` (or ``max_iter``) is raised instead of a MemoryError.

    Returns
    -------
    BayesGMMFit
    """
    X = _check_X(X)
    N, D = X.shape
    K = check_int(K, "K", 1)
    check_elements(
        N * K + K * D * D,
        f"fit(K={K}) with N = {N}, D = {D}: N K + K D^2",
        max_elements,
    )
    rng = check_seed(seed)
    prior = (
        default_prior(X, K, max_elements)
        if prior is None
        else _check_prior(prior, D)
    )
    max_iter = check_int(max_iter, "max_iter", 1)
    check_elements(
        max_iter, f"fit(max_iter={max_iter}): the ELBO trace", max_elements
    )
    tol = check_nonnegative(tol, "tol")
    reg_covar = check_nonnegative(reg_covar, "reg_covar")
    if init_resp is None:
        resp = _initial_resp(X, K, rng)
    else:
        resp = _check_resp(init_resp, N, K, name="init_resp")

    c = X.mean(axis=0)
    Xst = np.ascontiguousarray(
        (X - c).T
    )  # points along the second axis, shifted by their mean
    q = _m_step_from_stats(_stats_from_resp(Xst, c, resp), prior, reg_covar)
    resp = np.empty((N, K))
    trace = []
    converged = False
    for _ in range(max_iter):
        st, r_log_r = _e_step_blocked(Xst, c, q, resp)
        q = _m_step_from_stats(st, prior, reg_covar)
        value = _sum_terms(_elbo_terms_from_stats(st, r_log_r, q, prior))
        if not np.isfinite(value):
            raise FloatingPointError(
                "the ELBO became non-finite; check the data and the prior"
            )
        trace.append(value)
        if len(trace) > 1 and abs(trace[-1] - trace[-2]) < tol:
            converged = True
            break
    resp.setflags(write=False)
    return BayesGMMFit(
        alpha=q.alpha,
        beta=q.beta,
        m=q.m,
        nu=q.nu,
        W=q.W,
        resp=resp,
        elbo_trace=_readonly(trace),
        n_iter=len(trace),
        converged=converged,
        prior=prior,
    )


# --------------------------------------------------------------------------------------------
# Predictive density
# --------------------------------------------------------------------------------------------


def predictive_density(x, q, log=False, max_elements=MAX_ELEMENTS):
    """Posterior predictive ``p(x | X)``, a mixture of Student-t -- eq. :eq:`bgmm-predictive`
    (Bishop 10.81).

    ``p(x | X) = sum_k alpha_k / alpha_hat St(x | m_k, L_k, nu_k + 1 - D)`` with precision
    ``L_k = (nu_k + 1 - D) beta_k / (1 + beta_k) W_k``.

    Parameters
    ----------
    x : array_like, shape (M, D)
        Points at which to evaluate the density.
    q : BayesGMMPosterior
        Global factors (for instance a :class:`BayesGMMFit`).
    log : bool
        Return ``log p(x | X)`` instead.
    max_elements : int
        Largest ``M K`` (one density per point and component) to allocate (default
        :data:`MAX_ELEMENTS`); above it a ValueError naming ``x`` is raised
        instead of a MemoryError.

    Returns
    -------
    numpy.ndarray, shape (M,)
    """
    q = _check_posterior(q)
    x = check_data(x, "x", ndim=2)
    if x.shape[1] != q.D:
        raise ValueError(f"x must have {q.D} columns, got {x.shape[1]}")
    if not isinstance(log, (bool, np.bool_)):
        raise TypeError(f"log must be a bool, got {type(log).__name__}")
    check_elements(
        x.shape[0] * q.K,
        f"predictive_density: x has M = {x.shape[0]} rows, q has K = {q.K}; "
        "M K",
        max_elements,
    )
    D = q.D
    df = q.nu + 1.0 - D
    log_w = np.log(q.alpha) - np.log(q.alpha.sum())
    comps = np.empty((x.shape[0], q.K))
    for k in range(q.K):
        shape = (
            np.linalg.inv(q.W[k]) * (1.0 + q.beta[k]) / (df[k] * q.beta[k])
        )  # inverse of L_k
        comps[:, k] = multivariate_t(loc=q.m[k], shape=shape, df=df[k]).logpdf(
            x
        )
    out = logsumexp(comps + log_w[None, :], axis=1)
    return out if log else np.exp(out)
