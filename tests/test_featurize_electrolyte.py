"""Electrolyte descriptors on hand-checked compositions."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from matgenome.composition_arrays import encode
from matgenome.features import compute_features, feature_labels, featurize
from matgenome.features._oxidation import assign_oxidation_states, state_tables

EXAMPLES = [
    "Li7La3Zr2O12",
    "Li6PS5Cl",
    "Li10GeP2S12",
    "Li3YCl6",
    "Li1.3Al0.3Ti1.7(PO4)3",
    "Li6.4La3Zr1.4Ta0.6O12",
    "Li8La3Zr2O12",
    "Li7La3Zr2O11",
    "Na3PS4",
    "Li2SO4",
    "Li3N",
    "LiBH4",
    "Fe3O4",
    "Cu46Zr54",
    "Li3OCl",
    "Li6PS5Cl0.5Br0.5",
]


@pytest.fixture(scope="module")
def frame() -> pd.DataFrame:
    return featurize(EXAMPLES, preset="electrolyte").set_axis(EXAMPLES)


def test_mobile_ion_content(frame: pd.DataFrame) -> None:
    expected_li = {
        "Li7La3Zr2O12": 7 / 24,
        "Li6PS5Cl": 6 / 13,
        "Li10GeP2S12": 10 / 25,
        "Li3YCl6": 3 / 10,
        "Li1.3Al0.3Ti1.7(PO4)3": 1.3 / 18.3,
        "Na3PS4": 0.0,
    }
    for formula, value in expected_li.items():
        assert frame.loc[formula, "Li fraction"] == pytest.approx(value, abs=1e-12)
    assert frame.loc["Na3PS4", "Na fraction"] == pytest.approx(3 / 8)
    assert frame.loc["Na3PS4", "Na per anion"] == pytest.approx(3 / 4)
    assert frame.loc["Li7La3Zr2O12", "Li per anion"] == pytest.approx(7 / 12)
    assert frame.loc["Li6PS5Cl", "Li per anion"] == pytest.approx(1.0)
    assert frame.loc["Li3YCl6", "Li per anion"] == pytest.approx(0.5)
    # S(VI) of the sulfate is not an anion: only the four O count.
    assert frame.loc["Li2SO4", "Li per anion"] == pytest.approx(0.5)


def test_anion_identity_and_fractions(frame: pd.DataFrame) -> None:
    row = frame.loc["Li6PS5Cl"]
    assert row["S fraction"] == pytest.approx(5 / 13)
    assert row["Cl fraction"] == pytest.approx(1 / 13)
    assert row["P fraction"] == pytest.approx(1 / 13)
    assert row["anion fraction"] == pytest.approx(6 / 13)
    assert row["n anion elements"] == 2
    assert row["mixed anion"] == 1
    assert row["chalcogen-halide"] == 1
    assert row["mixed halide"] == 0
    assert row["P-S polyanion"] == 1
    assert row["P-O polyanion"] == 0
    assert frame.loc["Li6PS5Cl0.5Br0.5", "mixed halide"] == 1
    assert frame.loc["Li6PS5Cl0.5Br0.5", "n anion elements"] == 3
    assert frame.loc["Li10GeP2S12", "P-S polyanion"] == 1
    assert frame.loc["Li10GeP2S12", "S fraction"] == pytest.approx(12 / 25)
    assert frame.loc["Li1.3Al0.3Ti1.7(PO4)3", "P-O polyanion"] == 1
    assert frame.loc["Li1.3Al0.3Ti1.7(PO4)3", "O fraction"] == pytest.approx(12 / 18.3)
    assert frame.loc["Li7La3Zr2O12", "O fraction"] == pytest.approx(0.5)
    assert frame.loc["Li7La3Zr2O12", "mixed anion"] == 0
    assert frame.loc["Li3YCl6", "Cl fraction"] == pytest.approx(0.6)
    assert frame.loc["Li3N", "N fraction"] == pytest.approx(0.25)
    assert frame.loc["LiBH4", "H fraction"] == pytest.approx(4 / 6)
    assert frame.loc["Li3OCl", "chalcogen-halide"] == 1
    assert frame.loc["Li2SO4", "S fraction"] == pytest.approx(1 / 7)
    assert frame.loc["Li2SO4", "n anion elements"] == 1


@pytest.mark.parametrize(
    "formula",
    [
        "Li7La3Zr2O12",
        "Li6PS5Cl",
        "Li10GeP2S12",
        "Li3YCl6",
        "Li1.3Al0.3Ti1.7(PO4)3",
        "Li6.4La3Zr1.4Ta0.6O12",
        "Na3PS4",
        "Li2SO4",
        "Li3N",
        "LiBH4",
        "Li3OCl",
        "Li6PS5Cl0.5Br0.5",
    ],
)
def test_charge_balanced_compositions_give_exactly_zero(frame: pd.DataFrame, formula: str) -> None:
    assert frame.loc[formula, "charge imbalance"] == 0.0
    assert frame.loc[formula, "charge balanced"] == 1.0


def test_unbalanced_compositions(frame: pd.DataFrame) -> None:
    # One extra Li+ per 25 atoms; one missing O2- leaves +2 per 23 atoms.
    assert frame.loc["Li8La3Zr2O12", "charge imbalance"] == pytest.approx(1 / 25)
    assert frame.loc["Li7La3Zr2O11", "charge imbalance"] == pytest.approx(2 / 23)
    # One state per element: mixed-valence Fe3O4 is off by one charge (Fe3+: 9 - 8).
    assert frame.loc["Fe3O4", "charge imbalance"] == pytest.approx(1 / 7)
    for formula in ("Li8La3Zr2O12", "Li7La3Zr2O11", "Fe3O4", "Cu46Zr54"):
        assert frame.loc[formula, "charge balanced"] == 0.0


def test_assigned_oxidation_states() -> None:
    encoded = encode(["Li10GeP2S12", "Li2SO4", "Li6PS5Cl", "LiBH4"])
    states = state_tables()[0]
    assigned = {}
    for block in encoded.blocks:
        slots, _ = assign_oxidation_states(block.z, block.amounts)
        for row, z_row, slot_row in zip(block.rows, block.z, slots, strict=True):
            assigned[int(row)] = dict(zip(z_row.tolist(), states[z_row, slot_row].tolist(),
                                          strict=True))
    assert assigned[0] == {3: 1, 32: 4, 15: 5, 16: -2}
    assert assigned[1] == {3: 1, 16: 6, 8: -2}
    assert assigned[2] == {3: 1, 15: 5, 16: -2, 17: -1}
    assert assigned[3] == {3: 1, 5: 3, 1: -1}


def test_radius_polarizability_electronegativity(frame: pd.DataFrame) -> None:
    garnet = frame.loc["Li7La3Zr2O12"]
    # Shannon crystal radii, six-fold: O2- 1.26, La3+ 1.172, Zr4+ 0.86 angstrom.
    assert garnet["anion radius mean"] == pytest.approx(1.26)
    assert garnet["framework cation radius mean"] == pytest.approx((3 * 1.172 + 2 * 0.86) / 5)
    assert garnet["framework cation radius min"] == pytest.approx(0.86)
    assert garnet["framework cation radius max"] == pytest.approx(1.172)
    argyrodite = frame.loc["Li6PS5Cl"]
    # S2- 1.70 and Cl- 1.67 angstrom, weighted 5:1.
    assert argyrodite["anion radius mean"] == pytest.approx((5 * 1.70 + 1.67) / 6)
    assert argyrodite["anion radius min"] == pytest.approx(1.67)
    assert argyrodite["anion radius max"] == pytest.approx(1.70)
    # Sulfides are more polarizable and less electronegative than oxides.
    assert argyrodite["anion polarizability mean"] > 2 * garnet["anion polarizability mean"]
    assert garnet["anion electronegativity mean"] == pytest.approx(3.44)
    assert garnet["anion-framework electronegativity difference"] == pytest.approx(
        3.44 - (3 * 1.10 + 2 * 1.33) / 5
    )


def test_empty_roles_are_nan(frame: pd.DataFrame) -> None:
    alloy = frame.loc["Cu46Zr54"]
    for label in ("Li per anion", "anion radius mean", "anion polarizability max",
                  "anion-framework electronegativity difference"):
        assert np.isnan(alloy[label])
    assert alloy["anion fraction"] == 0
    # Li3OCl has no framework cation besides the mobile Li.
    assert np.isnan(frame.loc["Li3OCl", "framework cation radius mean"])


def test_electrolyte_magpie_block_equals_magpie_preset() -> None:
    values, _ = compute_features(EXAMPLES, preset="electrolyte")
    magpie, _ = compute_features(EXAMPLES, preset="magpie")
    np.testing.assert_array_equal(values[:, -132:], magpie)
    assert feature_labels("electrolyte")[-132:] == feature_labels("magpie")


def test_electrolyte_values_are_finite_where_defined() -> None:
    values, errors = compute_features(
        ["Li7La3Zr2O12", "Li6PS5Cl", "Li3YCl6", "LiFePO4", "Na3Zr2Si2PO12"], "electrolyte"
    )
    assert errors == [""] * 5
    assert np.isfinite(values).all()


def test_icsd_state_frequency_matches_pymatgens_own_reader() -> None:
    """The fast libyaml reader gives the table monty's loadfn gives."""
    from pathlib import Path

    import pymatgen.core as pmg_core
    from monty.serialization import loadfn
    from pymatgen.core import Species

    from matgenome.features._elements import icsd_state_frequency

    data = loadfn(str(Path(pmg_core.__file__).parent / "icsd_bv.yaml"))["occurrence"]
    totals: dict[int, float] = {}
    for name, count in data.items():
        z = Species.from_str(name).element.Z
        totals[z] = totals.get(z, 0.0) + float(count)
    table = icsd_state_frequency()
    li = Species.from_str("Li+")
    assert table[(3, 1)] == pytest.approx(float(data["Li+"]) / totals[li.element.Z])
    assert sum(v for (z, _), v in table.items() if z == 8) == pytest.approx(1.0)
    assert len(table) == len({(Species.from_str(n).element.Z, int(Species.from_str(n).oxi_state))
                              for n in data if totals[Species.from_str(n).element.Z] > 0})
