r"""Generic natural-parameter CAVI and stochastic variational inference -- chapter 6.

Two views of a model whose complete conditionals are in the exponential family.

**Mean-field blocks** (:class:`MeanFieldModel`).  ``q(z) = prod_j q_j(z_j)`` with every factor in
an exponential family.  The optimal factor is in the family of the complete conditional, with
natural parameter ``E_{-j}[eta_j(z_{-j}, x)]`` (theorem :prf:ref:`ef-cavi-theorem`), which a
model supplies as a function of the other factors' expected sufficient statistics.  The ELBO is
``E_q[log p(x, z)]`` (a function of the same expectations, supplied by the model) plus the sum of
the factors' entropies (eq. :eq:`ef-entropy`).  :func:`cavi` cycles through the blocks.

**Global and local variables** (:class:`ConjugateModel`, Hoffman et al. 2013).  A global
``beta`` with conjugate prior of natural parameter ``alpha``, and local ``z_i`` per datum.  With the
local factors at their optimum, the global update is ``lam = alpha + sum_i E[t(z_i, x_i)]``
(eq. :eq:`ef-global-update`), the natural gradient of the ELBO in ``lam`` is that target minus
``lam`` (eq. :eq:`ef-natgrad`), and :func:`svi` follows it with noisy minibatch estimates and
steps ``rho_t = (t + tau0)^(-kappa)`` (eq. :eq:`ef-svi-step`).

This module is generic: it imports no model module; the models offer their forms
(:func:`vitutor.gmm.mean_field_form`, :func:`vitutor.gmm.conjugate_form`,
:func:`vitutor.normal_gamma.mean_field_form`).
"""

from __future__ import annotations

import numbers
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType

import numpy as np

from ._validate import (
    MAX_ELEMENTS,
    as_float_array,
    check_data,
    check_elements,
    check_int,
    check_nonnegative,
    check_returned,
    check_seed,
)
from .expfam import ExponentialFamily

__all__ = [
    "Factor",
    "MeanFieldModel",
    "CaviResult",
    "elbo",
    "cavi",
    "ConjugateModel",
    "global_step",
    "collapsed_elbo",
    "step_sizes",
    "minibatches",
    "SviResult",
    "svi",
]


@dataclass(frozen=True)
class Factor:
    """One mean-field factor ``q_j`` -- theorem :prf:ref:`ef-cavi-theorem`, chapter 6.

    Attributes
    ----------
    name : str
        Key of the factor in the mappings passed around.
    family : type
        An :class:`vitutor.expfam.ExponentialFamily` subclass, the family of the complete
        conditional ``p(z_j | z_{-j}, x)``.
    natural_parameter : callable
        ``natural_parameter(means) -> eta_j``: the optimal natural parameter
        ``E_{-j}[eta_j(z_{-j}, x)]`` given ``means[name] = E_q[T(z_name)]`` of the other factors.
    """

    name: str
    family: type
    natural_parameter: Callable[[Mapping[str, np.ndarray]], np.ndarray]

    def __post_init__(self):
        if not isinstance(self.name, str) or not self.name:
            raise TypeError(
                f"name must be a non-empty string, got {self.name!r}"
            )
        _check_family(self.family)
        if not callable(self.natural_parameter):
            raise TypeError(
                "natural_parameter must be callable, got "
                f"{type(self.natural_parameter).__name__}"
            )


def _check_family(family):
    if not (
        isinstance(family, type) and issubclass(family, ExponentialFamily)
    ):
        raise TypeError(
            f"family must be an ExponentialFamily subclass, got {family!r}"
        )
    return family


