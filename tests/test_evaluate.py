"""Tests of matgenome.evaluation: metrics, leakage-free splits and result files."""

from __future__ import annotations

import importlib
import json
import math
from typing import ClassVar

import numpy as np
import pandas as pd
import pytest
from sklearn.dummy import DummyRegressor
from sklearn.linear_model import LinearRegression

# ``matgenome.evaluation`` is also a function exported by the package: import the module.
ev = importlib.import_module("matgenome.evaluation")


def test_regression_metrics_match_hand_computed_values() -> None:
    scores = ev.regression_metrics([1.0, 2.0, 3.0, 4.0], [1.5, 2.0, 2.0, 5.0])
    # errors 0.5, 0, -1, 1: MAE 2.5/4, RMSE sqrt(2.25/4), SS_res 2.25, SS_tot 5
    assert scores["mae"] == pytest.approx(0.625)
    assert scores["rmse"] == pytest.approx(0.75)
    assert scores["r2"] == pytest.approx(1 - 2.25 / 5)
    # predictions 1.5, 2, 2, 5 have ranks 1, 2.5, 2.5, 4
    assert scores["spearman"] == pytest.approx(np.corrcoef([1, 2, 3, 4], [1, 2.5, 2.5, 4])[0, 1])
    assert scores["n"] == 4


def test_classification_metrics_match_hand_computed_values() -> None:
    truth = [1, 1, 0, 0, 0]
    score = [0.9, 0.4, 0.6, 0.2, 0.1]
    scores = ev.classification_metrics(truth, score)
    # pairs (pos, neg): 0.9 beats all 3; 0.4 beats 0.2 and 0.1 -> 5 of 6
    assert scores["roc_auc"] == pytest.approx(5 / 6)
    # labels 1, 0, 1, 0, 0: recall of positives 1/2, of negatives 2/3
    assert scores["balanced_accuracy"] == pytest.approx((1 / 2 + 2 / 3) / 2)
    assert scores["accuracy"] == pytest.approx(3 / 5)
    # TP 1, TN 2, FP 1, FN 1
    assert scores["mcc"] == pytest.approx((1 * 2 - 1 * 1) / math.sqrt(2 * 2 * 3 * 3))


def test_conductivity_view_keeps_censored_rows_below_threshold_as_negatives() -> None:
    y_true = [-3.0, -5.0, -10.0, -2.0]
    y_pred = [-3.5, -3.9, -6.0, -4.5]
    censored = [False, False, True, True]  # -2 bound: class unknown, dropped
    scores = ev.conductivity_classification_metrics(y_true, y_pred, censored)
    assert scores["n"] == 3
    assert scores["accuracy"] == pytest.approx(2 / 3)
    assert scores["roc_auc"] == pytest.approx(1.0)


def test_censored_metrics_count_predictions_at_or_below_the_bound() -> None:
    scores = ev.censored_metrics([-10.0, -10.0, -8.0], [-11.0, -9.0, -8.0])
    assert scores["fraction_below_bound"] == pytest.approx(2 / 3)
    assert scores["mean_excess"] == pytest.approx(1 / 3)


def test_uncertainty_metrics_coverage_and_calibration() -> None:
    rng = np.random.default_rng(0)
    y_std = rng.uniform(0.5, 2.0, 20000)
    y_true = rng.normal(0.0, y_std)
    scores = ev.uncertainty_metrics(y_true, np.zeros_like(y_true), y_std)
    assert scores["coverage_68"] == pytest.approx(0.68, abs=0.01)
    assert scores["coverage_95"] == pytest.approx(0.95, abs=0.01)
    assert scores["miscalibration_area"] < 0.01
    assert scores["spearman_error_std"] > 0.3
    # Intervals ten times too narrow cover almost nothing.
    narrow = ev.uncertainty_metrics(y_true, np.zeros_like(y_true), y_std / 10)
    assert narrow["coverage_68"] < 0.1
    assert narrow["miscalibration_area"] > 0.3


def test_uncertainty_metrics_hand_computed_coverage() -> None:
    # |z| = 0.5, 1.5, 3: only the first lies in the 68% interval (|z| <= 0.994).
    scores = ev.uncertainty_metrics([0.5, 1.5, 3.0], [0.0, 0.0, 0.0], [1.0, 1.0, 1.0])
    assert scores["coverage_68"] == pytest.approx(1 / 3)
    assert scores["coverage_95"] == pytest.approx(2 / 3)


def test_composition_key_merges_equivalent_formulas() -> None:
    keys = ev.composition_labels(["Li2O", "OLi2", "Li4O2", "Li0.5O0.25", "LiO"])
    assert len(set(keys[:4])) == 1
    assert keys[4] != keys[0]


