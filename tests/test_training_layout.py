"""Names of the training layer that moved keep their old import paths for one release."""

from __future__ import annotations

import importlib

import pytest


def test_models_selection_is_a_deprecated_path_to_matgenome_selection() -> None:
    import matgenome.selection as selection

    old = importlib.import_module("matgenome.models.selection")
    with pytest.warns(DeprecationWarning, match="matgenome.selection"):
        candidates = old.CANDIDATES
    assert candidates is selection.CANDIDATES
    with pytest.warns(DeprecationWarning, match="select_candidate"):
        from matgenome.models.selection import select_candidate
    assert select_candidate is selection.select_candidate
    with pytest.raises(ImportError):
        from matgenome.models.selection import no_such_name  # noqa: F401


@pytest.mark.parametrize(("old", "new"), [("Candidate", "RegressorRecipe"),
                                          ("ClassifierCandidate", "ClassifierRecipe")])
def test_old_recipe_class_names_are_deprecated_aliases(old: str, new: str) -> None:
    import matgenome.selection as selection

    with pytest.warns(DeprecationWarning, match=new):
        alias = getattr(selection, old)
    assert alias is getattr(selection, new)
    with pytest.warns(DeprecationWarning):
        from matgenome.models.selection import Candidate  # noqa: F401


def test_recipe_classes_are_not_the_generated_candidate() -> None:
    from matgenome.generation.candidates import Candidate
    from matgenome.selection import ClassifierRecipe, RegressorRecipe

    assert Candidate not in (RegressorRecipe, ClassifierRecipe)
    assert RegressorRecipe.__module__ == ClassifierRecipe.__module__ == "matgenome.selection"


def test_training_steps_sit_below_both_training_paths() -> None:
    """Regression and classifier training share their row checks, card and wrapper base;
    the classifier path no longer reaches into ``matgenome.training``."""
    import ast
    from pathlib import Path

    import matgenome.classification as classification
    import matgenome.training as training
    import matgenome.training_steps as steps

    assert training.TrainingReport is steps.TrainingReport
    assert training.duplicate_spread is steps.duplicate_spread
    assert issubclass(training.TrainedModelRegressor, steps.TrainedModelEstimator)
    assert issubclass(classification.TrainedModelClassifier, steps.TrainedModelEstimator)
    tree = ast.parse(Path(classification.__file__).read_text(encoding="utf-8"))
    imported = {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    assert "matgenome.training" not in imported
    assert "matgenome.training_steps" in imported


def test_both_wrappers_take_formula_text_and_name_a_length_mismatch() -> None:
    from sklearn.utils import get_tags

    from matgenome.classification import TrainedModelClassifier
    from matgenome.errors import UsageError
    from matgenome.training import TrainedModelRegressor

    for estimator, what in ((TrainedModelRegressor(), "target values"),
                            (TrainedModelClassifier(), "labels")):
        tags = get_tags(estimator).input_tags
        assert tags.string and tags.one_d_array and not tags.two_d_array
        with pytest.raises(UsageError, match=f"2 formulas but 3 {what}"):
            estimator.fit(["Li2O", "NaCl"], [1, 0, 1])
    assert get_tags(TrainedModelRegressor()).estimator_type == "regressor"
    assert get_tags(TrainedModelClassifier()).estimator_type == "classifier"


def _old_matbench_classifier(max_features: float | str, random_state: int | None = 0,
                             n_estimators: int = 500, n_jobs: int | None = None):
    """How ``matgenome.models.classifier_recipes`` built its classifiers before they joined
    the recipe registry (``classifier_model`` and ``glass_model``)."""
    from sklearn.ensemble import ExtraTreesClassifier
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import make_pipeline

    from matgenome.models.classify import PriorBalancedClassifier

    return PriorBalancedClassifier(make_pipeline(
        SimpleImputer(strategy="median", keep_empty_features=True),
        ExtraTreesClassifier(n_estimators, max_features=max_features,
                             random_state=random_state, n_jobs=n_jobs)))


def _params(estimator) -> dict[str, object]:
    """Every parameter, nested ones too, as text (estimators, lists of steps and NaN
    compare by what they print)."""
    return {k: repr(v) for k, v in estimator.get_params(deep=True).items()}


MATBENCH = [("matbench_expt_is_metal", "sqrt", "default+element_fraction"),
            ("matbench_glass", 0.5, "default+element_fraction+alloy")]


@pytest.mark.parametrize(("dataset", "max_features", "preset"), MATBENCH)
def test_evaluate_default_classifier_comes_from_the_registry_unchanged(
        dataset: str, max_features: float | str, preset: str) -> None:
    import numpy as np

    from matgenome.datasets import load
    from matgenome.evaluation.runner import _default_features, default_model
    from matgenome.features import compute_features

    new, old = default_model("classification", dataset), _old_matbench_classifier(max_features)
    assert _params(new) == _params(old)
    assert _default_features(dataset) == preset
    table = load(dataset).sample(80, random_state=1).reset_index(drop=True)
    X = compute_features(table["formula"].tolist(), preset)[0]
    y = table["target"].to_numpy()
    train, test = slice(0, 60), slice(60, 80)
    np.testing.assert_allclose(new.fit(X[train], y[train]).predict_proba(X[test]),
                               old.fit(X[train], y[train]).predict_proba(X[test]), atol=1e-12)
    # A classification table of no shipped dataset gets the metal classifier.
    assert _params(default_model("classification", "table")) == _params(
        _old_matbench_classifier("sqrt"))


@pytest.mark.parametrize(("dataset", "max_features", "preset"), MATBENCH)
def test_benchmark_and_deprecated_recipes_build_the_registry_classifiers(
        dataset: str, max_features: float | str, preset: str) -> None:
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
    try:
        from task_recipes import get_recipe, recommended_model
    finally:
        sys.path.pop(0)
    expected = _params(_old_matbench_classifier(max_features, 3, 20, 1))
    recipe = get_recipe(dataset)
    assert (recipe.name, recipe.features) == (dataset, preset)
    assert _params(recipe.make_model(random_state=3, n_estimators=20, n_jobs=1)) == expected
    assert _params(recommended_model("classification", dataset)) == _params(
        _old_matbench_classifier(max_features))
    with pytest.warns(DeprecationWarning, match="MATBENCH_CLASSIFIERS"):
        from matgenome.models.classifier_recipes import CLASSIFIER_RECIPES
    old = CLASSIFIER_RECIPES[dataset]
    assert (old.name, old.features) == (dataset, preset)
    assert _params(old.make_model(random_state=3, n_estimators=20, n_jobs=1)) == expected
    with pytest.warns(DeprecationWarning):
        from matgenome.models.classifier_recipes import glass_model
    assert _params(glass_model()) == _params(_old_matbench_classifier(0.5))
