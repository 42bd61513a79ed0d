"""Tests for vitutor.ep: tilted moments, EP and power EP, EP's evidence and its stationary points,
damping, the Gaussian ELBO optimum, Laplace, the grid posterior, the clutter problem's exact
answer and the alpha-divergence, each against an independent route (scipy.integrate.quad,
enumeration against quadrature, finite differences, scipy.optimize, chapter 8's logreg)."""

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from scipy import integrate, optimize, stats
from scipy.special import logsumexp

from vitutor import ep
from vitutor import logreg as lr

OMEGA, CLUTTER_VAR, PRIOR_VAR = 0.5, 10.0, 100.0


def _clutter(n, seed=1):
    x = ep.clutter_simulate(n, 2.0, OMEGA, CLUTTER_VAR, seed=seed)
    return x, np.ones((n, 1)), ep.ClutterSites(x, OMEGA, CLUTTER_VAR)


def _regression(n=30, seed=3):
    return lr.simulate(n, [-1.0, 1.5], x_loc=1.0, x_scale=1.0, seed=seed)


def _quad_tilted(log_f, mu, var, power=1.0, points=()):
    # normaliser, mean and variance of f(a)^power N(a | mu, var) by scipy's adaptive quadrature
    sd = np.sqrt(var)

    def integrand(a):
        lf = float(np.ravel(log_f(a))[0])
        return np.array([1.0, a, a * a]) * np.exp(
            power * lf + stats.norm.logpdf(a, mu, sd)
        )

    # the breakpoints keep the quadrature from stepping over a narrow site
    z, first, second = integrate.quad_vec(
        integrand,
        mu - 14 * sd,
        mu + 14 * sd,
        points=sorted({mu - sd, mu, mu + sd, 0.0, *points}),
        epsabs=0,
        epsrel=1e-12,
        limit=400,
    )[0]
    mean = first / z
    return np.log(z), mean, second / z - mean**2


# --------------------------------------------------------------------------------------------
# tilted moments


@settings(max_examples=25)
@given(
    st.floats(-20, 20),
    st.floats(-10, 10),
    st.floats(0.01, 200.0),
    st.floats(0.05, 0.95),
)
def test_clutter_tilted_closed_form_equals_quadrature(x, mu, var, omega):
    sites = ep.ClutterSites([x], omega, CLUTTER_VAR)
    closed = ep.tilted_moments(sites, [mu], [var], method="closed")
    ref = _quad_tilted(
        lambda a: sites.log_f(np.atleast_1d(a)), mu, var, points=(x,)
    )
    np.testing.assert_allclose(np.ravel(closed), ref, rtol=1e-8, atol=1e-10)
    grid = ep.tilted_moments(sites, [mu], [var], method="quadrature")
    np.testing.assert_allclose(np.ravel(grid), ref, rtol=1e-8, atol=1e-10)


@settings(max_examples=25)
@given(st.sampled_from([0, 1]), st.floats(-8, 8), st.floats(0.01, 50.0))
def test_probit_tilted_closed_form_equals_quadrature(t, mu, var):
    sites = ep.ProbitSites([t])
    closed = ep.tilted_moments(sites, [mu], [var], method="closed")
    ref = _quad_tilted(lambda a: sites.log_f(np.atleast_1d(a)), mu, var)
    np.testing.assert_allclose(np.ravel(closed), ref, rtol=1e-8, atol=1e-10)


@settings(max_examples=25)
@given(
    st.sampled_from([0, 1]),
    st.floats(-8, 8),
    st.floats(0.01, 50.0),
    st.floats(0.05, 1.0),
)
def test_logistic_tilted_quadrature_equals_scipy_quad(t, mu, var, power):
    sites = ep.LogisticSites([t])
    got = ep.tilted_moments(sites, [mu], [var], power=power)
    ref = _quad_tilted(lambda a: sites.log_f(np.atleast_1d(a)), mu, var, power)
    np.testing.assert_allclose(np.ravel(got), ref, rtol=1e-8, atol=1e-10)


