"""What a new user types into the modules of chapters 6-8 (expfam, svi, lda, text, linreg, logreg,
bbvi, scale), one test per kind of mistake (issue 23): every message names the argument as the user
wrote it (matched as a whole word), numpy's and Python's own messages are replaced by ones that do,
a NaN from a user's callback names the callback and the iteration, nothing wrong is silently
accepted, and every public function checks every argument at its boundary."""

import inspect
import re

import numpy as np
import pytest
import scipy.sparse as sp
from distributed import Client, LocalCluster

from vitutor import bbvi, gmm, lda, linreg, logreg, scale, svi, text
from vitutor import expfam as ef

# ------------------------------------------------------------------ small valid inputs


def word(name):
    """A regex matching ``name`` as a whole word: ``max_iter`` does not match
    ``e_step_max_iter``."""
    return rf"(?<![\w.]){re.escape(name)}(?!\w)"


X_LDA = sp.csr_matrix(np.array([[2, 1, 0, 1], [0, 3, 1, 0], [1, 0, 2, 2]]))
LAM = np.full((2, 4), 1.5)
X_LOG, T_LOG = logreg.simulate(20, [0.5, -1.0], seed=0)
PHI = linreg.polynomial_design(np.linspace(-1.0, 1.0, 8), 2)
T_LIN = np.sin(np.linspace(-1.0, 1.0, 8))
PRIOR = linreg.LinRegPrior()
X_MIX = gmm.simulate(60, 2, 4.0, seed=0).x
LAM0 = ef.Gaussian.from_mean_var(np.array([-1.0, 1.0]), 1.0).eta
CONJUGATE = gmm.conjugate_form(2, 4.0)
MEAN_FIELD = gmm.mean_field_form(X_MIX, 2, 4.0)
INIT = {
    "mu": ef.Gaussian.from_mean_var(np.zeros(2), 1.0),
    "c": ef.Categorical(np.zeros((60, 2))),
}


def gauss_log_joint(W):
    return -0.5 * np.sum(W**2, axis=-1)


def gauss_grad(W):
    return -W


def mean_field(expected_log_joint=None, natural_parameter=None):
    """The mixture's mean-field form with one callback replaced."""
    mu, c = MEAN_FIELD.factors
    if natural_parameter is not None:
        mu = svi.Factor("mu", ef.Gaussian, natural_parameter)
    return svi.MeanFieldModel(
        (mu, c), expected_log_joint or MEAN_FIELD.expected_log_joint
    )


def conjugate(local_step):
    return svi.ConjugateModel(ef.Gaussian, CONJUGATE.alpha, local_step)


def nth_call(n, good, bad):
    """A callback that behaves like ``good`` except on its ``n``-th call, where it returns
    ``bad(*args)``."""
    calls = [0]

    def callback(*args):
        calls[0] += 1
        return bad(*args) if calls[0] == n else good(*args)

    return callback


@pytest.fixture(scope="module")
def client():
    cluster = LocalCluster(
        n_workers=1,
        threads_per_worker=1,
        processes=False,
        dashboard_address=None,
        worker_dashboard_address=None,
    )
    c = Client(cluster)
    yield c
    c.close()
    cluster.close()


@pytest.fixture(scope="module")
def x_dask():
    import dask.array as da

    return da.from_array(X_MIX, chunks=20)


@pytest.fixture()
def npy_files(tmp_path):
    files = {
        "text": tmp_path / "x.txt",
        "npz": tmp_path / "x.npz",
        "complex": tmp_path / "c.npy",
    }
    files["text"].write_text("1 2 3\n")
    np.savez(files["npz"], x=np.ones(3))
    np.save(files["complex"], np.ones(4) + 1j)
    return files


# ------------------------------------------------------------------ kind 1: the user's name


