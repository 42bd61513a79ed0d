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
   set-up and the final full E-step cancel), |B| = 256, kappa = 0.7, tau0 = 10; scikit-learn's
   online mode (same |B|, learning_decay, learning_offset) per epoch, as the reference.
"""

import logging
import warnings

import numpy as np
from sklearn.decomposition import LatentDirichletAllocation

from bench._harness import interleaved, per_iteration, timed
from vitutor import lda

D, V, K, DOC_LENGTH, ALPHA, ETA = 2000, 5000, 20, 200, 0.1, 0.05
N_ITER, E_TOL, E_MAX = 10, 1e-3, 100
BATCH, KAPPA, TAU0 = 256, 0.7, 10.0
ROUNDS = 3


class _FixedInitLDA(LatentDirichletAllocation):
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


def _gensim(corpus, lam0, passes, **kw):
    from gensim.models import LdaModel

    model = LdaModel(
        num_topics=K,
        id2word={i: str(i) for i in range(V)},
        alpha=np.full(K, ALPHA),
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
            target=0.5,
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
            "loop over documents in Python, vitutor runs each sweep over all active documents "
            "in one compiled call"
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
            vitutor=lambda: per_iteration(ours, 8, 24) * 1e6 / tokens_per_step,
            sklearn=lambda: per_iteration(sk, 1, 3) * 1e6 / (D * DOC_LENGTH),
        )
        s.timings(times, unit="10^6 tokens")
        s.ratio(
            "vitutor / sklearn (online)", times["vitutor"], times["sklearn"]
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
        s.note(
            "online minibatches differ (vitutor samples them, scikit-learn walks the corpus in "
            "order), so the perplexities agree only statistically; tests/test_lda.py compares "
            "them within 2%"
        )


def main(report):
    corpus = lda.simulate_corpus(D, V, K, ALPHA, ETA, DOC_LENGTH, seed=0)
    lam0 = np.random.default_rng(1).gamma(100.0, 0.01, size=(K, V))
    _batch(report, corpus.X, lam0)
    _online(report, corpus.X, lam0)
