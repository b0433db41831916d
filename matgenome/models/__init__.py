"""Regressors from compositions to a property, with a mean and an uncertainty per row.

A model is a scikit-learn ``Pipeline``: a ``CompositionFeaturizer`` followed by a
regressor whose ``predict(X, return_std=True)`` returns the mean and one standard deviation.
``predict_formulas`` scores any list of formulas without stopping at bad ones.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from sklearn.pipeline import Pipeline

from matgenome.models.forest import UncertainForestRegressor

__all__ = ["Prediction", "UncertainForestRegressor", "make_model", "predict_formulas"]

DEFAULT_PRESET = "magpie"


@dataclass
class Prediction:
    """Predictions for a batch of rows, aligned with the input.

    ``mean`` and ``std`` (one standard deviation of the prediction, in target units) are
    NaN where the row could not be scored, and ``error`` says why ("" where scored).
    ``noise`` is the model's estimate of the observation noise, kept apart from ``std``.
    With a domain model, ``in_domain``, ``domain_distance`` and ``domain_reason`` say
    whether each row resembles the training data (the prediction is never altered).
    """

    mean: np.ndarray
    std: np.ndarray
    error: list[str]
    noise: np.ndarray = field(default_factory=lambda: np.empty(0))
    in_domain: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=bool))
    domain_distance: np.ndarray = field(default_factory=lambda: np.empty(0))
    domain_reason: list[str] = field(default_factory=list)

    @property
    def scored(self) -> np.ndarray:
        return np.array([not e for e in self.error], dtype=bool)


def make_model(
    preset: str = DEFAULT_PRESET,
    n_estimators: int = 300,
    kind: str = "random_forest",
    max_features: float | str | None = 1.0,
    min_samples_leaf: int = 1,
    random_state: int | None = 0,
    n_jobs: int | None = None,
    regressor: Any = None,
) -> Pipeline:
    """A composition -> property pipeline: featurizer plus calibrated tree ensemble.

    ``regressor`` replaces the default ``UncertainForestRegressor`` (and its settings here)
    with any regressor whose ``predict(X, return_std=True)`` gives a mean and a std, such as
    a recipe's model from ``matgenome.models.recipes``.
    """
    from matgenome.features import CompositionFeaturizer

    if regressor is None:
        regressor = UncertainForestRegressor(
            n_estimators=n_estimators,
            kind=kind,
            max_features=max_features,
            min_samples_leaf=min_samples_leaf,
            random_state=random_state,
            n_jobs=n_jobs,
        )
    return Pipeline([("features", CompositionFeaturizer(preset=preset)),
                     ("regressor", regressor)])


def predict_formulas(
    estimator: Pipeline, formulas: Iterable[object], domain: Any = None
) -> Prediction:
    """Predict every formula; rows that fail to parse or featurize get NaN and a reason.

    The formulas are featurized once, in bulk, with the pipeline's own preset, and only the
    rows that featurized are passed to the regressor (and to ``domain``, a fitted
    ``matgenome.domain.DomainModel``, when given).
    """
    from matgenome.features import compute_features

    featurizer, regressor = estimator[0], estimator[-1]
    formulas = list(formulas)
    X, errors = compute_features(formulas, preset=featurizer.preset)
    n = len(errors)
    mean, std, noise = np.full(n, np.nan), np.full(n, np.nan), np.full(n, np.nan)
    good = np.array([not e for e in errors], dtype=bool)
    if good.any():
        if hasattr(regressor, "predict_components"):
            m, epistemic, observation = regressor.predict_components(X[good])
            mean[good], noise[good] = m, observation
            std[good] = np.sqrt(epistemic**2 + observation**2)
        else:
            mean[good], std[good] = regressor.predict(X[good], return_std=True)
    not_finite = good & ~(np.isfinite(mean) & np.isfinite(std))
    for i in np.flatnonzero(not_finite):
        errors[i] = "the model returned a non-finite prediction"
        mean[i] = std[i] = noise[i] = np.nan
    prediction = Prediction(mean=mean, std=std, error=list(errors), noise=noise)
    if domain is not None:
        _assess_domain(prediction, domain, formulas, X, good)
    return prediction


def _assess_domain(prediction: Prediction, domain: Any, formulas: list[object],
                   X: np.ndarray, good: np.ndarray) -> None:
    n = len(formulas)
    prediction.in_domain = np.zeros(n, dtype=bool)
    prediction.domain_distance = np.full(n, np.nan)
    prediction.domain_reason = ["not scored" if not ok else "" for ok in good]
    if not good.any():
        return
    rows = np.flatnonzero(good)
    assessed = domain.assess([formulas[i] for i in rows], X[good])
    prediction.in_domain[rows] = assessed["in_domain"].to_numpy(bool)
    prediction.domain_distance[rows] = assessed["domain_distance"].to_numpy(float)
    for i, reason in zip(rows, assessed["reasons"], strict=True):
        prediction.domain_reason[i] = reason