def _duplicated_table() -> pd.DataFrame:
    formulas = [f"Li{i}O" for i in range(1, 21)]
    formulas += ["Li1O", "OLi2", "Li6O2", "Li8O2"]  # duplicates in other spellings
    return pd.DataFrame({"formula": formulas, "target": np.arange(len(formulas), dtype=float)})


def test_kfold_keeps_every_composition_on_one_side() -> None:
    frame = _duplicated_table()
    keys = ev.composition_labels(frame["formula"].tolist())
    splits = ev.kfold_splits(keys, n_splits=4, random_state=1)
    assert sorted(np.concatenate([test for _, test in splits]).tolist()) == list(range(len(frame)))
    for train, test in splits:
        assert ev.check_leakage(keys, train, test).clean
        assert not set(keys[train]) & set(keys[test])


def test_planted_leak_is_detected_and_refused() -> None:
    frame = _duplicated_table()
    keys = ev.composition_labels(frame["formula"].tolist())
    train, test = np.arange(0, 20), np.arange(20, 24)  # Li1O, Li2O... are in both
    report = ev.check_leakage(keys, train, test)
    assert not report.clean
    assert len(report.shared_compositions) == 4
    assert "4 compositions" in report.describe()
    with pytest.raises(ValueError, match="shared between train and test"):
        ev.run_protocol(frame, frame[["target"]].to_numpy(), DummyRegressor, [(train, test)])


def test_group_kfold_by_family_never_splits_a_family() -> None:
    rng = np.random.default_rng(3)
    families = rng.choice(["garnet", "NASICON", "LGPS", "argyrodite", "perovskite", "oxide"], 60)
    formulas = [f"Li{i + 1}La3Zr2O12" for i in range(60)]
    families[5], formulas[5] = "oxide", formulas[0]  # one composition in two families
    keys = ev.composition_labels(formulas)
    splits = ev.group_kfold_splits(keys, families.tolist(), n_splits=3, random_state=0)
    for train, test in splits:
        report = ev.check_leakage(keys, train, test, families.tolist())
        assert report.clean, report.describe()
    # The shared composition ties the two families into one unit.
    units = ev.connected_groups(keys, families.tolist())
    same_family = families == families[0]
    assert (units[same_family] == units[0]).all()
    assert units[0] == units[5]


def test_missing_groups_fall_back_to_the_composition() -> None:
    keys = ev.composition_labels(["Li2O", "Li2S", "Li2O", "Li3N"])
    units = ev.connected_groups(keys, [None, np.nan, "paper", pd.NA])
    assert units[0] == units[2]  # same composition
    assert len(set(units.tolist())) == 3


def test_loco_holds_out_each_descriptor_cluster_once() -> None:
    rng = np.random.default_rng(0)
    centres = np.array([[0.0, 0.0], [10.0, 0.0], [0.0, 10.0]])
    X = np.vstack([c + rng.normal(0, 0.3, (10, 2)) for c in centres])
    formulas = [f"Li{i + 1}O" for i in range(30)]
    keys = ev.composition_labels(formulas)
    splits = ev.cluster_splits(keys, X, n_clusters=3, random_state=0)
    tests = sorted(sorted(test.tolist()) for _, test in splits)
    assert tests == [list(range(0, 10)), list(range(10, 20)), list(range(20, 30))]


def test_make_splits_for_official_protocols() -> None:
    frame = pd.DataFrame(
        {
            "formula": ["Li2O", "Li2S", "LiCl", "LiF"],
            "target": [1.0, 2.0, 3.0, 4.0],
            "split": ["train", "train", "test", "train"],
            "fold": [0, 1, 0, 1],
        }
    )
    [(train, test)] = ev.make_splits(frame, "obelix")
    assert test.tolist() == [2] and train.tolist() == [0, 1, 3]
    folds = ev.make_splits(frame, "matbench")
    assert [t.tolist() for _, t in folds] == [[0, 2], [1, 3]]


class _CensorAware(DummyRegressor):
    __metadata_request__fit: ClassVar[dict[str, bool]] = {"censored": True}

    def fit(self, X, y, censored=None):
        self.seen_censored_ = None if censored is None else int(np.sum(censored))
        return super().fit(X, y)


