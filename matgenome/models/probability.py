"""A two-class tree classifier with calibrated probabilities and a spread over its trees.

:class:`ProbabilityClassifier` is what ``matgenome train`` fits on a classification target
(:mod:`matgenome.classification`). It speaks the regressors' uncertainty interface, so
every path that scores a regressor (``predict``, ``rank``, ``screen``, campaigns) scores it
too: ``predict_uncertainty(X)["mean"]`` is the calibrated probability of the positive
class and ``uncertainty`` the spread of that probability over disjoint subsets of the
trees (how much the ensemble disagrees; zero observation noise, since the outcome's
Bernoulli scatter is not an uncertainty about the probability).

Calibration (``sigmoid``: Platt scaling on the trees' probability; ``isotonic``; or
``none``) is fitted on out-of-fold probabilities of ``cv`` stratified fold models with
``calibration_trees`` trees each, then applied to the full ensemble. The label threshold
(``threshold_``) is the training share of the positive class: with calibrated
probabilities, that is where balanced accuracy is highest.
"""

from __future__ import annotations

from numbers import Integral
from typing import ClassVar

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, _fit_context
from sklearn.ensemble import ExtraTreesClassifier, RandomForestClassifier
from sklearn.impute import SimpleImputer
from sklearn.isotonic import IsotonicRegression
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data

from matgenome.models.calibrated import FOREST_CONSTRAINTS

KINDS = {"extra_trees": ExtraTreesClassifier, "random_forest": RandomForestClassifier}
CALIBRATIONS = ("none", "sigmoid", "isotonic")
# Probabilities are kept off 0 and 1: one confident miss would make the log loss infinite.
EPS = 1e-3
SPREAD_GROUPS = 5  # disjoint tree subsets whose probabilities give the spread


def make_trees(kind: str, n_estimators: int, max_features: float | str | None,
               min_samples_leaf: int, class_weight: str | None,
               random_state: int | None, n_jobs: int | None):
    """An unfitted scikit-learn tree ensemble classifier."""
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {tuple(KINDS)}, not {kind!r}")
    return KINDS[kind](n_estimators, max_features=max_features,
                       min_samples_leaf=min_samples_leaf, class_weight=class_weight,
                       random_state=random_state, n_jobs=n_jobs)


def fit_calibrator(method: str, raw: np.ndarray, y: np.ndarray):
    """A map from raw to calibrated probability of the positive class (None for none)."""
    if method == "none":
        return None
    if method == "sigmoid":
        return LogisticRegression(C=1e6).fit(raw.reshape(-1, 1), y)
    if method == "isotonic":
        return IsotonicRegression(y_min=0.0, y_max=1.0, out_of_bounds="clip").fit(raw, y)
    raise ValueError(f"calibration must be one of {CALIBRATIONS}, not {method!r}")


def apply_calibrator(calibrator, raw: np.ndarray) -> np.ndarray:
    """Calibrated probabilities, kept inside [EPS, 1 - EPS]."""
    if calibrator is None:
        p = raw
    elif isinstance(calibrator, LogisticRegression):
        p = calibrator.predict_proba(raw.reshape(-1, 1))[:, 1]
    else:
        p = calibrator.predict(raw)
    return np.clip(p, EPS, 1 - EPS)


