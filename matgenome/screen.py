"""The discovery loop's main job: generate candidates, predict them, rank them.

``rank_candidates`` scores a table of compositions with a model and adds, row for row:
``prediction`` and ``uncertainty`` (one standard deviation), the applicability-domain flag
``in_domain`` with ``domain_distance`` and ``domain_reason``, ``known_value`` (the measured
value when the composition is in the model's training data), supply risk and cost, the
acquisition ``score``, ``rank`` and the Pareto front over score and supply risk.
``screen`` generates candidates from the shipped seed families first.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from matgenome.modelfile import TrainedModel
from matgenome.ranking import Constraints, pareto_table, rank_table
from matgenome.supply import add_supply_columns

RANK_COLUMNS = ("rank", "score", "prediction", "uncertainty", "in_domain", "known_value")


@dataclass
class RankSettings:
    """How to turn predictions into a ranking (see ``matgenome.ranking``)."""

    acquisition: str = "ei"
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


def rank_candidates(
    model: TrainedModel,
    frame: pd.DataFrame,
    formula_column: str = "formula",
    settings: RankSettings | None = None,
) -> pd.DataFrame:
    """Score, annotate and rank every row of ``frame``; rows stay in input order."""
    settings = settings or RankSettings()
    formulas = frame[formula_column].tolist()
    prediction = model.predict(formulas)
    out = frame.copy()
    out["prediction"] = prediction.mean
    out["uncertainty"] = prediction.std
    out["error"] = prediction.error
    out["in_domain"] = prediction.in_domain if len(prediction.in_domain) else True
    out["domain_distance"] = prediction.domain_distance if len(prediction.in_domain) else np.nan
    out["domain_reason"] = prediction.domain_reason if len(prediction.in_domain) else ""
    out["known_value"] = _known_values(model, formulas)
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
    return pareto_table(ranked, objectives=dict(settings.pareto_objectives))


def _known_values(model: TrainedModel, formulas: list[object]) -> np.ndarray:
    """The mean measured value of each formula's composition in the training data."""
    from matgenome.generation import composition_key, known_values

    values = np.full(len(formulas), np.nan)
    if model.training_data is None or model.training_data.empty:
        return values
    exact = model.training_data[model.training_data["censor"] == ""]
    lookup = known_values(exact)
    for i, formula in enumerate(formulas):
        try:
            values[i] = lookup.get(composition_key(formula), np.nan)
        except ValueError:  # unparseable rows already carry an error
            continue
    return values


def _best_measured(model: TrainedModel, objective: str, target: float | None) -> float | None:
    """The best exact measured value in the training data, the incumbent for EI and MLI."""
    from matgenome.ranking import best_known

    data = model.training_data
    if data is None or data.empty:
        return None
    exact = data.loc[data["censor"] == "", "target"].to_numpy(float)
    return float(best_known(exact, objective, target=target)) if len(exact) else None
