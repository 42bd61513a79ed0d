"""Tests for vitutor.diagnostics: PSIS against arviz-stats and known Pareto tails, the tail index
of Gaussian weights against the moments it promises, the importance-weighted bound against
enumeration of the S-sample product, the Renyi bounds against quadrature and enumeration,
simulation-based calibration under an exact posterior, and split R-hat against arviz-stats."""

import itertools

import numpy as np
import pytest
from arviz_stats.base import array_stats
from hypothesis import given
from hypothesis import strategies as st
from scipy import integrate, stats
from scipy.special import logsumexp

from vitutor import diagnostics as dg

K_SE = 4.0


def gaussian_log_w(m_q, S_q, m_p, S_p, n, seed):
    q = stats.multivariate_normal(m_q, S_q)
    z = q.rvs(n, random_state=seed).reshape(n, -1)
    return stats.multivariate_normal(m_p, S_p).logpdf(z) - q.logpdf(z)


# --- PSIS ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "S, scale, seed",
    [
        (25, 0.9, 0),
        (100, 0.5, 1),
        (224, 0.7, 2),
        (226, 0.7, 3),
        (5000, 0.6, 4),
    ],
)
def test_psis_matches_arviz_stats(S, scale, seed):
    # q = N(0, scale^2) for p = N(0, 1): heavy-tailed weights for scale < 1/sqrt(2)
    log_w = gaussian_log_w([0.0], [[scale**2]], [0.0], [[1.0]], S, seed)
    ours = dg.psis(log_w)
    # arviz-stats' psislw is written for leave-one-out: it takes minus the log weights
    theirs, khat = array_stats.psislw(-log_w)
    np.testing.assert_allclose(ours.khat, khat, rtol=1e-12)
    np.testing.assert_allclose(ours.log_weights, theirs, rtol=0, atol=1e-12)


def test_psis_r_eff_matches_arviz_stats():
    log_w = gaussian_log_w([0.0], [[0.5]], [0.0], [[1.0]], 3000, 7)
    ours = dg.psis(log_w, r_eff=0.4)
    theirs, khat = array_stats.psislw(-log_w, r_eff=0.4)
    np.testing.assert_allclose(ours.khat, khat, rtol=1e-12)
    np.testing.assert_allclose(ours.log_weights, theirs, rtol=0, atol=1e-12)
    assert ours.tail_length == int(np.floor(3 * np.sqrt(3000 / 0.4)))


def test_psis_keeps_the_bulk_normalises_and_truncates_at_the_largest_raw_weight():
    log_w = gaussian_log_w(
        [0.0, 1.0], np.diag([0.3, 0.4]), [0.0, 1.0], np.eye(2), 4000, 5
    )
    res = dg.psis(log_w)
    np.testing.assert_allclose(logsumexp(res.log_weights), 0.0, atol=1e-12)
    order = np.argsort(log_w)
    bulk = order[: log_w.size - res.tail_length]
    # below the tail only the normalisation changes
    shift = res.log_weights[bulk] - log_w[bulk]
    np.testing.assert_allclose(shift, shift[0], rtol=0, atol=1e-10)
    assert np.max(res.log_weights) <= np.max(log_w) + shift[0] + 1e-12
    # the tail is replaced by increasing GPD quantiles (sorted like the raw weights)
    tail = order[log_w.size - res.tail_length :]
    assert np.all(np.diff(res.log_weights[tail]) >= -1e-12)


@pytest.mark.parametrize("k", [0.2, 0.5, 0.8])
def test_psis_khat_of_exact_pareto_weights(k):
    # w = U^-k has P(w > t) = t^(-1/k) exactly: a pure Pareto tail of index k
    u = np.random.default_rng(11).random(200_000)
    assert abs(dg.psis(-k * np.log(u)).khat - k) < 0.05


