"""Batch proposals: Thompson sampling, the stratified cold start, the switch between
them."""

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