@dataclass(frozen=True)
class MeanFieldModel:
    """A model in mean-field exponential-family form -- eq. :eq:`ef-elbo-blocks`, chapter 6.

    Attributes
    ----------
    factors : tuple of Factor
        Updated in this order in every CAVI sweep.
    expected_log_joint : callable
        ``expected_log_joint(means) -> E_q[log p(x, z)]`` with ``means[name] = E_q[T(z_name)]``;
        every constant included, so the ELBO is a number and not a number up to a constant.

    Each factor's ``natural_parameter`` must return an ``eta`` of the shape of that factor's
    current one, and ``expected_log_joint`` a number; :func:`cavi` and :func:`elbo` check both
    (finite, in the family's domain) and name the callback and the sweep when one is not.
    """

    factors: tuple
    expected_log_joint: Callable[[Mapping[str, np.ndarray]], float]

    def __post_init__(self):
        if isinstance(self.factors, Factor):
            raise TypeError(
                "factors must be a sequence of Factor, got a single Factor "
                f"({self.factors.name!r}): pass (factor,)"
            )
        if isinstance(self.factors, (str, bytes, Mapping)) or not hasattr(
            self.factors, "__iter__"
        ):
            raise TypeError(
                "factors must be a non-empty sequence of Factor, got "
                f"{type(self.factors).__name__}"
            )
        factors = tuple(self.factors)
        if not factors or not all(isinstance(f, Factor) for f in factors):
            raise TypeError("factors must be a non-empty sequence of Factor")
        names = [f.name for f in factors]
        if len(set(names)) != len(names):
            raise ValueError(f"factors must have distinct names, got {names}")
        if not callable(self.expected_log_joint):
            raise TypeError(
                "expected_log_joint must be callable, got "
                f"{type(self.expected_log_joint).__name__}"
            )
        object.__setattr__(self, "factors", factors)


@dataclass(frozen=True)
class CaviResult:
    """Output of :func:`cavi`: the factors ``q`` (a read-only mapping name -> family instance),
    ``elbo_trace[t]`` after sweep ``t + 1``, ``n_iter`` and ``converged``."""

    q: Mapping[str, ExponentialFamily]
    elbo_trace: np.ndarray
    n_iter: int
    converged: bool


def _check_q(model, q, name="q"):
    if not isinstance(model, MeanFieldModel):
        raise TypeError(
            f"model must be a MeanFieldModel, got {type(model).__name__}"
        )
    if not isinstance(q, Mapping):
        raise TypeError(
            f"{name} must be a mapping from factor names to distributions"
        )
    out = {}
    for f in model.factors:
        if f.name not in q:
            raise ValueError(f"{name} has no entry for factor {f.name!r}")
        if not isinstance(q[f.name], f.family):
            raise TypeError(
                f"{name}[{f.name!r}] must be a {f.family.__name__}, got {type(q[f.name]).__name__}"
            )
        out[f.name] = q[f.name]
    return out


def _call(callback, name, given, *args):
    """``callback(*args)``; an error inside it is re-raised naming the callback and ``given``
    (what it was called on), where numpy's own message would name nothing of the user's."""
    try:
        return callback(*args)
    except (ValueError, TypeError, IndexError, KeyError) as err:
        kind = TypeError if isinstance(err, TypeError) else ValueError
        raise kind(
            f"{name} failed on {given}: {type(err).__name__}: {err}"
        ) from err


def _shapes(means):
    return "{" + ", ".join(f"{k!r}: {v.shape}" for k, v in means.items()) + "}"


def _elbo(model, q, when=""):
    means = {name: dist.mean_T() for name, dist in q.items()}
    entropy = sum(float(np.sum(dist.entropy())) for dist in q.values())
    value = _call(
        model.expected_log_joint,
        "expected_log_joint",
        f"expected statistics of shapes {_shapes(means)}{when}",
        means,
    )
    value = check_returned(
        value, "expected_log_joint", "E_q[log p(x, z)]", (), when
    )
    return float(value) + entropy


def _update_factor(f, means, shape, when):
    """The factor ``f`` at ``E_{-j}[eta_j]``: what ``f.natural_parameter`` returns, checked
    (real, shaped like the factor's current ``eta``, finite, in the family's domain)."""
    eta = _call(
        f.natural_parameter,
        f"natural_parameter of factor {f.name!r}",
        f"expected statistics of shapes {_shapes(means)}{when}",
        means,
    )
    eta = check_returned(
        eta, f"natural_parameter of factor {f.name!r}", "eta", shape, when
    )
    try:
        return f.family(eta)
    except ValueError as err:
        raise ValueError(
            f"natural_parameter of factor {f.name!r} returned an eta outside the "
            f"domain of a {f.family.__name__}{when}: {err}"
        ) from None


def elbo(model, q):
    """``E_q[log p(x, z)] + sum_j H[q_j]`` -- eq. :eq:`ef-elbo-blocks`, chapter 6.

    Parameters
    ----------
    model : MeanFieldModel
    q : mapping
        ``q[name]`` an instance of that factor's family.

    Returns
    -------
    float
    """
    return _elbo(model, _check_q(model, q))


