"""Exponential families (chapter 6): grad A = E[T], grad^2 A = Cov[T], entropy and KL, each against
an independent route (finite differences, Monte Carlo, scipy.stats, quadrature)."""

import time

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import integrate, stats

from vitutor import expfam as ef

pos = st.floats(0.3, 8.0)
real = st.floats(-3.0, 3.0)


def families():
    """One strategy per family, over natural parameters well inside the domain."""
    return st.one_of(
        st.builds(lambda m, v: ef.Gaussian.from_mean_var(m, v), real, pos),
        st.builds(lambda a, b: ef.Gamma.from_shape_rate(a, b), pos, pos),
        st.builds(lambda a, b: ef.Beta.from_ab(a, b), pos, pos),
        st.builds(
            lambda a: ef.Dirichlet.from_concentration(a),
            st.lists(pos, min_size=2, max_size=4),
        ),
        st.builds(
            lambda e: ef.Categorical(np.array(e)),
            st.lists(real, min_size=2, max_size=5),
        ),
        st.builds(
            lambda m, k, a, b: ef.NormalGamma.from_params(m, k, a, b),
            real,
            pos,
            pos,
            pos,
        ),
    )


def fd_gradient(dist, h=1e-6):
    """Central differences of A(eta) in each natural parameter."""
    eta = dist.eta
    grad = np.empty_like(eta)
    for j in range(eta.size):
        e = np.zeros_like(eta)
        e.flat[j] = h
        grad.flat[j] = (
            type(dist)(eta + e).log_partition()
            - type(dist)(eta - e).log_partition()
        ) / (2 * h)
    return grad


def fd_hessian(dist, h=1e-5):
    """Central differences of grad A = mean_T: the Hessian of A."""
    eta = dist.eta
    d = eta.size
    H = np.empty((d, d))
    for j in range(d):
        e = np.zeros_like(eta)
        e.flat[j] = h
        H[:, j] = (
            type(dist)(eta + e).mean_T() - type(dist)(eta - e).mean_T()
        ).ravel() / (2 * h)
    return H


@settings(max_examples=60, deadline=None)
@given(families())
def test_gradient_of_log_partition_is_mean_of_statistics(dist):
    np.testing.assert_allclose(
        dist.mean_T(), fd_gradient(dist), rtol=1e-6, atol=1e-7
    )


@settings(max_examples=60, deadline=None)
@given(families())
def test_hessian_of_log_partition_is_symmetric_and_positive_semidefinite(dist):
    H = fd_hessian(dist)
    np.testing.assert_allclose(H, H.T, rtol=1e-5, atol=1e-6)
    assert np.linalg.eigvalsh(0.5 * (H + H.T)).min() > -1e-6


@settings(max_examples=60, deadline=None)
@given(families(), families())
def test_kl_is_nonnegative_and_zero_at_itself(p, q):
    assert abs(float(p.kl(p))) < 1e-9
    if type(p) is type(q) and p.eta.shape == q.eta.shape:
        assert float(p.kl(q)) >= -1e-9


SCIPY_CASES = [
    (ef.Gaussian.from_mean_var(1.3, 0.7), stats.norm(1.3, np.sqrt(0.7)), 0.4),
    (ef.Gamma.from_shape_rate(2.7, 1.9), stats.gamma(2.7, scale=1 / 1.9), 0.8),
    (ef.Beta.from_ab(1.7, 3.2), stats.beta(1.7, 3.2), 0.3),
]


@pytest.mark.parametrize(
    ("dist", "ref", "z"), SCIPY_CASES, ids=["gaussian", "gamma", "beta"]
)
def test_entropy_and_logpdf_match_scipy(dist, ref, z):
    np.testing.assert_allclose(dist.entropy(), ref.entropy(), rtol=1e-12)
    np.testing.assert_allclose(dist.logpdf(z), ref.logpdf(z), rtol=1e-12)


@settings(max_examples=40, deadline=None)
@given(st.lists(pos, min_size=2, max_size=5))
def test_dirichlet_entropy_and_logpdf_match_scipy(alpha):
    dist = ef.Dirichlet.from_concentration(alpha)
    ref = stats.dirichlet(np.array(alpha))
    np.testing.assert_allclose(
        dist.entropy(), ref.entropy(), rtol=1e-10, atol=1e-12
    )
    z = np.full(len(alpha), 1.0 / len(alpha))
    np.testing.assert_allclose(
        dist.logpdf(z), ref.logpdf(z), rtol=1e-10, atol=1e-12
    )


