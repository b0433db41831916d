"""Candidates: the :class:`Candidate` value, the candidate table's columns, and
deduplication with known-composition marking.

Compositions are compared by :class:`~matgenome.composition.CompositionKey` (atomic
fractions rounded to ``KEY_DECIMALS`` places), so ``Li2O`` and ``Li4O2`` are one candidate.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from matgenome.composition import CANDIDATE_DECIMALS, CompositionKey, parse_many
from matgenome.errors import UsageError
from matgenome.generation.notation import format_formula, species_string

COLUMNS = (
    "formula",
    "family",
    "parent",
    "method",
    "description",
    "oxidation_states",
    "probability",
    "known",
    "known_value",
)
KEY_DECIMALS = CANDIDATE_DECIMALS


@dataclass(frozen=True)
class Candidate:
    """One generated composition with its provenance."""

    amounts: dict[str, float]
    oxidation_states: dict[str, int]
    method: str
    description: str
    family: str = ""
    parent: str = ""
    probability: float = math.nan
    formula: str = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "formula", format_formula(self.amounts))

    def row(self) -> dict[str, object]:
        """The candidate as a table row (without the known-data columns)."""
        states = " ".join(species_string(el, self.oxidation_states[el]) for el in self.amounts)
        return {"formula": self.formula, "family": self.family, "parent": self.parent,
                "method": self.method, "description": self.description,
                "oxidation_states": states, "probability": self.probability}


def known_values(known: pd.DataFrame, decimals: int = KEY_DECIMALS) -> dict[CompositionKey, float]:
    """Mean ``target`` of each composition in a known-data table (columns ``formula``,
    ``target``); rows whose formula does not parse are ignored, NaN targets are skipped."""
    missing = {"formula", "target"} - set(known.columns)
    if missing:
        raise UsageError(f"known data lack column(s) {sorted(missing)}")
    compositions, _ = parse_many(known["formula"])
    targets = pd.to_numeric(known["target"], errors="coerce").to_numpy(dtype=float)
    sums: dict[CompositionKey, list[float]] = {}
    for composition, target in zip(compositions, targets, strict=True):
        if composition is None:
            continue
        values = sums.setdefault(CompositionKey.of(composition, decimals), [])
        if math.isfinite(target):
            values.append(float(target))
    return {key: float(np.mean(v)) if v else math.nan for key, v in sums.items()}


def deduplicate(candidates: pd.DataFrame, known: pd.DataFrame | None = None,
                decimals: int = KEY_DECIMALS) -> pd.DataFrame:
    """Keep the first row of each reduced composition and mark known compositions.

    Compositions are compared by :class:`~matgenome.composition.CompositionKey` (atomic
    fractions rounded to ``decimals`` places). Adds ``known`` (bool: the composition is in
    ``known``) and ``known_value`` (mean measured ``target`` of its rows; NaN when unknown).
    """
    keys = [CompositionKey.of(f, decimals) for f in candidates["formula"]]
    return _deduplicate_keys(candidates, keys, known, decimals)


def _deduplicate_keys(candidates: pd.DataFrame, keys: list[CompositionKey],
                      known: pd.DataFrame | None,
                      decimals: int) -> pd.DataFrame:
    """:func:`deduplicate` with precomputed keys."""
    first = ~pd.Series([*map(str, keys)], index=candidates.index).duplicated()
    out = candidates.loc[first.to_numpy()].copy()
    kept = [k for k, keep in zip(keys, first, strict=True) if keep]
    values = known_values(known, decimals) if known is not None else {}
    out["known"] = [k in values for k in kept]
    out["known_value"] = [values.get(k, math.nan) for k in kept]
    return out.reset_index(drop=True)
