"""Tests for vitutor.logreg: the Jaakkola--Jordan bound and its EM, Laplace, Gauss--Hermite ELBO and
the grid posterior, each against an independent route (scipy.stats, scipy.integrate, scipy.optimize,
finite differences, perturbations)."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy import integrate, optimize, stats

from vitutor import logreg as lr

PRIOR_VAR = 4.0


def _data(n=30, seed=3):
    return lr.simulate(n, [-1.0, 1.5], x_loc=1.0, x_scale=1.0, seed=seed)


@given(st.floats(-30, 30), st.floats(-20, 20))
def test_jj_bound_is_below_log_sigmoid(a, xi):
    assert lr.log_sigmoid_bound(a, xi) <= -np.logaddexp(0.0, -a) + 1e-12


@given(st.floats(-20, 20))
def test_jj_bound_is_tight_at_plus_minus_xi(xi):
    np.testing.assert_allclose(
        lr.log_sigmoid_bound([xi, -xi], xi),
        -np.logaddexp(0.0, -np.array([xi, -xi])),
        rtol=1e-12,
        atol=1e-14,
    )


def test_jj_lambda_is_minus_the_tangent_slope_and_continuous_at_zero():
    def f(y):
        # -log(e^{a/2} + e^{-a/2}) as a function of y = a^2
        return -np.logaddexp(np.sqrt(y) / 2, -np.sqrt(y) / 2)

    for xi in [1e-3, 0.5, 3.0]:
        slope = (f(xi**2 + 1e-7) - f(max(xi**2 - 1e-7, 0.0))) / (
            xi**2 + 1e-7 - max(xi**2 - 1e-7, 0.0)
        )
        np.testing.assert_allclose(-slope, lr.jj_lambda(xi), rtol=1e-5)
    np.testing.assert_allclose(
        lr.jj_lambda([0.0, 1e-7, 2e-6]),
        (np.tanh(1e-3 / 2) / 4e-3,) * 3,
        rtol=1e-6,
    )


def test_log_joint_matches_scipy_and_its_gradient_finite_differences():
    X, t = _data()
    W = np.random.default_rng(0).normal(size=(5, 2))
    ref = [
        stats.bernoulli.logpmf(t, 1 / (1 + np.exp(-X @ w))).sum()
        + stats.multivariate_normal(np.zeros(2), PRIOR_VAR * np.eye(2)).logpdf(
            w
        )
        for w in W
    ]
    np.testing.assert_allclose(
        lr.log_joint(W, X, t, PRIOR_VAR), ref, rtol=1e-12
    )
    h = 1e-6
    fd = np.stack(
        [
            (
                lr.log_joint(W + h * e, X, t, PRIOR_VAR)
                - lr.log_joint(W - h * e, X, t, PRIOR_VAR)
            )
            / (2 * h)
            for e in np.eye(2)
        ],
        axis=1,
    )
    np.testing.assert_allclose(
        lr.grad_log_joint(W, X, t, PRIOR_VAR), fd, rtol=1e-6, atol=1e-7
    )


def test_local_bound_is_the_bound_objective_at_the_q_update():
    X, t = _data()
    xi = np.abs(np.random.default_rng(1).normal(1.0, 0.5, size=30))
    m, S = lr.update_q(X, t, PRIOR_VAR, xi)
    np.testing.assert_allclose(
        lr.bound_objective(X, t, PRIOR_VAR, m, S, xi),
        lr.local_bound(X, t, PRIOR_VAR, xi),
        rtol=1e-12,
    )


def test_local_bound_equals_quadrature_of_the_bounded_joint():
    # L(xi) = log of the integral of prod_n h_n(w, xi_n) p(w), by a Riemann sum on a fine 2-D grid
    X, t = _data(n=12, seed=5)
    xi = np.full(12, 1.3)
    m, S = lr.update_q(X, t, PRIOR_VAR, xi)
    sd = np.sqrt(np.diag(S))
    axes = [
        np.linspace(m[k] - 12 * sd[k], m[k] + 12 * sd[k], 601)
        for k in range(2)
    ]
    W = np.stack(np.meshgrid(*axes, indexing="ij"), axis=-1)
    A = W @ X.T  # (601, 601, 12)
    log_f = np.sum(
        lr.log_sigmoid_bound(-A, xi) + t * A, axis=-1
    ) + stats.multivariate_normal(np.zeros(2), PRIOR_VAR * np.eye(2)).logpdf(W)
    c = log_f.max()
    area = (axes[0][1] - axes[0][0]) * (axes[1][1] - axes[1][0])
    np.testing.assert_allclose(
        lr.local_bound(X, t, PRIOR_VAR, xi),
        c + np.log(np.exp(log_f - c).sum() * area),
        rtol=1e-10,
    )


def test_update_q_is_the_maximiser_of_the_bound_objective():
    X, t = _data()
    xi = np.full(30, 0.8)
    m, S = lr.update_q(X, t, PRIOR_VAR, xi)
    best = lr.bound_objective(X, t, PRIOR_VAR, m, S, xi)
    rng = np.random.default_rng(2)
    for _ in range(200):
        B = rng.normal(scale=0.05, size=(2, 2))
        assert (
            lr.bound_objective(
                X,
                t,
                PRIOR_VAR,
                m + rng.normal(scale=0.05, size=2),
                S + B @ B.T,
                xi,
            )
            < best
        )
    h = 1e-6
    for e in np.eye(2):
        d = lr.bound_objective(
            X, t, PRIOR_VAR, m + h * e, S, xi
        ) - lr.bound_objective(X, t, PRIOR_VAR, m - h * e, S, xi)
        assert abs(d / (2 * h)) < 1e-6


def test_update_xi_is_the_maximiser_given_q():
    X, t = _data()
    m, S = lr.update_q(X, t, PRIOR_VAR, np.ones(30))
    xi = lr.update_xi(X, m, S)

    def F(z):
        return lr.bound_objective(X, t, PRIOR_VAR, m, S, z)

    h = 1e-5
    fd = np.array(
        [(F(xi + h * e) - F(xi - h * e)) / (2 * h) for e in np.eye(30)]
    )
    assert np.max(np.abs(fd)) < 1e-8
    rng = np.random.default_rng(3)
    for _ in range(100):
        assert F(np.abs(xi + rng.normal(scale=0.1, size=30))) < F(xi)


@given(st.integers(0, 500), st.integers(5, 40), st.floats(0.2, 20.0))
def test_em_bound_never_decreases_and_stays_below_the_elbo_and_the_evidence(
    seed, n, prior_var
):
    X, t = _data(n=n, seed=seed)
    fit = lr.em(X, t, prior_var)
    assert np.all(
        np.diff(fit.bound_trace) >= -1e-10 * np.abs(fit.bound_trace[1:])
    )
    elbo = lr.elbo(X, t, prior_var, fit.m_N, fit.S_N)
    assert fit.bound_trace[-1] <= elbo + 1e-10
    assert elbo < lr.grid_posterior(X, t, prior_var, n_grid=201).log_evidence


def test_grid_posterior_matches_dblquad():
    X, t = _data()
    g = lr.grid_posterior(X, t, PRIOR_VAR)

    def f(w2, w1):
        return np.exp(lr.log_joint([w1, w2], X, t, PRIOR_VAR) - g.log_evidence)

    lims = (g.w1[0], g.w1[-1], g.w2[0], g.w2[-1])
    kw = dict(epsabs=1e-10, epsrel=1e-8)
    np.testing.assert_allclose(
        integrate.dblquad(f, *lims, **kw)[0], 1.0, rtol=1e-7
    )
    mean1 = integrate.dblquad(lambda w2, w1: w1 * f(w2, w1), *lims, **kw)[0]
    np.testing.assert_allclose(mean1, g.mean[0], rtol=1e-6)


def test_laplace_mode_matches_scipy_optimize():
    X, t = _data()
    lap = lr.laplace(X, t, PRIOR_VAR)
    res = optimize.minimize(
        lambda w: -lr.log_joint(w, X, t, PRIOR_VAR),
        np.zeros(2),
        method="Nelder-Mead",
        options={"xatol": 1e-10, "fatol": 1e-14},
    )
    np.testing.assert_allclose(lap.mode, res.x, atol=1e-6)
    h = 1e-4

    def g(w):
        return lr.grad_log_joint(w, X, t, PRIOR_VAR)

    H = np.array(
        [
            (g(lap.mode + h * e) - g(lap.mode - h * e)) / (2 * h)
            for e in np.eye(2)
        ]
    )
    np.testing.assert_allclose(lap.cov, np.linalg.inv(-H), rtol=1e-6)


def test_expected_log_lik_matches_adaptive_quadrature():
    X, t = _data(n=8)
    m, S = np.array([-0.5, 1.0]), np.array([[0.6, -0.2], [-0.2, 0.4]])

    def integrand(a, mu, sd, t_n):
        # N(a | mu, sd^2) log p(t_n | a)
        return stats.norm.pdf(a, mu, sd) * (t_n * a - np.logaddexp(0, a))

    ref = 0.0
    for x_n, t_n in zip(X, t, strict=True):
        mu, sd = x_n @ m, np.sqrt(x_n @ S @ x_n)
        ref += integrate.quad(
            integrand, -np.inf, np.inf, args=(mu, sd, t_n), epsabs=1e-13
        )[0]
    np.testing.assert_allclose(
        lr.expected_log_lik(X, t, m, S), ref, rtol=1e-11
    )


def _quad_term(x_n, t_n, m, S):
    """E_q[log p(t_n | w)] by scipy's adaptive quadrature over a_n = w^T x_n, split at the
    mean, at +-1, 3 and 10 sd and at the sigmoid's bend a = 0."""
    mu, sd = x_n @ m, np.sqrt(x_n @ S @ x_n)
    lo, hi = mu - 40 * sd, mu + 40 * sd
    pts = [mu + k * sd for k in (-10, -3, -1, 0, 1, 3, 10)]
    pts += [0.0] if lo < 0 < hi else []

    def integrand(a):
        return stats.norm.pdf(a, mu, sd) * (t_n * a - np.logaddexp(0, a))

    val, err = integrate.quad(
        integrand,
        lo,
        hi,
        points=sorted(pts),
        epsabs=1e-15,
        epsrel=1e-13,
        limit=400,
    )
    return val, sd


