"""Tests of vitutor.amortised: pPCA, the linear VAE, autodiff gradients, the VAE."""

import subprocess
import sys

import numpy as np
import pytest
from scipy import stats
from scipy.linalg import subspace_angles
from sklearn.decomposition import PCA

from vitutor import bbvi
from vitutor import diagnostics as dg

am = pytest.importorskip("vitutor.amortised")
import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402


def _data(n=300, d=6, k=2, seed=0):
    rng = np.random.default_rng(seed)
    W = rng.standard_normal((d, k)) * np.array([3.0, 1.5])[:k]
    z = rng.standard_normal((n, k))
    return z @ W.T + 0.5 * rng.standard_normal((n, d)) + rng.normal(size=d)


def test_importing_vitutor_does_not_import_jax():
    code = "import sys, vitutor; print('jax' in sys.modules)"
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
    )
    assert out.stdout.strip() == "False"


def test_ppca_log_likelihood_matches_multivariate_normal():
    x = _data()
    rng = np.random.default_rng(1)
    W, mu = rng.standard_normal((6, 2)), rng.standard_normal(6)
    direct = stats.multivariate_normal(mu, W @ W.T + 0.7 * np.eye(6))
    np.testing.assert_allclose(
        am.ppca_log_likelihood(x, W, mu, 0.7),
        np.sum(direct.logpdf(x)),
        rtol=1e-12,
    )


def test_ppca_closed_form_matches_sklearn_and_its_own_likelihood():
    x = _data()
    n = x.shape[0]
    fit = am.ppca_mle(x, 2)
    np.testing.assert_allclose(
        fit.log_likelihood,
        am.ppca_log_likelihood(x, fit.W, fit.mu, fit.sigma2),
        rtol=1e-12,
    )
    pca = PCA(2).fit(x)
    # scikit-learn's covariance uses n - 1: it is n / (n - 1) times ours
    C = fit.W @ fit.W.T + fit.sigma2 * np.eye(6)
    np.testing.assert_allclose(
        C * n / (n - 1), pca.get_covariance(), rtol=1e-10
    )
    W_sk = pca.components_.T * np.sqrt(
        pca.explained_variance_ - pca.noise_variance_
    )
    np.testing.assert_allclose(
        am.ppca_log_likelihood(x, W_sk, pca.mean_, pca.noise_variance_),
        n * pca.score(x),
        rtol=1e-12,
    )
    assert fit.log_likelihood > n * pca.score(x)


def test_ppca_closed_form_is_a_maximum():
    x = _data(seed=3)
    fit = am.ppca_mle(x, 2)
    rng = np.random.default_rng(0)
    for _ in range(20):
        dW = 1e-3 * rng.standard_normal(fit.W.shape)
        assert fit.log_likelihood > am.ppca_log_likelihood(
            x, fit.W + dW, fit.mu, fit.sigma2 * np.exp(1e-3 * rng.normal())
        )
    # rotation invariance: W R has the same likelihood
    R = np.linalg.qr(rng.standard_normal((2, 2)))[0]
    np.testing.assert_allclose(
        am.ppca_log_likelihood(x, fit.W @ R, fit.mu, fit.sigma2),
        fit.log_likelihood,
        rtol=1e-12,
    )


def test_ppca_posterior_is_bayes_rule_by_joint_gaussian():
    x = _data(n=5)
    rng = np.random.default_rng(2)
    W, mu, s2 = rng.standard_normal((6, 2)), rng.standard_normal(6), 0.4
    mean, cov = am.ppca_posterior(x, W, mu, s2)
    # joint of (z, x): conditioning formula
    C = W @ W.T + s2 * np.eye(6)
    K = W.T @ np.linalg.inv(C)
    np.testing.assert_allclose(mean, (x - mu) @ K.T, atol=1e-12)
    np.testing.assert_allclose(cov, np.eye(2) - K @ W, atol=1e-12)


def test_linear_elbo_matches_monte_carlo_and_is_tight_at_the_posterior():
    x = _data(n=4)
    fit = am.ppca_mle(x, 2)
    W, mu, s2 = fit.W, fit.mu, fit.sigma2
    mean, cov = am.ppca_posterior(x, W, mu, s2)
    V = np.linalg.solve(W.T @ W + s2 * np.eye(2), W.T)
    # the posterior covariance is diagonal at R = I: the ELBO equals log p(x)
    elbo = am.linear_vae_elbo(x, W, mu, s2, V, np.diag(cov))
    log_px = stats.multivariate_normal(mu, W @ W.T + s2 * np.eye(6)).logpdf(x)
    np.testing.assert_allclose(elbo, log_px, rtol=1e-12)
    # away from it: Monte Carlo of E_q[log p(x, z) - log q(z)]
    V2, sd2 = V * 0.8, np.array([0.3, 0.6])
    rng = np.random.default_rng(0)
    z = (x - mu) @ V2.T + sd2 * rng.standard_normal((200_000, 4, 2))
    log_w = (
        stats.norm.logpdf(x, mu + z @ W.T, np.sqrt(s2)).sum(-1)
        + stats.norm.logpdf(z).sum(-1)
        - stats.norm.logpdf(z, (x - mu) @ V2.T, sd2).sum(-1)
    )
    mc, se = log_w.mean(0), log_w.std(0) / np.sqrt(200_000)
    got = am.linear_vae_elbo(x, W, mu, s2, V2, sd2**2)
    assert np.all(np.abs(got - mc) < 5 * se)


