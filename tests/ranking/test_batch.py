"""Batch proposals: the batch rules, the stratified cold start, the switch between them,
and each pick's role."""

from __future__ import annotations

import numpy as np
import pytest

import matgenome.ranking as rank


class FixedTrees:
    """A stand-in fitted ensemble whose per-tree predictions are given."""

    def __init__(self, draws: np.ndarray) -> None:
        self.draws = np.asarray(draws, dtype=float)

    def predict_trees(self, X: np.ndarray) -> np.ndarray:
        assert len(X) == self.draws.shape[1]
        return self.draws

    def predict(self, X: np.ndarray, return_std: bool = False):
        assert len(X) == self.draws.shape[1]
        mean, std = self.draws.mean(axis=0), self.draws.std(axis=0)
        return (mean, std) if return_std else mean


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


def test_propose_batch_switches_from_cold_start_to_the_default_rule() -> None:
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
    with pytest.raises(TypeError, match="predict"):
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


# --- the batch rules --------------------------------------------------------------------


def belief(mean, std=None, X=None, **kwargs) -> rank.PoolBelief:
    """A pool view of the given means (zero std, 1-D descriptors unless given)."""
    mean = np.asarray(mean, dtype=float)
    std = np.zeros_like(mean) if std is None else np.asarray(std, dtype=float)
    X = np.arange(mean.size, dtype=float)[:, None] if X is None else X
    return rank.PoolBelief(mean, std, X=X, **kwargs)


def test_greedy_picks_the_top_k_in_order() -> None:
    mean = np.array([0.1, 3.0, 2.0, -1.0, 5.0, 4.0])
    batch = rank.BATCH_RULES["greedy"](belief(mean), 3, np.random.default_rng(0))
    np.testing.assert_array_equal(batch.rows, [4, 5, 1])
    assert batch.roles == ("exploit",) * 3


def test_thompson_half_draws_from_half_forest_means() -> None:
    mean = np.array([1.0, 0.0, 0.5])
    rng = np.random.default_rng(0)
    # Identical trees: every half-forest draw is the mean, so the batch is greedy.
    trees = np.tile(mean, (10, 1))
    half = rank.BATCH_RULES["thompson-half"](rank.PoolBelief(mean, mean * 0,
                                                             tree_predictions=trees), 3, rng)
    np.testing.assert_array_equal(half.rows, [0, 2, 1])
    assert half.roles == ("exploit",) * 3
    # One wild tree of 20 prefers row 1: a single-tree draw follows it 1 time in 20, a
    # half-forest mean whenever the tree is among the half (about half the time).
    wild = np.tile(mean, (20, 1))
    wild[0] = [0.0, 100.0, 0.0]
    singles = [int(rank.thompson_batch(wild, 1, np.random.default_rng(s))[0])
               for s in range(200)]
    halves = [int(rank.thompson_batch(wild, 1, np.random.default_rng(s), subset=0.5)[0])
              for s in range(200)]
    assert singles.count(1) < 25 and 70 < halves.count(1) < 130
    view = rank.PoolBelief(mean, mean * 0, tree_predictions=wild)
    picked = rank.BATCH_RULES["thompson-half"](view, 1, np.random.default_rng(3))
    # Row 1 is not among the best predictions (means 5.95 vs 0.95 and 0.475): when a
    # draw takes it, it is an explore pick.
    assert picked.roles == (("explore",) if picked.rows[0] == 1 else ("exploit",))


