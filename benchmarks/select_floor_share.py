"""From what share of rows at the minimum value is the hurdle form worth considering?

``train`` considers the hurdle candidates (a classifier of "at the floor" times a regressor
above it, ``matgenome.selection``) only when a real share of a table's rows sits at
its minimum value. This benchmark sets that share: from Matbench expt_gap (metals at
exactly 0 eV) it draws tables of ``--rows`` rows whose share of metals is 2% to 40%, and
scores plain extra trees on the default preset and element fractions against the √ hurdle
on the same features, by the grouped 5-fold cross-validation that ``train`` runs
(``select_candidate``: k-means clusters of Magpie descriptors, 200 trees, MAE in eV), over
``--draws`` draws per share. The rule, fixed before the run: the threshold is the smallest
share from which the hurdle's mean MAE is no worse than the plain trees' at that share and
every larger one.

Usage::

    python benchmarks/select_floor_share.py [--rows 800] [--draws 2]

Prints a table and writes ``benchmarks/results/select_floor_share.json``.
"""

from __future__ import annotations

import argparse
import sys
import time
from typing import Any

import numpy as np
from _common import RESULTS_DIR, format_table, software_versions, write_json_atomic

from matgenome.datasets import load
from matgenome.selection import FLOOR_SHARE, get_candidate, select_candidate

SHARES = (0.02, 0.05, 0.10, 0.20, 0.40)
PLAIN, HURDLE = "extra_trees_fractions", "hurdle_sqrt_fractions"


def draw(frame: Any, share: float, rows: int, seed: int) -> tuple[list[str], np.ndarray]:
    """``rows`` rows of expt_gap with ``share`` of them metals (gap 0)."""
    rng = np.random.default_rng(seed)
    y = frame["target"].to_numpy(float)
    metals, others = np.flatnonzero(y == 0), np.flatnonzero(y > 0)
    n_metal = round(share * rows)
    picked = np.r_[rng.choice(metals, n_metal, replace=False),
                   rng.choice(others, rows - n_metal, replace=False)]
    return frame["formula"].astype(str).to_numpy()[picked].tolist(), y[picked]


def threshold(table: dict[float, dict[str, float]]) -> float | None:
    """The smallest share from which the hurdle never loses to the plain trees."""
    shares = sorted(table)
    for i, share in enumerate(shares):
        if all(table[s][HURDLE] <= table[s][PLAIN] for s in shares[i:]):
            return share
    return None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=800)
    parser.add_argument("--draws", type=int, default=2)
    parser.add_argument("--n-jobs", type=int, default=1)
    args = parser.parse_args(argv)
    start = time.perf_counter()
    frame = load("matbench_expt_gap")
    candidates = [get_candidate(PLAIN), get_candidate(HURDLE)]
    runs, table = [], {}
    for share in SHARES:
        scores: dict[str, list[float]] = {PLAIN: [], HURDLE: []}
        for seed in range(args.draws):
            formulas, y = draw(frame, share, args.rows, seed)
            selection = select_candidate(formulas, y, candidates, seed=seed, n_jobs=args.n_jobs)
            for name in scores:
                scores[name].append(selection.scores[name]["cv_mae"])
            runs.append({"share": share, "draw": seed, "scores": selection.scores})
            print(f"  share {share:.2f} draw {seed}: "
                  + ", ".join(f"{k} {v[-1]:.4f}" for k, v in scores.items()), file=sys.stderr)
        table[share] = {name: float(np.mean(v)) for name, v in scores.items()}
    rows = [[f"{s:.2f}", f"{t[PLAIN]:.4f}", f"{t[HURDLE]:.4f}",
             f"{t[HURDLE] - t[PLAIN]:+.4f}"] for s, t in table.items()]
    print(format_table(rows, ["share at 0 eV", PLAIN, HURDLE, "hurdle - plain (eV)"]))
    chosen = threshold(table)
    print(f"smallest share from which the hurdle never loses: {chosen}; "
          f"matgenome.selection.FLOOR_SHARE = {FLOOR_SHARE}")
    report = {"benchmark": "select_floor_share", "rows": args.rows, "draws": args.draws,
              "shares": list(SHARES), "mean_cv_mae": {str(s): t for s, t in table.items()},
              "threshold": chosen, "floor_share_in_use": FLOOR_SHARE, "runs": runs,
              "versions": software_versions(),
              "runtime_seconds": round(time.perf_counter() - start, 1)}
    write_json_atomic(report, RESULTS_DIR / "select_floor_share.json")
    return 0


if __name__ == "__main__":
    sys.exit(main())
