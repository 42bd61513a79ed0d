r"""CAVI and SVI for a conditionally conjugate model over a Dask array -- appendix "Beyond one
machine".

The global update of chapter 6, ``lam = alpha + sum_i E[t(z_i, x_i)]`` (eq. :eq:`ef-global-update`),
and the data part of the collapsed ELBO (eq. :eq:`ef-collapsed`) are sums over data points, so
they are sums over the chunks of a ``dask.array`` (eq. :eq:`scale-map-reduce`).  Each iteration
here maps the model's own local step (:attr:`vitutor.svi.ConjugateModel.local_step`, for the
mixture the blocked E-step of :func:`vitutor.gmm.cavi`) over the chunks where they live and adds
up ``alpha.size + 1`` numbers per chunk; the data never move and never come back to the client.

:func:`svi` can also sample whole chunks (:func:`chunk_minibatches`), so that a step reads only
the chunks it draws.  :func:`traffic` measures what the workers really send (to the client and
to each other) from their transfer logs, and :func:`kill_sole_holder` is a fault drill: it ends a
worker that holds the only copy of some chunks, so that Dask must recompute them.

Anything that talks to a ``distributed.Client`` works: a ``LocalCluster`` on a laptop, or
``Client("tcp://scheduler:8786")`` on a real cluster.  This is the only module of ``vitutor`` that
imports Dask.
"""

from __future__ import annotations

import collections
import os
import signal
import time
from dataclasses import dataclass

import dask
import dask.array as da
import numpy as np
from distributed import Client, futures_of

from ._validate import (
    MAX_ELEMENTS,
    check_bool,
    check_elements,
    check_int,
    check_nonnegative,
    check_positive,
    check_returned,
    check_seed,
)
from .expfam import ExponentialFamily
from .svi import (
    ConjugateModel,
    _check_lam,
    _elbo_of,
    _natural_step,
    _run_local_step,
    _svi_arguments,
    _svi_result,
    minibatches,
)

__all__ = [
    "MAX_CHUNKS",
    "CaviResult",
    "from_npy",
    "simulate_mixture",
    "check_finite",
    "local_sums",
    "cavi",
    "svi",
    "chunk_minibatches",
    "Traffic",
    "TrafficMeter",
    "traffic",
    "LostWorker",
    "kill_sole_holder",
]


def _check_client(client):
    if not isinstance(client, Client):
        raise TypeError(
            f"client must be a distributed.Client, got {type(client).__name__}"
        )
    if client.status != "running":
        raise ValueError(
            f"client must be connected to a running scheduler; its status is {client.status!r}"
        )
    return client


def _check_array(x):
    if not isinstance(x, da.Array):
        raise TypeError(
            f"x must be a dask.array.Array, got {type(x).__name__}"
        )
    if x.ndim < 1 or x.shape[0] < 1:
        raise ValueError(
            f"x must have a non-empty first axis of data points, got shape {x.shape}"
        )
    if any(np.isnan(s) for s in x.shape):
        raise ValueError(
            "x must have known chunk sizes (call x.compute_chunk_sizes())"
        )
    if any(len(c) != 1 for c in x.chunks[1:]):
        raise ValueError(
            f"x must be chunked along its first axis (data points) only, got chunks {x.chunks}"
        )
    if not _is_real(x.dtype):
        raise TypeError(f"x must hold real numbers, got dtype {x.dtype}")
    return x


#: Default cap on the number of chunks :func:`from_npy` and :func:`simulate_mixture` cut the data
#: into: each chunk is a task in every iteration's graph (about a millisecond of scheduler time and
#: a kilobyte of its memory apiece), so a tiny ``chunk_size`` on large data would stall the
#: scheduler long before any arithmetic.  Above it a ValueError names ``chunk_size``.
MAX_CHUNKS = 100_000


