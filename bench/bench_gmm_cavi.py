"""CAVI for the Blei et al. mixture (chapter 4): vitutor, plain numpy, scikit-learn.

For n = 10^6 points drawn from the model (K = 10; well separated, sigma^2 = 100, and heavily
overlapping, sigma^2 = 1), all three sides start from the same responsibilities phi0 (the
softmax of eq. (gmm-phi) at K data points drawn at random, unit variances) and are timed per
iteration, in interleaved rounds, against the floor of the E-step:

* ``vitutor.gmm.cavi``, the blocked E-step that keeps only the statistics;
* ``bench/_naive_gmm.py``, chapter 4's equations on whole (n, K) arrays with scipy's softmax:
  the same model and the same numbers, so the ratio is what the blocking buys;
* scikit-learn's ``BayesianGaussianMixture(covariance_type="spherical")``, started from phi0
  (``tests/peers.py``), with its mean prior set to ours (``mean_prior = 0``,
  ``mean_precision_prior = 1 / sigma^2``).  It fits a richer model: a variance per component and
  the weights, so only its first M step computes what ours does (checked), and the ratio compares
  the cost of one variational iteration on the same data, not the same arithmetic;
* the floor: one exp and one sum over k per (i, k), on a (K, block) buffer that stays in cache,
  as many times as one E-step needs.  No E-step can do less.  It is timed like ours (the
  difference of two run lengths) and right after ours in each round, so that both run in the
  same state of the caches and the allocator.

Per-iteration times are differences of two run lengths with ``tol = 0`` (see
``bench._harness.per_iteration``): initialisation, validation of phi0, scikit-learn's final
E-step and our final write of phi cancel out.
"""

import tracemalloc

import numpy as np

from bench import _naive_gmm as naive
from bench._harness import exp_sum_floor, interleaved, per_iteration, repeated
from tests.peers import FixedInitBGMM, fit_from
from vitutor import gmm

N = 10**6
K = 10
PRIOR_VARS = (100.0, 1.0)
ROUNDS = 5
#: iterations (lo, hi) differenced for each side; scikit-learn's iteration costs ~10x ours
ITERS = {"vitutor": (2, 12), "numpy": (1, 4), "sklearn": (1, 5)}
#: the subsample and number of iterations on which the two models' answers are compared
N_COMPARE, ITERS_COMPARE = 10**5, 100


def initial_phi(x, seed=0):
    """phi0: eq. (gmm-phi) at K data points drawn at random, unit variances."""
    m0 = np.random.default_rng(seed).choice(x, size=K, replace=False)
    return gmm.update_assignments(x, m0, np.ones(K))


def sklearn_spherical(x, phi0, prior_var, max_iter):
    est = FixedInitBGMM(
        n_components=K,
        covariance_type="spherical",
        weight_concentration_prior_type="dirichlet_distribution",
        mean_prior=[0.0],
        mean_precision_prior=1.0 / prior_var,
        max_iter=max_iter,
        tol=0.0,
        n_init=1,
    )
    return fit_from(est, x[:, None], phi0)


def estep_floor(n, block=gmm._BLOCK):
    """The E-step floor for n points (bench._harness.exp_sum_floor)."""
    return exp_sum_floor(n, K, block)


def _rel(a, b):
    return float(np.max(np.abs(a - b)) / np.max(np.abs(b)))


def compare_same_model(s, x, phi0, prior_var):
    """vitutor and the numpy baseline: same model, same start, same iterations -> same numbers."""
    hi = ITERS["vitutor"][1]
    ours = gmm.cavi(x, K, prior_var, init_phi=phi0, max_iter=hi, tol=0.0)
    phi, m, s2, trace = naive.cavi(x, prior_var, phi0, hi)
    s.check(
        f"vitutor vs numpy after {hi} iterations: max |m - m'| / max |m'|",
        _rel(ours.m, m),
        1e-10,
    )
    s.check("  max |s2 - s2'| / max s2'", _rel(ours.s2, s2), 1e-10)
    s.check("  max |phi - phi'|", float(np.max(np.abs(ours.phi - phi))), 1e-10)
    s.check(
        "  max relative difference of the ELBO traces",
        float(np.max(np.abs(ours.elbo_trace - trace) / np.abs(trace))),
        1e-12,
    )


