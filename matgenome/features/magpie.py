"""Magpie element-property statistics and valence-orbital features on numpy arrays.

These reproduce matminer's ``ElementProperty.from_preset("magpie")`` and
``ValenceOrbital()`` column for column: the same Magpie element tables (read from
matminer's installation and imputed the same way), the same amount-weighted statistics,
including matminer's tie rule for the weighted mode (the smallest value among the
elements whose amount is ``numpy.isclose`` to the largest amount).
"""

from __future__ import annotations

import functools

import numpy as np

from ._block import DEML_2016, MATGENOME, WARD_2016, FeatureBlock
from ._elements import magpie_table

MAGPIE_PROPERTIES: tuple[str, ...] = (
    "Number",
    "MendeleevNumber",
    "AtomicWeight",
    "MeltingT",
    "Column",
    "Row",
    "CovalentRadius",
    "Electronegativity",
    "NsValence",
    "NpValence",
    "NdValence",
    "NfValence",
    "NValence",
    "NsUnfilled",
    "NpUnfilled",
    "NdUnfilled",
    "NfUnfilled",
    "NUnfilled",
    "GSvolume_pa",
    "GSbandgap",
    "GSmagmom",
    "SpaceGroupNumber",
)
MAGPIE_STATS: tuple[str, ...] = ("minimum", "maximum", "range", "mean", "avg_dev", "mode")
MAGPIE_LABELS: tuple[str, ...] = tuple(
    f"MagpieData {stat} {prop}" for prop in MAGPIE_PROPERTIES for stat in MAGPIE_STATS
)

ORBITALS: tuple[str, ...] = ("s", "p", "d", "f")
VALENCE_LABELS: tuple[str, ...] = tuple(
    f"{prop} {orbital} valence electrons" for prop in ("avg", "frac") for orbital in ORBITALS
)

# numpy.isclose defaults, which matminer's PropertyStats.mode applies to the weights.
_ISCLOSE_RTOL = 1e-5
_ISCLOSE_ATOL = 1e-8


@functools.cache
def _magpie_columns() -> np.ndarray:
    # Property-major layout (n_properties, 119) so a gather gives (n_properties, m, k) and
    # every reduction runs over the contiguous last axis.
    return np.ascontiguousarray(magpie_table(MAGPIE_PROPERTIES).T)


def weighted_mean(values: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """``numpy.average(values, weights=weights)`` along the last axis.

    ``weights`` (m, k) broadcasts against ``values`` (..., m, k).
    """
    return (values * weights).sum(axis=-1) / weights.sum(axis=-1)


def mode_mask(amounts: np.ndarray) -> np.ndarray:
    """Elements whose amount matminer counts as the most frequent (its ``isclose`` rule)."""
    largest = amounts.max(axis=1, keepdims=True)
    return np.abs(amounts - largest) <= _ISCLOSE_ATOL + _ISCLOSE_RTOL * np.abs(largest)


def magpie_statistics(values: np.ndarray, amounts: np.ndarray) -> np.ndarray:
    """Min, max, range, mean, mean absolute deviation and mode of element properties.

    Args:
        values: (p, m, k) property values of the k elements of m compositions.
        amounts: (m, k) element amounts, the weights of the statistics.

    Returns:
        (m, p * 6) array ordered property-major, statistic-minor, as matminer labels them.
    """
    m = amounts.shape[0]
    out = np.empty((m, values.shape[0], len(MAGPIE_STATS)))
    minimum = values.min(axis=-1).T
    maximum = values.max(axis=-1).T
    total = amounts.sum(axis=-1)
    mean = (values * amounts).sum(axis=-1) / total
    out[:, :, 0] = minimum
    out[:, :, 1] = maximum
    out[:, :, 2] = maximum - minimum
    out[:, :, 3] = mean.T
    out[:, :, 4] = ((np.abs(values - mean[..., None]) * amounts).sum(axis=-1) / total).T
    # Mode: the value of the element with the largest amount, or the smallest value among
    # elements whose amounts tie with it (rare, so computed only for those rows).
    tied = mode_mask(amounts)
    rows = np.arange(m)
    out[:, :, 5] = values[:, rows, amounts.argmax(axis=-1)].T
    several = np.flatnonzero(tied.sum(axis=-1) > 1)
    if several.size:
        out[several, :, 5] = np.where(tied[several], values[:, several], np.inf).min(axis=-1).T
    return out.reshape(m, -1)


def compute_magpie(z: np.ndarray, amounts: np.ndarray) -> np.ndarray:
    """The 132 ``MagpieData`` columns for compositions given as (m, k) arrays."""
    return magpie_statistics(_magpie_columns()[:, z], amounts)


@functools.cache
def _valence_columns() -> np.ndarray:
    names = (*(f"N{orbital}Valence" for orbital in ORBITALS), "NValence")
    return np.ascontiguousarray(magpie_table(names).T)


def compute_valence_orbital(z: np.ndarray, amounts: np.ndarray) -> np.ndarray:
    """Mean s/p/d/f valence electrons and their share of the mean valence electron count."""
    means = weighted_mean(_valence_columns()[:, z], amounts)  # (5, m)
    avg = means[:4]
    frac = avg / means[4]
    return np.concatenate([avg, frac]).T


MAGPIE = FeatureBlock(
    name="magpie",
    labels=MAGPIE_LABELS,
    compute=compute_magpie,
    description=(
        "Amount-weighted statistics (minimum, maximum, range, mean, mean absolute deviation, "
        "mode) of 22 Magpie element properties; identical to matminer's "
        "ElementProperty.from_preset('magpie'), computed from the Magpie tables matminer "
        "ships, with missing element values imputed by the mean over elements."
    ),
    citations=(WARD_2016,),
    implementors=("Jiming Chen", "Logan Ward", "Anubhav Jain", "Alex Dunn", MATGENOME),
)

VALENCE_ORBITAL = FeatureBlock(
    name="valence_orbital",
    labels=VALENCE_LABELS,
    compute=compute_valence_orbital,
    description=(
        "Amount-weighted mean number of s, p, d and f valence electrons and each orbital's "
        "fraction of the mean total valence electron count; identical to matminer's "
        "ValenceOrbital() with its defaults."
    ),
    citations=(WARD_2016, DEML_2016),
    implementors=("Jiming Chen", "Logan Ward", MATGENOME),
)
