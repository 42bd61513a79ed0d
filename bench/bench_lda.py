"""LDA (chapter 7): batch VB against scikit-learn and gensim, and online VB's time per token.

Synthetic corpus: D = 2000 documents, V = 5000 word types, K = 20 topics, 200 tokens each
(``lda.simulate_corpus``, alpha = 0.1, eta = 0.05, seed 0).  Every side runs single-threaded.

1. Batch VB, the whole fit of N_ITER outer iterations from the same initial lam (Gamma(100, 1/100)
   draws, seed 1), with the same inner rule (mean |change of gamma_d| < 1e-3, at most 100
   iterations) and no evaluation of the bound during the fit.  ``lda.batch_vb`` gets the
   RandomState scikit-learn and gensim draw each E-step's initial gamma from, so the three run the
   same iterates; the check is on the final perplexity bound (``lda.perplexity``, the same
   evaluator for the three lam).  gensim: ``LdaModel`` in batch mode (update_every=0, one chunk
   of D documents, decay=0 so that rho = 1), float64; converting the corpus to gensim's format is
   not timed.
2. Online VB: seconds per 10^6 tokens, from the difference of two runs of different length (so
   set-up cancels), less the full-corpus E-step each fit runs after its last step (timed, since
   its cost depends on how far the topics got), |B| = 256, kappa = 0.7, tau0 = 10; scikit-learn's
   online mode (same |B|, learning_decay, learning_offset) per epoch, as the reference.
3. Online VB's throughput at K = 100 topics (the setting of gensim's published single-worker
   figures) in tokens per second on one core, beside gensim's ``LdaModel`` in online mode on the
   same corpus (chunksize = |B|, decay = kappa, offset = tau0, the same inner rule, float64), each
   from the difference of two runs of different length; and both perplexity bounds after one pass.
"""

import contextlib
import logging
import time
import warnings

import numpy as np
from sklearn.decomposition import LatentDirichletAllocation

from bench._harness import interleaved, timed
from vitutor import lda

D, V, K, DOC_LENGTH, ALPHA, ETA = 2000, 5000, 20, 200, 0.1, 0.05
N_ITER, E_TOL, E_MAX = 10, 1e-3, 100
BATCH, KAPPA, TAU0 = 256, 0.7, 10.0
ROUNDS = 3
K_THROUGHPUT = 100


# Seconds spent, since the last reset, in what an online fit runs after its last step and is not
# one of its steps: the full-corpus E-step (vitutor's OnlineResult.gamma, scikit-learn's bound_)
# and scikit-learn's bound.  _per_step subtracts them.
_AFTER_STEPS = [0.0]


@contextlib.contextmanager
def _clocking_final_e_step():
    """Patch ``lda._e_step`` so that its calls without sufficient statistics (online_vb's full
    E-step after the last step) add their seconds to ``_AFTER_STEPS``."""
    e_step = lda._e_step

    def clocked(*args, **kw):
        if kw.get("sstats", True):
            return e_step(*args, **kw)
        start = time.perf_counter()
        try:
            return e_step(*args, **kw)
        finally:
            _AFTER_STEPS[0] += time.perf_counter() - start

    lda._e_step = clocked
    try:
        yield
    finally:
        lda._e_step = e_step


def _per_step(run, lo, hi):
    """Seconds per step of ``run(n)`` (a fit of ``n`` steps): ``(T(hi) - T(lo)) / (hi - lo)``,
    where ``T(n)`` is the time of ``run(n)`` less what it spent after its steps (``_AFTER_STEPS``).

    Set-up and initialisation cancel in the difference; the work after the last step does not (a
    full E-step at better topics takes fewer inner iterations), so it is timed and taken out.
    """

    def steps(n):
        _AFTER_STEPS[0] = 0.0
        return timed(lambda: run(n)) - _AFTER_STEPS[0]

    return (steps(hi) - steps(lo)) / (hi - lo)


class _FixedInitLDA(LatentDirichletAllocation):
    def _e_step(self, X, cal_sstats, random_init, parallel=None):
        if cal_sstats:
            return super()._e_step(X, cal_sstats, random_init, parallel)
        start = (
            time.perf_counter()
        )  # the full E-step fit runs for bound_ after its last step
        try:
            return super()._e_step(X, cal_sstats, random_init, parallel)
        finally:
            _AFTER_STEPS[0] += time.perf_counter() - start

    def _perplexity_precomp_distr(self, *args, **kw):
        start = time.perf_counter()
        try:
            return super()._perplexity_precomp_distr(*args, **kw)
        finally:
            _AFTER_STEPS[0] += time.perf_counter() - start

    def _init_latent_vars(self, n_features, dtype=np.float64):
        super()._init_latent_vars(n_features, dtype)
        self.components_ = self.lam0.astype(dtype, copy=True)
        self.exp_dirichlet_component_ = np.exp(
            lda.expected_log(self.components_)
        )


