"""matgenome.evaluation.metrics: hand-computed regression, classification, censored and
uncertainty metrics."""

from __future__ import annotations

import importlib
import math

import numpy as np
import pytest

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
    censor = ["", "", "<", "<"]  # -2 upper bound: class unknown, dropped
    scores = ev.conductivity_classification_metrics(y_true, y_pred, censor)
    assert scores["n"] == 3
    assert scores["accuracy"] == pytest.approx(2 / 3)
    assert scores["roc_auc"] == pytest.approx(1.0)


def test_conductivity_view_keeps_lower_bounds_above_threshold_as_positives() -> None:
    y_true = [-3.0, -5.0, -2.0, -6.0]
    y_pred = [-3.5, -5.5, -3.0, -5.0]
    censor = ["", "", ">", ">"]  # > -6: class unknown, dropped; > -2: a fast conductor
    scores = ev.conductivity_classification_metrics(y_true, y_pred, censor)
    assert scores["n"] == 3
    assert scores["accuracy"] == pytest.approx(1.0)


def test_hinge_mae_counts_each_bound_in_its_direction() -> None:
    # exact |1|; upper bound -10 predicted -9: 1 above; lower bound 2 predicted 1: 1 below;
    # upper bound respected: 0.
    error = ev.hinge_mae([0.0, -10.0, 2.0, -10.0], [1.0, -9.0, 1.0, -11.0],
                         ["", "<", ">", "<"])
    assert error == pytest.approx(3 / 4)
    scores = ev.censored_metrics([-10.0, 2.0, -10.0], [-9.0, 1.0, -11.0], ["<", ">", "<"])
    assert scores["fraction_below_bound"] == pytest.approx(1 / 2)
    assert scores["fraction_above_bound"] == pytest.approx(0.0)
    assert scores["mean_excess"] == pytest.approx(2 / 3)


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


def test_interval_coverage_of_gaussian_errors_matches_the_nominal_levels() -> None:
    from matgenome.evaluation.metrics import CALIBRATION_LEVELS, interval_coverage

    z = np.random.default_rng(0).standard_normal(200_000)
    observed = interval_coverage(np.append(z, [np.nan, np.inf]), CALIBRATION_LEVELS)
    np.testing.assert_allclose(observed, CALIBRATION_LEVELS, atol=0.005)
    assert np.isnan(interval_coverage([], [0.5])).all()


def test_the_calibration_figure_shows_the_metric_it_reports() -> None:
    pytest.importorskip("matplotlib")
    from matgenome.evaluation.metrics import uncertainty_metrics
    from matgenome.plots import calibration_figure

    rng = np.random.default_rng(1)
    y_true = rng.normal(size=300)
    y_pred = y_true + rng.normal(scale=2.0, size=300)  # over-confident: std 1 for error 2
    std = np.ones(300)
    area = uncertainty_metrics(y_true, y_pred, std)["miscalibration_area"]
    title = calibration_figure(y_true, y_pred, std).axes[0].get_title()
    assert f"{area:.3f}" in title
    assert area > 0.1
