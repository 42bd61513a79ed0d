r"""Exponential families in natural parameters -- chapter 6.

A density in the exponential family, eq. :eq:`ef-form`::

    p(z | eta) = h(z) exp(eta . T(z) - A(eta))

is fixed by its natural parameter ``eta``, its sufficient statistics ``T`` and its log-partition
``A``.  Each family below is a small frozen dataclass holding ``eta`` with the statistics along
the last axis and any number of leading (batch) axes, so ``Gaussian(eta)`` with ``eta`` of shape
``(K, 2)`` is ``K`` independent Gaussians.  Every family exposes

* ``T(z)`` (a static method), ``log_base_measure(z)`` (``log h``), ``logpdf(z)``;
* ``log_partition()`` ``= A(eta)`` and ``mean_T()`` ``= E[T(z)] = grad A(eta)`` (eq. :eq:`ef-mean`);
* ``entropy()`` ``= A - eta . E[T] - E[log h]`` (eq. :eq:`ef-entropy`) and ``kl(other)``, the
  Bregman divergence of ``A`` (eq. :eq:`ef-kl`);
* conversions from and to the usual parameters (``from_mean_var``, ``from_shape_rate``, ...) and
  ``sample(size, seed)``.

Log-partitions and means are built on ``scipy.special`` (``gammaln``, ``digamma``, ``betaln``,
``logsumexp``, ``softmax``); sampling and reference densities come from ``scipy.stats``.  The
Normal--Gamma family has no ``scipy.stats`` counterpart; it is sampled as ``tau ~ Gamma``,
``mu | tau ~ Normal`` with those.

Gamma distributions have shape ``a`` and RATE ``b`` (``scipy.stats.gamma(a, scale=1/b)``).
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
from scipy import stats
from scipy.special import betaln, digamma, gammaln, logsumexp, softmax

from ._validate import (
    MAX_ELEMENTS,
    as_float_array,
    check_broadcast,
    check_elements,
    check_int,
    check_seed,
)

__all__ = [
    "ExponentialFamily",
    "Gaussian",
    "Gamma",
    "Beta",
    "Dirichlet",
    "Categorical",
    "NormalGamma",
]

_LOG_2PI = float(np.log(2.0 * np.pi))


def _positive_array(value, name):
    arr = as_float_array(value, name)
    if not np.all(np.isfinite(arr)) or np.any(arr <= 0):
        raise ValueError(f"{name} must be finite and > 0")
    return arr


def _finite_array(value, name):
    arr = as_float_array(value, name)
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} must not contain NaN or inf")
    return arr


def _broadcast(**arrays):
    """The named parameter arrays broadcast together (a mismatch names each argument)."""
    check_broadcast({k: v.shape for k, v in arrays.items()})
    return np.broadcast_arrays(*arrays.values())


@dataclass(frozen=True)
class ExponentialFamily:
    """Base class: natural parameter ``eta`` of shape ``batch_shape + (d,)``.

    Subclasses define ``T``, ``log_partition``, ``mean_T``, the usual-parameter conversions,
    the domain check and sampling; entropy and KL divergence follow from ``A`` and ``grad A``
    for every family alike -- eqs. :eq:`ef-entropy` and :eq:`ef-kl`, chapter 6.
    """

    eta: np.ndarray

    #: Length of T(z); ``None`` for families whose length is the number of categories.
    dim: ClassVar[int | None] = None
    #: Minimum length of T(z) when ``dim`` is None (one category: a point mass).
    min_dim: ClassVar[int] = 1
    #: Axes of one point ``z``: 0 for a number, 1 for a vector along the last axis.
    event_ndim: ClassVar[int] = 0

    def __post_init__(self):
        eta = type(self).check_eta(self.eta).copy()
        eta.setflags(write=False)
        object.__setattr__(self, "eta", eta)

    @classmethod
    def check_eta(cls, eta, name="eta"):
        """``eta`` checked as a natural parameter of this family, as float64.

        ``name`` is the argument as the caller wrote it (``alpha`` for a prior, ``init_lam``
        for a start), so the error names what the user passed.
        """
        if not isinstance(name, str):
            raise TypeError(f"name must be a str, got {type(name).__name__}")
        eta = _finite_array(eta, name)
        if eta.ndim < 1:
            raise ValueError(
                f"{name} must have a last axis of sufficient statistics, got shape {eta.shape}"
            )
        d = eta.shape[-1]
        if cls.dim is not None and d != cls.dim:
            raise ValueError(
                f"{name} of a {cls.__name__} must have last axis {cls.dim}, got {d}"
            )
        if cls.dim is None and d < cls.min_dim:
            raise ValueError(
                f"{name} of a {cls.__name__} must have last axis >= {cls.min_dim}, got {d}"
            )
        cls._check_domain(eta, name)
        return eta

    @classmethod
    def _from_natural(cls, eta, names):
        """The distribution with natural parameter ``eta`` computed from the user's ``names``."""
        if not np.all(np.isfinite(eta)):
            raise ValueError(
                f"{names} overflow: the natural parameter they give is not finite"
            )
        return cls(eta)

    @classmethod
    def _check_domain(
        cls, eta, name
    ):  # pragma: no cover - every subclass overrides it
        raise NotImplementedError

    @property
    def batch_shape(self):
        """Shape of the batch of independent distributions, ``eta.shape[:-1]``."""
        return self.eta.shape[:-1]

    def _expected_log_base_measure(self):
        return np.zeros(self.batch_shape)

    def _check_z(self, z):
        """``z`` as a finite float array in the support (each family narrows the support)."""
        return _finite_array(z, "z")

    def _check_points(self, z):
        """``z`` in the support, its points broadcasting against the batch."""
        z = self._check_z(z)
        key = "z" if self.event_ndim == 0 else "z's batch axes (z.shape[:-1])"
        check_broadcast(
            {
                key: np.shape(z)[: np.ndim(z) - self.event_ndim],
                "the batch of the distribution": self.batch_shape,
            }
        )
        return z

    def logpdf(self, z):
        """``log h(z) + eta . T(z) - A(eta)`` -- eq. :eq:`ef-form`; ``z`` broadcasts against the
        batch.

        ``z`` must lie in the support of the family (finite; ``> 0`` for a Gamma, in ``(0, 1)``
        for a Beta, on the open simplex for a Dirichlet, ...); a point outside it raises a
        ValueError naming ``z`` rather than returning NaN.
        """
        z = self._check_points(z)
        Tz = self.T(z)
        return (
            self.log_base_measure(z)
            + np.sum(self.eta * Tz, axis=-1)
            - self.log_partition()
        )

    def entropy(self):
        """Differential (or Shannon) entropy ``A - eta . grad A - E[log h]`` -- eq.
        :eq:`ef-entropy`.

        Returns
        -------
        numpy.ndarray, shape ``batch_shape``
        """
        return (
            self.log_partition()
            - np.sum(self.eta * self.mean_T(), axis=-1)
            - self._expected_log_base_measure()
        )

    def kl(self, other):
        """``KL(self || other) = A(eta_o) - A(eta_s) - (eta_o - eta_s) . grad A(eta_s)`` -- eq.
        :eq:`ef-kl`.

        Parameters
        ----------
        other : ExponentialFamily
            Same family; batch shapes broadcast.

        Returns
        -------
        numpy.ndarray
            ``>= 0``, over the broadcast batch shape.
        """
        if type(other) is not type(self):
            raise TypeError(
                f"other must be a {type(self).__name__}, got {type(other).__name__}"
            )
        if other.eta.shape[-1] != self.eta.shape[-1]:
            raise ValueError(
                f"other has {other.eta.shape[-1]} statistics, self has {self.eta.shape[-1]}"
            )
        check_broadcast(
            {
                "the batch of other": other.batch_shape,
                "the batch of self": self.batch_shape,
            }
        )
        gap = other.log_partition() - self.log_partition()
        return gap - np.sum((other.eta - self.eta) * self.mean_T(), axis=-1)


