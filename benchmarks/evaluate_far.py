"""Benchmark how good the trained model is near and far from its data, on OBELiX.

Four protocols, each run through ``matgenome.evaluation.evaluate`` exactly as ``matgenome
evaluate obelix`` runs them (every fold trains ``matgenome train``'s path,
``TrainedModelRegressor``, on the fold's training rows only):

``official``
    the official OBELiX train/test split (478/121 rows);
``doi``
    paper-grouped 5-fold CV by DOI; a composition reported by papers in two folds is left
    out of the training side of the fold that tests it (``linked="drop"``);
``family``
    leave-family-out: each crystal family with at least 20 exact rows is the test set in
    turn, the linking compositions left out of its training rows (``linked="drop"``);
``loco``
    leave-one-cluster-out over 5 k-means clusters of the descriptors (``evaluate``'s
    ``loco`` protocol).

Model variants are ``TrainedModelRegressor`` options: ``none`` (``fallback="none"``: the
trees' prediction and interval everywhere), ``interval`` (the default: where the model is
unsure far from its training rows the interval widens towards the training distribution,
the prediction is kept) and ``mean`` (the prediction also moves towards the training
median). For every variant and protocol, per fold and pooled over all out-of-fold rows:
MAE (exact rows), hinge MAE (every row; a ``<1E-10`` bound counts only the error it
proves), 68% and 95% interval coverage and Spearman(|error|, sd) (exact rows), the MAE
of the training-median and plain extra-trees baselines fitted in the same fold, and the
ratio MAE / median-baseline MAE (its maximum over folds). Writes
``benchmarks/results/evaluate_far.json`` atomically, with versions and data hashes.

Usage::

    python benchmarks/evaluate_far.py [--protocols official,doi,family,loco]
        [--variants none,interval,mean] [--seed 0] [--n-jobs 1] [--output PATH]
"""

from __future__ import annotations

import argparse
import importlib
import inspect
import math
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from _common import (
    REPO_ROOT,
    Stopwatch,
    finish_report,
    fmt_number,
    format_table,
    software_versions,
)

from matgenome.censoring import censor_of, is_exact
from matgenome.provenance import file_sha256

# ``matgenome.evaluation`` is also a function exported by the package: import the module.
ev = importlib.import_module("matgenome.evaluation")

RESULTS = Path(__file__).resolve().parent / "results"
MIN_FAMILY_ROWS = 20
N_FOLDS = 5
#: protocol -> the keyword arguments of ``evaluate`` that make it.
PROTOCOLS: dict[str, dict[str, Any]] = {
    "official": {"protocol": "obelix"},
    "doi": {"protocol": "group", "group_column": "doi", "n_splits": N_FOLDS,
            "linked": "drop"},
    "family": {"protocol": "logo", "group_column": "family", "linked": "drop",
               "min_group_rows": MIN_FAMILY_ROWS},
    "loco": {"protocol": "loco", "n_splits": N_FOLDS},
}
VARIANTS = ("none", "interval", "mean")
#: What each fold held out, copied from the evaluation's fold records.
FOLD_COUNTS = ("group_kind", "train_rows", "test_rows", "train_exact_rows", "test_exact_rows",
               "train_groups", "test_groups", "linking_rows_removed")
DATA_FILES = ("all.csv", "train.csv", "test.csv")
#: Source files of what is measured, hashed into the result (the model may change between
#: releases while the version number does not).
SOURCE_FILES = ("matgenome/training.py", "matgenome/models/fallback.py",
                "matgenome/evaluation/runner.py", "matgenome/evaluation/splits.py")


def has_fallback() -> bool:
    """Whether this version of the training path has the ``fallback`` option."""
    from matgenome.training import TrainedModelRegressor

    return "fallback" in inspect.signature(TrainedModelRegressor).parameters


def offered_variants() -> tuple[str, ...]:
    """The ``fallback`` values this version of the training path offers."""
    if not has_fallback():
        return ("none",)  # no fallback option: the trees' prediction everywhere
    from matgenome.training import FALLBACKS

    return tuple(FALLBACKS)


def default_variants() -> tuple[str, ...]:
    """The variants of :data:`VARIANTS` this version of the training path offers."""
    offered = offered_variants()
    return tuple(v for v in VARIANTS if v in offered) or ("none",)


def _train_default_fallback() -> str | None:
    """The fallback ``matgenome train`` uses when none is given (None without the option)."""
    if not has_fallback():
        return None
    from matgenome.training import TrainedModelRegressor

    return inspect.signature(TrainedModelRegressor).parameters["fallback"].default


def model_options(variant: str) -> dict[str, Any]:
    """``matgenome train`` defaults with the variant's fallback, one core."""
    return {"n_jobs": 1, **({"fallback": variant} if has_fallback() else {})}


