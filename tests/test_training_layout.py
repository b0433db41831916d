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
