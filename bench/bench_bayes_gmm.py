"""Full Bayesian Gaussian mixture (chapter 4b, Bishop 10.2) against scikit-learn, per iteration.

Data: N = 10^5 points in D = 5 dimensions from a mixture of K = 8 Gaussians with random means
and axis scales (seed 0); both sides fit K = 8 components from the same random responsibilities
(uniform draws normalised per row, scikit-learn's ``init_params="random"``), with
scikit-learn's default priors translated to Bishop's parameters (``default_prior``) and
``reg_covar = 0`` (Bishop's model).  scikit-learn's side is
``BayesianGaussianMixture(weight_concentration_prior_type="dirichlet_distribution",
covariance_type="full")`` started from those responsibilities (``tests/peers.py``): the same
algorithm, so the bench asserts the same numbers after the same iterations.

Time per iteration is the difference of two run lengths with ``tol = 0``, so initialisation,
validation and scikit-learn's extra final E-step cancel out; rounds interleave the two sides and
the floor (one exp and one sum per (n, k), as in the chapter 4 bench).
"""

import tracemalloc

import numpy as np

from bench._harness import exp_sum_floor, interleaved, per_iteration, repeated
from tests.peers import sklearn_fit
from vitutor import bayes_gmm

N, D, K = 10**5, 5, 8
ROUNDS = 7
ITERS = (2, 10)


def data(seed=0):
    rng = np.random.default_rng(seed)
    centres = rng.normal(0.0, 3.0, (K, D))
    scales = rng.uniform(0.5, 1.5, (K, D))
    z = rng.integers(0, K, N)
    X = centres[z] + scales[z] * rng.standard_normal((N, D))
    resp0 = rng.uniform(size=(N, K))
    resp0 /= resp0.sum(axis=1, keepdims=True)
    return X, resp0, bayes_gmm.default_prior(X, K)


def _rel(a, b):
    return float(np.max(np.abs(a - b)) / np.max(np.abs(b)))


def floor(n, block=bayes_gmm._BLOCK):
    """The E-step floor for n points (bench._harness.exp_sum_floor)."""
    return exp_sum_floor(n, K, block)


def main(report):
    X, resp0, prior = data()
    with report.section(
        "Full Bayesian GMM (chapter 4b), synthetic data",
        N=N,
        D=D,
        K=K,
        rounds=ROUNDS,
        iterations_differenced=ITERS,
    ) as s:
        # the same arithmetic: after ITERS[0] iterations the two fits agree to round-off; round-off
        # then grows with the iterations (by the same amount with the unblocked E-step before it)
        for it, limit in ((ITERS[0], 1e-12), (ITERS[1], 1e-10)):
            ours = bayes_gmm.fit(
                X, K, prior=prior, init_resp=resp0, max_iter=it, tol=0.0
            )
            est = sklearn_fit(
                X, resp0, prior, max_iter=it, tol=0.0, reg_covar=0.0
            )
            assert ours.n_iter == est.n_iter_ == it
            s.check(
                f"after {it} iterations: max rel. difference of alpha (concentrations)",
                _rel(ours.alpha, est.weight_concentration_),
                limit,
            )
            s.check(
                "  of nu (degrees of freedom)",
                _rel(ours.nu, est.degrees_of_freedom_),
                limit,
            )
            s.check("  of m (means)", _rel(ours.m, est.means_), limit)
            s.check(
                "  of the covariances (nu W)^-1",
                _rel(
                    np.linalg.inv(ours.W) / ours.nu[:, None, None],
                    est.covariances_,
                ),
                limit,
            )
            s.check(
                "  max abs. difference of the responsibilities at the final q (predict_proba)",
                float(
                    np.max(
                        np.abs(
                            bayes_gmm.e_step(X, ours) - est.predict_proba(X)
                        )
                    )
                ),
                limit,
            )
        s.note(
            "scikit-learn's lower_bound_ omits constants of the full ELBO (chapter 4b, "
            "eq. bgmm-sklearn-offset), so the bounds are not compared here"
        )

        run_floor = floor(N)
        times = interleaved(
            ROUNDS,
            **{
                "vitutor.bayes_gmm.fit": lambda: per_iteration(
                    lambda it: bayes_gmm.fit(
                        X,
                        K,
                        prior=prior,
                        init_resp=resp0,
                        max_iter=it,
                        tol=0.0,
                    ),
                    *ITERS,
                ),
                # right after ours, differenced like it (bench_gmm_cavi)
                "floor: exp + sum per (n, k)": lambda: per_iteration(
                    repeated(run_floor), *ITERS
                ),
                "sklearn BayesianGaussianMixture": lambda: per_iteration(
                    lambda it: sklearn_fit(
                        X, resp0, prior, max_iter=it, tol=0.0, reg_covar=0.0
                    ),
                    *ITERS,
                ),
            },
        )
        s.timings(times, floor="floor: exp + sum per (n, k)")
        s.ratio(
            "vitutor / sklearn",
            times["vitutor.bayes_gmm.fit"],
            times["sklearn BayesianGaussianMixture"],
            target=0.25,
        )

        tracemalloc.start()
        bayes_gmm.fit(X, K, prior=prior, init_resp=resp0, max_iter=3, tol=0.0)
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        s.figure(
            "peak_bytes_fit",
            peak,
            f"peak memory of one fit: {peak / 2**20:.1f} MB = {peak / (N * K * 8):.2f} x the (N, "
            "K) "
            f"responsibilities (with one (D, N) copy of the data: {8 * N * D / (N * K * 8):.2f} x)",
        )
