r"""Latent Dirichlet allocation by mean-field variational inference -- chapter 7.

The model (eq. :eq:`lda-model`), with ``K`` topics over a vocabulary of ``V`` word types::

    beta_k  ~ Dirichlet(eta 1_V),            k = 1..K     (topics)
    theta_d ~ Dirichlet(alpha 1_K),          d = 1..D     (topic proportions)
    z_dn | theta_d ~ Categorical(theta_d),   n = 1..N_d   (topic of a token)
    w_dn | z_dn, beta ~ Categorical(beta_{z_dn})          (the token)

and the mean-field family ``q(beta | lam) prod_d q(theta_d | gamma_d) prod_dn q(z_dn | phi_dn)``
with Dirichlet factors for ``beta_k`` (parameter ``lam[k]``) and ``theta_d`` (``gamma[d]``) and
categorical ones for the tokens.  Documents are rows of a document-term matrix ``X`` of counts
``n_dw`` (a ``scipy.sparse`` CSR matrix).

The E-step never stores ``phi``.  With ``exp E[log theta_dk]`` (a ``D x K`` table) and
``exp E[log beta_kw]`` (``K x V``), the optimal ``phi_dwk`` is their product over the normaliser
``norm_dw = sum_k exp E[log theta_dk] exp E[log beta_kw]`` (eq. :eq:`lda-phi`), and both the
``gamma`` update and the sufficient statistics of ``lam`` are sparse products weighted by
``n_dw / norm_dw`` (eqs. :eq:`lda-implicit-gamma`, :eq:`lda-implicit-sstats`).  The fits use a
compiled E-step (numba) that iterates one document at a time to convergence on a ``K x N_d``
copy of its columns of ``exp E[log beta]``, with ``psi`` by its series.  The reference E-step,
in numpy, runs on all documents of a block at once (a document whose ``gamma`` has converged
leaves the active set); the tests check the compiled one against it.  Memory is
``O(nnz + K V + D K)``: blocks of documents bound the reference's ``nnz x K`` work arrays.
"""

from __future__ import annotations

from dataclasses import dataclass

import numba
import numpy as np
import scipy.sparse as sp
from scipy.special import digamma, gammaln, polygamma

from ._validate import (
    MAX_ELEMENTS,
    as_float_array,
    check_bool,
    check_elements,
    check_int,
    check_nonnegative,
    check_positive,
    check_seed,
)
from .expfam import Dirichlet
from .svi import minibatches, step_sizes

__all__ = [
    "Corpus",
    "simulate_corpus",
    "check_counts",
    "expected_log",
    "e_step",
    "elbo",
    "perplexity",
    "transform",
    "BatchResult",
    "batch_vb",
    "OnlineResult",
    "online_vb",
    "split_tokens",
    "Completion",
    "document_completion",
    "prior_objective",
    "PriorFit",
    "estimate_prior",
    "EMResult",
    "variational_em",
]

#: Nonzeros per block of documents in the E-step: bounds the ``nnz x K`` work arrays.
BLOCK_NNZ = 2**16
_TINY = np.finfo(float).tiny


# --------------------------------------------------------------------------- validation


def check_counts(X, name="X"):
    """A document-term matrix of counts: CSR float64, sorted indices, no stored zeros.

    Accepts a ``scipy.sparse`` matrix or array, or a dense 2-D array.  Counts must be finite,
    non-negative integers; there must be at least one document, one word type and one token.
    All-zero documents are allowed (their ``gamma`` stays at the prior ``alpha``).
    """
    if not isinstance(name, str):
        raise TypeError(f"name must be a str, got {type(name).__name__}")
    if sp.issparse(X):
        if X.ndim != 2:
            raise ValueError(
                f"{name} must be 2-D (documents x words), got shape {X.shape}"
            )
        dtype = X.dtype
        if dtype == np.bool_ or not (
            np.issubdtype(dtype, np.integer)
            or np.issubdtype(dtype, np.floating)
        ):
            raise TypeError(f"{name} must hold real counts, got dtype {dtype}")
        X = sp.csr_matrix(X, dtype=np.float64, copy=True)
    else:
        arr = as_float_array(X, name)
        if arr.ndim != 2:
            raise ValueError(
                f"{name} must be 2-D (documents x words), got shape {arr.shape}"
            )
        X = sp.csr_matrix(arr)
    D, V = X.shape
    if D == 0:
        raise ValueError(
            f"{name} must hold at least one document, got shape {X.shape}"
        )
    if V == 0:
        raise ValueError(
            f"{name} must have a vocabulary of at least one word type, got shape {X.shape}"
        )
    X.sum_duplicates()
    data = X.data
    if not np.all(np.isfinite(data)):
        raise ValueError(f"{name} must not contain NaN or inf")
    if np.any(data < 0):
        raise ValueError(
            f"{name} must hold non-negative counts, got minimum {data.min():g}"
        )
    if np.any(data != np.round(data)):
        raise ValueError(
            f"{name} must hold integer counts, got a non-integer entry"
        )
    X.eliminate_zeros()
    if X.nnz == 0:
        raise ValueError(f"{name} has no tokens: every document is empty")
    X.sort_indices()
    return X


def _check_lam(lam, V=None, name="lam"):
    arr = as_float_array(lam, name)
    if arr.ndim != 2:
        raise ValueError(
            f"{name} must be a 2-D (K, V) array, got shape {arr.shape}"
        )
    if V is not None and arr.shape[1] != V:
        raise ValueError(
            f"{name} must have V = {V} columns (the vocabulary of X), got shape {arr.shape}"
        )
    if not np.all(np.isfinite(arr)) or np.any(arr <= 0):
        raise ValueError(
            f"{name} must be finite and > 0 (Dirichlet parameters)"
        )
    return arr


def _check_gamma(gamma, D, K, name="gamma"):
    arr = as_float_array(gamma, name)
    if arr.shape != (D, K):
        raise ValueError(f"{name} must have shape ({D}, {K}), got {arr.shape}")
    if not np.all(np.isfinite(arr)) or np.any(arr <= 0):
        raise ValueError(
            f"{name} must be finite and > 0 (Dirichlet parameters)"
        )
    return arr


def _check_vocabulary(X, lam, name="X"):
    if X.shape[1] != lam.shape[1]:
        raise ValueError(
            f"{name} has {X.shape[1]} columns but the topics lam have a vocabulary of "
            f"{lam.shape[1]} words: "
            "the vocabulary sizes must match"
        )


def _check_e_step_options(tol, max_iter, prefix=""):
    # the names the caller's signature uses: tol, max_iter (e_step, transform, perplexity) or
    # e_step_tol, e_step_max_iter (batch_vb, online_vb)
    return check_nonnegative(tol, f"{prefix}tol"), check_int(
        max_iter, f"{prefix}max_iter", 1
    )


def _check_local(X, lam, alpha, gamma0, tol, max_iter):
    """The arguments of the local step, checked: ``(X, lam, alpha, gamma0, tol, max_iter)``."""
    X = check_counts(X)
    lam = _check_lam(lam)
    _check_vocabulary(X, lam)
    alpha = check_positive(alpha, "alpha")
    tol, max_iter = _check_e_step_options(tol, max_iter)
    shape = (X.shape[0], lam.shape[0])
    gamma0 = (
        np.ones(shape)
        if gamma0 is None
        else _check_gamma(gamma0, *shape, "gamma0")
    )
    return X, lam, alpha, gamma0, tol, max_iter


# --------------------------------------------------------------------------- simulation


@dataclass(frozen=True)
class Corpus:
    """A corpus drawn from the model: counts ``X`` (CSR, ``D x V``), the true ``beta`` (``K x V``)
    and ``theta`` (``D x K``) it was drawn with."""

    X: sp.csr_matrix
    beta: np.ndarray
    theta: np.ndarray


