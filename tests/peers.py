"""scikit-learn as a peer: its BayesianGaussianMixture started from given responsibilities.

Shared by tests/test_bayes_gmm.py and bench/bench_bayes_gmm.py, so the parity tests and the
benchmark compare against the very same configuration.  scikit-learn is a test dependency of
vitutor, never a runtime one, which is why this lives beside the tests and not in the package.
"""

import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.mixture import BayesianGaussianMixture


class FixedInitBGMM(BayesianGaussianMixture):
    """scikit-learn's estimator, started from the responsibilities in ``self.resp0``."""

    def _initialize_parameters(self, X, random_state, xp=None):
        self._initialize(X, self.resp0)


def fit_from(est, X, resp0):
    """Fit a ``FixedInitBGMM`` from ``resp0``; stopping at ``max_iter`` is not an error here."""
    est.resp0 = resp0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        est.fit(X)
    return est


def sklearn_fit(X, resp0, prior, max_iter, tol, reg_covar=0.0):
    """scikit-learn's fit with the priors of a ``bayes_gmm.BayesGMMPrior``, from ``resp0``."""
    est = FixedInitBGMM(
        n_components=resp0.shape[1],
        covariance_type="full",
        weight_concentration_prior_type="dirichlet_distribution",
        weight_concentration_prior=prior.alpha0,
        mean_precision_prior=prior.beta0,
        mean_prior=prior.m0,
        degrees_of_freedom_prior=prior.nu0,
        covariance_prior=np.linalg.inv(
            prior.W0
        ),  # scikit-learn's prior is on the covariance
        reg_covar=reg_covar,
        max_iter=max_iter,
        tol=tol,
        n_init=1,
    )
    return fit_from(est, X, resp0)
