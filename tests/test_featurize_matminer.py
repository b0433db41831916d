"""matgenome's matminer-equivalent presets against matminer itself.

matminer is slow (about 600 compositions/s for Magpie, and pymatgen's oxidation-state
guesser behind IonProperty can take seconds on one composition), so its results are
computed once per session and stored in pytest's cache directory, keyed by the matminer,
pymatgen and numpy versions and the exact formula list. The default run compares a few
hundred rows per preset (all OBELiX compositions, a stride through Matbench, random
formulas); ``-m slow`` compares every OBELiX and Matbench composition and 3,000 random
formulas.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import warnings
from collections.abc import Callable
from pathlib import Path

import matminer
import numpy as np
import pandas as pd
import pymatgen.core
import pytest
from formula_samples import random_formulas, shipped_formulas
from matminer.featurizers.composition import (
    ElementFraction,
    ElementProperty,
    IonProperty,
    Stoichiometry,
    ValenceOrbital,
)

from matgenome.composition import parse_composition
from matgenome.features import compute_features, feature_labels
from matgenome.features._elements import Z_OF, guesser_oxidation_states
from matgenome.features.ion import MAX_EXACT_ATOMS

ROOT = Path(__file__).resolve().parents[1]
TOLERANCE = 1e-9

FACTORIES: dict[str, Callable[[], object]] = {
    "magpie": lambda: ElementProperty.from_preset("magpie"),
    "stoichiometry": Stoichiometry,
    "valence_orbital": ValenceOrbital,
    "ion_property": IonProperty,
    "element_fraction": ElementFraction,
}
# pymatgen enumerates every multiset of oxidation states; rows above this many steps are
# left to the slow run so the default run stays fast.
DEFAULT_GUESSER_WORK = 2_000
SLOW_GUESSER_WORK = 5_000_000


def guesser_work(formula: str) -> float:
    """Rough number of steps pymatgen's ``oxi_state_guesses`` takes on a composition."""
    amounts = parse_composition(formula).get_el_amt_dict()
    if len(amounts) < 2 or any(a != int(a) for a in amounts.values()):
        return 0.0  # single element, or refused at once
    states = guesser_oxidation_states()
    combos, product = 0.0, 1.0
    for symbol, amount in amounts.items():
        own = states[Z_OF[symbol]]
        n, s = int(amount), max(len(own), 1)
        # Each multiset of n states is scored species by species.
        combos += math.comb(n + s - 1, s - 1) * n
        product *= n * (max(own, default=0) - min(own, default=0)) + 1
    return combos + product


def default_sample() -> list[str]:
    obelix = list(pd.read_csv(ROOT / "datasets/obelix/all.csv")["Reduced Composition"])
    rest = [f for f in shipped_formulas() if f not in set(obelix)]
    return list(dict.fromkeys(obelix + rest[::25] + random_formulas(300, seed=2)))


def full_sample() -> list[str]:
    return list(dict.fromkeys(shipped_formulas() + random_formulas(3000, seed=3)))


def _matminer_values(preset: str, formulas: list[str]) -> np.ndarray:
    featurizer = FACTORIES[preset]()
    featurizer.set_n_jobs(1)
    compositions = [parse_composition(f) for f in formulas]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        rows = featurizer.featurize_many(compositions, ignore_errors=True, pbar=False)
    return np.array(rows, dtype=float).reshape(len(formulas), -1)


@pytest.fixture(scope="session")
def matminer_reference(request: pytest.FixtureRequest) -> Callable[[str, list[str]], np.ndarray]:
    """matminer's values for (preset, formulas), memoised in memory and on disk."""
    cache = getattr(request.config, "cache", None)
    directory = Path(cache.mkdir("matgenome-matminer-reference")) if cache else None
    memo: dict[str, np.ndarray] = {}

    def get(preset: str, formulas: list[str]) -> np.ndarray:
        key = hashlib.sha256(
            json.dumps(
                [matminer.__version__, pymatgen.core.__version__, np.__version__, preset,
                 formulas]
            ).encode()
        ).hexdigest()[:24]
        if key in memo:
            return memo[key]
        path = directory / f"{preset}-{key}.npy" if directory else None
        if path is not None and path.exists():
            values = np.load(path)
        else:
            values = _matminer_values(preset, formulas)
            if path is not None:
                temporary = path.with_suffix(".tmp.npy")
                np.save(temporary, values)
                os.replace(temporary, path)
        memo[key] = values
        return values

    return get