def simulate_corpus(
    D, V, K, alpha, eta, doc_length, seed=None, max_elements=MAX_ELEMENTS
):
    """Draw a corpus from LDA's generative process -- eq. :eq:`lda-model`.

    Every document has ``doc_length`` tokens.  Tokens are drawn topic by topic (the topic counts of
    a document are multinomial in ``theta_d``, the words of topic ``k`` categorical in ``beta_k``),
    so memory is ``O(D K + K V + tokens)``, never ``D x V``.

    Parameters
    ----------
    D, V, K : int
        Documents, word types, topics (each ``>= 1``).
    alpha, eta : float
        Symmetric Dirichlet concentrations of ``theta_d`` and ``beta_k`` (``> 0``).
    doc_length : int
        Tokens per document, ``>= 1``.
    seed : int, numpy.random.Generator or None
    max_elements : int
        Largest ``K V + D K + 3 D doc_length`` (the topics, the proportions and the token
        arrays) to allocate; above it a ValueError naming ``D``, ``V``, ``K`` and ``doc_length``
        is raised before anything is drawn.

    Returns
    -------
    Corpus
    """
    D, V, K = check_int(D, "D", 1), check_int(V, "V", 1), check_int(K, "K", 1)
    alpha, eta = check_positive(alpha, "alpha"), check_positive(eta, "eta")
    doc_length = check_int(doc_length, "doc_length", 1)
    check_elements(
        K * V + D * K + 3 * D * doc_length,
        f"simulate_corpus(D={D}, V={V}, K={K}, doc_length={doc_length})",
        max_elements,
    )
    rng = check_seed(seed)
    beta = rng.dirichlet(np.full(V, eta), size=K)
    theta = rng.dirichlet(np.full(K, alpha), size=D)
    topic_counts = rng.multinomial(
        doc_length, theta
    )  # (D, K): tokens of each topic per document
    rows, cols = [], []
    for k in range(K):
        n_k = topic_counts[:, k]
        rows.append(np.repeat(np.arange(D), n_k))
        cols.append(rng.choice(V, size=int(n_k.sum()), p=beta[k]))
    rows, cols = np.concatenate(rows), np.concatenate(cols)
    X = sp.csr_matrix(
        (np.ones(rows.size, dtype=np.int64), (rows, cols)), shape=(D, V)
    )
    X.sum_duplicates()
    return Corpus(X=X, beta=beta, theta=theta)


# --------------------------------------------------------------------------- E-step


def expected_log(conc):
    """``E[log theta_k] = psi(conc_k) - psi(sum_k conc_k)`` along the last axis -- eq.
    :eq:`lda-elog`.

    The Dirichlet's ``grad A`` (:meth:`vitutor.expfam.Dirichlet.mean_T`) for the rows of ``gamma``
    (``D x K``) or ``lam`` (``K x V``) at once.

    Parameters
    ----------
    conc : array_like, shape (..., K)
        Dirichlet parameters, finite and ``> 0``, with at least one axis.

    Returns
    -------
    numpy.ndarray, shaped like ``conc``
    """
    arr = as_float_array(conc, "conc")
    if arr.ndim < 1 or arr.shape[-1] < 1:
        raise ValueError(
            f"conc must have a last axis of Dirichlet parameters, got shape {arr.shape}"
        )
    if not np.all(np.isfinite(arr)) or np.any(arr <= 0):
        raise ValueError("conc must be finite and > 0 (Dirichlet parameters)")
    return _expected_log(arr)


def _expected_log(conc):
    # E[log theta_k] = psi(conc_k) - psi(sum_j conc_j), eq. (lda-elog); inputs already checked
    return digamma(conc) - digamma(conc.sum(axis=-1, keepdims=True))


def _blocks(docs, indptr, max_nnz):
    """Consecutive runs of ``docs`` whose nonzeros add up to about ``max_nnz`` each."""
    ends = np.cumsum(indptr[docs + 1] - indptr[docs])
    cuts = (
        np.searchsorted(
            ends, np.arange(max_nnz, ends[-1], max_nnz), side="left"
        )
        + 1
    )
    return [b for b in np.split(docs, cuts) if b.size]


def _e_step_block(
    X, docs, exp_elog_beta_T, alpha, gamma_docs, tol, max_iter, sstats_T
):
    """Coordinate ascent in (phi, gamma) for the documents ``docs`` (all non-empty) at once.

    Returns their final gamma and the inner iterations each took; adds
    ``sum_d (n_dw / norm_dw) exp E[log theta_dk]`` into ``sstats_T[w, k]`` when it is given.
    """
    sub = X[docs]
    lens = np.diff(sub.indptr)
    cols, cnts = sub.indices, sub.data
    eb = exp_elog_beta_T[
        cols
    ]  # (nnz, K): exp E[log beta_{k, w}] at each nonzero (d, w)
    g = gamma_docs.copy()
    et = np.exp(_expected_log(g))  # exp E[log theta_dk]
    norm = (
        np.einsum("ik,ik->i", np.repeat(et, lens, axis=0), eb) + _TINY
    )  # norm_dw, eq. (lda-phi)
    out_gamma = np.empty_like(g)
    out_iter = np.empty(len(docs), dtype=np.int64)
    active = np.arange(len(docs))
    for it in range(1, max_iter + 1):
        indptr = np.concatenate(([0], np.cumsum(lens)))
        weights = sp.csr_matrix(
            (cnts / norm, np.arange(cnts.size), indptr),
            shape=(lens.size, cnts.size),
        )
        g_new = alpha + et * (
            weights @ eb
        )  # gamma_dk = alpha + sum_w n_dw phi_dwk, eq. (lda-implicit-gamma)
        et = np.exp(_expected_log(g_new))
        norm = np.einsum("ik,ik->i", np.repeat(et, lens, axis=0), eb) + _TINY
        done = np.mean(np.abs(g_new - g), axis=1) < tol
        if it == max_iter:
            done[:] = True
        g = g_new
        if done.any():
            out_gamma[active[done]] = g[done]
            out_iter[active[done]] = it
            nz_done = np.repeat(done, lens)
            if sstats_T is not None:
                # sstats_T[w, k] += sum_{d done} (n_dw / norm_dw) exp E[log theta_dk]
                r = sp.csr_matrix(
                    (
                        cnts[nz_done] / norm[nz_done],
                        cols[nz_done],
                        np.concatenate(([0], np.cumsum(lens[done]))),
                    ),
                    shape=(int(done.sum()), exp_elog_beta_T.shape[0]),
                )
                sstats_T += r.T @ et[done]
            if done.all():
                break
            keep, nz_keep = ~done, ~nz_done
            active, g, et, lens = active[keep], g[keep], et[keep], lens[keep]
            cols, cnts, eb, norm = (
                cols[nz_keep],
                cnts[nz_keep],
                eb[nz_keep],
                norm[nz_keep],
            )
    return out_gamma, out_iter


# psi(x + 6) by its asymptotic series: -1/(2y) - sum_n B_2n / (2n y^2n), n = 1..12 (Bernoulli
# numbers B_2n); at y >= 6 the first omitted term is below 1e-15
_PSI_SERIES = (
    1.0 / 12,
    -1.0 / 120,
    1.0 / 252,
    -1.0 / 240,
    1.0 / 132,
    -691.0 / 32760,
    1.0 / 12,
    -3617.0 / 8160,
    43867.0 / 14364,
    -174611.0 / 6600,
    77683.0 / 276,
    -236364091.0 / 65520,
)


@numba.njit(cache=True, nogil=True, fastmath=True, inline="always")
def _psi_parts(x):  # pragma: no cover - compiled
    """``(y, t)`` with ``psi(x) = log(y) + t``, for ``x > 0``: the compiled digamma.

    ``psi(x) = psi(x + 6) - sum_{i<6} 1 / (x + i)`` (the recurrence ``psi(x + 1) = psi(x) +
    1 / x``, its sum accumulated as one fraction), and ``psi(y)``, ``y = x + 6``, by the
    asymptotic series of ``_PSI_SERIES``; within ``2e-15`` of ``scipy.special.digamma`` relative
    to ``max(1, |psi|)``.
    """
    y = x
    num = 0.0
    den = 1.0
    for _ in range(6):
        num = num * y + den
        den = den * y
        y = y + 1.0
    r = 1.0 / y
    r2 = r * r
    c = _PSI_SERIES
    s = c[11]
    for i in range(10, -1, -1):
        s = c[i] + r2 * s
    return y, -0.5 * r - r2 * s - num / den


