"""Tree ensembles with calibrated predictive uncertainty, split into epistemic and noise parts.

:class:`CalibratedTreesRegressor` wraps scikit-learn's extra trees or random forest and adds
what composition-property data need:

* missing descriptors (a featurizer that fails on a row gives NaN) are replaced by training
  medians;
* duplicates (rows with identical descriptors, i.e. one composition measured several
  times) can be averaged into one training row, so a much-repeated composition does not
  dominate the trees and the spread of its repeats is left to the noise term;
* the across-tree standard deviation is only a relative uncertainty. It is rescaled on
  held-out residuals, either out-of-bag (``calibration="oob"``, bootstrap forests, as
  Citrine's lolo does) or from an internal K-fold over the training rows
  (``calibration="cv"``, any forest), or from a K-fold that keeps clusters of similar
  compositions together (``calibration="cluster"``): data sets such as OBELiX come in
  series of doped variants from one paper, and a candidate from a new paper has no such
  near-twin in training, so random folds would make the intervals too narrow. The fitted
  variance model is
  ``total^2 = (scale * tree_std)^2 + noise^2``: ``epistemic = scale * tree_std`` shrinks
  with more data near a candidate, ``noise`` is the homoscedastic scatter of repeat
  measurements and model error that no amount of data removes.
"""

from __future__ import annotations

import math
from numbers import Integral
from typing import ClassVar

import numpy as np
from scipy import optimize
from sklearn.base import BaseEstimator, RegressorMixin, _fit_context, clone
from sklearn.cluster import KMeans
from sklearn.ensemble import ExtraTreesRegressor, RandomForestRegressor
from sklearn.impute import SimpleImputer
from sklearn.model_selection import GroupKFold, KFold
from sklearn.utils._param_validation import Interval, RealNotInt, StrOptions
from sklearn.utils.validation import _check_sample_weight, check_is_fitted, validate_data

KINDS = ("extra_trees", "random_forest")
_CALIBRATIONS = ("cv", "cluster", "oob", "none")


# The tree-ensemble parameters every forest estimator here validates the same way.
FOREST_CONSTRAINTS: dict[str, list] = {
    "kind": [StrOptions(set(KINDS))],
    "n_estimators": [Interval(Integral, 1, None, closed="left")],
    "max_features": [Interval(RealNotInt, 0.0, 1.0, closed="right"),
                     Interval(Integral, 1, None, closed="left"),
                     StrOptions({"sqrt", "log2"}), None],
    "min_samples_leaf": [Interval(Integral, 1, None, closed="left"),
                         Interval(RealNotInt, 0.0, 1.0, closed="neither")],
}


