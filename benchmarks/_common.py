"""Shared helpers of the benchmark scripts: atomic JSON, tables, summaries, features.

The scripts run as ``python benchmarks/<name>.py`` from a source checkout, so this module
also puts the repository root on ``sys.path`` when matgenome is not installed.
"""

from __future__ import annotations

import json
import math
import os
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

from matgenome.evaluation import (  # noqa: E402, F401
    composition_key,
    composition_keys,
    software_versions,
)
from matgenome.io import atomic_path  # noqa: E402


def json_clean(value: Any) -> Any:
    """Turn numpy values into Python ones and NaN/inf into None, recursively."""
    if isinstance(value, dict):
        return {str(k): json_clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_clean(v) for v in value]
    if isinstance(value, np.ndarray):
        return json_clean(value.tolist())
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def write_json_atomic(data: dict[str, Any], path: str | Path) -> Path:
    """Write ``data`` as JSON via a temporary file renamed over ``path``."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(json_clean(data), indent=1, allow_nan=False)
    with atomic_path(target) as temporary:
        temporary.write_text(text + "\n", encoding="utf-8")
        # mkstemp creates owner-only files; results are meant to be shared.
        os.chmod(temporary, 0o644)
    return target


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
    from matgenome.features import compute_features
    from matgenome.models.recipes import get_recipe

    if preset.startswith("recipe:"):
        return get_recipe(preset.removeprefix("recipe:")).featurize(formulas)
    return compute_features(formulas, preset)[0]
