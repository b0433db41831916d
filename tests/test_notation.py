"""Features and predictions depend on the composition, not on how its formula is written.

Every notation of one composition (formula-unit scale, element order, glass notation,
hydrates, parentheses, decimal or integer amounts) must give bit-identical feature rows,
hence bit-identical tree predictions: trees compare float32 thresholds, so a last-bit
difference can change a prediction. ``matgenome.composition.canonical_amounts`` provides
the canonical form the feature blocks see.
"""

from __future__ import annotations

import functools
from decimal import Decimal, localcontext

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from matgenome.composition import CompositionKey
from matgenome.datasets import load
from matgenome.features import CompositionFeaturizer, compute_features, featurize
from matgenome.models.calibrated import CalibratedTreesRegressor
from matgenome.selection import CONDUCTIVITY, OBELIX_PRESET

# Elements of electrolytes and their dopants: every block gives finite values for them.
ELEMENTS = ("H", "Li", "B", "C", "N", "O", "F", "Na", "Mg", "Al", "Si", "P", "S", "Cl", "K",
            "Ca", "Ti", "Mn", "Fe", "Cu", "Zn", "Ga", "Ge", "Se", "Br", "Y", "Zr", "Nb", "In",
            "Sn", "Sb", "I", "La", "Ta", "W", "Bi")

EQUIVALENT_GROUPS = [
    ["Li3PS4", "Li6P2S8", "Li1.5P0.5S2", "75Li2S·25P2S5", "0.75Li2S-0.25P2S5", "Li3(PS4)",
     "S4PLi3", "Li3.0P1.0S4.00", "Li12P4S16", "Li0.375P0.125S0.5"],
    ["70Li2S·30P2S5", "0.7Li2S-0.3P2S5", "Li7P3S11", "Li14P6S22", "Li2.1P0.9S3.3"],
    ["CuSO4·5H2O", "CuSO9H10", "H10CuO9S", "CuSO4*5H2O", "Cu(SO4)(H2O)5"],
    ["Li6.4La3Zr1.4Ta0.6O12", "Li32La15Zr7Ta3O60", "Li0.64La0.3Zr0.14Ta0.06O1.2",
     "O12Ta0.6Zr1.4La3Li6.4"],
    ["Li0.33La0.557TiO3", "Li330La557Ti1000O3000", "Li0.66La1.114Ti2O6"],
    ["Li10GeP2S12", "Li5Ge0.5PS6", "Li10Ge(PS6)2", "Li20Ge2P4S24"],
]


@functools.cache
def small_model() -> CalibratedTreesRegressor:
    """20 trees on the measured OBELiX training rows: enough to resolve feature bits."""
    train = load("obelix", "train")
    train = train[train["censor"].eq("")]
    X = compute_features(train["formula"].tolist(), CONDUCTIVITY.features)[0]
    return CalibratedTreesRegressor(n_estimators=20, max_features=0.3, random_state=0,
                                    n_jobs=1).fit(X, train["target"].to_numpy(float))


def assert_one_composition(formulas: list[str]) -> None:
    """Bit-identical recipe rows, predictions and composition keys for ``formulas``."""
    X, errors = compute_features(formulas, OBELIX_PRESET)
    assert errors == [""] * len(formulas), errors
    for row, formula in zip(X[1:], formulas[1:], strict=True):
        np.testing.assert_array_equal(row, X[0], err_msg=f"{formula} vs {formulas[0]}")
    predictions = small_model().predict(X)
    assert (predictions == predictions[0]).all(), dict(zip(formulas, predictions, strict=True))
    assert len({CompositionKey.of(f) for f in formulas}) == 1


@pytest.mark.parametrize("formulas", EQUIVALENT_GROUPS, ids=lambda g: g[0])
def test_equivalent_notations_give_identical_rows(formulas: list[str]) -> None:
    assert_one_composition(formulas)


@pytest.mark.parametrize("formulas", EQUIVALENT_GROUPS[:3], ids=lambda g: g[0])
def test_transformer_featurize_and_recipe_agree_across_notations(formulas: list[str]) -> None:
    by_transformer = CompositionFeaturizer(OBELIX_PRESET).fit(formulas).transform(formulas)
    by_frame = featurize(formulas, OBELIX_PRESET).to_numpy()
    by_recipe = compute_features(formulas, CONDUCTIVITY.features)[0]
    for values in (by_transformer, by_frame, by_recipe):
        assert (values == values[0]).all()
    np.testing.assert_array_equal(by_transformer, by_recipe)
    np.testing.assert_array_equal(by_frame, by_recipe)


