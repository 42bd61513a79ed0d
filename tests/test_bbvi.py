"""Tests for vitutor.bbvi: the score-function and reparameterisation estimators are unbiased within
k = 4 standard errors of exact gradients (closed form for a Gaussian target; finite differences of
the Gauss--Hermite ELBO for logistic regression); the optimiser reaches the best Gaussian."""

import functools

import numpy as np
import pytest
from scipy import stats

from vitutor import bbvi
from vitutor import logreg as lr

K_SE = 4.0
MU = np.array([1.0, -2.0])
SIGMA = np.array([[1.0, 1.2], [1.2, 2.25]])
LAM = np.linalg.inv(SIGMA)


def gauss_log_joint(W):
    D = W - MU
    return -0.5 * np.einsum("sj,jk,sk->s", D, LAM, D)


def gauss_grad(W):
    return -(W - MU) @ LAM


def gauss_exact_gradient(m, L):
    # ELBO = -1/2 [tr(Lam L L^T) + (m - mu)^T Lam (m - mu)] + sum log L_ii + const
    return -LAM @ (m - MU), np.tril(-LAM @ L) + np.diag(1 / np.diag(L))


def _replicate(estimate, R, seed):
    rng = np.random.default_rng(seed)
    out = [estimate(rng) for _ in range(R)]
    return np.array([g[0] for g in out]), np.array([g[1] for g in out])


M_TEST, L_TEST = np.array([0.2, -1.1]), np.array([[0.7, 0.0], [0.4, 0.9]])


def logistic_target():
    """The 30-point logistic regression of chapter 8 (prior variance 4): log p and its gradient."""
    X, t = lr.simulate(30, [-1.0, 1.5], x_loc=1.0, x_scale=1.0, seed=3)

    def log_joint(W):
        return lr.log_joint(W, X, t, 4.0)

    def grad_log_joint(W):
        return lr.grad_log_joint(W, X, t, 4.0)

    return X, t, log_joint, grad_log_joint


ESTIMATORS = {
    "score": lambda rng, lj, g, m, L, S: bbvi.score_gradient(
        lj, m, L, S, seed=rng
    ),
    "score-cv": lambda rng, lj, g, m, L, S: bbvi.score_gradient(
        lj, m, L, S, seed=rng, control_variate=True
    ),
    "reparam": lambda rng, lj, g, m, L, S: bbvi.reparam_gradient(
        g, m, L, S, seed=rng
    ),
}


@pytest.mark.parametrize("name", list(ESTIMATORS))
def test_estimators_are_unbiased_for_a_gaussian_target(name):
    est = ESTIMATORS[name]
    gm, gL = _replicate(
        lambda rng: est(rng, gauss_log_joint, gauss_grad, M_TEST, L_TEST, 4),
        3000,
        1,
    )
    exact_m, exact_L = gauss_exact_gradient(M_TEST, L_TEST)
    for reps, exact in [
        (gm, exact_m),
        (gL[:, [0, 1, 1], [0, 0, 1]], exact_L[[0, 1, 1], [0, 0, 1]]),
    ]:
        se = reps.std(axis=0, ddof=1) / np.sqrt(len(reps))
        assert np.all(np.abs(reps.mean(axis=0) - exact) < K_SE * se + 1e-12)


@pytest.mark.parametrize("name", list(ESTIMATORS))
def test_estimators_are_unbiased_for_logistic_regression(name):
    X, t, lj, g = logistic_target()
    m, L = np.array([-1.3, 1.6]), np.array([[0.55, 0.0], [-0.3, 0.35]])

    def elbo(th):
        Lk = np.array([[th[2], 0.0], [th[3], th[4]]])
        return lr.elbo(X, t, 4.0, th[:2], Lk @ Lk.T)

    th = np.array([*m, L[0, 0], L[1, 0], L[1, 1]])
    exact = np.array(
        [(elbo(th + 1e-5 * e) - elbo(th - 1e-5 * e)) / 2e-5 for e in np.eye(5)]
    )
    gm, gL = _replicate(
        lambda rng: ESTIMATORS[name](rng, lj, g, m, L, 4), 3000, 2
    )
    reps = np.column_stack([gm, gL[:, 0, 0], gL[:, 1, 0], gL[:, 1, 1]])
    se = reps.std(axis=0, ddof=1) / np.sqrt(len(reps))
    assert np.all(np.abs(reps.mean(axis=0) - exact) < K_SE * se)


