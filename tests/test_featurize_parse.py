"""The featurizer's fast formula path must agree exactly with ``parse_composition``."""

from __future__ import annotations

import numpy as np
import pytest
from formula_samples import random_formulas, shipped_formulas
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from matgenome.composition import CompositionError, canonical_amounts, parse_composition
from matgenome.composition_arrays import encode, fast_parse, parse_one
from matgenome.features._elements import SYMBOLS, Z_OF


def reference(text: object) -> tuple[tuple[int, ...], tuple[float, ...]] | str:
    """Atomic numbers and amounts from parse_composition, or its error message."""
    try:
        amounts = parse_composition(text).get_el_amt_dict()
    except CompositionError as exc:
        return str(exc)
    for symbol in amounts:
        if symbol not in Z_OF:
            # parse_composition lets pymatgen's dummy species through (e.g. 'E');
            # the featurizer rejects them.
            return str(CompositionError(text, f"unsupported element {symbol!r}"))
    return tuple(Z_OF[s] for s in amounts), tuple(float(a) for a in amounts.values())


def outcome(text: object) -> tuple[tuple[int, ...], tuple[float, ...]] | str:
    result = parse_one(text)
    return str(result) if isinstance(result, CompositionError) else result


def assert_agrees(text: str) -> None:
    """The fast path either defers or gives the reference amounts, bit for bit."""
    fast = fast_parse(text)
    expected = reference(text)
    if fast is not None:
        assert fast == expected, text
    assert outcome(text) == expected, text


@pytest.fixture(scope="module")
def shipped() -> list[str]:
    return shipped_formulas()


def test_fast_path_matches_reference_on_shipped_datasets(shipped: list[str]) -> None:
    fast = 0
    for text in shipped:
        assert_agrees(text)
        fast += fast_parse(text) is not None
    # The speed claim rests on the fast path covering real data.
    assert len(shipped) > 11_000
    assert fast / len(shipped) > 0.99


def test_fast_path_matches_reference_on_random_formulas() -> None:
    formulas = random_formulas(3000, seed=1)
    for text in formulas:
        assert_agrees(text)
    assert all(fast_parse(text) is not None for text in formulas)


@pytest.mark.parametrize(
    "text",
    [
        "LiFePO4",
        "Li7La3Zr2O12",
        "Li1.3Al0.3Ti1.7(PO4)3",
        "Li3(Mo8S8O8(OH)8(HWO5(H2O)))*(H2O)18",
        "((Li)2O)3",
        "Li2(SO4)(SO4)",
        "LiOLi",
        "OHO",
        "Fe0.620C0.000953Mn0.000521Si0.00102",
        "Li1e-5O",
        "Li1e+2O",
        "Li2.e-1O",
        "Li.5O",
        "Li2.O",
        "(PO4)1e5",
        "(PO4)1e-5",
        "(PO4).5",
        "Li1e15(O)",
        "(Li1e15)20",
        "Li0O",
        "Li00O",
        "Li1e-9O",
        "Li1e999",
        "LiO()",
        "Li(O",
        "Li)O",
        "()",
        "D2O",
        "HDO",
        "Li2O·H2O",
        "0.75Li2S-0.25P2S5",
        "70Li2S·30P2S5",
        "Li 2O",
        "Li₂O",
        "[Li2O]",
        "Xx2O",
        "LiX",
        "li2o",
        "Lie2",
        "Li2O-",
        "Li-2O",
        "2Li2O",
        "",
        " ",
        "LiLiLiLi",
        "Li" * 130,
        "".join(SYMBOLS[1:22]),
        "".join(SYMBOLS[1:21]),
    ],
)
def test_fast_path_agrees_on_edge_cases(text: str) -> None:
    assert_agrees(text)


_element = st.sampled_from((*SYMBOLS[1:], "Xx", "D", "T", "E", "Q"))
_amount = st.one_of(
    st.just(""),
    st.integers(0, 200).map(str),
    st.decimals(min_value=0, max_value=100, places=4, allow_nan=False).map(str),
    st.builds(
        lambda m, e, sign: f"{m}e{sign}{e}",
        st.integers(1, 99),
        st.integers(0, 20),
        st.sampled_from(["", "-", "+"]),
    ),
    st.from_regex(r"\.\d{1,3}|\d{1,3}\.", fullmatch=True),
)


@st.composite
def plain_formulas(draw: st.DrawFn, depth: int = 0) -> str:
    """Formulas in the fast path's grammar, with occasional nested groups."""
    parts = []
    for _ in range(draw(st.integers(1, 5))):
        if depth < 3 and draw(st.integers(0, 5)) == 0:
            inner = draw(plain_formulas(depth=depth + 1))
            factor = draw(st.one_of(st.just(""), st.integers(0, 30).map(str), _amount))
            parts.append(f"({inner}){factor}")
        else:
            parts.append(draw(_element) + draw(_amount))
    return "".join(parts)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(plain_formulas())
