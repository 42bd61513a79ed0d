"""Tests for vitutor.normal_gamma: every expected number comes from an independent route
(a grid, 2-D cubature, Monte Carlo, the update equations re-written on the raw data)."""

import time

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy import integrate, stats
from scipy.optimize import minimize

from vitutor import normal_gamma as ng

# Generic values: no log 1 = 0, gammaln(1) = gammaln(2) = 0 or mu0 = 0 to hide a dropped term.
PRIOR = ng.NormalGammaPrior(mu0=0.5, lam0=0.7, a0=2.5, b0=1.5)
NONINFORMATIVE = ng.NormalGammaPrior(mu0=0.0, lam0=0.0, a0=0.0, b0=0.0)


def _data(n, seed=0, loc=1.0, scale=2.0):
    return np.random.default_rng(seed).normal(loc, scale, size=n)


def _log_joint(x, prior, mu, tau):
    """log p(x, mu, tau) from scipy.stats densities on the raw data, broadcasting mu and tau."""
    mu = np.asarray(mu, dtype=float)
    tau = np.asarray(tau, dtype=float)
    sd = 1.0 / np.sqrt(tau)
    loglik = stats.norm.logpdf(x, mu[..., None], sd[..., None]).sum(axis=-1)
    return (
        loglik
        + stats.norm.logpdf(mu, prior.mu0, sd / np.sqrt(prior.lam0))
        + stats.gamma.logpdf(tau, prior.a0, scale=1.0 / prior.b0)
    )


def _fixed_point_residuals(x, prior, r):
    """The two update equations written directly on the raw data, evaluated at the CAVI output."""
    n = x.size
    mu_N = (prior.lam0 * prior.mu0 + x.sum()) / (prior.lam0 + n)
    lam_N = (prior.lam0 + n) * r.a_N / r.b_N
    a_N = prior.a0 + (n + 1) / 2
    b_N = prior.b0 + 0.5 * (
        np.sum((x - r.mu_N) ** 2)
        + n / r.lam_N
        + prior.lam0 * ((r.mu_N - prior.mu0) ** 2 + 1 / r.lam_N)
    )
    return (
        np.array([r.mu_N / mu_N, r.lam_N / lam_N, r.a_N / a_N, r.b_N / b_N])
        - 1.0
    )


small_models = st.tuples(
    st.integers(1, 12),
    st.integers(0, 10_000),
    st.floats(-3, 3),
    st.floats(0.05, 5),
    st.floats(0.1, 5),
    st.floats(0.1, 5),
)


# ---------------------------------------------------------------- exact posterior and evidence


def test_exact_posterior_matches_grid_normalisation():
    x = _data(6)
    post = ng.exact_posterior(x, PRIOR)
    # the box holds all but ~1e-12 of the mass: E[mu|x] ~ 1.1 (sd 0.33), E[tau|x] ~ 1.7 (sd 0.7)
    mu = np.linspace(-4.0, 6.5, 801)
    tau = np.linspace(1e-6, 10.0, 1001)
    M, T = np.meshgrid(mu, tau, indexing="ij")
    log_unnorm = _log_joint(x, PRIOR, M, T)
    w = np.exp(log_unnorm - log_unnorm.max())
    cell = (mu[1] - mu[0]) * (tau[1] - tau[0])
    Z = w.sum() * cell
    inside = w > 1e-6 * w.max()
    grid_logpdf = log_unnorm[inside] - log_unnorm.max() - np.log(Z)
    np.testing.assert_allclose(
        grid_logpdf, post.logpdf(M, T)[inside], atol=1e-5
    )
    p = w / w.sum()
    np.testing.assert_allclose((p * M).sum(), post.mean_mu, rtol=1e-5)
    np.testing.assert_allclose((p * T).sum(), post.mean_tau, rtol=1e-5)
    np.testing.assert_allclose(
        (p * (T - post.mean_tau) ** 2).sum(), post.var_tau, rtol=1e-4
    )