def test_tilted_mean_and_variance_are_derivatives_of_log_z():
    # mean = mu + var d log Z / d mu, variance = var + var^2 d^2 log Z / d mu^2
    h = 1e-4
    for sites in [
        ep.ClutterSites([3.0], OMEGA, CLUTTER_VAR),
        ep.ProbitSites([1]),
    ]:
        for mu, var in [(0.5, 2.0), (-1.0, 0.3), (4.0, 9.0)]:
            log_z = [
                ep.tilted_moments(sites, [mu + k * h], [var])[0][0]
                for k in (-1, 0, 1)
            ]
            d1 = (log_z[2] - log_z[0]) / (2 * h)
            d2 = (log_z[2] - 2 * log_z[1] + log_z[0]) / h**2
            _, mean, v = ep.tilted_moments(sites, [mu], [var])
            np.testing.assert_allclose(mean[0], mu + var * d1, rtol=1e-8)
            np.testing.assert_allclose(v[0], var + var**2 * d2, rtol=1e-5)


def test_moment_matching_minimises_the_forward_kl_from_the_tilted():
    sites = ep.ClutterSites([3.0], OMEGA, CLUTTER_VAR)
    mu, var = 0.5, 4.0
    a = np.linspace(mu - 14 * 2, mu + 14 * 2, 20001)
    log_tilted = sites.log_f(a[None, :])[0] + stats.norm.logpdf(
        a, mu, np.sqrt(var)
    )
    log_tilted -= logsumexp(log_tilted) + np.log(a[1] - a[0])

    def forward_kl(theta):
        # KL(tilted || N(m, s^2)) up to the tilted's entropy, theta = (m, log s)
        return -np.sum(
            np.exp(log_tilted)
            * stats.norm.logpdf(a, theta[0], np.exp(theta[1]))
        ) * (a[1] - a[0])

    res = optimize.minimize(
        forward_kl,
        [0.0, 0.0],
        method="Nelder-Mead",
        options={"xatol": 1e-10, "fatol": 1e-14, "maxiter": 4000},
    )
    _, mean, v = ep.tilted_moments(sites, [mu], [var])
    np.testing.assert_allclose(
        [res.x[0], np.exp(2 * res.x[1])], [mean[0], v[0]], rtol=1e-6
    )


# --------------------------------------------------------------------------------------------
# EP


def _assert_moment_matching(X, sites, prior_var, fit, rtol):
    # at a fixed point every tilted distribution has q's mean and variance of a_n (by quad)
    mu_c, var_c, mu_q, var_q = ep.cavities(
        X, prior_var, fit.site_nu, fit.site_tau
    )
    for n in range(X.shape[0]):
        _, mean, v = _quad_tilted(
            lambda a, n=n: sites.log_f(np.atleast_1d(a), [n]),
            mu_c[n],
            var_c[n],
        )
        np.testing.assert_allclose(
            [mean, v], [mu_q[n], var_q[n]], rtol=rtol, atol=1e-9
        )


@settings(max_examples=12)
@given(
    st.integers(2, 7),
    st.integers(0, 10_000),
    st.floats(-4, 4),
)
def test_every_ep_fixed_point_matches_the_tilted_moments(n, seed, theta):
    x = ep.clutter_simulate(n, theta, OMEGA, CLUTTER_VAR, seed=seed)
    X, sites = np.ones((n, 1)), ep.ClutterSites(x, OMEGA, CLUTTER_VAR)
    fit = ep.ep(X, sites, PRIOR_VAR, damping=0.5, max_sweeps=2000)
    assume(fit.converged)
    _assert_moment_matching(X, sites, PRIOR_VAR, fit, 1e-7)


def test_ep_fixed_points_match_tilted_moments_in_two_dimensions():
    X, t = _regression()
    for sites in [ep.ProbitSites(t), ep.LogisticSites(t)]:
        fit = ep.ep(X, sites, 4.0)
        assert fit.converged
        _assert_moment_matching(X, sites, 4.0, fit, 1e-7)