@pytest.mark.parametrize("k_true", [-0.4, 0.0, 0.3, 0.7])
def test_gpd_fit_recovers_the_shape_and_agrees_with_maximum_likelihood(k_true):
    y = stats.genpareto(k_true, scale=2.0).rvs(50_000, random_state=3)
    k, sigma = dg.gpd_fit(y)
    k_mle, _, sigma_mle = stats.genpareto.fit(y, floc=0.0)
    assert abs(k - k_true) < 0.03
    assert abs(k - k_mle) < 0.01 and abs(sigma / sigma_mle - 1) < 0.01


@pytest.mark.parametrize("n, k_true", [(5, 0.3), (50, -0.2), (2000, 0.9)])
def test_gpd_fit_matches_arviz_stats(n, k_true):
    # arviz-stats' (private) generalised Pareto fit, on the same sorted exceedances
    y = np.sort(stats.genpareto(k_true).rvs(n, random_state=n))
    np.testing.assert_allclose(
        dg.gpd_fit(y), array_stats._gpdfit(y), rtol=1e-12
    )
    np.testing.assert_allclose(
        dg.gpd_fit(y[::-1]), dg.gpd_fit(y), rtol=0, atol=0
    )


def test_psis_tail_length_and_khat_threshold():
    assert dg.psis_tail_length(100) == 20 and dg.psis_tail_length(225) == 45
    assert (
        dg.psis_tail_length(226) == 45 and dg.psis_tail_length(10_000) == 300
    )
    assert dg.psis_tail_length(10_000, r_eff=0.25) == 600
    np.testing.assert_allclose(dg.khat_threshold(100), 0.5)
    np.testing.assert_allclose(dg.khat_threshold(10_000), 0.7)


@pytest.mark.parametrize(
    "call, name",
    [
        (lambda: dg.psis([0.0] * 10), "log_w"),
        (lambda: dg.psis(np.r_[np.zeros(30), np.nan]), "log_w"),
        (lambda: dg.psis(np.r_[np.zeros(30), np.inf]), "log_w"),
        (lambda: dg.psis(np.zeros((30, 2))), "log_w"),
        (lambda: dg.psis(np.full(30, -np.inf)), "log_w"),
        (lambda: dg.psis(np.zeros(30)), "log_w"),
        (lambda: dg.psis(np.arange(30.0), r_eff=0.0), "r_eff"),
        (lambda: dg.gpd_fit([1.0, 2.0, -1.0, 3.0, 4.0]), "x"),
        (lambda: dg.gpd_fit([1.0, 2.0]), "x"),
        (lambda: dg.gpd_fit(np.ones(10)), "x"),
        (lambda: dg.psis_tail_length(10), "n_draws"),
        (lambda: dg.khat_threshold(5), "n_draws"),
    ],
)
def test_psis_bad_input_is_named(call, name):
    with pytest.raises(ValueError, match=name):
        call()


def test_psis_rejects_strings():
    with pytest.raises(TypeError, match="log_w"):
        dg.psis(["a"] * 30)


# --- the tail index of Gaussian weights -------------------------------------------------------


@pytest.mark.parametrize("rho", [0.2, 0.5, 0.95, -0.7])
def test_tail_index_of_the_mean_field_fit_of_a_correlated_pair_is_abs_rho(rho):
    sd = np.array([0.7, 2.0])
    Sigma = np.outer(sd, sd) * np.array([[1.0, rho], [rho, 1.0]])
    S_q = np.diag(1 / np.diag(np.linalg.inv(Sigma)))  # chapter 3's optimum
    np.testing.assert_allclose(
        dg.gaussian_tail_index(S_q, Sigma), abs(rho), rtol=1e-12
    )


def test_tail_index_is_one_minus_the_smallest_eigenvalue():
    rng = np.random.default_rng(2)
    A, B = rng.normal(size=(3, 3)), rng.normal(size=(3, 3))
    S_q, S_p = A @ A.T + 0.1 * np.eye(3), B @ B.T + 3 * np.eye(3)
    lam = np.linalg.eigvals(S_q @ np.linalg.inv(S_p)).real
    assert lam.min() < 1
    np.testing.assert_allclose(
        dg.gaussian_tail_index(S_q, S_p), 1 - lam.min(), rtol=1e-10
    )