def compare_with_sklearn(s, x, phi0, prior_var):
    """Where scikit-learn's spherical model computes what ours does, and what differs after that."""
    m_ours = gmm.update_means(x, phi0, prior_var)[0]
    est = sklearn_spherical(
        x, phi0, prior_var, max_iter=0
    )  # the M step from phi0, nothing else
    s.check(
        "M step from phi0: max |m - means_sklearn| / max |m|",
        _rel(est.means_[:, 0], m_ours),
        1e-12,
    )
    xs, phis = x[:N_COMPARE], phi0[:N_COMPARE]
    ours = gmm.cavi(
        xs, K, prior_var, init_phi=phis, max_iter=ITERS_COMPARE, tol=0.0
    )
    est = sklearn_spherical(xs, phis, prior_var, max_iter=ITERS_COMPARE)
    weights = est.weights_
    used = int(np.sum(weights > 0.1 / K))
    s.figure("sklearn_components_used", used)
    s.note(
        f"scikit-learn also fits a variance per component and the weights; at n = {N_COMPARE:.0e}, "
        f"after {ITERS_COMPARE} iterations from the same phi0, {used} of its {K} components hold "
        f"weight > 0.1/K (weights {np.array2string(np.sort(weights)[::-1], precision=3)}), "
        f"variances {est.covariances_.min():.3g} to {est.covariances_.max():.3g}; "
        f"ours keeps the model's weights 1/K and unit variances, "
        f"means {np.array2string(np.sort(ours.m), precision=2)}, "
        f"scikit-learn's {np.array2string(np.sort(est.means_[:, 0]), precision=2)}"
    )


def peak_memory(s, x, prior_var):
    tracemalloc.start()
    gmm.cavi(x, K, prior_var, seed=0, max_iter=3, tol=0.0)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    s.figure(
        "peak_bytes_cavi",
        peak,
        f"peak memory of one cavi call: {peak / 2**20:.1f} MB = "
        f"{peak / (x.size * K * 8):.2f} x one n x K float64 array (the returned phi)",
    )


def timed_sides(x, phi0, prior_var, floor):
    """The four sides of one comparison, each a callable returning seconds per iteration."""
    return {
        "vitutor.gmm.cavi": lambda: per_iteration(
            lambda it: gmm.cavi(
                x, K, prior_var, init_phi=phi0, max_iter=it, tol=0.0
            ),
            *ITERS["vitutor"],
        ),
        # right after ours and over as many E-steps, differenced the same way, so that the
        # floor runs in the state ours ran in (not one pass after scikit-learn's allocations)
        "floor: exp + sum per (i, k)": lambda: per_iteration(
            repeated(floor), *ITERS["vitutor"]
        ),
        "numpy, chapter 4's equations": lambda: per_iteration(
            lambda it: naive.cavi(x, prior_var, phi0, it),
            *ITERS["numpy"],
        ),
        "sklearn spherical BGMM": lambda: per_iteration(
            lambda it: sklearn_spherical(x, phi0, prior_var, it),
            *ITERS["sklearn"],
        ),
    }


def main(report):
    floor = estep_floor(N)
    for prior_var in PRIOR_VARS:
        x = gmm.simulate(N, K, prior_var, seed=0).x
        phi0 = initial_phi(x)
        with report.section(
            "CAVI, Blei et al. mixture (chapter 4), 1-D data drawn from the model",
            n=N,
            K=K,
            prior_var=prior_var,
            rounds=ROUNDS,
            iterations_differenced=ITERS,
        ) as s:
            compare_same_model(s, x, phi0, prior_var)
            compare_with_sklearn(s, x, phi0, prior_var)
            sides = timed_sides(x, phi0, prior_var, floor)
            times = interleaved(ROUNDS, **sides)
            s.timings(times, floor="floor: exp + sum per (i, k)")
            s.ratio(
                "vitutor / sklearn",
                times["vitutor.gmm.cavi"],
                times["sklearn spherical BGMM"],
                target=0.1,
            )
            s.ratio(
                "vitutor / numpy",
                times["vitutor.gmm.cavi"],
                times["numpy, chapter 4's equations"],
            )
            s.ratio(
                "vitutor / floor",
                times["vitutor.gmm.cavi"],
                times["floor: exp + sum per (i, k)"],
                target=1.8,
            )
            if prior_var == PRIOR_VARS[-1]:
                peak_memory(s, x, prior_var)
