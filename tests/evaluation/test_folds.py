"""matgenome.evaluation.folds and baselines: what each fold held out, the merged-groups
warning, leave-one-group-out with the linking compositions dropped, and the baselines."""

from __future__ import annotations

import importlib
import json
import warnings

import numpy as np
import pandas as pd
import pytest
from sklearn.dummy import DummyRegressor

# ``matgenome.evaluation`` is also a function exported by the package: import the module.
ev = importlib.import_module("matgenome.evaluation")


def linked_table() -> pd.DataFrame:
    """30 rows in 6 families of 5; families a, b and c are linked by shared compositions
    (b's first row repeats a composition of a, c's first row one of b), so merging them
    makes one unit of 15 rows, half of the table (with 4 folds, one fold)."""
    formulas = [f"Li{i + 1}Cl" for i in range(30)]
    families = [name for name in "abcdef" for _ in range(5)]
    formulas[5] = "LiCl"  # = Li1Cl of family a, in family b
    formulas[10] = "Li14Cl2"  # = Li7Cl of family b, in family c (another spelling)
    rng = np.random.default_rng(0)
    return pd.DataFrame({"formula": formulas, "family": families,
                         "target": rng.normal(size=30)})


def zeros(formulas: list[str]) -> np.ndarray:
    return np.zeros((len(formulas), 1))


def test_merged_groups_holding_most_rows_are_warned_about_and_recorded(tmp_path) -> None:
    frame = linked_table()
    with pytest.warns(ev.MergedGroupsWarning, match=r"holds 50% of the rows \(15 of 30"):
        result = ev.evaluate(frame, DummyRegressor, protocol="group", group_column="family",
                             features=zeros, n_splits=4, baselines=False,
                             output=tmp_path / "r.json")
    [big] = [fold for fold in result.folds if fold["test_rows"] == 15]
    assert big["merged_groups"] == 3 and big["test_groups"] == 3
    assert sorted(big["test_group_names"]) == ["a", "b", "c"]
    assert len(result.warnings) == 1
    assert result.warnings[0].startswith(f"fold {big['fold']} holds 50% of the rows")
    assert "3 family groups linked by shared compositions were merged" in result.warnings[0]
    stored = json.loads((tmp_path / "r.json").read_text())
    assert stored["warnings"] == result.warnings
    assert stored["folds"][big["fold"]]["merged_groups"] == 3
    assert "warning: fold" in result.table()
    # The other folds hold unlinked families only.
    assert all(f["merged_groups"] == 0 for f in result.folds if f is not big)


def test_linked_drop_keeps_groups_apart_and_drops_linking_rows_from_training_only() -> None:
    frame = linked_table()
    keys = ev.composition_labels(frame["formula"].tolist())
    families = frame["family"].to_numpy()
    with warnings.catch_warnings():
        warnings.simplefilter("error", ev.MergedGroupsWarning)
        result = ev.evaluate(frame, DummyRegressor, protocol="logo", group_column="family",
                             features=zeros, linked="drop", baselines=False)
    assert result.warnings == []
    assert result.protocol["linked"] == "drop"
    splits = ev.leave_group_out_splits(keys, families, linked="drop")
    assert len(splits) == 6  # one fold per family, none merged
    removed = []
    for (train, test), fold in zip(splits, result.folds, strict=True):
        # The test set is exactly one family, all of its rows.
        assert len(set(families[test])) == 1
        assert set(test) == set(np.flatnonzero(families == families[test[0]]))
        assert not set(keys[train]) & set(keys[test])
        assert ev.check_leakage(keys, train, test, families.tolist()).clean
        left_out = sorted(set(range(30)) - set(train) - set(test))
        # Only rows whose composition is in the test family are left out of training.
        assert set(keys[left_out]) <= set(keys[test])
        assert fold["linking_rows_removed"] == len(left_out)
        assert fold["train_rows"] == len(train) and fold["test_rows"] == len(test)
        removed.append(len(left_out))
    # a loses the LiCl row of b; b loses a's Li1Cl and c's Li14Cl2; c loses b's Li7Cl.
    assert removed == [1, 2, 1, 0, 0, 0]
    # The same with grouped K-fold.
    for train, test in ev.group_kfold_splits(keys, families, n_splits=3, linked="drop"):
        assert not set(keys[train]) & set(keys[test])


def test_leave_group_out_holds_out_only_groups_with_enough_exact_rows() -> None:
    frame = linked_table()
    frame["censor"] = ["<"] * 3 + [""] * 27  # family a has 2 exact rows
    splits = ev.make_splits(frame, "logo", group_column="family", linked="drop",
                            min_group_rows=3)
    held = [sorted(set(frame["family"].to_numpy()[test])) for _, test in splits]
    assert held == [["b"], ["c"], ["d"], ["e"], ["f"]]
    with pytest.raises(ValueError, match="no group has 6 or more rows"):
        ev.make_splits(frame, "logo", group_column="family", linked="drop", min_group_rows=6)
    # Merged, the linked families a, b and c (12 exact rows) are held out together.
    [(train, test)] = ev.make_splits(frame, "logo", group_column="family", min_group_rows=6)
    assert sorted(set(frame["family"].to_numpy()[test])) == ["a", "b", "c"]
    assert len(train) + len(test) == 30
    with pytest.raises(ValueError, match="linked must be one of"):
        ev.make_splits(frame, "group", group_column="family", linked="split")
    with pytest.raises(ValueError, match="applies to the protocols 'group' and 'logo'"):
        ev.make_splits(frame, "kfold", linked="drop")
    with pytest.raises(ValueError, match="group column 'paper' is not in the table"):
        ev.make_splits(frame, "group", group_column="paper")


