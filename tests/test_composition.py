"""Formula parsing: accepted notations map to the right atoms; bad input is rejected."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pymatgen.core import Composition, Element

from matgenome.composition import (
    MAX_FORMULA_LENGTH,
    CompositionError,
    parse_composition,
    parse_many,
)
from matgenome.composition_keys import key_of
from matgenome.datasets import dataset_path


def amounts(comp: Composition) -> dict[str, float]:
    return {str(el): amt for el, amt in comp.items()}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Li7La3Zr2O12", {"Li": 7, "La": 3, "Zr": 2, "O": 12}),
        ("Li6.4La3Zr1.4Ta0.6O12", {"Li": 6.4, "La": 3, "Zr": 1.4, "Ta": 0.6, "O": 12}),
        ("Li1.3Al0.3Ti1.7(PO4)3", {"Li": 1.3, "Al": 0.3, "Ti": 1.7, "P": 3, "O": 12}),
        (" Li 3 P S 4 ", {"Li": 3, "P": 1, "S": 4}),
        ("Fe0.62C9.53e-4", {"Fe": 0.62, "C": 9.53e-4}),
        ("Li1E-2O", {"Li": 0.01, "O": 1}),
        ("Li[PO4]", {"Li": 1, "P": 1, "O": 4}),
        ("Li₂S", {"Li": 2, "S": 1}),
        ("CuSO4·5H2O", {"Cu": 1, "S": 1, "O": 9, "H": 10}),
        ("CuSO4*5H2O", {"Cu": 1, "S": 1, "O": 9, "H": 10}),
        ("0.75Li2S-0.25P2S5", {"Li": 1.5, "P": 0.5, "S": 2.0}),
        ("70Li2S·30P2S5", {"Li": 140, "P": 60, "S": 220}),
        ("70Li2S-30P2S5", {"Li": 140, "P": 60, "S": 220}),
        ("0.5Li3PS4-0.5LiI", {"Li": 2, "P": 0.5, "S": 2, "I": 0.5}),
        ("Y3N@C80", {"Y": 3, "N": 1, "C": 80}),
    ],
)
def test_accepted_notations(text: str, expected: dict[str, float]) -> None:
    got = amounts(parse_composition(text))
    assert got.keys() == expected.keys()
    for element, amount in expected.items():
        assert math.isclose(got[element], amount, rel_tol=1e-12)


# Isotopes and pymatgen's '@' notation: pymatgen's element amounts are the reference
# (D and T count as H; Y3N@C80 is Y3 N C80, tests/core/test_composition.py in pymatgen).
PYMATGEN_SPECIAL = ["HDO", "DTO", "CD3H", "(HD)2O", "D2O", "T2O", "LiD", "Y3N@C80",
                    "Li3N@C60", "(LiD)2(HD)3O"]


@pytest.mark.parametrize("text", PYMATGEN_SPECIAL)
def test_isotopes_and_at_sign_match_pymatgen_element_amounts(text: str) -> None:
    from matgenome.composition_arrays import parse_one

    expected = Composition(text).get_el_amt_dict()
    assert parse_composition(text).get_el_amt_dict() == pytest.approx(expected, rel=1e-12)
    # The featurizer's parser agrees: no atom is lost when H and D are both written.
    zs, values = parse_one(text)
    got = {Element.from_Z(z).symbol: v for z, v in zip(zs, values, strict=True)}
    assert got == pytest.approx(expected, rel=1e-12)


_ISOTOPE_TOKENS = st.sampled_from(["H", "D", "T", "O", "Li", "C", "N", "S"])


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(_ISOTOPE_TOKENS, st.integers(1, 9)), min_size=1, max_size=6),
       st.integers(1, 4), st.booleans())
def test_random_isotope_formulas_match_pymatgen(tokens, factor, grouped) -> None:
    body = "".join(f"{symbol}{n}" for symbol, n in tokens)
    text = f"({body}){factor}O" if grouped else body
    expected = Composition(text).get_el_amt_dict()
    assert parse_composition(text).get_el_amt_dict() == pytest.approx(expected, rel=1e-12)


def test_obelix_hydrate_that_pymatgen_rejects() -> None:
    text = "Li3(Mo8S8O8(OH)8(HWO5(H2O)))*(H2O)18"
    with pytest.raises(ValueError):
        Composition(text)
    got = amounts(parse_composition(text))
    # Li3 Mo8 S8 O(8+8+5+1=22) H(8+1+2=11) W1, plus 18 H2O.
    assert got == {"Li": 3, "Mo": 8, "S": 8, "O": 40, "H": 47, "W": 1}


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("", "empty"),
        ("   ", "empty"),
        (None, "empty"),
        (float("nan"), "empty"),
        ("Xx2O", "unknown element 'Xx'"),
        ("LiX", "unknown element 'X'"),
        ("LiE2", "unknown element 'E'"),
        ("Li7-xLa3Zr2O12", "unknown element 'x'"),
        ("Li-2O", "negative"),
        ("Li0O", "zero"),
        ("Li1e999O", "not finite"),
        ("Li2O)", "unbalanced"),
        ("Li((PO4)", "unbalanced"),
        ("Li2O-", "empty component"),
        ("Li2S-P2S5", "name a system, not a composition"),
        ("Li3PS4-LiI", "e.g. 0.75Li2S-0.25P2S5"),
        ("Li2S+P2S5", "name a system"),
        ("Fe3+", "charges and oxidation states"),
        ("O2-", "charges and oxidation states"),
        ("SO4^2-", "charges and oxidation states"),
        ("O0.2Fe0.8Na9.9e-09", "amount of Na (9.9e-09) is below 1e-08"),
        ("Li" * 200, "limit"),
        ("Li2O;", "unexpected character"),
        ("42", "leading number"),
        (12, "expected a formula string"),
    ],
)
def test_rejections_name_input_and_reason(text: object, reason: str) -> None:
    with pytest.raises(CompositionError) as info:
        parse_composition(text)
    assert reason in str(info.value)
    assert info.value.text is text or info.value.text == text
    if isinstance(text, str) and 0 < len(text) <= 80:
        assert repr(text) in str(info.value)


def test_length_limit_is_inclusive() -> None:
    text = "Li" + "O" * (MAX_FORMULA_LENGTH - 2)
    assert len(text) == MAX_FORMULA_LENGTH
    assert parse_composition(text)["O"] == MAX_FORMULA_LENGTH - 2


def test_parse_many_keeps_order_and_reasons() -> None:
    comps, errors = parse_many(["Li2O", "bad!", "Li2O", None])
    assert [c is None for c in comps] == [False, True, False, True]
    assert errors[0] == errors[2] == ""
    assert "bad!" in errors[1] and "empty" in errors[3]


@pytest.mark.parametrize(
    ("path", "column"),
    [("obelix/all.csv", "Reduced Composition"), ("obelix/all.csv", "True Composition")]
    + [(f"matbench/matbench_{t}.csv", "composition")
       for t in ("expt_gap", "steels", "glass", "expt_is_metal")],
)
def test_every_shipped_formula_parses(path: str, column: str) -> None:
    from matgenome.resources import shipped_path

    formulas = pd.read_csv(shipped_path("datasets") / path)[column]
    _, errors = parse_many(formulas)
    assert [e for e in errors if e] == []


def test_plain_formulas_match_pymatgen() -> None:
    formulas = pd.read_csv(dataset_path("matbench_expt_gap"))["composition"].head(500)
    for text in formulas:
        assert parse_composition(text).almost_equals(Composition(text), rtol=0, atol=1e-12)


@settings(max_examples=400, deadline=None)
@given(st.text(max_size=60))
def test_arbitrary_strings_parse_or_raise_composition_error(text: str) -> None:
    try:
        comp = parse_composition(text)
    except CompositionError as exc:
        assert exc.reason
        return
    assert len(comp) > 0
    assert all(math.isfinite(a) and a > 0 for a in comp.values())


formula_like = st.text(alphabet="LiOPSClaZr0123456789.()-·* eE", max_size=40)


@settings(max_examples=400, deadline=None)
@given(formula_like)
def test_formula_like_strings_parse_or_raise_composition_error(text: str) -> None:
    test_arbitrary_strings_parse_or_raise_composition_error.hypothesis.inner_test(text)


def test_composition_key_is_shared_by_equivalent_spellings() -> None:
    from pymatgen.core import Composition

    from matgenome.composition import CompositionKey

    composition_key = CompositionKey.of
    key = composition_key("Li3PS4")
    assert key == composition_key("Li6P2S8") == composition_key("0.75Li2S-0.25P2S5")
    assert key == composition_key(Composition("Li3PS4")) == composition_key(
        {"Li": 3, "P": 1, "S": 4})
    assert key.parts == (("Li", 0.375), ("P", 0.125), ("S", 0.5))
    assert composition_key("Li1.00001O", decimals=4) == composition_key("LiO", decimals=4)
    assert composition_key("Li1.00001O") != composition_key("LiO")


def test_features_of_isotope_and_at_sign_formulas_match_their_plain_form() -> None:
    from matgenome.features import compute_features

    X, errors = compute_features(["HDO", "H2O", "CD3H", "CH4", "Y3N@C80", "Y3NC80"],
                                 "magpie")
    X = np.asarray(X, dtype=float)
    assert not any(errors)
    for i in (0, 2, 4):
        np.testing.assert_array_equal(X[i], X[i + 1])


def test_composition_key_is_an_immutable_value_with_its_tolerance() -> None:
    import dataclasses

    from matgenome.composition import CompositionKey

    key = CompositionKey.of("Li7La3Zr2O12")
    # The fast parser of batch scoring and pymatgen's parser give one key.
    assert key_of("Li14La6Zr4O24") == key
    assert key_of("Li6PS5Cl)") is None
    assert str(key) == "La0.125 Li0.291667 O0.5 Zr0.083333"
    assert len({key, CompositionKey.of("Li7La3Zr2O12")}) == 1
    # A key carries its tolerance: the same composition at 1e-4 is a different key.
    assert CompositionKey.of("Li7La3Zr2O12", decimals=4) != key
    with pytest.raises(dataclasses.FrozenInstanceError):
        key.decimals = 4  # type: ignore[misc]
    assert sorted([CompositionKey.of("LiO"), CompositionKey.of("Li2O")])[0].parts[0][0] == "Li"
