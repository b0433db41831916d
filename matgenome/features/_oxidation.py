"""Best oxidation-state assignment for (possibly fractional) compositions, vectorised.

pymatgen's ``Composition.oxi_state_guesses`` requires integer amounts, so doped formulas
such as ``Li6.4La3Zr1.4Ta0.6O12`` cannot be checked with it. Here every element takes one
of its pymatgen ``common_oxidation_states`` (elements without any are neutral), and the
assignment chosen is the one with the smallest absolute total charge ``|sum_i a_i q_i|``;
ties (e.g. several neutral assignments) go to the assignment whose states are most
frequent in the ICSD (pymatgen's ``icsd_bv.yaml`` occurrence shares, weighted by amount).
The most electronegative element of a composition is restricted to its negative states
when it has any, so that e.g. Cl in ``Li6PS5Cl`` or N in ``Li3N`` is an anion while S in
``Li2SO4`` may be S(VI). One state per element means mixed valence (Fe3O4) counts as an
imbalance. Sums within ``1e-9 * sum_i a_i |q_i|`` of zero count as exactly neutral, which
absorbs the binary rounding of decimal amounts.

This follows the charge-neutrality screening of Davies et al., Chem 1, 617 (2016), with
pymatgen's oxidation-state data.
"""

from __future__ import annotations

import functools
import itertools

import numpy as np

from ._elements import (
    N_ELEMENTS,
    atomic_radius,
    common_oxidation_states,
    icsd_state_frequency,
    ionic_radius_table,
    magpie_property,
    van_der_waals_radius,
)

# Above this many assignments per composition, elements keep only their most frequent
# states (see ``assign_oxidation_states``); real compositions stay far below it.
MAX_ASSIGNMENTS = 4096
# Rows x assignments x elements per vectorised step (bounds the temporary arrays).
_WORK_LIMIT = 1 << 22
_NEUTRAL_TOLERANCE = 1e-9


