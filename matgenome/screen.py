"""The discovery loop's main job: generate candidates, predict them, rank them.

``rank_candidates`` scores a table of compositions with a model and adds, row for row:
``prediction`` and ``uncertainty`` (one standard deviation), the applicability-domain flag
``in_domain`` with ``domain_distance`` and ``domain_reason``, ``measured`` with
``known_value``, ``known_spread``, ``known_count`` and ``known_bound`` (what the model's
training data say about the composition, ``matgenome.known``), supply risk and cost, the
acquisition ``score``, ``rank`` and the Pareto front over score and supply risk. With a
batch size it also proposes the rows to measure next: ``batch`` (the pick order), ``rule``
(``exploit``, ``explore`` or ``cold start``) and ``why`` (the reason in words).
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
from matgenome.errors import UsageError
from matgenome.known import known_mask
from matgenome.modelfile import TrainedModel
from matgenome.ranking import DEFAULT_RULE, Constraints, pareto_table, rank_table
from matgenome.supply import add_supply_columns

RANK_COLUMNS = ("rank", "score", "prediction", "uncertainty", "in_domain", "known_value")

# The default score of rank and screen: the predicted value. Chosen by
# benchmarks/rediscovery.py on validation families never seen in the test: top-10%
# enrichment 3.22 for the mean against 2.14 for P(sigma > 1 mS/cm) and 0.3-0.5 for EI, UCB
# and MLI, which reward compositions unlike the training data rather than fast conductors.
DEFAULT_ACQUISITION = "mean"

# The threshold of ``screen``'s probability score (``acquisition="probability"``) when none
# is given: -3 is 1 mS/cm in the default model's units (log10 S/cm), a practical bar for
# solid electrolytes. ``rank`` has no default threshold (its model may have other units).
SCREEN_THRESHOLD = -3.0


@dataclass
class RankSettings:
    """How to turn predictions into a ranking (see ``matgenome.ranking``)."""

    acquisition: str = DEFAULT_ACQUISITION
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
    # matgenome.ranking.choose_batch: a stratified cold start while no measured value
    # beats ``threshold``, else the batch rule ``batch_rule``; seeded by ``seed``.
    batch_size: int = 0
    seed: int = 0
    batch_rule: str = DEFAULT_RULE

    def __post_init__(self) -> None:
        # Checked here, before any model is loaded or candidate generated.
        if (self.acquisition == "probability" and self.threshold is None
                and self.objective != "target"):
            raise UsageError("acquisition 'probability' needs a threshold",
                             parameters=("acquisition", "threshold"))
        if self.objective == "target" and self.target is None:
            raise UsageError("objective 'target' needs a target value",
                             parameters=("objective", "target"))
        if (self.objective == "target" and self.acquisition == "probability"
                and self.tolerance is None):
            raise UsageError("objective 'target' with acquisition 'probability' needs a "
                             "tolerance (the window around the target value)",
                             parameters=("tolerance",))
        if self.batch_size < 0:
            raise UsageError("batch_size must be 0 or more", parameters=("batch_size",))


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
        ranked = _add_batch(model, ranked, formulas, settings, best)
    return new_first(pareto_table(ranked, objectives=dict(settings.pareto_objectives),
                                  label_column=formula_column))


def _add_batch(model: TrainedModel, ranked: pd.DataFrame, formulas: list[object],
               settings: RankSettings, best: float | None) -> pd.DataFrame:
    """Add ``batch`` (1..N for the rows proposed for measurement next, NA for the others),
    ``rule`` and ``why``.

    Only feasible, scored, not yet measured rows are eligible. Whether a target has been
    reached is known only with a threshold: then the training data decide; without one
    the batch rule is used (``choose_batch``'s rule for "unknown"). Exploit picks are
    taken from the rows inside the model's domain; only an explore or cold-start pick may
    lie outside it, and its ``why`` says so.
    """
    from matgenome.features import compute_features
    from matgenome.ranking import choose_batch

    eligible = np.flatnonzero(ranked["rank"].notna().to_numpy()
                              & ~ranked["measured"].to_numpy(bool))
    order = pd.array([pd.NA] * len(ranked), dtype="Int64")
    ranked["batch"], ranked["rule"], ranked["why"] = order, "", ""
    if not len(eligible):
        return ranked
    X, _ = compute_features([formulas[i] for i in eligible], model.estimator[0].preset)
    reached = _target_reached(model, settings)
    rows = ranked.iloc[eligible]
    objective = settings.objective if settings.target is not None else (
        "min" if settings.objective == "min" else "max")
    batch = choose_batch(model.estimator[-1], X, settings.batch_size, target_reached=reached,
                         rng=np.random.default_rng(settings.seed), objective=objective,
                         target=settings.target, rule=settings.batch_rule,
                         mean=rows["prediction"].to_numpy(float),
                         std=rows["uncertainty"].to_numpy(float), best=best,
                         in_domain=rows["in_domain"].to_numpy(bool),
                         measured_targets=_measured_targets(model, settings))
    picked = eligible[batch.rows]
    order[picked] = np.arange(1, len(picked) + 1)
    ranked["batch"] = order
    column = ranked.columns.get_loc("rule")
    why = ranked.columns.get_loc("why")
    for number, (position, role) in enumerate(zip(picked, batch.roles, strict=True), 1):
        ranked.iat[position, column] = role
        ranked.iat[position, why] = batch_reason(
            ranked.iloc[position], role, number, len(picked), settings, best)
    return ranked


def _target_reached(model: TrainedModel, settings: RankSettings) -> bool | None:
    """Whether a measured value beats the threshold; None when unknown (no threshold or
    no training data)."""
    from matgenome.ranking import has_reached_target

    if settings.threshold is None or model.training_data is None:
        return None
    exact = exact_values(model.training_data)
    objective = "min" if settings.objective == "min" else "max"
    return has_reached_target(exact, settings.threshold, objective)


def _measured_targets(model: TrainedModel, settings: RankSettings) -> int | None:
    """How many measured values beat the threshold (None without a threshold)."""
    if settings.threshold is None or model.training_data is None:
        return None
    exact = np.asarray(exact_values(model.training_data), dtype=float)
    beats = exact <= settings.threshold if settings.objective == "min" else \
        exact >= settings.threshold
    return int(np.sum(beats))


def batch_reason(row: pd.Series, role: str, number: int, size: int,
                 settings: RankSettings, best: float | None) -> str:
    """Why a proposed row was picked, in words a chemist can check against the table."""
    from matgenome.ranking import COLD_START, EXPLOIT

    mean, sd = float(row["prediction"]), float(row["uncertainty"])
    predicted = f"predicted {mean:.3g} ± {sd:.2g} (1 sd)"
    if role == COLD_START:
        text = (f"cold start: one random member of descriptor cluster {number} of {size} "
                f"(no measured value reaches the threshold {settings.threshold:g} yet, so "
                f"the batch spreads over the candidates); {predicted}")
    elif role == EXPLOIT:
        text = (f"exploit: {predicted}, rank {row['rank']} of the unmeasured candidates "
                "by predicted value")
    else:
        text = (f"explore: {predicted}, rank {row['rank']} by predicted value; a draw "
                "from the model's posterior (Thompson sampling) put it first, so it tests "
                "where the trees disagree; nearest measured compositions at domain "
                f"distance {_distance_text(row)}")
    text += _versus_best(mean, settings, best)
    if not bool(row["in_domain"]):
        text += (f"; outside the model's domain ({row['domain_reason']}): proposed on "
                 "purpose to explore, so the prediction is a guess")
    return text


def _distance_text(row: pd.Series) -> str:
    distance = row.get("domain_distance", np.nan)
    return "n/a" if pd.isna(distance) else f"{float(distance):.2f} (0.5 = domain edge)"


def _versus_best(mean: float, settings: RankSettings, best: float | None) -> str:
    """How the prediction compares with the best measured value."""
    if best is None:
        return ""
    if settings.objective == "target" and settings.target is not None:
        gap = abs(best - settings.target) - abs(mean - settings.target)
        side = "closer to" if gap >= 0 else "farther from"
        return (f"; predicted {abs(gap):.3g} {side} the target {settings.target:g} than the "
                f"best measured value {best:.3g}")
    gap = mean - best if settings.objective != "min" else best - mean
    side = "better than" if gap >= 0 else "short of"
    return f"; {abs(gap):.3g} {side} the best measured value {best:.3g}"


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
