"""Tree ensembles that return a mean and a calibrated per-row uncertainty.

The spread of the trees' predictions measures how much the ensemble disagrees (epistemic
uncertainty); on its own it is badly scaled. As in Citrine's lolo, the spread is rescaled
with out-of-bag residuals: each training row is predicted by the trees that did not see
it, and the scale is chosen so that 68.3% of out-of-bag residuals fall within one scaled
standard deviation. Observation noise is kept apart: the out-of-bag residual variance not
explained by the tree spread. The total std is sqrt(spread**2 + noise**2), rescaled so that
68.3% of out-of-bag residuals fall within it.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.ensemble import ExtraTreesRegressor, RandomForestRegressor
from sklearn.utils.validation import check_is_fitted, validate_data

# The fraction of a normal distribution within one standard deviation of the mean.
ONE_SIGMA_COVERAGE = 0.6826894921370859


class UncertainForestRegressor(RegressorMixin, BaseEstimator):
    """Random forest or extra trees with calibrated per-row standard deviations.

    Args:
        n_estimators: number of trees.
        kind: ``"random_forest"`` or ``"extra_trees"`` (both bootstrap, so that every
            training row has out-of-bag trees for calibration).
        max_features: features tried per split (as in scikit-learn).
        min_samples_leaf: minimum rows per leaf.
        calibrate: rescale the tree spread with out-of-bag residuals.
        random_state: seed; the same seed and data give the same model.
        n_jobs: parallel jobs for fitting and prediction.

    ``predict(X, return_std=True)`` returns the mean and one standard deviation in target
    units. ``predict_components(X)`` returns the mean, the calibrated epistemic standard
    deviation and the estimated observation-noise standard deviation.
    """

    def __init__(
        self,
        n_estimators: int = 300,
        kind: Literal["random_forest", "extra_trees"] = "random_forest",
        max_features: float | str | None = 1.0,
        min_samples_leaf: int = 1,
        calibrate: bool = True,
        random_state: int | None = 0,
        n_jobs: int | None = None,
    ) -> None:
        self.n_estimators = n_estimators
        self.kind = kind
        self.max_features = max_features
        self.min_samples_leaf = min_samples_leaf
        self.calibrate = calibrate
        self.random_state = random_state
        self.n_jobs = n_jobs

    def fit(self, X, y) -> UncertainForestRegressor:
        X, y = validate_data(self, X, y, ensure_all_finite="allow-nan", y_numeric=True)
        forest_class = {"random_forest": RandomForestRegressor,
                        "extra_trees": ExtraTreesRegressor}.get(self.kind)
        if forest_class is None:
            raise ValueError(f"kind must be 'random_forest' or 'extra_trees', not {self.kind!r}")
        self.forest_ = forest_class(
            n_estimators=self.n_estimators,
            max_features=self.max_features,
            min_samples_leaf=self.min_samples_leaf,
            bootstrap=True,
            random_state=self.random_state,
            n_jobs=self.n_jobs,
        ).fit(X, y)
        self.uncertainty_scale_, self.noise_std_ = self._calibrate(X, y)
        return self

    def _calibrate(self, X: np.ndarray, y: np.ndarray) -> tuple[float, float]:
        """Out-of-bag calibration: (scale of the total std, observation-noise std)."""
        if not self.calibrate or len(y) < 10:
            return 1.0, 0.0
        per_tree = self._tree_predictions(X)
        in_bag = np.zeros_like(per_tree, dtype=bool)
        for t, samples in enumerate(self.forest_.estimators_samples_):
            in_bag[t, samples] = True
        usable = (~in_bag).sum(axis=0) >= 3
        if usable.sum() < 10:
            return 1.0, 0.0
        oob = np.where(in_bag, np.nan, per_tree)[:, usable]
        residual = np.abs(y[usable] - np.nanmean(oob, axis=0))
        spread = np.nanstd(oob, axis=0)
        # Residual variance the trees' disagreement does not explain is observation noise.
        noise = float(np.sqrt(max(np.mean(residual**2) - np.mean(spread**2), 0.0)))
        total = np.sqrt(spread**2 + noise**2)
        positive = total > 0
        if positive.sum() < 10:
            return 1.0, noise
        scale = float(np.quantile(residual[positive] / total[positive], ONE_SIGMA_COVERAGE))
        return (scale if np.isfinite(scale) and scale > 0 else 1.0), noise

    def _tree_predictions(self, X: np.ndarray) -> np.ndarray:
        # Trees split on float32 thresholds; converting once and calling the low-level tree
        # skips scikit-learn's per-tree input validation, two thirds of the time on big
        # batches. The result is identical to tree.predict(X).
        X32 = np.ascontiguousarray(X, dtype=np.float32)
        return np.stack([tree.tree_.predict(X32)[:, 0] for tree in self.forest_.estimators_])

    def predict(self, X, return_std: bool = False):
        mean, epistemic, noise = self._components(X)
        if not return_std:
            return mean
        return mean, np.sqrt(epistemic**2 + noise**2)

    def predict_components(self, X) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Mean, epistemic std (tree disagreement) and observation-noise std per row.

        Both stds carry the calibration scale, so that ``sqrt(epistemic**2 + noise**2)`` is
        the total std returned by ``predict(X, return_std=True)``.
        """
        return self._components(X)

    def _components(self, X) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        check_is_fitted(self, "forest_")
        X = validate_data(self, X, reset=False, ensure_all_finite="allow-nan")
        # Running sums instead of a (trees x rows) matrix keep memory flat on big batches.
        X32 = np.ascontiguousarray(X, dtype=np.float32)
        total = np.zeros(len(X32))
        total_sq = np.zeros(len(X32))
        for tree in self.forest_.estimators_:
            values = tree.tree_.predict(X32)[:, 0]
            total += values
            total_sq += values * values
        n = len(self.forest_.estimators_)
        mean = total / n
        spread = np.sqrt(np.maximum(total_sq / n - mean * mean, 0.0))
        scale = self.uncertainty_scale_
        return mean, scale * spread, np.full_like(mean, scale * self.noise_std_)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        return tags