@pytest.mark.parametrize(
    "n, prior",
    [
        (8, PRIOR),
        (3, ng.NormalGammaPrior(mu0=-1.0, lam0=2.0, a0=4.0, b0=0.5)),
        (20, PRIOR),
    ],
)
def test_log_evidence_matches_2d_quadrature_of_the_joint(n, prior):
    x = _data(n, seed=n)
    # mode and scale of log p(x, mu, log tau) found numerically, then cubature on (mu, u = log tau)
    opt = minimize(
        lambda p: -_log_joint(x, prior, p[0], np.exp(p[1])) - p[1],
        [x.mean(), 0.0],
    )
    c = -opt.fun
    sd = np.sqrt(np.diag(opt.hess_inv))
    centre = opt.x

    def integrand(p):
        return np.exp(
            _log_joint(x, prior, p[:, 0], np.exp(p[:, 1])) + p[:, 1] - c
        )

    res = integrate.cubature(
        integrand, centre - 40 * sd, centre + 40 * sd, rtol=1e-11, atol=0
    )
    assert res.status == "converged"
    np.testing.assert_allclose(
        np.log(res.estimate) + c, ng.log_evidence(x, prior), rtol=0, atol=1e-8
    )


def test_posterior_moments_match_monte_carlo():
    x = _data(10, seed=3)
    post = ng.exact_posterior(x, PRIOR)
    rng = np.random.default_rng(11)
    m = 400_000
    tau = rng.gamma(
        post.alpha_N, 1.0 / post.beta_N, size=m
    )  # numpy's gamma takes scale = 1/rate
    mu = rng.normal(post.m_N, 1.0 / np.sqrt(post.kappa_N * tau))
    for draws, mean, var in [
        (mu, post.mean_mu, post.var_mu),
        (tau, post.mean_tau, post.var_tau),
    ]:
        se_mean = np.sqrt(var / m)
        assert abs(draws.mean() - mean) < 5 * se_mean
        # the standard error of a sample variance is about var * sqrt(2/m) (kurtosis correction
        # below 2x)
        assert abs(draws.var() - var) < 10 * var * np.sqrt(2.0 / m)


def test_sufficient_statistics_are_stable_for_large_offsets():
    x = 1e9 + _data(1000, seed=5, loc=0.0, scale=1e-3)
    s = ng.sufficient_statistics(x)
    centred = (
        x - 1e9
    )  # exact: the offset is representable and the noise is small
    np.testing.assert_allclose(
        s.ss, np.sum((centred - centred.mean()) ** 2), rtol=1e-6
    )
    assert s.n == 1000


# ---------------------------------------------------------------- CAVI


@given(small_models)
def test_cavi_elbo_trace_never_decreases(model):
    n, seed, mu0, lam0, a0, b0 = model
    x = _data(n, seed=seed)
    prior = ng.NormalGammaPrior(mu0=mu0, lam0=lam0, a0=a0, b0=b0)
    r = ng.cavi(
        x, prior, E_tau0=float(np.random.default_rng(seed).uniform(1e-3, 1e3))
    )
    assert r.converged
    assert np.all(np.diff(r.elbo_trace) >= -1e-12 * np.abs(r.elbo_trace[1:]))


@given(small_models)
def test_cavi_fixed_point_satisfies_both_update_equations(model):
    n, seed, mu0, lam0, a0, b0 = model
    x = _data(n, seed=seed)
    prior = ng.NormalGammaPrior(mu0=mu0, lam0=lam0, a0=a0, b0=b0)
    r = ng.cavi(x, prior, tol=1e-13)
    np.testing.assert_allclose(
        _fixed_point_residuals(x, prior, r), 0.0, atol=1e-9
    )


