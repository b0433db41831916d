"""Acquisition functions, constraints, ranking tables and Pareto fronts."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import integrate
from scipy.stats import norm

import matgenome.ranking as rank
from matgenome.plots import plot_pareto

# Hand-computed standard normal values: Phi(0.2), phi(0.2), Phi(1), Phi(1) - Phi(-1).
PHI_02 = 0.579259709439103
PDF_02 = 0.391042693975456
PHI_1 = 0.841344746068543
WITHIN_1_SIGMA = 0.682689492137086


# --------------------------------------------------------------------------- acquisitions


def test_ei_matches_the_closed_form_by_hand() -> None:
    # mean 1, std 2, best 0.5, xi 0.1: I = 0.4, z = 0.2, EI = I*Phi(z) + std*phi(z).
    expected = 0.4 * PHI_02 + 2 * PDF_02
    assert rank.ei([1.0], [2.0], 0.5, xi=0.1)[0] == pytest.approx(expected, rel=1e-12)
    assert expected == pytest.approx(1.0137892717265529, rel=1e-12)


def test_ei_with_zero_std_is_the_plain_improvement() -> None:
    scores = rank.ei([2.0, 0.0, 1.0], [0.0, 0.0, 0.0], 1.0)
    np.testing.assert_allclose(scores, [1.0, 0.0, 0.0])


def test_ei_minimise_mirrors_maximise() -> None:
    mean, std = np.array([-3.0, -1.0, 0.5]), np.array([0.2, 1.0, 0.0])
    np.testing.assert_allclose(
        rank.ei(mean, std, -1.5, "min", xi=0.05), rank.ei(-mean, std, 1.5, "max", xi=0.05)
    )


@pytest.mark.parametrize(("mean", "std"), [(0.7, 0.4), (1.2, 0.1), (-2.0, 1.5), (1.5, 0.0)])
def test_ei_for_a_target_equals_numerical_integration(mean: float, std: float) -> None:
    target, best, xi = 1.2, 0.3, 0.1
    radius = abs(best - target) - xi

    def improvement(y: float) -> float:
        return max(radius - abs(y - target), 0.0)

    if std == 0:
        expected = improvement(mean)
    else:
        expected = integrate.quad(
            lambda y: improvement(y) * norm.pdf(y, mean, std),
            target - radius, target + radius, points=[target],
        )[0]
    got = rank.ei([mean], [std], best, "target", target=target, xi=xi)[0]
    assert got == pytest.approx(expected, abs=1e-9)


def test_ei_and_mli_for_a_target_already_hit_are_refused() -> None:
    # Every row would score 0: the ranking would silently be the input order.
    with pytest.raises(ValueError, match="already at the target"):
        rank.ei([0.0, 1.0], [1.0, 1.0], 2.0, "target", target=2.0)
    with pytest.raises(ValueError, match="already at the target"):
        rank.mli([0.0, 1.0], [1.0, 1.0], 2.0, "target", target=2.0)


def test_probability_of_exceeding_a_threshold() -> None:
    # P(log10 sigma > -4) for mean -3.5, std 0.5 is Phi(1).
    assert rank.pi([-3.5], [0.5], threshold=-4.0)[0] == pytest.approx(PHI_1, rel=1e-12)
    assert rank.probability([-3.5], [0.5], "min", threshold=-4.0)[0] == pytest.approx(
        1 - PHI_1, rel=1e-12
    )
    np.testing.assert_array_equal(rank.pi([-3.0, -5.0, -4.0], [0, 0, 0], threshold=-4), [1, 0, 0])


def test_probability_of_hitting_a_target_window() -> None:
    got = rank.probability([2.0, 10.0, -6.0], [1.0] * 3, "target", target=2.0, tolerance=1.0)
    assert got[0] == pytest.approx(WITHIN_1_SIGMA, rel=1e-12)
    # Far tails on either side keep their relative precision: Phi(-7) - Phi(-9), where
    # Phi(-7) = 1.2798125e-12 and Phi(-9) = 1.1e-19.
    tail = 1.2798125e-12
    assert got[1] == pytest.approx(tail, rel=1e-6)
    assert got[2] == pytest.approx(norm.sf(7.0) - norm.sf(9.0), rel=1e-6)


def test_mli_is_the_probability_of_beating_the_best() -> None:
    mean, std = np.array([0.0, 1.0, 2.0]), np.array([1.0, 0.5, 2.0])
    np.testing.assert_allclose(rank.mli(mean, std, 0.8), norm.sf(0.8, mean, std))
    np.testing.assert_allclose(rank.mli(mean, std, 0.8, "min"), norm.cdf(0.8, mean, std))
    # For a target: closer than the best known value, |y - 1| < |0.5 - 1|.
    window = norm.cdf(1.5, mean, std) - norm.cdf(0.5, mean, std)
    np.testing.assert_allclose(rank.mli(mean, std, 0.5, "target", target=1.0), window)


def test_mean_ucb_and_mu_for_every_objective() -> None:
    mean, std = np.array([1.0, -2.0, 4.0]), np.array([0.5, 1.0, 0.0])
    np.testing.assert_allclose(rank.predicted_value(mean, std), mean)
    np.testing.assert_allclose(rank.mei(mean, std, "min"), -mean)
    np.testing.assert_allclose(rank.predicted_value(mean, std, "target", target=0.0), [-1, -2, -4])
    np.testing.assert_allclose(rank.ucb(mean, std, kappa=2), [2.0, 0.0, 4.0])
    np.testing.assert_allclose(rank.ucb(mean, std, "min", kappa=2), [0.0, 4.0, -4.0])
    # Target 0: optimistic closeness 2 std - |mean|, not clipped at 0 (which would tie
    # every row whose interval holds the target).
    np.testing.assert_allclose(rank.ucb(mean, std, "target", target=0.0, kappa=2), [0, 0, -4])
    np.testing.assert_allclose(rank.ucb([0.5, 0.1, 1.0], [1.0, 1.0, 1.0], "target", target=0.0),
                               [1.5, 1.9, 1.0])
    np.testing.assert_allclose(rank.max_uncertainty(mean, std), std)


@pytest.mark.parametrize("acquisition", ["mean", "mei", "ucb", "pi"])
def test_target_objective_ranks_the_row_nearest_the_target_first(acquisition: str) -> None:
    # Predictions around -4 with equal uncertainty; the nearest to -4 is the fourth row.
    df = pd.DataFrame({"pred": [-2.0, -3.0, -6.3, -4.1, -5.4], "std": [0.8] * 5})
    ranked = rank.rank_table(df, "pred", "std", acquisition, "target", target=-4.0,
                             tolerance=0.5)
    order = ranked.sort_values("rank").index.tolist()
    assert order[0] == 3
    assert order != list(range(5))
    assert ranked["score"].nunique() == 5


def test_dispatch_covers_every_acquisition_name() -> None:
    mean, std = np.array([0.0, 1.0]), np.array([1.0, 1.0])
    for name in rank.ACQUISITIONS:
        scores = rank.acquisition_scores(name, mean, std, best=0.5, threshold=0.5)
        assert scores.shape == (2,)
        assert np.isfinite(scores).all()
    with pytest.raises(ValueError, match="unknown acquisition"):
        rank.acquisition_scores("thompson", mean, std)


def test_nan_predictions_give_nan_scores() -> None:
    mean, std = np.array([1.0, np.nan, 0.0]), np.array([1.0, 1.0, np.nan])
    for name in rank.ACQUISITIONS:
        scores = rank.acquisition_scores(name, mean, std, best=0.0, threshold=0.0)
        assert np.isfinite(scores[0])
        assert np.isnan(scores[1:]).all(), name


def test_bad_inputs_are_rejected() -> None:
    with pytest.raises(ValueError, match="negative"):
        rank.ucb([0.0], [-1.0])
    with pytest.raises(ValueError, match="target"):
        rank.predicted_value([0.0], objective="target")
    with pytest.raises(ValueError, match="objective"):
        rank.ucb([0.0], [1.0], "maximise")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="best"):
        rank.ei([0.0], [1.0], math.nan)
    with pytest.raises(ValueError, match="threshold"):
        rank.pi([0.0], [1.0])
    with pytest.raises(ValueError, match="length"):
        rank.ucb([0.0, 1.0], [1.0])


def test_best_known_per_objective() -> None:
    y = [-5.0, -2.5, np.nan, -3.0]
    assert rank.best_known(y) == -2.5
    assert rank.best_known(y, "min") == -5.0
    assert rank.best_known(y, "target", target=-3.2) == -3.0


# --------------------------------------------------------------------------- ordering


def test_order_puts_nan_last_and_breaks_ties_by_position() -> None:
    order = rank.order_by_score([1.0, 2.0, np.nan, 2.0, 3.0])
    np.testing.assert_array_equal(order, [4, 1, 3, 0, 2])


def test_tie_breaker_comes_before_position() -> None:
    order = rank.order_by_score([2.0, 2.0, 2.0], tie_breaker=[0.9, 0.1, 0.5])
    np.testing.assert_array_equal(order, [1, 2, 0])


def test_rank_scores_skips_ineligible_and_nan_rows() -> None:
    ranks = rank.rank_scores([5.0, 7.0, np.nan, 7.0, 9.0], eligible=[True, True, True, True, False])
    np.testing.assert_array_equal(ranks, [3.0, 1.0, np.nan, 2.0, np.nan])


# --------------------------------------------------------------------------- constraints


def test_constraints_give_one_reason_per_violation() -> None:
    rules = rank.Constraints(
        required_elements=("Li",), excluded_elements=("Ge", "Pb"), max_elements=4,
        min_mobile_fraction=0.2,
    )
    formulas = ["Li3PS4", "Na3PS4", "Li10GeP2S12", "Li7La3Zr2O12", "Li6PS5Cl", "Qq2O"]
    mask, reasons = rank.check_constraints(formulas, rules)
    np.testing.assert_array_equal(mask, [True, False, False, True, True, False])
    # Li7La3Zr2O12 has 4 elements (allowed) and a Li fraction of 7/24 = 0.29 (allowed).
    assert reasons[0] == reasons[3] == reasons[4] == ""
    assert reasons[1] == "missing required element(s) Li; Li fraction 0 < 0.2"
    assert reasons[2] == "contains excluded element(s) Ge"
    assert "unknown element 'Qq'" in reasons[5]


def test_element_count_and_mobile_fraction_bounds() -> None:
    rules = rank.Constraints(min_elements=3, max_elements=3, max_mobile_fraction=0.35)
    mask, reasons = rank.check_constraints(["Li2O", "Li3PS4", "LiAlO2", "Li7La3Zr2O12"], rules)
    np.testing.assert_array_equal(mask, [False, False, True, False])
    assert reasons[0] == "2 elements < min_elements=3; Li fraction 0.6667 > 0.35"
    assert reasons[1] == "Li fraction 0.375 > 0.35"
    assert reasons[3] == "4 elements > max_elements=3"


def test_other_mobile_ion_and_mapping_input() -> None:
    mask, reasons = rank.check_constraints(
        ["Na3PS4", "Li3PS4"], {"mobile_ion": "Na", "min_mobile_fraction": 0.3}
    )
    np.testing.assert_array_equal(mask, [True, False])
    assert reasons[1] == "Na fraction 0 < 0.3"


def test_invalid_constraints_are_rejected() -> None:
    with pytest.raises(ValueError, match="unknown element symbol"):
        rank.Constraints(required_elements=("Xx",))
    with pytest.raises(ValueError, match="both required and excluded"):
        rank.Constraints(required_elements=("Li",), excluded_elements=("Li",))
    with pytest.raises(ValueError, match="above upper bound"):
        rank.Constraints(min_elements=4, max_elements=2)
    with pytest.raises(ValueError, match="unknown constraint"):
        rank.Constraints.from_mapping({"max_atoms": 3})


# --------------------------------------------------------------------------- rank_table


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


# --------------------------------------------------------------------------- Pareto


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


# --------------------------------------------------------------------------- batches


class FixedTrees:
    """A stand-in fitted ensemble whose per-tree predictions are given."""

    def __init__(self, draws: np.ndarray) -> None:
        self.draws = np.asarray(draws, dtype=float)

    def predict_trees(self, X: np.ndarray) -> np.ndarray:
        assert len(X) == self.draws.shape[1]
        return self.draws


def blobs(n_per: int = 12, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Five well-separated clusters in 4 descriptors, with very different column scales."""
    rng = np.random.default_rng(seed)
    centres = np.eye(5, 4) * 20.0
    labels = np.repeat(np.arange(5), n_per)
    X = centres[labels] + rng.normal(size=(labels.size, 4))
    return X * np.array([1.0, 100.0, 0.01, 5.0]), labels