@numba.njit(cache=True, nogil=True, fastmath=True)
def _psi(x):  # pragma: no cover - compiled
    """``scipy.special.digamma`` for ``x > 0``, compiled (see :func:`_psi_parts`)."""
    y, t = _psi_parts(x)
    return np.log(y) + t


@numba.njit(cache=True, nogil=True, fastmath=True)
def _exp_elog_row(g, et, tmp):  # pragma: no cover - compiled
    """``et[k] = exp(psi(g_k) - psi(sum_j g_j))``, eq. lda-elog, for one row; ``tmp`` is work."""
    K = g.size
    total = 0.0
    for k in range(K):
        total += g[k]
    y, t = _psi_parts(total)
    psi_total = np.log(y) + t
    for k in range(K):
        y, t = _psi_parts(g[k])
        et[k] = y  # exp(psi(g_k)) = y exp(t)
        tmp[k] = t - psi_total
    for k in range(K):
        et[k] *= np.exp(tmp[k])


@numba.njit(cache=True, nogil=True, fastmath=True)
def _exp_elog_rows(conc):  # pragma: no cover - compiled
    """``exp(E[log theta])`` of every row of ``conc`` (eq. lda-elog), compiled."""
    out = np.empty_like(conc)
    tmp = np.empty(conc.shape[1])
    for i in range(conc.shape[0]):
        _exp_elog_row(conc[i], out[i], tmp)
    return out


@numba.njit(cache=True, nogil=True, fastmath=True)
def _exp_elog_rows_T(conc):  # pragma: no cover - compiled
    """The transpose of :func:`_exp_elog_rows` (``V x K`` for ``lam``), written directly."""
    K, V = conc.shape
    out = np.empty((V, K))
    row = np.empty(V)
    tmp = np.empty(V)
    for k in range(K):
        _exp_elog_row(conc[k], row, tmp)
        for w in range(V):
            out[w, k] = row[w]
    return out


@numba.njit(cache=True, nogil=True, fastmath=True)
def _online_update(
    lam, exp_elog_beta_T, sstats_T, rho, eta, scale
):  # pragma: no cover - compiled
    """``lam <- (1 - rho) lam + rho (eta + scale sstats)`` in place, eq. lda-online-step, with
    ``sstats[k, w] = exp_elog_beta_T[w, k] sstats_T[w, k]`` (eq. lda-implicit-sstats)."""
    K, V = lam.shape
    for k in range(K):
        for w in range(V):
            lam[k, w] = (1.0 - rho) * lam[k, w] + rho * (
                eta + scale * (exp_elog_beta_T[w, k] * sstats_T[w, k])
            )


@numba.njit(cache=True, nogil=True, fastmath=True, inline="always")
def _ratios(buf, et, cnt, nrm, n, K):  # pragma: no cover - compiled
    """``nrm[j] = cnt[j] / norm_j``, ``norm_j = sum_k et[k] buf[k, j]`` (eq. lda-norm), four
    topics per pass over the document's ``n`` nonzeros."""
    for j in range(n):
        nrm[j] = 2.2250738585072014e-308  # the normaliser's floor, _TINY
    k = 0
    while k + 4 <= K:
        e0, e1, e2, e3 = et[k], et[k + 1], et[k + 2], et[k + 3]
        b0, b1, b2, b3 = buf[k], buf[k + 1], buf[k + 2], buf[k + 3]
        for j in range(n):
            nrm[j] += (e0 * b0[j] + e1 * b1[j]) + (e2 * b2[j] + e3 * b3[j])
        k += 4
    while k < K:
        e0 = et[k]
        b0 = buf[k]
        for j in range(n):
            nrm[j] += e0 * b0[j]
        k += 1
    for j in range(n):
        nrm[j] = cnt[j] / nrm[j]


@numba.njit(cache=True, nogil=True, fastmath=True)
def _e_step_docs(
    indptr,
    indices,
    data,
    eb_T,
    docs,
    gamma,
    alpha,
    tol,
    max_iter,
    sstats_T,
    n_iter,
):  # pragma: no cover - compiled
    """The E-step of the documents ``docs`` (all non-empty), one document at a time, compiled.

    For ``d = docs[i]``, ``gamma[i]`` (updated in place) goes through the iteration of
    :func:`_e_step_block`, ``g_k <- alpha + et_k sum_w (n_dw / norm_dw) eb_T[w, k]`` (eq.
    lda-implicit-gamma) then ``et = exp E[log theta_d]`` (eq. lda-elog), until the mean absolute
    change of ``g`` is below ``tol`` or ``max_iter`` iterations (``n_iter[i]``); then
    ``sstats_T[w, k] += (n_dw / norm_dw) et_k`` (eq. lda-implicit-sstats) unless ``sstats_T``
    has no rows.  The document's columns of ``eb_T`` are copied once into a ``K x N_d`` buffer
    that every iteration reads contiguously; nothing is allocated per document.
    """
    K = gamma.shape[1]
    longest = 0
    for i in range(docs.size):
        d = docs[i]
        longest = max(longest, indptr[d + 1] - indptr[d])
    buf = np.empty((K, longest))
    cnt = np.empty(longest)
    nrm = np.empty(longest)
    et = np.empty(K)
    acc = np.empty(K)
    tmp = np.empty(K)
    for i in range(docs.size):
        d = docs[i]
        lo = indptr[d]
        n = indptr[d + 1] - lo
        for j in range(n):
            w = indices[lo + j]
            cnt[j] = data[lo + j]
            for k in range(K):
                buf[k, j] = eb_T[w, k]
        g = gamma[i]
        _exp_elog_row(g, et, tmp)
        it = 0
        while True:
            it += 1
            _ratios(buf, et, cnt, nrm, n, K)
            k = 0
            while (
                k + 4 <= K
            ):  # acc[k] = sum_j nrm[j] buf[k, j], four topics per pass
                b0, b1, b2, b3 = buf[k], buf[k + 1], buf[k + 2], buf[k + 3]
                s0 = s1 = s2 = s3 = 0.0
                for j in range(n):
                    r = nrm[j]
                    s0 += r * b0[j]
                    s1 += r * b1[j]
                    s2 += r * b2[j]
                    s3 += r * b3[j]
                acc[k], acc[k + 1], acc[k + 2], acc[k + 3] = s0, s1, s2, s3
                k += 4
            while k < K:
                b0 = buf[k]
                s0 = 0.0
                for j in range(n):
                    s0 += nrm[j] * b0[j]
                acc[k] = s0
                k += 1
            change = 0.0
            for k in range(K):
                g_new = alpha + et[k] * acc[k]
                change += abs(g_new - g[k])
                g[k] = g_new
            _exp_elog_row(g, et, tmp)
            if change / K < tol or it == max_iter:
                break
        n_iter[i] = it
        if sstats_T.shape[0] > 0:
            _ratios(buf, et, cnt, nrm, n, K)
            for j in range(n):
                r = nrm[j]
                row = sstats_T[indices[lo + j]]
                for k in range(K):
                    row[k] += r * et[k]


def _e_step_compiled(
    X, docs, exp_elog_beta_T, alpha, gamma_docs, tol, max_iter, sstats_T
):
    """The same iteration as :func:`_e_step_block`, compiled (numba): :func:`_e_step_docs`.

    Each document is iterated to convergence in turn, with ``psi`` by its series
    (:func:`_psi_parts`), so no Python runs per sweep and no ``nnz x K`` array is formed.
    """
    g = np.array(gamma_docs, dtype=np.float64, order="C", copy=True)
    n_iter = np.empty(len(docs), dtype=np.int64)
    K = g.shape[1]
    _e_step_docs(
        X.indptr,
        X.indices,
        X.data,
        exp_elog_beta_T,
        np.ascontiguousarray(docs, dtype=np.int64),
        g,
        float(alpha),
        float(tol),
        int(max_iter),
        np.zeros((0, K)) if sstats_T is None else sstats_T,
        n_iter,
    )
    return g, n_iter


