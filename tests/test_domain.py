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
    model = DomainModel(mobile_ion="Li").fit(X, formulas=formulas)
    result = model.assess(["Li7La3Zr2O12"], X[:1] + 0.01)
    assert bool(result["in_domain"][0])
    assert result["reasons"][0] == ""
    assert result["domain_distance"][0] < 1.0


def test_unseen_elements_are_flagged() -> None:
    formulas, X = _training()
    model = DomainModel().fit(X, formulas=formulas)
    result = model.assess(["Li6PS5Cl"], X[:1])
    assert not result["in_domain"][0]
    assert result["unseen_elements"][0] == "Cl P S"
    assert "unseen elements: Cl, P, S" in result["reasons"][0]


def test_far_compositions_are_flagged_and_distance_is_relative() -> None:
    formulas, X = _training()
    model = DomainModel().fit(X, formulas=formulas)
    result = model.assess(["Li7La3Zr2O12", "Li7La3Zr2O12"], np.vstack([X[0], X[0] + 50.0]))
    assert result["domain_distance"][1] > 5 * result["domain_distance"][0]
    assert not result["in_domain"][1]
    assert "far from training data" in result["reasons"][1]
    # About 5% of training rows lie beyond the reference distance by construction.
    assert model.reference_distance_ > 0


def test_mobile_ion_and_unparseable_formulas() -> None:
    formulas, X = _training()
    model = DomainModel(mobile_ion="Li").fit(X, formulas=formulas)
    result = model.assess(["La3Zr2O12", "Xx2O"], X[:2])
    assert "no mobile ion (Li)" in result["reasons"][0]
    assert result["reasons"][1] == "unparseable formula"
    assert not result["in_domain"].any()


def test_missing_descriptors_are_imputed_and_shapes_checked() -> None:
    formulas, X = _training()
    X = X.copy()
    X[3, 2] = np.nan
    model = DomainModel().fit(X, formulas=formulas)
    candidate = X[:1].copy()
    candidate[0, 1] = np.nan
    assert np.isfinite(model.distance(candidate)).all()
    with pytest.raises(ValueError, match="formulas but"):
        model.assess(["Li2O"], X[:2])


def test_domain_model_never_changes_predictions() -> None:
    formulas, X = _training()
    predictions = np.arange(3.0)
    before = predictions.copy()
    DomainModel().fit(X, formulas=formulas).assess(formulas[:3], X[:3])
    assert np.array_equal(predictions, before)


def test_training_compositions_are_in_domain_even_when_isolated() -> None:
    formulas, X = _training()
    X = np.vstack([X, np.full((1, 4), 25.0)])  # one composition far from all the others
    formulas = [*formulas, "Li3N"]
    model = DomainModel(mobile_ion="Li").fit(X, formulas=formulas)
    result = model.assess(["Li3N", "NLi3"], X[[-1, -1]])
    assert result["domain_distance"].tolist() == [0.0, 0.0]
    assert result["in_domain"].all()
    # A point near, but not at, the isolated row is judged by its neighbours as before.
    near = model.assess(["Li3N"], X[[-1]] + 0.5)
    assert near["domain_distance"][0] > 0.5 and not near["in_domain"][0]


def test_domain_distance_is_bounded_and_the_threshold_is_on_that_scale() -> None:
    formulas, X = _training()
    model = DomainModel().fit(X, formulas=formulas)
    far = np.vstack([X[0] + step for step in (0.3, 3.0, 30.0, 3e4, 3e10)])
    distance = model.distance(far)
    assert ((distance > 0) & (distance < 1)).all()
    assert (np.diff(distance) > 0).all()  # farther is larger, never saturating to a tie
    # 0.5 is the reference distance (95th percentile of training rows' own distances).
    Z = model.scaler_.transform(model.imputer_.transform(far))
    raw = model.neighbors_.kneighbors(Z, n_neighbors=model.n_neighbors_)[0].mean(axis=1)
    np.testing.assert_allclose(distance, raw / (raw + model.reference_distance_), rtol=1e-12)
    assert model.threshold == 0.5
    flagged = model.assess(["Li7La3Zr2O12"] * 5, far)
    np.testing.assert_array_equal(flagged["in_domain"].to_numpy(), distance <= 0.5)
    # A model saved with the old relative threshold 1.0 draws the same line.
    legacy = DomainModel(max_distance=1.0).fit(X, formulas=formulas)
    assert legacy.threshold == 0.5
    np.testing.assert_array_equal(legacy.assess(["Li7La3Zr2O12"] * 5, far)["in_domain"],
                                  flagged["in_domain"])


def test_shipped_model_puts_its_training_compositions_in_domain() -> None:
    from matgenome.modelfile import load_model

    model = load_model()
    formulas = model.training_data["formula"].tolist()
    prediction = model.predict(["Li3N", "NLi3", *formulas[::5]])
    assert prediction.in_domain.all()
    assert np.all(prediction.domain_distance == 0.0)
    other = model.predict(["Na3PS4", "LiBH4"])
    assert ((other.domain_distance > 0.5) & (other.domain_distance < 1)).all()


def test_a_rows_distance_does_not_depend_on_the_rows_scored_with_it() -> None:
    """Scored alone, in blocks of any size or shifted in a block: the same bits (chunks and
    jobs must not change an output byte)."""
    rng = np.random.default_rng(3)
    X = rng.normal(size=(300, 40))
    model = DomainModel(n_neighbors=5).fit(X)
    Q = rng.normal(size=(2000, 40)) * rng.uniform(0.2, 3, size=(2000, 1))
    whole = model.distance(Q)
    for size in (1, 7, 256, 999):
        blocks = np.concatenate([model.distance(Q[i:i + size]) for i in range(0, len(Q), size)])
        np.testing.assert_array_equal(blocks, whole)
    np.testing.assert_array_equal(model.distance(np.vstack([Q[:3], Q]))[3:], whole)
    # The distances are the plain Euclidean ones to the nearest training rows.
    Z = model.scaler_.transform(Q[:5])
    T = model.scaler_.transform(X)
    nearest = np.sort(np.linalg.norm(Z[:, None, :] - T[None], axis=2), axis=1)[:, :5]
    relative = nearest.mean(axis=1) / model.reference_distance_
    np.testing.assert_allclose(whole[:5], relative / (1 + relative), rtol=1e-12)
