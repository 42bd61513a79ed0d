"""Tests for vitutor.lda (chapter 7): every expected value from an independent route."""

import logging
import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats
from scipy.special import digamma, gammaln, logsumexp
from sklearn.decomposition import LatentDirichletAllocation

from vitutor import lda, text

ALPHA, ETA = 0.3, 0.2


@pytest.fixture(scope="module")
def tiny():
    """Five short documents over six word types, with one repeated word per document."""
    X = np.array(
        [
            [2, 1, 0, 0, 1, 0],
            [0, 3, 1, 0, 0, 0],
            [1, 0, 0, 2, 2, 1],
            [0, 0, 4, 1, 0, 1],
            [1, 1, 1, 1, 1, 1],
        ]
    )
    lam = np.random.default_rng(0).gamma(2.0, 1.0, size=(3, 6)) + 0.5
    return sp.csr_matrix(X), lam


@pytest.fixture(scope="module")
def synthetic():
    return lda.simulate_corpus(
        D=400, V=600, K=6, alpha=0.2, eta=0.05, doc_length=80, seed=1
    )


# ------------------------------------------------------------------ a direct, unvectorised LDA


def direct_fixed_point(X, lam, alpha, iters=2000):
    """Blei et al. (2003), fig. 6, written token by token for one document at a time."""
    X = np.asarray(X.todense()).astype(int)
    D, K = X.shape[0], lam.shape[0]
    elog_beta = digamma(lam) - digamma(lam.sum(axis=1, keepdims=True))
    gamma, sstats = np.empty((D, K)), np.zeros_like(lam)
    for d in range(D):
        tokens = np.repeat(np.arange(X.shape[1]), X[d])  # w_d1, ..., w_dN
        g = np.full(K, alpha + len(tokens) / K)
        for _ in range(iters):
            elog_theta = digamma(g) - digamma(g.sum())
            phi = np.array(
                [np.exp(elog_theta + elog_beta[:, w]) for w in tokens]
            )
            phi /= phi.sum(axis=1, keepdims=True)
            g_new = alpha + phi.sum(axis=0)
            if np.max(np.abs(g_new - g)) < 1e-15:
                break
            g = g_new
        gamma[d] = g_new
        for n, w in enumerate(tokens):
            sstats[:, w] += phi[n]
    return gamma, sstats


def full_elbo(X, phi, gamma, lam, alpha, eta):
    """ELBO with an explicit phi[d, w, k] (shared by the tokens of one word type), term by term."""
    X = np.asarray(X.todense(), dtype=float)
    K, V = lam.shape
    elog_t = digamma(gamma) - digamma(gamma.sum(1, keepdims=True))
    elog_b = digamma(lam) - digamma(lam.sum(1, keepdims=True))
    nphi = X[:, :, None] * phi
    value = np.sum(
        nphi * (elog_t[:, None, :] + elog_b.T[None, :, :])
    )  # E[log p(z | theta)] + E[log p(w | z, beta)]
    value -= np.sum(
        nphi * np.log(np.where(phi > 0, phi, 1.0))
    )  # - E[log q(z)]
    for g, e in zip(
        gamma, elog_t, strict=True
    ):  # E[log p(theta)] - E[log q(theta)]
        value += (
            gammaln(K * alpha) - K * gammaln(alpha) + (alpha - 1) * e.sum()
        )
        value -= gammaln(g.sum()) - gammaln(g).sum() + ((g - 1) * e).sum()
    # E[log p(beta)] - E[log q(beta)]
    for lam_k, e in zip(lam, elog_b, strict=True):
        value += gammaln(V * eta) - V * gammaln(eta) + (eta - 1) * e.sum()
        value -= (
            gammaln(lam_k.sum())
            - gammaln(lam_k).sum()
            + ((lam_k - 1) * e).sum()
        )
    return value


def optimal_phi(gamma, lam):
    elog_t = digamma(gamma) - digamma(gamma.sum(1, keepdims=True))
    elog_b = digamma(lam) - digamma(lam.sum(1, keepdims=True))
    logits = elog_t[:, None, :] + elog_b.T[None, :, :]
    return np.exp(logits - logsumexp(logits, axis=2, keepdims=True))


# ------------------------------------------------------------------ the updates


@pytest.mark.parametrize("compiled", [True, False], ids=["compiled", "numpy"])
def test_e_step_matches_a_direct_unvectorised_implementation(tiny, compiled):
    X, lam = tiny
    X = lda.check_counts(X)
    gamma_ref, sstats_ref = direct_fixed_point(X, lam, ALPHA)
    gamma, sstats, n_iter = lda._e_step(
        X,
        lam,
        ALPHA,
        np.ones((5, 3)),
        tol=1e-15,
        max_iter=5000,
        compiled=compiled,
    )
    np.testing.assert_allclose(gamma, gamma_ref, rtol=0, atol=1e-10)
    np.testing.assert_allclose(sstats, sstats_ref, rtol=0, atol=1e-10)
    assert np.all(n_iter < 5000)


def test_compiled_e_step_equals_the_numpy_reference(synthetic):
    X = lda.check_counts(synthetic.X)
    lam = (
        np.random.default_rng(3).gamma(100, 0.01, size=(6, X.shape[1]))
        + 20 * synthetic.beta
    )
    g0 = np.random.default_rng(4).gamma(100, 0.01, size=(X.shape[0], 6))
    a = lda._e_step(X, lam, 0.2, g0, 1e-3, 100, compiled=True)
    b = lda._e_step(X, lam, 0.2, g0, 1e-3, 100, compiled=False)
    np.testing.assert_array_equal(a[2], b[2])
    np.testing.assert_allclose(a[0], b[0], rtol=1e-11)
    np.testing.assert_allclose(a[1], b[1], rtol=1e-10, atol=1e-12)


def test_gamma_is_the_coordinate_maximiser(tiny):
    X, lam = tiny
    rng = np.random.default_rng(5)
    gamma = rng.gamma(3.0, 1.0, size=(5, 3)) + 0.2
    phi = optimal_phi(gamma, lam)
    dense = np.asarray(X.todense(), dtype=float)
    g_star = ALPHA + np.einsum("dw,dwk->dk", dense, phi)  # eq. (lda-gamma)
    best = full_elbo(X, phi, g_star, lam, ALPHA, ETA)
    for _ in range(20):
        assert (
            full_elbo(
                X,
                phi,
                g_star * np.exp(0.05 * rng.normal(size=g_star.shape)),
                lam,
                ALPHA,
                ETA,
            )
            < best
        )
    h = 1e-6
    for d, k in [(0, 0), (2, 1), (4, 2)]:
        e = np.zeros_like(g_star)
        e[d, k] = h
        fd = (
            full_elbo(X, phi, g_star + e, lam, ALPHA, ETA)
            - full_elbo(X, phi, g_star - e, lam, ALPHA, ETA)
        ) / (2 * h)
        assert abs(fd) < 1e-6


