"""Model directories: round trip, and refusal of tampered, truncated or foreign files."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from matgenome.modelfile import (
    CARD_FILE,
    ESTIMATOR_FILE,
    MANIFEST_FILE,
    TREES_FILE,
    ModelFileError,
    TrainedModel,
    load_model,
    save_model,
)
from matgenome.models.calibrated import CalibratedTreesRegressor


class Foreign:
    """A type that is not on the allow-list."""


@pytest.fixture()
def saved(tmp_path: Path) -> tuple[Path, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 4))
    y = X[:, 0] + rng.normal(0, 0.1, 60)
    estimator = CalibratedTreesRegressor(n_estimators=8, random_state=0).fit(X, y)
    path = save_model(TrainedModel(estimator, {"name": "toy"}), tmp_path / "toy")
    return path, X, estimator.predict(X)


def test_round_trip(saved) -> None:
    path, X, expected = saved
    model = load_model(path)
    np.testing.assert_array_equal(model.estimator.predict(X), expected)
    card = json.loads((path / CARD_FILE).read_text())
    assert card["versions"]["scikit-learn"]
    assert (path / "MODEL_CARD.md").read_text().startswith("# Model card: toy")


def test_modified_estimator_is_refused(saved) -> None:
    path = saved[0]
    data = bytearray((path / ESTIMATOR_FILE).read_bytes())
    data[len(data) // 2] ^= 0xFF
    (path / ESTIMATOR_FILE).write_bytes(bytes(data))
    with pytest.raises(ModelFileError, match="SHA-256"):
        load_model(path)


def test_truncated_estimator_is_refused(saved) -> None:
    path = saved[0]
    data = (path / ESTIMATOR_FILE).read_bytes()
    (path / ESTIMATOR_FILE).write_bytes(data[: len(data) // 3])
    with pytest.raises(ModelFileError, match="modified or damaged"):
        load_model(path)


def test_modified_card_is_refused(saved) -> None:
    path = saved[0]
    card = json.loads((path / CARD_FILE).read_text())
    card["metrics"] = {"mae": 0.0}
    (path / CARD_FILE).write_text(json.dumps(card))
    with pytest.raises(ModelFileError, match=CARD_FILE):
        load_model(path)


def test_incompatible_format_is_refused(saved) -> None:
    path = saved[0]
    manifest = json.loads((path / MANIFEST_FILE).read_text())
    manifest["format_version"] = 99
    (path / MANIFEST_FILE).write_text(json.dumps(manifest))
    with pytest.raises(ModelFileError, match="format 99"):
        load_model(path)


def test_missing_and_non_model_directories(tmp_path: Path) -> None:
    with pytest.raises(ModelFileError, match="not found"):
        load_model(tmp_path / "nope")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ModelFileError, match=r"manifest\.json is missing"):
        load_model(tmp_path / "empty")


def test_foreign_types_are_refused_before_loading(tmp_path: Path) -> None:
    path = save_model(TrainedModel({"payload": Foreign()}, {"name": "evil"}), tmp_path / "evil")
    with pytest.raises(ModelFileError, match="Foreign"):
        load_model(path)


def test_refuses_to_overwrite_a_non_model_directory(tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "keep.txt").write_text("x")
    with pytest.raises(ModelFileError, match="refusing"):
        save_model(TrainedModel({}, {}), tmp_path / "data")
    assert (tmp_path / "data" / "keep.txt").read_text() == "x"


def test_training_data_round_trip_and_is_hashed(tmp_path: Path) -> None:
    import pandas as pd

    data = pd.DataFrame({"formula": ["Li2O", "NA"], "target": [-3.0, -10.0],
                         "censor": ["", "<"]})
    path = save_model(TrainedModel({}, {"name": "t"}, training_data=data), tmp_path / "t")
    pd.testing.assert_frame_equal(load_model(path).training_data, data)
    (path / "training_data.csv").write_text("formula,target,censor\nLi2O,5,\n")
    with pytest.raises(ModelFileError, match=r"training_data\.csv"):
        load_model(path)


def test_recipe_model_round_trips_with_its_preset(tmp_path) -> None:
    from matgenome.datasets import load
    from matgenome.selection import OBELIX_PRESET
    from matgenome.target_values import TargetValues
    from matgenome.training import train_model

    train = load("obelix", "train").head(120)
    targets = TargetValues(train["target"].to_numpy(float), train["censor"].to_numpy(str),
                           [""] * len(train))
    model, _ = train_model(train["formula"], targets, recipe="obelix", n_estimators=20, seed=1,
                           censored="drop")
    assert model.card["feature_preset"] == OBELIX_PRESET
    assert model.card["estimator"]["params"]["max_features"] == 0.1
    loaded = load_model(save_model(model, tmp_path / "recipe"))
    prediction = loaded.predict(["Li3PS4", "Li7La3Zr2O12", "Xx2O"])
    np.testing.assert_array_equal(prediction.mean[:2], model.predict(["Li3PS4",
                                                                      "Li7La3Zr2O12"]).mean)
    assert (prediction.std[:2] > 0).all() and prediction.error[2]
    with pytest.raises(ValueError, match="unknown recipe 'matbench_steels'"):
        train_model(train["formula"], targets, recipe="matbench_steels")


def test_loaded_model_carries_its_manifest_hash(saved) -> None:
    import hashlib

    path, _, _ = saved
    model = load_model(path)
    assert model.sha256 == hashlib.sha256((path / MANIFEST_FILE).read_bytes()).hexdigest()
    assert model.name == "toy"


def test_loading_a_model_imports_no_skops_and_leaves_sklearn_alone(saved) -> None:
    """Format 3 needs no skops, and loading changes no scikit-learn global."""
    import subprocess
    import sys

    code = ("import sys\nimport sklearn.utils\nfrom matgenome.modelfile import load_model\n"
            "before = sklearn.utils.all_estimators\n"
            f"load_model({str(saved[0])!r})\n"
            "assert sklearn.utils.all_estimators is before\n"
            "print(sorted(m for m in sys.modules if m.startswith('skops')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "[]"


def test_unwritable_model_directory_names_the_users_path(tmp_path, monkeypatch) -> None:
    import tempfile

    from sklearn.dummy import DummyRegressor

    from matgenome.modelfile import ModelFileError, TrainedModel, save_model

    def refuse(*args, **kwargs):
        raise PermissionError(13, "Permission denied", str(tmp_path / ".model.abc123"))

    monkeypatch.setattr(tempfile, "mkdtemp", refuse)
    with pytest.raises(ModelFileError) as error:
        save_model(TrainedModel(estimator=DummyRegressor(), card={}), tmp_path / "model")
    assert str(tmp_path / "model") in str(error.value)
    assert ".model.abc123" not in str(error.value)


def _rehash(path: Path, name: str) -> None:
    """Record ``name``'s current SHA-256 in the manifest, as a forger would."""
    import hashlib

    manifest = json.loads((path / MANIFEST_FILE).read_text())
    manifest["files"][name] = hashlib.sha256((path / name).read_bytes()).hexdigest()
    (path / MANIFEST_FILE).write_text(json.dumps(manifest))


