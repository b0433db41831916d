"""Classifiers whose 0.5 probability threshold maximises balanced accuracy.

Matbench scores its composition classification tasks (glass forming ability: 71% positive;
metal or not) by labels thresholded at probability 0.5, and reports balanced accuracy. A
classifier trained on imbalanced classes puts its 0.5 threshold where plain accuracy is
best, which favours the majority class. :class:`PriorBalancedClassifier` reweights the
wrapped model's probabilities by the inverse training class priors (a prior shift to equal
classes),

    p' = (p / pi_1) / (p / pi_1 + (1 - p) / pi_0),

so that ``p' >= 0.5`` exactly when ``p >= pi_1``: the threshold that maximises balanced
accuracy for calibrated probabilities. The transform is monotone, so ROC-AUC is unchanged.
"""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.utils import get_tags
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data


class PriorBalancedClassifier(ClassifierMixin, BaseEstimator):
    """Wrap a probabilistic classifier and rebalance its probabilities to equal priors.

    Each class probability is divided by that class's training frequency and the row is
    renormalised. With two classes the predicted label is the second class where its
    rebalanced probability reaches 0.5 (the Matbench threshold); with more, the most
    probable class.

    Args:
        estimator: a classifier with ``predict_proba`` (cloned on fit). Missing values
            are passed through when it accepts them (e.g. a pipeline with an imputer).

    Attributes (after ``fit``):
        estimator_: the fitted classifier; classes_: the classes;
        priors_: training frequency of each class.
    """

    def __init__(self, estimator: BaseEstimator) -> None:
        self.estimator = estimator

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = get_tags(self.estimator).input_tags.allow_nan
        return tags

    def fit(self, X: np.ndarray, y: np.ndarray):
        """Fit the wrapped classifier and record the class priors."""
        X, y = validate_data(self, X, y, ensure_all_finite=self._finite_check())
        check_classification_targets(y)
        self.estimator_ = clone(self.estimator).fit(X, y)
        self.classes_ = self.estimator_.classes_
        if len(self.classes_) < 2:
            raise ValueError("PriorBalancedClassifier needs at least 2 classes; got 1 class")
        self.priors_ = np.array([np.mean(y == c) for c in self.classes_])
        return self

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        """Probabilities of the classes as if all were equally frequent."""
        check_is_fitted(self, "estimator_")
        X = validate_data(self, X, reset=False, ensure_all_finite=self._finite_check())
        weighted = self.estimator_.predict_proba(X) / self.priors_
        return weighted / weighted.sum(axis=1, keepdims=True)

    def predict(self, X: np.ndarray) -> np.ndarray:
        """The class with the highest rebalanced probability (ties at 0.5 go to the second)."""
        proba = self.predict_proba(X)
        if len(self.classes_) == 2:
            return self.classes_[(proba[:, 1] >= 0.5).astype(int)]
        return self.classes_[np.argmax(proba, axis=1)]

    def _finite_check(self) -> bool | str:
        return "allow-nan" if get_tags(self.estimator).input_tags.allow_nan else True