def _check_tol(tol):
    if tol is None:
        return None
    return check_nonnegative(tol, "tol")


def cavi(model, init, max_iter=1000, tol=1e-10):
    """Coordinate ascent in natural parameters -- algorithm :prf:ref:`ef-cavi`, chapter 6.

    Each sweep sets, factor by factor in ``model.factors`` order,
    ``eta_j <- E_{-j}[eta_j(z_{-j}, x)]`` from the current expected statistics of the others
    (theorem :prf:ref:`ef-cavi-theorem`), then records the ELBO, which never decreases.

    Parameters
    ----------
    model : MeanFieldModel
    init : mapping
        Initial factors, one per name; a factor that is updated before it is read may hold
        any valid value of its shape (the shape its ``natural_parameter`` returns).
    max_iter : int
        Maximum number of sweeps.
    tol : float or None
        Stop when a sweep raises the ELBO by at most ``tol * |ELBO|``; ``None`` runs exactly
        ``max_iter`` sweeps.

    Returns
    -------
    CaviResult
    """
    q = _check_q(model, init, "init")
    max_iter = check_int(max_iter, "max_iter", 1)
    tol = _check_tol(tol)
    means = {name: dist.mean_T() for name, dist in q.items()}
    trace = []
    converged = False
    for sweep in range(1, max_iter + 1):
        when = f" at sweep {sweep}"
        for f in model.factors:
            q[f.name] = _update_factor(f, means, q[f.name].eta.shape, when)
            means[f.name] = q[f.name].mean_T()
        trace.append(_elbo(model, q, when))
        if (
            tol is not None
            and len(trace) > 1
            and trace[-1] - trace[-2] <= tol * abs(trace[-1])
        ):
            converged = True
            break
    elbo_trace = np.asarray(trace)
    elbo_trace.setflags(write=False)
    return CaviResult(
        q=MappingProxyType(q),
        elbo_trace=elbo_trace,
        n_iter=len(trace),
        converged=converged,
    )


@dataclass(frozen=True)
class ConjugateModel:
    """A conditionally conjugate model: global ``beta``, local ``z_i`` -- eq. :eq:`ef-cc-model`,
    chapter 6.

    Attributes
    ----------
    family : type
        Family of ``q(beta)`` (and of the prior), an :class:`vitutor.expfam.ExponentialFamily`
        subclass; its batch axes index independent global components.
    alpha : numpy.ndarray or ExponentialFamily
        Natural parameter of the prior ``p(beta)``, shaped like ``q(beta)``'s ``eta`` (or the
        prior itself, an instance of ``family``).
    local_step : callable
        ``local_step(x_batch, mean_T) -> (stats, local_elbo)``.  Given ``E_q[T(beta)]``, sets each
        ``q(z_i)`` of the batch to its optimum for that ``q(beta)`` and returns
        ``stats = sum_i E[t(z_i, x_i)]`` (shaped like ``alpha``, eq. :eq:`ef-global-update`) and
        ``local_elbo = sum_i E_q[log p(x_i, z_i | beta) - log q(z_i)]``.  When ``z_i`` is one
        exponential-family block the optimum is the single update ``E[eta_l(x_i, beta)]``; when
        it has several blocks (LDA's ``theta_d`` and ``z_d``), the local step cycles through
        them until they converge (step 2 of algorithm :prf:ref:`ef-svi`): the natural gradient
        (eq. :eq:`ef-natgrad`) and hence :func:`svi` assume the local factors are at their
        optimum.
        Every call is checked: a pair, ``stats`` of ``alpha``'s shape, ``local_elbo`` a number,
        both finite, else an error naming ``local_step`` and the step; an error raised inside it
        is re-raised naming ``local_step`` and the shape of ``x_batch``.
    """

    family: type
    alpha: np.ndarray
    local_step: Callable

    def __post_init__(self):
        _check_family(self.family)
        if not callable(self.local_step):
            raise TypeError(
                "local_step must be callable, got "
                f"{type(self.local_step).__name__}"
            )
        prior = self.family(_natural(self.family, self.alpha, "alpha"))
        object.__setattr__(self, "alpha", prior.eta)


