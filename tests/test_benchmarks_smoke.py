"""Smoke tests: the benchmark scripts run end to end with --quick and write valid output."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"
VERSION_KEYS = {"python", "numpy", "sklearn", "pymatgen", "matminer", "matgenome"}


def run_script(name: str, output: Path) -> dict:
    """Run ``benchmarks/<name>.py --quick`` into ``output`` and return the JSON it wrote."""
    completed = subprocess.run(
        [sys.executable, str(BENCHMARKS / f"{name}.py"), "--quick", "--output", str(output)],
        capture_output=True, text=True, timeout=120, check=False,
    )
    assert completed.returncode == 0, completed.stderr[-2000:]
    assert "wrote" in completed.stdout
    return json.loads(output.read_text(encoding="utf-8"))


@pytest.mark.parametrize("name", ["simulate_obelix", "rediscovery"])
def test_quick_run_writes_results(name: str, tmp_path: Path) -> None:
    output = tmp_path / f"{name}.json"
    report = run_script(name, output)
    assert report["quick"] is True
    assert set(report["versions"]) >= VERSION_KEYS
    data = report["data"]
    digest = data.get("data_hash") or data.get("raw_data_hash") or data["table_hash"]
    assert len(digest) == 64
    assert not list(tmp_path.glob(".*.tmp")), "temporary files left behind"
    if name == "simulate_obelix":
        assert output.with_suffix(".png").stat().st_size > 0
        from matgenome.simulation import DEFAULT_STRATEGY

        assert report["default"]["library_default"] == DEFAULT_STRATEGY
        for trials in ("selection", "confirmation"):
            assert {"random", "cold-thompson"} <= set(report[trials]["strategies"])
            assert report[trials]["recomputed_from_picks"]
    else:
        for pool in report["test"]["per_seed"]:
            hits = pool["sigma>=1e-3"]
            assert 1.0 <= hits["ceiling"] <= 1.0 / hits["base_rate"] + 1e-9
        summary = report["test"]["summary"]
        assert "RF magpie | mean" in summary["results"]
        assert report["selection"]["chosen"] in report["validation"]["pooled"]["results"]


def test_startup_benchmark_quick_run(tmp_path: Path) -> None:
    """benchmarks/startup.py runs every command once and reports ratios of its medians."""
    output = tmp_path / "startup.json"
    completed = subprocess.run(
        [sys.executable, str(BENCHMARKS / "startup.py"), "--quick", "--output", str(output)],
        capture_output=True, text=True, timeout=300, check=False,
    )
    assert completed.returncode == 0, completed.stderr[-2000:]
    report = json.loads(output.read_text(encoding="utf-8"))
    assert report["quick"] is True and report["repeats"] == 1
    assert set(report["versions"]) >= VERSION_KEYS
    timings, summary = report["timings"], report["summary"]
    assert set(timings) == {"python -c pass", "matgenome --version", "matgenome --help",
                            "matgenome predict (1 row)", "joblib + featurize + predict"}
    for runs in timings.values():
        assert len(runs["wall_s"]) == 1 and runs["median_wall_s"] > 0
    ratio = (timings["matgenome predict (1 row)"]["median_wall_s"]
             / timings["joblib + featurize + predict"]["median_wall_s"])
    assert summary["predict_over_plain_wall"] == pytest.approx(ratio, abs=1e-3)
    assert "predict / plain script" in completed.stdout
    assert set(report["load_cpu_s"]) == {"load_model (shipped directory)",
                                         "joblib.load (same estimator)"}
    assert all(seconds > 0 for seconds in report["load_cpu_s"].values())
    assert not list(tmp_path.glob(".*.tmp")), "temporary files left behind"


@pytest.mark.slow  # about 20 s: five models on the official split
def test_obelix_benchmark_quick_run_scores_the_official_split(tmp_path: Path) -> None:
    output = tmp_path / "evaluate_obelix.json"
    completed = subprocess.run(
        [sys.executable, str(BENCHMARKS / "evaluate_obelix.py"), "--quick", "--protocols",
         "official", "--output", str(output)],
        capture_output=True, text=True, timeout=300, check=False,
    )
    assert completed.returncode == 0, completed.stderr[-2000:]
    report = json.loads(output.read_text(encoding="utf-8"))
    assert report["quick"] is True and set(report["versions"]) >= VERSION_KEYS
    official = report["protocols"]["official"]
    assert "matgenome train defaults" in official
    domain = official["recommended"]["domain"]
    # The applicability-domain check ran, on the bounded 0-1 distance scale.
    assert 0.5 < domain["in_domain_fraction"] <= 1.0
    assert all("> 0.5" in reason for reason in domain["reasons"] if "far" in reason)


@pytest.mark.slow  # starts matgenome predict four times and a loopback Dask cluster
def test_batch_scoring_benchmark_small_run(tmp_path: Path) -> None:
    """benchmarks/batch_scoring.py checks every setup's output and compares their bytes."""
    pytest.importorskip("distributed")
    output = tmp_path / "batch_scoring.json"
    completed = subprocess.run(
        [sys.executable, str(BENCHMARKS / "batch_scoring.py"), "--rows", "1500",
         "--chunksize", "400", "--output", str(output)],
        capture_output=True, text=True, timeout=600, check=False,
    )
    assert completed.returncode == 0, completed.stderr[-2000:]
    report = json.loads(output.read_text(encoding="utf-8"))
    setups = [r["setup"] for r in report["results"]]
    assert setups == ["j1", "jall", "dask-local", "dask-loopback"]
    for result in report["results"]:
        assert result["count_ok"] and result["order_ok"] and result["flags_ok"]
        assert result["same_bytes_as_first_setup"] and result["rows_flagged"] == 15
        assert result["peak_memory_mb"] > 0
        assert result["cpu_seconds_client"] > 0
    # Where the work went: the workers (forked, local or loopback Dask) did the scoring.
    assert all(r["cpu_seconds_workers"] > 0 for r in report["results"] if r["setup"] != "j1")
    assert report["speedup_vs_j1"]["1500 j1"] == 1.0
