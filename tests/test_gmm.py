"""Tests of the mixture model in vitutor.gmm: simulation and the exact evidence.

The exact evidence is checked against two routes that share no code with it: per assignment
the data are jointly normal with covariance I + sigma^2 A A^T (scipy.stats.multivariate_normal),
and for n <= 2 the means are integrated numerically (scipy.integrate).
"""

import itertools

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy.special import logsumexp
from scipy.stats import multivariate_normal, norm

from vitutor import discrete, gmm


def log_joint_by_mvn(x, K, prior_var):
    """log p(x, c) for every assignment, via the multivariate normal marginal of x given c."""
    n = len(x)
    table = np.empty((K,) * n)
    for c in itertools.product(range(K), repeat=n):
        A = np.eye(K)[list(c)]  # n x K one-hot: x = A mu + eps
        cov = np.eye(n) + prior_var * A @ A.T
        table[c] = multivariate_normal(np.zeros(n), cov).logpdf(
            x
        ) - n * np.log(K)
    return table


def log_evidence_by_grid(x, K, prior_var, h=0.15):
    """log p(x) by integrating the K means over a uniform grid (trapezoid rule), K in {1, 2, 3}.

    p(x) = int prod_k N(mu_k; 0, sigma^2) prod_i (1/K) sum_k N(x_i; mu_k, 1) dmu.  The integrand is
    smooth and decays like a Gaussian, so the trapezoid rule converges exponentially in 1/h.
    """
    sd = np.sqrt(prior_var)
    L = max(8.5 * sd, np.max(np.abs(x)) + 7.0)
    grid = np.arange(-L, L + h / 2, h)
    lik = (
        norm.pdf(x[:, None], grid[None, :], 1.0) / K
    )  # (n, G): N(x_i; mu, 1) / K
    log_prior = norm.logpdf(grid, 0.0, sd)
    if K == 1:
        log_f = np.log(lik).sum(axis=0) + log_prior
    elif K == 2:
        log_f = np.log(lik[:, :, None] + lik[:, None, :]).sum(axis=0)
        log_f += log_prior[:, None] + log_prior[None, :]
    else:
        rows = [
            np.log(
                lik[:, g, None, None] + lik[:, :, None] + lik[:, None, :]
            ).sum(axis=0)
            + log_prior[g]
            for g in range(grid.size)
        ]
        log_f = (
            np.stack(rows)
            + log_prior[None, :, None]
            + log_prior[None, None, :]
        )
    return logsumexp(log_f) + K * np.log(h)


# --- simulate -----------------------------------------------------------------------------


def test_simulate_is_deterministic_given_seed():
    a, b = gmm.simulate(20, 3, 2.0, seed=7), gmm.simulate(20, 3, 2.0, seed=7)
    np.testing.assert_array_equal(a.x, b.x)
    np.testing.assert_array_equal(a.c, b.c)
    np.testing.assert_array_equal(a.mu, b.mu)


def test_simulate_accepts_a_generator():
    s = gmm.simulate(5, 2, 1.0, seed=np.random.default_rng(0))
    assert s.x.shape == (5,) and s.c.shape == (5,) and s.mu.shape == (2,)


def test_simulate_has_the_model_moments():
    # Monte Carlo: residuals x - mu_c are N(0, 1); labels uniform on 0..K-1.
    s = gmm.simulate(200_000, 4, 3.0, seed=1)
    resid = s.x - s.mu[s.c]
    assert abs(resid.mean()) < 4 / np.sqrt(len(resid))
    assert abs(resid.var() - 1.0) < 4 * np.sqrt(2 / len(resid))
    counts = np.bincount(s.c, minlength=4) / len(s.c)
    np.testing.assert_allclose(
        counts, 0.25, atol=4 * np.sqrt(0.25 * 0.75 / len(s.c))
    )


def test_simulated_means_have_the_prior_variance():
    mus = np.concatenate(
        [gmm.simulate(1, 5, 3.0, seed=i).mu for i in range(4000)]
    )
    assert abs(mus.var() - 3.0) < 4 * 3.0 * np.sqrt(2 / len(mus))


# --- the joint table and the exact evidence -------------------------------------------------


@pytest.mark.parametrize(
    "K, n, prior_var", [(1, 3, 0.5), (2, 4, 1.0), (3, 4, 10.0), (2, 6, 0.01)]
)
def test_log_joint_assignments_matches_multivariate_normal(K, n, prior_var):
    x = gmm.simulate(n, K, prior_var, seed=K + n).x
    np.testing.assert_allclose(
        gmm.log_joint_assignments(x, K, prior_var),
        log_joint_by_mvn(x, K, prior_var),
        rtol=0,
        atol=1e-10,
    )


@given(
    st.integers(1, 3),
    st.integers(1, 5),
    st.floats(0.05, 20.0),
    st.integers(0, 2**32 - 1),
)
def test_log_evidence_exact_matches_multivariate_normal_route(
    K, n, prior_var, seed
):
    x = np.random.default_rng(seed).normal(scale=3.0, size=n)
    expected = logsumexp(log_joint_by_mvn(x, K, prior_var))
    assert gmm.log_evidence_exact(x, K, prior_var) == pytest.approx(
        expected, abs=1e-10
    )


@pytest.mark.parametrize(
    "x", [np.array([0.3]), np.array([-1.2, 2.5]), np.array([0.1, 0.1])]
)
@pytest.mark.parametrize("K", [1, 2])
def test_log_evidence_exact_matches_numerical_integration(x, K):
    expected = log_evidence_by_grid(x, K, prior_var=2.0)
    assert gmm.log_evidence_exact(x, K, 2.0) == pytest.approx(
        expected, abs=1e-9
    )


