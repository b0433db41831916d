"""Sequential-learning simulation: protocol, metrics, determinism and plots."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.ensemble import RandomForestRegressor
from sklearn.linear_model import BayesianRidge
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from matgenome.models.calibrated import CalibratedTreesRegressor
from matgenome.plots import plot_discovery_curves
from matgenome.simulation import (
    DEFAULT_STRATEGIES,
    DEFAULT_STRATEGY,
    RANDOM_EXPECTED,
    SimulationResult,
    SimulationSettings,
    Strategy,
    simulate_discovery,
    summary_from_dict,
)
from matgenome.simulation.loop import _seed_model


class TreeSpread(RegressorMixin, BaseEstimator):
    """A small random forest whose std is the spread of the per-tree predictions."""

    def __init__(self, n_estimators: int = 30, random_state: int | None = None) -> None:
        self.n_estimators = n_estimators
        self.random_state = random_state

    def fit(self, X: np.ndarray, y: np.ndarray) -> TreeSpread:
        self.forest_ = RandomForestRegressor(
            n_estimators=self.n_estimators, random_state=self.random_state, n_jobs=1
        ).fit(X, y)
        return self

    def predict(self, X: np.ndarray, return_std: bool = False):  # type: ignore[override]
        per_tree = np.stack([tree.predict(X) for tree in self.forest_.estimators_])
        mean = per_tree.mean(axis=0)
        return (mean, per_tree.std(axis=0)) if return_std else mean


def linear_data(n: int = 150, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """A smooth synthetic property: a linear model fits it almost exactly (oracle-like)."""
    rng = np.random.default_rng(seed)
    X = rng.uniform(-1.0, 1.0, size=(n, 3))
    y = X @ np.array([2.0, 1.0, -1.0]) + 0.05 * rng.normal(size=n)
    return X, y


def simulate(X, y, model_factory, row_ids=None, **settings) -> SimulationResult:
    """``simulate_discovery`` with its settings object built from keywords."""
    return simulate_discovery(X, y, model_factory, SimulationSettings(**settings),
                              row_ids=row_ids)


@pytest.fixture(scope="module")
def oracle_run() -> SimulationResult:
    X, y = linear_data()
    return simulate(
        X, y, BayesianRidge, strategies=("ei", "mei", "mu", "random"), n_initial=8,
        batch_size=2, n_iterations=15, n_trials=20, seed=3, extend_to=5,
    )


def test_oracle_like_model_beats_random(oracle_run: SimulationResult) -> None:
    summary = oracle_run.summary()
    for strategy in ("ei", "mei"):
        assert summary.loc[strategy, "daf_1"] > 2.0
        assert summary.loc[strategy, "daf_5"] > 2.0
        assert (
            summary.loc[strategy, "targets_found_mean"]
            > 2 * summary.loc["random", "targets_found_mean"]
        )
    assert summary.loc[RANDOM_EXPECTED, "daf_1"] == 1.0
    assert oracle_run.n_trials == 20 and oracle_run.budget == 30


def test_protocol_invariants(oracle_run: SimulationResult) -> None:
    _, y = linear_data()
    targets = y >= np.quantile(y, 0.9)
    assert oracle_run.n_targets == targets.sum() == 15
    assert oracle_run.target_threshold == pytest.approx(np.quantile(y, 0.9))
    # Initial rows hold no target, so every target is still in the pool.
    assert not targets[oracle_run.initial].any()
    np.testing.assert_array_equal(oracle_run.pool_targets, 15)
    np.testing.assert_array_equal(oracle_run.pool_size, 150 - 8)
    for name in oracle_run.strategies:
        picks, found = oracle_run.picks[name], oracle_run.found[name]
        assert picks.shape == (20, 30) and found.shape == (20, 31)
        for trial in range(20):
            assert len(set(picks[trial])) == 30  # never measured twice
            assert not set(picks[trial]) & set(oracle_run.initial[trial])
        np.testing.assert_array_equal(found[:, 1:], np.cumsum(targets[picks], axis=1))


def test_random_expectation_and_daf_by_hand(oracle_run: SimulationResult) -> None:
    # Pool of N = 142 rows holding K = 15 targets: E[draws to the n-th] = n (N+1)/(K+1).
    assert oracle_run.random_expected(1) == pytest.approx(143 / 16)
    assert oracle_run.random_expected(3) == pytest.approx(3 * 143 / 16)
    needed = oracle_run.experiments_to("ei", 3)
    assert oracle_run.daf("ei", 3) == pytest.approx((3 * 143 / 16) / needed.mean())
    np.testing.assert_allclose(oracle_run.random_expected_curve()[[0, 16]], [0, 16 * 15 / 142])


def test_experiments_to_counts_individual_experiments() -> None:
    found = np.array([[0, 0, 1, 1, 2], [0, 1, 1, 1, 1]])
    zeros = np.zeros_like(found)
    result = SimulationResult(
        strategies=("s",), found={"s": found}, found_top={"s": zeros},
        picks={"s": np.zeros((2, 4), dtype=np.int64)}, initial=np.zeros((2, 3), dtype=np.int64),
        pool_size=np.array([9, 9]), pool_targets=np.array([4, 4]), pool_top=np.array([1, 1]),
        target_threshold=1.0, top_threshold=2.0, n_targets=4, n_top=1,
    )
    np.testing.assert_array_equal(result.experiments_to("s", 1), [2, 1])
    np.testing.assert_array_equal(result.experiments_to("s", 2), [4, np.nan])
    assert result.daf("s", 1) == pytest.approx((10 / 5) / 1.5)
    assert math.isnan(result.daf("s", 2))  # not reached in every trial
    row = result.summary().loc["s"]
    assert row["first_target_found"] == 1.0 and row["first_target_mean"] == 1.5
    assert math.isnan(row["daf_10"]) and row["top_fraction_mean"] == 0.0


def test_simulated_random_agrees_with_the_expectation() -> None:
    X, y = linear_data(100, seed=1)
    result = simulate(
        X, y, BayesianRidge, strategies=("random",), n_initial=5, n_iterations=95,
        n_trials=300, seed=11,
    )
    first = result.experiments_to("random", 1)
    assert not np.isnan(first).any()
    # (N + 1) / (K + 1) = 96 / 11; the standard error over 300 trials is about 0.5.
    assert first.mean() == pytest.approx(96 / 11, abs=1.5)
    assert result.summary().loc["random", "top_fraction_mean"] == 1.0  # whole pool measured


def test_same_seed_same_result_with_a_seeded_forest() -> None:
    X, y = linear_data(60, seed=2)
    kwargs = dict(
        strategies=("ucb", "random"), n_initial=6, batch_size=4, n_iterations=3, n_trials=2
    )
    first = simulate(X, y, lambda: TreeSpread(10), seed=5, **kwargs)
    second = simulate(X, y, lambda: TreeSpread(10), seed=5, **kwargs)
    other = simulate(X, y, lambda: TreeSpread(10), seed=6, **kwargs)
    for name in ("ucb", "random"):
        np.testing.assert_array_equal(first.picks[name], second.picks[name])
    np.testing.assert_array_equal(first.initial, second.initial)
    assert not np.array_equal(first.initial, other.initial)
    assert first.to_dict() == second.to_dict()


def test_unset_random_states_are_seeded_and_fixed_ones_kept() -> None:
    rng = np.random.default_rng(0)
    seeded = _seed_model(TreeSpread(), rng)
    assert isinstance(seeded.random_state, int)
    assert _seed_model(TreeSpread(random_state=7), rng).random_state == 7
    pipeline = make_pipeline(StandardScaler(), TreeSpread())
    assert isinstance(_seed_model(pipeline, rng).get_params()["treespread__random_state"], int)


def test_budget_cuts_the_last_batch_and_minimise_flips_targets() -> None:
    X, y = linear_data(80, seed=4)
    result = simulate(
        X, y, BayesianRidge, strategies=("mei",), n_initial=5, batch_size=4, n_iterations=10,
        budget=10, n_trials=2, seed=0, objective="min",
    )
    assert result.budget == 10
    assert result.target_threshold == pytest.approx(np.quantile(y, 0.1))
    lowest = y <= np.quantile(y, 0.1)
    assert not lowest[result.initial].any()
    np.testing.assert_array_equal(result.found["mei"][:, -1], lowest[result.picks["mei"]].sum(1))
    assert result.found["mei"][:, -1].min() >= 5  # the model finds the low values quickly


def test_initial_rows_may_include_targets_when_asked() -> None:
    X, y = linear_data(40, seed=5)
    result = simulate(
        X, y, BayesianRidge, strategies=("random",), n_initial=30, n_iterations=5,
        n_trials=20, seed=0, exclude_targets_from_initial=False,
    )
    assert result.pool_targets.min() < result.n_targets  # some trial started with a target
    with pytest.raises(ValueError, match="initial rows"):
        simulate(X, y, BayesianRidge, n_initial=37, n_trials=1)


def test_strategy_objects_and_validation() -> None:
    X, y = linear_data(50, seed=6)
    result = simulate(
        X, y, BayesianRidge, n_initial=5, n_iterations=4, n_trials=2, seed=1,
        strategies=[Strategy("explore", "ucb", kappa=5.0), Strategy("pi", "pi"), "mli"],
    )
    assert result.strategies == ("explore", "pi", "mli")
    assert result.settings["strategies"][0]["kappa"] == 5.0
    with pytest.raises(ValueError, match="unique"):
        simulate(X, y, BayesianRidge, strategies=("ei", "ei"), n_trials=1)
    with pytest.raises(ValueError, match="unknown acquisition"):
        Strategy("x", "greediest")
    with pytest.raises(ValueError, match="finite"):
        simulate(X, np.where(y > 0, np.nan, y), BayesianRidge, n_trials=1)


def test_to_dict_is_strict_json(oracle_run: SimulationResult) -> None:
    payload = oracle_run.to_dict()
    text = json.dumps(payload, allow_nan=False)
    back = json.loads(text)
    assert back["n_trials"] == 20
    assert back["strategies"]["ei"]["found"] == oracle_run.found["ei"].tolist()
    names = [row["strategy"] for row in back["summary"]]
    assert names == ["ei", "mei", "mu", "random", RANDOM_EXPECTED]
    assert back["settings"]["seed"] == 3


def test_plot_discovery_curves_writes_pngs(oracle_run: SimulationResult, tmp_path) -> None:
    for top in (False, True):
        path = plot_discovery_curves(oracle_run, tmp_path / "plots" / f"yield_{top}.png", top=top)
        data = path.read_bytes()
        assert data.startswith(b"\x89PNG\r\n\x1a\n") and len(data) > 10_000
    assert sorted(p.name for p in (tmp_path / "plots").iterdir()) == [
        "yield_False.png", "yield_True.png"
    ]


# ------------------------------------------------------------------ Thompson and cold start


def small_trees() -> CalibratedTreesRegressor:
    """A fast tree ensemble with ``predict_trees``; the simulation seeds random_state."""
    return CalibratedTreesRegressor(n_estimators=15, calibration="none", random_state=None,
                                    n_jobs=1)


@pytest.fixture(scope="module")
def thompson_run() -> SimulationResult:
    X, y = linear_data(90, seed=8)
    return simulate(
        X, y, small_trees, strategies=("cold-thompson-half", "thompson-half", "random"),
        n_initial=6,
        batch_size=3, n_iterations=4, n_trials=3, seed=2, extend_to=6,
        row_ids=[f"row{i}" for i in range(90)],
    )


def test_default_strategy_is_simulated_by_default() -> None:
    assert DEFAULT_STRATEGY in DEFAULT_STRATEGIES and "random" in DEFAULT_STRATEGIES
    assert DEFAULT_STRATEGY == "cold-thompson-half"
    assert Strategy.from_name("cold-thompson-half") == Strategy(
        "cold-thompson-half", "thompson-half", cold_start=True)
    assert Strategy.from_name("cold-ucb").acquisition == "ucb"
    with pytest.raises(ValueError, match="unknown acquisition"):
        Strategy.from_name("cold-thompson")  # single-tree Thompson left the package
    with pytest.raises(ValueError, match="random"):
        Strategy.from_name("cold-random")


def test_thompson_needs_predict_trees() -> None:
    X, y = linear_data(40, seed=9)
    with pytest.raises(TypeError, match="predict_trees"):
        simulate(X, y, BayesianRidge, strategies=("cold-thompson-half",), n_trials=1)


def test_thompson_runs_are_seeded(thompson_run: SimulationResult) -> None:
    X, y = linear_data(90, seed=8)
    again = simulate(
        X, y, small_trees, strategies=("cold-thompson-half", "thompson-half", "random"),
        n_initial=6,
        batch_size=3, n_iterations=4, n_trials=3, seed=2, extend_to=6,
        row_ids=[f"row{i}" for i in range(90)],
    )
    assert again.to_dict() == thompson_run.to_dict()
    for name in thompson_run.strategies:
        for seq in thompson_run.sequences(name):
            assert len(set(seq.tolist())) == seq.size  # distinct picks, budget and extension


def test_cold_start_batches_until_the_first_target() -> None:
    # Two far-apart families; targets live only in the one without initial rows.
    rng = np.random.default_rng(4)
    family = np.repeat([0, 1], 40)
    X = np.column_stack([family * 10.0 + rng.normal(size=80), rng.normal(size=80)])
    y = np.where(family == 1, X[:, 1] + 5.0, X[:, 1])
    fits = []

    def counting_factory() -> CalibratedTreesRegressor:
        fits.append(1)
        return small_trees()

    result = simulate(
        X, y, counting_factory, strategies=("cold-thompson-half",), n_initial=4, batch_size=2,
        n_iterations=1, n_trials=1, seed=0, target_quantile=0.5, top_quantile=0.9,
        extend_to=0,
    )
    # One cold-start batch of 2 slots: one row of each family (2 k-means clusters), and no
    # model fitted (only the up-front predict_trees check called the factory).
    assert sorted(family[result.picks["cold-thompson-half"][0]].tolist()) == [0, 1]
    assert result.roles["cold-thompson-half"][0] == ("cold start", "cold start")
    assert len(fits) == 1


def test_runs_are_extended_past_the_budget(thompson_run: SimulationResult) -> None:
    budget = thompson_run.budget
    assert budget == 12
    targets = thompson_run.target_mask
    for name in thompson_run.strategies:
        assert thompson_run.picks[name].shape == (3, budget)
        for trial, seq in enumerate(thompson_run.sequences(name)):
            found = np.cumsum(targets[seq])
            assert found[-1] >= 6  # extended until 6 targets
            if seq.size > budget:  # ...and no batch further than needed
                assert found[-4] < 6
            assert not set(seq.tolist()) & set(thompson_run.initial[trial].tolist())
        np.testing.assert_array_equal(
            thompson_run.found[name][:, -1], targets[thompson_run.picks[name]].sum(axis=1))
        assert np.isfinite(thompson_run.experiments_to(name, 6)).all()
        assert math.isfinite(thompson_run.daf(name, 5))


def test_json_recomputes_the_summary(thompson_run: SimulationResult) -> None:
    payload = json.loads(json.dumps(thompson_run.to_dict(), allow_nan=False))
    assert payload["row_ids"][:2] == ["row0", "row1"]
    assert all(isinstance(r, str) for r in payload["target_rows"])
    assert payload["initial"][0][0].startswith("row")
    recomputed = summary_from_dict(payload, (1, 5, 6))
    summary = thompson_run.summary((1, 5, 6)).loc[list(thompson_run.strategies)]
    for column in ("daf_1", "daf_5", "daf_6", "targets_found_mean", "first_target_mean"):
        np.testing.assert_allclose(recomputed[column], summary[column], rtol=1e-12)
    assert list(recomputed.index) == list(thompson_run.strategies)


def test_default_run_json_recomputes_daf_10() -> None:
    X, y = linear_data(120, seed=10)
    result = simulate(X, y, small_trees, strategies=(DEFAULT_STRATEGY, "random"),
                                n_initial=5, batch_size=5, n_iterations=2, n_trials=2, seed=0)
    assert result.settings["extend_to"] == 10
    recomputed = summary_from_dict(result.to_dict())
    for n in (1, 5, 10):
        np.testing.assert_allclose(recomputed[f"daf_{n}"],
                                   result.summary().loc[list(result.strategies), f"daf_{n}"],
                                   rtol=1e-12)


def test_row_ids_are_validated() -> None:
    X, y = linear_data(30, seed=11)
    with pytest.raises(ValueError, match="row_ids"):
        simulate(X, y, BayesianRidge, strategies=("random",), n_trials=1,
                           row_ids=list(range(29)))
    with pytest.raises(ValueError, match="unique"):
        simulate(X, y, BayesianRidge, strategies=("random",), n_trials=1,
                           row_ids=[0] * 30)


def test_candidates_average_repeats_of_one_composition_however_written() -> None:
    from matgenome.simulation import candidates_from_rows

    formulas = ["Li3PS4", "Li6P2S8", "0.75Li2S-0.25P2S5", "Li2O", "Xx9", "LiCl"]
    y = np.array([-4.0, -5.0, -6.0, -9.0, -3.0, np.nan])
    X, values, ids, left_out = candidates_from_rows(formulas, y, list("abcdef"), "magpie")
    assert ids == ["a+b+c", "d"]
    np.testing.assert_allclose(values, [-5.0, -9.0])
    assert X.shape == (2, 132) and left_out == 2


def test_simulation_data_leaves_out_bounds_and_unusable_targets(tmp_path) -> None:
    """The preparation of `matgenome simulate`: exact targets only, repeats averaged, the
    default recipe's features for the target (or the preset given)."""
    from matgenome.labelled import read_labelled
    from matgenome.simulation import simulation_data

    source = tmp_path / "lab.csv"
    source.write_text("formula,sigma\nLi3PS4,1e-4\nLi6P2S8,1e-6\nLi2O,<1e-10\nLiCl,fast\n"
                      "Li6PS5Cl,2e-3\nXx9,1e-3\n")
    data = simulation_data(read_labelled(source, target_column="sigma", log10=True),
                           preset="stoichiometry")
    assert data.row_ids == ["0+1", "4"]
    np.testing.assert_allclose(data.y, [-5.0, np.log10(2e-3)])
    # Li2O (a bound), LiCl (no value) and Xx9 (no features) are left out.
    assert data.left_out == 3
    assert data.X.shape[0] == 2 and data.recipe.features == "stoichiometry"


