"""Shipped datasets load with normalised columns, official splits and merged families."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from matgenome.datasets import (
    DATASETS,
    NORMALISED_COLUMNS,
    data_hash,
    dataset_path,
    list_datasets,
    load,
    normalise_family,
)


def test_obelix_columns_and_censoring() -> None:
    frame = load("obelix")
    assert len(frame) == 599
    assert set(NORMALISED_COLUMNS) <= set(frame.columns)
    raw = pd.read_csv(dataset_path("obelix"), dtype=str)
    cells = raw["Ionic conductivity (S cm-1)"]
    censored_cells = cells.str.startswith("<")
    assert censored_cells.sum() == 37
    assert (frame["censor"].ne("").to_numpy() == censored_cells.to_numpy()).all()
    # Censored rows hold the log10 of the bound, never a parsed number of the raw string.
    assert sorted(frame.loc[frame["censor"].ne(""), "target"].round(6).unique()) == [-10.0, -8.0]
    exact = frame["censor"].eq("")
    np.testing.assert_allclose(
        frame.loc[exact, "target"], np.log10(cells[exact.to_numpy()].astype(float)), rtol=0,
        atol=1e-12)
    assert frame["formula"].tolist() == raw["Reduced Composition"].tolist()
    assert frame["doi"].notna().all()


def test_obelix_official_split_has_no_shared_formula_or_paper() -> None:
    train, test = load("obelix", "train"), load("obelix", "test")
    assert (len(train), len(test)) == (478, 121)
    assert set(train["id"]).isdisjoint(test["id"])
    assert set(train["formula"]).isdisjoint(test["formula"])
    assert set(train["doi"]).isdisjoint(test["doi"])


@pytest.mark.parametrize(
    ("raw", "merged"),
    [("argyrodite", "argyrodite"), ("argyrodites", "argyrodite"), ("Halide", "halide"),
     ("halides", "halide"), ("cholorides", "chloride"), ("chlorides", "chloride"),
     ("NASICON", "NASICON"), ("thio-LISICON", "thio-LISICON"), ("perovskites", "perovskite")],
)
def test_family_spellings_merge(raw: str, merged: str) -> None:
    assert normalise_family(raw) == merged


def test_obelix_family_count_after_merging() -> None:
    families = load("obelix")["family"].dropna().unique()
    assert 35 <= len(families) <= 39
    assert "argyrodites" not in families and "argyrodite" in families


@pytest.mark.parametrize("name", [n for n in DATASETS if n.startswith("matbench")])
def test_matbench_folds(name: str) -> None:
    frame = load(name)
    assert sorted(frame["fold"].unique()) == [0, 1, 2, 3, 4]
    for fold in range(5):
        train = load(name, "train", fold=fold)
        test = load(name, "test", fold=fold)
        assert len(train) + len(test) == len(frame)
        assert set(train["id"]).isdisjoint(test["id"])
        assert (test["fold"] == fold).all()
    if DATASETS[name].task == "classification":
        assert set(frame["target"].unique()) == {0.0, 1.0}


def test_errors_and_listing() -> None:
    with pytest.raises(ValueError, match="unknown dataset"):
        load("nope")
    with pytest.raises(ValueError, match="fold"):
        load("matbench_steels", "test")
    listing = list_datasets()
    assert listing.set_index("name").loc["obelix", "rows"] == 599
    assert listing.set_index("name").loc["matbench_glass", "rows"] == 5680
    assert listing["citation"].str.len().min() > 40


def test_data_hash_changes_with_content() -> None:
    frame = load("matbench_steels")
    changed = frame.copy()
    changed.loc[0, "target"] += 1
    assert data_hash(frame) == data_hash(frame.copy())
    assert data_hash(frame) != data_hash(changed)
