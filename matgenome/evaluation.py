"""Evaluate composition-property models with leakage-free protocols and honest metrics.

Protocols (each a list of ``(train_rows, test_rows)`` index pairs, see :func:`make_splits`):

``obelix``
    the official OBELiX train/test split (478/121 rows; no composition or paper shared);
``matbench_<task>``
    the five official Matbench folds: train on ``fold != k``, test on ``fold == k``; fold
    metrics are summarised as mean and population standard deviation (ddof=0);
``kfold``
    random K-fold cross-validation over unique compositions;
``group``
    grouped K-fold by a column (crystal family, source DOI, ...): no group is split;
``loco``
    leave-one-cluster-out (Meredig et al., Mol. Syst. Des. Eng. 3, 819 (2018)): k-means
    clusters of the standardised descriptors, each cluster held out once.

Every split is made by unique reduced composition: all rows of one composition land in the
same fold, and :func:`check_leakage` reports any composition or group shared between a
training and a test set (``run_protocol`` refuses to score a leaking split unless told to,
as for the official splits, where the shared compositions are recorded in the notes: the
OBELiX split has two, e.g. ``Li10.2Ge1.2P1.8S12`` in train is ``Li3.4Ge0.4P0.6S4`` in test).

Censored targets (OBELiX ``<1E-10``: an upper bound, stored as the bound with
``censored=True``) never enter the headline regression metrics: MAE, RMSE, R2 and Spearman
are computed on uncensored test rows only. Censored rows are scored separately: a prediction
at or below the bound counts as correct (``censored_metrics``), and in the conductivity
classifier view a censored row is a known negative when its bound is below the threshold.

Every run returns an :class:`EvaluationResult` holding the protocol, the model parameters,
the metrics (per fold, their mean and population std, and pooled over all out-of-fold
rows), the per-row predictions, a SHA-256 hash of the data and the versions of the
software; ``write_json`` stores it atomically and ``table`` formats it for a terminal.
"""

from __future__ import annotations

import json
import logging
import math
import os
import platform
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats
from sklearn import config_context
from sklearn.cluster import KMeans
from sklearn.metrics import (
    accuracy_score,
    balanced_accuracy_score,
    matthews_corrcoef,
    r2_score,
    roc_auc_score,
)
from sklearn.model_selection import GroupKFold, KFold
from sklearn.utils.metadata_routing import get_routing_for_object

from matgenome.composition import KEY_DECIMALS, CompositionError, CompositionKey, parse_many

Split = tuple[np.ndarray, np.ndarray]

log = logging.getLogger("matgenome")

#: log10(sigma / S cm-1) at and above which an electrolyte counts as a fast conductor.
CONDUCTIVITY_THRESHOLD = -4.0
#: Nominal coverages of the central intervals whose observed coverage is reported.
INTERVAL_LEVELS = (0.68, 0.95)
PROTOCOLS = ("obelix", "matbench", "kfold", "group", "loco")
RESULT_SCHEMA = "matgenome.evaluation/1"
_DISTRIBUTIONS = {"sklearn": "scikit-learn"}


# --------------------------------------------------------------------------- composition keys


def composition_labels(formulas: Sequence[object]) -> np.ndarray:
    """One text label per formula: ``str`` of its :class:`~matgenome.composition.CompositionKey`.

    Formulas that describe the same composition (``Li2O``, ``OLi2``, ``Li4O2``,
    ``Li0.5O0.25``) share a label, e.g. ``Li0.666667 O0.333333``. Unparseable formulas keep
    their stripped text after a ``?``, so they still group with identical spellings. Text
    labels sort and compare like any group label (splits, JSON result files); each
    distinct spelling is parsed once.
    """
    cache: dict[object, str] = {}
    labels = []
    for formula in formulas:
        if formula not in cache:
            try:
                cache[formula] = str(CompositionKey.of(formula, KEY_DECIMALS))
            except CompositionError:
                cache[formula] = f"?{str(formula).strip()}"
        labels.append(cache[formula])
    return np.asarray(labels, dtype=object)