@pytest.mark.parametrize("s2", [0.3, 0.6])
def test_tail_index_decides_which_moments_are_finite(s2):
    # 1-D: q = N(0, s2), p = N(0.4, 1); E_q[w^a] = int q^(1-a) p^a is finite iff a < 1/k
    k = dg.gaussian_tail_index([[s2]], [[1.0]])

    def moment(a, bound):
        f = lambda z: np.exp(  # noqa: E731
            (1 - a) * stats.norm.logpdf(z, 0, np.sqrt(s2))
            + a * stats.norm.logpdf(z, 0.4, 1)
        )
        return integrate.quad(f, -bound, bound, limit=400)[0]

    below, above = 0.95 / k, 1.05 / k
    assert moment(below, 200) == pytest.approx(moment(below, 100), rel=1e-8)
    assert moment(above, 60) > 10 * moment(
        above, 30
    )  # the integral grows without bound


def test_tail_index_is_negative_when_q_is_wider_in_every_direction():
    assert dg.gaussian_tail_index(2.0 * np.eye(1), np.eye(1)) == -2.0
    assert dg.gaussian_tail_index(2.0 * np.eye(2), np.eye(2)) == -1.0
    assert dg.gaussian_tail_index(np.eye(2), np.eye(2)) == 0.0


def test_tail_index_bad_covariance_is_named():
    with pytest.raises(ValueError, match="cov_q"):
        dg.gaussian_tail_index([[1.0, 2.0], [2.0, 1.0]], np.eye(2))
    with pytest.raises(ValueError, match="cov_p"):
        dg.gaussian_tail_index(np.eye(2), np.eye(3))


# --- the importance-weighted bound ------------------------------------------------------------


def brute_force_iwae(log_q, log_joint, S):
    """E[log mean of S weights] over every ordered S-sample of the finite space."""
    lq, lj = np.ravel(log_q), np.ravel(log_joint)
    total = 0.0
    for sample in itertools.product(range(lq.size), repeat=S):
        idx = np.array(sample)
        total += np.exp(lq[idx].sum()) * (
            logsumexp(lj[idx] - lq[idx]) - np.log(S)
        )
    return total


tables = st.integers(min_value=2, max_value=4).flatmap(
    lambda Z: st.tuples(
        st.lists(st.floats(0.05, 1.0), min_size=Z, max_size=Z),
        st.lists(st.floats(-4.0, 4.0), min_size=Z, max_size=Z),
    )
)


@given(tables, st.integers(min_value=1, max_value=5))
def test_iwae_exact_equals_enumeration_of_the_sample_product(table, S):
    q, log_joint = np.array(table[0]), np.array(table[1])
    log_q = np.log(q / q.sum())
    np.testing.assert_allclose(
        dg.importance_weighted_bound_exact(log_q, log_joint, S),
        brute_force_iwae(log_q, log_joint, S),
        rtol=0,
        atol=1e-11,
    )


@given(tables)
def test_iwae_exact_rises_from_the_elbo_to_the_log_evidence(table):
    q, log_joint = np.array(table[0]), np.array(table[1])
    log_q = np.log(q / q.sum())
    elbo = np.exp(log_q) @ (log_joint - log_q)
    log_z = logsumexp(log_joint)
    bounds = [
        dg.importance_weighted_bound_exact(log_q, log_joint, S)
        for S in [1, 2, 3, 8, 40]
    ]
    np.testing.assert_allclose(bounds[0], elbo, rtol=0, atol=1e-12)
    assert np.all(np.diff(bounds) >= -1e-12) and bounds[-1] <= log_z + 1e-12


def test_iwae_exact_gap_times_S_tends_to_half_the_chi_square():
    rng = np.random.default_rng(4)
    log_q = np.log(rng.dirichlet(np.ones(6)))
    log_joint = rng.normal(size=6)
    log_z = logsumexp(log_joint)
    v = np.exp(log_joint - log_q - log_z)
    half_chi2 = (np.exp(log_q) @ v**2 - 1) / 2
    for S in [10**4, 10**6]:
        gap = log_z - dg.importance_weighted_bound_exact(log_q, log_joint, S)
        np.testing.assert_allclose(S * gap, half_chi2, rtol=10 / S**0.5)


