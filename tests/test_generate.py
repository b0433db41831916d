"""Candidate generators: doping, substitution, composition grid, deduplication."""

from __future__ import annotations

import itertools
import math
import socket

import pandas as pd
import pytest

from matgenome.composition import CANDIDATE_DECIMALS, CompositionKey, parse_composition
from matgenome.generation import (
    COLUMNS,
    Dopant,
    DopingError,
    composition_grid,
    deduplicate,
    dopant_grid,
    dope,
    electronegativity_ordered,
    family_candidates,
    format_formula,
    generate_candidates,
    likely_substitutes,
    load_seeds,
    neutral_oxidation_states,
    parse_oxidation_states,
    select_families,
    substitute,
    substitution_probabilities,
)


@pytest.fixture(scope="module")
def default_candidates() -> pd.DataFrame:
    return generate_candidates()


def _charge(formula: str, states: dict[str, int]) -> float:
    composition = parse_composition(formula)
    return sum(float(amount) * states[str(el)] for el, amount in composition.items())


# ----------------------------------------------------------------------------- doping


def test_llzo_tantalum_on_zirconium():
    candidate = dope("Li7La3Zr2O12", [("Ta5+", "Zr", 0.5)])
    assert candidate.formula == "Li6.5La3Zr1.5Ta0.5O12"
    assert candidate.description == "Ta5+ on Zr4+ site, x=0.5; Li adjusted -0.5 (Li vacancies)"
    assert candidate.oxidation_states == {"Li": 1, "La": 3, "Zr": 4, "Ta": 5, "O": -2}


def test_llzo_aluminium_on_the_lithium_site_removes_three_li():
    candidate = dope("Li7La3Zr2O12", [("Al3+", "Li", 0.2)])
    assert candidate.formula == "Li6.4Al0.2La3Zr2O12"
    assert candidate.description == "Al3+ on Li+ site, x=0.2; Li adjusted -0.6 (Li vacancies)"


def test_codoping_and_interstitials_and_anion_sites():
    both = dope("Li7La3Zr2O12", [("Al3+", "Li", 0.2), ("Ta5+", "Zr", 0.5)])
    assert both.formula == "Li5.9Al0.2La3Zr1.5Ta0.5O12"
    latp = dope("LiTi2(PO4)3", [("Al3+", "Ti", 0.3)])
    assert latp.formula == "Li1.3Ti1.7Al0.3P3O12"
    key = CompositionKey.of(latp.formula, CANDIDATE_DECIMALS)
    assert key == CompositionKey.of("Li1.3Al0.3Ti1.7(PO4)3", CANDIDATE_DECIMALS)
    assert latp.description.endswith("Li adjusted +0.3 (Li interstitials)")
    argyrodite = dope("Li6PS5Cl", [("Cl-", "S", 0.5)])
    assert argyrodite.formula == "Li5.5PS4.5Cl1.5"
    isovalent = dope("Li3N", [("Cu+", "Li", 0.2)])
    assert isovalent.formula == "Li2.8Cu0.2N"
    assert isovalent.description.endswith("Li adjusted -0.2 (isovalent)")
    full = dope("Li7La3Zr2O12", [("Ta5+", "Zr", 2)])
    assert full.formula == "Li5La3Ta2O12"


def test_unphysical_doping_is_rejected():
    with pytest.raises(DopingError, match="Li content would be"):
        dope("LiTi2(PO4)3", [("Nb5+", "Ti", 1.5)])  # Li 1 - 1.5 < 0
    with pytest.raises(DopingError, match="Li content would be"):
        dope("Li3N", [("Mg2+", "Li", 1.5)])  # Li 3 - 1.5 - 1.5 = 0
    with pytest.raises(DopingError, match="exceeds the Zr amount"):
        dope("Li7La3Zr2O12", [("Ta5+", "Zr", 2.5)])
    with pytest.raises(DopingError, match="no Hf site"):
        dope("Li7La3Zr2O12", [("Ta5+", "Hf", 0.5)])
    with pytest.raises(DopingError, match="Fe is already present as Fe2"):
        dope("Li2FeSiO4", [("Fe3+", "Si", 0.1)], oxidation_states={"Li": 1, "Fe": 2, "Si": 4,
                                                                   "O": -2})


def test_dopant_grids():
    dopant = Dopant("Ta", 5, 0.25, 1.25)
    assert dopant_grid(dopant, steps=5) == [0.25, 0.5, 0.75, 1.0, 1.25]
    assert dopant_grid(dopant, steps=1) == [0.25]
    assert dopant_grid(dopant, step=0.4) == [0.4, 0.8, 1.2]
    with pytest.raises(ValueError, match="steps"):
        dopant_grid(dopant, steps=0)