def test_lambda_is_the_coordinate_maximiser(tiny):
    X, lam = tiny
    rng = np.random.default_rng(6)
    gamma = rng.gamma(3.0, 1.0, size=(5, 3)) + 0.2
    phi = optimal_phi(gamma, lam)
    dense = np.asarray(X.todense(), dtype=float)
    lam_star = ETA + np.einsum("dw,dwk->kw", dense, phi)  # eq. (lda-lambda)
    _, sstats, _ = lda._e_step(
        lda.check_counts(X), lam, ALPHA, gamma, tol=0.0, max_iter=1
    )
    best = full_elbo(X, phi, gamma, lam_star, ALPHA, ETA)
    for _ in range(20):
        assert (
            full_elbo(
                X,
                phi,
                gamma,
                lam_star * np.exp(0.05 * rng.normal(size=lam.shape)),
                ALPHA,
                ETA,
            )
            < best
        )
    h = 1e-6
    for k, w in [(0, 0), (1, 3), (2, 5)]:
        e = np.zeros_like(lam_star)
        e[k, w] = h
        fd = (
            full_elbo(X, phi, gamma, lam_star + e, ALPHA, ETA)
            - full_elbo(X, phi, gamma, lam_star - e, ALPHA, ETA)
        ) / (2 * h)
        assert abs(fd) < 1e-6
    assert sstats.shape == lam.shape


def test_phi_update_is_stationary_only_on_the_simplex(tiny):
    """The phi update zeroes the gradient along the simplex, not the raw derivative."""
    X, lam = tiny
    gamma = np.random.default_rng(7).gamma(3.0, 1.0, size=(5, 3)) + 0.2
    phi = optimal_phi(gamma, lam)
    h = 1e-6
    raw = []
    for k in range(3):
        e = np.zeros_like(phi)
        e[0, 0, k] = h
        raw.append(
            (
                full_elbo(X, phi + e, gamma, lam, ALPHA, ETA)
                - full_elbo(X, phi - e, gamma, lam, ALPHA, ETA)
            )
            / (2 * h)
        )
    raw = np.array(raw)
    assert np.all(
        np.abs(raw) > 0.1
    )  # the unconstrained derivative is not zero ...
    np.testing.assert_allclose(
        raw, raw.mean(), atol=1e-6
    )  # ... but equal across k: a Lagrange multiplier


# ------------------------------------------------------------------ the ELBO


def test_elbo_equals_the_explicit_phi_elbo_at_the_optimal_phi(tiny):
    X, lam = tiny
    gamma = np.random.default_rng(8).gamma(3.0, 1.0, size=(5, 3)) + 0.2
    np.testing.assert_allclose(
        lda.elbo(X, gamma, lam, ALPHA, ETA),
        full_elbo(X, optimal_phi(gamma, lam), gamma, lam, ALPHA, ETA),
        rtol=1e-12,
    )


def test_elbo_equals_scikit_learns_bound(synthetic):
    X = synthetic.X
    lam = np.random.default_rng(9).gamma(2.0, 1.0, size=(6, X.shape[1]))
    gamma = np.random.default_rng(10).gamma(2.0, 1.0, size=(X.shape[0], 6))
    est = LatentDirichletAllocation(
        n_components=6, doc_topic_prior=0.2, topic_word_prior=0.05
    )
    est.components_ = lam
    est.doc_topic_prior_, est.topic_word_prior_ = 0.2, 0.05
    np.testing.assert_allclose(
        lda.elbo(X, gamma, lam, 0.2, 0.05),
        est._approx_bound(X.astype(float), gamma, sub_sampling=False),
        rtol=1e-9,
    )


def test_elbo_matches_monte_carlo_and_a_dropped_normaliser_is_detected(tiny):
    X, lam = tiny
    dense = np.asarray(X.todense())
    rng = np.random.default_rng(11)
    gamma = rng.gamma(3.0, 1.0, size=(5, 3)) + 0.5
    phi = optimal_phi(gamma, lam)
    S = 20_000
    beta = np.stack(
        [rng.dirichlet(lam_k, size=S) for lam_k in lam], axis=1
    )  # (S, K, V)
    theta = np.stack(
        [rng.dirichlet(g, size=S) for g in gamma], axis=1
    )  # (S, D, K)
    log_w = np.zeros(S)
    for k in range(3):
        log_w += stats.dirichlet(np.full(6, ETA)).logpdf(
            beta[:, k].T
        ) - stats.dirichlet(lam[k]).logpdf(beta[:, k].T)
    for d in range(5):
        draws = theta[:, d].T
        log_w += stats.dirichlet(np.full(3, ALPHA)).logpdf(
            draws
        ) - stats.dirichlet(gamma[d]).logpdf(draws)
        for w in np.flatnonzero(dense[d]):
            for _ in range(
                dense[d, w]
            ):  # each token draws its own z from phi_dw
                z = rng.choice(3, size=S, p=phi[d, w])
                log_w += (
                    np.log(theta[np.arange(S), d, z])
                    + np.log(beta[np.arange(S), z, w])
                    - np.log(phi[d, w, z])
                )
    mc, se = log_w.mean(), log_w.std(ddof=1) / np.sqrt(S)
    value = lda.elbo(X, gamma, lam, ALPHA, ETA)
    assert abs(mc - value) < 4 * se
    dropped = value - 5 * (
        3 * gammaln(ALPHA) - gammaln(3 * ALPHA)
    )  # forget A(alpha) in E[log p(theta)]
    assert abs(mc - dropped) > 20 * se


def test_batch_elbo_never_decreases_with_converged_e_steps(synthetic):
    res = lda.batch_vb(
        synthetic.X,
        6,
        0.2,
        0.05,
        seed=2,
        max_iter=25,
        tol=0.0,
        e_step_tol=1e-10,
        e_step_max_iter=10_000,
        warm_start=True,
    )
    steps = np.diff(res.elbo_trace)
    assert np.all(steps >= -1e-9 * np.abs(res.elbo_trace[1:]))
    assert res.elbo_trace[-1] > res.elbo_trace[0]


@pytest.fixture(scope="module")
def short_documents():
    """Short documents with sparse proportions: fresh E-step starts find other local optima."""
    return lda.simulate_corpus(
        D=200, V=200, K=8, alpha=0.05, eta=0.05, doc_length=30, seed=1
    ).X


