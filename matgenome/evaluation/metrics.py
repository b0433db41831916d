"""Metrics of one test set: regression, classification, censored bounds, uncertainty.

Censored targets (a bound, ``censor`` ``<`` or ``>``; see :mod:`matgenome.censoring`)
never enter the headline regression metrics: MAE, RMSE, R2 and Spearman are computed on
exact rows only. Bounds are scored separately (:func:`censored_metrics`, :func:`hinge_mae`),
and in the conductivity classifier view an upper bound below the threshold is a known
negative. :func:`score_predictions` computes every metric that applies from a
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

from matgenome.censoring import (
    EXACT,
    UPPER,
    as_censor,
    censor_of,
    is_exact,
    lower_bounds,
    upper_bounds,
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


RELIABILITY_BINS = 10


def probability_metrics(y_true: Sequence[float], probability: Sequence[float],
                        labels: Sequence[float] | None = None) -> dict[str, Any]:
    """Scores of a probability of the positive class: ROC-AUC, log loss, Brier score and
    balanced accuracy of the model's labels (``labels``, e.g. thresholded at the training
    share of the positive class; default: at 0.5), with ``balanced_accuracy_at_0.5`` (the
    Matbench-leaderboard convention: labels are ``probability >= 0.5``) beside it."""
    truth = np.asarray(y_true).astype(bool)
    p = np.clip(_as_float(probability), 1e-15, 1 - 1e-15)
    scores = classification_metrics(truth, p, 0.5)
    at_half = scores["balanced_accuracy"]
    if labels is not None:
        own = _as_float(labels).astype(bool)
        both = len(np.unique(truth)) == 2
        scores["balanced_accuracy"] = (float(balanced_accuracy_score(truth, own)) if both
                                       else math.nan)
        scores["mcc"] = float(matthews_corrcoef(truth, own)) if len(truth) else math.nan
        scores["accuracy"] = float(accuracy_score(truth, own)) if len(truth) else math.nan
    scores["balanced_accuracy_at_0.5"] = at_half
    n = len(truth)
    scores["log_loss"] = float(-np.mean(np.where(truth, np.log(p), np.log(1 - p)))) \
        if n else math.nan
    scores["brier"] = float(np.mean((p - truth) ** 2)) if n else math.nan
    return scores


def reliability_table(y_true: Sequence[float], probability: Sequence[float],
                      bins: int = RELIABILITY_BINS) -> list[dict[str, float]]:
    """Rows per probability bin (equal widths): rows, mean predicted probability and the
    observed share of the positive class (a calibrated model has the two equal)."""
    truth = np.asarray(y_true).astype(bool)
    p = _as_float(probability)
    edges = np.linspace(0, 1, bins + 1)
    which = np.clip(np.digitize(p, edges[1:-1]), 0, bins - 1)
    table = []
    for b in range(bins):
        rows = which == b
        if rows.any():
            table.append({"low": float(edges[b]), "high": float(edges[b + 1]),
                          "n": int(rows.sum()), "mean_probability": float(p[rows].mean()),
                          "observed_share": float(truth[rows].mean())})
    return table


def conductivity_classification_metrics(
    y_true: Sequence[float],
    y_pred: Sequence[float],
    censor: Sequence[str] | None = None,
    threshold: float = CONDUCTIVITY_THRESHOLD,
) -> dict[str, float]:
    """Classifier view of a log10 conductivity model: fast conductor if ``>= threshold``.

    The predicted mean is the score. A bound (``censor`` ``<`` or ``>``, see
    :mod:`matgenome.censoring`) is kept where it decides the class: an upper bound below
    the threshold is a known negative, a lower bound at or above it a known positive. Other
    bounds are dropped, since their class is unknown.
    """
    y_true, y_pred = _as_float(y_true), _as_float(y_pred)
    censor = np.full(len(y_true), EXACT) if censor is None else as_censor(censor)
    keep = (is_exact(censor) | (upper_bounds(censor) & (y_true < threshold))
            | (lower_bounds(censor) & (y_true >= threshold)))
    return classification_metrics(y_true[keep] >= threshold, y_pred[keep], threshold)


def censored_metrics(bound: Sequence[float], y_pred: Sequence[float],
                     censor: Sequence[str] | None = None) -> dict[str, float]:
    """Score predictions for bound-only targets: on the right side of the bound is correct.

    ``censor`` gives each bound's direction (default: every row an upper bound). Returns the
    fraction on the right side (``fraction_below_bound`` for upper bounds, as before, and
    ``fraction_above_bound`` where there are lower bounds) and the mean excess over every
    bound (the error the bound proves; 0 when every prediction respects its bound).
    """
    bound, y_pred = _as_float(bound), _as_float(y_pred)
    censor = np.full(len(bound), UPPER) if censor is None else as_censor(censor)
    excess = _bound_excess(bound, y_pred, censor)
    upper, lower = upper_bounds(censor), lower_bounds(censor)
    n = len(bound)
    scores = {
        "n": n,
        "fraction_below_bound": float(np.mean(excess[upper] == 0)) if upper.any() else math.nan,
        "mean_excess": float(np.mean(excess)) if n else math.nan,
    }
    if lower.any():
        scores["fraction_above_bound"] = float(np.mean(excess[lower] == 0))
    return scores


def hinge_mae(y_true: Sequence[float], y_pred: Sequence[float],
              censor: Sequence[str]) -> float:
    """MAE over every row, a bound counting only the error it proves.

    An upper bound counts ``max(0, pred - bound)``, a lower bound ``max(0, bound - pred)``.
    This scores the bound-only rows that the plain MAE leaves out: a known insulator
    predicted three decades above its bound adds three decades of error.
    """
    y_true, y_pred = _as_float(y_true), _as_float(y_pred)
    censor = as_censor(censor)
    error = np.where(is_exact(censor), np.abs(y_pred - y_true),
                     _bound_excess(y_true, y_pred, censor))
    return float(np.mean(error)) if len(error) else math.nan


def _bound_excess(bound: np.ndarray, y_pred: np.ndarray, censor: np.ndarray) -> np.ndarray:
    """How far each prediction lies on the wrong side of its bound (0 on the right side)."""
    return np.where(lower_bounds(censor), np.maximum(bound - y_pred, 0.0),
                    np.maximum(y_pred - bound, 0.0))


# Nominal levels over which the miscalibration area is averaged (Tran et al. 2020).
CALIBRATION_LEVELS = np.linspace(0.01, 0.99, 99)


def interval_coverage(z: Sequence[float], levels: Sequence[float]) -> np.ndarray:
    """Observed fraction of standardised errors ``z = (y - mean) / std`` inside the central
    Gaussian interval of each nominal level (NaN with no finite z).

    The one definition of coverage: evaluation metrics, the calibration figure and the
    campaign report all use it.
    """
    z = np.abs(np.asarray(z, dtype=float))
    z = z[np.isfinite(z)]
    levels = np.asarray(levels, dtype=float)
    if len(z) == 0:
        return np.full(len(levels), np.nan)
    return np.mean(z[None, :] <= stats.norm.ppf(0.5 + levels / 2)[:, None], axis=1)


def miscalibration_area(z: Sequence[float]) -> float:
    """Mean absolute gap between observed and nominal coverage over
    :data:`CALIBRATION_LEVELS` (0 is perfect, 0.5 the worst)."""
    return float(np.mean(np.abs(interval_coverage(z, CALIBRATION_LEVELS)
                                - CALIBRATION_LEVELS)))


def standardised_errors(y_true: Sequence[float], y_pred: Sequence[float],
                        y_std: Sequence[float]) -> np.ndarray:
    """``(y_pred - y_true) / y_std``, a zero std counting as 1e-12 (a confident miss)."""
    y_true, y_pred, y_std = _as_float(y_true), _as_float(y_pred), _as_float(y_std)
    return (y_pred - y_true) / np.maximum(y_std, 1e-12)


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
    z = standardised_errors(y_true, y_pred, y_std)
    result: dict[str, float] = {"n": len(y_true)}
    for level, observed in zip(INTERVAL_LEVELS, interval_coverage(z, INTERVAL_LEVELS),
                               strict=True):
        result[f"coverage_{round(level * 100)}"] = float(observed)
    result["miscalibration_area"] = miscalibration_area(z)
    result["mean_std"] = float(np.mean(y_std))
    result["spearman_error_std"] = _spearman(np.abs(y_pred - y_true), y_std)
    return result


def score_predictions(
    predictions: pd.DataFrame, task: str = "regression", conductivity: bool = False
) -> dict[str, Any]:
    """All metrics of one test set from a per-row prediction table.

    ``predictions`` has ``y_true`` and ``y_pred`` (and optionally ``censor``, ``y_std``;
    for classification ``y_pred`` is the probability of the positive class).
    """
    if task == "classification":
        truth, score = predictions["y_true"], predictions["y_pred"]
        if "y_class" not in predictions:
            return {"classification": classification_metrics(truth, score)}
        # A model with its own labels (matgenome train: threshold at the training share).
        return {"classification": probability_metrics(truth, score, predictions["y_class"]),
                "reliability": reliability_table(truth, score)}
    censor = censor_of(predictions)
    bound = ~is_exact(censor)
    exact = predictions[~bound]
    scores: dict[str, Any] = {
        "regression": regression_metrics(exact["y_true"], exact["y_pred"]),
        "n_censored": int(bound.sum()),
    }
    if bound.any():
        held = predictions[bound]
        scores["censored"] = censored_metrics(held["y_true"], held["y_pred"], censor[bound])
        scores["regression"]["hinge_mae_all"] = hinge_mae(
            predictions["y_true"], predictions["y_pred"], censor)
    if conductivity:
        scores["conductivity_classification"] = conductivity_classification_metrics(
            predictions["y_true"], predictions["y_pred"], censor
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
        if isinstance(values[0], list):  # tables (reliability) are kept pooled only
            continue
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
