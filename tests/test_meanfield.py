"""Tests for vitutor.meanfield: every expectation comes from an independent route.

Routes used: enumeration of the joint table through :mod:`vitutor.discrete` (on the explicit
product table), brute-force loops over cells, ``scipy.optimize`` over softmax parameters or over
diagonal Gaussians, ``scipy.stats`` entropies and densities, Monte Carlo, and matrix inversion.
"""

import itertools

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from scipy import optimize, stats
from scipy.special import logsumexp, softmax

from vitutor import discrete
from vitutor import meanfield as mf

# --------------------------------------------------------------------------------------------
# strategies and independent helpers
# --------------------------------------------------------------------------------------------

shapes = st.lists(st.integers(1, 4), min_size=1, max_size=3).map(tuple)
values = st.floats(-15, 15, allow_nan=False, allow_infinity=False)


@st.composite
def finite_tables(draw, elements=values):
    return draw(arrays(np.float64, draw(shapes), elements=elements))


@st.composite
def tables_with_zeros(draw):
    """Tables where some cells are impossible (-inf), never all of them."""
    table = draw(finite_tables())
    drop = draw(arrays(bool, table.shape, elements=st.booleans()))
    if drop.all():
        drop.flat[draw(st.integers(0, table.size - 1))] = False
    return np.where(drop, -np.inf, table)


@st.composite
def factors_for(draw, shape):
    """Random strictly positive probability vectors, one per axis."""
    out = []
    for n_j in shape:
        w = draw(arrays(np.float64, n_j, elements=st.floats(0.01, 1.0)))
        out.append(w / w.sum())
    return out


def product_table(probs):
    """q(z) = prod_j q_j(z_j) built with explicit outer products."""
    table = np.asarray(probs[0], dtype=float)
    for p in probs[1:]:
        table = np.multiply.outer(table, p)
    return table


def joint_elbo(probs, log_joint):
    """ELBO of a product q evaluated on the full joint table (chapter 2 route)."""
    with np.errstate(divide="ignore"):
        log_q = np.log(product_table(probs))
    return discrete.elbo(log_q, log_joint)


def random_spd(rng, d):
    a = rng.normal(size=(d, d))
    return a @ a.T + 0.3 * np.eye(d)


def bimodal_table(n=7, spread=0.6, weight_low=0.5):
    """Two Gaussian blobs on an n x n grid, at (1, 1) and (n-2, n-2), unnormalised."""
    grid = np.arange(n)
    z1, z2 = np.meshgrid(grid, grid, indexing="ij")

    def blob(c):
        return -((z1 - c) ** 2 + (z2 - c) ** 2) / (2 * spread**2)

    return np.logaddexp(
        np.log(weight_low) + blob(1), np.log(1 - weight_low) + blob(n - 2)
    )


# --------------------------------------------------------------------------------------------
# discrete tables
# --------------------------------------------------------------------------------------------


@given(st.data())
def test_update_is_the_exact_coordinate_maximiser(data):
    # moderate log-probabilities keep the maximiser inside the simplex, where BFGS on softmax
    # parameters can reach it to 1e-8 (a factor entry near e^-30 it could only approach)
    log_joint = data.draw(finite_tables(st.floats(-4, 4)))
    probs = data.draw(factors_for(log_joint.shape))
    j = data.draw(st.integers(0, log_joint.ndim - 1))
    new = np.exp(mf.update_factor(log_joint, [np.log(p) for p in probs], j))
    cavi_value = joint_elbo(probs[:j] + [new] + probs[j + 1 :], log_joint)

    def negative_elbo(theta):
        return -joint_elbo(
            probs[:j] + [softmax(theta)] + probs[j + 1 :], log_joint
        )

    start = np.zeros(log_joint.shape[j])
    best = optimize.minimize(
        negative_elbo, start, method="BFGS", options={"gtol": 1e-10}
    )
    optimiser_value = -best.fun
    scale = max(1.0, abs(optimiser_value))
    assert cavi_value >= optimiser_value - 1e-12 * scale
    assert cavi_value - optimiser_value <= 1e-8


