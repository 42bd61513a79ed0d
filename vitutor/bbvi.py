"""Black-box variational inference with a Gaussian ``q`` -- chapter 8.

Generic: a model enters only through callables on an ``(S, M)`` array of parameter draws,
``log_joint(W) -> (S,)``, for the pathwise estimators ``grad_log_joint(W) -> (S, M)``, and for
Rao--Blackwellisation ``blanket_log_joint(W) -> (S, M)``. This module imports no model module.

``q(w) = N(m, L L^T)`` with ``L`` lower triangular with a positive diagonal (full rank), or
diagonal (mean-field). Its ELBO is ``E_q[log p(t, w)] + H[q]`` with
``H[q] = sum_i log L_ii + M/2 (1 + log 2 pi)``. Unbiased Monte Carlo estimators of its
gradient in ``(m, L)``:

* the score-function estimator :eq:`bc-score` (Ranganath et al. 2014), which needs only
  ``log_joint``, optionally with a control variate: a leave-one-out baseline
  :eq:`bc-control-variate`, or Ranganath et al.'s scaled score ``a* grad log q`` with
  ``a* = Cov / Var`` per coordinate :eq:`bc-scaled-cv`;
* its Rao--Blackwellised form for a mean-field ``q`` :eq:`bc-rao-blackwell`, which weights each
  coordinate's score by the terms of ``log p`` in that coordinate's Markov blanket;
* the reparameterisation estimator :eq:`bc-reparam` (Kingma and Welling 2014), which writes
  ``w = m + L eps`` with ``eps ~ N(0, I)`` and differentiates through the draw;
* the path-derivative estimator :eq:`bc-path` (Roeder et al. 2017), the reparameterisation
  estimator without the score term of the entropy, whose variance vanishes where ``q`` equals
  the posterior.

:func:`fit` maximises the ELBO with any of them and Adam or plain stochastic-gradient steps, on a
constant or Robbins--Monro schedule (chapter 9), in ``(m, log L_ii, L_i>j)``: for a mean-field
``q`` these are the ADVI coordinates ``(mu, omega = log sigma)`` of Kucukelbir et al. (2017);
their full-rank ADVI instead takes every entry of ``L`` unconstrained (a diagonal of either sign,
``H[q]`` through ``log |L_ii|``), which describes the same Gaussians in other coordinates.
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
    check_nonnegative,
    check_positive,
    check_returned,
    check_seed,
)

__all__ = [
    "gaussian_entropy",
    "reparam_gradient",
    "path_gradient",
    "score_gradient",
    "rao_blackwell_gradient",
    "ESTIMATORS",
    "BbviResult",
    "fit",
]

#: The gradient estimators :func:`fit` can follow.
ESTIMATORS = ("reparam", "path", "score", "rao-blackwell")

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


def _path(G, eps, L, mean_field):
    # g_s = grad log p(w_s) - grad_w log q(w_s) = grad log p(w_s) + L^-T eps_s,
    # grad_m = mean_s g_s, grad_L = tril(mean_s g_s eps_s^T)                      eq. (bc-path)
    D = G + np.linalg.solve(L.T, eps.T).T
    return D.mean(axis=0), _mask(D.T @ eps / G.shape[0], mean_field)


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


def path_gradient(
    grad_log_joint,
    m,
    L,
    n_samples,
    seed=None,
    mean_field=False,
    max_elements=MAX_ELEMENTS,
):
    """Path-derivative ("sticking the landing") estimate of the ELBO gradient -- eq.
    :eq:`bc-path` (Roeder, Wu and Duvenaud 2017).

    The reparameterised ELBO ``E_eps[log p(t, w) - log q(w | m, L)]`` at ``w = m + L eps`` has a
    total derivative with two parts: the path through ``w`` and the score
    ``grad_{m, L} log q(w | m, L)`` at fixed ``w``, whose expectation is zero.  This estimator
    keeps only the path: with ``g_s = grad log p(t, w_s) + L^-T eps_s`` (``L^-T eps_s`` is
    ``-grad_w log q(w_s)``), ``grad_m = mean_s g_s`` and ``grad_L = tril(mean_s g_s eps_s^T)``.
    It is unbiased, and where ``q`` equals the posterior ``g_s = 0`` for every draw, so its
    variance is zero there; :func:`reparam_gradient`, which takes the entropy's gradient
    exactly instead, keeps a variance at that point.  Arguments and returns as
    :func:`reparam_gradient`.
    """
    _check_callable(grad_log_joint, "grad_log_joint")
    mean_field = check_bool(mean_field, "mean_field")
    m, L = _check_q(m, L, mean_field)
    n_samples = _check_n_samples(n_samples, m.size, 1, max_elements)
    eps, W = _draw(m, L, n_samples, check_seed(seed))
    G = _evaluate(grad_log_joint, W, "grad_log_joint", W.shape)
    return _path(G, eps, L, mean_field)


def _check_control_variate(control_variate):
    expected = "False, True (the same as 'baseline') or 'scaled'"
    if isinstance(control_variate, (bool, np.bool_)):
        return "baseline" if control_variate else False
    if not isinstance(control_variate, str):
        raise TypeError(
            f"control_variate must be {expected}, got "
            f"{type(control_variate).__name__} {control_variate!r}"
        )
    if control_variate not in ("baseline", "scaled"):
        raise ValueError(
            f"control_variate must be {expected}, got {control_variate!r}"
        )
    return control_variate


def _free_index(M, mean_field):
    """Rows and columns of the free entries of ``L``: its diagonal, or its lower triangle."""
    return (np.arange(M), np.arange(M)) if mean_field else np.tril_indices(M)


def _score_terms(eps, L, mean_field):
    """Per-draw scores ``h_s = grad log q(w_s)`` in the free parameters, ``(S, D)``:
    ``grad_m log q = L^-T eps`` and ``grad_L log q = tril(L^-T eps eps^T) - diag(1 / L_ii)``
    -- eq. :eq:`bc-score`."""
    U = np.linalg.solve(L.T, eps.T).T  # rows L^-T eps_s
    rows, cols = _free_index(L.shape[0], mean_field)
    H_L = U[:, rows] * eps[:, cols] - np.where(
        rows == cols, 1.0 / np.diag(L)[rows], 0.0
    )
    return np.hstack([U, H_L])


def _score_estimate(H, F, control_variate):
    """``mean_s h_s f_s`` per free parameter, ``H`` and ``F`` of shape ``(S, D)``, with a
    control variate built from the other draws only, so that it stays unbiased."""
    S = H.shape[0]
    if control_variate == "baseline":
        # f_s - mean of the other draws' f                          eq. (bc-control-variate)
        F = F - (F.sum(axis=0) - F) / (S - 1)
    G = H * F
    if control_variate == "scaled":
        # a*_d = E[h_d^2 f_d] / E[h_d^2] = Cov(h_d f_d, h_d) / Var(h_d), as E[h_d] = 0,
        # from the other S - 1 draws                                    eq. (bc-scaled-cv)
        GH, HH = G * H, H * H
        num, den = GH.sum(axis=0) - GH, HH.sum(axis=0) - HH
        a = np.divide(num, den, out=np.zeros_like(num), where=den > 0)
        G = G - a * H
    return G.mean(axis=0)


def _unpack(est, M, mean_field):
    grad_L = np.zeros((M, M))
    grad_L[_free_index(M, mean_field)] = est[M:]
    return est[:M], grad_L


def _n_free(M, mean_field):
    return M + (M if mean_field else M * (M + 1) // 2)


def _check_score_samples(
    n_samples, M, mean_field, control_variate, max_elements
):
    n_samples = check_int(n_samples, "n_samples", 1)
    control_variate = _check_control_variate(control_variate)
    if control_variate and n_samples < 2:
        raise ValueError(
            f"n_samples must be >= 2 with control_variate = "
            f"{control_variate!r}, got {n_samples}"
        )
    # eps, the draws and U, (S, M); H, F and their products, (S, D)
    check_elements(
        n_samples * (3 * M + 6 * _n_free(M, mean_field)),
        f"n_samples = {n_samples} draws",
        max_elements,
    )
    return n_samples, control_variate


def _log_q_terms(eps, L):
    """``log q_i(w_i)`` per coordinate, ``(S, M)``: for a diagonal ``L`` the log densities of
    the factors, for any ``L`` terms that sum to ``log q(w)``."""
    return -0.5 * _LOG_2PI - np.log(np.diag(L)) - 0.5 * eps**2


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

    ``mean_s grad log q(w_s) f_s`` with ``f_s = log p(t, w_s) - log q(w_s)`` and, for
    ``eps = L^-1 (w - m)``, ``grad_m log q = L^-T eps`` and
    ``grad_L log q = tril(L^-T eps eps^T) - diag(1 / L_ii)``.  Because
    ``E_q[grad log q] = 0``, a multiple of the score can be subtracted without bias as long as
    the multiplier does not depend on the draw it multiplies:

    * ``control_variate='baseline'`` (or ``True``): each ``f_s`` has the mean of the *other*
      draws' ``f`` subtracted, eq. :eq:`bc-control-variate` (needs ``n_samples >= 2``);
    * ``control_variate='scaled'``: the scaled control variate of Ranganath et al. (2014),
      eq. :eq:`bc-scaled-cv`: per free parameter ``d``, ``a*_d h_d(w_s)`` is subtracted from
      each draw's term ``h_d(w_s) f_s``, with ``a*_d = Cov(h_d f, h_d) / Var(h_d)``, the
      multiplier that minimises the variance; as ``E[h_d] = 0`` this is
      ``E[h_d^2 f] / E[h_d^2]``, an ``h_d^2``-weighted mean of ``f``.  Ranganath et al. estimate
      ``a*`` from the same draws, which leaves a bias of order ``1 / S``; here draw ``s`` uses
      the ``a*`` of the other ``S - 1`` draws, which keeps the estimate unbiased (needs
      ``n_samples >= 2``; with two draws it is the leave-one-out baseline).

    ``n_samples (3 M + 6 D)`` numbers are allocated (``D`` free parameters: ``M + M(M+1)/2``,
    or ``2 M`` for a mean-field ``q``), at most ``max_elements``.

    Returns
    -------
    grad_m : array of shape (M,)
    grad_L : array of shape (M, M), lower triangular (diagonal if ``mean_field``)
    """
    _check_callable(log_joint, "log_joint")
    mean_field = check_bool(mean_field, "mean_field")
    m, L = _check_q(m, L, mean_field)
    n_samples, control_variate = _check_score_samples(
        n_samples, m.size, mean_field, control_variate, max_elements
    )
    eps, W = _draw(m, L, n_samples, check_seed(seed))
    return _score_gradient(
        _evaluate(log_joint, W, "log_joint", (n_samples,)),
        eps,
        L,
        mean_field,
        control_variate,
    )


