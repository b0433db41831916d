"""The discovery loop's main job: generate candidates, predict them, rank them.

``rank_candidates`` scores a table of compositions with a model and adds, row for row:
``prediction`` and ``uncertainty`` (one standard deviation), the applicability-domain flag
``in_domain`` with ``domain_distance`` and ``domain_reason``, ``measured`` with
``known_value``, ``known_spread``, ``known_count`` and ``known_bound`` (what the model's
training data say about the composition, ``matgenome.known``), supply risk and cost, the
acquisition ``score``, ``rank`` and the Pareto front over score and supply risk.
``screen`` generates candidates from the shipped seed families first.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from matgenome.batch import add_predictions
from matgenome.censoring import exact_values
from matgenome.known import known_mask
from matgenome.modelfile import TrainedModel
from matgenome.ranking import Constraints, pareto_table, rank_table
from matgenome.supply import add_supply_columns

RANK_COLUMNS = ("rank", "score", "prediction", "uncertainty", "in_domain", "known_value")


@dataclass
class RankSettings:
    """How to turn predictions into a ranking (see ``matgenome.ranking``)."""

    acquisition: str = "mean"  # chosen by benchmarks/rediscovery.py (see the README)
    objective: str = "max"
    threshold: float | None = None
    target: float | None = None
    tolerance: float | None = None
    kappa: float = 2.0
    xi: float = 0.0
    constraints: Mapping[str, Any] = field(default_factory=dict)
    pareto_objectives: Mapping[str, str] = field(
        default_factory=lambda: {"score": "max", "supply_risk": "min"}
    )
    # Rank only compositions that were never measured (the question "what to make next");
    # measured ones keep their known values and get no rank.
    new_only: bool = False
    # A batch of this many rows to measure next (0: none), chosen by
    # matgenome.ranking.propose_batch: a stratified cold start while no measured value
    # beats ``threshold``, else Thompson sampling from the trees; seeded by ``seed``.
    batch_size: int = 0
    seed: int = 0


def rank_candidates(
    model: TrainedModel,
    frame: pd.DataFrame,
    formula_column: str = "formula",
    settings: RankSettings | None = None,
) -> pd.DataFrame:
    """Score, annotate and rank every row of ``frame``.

    Rows come back sorted for reading (``new_first``): rank 1 first, then measured
    compositions, then rows without a rank; the index keeps the input's row labels.
    """
    settings = settings or RankSettings()
    formulas = frame[formula_column].tolist()
    out = add_predictions(model, frame, formula_column)
    if "in_domain" not in out:
        out["in_domain"], out["domain_distance"], out["domain_reason"] = True, np.nan, ""
    out["measured"] = known_mask(out)
    out = add_supply_columns(out, formula_column=formula_column)
    best = _best_measured(model, settings.objective, settings.target)
    ranked = rank_table(
        out, "prediction", "uncertainty", acquisition=settings.acquisition,
        objective=settings.objective, kappa=settings.kappa, xi=settings.xi,
        threshold=settings.threshold, target=settings.target, tolerance=settings.tolerance,
        constraints=Constraints.from_mapping(settings.constraints) if settings.constraints
        else None,
        formula_column=formula_column, best=best,
    )
    if settings.new_only:
        ranked = _rank_new_only(ranked)
    if settings.batch_size:
        ranked["batch"] = _batch(model, ranked, formulas, settings)
    return new_first(pareto_table(ranked, objectives=dict(settings.pareto_objectives),
                                  label_column=formula_column))


def _batch(model: TrainedModel, ranked: pd.DataFrame, formulas: list[object],
           settings: RankSettings) -> pd.array:
    """Batch order (1..N) of the rows proposed for measurement next; NA for the others.

    Only feasible, scored, not yet measured rows are eligible. Whether a target has been
    reached is known only with a threshold: then the training data decide; without one
    the model's tree samples are used (``propose_batch``'s rule for "unknown").
    """
    from matgenome.features import compute_features
    from matgenome.ranking import has_reached_target, propose_batch

    eligible = np.flatnonzero(ranked["rank"].notna().to_numpy()
                              & ~ranked["measured"].to_numpy(bool))
    order = pd.array([pd.NA] * len(ranked), dtype="Int64")
    if not len(eligible):
        return order
    X, _ = compute_features([formulas[i] for i in eligible], model.estimator[0].preset)
    reached = None
    if settings.threshold is not None and model.training_data is not None:
        data = model.training_data
        exact = exact_values(data)
        objective = "min" if settings.objective == "min" else "max"
        reached = has_reached_target(exact, settings.threshold, objective)
    picks = propose_batch(model.estimator[-1], X, settings.batch_size,
                          target_reached=reached, rng=np.random.default_rng(settings.seed),
                          objective="min" if settings.objective == "min" else "max")
    order[eligible[picks]] = np.arange(1, len(picks) + 1)
    return order


def _rank_new_only(ranked: pd.DataFrame) -> pd.DataFrame:
    """Ranks 1, 2, ... over the compositions not yet measured; measured ones get none."""
    from matgenome.ranking import rank_scores

    eligible = ranked["rank"].notna().to_numpy() & ~ranked["measured"].to_numpy(bool)
    ranked["rank"] = pd.array(rank_scores(ranked["score"].to_numpy(float), eligible),
                              dtype="Int64")
    return ranked


def _best_measured(model: TrainedModel, objective: str, target: float | None) -> float | None:
    """The best exact measured value in the training data, the incumbent for EI and MLI."""
    from matgenome.ranking import best_known

    data = model.training_data
    if data is None or data.empty:
        return None
    exact = exact_values(data)
    return float(best_known(exact, objective, target=target)) if len(exact) else None


def new_first(ranked: pd.DataFrame) -> pd.DataFrame:
    """Rows ordered for reading: ranked rows by rank, then measured ones, then the rest."""
    order = pd.DataFrame({
        "unranked": ranked["rank"].isna().to_numpy(),
        "measured": ranked["measured"].to_numpy(bool),
        "rank": ranked["rank"].astype(float).to_numpy(),
        "score": -ranked["score"].astype(float).to_numpy(),
    })
    index = order.sort_values(["unranked", "rank", "measured", "score"],
                              na_position="last", kind="stable").index
    return ranked.iloc[index.to_numpy()]
