"""Deprecated path of :mod:`matgenome.ranking.batch_selection` (removed in the next release)."""

from matgenome._deprecation import moved

__getattr__ = moved(__name__, "matgenome.ranking.batch_selection")
