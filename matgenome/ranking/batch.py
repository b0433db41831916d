"""Deprecated path of :mod:`matgenome.ranking.batch_selection` (removed in the next release)."""

from matgenome._deprecation import moved_module

__getattr__ = moved_module(__name__, "matgenome.ranking.batch_selection")
