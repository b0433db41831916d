"""The headline metrics recomputed from a saved simulation (the JSON of
:meth:`matgenome.simulation.SimulationResult.to_dict`) alone."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from matgenome.simulation.results import DAF_TARGETS, _nth_hit


def summary_from_dict(
    payload: dict[str, Any], daf_targets: Sequence[int] = DAF_TARGETS
) -> pd.DataFrame:
    """Recompute the headline metrics from a :meth:`SimulationResult.to_dict` payload.

    Uses only ``row_ids``, ``target_rows``, ``initial``, ``budget`` and every strategy's
    ``picks``, so a saved JSON file can be checked without the simulation. Returns one row
    per strategy with ``daf_<n>`` (as :meth:`SimulationResult.daf`), ``targets_found_mean``
    (within the budget) and ``first_target_mean`` (experiments to the first target, over
    the trials that found one).
    """
    n_rows = len(payload["row_ids"])
    targets = set(payload["target_rows"])
    budget = int(payload["budget"])
    initial = payload["initial"]
    pool_size = np.array([n_rows - len(row) for row in initial], dtype=float)
    pool_targets = np.array([len(targets - set(row)) for row in initial], dtype=float)
    rows = []
    for name, record in payload["strategies"].items():
        hits = [np.array([r in targets for r in seq], dtype=bool) for seq in record["picks"]]
        row: dict[str, Any] = {"strategy": name}
        for n in daf_targets:
            needed = np.array([_nth_hit(h, n) for h in hits])
            expected = (
                math.nan if np.any(pool_targets < n)
                else float(np.mean(n * (pool_size + 1) / (pool_targets + 1)))
            )
            bad = np.isnan(needed).any() or needed.mean() == 0
            row[f"daf_{n}"] = math.nan if bad else expected / float(needed.mean())
        first = np.array([_nth_hit(h, 1) for h in hits])
        row["first_target_mean"] = float(np.nanmean(first)) if np.isfinite(first).any() \
            else math.nan
        row["targets_found_mean"] = float(np.mean([h[:budget].sum() for h in hits]))
        rows.append(row)
    return pd.DataFrame(rows).set_index("strategy")

