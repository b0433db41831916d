"""Composition descriptors of Li-ion conduction that the conductivity recipe adds to Magpie.

Each row describes the mobile-ion content, the anion sublattice, the framework cations,
charge balance and the doping of one formula, all from the composition alone (no family
label, no structure), so they can be computed for any new candidate:

* ``li_frac``, ``li_per_anion``, ``li_per_cation``: carrier concentration;
* ``anion_<X>`` (O, S, Se, F, Cl, Br, I, N), ``anion_chalc``, ``anion_hal``: the anion
  mix (sulfides and halides conduct far better than oxides, Bachman et al. 2016);
* ``anion_pol``: mean anion polarizability (softer lattices, lower barriers; Kraft 2017);
* ``n_anion_types``, ``charge_ratio``: mixed anions and the ratio of cation charge (at the
  highest common oxidation state) to anion charge;
* ``fw_en``, ``fw_ox``, ``fw_radius``, ``fw_mass``, ``n_fw_types``: the non-Li framework;
* ``n_fractional``, ``li_fractional``: number of elements with non-integer amounts and
  whether Li is non-integer, i.e. aliovalent doping that creates Li vacancies or
  interstitials, the usual route from a parent to a fast conductor;
* ``has_P``, ``has_Ge_Si_Sn``, ``has_La_Zr``, ``has_Ti_Ta_Nb``: framework elements of the
  main conductor families (thiophosphates and NASICONs, LGPS/LISICON, garnets,
  perovskites), derived from the composition only;
* ``atoms_per_anion``: packing of the formula per anion.

H counts as an anion (hydride) only when neither O nor N is present. Formulas that
cannot be parsed give a row of NaN.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache

import numpy as np
from pymatgen.core import Element

from matgenome.composition import CompositionError, parse_composition

ANION_CHARGE = {"O": -2, "S": -2, "Se": -2, "Te": -2, "F": -1, "Cl": -1, "Br": -1, "I": -1,
                "N": -3, "H": -1}
# Static anion polarizabilities (cubic angstrom), approximate literature values
# (Shannon & Fischer 2006 for the chalcogenides and halides).
ANION_POLARIZABILITY = {"O": 3.88, "S": 10.2, "Se": 10.5, "Te": 14.0, "F": 1.04, "Cl": 3.66,
                        "Br": 4.77, "I": 7.1, "N": 4.4, "H": 1.0}
REPORTED_ANIONS = ("O", "S", "Se", "F", "Cl", "Br", "I", "N")
LABELS = (
    "li_frac", "li_per_anion", "li_per_cation",
    *(f"anion_{a}" for a in REPORTED_ANIONS),
    "anion_chalc", "anion_hal", "anion_pol", "n_anion_types", "charge_ratio",
    "fw_en", "fw_ox", "fw_radius", "fw_mass", "n_fw_types",
    "n_fractional", "li_fractional", "has_P", "has_Ge_Si_Sn", "has_La_Zr", "has_Ti_Ta_Nb",
    "atoms_per_anion",
)


def conduction_descriptors(formulas: Sequence[object]) -> np.ndarray:
    """One row of :data:`LABELS` per formula (NaN rows for unparseable formulas)."""
    rows = {}
    out = np.full((len(formulas), len(LABELS)), np.nan)
    for i, formula in enumerate(formulas):
        key = formula if isinstance(formula, str) else repr(formula)
        if key not in rows:
            rows[key] = _row(formula)
        out[i] = rows[key]
    return out


def _row(formula: object) -> np.ndarray:
    try:
        composition = parse_composition(formula)
    except CompositionError:
        return np.full(len(LABELS), np.nan)
    amounts = {el.symbol: float(amount) for el, amount in composition.items()}
    values = _descriptors(amounts)
    return np.array([values[label] for label in LABELS], dtype=float)


def _descriptors(amounts: dict[str, float]) -> dict[str, float]:
    """The descriptors of one composition given as element -> amount."""
    total = sum(amounts.values())
    hydride = not ({"O", "N"} & set(amounts))
    anions = {el: n for el, n in amounts.items()
              if el in ANION_CHARGE and (el != "H" or hydride)}
    cations = {el: n for el, n in amounts.items() if el not in anions}
    framework = {el: n for el, n in cations.items() if el != "Li"}
    n_anion = sum(anions.values())
    n_cation = sum(cations.values())
    li = amounts.get("Li", 0.0)
    per_anion = 1.0 / n_anion if n_anion else 0.0  # an anion-free alloy gets zeros
    values = {
        "li_frac": li / total,
        "li_per_anion": li * per_anion,
        "li_per_cation": li / n_cation if n_cation else 0.0,
    }
    for anion in REPORTED_ANIONS:
        values[f"anion_{anion}"] = anions.get(anion, 0.0) * per_anion
    values["anion_chalc"] = sum(anions.get(a, 0.0) for a in ("S", "Se", "Te")) * per_anion
    values["anion_hal"] = sum(anions.get(a, 0.0) for a in ("F", "Cl", "Br", "I")) * per_anion
    values["anion_pol"] = sum(ANION_POLARIZABILITY[a] * n for a, n in anions.items()) * per_anion
    values["n_anion_types"] = float(len(anions))
    negative = sum(-ANION_CHARGE[a] * n for a, n in anions.items())
    positive = sum(_cation_charge(el) * n for el, n in cations.items())
    values["charge_ratio"] = positive / negative if negative else 0.0
    values.update(_framework(framework))
    values["n_fractional"] = float(sum(abs(n - round(n)) > 1e-6 for n in amounts.values()))
    values["li_fractional"] = float(abs(li - round(li)) > 1e-6)
    values["has_P"] = float("P" in amounts)
    values["has_Ge_Si_Sn"] = float(bool({"Ge", "Si", "Sn"} & set(amounts)))
    values["has_La_Zr"] = float("La" in amounts and "Zr" in amounts)
    values["has_Ti_Ta_Nb"] = float(bool({"Ti", "Ta", "Nb"} & set(amounts)))
    values["atoms_per_anion"] = total * per_anion
    return values


def _framework(framework: dict[str, float]) -> dict[str, float]:
    """Amount-weighted means over the non-Li cations (zeros when there are none)."""
    total = sum(framework.values())
    names = ("fw_en", "fw_ox", "fw_radius", "fw_mass")
    if not total:
        return {**dict.fromkeys(names, 0.0), "n_fw_types": 0.0}
    means = {}
    for name, index in zip(names, range(4), strict=True):
        means[name] = sum(_element_data(el)[index] * n for el, n in framework.items()) / total
    means["n_fw_types"] = float(len(framework))
    return means


@cache
def _cation_charge(symbol: str) -> float:
    """Highest positive common oxidation state (or the first listed; 0 if none)."""
    states = Element(symbol).common_oxidation_states
    positive = [s for s in states if s > 0]
    return float(max(positive) if positive else (states[0] if states else 0))


@cache
def _element_data(symbol: str) -> tuple[float, float, float, float]:
    """Electronegativity, cation charge, atomic radius and mass of an element."""
    element = Element(symbol)
    electronegativity = element.X if element.X == element.X else 0.0  # NaN for noble gases
    radius = float(element.atomic_radius or 0.0)
    return float(electronegativity), _cation_charge(symbol), radius, float(element.atomic_mass)