class CalibratedTreesRegressor(RegressorMixin, BaseEstimator):
    """Extra trees or random forest with calibrated Gaussian predictive uncertainty.

    Args:
        kind: ``extra_trees`` (default; better on small composition data sets) or
            ``random_forest``.
        n_estimators: number of trees.
        max_features: features tried per split (as in scikit-learn).
        min_samples_leaf: minimum rows per leaf.
        bootstrap: resample rows per tree; default: True for random forests, False for
            extra trees. ``calibration="oob"`` needs it.
        average_duplicates: average the targets of rows with identical descriptors before
            training (repeat measurements of one composition).
        calibration: ``cv`` (internal K-fold), ``cluster`` (internal K-fold over k-means
            clusters of the standardised descriptors), ``oob`` (out-of-bag) or ``none``
            (raw tree spread).
        cv: folds of the internal K-fold for ``calibration="cv"`` or ``"cluster"``.
        cluster_size: mean rows per k-means cluster for ``calibration="cluster"``.
        noise: fit a homoscedastic noise term beside the scaled tree spread.
        random_state: seed of the trees and folds.
        n_jobs: parallel jobs of the forest.

    Attributes (after ``fit``):
        forest_: the fitted forest; imputer_: the median imputer;
        scale_: multiplier of the across-tree std; noise_std_: the noise std;
        n_train_: training rows after averaging duplicates.
    """

    _parameter_constraints: ClassVar[dict] = {
        **FOREST_CONSTRAINTS,
        "bootstrap": ["boolean", None],
        "average_duplicates": ["boolean"],
        "calibration": [StrOptions(set(_CALIBRATIONS))],
        "cv": [Interval(Integral, 2, None, closed="left")],
        "cluster_size": [Interval(Integral, 1, None, closed="left")],
        "noise": ["boolean"],
        "random_state": ["random_state"],
        "n_jobs": [Integral, None],
    }

    def __init__(
        self,
        *,
        kind: str = "extra_trees",
        n_estimators: int = 500,
        max_features: float | str | None = 1.0,
        min_samples_leaf: int = 1,
        bootstrap: bool | None = None,
        average_duplicates: bool = True,
        calibration: str = "cv",
        cv: int = 5,
        cluster_size: int = 8,
        noise: bool = True,
        random_state: int | None = 0,
        n_jobs: int | None = None,
    ) -> None:
        self.kind = kind
        self.n_estimators = n_estimators
        self.max_features = max_features
        self.min_samples_leaf = min_samples_leaf
        self.bootstrap = bootstrap
        self.average_duplicates = average_duplicates
        self.calibration = calibration
        self.cv = cv
        self.cluster_size = cluster_size
        self.noise = noise
        self.random_state = random_state
        self.n_jobs = n_jobs

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X: np.ndarray, y: np.ndarray, sample_weight: np.ndarray | None = None):
        """Fit the forest, then the uncertainty calibration on held-out residuals."""
        self._check_params()
        X, y = validate_data(self, X, y, ensure_all_finite="allow-nan", y_numeric=True,
                             dtype=np.float64)
        if sample_weight is not None:
            sample_weight = _check_sample_weight(sample_weight, X)
        self.imputer_ = SimpleImputer(strategy="median", keep_empty_features=True).fit(X)
        Xi = self.imputer_.transform(X)
        if self.average_duplicates:
            Xi, y, sample_weight = _average_duplicates(Xi, y, sample_weight)
        self.n_train_ = len(y)
        self.forest_ = self._make_forest().fit(Xi, y, sample_weight=sample_weight)
        residual, spread = self._held_out(Xi, y, sample_weight)
        self.scale_, self.noise_std_ = fit_variance_model(residual, spread, self.noise)
        return self

    def predict(self, X: np.ndarray, return_std: bool = False):
        """Predicted mean; with ``return_std=True`` also the total predictive std."""
        parts = self.predict_uncertainty(X)
        return (parts["mean"], parts["uncertainty"]) if return_std else parts["mean"]

    def predict_uncertainty(self, X: np.ndarray) -> dict[str, np.ndarray]:
        """Mean, total std (``uncertainty``), and its ``epistemic`` and ``noise`` parts."""
        X = self._imputed(X)
        mean, spread = _running_mean_std(self.forest_, X)
        epistemic = self.scale_ * spread
        noise = np.full_like(mean, self.noise_std_)
        return {
            "mean": mean,
            "uncertainty": np.sqrt(epistemic**2 + noise**2),
            "epistemic": epistemic,
            "noise": noise,
        }

    def predict_trees(self, X: np.ndarray) -> np.ndarray:
        """Each tree's prediction, shape ``(n_estimators, n_rows)``: draws for Thompson sampling.

        Memory grows with trees x rows; use it on candidate pools, not on millions of rows.
        """
        X32 = np.ascontiguousarray(self._imputed(X), dtype=np.float32)
        return np.stack([tree.tree_.predict(X32)[:, 0] for tree in self.forest_.estimators_])

    def _imputed(self, X: np.ndarray) -> np.ndarray:
        check_is_fitted(self, "forest_")
        X = validate_data(self, X, reset=False, ensure_all_finite="allow-nan", dtype=np.float64)
        return self.imputer_.transform(X)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        return tags

    def _check_params(self) -> None:
        # Types and ranges are checked by _parameter_constraints; this is the one rule
        # that joins two parameters.
        if self.calibration == "oob" and not self._bootstrap():
            raise ValueError("calibration='oob' needs bootstrap=True")

    def _bootstrap(self) -> bool:
        return self.kind == "random_forest" if self.bootstrap is None else bool(self.bootstrap)

    def _make_forest(self) -> ExtraTreesRegressor | RandomForestRegressor:
        forest = ExtraTreesRegressor if self.kind == "extra_trees" else RandomForestRegressor
        return forest(
            n_estimators=self.n_estimators,
            max_features=self.max_features,
            min_samples_leaf=self.min_samples_leaf,
            bootstrap=self._bootstrap(),
            random_state=self.random_state,
            n_jobs=self.n_jobs,
        )

    def _held_out(
        self, X: np.ndarray, y: np.ndarray, sample_weight: np.ndarray | None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Residuals and tree spreads of predictions for rows a model did not train on."""
        if self.calibration == "none" or len(y) < 2 * max(self.cv, 2):
            return np.zeros(0), np.zeros(0)
        if self.calibration == "oob":
            mean, spread = _oob_mean_std(self.forest_, X)
            ok = np.isfinite(mean)
            return (y - mean)[ok], spread[ok]
        residual, spread = np.empty(len(y)), np.empty(len(y))
        for train, test in self._folds(X):
            weight = None if sample_weight is None else sample_weight[train]
            forest = clone(self.forest_).fit(X[train], y[train], sample_weight=weight)
            mean, spread[test] = _tree_mean_std(forest, X[test])
            residual[test] = y[test] - mean
        return residual, spread


    def _folds(self, X: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
        """Internal calibration folds: random, or whole k-means clusters of similar rows."""
        if self.calibration == "cv":
            return list(KFold(self.cv, shuffle=True, random_state=self.random_state).split(X))
        scale = X.std(axis=0)
        Z = (X - X.mean(axis=0)) / np.where(scale > 0, scale, 1.0)
        n_clusters = int(np.clip(len(X) // max(self.cluster_size, 1), self.cv, len(X)))
        labels = KMeans(n_clusters, n_init=3, random_state=self.random_state).fit_predict(Z)
        folds = GroupKFold(self.cv, shuffle=True, random_state=self.random_state)
        return list(folds.split(X, groups=labels))


def fit_variance_model(
    residual: np.ndarray, spread: np.ndarray, noise: bool = True
) -> tuple[float, float]:
    """Fit ``residual ~ N(0, (scale * spread)^2 + noise^2)`` by maximum likelihood.

    Returns ``(scale, noise_std)``; with ``noise=False`` the noise is 0 and the scale has
    the closed form ``sqrt(mean(residual^2 / spread^2))``. Without residuals the raw spread
    is kept (scale 1, no noise).
    """
    residual, spread = np.asarray(residual, float), np.maximum(np.asarray(spread, float), 1e-9)
    if len(residual) == 0:
        return 1.0, 0.0
    if not noise:
        return float(np.sqrt(np.mean((residual / spread) ** 2))), 0.0

    def negative_log_likelihood(log_params: np.ndarray) -> float:
        scale, noise_std = np.exp(log_params)
        variance = (scale * spread) ** 2 + noise_std**2
        return float(np.sum(np.log(variance) + residual**2 / variance))

    start = np.log([1.0, max(float(np.std(residual)) / 2, 1e-3)])
    best = optimize.minimize(negative_log_likelihood, start, method="Nelder-Mead")
    scale, noise_std = np.exp(best.x)
    if not math.isfinite(scale) or not math.isfinite(noise_std):
        return float(np.sqrt(np.mean((residual / spread) ** 2))), 0.0
    return float(scale), float(noise_std)


def _running_mean_std(forest, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean and std over the trees with running sums, so memory stays flat on big batches.

    Trees split on float32 thresholds; converting once and calling the low-level tree skips
    scikit-learn's per-tree input validation. Each tree's output equals ``tree.predict(X)``.
    """
    X32 = np.ascontiguousarray(X, dtype=np.float32)
    total, total_sq = np.zeros(len(X32)), np.zeros(len(X32))
    for tree in forest.estimators_:
        values = tree.tree_.predict(X32)[:, 0]
        total += values
        total_sq += values * values
    n = len(forest.estimators_)
    mean = total / n
    return mean, np.sqrt(np.maximum(total_sq / n - mean * mean, 0.0))


def _tree_predictions(forest, X: np.ndarray) -> np.ndarray:
    return np.stack([tree.predict(X) for tree in forest.estimators_])


def _tree_mean_std(forest, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    per_tree = _tree_predictions(forest, X)
    return per_tree.mean(axis=0), per_tree.std(axis=0)


def _oob_mean_std(forest, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean and std over the trees that did not see each training row (NaN if none)."""
    per_tree = _tree_predictions(forest, X)
    out_of_bag = np.ones_like(per_tree, dtype=bool)
    for t, rows in enumerate(forest.estimators_samples_):
        out_of_bag[t, rows] = False
    counts = out_of_bag.sum(axis=0)
    masked = np.where(out_of_bag, per_tree, np.nan)
    with np.errstate(invalid="ignore"):
        mean = np.where(counts > 0, np.nanmean(np.where(counts > 0, masked, 0.0), axis=0), np.nan)
        spread = np.where(counts > 1, np.nanstd(np.where(counts > 0, masked, 0.0), axis=0), 0.0)
    return mean, spread


def _average_duplicates(
    X: np.ndarray, y: np.ndarray, sample_weight: np.ndarray | None
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """Collapse rows with identical descriptors to one row with the (weighted) mean target."""
    unique, first, inverse = np.unique(X, axis=0, return_index=True, return_inverse=True)
    if len(unique) == len(X):
        return X, y, sample_weight
    inverse = inverse.ravel()
    weight = np.ones(len(y)) if sample_weight is None else np.asarray(sample_weight, float)
    total = np.bincount(inverse, weights=weight)
    mean = np.bincount(inverse, weights=weight * y) / total
    # Keep the first occurrence's order so results do not depend on np.unique's sorting.
    order = np.argsort(first)
    new_weight = None if sample_weight is None else total[order]
    return unique[order], mean[order], new_weight