def test_default_generation_size_and_columns(default_candidates):
    frame = default_candidates
    assert list(frame.columns) == list(COLUMNS)
    assert 300 <= len(frame) <= 5000
    assert set(frame["method"]) == {"doping"}
    assert {f.name for f in load_seeds()} == set(frame["family"])
    assert not frame["known"].any() and frame["known_value"].isna().all()


def test_every_candidate_is_neutral_and_round_trips(default_candidates):
    for formula, states in zip(default_candidates["formula"],
                               default_candidates["oxidation_states"], strict=True):
        declared = parse_oxidation_states(states)
        assert abs(_charge(formula, declared)) < 1e-6, formula
        composition = parse_composition(formula)
        assert set(declared) == {str(el) for el in composition}
        assert format_formula({str(el): float(a) for el, a in composition.items()}) == formula


def test_mobile_ion_stays_in_the_parent_window():
    for family in load_seeds():
        windows = {p.formula: p.mobile_ion_range for p in family.parents}
        for candidate in family_candidates(family):
            low, high = windows[candidate.parent]
            assert 0 < low - 1e-9 <= candidate.amounts["Li"] <= high + 1e-9


def test_default_candidates_are_unique_and_exclude_parents(default_candidates):
    keys = [CompositionKey.of(f, CANDIDATE_DECIMALS) for f in default_candidates["formula"]]
    assert len(set(keys)) == len(keys)
    assert CompositionKey.of("Li6.5La3Zr1.5Ta0.5O12", CANDIDATE_DECIMALS) in keys
    assert CompositionKey.of("Li6.4Al0.2La3Zr2O12", CANDIDATE_DECIMALS) in keys


def test_two_dopants(default_candidates):
    (family,) = select_families(["anti-perovskite"])
    single = list(family_candidates(family, max_dopants=1))
    double = list(family_candidates(family, max_dopants=2))
    assert len(double) > len(single)
    pairs = [c for c in double if c.description.count(" site, x=") == 2]
    assert pairs
    for candidate in pairs:
        assert abs(_charge(candidate.formula, candidate.oxidation_states)) < 1e-6
        assert 2.5 - 1e-9 <= candidate.amounts["Li"] <= 3.0 + 1e-9


def test_generation_is_deterministic_and_subsampling_uses_the_seed(default_candidates):
    pd.testing.assert_frame_equal(generate_candidates(), default_candidates)
    first = generate_candidates(max_candidates=50, seed=1)
    assert len(first) == 50
    pd.testing.assert_frame_equal(first, generate_candidates(max_candidates=50, seed=1))
    assert set(first["formula"]) != set(generate_candidates(max_candidates=50, seed=2)["formula"])
    # The subsample keeps the generation order.
    positions = [default_candidates.index[default_candidates["formula"] == f][0]
                 for f in first["formula"]]
    assert positions == sorted(positions)


def test_argument_errors():
    with pytest.raises(ValueError, match="unknown method"):
        generate_candidates(methods=("mutation",))
    with pytest.raises(ValueError, match="unknown family 'spinel'"):
        generate_candidates(families=["spinel"])
    with pytest.raises(ValueError, match="needs grid_elements"):
        generate_candidates(methods=("grid",))
    with pytest.raises(ValueError, match="max_dopants"):
        list(family_candidates(load_seeds()[0], max_dopants=0))


# ----------------------------------------------------------------------------- deduplication


def test_deduplicate_against_known_table():
    known = pd.DataFrame({
        "formula": ["Li6.5La3Zr1.5Ta0.5O12", "Li13La6Zr3TaO24", "Li7La3Zr2O12", "not a formula",
                    "Li6.4Al0.2La3Zr2O12"],
        "target": [-3.5, -3.3, -4.0, 0.0, math.nan],
    })
    frame = generate_candidates(families=["garnet"], known=known)
    by_formula = frame.set_index("formula")
    assert by_formula.loc["Li6.5La3Zr1.5Ta0.5O12", "known"]
    assert by_formula.loc["Li6.5La3Zr1.5Ta0.5O12", "known_value"] == pytest.approx(-3.4)
    # Known without a measured value: marked, value NaN.
    assert by_formula.loc["Li6.4Al0.2La3Zr2O12", "known"]
    assert math.isnan(by_formula.loc["Li6.4Al0.2La3Zr2O12", "known_value"])
    assert frame["known"].sum() == 2
    assert frame.loc[~frame["known"], "known_value"].isna().all()
    dropped = generate_candidates(families=["garnet"], known=known, drop_known=True)
    assert len(dropped) == len(frame) - 2 and not dropped["known"].any()


