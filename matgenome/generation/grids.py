"""Composition grids: integer stoichiometries over chosen elements that admit a
charge-neutral assignment of one oxidation state per element with every cation less
electronegative than every anion (the SMACT screening rules)."""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping, Sequence

import numpy as np
from pymatgen.core import Element

from matgenome.errors import UsageError
from matgenome.generation.candidates import Candidate
from matgenome.generation.notation import species_string
from matgenome.generation.oxidation import _electronegativity, _state_combinations


def composition_grid(
    elements: Sequence[str],
    max_atoms: int = 12,
    *,
    oxidation_states: str | Mapping[str, Sequence[int]] = "common",
    max_per_element: int | None = None,
) -> list[Candidate]:
    """Integer compositions over ``elements`` that pass the SMACT-style screen.

    Every element is present (at least one atom), at most ``max_atoms`` atoms per formula,
    formulas are reduced (the counts share no common factor), and some assignment of one
    oxidation state per element (pymatgen's ``common``/``icsd``/``all`` lists, or an
    explicit ``{element: [states]}`` mapping) is charge neutral with every cation less
    electronegative than every anion. Ordered by atom count, then counts.
    """
    symbols = _grid_elements(elements)
    combos = _state_combinations(symbols, oxidation_states)
    if not combos:
        return []
    charges = np.array([[c[el] for el in symbols] for c in combos])
    out = []
    for counts in _stoichiometries(len(symbols), max_atoms, max_per_element):
        neutral = np.flatnonzero(charges @ np.array(counts) == 0)
        if neutral.size:
            best = combos[int(neutral[0])]
            amounts = {el: float(n) for el, n in zip(symbols, counts, strict=True)}
            out.append(Candidate(amounts=amounts, oxidation_states=best, method="grid",
                                 description=" ".join(species_string(el, best[el])
                                                      for el in symbols)))
    return out


def _grid_elements(elements: Sequence[str]) -> list[str]:
    """Validate grid elements: known, distinct, with an electronegativity."""
    symbols = [_element_or_error(el) for el in elements]
    if len(symbols) < 2 or len(set(symbols)) != len(symbols):
        raise UsageError(f"need at least two distinct elements, got {list(elements)}")
    missing = [el for el in symbols if math.isnan(_electronegativity(el))]
    if missing:
        raise UsageError(f"no Pauling electronegativity for {missing}")
    return symbols


def _element_or_error(symbol: str) -> str:
    """A valid element symbol or ValueError."""
    if not isinstance(symbol, str) or not Element.is_valid_symbol(symbol.strip()):
        raise UsageError(f"unknown element {symbol!r}")
    return symbol.strip()


def _stoichiometries(n: int, max_atoms: int, max_per_element: int | None
                     ) -> Iterator[tuple[int, ...]]:
    """Reduced count vectors with every count >= 1, by total then lexicographically."""
    cap = max_per_element or max_atoms
    for total in range(n, max_atoms + 1):
        for counts in _partitions(n, total, cap):
            if math.gcd(*counts) == 1:
                yield counts


def _partitions(n: int, total: int, cap: int) -> Iterator[tuple[int, ...]]:
    """Ordered ways of writing ``total`` as ``n`` counts in ``[1, cap]``."""
    if n == 1:
        if 1 <= total <= cap:
            yield (total,)
        return
    for first in range(1, min(cap, total - (n - 1)) + 1):
        for rest in _partitions(n - 1, total - first, cap):
            yield (first, *rest)
