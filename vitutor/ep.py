r"""Expectation propagation, power EP and alpha-divergences -- chapter 10.

The models are a Gaussian prior times **sites**: ``w ~ N(0, prior_var I)`` in ``R^M`` and ``N``
factors ``f_n(a_n)`` that each see ``w`` through one projection ``a_n = x_n . w`` (the rows of a
design matrix ``X``), eq. :eq:`ep-model`::

    p(w, data) = N(w | 0, prior_var I) prod_n f_n(x_n . w).

Three kinds of site are provided: Minka's clutter problem (:class:`ClutterSites`, with ``X`` a
column of ones, so that ``a_n = theta``), and the probit (:class:`ProbitSites`) and logistic
(:class:`LogisticSites`) likelihoods of binary regression.  For such a model the module computes

* the normaliser, mean and variance of one site times a Gaussian cavity (:func:`tilted_moments`),
  in closed form where one exists (clutter, probit; eqs. :eq:`ep-clutter-tilted`,
  :eq:`ep-probit-tilted`) and by quadrature otherwise;
* expectation propagation with Gaussian sites, with damping and power EP (:func:`ep`, algorithm
  :prf:ref:`ep-algorithm`), the cavities (:func:`cavities`) and EP's approximation to
  ``log p(data)`` as a function of the sites (:func:`ep_log_evidence`, eq. :eq:`ep-evidence`),
  whose stationary points are EP's fixed points (theorem :prf:ref:`ep-energy-theorem`);
* for comparison, the Gaussian that maximises the ELBO (:func:`gaussian_vi`), the Laplace
  approximation (:func:`laplace`) and, for ``M <= 2``, the exact posterior moments and evidence
  by a sum over a grid (:func:`grid_posterior`);
* the clutter problem's exact posterior by enumerating its ``2^N`` assignments
  (:func:`clutter_exact`);
* Minka's alpha-divergence between two densities on a grid, and the Gaussian that minimises it
  (:func:`alpha_divergence`, :func:`alpha_projection`).

Every Gaussian expectation of a site is one-dimensional; it is taken by the trapezoidal rule on
``n_grid`` points spanning 12 standard deviations either side of the mean, which converges
faster than any power of the spacing for these smooth integrands.  (A clutter site is narrower
than a broad cavity, and Gauss--Hermite nodes spread over the cavity would step over it.)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import optimize
from scipy.special import expit, log_ndtr, logsumexp

from ._validate import (
    MAX_ELEMENTS,
    check_binary_labels,
    check_covariance,
    check_data,
    check_design,
    check_elements,
    check_finite_array,
    check_int,
    check_nonnegative,
    check_positive,
    check_real,
    check_seed,
)

__all__ = [
    "N_GRID",
    "MAX_ASSIGNMENTS",
    "Sites",
    "ClutterSites",
    "ProbitSites",
    "LogisticSites",
    "tilted_moments",
    "gaussian_expectation",
    "EPResult",
    "ep",
    "cavities",
    "ep_log_evidence",
    "VIResult",
    "gaussian_elbo",
    "gaussian_vi",
    "LaplaceResult",
    "laplace",
    "GridPosterior",
    "grid_posterior",
    "clutter_simulate",
    "ClutterExact",
    "clutter_exact",
    "alpha_divergence",
    "AlphaFit",
    "alpha_projection",
]

_LOG_2PI = float(np.log(2.0 * np.pi))
# half-width, in standard deviations, of the grid of a one-dimensional Gaussian expectation
_HALF_WIDTH = 12.0
#: Default number of points of the trapezoidal rule for one-dimensional Gaussian expectations.
N_GRID = 801
#: Default cap on the assignments :func:`clutter_exact` enumerates (``N <= 20``).
MAX_ASSIGNMENTS = 2**20


# --------------------------------------------------------------------------------------------
# sites


@dataclass(frozen=True)
class Sites:
    """Base class: ``N`` one-dimensional factors ``f_n(a)``, one per row of the design matrix.

    A subclass keeps its per-site data in ``data`` (shape ``(N,)``) and defines ``log_f``,
    ``d_log_f`` and ``d2_log_f``, the log factor and its first two derivatives in ``a``; one
    with closed-form tilted moments sets ``closed_form = True`` and defines
    ``_tilted_closed(mu, var, idx)``.  Each method takes ``a`` of shape ``(len(idx),) + extra``
    and the site indices ``idx`` (default: all sites), and broadcasts the data over ``extra``.
    """

    data: np.ndarray

    closed_form = False

    @property
    def n(self):
        """Number of sites ``N``."""
        return self.data.shape[0]

    def _d(self, a, idx):
        d = self.data[idx]
        return d.reshape(d.shape + (1,) * (np.ndim(a) - d.ndim))

    def log_f(self, a, idx=slice(None)):  # pragma: no cover - abstract
        """``log f_n(a)``."""
        raise NotImplementedError

    def d_log_f(self, a, idx=slice(None)):  # pragma: no cover - abstract
        """``d log f_n(a) / da``."""
        raise NotImplementedError

    def d2_log_f(self, a, idx=slice(None)):  # pragma: no cover - abstract
        """``d^2 log f_n(a) / da^2``."""
        raise NotImplementedError


def _check_fraction(value, name):
    value = check_real(value, name)
    if not 0.0 < value < 1.0:
        raise ValueError(f"{name} must lie in (0, 1), got {value}")
    return value


@dataclass(frozen=True)
class ClutterSites(Sites):
    r"""Minka's clutter likelihood -- eq. :eq:`ep-clutter-model`, chapter 10.

    ``f_n(theta) = (1 - omega) N(x_n | theta, 1) + omega N(x_n | 0, clutter_var)``: each point
    is the unknown ``theta`` plus unit noise, except for a fraction ``omega`` of clutter drawn
    around zero with variance ``clutter_var``.  Constructed as ``ClutterSites(x, omega,
    clutter_var)``; use it with the design matrix ``X = np.ones((N, 1))``.
    """

    omega: float = 0.5
    clutter_var: float = 10.0

    closed_form = True

    def __post_init__(self):
        object.__setattr__(self, "data", check_data(self.data, "x"))
        object.__setattr__(self, "omega", _check_fraction(self.omega, "omega"))
        object.__setattr__(
            self,
            "clutter_var",
            check_positive(self.clutter_var, "clutter_var"),
        )

    def _log_clutter(self, x):
        # log(omega N(x | 0, clutter_var))
        return np.log(self.omega) - 0.5 * (
            _LOG_2PI + np.log(self.clutter_var) + x**2 / self.clutter_var
        )

    def _parts(self, a, idx):
        x = self._d(a, idx)
        signal = np.log1p(-self.omega) - 0.5 * _LOG_2PI - 0.5 * (x - a) ** 2
        return x, signal, self._log_clutter(x)

    def log_f(self, a, idx=slice(None)):
        """``log f_n(a)``, the log of the two-component mixture."""
        _, signal, clutter = self._parts(a, idx)
        return np.logaddexp(signal, clutter)

    def d_log_f(self, a, idx=slice(None)):
        """``r (x_n - a)``, with ``r`` the probability that ``x_n`` is signal given
        ``theta = a``."""
        x, signal, clutter = self._parts(a, idx)
        return expit(signal - clutter) * (x - a)

    def d2_log_f(self, a, idx=slice(None)):
        """``r (1 - r) (x_n - a)^2 - r``: positive where ``log f_n`` is convex."""
        x, signal, clutter = self._parts(a, idx)
        r = expit(signal - clutter)
        return r * (1.0 - r) * (x - a) ** 2 - r

    def _tilted_closed(self, mu, var, idx):
        # eq. (ep-clutter-tilted): a two-component mixture, the cavity updated by x_n as a signal
        # point (weight r) and the cavity itself (weight 1 - r)
        x = self.data[idx]
        log_signal = np.log1p(-self.omega) - 0.5 * (
            _LOG_2PI + np.log1p(var) + (x - mu) ** 2 / (1.0 + var)
        )
        log_z = np.logaddexp(log_signal, self._log_clutter(x))
        r = np.exp(log_signal - log_z)
        m1 = mu + var * (x - mu) / (1.0 + var)
        v1 = var / (1.0 + var)
        mean = r * m1 + (1.0 - r) * mu
        # the mixture's variance, without the cancellation of E[a^2] - E[a]^2
        v = r * v1 + (1.0 - r) * var + r * (1.0 - r) * (m1 - mu) ** 2
        return log_z, mean, v


def _check_labels(t):
    arr = np.asarray(t)
    if arr.ndim != 1:
        raise ValueError(
            f"t must be a 1-D array of labels, got shape {arr.shape}"
        )
    return 2.0 * check_binary_labels(arr, arr.shape[0], "t") - 1.0


def _mills(z):
    # phi(z) / Phi(z), in log space so that it stays finite for z << 0
    return np.exp(-0.5 * z**2 - 0.5 * _LOG_2PI - log_ndtr(z))


@dataclass(frozen=True)
class ProbitSites(Sites):
    r"""Probit likelihood ``f_n(a) = Phi(y_n a)`` with ``y_n = 2 t_n - 1`` -- eq.
    :eq:`ep-probit`, chapter 10.

    Constructed from labels ``t`` in ``{0, 1}``; ``data`` holds ``y = +-1``.  The tilted moments
    against a Gaussian cavity are in closed form (eq. :eq:`ep-probit-tilted`).
    """

    closed_form = True

    def __post_init__(self):
        object.__setattr__(self, "data", _check_labels(self.data))

    def log_f(self, a, idx=slice(None)):
        """``log Phi(y_n a)``, by ``scipy.special.log_ndtr``."""
        return log_ndtr(self._d(a, idx) * a)

    def d_log_f(self, a, idx=slice(None)):
        """``y_n phi(y_n a) / Phi(y_n a)``."""
        y = self._d(a, idx)
        return y * _mills(y * a)

    def d2_log_f(self, a, idx=slice(None)):
        """``-rho (y_n a + rho)`` with ``rho = phi(y_n a) / Phi(y_n a)``."""
        z = self._d(a, idx) * a
        rho = _mills(z)
        return -rho * (z + rho)

    def _tilted_closed(self, mu, var, idx):
        # eq. (ep-probit-tilted)
        y = self.data[idx]
        s = np.sqrt(1.0 + var)
        z = y * mu / s
        rho = _mills(z)
        mean = mu + y * var * rho / s
        v = var - var**2 * rho * (z + rho) / (1.0 + var)
        return log_ndtr(z), mean, v


@dataclass(frozen=True)
class LogisticSites(Sites):
    r"""Logistic likelihood ``f_n(a) = sigma(y_n a)`` with ``y_n = 2 t_n - 1`` -- eq.
    :eq:`bc-logreg-model`, chapter 8.

    Constructed from labels ``t`` in ``{0, 1}``.  Its tilted moments have no closed form;
    :func:`tilted_moments` integrates numerically.
    """

    def __post_init__(self):
        object.__setattr__(self, "data", _check_labels(self.data))

    def log_f(self, a, idx=slice(None)):
        """``log sigma(y_n a) = -log(1 + exp(-y_n a))``."""
        return -np.logaddexp(0.0, -self._d(a, idx) * a)

    def d_log_f(self, a, idx=slice(None)):
        """``y_n sigma(-y_n a)``."""
        y = self._d(a, idx)
        return y * expit(-y * a)

    def d2_log_f(self, a, idx=slice(None)):
        """``-sigma(a) sigma(-a)`` (the same for both labels)."""
        a = a + 0.0 * self._d(a, idx)
        return -expit(a) * expit(-a)


def _check_sites(sites, N=None):
    if not isinstance(sites, Sites):
        raise TypeError(
            f"sites must be a Sites instance, got {type(sites).__name__}"
        )
    if N is not None and sites.n != N:
        raise ValueError(
            f"sites must have one site per row of X ({N}), got {sites.n}"
        )
    return sites


def _check_power(power):
    power = check_positive(power, "power")
    if power > 1.0:
        raise ValueError(f"power must lie in (0, 1], got {power}")
    return power


def _check_n_grid(n_grid, N, max_elements=MAX_ELEMENTS):
    n_grid = check_int(n_grid, "n_grid", 11)
    check_elements(
        N * n_grid, f"n_grid = {n_grid} for {N} sites", max_elements
    )
    return n_grid


def _check_idx(idx, N):
    idx = np.asarray(idx)
    if idx.ndim == 0:
        idx = idx.reshape(1)
    if not np.issubdtype(idx.dtype, np.integer):
        raise TypeError(f"idx must hold integers, got dtype {idx.dtype}")
    if idx.ndim != 1 or np.any(idx < 0) or np.any(idx >= N):
        raise ValueError(
            f"idx must be a 1-D array of site indices in 0..{N - 1}"
        )
    return idx


def _check_cavity(mu, var, size):
    mu = check_finite_array(mu, "mu").reshape(-1)
    var = check_finite_array(var, "var").reshape(-1)
    if mu.size != size or var.size != size:
        raise ValueError(
            f"mu and var must have one entry per site ({size}), got "
            f"{mu.size} and {var.size}"
        )
    if np.any(var <= 0):
        raise ValueError("var must be > 0 (a proper Gaussian)")
    return mu, var


def _std_grid(n_grid):
    # nodes u and trapezoidal weights for E[g(mu + sd u)], u ~ N(0, 1)
    u = np.linspace(-_HALF_WIDTH, _HALF_WIDTH, n_grid)
    wts = np.exp(-0.5 * u**2 - 0.5 * _LOG_2PI) * (u[1] - u[0])
    wts[[0, -1]] *= 0.5
    return u, wts


def _tilted_quadrature(sites, mu, var, idx, power, n_grid):
    # log E_cav[f^power] and the tilted mean and variance, on the cavity's grid
    u, wts = _std_grid(n_grid)
    sd = np.sqrt(var)
    lf = power * sites.log_f(mu[:, None] + sd[:, None] * u, idx) + np.log(wts)
    log_z = logsumexp(lf, axis=1)
    p = np.exp(lf - log_z[:, None])
    eu = p @ u
    vu = np.sum(p * (u - eu[:, None]) ** 2, axis=1)
    return log_z, mu + sd * eu, var * vu


def _tilted(sites, mu, var, idx, power, method, n_grid):
    if method != "quadrature" and sites.closed_form and power == 1.0:
        return sites._tilted_closed(mu, var, idx)
    return _tilted_quadrature(sites, mu, var, idx, power, n_grid)


def tilted_moments(
    sites, mu, var, idx=None, power=1.0, method="auto", n_grid=N_GRID
):
    r"""Normaliser, mean and variance of ``f_n(a)^power N(a | mu, var)`` -- eq.
    :eq:`ep-tilted`.

    Parameters
    ----------
    sites : Sites
    mu, var : array_like
        Cavity means and variances (``var > 0``), one per site in ``idx``.
    idx : array_like of int, optional
        The sites (default: all, in order).
    power : float
        ``0 < power <= 1``: ``1`` for EP, less for power EP (eq. :eq:`ep-power`).
    method : {"auto", "closed", "quadrature"}
        ``"closed"`` needs sites with closed-form moments and ``power = 1``; ``"auto"`` uses the
        closed form when there is one and the trapezoidal rule otherwise.
    n_grid : int
        Points of the trapezoidal rule, over 12 cavity standard deviations either side.

    Returns
    -------
    log_z, mean, var : numpy.ndarray
        ``log Z_n = log E_cavity[f_n(a)^power]`` and the tilted mean and variance of ``a``.
    """
    sites = _check_sites(sites)
    idx = np.arange(sites.n) if idx is None else _check_idx(idx, sites.n)
    mu, var = _check_cavity(mu, var, idx.size)
    power = _check_power(power)
    if method not in ("auto", "closed", "quadrature"):
        raise ValueError(
            f"method must be 'auto', 'closed' or 'quadrature', got {method!r}"
        )
    if method == "closed" and not (sites.closed_form and power == 1.0):
        raise ValueError(
            "method='closed' needs sites with closed-form moments and "
            "power = 1"
        )
    n_grid = _check_n_grid(n_grid, idx.size)
    return _tilted(sites, mu, var, idx, power, method, n_grid)


def gaussian_expectation(sites, mu, var, which="log_f", n_grid=N_GRID):
    """``E[g_n(a)]`` for ``a ~ N(mu_n, var_n)``, with ``g`` one of ``"log_f"``, ``"d_log_f"``,
    ``"d2_log_f"`` -- the terms of eqs. :eq:`ep-vi-elbo` and :eq:`ep-vi-grad`.

    One entry of ``mu`` and ``var`` per site; the trapezoidal rule on ``n_grid`` points over 12
    standard deviations either side.
    """
    sites = _check_sites(sites)
    mu, var = _check_cavity(mu, var, sites.n)
    if which not in ("log_f", "d_log_f", "d2_log_f"):
        raise ValueError(
            f"which must be 'log_f', 'd_log_f' or 'd2_log_f', got {which!r}"
        )
    n_grid = _check_n_grid(n_grid, sites.n)
    return _gauss_expect(sites, mu, var, which, n_grid)


def _gauss_expect(sites, mu, var, which, n_grid):
    u, wts = _std_grid(n_grid)
    a = mu[:, None] + np.sqrt(var)[:, None] * u
    return getattr(sites, which)(a) @ wts


# --------------------------------------------------------------------------------------------
# expectation propagation


def _g(nu, tau):
    # log of the integral of exp(nu a - tau a^2 / 2) da, tau > 0 (eq. ep-evidence)
    return 0.5 * (_LOG_2PI - np.log(tau)) + 0.5 * nu**2 / tau


def _G(h, Lam):
    # log of the integral of exp(h.w - w' Lam w / 2) dw over R^M, Lam positive definite
    L = np.linalg.cholesky(Lam)
    z = np.linalg.solve(L, h)
    return 0.5 * h.size * _LOG_2PI - np.sum(np.log(np.diag(L))) + 0.5 * z @ z


def _q_from_sites(X, prior_var, nu, tau):
    # eq. (ep-q-natural): Lam = I / prior_var + X' diag(tau) X, h = X' nu
    Lam = np.eye(X.shape[1]) / prior_var + (X.T * tau) @ X
    return X.T @ nu, Lam


def _moments(h, Lam):
    Linv = np.linalg.inv(np.linalg.cholesky(Lam))
    S = Linv.T @ Linv
    return S @ h, 0.5 * (S + S.T)


@dataclass(frozen=True)
class EPResult:
    """Output of :func:`ep`.

    Attributes
    ----------
    m, S : numpy.ndarray
        Mean ``(M,)`` and covariance ``(M, M)`` of ``q(w)``.
    site_nu, site_tau : numpy.ndarray
        Natural parameters of the sites, ``t_n(a) propto exp(nu_n a - tau_n a^2 / 2)``; a site
        may have ``tau_n < 0`` (it need not be a density, only ``q`` and the cavities must).
    log_evidence : float
        EP's approximation to ``log p(data)`` at the final sites (eq. :eq:`ep-evidence`);
        ``nan`` if EP stopped at an improper cavity.
    n_sweeps : int
        Completed sweeps over the sites.
    converged : bool
    failure : str or None
        Why EP stopped early (an improper cavity or covariance), else ``None``.
    mean_trace, var_trace : numpy.ndarray
        ``(n_sweeps + 1, M)``: the mean of ``q`` and the diagonal of ``S`` before the first
        sweep and after each.
    power, damping : float
    """

    m: np.ndarray
    S: np.ndarray
    site_nu: np.ndarray
    site_tau: np.ndarray
    log_evidence: float
    n_sweeps: int
    converged: bool
    failure: str | None
    mean_trace: np.ndarray
    var_trace: np.ndarray
    power: float
    damping: float


def _check_model(X, sites, prior_var):
    X = check_design(X, "X")
    sites = _check_sites(sites, X.shape[0])
    return X, sites, check_positive(prior_var, "prior_var")


def _check_site_params(site_nu, site_tau, N):
    nu = check_data(site_nu, "site_nu")
    tau = check_data(site_tau, "site_tau")
    if nu.size != N or tau.size != N:
        raise ValueError(
            f"site_nu and site_tau must have one entry per site ({N}), got "
            f"{nu.size} and {tau.size}"
        )
    return nu.copy(), tau.copy()


def _improper(n, tau_c, sweep):
    variance = "infinite" if tau_c == 0 else f"{1.0 / tau_c:.3g}"
    return (
        f"the cavity of site {n} has variance {variance} (not > 0) "
        f"in sweep {sweep}"
    )


def ep(
    X,
    sites,
    prior_var,
    power=1.0,
    damping=1.0,
    max_sweeps=200,
    tol=1e-10,
    site_nu=None,
    site_tau=None,
    n_grid=N_GRID,
):
    r"""Expectation propagation with Gaussian sites -- algorithm :prf:ref:`ep-algorithm`.

    Sequential EP: for ``n = 1..N`` in turn, divide site ``n`` (to the ``power``) out of ``q``
    (the cavity, eq. :eq:`ep-cavity`), match the mean and variance of the tilted distribution
    ``f_n^power x cavity`` (eq. :eq:`ep-tilted`), set the site to the ratio of the matched
    Gaussian to the cavity (eq. :eq:`ep-site-update`), mixed with the old site in natural
    parameters by ``damping`` (eq. :eq:`ep-damping`), and update ``q`` by a rank-one step.
    With ``power < 1`` this is power EP (eq. :eq:`ep-power`).

    Parameters
    ----------
    X : array_like, shape (N, M)
        Design matrix: site ``n`` sees ``w`` through ``a_n = X[n] . w``.
    sites : Sites
        One factor per row of ``X``.
    prior_var : float
        Variance of the prior ``N(0, prior_var I)``.
    power : float
        ``0 < power <= 1``.
    damping : float
        ``0 < damping <= 1``; ``1`` is undamped EP.
    max_sweeps : int
    tol : float
        Stop when a sweep moves each mean of ``q`` by at most ``tol`` of its standard deviation
        and each covariance entry by at most ``tol`` times ``sd_i sd_j``.
    site_nu, site_tau : array_like, optional
        Initial sites, given together (default zero: ``q`` starts at the prior).
    n_grid : int
        Quadrature points for sites without closed-form moments (and for power EP).

    Returns
    -------
    EPResult
        If a cavity variance is not positive, or ``q``'s covariance stops being positive
        definite, EP stops there with ``converged = False`` and the reason in ``failure``.
    """
    X, sites, prior_var = _check_model(X, sites, prior_var)
    power = _check_power(power)
    damping = check_positive(damping, "damping")
    if damping > 1.0:
        raise ValueError(f"damping must lie in (0, 1], got {damping}")
    max_sweeps = check_int(max_sweeps, "max_sweeps", 1)
    check_elements((max_sweeps + 1) * X.shape[1], f"max_sweeps = {max_sweeps}")
    tol = check_nonnegative(tol, "tol")
    n_grid = _check_n_grid(n_grid, 1)
    N = X.shape[0]
    if site_nu is None and site_tau is None:
        nu, tau = np.zeros(N), np.zeros(N)
    elif site_nu is None or site_tau is None:
        raise ValueError("site_nu and site_tau must be given together")
    else:
        nu, tau = _check_site_params(site_nu, site_tau, N)
    h, Lam = _q_from_sites(X, prior_var, nu, tau)
    try:
        m, S = _moments(h, Lam)
    except np.linalg.LinAlgError:
        raise ValueError(
            "site_tau makes q's precision matrix not positive definite"
        ) from None
    means, variances = [m], [np.diag(S)]
    converged, failure = False, None
    for sweep in range(1, max_sweeps + 1):
        m_old, S_old = m, S
        for n in range(N):
            x = X[n]
            Sx = S @ x
            v_n, mu_n = x @ Sx, x @ m  # q's marginal of a_n
            # eq. (ep-cavity) in the natural parameters of a_n
            tau_c = 1.0 / v_n - power * tau[n]
            nu_c = mu_n / v_n - power * nu[n]
            if not tau_c > 0:
                failure = _improper(n, tau_c, sweep)
                break
            _, mean_t, var_t = _tilted(
                sites,
                np.array([nu_c / tau_c]),
                np.array([1.0 / tau_c]),
                np.array([n]),
                power,
                "auto",
                n_grid,
            )
            # eq. (ep-site-update): (matched Gaussian / cavity)^(1 / power)
            tau_new = (1.0 / var_t[0] - tau_c) / power
            nu_new = (mean_t[0] / var_t[0] - nu_c) / power
            # eq. (ep-damping): a convex combination in natural parameters
            d_tau = damping * (tau_new - tau[n])
            d_nu = damping * (nu_new - nu[n])
            if not 1.0 + d_tau * v_n > 0:
                failure = (
                    f"site {n} would make q's covariance not positive "
                    f"definite in sweep {sweep}"
                )
                break
            tau[n] += d_tau
            nu[n] += d_nu
            # Lam += d_tau x x' (Sherman-Morrison on S), h += d_nu x
            S = S - np.outer(Sx, Sx) * (d_tau / (1.0 + d_tau * v_n))
            h = h + d_nu * x
            m = S @ h
        if failure is not None:
            break
        # once per sweep, q afresh from the sites (no drift from the rank-one steps)
        h, Lam = _q_from_sites(X, prior_var, nu, tau)
        m, S = _moments(h, Lam)
        means.append(m)
        variances.append(np.diag(S))
        sd = np.sqrt(np.diag(S))
        if np.all(np.abs(m - m_old) <= tol * sd) and np.all(
            np.abs(S - S_old) <= tol * np.outer(sd, sd)
        ):
            converged = True
            break
    log_ev = np.nan
    if failure is None:
        log_ev = _ep_log_evidence(X, sites, prior_var, nu, tau, power, n_grid)
    return EPResult(
        m=m,
        S=S,
        site_nu=nu,
        site_tau=tau,
        log_evidence=float(log_ev),
        n_sweeps=len(means) - 1,
        converged=converged,
        failure=failure,
        mean_trace=np.array(means),
        var_trace=np.array(variances),
        power=power,
        damping=damping,
    )


def _cavities(X, prior_var, nu, tau, power):
    # q's marginal of each a_n and the cavity, in natural parameters (eq. ep-cavity)
    h, Lam = _q_from_sites(X, prior_var, nu, tau)
    m, S = _moments(h, Lam)
    v = np.einsum("nj,jk,nk->n", X, S, X)
    tau_q, nu_q = 1.0 / v, (X @ m) / v
    return h, Lam, nu_q, tau_q, nu_q - power * nu, tau_q - power * tau


def cavities(X, prior_var, site_nu, site_tau, power=1.0):
    r"""Every site's cavity and ``q``'s marginal of ``a_n = x_n . w`` -- eq. :eq:`ep-cavity`.

    Returns
    -------
    mu_c, var_c : numpy.ndarray
        Mean and variance of each cavity, ``q`` divided by the site to the ``power``; a variance
        that is not positive (``inf`` or negative) marks an improper cavity.
    mu_q, var_q : numpy.ndarray
        Mean and variance of ``a_n`` under ``q``.
    """
    X = check_design(X, "X")
    prior_var = check_positive(prior_var, "prior_var")
    nu, tau = _check_site_params(site_nu, site_tau, X.shape[0])
    power = _check_power(power)
    try:
        _, _, nu_q, tau_q, nu_c, tau_c = _cavities(
            X, prior_var, nu, tau, power
        )
    except np.linalg.LinAlgError:
        raise ValueError(
            "site_tau makes q's precision matrix not positive definite"
        ) from None
    with np.errstate(divide="ignore"):
        var_c = 1.0 / tau_c
    return nu_c * var_c, var_c, nu_q / tau_q, 1.0 / tau_q


def _ep_log_evidence(X, sites, prior_var, nu, tau, power, n_grid):
    h, Lam, nu_q, tau_q, nu_c, tau_c = _cavities(X, prior_var, nu, tau, power)
    if np.any(tau_c <= 0):
        raise ValueError("site_tau makes a cavity improper (variance not > 0)")
    log_z, _, _ = _tilted(
        sites,
        nu_c / tau_c,
        1.0 / tau_c,
        np.arange(X.shape[0]),
        power,
        "auto",
        n_grid,
    )
    # eq. (ep-site-scale): s_n^power = Z_n exp(g(cavity) - g(q_n))
    log_s = (log_z + _g(nu_c, tau_c) - _g(nu_q, tau_q)) / power
    # G of the prior N(0, prior_var I)
    log_prior_norm = 0.5 * X.shape[1] * (_LOG_2PI + np.log(prior_var))
    return _G(h, Lam) - log_prior_norm + np.sum(log_s)


def ep_log_evidence(
    X, sites, prior_var, site_nu, site_tau, power=1.0, n_grid=N_GRID
):
    r"""EP's approximation to ``log p(data)`` as a function of the sites -- eq.
    :eq:`ep-evidence`.

    ``log Z_EP = G(q) - G(prior) + sum_n log s_n``, the log of the integral of the prior times
    the sites, each scaled by ``s_n`` so that, to the ``power``, it has the same integral
    against its cavity as ``f_n^power`` (eq. :eq:`ep-site-scale`); ``G`` is the log of the
    integral of ``exp(h.w - w' Lam w / 2)``.  With ``power = 1``, EP's fixed points are the
    stationary points of this function of ``(site_nu, site_tau)`` (theorem
    :prf:ref:`ep-energy-theorem`), and the value there is what :func:`ep` reports.

    Raises
    ------
    ValueError
        If the sites make ``q`` or a cavity improper.
    """
    X, sites, prior_var = _check_model(X, sites, prior_var)
    nu, tau = _check_site_params(site_nu, site_tau, X.shape[0])
    power = _check_power(power)
    n_grid = _check_n_grid(n_grid, X.shape[0])
    try:
        value = _ep_log_evidence(X, sites, prior_var, nu, tau, power, n_grid)
    except np.linalg.LinAlgError:
        raise ValueError(
            "site_tau makes q's precision matrix not positive definite"
        ) from None
    return float(value)


# --------------------------------------------------------------------------------------------
# the comparisons: the ELBO's best Gaussian, Laplace, the exact answer on a grid


def _check_gaussian(m, S, M):
    m = check_data(m, "m")
    if m.size != M:
        raise ValueError(
            f"m must have {M} entries (one per column of X), got {m.size}"
        )
    return m, check_covariance(S, M, "S")


def _elbo_terms(X, sites, prior_var, m, S, n_grid, grad=False):
    M = X.shape[1]
    mu = X @ m
    v = np.einsum("nj,jk,nk->n", X, S, X)
    value = (
        _gauss_expect(sites, mu, v, "log_f", n_grid).sum()
        - 0.5 * M * (_LOG_2PI + np.log(prior_var))
        - 0.5 * (m @ m + np.trace(S)) / prior_var
        + 0.5 * np.linalg.slogdet(S)[1]
        + 0.5 * M * (1.0 + _LOG_2PI)
    )
    if not grad:
        return value
    # eq. (ep-vi-grad): Bonnet's and Price's theorems
    g1 = _gauss_expect(sites, mu, v, "d_log_f", n_grid)
    g2 = _gauss_expect(sites, mu, v, "d2_log_f", n_grid)
    grad_m = X.T @ g1 - m / prior_var
    grad_S = 0.5 * ((X.T * g2) @ X - np.eye(M) / prior_var + np.linalg.inv(S))
    return value, grad_m, grad_S


def gaussian_elbo(X, sites, prior_var, m, S, n_grid=N_GRID):
    r"""ELBO of ``q = N(m, S)``: ``sum_n E_q[log f_n(a_n)] + E_q[log p(w)] + H[q]`` -- eq.
    :eq:`ep-vi-elbo`.

    Each ``E_q[log f_n]`` is one-dimensional, over ``a_n ~ N(x_n . m, x_n' S x_n)``
    (:func:`gaussian_expectation`).
    """
    X, sites, prior_var = _check_model(X, sites, prior_var)
    m, S = _check_gaussian(m, S, X.shape[1])
    n_grid = _check_n_grid(n_grid, X.shape[0])
    return float(_elbo_terms(X, sites, prior_var, m, S, n_grid))


@dataclass(frozen=True)
class VIResult:
    """Output of :func:`gaussian_vi`: ``q(w) = N(m, S)``, its ELBO, the gradient's size there
    (``grad_norm``, the largest absolute entry of the ELBO's gradient in ``m`` and ``S``), and
    the optimiser's iteration count and verdict."""

    m: np.ndarray
    S: np.ndarray
    elbo: float
    grad_norm: float
    n_iter: int
    converged: bool


def _tril_param(M):
    rows, cols = np.tril_indices(M)
    diag = rows == cols

    def unpack(theta):
        # theta = (m, L's lower triangle with log-diagonal)
        L = np.zeros((M, M))
        vals = theta[M:].copy()
        vals[diag] = np.exp(vals[diag])
        L[rows, cols] = vals
        return theta[:M], L

    def pack(m, S):
        L = np.linalg.cholesky(S)
        vals = L[rows, cols].copy()
        vals[diag] = np.log(vals[diag])
        return np.concatenate([m, vals])

    def chain(g_m, g_L, L):
        # gradient in theta from the gradients in m and (lower-triangular) L
        g = g_L[rows, cols].copy()
        g[diag] *= L[rows, cols][diag]
        return np.concatenate([g_m, g])

    return unpack, pack, chain


def gaussian_vi(
    X, sites, prior_var, m0=None, S0=None, tol=1e-9, n_grid=N_GRID
):
    r"""The Gaussian ``q(w) = N(m, S)`` that maximises the ELBO -- eqs. :eq:`ep-vi-elbo`,
    :eq:`ep-vi-grad`.

    BFGS over ``(m, log L_ii, L_ij)`` with ``S = L L'`` (``L`` lower triangular), with the exact
    gradient from Bonnet's and Price's theorems, ``d/dm E[g(a)] = E[g'(a)]`` and
    ``d/dvar E[g(a)] = E[g''(a)] / 2``, from ``m0``, ``S0`` (default: the prior).  The ELBO of a
    model that is not log-concave (the clutter problem) can have several local maxima; the one
    found is the one uphill from the start.
    """
    X, sites, prior_var = _check_model(X, sites, prior_var)
    M = X.shape[1]
    m0 = np.zeros(M) if m0 is None else m0
    S0 = prior_var * np.eye(M) if S0 is None else S0
    m0, S0 = _check_gaussian(m0, S0, M)
    tol = check_positive(tol, "tol")
    n_grid = _check_n_grid(n_grid, X.shape[0])
    unpack, pack, chain = _tril_param(M)

    def objective(theta):
        m, L = unpack(theta)
        value, g_m, g_S = _elbo_terms(
            X, sites, prior_var, m, L @ L.T, n_grid, grad=True
        )
        # dS = dL L' + L dL', so dELBO/dL = 2 (dELBO/dS) L
        return -value, -chain(g_m, 2.0 * g_S @ L, L)

    res = optimize.minimize(
        objective,
        pack(m0, S0),
        jac=True,
        method="BFGS",
        options={"gtol": tol, "maxiter": 2000},
    )
    m, L = unpack(res.x)
    S = L @ L.T
    value, g_m, g_S = _elbo_terms(X, sites, prior_var, m, S, n_grid, True)
    grad_norm = max(np.max(np.abs(g_m)), np.max(np.abs(g_S)))
    return VIResult(
        m, S, float(value), float(grad_norm), int(res.nit), bool(res.success)
    )


@dataclass(frozen=True)
class LaplaceResult:
    """Output of :func:`laplace`: ``N(mode, cov)`` and its estimate of ``log p(data)``."""

    mode: np.ndarray
    cov: np.ndarray
    log_evidence: float
    n_iter: int


def _log_joint(X, sites, prior_var, w):
    M = X.shape[1]
    return (
        sites.log_f(X @ w).sum()
        - 0.5 * w @ w / prior_var
        - 0.5 * M * (_LOG_2PI + np.log(prior_var))
    )


def laplace(X, sites, prior_var, w0=None, tol=1e-10):
    r"""Laplace approximation at a posterior mode -- eq. :eq:`bc-laplace`, chapter 8.

    The mode of ``log p(data, w)`` is found by a trust-region Newton method
    (``scipy.optimize.minimize(method="trust-exact")``) from ``w0`` (default 0) with the exact
    gradient ``X' f'(a) - w / prior_var`` and Hessian ``X' diag(f''(a)) X - I / prior_var``;
    the covariance is minus the inverse Hessian there, and ``log p(data)`` is approximated by
    ``log p(data, mode) + M/2 log 2 pi + 1/2 log |cov|``.
    """
    X, sites, prior_var = _check_model(X, sites, prior_var)
    M = X.shape[1]
    w0 = np.zeros(M) if w0 is None else check_data(w0, "w0")
    if w0.size != M:
        raise ValueError(f"w0 must have {M} entries, got {w0.size}")
    tol = check_positive(tol, "tol")

    def neg(w):
        return -_log_joint(X, sites, prior_var, w)

    def neg_grad(w):
        return -(X.T @ sites.d_log_f(X @ w) - w / prior_var)

    def neg_hess(w):
        return np.eye(M) / prior_var - (X.T * sites.d2_log_f(X @ w)) @ X

    res = optimize.minimize(
        neg,
        w0,
        jac=neg_grad,
        hess=neg_hess,
        method="trust-exact",
        options={"gtol": tol},
    )
    cov = np.linalg.inv(neg_hess(res.x))
    cov = check_covariance(0.5 * (cov + cov.T), M, "cov")
    log_ev = -res.fun + 0.5 * M * _LOG_2PI + 0.5 * np.linalg.slogdet(cov)[1]
    return LaplaceResult(res.x, cov, float(log_ev), int(res.nit))


@dataclass(frozen=True)
class GridPosterior:
    """The exact posterior of a model with ``M <= 2`` parameters on a grid -- eq.
    :eq:`ep-grid`.

    ``axes`` holds one 1-D array per parameter, ``log_post`` the normalised log density at the
    grid points (shape ``(len(axes[0]), ...)``), ``cell`` the volume of one cell,
    ``log_evidence`` the log of the Riemann sum of ``p(data, w)``, ``mean`` and ``cov`` the
    posterior moments.
    """

    axes: tuple
    log_post: np.ndarray
    cell: float
    log_evidence: float
    mean: np.ndarray
    cov: np.ndarray

    @property
    def points(self):
        """The grid points, shape ``log_post.shape + (M,)``."""
        return np.stack(np.meshgrid(*self.axes, indexing="ij"), axis=-1)


def grid_posterior(
    X, sites, prior_var, bounds, n_grid=401, max_elements=MAX_ELEMENTS
):
    r"""Exact posterior moments and ``log p(data)`` for ``M <= 2`` by a Riemann sum -- eq.
    :eq:`ep-grid`.

    ``bounds`` holds one ``(low, high)`` pair per parameter, outside which the posterior must be
    negligible; each axis has ``n_grid`` points.  For a smooth density that vanishes at the
    edges the sum converges faster than any power of the spacing.  ``n_grid^M N`` log factors
    are evaluated at once: above ``max_elements`` a ValueError naming ``n_grid`` is raised.
    """
    X, sites, prior_var = _check_model(X, sites, prior_var)
    M = X.shape[1]
    if M > 2:
        raise ValueError(
            f"grid_posterior needs X with 1 or 2 columns, got {M}"
        )
    b = check_finite_array(bounds, "bounds")
    if b.shape != (M, 2) or np.any(b[:, 1] <= b[:, 0]):
        raise ValueError(
            f"bounds must be {M} pair(s) (low, high) with low < high, "
            f"got {b.tolist()}"
        )
    n_grid = check_int(n_grid, "n_grid", 3)
    check_elements(
        n_grid**M * (X.shape[0] + 2),
        f"n_grid = {n_grid} for N = {X.shape[0]} sites",
        max_elements,
    )
    axes = tuple(np.linspace(lo, hi, n_grid) for lo, hi in b)
    W = np.stack(np.meshgrid(*axes, indexing="ij"), axis=-1).reshape(-1, M)
    log_joint = (
        sites.log_f((W @ X.T).T).sum(axis=0)
        - 0.5 * np.sum(W**2, axis=1) / prior_var
        - 0.5 * M * (_LOG_2PI + np.log(prior_var))
    )
    cell = float(np.prod([ax[1] - ax[0] for ax in axes]))
    log_ev = float(logsumexp(log_joint) + np.log(cell))
    p = np.exp(log_joint - log_ev) * cell
    mean = p @ W
    D = W - mean
    cov = (D.T * p) @ D
    log_post = (log_joint - log_ev).reshape((n_grid,) * M)
    return GridPosterior(axes, log_post, cell, log_ev, mean, cov)


# --------------------------------------------------------------------------------------------
# the clutter problem, exactly


def clutter_simulate(
    n, theta, omega=0.5, clutter_var=10.0, seed=None, max_elements=MAX_ELEMENTS
):
    """Draw ``n`` points of Minka's clutter problem -- eq. :eq:`ep-clutter-model`.

    Each point is ``N(theta, 1)`` with probability ``1 - omega`` and ``N(0, clutter_var)``
    otherwise.
    """
    n = check_int(n, "n", 1)
    check_elements(3 * n, f"n = {n} points", max_elements)
    theta = check_real(theta, "theta")
    omega = _check_fraction(omega, "omega")
    clutter_var = check_positive(clutter_var, "clutter_var")
    rng = check_seed(seed)
    is_clutter = rng.random(n) < omega
    return np.where(
        is_clutter,
        rng.normal(0.0, np.sqrt(clutter_var), n),
        rng.normal(theta, 1.0, n),
    )


@dataclass(frozen=True)
class ClutterExact:
    """Output of :func:`clutter_exact`: ``log p(x)`` and the posterior mean and variance of
    ``theta``."""

    log_evidence: float
    mean: float
    var: float


def clutter_exact(
    x, omega, clutter_var, prior_var, max_assignments=MAX_ASSIGNMENTS
):
    r"""The clutter problem's exact posterior by enumerating its ``2^N`` assignments -- eq.
    :eq:`ep-clutter-enumeration`.

    Given which points are signal (a set ``s`` of ``k`` points with sum ``S_s`` and sum of
    squares ``Q_s``), ``theta`` is conjugate: ``p(x, s)`` is the product of the clutter
    densities of the other points and the Gaussian marginal ``N(0, I + prior_var 11')`` of the
    signal points, and ``p(theta | x, s) = N(v_s S_s, v_s)`` with ``v_s = prior_var / (1 + k
    prior_var)``.  The posterior is the mixture of these Gaussians with weights ``p(s | x)``;
    the sums run in log space over ``2^16`` assignments at a time.
    """
    x = check_data(x, "x")
    omega = _check_fraction(omega, "omega")
    clutter_var = check_positive(clutter_var, "clutter_var")
    prior_var = check_positive(prior_var, "prior_var")
    max_assignments = check_int(max_assignments, "max_assignments", 1)
    N = x.size
    if N > 62 or 2**N > max_assignments:
        raise ValueError(
            f"x has N = {N} points: 2^N assignments, more than "
            f"max_assignments = {max_assignments}"
        )
    log_clutter = np.log(omega) - 0.5 * (
        _LOG_2PI + np.log(clutter_var) + x**2 / clutter_var
    )
    bits = np.arange(N)
    parts = []
    for start in range(0, 2**N, 2**16):
        code = np.arange(start, min(start + 2**16, 2**N))
        signal = ((code[:, None] >> bits) & 1).astype(bool)
        k = signal.sum(axis=1)
        S_s, Q_s = signal @ x, signal @ (x**2)
        # log N(x_s | 0, I + prior_var 11'): determinant lemma, Sherman-Morrison
        log_marginal = -0.5 * (
            k * _LOG_2PI
            + np.log1p(k * prior_var)
            + Q_s
            - prior_var * S_s**2 / (1.0 + k * prior_var)
        )
        log_w = k * np.log1p(-omega) + (~signal) @ log_clutter + log_marginal
        v_s = prior_var / (1.0 + k * prior_var)
        m_s = v_s * S_s
        log_total = logsumexp(log_w)
        p = np.exp(log_w - log_total)
        parts.append((log_total, p @ m_s, p @ (v_s + m_s**2)))
    log_totals = np.array([part[0] for part in parts])
    log_ev = logsumexp(log_totals)
    weights = np.exp(log_totals - log_ev)
    first = weights @ np.array([part[1] for part in parts])
    second = weights @ np.array([part[2] for part in parts])
    # E[theta^2] - E[theta]^2 of the mixture
    return ClutterExact(float(log_ev), float(first), float(second - first**2))


# --------------------------------------------------------------------------------------------
# alpha-divergences


def _check_alpha(alpha):
    alpha = check_real(alpha, "alpha")
    if not 0.0 <= alpha <= 1.0:
        raise ValueError(f"alpha must lie in [0, 1], got {alpha}")
    return alpha


def _q_expm1(log_q, t):
    # q (exp(t) - 1) = p^alpha q^(1 - alpha) - q for t = alpha log(p / q): expm1 where t is
    # small (no cancellation as alpha -> 0), the difference of the two densities where it is
    # not (no overflow where q underflows)
    out = np.empty_like(t)
    small = t < 1.0
    out[small] = np.exp(log_q[small]) * np.expm1(t[small])
    big = ~small
    out[big] = np.exp(log_q[big] + t[big]) - np.exp(log_q[big])
    return out


def _alpha_div(log_p, log_q, alpha):
    # the sum over the grid of the integrand of eq. (ep-alpha-div)
    p, q = np.exp(log_p), np.exp(log_q)
    r = log_p - log_q
    if alpha == 0.0:
        return np.sum(q * -r + p - q)
    if alpha == 1.0:
        return np.sum(p * r + q - p)
    integrand = alpha * (p - q) - _q_expm1(log_q, alpha * r)
    return np.sum(integrand) / (alpha * (1.0 - alpha))


def alpha_divergence(log_p, log_q, alpha, cell):
    r"""Minka's alpha-divergence ``D_alpha(p || q)`` of two densities on a grid -- eq.
    :eq:`ep-alpha-div`.

    ``D_alpha = integral of [alpha p + (1 - alpha) q - p^alpha q^(1 - alpha)] / (alpha (1 -
    alpha))``, with the limits ``D_0 = KL(q || p)`` and ``D_1 = KL(p || q)``.  The integrand is
    evaluated as ``alpha (p - q) - q (exp(alpha log(p / q)) - 1)``, accurate as ``alpha -> 0``;
    the integral is the sum over the grid times the cell volume ``cell``.  The grid must hold
    the mass of both densities.
    """
    log_p = check_finite_array(log_p, "log_p")
    log_q = check_finite_array(log_q, "log_q")
    if log_p.shape != log_q.shape:
        raise ValueError(
            f"log_p and log_q must have the same shape, got {log_p.shape} "
            f"and {log_q.shape}"
        )
    alpha = _check_alpha(alpha)
    cell = check_positive(cell, "cell")
    return float(_alpha_div(log_p, log_q, alpha) * cell)


@dataclass(frozen=True)
class AlphaFit:
    """Output of :func:`alpha_projection`: the Gaussian ``N(m, S)``, ``D_alpha(p || q)`` there,
    ``alpha``, and whether the optimiser reported convergence."""

    m: np.ndarray
    S: np.ndarray
    divergence: float
    alpha: float
    converged: bool


def alpha_projection(log_p, points, cell, alpha, m0, S0, tol=1e-9):
    r"""The Gaussian ``q`` that minimises ``D_alpha(p || q)`` for a density ``p`` on a grid --
    eq. :eq:`ep-alpha-proj`.

    ``log_p`` holds ``log p`` at ``points`` (shape ``log_p.shape + (M,)``), normalised on the
    grid (``sum exp(log_p) cell = 1``); the grid must also hold the mass of every ``q`` the
    search visits.  For ``alpha = 1`` the minimiser is the moment match (chapter 6), computed
    directly.  Otherwise BFGS runs over ``(m, log L_ii, L_ij)``, ``S = L L'``, from ``m0``,
    ``S0``, with the gradient ``sum_i omega_i d log q(x_i)``, ``omega = q (1 - (p/q)^alpha) /
    alpha`` (``q log(q/p)`` at ``alpha = 0``), the exact derivative of the grid sum.  For
    ``alpha < 1`` there can be several local minima; the one found is downhill from the start.
    """
    pts = check_finite_array(points, "points")
    log_p = check_finite_array(log_p, "log_p")
    if pts.ndim < 2 or pts.shape[:-1] != log_p.shape:
        raise ValueError(
            "points must have shape log_p.shape + (M,), got "
            f"{pts.shape} for log_p of shape {log_p.shape}"
        )
    cell = check_positive(cell, "cell")
    alpha = _check_alpha(alpha)
    M = pts.shape[-1]
    m0, S0 = _check_gaussian(m0, S0, M)
    tol = check_positive(tol, "tol")
    P = pts.reshape(-1, M)
    lp = log_p.reshape(-1)
    if abs(logsumexp(lp) + np.log(cell)) > 1e-6:
        raise ValueError(
            "log_p must be normalised on the grid (sum exp(log_p) cell = 1)"
        )
    unpack, pack, chain = _tril_param(M)

    def log_q_and_z(m, L):
        Z = np.linalg.solve(L, (P - m).T)  # z_i = L^-1 (x_i - m)
        lq = (
            -0.5 * np.sum(Z**2, axis=0)
            - 0.5 * M * _LOG_2PI
            - np.sum(np.log(np.diag(L)))
        )
        return lq, Z

    if alpha == 1.0:
        p = np.exp(lp) * cell
        m = p @ P
        D = P - m
        S = (D.T * p) @ D
        S = 0.5 * (S + S.T)
        lq, _ = log_q_and_z(m, np.linalg.cholesky(S))
        return AlphaFit(m, S, float(_alpha_div(lp, lq, 1.0) * cell), 1.0, True)

    def objective(theta):
        m, L = unpack(theta)
        lq, Z = log_q_and_z(m, L)
        r = lp - lq
        if alpha == 0.0:
            omega = np.exp(lq) * -r
        else:
            omega = -_q_expm1(lq, alpha * r) / alpha
        omega = omega * cell
        # d log q / dm = L^-T z, d log q / dL = L^-T z z' - diag(1 / L_ii)
        Linv_T = np.linalg.inv(L).T
        g_m = Linv_T @ (Z @ omega)
        g_L = Linv_T @ ((Z * omega) @ Z.T) - omega.sum() * np.diag(
            1.0 / np.diag(L)
        )
        return _alpha_div(lp, lq, alpha) * cell, chain(g_m, np.tril(g_L), L)

    res = optimize.minimize(
        objective,
        pack(m0, S0),
        jac=True,
        method="BFGS",
        options={"gtol": tol, "maxiter": 4000},
    )
    m, L = unpack(res.x)
    return AlphaFit(m, L @ L.T, float(res.fun), alpha, bool(res.success))
