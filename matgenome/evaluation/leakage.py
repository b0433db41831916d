"""Leakage checks: compositions and groups found on both sides of a train/test split."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from matgenome.evaluation.splits import _is_missing


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
