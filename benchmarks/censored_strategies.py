"""Research strategies for upper-bound (censored) targets that invent a number for the bound.

OBELiX reports 37 conductivities as ``<1E-10`` S/cm: the material conducts too poorly to
measure, and the number is a bound, not a measurement. :class:`CensoredRegressor` wraps any
regressor and decides what the wrapped model sees for those rows:

``drop``
    train on the uncensored rows only (the bound carries no number);
``bound``
    use the bound as if it were the value;
``offset``
    use ``bound - offset`` (the true value lies somewhere below the bound);
``iterative``
    fit on the uncensored rows, then replace each bound by ``min(prediction, bound)`` and
    refit, ``n_iter`` times: a bound only pulls a prediction down when it is violated;
``tobit``
    like ``iterative`` but with the expectation of a normal variable truncated at the bound,
    ``mu - s * phi(a) / Phi(a)`` with ``a = (bound - mu) / s`` and ``s`` the scatter of
    the uncensored residuals (a Tobit-style conditional mean).

``fit(X, y, censored=mask)`` is the interface ``matgenome.evaluation`` uses to hand over
censored rows; without ``censored`` every row counts as a measurement.

Every imputation above made the measured rows worse on OBELiX (grouped CV inside the
training split, ``benchmarks/results/select_obelix_model.json``), so the package ships
:class:`matgenome.models.censored.CensoredHurdleRegressor` instead and this class lives
with the benchmarks that compare them (``select_obelix_model.py``, ``select_censored.py``).
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np
from scipy import special, stats
from sklearn.base import BaseEstimator, RegressorMixin, clone
from sklearn.utils import get_tags
from sklearn.utils.validation import check_is_fitted, validate_data

_STRATEGIES = ("drop", "bound", "offset", "iterative", "tobit")


class CensoredRegressor(RegressorMixin, BaseEstimator):
    """Wrap a regressor so that upper-bound targets are handled by a chosen strategy.

    Args:
        estimator: the regressor to train (cloned; never modified).
        strategy: ``drop``, ``bound``, ``offset``, ``iterative`` or ``tobit``.
        offset: how far below the bound to place censored rows for ``offset``.
        n_iter: refits for ``iterative`` and ``tobit``.
        noise_std: ``s`` for ``tobit``; default: the std of the uncensored residuals of
            the first fit.

    Attributes (after ``fit``):
        estimator_: the fitted regressor; imputed_targets_: the values used for the
        censored rows (empty for ``drop``).
    """

    # Asked for by default: the bounds are what this estimator is for (metadata routing).
    __metadata_request__fit: ClassVar[dict[str, bool]] = {"censored": True}

    def __init__(
        self,
        estimator: BaseEstimator,
        strategy: str = "drop",
        offset: float = 1.0,
        n_iter: int = 2,
        noise_std: float | None = None,
    ) -> None:
        self.estimator = estimator
        self.strategy = strategy
        self.offset = offset
        self.n_iter = n_iter
        self.noise_std = noise_std

    def fit(self, X: np.ndarray, y: np.ndarray, censored: np.ndarray | None = None):
        """Fit on ``X, y``; rows flagged in ``censored`` hold upper bounds."""
        if self.strategy not in _STRATEGIES:
            raise ValueError(f"strategy must be one of {_STRATEGIES}, got {self.strategy!r}")
        X, y = validate_data(self, X, y, y_numeric=True, ensure_all_finite=self._finite())
        censored = np.zeros(len(y), bool) if censored is None else np.asarray(censored, bool)
        if not censored.any():
            self.estimator_ = clone(self.estimator).fit(X, y)
            self.imputed_targets_ = np.zeros(0)
            return self
        if self.strategy == "drop":
            self.estimator_ = clone(self.estimator).fit(X[~censored], y[~censored])
            self.imputed_targets_ = np.zeros(0)
            return self
        targets = self._impute(X, y, censored)
        self.estimator_ = clone(self.estimator).fit(X, targets)
        self.imputed_targets_ = targets[censored]
        return self

    def predict(self, X: np.ndarray, return_std: bool = False):
        """Predict with the wrapped model (passing ``return_std`` through)."""
        check_is_fitted(self, "estimator_")
        X = validate_data(self, X, reset=False, ensure_all_finite=self._finite())
        if return_std:
            return self.estimator_.predict(X, return_std=True)
        return self.estimator_.predict(X)

    def predict_uncertainty(self, X: np.ndarray) -> dict[str, np.ndarray]:
        """The wrapped model's uncertainty parts (it must provide them)."""
        check_is_fitted(self, "estimator_")
        X = validate_data(self, X, reset=False, ensure_all_finite=self._finite())
        return self.estimator_.predict_uncertainty(X)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = get_tags(self.estimator).input_tags.allow_nan
        return tags

    def _finite(self) -> bool | str:
        return "allow-nan" if get_tags(self.estimator).input_tags.allow_nan else True

    def _impute(self, X: np.ndarray, y: np.ndarray, censored: np.ndarray) -> np.ndarray:
        """Values that stand in for the censored targets during training."""
        bound = y[censored]
        targets = y.copy()
        if self.strategy == "bound":
            return targets
        if self.strategy == "offset":
            targets[censored] = bound - self.offset
            return targets
        model = clone(self.estimator).fit(X[~censored], y[~censored])
        scatter = self.noise_std
        if scatter is None:
            scatter = max(float(np.std(y[~censored] - model.predict(X[~censored]))), 1e-3)
        for _ in range(self.n_iter):
            mean = model.predict(X[censored])
            targets[censored] = self._below_bound(mean, bound, scatter)
            model = clone(self.estimator).fit(X, targets)
        return targets

    def _below_bound(self, mean: np.ndarray, bound: np.ndarray, scatter: float) -> np.ndarray:
        if self.strategy == "iterative":
            return np.minimum(mean, bound)
        a = (bound - mean) / scatter
        # Inverse Mills ratio pdf(a) / cdf(a) in log space: stable far below the mean too.
        mills = np.exp(stats.norm.logpdf(a) - special.log_ndtr(a))
        return mean - scatter * mills