def test_run_protocol_scores_uncensored_rows_and_writes_json(tmp_path) -> None:
    n = 40
    rng = np.random.default_rng(0)
    X = rng.normal(size=(n, 3))
    y = X @ np.array([1.0, -2.0, 0.5]) + rng.normal(0, 0.1, n)
    censored = np.zeros(n, bool)
    censored[[3, 17, 29]] = True
    frame = pd.DataFrame(
        {"formula": [f"Li{i + 1}Cl" for i in range(n)], "target": y, "censored": censored}
    )
    keys = ev.composition_labels(frame["formula"].tolist())
    splits = ev.kfold_splits(keys, 4, random_state=0)
    result = ev.run_protocol(frame, X, LinearRegression, splits, dataset="toy",
                             protocol={"name": "kfold"})
    assert result.metrics["regression"]["mae"]["mean"] < 0.2
    assert result.metrics["n_censored"]["mean"] == pytest.approx(0.75)
    assert len(result.predictions) == n
    # Hand check of one fold's MAE from the stored predictions.
    fold0 = result.predictions[(result.predictions["fold"] == 0) & ~result.predictions["censored"]]
    assert result.fold_metrics[0]["regression"]["mae"] == pytest.approx(
        np.mean(np.abs(fold0["y_pred"] - fold0["y_true"]))
    )
    aware = ev.run_protocol(frame, X, _CensorAware, splits)
    assert aware.model["class"].endswith("_CensorAware")

    path = result.write_json(tmp_path / "result.json")
    data = json.loads(path.read_text())
    assert data["data_sha256"] == ev.table_hash(frame)
    assert set(data["versions"]) >= {"python", "numpy", "sklearn", "pymatgen", "matminer",
                                      "matgenome"}
    loaded = ev.EvaluationResult.read_json(path)
    assert loaded.data_hash == result.data_hash
    assert loaded.metrics == data["metrics"]
    assert loaded.metrics["regression"]["mae"]["mean"] == pytest.approx(
        result.metrics["regression"]["mae"]["mean"]
    )
    assert np.allclose(loaded.predictions["y_pred"], result.predictions["y_pred"])
    assert not list(tmp_path.glob("*.tmp"))
    assert "regression.mae" in result.table()


def test_data_hash_changes_with_the_data() -> None:
    frame = pd.DataFrame({"formula": ["Li2O", "LiCl"], "target": [1.0, 2.0]})
    changed = frame.assign(target=[1.0, 2.5])
    assert ev.table_hash(frame) == ev.table_hash(frame.copy())
    assert ev.table_hash(frame) != ev.table_hash(changed)


def test_fit_model_drops_censored_rows_for_plain_models() -> None:
    X = np.arange(6, dtype=float).reshape(-1, 1)
    y = np.array([1.0, 1.0, 1.0, 1.0, -10.0, -10.0])
    model = ev.fit_model(DummyRegressor(), X, y, np.array([0, 0, 0, 0, 1, 1], bool))
    assert model.predict(X[:1])[0] == pytest.approx(1.0)
    aware = ev.fit_model(_CensorAware(), X, y, np.array([0, 0, 0, 0, 1, 1], bool))
    assert aware.seen_censored_ == 2


# ------------------------------------------------------------- estimators used by evaluation


def test_censored_regressor_strategies_place_bounds_as_documented() -> None:
    from matgenome.models.censored import CensoredRegressor

    X = np.linspace(0, 1, 40).reshape(-1, 1)
    y = 2 * X.ravel()
    censored = np.zeros(40, bool)
    censored[:5] = True
    y[:5] = -10.0  # bounds far below the trend
    expected = {"bound": -10.0, "offset": -11.0}
    for strategy, value in expected.items():
        model = CensoredRegressor(LinearRegression(), strategy=strategy, offset=1.0)
        model.fit(X, y, censored=censored)
        assert np.allclose(model.imputed_targets_, value)
    iterative = CensoredRegressor(LinearRegression(), strategy="iterative").fit(X, y, censored)
    assert np.all(iterative.imputed_targets_ <= -10.0)
    tobit = CensoredRegressor(LinearRegression(), strategy="tobit", noise_std=1.0)
    tobit.fit(X, y, censored)
    assert np.all(tobit.imputed_targets_ < -10.0)  # E[Y | Y < b] lies below b
    dropped = CensoredRegressor(LinearRegression()).fit(X, y, censored)
    assert dropped.estimator_.coef_[0] == pytest.approx(2.0)


