"""How long does ``train``'s recipe selection take on a ~5,000-row table?

Times :func:`matgenome.selection.select_candidate` on all 4,604 rows of Matbench
expt_gap, side by side in one run: the general candidates alone (the selection before the
conditional candidates) and the candidates ``train`` considers for this table now (the
general ones plus the hurdles, since 53% of the gaps are 0 eV). Same folds, seed and jobs.

Usage::

    python benchmarks/selection_time.py [--n-jobs 2]

Prints a table and writes ``benchmarks/results/selection_time.json``.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

from _common import RESULTS_DIR, format_table, software_versions, write_json_atomic

from matgenome.datasets import load
from matgenome.selection import GENERAL, candidates_for, select_candidate
from matgenome.training import dataset_target


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-jobs", type=int, default=2)
    args = parser.parse_args(argv)
    frame = load("matbench_expt_gap")
    formulas = frame["formula"].astype(str).tolist()
    y = frame["target"].to_numpy(float)
    sets = {"general candidates": list(GENERAL),
            "train's candidates now": candidates_for(dataset_target(frame), y, formulas)}
    results = {}
    for name, candidates in sets.items():
        start = time.perf_counter()
        selection = select_candidate(formulas, y, candidates, seed=0, n_jobs=args.n_jobs)
        seconds = time.perf_counter() - start
        results[name] = {"candidates": [c.name for c in candidates],
                         "chosen": selection.chosen.name, "seconds": round(seconds, 1),
                         "scores": selection.scores}
        print(f"  {name}: {seconds:.0f} s, chosen {selection.chosen.name}", file=sys.stderr)
    base = results["general candidates"]["seconds"]
    rows = [[name, len(r["candidates"]), r["chosen"], f"{r['seconds']:.0f}",
             f"{r['seconds'] / base:.2f}"] for name, r in results.items()]
    print(format_table(rows, ["set", "candidates", "chosen", "seconds", "ratio"]))
    write_json_atomic({"benchmark": "selection_time", "rows": len(y), "n_jobs": args.n_jobs,
                       "cpu_count": os.cpu_count(), "load_average": os.getloadavg(),
                       "results": results, "versions": software_versions()},
                      RESULTS_DIR / "selection_time.json")
    return 0


if __name__ == "__main__":
    sys.exit(main())