def test_trees_are_plain_arrays_beside_the_skeleton(saved) -> None:
    path = saved[0]
    assert json.loads((path / MANIFEST_FILE).read_text())["format_version"] == 3
    skeleton = (path / ESTIMATOR_FILE).read_text()
    assert "sklearn.tree._tree.Tree" not in skeleton and '{"$tree":7}' in skeleton
    with np.load(path / TREES_FILE, allow_pickle=False) as trees:
        assert sorted(trees.files) == ["nodes", "table", "values"]
        assert len(trees["table"]) == 8  # one row per tree


def test_modified_trees_are_refused(saved) -> None:
    path = saved[0]
    data = bytearray((path / TREES_FILE).read_bytes())
    data[len(data) // 2] ^= 0xFF
    (path / TREES_FILE).write_bytes(bytes(data))
    with pytest.raises(ModelFileError, match=r"trees\.npz does not match its SHA-256"):
        load_model(path)


def _replace_entry(path: Path, name: str, array: np.ndarray) -> None:
    """Rewrite one array of an npz archive and record the new hash in the manifest."""
    import io
    import zipfile

    with zipfile.ZipFile(path / TREES_FILE) as archive:
        entries = {entry: archive.read(entry) for entry in archive.namelist()}
    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=array.dtype == object)
    entries[name] = buffer.getvalue()
    with zipfile.ZipFile(path / TREES_FILE, "w") as archive:
        for entry, data in entries.items():
            archive.writestr(entry, data)
    _rehash(path, TREES_FILE)


