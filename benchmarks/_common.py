"""Shared helpers of the benchmark scripts: atomic JSON, tables, summaries, features.

The scripts run as ``python benchmarks/<name>.py`` from a source checkout, so this module
also puts the repository root on ``sys.path`` when matgenome is not installed.
"""

from __future__ import annotations

import math
import sys
import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

REPO_ROOT = Path(__file__).resolve().parents[1]
RESULTS_DIR = REPO_ROOT / "benchmarks" / "results"

try:  # a source checkout without an installed package still runs the benchmarks
    import matgenome  # noqa: F401
except ImportError:  # pragma: no cover - depends on how the package is installed
    sys.path.insert(0, str(REPO_ROOT))

from matgenome.evaluation import composition_labels  # noqa: E402, F401
from matgenome.provenance import software_versions, write_json_atomic  # noqa: E402


def mean_std(values: Iterable[float]) -> dict[str, float]:
    """Mean, sample standard deviation (ddof=1) and count of the finite values."""
    array = np.asarray([v for v in values if v is not None], dtype=float)
    array = array[np.isfinite(array)]
    if array.size == 0:
        return {"mean": math.nan, "std": math.nan, "n": 0}
    std = float(array.std(ddof=1)) if array.size > 1 else math.nan
    return {"mean": float(array.mean()), "std": std, "n": int(array.size)}


def fmt_mean_std(stats: dict[str, float], digits: int = 2) -> str:
    """``mean ± std`` of a :func:`mean_std` dict ("n/a" when empty)."""
    if not stats or stats.get("n", 1) == 0 or not math.isfinite(stats["mean"]):
        return "n/a"
    if not math.isfinite(stats["std"]):
        return f"{stats['mean']:.{digits}f}"
    return f"{stats['mean']:.{digits}f} ± {stats['std']:.{digits}f}"


def fmt_number(value: float | None, digits: int = 2) -> str:
    """A float with ``digits`` decimals, or "n/a" for None/NaN."""
    if value is None or not math.isfinite(float(value)):
        return "n/a"
    return f"{float(value):.{digits}f}"


def format_table(rows: Sequence[Sequence[object]], headers: Sequence[str]) -> str:
    """Left-aligned plain-text table with a rule under the header."""
    cells = [[str(h) for h in headers], *[[str(c) for c in row] for row in rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip()
             for row in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


class Stopwatch:
    """Wall-clock and CPU time since creation, for the runtime recorded in results."""

    def __init__(self) -> None:
        self.wall, self.cpu = time.perf_counter(), time.process_time()

    def elapsed(self) -> dict[str, float]:
        """Seconds of wall-clock and process CPU time so far."""
        return {"wall_s": round(time.perf_counter() - self.wall, 1),
                "cpu_s": round(time.process_time() - self.cpu, 1)}


def recipe_or_preset_features(formulas: list[str], preset: str) -> np.ndarray:
    """A preset of matgenome.features, or ``recipe:<name>`` for a recipe's own features."""
    from task_recipes import get_recipe

    from matgenome.features import compute_features

    if preset.startswith("recipe:"):
        return get_recipe(preset.removeprefix("recipe:")).featurize(formulas)
    return compute_features(formulas, preset)[0]


def seed_summary(results: list[Any], preset: str, summary: dict[str, Any],
                 keep_predictions: bool, sections: tuple[str, ...]) -> dict[str, Any]:
    """One benchmark entry: the summary over seeds plus seed 0's full result.

    ``results`` are ``EvaluationResult``s, one per seed; ``sections`` are the parts of seed
    0's result to keep (its per-row predictions only with ``keep_predictions``).
    """
    first = results[0].to_dict()
    if not keep_predictions:
        first["predictions"] = {}
    return {
        "features": preset,
        "model": first["model"],
        "seeds": len(results),
        "summary": summary,
        "notes": first["notes"],
        "runtime_seconds": float(sum(r.runtime_seconds for r in results)),
        "seed0": {k: first[k] for k in sections},
    }


def selected_candidates(parser: Any, only: str | None, candidates: dict[str, Any]) -> list[str]:
    """Names from a ``--only`` comma list (default: all), or a parser error naming the unknown."""
    names = [n.strip() for n in only.split(",")] if only else list(candidates)
    unknown = sorted(set(names) - set(candidates))
    if unknown:
        parser.error(f"unknown candidates {unknown}; known: {', '.join(candidates)}")
    return names


def finish_report(report: dict[str, Any], output: str | Path, started: float) -> Path:
    """Record the run time in ``report``, write it atomically and say where it went."""
    report["runtime_seconds"] = round(time.perf_counter() - started, 1)
    path = write_json_atomic(report, output)
    print(f"\nwrote {path} ({report['runtime_seconds']:.0f} s)")
    return path


def write_selection(benchmark: str, protocol: str, results: dict[str, Any], started: float,
                    output: Path, **settings: Any) -> None:
    """Write a model-selection result (versions, protocol, settings, candidates) as JSON."""
    write_json_atomic({
        "benchmark": benchmark, "versions": software_versions(), "protocol": protocol,
        **settings, "candidates": results,
        "runtime_seconds": round(time.perf_counter() - started, 1),
    }, output)
    print(f"\nwritten to {output}")
