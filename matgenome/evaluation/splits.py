"""Train/test splits made by unique composition, so no composition is on both sides.

Every split is a ``(train_rows, test_rows)`` pair of row indices (:data:`Split`).
:func:`make_splits` builds the splits of a named protocol: the official OBELiX split, the
five Matbench folds, K-fold over unique compositions, grouped K-fold by a column,
leave-one-group-out, or leave-one-cluster-out on k-means clusters of the descriptors
(Meredig et al. 2018). Compositions are compared by :func:`composition_labels`.

A composition reported in two groups links them. The grouped protocols either merge linked
groups into one unit (``linked="merge"``, :func:`connected_groups`, the default) or keep the
groups apart and remove the linking compositions from the training side of each fold
(``linked="drop"``); either way no composition is on both sides. :func:`protocol_groups`
says what a protocol splits by, for the per-fold counts of
:mod:`matgenome.evaluation.folds`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd
from sklearn.cluster import KMeans
from sklearn.model_selection import GroupKFold, KFold

from matgenome.censoring import censor_of, is_exact
from matgenome.composition_keys import keys_of
from matgenome.errors import UsageError

Split = tuple[np.ndarray, np.ndarray]

PROTOCOLS = ("obelix", "matbench", "kfold", "group", "logo", "loco")
#: How grouped protocols treat groups linked by a shared composition.
LINKED = ("merge", "drop")


def composition_labels(formulas: Sequence[object]) -> np.ndarray:
    """One text label per formula: ``str`` of its :class:`~matgenome.composition.CompositionKey`.

    Formulas that describe the same composition (``Li2O``, ``OLi2``, ``Li4O2``,
    ``Li0.5O0.25``) share a label, e.g. ``Li0.666667 O0.333333``: the key of
    :func:`matgenome.composition_keys.keys_of` at the identity tolerance. Unparseable
    formulas keep their stripped text after a ``?``, so they still group with identical
    spellings. Text labels sort and compare like any group label (splits, JSON result
    files).
    """
    formulas = list(formulas)
    keys = keys_of(formulas)
    return np.asarray([str(key) if key is not None else f"?{str(formula).strip()}"
                       for formula, key in zip(formulas, keys, strict=True)], dtype=object)


def kfold_splits(keys: Sequence[str], n_splits: int = 5, random_state: int = 0) -> list[Split]:
    """Random K-fold over unique compositions: duplicates of a composition stay together."""
    keys = np.asarray(keys, dtype=object)
    unique, inverse = np.unique(keys, return_inverse=True)
    _check_n_splits(n_splits, len(unique), "unique compositions")
    folds = KFold(n_splits, shuffle=True, random_state=random_state)
    return [_rows_of(inverse, test_units) for _, test_units in folds.split(unique)]


def group_kfold_splits(
    keys: Sequence[str], groups: Sequence[object], n_splits: int = 5, random_state: int = 0,
    linked: str = "merge",
) -> list[Split]:
    """Grouped K-fold: no group and no composition is split between train and test.

    A composition reported in two groups (e.g. by two papers) ties those groups together.
    With ``linked="merge"`` groups connected through a shared composition are merged
    first (:func:`connected_groups`); with ``linked="drop"`` the groups stay apart and,
    in each fold, the rows of other groups that repeat a test composition are removed
    from the training side (they are still scored in the fold that tests their own
    group). Rows with a missing group form a group of their own composition.
    """
    keys = np.asarray(keys, dtype=object)
    units = _units(keys, groups, linked)
    n_units = len(np.unique(units))
    _check_n_splits(n_splits, n_units, "groups")
    folds = GroupKFold(n_splits, shuffle=True, random_state=random_state)
    rows = np.arange(len(units))
    return [_drop_linked(keys, train, test) for train, test in folds.split(rows, groups=units)]


def leave_group_out_splits(
    keys: Sequence[str], groups: Sequence[object], min_rows: int = 1,
    counted: np.ndarray | None = None, linked: str = "merge",
) -> list[Split]:
    """Leave-one-group-out: each group with at least ``min_rows`` rows is the test set once.

    ``counted`` marks the rows that count towards ``min_rows`` (e.g. the exact rows of a
    censored target; default: all). Smaller groups are always on the training side.
    Linked groups are merged or kept apart as in :func:`group_kfold_splits`; held-out
    groups come in the sorted order of their labels.
    """
    keys = np.asarray(keys, dtype=object)
    units = _units(keys, groups, linked)
    counted = np.ones(len(keys), bool) if counted is None else np.asarray(counted, bool)
    if min_rows < 1:
        raise UsageError(f"min_rows={min_rows} must be at least 1")
    big = [u for u in np.unique(units) if counted[units == u].sum() >= min_rows]
    if not big:
        raise UsageError(f"no group has {min_rows} or more rows to hold out")
    rows = np.arange(len(keys))
    return [_drop_linked(keys, rows[units != u], rows[units == u]) for u in big]


def _units(keys: np.ndarray, groups: Sequence[object], linked: str) -> np.ndarray:
    """The labels a grouped protocol splits by: merged components or the groups as given."""
    if linked == "merge":
        return connected_groups(keys, groups)
    if linked == "drop":
        return group_labels(keys, groups)
    raise UsageError(f"linked must be one of {LINKED}, not {linked!r}")


def _drop_linked(keys: np.ndarray, train: np.ndarray, test: np.ndarray) -> Split:
    """Remove from ``train`` every row whose composition is in ``test`` (no-op when merged)."""
    return train[~np.isin(keys[train], np.unique(keys[test]))], test


def group_labels(keys: Sequence[str], groups: Sequence[object]) -> np.ndarray:
    """The group of each row as text; a missing group becomes a group of its composition."""
    keys = np.asarray(keys, dtype=object)
    return np.asarray(
        [f"composition {key}" if _is_missing(group) else str(group)
         for key, group in zip(keys, groups, strict=True)],
        dtype=object,
    )


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
    linked: str = "merge",
    min_group_rows: int = 1,
) -> list[Split]:
    """Build the splits of a protocol for a table.

    Args:
        frame: the table, with ``formula`` and (per protocol) ``split``, ``fold`` or the
            group column.
        protocol: ``obelix`` (rows with ``split == "test"`` form the test set),
            ``matbench`` (the ``fold`` column), ``kfold``, ``group`` (grouped K-fold),
            ``logo`` (leave-one-group-out) or ``loco``.
        features: the descriptors, needed for ``loco``.
        group_column: the column to group by for ``group`` and ``logo`` (e.g. ``family``
            or ``doi``).
        n_splits: folds for ``kfold`` and ``group``; clusters for ``loco``.
        random_state: seed of the fold assignment or clustering.
        linked: for ``group`` and ``logo``, groups linked by a shared composition are
            merged (``merge``) or kept apart with the linking rows removed from training
            (``drop``).
        min_group_rows: for ``logo``, the exact rows a group needs to be held out.
    """
    if linked not in LINKED:
        raise UsageError(f"linked must be one of {LINKED}, not {linked!r}")
    if linked != "merge" and protocol not in ("group", "logo"):
        raise UsageError(f"linked={linked!r} applies to the protocols 'group' and 'logo', "
                         f"not {protocol!r}")
    if protocol == "obelix":
        is_test = frame["split"].to_numpy() == "test"
        return [(np.flatnonzero(~is_test), np.flatnonzero(is_test))]
    if protocol == "matbench":
        fold = frame["fold"].to_numpy(dtype=int)
        return [(np.flatnonzero(fold != k), np.flatnonzero(fold == k)) for k in np.unique(fold)]
    keys = composition_labels(frame["formula"].tolist())
    if protocol == "kfold":
        return kfold_splits(keys, n_splits, random_state)
    if protocol in ("group", "logo"):
        if not group_column:
            raise UsageError(f"protocol {protocol!r} needs group_column (e.g. 'family' or "
                             "'doi')")
        if group_column not in frame.columns:
            raise UsageError(f"group column {group_column!r} is not in the table (columns: "
                             f"{', '.join(map(str, frame.columns))})")
        groups = frame[group_column].tolist()
        if protocol == "group":
            return group_kfold_splits(keys, groups, n_splits, random_state, linked)
        return leave_group_out_splits(keys, groups, min_group_rows, is_exact(censor_of(frame)),
                                      linked)
    if protocol == "loco":
        if features is None:
            raise UsageError("protocol 'loco' needs the feature matrix to cluster")
        return cluster_splits(keys, features, n_splits, random_state)
    raise UsageError(f"unknown protocol {protocol!r}; expected one of {PROTOCOLS}")


def protocol_groups(frame: pd.DataFrame, protocol: str, splits: list[Split],
                    group_column: str | None = None) -> tuple[str, np.ndarray]:
    """What a protocol splits by, as ``(kind, label per row)``, for per-fold group counts.

    ``group`` and ``logo`` split by the group column (its values as given, before any
    merging; a row without a group counts as a group of its composition), ``loco`` by
    cluster (a row's cluster is the fold that tests it), the other protocols by
    composition.
    """
    keys = composition_labels(frame["formula"].tolist())
    if protocol in ("group", "logo") and group_column:
        return group_column, group_labels(keys, frame[group_column].tolist())
    if protocol == "loco":
        cluster = np.full(len(frame), -1)
        for k, (_, test) in enumerate(splits):
            cluster[test] = k
        return "cluster", cluster
    return "composition", keys


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
