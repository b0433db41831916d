"""Batch featurization of formulas: ``compute_features`` (arrays) and ``featurize`` (frames)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Literal

import numpy as np
import pandas as pd
from pymatgen.core import Composition

from matgenome.composition import CompositionError
from matgenome.composition_arrays import Encoded, encode

from ._block import CHUNK_ROWS, FeatureBlock
from .presets import feature_labels, resolve_preset


def as_formula_list(formulas: object) -> list[object]:
    """Return the formulas of a 1-D iterable, Series, or single-column array/DataFrame.

    Raises:
        TypeError: a single string or composition was given instead of a collection.
        ValueError: a 2-D input with more than one column.
    """
    if isinstance(formulas, str | Composition):
        raise TypeError(
            "expected a collection of formulas, got a single "
            f"{type(formulas).__name__}; wrap it in a list"
        )
    if isinstance(formulas, pd.DataFrame):
        if formulas.shape[1] != 1:
            raise ValueError(
                f"expected a single column of formulas, got {formulas.shape[1]} columns"
            )
        return formulas.iloc[:, 0].tolist()
    if isinstance(formulas, pd.Series | pd.Index):
        return formulas.tolist()
    if isinstance(formulas, np.ndarray):
        if formulas.ndim == 2 and formulas.shape[1] == 1:
            return formulas[:, 0].tolist()
        if formulas.ndim != 1:
            raise ValueError(
                f"expected a 1-D array or a single column of formulas, got shape "
                f"{formulas.shape}"
            )
        return formulas.tolist()
    if not isinstance(formulas, Iterable):
        raise TypeError(f"expected a collection of formulas, got {type(formulas).__name__}")
    return list(formulas)


def row_error(row: int, error: CompositionError) -> CompositionError:
    """A copy of ``error`` whose message starts with the (0-based) row number."""
    located = CompositionError(error.text, error.reason)
    located.row = row  # type: ignore[attr-defined]
    located.args = (f"row {row}: {error}",)
    return located


def compute_blocks(encoded: Encoded, blocks: tuple[FeatureBlock, ...]) -> np.ndarray:
    """Feature matrix (n_rows, n_features) of an encoded batch; failed rows are NaN."""
    n_features = sum(len(block.labels) for block in blocks)
    distinct = np.empty((encoded.n_distinct, n_features))
    # Entries that failed to parse are in no block: NaN. Every other row is written below.
    if encoded.failures:
        distinct[np.unique(encoded.codes[list(encoded.failures)])] = np.nan
    for size_block in encoded.blocks:
        for start in range(0, size_block.rows.size, CHUNK_ROWS):
            chunk = slice(start, start + CHUNK_ROWS)
            rows = size_block.rows[chunk]
            z, amounts = size_block.z[chunk], size_block.amounts[chunk]
            column = 0
            for block in blocks:
                width = len(block.labels)
                distinct[rows, column : column + width] = block.compute(z, amounts)
                column += width
    if encoded.n_distinct == encoded.codes.size and np.array_equal(
        encoded.codes, np.arange(encoded.codes.size)
    ):
        return distinct  # all rows distinct and in order: no gather needed
    return distinct[encoded.codes]


def compute_features(
    formulas: Iterable[object], preset: str = "magpie"
) -> tuple[np.ndarray, list[str]]:
    """Featurize formulas (strings or pymatgen compositions) into a float64 array.

    Never raises for bad rows: a row that cannot be parsed is NaN and its entry in the
    returned error list holds the ``CompositionError`` message ("" for good rows). Each
    distinct string is parsed and featurized once per call. Column labels are
    ``preset_info(preset)["labels"]``.

    Returns:
        (values, errors): array of shape (n_rows, n_features) and one string per row.

    Raises:
        ValueError, TypeError: an unknown preset, or an input that is not a collection.
    """
    blocks = resolve_preset(preset)
    encoded = encode(as_formula_list(formulas))
    values = compute_blocks(encoded, blocks)
    errors = [""] * encoded.codes.size
    for row, error in encoded.failures.items():
        errors[row] = str(error)
    return values, errors


def featurize(
    formulas: Iterable[object],
    preset: str = "magpie",
    errors: Literal["raise", "coerce"] = "raise",
) -> pd.DataFrame:
    """Featurize formulas into a DataFrame with one row per input, in input order.

    The index is that of ``formulas`` when it is a pandas Series or DataFrame, otherwise
    0..n-1; the columns are the preset's feature labels.

    Args:
        errors: ``"raise"`` raises a ``CompositionError`` naming the first bad row (its
            0-based position) and formula; ``"coerce"`` leaves bad rows NaN.
    """
    if errors not in ("raise", "coerce"):
        raise ValueError(f"errors must be 'raise' or 'coerce', got {errors!r}")
    blocks = resolve_preset(preset)
    encoded = encode(as_formula_list(formulas))
    if errors == "raise" and encoded.failures:
        row = min(encoded.failures)
        raise row_error(row, encoded.failures[row])
    values = compute_blocks(encoded, blocks)
    index = formulas.index if isinstance(formulas, pd.Series | pd.DataFrame) else None
    return pd.DataFrame(values, columns=feature_labels(preset), index=index)
