"""The distance fallback: far from the training data a prediction falls back to the prior."""

from __future__ import annotations

import math

import numpy as np
import pytest
from sklearn.base import clone

from matgenome.models.calibrated import CalibratedTreesRegressor
from matgenome.models.censored import CensoredHurdleRegressor
from matgenome.models.fallback import DistanceFallbackRegressor


def _clusters(seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Five well-separated clusters; inside each the target follows its own line, and the
    clusters' levels are unrelated, so a cluster held out is not predictable from the rest."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(0, 8, size=(5, 4))
    levels = np.array([-6.0, 2.0, -1.0, 5.0, -3.0])
    X = np.concatenate([c + rng.normal(0, 1, size=(40, 4)) for c in centres])
    cluster = np.repeat(np.arange(5), 40)
    y = levels[cluster] + 0.8 * X[:, 0] - 0.8 * centres[cluster, 0] \
        + rng.normal(0, 0.3, size=len(X))
    return X, y


def _model(**options) -> DistanceFallbackRegressor:
    trees = CalibratedTreesRegressor(n_estimators=60, max_features=1.0, random_state=0)
    return DistanceFallbackRegressor(trees, inner_trees=30, random_state=0, **options)


def test_far_rows_fall_back_to_the_prior_and_widen() -> None:
    X, y = _clusters()
    model = _model(near_tolerance=1.0).fit(X, y)
    near = model.predict_uncertainty(X[:40])
    far_X = X[:40] + 60.0  # far outside every cluster
    far = model.predict_uncertainty(far_X)
    plain = model.regressor_.predict_uncertainty(far_X)
    assert not math.isinf(model.coefficients_[0])
    # Far from the data the prediction moves towards the training median, and its interval
    # and epistemic part grow; near the data the model keeps its share.
    assert np.all(np.abs(far["mean"] - model.center_)
                  <= np.abs(plain["mean"] - model.center_) + 1e-12)
    assert far["model_weight"].mean() < near["model_weight"].mean()
    assert far["uncertainty"].mean() > near["uncertainty"].mean()
    assert far["epistemic"].mean() > near["epistemic"].mean()
    np.testing.assert_allclose(far["uncertainty"] ** 2,
                               far["epistemic"] ** 2 + far["noise"] ** 2, rtol=1e-9)
    # The relation was fitted on held-out rows of the training data and recorded.
    card = model.describe()
    assert card["held_out"]["mae_fallback"] <= card["held_out"]["mae_model"] + 1e-12
    assert card["center"] == pytest.approx(np.median(y))


def test_training_rows_keep_the_model_prediction() -> None:
    X, y = _clusters(1)
    model = _model().fit(X, y)
    blended = model.predict_uncertainty(X)
    plain = model.regressor_.predict_uncertainty(X)
    # At distance 0 with a small tree spread the weight is (nearly) one.
    assert np.median(blended["model_weight"]) > 0.9
    assert np.median(np.abs(blended["mean"] - plain["mean"])) < 0.1


def test_never_falling_back_is_the_model_itself() -> None:
    X, y = _clusters(2)
    model = _model().fit(X, y)
    model.coefficients_ = (math.inf, 0.0, 0.0)
    model.model_scale_ = model.prior_scale_ = 1.0
    parts = model.predict_uncertainty(X[:20] + 30)
    plain = model.regressor_.predict_uncertainty(X[:20] + 30)
    np.testing.assert_allclose(parts["mean"], plain["mean"], rtol=1e-12)
    np.testing.assert_allclose(parts["uncertainty"], plain["uncertainty"], rtol=1e-12)
    np.testing.assert_allclose(model.predict_trees(X[:5]), model.regressor_.predict_trees(X[:5]))


def test_near_tolerance_bounds_the_near_data_cost() -> None:
    X, y = _clusters(3)
    model = _model(near_tolerance=0.0).fit(X, y)
    held = model.cv_
    assert held["rows"] > len(y)  # every row is held out once per fold scheme
    # With no tolerance the fit may not raise the near-data error at all: any fallback it
    # chose must not cost the grouped folds anything, so overall it cannot lose either.
    assert held["mae_fallback"] <= held["mae_model"] + 1e-9


def test_bound_probability_falls_back_to_the_training_share() -> None:
    X, y = _clusters(4)
    censored = y < -6.5
    y = np.where(censored, -6.5, y)
    hurdle = CensoredHurdleRegressor(CalibratedTreesRegressor(n_estimators=40, random_state=0),
                                     random_state=0)
    model = DistanceFallbackRegressor(hurdle, inner_trees=30, near_tolerance=1.0,
                                      random_state=0).fit(X, y, censored=censored)
    assert model.p_prior_ == pytest.approx(censored.mean())
    far_X = X[:10] + 80.0
    parts = model.predict_uncertainty(far_X)
    w = parts["model_weight"]
    raw = model.regressor_.predict_proba_censored(far_X)
    np.testing.assert_allclose(parts["p_censored"], w * raw + (1 - w) * model.p_prior_,
                               rtol=1e-12)
    np.testing.assert_allclose(model.predict_proba_censored(far_X), parts["p_censored"],
                               rtol=1e-12)


def test_tree_draws_blend_with_prior_draws_reproducibly() -> None:
    X, y = _clusters(5)
    model = _model(near_tolerance=1.0).fit(X, y)
    far_X = X[:8] + 60.0
    draws = model.predict_trees(far_X)
    assert draws.shape == (60, 8)
    np.testing.assert_array_equal(draws, clone(model).set_params().fit(X, y)
                                  .predict_trees(far_X))
    # Far rows spread like the prior, not like trees that agree about an extrapolation.
    assert draws.std(axis=0).mean() > model.regressor_.predict_trees(far_X).std(axis=0).mean()


def test_wrapper_without_trees_or_bounds_hides_their_methods() -> None:
    from sklearn.linear_model import BayesianRidge

    class Linear(BayesianRidge):
        def predict_uncertainty(self, X):
            mean, sd = self.predict(X, return_std=True)
            return {"mean": mean, "uncertainty": sd, "epistemic": sd,
                    "noise": np.zeros_like(sd)}

    X, y = _clusters(6)
    model = DistanceFallbackRegressor(Linear()).fit(X, y)
    assert not hasattr(model, "predict_trees")
    assert not hasattr(model, "predict_proba_censored")
    assert model.predict(X[:3]).shape == (3,)


@pytest.mark.parametrize("options, message", [
    ({"signals": "colour"}, "signals must be one of"),
    ({"near_tolerance": -1.0}, "near_tolerance must be >= 0"),
])
def test_invalid_options_are_refused(options, message) -> None:
    X, y = _clusters(7)
    with pytest.raises(ValueError, match=message):
        _model(**options).fit(X, y)


def test_small_tables_keep_the_model() -> None:
    X, y = _clusters(8)
    model = _model().fit(X[:20], y[:20])
    assert math.isinf(model.coefficients_[0])
    np.testing.assert_allclose(model.predict(X[:5]), model.regressor_.predict(X[:5]))


def test_shipped_model_reuses_the_fallback_distances_for_its_domain() -> None:
    from matgenome.features import compute_features
    from matgenome.modelfile import load_model
    from matgenome.models import _shared_distance, predict_parts

    model = load_model()
    formulas = ["Li6PS5Cl", "LiFePO4", "Li2O", "NaCl", "LiBH4", "Li7La3Zr2O12"]
    X, _ = compute_features(formulas, preset=model.estimator[0].preset)
    regressor = model.estimator[-1]
    parts = predict_parts(regressor, X)
    shared = _shared_distance(regressor, model.domain, np.ones(len(X), bool), parts)
    assert shared is not None  # fitted on the same rows: the distances are shared
    np.testing.assert_allclose(shared, model.domain.distance(X), rtol=0, atol=1e-12)
    prediction = model.predict(formulas)
    np.testing.assert_allclose(prediction.domain_distance, model.domain.distance(X),
                               rtol=0, atol=1e-12)


def test_interval_only_keeps_the_prediction_and_widens_far_intervals() -> None:
    X, y = _clusters(9)
    model = _model(shift_mean=False, near_tolerance=1.0).fit(X, y)
    far_X = X[:20] + 60.0
    parts = model.predict_uncertainty(far_X)
    plain = model.regressor_.predict_uncertainty(far_X)
    np.testing.assert_array_equal(parts["mean"], plain["mean"])
    assert np.all(parts["uncertainty"] > plain["uncertainty"])
    # The interval is the mixture's root mean square deviation from the model's mean.
    w = parts["model_weight"]
    expected = (w * (model.model_scale_ * plain["uncertainty"]) ** 2
                + (1 - w) * ((model.prior_scale_ * model.spread_) ** 2
                             + (plain["mean"] - model.center_) ** 2))
    np.testing.assert_allclose(parts["uncertainty"] ** 2, expected, rtol=1e-9)
    draws = model.predict_trees(far_X)
    # Tree draws keep the model's centre on average and take the wider spread.
    assert abs(float(np.mean(draws.mean(axis=0) - plain["mean"]))) < 0.5 * model.spread_
    assert draws.std(axis=0).mean() > model.regressor_.predict_trees(far_X).std(axis=0).mean()
    assert model.describe()["moves"] == "interval only"
