"""Tests of CAVI, the closed-form ELBO and the Gibbs sampler in vitutor.gmm (chapter 4).

Independent routes: the naive softmax formula for phi; scipy.optimize for the optimal q(mu) and
q(c_i); Monte Carlo draws from q for the ELBO (scipy.stats densities written out here); central
finite differences for the gradient at a fixed point; enumeration of all assignments
(vitutor.discrete on log_joint_assignments, log_evidence_exact) for the exact posterior; a grid
over the means for the exact posterior moments of mu.
"""

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy.integrate import quad
from scipy.optimize import minimize
from scipy.special import logsumexp, softmax
from scipy.stats import norm

from vitutor import discrete, gmm

# --- helpers: independent routes ------------------------------------------------------------


def log_joint_by_scipy(x, c, mu, prior_var):
    """log p(x, c, mu) for S draws: c (S, n), mu (S, K)."""
    K = mu.shape[1]
    mu_c = np.take_along_axis(mu, c, axis=1)
    return (
        norm.logpdf(mu, 0.0, np.sqrt(prior_var)).sum(axis=1)
        - x.size * np.log(K)
        + norm.logpdf(x[None, :], mu_c, 1.0).sum(axis=1)
    )


def elbo_by_monte_carlo(x, phi, m, s2, prior_var, draws, rng):
    """Mean and standard error of log p(x, c, mu) - log q(c, mu) over draws from q."""
    n, K = phi.shape
    mu = m + np.sqrt(s2) * rng.standard_normal((draws, K))
    cdf = np.cumsum(phi, axis=1)
    c = np.minimum(
        (cdf[None, :, :] <= rng.random((draws, n, 1))).sum(axis=2), K - 1
    )
    with np.errstate(divide="ignore"):
        log_q_c = np.log(
            np.take_along_axis(
                np.broadcast_to(phi, (draws, n, K)), c[:, :, None], axis=2
            )
        )[:, :, 0]
    log_q = log_q_c.sum(axis=1) + norm.logpdf(mu, m, np.sqrt(s2)).sum(axis=1)
    values = log_joint_by_scipy(x, c, mu, prior_var) - log_q
    return values.mean(), values.std(ddof=1) / np.sqrt(draws)


def elbo_of_parameters(x, theta, K, prior_var):
    """ELBO as a function of unconstrained (m, log s2, softmax logits of phi)."""
    n = x.size
    m, log_s2, logits = (
        theta[:K],
        theta[K : 2 * K],
        theta[2 * K :].reshape(n, K),
    )
    return gmm.elbo(x, softmax(logits, axis=1), m, np.exp(log_s2), prior_var)


def central_gradient(f, theta, h=1e-5):
    grad = np.empty_like(theta)
    for j in range(theta.size):
        e = np.zeros_like(theta)
        e[j] = h
        grad[j] = (f(theta + e) - f(theta - e)) / (2 * h)
    return grad


def well_separated(n=8, seed=3):
    rng = np.random.default_rng(seed)
    centres = np.array([-6.0, 0.0, 6.0])
    return centres[np.arange(n) % 3] + 0.7 * rng.standard_normal(n)


small_problems = st.tuples(
    st.integers(1, 4),
    st.lists(st.floats(-8, 8, allow_nan=False), min_size=1, max_size=25),
    st.floats(0.05, 50.0),
    st.integers(0, 2**16),
)


# --- the single updates ---------------------------------------------------------------------


def test_update_assignments_matches_the_naive_softmax_formula():
    rng = np.random.default_rng(0)
    x, m, s2 = (
        rng.normal(0, 3, 50),
        rng.normal(0, 3, 4),
        rng.uniform(0.1, 2, 4),
    )
    logits = np.outer(x, m) - 0.5 * (s2 + m**2)
    expected = np.exp(logits - logits.max(axis=1, keepdims=True))
    expected /= expected.sum(axis=1, keepdims=True)
    np.testing.assert_allclose(
        gmm.update_assignments(x, m, s2), expected, rtol=1e-12, atol=1e-15
    )


