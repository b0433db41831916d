"""Run models through a protocol: fit on each training set, score each test set.

:func:`evaluate` is the entry point of ``matgenome evaluate``: it loads a shipped dataset
or a table, drops the rows ``matgenome train`` would reject, builds the protocol's splits
(:mod:`matgenome.evaluation.splits`) and calls :func:`run_protocol`, which refuses a split
that leaks a composition (:mod:`matgenome.evaluation.leakage`) unless told to (as for the
official splits, where the shared compositions are recorded in the notes), trains a fresh
model per split (:func:`fit_model`: upper bounds reach only models that request them),
predicts (:func:`predict_model`) and scores (:mod:`matgenome.evaluation.metrics`). Each
fold also records what it held out (:mod:`matgenome.evaluation.folds`) and, when asked,
the training-median and extra-trees baselines fitted on the same training rows
(:mod:`matgenome.evaluation.baselines`).
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
from sklearn import config_context
from sklearn.utils.metadata_routing import get_routing_for_object

from matgenome.censoring import censor_of, is_exact, upper_bounds
from matgenome.composition import parse_many
from matgenome.errors import UsageError
from matgenome.evaluation.baselines import (
    BASELINES,
    baseline_features,
    exact_mae,
    fit_predict_baselines,
)
from matgenome.evaluation.folds import describe_folds, merged_group_counts, merged_group_warnings
from matgenome.evaluation.leakage import check_leakage
from matgenome.evaluation.metrics import score_predictions, summarise_folds
from matgenome.evaluation.results import EvaluationResult, describe_model, table_hash
from matgenome.evaluation.splits import (
    Split,
    composition_labels,
    make_splits,
    protocol_groups,
)
from matgenome.provenance import software_versions

log = logging.getLogger("matgenome")

#: What the model of :func:`run_protocol` reads: a descriptor matrix, or the formulas
#: themselves (models that featurize by themselves, such as the training path).
Inputs = Literal["features", "formulas"]


def fit_model(model: Any, X: np.ndarray, y: np.ndarray, censor: np.ndarray,
              groups: Sequence[object] | None = None) -> Any:
    """Fit ``model``; upper bounds go to models that request ``censored`` for ``fit``.

    ``censor`` is the rows' :mod:`matgenome.censoring` column. Requests are scikit-learn
    metadata requests (``set_fit_request(censored=True)``, the default of matgenome's
    censored estimators), so a :class:`~sklearn.pipeline.Pipeline` ending in one of them
    receives the upper-bound mask too. A model that does not request it is trained on the
    exact rows only: passing a bound as if it were a measurement would bias it. Lower
    bounds reach no model. ``groups`` (e.g. papers) reach models that request them, for
    model selection inside the training rows.
    """
    wanted = _fit_requests(model)
    keep = is_exact(censor) | (upper_bounds(censor) & ("censored" in wanted))
    X, y = X[keep], y[keep]
    extra: dict[str, Any] = {}
    if groups is not None and "groups" in wanted:
        extra["groups"] = [g for g, k in zip(groups, keep, strict=True) if k]
    if "censored" in wanted:
        extra["censored"] = upper_bounds(censor[keep])
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
        if hasattr(model, "threshold_"):  # its own labels: matgenome train's threshold
            p = np.asarray(model.predict_proba(X))[:, 1]
            return {"y_pred": p, "y_class": (p >= model.threshold_).astype(float)}
        if hasattr(model, "predict_proba"):
            return {"y_pred": np.asarray(model.predict_proba(X))[:, 1]}
        return {"y_pred": np.asarray(model.predict(X), dtype=float)}
    if hasattr(model, "predict_uncertainty"):
        from matgenome.models import predict_parts

        parts = predict_parts(model, X)
        return {"y_pred": parts["mean"], "y_std": parts["uncertainty"],
                "y_epistemic": parts["epistemic"], "y_noise": parts["noise"]}
    return {"y_pred": np.asarray(model.predict(X), dtype=float)}


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
    inputs: Inputs = "features",
    fold_groups: tuple[str, Sequence[object]] | None = None,
    linked: str | None = None,
    baselines: bool = False,
    random_state: int = 0,
) -> EvaluationResult:
    """Train a fresh model on each training set and score it on the matching test set.

    Args:
        frame: the table (``formula``, ``target``, optional ``censor``, ``id``).
        features: the descriptors, one row per table row; with ``inputs="formulas"``, the
            formulas (text) of the rows.
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
        progress: called with 1 after each split (for progress bars).
        inputs: ``features`` (a float matrix) or ``formulas`` (models on text, such as
            :class:`matgenome.training.TrainedModelRegressor`).
        fold_groups: ``(kind, label per row)`` of what the splits are made by, counted per
            fold (:func:`~matgenome.evaluation.splits.protocol_groups`); default: the
            ``group_column`` values if given, else the compositions.
        linked: ``merge`` when the splits merged groups (of ``group_column``) linked by a
            shared composition: folds whose merged groups hold more than 40% of the rows
            are warned about (:class:`~matgenome.evaluation.folds.MergedGroupsWarning`) and
            recorded in ``warnings``.
        baselines: also score the training median and plain extra trees on each split
            (regression only; :mod:`matgenome.evaluation.baselines`).
        random_state: seed of the extra-trees baseline.

    Raises:
        ValueError: a split shares a composition (or group) between train and test, or
            ``inputs`` is neither ``features`` nor ``formulas``.
    """
    start = time.perf_counter()
    X = _model_inputs(features, inputs)
    y = frame["target"].to_numpy(dtype=float)
    censor = censor_of(frame)
    keys = composition_labels(frame["formula"].tolist())
    groups = frame[group_column].tolist() if group_column else None
    # Papers (or the grouping column) also keep model selection inside a training set honest.
    fit_groups = frame["doi"].tolist() if "doi" in frame.columns else groups
    with_baselines = baselines and task == "regression"
    # The baselines' own descriptors, whatever the evaluated model reads.
    reference = (baseline_features(frame["formula"].astype(str).tolist())
                 if with_baselines else None)
    notes: list[str] = []
    rows, fold_scores, model = [], [], None
    for k, (train, test) in enumerate(splits):
        leak = check_leakage(keys, train, test, groups)
        if not leak.clean:
            if not allow_leakage:
                raise UsageError(f"fold {k}: {leak.describe()}")
            notes.append(f"fold {k}: {leak.describe()}")
        model = fit_model(make_model(), X[train], y[train], censor[train],
                          None if fit_groups is None else [fit_groups[i] for i in train])
        if hasattr(model, "recipe_"):  # the training path chose a recipe inside this fold
            notes.append(f"fold {k}: recipe {model.recipe_}")
            scores = model.model_.card["selection"].get("candidates", {})
            if scores:
                notes.append(f"fold {k}: inner CV MAE " + ", ".join(
                    f"{name} {score['cv_mae']:.4g}" for name, score in scores.items()))
        predicted = predict_model(model, X[test], task)
        if reference is not None:
            found = fit_predict_baselines(reference, y, is_exact(censor), train, test,
                                          random_state)
            predicted.update({f"baseline_{name}": values for name, values in found.items()})
        table = _prediction_table(frame, keys, test, k, predicted)
        fold_scores.append(score_predictions(table, task, conductivity))
        rows.append(table)
        if progress is not None:
            progress(1)  # one split done
    predictions = pd.concat(rows, ignore_index=True)
    metrics = fold_scores[0] if len(splits) == 1 else summarise_folds(fold_scores)
    # Pooled out-of-fold scores weigh every row equally (LOCO clusters differ in size).
    pooled = score_predictions(predictions, task, conductivity) if len(splits) > 1 else {}
    if task == "regression" and not is_exact(censor).all():
        notes.append(
            "headline regression metrics use exact test rows only; bounds are scored by "
            "'censored' (a prediction on the right side of its bound counts as correct)"
        )
    folds, fold_warnings = _describe_folds(frame, keys, censor, splits, fold_groups,
                                           group_column, linked)
    if task == "regression":
        folds = _with_fold_maes(folds, predictions, with_baselines)
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
        folds=folds,
        baselines=_baseline_summary(folds, predictions) if with_baselines else {},
        warnings=fold_warnings,
    )


def _describe_folds(
    frame: pd.DataFrame, keys: np.ndarray, censor: np.ndarray, splits: list[Split],
    fold_groups: tuple[str, Sequence[object]] | None, group_column: str | None,
    linked: str | None,
) -> tuple[list[dict[str, Any]], list[str]]:
    """Per-fold counts and, for merged groups, the warnings about oversized folds."""
    if fold_groups is None:
        fold_groups = (group_column, frame[group_column].tolist()) if group_column else (
            "composition", keys)
    kind, labels = fold_groups
    # Group names help (families, papers, clusters); compositions would only be noise.
    folds = describe_folds(splits, labels, is_exact(censor),
                           name_groups=kind != "composition")
    for fold in folds:
        fold["group_kind"] = kind
    if linked != "merge" or not group_column:
        return folds, []
    counts = merged_group_counts(splits, keys, frame[group_column].tolist())
    for fold, count in zip(folds, counts, strict=True):
        fold["merged_groups"] = count
    return folds, merged_group_warnings(folds, len(frame), group_column)


def _with_fold_maes(folds: list[dict[str, Any]], predictions: pd.DataFrame,
                    with_baselines: bool) -> list[dict[str, Any]]:
    """Add the model's (and the baselines') MAE over each fold's exact test rows."""
    exact = is_exact(censor_of(predictions))
    truth, fold_of = predictions["y_true"].to_numpy(), predictions["fold"].to_numpy()
    names = list(BASELINES) if with_baselines else []
    for fold in folds:
        rows = fold_of == fold["fold"]
        fold["mae"] = exact_mae(truth[rows], predictions["y_pred"].to_numpy()[rows],
                                exact[rows])
        if not names:
            continue
        fold["baselines"] = {name: {"mae": exact_mae(
            truth[rows], predictions[f"baseline_{name}"].to_numpy()[rows], exact[rows])}
            for name in names}
        medians = predictions["baseline_training_median"].to_numpy()[rows]
        fold["baselines"]["training_median"]["value"] = (
            float(medians[0]) if len(medians) else math.nan)
    return folds


