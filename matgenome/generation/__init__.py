"""Generate candidate compositions from known solid-electrolyte families.

Three generators feed one candidate table:

* **doping** (:func:`dope`, :mod:`matgenome.generation.doping`): aliovalent or isovalent
  dopants on the sites declared in the seed families (``seeds/*.yaml``, loaded by
  :func:`load_seeds` in :mod:`matgenome.generation.seeds`), with the mobile-ion content
  adjusted so that every candidate stays charge neutral;
* **substitution** (:func:`substitute`, :mod:`matgenome.generation.substitution`): full
  replacement of one non-mobile element of a known composition by the species that the
  data-mined substitution probabilities of Hautier et al. (Inorg. Chem. 50, 656 (2011);
  shipped with pymatgen) rate as likely;
* **grid** (:func:`composition_grid`, :mod:`matgenome.generation.grids`): integer
  stoichiometries over chosen elements that admit a charge-neutral assignment of one
  oxidation state per element (:mod:`matgenome.generation.oxidation`) with every cation
  less electronegative than every anion (the SMACT screening rules).

:func:`deduplicate` (:mod:`matgenome.generation.candidates`) merges candidates with the
same reduced composition and marks those present in a known-data table;
:func:`generate_candidates` (:mod:`matgenome.generation.pipeline`) runs the whole pipeline.
Species and formula notation lives in :mod:`matgenome.generation.notation`.

Every public name is importable from ``matgenome.generation`` itself.
"""

from matgenome.generation.candidates import (
    COLUMNS,
    Candidate,
    deduplicate,
    known_values,
)
from matgenome.generation.doping import (
    DopingError,
    dopant_grid,
    dope,
    family_candidates,
)
from matgenome.generation.grids import composition_grid
from matgenome.generation.notation import (
    AMOUNT_DECIMALS,
    CHARGE_TOLERANCE,
    format_formula,
    parse_oxidation_states,
    parse_species,
    species_string,
)
from matgenome.generation.oxidation import (
    MAX_STATE_COMBINATIONS,
    OXIDATION_STATE_SETS,
    allowed_oxidation_states,
    electronegativity_ordered,
    guess_oxidation_states,
    neutral_oxidation_states,
)
from matgenome.generation.pipeline import METHODS, generate_candidates
from matgenome.generation.seeds import (
    SCHEMA_VERSION,
    Dopant,
    Family,
    Parent,
    Reference,
    SeedError,
    Site,
    family_choices,
    load_seeds,
    select_families,
)
from matgenome.generation.substitution import (
    DEFAULT_SUBSTITUTION_THRESHOLD,
    likely_substitutes,
    substitute,
    substitution_probabilities,
)

__all__ = [
    "AMOUNT_DECIMALS",
    "CHARGE_TOLERANCE",
    "COLUMNS",
    "DEFAULT_SUBSTITUTION_THRESHOLD",
    "MAX_STATE_COMBINATIONS",
    "METHODS",
    "OXIDATION_STATE_SETS",
    "SCHEMA_VERSION",
    "Candidate",
    "Dopant",
    "DopingError",
    "Family",
    "Parent",
    "Reference",
    "SeedError",
    "Site",
    "allowed_oxidation_states",
    "composition_grid",
    "deduplicate",
    "dopant_grid",
    "dope",
    "electronegativity_ordered",
    "family_candidates",
    "family_choices",
    "format_formula",
    "generate_candidates",
    "guess_oxidation_states",
    "known_values",
    "likely_substitutes",
    "load_seeds",
    "neutral_oxidation_states",
    "parse_oxidation_states",
    "parse_species",
    "select_families",
    "species_string",
    "substitute",
    "substitution_probabilities",
]


def __getattr__(name: str) -> object:
    # Deprecated names, each with its warning (matgenome.generation.candidates).
    if name == "KEY_DECIMALS":
        from matgenome.generation import candidates

        return getattr(candidates, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
