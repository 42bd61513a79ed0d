"""Tests of vitutor.discrete against independent routes (scipy.stats.entropy,
scipy.special.rel_entr).
"""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import array_shapes, arrays
from scipy.special import rel_entr
from scipy.stats import entropy as scipy_entropy

from vitutor import discrete


def random_log_dist(rng, shape, zero_frac=0.0):
    """A normalised log table, optionally with some exact zeros."""
    logits = rng.normal(scale=2.0, size=shape)
    if zero_frac:
        mask = rng.random(shape) < zero_frac
        mask.flat[0] = False
        logits[mask] = -np.inf
    return logits - np.logaddexp.reduce(logits, axis=None)


# --- hypothesis strategies over small random models --------------------------------------

shapes = array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=4)
finite_logs = st.floats(
    min_value=-30, max_value=10, allow_nan=False, allow_infinity=False
)


@st.composite
def joint_and_q(draw):
    shape = draw(shapes)
    log_joint = draw(arrays(np.float64, shape, elements=finite_logs))
    logits = draw(arrays(np.float64, shape, elements=st.floats(-8, 8)))
    log_q = logits - np.logaddexp.reduce(logits, axis=None)
    return log_joint, log_q


@given(joint_and_q())
def test_kl_is_nonnegative(tables):
    log_joint, log_q = tables
    assert discrete.kl(log_q, discrete.posterior(log_joint)) >= -1e-12


@given(joint_and_q())
def test_kl_of_q_with_itself_is_zero(tables):
    _, log_q = tables
    assert abs(discrete.kl(log_q, log_q)) <= 1e-12


@given(joint_and_q())
def test_log_evidence_equals_elbo_plus_kl(tables):
    log_joint, log_q = tables
    log_px = discrete.log_evidence(log_joint)
    total = discrete.elbo(log_q, log_joint) + discrete.kl(
        log_q, discrete.posterior(log_joint)
    )
    np.testing.assert_allclose(
        total, log_px, rtol=0, atol=1e-10 * max(1.0, abs(log_px))
    )


@given(joint_and_q())
def test_elbo_bounds_log_evidence_with_equality_at_posterior(tables):
    log_joint, log_q = tables
    log_px = discrete.log_evidence(log_joint)
    tol = 1e-10 * max(1.0, abs(log_px))
    assert discrete.elbo(log_q, log_joint) <= log_px + tol
    np.testing.assert_allclose(
        discrete.elbo(discrete.posterior(log_joint), log_joint),
        log_px,
        rtol=0,
        atol=tol,
    )


@given(joint_and_q(), st.floats(min_value=-50, max_value=50))
def test_unnormalised_target_shifts_elbo_by_log_constant(tables, log_Z):
    log_joint, log_q = tables
    shifted = discrete.elbo(log_q, log_joint + log_Z) - discrete.elbo(
        log_q, log_joint
    )
    np.testing.assert_allclose(shifted, log_Z, rtol=0, atol=1e-9)


# --- unit tests against independent implementations ---------------------------------------


def test_log_evidence_matches_direct_sum():
    rng = np.random.default_rng(0)
    log_joint = rng.normal(size=(3, 4, 2))
    assert discrete.log_evidence(log_joint) == pytest.approx(
        np.log(np.exp(log_joint).sum()), rel=1e-13
    )


def test_log_evidence_does_not_underflow():
    log_joint = np.array([-1000.0, -1001.0])
    assert discrete.log_evidence(log_joint) == pytest.approx(
        -1000.0 + np.log1p(np.exp(-1.0)), abs=1e-12
    )


def test_posterior_is_bayes_rule():
    rng = np.random.default_rng(1)
    p = rng.random((2, 3))
    log_post = discrete.posterior(np.log(p))
    np.testing.assert_allclose(np.exp(log_post), p / p.sum(), rtol=1e-13)


def test_kl_matches_scipy_entropy():
    rng = np.random.default_rng(2)
    for shape in [(5,), (2, 3), (2, 2, 3)]:
        log_q, log_p = random_log_dist(rng, shape), random_log_dist(rng, shape)
        expected = scipy_entropy(np.exp(log_q).ravel(), np.exp(log_p).ravel())
        assert discrete.kl(log_q, log_p) == pytest.approx(expected, rel=1e-12)


def test_kl_is_asymmetric():
    log_q = np.log([0.9, 0.1])
    log_p = np.log([0.5, 0.5])
    assert discrete.kl(log_q, log_p) != pytest.approx(
        discrete.kl(log_p, log_q), rel=1e-3
    )


def test_kl_treats_zero_mass_cells_as_zero_contribution():
    q = np.array([0.0, 0.25, 0.75])
    p = np.array([0.5, 0.25, 0.25])
    expected = scipy_entropy(q, p)
    assert np.isfinite(expected)
    assert discrete.kl(
        discrete.log_probs(q), discrete.log_probs(p)
    ) == pytest.approx(expected, rel=1e-13)