def _natural(family, value, name):
    """A natural parameter of ``family`` given as an array or as a ``family`` instance."""
    if isinstance(value, ExponentialFamily):
        if not isinstance(value, family):
            raise TypeError(
                f"{name} is a {type(value).__name__}, but this model's q(beta) is a "
                f"{family.__name__}: pass a {family.__name__} or its natural parameter"
            )
        value = value.eta
    return family.check_eta(value, name)


def _local_step(model, x, mean_T, when=""):
    """``model.local_step(x, mean_T)``, its output checked: ``(stats, local_elbo)`` with ``stats``
    shaped like ``alpha`` and ``local_elbo`` a number, both finite (eq. :eq:`ef-global-update`)."""
    return _run_local_step(model.local_step, x, mean_T, when)


def _run_local_step(local_step, x, mean_T, when="", finite=True):
    """``local_step(x, mean_T)`` checked; ``stats`` must have the shape of ``mean_T`` (which is
    alpha's).  ``finite=False`` leaves NaN and inf to the caller (:mod:`vitutor.scale` checks
    the sum over the chunks, where it knows the iteration)."""
    out = _call(
        local_step,
        "local_step",
        f"x of shape {x.shape}{when} (does x have the shape the model expects?)",
        x,
        mean_T,
    )
    if not (isinstance(out, (tuple, list)) and len(out) == 2):
        raise TypeError(
            "local_step must return a pair (stats, local_elbo), got "
            f"{type(out).__name__}{when}"
        )
    stats = check_returned(
        out[0], "local_step", "stats", np.shape(mean_T), when, finite
    )
    local = check_returned(
        out[1], "local_step", "local_elbo", (), when, finite
    )
    return stats, float(local)


def _check_conjugate(model):
    if not isinstance(model, ConjugateModel):
        raise TypeError(
            f"model must be a ConjugateModel, got {type(model).__name__}"
        )
    return model


def _check_lam(model, lam, name="lam"):
    if not isinstance(lam, ExponentialFamily):
        lam = as_float_array(lam, name)
        if lam.shape != model.alpha.shape:
            raise ValueError(
                f"{name} must have the shape of alpha {model.alpha.shape}, got {lam.shape}"
            )
    arr = _natural(model.family, lam, name)
    if arr.shape != model.alpha.shape:
        raise ValueError(
            f"{name} must have the shape of alpha {model.alpha.shape}, got {arr.shape}"
        )
    return arr


def global_step(model, x, lam):
    """Optimal global natural parameter given the local optima -- eq. :eq:`ef-global-update`,
    chapter 6.

    ``lam_hat = alpha + sum_i E[t(z_i, x_i)]`` with every ``q(z_i)`` optimal for ``q(beta | lam)``.

    Parameters
    ----------
    model : ConjugateModel
    x : array_like
        All the data (first axis indexes data points).
    lam : array_like or ExponentialFamily
        Current natural parameter of ``q(beta)``.

    Returns
    -------
    numpy.ndarray
        ``lam_hat``, shaped like ``alpha``.
    """
    model = _check_conjugate(model)
    x = _check_x(x)
    lam = _check_lam(model, lam)
    stats, _ = _local_step(model, x, model.family(lam).mean_T())
    return model.alpha + stats


def _elbo_of(model, lam, local):
    # eq. (ef-collapsed): the data part (summed local terms) minus KL(q(beta | lam) || p(beta |
    # alpha))
    return float(local) - float(
        np.sum(model.family(lam).kl(model.family(model.alpha)))
    )


def _natural_step(model, lam, stats, scale, rho):
    # eq. (ef-svi-step): lam + rho (lam_hat - lam), lam_hat = alpha + (n/|B|) sum_{i in B} E[t_i]
    lam_hat = model.alpha + scale * stats
    return (1.0 - rho) * lam + rho * lam_hat


def _collapsed_elbo(model, x, lam, when=""):
    _, local = _local_step(model, x, model.family(lam).mean_T(), when)
    return _elbo_of(model, lam, local)