@given(st.data())
def test_elbo_trace_never_decreases(data):
    log_joint = data.draw(st.one_of(finite_tables(), tables_with_zeros()))
    result = mf.cavi(log_joint, seed=data.draw(st.integers(0, 2**16)))
    trace = result.elbo_trace
    assert trace.shape == (1 + log_joint.ndim * result.n_iter,)
    assert np.all(np.isfinite(trace[1:]))
    assert np.all(
        np.diff(trace) >= -1e-12 * np.maximum(1.0, np.abs(trace[1:]))
    )


@given(st.data())
def test_gap_to_log_evidence_is_kl_to_exact_posterior(data):
    log_joint = data.draw(st.one_of(finite_tables(), tables_with_zeros()))
    result = mf.cavi(
        log_joint, seed=data.draw(st.integers(0, 2**16)), tol=1e-13
    )
    assert result.converged
    log_evidence = logsumexp(log_joint)
    with np.errstate(divide="ignore"):
        log_q = np.log(product_table([np.exp(f) for f in result.log_q]))
    kl = discrete.kl(log_q, log_joint - log_evidence)
    assert result.elbo_trace[-1] <= log_evidence + 1e-12 * max(
        1.0, abs(log_evidence)
    )
    assert log_evidence - result.elbo_trace[-1] == pytest.approx(kl, abs=1e-10)


@given(st.data())
def test_meanfield_elbo_equals_elbo_of_the_product_table(data):
    log_joint = data.draw(st.one_of(finite_tables(), tables_with_zeros()))
    probs = data.draw(factors_for(log_joint.shape))
    for p in probs:  # zero some entries, keeping each vector a distribution
        if p.size > 1:
            p[0] = 0.0
            p /= p.sum()
    with np.errstate(divide="ignore"):
        value = mf.elbo(log_joint, [np.log(p) for p in probs])
    expected = joint_elbo(probs, log_joint)
    if np.isinf(expected):
        assert value == expected
    else:
        assert value == pytest.approx(expected, rel=1e-12, abs=1e-12)


@given(st.data())
def test_entropy_of_product_is_sum_of_factor_entropies(data):
    probs = data.draw(factors_for(data.draw(shapes)))
    log_q = mf.log_product([np.log(p) for p in probs])
    assert np.exp(log_q) == pytest.approx(product_table(probs), rel=1e-12)
    total = sum(stats.entropy(p) for p in probs)
    assert discrete.entropy(log_q) == pytest.approx(
        total, rel=1e-12, abs=1e-14
    )


def test_expectation_counts_minus_inf_cells_only_under_positive_mass():
    log_joint = np.array([[0.0, -np.inf, 1.0], [0.5, 0.2, -np.inf]])
    # q_2 puts no mass on column 1: z_1 = 0 stays possible, z_1 = 1 hits the -inf in column 2.
    q2 = np.array([0.4, 0.0, 0.6])
    expect = np.zeros(2)
    for a in range(
        2
    ):  # sum over the cells that q_2 gives mass to, 0 * (-inf) never formed
        terms = [q2[b] * log_joint[a, b] for b in range(3) if q2[b] > 0]
        expect[a] = sum(terms) if np.all(np.isfinite(terms)) else -np.inf
    with np.errstate(divide="ignore"):
        new = mf.update_factor(log_joint, [np.log([0.5, 0.5]), np.log(q2)], 0)
    np.testing.assert_allclose(
        np.exp(new), np.exp(expect - logsumexp(expect)), rtol=1e-14, atol=0
    )
    assert np.exp(new)[1] == 0.0


def test_update_brute_force_on_three_axes():
    rng = np.random.default_rng(4)
    log_joint = rng.normal(size=(3, 2, 4))
    probs = [rng.dirichlet(np.ones(n)) for n in log_joint.shape]
    j = 1
    expect = np.zeros(2)
    for a, b, c in itertools.product(range(3), range(2), range(4)):
        expect[b] += probs[0][a] * probs[2][c] * log_joint[a, b, c]
    new = mf.update_factor(log_joint, [np.log(p) for p in probs], j)
    np.testing.assert_allclose(
        new, expect - np.log(np.exp(expect).sum()), rtol=1e-13
    )