@pytest.mark.parametrize("name", sorted(rank.BATCH_RULES))
def test_every_rule_is_seeded_and_picks_distinct_rows(name: str) -> None:
    assert rank.DEFAULT_RULE in rank.BATCH_RULES
    rng = np.random.default_rng(3)
    mean, std = rng.normal(size=40), rng.uniform(0.1, 1.0, size=40)
    X = rng.normal(size=(40, 4))
    trees = mean + std * rng.normal(size=(25, 40))

    def run(seed: int) -> rank.Batch:
        view = belief(mean, std, X=X, best=1.0, tree_predictions=trees, measured_targets=2)
        return rank.BATCH_RULES[name](view, 5, np.random.default_rng(seed))

    first = run(11)
    np.testing.assert_array_equal(first.rows, run(11).rows)
    assert first.roles == run(11).roles
    assert len(set(first.rows.tolist())) == 5 and len(first.roles) == 5
    assert set(first.roles) <= {"exploit", "explore"}


def test_exploit_picks_stay_inside_the_domain() -> None:
    mean = np.array([9.0, 8.0, 1.0, 0.5, 0.0])
    inside = np.array([False, True, True, True, False])
    std = np.array([3.0, 0.1, 0.1, 0.1, 0.1])
    greedy = rank.BATCH_RULES["greedy"](belief(mean, in_domain=inside), 2,
                                        np.random.default_rng(0))
    np.testing.assert_array_equal(greedy.rows, [1, 2])
    tight = rank.BATCH_RULES["greedy"](belief(mean, in_domain=inside), 4,
                                       np.random.default_rng(0))
    assert tight.roles == ("exploit",) * 3 + ("explore",) and tight.rows[-1] == 0
    trees = np.tile(mean, (8, 1))
    for name in rank.BATCH_RULES:
        view = belief(mean, std, in_domain=inside, tree_predictions=trees, measured_targets=9)
        batch = rank.BATCH_RULES[name](view, 3, np.random.default_rng(0))
        for row, role in zip(batch.rows, batch.roles, strict=True):
            assert inside[row] or role == "explore"
    with pytest.raises(ValueError, match="one flag per row"):
        belief(mean, in_domain=[True])


def test_choose_batch_cold_start_roles_and_objective() -> None:
    X, labels = blobs()
    mean = np.arange(X.shape[0], dtype=float)
    cold = rank.choose_batch(None, X, 5, target_reached=False, rng=np.random.default_rng(0))
    assert cold.roles == ("cold start",) * 5
    assert sorted(labels[cold.rows].tolist()) == [0, 1, 2, 3, 4]
    for reached in (True, None):  # None (unknown) is treated as reached
        warm = rank.choose_batch(None, X, 2, target_reached=reached, rule="greedy",
                                 rng=np.random.default_rng(0), mean=mean, std=mean * 0)
        np.testing.assert_array_equal(warm.rows, [mean.size - 1, mean.size - 2])
    low = rank.choose_batch(None, X, 2, target_reached=True, rule="greedy", objective="min",
                            rng=np.random.default_rng(0), mean=mean, std=mean * 0)
    np.testing.assert_array_equal(low.rows, [0, 1])
    with pytest.raises(ValueError, match="unknown batch rule"):
        rank.choose_batch(None, X, 2, target_reached=True, rule="nope",
                          rng=np.random.default_rng(0), mean=mean, std=mean * 0)
    with pytest.raises(TypeError, match="predict"):
        rank.choose_batch(object(), X, 2, target_reached=True, rng=np.random.default_rng(0))


def test_choose_batch_toward_a_target_value_scores_closeness() -> None:
    X, _ = blobs(2)
    mean = np.linspace(0.0, 9.0, X.shape[0])
    trees = np.tile(mean, (6, 1))
    model = FixedTrees(trees)
    for rule in rank.BATCH_RULES:
        batch = rank.choose_batch(model, X, 2, target_reached=True, objective="target",
                                  target=4.1, rule=rule, rng=np.random.default_rng(0),
                                  mean=mean, std=mean * 0, best=0.0)
        closest = np.argsort(np.abs(mean - 4.1))[:2]
        assert set(batch.rows.tolist()) == set(closest.tolist())
    with pytest.raises(ValueError, match="target value"):
        rank.choose_batch(model, X, 2, target_reached=True, objective="target",
                          rng=np.random.default_rng(0), mean=mean, std=mean * 0)
