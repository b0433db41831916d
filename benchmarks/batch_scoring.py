"""Batch scoring at scale: rows in = rows out, in order, bad rows flagged, bounded memory.

Writes a table of N generated candidate formulas (a fraction of them garbage), scores it
with ``matgenome predict`` and the shipped default model in a child process, then checks
that the output has one row per input row, in the input order, with exactly the garbage
rows flagged. Peak memory of the child process (max RSS) and throughput are recorded.

    python benchmarks/batch_scoring.py --rows 200000 --garbage 0.01     # reliability check
    python benchmarks/batch_scoring.py --rows 10000000 --garbage 0.001  # 10M-row memory run
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

RESULTS = Path(__file__).resolve().parent / "results"
TEMPLATES = (
    "Li{a:.3f}La3Zr{b:.3f}Ta{c:.3f}O12",
    "Li{a:.3f}PS{b:.3f}Cl{c:.3f}",
    "Li{a:.3f}Ge{c:.3f}P2S12",
    "Li{a:.3f}Y{c:.3f}Cl6",
    "Li{a:.3f}Al{c:.3f}Ti{b:.3f}(PO4)3",
)
GARBAGE = ("", "Xx2O", "Li2O)", "not a formula", "Li-2O", "=cmd()", "Li0O", "Li1e999")


def write_input(path: Path, rows: int, garbage: float, seed: int) -> np.ndarray:
    """Write ``rows`` formulas in blocks; return the indices of garbage rows."""
    rng = np.random.default_rng(seed)
    bad = np.sort(rng.choice(rows, size=round(rows * garbage), replace=False))
    is_bad = np.zeros(rows, dtype=bool)
    is_bad[bad] = True
    block = 1_000_000
    with open(path, "w") as handle:
        handle.write("row_id,formula\n")
        for start in range(0, rows, block):
            n = min(block, rows - start)
            a, b, c = rng.uniform(1, 7, n), rng.uniform(1, 2, n), rng.uniform(0.05, 1, n)
            kind = rng.integers(0, len(TEMPLATES), n)
            formulas = [TEMPLATES[k].format(a=x, b=y, c=z)
                        for k, x, y, z in zip(kind, a, b, c, strict=True)]
            for i in np.flatnonzero(is_bad[start:start + n]):
                formulas[i] = GARBAGE[(start + i) % len(GARBAGE)]
            frame = pd.DataFrame({"row_id": np.arange(start, start + n), "formula": formulas})
            frame.to_csv(handle, header=False, index=False)
    return bad


def run_predict(source: Path, output: Path, chunksize: int) -> tuple[float, float]:
    """Run ``matgenome predict`` in a child process; return (seconds, peak RSS in MB)."""
    command = [sys.executable, "-m", "matgenome", "predict", str(source), "-o",
               str(output), "--chunksize", str(chunksize), "-q"]
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    start = time.perf_counter()
    subprocess.run(command, check=True)
    seconds = time.perf_counter() - start
    peak_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    if peak_kb < before:
        raise RuntimeError("peak RSS of the child could not be isolated")
    return seconds, peak_kb / 1024


def check_output(output: Path, rows: int, bad: np.ndarray) -> dict[str, object]:
    """Stream the output and check count, order and error flags."""
    seen, flagged, order_ok, flags_ok = 0, [], True, True
    for chunk in pd.read_csv(output, chunksize=500_000, keep_default_na=False,
                             dtype={"error": str}):
        ids = chunk["row_id"].to_numpy()
        order_ok &= bool(np.array_equal(ids, np.arange(seen, seen + len(chunk))))
        has_error = (chunk["error"] != "").to_numpy()
        flagged.extend(ids[has_error].tolist())
        flags_ok &= bool((chunk.loc[~has_error, "prediction"] != "").all())
        seen += len(chunk)
    return {"rows_out": seen, "count_ok": seen == rows, "order_ok": order_ok,
            "flags_ok": flags_ok and np.array_equal(np.array(flagged), bad),
            "rows_flagged": len(flagged)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--garbage", type=float, default=0.01)
    parser.add_argument("--chunksize", type=int, default=50_000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        source, output = Path(tmp) / "in.csv", Path(tmp) / "out.csv"
        bad = write_input(source, args.rows, args.garbage, args.seed)
        seconds, peak_mb = run_predict(source, output, args.chunksize)
        checks = check_output(output, args.rows, bad)
    result = {
        "benchmark": "batch_scoring",
        "command": f"python benchmarks/batch_scoring.py --rows {args.rows} "
                   f"--garbage {args.garbage} --chunksize {args.chunksize}",
        "rows": args.rows, "garbage_fraction": args.garbage, "chunksize": args.chunksize,
        "seconds": round(seconds, 1), "rows_per_second": round(args.rows / seconds),
        "peak_rss_mb": round(peak_mb, 1), **checks,
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count(),
                    "platform": platform.platform()},
    }
    print(f"{'rows':>12} {'seconds':>9} {'rows/s':>9} {'peak MB':>9}  count order flags")
    print(f"{args.rows:>12} {seconds:>9.1f} {args.rows / seconds:>9.0f} {peak_mb:>9.1f}  "
          f"{checks['count_ok']!s:>5} {checks['order_ok']!s:>5} {checks['flags_ok']!s:>5}")
    RESULTS.mkdir(exist_ok=True)
    name = RESULTS / f"batch_scoring_{args.rows}.json"
    tmp_name = name.with_suffix(".json.tmp")
    tmp_name.write_text(json.dumps(result, indent=2) + "\n")
    os.replace(tmp_name, name)
    if not (checks["count_ok"] and checks["order_ok"] and checks["flags_ok"]):
        sys.exit("batch scoring lost, reordered or mis-flagged rows")


if __name__ == "__main__":
    main()