def test_update_equals_complete_conditional_form():
    rng = np.random.default_rng(5)
    log_joint = 3 * rng.normal(size=(4, 3, 5))
    log_q = [np.log(rng.dirichlet(np.ones(n))) for n in log_joint.shape]
    for j in range(3):
        log_conditional = log_joint - logsumexp(
            log_joint, axis=j, keepdims=True
        )
        from_conditional = mf.update_factor(log_conditional, log_q, j)
        from_joint = mf.update_factor(log_joint, log_q, j)
        np.testing.assert_allclose(
            from_conditional, from_joint, rtol=1e-12, atol=1e-12
        )


def test_factorised_posterior_is_recovered_exactly():
    rng = np.random.default_rng(6)
    a, b, c = rng.normal(size=3), rng.normal(size=4), rng.normal(size=2)
    log_joint = a[:, None, None] + b[None, :, None] + c[None, None, :] - 7.0
    result = mf.cavi(log_joint, seed=0)
    posterior = np.exp(log_joint - logsumexp(log_joint))
    for axis, f in enumerate(result.log_q):
        others = tuple(k for k in range(3) if k != axis)
        np.testing.assert_allclose(
            np.exp(f), posterior.sum(axis=others), rtol=1e-12
        )
    assert result.elbo_trace[-1] == pytest.approx(
        logsumexp(log_joint), rel=1e-12
    )


def test_reverse_kl_locks_onto_the_mode_chosen_by_initialisation():
    log_joint = bimodal_table()
    near_low = [np.eye(7)[1], np.eye(7)[1]]
    near_high = [np.eye(7)[5], np.eye(7)[5]]
    fits = [mf.cavi(log_joint, init=init) for init in (near_low, near_high)]
    modes = [tuple(int(np.argmax(f)) for f in r.log_q) for r in fits]
    assert modes == [(1, 1), (5, 5)]
    for r in fits:
        # the product concentrates on one blob: little mass on the other
        q = product_table([np.exp(f) for f in r.log_q])
        assert min(q[:3, :3].sum(), q[4:, 4:].sum()) < 1e-3
        assert (
            r.elbo_trace[-1] < logsumexp(log_joint) - 0.5
        )  # about log 2 lost


def test_local_optima_of_unequal_modes_have_different_elbos():
    # modes of mass 0.7 and 0.3: CAVI settles on either, and the ELBO it reaches is (nearly)
    # log Z + log w_k, the log of the mass it keeps; the two optima differ by log(0.7 / 0.3)
    log_joint = bimodal_table(weight_low=0.7)
    log_Z = logsumexp(log_joint)
    near_low = [np.eye(7)[1], np.eye(7)[1]]
    near_high = [np.eye(7)[5], np.eye(7)[5]]
    low, high = (mf.cavi(log_joint, init=i) for i in (near_low, near_high))
    assert [int(np.argmax(f)) for f in low.log_q] == [1, 1]
    assert [int(np.argmax(f)) for f in high.log_q] == [5, 5]
    for r, w in ((low, 0.7), (high, 0.3)):
        assert r.converged
        assert abs(r.elbo_trace[-1] - (log_Z + np.log(w))) < 1e-3
    assert low.elbo_trace[-1] - high.elbo_trace[-1] == pytest.approx(
        np.log(0.7 / 0.3), abs=2e-3
    )


def test_update_order_can_change_the_fixed_point():
    log_joint = bimodal_table()
    lean_low = np.array([0.05, 0.6, 0.05, 0.05, 0.05, 0.15, 0.05])
    init = [lean_low, lean_low[::-1]]
    first = mf.cavi(log_joint, init=init, order=[0, 1])
    second = mf.cavi(log_joint, init=init, order=[1, 0])
    assert (
        int(np.argmax(first.log_q[0])) == 5
    )  # q_1 follows q_2's lean towards the high mode
    assert (
        int(np.argmax(second.log_q[0])) == 1
    )  # q_2 follows q_1's lean towards the low mode