def test_thompson_batch_picks_distinct_best_rows_of_the_drawn_trees() -> None:
    # Every tree ranks rows 3 > 1 > 0 > 2 > 4, so any batch takes them in that order.
    draws = np.tile([2.0, 3.0, 0.0, 4.0, -1.0], (6, 1))
    picks = rank.thompson_batch(draws, 3, np.random.default_rng(0))
    np.testing.assert_array_equal(picks, [3, 1, 0])
    lows = rank.thompson_batch(draws, 2, np.random.default_rng(0), objective="min")
    np.testing.assert_array_equal(lows, [4, 2])
    assert rank.thompson_batch(draws, 10, np.random.default_rng(0)).size == 5  # capped


def test_thompson_batch_follows_single_trees_and_is_seeded() -> None:
    rng = np.random.default_rng(1)
    draws = rng.normal(size=(40, 30))
    first = rank.thompson_batch(draws, 8, np.random.default_rng(7))
    again = rank.thompson_batch(draws, 8, np.random.default_rng(7))
    np.testing.assert_array_equal(first, again)
    assert len(set(first.tolist())) == 8
    # The first pick is the best row of some tree; the mean's best row need not be.
    assert first[0] in set(draws.argmax(axis=1).tolist())


def test_thompson_batch_breaks_ties_at_random_and_ranks_nan_last() -> None:
    draws = np.array([[1.0, 1.0, 1.0, np.nan]])
    seen = {int(rank.thompson_batch(draws, 1, np.random.default_rng(s))[0]) for s in range(30)}
    assert seen == {0, 1, 2}
    with pytest.raises(ValueError, match="n_trees"):
        rank.thompson_batch(np.zeros(4), 1, np.random.default_rng(0))
    with pytest.raises(ValueError, match="at least 1"):
        rank.thompson_batch(draws, 0, np.random.default_rng(0))