def test_update_assignments_maximises_the_elbo_over_each_phi_row():
    rng = np.random.default_rng(1)
    x, m, s2, prior_var = (
        rng.normal(0, 2, 4),
        rng.normal(0, 2, 3),
        rng.uniform(0.2, 1, 3),
        3.0,
    )
    phi = gmm.update_assignments(x, m, s2)
    theta0 = np.zeros(x.size * 3)

    def neg(logits):
        return -gmm.elbo(
            x, softmax(logits.reshape(-1, 3), axis=1), m, s2, prior_var
        )

    best = minimize(neg, theta0, method="BFGS", options={"gtol": 1e-10})
    np.testing.assert_allclose(
        softmax(best.x.reshape(-1, 3), axis=1), phi, atol=1e-5
    )


def test_update_means_maximises_the_elbo_over_m_and_s2():
    rng = np.random.default_rng(2)
    x, prior_var = rng.normal(0, 2, 12), 2.5
    phi = rng.dirichlet(np.ones(3), size=12)
    m, s2 = gmm.update_means(x, phi, prior_var)

    def neg(theta):
        return -gmm.elbo(x, phi, theta[:3], np.exp(theta[3:]), prior_var)

    best = minimize(neg, np.zeros(6), method="BFGS", options={"gtol": 1e-10})
    np.testing.assert_allclose(best.x[:3], m, atol=1e-5)
    np.testing.assert_allclose(np.exp(best.x[3:]), s2, rtol=1e-5)


def test_one_iteration_is_update_means_then_update_assignments():
    rng = np.random.default_rng(3)
    x, phi0 = rng.normal(0, 3, 40), rng.dirichlet(np.ones(3), size=40)
    m, s2 = gmm.update_means(x, phi0, 4.0)
    phi = gmm.update_assignments(x, m, s2)
    result = gmm.cavi(x, 3, 4.0, init_phi=phi0, max_iter=1)
    np.testing.assert_allclose(result.m, m, rtol=1e-12)
    np.testing.assert_allclose(result.s2, s2, rtol=1e-12)
    np.testing.assert_allclose(result.phi, phi, rtol=1e-12, atol=1e-15)


def test_block_size_does_not_change_the_fit():
    x = gmm.simulate(1000, 4, 10.0, seed=4).x
    a = gmm.cavi(x, 4, 10.0, seed=0, block_size=7)
    b = gmm.cavi(x, 4, 10.0, seed=0)
    np.testing.assert_allclose(a.elbo_trace, b.elbo_trace, rtol=1e-12)
    np.testing.assert_allclose(a.phi, b.phi, atol=1e-12)


def estep_by_scipy(x, m, s2):
    """counts, sums, data of the E-step from scipy's softmax and logsumexp over (n, K) logits."""
    log_w = -0.5 * ((x[:, None] - m[None, :]) ** 2 + s2[None, :])
    phi = softmax(log_w, axis=1)
    return phi, phi.sum(axis=0), x @ phi, logsumexp(log_w, axis=1).sum()


@pytest.mark.parametrize("block", [1, 7, 64, 10_000])
@pytest.mark.parametrize(
    "loc, scale, form",
    [
        (0.0, 4.0, "outer"),
        (1e6, 2.0, "outer"),
        (0.0, 30.0, "product"),
        (0.0, 300.0, "difference"),
    ],
)
def test_estep_statistics_match_scipy_softmax_and_logsumexp(
    block, loc, scale, form
):
    rng = np.random.default_rng(11)
    x, m, s2 = (
        loc + rng.normal(0, scale, 1000),
        loc + rng.normal(0, scale, 6),
        rng.uniform(0.01, 2, 6),
    )
    # each of the three ways of forming the exponent is tested
    assert gmm._exponent_plan(gmm._centre(x), m, s2) == form
    phi, counts, sums, data = estep_by_scipy(x, m, s2)
    out = np.empty_like(phi)
    got = gmm._estep_statistics(gmm._centre(x), m, s2, block, phi_out=out)
    np.testing.assert_allclose(got[0], counts, rtol=1e-13)
    np.testing.assert_allclose(
        got[1], sums, rtol=1e-13, atol=1e-13 * np.abs(x).sum()
    )
    np.testing.assert_allclose(got[2], data, rtol=1e-13)
    np.testing.assert_allclose(out, phi, rtol=1e-13, atol=1e-15)