@pytest.mark.parametrize(
    "case", ["narrow", "posterior", "prior", "very wide", "mixed"]
)
def test_expected_log_lik_is_exact_to_rounding_for_narrow_and_wide_q(case):
    # separable data: the sigmoid's bend at a = 0 matters most when q is wide
    x = np.linspace(-3.0, 3.0, 12)
    X, t = np.column_stack([np.ones(12), x]), (x > 0).astype(float)
    m, S = {
        "narrow": (np.array([0.3, 2.0]), np.diag([1e-4, 4e-4])),
        "posterior": (
            np.array([0.1, 3.0]),
            np.array([[0.5, 0.2], [0.2, 0.9]]),
        ),
        "prior": (np.zeros(2), 25.0 * np.eye(2)),
        "very wide": (np.array([-4.0, 1.0]), 1e6 * np.eye(2)),
        "mixed": (np.array([0.5, -1.0]), np.diag([0.04, 0.3])),
    }[case]
    sds = []
    for x_n, t_n in zip(X, t, strict=True):
        ref, sd = _quad_term(x_n, t_n, m, S)
        sds.append(sd)
        got = lr.expected_log_lik(x_n[None, :], [t_n], m, S)
        assert abs(got - ref) <= 1e-13 * max(1.0, abs(ref)), (sd, got, ref)
    sds = np.array(sds)
    # the cases cover both rules: sd <= 1 (Gauss-Hermite), sd > 1 (kink + remainder)
    assert {
        "narrow": sds.max() < 0.1,
        "posterior": sds.min() < 1.0 and sds.max() > 2.5,
        "prior": sds.min() >= 5.0,
        "very wide": sds.min() >= 1000.0,
        "mixed": sds.min() < 1.0 < sds.max(),
    }[case]


