"""Full Bayesian Gaussian mixture (chapter 4b) against scikit-learn's BayesianGaussianMixture.

Printed, all measured in this one run:

* the largest differences between ``vitutor.bayes_gmm.fit`` and scikit-learn's
  ``BayesianGaussianMixture(weight_concentration_prior_type="dirichlet_distribution",
  covariance_type="full")`` -- concentrations, means, degrees of freedom, covariances -- when both
  start from the same responsibilities with the same priors and run the same number of iterations;
* the time of each fit and the ratio ours / scikit-learn (target <= 1.0), once with the BLAS
  libraries' default number of threads and once limited to one thread (threadpoolctl): scikit-learn
  makes K small ``solve_triangular`` calls per iteration whose cost under a threaded OpenBLAS
  depends heavily on machine load, so the single-thread ratio is the steadier comparison.

Data: Old Faithful, standardised, tiled to n = 10^5 points (K = 6).  Both fits run with
``tol = 0`` so each does exactly ``ITERS`` E+M iterations; ``reg_covar = 0`` on both sides
(Bishop's model).  Times are the best of ``REPEATS`` runs and include each fit's validation and
its initial M step from the given responsibilities.
"""

import time

import numpy as np
from threadpoolctl import threadpool_limits

from tests.peers import sklearn_fit
from vitutor import bayes_gmm

N = 10**5
K = 6
ITERS = 20
REPEATS = 2
ALPHA0 = 1e-3


def _data():
    X = bayes_gmm.load_old_faithful()
    X = np.tile(X, (-(-N // X.shape[0]), 1))[:N]
    rng = np.random.default_rng(0)
    resp0 = rng.uniform(size=(N, K))
    resp0 /= resp0.sum(axis=1, keepdims=True)
    d = bayes_gmm.default_prior(X, K)
    prior = bayes_gmm.BayesGMMPrior(alpha0=ALPHA0, beta0=d.beta0, m0=d.m0, nu0=d.nu0, W0=d.W0)
    return X, resp0, prior


def _ours(X, resp0, prior):
    return bayes_gmm.fit(X, K, prior=prior, init_resp=resp0, max_iter=ITERS, tol=0.0)


def _sklearn(X, resp0, prior):
    return sklearn_fit(X, resp0, prior, max_iter=ITERS, tol=0.0, reg_covar=0.0)


def _best_of(repeats, fn):
    best, out = np.inf, None
    for _ in range(repeats):
        start = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - start)
    return best, out


def _rel(a, b):
    return float(np.max(np.abs(a - b) / np.maximum(np.abs(b), 1e-300)))


def main():
    X, resp0, prior = _data()
    timings = {}
    for label, limit in (("default BLAS threads", None), ("1 BLAS thread", 1)):
        with threadpool_limits(limit):
            t_ours, ours = _best_of(REPEATS, lambda: _ours(X, resp0, prior))
            t_sk, est = _best_of(REPEATS, lambda: _sklearn(X, resp0, prior))
        timings[label] = (t_ours, t_sk)
    assert ours.n_iter == est.n_iter_ == ITERS
    diffs = {
        "alpha (concentrations)": _rel(ours.alpha, est.weight_concentration_),
        "nu (degrees of freedom)": _rel(ours.nu, est.degrees_of_freedom_),
        "m (means)": float(np.max(np.abs(ours.m - est.means_))),
        "covariances (nu W)^-1": _rel(np.linalg.inv(ours.W) / ours.nu[:, None, None], est.covariances_),
    }
    print(f"Full Bayesian GMM (Bishop 10.2), Old Faithful tiled to n = {N:.0e}, K = {K}, alpha0 = {ALPHA0:g}")
    print(f"  same initial responsibilities and priors, {ITERS} E+M iterations each, reg_covar = 0")
    for name, value in diffs.items():
        kind = "abs" if name.startswith("m ") else "rel"
        print(f"    max {kind} difference {name:28s} {value:.1e}")
    results = {"diffs": diffs}
    for label, (t_ours, t_sk) in timings.items():
        print(f"  {label}:")
        print(f"    vitutor.bayes_gmm.fit            {t_ours:7.3f} s")
        print(f"    sklearn BayesianGaussianMixture  {t_sk:7.3f} s")
        print(f"    ratio vitutor / sklearn          {t_ours / t_sk:7.3f}   (target <= 1.0)")
        results[label] = {"ours": t_ours, "sklearn": t_sk, "ratio": t_ours / t_sk}
    return results