def test_ep_with_one_site_is_exact():
    # one clutter point, and one probit observation in two dimensions
    x, X, sites = _clutter(1)
    fit = ep.ep(X, sites, PRIOR_VAR)
    exact = ep.clutter_exact(x, OMEGA, CLUTTER_VAR, PRIOR_VAR)
    np.testing.assert_allclose(
        [fit.m[0], fit.S[0, 0], fit.log_evidence],
        [exact.mean, exact.var, exact.log_evidence],
        rtol=1e-12,
    )
    X2, t2 = np.array([[1.0, 0.7]]), np.array([1])
    fit2 = ep.ep(X2, ep.ProbitSites(t2), 4.0)
    grid = ep.grid_posterior(
        X2, ep.ProbitSites(t2), 4.0, [[-20, 20], [-20, 20]], n_grid=801
    )
    np.testing.assert_allclose(fit2.m, grid.mean, atol=1e-9)
    np.testing.assert_allclose(fit2.S, grid.cov, atol=1e-9)
    np.testing.assert_allclose(
        fit2.log_evidence, grid.log_evidence, atol=1e-10
    )


def test_ep_log_evidence_is_the_integral_of_the_prior_times_the_scaled_sites():
    # the formula against a quadrature of N(w | 0, prior_var I) prod_n s_n t_n(a_n)
    x, X, sites = _clutter(6)
    fit = ep.ep(X, sites, PRIOR_VAR)
    mu_c, var_c, mu_q, var_q = ep.cavities(
        X, PRIOR_VAR, fit.site_nu, fit.site_tau
    )
    log_z, _, _ = ep.tilted_moments(sites, mu_c, var_c)
    # s_n makes s_n t_n integrate against the cavity to Z_n
    log_s = log_z - np.log(
        [
            integrate.quad(
                lambda a, n=n: np.exp(
                    fit.site_nu[n] * a
                    - fit.site_tau[n] * a**2 / 2
                    + stats.norm.logpdf(a, mu_c[n], np.sqrt(var_c[n]))
                ),
                -np.inf,
                np.inf,
            )[0]
            for n in range(6)
        ]
    )

    def integrand(w):
        return np.exp(
            stats.norm.logpdf(w, 0.0, np.sqrt(PRIOR_VAR))
            + np.sum(log_s + fit.site_nu * w - fit.site_tau * w**2 / 2)
        )

    ref = np.log(integrate.quad(integrand, -60, 60, points=[fit.m[0]])[0])
    np.testing.assert_allclose(fit.log_evidence, ref, rtol=0, atol=1e-8)


def test_ep_log_evidence_is_close_to_the_exact_one():
    # clutter, N = 16: exact by enumeration; probit in 1-D and 2-D: exact on a grid
    x, X, sites = _clutter(16)
    exact = ep.clutter_exact(x, OMEGA, CLUTTER_VAR, PRIOR_VAR)
    fit = ep.ep(X, sites, PRIOR_VAR)
    assert abs(fit.log_evidence - exact.log_evidence) < 0.01
    X2, t2 = _regression()
    for XX in [X2[:, 1:], X2]:
        sites2 = ep.ProbitSites(t2)
        fit2 = ep.ep(XX, sites2, 4.0)
        sd = np.sqrt(np.diag(fit2.S))
        bounds = np.column_stack([fit2.m - 14 * sd, fit2.m + 14 * sd])
        grid = ep.grid_posterior(XX, sites2, 4.0, bounds, n_grid=601)
        assert abs(fit2.log_evidence - grid.log_evidence) < 0.03
        np.testing.assert_allclose(fit2.m, grid.mean, atol=0.02 * sd.max())


def test_ep_fixed_points_are_stationary_points_of_the_log_evidence():
    x, X, sites = _clutter(8)
    fit = ep.ep(X, sites, PRIOR_VAR)
    assert fit.converged

    def psi(theta):
        return ep.ep_log_evidence(X, sites, PRIOR_VAR, theta[:8], theta[8:])

    theta = np.r_[fit.site_nu, fit.site_tau]
    np.testing.assert_allclose(psi(theta), fit.log_evidence, rtol=1e-14)
    h = 1e-5
    grad = [
        (psi(theta + h * e) - psi(theta - h * e)) / (2 * h) for e in np.eye(16)
    ]
    theta_off = theta * 1.1
    grad_off = [
        (psi(theta_off + h * e) - psi(theta_off - h * e)) / (2 * h)
        for e in np.eye(16)
    ]
    assert np.max(np.abs(grad)) < 1e-6 < 1e-2 < np.max(np.abs(grad_off))


