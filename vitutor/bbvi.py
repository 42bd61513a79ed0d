"""Black-box variational inference with a Gaussian ``q`` -- chapter 8.

Generic: a model enters only through two callables on an ``(S, M)`` array of parameter draws,
``log_joint(W) -> (S,)`` and, for the reparameterisation estimator, ``grad_log_joint(W) -> (S, M)``.
This module imports no model module.

``q(w) = N(m, L L^T)`` with ``L`` lower triangular with a positive diagonal (full rank), or
diagonal (mean-field). Its ELBO is ``E_q[log p(t, w)] + H[q]`` with
``H[q] = sum_i log L_ii + M/2 (1 + log 2 pi)``. Two unbiased Monte Carlo estimators of its
gradient in ``(m, L)``:

* the score-function estimator :eq:`bc-score` (Ranganath et al. 2014), which needs only
  ``log_joint``, optionally with a leave-one-out baseline as control variate
  :eq:`bc-control-variate`;
* the reparameterisation estimator :eq:`bc-reparam` (Kingma and Welling 2014), which writes
  ``w = m + L eps`` with ``eps ~ N(0, I)`` and differentiates through the draw.

:func:`fit` maximises the ELBO with the reparameterisation gradient and Adam steps, as ADVI does
(Kucukelbir et al. 2017) on an unconstrained parameterisation (``log L_ii``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ._validate import (
    MAX_ELEMENTS,
    check_bool,
    check_data,
    check_elements,
    check_finite_array,
    check_int,
    check_positive,
    check_returned,
    check_seed,
)

__all__ = [
    "gaussian_entropy",
    "reparam_gradient",
    "score_gradient",
    "BbviResult",
    "fit",
]

_LOG_2PI = float(np.log(2.0 * np.pi))


def _check_q(m, L, mean_field=False, names=("m", "L")):
    m = check_data(m, names[0])
    L = check_finite_array(L, names[1])
    M = m.size
    n_L = names[1]
    if L.shape != (M, M):
        raise ValueError(
            f"{n_L} must have shape {(M, M)} (the length of {names[0]}), got {L.shape}"
        )
    if np.any(np.triu(L, 1) != 0):
        raise ValueError(f"{n_L} must be lower triangular")
    if np.any(np.diag(L) <= 0):
        raise ValueError(f"{n_L} must have a positive diagonal")
    if mean_field and np.any(np.tril(L, -1) != 0):
        raise ValueError(f"{n_L} must be diagonal for a mean-field q")
    return m, L


def _check_callable(f, name):
    if not callable(f):
        raise TypeError(f"{name} must be callable, got {type(f).__name__}")
    return f


def gaussian_entropy(L):
    """``H[N(m, L L^T)] = sum_i log L_ii + M/2 (1 + log 2 pi)``.

    ``L`` is a lower-triangular ``(M, M)`` Cholesky factor with a positive diagonal.
    """
    L = check_finite_array(L, "L")
    if L.ndim != 2 or L.shape[0] != L.shape[1] or L.shape[0] < 1:
        raise ValueError(f"L must be a square matrix, got shape {L.shape}")
    _, L = _check_q(np.zeros(L.shape[0]), L)
    return _entropy(L)


def _entropy(L):
    d = np.diag(L)
    return float(np.sum(np.log(d)) + 0.5 * d.size * (1.0 + _LOG_2PI))


def _check_n_samples(n_samples, M, minimum, max_elements):
    n_samples = check_int(n_samples, "n_samples", minimum)
    # the draws, eps and the model's gradients: three (n_samples, M) arrays
    check_elements(
        3 * n_samples * M, f"n_samples = {n_samples} draws", max_elements
    )
    return n_samples


def _evaluate(f, W, name, shape, when=""):
    """``f(W)`` as a float array of the stated shape, finite (else an error naming ``f`` and,
    in :func:`fit`, the step)."""
    try:
        out = check_returned(
            f(W), name, "its values at draws from q", None, when
        )
    except ValueError as err:  # NaN or inf
        raise ValueError(
            f"{err} (is q far outside the model's support, or the step size too large?)"
        ) from None
    if out.shape != shape:
        raise ValueError(
            f"{name} must return an array of shape {shape} for draws of shape {W.shape}, "
            f"got {out.shape}{when}"
        )
    return out


def _draw(m, L, n_samples, rng):
    eps = rng.standard_normal((n_samples, m.size))
    return eps, m + eps @ L.T


def _mask(L, mean_field):
    return np.diag(np.diag(L)) if mean_field else np.tril(L)


def _reparam(G, eps, L, mean_field):
    # grad_m = mean_s g_s, grad_L = tril(mean_s g_s eps_s^T) + diag(1 / L_ii)    eq. (bc-reparam)
    grad_L = G.T @ eps / G.shape[0] + np.diag(1.0 / np.diag(L))
    return G.mean(axis=0), _mask(grad_L, mean_field)


def reparam_gradient(
    grad_log_joint,
    m,
    L,
    n_samples,
    seed=None,
    mean_field=False,
    max_elements=MAX_ELEMENTS,
):
    """Reparameterisation estimate of the ELBO gradient in ``(m, L)`` -- eq. :eq:`bc-reparam`.

    With ``w_s = m + L eps_s``, ``g_s = grad log p(t, w_s)``:
    ``grad_m = mean_s g_s`` and ``grad_L = tril(mean_s g_s eps_s^T) + diag(1 / L_ii)``, the last
    term being the exact gradient of the entropy. With ``mean_field=True`` only the diagonal of
    ``grad_L`` is returned (the off-diagonal entries are not free).

    Parameters
    ----------
    grad_log_joint : callable
        ``(S, M)`` draws to ``(S, M)`` gradients of ``log p(t, w)``.
    m : array of shape (M,)
    L : array of shape (M, M)
        Lower-triangular Cholesky factor of the covariance of ``q``.
    n_samples : int
        Number of draws ``S >= 1``; ``3 S M`` numbers are allocated, at most ``max_elements``.
    seed : None, int or numpy.random.Generator

    Returns
    -------
    grad_m : array of shape (M,)
    grad_L : array of shape (M, M), lower triangular
    """
    _check_callable(grad_log_joint, "grad_log_joint")
    mean_field = check_bool(mean_field, "mean_field")
    m, L = _check_q(m, L, mean_field)
    n_samples = _check_n_samples(n_samples, m.size, 1, max_elements)
    eps, W = _draw(m, L, n_samples, check_seed(seed))
    G = _evaluate(grad_log_joint, W, "grad_log_joint", W.shape)
    return _reparam(G, eps, L, mean_field)


def score_gradient(
    log_joint,
    m,
    L,
    n_samples,
    seed=None,
    control_variate=False,
    mean_field=False,
    max_elements=MAX_ELEMENTS,
):
    """Score-function estimate of the ELBO gradient in ``(m, L)`` -- eq. :eq:`bc-score`.

    ``mean_s grad log q(w_s) (log p(t, w_s) - log q(w_s))`` with, for ``eps = L^-1 (w - m)``,
    ``grad_m log q = L^-T eps`` and ``grad_L log q = tril(L^-T eps eps^T) - diag(1 / L_ii)``.
    With ``control_variate=True`` each draw's weight has the mean of the *other* draws' weights
    subtracted (a leave-one-out baseline, eq. :eq:`bc-control-variate`), which keeps the estimate
    unbiased because ``E_q[grad log q] = 0`` and the baseline is independent of the draw;
    it needs ``n_samples >= 2``.  ``3 n_samples M`` numbers are allocated, at most
    ``max_elements``.

    Returns
    -------
    grad_m : array of shape (M,)
    grad_L : array of shape (M, M), lower triangular
    """
    _check_callable(log_joint, "log_joint")
    mean_field = check_bool(mean_field, "mean_field")
    m, L = _check_q(m, L, mean_field)
    control_variate = check_bool(control_variate, "control_variate")
    n_samples = _check_n_samples(
        n_samples, m.size, 2 if control_variate else 1, max_elements
    )
    eps, W = _draw(m, L, n_samples, check_seed(seed))
    log_q = (
        -0.5 * m.size * _LOG_2PI
        - np.sum(np.log(np.diag(L)))
        - 0.5 * np.sum(eps**2, axis=1)
    )
    f = _evaluate(log_joint, W, "log_joint", (n_samples,)) - log_q
    if control_variate:
        f = f - (f.sum() - f) / (n_samples - 1)
    U = np.linalg.solve(L.T, eps.T).T  # rows L^-T eps_s
    grad_m = U.T @ f / n_samples
    grad_L = (U * f[:, None]).T @ eps / n_samples - np.mean(f) * np.diag(
        1.0 / np.diag(L)
    )
    return grad_m, _mask(grad_L, mean_field)


@dataclass(frozen=True)
class BbviResult:
    """Output of :func:`fit`: the averaged ``q = N(m, L L^T)`` and the Monte Carlo ELBO of each
    step.
    """

    m: np.ndarray
    L: np.ndarray
    elbo_trace: np.ndarray
    n_steps: int
    mean_field: bool

    @property
    def cov(self):
        """``L L^T``."""
        return self.L @ self.L.T


def fit(
    log_joint,
    grad_log_joint,
    m0,
    L0,
    n_steps,
    n_samples=1,
    step_size=0.05,
    mean_field=False,
    seed=None,
    average_last=0.5,
    max_elements=MAX_ELEMENTS,
):
    """Maximise the ELBO over Gaussian ``q`` with the reparameterisation gradient :eq:`bc-reparam`
    and Adam.

    The free parameters are ``m``, ``log L_ii`` and, unless ``mean_field``, the entries of ``L``
    below the diagonal; the gradient in ``log L_ii`` is ``L_ii grad_{L_ii}``. Adam (beta1 = 0.9,
    beta2 = 0.999) takes steps of size ``step_size``; the returned ``q`` averages the parameters
    over the last ``average_last`` fraction of the steps (Polyak--Ruppert averaging), which removes
    most of the noise a constant step leaves.  The trace holds one number per step and each
    step ``3 n_samples M``: ``n_steps`` and ``n_samples`` are capped by ``max_elements``.

    Returns
    -------
    BbviResult
        ``elbo_trace[k]`` is the Monte Carlo ELBO estimate ``mean_s log p(t, w_s) + H[q]`` of step
        ``k``.
    """
    _check_callable(log_joint, "log_joint")
    _check_callable(grad_log_joint, "grad_log_joint")
    mean_field = check_bool(mean_field, "mean_field")
    m, L = _check_q(m0, L0, mean_field, ("m0", "L0"))
    n_steps = check_int(n_steps, "n_steps", 1)
    check_elements(n_steps, f"n_steps = {n_steps}", max_elements)
    n_samples = _check_n_samples(n_samples, m.size, 1, max_elements)
    step_size = check_positive(step_size, "step_size")
    average_last = check_positive(average_last, "average_last")
    if average_last > 1:
        raise ValueError(f"average_last must be in (0, 1], got {average_last}")
    rng = check_seed(seed)
    M = m.size
    low = np.tril_indices(M, -1)
    theta = np.concatenate(
        [m, np.log(np.diag(L)), [] if mean_field else L[low]]
    )

    def unpack(th):
        Lk = np.diag(np.exp(th[M : 2 * M]))
        if not mean_field:
            Lk[low] = th[2 * M :]
        return th[:M], Lk

    mom, vel = np.zeros_like(theta), np.zeros_like(theta)
    start = n_steps - max(1, int(round(average_last * n_steps)))
    total, trace = np.zeros_like(theta), np.empty(n_steps)
    for k in range(n_steps):
        mk, Lk = unpack(theta)
        eps, W = _draw(mk, Lk, n_samples, rng)
        when = f" at step {k + 1}"
        G = _evaluate(grad_log_joint, W, "grad_log_joint", W.shape, when)
        trace[k] = np.mean(
            _evaluate(log_joint, W, "log_joint", (n_samples,), when)
        ) + _entropy(Lk)
        grad_m, grad_L = _reparam(G, eps, Lk, mean_field)
        grad = np.concatenate(
            [
                grad_m,
                np.diag(Lk) * np.diag(grad_L),
                [] if mean_field else grad_L[low],
            ]
        )
        mom = 0.9 * mom + 0.1 * grad
        vel = 0.999 * vel + 0.001 * grad**2
        theta = theta + step_size * (mom / (1 - 0.9 ** (k + 1))) / (
            np.sqrt(vel / (1 - 0.999 ** (k + 1))) + 1e-8
        )
        if k >= start:
            total += theta
    m_avg, L_avg = unpack(total / (n_steps - start))
    return BbviResult(m_avg, L_avg, trace, n_steps, bool(mean_field))
