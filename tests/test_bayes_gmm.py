"""Tests for vitutor.bayes_gmm: the full Bayesian Gaussian mixture (Bishop section 10.2).

Independent routes: Monte Carlo over q with scipy.stats densities, the closed-form evidence of
the conjugate Normal-Wishart model (K = 1), cubature of the predictive density, and
scikit-learn's BayesianGaussianMixture started from the same responsibilities.
"""

import re

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from peers import FixedInitBGMM, fit_from, sklearn_fit
from scipy import integrate, stats
from scipy.special import digamma, gammaln, multigammaln, softmax, xlogy
from sklearn.datasets import load_iris
from threadpoolctl import threadpool_limits

from vitutor import bayes_gmm as bg


def _random_resp(n, K, seed):
    r = np.random.default_rng(seed).uniform(size=(n, K))
    return r / r.sum(axis=1, keepdims=True)


def _with_alpha0(prior, alpha0):
    return bg.BayesGMMPrior(
        alpha0=alpha0,
        beta0=prior.beta0,
        m0=prior.m0,
        nu0=prior.nu0,
        W0=prior.W0,
    )


def _assert_same_as_sklearn(ours, est, rtol=1e-8):
    np.testing.assert_allclose(
        ours.alpha, est.weight_concentration_, rtol=rtol, atol=0
    )
    np.testing.assert_allclose(
        ours.beta, est.mean_precision_, rtol=rtol, atol=0
    )
    np.testing.assert_allclose(
        ours.nu, est.degrees_of_freedom_, rtol=rtol, atol=0
    )
    np.testing.assert_allclose(ours.m, est.means_, rtol=rtol, atol=1e-10)
    # scikit-learn stores E[Lambda_k]^{-1} = (nu_k W_k)^{-1}
    np.testing.assert_allclose(
        np.linalg.inv(ours.W) / ours.nu[:, None, None],
        est.covariances_,
        rtol=rtol,
        atol=1e-12,
    )


def _sklearn_offset(N, K, prior):
    """Full ELBO minus scikit-learn's bound: the prior normalisers it drops (chapter 4b)."""
    D = prior.D
    log_B0 = (
        -0.5 * prior.nu0 * np.linalg.slogdet(prior.W0)[1]
        - 0.5 * prior.nu0 * D * np.log(2.0)
        - multigammaln(0.5 * prior.nu0, D)
    )
    return (
        gammaln(K * prior.alpha0)
        - K * gammaln(prior.alpha0)
        + K * (0.5 * D * np.log(prior.beta0) + log_B0)
        - 0.5 * N * D * np.log(2.0 * np.pi)
        + 0.25 * K * D * (D - 1) * np.log(np.pi)
    )


#: A prior with generic values: beta0 != 1, alpha0 != 1, nu0 - D - 1 != 0, |W0| != 1, so that no
#: term of the ELBO or of an update can vanish by accident and hide a mistake.
GENERIC = dict(
    alpha0=0.7,
    beta0=0.35,
    m0=[0.2, -0.3],
    nu0=3.6,
    W0=[[0.8, 0.25], [0.25, 0.6]],
)


@pytest.fixture(scope="module", autouse=True)
def _single_blas_thread():
    """Tiny (D x D) BLAS calls, such as scikit-learn's solve_triangular, are slower with threads."""
    with threadpool_limits(1):
        yield


@pytest.fixture(scope="module")
def faithful():
    return bg.load_old_faithful()


# ------------------------------------------------------------------------------- data


def test_old_faithful_has_272_rows_with_r_means():
    raw = bg.load_old_faithful(standardize=False)
    assert raw.shape == (272, 2)
    # mean(faithful$eruptions) and mean(faithful$waiting) as printed by R
    np.testing.assert_allclose(
        raw.mean(axis=0), [3.487783, 70.897059], atol=5e-7
    )
    assert raw[0].tolist() == [3.6, 79.0]


def test_old_faithful_standardised_has_zero_mean_unit_variance(faithful):
    np.testing.assert_allclose(faithful.mean(axis=0), 0.0, atol=1e-12)
    np.testing.assert_allclose(faithful.std(axis=0), 1.0, atol=1e-12)


# ------------------------------------------------------------------------------- parity


@pytest.mark.parametrize("alpha0", [1e-3, 1.0])
def test_fit_matches_sklearn_at_convergence_on_old_faithful(faithful, alpha0):
    K = 6
    prior = _with_alpha0(bg.default_prior(faithful, K), alpha0)
    resp0 = _random_resp(faithful.shape[0], K, seed=0)
    ours = bg.fit(
        faithful, K, prior=prior, init_resp=resp0, max_iter=1000, tol=1e-9
    )
    est = sklearn_fit(faithful, resp0, prior, max_iter=1000, tol=1e-9)
    assert ours.converged and est.converged_
    assert ours.n_iter == est.n_iter_
    _assert_same_as_sklearn(ours, est)


def test_fit_matches_sklearn_after_same_iterations_alpha0_10(faithful):
    K = 6
    prior = _with_alpha0(bg.default_prior(faithful, K), 10.0)
    resp0 = _random_resp(faithful.shape[0], K, seed=1)
    ours = bg.fit(
        faithful, K, prior=prior, init_resp=resp0, max_iter=150, tol=0.0
    )
    est = sklearn_fit(faithful, resp0, prior, max_iter=150, tol=0.0)
    assert ours.n_iter == est.n_iter_ == 150
    _assert_same_as_sklearn(ours, est)


