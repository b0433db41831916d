"""scikit-learn's estimator checks and metadata routing for the model wrappers."""

from __future__ import annotations

import numpy as np
import pytest
from censored_strategies import CensoredRegressor
from sklearn import config_context
from sklearn.ensemble import ExtraTreesClassifier
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LinearRegression, Ridge
from sklearn.pipeline import make_pipeline
from sklearn.utils.estimator_checks import parametrize_with_checks

from matgenome.domain import DomainModel
from matgenome.evaluation import fit_model, uncertainty_metrics
from matgenome.models.calibrated import CalibratedTreesRegressor
from matgenome.models.censored import CensoredHurdleRegressor
from matgenome.models.classify import PriorBalancedClassifier
from matgenome.models.fallback import DistanceFallbackRegressor

ESTIMATORS = [
    PriorBalancedClassifier(ExtraTreesClassifier(n_estimators=10, random_state=0)),
    CensoredHurdleRegressor(CalibratedTreesRegressor(n_estimators=10),
                            ExtraTreesClassifier(n_estimators=10, random_state=0),
                            floor="min", target_transform="sqrt"),
    CensoredRegressor(CalibratedTreesRegressor(n_estimators=10)),
    CensoredRegressor(CalibratedTreesRegressor(n_estimators=10), strategy="tobit"),
    CensoredHurdleRegressor(CalibratedTreesRegressor(n_estimators=10)),
    DistanceFallbackRegressor(CalibratedTreesRegressor(n_estimators=10), inner_trees=10),
]


@parametrize_with_checks(ESTIMATORS)
def test_sklearn_estimator_checks(estimator, check) -> None:
    check(estimator)