def _e_step(X, lam, alpha, gamma0, tol, max_iter, sstats=True, compiled=True):
    D, V = X.shape
    exp_elog_beta = (
        _exp_elog_rows(np.ascontiguousarray(lam, dtype=np.float64))
        if compiled
        else np.exp(_expected_log(lam))
    )
    exp_elog_beta_T = np.ascontiguousarray(exp_elog_beta.T)
    gamma = np.array(gamma0, dtype=np.float64, copy=True)
    n_iter = np.zeros(D, dtype=np.int64)
    lengths = np.diff(X.indptr)
    gamma[lengths == 0] = (
        alpha  # an empty document keeps the prior: gamma_d = alpha
    )
    docs = np.flatnonzero(lengths)
    sstats_T = np.zeros((V, lam.shape[0])) if sstats else None
    if compiled:
        gamma[docs], n_iter[docs] = _e_step_compiled(
            X,
            docs,
            exp_elog_beta_T,
            alpha,
            gamma[docs],
            tol,
            max_iter,
            sstats_T,
        )
    else:
        for block in _blocks(docs, X.indptr, BLOCK_NNZ):
            gamma[block], n_iter[block] = _e_step_block(
                X,
                block,
                exp_elog_beta_T,
                alpha,
                gamma[block],
                tol,
                max_iter,
                sstats_T,
            )
    if not sstats:
        return gamma, None, n_iter
    # sstats[k, w] = sum_d n_dw phi_dwk = exp E[log beta_kw] sum_d (n_dw / norm_dw) exp E[log
    # theta_dk]
    return gamma, exp_elog_beta * sstats_T.T, n_iter


def e_step(X, lam, alpha, gamma0=None, tol=1e-3, max_iter=100):
    """The local step: optimal ``gamma`` and the expected counts for ``lam`` -- eqs. :eq:`lda-phi`,
    :eq:`lda-gamma`, with ``phi`` implicit (eqs. :eq:`lda-implicit-gamma`,
    :eq:`lda-implicit-sstats`).

    For every document, alternate ``phi_dwk ∝ exp(E[log theta_dk] + E[log beta_kw])`` and
    ``gamma_dk = alpha + sum_w n_dw phi_dwk`` until the mean absolute change of ``gamma_d`` is
    below ``tol`` (scikit-learn's and gensim's rule) or ``max_iter`` iterations.  The last ``phi``
    is the optimum for the returned ``gamma``.

    Parameters
    ----------
    X : sparse or dense (D, V) counts
    lam : array_like, shape (K, V)
        Parameters of ``q(beta_k)``, ``> 0``.
    alpha : float
        Concentration of ``theta_d``'s prior, ``> 0``.
    gamma0 : array_like, shape (D, K), optional
        Starting point (default: all ones, as scikit-learn's ``transform``).
    tol : float
        Tolerance on the mean absolute change of ``gamma_d``, ``>= 0``.
    max_iter : int
        Iterations per document, ``>= 1``.

    Returns
    -------
    gamma : numpy.ndarray, shape (D, K)
    sstats : numpy.ndarray, shape (K, V)
        ``sum_d n_dw phi_dwk``; the global update is ``lam = eta + sstats`` (eq. :eq:`lda-lambda`).
    n_iter : numpy.ndarray of int, shape (D,)
        Inner iterations each document took (0 for an empty document).
    """
    return _e_step(*_check_local(X, lam, alpha, gamma0, tol, max_iter))


def transform(X, lam, alpha, gamma0=None, tol=1e-3, max_iter=100):
    """``gamma`` for (new) documents ``X`` under fixed topics ``lam`` -- eq. :eq:`lda-gamma`.

    The E-step of :func:`e_step` without the sufficient statistics.  ``X`` must have the
    vocabulary of ``lam`` (``lam.shape[1]`` columns).  Returns the Dirichlet parameters
    ``gamma`` (shape ``(D, K)``); ``gamma / gamma.sum(1)`` are the expected topic proportions.
    """
    return _e_step(
        *_check_local(X, lam, alpha, gamma0, tol, max_iter), sstats=False
    )[0]


# --------------------------------------------------------------------------- ELBO


def _log_norm(X, elog_theta, elog_beta):
    """``sum_dw n_dw log sum_k exp(E[log theta_dk] + E[log beta_kw])``, blockwise, max-shifted."""
    shift_t = elog_theta.max(axis=1)
    shift_b = elog_beta.max(axis=0)
    et = np.exp(elog_theta - shift_t[:, None])
    eb_T = np.ascontiguousarray(np.exp(elog_beta - shift_b).T)
    total = 0.0
    docs = np.flatnonzero(np.diff(X.indptr))
    for block in _blocks(docs, X.indptr, BLOCK_NNZ):
        sub = X[block]
        lens = np.diff(sub.indptr)
        norm = np.einsum(
            "ik,ik->i", np.repeat(et[block], lens, axis=0), eb_T[sub.indices]
        )
        logs = (
            np.log(norm)
            + np.repeat(shift_t[block], lens)
            + shift_b[sub.indices]
        )
        total += float(sub.data @ logs)
    return total


def _elbo(X, gamma, lam, alpha, eta):
    K, V = lam.shape
    elog_theta, elog_beta = _expected_log(gamma), _expected_log(lam)
    words = _log_norm(
        X, elog_theta, elog_beta
    )  # E[log p(w, z | theta, beta)] - E[log q(z)] at optimal phi
    # E[log p(theta_d | alpha)] - E[log q(theta_d | gamma_d)]
    #   = (alpha - gamma_d) . E[log theta_d] + A(gamma_d) - A(alpha 1_K), and the same for beta_k
    a_alpha = Dirichlet.from_concentration(np.full(K, alpha)).log_partition()
    a_gamma = Dirichlet(gamma - 1.0).log_partition()
    theta = (
        np.sum((alpha - gamma) * elog_theta)
        + np.sum(a_gamma)
        - gamma.shape[0] * a_alpha
    )
    a_eta = Dirichlet.from_concentration(np.full(V, eta)).log_partition()
    beta = (
        np.sum((eta - lam) * elog_beta)
        + np.sum(Dirichlet(lam - 1.0).log_partition())
        - K * a_eta
    )
    return float(words + theta + beta)


def elbo(X, gamma, lam, alpha, eta):
    """The ELBO at ``(gamma, lam)`` with ``phi`` at its optimum -- eq. :eq:`lda-elbo`.

    Every term is kept, the Dirichlet normalisers ``A(alpha) = K log Gamma(alpha) - log Gamma(K
    alpha)``
    and ``A(eta)`` included, so the value is a lower bound on ``log p(X | alpha, eta)``:

    ``sum_dw n_dw log sum_k exp(E[log theta_dk] + E[log beta_kw])``
    ``+ sum_d [(alpha - gamma_d) . E[log theta_d] + A(gamma_d) - A(alpha 1_K)]``
    ``+ sum_k [(eta - lam_k) . E[log beta_k] + A(lam_k) - A(eta 1_V)]``.

    Parameters
    ----------
    X : sparse or dense (D, V) counts
    gamma : array_like, shape (D, K)
    lam : array_like, shape (K, V)
    alpha, eta : float
        Prior concentrations, ``> 0``.

    Returns
    -------
    float
    """
    X = check_counts(X)
    lam = _check_lam(lam)
    _check_vocabulary(X, lam)
    gamma = _check_gamma(gamma, X.shape[0], lam.shape[0])
    return _elbo(
        X,
        gamma,
        lam,
        check_positive(alpha, "alpha"),
        check_positive(eta, "eta"),
    )