def test_fit_matches_sklearn_at_convergence_on_iris():
    X = load_iris().data
    K = 5
    prior = bg.default_prior(X, K)
    resp0 = _random_resp(X.shape[0], K, seed=2)
    ours = bg.fit(X, K, init_resp=resp0, max_iter=1000, tol=1e-9)
    est = sklearn_fit(X, resp0, prior, max_iter=1000, tol=1e-9)
    assert ours.converged and est.converged_
    assert ours.n_iter == est.n_iter_
    _assert_same_as_sklearn(ours, est)


def test_fit_matches_sklearn_with_all_its_defaults_on_iris():
    X = load_iris().data
    K = 3
    resp0 = _random_resp(X.shape[0], K, seed=3)
    # scikit-learn's default reg_covar (1e-6) and data-dependent priors, same number of iterations
    ours = bg.fit(X, K, init_resp=resp0, max_iter=60, tol=0.0, reg_covar=1e-6)
    est = fit_from(
        FixedInitBGMM(
            n_components=K,
            weight_concentration_prior_type="dirichlet_distribution",
            covariance_type="full",
            max_iter=60,
            tol=0.0,
        ),
        X,
        resp0,
    )
    np.testing.assert_allclose(est.mean_prior_, ours.prior.m0, rtol=1e-12)
    np.testing.assert_allclose(
        est.covariance_prior_, np.linalg.inv(ours.prior.W0), rtol=1e-10
    )
    assert (
        est.weight_concentration_prior_ == ours.prior.alpha0
        and est.degrees_of_freedom_prior_ == ours.prior.nu0
    )
    _assert_same_as_sklearn(ours, est)


def test_reg_covar_makes_a_difference_sklearn_also_sees(faithful):
    K = 3
    resp0 = _random_resp(faithful.shape[0], K, seed=3)
    prior = bg.default_prior(faithful, K)
    bishop = bg.fit(faithful, K, init_resp=resp0, max_iter=5, tol=0.0)
    est = sklearn_fit(
        faithful, resp0, prior, max_iter=5, tol=0.0, reg_covar=1e-2
    )
    with pytest.raises(AssertionError):
        _assert_same_as_sklearn(bishop, est)
    _assert_same_as_sklearn(
        bg.fit(
            faithful, K, init_resp=resp0, max_iter=5, tol=0.0, reg_covar=1e-2
        ),
        est,
    )


def test_sklearn_bound_differs_from_full_elbo_by_the_dropped_constants(
    faithful,
):
    # scikit-learn's defaults (beta0 = 1: the log beta0 term is zero) and a generic prior
    cases = [
        (6, _with_alpha0(bg.default_prior(faithful, 6), 1e-3), 4),
        (6, _with_alpha0(bg.default_prior(faithful, 6), 10.0), 5),
        (3, bg.BayesGMMPrior(**GENERIC), 6),
    ]
    for K, prior, seed in cases:
        resp0 = _random_resp(faithful.shape[0], K, seed=seed)
        ours = bg.fit(
            faithful, K, prior=prior, init_resp=resp0, max_iter=40, tol=0.0
        )
        est = sklearn_fit(faithful, resp0, prior, max_iter=40, tol=0.0)
        offset = ours.elbo_trace - np.asarray(est.lower_bounds_)
        np.testing.assert_allclose(
            offset,
            _sklearn_offset(faithful.shape[0], K, prior),
            rtol=0,
            atol=1e-8,
        )


def test_e_step_matches_sklearn_predict_proba(faithful):
    K = 4
    resp0 = _random_resp(faithful.shape[0], K, seed=6)
    ours = bg.fit(faithful, K, init_resp=resp0, max_iter=10, tol=0.0)
    est = sklearn_fit(
        faithful, resp0, bg.default_prior(faithful, K), max_iter=10, tol=0.0
    )
    np.testing.assert_allclose(
        bg.e_step(faithful, ours),
        est.predict_proba(faithful),
        rtol=1e-8,
        atol=1e-12,
    )


def _log_rho_by_formula(X, q):
    """Bishop 10.46 with 10.64-10.66 written out: a loop over k, W_k and slogdet as given."""
    D = q.D
    cols = []
    for k in range(q.K):
        d = X - q.m[k]
        e_logdet = (
            sum(digamma(0.5 * (q.nu[k] - i)) for i in range(D))
            + D * np.log(2.0)
            + np.linalg.slogdet(q.W[k])[1]
        )
        e_logpi = digamma(q.alpha[k]) - digamma(q.alpha.sum())
        quad = D / q.beta[k] + q.nu[k] * np.einsum("ni,ij,nj->n", d, q.W[k], d)
        cols.append(
            e_logpi + 0.5 * e_logdet - 0.5 * D * np.log(2 * np.pi) - 0.5 * quad
        )
    return np.stack(cols, axis=1)