def test_damping_reaches_the_same_fixed_point_and_is_a_geometric_mixture():
    x, X, sites = _clutter(16)
    plain = ep.ep(X, sites, PRIOR_VAR)
    damped = ep.ep(X, sites, PRIOR_VAR, damping=0.4)
    assert plain.converged and damped.converged
    assert damped.n_sweeps > plain.n_sweeps
    np.testing.assert_allclose(damped.m, plain.m, rtol=1e-8)
    np.testing.assert_allclose(damped.S, plain.S, rtol=1e-7)
    # one damped update of a single site: natural parameters (1 - d) old + d matched
    x1, X1, sites1 = _clutter(1)
    exact = ep.clutter_exact(x1, OMEGA, CLUTTER_VAR, PRIOR_VAR)
    nu0, tau0 = np.array([0.3]), np.array([0.2])
    one = ep.ep(
        X1,
        sites1,
        PRIOR_VAR,
        damping=0.3,
        max_sweeps=1,
        site_nu=nu0,
        site_tau=tau0,
    )
    old = np.array([nu0[0], 1 / PRIOR_VAR + tau0[0]])
    matched = np.array([exact.mean / exact.var, 1 / exact.var])
    np.testing.assert_allclose(
        [one.m[0] / one.S[0, 0], 1 / one.S[0, 0]],
        0.7 * old + 0.3 * matched,
        rtol=1e-12,
    )


def test_undamped_ep_fails_where_damped_ep_converges():
    # oscillation: no convergence in 400 sweeps
    x = np.array([-5.0, 0.0, 2.5, -5.0])
    X, sites = np.ones((4, 1)), ep.ClutterSites(x, OMEGA, CLUTTER_VAR)
    plain = ep.ep(X, sites, PRIOR_VAR, max_sweeps=400)
    assert not plain.converged and plain.failure is None
    assert np.ptp(plain.mean_trace[-50:, 0]) > 0.5
    damped = ep.ep(X, sites, PRIOR_VAR, damping=0.5, max_sweeps=400)
    assert damped.converged
    _assert_moment_matching(X, sites, PRIOR_VAR, damped, 1e-7)
    # a negative cavity variance
    x = np.array([4.0, 0.0, 8.0])
    X, sites = np.ones((3, 1)), ep.ClutterSites(x, OMEGA, CLUTTER_VAR)
    plain = ep.ep(X, sites, PRIOR_VAR)
    assert plain.failure is not None and "cavity" in plain.failure
    assert np.isnan(plain.log_evidence) and not plain.converged
    assert ep.ep(X, sites, PRIOR_VAR, damping=0.5).converged


def test_power_ep_tends_to_ep_at_one_and_to_the_elbo_optimum_at_zero():
    X, t = _regression()
    sites = ep.LogisticSites(t)
    fit = ep.ep(X, sites, 4.0)
    vi = ep.gaussian_vi(X, sites, 4.0, m0=fit.m, S0=fit.S)
    gaps = []
    for power in [0.1, 0.01, 0.001]:
        p = ep.ep(X, sites, 4.0, power=power)
        assert p.converged
        gaps.append(np.max(np.abs(p.S - vi.S)))
    # the distance to the ELBO's optimum shrinks in proportion to the power
    assert gaps[0] > 5 * gaps[1] > 25 * gaps[2]
    np.testing.assert_allclose(p.log_evidence, vi.elbo, atol=1e-4)
    np.testing.assert_allclose(p.m, vi.m, atol=1e-4)
    one = ep.ep(X, sites, 4.0, power=1.0)
    np.testing.assert_allclose(one.S, fit.S, rtol=1e-14)