def _check_size(size, dist=None, event=1, max_elements=MAX_ELEMENTS):
    """``size`` as a tuple of non-negative ints; with ``dist``, the draws it asks for
    (``size + batch_shape``, ``event`` numbers each) must stay within ``max_elements``."""
    if size is None:
        size = ()
    elif isinstance(size, numbers.Integral):
        size = (check_int(size, "size", 0),)
    elif isinstance(size, (tuple, list)):
        size = tuple(check_int(s, "size", 0) for s in size)
    else:
        raise TypeError(
            f"size must be an int or a tuple of ints, got {type(size).__name__} {size!r}"
        )
    if dist is not None:
        total = int(np.prod(size + dist.batch_shape, dtype=float)) * event
        check_elements(
            total,
            f"size = {size} draws of a batch of shape {dist.batch_shape}",
            max_elements,
        )
    return size


@dataclass(frozen=True)
class Gaussian(ExponentialFamily):
    r"""Univariate Gaussian ``N(m, s2)``: ``T(z) = (z, z^2)``, ``eta = (m / s2, -1 / (2 s2))``.

    ``A(eta) = -eta_1^2 / (4 eta_2) - log(-2 eta_2) / 2`` and ``h(z) = (2 pi)^(-1/2)`` --
    eq. :eq:`ef-gauss`, chapter 6.  The domain is ``eta_2 < 0``.
    """

    dim: ClassVar[int] = 2

    @classmethod
    def _check_domain(cls, eta, name):
        if np.any(eta[..., 1] >= 0):
            raise ValueError(
                f"{name}[..., 1] = -1/(2 s2) of a Gaussian must be < 0 (a positive variance)"
            )

    @classmethod
    def from_mean_var(cls, m, s2):
        """From the mean ``m`` and the variance ``s2 > 0`` (broadcasting)."""
        m = _finite_array(m, "m")
        s2 = _positive_array(s2, "s2")
        m, s2 = _broadcast(m=m, s2=s2)
        with np.errstate(over="ignore", invalid="ignore"):
            return cls._from_natural(
                np.stack([m / s2, -0.5 / s2], axis=-1), "m and s2"
            )

    @property
    def var(self):
        """Variance ``s2 = -1 / (2 eta_2)``."""
        return -0.5 / self.eta[..., 1]

    @property
    def mean(self):
        """Mean ``m = eta_1 s2``."""
        return self.eta[..., 0] * self.var

    @staticmethod
    def T(z):
        """``(z, z^2)`` along a new last axis."""
        z = as_float_array(z, "z")
        return np.stack([z, z**2], axis=-1)

    def log_base_measure(self, z):
        """``log h(z) = -log(2 pi) / 2``."""
        return np.full(np.shape(self._check_z(z)), -0.5 * _LOG_2PI)

    def _expected_log_base_measure(self):
        return np.full(self.batch_shape, -0.5 * _LOG_2PI)

    def log_partition(self):
        """``A = -eta_1^2 / (4 eta_2) - log(-2 eta_2) / 2 = m^2 / (2 s2) + log(s2) / 2``."""
        e1, e2 = self.eta[..., 0], self.eta[..., 1]
        return -(e1**2) / (4.0 * e2) - 0.5 * np.log(-2.0 * e2)

    def mean_T(self):
        """``grad A = (m, m^2 + s2)``."""
        m, s2 = self.mean, self.var
        return np.stack([m, m**2 + s2], axis=-1)

    def to_scipy(self):
        """The frozen ``scipy.stats.norm`` with the same mean and standard deviation."""
        return stats.norm(self.mean, np.sqrt(self.var))

    def sample(self, size=None, seed=None, max_elements=MAX_ELEMENTS):
        """Draws of shape ``size + batch_shape`` (at most ``max_elements`` numbers)."""
        size = _check_size(size, self, 1, max_elements)
        rng = check_seed(seed)
        return self.to_scipy().rvs(
            size=size + self.batch_shape, random_state=rng
        )