# ------------------------------------------------------------------------------------ splits


def kfold_splits(keys: Sequence[str], n_splits: int = 5, random_state: int = 0) -> list[Split]:
    """Random K-fold over unique compositions: duplicates of a composition stay together."""
    keys = np.asarray(keys, dtype=object)
    unique, inverse = np.unique(keys, return_inverse=True)
    _check_n_splits(n_splits, len(unique), "unique compositions")
    folds = KFold(n_splits, shuffle=True, random_state=random_state)
    return [_rows_of(inverse, test_units) for _, test_units in folds.split(unique)]


def group_kfold_splits(
    keys: Sequence[str], groups: Sequence[object], n_splits: int = 5, random_state: int = 0
) -> list[Split]:
    """Grouped K-fold: no group and no composition is split between train and test.

    A composition reported in two groups (e.g. by two papers) would tie those groups
    together, so groups connected through a shared composition are merged first. Rows with
    a missing group form a group of their own composition.
    """
    units = connected_groups(keys, groups)
    n_units = len(np.unique(units))
    _check_n_splits(n_splits, n_units, "groups")
    folds = GroupKFold(n_splits, shuffle=True, random_state=random_state)
    rows = np.arange(len(units))
    return [(train, test) for train, test in folds.split(rows, groups=units)]


def cluster_splits(
    keys: Sequence[str], features: np.ndarray, n_clusters: int = 5, random_state: int = 0
) -> list[Split]:
    """Leave-one-cluster-out splits from k-means clusters in descriptor space.

    Clusters are fitted on one row per unique composition (mean descriptor), after
    replacing missing values by column medians and standardising each column; the
    clustering is unsupervised (it never sees a target) and only defines the folds. Each
    cluster is the test set once, so a model is scored on chemistry unlike its training
    data (Meredig et al. 2018).
    """
    keys = np.asarray(keys, dtype=object)
    features = np.asarray(features, dtype=float)
    unique, inverse = np.unique(keys, return_inverse=True)
    _check_n_splits(n_clusters, len(unique), "unique compositions")
    means = pd.DataFrame(features).groupby(inverse).mean().to_numpy()
    labels = KMeans(n_clusters, n_init=10, random_state=random_state).fit_predict(
        _standardise(means)
    )
    return [_rows_of(inverse, np.flatnonzero(labels == c)) for c in range(n_clusters)]


def connected_groups(keys: Sequence[str], groups: Sequence[object]) -> np.ndarray:
    """Label rows by connected component of the composition-group graph (union-find)."""
    keys = np.asarray(keys, dtype=object)
    parent: dict[object, object] = {}

    def find(node: object) -> object:
        while parent.setdefault(node, node) != node:
            parent[node] = parent[parent[node]]  # path halving keeps the trees flat
            node = parent[node]
        return node

    for key, group in zip(keys, groups, strict=True):
        root_key = find(("key", key))
        if not _is_missing(group):
            parent[find(("group", group))] = root_key
    roots = [find(("key", key)) for key in keys]
    _, labels = np.unique([repr(root) for root in roots], return_inverse=True)
    return labels