@pytest.mark.parametrize("block", [1, 5, 64, 100_000])
def test_blocked_e_step_matches_scipy_softmax_of_the_formula(block):
    rng = np.random.default_rng(21)
    X = (
        rng.normal(0, 2, (700, 3))
        + rng.normal(0, 4, (4, 3))[rng.integers(0, 4, 700)]
    )
    q = bg.fit(
        X, 4, init_resp=_random_resp(700, 4, seed=2), max_iter=3, tol=0.0
    )
    r = softmax(_log_rho_by_formula(X, q), axis=1)
    c = X.mean(axis=0)
    out = np.empty((700, 4))
    st, r_log_r = bg._e_step_blocked(
        np.ascontiguousarray((X - c).T), c, q, out, block=block
    )
    np.testing.assert_allclose(out, r, rtol=1e-13, atol=1e-300)
    np.testing.assert_allclose(r_log_r, np.sum(xlogy(r, r)), rtol=1e-13)
    Xs = X - c
    np.testing.assert_allclose(st.N, r.sum(axis=0), rtol=1e-13)
    np.testing.assert_allclose(
        st.Sx, r.T @ Xs, rtol=1e-13, atol=1e-13 * np.abs(Xs).sum()
    )
    np.testing.assert_allclose(
        st.Sxx, np.einsum("nk,ni,nj->kij", r, Xs, Xs), rtol=1e-13
    )
    np.testing.assert_allclose(bg.e_step(X, q), r, rtol=1e-13, atol=1e-300)


def test_fit_peak_memory_is_the_responsibilities_and_one_copy_of_the_data():
    import tracemalloc

    K, D = 8, 5
    rng = np.random.default_rng(22)
    X = rng.normal(0, 3, (K, D))[
        rng.integers(0, K, 80_000)
    ] + rng.standard_normal((80_000, D))
    resp0 = _random_resp(80_000, K, seed=3)
    peaks = {}
    for n in (20_000, 80_000):
        prior = bg.default_prior(X[:n], K)
        tracemalloc.start()
        bg.fit(X[:n], K, prior=prior, init_resp=resp0[:n], max_iter=3, tol=0.0)
        peaks[n] = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    # per point: r_n (K floats) and x_n - c (D floats); a (K, D, N) intermediate would be K D
    per_point = (peaks[80_000] - peaks[20_000]) / 60_000
    assert per_point < 1.1 * 8 * (K + D)
    block = 8 * bg._BLOCK * (K * D + D * D + 3 * K)  # the buffers of one block
    assert peaks[20_000] < 8 * 20_000 * (K + D) + 2 * block


# ------------------------------------------------------------------------------- ELBO


def _log_nw(mu, lam, m, beta, W, nu):
    """log N(mu | m, (beta lam)^{-1}) + log Wishart(lam | W, nu) for stacks (S, D), (S, D, D)."""
    D = m.shape[0]
    d = mu - m
    _, logdet_lam = np.linalg.slogdet(lam)
    log_n = 0.5 * (
        D * np.log(beta / (2 * np.pi))
        + logdet_lam
        - beta * np.einsum("si,sij,sj->s", d, lam, d)
    )
    return log_n + stats.wishart(df=nu, scale=W).logpdf(
        np.moveaxis(lam, 0, -1)
    )


def _sample_q(q, S, rng):
    pis = stats.dirichlet(q.alpha).rvs(size=S, random_state=rng)
    lams, mus = [], []
    for k in range(q.K):
        lam = (
            stats.wishart(df=q.nu[k], scale=q.W[k])
            .rvs(size=S, random_state=rng)
            .reshape(S, q.D, q.D)
        )
        cov = np.linalg.inv(q.beta[k] * lam)
        z = rng.standard_normal((S, q.D))
        mus.append(
            q.m[k] + np.einsum("sij,sj->si", np.linalg.cholesky(cov), z)
        )
        lams.append(lam)
    return pis, np.stack(mus, axis=1), np.stack(lams, axis=1)


def _log_gauss(x, mu, lam):
    """log N(x_n | mu_s, lam_s^{-1}) for x (N, D), mu (S, D), lam (S, D, D) -> (S, N)."""
    D = x.shape[1]
    d = x[None, :, :] - mu[:, None, :]
    _, logdet = np.linalg.slogdet(lam)
    return 0.5 * (
        logdet[:, None]
        - D * np.log(2 * np.pi)
        - np.einsum("sni,sij,snj->sn", d, lam, d)
    )


def test_full_elbo_matches_monte_carlo_over_q():
    rng = np.random.default_rng(7)
    X = np.vstack(
        [rng.normal(-1.0, 0.5, (4, 2)), rng.normal(1.5, 0.7, (4, 2))]
    )
    K = 2
    prior = bg.BayesGMMPrior(
        alpha0=1.3,
        beta0=0.7,
        m0=[0.2, -0.1],
        nu0=3.5,
        W0=[[0.8, 0.2], [0.2, 1.1]],
    )
    q = bg.m_step(X, _random_resp(8, K, seed=8), prior)
    resp = _random_resp(
        8, K, seed=9
    )  # a q(Z) that is not the optimum for q: ELBO holds for any pair
    value = bg.elbo(X, resp, q, prior)

    S = 4000
    pis, mus, lams = _sample_q(q, S, rng)
    f = np.zeros(S)
    for k in range(K):
        f += (
            _log_gauss(X, mus[:, k], lams[:, k]) + np.log(pis[:, [k]])
        ) @ resp[:, k]
        f += _log_nw(
            mus[:, k], lams[:, k], prior.m0, prior.beta0, prior.W0, prior.nu0
        )
        f -= _log_nw(mus[:, k], lams[:, k], q.m[k], q.beta[k], q.W[k], q.nu[k])
    f += stats.dirichlet(np.full(K, prior.alpha0)).logpdf(
        pis.T
    ) - stats.dirichlet(q.alpha).logpdf(pis.T)
    f -= np.sum(resp * np.log(resp))
    se = f.std(ddof=1) / np.sqrt(S)
    assert abs(value - f.mean()) < 4 * se, (value, f.mean(), se)
    assert se < 0.2