def test_iwae_exact_ignores_cells_outside_q_and_is_minus_inf_where_p_is_zero():
    log_joint = np.log([0.2, 0.3, 0.5])
    log_q = np.array([np.log(0.5), np.log(0.5), -np.inf])
    # only the cells q draws count: L_S -> log(0.2 + 0.3)
    np.testing.assert_allclose(
        dg.importance_weighted_bound_exact(log_q, log_joint, 3),
        brute_force_iwae(log_q[:2], log_joint[:2], 3),
        atol=1e-12,
    )
    assert (
        dg.importance_weighted_bound_exact(
            np.log([0.5, 0.5]), np.array([0.0, -np.inf]), 4
        )
        == -np.inf
    )


def test_iwae_estimator_is_unbiased_for_the_exact_bound():
    rng = np.random.default_rng(8)
    q = rng.dirichlet(np.ones(5))
    log_joint = rng.normal(0, 1.5, 5)
    log_w = log_joint - np.log(q)
    draws = log_w[rng.choice(5, size=(40_000, 7), p=q)]
    est = dg.importance_weighted_bound(draws, axis=1)
    assert est.shape == (40_000,)
    exact = dg.importance_weighted_bound_exact(np.log(q), log_joint, 7)
    assert abs(est.mean() - exact) < K_SE * est.std() / np.sqrt(est.size)
    np.testing.assert_allclose(
        dg.importance_weighted_bound(draws.T, axis=0), est, rtol=0, atol=0
    )


@pytest.mark.parametrize(
    "call, name, error",
    [
        (
            lambda: dg.importance_weighted_bound([1.0, np.nan]),
            "log_w",
            ValueError,
        ),
        (lambda: dg.importance_weighted_bound(2.0), "log_w", ValueError),
        (
            lambda: dg.importance_weighted_bound([1.0, 2.0], axis=1),
            "axis",
            ValueError,
        ),
        (
            lambda: dg.importance_weighted_bound([1.0, 2.0], axis=0.5),
            "axis",
            TypeError,
        ),
        (
            lambda: dg.importance_weighted_bound_exact(
                np.log([0.5, 0.4]), [0.0, 0.0], 2
            ),
            "log_q",
            ValueError,
        ),
        (
            lambda: dg.importance_weighted_bound_exact(
                np.log([0.5, 0.5]), [0.0], 2
            ),
            "log_joint",
            ValueError,
        ),
        (
            lambda: dg.importance_weighted_bound_exact(
                np.log([0.5, 0.5]), [0.0, 0.0], 0
            ),
            "n_samples",
            ValueError,
        ),
        (
            lambda: dg.importance_weighted_bound_exact(
                np.log([0.5, 0.5]), [0.0, 0.0], 10, max_elements=100
            ),
            "n_samples",
            ValueError,
        ),
    ],
)
def test_bound_bad_input_is_named(call, name, error):
    with pytest.raises(error, match=name):
        call()


# --- the Renyi family ------------------------------------------------------------------------