def make_splits(
    frame: pd.DataFrame,
    protocol: str,
    *,
    features: np.ndarray | None = None,
    group_column: str | None = None,
    n_splits: int = 5,
    random_state: int = 0,
) -> list[Split]:
    """Build the splits of a protocol for a table.

    Args:
        frame: the table, with ``formula`` and (per protocol) ``split``, ``fold`` or the
            group column.
        protocol: ``obelix`` (rows with ``split == "test"`` form the test set),
            ``matbench`` (the ``fold`` column), ``kfold``, ``group`` or ``loco``.
        features: the descriptors, needed for ``loco``.
        group_column: the column to group by for ``group`` (e.g. ``family`` or ``doi``).
        n_splits: folds for ``kfold`` and ``group``; clusters for ``loco``.
        random_state: seed of the fold assignment or clustering.
    """
    if protocol == "obelix":
        is_test = frame["split"].to_numpy() == "test"
        return [(np.flatnonzero(~is_test), np.flatnonzero(is_test))]
    if protocol == "matbench":
        fold = frame["fold"].to_numpy(dtype=int)
        return [(np.flatnonzero(fold != k), np.flatnonzero(fold == k)) for k in np.unique(fold)]
    keys = composition_labels(frame["formula"].tolist())
    if protocol == "kfold":
        return kfold_splits(keys, n_splits, random_state)
    if protocol == "group":
        if not group_column:
            raise ValueError("protocol 'group' needs group_column (e.g. 'family' or 'doi')")
        return group_kfold_splits(keys, frame[group_column].tolist(), n_splits, random_state)
    if protocol == "loco":
        if features is None:
            raise ValueError("protocol 'loco' needs the feature matrix to cluster")
        return cluster_splits(keys, features, n_splits, random_state)
    raise ValueError(f"unknown protocol {protocol!r}; expected one of {PROTOCOLS}")


@dataclass
class LeakageReport:
    """Compositions and groups found on both sides of a train/test split."""

    shared_compositions: list[str] = field(default_factory=list)
    shared_groups: list[str] = field(default_factory=list)

    @property
    def clean(self) -> bool:
        """True when nothing is shared."""
        return not self.shared_compositions and not self.shared_groups

    def describe(self) -> str:
        """A one-line summary fit for an error message."""
        if self.clean:
            return "no composition or group shared between train and test"
        parts = []
        if self.shared_compositions:
            shown = ", ".join(self.shared_compositions[:5])
            parts.append(f"{len(self.shared_compositions)} compositions ({shown})")
        if self.shared_groups:
            parts.append(f"{len(self.shared_groups)} groups ({', '.join(self.shared_groups[:5])})")
        return "shared between train and test: " + "; ".join(parts)


def check_leakage(
    keys: Sequence[str],
    train: np.ndarray,
    test: np.ndarray,
    groups: Sequence[object] | None = None,
) -> LeakageReport:
    """Report compositions (and groups, if given) present in both ``train`` and ``test``."""
    keys = np.asarray(keys, dtype=object)
    report = LeakageReport(sorted(set(keys[train]) & set(keys[test])))
    if groups is not None:
        values = np.asarray(groups, dtype=object)
        train_groups = {g for g in values[train] if not _is_missing(g)}
        test_groups = {g for g in values[test] if not _is_missing(g)}
        report.shared_groups = sorted(map(str, train_groups & test_groups))
    return report


# ----------------------------------------------------------------------------------- metrics


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


# ------------------------------------------------------------------------------ running models


def fit_model(model: Any, X: np.ndarray, y: np.ndarray, censored: np.ndarray,
              groups: Sequence[object] | None = None) -> Any:
    """Fit ``model``; censored rows go to models that request ``censored`` for ``fit``.

    Requests are scikit-learn metadata requests (``set_fit_request(censored=True)``, the
    default of matgenome's censored estimators), so a :class:`~sklearn.pipeline.Pipeline`
    ending in one of them receives the mask too. A model that does not request it is
    trained on the uncensored rows only: passing an upper bound as if it were a measurement
    would bias it. ``groups`` (e.g. papers) reach models that request them, for model
    selection inside the training rows.
    """
    wanted = _fit_requests(model)
    extra = {"groups": groups} if groups is not None and "groups" in wanted else {}
    if "censored" not in wanted:
        keep = ~censored
        X, y = X[keep], y[keep]
        if extra:
            extra["groups"] = [g for g, k in zip(groups, keep, strict=True) if k]
    else:
        extra["censored"] = censored
    with config_context(enable_metadata_routing=True):
        return model.fit(X, y, **extra)


