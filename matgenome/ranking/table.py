"""Ranking tables: order rows by score, give ranks 1, 2, ... and score and rank a whole
DataFrame (:func:`rank_table`) with an acquisition function and constraints."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray

from matgenome.ranking.acquisition import (
    FloatArray,
    Objective,
    _as_float,
    _mean_std,
    _unscored,
    acquisition_scores,
    best_known,
)
from matgenome.ranking.constraints import Constraints, check_constraints


def order_by_score(
    scores: ArrayLike, *, tie_breaker: ArrayLike | None = None
) -> NDArray[np.intp]:
    """Row indices from best to worst score; NaN scores go last.

    Ties are broken by ``tie_breaker`` (ascending) and then by row position, so the order is
    deterministic. Pass random numbers as ``tie_breaker`` to break ties at random.
    """
    values = _as_float(scores, "scores")
    position = np.arange(values.size)
    keys: list[NDArray] = [position]
    if tie_breaker is not None:
        keys.append(_as_float(tie_breaker, "tie_breaker"))
    nan_last = np.isnan(values)
    # np.lexsort sorts by the last key first: NaN flag, then -score, then tie_breaker, then
    # row position.
    return np.lexsort((*keys, np.where(nan_last, 0.0, -values), nan_last))


def rank_scores(scores: ArrayLike, eligible: ArrayLike | None = None) -> FloatArray:
    """Ranks 1, 2, ... by descending score; NaN for NaN scores and ineligible rows."""
    values = _as_float(scores, "scores")
    keep = np.isfinite(values)
    if eligible is not None:
        keep &= np.asarray(eligible, dtype=bool)
    masked = np.where(keep, values, np.nan)
    ranks = np.full(values.size, np.nan)
    order = order_by_score(masked)[: int(keep.sum())]
    ranks[order] = np.arange(1, order.size + 1)
    return ranks


def _column_or_array(df: pd.DataFrame, values: ArrayLike | str, name: str) -> FloatArray:
    """Take ``values`` from a column of ``df`` when it is a column name."""
    array = _as_float(df[values] if isinstance(values, str) else values, name)
    if array.size != len(df):
        raise ValueError(f"{name} has {array.size} values for {len(df)} rows")
    return array


def rank_table(
    df: pd.DataFrame,
    mean: ArrayLike | str,
    std: ArrayLike | str,
    acquisition: str = "mean",
    objective: Objective = "max",
    *,
    kappa: float = 2.0,
    xi: float = 0.0,
    threshold: float | None = None,
    target: float | None = None,
    tolerance: float | None = None,
    constraints: Constraints | Mapping[str, object] | None = None,
    formula_column: str = "formula",
    best: float | None = None,
) -> pd.DataFrame:
    """Score and rank every row of ``df``; return a copy with the rows in input order.

    ``mean`` and ``std`` are arrays aligned with ``df`` or names of its columns. The copy gains
    the columns ``pred_mean`` and ``pred_std`` (when arrays are passed), ``score`` (higher is
    better), ``rank`` (1 = best; <NA> for rows that fail a constraint or are unscored),
    ``feasible`` (passes the constraints) and ``reason`` (why a row has no rank; empty when
    ranked). Existing columns of those names are replaced. Ties in score are broken by row
    position. Constraints need ``formula_column``; without constraints it is not read.

    ``best`` is the best measured value, used by ``ei`` and ``mli``. When it is None those
    acquisitions fall back to the best predicted mean among the feasible, scored rows; the
    value used is stored in ``result.attrs["best"]``.
    """
    mu_values = _column_or_array(df, mean, "mean")
    sigma_values = _column_or_array(df, std, "std")
    mu_values, sigma_values = _mean_std(mu_values, sigma_values)
    out = df.copy()
    if not isinstance(mean, str):
        out["pred_mean"] = mu_values
    if not isinstance(std, str):
        out["pred_std"] = sigma_values
    reasons = [""] * len(df)
    feasible = np.ones(len(df), dtype=bool)
    if constraints is not None:
        if formula_column not in df.columns:
            raise KeyError(f"constraints need the formula column {formula_column!r}")
        feasible, reasons = check_constraints(df[formula_column], constraints)
    scored = ~_unscored(mu_values, sigma_values)
    if best is None and acquisition in ("ei", "mli") and scored.any():
        # Prefer feasible rows as the incumbent; fall back to every scored row.
        pool = feasible & scored if (feasible & scored).any() else scored
        best = best_known(mu_values[pool], objective, target=target)
    if scored.any():
        score = acquisition_scores(
            acquisition, mu_values, sigma_values, objective, best=best, kappa=kappa, xi=xi,
            threshold=threshold, target=target, tolerance=tolerance,
        )
    else:
        score = np.full(len(df), np.nan)
    ranks = rank_scores(score, feasible)
    out["score"] = score
    out["rank"] = pd.array(ranks, dtype="Int64")
    out["feasible"] = feasible
    out["reason"] = [
        r if r else ("unscored: no prediction" if not s else "")
        for r, s in zip(reasons, scored, strict=True)
    ]
    out.attrs.update(acquisition=acquisition, objective=objective, best=best)
    return out