def test_control_variate_and_reparameterisation_reduce_variance():
    # logistic regression, where log p - log q has a large level common to all draws
    X, t, lj, g = logistic_target()
    m, L = np.array([-1.3, 1.6]), np.array([[0.55, 0.0], [-0.3, 0.35]])
    variance = {}
    for name, est in ESTIMATORS.items():
        estimate = functools.partial(est, lj=lj, g=g, m=m, L=L, S=8)
        gm, gL = _replicate(estimate, 1000, 3)
        variance[name] = gm.var(axis=0).sum() + gL.var(axis=0).sum()
    assert variance["reparam"] < variance["score-cv"] < variance["score"]


def test_reparameterisation_is_exact_for_one_draw_when_the_gradient_is_constant():
    # log p linear in w: grad is constant, so the estimate of grad_m has no noise at all
    c = np.array([0.5, -1.5])
    gm, gL = bbvi.reparam_gradient(
        lambda W: np.tile(c, (W.shape[0], 1)), M_TEST, L_TEST, 1, seed=0
    )
    np.testing.assert_allclose(gm, c)


def test_mean_field_gradient_is_diagonal_and_equals_the_full_diagonal():
    L = np.diag([0.7, 0.9])
    full = bbvi.reparam_gradient(gauss_grad, M_TEST, L, 16, seed=5)
    mf = bbvi.reparam_gradient(
        gauss_grad, M_TEST, L, 16, seed=5, mean_field=True
    )
    np.testing.assert_allclose(mf[1], np.diag(np.diag(full[1])))
    np.testing.assert_allclose(mf[0], full[0])


def test_fit_full_rank_recovers_a_gaussian_target():
    fit = bbvi.fit(
        gauss_log_joint,
        gauss_grad,
        np.zeros(2),
        np.eye(2),
        n_steps=4000,
        n_samples=4,
        step_size=0.02,
        seed=0,
    )
    np.testing.assert_allclose(fit.m, MU, atol=0.03)
    np.testing.assert_allclose(fit.cov, SIGMA, rtol=0.05, atol=0.03)


def test_full_rank_optimum_is_closer_to_the_exact_posterior_than_mean_field():
    X, t, lj, g = logistic_target()
    exact = lr.grid_posterior(X, t, 4.0)
    kl = {}
    for mean_field in (False, True):
        fit = bbvi.fit(
            lj,
            g,
            np.zeros(2),
            np.eye(2),
            n_steps=3000,
            n_samples=4,
            step_size=0.02,
            mean_field=mean_field,
            seed=1,
        )
        kl[mean_field] = exact.kl_from_gaussian(fit.m, fit.cov)
        assert np.all(
            np.isfinite(fit.elbo_trace)
        ) and fit.elbo_trace.shape == (3000,)
    assert 0 < kl[False] < kl[True]
    jj = lr.em(X, t, 4.0)
    assert kl[False] < exact.kl_from_gaussian(jj.m_N, jj.S_N)


def test_same_seed_same_numbers():
    a = bbvi.score_gradient(gauss_log_joint, M_TEST, L_TEST, 5, seed=9)
    b = bbvi.score_gradient(gauss_log_joint, M_TEST, L_TEST, 5, seed=9)
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])


# ---------------------------------------------------------------- bad input