def run_one(variant: str, protocol: str, seed: int) -> dict[str, Any]:
    """Evaluate one variant under one protocol; the fold and pooled scores."""
    settings = {k: v for k, v in PROTOCOLS[protocol].items() if k != "protocol"}
    result = ev.evaluate("obelix", protocol=PROTOCOLS[protocol]["protocol"],
                         random_state=seed, model_options=model_options(variant),
                         baselines=True, **settings)
    print(f"  {variant:<9} {protocol:<9} done ({result.runtime_seconds:.0f} s)",
          file=sys.stderr)
    return summarise(result)


def summarise(result: Any) -> dict[str, Any]:
    """Per-fold and pooled scores of one evaluation, from its per-row predictions."""
    predictions = result.predictions
    folds = []
    for fold in result.folds:
        rows = predictions[predictions["fold"] == fold["fold"]]
        scores = scores_of(rows)
        counts = {k: fold[k] for k in FOLD_COUNTS}
        names = {"held_out": fold["test_group_names"]} if "test_group_names" in fold else {}
        folds.append({"fold": fold["fold"], **names, **counts, **scores})
    ratios = [f["mae_to_median"] for f in folds if math.isfinite(f["mae_to_median"])]
    return {
        "protocol": result.protocol,
        "folds": folds,
        "pooled": scores_of(predictions),
        "max_mae_to_median": max(ratios) if ratios else math.nan,
        "recipes": [note.split(": recipe ")[-1] for note in result.notes if ": recipe " in note],
        "warnings": result.warnings,
        "notes": [note for note in result.notes if ": recipe " not in note],
        "runtime_seconds": result.runtime_seconds,
    }


def scores_of(rows: pd.DataFrame) -> dict[str, float]:
    """MAE, hinge MAE, coverage, Spearman(|error|, sd) and the baselines of some rows."""
    censor = censor_of(rows)
    exact = is_exact(censor)
    truth, predicted = rows["y_true"].to_numpy(float), rows["y_pred"].to_numpy(float)
    mae = _mae(truth[exact], predicted[exact])
    median = _mae(truth[exact], rows["baseline_training_median"].to_numpy(float)[exact])
    scores = {
        "n_exact": int(exact.sum()), "n_censored": int((~exact).sum()),
        "mae": mae,
        "hinge_mae": ev.hinge_mae(truth, predicted, censor),
        "median_mae": median,
        "extra_trees_mae": _mae(truth[exact], rows["baseline_extra_trees"].to_numpy(float)[exact]),
        "mae_to_median": mae / median if median > 0 else math.nan,
    }
    uncertainty = ev.uncertainty_metrics(truth[exact], predicted[exact],
                                         rows["y_std"].to_numpy(float)[exact])
    for name in ("coverage_68", "coverage_95", "spearman_error_std", "mean_std"):
        scores[name] = uncertainty.get(name, math.nan)
    return scores


def _mae(truth: np.ndarray, predicted: np.ndarray) -> float:
    return float(np.mean(np.abs(predicted - truth))) if len(truth) else math.nan


COLUMNS = (("MAE", "mae"), ("hinge", "hinge_mae"), ("median", "median_mae"),
           ("ratio", "mae_to_median"), ("ET", "extra_trees_mae"), ("cov68", "coverage_68"),
           ("cov95", "coverage_95"), ("rho(err,sd)", "spearman_error_std"))


def print_table(variant: str, protocol: str, entry: dict[str, Any]) -> None:
    """One line per fold and a pooled line."""
    headers = ["fold", "held out", "train", "test", "removed", *[c for c, _ in COLUMNS]]
    rows = []
    for fold in entry["folds"]:
        rows.append([fold["fold"], _held_out(fold), fold["train_rows"], fold["test_rows"],
                     fold["linking_rows_removed"],
                     *[fmt_number(fold[key]) for _, key in COLUMNS]])
    pooled = entry["pooled"]
    rows.append(["pooled", "", "", pooled["n_exact"] + pooled["n_censored"], "",
                 *[fmt_number(pooled[key]) for _, key in COLUMNS]])
    print(f"\nOBELiX, fallback={variant}, protocol {protocol} (max MAE/median over folds "
          f"{fmt_number(entry['max_mae_to_median'])})")
    print(format_table(rows, headers))
    for message in entry["warnings"]:
        print(f"warning: {message}")


def _held_out(fold: dict[str, Any]) -> str:
    """The held-out group's name (family, cluster), or how many groups (papers)."""
    names = fold.get("held_out", [])
    if fold["test_groups"] == 1 and names:
        return str(names[0])
    return f"{fold['test_groups']} {fold['group_kind']} groups"


