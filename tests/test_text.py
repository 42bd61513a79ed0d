"""Tests for vitutor.text: the tokenizer, the document-frequency pruning, the SciPy corpus."""

import numpy as np
import pytest

from vitutor import text


def test_tokenize_cuts_examples_and_keeps_words_of_three_letters():
    doc = (
        "Compute J_v(x), the Bessel function.\n\n"
        "    Examples\n    --------\n    >>> import numpy as np\n"
    )
    assert text.tokenize(doc) == ["compute", "the", "bessel", "function"]
    assert text.tokenize("An x2 and the CDF") == ["and", "the", "cdf"]


def test_document_term_matrix_counts_and_prunes_by_document_frequency():
    docs = [
        ["alpha", "beta", "beta"],
        ["beta", "gamma"],
        ["beta", "alpha"],
        ["delta"],
    ]
    X, vocab = text.document_term_matrix(docs, min_df=2, max_df=0.5)
    assert vocab == (
        "alpha",
    )  # beta is in 3 of 4 documents (> 0.5), gamma and delta in one
    np.testing.assert_array_equal(X.toarray().ravel(), [1, 0, 1, 0])
    X_all, vocab_all = text.document_term_matrix(docs, min_df=1, max_df=1.0)
    assert vocab_all == ("alpha", "beta", "delta", "gamma")
    np.testing.assert_array_equal(X_all.toarray()[0], [1, 2, 0, 0])
    with pytest.raises(ValueError, match="max_df"):
        text.document_term_matrix(docs, max_df=0.0)
    with pytest.raises(ValueError, match="min_df"):
        text.document_term_matrix(docs, min_df=0)


def test_scipy_docstrings_is_a_labelled_corpus_read_from_the_installed_scipy():
    corpus = text.scipy_docstrings()
    D, V = corpus.X.shape
    assert D == len(corpus.labels) == len(corpus.names) and V == len(
        corpus.vocabulary
    )
    assert np.all(np.asarray(corpus.X.sum(axis=1)).ravel() >= 20)
    assert set(np.unique(corpus.labels)) == set(range(len(text.SUBMODULES)))
    assert all(
        name.split(".")[0] == corpus.label_names[label]
        for name, label in zip(corpus.names, corpus.labels, strict=True)
    )
    assert (
        "the" not in corpus.vocabulary
        and "parameters" not in corpus.vocabulary
    )


def test_bad_inputs_name_the_argument():
    with pytest.raises(TypeError, match="text must be a str"):
        text.tokenize(b"bytes are not text")
    with pytest.raises(ValueError, match="at least one document"):
        text.document_term_matrix([])
    with pytest.raises(TypeError, match="token_lists must be a sequence"):
        text.document_term_matrix("alpha beta")
    with pytest.raises(TypeError, match=r"token_lists\[1\]"):
        text.document_term_matrix([["alpha"], [1, 2]])
    with pytest.raises(TypeError, match=r"token_lists\[0\]"):
        text.document_term_matrix(["alpha"])
    with pytest.raises(TypeError, match="max_df"):
        text.document_term_matrix([["alpha"]], max_df="all")
    with pytest.raises(ValueError, match="max_df"):
        text.document_term_matrix([["alpha"]], max_df=np.nan)
    with pytest.raises(ValueError, match="submodules"):
        text.scipy_docstrings(submodules=("linalg", "fft_typo"))
    with pytest.raises(ValueError, match="submodules"):
        text.scipy_docstrings(submodules=())
    with pytest.raises(TypeError, match="submodules"):
        text.scipy_docstrings(submodules="linalg")