def test_elbo_terms_entropies_match_scipy():
    X = bg.load_old_faithful()[:50]
    prior = bg.default_prior(X, 3)
    resp = _random_resp(50, 3, seed=10)
    q = bg.m_step(X, resp, prior)
    terms = bg.elbo_terms(X, resp, q, prior)
    np.testing.assert_allclose(
        terms["E[log q(pi)]"], -stats.dirichlet(q.alpha).entropy(), rtol=1e-12
    )
    # E[log q(mu, Lambda)] = -H[Wishart] - sum_k H[N(m_k, (beta_k Lambda_k)^-1)] averaged over
    # Lambda_k
    h_w = sum(
        stats.wishart(df=q.nu[k], scale=q.W[k]).entropy() for k in range(3)
    )
    e_logdet = bg.expected_log_det_precision(q.nu, q.W)
    h_gauss = np.sum(
        0.5 * q.D * (1 + np.log(2 * np.pi))
        - 0.5 * q.D * np.log(q.beta)
        - 0.5 * e_logdet
    )
    np.testing.assert_allclose(
        terms["E[log q(mu,Lambda)]"], -h_w - h_gauss, rtol=1e-12
    )
    np.testing.assert_allclose(
        terms["E[log q(Z)]"], -stats.entropy(resp, axis=1).sum(), rtol=1e-12
    )


def test_expected_log_det_precision_matches_monte_carlo():
    rng = np.random.default_rng(11)
    W = np.array([[[1.0, 0.3], [0.3, 0.5]]])
    nu = np.array([4.2])
    draws = stats.wishart(df=nu[0], scale=W[0]).rvs(
        size=20000, random_state=rng
    )
    logdets = np.linalg.slogdet(draws)[1]
    se = logdets.std(ddof=1) / np.sqrt(logdets.size)
    assert (
        abs(bg.expected_log_det_precision(nu, W)[0] - logdets.mean()) < 4 * se
    )


def _log_evidence_normal_wishart(X, prior):
    """Closed-form log p(X) of the conjugate Normal-Wishart model (one component)."""
    N, D = X.shape
    xbar = X.mean(axis=0)
    S = (X - xbar).T @ (X - xbar)
    beta_N, nu_N = prior.beta0 + N, prior.nu0 + N
    d = xbar - prior.m0
    W_N_inv = (
        np.linalg.inv(prior.W0) + S + prior.beta0 * N / beta_N * np.outer(d, d)
    )
    return (
        -0.5 * N * D * np.log(np.pi)
        + multigammaln(0.5 * nu_N, D)
        - multigammaln(0.5 * prior.nu0, D)
        - 0.5 * prior.nu0 * np.linalg.slogdet(prior.W0)[1]
        - 0.5 * nu_N * np.linalg.slogdet(W_N_inv)[1]
        + 0.5 * D * np.log(prior.beta0 / beta_N)
    )


@given(seed=st.integers(0, 10_000), n=st.integers(2, 12), D=st.integers(1, 3))
@settings(max_examples=25)
def test_elbo_equals_exact_log_evidence_when_K_is_1(seed, n, D):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, D)) * rng.uniform(0.5, 2.0, D) + rng.normal(size=D)
    A = rng.normal(size=(D, D))
    prior = bg.BayesGMMPrior(
        alpha0=rng.uniform(0.1, 3.0),
        beta0=rng.uniform(0.1, 3.0),
        m0=rng.normal(size=D),
        nu0=D - 1 + rng.uniform(0.5, 4.0),
        W0=A @ A.T + 0.5 * np.eye(D),
    )
    result = bg.fit(X, 1, prior=prior, max_iter=3, tol=0.0)
    np.testing.assert_allclose(
        result.elbo_trace,
        _log_evidence_normal_wishart(X, prior),
        rtol=1e-10,
        atol=1e-9,
    )


@pytest.mark.parametrize("alpha0", [1e-3, 1.0, 10.0])
def test_elbo_trace_never_decreases_on_old_faithful(faithful, alpha0):
    prior = _with_alpha0(bg.default_prior(faithful, 6), alpha0)
    result = bg.fit(
        faithful,
        6,
        prior=prior,
        seed=int(alpha0 * 1000),
        max_iter=300,
        tol=0.0,
    )
    assert np.all(
        np.diff(result.elbo_trace) >= -1e-10 * np.abs(result.elbo_trace[1:])
    )


@given(seed=st.integers(0, 10_000), n=st.integers(3, 25), K=st.integers(1, 4))
@settings(max_examples=30)
def test_elbo_trace_never_decreases_on_random_data(seed, n, K):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 2)) + 3.0 * rng.integers(0, 2, size=(n, 1))
    prior = bg.BayesGMMPrior(
        alpha0=rng.uniform(0.01, 5.0),
        beta0=rng.uniform(0.01, 5.0),
        m0=[0.0, 1.0],
        nu0=rng.uniform(1.1, 6.0),
        W0=np.eye(2) * rng.uniform(0.2, 3.0),
    )
    result = bg.fit(X, K, prior=prior, seed=seed, max_iter=60, tol=0.0)
    trace = result.elbo_trace
    assert np.all(np.isfinite(trace))
    assert np.all(np.diff(trace) >= -1e-9 * np.abs(trace[1:]))


