"""CAVI for chapter 4's mixture on a Dask cluster (appendix "Beyond one machine") against one
process.

* Time per CAVI iteration of ``vitutor.scale.cavi`` at n = 10^7, K = 10, chunks of 10^6, on a
  ``LocalCluster`` of 2 worker processes with 1 thread each, as a ratio to ``vitutor.gmm.cavi`` on
  the same data in this one process (target <= 0.7 on a 2-core machine: both cores work on the
  cluster side, one in memory).  Per-iteration times are differences of a 6- and a 2-iteration run,
  so set-up and the first pass cancel; the two sides alternate in rounds.  The two sides' ELBO
  traces are checked to agree to 1e-10.
* Bytes the client process reads per iteration (``rchar`` of ``/proc/self/io``: every byte it reads,
  from sockets and anything else, so an upper bound on what reaches it), at n = 10^6 and n = 10^7
  (target <= 10 kB, independent of n).
"""

import functools
import time
from pathlib import Path

import numpy as np
from distributed import Client, LocalCluster

from bench._harness import interleaved, per_iteration
from vitutor import expfam as ef
from vitutor import gmm, scale

K, PRIOR_VAR, CHUNK = 10, 100.0, 10**6
ROUNDS = 3


def _bytes_read():
    for line in Path("/proc/self/io").read_text().splitlines():
        if line.startswith("rchar:"):
            return int(line.split()[1])
    raise RuntimeError("/proc/self/io has no rchar line")


def _with_max_iter(fit, *args, **kwargs):
    """``run(it) = fit(*args, max_iter=it, **kwargs)`` for ``per_iteration``, bound now."""

    def run(it):
        return fit(*args, max_iter=it, **kwargs)

    return run


def _bytes_per_iteration(client, model, x, lam0, lo=2, hi=22):
    counts = []
    for it in (lo, hi):
        before = _bytes_read()
        scale.cavi(client, model, x, lam0, max_iter=it, tol=0.0, check=False)
        counts.append(_bytes_read() - before)
    return (counts[1] - counts[0]) / (hi - lo)


def main(report):
    cluster = LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=True,
        host="127.0.0.1",
        dashboard_address=None,
        worker_dashboard_address=None,
    )
    client = Client(cluster)
    try:
        model = gmm.conjugate_form(K, PRIOR_VAR)
        traffic = {}
        for n in (10**6, 10**7):
            x, _ = scale.simulate_mixture(
                n, K, PRIOR_VAR, chunk_size=CHUNK, seed=0
            )
            x = client.persist(x)
            x_local = client.compute(x).result()
            m0 = np.random.default_rng(1).choice(
                x_local, size=K, replace=False
            )
            lam0 = ef.Gaussian.from_mean_var(m0, 1.0).eta
            traffic[n] = _bytes_per_iteration(client, model, x, lam0)
            if n == 10**7:
                phi0 = gmm.update_assignments(x_local, m0, np.ones(K))
                with report.section(
                    "CAVI on a LocalCluster vs in one process",
                    n=n,
                    K=K,
                    chunk=CHUNK,
                    workers="2 processes x 1 thread",
                ) as s:
                    ref = gmm.cavi(
                        x_local,
                        K,
                        PRIOR_VAR,
                        init_phi=phi0,
                        max_iter=6,
                        tol=0.0,
                    )
                    got = scale.cavi(
                        client, model, x, lam0, max_iter=6, tol=0.0
                    )
                    diff = np.max(
                        np.abs(got.elbo_trace - ref.elbo_trace)
                        / np.abs(ref.elbo_trace)
                    )
                    s.check(
                        "max relative difference of the ELBO traces",
                        diff,
                        limit=1e-10,
                    )
                    cluster_run = _with_max_iter(
                        scale.cavi,
                        client,
                        model,
                        x,
                        lam0,
                        tol=0.0,
                        check=False,
                    )
                    memory_run = _with_max_iter(
                        gmm.cavi, x_local, K, PRIOR_VAR, init_phi=phi0, tol=0.0
                    )
                    times = interleaved(
                        ROUNDS,
                        cluster=functools.partial(
                            per_iteration, cluster_run, 2, 6
                        ),
                        memory=functools.partial(
                            per_iteration, memory_run, 2, 6
                        ),
                    )
                    s.timings(times)
                    s.ratio(
                        "cluster / in memory",
                        times["cluster"],
                        times["memory"],
                        target=0.7,
                    )
                    for size, value in traffic.items():
                        s.figure(
                            f"client_bytes_per_iteration_n{size:.0e}",
                            value,
                            f"bytes read by the client per iteration at n = {size:.0e}: "
                            f"{value:,.0f} "
                            f"(target <= 10,000)",
                        )
                    s.check(
                        "bytes per iteration at n = 1e7 over 10 kB (bytes)",
                        traffic[10**7],
                        limit=10_000,
                    )
                    s.note(
                        "the cluster side runs on both cores, the in-memory side on one; "
                        "both use the same blocked E-step (gmm.conjugate_form's local step)"
                    )
            time.sleep(0.5)
    finally:
        client.close()
        cluster.close()
