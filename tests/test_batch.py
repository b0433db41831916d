"""Batch scoring: chunked streaming and Dask give the same rows as a one-shot run."""

from __future__ import annotations

import platform
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from matgenome.batch import count_rows, featurize_file, score_file
from matgenome.features import featurize
from matgenome.modelfile import load_model


@pytest.fixture()
def table(tmp_path: Path) -> Path:
    rng = np.random.default_rng(0)
    formulas = [f"Li{rng.uniform(0.5, 7):.3f}La3Zr2O12" for _ in range(300)]
    formulas[17] = "Qq"
    formulas[250] = ""
    path = tmp_path / "in.csv"
    pd.DataFrame({"n": range(300), "formula": formulas}).to_csv(path, index=False)
    return path


def test_count_rows(table: Path, tmp_path: Path) -> None:
    assert count_rows(table) == 300
    no_newline = tmp_path / "x.csv"
    no_newline.write_text("a\n1\n2")
    assert count_rows(no_newline) == 2


def test_featurize_file_matches_featurize(table: Path, tmp_path: Path) -> None:
    output = tmp_path / "out.csv"
    summary = featurize_file("magpie", table, output, chunksize=64)
    assert (summary.rows_read, summary.rows_failed) == (300, 2)
    out = pd.read_csv(output, keep_default_na=False)
    assert out["n"].tolist() == list(range(300))
    good = out["error"] == ""
    expected = featurize(pd.read_csv(table)["formula"][good], preset="magpie")
    got = out.loc[good, expected.columns].replace("", np.nan).astype(float)
    np.testing.assert_allclose(got.to_numpy(), expected.to_numpy(), rtol=1e-12,
                               equal_nan=True)


def test_dask_local_cluster_gives_identical_output(
    table: Path, tmp_path: Path, small_model_dir: Path
) -> None:
    pytest.importorskip("distributed")
    model = load_model(small_model_dir)
    here, there = tmp_path / "here.csv", tmp_path / "there.csv"
    score_file(model, table, here, chunksize=50)
    summary = score_file(model, table, there, chunksize=50, scheduler="local")
    assert summary.rows_read == 300 and summary.rows_failed == 2
    assert here.read_bytes() == there.read_bytes()


def test_scoring_bad_rows_leaves_no_reference_cycles() -> None:
    """Failed rows must not tie a whole batch into a cycle: streaming millions of rows
    would keep every chunk alive until a full garbage collection."""
    import gc

    from matgenome.composition import CompositionError
    from matgenome.features import compute_features

    formulas = ["Li3PS4", "Xx2O", "", "Li2O)", "Li1.3Al0.3Ti1.7(PO4)3", "=cmd()"] * 20
    compute_features(formulas, "magpie")  # warm caches
    gc.collect()
    X, errors = compute_features(formulas, "magpie")
    del X, errors
    gc.set_debug(gc.DEBUG_SAVEALL)  # keep what the collector finds, to inspect it
    try:
        gc.collect()
        ours = [o for o in gc.garbage
                if isinstance(o, CompositionError) or type(o).__name__ in ("Encoded", "Block")]
    finally:
        gc.set_debug(0)
        gc.garbage.clear()
    assert ours == []


