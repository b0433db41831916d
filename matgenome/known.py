"""Measured compositions: what measured data say about a composition.

The one lookup of "already measured" for the whole package: batch scoring, ``rank`` and
``screen`` read a model's training rows (which a model directory keeps, censored ones
too); candidate generation reads a known-data table or shipped dataset
(:meth:`KnownMeasurements.from_source`). For every composition that was measured,
:class:`KnownMeasurements` holds the mean of its exact values (``known_value``), the
sample standard deviation of repeated measurements (``known_spread``, NaN for a single
one), how many exact rows there are (``known_count``, rows without a usable value
included) and, for compositions known as an upper bound (``<1E-10``), the tightest one
(``known_bound``). A composition is known (:func:`known_mask`) when it has an exact row
or an upper bound; a bound is never read as a value. Compositions are matched by
:func:`matgenome.composition_keys.keys_of` at the identity tolerance
(:data:`matgenome.composition.KEY_DECIMALS`, atomic fractions to 1e-6), so ``Li3PS4``,
``Li6P2S8`` and ``0.75Li2S-0.25P2S5`` are one composition; the featurizer's fast parser
keeps scoring millions of rows fast.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from matgenome.censoring import censor_of, is_exact, upper_bounds
from matgenome.composition import KEY_DECIMALS
from matgenome.composition_keys import keys_of
from matgenome.errors import InputError, UsageError

KNOWN_COLUMNS = ("known_value", "known_spread", "known_count", "known_bound")


@dataclass(frozen=True)
class KnownMeasurements:
    """Per-composition summary of measured values (see the module docstring)."""

    table: pd.DataFrame  # index: composition key; columns: KNOWN_COLUMNS

    @classmethod
    def from_training_data(cls, data: pd.DataFrame | None) -> KnownMeasurements:
        """Summarise measured rows: ``formula``, ``target`` and, optionally, ``censor``.

        Without a ``censor`` column, text targets are read as cells (``<1E-10`` is an upper
        bound, see :func:`matgenome.io.parse_target_values`). Rows whose formula does not
        parse are ignored; a row without a usable value still marks its composition known
        (``known_count`` counts it, ``known_value`` stays NaN).

        Raises:
            UsageError: ``data`` lacks ``formula`` or ``target``.
        """
        if data is None or data.empty:
            return cls(pd.DataFrame(columns=list(KNOWN_COLUMNS)))
        missing = {"formula", "target"} - set(data.columns)
        if missing:
            raise UsageError(f"known data lack column(s) {sorted(missing)}")
        target, censor = _values_and_censor(data)
        frame = pd.DataFrame({
            "key": keys_of(data["formula"].tolist(), KEY_DECIMALS),
            "target": target,
            "censor": censor,
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


    @classmethod
    def from_source(cls, source: str) -> KnownMeasurements:
        """Known measurements of :func:`read_known` ``source``."""
        return cls.from_training_data(read_known(source))


def read_known(source: str) -> pd.DataFrame:
    """Measured rows from a shipped dataset name (censored rows included, with their
    ``censor``) or a table file with ``formula`` and ``target`` (optionally ``censor``).

    Raises:
        InputError: the file cannot be read or lacks ``formula`` or ``target``.
    """
    from matgenome.datasets import DATASETS, load
    from matgenome.io import read_table

    if source in DATASETS:
        return load(source)
    table = read_table(source)
    if {"formula", "target"} - set(table.columns):
        raise InputError(f"known-data table {source} needs columns 'formula' and 'target'")
    return table


def _values_and_censor(data: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Numeric targets and censor marks of measured rows (unusable cells NaN, exact)."""
    if "censor" in data.columns or pd.api.types.is_numeric_dtype(data["target"]):
        return pd.to_numeric(data["target"], errors="coerce").to_numpy(float), censor_of(data)
    from matgenome.io import parse_target_values

    parsed = parse_target_values(data["target"])
    return parsed.values, parsed.censor


def known_mask(known: pd.DataFrame) -> np.ndarray:
    """Rows of a lookup result whose composition was measured (exactly or as a bound)."""
    return (known["known_count"].to_numpy() > 0) | known["known_bound"].notna().to_numpy()
