"""CAVI and SVI over a Dask array (appendix "Beyond one machine") against the in-memory fits, on a
LocalCluster of two single-threaded worker processes bound to 127.0.0.1."""

import collections
import time

import dask.array as da
import numpy as np
import pytest
from distributed import Client, LocalCluster, get_task_stream

from vitutor import expfam as ef
from vitutor import gmm, scale, svi

K, PRIOR_VAR = 4, 25.0


@pytest.fixture(scope="module")
def client():
    cluster = LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=True,
        host="127.0.0.1",
        dashboard_address=None,
        worker_dashboard_address=None,
    )
    c = Client(cluster)
    yield c
    c.close()
    cluster.close()


def start(x_local, seed=1):
    m0 = np.random.default_rng(seed).choice(x_local, size=K, replace=False)
    return gmm.update_assignments(
        x_local, m0, np.ones(K)
    ), ef.Gaussian.from_mean_var(m0, 1.0).eta


@pytest.fixture(scope="module")
def data():
    return gmm.simulate(20_000, K, PRIOR_VAR, seed=7).x


@pytest.mark.parametrize(
    "chunks",
    [(20_000,), (5000,) * 4, (1, 9999, 7000, 3000)],
    ids=["one", "even", "uneven"],
)
def test_distributed_cavi_equals_gmm_cavi(client, data, chunks):
    x = client.persist(da.from_array(data, chunks=(chunks,)))
    phi0, lam0 = start(data)
    ref = gmm.cavi(data, K, PRIOR_VAR, init_phi=phi0, tol=1e-10)
    got = scale.cavi(
        client,
        gmm.conjugate_form(K, PRIOR_VAR),
        x,
        lam0,
        max_iter=ref.n_iter,
        tol=0.0,
    )
    assert got.n_iter == ref.n_iter
    np.testing.assert_allclose(got.elbo_trace, ref.elbo_trace, rtol=1e-10)
    np.testing.assert_allclose(got.q.mean, ref.m, rtol=1e-10)
    np.testing.assert_allclose(got.q.var, ref.s2, rtol=1e-10)


def test_distributed_cavi_stops_by_tolerance_like_gmm_cavi(client, data):
    x = client.persist(da.from_array(data, chunks=6000))
    phi0, lam0 = start(data, seed=2)
    ref = gmm.cavi(data, K, PRIOR_VAR, init_phi=phi0, tol=1e-9)
    got = scale.cavi(
        client, gmm.conjugate_form(K, PRIOR_VAR), x, lam0, tol=1e-9
    )
    assert got.converged and got.n_iter == ref.n_iter
    assert np.all(
        np.diff(got.elbo_trace) >= -1e-12 * np.abs(got.elbo_trace[1:])
    )


def test_distributed_svi_equals_in_memory_svi(client, data):
    x = client.persist(da.from_array(data, chunks=(3000, 7000, 10_000)))
    model = gmm.conjugate_form(K, PRIOR_VAR)
    _, lam0 = start(data)
    ref = svi.svi(
        model,
        data,
        lam0,
        n_steps=25,
        batch_size=400,
        kappa=0.6,
        tau0=5.0,
        seed=11,
        eval_every=10,
    )
    got = scale.svi(
        client,
        model,
        x,
        lam0,
        n_steps=25,
        batch_size=400,
        kappa=0.6,
        tau0=5.0,
        seed=11,
        eval_every=10,
    )
    np.testing.assert_allclose(got.lam, ref.lam, rtol=1e-12)
    np.testing.assert_allclose(got.elbo_trace, ref.elbo_trace, rtol=1e-12)
    np.testing.assert_array_equal(got.elbo_steps, ref.elbo_steps)


def test_lazily_generated_data_are_deterministic_and_never_materialised(
    client,
):
    x, mu = scale.simulate_mixture(
        50_000, K, PRIOR_VAR, chunk_size=12_000, seed=4
    )
    assert x.chunks == ((12_000,) * 4 + (2000,),)
    again, mu2 = scale.simulate_mixture(
        50_000, K, PRIOR_VAR, chunk_size=12_000, seed=4
    )
    np.testing.assert_array_equal(mu, mu2)
    np.testing.assert_array_equal(
        client.compute(x).result(), client.compute(again).result()
    )
    # the draws are the model's: each point is within a few sd of one of the means
    sample = client.compute(x[:5000]).result()
    assert np.all(np.min(np.abs(sample[:, None] - mu[None, :]), axis=1) < 6.0)


def wait_for_workers(client, n, timeout=60.0):
    deadline = time.monotonic() + timeout
    while len(client.scheduler_info()["workers"]) < n:
        assert time.monotonic() < deadline, (
            "the nanny did not restart the worker"
        )
        time.sleep(0.2)


