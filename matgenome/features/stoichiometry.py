"""Stoichiometric norms and element fractions on numpy arrays.

These reproduce matminer's ``Stoichiometry()`` (p-norms of the atomic fractions for
p = 0, 2, 3, 5, 7, 10; the 0-norm is the number of elements) and ``ElementFraction()``
(atomic fraction of each of the 118 elements, in atomic-number order).
"""

from __future__ import annotations

import numpy as np

from ._block import MATGENOME, WARD_2016, FeatureBlock
from ._elements import N_ELEMENTS, SYMBOLS

P_NORMS: tuple[int, ...] = (0, 2, 3, 5, 7, 10)
STOICHIOMETRY_LABELS: tuple[str, ...] = tuple(f"{p}-norm" for p in P_NORMS)
ELEMENT_FRACTION_LABELS: tuple[str, ...] = SYMBOLS[1:]


def atomic_fractions(amounts: np.ndarray) -> np.ndarray:
    """Amounts divided by the number of atoms of each composition (row)."""
    return amounts / amounts.sum(axis=1, keepdims=True)


def compute_stoichiometry(z: np.ndarray, amounts: np.ndarray) -> np.ndarray:
    """Lp norms of the atomic fractions; the 0-norm counts the elements."""
    fractions = atomic_fractions(amounts)
    out = np.empty((amounts.shape[0], len(P_NORMS)))
    for column, p in enumerate(P_NORMS):
        if p == 0:
            out[:, column] = amounts.shape[1]
        else:
            out[:, column] = (fractions**p).sum(axis=1) ** (1.0 / p)
    return out


def compute_element_fraction(z: np.ndarray, amounts: np.ndarray) -> np.ndarray:
    """Atomic fraction of every element H..Og; zero for absent elements."""
    m, k = z.shape
    out = np.zeros((m, N_ELEMENTS))
    out[np.repeat(np.arange(m), k), z.ravel() - 1] = atomic_fractions(amounts).ravel()
    return out


STOICHIOMETRY = FeatureBlock(
    name="stoichiometry",
    labels=STOICHIOMETRY_LABELS,
    compute=compute_stoichiometry,
    description=(
        "Lp norms (p = 0, 2, 3, 5, 7, 10) of the atomic fractions; the 0-norm is the number "
        "of elements. Identical to matminer's Stoichiometry() with its defaults."
    ),
    citations=(WARD_2016,),
    implementors=("Jiming Chen", "Logan Ward", MATGENOME),
)

ELEMENT_FRACTION = FeatureBlock(
    name="element_fraction",
    labels=ELEMENT_FRACTION_LABELS,
    compute=compute_element_fraction,
    description=(
        "Atomic fraction of each of the 118 elements, in atomic-number order (columns are "
        "element symbols). Identical to matminer's ElementFraction()."
    ),
    citations=(),
    implementors=("Ashwin Aggarwal", "Logan Ward", MATGENOME),
)
