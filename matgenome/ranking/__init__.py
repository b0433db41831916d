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
:mod:`matgenome.ranking.batch_selection`
    batches for sequential learning and campaigns (:func:`choose_batch`,
    :func:`propose_batch`): a stratified cold start (:func:`cold_start_batch`) until a
    target has been measured (:func:`has_reached_target`), then a batch rule
    (``BATCH_RULES``, default ``DEFAULT_RULE``) that tags every pick ``exploit`` or
    ``explore``; all seeded from a ``numpy.random.Generator``.

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
from matgenome.ranking.batch_selection import (
    BATCH_RULES,
    COLD_START,
    DEFAULT_RULE,
    EXPLOIT,
    EXPLORE,
    TREE_RULES,
    Batch,
    PoolBelief,
    batch_rule,
    choose_batch,
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
    "BATCH_RULES",
    "COLD_START",
    "DEFAULT_PARETO_OBJECTIVES",
    "DEFAULT_RULE",
    "EXPLOIT",
    "EXPLORE",
    "OBJECTIVES",
    "TREE_RULES",
    "Batch",
    "Constraints",
    "FloatArray",
    "Objective",
    "PoolBelief",
    "acquisition_scores",
    "batch_rule",
    "best_known",
    "check_constraints",
    "choose_batch",
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
