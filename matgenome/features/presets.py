"""Named feature presets, their combinations, and their documentation.

A preset is a sequence of feature blocks. Names can be joined with ``+``
(``"magpie+stoichiometry"``) to concatenate their columns in that order; a block that
appears more than once is kept at its first position, so ``"electrolyte+magpie"`` equals
``"electrolyte"`` (which already ends with the Magpie block) and labels stay unique.
"""

from __future__ import annotations

import functools
from typing import Any

from matgenome.errors import UsageError

from ._block import WARD_2018, FeatureBlock
from .alloy import ALLOY
from .conduction import CONDUCTION
from .electrolyte import ELECTROLYTE
from .ion import ION_PROPERTY
from .magpie import MAGPIE, VALENCE_ORBITAL
from .stoichiometry import ELEMENT_FRACTION, STOICHIOMETRY

# The combination matminer users call "magpie+": the models are trained on these columns.
DEFAULT_PRESET = "magpie+stoichiometry+valence_orbital+ion_property"

_BLOCKS: dict[str, FeatureBlock] = {
    block.name: block
    for block in (MAGPIE, STOICHIOMETRY, VALENCE_ORBITAL, ION_PROPERTY, ELEMENT_FRACTION)
}
_BLOCKS["electrolyte"] = ELECTROLYTE
_BLOCKS["conduction"] = CONDUCTION
_BLOCKS["alloy"] = ALLOY

_NAMED: dict[str, tuple[str, ...]] = {
    "magpie": ("magpie",),
    "stoichiometry": ("stoichiometry",),
    "valence_orbital": ("valence_orbital",),
    "ion_property": ("ion_property",),
    "element_fraction": ("element_fraction",),
    "electrolyte": ("electrolyte", "magpie"),
    "conduction": ("conduction",),
    "alloy": ("alloy",),
}

_DESCRIPTIONS: dict[str, str] = {
    "electrolyte": (
        "Descriptors of ion conduction (mobile-ion content, anion chemistry, mixed-anion and "
        "polyanion flags, Shannon radii, polarizabilities and electronegativities of the "
        "anion and framework-cation sublattices, charge balance with common oxidation "
        "states for fractional stoichiometries), followed by the 132 Magpie columns. "
        + ELECTROLYTE.description
    ),
}


def list_presets() -> list[str]:
    """Names accepted by ``preset`` (each may be combined with others using ``+``)."""
    return sorted([*_NAMED, "default"])


@functools.cache
def resolve_preset(preset: str) -> tuple[FeatureBlock, ...]:
    """Return the feature blocks of a preset name or ``+``-combination of names.

    Raises:
        ValueError: an unknown name or an empty combination.
        TypeError: ``preset`` is not a string.
    """
    if not isinstance(preset, str):
        raise TypeError(f"preset must be a string, got {type(preset).__name__}")
    names: list[str] = []
    for part in preset.split("+"):
        name = part.strip()
        if name == "default":
            names.extend(resolve_names(DEFAULT_PRESET))
        elif name in _NAMED:
            names.extend(_NAMED[name])
        else:
            raise UsageError(
                f"unknown feature preset {name!r} in {preset!r}; available presets: "
                f"{', '.join(list_presets())} (combine them with '+')"
            )
    return tuple(_BLOCKS[name] for name in dict.fromkeys(names))


def resolve_names(preset: str) -> list[str]:
    """Block names of a preset that does not mention ``default``."""
    names = []
    for part in preset.split("+"):
        names.extend(_NAMED[part.strip()])
    return names


def feature_labels(preset: str) -> list[str]:
    """Column labels of a preset, in output order."""
    return [label for block in resolve_preset(preset) for label in block.labels]


def preset_info(preset: str) -> dict[str, Any]:
    """Describe a preset: labels, description, citations, implementors, column notes.

    Returns a new dict with keys ``name``, ``description``, ``labels`` (list of column
    labels in output order), ``n_features``, ``blocks`` (names of the feature blocks),
    ``citations`` (BibTeX strings), ``implementors`` and ``column_descriptions``
    ({label: physical meaning and reference} for columns that need one).
    """
    blocks = resolve_preset(preset)
    key = preset.strip()
    if key in _DESCRIPTIONS:
        description = _DESCRIPTIONS[key]
    elif len(blocks) == 1:
        description = blocks[0].description
    else:
        description = "Concatenation of: " + " | ".join(
            f"{block.name}: {block.description}" for block in blocks
        )
    if key == "default":
        description = f"The default feature set, currently {DEFAULT_PRESET!r}. " + description
    citations = dict.fromkeys(c for block in blocks for c in block.citations)
    citations[WARD_2018] = None
    implementors = dict.fromkeys(i for block in blocks for i in block.implementors)
    column_descriptions: dict[str, str] = {}
    for block in blocks:
        column_descriptions.update(block.column_descriptions)
    labels = [label for block in blocks for label in block.labels]
    return {
        "name": preset,
        "description": description,
        "labels": labels,
        "n_features": len(labels),
        "blocks": [block.name for block in blocks],
        "citations": list(citations),
        "implementors": list(implementors),
        "column_descriptions": column_descriptions,
    }