# --------------------------------------------------------------------------------------------
# the comparisons


def test_gaussian_elbo_and_its_optimum_match_chapter_8():
    X, t = _regression()
    sites = ep.LogisticSites(t)
    m, S = np.array([-1.0, 1.2]), np.array([[0.4, -0.1], [-0.1, 0.3]])
    np.testing.assert_allclose(
        ep.gaussian_elbo(X, sites, 4.0, m, S),
        lr.elbo(X, t, 4.0, m, S),
        rtol=1e-11,
    )
    vi = ep.gaussian_vi(X, sites, 4.0)
    assert vi.grad_norm < 1e-6

    def neg(theta):
        L = np.array([[np.exp(theta[2]), 0.0], [theta[3], np.exp(theta[4])]])
        return -lr.elbo(X, t, 4.0, theta[:2], L @ L.T)

    res = optimize.minimize(
        neg, np.zeros(5), method="BFGS", options={"gtol": 1e-9}
    )
    np.testing.assert_allclose(vi.elbo, -res.fun, rtol=0, atol=1e-9)
    L = np.linalg.cholesky(vi.S)
    np.testing.assert_allclose(vi.m, res.x[:2], atol=1e-4)
    assert abs(np.log(L[0, 0]) - res.x[2]) < 1e-4


def test_gaussian_vi_gradient_matches_finite_differences():
    x, X, sites = _clutter(5)
    m, S = np.array([1.5]), np.array([[0.6]])
    h = 1e-6
    fd_m = (
        ep.gaussian_elbo(X, sites, PRIOR_VAR, m + h, S)
        - ep.gaussian_elbo(X, sites, PRIOR_VAR, m - h, S)
    ) / (2 * h)
    fd_S = (
        ep.gaussian_elbo(X, sites, PRIOR_VAR, m, S + h)
        - ep.gaussian_elbo(X, sites, PRIOR_VAR, m, S - h)
    ) / (2 * h)
    g1 = ep.gaussian_expectation(
        sites, np.full(5, 1.5), np.full(5, 0.6), "d_log_f"
    )
    g2 = ep.gaussian_expectation(
        sites, np.full(5, 1.5), np.full(5, 0.6), "d2_log_f"
    )
    np.testing.assert_allclose(fd_m, g1.sum() - m[0] / PRIOR_VAR, rtol=1e-6)
    np.testing.assert_allclose(
        fd_S, 0.5 * (g2.sum() - 1 / PRIOR_VAR + 1 / S[0, 0]), rtol=1e-6
    )


def test_laplace_and_grid_match_chapter_8():
    X, t = _regression()
    sites = ep.LogisticSites(t)
    lap, ref = ep.laplace(X, sites, 4.0), lr.laplace(X, t, 4.0)
    np.testing.assert_allclose(lap.mode, ref.mode, atol=1e-9)
    np.testing.assert_allclose(lap.cov, ref.cov, rtol=1e-8)
    np.testing.assert_allclose(lap.log_evidence, ref.log_evidence, rtol=1e-11)
    exact = lr.grid_posterior(X, t, 4.0)
    sd = np.sqrt(np.diag(exact.cov))
    bounds = np.column_stack([exact.mean - 14 * sd, exact.mean + 14 * sd])
    grid = ep.grid_posterior(X, sites, 4.0, bounds, n_grid=501)
    np.testing.assert_allclose(
        grid.log_evidence, exact.log_evidence, atol=1e-9
    )
    np.testing.assert_allclose(grid.mean, exact.mean, rtol=1e-8)
    np.testing.assert_allclose(grid.cov, exact.cov, rtol=1e-7)


def test_laplace_finds_a_clutter_mode():
    x, X, sites = _clutter(16)
    lap = ep.laplace(X, sites, PRIOR_VAR, w0=[2.0])
    h = 1e-5
    w = lap.mode[0]

    def lj(w):
        return sites.log_f(np.full(16, w)).sum() + stats.norm.logpdf(
            w, 0, np.sqrt(PRIOR_VAR)
        )

    assert abs(lj(w + h) - lj(w - h)) / (2 * h) < 1e-7
    curvature = (lj(w + h) - 2 * lj(w) + lj(w - h)) / h**2
    np.testing.assert_allclose(lap.cov[0, 0], -1 / curvature, rtol=1e-4)


