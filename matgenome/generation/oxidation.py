"""Oxidation states: pymatgen's allowed states per element, the SMACT electronegativity
rule, and the most plausible charge-neutral assignment (ranked by ICSD occurrence)."""

from __future__ import annotations

import functools
import itertools
import math
import warnings
from collections.abc import Mapping, Sequence

import numpy as np
from pymatgen.core import Composition, Element

from matgenome.composition import parse_composition
from matgenome.errors import UsageError
from matgenome.generation.notation import CHARGE_TOLERANCE, parse_species

OXIDATION_STATE_SETS = ("common", "icsd", "all")
# Bound on one-state-per-element assignments enumerated for a composition.
MAX_STATE_COMBINATIONS = 200_000


@functools.cache
def _icsd_occurrence() -> dict[tuple[str, int], int]:
    """How often each species occurs in the ICSD (pymatgen's bond-valence statistics).

    Used only to rank alternative oxidation-state assignments; an empty table (data file
    missing in some pymatgen build) leaves the ranking to the deterministic tie-break.
    """
    from matgenome.features._elements import icsd_occurrence

    occurrence = icsd_occurrence()
    table = {}
    for text, count in occurrence.items():
        try:
            table[parse_species(text)] = int(count)
        except ValueError:
            continue  # zero-valent entries such as 'Ag0+'
    return table


def allowed_oxidation_states(element: str, states: str = "common") -> tuple[int, ...]:
    """Nonzero oxidation states of ``element`` from pymatgen's ``common``, ``icsd`` or ``all``
    lists, sorted."""
    if states not in OXIDATION_STATE_SETS:
        raise UsageError(f"unknown oxidation-state set {states!r}; use {OXIDATION_STATE_SETS}")
    el = Element(element)
    source = {"common": el.common_oxidation_states, "icsd": el.icsd_oxidation_states,
              "all": el.oxidation_states}[states]
    return tuple(sorted(q for q in source if q != 0))


def electronegativity_ordered(assignment: Mapping[str, int]) -> bool:
    """SMACT's Pauling test: every cation is less electronegative than every anion."""
    cations = [_electronegativity(el) for el, q in assignment.items() if q > 0]
    anions = [_electronegativity(el) for el, q in assignment.items() if q < 0]
    if not cations or not anions:
        return False
    return max(cations) < min(anions)


@functools.cache
def _electronegativity(element: str) -> float:
    """Pauling electronegativity; NaN (never ordered) for elements without one."""
    with warnings.catch_warnings():
        # pymatgen warns for every noble gas; NaN is the documented answer.
        warnings.simplefilter("ignore", UserWarning)
        value = Element(element).X
    return float(value) if value and math.isfinite(value) else math.nan


def _state_combinations(elements: Sequence[str], states: str | Mapping[str, Sequence[int]],
                        ) -> list[dict[str, int]]:
    """All electronegativity-ordered assignments, most plausible first."""
    if isinstance(states, str):
        choices = [allowed_oxidation_states(el, states) for el in elements]
    else:
        choices = [tuple(states[el]) for el in elements]
    if math.prod(len(c) for c in choices) > MAX_STATE_COMBINATIONS:
        raise UsageError(f"too many oxidation-state combinations for {list(elements)}; "
                         "pass explicit oxidation states")
    combos = [dict(zip(elements, c, strict=True)) for c in itertools.product(*choices)]
    combos = [c for c in combos if electronegativity_ordered(c)]
    occurrence = _icsd_occurrence()

    def plausibility(combo: dict[str, int]) -> tuple[float, tuple[int, ...]]:
        score = sum(math.log1p(occurrence.get(item, 0)) for item in combo.items())
        return -score, tuple(abs(q) for q in combo.values())

    return sorted(combos, key=plausibility)


def neutral_oxidation_states(composition: str | Composition, states: str = "common",
                             ) -> list[dict[str, int]]:
    """Charge-neutral, electronegativity-ordered assignments of one oxidation state per
    element (fractional amounts allowed), most plausible first by ICSD occurrence."""
    comp = parse_composition(composition)
    elements = [str(el) for el in comp]
    amounts = np.array([float(comp[el]) for el in elements])
    combos = _state_combinations(elements, states)
    neutral = [c for c in combos
               if abs(float(np.dot(amounts, [c[el] for el in elements]))) <= CHARGE_TOLERANCE]
    return neutral


def guess_oxidation_states(composition: str | Composition) -> dict[str, int] | None:
    """The most plausible neutral assignment, trying the common, then ICSD, then all states."""
    for states in OXIDATION_STATE_SETS:
        try:
            found = neutral_oxidation_states(composition, states)
        except ValueError:
            return None  # too many elements with many states to enumerate
        if found:
            return found[0]
    return None
