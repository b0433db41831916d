"""Evaluate composition-property models with leakage-free protocols and honest metrics.

One module per step:

:mod:`~matgenome.evaluation.splits`
    protocols as lists of ``(train_rows, test_rows)`` pairs (:func:`make_splits`), made by
    unique reduced composition (:func:`composition_labels`);
:mod:`~matgenome.evaluation.folds`
    what each fold held out (:func:`describe_folds`: rows and groups on each side, linking
    rows removed from training) and :class:`MergedGroupsWarning` for a fold of merged
    groups holding more than 40% of the rows;
:mod:`~matgenome.evaluation.baselines`
    the training median and plain extra trees, scored per fold in the same run;
:mod:`~matgenome.evaluation.leakage`
    :func:`check_leakage`: compositions or groups shared between a training and a test set;
:mod:`~matgenome.evaluation.metrics`
    regression, classification, censored-bound and uncertainty metrics of one test set
    (:func:`score_predictions`) and their summary over folds (:func:`summarise_folds`);
:mod:`~matgenome.evaluation.runner`
    :func:`evaluate` (``matgenome evaluate``) and :func:`run_protocol`: fit a fresh model on
    each training set and score its test set (loaded when first used: it trains through
    :mod:`matgenome.training`, which uses the splits);
:mod:`~matgenome.evaluation.results`
    :class:`EvaluationResult`, its JSON file and its text table.

Protocols:

``obelix``
    the official OBELiX train/test split (478/121 rows; no composition or paper shared);
``matbench_<task>``
    the five official Matbench folds: train on ``fold != k``, test on ``fold == k``; fold
    metrics are summarised as mean and population standard deviation (ddof=0);
``kfold``
    random K-fold cross-validation over unique compositions;
``group``
    grouped K-fold by a column (crystal family, source DOI, ...): no group is split;
``logo``
    leave-one-group-out: each group with at least ``min_group_rows`` exact rows is the test
    set once;
``loco``
    leave-one-cluster-out (Meredig et al., Mol. Syst. Des. Eng. 3, 819 (2018)): k-means
    clusters of the standardised descriptors, each cluster held out once.

In ``group`` and ``logo``, groups linked by a shared composition are merged by default
(``linked="merge"``); ``linked="drop"`` keeps them apart and removes the linking
compositions from each fold's training rows instead.

``run_protocol`` refuses to score a leaking split unless told to, as for the official
splits, where the shared compositions are recorded in the notes: the OBELiX split has two,
e.g. ``Li10.2Ge1.2P1.8S12`` in train is ``Li3.4Ge0.4P0.6S4`` in test.

Software versions, data hashes and atomic JSON writes come from
:mod:`matgenome.provenance` (``software_versions`` and ``write_json_atomic`` are
re-exported here for the benchmark scripts).
"""

from __future__ import annotations

from matgenome.evaluation.baselines import BASELINES, fit_predict_baselines
from matgenome.evaluation.folds import (
    MAX_FOLD_SHARE,
    MergedGroupsWarning,
    describe_folds,
    merged_group_counts,
    merged_group_warnings,
)
from matgenome.evaluation.leakage import LeakageReport, check_leakage
from matgenome.evaluation.metrics import (
    CONDUCTIVITY_THRESHOLD,
    INTERVAL_LEVELS,
    censored_metrics,
    classification_metrics,
    conductivity_classification_metrics,
    hinge_mae,
    regression_metrics,
    score_predictions,
    summarise_folds,
    uncertainty_metrics,
)
from matgenome.evaluation.results import (
    RESULT_SCHEMA,
    EvaluationResult,
    describe_model,
    format_folds_table,
    format_metrics_table,
    table_hash,
)
from matgenome.evaluation.splits import (
    LINKED,
    PROTOCOLS,
    Split,
    cluster_splits,
    composition_labels,
    connected_groups,
    group_kfold_splits,
    group_labels,
    kfold_splits,
    leave_group_out_splits,
    make_splits,
    protocol_groups,
)
from matgenome.provenance import software_versions, write_json_atomic

__all__ = [
    "BASELINES", "CONDUCTIVITY_THRESHOLD", "INTERVAL_LEVELS", "LINKED", "MAX_FOLD_SHARE",
    "PROTOCOLS", "RESULT_SCHEMA",
    "EvaluationResult", "LeakageReport", "MergedGroupsWarning", "Split",
    "censored_metrics", "check_leakage", "classification_metrics", "cluster_splits",
    "composition_labels", "conductivity_classification_metrics", "connected_groups",
    "default_model", "describe_folds", "describe_model", "drop_invalid_formulas", "evaluate",
    "fit_model", "fit_predict_baselines", "format_folds_table", "format_metrics_table",
    "group_kfold_splits", "group_labels", "hinge_mae", "kfold_splits",
    "leave_group_out_splits", "load_table", "make_splits", "merged_group_counts",
    "merged_group_warnings", "predict_model", "protocol_groups", "regression_metrics",
    "run_protocol", "score_predictions", "software_versions", "summarise_folds",
    "table_hash", "uncertainty_metrics", "write_json_atomic",
]

# The runner fits models through ``matgenome.training``, which selects recipes by
# cross-validation on the splits above: it sits above training, so importing this package
# (as model selection does, for the splits) must not import it. Its names are still
# attributes of the package, loaded on first use (PEP 562).
_RUNNER_NAMES = frozenset({"default_model", "drop_invalid_formulas", "evaluate", "fit_model",
                           "load_table", "predict_model", "run_protocol"})


def __getattr__(name: str) -> object:
    if name in _RUNNER_NAMES:
        from matgenome.evaluation import runner

        return getattr(runner, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