@functools.cache
def state_tables() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per-element padded tables (Z = 0..118, index = state slot).

    Returns ``(states, n_states, frequency, radius, has_negative)``: oxidation states
    (slots ordered by decreasing ICSD frequency, padding repeats slot 0), number of real
    slots, ICSD frequency share of each state, Shannon crystal radius of each state, and
    whether the element has a negative state.
    """
    common = common_oxidation_states()
    frequency_of = icsd_state_frequency()
    radius_of = ionic_radius_table()
    atomic = atomic_radius()
    vdw = van_der_waals_radius()
    width = max(len(states) for states in common)
    states = np.zeros((N_ELEMENTS + 1, width), dtype=np.int64)
    n_states = np.ones(N_ELEMENTS + 1, dtype=np.int64)
    frequency = np.zeros((N_ELEMENTS + 1, width))
    radius = np.full((N_ELEMENTS + 1, width), np.nan)
    for z in range(1, N_ELEMENTS + 1):
        # Most frequent first, so truncating to the first slots keeps the likeliest states.
        ordered = sorted(common[z] or (0,), key=lambda q, z=z: (-frequency_of.get((z, q), 0), q))
        n_states[z] = len(ordered)
        padded = ordered + [ordered[0]] * (width - len(ordered))
        states[z] = padded
        frequency[z] = [frequency_of.get((z, q), 0.0) for q in padded]
        # Ions Shannon does not list (hydride, phosphide, carbide ... anions; a few rare
        # cation states) fall back to the van der Waals radius for anions and the atomic
        # radius for cations, the closer size proxy in each case.
        radius[z] = [
            radius_of.get((z, q), vdw[z] if q < 0 else atomic[z]) for q in padded
        ]
    has_negative = (states < 0).any(axis=1)
    for table in (states, n_states, frequency, radius, has_negative):
        table.setflags(write=False)
    return states, n_states, frequency, radius, has_negative


def assign_oxidation_states(z: np.ndarray, amounts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Best single oxidation state per element and the remaining total charge.

    Args:
        z, amounts: (m, k) atomic numbers and amounts.

    Returns:
        ``(slots, imbalance)``: (m, k) index into ``state_tables()`` rows of the chosen
        state of each element, and (m,) ``|sum_i a_i q_i|`` of the chosen assignment
        (exactly 0.0 when neutral within the tolerance).
    """
    m, k = z.shape
    _, n_states, _, _, _ = state_tables()
    counts = n_states[z]
    # Cap pathological rows (many multi-valent elements) to the most frequent states.
    while True:
        too_many = np.prod(counts, axis=1) > MAX_ASSIGNMENTS
        if not too_many.any():
            break
        counts[too_many] = np.maximum(counts[too_many] - 1, 1)
    # Rows are solved in groups with the same numbers of states per column; ordering each
    # row's elements by their number of states makes such groups few and large, and by
    # atomic number within that, so that ties resolve independently of the formula's order.
    order = np.lexsort((z, counts), axis=1)
    z_sorted = np.take_along_axis(z, order, axis=1)
    amounts_sorted = np.take_along_axis(amounts, order, axis=1)
    counts = np.take_along_axis(counts, order, axis=1)
    slots_sorted = np.zeros((m, k), dtype=np.int64)
    imbalance = np.zeros(m)
    signatures, inverse = np.unique(counts, axis=0, return_inverse=True)
    for group, signature in enumerate(signatures):
        rows = np.flatnonzero(inverse.ravel() == group)
        combos = np.array(list(itertools.product(*(range(c) for c in signature))), dtype=np.int64)
        step = max(1, _WORK_LIMIT // (combos.shape[0] * k))
        for start in range(0, rows.size, step):
            chunk = rows[start : start + step]
            best, charge = _best_assignment(z_sorted[chunk], amounts_sorted[chunk], combos)
            slots_sorted[chunk] = combos[best]
            imbalance[chunk] = charge
    slots = np.empty_like(slots_sorted)
    np.put_along_axis(slots, order, slots_sorted, axis=1)
    return slots, imbalance


def _best_assignment(
    z: np.ndarray, amounts: np.ndarray, combos: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Index of the best combination of state slots for each row, and its |charge|.

    ``combos`` enumerates slot combinations in ``itertools.product`` order; the per-row
    totals over all combinations are built column by column as outer sums, the first
    column varying slowest, which is the same order.
    """
    states, _, frequency, _, has_negative = state_tables()
    m, k = z.shape
    rows = np.arange(m)
    # The most electronegative element must be an anion when it can be one (equal
    # electronegativities, e.g. H and At, go to the heavier element).
    electronegativity = magpie_property("Electronegativity")[z]
    most = electronegativity == electronegativity.max(axis=1, keepdims=True)
    top = np.argmax(np.where(most, z, -1), axis=1)
    forced = has_negative[z[rows, top]]
    charge = np.zeros((m, 1))
    scale = np.zeros((m, 1))
    score = np.zeros((m, 1))
    excluded = np.zeros((m, 1), dtype=bool)
    for column in range(k):
        width = int(combos[:, column].max()) + 1
        own = states[z[:, column], :width]
        weight = amounts[:, column : column + 1]
        charge = (charge[:, :, None] + (weight * own)[:, None, :]).reshape(m, -1)
        scale = (scale[:, :, None] + (weight * np.abs(own))[:, None, :]).reshape(m, -1)
        likely = weight * frequency[z[:, column], :width]
        score = (score[:, :, None] + likely[:, None, :]).reshape(m, -1)
        barred = ((top == column) & forced)[:, None] & (own >= 0)
        excluded = (excluded[:, :, None] | barred[:, None, :]).reshape(m, -1)
    charge = np.abs(charge)
    charge = np.where(charge <= _NEUTRAL_TOLERANCE * scale, 0.0, charge)
    # Rows whose capped state list left the element no negative state stay unrestricted.
    excluded[excluded.all(axis=1)] = False
    charge = np.where(excluded, np.inf, charge)
    lowest = charge.min(axis=1, keepdims=True)
    tied = charge <= lowest + _NEUTRAL_TOLERANCE * np.maximum(scale, 1.0)
    best = np.argmax(np.where(tied, score, -np.inf), axis=1)
    return best, charge[rows, best]