@given(small_models)
def test_cavi_fixed_point_matches_its_closed_form(model):
    # theorem (ng-fixed-point): mu_N = m_N, E_q[tau] = alpha_N / beta_N, a_N = alpha_N + 1/2
    n, seed, mu0, lam0, a0, b0 = model
    x = _data(n, seed=seed)
    prior = ng.NormalGammaPrior(mu0=mu0, lam0=lam0, a0=a0, b0=b0)
    r = ng.cavi(x, prior, tol=1e-13)
    kappa = lam0 + n
    m = (lam0 * mu0 + x.sum()) / kappa
    alpha = a0 + n / 2
    beta = (
        b0
        + 0.5 * np.sum((x - x.mean()) ** 2)
        + 0.5 * lam0 * n * (x.mean() - mu0) ** 2 / kappa
    )
    np.testing.assert_allclose(
        [r.mu_N, r.a_N, r.b_N, r.lam_N],
        [m, alpha + 0.5, beta * (1 + 1 / (2 * alpha)), kappa * alpha / beta],
        rtol=1e-9,
    )


def test_update_functions_match_the_equations_on_raw_data():
    x = _data(7, seed=2)
    mu_N, lam_N = ng.update_q_mu(x, PRIOR, E_tau=0.3)
    np.testing.assert_allclose(
        mu_N, (PRIOR.lam0 * PRIOR.mu0 + x.sum()) / (PRIOR.lam0 + 7)
    )
    np.testing.assert_allclose(lam_N, (PRIOR.lam0 + 7) * 0.3)
    a_N, b_N = ng.update_q_tau(x, PRIOR, mu_N=0.2, lam_N=4.0)
    # E_mu[sum_i (x_i - mu)^2 + lam0 (mu - mu0)^2] by Gauss-Hermite quadrature over q(mu)
    nodes, weights = np.polynomial.hermite_e.hermegauss(20)
    mu = 0.2 + nodes / np.sqrt(4.0)
    f = ((x[None, :] - mu[:, None]) ** 2).sum(axis=1) + PRIOR.lam0 * (
        mu - PRIOR.mu0
    ) ** 2
    expected_b = PRIOR.b0 + 0.5 * (weights @ f) / weights.sum()
    np.testing.assert_allclose(
        [a_N, b_N], [PRIOR.a0 + 4.0, expected_b], rtol=1e-12
    )


def test_large_n_fit_is_fast():
    x = _data(10**6, seed=1)
    start = time.perf_counter()
    r = ng.cavi(x, PRIOR)
    elapsed = time.perf_counter() - start
    assert r.converged
    assert elapsed < 1.0
    np.testing.assert_allclose(1 / r.E_tau, x.var(), rtol=1e-3)


# ---------------------------------------------------------------- ELBO and KL


def _random_q(rng):
    return (
        rng.normal(1, 1),
        rng.uniform(0.2, 5),
        rng.uniform(1, 8),
        rng.uniform(0.5, 10),
    )


@given(small_models)
def test_elbo_plus_kl_equals_log_evidence(model):
    n, seed, mu0, lam0, a0, b0 = model
    x = _data(n, seed=seed)
    prior = ng.NormalGammaPrior(mu0=mu0, lam0=lam0, a0=a0, b0=b0)
    q = _random_q(np.random.default_rng(seed))
    total = ng.elbo(x, prior, *q) + ng.kl_to_posterior(x, prior, *q)
    np.testing.assert_allclose(
        total, ng.log_evidence(x, prior), rtol=1e-10, atol=1e-10
    )


def test_elbo_matches_monte_carlo():
    x = _data(5, seed=4)
    q = (0.8, 2.0, 3.5, 4.0)
    rng = np.random.default_rng(7)
    m = 400_000
    mu = rng.normal(q[0], 1 / np.sqrt(q[1]), size=m)
    tau = rng.gamma(q[2], 1 / q[3], size=m)
    log_q = stats.norm.logpdf(
        mu, q[0], 1 / np.sqrt(q[1])
    ) + stats.gamma.logpdf(tau, q[2], scale=1 / q[3])
    terms = _log_joint(x, PRIOR, mu, tau) - log_q
    se = terms.std() / np.sqrt(m)
    assert abs(terms.mean() - ng.elbo(x, PRIOR, *q)) < 5 * se