def test_random_initialisation_is_reproducible():
    log_joint = np.random.default_rng(1).normal(size=(3, 4))
    one, two = mf.cavi(log_joint, seed=11), mf.cavi(log_joint, seed=11)
    np.testing.assert_array_equal(one.elbo_trace, two.elbo_trace)
    assert one.elbo_trace[0] != mf.cavi(log_joint, seed=12).elbo_trace[0]


def test_sparse_table_gets_a_finite_start_from_the_seed():
    log_joint = np.full((3, 3), -np.inf)
    log_joint[[0, 1, 2], [2, 0, 1]] = [
        0.0,
        1.0,
        2.0,
    ]  # a permutation: any full-support start is stuck
    result = mf.cavi(log_joint, seed=3)
    assert np.isfinite(result.elbo_trace[0])
    with pytest.raises(ValueError, match="init"):
        mf.cavi(log_joint, init=[np.ones(3) / 3, np.ones(3) / 3])


# --------------------------------------------------------------------------------------------
# Gaussian target
# --------------------------------------------------------------------------------------------


def test_gaussian_meanfield_recovers_mean_and_underestimates_variance():
    rng = np.random.default_rng(7)
    mean = rng.normal(size=4)
    precision = random_spd(rng, 4)
    result = mf.gaussian_meanfield(
        mean, precision, init=rng.normal(size=4) * 5
    )
    covariance = np.linalg.inv(precision)
    assert result.converged
    np.testing.assert_allclose(result.m, mean, rtol=0, atol=1e-9)
    np.testing.assert_allclose(result.s2, 1 / np.diag(precision), rtol=1e-14)
    assert np.all(result.s2 <= np.diag(covariance))


def test_gaussian_meanfield_matches_direct_minimisation_of_reverse_kl():
    mean = np.array([1.0, -2.0])
    covariance = np.array([[1.0, 0.9], [0.9, 2.0]])
    precision = np.linalg.inv(covariance)
    target = stats.multivariate_normal(mean, covariance)

    def reverse_kl(
        params,
    ):  # KL(q || p) = -H[q] - E_q[log p] over diagonal Gaussians q
        m, s2 = params[:2], np.exp(params[2:])
        entropy = stats.multivariate_normal(m, np.diag(s2)).entropy()
        expected_log_p = target.logpdf(m) - 0.5 * np.trace(
            precision @ np.diag(s2)
        )
        return -entropy - expected_log_p

    best = optimize.minimize(
        reverse_kl, np.zeros(4), method="BFGS", options={"gtol": 1e-10}
    )
    result = mf.gaussian_meanfield(mean, precision, init=[4.0, 4.0])
    np.testing.assert_allclose(result.m, best.x[:2], atol=1e-6)
    np.testing.assert_allclose(result.s2, np.exp(best.x[2:]), rtol=1e-6)
    assert -result.elbo_trace[-1] == pytest.approx(best.fun, abs=1e-10)
    assert -result.elbo_trace[-1] <= best.fun + 1e-12


@pytest.mark.parametrize("rho", [0.5, 0.9, 0.99])
def test_gaussian_meanfield_error_contracts_by_rho_squared_per_sweep(rho):
    # in two dimensions one sweep multiplies the error of the means by rho^2; the independent
    # route is the spectral radius of the Gauss-Seidel iteration matrix -(D + L)^-1 U
    sd = np.array([0.7, 1.6])
    covariance = np.array(
        [[sd[0] ** 2, rho * sd[0] * sd[1]], [rho * sd[0] * sd[1], sd[1] ** 2]]
    )
    precision = np.linalg.inv(covariance)
    mean = np.array([0.4, -1.3])
    lower = np.tril(precision)
    iteration = -np.linalg.solve(lower, np.triu(precision, 1))
    radius = np.max(np.abs(np.linalg.eigvals(iteration)))
    np.testing.assert_allclose(radius, rho**2, rtol=1e-10)
    errors = [
        np.abs(
            mf.gaussian_meanfield(
                mean, precision, init=[2.5, 3.1], max_iter=t, tol=0.0
            ).m
            - mean
        )
        for t in (2, 3)
    ]
    np.testing.assert_allclose(errors[1] / errors[0], radius, rtol=1e-8)