def test_single_component_evidence_is_a_correlated_normal():
    x = np.array([0.5, -0.3, 1.7])
    cov = np.eye(3) + 4.0 * np.ones((3, 3))
    assert gmm.log_evidence_exact(x, 1, 4.0) == pytest.approx(
        multivariate_normal(np.zeros(3), cov).logpdf(x), abs=1e-12
    )


def test_chunked_sum_agrees_with_the_full_table():
    # n = 12, K = 3: 531441 assignments span many chunks; the table route sums them in one go.
    x = gmm.simulate(12, 3, 2.0, seed=3).x
    table = gmm.log_joint_assignments(x, 3, 2.0)
    assert gmm.log_evidence_exact(x, 3, 2.0) == pytest.approx(
        discrete.log_evidence(table), abs=1e-9
    )


def test_table_is_in_c_order_of_assignments():
    x = np.array([-3.0, 0.0, 3.0])
    table = gmm.log_joint_assignments(x, 2, 1.0)
    c = (0, 1, 1)
    A = np.eye(2)[list(c)]
    expected = multivariate_normal(np.zeros(3), np.eye(3) + A @ A.T).logpdf(
        x
    ) - 3 * np.log(2)
    assert table[c] == pytest.approx(expected, abs=1e-12)


def test_K3_n14_matches_integration_over_the_means():
    # 3**14 = 4.8 million assignments summed exactly, against a 3-D quadrature over mu.
    x = gmm.simulate(14, 3, 1.0, seed=0).x
    assert gmm.log_evidence_exact(x, 3, 1.0) == pytest.approx(
        log_evidence_by_grid(x, 3, 1.0, h=0.2), abs=1e-8
    )


def test_extreme_data_stay_finite():
    x = np.array([1e6, -1e6, 1e6 + 1.0])
    assert np.isfinite(gmm.log_evidence_exact(x, 2, 1.0))


# --- bad input -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "x, K, prior_var, match",
    [
        ([0.0, np.nan], 2, 1.0, "x"),
        ([0.0, np.inf], 2, 1.0, "x"),
        ([[0.0, 1.0]], 2, 1.0, "x"),
        ([], 2, 1.0, "x"),
        ([0.0, 1.0], 0, 1.0, "K"),
        ([0.0, 1.0], 2, 0.0, "prior_var"),
        ([0.0, 1.0], 2, -1.0, "prior_var"),
        ([0.0, 1.0], 2, np.nan, "prior_var"),
    ],
)
def test_log_evidence_exact_rejects_bad_input(x, K, prior_var, match):
    with pytest.raises(ValueError, match=match):
        gmm.log_evidence_exact(x, K, prior_var)


def test_rejects_non_integer_K_and_string_data():
    with pytest.raises(TypeError, match="K"):
        gmm.log_evidence_exact([0.0], 2.5, 1.0)
    with pytest.raises(TypeError, match="x"):
        gmm.log_evidence_exact(["a"], 2, 1.0)


def test_refuses_problems_too_large_to_enumerate_and_says_how_large():
    x = np.zeros(40)
    with pytest.raises(ValueError, match=r"3\*\*40 = 1\.216e\+19 assignments"):
        gmm.log_evidence_exact(x, 3, 1.0)
    with pytest.raises(ValueError, match="max_assignments"):
        gmm.log_evidence_exact(np.zeros(5), 3, 1.0, max_assignments=100)
    with pytest.raises(ValueError, match="assignments"):
        gmm.log_joint_assignments(np.zeros(30), 2, 1.0)


@pytest.mark.parametrize(
    "n, K, prior_var, match",
    [(0, 2, 1.0, "n"), (5, 0, 1.0, "K"), (5, 2, -2.0, "prior_var")],
)
def test_simulate_rejects_bad_input(n, K, prior_var, match):
    with pytest.raises(ValueError, match=match):
        gmm.simulate(n, K, prior_var, seed=0)


def test_simulate_rejects_bad_seed():
    with pytest.raises(TypeError, match="seed"):
        gmm.simulate(5, 2, 1.0, seed="abc")


def test_simulate_refuses_a_sample_too_large_to_allocate_and_names_n():
    with pytest.raises(
        ValueError, match=r"simulate\(n=10000000000000.*max_elements"
    ):
        gmm.simulate(10**13, 3, 1.0, seed=0)
    with pytest.raises(ValueError, match="max_elements"):
        gmm.simulate(100, 3, 1.0, seed=0, max_elements=50)
    assert gmm.simulate(100, 3, 1.0, seed=0, max_elements=203).x.size == 100


def test_gibbs_refuses_a_run_too_large_to_keep_and_names_n_sweeps():
    x = gmm.simulate(1000, 3, 4.0, seed=1).x
    with pytest.raises(ValueError, match=r"gibbs\(n_sweeps=10000000000000\)"):
        gmm.gibbs(x, 3, 4.0, n_sweeps=10**13, seed=0)
    # keeping every sweep's assignments costs n per sweep: 10^6 sweeps of 1000 points is 10^9
    with pytest.raises(ValueError, match=r"n_sweeps \* \(K \+ n\)"):
        gmm.gibbs(x, 3, 4.0, n_sweeps=10**6, seed=0, keep_assignments=True)
    assert gmm.gibbs(
        x, 3, 4.0, n_sweeps=2, seed=0, max_elements=6
    ).mu.shape == (2, 3)
