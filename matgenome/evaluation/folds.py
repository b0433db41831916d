"""What each fold held out: row and group counts, and warnings about lopsided folds.

:func:`describe_folds` gives, per ``(train_rows, test_rows)`` split, the rows and the
groups on each side (groups are whatever the protocol splits by: papers, families,
clusters or compositions; see :func:`~matgenome.evaluation.splits.protocol_groups`) and the
rows left out of both sides (the linking compositions removed from training with
``linked="drop"``). :func:`merged_group_warnings` flags a fold made large by merging groups
that share a composition: such a fold trains on little and dominates the pooled scores.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np

from matgenome.evaluation.splits import Split, _is_missing, connected_groups, group_labels

#: Share of the table's rows above which a test fold made of merged groups is flagged.
MAX_FOLD_SHARE = 0.4
#: Held-out group names listed per fold (more are counted, not named).
NAMES_SHOWN = 10


class MergedGroupsWarning(UserWarning):
    """A test fold holds a large share of the rows because linked groups were merged."""


def describe_folds(
    splits: list[Split], groups: Sequence[object], exact: np.ndarray,
    name_groups: bool = False,
) -> list[dict[str, Any]]:
    """Rows, exact rows and groups on each side of each split.

    Args:
        splits: ``(train_rows, test_rows)`` pairs.
        groups: the label of each row (what the protocol splits by).
        exact: True for rows with an exact target (not a bound).
        name_groups: also list the held-out groups' names (up to :data:`NAMES_SHOWN`).
    """
    groups = np.asarray(groups, dtype=object)
    exact = np.asarray(exact, bool)
    described = []
    for k, (train, test) in enumerate(splits):
        fold: dict[str, Any] = {
            "fold": k,
            "train_rows": len(train), "test_rows": len(test),
            "train_exact_rows": int(exact[train].sum()),
            "test_exact_rows": int(exact[test].sum()),
            "train_groups": len(set(groups[train])), "test_groups": len(set(groups[test])),
            # Rows on neither side: compositions of the test set removed from training.
            "linking_rows_removed": len(groups) - len(train) - len(test),
        }
        if name_groups:
            fold["test_group_names"] = sorted(map(str, set(groups[test])))[:NAMES_SHOWN]
        described.append(fold)
    return described


def merged_group_counts(splits: list[Split], keys: Sequence[str],
                        groups: Sequence[object]) -> list[int]:
    """Per split, how many of the test set's groups were merged with another group.

    Groups linked by a shared composition form one unit (:func:`connected_groups`); a test
    group counts when its unit holds two or more groups (rows without a group join the
    unit of their composition but are no group of their own).
    """
    keys = np.asarray(keys, dtype=object)
    named = np.asarray([not _is_missing(group) for group in groups])
    labels = group_labels(keys, groups)
    units = connected_groups(keys, groups)
    per_unit: dict[int, set[object]] = {}
    for unit, label in zip(units[named], labels[named], strict=True):
        per_unit.setdefault(int(unit), set()).add(label)
    counts = []
    for _, test in splits:
        test = test[named[test]]
        in_test = {(int(u), g) for u, g in zip(units[test], labels[test], strict=True)}
        counts.append(sum(1 for u, _ in in_test if len(per_unit[u]) > 1))
    return counts


def merged_group_warnings(
    folds: list[dict[str, Any]], n_rows: int, group_name: str,
    max_share: float = MAX_FOLD_SHARE,
) -> list[str]:
    """One message per fold whose merged groups make it hold more than ``max_share`` of the
    rows; each is also issued as a :class:`MergedGroupsWarning`.

    ``folds`` are :func:`describe_folds` records with ``merged_groups`` (from
    :func:`merged_group_counts`).
    """
    messages = []
    for fold in folds:
        share = fold["test_rows"] / n_rows if n_rows else 0.0
        if share <= max_share or fold.get("merged_groups", 0) < 2:
            continue
        messages.append(
            f"fold {fold['fold']} holds {share:.0%} of the rows ({fold['test_rows']} of "
            f"{n_rows}; {fold['test_exact_rows']} exact) and trains on "
            f"{fold['train_rows']}: {fold['merged_groups']} {group_name} groups linked by "
            "shared compositions were merged into it; linked='drop' (--linked drop) keeps "
            "the groups apart and removes the linking compositions from training instead"
        )
    for message in messages:
        warnings.warn(message, MergedGroupsWarning, stacklevel=4)
    return messages
