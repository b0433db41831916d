"""Classification targets: the task rule, labels, the calibrated classifier and its card."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from matgenome.classification import (
    TrainedModelClassifier,
    choose_labels,
    detect_task,
    encode_labels,
    label_targets,
)
from matgenome.errors import UsageError
from matgenome.evaluation.metrics import probability_metrics, reliability_table
from matgenome.models.probability import ProbabilityClassifier


@pytest.mark.parametrize(("cells", "task"), [
    (["yes", "no", "yes", ""], "classification"),
    (["True", "false", "TRUE"], "classification"),
    ([0, 1, 1.0, 0.0], "classification"),
    (["glass", "crystal", "glass"], "classification"),
    ([1.5, 2.5, 1.5], "regression"),  # two numbers that are not 0/1 are values
    ([0.1, 0.2, 0.3], "regression"),
    (["<1e-10", "1e-3"], "regression"),  # a bound beside a value
    (["a", "b", "c"], "regression"),
    (["0.1 mS/cm", "2 mS/cm"], "regression"),  # values with units
    (["1e-3", "fast"], "regression"),  # a value beside a word: a typo, not a label
])
def test_two_distinct_labels_make_a_classification_target(cells: list, task: str) -> None:
    assert detect_task(cells) == task


def test_forced_task_wins_and_unknown_task_is_refused() -> None:
    assert detect_task([1.5, 2.5], "classification") == "classification"
    with pytest.raises(UsageError, match="task must be one of"):
        detect_task([0, 1], "binary")


def test_the_rarer_class_is_positive_unless_one_is_named() -> None:
    cells = ["yes", "no", "no", "No", None]
    labels = choose_labels(cells)
    assert labels.positive == "yes" and labels.negative == "no"
    assert labels.counts == {"no": 3, "yes": 1}
    assert labels.chosen_by == "the rarer class"
    named = choose_labels(cells, positive="NO")
    assert named.positive == "no" and named.chosen_by == "given"
    values, errors = encode_labels(cells, named)
    np.testing.assert_array_equal(values[:4], [0.0, 1.0, 1.0, 1.0])
    assert np.isnan(values[4]) and "missing label" in errors[4]
    with pytest.raises(UsageError, match="not one of the labels"):
        choose_labels(cells, positive="maybe")
    with pytest.raises(UsageError, match="exactly two distinct labels"):
        choose_labels(["a", "b", "c"])


def test_equal_counts_prefer_the_true_like_label() -> None:
    assert choose_labels(["no", "yes"]).positive == "yes"
    targets, labels = label_targets([0, 1, 1, 0])
    assert labels.positive == "1"
    np.testing.assert_array_equal(targets.values, [0, 1, 1, 0])


def _separable(n: int = 120, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 3))
    y = (X[:, 0] + 0.3 * rng.normal(size=n) > 0.5).astype(int)
    return X, y


@pytest.mark.parametrize("calibration", ["none", "sigmoid", "isotonic"])
def test_probability_classifier_ranks_and_spreads(calibration: str) -> None:
    X, y = _separable()
    model = ProbabilityClassifier(n_estimators=60, calibration=calibration,
                                  calibration_trees=20, random_state=0).fit(X, y)
    parts = model.predict_uncertainty(X[:10])
    proba = model.predict_proba(X[:10])
    np.testing.assert_allclose(parts["mean"], proba[:, 1], atol=1e-9)
    assert ((parts["mean"] > 0) & (parts["mean"] < 1)).all()
    assert (parts["uncertainty"] >= 0).all() and (parts["noise"] == 0).all()
    assert model.threshold_ == pytest.approx(y.mean())
    test_X, test_y = _separable(200, seed=1)
    p = model.predict_proba(test_X)[:, 1]
    # a feature that sets the class: the probability separates the classes well
    assert p[test_y == 1].mean() > p[test_y == 0].mean() + 0.3
    np.testing.assert_array_equal(model.predict(test_X), (p >= model.threshold_).astype(int))


def test_probability_metrics_and_reliability_by_hand() -> None:
    truth = np.array([1, 1, 0, 0])
    p = np.array([0.9, 0.4, 0.3, 0.6])
    own = np.array([1, 1, 0, 0])  # labels at a lower threshold: all right
    scores = probability_metrics(truth, p, own)
    assert scores["balanced_accuracy"] == pytest.approx(1.0)
    assert scores["balanced_accuracy_at_0.5"] == pytest.approx(0.5)
    expected = -np.mean(np.log([0.9, 0.4, 0.7, 0.4]))
    assert scores["log_loss"] == pytest.approx(expected)
    assert scores["brier"] == pytest.approx(np.mean([0.01, 0.36, 0.09, 0.36]))
    assert scores["roc_auc"] == pytest.approx(0.75)
    table = reliability_table(truth, p, bins=2)
    assert [row["n"] for row in table] == [2, 2]
    assert table[0]["observed_share"] == pytest.approx(0.5)
    assert table[1]["mean_probability"] == pytest.approx(0.75)


@pytest.fixture(scope="module")
def yes_no_table() -> pd.DataFrame:
    from matgenome.datasets import load

    glass = load("matbench_glass").sample(160, random_state=3).reset_index(drop=True)
    return pd.DataFrame({"composition": glass["formula"],
                         "glass": np.where(glass["target"] == 1, "yes", "no")})


def test_train_on_a_yes_no_table_gives_a_classifier_with_its_card(yes_no_table) -> None:
    from matgenome.training import train

    model = train(yes_no_table, "glass", n_estimators=40, positive="yes")
    card = model.card
    assert card["task"] == "classification"
    labels = card["classification"]
    assert labels["positive"] == "yes" and labels["classes"] == ["no", "yes"]
    share = float((yes_no_table["glass"] == "yes").mean())
    assert labels["threshold"] == pytest.approx(share)
    # every candidate x balancing x calibration scored by inner CV on log loss
    scores = card["selection"]["candidates"]
    assert len(scores) == 3 * 2 * 3
    assert card["selection"]["chosen"] == min(scores, key=lambda n: scores[n]["cv_log_loss"])
    frame = model.predict([*yes_no_table["composition"][:3], "Cu50Zr50", "Xx2"]).to_frame()
    assert list(frame.columns[:3]) == ["probability", "predicted_class", "uncertainty"]
    assert frame["error"].iloc[4] != "" and frame["predicted_class"].iloc[4] == ""
    known = yes_no_table["glass"][:3].tolist()
    assert frame["known_label"].iloc[:3].tolist() == known
    assert frame["known_label"].iloc[3] == ""
    expected = np.where(frame["probability"][:4] >= labels["threshold"], "yes", "no")
    assert frame["predicted_class"].iloc[:4].tolist() == expected.tolist()


def test_regression_is_unchanged_for_numeric_targets(yes_no_table) -> None:
    from matgenome.training import train

    values = np.linspace(0, 1, len(yes_no_table))
    model = train(list(yes_no_table["composition"]), values, n_estimators=20,
                  recipe="extra_trees_magpie")
    assert model.card.get("task", "regression") == "regression"
    assert "prediction" in model.predict(["Cu50Zr50"]).to_frame()


def test_trained_model_classifier_keeps_the_classes_of_y(yes_no_table) -> None:
    y = np.where(yes_no_table["glass"] == "yes", 1.0, 0.0)
    model = TrainedModelClassifier(recipe="classifier_magpie", n_estimators=30).fit(
        yes_no_table["composition"], y)
    np.testing.assert_array_equal(model.classes_, [0.0, 1.0])
    proba = model.predict_proba(yes_no_table["composition"][:5])
    assert proba.shape == (5, 2)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    assert model.recipe_ == "classifier_magpie"
    assert set(model.predict(yes_no_table["composition"][:20])) <= {0.0, 1.0}


def test_a_shipped_label_dataset_predicts_its_class_1(yes_no_table) -> None:
    from matgenome.io import TargetValues
    from matgenome.training import train_model

    y = np.where(yes_no_table["glass"] == "yes", 1.0, 0.0)  # 1 = glass former, the majority
    targets = TargetValues(values=y, censor=np.full(len(y), ""), errors=[""] * len(y))
    model, _ = train_model(yes_no_table["composition"], targets, recipe="classifier_magpie",
                           n_estimators=20, card={"target": {"name": "glass forming ability",
                                                             "unit": "label"}})
    labels = model.card["classification"]
    assert labels["positive"] == "1" and labels["positive_chosen_by"] == "the dataset's class 1"
    assert model.card["selection"]["chosen"] == "classifier_magpie"


def test_one_class_fit_with_fixed_classes_for_a_cold_start() -> None:
    from matgenome.models.probability import ProbabilityScorer

    X, _ = _separable(30)
    model = ProbabilityScorer(n_estimators=10, classes=(0.0, 1.0)).fit(X, np.zeros(30))
    mean, spread = model.predict(X[:4], return_std=True)
    assert np.allclose(mean, mean[0]) and (mean < 0.01).all() and (spread == 0).all()
    assert model.predict_trees(X[:4]).shape == (10, 4)
    with pytest.raises(ValueError, match="exactly 2 classes"):
        ProbabilityClassifier(n_estimators=5).fit(X, np.zeros(30))


@pytest.mark.parametrize("command", ["train", "simulate"])
def test_cli_task_and_classifier_choices_come_from_the_classification_modules(
        command: str) -> None:
    from matgenome.classification import TASKS
    from matgenome.cli import build_parser
    from matgenome.selection import CLASSIFIER_CANDIDATES

    child = build_parser(command)._subparsers._group_actions[0].choices[command]
    choices = {a.dest: a.choices for a in child._actions}
    assert tuple(choices["task"]) == TASKS
    if command == "train":
        assert set(CLASSIFIER_CANDIDATES) <= set(choices["recipe"])


def test_a_classifier_recipe_on_values_is_refused_clearly(yes_no_table) -> None:
    from matgenome.training import train

    values = np.linspace(0, 1, len(yes_no_table))
    with pytest.raises(UsageError, match="is a classifier"):
        train(list(yes_no_table["composition"]), values, recipe="classifier_magpie")
    with pytest.raises(UsageError, match="unknown classifier recipe"):
        train(yes_no_table, "glass", recipe="extra_trees_magpie")