def test_simulation_data_of_a_dataset_uses_its_row_ids() -> None:
    from matgenome.datasets import load
    from matgenome.labelled import read_labelled
    from matgenome.simulation import simulation_data

    data = simulation_data(read_labelled(dataset="obelix"), preset="stoichiometry")
    frame = load("obelix")
    exact = frame[frame["censor"].eq("")]
    assert set("+".join(data.row_ids).split("+")) == set(exact["id"].astype(str))
    assert data.left_out == len(frame) - sum(len(i.split("+")) for i in data.row_ids)


def test_a_fixed_prior_and_threshold_start_every_trial_from_the_same_rows() -> None:
    X, y = linear_data(60, seed=12)
    prior = np.arange(20)
    result = simulate(
        X, y, small_trees, strategies=("greedy", "cold-thompson-half", "random"), batch_size=4,
        n_iterations=3, n_trials=3, seed=5, initial=prior, threshold=1.0, extend_to=3)
    assert result.target_threshold == pytest.approx(1.0)
    np.testing.assert_array_equal(result.target_mask, y >= 1.0)
    for trial in range(3):
        np.testing.assert_array_equal(result.initial[trial], prior)
    assert (result.pool_size == 40).all()
    assert (result.pool_targets == int((y[20:] >= 1.0).sum())).all()
    for name in result.strategies:
        for seq in result.sequences(name):
            assert seq.min() >= 20 and len(set(seq.tolist())) == seq.size
    with pytest.raises(ValueError, match="distinct"):
        simulate(X, y, small_trees, strategies=("greedy",), initial=[1, 1, 2],
                           n_trials=1)
    with pytest.raises(ValueError, match="no pool"):
        simulate(X, y, small_trees, strategies=("greedy",), initial=np.arange(60),
                           n_trials=1)