def print_summary(report: dict[str, Any]) -> None:
    """The pooled scores of every variant and protocol in one table."""
    rows = []
    for variant, entries in report["variants"].items():
        for protocol, entry in entries.items():
            pooled = entry["pooled"]
            rows.append([variant, protocol, len(entry["folds"]),
                         *[fmt_number(pooled[key]) for _, key in COLUMNS],
                         fmt_number(entry["max_mae_to_median"])])
    print("\nPooled over out-of-fold rows (MAE over exact rows; ratio = MAE / median "
          "baseline; max ratio over folds)")
    print(format_table(rows, ["fallback", "protocol", "folds", *[c for c, _ in COLUMNS],
                              "max ratio"]))


def run_all(jobs: list[tuple[str, str]], seed: int, n_jobs: int) -> list[dict[str, Any]]:
    """Every (variant, protocol) evaluation, in worker processes when ``n_jobs > 1``."""
    if n_jobs == 1:
        return [run_one(variant, protocol, seed) for variant, protocol in jobs]
    from joblib import Parallel, delayed

    return Parallel(n_jobs=n_jobs)(delayed(run_one)(v, p, seed) for v, p in jobs)


def _names(parser: argparse.ArgumentParser, text: str, known: tuple[str, ...],
           what: str, source: str = "known") -> list[str]:
    """The names of a comma list, or a parser error naming the unknown ones."""
    names = [name.strip() for name in text.split(",") if name.strip()]
    unknown = [name for name in names if name not in known]
    if unknown or not names:
        parser.error(f"unknown {what} {unknown or text!r}; {source}: {', '.join(known)}")
    return names


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; see the module docstring."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--protocols", default=",".join(PROTOCOLS),
                        help=f"comma list of {', '.join(PROTOCOLS)} (default: all)")
    parser.add_argument("--variants", default=None,
                        help="comma list of TrainedModelRegressor fallback values (default: "
                        f"{','.join(VARIANTS)}, those this version offers)")
    parser.add_argument("--seed", type=int, default=0,
                        help="seed of the folds, clusters, training and baselines (0)")
    parser.add_argument("--n-jobs", type=int, default=1,
                        help="evaluations run at once, one process each (default 1)")
    parser.add_argument("--output", type=Path, default=RESULTS / "evaluate_far.json")
    args = parser.parse_args(argv)
    protocols = _names(parser, args.protocols, tuple(PROTOCOLS), "protocols")
    variants = _names(parser, args.variants or ",".join(default_variants()),
                      offered_variants(), "variants",
                      "fallback values this version of matgenome.training offers")
    if args.n_jobs < 1:
        parser.error("--n-jobs must be at least 1")
    start, clock = time.perf_counter(), Stopwatch()
    frame, _ = ev.load_table("obelix")
    data = REPO_ROOT / "datasets" / "obelix"
    report: dict[str, Any] = {
        "benchmark": "evaluate_far",
        "dataset": "obelix",
        "data_sha256": ev.table_hash(frame),
        "data_files_sha256": {name: file_sha256(data / name) for name in DATA_FILES
                              if (data / name).exists()},
        "versions": software_versions(),
        "source_sha256": {name: file_sha256(REPO_ROOT / name) for name in SOURCE_FILES
                          if (REPO_ROOT / name).exists()},
        "seed": args.seed,
        "train_default_fallback": _train_default_fallback(),
        "protocols": {name: PROTOCOLS[name] for name in protocols},
        "notes": [
            "every fold trains matgenome train's path (TrainedModelRegressor with its "
            "defaults, n_jobs=1) on the fold's training rows only, via "
            "matgenome.evaluation.evaluate",
            "MAE, coverage and Spearman(|error|, sd) over exact rows; hinge MAE over every "
            "row, a '<1E-10' bound counting max(0, prediction - bound)",
            "baselines fitted per fold on its exact training rows: the training median and "
            "ExtraTreesRegressor(500) on Magpie descriptors with the run's seed",
            "mae_to_median: the model's MAE over the median baseline's in the same fold; "
            "max_mae_to_median: its maximum over folds",
            "doi and family: compositions of the test set are removed from the training "
            "rows (linked='drop', counted per fold as linking_rows_removed)",
            f"family: each family with at least {MIN_FAMILY_ROWS} exact rows held out in "
            "turn; smaller families always train",
        ],
        "variants": {},
    }
    jobs = [(variant, protocol) for variant in variants for protocol in protocols]
    for (variant, protocol), entry in zip(jobs, run_all(jobs, args.seed, args.n_jobs),
                                          strict=True):
        report["variants"].setdefault(variant, {})[protocol] = entry
        print_table(variant, protocol, entry)
    print_summary(report)
    # CPU time of this process (worker processes with --n-jobs > 1 are not included).
    report["time"] = {**clock.elapsed(), "n_jobs": args.n_jobs}
    finish_report(report, args.output, start)
    return 0


if __name__ == "__main__":
    sys.exit(main())