@pytest.mark.parametrize("source", ["lineage", "file"])
def test_a_worker_lost_mid_fit_changes_nothing(client, tmp_path, source):
    if source == "lineage":
        x, _ = scale.simulate_mixture(
            40_000, K, PRIOR_VAR, chunk_size=5000, seed=9
        )
    else:
        path = tmp_path / "x.npy"
        np.save(path, gmm.simulate(40_000, K, PRIOR_VAR, seed=9).x)
        x = scale.from_npy(path, chunk_size=5000)
    wait_for_workers(client, 2)
    x = client.persist(x)
    local = client.compute(x).result()
    _, lam0 = start(local)
    model = gmm.conjugate_form(K, PRIOR_VAR)
    calm = scale.cavi(client, model, x, lam0, max_iter=8, tol=0.0)
    chunk_keys = set(x.__dask_keys__())
    lost = []

    def on_iteration(t, lam):
        if t == 3:
            lost.append(scale.kill_sole_holder(client, x))

    with get_task_stream(client) as stream:
        hit = scale.cavi(
            client,
            model,
            x,
            lam0,
            max_iter=8,
            tol=0.0,
            callback=on_iteration,
        )
    np.testing.assert_allclose(hit.elbo_trace, calm.elbo_trace, rtol=1e-12)
    np.testing.assert_allclose(hit.lam, calm.lam, rtol=1e-12)
    # the worker held the only copy of at least one chunk: those chunks, and no others, were
    # computed again during the fit (the others stayed where they were)
    ran = collections.Counter(task["key"] for task in stream.data)
    assert lost[0].chunks
    assert {k for k in ran if k in chunk_keys} == set(lost[0].keys)
    assert all(ran[k] == 1 for k in lost[0].keys)
    if source == "file":
        # ... by reading their rows from the file again
        reads = [k for k in ran if "read_rows" in str(k)]
        assert len(reads) == len(lost[0].keys)
    wait_for_workers(client, 2)
    # the process that held them really went away: a fresh worker took its place
    assert lost[0].address not in client.scheduler_info()["workers"]


def test_nan_in_a_chunk_is_reported_with_its_index(client, data):
    bad = data.copy()
    bad[12_345] = np.nan
    x = da.from_array(bad, chunks=5000)
    _, lam0 = start(data)
    with pytest.raises(ValueError, match=r"chunk 2 \(rows 10000\.\.14999\)"):
        scale.cavi(client, gmm.conjugate_form(K, PRIOR_VAR), x, lam0)
    with pytest.raises(ValueError, match="chunk 2"):
        scale.svi(
            client,
            gmm.conjugate_form(K, PRIOR_VAR),
            x,
            lam0,
            n_steps=2,
            batch_size=10,
        )


def test_bad_arrays_and_clients_are_refused(client, data):
    model = gmm.conjugate_form(K, PRIOR_VAR)
    _, lam0 = start(data)
    wide = da.from_array(np.ones((100, 4)), chunks=(50, 2))
    with pytest.raises(ValueError, match="first axis"):
        scale.local_sums(client, model, wide, lam0)
    with pytest.raises(TypeError, match="dask"):
        scale.cavi(client, model, data, lam0)
    with pytest.raises(TypeError, match="client"):
        scale.cavi(
            "tcp://127.0.0.1:1", model, da.from_array(data, chunks=5000), lam0
        )
    with pytest.raises(ValueError, match="init_lam"):
        scale.cavi(
            client, model, da.from_array(data, chunks=5000), np.zeros((K, 2))
        )
    with pytest.raises(ValueError, match="batch_size"):
        scale.svi(
            client,
            model,
            da.from_array(data, chunks=5000),
            lam0,
            n_steps=2,
            batch_size=0,
        )
    with pytest.raises(TypeError, match="callback"):
        scale.cavi(
            client,
            model,
            da.from_array(data, chunks=5000),
            lam0,
            callback="print",
        )
    closed = Client(client.scheduler.address)
    closed.close()
    with pytest.raises(ValueError, match="client"):
        scale.cavi(closed, model, da.from_array(data, chunks=5000), lam0)


def test_tiny_chunks_and_huge_k_are_refused_before_any_graph_is_built(
    tmp_path,
):
    with pytest.raises(ValueError, match="chunk_size = 1 cuts 1000000 rows"):
        scale.simulate_mixture(10**6, K, PRIOR_VAR, chunk_size=1)
    with pytest.raises(ValueError, match="K = 10000000000 means"):
        scale.simulate_mixture(100, 10**10, PRIOR_VAR, chunk_size=10)
    path = tmp_path / "x.npy"
    np.save(path, np.zeros(1000))
    with pytest.raises(ValueError, match="chunk_size = 1 cuts 1000 rows"):
        scale.from_npy(path, chunk_size=1, max_chunks=100)
    assert scale.from_npy(path, chunk_size=10, max_chunks=100).numblocks == (
        100,
    )
    np.save(path, np.array(["a", "b"]))
    with pytest.raises(ValueError, match="numeric"):
        scale.from_npy(path, chunk_size=1)


