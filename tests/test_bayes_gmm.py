"""Tests for vitutor.bayes_gmm: the full Bayesian Gaussian mixture (Bishop section 10.2).

Independent routes: Monte Carlo over q with scipy.stats densities, the closed-form evidence of
the conjugate Normal-Wishart model (K = 1), cubature of the predictive density, and
scikit-learn's BayesianGaussianMixture started from the same responsibilities.
"""

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
    K = 6
    for alpha0, seed in ((1e-3, 4), (10.0, 5)):
        prior = _with_alpha0(bg.default_prior(faithful, K), alpha0)
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


def test_updates_are_coordinatewise_maxima_of_the_elbo(faithful):
    X = faithful[:60]
    prior = bg.default_prior(X, 3)
    resp = _random_resp(60, 3, seed=12)
    q = bg.m_step(X, resp, prior)
    best = bg.elbo(X, resp, q, prior)
    rng = np.random.default_rng(13)
    for _ in range(10):
        scale = rng.uniform(0.9, 1.1, size=3)
        shifted = bg.BayesGMMPosterior(
            alpha=q.alpha * scale,
            beta=q.beta * scale[::-1],
            m=q.m + 0.05 * rng.normal(size=q.m.shape),
            nu=q.nu * scale,
            W=q.W * scale[:, None, None],
        )
        assert bg.elbo(X, resp, shifted, prior) < best
    r_opt = bg.e_step(X, q)
    best_r = bg.elbo(X, r_opt, q, prior)
    for _ in range(10):
        r = r_opt * rng.uniform(0.5, 1.5, size=r_opt.shape)
        assert bg.elbo(X, r / r.sum(axis=1, keepdims=True), q, prior) < best_r


# ------------------------------------------------------------------------------- predictive


def test_predictive_density_integrates_to_one():
    rng = np.random.default_rng(14)
    X = np.vstack(
        [rng.normal(-1.0, 0.4, (15, 2)), rng.normal([1.0, 0.5], 0.6, (25, 2))]
    )
    prior = bg.BayesGMMPrior(
        alpha0=1.0, beta0=1.0, m0=[0.0, 0.0], nu0=5.0, W0=np.eye(2)
    )
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
    prior = bg.BayesGMMPrior(
        alpha0=1.0, beta0=0.5, m0=[0.0, 0.0], nu0=3.0, W0=np.eye(2)
    )
    q = bg.fit(X, 2, prior=prior, seed=1)
    pts = np.array([[0.0, 0.0], [1.0, -1.0], [2.5, 2.0]])
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
