"""CensoredHurdleRegressor: bounds respected where rows are censored, measured rows unharmed."""

from __future__ import annotations

import copy

import numpy as np
import pytest
from censored_strategies import CensoredRegressor
from sklearn.base import clone
from sklearn.calibration import CalibratedClassifierCV
from sklearn.ensemble import ExtraTreesClassifier
from sklearn.impute import SimpleImputer
from sklearn.pipeline import make_pipeline

from matgenome.models.calibrated import CalibratedTreesRegressor
from matgenome.models.censored import CensoredHurdleRegressor
from matgenome.selection import BOUND_CLASSIFIER_TREES, censored_hurdle

BOUND = -3.0


def _data(n: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Targets rise with x0; below x0 = 0.3 they fall under BOUND and are reported as it."""
    rng = np.random.default_rng(seed)
    X = rng.uniform(size=(n, 4))
    y = np.where(X[:, 0] < 0.3, -6.0 + X[:, 1], -1.0 + 4.0 * X[:, 0] + X[:, 1])
    y = y + rng.normal(scale=0.1, size=n)
    censored = y < BOUND
    return X, np.where(censored, BOUND, y), censored


def _hurdle(seed: int = 0, **params) -> CensoredHurdleRegressor:
    regressor = CalibratedTreesRegressor(n_estimators=40, max_features=1.0, cv=3,
                                         random_state=seed, n_jobs=1)
    classifier = ExtraTreesClassifier(40, min_samples_leaf=3, random_state=seed, n_jobs=1)
    return CensoredHurdleRegressor(regressor, classifier, random_state=seed, **params)


@pytest.fixture(scope="module")
def fitted() -> tuple[CensoredHurdleRegressor, np.ndarray, np.ndarray, np.ndarray]:
    X, y, censored = _data(300, 0)
    X_new, y_new, c_new = _data(200, 1)
    return _hurdle().fit(X, y, censored=censored), X_new, y_new, c_new


def test_censored_region_is_predicted_at_or_below_the_bound(fitted) -> None:
    model, X_new, _, c_new = fitted
    deep = c_new & (X_new[:, 0] < 0.25)  # clearly inside the censored region
    assert model.level_ == pytest.approx(BOUND)
    assert np.mean(model.predict(X_new[deep]) <= BOUND + 1e-9) >= 0.95
    # The measured-rows model alone extrapolates above the bound there.
    assert np.mean(model.regressor_.predict(X_new[deep]) > BOUND) >= 0.5


def test_measured_region_is_no_worse_than_drop(fitted) -> None:
    model, X_new, y_new, c_new = fitted
    clear = ~c_new & (X_new[:, 0] > 0.35)
    hurdle_mae = np.mean(np.abs(model.predict(X_new[clear]) - y_new[clear]))
    drop_mae = np.mean(np.abs(model.regressor_.predict(X_new[clear]) - y_new[clear]))
    assert hurdle_mae <= drop_mae + 0.05


def test_regressor_is_the_drop_model() -> None:
    X, y, censored = _data(120, 2)
    hurdle = _hurdle().fit(X, y, censored=censored)
    drop = CensoredRegressor(hurdle.regressor, strategy="drop").fit(X, y, censored=censored)
    np.testing.assert_allclose(hurdle.regressor_.predict(X), drop.predict(X))


def test_reproducible_from_a_seed() -> None:
    X, y, censored = _data(120, 3)
    first = _hurdle(seed=5).fit(X, y, censored=censored).predict_uncertainty(X)
    second = _hurdle(seed=5).fit(X, y, censored=censored).predict_uncertainty(X)
    for key in first:
        np.testing.assert_allclose(first[key], second[key])


@pytest.mark.parametrize("combine", ["switch", "median", "mixture"])
def test_uncertainty_dict(fitted, combine: str) -> None:
    model, X_new, _, _ = fitted
    # The combination acts at prediction time only: a copy of the fit with another rule.
    parts = copy.deepcopy(model).set_params(combine=combine).predict_uncertainty(X_new)
    assert {"mean", "uncertainty", "epistemic", "noise"} <= set(parts)
    for key in ("mean", "uncertainty", "epistemic", "noise", "p_censored"):
        assert parts[key].shape == (len(X_new),)
        assert np.all(np.isfinite(parts[key]))
    assert np.all(parts["uncertainty"] > 0)
    np.testing.assert_allclose(parts["uncertainty"] ** 2,
                               parts["epistemic"] ** 2 + parts["noise"] ** 2, rtol=1e-9)
    assert np.all((parts["p_censored"] >= 0) & (parts["p_censored"] <= 1))


def test_point_predictions_of_each_combination(fitted) -> None:
    model, X_new, _, _ = fitted
    mu = model.regressor_.predict(X_new)
    p = model.predict_proba_censored(X_new)
    switch = copy.deepcopy(model).set_params(combine="switch")
    np.testing.assert_allclose(switch.predict(X_new), np.where(p >= 0.5, BOUND, mu))
    switch.set_params(combine="mixture")
    np.testing.assert_allclose(switch.predict(X_new), (1 - p) * mu + p * BOUND)
    switch.set_params(combine="median")
    median = switch.predict(X_new)
    assert np.all(median >= np.minimum(mu, BOUND) - 1e-9)
    assert np.all(median <= np.maximum(mu, BOUND) + 1e-9)


def test_std_widens_where_the_side_of_the_bound_is_unsure(fitted) -> None:
    model, X_new, _, _ = fitted
    regressor_std = model.regressor_.predict_uncertainty(X_new)["uncertainty"]
    median = copy.deepcopy(model).set_params(combine="median")
    parts = median.predict_uncertainty(X_new)
    unsure = (parts["p_censored"] > 0.2) & (parts["p_censored"] < 0.5)
    assert unsure.any()
    assert np.all(parts["uncertainty"][unsure] > regressor_std[unsure])


def test_switch_keeps_the_regressor_interval_on_its_side(fitted) -> None:
    model, X_new, _, _ = fitted
    switch = copy.deepcopy(model).set_params(combine="switch")
    parts = switch.predict_uncertainty(X_new)
    own = switch.regressor_.predict_uncertainty(X_new)
    kept = parts["p_censored"] < 0.5
    assert kept.any() and (~kept).any()
    np.testing.assert_allclose(parts["uncertainty"][kept], own["uncertainty"][kept])
    np.testing.assert_allclose(parts["uncertainty"] ** 2,
                               parts["epistemic"] ** 2 + parts["noise"] ** 2)


def test_predict_and_trees_pass_through(fitted) -> None:
    model, X_new, _, _ = fitted
    mean, std = model.predict(X_new, return_std=True)
    parts = model.predict_uncertainty(X_new)
    np.testing.assert_allclose(mean, parts["mean"])
    np.testing.assert_allclose(std, parts["uncertainty"])
    trees = model.predict_trees(X_new)
    assert trees.shape == (40, len(X_new))
    np.testing.assert_allclose(trees.mean(axis=0), model.regressor_.predict(X_new), atol=1e-5)


def test_clone_and_get_params() -> None:
    model = _hurdle(combine="median", decision_threshold=0.3, offset=0.5)
    params = model.get_params()
    assert params["combine"] == "median" and params["offset"] == 0.5
    assert params["regressor__n_estimators"] == 40
    copy = clone(model)
    assert copy.get_params()["decision_threshold"] == 0.3
    assert not hasattr(copy, "regressor_")


def test_without_censored_rows_it_is_the_regressor() -> None:
    X, y, _ = _data(100, 4)
    y = np.abs(y)
    model = _hurdle().fit(X, y)
    assert model.classifier_ is None
    np.testing.assert_allclose(model.predict_proba_censored(X), 0.0)
    np.testing.assert_allclose(model.predict(X), model.regressor_.predict(X))


def test_below_level_adds_measured_rows_under_the_bound_to_the_positive_class() -> None:
    X, y, censored = _data(150, 7)
    y = np.where(~censored & (X[:, 0] < 0.4), BOUND - 0.5, y)  # measured, yet under the bound
    model = _hurdle(classify="below_level").fit(X, y, censored=censored)
    assert model.classifier_.classes_.tolist() == [False, True]
    deep = X[:, 0] < 0.25
    assert np.mean(model.predict(X[deep]) <= BOUND + 1e-9) >= 0.95


def test_invalid_settings_raise() -> None:
    X, y, censored = _data(60, 5)
    with pytest.raises(ValueError, match="combine"):
        _hurdle(combine="nope").fit(X, y, censored=censored)
    with pytest.raises(ValueError, match="classify"):
        _hurdle(classify="nope").fit(X, y, censored=censored)
    with pytest.raises(ValueError, match="censored has shape"):
        _hurdle().fit(X, y, censored=censored[:10])
    with pytest.raises(ValueError, match="measured"):
        _hurdle().fit(X, y, censored=np.ones(len(y), bool))


def test_censored_regressor_still_works_without_predict_components() -> None:
    X, y, censored = _data(100, 6)
    regressor = CalibratedTreesRegressor(n_estimators=20, cv=3, random_state=0, n_jobs=1)
    model = CensoredRegressor(regressor, strategy="iterative").fit(X, y, censored=censored)
    assert not hasattr(model, "predict_components")
    parts = model.predict_uncertainty(X)
    assert parts["mean"].shape == (len(X),)
    mean, std = model.predict(X, return_std=True)
    np.testing.assert_allclose(mean, parts["mean"])
    np.testing.assert_allclose(std, parts["uncertainty"])


def test_floor_none_reproduces_the_bound_hurdle_of_before_the_floor_option() -> None:
    """Predictions recorded with the bound-only hurdle before ``floor`` existed
    (tests/data/censored_hurdle_reference.json, same table, models and seeds)."""
    import json
    from pathlib import Path

    reference = json.loads((Path(__file__).parent / "data"
                            / "censored_hurdle_reference.json").read_text())
    rng = np.random.default_rng(7)
    X = rng.uniform(size=(80, 3))
    y = np.where(X[:, 0] < 0.3, -6.0 + X[:, 1], -1.0 + 4.0 * X[:, 0] + X[:, 1])
    y = y + rng.normal(scale=0.1, size=80)
    censored = y < BOUND
    regressor = CalibratedTreesRegressor(n_estimators=20, max_features=1.0, cv=3,
                                         random_state=0, n_jobs=1)
    classifier = ExtraTreesClassifier(20, min_samples_leaf=3, random_state=0, n_jobs=1)
    model = CensoredHurdleRegressor(regressor, classifier, classify="below_level",
                                    random_state=0, floor=None)
    parts = model.fit(X, np.where(censored, BOUND, y), censored=censored).predict_uncertainty(X)
    for key, values in reference.items():
        np.testing.assert_allclose(parts[key], values, rtol=1e-12, atol=1e-12)


def test_floor_model_rejects_bounds_and_transform_needs_a_floor() -> None:
    X, y, censored = _data(60, 4)
    with pytest.raises(ValueError, match="no censored rows"):
        _hurdle(floor="min").fit(X, y, censored=censored)
    with pytest.raises(ValueError, match="needs a floor"):
        _hurdle(target_transform="sqrt").fit(X, y, censored=censored)
    with pytest.raises(ValueError, match="floor"):
        _hurdle(floor="max").fit(X, y)


def test_floor_model_std_is_in_original_units() -> None:
    """The regressor learns sqrt(height); its std is carried back by the delta method."""
    rng = np.random.default_rng(0)
    X = rng.uniform(size=(300, 3))
    y = np.where(X[:, 0] < 0.4, 0.0, (4 * X[:, 0]) ** 2 + rng.normal(0, 0.3, 300).clip(0))
    model = _hurdle(floor="min", target_transform="sqrt").fit(X, y)
    parts = model.predict_uncertainty(X)
    inner = model.regressor_.predict_uncertainty(X)
    kept = parts["p_censored"] < 0.5
    slope = 2 * np.maximum(inner["mean"], 0.0)
    np.testing.assert_allclose(parts["mean"][kept], inner["mean"][kept] ** 2)
    np.testing.assert_allclose(parts["uncertainty"][kept], slope[kept] * inner["uncertainty"][kept])
    assert np.all(parts["mean"][~kept] == 0.0)


def _regressor(seed: int = 0) -> CalibratedTreesRegressor:
    return CalibratedTreesRegressor(n_estimators=20, max_features=1.0, cv=3,
                                    random_state=seed, n_jobs=1)


def test_calibrated_default_classifier_is_the_explicit_fold_ensemble() -> None:
    """``calibrate_classifier=True`` builds what was passed as ``classifier`` before."""
    X, y, censored = _data(150, 8)
    explicit = CalibratedClassifierCV(
        make_pipeline(SimpleImputer(strategy="median", keep_empty_features=True),
                      ExtraTreesClassifier(10, max_features=0.1, random_state=3, n_jobs=1)),
        method="sigmoid", cv=5)
    before = CensoredHurdleRegressor(_regressor(), explicit, classify="below_level",
                                     random_state=3, n_jobs=1)
    after = CensoredHurdleRegressor(_regressor(), classify="below_level", random_state=3,
                                    n_jobs=1, classifier_trees=50, calibrate_classifier=True)
    first = before.fit(X, y, censored=censored).predict_uncertainty(X)
    second = after.fit(X, y, censored=censored).predict_uncertainty(X)
    for key in first:
        np.testing.assert_array_equal(first[key], second[key])
    folds = after.classifier_.calibrated_classifiers_
    assert [len(f.estimator[-1].estimators_) for f in folds] == [10] * 5


def test_uncalibrated_default_classifier_has_classifier_trees() -> None:
    X, y, censored = _data(120, 9)
    model = CensoredHurdleRegressor(_regressor(), classifier_trees=7, n_jobs=1)
    forest = model.fit(X, y, censored=censored).classifier_[-1]
    assert isinstance(forest, ExtraTreesClassifier) and len(forest.estimators_) == 7


def test_classifier_options_are_keyword_only_and_validated() -> None:
    X, y, censored = _data(60, 5)
    n_positional = 12  # regressor ... target_transform
    with pytest.raises(TypeError):
        CensoredHurdleRegressor(*([None] * n_positional), 25)
    with pytest.raises(ValueError, match="classifier_trees"):
        CensoredHurdleRegressor(_regressor(), classifier_trees=0).fit(X, y, censored=censored)
    with pytest.raises(ValueError, match="calibrate_classifier"):
        CensoredHurdleRegressor(_regressor(), calibrate_classifier="yes").fit(
            X, y, censored=censored)
    with pytest.raises(ValueError, match=r"at least 5 .* got 3"):
        CensoredHurdleRegressor(_regressor(), classifier_trees=3,
                                calibrate_classifier=True).fit(X, y, censored=censored)


def test_models_saved_before_the_classifier_options_predict_the_same() -> None:
    """A state without the new attributes (an older model file) keeps its classifier."""
    X, y, censored = _data(120, 10)
    model = CensoredHurdleRegressor(_regressor(), n_jobs=1, classifier_trees=30)
    model.fit(X, y, censored=censored)
    state = model.__getstate__()
    del state["classifier_trees"], state["calibrate_classifier"]
    old = CensoredHurdleRegressor.__new__(CensoredHurdleRegressor)
    old.__setstate__(state)
    assert old.classifier_trees == 500 and old.calibrate_classifier is False
    for key, values in model.predict_uncertainty(X).items():
        np.testing.assert_array_equal(old.predict_uncertainty(X)[key], values)


def test_new_conductivity_hurdles_use_the_cheaper_calibrated_classifier() -> None:
    """``train``'s hurdle: five calibrated fold forests, BOUND_CLASSIFIER_TREES in all."""
    X, y, censored = _data(150, 11)
    hurdle = censored_hurdle(_regressor(), random_state=0, n_jobs=1)
    assert hurdle.classifier is None and hurdle.calibrate_classifier
    hurdle.fit(X, y, censored=censored)
    folds = hurdle.classifier_.calibrated_classifiers_
    assert sum(len(f.estimator[-1].estimators_) for f in folds) == BOUND_CLASSIFIER_TREES
