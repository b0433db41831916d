"""A two-part ("hurdle") regressor for targets with a point mass at zero, such as band gaps.

About half of Matbench's experimental band gaps are exactly 0 (metals). A single regressor
averages metals and semiconductors in mixed leaves and predicts small positive gaps for
both. :class:`HurdleRegressor` instead trains

* a classifier for ``target > threshold`` (is there a gap at all?), and
* a regressor for the size of the gap, on the positive rows only, optionally on a
  transformed scale (``sqrt`` or ``log1p``; gaps are right-skewed);

and predicts the regressor's value where the classifier's probability reaches
``decision_threshold``, else zero: for absolute error the best point prediction is the
median, which is 0 whenever a metal is more likely than not.
"""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator, RegressorMixin, clone
from sklearn.utils.validation import check_is_fitted

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
        transform: ``none``, ``sqrt`` or ``log1p``: the scale the regressor learns on.
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
        transform: str = "sqrt",
        threshold: float = 0.0,
        decision_threshold: float = 0.5,
    ) -> None:
        self.classifier = classifier
        self.regressor = regressor
        self.transform = transform
        self.threshold = threshold
        self.decision_threshold = decision_threshold

    def fit(self, X: np.ndarray, y: np.ndarray):
        """Fit the classifier on all rows and the regressor on the positive rows."""
        if self.transform not in _TRANSFORMS:
            raise ValueError(f"transform must be one of {sorted(_TRANSFORMS)}")
        X, y = np.asarray(X, dtype=float), np.asarray(y, dtype=float).ravel()
        positive = y > self.threshold
        if positive.all() or not positive.any():
            raise ValueError("HurdleRegressor needs rows on both sides of the threshold")
        forward, _ = _TRANSFORMS[self.transform]
        self.n_features_in_ = X.shape[1]
        self.classifier_ = clone(self.classifier).fit(X, positive)
        self.regressor_ = clone(self.regressor).fit(X[positive], forward(y[positive]))
        self.zero_value_ = float(np.median(y[~positive]))
        return self

    def predict_proba_positive(self, X: np.ndarray) -> np.ndarray:
        """Probability that the target is above the threshold (e.g. not a metal)."""
        check_is_fitted(self, "classifier_")
        classes = list(self.classifier_.classes_)
        return self.classifier_.predict_proba(X)[:, classes.index(True)]

    def predict(self, X: np.ndarray) -> np.ndarray:
        """Zero-class value where the positive class is unlikely, else the regressor's value."""
        X = np.asarray(X, dtype=float)
        positive = self.predict_proba_positive(X) >= self.decision_threshold
        _, inverse = _TRANSFORMS[self.transform]
        prediction = np.full(len(X), self.zero_value_)
        if positive.any():
            prediction[positive] = inverse(self.regressor_.predict(X[positive]))
        return prediction
