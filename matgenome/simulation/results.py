"""The records of a simulation and the metrics read from them (yield curves, experiments to
the n-th target, discovery acceleration factors); see :mod:`matgenome.simulation`."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from matgenome.provenance import json_safe

DAF_TARGETS: tuple[int, ...] = (1, 5, 10)
RANDOM_EXPECTED = "random (expected)"

IntArray = NDArray[np.int64]
FloatArray = NDArray[np.float64]


@dataclass
class SimulationResult:
    """Per-trial records of a simulation; see :mod:`matgenome.simulation` for the protocol.

    Attributes:
        strategies: strategy names, in the order simulated.
        found: per strategy, an (n_trials, budget + 1) int array: targets found after
            0, 1, ..., budget experiments.
        found_top: the same for the top set.
        picks: per strategy, an (n_trials, budget) array of the row indices measured, in
            order.
        extension: per strategy, one array per trial of the rows measured after the
            budget (possibly empty), in order; see :mod:`matgenome.simulation`.
        initial: (n_trials, n_initial) row indices labelled at the start.
        pool_size, pool_targets, pool_top: per trial, the number of unlabelled rows and of
            targets and top rows among them at the start.
        target_threshold, top_threshold: the thresholds on ``y`` (in the caller's units).
        n_targets, n_top: targets and top rows in the whole data set.
        settings: the arguments the simulation ran with.
        target_mask, top_mask: per data-set row, whether it is a target (top row); None
            when unknown, and then experiments to a target are read from ``found``.
        row_ids: the caller's id of every data-set row (default 0..n-1), used in
            :meth:`to_dict`.
        predicted, predicted_sd: per strategy, one array per trial of the model's mean and
            standard deviation for each measured row (budget then extension) when it was
            picked, in the caller's units; NaN where no model was used (random picks and
            cold-start batches).
        roles: per strategy, one tuple per trial of each pick's role (``exploit``,
            ``explore``, ``cold start`` or ``random``).
    """

    strategies: tuple[str, ...]
    found: dict[str, IntArray]
    found_top: dict[str, IntArray]
    picks: dict[str, IntArray]
    initial: IntArray
    pool_size: IntArray
    pool_targets: IntArray
    pool_top: IntArray
    target_threshold: float
    top_threshold: float
    n_targets: int
    n_top: int
    settings: dict[str, Any] = field(default_factory=dict)
    extension: dict[str, list[IntArray]] = field(default_factory=dict)
    target_mask: NDArray[np.bool_] | None = None
    top_mask: NDArray[np.bool_] | None = None
    row_ids: list[Any] | None = None
    predicted: dict[str, list[FloatArray]] = field(default_factory=dict)
    predicted_sd: dict[str, list[FloatArray]] = field(default_factory=dict)
    roles: dict[str, list[tuple[str, ...]]] = field(default_factory=dict)

    @property
    def budget(self) -> int:
        """Experiments per trial after the initial rows."""
        return int(next(iter(self.found.values())).shape[1] - 1)

    @property
    def n_trials(self) -> int:
        """Number of trials."""
        return int(self.initial.shape[0])

    @property
    def experiments(self) -> IntArray:
        """The x axis of the yield curves: 0, 1, ..., budget."""
        return np.arange(self.budget + 1)

    def sequences(self, strategy: str) -> list[IntArray]:
        """Per trial, every row the strategy measured in order: budget, then extension."""
        extra = self.extension.get(strategy)
        base = list(self.picks[strategy])
        if extra is None:
            return base
        return [np.concatenate([b, e]).astype(np.int64) for b, e in zip(base, extra, strict=True)]

    def experiments_to(self, strategy: str, n: int = 1, *, top: bool = False) -> FloatArray:
        """Per trial, experiments needed to find ``n`` targets (or top rows).

        Counts the budget and its extension; NaN if not reached in either.
        """
        mask = self.top_mask if top else self.target_mask
        if mask is None:
            curves = (self.found_top if top else self.found)[strategy]
            reached = curves >= n
            first = np.argmax(reached, axis=1).astype(float)
            return np.where(reached.any(axis=1), first, np.nan)
        return np.array([_nth_hit(mask[seq], n) for seq in self.sequences(strategy)])

    def random_expected(self, n: int = 1, *, top: bool = False) -> float:
        """Expected experiments for uniform random picking to find ``n`` targets.

        ``n (N + 1) / (K + 1)`` for a pool of N rows holding K targets (the mean of the
        negative hypergeometric distribution), averaged over trials; NaN if any trial's
        pool holds fewer than ``n`` targets.
        """
        k = (self.pool_top if top else self.pool_targets).astype(float)
        if np.any(k < n):
            return math.nan
        return float(np.mean(n * (self.pool_size + 1) / (k + 1)))

    def random_expected_curve(self, *, top: bool = False) -> FloatArray:
        """Expected targets found by random picking after 0..budget experiments."""
        k = (self.pool_top if top else self.pool_targets).astype(float)
        share = np.mean(k / self.pool_size)
        return self.experiments * share

    def daf(self, strategy: str, n: int = 1) -> float:
        """Discovery acceleration factor for ``n`` targets (NaN unless reached in all trials)."""
        needed = self.experiments_to(strategy, n)
        if np.isnan(needed).any() or needed.mean() == 0:
            return math.nan
        return self.random_expected(n) / float(needed.mean())

    def summary(self, daf_targets: Sequence[int] = DAF_TARGETS) -> pd.DataFrame:
        """One row per strategy (plus the random expectation): means and spreads over trials.

        Columns: ``first_target_mean``/``_std``/``_median`` (experiments to the first
        target, over the trials that found one), ``first_target_found`` (fraction of trials
        that did), ``daf_<n>``, ``targets_found_mean``/``_std`` (at the budget) and
        ``top_fraction_mean``/``_std`` (fraction of the pool's top set found).
        """
        rows = [self._summary_row(name, daf_targets) for name in self.strategies]
        rows.append(self._expected_row(daf_targets))
        return pd.DataFrame(rows).set_index("strategy")

    def _summary_row(self, name: str, daf_targets: Sequence[int]) -> dict[str, Any]:
        first = self.experiments_to(name, 1)
        hit = first[~np.isnan(first)]
        top_fraction = self.found_top[name][:, -1] / np.maximum(self.pool_top, 1)
        row: dict[str, Any] = {
            "strategy": name,
            "first_target_mean": float(hit.mean()) if hit.size else math.nan,
            "first_target_std": float(hit.std(ddof=1)) if hit.size > 1 else math.nan,
            "first_target_median": float(np.median(hit)) if hit.size else math.nan,
            "first_target_found": float(hit.size / first.size),
        }
        row.update({f"daf_{n}": self.daf(name, n) for n in daf_targets})
        found = self.found[name][:, -1].astype(float)
        row.update(
            targets_found_mean=float(found.mean()),
            targets_found_std=_std(found),
            top_fraction_mean=float(top_fraction.mean()),
            top_fraction_std=_std(top_fraction),
        )
        return row

    def _expected_row(self, daf_targets: Sequence[int]) -> dict[str, Any]:
        """The exact expectations for uniform random picking (no spread: not sampled)."""
        row: dict[str, Any] = {
            "strategy": RANDOM_EXPECTED,
            "first_target_mean": self.random_expected(1),
            "first_target_std": math.nan,
            "first_target_median": math.nan,
            "first_target_found": math.nan,
        }
        row.update({f"daf_{n}": 1.0 for n in daf_targets})
        top_share = np.mean(np.minimum(self.budget / self.pool_size, 1.0))
        row.update(
            targets_found_mean=float(self.random_expected_curve()[-1]),
            targets_found_std=math.nan,
            top_fraction_mean=float(top_share),
            top_fraction_std=math.nan,
        )
        return row

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (NaN becomes None) of settings, per-trial records and summary.

        Rows are given as dataset row ids (``row_ids``): ``initial`` per trial,
        ``target_rows`` and ``top_rows``, and per strategy ``picks``, every trial's
        measured rows in order, budget then extension. With ``budget`` and ``row_ids``
        these are enough for :func:`summary_from_dict` to recompute the metrics.
        """
        ids = self._ids()
        summary = self.summary().reset_index()
        per_strategy = {
            name: {
                "found": self.found[name].tolist(),
                "found_top": self.found_top[name].tolist(),
                "picks": [[ids[i] for i in seq] for seq in self.sequences(name)],
                "experiments_to_first_target": _json_list(self.experiments_to(name, 1)),
                **({"predicted": [_json_list(v) for v in self.predicted[name]],
                    "predicted_sd": [_json_list(v) for v in self.predicted_sd[name]],
                    "roles": [list(r) for r in self.roles[name]]}
                   if name in self.predicted else {}),
            }
            for name in self.strategies
        }
        return json_safe(
            {
                "settings": dict(self.settings),
                "target_threshold": self.target_threshold,
                "top_threshold": self.top_threshold,
                "n_targets": self.n_targets,
                "n_top": self.n_top,
                "budget": self.budget,
                "n_trials": self.n_trials,
                "row_ids": ids,
                "target_rows": self._ids_where(self.target_mask),
                "top_rows": self._ids_where(self.top_mask),
                "initial": [[ids[i] for i in row] for row in self.initial],
                "pool_size": self.pool_size.tolist(),
                "pool_targets": self.pool_targets.tolist(),
                "pool_top": self.pool_top.tolist(),
                "strategies": per_strategy,
                "summary": summary.to_dict(orient="records"),
            }
        )

    def _ids(self) -> list[Any]:
        if self.row_ids is not None:
            return [json_safe(v) for v in self.row_ids]
        n_rows = self.settings.get("n_rows")
        if n_rows is None:
            n_rows = int(max(self.initial.max(), *(p.max() for p in self.picks.values()))) + 1
        return list(range(int(n_rows)))

    def _ids_where(self, mask: NDArray[np.bool_] | None) -> list[Any] | None:
        if mask is None:
            return None
        ids = self._ids()
        return [ids[i] for i in np.flatnonzero(mask)]


def _nth_hit(hits: NDArray[np.bool_], n: int) -> float:
    """Experiments (1-based) until the n-th True in ``hits``; NaN if there are fewer."""
    if n <= 0:
        return 0.0
    cumulative = np.cumsum(hits)
    position = int(np.searchsorted(cumulative, n))  # first index with cumulative >= n
    return float(position + 1) if position < cumulative.size else math.nan



def _std(values: FloatArray) -> float:
    return float(np.std(values, ddof=1)) if values.size > 1 else math.nan


def _json_list(values: FloatArray) -> list[float | None]:
    return [None if np.isnan(v) else float(v) for v in values]
