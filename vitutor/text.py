r"""A real corpus that ships with every installation: the docstrings of SciPy's public functions.

Chapter 7 fits LDA to it.  Nothing is downloaded: the documents are read from the installed
``scipy`` package at run time, one per public function (or ufunc) of each submodule, and the
submodule is kept as a label to compare the topics with.  The tokenizer is deliberately simple
and stated in full in :func:`tokenize`; instead of a stop-word list, words that occur in too many
or too few documents are dropped (:func:`document_term_matrix`).
"""

from __future__ import annotations

import importlib
import inspect
import re
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from ._validate import check_int, check_positive

__all__ = [
    "SUBMODULES",
    "tokenize",
    "TextCorpus",
    "document_term_matrix",
    "scipy_docstrings",
]

#: The SciPy submodules whose functions make the documents (the labels).
SUBMODULES = (
    "integrate",
    "interpolate",
    "linalg",
    "ndimage",
    "optimize",
    "signal",
    "sparse",
    "special",
    "stats",
)

_WORD = re.compile(r"[a-z]{3,}")
_EXAMPLES = re.compile(r"^\s*Examples\s*\n\s*-{3,}", re.M)


def tokenize(text):
    """Lower-case ``text``, cut it at a numpydoc ``Examples`` heading, keep runs of >= 3 letters.

    The cut drops example code (``>>> import numpy as np`` ...), which says little about the topic;
    digits, punctuation and one- or two-letter words (``x``, ``np``) are not words here.
    """
    if not isinstance(text, str):
        raise TypeError(f"text must be a str, got {type(text).__name__}")
    match = _EXAMPLES.search(text)
    if match:
        text = text[: match.start()]
    return _WORD.findall(text.lower())


def _abbrev(value, width=40):
    text = repr(value)
    return text if len(text) <= width else text[: width - 3] + "..."


@dataclass(frozen=True)
class TextCorpus:
    """Counts ``X`` (CSR, documents x vocabulary), the ``vocabulary`` (column order), a ``label``
    per document (index into ``label_names``) and the document ``names``."""

    X: sp.csr_matrix
    vocabulary: tuple
    labels: np.ndarray
    label_names: tuple
    names: tuple


def document_term_matrix(token_lists, min_df=5, max_df=0.25):
    """Counts of the words kept: in at least ``min_df`` documents and at most a fraction ``max_df``.

    ``token_lists`` is a sequence with one list of words (strings) per document, at least one
    document.  Returns ``(X, vocabulary)`` with the vocabulary sorted alphabetically.
    """
    min_df = check_int(min_df, "min_df", 1)
    max_df = check_positive(max_df, "max_df")
    if max_df > 1:
        raise ValueError(f"max_df must lie in (0, 1], got {max_df}")
    if isinstance(token_lists, str) or not hasattr(token_lists, "__len__"):
        raise TypeError(
            "token_lists must be a sequence of lists of words, got "
            f"{type(token_lists).__name__}"
        )
    token_lists = list(token_lists)
    if not token_lists:
        raise ValueError("token_lists must hold at least one document")
    for i, tokens in enumerate(token_lists):
        if (
            isinstance(tokens, str)
            or not hasattr(tokens, "__iter__")
            or not all(isinstance(w, str) for w in tokens)
        ):
            raise TypeError(
                f"token_lists[{i}] must be a list of words (str), got "
                f"{type(tokens).__name__}"
                + ("" if tokens is None else f" {_abbrev(tokens)}")
            )
    df = {}
    for tokens in token_lists:
        for word in set(tokens):
            df[word] = df.get(word, 0) + 1
    limit = max_df * len(token_lists)
    vocabulary = sorted(w for w, n in df.items() if min_df <= n <= limit)
    column = {w: j for j, w in enumerate(vocabulary)}
    rows, cols = [], []
    for i, tokens in enumerate(token_lists):
        ids = [column[w] for w in tokens if w in column]
        rows.extend([i] * len(ids))
        cols.extend(ids)
    X = sp.csr_matrix(
        (np.ones(len(rows), dtype=np.int64), (rows, cols)),
        shape=(len(token_lists), len(vocabulary)),
    )
    X.sum_duplicates()
    return X, tuple(vocabulary)


def scipy_docstrings(
    submodules=SUBMODULES, min_df=5, max_df=0.25, min_tokens=20
):
    """The docstrings of the public functions and ufuncs of ``scipy.<submodule>``, one document
    each.

    A function is public when its name is in the submodule's ``__all__``; a docstring met twice
    (an alias) is kept once, under its first name; documents with fewer than ``min_tokens`` words
    after pruning are dropped.  The result depends on the installed SciPy version only.

    Returns
    -------
    TextCorpus
    """
    min_tokens = check_int(min_tokens, "min_tokens", 1)
    if isinstance(submodules, str):
        raise TypeError(
            "submodules must be a sequence of names such as ('linalg', 'stats'), not a str"
        )
    if not isinstance(submodules, (tuple, list)):
        raise TypeError(
            "submodules must be a tuple or list of names such as ('linalg', 'stats') (in the "
            f"order of the labels), got {type(submodules).__name__}"
        )
    submodules = tuple(submodules)
    for i, sub in enumerate(submodules):
        if not isinstance(sub, str):
            raise TypeError(
                f"submodules[{i}] must be the name of a SciPy submodule (a str), got "
                f"{type(sub).__name__}"
            )
    unknown = [sub for sub in submodules if sub not in SUBMODULES]
    if not submodules:
        raise ValueError("submodules must name at least one SciPy submodule")
    if unknown:
        raise ValueError(
            f"submodules must be taken from {SUBMODULES}, got {unknown}"
        )
    if len(set(submodules)) != len(submodules):
        raise ValueError(
            f"submodules must name each submodule once, got {submodules}"
        )
    seen, token_lists, labels, names = set(), [], [], []
    for label, sub in enumerate(submodules):
        module = importlib.import_module(f"scipy.{sub}")
        for name in sorted(getattr(module, "__all__", [])):
            obj = getattr(module, name, None)
            doc = getattr(obj, "__doc__", None)
            if (
                not (inspect.isfunction(obj) or isinstance(obj, np.ufunc))
                or not doc
                or doc in seen
            ):
                continue
            seen.add(doc)
            token_lists.append(tokenize(doc))
            labels.append(label)
            names.append(f"{sub}.{name}")
    X, vocabulary = document_term_matrix(
        token_lists, min_df=min_df, max_df=max_df
    )
    keep = np.flatnonzero(np.asarray(X.sum(axis=1)).ravel() >= min_tokens)
    return TextCorpus(
        X=X[keep],
        vocabulary=vocabulary,
        labels=np.asarray(labels)[keep],
        label_names=tuple(submodules),
        names=tuple(names[i] for i in keep),
    )