@dataclass(frozen=True)
class Gamma(ExponentialFamily):
    r"""Gamma with shape ``a`` and rate ``b``: ``T(z) = (log z, z)``, ``eta = (a - 1, -b)``.

    ``A(eta) = log Gamma(a) - a log b``, ``h = 1`` on ``z > 0`` -- eq. :eq:`ef-gamma`, chapter 6.
    The domain is ``eta_1 > -1``, ``eta_2 < 0``.
    """

    dim: ClassVar[int] = 2

    @classmethod
    def _check_domain(cls, eta, name):
        if np.any(eta[..., 0] <= -1):
            raise ValueError(
                f"{name}[..., 0] = a - 1 of a Gamma must be > -1 (shape a > 0)"
            )
        if np.any(eta[..., 1] >= 0):
            raise ValueError(
                f"{name}[..., 1] = -b of a Gamma must be < 0 (rate b > 0)"
            )

    @classmethod
    def from_shape_rate(cls, a, b):
        """From the shape ``a > 0`` and the rate ``b > 0``."""
        a = _positive_array(a, "a")
        b = _positive_array(b, "b")
        a, b = _broadcast(a=a, b=b)
        with np.errstate(over="ignore", invalid="ignore"):
            return cls._from_natural(
                np.stack([a - 1.0, -b], axis=-1), "a and b"
            )

    @property
    def shape(self):
        """Shape ``a = eta_1 + 1``."""
        return self.eta[..., 0] + 1.0

    @property
    def rate(self):
        """Rate ``b = -eta_2``."""
        return -self.eta[..., 1]

    @staticmethod
    def T(z):
        """``(log z, z)``."""
        z = as_float_array(z, "z")
        return np.stack([np.log(z), z], axis=-1)

    def _check_z(self, z):
        z = _finite_array(z, "z")
        if np.any(z <= 0):
            raise ValueError("z must be > 0 (the support of a Gamma)")
        return z

    def log_base_measure(self, z):
        """``log h(z) = 0``."""
        return np.zeros(np.shape(self._check_z(z)))

    def log_partition(self):
        """``A = log Gamma(a) - a log b``."""
        a, b = self.shape, self.rate
        return gammaln(a) - a * np.log(b)

    def mean_T(self):
        """``grad A = (psi(a) - log b, a / b)``."""
        a, b = self.shape, self.rate
        return np.stack([digamma(a) - np.log(b), a / b], axis=-1)

    def to_scipy(self):
        """``scipy.stats.gamma(a, scale=1/b)``."""
        return stats.gamma(self.shape, scale=1.0 / self.rate)

    def sample(self, size=None, seed=None, max_elements=MAX_ELEMENTS):
        """Draws of shape ``size + batch_shape`` (at most ``max_elements`` numbers)."""
        size = _check_size(size, self, 1, max_elements)
        rng = check_seed(seed)
        return self.to_scipy().rvs(
            size=size + self.batch_shape, random_state=rng
        )