def _tree_array(path: Path, name: str) -> np.ndarray:
    with np.load(path / TREES_FILE, allow_pickle=False) as archive:
        return archive[name].copy()


def test_pickled_object_array_in_trees_is_refused(saved) -> None:
    """An npz entry that would unpickle (and could run code) is refused even with a
    matching hash: the archive is read with allow_pickle=False."""
    path = saved[0]
    _replace_entry(path, "values.npy", np.array([Foreign()], dtype=object))
    with pytest.raises(ModelFileError, match=r"trees\.npz.*allow_pickle=False"):
        load_model(path)


def test_out_of_range_tree_links_are_refused(saved) -> None:
    path = saved[0]
    nodes = _tree_array(path, "nodes")
    inner = np.flatnonzero(nodes["left_child"] != -1)[0]
    nodes["feature"][inner] = 10_000  # would read far beyond the row when predicting
    _replace_entry(path, "nodes.npy", nodes)
    with pytest.raises(ModelFileError, match=r"tree 0 cannot be rebuilt.*out of range"):
        load_model(path)


def test_wrong_tree_layout_is_refused(saved) -> None:
    path = saved[0]
    values = _tree_array(path, "values")
    _replace_entry(path, "values.npy", values[:-1])  # one node's value missing
    with pytest.raises(ModelFileError, match="does not match its node and value arrays"):
        load_model(path)
    table = _tree_array(path, "table")
    table[1, 3] -= 1  # tree 1 one node shorter, tree 2 one longer: totals still match
    table[2, 3] += 1
    _replace_entry(path, "values.npy", values)
    _replace_entry(path, "table.npy", table)
    with pytest.raises(ModelFileError, match="tree 1 cannot be rebuilt"):
        load_model(path)


def test_format_1_directories_still_load(saved) -> None:
    """A directory of format 1 (trees inside model.skops) loads with the same predictions."""
    from matgenome.modelfile import SKOPS_ESTIMATOR_FILE, import_skops_io

    path, X, expected = saved
    model = load_model(path)
    import_skops_io().dump(model.estimator, path / SKOPS_ESTIMATOR_FILE)
    (path / TREES_FILE).unlink()
    (path / ESTIMATOR_FILE).unlink()
    manifest = json.loads((path / MANIFEST_FILE).read_text())
    manifest["format_version"] = 1
    del manifest["files"][TREES_FILE], manifest["files"][ESTIMATOR_FILE]
    (path / MANIFEST_FILE).write_text(json.dumps(manifest))
    _rehash(path, SKOPS_ESTIMATOR_FILE)
    np.testing.assert_array_equal(load_model(path).estimator.predict(X), expected)


def test_saved_forest_classifier_predicts_as_in_memory(tmp_path: Path) -> None:
    from sklearn.calibration import CalibratedClassifierCV
    from sklearn.ensemble import ExtraTreesClassifier

    rng = np.random.default_rng(3)
    X = rng.normal(size=(80, 5))
    y = (X[:, 0] + rng.normal(0, 0.5, 80) > 0).astype(int)
    estimator = CalibratedClassifierCV(ExtraTreesClassifier(n_estimators=6, random_state=0),
                                       cv=3).fit(X, y)
    loaded = load_model(save_model(TrainedModel(estimator, {"name": "c"}), tmp_path / "c"))
    np.testing.assert_allclose(loaded.estimator.predict_proba(X), estimator.predict_proba(X),
                               rtol=1e-12, atol=0)