@pytest.mark.parametrize(
    ("call", "name"),
    [
        (lambda: ef.Dirichlet.from_concentration(2.0), "alpha"),
        (lambda: ef.Categorical.from_probs(1.0), "p"),
        (
            lambda: svi.ConjugateModel(
                ef.Gaussian, np.array([[0.0, 1.0]]), CONJUGATE.local_step
            ),
            "alpha",
        ),
        (
            lambda: logreg.em(X_LOG, T_LOG, 1.0, xi0=np.ones(3)),
            "xi0",
        ),
        (lambda: logreg.log_joint(np.ones(3), X_LOG, T_LOG, 1.0), "W"),
        (
            lambda: logreg.grad_log_joint([np.nan, 0.0], X_LOG, T_LOG, 1.0),
            "W",
        ),
        (lambda: logreg.update_xi(X_LOG, np.zeros(2), -np.eye(2)), "S_N"),
        (lambda: logreg.update_xi(X_LOG, np.zeros(3), np.eye(2)), "m_N"),
        (
            lambda: bbvi.fit(
                gauss_log_joint, gauss_grad, np.zeros(2), np.eye(3), 5
            ),
            "L0",
        ),
        (
            lambda: bbvi.fit(
                gauss_log_joint, gauss_grad, [np.nan, 0.0], np.eye(2), 5
            ),
            "m0",
        ),
        (lambda: lda.e_step(X_LDA, LAM, 0.5, max_iter=0), "max_iter"),
        (lambda: lda.transform(X_LDA, LAM, 0.5, tol=-1.0), "tol"),
        (
            lambda: lda.perplexity(X_LDA, LAM, 0.5, 0.1, max_iter=0),
            "max_iter",
        ),
        (lambda: ef.Gaussian.from_mean_var(1e300, 1e-300), "s2"),
    ],
    ids=[
        "dirichlet-alpha",
        "categorical-p",
        "conjugate-alpha",
        "em-xi0",
        "log_joint-W",
        "grad_log_joint-W",
        "update_xi-S_N",
        "update_xi-m_N",
        "fit-L0",
        "fit-m0",
        "e_step-max_iter",
        "transform-tol",
        "perplexity-max_iter",
        "overflow-s2",
    ],
)
def test_messages_name_the_argument_the_user_passed(call, name):
    with pytest.raises((ValueError, TypeError), match=word(name)):
        call()


# ------------------------------------------------------------------ kind 2: numpy's messages


def dirichlet_pair():
    return (
        ef.Dirichlet.from_concentration(np.ones((2, 3)) * 1.5),
        ef.Dirichlet.from_concentration(np.ones((3, 3))),
    )


@pytest.mark.parametrize(
    ("call", "pattern"),
    [
        (
            lambda: ef.Gaussian.from_mean_var([0.0, 1.0, 2.0], [1.0, 2.0]),
            word("m") + ".*" + word("s2"),
        ),
        (
            lambda: ef.NormalGamma.from_params(
                [0.0, 1.0, 2.0], [1.0, 2.0], 1, 1
            ),
            word("m") + ".*" + word("kappa"),
        ),
        (
            lambda: ef.Gaussian.from_mean_var([0.0, 1.0, 2.0], 1.0).logpdf(
                [1.0, 2.0]
            ),
            word("z"),
        ),
        (
            lambda: dirichlet_pair()[0].logpdf(np.full((3, 3), 1 / 3)),
            word("z"),
        ),
        (lambda: dirichlet_pair()[0].kl(dirichlet_pair()[1]), word("other")),
        (
            lambda: ef.Dirichlet.from_concentration([[1.0, 2.0], [1.0]]),
            word("alpha") + ".*ragged",
        ),
        (lambda: lda.check_counts([[1, 2, 0], [3]]), word("X") + ".*ragged"),
        (lambda: lda.e_step(X_LDA, [[1.0] * 4, [1.0] * 3], 0.5), word("lam")),
        (lambda: ef.Gamma.from_shape_rate(2.0, 1.0).sample(2.5), word("size")),
        (
            lambda: svi.MeanFieldModel(
                MEAN_FIELD.factors[0], MEAN_FIELD.expected_log_joint
            ),
            word("factors"),
        ),
        (
            lambda: svi.svi(
                conjugate(lambda x, mean_T: (np.ones(3), 0.0)),
                X_MIX,
                LAM0,
                2,
                10,
            ),
            word("local_step") + r" must return stats of shape \(2, 2\)",
        ),
        (
            lambda: svi.cavi(mean_field(lambda means: np.ones(3)), INIT),
            word("expected_log_joint") + " must return .* a single number",
        ),
        (
            lambda: svi.svi(CONJUGATE, np.ones((60, 3)), LAM0, 2, 10),
            word("local_step") + r" failed on x of shape \(10, 3\)",
        ),
        (
            lambda: text.document_term_matrix([None, ["word"]]),
            r"token_lists\[0\]",
        ),
        (lambda: text.scipy_docstrings(None), word("submodules")),
        (lambda: text.scipy_docstrings([None]), r"submodules\[0\]"),
        (lambda: scale.from_npy(None, 10), word("path")),
        (lambda: scale.from_npy("/no/such/file.npy", 10), word("path")),
        (
            lambda: logreg.log_sigmoid_bound(np.ones(3), np.ones(2)),
            word("a") + ".*" + word("xi"),
        ),
    ],
    ids=[
        "broadcast-parameters",
        "broadcast-normal-gamma",
        "broadcast-logpdf",
        "broadcast-dirichlet-logpdf",
        "broadcast-kl",
        "ragged-concentrations",
        "ragged-counts",
        "ragged-topics",
        "float-size",
        "single-factor",
        "local_step-shape",
        "expected_log_joint-vector",
        "x-of-the-wrong-dimension",
        "none-token-list",
        "none-submodules",
        "none-submodule-name",
        "none-path",
        "missing-path",
        "broadcast-jj-bound",
    ],
)
def test_numpy_and_python_messages_are_replaced_by_named_ones(call, pattern):
    with pytest.raises((ValueError, TypeError), match=pattern):
        call()