# --------------------------------------------------------------------------------------------
# the clutter problem's exact answer


@given(st.integers(1, 9), st.integers(0, 10_000))
def test_clutter_exact_by_enumeration_equals_quadrature(n, seed):
    x, X, sites = _clutter(n, seed)
    exact = ep.clutter_exact(x, OMEGA, CLUTTER_VAR, PRIOR_VAR)
    grid = ep.grid_posterior(
        X, sites, PRIOR_VAR, [[-80.0, 80.0]], n_grid=16001
    )
    np.testing.assert_allclose(
        [exact.log_evidence, exact.mean, exact.var],
        [grid.log_evidence, grid.mean[0], grid.cov[0, 0]],
        rtol=1e-9,
        atol=1e-9,
    )


def test_clutter_exact_matches_every_assignment_as_a_joint_gaussian():
    # log p(x, s) for each s through scipy's multivariate normal of all N points
    x, _, _ = _clutter(4, seed=7)
    terms = []
    for code in range(16):
        s = np.array([(code >> i) & 1 for i in range(4)], dtype=bool)
        cov = np.diag(np.where(s, 1.0, CLUTTER_VAR)) + PRIOR_VAR * np.outer(
            s, s
        )
        terms.append(
            s.sum() * np.log(1 - OMEGA)
            + (~s).sum() * np.log(OMEGA)
            + stats.multivariate_normal(np.zeros(4), cov).logpdf(x)
        )
    exact = ep.clutter_exact(x, OMEGA, CLUTTER_VAR, PRIOR_VAR)
    np.testing.assert_allclose(
        exact.log_evidence, logsumexp(terms), rtol=1e-12
    )


def test_clutter_simulate_is_seeded():
    a = ep.clutter_simulate(500, 2.0, seed=4)
    np.testing.assert_array_equal(a, ep.clutter_simulate(500, 2.0, seed=4))
    assert not np.array_equal(a, ep.clutter_simulate(500, 2.0, seed=5))
    # about half signal, near 2 with unit spread
    assert 0.3 < np.mean(np.abs(a - 2.0) < 1.0) < 0.5


# --------------------------------------------------------------------------------------------
# alpha-divergences


def _grid_2d(lim=20.0, n=201):
    g = np.linspace(-lim, lim, n)
    P = np.stack(np.meshgrid(g, g, indexing="ij"), axis=-1)
    return P, (g[1] - g[0]) ** 2


def _mixture(P, cell):
    comps = [
        (0.6, [2.0, 1.5], [[0.8, 0.4], [0.4, 0.8]]),
        (0.4, [-2.5, -2.0], [[0.6, 0.0], [0.0, 0.6]]),
    ]
    lp = logsumexp(
        [
            np.log(w) + stats.multivariate_normal(m, S).logpdf(P)
            for w, m, S in comps
        ],
        axis=0,
    )
    return lp - logsumexp(lp) - np.log(cell)


@settings(max_examples=12)
@given(st.one_of(st.sampled_from([0.0, 1.0]), st.floats(1e-3, 1 - 1e-3)))
def test_alpha_divergence_equals_its_definition_by_quad(alpha):
    p, q = stats.norm(0.3, 1.2), stats.norm(-0.5, 0.8)
    a = np.linspace(-30, 30, 6001)
    got = ep.alpha_divergence(p.logpdf(a), q.logpdf(a), alpha, a[1] - a[0])
    if alpha in (0.0, 1.0):
        first, second = (q, p) if alpha == 0.0 else (p, q)
        ref = integrate.quad(
            lambda z: first.pdf(z) * (first.logpdf(z) - second.logpdf(z)),
            -30,
            30,
        )[0]
    else:
        ref = integrate.quad(
            lambda z: (
                alpha * p.pdf(z)
                + (1 - alpha) * q.pdf(z)
                - p.pdf(z) ** alpha * q.pdf(z) ** (1 - alpha)
            ),
            -30,
            30,
            epsabs=1e-14,
        )[0] / (alpha * (1 - alpha))
    np.testing.assert_allclose(got, ref, rtol=1e-7, atol=1e-12)