def perplexity(X, lam, alpha, eta, gamma=None, tol=1e-3, max_iter=100):
    """``exp(-ELBO / tokens)`` -- eq. :eq:`lda-perplexity`: an upper bound on the perplexity.

    Because the ELBO is a lower bound on ``log p(X)``, this exceeds the model's true perplexity
    ``exp(-log p(X) / tokens)``.  The same quantity as scikit-learn's ``perplexity`` (its bound
    with the ``beta`` terms included, unscaled).  Without ``gamma``, it is computed by
    :func:`transform` from all-ones, as scikit-learn does.

    On documents the topics were not fitted to, the bound still contains the topics' terms
    ``-sum_k KL(q(beta_k) || p(beta_k))``, charged to the tokens of ``X`` however few they are;
    they grow with ``K``.  For the predictive perplexity of held-out documents use
    :func:`document_completion`.
    """
    X = check_counts(X)
    lam = _check_lam(lam)
    _check_vocabulary(X, lam)
    alpha, eta = check_positive(alpha, "alpha"), check_positive(eta, "eta")
    tol, max_iter = _check_e_step_options(tol, max_iter)
    if gamma is None:
        gamma = _e_step(
            X,
            lam,
            alpha,
            np.ones((X.shape[0], lam.shape[0])),
            tol,
            max_iter,
            sstats=False,
        )[0]
    else:
        gamma = _check_gamma(gamma, X.shape[0], lam.shape[0])
    return float(np.exp(-_elbo(X, gamma, lam, alpha, eta) / X.data.sum()))


# --------------------------------------------------------------------------- batch VB


@dataclass(frozen=True)
class BatchResult:
    """Output of :func:`batch_vb`.

    ``lam`` (``K x V``) and ``gamma`` (``D x K``) are the final variational parameters, ``gamma``
    from the last E-step; ``elbo_trace[i]`` is :func:`elbo` after iteration ``i + 1`` (empty when
    ``tol`` is None); ``e_step_iters[i]`` the mean inner iterations per non-empty document in
    iteration ``i + 1``.
    """

    lam: np.ndarray
    gamma: np.ndarray
    elbo_trace: np.ndarray
    e_step_iters: np.ndarray
    n_iter: int
    converged: bool
    alpha: float
    eta: float


def _init(X, K, alpha, eta, seed, lam0, max_elements):
    X = check_counts(X)
    K = check_int(K, "K", 1)
    alpha, eta = check_positive(alpha, "alpha"), check_positive(eta, "eta")
    rng = seed if isinstance(seed, np.random.RandomState) else check_seed(seed)
    D, V = X.shape
    # lam (K x V), gamma (D x K) and the E-step's transposed topic tables (2 V x K)
    check_elements(
        3 * K * V + D * K,
        f"K = {K} topics over D = {D} documents and V = {V} word types",
        max_elements,
    )
    if lam0 is None:
        lam = rng.gamma(
            100.0, 0.01, size=(K, V)
        )  # scikit-learn's and Hoffman's initialisation
    else:
        lam = _check_lam(lam0, V, "lam0").copy()
        if lam.shape[0] != K:
            raise ValueError(
                f"lam0 must have K = {K} rows, got shape {lam.shape}"
            )
    gamma = rng.gamma(100.0, 0.01, size=(D, K))
    return X, K, alpha, eta, rng, lam, gamma


def batch_vb(
    X,
    K,
    alpha,
    eta,
    seed=None,
    lam0=None,
    max_iter=100,
    tol=1e-6,
    e_step_tol=1e-3,
    e_step_max_iter=100,
    warm_start=False,
    max_elements=MAX_ELEMENTS,
):
    """Batch variational Bayes for LDA (variational EM over ``lam``) -- algorithm
    :prf:ref:`lda-batch`.

    Each iteration runs the E-step over all documents (eqs. :eq:`lda-phi`, :eq:`lda-gamma`), then
    sets ``lam = eta + sum_d n_dw phi_dwk`` (eq. :eq:`lda-lambda`).  By default
    (``warm_start=False``) every E-step starts from fresh Gamma(100, 1/100) draws of ``gamma``, as
    in Hoffman et al. and scikit-learn: that is not coordinate ascent, and the ELBO can decrease
    from one iteration to the next.  With ``warm_start=True`` each E-step starts from the previous
    ``gamma``; with E-steps run to convergence the iteration is coordinate ascent and the ELBO
    never decreases.

    Parameters
    ----------
    X : sparse or dense (D, V) counts
        Document-term matrix of non-negative integer counts.  Empty documents are allowed.
    K : int
        Number of topics, ``>= 1``.
    alpha, eta : float
        Symmetric prior concentrations of ``theta_d`` and ``beta_k``, ``> 0``.
    seed : int, numpy.random.Generator, numpy.random.RandomState or None
        For the initial ``lam`` (unless ``lam0`` is given) and each E-step's initial ``gamma``:
        Gamma(100, 1/100) draws, in scikit-learn's order, so that a ``RandomState`` in the state
        scikit-learn's leaves after drawing its initial ``lam`` reproduces its ``gamma`` draws.
    lam0 : array_like, shape (K, V), optional
        Initial ``lam``.
    max_iter : int
        Outer iterations, ``>= 1``.
    warm_start : bool
        Start each E-step from the previous ``gamma`` instead of fresh draws (default False).
        Coordinate ascent proper (with converged E-steps the ELBO can only rise), but it tends
        to stay near the first iterations' poor assignments; fresh draws, as in Hoffman et al.
        and scikit-learn, find better optima.
    tol : float or None
        Stop when the relative change of the ELBO is below ``tol``; None evaluates no ELBO and
        runs ``max_iter`` iterations.
    e_step_tol, e_step_max_iter
        The inner stopping rule of :func:`e_step`.
    max_elements : int
        Largest ``3 K V + D K`` (``lam``, ``gamma`` and the E-step's topic tables) to allocate;
        above it a ValueError naming ``K`` is raised.

    Returns
    -------
    BatchResult
    """
    X, K, alpha, eta, rng, lam, gamma = _init(
        X, K, alpha, eta, seed, lam0, max_elements
    )
    max_iter = check_int(max_iter, "max_iter", 1)
    tol = None if tol is None else check_nonnegative(tol, "tol")
    e_tol, e_max = _check_e_step_options(
        e_step_tol, e_step_max_iter, "e_step_"
    )
    warm_start = check_bool(warm_start, "warm_start")
    nonempty = np.diff(X.indptr) > 0
    trace, inner = [], []
    converged = False
    for it in range(1, max_iter + 1):
        if not warm_start and it > 1:
            gamma = rng.gamma(100.0, 0.01, size=gamma.shape)
        gamma, sstats, n_inner = _e_step(X, lam, alpha, gamma, e_tol, e_max)
        lam = eta + sstats  # lam_kw = eta + sum_d n_dw phi_dwk
        inner.append(float(n_inner[nonempty].mean()))
        if tol is not None:
            trace.append(_elbo(X, gamma, lam, alpha, eta))
            if it > 1 and abs(trace[-1] - trace[-2]) <= tol * abs(trace[-2]):
                converged = True
                break
    return BatchResult(
        lam=lam,
        gamma=gamma,
        elbo_trace=np.asarray(trace),
        e_step_iters=np.asarray(inner),
        n_iter=it,
        converged=converged,
        alpha=alpha,
        eta=eta,
    )


# --------------------------------------------------------------------------- online VB


@dataclass(frozen=True)
class OnlineResult:
    """Output of :func:`online_vb`.

    ``lam`` is the final topic parameter; ``gamma`` comes from a full E-step at that ``lam`` after
    the last step.  ``elbo_trace[j]`` is the full-corpus :func:`elbo` after step ``elbo_steps[j]``
    (step 0 is the initialisation; empty without ``eval_every``).  ``rho`` is the schedule,
    ``passes`` the documents processed over ``D``.
    """

    lam: np.ndarray
    gamma: np.ndarray
    elbo_trace: np.ndarray
    elbo_steps: np.ndarray
    rho: np.ndarray
    n_steps: int
    batch_size: int
    kappa: float
    tau0: float
    passes: float
    alpha: float
    eta: float