@dataclass(frozen=True)
class Beta(ExponentialFamily):
    r"""Beta ``B(a, b)``: ``T(z) = (log z, log(1 - z))``, ``eta = (a - 1, b - 1)``.

    ``A(eta) = log B(a, b)``, ``h = 1`` on ``(0, 1)`` -- eq. :eq:`ef-beta`, chapter 6.
    The domain is ``eta > -1``.
    """

    dim: ClassVar[int] = 2

    @classmethod
    def _check_domain(cls, eta, name):
        if np.any(eta <= -1):
            raise ValueError(
                f"{name} of a Beta must be > -1 (concentrations a, b > 0)"
            )

    @classmethod
    def from_ab(cls, a, b):
        """From the concentrations ``a, b > 0``."""
        a = _positive_array(a, "a")
        b = _positive_array(b, "b")
        a, b = _broadcast(a=a, b=b)
        with np.errstate(over="ignore", invalid="ignore"):
            return cls._from_natural(
                np.stack([a - 1.0, b - 1.0], axis=-1), "a and b"
            )

    @property
    def a(self):
        """First concentration, ``eta_1 + 1``."""
        return self.eta[..., 0] + 1.0

    @property
    def b(self):
        """Second concentration, ``eta_2 + 1``."""
        return self.eta[..., 1] + 1.0

    @staticmethod
    def T(z):
        """``(log z, log(1 - z))``."""
        z = as_float_array(z, "z")
        return np.stack([np.log(z), np.log1p(-z)], axis=-1)

    def _check_z(self, z):
        z = _finite_array(z, "z")
        if np.any(z <= 0) or np.any(z >= 1):
            raise ValueError("z must lie in (0, 1) (the support of a Beta)")
        return z

    def log_base_measure(self, z):
        """``log h(z) = 0``."""
        return np.zeros(np.shape(self._check_z(z)))

    def log_partition(self):
        """``A = log B(a, b)``."""
        return betaln(self.a, self.b)

    def mean_T(self):
        """``grad A = (psi(a) - psi(a + b), psi(b) - psi(a + b))``."""
        a, b = self.a, self.b
        return np.stack(
            [digamma(a) - digamma(a + b), digamma(b) - digamma(a + b)], axis=-1
        )

    def to_scipy(self):
        """``scipy.stats.beta(a, b)``."""
        return stats.beta(self.a, self.b)

    def sample(self, size=None, seed=None, max_elements=MAX_ELEMENTS):
        """Draws of shape ``size + batch_shape`` (at most ``max_elements`` numbers)."""
        size = _check_size(size, self, 1, max_elements)
        rng = check_seed(seed)
        return self.to_scipy().rvs(
            size=size + self.batch_shape, random_state=rng
        )