@pytest.mark.parametrize("warm_start", [False, True], ids=["fresh", "warm"])
def test_batch_elbo_decreases_only_with_fresh_e_step_starts(
    short_documents, warm_start
):
    """What the docstring says: warm starts are coordinate ascent, the default is not.

    Both run the E-steps to convergence (tolerance 1e-8 on the mean change of gamma), so a drop
    of more than 0.01 nats (the ELBO is about -2.3e4, its rounding about 1e-11) comes from the
    fresh start landing some document in a worse optimum, not from an unconverged E-step.
    """
    res = lda.batch_vb(
        short_documents,
        8,
        0.05,
        0.05,
        seed=2,
        max_iter=40,
        tol=0.0,
        e_step_tol=1e-8,
        e_step_max_iter=5000,
        warm_start=warm_start,
    )
    steps = np.diff(res.elbo_trace)
    if warm_start:
        assert np.all(steps >= -1e-9 * np.abs(res.elbo_trace[1:]))
    else:
        assert steps.min() < -0.01


@pytest.mark.parametrize("warm_start", [False, True], ids=["fresh", "warm"])
def test_online_elbo_is_not_monotone(short_documents, warm_start):
    res = lda.online_vb(
        short_documents,
        8,
        0.05,
        0.05,
        batch_size=10,
        n_steps=200,
        seed=2,
        eval_every=5,
        warm_start=warm_start,
    )
    assert np.diff(res.elbo_trace).min() < -1.0


@pytest.mark.parametrize("fit", [lda.batch_vb, lda.online_vb])
def test_docstring_states_the_default_fresh_e_step_starts(fit):
    """The summary (before Parameters) must not promise warm starts or a monotone ELBO."""
    summary = " ".join(fit.__doc__.split("Parameters")[0].split())
    assert "fresh Gamma(100, 1/100) draws" in summary
    assert "warm_start=True" in summary
    assert "(warm start)" not in summary and "warm-started from" not in summary


def test_perplexity_is_exp_of_minus_elbo_per_token(synthetic):
    res = lda.batch_vb(synthetic.X, 6, 0.2, 0.05, seed=2, max_iter=5, tol=None)
    gamma = lda.transform(synthetic.X, res.lam, 0.2)
    bound = lda.elbo(synthetic.X, gamma, res.lam, 0.2, 0.05)
    np.testing.assert_allclose(
        lda.perplexity(synthetic.X, res.lam, 0.2, 0.05),
        np.exp(-bound / synthetic.X.sum()),
        rtol=1e-12,
    )


def test_empty_documents_keep_the_prior_and_change_nothing(tiny):
    X, lam = tiny
    padded = sp.vstack([X, sp.csr_matrix((2, 6), dtype=int)]).tocsr()
    gamma = lda.transform(padded, lam, ALPHA, tol=1e-12)
    np.testing.assert_array_equal(gamma[5:], ALPHA)
    np.testing.assert_allclose(
        gamma[:5], lda.transform(X, lam, ALPHA, tol=1e-12), rtol=1e-14
    )
    np.testing.assert_allclose(
        lda.elbo(padded, gamma, lam, ALPHA, ETA),
        lda.elbo(X, gamma[:5], lam, ALPHA, ETA),
        rtol=1e-14,
    )


def test_one_topic_is_exact_its_elbo_the_dirichlet_multinomial_evidence(tiny):
    # K = 1: theta_d is the point mass at (1,), every z is topic 1, and q(beta) = Dir(eta + n)
    # with n_w = sum_d n_dw is the exact posterior, so the ELBO is the exact log p(X) =
    # log B(eta 1 + n) - log B(eta 1) (log B(a) = sum gammaln(a) - gammaln(sum a))
    X, _ = tiny
    n = np.asarray(X.sum(axis=0)).ravel()
    res = lda.batch_vb(X, 1, ALPHA, ETA, seed=0, max_iter=3, tol=None)
    np.testing.assert_allclose(res.lam, [ETA + n], rtol=1e-12)
    np.testing.assert_allclose(
        res.gamma[:, 0], ALPHA + np.asarray(X.sum(axis=1)).ravel()
    )

    def log_B(a):
        return gammaln(a).sum() - gammaln(a.sum())

    evidence = log_B(ETA + n) - log_B(np.full(n.size, ETA))
    value = lda.elbo(X, res.gamma, res.lam, ALPHA, ETA)
    np.testing.assert_allclose(value, evidence, rtol=1e-12)
    np.testing.assert_allclose(
        lda.perplexity(X, res.lam, ALPHA, ETA),
        np.exp(-evidence / n.sum()),
        rtol=1e-12,
    )


@pytest.mark.parametrize("K", [1, 3])
def test_one_word_type_gives_evidence_one_and_the_direct_elbo(K):
    # V = 1: every token is the one word type, so log p(X) = 0 exactly; the E-step from the
    # symmetric start is the direct fixed point, the ELBO is the explicit-phi ELBO, below 0 for
    # K = 3 (mean field cannot hold the prior dependence of theta_d and z_d) and 0 for K = 1
    X = sp.csr_matrix(np.array([[3], [1], [5]]))
    lam = np.full((K, 1), 2.5)
    gamma, sstats, _ = lda.e_step(X, lam, ALPHA, tol=1e-13, max_iter=10_000)
    direct_gamma, direct_sstats = direct_fixed_point(X, lam, ALPHA)
    np.testing.assert_allclose(gamma, direct_gamma, rtol=1e-12)
    np.testing.assert_allclose(sstats, direct_sstats, rtol=1e-12)
    value = lda.elbo(X, gamma, lam, ALPHA, ETA)
    np.testing.assert_allclose(
        value,
        full_elbo(X, optimal_phi(gamma, lam), gamma, lam, ALPHA, ETA),
        rtol=1e-12,
        atol=1e-12,
    )
    if K == 1:
        assert abs(value) < 1e-12
    else:
        assert value < -0.1
    res = lda.batch_vb(X, K, ALPHA, ETA, seed=1, max_iter=4)
    assert res.elbo_trace[-1] <= 1e-12
    assert lda.perplexity(X, res.lam, ALPHA, ETA) >= 1.0 - 1e-12


def test_one_online_step_with_the_full_corpus_and_rho_one_is_one_batch_iteration(
    synthetic,
):
    lam0 = np.random.default_rng(12).gamma(
        100, 0.01, size=(6, synthetic.X.shape[1])
    )
    D = synthetic.X.shape[0]
    on = lda.online_vb(
        synthetic.X,
        6,
        0.2,
        0.05,
        batch_size=D,
        n_steps=1,
        kappa=1.0,
        tau0=0.0,
        seed=3,
        lam0=lam0,
        warm_start=True,
    )
    ba = lda.batch_vb(
        synthetic.X, 6, 0.2, 0.05, seed=3, lam0=lam0, max_iter=1, tol=None
    )
    assert on.rho[0] == 1.0
    np.testing.assert_allclose(on.lam, ba.lam, rtol=1e-12)