@pytest.mark.parametrize("n", [2, 6, 40])
def test_kl_closed_form_matches_2d_quadrature(n):
    x = _data(n, seed=n)
    r = ng.cavi(x, PRIOR)
    post = ng.exact_posterior(x, PRIOR)
    qmu = stats.norm(r.mu_N, 1 / np.sqrt(r.lam_N))
    qtau = stats.gamma(r.a_N, scale=1 / r.b_N)

    def integrand(p):
        log_q = qmu.logpdf(p[:, 0]) + qtau.logpdf(p[:, 1])
        return np.exp(log_q) * (log_q - post.logpdf(p[:, 0], p[:, 1]))

    lo = [qmu.ppf(1e-15), qtau.ppf(1e-15)]
    hi = [qmu.isf(1e-15), qtau.isf(1e-15)]
    res = integrate.cubature(integrand, lo, hi, rtol=1e-11, atol=1e-13)
    assert res.status == "converged"
    np.testing.assert_allclose(
        res.estimate,
        ng.kl_to_posterior(x, PRIOR, r.mu_N, r.lam_N, r.a_N, r.b_N),
        atol=1e-9,
    )


def test_elbo_is_below_log_evidence_and_gap_shrinks_with_n():
    gaps = []
    for n in [2, 8, 32, 128, 512]:
        x = _data(n, seed=0)
        r = ng.cavi(x, PRIOR)
        gaps.append(ng.log_evidence(x, PRIOR) - r.elbo_trace[-1])
    gaps = np.array(gaps)
    assert np.all(gaps > 0)
    assert np.all(np.diff(gaps) < 0)
    # leading order of the gap at the fixed point: 1 / (4 alpha_N) = 1 / (4 a0 + 2 n)
    np.testing.assert_allclose(
        gaps[-1], 1 / (4 * PRIOR.a0 + 2 * 512), rtol=0.02
    )


# ---------------------------------------------------------------- the non-informative limit


@pytest.mark.parametrize("n", [2, 5, 30])
def test_noninformative_limit_gives_the_ml_variance(n):
    x = _data(n, seed=n)
    ml = np.var(x)  # divides by n
    r = ng.cavi(x, NONINFORMATIVE, tol=1e-14)
    np.testing.assert_allclose(1 / r.E_tau, ml, rtol=1e-10)
    assert not np.isclose(1 / r.E_tau, np.var(x, ddof=1), rtol=1e-3)
    np.testing.assert_allclose(
        1 / ng.exact_posterior(x, NONINFORMATIVE).mean_tau, ml, rtol=1e-12
    )
    assert np.all(np.diff(r.elbo_trace) >= -1e-12 * np.abs(r.elbo_trace[1:]))


def test_noninformative_limit_needs_spread_in_the_data():
    with pytest.raises(ValueError, match="x"):
        ng.cavi([1.0], NONINFORMATIVE)
    with pytest.raises(ValueError, match="x"):
        ng.exact_posterior([2.0, 2.0, 2.0], NONINFORMATIVE)


@pytest.mark.parametrize("name", ["lam0", "a0", "b0"])
def test_log_evidence_refuses_an_improper_prior(name):
    kwargs = {"mu0": 0.3, "lam0": 0.8, "a0": 1.7, "b0": 2.2, name: 0.0}
    with pytest.raises(ValueError, match=name):
        ng.log_evidence(_data(4), ng.NormalGammaPrior(**kwargs))


# ---------------------------------------------------------------- validation


@pytest.mark.parametrize(
    "kwargs, name",
    [
        ({"lam0": -1.0}, "lam0"),
        ({"a0": -0.5}, "a0"),
        ({"b0": -2.0}, "b0"),
        ({"b0": np.inf}, "b0"),
        ({"mu0": np.nan}, "mu0"),
    ],
)
def test_prior_rejects_bad_parameters(kwargs, name):
    with pytest.raises(ValueError, match=name):
        ng.NormalGammaPrior(**kwargs)