@pytest.mark.parametrize("kind", ["text", "npz"])
def test_a_file_that_is_not_npy_is_refused_naming_path(npy_files, kind):
    with pytest.raises(ValueError, match=word("path") + ".*not start with"):
        scale.from_npy(npy_files[kind], 10)


def test_data_of_the_wrong_dimension_on_a_cluster_names_local_step(
    client, x_dask
):
    import dask.array as da

    wide = da.from_array(np.ones((60, 3)), chunks=(20, 3))
    with pytest.raises(
        ValueError,
        match=word("local_step") + r" failed on x of shape \(20, 3\)",
    ):
        scale.cavi(client, CONJUGATE, wide, LAM0, max_iter=2)
    bad = conjugate(lambda x, mean_T: (np.ones(3), 0.0))
    with pytest.raises(ValueError, match=word("local_step") + " must return"):
        scale.cavi(client, bad, x_dask, LAM0, max_iter=2)


# ------------------------------------------------------------------ kind 3: NaN from a callback


def nan_like(value):
    return np.full(np.shape(value), np.nan)


def elj_nan_at_sweep_2():
    elj = nth_call(
        2, MEAN_FIELD.expected_log_joint, lambda means: np.float64(np.nan)
    )
    svi.cavi(mean_field(expected_log_joint=elj), INIT, tol=None, max_iter=5)


def natural_parameter_nan_at_sweep_3():
    eta_mu = MEAN_FIELD.factors[0].natural_parameter
    nat = nth_call(3, eta_mu, lambda means: nan_like(eta_mu(means)))
    svi.cavi(mean_field(natural_parameter=nat), INIT, tol=None, max_iter=5)


def local_stats_nan_at_step_4():
    step = nth_call(
        4, CONJUGATE.local_step, lambda x, mean_T: (nan_like(mean_T), 0.0)
    )
    svi.svi(conjugate(step), X_MIX, LAM0, n_steps=6, batch_size=10)


def local_elbo_nan_at_step_0():
    svi.svi(
        conjugate(lambda x, mean_T: (np.zeros((2, 2)), np.nan)),
        X_MIX,
        LAM0,
        n_steps=2,
        batch_size=10,
        eval_every=1,
    )


def log_joint_nan_at_step_3():
    lj = nth_call(3, gauss_log_joint, lambda W: np.full(W.shape[0], np.nan))
    bbvi.fit(lj, gauss_grad, np.zeros(2), np.eye(2), n_steps=5, seed=0)


@pytest.mark.parametrize(
    ("call", "pattern"),
    [
        (
            elj_nan_at_sweep_2,
            r"expected_log_joint returned NaN .* at sweep 2$",
        ),
        (
            natural_parameter_nan_at_sweep_3,
            r"natural_parameter of factor 'mu' returned NaN .* at sweep 3$",
        ),
        (
            local_stats_nan_at_step_4,
            r"local_step returned NaN or inf in stats at step 4$",
        ),
        (
            local_elbo_nan_at_step_0,
            r"local_step returned NaN or inf in local_elbo at step 0$",
        ),
        (log_joint_nan_at_step_3, r"log_joint returned NaN .* at step 3 "),
    ],
    ids=[
        "expected_log_joint",
        "natural_parameter",
        "local_step-stats",
        "local_step-elbo",
        "bbvi-log_joint",
    ],
)
def test_nan_from_a_callback_names_the_callback_and_the_iteration(
    call, pattern
):
    # each returned NaN where an all-NaN trace, or an error naming eta, came out
    with pytest.raises(ValueError, match=pattern):
        call()


def test_nan_from_local_step_on_a_cluster_names_the_iteration(client, x_dask):
    # the callback travels to the worker, so it cannot count its calls: NaN from the second
    # iteration on, where E_q[T(mu)] has left its starting value
    start = ef.Gaussian(LAM0).mean_T()

    def cluster_step(x, mean_T):
        stats, local = CONJUGATE.local_step(x, mean_T)
        return stats, local if np.array_equal(mean_T, start) else np.nan

    with pytest.raises(
        ValueError, match=r"local_step returned NaN .* at iteration 1$"
    ):
        scale.cavi(client, conjugate(cluster_step), x_dask, LAM0, max_iter=3)


