"""Candidates: the :class:`Candidate` value, the candidate table's columns, and
deduplication with known-composition marking.

Candidates are merged by :class:`~matgenome.composition.CompositionKey` at
:data:`~matgenome.composition.CANDIDATE_DECIMALS` (atomic fractions to 1e-4), so ``Li2O``
and ``Li4O2`` are one candidate. Whether a candidate was already measured is looked up in
:class:`~matgenome.known.KnownMeasurements`, the lookup ``rank`` and ``screen`` use, at the
identity tolerance.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from matgenome.composition import CANDIDATE_DECIMALS, CompositionKey, parse_many
from matgenome.errors import UsageError
from matgenome.generation.notation import format_formula, species_string
from matgenome.known import KnownMeasurements, known_mask

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


def known_values(known: pd.DataFrame,
                 decimals: int = CANDIDATE_DECIMALS) -> dict[CompositionKey, float]:
    """Mean ``target`` of each composition in a known-data table (columns ``formula``,
    ``target``); rows whose formula does not parse are ignored, NaN targets are skipped.

    Deprecated: it reads a censored bound as a measured value. Use
    :class:`matgenome.known.KnownMeasurements`, which keeps bounds apart.
    """
    warnings.warn("matgenome.generation.known_values is deprecated and will be removed in "
                  "the next release; use matgenome.known.KnownMeasurements",
                  DeprecationWarning, stacklevel=2)
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


def deduplicate(candidates: pd.DataFrame,
                known: pd.DataFrame | KnownMeasurements | None = None,
                decimals: int = CANDIDATE_DECIMALS) -> pd.DataFrame:
    """Keep the first row of each reduced composition and mark known compositions.

    Candidates are merged by :class:`~matgenome.composition.CompositionKey` at ``decimals``
    places. ``known`` is a table (``formula``, ``target``, optionally ``censor``) or a
    :class:`~matgenome.known.KnownMeasurements`. Adds ``known`` (bool: the composition was
    measured, exactly or as an upper bound, see :func:`~matgenome.known.known_mask`) and
    ``known_value`` (mean of its exact values; NaN when unknown or known only as a bound).
    """
    keys = [CompositionKey.of(f, decimals) for f in candidates["formula"]]
    return _deduplicate_keys(candidates, keys, known)


def _deduplicate_keys(candidates: pd.DataFrame, keys: list[CompositionKey],
                      known: pd.DataFrame | KnownMeasurements | None) -> pd.DataFrame:
    """:func:`deduplicate` with precomputed keys."""
    first = ~pd.Series([*map(str, keys)], index=candidates.index).duplicated()
    out = candidates.loc[first.to_numpy()].reset_index(drop=True)
    if known is None:
        out["known"], out["known_value"] = False, math.nan
        return out
    if not isinstance(known, KnownMeasurements):
        known = KnownMeasurements.from_training_data(known)
    found = known.lookup(out["formula"].tolist())
    out["known"] = known_mask(found)
    out["known_value"] = found["known_value"].to_numpy(float)
    return out


def __getattr__(name: str) -> Any:
    # KEY_DECIMALS here was the candidate tolerance under the identity tolerance's name.
    if name == "KEY_DECIMALS":
        warnings.warn("matgenome.generation.KEY_DECIMALS is deprecated and will be removed "
                      "in the next release; use matgenome.composition.CANDIDATE_DECIMALS",
                      DeprecationWarning, stacklevel=2)
        return CANDIDATE_DECIMALS
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