def collapsed_elbo(model, x, lam):
    """ELBO as a function of ``lam`` with the local factors at their optimum -- eq.
    :eq:`ef-collapsed`, chapter 6.

    ``L(lam) = sum_i E_q[log p(x_i, z_i | beta) - log q(z_i)] - KL(q(beta | lam) || p(beta |
    alpha))``.

    Parameters
    ----------
    model : ConjugateModel
    x : array_like
        All the data.
    lam : array_like or ExponentialFamily
        Natural parameter of ``q(beta)``.

    Returns
    -------
    float
    """
    model = _check_conjugate(model)
    return _collapsed_elbo(model, _check_x(x), _check_lam(model, lam))


def _check_x(x):
    arr = as_float_array(x, "x")
    if arr.ndim < 1:
        raise ValueError(
            f"x must have a first axis of data points, got shape {arr.shape}"
        )
    return check_data(arr, "x", ndim=arr.ndim)


def _check_kappa(kappa):
    if isinstance(kappa, bool) or not isinstance(kappa, numbers.Real):
        raise TypeError(
            f"kappa must be a real number, got {type(kappa).__name__}"
        )
    kappa = float(kappa)
    if not (0.5 < kappa <= 1.0):
        raise ValueError(
            f"kappa must lie in (0.5, 1] (Robbins-Monro conditions), got {kappa}"
        )
    return kappa


def step_sizes(n_steps, kappa=0.7, tau0=1.0, max_elements=MAX_ELEMENTS):
    """Step sizes ``rho_t = (t + tau0)^(-kappa)``, ``t = 1..n_steps`` -- eq. :eq:`ef-svi-step`,
    chapter 6.

    For ``kappa`` in ``(0.5, 1]`` they satisfy the Robbins--Monro conditions
    ``sum_t rho_t = inf`` and ``sum_t rho_t^2 < inf`` (eq. :eq:`ef-robbins-monro`).

    Parameters
    ----------
    n_steps : int
        Number of steps, ``>= 1``.
    kappa : float
        Forgetting rate in ``(0.5, 1]``.
    tau0 : float
        Delay ``>= 0``; with ``tau0 = 0`` and ``kappa = 1``, ``rho_1 = 1``.
    max_elements : int
        Largest ``n_steps`` to allocate the schedule for; above it a ValueError naming
        ``n_steps`` is raised.

    Returns
    -------
    numpy.ndarray, shape (n_steps,)
    """
    n_steps = check_int(n_steps, "n_steps", 1)
    check_elements(n_steps, f"n_steps = {n_steps}", max_elements)
    kappa = _check_kappa(kappa)
    tau0 = check_nonnegative(tau0, "tau0")
    return (np.arange(1, n_steps + 1) + tau0) ** (-kappa)


def minibatches(n, batch_size, seed=None):
    """Endless minibatches of distinct indices into ``range(n)``, drawn uniformly -- chapter 6.

    Each batch is a uniform sample of ``batch_size`` distinct indices, independent of the others,
    returned sorted (so ``x[idx]`` reads memory in order).  Every index has the same inclusion
    probability ``batch_size / n``, which makes ``(n / batch_size) sum_{i in B}`` an unbiased
    estimate of ``sum_i`` (eq. :eq:`ef-noisy-target`).

    Parameters
    ----------
    n : int
        Number of data points.
    batch_size : int
        In ``1..n``.
    seed : int, numpy.random.Generator or None

    Yields
    ------
    numpy.ndarray of int, shape (batch_size,)
    """
    n = check_int(n, "n", 1)
    batch_size = _check_batch_size(batch_size, n)
    return _draw_batches(n, batch_size, check_seed(seed))


def _draw_batches(n, batch_size, rng):
    # a generator of its own, so that minibatches() checks its arguments when it is called
    while True:
        yield np.sort(rng.choice(n, size=batch_size, replace=False))


def _check_batch_size(batch_size, n):
    batch_size = check_int(batch_size, "batch_size", 1)
    if batch_size > n:
        raise ValueError(f"batch_size must be <= n = {n}, got {batch_size}")
    return batch_size


@dataclass(frozen=True)
class SviResult:
    """Output of :func:`svi`.

    ``lam`` is the final natural parameter of ``q(beta)`` and ``q`` the distribution it defines;
    ``elbo_trace[j]`` is the full-data :func:`collapsed_elbo` after step ``elbo_steps[j]``
    (step 0 is the initialisation; both are empty when no evaluation was asked for); ``rho`` is the
    schedule used; ``passes`` the number of passes
    over the data the steps made (``n_steps * batch_size / n``).
    """

    lam: np.ndarray
    q: ExponentialFamily
    elbo_trace: np.ndarray
    elbo_steps: np.ndarray
    rho: np.ndarray
    n_steps: int
    batch_size: int
    kappa: float
    tau0: float
    passes: float


