"""Deprecated path of :mod:`matgenome.selection` (removed in the next release): model
selection runs cross-validation, so it sits beside training, above evaluation, not among
the estimators."""

from matgenome._deprecation import moved

__getattr__ = moved(__name__, "matgenome.selection")
