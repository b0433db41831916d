"""Substitution: full replacement of one non-mobile element of a known composition by
the species that the data-mined substitution probabilities of Hautier et al. (Inorg. Chem.
50, 656 (2011); shipped with pymatgen) rate as likely, charge-compensated as in doping."""

from __future__ import annotations

import functools
import math
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING

from pymatgen.core import Composition, Element

from matgenome.generation.candidates import Candidate
from matgenome.generation.doping import DopingError, _parent_data, _window_ok, dope
from matgenome.generation.notation import parse_species, species_string
from matgenome.generation.oxidation import _electronegativity
from matgenome.generation.seeds import Parent

if TYPE_CHECKING:
    from pymatgen.analysis.structure_prediction.substitution_probability import (
        SubstitutionProbability,
    )

DEFAULT_SUBSTITUTION_THRESHOLD = 0.02


@functools.cache
def substitution_probabilities() -> SubstitutionProbability:
    """The pymatgen ``SubstitutionProbability`` table (Hautier et al. 2011), loaded once
    from the data shipped with pymatgen (no network access)."""
    from pymatgen.analysis.structure_prediction.substitution_probability import (
        SubstitutionProbability,
    )

    return SubstitutionProbability()


@functools.cache
def likely_substitutes(species: str, threshold: float = DEFAULT_SUBSTITUTION_THRESHOLD,
                       ) -> tuple[tuple[str, float], ...]:
    """Species of the same charge sign that replace ``species`` with conditional probability
    ``P(new | old) >= threshold``, most likely first (ties by name)."""
    from pymatgen.core import Species

    table = substitution_probabilities()
    element, charge = parse_species(species)
    old = Species(element, charge)
    if old not in table.species:
        return ()
    found = []
    for new in table.species:
        if new.symbol == element or not new.oxi_state or (new.oxi_state > 0) != (charge > 0):
            continue
        probability = table.cond_prob(new, old)
        if probability >= threshold:
            found.append((species_string(new.symbol, int(new.oxi_state)), probability))
    return tuple(sorted(found, key=lambda item: (-item[1], item[0])))


@functools.cache
def _default_excluded() -> frozenset[str]:
    """Radioactive elements and those without an electronegativity (noble gases)."""
    return frozenset(el.symbol for el in Element
                     if el.is_radioactive or math.isnan(_electronegativity(el.symbol)))


def substitute(
    composition: str | Composition | Parent,
    *,
    mobile_ion: str = "Li+",
    oxidation_states: Mapping[str, int] | None = None,
    threshold: float = DEFAULT_SUBSTITUTION_THRESHOLD,
    exclude: Iterable[str] | None = None,
    family: str = "",
    mobile_ion_range: tuple[float, float] | None = None,
) -> list[Candidate]:
    """Replace, one at a time, each non-mobile element fully by its likely substitutes.

    A substitute of different charge is compensated through the mobile-ion content, as in
    :func:`dope`; candidates whose mobile-ion content is not positive (or leaves
    ``mobile_ion_range``) are dropped, as are substitutes already in the composition and
    ``exclude``d elements (default: radioactive elements and noble gases).
    """
    label, amounts, states = _parent_data(composition, oxidation_states)
    if isinstance(composition, Parent) and mobile_ion_range is None:
        mobile_ion_range = composition.mobile_ion_range
    source = Parent(label, amounts, states)
    mobile, _ = parse_species(mobile_ion)
    skip = set(amounts) | (_default_excluded() if exclude is None else set(exclude))
    out = []
    for element in amounts:
        if element == mobile:
            continue
        old = species_string(element, states[element])
        for new, probability in likely_substitutes(old, threshold):
            if parse_species(new)[0] in skip:
                continue
            candidate = _substitute_one(source, element, (new, probability), mobile_ion, family)
            if candidate is not None and _window_ok(candidate, mobile, mobile_ion_range):
                out.append(candidate)
    return out


def _substitute_one(source: Parent, element: str, substitute: tuple[str, float],
                    mobile_ion: str, family: str) -> Candidate | None:
    """Full replacement of ``element`` by a species; ``None`` if no mobile ion is left."""
    new, probability = substitute
    old = species_string(element, source.oxidation_states[element])
    try:
        doped = dope(source, [(new, element, source.amounts[element])], mobile_ion=mobile_ion)
    except DopingError:
        return None
    mobile_note = doped.description.rsplit("; ", 1)[-1]
    return Candidate(amounts=doped.amounts, oxidation_states=doped.oxidation_states,
                     method="substitution", family=family, parent=source.formula,
                     probability=probability,
                     description=f"{new} replaces {old} (p={probability:.3f}); {mobile_note}")