@settings(max_examples=40, deadline=None)
@given(st.lists(real, min_size=2, max_size=6))
def test_categorical_entropy_and_probabilities_match_scipy(eta):
    dist = ef.Categorical(np.array(eta))
    p = np.exp(eta) / np.sum(np.exp(eta))
    np.testing.assert_allclose(dist.probs, p, rtol=1e-12)
    np.testing.assert_allclose(
        dist.entropy(), stats.entropy(p), rtol=1e-10, atol=1e-12
    )
    np.testing.assert_allclose(
        dist.logpdf(np.arange(len(eta))), np.log(p), rtol=1e-10, atol=1e-12
    )


def test_normal_gamma_logpdf_is_gamma_times_normal():
    dist = ef.NormalGamma.from_params(0.4, 2.5, 3.1, 1.7)
    mu, tau = np.array([-0.3, 0.9]), np.array([0.6, 2.2])
    ref = stats.gamma.logpdf(tau, 3.1, scale=1 / 1.7) + stats.norm.logpdf(
        mu, 0.4, 1 / np.sqrt(2.5 * tau)
    )
    np.testing.assert_allclose(
        dist.logpdf(np.stack([mu, tau], axis=-1)), ref, rtol=1e-12
    )


MC_CASES = [
    ef.Gaussian.from_mean_var(-0.8, 1.9),
    ef.Gamma.from_shape_rate(3.3, 0.7),
    ef.Beta.from_ab(2.4, 0.9),
    ef.Dirichlet.from_concentration([1.2, 2.5, 4.0]),
    ef.Categorical(np.array([0.3, -1.2, 0.8, 0.1])),
    ef.NormalGamma.from_params(0.7, 1.6, 4.5, 2.3),
]
IDS = ["gaussian", "gamma", "beta", "dirichlet", "categorical", "normal-gamma"]


@pytest.mark.parametrize("dist", MC_CASES, ids=IDS)
def test_mean_and_covariance_of_statistics_by_monte_carlo(dist):
    m = 400_000
    T = dist.T(dist.sample(m, seed=0)).reshape(m, -1)
    mean_T, H = dist.mean_T().ravel(), fd_hessian(dist)
    se = T.std(axis=0) / np.sqrt(m)
    assert np.all(np.abs(T.mean(axis=0) - mean_T) < 5 * se + 1e-12)
    cov = np.cov(T, rowvar=False)
    # standard error of a sample covariance ~ sqrt(var_i var_j / m) (+ fourth-moment terms): 6 of
    # them
    scale = np.sqrt(np.outer(np.diag(cov), np.diag(cov)) / m)
    assert np.all(np.abs(cov - H) < 6 * scale * 3 + 1e-10)


@pytest.mark.parametrize("dist", MC_CASES, ids=IDS)
def test_entropy_by_monte_carlo(dist):
    m = 400_000
    log_p = dist.logpdf(dist.sample(m, seed=1))
    assert abs(
        -log_p.mean() - float(dist.entropy())
    ) < 5 * log_p.std() / np.sqrt(m)


def test_kl_by_quadrature_for_the_univariate_families():
    pairs = [
        (
            ef.Gaussian.from_mean_var(0.3, 0.5),
            ef.Gaussian.from_mean_var(-1.0, 2.0),
            -np.inf,
            np.inf,
        ),
        (
            ef.Gamma.from_shape_rate(2.5, 1.5),
            ef.Gamma.from_shape_rate(1.2, 0.4),
            0.0,
            np.inf,
        ),
        (ef.Beta.from_ab(2.0, 5.0), ef.Beta.from_ab(0.8, 1.3), 0.0, 1.0),
    ]

    def integrand(z, ps, qs):
        # p(z) (log p(z) - log q(z)) with scipy.stats densities
        return ps.pdf(z) * (ps.logpdf(z) - qs.logpdf(z))

    for p, q, lo, hi in pairs:
        value = integrate.quad(
            integrand, lo, hi, args=(p.to_scipy(), q.to_scipy()), epsabs=1e-12
        )[0]
        np.testing.assert_allclose(p.kl(q), value, rtol=1e-8)