def _score_gradient(log_p, eps, L, mean_field, control_variate):
    log_q = np.sum(_log_q_terms(eps, L), axis=1)
    H = _score_terms(eps, L, mean_field)
    F = np.broadcast_to((log_p - log_q)[:, None], H.shape)
    est = _score_estimate(H, F, control_variate)
    return _unpack(est, L.shape[0], mean_field)


def rao_blackwell_gradient(
    blanket_log_joint,
    m,
    L,
    n_samples,
    seed=None,
    control_variate=False,
    max_elements=MAX_ELEMENTS,
):
    """Rao--Blackwellised score-function estimate for a mean-field ``q`` -- eq.
    :eq:`bc-rao-blackwell` (Ranganath et al. 2014, section 3.1).

    With ``q(w) = prod_i q_i(w_i)``, the terms of ``log p(t, w) - log q(w)`` that do not
    involve ``w_i`` multiply ``grad_{lambda_i} log q_i(w_i)``, whose expectation is zero, and can
    be integrated out exactly: the gradient in ``lambda_i = (m_i, L_ii)`` is
    ``E_q[grad log q_i(w_i) (log p_i(t, w) - log q_i(w_i))]``, with ``log p_i`` the sum of the
    terms of ``log p(t, w)`` that contain ``w_i`` (the factors of its Markov blanket).  How much
    this removes depends on the model: every term outside each blanket.  ``control_variate``
    as in :func:`score_gradient`, applied per coordinate.

    Parameters
    ----------
    blanket_log_joint : callable
        ``(S, M)`` draws to ``(S, M)``: column ``i`` is ``log p_i(t, w)``.
    m : array of shape (M,)
    L : array of shape (M, M), diagonal with a positive diagonal
    n_samples, seed, control_variate, max_elements
        As in :func:`score_gradient`.

    Returns
    -------
    grad_m : array of shape (M,)
    grad_L : array of shape (M, M), diagonal
    """
    _check_callable(blanket_log_joint, "blanket_log_joint")
    m, L = _check_q(m, L, mean_field=True)
    n_samples, control_variate = _check_score_samples(
        n_samples, m.size, True, control_variate, max_elements
    )
    eps, W = _draw(m, L, n_samples, check_seed(seed))
    return _rao_blackwell_gradient(
        _evaluate(blanket_log_joint, W, "blanket_log_joint", W.shape),
        eps,
        L,
        control_variate,
    )


