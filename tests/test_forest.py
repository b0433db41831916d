"""The calibrated forest: scikit-learn contract, uncertainty behaviour, reproducibility."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.utils.estimator_checks import parametrize_with_checks

from matgenome.models.forest import UncertainForestRegressor


@parametrize_with_checks([UncertainForestRegressor(n_estimators=10),
                          UncertainForestRegressor(n_estimators=10, kind="extra_trees")])
def test_sklearn_estimator_checks(estimator, check) -> None:
    check(estimator)


def noisy_line(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = rng.uniform(0, 1, size=(n, 3))
    y = 4 * X[:, 0] + rng.normal(0, 0.3, size=n)
    return X, y


def test_same_seed_same_model() -> None:
    X, y = noisy_line(200, 0)
    a = UncertainForestRegressor(n_estimators=30, random_state=3).fit(X, y)
    b = clone(a).fit(X, y)
    np.testing.assert_array_equal(a.predict(X, return_std=True)[1],
                                  b.predict(X, return_std=True)[1])


def test_uncertainty_is_calibrated_and_split_into_components() -> None:
    X, y = noisy_line(400, 1)
    model = UncertainForestRegressor(n_estimators=100, random_state=0).fit(X, y)
    X_new, y_new = noisy_line(400, 2)
    mean, std = model.predict(X_new, return_std=True)
    assert (std > 0).all()
    covered = np.mean(np.abs(y_new - mean) <= std)
    # Calibrated on out-of-bag residuals: about 68% of fresh in-distribution rows.
    assert 0.55 <= covered <= 0.85
    assert model.uncertainty_scale_ > 0
    assert 0 <= model.noise_std_ < 0.6
    _, epistemic, noise = model.predict_components(X_new)
    np.testing.assert_allclose(np.sqrt(epistemic**2 + noise**2), std)
    # Far outside the training range the trees disagree no less than inside it.
    _, std_far = model.predict(np.full((1, 3), 5.0), return_std=True)
    assert std_far[0] > 0


def test_unknown_kind_is_rejected() -> None:
    X, y = noisy_line(50, 0)
    with pytest.raises(ValueError, match="kind"):
        UncertainForestRegressor(kind="svm").fit(X, y)


def test_fast_tree_path_equals_scikit_learn_predict() -> None:
    X, y = noisy_line(300, 4)
    X[::7, 1] = np.nan  # missing values take the trees' learned missing-value branch
    model = UncertainForestRegressor(n_estimators=20, random_state=0).fit(X, y)
    X_new, _ = noisy_line(200, 5)
    X_new[::5, 1] = np.nan
    expected = np.stack([tree.predict(X_new) for tree in model.forest_.estimators_])
    np.testing.assert_array_equal(model._tree_predictions(X_new), expected)
    np.testing.assert_allclose(model.predict(X_new), model.forest_.predict(X_new), rtol=1e-12)