def _baseline_summary(folds: list[dict[str, Any]],
                      predictions: pd.DataFrame) -> dict[str, Any]:
    """Each baseline's MAE: mean and population std over folds, and pooled over all rows."""
    exact = is_exact(censor_of(predictions))
    truth = predictions["y_true"].to_numpy()
    summary = {}
    for name, description in BASELINES.items():
        per_fold = np.asarray([fold["baselines"][name]["mae"] for fold in folds])
        finite = per_fold[np.isfinite(per_fold)]
        summary[name] = {
            "description": description,
            "mae": {"mean": float(finite.mean()) if finite.size else math.nan,
                    "std": float(finite.std(ddof=0)) if finite.size else math.nan},
            "pooled_mae": exact_mae(truth, predictions[f"baseline_{name}"].to_numpy(), exact),
        }
    return summary


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
    linked: str = "merge",
    min_group_rows: int = 1,
    baselines: bool = True,
) -> EvaluationResult:
    """Evaluate a model on a shipped dataset or a table; the entry point of ``matgenome evaluate``.

    Args:
        dataset: a shipped dataset name (``obelix``, ``matbench_expt_gap``, ...) or a table
            with ``formula`` and ``target`` (optional ``censor``, grouping columns).
        model: a zero-argument factory of unfitted models; default: the recommended model
            for the task (:func:`default_model`).
        protocol: ``obelix``, ``matbench``, ``kfold``, ``group`` (grouped K-fold), ``logo``
            (leave-one-group-out) or ``loco``; default: the official protocol of a shipped
            dataset, ``kfold`` for a table.
        features: for a given ``model`` or a classification task: a feature preset name,
            a function of the formula list returning the matrix, or a precomputed matrix
            aligned with the table's rows; default: the featurizer of the dataset's
            classifier (``matgenome.selection.MATBENCH_CLASSIFIERS``), else the ``default``
            preset. Regression
            without ``model`` uses the training path and its own features.
        group_column: the column for ``group`` and ``logo`` (``family`` or ``doi``).
        n_splits: folds (``kfold``, ``group``) or clusters (``loco``).
        random_state: seed of the fold assignment.
        task: ``regression`` or ``classification``; default: from the dataset.
        output: where to write the JSON result (atomically); nothing is written if None.
        progress: called with 1 after each split (for progress bars).
        model_options: with no ``model``, for regression: the options of ``matgenome
            train`` (``recipe``, ``preset``, ``kind``, ``censored``, ``n_estimators``,
            ``target``), so each fold trains exactly what ``train`` would
            (:class:`matgenome.training.TrainedModelRegressor`).
        linked: for ``group`` and ``logo``: ``merge`` (default) merges groups linked by a
            shared composition into one (a fold of merged groups holding more than 40% of
            the rows is warned about and recorded in ``warnings``); ``drop`` keeps the
            groups apart and removes the linking compositions' rows from each fold's
            training side (counted per fold as ``linking_rows_removed``).
        min_group_rows: for ``logo``, the exact rows a group needs to be held out (smaller
            groups always train).
        baselines: also score, per fold, the training median and plain extra trees on
            Magpie descriptors (regression only; ``result.baselines`` and ``folds``).
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
        features, clustering, inputs = "chosen by the training path", None, "formulas"
    elif model is None and task == "classification" and features is None:
        # A two-class target: `matgenome train`'s classifier path in each fold.
        model, X = _classifier_path(frame, model_options or {}, random_state)
        features, clustering, inputs = "chosen by the training path", None, "formulas"
    else:
        inputs = "features"
        if features is None:
            features = _default_features(name)
        if isinstance(features, str):
            X = _preset_features(formulas, features)
        elif callable(features):
            X = np.asarray(features(formulas), dtype=float)
        else:
            X = np.asarray(features, dtype=float)
        clustering = X
    if protocol == "loco" and clustering is None:
        clustering = _preset_features(formulas, "default")
    splits = make_splits(
        frame, protocol, features=clustering, group_column=group_column,
        n_splits=n_splits, random_state=random_state, linked=linked,
        min_group_rows=min_group_rows,
    )
    grouped = protocol in ("group", "logo")
    description = {
        "name": protocol, "n_splits": len(splits), "random_state": random_state,
        "group_column": group_column,
        **({"linked": linked} if grouped else {}),
        **({"min_group_rows": min_group_rows} if protocol == "logo" else {}),
        "features": features if isinstance(features, str) else getattr(
            features, "__qualname__", "precomputed"
        ),
        **({"model_options": model_options} if model_options else {}),
    }
    result = run_protocol(
        frame, X, model or (lambda: default_model(task, name)), splits,
        dataset=name, protocol=description, task=task, conductivity=name == "obelix",
        group_column=group_column if grouped else None,
        # The official splits are scored as published; a shared composition is recorded.
        allow_leakage=protocol in ("obelix", "matbench"), progress=progress, inputs=inputs,
        fold_groups=protocol_groups(frame, protocol, splits, group_column),
        linked=linked if grouped else None, baselines=baselines, random_state=random_state,
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


def _classifier_path(frame: pd.DataFrame, options: dict[str, Any],
                     seed: int) -> tuple[Callable[[], Any], np.ndarray]:
    """The classifier path of ``matgenome train`` as a model factory on formulas."""
    from matgenome.classification import TrainedModelClassifier

    accepted = ("recipe", "preset", "kind", "n_estimators", "n_jobs", "mobile_ion")
    options = {"seed": seed, **{k: v for k, v in options.items() if k in accepted}}

    def factory() -> TrainedModelClassifier:
        return TrainedModelClassifier(**options)

    return factory, frame["formula"].astype(str).to_numpy(dtype=object)


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
    """The recommended unfitted model for a task: a shipped classification dataset's
    classifier (``matgenome.selection.MATBENCH_CLASSIFIERS``), a generic classifier, or plain
    extra trees on Magpie (regression normally runs the training path instead)."""
    from matgenome.selection import EXTRA_TREES_MAGPIE, GENERIC_CLASSIFIER, MATBENCH_CLASSIFIERS

    if dataset in MATBENCH_CLASSIFIERS:
        return MATBENCH_CLASSIFIERS[dataset].estimator()
    if task == "classification":
        return GENERIC_CLASSIFIER.estimator()
    return EXTRA_TREES_MAGPIE.estimator()


def _model_inputs(features: Any, inputs: Inputs) -> np.ndarray:
    """The model's input array: formulas as an object array, descriptors as floats."""
    if inputs == "formulas":
        return np.asarray(features, dtype=object)
    if inputs == "features":
        return np.asarray(features, dtype=float)
    raise ValueError(f"inputs must be 'features' or 'formulas', not {inputs!r}")


def _preset_features(formulas: list[str], preset: str) -> np.ndarray:
    """The descriptor matrix of a ``matgenome.features`` preset (rows that fail are NaN)."""
    from matgenome.features import compute_features

    return np.asarray(compute_features(formulas, preset)[0], dtype=float)


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
            "censor": censor_of(rows),
        }
    )
    for name, values in predicted.items():
        table[name] = values
    return table


def _default_features(name: str) -> str:
    from matgenome.selection import MATBENCH_CLASSIFIERS

    return MATBENCH_CLASSIFIERS[name].features if name in MATBENCH_CLASSIFIERS else "default"


def _default_protocol(name: str) -> str:
    if name == "obelix":
        return "obelix"
    return "matbench" if name.startswith("matbench_") else "kfold"
