"""Which nearest-neighbour index the applicability-domain check should use.

The domain check (``matgenome.domain.DomainModel.distance``) averages the distances of each
scored row to its nearest training rows in standardised descriptor space. This script
takes the shipped default model's fitted domain model and times, side by side in one run
and on the same generated formulas, the three exact indexes scikit-learn offers (brute
force, KD tree, ball tree; the shipped model uses ``auto``, which picks brute force for
this many dimensions), checks that their distances agree, and does the same with training
sets grown by repeating jittered copies of the training rows (an index that prunes should
gain as the training set grows).

Run: ``python benchmarks/domain_index.py [--rows 20000]``; writes
``benchmarks/results/domain_index.json``.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
from _common import RESULTS_DIR, format_table, software_versions, write_json_atomic
from formula_samples import random_formulas
from sklearn.neighbors import NearestNeighbors

from matgenome.features import compute_features
from matgenome.modelfile import load_model

ALGORITHMS = ("brute", "kd_tree", "ball_tree")
GROWTH = (1, 10)  # training-set sizes: the shipped rows, and 10x jittered copies


def _query_seconds(index: NearestNeighbors, Z: np.ndarray, k: int,
                   repeats: int) -> tuple[float, np.ndarray]:
    best, distances = np.inf, None
    for _ in range(repeats):
        started = time.perf_counter()
        distances, _ = index.kneighbors(Z, n_neighbors=k)
        best = min(best, time.perf_counter() - started)
    return best, distances


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=20_000, help="generated rows to score")
    parser.add_argument("--repeats", type=int, default=3, help="timing repeats (best kept)")
    parser.add_argument("--output", type=Path, default=RESULTS_DIR / "domain_index.json")
    args = parser.parse_args(argv)

    model = load_model()
    domain = model.domain
    formulas = random_formulas(args.rows, seed=11)
    X, _ = compute_features(formulas, model.card["feature_preset"])
    Z = domain.scaler_.transform(domain.imputer_.transform(np.asarray(X, dtype=float)))
    train = domain.neighbors_._fit_X
    k = domain.n_neighbors_
    rng = np.random.default_rng(0)
    rows, report = [], {"rows_scored": args.rows, "dimensions": int(Z.shape[1]),
                        "n_neighbors": int(k), "results": []}
    for growth in GROWTH:
        fitted = train if growth == 1 else np.vstack(
            [train] + [train + rng.normal(scale=0.05, size=train.shape)
                       for _ in range(growth - 1)])
        reference = None
        for algorithm in ALGORITHMS:
            index = NearestNeighbors(n_neighbors=k, algorithm=algorithm).fit(fitted)
            seconds, distances = _query_seconds(index, Z, k, args.repeats)
            if reference is None:
                reference, brute_seconds = distances, seconds
            max_difference = float(np.max(np.abs(distances - reference)))
            entry = {"training_rows": len(fitted), "algorithm": algorithm,
                     "seconds": seconds, "rows_per_second": args.rows / seconds,
                     "vs_brute": brute_seconds / seconds,
                     "max_abs_distance_difference": max_difference}
            report["results"].append(entry)
            rows.append([len(fitted), algorithm, f"{seconds:.3f}",
                         f"{args.rows / seconds:,.0f}", f"{brute_seconds / seconds:.2f}",
                         f"{max_difference:.1e}"])
    print(format_table(rows, ["training rows", "index", "seconds", "rows/s",
                              "speed vs brute", "max |distance difference|"]))
    report["software"] = software_versions()
    write_json_atomic(report, args.output)
    print(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
