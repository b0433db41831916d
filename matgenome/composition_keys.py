"""Composition keys of many formulas at once, read by the featurizer's array parser.

:class:`~matgenome.composition.CompositionKey` is the identity of one composition;
this module computes keys for whole columns (each distinct spelling parsed once, the
canonical form computed on arrays), which batch scoring and campaigns need to stay fast.
It sits above both ``composition`` and the featurizer's encoder, so neither imports the
other back.
"""

from __future__ import annotations

from collections.abc import Sequence

from matgenome.composition import KEY_DECIMALS, SYMBOLS, CompositionKey
from matgenome.composition_arrays import encode


def keys_of(formulas: Sequence[object], decimals: int = KEY_DECIMALS,
            ) -> list[CompositionKey | None]:
    """The key of each formula (None where the formula is invalid), in order."""
    encoded = encode(list(formulas))
    keys: list[CompositionKey | None] = [None] * encoded.n_distinct
    for block in encoded.blocks:  # canonical: ascending Z, canonical amounts
        for row, z, amounts in zip(block.rows, block.z, block.amounts, strict=True):
            keys[row] = CompositionKey.from_canonical([SYMBOLS[int(a)] for a in z], amounts,
                                                      decimals)
    return [keys[code] for code in encoded.codes]


def key_of(formula: object, decimals: int = KEY_DECIMALS) -> CompositionKey | None:
    """The key of one formula, or None if it is invalid."""
    return keys_of([formula], decimals)[0]