def test_picks_carry_the_model_view_and_roles() -> None:
    X, y = linear_data(60, seed=13)
    result = simulate(
        X, y, small_trees, strategies=("greedy", "cold-thompson-half", "random"), n_initial=6,
        batch_size=5, n_iterations=2, n_trials=2, seed=1, extend_to=0)
    for trial in range(2):
        greedy = result.predicted["greedy"][trial]
        # Greedy takes the highest predictions of each batch, in order.
        assert (np.diff(greedy[:5]) <= 1e-12).all() and (result.predicted_sd["greedy"][trial]
                                                          >= 0).all()
        assert result.roles["greedy"][trial] == ("exploit",) * 10
        roles = result.roles["cold-thompson-half"][trial]
        assert set(roles) <= {"cold start", "exploit", "explore"} and len(roles) == 10
        predicted = result.predicted["cold-thompson-half"][trial]
        # Cold-start picks carry no prediction; model-based ones do.
        np.testing.assert_array_equal(np.isnan(predicted),
                                      [r == "cold start" for r in roles])
        assert np.isnan(result.predicted["random"][trial]).all()
        assert result.roles["random"][trial] == ("random",) * 10
    payload = json.loads(json.dumps(result.to_dict(), allow_nan=False))
    assert payload["strategies"]["greedy"]["roles"][0][0] == "exploit"
    assert payload["strategies"]["random"]["predicted"][0][0] is None


