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
from sklearn.utils.validation import check_is_fitted


class PriorBalancedClassifier(ClassifierMixin, BaseEstimator):
    """Wrap a binary probabilistic classifier and rebalance its probabilities to equal priors.

    Args:
        estimator: a classifier with ``predict_proba`` (cloned on fit).

    Attributes (after ``fit``):
        estimator_: the fitted classifier; classes_: the two classes;
        priors_: training frequency of each class.
    """

    def __init__(self, estimator: BaseEstimator) -> None:
        self.estimator = estimator

    def fit(self, X: np.ndarray, y: np.ndarray):
        """Fit the wrapped classifier and record the class priors."""
        y = np.asarray(y).ravel()
        self.estimator_ = clone(self.estimator).fit(X, y)
        self.classes_ = self.estimator_.classes_
        if len(self.classes_) != 2:
            raise ValueError("PriorBalancedClassifier handles two classes")
        self.priors_ = np.array([np.mean(y == c) for c in self.classes_])
        self.n_features_in_ = getattr(self.estimator_, "n_features_in_", None)
        return self

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        """Probabilities of the two classes as if both were equally frequent."""
        check_is_fitted(self, "estimator_")
        weighted = self.estimator_.predict_proba(X) / self.priors_
        return weighted / weighted.sum(axis=1, keepdims=True)

    def predict(self, X: np.ndarray) -> np.ndarray:
        """The class whose rebalanced probability is at least 0.5."""
        return self.classes_[(self.predict_proba(X)[:, 1] >= 0.5).astype(int)]