def assert_matches_matminer(preset: str, formulas: list[str], reference: np.ndarray) -> None:
    ours, errors = compute_features(formulas, preset=preset)
    assert errors == [""] * len(formulas)
    assert ours.shape == reference.shape
    if preset == "ion_property":
        # matminer gives NaN rows exactly where pymatgen's guesser refuses non-integer
        # amounts; matgenome still gives the ionic character there (see ion.py).
        refused = np.isnan(reference).all(axis=1)
        assert not np.isnan(reference[~refused]).any()
        for formula in np.asarray(formulas)[refused]:
            amounts = parse_composition(formula).get_el_amt_dict().values()
            assert any(a != int(a) for a in amounts), formula
        assert np.isfinite(ours[:, 1:]).all()
        # 'compound possible' is judged on the smallest integer formula, so that every
        # notation of a composition gets one answer (see ion.py); pymatgen judges the
        # formula as written, and a multiple can balance where the reduced formula cannot
        # (Li4P2S6 with P3+ and P5+, Li2PS3 not). Integer formulas of more than
        # MAX_EXACT_ATOMS atoms take the supercell criterion by design (Zr15Si302: some
        # multiple balances with mixed Si states; pymatgen's enumeration says no). Compare
        # that column on the other rows only; the ionic-character columns on all rows.
        multiple = np.array([_is_integer_multiple(f) or _atoms(f) > MAX_EXACT_ATOMS
                             for f in formulas])
        assert multiple.sum() < 0.05 * len(formulas)
        reference = reference.copy()
        reference[multiple & ~refused, 0] = ours[multiple & ~refused, 0]
        ours, reference = ours[~refused], reference[~refused]
    np.testing.assert_array_equal(np.isnan(ours), np.isnan(reference))
    difference = np.abs(ours - reference)[~np.isnan(reference)]
    assert difference.max(initial=0.0) <= TOLERANCE


def _atoms(formula: str) -> float:
    return sum(parse_composition(formula).get_el_amt_dict().values())


def _is_integer_multiple(formula: str) -> bool:
    """Integer amounts with a common factor: a multiple of the smallest integer formula."""
    amounts = list(parse_composition(formula).get_el_amt_dict().values())
    return all(a == int(a) for a in amounts) and math.gcd(*map(int, amounts)) > 1


@pytest.mark.parametrize("preset", list(FACTORIES))
def test_labels_match_matminer(preset: str) -> None:
    assert feature_labels(preset) == list(FACTORIES[preset]().feature_labels())


@pytest.mark.parametrize("preset", list(FACTORIES))
def test_values_match_matminer(preset: str, matminer_reference) -> None:
    formulas = default_sample()
    if preset == "ion_property":
        formulas = [f for f in formulas if guesser_work(f) <= DEFAULT_GUESSER_WORK]
    assert len(formulas) > 900
    assert_matches_matminer(preset, formulas, matminer_reference(preset, formulas))


@pytest.mark.slow
@pytest.mark.parametrize("preset", list(FACTORIES))
def test_values_match_matminer_on_all_rows(preset: str, matminer_reference) -> None:
    # Minutes of matminer time on a cold cache: deselected unless slow tests are asked for.
    formulas = full_sample()
    if preset == "ion_property":
        formulas = [f for f in formulas if guesser_work(f) <= SLOW_GUESSER_WORK]
    assert_matches_matminer(preset, formulas, matminer_reference(preset, formulas))


def test_ion_property_judges_the_smallest_integer_formula() -> None:
    values, _ = compute_features(
        ["Li6.4La3Zr1.4Ta0.6O12", "Li0.5S0.5", "LiS", "Li4S4", "Fe0.620C0.000953Mn0.000521",
         "Li3.5O", "Li1.1Cu0.9Ge3.14159265"],
        "ion_property",
    )
    possible = values[:, 0].tolist()
    # Li32La15Zr7Ta3O60 balances. Li0.5S0.5, LiS and Li4S4 are all judged as LiS
    # (1 + q_S != 0), although pymatgen would balance Li4S4 as written (S: -2, -2, -2, +2).
    # Fe620000C953Mn521 is beyond MAX_CHARGE_SPAN and the last row has no small integer
    # formula: both take the supercell criterion (C, Ge can be negative enough; Fe, Mn not).
    assert possible == [1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 1.0]
    assert np.isfinite(values).all()


def test_compound_possible_matches_pymatgen_guesser_on_small_integer_formulas() -> None:
    from pymatgen.core import Composition, Element

    from matgenome.features.ion import charge_neutral_possible

    rng = np.random.default_rng(8)
    checked = 0
    while checked < 300:
        zs = tuple(int(z) for z in rng.choice(np.arange(1, 95), int(rng.integers(2, 5)),
                                              replace=False))
        counts = tuple(int(c) for c in rng.integers(1, 7, len(zs)))
        composition = Composition({Element.from_Z(z): c for z, c in zip(zs, counts,
                                                                         strict=True)})
        with warnings.catch_warnings():
            # pymatgen warns about elements without a Pauling electronegativity.
            warnings.simplefilter("ignore")
            if guesser_work(composition.formula.replace(" ", "")) > 20_000:
                continue
            override = {el.symbol: el.common_oxidation_states for el in composition.elements}
            expected = len(composition.oxi_state_guesses(oxi_states_override=override)) > 0
        assert charge_neutral_possible(zs, counts) == float(expected), composition
        checked += 1


def test_compound_possible_on_large_counts() -> None:
    from matgenome.features.ion import charge_neutral_possible

    fe, s, o, li = 26, 16, 8, 3
    # Fe(2,3) x1000 spans 2000..3000; S(-2,2,4,6) x1250 reaches -2500: Fe500(2+)Fe500(3+).
    assert charge_neutral_possible((fe, s), (1000, 1250)) == 1.0
    # S steps are all even, so the odd excess 2999 is out of reach.
    assert charge_neutral_possible((li, s, o), (1, 1000, 500)) == 0.0
    assert charge_neutral_possible((li, s, o), (2, 1000, 500)) == 1.0
