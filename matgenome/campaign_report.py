"""Deprecated path of :mod:`matgenome.campaign.report` (removed in the next release)."""

from matgenome._deprecation import moved

__getattr__ = moved(__name__, "matgenome.campaign.report")
