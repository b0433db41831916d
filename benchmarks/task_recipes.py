"""The model the benchmarks found best for each shipped dataset (the "recommended" rows).

Not a registry: regression recipes are candidates of ``train``'s selection
(:mod:`matgenome.selection`), which ``train`` considers under their conditions and
``--recipe NAME`` names; the classifiers are in :mod:`matgenome.models.classifier_recipes`.
This module only maps each shipped dataset to one of those, for the benchmarks:

>>> recipe = get_recipe("obelix")
>>> X, _ = compute_features(formulas, recipe.features)          # doctest: +SKIP
>>> model = recipe.make_model(random_state=0).fit(X, y)          # doctest: +SKIP
"""

from __future__ import annotations

from typing import Any

from matgenome.models.classifier_recipes import (
    CLASSIFIER_RECIPES,
    Recipe,
    classifier_model,
    glass_model,
)
from matgenome.selection import OBELIX_PRESET, RegressorRecipe, get_candidate

__all__ = ["OBELIX_PRESET", "RECIPES", "Recipe", "classifier_model", "get_recipe",
           "glass_model", "recommended_model"]

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


RECIPES: dict[str, Recipe] = {
    **{dataset: _recipe(dataset, get_candidate(name))
       for dataset, name in TASK_CANDIDATES.items()},
    **CLASSIFIER_RECIPES,
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