def test_simulated_corpus_has_the_stated_shape(synthetic):
    X = synthetic.X
    assert sp.isspmatrix_csr(X) and X.dtype.kind == "i"
    np.testing.assert_array_equal(np.asarray(X.sum(axis=1)).ravel(), 80)
    again = lda.simulate_corpus(
        D=400, V=600, K=6, alpha=0.2, eta=0.05, doc_length=80, seed=1
    )
    assert (again.X != X).nnz == 0
    np.testing.assert_allclose(synthetic.theta.sum(axis=1), 1.0)


# ------------------------------------------------------------------ peers


class FixedInitLDA(LatentDirichletAllocation):
    """scikit-learn's estimator started from ``self.lam0``."""

    def _init_latent_vars(self, n_features, dtype=np.float64):
        super()._init_latent_vars(n_features, dtype)
        self.components_ = self.lam0.astype(dtype, copy=True)
        self.exp_dirichlet_component_ = np.exp(
            lda.expected_log(self.components_)
        )


def sklearn_fit(X, lam0, alpha, eta, **kw):
    est = FixedInitLDA(
        n_components=lam0.shape[0],
        doc_topic_prior=alpha,
        topic_word_prior=eta,
        n_jobs=1,
        random_state=0,
        mean_change_tol=1e-3,
        max_doc_update_iter=100,
        **kw,
    )
    est.lam0 = lam0
    return est.fit(X.astype(float))


def gensim_fit(X, lam0, alpha, eta, passes, **kw):
    from gensim.matutils import Sparse2Corpus
    from gensim.models import LdaModel

    logging.getLogger("gensim").setLevel(logging.ERROR)
    corpus = list(Sparse2Corpus(X, documents_columns=False))
    model = LdaModel(
        num_topics=lam0.shape[0],
        id2word={i: str(i) for i in range(X.shape[1])},
        alpha=np.full(lam0.shape[0], alpha),
        eta=eta,
        dtype=np.float64,
        random_state=0,
        iterations=100,
        gamma_threshold=1e-3,
        eval_every=None,
        **kw,
    )
    model.state.sstats[...] = lam0 - eta  # gensim's lam is eta + sstats
    model.sync_state()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.update(corpus, passes=passes, **kw)
    return model.state.get_lambda(), model, corpus


def peers_rng(lam0):
    """scikit-learn's and gensim's generator (RandomState(0)) after their initial K x V draw of lam.

    Both then draw each E-step's initial gamma, (D, K) at a time, from it; so does ``batch_vb``
    given this generator, so that all three start every E-step from the same gamma.
    """
    rng = np.random.RandomState(0)
    rng.gamma(100.0, 0.01, size=lam0.shape)
    return rng


def peer_corpora():
    """The synthetic corpus with a start in the basin of its true topics; the real one from a random
    start.

    LDA's ELBO has many local optima, and the three implementations draw different random numbers
    (initial gamma, batch order), so from an uninformative start on a corpus with clearly
    separated topics they can land in different optima (two topics merged, another split) whose
    perplexities differ by 10-20%.  A start near the true topics puts them all in one basin, which
    is what a comparison of the algorithms (not of their luck) needs.
    """
    syn = lda.simulate_corpus(
        D=600, V=1000, K=8, alpha=0.1, eta=0.05, doc_length=100, seed=4
    )
    noise = np.random.default_rng(13).gamma(100, 0.01, size=(8, 1000))
    real = text.scipy_docstrings()
    return {
        "synthetic": (syn.X, noise + 100 * syn.beta),
        "scipy-docstrings": (
            real.X,
            np.random.default_rng(13).gamma(
                100, 0.01, size=(9, real.X.shape[1])
            ),
        ),
    }


@pytest.fixture(scope="module", params=["synthetic", "scipy-docstrings"])
def peer_corpus(request):
    X, lam0 = peer_corpora()[request.param]
    return X, lam0.shape[0], lam0


def sklearn_batch_iterates(X, lam0, alpha, eta, n_iter):
    """scikit-learn's batch iterates ``components_`` after each of ``n_iter`` iterations.

    ``partial_fit`` on all ``D`` documents with ``learning_decay=0`` (so its step size is
    ``1 ** 0 = 1``) and ``total_samples=D`` sets ``components_ = eta + sstats`` from an E-step
    started at fresh draws: one batch iteration, the same arithmetic as ``fit``, which
    :func:`test_sklearn_partial_fit_with_unit_steps_is_its_batch_fit` checks bit for bit.
    """
    D = X.shape[0]
    est = FixedInitLDA(
        n_components=lam0.shape[0],
        doc_topic_prior=alpha,
        topic_word_prior=eta,
        learning_method="online",
        learning_decay=0.0,
        batch_size=D,
        total_samples=D,
        random_state=0,
        mean_change_tol=1e-3,
        max_doc_update_iter=100,
        n_jobs=1,
    )
    est.lam0 = lam0
    iterates = []
    for _ in range(n_iter):
        est.partial_fit(X.astype(float))
        iterates.append(est.components_.copy())
    return est, iterates


def test_sklearn_partial_fit_with_unit_steps_is_its_batch_fit():
    X, lam0 = peer_corpora()["synthetic"]
    _, iterates = sklearn_batch_iterates(X, lam0, 0.1, 0.05, n_iter=3)
    est = sklearn_fit(X, lam0, 0.1, 0.05, learning_method="batch", max_iter=3)
    np.testing.assert_array_equal(iterates[-1], est.components_)


def test_batch_vb_equals_scikit_learn_batch_iterate_for_iterate(peer_corpus):
    """lam after every iteration against scikit-learn's components_, same start, same draws.

    Both start every E-step from the same Gamma(100, 1/100) draws and use the same inner rule; the
    arithmetic differs in details (scikit-learn computes psi by its own series and adds 2.2e-16
    to every normaliser), so the iterates agree to 2e-5 relative, not to rounding.
    """
    X, K, lam0 = peer_corpus
    est, iterates = sklearn_batch_iterates(X, lam0, 0.1, 0.05, n_iter=40)
    rng, lam = peers_rng(lam0), lam0
    for it, lam_sk in enumerate(iterates, start=1):
        lam = lda.batch_vb(
            X, K, 0.1, 0.05, seed=rng, lam0=lam, max_iter=1, tol=None
        ).lam
        np.testing.assert_allclose(
            lam, lam_sk, rtol=2e-5, err_msg=f"iteration {it}"
        )
    # the chained one-iteration fits are one fit of 40 iterations
    ours = lda.batch_vb(
        X, K, 0.1, 0.05, seed=peers_rng(lam0), lam0=lam0, max_iter=40, tol=None
    )
    np.testing.assert_array_equal(ours.lam, lam)
    p_ours, p_sk = (
        lda.perplexity(X, ours.lam, 0.1, 0.05),
        lda.perplexity(X, est.components_, 0.1, 0.05),
    )
    np.testing.assert_allclose(
        p_sk, est.perplexity(X.astype(float)), rtol=1e-8
    )  # the same bound
    assert abs(p_ours / p_sk - 1) < 1e-6
    other = lda.batch_vb(
        X, K, 0.1, 0.05, seed=5, lam0=lam0, max_iter=40, tol=None
    )  # other draws: another path, within 1% at the end
    assert abs(lda.perplexity(X, other.lam, 0.1, 0.05) / p_sk - 1) < 0.01


