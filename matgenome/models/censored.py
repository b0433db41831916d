"""Train regressors on targets some of which are only upper bounds (censored values).

OBELiX reports 37 conductivities as ``<1E-10`` S/cm: the material conducts too poorly to
measure, and the number is a bound, not a measurement. Inventing a number for a bound (the
bound itself, an offset below it, an iterative or Tobit-style imputation) made the measured
rows worse on OBELiX: a number invented for a bound leaks into the trees around it (those
research strategies live in ``benchmarks/censored_strategies.py``, compared in
``benchmarks/results/select_obelix_model.json``).

:class:`CensoredHurdleRegressor` uses the bounds without inventing numbers. It trains

* the regressor on the measured rows only (the ``drop`` model), and
* a classifier for "below the bound" (censored vs measured) on all rows,

and mixes them at prediction time: with ``p = P(censored | x)`` the predictive
distribution is ``(1 - p) * regressor + p * censored component``, the censored component
sitting at the (median training) bound minus ``offset`` with spread ``censored_std``.
``combine`` picks the point prediction from that mixture: ``switch`` (the bound level where
``p >= decision_threshold``, else the regressor's mean), ``median`` (the mixture's median:
the best point for absolute error) or ``mixture`` (the mixture's mean). The reported std is
the mixture's root mean square deviation from that point, so a candidate that may well be
an insulator gets a wide interval rather than a confident wrong number; with ``switch``, a
row kept on the regressor's side gets the regressor's own interval and the chance of the
other side is reported apart (``p_censored``).

Measured by ``benchmarks/select_censored.py`` (paper-grouped CV inside the OBELiX training
split, ``benchmarks/results/select_censored.json``): with a sigmoid-calibrated classifier of
``below_level`` and ``switch`` at 0.5 the measured rows are not hurt and more bounds are
respected, but the gains are within the fold-shuffle spread: across papers the classifier
is weak (its Brier score is close to the constant base rate's).

The same two-part model serves targets with a point mass at a floor (band gaps of metals at
exactly 0 eV): with ``floor="min"`` (or a number) the "below" class is the rows at the
floor, the regressor learns the rows above it (optionally on a ``sqrt`` or ``log`` scale of
the height above the floor, since such targets are right-skewed), and the prediction is the
floor where the classifier says more likely than not, else the regressor's value, in the
original units.
"""

from __future__ import annotations

from numbers import Integral, Real
from typing import ClassVar

import numpy as np
from scipy import stats
from sklearn.base import BaseEstimator, RegressorMixin, _fit_context, clone
from sklearn.calibration import CalibratedClassifierCV
from sklearn.ensemble import ExtraTreesClassifier
from sklearn.impute import SimpleImputer
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.utils._param_validation import HasMethods, Interval, StrOptions
from sklearn.utils.validation import check_is_fitted, validate_data

from matgenome.models.calibrated import CalibratedTreesRegressor

_COMBINE = ("switch", "median", "mixture")
_CLASSIFY = ("censored", "below_level")
# Folds of the calibrated default classifier: one sigmoid-calibrated forest per fold, all
# voting at prediction time.
_CLASSIFIER_FOLDS = 5
# Scales the regressor may learn the height above the floor on: forward, inverse, and the
# derivative of the inverse (to carry the std back to the original units, delta method).
_TRANSFORMS = {
    None: (lambda h: h, lambda z: z, lambda z: np.ones_like(z)),
    "sqrt": (np.sqrt, lambda z: np.maximum(z, 0.0) ** 2, lambda z: 2 * np.maximum(z, 0.0)),
    "log": (np.log1p, lambda z: np.expm1(np.maximum(z, 0.0)),
            lambda z: np.exp(np.maximum(z, 0.0))),
}