def _sklearn(X, lam0, **kw):
    est = _FixedInitLDA(
        n_components=K,
        doc_topic_prior=ALPHA,
        topic_word_prior=ETA,
        n_jobs=1,
        random_state=0,
        mean_change_tol=E_TOL,
        max_doc_update_iter=E_MAX,
        evaluate_every=-1,
        **kw,
    )
    est.lam0 = lam0
    return est.fit(X)


def _peers_rng(lam0):
    rng = np.random.RandomState(
        0
    )  # scikit-learn's and gensim's random_state=0, after their K x V draw
    rng.gamma(100.0, 0.01, size=lam0.shape)
    return rng


def _gensim(corpus, lam0, passes, k=K, **kw):
    from gensim.models import LdaModel

    model = LdaModel(
        num_topics=k,
        id2word={i: str(i) for i in range(V)},
        alpha=np.full(k, ALPHA),
        eta=ETA,
        dtype=np.float64,
        random_state=0,
        iterations=E_MAX,
        gamma_threshold=E_TOL,
        eval_every=None,
    )
    model.state.sstats[...] = lam0 - ETA  # gensim's lam is eta + sstats
    model.sync_state()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.update(corpus, passes=passes, **kw)
    return model.state.get_lambda()


def _batch(report, X, lam0):
    from gensim.matutils import Sparse2Corpus

    logging.getLogger("gensim").setLevel(logging.ERROR)
    Xf = X.astype(float)
    corpus = list(Sparse2Corpus(X, documents_columns=False))
    with report.section(
        "LDA batch VB vs scikit-learn and gensim, whole fit",
        D=D,
        V=V,
        K=K,
        tokens_per_doc=DOC_LENGTH,
        iterations=N_ITER,
    ) as s:
        out = {}

        def ours():
            out["vitutor"] = lda.batch_vb(
                X,
                K,
                ALPHA,
                ETA,
                seed=_peers_rng(lam0),
                lam0=lam0,
                max_iter=N_ITER,
                tol=None,
                e_step_tol=E_TOL,
                e_step_max_iter=E_MAX,
            ).lam

        def sk():
            out["sklearn"] = _sklearn(
                Xf, lam0, learning_method="batch", max_iter=N_ITER
            ).components_

        def gs():
            out["gensim"] = _gensim(
                corpus, lam0, N_ITER, update_every=0, chunksize=D, decay=0.0
            )

        times = interleaved(
            ROUNDS,
            vitutor=lambda: timed(ours),
            sklearn=lambda: timed(sk),
            gensim=lambda: timed(gs),
        )
        perp = {
            name: lda.perplexity(X, lam, ALPHA, ETA)
            for name, lam in out.items()
        }
        s.check(
            "|perplexity / scikit-learn's - 1|",
            abs(perp["vitutor"] / perp["sklearn"] - 1),
            limit=0.01,
        )
        s.check(
            "|perplexity / gensim's - 1|",
            abs(perp["vitutor"] / perp["gensim"] - 1),
            limit=0.01,
        )
        s.timings(times, unit="fit")
        s.ratio(
            "vitutor / sklearn (batch)",
            times["vitutor"],
            times["sklearn"],
            target=0.25,
        )
        s.ratio("vitutor / gensim (batch)", times["vitutor"], times["gensim"])
        for name, value in perp.items():
            s.figure(
                f"perplexity_{name}",
                value,
                f"final perplexity bound, {name}: {value:.3f}",
            )
        s.note(
            "the three start every E-step from the same gamma draws; scikit-learn and gensim "
            "loop over documents in Python, vitutor iterates every document to convergence in "
            "one compiled call per E-step"
        )


