"""Metrics of one test set: regression, classification, censored bounds, uncertainty.

Censored targets (an upper bound stored with ``censored=True``) never enter the headline
regression metrics: MAE, RMSE, R2 and Spearman are computed on uncensored rows only.
Censored rows are scored separately (:func:`censored_metrics`, :func:`hinge_mae`), and in
the conductivity classifier view a censored row is a known negative when its bound is
below the threshold. :func:`score_predictions` computes every metric that applies from a
per-row prediction table; :func:`summarise_folds` gives their mean and population
standard deviation (ddof=0) over folds.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats
from sklearn.metrics import (
    accuracy_score,
    balanced_accuracy_score,
    matthews_corrcoef,
    r2_score,
    roc_auc_score,
)

#: log10(sigma / S cm-1) at and above which an electrolyte counts as a fast conductor.
CONDUCTIVITY_THRESHOLD = -4.0
#: Nominal coverages of the central intervals whose observed coverage is reported.
INTERVAL_LEVELS = (0.68, 0.95)


def regression_metrics(y_true: Sequence[float], y_pred: Sequence[float]) -> dict[str, float]:
    """MAE, RMSE, R2 and Spearman rank correlation (``n`` rows)."""
    y_true, y_pred = _as_float(y_true), _as_float(y_pred)
    error = y_pred - y_true
    n = len(y_true)
    return {
        "n": n,
        "mae": float(np.mean(np.abs(error))) if n else math.nan,
        "rmse": float(np.sqrt(np.mean(error**2))) if n else math.nan,
        "r2": float(r2_score(y_true, y_pred)) if n > 1 else math.nan,
        "spearman": _spearman(y_true, y_pred),
    }


def classification_metrics(
    y_true: Sequence[float], score: Sequence[float], threshold: float = 0.5
) -> dict[str, float]:
    """ROC-AUC of a score and balanced accuracy, MCC and accuracy of ``score >= threshold``.

    ``score`` is a probability (Matbench classification: threshold 0.5) or any value that
    grows with the positive class (conductivity view: predicted log10 sigma).
    """
    truth = np.asarray(y_true).astype(bool)
    score = _as_float(score)
    labels = score >= threshold
    both = len(np.unique(truth)) == 2
    return {
        "n": len(truth),
        "roc_auc": float(roc_auc_score(truth, score)) if both else math.nan,
        "balanced_accuracy": float(balanced_accuracy_score(truth, labels)) if both else math.nan,
        "mcc": float(matthews_corrcoef(truth, labels)) if len(truth) else math.nan,
        "accuracy": float(accuracy_score(truth, labels)) if len(truth) else math.nan,
    }


def conductivity_classification_metrics(
    y_true: Sequence[float],
    y_pred: Sequence[float],
    censored: Sequence[bool] | None = None,
    threshold: float = CONDUCTIVITY_THRESHOLD,
) -> dict[str, float]:
    """Classifier view of a log10 conductivity model: fast conductor if ``>= threshold``.

    The predicted mean is the score. A censored row (``y_true`` an upper bound) is kept as a
    known negative when its bound is below the threshold and dropped otherwise, since its
    class is then unknown.
    """
    y_true, y_pred = _as_float(y_true), _as_float(y_pred)
    censored = np.zeros(len(y_true), bool) if censored is None else np.asarray(censored, bool)
    keep = ~censored | (y_true < threshold)
    return classification_metrics(y_true[keep] >= threshold, y_pred[keep], threshold)


def censored_metrics(bound: Sequence[float], y_pred: Sequence[float]) -> dict[str, float]:
    """Score predictions for upper-bound targets: at or below the bound counts as correct.

    Returns the fraction correct and the mean excess ``max(pred - bound, 0)`` (the error
    the bound proves; 0 when every prediction respects its bound).
    """
    bound, y_pred = _as_float(bound), _as_float(y_pred)
    excess = np.maximum(y_pred - bound, 0.0)
    n = len(bound)
    return {
        "n": n,
        "fraction_below_bound": float(np.mean(excess == 0)) if n else math.nan,
        "mean_excess": float(np.mean(excess)) if n else math.nan,
    }


def hinge_mae(y_true: Sequence[float], y_pred: Sequence[float],
              censored: Sequence[bool]) -> float:
    """MAE over every row, a censored (upper-bound) row counting ``max(0, pred - bound)``.

    This scores the bound-only rows that the plain MAE leaves out: a known insulator
    predicted three decades above its bound adds three decades of error.
    """
    y_true, y_pred = _as_float(y_true), _as_float(y_pred)
    censored = np.asarray(censored, dtype=bool)
    error = np.where(censored, np.maximum(y_pred - y_true, 0.0), np.abs(y_pred - y_true))
    return float(np.mean(error)) if len(error) else math.nan


def uncertainty_metrics(
    y_true: Sequence[float], y_pred: Sequence[float], y_std: Sequence[float]
) -> dict[str, float]:
    """Calibration of Gaussian predictive intervals ``y_pred ± z * y_std``.

    Returns the observed coverage of the 68% and 95% central intervals, the miscalibration
    area (mean absolute gap between observed and expected coverage over central intervals
    at levels 0.01..0.99, as in Tran et al. 2020; 0 is perfect, 0.5 the worst), the mean
    predicted std, and the Spearman correlation between |error| and std (does the model
    know when it is wrong?).
    """
    y_true, y_pred, y_std = _as_float(y_true), _as_float(y_pred), _as_float(y_std)
    if len(y_true) == 0:
        return {"n": 0}
    z = np.abs(y_pred - y_true) / np.maximum(y_std, 1e-12)
    result: dict[str, float] = {"n": len(y_true)}
    for level in INTERVAL_LEVELS:
        inside = z <= stats.norm.ppf(0.5 + level / 2)
        result[f"coverage_{round(level * 100)}"] = float(np.mean(inside))
    levels = np.linspace(0.01, 0.99, 99)
    observed = np.mean(z[None, :] <= stats.norm.ppf(0.5 + levels / 2)[:, None], axis=1)
    result["miscalibration_area"] = float(np.mean(np.abs(observed - levels)))
    result["mean_std"] = float(np.mean(y_std))
    result["spearman_error_std"] = _spearman(np.abs(y_pred - y_true), y_std)
    return result


def score_predictions(
    predictions: pd.DataFrame, task: str = "regression", conductivity: bool = False
) -> dict[str, Any]:
    """All metrics of one test set from a per-row prediction table.

    ``predictions`` has ``y_true`` and ``y_pred`` (and optionally ``censored``, ``y_std``;
    for classification ``y_pred`` is the probability of the positive class).
    """
    if task == "classification":
        truth, score = predictions["y_true"], predictions["y_pred"]
        return {"classification": classification_metrics(truth, score)}
    censored = predictions.get("censored", pd.Series(False, index=predictions.index))
    censored = censored.to_numpy(dtype=bool)
    exact = predictions[~censored]
    scores: dict[str, Any] = {
        "regression": regression_metrics(exact["y_true"], exact["y_pred"]),
        "n_censored": int(censored.sum()),
    }
    if censored.any():
        held = predictions[censored]
        scores["censored"] = censored_metrics(held["y_true"], held["y_pred"])
        scores["regression"]["hinge_mae_all"] = hinge_mae(
            predictions["y_true"], predictions["y_pred"], censored)
    if conductivity:
        scores["conductivity_classification"] = conductivity_classification_metrics(
            predictions["y_true"], predictions["y_pred"], censored
        )
    # A model whose std is zero everywhere (e.g. a constant baseline) states no uncertainty.
    has_std = "y_std" in predictions and predictions["y_std"].notna().all()
    if has_std and (predictions["y_std"] > 0).any():
        scores["uncertainty"] = uncertainty_metrics(
            exact["y_true"], exact["y_pred"], exact["y_std"]
        )
    return scores


def summarise_folds(fold_scores: list[dict[str, Any]]) -> dict[str, Any]:
    """Mean and population std (ddof=0) of every numeric metric over folds."""
    sections = dict.fromkeys(name for scores in fold_scores for name in scores)
    summary: dict[str, Any] = {}
    for section in sections:
        # A section missing from a fold (e.g. no censored test rows) is left out of its mean.
        values = [scores[section] for scores in fold_scores if section in scores]
        if isinstance(values[0], dict):
            names = dict.fromkeys(name for value in values for name in value)
            summary[section] = {
                name: _mean_std([value.get(name, math.nan) for value in values])
                for name in names
            }
        else:
            summary[section] = _mean_std(values)
    return summary


def _as_float(values: Sequence[float]) -> np.ndarray:
    return np.asarray(values, dtype=float).ravel()


def _spearman(a: np.ndarray, b: np.ndarray) -> float:
    if len(a) < 3 or np.ptp(a) == 0 or np.ptp(b) == 0:
        return math.nan
    return float(stats.spearmanr(a, b).statistic)


def _mean_std(values: list[Any]) -> dict[str, float]:
    numbers = np.asarray([v for v in values if isinstance(v, int | float)], dtype=float)
    numbers = numbers[np.isfinite(numbers)]
    if len(numbers) == 0:
        return {"mean": math.nan, "std": math.nan}
    return {"mean": float(numbers.mean()), "std": float(numbers.std(ddof=0))}