def test_kl_is_infinite_when_q_has_mass_where_p_has_none():
    # generic values: with p = (1, 0) the term p log p would vanish (log 1 = 0) and a dropped
    # entropy term would go unnoticed
    q = discrete.log_probs([0.3, 0.45, 0.25])
    p = discrete.log_probs([0.6, 0.4, 0.0])
    assert discrete.kl(q, p) == np.inf
    expected = 0.6 * np.log(0.6 / 0.3) + 0.4 * np.log(0.4 / 0.45)
    assert discrete.kl(p, q) == pytest.approx(expected, rel=1e-13)
    assert discrete.kl(p, q) == pytest.approx(
        scipy_entropy([0.6, 0.4, 0.0], [0.3, 0.45, 0.25]), rel=1e-13
    )


def test_elbo_matches_rel_entr_formula():
    rng = np.random.default_rng(3)
    log_joint = rng.normal(size=(3, 3)) - 4.0
    log_q = random_log_dist(rng, (3, 3), zero_frac=0.3)
    expected = -np.sum(rel_entr(np.exp(log_q), np.exp(log_joint)))
    assert discrete.elbo(log_q, log_joint) == pytest.approx(
        expected, rel=1e-12
    )


def test_elbo_is_minus_inf_when_q_has_mass_where_joint_is_zero():
    log_joint = np.array([np.log(0.2), -np.inf])
    assert discrete.elbo(np.log([0.5, 0.5]), log_joint) == -np.inf


def test_entropy_matches_scipy():
    rng = np.random.default_rng(4)
    log_q = random_log_dist(rng, (4, 3), zero_frac=0.2)
    assert discrete.entropy(log_q) == pytest.approx(
        scipy_entropy(np.exp(log_q).ravel()), rel=1e-12
    )


def test_log_probs_maps_zero_to_minus_inf_without_warning():
    with np.errstate(all="raise"):
        out = discrete.log_probs([0.0, 1.0])
    assert out[0] == -np.inf and out[1] == 0.0


# --- bad input -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "bad", [[np.nan, 0.0], [np.inf, 0.0], [-np.inf, -np.inf]]
)
def test_log_evidence_rejects_bad_tables(bad):
    with pytest.raises(ValueError, match="log_joint"):
        discrete.log_evidence(bad)


def test_rejects_scalar_and_empty_tables():
    with pytest.raises(ValueError, match="log_joint"):
        discrete.posterior(0.0)
    with pytest.raises(ValueError, match="log_joint"):
        discrete.posterior([])


def test_rejects_non_numeric_tables():
    with pytest.raises(TypeError, match="log_joint"):
        discrete.log_evidence(["a", "b"])


def test_kl_rejects_unnormalised_q():
    with pytest.raises(ValueError, match="log_q"):
        discrete.kl(np.log([0.5, 0.6]), np.log([0.5, 0.5]))


def test_kl_rejects_unnormalised_p():
    with pytest.raises(ValueError, match="log_p"):
        discrete.kl(np.log([0.5, 0.5]), np.log([0.2, 0.2]))


def test_kl_rejects_shape_mismatch():
    with pytest.raises(ValueError, match="same shape"):
        discrete.kl(np.log([0.5, 0.5]), np.log([0.25, 0.25, 0.5]))


def test_elbo_rejects_bad_q_and_shapes():
    with pytest.raises(ValueError, match="log_q"):
        discrete.elbo([0.1, 0.1], [0.0, 0.0])
    with pytest.raises(ValueError, match="log_q"):
        discrete.elbo([np.nan, 0.0], [0.0, 0.0])
    with pytest.raises(ValueError, match="same shape"):
        discrete.elbo(np.log([0.5, 0.5]), np.zeros(3))


@pytest.mark.parametrize(
    "p, message",
    [
        ([-0.1, 1.1], "non-negative"),
        ([0.3, 0.3], "sum to one"),
        ([np.nan, 1.0], "NaN"),
        ([], "non-empty"),
    ],
)
def test_log_probs_rejects_tables_that_are_not_distributions(p, message):
    with pytest.raises(ValueError, match=message):
        discrete.log_probs(p, name="q")


def test_seed_is_validated_by_name():
    from vitutor._validate import check_seed

    with pytest.raises(ValueError, match="seed"):
        check_seed(-1)
    with pytest.raises(TypeError, match="seed"):
        check_seed("abc")
    with pytest.raises(TypeError, match="seed"):
        check_seed(True)
    assert check_seed(np.int64(3)).integers(10**9) == check_seed(3).integers(
        10**9
    )