def test_alpha_divergence_tends_to_the_two_kls():
    P, cell = _grid_2d()
    lp = _mixture(P, cell)
    lq = stats.multivariate_normal(
        [0.5, 0.0], [[3.0, 1.0], [1.0, 2.0]]
    ).logpdf(P)
    kl_qp = ep.alpha_divergence(lp, lq, 0.0, cell)
    kl_pq = ep.alpha_divergence(lp, lq, 1.0, cell)
    for eps in [1e-4, 1e-6]:
        np.testing.assert_allclose(
            ep.alpha_divergence(lp, lq, eps, cell), kl_qp, rtol=10 * eps
        )
        np.testing.assert_allclose(
            ep.alpha_divergence(lp, lq, 1 - eps, cell), kl_pq, rtol=10 * eps
        )
    assert kl_qp != pytest.approx(kl_pq, rel=0.05)


def test_alpha_projection_limits_and_stationarity():
    P, cell = _grid_2d()
    lp = _mixture(P, cell)
    mm = ep.alpha_projection(lp, P, cell, 1.0, np.zeros(2), np.eye(2))
    # the moment match in closed form
    np.testing.assert_allclose(mm.m, [0.2, 0.1], atol=1e-10)
    near_one = ep.alpha_projection(lp, P, cell, 0.999, mm.m, mm.S)
    np.testing.assert_allclose(near_one.S, mm.S, rtol=2e-3)
    mode = np.array([2.0, 1.5])
    rev = ep.alpha_projection(lp, P, cell, 0.0, mode, np.eye(2))
    near_zero = ep.alpha_projection(lp, P, cell, 1e-3, mode, np.eye(2))
    np.testing.assert_allclose(near_zero.m, rev.m, atol=1e-3)
    np.testing.assert_allclose(near_zero.S, rev.S, atol=1e-3)
    # the reverse-KL fit against Nelder-Mead on scipy's densities
    Pf, lpf = P.reshape(-1, 2), lp.ravel()

    def kl(theta):
        L = np.array([[np.exp(theta[2]), 0.0], [theta[3], np.exp(theta[4])]])
        lq = stats.multivariate_normal(theta[:2], L @ L.T).logpdf(Pf)
        return np.sum(np.exp(lq) * (lq - lpf)) * cell

    L0 = np.linalg.cholesky(rev.S)
    start = np.r_[rev.m + 0.1, np.log(L0[0, 0]), L0[1, 0], np.log(L0[1, 1])]
    res = optimize.minimize(
        kl,
        start,
        method="Nelder-Mead",
        options={"xatol": 1e-9, "fatol": 1e-13, "maxiter": 6000},
    )
    np.testing.assert_allclose(res.x[:2], rev.m, atol=1e-5)
    # stationarity: E_q[T] = E[T] under p^alpha q^(1 - alpha), normalised
    half = ep.alpha_projection(lp, P, cell, 0.5, mm.m, mm.S)
    lq = stats.multivariate_normal(half.m, half.S).logpdf(Pf)
    lw = 0.5 * lpf + 0.5 * lq
    w = np.exp(lw - logsumexp(lw))
    mean = w @ Pf
    np.testing.assert_allclose(mean, half.m, atol=1e-6)
    np.testing.assert_allclose(
        ((Pf - mean).T * w) @ (Pf - mean), half.S, atol=1e-6
    )


# --------------------------------------------------------------------------------------------
# bad input