def test_kl_by_cubature_for_normal_gamma_and_monte_carlo_for_dirichlet():
    p, q = (
        ef.NormalGamma.from_params(0.5, 2.0, 3.0, 1.5),
        ef.NormalGamma.from_params(-0.2, 0.7, 1.8, 0.9),
    )

    m, kappa, _, _ = p.params

    def integrand(w):
        # w = (u, log tau) with mu = m + u / sqrt(kappa tau): p's conditional of mu is N(0, 1) in u
        tau = np.exp(w[:, 1])
        z = np.stack([m + w[:, 0] / np.sqrt(kappa * tau), tau], axis=-1)
        log_p = p.logpdf(z)
        return (
            np.exp(log_p) * (log_p - q.logpdf(z)) * tau / np.sqrt(kappa * tau)
        )

    value = integrate.cubature(
        integrand, [-12.0, -25.0], [12.0, 4.0], rtol=1e-10, atol=1e-13
    ).estimate
    np.testing.assert_allclose(p.kl(q), value, rtol=1e-7)

    # Dirichlet: Monte Carlo with scipy's densities, an independent route. The first q has
    # concentrations 1, where log Gamma(1) = 0 would hide a dropped normaliser term; the second
    # has generic ones.
    p = ef.Dirichlet.from_concentration([2.0, 3.0, 1.5])
    z = p.sample(400_000, seed=2)
    log_p = stats.dirichlet(p.concentration).logpdf(z.T)
    for conc in ([1.0, 1.0, 4.0], [0.7, 2.6, 3.3]):
        q = ef.Dirichlet.from_concentration(conc)
        diff = log_p - stats.dirichlet(np.array(conc)).logpdf(z.T)
        se = diff.std() / np.sqrt(z.shape[0])
        assert abs(diff.mean() - float(p.kl(q))) < 5 * se


# A batch of shape (2, 3) with distinct parameters in every slot, for each family: the
# constructor, and its arguments with the batch (and the event, for Dirichlet and categorical
# parameters) axes leading.
BATCHES = {
    "gaussian": (
        ef.Gaussian.from_mean_var,
        {
            "m": np.array([[-1.0, 0.0, 2.0], [0.5, 3.0, -2.0]]),
            "s2": np.array([[0.5, 1.0, 2.0], [3.0, 0.2, 1.5]]),
        },
    ),
    "gamma": (
        ef.Gamma.from_shape_rate,
        {
            "a": np.array([[0.7, 2.0, 5.0], [1.3, 9.0, 3.1]]),
            "b": np.array([[1.0, 0.5, 2.0], [4.0, 1.5, 0.3]]),
        },
    ),
    "beta": (
        ef.Beta.from_ab,
        {
            "a": np.array([[0.7, 2.0, 5.0], [1.3, 9.0, 3.1]]),
            "b": np.array([[4.0, 0.5, 2.0], [1.0, 1.5, 0.8]]),
        },
    ),
    "dirichlet": (
        ef.Dirichlet.from_concentration,
        {"alpha": 0.4 + np.arange(24.0).reshape(2, 3, 4) % 7 * 0.9},
    ),
    "categorical": (
        ef.Categorical,
        {"eta": np.sin(np.arange(24.0)).reshape(2, 3, 4) * 2.0},
    ),
    "normal-gamma": (
        ef.NormalGamma.from_params,
        {
            "m": np.array([[-1.0, 0.0, 2.0], [0.5, 3.0, -2.0]]),
            "kappa": np.array([[0.5, 1.0, 2.0], [3.0, 0.2, 1.5]]),
            "a": np.array([[0.7, 2.0, 5.0], [1.3, 9.0, 3.1]]),
            "b": np.array([[1.0, 0.5, 2.0], [4.0, 1.5, 0.3]]),
        },
    ),
}
SLOTS = [(i, j) for i in range(2) for j in range(3)]


@pytest.mark.parametrize("family", list(BATCHES))
def test_a_batch_gives_exactly_what_each_distribution_gives_alone(family):
    # every slot of a (2, 3) batch of distinct parameters against the distribution built alone
    # from that slot's parameters; a second batch (the slots in reverse order) is the other
    # side of kl, so a sum or a reshape over a wrong axis mixes distinct parameters and fails
    make, params = BATCHES[family]
    batch = make(**params)
    other = make(**{k: v[::-1, ::-1] for k, v in params.items()})
    assert batch.batch_shape == (2, 3)
    alone = {ij: make(**{k: v[ij] for k, v in params.items()}) for ij in SLOTS}
    alone_other = {
        ij: make(**{k: v[::-1, ::-1][ij] for k, v in params.items()})
        for ij in SLOTS
    }
    z = batch.sample(seed=0)  # one point per slot, each in its own support
    for ij in SLOTS:
        one = alone[ij]
        np.testing.assert_array_equal(batch.mean_T()[ij], one.mean_T())
        np.testing.assert_array_equal(
            batch.log_partition()[ij], one.log_partition()
        )
        np.testing.assert_array_equal(batch.entropy()[ij], one.entropy())
        np.testing.assert_array_equal(
            batch.kl(other)[ij], one.kl(alone_other[ij])
        )
        np.testing.assert_array_equal(batch.logpdf(z)[ij], one.logpdf(z[ij]))


