"""Units of target values: one spelling per unit, groups and conversion factors.

Conductivities, energies and stresses are converted to the first unit of their group
(S/cm, eV, MPa) unless the caller names another unit of the group.
"""

from __future__ import annotations

import re

from matgenome.errors import InputError

# Conversion factors to the first unit of each group.
UNIT_FACTORS: dict[str, dict[str, float]] = {
    "conductivity": {"S/cm": 1.0, "mS/cm": 1e-3, "uS/cm": 1e-6, "µS/cm": 1e-6,
                     "S/m": 1e-2, "mS/m": 1e-5},
    "energy": {"eV": 1.0, "meV": 1e-3},
    "stress": {"MPa": 1.0, "GPa": 1e3, "kPa": 1e-3, "Pa": 1e-6},
}
# Superscript digits and signs as written in units and powers of ten (``S·cm⁻¹``, ``10⁻³``).
SUPERSCRIPTS = str.maketrans("⁰¹²³⁴⁵⁶⁷⁸⁹⁻⁺", "0123456789-+")


def normalise_unit(unit: str) -> str:
    """One spelling per unit: ``S cm-1``, ``S·cm⁻¹`` and ``S/cm`` are all ``S/cm``."""
    text = unit.strip().translate(SUPERSCRIPTS).replace("μ", "µ").replace("−", "-")
    text = re.sub(r"[\s·*]+", "", text)
    text = re.sub(r"^(.*?)(cm|m)\^?-1$", r"\1/\2", text)
    return "uS/cm" if text == "µS/cm" else text


def unit_group(unit: str) -> str | None:
    """The group of a unit (``conductivity``, ``energy``, ``stress``), None if unknown."""
    for name, group in UNIT_FACTORS.items():
        if unit in group:
            return name
    return None



def known_units() -> str:
    """Every known unit, for error messages."""
    return ", ".join(u for group in UNIT_FACTORS.values() for u in group)


def unit_factor(unit: str, to_unit: str | None = None) -> float:
    """Factor converting values in ``unit`` to ``to_unit`` (default: the group's base unit)."""
    unit = normalise_unit(unit)
    for group in UNIT_FACTORS.values():
        if unit in group:
            target = normalise_unit(to_unit) if to_unit else next(iter(group))
            if target not in group:
                raise InputError(f"cannot convert {unit} to {target}")
            return group[unit] / group[target]
    raise InputError(f"unknown unit {unit!r}; known units: {known_units()}")