def _processes_with(tag: str) -> list[int]:
    """Processes whose environment carries ``MATGENOME_RUN_TAG=tag`` (children inherit it,
    and keep it when orphaned)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            environ = (entry / "environ").read_bytes().split(b"\0")
        except OSError:
            continue
        if f"MATGENOME_RUN_TAG={tag}".encode() in environ:
            found.append(int(entry.name))
    return found


@pytest.mark.skipif(not Path("/proc/self/environ").exists(), reason="needs /proc")
def test_quiet_local_cluster_prints_nothing_and_leaves_no_processes(
    table: Path, tmp_path: Path
) -> None:
    import os
    import subprocess
    import sys
    import uuid

    pytest.importorskip("distributed")
    tag = uuid.uuid4().hex
    output = tmp_path / "out.csv"
    run = subprocess.run(
        [sys.executable, "-m", "matgenome", "predict", str(table), "-o", str(output),
         "--scheduler", "local", "--chunksize", "100", "-q"],
        env=dict(os.environ, MATGENOME_RUN_TAG=tag), capture_output=True, text=True,
        timeout=300)
    assert run.returncode == 0, run.stderr
    assert run.stderr == ""
    assert len(pd.read_csv(output)) == 300
    assert _processes_with(tag) == []


def test_failure_while_writing_shuts_the_cluster_down(table: Path, tmp_path: Path) -> None:
    psutil = pytest.importorskip("psutil")
    pytest.importorskip("distributed")
    model = load_model()

    def fail(rows: int) -> None:
        raise RuntimeError("disk full")

    before = {p.pid for p in psutil.Process().children(recursive=True)}
    with pytest.raises(RuntimeError, match="disk full"):
        score_file(model, table, tmp_path / "out.csv", chunksize=50, scheduler="local",
                   progress=fail)
    left = [p for p in psutil.Process().children(recursive=True)
            if p.pid not in before and p.is_running() and p.status() != psutil.STATUS_ZOMBIE]
    assert left == []
    assert not (tmp_path / "out.csv").exists()


def test_score_and_rank_share_their_prediction_columns(small_model_dir: Path) -> None:
    from matgenome.batch import OUTPUT_COLUMNS, score_frame
    from matgenome.errors import InputError
    from matgenome.screen import rank_candidates

    model = load_model(small_model_dir)
    frame = pd.DataFrame({"formula": ["Li3PS4", "Li7La3Zr2O12", "Qq", "LiI"]},
                         index=[5, 6, 7, 8])
    scored = score_frame(model, frame, "formula")
    # A stale prediction column is replaced by ranking, refused by scoring.
    ranked = rank_candidates(model, frame.assign(prediction=0.0)).loc[frame.index]
    shared = [c for c in OUTPUT_COLUMNS if c in scored.columns]
    assert {"prediction", "uncertainty", "known_value"} <= set(shared)
    pd.testing.assert_frame_equal(ranked[shared], scored[shared], check_exact=False)
    assert np.isnan(scored.loc[7, "prediction"])  # "Qq" is not a formula
    with pytest.raises(InputError, match="prediction"):
        score_frame(model, frame.assign(prediction=0.0), "formula")


def test_training_and_screening_do_not_load_candidate_generation() -> None:
    import subprocess
    import sys

    code = ("import sys, matgenome.training, matgenome.screen, matgenome.batch\n"
            "print(sorted(m for m in sys.modules if m.startswith('matgenome.generation')))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            check=True)
    assert result.stdout.strip() == "[]"


def test_quiet_runs_silence_the_local_workers_and_restore_the_environment(
        monkeypatch: pytest.MonkeyPatch) -> None:
    import logging
    import os

    from matgenome.batch import _worker_log_level

    monkeypatch.delenv("DASK_LOGGING__DISTRIBUTED", raising=False)
    monkeypatch.setattr(logging.getLogger("matgenome"), "level", logging.ERROR)
    with _worker_log_level():
        assert os.environ["DASK_LOGGING__DISTRIBUTED"] == "critical"
    assert "DASK_LOGGING__DISTRIBUTED" not in os.environ


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="tunes glibc's malloc")
def test_dask_workers_stop_mapping_every_large_array_afresh() -> None:
    """Under the nanny's MALLOC_TRIM_THRESHOLD_, each large array is a new mmap whose
    pages fault in one by one; after the worker's tuning they are reused."""
    import os
    import subprocess
    import sys

    script = (
        "import resource, sys, numpy as np\n"
        "from matgenome.batch import _tune_worker_allocator\n"
        "if sys.argv[1] == 'tuned':\n"
        "    _tune_worker_allocator()\n"
        "before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt\n"
        "for _ in range(200):\n"
        "    np.ones(1 << 18).sum()\n"  # 2 MiB, allocated and freed
        "print(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)\n"
    )
    env = dict(os.environ, MALLOC_TRIM_THRESHOLD_="65536")
    faults = {mode: int(subprocess.run([sys.executable, "-c", script, mode], env=env,
                                       capture_output=True, text=True, check=True).stdout)
              for mode in ("plain", "tuned")}
    assert faults["plain"] > 200 * 400  # every array's 512 pages fault again
    assert faults["tuned"] < faults["plain"] / 10