@pytest.mark.parametrize("family", list(BATCHES))
def test_a_batch_samples_each_distribution_in_its_own_slot(family):
    # the draws in slot (i, j) have the expected statistics E[T] of that slot's distribution
    # alone (within 5 standard errors), which the other slots' distributions do not have
    make, params = BATCHES[family]
    batch = make(**params)
    n = 40_000
    draws = batch.sample(n, seed=1)
    event = draws.shape[3:]
    assert draws.shape == (n, 2, 3) + event
    for ij in SLOTS:
        one = make(**{k: v[ij] for k, v in params.items()})
        T = one.T(draws[(slice(None),) + ij]).reshape(n, -1)
        se = T.std(axis=0) / np.sqrt(n)
        assert np.all(np.abs(T.mean(axis=0) - one.mean_T().ravel()) < 5 * se)
    np.testing.assert_array_equal(draws, batch.sample(n, seed=1))


@pytest.mark.parametrize(
    "alpha",
    [[1.5, 2.0, 0.5, 4.0], [0.05, 0.1, 0.2]],
    ids=["generic", "small"],
)
def test_dirichlet_draws_have_beta_marginals_and_the_dirichlet_moments(alpha):
    # z_k ~ Beta(alpha_k, alpha_0 - alpha_k) (Kolmogorov-Smirnov against scipy.stats.beta), and
    # the sample covariance matches alpha_0^2 (alpha_0 + 1) Cov[z] = alpha_0 diag(alpha) - alpha
    # alpha^T within 5 standard errors; concentrations far below one, whose plain Gamma draws
    # underflow, included
    alpha = np.array(alpha)
    a0 = alpha.sum()
    n = 100_000
    z = ef.Dirichlet.from_concentration(alpha).sample(n, seed=5)
    assert z.shape == (n, alpha.size)
    np.testing.assert_allclose(z.sum(axis=1), 1.0, rtol=1e-14)
    for k in range(alpha.size):
        ks = stats.kstest(z[:, k], stats.beta(alpha[k], a0 - alpha[k]).cdf)
        assert ks.pvalue > 1e-3, (k, ks)
    cov = (a0 * np.diag(alpha) - np.outer(alpha, alpha)) / (a0**2 * (a0 + 1))
    D = z - alpha / a0
    products = D[:, :, None] * D[:, None, :]
    se = products.std(axis=0) / np.sqrt(n)
    assert np.all(np.abs(products.mean(axis=0) - cov) < 5 * se + 1e-15)


def test_dirichlet_sampling_is_seeded_and_vectorised_over_the_batch():
    d = ef.Dirichlet.from_concentration(
        1.0 + np.arange(3 * 10**5).reshape(10**5, 3) % 5
    )
    start = time.perf_counter()
    z = d.sample(seed=3)
    elapsed = time.perf_counter() - start
    # 10**5 distributions; a Python loop over them took 9.5 s to 19 s
    assert elapsed < 2.0, elapsed
    assert z.shape == (10**5, 3)
    np.testing.assert_array_equal(z, d.sample(seed=3))
    assert not np.array_equal(z, d.sample(seed=4))


def test_conversions_round_trip():
    g = ef.Gaussian.from_mean_var(1.5, 0.25)
    np.testing.assert_allclose([g.mean, g.var], [1.5, 0.25], rtol=1e-15)
    ga = ef.Gamma.from_shape_rate(2.0, 3.0)
    np.testing.assert_allclose([ga.shape, ga.rate], [2.0, 3.0], rtol=1e-15)
    b = ef.Beta.from_ab(0.5, 4.0)
    np.testing.assert_allclose([b.a, b.b], [0.5, 4.0], rtol=1e-15)
    d = ef.Dirichlet.from_concentration([0.5, 1.0, 2.0])
    np.testing.assert_allclose(d.concentration, [0.5, 1.0, 2.0], rtol=1e-15)
    c = ef.Categorical.from_probs([0.2, 0.3, 0.5])
    np.testing.assert_allclose(c.probs, [0.2, 0.3, 0.5], rtol=1e-14)
    ng = ef.NormalGamma.from_params(-0.7, 2.0, 3.0, 1.5)
    np.testing.assert_allclose(ng.params, [-0.7, 2.0, 3.0, 1.5], rtol=1e-14)


def test_sampling_is_reproducible_from_its_seed():
    for dist in MC_CASES:
        np.testing.assert_array_equal(
            dist.sample(7, seed=3), dist.sample(7, seed=3)
        )


def test_eta_is_read_only():
    g = ef.Gaussian.from_mean_var(0.0, 1.0)
    with pytest.raises(ValueError):
        g.eta[0] = 5.0


