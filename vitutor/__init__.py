"""vitutor: the algorithms of an executable textbook on variational inference.

One module per model or idea, following the book: :mod:`vitutor.discrete` (chapter 2),
:mod:`vitutor.meanfield` (chapter 3), :mod:`vitutor.gmm` (chapters 1 and 4),
:mod:`vitutor.bayes_gmm` (chapter 4b), :mod:`vitutor.normal_gamma` (chapter 5),
:mod:`vitutor.expfam` and :mod:`vitutor.svi` (chapter 6), :mod:`vitutor.linreg`,
:mod:`vitutor.logreg` and :mod:`vitutor.bbvi` (chapter 8), :mod:`vitutor.diagnostics`
(chapter 9), :mod:`vitutor.ep` and :mod:`vitutor.vmp` (chapter 10); :mod:`vitutor.lda` and
:mod:`vitutor.text` (chapter 7), :mod:`vitutor.amortised` (chapter 11, JAX) and
:mod:`vitutor.scale` (the Dask appendix) are imported on request (``from vitutor import lda``),
so that ``import vitutor`` loads neither numba, JAX nor Dask.
Nothing in the package prints; every random function takes a ``seed``.
"""

from . import (
    bayes_gmm,
    bbvi,
    diagnostics,
    discrete,
    ep,
    expfam,
    gmm,
    linreg,
    logreg,
    meanfield,
    normal_gamma,
    svi,
    vmp,
)

__version__ = "0.1.0"
__all__ = [
    "bayes_gmm",
    "bbvi",
    "diagnostics",
    "discrete",
    "ep",
    "expfam",
    "gmm",
    "linreg",
    "logreg",
    "meanfield",
    "normal_gamma",
    "svi",
    "vmp",
]