@pytest.mark.parametrize(
    "far, form",
    [
        ([55.0, -60.0, 40.0, 48.0, -45.0], "outer"),
        ([150.0, -160.0, 140.0, 148.0, -145.0], "product"),
        ([55.0, -60.0, 1e4, -1e4, 40.0], "difference"),
    ],
)
def test_estep_rows_far_from_every_mean_are_not_lost(far, form):
    # energies from about 40^2 / 2 to 1e4^2 / 2: the unshifted row sums underflow (to 0 or below
    # _UNDERFLOW).  The outer form keeps -x_i^2 / 2 in log space, so its rows cannot underflow;
    # the other two must take the max-shifted path for these rows without disturbing the others
    rng = np.random.default_rng(12)
    m, s2 = np.array([-2.0, 0.5, 3.0]), np.array([0.3, 0.2, 0.5])
    x = rng.permutation(np.concatenate([rng.normal(0, 2, 40), far]))
    assert gmm._exponent_plan(gmm._centre(x), m, s2) == form
    energy = 0.5 * ((x[:, None] - m) ** 2 + s2)
    assert (
        np.sum(np.exp(-energy).sum(axis=1) < gmm._UNDERFLOW) == 5
    )  # the path is exercised
    phi, counts, sums, data = estep_by_scipy(x, m, s2)
    # 45 rows: one log per row; 48 (a multiple of gmm._LOG_GROUP): logs of grouped products
    for block in (4, 45, 48):
        out = np.empty_like(phi)
        got = gmm._estep_statistics(gmm._centre(x), m, s2, block, phi_out=out)
        assert np.all(np.isfinite(out))
        np.testing.assert_allclose(out, phi, rtol=1e-13, atol=1e-15)
        np.testing.assert_allclose(got[0], counts, rtol=1e-13)
        np.testing.assert_allclose(got[1], sums, rtol=1e-13)
        np.testing.assert_allclose(got[2], data, rtol=1e-13)


def test_outer_form_bound_holds_for_every_factor():
    # the outer form's promise: every exp(a_k x'_i), exp(b_k) and their product is a normal
    # float within e**(+-600), checked on data near the edge of where the form is taken
    rng = np.random.default_rng(13)
    x = rng.uniform(-20.0, 20.0, 500)
    m, s2 = np.array([-14.0, 0.0, 14.5]), np.array([0.5, 0.1, 2.0])
    data = gmm._centre(x)
    assert gmm._exponent_plan(data, m, s2) == "outer"
    a, b = m - data.c, -0.5 * ((m - data.c) ** 2 + s2)
    exponents = np.multiply.outer(a, data.xc)
    assert np.abs(exponents).max() > 250  # near the edge
    assert np.abs(b[:, None] + exponents).max() <= gmm._OUTER_RANGE
    assert np.abs(b).max() <= gmm._OUTER_RANGE
    # and one step wider it is not taken
    assert gmm._exponent_plan(gmm._centre(3.0 * x), 3.0 * m, s2) != "outer"


