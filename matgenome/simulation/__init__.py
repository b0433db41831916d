"""Simulated sequential learning on a labelled data set, compared with random picking.

The package holds one module per job: :mod:`~matgenome.simulation.strategies` (named ways
of picking), :mod:`~matgenome.simulation.settings` (:class:`SimulationSettings`),
:mod:`~matgenome.simulation.loop` (:func:`simulate_discovery`),
:mod:`~matgenome.simulation.results` (:class:`SimulationResult` and its metrics),
:mod:`~matgenome.simulation.saved` (:func:`summary_from_dict`, the metrics of a saved JSON)
and :mod:`~matgenome.simulation.data` (a labelled table made ready to simulate on). Every
public name is importable from ``matgenome.simulation`` itself.

The simulation pretends the labels ``y`` of a data set are unknown except for a few rows,
then lets each strategy choose which rows to "measure" next, one batch at a time, refitting
the model after every batch. Because every label is in fact known, how fast each strategy
finds the best materials can be counted exactly.

Protocol (after Borg et al., "Quantifying the performance of machine learning models in
materials discovery", Digital Discovery 2, 327 (2023)):

* **Targets** are the rows with ``y >= quantile(y, target_quantile)`` over the whole data set
  (by default the top decile); the **top set** uses ``top_quantile`` (default the top 1%).
  With ``objective="min"`` the signs flip: targets are the lowest values.
* Each trial draws ``n_initial`` labelled rows at random. By default they are drawn from the
  non-targets only, so every target is still to be found and "experiments to the first
  target" means the same in every trial; pass ``exclude_targets_from_initial=False`` to
  draw from all rows.
* Every strategy of a trial starts from the same initial rows, so strategies are compared
  on paired trials. Trial seeds come from one base seed through
  ``numpy.random.SeedSequence(seed).spawn(n_trials)``.
* Each iteration fits a fresh model from ``model_factory`` on the labelled rows and picks
  the next ``batch_size`` rows with the strategy: a batch rule of
  :data:`matgenome.ranking.BATCH_RULES` (``thompson-half``, which needs a model with
  ``predict_trees``, or ``greedy``), or the ``batch_size`` best scores of an acquisition
  function (:mod:`matgenome.ranking`); ties are broken at random (seeded). ``random``
  picks uniformly. A ``cold-`` prefix (``cold-thompson-half``, the
  default strategy, or e.g. ``cold-greedy``) adds a stratified cold start: while no
  target has been measured, each batch is one random member of each of ``batch_size``
  k-means clusters of the pool (:func:`matgenome.ranking.cold_start_batch`), and no
  model is fitted. Every pick's predicted mean, standard deviation and role (exploit,
  explore, cold start) are recorded.
* A trial can also start from a given prior (``initial``) with a fixed ``threshold``, as a
  lab that starts from the literature does (``benchmarks/campaign_regimes.py``).
  Iterations stop after ``n_iterations`` batches, at ``budget`` experiments, or when the
  pool is empty.
* **Runs are extended past the budget**, batch by batch with the same strategy, until
  ``extend_to`` targets (default 10, the largest DAF count; at most the pool's targets)
  have been found, so that experiments to the 10th target and ``DAF_10`` are defined even
  for slow strategies. Everything "within the budget" (yield curves, targets found, top fraction)
  ignores the extension; only "experiments to the n-th target" uses it.
* **Experiments are counted one by one** after the initial rows, in the order the strategy
  ranked them inside each batch (the lab can measure a batch in that order).

Metrics, per strategy and trial:

* the discovery yield curve: targets found after 0, 1, ..., budget experiments;
* experiments to the n-th target (NaN if not reached within the budget and its extension);
* the **discovery acceleration factor** ``DAF_n = E_random[experiments to n targets] /
  mean over trials of the strategy's experiments to n targets``. The random numerator is
  the exact expectation for uniform picking without replacement from a pool of ``N`` rows
  holding ``K`` targets, ``n (N + 1) / (K + 1)`` (averaged over trials when ``K`` varies);
  it is not limited by the budget and carries no sampling noise. ``DAF_n`` is NaN when the
  strategy did not reach ``n`` targets in every trial (possible only for ``n > extend_to``
  or an exhausted pool), because a mean over only the successful trials would flatter it.
  The simulated ``random`` strategy is reported beside the expectation as a check (its DAF
  should be close to 1);
* the fraction of the top set found within the budget.

:meth:`SimulationResult.to_dict` stores every trial's initial rows and picks (budget and
extension, in order) as **dataset row ids** (``row_ids``, default ``0..n-1``) beside the
target rows, so :func:`summary_from_dict` recomputes ``DAF_n`` and the targets found
within the budget from a saved JSON file alone.
"""
from __future__ import annotations

from matgenome.simulation.data import (
    SIMULATION_CALIBRATION,
    SimulationData,
    candidates_from_rows,
    simulation_classifier_data,
    simulation_classifier_factory,
    simulation_data,
    simulation_model_factory,
)
from matgenome.simulation.loop import simulate_discovery
from matgenome.simulation.results import DAF_TARGETS, RANDOM_EXPECTED, SimulationResult
from matgenome.simulation.saved import summary_from_dict
from matgenome.simulation.settings import ModelFactory, SimulationSettings
from matgenome.simulation.strategies import (
    COLD_PREFIX,
    DEFAULT_STRATEGIES,
    DEFAULT_STRATEGY,
    TREE_SAMPLERS,
    Strategy,
)

__all__ = [
    "COLD_PREFIX",
    "DAF_TARGETS",
    "DEFAULT_STRATEGIES",
    "DEFAULT_STRATEGY",
    "RANDOM_EXPECTED",
    "SIMULATION_CALIBRATION",
    "TREE_SAMPLERS",
    "ModelFactory",
    "SimulationData",
    "SimulationResult",
    "SimulationSettings",
    "Strategy",
    "candidates_from_rows",
    "simulate_discovery",
    "simulation_classifier_data",
    "simulation_classifier_factory",
    "simulation_data",
    "simulation_model_factory",
    "summary_from_dict",
]