def _fit_requests(model: Any) -> set[str]:
    """The metadata ``model.fit`` asks for, among ``censored`` and ``groups``."""
    with config_context(enable_metadata_routing=True):
        return set(get_routing_for_object(model).consumes("fit", ["censored", "groups"]))


def predict_model(model: Any, X: np.ndarray, task: str) -> dict[str, np.ndarray]:
    """Predict a test set: ``y_pred`` plus ``y_std`` (and its parts) where the model has them.

    Classification returns the probability of the positive class as ``y_pred``.
    """
    if task == "classification":
        if hasattr(model, "predict_proba"):
            return {"y_pred": np.asarray(model.predict_proba(X))[:, 1]}
        return {"y_pred": np.asarray(model.predict(X), dtype=float)}
    if hasattr(model, "predict_uncertainty"):
        from matgenome.models import predict_parts

        parts = predict_parts(model, X)
        return {"y_pred": parts["mean"], "y_std": parts["uncertainty"],
                "y_epistemic": parts["epistemic"], "y_noise": parts["noise"]}
    return {"y_pred": np.asarray(model.predict(X), dtype=float)}


@dataclass
class EvaluationResult:
    """The outcome of one evaluation run, ready to print or store as JSON."""

    dataset: str
    protocol: dict[str, Any]
    model: dict[str, Any]
    metrics: dict[str, Any]
    fold_metrics: list[dict[str, Any]]
    pooled_metrics: dict[str, Any]
    predictions: pd.DataFrame
    data_hash: str
    versions: dict[str, str]
    runtime_seconds: float
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dictionary (per-row predictions as a list of records)."""
        return _json_safe(
            {
                "schema": RESULT_SCHEMA,
                "dataset": self.dataset,
                "data_sha256": self.data_hash,
                "protocol": self.protocol,
                "model": self.model,
                "metrics": self.metrics,
                "fold_metrics": self.fold_metrics,
                "pooled_metrics": self.pooled_metrics,
                "notes": self.notes,
                "versions": self.versions,
                "runtime_seconds": self.runtime_seconds,
                # Column lists, not records: the column names are not repeated per row.
                "predictions": self.predictions.to_dict(orient="list"),
            }
        )

    def write_json(self, path: str | Path) -> Path:
        """Write the result atomically (temporary file + rename) and return the path."""
        return write_json_atomic(self.to_dict(), path)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> EvaluationResult:
        """Rebuild a result from :meth:`to_dict` output (e.g. a loaded JSON file)."""
        return cls(
            dataset=data["dataset"],
            protocol=data["protocol"],
            model=data["model"],
            metrics=data["metrics"],
            fold_metrics=data["fold_metrics"],
            pooled_metrics=data.get("pooled_metrics", {}),
            predictions=pd.DataFrame(data["predictions"]),
            data_hash=data["data_sha256"],
            versions=data["versions"],
            runtime_seconds=data["runtime_seconds"],
            notes=data.get("notes", []),
        )

    @classmethod
    def read_json(cls, path: str | Path) -> EvaluationResult:
        """Load a result written by :meth:`write_json`."""
        return cls.from_dict(json.loads(Path(path).read_text(encoding="utf-8")))

    def table(self) -> str:
        """The metrics as an aligned text table (mean ± std over folds where there are many)."""
        return format_metrics_table(self.metrics, title=f"{self.dataset} / {self.protocol['name']}")


def run_protocol(
    frame: pd.DataFrame,
    features: np.ndarray,
    make_model: Callable[[], Any],
    splits: list[Split],
    *,
    dataset: str = "table",
    protocol: dict[str, Any] | None = None,
    task: str = "regression",
    conductivity: bool = False,
    group_column: str | None = None,
    allow_leakage: bool = False,
    progress: Callable[[int], None] | None = None,
) -> EvaluationResult:
    """Train a fresh model on each training set and score it on the matching test set.

    Args:
        frame: the table (``formula``, ``target``, optional ``censored``, ``id``).
        features: the descriptors, one row per table row.
        make_model: builds an unfitted model (``fit``/``predict``; ``predict_proba`` for
            classification; ``predict(X, return_std=True)`` or ``predict_uncertainty`` for
            uncertainty metrics; ``fit(X, y, censored=...)`` to use censored rows).
        splits: ``(train_rows, test_rows)`` pairs, e.g. from :func:`make_splits`.
        dataset: name stored in the result.
        protocol: description stored in the result (``name`` at least).
        task: ``regression`` or ``classification``.
        conductivity: add the sigma >= 1e-4 S/cm classifier view (log10 targets).
        group_column: also check that no value of this column is shared across a split.
        allow_leakage: score leaking splits anyway (the leak is recorded in the notes).

    Raises:
        ValueError: a split shares a composition (or group) between train and test.
    """
    start = time.perf_counter()
    # Models on formulas (the training path) get an object array; others get descriptors.
    X = np.asarray(features, dtype=object if _holds_text(features) else float)
    y = frame["target"].to_numpy(dtype=float)
    censored = _censored(frame)
    keys = composition_labels(frame["formula"].tolist())
    groups = frame[group_column].tolist() if group_column else None
    # Papers (or the grouping column) also keep model selection inside a training set honest.
    fit_groups = frame["doi"].tolist() if "doi" in frame.columns else groups
    notes: list[str] = []
    rows, fold_scores, model = [], [], None
    for k, (train, test) in enumerate(splits):
        leak = check_leakage(keys, train, test, groups)
        if not leak.clean:
            if not allow_leakage:
                raise ValueError(f"fold {k}: {leak.describe()}")
            notes.append(f"fold {k}: {leak.describe()}")
        model = fit_model(make_model(), X[train], y[train], censored[train],
                          None if fit_groups is None else [fit_groups[i] for i in train])
        if hasattr(model, "recipe_"):  # the training path chose a recipe inside this fold
            notes.append(f"fold {k}: recipe {model.recipe_}")
        predicted = predict_model(model, X[test], task)
        table = _prediction_table(frame, keys, test, k, predicted)
        fold_scores.append(score_predictions(table, task, conductivity))
        rows.append(table)
        if progress is not None:
            progress(1)  # one split done
    predictions = pd.concat(rows, ignore_index=True)
    metrics = fold_scores[0] if len(splits) == 1 else summarise_folds(fold_scores)
    # Pooled out-of-fold scores weigh every row equally (LOCO clusters differ in size).
    pooled = score_predictions(predictions, task, conductivity) if len(splits) > 1 else {}
    if task == "regression" and censored.any():
        notes.append(
            "headline regression metrics use uncensored test rows only; censored rows are "
            "scored by 'censored' (a prediction at or below the bound counts as correct)"
        )
    return EvaluationResult(
        dataset=dataset,
        protocol={"name": "custom", "n_splits": len(splits), **(protocol or {})},
        model=describe_model(model),
        metrics=metrics,
        fold_metrics=fold_scores,
        pooled_metrics=pooled,
        predictions=predictions,
        data_hash=table_hash(frame),
        versions=software_versions(),
        runtime_seconds=round(time.perf_counter() - start, 3),
        notes=notes,
    )


def evaluate(
    dataset: str | pd.DataFrame,
    model: Callable[[], Any] | None = None,
    *,
    protocol: str | None = None,
    features: str | np.ndarray | Callable[[list[str]], np.ndarray] | None = None,
    group_column: str | None = None,
    n_splits: int = 5,
    random_state: int = 0,
    task: str | None = None,
    output: str | Path | None = None,
    progress: Callable[[int], None] | None = None,
    model_options: dict[str, Any] | None = None,
) -> EvaluationResult:
    """Evaluate a model on a shipped dataset or a table; the entry point of ``matgenome evaluate``.

    Args:
        dataset: a shipped dataset name (``obelix``, ``matbench_expt_gap``, ...) or a table
            with ``formula`` and ``target`` (optional ``censored``, grouping columns).
        model: a zero-argument factory of unfitted models; default: the recommended model
            for the task (:func:`default_model`).
        protocol: ``obelix``, ``matbench``, ``kfold``, ``group`` or ``loco``; default: the
            official protocol of a shipped dataset, ``kfold`` for a table.
        features: for a given ``model`` or a classification task: a feature preset name,
            a function of the formula list returning the matrix, or a precomputed matrix
            aligned with the table's rows; default: the featurizer of the dataset's recipe
            (``matgenome.models.recipes``), else the ``default`` preset. Regression
            without ``model`` uses the training path and its own features.
        group_column: the column for ``protocol="group"`` (``family`` or ``doi``).
        n_splits: folds (``kfold``, ``group``) or clusters (``loco``).
        random_state: seed of the fold assignment.
        task: ``regression`` or ``classification``; default: from the dataset.
        output: where to write the JSON result (atomically); nothing is written if None.
        progress: called with 1 after each split (for progress bars).
        model_options: with no ``model``, for regression: the options of ``matgenome
            train`` (``recipe``, ``preset``, ``kind``, ``censored``, ``n_estimators``,
            ``target``), so each fold trains exactly what ``train`` would
            (:class:`matgenome.training.TrainedModelRegressor`).
    """
    frame, name = load_table(dataset)
    # The validation of `matgenome train`: rows whose formula train would reject are
    # neither trained on nor scored.
    frame, rejected = drop_invalid_formulas(frame)
    task = task or frame.attrs.get("task", "regression")
    protocol = protocol or _default_protocol(name)
    formulas = frame["formula"].tolist()
    if model is None and task == "regression":
        # Each fold trains through `matgenome train`'s path, which featurizes by itself.
        model, X = _training_path(frame, name, model_options or {}, random_state)
        features, clustering = "chosen by the training path", None
    else:
        if features is None:
            features = _default_features(name)
        if isinstance(features, str):
            X = featurize(formulas, features)
        elif callable(features):
            X = np.asarray(features(formulas), dtype=float)
        else:
            X = np.asarray(features, dtype=float)
        clustering = X
    if protocol == "loco" and clustering is None:
        clustering = featurize(formulas, "default")
    splits = make_splits(
        frame, protocol, features=clustering, group_column=group_column,
        n_splits=n_splits, random_state=random_state,
    )
    description = {
        "name": protocol, "n_splits": len(splits), "random_state": random_state,
        "group_column": group_column,
        "features": features if isinstance(features, str) else getattr(
            features, "__qualname__", "precomputed"
        ),
        **({"model_options": model_options} if model_options else {}),
    }
    result = run_protocol(
        frame, X, model or (lambda: default_model(task, name)), splits,
        dataset=name, protocol=description, task=task, conductivity=name == "obelix",
        group_column=group_column if protocol == "group" else None,
        # The official splits are scored as published; a shared composition is recorded.
        allow_leakage=protocol in ("obelix", "matbench"), progress=progress,
    )
    if rejected:
        result.notes.insert(0, f"{len(rejected)} rows left out (invalid formula), e.g. "
                               f"{rejected[0]}")
    if output is not None:
        result.write_json(output)
    return result


def drop_invalid_formulas(frame: pd.DataFrame, first_row: int = 0,
                          ) -> tuple[pd.DataFrame, list[str]]:
    """The rows whose formula parses (as ``matgenome train`` requires), and one message per
    row left out (``row N: invalid formula ...``, rows counted from ``first_row``)."""
    _, errors = parse_many(frame["formula"].tolist())
    bad = [i for i, error in enumerate(errors) if error]
    if not bad:
        return frame, []
    messages = [f"row {i + first_row}: {errors[i]}" for i in bad]
    log.warning("left out %d rows with invalid formulas, e.g. %s", len(bad), messages[0])
    kept = frame.drop(index=frame.index[bad]).reset_index(drop=True)
    kept.attrs.update(frame.attrs)
    return kept, messages


def _training_path(frame: pd.DataFrame, name: str, options: dict[str, Any],
                   seed: int) -> tuple[Callable[[], Any], np.ndarray]:
    """The training path of ``matgenome train`` as a model factory on formulas."""
    from matgenome.training import TrainedModelRegressor, dataset_target

    options = {"seed": seed, **options}
    options.setdefault("target", dataset_target(frame) if name in _shipped() else None)

    def factory() -> TrainedModelRegressor:
        return TrainedModelRegressor(**options)

    return factory, frame["formula"].astype(str).to_numpy(dtype=object)


def _shipped() -> tuple[str, ...]:
    from matgenome.datasets import DATASETS

    return tuple(DATASETS)


def default_model(task: str, dataset: str = "") -> Any:
    """The recommended unfitted model for a task (see ``matgenome.models.recipes``)."""
    from matgenome.models.recipes import recommended_model

    return recommended_model(task, dataset)


def featurize(formulas: Sequence[str], preset: str = "default") -> np.ndarray:
    """Descriptors of formulas from ``matgenome.features`` (rows that fail are NaN)."""
    from matgenome.features import compute_features

    X, _errors = compute_features(list(formulas), preset)
    return np.asarray(X, dtype=float)


def load_table(dataset: str | pd.DataFrame) -> tuple[pd.DataFrame, str]:
    """A shipped dataset (OBELiX with a ``split`` column of train/test) or a given table."""
    if isinstance(dataset, pd.DataFrame):
        return dataset.reset_index(drop=True), dataset.attrs.get("dataset", "table")
    from matgenome.datasets import load

    if dataset == "obelix":
        train, test = load("obelix", split="train"), load("obelix", split="test")
        frame = pd.concat([train.assign(split="train"), test.assign(split="test")])
        frame = frame.reset_index(drop=True)
        frame.attrs.update(train.attrs)
        return frame, dataset
    return load(dataset), dataset


# ------------------------------------------------------------------------- results and output


def software_versions() -> dict[str, str]:
    """Versions of Python and the libraries a result depends on."""
    versions = {"python": platform.python_version()}
    for module in ("numpy", "pandas", "scipy", "sklearn", "pymatgen", "matminer", "matgenome"):
        versions[module] = _module_version(module)
    return versions


def table_hash(frame: pd.DataFrame) -> str:
    """SHA-256 of a table's formulas, targets and censoring flags."""
    from matgenome.datasets import data_hash

    hashed = frame.assign(censored=_censored(frame))
    return data_hash(hashed, columns=("formula", "target", "censored"))