# ------------------------------------------------------------------ kind 4: silently accepted


def gamma_as_init_lam():
    gamma = ef.Gamma.from_shape_rate(np.ones(2), 1.0)
    svi.svi(CONJUGATE, X_MIX, gamma, n_steps=2, batch_size=10)


def fit(**kwargs):
    args = {
        "log_joint": gauss_log_joint,
        "grad_log_joint": gauss_grad,
        "m0": np.zeros(2),
        "L0": np.eye(2),
        "n_steps": 5,
    }
    bbvi.fit(**{**args, **kwargs})


@pytest.mark.parametrize(
    ("call", "error", "pattern"),
    [
        # validated when called, not at the first draw
        (lambda: svi.minibatches(10, 20), ValueError, word("batch_size")),
        (gamma_as_init_lam, TypeError, word("init_lam") + " is a Gamma"),
        # complex numbers: the imaginary part was dropped with a warning
        (lambda: fit(L0=np.eye(2) + 0j), TypeError, word("L0") + ".*complex"),
        (
            lambda: bbvi.score_gradient(
                lambda W: gauss_log_joint(W) + 0j, np.zeros(2), np.eye(2), 3
            ),
            TypeError,
            word("log_joint") + ".*complex",
        ),
        # strings in a numeric matrix: they were converted to numbers
        (
            lambda: fit(L0=np.array([["1", "0"], ["0", "1"]])),
            TypeError,
            word("L0"),
        ),
        (lambda: bbvi.gaussian_entropy([["1.0"]]), TypeError, word("L")),
        # a non-boolean flag: any non-empty string is true
        (lambda: fit(mean_field="no"), TypeError, word("mean_field")),
        (lambda: fit(keep_trace="no"), TypeError, word("keep_trace")),
        (
            lambda: bbvi.score_gradient(
                gauss_log_joint,
                np.zeros(2),
                np.eye(2),
                3,
                control_variate="no",
            ),
            ValueError,  # a string, but not 'baseline' or 'scaled'
            word("control_variate"),
        ),
        (
            lambda: lda.batch_vb(
                X_LDA, 2, 0.5, 0.1, warm_start="no", max_iter=2
            ),
            TypeError,
            word("warm_start"),
        ),
        # a callback's output of the wrong structure: it was unpacked or broadcast
        (
            lambda: svi.svi(
                conjugate(lambda x, mean_T: np.zeros((2, 2))),
                X_MIX,
                LAM0,
                n_steps=2,
                batch_size=10,
            ),
            TypeError,
            word("local_step") + " must return a pair",
        ),
        (
            lambda: svi.cavi(
                mean_field(natural_parameter=lambda m: -np.ones((3, 2))), INIT
            ),
            ValueError,
            r"natural_parameter of factor 'mu' must return eta of shape \(2, 2\)",
        ),
        # an unordered set of submodules: the labels followed the hash order
        (
            lambda: text.scipy_docstrings({"linalg"}),
            TypeError,
            word("submodules"),
        ),
    ],
    ids=[
        "minibatches-batch_size",
        "init_lam-family",
        "complex-L0",
        "complex-callback",
        "strings-L0",
        "strings-L",
        "mean_field",
        "keep_trace",
        "control_variate",
        "warm_start",
        "local_step-pair",
        "natural_parameter-shape",
        "submodules-set",
    ],
)
def test_input_that_was_silently_accepted_is_refused(call, error, pattern):
    with pytest.raises(error, match=pattern):
        call()


def test_input_that_was_silently_accepted_on_a_cluster_is_refused(
    client, x_dask, npy_files
):
    gamma = ef.Gamma.from_shape_rate(np.ones(2), 1.0)
    with pytest.raises(TypeError, match=word("init_lam") + " is a Gamma"):
        scale.cavi(client, CONJUGATE, x_dask, gamma, max_iter=2)
    with pytest.raises(TypeError, match=word("check")):
        scale.cavi(client, CONJUGATE, x_dask, LAM0, check="no")
    with pytest.raises(ValueError, match=word("path") + ".*complex"):
        scale.from_npy(npy_files["complex"], 2)


# ------------------------------------------------------------------ every public function

POISON = object()  # neither a number, an array, a callable, a bool nor None


