"""Supply risk (HHI) and raw-material cost from the data bundled with pymatgen and matminer."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pandas as pd
import pytest
from pymatgen.analysis.hhi import HHIModel
from pymatgen.core import Composition

from matgenome import supply

ELECTROLYTES = ["Li7La3Zr2O12", "Li3PS4", "Li6PS5Cl", "Li10GeP2S12", "LiTi2(PO4)3"]


@pytest.mark.parametrize("formula", ELECTROLYTES)
def test_hhi_matches_pymatgen_hhimodel(formula: str) -> None:
    production, reserve = HHIModel().get_hhi(Composition(formula))
    row = supply.supply_metrics([formula]).iloc[0]
    assert row["hhi_production"] == pytest.approx(production, rel=1e-12)
    assert row["hhi_reserve"] == pytest.approx(reserve, rel=1e-12)
    assert row["supply_risk"] == pytest.approx(max(production, reserve) / 10_000, rel=1e-12)
    assert row["supply_note"] == ""


def test_li2o_by_hand() -> None:
    # Mass fractions of Li2O with M(Li) = 6.941, M(O) = 15.9994 g/mol (pymatgen's values).
    m_li, m_o = 6.941, 15.9994
    w_li = 2 * m_li / (2 * m_li + m_o)
    w_o = 1 - w_li
    row = supply.supply_metrics(["Li2O"]).iloc[0]
    assert row["molar_mass"] == pytest.approx(2 * m_li + m_o, rel=1e-9)
    # HHI from pymatgen's table: Li (2900, 4200), O (500, 500).
    assert row["hhi_production"] == pytest.approx(w_li * 2900 + w_o * 500, rel=1e-9)
    assert row["hhi_reserve"] == pytest.approx(w_li * 4200 + w_o * 500, rel=1e-9)
    # Prices from pymatgen's cost database: Li 3.8691081, O 3 USD/kg.
    cost = w_li * 3.8691081 + w_o * 3.0
    assert row["cost_per_kg"] == pytest.approx(cost, rel=1e-9)
    assert row["cost_per_mol"] == pytest.approx(cost * (2 * m_li + m_o) / 1000, rel=1e-9)
    assert row["cost_per_mol_atoms"] == pytest.approx(cost * (2 * m_li + m_o) / 3000, rel=1e-9)


def test_cost_matches_pymatgen_cost_analyzer() -> None:
    from pymatgen.analysis.cost import CostAnalyzer, CostDBElements

    table = supply.supply_metrics(["Li3PS4", "Li7La3Zr2O12"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pymatgen warns about noble-gas electronegativities
        analyzer = CostAnalyzer(CostDBElements())
        for formula, row in zip(["Li3PS4", "Li7La3Zr2O12"], table.itertuples(), strict=True):
            assert row.cost_per_kg == pytest.approx(analyzer.get_cost_per_kg(formula), rel=1e-6)
            assert row.cost_per_mol == pytest.approx(analyzer.get_cost_per_mol(formula), rel=1e-6)


def test_missing_data_gives_nan_and_a_note_never_zero() -> None:
    table = supply.supply_metrics(["LiH", "Pm2O3", "Li2O", "not a formula"])
    lih, pm, li2o, bad = (table.iloc[i] for i in range(4))
    # pymatgen's HHI table has no hydrogen; the price of H is known.
    assert math.isnan(lih["hhi_production"]) and math.isnan(lih["supply_risk"])
    assert lih["cost_per_kg"] > 0
    assert lih["supply_note"] == "no HHI data for H"
    # Promethium has HHI data but no price.
    assert math.isnan(pm["cost_per_kg"]) and math.isnan(pm["cost_per_mol"])
    assert pm["hhi_production"] == pytest.approx(HHIModel().get_hhi("Pm2O3")[0])
    assert pm["supply_note"] == "no price data for Pm"
    assert li2o["supply_note"] == ""
    numeric = [c for c in supply.SUPPLY_COLUMNS if c != "supply_note"]
    assert bad[numeric].isna().all()
    assert bad["supply_note"].startswith("invalid formula 'not a formula'")


def test_both_notes_for_an_element_missing_everywhere() -> None:
    row = supply.supply_metrics(["LiPo"]).iloc[0]
    assert row["supply_note"] == "no HHI data for Po; no price data for Po"


def test_magpie_source_differs_only_where_the_tables_differ() -> None:
    pymatgen_table = supply.element_table("pymatgen")
    magpie_table = supply.element_table("magpie")
    both = np.isfinite(pymatgen_table.hhi_reserve) & np.isfinite(magpie_table.hhi_reserve)
    differ = both & (pymatgen_table.hhi_reserve != magpie_table.hhi_reserve)
    assert sorted(np.asarray(pymatgen_table.symbols)[differ]) == ["Cl", "Se"]
    np.testing.assert_array_equal(
        supply.supply_metrics(["Li3PS4"], hhi_source="magpie").to_numpy(),
        supply.supply_metrics(["Li3PS4"]).to_numpy(),
    )
    selenide = supply.supply_metrics(["Li2Se"], hhi_source="magpie").iloc[0]
    assert selenide["hhi_reserve"] > supply.supply_metrics(["Li2Se"]).iloc[0]["hhi_reserve"]
    with pytest.raises(ValueError, match="hhi_source"):
        supply.element_table("usgs")  # type: ignore[arg-type]


def test_vectorised_rows_equal_single_rows() -> None:
    formulas = ELECTROLYTES * 40 + ["0.75Li2S-0.25P2S5"]
    table = supply.supply_metrics(formulas)
    assert len(table) == len(formulas)
    for i in (0, 3, 101, len(formulas) - 1):
        single = supply.supply_metrics([formulas[i]])
        pd.testing.assert_frame_equal(
            table.iloc[[i]].reset_index(drop=True), single, check_exact=False, rtol=1e-12
        )
    # Glass notation is per the atoms written: 0.75 Li2S + 0.25 P2S5 = Li1.5 P0.5 S2.
    glass = table.iloc[-1]
    li3ps4 = table.iloc[1]
    assert glass["hhi_production"] == pytest.approx(li3ps4["hhi_production"])
    assert glass["cost_per_mol"] == pytest.approx(li3ps4["cost_per_mol"] / 2)
    assert glass["cost_per_mol_atoms"] == pytest.approx(li3ps4["cost_per_mol_atoms"])


def test_add_supply_columns_keeps_rows_and_order() -> None:
    df = pd.DataFrame({"formula": ["Li3PS4", "LiH", "Li2O"], "x": [3, 1, 2]}, index=[7, 5, 6])
    out = supply.add_supply_columns(df)
    assert list(out.index) == [7, 5, 6]
    assert list(out["x"]) == [3, 1, 2]
    assert set(supply.SUPPLY_COLUMNS) <= set(out.columns)
    assert "supply_risk" not in df.columns
    with pytest.raises(KeyError, match="composition"):
        supply.add_supply_columns(df, "composition")


def test_element_table_is_cached_and_read_only() -> None:
    table = supply.element_table()
    assert table is supply.element_table()
    with pytest.raises(ValueError):
        table.cost_per_kg[0] = 1.0
    assert table.symbols[table.index["Li"]] == "Li"
    assert "wolfram" in supply.cost_references()["Li"].lower()
