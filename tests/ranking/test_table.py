"""Ordering, ranks and ranking tables; the rank() API."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import matgenome.ranking as rank


def test_order_puts_nan_last_and_breaks_ties_by_position() -> None:
    order = rank.order_by_score([1.0, 2.0, np.nan, 2.0, 3.0])
    np.testing.assert_array_equal(order, [4, 1, 3, 0, 2])


def test_tie_breaker_comes_before_position() -> None:
    order = rank.order_by_score([2.0, 2.0, 2.0], tie_breaker=[0.9, 0.1, 0.5])
    np.testing.assert_array_equal(order, [1, 2, 0])


def test_rank_scores_skips_ineligible_and_nan_rows() -> None:
    ranks = rank.rank_scores([5.0, 7.0, np.nan, 7.0, 9.0], eligible=[True, True, True, True, False])
    np.testing.assert_array_equal(ranks, [3.0, 1.0, np.nan, 2.0, np.nan])


@pytest.fixture
def candidates() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "formula": ["Li3PS4", "Na3PS4", "Li6PS5Cl", "Li10GeP2S12", "Li7La3Zr2O12", "??"],
            "note": list("abcdef"),
        },
        index=[10, 11, 12, 13, 14, 15],
    )


def test_rank_table_keeps_rows_and_order(candidates: pd.DataFrame) -> None:
    mean = [-3.0, -2.0, -2.5, np.nan, -2.5, -1.0]
    std = [0.5, 0.5, 0.5, 0.5, 0.5, 0.5]
    out = rank.rank_table(
        candidates, mean, std, "mean", constraints={"required_elements": ["Li"]}
    )
    assert list(out.index) == list(candidates.index)
    assert list(out["note"]) == list("abcdef")
    assert "score" not in candidates.columns  # the input is not modified
    # Li6PS5Cl and Li7La3Zr2O12 tie at -2.5: the earlier row wins.
    assert out["rank"].tolist() == [3, pd.NA, 1, pd.NA, 2, pd.NA]
    assert str(out["rank"].dtype) == "Int64"
    assert out["feasible"].tolist() == [True, False, True, True, True, False]
    assert out.loc[11, "reason"] == "missing required element(s) Li"
    assert out.loc[13, "reason"] == "unscored: no prediction"
    assert out.loc[15, "reason"].startswith("invalid formula")
    assert np.isnan(out.loc[13, "score"])
    np.testing.assert_allclose(out["pred_mean"], mean)


def test_rank_table_ei_falls_back_to_the_best_feasible_mean(candidates: pd.DataFrame) -> None:
    mean = np.array([-3.0, -2.0, -2.5, -4.0, -2.9, -1.0])
    std = np.full(6, 0.3)
    out = rank.rank_table(candidates, mean, std, "ei", constraints={"required_elements": ["Li"]})
    # Na3PS4 (-2.0) and the unparsable row (-1.0) fail the constraints, so best is -2.5.
    assert out.attrs["best"] == -2.5
    np.testing.assert_allclose(out["score"], rank.ei(mean, std, -2.5))
    explicit = rank.rank_table(candidates, mean, std, "ei", best=-3.5)
    np.testing.assert_allclose(explicit["score"], rank.ei(mean, std, -3.5))
    assert explicit["rank"].tolist() == [5, 2, 3, 6, 4, 1]


def test_rank_table_with_no_predictions_ranks_nothing(candidates: pd.DataFrame) -> None:
    out = rank.rank_table(candidates, [np.nan] * 6, [np.nan] * 6, "ei")
    assert out["rank"].isna().all() and out["score"].isna().all()
    assert set(out["reason"]) == {"unscored: no prediction"}


def test_rank_table_reads_column_names_and_minimises(candidates: pd.DataFrame) -> None:
    table = candidates.assign(m=[1.0, 2.0, 3.0, 4.0, 5.0, 6.0], s=0.1)
    out = rank.rank_table(table, "m", "s", "ucb", "min", kappa=1.0)
    assert "pred_mean" not in out.columns
    assert out["rank"].tolist() == [1, 2, 3, 4, 5, 6]
    np.testing.assert_allclose(out["score"], -table["m"] + 0.1)


def test_rank_table_target_objective(candidates: pd.DataFrame) -> None:
    mean = [-4.0, -3.0, -3.9, -5.0, -2.0, -4.05]
    out = rank.rank_table(
        candidates, mean, [0.1] * 6, "pi", "target", target=-4.0, tolerance=0.2
    )
    assert out["rank"].tolist()[0] == 1
    assert out["rank"].tolist()[5] == 2
    assert out["rank"].tolist()[2] == 3


def test_rank_api_returns_rows_sorted_by_rank(small_model_dir) -> None:
    import matgenome as mg

    model = mg.load_model(small_model_dir)
    formulas = ["NaCl", "Li2O", "Li10GeP2S12", "Qq", "Li6PS5Cl0.5Br0.5", "Li3YCl6", "LiI"]
    frame = pd.DataFrame({"formula": formulas}, index=[10, 11, 12, 13, 14, 15, 16])
    ranked = mg.rank(model, frame)
    ranks = ranked["rank"].dropna().astype(int).tolist()
    assert ranks == list(range(1, len(ranks) + 1))
    assert ranked["rank"].iloc[: len(ranks)].notna().all()
    assert ranked["rank"].iloc[len(ranks):].isna().all()  # "Qq" cannot be scored
    # The index still names the input rows.
    assert (frame.loc[ranked.index, "formula"] == ranked["formula"]).all()
    assert sorted(ranked.index) == list(frame.index)
