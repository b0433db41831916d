"""Constraints on candidate compositions."""

from __future__ import annotations

import numpy as np
import pytest

import matgenome.ranking as rank


def test_constraints_give_one_reason_per_violation() -> None:
    rules = rank.Constraints(
        required_elements=("Li",), excluded_elements=("Ge", "Pb"), max_elements=4,
        min_mobile_fraction=0.2,
    )
    formulas = ["Li3PS4", "Na3PS4", "Li10GeP2S12", "Li7La3Zr2O12", "Li6PS5Cl", "Qq2O"]
    mask, reasons = rank.check_constraints(formulas, rules)
    np.testing.assert_array_equal(mask, [True, False, False, True, True, False])
    # Li7La3Zr2O12 has 4 elements (allowed) and a Li fraction of 7/24 = 0.29 (allowed).
    assert reasons[0] == reasons[3] == reasons[4] == ""
    assert reasons[1] == "missing required element(s) Li; Li fraction 0 < 0.2"
    assert reasons[2] == "contains excluded element(s) Ge"
    assert "unknown element 'Qq'" in reasons[5]


def test_element_count_and_mobile_fraction_bounds() -> None:
    rules = rank.Constraints(min_elements=3, max_elements=3, max_mobile_fraction=0.35)
    mask, reasons = rank.check_constraints(["Li2O", "Li3PS4", "LiAlO2", "Li7La3Zr2O12"], rules)
    np.testing.assert_array_equal(mask, [False, False, True, False])
    assert reasons[0] == "2 elements < min_elements=3; Li fraction 0.6667 > 0.35"
    assert reasons[1] == "Li fraction 0.375 > 0.35"
    assert reasons[3] == "4 elements > max_elements=3"


def test_other_mobile_ion_and_mapping_input() -> None:
    mask, reasons = rank.check_constraints(
        ["Na3PS4", "Li3PS4"], {"mobile_ion": "Na", "min_mobile_fraction": 0.3}
    )
    np.testing.assert_array_equal(mask, [True, False])
    assert reasons[1] == "Na fraction 0 < 0.3"


def test_invalid_constraints_are_rejected() -> None:
    with pytest.raises(ValueError, match="unknown element symbol"):
        rank.Constraints(required_elements=("Xx",))
    with pytest.raises(ValueError, match="both required and excluded"):
        rank.Constraints(required_elements=("Li",), excluded_elements=("Li",))
    with pytest.raises(ValueError, match="above upper bound"):
        rank.Constraints(min_elements=4, max_elements=2)
    with pytest.raises(ValueError, match="unknown constraint"):
        rank.Constraints.from_mapping({"max_atoms": 3})