@dataclass(frozen=True)
class Dirichlet(ExponentialFamily):
    r"""Dirichlet ``Dir(alpha)`` on the simplex: ``T(z) = log z``, ``eta = alpha - 1``.

    ``A(eta) = sum_k log Gamma(alpha_k) - log Gamma(sum_k alpha_k)``, ``h = 1`` -- eq.
    :eq:`ef-dirichlet`, chapter 6.  The domain is ``eta > -1``; the last axis has ``K >= 1``
    entries (``K = 1`` is the point mass at ``z = (1,)``: ``A = 0``, ``E[log z] = 0``, entropy 0,
    which LDA with one topic or a one-word vocabulary meets).
    """

    event_ndim: ClassVar[int] = 1

    @classmethod
    def _check_domain(cls, eta, name):
        if np.any(eta <= -1):
            raise ValueError(
                f"{name} of a Dirichlet must be > -1 (concentrations alpha > 0)"
            )

    @classmethod
    def from_concentration(cls, alpha):
        """From the concentrations ``alpha > 0`` (last axis ``K >= 1``)."""
        alpha = _positive_array(alpha, "alpha")
        if alpha.ndim < 1:
            raise ValueError(
                f"alpha must have a last axis of K concentrations, got shape {alpha.shape}"
            )
        return cls._from_natural(alpha - 1.0, "alpha")

    @property
    def concentration(self):
        """``alpha = eta + 1``."""
        return self.eta + 1.0

    @staticmethod
    def T(z):
        """``log z`` (``z`` on the simplex, last axis)."""
        return np.log(as_float_array(z, "z"))

    def _check_z(self, z):
        z = _finite_array(z, "z")
        K = self.eta.shape[-1]
        if z.ndim < 1 or z.shape[-1] != K:
            raise ValueError(
                f"z must have a last axis of {K} proportions, got shape {z.shape}"
            )
        if np.any(z <= 0) or np.any(np.abs(z.sum(axis=-1) - 1.0) > 1e-8):
            raise ValueError(
                "z must lie on the open simplex (entries > 0 summing to one)"
            )
        return z

    def log_base_measure(self, z):
        """``log h(z) = 0``."""
        return np.zeros(np.shape(self._check_z(z))[:-1])

    def log_partition(self):
        """``A = sum_k log Gamma(alpha_k) - log Gamma(alpha_0)``, ``alpha_0 = sum_k alpha_k``."""
        alpha = self.concentration
        return np.sum(gammaln(alpha), axis=-1) - gammaln(
            np.sum(alpha, axis=-1)
        )

    def mean_T(self):
        """``grad A = E[log z_k] = psi(alpha_k) - psi(alpha_0)`` (chapter 7 uses it for LDA)."""
        alpha = self.concentration
        return digamma(alpha) - digamma(np.sum(alpha, axis=-1, keepdims=True))

    def sample(self, size=None, seed=None, max_elements=MAX_ELEMENTS):
        """Draws of shape ``size + batch_shape + (K,)``: independent Gamma draws normalised.

        ``g_k ~ Gamma(alpha_k, 1)`` and ``z = g / sum_k g_k`` (all draws at once, one generator).
        Each ``g_k`` is drawn as ``Gamma(alpha_k + 1) U^(1 / alpha_k)`` with ``U ~ Uniform(0, 1]``
        and normalised in log space, so concentrations far below one, whose plain Gamma draws
        underflow to zero, still give points on the simplex.
        """
        size = _check_size(size, self, self.eta.shape[-1], max_elements)
        rng = check_seed(seed)
        alpha = self.concentration
        shape = size + alpha.shape
        # log g_k = log Gamma(alpha_k + 1) + log(U) / alpha_k
        log_g = (
            np.log(rng.gamma(alpha + 1.0, size=shape))
            + np.log(1.0 - rng.random(shape)) / alpha
        )
        return softmax(log_g, axis=-1)