def test_prior_is_frozen():
    with pytest.raises(AttributeError):
        PRIOR.a0 = 3.0


@pytest.mark.parametrize(
    "x", [[], [1.0, np.nan], [np.inf, 1.0], np.ones((3, 2)), 3.0]
)
@pytest.mark.parametrize(
    "fn",
    [ng.exact_posterior, ng.log_evidence, ng.cavi, ng.sufficient_statistics],
)
def test_bad_data_raise_value_error_naming_x(fn, x):
    args = (x,) if fn is ng.sufficient_statistics else (x, PRIOR)
    with pytest.raises(ValueError, match="x"):
        fn(*args)


def test_bad_variational_parameters_are_named():
    x = _data(4)
    with pytest.raises(ValueError, match="lam_N"):
        ng.elbo(x, PRIOR, 0.0, -1.0, 1.0, 1.0)
    with pytest.raises(ValueError, match="b_N"):
        ng.kl_to_posterior(x, PRIOR, 0.0, 1.0, 1.0, 0.0)
    with pytest.raises(ValueError, match="E_tau0"):
        ng.cavi(x, PRIOR, E_tau0=0.0)
    with pytest.raises(ValueError, match="E_tau"):
        ng.update_q_mu(x, PRIOR, E_tau=np.nan)
    with pytest.raises(TypeError, match="prior"):
        ng.cavi(x, {"a0": 1.0})


@pytest.mark.parametrize(
    "kwargs, name, error",
    [
        ({"lam0": "1"}, "lam0", TypeError),
        ({"a0": np.nan}, "a0", ValueError),
        ({"mu0": True}, "mu0", TypeError),
    ],
)
def test_prior_rejects_bad_types_and_nan(kwargs, name, error):
    with pytest.raises(error, match=name):
        ng.NormalGammaPrior(**kwargs)


@pytest.mark.parametrize(
    "kwargs, name",
    [
        ({"kappa_N": 0.0}, "kappa_N"),
        ({"kappa_N": -2.0}, "kappa_N"),
        ({"alpha_N": -1.0}, "alpha_N"),
        ({"beta_N": 0.0}, "beta_N"),
        ({"beta_N": np.nan}, "beta_N"),
        ({"m_N": np.inf}, "m_N"),
    ],
)
def test_posterior_rejects_bad_parameters(kwargs, name):
    params = {"m_N": 0.3, "kappa_N": 2.5, "alpha_N": 3.1, "beta_N": 1.7}
    with pytest.raises(ValueError, match=name):
        ng.NormalGammaPosterior(**{**params, **kwargs})


@pytest.mark.parametrize(
    "kwargs, name, error",
    [
        ({"n": 0}, "n", ValueError),
        ({"n": 2.5}, "n", TypeError),
        ({"xbar": np.nan}, "xbar", ValueError),
        ({"ss": -1.0}, "ss", ValueError),
    ],
)
def test_sufficient_statistics_reject_bad_fields(kwargs, name, error):
    fields = {"n": 3, "xbar": 0.4, "ss": 2.0}
    with pytest.raises(error, match=name):
        ng.SufficientStatistics(**{**fields, **kwargs})


def test_logpdf_is_minus_infinity_outside_the_support():
    post = ng.exact_posterior(_data(5), PRIOR)
    out = post.logpdf([0.2, 0.2, 0.2], [0.9, 0.0, -1.0])
    np.testing.assert_allclose(
        out[0],
        stats.norm.logpdf(0.2, post.m_N, 1 / np.sqrt(post.kappa_N * 0.9))
        + stats.gamma.logpdf(0.9, post.alpha_N, scale=1 / post.beta_N),
        rtol=1e-13,
    )
    assert np.all(out[1:] == -np.inf)
    assert np.ndim(post.logpdf(0.2, 0.9)) == 0


