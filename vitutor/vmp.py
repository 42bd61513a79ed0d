r"""Variational message passing on a factor graph -- chapter 10.

A model ``p(x, z) = prod_f f(z_f)`` is a bipartite graph of **variables** ``z_j`` (each with
``q_j`` in an exponential family) and **factors** ``f`` (each touching a few variables).  When
every factor is conjugate to each of its variables, ``log f`` is linear in ``T(z_j)`` with a
coefficient that depends on the other variables of ``f`` only through their expected statistics,
and chapter 6's optimal-factor rule (theorem :prf:ref:`ef-cavi-theorem`) splits into messages
(Winn and Bishop 2005; eq. :eq:`ep-vmp`):

* variable to factor: ``E_q[T(z_j)]``;
* factor to variable: ``m_{f -> j} = E_{q_{-j}}[coefficient of T(z_j) in log f]``, a natural
  parameter;
* update: ``eta_j = sum_{f touching j} m_{f -> j}``.

The ELBO is ``sum_f E_q[log f] + sum_j H[q_j]``.  :func:`vmp` visits the variables in order,
each time collecting its incoming messages.  Two graphs are provided:
:func:`normal_gamma_graph` (chapter 5's model) and :func:`mixture_graph` (chapter 4's).  This
module imports no model module.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType

import numpy as np
from scipy.special import gammaln

from ._validate import (
    check_data,
    check_int,
    check_nonnegative,
    check_positive,
    check_real,
)
from .expfam import Categorical, ExponentialFamily, Gamma, Gaussian

__all__ = [
    "Variable",
    "FactorNode",
    "FactorGraph",
    "VmpResult",
    "messages_to",
    "elbo",
    "vmp",
    "normal_gamma_graph",
    "mixture_graph",
]

_LOG_2PI = float(np.log(2.0 * np.pi))


@dataclass(frozen=True)
class Variable:
    """A variable node: its ``name`` and the exponential family of its ``q`` (an
    :class:`~vitutor.expfam.ExponentialFamily` subclass)."""

    name: str
    family: type

    def __post_init__(self):
        if not isinstance(self.name, str) or not self.name:
            raise TypeError(
                f"name must be a non-empty string, got {self.name!r}"
            )
        if not (
            isinstance(self.family, type)
            and issubclass(self.family, ExponentialFamily)
        ):
            raise TypeError(
                "family must be an ExponentialFamily subclass, got "
                f"{self.family!r}"
            )


@dataclass(frozen=True)
class FactorNode:
    """A factor node -- eq. :eq:`ep-vmp`.

    Attributes
    ----------
    name : str
    variables : tuple of str
        The variables the factor touches.
    message : callable
        ``message(to, means) -> m_{f -> to}``: the natural parameter the factor sends to
        variable ``to``, given ``means[j] = E_q[T(z_j)]`` of its other variables.
    expected_log : callable
        ``expected_log(means) -> E_q[log f]``, every constant included.
    """

    name: str
    variables: tuple
    message: Callable[[str, Mapping[str, np.ndarray]], np.ndarray]
    expected_log: Callable[[Mapping[str, np.ndarray]], float]

    def __post_init__(self):
        if not isinstance(self.name, str) or not self.name:
            raise TypeError(
                f"name must be a non-empty string, got {self.name!r}"
            )
        variables = tuple(self.variables)
        if not variables or not all(isinstance(v, str) for v in variables):
            raise TypeError(
                "variables must be a non-empty sequence of variable names"
            )
        for what in ("message", "expected_log"):
            if not callable(getattr(self, what)):
                raise TypeError(
                    f"{what} must be callable, got "
                    f"{type(getattr(self, what)).__name__}"
                )
        object.__setattr__(self, "variables", variables)


@dataclass(frozen=True)
class FactorGraph:
    """Variables (visited by :func:`vmp` in this order) and the factors that join them."""

    variables: tuple
    factors: tuple

    def __post_init__(self):
        variables, factors = tuple(self.variables), tuple(self.factors)
        if not variables or not all(
            isinstance(v, Variable) for v in variables
        ):
            raise TypeError(
                "variables must be a non-empty sequence of Variable"
            )
        if not factors or not all(isinstance(f, FactorNode) for f in factors):
            raise TypeError(
                "factors must be a non-empty sequence of FactorNode"
            )
        names = [v.name for v in variables]
        if len(set(names)) != len(names):
            raise ValueError(
                f"variables must have distinct names, got {names}"
            )
        for f in factors:
            unknown = set(f.variables) - set(names)
            if unknown:
                raise ValueError(
                    f"factor {f.name!r} touches unknown variables "
                    f"{sorted(unknown)}"
                )
        for v in names:
            if not any(v in f.variables for f in factors):
                raise ValueError(f"variable {v!r} is touched by no factor")
        object.__setattr__(self, "variables", variables)
        object.__setattr__(self, "factors", factors)


@dataclass(frozen=True)
class VmpResult:
    """Output of :func:`vmp`: ``q`` (a read-only mapping name -> distribution), ``elbo_trace``
    after each sweep, ``n_iter`` and ``converged``."""

    q: Mapping[str, ExponentialFamily]
    elbo_trace: np.ndarray
    n_iter: int
    converged: bool


def _check_graph(graph):
    if not isinstance(graph, FactorGraph):
        raise TypeError(
            f"graph must be a FactorGraph, got {type(graph).__name__}"
        )
    return graph


def _check_q(graph, q, name):
    if not isinstance(q, Mapping):
        raise TypeError(
            f"{name} must be a mapping from variable names to distributions"
        )
    out = {}
    for v in graph.variables:
        if v.name not in q:
            raise ValueError(f"{name} has no entry for variable {v.name!r}")
        if not isinstance(q[v.name], v.family):
            raise TypeError(
                f"{name}[{v.name!r}] must be a {v.family.__name__}, got "
                f"{type(q[v.name]).__name__}"
            )
        out[v.name] = q[v.name]
    return out


def _messages_to(graph, name, means):
    return {
        f.name: np.asarray(f.message(name, means), dtype=float)
        for f in graph.factors
        if name in f.variables
    }


def messages_to(graph, name, q):
    """The messages every factor touching variable ``name`` sends it -- eq. :eq:`ep-vmp`.

    Parameters
    ----------
    graph : FactorGraph
    name : str
    q : mapping
        The current ``q`` of every variable.

    Returns
    -------
    dict
        Factor name -> natural parameter; their sum is ``q_name``'s update.
    """
    graph = _check_graph(graph)
    q = _check_q(graph, q, "q")
    if name not in q:
        raise ValueError(f"name must be a variable of the graph, got {name!r}")
    means = {k: dist.mean_T() for k, dist in q.items()}
    return _messages_to(graph, name, means)


def _elbo(graph, q):
    means = {k: dist.mean_T() for k, dist in q.items()}
    value = sum(float(f.expected_log(means)) for f in graph.factors)
    return value + sum(float(np.sum(dist.entropy())) for dist in q.values())


def elbo(graph, q):
    """``sum_f E_q[log f] + sum_j H[q_j]`` -- eq. :eq:`ep-vmp-elbo`."""
    graph = _check_graph(graph)
    return _elbo(graph, _check_q(graph, q, "q"))


def vmp(graph, init, max_iter=1000, tol=1e-10):
    """Variational message passing -- eq. :eq:`ep-vmp`.

    Each sweep visits the variables in ``graph.variables`` order and sets
    ``eta_j = sum_f m_{f -> j}`` from the current expected statistics of the others, then
    records the ELBO, which never decreases (each update is chapter 3's optimal factor).

    Parameters
    ----------
    graph : FactorGraph
    init : mapping
        An initial distribution for every variable (one updated before it is read may hold any
        valid value).
    max_iter : int
    tol : float or None
        Stop when a sweep raises the ELBO by at most ``tol * |ELBO|``; ``None`` runs
        ``max_iter`` sweeps.

    Returns
    -------
    VmpResult
    """
    graph = _check_graph(graph)
    q = _check_q(graph, init, "init")
    max_iter = check_int(max_iter, "max_iter", 1)
    tol = None if tol is None else check_nonnegative(tol, "tol")
    means = {k: dist.mean_T() for k, dist in q.items()}
    trace, converged = [], False
    for _ in range(max_iter):
        for v in graph.variables:
            incoming = _messages_to(graph, v.name, means)
            q[v.name] = v.family(sum(incoming.values()))
            means[v.name] = q[v.name].mean_T()
        trace.append(_elbo(graph, q))
        if (
            tol is not None
            and len(trace) > 1
            and trace[-1] - trace[-2] <= tol * abs(trace[-1])
        ):
            converged = True
            break
    elbo_trace = np.asarray(trace)
    elbo_trace.setflags(write=False)
    return VmpResult(MappingProxyType(q), elbo_trace, len(trace), converged)


def normal_gamma_graph(x, mu0, lam0, a0, b0):
    r"""Chapter 5's model as a factor graph -- eq. :eq:`ep-vmp-ng`.

    Variables ``"mu"`` (:class:`~vitutor.expfam.Gaussian`, ``T = (mu, mu^2)``) and ``"tau"``
    (:class:`~vitutor.expfam.Gamma`, ``T = (log tau, tau)``), visited in that order; factors
    ``p(tau) = Gam(a0, b0)``, ``p(mu | tau) = N(mu0, 1 / (lam0 tau))`` and the likelihood
    ``prod_i N(x_i | mu, 1 / tau)`` (the ``N`` factors of the data, whose messages add up, sent
    as one).  The prior must be proper (``lam0, a0, b0 > 0``): the ELBO includes every constant.
    """
    x = check_data(x, "x")
    mu0 = check_real(mu0, "mu0")
    lam0 = check_positive(lam0, "lam0")
    a0 = check_positive(a0, "a0")
    b0 = check_positive(b0, "b0")
    n, sx, sxx = x.size, float(x.sum()), float(x @ x)

    def prior_tau_message(to, means):
        return np.array([a0 - 1.0, -b0])

    def prior_tau_log(means):
        E_log_tau, E_tau = means["tau"]
        return (
            a0 * np.log(b0) - gammaln(a0) + (a0 - 1.0) * E_log_tau - b0 * E_tau
        )

    def prior_mu_message(to, means):
        if to == "mu":
            # E[tau] lam0 (mu0 mu - mu^2 / 2)
            return means["tau"][1] * lam0 * np.array([mu0, -0.5])
        E_mu, E_mu2 = means["mu"]
        # (log tau) / 2 - tau lam0 E[(mu - mu0)^2] / 2
        return np.array([0.5, -0.5 * lam0 * (E_mu2 - 2 * mu0 * E_mu + mu0**2)])

    def prior_mu_log(means):
        E_log_tau, E_tau = means["tau"]
        E_mu, E_mu2 = means["mu"]
        e_sq = E_mu2 - 2 * mu0 * E_mu + mu0**2
        return 0.5 * (
            np.log(lam0) + E_log_tau - _LOG_2PI - lam0 * E_tau * e_sq
        )

    def lik_message(to, means):
        if to == "mu":
            # sum_i E[tau] (x_i mu - mu^2 / 2)
            return means["tau"][1] * np.array([sx, -0.5 * n])
        E_mu, E_mu2 = means["mu"]
        # sum_i [(log tau) / 2 - tau E[(x_i - mu)^2] / 2]
        return np.array([0.5 * n, -0.5 * (sxx - 2 * sx * E_mu + n * E_mu2)])

    def lik_log(means):
        E_log_tau, E_tau = means["tau"]
        E_mu, E_mu2 = means["mu"]
        e_sq = sxx - 2 * sx * E_mu + n * E_mu2
        return 0.5 * (n * (E_log_tau - _LOG_2PI) - E_tau * e_sq)

    return FactorGraph(
        variables=(Variable("mu", Gaussian), Variable("tau", Gamma)),
        factors=(
            FactorNode("p(tau)", ("tau",), prior_tau_message, prior_tau_log),
            FactorNode(
                "p(mu|tau)", ("mu", "tau"), prior_mu_message, prior_mu_log
            ),
            FactorNode("p(x|mu,tau)", ("mu", "tau"), lik_message, lik_log),
        ),
    )


def mixture_graph(x, K, prior_var):
    r"""Chapter 4's mixture as a factor graph -- eq. :eq:`ep-vmp-gmm`.

    Variables ``"mu"`` (``K`` :class:`~vitutor.expfam.Gaussian`) and ``"c"`` (``n``
    :class:`~vitutor.expfam.Categorical`), visited in that order; factors ``p(mu_k) =
    N(0, prior_var)``, ``p(c_i) = 1/K`` and ``p(x_i | c_i, mu) = prod_k N(x_i | mu_k,
    1)^{c_ik}``, each kind sent as one batch.
    """
    x = check_data(x, "x")
    K = check_int(K, "K", 1)
    prior_var = check_positive(prior_var, "prior_var")
    n = x.size

    def prior_mu_message(to, means):
        return np.tile([0.0, -0.5 / prior_var], (K, 1))

    def prior_mu_log(means):
        E_mu2 = means["mu"][:, 1]
        return float(
            np.sum(
                -0.5 * (_LOG_2PI + np.log(prior_var)) - 0.5 * E_mu2 / prior_var
            )
        )

    def prior_c_message(to, means):
        return np.full((n, K), -np.log(K))

    def prior_c_log(means):
        return -n * np.log(K)

    def lik_message(to, means):
        if to == "mu":
            phi = means["c"]
            # sum_i phi_ik (x_i mu_k - mu_k^2 / 2)
            return np.stack([x @ phi, -0.5 * phi.sum(axis=0)], axis=-1)
        E_mu, E_mu2 = means["mu"][:, 0], means["mu"][:, 1]
        # E[log N(x_i | mu_k, 1)] for each k
        return (
            np.outer(x, E_mu) - 0.5 * E_mu2 - 0.5 * (x**2 + _LOG_2PI)[:, None]
        )

    def lik_log(means):
        phi = means["c"]
        return float(np.sum(phi * lik_message("c", means)))

    return FactorGraph(
        variables=(Variable("mu", Gaussian), Variable("c", Categorical)),
        factors=(
            FactorNode("p(mu)", ("mu",), prior_mu_message, prior_mu_log),
            FactorNode("p(c)", ("c",), prior_c_message, prior_c_log),
            FactorNode("p(x|c,mu)", ("mu", "c"), lik_message, lik_log),
        ),
    )
