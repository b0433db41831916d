"""Pareto ranks and tables, and the Pareto plot."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import matgenome.ranking as rank
from matgenome.plots import plot_pareto


def test_pareto_ranks_on_a_hand_made_example() -> None:
    # Columns: score (max), supply risk (min).
    points = np.array(
        [
            [3.0, 0.5],  # A: front 1 (best score)
            [2.0, 0.2],  # B: front 1
            [1.0, 0.1],  # C: front 1 (lowest risk)
            [2.0, 0.6],  # D: dominated by A and B -> front 2
            [1.0, 0.6],  # E: dominated by D -> front 3
            [2.0, 0.2],  # F: equal to B -> front 1 as well
            [np.nan, 0.0],  # G: no score -> no front
            [0.5, 0.3],  # H: dominated by B and C -> front 2
        ]
    )
    ranks = rank.pareto_ranks(points, [True, False])
    np.testing.assert_array_equal(ranks, [1, 1, 1, 2, 3, 1, np.nan, 2])


def test_pareto_table_uses_ranked_rows_only() -> None:
    df = pd.DataFrame(
        {
            "formula": ["A", "B", "C", "D"],
            "score": [1.0, 2.0, 3.0, 0.5],
            "supply_risk": [0.1, 0.2, 0.5, 0.05],
            "cost_per_kg": [10.0, 5.0, 50.0, 1.0],
            "rank": pd.array([3, 2, 1, pd.NA], dtype="Int64"),
        }
    )
    out = rank.pareto_table(df)
    assert out["pareto"].tolist() == [True, True, True, False]
    assert out["pareto_rank"].tolist() == [1, 1, 1, pd.NA]
    everything = rank.pareto_table(df, only_ranked=False)
    assert everything["pareto"].tolist() == [True, True, True, True]
    two = rank.pareto_table(df, {"score": "max", "cost_per_kg": "min"}, only_ranked=False)
    assert two["pareto_rank"].tolist() == [2, 1, 1, 1]
    with pytest.raises(KeyError, match="missing Pareto"):
        rank.pareto_table(df, {"price": "min"})
    with pytest.raises(ValueError, match="'max' or 'min'"):
        rank.pareto_table(df, {"score": "up"})


@settings(max_examples=30, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 5), st.integers(0, 5), st.integers(0, 5)),
                min_size=1, max_size=25))
def test_pareto_fronts_are_consistent(rows: list[tuple[int, int, int]]) -> None:
    values = np.array(rows, dtype=float)
    maximize = [True, False, False]
    ranks = rank.pareto_ranks(values, maximize)
    signed = values * np.where(maximize, 1.0, -1.0)

    def dominates(a: np.ndarray, b: np.ndarray) -> bool:
        return bool(np.all(a >= b) and np.any(a > b))

    for i, point in enumerate(signed):
        dominators = [ranks[j] for j, other in enumerate(signed) if dominates(other, point)]
        # Every dominator sits on an earlier front, and some dominator on the one before.
        assert all(r < ranks[i] for r in dominators)
        assert ranks[i] == (max(dominators) + 1 if dominators else 1)


def test_pareto_front_only_in_domain_feasible_rows_and_missing_data_reported(caplog) -> None:
    from matgenome.plots import pareto_plot_groups

    df = pd.DataFrame({
        "formula": ["Li3PS4", "Na3PS4", "LiBH4", "Li10GeP2S12", "Li6PS5Cl"],
        "score": [0.2, 0.9, 0.8, 0.95, 0.5],
        "supply_risk": [0.2, 0.1, np.nan, 0.3, 0.25],
        "rank": pd.array([3, 1, 2, pd.NA, 4], dtype="Int64"),
        "feasible": [True, True, True, False, True],
        "in_domain": [True, False, True, True, True],
    })
    with caplog.at_level("WARNING", logger="matgenome"):
        table = rank.pareto_table(df, {"score": "max", "supply_risk": "min"},
                                  label_column="formula")
    # Na3PS4 (out of domain) and Li10GeP2S12 (infeasible) would dominate: both left off.
    assert table.loc[table["pareto"], "formula"].tolist() == ["Li3PS4", "Li6PS5Cl"]
    assert table.attrs["pareto_missing"] == ["LiBH4"]
    assert "1 rows left off the Pareto front for lack of supply_risk data: LiBH4" in caplog.text
    groups = pareto_plot_groups(table, "supply_risk", "score", label_column="formula")
    assert groups["infeasible"] == 1
    assert "Li10GeP2S12" not in groups["drawn"]["formula"].tolist()
    assert groups["outside"]["formula"].tolist() == ["Na3PS4"]
    assert groups["front"]["formula"].tolist() == ["Li3PS4", "Li6PS5Cl"]
    assert groups["not_drawn"] == ["LiBH4"]
    # A table read back from a file has the flags as text; they mean the same.
    text = table.astype({"feasible": str, "in_domain": str, "pareto": str})
    again = pareto_plot_groups(text, "supply_risk", "score", label_column="formula")
    assert again["front"]["formula"].tolist() == ["Li3PS4", "Li6PS5Cl"]
    assert again["infeasible"] == 1


def test_plot_pareto_writes_a_png(tmp_path) -> None:
    df = pd.DataFrame(
        {
            "formula": ["Li3PS4", "Li6PS5Cl", "Li7La3Zr2O12", "Li2O"],
            "score": [0.2, 0.5, 0.1, 0.05],
            "supply_risk": [0.2, 0.25, 0.57, 0.22],
            "rank": pd.array([2, 1, 3, 4], dtype="Int64"),
        }
    )
    table = rank.pareto_table(df, {"score": "max", "supply_risk": "min"})
    path = plot_pareto(table, "supply_risk", "score", tmp_path / "front.png",
                       label_column="formula")
    data = path.read_bytes()
    assert data.startswith(b"\x89PNG\r\n\x1a\n") and len(data) > 5000
    assert [p.name for p in tmp_path.iterdir()] == ["front.png"]  # no temporary file left
    with pytest.raises(KeyError):
        plot_pareto(table, "cost_per_kg", "score", tmp_path / "other.png")