def _calls():
    """Every public callable of the eight modules with valid arguments, as
    ``(label, callable, kwargs)``."""
    g = ef.Gaussian.from_mean_var(0.5, 2.0)
    fams = {
        "Gaussian": (g, 0.3),
        "Gamma": (ef.Gamma.from_shape_rate(2.0, 1.0), 0.5),
        "Beta": (ef.Beta.from_ab(2.0, 3.0), 0.5),
        "Dirichlet": (ef.Dirichlet.from_concentration([1.0, 2.0]), [0.4, 0.6]),
        "Categorical": (ef.Categorical(np.zeros(3)), 1),
        "NormalGamma": (
            ef.NormalGamma.from_params(0.0, 1.0, 2.0, 1.0),
            [0.1, 1.0],
        ),
    }
    calls = [
        (
            "Gaussian.from_mean_var",
            ef.Gaussian.from_mean_var,
            {"m": 0.0, "s2": 1.0},
        ),
        (
            "Gamma.from_shape_rate",
            ef.Gamma.from_shape_rate,
            {"a": 1.0, "b": 1.0},
        ),
        ("Beta.from_ab", ef.Beta.from_ab, {"a": 1.0, "b": 1.0}),
        (
            "Dirichlet.from_concentration",
            ef.Dirichlet.from_concentration,
            {"alpha": [1.0, 2.0]},
        ),
        (
            "Categorical.from_probs",
            ef.Categorical.from_probs,
            {"p": [0.5, 0.5]},
        ),
        (
            "NormalGamma.from_params",
            ef.NormalGamma.from_params,
            {"m": 0.0, "kappa": 1.0, "a": 1.0, "b": 1.0},
        ),
    ]
    for name, (dist, z) in fams.items():
        cls = type(dist)
        calls += [
            (f"{name}", cls, {"eta": dist.eta}),
            (
                f"{name}.check_eta",
                cls.check_eta,
                {"eta": dist.eta, "name": "eta"},
            ),
            (f"{name}.logpdf", dist.logpdf, {"z": z}),
            (f"{name}.log_base_measure", dist.log_base_measure, {"z": z}),
            (f"{name}.T", dist.T, {"z": z}),
            (f"{name}.kl", dist.kl, {"other": dist}),
            (
                f"{name}.sample",
                dist.sample,
                {"size": 2, "seed": 0, "max_elements": 100},
            ),
        ]
    calls += [
        (
            "svi.Factor",
            svi.Factor,
            {
                "name": "mu",
                "family": ef.Gaussian,
                "natural_parameter": gauss_grad,
            },
        ),
        (
            "svi.MeanFieldModel",
            svi.MeanFieldModel,
            {
                "factors": MEAN_FIELD.factors,
                "expected_log_joint": MEAN_FIELD.expected_log_joint,
            },
        ),
        ("svi.elbo", svi.elbo, {"model": MEAN_FIELD, "q": INIT}),
        (
            "svi.cavi",
            svi.cavi,
            {"model": MEAN_FIELD, "init": INIT, "max_iter": 2, "tol": 1e-10},
        ),
        (
            "svi.ConjugateModel",
            svi.ConjugateModel,
            {
                "family": ef.Gaussian,
                "alpha": CONJUGATE.alpha,
                "local_step": CONJUGATE.local_step,
            },
        ),
        (
            "svi.global_step",
            svi.global_step,
            {"model": CONJUGATE, "x": X_MIX, "lam": LAM0},
        ),
        (
            "svi.collapsed_elbo",
            svi.collapsed_elbo,
            {"model": CONJUGATE, "x": X_MIX, "lam": LAM0},
        ),
        (
            "svi.step_sizes",
            svi.step_sizes,
            {"n_steps": 3, "kappa": 0.7, "tau0": 1.0, "max_elements": 10},
        ),
        (
            "svi.minibatches",
            svi.minibatches,
            {"n": 10, "batch_size": 2, "seed": 0},
        ),
        (
            "svi.svi",
            svi.svi,
            {
                "model": CONJUGATE,
                "x": X_MIX,
                "init_lam": LAM0,
                "n_steps": 2,
                "batch_size": 10,
                "kappa": 0.7,
                "tau0": 1.0,
                "seed": 0,
                "eval_every": 1,
            },
        ),
        ("lda.check_counts", lda.check_counts, {"X": X_LDA, "name": "X"}),
        (
            "lda.simulate_corpus",
            lda.simulate_corpus,
            {
                "D": 3,
                "V": 4,
                "K": 2,
                "alpha": 0.5,
                "eta": 0.1,
                "doc_length": 5,
                "seed": 0,
                "max_elements": 1000,
            },
        ),
        ("lda.expected_log", lda.expected_log, {"conc": LAM}),
    ]
    local = {
        "X": X_LDA,
        "lam": LAM,
        "alpha": 0.5,
        "gamma0": np.ones((3, 2)),
        "tol": 1e-3,
        "max_iter": 10,
    }
    calls += [
        ("lda.e_step", lda.e_step, local),
        ("lda.transform", lda.transform, local),
        (
            "lda.elbo",
            lda.elbo,
            {
                "X": X_LDA,
                "gamma": np.ones((3, 2)),
                "lam": LAM,
                "alpha": 0.5,
                "eta": 0.1,
            },
        ),
        (
            "lda.perplexity",
            lda.perplexity,
            {
                "X": X_LDA,
                "lam": LAM,
                "alpha": 0.5,
                "eta": 0.1,
                "gamma": np.ones((3, 2)),
                "tol": 1e-3,
                "max_iter": 10,
            },
        ),
    ]
    fit_args = {
        "X": X_LDA,
        "K": 2,
        "alpha": 0.5,
        "eta": 0.1,
        "seed": 0,
        "lam0": LAM,
        "e_step_tol": 1e-3,
        "e_step_max_iter": 10,
        "warm_start": False,
        "max_elements": 10**6,
    }
    calls += [
        (
            "lda.batch_vb",
            lda.batch_vb,
            {**fit_args, "max_iter": 2, "tol": 1e-6},
        ),
        (
            "lda.online_vb",
            lda.online_vb,
            {
                **fit_args,
                "batch_size": 2,
                "n_steps": 2,
                "kappa": 0.7,
                "tau0": 10.0,
                "eval_every": 1,
            },
        ),
        (
            "lda.split_tokens",
            lda.split_tokens,
            {"X": X_LDA, "fraction": 0.5, "seed": 0, "max_elements": 100},
        ),
        (
            "lda.document_completion",
            lda.document_completion,
            {
                "X_obs": X_LDA,
                "X_held": X_LDA,
                "lam": LAM,
                "alpha": 0.5,
                "tol": 1e-3,
                "max_iter": 10,
            },
        ),
        (
            "lda.prior_objective",
            lda.prior_objective,
            {"q_conc": LAM, "conc": 0.5},
        ),
        (
            "lda.estimate_prior",
            lda.estimate_prior,
            {"q_conc": LAM, "conc0": 0.5, "tol": 1e-8, "max_iter": 5},
        ),
        (
            "lda.variational_em",
            lda.variational_em,
            {
                **fit_args,
                "max_iter": 2,
                "tol": 1e-6,
                "prior_tol": 1e-8,
                "prior_max_iter": 5,
            },
        ),
        ("text.tokenize", text.tokenize, {"text": "some words here"}),
        (
            "text.document_term_matrix",
            text.document_term_matrix,
            {
                "token_lists": [["aaa", "bbb"], ["aaa"]],
                "min_df": 1,
                "max_df": 1.0,
            },
        ),
        (
            "text.scipy_docstrings",
            text.scipy_docstrings,
            {
                "submodules": ("integrate",),
                "min_df": 2,
                "max_df": 0.5,
                "min_tokens": 5,
            },
        ),
        (
            "linreg.LinRegPrior",
            linreg.LinRegPrior,
            {"a0": 1.0, "b0": 1.0, "beta": 1.0},
        ),
        (
            "linreg.polynomial_design",
            linreg.polynomial_design,
            {"x": [0.0, 1.0], "degree": 2, "max_elements": 100},
        ),
    ]
    m_N, S_N = linreg.update_q_w(PHI, T_LIN, PRIOR, 1.0)
    calls += [
        (
            "linreg.update_q_w",
            linreg.update_q_w,
            {"Phi": PHI, "t": T_LIN, "prior": PRIOR, "E_alpha": 1.0},
        ),
        (
            "linreg.update_q_alpha",
            linreg.update_q_alpha,
            {"prior": PRIOR, "m_N": m_N, "S_N": S_N},
        ),
        (
            "linreg.elbo",
            linreg.elbo,
            {
                "Phi": PHI,
                "t": T_LIN,
                "prior": PRIOR,
                "m_N": m_N,
                "S_N": S_N,
                "a_N": 1.0,
                "b_N": 1.0,
            },
        ),
        (
            "linreg.cavi",
            linreg.cavi,
            {
                "Phi": PHI,
                "t": T_LIN,
                "prior": PRIOR,
                "E_alpha0": 1.0,
                "max_iter": 3,
                "tol": 1e-12,
            },
        ),
        (
            "linreg.log_evidence_given_alpha",
            linreg.log_evidence_given_alpha,
            {"Phi": PHI, "t": T_LIN, "prior": PRIOR, "alpha": 1.0},
        ),
        (
            "linreg.log_evidence",
            linreg.log_evidence,
            {"Phi": PHI, "t": T_LIN, "prior": PRIOR},
        ),
        (
            "linreg.predictive",
            linreg.predictive,
            {"Phi_new": PHI[:2], "prior": PRIOR, "m_N": m_N, "S_N": S_N},
        ),
        (
            "linreg.exact_predictive",
            linreg.exact_predictive,
            {"Phi": PHI, "t": T_LIN, "prior": PRIOR, "Phi_new": PHI[:2]},
        ),
    ]
    xt = {"X": X_LOG, "t": T_LOG, "prior_var": 1.0}
    xi = np.ones(20)
    m, S = np.zeros(2), np.eye(2)
    grid = logreg.grid_posterior(X_LOG, T_LOG, 1.0, n_grid=21)
    calls += [
        (
            "logreg.simulate",
            logreg.simulate,
            {
                "n": 5,
                "w": [0.0, 1.0],
                "x_loc": 0.0,
                "x_scale": 1.0,
                "seed": 0,
                "max_elements": 100,
            },
        ),
        ("logreg.jj_lambda", logreg.jj_lambda, {"xi": 1.0}),
        (
            "logreg.log_sigmoid_bound",
            logreg.log_sigmoid_bound,
            {"a": 0.5, "xi": 1.0},
        ),
        ("logreg.update_q", logreg.update_q, {**xt, "xi": xi}),
        (
            "logreg.update_xi",
            logreg.update_xi,
            {"X": X_LOG, "m_N": m, "S_N": S},
        ),
        ("logreg.local_bound", logreg.local_bound, {**xt, "xi": xi}),
        (
            "logreg.bound_objective",
            logreg.bound_objective,
            {**xt, "m": m, "S": S, "xi": xi},
        ),
        (
            "logreg.em",
            logreg.em,
            {**xt, "xi0": xi, "max_iter": 3, "tol": 1e-12},
        ),
        ("logreg.log_joint", logreg.log_joint, {"W": m, **xt}),
        ("logreg.grad_log_joint", logreg.grad_log_joint, {"W": m, **xt}),
        (
            "logreg.laplace",
            logreg.laplace,
            {**xt, "max_iter": 5, "tol": 1e-12},
        ),
        (
            "logreg.expected_log_lik",
            logreg.expected_log_lik,
            {
                "X": X_LOG,
                "t": T_LOG,
                "m": m,
                "S": S,
                "n_nodes": 8,
                "max_elements": 10**4,
            },
        ),
        ("logreg.gaussian_entropy", logreg.gaussian_entropy, {"S": S}),
        ("logreg.elbo", logreg.elbo, {**xt, "m": m, "S": S, "n_nodes": 8}),
        (
            "logreg.grid_posterior",
            logreg.grid_posterior,
            {**xt, "n_grid": 11, "width": 5.0, "max_elements": 10**5},
        ),
        (
            "GridPosterior.kl_from_gaussian",
            grid.kl_from_gaussian,
            {"m": m, "S": S},
        ),
        ("bbvi.gaussian_entropy", bbvi.gaussian_entropy, {"L": S}),
        (
            "bbvi.reparam_gradient",
            bbvi.reparam_gradient,
            {
                "grad_log_joint": gauss_grad,
                "m": m,
                "L": S,
                "n_samples": 3,
                "seed": 0,
                "mean_field": False,
                "max_elements": 100,
            },
        ),
        (
            "bbvi.score_gradient",
            bbvi.score_gradient,
            {
                "log_joint": gauss_log_joint,
                "m": m,
                "L": S,
                "n_samples": 3,
                "seed": 0,
                "control_variate": True,
                "mean_field": False,
                "max_elements": 200,
            },
        ),
        (
            "bbvi.path_gradient",
            bbvi.path_gradient,
            {
                "grad_log_joint": gauss_grad,
                "m": m,
                "L": S,
                "n_samples": 3,
                "seed": 0,
                "mean_field": False,
                "max_elements": 100,
            },
        ),
        (
            "bbvi.rao_blackwell_gradient",
            bbvi.rao_blackwell_gradient,
            {
                "blanket_log_joint": lambda W: np.tile(
                    gauss_log_joint(W)[:, None], (1, 2)
                ),
                "m": m,
                "L": np.diag(np.diag(S)),
                "n_samples": 3,
                "seed": 0,
                "control_variate": "scaled",
                "max_elements": 100,
            },
        ),
        (
            "bbvi.fit",
            bbvi.fit,
            {
                "log_joint": gauss_log_joint,
                "grad_log_joint": gauss_grad,
                "m0": m,
                "L0": S,
                "n_steps": 4,
                "n_samples": 2,
                "step_size": 0.05,
                "mean_field": False,
                "seed": 0,
                "average_last": 0.5,
                "max_elements": 100,
                "estimator": "reparam",
                "control_variate": False,
                "blanket_log_joint": None,
                "optimizer": "sgd",
                "kappa": 0.6,
                "tau0": 2.0,
                "keep_trace": True,
            },
        ),
    ]
    return calls