def describe_model(model: Any) -> dict[str, Any]:
    """Class name and parameters of a model, JSON-safe."""
    if model is None:
        return {}
    params = model.get_params(deep=True) if hasattr(model, "get_params") else {}
    return {"class": f"{type(model).__module__}.{type(model).__qualname__}", "params": params}


def write_json_atomic(data: dict[str, Any], path: str | Path) -> Path:
    """Write JSON through a temporary file renamed over ``path`` (never a partial file)."""
    from matgenome.io import atomic_path

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(_json_safe(data), indent=1, allow_nan=False)
    with atomic_path(path) as tmp:
        tmp.write_text(text + "\n", encoding="utf-8")
        # The temporary file is private (0600); give the result the usual permissions.
        umask = os.umask(0)
        os.umask(umask)
        tmp.chmod(0o666 & ~umask)
    return path


def format_metrics_table(metrics: dict[str, Any], title: str = "") -> str:
    """Render nested metrics (values or ``{"mean", "std"}``) as aligned text lines."""
    lines = [title] if title else []
    for section, values in metrics.items():
        if not isinstance(values, dict) or set(values) == {"mean", "std"}:
            lines.append(f"  {section:<48} {_format_value(values)}")
            continue
        for name, value in values.items():
            lines.append(f"  {section + '.' + name:<48} {_format_value(value)}")
    return "\n".join(lines)