def test_every_fold_reports_rows_and_groups_on_each_side(duplicated_table) -> None:
    frame = duplicated_table.assign(censor=[""] * 22 + ["<", "<"])
    result = ev.evaluate(frame, DummyRegressor, protocol="kfold", features=zeros,
                         n_splits=4, baselines=False)
    keys = ev.composition_labels(frame["formula"].tolist())
    splits = ev.kfold_splits(keys, 4, random_state=0)
    assert len(result.folds) == 4
    for (train, test), fold in zip(splits, result.folds, strict=True):
        assert fold["group_kind"] == "composition"
        assert fold["train_rows"] == len(train) and fold["test_rows"] == len(test)
        assert fold["train_groups"] == len(set(keys[train]))
        assert fold["test_groups"] == len(set(keys[test]))
        assert fold["train_exact_rows"] == int(np.isin(train, np.arange(22)).sum())
        assert fold["test_exact_rows"] == int(np.isin(test, np.arange(22)).sum())
        assert fold["linking_rows_removed"] == 0
    assert sum(f["test_rows"] for f in result.folds) == 24
    assert sum(f["test_groups"] for f in result.folds) == 20  # 20 distinct compositions
    # Hand count on explicit splits: groups of a column, and clusters for loco.
    table = pd.DataFrame({"formula": ["Li2O", "Li2S", "LiCl", "LiF", "LiBr", "LiI"],
                          "target": [1.0, 2.0, 3.0, 4.0, 5.0, 6.0],
                          "paper": ["p", "p", "q", "q", "r", "r"]})
    split = (np.array([0, 1, 2, 3]), np.array([4, 5]))
    [fold] = ev.run_protocol(table, np.zeros((6, 1)), DummyRegressor, [split],
                             group_column="paper").folds
    assert (fold["train_rows"], fold["test_rows"]) == (4, 2)
    assert (fold["train_groups"], fold["test_groups"]) == (2, 1)
    assert fold["test_group_names"] == ["r"]
    assert fold["mae"] == pytest.approx(np.mean(np.abs([5.0, 6.0] - np.mean([1, 2, 3, 4]))))


def test_baselines_are_scored_per_fold_and_pooled(tmp_path) -> None:
    formulas = ["Li2O", "Li2S", "LiCl", "LiF", "LiBr", "LiI", "Li3N", "Li3P"]
    frame = pd.DataFrame({"formula": formulas,
                          "target": [1.0, 2.0, 10.0, -50.0, 3.0, 5.0, 4.0, 0.0],
                          "censor": ["", "", "", "<", "", "", "", ""]})
    splits = [(np.array([0, 1, 2, 3]), np.array([4, 5])),
              (np.array([4, 5, 6, 7]), np.array([0, 1, 2, 3]))]
    result = ev.run_protocol(frame, np.zeros((8, 1)), DummyRegressor, splits,
                             baselines=True, random_state=3)
    first, second = result.folds
    # Fold 0: median of the exact training rows 1, 2, 10 (the bound -50 is left out) is 2;
    # test rows 3 and 5 -> MAE (1 + 3) / 2.
    assert first["baselines"]["training_median"]["value"] == pytest.approx(2.0)
    assert first["baselines"]["training_median"]["mae"] == pytest.approx(2.0)
    # Fold 1: median of 3, 5, 4, 0 is 3.5; exact test rows 1, 2, 10 -> (2.5 + 1.5 + 6.5) / 3.
    assert second["baselines"]["training_median"]["value"] == pytest.approx(3.5)
    assert second["baselines"]["training_median"]["mae"] == pytest.approx(3.5)
    summary = result.baselines["training_median"]
    assert summary["mae"]["mean"] == pytest.approx(2.75)
    assert summary["pooled_mae"] == pytest.approx((1 + 3 + 2.5 + 1.5 + 6.5) / 5)
    # Extra trees: plain scikit-learn on Magpie descriptors with the run's seed.
    from sklearn.ensemble import ExtraTreesRegressor

    X = ev.baselines.baseline_features(formulas)
    trees = ExtraTreesRegressor(500, random_state=3).fit(X[[0, 1, 2]], [1.0, 2.0, 10.0])
    expected = np.mean(np.abs(trees.predict(X[[4, 5]]) - [3.0, 5.0]))
    assert first["baselines"]["extra_trees"]["mae"] == pytest.approx(expected)
    assert "extra trees MAE" in result.table() and "training median MAE" in result.table()
    stored = json.loads(result.write_json(tmp_path / "r.json").read_text())
    assert stored["baselines"]["training_median"]["pooled_mae"] == pytest.approx(2.9)
    assert stored["folds"][1]["baselines"]["training_median"]["value"] == pytest.approx(3.5)
    loaded = ev.EvaluationResult.read_json(tmp_path / "r.json")
    assert loaded.folds == stored["folds"] and loaded.baselines == stored["baselines"]
    # Off: no baseline columns, fields or table entries.
    plain = ev.run_protocol(frame, np.zeros((8, 1)), DummyRegressor, splits)
    assert plain.baselines == {} and "baselines" not in plain.folds[0]
    assert "baseline_training_median" not in plain.predictions


def test_rows_without_a_group_do_not_count_as_merged_groups() -> None:
    keys = ev.composition_labels(["Li2O", "Li2S", "Li2O", "LiCl", "LiCl"])
    groups = ["a", "a", None, "b", "c"]  # the ungrouped Li2O joins a; b and c share LiCl
    splits = [(np.array([3, 4]), np.array([0, 1, 2])), (np.array([0, 1, 2]), np.array([3, 4]))]
    assert ev.merged_group_counts(splits, keys, groups) == [0, 2]
