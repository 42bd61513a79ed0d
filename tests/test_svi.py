"""Generic natural-parameter CAVI and SVI (chapter 6) against the model-specific code of chapters 4
and 5, finite differences, scipy.special.zeta and the CAVI optimum."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats
from scipy.special import (
    digamma,
    gammaln,
    logsumexp,
    polygamma,
    softmax,
    zeta,
)

from vitutor import expfam as ef
from vitutor import gmm, lda, svi
from vitutor import normal_gamma as ng


def mixture_start(x, K, seed):
    """K data points as initial means: the natural parameter of q(c) they imply, and its softmax."""
    m0 = np.random.default_rng(seed).choice(x, size=K, replace=False)
    eta0 = np.outer(x, m0) - 0.5 * (m0**2 + 1.0)
    return m0, eta0, softmax(eta0, axis=1)


def generic_mixture(x, K, prior_var, eta0, max_iter, tol=None):
    init = {
        "mu": ef.Gaussian.from_mean_var(np.zeros(K), 1.0),
        "c": ef.Categorical(eta0),
    }
    return svi.cavi(
        gmm.mean_field_form(x, K, prior_var), init, max_iter=max_iter, tol=tol
    )


@pytest.mark.parametrize(
    ("seed", "n", "K", "prior_var"),
    [
        (0, 300, 3, 10.0),
        (1, 1000, 5, 25.0),
        (2, 200, 2, 1.0),
        (3, 150, 1, 4.0),
    ],
)
def test_generic_cavi_reproduces_gmm_cavi(seed, n, K, prior_var):
    x = gmm.simulate(n, K, prior_var, seed=seed).x
    _, eta0, phi0 = mixture_start(x, K, seed + 10)
    ref = gmm.cavi(x, K, prior_var, init_phi=phi0, tol=1e-10)
    gen = generic_mixture(x, K, prior_var, eta0, max_iter=ref.n_iter)
    q_mu, q_c = gen.q["mu"], gen.q["c"]
    assert gen.n_iter == ref.n_iter
    np.testing.assert_allclose(gen.elbo_trace, ref.elbo_trace, rtol=1e-10)
    np.testing.assert_allclose(q_mu.mean, ref.m, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(q_mu.var, ref.s2, rtol=1e-10)
    np.testing.assert_allclose(q_c.probs, ref.phi, rtol=1e-10, atol=1e-13)


@pytest.mark.parametrize(
    "prior",
    [
        ng.NormalGammaPrior(mu0=0.3, lam0=0.7, a0=2.5, b0=1.3),
        ng.NormalGammaPrior(mu0=-4.0, lam0=5.0, a0=0.4, b0=7.0),
        ng.NormalGammaPrior(mu0=0.0, lam0=0.0, a0=0.0, b0=0.0),
    ],
    ids=["generic", "strong", "improper"],
)
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_generic_cavi_reproduces_normal_gamma_cavi(prior, seed):
    x = np.random.default_rng(seed).normal(3.0, 1.7, size=20 + 40 * seed)
    ref = ng.cavi(x, prior, E_tau0=5.0, tol=1e-12)
    init = {
        "mu": ef.Gaussian.from_mean_var(0.0, 1.0),
        "tau": ef.Gamma.from_shape_rate(1.0, 1.0 / 5.0),
    }
    gen = svi.cavi(
        ng.mean_field_form(x, prior), init, max_iter=ref.n_iter, tol=None
    )
    q_mu, q_tau = gen.q["mu"], gen.q["tau"]
    np.testing.assert_allclose(gen.elbo_trace, ref.elbo_trace, rtol=1e-10)
    np.testing.assert_allclose(
        [q_mu.mean, 1.0 / q_mu.var], [ref.mu_N, ref.lam_N], rtol=1e-10
    )
    np.testing.assert_allclose(
        [q_tau.shape, q_tau.rate], [ref.a_N, ref.b_N], rtol=1e-10
    )


def test_generic_cavi_with_one_component_is_exact():
    # K = 1: every c_i is the one component, q(mu) is the exact posterior
    # N(sum x / (1/sigma^2 + n), 1 / (1/sigma^2 + n)) and the ELBO is log p(x), the density of
    # x ~ N(0, I + sigma^2 1 1^T) (scipy.stats)
    x = gmm.simulate(40, 1, 4.0, seed=9).x
    n, prior_var = x.size, 4.0
    fit = generic_mixture(x, 1, prior_var, np.zeros((n, 1)), max_iter=3)
    precision = 1.0 / prior_var + n
    np.testing.assert_allclose(fit.q["mu"].mean, [x.sum() / precision])
    np.testing.assert_allclose(fit.q["mu"].var, [1.0 / precision])
    log_evidence = stats.multivariate_normal(
        np.zeros(n), np.eye(n) + prior_var
    ).logpdf(x)
    np.testing.assert_allclose(fit.elbo_trace[-1], log_evidence, rtol=1e-12)


def test_generic_elbo_never_decreases_and_stops_by_tolerance():
    x = gmm.simulate(400, 4, 9.0, seed=5).x
    _, eta0, _ = mixture_start(x, 4, 6)
    gen = generic_mixture(x, 4, 9.0, eta0, max_iter=500, tol=1e-9)
    assert gen.converged and gen.n_iter < 500
    trace = gen.elbo_trace
    assert np.all(np.diff(trace) >= -1e-12 * np.abs(trace[1:]))


@pytest.mark.parametrize("block", ["mu", "c"])
def test_each_block_update_is_the_coordinate_maximiser(block):
    # perturbing the updated factor's natural parameter in random directions never raises the ELBO
    x = gmm.simulate(60, 3, 16.0, seed=7).x
    model = gmm.mean_field_form(x, 3, 16.0)
    _, eta0, _ = mixture_start(x, 3, 8)
    q = dict(generic_mixture(x, 3, 16.0, eta0, max_iter=2).q)
    means = {name: d.mean_T() for name, d in q.items()}
    factor = next(f for f in model.factors if f.name == block)
    q[block] = factor.family(factor.natural_parameter(means))
    best = svi.elbo(model, q)
    rng = np.random.default_rng(0)
    for _ in range(20):
        direction = rng.standard_normal(q[block].eta.shape)
        for h in (1e-3, -1e-3):
            trial = dict(q)
            trial[block] = factor.family(q[block].eta + h * direction)
            assert svi.elbo(model, trial) <= best + 1e-9


def test_natural_gradient_is_target_minus_lam():
    # finite differences of the collapsed ELBO in lam equal grad^2 A(lam) (lam_hat - lam)
    x = gmm.simulate(150, 3, 10.0, seed=3).x
    model = gmm.conjugate_form(3, 10.0)
    lam = ef.Gaussian.from_mean_var(
        np.array([-2.0, 0.5, 3.0]), np.array([0.3, 0.2, 0.5])
    ).eta
    h = 1e-6
    grad = np.empty(lam.size)
    hess = np.empty((lam.size, lam.size))
    for j in range(lam.size):
        e = np.zeros(lam.size)
        e[j] = h
        e = e.reshape(lam.shape)
        grad[j] = (
            svi.collapsed_elbo(model, x, lam + e)
            - svi.collapsed_elbo(model, x, lam - e)
        ) / (2 * h)
        diff = ef.Gaussian(lam + e).mean_T() - ef.Gaussian(lam - e).mean_T()
        hess[:, j] = diff.ravel() / (2 * h)
    target = svi.global_step(model, x, lam)
    np.testing.assert_allclose(
        grad, hess @ (target - lam).ravel(), rtol=1e-5, atol=1e-5
    )


def test_svi_full_batch_unit_step_is_one_cavi_step():
    x = gmm.simulate(500, 4, 20.0, seed=11).x
    m0, _, _ = mixture_start(x, 4, 12)
    lam0 = ef.Gaussian.from_mean_var(m0, 1.0).eta
    model = gmm.conjugate_form(4, 20.0)
    run = svi.svi(
        model,
        x,
        lam0,
        n_steps=1,
        batch_size=x.size,
        kappa=1.0,
        tau0=0.0,
        eval_every=1,
    )
    assert run.rho[0] == 1.0
    one = gmm.cavi(
        x,
        4,
        20.0,
        init_phi=gmm.update_assignments(x, m0, np.ones(4)),
        max_iter=1,
    )
    np.testing.assert_allclose(run.q.mean, one.m, rtol=1e-12)
    np.testing.assert_allclose(run.q.var, one.s2, rtol=1e-12)
    np.testing.assert_allclose(
        run.elbo_trace[-1], one.elbo_trace[-1], rtol=1e-12
    )


@pytest.mark.parametrize("seed", [21, 22, 23])
def test_svi_reaches_the_cavi_optimum(seed):
    n, K, prior_var = 20_000, 3, 25.0
    x = gmm.simulate(n, K, prior_var, seed=seed).x
    m0, _, phi0 = mixture_start(x, K, seed + 100)
    ref = gmm.cavi(x, K, prior_var, init_phi=phi0, tol=1e-12)
    lam0 = ef.Gaussian.from_mean_var(m0, 1.0).eta
    model = gmm.conjugate_form(K, prior_var)
    run = svi.svi(
        model,
        x,
        lam0,
        n_steps=400,
        batch_size=500,
        kappa=0.6,
        tau0=10.0,
        seed=seed,
        eval_every=400,
    )
    gap = (ref.elbo_trace[-1] - run.elbo_trace[-1]) / n
    assert abs(gap) < 1e-3, gap
    np.testing.assert_allclose(np.sort(run.q.mean), np.sort(ref.m), atol=0.05)


def test_svi_is_reproducible_from_its_seed():
    x = gmm.simulate(2000, 3, 10.0, seed=0).x
    model = gmm.conjugate_form(3, 10.0)
    lam0 = ef.Gaussian.from_mean_var(x[:3], 1.0).eta
    runs = [
        svi.svi(
            model, x, lam0, n_steps=30, batch_size=100, seed=s, eval_every=10
        )
        for s in (4, 4, 5)
    ]
    np.testing.assert_array_equal(runs[0].lam, runs[1].lam)
    np.testing.assert_array_equal(runs[0].elbo_trace, runs[1].elbo_trace)
    assert not np.array_equal(runs[0].lam, runs[2].lam)
    np.testing.assert_array_equal(runs[0].elbo_steps, [0, 10, 20, 30])
    assert runs[0].passes == pytest.approx(1.5)
    silent = svi.svi(model, x, lam0, n_steps=30, batch_size=100, seed=4)
    np.testing.assert_array_equal(silent.lam, runs[0].lam)
    assert silent.elbo_trace.size == 0 and silent.elbo_steps.size == 0


@settings(max_examples=30, deadline=None)
@given(st.floats(0.51, 1.0), st.floats(0.0, 50.0))
def test_step_sizes_satisfy_robbins_monro(kappa, tau0):
    rho = svi.step_sizes(20_000, kappa, tau0)
    assert np.all(np.diff(rho) < 0) and np.all(rho > 0)
    # sum rho^2 converges to the Hurwitz zeta value; the tail after t steps is below zeta(2 kappa, t
    # + tau0 + 1)
    limit = zeta(2 * kappa, tau0 + 1)
    partial = np.sum(rho**2)
    np.testing.assert_allclose(
        partial + zeta(2 * kappa, 20_000 + tau0 + 1), limit, rtol=1e-9
    )
    # sum rho diverges: it grows without bound, at least like the integral of (t + tau0)^(-kappa)
    lower = (
        np.log((20_001 + tau0) / (1 + tau0))
        if kappa == 1.0
        else ((20_001 + tau0) ** (1 - kappa) - (1 + tau0) ** (1 - kappa))
        / (1 - kappa)
    )
    assert np.sum(rho) >= lower


def test_minibatches_are_uniform_distinct_and_sorted():
    gen = svi.minibatches(50, 10, seed=0)
    counts = np.zeros(50)
    for _ in range(5000):
        idx = next(gen)
        assert idx.size == 10 and np.all(np.diff(idx) > 0)
        counts[idx] += 1
    expected = 5000 * 10 / 50
    assert np.all(np.abs(counts - expected) < 5 * np.sqrt(expected))


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"kappa": 0.5}, "kappa"),
        ({"kappa": 1.2}, "kappa"),
        ({"tau0": -1.0}, "tau0"),
        ({"batch_size": 0}, "batch_size"),
        ({"batch_size": 101}, "batch_size"),
        ({"n_steps": 0}, "n_steps"),
        ({"eval_every": 0}, "eval_every"),
        ({"init_lam": np.array([[0.0, 0.5]] * 2)}, "init_lam"),
        ({"init_lam": np.zeros((3, 2))}, "init_lam"),
    ],
)
def test_svi_bad_input(kwargs, match):
    x = gmm.simulate(100, 2, 4.0, seed=0).x
    args = {
        "init_lam": ef.Gaussian.from_mean_var(np.zeros(2), 1.0).eta,
        "n_steps": 5,
        "batch_size": 10,
    }
    args.update(kwargs)
    with pytest.raises(ValueError, match=match):
        svi.svi(gmm.conjugate_form(2, 4.0), x, **args)


def test_svi_refuses_data_with_nan():
    x = gmm.simulate(100, 2, 4.0, seed=0).x
    x[7] = np.nan
    with pytest.raises(ValueError, match="x"):
        svi.svi(
            gmm.conjugate_form(2, 4.0),
            x,
            np.array([[0.0, -0.5]] * 2),
            n_steps=3,
            batch_size=10,
        )


def test_cavi_bad_input():
    x = gmm.simulate(50, 2, 4.0, seed=0).x
    model = gmm.mean_field_form(x, 2, 4.0)
    good = {
        "mu": ef.Gaussian.from_mean_var(np.zeros(2), 1.0),
        "c": ef.Categorical(np.zeros((50, 2))),
    }
    with pytest.raises(ValueError, match="'c'"):
        svi.cavi(model, {"mu": good["mu"]})
    with pytest.raises(TypeError, match="init"):
        svi.cavi(
            model, {"mu": good["mu"], "c": ef.Gamma.from_shape_rate(1.0, 1.0)}
        )
    with pytest.raises(ValueError, match="tol"):
        svi.cavi(model, good, tol=-1.0)
    with pytest.raises(ValueError, match="max_iter"):
        svi.cavi(model, good, max_iter=0)
    with pytest.raises(TypeError, match="model"):
        svi.cavi("not a model", good)
    with pytest.raises(ValueError, match="distinct"):
        svi.MeanFieldModel(
            factors=model.factors * 2,
            expected_log_joint=model.expected_log_joint,
        )
    with pytest.raises(TypeError, match="family"):
        svi.ConjugateModel(family=dict, alpha=np.zeros(2), local_step=None)


def test_model_forms_check_their_parts():
    x = gmm.simulate(50, 2, 4.0, seed=0).x
    model = gmm.mean_field_form(x, 2, 4.0)
    with pytest.raises(TypeError, match="natural_parameter must be callable"):
        svi.Factor("mu", ef.Gaussian, None)
    with pytest.raises(TypeError, match="family must be an ExponentialFamily"):
        svi.Factor("mu", float, model.factors[0].natural_parameter)
    with pytest.raises(TypeError, match="name must be a non-empty string"):
        svi.Factor("", ef.Gaussian, model.factors[0].natural_parameter)
    with pytest.raises(TypeError, match="expected_log_joint must be callable"):
        svi.MeanFieldModel(factors=model.factors, expected_log_joint=3.0)
    with pytest.raises(TypeError, match="local_step must be callable"):
        svi.ConjugateModel(
            family=ef.Gaussian, alpha=np.array([[0.0, -0.5]]), local_step=None
        )


def test_the_step_schedule_is_capped_by_its_length():
    with pytest.raises(ValueError, match="n_steps = 1000000000000"):
        svi.step_sizes(10**12)
    with pytest.raises(ValueError, match="n_steps = 1000000000000"):
        svi.svi(
            gmm.conjugate_form(2, 4.0),
            gmm.simulate(100, 2, 4.0, seed=0).x,
            np.array([[0.0, -0.5]] * 2),
            n_steps=10**12,
            batch_size=10,
        )
    assert svi.step_sizes(5, max_elements=5).shape == (5,)


# ------------------------------------------------------------------ local variables in blocks
# LDA in chapter 6's form (algorithm ef-svi with a local inner loop): the topics beta_k are
# global, Dirichlet(eta) a priori; each document's local variables come in two blocks, its
# topic proportions theta_d and its topic assignments z_d, whose optimum for a given q(beta)
# has no closed form.  The local step below runs coordinate ascent over the two blocks until
# gamma_d stops moving, written from the model (Blei et al. 2003, eqs. 6-7), not from vitutor.lda.

LDA_ALPHA, LDA_ETA = 0.4, 0.3


def dirichlet_log_norm(conc):
    return np.sum(gammaln(conc), axis=-1) - gammaln(np.sum(conc, axis=-1))


def lda_local_step(counts, mean_T, sweeps=None, tol=1e-13):
    # mean_T = E[log beta] (K, V).  Returns sum_d n_dv phi_dvk and the documents' ELBO terms
    # E[log p(w_d, z_d, theta_d | beta)] - E[log q(z_d, theta_d)] at the local optimum.
    K = mean_T.shape[0]
    stats, local = np.zeros_like(mean_T), 0.0
    for n_d in np.atleast_2d(counts):
        gamma = np.full(K, LDA_ALPHA + n_d.sum() / K)
        for _ in range(10_000 if sweeps is None else sweeps):
            e_log_theta = digamma(gamma) - digamma(gamma.sum())
            log_phi = e_log_theta[:, None] + mean_T  # (K, V), unnormalised
            phi = np.exp(log_phi - logsumexp(log_phi, axis=0))
            new = LDA_ALPHA + phi @ n_d
            moved = np.max(np.abs(new - gamma))
            gamma = new
            if sweeps is None and moved < tol:
                break
        e_log_theta = digamma(gamma) - digamma(gamma.sum())
        log_phi = e_log_theta[:, None] + mean_T
        phi = np.exp(log_phi - logsumexp(log_phi, axis=0))
        stats += phi * n_d
        local += (
            n_d @ logsumexp(log_phi, axis=0)
            + (LDA_ALPHA - gamma) @ e_log_theta
            + dirichlet_log_norm(gamma)
            - dirichlet_log_norm(np.full(K, LDA_ALPHA))
        )
    return stats, local


def lda_problem(K=2, V=5, D=6, seed=0):
    counts = (
        lda.simulate_corpus(
            D, V, K, LDA_ALPHA, LDA_ETA, doc_length=12, seed=seed
        )
        .X.toarray()
        .astype(float)
    )
    model = svi.ConjugateModel(
        ef.Dirichlet,
        np.full((K, V), LDA_ETA - 1.0),
        lda_local_step,
    )
    lam = np.random.default_rng(seed).gamma(5.0, 0.4, size=(K, V))
    return counts, model, lam


def test_natural_gradient_holds_when_the_local_blocks_are_run_to_convergence():
    # eq. (ef-natgrad) rests on the local factors being at their optimum (envelope theorem):
    # with the two local blocks run to convergence, finite differences of the collapsed ELBO
    # equal grad^2 A(lam) (lam_hat - lam); after a single local sweep they do not
    counts, model, lam = lda_problem()
    q = ef.Dirichlet(lam - 1.0)
    hess = np.zeros(
        (lam.size, lam.size)
    )  # block diagonal: one V x V block per topic
    K, V = lam.shape
    for k in range(K):
        block = slice(k * V, (k + 1) * V)
        hess[block, block] = np.diag(polygamma(1, lam[k])) - polygamma(
            1, lam[k].sum()
        )

    def fd_grad(collapsed):
        h, grad = 1e-6, np.empty(lam.size)
        for j in range(lam.size):
            e = np.zeros(lam.size)
            e[j] = h
            e = e.reshape(lam.shape)
            grad[j] = (collapsed(q.eta + e) - collapsed(q.eta - e)) / (2 * h)
        return grad

    target = svi.global_step(model, counts, q)
    natural = hess @ (target - q.eta).ravel()
    converged = fd_grad(lambda eta: svi.collapsed_elbo(model, counts, eta))
    np.testing.assert_allclose(converged, natural, rtol=1e-6, atol=1e-6)

    one_sweep = svi.ConjugateModel(
        ef.Dirichlet,
        model.alpha,
        lambda x, mean_T: lda_local_step(x, mean_T, sweeps=1),
    )
    rough = fd_grad(lambda eta: svi.collapsed_elbo(one_sweep, counts, eta))
    target_rough = svi.global_step(one_sweep, counts, q)
    assert np.max(
        np.abs(rough - hess @ (target_rough - q.eta).ravel())
    ) > 100 * np.max(np.abs(converged - natural))


def test_online_lda_is_svi_with_a_local_inner_loop():
    # lda.online_vb (Hoffman et al. 2010) and svi.svi on the model above take the same steps:
    # the same minibatches (online_vb's generator after it drew the initial gamma), the same
    # rho_t, and local optima that agree once both inner loops have converged
    counts, model, lam0 = lda_problem(K=3, V=8, D=40, seed=2)
    D, K = counts.shape[0], lam0.shape[0]
    kw = dict(batch_size=5, n_steps=30, kappa=0.7, tau0=4.0)
    online = lda.online_vb(
        counts,
        K,
        LDA_ALPHA,
        LDA_ETA,
        seed=np.random.default_rng(7),
        lam0=lam0,
        e_step_tol=1e-13,
        e_step_max_iter=10_000,
        warm_start=True,
        **kw,
    )
    rng = np.random.default_rng(7)
    rng.gamma(100.0, 0.01, size=(D, K))  # online_vb's initial gamma
    generic = svi.svi(model, counts, lam0 - 1.0, seed=rng, **kw)
    np.testing.assert_allclose(generic.lam + 1.0, online.lam, rtol=1e-9)