# ----------------------------------------------------------------------------------- helpers


def _rows_of(inverse: np.ndarray, test_units: np.ndarray) -> Split:
    is_test = np.isin(inverse, test_units)
    return np.flatnonzero(~is_test), np.flatnonzero(is_test)


def _check_n_splits(n_splits: int, n_units: int, what: str) -> None:
    if n_splits < 2 or n_splits > n_units:
        raise ValueError(f"n_splits={n_splits} needs 2 <= n_splits <= {n_units} ({what})")


def _standardise(values: np.ndarray) -> np.ndarray:
    values = np.where(np.isfinite(values), values, np.nan)
    medians = np.nanmedian(values, axis=0)
    values = np.where(np.isnan(values), np.nan_to_num(medians), values)
    scale = values.std(axis=0)
    return (values - values.mean(axis=0)) / np.where(scale > 0, scale, 1.0)


def _is_missing(value: object) -> bool:
    if value is None or value is pd.NA:
        return True
    return isinstance(value, float) and math.isnan(value)


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


def _holds_text(features: Any) -> bool:
    values = np.asarray(features, dtype=object)
    return values.ndim == 1 and values.size > 0 and isinstance(values[0], str)


def _censored(frame: pd.DataFrame) -> np.ndarray:
    if "censored" not in frame:
        return np.zeros(len(frame), dtype=bool)
    return frame["censored"].fillna(False).to_numpy(dtype=bool)


