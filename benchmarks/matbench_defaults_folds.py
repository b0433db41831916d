"""``matgenome train`` defaults on the official Matbench folds, one fold at a time.

The point predictions of ``train`` with no options, fold by fold: inside each official
training fold the recipe is selected exactly as ``train`` selects it
(``matgenome.training.choose_recipe``: grouped CV among the candidates the rows qualify
for), and the chosen candidate is refitted with its full tree count and seed. The two fits
of ``train`` that do not move a point prediction are skipped: the uncertainty
calibration (the forest is fitted on all rows before it) and the far-from-data fallback
(its default, ``interval``, keeps the prediction and widens the interval). So the MAE
equals that of ``evaluate_matbench.py``'s "matgenome train defaults" at a fraction of the
time, and each fold is written as soon as it is done (the JSON holds the folds finished
so far).

Usage::

    python benchmarks/matbench_defaults_folds.py [--tasks expt_gap,steels] [--folds 0,1,2,3,4]
        [--n-jobs 2] [--output FILE]

Writes ``benchmarks/results/matbench_defaults_folds.json`` (default ``--output``).
"""

from __future__ import annotations

import argparse
import importlib
import sys
import time
from typing import Any

import numpy as np
from _common import RESULTS_DIR, format_table, software_versions, write_json_atomic

from matgenome.composition import parse_many
from matgenome.features import compute_features
from matgenome.training import choose_recipe, dataset_target

ev = importlib.import_module("matgenome.evaluation")
OUTPUT = RESULTS_DIR / "matbench_defaults_folds.json"


def run_fold(frame: Any, target: dict[str, str], train: np.ndarray, test: np.ndarray,
             seed: int, n_jobs: int) -> dict[str, Any]:
    """Select inside the training fold, refit the chosen candidate, score the test fold."""
    start = time.perf_counter()
    formulas = frame["formula"].astype(str).to_numpy()
    y = frame["target"].to_numpy(float)
    compositions, errors = parse_many(formulas[train].tolist())
    if any(errors):
        raise ValueError(f"invalid formulas in the training fold: {errors[:3]}")
    selection = choose_recipe(compositions, y[train], target=target, seed=seed,
                              n_jobs=n_jobs)
    chosen = selection.chosen
    X = compute_features(formulas.tolist(), chosen.features)[0]
    model = chosen.estimator(seed, None, n_jobs, calibration="none")
    model.fit(X[train], y[train])
    predicted = model.predict(X[test])
    return {"chosen": chosen.name, "mae": float(np.mean(np.abs(predicted - y[test]))),
            "test_rows": len(test), "inner_cv": selection.scores,
            "seconds": round(time.perf_counter() - start, 1)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", default="expt_gap,steels")
    parser.add_argument("--folds", default="0,1,2,3,4")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--n-jobs", type=int, default=2)
    parser.add_argument("--output", default=str(OUTPUT))
    args = parser.parse_args(argv)
    folds = [int(f) for f in args.folds.split(",")]
    report: dict[str, Any] = {"benchmark": "matbench_defaults_folds", "seed": args.seed,
                              "versions": software_versions(), "tasks": {}}
    for task in [t.strip() for t in args.tasks.split(",") if t.strip()]:
        frame, _ = ev.load_table(f"matbench_{task}")
        splits = ev.make_splits(frame, "matbench")
        target = dataset_target(frame)
        done: dict[str, Any] = {}
        report["tasks"][task] = {"data_sha256": ev.table_hash(frame), "folds": done}
        for k in folds:
            train, test = splits[k]
            done[str(k)] = run_fold(frame, target, np.asarray(train), np.asarray(test),
                                    args.seed, args.n_jobs)
            maes = [f["mae"] for f in done.values()]
            report["tasks"][task]["mae_mean"] = float(np.mean(maes))
            report["tasks"][task]["mae_std"] = float(np.std(maes))
            write_json_atomic(report, args.output)
            print(f"  {task} fold {k}: {done[str(k)]['chosen']} MAE "
                  f"{done[str(k)]['mae']:.4f} ({done[str(k)]['seconds']:.0f} s)",
                  file=sys.stderr, flush=True)
        rows = [[k, f["chosen"], f"{f['mae']:.4f}"] for k, f in done.items()]
        print(format_table(rows, ["fold", "chosen", "MAE"]))
        print(f"{task}: mean {report['tasks'][task]['mae_mean']:.4f} ± "
              f"{report['tasks'][task]['mae_std']:.4f} over {len(done)} folds")
    return 0


if __name__ == "__main__":
    sys.exit(main())