def test_online_vb_matches_scikit_learn_online_within_two_percent(peer_corpus):
    X, K, lam0 = peer_corpus
    D, B, passes = X.shape[0], 64, 10
    ours = lda.online_vb(
        X,
        K,
        0.1,
        0.05,
        batch_size=B,
        n_steps=passes * D // B,
        kappa=0.7,
        tau0=10.0,
        seed=6,
        lam0=lam0,
    )
    est = sklearn_fit(
        X,
        lam0,
        0.1,
        0.05,
        learning_method="online",
        batch_size=B,
        learning_decay=0.7,
        learning_offset=10.0,
        max_iter=passes,
        total_samples=D,
    )
    p_ours, p_sk = (
        lda.perplexity(X, ours.lam, 0.1, 0.05),
        lda.perplexity(X, est.components_, 0.1, 0.05),
    )
    assert abs(p_ours / p_sk - 1) < 0.02


def test_batch_vb_matches_gensim_batch_within_one_percent(peer_corpus):
    X, K, lam0 = peer_corpus
    # gensim's batch mode (update_every=0) with decay=0 makes rho = 1: lam = eta + sstats, as here
    ours = lda.batch_vb(
        X, K, 0.1, 0.05, seed=peers_rng(lam0), lam0=lam0, max_iter=40, tol=None
    )
    lam_g, _, _ = gensim_fit(
        X,
        lam0,
        0.1,
        0.05,
        passes=40,
        update_every=0,
        chunksize=X.shape[0],
        decay=0.0,
    )
    p_ours, p_g = (
        lda.perplexity(X, ours.lam, 0.1, 0.05),
        lda.perplexity(X, lam_g, 0.1, 0.05),
    )
    assert abs(p_ours / p_g - 1) < 0.01
    assert (
        abs(p_ours / p_g - 1) < 1e-3
    )  # the same gamma draws; gensim's E-step differs in its details


def test_online_vb_matches_gensim_online_within_two_percent(peer_corpus):
    X, K, lam0 = peer_corpus
    D, B, passes = X.shape[0], 64, 10
    ours = lda.online_vb(
        X,
        K,
        0.1,
        0.05,
        batch_size=B,
        n_steps=passes * D // B,
        kappa=0.7,
        tau0=10.0,
        seed=6,
        lam0=lam0,
    )
    lam_g, _, _ = gensim_fit(
        X,
        lam0,
        0.1,
        0.05,
        passes=passes,
        update_every=1,
        chunksize=B,
        decay=0.7,
        offset=10.0,
    )
    p_ours, p_g = (
        lda.perplexity(X, ours.lam, 0.1, 0.05),
        lda.perplexity(X, lam_g, 0.1, 0.05),
    )
    assert abs(p_ours / p_g - 1) < 0.02


def test_gensims_per_word_bound_is_minus_log_of_our_perplexity(peer_corpus):
    """gensim reports ``log_perplexity``, the ELBO per token in nats, and logs ``2 ** -bound`` as a
    "perplexity estimate", which mixes bases; ``exp(-bound)`` is the perplexity bound compared
    here."""
    X, K, lam0 = peer_corpus
    lam_g, model, corpus = gensim_fit(
        X,
        lam0,
        0.1,
        0.05,
        passes=2,
        update_every=0,
        chunksize=X.shape[0],
        decay=0.0,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        per_word = model.log_perplexity(corpus)
    # gensim's bound runs its own E-step from random gamma, ours from ones: equal to the E-step
    # tolerance
    np.testing.assert_allclose(
        np.exp(-per_word), lda.perplexity(X, lam_g, 0.1, 0.05), rtol=2e-3
    )


# ------------------------------------------------------------------ bad input


@pytest.mark.parametrize(
    "X, match",
    [
        (np.array([[1, -1], [0, 2]]), "non-negative"),
        (np.array([[1.5, 1.0], [0.0, 2.0]]), "integer"),
        (np.zeros((0, 3)), "at least one document"),
        (np.zeros((3, 0)), "vocabulary"),
        (np.zeros((2, 3)), "no tokens"),
        (np.array([[1.0, np.nan]]), "NaN"),
        (np.array([1, 2, 3]), "2-D"),
    ],
)
def test_bad_counts_are_rejected(X, match):
    with pytest.raises(ValueError, match=match):
        lda.batch_vb(X, 2, 0.1, 0.1)


def test_non_numeric_counts_are_rejected():
    with pytest.raises(TypeError, match="X"):
        lda.batch_vb(np.array([["a", "b"]]), 2, 0.1, 0.1)


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        (dict(K=0), ValueError, "K"),
        (dict(K=2.5), TypeError, "K"),
        (dict(alpha=0.0), ValueError, "alpha"),
        (dict(alpha=-1.0), ValueError, "alpha"),
        (dict(eta=0.0), ValueError, "eta"),
        (dict(eta=np.inf), ValueError, "eta"),
        (dict(max_iter=0), ValueError, "max_iter"),
        (dict(e_step_tol=-1.0), ValueError, "e_step_tol"),
        (dict(lam0=np.ones((3, 4))), ValueError, "lam0"),
        (dict(lam0=-np.ones((2, 4))), ValueError, "lam0"),
    ],
)
def test_bad_batch_arguments_are_rejected(kwargs, error, match):
    args = (
        dict(X=np.array([[1, 0, 2, 1], [0, 3, 0, 1]]), K=2, alpha=0.1, eta=0.1)
        | kwargs
    )
    with pytest.raises(error, match=match):
        lda.batch_vb(**args)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(kappa=0.5), "kappa"),
        (dict(kappa=1.2), "kappa"),
        (dict(tau0=-1.0), "tau0"),
        (dict(batch_size=5), "batch_size"),
        (dict(n_steps=0), "n_steps"),
    ],
)
def test_bad_online_arguments_are_rejected(kwargs, match):
    args = (
        dict(
            X=np.array([[1, 0, 2, 1], [0, 3, 0, 1]]),
            K=2,
            alpha=0.1,
            eta=0.1,
            batch_size=1,
            n_steps=2,
        )
        | kwargs
    )
    with pytest.raises(ValueError, match=match):
        lda.online_vb(**args)


