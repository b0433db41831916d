"""Composition classifiers of the shipped classification tasks (Matbench expt_is_metal, glass).

Regression recipes are candidates of ``train``'s selection (``matgenome.selection``);
the classifiers live here until classification joins that selection.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from sklearn.ensemble import ExtraTreesClassifier
from sklearn.impute import SimpleImputer
from sklearn.pipeline import make_pipeline

from matgenome.models.classify import PriorBalancedClassifier

__all__ = [
    "CLASSIFIER_RECIPES",
    "Recipe",
    "classifier_model",
    "get_classifier_recipe",
    "glass_model",
]


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


def classifier_model(random_state: int | None = 0, n_estimators: int = 500,
                     n_jobs: int | None = None) -> PriorBalancedClassifier:
    """Composition classifiers (metal or not, glass former or not): extra trees.

    Probabilities are rebalanced to equal class priors, so the 0.5 threshold that Matbench
    applies maximises balanced accuracy (glass: 71% positive).
    """
    trees = make_pipeline(
        SimpleImputer(strategy="median", keep_empty_features=True),
        ExtraTreesClassifier(n_estimators, max_features="sqrt", random_state=random_state,
                             n_jobs=n_jobs),
    )
    return PriorBalancedClassifier(trees)


def glass_model(random_state: int | None = 0, n_estimators: int = 500,
                n_jobs: int | None = None) -> PriorBalancedClassifier:
    """Metallic glass formation: extra trees (max_features 0.5), prior-balanced.

    Chosen by ``benchmarks/select_matbench_glass.py`` (3-fold stratified cross-validation
    inside each official Matbench training set, averaged over the five): ``max_features``
    0.5 with the Yang and Miedema ``alloy`` descriptors, balanced accuracy 0.867 against
    0.860 for ``sqrt`` without them and 0.866 for 0.3; kNN on element fractions (0.823)
    and gradient boosting (0.857) lost.
    """
    trees = make_pipeline(
        SimpleImputer(strategy="median", keep_empty_features=True),
        ExtraTreesClassifier(n_estimators, max_features=0.5, random_state=random_state,
                             n_jobs=n_jobs),
    )
    return PriorBalancedClassifier(trees)


CLASSIFIER_RECIPES: dict[str, Recipe] = {
    "matbench_expt_is_metal": Recipe(
        "matbench_expt_is_metal", "default+element_fraction", classifier_model,
        "extra trees classifier, probabilities rebalanced to equal class priors",
    ),
    "matbench_glass": Recipe(
        "matbench_glass", "default+element_fraction+alloy", glass_model,
        "extra trees classifier (max_features 0.5) with Yang and Miedema alloy descriptors, "
        "probabilities rebalanced to equal class priors",
    ),
}


def get_classifier_recipe(dataset: str) -> Recipe:
    """The classifier recipe of a shipped classification dataset."""
    try:
        return CLASSIFIER_RECIPES[dataset]
    except KeyError:
        raise ValueError(f"no classifier recipe for {dataset!r}; known: "
                         f"{', '.join(CLASSIFIER_RECIPES)}") from None