def test_cold_start_picks_one_row_per_cluster() -> None:
    X, labels = blobs()
    for seed in range(5):
        picks = rank.cold_start_batch(X, 5, np.random.default_rng(seed))
        assert sorted(labels[picks].tolist()) == [0, 1, 2, 3, 4]
    first = rank.cold_start_batch(X, 5, np.random.default_rng(3))
    np.testing.assert_array_equal(first, rank.cold_start_batch(X, 5, np.random.default_rng(3)))


def test_cold_start_fills_slots_when_rows_repeat() -> None:
    X = np.repeat([[0.0, 1.0], [5.0, 5.0]], 4, axis=0)  # only two distinct rows
    picks = rank.cold_start_batch(X, 5, np.random.default_rng(0))
    assert len(set(picks.tolist())) == 5
    assert {tuple(X[i]) for i in picks} == {(0.0, 1.0), (5.0, 5.0)}


def test_standardise_handles_nan_and_constant_columns() -> None:
    X = np.array([[1.0, 2.0, np.nan], [3.0, 2.0, np.nan], [np.nan, 2.0, np.nan]])
    Z = rank.standardise(X)
    assert np.isfinite(Z).all()
    np.testing.assert_allclose(Z[:, 1:], 0.0)
    np.testing.assert_allclose(Z[:, 0].mean(), 0.0, atol=1e-12)