def test_many_gauss_hermite_nodes_give_the_same_number_not_nan():
    X, t = _data()
    m, S = np.array([-1.0, 1.4]), np.array([[0.3, -0.1], [-0.1, 0.2]])
    base = lr.expected_log_lik(X, t, m, S)
    for n_nodes in (150, 151, 300, 1000, 5000):
        got = lr.expected_log_lik(X, t, m, S, n_nodes=n_nodes)
        assert np.isfinite(got)
        np.testing.assert_allclose(got, base, rtol=1e-14)
    np.testing.assert_allclose(
        lr.elbo(X, t, PRIOR_VAR, m, S, n_nodes=2000),
        lr.elbo(X, t, PRIOR_VAR, m, S),
        rtol=1e-14,
    )


def test_elbo_plus_kl_equals_log_evidence():
    X, t = _data()
    g = lr.grid_posterior(X, t, PRIOR_VAR)
    for m, S in [
        (np.array([-1.5, 1.5]), 0.5 * np.eye(2)),
        (g.mean, g.cov),
        (np.array([-2.0, 2.2]), np.diag([0.2, 0.3])),
    ]:
        np.testing.assert_allclose(
            lr.elbo(X, t, PRIOR_VAR, m, S) + g.kl_from_gaussian(m, S),
            g.log_evidence,
            rtol=1e-9,
        )


# ---------------------------------------------------------------- bad input