def test_bad_input_is_named():
    x, X, sites = _clutter(4)
    with pytest.raises(ValueError, match="omega"):
        ep.ClutterSites(x, 1.5, CLUTTER_VAR)
    with pytest.raises(ValueError, match="clutter_var"):
        ep.ClutterSites(x, OMEGA, -1.0)
    with pytest.raises(ValueError, match="x"):
        ep.ClutterSites([1.0, np.nan])
    with pytest.raises(ValueError, match="t"):
        ep.ProbitSites([0, 2])
    with pytest.raises(ValueError, match="t"):
        ep.LogisticSites([[0, 1]])
    with pytest.raises(TypeError, match="sites"):
        ep.ep(X, "clutter", PRIOR_VAR)
    with pytest.raises(ValueError, match="sites"):
        ep.ep(np.ones((3, 1)), sites, PRIOR_VAR)
    with pytest.raises(ValueError, match="prior_var"):
        ep.ep(X, sites, 0.0)
    with pytest.raises(ValueError, match="power"):
        ep.ep(X, sites, PRIOR_VAR, power=1.5)
    with pytest.raises(ValueError, match="damping"):
        ep.ep(X, sites, PRIOR_VAR, damping=0.0)
    with pytest.raises(TypeError, match="max_sweeps"):
        ep.ep(X, sites, PRIOR_VAR, max_sweeps=2.5)
    with pytest.raises(ValueError, match="site_nu and site_tau"):
        ep.ep(X, sites, PRIOR_VAR, site_nu=np.zeros(4))
    with pytest.raises(ValueError, match="site_tau"):
        ep.ep(X, sites, PRIOR_VAR, site_nu=np.zeros(4), site_tau=np.zeros(3))
    with pytest.raises(ValueError, match="site_tau"):
        ep.ep_log_evidence(X, sites, PRIOR_VAR, np.zeros(4), np.full(4, -1.0))
    with pytest.raises(ValueError, match="var"):
        ep.tilted_moments(sites, np.zeros(4), np.zeros(4))
    with pytest.raises(ValueError, match="method"):
        ep.tilted_moments(sites, np.zeros(4), np.ones(4), method="exact")
    with pytest.raises(ValueError, match="closed"):
        ep.tilted_moments(ep.LogisticSites([1]), [0.0], [1.0], method="closed")
    with pytest.raises(ValueError, match="idx"):
        ep.tilted_moments(sites, [0.0], [1.0], idx=[7])
    with pytest.raises(ValueError, match="n_grid"):
        ep.tilted_moments(sites, np.zeros(4), np.ones(4), n_grid=5)
    with pytest.raises(ValueError, match="which"):
        ep.gaussian_expectation(sites, np.zeros(4), np.ones(4), "f")
    with pytest.raises(ValueError, match="bounds"):
        ep.grid_posterior(X, sites, PRIOR_VAR, [[1.0, -1.0]])
    with pytest.raises(ValueError, match="n_grid"):
        ep.grid_posterior(X, sites, PRIOR_VAR, [[-1.0, 1.0]], n_grid=10**9)
    with pytest.raises(ValueError, match="S"):
        ep.gaussian_elbo(X, sites, PRIOR_VAR, [0.0], [[-1.0]])
    with pytest.raises(ValueError, match="w0"):
        ep.laplace(X, sites, PRIOR_VAR, w0=[0.0, 1.0])
    with pytest.raises(ValueError, match="max_assignments"):
        ep.clutter_exact(np.zeros(21), OMEGA, CLUTTER_VAR, PRIOR_VAR)
    with pytest.raises(ValueError, match="n"):
        ep.clutter_simulate(0, 2.0)
    with pytest.raises(TypeError, match="seed"):
        ep.clutter_simulate(3, 2.0, seed="a")
    P, cell = _grid_2d(n=41)
    lp = _mixture(P, cell)
    with pytest.raises(ValueError, match="alpha"):
        ep.alpha_divergence(lp, lp, 1.5, cell)
    with pytest.raises(ValueError, match="log_q"):
        ep.alpha_divergence(lp, lp[:-1], 0.5, cell)
    with pytest.raises(ValueError, match="log_p"):
        ep.alpha_projection(lp + 1.0, P, cell, 0.5, np.zeros(2), np.eye(2))
    with pytest.raises(ValueError, match="points"):
        ep.alpha_projection(lp, P[:-1], cell, 0.5, np.zeros(2), np.eye(2))