def _prediction_table(
    frame: pd.DataFrame, keys: np.ndarray, test: np.ndarray, fold: int,
    predicted: dict[str, np.ndarray],
) -> pd.DataFrame:
    rows = frame.iloc[test]
    table = pd.DataFrame(
        {
            "row": test,
            "id": rows["id"].astype(str).to_numpy() if "id" in rows else test.astype(str),
            "formula": rows["formula"].astype(str).to_numpy(),
            "composition_key": keys[test],
            "fold": fold,
            "y_true": rows["target"].to_numpy(dtype=float),
            "censored": _censored(rows),
        }
    )
    for name, values in predicted.items():
        table[name] = values
    return table


def _default_features(name: str) -> str | Callable[[list[str]], np.ndarray]:
    from matgenome.models.recipes import RECIPES

    return RECIPES[name].featurize if name in RECIPES else "default"


def _default_protocol(name: str) -> str:
    if name == "obelix":
        return "obelix"
    return "matbench" if name.startswith("matbench_") else "kfold"


def _module_version(module: str) -> str:
    # Distribution metadata first: pymatgen, for one, has no top-level __version__.
    try:
        return metadata.version(_DISTRIBUTIONS.get(module, module))
    except metadata.PackageNotFoundError:
        pass
    try:
        imported = __import__(module)
    except ImportError:
        return "not installed"
    return str(getattr(imported, "__version__", "unknown"))


def _format_value(value: Any) -> str:
    if isinstance(value, dict) and "mean" in value:
        return f"{value['mean']:.4g} ± {value['std']:.2g}"
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def _json_safe(value: Any) -> Any:
    """Convert numpy scalars/arrays, NaN and other objects to plain JSON values."""
    if isinstance(value, dict):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_safe(v) for v in value]
    if isinstance(value, np.ndarray):
        return [_json_safe(v) for v in value.tolist()]
    if isinstance(value, bool | np.bool_):
        return bool(value)
    if isinstance(value, int | np.integer):
        return int(value)
    if isinstance(value, float | np.floating):
        return float(value) if math.isfinite(value) else None
    if value is None or isinstance(value, str):
        return value
    if value is pd.NA:
        return None
    return repr(value)