def online_vb(
    X,
    K,
    alpha,
    eta,
    batch_size,
    n_steps,
    kappa=0.7,
    tau0=10.0,
    seed=None,
    lam0=None,
    e_step_tol=1e-3,
    e_step_max_iter=100,
    eval_every=None,
    warm_start=False,
    max_elements=MAX_ELEMENTS,
):
    """Online variational Bayes for LDA (Hoffman et al. 2010): chapter 6's SVI -- algorithm
    :prf:ref:`lda-online`.

    Step ``t`` draws a minibatch ``B`` of distinct documents (:func:`vitutor.svi.minibatches`),
    runs the E-step on it (from fresh Gamma(100, 1/100) draws of the documents' ``gamma`` by
    default, from their last ``gamma`` with ``warm_start=True``), and moves
    ``lam <- (1 - rho_t) lam + rho_t (eta + (D / |B|) sum_{d in B} n_dw phi_dwk)`` with
    ``rho_t = (t + tau0)^(-kappa)`` (:func:`vitutor.svi.step_sizes`) -- eq. :eq:`lda-online-step`.
    The steps are noisy: the full-corpus ELBO is not monotone in ``t``, with or without warm
    starts.

    Parameters
    ----------
    X, K, alpha, eta, seed, lam0, e_step_tol, e_step_max_iter, warm_start, max_elements
        As in :func:`batch_vb` (the minibatches are drawn with the same generator); ``n_steps``
        is capped by ``max_elements`` too (the schedule ``rho`` holds one number per step).
    batch_size : int
        Documents per minibatch, in ``1..D``.
    n_steps : int
        Number of steps, ``>= 1``.
    kappa : float
        Forgetting rate in ``(0.5, 1]``.
    tau0 : float
        Delay, ``>= 0``.
    eval_every : int, optional
        Evaluate the full-corpus ELBO (after a full E-step, not part of the algorithm) at step 0
        and every ``eval_every`` steps.

    Returns
    -------
    OnlineResult
    """
    X, K, alpha, eta, rng, lam, gamma = _init(
        X, K, alpha, eta, seed, lam0, max_elements
    )
    n_steps = check_int(n_steps, "n_steps", 1)
    rho = step_sizes(n_steps, kappa, tau0, max_elements=max_elements)
    kappa, tau0 = float(kappa), float(tau0)
    D = X.shape[0]
    batch_rng = (
        np.random.default_rng(rng.randint(2**31))
        if isinstance(rng, np.random.RandomState)
        else rng
    )
    batches = minibatches(D, batch_size, seed=batch_rng)
    e_tol, e_max = _check_e_step_options(
        e_step_tol, e_step_max_iter, "e_step_"
    )
    warm_start = check_bool(warm_start, "warm_start")
    if eval_every is not None:
        eval_every = check_int(eval_every, "eval_every", 1)
    trace, at = [], []

    def evaluate(t):
        g = _e_step(X, lam, alpha, gamma, e_tol, e_max, sstats=False)[0]
        trace.append(_elbo(X, g, lam, alpha, eta))
        at.append(t)

    if eval_every is not None:
        evaluate(0)
    V = X.shape[1]
    lengths = np.diff(X.indptr)
    lam = np.ascontiguousarray(lam, dtype=np.float64)
    for t in range(1, n_steps + 1):
        idx = next(batches)
        if not warm_start:
            gamma[idx] = rng.gamma(100.0, 0.01, size=(idx.size, K))
        # the E-step on the minibatch's rows of X, in place (compiled, as _e_step), then
        # lam <- (1 - rho) lam + rho (eta + (D / |B|) sstats) in one compiled pass
        rows = idx[lengths[idx] > 0]
        gamma[idx[lengths[idx] == 0]] = alpha
        exp_elog_beta_T = _exp_elog_rows_T(lam)
        sstats_T = np.zeros((V, K))
        gamma[rows], _ = _e_step_compiled(
            X,
            rows,
            exp_elog_beta_T,
            alpha,
            gamma[rows],
            e_tol,
            e_max,
            sstats_T,
        )
        _online_update(
            lam, exp_elog_beta_T, sstats_T, rho[t - 1], eta, D / idx.size
        )
        if eval_every is not None and t % eval_every == 0:
            evaluate(t)
    gamma = _e_step(X, lam, alpha, gamma, e_tol, e_max, sstats=False)[0]
    return OnlineResult(
        lam=lam,
        gamma=gamma,
        elbo_trace=np.asarray(trace),
        elbo_steps=np.asarray(at, dtype=int),
        rho=rho,
        n_steps=n_steps,
        batch_size=int(batch_size),
        kappa=kappa,
        tau0=tau0,
        passes=n_steps * int(batch_size) / D,
        alpha=alpha,
        eta=eta,
    )


# --------------------------------------------------------------------------- held-out documents


def split_tokens(X, fraction=0.5, seed=None, max_elements=MAX_ELEMENTS):
    """Split every document's tokens at random into an observed and a held-out part.

    Document ``d`` with ``N_d`` tokens keeps ``floor(fraction * N_d)`` of them, drawn without
    replacement (a uniformly random subset of its tokens), in ``X_obs``; the others go to
    ``X_held``, so ``X_obs + X_held == X``.  This is the split of document completion
    (:func:`document_completion`).

    Parameters
    ----------
    X : sparse or dense (D, V) counts
    fraction : float
        Share of each document's tokens that is observed, in ``(0, 1)``.
    seed : int, numpy.random.Generator or None
    max_elements : int
        Largest number of tokens to expand (three arrays of one entry per token); above it a
        ValueError naming ``X`` is raised.

    Returns
    -------
    X_obs, X_held : scipy.sparse.csr_matrix, shape (D, V)
        Integer counts.
    """
    X = check_counts(X)
    fraction = check_positive(fraction, "fraction")
    if fraction >= 1:
        raise ValueError(f"fraction must lie in (0, 1), got {fraction}")
    rng = check_seed(seed)
    D, V = X.shape
    counts = X.data.astype(np.int64)
    n_tokens = int(counts.sum())
    check_elements(3 * n_tokens, f"X with {n_tokens} tokens", max_elements)
    # one entry per token: its document and word type, documents in order
    doc = np.repeat(np.repeat(np.arange(D), np.diff(X.indptr)), counts)
    word = np.repeat(X.indices, counts)
    N_d = np.bincount(doc, minlength=D)
    order = np.lexsort(
        (rng.random(n_tokens), doc)
    )  # a random order within each document
    rank = np.arange(n_tokens) - np.repeat(np.cumsum(N_d) - N_d, N_d)
    n_obs = np.floor(fraction * N_d).astype(np.int64)
    observed = np.empty(n_tokens, dtype=bool)
    observed[order] = rank < np.repeat(n_obs, N_d)

    def counts_of(mask):
        out = sp.csr_matrix(
            (
                np.ones(int(mask.sum()), dtype=np.int64),
                (doc[mask], word[mask]),
            ),
            shape=(D, V),
        )
        out.sum_duplicates()
        return out

    return counts_of(observed), counts_of(~observed)


@dataclass(frozen=True)
class Completion:
    """Output of :func:`document_completion`.

    ``log_lik[d]`` is the estimated ``log p`` of document ``d``'s held-out tokens (the sum over
    them of eq. :eq:`lda-completion`), ``n_held[d]`` their number, ``gamma`` the parameters of
    ``q(theta_d)`` fitted to the observed tokens, and ``perplexity`` is
    ``exp(-sum(log_lik) / sum(n_held))``.
    """

    log_lik: np.ndarray
    n_held: np.ndarray
    gamma: np.ndarray
    perplexity: float


