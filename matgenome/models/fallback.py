"""Predictions that fall back to what is known far from the training data.

A tree ensemble extrapolates badly: for a composition unlike every training row it returns
the value of whatever leaves the row happens to reach, often with an ordinary interval. On
OBELiX with one k-means cluster of compositions held out, such predictions are several
times worse than predicting the training median (``benchmarks/evaluate_far.py``).

:class:`DistanceFallbackRegressor` wraps a regressor with ``predict_uncertainty`` (such as
:class:`~matgenome.models.calibrated.CalibratedTreesRegressor` or
:class:`~matgenome.models.censored.CensoredHurdleRegressor`) and blends its predictive
distribution with a prior, the training distribution (median ``center_``, standard
deviation ``spread_``), by a weight that falls as the model becomes unsure::

    w        = expit(b0 + b1 d + b2 log(e / spread_))
    mean     = w m + (1 - w) center_
    variance = w (model_scale_ s)^2 + (1 - w) (prior_scale_ spread_)^2
               + w (1 - w) (m - center_)^2

``d`` is the applicability-domain distance (:class:`matgenome.domain.DomainModel`, on its
bounded 0-1 scale: 0 on a training composition, 0.5 at the 95th percentile of the training
rows' own neighbour distances), ``e`` the wrapped model's epistemic std (the scaled tree
disagreement), ``m`` and ``s`` its mean and total std. With ``signals="spread"`` the weight
reads ``e`` alone (``b1 = 0``). Rows at ``d <= near_distance`` (by default 0: training
compositions however written) keep the model's prediction and interval exactly (``w =
1``). The variance is that of the two-component mixture, so the interval widens as the
weight falls and with the disagreement between the model and the prior. The probability
of lying below a bound (``p_censored`` of a censored-target model) is blended the same way
towards the training share of bound-only rows.

The relation is fitted on held-out predictions **inside the training rows only**: the
measured rows are split twice, into leave-one-cluster-out folds (``n_clusters`` k-means
clusters of standardised descriptors: far from the data) and into grouped K-fold
(``groups`` such as papers when given, else folds of distinct compositions: near the
data). Each fold trains a smaller copy of the wrapped model's trees (``inner_trees``) and
records, for every held-out row, its prediction, std, epistemic std, distance to the
fold's training rows and the fold's training median and spread. ``coefficients_`` are the
grid values with the lowest error on the far folds among those that raise the error on the
near folds by at most ``near_tolerance`` (relative); "never fall back" is among them, so
the wrapper cannot lose to its model on these folds. ``model_scale_`` and ``prior_scale_``
then maximise the Gaussian likelihood of all held-out residuals, and ``cv_`` records the
held-out errors with and without the fallback. The default options were chosen inside
OBELiX's official training split by ``benchmarks/select_fallback.py``
(``benchmarks/results/select_fallback.json``).
"""

from __future__ import annotations

import math
from typing import Any, ClassVar

import numpy as np
from scipy import optimize, special
from sklearn.base import BaseEstimator, RegressorMixin, clone
from sklearn.cluster import KMeans
from sklearn.model_selection import GroupKFold
from sklearn.pipeline import Pipeline
from sklearn.utils.metaestimators import available_if
from sklearn.utils.validation import check_is_fitted, validate_data

from matgenome.domain import DomainModel
from matgenome.models.calibrated import CalibratedTreesRegressor

# The grid of the weight's coefficients: w = expit(b0 + b1 * d + b2 * log(epistemic /
# spread)). b1 and b2 are never positive (farther or more uncertain never earns more trust).
DISTANCE_SLOPES = (0.0, -5.0, -10.0, -20.0, -40.0)
SPREAD_SLOPES = (0.0, -1.0, -2.0, -4.0, -8.0, -16.0)
INTERCEPTS = tuple(np.linspace(-6.0, 20.0, 53))
SIGNALS = ("spread", "distance+spread")
# Fewer measured rows than this cannot be split into meaningful folds: no fallback.
MIN_ROWS = 30