CALLS = _calls()


def _poisoned(kwargs):
    for name in kwargs:
        yield name, {**kwargs, name: POISON}


def starts_with(name):
    """A regex for a message that opens with ``name`` (so ``a`` is not the article)."""
    return rf"^{re.escape(name)}(?!\w)"


@pytest.mark.parametrize(
    ("label", "func", "kwargs"), CALLS, ids=[c[0] for c in CALLS]
)
def test_every_public_function_checks_every_argument(label, func, kwargs):
    # the valid call runs; with any one argument replaced by a plain object() the call raises a
    # ValueError or TypeError naming that argument
    params = inspect.signature(func).parameters
    assert set(kwargs) == set(params) - {"self", "cls"}, label
    func(**kwargs)
    for name, bad in _poisoned(kwargs):
        with pytest.raises((ValueError, TypeError), match=starts_with(name)):
            func(**bad)


def test_every_public_function_of_scale_checks_every_argument(
    client, x_dask, tmp_path
):
    path = tmp_path / "x.npy"
    np.save(path, X_MIX)
    calls = [
        (
            scale.from_npy,
            {"path": path, "chunk_size": 20, "max_chunks": 10},
        ),
        (
            scale.simulate_mixture,
            {
                "n": 60,
                "K": 2,
                "prior_var": 4.0,
                "chunk_size": 20,
                "seed": 0,
                "max_chunks": 10,
                "max_elements": 1000,
            },
        ),
        (scale.check_finite, {"client": client, "x": x_dask}),
        (
            scale.local_sums,
            {"client": client, "model": CONJUGATE, "x": x_dask, "lam": LAM0},
        ),
        (
            scale.cavi,
            {
                "client": client,
                "model": CONJUGATE,
                "x": x_dask,
                "init_lam": LAM0,
                "max_iter": 2,
                "tol": 1e-10,
                "check": True,
                "callback": None,
            },
        ),
        (
            scale.svi,
            {
                "client": client,
                "model": CONJUGATE,
                "x": x_dask,
                "init_lam": LAM0,
                "n_steps": 2,
                "batch_size": 10,
                "kappa": 0.7,
                "tau0": 1.0,
                "seed": 0,
                "eval_every": 1,
                "check": True,
                "callback": None,
                "chunks_per_step": 2,
            },
        ),
        (
            scale.chunk_minibatches,
            {
                "chunk_sizes": x_dask.chunks[0],
                "chunks_per_step": 2,
                "batch_size": 10,
                "seed": 0,
            },
        ),
        (scale.traffic, {"client": client}),
        # the valid call would end one of the fixture's workers: only the bad ones are made
        (
            scale.kill_sole_holder,
            {"client": client, "x": x_dask, "timeout": 5.0},
        ),
    ]
    results = {"CaviResult", "Traffic", "TrafficMeter", "LostWorker"}
    public = {
        name
        for name in scale.__all__
        if callable(getattr(scale, name)) and name not in results
    }
    assert public == {f.__name__ for f, _ in calls}
    for func, kwargs in calls:
        assert set(kwargs) == set(inspect.signature(func).parameters)
        if func is not scale.kill_sole_holder:
            func(**kwargs)
        for name, bad in _poisoned(kwargs):
            with pytest.raises((ValueError, TypeError), match=word(name)):
                func(**bad)


def test_the_sweep_covers_every_public_function():
    # every name in the modules' __all__ that is a function or a class taking arguments (the
    # result dataclasses and constants aside) appears in CALLS
    covered = {c[0].split(".")[-1] for c in CALLS} | {
        c[0].split(".")[0] for c in CALLS
    }
    results = {
        "CaviResult",
        "SviResult",
        "Corpus",
        "BatchResult",
        "OnlineResult",
        "Completion",
        "PriorFit",
        "EMResult",
        "TextCorpus",
        "LinRegResult",
        "JJResult",
        "LaplaceResult",
        "GridPosterior",
        "BbviResult",
        "ExponentialFamily",
    }
    missing = []
    for module in (ef, svi, lda, text, linreg, logreg, bbvi):
        for name in module.__all__:
            obj = getattr(module, name)
            if callable(obj) and name not in results and name not in covered:
                missing.append(f"{module.__name__}.{name}")
    assert not missing, missing