def _log_predictive(X, theta_bar, beta_bar):
    """``sum_w n_dw log sum_k theta_bar_dk beta_bar_kw`` for every row ``d`` of ``X``, blockwise."""
    out = np.zeros(X.shape[0])
    beta_T = np.ascontiguousarray(beta_bar.T)
    docs = np.flatnonzero(np.diff(X.indptr))
    for block in _blocks(docs, X.indptr, BLOCK_NNZ):
        sub = X[block]
        lens = np.diff(sub.indptr)
        p = np.einsum(
            "ik,ik->i",
            np.repeat(theta_bar[block], lens, axis=0),
            beta_T[sub.indices],
        )  # p(w | E_q[theta_d], E_q[beta]) at each nonzero (d, w)
        out[block] = np.add.reduceat(sub.data * np.log(p), sub.indptr[:-1])
    return out


def document_completion(X_obs, X_held, lam, alpha, tol=1e-3, max_iter=100):
    """Predictive perplexity of held-out tokens by document completion -- eq.
    :eq:`lda-completion`.

    The estimator, stated: for each document, ``gamma_d`` is fitted to its observed tokens
    ``X_obs[d]`` by the E-step with the topics ``lam`` fixed (:func:`transform`, from all
    ones); each held-out token ``w`` of the document then gets the probability

    ``p(w | w_obs) = E_q[sum_k theta_dk beta_kw] = sum_k (gamma_dk / sum_j gamma_dj)
    (lam_kw / sum_u lam_ku)``,

    exactly the predictive probability of one token under ``q(theta_d) q(beta)`` (the integrand
    is linear in ``theta_d`` and in ``beta``, and ``q`` makes them independent), as in Hoffman
    et al. (2013, sec. 4).  The tokens are scored one at a time: the sum of their logs is the log
    of a product of one-token predictives, not the joint predictive of the held-out tokens,
    which would couple them through ``theta_d`` (Wallach et al. 2009 discuss estimators of the
    joint).  Nothing of ``q(beta)``'s KL from the prior is charged to the held-out tokens, unlike
    the bound of :func:`perplexity`.

    Parameters
    ----------
    X_obs, X_held : sparse or dense (D, V) counts
        The observed and held-out tokens of the same ``D`` documents (:func:`split_tokens`),
        over the vocabulary of ``lam``; ``X_held`` must hold at least one token.
    lam : array_like, shape (K, V)
        Parameters of ``q(beta_k)`` fitted to training documents, ``> 0``.
    alpha : float
        Concentration of ``theta_d``'s prior, ``> 0``.
    tol, max_iter
        The E-step's stopping rule (:func:`e_step`).

    Returns
    -------
    Completion
    """
    X_obs = check_counts(X_obs, "X_obs")
    lam = _check_lam(lam)
    _check_vocabulary(X_obs, lam, "X_obs")
    alpha = check_positive(alpha, "alpha")
    tol, max_iter = _check_e_step_options(tol, max_iter)
    X_held = check_counts(X_held, "X_held")
    if X_held.shape != X_obs.shape:
        raise ValueError(
            f"X_held must have the shape of X_obs {X_obs.shape}, got {X_held.shape}"
        )
    gamma0 = np.ones((X_obs.shape[0], lam.shape[0]))
    gamma = _e_step(X_obs, lam, alpha, gamma0, tol, max_iter, sstats=False)[0]
    theta_bar = gamma / gamma.sum(axis=1, keepdims=True)  # E_q[theta_d]
    beta_bar = lam / lam.sum(axis=1, keepdims=True)  # E_q[beta_k]
    log_lik = _log_predictive(X_held, theta_bar, beta_bar)
    n_held = np.asarray(X_held.sum(axis=1)).ravel()
    return Completion(
        log_lik=log_lik,
        n_held=n_held,
        gamma=gamma,
        perplexity=float(np.exp(-log_lik.sum() / n_held.sum())),
    )


# --------------------------------------------------------------------------- hyperparameters


def _check_q_conc(q_conc):
    arr = as_float_array(q_conc, "q_conc")
    if arr.ndim != 2:
        raise ValueError(
            f"q_conc must be a 2-D (n, K) array of Dirichlet parameters, got shape {arr.shape}"
        )
    if arr.shape[0] < 1 or arr.shape[1] < 2:
        raise ValueError(
            "q_conc must have at least one row and K >= 2 columns (a Dirichlet over one "
            f"category has no concentration to estimate), got shape {arr.shape}"
        )
    if not np.all(np.isfinite(arr)) or np.any(arr <= 0):
        raise ValueError(
            "q_conc must be finite and > 0 (Dirichlet parameters)"
        )
    return arr


def _check_conc(conc, K, name):
    """A positive scalar (symmetric prior) or a positive (K,) vector (asymmetric)."""
    if np.ndim(conc) == 0:
        return check_positive(conc, name), True
    arr = as_float_array(conc, name)
    if arr.shape != (K,):
        raise ValueError(
            f"{name} must be a number or a ({K},) vector, got shape {arr.shape}"
        )
    if not np.all(np.isfinite(arr)) or np.any(arr <= 0):
        raise ValueError(f"{name} must be finite and > 0")
    return arr.copy(), False


def _prior_stats(q_conc):
    """``s_k = sum_i E_q[log x_ik]`` and the number of rows ``n``."""
    s = _expected_log(q_conc).sum(axis=0)
    if not np.all(np.isfinite(s)):
        raise ValueError(
            "q_conc is too close to 0: sum_i E_q[log x_ik] is not finite"
        )
    return s, q_conc.shape[0]


def _prior_value(conc, s, n, symmetric):
    # sum_i [(conc - 1) . E[log x_i] - A(conc)], A(a) = sum_k log Gamma(a_k) - log Gamma(sum a)
    a = np.full(s.size, conc) if symmetric else conc
    return float((a - 1.0) @ s - n * (gammaln(a).sum() - gammaln(a.sum())))


def _prior_gradient(conc, s, n, symmetric):
    K = s.size
    if symmetric:
        return float(s.sum() - n * K * (digamma(conc) - digamma(K * conc)))
    return s - n * (digamma(conc) - digamma(conc.sum()))


def _newton_direction(conc, s, n, symmetric):
    """``-H^{-1} g`` -- eq. :eq:`lda-newton`; for a vector in O(K) (Blei et al. 2003, A.2)."""
    g = _prior_gradient(conc, s, n, symmetric)
    K = s.size
    if symmetric:
        h = n * K * (K * polygamma(1, K * conc) - polygamma(1, conc))
        return -g / h
    # H = diag(h) + z 1 1^T with h_k = -n psi'(a_k), z = n psi'(sum_j a_j)
    h = -n * polygamma(1, conc)
    z = n * polygamma(1, conc.sum())
    c = np.sum(g / h) / (1.0 / z + np.sum(1.0 / h))
    return -(g - c) / h


def prior_objective(q_conc, conc):
    """The terms of the ELBO that depend on a Dirichlet prior's concentration -- eq.
    :eq:`lda-prior-objective`.

    ``f(a) = sum_i E_q[log Dirichlet(x_i | a)] = sum_i [(a - 1) . E_q[log x_i] - A(a)]`` with
    ``x_i ~ Dirichlet(q_conc[i])`` under ``q`` and ``A(a) = sum_k log Gamma(a_k) - log Gamma(sum_k
    a_k)``: with ``q_conc = gamma`` and ``a = alpha`` these are the terms of :func:`elbo` in
    ``alpha``, with ``q_conc = lam`` and ``a = eta`` those in ``eta``.  ``f`` is concave.

    Parameters
    ----------
    q_conc : array_like, shape (n, K)
        Parameters of the ``n`` variational Dirichlets, finite and ``> 0``, ``K >= 2``.
    conc : float or array_like, shape (K,)
        The prior's concentration: a number for the symmetric prior ``conc 1_K`` (then the
        gradient is the derivative in that number), or a vector.

    Returns
    -------
    value : float
    gradient : float or numpy.ndarray, shape (K,)
    """
    q_conc = _check_q_conc(q_conc)
    conc, symmetric = _check_conc(conc, q_conc.shape[1], "conc")
    s, n = _prior_stats(q_conc)
    return _prior_value(conc, s, n, symmetric), _prior_gradient(
        conc, s, n, symmetric
    )