@dataclass(frozen=True)
class Categorical(ExponentialFamily):
    r"""Categorical on ``{0..K-1}`` in the overcomplete form: ``T(z) = onehot(z)``, ``eta = log p +
    c``.

    ``A(eta) = log sum_k exp(eta_k)``, ``grad A = softmax(eta)`` -- eq. :eq:`ef-categorical`,
    chapter 6.  Any finite ``eta`` is allowed; adding a constant to a row leaves the distribution
    unchanged (the statistics sum to one, so ``grad^2 A`` is singular along that direction).
    """

    @classmethod
    def _check_domain(cls, eta, name):
        pass

    @classmethod
    def from_probs(cls, p):
        """From probabilities ``p > 0`` along the last axis (rows summing to one)."""
        p = _positive_array(p, "p")
        if p.ndim < 1:
            raise ValueError(
                f"p must have a last axis of K probabilities, got shape {p.shape}"
            )
        if not np.allclose(p.sum(axis=-1), 1.0, rtol=0, atol=1e-8):
            raise ValueError("p rows must sum to one")
        return cls(np.log(p))

    @property
    def probs(self):
        """``p = softmax(eta)``."""
        return softmax(self.eta, axis=-1)

    def T(self, z):
        """One-hot encoding of the integer ``z`` in ``0..K-1`` (the number of categories comes from
        ``eta``).
        """
        z = self._check_z(z)
        return (z[..., None] == np.arange(self.eta.shape[-1])).astype(float)

    def _check_z(self, z):
        try:
            z = np.asarray(z)
        except ValueError:
            z = np.asarray(z, dtype=object)
        if z.dtype == bool or not np.issubdtype(z.dtype, np.integer):
            raise TypeError(f"z must be integers, got dtype {z.dtype}")
        K = self.eta.shape[-1]
        if np.any(z < 0) or np.any(z >= K):
            raise ValueError(f"z must take values in 0..{K - 1}")
        return z

    def log_base_measure(self, z):
        """``log h(z) = 0``."""
        return np.zeros(np.shape(self._check_z(z)))

    def log_partition(self):
        """``A = logsumexp(eta)``."""
        return logsumexp(self.eta, axis=-1)

    def mean_T(self):
        """``grad A = softmax(eta) = p``."""
        return self.probs

    def sample(self, size=None, seed=None, max_elements=MAX_ELEMENTS):
        """Draws of shape ``size + batch_shape``, by inverse-CDF sampling of ``p``.

        The comparison with the CDF holds ``K`` numbers per draw, so ``size + batch_shape``
        times ``K`` is what ``max_elements`` caps.
        """
        size = _check_size(size, self, self.eta.shape[-1], max_elements)
        rng = check_seed(seed)
        cdf = np.cumsum(self.probs, axis=-1)
        u = rng.random(size + self.batch_shape)[..., None] * cdf[..., -1:]
        return np.minimum((cdf <= u).sum(axis=-1), self.eta.shape[-1] - 1)