def test_linear_vae_reaches_the_ppca_maximum_and_its_subspace():
    x = _data(n=200)
    fit = am.ppca_mle(x, 2)
    vae = am.fit_linear_vae(x, 2, n_steps=1500, lr=0.05, seed=1, polish=True)
    np.testing.assert_allclose(
        vae.elbo_trace[-1], fit.log_likelihood, atol=1e-6
    )
    assert np.max(subspace_angles(vae.W, fit.W)) < 1e-5
    np.testing.assert_allclose(vae.sigma2, fit.sigma2, rtol=1e-6)
    gaps = am.linear_gaps(x, vae.W, vae.mu, vae.sigma2, vae.V, vae.s2)
    assert abs(gaps.approximation) < 1e-6 and abs(gaps.amortisation) < 1e-6


def test_gap_split_adds_up_and_approximation_gap_is_the_kl():
    x = _data(n=50)
    fit = am.ppca_mle(x, 2)
    c, s = np.cos(0.6), np.sin(0.6)
    W = fit.W @ np.array(
        [[c, -s], [s, c]]
    )  # same likelihood, correlated posterior
    V = np.zeros((2, 6))
    s2 = np.array([0.2, 0.3])
    g = am.linear_gaps(x, W, fit.mu, fit.sigma2, V, s2)
    np.testing.assert_allclose(g.log_px, fit.log_likelihood, rtol=1e-12)
    enc = np.sum(am.linear_vae_elbo(x, W, fit.mu, fit.sigma2, V, s2))
    np.testing.assert_allclose(
        g.approximation + g.amortisation, g.log_px - enc, rtol=1e-12
    )
    # independent route: minimise KL(diag || posterior) numerically
    _, cov = am.ppca_posterior(x, W, fit.mu, fit.sigma2)
    from scipy import optimize

    def kl(log_v):
        v = np.exp(log_v)
        P = np.linalg.inv(cov)
        return 0.5 * (
            np.sum(np.diag(P) * v)
            - 2
            + np.linalg.slogdet(cov)[1]
            - np.sum(log_v)
        )

    res = optimize.minimize(kl, np.zeros(2), tol=1e-14)
    np.testing.assert_allclose(g.approximation, 50 * res.fun, rtol=1e-7)
    assert g.approximation > 0.1 and g.amortisation > 0


def test_autodiff_gradient_equals_chapter_8_reparam_estimator():
    rng = np.random.default_rng(0)
    M = 3
    A = rng.standard_normal((M, M))
    prec = A @ A.T + np.eye(M)
    mu_p = rng.standard_normal(M)
    m = rng.standard_normal(M)
    L = np.tril(0.3 * rng.standard_normal((M, M))) + np.eye(M)

    def grad_log_joint(W):
        return -(W - mu_p) @ prec

    def log_joint(W):
        r = W - mu_p
        return -0.5 * jnp.sum((r @ prec) * r, axis=1)

    seed, S = 7, 50
    g_m, g_L = bbvi.reparam_gradient(grad_log_joint, m, L, S, seed=seed)
    eps = np.random.default_rng(seed).standard_normal((S, M))
    a_m, a_L = jax.grad(am.reparam_elbo, argnums=(1, 2))(
        log_joint, jnp.asarray(m), jnp.asarray(L), jnp.asarray(eps)
    )
    np.testing.assert_allclose(np.asarray(a_m), g_m, rtol=1e-12)
    np.testing.assert_allclose(np.tril(np.asarray(a_L)), g_L, rtol=1e-11)


def test_autodiff_gradient_matches_finite_differences():
    x = _data(n=20)
    rng = np.random.default_rng(4)
    W, mu = rng.standard_normal((6, 2)), x.mean(0)
    V, log_s2 = rng.standard_normal((2, 6)), np.array([-0.5, 0.2])

    def f(V_):
        return float(
            np.sum(am.linear_vae_elbo(x, W, mu, 0.8, V_, np.exp(log_s2)))
        )

    g = jax.grad(
        lambda V_: jnp.sum(am._linear_elbo(x, W, mu, np.log(0.8), V_, log_s2))
    )(jnp.asarray(V))
    h = 1e-6
    for i, j in [(0, 0), (1, 3), (0, 5)]:
        E = np.zeros_like(V)
        E[i, j] = h
        fd = (f(V + E) - f(V - E)) / (2 * h)
        np.testing.assert_allclose(float(g[i, j]), fd, rtol=1e-6)