def _rao_blackwell_gradient(log_p_blanket, eps, L, control_variate):
    # f_i = log p_i(t, w) - log q_i(w_i), the weight of both of coordinate i's scores
    F_coord = log_p_blanket - _log_q_terms(eps, L)
    H = _score_terms(eps, L, mean_field=True)  # columns: m_1..m_M, L_11..L_MM
    est = _score_estimate(H, np.hstack([F_coord, F_coord]), control_variate)
    return _unpack(est, L.shape[0], True)


@dataclass(frozen=True)
class BbviResult:
    """Output of :func:`fit`: the averaged ``q = N(m, L L^T)`` and the Monte Carlo ELBO of each
    step; with ``keep_trace=True`` also every iterate, ``m_trace[k]`` and ``L_trace[k]`` after
    step ``k`` (otherwise ``None``).
    """

    m: np.ndarray
    L: np.ndarray
    elbo_trace: np.ndarray
    n_steps: int
    mean_field: bool
    m_trace: np.ndarray | None = None
    L_trace: np.ndarray | None = None

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
    estimator="reparam",
    control_variate=False,
    blanket_log_joint=None,
    optimizer="adam",
    kappa=0.0,
    tau0=1.0,
    keep_trace=False,
):
    """Maximise the ELBO over Gaussian ``q`` with Adam or plain stochastic-gradient steps.

    ``estimator`` chooses the gradient: ``"reparam"`` :eq:`bc-reparam` (the default),
    ``"path"`` :eq:`bc-path`, ``"score"`` :eq:`bc-score` with ``control_variate`` as in
    :func:`score_gradient`, or ``"rao-blackwell"`` :eq:`bc-rao-blackwell` (mean-field only; needs
    ``blanket_log_joint``, and ``control_variate`` applies per coordinate).  The score-function
    estimators need no ``grad_log_joint`` (pass ``None``).

    The free parameters are ``m``, ``log L_ii`` and, unless ``mean_field``, the entries of ``L``
    below the diagonal; the gradient in ``log L_ii`` is ``L_ii grad_{L_ii}``.  For a mean-field
    ``q`` these are the ADVI coordinates ``(mu, omega = log sigma)`` of Kucukelbir et al. (2017);
    full-rank ADVI instead leaves the whole of ``L`` unconstrained.

    Step ``k = 0, 1, ...`` has size ``rho_k = step_size (1 + k / tau0)^-kappa`` (chapter 9,
    eq. :eq:`dg-rm`): constant for ``kappa = 0`` (the default), a Robbins--Monro schedule
    (``sum rho_k = inf``, ``sum rho_k^2 < inf``) for ``1/2 < kappa <= 1``.  ``optimizer="adam"``
    (beta1 = 0.9, beta2 = 0.999) moves by ``rho_k`` times Adam's normalised direction,
    ``optimizer="sgd"`` by ``rho_k`` times the gradient itself.  The returned ``q`` averages the
    parameters over the last ``average_last`` fraction of the steps (Polyak--Ruppert averaging),
    which removes most of the noise a constant step leaves; ``keep_trace=True`` also returns every
    iterate.  The trace holds one number per step (``M + M^2`` more with ``keep_trace``) and each
    step allocates what its estimator does: ``n_steps`` and ``n_samples`` are capped by
    ``max_elements``.

    Returns
    -------
    BbviResult
        ``elbo_trace[k]`` is the Monte Carlo ELBO estimate ``mean_s log p(t, w_s) + H[q]`` of step
        ``k``.
    """
    if estimator not in ESTIMATORS:
        raise ValueError(
            f"estimator must be one of {ESTIMATORS}, got {estimator!r}"
        )
    pathwise = estimator in ("reparam", "path")
    _check_callable(log_joint, "log_joint")
    if pathwise or grad_log_joint is not None:
        _check_callable(grad_log_joint, "grad_log_joint")
    if estimator == "rao-blackwell" or blanket_log_joint is not None:
        _check_callable(blanket_log_joint, "blanket_log_joint")
    mean_field = check_bool(mean_field, "mean_field")
    if estimator == "rao-blackwell" and not mean_field:
        raise ValueError(
            "estimator = 'rao-blackwell' needs mean_field=True "
            "(its blankets are those of the factors of a mean-field q)"
        )
    m, L = _check_q(m0, L0, mean_field, ("m0", "L0"))
    n_steps = check_int(n_steps, "n_steps", 1)
    check_elements(n_steps, f"n_steps = {n_steps}", max_elements)
    if pathwise:
        n_samples = _check_n_samples(n_samples, m.size, 1, max_elements)
        if _check_control_variate(control_variate):
            raise ValueError(
                "control_variate applies to the score-function estimators "
                f"('score', 'rao-blackwell'), not to estimator = {estimator!r}"
            )
    else:
        n_samples, control_variate = _check_score_samples(
            n_samples, m.size, mean_field, control_variate, max_elements
        )
    step_size = check_positive(step_size, "step_size")
    average_last = check_positive(average_last, "average_last")
    if average_last > 1:
        raise ValueError(f"average_last must be in (0, 1], got {average_last}")
    if not isinstance(optimizer, str):
        raise TypeError(
            "optimizer must be 'adam' or 'sgd', got "
            f"{type(optimizer).__name__} {optimizer!r}"
        )
    if optimizer not in ("adam", "sgd"):
        raise ValueError(
            f"optimizer must be 'adam' or 'sgd', got {optimizer!r}"
        )
    kappa = check_nonnegative(kappa, "kappa")
    tau0 = check_positive(tau0, "tau0")
    keep_trace = check_bool(keep_trace, "keep_trace")
    rng = check_seed(seed)
    M = m.size
    if keep_trace:
        check_elements(
            n_steps * (1 + M + M * M),
            f"n_steps = {n_steps} with keep_trace",
            max_elements,
        )
        m_trace, L_trace = np.empty((n_steps, M)), np.empty((n_steps, M, M))
    low = np.tril_indices(M, -1)
    theta = np.concatenate(
        [m, np.log(np.diag(L)), [] if mean_field else L[low]]
    )

    def unpack(th):
        Lk = np.diag(np.exp(th[M : 2 * M]))
        if not mean_field:
            Lk[low] = th[2 * M :]
        return th[:M], Lk

    def gradient(eps, W, Lk, log_p, when):
        if pathwise:
            G = _evaluate(grad_log_joint, W, "grad_log_joint", W.shape, when)
            step = _reparam if estimator == "reparam" else _path
            return step(G, eps, Lk, mean_field)
        if estimator == "score":
            return _score_gradient(log_p, eps, Lk, mean_field, control_variate)
        blanket = _evaluate(
            blanket_log_joint, W, "blanket_log_joint", W.shape, when
        )
        return _rao_blackwell_gradient(blanket, eps, Lk, control_variate)

    mom, vel = np.zeros_like(theta), np.zeros_like(theta)
    start = n_steps - max(1, int(round(average_last * n_steps)))
    total, trace = np.zeros_like(theta), np.empty(n_steps)
    for k in range(n_steps):
        mk, Lk = unpack(theta)
        eps, W = _draw(mk, Lk, n_samples, rng)
        when = f" at step {k + 1}"
        log_p = _evaluate(log_joint, W, "log_joint", (n_samples,), when)
        trace[k] = np.mean(log_p) + _entropy(Lk)
        grad_m, grad_L = gradient(eps, W, Lk, log_p, when)
        grad = np.concatenate(
            [
                grad_m,
                np.diag(Lk) * np.diag(grad_L),
                [] if mean_field else grad_L[low],
            ]
        )
        rho = step_size * (1.0 + k / tau0) ** -kappa  # eq. (dg-rm)
        if optimizer == "adam":
            mom = 0.9 * mom + 0.1 * grad
            vel = 0.999 * vel + 0.001 * grad**2
            theta = theta + rho * (mom / (1 - 0.9 ** (k + 1))) / (
                np.sqrt(vel / (1 - 0.999 ** (k + 1))) + 1e-8
            )
        else:
            theta = theta + rho * grad
        if not np.all(np.isfinite(theta)):
            raise ValueError(
                f"the iterate left the finite numbers at step {k} "
                "(step_size too large for this target?)"
            )
        if keep_trace:
            m_trace[k], L_trace[k] = unpack(theta)
        if k >= start:
            total += theta
    m_avg, L_avg = unpack(total / (n_steps - start))
    if not keep_trace:
        return BbviResult(m_avg, L_avg, trace, n_steps, bool(mean_field))
    return BbviResult(
        m_avg, L_avg, trace, n_steps, bool(mean_field), m_trace, L_trace
    )
