"""Model format 3: the estimator as JSON data, refusal of forged files, older formats."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest

from matgenome.modelfile import (
    ESTIMATOR_FILE,
    MANIFEST_FILE,
    SKOPS_ESTIMATOR_FILE,
    ModelFileError,
    TrainedModel,
    load_model,
    migrate_model,
    save_model,
)
from matgenome.modelfile import directory as directory_module
from matgenome.modelfile.skeleton import UnsupportedObject, dump_skeleton, load_skeleton
from matgenome.models.calibrated import CalibratedTreesRegressor


@pytest.fixture()
def fitted() -> tuple[CalibratedTreesRegressor, np.ndarray]:
    rng = np.random.default_rng(1)
    X = rng.normal(size=(50, 3))
    y = X[:, 1] + rng.normal(0, 0.1, 50)
    return CalibratedTreesRegressor(n_estimators=5, random_state=0).fit(X, y), X


def _round_trip(value: object) -> object:
    data, trees = dump_skeleton(value)
    return load_skeleton(data, trees, "test")


def test_plain_values_round_trip_exactly() -> None:
    from sklearn.preprocessing import StandardScaler

    scaler = StandardScaler()
    value = {
        "floats": [0.1, float("nan"), float("inf"), -0.0, 1e-310],
        "tuple": (1, "a", None, True),
        1: "integer key",
        "scalars": [np.float64(0.30000000000000004), np.int64(-3), np.bool_(True)],
        "dtype": np.dtype("<f4"),
        "type": np.float64,
        "arrays": [np.arange(6.0).reshape(2, 3), np.array([[1, 2]], dtype=np.int32).T,
                   np.zeros(0), np.array(["Li", "O"], dtype=object),
                   np.array([(1, 2.5)], dtype=[("a", "<i8"), ("b", "<f8")])],
        "shared": [scaler, scaler],
    }
    back = _round_trip(value)
    assert list(back) == list(value)
    assert back["floats"][0] == 0.1 and np.isnan(back["floats"][1])
    assert back["floats"][2:] == [float("inf"), -0.0, 1e-310]
    assert back["tuple"] == (1, "a", None, True) and back[1] == "integer key"
    for got, sent in zip(back["scalars"], value["scalars"], strict=True):
        assert type(got) is type(sent) and got == sent
    assert back["dtype"] == np.dtype("<f4") and back["type"] is np.float64
    for got, sent in zip(back["arrays"], value["arrays"], strict=True):
        assert got.dtype == sent.dtype and got.shape == sent.shape
        assert got.tolist() == sent.tolist() and got.flags.writeable
    assert back["shared"][0] is back["shared"][1]
    assert isinstance(back["shared"][0], StandardScaler)


def test_estimator_round_trips_with_identical_predictions(fitted, tmp_path: Path) -> None:
    estimator, X = fitted
    loaded = load_model(save_model(TrainedModel(estimator, {}), tmp_path / "m")).estimator
    mean, std = estimator.predict(X, return_std=True)
    got_mean, got_std = loaded.predict(X, return_std=True)
    np.testing.assert_array_equal(got_mean, mean)
    np.testing.assert_array_equal(got_std, std)


def test_objects_without_a_json_description_are_reported() -> None:
    from sklearn.preprocessing import FunctionTransformer
    from sklearn.utils import Bunch

    for value in (np.sum, FunctionTransformer(func=np.log1p), np.array([object()]),
                  {"seed": np.random.RandomState(0)}, Bunch(a=1)):
        with pytest.raises(UnsupportedObject):
            dump_skeleton(value)


def _forge(path: Path, root: object) -> None:
    """Write ``root`` as the model description and rehash it, as a forger would."""
    (path / ESTIMATOR_FILE).write_text(json.dumps({"skeleton_version": 1, "root": root}))
    manifest = json.loads((path / MANIFEST_FILE).read_text())
    manifest["files"][ESTIMATOR_FILE] = hashlib.sha256(
        (path / ESTIMATOR_FILE).read_bytes()).hexdigest()
    (path / MANIFEST_FILE).write_text(json.dumps(manifest))


@pytest.fixture()
def saved(fitted, tmp_path: Path) -> Path:
    return save_model(TrainedModel(fitted[0], {"name": "m"}), tmp_path / "m")


@pytest.mark.parametrize("name", ["os.system", "builtins.eval", "subprocess.Popen",
                                  "posix.system", "json.decoder.JSONDecoder"])
def test_a_file_naming_code_outside_the_allow_list_is_refused(saved, name) -> None:
    _forge(saved, {"$object": name, "$id": 0, "state": {"$dict": {"x": "rm -rf /"}}})
    with pytest.raises(ModelFileError, match=r"does not load\. Refusing"):
        load_model(saved)


def test_a_function_in_an_allowed_module_is_refused(saved, monkeypatch) -> None:
    import matgenome.modelfile.directory as target

    called: list[object] = []
    monkeypatch.setattr(target, "migrate_model", lambda *a: called.append(a))
    _forge(saved, {"$object": "matgenome.modelfile.directory.migrate_model", "$id": 0,
                   "state": {"$dict": {}}})
    with pytest.raises(ModelFileError, match="not a class"):
        load_model(saved)
    assert not called


@pytest.mark.parametrize("root", [
    {"$eval": "print(1)"},
    {"$array": {"dtype": "|O", "shape": [1], "data": ""}},
    {"$objects": {"shape": [1], "items": [{"$object": "sklearn.base.BaseEstimator",
                                           "$id": 0, "state": {"$dict": {}}}]}},
    {"$tree": 0},
    {"$ref": 5},
    {"$object": "sklearn.base.BaseEstimator", "$id": 0, "$eval": "x"},
    {"$dict": {"a": {"$object": "sklearn.base.BaseEstimator", "$id": 0, "state": []}}},
])
def test_malformed_or_object_holding_entries_are_refused(saved, root) -> None:
    _forge(saved, root)
    with pytest.raises(ModelFileError, match=ESTIMATOR_FILE):
        load_model(saved)


def test_a_class_the_libraries_lack_asks_for_a_rebuild(saved) -> None:
    _forge(saved, {"$object": "sklearn.ensemble.NoSuchForest", "$id": 0,
                   "state": {"$dict": {}}})
    with pytest.raises(ModelFileError, match="Rebuild"):
        load_model(saved)


def _save_as_format_2(monkeypatch, model: TrainedModel, path: Path) -> Path:
    def unsupported(value: object) -> None:
        raise UnsupportedObject("forced")

    with monkeypatch.context() as patch:
        patch.setattr(directory_module, "dump_skeleton", unsupported)
        return save_model(model, path)


def test_format_2_still_loads_and_migrates_to_format_3(fitted, tmp_path, monkeypatch) -> None:
    estimator, X = fitted
    old = _save_as_format_2(monkeypatch, TrainedModel(estimator, {"name": "m"}),
                            tmp_path / "old")
    assert json.loads((old / MANIFEST_FILE).read_text())["format_version"] == 2
    assert (old / SKOPS_ESTIMATOR_FILE).exists()
    expected = estimator.predict(X, return_std=True)
    for got, want in zip(load_model(old).estimator.predict(X, return_std=True), expected,
                         strict=True):
        np.testing.assert_array_equal(got, want)
    first = migrate_model(old, tmp_path / "new")
    second = migrate_model(old, tmp_path / "again")
    assert json.loads((first / MANIFEST_FILE).read_text())["format_version"] == 3
    assert not (first / SKOPS_ESTIMATOR_FILE).exists()
    assert (first / MANIFEST_FILE).read_bytes() == (second / MANIFEST_FILE).read_bytes()
    for got, want in zip(load_model(first).estimator.predict(X, return_std=True), expected,
                         strict=True):
        np.testing.assert_array_equal(got, want)


def test_format_2_with_a_foreign_type_is_refused(tmp_path, monkeypatch) -> None:
    from collections import OrderedDict

    class Foreign(OrderedDict):
        pass

    path = _save_as_format_2(monkeypatch, TrainedModel({"x": Foreign()}, {}),
                             tmp_path / "f")
    with pytest.raises(ModelFileError, match="Foreign"):
        load_model(path)


def test_migration_refuses_another_scikit_learn_version(saved) -> None:
    card = json.loads((saved / "card.json").read_text())
    card["versions"]["scikit-learn"] = "0.1.0"
    (saved / "card.json").write_text(json.dumps(card))
    manifest = json.loads((saved / MANIFEST_FILE).read_text())
    manifest["files"]["card.json"] = hashlib.sha256(
        (saved / "card.json").read_bytes()).hexdigest()
    (saved / MANIFEST_FILE).write_text(json.dumps(manifest))
    with pytest.raises(ModelFileError, match="rebuild the model"):
        migrate_model(saved, saved.parent / "migrated")


def test_shipped_model_is_format_3_and_its_migration_reproduces_it(tmp_path: Path) -> None:
    """The shipped directory is exactly what migrate_model writes: rerunning the migration
    (after the model is rebuilt or changed) gives the same bytes."""
    from matgenome.modelfile import default_model_path, library_versions, model_info

    shipped = default_model_path()
    info = model_info(shipped)
    assert info["format_version"] == 3
    if info["versions"] != library_versions():
        pytest.skip(f"the shipped model was saved with {info['versions']}")
    migrated = migrate_model(shipped, tmp_path / "migrated")
    assert (migrated / MANIFEST_FILE).read_bytes() == (shipped / MANIFEST_FILE).read_bytes()