class ProbabilityClassifier(ClassifierMixin, BaseEstimator):
    """Two-class trees with calibrated probabilities (see the module docstring).

    Args:
        kind: ``extra_trees`` or ``random_forest``.
        n_estimators: trees of the ensemble.
        max_features: features tried per split.
        min_samples_leaf: rows per leaf at least.
        class_weight: None or ``balanced`` (reweights rows to equal class totals).
        calibration: ``sigmoid``, ``isotonic`` or ``none``.
        cv: stratified folds for the calibration's out-of-fold probabilities.
        calibration_trees: trees of each fold model of the calibration.
        random_state: seed of the trees and of the calibration folds.
        n_jobs: parallel jobs of the trees.
        classes: the two classes, when a fit may see one only (a sequential-learning
            simulation before its first positive: every probability is then ``EPS``);
            default: those of ``y``.

    Attributes (after ``fit``): ``classes_``, ``imputer_``, ``trees_``, ``calibrator_``,
    ``prior_`` (training share of ``classes_[1]``), ``threshold_``.
    """

    _parameter_constraints: ClassVar[dict] = {
        **FOREST_CONSTRAINTS,
        "class_weight": [StrOptions({"balanced"}), None],
        "calibration": [StrOptions({"sigmoid", "isotonic", "none"})],
        "cv": [Interval(Integral, 2, None, closed="left")],
        "calibration_trees": [Interval(Integral, 1, None, closed="left")],
        "random_state": ["random_state"],
        "n_jobs": [Integral, None],
        "classes": ["array-like", None],
    }

    def __init__(self, *, kind: str = "extra_trees", n_estimators: int = 500,
                 max_features: float | str | None = "sqrt", min_samples_leaf: int = 1,
                 class_weight: str | None = None, calibration: str = "sigmoid",
                 cv: int = 3, calibration_trees: int = 100,
                 random_state: int | None = 0, n_jobs: int | None = None,
                 classes: tuple | None = None) -> None:
        self.kind = kind
        self.n_estimators = n_estimators
        self.max_features = max_features
        self.min_samples_leaf = min_samples_leaf
        self.class_weight = class_weight
        self.calibration = calibration
        self.cv = cv
        self.calibration_trees = calibration_trees
        self.random_state = random_state
        self.n_jobs = n_jobs
        self.classes = classes

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        return tags

    def _trees(self, n_estimators: int):
        return make_trees(self.kind, n_estimators, self.max_features, self.min_samples_leaf,
                          self.class_weight, self.random_state, self.n_jobs)

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X: np.ndarray, y: np.ndarray) -> ProbabilityClassifier:
        """Fit the trees on every row and the calibration on out-of-fold probabilities."""
        X, y = validate_data(self, X, y, ensure_all_finite="allow-nan")
        check_classification_targets(y)
        self.classes_ = np.unique(y) if self.classes is None else np.asarray(self.classes)
        if len(self.classes_) != 2 or not np.isin(y, self.classes_).all():
            raise ValueError(f"ProbabilityClassifier needs exactly 2 classes; got "
                             f"{len(np.unique(y))} ({self.classes_})")
        target = (y == self.classes_[1]).astype(int)
        self.imputer_ = SimpleImputer(strategy="median", keep_empty_features=True).fit(X)
        Z = self.imputer_.transform(X)
        self.trees_ = self._trees(self.n_estimators).fit(Z, target)
        self.prior_ = float(target.mean())
        self.calibrator_ = None
        folds = min(self.cv, int(np.bincount(target, minlength=2).min()))
        if self.calibration != "none" and folds >= 2:
            raw = np.zeros(len(target))
            split = StratifiedKFold(folds, shuffle=True, random_state=self.random_state)
            for train, test in split.split(Z, target):
                model = self._trees(self.calibration_trees).fit(Z[train], target[train])
                raw[test] = _positive(model, Z[test])
            self.calibrator_ = fit_calibrator(self.calibration, raw, target)
        elif self.calibration not in CALIBRATIONS:
            raise ValueError(f"calibration must be one of {CALIBRATIONS}")
        self.threshold_ = self.prior_
        return self

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        """Calibrated probabilities of ``classes_[0]`` and ``classes_[1]``."""
        p = self._probability(X)
        return np.column_stack([1 - p, p])

    def predict(self, X: np.ndarray) -> np.ndarray:
        """``classes_[1]`` where its probability reaches ``threshold_``."""
        return self.classes_[(self._probability(X) >= self.threshold_).astype(int)]

    def predict_uncertainty(self, X: np.ndarray) -> dict[str, np.ndarray]:
        """``mean``: probability of the positive class; ``uncertainty`` (= ``epistemic``):
        standard deviation of that probability over disjoint subsets of the trees;
        ``noise``: zero."""
        check_is_fitted(self, "trees_")
        Z = self.imputer_.transform(validate_data(self, X, reset=False,
                                                  ensure_all_finite="allow-nan"))
        per_tree = np.stack([_positive(tree, Z) for tree in self.trees_.estimators_])
        mean = apply_calibrator(self.calibrator_, per_tree.mean(axis=0))
        groups = np.array_split(np.arange(len(per_tree)), min(SPREAD_GROUPS, len(per_tree)))
        subsets = np.stack([apply_calibrator(self.calibrator_, per_tree[g].mean(axis=0))
                            for g in groups])
        spread = subsets.std(axis=0) if len(groups) > 1 else np.zeros(len(Z))
        return {"mean": mean, "uncertainty": spread, "epistemic": spread,
                "noise": np.zeros(len(Z))}

    def predict_trees(self, X: np.ndarray) -> np.ndarray:
        """Each tree's probability of the positive class, ``(n_estimators, n_rows)``: the
        draws of Thompson sampling (``matgenome.ranking.batch_selection``). Uncalibrated: the
        calibration is monotone, so a draw's best row is the same either way."""
        check_is_fitted(self, "trees_")
        Z = self.imputer_.transform(validate_data(self, X, reset=False,
                                                  ensure_all_finite="allow-nan"))
        return np.stack([_positive(tree, Z) for tree in self.trees_.estimators_])

    def _probability(self, X: np.ndarray) -> np.ndarray:
        check_is_fitted(self, "trees_")
        Z = self.imputer_.transform(validate_data(self, X, reset=False,
                                                  ensure_all_finite="allow-nan"))
        return apply_calibrator(self.calibrator_, _positive(self.trees_, Z))

    def describe(self) -> dict[str, object]:
        """What the card records about the fitted classifier."""
        return {"prior": self.prior_, "threshold": self.threshold_,
                "calibration": self.calibration, "class_weight": self.class_weight}


def _positive(model, Z: np.ndarray) -> np.ndarray:
    """Probability of class 1 from a fitted sklearn classifier (0 if it saw one class)."""
    proba = model.predict_proba(Z)
    seen = list(model.classes_)
    return proba[:, seen.index(1)] if 1 in seen else np.zeros(len(Z))


class ProbabilityScorer(ProbabilityClassifier):
    """A :class:`ProbabilityClassifier` whose ``predict`` is the probability of the positive
    class (with its spread for ``return_std``), as acquisition functions and
    ``matgenome.simulation`` read a regressor's prediction."""

    def predict(self, X: np.ndarray, return_std: bool = False):
        parts = self.predict_uncertainty(X)
        return (parts["mean"], parts["uncertainty"]) if return_std else parts["mean"]