def test_a_custom_rule_outside_the_package() -> None:
    from matgenome.ranking import Batch

    def worst(belief, size, rng):
        rows = np.argsort(belief.mean)[:size]
        return Batch(rows, ("explore",) * len(rows))

    X, y = linear_data(50, seed=14)
    result = simulate(X, y, small_trees, strategies=[Strategy("worst", "x",
                                                                        rule=worst)],
                                n_initial=5, batch_size=5, n_iterations=1, n_trials=1,
                                extend_to=0)
    assert result.roles["worst"][0] == ("explore",) * 5
    assert result.settings["strategies"][0]["rule"].endswith("worst")


# ------------------------------------------------------------------ settings object


def test_settings_are_frozen_and_checked_in_library_terms() -> None:
    settings = SimulationSettings(strategies=["greedy", "random"], initial=np.arange(3))
    assert settings.strategies == ("greedy", "random") and settings.initial == (0, 1, 2)
    with pytest.raises(AttributeError):
        settings.n_trials = 5  # type: ignore[misc]
    for bad, message in [
        (dict(n_initial=1), "n_initial must be at least 2"),
        (dict(batch_size=0), "batch_size must be at least 1"),
        (dict(n_trials=0), "n_trials must be at least 1"),
        (dict(n_iterations=0), "n_iterations must be at least 1"),
        (dict(budget=0), "budget must be at least 1"),
        (dict(extend_to=-1), "extend_to must be 0 or more"),
        (dict(objective="largest"), "objective must be 'max' or 'min'"),
        (dict(target_quantile=0.99, top_quantile=0.9), "target_quantile <= top_quantile"),
        (dict(initial=[3]), "at least two distinct rows"),
        (dict(strategies=()), "no strategies"),
        (dict(strategies=("ucb", "ucb")), "unique"),
        (dict(strategies=("greediest",)), "unknown acquisition"),
    ]:
        with pytest.raises(ValueError, match=message):
            SimulationSettings(**bad)


def test_loose_keywords_still_work_with_a_deprecation_warning() -> None:
    X, y = linear_data(50, seed=15)
    options = dict(strategies=("ucb", "random"), n_initial=5, batch_size=2, n_iterations=3,
                   n_trials=2, seed=4, extend_to=2)
    with pytest.warns(DeprecationWarning, match="settings=SimulationSettings"):
        old = simulate_discovery(X, y, BayesianRidge, **options)
    new = simulate_discovery(X, y, BayesianRidge, SimulationSettings(**options))
    assert old.to_dict() == new.to_dict()
    with pytest.raises(ValueError, match="not both"):
        simulate_discovery(X, y, BayesianRidge, SimulationSettings(), n_trials=2)
    with pytest.raises(TypeError, match="n_trails"):
        simulate_discovery(X, y, BayesianRidge, n_trails=2)


def test_the_old_import_paths_still_work() -> None:
    import matgenome
    import matgenome.simulation as simulation

    for name in simulation.__all__:
        assert getattr(simulation, name) is not None
    assert matgenome.simulate is simulate_discovery
    assert simulation.SimulationResult.__module__ == "matgenome.simulation.results"