def _online(report, X, lam0):
    Xf = X.astype(float)
    tokens_per_step = BATCH * DOC_LENGTH
    with report.section(
        "LDA online VB, time per 10^6 tokens",
        D=D,
        V=V,
        K=K,
        batch_size=BATCH,
        kappa=KAPPA,
        tau0=TAU0,
    ) as s:

        def ours(steps):
            with _clocking_final_e_step():
                return _online_vb(steps)

        def _online_vb(steps):
            return lda.online_vb(
                X,
                K,
                ALPHA,
                ETA,
                batch_size=BATCH,
                n_steps=steps,
                kappa=KAPPA,
                tau0=TAU0,
                seed=3,
                lam0=lam0,
                e_step_tol=E_TOL,
                e_step_max_iter=E_MAX,
            )

        def sk(epochs):
            return _sklearn(
                Xf,
                lam0,
                learning_method="online",
                batch_size=BATCH,
                learning_decay=KAPPA,
                learning_offset=TAU0,
                max_iter=epochs,
                total_samples=D,
            )

        times = interleaved(
            ROUNDS,
            vitutor=lambda: _per_step(ours, 8, 24) * 1e6 / tokens_per_step,
            sklearn=lambda: _per_step(sk, 1, 3) * 1e6 / (D * DOC_LENGTH),
        )
        s.timings(times, unit="10^6 tokens")
        s.ratio(
            "vitutor / sklearn (online)",
            times["vitutor"],
            times["sklearn"],
            target=0.25,
        )
        passes = 3
        p_ours = lda.perplexity(X, ours(passes * D // BATCH).lam, ALPHA, ETA)
        p_sk = lda.perplexity(X, sk(passes).components_, ALPHA, ETA)
        s.figure(
            "perplexity_online_vitutor",
            p_ours,
            f"perplexity bound after {passes} passes, vitutor: {p_ours:.3f}",
        )
        s.figure(
            "perplexity_online_sklearn",
            p_sk,
            f"perplexity bound after {passes} passes, sklearn: {p_sk:.3f}",
        )
        s.check(
            f"|perplexity / scikit-learn's - 1| after {passes} passes",
            abs(p_ours / p_sk - 1),
            limit=0.05,
        )
        s.note(
            "online minibatches differ (vitutor samples them, scikit-learn walks the corpus in "
            "order), so the perplexities agree only statistically; tests/test_lda.py compares "
            "them within 2%"
        )


def _throughput(report, X):
    from gensim.matutils import Sparse2Corpus

    logging.getLogger("gensim").setLevel(logging.ERROR)
    docs = list(Sparse2Corpus(X, documents_columns=False))
    lam0 = np.random.default_rng(2).gamma(100.0, 0.01, size=(K_THROUGHPUT, V))
    tokens = X.sum(axis=1).A1
    # steps (chunks of |B| documents) of the short and the long run: the difference is one pass
    lo, hi = 1, 1 + D // BATCH
    with report.section(
        "LDA online VB throughput, tokens per second on one core",
        D=D,
        V=V,
        K=K_THROUGHPUT,
        batch_size=BATCH,
        kappa=KAPPA,
        tau0=TAU0,
    ) as s:

        def ours(steps):
            with _clocking_final_e_step():
                return _online_vb(steps)

        def _online_vb(steps):
            return lda.online_vb(
                X,
                K_THROUGHPUT,
                ALPHA,
                ETA,
                batch_size=BATCH,
                n_steps=steps,
                kappa=KAPPA,
                tau0=TAU0,
                seed=3,
                lam0=lam0,
                e_step_tol=E_TOL,
                e_step_max_iter=E_MAX,
            )

        def gs(steps):
            return _gensim(
                docs[: steps * BATCH],
                lam0,
                1,
                k=K_THROUGHPUT,
                update_every=1,
                chunksize=BATCH,
                decay=KAPPA,
                offset=TAU0,
            )

        # every document has DOC_LENGTH tokens, so a step of |B| documents is |B| DOC_LENGTH
        assert np.all(tokens == DOC_LENGTH)
        per_step = BATCH * DOC_LENGTH
        times = interleaved(
            ROUNDS,
            vitutor=lambda: _per_step(ours, lo, hi) * 1e6 / per_step,
            gensim=lambda: _per_step(gs, lo, hi) * 1e6 / per_step,
        )
        s.timings(times, unit="10^6 tokens")
        rates = {name: 1e6 / np.asarray(t) for name, t in times.items()}
        for name, rate in rates.items():
            s.figure(
                f"tokens_per_second_{name}",
                float(np.median(rate)),
                f"{name:8s} {np.median(rate):12,.0f} tokens / s / core  "
                f"[{rate.min():,.0f}, {rate.max():,.0f}]",
            )
        s.ratio(
            "vitutor / gensim (online, K = 100)",
            times["vitutor"],
            times["gensim"],
        )
        steps = (
            D // BATCH
        )  # one pass (the last partial minibatch left out on both sides)
        p_ours = lda.perplexity(X, ours(steps).lam, ALPHA, ETA)
        p_gs = lda.perplexity(X, gs(steps), ALPHA, ETA)
        s.figure(
            "perplexity_throughput_vitutor",
            p_ours,
            f"perplexity bound after one pass, vitutor: {p_ours:.3f}",
        )
        s.figure(
            "perplexity_throughput_gensim",
            p_gs,
            f"perplexity bound after one pass, gensim: {p_gs:.3f}",
        )
        s.check(
            "|perplexity / gensim's - 1| after one pass",
            abs(p_ours / p_gs - 1),
            limit=0.05,
        )
        s.note(
            "gensim walks the corpus in order, vitutor samples its minibatches, and gensim's "
            "step size counts from t = 0; both use one core (gensim's LdaModel, not "
            "LdaMulticore), float64 and the inner rule mean |change of gamma_d| < 1e-3, at most "
            "100 iterations"
        )


def main(report):
    corpus = lda.simulate_corpus(D, V, K, ALPHA, ETA, DOC_LENGTH, seed=0)
    lam0 = np.random.default_rng(1).gamma(100.0, 0.01, size=(K, V))
    _batch(report, corpus.X, lam0)
    _online(report, corpus.X, lam0)
    _throughput(report, corpus.X)