@pytest.mark.parametrize("alpha", [-1.5, -1.0, -0.3, 0.2, 0.5, 1.0, 1.4, 2.0])
@pytest.mark.parametrize(
    "pair", [(0.3, 0.5, -0.2, 1.3), (1.0, 2.0, 0.0, 1.0), (0.0, 1.0, 0.5, 1.0)]
)
def test_gaussian_renyi_divergence_matches_quadrature(alpha, pair):
    m1, v1, m2, v2 = pair
    got = dg.gaussian_renyi_divergence([m1], [[v1]], [m2], [[v2]], alpha)
    lq = lambda z: stats.norm.logpdf(z, m1, np.sqrt(v1))  # noqa: E731
    lp = lambda z: stats.norm.logpdf(z, m2, np.sqrt(v2))  # noqa: E731
    if alpha == 1.0:
        want = integrate.quad(
            lambda z: np.exp(lq(z)) * (lq(z) - lp(z)), -np.inf, np.inf
        )[0]
    elif alpha * v2 + (1 - alpha) * v1 <= 0:
        # the integrand q^alpha p^(1-alpha) does not decay: the integral is infinite
        f = lambda z: alpha * lq(z) + (1 - alpha) * lp(z)  # noqa: E731
        assert max(f(80.0), f(-80.0)) > max(f(40.0), f(-40.0))
        want = np.inf if alpha > 1 else -np.inf
    else:
        integral = integrate.quad(
            lambda z: np.exp(alpha * lq(z) + (1 - alpha) * lp(z)),
            -np.inf,
            np.inf,
            epsrel=1e-12,
        )[0]
        want = np.log(integral) / (alpha - 1)
    if np.isinf(want):
        assert got == want
    else:
        np.testing.assert_allclose(got, want, rtol=1e-8, atol=1e-12)


def test_gaussian_renyi_divergence_in_two_dimensions_against_monte_carlo():
    m_q, S_q = np.array([0.2, -0.1]), np.array([[1.0, 0.3], [0.3, 0.8]])
    m_p, S_p = np.array([0.0, 0.4]), np.array([[1.5, -0.2], [-0.2, 1.1]])
    log_w = gaussian_log_w(m_q, S_q, m_p, S_p, 400_000, 9)
    for alpha in [0.5, -0.5]:
        x = np.exp((1 - alpha) * log_w)
        mc = x.mean()
        closed = np.exp(
            (alpha - 1)
            * dg.gaussian_renyi_divergence(m_q, S_q, m_p, S_p, alpha)
        )
        assert abs(mc - closed) < K_SE * x.std() / np.sqrt(x.size)
    kl = dg.gaussian_renyi_divergence(m_q, S_q, m_p, S_p, 1.0)
    assert abs(-log_w.mean() - kl) < K_SE * log_w.std() / np.sqrt(log_w.size)


def test_renyi_bound_limits_and_cubo():
    log_w = np.random.default_rng(3).normal(size=(50, 20))
    np.testing.assert_allclose(dg.renyi_bound(log_w, 1.0), log_w.mean(axis=1))
    np.testing.assert_allclose(
        dg.renyi_bound(log_w, 0.0),
        dg.importance_weighted_bound(log_w),
        rtol=1e-14,
    )
    np.testing.assert_allclose(
        dg.renyi_bound(log_w, 1 - 1e-7), log_w.mean(axis=1), rtol=0, atol=1e-5
    )
    np.testing.assert_allclose(
        dg.cubo(log_w, n=2),
        0.5 * np.log(np.mean(np.exp(2 * log_w), axis=1)),
        rtol=1e-13,
    )
    np.testing.assert_allclose(
        dg.cubo(log_w, n=3), dg.renyi_bound(log_w, -2.0)
    )


def test_renyi_bounds_are_ordered_and_sandwich_the_evidence_on_a_finite_space():
    rng = np.random.default_rng(6)
    q = rng.dirichlet(np.ones(8))
    log_joint = rng.normal(size=8)
    log_w = log_joint - np.log(q)
    draws = log_w[rng.choice(8, size=2_000_000, p=q)]
    exact = {
        a: logsumexp((1 - a) * log_w + np.log(q)) / (1 - a)
        for a in [-2.0, -1.0, 0.0, 0.5]
    }
    exact[1.0] = q @ log_w
    values = [exact[a] for a in sorted(exact)]
    assert np.all(np.diff(values) < 0)
    np.testing.assert_allclose(exact[0.0], logsumexp(log_joint), atol=1e-12)
    for a in [-1.0, 0.5, 1.0]:
        np.testing.assert_allclose(
            dg.renyi_bound(draws, a), exact[a], rtol=0, atol=3e-3
        )


