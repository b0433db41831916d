"""generate_candidates: the default table, determinism, argument errors, each method
through the pipeline."""

from __future__ import annotations

import pandas as pd
import pytest

from matgenome.composition import CANDIDATE_DECIMALS, CompositionKey, parse_composition
from matgenome.errors import UsageError
from matgenome.generation import (
    COLUMNS,
    family_candidates,
    format_formula,
    generate_candidates,
    load_seeds,
    parse_oxidation_states,
)


def test_default_generation_size_and_columns(default_candidates):
    frame = default_candidates
    assert list(frame.columns) == list(COLUMNS)
    assert 300 <= len(frame) <= 5000
    assert set(frame["method"]) == {"doping"}
    assert {f.name for f in load_seeds()} == set(frame["family"])
    assert not frame["known"].any() and frame["known_value"].isna().all()


def test_every_candidate_is_neutral_and_round_trips(default_candidates, charge):
    for formula, states in zip(default_candidates["formula"],
                               default_candidates["oxidation_states"], strict=True):
        declared = parse_oxidation_states(states)
        assert abs(charge(formula, declared)) < 1e-6, formula
        composition = parse_composition(formula)
        assert set(declared) == {str(el) for el in composition}
        assert format_formula({str(el): float(a) for el, a in composition.items()}) == formula


def test_default_candidates_are_unique_and_exclude_parents(default_candidates):
    keys = [CompositionKey.of(f, CANDIDATE_DECIMALS) for f in default_candidates["formula"]]
    assert len(set(keys)) == len(keys)
    assert CompositionKey.of("Li6.5La3Zr1.5Ta0.5O12", CANDIDATE_DECIMALS) in keys
    assert CompositionKey.of("Li6.4Al0.2La3Zr2O12", CANDIDATE_DECIMALS) in keys


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


def test_grid_through_generate_candidates():
    frame = generate_candidates(methods=("grid",), grid_elements=["Li", "P", "S"],
                                grid_max_atoms=8,
                                known=pd.DataFrame({"formula": ["Li3PS4"], "target": [-6.0]}))
    row = frame.set_index("formula").loc["Li3PS4"]
    assert row["method"] == "grid" and row["known"] and row["known_value"] == -6.0


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


def test_settings_object_and_keyword_options_generate_the_same_table():
    from matgenome.generation import GenerationSettings

    settings = GenerationSettings(families=["garnet"], max_dopants=2, steps=3,
                                  max_candidates=40, seed=3)
    by_settings = generate_candidates(settings)
    pd.testing.assert_frame_equal(by_settings, generate_candidates(
        families=["garnet"], max_dopants=2, steps=3, max_candidates=40, seed=3))
    assert len(by_settings) == 40
    with pytest.raises(UsageError, match="not both"):
        generate_candidates(settings, seed=4)
    with pytest.warns(DeprecationWarning, match="positional families"):
        positional = generate_candidates(["garnet"], max_dopants=2, steps=3,
                                         max_candidates=40, seed=3)
    pd.testing.assert_frame_equal(positional, by_settings)


@pytest.mark.parametrize(("options", "parameter"), [
    ({"methods": ("mutation",)}, "methods"),
    ({"methods": ()}, "methods"),
    ({"methods": ("grid",)}, "grid_elements"),
    ({"substitution_sources": "books"}, "substitution_sources"),
])
def test_settings_are_checked_when_made_and_name_the_parameter(options, parameter):
    from matgenome.generation import GenerationSettings

    with pytest.raises(UsageError) as raised:
        GenerationSettings(**options)
    assert parameter in raised.value.parameters
