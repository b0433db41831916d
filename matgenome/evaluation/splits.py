"""Train/test splits made by unique composition, so no composition is on both sides.

Every split is a ``(train_rows, test_rows)`` pair of row indices (:data:`Split`).
:func:`make_splits` builds the splits of a named protocol: the official OBELiX split, the
five Matbench folds, K-fold over unique compositions, grouped K-fold by a column (groups
that share a composition are merged, :func:`connected_groups`) or leave-one-cluster-out on
k-means clusters of the descriptors (Meredig et al. 2018). Compositions are compared by
:func:`composition_labels`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd
from sklearn.cluster import KMeans
from sklearn.model_selection import GroupKFold, KFold

from matgenome.composition import KEY_DECIMALS, CompositionError, CompositionKey
from matgenome.errors import UsageError

Split = tuple[np.ndarray, np.ndarray]

PROTOCOLS = ("obelix", "matbench", "kfold", "group", "loco")


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
            raise UsageError("protocol 'group' needs group_column (e.g. 'family' or 'doi')")
        return group_kfold_splits(keys, frame[group_column].tolist(), n_splits, random_state)
    if protocol == "loco":
        if features is None:
            raise UsageError("protocol 'loco' needs the feature matrix to cluster")
        return cluster_splits(keys, features, n_splits, random_state)
    raise UsageError(f"unknown protocol {protocol!r}; expected one of {PROTOCOLS}")


def _rows_of(inverse: np.ndarray, test_units: np.ndarray) -> Split:
    is_test = np.isin(inverse, test_units)
    return np.flatnonzero(~is_test), np.flatnonzero(is_test)


def _check_n_splits(n_splits: int, n_units: int, what: str) -> None:
    if n_splits < 2 or n_splits > n_units:
        raise UsageError(f"n_splits={n_splits} needs 2 <= n_splits <= {n_units} ({what})")


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