def test_bad_input_names_the_argument():
    with pytest.raises(ValueError, match="n_samples must be >= 1"):
        bbvi.reparam_gradient(gauss_grad, M_TEST, L_TEST, 0)
    with pytest.raises(ValueError, match="n_samples must be >= 1"):
        bbvi.score_gradient(gauss_log_joint, M_TEST, L_TEST, 0)
    with pytest.raises(ValueError, match="n_samples must be >= 2"):
        bbvi.score_gradient(
            gauss_log_joint, M_TEST, L_TEST, 1, control_variate=True
        )
    with pytest.raises(ValueError, match="n_samples"):
        bbvi.fit(
            gauss_log_joint,
            gauss_grad,
            M_TEST,
            L_TEST,
            n_steps=10,
            n_samples=0,
        )
    with pytest.raises(TypeError, match="n_samples must be an integer"):
        bbvi.reparam_gradient(gauss_grad, M_TEST, L_TEST, 2.5)
    with pytest.raises(ValueError, match="lower triangular"):
        bbvi.reparam_gradient(gauss_grad, M_TEST, L_TEST.T, 2)
    with pytest.raises(ValueError, match="positive diagonal"):
        bbvi.reparam_gradient(gauss_grad, M_TEST, -L_TEST, 2)
    with pytest.raises(ValueError, match="L must have shape"):
        bbvi.reparam_gradient(gauss_grad, M_TEST, np.eye(3), 2)
    with pytest.raises(ValueError, match="m must not contain NaN"):
        bbvi.reparam_gradient(gauss_grad, np.array([np.nan, 0.0]), L_TEST, 2)
    with pytest.raises(ValueError, match="diagonal for a mean-field"):
        bbvi.reparam_gradient(gauss_grad, M_TEST, L_TEST, 2, mean_field=True)
    with pytest.raises(TypeError, match="grad_log_joint must be callable"):
        bbvi.reparam_gradient(None, M_TEST, L_TEST, 2)
    with pytest.raises(ValueError, match="average_last"):
        bbvi.fit(
            gauss_log_joint,
            gauss_grad,
            M_TEST,
            L_TEST,
            n_steps=10,
            average_last=2.0,
        )
    with pytest.raises(TypeError, match="seed"):
        bbvi.score_gradient(gauss_log_joint, M_TEST, L_TEST, 3, seed="x")


def test_draws_steps_and_callables_are_checked():
    with pytest.raises(ValueError, match="n_samples = 100000000000 draws"):
        bbvi.reparam_gradient(gauss_grad, M_TEST, L_TEST, 10**11)
    with pytest.raises(ValueError, match="n_samples = 100000000000 draws"):
        bbvi.score_gradient(gauss_log_joint, M_TEST, L_TEST, 10**11)
    with pytest.raises(ValueError, match="n_steps = 1000000000000"):
        bbvi.fit(gauss_log_joint, gauss_grad, M_TEST, L_TEST, n_steps=10**12)
    with pytest.raises(ValueError, match="grad_log_joint must return"):
        bbvi.reparam_gradient(lambda W: W[:, 0], M_TEST, L_TEST, 3, seed=0)
    with pytest.raises(ValueError, match="log_joint must return"):
        bbvi.score_gradient(lambda W: W, M_TEST, L_TEST, 3, seed=0)
    with pytest.raises(ValueError, match="log_joint returned NaN"):
        bbvi.score_gradient(
            lambda W: np.full(W.shape[0], np.nan), M_TEST, L_TEST, 3, seed=0
        )
    with pytest.raises(ValueError, match="grad_log_joint returned NaN"):
        bbvi.fit(
            gauss_log_joint,
            lambda W: np.full(W.shape, np.inf),
            M_TEST,
            L_TEST,
            n_steps=5,
            seed=0,
        )
    with pytest.raises(ValueError, match="positive diagonal"):
        bbvi.gaussian_entropy(-L_TEST)
    with pytest.raises(ValueError, match="L must be a square matrix"):
        bbvi.gaussian_entropy(np.ones(3))


def test_gaussian_entropy_matches_scipy():
    cov = L_TEST @ L_TEST.T
    np.testing.assert_allclose(
        bbvi.gaussian_entropy(L_TEST),
        stats.multivariate_normal(M_TEST, cov).entropy(),
        rtol=1e-13,
    )