def test_propose_batch_switches_from_cold_start_to_thompson() -> None:
    X, labels = blobs()
    draws = np.tile(np.arange(X.shape[0], dtype=float), (4, 1))  # last rows predicted best
    model = FixedTrees(draws)
    cold = rank.propose_batch(None, X, 5, target_reached=False, rng=np.random.default_rng(0))
    assert sorted(labels[cold].tolist()) == [0, 1, 2, 3, 4]
    n = X.shape[0]
    for reached in (True, None):  # None (unknown) is treated as reached
        warm = rank.propose_batch(model, X, 3, target_reached=reached,
                                  rng=np.random.default_rng(0))
        np.testing.assert_array_equal(warm, [n - 1, n - 2, n - 3])
    no_cold = rank.propose_batch(model, X, 2, target_reached=False, cold_start=False,
                                 rng=np.random.default_rng(0))
    np.testing.assert_array_equal(no_cold, [n - 1, n - 2])
    with pytest.raises(TypeError, match="predict_trees"):
        rank.propose_batch(object(), X, 2, target_reached=True, rng=np.random.default_rng(0))


def test_propose_batch_with_the_calibrated_trees_regressor() -> None:
    from matgenome.models.calibrated import CalibratedTreesRegressor

    X, _ = blobs(8)
    y = X[:, 0] / 20.0
    model = CalibratedTreesRegressor(n_estimators=12, calibration="none", random_state=0,
                                     n_jobs=1).fit(X[:20], y[:20])
    pool = X[20:]
    first = rank.propose_batch(model, pool, 4, target_reached=True, rng=np.random.default_rng(2))
    again = rank.propose_batch(model, pool, 4, target_reached=True, rng=np.random.default_rng(2))
    np.testing.assert_array_equal(first, again)
    assert len(set(first.tolist())) == 4 and first.max() < len(pool)


def test_has_reached_target() -> None:
    assert rank.has_reached_target([0.1, 0.5, np.nan], 0.5)
    assert not rank.has_reached_target([0.1, 0.4], 0.5)
    assert rank.has_reached_target([0.1, 0.4], 0.2, "min")
    assert not rank.has_reached_target([np.nan], 0.0)


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