def test_cubo_estimate_is_biased_low_and_can_fall_below_the_evidence():
    # q = N(0, 0.3) for p = N(0, 1): E_q[w^2] is infinite, each estimate finite
    log_w = gaussian_log_w(
        [0.0], [[0.3]], [0.0], [[1.0]], 100 * 200, 12
    ).reshape(200, 100)
    est = dg.cubo(log_w, n=2, axis=1)
    assert np.all(np.isfinite(est)) and np.any(est < 0.0)


@pytest.mark.parametrize(
    "call, name, error",
    [
        (lambda: dg.renyi_bound([0.0, 1.0], np.nan), "alpha", ValueError),
        (lambda: dg.renyi_bound([0.0, 1.0], "a"), "alpha", TypeError),
        (lambda: dg.cubo([0.0, 1.0], n=0.5), "n", ValueError),
        (
            lambda: dg.gaussian_renyi_divergence(
                [0.0], [[1.0]], [0.0, 1.0], np.eye(2), 0.5
            ),
            "m_p",
            ValueError,
        ),
        (
            lambda: dg.gaussian_renyi_divergence(
                [0.0], [[-1.0]], [0.0], [[1.0]], 0.5
            ),
            "cov_q",
            ValueError,
        ),
        (
            lambda: dg.gaussian_renyi_divergence(
                [0.0], [[1.0]], [0.0], [[1.0]], np.inf
            ),
            "alpha",
            ValueError,
        ),
    ],
)
def test_renyi_bad_input_is_named(call, name, error):
    with pytest.raises(error, match=name):
        call()


# --- simulation-based calibration ------------------------------------------------------------


def normal_normal_sbc(R, L, seed, widen=1.0):
    """theta ~ N(0, 1), x | theta ~ N(theta, 0.5^2) (4 draws); posterior draws exact (widen=1)."""
    rng = np.random.default_rng(seed)
    theta = rng.normal(size=R)
    x = rng.normal(theta[:, None], 0.5, size=(R, 4))
    prec = 1 + 4 / 0.25
    mean = (x.sum(axis=1) / 0.25) / prec
    draws = rng.normal(mean[:, None], widen / np.sqrt(prec), size=(R, L))
    return dg.sbc_ranks(theta, draws)


def test_sbc_ranks_are_uniform_under_the_exact_posterior():
    ranks = normal_normal_sbc(20_000, 9, 0)
    assert ranks.min() == 0 and ranks.max() == 9
    freq = np.bincount(ranks, minlength=10) / ranks.size
    assert np.all(np.abs(freq - 0.1) < K_SE * np.sqrt(0.1 * 0.9 / ranks.size))


