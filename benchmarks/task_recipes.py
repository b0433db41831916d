"""The model the benchmarks found best for each shipped dataset (the "recommended" rows).

Not a registry: the recipes are those of :mod:`matgenome.selection` (regression recipes are
candidates of ``train``'s selection, which ``train`` considers under their conditions and
``--recipe NAME`` names; the Matbench classifiers are its ``MATBENCH_CLASSIFIERS``). This
module only maps each shipped dataset to one of those, for the benchmarks:

>>> recipe = get_recipe("obelix")
>>> X, _ = compute_features(formulas, recipe.features)          # doctest: +SKIP
>>> model = recipe.make_model(random_state=0).fit(X, y)          # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from matgenome.selection import (
    GENERIC_CLASSIFIER,
    MATBENCH_CLASSIFIERS,
    OBELIX_PRESET,
    ClassifierRecipe,
    RegressorRecipe,
    get_candidate,
)

__all__ = ["OBELIX_PRESET", "RECIPES", "Recipe", "classifier_model", "get_recipe",
           "glass_model", "recommended_model"]


@dataclass(frozen=True)
class Recipe:
    """A feature preset of ``matgenome.features`` and a model factory."""

    name: str
    features: str
    make_model: Callable[..., Any]
    description: str

    def featurize(self, formulas: Sequence[object]) -> np.ndarray:
        """The recipe's descriptor matrix of formulas (NaN rows where a formula fails)."""
        from matgenome.features import compute_features

        return compute_features(list(formulas), self.features)[0]


# The candidate the benchmarks found best for each shipped regression dataset.
TASK_CANDIDATES = {
    "obelix": "conductivity",
    "matbench_expt_gap": "hurdle_sqrt_fractions",
    "matbench_steels": "extra_trees_fractions_leaf2",
}


def _recipe(dataset: str, candidate: RegressorRecipe) -> Recipe:
    def make_model(random_state: int | None = 0, n_estimators: int | None = None,
                   n_jobs: int | None = None) -> Any:
        return candidate.estimator(random_state, n_estimators, n_jobs)

    return Recipe(dataset, candidate.features, make_model,
                  f"candidate {candidate.name}: {candidate.description}")


def _classifier(recipe: ClassifierRecipe) -> Callable[..., Any]:
    def make_model(random_state: int | None = 0, n_estimators: int = 500,
                   n_jobs: int | None = None) -> Any:
        return recipe.estimator(random_state, n_estimators, n_jobs)

    return make_model


classifier_model = _classifier(GENERIC_CLASSIFIER)
glass_model = _classifier(MATBENCH_CLASSIFIERS["matbench_glass"])

RECIPES: dict[str, Recipe] = {
    **{dataset: _recipe(dataset, get_candidate(name))
       for dataset, name in TASK_CANDIDATES.items()},
    **{dataset: Recipe(dataset, recipe.features, _classifier(recipe), recipe.description)
       for dataset, recipe in MATBENCH_CLASSIFIERS.items()},
}


def get_recipe(dataset: str) -> Recipe:
    """The recipe of a shipped dataset (``obelix``, ``matbench_<task>``)."""
    try:
        return RECIPES[dataset]
    except KeyError:
        raise ValueError(f"no recipe for {dataset!r}; known: {', '.join(RECIPES)}") from None


def recommended_model(task: str, dataset: str = "", random_state: int | None = 0) -> Any:
    """An unfitted model for a dataset's recipe, or a generic one for the task."""
    if dataset in RECIPES:
        return RECIPES[dataset].make_model(random_state=random_state)
    if task == "classification":
        return classifier_model(random_state=random_state)
    return get_candidate("extra_trees_magpie").estimator(random_state)
