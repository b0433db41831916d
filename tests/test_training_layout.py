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
