"""A two-part ("hurdle") regressor for targets with a point mass at zero, such as band gaps.

About half of Matbench's experimental band gaps are exactly 0 (metals). A single regressor
averages metals and semiconductors in mixed leaves and predicts small positive gaps for
both. :class:`HurdleRegressor` instead trains

* a classifier for ``target > threshold`` (is there a gap at all?), and
* a regressor for the size of the gap, on the positive rows only, optionally on a
  transformed scale (``target_transform``: ``sqrt`` or ``log1p``; gaps are right-skewed);

and predicts the regressor's value where the classifier's probability reaches
``decision_threshold``, else zero: for absolute error the best point prediction is the
median, which is 0 whenever a metal is more likely than not.
"""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator, RegressorMixin, clone
from sklearn.utils import get_tags
from sklearn.utils.validation import check_is_fitted, validate_data

_TRANSFORMS = {
    "none": (lambda y: y, lambda z: z),
    "sqrt": (np.sqrt, lambda z: np.maximum(z, 0.0) ** 2),
    "log1p": (np.log1p, lambda z: np.expm1(np.maximum(z, 0.0))),
}


class HurdleRegressor(RegressorMixin, BaseEstimator):
    """Classifier for ``y > threshold`` combined with a regressor for the positive part.

    Args:
        classifier: estimator with ``predict_proba`` for ``y > threshold``.
        regressor: estimator for ``y`` on the rows with ``y > threshold``.
        target_transform: ``none``, ``sqrt`` or ``log1p``: the scale the regressor learns on.
        threshold: targets at or below it form the zero class.
        decision_threshold: probability of the positive class above which the
            regressor's value is predicted.

    Attributes (after ``fit``):
        classifier_, regressor_: the fitted parts; zero_value_: the value predicted for
        the zero class (the median of the targets at or below ``threshold``).
    """

    def __init__(
        self,
        classifier: BaseEstimator,
        regressor: BaseEstimator,
        target_transform: str = "sqrt",
        threshold: float = 0.0,
        decision_threshold: float = 0.5,
    ) -> None:
        self.classifier = classifier
        self.regressor = regressor
        self.target_transform = target_transform
        self.threshold = threshold
        self.decision_threshold = decision_threshold

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = self._allow_nan()
        return tags

    def fit(self, X: np.ndarray, y: np.ndarray):
        """Fit the classifier on all rows and the regressor on the positive rows.

        With rows on one side of the threshold only, that side is predicted everywhere.
        """
        if self.target_transform not in _TRANSFORMS:
            raise ValueError(f"target_transform must be one of {sorted(_TRANSFORMS)}")
        X, y = validate_data(self, X, y, y_numeric=True, ensure_all_finite=self._finite())
        positive = y > self.threshold
        forward, _ = _TRANSFORMS[self.target_transform]
        self.classifier_ = clone(self.classifier).fit(X, positive)
        self.regressor_ = None
        if positive.any():
            self.regressor_ = clone(self.regressor).fit(X[positive], forward(y[positive]))
        self.zero_value_ = float(np.median(y[~positive])) if (~positive).any() else 0.0
        return self

    def predict_proba_positive(self, X: np.ndarray) -> np.ndarray:
        """Probability that the target is above the threshold (e.g. not a metal)."""
        check_is_fitted(self, "classifier_")
        X = validate_data(self, X, reset=False, ensure_all_finite=self._finite())
        classes = list(self.classifier_.classes_)
        if True not in classes:
            return np.zeros(len(X))
        return self.classifier_.predict_proba(X)[:, classes.index(True)]

    def predict(self, X: np.ndarray) -> np.ndarray:
        """Zero-class value where the positive class is unlikely, else the regressor's value."""
        positive = self.predict_proba_positive(X) >= self.decision_threshold
        X = np.asarray(X, dtype=float)
        _, inverse = _TRANSFORMS[self.target_transform]
        prediction = np.full(len(X), self.zero_value_)
        if positive.any():
            prediction[positive] = inverse(self.regressor_.predict(X[positive]))
        return prediction

    def _allow_nan(self) -> bool:
        return all(get_tags(e).input_tags.allow_nan for e in (self.classifier, self.regressor))

    def _finite(self) -> bool | str:
        return "allow-nan" if self._allow_nan() else True