def test_gaussian_meanfield_needs_more_sweeps_as_correlation_grows():
    sweeps = []
    for rho in (0.5, 0.9, 0.99):
        covariance = np.array([[1.3, rho * 1.3], [rho * 1.3, 1.3]])
        result = mf.gaussian_meanfield(
            np.array([0.4, -1.3]), np.linalg.inv(covariance), init=[2.5, 3.1]
        )
        assert result.converged
        sweeps.append(result.n_iter)
    # the error after t sweeps is about rho^(2t) times the first, so the count grows like
    # 1 / log(1 / rho^2): 0.0201 for rho = 0.99 against 1.386 for rho = 0.5
    assert sweeps[0] < sweeps[1] < sweeps[2]
    predicted = np.log(1 / 0.5**2) / np.log(1 / 0.99**2)
    assert 0.5 * predicted < sweeps[2] / sweeps[0] < 2 * predicted


def test_gaussian_kl_matches_monte_carlo():
    rng = np.random.default_rng(8)
    mean, precision = rng.normal(size=3), random_spd(rng, 3)
    m, s2 = rng.normal(size=3), rng.uniform(0.2, 2.0, size=3)
    z = m + np.sqrt(s2) * rng.standard_normal((200_000, 3))
    log_ratio = stats.norm(m, np.sqrt(s2)).logpdf(z).sum(
        axis=1
    ) - stats.multivariate_normal(mean, np.linalg.inv(precision)).logpdf(z)
    standard_error = log_ratio.std() / np.sqrt(z.shape[0])
    assert (
        abs(mf.gaussian_kl(m, s2, mean, precision) - log_ratio.mean())
        < 5 * standard_error
    )


@given(st.integers(1, 5), st.integers(0, 2**16))
def test_gaussian_elbo_trace_never_decreases(d, seed):
    rng = np.random.default_rng(seed)
    result = mf.gaussian_meanfield(
        rng.normal(size=d), random_spd(rng, d), init=3 * rng.normal(size=d)
    )
    trace = result.elbo_trace
    assert np.all(
        np.diff(trace) >= -1e-12 * np.maximum(1.0, np.abs(trace[1:]))
    )
    assert trace[-1] <= 1e-12  # -KL <= 0


def test_discretised_gaussian_through_generic_cavi_matches_closed_form():
    mean = np.array([0.5, -0.3])
    covariance = np.array([[1.0, 0.8], [0.8, 1.0]])
    precision = np.linalg.inv(covariance)
    grid = np.linspace(-7, 7, 141)
    z1, z2 = np.meshgrid(grid, grid, indexing="ij")
    log_joint = stats.multivariate_normal(mean, covariance).logpdf(
        np.stack([z1, z2], axis=-1)
    )
    result = mf.cavi(
        log_joint, init=[np.ones(141) / 141] * 2, tol=0.0, max_iter=200
    )
    closed = mf.gaussian_meanfield(mean, precision)
    for j, f in enumerate(result.log_q):
        q = np.exp(f)
        m_j = q @ grid
        np.testing.assert_allclose(m_j, closed.m[j], atol=1e-8)
        np.testing.assert_allclose(
            q @ (grid - m_j) ** 2, closed.s2[j], rtol=1e-8
        )


# --------------------------------------------------------------------------------------------
# bad input
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "table",
    [
        np.array([[0.0, np.nan]]),
        np.full((2, 2), -np.inf),
        np.array([0.0, np.inf]),
        np.array(1.0),
        np.zeros((2, 0)),
    ],
)
def test_bad_tables_are_refused(table):
    with pytest.raises(ValueError, match="log_joint"):
        mf.cavi(table)


@pytest.mark.parametrize(
    "init",
    [
        [np.ones(2) / 2],  # one vector for two axes
        [np.ones(2) / 2, np.ones(2) / 2],  # axis 1 has length 3
        [np.ones(2) / 2, np.array([0.5, 0.7, -0.2])],  # negative entry
        [np.ones(2) / 2, np.array([0.5, 0.2, 0.2])],  # does not sum to one
        [np.ones(2) / 2, np.array([np.nan, 0.5, 0.5])],
        [np.ones(2) / 2, np.ones((3, 1)) / 3],
    ],
)
def test_bad_init_is_refused(init):
    with pytest.raises(ValueError, match="init"):
        mf.cavi(np.zeros((2, 3)), init=init)


