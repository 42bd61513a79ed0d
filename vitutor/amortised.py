"""Amortised inference: probabilistic PCA, the linear VAE and a small VAE -- chapter 11.

Imported on request (``from vitutor import amortised``): it needs JAX, which ``import vitutor``
does not load.  On import it asks JAX for 64-bit floats (``jax_enable_x64``), so the exact
checks of the chapter hold to rounding, and for the CPU.  Every random function takes a
``seed``, turned into a ``jax.random`` key.

* Probabilistic PCA (Tipping and Bishop 1999): ``x = mu + W z + sigma eps`` with
  ``z ~ N(0, I_k)``, ``eps ~ N(0, I_d)``; its log-likelihood :eq:`am-ppca-marginal`
  (:func:`ppca_log_likelihood`), its closed-form maximum :eq:`am-ppca-mle` (:func:`ppca_mle`)
  and its exact posterior :eq:`am-ppca-posterior` (:func:`ppca_posterior`).
* The linear VAE (Lucas et al. 2019): the pPCA decoder with an encoder
  ``q(z | x) = N(V (x - mu), diag(s^2))``; its ELBO in closed form :eq:`am-linear-elbo`
  (:func:`linear_vae_elbo`), its fit by gradient ascent (:func:`fit_linear_vae`), and the split
  of ``log p(x) - ELBO`` into the approximation and amortisation gaps :eq:`am-gap-split`
  (:func:`linear_gaps`, Cremer, Li and Duvenaud 2018).
* The reparameterised ELBO of chapter 8 with automatic differentiation
  (:func:`reparam_elbo`).
* A VAE with one hidden layer in encoder and decoder and a Binomial likelihood for counts
  ``x_j in {0, ..., n_trials}`` (the 8 x 8 digits, ``n_trials = 16``): initialisation, ELBO
  :eq:`am-vae-elbo`, training with Adam (:func:`fit_vae`), the log importance weights that
  chapter 9's bound turns into ``IWAE_S`` (:func:`vae_log_weights`), the per-datum optimum that
  estimates the approximation gap (:func:`optimise_local`), decoding and sampling.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial

import jax
import numpy as np

jax.config.update("jax_enable_x64", True)
jax.config.update("jax_platforms", "cpu")

import jax.numpy as jnp  # noqa: E402
from jax.flatten_util import ravel_pytree  # noqa: E402
from jax.scipy.special import gammaln  # noqa: E402
from scipy import optimize  # noqa: E402

from ._validate import (  # noqa: E402
    check_data,
    check_int,
    check_positive,
    check_seed,
)

__all__ = [
    "PpcaFit",
    "ppca_log_likelihood",
    "ppca_mle",
    "ppca_posterior",
    "linear_vae_elbo",
    "LinearVaeFit",
    "fit_linear_vae",
    "Gaps",
    "linear_gaps",
    "reparam_elbo",
    "vae_init",
    "vae_elbo",
    "VaeFit",
    "fit_vae",
    "vae_encode",
    "vae_log_weights",
    "optimise_local",
    "vae_decode_mean",
    "vae_sample",
    "key",
]

_LOG_2PI = float(np.log(2.0 * np.pi))


def key(seed):
    """A ``jax.random`` key from ``seed`` (an int >= 0, or a numpy Generator to draw one)."""
    if isinstance(seed, np.random.Generator):
        return jax.random.PRNGKey(int(seed.integers(2**31)))
    if seed is None:
        raise ValueError("seed must be an int >= 0 (JAX needs one), got None")
    check_seed(seed)
    return jax.random.PRNGKey(int(seed))


def _check_x(x):
    return check_data(x, "x", ndim=2, min_len=2)


def _check_k(k, d):
    k = check_int(k, "k", 1)
    if k >= d:
        raise ValueError(f"k must be < d = {d}, got {k}")
    return k


# --------------------------------------------------------------------------------------------
# probabilistic PCA


@dataclass(frozen=True)
class PpcaFit:
    """The maximum-likelihood pPCA :eq:`am-ppca-mle`: ``W`` (d, k) with orthogonal columns,
    ``mu`` (d,), ``sigma2``, the sample covariance's eigenvalues ``eigvals`` (descending)
    and the maximised log-likelihood ``log_likelihood`` (summed over the n points)."""

    W: np.ndarray
    mu: np.ndarray
    sigma2: float
    eigvals: np.ndarray
    log_likelihood: float


def _check_ppca(x, W, mu, sigma2):
    x = _check_x(x)
    d = x.shape[1]
    W = np.asarray(W, dtype=float)
    if W.ndim != 2 or W.shape[0] != d:
        raise ValueError(f"W must have shape ({d}, k), got {W.shape}")
    if not np.all(np.isfinite(W)):
        raise ValueError("W must be finite")
    mu = np.asarray(mu, dtype=float)
    if mu.shape != (d,) or not np.all(np.isfinite(mu)):
        raise ValueError(
            f"mu must be finite with shape ({d},), got {mu.shape}"
        )
    sigma2 = check_positive(sigma2, "sigma2")
    return x, W, mu, sigma2


def ppca_log_likelihood(x, W, mu, sigma2):
    """``sum_i log N(x_i | mu, C)``, ``C = W W^T + sigma2 I`` -- eq. :eq:`am-ppca-marginal`.

    Parameters
    ----------
    x : array of shape (n, d)
    W : array of shape (d, k)
    mu : array of shape (d,)
    sigma2 : float > 0

    Returns
    -------
    float
        The log-likelihood summed over the ``n`` rows, by a Cholesky factor of ``C``.
    """
    x, W, mu, sigma2 = _check_ppca(x, W, mu, sigma2)
    d = x.shape[1]
    C = W @ W.T + sigma2 * np.eye(d)
    L = np.linalg.cholesky(C)
    r = np.linalg.solve(L, (x - mu).T)
    n = x.shape[0]
    log_det = 2.0 * np.sum(np.log(np.diag(L)))
    return float(-0.5 * (n * (d * _LOG_2PI + log_det) + np.sum(r * r)))


def ppca_mle(x, k):
    """Maximum-likelihood probabilistic PCA in closed form -- eq. :eq:`am-ppca-mle`
    (Tipping and Bishop 1999).

    With ``S`` the covariance of ``x`` (divided by ``n``), ``lambda_1 >= ... >= lambda_d`` its
    eigenvalues and ``U_k`` the first ``k`` eigenvectors: ``mu = mean(x)``,
    ``sigma2 = mean(lambda_{k+1..d})``, ``W = U_k (Lambda_k - sigma2 I)^{1/2}`` (the rotation
    ``R = I``), and the maximum is
    ``-n/2 (d log 2 pi + sum_{j<=k} log lambda_j + (d - k) log sigma2 + d)``.

    Parameters
    ----------
    x : array of shape (n, d), n >= 2
    k : int, 1 <= k < d

    Returns
    -------
    PpcaFit
    """
    x = _check_x(x)
    n, d = x.shape
    k = _check_k(k, d)
    mu = x.mean(axis=0)
    S = (x - mu).T @ (x - mu) / n
    lam, U = np.linalg.eigh(S)
    lam, U = lam[::-1], U[:, ::-1]
    sigma2 = float(np.mean(lam[k:]))
    if not sigma2 > 0:
        raise ValueError(
            f"x: the {d - k} smallest eigenvalues of its covariance are 0, "
            "sigma2 would be 0"
        )
    if lam[k - 1] <= sigma2:
        raise ValueError(
            f"k = {k}: the k-th eigenvalue does not exceed the mean of the "
            "rest, W would have a zero column"
        )
    W = U[:, :k] * np.sqrt(lam[:k] - sigma2)
    loglik = (
        -0.5
        * n
        * (
            d * _LOG_2PI
            + np.sum(np.log(lam[:k]))
            + (d - k) * np.log(sigma2)
            + d
        )
    )
    return PpcaFit(W, mu, sigma2, lam, float(loglik))


def ppca_posterior(x, W, mu, sigma2):
    """The exact posterior ``p(z | x) = N(M^{-1} W^T (x - mu), sigma2 M^{-1})``,
    ``M = W^T W + sigma2 I`` -- eq. :eq:`am-ppca-posterior`.

    Returns
    -------
    mean : array of shape (n, k)
    cov : array of shape (k, k), the same for every row
    """
    x, W, mu, sigma2 = _check_ppca(x, W, mu, sigma2)
    M = W.T @ W + sigma2 * np.eye(W.shape[1])
    mean = np.linalg.solve(M, W.T @ (x - mu).T).T
    return mean, sigma2 * np.linalg.inv(M)


# --------------------------------------------------------------------------------------------
# the linear VAE


def _linear_elbo(x, W, mu, log_sigma2, V, log_s2):
    # eq. am-linear-elbo, per row: E_q log p(x | z) - KL(q(z | x) || N(0, I))
    d, k = W.shape
    sigma2 = jnp.exp(log_sigma2)
    s2 = jnp.exp(log_s2)
    m = (x - mu) @ V.T  # (n, k)
    resid = x - mu - m @ W.T
    expected_lik = -0.5 * (
        d * (_LOG_2PI + log_sigma2)
        + (jnp.sum(resid**2, axis=1) + jnp.sum(W**2 * s2)) / sigma2
    )
    kl = 0.5 * (jnp.sum(s2 - log_s2 - 1.0) + jnp.sum(m**2, axis=1))
    return expected_lik - kl


def _check_linear(x, W, mu, sigma2, V, s2):
    x, W, mu, sigma2 = _check_ppca(x, W, mu, sigma2)
    k = W.shape[1]
    V = np.asarray(V, dtype=float)
    if V.shape != (k, x.shape[1]) or not np.all(np.isfinite(V)):
        raise ValueError(
            f"V must be finite with shape ({k}, {x.shape[1]}), got {V.shape}"
        )
    s2 = np.asarray(s2, dtype=float)
    if s2.shape != (k,) or not np.all(s2 > 0) or not np.all(np.isfinite(s2)):
        raise ValueError(f"s2 must be finite and > 0 with shape ({k},)")
    return x, W, mu, sigma2, V, s2


def linear_vae_elbo(x, W, mu, sigma2, V, s2):
    """ELBO of the linear VAE, in closed form, one value per row -- eq. :eq:`am-linear-elbo`.

    Decoder ``p(x | z) = N(mu + W z, sigma2 I)``, prior ``N(0, I_k)``, encoder
    ``q(z | x) = N(V (x - mu), diag(s2))`` (Lucas et al. 2019).

    Parameters
    ----------
    x : array of shape (n, d)
    W : array of shape (d, k)
    mu : array of shape (d,)
    sigma2 : float > 0
    V : array of shape (k, d)
    s2 : array of shape (k,), > 0

    Returns
    -------
    numpy.ndarray of shape (n,)
    """
    x, W, mu, sigma2, V, s2 = _check_linear(x, W, mu, sigma2, V, s2)
    out = _linear_elbo(x, W, mu, np.log(sigma2), V, np.log(s2))
    return np.asarray(out)


@dataclass(frozen=True)
class LinearVaeFit:
    """Output of :func:`fit_linear_vae`: decoder ``W``, ``mu``, ``sigma2``; encoder ``V``,
    ``s2``; ``elbo_trace``, the ELBO summed over the data at each step."""

    W: np.ndarray
    mu: np.ndarray
    sigma2: float
    V: np.ndarray
    s2: np.ndarray
    elbo_trace: np.ndarray


def _adam(grad_fn, params, n_steps, lr, b1=0.9, b2=0.999, eps=1e-8):
    # Adam (Kingma and Ba 2015) ascending an objective; grad_fn(params, t) -> (value, grad)
    zeros = jax.tree_util.tree_map(jnp.zeros_like, params)

    def step(carry, t):
        p, m1, m2 = carry
        value, g = grad_fn(p, t)
        m1 = jax.tree_util.tree_map(lambda a, b: b1 * a + (1 - b1) * b, m1, g)
        m2 = jax.tree_util.tree_map(
            lambda a, b: b2 * a + (1 - b2) * b * b, m2, g
        )
        c1, c2 = 1 - b1 ** (t + 1.0), 1 - b2 ** (t + 1.0)
        p = jax.tree_util.tree_map(
            lambda a, u, v: a + lr * (u / c1) / (jnp.sqrt(v / c2) + eps),
            p,
            m1,
            m2,
        )
        return (p, m1, m2), value

    (params, _, _), trace = jax.lax.scan(
        step, (params, zeros, zeros), jnp.arange(n_steps)
    )
    return params, trace


def fit_linear_vae(
    x, k, n_steps=3000, lr=0.01, seed=0, decoder=None, polish=False
):
    """Fit the linear VAE by Adam on its exact ELBO :eq:`am-linear-elbo` (full batch).

    Parameters
    ----------
    x : array of shape (n, d)
    k : int, 1 <= k < d
    n_steps : int
    lr : float
        Adam's step size.
    seed : int
        The start: ``W`` and ``V`` with independent ``N(0, 0.1^2)`` entries, ``mu`` the mean of
        ``x``, ``sigma2 = 1``, ``s2 = 1``.
    decoder : None or tuple (W, mu, sigma2)
        If given, the decoder is held there and only the encoder ``(V, s2)`` is fitted.
    polish : bool
        After Adam, run BFGS (``scipy.optimize.minimize``, JAX's gradient) to convergence;
        ``elbo_trace`` then ends with BFGS's value.

    Returns
    -------
    LinearVaeFit
    """
    x = _check_x(x)
    n, d = x.shape
    k = _check_k(k, d)
    n_steps = check_int(n_steps, "n_steps", 1)
    lr = check_positive(lr, "lr")
    k1, k2 = jax.random.split(key(seed))
    params = {
        "W": 0.1 * jax.random.normal(k1, (d, k)),
        "mu": jnp.asarray(x.mean(axis=0)),
        "log_sigma2": jnp.asarray(0.0),
        "V": 0.1 * jax.random.normal(k2, (k, d)),
        "log_s2": jnp.zeros(k),
    }
    fixed = None
    if decoder is not None:
        if not isinstance(decoder, tuple) or len(decoder) != 3:
            raise TypeError("decoder must be a tuple (W, mu, sigma2)")
        _, W0, mu0, s0 = _check_ppca(x, *decoder)
        if W0.shape != (d, k):
            raise ValueError(f"decoder: W must have shape ({d}, {k})")
        fixed = (jnp.asarray(W0), jnp.asarray(mu0), jnp.log(s0))
    xj = jnp.asarray(x)

    def objective(p):
        W, mu, log_sigma2 = (
            (p["W"], p["mu"], p["log_sigma2"]) if fixed is None else fixed
        )
        elbo = _linear_elbo(xj, W, mu, log_sigma2, p["V"], p["log_s2"])
        return jnp.sum(elbo) / n

    vg = jax.value_and_grad(objective)
    params, trace = jax.jit(
        lambda p: _adam(lambda q, t: vg(q), p, n_steps, lr)
    )(params)
    trace = np.asarray(trace)
    if polish:
        flat, unravel = ravel_pytree(params)
        fg = jax.jit(jax.value_and_grad(lambda f: -objective(unravel(f))))

        def fun(f):
            v, g = fg(f)
            return float(v), np.asarray(g)

        res = optimize.minimize(
            fun,
            np.asarray(flat),
            jac=True,
            method="BFGS",
            options={"gtol": 1e-10, "maxiter": 20000},
        )
        params = unravel(jnp.asarray(res.x))
        trace = np.append(trace, -res.fun)
    if fixed is not None:
        params = dict(params, W=fixed[0], mu=fixed[1], log_sigma2=fixed[2])
    return LinearVaeFit(
        np.asarray(params["W"]),
        np.asarray(params["mu"]),
        float(np.exp(params["log_sigma2"])),
        np.asarray(params["V"]),
        np.exp(np.asarray(params["log_s2"])),
        np.asarray(trace) * n,
    )


@dataclass(frozen=True)
class Gaps:
    """The split :eq:`am-gap-split`, each summed over the data: ``log_px`` the exact
    log-likelihood, ``best`` the ELBO of the best diagonal Gaussian for each point,
    ``encoder`` the encoder's ELBO; ``approximation = log_px - best``,
    ``amortisation = best - encoder``."""

    log_px: float
    best: float
    encoder: float
    approximation: float
    amortisation: float


def linear_gaps(x, W, mu, sigma2, V, s2):
    """Exact approximation and amortisation gaps of the linear VAE -- eq. :eq:`am-gap-split`.

    The best diagonal Gaussian for each ``x_i`` under the pPCA posterior ``N(m_i, Sigma)`` has
    mean ``m_i`` and variances ``1 / diag(Sigma^{-1})`` (the reverse-KL optimum of chapter 3);
    its ELBO is ``log p(x_i)`` minus that KL.  Arguments as :func:`linear_vae_elbo`.

    Returns
    -------
    Gaps
    """
    x, W, mu, sigma2, V, s2 = _check_linear(x, W, mu, sigma2, V, s2)
    log_px = ppca_log_likelihood(x, W, mu, sigma2)
    prec = (
        W.T @ W + sigma2 * np.eye(W.shape[1])
    ) / sigma2  # eq. am-ppca-posterior
    cov = np.linalg.inv(prec)
    # KL(N(m, diag(1/prec_jj)) || N(m, cov)) per point, the same for every point
    k = W.shape[1]
    diag = np.diag(prec)
    kl = 0.5 * (
        np.sum(np.log(diag))
        + np.linalg.slogdet(cov)[1]
        + np.sum(diag / diag)
        - k
    )
    n = x.shape[0]
    best = log_px - n * kl
    encoder = float(np.sum(linear_vae_elbo(x, W, mu, sigma2, V, s2)))
    return Gaps(log_px, best, encoder, log_px - best, best - encoder)


# --------------------------------------------------------------------------------------------
# the reparameterised ELBO with automatic differentiation


def reparam_elbo(log_joint, m, L, eps):
    """Reparameterised Monte Carlo ELBO of ``q = N(m, L L^T)`` -- eq. :eq:`bc-reparam`.

    ``mean_s log_joint(m + L eps_s) + H[q]`` with ``H[q] = sum log L_ii + M/2 (1 + log 2 pi)``.
    ``log_joint`` maps an ``(S, M)`` JAX array to ``(S,)``; the function is differentiable in
    ``m`` and ``L`` by ``jax.grad``, the gradient that chapter 8 wrote out by hand.
    """
    W = m + eps @ L.T
    M = m.shape[0]
    entropy = jnp.sum(jnp.log(jnp.diag(L))) + 0.5 * M * (1.0 + _LOG_2PI)
    return jnp.mean(log_joint(W)) + entropy


# --------------------------------------------------------------------------------------------
# a VAE with a Binomial likelihood


def _dense_init(k, n_in, n_out):
    # Glorot-style uniform initialisation
    lim = np.sqrt(6.0 / (n_in + n_out))
    return {
        "w": jax.random.uniform(k, (n_in, n_out), minval=-lim, maxval=lim),
        "b": jnp.zeros(n_out),
    }


def vae_init(d, k, hidden, seed=0):
    """Parameters of a VAE with one ``tanh`` hidden layer of width ``hidden`` in the encoder
    (``d -> hidden -> (mean, log variance)`` of a ``k``-dimensional diagonal Gaussian) and in
    the decoder (``k -> hidden -> d`` logits of a Binomial per pixel)."""
    d = check_int(d, "d", 1)
    k = check_int(k, "k", 1)
    hidden = check_int(hidden, "hidden", 1)
    ks = jax.random.split(key(seed), 4)
    return {
        "enc1": _dense_init(ks[0], d, hidden),
        "enc2": _dense_init(ks[1], hidden, 2 * k),
        "dec1": _dense_init(ks[2], k, hidden),
        "dec2": _dense_init(ks[3], hidden, d),
    }


def _layer(p, h):
    return h @ p["w"] + p["b"]


def _encode(params, x, n_trials):
    h = jnp.tanh(_layer(params["enc1"], x / n_trials))
    out = _layer(params["enc2"], h)
    k = out.shape[-1] // 2
    return out[..., :k], out[..., k:]


def _decode(params, z):
    return _layer(params["dec2"], jnp.tanh(_layer(params["dec1"], z)))


def _log_binom(x, logits, n_trials):
    # log Binomial(x | n_trials, sigmoid(logits)), summed over the last axis
    log_c = (
        gammaln(n_trials + 1.0)
        - gammaln(x + 1.0)
        - gammaln(n_trials - x + 1.0)
    )
    return jnp.sum(
        log_c
        + x * jax.nn.log_sigmoid(logits)
        + (n_trials - x) * jax.nn.log_sigmoid(-logits),
        axis=-1,
    )


def _log_normal(z, m, log_v):
    return -0.5 * jnp.sum(
        _LOG_2PI + log_v + (z - m) ** 2 / jnp.exp(log_v), axis=-1
    )


def _vae_terms(params, x, k, n_trials):
    # eq. am-vae-elbo per row: (expected log-likelihood by one draw, KL in closed form)
    m, log_v = _encode(params, x, n_trials)
    z = m + jnp.exp(0.5 * log_v) * jax.random.normal(k, m.shape)
    rec = _log_binom(x, _decode(params, z), n_trials)
    kl = 0.5 * jnp.sum(jnp.exp(log_v) + m**2 - 1.0 - log_v, axis=-1)
    return rec, kl


def _check_params(params):
    if not isinstance(params, dict) or set(params) != {
        "enc1",
        "enc2",
        "dec1",
        "dec2",
    }:
        raise TypeError("params must be the dict returned by vae_init")
    return params


def _check_counts(x, n_trials):
    x = _check_x(x)
    n_trials = check_int(n_trials, "n_trials", 1)
    if np.any(x < 0) or np.any(x > n_trials) or np.any(x != np.round(x)):
        raise ValueError(f"x must hold integers in 0..{n_trials}")
    return x, n_trials


def vae_elbo(params, x, n_trials=16, n_draws=1, seed=0):
    """Monte Carlo ELBO of the VAE per row -- eq. :eq:`am-vae-elbo`: the expected
    log-likelihood by ``n_draws`` reparameterised draws, the KL to ``N(0, I)`` exactly.

    Returns
    -------
    elbo, kl : arrays of shape (n,)
    """
    params = _check_params(params)
    x, n_trials = _check_counts(x, n_trials)
    n_draws = check_int(n_draws, "n_draws", 1)
    ks = jax.random.split(key(seed), n_draws)
    xj = jnp.asarray(x)
    rec, kl = jax.vmap(lambda k: _vae_terms(params, xj, k, n_trials))(ks)
    return np.asarray(jnp.mean(rec, axis=0) - kl[0]), np.asarray(kl[0])


@partial(jax.jit, static_argnums=(5, 6, 7))
def _train_vae(params, xj, k_run, beta, lr, n_steps, batch_size, n_trials):
    n = xj.shape[0]

    def grad_fn(p, t):
        kb, kz = jax.random.split(jax.random.fold_in(k_run, t))
        idx = jax.random.choice(kb, n, (batch_size,), replace=False)

        def loss(q):
            rec, kl = _vae_terms(q, xj[idx], kz, n_trials)
            return jnp.mean(rec - beta * kl), (
                jnp.mean(rec - kl),
                jnp.mean(kl),
            )

        (_, aux), g = jax.value_and_grad(loss, has_aux=True)(p)
        return aux, g

    return _adam(grad_fn, params, n_steps, lr)


@dataclass(frozen=True)
class VaeFit:
    """Output of :func:`fit_vae`: ``params``; ``elbo_trace`` and ``kl_trace``, the minibatch
    ELBO and KL per datum at each step (the ELBO with the KL at weight one whatever ``beta``)."""

    params: dict
    elbo_trace: np.ndarray
    kl_trace: np.ndarray


def fit_vae(
    x,
    k,
    hidden,
    n_steps=2000,
    batch_size=100,
    lr=3e-3,
    beta=1.0,
    n_trials=16,
    seed=0,
):
    """Train the VAE by Adam on minibatches of the reparameterised ELBO :eq:`am-vae-elbo`
    (Kingma and Welling 2014), one draw per datum, the KL weighted by ``beta``
    (``beta = 1`` is the ELBO).  The whole loop is one compiled ``jax.lax.scan``.

    Returns
    -------
    VaeFit
    """
    x, n_trials = _check_counts(x, n_trials)
    n, d = x.shape
    k = check_int(k, "k", 1)
    n_steps = check_int(n_steps, "n_steps", 1)
    batch_size = check_int(batch_size, "batch_size", 1)
    if batch_size > n:
        raise ValueError(f"batch_size must be <= n = {n}, got {batch_size}")
    lr = check_positive(lr, "lr")
    beta = float(beta)
    if not beta >= 0:
        raise ValueError(f"beta must be >= 0, got {beta}")
    k_init, k_run = jax.random.split(key(seed))
    params = vae_init(
        d, k, hidden, seed=int(jax.random.randint(k_init, (), 0, 2**30))
    )
    params, (elbo_tr, kl_tr) = _train_vae(
        params, jnp.asarray(x), k_run, beta, lr, n_steps, batch_size, n_trials
    )
    return VaeFit(params, np.asarray(elbo_tr), np.asarray(kl_tr))


def vae_encode(params, x, n_trials=16):
    """The encoder's mean and variance of ``q(z | x)``, arrays of shape (n, k)."""
    params = _check_params(params)
    x, n_trials = _check_counts(x, n_trials)
    m, log_v = _encode(params, jnp.asarray(x), n_trials)
    return np.asarray(m), np.exp(np.asarray(log_v))


def _log_weights(params, x, m, log_v, kz, n_samples, n_trials):
    eps = jax.random.normal(kz, (n_samples,) + m.shape)
    z = m + jnp.exp(0.5 * log_v) * eps  # (S, n, k)
    log_q = _log_normal(z, m, log_v)
    log_prior = _log_normal(z, 0.0, jnp.zeros_like(z))
    log_lik = _log_binom(x, _decode(params, z), n_trials)
    return (log_lik + log_prior - log_q).T  # (n, S)


_log_weights_jit = jax.jit(_log_weights, static_argnums=(5, 6))


def vae_log_weights(params, x, n_samples, n_trials=16, seed=0, m=None, v=None):
    """Log importance weights ``log p(x_i, z_s) - log q(z_s | x_i)``, ``z_s ~ q(z | x_i)``,
    an array of shape (n, n_samples): chapter 9's
    :func:`~vitutor.diagnostics.importance_weighted_bound` along the last axis gives
    ``IWAE_S`` :eq:`dg-iwae` for each row, their mean over ``S = 1`` draws the ELBO.  The
    proposal is the encoder, or ``N(m, diag(v))`` when ``m`` and ``v`` are given."""
    params = _check_params(params)
    x, n_trials = _check_counts(x, n_trials)
    n_samples = check_int(n_samples, "n_samples", 1)
    xj = jnp.asarray(x)
    if m is None:
        mj, log_v = _encode(params, xj, n_trials)
    else:
        mj, log_v = jnp.asarray(m), jnp.log(jnp.asarray(v))
    return np.asarray(
        _log_weights_jit(params, xj, mj, log_v, key(seed), n_samples, n_trials)
    )


@partial(jax.jit, static_argnums=(4, 5, 6))
def _local(params, xj, k0, lr, n_steps, n_draws, n_trials):
    m0, lv0 = _encode(params, xj, n_trials)

    def grad_fn(loc, t):
        kz = jax.random.fold_in(k0, t)

        def obj(q):
            lw = _log_weights(
                params, xj, q["m"], q["log_v"], kz, n_draws, n_trials
            )
            return jnp.sum(jnp.mean(lw, axis=1))

        return jax.value_and_grad(obj)(loc)

    loc, _ = _adam(grad_fn, {"m": m0, "log_v": lv0}, n_steps, lr)
    return loc


def optimise_local(
    params, x, n_steps=500, n_draws=16, lr=0.02, n_trials=16, seed=0
):
    """The best diagonal Gaussian ``q_i(z)`` for each row with the decoder fixed: Adam on
    each point's own ``(m_i, log v_i)``, from the encoder's output, on the reparameterised
    ELBO with ``n_draws`` draws per step.  Its ELBO minus the encoder's estimates the
    amortisation gap :eq:`am-gap-split`.

    Returns
    -------
    m, v : arrays of shape (n, k)
    """
    params = _check_params(params)
    x, n_trials = _check_counts(x, n_trials)
    n_steps = check_int(n_steps, "n_steps", 1)
    n_draws = check_int(n_draws, "n_draws", 1)
    lr = check_positive(lr, "lr")
    xj = jnp.asarray(x)
    loc = _local(params, xj, key(seed), lr, n_steps, n_draws, n_trials)
    return np.asarray(loc["m"]), np.exp(np.asarray(loc["log_v"]))


def vae_decode_mean(params, z, n_trials=16):
    """The decoder's mean ``n_trials * sigmoid(logits)`` at latent points ``z`` (n, k)."""
    params = _check_params(params)
    z = check_data(z, "z", ndim=2, min_len=1)
    n_trials = check_int(n_trials, "n_trials", 1)
    return np.asarray(
        n_trials * jax.nn.sigmoid(_decode(params, jnp.asarray(z)))
    )


def vae_sample(params, n, k, n_trials=16, seed=0):
    """``n`` draws from the model: ``z ~ N(0, I_k)``, ``x ~ Binomial(n_trials, p(z))``;
    returns ``(z, x)``."""
    params = _check_params(params)
    n = check_int(n, "n", 1)
    k = check_int(k, "k", 1)
    n_trials = check_int(n_trials, "n_trials", 1)
    kz, kx = jax.random.split(key(seed))
    z = jax.random.normal(kz, (n, k))
    p = jax.nn.sigmoid(_decode(params, z))
    x = jax.random.binomial(kx, n_trials, p)
    return np.asarray(z), np.asarray(x)
