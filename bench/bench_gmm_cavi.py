"""CAVI for the Blei et al. mixture (chapter 4) against scikit-learn's BayesianGaussianMixture.

Printed, all measured in this one run:

* time per iteration of ``vitutor.gmm.cavi`` at n = 10^6, K = 10, and of scikit-learn's
  ``BayesianGaussianMixture(covariance_type="spherical")`` on the same 1-D data, and their ratio;
* the floor: one ``np.exp`` over an n x K array, and our iteration as a multiple of it;
* peak memory of a ``cavi`` call (tracemalloc), as a multiple of one n x K float64 array.

Per-iteration times are differences: a run of ``a`` iterations minus a run of ``b`` iterations,
divided by ``a - b``, both with ``tol = 0`` so every run does exactly its ``max_iter``
iterations.  Initialisation, input validation and the final responsibilities cancel out, for
scikit-learn and for us alike.  scikit-learn's model is richer (it also learns the component
variances and the mixture weights), so the ratio compares the cost of one variational E+M
iteration on the same data, not identical arithmetic.
"""

import time
import tracemalloc
import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.mixture import BayesianGaussianMixture

from vitutor import gmm

N = 10**6
K = 10
#: Data drawn from the model itself, with well-separated (sigma^2 = 100) and heavily
#: overlapping (sigma^2 = 1) components: scikit-learn's cost per iteration depends on which.
PRIOR_VARS = (100.0, 1.0)


def _best_of(repeats, fn):
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def _per_iteration(fn, lo, hi, repeats):
    return (_best_of(repeats, lambda: fn(hi)) - _best_of(repeats, lambda: fn(lo))) / (hi - lo)


def _ours(x, prior_var, max_iter):
    result = gmm.cavi(x, K, prior_var, seed=0, max_iter=max_iter, tol=0.0)
    assert result.n_iter == max_iter


def _sklearn(x, max_iter):
    model = BayesianGaussianMixture(
        n_components=K,
        covariance_type="spherical",
        max_iter=max_iter,
        tol=0.0,
        n_init=1,
        init_params="random_from_data",
        random_state=0,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(x[:, None])
    assert model.n_iter_ == max_iter


def main():
    a = np.random.default_rng(0).standard_normal((N, K))
    out = np.empty_like(a)
    floor = _best_of(5, lambda: np.exp(a, out=out))
    del a, out
    print(f"CAVI, Blei et al. mixture, n = {N:.0e}, K = {K}, 1-D data drawn from the model")
    print(f"  floor: one np.exp over an n x K array: {1e3 * floor:.1f} ms")
    results = {"floor": floor}
    for prior_var in PRIOR_VARS:
        x = gmm.simulate(N, K, prior_var, seed=0).x
        ours = _per_iteration(lambda it: _ours(x, prior_var, it), 2, 12, 3)
        sk = _per_iteration(lambda it: _sklearn(x, it), 1, 4, 2)
        print(f"  sigma^2 = {prior_var:g}:")
        print(f"    vitutor.gmm.cavi                 {1e3 * ours:8.1f} ms / iteration = {ours / floor:.1f} x floor")
        print(f"    sklearn BayesianGaussianMixture  {1e3 * sk:8.1f} ms / iteration (spherical)")
        print(f"    ratio vitutor / sklearn          {ours / sk:8.3f}   (target <= 0.1)")
        results[prior_var] = {"ours": ours, "sklearn": sk, "ratio": ours / sk}

    tracemalloc.start()
    gmm.cavi(x, K, PRIOR_VARS[-1], seed=0, max_iter=3, tol=0.0)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    ratio = peak / (N * K * 8)
    print(f"  peak memory of one cavi call: {peak / 2**20:.1f} MB = {ratio:.2f} x one n x K float64 array (phi)")
    results["peak_bytes"] = peak
    return results