# ------------------------------------------------------------------------------- the updates


def _random_model(seed, n, K, D):
    """Small random data, a prior with generic values (no log 1, no nu0 = D + 1) and a q(Z)."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, D)) * rng.uniform(0.5, 2.0, D) + rng.normal(size=D)
    A = rng.normal(size=(D, D))
    prior = bg.BayesGMMPrior(
        alpha0=rng.uniform(0.2, 3.0),
        beta0=rng.uniform(0.2, 3.0),
        m0=rng.normal(size=D),
        nu0=D - 1 + rng.uniform(0.3, 4.0),
        W0=(A @ A.T + 0.5 * np.eye(D)) * rng.uniform(0.3, 2.0),
    )
    return rng, X, prior, rng.dirichlet(np.ones(K), size=n)


def _e_z_log_joint(X, r, prior, pi, mu, lam):
    """E_Z[log p(X, Z, pi, mu, Lambda)] at one (pi, mu, Lambda), E[z_nk] = r_nk (eq. bgmm-logjoint).

    Every density from scipy.stats, nothing from vitutor.
    """
    K = r.shape[1]
    total = stats.dirichlet(np.full(K, prior.alpha0)).logpdf(pi)
    wishart0 = stats.wishart(df=prior.nu0, scale=prior.W0)
    for k in range(K):
        cov = np.linalg.inv(lam[k])
        log_lik = stats.multivariate_normal(mu[k], cov).logpdf(X)
        total += r[:, k] @ (np.log(pi[k]) + log_lik)
        total += stats.multivariate_normal(prior.m0, cov / prior.beta0).logpdf(
            mu[k]
        )
        total += wishart0.logpdf(lam[k])
    return total


def _to_theta(q):
    """Unconstrained coordinates: log alpha; log beta, m, log(nu - D + 1), Cholesky of W."""
    i, j = np.tril_indices(q.D)
    L = np.linalg.cholesky(q.W)[:, i, j]
    L[:, i == j] = np.log(L[:, i == j])
    return {
        "q(pi)": np.log(q.alpha),
        "q(mu, Lambda)": np.column_stack(
            [np.log(q.beta), q.m, np.log(q.nu - q.D + 1), L]
        ).ravel(),
    }


def _from_theta(theta, K, D):
    i, j = np.tril_indices(D)
    t = theta["q(mu, Lambda)"].reshape(K, -1)
    L = np.zeros((K, D, D))
    L[:, i, j] = t[:, D + 2 :]
    diag = np.arange(D)
    L[:, diag, diag] = np.exp(L[:, diag, diag])
    return bg.BayesGMMPosterior(
        alpha=np.exp(theta["q(pi)"]),
        beta=np.exp(t[:, 0]),
        m=t[:, 1 : D + 1],
        nu=D - 1 + np.exp(t[:, D + 1]),
        W=L @ L.transpose(0, 2, 1),
    )


def _fd_grad(f, t, h=1e-5):
    return np.array(
        [(f(t + h * e) - f(t - h * e)) / (2 * h) for e in np.eye(t.size)]
    )


def _assert_maximiser(f, t_opt, t_off, rng, eps=0.05, n_dir=8):
    """f peaks at t_opt: steps both ways never raise it, its gradient vanishes there (and not at
    t_off, which gives 'vanishes' a scale)."""
    best = f(t_opt)
    U = rng.normal(size=(n_dir, t_opt.size))
    U /= np.linalg.norm(U, axis=1, keepdims=True)
    for u in U:
        for s in (1.0, -1.0):
            assert f(t_opt + s * eps * u) <= best + 1e-12 * abs(best)
    assert np.abs(_fd_grad(f, t_opt)).max() < 1e-6 * max(1.0, abs(best))
    assert np.abs(_fd_grad(f, t_off)).max() > 1e-3


models = dict(
    seed=st.integers(0, 10_000),
    n=st.integers(2, 10),
    K=st.integers(1, 3),
    D=st.integers(1, 3),
)


@given(**models)
@settings(max_examples=25)
def test_m_step_is_the_optimal_factor_of_chapter_3(seed, n, K, D):
    # log q*(pi, mu, Lambda) = E_Z[log p(X, Z, pi, mu, Lambda)] + const (eq. mf-update): the
    # difference must be the same at every (pi, mu, Lambda), here with scipy densities only
    rng, X, prior, r = _random_model(seed, n, K, D)
    q = bg.m_step(X, r, prior)
    pis, mus, lams = _sample_q(q, 4, rng)
    gaps = []
    for pi, mu, lam in zip(pis, mus, lams, strict=True):
        log_q = stats.dirichlet(q.alpha).logpdf(pi) if K > 1 else 0.0
        for k in range(K):
            log_q += _log_nw(
                mu[[k]], lam[[k]], q.m[k], q.beta[k], q.W[k], q.nu[k]
            )[0]
        gaps.append(_e_z_log_joint(X, r, prior, pi, mu, lam) - log_q)
    np.testing.assert_allclose(gaps, gaps[0], rtol=1e-9, atol=1e-9)


def test_m_step_matches_both_forms_of_the_wishart_update():
    # eq. bgmm-W: W0^-1 + sum_n r x x^T + beta0 m0 m0^T - beta_k m_k m_k^T
    #           = W0^-1 + N_k S_k + beta0 N_k / (beta0 + N_k) (xbar_k - m0)(xbar_k - m0)^T
    _, X, prior, r = _random_model(30, 9, 3, 2)
    q = bg.m_step(X, r, prior)
    N_k = r.sum(axis=0)
    np.testing.assert_allclose(q.alpha, prior.alpha0 + N_k, rtol=1e-13)
    np.testing.assert_allclose(q.beta, prior.beta0 + N_k, rtol=1e-13)
    np.testing.assert_allclose(q.nu, prior.nu0 + N_k, rtol=1e-13)
    for k in range(3):
        xbar = r[:, k] @ X / N_k[k]
        np.testing.assert_allclose(
            q.m[k], (prior.beta0 * prior.m0 + N_k[k] * xbar) / q.beta[k]
        )
        d = X - xbar
        S_k = (r[:, [k]] * d).T @ d / N_k[k]
        e = xbar - prior.m0
        second = (
            np.linalg.inv(prior.W0)
            + N_k[k] * S_k
            + prior.beta0 * N_k[k] / (prior.beta0 + N_k[k]) * np.outer(e, e)
        )
        first = (
            np.linalg.inv(prior.W0)
            + (r[:, [k]] * X).T @ X
            + prior.beta0 * np.outer(prior.m0, prior.m0)
            - q.beta[k] * np.outer(q.m[k], q.m[k])
        )
        np.testing.assert_allclose(first, second, rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(np.linalg.inv(q.W[k]), second, rtol=1e-10)


def test_log_rho_is_the_expectation_under_q():
    # eq. bgmm-qz: log rho_nk = E_q[log pi_k + log N(x_n | mu_k, Lambda_k^-1)], by Monte Carlo
    rng, X, prior, r = _random_model(31, 6, 3, 2)
    q = bg.m_step(X, r, prior)
    S = 20_000
    pis, mus, lams = _sample_q(q, S, rng)
    ell = np.stack(
        [
            np.log(pis[:, [k]]) + _log_gauss(X, mus[:, k], lams[:, k])
            for k in range(3)
        ],
        axis=-1,
    )
    se = ell.std(axis=0, ddof=1) / np.sqrt(S)
    log_rho = _log_rho_by_formula(X, q)
    assert np.all(np.abs(log_rho - ell.mean(axis=0)) < 4 * se)
    np.testing.assert_allclose(
        bg.e_step(X, q), softmax(log_rho, axis=1), rtol=1e-12
    )


@given(**models)
@settings(max_examples=25)
def test_m_step_maximises_the_elbo_over_each_global_factor(seed, n, K, D):
    rng, X, prior, r = _random_model(seed, n, K, D)
    q = bg.m_step(X, r, prior)
    q_off = bg.m_step(X, rng.dirichlet(np.ones(K), size=n), prior)
    theta, theta_off = _to_theta(q), _to_theta(q_off)
    # q(pi) of one component is a point mass at 1 whatever alpha: nothing to maximise
    for name in theta if K > 1 else ["q(mu, Lambda)"]:
        _assert_maximiser(
            lambda v, name=name: bg.elbo(
                X, r, _from_theta({**theta, name: v}, K, D), prior
            ),
            theta[name],
            theta_off[name] + 0.3 * rng.normal(size=theta[name].size),
            rng,
        )


@given(**models)
@settings(max_examples=25)
def test_e_step_maximises_the_elbo_over_q_z(seed, n, K, D):
    rng, X, prior, r = _random_model(seed, n, K + 1, D)
    q = bg.m_step(X, r, prior)
    # logits eta with r = softmax(eta): every real vector is a valid q(Z)
    _assert_maximiser(
        lambda eta: bg.elbo(
            X, softmax(eta.reshape(n, K + 1), axis=1), q, prior
        ),
        np.log(bg.e_step(X, q)).ravel(),
        rng.normal(size=n * (K + 1)),
        rng,
    )


# ------------------------------------------------------------------------------- predictive


def test_predictive_density_integrates_to_one():
    rng = np.random.default_rng(14)
    X = np.vstack(
        [rng.normal(-1.0, 0.4, (15, 2)), rng.normal([1.0, 0.5], 0.6, (25, 2))]
    )
    prior = bg.BayesGMMPrior(**GENERIC)
    q = bg.fit(X, 3, prior=prior, seed=0)
    res = integrate.cubature(
        lambda x: bg.predictive_density(x, q),
        [-np.inf, -np.inf],
        [np.inf, np.inf],
        rtol=1e-7,
        atol=1e-9,
    )
    assert res.status == "converged"
    np.testing.assert_allclose(res.estimate, 1.0, atol=1e-6)


def test_predictive_density_is_the_q_average_of_the_mixture_density():
    rng = np.random.default_rng(15)
    X = rng.normal(size=(20, 2))
    prior = bg.BayesGMMPrior(**GENERIC)
    q = bg.fit(X, 2, prior=prior, seed=1)
    pts = np.array([[0.0, 0.0], [1.0, -1.0], [1.5, 1.0]])
    pis, mus, lams = _sample_q(q, 20000, rng)
    dens = np.zeros((20000, len(pts)))
    for k in range(q.K):
        dens += pis[:, [k]] * np.exp(_log_gauss(pts, mus[:, k], lams[:, k]))
    se = dens.std(axis=0, ddof=1) / np.sqrt(dens.shape[0])
    assert np.all(
        np.abs(bg.predictive_density(pts, q) - dens.mean(axis=0)) < 4 * se
    )


# ------------------------------------------------------------------------------- robustness


def test_duplicated_points_give_finite_fit():
    rng = np.random.default_rng(16)
    X = np.vstack([np.tile([[2.0, -1.0]], (40, 1)), rng.normal(size=(30, 2))])
    result = bg.fit(X, 3, seed=0)
    for arr in (
        result.alpha,
        result.m,
        result.W,
        result.resp,
        result.elbo_trace,
    ):
        assert np.all(np.isfinite(arr))
    assert np.all(np.isfinite(bg.predictive_density(X, result, log=True)))
    assert np.all(
        np.diff(result.elbo_trace) >= -1e-9 * np.abs(result.elbo_trace[1:])
    )


def test_empty_components_stay_finite():
    X = bg.load_old_faithful()
    resp = np.zeros((X.shape[0], 4))
    resp[:, 0] = 1.0  # components 1..3 start with no data at all
    result = bg.fit(X, 4, init_resp=resp, max_iter=20)
    assert np.all(np.isfinite(result.m)) and np.all(
        np.isfinite(result.elbo_trace)
    )


# ------------------------------------------------------------------------------- bad input


GOOD = dict(alpha0=1.0, beta0=1.0, m0=[0.0, 0.0], nu0=2.0, W0=np.eye(2))


@pytest.mark.parametrize(
    "field, value",
    [
        ("alpha0", 0.0),
        ("alpha0", -1.0),
        ("beta0", 0.0),
        ("beta0", -2.0),
        ("nu0", 1.0),
        ("nu0", 0.5),
        ("W0", [[1.0, 2.0], [2.0, 1.0]]),
        ("W0", [[1.0, 0.5], [0.0, 1.0]]),
        ("W0", np.eye(3)),
        ("W0", [[np.nan, 0.0], [0.0, 1.0]]),
        ("m0", [0.0, np.inf]),
        ("alpha0", np.nan),
    ],
)
def test_bad_prior_raises_naming_the_field(field, value):
    with pytest.raises(ValueError, match=field):
        bg.BayesGMMPrior(**{**GOOD, field: value})


@pytest.mark.parametrize(
    "X",
    [
        np.array([[0.0, np.nan], [1.0, 2.0]]),
        np.array([[0.0, np.inf], [1.0, 2.0]]),
        np.arange(5.0),
    ],
)
def test_bad_data_raises_naming_X(X):
    with pytest.raises(ValueError, match="X"):
        bg.fit(X, 2, prior=bg.BayesGMMPrior(**GOOD))


def test_K_below_one_raises():
    with pytest.raises(ValueError, match="K"):
        bg.fit(np.zeros((5, 2)), 0, prior=bg.BayesGMMPrior(**GOOD))


@pytest.mark.parametrize(
    "init_resp",
    [
        np.full((10, 2), 0.4),
        np.full((10, 3), 0.5),
        np.full((9, 2), 0.5),
        np.array([[1.5, -0.5]] * 10),
        np.full(10, 1.0),
    ],
)
def test_bad_init_resp_raises(init_resp):
    X = np.random.default_rng(0).normal(size=(10, 2))
    with pytest.raises(ValueError, match="init_resp"):
        bg.fit(X, 2, prior=bg.BayesGMMPrior(**GOOD), init_resp=init_resp)


def test_prior_dimension_must_match_data():
    with pytest.raises(ValueError, match="prior"):
        bg.fit(np.zeros((5, 3)), 2, prior=bg.BayesGMMPrior(**GOOD))


def test_singular_data_needs_an_explicit_prior():
    with pytest.raises(ValueError, match="X"):
        bg.fit(np.ones((6, 2)), 2)


@pytest.mark.parametrize(
    "alpha, error",
    [
        ([-1.0, 2.0], ValueError),
        ([0.0, 2.0], ValueError),
        ([np.nan, 2.0], ValueError),
        ([np.inf, 2.0], ValueError),
        ([], ValueError),
        ([[1.0, 2.0]], ValueError),
        (["a", "b"], TypeError),
    ],
)
def test_expected_log_weights_rejects_bad_concentrations(alpha, error):
    with pytest.raises(error, match="alpha"):
        bg.expected_log_weights(alpha)


@pytest.mark.parametrize(
    "nu, W, name",
    [
        ([0.5], [np.eye(2)], "nu"),  # nu <= D - 1
        ([1.0], [np.eye(2)], "nu"),
        ([np.nan], [np.eye(2)], "nu"),
        ([3.0, 4.0], [np.eye(2)], "nu"),  # one nu per matrix
        ([3.0], [[[1.0, 2.0], [2.0, 1.0]]], "W"),  # not positive definite
        ([3.0], [[[1.0, 0.5], [0.0, 1.0]]], "W"),  # not symmetric
        ([3.0], [[[np.nan, 0.0], [0.0, 1.0]]], "W"),
        ([3.0], np.eye(2), "W"),  # not a stack
    ],
)
def test_expected_log_det_precision_rejects_bad_wishart(nu, W, name):
    with pytest.raises(ValueError, match=name):
        bg.expected_log_det_precision(nu, W)


def test_expected_log_det_precision_accepts_nu_just_above_d_minus_1():
    # nu > D - 1 is the whole Wishart range; E[log|Lambda|] is finite there
    value = bg.expected_log_det_precision([1.0 + 1e-6], [np.eye(2)])
    assert np.isfinite(value).all()


@pytest.mark.parametrize(
    "seed, error", [("abc", TypeError), (1.5, TypeError), (-1, ValueError)]
)
def test_fit_validates_the_seed_even_with_init_resp(seed, error):
    X = np.random.default_rng(0).normal(size=(10, 2))
    with pytest.raises(error, match="seed"):
        bg.fit(
            X,
            2,
            prior=bg.BayesGMMPrior(**GOOD),
            init_resp=np.full((10, 2), 0.5),
            seed=seed,
        )


def test_predictive_density_log_must_be_bool():
    q = bg.m_step(np.eye(2), np.full((2, 2), 0.5), bg.BayesGMMPrior(**GOOD))
    with pytest.raises(TypeError, match="log"):
        bg.predictive_density(np.zeros((1, 2)), q, log="yes")


def _small_q(K):
    return bg.BayesGMMPosterior(
        alpha=np.ones(K),
        beta=np.ones(K),
        m=np.zeros((K, 2)),
        nu=np.full(K, 3.0),
        W=np.tile(np.eye(2), (K, 1, 1)),
    )


@pytest.mark.parametrize(
    "call, name",
    [
        # N K + K D^2 = 10 * 10**8 + 4 * 10**8 elements: refused before anything is allocated
        (lambda: bg.fit(np.zeros((10, 2)), 10**8), "K"),
        (
            lambda: bg.fit(
                np.random.default_rng(0).normal(size=(10, 2)),
                3,
                prior=bg.BayesGMMPrior(**GOOD),
                max_elements=20,
            ),
            "K",
        ),
        (lambda: bg.default_prior(np.zeros((3, 20_000)), 2), "X"),
        (
            lambda: bg.fit(
                np.random.default_rng(0).normal(size=(10, 2)),
                2,
                prior=bg.BayesGMMPrior(**GOOD),
                max_iter=10**12,
            ),
            "max_iter",
        ),
        (
            lambda: bg.e_step(
                np.zeros((50, 2)), _small_q(3), max_elements=100
            ),
            "X",
        ),
        (
            lambda: bg.predictive_density(
                np.zeros((50, 2)), _small_q(3), max_elements=100
            ),
            "x",
        ),
        (
            lambda: bg.m_step(
                np.zeros((4, 2)),
                np.full((4, 40), 1 / 40),
                bg.BayesGMMPrior(**GOOD),
                max_elements=100,
            ),
            "resp",
        ),
        (
            lambda: bg.elbo(
                np.zeros((4, 2)),
                np.full((4, 30), 1 / 30),
                _small_q(30),
                bg.BayesGMMPrior(**GOOD),
                max_elements=100,
            ),
            "resp",
        ),
    ],
)
def test_allocations_above_max_elements_raise_naming_the_argument(call, name):
    with pytest.raises(ValueError, match="max_elements") as info:
        call()
    assert re.search(rf"\b{name}\b", str(info.value)), str(info.value)


@pytest.mark.parametrize("max_elements", [0, -3, 2.5, "many"])
def test_bad_max_elements_is_refused(max_elements):
    with pytest.raises((ValueError, TypeError), match="max_elements"):
        bg.fit(
            np.random.default_rng(0).normal(size=(10, 2)),
            2,
            prior=bg.BayesGMMPrior(**GOOD),
            max_elements=max_elements,
        )


def test_block_shrinks_so_that_wide_data_do_not_blow_up_memory():
    import tracemalloc

    # D = 150: a block of 2048 points would need a (D^2, 2048) buffer of 46e6 floats (370 MB)
    rng = np.random.default_rng(23)
    N, D, K = 3000, 150, 2
    X = rng.normal(size=(N, D))
    prior = bg.BayesGMMPrior(
        alpha0=0.7, beta0=0.35, m0=np.zeros(D), nu0=D + 0.6, W0=np.eye(D) / D
    )
    resp0 = _random_resp(N, K, seed=4)
    assert bg._rows_per_block(K, D, N, bg._BLOCK) < bg._BLOCK
    tracemalloc.start()
    result = bg.fit(X, K, prior=prior, init_resp=resp0, max_iter=2, tol=0.0)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert np.all(np.isfinite(result.elbo_trace))
    assert peak < 8 * (N * D + 4 * N * K + 8 * K * D * D) + 2 * 8 * 2**20
    # the blocked E step still agrees with the unblocked formula
    np.testing.assert_allclose(
        bg.e_step(X, result),
        softmax(_log_rho_by_formula(X, result), axis=1),
        rtol=1e-9,
        atol=1e-300,
    )


def test_posterior_needs_at_least_one_component():
    with pytest.raises(ValueError, match="m"):
        bg.BayesGMMPosterior(
            alpha=np.ones(0),
            beta=np.ones(0),
            m=np.zeros((0, 2)),
            nu=np.ones(0),
            W=np.zeros((0, 2, 2)),
        )