def _check_chunks(n, chunk_size, max_chunks):
    chunk_size = check_int(chunk_size, "chunk_size", 1)
    max_chunks = check_int(max_chunks, "max_chunks", 1)
    n_chunks = -(-n // chunk_size)
    if n_chunks > max_chunks:
        raise ValueError(
            f"chunk_size = {chunk_size} cuts {n} rows into {n_chunks} chunks, more than "
            f"max_chunks = {max_chunks}: use larger chunks (10**6 to 10**7 points is typical)"
        )
    return chunk_size


def _check_callback(callback):
    if callback is not None and not callable(callback):
        raise TypeError(
            f"callback must be callable or None, got {type(callback).__name__}"
        )
    return callback


def _offsets(x):
    return np.concatenate([[0], np.cumsum(x.chunks[0])])


def from_npy(path, chunk_size, max_chunks=MAX_CHUNKS):
    """A lazy ``dask.array`` over a ``.npy`` file, each chunk read by the task that needs it.

    The file is opened with ``numpy.load(..., mmap_mode="r")`` inside each task, so nothing is read
    on the client, and a chunk lost with a worker is read again from the file when Dask recomputes
    it.  The file must be readable at the same path from every worker.

    Parameters
    ----------
    path : str or os.PathLike
        A ``.npy`` file whose first axis indexes data points.
    chunk_size : int
        Rows per chunk.
    max_chunks : int
        Largest number of chunks (:data:`MAX_CHUNKS` by default); above it a ValueError naming
        ``chunk_size`` is raised.

    Returns
    -------
    dask.array.Array
    """
    path = _check_npy(path)
    chunk_size = check_int(chunk_size, "chunk_size", 1)
    try:
        header = np.load(path, mmap_mode="r")
    except ValueError as err:
        raise ValueError(
            f"path must hold an array of real numbers, but {path!r} cannot be "
            f"memory-mapped: {err}"
        ) from None
    shape, dtype = header.shape, header.dtype
    del header
    if len(shape) < 1 or shape[0] < 1 or not _is_real(dtype):
        raise ValueError(
            f"path must hold a non-empty numeric array of real numbers, got shape {shape} of "
            f"dtype {dtype}"
        )
    n, shape = shape[0], shape[1:]
    chunk_size = _check_chunks(n, chunk_size, max_chunks)
    starts = range(0, n, chunk_size)
    parts = [
        da.from_delayed(
            dask.delayed(_read_rows)(path, a, min(a + chunk_size, n)),
            shape=(min(a + chunk_size, n) - a,) + shape,
            dtype=dtype,
        )
        for a in starts
    ]
    return da.concatenate(parts, axis=0)


def _is_real(dtype):
    return dtype != np.bool_ and (
        np.issubdtype(dtype, np.integer) or np.issubdtype(dtype, np.floating)
    )


def _check_npy(path):
    """``path`` as a str naming a readable ``.npy`` file (not ``.npz``, text or pickles)."""
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(
            f"path must be a str or os.PathLike naming a .npy file, got {type(path).__name__}"
        )
    path = os.fspath(path)
    if not isinstance(path, str):
        path = os.fsdecode(path)
    if not os.path.isfile(path):
        raise ValueError(f"path must name an existing .npy file, got {path!r}")
    with open(path, "rb") as f:
        magic = f.read(6)
    if magic != b"\x93NUMPY":
        raise ValueError(
            f"path must name a .npy file (numpy.save), but {path!r} does not start with the "
            ".npy magic string (an .npz archive, text or a pickle?)"
        )
    return path


def _read_rows(path, start, stop):
    return np.array(np.load(path, mmap_mode="r")[start:stop])


def simulate_mixture(
    n,
    K,
    prior_var,
    chunk_size,
    seed=0,
    max_chunks=MAX_CHUNKS,
    max_elements=MAX_ELEMENTS,
):
    """Chapter 4's mixture, generated lazily chunk by chunk from a seed -- eq. :eq:`gmm-model`.

    The ``K`` means are drawn on the client with ``numpy.random.default_rng(seed)``; the assignments
    and the noise are Dask random arrays seeded from the same ``seed``, so every chunk is a
    deterministic function of ``(seed, chunk)``: nothing of size ``n`` exists on the client, and a
    chunk lost with a worker is recomputed identically from its lineage.

    Parameters
    ----------
    n, K : int
        Data points and components.
    prior_var : float
        Prior variance of the means, ``> 0``.
    chunk_size : int
        Points per chunk.
    seed : int
        Source of all randomness.
    max_chunks : int
        Largest number of chunks ``ceil(n / chunk_size)``; above it a ValueError naming
        ``chunk_size`` is raised.
    max_elements : int
        Largest ``K`` (the means, drawn on the client) and ``3 chunk_size`` (what one task
        holds); above it a ValueError naming ``K`` or ``chunk_size`` is raised.

    Returns
    -------
    x : dask.array.Array, shape (n,)
    mu : numpy.ndarray, shape (K,)
    """
    n = check_int(n, "n", 1)
    K = check_int(K, "K", 1)
    check_elements(K, f"K = {K} means", max_elements)
    prior_var = check_positive(prior_var, "prior_var")
    chunk_size = _check_chunks(n, chunk_size, max_chunks)
    check_elements(
        3 * min(chunk_size, n),
        f"chunk_size = {chunk_size} points per task",
        max_elements,
    )
    seed = check_int(seed, "seed", 0)
    mu = np.random.default_rng(seed).normal(0.0, np.sqrt(prior_var), size=K)
    rng = da.random.default_rng(seed)
    c = rng.integers(0, K, size=n, chunks=chunk_size)
    x = da.map_blocks(np.take, mu, c, dtype=float) + rng.standard_normal(
        n, chunks=chunk_size
    )
    return x, mu


def _chunk_flags(block):
    return np.array([np.all(np.isfinite(block))])


def check_finite(client, x):
    """Refuse ``x`` if any chunk holds NaN or inf, naming the first such chunk and its rows.

    One pass over the data on the workers; one boolean per chunk comes back.

    Parameters
    ----------
    client : distributed.Client
    x : dask.array.Array

    Raises
    ------
    ValueError
        ``"x: chunk j (rows a..b-1) contains NaN or inf"``.
    """
    client = _check_client(client)
    x = _check_array(x)
    flat = x.reshape(x.shape[0], -1) if x.ndim > 1 else x
    flags = client.compute(
        flat.map_blocks(
            _chunk_flags,
            chunks=(1,),
            drop_axis=list(range(1, flat.ndim)),
            dtype=bool,
        )
    ).result()
    bad = np.flatnonzero(~flags)
    if bad.size:
        j = int(bad[0])
        off = _offsets(x)
        raise ValueError(
            f"x: chunk {j} (rows {off[j]}..{off[j + 1] - 1}) contains NaN or inf; "
            f"{bad.size} of {flags.size} chunks do"
        )


def _block_sums(block, local_step, mean_T, rows=None, weight=1.0):
    # one chunk's (sum_i E[t(z_i, x_i)], sum_i local ELBO terms), flattened into alpha.size + 1
    # numbers; local_step's output is checked here (a pair, stats of alpha's shape, a number),
    # its NaN or inf on the client, where the iteration is known; a chunk drawn by
    # chunk_minibatches scales its sums by its weight
    part = block if rows is None else block[rows]
    stats, local = _run_local_step(
        local_step,
        np.asarray(part, dtype=float),
        mean_T,
        " in a chunk on a worker",
        finite=False,
    )
    return weight * np.concatenate([np.ravel(stats), [local]])


def _sum_parts(*parts):
    return np.sum(np.stack(parts), axis=0)


def _map_reduce(client, model, x, mean_T, rows_by_chunk=None, when=""):
    blocks = x.to_delayed().ravel()
    if rows_by_chunk is None:
        parts = [
            dask.delayed(_block_sums, pure=False)(b, model.local_step, mean_T)
            for b in blocks
        ]
    else:
        parts = [
            dask.delayed(_block_sums, pure=False)(
                blocks[j], model.local_step, mean_T, *rows
            )
            for j, *rows in rows_by_chunk
        ]
    total = client.compute(
        dask.delayed(_sum_parts, pure=False)(*parts)
    ).result()
    stats = check_returned(
        total[:-1], "local_step", "stats (in some chunk)", None, when
    )
    local = check_returned(
        total[-1], "local_step", "local_elbo (in some chunk)", (), when
    )
    return stats.reshape(model.alpha.shape), float(local)


def local_sums(client, model, x, lam):
    """``sum_i E[t(z_i, x_i)]`` and the data part of the ELBO, one map over the chunks of ``x`` and
    a sum
    -- eq. :eq:`scale-map-reduce`.

    Parameters
    ----------
    client : distributed.Client
    model : vitutor.svi.ConjugateModel
    x : dask.array.Array
        Chunked along its first axis only.
    lam : array_like or ExponentialFamily
        Natural parameter of ``q(beta)``.

    Returns
    -------
    stats : numpy.ndarray
        Shaped like ``model.alpha``.
    local_elbo : float
    """
    client = _check_client(client)
    model = _check_model(model)
    x = _check_array(x)
    lam = _check_lam(model, lam)
    return _map_reduce(client, model, x, model.family(lam).mean_T())


def _check_model(model):
    if not isinstance(model, ConjugateModel):
        raise TypeError(
            f"model must be a vitutor.svi.ConjugateModel, got {type(model).__name__}"
        )
    return model


@dataclass(frozen=True)
class CaviResult:
    """Output of :func:`cavi`: ``lam`` and ``q`` (the global factor), ``elbo_trace[t]`` the
    collapsed
    ELBO after iteration ``t + 1``, ``n_iter`` and ``converged``."""

    lam: np.ndarray
    q: ExponentialFamily
    elbo_trace: np.ndarray
    n_iter: int
    converged: bool


def cavi(
    client,
    model,
    x,
    init_lam,
    max_iter=1000,
    tol=1e-10,
    check=True,
    callback=None,
):
    """CAVI over a Dask array: one map-reduce per iteration -- eqs. :eq:`ef-global-update`,
    :eq:`scale-map-reduce`.

    A first pass at ``init_lam`` gives the local optima and ``lam_1 = alpha + sum_i E[t_i]``; then
    iteration ``t`` maps the local step at ``lam_t`` over the chunks, records the collapsed ELBO
    ``L(lam_t)`` (eq. :eq:`ef-collapsed`) from the same pass, and sets ``lam_{t+1}``.  For the
    mixture this is :func:`vitutor.gmm.cavi` started from the responsibilities that ``init_lam``
    implies, with the sums taken in a different order.

    Parameters
    ----------
    client : distributed.Client
    model : vitutor.svi.ConjugateModel
    x : dask.array.Array
        The data, chunked along the first axis only, ideally persisted on the workers
        (``x = client.persist(x)``).
    init_lam : array_like or ExponentialFamily
        Initial natural parameter of ``q(beta)``.
    max_iter : int
        Maximum number of iterations.
    tol : float
        Stop when an iteration raises the ELBO by at most ``tol * |ELBO|``.
    check : bool
        First refuse data with NaN or inf (:func:`check_finite`, one extra pass).
    callback : callable, optional
        ``callback(t, lam)`` after iteration ``t`` (progress, checkpoints).

    Returns
    -------
    CaviResult
    """
    client = _check_client(client)
    model = _check_model(model)
    x = _check_array(x)
    lam = _check_lam(model, init_lam, "init_lam")
    max_iter = check_int(max_iter, "max_iter", 1)
    tol = check_nonnegative(tol, "tol")
    callback = _check_callback(callback)
    if check_bool(check, "check"):
        check_finite(client, x)
    stats, _ = _map_reduce(
        client, model, x, model.family(lam).mean_T(), when=" at iteration 0"
    )
    trace = []
    converged = False
    for t in range(1, max_iter + 1):
        lam = model.alpha + stats
        stats, local = _map_reduce(
            client,
            model,
            x,
            model.family(lam).mean_T(),
            when=f" at iteration {t}",
        )
        trace.append(_elbo_of(model, lam, local))
        if callback is not None:
            callback(t, lam)
        if len(trace) > 1 and trace[-1] - trace[-2] <= tol * abs(trace[-1]):
            converged = True
            break
    q = model.family(lam)
    elbo_trace = np.asarray(trace)
    elbo_trace.setflags(write=False)
    return CaviResult(
        lam=q.eta,
        q=q,
        elbo_trace=elbo_trace,
        n_iter=len(trace),
        converged=converged,
    )


def svi(
    client,
    model,
    x,
    init_lam,
    n_steps,
    batch_size,
    kappa=0.7,
    tau0=1.0,
    seed=None,
    eval_every=None,
    check=True,
    callback=None,
    chunks_per_step=None,
):
    """Stochastic VI over a Dask array -- algorithm :prf:ref:`ef-svi`.

    By default the minibatches are those of :func:`vitutor.svi.minibatches` with the same ``seed``
    (distinct indices into all ``n`` rows), so a run reproduces the in-memory
    :func:`vitutor.svi.svi` step for step.  Each step sends every chunk that holds rows of the
    batch the row numbers it holds; the chunk computes the local step on those rows where it
    lives and returns its sums.  A uniform batch of ``batch_size`` rows out of ``C`` chunks of
    ``n / C`` rows misses a given chunk with probability about ``(1 - 1/C)^batch_size``, so with
    a batch much larger than ``C`` every step reads every chunk.

    With ``chunks_per_step = m``, each step instead draws ``m`` of the ``C`` chunks and rows
    within them (:func:`chunk_minibatches`): it reads only those ``m`` chunks, and the weighted
    target ``alpha + sum_j w_j sum_{i in B_j} E[t_i]`` is still an unbiased estimate of
    ``lam_hat`` (eq. :eq:`scale-chunk-weights`).

    Parameters
    ----------
    client : distributed.Client
    model : vitutor.svi.ConjugateModel
    x : dask.array.Array
        The data, chunked along the first axis only.
    init_lam : array_like or ExponentialFamily
    n_steps, batch_size : int
    kappa, tau0 : float
        ``rho_t = (t + tau0)^(-kappa)``, ``kappa`` in ``(0.5, 1]``.
    seed : int, numpy.random.Generator or None
    eval_every : int or None
        As in :func:`vitutor.svi.svi` (each evaluation is one map-reduce over all the data).
    check : bool
        First refuse data with NaN or inf.
    callback : callable, optional
        ``callback(t, lam)`` after step ``t``.
    chunks_per_step : int or None
        ``None`` samples rows uniformly from all ``n``; an int ``m`` in ``1..C`` samples ``m``
        chunks per step and about ``batch_size / m`` rows in each (chunk-level sampling).

    Returns
    -------
    vitutor.svi.SviResult
    """
    client = _check_client(client)
    model = _check_model(model)
    x = _check_array(x)
    n = x.shape[0]
    lam, rho, batch_size, eval_every = _svi_arguments(
        model, n, init_lam, n_steps, batch_size, kappa, tau0, eval_every
    )
    n_steps = rho.size
    callback = _check_callback(callback)
    if check_bool(check, "check"):
        check_finite(client, x)
    offsets = _offsets(x)
    if chunks_per_step is None:
        batches = minibatches(n, batch_size, seed)
        scale = n / batch_size
    else:
        plans = chunk_minibatches(
            x.chunks[0], chunks_per_step, batch_size, seed
        )
        scale = 1.0  # each chunk's sums carry their own weight

    def full_elbo(lam, t):
        return _elbo_of(
            model,
            lam,
            _map_reduce(
                client,
                model,
                x,
                model.family(lam).mean_T(),
                when=f" (full-data ELBO at step {t})",
            )[1],
        )

    trace, at = ([], []) if eval_every is None else ([full_elbo(lam, 0)], [0])
    for t in range(1, n_steps + 1):
        if chunks_per_step is None:
            idx = next(batches)
            chunk_of = np.searchsorted(offsets, idx, side="right") - 1
            rows_by_chunk = [
                (int(j), idx[chunk_of == j] - offsets[j])
                for j in np.unique(chunk_of)
            ]
        else:
            rows_by_chunk = next(plans)
        stats, _ = _map_reduce(
            client,
            model,
            x,
            model.family(lam).mean_T(),
            rows_by_chunk,
            when=f" at step {t}",
        )
        lam = _natural_step(model, lam, stats, scale, rho[t - 1])
        if callback is not None:
            callback(t, lam)
        if eval_every is not None and (t == n_steps or t % eval_every == 0):
            trace.append(full_elbo(lam, t))
            at.append(t)
    return _svi_result(model, lam, trace, at, rho, batch_size, kappa, tau0, n)


def chunk_minibatches(chunk_sizes, chunks_per_step, batch_size, seed=None):
    r"""Endless chunk-level minibatches: ``m`` chunks, then rows within each -- eq.
    :eq:`scale-chunk-weights`.

    Each batch draws ``m = chunks_per_step`` distinct chunks uniformly out of ``C``, then
    ``b_j = min(n_j, ceil(batch_size / m))`` distinct rows uniformly within each drawn chunk
    ``j`` of ``n_j`` rows, and gives the chunk the weight ``w_j = (C / m) (n_j / b_j)``, the
    inverse of the probability ``(m / C) (b_j / n_j)`` that a given row of chunk ``j`` is drawn.
    Then ``E[sum_{j drawn} w_j sum_{i in B_j} t_i] = sum_i t_i`` for any per-row ``t``: the
    weighted sum is an unbiased estimate of the full sum (Horvitz and Thompson), whatever the
    chunk sizes.  A step that uses it reads ``m`` chunks, not all of them.

    Parameters
    ----------
    chunk_sizes : sequence of int
        Rows per chunk, ``x.chunks[0]`` of a Dask array.
    chunks_per_step : int
        Chunks per batch, in ``1..C``.
    batch_size : int
        Rows per batch, about; in ``1..n``.
    seed : int, numpy.random.Generator or None

    Yields
    ------
    list of (int, numpy.ndarray, float)
        ``(j, rows, w_j)`` for each drawn chunk, in increasing ``j``: the chunk's index, the
        sorted row numbers within it and its weight.
    """
    sizes = np.asarray(chunk_sizes)
    if (
        sizes.ndim != 1
        or sizes.size < 1
        or not np.issubdtype(sizes.dtype, np.integer)
        or np.any(sizes < 1)
    ):
        raise ValueError(
            "chunk_sizes must be a non-empty sequence of positive integers"
        )
    C, n = sizes.size, int(sizes.sum())
    m = check_int(chunks_per_step, "chunks_per_step", 1)
    if m > C:
        raise ValueError(
            f"chunks_per_step must be <= the number of chunks {C}, got {m}"
        )
    batch_size = check_int(batch_size, "batch_size", 1)
    if batch_size > n:
        raise ValueError(f"batch_size must be <= n = {n}, got {batch_size}")
    per_chunk = -(-batch_size // m)
    rng = check_seed(seed)
    return _chunk_plans(sizes, m, per_chunk, rng)


def _chunk_plans(sizes, m, per_chunk, rng):
    C = sizes.size
    while True:
        plan = []
        for j in np.sort(rng.choice(C, size=m, replace=False)):
            n_j = int(sizes[j])
            b_j = min(n_j, per_chunk)
            rows = np.sort(rng.choice(n_j, size=b_j, replace=False))
            plan.append((int(j), rows, (C / m) * (n_j / b_j)))
        yield plan


@dataclass(frozen=True)
class Traffic:
    """What :func:`traffic` measured: bytes the workers sent while the block ran.

    ``to_client`` counts what left a worker for the client (results gathered by the scheduler on
    the client's behalf, or by the client directly), ``between_workers`` what one worker fetched
    from another (inputs of the reduction); both are bytes on the wire, as each worker's
    ``transfer_outgoing_log`` records them.  ``keys`` are the Dask keys of everything that
    moved, ``transfers`` the number of transfers.
    """

    to_client: int
    between_workers: int
    keys: frozenset
    transfers: int


def _outgoing(dask_worker):
    # replies to requests for data: in flight, made so far, and the log of the latest ones
    return (
        dask_worker.transfer_outgoing_count,
        dask_worker.transfer_outgoing_count_total,
        [
            (e["who"], tuple(e["keys"]), int(e["compressed"]))
            for e in dask_worker.transfer_outgoing_log
        ],
    )


class TrafficMeter:
    """Context manager returned by :func:`traffic`; after the block, ``result`` is a
    :class:`Traffic`."""

    def __init__(self, client):
        self.client = client
        self.result = None

    def _logs(self):
        # a reply is logged once the requester has confirmed it: wait for those in flight
        deadline = time.monotonic() + 10.0
        while True:
            logs = self.client.run(_outgoing)
            if (
                all(busy == 0 for busy, _, _ in logs.values())
                or time.monotonic() > deadline
            ):
                return logs
            time.sleep(0.01)

    def __enter__(self):
        self._before = {w: made for w, (_, made, _) in self._logs().items()}
        return self

    def __exit__(self, *exc):
        if exc[0] is not None:
            return False
        workers = set(self.client.scheduler_info()["workers"])
        to_client = between = transfers = 0
        keys = set()
        for w, (_, made, log) in self._logs().items():
            if w not in self._before:
                continue
            new = made - self._before[w]
            if new > len(log):
                raise RuntimeError(
                    f"worker {w} made {new} transfers, more than its log holds "
                    f"({len(log)})"
                )
            for who, moved, nbytes in log[len(log) - new :]:
                if who in workers:
                    between += nbytes
                else:
                    to_client += nbytes
                keys.update(moved)
                transfers += 1
        self.result = Traffic(
            to_client=to_client,
            between_workers=between,
            keys=frozenset(keys),
            transfers=transfers,
        )
        return False


def traffic(client):
    """Measure the data the workers send while a block runs.

    ``with scale.traffic(client) as meter: ...``, then ``meter.result`` is a :class:`Traffic`.
    It is read from the workers' own transfer logs (``Worker.transfer_outgoing_log``: one entry
    per reply to a request for data, with the requester, the keys and the bytes written), so it
    counts what Dask really moved, not what the code meant to move.  Workers that join or leave
    during the block are not counted.  Bytes are those written to the connection, so workers in
    the client's own process (``LocalCluster(processes=False)``, whose in-process channel reports
    no sizes) count one per message: measure with worker processes.

    Parameters
    ----------
    client : distributed.Client

    Returns
    -------
    TrafficMeter

    Raises
    ------
    RuntimeError
        On leaving the block, if a worker made more transfers than its log holds.
    """
    return TrafficMeter(_check_client(client))


def _chunk_keys(x):
    keys = x.__dask_keys__()
    while keys and isinstance(keys[0], list):
        keys = [k for sub in keys for k in sub]
    return keys


@dataclass(frozen=True)
class LostWorker:
    """What :func:`kill_sole_holder` did: the worker it ended (``address``) and the chunks of
    ``x`` whose only copy that worker held (``chunks``, their indices along the first axis, and
    ``keys``, their Dask keys)."""

    address: str
    chunks: tuple
    keys: tuple


def _sigkill(pid):
    os.kill(pid, getattr(signal, "SIGKILL", signal.SIGTERM))


def kill_sole_holder(client, x, timeout=60.0):
    """A fault drill: end a worker process that holds the only copy of some chunks of ``x``.

    Asks the scheduler which workers hold each chunk of the persisted ``x`` (``who_has``).  If
    every chunk has a copy on more than one worker, extra copies are dropped
    (``client.replicate(..., n=1)``), since killing a worker whose chunks live elsewhere too
    would lose nothing.  The worker holding the only copy of the most chunks is then killed with
    ``SIGKILL`` by its own nanny (so this works on any cluster whose workers run under nannies;
    the nanny starts a fresh, empty worker), and the call returns once the scheduler has
    removed it.  A later computation that needs the lost chunks makes Dask recompute them from
    their lineage (or read them again, for :func:`from_npy`).

    Parameters
    ----------
    client : distributed.Client
    x : dask.array.Array
        Persisted on the cluster (``x = client.persist(x)``).
    timeout : float
        Seconds to wait for the scheduler to notice, ``> 0``.

    Returns
    -------
    LostWorker
    """
    client = _check_client(client)
    x = _check_array(x)
    timeout = check_positive(timeout, "timeout")
    futures = futures_of(x)
    if not futures:
        raise ValueError(
            "x must be persisted on the cluster: x = client.persist(x)"
        )
    index = {key: j for j, key in enumerate(_chunk_keys(x))}
    who = client.who_has(futures)
    if not any(len(holders) == 1 for holders in who.values()):
        client.replicate(futures, n=1)
        who = client.who_has(futures)
    sole = {key: hs[0] for key, hs in who.items() if len(hs) == 1}
    if not sole:
        raise RuntimeError("no chunk of x is held by a single worker")
    victim = collections.Counter(sole.values()).most_common(1)[0][0]
    lost = sorted((index[k], k) for k, w in sole.items() if w == victim)
    pid = client.run(os.getpid, workers=[victim])[victim]
    client.run(_sigkill, pid, workers=[victim], nanny=True)
    deadline = time.monotonic() + timeout
    while victim in client.scheduler_info()["workers"]:
        if time.monotonic() > deadline:
            raise TimeoutError(
                f"the scheduler still lists {victim} after {timeout} s"
            )
        time.sleep(0.05)
    return LostWorker(
        address=victim,
        chunks=tuple(j for j, _ in lost),
        keys=tuple(k for _, k in lost),
    )