@pytest.mark.parametrize("preset", ["magpie", "stoichiometry", "valence_orbital",
                                    "ion_property", "element_fraction", "electrolyte",
                                    "conduction", "alloy", "default"])
def test_every_preset_is_notation_invariant(preset: str) -> None:
    formulas = [f for group in EQUIVALENT_GROUPS for f in group]
    X, _ = compute_features(formulas, preset)
    start = 0
    for group in EQUIVALENT_GROUPS:
        block = X[start : start + len(group)]
        np.testing.assert_array_equal(block, np.broadcast_to(block[0], block.shape))
        start += len(group)


def test_alloy_miedema_is_notation_invariant() -> None:
    formulas = ["Cu50Zr50", "CuZr", "Cu0.5Zr0.5", "Zr2Cu2", "0.5Cu-0.5Zr", "Cu46Zr46Al8",
                "Cu0.46Zr0.46Al0.08", "Al2Cu11.5Zr11.5"]
    X, _ = compute_features(formulas, "alloy")
    assert (X[:5] == X[0]).all() and (X[5:] == X[5]).all()


# --------------------------------------------------------------------------- generated


def _text(amount: Decimal) -> str:
    """A decimal amount as formula text: no exponent, no trailing zeros, '' for one."""
    text = format(amount.normalize(), "f")
    return "" if text == "1" else text


def _formula(parts: list[tuple[str, Decimal]]) -> str:
    return "".join(symbol + _text(amount) for symbol, amount in parts)


# Amounts of the form n / 10^d (as written in papers), scales and glass coefficients that
# keep them finite decimals.
AMOUNTS = st.builds(lambda n, d: Decimal(n) / Decimal(10) ** d,
                    st.integers(1, 999), st.integers(0, 3))
SCALES = st.sampled_from([Decimal(s) for s in ("2", "3", "0.5", "0.25", "1.5", "10", "0.2")])
COEFFICIENTS = st.sampled_from([Decimal(c) for c in ("0.5", "0.25", "0.75", "0.2", "0.8",
                                                     "25", "75", "50", "2", "4")])


@st.composite
def notations(draw: st.DrawFn) -> list[str]:
    """A random composition written in several equivalent ways."""
    symbols = draw(st.lists(st.sampled_from(ELEMENTS), min_size=1, max_size=6, unique=True))
    amounts = [draw(AMOUNTS) for _ in symbols]
    parts = list(zip(symbols, amounts, strict=True))
    written = [_formula(parts)]
    scale = draw(SCALES)
    written.append(_formula([(s, a * scale) for s, a in parts]))
    written.append(_formula(draw(st.permutations(parts))))
    if len(parts) >= 2:
        written.append(_glass(parts, draw(st.integers(1, len(parts) - 1)),
                              draw(COEFFICIENTS), draw(COEFFICIENTS)))
        written.append(_parenthesised(parts, draw(st.integers(1, len(parts) - 1)),
                                      draw(st.sampled_from([Decimal(2), Decimal(5)]))))
    return written


def _glass(parts: list[tuple[str, Decimal]], cut: int, first: Decimal, second: Decimal) -> str:
    """``first A - second B`` with A and B sharing the element at ``cut`` half and half.

    Component amounts are rounded to 16 digits (1/0.75 does not terminate), as a
    spreadsheet would write them: the composition then differs in the last float bits.
    """
    shared_symbol, shared = parts[cut]
    with localcontext() as context:
        context.prec = 16
        a = [(s, n / first) for s, n in parts[:cut]] + [(shared_symbol, shared / 2 / first)]
        b = [(shared_symbol, shared / 2 / second)]
        b += [(s, n / second) for s, n in parts[cut + 1:]]
    return f"{_text(first)}{_formula(a)}-{_text(second)}{_formula(b)}"


def _parenthesised(parts: list[tuple[str, Decimal]], cut: int, factor: Decimal) -> str:
    """The elements from ``cut`` on as a group ``( ... )factor``."""
    group = _formula([(s, n / factor) for s, n in parts[cut:]])
    return f"{_formula(parts[:cut])}({group}){factor}"


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(notations())
def test_generated_notations_give_identical_rows_and_predictions(formulas: list[str]) -> None:
    assert_one_composition(formulas)
