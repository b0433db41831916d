"""Tests of matgenome.domain.DomainModel."""

from __future__ import annotations

import numpy as np
import pytest

from matgenome.domain import DomainModel


def _training() -> tuple[list[str], np.ndarray]:
    rng = np.random.default_rng(0)
    formulas = [f"Li{1 + i % 7}La3Zr2O12" for i in range(40)]
    X = rng.normal(size=(40, 4))
    return formulas, X


def test_in_domain_candidate_near_training_rows() -> None:
    formulas, X = _training()
    model = DomainModel(mobile_ion="Li").fit(formulas, X)
    result = model.assess(["Li7La3Zr2O12"], X[:1] + 0.01)
    assert bool(result["in_domain"][0])
    assert result["reasons"][0] == ""
    assert result["domain_distance"][0] < 1.0


def test_unseen_elements_are_flagged() -> None:
    formulas, X = _training()
    model = DomainModel().fit(formulas, X)
    result = model.assess(["Li6PS5Cl"], X[:1])
    assert not result["in_domain"][0]
    assert result["unseen_elements"][0] == "Cl P S"
    assert "unseen elements: Cl, P, S" in result["reasons"][0]


def test_far_compositions_are_flagged_and_distance_is_relative() -> None:
    formulas, X = _training()
    model = DomainModel().fit(formulas, X)
    result = model.assess(["Li7La3Zr2O12", "Li7La3Zr2O12"], np.vstack([X[0], X[0] + 50.0]))
    assert result["domain_distance"][1] > 5 * result["domain_distance"][0]
    assert not result["in_domain"][1]
    assert "far from training data" in result["reasons"][1]
    # About 5% of training rows lie beyond the reference distance by construction.
    assert model.reference_distance_ > 0


def test_mobile_ion_and_unparseable_formulas() -> None:
    formulas, X = _training()
    model = DomainModel(mobile_ion="Li").fit(formulas, X)
    result = model.assess(["La3Zr2O12", "Xx2O"], X[:2])
    assert "no mobile ion (Li)" in result["reasons"][0]
    assert result["reasons"][1] == "unparseable formula"
    assert not result["in_domain"].any()


def test_missing_descriptors_are_imputed_and_shapes_checked() -> None:
    formulas, X = _training()
    X = X.copy()
    X[3, 2] = np.nan
    model = DomainModel().fit(formulas, X)
    candidate = X[:1].copy()
    candidate[0, 1] = np.nan
    assert np.isfinite(model.distance(candidate)).all()
    with pytest.raises(ValueError, match="formulas but"):
        model.assess(["Li2O"], X[:2])


def test_domain_model_never_changes_predictions() -> None:
    formulas, X = _training()
    predictions = np.arange(3.0)
    before = predictions.copy()
    DomainModel().fit(formulas, X).assess(formulas[:3], X[:3])
    assert np.array_equal(predictions, before)