def test_calibrated_trees_cover_held_out_rows_and_split_uncertainty() -> None:
    from sklearn.base import clone

    from matgenome.models.calibrated import CalibratedTreesRegressor, fit_variance_model

    rng = np.random.default_rng(1)
    X = rng.uniform(-2, 2, size=(400, 3))
    y = np.sin(X[:, 0]) * 2 + rng.normal(0, 0.4, 400)
    model = CalibratedTreesRegressor(n_estimators=60, calibration="cv", random_state=0)
    clone(model).get_params()
    model.fit(X[:300], y[:300])
    parts = model.predict_uncertainty(X[300:])
    assert np.allclose(parts["uncertainty"] ** 2, parts["epistemic"] ** 2 + parts["noise"] ** 2)
    scores = ev.uncertainty_metrics(y[300:], parts["mean"], parts["uncertainty"])
    assert 0.55 <= scores["coverage_68"] <= 0.85
    assert 0.25 <= model.noise_std_ <= 0.6
    # Residuals drawn with std 0.5 everywhere: the fit puts it all in the noise term.
    residual = np.random.default_rng(2).normal(0, 0.5, 5000)
    scale, noise = fit_variance_model(residual, np.full(5000, 0.1))
    assert np.hypot(scale * 0.1, noise) == pytest.approx(0.5, rel=0.05)


def test_hurdle_regressor_predicts_zero_for_the_zero_class() -> None:
    from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor

    from matgenome.models.hurdle import HurdleRegressor

    X = np.arange(20, dtype=float).reshape(-1, 1)
    y = np.where(X.ravel() < 10, 0.0, X.ravel() / 4)
    model = HurdleRegressor(DecisionTreeClassifier(), DecisionTreeRegressor(), "sqrt").fit(X, y)
    assert np.allclose(model.predict(X), y)
    # One side only (no metals in the data): that side is predicted everywhere.
    gapped = HurdleRegressor(DecisionTreeClassifier(), DecisionTreeRegressor()).fit(X, y + 1)
    np.testing.assert_allclose(gapped.predict(X), y + 1)
    metals = HurdleRegressor(DecisionTreeClassifier(), DecisionTreeRegressor()).fit(X, 0 * y)
    np.testing.assert_allclose(metals.predict(X), 0.0)


def test_prior_balanced_classifier_moves_threshold_to_the_prior() -> None:
    from sklearn.dummy import DummyClassifier

    from matgenome.models.classify import PriorBalancedClassifier

    X = np.zeros((10, 1))
    y = np.array([1] * 7 + [0] * 3)
    model = PriorBalancedClassifier(DummyClassifier(strategy="prior")).fit(X, y)
    # p = 0.7 equals the prior of class 1, so it maps to exactly 0.5.
    assert model.predict_proba(X[:1])[0, 1] == pytest.approx(0.5)
    assert model.predict(X[:1])[0] == 1


def test_evaluate_entry_point_on_a_table(tmp_path) -> None:
    rng = np.random.default_rng(4)
    X = rng.normal(size=(30, 2))
    frame = pd.DataFrame({"formula": [f"Na{i + 1}Cl" for i in range(30)],
                          "target": X @ np.array([1.0, 1.0]),
                          "family": ["a", "b", "c"] * 10})
    result = ev.evaluate(frame, LinearRegression, protocol="group", group_column="family",
                         features=X, n_splits=3, output=tmp_path / "r.json")
    assert result.protocol["name"] == "group"
    assert result.metrics["regression"]["mae"]["mean"] < 1e-6
    assert (tmp_path / "r.json").exists()
    assert "regression.mae" in result.table()


def test_evaluate_leaves_out_formulas_that_train_rejects() -> None:
    good = ["Li2O", "Li3N", "LiCl", "LiBr", "LiI", "Li2S", "Li3P", "LiF", "Li2Se", "Li3PS4"]
    frame = pd.DataFrame({"formula": [*good, "Li6PS5Cl)", "Li2S-P2S5"],
                          "target": np.arange(12, dtype=float)})
    result = ev.evaluate(frame, model=DummyRegressor, protocol="kfold", n_splits=2,
                         features=lambda formulas: np.zeros((len(formulas), 1)))
    scored = set(result.predictions["formula"])
    assert scored == set(good)
    assert "2 rows left out (invalid formula), e.g. row 10: invalid formula 'Li6PS5Cl)'" in (
        result.notes[0])


def test_evaluation_plot_labels_come_from_the_target() -> None:
    import argparse

    from matgenome.cli.model import _evaluation_label
    from matgenome.plots import parity_figure

    label = _evaluation_label(argparse.Namespace(data="matbench_expt_gap"))
    assert label == "experimental band gap (eV)"
    assert _evaluation_label(argparse.Namespace(data="obelix")) == "log10(σ / S cm⁻¹)"
    axes = parity_figure([1.0, 2.0], [1.1, 1.9], quantity=label).axes[0]
    assert axes.get_xlabel() == "Measured experimental band gap (eV)"
    assert "σ" not in axes.get_ylabel()
