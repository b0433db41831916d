"""Pareto fronts over several objectives (score against supply risk and cost by default):
:func:`pareto_ranks` numbers the successive non-dominated fronts, :func:`pareto_table` adds
them to a table."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray

from matgenome.errors import UsageError
from matgenome.ranking.acquisition import FloatArray

DEFAULT_PARETO_OBJECTIVES: dict[str, str] = {
    "score": "max",
    "supply_risk": "min",
    "cost_per_kg": "min",
}

log = logging.getLogger("matgenome")


def _domination_matrix(values: FloatArray, chunk: int = 512) -> NDArray[np.bool_]:
    """D[i, j] is True when row i dominates row j (all columns maximised)."""
    n = values.shape[0]
    dominates = np.zeros((n, n), dtype=bool)
    for start in range(0, n, chunk):
        block = values[start : start + chunk, None, :]
        geq = (block >= values[None, :, :]).all(axis=2)
        gt = (block > values[None, :, :]).any(axis=2)
        dominates[start : start + chunk] = geq & gt
    return dominates


def pareto_ranks(objectives: ArrayLike, maximize: Sequence[bool]) -> FloatArray:
    """Non-dominated sorting: the front index of every row (1 = the Pareto front).

    ``objectives`` is an (n_rows, n_objectives) array; ``maximize[k]`` says whether column k
    is maximised (else minimised). A row dominates another when it is at least as good in
    every objective and strictly better in one; equal rows share a front. Rows with a NaN
    objective get NaN. Memory grows as n_rows**2 bytes (about 100 MB for 10 000 rows).
    """
    values = np.asarray(objectives, dtype=float)
    if values.ndim != 2 or values.shape[1] != len(maximize):
        raise ValueError("objectives must be (n_rows, len(maximize))")
    signs = np.where(np.asarray(maximize, dtype=bool), 1.0, -1.0)
    valid = np.isfinite(values).all(axis=1)
    ranks = np.full(values.shape[0], np.nan)
    rows = np.flatnonzero(valid)
    dominates = _domination_matrix(values[rows] * signs)
    dominated_by = dominates.sum(axis=0)
    remaining = np.ones(rows.size, dtype=bool)
    front = 0
    # Peel fronts: rows that no remaining row dominates form the next front.
    while remaining.any():
        front += 1
        current = remaining & (dominated_by == 0)
        ranks[rows[current]] = front
        remaining &= ~current
        dominated_by = dominated_by - dominates[current].sum(axis=0)
    return ranks


def pareto_table(
    df: pd.DataFrame,
    objectives: Mapping[str, str] | None = None,
    *,
    only_ranked: bool = True,
    only_in_domain: bool = True,
    label_column: str | None = None,
) -> pd.DataFrame:
    """Add ``pareto`` (on the first front) and ``pareto_rank`` (front index) columns.

    ``objectives`` maps column names to ``"max"`` or ``"min"``; the default maximises the
    acquisition ``score`` and minimises ``supply_risk`` and ``cost_per_kg``. With
    ``only_ranked`` and a ``rank`` column present, rows without a rank (failing constraints
    or unscored) are left off the fronts; with ``only_in_domain`` and an ``in_domain``
    column, so are rows outside the model's applicability domain, whose score is not to be
    trusted. Rows with a NaN objective (e.g. no supply-risk data for an element) are left
    off too: a warning gives their count and ``attrs["pareto_missing"]`` lists them (by
    ``label_column`` when given, else by index).
    """
    spec = dict(DEFAULT_PARETO_OBJECTIVES if objectives is None else objectives)
    bad = {k: v for k, v in spec.items() if v not in ("max", "min")}
    if bad:
        raise UsageError(f"Pareto objectives must be 'max' or 'min', got {bad}")
    missing = [c for c in spec if c not in df.columns]
    if missing:
        raise KeyError(f"missing Pareto objective column(s) {missing}")
    values = df[list(spec)].to_numpy(dtype=float, na_value=np.nan)
    eligible = np.ones(len(df), dtype=bool)
    if only_ranked and "rank" in df.columns:
        eligible &= df["rank"].notna().to_numpy()
    if only_in_domain and "in_domain" in df.columns:
        eligible &= df["in_domain"].fillna(False).astype(bool).to_numpy()
    values = np.where(eligible[:, None], values, np.nan)
    lacking = eligible & ~np.isfinite(values).all(axis=1)
    ranks = pareto_ranks(values, [v == "max" for v in spec.values()])
    out = df.copy()
    out["pareto_rank"] = pd.array(ranks, dtype="Int64")
    out["pareto"] = ranks == 1
    names = (df[label_column] if label_column in df.columns else df.index.to_series())
    out.attrs["pareto_missing"] = [str(v) for v in names[lacking]]
    if lacking.any():
        empty = [c for c in spec if np.isnan(values[lacking][:, list(spec).index(c)]).any()]
        log.warning("%d rows left off the Pareto front for lack of %s data: %s",
                    int(lacking.sum()), " / ".join(empty),
                    ", ".join(out.attrs["pareto_missing"][:10])
                    + (", ..." if lacking.sum() > 10 else ""))
    return out