def test_rank_uniformity_test_is_pearsons_chi_square():
    ranks = normal_normal_sbc(3000, 19, 1)
    test = dg.rank_uniformity_test(ranks, 19, 5)
    counts = np.bincount(ranks // 4, minlength=5)
    ref = stats.chisquare(counts)
    np.testing.assert_array_equal(test.counts, counts)
    np.testing.assert_allclose(
        [test.statistic, test.p_value], [ref.statistic, ref.pvalue]
    )
    assert test.dof == 4


def test_rank_uniformity_test_has_its_size_and_detects_a_narrow_posterior():
    p_exact = [
        dg.rank_uniformity_test(normal_normal_sbc(500, 19, s), 19, 10).p_value
        for s in range(300)
    ]
    rate = np.mean(np.array(p_exact) < 0.05)
    assert abs(rate - 0.05) < 3 * np.sqrt(0.05 * 0.95 / 300)
    narrow = dg.rank_uniformity_test(
        normal_normal_sbc(2000, 19, 999, widen=0.7), 19, 10
    )
    assert (
        narrow.p_value < 1e-6
        and narrow.counts[0] + narrow.counts[-1] > 2 * 2000 / 10
    )


def test_sbc_ranks_count_draws_below_and_break_ties_uniformly():
    truth = np.array([0.5, 2.0, -1.0])
    draws = np.array([[0.1, 0.7, 0.2], [3.0, 4.0, 5.0], [-2.0, -3.0, -4.0]])
    np.testing.assert_array_equal(dg.sbc_ranks(truth, draws), [2, 0, 3])
    # all L draws tie with the truth: the rank is uniform on 0..L
    tied = dg.sbc_ranks(np.zeros(40_000), np.zeros((40_000, 4)), seed=3)
    freq = np.bincount(tied, minlength=5) / tied.size
    assert np.all(np.abs(freq - 0.2) < K_SE * np.sqrt(0.2 * 0.8 / tied.size))
    # one rank per trailing parameter
    assert dg.sbc_ranks(np.zeros((6, 2)), np.ones((6, 3, 2))).shape == (6, 2)


@pytest.mark.parametrize(
    "call, name",
    [
        (lambda: dg.sbc_ranks(np.zeros(3), np.zeros(3)), "draws"),
        (lambda: dg.sbc_ranks(np.zeros(3), np.zeros((4, 2))), "draws"),
        (lambda: dg.sbc_ranks(np.zeros(3), np.full((3, 2), np.nan)), "draws"),
        (lambda: dg.rank_uniformity_test([0, 1, 2], 9, 3), "n_bins"),
        (lambda: dg.rank_uniformity_test([0, 1, 12], 9, 5), "ranks"),
        (lambda: dg.rank_uniformity_test([0.5, 1.0], 9, 5), "ranks"),
        (lambda: dg.rank_uniformity_test([0, 1], 0, 5), "n_draws"),
    ],
)
def test_sbc_bad_input_is_named(call, name):
    with pytest.raises(ValueError, match=name):
        call()


# --- convergence of a stochastic optimisation ----------------------------------------------


@pytest.mark.parametrize("T", [40, 41, 500])
def test_split_rhat_matches_arviz_stats(T):
    rng = np.random.default_rng(T)
    chains = (
        rng.normal(size=(4, T, 3))
        + np.array([0.0, 0.1, 1.0])[None, None, :]
        * np.arange(4)[:, None, None]
    )
    ours = dg.split_rhat(chains)
    theirs = [
        array_stats.rhat(chains[:, :, p], method="split") for p in range(3)
    ]
    np.testing.assert_allclose(ours, theirs, rtol=1e-12)
    assert dg.split_rhat(chains[:, :, 0]) == pytest.approx(
        theirs[0], rel=1e-12
    )


def test_split_rhat_is_near_one_for_stationary_chains_and_large_for_a_trend():
    rng = np.random.default_rng(1)
    assert abs(dg.split_rhat(rng.normal(size=(4, 2000))) - 1) < 0.01
    # a drift from 0 to 3: half means 0.75 and 2.25, within-half variance about 1.19, so
    # R-hat is about sqrt((1.19 + 0.64) / 1.19) = 1.24
    trend = rng.normal(size=(4, 2000)) + np.linspace(0, 3, 2000)
    assert abs(dg.split_rhat(trend) - 1.24) < 0.03


def test_running_mean_change_against_block_means():
    trace = np.arange(1.0, 13.0)
    means = np.array([2.0, 5.0, 8.0, 11.0])
    np.testing.assert_allclose(
        dg.running_mean_change(trace, 3), np.abs(np.diff(means)) / means[1:]
    )
    # a trace of 13 uses its first four full windows only
    np.testing.assert_allclose(
        dg.running_mean_change(np.r_[trace, 100.0], 3),
        dg.running_mean_change(trace, 3),
    )


@pytest.mark.parametrize(
    "call, name",
    [
        (lambda: dg.split_rhat(np.zeros((2, 3))), "chains"),
        (lambda: dg.split_rhat(np.full((2, 10), np.nan)), "chains"),
        (lambda: dg.running_mean_change(np.zeros(5), 3), "trace"),
        (lambda: dg.running_mean_change(np.zeros(5), 0), "window"),
    ],
)
def test_convergence_bad_input_is_named(call, name):
    with pytest.raises(ValueError, match=name):
        call()


def test_importing_vitutor_does_not_import_arviz():
    import subprocess
    import sys

    code = "import sys, vitutor, vitutor.diagnostics; print('arviz_stats' in sys.modules)"
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
    )
    assert out.stdout.strip() == "False"