def _counts(n=60, d=10, seed=0):
    rng = np.random.default_rng(seed)
    return rng.binomial(16, rng.uniform(0.1, 0.9, d), size=(n, d)).astype(
        float
    )


def test_vae_iwae_is_elbo_at_one_draw_and_increases():
    x = _counts()
    params = am.vae_init(10, 2, 8, seed=0)
    lw = am.vae_log_weights(params, x, 400, seed=1)
    elbo, _ = am.vae_elbo(params, x, n_draws=400, seed=2)
    # two unbiased estimates of the ELBO: the mean log weight (KL by Monte
    # Carlo) and vae_elbo (KL exact), within five standard errors
    se = np.sqrt(np.sum(lw.var(1) / 400)) / 60
    assert abs(lw.mean() - elbo.mean()) < 5 * se
    bounds = [
        dg.importance_weighted_bound(lw.reshape(60, -1, S), axis=-1).mean()
        for S in (1, 4, 20, 100)
    ]
    assert np.all(np.diff(bounds) > 0)


def test_vae_log_weights_use_the_binomial_and_normal_densities():
    x = _counts(n=3)
    params = am.vae_init(10, 2, 8, seed=0)
    m, v = am.vae_encode(params, x)
    lw = am.vae_log_weights(params, x, 2, seed=5)
    eps = np.asarray(jax.random.normal(am.key(5), (2, 3, 2)))
    z = m + np.sqrt(v) * eps
    p = am.vae_decode_mean(params, z.reshape(-1, 2)).reshape(2, 3, 10) / 16
    ref = (
        stats.binom.logpmf(x, 16, p).sum(-1)
        + stats.norm.logpdf(z).sum(-1)
        - stats.norm.logpdf(z, m, np.sqrt(v)).sum(-1)
    ).T
    np.testing.assert_allclose(lw, ref, rtol=1e-10)


def test_vae_training_raises_the_elbo_and_local_optimum_beats_encoder():
    x = _counts(n=100)
    fit = am.fit_vae(x, 2, 16, n_steps=400, batch_size=50, seed=0)
    assert fit.elbo_trace[-50:].mean() > fit.elbo_trace[:50].mean() + 5
    enc = am.vae_log_weights(fit.params, x, 64, seed=2).mean()
    m, v = am.optimise_local(fit.params, x, n_steps=200, seed=3)
    loc = am.vae_log_weights(fit.params, x, 64, seed=2, m=m, v=v).mean()
    assert loc > enc


def test_fits_are_deterministic_given_the_seed():
    x = _counts(n=50)
    a = am.fit_vae(x, 2, 8, n_steps=50, batch_size=25, seed=3)
    b = am.fit_vae(x, 2, 8, n_steps=50, batch_size=25, seed=3)
    np.testing.assert_array_equal(a.elbo_trace, b.elbo_trace)
    z1, x1 = am.vae_sample(a.params, 5, 2, seed=1)
    z2, x2 = am.vae_sample(a.params, 5, 2, seed=1)
    np.testing.assert_array_equal(x1, x2)
    assert np.all((x1 >= 0) & (x1 <= 16))


@pytest.mark.parametrize(
    "call, name",
    [
        (lambda: am.ppca_mle(np.zeros((5, 3)) + np.arange(3), 1), "x"),
        (lambda: am.ppca_mle(_data(), 6), "k"),
        (lambda: am.ppca_mle(_data(), 0), "k"),
        (lambda: am.ppca_log_likelihood(_data(), np.ones((5, 2)), 0, 1), "W"),
        (
            lambda: am.ppca_log_likelihood(_data(), np.ones((6, 2)), 0, 1),
            "mu",
        ),
        (
            lambda: am.ppca_log_likelihood(
                _data(), np.ones((6, 2)), np.zeros(6), -1
            ),
            "sigma2",
        ),
        (
            lambda: am.linear_vae_elbo(
                _data(),
                np.ones((6, 2)),
                np.zeros(6),
                1,
                np.ones((2, 5)),
                [1, 1],
            ),
            "V",
        ),
        (
            lambda: am.linear_vae_elbo(
                _data(),
                np.ones((6, 2)),
                np.zeros(6),
                1,
                np.ones((2, 6)),
                [1, 0],
            ),
            "s2",
        ),
        (
            lambda: am.vae_elbo(am.vae_init(3, 1, 2), np.full((2, 3), 17.0)),
            "x",
        ),
        (lambda: am.vae_elbo(am.vae_init(3, 1, 2), np.full((2, 3), 1.5)), "x"),
        (lambda: am.fit_vae(_counts(), 2, 4, batch_size=100), "batch_size"),
        (lambda: am.fit_vae(_counts(), 2, 4, batch_size=10, beta=-1), "beta"),
        (lambda: am.key(None), "seed"),
        (lambda: am.fit_linear_vae(_data(), 2, decoder=(1, 2)), "decoder"),
        (lambda: am.vae_elbo({"a": 1}, _counts()), "params"),
    ],
)
def test_bad_input_is_named(call, name):
    with pytest.raises((ValueError, TypeError), match=name):
        call()
