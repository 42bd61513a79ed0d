"""Tests for vitutor.vmp: variational message passing reproduces chapter 5's Normal-Gamma CAVI
and chapter 4's mixture CAVI to rounding, its ELBO never decreases and equals a Monte Carlo
estimate, and bad graphs and inputs are named."""

import numpy as np
import pytest
from scipy import stats

from vitutor import expfam as ef
from vitutor import gmm, vmp
from vitutor import normal_gamma as ng


def _ng_case():
    x = np.random.default_rng(5).normal(3.0, 1.7, size=40)
    prior = ng.NormalGammaPrior(mu0=0.3, lam0=0.7, a0=2.5, b0=1.3)
    graph = vmp.normal_gamma_graph(x, 0.3, 0.7, 2.5, 1.3)
    return x, prior, graph


def test_vmp_reproduces_normal_gamma_cavi():
    x, prior, graph = _ng_case()
    ref = ng.cavi(x, prior, E_tau0=5.0, tol=1e-12)
    init = {
        "mu": ef.Gaussian.from_mean_var(0.0, 1.0),
        "tau": ef.Gamma.from_shape_rate(1.0, 1 / 5.0),  # E[tau] = 5
    }
    fit = vmp.vmp(graph, init, max_iter=ref.n_iter, tol=None)
    got = [
        fit.q["mu"].mean,
        1 / fit.q["mu"].var,
        fit.q["tau"].shape,
        fit.q["tau"].rate,
    ]
    want = [ref.mu_N, ref.lam_N, ref.a_N, ref.b_N]
    np.testing.assert_allclose(got, want, rtol=1e-12)
    np.testing.assert_allclose(fit.elbo_trace, ref.elbo_trace, rtol=1e-12)


def test_vmp_reproduces_mixture_cavi():
    for seed, (n, K, prior_var) in enumerate([(300, 3, 10.0), (200, 2, 1.0)]):
        x = gmm.simulate(n, K, prior_var, seed=seed).x
        m0 = np.random.default_rng(seed + 10).choice(x, size=K, replace=False)
        eta_c0 = np.outer(x, m0) - 0.5 * (m0**2 + 1.0)
        ref = gmm.cavi(
            x, K, prior_var, init_phi=ef.Categorical(eta_c0).probs, tol=1e-10
        )
        init = {
            "mu": ef.Gaussian.from_mean_var(np.zeros(K), 1.0),
            "c": ef.Categorical(eta_c0),
        }
        fit = vmp.vmp(
            vmp.mixture_graph(x, K, prior_var), init, ref.n_iter, tol=None
        )
        np.testing.assert_allclose(fit.q["mu"].mean, ref.m, rtol=1e-11)
        np.testing.assert_allclose(fit.q["mu"].var, ref.s2, rtol=1e-11)
        np.testing.assert_allclose(
            fit.q["c"].probs, ref.phi, rtol=1e-10, atol=1e-13
        )
        np.testing.assert_allclose(fit.elbo_trace, ref.elbo_trace, rtol=1e-12)
        assert np.all(
            np.diff(fit.elbo_trace) >= -1e-12 * np.abs(fit.elbo_trace[1:])
        )


def test_messages_sum_to_the_update_and_the_elbo_matches_monte_carlo():
    x, prior, graph = _ng_case()
    q = {
        "mu": ef.Gaussian.from_mean_var(2.5, 0.2),
        "tau": ef.Gamma.from_shape_rate(4.0, 10.0),
    }
    msgs = vmp.messages_to(graph, "mu", q)
    assert set(msgs) == {"p(mu|tau)", "p(x|mu,tau)"}
    # the sum is chapter 5's q(mu) update given E[tau] = 0.4
    mu_N, lam_N = ng.update_q_mu(x, prior, 0.4)
    total = sum(msgs.values())
    np.testing.assert_allclose(ef.Gaussian(total).mean, mu_N, rtol=1e-12)
    np.testing.assert_allclose(1 / ef.Gaussian(total).var, lam_N, rtol=1e-12)
    # E_q[log p(x, mu, tau)] + H[q] against Monte Carlo with scipy densities
    rng = np.random.default_rng(0)
    mu = q["mu"].sample(200_000, seed=rng)
    tau = q["tau"].sample(200_000, seed=rng)
    log_joint = (
        stats.norm.logpdf(x[:, None], mu, 1 / np.sqrt(tau)).sum(axis=0)
        + stats.norm.logpdf(mu, 0.3, 1 / np.sqrt(0.7 * tau))
        + stats.gamma.logpdf(tau, 2.5, scale=1 / 1.3)
    )
    terms = log_joint - q["mu"].logpdf(mu) - q["tau"].logpdf(tau)
    se = terms.std() / np.sqrt(terms.size)
    assert abs(terms.mean() - vmp.elbo(graph, q)) < 4 * se


def test_bad_graphs_and_inputs_are_named():
    x, prior, graph = _ng_case()
    with pytest.raises(TypeError, match="family"):
        vmp.Variable("mu", float)
    with pytest.raises(TypeError, match="name"):
        vmp.Variable("", ef.Gaussian)
    with pytest.raises(TypeError, match="message"):
        vmp.FactorNode("f", ("mu",), None, lambda means: 0.0)
    with pytest.raises(ValueError, match="unknown"):
        vmp.FactorGraph(
            (vmp.Variable("mu", ef.Gaussian),),
            (vmp.FactorNode("f", ("nu",), lambda to, m: 0.0, lambda m: 0.0),),
        )
    with pytest.raises(ValueError, match="no factor"):
        vmp.FactorGraph(
            (vmp.Variable("mu", ef.Gaussian), vmp.Variable("s", ef.Gamma)),
            (vmp.FactorNode("f", ("mu",), lambda to, m: 0.0, lambda m: 0.0),),
        )
    with pytest.raises(TypeError, match="graph"):
        vmp.vmp("graph", {})
    with pytest.raises(ValueError, match="tau"):
        vmp.vmp(graph, {"mu": ef.Gaussian.from_mean_var(0.0, 1.0)})
    with pytest.raises(TypeError, match="init"):
        vmp.vmp(
            graph,
            {
                "mu": ef.Gaussian.from_mean_var(0.0, 1.0),
                "tau": ef.Gaussian.from_mean_var(0.0, 1.0),
            },
        )
    with pytest.raises(ValueError, match="lam0"):
        vmp.normal_gamma_graph(x, 0.0, 0.0, 1.0, 1.0)
    with pytest.raises(ValueError, match="prior_var"):
        vmp.mixture_graph(x, 2, -1.0)
    with pytest.raises(ValueError, match="name"):
        vmp.messages_to(
            graph,
            "sigma",
            {
                "mu": ef.Gaussian.from_mean_var(0.0, 1.0),
                "tau": ef.Gamma.from_shape_rate(1.0, 1.0),
            },
        )