def _wraps(method: str):
    """``available_if`` check: the wrapped regressor has ``method``."""
    def check(self: DistanceFallbackRegressor) -> bool:
        inner = getattr(self, "regressor_", None) or self.regressor
        return hasattr(inner, method)
    return check


class DistanceFallbackRegressor(RegressorMixin, BaseEstimator):
    """A regressor whose predictions fall back to the training distribution far from its data.

    Args:
        regressor: the wrapped model (cloned), with ``predict_uncertainty``; default:
            :class:`CalibratedTreesRegressor` with its defaults.
        shift_mean: move the prediction towards the prior (True) or keep the model's
            prediction and only widen its interval to the mixture's spread about it.
        signals: what the weight reads: ``distance+spread`` (default) or ``spread``.
        near_tolerance: relative rise of the near-data held-out error the fit may accept
            for the gain far from the data.
        near_distance: rows at or below this domain distance keep the model's prediction
            and interval unchanged (0, the default: only training compositions; 0.5, the
            domain model's "far" threshold, lost on ``benchmarks/select_fallback.py``).
        n_clusters: k-means clusters of the leave-one-cluster-out folds.
        n_splits: folds of the grouped (near-data) K-fold.
        inner_trees: trees of the fold models (the wrapped model's tree settings otherwise).
        random_state: seed of the clustering, the folds and the fold models.
        n_jobs: parallel jobs of the fold models.

    Attributes (after ``fit``):
        regressor_: the wrapped model fitted on all rows; distance_: the
        :class:`~matgenome.domain.DomainModel` that measures ``d``; center_, spread_:
        median and standard deviation of the measured training targets; p_prior_: share
        of bound-only rows; midpoint_, width_, model_scale_, prior_scale_: the fitted
        relation (``midpoint_`` is infinite when falling back never helped); cv_: held-out
        errors with and without the fallback.
    """

    # Bounds go to a censored-target model; groups (papers) make the near-data folds honest.
    __metadata_request__fit: ClassVar[dict[str, bool]] = {"censored": True, "groups": True}

    def __init__(self, regressor: BaseEstimator | None = None, *,
                 shift_mean: bool = True, signals: str = "distance+spread",
                 near_tolerance: float = 0.03,
                 near_distance: float = 0.0, n_clusters: int = 5, n_splits: int = 5,
                 inner_trees: int = 100, random_state: int | None = 0,
                 n_jobs: int | None = None) -> None:
        self.regressor = regressor
        self.shift_mean = shift_mean
        self.signals = signals
        self.near_tolerance = near_tolerance
        self.near_distance = near_distance
        self.n_clusters = n_clusters
        self.n_splits = n_splits
        self.inner_trees = inner_trees
        self.random_state = random_state
        self.n_jobs = n_jobs

    def fit(self, X: np.ndarray, y: np.ndarray, censored: np.ndarray | None = None,
            groups: Any = None) -> DistanceFallbackRegressor:
        """Fit the wrapped model on every row, then the fallback on held-out measured rows."""
        if self.signals not in SIGNALS:
            raise ValueError(f"signals must be one of {SIGNALS}, got {self.signals!r}")
        if not self.near_tolerance >= 0:
            raise ValueError(f"near_tolerance must be >= 0, got {self.near_tolerance!r}")
        X, y = validate_data(self, X, y, ensure_all_finite="allow-nan", y_numeric=True,
                             dtype=np.float64)
        bound = np.zeros(len(y), bool) if censored is None else np.asarray(censored, bool)
        if bound.shape != y.shape:
            raise ValueError(f"censored has shape {bound.shape}, expected {y.shape}")
        base = self.regressor if self.regressor is not None else CalibratedTreesRegressor()
        self.regressor_ = clone(base)
        if bound.any():
            self.regressor_.fit(X, y, censored=bound)
        else:
            self.regressor_.fit(X, y)
        exact = ~bound
        self.center_ = float(np.median(y[exact]))
        self.spread_ = float(np.std(y[exact]))
        self.p_prior_ = float(bound.mean())
        level = getattr(self.regressor_, "level_", None)
        if getattr(self.regressor_, "floor", None) is not None and level is not None:
            # A zero-inflated hurdle's "below" class is the rows at its floor.
            self.p_prior_ = float(np.mean(y <= level + 1e-9 * max(1.0, abs(level))))
        self.distance_ = DomainModel(mobile_ion=None, check_elements=False).fit(X)
        held_out = self._held_out(X[exact], y[exact], _subset(groups, exact))
        self._fit_relation(held_out)
        return self

    def weight(self, distance: np.ndarray, epistemic: np.ndarray) -> np.ndarray:
        """The model's share of each prediction (1: the model's, 0: the prior's)."""
        check_is_fitted(self, "coefficients_")
        return _weight(self.coefficients_, np.asarray(distance, float),
                       _relative(epistemic, self.spread_), self.near_distance)

    def _weights(self, X: np.ndarray, parts: dict[str, np.ndarray]) -> np.ndarray:
        return self.weight(self.distance_.distance(X), np.asarray(parts["epistemic"], float))

    def predict(self, X: np.ndarray, return_std: bool = False):
        """Blended mean; with ``return_std=True`` also the total predictive std."""
        parts = self.predict_uncertainty(X)
        return (parts["mean"], parts["uncertainty"]) if return_std else parts["mean"]

    def predict_uncertainty(self, X: np.ndarray) -> dict[str, np.ndarray]:
        """Mean, total std, its ``epistemic`` and ``noise`` parts, ``model_weight`` and the
        ``domain_distance`` the weight read.

        Also ``p_censored`` when the wrapped model gives it, blended towards ``p_prior_``.
        """
        X = self._validated(X)
        parts = self.regressor_.predict_uncertainty(X)
        distance = self.distance_.distance(X)
        w = self.weight(distance, np.asarray(parts["epistemic"], float))
        near = distance <= self.near_distance
        mean, variance = self._blend(w, np.asarray(parts["mean"], float),
                                     np.asarray(parts["uncertainty"], float), near)
        # In the domain the model's own parts are kept as they are.
        scale = np.where(near, 1.0, self.model_scale_)
        noise = np.minimum(scale * np.asarray(parts["noise"], float), np.sqrt(variance))
        out = {"mean": mean, "uncertainty": np.sqrt(variance),
               "epistemic": np.sqrt(np.maximum(variance - noise**2, 0.0)), "noise": noise,
               "model_weight": w, "domain_distance": distance}
        if "p_censored" in parts:
            out["p_censored"] = w * np.asarray(parts["p_censored"], float) \
                + (1 - w) * self.p_prior_
        return out

    @available_if(_wraps("predict_proba_censored"))
    def predict_proba_censored(self, X: np.ndarray) -> np.ndarray:
        """Probability of lying below the bound, blended towards the training share."""
        X = self._validated(X)
        w = self._weights(X, self.regressor_.predict_uncertainty(X))
        return w * self.regressor_.predict_proba_censored(X) + (1 - w) * self.p_prior_

    @available_if(_wraps("predict_trees"))
    def predict_trees(self, X: np.ndarray) -> np.ndarray:
        """Posterior draws ``(n_trees, n_rows)``: each tree's value with a prior draw mixed in.

        With ``shift_mean``, draw ``t`` of a row is ``w * tree_t + (1 - w) * (center_ +
        prior_scale_ * spread_ * z_t)``; without it ``tree_t + sqrt(1 - w) * r * z_t``, with
        ``r**2`` the prior's mean squared deviation from the model's mean, so the draws keep
        the model's centre and take the interval's extra width. ``z`` is standard normal,
        seeded by ``random_state``: sampling explores a far composition as widely as the
        prior allows instead of trusting trees that never saw anything like it.
        """
        X = self._validated(X)
        trees = np.asarray(self.regressor_.predict_trees(X), float)
        parts = self.regressor_.predict_uncertainty(X)
        w = self._weights(X, parts)
        if not np.any(w < 1):
            return trees
        z = np.random.default_rng(self.random_state).standard_normal(trees.shape)
        if self.shift_mean:
            return w * trees + (1 - w) * (self.center_ + self.prior_scale_ * self.spread_ * z)
        deviation = np.sqrt((self.prior_scale_ * self.spread_) ** 2
                            + (np.asarray(parts["mean"], float) - self.center_) ** 2)
        return trees + np.sqrt(1 - w) * deviation * z

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        return tags

    def _validated(self, X: np.ndarray) -> np.ndarray:
        check_is_fitted(self, "regressor_")
        return validate_data(self, X, reset=False, ensure_all_finite="allow-nan",
                             dtype=np.float64)

    def _blend(self, w: np.ndarray, mean: np.ndarray, sd: np.ndarray, near: np.ndarray,
               model_scale: float | None = None, prior_scale: float | None = None,
               center: float | np.ndarray | None = None,
               spread: float | np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Mean and variance; rows in the domain (``near``) keep the model's std.

        With ``shift_mean`` the mixture's mean and variance; without it the model's mean
        and the mixture's mean squared deviation from it (the interval a prediction of
        ``mean`` needs when the truth may come from either component).
        """
        a = np.where(near, 1.0, self.model_scale_ if model_scale is None else model_scale)
        b = self.prior_scale_ if prior_scale is None else prior_scale
        c = self.center_ if center is None else center
        s0 = self.spread_ if spread is None else spread
        model_part, prior_part = w * (a * sd) ** 2, (1 - w) * (b * s0) ** 2
        if not self.shift_mean:
            return mean, model_part + prior_part + (1 - w) * (mean - c) ** 2
        blended = w * mean + (1 - w) * c
        return blended, model_part + prior_part + w * (1 - w) * (mean - c) ** 2

    # -- the fit of the relation ------------------------------------------------------------

    def _held_out(self, X: np.ndarray, y: np.ndarray, groups: Any) -> dict[str, np.ndarray]:
        """Held-out predictions of the measured rows under both fold schemes."""
        names = ("y", "mean", "sd", "epistemic", "d", "center", "spread", "far")
        columns: dict[str, list[np.ndarray]] = {k: [] for k in names}
        if len(y) < MIN_ROWS:
            return {k: np.zeros(0) for k in names}
        for train, test, far in self._folds(X, groups):
            mean, sd, epistemic = self._fold_prediction(X[train], y[train], X[test])
            distance = DomainModel(mobile_ion=None, check_elements=False).fit(X[train])
            for name, values in (("y", y[test]), ("mean", mean), ("sd", sd),
                                 ("epistemic", epistemic),
                                 ("d", distance.distance(X[test])),
                                 ("center", np.full(len(test), np.median(y[train]))),
                                 ("spread", np.full(len(test), np.std(y[train]))),
                                 ("far", np.full(len(test), far))):
                columns[name].append(values)
        return {k: np.concatenate(v) for k, v in columns.items()}

    def _folds(self, X: np.ndarray, groups: Any
               ) -> list[tuple[np.ndarray, np.ndarray, bool]]:
        """Leave-one-cluster-out folds (far: True), then grouped K-fold (near: False)."""
        imputed = np.nan_to_num(np.where(np.isnan(X), np.nanmedian(X, axis=0), X))
        scale = imputed.std(axis=0)
        Z = (imputed - imputed.mean(axis=0)) / np.where(scale > 0, scale, 1.0)
        n_clusters = min(self.n_clusters, len(np.unique(Z, axis=0)))
        clusters = KMeans(n_clusters, n_init=3, random_state=self.random_state).fit_predict(Z)
        folds = [(np.flatnonzero(clusters != c), np.flatnonzero(clusters == c), True)
                 for c in np.unique(clusters)]
        # Near-data folds: whole groups (papers) when given, else whole compositions (rows
        # with identical descriptors), so that a repeat is never its own neighbour.
        if groups is None:
            _, labels = np.unique(Z, axis=0, return_inverse=True)
        else:
            _, labels = np.unique(np.asarray([str(g) for g in groups]), return_inverse=True)
        labels = labels.ravel()
        n_splits = min(self.n_splits, len(np.unique(labels)))
        if n_splits >= 2:
            grouped = GroupKFold(n_splits, shuffle=True, random_state=self.random_state)
            folds.extend((train, test, False) for train, test in grouped.split(Z, groups=labels))
        return [fold for fold in folds if len(fold[0]) >= 10 and len(fold[1])]

    def _fold_prediction(self, X_train: np.ndarray, y_train: np.ndarray, X_test: np.ndarray
                         ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Mean, total std and epistemic std of a fold model, on the full model's scale."""
        if getattr(self.regressor_, "floor", None) is not None and isinstance(
                getattr(self.regressor_, "regressor_", None), CalibratedTreesRegressor):
            return self._floor_fold_prediction(X_train, y_train, X_test)
        core = _trees_of(self.regressor_)
        if core is None:
            parts = clone(self.regressor_).fit(X_train, y_train).predict_uncertainty(X_test)
            return tuple(np.asarray(parts[k], float)  # type: ignore[return-value]
                         for k in ("mean", "uncertainty", "epistemic"))
        # The fold model's raw tree spread, put on the full model's calibrated scale: the
        # fold models skip their own calibration, which would cost five more fits each.
        fold = clone(core).set_params(n_estimators=self.inner_trees, calibration="none",
                                      noise=False, random_state=self.random_state,
                                      n_jobs=self.n_jobs)
        parts = fold.fit(X_train, y_train).predict_uncertainty(X_test)
        epistemic = core.scale_ * np.asarray(parts["epistemic"], float)
        sd = np.sqrt(epistemic**2 + core.noise_std_**2)
        return np.asarray(parts["mean"], float), sd, epistemic

    def _floor_fold_prediction(self, X_train: np.ndarray, y_train: np.ndarray,
                               X_test: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """A zero-inflated hurdle's fold model, lighter, on the full model's calibration.

        The regressor learns a transformed height above the floor, so its fold copy keeps
        the hurdle around it (the mixture and the units); the fold regressor skips its
        calibration and takes the full model's spread scale and noise instead.
        """
        full = self.regressor_
        trees = clone(full.regressor_).set_params(
            n_estimators=self.inner_trees, calibration="none", noise=False,
            random_state=self.random_state, n_jobs=self.n_jobs)
        fold = clone(full).set_params(regressor=trees)
        classifier = fold.classifier
        if isinstance(classifier, Pipeline) and "n_estimators" in classifier[-1].get_params():
            fold.set_params(classifier=clone(classifier).set_params(
                **{f"{classifier.steps[-1][0]}__n_estimators": self.inner_trees}))
        fold.fit(X_train, y_train)
        fold.regressor_.scale_ = full.regressor_.scale_
        fold.regressor_.noise_std_ = full.regressor_.noise_std_
        parts = fold.predict_uncertainty(X_test)
        return tuple(np.asarray(parts[k], float)  # type: ignore[return-value]
                     for k in ("mean", "uncertainty", "epistemic"))

    def _fit_relation(self, held: dict[str, np.ndarray]) -> None:
        """Choose the weight by held-out MAE, then the two scales by likelihood."""
        self.coefficients_ = (math.inf, 0.0, 0.0)  # w = 1 everywhere: never fall back
        self.model_scale_, self.prior_scale_ = 1.0, 1.0
        self.cv_: dict[str, float] = {"rows": float(len(held["y"]))}
        if len(held["y"]) == 0:
            return
        y, m, sd, c, s0 = (held[k] for k in ("y", "mean", "sd", "center", "spread"))
        d, u = held["d"], _relative(held["epistemic"], s0)
        far = held["far"].astype(bool)
        # Gain far from the data only what costs nothing near it: the near-data (grouped)
        # error may not rise by more than near_tolerance over the model's own.
        near_limit = float(np.mean(np.abs(y - m)[~far])) * (1 + self.near_tolerance) \
            if (~far).any() else math.inf
        best = float(np.mean(np.abs(y - m)[far])) if far.any() else math.inf
        slopes = DISTANCE_SLOPES if self.signals == "distance+spread" else (0.0,)
        for b1 in slopes:
            for b2 in SPREAD_SLOPES:
                for b0 in INTERCEPTS:
                    w = _weight((b0, b1, b2), d, u, self.near_distance)
                    error = np.abs(y - (w * m + (1 - w) * c))
                    if (~far).any() and float(np.mean(error[~far])) > near_limit:
                        continue
                    # Strictly better only: ties keep the simpler, more trusting weight.
                    if float(np.mean(error[far])) < best - 1e-9:
                        best, self.coefficients_ = float(np.mean(error[far])), (float(b0), b1, b2)
        w = _weight(self.coefficients_, d, u, self.near_distance)
        near = d <= self.near_distance

        def negative_log_likelihood(log_scales: np.ndarray) -> float:
            a, b = np.exp(log_scales)
            mean, variance = self._blend(w, m, sd, near, a, b, c, s0)
            variance = np.maximum(variance, 1e-12)
            return float(np.sum(np.log(variance) + (y - mean) ** 2 / variance))

        fitted = optimize.minimize(negative_log_likelihood, np.zeros(2), method="Nelder-Mead")
        a, b = np.exp(fitted.x)
        if math.isfinite(a) and math.isfinite(b):
            self.model_scale_, self.prior_scale_ = float(a), float(b)
        mean, variance = self._blend(w, m, sd, near, center=c, spread=s0)
        z = np.abs(y - mean) / np.sqrt(np.maximum(variance, 1e-12))
        self.cv_.update({
            "mae_model": float(np.mean(np.abs(y - m))),
            "mae_fallback": float(np.mean(np.abs(y - mean))),
            "mae_median": float(np.mean(np.abs(y - c))),
            "coverage_68": float(np.mean(z <= 1.0)),
            "coverage_95": float(np.mean(z <= 1.959964)),
        })

    def describe(self) -> dict[str, Any]:
        """The fitted relation, for the model card."""
        check_is_fitted(self, "coefficients_")
        b0, b1, b2 = self.coefficients_
        return {"moves": "prediction and interval" if self.shift_mean else "interval only",
                "center": self.center_, "spread": self.spread_, "p_prior": self.p_prior_,
                "weight": "never falls back" if math.isinf(b0) else
                "expit(b0 + b1 * distance + b2 * log(epistemic / spread))",
                "b0": None if math.isinf(b0) else b0, "b1": b1, "b2": b2,
                "model_scale": self.model_scale_, "prior_scale": self.prior_scale_,
                "held_out": dict(self.cv_)}


def _relative(epistemic: np.ndarray, spread: np.ndarray | float) -> np.ndarray:
    """log(epistemic / spread), floored so that a zero spread stays finite."""
    ratio = np.maximum(np.asarray(epistemic, float), 1e-6) / np.maximum(spread, 1e-6)
    return np.log(ratio)


def _weight(coefficients: tuple[float, float, float], distance: np.ndarray,
            relative_spread: np.ndarray, near_distance: float) -> np.ndarray:
    b0, b1, b2 = coefficients
    if math.isinf(b0):
        return np.ones_like(distance, dtype=float)
    w = special.expit(b0 + b1 * distance + b2 * relative_spread)
    # In the domain the model is kept as it is; a non-finite distance (nothing to measure
    # it against) is as far as it gets.
    w = np.where(distance <= near_distance, 1.0, w)
    return np.where(np.isfinite(distance), w, 0.0)


def _trees_of(model: Any) -> CalibratedTreesRegressor | None:
    """The fitted calibrated trees inside ``model`` (itself or a hurdle's regressor)."""
    if isinstance(model, CalibratedTreesRegressor):
        return model
    inner = getattr(model, "regressor_", None)
    return inner if isinstance(inner, CalibratedTreesRegressor) else None


def _subset(groups: Any, mask: np.ndarray) -> list[object] | None:
    if groups is None:
        return None
    groups = list(groups)
    if len(groups) != len(mask):
        raise ValueError(f"{len(groups)} groups but {len(mask)} rows")
    return [g for g, keep in zip(groups, mask, strict=True) if keep]