def test_deduplicate_merges_equivalent_formulas():
    candidates = pd.DataFrame({
        "formula": ["Li3PS4", "Li6P2S8", "0.75Li2S-0.25P2S5", "Li3.00001PS4", "Li7P3S11"],
        "method": ["grid"] * 5,
    })
    out = deduplicate(candidates, known=pd.DataFrame({"formula": ["Li1.5P0.5S2"],
                                                      "target": [-6.3]}))
    assert out["formula"].tolist() == ["Li3PS4", "Li7P3S11"]
    assert out["known"].tolist() == [True, False]
    assert out.loc[0, "known_value"] == pytest.approx(-6.3)
    with pytest.raises(ValueError, match="target"):
        deduplicate(candidates, known=pd.DataFrame({"formula": ["Li3PS4"]}))


# ----------------------------------------------------------------------------- grid


def test_grid_li_p_s():
    grid = composition_grid(["Li", "P", "S"], max_atoms=12)
    formulas = [c.formula for c in grid]
    assert "Li3PS4" in formulas
    assert "Li2PS4" not in formulas  # 2 + q(P) + 4 q(S) = 0 has no solution in common states
    assert len(formulas) == len(set(formulas))
    for candidate in grid:
        assert abs(_charge(candidate.formula, candidate.oxidation_states)) < 1e-9
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


def test_grid_through_generate_candidates():
    frame = generate_candidates(methods=("grid",), grid_elements=["Li", "P", "S"],
                                grid_max_atoms=8,
                                known=pd.DataFrame({"formula": ["Li3PS4"], "target": [-6.0]}))
    row = frame.set_index("formula").loc["Li3PS4"]
    assert row["method"] == "grid" and row["known"] and row["known_value"] == -6.0


# ----------------------------------------------------------------------------- substitution


def test_substitution_probabilities_load_offline(monkeypatch):
    def refuse(*args, **kwargs):
        raise OSError("network access attempted")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    substitution_probabilities.cache_clear()
    likely_substitutes.cache_clear()
    table = substitution_probabilities()
    assert len(table.species) > 100
    substitutes = likely_substitutes("Zr4+", 0.02)
    names = [name for name, _ in substitutes]
    assert "Hf4+" in names and "Zr4+" not in names
    probabilities = [p for _, p in substitutes]
    assert probabilities == sorted(probabilities, reverse=True) and min(probabilities) >= 0.02
    assert all(name.endswith("+") for name in names)


def test_substitute_known_composition():
    candidates = substitute("Li7La3Zr2O12", threshold=0.02)
    formulas = {c.formula for c in candidates}
    assert "Li7La3Hf2O12" in formulas
    hafnium = next(c for c in candidates if c.formula == "Li7La3Hf2O12")
    assert hafnium.description.startswith("Hf4+ replaces Zr4+ (p=")
    assert hafnium.method == "substitution" and hafnium.probability >= 0.02
    for candidate in candidates:
        assert abs(_charge(candidate.formula, candidate.oxidation_states)) < 1e-6
        assert candidate.amounts["Li"] > 0
        assert not {"U", "Pu", "Ra", "Xe"} & set(candidate.amounts)
        assert len(candidate.amounts) == 4  # one element swapped for one new element
    aliovalent = [c for c in candidates if "Li adjusted" in c.description]
    assert aliovalent  # e.g. Sr2+ for La3+ adds Li
    assert all(c.amounts["Li"] != 7 for c in aliovalent)


def test_substitution_through_generate_candidates():
    known = pd.DataFrame({"formula": ["Li3YCl6", "Li3YBr6"], "target": [-3.3, -2.7],
                          "family": ["halides", "halides"]})
    frame = generate_candidates(families=["halide"], methods=("substitution",), known=known,
                                substitution_sources="known")
    assert set(frame["method"]) == {"substitution"} and set(frame["family"]) == {"halides"}
    by_formula = frame.set_index("formula")
    # Li3YCl6 with Br- for Cl- is Li3YBr6 itself: generated and marked as known.
    assert by_formula.loc["Li3YBr6", "known"]
    assert by_formula.loc["Li3YBr6", "known_value"] == pytest.approx(-2.7)
    assert by_formula.loc["Li3YBr6", "description"].startswith("Br- replaces Cl- (p=")
    assert frame["probability"].ge(0.02).all()