def _bounded_line(seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = rng.uniform(0, 1, size=(120, 3))
    y = 4 * X[:, 0] + rng.normal(0, 0.2, size=120)
    censored = y < 0.8
    return X, np.where(censored, 0.8, y), censored


def test_censored_mask_is_routed_through_a_pipeline() -> None:
    X, y, censored = _bounded_line()
    pipeline = make_pipeline(SimpleImputer(), CensoredRegressor(
        CalibratedTreesRegressor(n_estimators=10, random_state=0), strategy="offset"))
    with config_context(enable_metadata_routing=True):
        pipeline.fit(X, y, censored=censored)
    # Only a routed mask makes the wrapper impute the bound rows.
    np.testing.assert_allclose(pipeline[-1].imputed_targets_, y[censored] - 1.0)


@pytest.mark.parametrize("wrapped", [False, True])
def test_fit_model_hands_bounds_only_to_models_that_request_them(wrapped: bool) -> None:
    X, y, censored = _bounded_line(1)
    censoring = CensoredRegressor(CalibratedTreesRegressor(n_estimators=10, random_state=0),
                                  strategy="bound")
    model = make_pipeline(SimpleImputer(), censoring) if wrapped else censoring
    fitted = fit_model(model, X, y, np.where(censored, "<", ""))
    last = fitted[-1] if wrapped else fitted
    assert len(last.imputed_targets_) == censored.sum()
    plain = fit_model(Ridge(), X, y, np.where(censored, "<", ""))
    # Without a request the bound rows are left out rather than read as measurements.
    np.testing.assert_allclose(plain.coef_, Ridge().fit(X[~censored], y[~censored]).coef_)


def test_prior_balanced_classifier_handles_more_than_two_classes() -> None:
    rng = np.random.default_rng(2)
    X = rng.normal(size=(300, 2))
    y = np.where(X[:, 0] > 1.0, "a", np.where(X[:, 1] > 0, "b", "c"))
    model = PriorBalancedClassifier(ExtraTreesClassifier(n_estimators=20, random_state=0))
    X_new = rng.normal(size=(300, 2))
    proba = model.fit(X, y).predict_proba(X_new)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    assert set(model.predict(X_new)) <= {"a", "b", "c"}
    # The rare class gains probability when rebalanced to equal priors.
    raw = model.estimator_.predict_proba(X_new)
    rare = list(model.classes_).index("a")
    assert proba[:, rare].mean() > raw[:, rare].mean()


@parametrize_with_checks([DomainModel(n_neighbors=3)])
def test_domain_model_follows_the_estimator_contract(estimator, check) -> None:
    check(estimator)


def test_domain_model_takes_formulas_by_metadata_routing() -> None:
    rng = np.random.default_rng(3)
    X = rng.normal(size=(30, 4))
    formulas = ["Li2O", "Li3N", "LiCl"] * 10
    with config_context(enable_metadata_routing=True):
        pipeline = make_pipeline(SimpleImputer(), DomainModel(n_neighbors=3))
        pipeline.fit(X, formulas=formulas)
    assert pipeline[-1].elements_ == ["Cl", "Li", "N", "O"]


# ------------------------------------------------------------ estimators used by evaluation


def test_censored_regressor_strategies_place_bounds_as_documented() -> None:
    X = np.linspace(0, 1, 40).reshape(-1, 1)
    y = 2 * X.ravel()
    censored = np.zeros(40, bool)
    censored[:5] = True
    y[:5] = -10.0  # bounds far below the trend
    expected = {"bound": -10.0, "offset": -11.0}
    for strategy, value in expected.items():
        model = CensoredRegressor(LinearRegression(), strategy=strategy, offset=1.0)
        model.fit(X, y, censored=censored)
        assert np.allclose(model.imputed_targets_, value)
    iterative = CensoredRegressor(LinearRegression(), strategy="iterative").fit(X, y, censored)
    assert np.all(iterative.imputed_targets_ <= -10.0)
    tobit = CensoredRegressor(LinearRegression(), strategy="tobit", noise_std=1.0)
    tobit.fit(X, y, censored)
    assert np.all(tobit.imputed_targets_ < -10.0)  # E[Y | Y < b] lies below b
    dropped = CensoredRegressor(LinearRegression()).fit(X, y, censored)
    assert dropped.estimator_.coef_[0] == pytest.approx(2.0)


def test_calibrated_trees_cover_held_out_rows_and_split_uncertainty() -> None:
    from sklearn.base import clone

    from matgenome.models.calibrated import fit_variance_model

    rng = np.random.default_rng(1)
    X = rng.uniform(-2, 2, size=(400, 3))
    y = np.sin(X[:, 0]) * 2 + rng.normal(0, 0.4, 400)
    model = CalibratedTreesRegressor(n_estimators=60, calibration="cv", random_state=0)
    clone(model).get_params()
    model.fit(X[:300], y[:300])
    parts = model.predict_uncertainty(X[300:])
    assert np.allclose(parts["uncertainty"] ** 2, parts["epistemic"] ** 2 + parts["noise"] ** 2)
    scores = uncertainty_metrics(y[300:], parts["mean"], parts["uncertainty"])
    assert 0.55 <= scores["coverage_68"] <= 0.85
    assert 0.25 <= model.noise_std_ <= 0.6
    # Residuals drawn with std 0.5 everywhere: the fit puts it all in the noise term.
    residual = np.random.default_rng(2).normal(0, 0.5, 5000)
    scale, noise = fit_variance_model(residual, np.full(5000, 0.1))
    assert np.hypot(scale * 0.1, noise) == pytest.approx(0.5, rel=0.05)


def test_floor_hurdle_predicts_the_floor_for_the_floor_class() -> None:
    from sklearn.tree import DecisionTreeClassifier

    X = np.arange(40, dtype=float).reshape(-1, 1)
    y = np.where(X.ravel() < 20, 0.0, X.ravel() / 4)
    trees = CalibratedTreesRegressor(kind="random_forest", n_estimators=5, max_features=1.0,
                                     calibration="none", noise=False, random_state=0)
    for transform in (None, "sqrt", "log"):
        model = CensoredHurdleRegressor(trees, DecisionTreeClassifier(), floor="min",
                                        target_transform=transform).fit(X, y)
        predicted = model.predict(X)
        np.testing.assert_allclose(predicted[:20], 0.0)
        # Above the floor, in the original units (the trees learned a transformed height).
        np.testing.assert_allclose(predicted[20:], y[20:], rtol=0.15)
    # A floor given as a number, with the target shifted: the floor class is predicted there.
    shifted = CensoredHurdleRegressor(trees, DecisionTreeClassifier(), floor=1.0,
                                      target_transform="sqrt").fit(X, y + 1)
    np.testing.assert_allclose(shifted.predict(X)[:20], 1.0)
    # A constant target: the constant everywhere, no classifier.
    flat = CensoredHurdleRegressor(trees, DecisionTreeClassifier(), floor="min").fit(X, 0 * y)
    assert flat.classifier_ is None
    np.testing.assert_allclose(flat.predict(X), 0.0)


def test_prior_balanced_classifier_moves_threshold_to_the_prior() -> None:
    from sklearn.dummy import DummyClassifier

    X = np.zeros((10, 1))
    y = np.array([1] * 7 + [0] * 3)
    model = PriorBalancedClassifier(DummyClassifier(strategy="prior")).fit(X, y)
    # p = 0.7 equals the prior of class 1, so it maps to exactly 0.5.
    assert model.predict_proba(X[:1])[0, 1] == pytest.approx(0.5)
    assert model.predict(X[:1])[0] == 1


def test_estimator_parameters_are_keyword_only_and_validated_the_scikit_learn_way():
    from sklearn.utils._param_validation import InvalidParameterError

    from matgenome.models.probability import ProbabilityClassifier

    for cls in (DomainModel, ProbabilityClassifier):
        with pytest.raises(TypeError):
            cls(3)
        assert cls._parameter_constraints.keys() == cls().get_params().keys()
    X = np.random.default_rng(0).normal(size=(20, 3))
    with pytest.raises(InvalidParameterError, match="n_neighbors"):
        DomainModel(n_neighbors=0).fit(X)
    with pytest.raises(InvalidParameterError, match="calibration"):
        ProbabilityClassifier(calibration="platt").fit(X, np.arange(20) % 2)
