"""matgenome.evaluation.splits: every protocol keeps a composition (and a group) on one side."""

from __future__ import annotations

import importlib

import numpy as np
import pandas as pd

# ``matgenome.evaluation`` is also a function exported by the package: import the module.
ev = importlib.import_module("matgenome.evaluation")


def test_composition_key_merges_equivalent_formulas() -> None:
    keys = ev.composition_labels(["Li2O", "OLi2", "Li4O2", "Li0.5O0.25", "LiO"])
    assert len(set(keys[:4])) == 1
    assert keys[4] != keys[0]


def test_kfold_keeps_every_composition_on_one_side(duplicated_table: pd.DataFrame) -> None:
    frame = duplicated_table
    keys = ev.composition_labels(frame["formula"].tolist())
    splits = ev.kfold_splits(keys, n_splits=4, random_state=1)
    assert sorted(np.concatenate([test for _, test in splits]).tolist()) == list(range(len(frame)))
    for train, test in splits:
        assert ev.check_leakage(keys, train, test).clean
        assert not set(keys[train]) & set(keys[test])


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