@pytest.mark.parametrize(
    ("make", "match"),
    [
        (lambda: ef.Gaussian(np.array([0.0, 0.5])), "eta"),
        (lambda: ef.Gaussian(np.array([0.0, -0.5, 1.0])), "eta"),
        (lambda: ef.Gaussian(np.array([np.nan, -0.5])), "eta"),
        (lambda: ef.Gaussian.from_mean_var(0.0, -1.0), "s2"),
        (lambda: ef.Gamma(np.array([-1.5, -1.0])), "shape"),
        (lambda: ef.Gamma.from_shape_rate(-2.0, 1.0), "a"),
        (lambda: ef.Gamma(np.array([0.5, 1.0])), "rate"),
        (lambda: ef.Beta.from_ab(1.0, 0.0), "b"),
        (lambda: ef.Dirichlet.from_concentration([1.0, 0.0, 2.0]), "alpha"),
        (lambda: ef.Dirichlet(np.array([0.5, -1.0])), "Dirichlet"),
        (lambda: ef.Dirichlet(np.zeros(0)), "eta"),
        (lambda: ef.Categorical(np.array([0.0, np.inf])), "eta"),
        (lambda: ef.Categorical.from_probs([0.5, 0.6]), "p"),
        (lambda: ef.NormalGamma.from_params(0.0, 1.0, -1.0, 1.0), "a"),
        (lambda: ef.NormalGamma(np.array([0.0, -0.5, 1.0, 0.5])), "rate"),
        (lambda: ef.NormalGamma(np.array([0.0, 0.5, -1.0, 0.5])), "kappa"),
    ],
)
def test_parameters_outside_the_domain_are_refused(make, match):
    with pytest.raises(ValueError, match=match):
        make()


def test_bad_types_are_refused():
    with pytest.raises(TypeError, match="eta"):
        ef.Gaussian(np.array(["a", "b"]))
    with pytest.raises(TypeError, match="other"):
        ef.Gaussian.from_mean_var(0.0, 1.0).kl(
            ef.Gamma.from_shape_rate(1.0, 1.0)
        )
    with pytest.raises(TypeError, match="z"):
        ef.Categorical(np.zeros(3)).T(np.array([0.5]))
    with pytest.raises(ValueError, match="z"):
        ef.Categorical(np.zeros(3)).T(np.array([3]))
    with pytest.raises(TypeError, match="seed"):
        ef.Gamma.from_shape_rate(1.0, 1.0).sample(3, seed="abc")


@pytest.mark.parametrize(
    ("dist", "z", "match"),
    [
        (
            ef.Gaussian.from_mean_var(0.0, 1.0),
            [0.0, np.nan],
            "z must not contain NaN",
        ),
        (ef.Gamma.from_shape_rate(2.5, 1.5), [1.0, -0.5], "z must be > 0"),
        (ef.Beta.from_ab(1.7, 3.2), 1.0, r"z must lie in \(0, 1\)"),
        (ef.Dirichlet.from_concentration([1.5, 2.0]), [0.3, 0.3], "simplex"),
        (
            ef.Dirichlet.from_concentration([1.5, 2.0]),
            [0.2, 0.3, 0.5],
            "last axis",
        ),
        (
            ef.NormalGamma.from_params(0.4, 2.5, 3.1, 1.7),
            [0.1, 0.0],
            "tau must be > 0",
        ),
        (ef.NormalGamma.from_params(0.4, 2.5, 3.1, 1.7), [0.1], "last axis"),
    ],
    ids=[
        "gaussian",
        "gamma",
        "beta",
        "dirichlet",
        "dirichlet-K",
        "ng",
        "ng-shape",
    ],
)
def test_logpdf_refuses_points_outside_the_support(dist, z, match):
    with pytest.raises(ValueError, match=match):
        dist.logpdf(np.asarray(z))


def test_sample_sizes_are_capped_before_drawing():
    with pytest.raises(ValueError, match="size = \\(100000000000,\\) draws"):
        ef.Gaussian.from_mean_var(0.0, 1.0).sample(10**11)
    d = ef.Dirichlet.from_concentration(np.ones((1000, 50)) * 1.5)
    with pytest.raises(ValueError, match="batch of shape \\(1000,\\)"):
        d.sample(10**5)
    with pytest.raises(ValueError, match="max_elements"):
        ef.Gamma.from_shape_rate(2.0, 1.0).sample(11, max_elements=10)
    assert ef.Categorical(np.zeros(3)).sample(
        4, seed=0, max_elements=12
    ).shape == (4,)