def test_fast_path_matches_reference_on_generated_formulas(text: str) -> None:
    assert_agrees(text)


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet="LiOFeSPCla()[]0123456789.eE-+ ·*", max_size=24))
def test_any_text_gives_reference_result(text: str) -> None:
    assert_agrees(text)


def test_encode_parses_each_distinct_string_once() -> None:
    formulas = ["Li2O", "Na2O", "Li2O", "bad!", "Li2O", "bad!"]
    encoded = encode(formulas)
    assert encoded.n_distinct == 3
    assert encoded.codes.tolist() == [0, 1, 0, 2, 0, 2]
    assert sorted(encoded.failures) == [3, 5]
    assert "bad!" in str(encoded.failures[3])
    assert sorted(row for block in encoded.blocks for row in block.rows) == [0, 1]


def test_encode_groups_by_number_of_elements() -> None:
    formulas = ["Li2O", "LiFePO4", "Fe", "Li3PO4", "NaCl"]
    encoded = encode(formulas, canonical=False)
    sizes = {block.z.shape[1]: block.rows.tolist() for block in encoded.blocks}
    assert sizes == {1: [2], 2: [0, 4], 3: [3], 4: [1]}
    block = next(b for b in encoded.blocks if b.z.shape[1] == 4)
    assert block.z.tolist() == [[3, 26, 15, 8]]
    assert block.amounts.tolist() == [[1.0, 1.0, 1.0, 4.0]]
    # Canonical blocks (what features see): sorted by Z, smallest integer formula.
    canonical = next(b for b in encode(formulas).blocks if b.z.shape[1] == 4)
    assert canonical.z.tolist() == [[3, 8, 15, 26]]
    assert canonical.amounts.tolist() == [[1.0, 4.0, 1.0, 1.0]]


def test_canonical_blocks_are_the_canonical_form_of_the_parse() -> None:
    formulas = ["Li6P2S8", "Li1.5P0.5S2", "S4PLi3", "Li0.33La0.557TiO3", "Fe0.62C3.14159265"]
    raw, canonical = _encoded_rows(formulas), _encoded_rows(formulas, canonical=True)
    for code, (z, amounts) in raw.items():
        order = np.argsort(z, kind="stable")
        expected, _ = canonical_amounts(np.array([amounts])[:, order])
        assert canonical[code] == (tuple(np.array(z)[order].tolist()),
                                   tuple(expected[0].tolist()))
    assert canonical[0] == canonical[1] == canonical[2] == ((3, 15, 16), (3.0, 1.0, 4.0))
    assert canonical[3][1] == (330.0, 3000.0, 1000.0, 557.0)  # Li O Ti La


def _encoded_rows(
    formulas: list[object], canonical: bool = False
) -> dict[int, tuple[tuple[int, ...], tuple[float, ...]]]:
    """{distinct code: (atomic numbers, amounts)} as encode() grouped them."""
    result = {}
    for block in encode(formulas, canonical=canonical).blocks:
        for row, z_row, amount_row in zip(block.rows, block.z, block.amounts, strict=True):
            result[int(row)] = (tuple(z_row.tolist()), tuple(amount_row.tolist()))
    return result


def test_batch_encoding_matches_one_by_one_parsing(shipped: list[str]) -> None:
    formulas = shipped + random_formulas(2000, seed=4) + ["Li2O\nNaCl", "", "LiLi", "Xx"]
    encoded = encode(formulas, canonical=False)
    rows = _encoded_rows(formulas)
    assert encoded.codes.tolist() == list(range(len(formulas)))
    for code, text in enumerate(formulas):
        expected = outcome(text)
        if isinstance(expected, str):
            assert code not in rows and str(encoded.failures[code]) == expected, text
        else:
            assert rows[code] == expected, text


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.one_of(plain_formulas(), st.text(alphabet="LiOFe()2.5e-\n ", max_size=8)),
                max_size=12))
def test_batch_encoding_matches_one_by_one_on_generated_batches(formulas: list[str]) -> None:
    encoded = encode(formulas, canonical=False)
    rows = _encoded_rows(formulas)
    for row_number, text in enumerate(formulas):
        code = int(encoded.codes[row_number])
        expected = outcome(text)
        if isinstance(expected, str):
            assert str(encoded.failures[row_number]) == expected
        else:
            assert rows[code] == expected


def test_compositions_encode_like_their_formulas(shipped: list[str]) -> None:
    from pymatgen.core import Composition

    formulas = shipped[::3] + random_formulas(500, seed=5)
    compositions = [parse_composition(f) for f in formulas]
    by_string = _encoded_rows(formulas)
    by_composition = _encoded_rows(compositions)
    assert by_composition == by_string
    decorated = Composition({"Fe2+": 1, "Fe3+": 2, "O2-": 4})
    assert outcome(decorated) == ((26, 8), (3.0, 4.0))
    assert outcome(Composition({"Li": 2, "O": 0.5})) == ((3, 8), (2.0, 0.5))
    assert "must be positive" in str(outcome(Composition({"Li": 2, "O": -1}, allow_negative=True)))
    assert "no elements" in str(outcome(Composition()))
