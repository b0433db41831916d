"""Rank candidate compositions by acquisition functions, constraints and Pareto fronts.

Everything here is a pure function of arrays and DataFrames: a model's predictive mean and
standard deviation go in, scores and ranks come out. Predictive distributions are taken to
be Gaussian, ``N(mean, std**2)``, with ``std`` one standard deviation in target units.
One module per step:

:mod:`matgenome.ranking.acquisition`
    acquisition functions (``ACQUISITIONS``: predicted value / MEI, UCB, EI, PI, MLI, MU),
    every score oriented so that higher is better for the objective ``"max"``, ``"min"`` or
    ``"target"``; :func:`acquisition_scores` dispatches by name; :func:`best_known`.
:mod:`matgenome.ranking.constraints`
    hard limits on compositions (:class:`Constraints`, :func:`check_constraints`).
:mod:`matgenome.ranking.table`
    ordering and ranks (:func:`order_by_score`, :func:`rank_scores`) and
    :func:`rank_table`, which scores and ranks a whole DataFrame.
:mod:`matgenome.ranking.pareto`
    Pareto fronts over several objectives (:func:`pareto_ranks`, :func:`pareto_table`).
:mod:`matgenome.ranking.batch`
    batches for sequential learning (:func:`propose_batch`): a stratified cold start
    (:func:`cold_start_batch`) until a target has been measured
    (:func:`has_reached_target`), then Thompson sampling from the trees of a tree ensemble
    (:func:`thompson_batch`); both seeded from a ``numpy.random.Generator``.

Rows with a NaN mean or standard deviation are "unscored": they get a NaN score and rank
after every scored row. Every public name is importable from ``matgenome.ranking`` itself.
"""

from matgenome.ranking.acquisition import (
    ACQUISITIONS,
    OBJECTIVES,
    FloatArray,
    Objective,
    acquisition_scores,
    best_known,
    ei,
    max_uncertainty,
    mei,
    mli,
    pi,
    predicted_value,
    probability,
    ucb,
)
from matgenome.ranking.batch import (
    cold_start_batch,
    has_reached_target,
    propose_batch,
    standardise,
    thompson_batch,
)
from matgenome.ranking.constraints import Constraints, check_constraints
from matgenome.ranking.pareto import DEFAULT_PARETO_OBJECTIVES, pareto_ranks, pareto_table
from matgenome.ranking.table import order_by_score, rank_scores, rank_table

__all__ = [
    "ACQUISITIONS",
    "DEFAULT_PARETO_OBJECTIVES",
    "OBJECTIVES",
    "Constraints",
    "FloatArray",
    "Objective",
    "acquisition_scores",
    "best_known",
    "check_constraints",
    "cold_start_batch",
    "ei",
    "has_reached_target",
    "max_uncertainty",
    "mei",
    "mli",
    "order_by_score",
    "pareto_ranks",
    "pareto_table",
    "pi",
    "predicted_value",
    "probability",
    "propose_batch",
    "rank_scores",
    "rank_table",
    "standardise",
    "thompson_batch",
    "ucb",
]
