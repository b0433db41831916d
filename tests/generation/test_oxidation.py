"""Oxidation states: the electronegativity rule and neutral assignments."""

from __future__ import annotations

from matgenome.generation import (
    composition_grid,
    electronegativity_ordered,
    neutral_oxidation_states,
)


def test_electronegativity_filter_rejects_inverted_ionicity():
    assert electronegativity_ordered({"Li": 1, "P": 5, "S": -2})
    assert not electronegativity_ordered({"Li": -1, "S": 2})  # Li anion, S cation
    assert not electronegativity_ordered({"Li": 1, "Na": 1})  # no anion
    # Li-S with S as the cation and Li as the anion is neutral for Li2S but must be excluded.
    grid = composition_grid(["Li", "S"], max_atoms=4, oxidation_states={"Li": [1, -1],
                                                                         "S": [-2, 2]})
    assert [c.description for c in grid] == ["Li+ S2-"]


def test_neutral_oxidation_states_handles_fractions():
    assert neutral_oxidation_states("Li6.4Al0.2La3Zr2O12")[0] == {
        "Li": 1, "Al": 3, "La": 3, "Zr": 4, "O": -2}
    assert neutral_oxidation_states("Li2PS4") == []
