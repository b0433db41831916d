"""The vectorised ``conduction`` block against a plain per-composition implementation."""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pytest
from pymatgen.core import Element

from matgenome.composition import (
    MAX_DENOMINATOR,
    RATIONAL_TOLERANCE,
    CompositionError,
    parse_composition,
)
from matgenome.datasets import load
from matgenome.features import compute_features, preset_info
from matgenome.features.conduction import (
    ANION_CHARGE,
    ANION_POLARIZABILITY,
    LABELS,
    REPORTED_ANIONS,
)


def reference_row(formula: str) -> np.ndarray:
    """The descriptors of one formula, written element by element with dicts."""
    try:
        amounts = {el.symbol: float(n) for el, n in parse_composition(formula).items()}
    except CompositionError:
        return np.full(len(LABELS), np.nan)
    total = sum(amounts.values())
    hydride = not ({"O", "N"} & set(amounts))
    anions = {e: n for e, n in amounts.items() if e in ANION_CHARGE and (e != "H" or hydride)}
    cations = {e: n for e, n in amounts.items() if e not in anions}
    framework = {e: n for e, n in cations.items() if e != "Li"}
    n_anion, n_cation = sum(anions.values()), sum(cations.values())
    li = amounts.get("Li", 0.0)
    per_anion = 1.0 / n_anion if n_anion else 0.0
    row = {"li_frac": li / total, "li_per_anion": li * per_anion,
           "li_per_cation": li / n_cation if n_cation else 0.0}
    for anion in REPORTED_ANIONS:
        row[f"anion_{anion}"] = anions.get(anion, 0.0) * per_anion
    row["anion_chalc"] = sum(anions.get(a, 0.0) for a in ("S", "Se", "Te")) * per_anion
    row["anion_hal"] = sum(anions.get(a, 0.0) for a in ("F", "Cl", "Br", "I")) * per_anion
    row["anion_pol"] = sum(ANION_POLARIZABILITY[a] * n for a, n in anions.items()) * per_anion
    row["n_anion_types"] = len(anions)
    negative = sum(-ANION_CHARGE[a] * n for a, n in anions.items())
    positive = sum(cation_charge(e) * n for e, n in cations.items())
    row["charge_ratio"] = positive / negative if negative else 0.0
    fw_total = sum(framework.values())
    for name, value in (("fw_en", electronegativity), ("fw_ox", cation_charge),
                        ("fw_radius", lambda e: Element(e).atomic_radius or 0.0),
                        ("fw_mass", lambda e: Element(e).atomic_mass)):
        row[name] = (sum(float(value(e)) * n for e, n in framework.items()) / fw_total
                     if fw_total else 0.0)
    row["n_fw_types"] = len(framework)
    row["formula_size"], row["li_scale"] = formula_size(amounts)
    row["has_P"] = "P" in amounts
    row["has_Ge_Si_Sn"] = bool({"Ge", "Si", "Sn"} & set(amounts))
    row["has_La_Zr"] = "La" in amounts and "Zr" in amounts
    row["has_Ti_Ta_Nb"] = bool({"Ti", "Ta", "Nb"} & set(amounts))
    row["atoms_per_anion"] = total * per_anion
    return np.array([float(row[label]) for label in LABELS])


def formula_size(amounts: dict[str, float]) -> tuple[float, float]:
    """log10 atoms of the smallest integer formula, log10 gcd of its non-Li counts."""
    smallest = min(amounts.values())
    ratios = {e: Fraction(n / smallest).limit_denominator(MAX_DENOMINATOR)
              for e, n in amounts.items()}
    common = math.lcm(*(r.denominator for r in ratios.values()))
    close = all(abs(float(r) - n / smallest) <= RATIONAL_TOLERANCE * n / smallest
                for (e, r), n in zip(ratios.items(), amounts.values(), strict=True))
    if common > MAX_DENOMINATOR or not close:
        total = sum(amounts.values())
        return math.log10((MAX_DENOMINATOR + 1) * total / smallest), 0.0
    counts = {e: int(r * common) for e, r in ratios.items()}
    li_factor = math.gcd(*(c for e, c in counts.items() if e != "Li")) or 1
    return math.log10(sum(counts.values())), math.log10(li_factor)


def cation_charge(symbol: str) -> float:
    states = Element(symbol).common_oxidation_states
    positive = [s for s in states if s > 0]
    return max(positive) if positive else (states[0] if states else 0)


def electronegativity(symbol: str) -> float:
    x = Element(symbol).X
    return x if x == x else 0.0


EDGE_CASES = ["Li2O", "LiH", "LiBH4", "Li3N", "LiNH2", "Cu", "Li", "Li0.5La0.5TiO3",
              "Li6PS5Cl", "Li2.5H0.5N", "NaCl", "Li7La3Zr2O12", "Li10GeP2S12", "Xx2O", ""]


@pytest.mark.filterwarnings("ignore::UserWarning")
def test_conduction_block_matches_the_per_composition_definition() -> None:
    formulas = list(load("obelix")["formula"]) + EDGE_CASES
    X, errors = compute_features(formulas, "conduction")
    expected = np.array([reference_row(f) for f in formulas])
    assert [bool(e) for e in errors[-2:]] == [True, True]
    np.testing.assert_allclose(X, expected, rtol=1e-12, atol=1e-12)  # NaN rows included


def test_conduction_of_a_simple_sulfide() -> None:
    X, _ = compute_features(["Li2S", "Li6.4La3Zr1.4Ta0.6O12"], "conduction")
    row = dict(zip(LABELS, X[0], strict=True))
    assert row["li_frac"] == pytest.approx(2 / 3)
    assert row["li_per_anion"] == pytest.approx(2.0)
    assert row["anion_S"] == row["anion_chalc"] == pytest.approx(1.0)
    assert row["anion_pol"] == pytest.approx(10.2)
    assert row["charge_ratio"] == pytest.approx(1.0)  # 2 Li+ balance one S2-
    assert row["formula_size"] == pytest.approx(math.log10(3)) and row["li_scale"] == 0.0
    doped = dict(zip(LABELS, X[1], strict=True))
    # Li6.4La3Zr1.4Ta0.6O12 is Li32La15Zr7Ta3O60: 117 atoms, Li integral given the rest.
    assert doped["formula_size"] == pytest.approx(math.log10(117))
    assert doped["li_scale"] == 0.0
    assert doped["has_La_Zr"] == 1.0


def test_li_scale_marks_li_off_stoichiometry() -> None:
    X, _ = compute_features(["Li1.1Mn2O4", "LiMn2O4", "Li0.2Cu", "Fe0.62C9.53e-4"],
                            "conduction")
    size, li_scale = LABELS.index("formula_size"), LABELS.index("li_scale")
    assert X[0, li_scale] == pytest.approx(math.log10(20))  # Li11Mn20O40
    # LiMn2O4 is Li0.5(MnO2): half a Li per reduced unit of the rest; Li0.2Cu a fifth.
    assert X[1, li_scale] == pytest.approx(math.log10(2))
    assert X[2, li_scale] == pytest.approx(math.log10(5))
    assert X[0, size] == pytest.approx(math.log10(71))
    assert X[3, size] == pytest.approx(math.log10(620953))  # Fe620000C953


def test_conduction_preset_is_documented() -> None:
    info = preset_info("conduction")
    assert info["labels"] == list(LABELS)
    assert info["citations"] and "charge_ratio" in info["column_descriptions"]
