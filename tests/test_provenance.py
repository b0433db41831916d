"""Every output says which matgenome, model and command made it; ``matgenome model info``."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pandas as pd
import pytest

from matgenome._version import __version__
from matgenome.cli import main
from matgenome.provenance import METADATA_KEY, read_sidecar, sidecar_path

FORMULAS = ["Li6PS5Cl", "Li7La3Zr2O12", "Li3YCl6", "Qq"]


def _manifest_hash(model_dir: Path) -> str:
    return hashlib.sha256((model_dir / "manifest.json").read_bytes()).hexdigest()


@pytest.fixture()
def candidates(tmp_path: Path) -> Path:
    path = tmp_path / "in.csv"
    pd.DataFrame({"formula": FORMULAS}).to_csv(path, index=False)
    return path


def _check_model_record(meta: dict, command: str, model_dir: Path) -> None:
    assert meta["matgenome_version"] == __version__
    assert meta["command"] == command and meta["argv"][:2] == ["matgenome", command]
    model = json.loads((model_dir / "card.json").read_text())
    assert meta["model"]["name"] == model["name"]
    assert meta["model"]["sha256"] == _manifest_hash(model_dir)
    assert meta["model"]["unit"] == model["target"]["unit"]


def test_predict_csv_gets_a_sidecar_naming_the_model(
    tmp_path: Path, candidates: Path, small_model_dir: Path
) -> None:
    output = tmp_path / "scored.csv"
    assert main(["predict", str(candidates), "--model", str(small_model_dir), "-o",
                 str(output), "-q"]) == 0
    _check_model_record(read_sidecar(output), "predict", small_model_dir)
    assert sidecar_path(output).name == "scored.csv.meta.json"
    assert len(pd.read_csv(output)) == len(FORMULAS)  # the table itself is unchanged
    assert not list(tmp_path.glob(".*.tmp"))  # atomic writes leave no temp files


def test_predict_parquet_and_excel_carry_the_record_inside(
    tmp_path: Path, candidates: Path, small_model_dir: Path
) -> None:
    import openpyxl
    import pyarrow.parquet as pq

    parquet, excel = tmp_path / "scored.parquet", tmp_path / "scored.xlsx"
    for output in (parquet, excel):
        assert main(["predict", str(candidates), "--model", str(small_model_dir), "-o",
                     str(output), "-q"]) == 0
        _check_model_record(read_sidecar(output), "predict", small_model_dir)
    inside = json.loads(pq.read_schema(parquet).metadata[METADATA_KEY.encode()])
    _check_model_record(inside, "predict", small_model_dir)
    assert len(pd.read_parquet(parquet)) == len(FORMULAS)
    workbook = openpyxl.load_workbook(excel)
    _check_model_record(json.loads(workbook.properties.description), "predict",
                        small_model_dir)


def test_rank_and_its_plot_get_sidecars(
    tmp_path: Path, candidates: Path, small_model_dir: Path
) -> None:
    output, plot = tmp_path / "ranked.csv", tmp_path / "pareto.png"
    assert main(["rank", str(candidates), "--model", str(small_model_dir), "-o", str(output),
                 "--plot", str(plot), "-q"]) == 0
    for path in (output, plot):
        meta = read_sidecar(path)
        _check_model_record(meta, "rank", small_model_dir)
        assert meta["acquisition"] == "mean"


def test_featurize_and_generate_record_version_and_command(
    tmp_path: Path, candidates: Path
) -> None:
    features, generated = tmp_path / "features.csv", tmp_path / "generated.csv"
    assert main(["featurize", str(candidates), "--preset", "stoichiometry", "-o", str(features),
                 "-q"]) == 0
    meta = read_sidecar(features)
    assert meta["matgenome_version"] == __version__ and meta["command"] == "featurize"
    assert meta["model"] is None and meta["feature_preset"] == "stoichiometry"
    assert main(["generate", "--family", "garnet", "--max-candidates", "5", "--seed", "3",
                 "-o", str(generated), "-q"]) == 0
    meta = read_sidecar(generated)
    assert meta["command"] == "generate" and meta["seed"] == 3
    assert meta["argv"] == ["matgenome", "generate", "--family", "garnet", "--max-candidates",
                            "5", "--seed", "3", "-o", str(generated), "-q"]


def test_simulate_result_gets_a_sidecar(tmp_path: Path) -> None:
    result = tmp_path / "sim.json"
    assert main(["simulate", "--dataset", "obelix", "--trials", "1", "--iterations", "2",
                 "--n-estimators", "5", "--strategies", "random", "-o", str(result),
                 "-q"]) == 0
    meta = read_sidecar(result)
    assert meta["command"] == "simulate" and meta["matgenome_version"] == __version__
    assert meta["recipe"] and meta["feature_preset"]


def test_model_info_prints_the_card_summary(
    small_model_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["model", "info", str(small_model_dir)]) == 0
    out = capsys.readouterr().out
    card = json.loads((small_model_dir / "card.json").read_text())
    assert _manifest_hash(small_model_dir) in out
    assert card["name"] in out and card["target"]["unit"] in out
    assert card["training_data"]["sha256"] in out
    assert main(["model", "info", str(small_model_dir), "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["sha256"] == _manifest_hash(small_model_dir)
    assert info["feature_preset"] == card["feature_preset"]
    assert info["metrics"] == card["metrics"]
    assert info["versions"]["matgenome"] == card["versions"]["matgenome"]
    assert info["target"]["unit"] == card["target"]["unit"]


def test_model_info_refuses_a_modified_card(
    tmp_path: Path, small_model_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import shutil

    copy = tmp_path / "model"
    shutil.copytree(small_model_dir, copy)
    card = json.loads((copy / "card.json").read_text())
    card["name"] = "renamed"
    (copy / "card.json").write_text(json.dumps(card))
    assert main(["model", "info", str(copy)]) == 2
    assert "card.json" in capsys.readouterr().err


def test_evaluate_result_gets_a_sidecar(tmp_path: Path) -> None:
    from matgenome.datasets import load

    frame = load("obelix")
    frame = frame[frame["censor"].eq("")].head(40)
    table, result = tmp_path / "data.csv", tmp_path / "eval.json"
    frame[["formula", "target"]].to_csv(table, index=False)
    assert main(["evaluate", str(table), "--target-column", "target", "--protocol", "kfold",
                 "--n-splits", "2", "--recipe", "extra_trees_default", "--n-estimators", "10",
                 "-o", str(result), "-q"]) == 0
    meta = read_sidecar(result)
    assert meta["command"] == "evaluate" and meta["matgenome_version"] == __version__
    assert meta["recipe"] == "extra_trees_default" and meta["protocol"] == "kfold"
    assert json.loads(result.read_text())  # the result itself is still written


def test_json_safe_makes_numpy_and_missing_values_plain() -> None:
    import math

    import numpy as np

    from matgenome.provenance import json_safe

    data = {1: np.float32(0.5), "nan": math.nan, "inf": np.float64("inf"), "na": pd.NA,
            "flag": np.bool_(True), "count": np.int64(3), "array": np.array([1.0, np.nan]),
            "tuple": (np.int32(2), "x"), "other": Path("a")}
    assert json_safe(data) == {"1": 0.5, "nan": None, "inf": None, "na": None, "flag": True,
                               "count": 3, "array": [1.0, None], "tuple": [2, "x"],
                               "other": repr(Path("a"))}
    assert type(json_safe(np.int64(3))) is int and type(json_safe(np.bool_(False))) is bool


def test_write_json_atomic_is_strict_json_with_the_usual_permissions(tmp_path: Path) -> None:
    import math
    import os

    from matgenome.provenance import write_json_atomic

    path = write_json_atomic({"b": math.nan, "a": 1}, tmp_path / "new" / "r.json")
    assert path.read_text() == '{\n "b": null,\n "a": 1\n}\n'
    umask = os.umask(0)
    os.umask(umask)
    assert path.stat().st_mode & 0o777 == 0o666 & ~umask  # not the temp file's 0600
    # Model cards keep plain json.dumps (NaN tokens): their bytes are hashed in manifests.
    write_json_atomic({"b": math.nan, "a": 1}, path, indent=2, sort_keys=True, strict=False)
    assert path.read_text() == '{\n  "a": 1,\n  "b": NaN\n}\n'
    assert not list(path.parent.glob(".*.tmp"))


def test_one_home_for_versions_and_hashes(tmp_path: Path) -> None:
    import matgenome.evaluation as ev
    from matgenome.datasets import data_hash
    from matgenome.modelfile import library_versions
    from matgenome.provenance import file_sha256, software_versions, table_sha256

    versions = software_versions()
    assert {"python", "numpy", "pandas", "scipy", "sklearn", "pymatgen", "matminer",
            "matgenome"} <= set(versions)
    assert versions["matgenome"] == __version__
    assert set(library_versions()) == {"python", "matgenome", "numpy", "scikit-learn",
                                       "skops", "pymatgen", "matminer"}
    assert ev.software_versions is software_versions
    path = tmp_path / "f.bin"
    path.write_bytes(b"x" * (3 << 20))  # more than one read block
    assert file_sha256(path) == hashlib.sha256(path.read_bytes()).hexdigest()
    frame = pd.DataFrame({"formula": ["Li2O"], "target": [1.0]})
    assert data_hash is table_sha256
    expected = hashlib.sha256(b"formula'Li2O'target1.0").hexdigest()
    assert table_sha256(frame) == expected
