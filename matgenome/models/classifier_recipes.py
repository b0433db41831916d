"""Deprecated: the Matbench classifiers are recipes of the one registry,
:data:`matgenome.selection.MATBENCH_CLASSIFIERS` (build one with ``.estimator()``; its
``features`` is the preset). This module keeps its names for one release."""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

_NAMES = ("CLASSIFIER_RECIPES", "Recipe", "classifier_model", "get_classifier_recipe",
          "glass_model")


@dataclass(frozen=True)
class _Recipe:
    """A feature preset of ``matgenome.features`` and a model factory."""

    name: str
    features: str
    make_model: Callable[..., Any]
    description: str

    def featurize(self, formulas: Sequence[object]) -> np.ndarray:
        """The recipe's descriptor matrix of formulas (NaN rows where a formula fails)."""
        from matgenome.features import compute_features

        return compute_features(list(formulas), self.features)[0]


def _factory(dataset: str) -> Callable[..., Any]:
    def make_model(random_state: int | None = 0, n_estimators: int = 500,
                   n_jobs: int | None = None) -> Any:
        from matgenome.selection import MATBENCH_CLASSIFIERS

        return MATBENCH_CLASSIFIERS[dataset].estimator(random_state, n_estimators, n_jobs)

    return make_model


def _recipes() -> dict[str, _Recipe]:
    from matgenome.selection import MATBENCH_CLASSIFIERS

    return {name: _Recipe(name, recipe.features, _factory(name), recipe.description)
            for name, recipe in MATBENCH_CLASSIFIERS.items()}


def _get_classifier_recipe(dataset: str) -> _Recipe:
    from matgenome.selection import dataset_classifier

    dataset_classifier(dataset)  # the registry's error for an unknown dataset
    return _recipes()[dataset]


def __getattr__(name: str) -> Any:
    if name not in _NAMES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    warnings.warn(f"matgenome.models.classifier_recipes.{name} is deprecated; the Matbench "
                  "classifiers are matgenome.selection.MATBENCH_CLASSIFIERS",
                  DeprecationWarning, stacklevel=2)
    return {"CLASSIFIER_RECIPES": _recipes, "Recipe": lambda: _Recipe,
            "classifier_model": lambda: _factory("matbench_expt_is_metal"),
            "glass_model": lambda: _factory("matbench_glass"),
            "get_classifier_recipe": lambda: _get_classifier_recipe}[name]()