def test_what_the_client_receives_per_iteration_does_not_grow_with_n(
    client,
):
    # one map-reduce over 4 chunks at n and at 20 n: the data stay on the workers (no chunk
    # moves), the client receives the same bytes, and the workers exchange only the chunk
    # partials (2K + 1 numbers each), whatever n is
    model = gmm.conjugate_form(K, PRIOR_VAR)
    _, lam0 = start(np.linspace(-10.0, 10.0, 50))
    moved = {}
    for n in (20_000, 400_000):
        x, _ = scale.simulate_mixture(
            n, K, PRIOR_VAR, chunk_size=n // 4, seed=3
        )
        x = client.persist(x)
        scale.check_finite(client, x)  # the chunks are in memory
        with scale.traffic(client) as meter:
            scale.local_sums(client, model, x, lam0)
        moved[n] = meter.result
        assert not moved[n].keys & set(x.__dask_keys__())
        assert moved[n].to_client > 0
        # at most one partial per chunk travels between workers, each about the size of the
        # reduced sum the client receives
        assert moved[n].between_workers <= 4 * 1.2 * moved[n].to_client
    assert moved[20_000].to_client == moved[400_000].to_client


def test_a_step_that_samples_rows_reads_every_chunk_and_one_that_samples_chunks_reads_m(
    client, data
):
    x = client.persist(da.from_array(data, chunks=2000))  # 10 chunks
    model = gmm.conjugate_form(K, PRIOR_VAR)
    _, lam0 = start(data)
    for m, per_step in [(None, 10), (1, 1), (3, 3)]:
        with get_task_stream(client) as stream:
            scale.svi(
                client,
                model,
                x,
                lam0,
                n_steps=5,
                batch_size=600,
                seed=1,
                check=False,
                chunks_per_step=m,
            )
        read = [t for t in stream.data if "_block_sums" in str(t["key"])]
        assert len(read) == 5 * per_step


def test_chunk_level_svi_follows_its_minibatches_exactly(client, data):
    sizes = (1, 4999, 6000, 2000, 7000)
    x = client.persist(da.from_array(data, chunks=(sizes,)))
    model = gmm.conjugate_form(K, PRIOR_VAR)
    _, lam0 = start(data)
    got = scale.svi(
        client,
        model,
        x,
        lam0,
        n_steps=12,
        batch_size=500,
        kappa=0.6,
        tau0=5.0,
        seed=4,
        chunks_per_step=2,
    )
    # by hand, in memory: the same plans, weighted chunk sums, eq. (ef-svi-step)
    offsets = np.concatenate([[0], np.cumsum(sizes)])
    plans = scale.chunk_minibatches(sizes, 2, 500, seed=4)
    lam = lam0
    mean_T = ef.Gaussian(lam).mean_T()
    for rho in svi.step_sizes(12, 0.6, 5.0):
        target = model.alpha.copy()
        for j, rows, w in next(plans):
            target += w * model.local_step(data[offsets[j] + rows], mean_T)[0]
        lam = (1 - rho) * lam + rho * target
        mean_T = ef.Gaussian(lam).mean_T()
    np.testing.assert_allclose(got.lam, lam, rtol=1e-12)


def test_chunk_minibatches_weight_each_row_by_its_inverse_inclusion_probability():
    # Monte Carlo over 40 000 batches: for every row, (how often it is drawn) x (its weight)
    # averages to 1, whatever the chunk sizes; hence the weighted sums are unbiased
    sizes = (3, 10, 1, 6)
    offsets = np.concatenate([[0], np.cumsum(sizes)])
    plans = scale.chunk_minibatches(sizes, 2, 5, seed=0)
    S = 40_000
    total = np.zeros(sum(sizes))
    for _ in range(S):
        for j, rows, w in next(plans):
            total[offsets[j] + rows] += w
    # per row the weight times its indicator has variance w - 1 <= max weight
    w_max = (4 / 2) * 10 / 3
    np.testing.assert_array_less(
        np.abs(total / S - 1.0), 5 * np.sqrt(w_max / S)
    )
    t = np.random.default_rng(1).normal(size=sum(sizes))
    assert abs(total @ t / S - t.sum()) < 5 * np.sqrt(
        w_max * np.sum(t**2) * sum(sizes) / S
    )


def test_chunk_minibatches_refuse_bad_arguments():
    with pytest.raises(ValueError, match="chunks_per_step"):
        next(scale.chunk_minibatches((5, 5), 3, 4))
    with pytest.raises(ValueError, match="chunks_per_step"):
        scale.chunk_minibatches((5, 5), 0, 4)
    with pytest.raises(ValueError, match="batch_size"):
        scale.chunk_minibatches((5, 5), 1, 11)
    with pytest.raises(ValueError, match="chunk_sizes"):
        scale.chunk_minibatches((5, 0), 1, 4)