@pytest.mark.parametrize(
    "mu, tau, match",
    [
        (np.nan, 1.0, "mu"),
        (0.0, [1.0, np.inf], "tau"),
        ([0.0, 1.0], [1.0, 2.0, 3.0], "broadcast"),
        (["a"], 1.0, "mu"),
    ],
)
def test_logpdf_validates_its_points(mu, tau, match):
    post = ng.exact_posterior(_data(5), PRIOR)
    with pytest.raises((ValueError, TypeError), match=match):
        post.logpdf(mu, tau)


def test_logpdf_refuses_more_points_than_the_cap(monkeypatch):
    post = ng.exact_posterior(_data(5), PRIOR)
    monkeypatch.setattr(ng, "MAX_ELEMENTS", 100)
    assert post.logpdf(np.zeros((10, 1)), np.ones(10)).shape == (10, 10)
    with pytest.raises(ValueError, match="MAX_ELEMENTS"):
        post.logpdf(np.zeros((11, 1)), np.ones(10))


def test_cavi_caps_and_checks_its_options():
    x = _data(4)
    r = ng.cavi(x, PRIOR, tol=0.0, max_iter=ng.MAX_ITER)
    assert r.converged and r.n_iter < 1000  # the float fixed point is reached
    with pytest.raises(ValueError, match="max_iter"):
        ng.cavi(x, PRIOR, max_iter=ng.MAX_ITER + 1)
    with pytest.raises(ValueError, match="max_iter"):
        ng.cavi(x, PRIOR, max_iter=0)
    with pytest.raises(TypeError, match="max_iter"):
        ng.cavi(x, PRIOR, max_iter=10.0)
    for tol in (-1e-3, np.nan, np.inf):
        with pytest.raises(ValueError, match="tol"):
            ng.cavi(x, PRIOR, tol=tol)


@pytest.mark.parametrize("E_tau0", [1e-320, 1e308])
def test_cavi_refuses_a_start_whose_precision_overflows(E_tau0):
    with pytest.raises(ValueError, match="E_tau0"):
        ng.cavi(_data(4), PRIOR, E_tau0=E_tau0)
    with pytest.raises(ValueError, match="E_tau"):
        ng.update_q_mu(_data(4), PRIOR, E_tau=E_tau0)


def test_extreme_but_valid_starts_converge_to_the_same_fixed_point():
    x = _data(6, seed=2)
    fits = [ng.cavi(x, PRIOR, E_tau0=e, tol=1e-14) for e in (1e-250, 1e250)]
    for r in fits:
        assert r.converged
        np.testing.assert_allclose(
            _fixed_point_residuals(x, PRIOR, r), 0.0, atol=1e-9
        )


@pytest.mark.parametrize(
    "x, prior",
    [
        ([1e300, -1e300], PRIOR),  # the sum of squares overflows
        ([1e160, 1e160], PRIOR),  # (xbar - mu0)^2 overflows
    ],
)
def test_data_whose_statistics_overflow_are_refused_naming_x(x, prior):
    for fn in (ng.exact_posterior, ng.cavi):
        with pytest.raises(ValueError, match="x"):
            fn(x, prior)


def test_update_q_tau_names_bad_arguments():
    x = _data(4)
    with pytest.raises(ValueError, match="mu_N"):
        ng.update_q_tau(x, PRIOR, mu_N=np.nan, lam_N=1.0)
    with pytest.raises(ValueError, match="lam_N"):
        ng.update_q_tau(x, PRIOR, mu_N=0.0, lam_N=0.0)
    with pytest.raises(TypeError, match="lam_N"):
        ng.update_q_tau(x, PRIOR, mu_N=0.0, lam_N=np.ones(2))
    with pytest.raises(ValueError, match="a_N"):
        ng.elbo(x, PRIOR, 0.0, 1.0, -2.0, 1.0)
