"""Tests for vitutor.bbvi: the score-function (plain, with a leave-one-out baseline, with the
scaled control variate), Rao--Blackwellised, reparameterisation and path-derivative estimators are
unbiased within k = 4 standard errors of exact gradients (closed form for a Gaussian target; finite
differences of the quadrature ELBO for logistic regression), with enough draws that a bias of a
tenth of the gradient fails; the path-derivative estimator has zero variance where q is the
posterior; the optimiser reaches the best Gaussian with every estimator."""

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
    "score-scaled": lambda rng, lj, g, m, L, S: bbvi.score_gradient(
        lj, m, L, S, seed=rng, control_variate="scaled"
    ),
    "reparam": lambda rng, lj, g, m, L, S: bbvi.reparam_gradient(
        g, m, L, S, seed=rng
    ),
    "path": lambda rng, lj, g, m, L, S: bbvi.path_gradient(
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


M_LOG, L_LOG = np.array([-1.3, 1.6]), np.array([[0.55, 0.0], [-0.3, 0.35]])


def logistic_exact_gradient(X, t, m, L):
    """Central differences of the quadrature ELBO in (m_1, m_2, L_11, L_21, L_22)."""

    def elbo(th):
        Lk = np.array([[th[2], 0.0], [th[3], th[4]]])
        return lr.elbo(X, t, 4.0, th[:2], Lk @ Lk.T)

    th = np.array([*m, L[0, 0], L[1, 0], L[1, 1]])
    return np.array(
        [(elbo(th + 1e-5 * e) - elbo(th - 1e-5 * e)) / 2e-5 for e in np.eye(5)]
    )


def unbiasedness_z(estimate, exact, R=100, S=1000, seed=2):
    """z = (mean - exact) / SE per coordinate over R estimates of S draws each, and the SEs."""
    gm, gL = _replicate(lambda rng: estimate(rng, S), R, seed)
    reps = np.column_stack([gm, gL[:, 0, 0], gL[:, 1, 0], gL[:, 1, 1]])
    se = reps.std(axis=0, ddof=1) / np.sqrt(R)
    return (reps.mean(axis=0) - exact) / se, se


def shifted(log_joint, c):
    """log p + c: the same model up to its normaliser, so the same ELBO gradient."""

    def f(W):
        return log_joint(W) + c

    return f


@pytest.mark.parametrize("name", list(ESTIMATORS))
def test_estimators_are_unbiased_for_logistic_regression(name):
    # 1e5 draws; for the score-function estimators log p is shifted by -ELBO(q) (the gradient
    # does not change), which removes the large level of f from their noise, so every SE is
    # below a seventieth of the gradient's largest entry and a bias of a tenth of it is 7 SE
    X, t, lj, g = logistic_target()
    exact = logistic_exact_gradient(X, t, M_LOG, L_LOG)
    level = lr.elbo(X, t, 4.0, M_LOG, L_LOG @ L_LOG.T)
    lj0 = shifted(lj, -level)
    z, se = unbiasedness_z(
        lambda rng, S: ESTIMATORS[name](rng, lj0, g, M_LOG, L_LOG, S), exact
    )
    assert np.all(np.abs(z) < K_SE), z
    assert se.max() < 0.1 * np.abs(exact).max() / 7, se


def test_plain_score_is_unbiased_at_the_raw_level_of_log_p():
    # the unshifted log p: a score with E[grad log q] != 0 would be biased by that mean times
    # log p's level (about -20 here), far beyond the 0.2-0.5 standard errors
    X, t, lj, g = logistic_target()
    exact = logistic_exact_gradient(X, t, M_LOG, L_LOG)
    z, se = unbiasedness_z(
        lambda rng, S: bbvi.score_gradient(lj, M_LOG, L_LOG, S, seed=rng),
        exact,
    )
    assert np.all(np.abs(z) < K_SE), z
    assert se.max() < 0.6


def test_the_unbiasedness_check_fails_on_a_bias_of_a_tenth_of_the_gradient():
    X, t, lj, g = logistic_target()
    exact = logistic_exact_gradient(X, t, M_LOG, L_LOG)
    lj0 = shifted(lj, -lr.elbo(X, t, 4.0, M_LOG, L_LOG @ L_LOG.T))

    def biased(rng, S):
        gm, gL = bbvi.score_gradient(lj0, M_LOG, L_LOG, S, seed=rng)
        b = 0.1 * exact
        return gm + b[:2], gL + np.array([[b[2], 0.0], [b[3], b[4]]])

    def log_q(W):
        eps = np.linalg.solve(L_LOG, (W - M_LOG).T).T
        return stats.multivariate_normal(M_LOG, L_LOG @ L_LOG.T).logpdf(
            M_LOG + eps @ L_LOG.T
        )

    def dropped_log_q(rng, S):
        # f = log p instead of log p - log q: the estimator run on log p + log q
        def lj_plus_log_q(W):
            return lj0(W) + log_q(W)

        return bbvi.score_gradient(lj_plus_log_q, M_LOG, L_LOG, S, seed=rng)

    for estimate in (biased, dropped_log_q):
        z, _ = unbiasedness_z(estimate, exact)
        assert np.max(np.abs(z)) > K_SE, z


def test_control_variate_and_reparameterisation_reduce_variance():
    # logistic regression, where log p - log q has a large level common to all draws
    X, t, lj, g = logistic_target()
    variance = {}
    for name, est in ESTIMATORS.items():
        estimate = functools.partial(est, lj=lj, g=g, m=M_LOG, L=L_LOG, S=8)
        gm, gL = _replicate(estimate, 1000, 3)
        variance[name] = gm.var(axis=0).sum() + gL.var(axis=0).sum()
    assert (
        variance["path"]
        < variance["reparam"]
        < variance["score-cv"]
        < variance["score"] / 10
    )
    assert variance["score-scaled"] < variance["score"] / 10


def test_scaled_control_variate_with_two_draws_is_the_leave_one_out_baseline():
    # a*_d from one other draw r is h_rd^2 f_r / h_rd^2 = f_r: the baseline
    # of eq. bc-control-variate
    _, _, lj, _ = logistic_target()
    a = bbvi.score_gradient(lj, M_LOG, L_LOG, 2, seed=4, control_variate=True)
    b = bbvi.score_gradient(
        lj, M_LOG, L_LOG, 2, seed=4, control_variate="scaled"
    )
    np.testing.assert_allclose(a[0], b[0], rtol=1e-12)
    np.testing.assert_allclose(a[1], b[1], rtol=1e-12)


def test_path_gradient_has_zero_variance_where_q_is_the_posterior():
    # q = N(mu, Sigma): grad log p(w) = -Lam (w - mu) = -L^-T eps, which cancels the path
    # term L^-T eps draw by draw; the reparameterisation estimator keeps Lam / S in grad_m
    L_post = np.linalg.cholesky(SIGMA)
    for seed in range(5):
        gm, gL = bbvi.path_gradient(gauss_grad, MU, L_post, 50, seed=seed)
        assert np.max(np.abs(gm)) < 1e-14 and np.max(np.abs(gL)) < 1e-14
    gm, _ = _replicate(
        lambda rng: bbvi.reparam_gradient(gauss_grad, MU, L_post, 4, seed=rng),
        4000,
        6,
    )
    np.testing.assert_allclose(
        np.cov(gm.T), LAM / 4, rtol=0.1, atol=0.02 * np.abs(LAM).max()
    )
    # mean-field q equal to a diagonal posterior
    lam_d = np.array([2.0, 0.5])
    gm, gL = bbvi.path_gradient(
        lambda W: -(W - MU) * lam_d,
        MU,
        np.diag(1 / np.sqrt(lam_d)),
        50,
        seed=0,
        mean_field=True,
    )
    assert np.max(np.abs(gm)) < 1e-14 and np.max(np.abs(gL)) < 1e-14


# a 4-dimensional Gaussian target with two independent blocks: the Markov blanket of w_1 and w_2
# is {w_1, w_2}, that of w_3 and w_4 is {w_3, w_4}
MU4 = np.array([1.0, -2.0, 0.5, 0.0])
LAM4 = np.array(
    [
        [2.0, 0.6, 0.0, 0.0],
        [0.6, 1.0, 0.0, 0.0],
        [0.0, 0.0, 1.5, -0.5],
        [0.0, 0.0, -0.5, 0.8],
    ]
)


def gauss4_log_joint(W):
    D = W - MU4
    return -0.5 * np.einsum("sj,jk,sk->s", D, LAM4, D)


def gauss4_blanket(W):
    # column i: the terms of -1/2 D^T Lam D that contain d_i, i.e.
    # -1/2 Lam_ii d_i^2 - sum_{j != i} Lam_ij d_i d_j
    D = W - MU4
    diag = np.diag(LAM4)
    return -0.5 * diag * D**2 - D * (D @ LAM4 - diag * D)


M4, L4 = np.array([0.3, -1.0, 1.0, 0.4]), np.diag([0.6, 0.9, 0.7, 1.1])


def gauss4_exact_gradient(m, L):
    return -LAM4 @ (m - MU4), np.diag(
        np.diag(np.tril(-LAM4 @ L) + np.diag(1 / np.diag(L)))
    )


@pytest.mark.parametrize("control_variate", [False, "scaled"])
def test_rao_blackwell_is_unbiased(control_variate):
    gm, gL = _replicate(
        lambda rng: bbvi.rao_blackwell_gradient(
            gauss4_blanket,
            M4,
            L4,
            8,
            seed=rng,
            control_variate=control_variate,
        ),
        3000,
        7,
    )
    exact_m, exact_L = gauss4_exact_gradient(M4, L4)
    for reps, exact in [
        (gm, exact_m),
        (gL[:, range(4), range(4)], np.diag(exact_L)),
    ]:
        se = reps.std(axis=0, ddof=1) / np.sqrt(len(reps))
        assert np.all(np.abs(reps.mean(axis=0) - exact) < K_SE * se)


def test_rao_blackwell_with_every_term_in_every_blanket_is_the_score_estimator():
    # blanket_i = log p - sum_{j != i} log q_j, so log p_i - log q_i = log p - log q for every i
    def blanket(W):
        eps = (W - M4) / np.diag(L4)
        log_q = -0.5 * np.log(2 * np.pi) - np.log(np.diag(L4)) - 0.5 * eps**2
        others = log_q.sum(axis=1, keepdims=True) - log_q
        return gauss4_log_joint(W)[:, None] - others

    a = bbvi.rao_blackwell_gradient(blanket, M4, L4, 6, seed=8)
    b = bbvi.score_gradient(
        gauss4_log_joint, M4, L4, 6, seed=8, mean_field=True
    )
    np.testing.assert_allclose(a[0], b[0], rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(a[1], b[1], rtol=1e-10, atol=1e-12)


def test_rao_blackwell_removes_the_other_blocks_noise():
    variance = {}
    for name, est in [
        (
            "score",
            lambda rng: bbvi.score_gradient(
                gauss4_log_joint, M4, L4, 8, seed=rng, mean_field=True
            ),
        ),
        (
            "rao-blackwell",
            lambda rng: bbvi.rao_blackwell_gradient(
                gauss4_blanket, M4, L4, 8, seed=rng
            ),
        ),
    ]:
        gm, gL = _replicate(est, 2000, 9)
        variance[name] = gm.var(axis=0).sum() + gL.var(axis=0).sum()
    assert variance["rao-blackwell"] < 0.7 * variance["score"], variance


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


def gauss4_grad(W):
    return -(W - MU4) @ LAM4


@pytest.mark.parametrize(
    ("estimator", "control_variate"),
    [
        ("reparam", False),
        ("path", False),
        ("score", False),
        ("score", "baseline"),
        ("score", "scaled"),
        ("rao-blackwell", False),
        ("rao-blackwell", "scaled"),
    ],
)
def test_fit_reaches_the_mean_field_optimum_with_every_estimator(
    estimator, control_variate
):
    # chapter 3: the mean-field optimum for a Gaussian target has mean mu, variances 1 / Lam_ii
    fit = bbvi.fit(
        gauss4_log_joint,
        None if estimator in ("score", "rao-blackwell") else gauss4_grad,
        np.zeros(4),
        np.eye(4),
        n_steps=3000,
        n_samples=8,
        step_size=0.02,
        mean_field=True,
        seed=0,
        estimator=estimator,
        control_variate=control_variate,
        blanket_log_joint=gauss4_blanket,
    )
    sd_opt = 1 / np.sqrt(np.diag(LAM4))
    assert np.all(np.abs(fit.m - MU4) < 0.06 * sd_opt)
    assert np.all(np.abs(np.sqrt(np.diag(fit.cov)) / sd_opt - 1) < 0.04)


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


def test_estimator_choices_are_checked():
    with pytest.raises(ValueError, match="estimator must be one of"):
        bbvi.fit(
            gauss_log_joint, gauss_grad, M_TEST, L_TEST, 5, estimator="sgd"
        )
    with pytest.raises(ValueError, match="control_variate must be"):
        bbvi.score_gradient(
            gauss_log_joint, M_TEST, L_TEST, 4, control_variate="optimal"
        )
    with pytest.raises(ValueError, match="n_samples must be >= 2"):
        bbvi.score_gradient(
            gauss_log_joint, M_TEST, L_TEST, 1, control_variate="scaled"
        )
    with pytest.raises(TypeError, match="control_variate must be"):
        bbvi.score_gradient(
            gauss_log_joint, M_TEST, L_TEST, 4, control_variate=1.0
        )
    with pytest.raises(ValueError, match="control_variate applies to the"):
        bbvi.fit(
            gauss_log_joint,
            gauss_grad,
            M_TEST,
            L_TEST,
            5,
            control_variate="scaled",
        )
    with pytest.raises(ValueError, match="diagonal for a mean-field"):
        bbvi.rao_blackwell_gradient(
            gauss4_blanket, M4, np.tril(np.ones((4, 4))), 4
        )
    with pytest.raises(TypeError, match="blanket_log_joint must be callable"):
        bbvi.fit(
            gauss4_log_joint,
            None,
            M4,
            L4,
            5,
            mean_field=True,
            estimator="rao-blackwell",
        )
    with pytest.raises(ValueError, match="needs mean_field=True"):
        bbvi.fit(
            gauss4_log_joint,
            None,
            M4,
            L4,
            5,
            estimator="rao-blackwell",
            blanket_log_joint=gauss4_blanket,
        )
    with pytest.raises(TypeError, match="grad_log_joint must be callable"):
        bbvi.fit(gauss4_log_joint, None, M4, L4, 5, estimator="path")
    with pytest.raises(ValueError, match="blanket_log_joint must return"):
        bbvi.rao_blackwell_gradient(lambda W: W[:, 0], M4, L4, 4, seed=0)
    with pytest.raises(ValueError, match="n_samples = 100000000000 draws"):
        bbvi.rao_blackwell_gradient(gauss4_blanket, M4, L4, 10**11)
    with pytest.raises(ValueError, match="n_samples = 100000000000 draws"):
        bbvi.path_gradient(gauss4_grad, M4, L4, 10**11)


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


# ------------------------------------------ step-size schedule, SGD and the trace


B_LIN = np.array([0.5, -2.0])


def linear_log_joint(W):
    return W @ B_LIN


def linear_grad(W):
    # a constant gradient: every estimate of grad_m is exactly B_LIN, whatever the draws
    return np.broadcast_to(B_LIN, W.shape).copy()


def _rm_steps(step_size, kappa, tau0, n_steps):
    # rho_k = step_size (1 + k / tau0)^-kappa, k = 0, 1, ..., one step at a time
    return np.array(
        [step_size / (1.0 + k / tau0) ** kappa for k in range(n_steps)]
    )


@pytest.mark.parametrize(
    ("kappa", "tau0"), [(0.0, 1.0), (0.6, 1.0), (1.0, 5.0), (0.75, 0.5)]
)
def test_sgd_mean_iterates_follow_the_robbins_monro_schedule(kappa, tau0):
    # with a constant gradient b, SGD moves m by rho_k b: m_k = m_0 + b sum_{j <= k} rho_j
    fit = bbvi.fit(
        linear_log_joint,
        linear_grad,
        M_TEST,
        L_TEST,
        n_steps=30,
        step_size=0.01,
        seed=0,
        optimizer="sgd",
        kappa=kappa,
        tau0=tau0,
        keep_trace=True,
    )
    cum = np.cumsum(_rm_steps(0.01, kappa, tau0, 30))
    np.testing.assert_allclose(
        fit.m_trace, M_TEST + cum[:, None] * B_LIN, rtol=1e-12, atol=1e-12
    )


def test_adam_mean_iterates_follow_the_schedule_in_the_sign_of_the_gradient():
    # with a constant gradient Adam's bias-corrected moments are b and b^2, so each step moves m
    # by rho_k sign(b) (up to Adam's 1e-8 in the denominator)
    fit = bbvi.fit(
        linear_log_joint,
        linear_grad,
        M_TEST,
        L_TEST,
        n_steps=25,
        step_size=0.02,
        seed=1,
        kappa=0.7,
        tau0=3.0,
        keep_trace=True,
    )
    cum = np.cumsum(_rm_steps(0.02, 0.7, 3.0, 25))
    np.testing.assert_allclose(
        fit.m_trace, M_TEST + cum[:, None] * np.sign(B_LIN), atol=1e-7
    )


def test_trace_shapes_and_averaging_of_the_last_iterates():
    kwargs = dict(
        log_joint=gauss_log_joint,
        grad_log_joint=gauss_grad,
        m0=M_TEST,
        L0=L_TEST,
        n_steps=40,
        n_samples=2,
        step_size=0.05,
        seed=3,
    )
    plain = bbvi.fit(**kwargs)
    assert plain.m_trace is None and plain.L_trace is None
    fit = bbvi.fit(**kwargs, keep_trace=True)
    assert fit.m_trace.shape == (40, 2) and fit.L_trace.shape == (40, 2, 2)
    # keep_trace changes no number: the same draws, the same returned q
    np.testing.assert_array_equal(fit.m, plain.m)
    np.testing.assert_array_equal(fit.elbo_trace, plain.elbo_trace)
    assert np.all(np.triu(fit.L_trace, 1) == 0)
    # the default averages the last half in (m, log L_ii, L_21)
    last = slice(20, 40)
    np.testing.assert_allclose(fit.m, fit.m_trace[last].mean(axis=0))
    np.testing.assert_allclose(
        np.log(np.diag(fit.L)),
        np.log(np.diagonal(fit.L_trace[last], axis1=1, axis2=2)).mean(axis=0),
    )
    np.testing.assert_allclose(fit.L[1, 0], fit.L_trace[last, 1, 0].mean())
    # averaging over one step returns the last iterate
    one = bbvi.fit(**kwargs, keep_trace=True, average_last=1 / 40)
    np.testing.assert_allclose(one.m, one.m_trace[-1], rtol=1e-14)
    np.testing.assert_allclose(one.L, one.L_trace[-1], rtol=1e-14)


def test_sgd_with_the_path_gradient_reaches_the_exact_optimum():
    # the path gradient vanishes at q = p for every draw (Roeder et al. 2017), so constant-step
    # SGD converges to the exact Gaussian target, to rounding
    fit = bbvi.fit(
        gauss_log_joint,
        gauss_grad,
        np.zeros(2),
        np.eye(2),
        n_steps=3000,
        n_samples=1,
        step_size=0.05,
        seed=4,
        estimator="path",
        optimizer="sgd",
        average_last=1 / 3000,
    )
    np.testing.assert_allclose(fit.m, MU, atol=1e-10)
    np.testing.assert_allclose(fit.cov, SIGMA, atol=1e-10)


def test_sgd_with_a_decaying_step_approaches_the_optimum_with_the_reparam_gradient():
    # the reparameterisation gradient keeps its noise at the optimum; a Robbins-Monro schedule
    # (kappa = 0.7) lets the iterates settle where a constant step leaves them scattered
    kw = dict(
        log_joint=gauss_log_joint,
        grad_log_joint=gauss_grad,
        m0=np.zeros(2),
        L0=np.eye(2),
        n_steps=4000,
        n_samples=4,
        step_size=0.1,
        seed=5,
        optimizer="sgd",
        average_last=1 / 4000,
    )
    err_m, err_cov = {}, {}
    for kappa in (0.0, 0.7):
        fit = bbvi.fit(**kw, kappa=kappa, tau0=50.0)
        err_m[kappa] = np.abs(fit.m - MU).max()
        err_cov[kappa] = np.abs(fit.cov - SIGMA).max()
    # the last step is 0.1 (81)^-0.7 = 0.0046: the spread of m shrinks like its square root
    assert err_m[0.7] < 0.06 and err_m[0.7] < err_m[0.0] / 2
    assert err_cov[0.7] < 0.15


def test_schedule_optimizer_and_trace_arguments_are_checked():
    args = (gauss_log_joint, gauss_grad, M_TEST, L_TEST, 5)
    with pytest.raises(ValueError, match="optimizer must be 'adam' or 'sgd'"):
        bbvi.fit(*args, optimizer="rmsprop")
    with pytest.raises(TypeError, match="optimizer must be"):
        bbvi.fit(*args, optimizer=None)
    with pytest.raises(ValueError, match="kappa must be finite and >= 0"):
        bbvi.fit(*args, kappa=-0.5)
    with pytest.raises(ValueError, match="tau0 must be finite and > 0"):
        bbvi.fit(*args, tau0=0.0)
    with pytest.raises(TypeError, match="keep_trace must be True or False"):
        bbvi.fit(*args, keep_trace="yes")
    with pytest.raises(ValueError, match="with keep_trace"):
        bbvi.fit(*args, keep_trace=True, max_elements=20)