@dataclass(frozen=True)
class PriorFit:
    """Output of :func:`estimate_prior`: the maximiser ``conc`` (a float for a symmetric prior,
    else a ``(K,)`` array), the Newton iterations taken, whether the relative step fell below
    ``tol``, and the objective :func:`prior_objective` at ``conc``."""

    conc: float | np.ndarray
    n_iter: int
    converged: bool
    objective: float


def _estimate_prior(s, n, conc, symmetric, tol, max_iter):
    f = _prior_value(conc, s, n, symmetric)
    converged, n_iter = False, 0
    while n_iter < max_iter:
        n_iter += 1
        step = _newton_direction(conc, s, n, symmetric)
        # at most half way to 0 in any coordinate, then halve until f does not decrease
        # (f is concave, so a short enough step along the Newton direction raises it)
        shrink = -step / conc
        t = min(1.0, 0.5 / shrink.max()) if np.any(shrink >= 0.5) else 1.0
        for _ in range(60):
            new = conc + t * step
            f_new = _prior_value(new, s, n, symmetric)
            if f_new >= f:
                break
            t *= 0.5
        else:
            break  # no step raises f: stalled at rounding, not converged to tol
        conc, f = new, f_new
        if np.max(np.abs(t * step) / conc) < tol:
            converged = True
            break
    return PriorFit(
        conc=float(conc) if symmetric else conc,
        n_iter=n_iter,
        converged=converged,
        objective=f,
    )


def estimate_prior(q_conc, conc0, tol=1e-10, max_iter=100):
    """Newton--Raphson for a Dirichlet prior's concentration: the M-step of variational EM --
    eq. :eq:`lda-newton`.

    Maximises :func:`prior_objective` (concave) over ``a``, as Blei et al. (2003, sec. 5.3 and
    appendix A.4.2) do for ``alpha`` given ``gamma`` and Hoffman et al. (2010) for ``alpha`` and
    ``eta``.  A number ``conc0`` estimates a symmetric prior ``a 1_K`` (Newton in one variable);
    a ``(K,)`` vector estimates an asymmetric one, whose Hessian ``diag(h) + z 1 1^T`` is
    inverted in ``O(K)``.  Each Newton step is halved until the iterate stays positive and the
    objective does not decrease.

    Parameters
    ----------
    q_conc : array_like, shape (n, K)
        Parameters of the variational Dirichlets (``gamma`` for ``alpha``, ``lam`` for ``eta``),
        finite and ``> 0``, ``K >= 2``.
    conc0 : float or array_like, shape (K,)
        Starting point, ``> 0``; its shape chooses the symmetric or the asymmetric prior.
    tol : float
        Stop when every coordinate's step is below ``tol`` relative to it, ``>= 0``.
    max_iter : int
        Newton iterations, ``>= 1``.

    Returns
    -------
    PriorFit
    """
    q_conc = _check_q_conc(q_conc)
    conc, symmetric = _check_conc(conc0, q_conc.shape[1], "conc0")
    tol = check_nonnegative(tol, "tol")
    max_iter = check_int(max_iter, "max_iter", 1)
    s, n = _prior_stats(q_conc)
    return _estimate_prior(s, n, conc, symmetric, tol, max_iter)


@dataclass(frozen=True)
class EMResult:
    """Output of :func:`variational_em`.

    ``lam``, ``gamma`` as in :class:`BatchResult`; ``alpha`` and ``eta`` the final estimates;
    ``elbo_trace[i]``, ``alpha_trace[i]`` and ``eta_trace[i]`` the ELBO and the estimates after
    iteration ``i + 1``.
    """

    lam: np.ndarray
    gamma: np.ndarray
    alpha: float
    eta: float
    elbo_trace: np.ndarray
    alpha_trace: np.ndarray
    eta_trace: np.ndarray
    n_iter: int
    converged: bool


def variational_em(
    X,
    K,
    alpha,
    eta,
    seed=None,
    lam0=None,
    max_iter=100,
    tol=1e-6,
    e_step_tol=1e-3,
    e_step_max_iter=100,
    warm_start=False,
    prior_tol=1e-10,
    prior_max_iter=100,
    max_elements=MAX_ELEMENTS,
):
    """Variational EM for LDA's symmetric ``alpha`` and ``eta`` (Blei et al. 2003, sec. 5.3-5.4).

    Each iteration is one iteration of :func:`batch_vb` (the E-step over all documents, then
    ``lam = eta + sum_d n_dw phi_dwk``) followed by the M-step: ``alpha`` and ``eta`` set to the
    maximisers of the ELBO given ``gamma`` and ``lam`` (:func:`estimate_prior`, eq.
    :eq:`lda-newton`).  The ELBO as a function of ``(alpha, eta)`` is the criterion; its gap to
    ``log p(X | alpha, eta)`` depends on them too, so the estimates maximise a bound, not the
    evidence.  With ``warm_start=True`` and converged E-steps every step is a coordinate step
    and the ELBO never decreases; by default each E-step starts from fresh draws, as in
    :func:`batch_vb`.

    Parameters
    ----------
    X, K, seed, lam0, e_step_tol, e_step_max_iter, warm_start, max_elements
        As in :func:`batch_vb`; ``K >= 2`` and a vocabulary of at least two word types.
    alpha, eta : float
        Starting values, ``> 0``.
    max_iter : int
        EM iterations, ``>= 1``.
    tol : float
        Stop when the relative change of the ELBO is below ``tol``, ``>= 0``.
    prior_tol, prior_max_iter
        The Newton iteration's stopping rule (:func:`estimate_prior`).

    Returns
    -------
    EMResult
    """
    X, K, alpha, eta, rng, lam, gamma = _init(
        X, K, alpha, eta, seed, lam0, max_elements
    )
    if K < 2 or X.shape[1] < 2:
        raise ValueError(
            "variational_em needs K >= 2 topics and a vocabulary of at least two word types "
            f"(alpha, eta are concentrations of Dirichlets over them), got K = {K}, "
            f"V = {X.shape[1]}"
        )
    max_iter = check_int(max_iter, "max_iter", 1)
    tol = check_nonnegative(tol, "tol")
    e_tol, e_max = _check_e_step_options(
        e_step_tol, e_step_max_iter, "e_step_"
    )
    warm_start = check_bool(warm_start, "warm_start")
    prior_tol = check_nonnegative(prior_tol, "prior_tol")
    prior_max_iter = check_int(prior_max_iter, "prior_max_iter", 1)
    trace, alphas, etas = [], [], []
    converged = False
    for it in range(1, max_iter + 1):
        if not warm_start and it > 1:
            gamma = rng.gamma(100.0, 0.01, size=gamma.shape)
        gamma, sstats, _ = _e_step(X, lam, alpha, gamma, e_tol, e_max)
        lam = eta + sstats  # lam_kw = eta + sum_d n_dw phi_dwk
        # M-step: alpha given gamma, eta given lam, eq. (lda-newton)
        alpha = _estimate_prior(
            *_prior_stats(gamma), alpha, True, prior_tol, prior_max_iter
        ).conc
        eta = _estimate_prior(
            *_prior_stats(lam), eta, True, prior_tol, prior_max_iter
        ).conc
        trace.append(_elbo(X, gamma, lam, alpha, eta))
        alphas.append(alpha)
        etas.append(eta)
        if it > 1 and abs(trace[-1] - trace[-2]) <= tol * abs(trace[-2]):
            converged = True
            break
    return EMResult(
        lam=lam,
        gamma=gamma,
        alpha=alpha,
        eta=eta,
        elbo_trace=np.asarray(trace),
        alpha_trace=np.asarray(alphas),
        eta_trace=np.asarray(etas),
        n_iter=it,
        converged=converged,
    )