@dataclass(frozen=True)
class NormalGamma(ExponentialFamily):
    r"""Normal--Gamma ``NG(mu, tau | m, kappa, a, b)``: ``tau ~ Gamma(a, b)``, ``mu | tau ~ N(m,
    1/(kappa tau))``.

    ``z = (mu, tau)`` along the last axis, ``T(z) = (tau mu, tau mu^2, tau, log tau)``,
    ``eta = (kappa m, -kappa / 2, -(b + kappa m^2 / 2), a - 1/2)`` and
    ``A(eta) = log Gamma(a) - a log b + log(2 pi / kappa) / 2``, ``h = 1`` -- eq. :eq:`ef-ng`,
    chapter 6 (the exact posterior of chapter 5).  The domain is ``kappa, a, b > 0``.
    """

    dim: ClassVar[int] = 4
    event_ndim: ClassVar[int] = 1

    @staticmethod
    def _params_of(eta):
        kappa = -2.0 * eta[..., 1]
        m = eta[..., 0] / kappa
        a = eta[..., 3] + 0.5
        b = -eta[..., 2] - 0.5 * kappa * m**2
        return m, kappa, a, b

    @classmethod
    def _check_domain(cls, eta, name):
        if np.any(eta[..., 1] >= 0):
            raise ValueError(
                f"{name}[..., 1] = -kappa/2 of a Normal-Gamma must be < 0 (kappa > 0)"
            )
        _, _, a, b = cls._params_of(eta)
        if np.any(a <= 0):
            raise ValueError(
                f"{name}[..., 3] = a - 1/2 of a Normal-Gamma must be > -1/2 (shape a > 0)"
            )
        if np.any(b <= 0):
            raise ValueError(
                f"{name}[..., 2] of a Normal-Gamma must be < -kappa m^2 / 2 (rate b > 0)"
            )

    @classmethod
    def from_params(cls, m, kappa, a, b):
        """From ``m``, ``kappa > 0``, shape ``a > 0`` and rate ``b > 0``."""
        m = _finite_array(m, "m")
        kappa = _positive_array(kappa, "kappa")
        a = _positive_array(a, "a")
        b = _positive_array(b, "b")
        m, kappa, a, b = _broadcast(m=m, kappa=kappa, a=a, b=b)
        with np.errstate(over="ignore", invalid="ignore"):
            return cls._from_natural(
                np.stack(
                    [
                        kappa * m,
                        -0.5 * kappa,
                        -(b + 0.5 * kappa * m**2),
                        a - 0.5,
                    ],
                    axis=-1,
                ),
                "m, kappa, a and b",
            )

    @property
    def params(self):
        """``(m, kappa, a, b)``."""
        return self._params_of(self.eta)

    @staticmethod
    def T(z):
        """``(tau mu, tau mu^2, tau, log tau)`` for ``z = (mu, tau)`` along the last axis."""
        z = as_float_array(z, "z")
        mu, tau = z[..., 0], z[..., 1]
        return np.stack([tau * mu, tau * mu**2, tau, np.log(tau)], axis=-1)

    def _check_z(self, z):
        z = _finite_array(z, "z")
        if z.ndim < 1 or z.shape[-1] != 2:
            raise ValueError(
                f"z must have a last axis (mu, tau) of length 2, got shape {z.shape}"
            )
        if np.any(z[..., 1] <= 0):
            raise ValueError("z[..., 1] = tau must be > 0")
        return z

    def log_base_measure(self, z):
        """``log h(z) = 0``."""
        return np.zeros(np.shape(self._check_z(z))[:-1])

    def log_partition(self):
        """``A = log Gamma(a) - a log b + log(2 pi / kappa) / 2``."""
        _, kappa, a, b = self.params
        return gammaln(a) - a * np.log(b) + 0.5 * (_LOG_2PI - np.log(kappa))

    def mean_T(self):
        """``grad A = (a m / b, a m^2 / b + 1 / kappa, a / b, psi(a) - log b)``."""
        m, kappa, a, b = self.params
        E_tau = a / b
        return np.stack(
            [
                E_tau * m,
                E_tau * m**2 + 1.0 / kappa,
                E_tau,
                digamma(a) - np.log(b),
            ],
            axis=-1,
        )

    def sample(self, size=None, seed=None, max_elements=MAX_ELEMENTS):
        """Draws ``(mu, tau)`` of shape ``size + batch_shape + (2,)``."""
        shape = _check_size(size, self, 2, max_elements) + self.batch_shape
        rng = check_seed(seed)
        m, kappa, a, b = self.params
        tau = stats.gamma(a, scale=1.0 / b).rvs(size=shape, random_state=rng)
        mu = stats.norm(m, 1.0 / np.sqrt(kappa * tau)).rvs(
            size=shape, random_state=rng
        )
        return np.stack([mu, tau], axis=-1)