class CensoredHurdleRegressor(RegressorMixin, BaseEstimator):
    """A regressor for measured rows beside a classifier for "below the bound".

    Args:
        regressor: model of the measured targets with ``predict_uncertainty`` (cloned);
            default: the conductivity recipe's ``CalibratedTreesRegressor`` (extra trees,
            500 trees, ``max_features=0.1``, CV-calibrated std with a noise term).
        classifier: probabilistic classifier of ``censored`` (cloned); default: extra trees
            (500 trees, ``max_features=0.1``) after a median imputer.
        combine: point prediction from the mixture: ``switch``, ``median`` or ``mixture``
            (see the module docstring).
        classify: the classifier's positive class: ``censored`` (the flagged rows) or
            ``below_level`` (flagged rows plus measured rows below the bound level: they
            lie below the bound too, and come from more papers).
        decision_threshold: ``P(censored)`` at which ``switch`` predicts the bound level.
        level: value of the censored component before ``offset``; default: the median
            training bound.
        offset: how far below ``level`` the censored component is centred.
        censored_std: spread of the censored component; default: the regressor's median
            ``noise`` on the censored training rows.
        random_state: seed of the default regressor and classifier.
        n_jobs: parallel jobs of the default regressor and classifier.
        floor: ``None`` (default): the classes come from the ``censored`` flags (bounds);
            ``"min"`` or a number: a zero-inflated target, the "below" class is the rows at
            that value (``"min"``: the smallest training target, e.g. a band gap of 0 eV),
            ``censored`` must not be given, and the censored component sits exactly at the
            floor (``censored_std`` defaults to 0).
        target_transform: with a ``floor``, the scale the regressor learns the height
            above the floor on: ``None``, ``sqrt`` or ``log`` (``log1p`` of the height);
            predictions and their std (delta method) are carried back to the original
            units. With a floor, ``p_censored`` is the probability of lying at the floor.
        classifier_trees: trees of the default classifier, in all (keyword-only).
        calibrate_classifier: ``False`` (default): the default classifier is one
            extra-trees forest of ``classifier_trees`` trees; ``True``: five
            sigmoid-calibrated fold forests (``CalibratedClassifierCV``, ``cv=5``) of
            ``classifier_trees / 5`` trees each, voting together (keyword-only). Both
            apply only when ``classifier`` is None.

    Attributes (after ``fit``):
        regressor_, classifier_ (None when no row is censored): the fitted parts;
        level_: the bound level (the floor with ``floor``); censored_std_: the censored
        component's spread; n_features_in_.
    """

    # Asked for by default: the bounds are what this estimator is for (metadata routing).
    __metadata_request__fit: ClassVar[dict[str, bool]] = {"censored": True}

    _parameter_constraints: ClassVar[dict] = {
        "regressor": [HasMethods(["fit", "predict_uncertainty"]), None],
        "classifier": [HasMethods(["fit", "predict_proba"]), None],
        "combine": [StrOptions(set(_COMBINE))],
        "classify": [StrOptions(set(_CLASSIFY))],
        "decision_threshold": [Interval(Real, 0.0, 1.0, closed="both")],
        "level": [Real, None],
        "offset": [Real],
        "censored_std": [Interval(Real, 0.0, None, closed="left"), None],
        "random_state": ["random_state"],
        "n_jobs": [Integral, None],
        "floor": [StrOptions({"min"}), Real, None],
        "target_transform": [StrOptions({k for k in _TRANSFORMS if k}), None],
        "classifier_trees": [Interval(Integral, 1, None, closed="left")],
        "calibrate_classifier": ["boolean"],
    }

    def __init__(
        self,
        regressor: BaseEstimator | None = None,
        classifier: BaseEstimator | None = None,
        combine: str = "switch",
        classify: str = "censored",
        decision_threshold: float = 0.5,
        level: float | None = None,
        offset: float = 0.0,
        censored_std: float | None = None,
        random_state: int | None = 0,
        n_jobs: int | None = None,
        floor: str | float | None = None,
        target_transform: str | None = None,
        *,
        classifier_trees: int = 500,
        calibrate_classifier: bool = False,
    ) -> None:
        self.regressor = regressor
        self.classifier = classifier
        self.combine = combine
        self.classify = classify
        self.decision_threshold = decision_threshold
        self.level = level
        self.offset = offset
        self.censored_std = censored_std
        self.random_state = random_state
        self.n_jobs = n_jobs
        self.floor = floor
        self.target_transform = target_transform
        self.classifier_trees = classifier_trees
        self.calibrate_classifier = calibrate_classifier

    def __setstate__(self, state: dict) -> None:
        # Models saved before the floor option are bound hurdles.
        state.setdefault("floor", None)
        state.setdefault("target_transform", None)
        # ... and before the default classifier's options (their classifier stays as saved).
        state.setdefault("classifier_trees", 500)
        state.setdefault("calibrate_classifier", False)
        super().__setstate__(state)

    @_fit_context(prefer_skip_nested_validation=False)
    def fit(self, X: np.ndarray, y: np.ndarray, censored: np.ndarray | None = None):
        """Fit the regressor on the measured rows and the classifier on all rows."""
        if self.combine not in _COMBINE:
            raise ValueError(f"combine must be one of {_COMBINE}, got {self.combine!r}")
        if self.classify not in _CLASSIFY:
            raise ValueError(f"classify must be one of {_CLASSIFY}, got {self.classify!r}")
        # Missing descriptors are allowed: the default models impute them.
        X, y = validate_data(self, X, y, ensure_all_finite="allow-nan", y_numeric=True,
                             dtype=float)
        if self.floor is not None:
            return self._fit_floor(X, y, censored)
        if self.target_transform is not None:
            raise ValueError("target_transform needs a floor (floor='min' or a number)")
        censored = np.zeros(len(y), bool) if censored is None else np.asarray(censored, bool)
        if censored.shape != y.shape:
            raise ValueError(f"censored has shape {censored.shape}, expected {y.shape}")
        if censored.all():
            raise ValueError("CensoredHurdleRegressor needs at least one measured row")
        self.regressor_ = clone(self._default_regressor()).fit(X[~censored], y[~censored])
        self.classifier_ = None
        bounds = y[censored] if censored.any() else np.array([np.min(y)])
        self.level_ = float(np.median(bounds) if self.level is None else self.level)
        # Without censored rows there is nothing to classify: P(censored) is 0 everywhere.
        if censored.any():
            below = censored | ((y < self.level_) if self.classify == "below_level" else False)
            self.classifier_ = clone(self._default_classifier()).fit(X, below)
        self.censored_std_ = self._censored_spread(X[censored])
        return self

    def _fit_floor(self, X: np.ndarray, y: np.ndarray, censored: np.ndarray | None):
        """Zero-inflated target: classifier of "at the floor", regressor above it."""
        if self.target_transform not in _TRANSFORMS:
            raise ValueError(f"target_transform must be one of {list(_TRANSFORMS)}, "
                             f"got {self.target_transform!r}")
        if censored is not None and np.asarray(censored, bool).any():
            raise ValueError("a floor model takes no censored rows (wrap it in a bound model)")
        if isinstance(self.floor, str) and self.floor != "min":
            raise ValueError(f"floor must be None, 'min' or a number, got {self.floor!r}")
        self.level_ = float(np.min(y) if self.floor == "min" else self.floor)
        # Values equal to the floor up to rounding in the source table.
        at = y <= self.level_ + 1e-9 * max(1.0, abs(self.level_))
        forward = _TRANSFORMS[self.target_transform][0]
        # A constant target has nothing above the floor: the regressor learns height 0
        # everywhere and no classifier is needed (P(at the floor) is then reported as 0).
        above = ~at if (~at).any() else np.ones(len(y), bool)
        self.regressor_ = clone(self._default_regressor()).fit(
            X[above], forward(np.maximum(y[above] - self.level_, 0.0)))
        split = at.any() and (~at).any()
        self.classifier_ = clone(self._default_classifier()).fit(X, at) if split else None
        self.censored_std_ = 0.0 if self.censored_std is None else float(self.censored_std)
        return self

    def predict(self, X: np.ndarray, return_std: bool = False):
        """Point prediction of ``combine``; with ``return_std=True`` also the mixture std."""
        parts = self.predict_uncertainty(X)
        return (parts["mean"], parts["uncertainty"]) if return_std else parts["mean"]

    def predict_proba_censored(self, X: np.ndarray) -> np.ndarray:
        """Probability that the target lies below the bound (too low to measure)."""
        check_is_fitted(self, "regressor_")
        X = validate_data(self, X, reset=False, ensure_all_finite="allow-nan", dtype=float)
        if self.classifier_ is None:
            return np.zeros(len(X))
        classes = list(self.classifier_.classes_)
        return self.classifier_.predict_proba(X)[:, classes.index(True)]

    def predict_uncertainty(self, X: np.ndarray) -> dict[str, np.ndarray]:
        """Point prediction (``mean``), total std (``uncertainty``), ``epistemic``, ``noise``.

        ``uncertainty`` is the root mean square deviation of the mixture from the point
        prediction; with ``combine="switch"``, rows kept on the regressor's side get the
        regressor's own parts (the chance of the other side is ``p_censored``). ``noise``
        mixes the regressor's noise and the censored spread by the class probabilities;
        everything else (tree spread and the doubt about which side of the bound a row
        falls) is ``epistemic``, so ``uncertainty**2 = epistemic**2 + noise**2`` as for the
        wrapped regressor. Also returns ``p_censored``.
        """
        check_is_fitted(self, "regressor_")
        X = validate_data(self, X, reset=False, ensure_all_finite="allow-nan", dtype=float)
        parts = self._regressor_parts(X)
        mu, sd = np.asarray(parts["mean"], float), np.asarray(parts["uncertainty"], float)
        p = self.predict_proba_censored(X)
        low, low_sd = self.level_ - self.offset, self.censored_std_
        point = self._point(mu, sd, p, low, low_sd)
        variance = (1 - p) * (sd**2 + (mu - point) ** 2) + p * (low_sd**2 + (low - point) ** 2)
        noise = np.sqrt((1 - p) * np.asarray(parts["noise"], float) ** 2 + p * low_sd**2)
        epistemic = np.sqrt(np.maximum(variance - noise**2, 0.0))
        if self.combine == "switch":
            # The switch commits to one branch; a row kept on the regressor's side gets the
            # regressor's interval, and the doubt about the other side is reported as
            # ``p_censored`` rather than smeared over a Gaussian std: the mixture's RMS
            # made one-sigma intervals of measured rows cover 85% on OBELiX's test split.
            kept = point == mu
            noise = np.where(kept, np.asarray(parts["noise"], float), noise)
            epistemic = np.where(kept, np.asarray(parts["epistemic"], float), epistemic)
            variance = epistemic**2 + noise**2
        return {"mean": point, "uncertainty": np.sqrt(variance), "epistemic": epistemic,
                "noise": noise, "p_censored": p}

    def predict_trees(self, X: np.ndarray) -> np.ndarray:
        """The regressor's per-tree predictions, shape ``(n_trees, n_rows)``.

        A pass-through: the draws describe the measured-rows model only and ignore
        ``P(censored)``; combine them with :meth:`predict_proba_censored` where that matters.
        """
        check_is_fitted(self, "regressor_")
        trees = self.regressor_.predict_trees(X)
        if self.floor is None:
            return trees
        return self.level_ + _TRANSFORMS[self.target_transform][1](np.asarray(trees, float))

    def _regressor_parts(self, X: np.ndarray) -> dict[str, np.ndarray]:
        """The regressor's mean and std parts in the original units."""
        parts = self.regressor_.predict_uncertainty(X)
        if self.floor is None:
            return parts
        _, inverse, slope = _TRANSFORMS[self.target_transform]
        z = np.asarray(parts["mean"], float)
        gain = slope(z)
        return {"mean": self.level_ + inverse(z),
                **{k: gain * np.asarray(parts[k], float)
                   for k in ("uncertainty", "epistemic", "noise")}}

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        return tags

    def _point(self, mu: np.ndarray, sd: np.ndarray, p: np.ndarray, low: float,
               low_sd: float) -> np.ndarray:
        if self.combine == "switch":
            return np.where(p >= self.decision_threshold, low, mu)
        if self.combine == "mixture":
            return (1 - p) * mu + p * low
        return _mixture_median(mu, np.maximum(sd, 1e-9), p, low, max(low_sd, 1e-9))

    def _censored_spread(self, X_censored: np.ndarray) -> float:
        if self.censored_std is not None:
            return float(self.censored_std)
        if len(X_censored) == 0:
            return 0.0
        # The bound says nothing about how far below it a value lies; borrow the scatter the
        # regressor expects of a repeat measurement there.
        return float(np.median(self.regressor_.predict_uncertainty(X_censored)["noise"]))

    def _default_regressor(self) -> BaseEstimator:
        if self.regressor is not None:
            return self.regressor
        # The conductivity recipe's regressor, spelled out: selection.py imports this module.
        return CalibratedTreesRegressor(
            kind="extra_trees", n_estimators=500, max_features=0.1, min_samples_leaf=1,
            average_duplicates=False, calibration="cv", noise=True,
            random_state=self.random_state, n_jobs=self.n_jobs)

    def _default_classifier(self) -> BaseEstimator | Pipeline:
        if self.classifier is not None:
            return self.classifier
        if not self.calibrate_classifier:
            return self._classifier_forest(self.classifier_trees)
        if self.classifier_trees < _CLASSIFIER_FOLDS:
            raise ValueError(f"classifier_trees must be at least {_CLASSIFIER_FOLDS} with "
                             f"calibrate_classifier=True (one forest per fold), got "
                             f"{self.classifier_trees}")
        return CalibratedClassifierCV(
            self._classifier_forest(self.classifier_trees // _CLASSIFIER_FOLDS),
            method="sigmoid", cv=_CLASSIFIER_FOLDS)

    def _classifier_forest(self, trees: int) -> Pipeline:
        return make_pipeline(
            SimpleImputer(strategy="median", keep_empty_features=True),
            ExtraTreesClassifier(trees, max_features=0.1, random_state=self.random_state,
                                 n_jobs=self.n_jobs))


def _mixture_median(mu: np.ndarray, sd: np.ndarray, p: np.ndarray, low: float,
                    low_sd: float, n_iter: int = 60) -> np.ndarray:
    """Median of ``(1 - p) N(mu, sd) + p N(low, low_sd)`` per row, by bisection.

    The mixture's CDF is monotone and the median lies between the two component medians.
    """
    lo, hi = np.minimum(mu, low), np.maximum(mu, low)
    for _ in range(n_iter):
        mid = (lo + hi) / 2
        cdf = (1 - p) * stats.norm.cdf(mid, mu, sd) + p * stats.norm.cdf(mid, low, low_sd)
        below = cdf < 0.5
        lo, hi = np.where(below, mid, lo), np.where(below, hi, mid)
    return (lo + hi) / 2
