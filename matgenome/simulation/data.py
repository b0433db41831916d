"""Data preparation for a simulation: one candidate per composition from a labelled table,
and the model ``matgenome simulate`` refits at every batch."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

from matgenome.censoring import is_exact
from matgenome.simulation.results import FloatArray
from matgenome.simulation.settings import ModelFactory

if TYPE_CHECKING:
    from matgenome.labelled import LabelledData


def candidates_from_rows(
    formulas: Sequence[object], y: ArrayLike, row_ids: Sequence[Any], preset: str
) -> tuple[FloatArray, FloatArray, list[str], int]:
    """One simulation candidate per composition, from labelled table rows.

    Rows without a finite target are left out; repeated measurements of one composition
    (however written) are averaged, so a composition cannot be "found" twice, and their
    row ids are joined with ``+``. Returns the descriptors of ``preset``, the targets, the
    candidate ids and the number of rows left out (no target, or no features).
    """
    from matgenome.evaluation import composition_labels
    from matgenome.features import compute_features

    values = np.asarray(y, dtype=float)
    usable = np.flatnonzero(np.isfinite(values))
    frame = pd.DataFrame({
        "key": composition_labels([formulas[i] for i in usable]),
        "formula": [formulas[i] for i in usable],
        "y": values[usable],
        "id": [str(row_ids[i]) for i in usable],
    })
    groups = frame.groupby("key", sort=False)
    merged = pd.DataFrame({"formula": groups["formula"].first(), "y": groups["y"].mean(),
                           "id": groups["id"].agg("+".join)})
    X, errors = compute_features(merged["formula"].tolist(), preset)
    ok = np.array([not e for e in errors], dtype=bool)
    left_out = len(values) - int(groups["y"].size()[ok].sum())
    return X[ok], merged["y"].to_numpy()[ok], merged["id"][ok].tolist(), left_out


# Thompson sampling, the cold start and the greedy picks use the trees and their mean, and
# refitting the std calibration (an internal 5-fold) at every batch would multiply the cost
# of a simulation by six; the benchmarks (simulate_obelix, campaign_regimes) ran this model.
SIMULATION_CALIBRATION = "none"


def simulation_model_factory(recipe: Any, n_estimators: int = 100,
                             n_jobs: int | None = 1) -> ModelFactory:
    """The model ``matgenome simulate`` refits at every batch: the recipe's regressor with
    ``n_estimators`` trees, uncalibrated std, ``random_state`` left for the trial to seed."""

    def make() -> Any:
        return recipe.estimator(None, n_estimators, n_jobs=n_jobs,
                                calibration=SIMULATION_CALIBRATION)

    return make


@dataclass
class SimulationData:
    """A labelled table made ready to simulate on: one row per composition."""

    X: FloatArray  # descriptors of ``recipe.features``
    y: FloatArray  # exact targets, repeats averaged
    row_ids: list[str]  # source row ids, joined with "+" for repeats
    left_out: int  # rows without a usable exact target or without features
    recipe: Any  # the recipe (matgenome.selection) whose estimator is simulated


def simulation_data(labelled: LabelledData, preset: str | None = None) -> SimulationData:
    """Featurize and filter a labelled table (``matgenome.labelled.read_labelled``).

    Censored and unusable targets are left out (a bound is not a measured value); the
    features are those of the default recipe for the table's target, or ``preset``. Row ids
    are a dataset's ``id`` column, else the 0-based input row.
    """
    from matgenome.selection import custom_candidate, default_candidate

    targets = labelled.targets
    y = np.where(is_exact(targets.censor) & targets.usable, targets.values, np.nan)
    ids = labelled.ids if labelled.ids is not None else list(range(len(y)))
    recipe = default_candidate(labelled.target)
    if preset:
        recipe = custom_candidate(preset, None, recipe)
    X, y, row_ids, left_out = candidates_from_rows(list(labelled.formulas), y, ids,
                                                   recipe.features)
    return SimulationData(X, y, row_ids, left_out, recipe)


def simulation_classifier_data(labelled: Any, positive: str | None = None,
                               preset: str | None = None) -> tuple[SimulationData, Any]:
    """A two-class labelled table made ready for ``matgenome.simulation``: the labels as
    1.0 (positive) / 0.0, one row per composition (repeats: positive if at least half
    are), the features of the first classifier candidate (or ``preset``)."""
    from dataclasses import replace as replace_field

    from matgenome.classification import _cells, label_targets
    from matgenome.selection import CLASSIFIERS

    targets, labels = label_targets(_cells(labelled.targets), positive)
    y = np.where(targets.usable, targets.values, np.nan)
    ids = labelled.ids if labelled.ids is not None else list(range(len(y)))
    recipe = CLASSIFIERS[0] if not preset else replace_field(CLASSIFIERS[0], name="custom",
                                                             features=preset)
    X, y, row_ids, left_out = candidates_from_rows(list(labelled.formulas), y, ids,
                                                   recipe.features)
    return SimulationData(X, (y >= 0.5).astype(float), row_ids, left_out, recipe), labels


def simulation_classifier_factory(recipe: Any, n_estimators: int = 100,
                                  n_jobs: int | None = 1) -> Any:
    """The classifier ``matgenome simulate`` refits at every batch: uncalibrated (as the
    regressors there), classes fixed to 0/1 so that a start without positives still fits,
    ``random_state`` left for the trial to seed."""
    from matgenome.models.probability import ProbabilityScorer

    def make() -> Any:
        return ProbabilityScorer(kind=recipe.kind, n_estimators=n_estimators,
                                 max_features=recipe.max_features,
                                 min_samples_leaf=recipe.min_samples_leaf,
                                 class_weight=recipe.class_weight, calibration="none",
                                 random_state=None, n_jobs=n_jobs, classes=(0.0, 1.0))

    return make
