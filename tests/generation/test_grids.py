"""Composition grids over chosen elements."""

from __future__ import annotations

import itertools
import math

from matgenome.generation import (
    composition_grid,
    electronegativity_ordered,
    format_formula,
)


def test_grid_li_p_s(charge):
    grid = composition_grid(["Li", "P", "S"], max_atoms=12)
    formulas = [c.formula for c in grid]
    assert "Li3PS4" in formulas
    assert "Li2PS4" not in formulas  # 2 + q(P) + 4 q(S) = 0 has no solution in common states
    assert len(formulas) == len(set(formulas))
    for candidate in grid:
        assert abs(charge(candidate.formula, candidate.oxidation_states)) < 1e-9
        assert electronegativity_ordered(candidate.oxidation_states)
        assert sum(candidate.amounts.values()) <= 12
        assert math.gcd(*map(int, candidate.amounts.values())) == 1
    assert next(c for c in grid if c.formula == "Li3PS4").description == "Li+ P5+ S2-"


def test_grid_matches_brute_force_with_explicit_states():
    grid = composition_grid(["Li", "P", "S"], max_atoms=10,
                            oxidation_states={"Li": [1], "P": [5], "S": [-2]})
    expected = {
        format_formula({"Li": a, "P": b, "S": c})
        for a, b, c in itertools.product(range(1, 9), repeat=3)
        if a + b + c <= 10 and a + 5 * b - 2 * c == 0 and math.gcd(a, b, c) == 1
    }
    assert {c.formula for c in grid} == expected
    assert "Li3PS4" in expected and "LiPS3" in expected