def test_bad_arguments_are_named():
    table = np.zeros((2, 3))
    with pytest.raises(ValueError, match="order"):
        mf.cavi(table, order=[0, 0])
    with pytest.raises(ValueError, match="max_iter"):
        mf.cavi(table, max_iter=0)
    with pytest.raises(ValueError, match="tol"):
        mf.cavi(table, tol=-1.0)
    with pytest.raises(TypeError, match="seed"):
        mf.cavi(table, seed="abc")
    with pytest.raises(ValueError, match="log_q"):
        mf.elbo(table, [np.log(np.ones(2) / 2), np.log(np.ones(3))])
    with pytest.raises(ValueError, match="j"):
        mf.update_factor(
            table, [np.log(np.ones(2) / 2), np.log(np.ones(3) / 3)], 2
        )


@pytest.mark.parametrize(
    ("mean", "precision", "name"),
    [
        ([0.0, np.nan], np.eye(2), "mean"),
        (
            [0.0, 0.0],
            np.array([[1.0, 0.5], [0.4, 1.0]]),
            "precision",
        ),  # not symmetric
        (
            [0.0, 0.0],
            np.array([[1.0, 2.0], [2.0, 1.0]]),
            "precision",
        ),  # indefinite
        ([0.0, 0.0], np.eye(3), "precision"),
        ([0.0, 0.0], np.array([[1.0, np.inf], [np.inf, 1.0]]), "precision"),
    ],
)
def test_bad_gaussian_targets_are_refused(mean, precision, name):
    with pytest.raises(ValueError, match=name):
        mf.gaussian_meanfield(mean, precision)


def test_bad_gaussian_init_and_variances_are_refused():
    with pytest.raises(ValueError, match="init"):
        mf.gaussian_meanfield([0.0, 0.0], np.eye(2), init=[1.0])
    with pytest.raises(ValueError, match="s2"):
        mf.gaussian_kl([0.0, 0.0], [1.0, 0.0], [0.0, 0.0], np.eye(2))


def test_log_product_refuses_a_table_too_large_to_build_and_names_log_q():
    factors = [np.log(np.full(10, 0.1))] * 40
    with pytest.raises(ValueError, match=r"log_q: .* 1\.000e\+40 cells"):
        mf.log_product(factors)
    with pytest.raises(ValueError, match="max_cells"):
        mf.log_product(factors[:3], max_cells=999)
    assert mf.log_product(factors[:3], max_cells=1000).shape == (10,) * 3


def test_cavi_refuses_a_max_iter_whose_trace_would_not_fit_and_names_it():
    table = np.random.default_rng(9).normal(size=(2, 3, 2))
    with pytest.raises(ValueError, match=r"max_iter = 10000000 .* max_trace"):
        mf.cavi(table, max_iter=10_000_000)
    with pytest.raises(ValueError, match="max_iter"):
        mf.cavi(table, max_iter=4, max_trace=12)  # 1 + 3 * 4 = 13 values
    result = mf.cavi(table, seed=1, max_iter=4, max_trace=13)
    assert result.elbo_trace.size == 1 + 3 * result.n_iter <= 13
    with pytest.raises(ValueError, match="max_trace"):
        mf.cavi(table, max_trace=0)


def test_gaussian_meanfield_refuses_a_trace_too_long_and_names_max_iter():
    precision = np.array([[2.0, 0.6], [0.6, 1.5]])
    with pytest.raises(ValueError, match=r"max_iter = 10000000 .* max_trace"):
        mf.gaussian_meanfield([0.3, -0.8], precision, max_iter=10_000_000)
    result = mf.gaussian_meanfield(
        [0.3, -0.8], precision, max_iter=5, tol=0.0, max_trace=11
    )
    assert result.elbo_trace.shape == (11,)