@pytest.mark.parametrize(
    "lo, hi, group",
    [
        (0.5, 10.0, 8),
        (2.0**-100, 10.0, 8),
        (1e-3, 1e3, 8),
        (1e-60, 1e60, 5),
        (1e-150, 1e150, 2),
        (2.0**-890, 1e-200, 1),
    ],
)
def test_sum_of_logs_by_grouped_products_matches_math_log(lo, hi, group):
    # the group size is the largest (up to eight) whose partial products stay within
    # e**(+-700), normal floats; 61 values leave a tail for every group size but one
    r = np.exp(np.random.default_rng(3).uniform(np.log(lo), np.log(hi), 61))
    span = max(-np.log(r.min()), np.log(r.max()), 1.0)
    assert min(gmm._LOG_GROUP, int(gmm._LOG_RANGE // span)) == group
    expected = math.fsum(math.log(v) for v in r)
    got = gmm._sum_log(r)
    assert np.isfinite(got)
    np.testing.assert_allclose(got, expected, rtol=1e-13)


@pytest.mark.parametrize(
    "tol, max_iter", [(1e-10, 1000), (0.0, 25), (1e-3, 1000), (1e-15, 3)]
)
def test_returned_phi_is_the_optimum_for_the_returned_q_mu(tol, max_iter):
    x = gmm.simulate(2000, 4, 10.0, seed=6).x
    result = gmm.cavi(x, 4, 10.0, seed=1, tol=tol, max_iter=max_iter)
    np.testing.assert_allclose(
        result.phi,
        gmm.update_assignments(x, result.m, result.s2),
        rtol=1e-13,
        atol=1e-300,
    )
    expected = gmm.elbo(x, result.phi, result.m, result.s2, 10.0)
    np.testing.assert_allclose(result.elbo_trace[-1], expected, rtol=1e-12)


def test_cavi_writes_phi_in_its_last_estep_not_in_an_extra_one(monkeypatch):
    calls = []
    estep = gmm._estep_statistics

    def counting(x, m, s2, block, phi_out=None):
        calls.append(phi_out is not None)
        return estep(x, m, s2, block, phi_out=phi_out)

    monkeypatch.setattr(gmm, "_estep_statistics", counting)
    x = gmm.simulate(5000, 3, 25.0, seed=5).x
    for kwargs in ({"tol": 1e-12}, {"tol": 0.0, "max_iter": 30}):
        calls.clear()
        result = gmm.cavi(x, 3, 25.0, seed=0, **kwargs)
        # one E-step from the initial means, then one per iteration; only the last writes phi
        assert (
            len(calls) == result.n_iter + 1 and calls[-1] and sum(calls) == 1
        )


# --- the ELBO -------------------------------------------------------------------------------


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_closed_form_elbo_matches_monte_carlo_within_four_standard_errors(
    seed,
):
    rng = np.random.default_rng(seed)
    n, K, prior_var = 15, 3, 5.0
    x = gmm.simulate(n, K, prior_var, seed=seed).x
    phi = rng.dirichlet(np.ones(K), size=n)
    m, s2 = rng.normal(0, 2, K), rng.uniform(0.1, 2.0, K)
    mean, se = elbo_by_monte_carlo(x, phi, m, s2, prior_var, 40_000, rng)
    assert abs(gmm.elbo(x, phi, m, s2, prior_var) - mean) < 4 * se


def test_log_joint_integrates_to_the_enumerated_joint_of_assignments():
    x, prior_var = np.array([0.3, -1.2, 2.0]), 2.0
    c = np.array([1, 0, 1])
    table = gmm.log_joint_assignments(x, 2, prior_var)

    def integrand(mu0, mu1):
        return np.exp(gmm.log_joint(x, c, np.array([mu0, mu1]), prior_var))

    inner = lambda mu1: quad(lambda mu0: integrand(mu0, mu1), -15, 15)[0]  # noqa: E731
    value = quad(inner, -15, 15)[0]
    np.testing.assert_allclose(np.log(value), table[1, 0, 1], rtol=1e-7)


def test_log_joint_broadcasts_over_draws():
    x = np.array([0.5, -1.0])
    c, mu = np.array([[0, 1], [1, 1]]), np.array([[0.2, -0.4], [1.0, 0.0]])
    expected = log_joint_by_scipy(x, c, mu, 3.0)
    np.testing.assert_allclose(
        gmm.log_joint(x, c, mu, 3.0), expected, rtol=1e-12
    )


@given(small_problems)
def test_elbo_trace_never_decreases(problem):
    K, x, prior_var, seed = problem
    result = gmm.cavi(np.array(x), K, prior_var, seed=seed, max_iter=200)
    trace = result.elbo_trace
    assert np.all(np.isfinite(trace))
    assert np.all(np.diff(trace) >= -1e-12 * np.abs(trace[1:]))


@given(small_problems)
def test_last_trace_value_is_the_elbo_of_the_returned_q(problem):
    K, x, prior_var, seed = problem
    x = np.array(x)
    result = gmm.cavi(x, K, prior_var, seed=seed, max_iter=50)
    expected = gmm.elbo(x, result.phi, result.m, result.s2, prior_var)
    np.testing.assert_allclose(
        result.elbo_trace[-1], expected, rtol=1e-10, atol=1e-10
    )


@given(
    st.integers(1, 3),
    st.lists(st.floats(-6, 6, allow_nan=False), min_size=1, max_size=6),
    st.floats(0.1, 20.0),
    st.integers(0, 1000),
)
def test_elbo_is_below_the_exact_log_evidence(K, x, prior_var, seed):
    x = np.array(x)
    rng = np.random.default_rng(seed)
    log_px = gmm.log_evidence_exact(x, K, prior_var)
    fitted = gmm.cavi(x, K, prior_var, seed=seed)
    assert fitted.elbo_trace[-1] <= log_px + 1e-9
    phi = rng.dirichlet(np.ones(K), size=x.size)
    assert (
        gmm.elbo(
            x, phi, rng.normal(0, 2, K), rng.uniform(0.1, 3, K), prior_var
        )
        <= log_px
    )


def test_single_point_single_component_elbo_reaches_the_evidence():
    # K = 1, n = 1: q(mu) = exact posterior N(x/(1+1/sigma^2), 1/(1+1/sigma^2)), so the gap is 0
    x, prior_var = np.array([1.7]), 2.0
    result = gmm.cavi(x, 1, prior_var, max_iter=5, tol=0.0)
    exact = norm.logpdf(1.7, 0.0, np.sqrt(1 + prior_var))
    np.testing.assert_allclose(result.elbo_trace[-1], exact, rtol=1e-12)


def test_gradient_is_zero_at_a_fixed_point_and_not_before():
    x, K, prior_var = well_separated(), 3, 10.0
    n = x.size
    converged = gmm.cavi(x, K, prior_var, seed=0, tol=1e-15, max_iter=5000)
    assert converged.converged
    early = gmm.cavi(x, K, prior_var, seed=0, max_iter=1)

    def theta(r):
        return np.concatenate([r.m, np.log(r.s2), np.log(r.phi).ravel()])

    f = lambda t: elbo_of_parameters(x, t, K, prior_var)  # noqa: E731
    assert np.max(np.abs(central_gradient(f, theta(converged)))) < 1e-5
    assert np.max(np.abs(central_gradient(f, theta(early)))) > 1e-2
    assert n * K + 2 * K == theta(converged).size


# --- exact posterior on tiny data -----------------------------------------------------------


def test_exact_assignment_marginals_are_uniform_so_compare_coassignments():
    x, K, prior_var = well_separated(6), 3, 10.0
    log_post = discrete.posterior(gmm.log_joint_assignments(x, K, prior_var))
    post = np.exp(log_post)
    n = x.size
    marginals = np.stack(
        [post.sum(axis=tuple(j for j in range(n) if j != i)) for i in range(n)]
    )
    np.testing.assert_allclose(
        marginals, 1.0 / K, atol=1e-12
    )  # label symmetry
    c = np.array(
        np.unravel_index(np.arange(post.size), post.shape)
    )  # (n, K**n)
    # same[i, j] = p(c_i = c_j | x), a label-invariant summary
    same = (c[:, None, :] == c[None, :, :]).astype(float) @ post.ravel()
    best = max(
        (gmm.cavi(x, K, prior_var, seed=s) for s in range(5)),
        key=lambda r: r.elbo_trace[-1],
    )
    approx = best.phi @ best.phi.T  # q(c_i = c_j) for i != j
    off = ~np.eye(n, dtype=bool)
    np.testing.assert_array_equal(
        approx[off] > 0.5, same[off] > 0.5
    )  # same clustering
    assert np.max(np.abs(approx[off] - same[off])) < 0.06


def test_mean_posterior_exact_matches_a_grid_over_the_means():
    x, K, prior_var = np.array([-1.5, 0.4, 2.2]), 2, 3.0
    weights, loc, var = gmm.mean_posterior_exact(x, K, prior_var)
    h = 0.05
    grid = np.arange(-12, 12, h)
    log_lik = np.log(
        0.5
        * (
            norm.pdf(x[:, None, None], grid[None, :, None], 1)
            + norm.pdf(x[:, None, None], grid[None, None, :], 1)
        )
    ).sum(0)
    log_f = (
        log_lik
        + norm.logpdf(grid, 0, np.sqrt(prior_var))[:, None]
        + norm.logpdf(grid, 0, np.sqrt(prior_var))[None, :]
    )
    p = np.exp(log_f - logsumexp(log_f))
    mu0 = grid[:, None]
    mu1 = grid[None, :]
    np.testing.assert_allclose(weights @ loc[:, 0], np.sum(p * mu0), atol=1e-8)
    np.testing.assert_allclose(
        weights @ (var[:, 0] + loc[:, 0] ** 2), np.sum(p * mu0**2), rtol=1e-8
    )
    np.testing.assert_allclose(
        weights @ (loc[:, 0] * loc[:, 1]),
        np.sum(p * mu0 * mu1),
        rtol=1e-7,
        atol=1e-8,
    )
    np.testing.assert_allclose(weights.sum(), 1.0, rtol=1e-12)


# --- Gibbs ----------------------------------------------------------------------------------


def batch_mean_and_se(values, batches=20):
    means = (
        values[: values.size // batches * batches]
        .reshape(batches, -1)
        .mean(axis=1)
    )
    return means.mean(), means.std(ddof=1) / np.sqrt(batches)


def test_gibbs_matches_the_exact_posterior_on_tiny_data():
    x, K, prior_var = np.array([-2.0, -1.1, 0.3, 1.8, 2.6]), 2, 4.0
    weights, loc, var = gmm.mean_posterior_exact(x, K, prior_var)
    run = gmm.gibbs(
        x, K, prior_var, n_sweeps=20_000, seed=0, keep_assignments=True
    )
    mu, c = run.mu[1000:], run.c[1000:]
    # label-invariant summaries: sum_k mu_k, sum_k mu_k^2, P(c_1 = c_5)
    exact = [
        weights @ loc.sum(axis=1),
        weights @ (var + loc**2).sum(axis=1),
    ]
    sampled = [mu.sum(axis=1), (mu**2).sum(axis=1)]
    for e, s in zip(exact, sampled, strict=True):
        mean, se = batch_mean_and_se(s)
        assert abs(mean - e) < 5 * se
    post = weights.reshape((K,) * x.size)
    same_exact = post[0, ..., 0].sum() + post[1, ..., 1].sum()
    mean, se = batch_mean_and_se((c[:, 0] == c[:, -1]).astype(float))
    assert abs(mean - same_exact) < 5 * se


def test_gibbs_is_reproducible_and_shaped():
    x = gmm.simulate(30, 3, 5.0, seed=1).x
    a = gmm.gibbs(x, 3, 5.0, 10, seed=4)
    b = gmm.gibbs(x, 3, 5.0, 10, seed=4)
    np.testing.assert_array_equal(a.mu, b.mu)
    assert a.mu.shape == (10, 3) and a.c_last.shape == (30,) and a.c is None
    assert a.c_last.min() >= 0 and a.c_last.max() <= 2


# --- extreme but valid data -----------------------------------------------------------------


@pytest.mark.parametrize(
    "x, K",
    [
        (1e6 + np.array([0.0, 0.5, 3.0, 3.2, -2.0, 1e3]), 3),
        (np.repeat([1.0, -2.0], 50), 2),
        (np.repeat([1.0, -2.0], 50), 5),
        (np.array([4.0, 4.0, 4.0]), 6),
        (np.array([-1e6, 1e6, 0.0]), 3),
    ],
)
def test_extreme_data_give_finite_results_and_a_non_decreasing_elbo(x, K):
    result = gmm.cavi(x, K, 1e12, seed=0)
    assert (
        np.all(np.isfinite(result.phi))
        and np.all(np.isfinite(result.m))
        and np.all(result.s2 > 0)
    )
    trace = result.elbo_trace
    assert np.all(np.isfinite(trace))
    assert np.all(np.diff(trace) >= -1e-12 * np.abs(trace[1:]))
    np.testing.assert_allclose(result.phi.sum(axis=1), 1.0, rtol=1e-12)
    run = gmm.gibbs(x, K, 1e12, 5, seed=0)
    assert np.all(np.isfinite(run.mu))


# --- bad input ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "x, K, prior_var, kwargs, match",
    [
        ([1.0, np.nan], 2, 1.0, {}, "x"),
        ([1.0, np.inf], 2, 1.0, {}, "x"),
        ([[1.0, 2.0]], 2, 1.0, {}, "x"),
        ([], 2, 1.0, {}, "x"),
        ([1.0, 2.0], 0, 1.0, {}, "K"),
        ([1.0, 2.0], 2, 0.0, {}, "prior_var"),
        ([1.0, 2.0], 2, -1.0, {}, "prior_var"),
        ([1.0, 2.0], 2, np.nan, {}, "prior_var"),
        (
            [1.0, 2.0],
            2,
            1.0,
            {"init_phi": [[0.5, 0.6], [0.5, 0.5]]},
            "init_phi",
        ),
        ([1.0, 2.0], 2, 1.0, {"init_phi": [[0.5, 0.5]]}, "init_phi"),
        ([1.0, 2.0], 2, 1.0, {"init_phi": [[1.0], [1.0]]}, "init_phi"),
        (
            [1.0, 2.0],
            2,
            1.0,
            {"init_phi": [[np.nan, 1.0], [0.5, 0.5]]},
            "init_phi",
        ),
        ([1.0, 2.0], 2, 1.0, {"max_iter": 0}, "max_iter"),
        ([1.0, 2.0], 2, 1.0, {"tol": -1.0}, "tol"),
    ],
)
def test_cavi_rejects_bad_input(x, K, prior_var, kwargs, match):
    with pytest.raises(ValueError, match=match):
        gmm.cavi(x, K, prior_var, **kwargs)


def test_updates_and_elbo_reject_bad_input():
    x, phi = np.array([0.0, 1.0]), np.full((2, 2), 0.5)
    with pytest.raises(ValueError, match="s2"):
        gmm.update_assignments(x, [0.0, 1.0], [1.0, 0.0])
    with pytest.raises(ValueError, match="s2"):
        gmm.update_assignments(x, [0.0, 1.0], [1.0])
    with pytest.raises(ValueError, match="m"):
        gmm.update_assignments(x, [0.0, np.nan], [1.0, 1.0])
    with pytest.raises(ValueError, match="x"):
        gmm.update_assignments([np.nan], [0.0], [1.0])
    with pytest.raises(ValueError, match="phi"):
        gmm.update_means(x, [[0.5, 0.4], [0.5, 0.5]], 1.0)
    with pytest.raises(ValueError, match="phi"):
        gmm.update_means(x, np.full((3, 2), 0.5), 1.0)
    with pytest.raises(ValueError, match="prior_var"):
        gmm.update_means(x, phi, -2.0)
    with pytest.raises(ValueError, match="phi"):
        gmm.elbo(x, np.full((2, 3), 1 / 3), [0.0, 1.0], [1.0, 1.0], 1.0)
    with pytest.raises(ValueError, match="prior_var"):
        gmm.elbo(x, phi, [0.0, 1.0], [1.0, 1.0], 0.0)
    with pytest.raises(ValueError, match="n_sweeps"):
        gmm.gibbs(x, 2, 1.0, 0)
    with pytest.raises(ValueError, match="init_mu"):
        gmm.gibbs(x, 2, 1.0, 3, init_mu=[0.0])
    with pytest.raises(ValueError, match="c"):
        gmm.log_joint(x, [0, 2], [0.0, 1.0], 1.0)
    with pytest.raises(TypeError, match="seed"):
        gmm.cavi(x, 2, 1.0, seed="a")
