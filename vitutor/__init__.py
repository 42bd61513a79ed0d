"""vitutor: the algorithms of an executable textbook on variational inference.

Modules follow the book: :mod:`vitutor.discrete` (chapter 2) and :mod:`vitutor.gmm` (chapters 1
and 4).  Nothing in the package prints; every random function takes a ``seed``.
"""

from . import discrete, gmm

__version__ = "0.1.0"
__all__ = ["discrete", "gmm"]
