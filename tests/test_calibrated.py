"""The one calibrated tree ensemble: scikit-learn contract, uncertainty, reproducibility."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.utils.estimator_checks import parametrize_with_checks

from matgenome.models.calibrated import CalibratedTreesRegressor

# Tree ensembles draw their randomness per fit, so weighting a row twice is not the same
# model as repeating it; scikit-learn's own forests are marked the same way.
EXPECTED_FAILED_CHECKS = {
    "check_sample_weight_equivalence_on_dense_data": "random trees: weights != repeats",
}


def _expected_failed(estimator) -> dict[str, str]:
    return EXPECTED_FAILED_CHECKS


@parametrize_with_checks(
    [CalibratedTreesRegressor(n_estimators=10),
     CalibratedTreesRegressor(n_estimators=10, kind="random_forest", calibration="oob")],
    expected_failed_checks=_expected_failed,
)
def test_sklearn_estimator_checks(estimator, check) -> None:
    check(estimator)


def noisy_line(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = rng.uniform(0, 1, size=(n, 3))
    y = 4 * X[:, 0] + rng.normal(0, 0.3, size=n)
    return X, y


def test_same_seed_same_model() -> None:
    X, y = noisy_line(200, 0)
    a = CalibratedTreesRegressor(n_estimators=30, random_state=3).fit(X, y)
    b = clone(a).fit(X, y)
    np.testing.assert_allclose(a.predict(X, return_std=True)[1],
                               b.predict(X, return_std=True)[1], rtol=1e-12)


@pytest.mark.parametrize("calibration", ["cv", "oob"])
def test_uncertainty_is_calibrated_and_split_into_parts(calibration: str) -> None:
    X, y = noisy_line(400, 1)
    kind = "random_forest" if calibration == "oob" else "extra_trees"
    model = CalibratedTreesRegressor(n_estimators=100, kind=kind, calibration=calibration,
                                     random_state=0).fit(X, y)
    X_new, y_new = noisy_line(400, 2)
    parts = model.predict_uncertainty(X_new)
    mean, std = model.predict(X_new, return_std=True)
    np.testing.assert_allclose(parts["mean"], mean)
    np.testing.assert_allclose(parts["uncertainty"], std)
    np.testing.assert_allclose(np.sqrt(parts["epistemic"] ** 2 + parts["noise"] ** 2), std)
    covered = np.mean(np.abs(y_new - mean) <= std)
    # Calibrated on held-out residuals: about 68% of fresh in-distribution rows.
    assert 0.55 <= covered <= 0.85
    # The noise term recovers the simulated scatter (0.3) roughly.
    assert 0.1 < model.noise_std_ < 0.5


def test_unknown_kind_is_rejected() -> None:
    X, y = noisy_line(50, 0)
    with pytest.raises(ValueError, match="kind"):
        CalibratedTreesRegressor(kind="svm").fit(X, y)


def test_tree_predictions_equal_scikit_learn_trees() -> None:
    X, y = noisy_line(300, 4)
    X[::7, 1] = np.nan  # missing values are imputed with the training medians
    model = CalibratedTreesRegressor(n_estimators=20, random_state=0).fit(X, y)
    X_new, _ = noisy_line(200, 5)
    X_new[::5, 1] = np.nan
    imputed = model.imputer_.transform(X_new)
    expected = np.stack([tree.predict(imputed) for tree in model.forest_.estimators_])
    np.testing.assert_allclose(model.predict_trees(X_new), expected, rtol=1e-12)
    np.testing.assert_allclose(model.predict(X_new), expected.mean(axis=0), rtol=1e-10)


@pytest.mark.parametrize(("params", "name"), [
    ({"kind": "gradient_boosting"}, "kind"),
    ({"n_estimators": 0}, "n_estimators"),
    ({"calibration": "isotonic"}, "calibration"),
    ({"cv": 1}, "cv"),
    ({"max_features": 1.5}, "max_features"),
])
def test_invalid_parameters_are_named_when_fitting(params: dict, name: str) -> None:
    X = np.random.default_rng(0).normal(size=(30, 3))
    with pytest.raises(ValueError, match=f"'{name}' parameter of CalibratedTreesRegressor"):
        CalibratedTreesRegressor(**params).fit(X, X[:, 0])


def test_parameters_are_keyword_only() -> None:
    with pytest.raises(TypeError):
        CalibratedTreesRegressor("extra_trees", 10)  # type: ignore[misc]