def test_bad_input_names_the_argument():
    X, t = _data()
    with pytest.raises(ValueError, match=r"t must hold labels in \{0, 1\}"):
        lr.em(X, np.where(t == 0, -1.0, 1.0), PRIOR_VAR)
    with pytest.raises(ValueError, match="t must hold labels"):
        lr.laplace(X, t * 0.5, PRIOR_VAR)
    bad = X.copy()
    bad[3, 1] = np.nan
    with pytest.raises(ValueError, match="X must not contain NaN"):
        lr.em(bad, t, PRIOR_VAR)
    with pytest.raises(ValueError, match="X must be a 2-D array"):
        lr.em(X[:, 1], t, PRIOR_VAR)
    with pytest.raises(ValueError, match="t must have one entry per row"):
        lr.em(X, t[:-2], PRIOR_VAR)
    with pytest.raises(ValueError, match="prior_var"):
        lr.em(X, t, 0.0)
    with pytest.raises(ValueError, match="xi must have one entry"):
        lr.local_bound(X, t, PRIOR_VAR, np.ones(3))
    with pytest.raises(ValueError, match="m must have 2 entries"):
        lr.elbo(X, t, PRIOR_VAR, np.zeros(3), np.eye(3))
    with pytest.raises(ValueError, match="2 columns"):
        lr.grid_posterior(np.column_stack([X, X[:, 1]]), t, PRIOR_VAR)
    with pytest.raises(TypeError, match="X must be an array of real numbers"):
        lr.em(X.astype(str), t, PRIOR_VAR)


def test_inputs_are_checked_for_nan_shape_and_covariance():
    X, t = _data()
    m = np.zeros(2)
    with pytest.raises(ValueError, match="xi must not contain NaN"):
        lr.jj_lambda([0.5, np.nan])
    with pytest.raises(ValueError, match="a must not contain NaN"):
        lr.log_sigmoid_bound(np.inf, 1.0)
    with pytest.raises(ValueError, match=r"\bW must not contain NaN"):
        lr.log_joint(np.array([np.nan, 0.0]), X, t, PRIOR_VAR)
    with pytest.raises(ValueError, match=r"\bW must have 2 entries"):
        lr.grad_log_joint(np.zeros((4, 3)), X, t, PRIOR_VAR)
    with pytest.raises(ValueError, match="S must be positive definite"):
        lr.elbo(X, t, PRIOR_VAR, m, np.diag([1.0, -1.0]))
    with pytest.raises(ValueError, match="S must be symmetric"):
        lr.bound_objective(
            X, t, PRIOR_VAR, m, [[1.0, 0.5], [0.0, 1.0]], np.ones(30)
        )
    with pytest.raises(ValueError, match=r"\bS_N must not contain NaN"):
        lr.update_xi(X, m, np.full((2, 2), np.nan))
    with pytest.raises(ValueError, match="S must be positive definite"):
        lr.gaussian_entropy(np.zeros((2, 2)))
    with pytest.raises(ValueError, match="tol"):
        lr.laplace(X, t, PRIOR_VAR, tol=-1.0)
    with pytest.raises(ValueError, match="x_loc"):
        lr.simulate(10, [0.0, 1.0], x_loc=np.nan)
    g = lr.grid_posterior(X, t, PRIOR_VAR, n_grid=51)
    with pytest.raises(ValueError, match="S must be a \\(2, 2\\)"):
        g.kl_from_gaussian(m, np.eye(3))


def test_allocations_sized_by_an_argument_are_capped():
    X, t = _data()
    with pytest.raises(ValueError, match="n = 1000000000000 points"):
        lr.simulate(10**12, [0.0, 1.0])
    with pytest.raises(ValueError, match="n_grid = 100000"):
        lr.grid_posterior(X, t, PRIOR_VAR, n_grid=100_000)
    with pytest.raises(ValueError, match="n_nodes = 10000000000"):
        lr.expected_log_lik(X, t, np.zeros(2), np.eye(2), n_nodes=10**10)
    # the nodes' own arrays count too, not only the N x n_nodes evaluations
    with pytest.raises(ValueError, match="n_nodes = 100000000 for N = 1"):
        lr.expected_log_lik(
            X[:1], t[:1], np.zeros(2), np.eye(2), n_nodes=10**8
        )
    # the cap is a default, not a limit: a larger max_elements lifts it
    small = lr.grid_posterior(X, t, PRIOR_VAR, n_grid=21, max_elements=10**6)
    assert small.log_post.shape == (21, 21)
    with pytest.raises(ValueError, match="max_elements"):
        lr.grid_posterior(X, t, PRIOR_VAR, n_grid=21, max_elements=100)
