"""Scoring on several cores gives exactly the output of one core."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import matgenome.parallel as parallel
from matgenome.batch import featurize_file, score_file
from matgenome.cli.main import main
from matgenome.modelfile import load_model
from matgenome.parallel import resolve_jobs


@pytest.fixture()
def table(tmp_path: Path) -> Path:
    rng = np.random.default_rng(1)
    formulas = [f"Li{rng.uniform(0.5, 7):.3f}La3Zr{rng.uniform(1, 2):.3f}O12"
                for _ in range(400)]
    formulas[3], formulas[250], formulas[399] = "Qq", "", "Li2O)"
    formulas[10] = formulas[11] = formulas[12]  # repeats, featurized once
    path = tmp_path / "in.csv"
    pd.DataFrame({"n": range(400), "formula": formulas}).to_csv(path, index=False)
    return path


@pytest.mark.parametrize("bad", [0, -2, 1.5, True, "2"])
def test_resolve_jobs_refuses_nonsense(bad: object) -> None:
    with pytest.raises(ValueError, match="positive number of workers"):
        resolve_jobs(bad)  # type: ignore[arg-type]


def test_resolve_jobs_all_cores() -> None:
    assert resolve_jobs(None) == resolve_jobs(-1) == parallel.available_cores() >= 1
    assert resolve_jobs(3) == 3


def test_score_file_same_bytes_for_any_jobs(table: Path, tmp_path: Path,
                                            small_model_dir: Path) -> None:
    model = load_model(small_model_dir)
    outputs = []
    for jobs in (1, 2, 3):
        out = tmp_path / f"out{jobs}.csv"
        summary = score_file(model, table, out, chunksize=70, n_jobs=jobs)
        assert (summary.rows_read, summary.rows_failed) == (400, 3)
        outputs.append(out.read_bytes())
    assert outputs[0] == outputs[1] == outputs[2]
    assert pd.read_csv(tmp_path / "out2.csv")["n"].tolist() == list(range(400))


def test_featurize_file_same_bytes_for_any_jobs(table: Path, tmp_path: Path) -> None:
    one, two = tmp_path / "one.csv", tmp_path / "two.csv"
    featurize_file("magpie", table, one, chunksize=90, n_jobs=1)
    featurize_file("magpie", table, two, chunksize=90, n_jobs=2)
    assert one.read_bytes() == two.read_bytes()


def test_predict_api_threads_match_one_thread(small_model_dir: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(parallel, "ROW_BLOCK", 64)  # several blocks from a small batch
    model = load_model(small_model_dir)
    rng = np.random.default_rng(2)
    formulas = [f"Li{rng.uniform(0.5, 7):.3f}PS{rng.uniform(1, 2):.3f}Cl" for _ in range(300)]
    formulas[7] = "not a formula"
    one = model.predict(formulas, n_jobs=1).to_frame()
    two = model.predict(formulas, n_jobs=2).to_frame()
    assert one["error"].tolist() == two["error"].tolist()
    assert one["error"][7] != ""
    for column in one.columns:
        if one[column].dtype.kind == "f":
            np.testing.assert_allclose(two[column], one[column], rtol=1e-12, equal_nan=True)
        else:
            assert one[column].tolist() == two[column].tolist()


def test_cli_jobs_same_bytes_and_bad_jobs_refused(table: Path, tmp_path: Path,
                                                  small_model_dir: Path,
                                                  capsys: pytest.CaptureFixture) -> None:
    one, two = tmp_path / "one.csv", tmp_path / "two.csv"
    for jobs, out in (("1", one), ("2", two)):
        assert main(["predict", str(table), "-o", str(out), "--model", str(small_model_dir),
                     "-q", "-j", jobs]) == 0
    assert one.read_bytes() == two.read_bytes()
    code = main(["predict", str(table), "-o", str(tmp_path / "x.csv"), "--model",
                 str(small_model_dir), "-q", "--jobs", "0"])
    assert code != 0
    assert "--jobs must be a positive number" in capsys.readouterr().err
    assert not (tmp_path / "x.csv").exists()


def _die_on_rows(chunk: pd.DataFrame, column: str) -> pd.DataFrame:
    if len(chunk):
        os._exit(3)  # a worker killed mid-run (out of memory, say)
    return chunk.assign(error="")


def test_a_dead_worker_stops_the_run_instead_of_hanging(table: Path, tmp_path: Path) -> None:
    from matgenome.batch import process_file

    output = tmp_path / "out.csv"
    with pytest.raises(parallel.WorkerDied, match="worker process died"):
        process_file(_die_on_rows, table, output, chunksize=100, workers=2)
    assert not output.exists()


def test_varied_compositions_score_to_the_same_bytes_for_any_jobs(tmp_path: Path) -> None:
    """Compositions far apart (many far from the training data) with the shipped model:
    distances and probabilities must not depend on the chunk or piece a row lands in."""
    rng = np.random.default_rng(5)
    others = ["La", "Zr", "Ta", "Ti", "Al", "Ga", "P", "S", "Cl", "Br", "O", "Ge", "Si"]
    formulas = []
    for _ in range(3000):
        picked = rng.choice(others, 3, replace=False)
        formulas.append(f"Li{rng.uniform(0.5, 7):.3f}"
                        + "".join(f"{e}{a:.3f}" for e, a in zip(picked, rng.uniform(0.1, 4, 3),
                                                                 strict=True)))
    source = tmp_path / "in.csv"
    pd.DataFrame({"formula": formulas}).to_csv(source, index=False)
    model = load_model()
    outputs = []
    for jobs, chunksize in ((1, 3000), (2, 700), (3, 333)):
        out = tmp_path / f"out{jobs}.csv"
        score_file(model, source, out, chunksize=chunksize, n_jobs=jobs)
        outputs.append(out.read_bytes())
    assert outputs[0] == outputs[1] == outputs[2]