def test_transform_rejects_a_vocabulary_mismatch(tiny):
    X, lam = tiny
    with pytest.raises(ValueError, match="vocabulary"):
        lda.transform(X[:, :5], lam, ALPHA)
    with pytest.raises(ValueError, match="gamma"):
        lda.elbo(X, np.ones((4, 3)), lam, ALPHA, ETA)


# ------------------------------------------------------------------ properties


@settings(max_examples=25, deadline=None)
@given(
    st.integers(1, 6),
    st.integers(1, 8),
    st.integers(1, 4),
    st.integers(0, 2**31 - 1),
)
def test_e_step_conserves_tokens_and_both_paths_agree(D, V, K, seed):
    """sum_k gamma_dk = K alpha + N_d and sum_kw sstats = N, because each phi_dv sums to one."""
    rng = np.random.default_rng(seed)
    counts = rng.poisson(1.5, size=(D, V))
    counts[0, 0] += 1  # at least one token
    X = lda.check_counts(counts)
    lam = rng.gamma(1.0, 1.0, size=(K, V)) + 0.05
    g0 = rng.gamma(2.0, 1.0, size=(D, K)) + 0.1
    a = lda._e_step(X, lam, 0.3, g0, 1e-6, 200, compiled=True)
    b = lda._e_step(X, lam, 0.3, g0, 1e-6, 200, compiled=False)
    np.testing.assert_allclose(a[0], b[0], rtol=1e-10)
    np.testing.assert_allclose(a[1], b[1], rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(a[1].sum(), counts.sum(), rtol=1e-12)
    last_phi_tokens = (
        a[0].sum(axis=1) - K * 0.3
    )  # gamma from the previous phi: N_d exactly
    np.testing.assert_allclose(
        last_phi_tokens, counts.sum(axis=1), rtol=1e-12, atol=1e-12
    )


@pytest.mark.parametrize(
    ("conc", "match"),
    [
        (np.array([[0.5, np.nan]]), "finite and > 0"),
        (np.array([[0.5, 0.0]]), "finite and > 0"),
        (np.array(2.0), "last axis"),
        (np.array([["a", "b"]]), "conc"),
    ],
)
def test_expected_log_checks_its_dirichlet_parameters(conc, match):
    with pytest.raises((ValueError, TypeError), match=match):
        lda.expected_log(conc)


def test_expected_log_is_the_dirichlet_mean_of_log_theta_at_generic_values():
    conc = np.array([[0.4, 2.0, 5.5], [3.0, 3.0, 0.9]])
    ref = digamma(conc) - digamma(conc.sum(axis=1, keepdims=True))
    np.testing.assert_allclose(lda.expected_log(conc), ref, rtol=1e-15)


def test_compiled_digamma_is_scipys_to_rounding_from_1e_minus_8_to_1e12():
    """The E-step's psi (recurrence to x + 6, then 12 terms of the asymptotic series) against
    scipy.special.digamma, relative to max(1, |psi|) (absolute near psi's root at 1.46)."""
    x = np.concatenate(
        [np.geomspace(1e-8, 1e12, 20001), np.linspace(0.01, 30.0, 20001)]
    )
    ours = np.array([lda._psi(v) for v in x])
    ref = digamma(x)
    assert np.max(np.abs(ours - ref) / np.maximum(1.0, np.abs(ref))) < 4e-15


def test_compiled_topic_table_is_the_exp_of_expected_log():
    """exp(E[log beta]) by the compiled psi: its log is expected_log's to rounding (relative to
    max(1, |E log|)); where that is below -708 the exp is subnormal or zero on both routes."""
    conc = np.random.default_rng(5).gamma(0.5, 4.0, size=(7, 300)) + 1e-3
    table, ref = lda._exp_elog_rows(conc), lda.expected_log(conc)
    normal = ref > -708.0
    assert 0 < normal.sum() < ref.size  # both kinds occur
    err = np.abs(np.log(table[normal]) - ref[normal])
    assert np.max(err / np.maximum(1.0, np.abs(ref[normal]))) < 4e-15
    np.testing.assert_allclose(table[~normal], 0.0, rtol=0, atol=1e-307)


def test_allocations_sized_by_arguments_are_capped():
    with pytest.raises(ValueError, match="doc_length=1000000000"):
        lda.simulate_corpus(
            D=1000, V=50, K=3, alpha=0.1, eta=0.1, doc_length=10**9
        )
    with pytest.raises(ValueError, match="V=10000000000"):
        lda.simulate_corpus(
            D=2, V=10**10, K=3, alpha=0.1, eta=0.1, doc_length=5
        )
    X = np.array([[1, 0, 2, 1], [0, 3, 0, 1]])
    with pytest.raises(ValueError, match="K = 100000000000 topics"):
        lda.batch_vb(X, 10**11, 0.1, 0.1)
    with pytest.raises(ValueError, match="n_steps = 1000000000000"):
        lda.online_vb(X, 2, 0.1, 0.1, batch_size=1, n_steps=10**12)
    small = lda.simulate_corpus(
        D=3,
        V=4,
        K=2,
        alpha=0.1,
        eta=0.1,
        doc_length=2,
        seed=0,
        max_elements=40,
    )
    assert small.X.shape == (3, 4)


# ------------------------------------------------------------------ held-out documents


def test_split_tokens_partitions_every_document_at_random():
    X = lda.simulate_corpus(
        D=50, V=30, K=3, alpha=0.3, eta=0.2, doc_length=17, seed=14
    ).X
    obs, held = lda.split_tokens(X, 0.5, seed=0)
    assert (obs + held != X).nnz == 0
    np.testing.assert_array_equal(np.asarray(obs.sum(axis=1)).ravel(), 8)
    again, _ = lda.split_tokens(X, 0.5, seed=0)
    other, _ = lda.split_tokens(X, 0.5, seed=1)
    assert (again != obs).nnz == 0 and (other != obs).nnz > 0
    # every token is observed with probability 8/17: over many splits, the observed share of
    # each (document, word) count is 8/17 (binomial standard error per entry)
    dense = X.toarray().astype(float)
    share = np.mean(
        [lda.split_tokens(X, 0.5, seed=s)[0].toarray() for s in range(400)],
        axis=0,
    )
    p = 8 / 17
    mask = dense > 0
    se = np.sqrt(dense * p * (1 - p) / 400)
    assert np.all(np.abs(share - p * dense)[mask] < 5 * se[mask])


@pytest.mark.parametrize("fraction", [0.0, 1.0, -0.5, np.nan])
def test_split_tokens_rejects_a_fraction_outside_the_open_unit_interval(
    fraction,
):
    with pytest.raises(ValueError, match="fraction"):
        lda.split_tokens(np.array([[1, 2], [3, 0]]), fraction)


@pytest.fixture(scope="module")
def completion_case():
    """Topics fitted to 40 documents; 12 others split in halves."""
    corpus = lda.simulate_corpus(
        D=52, V=30, K=3, alpha=0.3, eta=0.2, doc_length=30, seed=15
    )
    fit = lda.batch_vb(corpus.X[:40], 3, 0.3, 0.2, seed=16, max_iter=50)
    X_obs, X_held = lda.split_tokens(corpus.X[40:], 0.5, seed=17)
    return fit.lam, X_obs, X_held


def test_document_completion_is_each_tokens_predictive_under_q_by_monte_carlo(
    completion_case,
):
    """Independent route: draw theta_d ~ q(theta_d) and beta ~ q(beta), average
    p(w | theta_d, beta) = sum_k theta_dk beta_kw for every held-out (d, w)."""
    lam, X_obs, X_held = completion_case
    res = lda.document_completion(X_obs, X_held, lam, 0.3, tol=1e-12)
    np.testing.assert_allclose(
        res.gamma, lda.transform(X_obs, lam, 0.3, tol=1e-12), rtol=1e-14
    )
    rng = np.random.default_rng(18)
    S = 40_000
    beta = np.stack([rng.dirichlet(lam_k, size=S) for lam_k in lam], axis=1)
    theta = np.stack([rng.dirichlet(g, size=S) for g in res.gamma], axis=1)
    d, w = X_held.nonzero()
    n = np.asarray(X_held[d, w]).ravel()
    p = np.einsum("sik,sik->si", theta[:, d], beta[:, :, w].transpose(0, 2, 1))
    mean = p.mean(axis=0)
    # log-likelihood of the held-out tokens and its standard error (delta method: the
    # estimate's error is the mean over draws of sum_dw n_dw p_s(d, w) / mean_dw)
    mc = n @ np.log(mean)
    se = np.std(p @ (n / mean), ddof=1) / np.sqrt(S)
    assert abs(res.log_lik.sum() - mc) < 4 * se
    per_doc = np.bincount(d, weights=n * np.log(mean), minlength=12)
    assert np.max(np.abs(res.log_lik - per_doc)) < 8 * se
    np.testing.assert_array_equal(res.n_held, X_held.sum(axis=1).A1)
    np.testing.assert_allclose(
        res.perplexity, np.exp(-res.log_lik.sum() / X_held.sum()), rtol=1e-14
    )
    # the geometric-mean plug-in exp E[log theta] exp E[log beta] (the normaliser nu of the
    # E-step) is another number: Jensen puts it below, by many standard errors
    nu = np.exp(lda.expected_log(res.gamma)) @ np.exp(lda.expected_log(lam))
    assert mc - n @ np.log(nu[d, w]) > 20 * se


def test_document_completion_checks_its_inputs(completion_case):
    lam, X_obs, X_held = completion_case
    with pytest.raises(ValueError, match="X_held"):
        lda.document_completion(X_obs, X_held[:5], lam, 0.3)
    with pytest.raises(ValueError, match="X_held"):
        lda.document_completion(X_obs, X_held * 0, lam, 0.3)
    with pytest.raises(ValueError, match="vocabulary"):
        lda.document_completion(X_obs[:, :20], X_held[:, :20], lam, 0.3)
    with pytest.raises(ValueError, match="alpha"):
        lda.document_completion(X_obs, X_held, lam, -0.3)


# ------------------------------------------------------------------ hyperparameters


def prior_value(q_conc, a):
    """sum_i E_q[log Dir(x_i | a)], written out with scipy.special."""
    q_conc = np.asarray(q_conc, float)
    a = np.broadcast_to(np.asarray(a, float), (q_conc.shape[1],))
    elog = digamma(q_conc) - digamma(q_conc.sum(axis=1, keepdims=True))
    return len(q_conc) * (gammaln(a.sum()) - gammaln(a).sum()) + np.sum(
        (a - 1) * elog
    )


@pytest.fixture(scope="module")
def q_conc():
    return np.random.default_rng(19).gamma(2.0, 1.0, size=(25, 4)) + 0.05


@pytest.mark.parametrize("a", [0.7, np.array([0.2, 1.5, 0.9, 3.0])])
def test_prior_objective_is_the_expected_log_dirichlet_density(q_conc, a):
    value, _ = lda.prior_objective(q_conc, a)
    rng = np.random.default_rng(20)
    draws = np.stack([rng.dirichlet(g, size=20_000) for g in q_conc[:5]])
    dens = stats.dirichlet(np.broadcast_to(a, (4,)))
    logs = np.array([dens.logpdf(x.T) for x in draws]).sum(axis=0)
    se = logs.std(ddof=1) / np.sqrt(logs.size)
    part, _ = lda.prior_objective(q_conc[:5], a)
    assert abs(logs.mean() - part) < 4 * se
    np.testing.assert_allclose(value, prior_value(q_conc, a), rtol=1e-13)


@pytest.mark.parametrize("a", [0.7, np.array([0.2, 1.5, 0.9, 3.0])])
def test_prior_objective_gradient_matches_finite_differences(q_conc, a):
    _, grad = lda.prior_objective(q_conc, a)
    h = 1e-6
    if np.ndim(a) == 0:
        fd = (prior_value(q_conc, a + h) - prior_value(q_conc, a - h)) / (
            2 * h
        )
    else:
        fd = np.array(
            [
                (
                    prior_value(q_conc, a + h * e)
                    - prior_value(q_conc, a - h * e)
                )
                / (2 * h)
                for e in np.eye(4)
            ]
        )
    np.testing.assert_allclose(grad, fd, rtol=1e-6, atol=1e-6)


def test_prior_objective_is_the_elbos_dependence_on_alpha_and_eta(tiny):
    X, lam = tiny
    gamma = np.random.default_rng(21).gamma(3.0, 1.0, size=(5, 3)) + 0.2
    d_elbo = lda.elbo(X, gamma, lam, 0.4, ETA) - lda.elbo(
        X, gamma, lam, 1.3, ETA
    )
    d_prior = (
        lda.prior_objective(gamma, 0.4)[0] - lda.prior_objective(gamma, 1.3)[0]
    )
    np.testing.assert_allclose(d_elbo, d_prior, rtol=1e-10)
    d_elbo = lda.elbo(X, gamma, lam, ALPHA, 0.05) - lda.elbo(
        X, gamma, lam, ALPHA, 0.9
    )
    d_prior = (
        lda.prior_objective(lam, 0.05)[0] - lda.prior_objective(lam, 0.9)[0]
    )
    np.testing.assert_allclose(d_elbo, d_prior, rtol=1e-10)


def test_estimate_prior_reaches_scipys_maximiser_of_the_same_objective(q_conc):
    from scipy import optimize

    fit = lda.estimate_prior(q_conc, 5.0)
    ref = optimize.minimize_scalar(
        lambda t: -prior_value(q_conc, np.exp(t)),
        bounds=(-10, 5),
        method="bounded",
        options=dict(xatol=1e-12),
    )
    assert fit.converged and isinstance(fit.conc, float)
    np.testing.assert_allclose(fit.conc, np.exp(ref.x), rtol=1e-7)
    np.testing.assert_allclose(fit.objective, -ref.fun, rtol=1e-12)

    fit = lda.estimate_prior(q_conc, np.full(4, 0.01))
    ref = optimize.minimize(
        lambda t: -prior_value(q_conc, np.exp(t)),
        np.zeros(4),
        method="BFGS",
        options=dict(gtol=1e-10),
    )
    assert fit.converged and fit.conc.shape == (4,)
    np.testing.assert_allclose(fit.conc, np.exp(ref.x), rtol=1e-5)
    assert fit.objective >= -ref.fun - 1e-9
    # and the gradient vanishes there
    np.testing.assert_allclose(
        lda.prior_objective(q_conc, fit.conc)[1], 0, atol=1e-8
    )


def test_newton_step_is_the_dense_newton_step(q_conc):
    """One step of the O(K) solve against -H^{-1} g with H by finite differences of g."""
    a0 = lda.estimate_prior(q_conc, np.ones(4)).conc * np.array(
        [1.1, 0.95, 1.05, 0.9]
    )
    one = lda.estimate_prior(q_conc, a0, max_iter=1).conc

    def grad(a):
        return lda.prior_objective(q_conc, a)[1]

    h = 1e-6
    H = np.array(
        [(grad(a0 + h * e) - grad(a0 - h * e)) / (2 * h) for e in np.eye(4)]
    )
    np.testing.assert_allclose(
        one, a0 - np.linalg.solve(H, grad(a0)), rtol=1e-6
    )
    # symmetric: the one-variable Newton step
    b0 = 0.8 * lda.estimate_prior(q_conc, 1.0).conc
    hs = 1e-5
    g = (prior_value(q_conc, b0 + hs) - prior_value(q_conc, b0 - hs)) / (
        2 * hs
    )
    H = (
        prior_value(q_conc, b0 + hs)
        - 2 * prior_value(q_conc, b0)
        + prior_value(q_conc, b0 - hs)
    ) / hs**2
    np.testing.assert_allclose(
        lda.estimate_prior(q_conc, b0, max_iter=1).conc, b0 - g / H, rtol=1e-5
    )


@pytest.mark.parametrize(
    "args, error, match",
    [
        ((np.ones(4), 1.0), ValueError, "q_conc"),
        ((np.ones((3, 1)), 1.0), ValueError, "K >= 2"),
        ((np.array([[1.0, 0.0]]), 1.0), ValueError, "q_conc"),
        ((np.array([[1.0, np.nan]]), 1.0), ValueError, "q_conc"),
        ((np.array([["a", "b"]]), 1.0), TypeError, "q_conc"),
        ((np.ones((3, 2)), -1.0), ValueError, "conc0"),
        ((np.ones((3, 2)), np.ones(3)), ValueError, "conc0"),
        ((np.ones((3, 2)), np.array([1.0, 0.0])), ValueError, "conc0"),
        ((np.ones((3, 2)), "one"), TypeError, "conc0"),
    ],
)
def test_estimate_prior_checks_its_inputs(args, error, match):
    with pytest.raises(error, match=match):
        lda.estimate_prior(*args)


def test_estimate_prior_checks_its_options(q_conc):
    with pytest.raises(ValueError, match="tol"):
        lda.estimate_prior(q_conc, 1.0, tol=-1.0)
    with pytest.raises(ValueError, match="max_iter"):
        lda.estimate_prior(q_conc, 1.0, max_iter=0)
    with pytest.raises(ValueError, match="conc"):
        lda.prior_objective(q_conc, 0.0)


def test_variational_em_is_coordinate_ascent_and_ends_at_the_prior_maximisers(
    short_documents,
):
    res = lda.variational_em(
        short_documents,
        8,
        1.0,
        1.0,
        seed=22,
        max_iter=30,
        tol=0.0,
        e_step_tol=1e-8,
        e_step_max_iter=5000,
        warm_start=True,
    )
    steps = np.diff(res.elbo_trace)
    assert np.all(steps >= -1e-9 * np.abs(res.elbo_trace[1:]))
    assert res.alpha_trace[-1] == res.alpha and res.eta_trace[-1] == res.eta
    # the M-step: alpha and eta maximise the ELBO given the final gamma and lam
    np.testing.assert_allclose(
        res.alpha, lda.estimate_prior(res.gamma, 0.5).conc, rtol=1e-8
    )
    np.testing.assert_allclose(
        res.eta, lda.estimate_prior(res.lam, 0.5).conc, rtol=1e-8
    )
    best = lda.elbo(short_documents, res.gamma, res.lam, res.alpha, res.eta)
    np.testing.assert_allclose(best, res.elbo_trace[-1], rtol=1e-12)
    for a, e in [(1.05, 1.0), (0.95, 1.0), (1.0, 1.05), (1.0, 0.95)]:
        assert best > lda.elbo(
            short_documents,
            res.gamma,
            res.lam,
            a * res.alpha,
            e * res.eta,
        )
    # from (1, 1) the estimates fall towards the generating (0.05, 0.05)
    assert res.alpha < 0.2 and res.eta < 0.2


def test_variational_em_needs_two_topics_and_two_words():
    X = np.array([[1, 0, 2, 1], [0, 3, 0, 1]])
    with pytest.raises(ValueError, match="K >= 2"):
        lda.variational_em(X, 1, 0.1, 0.1)
    with pytest.raises(ValueError, match="two word types"):
        lda.variational_em(X[:, :1] + 1, 2, 0.1, 0.1)
    with pytest.raises(ValueError, match="prior_tol"):
        lda.variational_em(X, 2, 0.1, 0.1, prior_tol=-1.0)


@pytest.mark.parametrize("conc0", [1e-6, 1e6, np.array([1e-6, 1e3, 1.0, 1.0])])
def test_estimate_prior_stays_positive_and_converges_from_far_starts(
    q_conc, conc0
):
    fit = lda.estimate_prior(q_conc, conc0)
    ref = lda.estimate_prior(
        q_conc, np.ones(np.shape(conc0)) if np.ndim(conc0) else 1.0
    )
    assert fit.converged
    np.testing.assert_allclose(fit.conc, ref.conc, rtol=1e-8)


def test_estimate_prior_reports_a_run_that_did_not_converge():
    # rows at the vertices: the maximiser is at 0, which Newton approaches by halving
    fit = lda.estimate_prior(np.full((10, 3), 1e-12), 1.0, max_iter=20)
    assert not fit.converged and fit.n_iter == 20 and 0 < fit.conc < 1e-5