def svi(
    model,
    x,
    init_lam,
    n_steps,
    batch_size,
    kappa=0.7,
    tau0=1.0,
    seed=None,
    eval_every=None,
):
    """Stochastic variational inference -- algorithm :prf:ref:`ef-svi`, chapter 6.

    Step ``t`` draws a minibatch ``B`` (:func:`minibatches`), sets its local factors to their
    optimum (``model.local_step``, which for several local blocks runs them to convergence),
    forms the noisy target ``lam_hat = alpha + (n/|B|) sum_{i in B} E[t(z_i, x_i)]`` and
    moves ``lam <- (1 - rho_t) lam + rho_t lam_hat``, a step of length ``rho_t`` along the
    natural gradient (eq. :eq:`ef-natgrad`).

    Parameters
    ----------
    model : ConjugateModel
    x : array_like
        All the data (first axis indexes data points).
    init_lam : array_like or ExponentialFamily
        Initial natural parameter of ``q(beta)``.
    n_steps : int
        Number of steps.
    batch_size : int
        Minibatch size in ``1..n``.
    kappa, tau0 : float
        Step sizes ``rho_t = (t + tau0)^(-kappa)``, ``kappa`` in ``(0.5, 1]``, ``tau0 >= 0``.
    seed : int, numpy.random.Generator or None
        Randomness of the minibatches; the same seed gives the same run.
    eval_every : int or None
        Evaluate the full-data ELBO at step 0, every ``eval_every`` steps and at the last step
        (each evaluation is a pass over the data); ``None`` never evaluates it (``elbo_trace``
        is then empty), for timing the steps alone.

    Returns
    -------
    SviResult
    """
    model = _check_conjugate(model)
    x = _check_x(x)
    n = x.shape[0]
    lam, rho, batch_size, eval_every = _svi_arguments(
        model, n, init_lam, n_steps, batch_size, kappa, tau0, eval_every
    )
    n_steps = rho.size
    batches = minibatches(n, batch_size, seed)
    scale = n / batch_size
    trace, at = (
        ([], [])
        if eval_every is None
        else ([_collapsed_elbo(model, x, lam, " at step 0")], [0])
    )
    for t in range(1, n_steps + 1):
        idx = next(batches)
        xb = x if batch_size == n else x[idx]
        stats, _ = _local_step(
            model, xb, model.family(lam).mean_T(), f" at step {t}"
        )
        lam = _natural_step(model, lam, stats, scale, rho[t - 1])
        if eval_every is not None and (t == n_steps or t % eval_every == 0):
            trace.append(_collapsed_elbo(model, x, lam, f" at step {t}"))
            at.append(t)
    return _svi_result(model, lam, trace, at, rho, batch_size, kappa, tau0, n)


def _svi_arguments(
    model, n, init_lam, n_steps, batch_size, kappa, tau0, eval_every
):
    """Validated ``(lam, rho, batch_size, eval_every)`` for an SVI run over ``n`` data points."""
    lam = _check_lam(model, init_lam, "init_lam").copy()
    rho = step_sizes(n_steps, kappa, tau0)
    batch_size = _check_batch_size(batch_size, n)
    if eval_every is not None:
        eval_every = check_int(eval_every, "eval_every", 1)
    return lam, rho, batch_size, eval_every


def _svi_result(model, lam, trace, at, rho, batch_size, kappa, tau0, n):
    """The frozen :class:`SviResult` of a run (arrays made read-only)."""
    q = model.family(lam)
    elbo_trace, elbo_steps = np.asarray(trace), np.asarray(at)
    for arr in (elbo_trace, elbo_steps, rho):
        arr.setflags(write=False)
    return SviResult(
        lam=q.eta,
        q=q,
        elbo_trace=elbo_trace,
        elbo_steps=elbo_steps,
        rho=rho,
        n_steps=rho.size,
        batch_size=batch_size,
        kappa=float(kappa),
        tau0=float(tau0),
        passes=rho.size * batch_size / n,
    )
