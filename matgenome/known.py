"""Measured compositions: what a model's training data say about a composition.

A model directory keeps its training rows (censored ones too). For every composition that
was measured, :class:`KnownMeasurements` holds the mean of its exact values
(``known_value``), the sample standard deviation of repeated measurements
(``known_spread``, NaN for a single one), how many exact values there are
(``known_count``) and, for compositions known only as an upper bound (``<1E-10``), the
tightest one (``known_bound``). Compositions are matched by
:class:`matgenome.composition.CompositionKey` (atomic fractions rounded to 1e-6), so
``Li3PS4``, ``Li6P2S8`` and ``0.75Li2S-0.25P2S5`` are one composition; plain formulas are
keyed with the featurizer's fast parser so that scoring millions of rows stays fast.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from matgenome.censoring import censor_of, is_exact, upper_bounds
from matgenome.composition import KEY_DECIMALS, CompositionError, CompositionKey
from matgenome.composition_keys import keys_of

KNOWN_COLUMNS = ("known_value", "known_spread", "known_count", "known_bound")


@dataclass(frozen=True)
class KnownMeasurements:
    """Per-composition summary of measured values (see the module docstring)."""

    table: pd.DataFrame  # index: composition key; columns: KNOWN_COLUMNS

    @classmethod
    def from_training_data(cls, data: pd.DataFrame | None) -> KnownMeasurements:
        """Summarise a model's training rows (``formula``, ``target``, ``censor``)."""
        if data is None or data.empty:
            return cls(pd.DataFrame(columns=list(KNOWN_COLUMNS)))
        formulas = list(data["formula"])
        # The fast array parser first (ten times faster); the full parser where it fails.
        keys = [key if key is not None else _key_or_none(formula)
                for key, formula in zip(keys_of(formulas, KEY_DECIMALS), formulas,
                                        strict=True)]
        frame = pd.DataFrame({
            "key": keys,
            "target": pd.to_numeric(data["target"], errors="coerce"),
            "censor": censor_of(data),
        }).dropna(subset=["key"])
        exact = frame[is_exact(frame["censor"])].groupby("key")["target"]
        # The tightest upper bound; a lower bound says too little to mark a composition known.
        bounds = frame[upper_bounds(frame["censor"])].groupby("key")["target"].min()
        table = pd.DataFrame({
            "known_value": exact.mean(),
            "known_spread": exact.std(ddof=1),
            "known_count": exact.size(),
        }).join(bounds.rename("known_bound"), how="outer")
        table["known_count"] = table["known_count"].fillna(0).astype(int)
        return cls(table)

    def lookup(self, formulas: Sequence[object]) -> pd.DataFrame:
        """One row per formula (in order) with the KNOWN_COLUMNS; NaN/0 where unmeasured."""
        keys = keys_of(list(formulas), KEY_DECIMALS)
        found = self.table.reindex(pd.Index(keys, tupleize_cols=False))
        out = found.reset_index(drop=True)
        out["known_count"] = out["known_count"].fillna(0).astype(int)
        return out

    def __len__(self) -> int:
        return len(self.table)


def _key_or_none(formula: object) -> CompositionKey | None:
    try:
        return CompositionKey.of(formula, KEY_DECIMALS)
    except CompositionError:
        return None


def known_mask(known: pd.DataFrame) -> np.ndarray:
    """Rows of a lookup result whose composition was measured (exactly or as a bound)."""
    return (known["known_count"].to_numpy() > 0) | known["known_bound"].notna().to_numpy()
