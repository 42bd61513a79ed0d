"""The Gibbs sampler's conditional draws (chapter 4), tested against the exact conditionals."""

import numpy as np
from scipy import stats
from scipy.special import softmax

from vitutor import gmm


def test_assignment_draws_follow_the_exact_conditional():
    # p(c_i = k | mu, x_i) = softmax_k(-(x_i - mu_k)^2 / 2), including points far from every mean
    mu = np.array([-3.0, 0.5, 4.0])
    x = np.array([-3.2, 0.0, 2.3, 40.0, -55.0, 1.75])
    exact = softmax(-0.5 * (x[:, None] - mu[None, :]) ** 2, axis=1)
    S = 40_000
    rng = np.random.default_rng(0)
    counts = np.zeros((x.size, mu.size))
    for _ in range(S // 1000):
        draws = np.stack(
            [gmm._sample_assignments(x, mu, rng) for _ in range(1000)]
        )  # (1000, n)
        counts += (draws[:, :, None] == np.arange(mu.size)).sum(axis=0)
    freq = counts / S
    se = np.sqrt(exact * (1 - exact) / S)
    # 5 standard errors per cell; cells with probability below 1e-12 must never be drawn
    assert np.all(np.abs(freq - exact) <= 5 * se + 1e-12)
    assert np.all(counts[exact < 1e-12] == 0)
    # and a chi-square test on the rows that are not (numerically) deterministic
    for i in np.flatnonzero(exact.max(axis=1) < 1 - 1e-9):
        keep = exact[i] > 0
        p = stats.chisquare(
            counts[i, keep], S * exact[i, keep] / exact[i, keep].sum()
        ).pvalue
        assert p > 1e-4


def test_mean_draws_follow_the_exact_conditional():
    # mu_k | c, x ~ N(S_k / (1/sigma^2 + n_k), 1 / (1/sigma^2 + n_k)); a component with no points
    # falls back to its prior N(0, sigma^2)
    x = np.array([1.0, 1.4, 0.8, -2.0, -2.5, 7.0])
    c = np.array([0, 0, 0, 1, 1, 1])
    K, prior_var = 3, 9.0
    rng = np.random.default_rng(1)
    draws = np.stack(
        [gmm._sample_means(x, c, K, prior_var, rng) for _ in range(100_000)]
    )
    precision = 1 / prior_var + np.bincount(c, minlength=K)
    mean = np.bincount(c, weights=x, minlength=K) / precision
    for k in range(K):
        ks = stats.kstest(
            draws[:, k], stats.norm(mean[k], 1 / np.sqrt(precision[k])).cdf
        )
        assert ks.pvalue > 1e-4, (k, ks)
