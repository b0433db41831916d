"""Benchmark the recommended composition models on Matbench v0.1 (official five folds).

For each task, trains on ``fold != k`` and tests on ``fold == k`` for k = 0..4 and reports
the mean and population std (ddof=0) over folds: MAE for regression, balanced accuracy of
labels thresholded at 0.5 and ROC-AUC of probabilities for classification (the "matgenome
train defaults" classifier: its own labels, with ``balanced_accuracy_at_0.5``, log loss and
Brier score beside them). The reference
baselines (training median or class prior; a plain random forest on Magpie features) run
in the same process. Prints a table and writes ``benchmarks/results/evaluate_matbench.json``.

Usage::

    python benchmarks/evaluate_matbench.py [--quick] [--seeds 1] [--tasks expt_gap,steels]
        [--entries "matgenome train defaults,recommended"]
"""

from __future__ import annotations

import argparse
import importlib
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from _common import (
    finish_report,
    recipe_or_preset_features,
    seed_summary,
    software_versions,
)
from sklearn.dummy import DummyClassifier, DummyRegressor
from sklearn.ensemble import ExtraTreesRegressor, RandomForestClassifier, RandomForestRegressor
from sklearn.impute import SimpleImputer
from sklearn.pipeline import make_pipeline
from task_recipes import get_recipe

from matgenome.datasets import load
from matgenome.training import TrainedModelRegressor, dataset_target

# ``matgenome.evaluation`` is also a function exported by the package: import the module.
ev = importlib.import_module("matgenome.evaluation")

RESULTS = Path(__file__).resolve().parent / "results"
FORMULAS = "formulas (the training path featurizes)"
TASKS = ("expt_gap", "steels", "expt_is_metal", "glass")
TRAIN_DEFAULTS = "matgenome train defaults"
# Leaderboard references (Matbench v0.1), for the printed table only.
LEADERBOARD = {
    "expt_gap": "MODNet 0.333 eV, CrabNet 0.346 eV",
    "steels": "TPOT-Mat 79.9 MPa, AutoML-Mat 82.3 MPa, MODNet 87.8 MPa",
    "expt_is_metal": "AMMExpress balanced accuracy 0.921",
    "glass": "MODNet balanced accuracy 0.960",
}


def entries(task: str, trees: int, baseline_trees: int,
            n_jobs: int = 1) -> dict[str, tuple[str, Callable]]:
    """Benchmark entries of a task: name -> (feature preset, seed -> unfitted model)."""
    recipe = get_recipe(f"matbench_{task}")
    classification = task in ("expt_is_metal", "glass")
    forest = RandomForestClassifier if classification else RandomForestRegressor
    dummy = (
        (lambda seed: DummyClassifier(strategy="prior"))
        if classification
        else (lambda seed: DummyRegressor(strategy="median"))
    )
    regression_only = {} if classification else {
        "extra trees (magpie)": ("magpie", _imputed(ExtraTreesRegressor, trees)),
        TRAIN_DEFAULTS: train_defaults_entry(task, trees, n_jobs),
    }
    classification_only = (
        {TRAIN_DEFAULTS: train_defaults_classification_entry(trees)}
        if classification else {})
    return {
        **regression_only,
        **classification_only,
        "training median/prior": ("magpie", dummy),
        "random forest (magpie)": ("magpie", _imputed(forest, baseline_trees)),
        "recommended": (
            f"recipe:{recipe.name}",
            lambda seed: recipe.make_model(random_state=seed, n_estimators=trees,
                                           n_jobs=n_jobs),
        ),
    }


def train_defaults_classification_entry(trees: int) -> tuple[str, Callable]:
    """What `matgenome train` does with no options on a two-class table: a calibrated
    classifier chosen (features, class balancing, calibration) by grouped inner CV on log
    loss inside each official training fold; labels at the training share of the positive
    class (``balanced_accuracy``), with ``balanced_accuracy_at_0.5`` beside it."""
    from matgenome.classification import TrainedModelClassifier

    return FORMULAS, lambda seed: TrainedModelClassifier(seed=seed, n_estimators=trees,
                                                         n_jobs=1)


def train_defaults_entry(task: str, trees: int,
                         n_jobs: int = 1) -> tuple[str, Callable[[int], Any]]:
    """What ``matgenome train`` does with no options, as a benchmark entry on formulas.

    Inside each official training fold the training path selects the recipe by grouped
    CV among the candidates the table qualifies for (``matgenome.selection``:
    the hurdle where a real share of the rows sits at the minimum, the alloy candidate
    for steels), refits it and adds the domain model and fallback, as ``train`` does.
    """
    target = dataset_target(load(f"matbench_{task}"))
    return FORMULAS, lambda seed: TrainedModelRegressor(seed=seed, n_estimators=trees,
                                                        n_jobs=n_jobs, target=target)


def _imputed(forest: type, trees: int) -> Callable[[int], Any]:
    """seed -> a plain scikit-learn forest after a median imputer (the baselines)."""
    return lambda seed: make_pipeline(
        SimpleImputer(strategy="median", keep_empty_features=True),
        forest(trees, random_state=seed, n_jobs=1),
    )


def run_task(task: str, seeds: int, trees: int, baseline_trees: int,
             only: set[str] | None = None, n_jobs: int = 1) -> dict[str, Any]:
    """Evaluate every entry of a task (or those in ``only``) on the five official folds."""
    frame, name = ev.load_table(f"matbench_{task}")
    task_kind = frame.attrs.get("task", "regression")
    splits = ev.make_splits(frame, "matbench")
    features: dict[str, np.ndarray] = {}
    out: dict[str, Any] = {}
    for entry, (preset, factory) in entries(task, trees, baseline_trees, n_jobs).items():
        if only is not None and entry not in only:
            continue
        if preset == FORMULAS:
            features[preset] = frame["formula"].astype(str).to_numpy(dtype=object)
        elif preset not in features:
            features[preset] = recipe_or_preset_features(frame["formula"].tolist(), preset)
        results = []
        for seed in range(1 if entry.startswith("training") else seeds):
            results.append(
                ev.run_protocol(
                    frame, features[preset], lambda f=factory, s=seed: f(s), splits,
                    dataset=name, protocol={"name": "matbench", "seed": seed}, task=task_kind,
                    allow_leakage=True,  # official folds as published; leaks go to the notes
                    inputs="formulas" if preset == FORMULAS else "features",
                )
            )
        out[entry] = _summarise(results, preset, task_kind,
                                keep_predictions=entry == "recommended")
        print(f"  {task:<14} {entry:<24} done ({out[entry]['runtime_seconds']:.0f} s)",
              file=sys.stderr)
    return out


def _summarise(results: list[ev.EvaluationResult], preset: str, task: str,
               keep_predictions: bool) -> dict[str, Any]:
    """Fold mean ± fold std of each seed, and the spread of the fold means over seeds."""
    keys = (
        [("classification", "balanced_accuracy"), ("classification", "roc_auc"),
         *[("classification", m) for m in ("balanced_accuracy_at_0.5", "log_loss", "brier")
           if m in results[0].metrics["classification"]]]
        if task == "classification"
        else [("regression", "mae"), ("regression", "rmse"), ("regression", "r2")]
    )
    summary = {}
    for section, metric in keys:
        means = [r.metrics[section][metric]["mean"] for r in results]
        stds = [r.metrics[section][metric]["std"] for r in results]
        summary[f"{section}.{metric}"] = {
            "mean": float(np.mean(means)), "fold_std": float(np.mean(stds)),
            "seed_std": float(np.std(means)), "seed_means": means,
        }
    return seed_summary(results, preset, summary, keep_predictions,
                        ("metrics", "fold_metrics", "predictions"))


def print_table(task: str, results: dict[str, Any]) -> None:
    """One row per entry: mean ± fold std (and ± seed std over seeds)."""
    print(f"\nmatbench_{task}  (leaderboard: {LEADERBOARD[task]})")
    for entry, result in results.items():
        cells = [
            f"{key.split('.')[1]} {stat['mean']:.4f} ± {stat['fold_std']:.4f} "
            f"(seeds ± {stat['seed_std']:.4f})"
            for key, stat in result["summary"].items()
        ]
        print(f"  {entry:<24} {' | '.join(cells)}  [{result['runtime_seconds']:.0f} s]")


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; see the module docstring."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="100 trees, one seed")
    parser.add_argument("--seeds", type=int, default=1, help="seeds per model (default 1)")
    parser.add_argument("--tasks", default=",".join(TASKS), help="comma list of tasks")
    parser.add_argument("--baseline-trees", type=int, default=100,
                        help="trees of the plain random-forest baseline (default 100)")
    parser.add_argument("--output", type=Path, default=RESULTS / "evaluate_matbench.json")
    parser.add_argument("--entries", default=None,
                        help="comma list of entries to run (default: all); the others are "
                        "kept from an existing --output file, and the run lists which "
                        "entries it ran")
    parser.add_argument("--n-jobs", type=int, default=1,
                        help="parallel jobs of the matgenome entries (default 1)")
    args = parser.parse_args(argv)
    only = None if args.entries is None else {
        e.strip() for e in args.entries.split(",") if e.strip()}
    tasks = [t.strip() for t in args.tasks.split(",") if t.strip()]
    unknown = sorted(set(tasks) - set(TASKS))
    if unknown:
        parser.error(f"unknown tasks {unknown}; expected some of {TASKS}")
    trees, seeds = (100, 1) if args.quick else (500, args.seeds)
    baseline_trees = min(args.baseline_trees, trees)
    start = time.perf_counter()
    report: dict[str, Any] = {
        "benchmark": "matbench", "quick": args.quick, "seeds": seeds, "trees": trees,
        "baseline_trees": baseline_trees,
        "versions": software_versions(), "tasks": {},
    }
    for task in tasks:
        frame, _ = ev.load_table(f"matbench_{task}")
        ran = run_task(task, seeds, trees, baseline_trees, only, args.n_jobs)
        report["tasks"][task] = {"data_sha256": ev.table_hash(frame), "entries": ran}
        print_table(task, ran)
    if only is not None:
        # Read the earlier report only now, so that partial runs of other tasks or entries
        # that finished meanwhile are kept too.
        report = _merged(_previous(args.output), report)
    finish_report(report, args.output, start)
    return 0


def _merged(previous: dict[str, Any], report: dict[str, Any]) -> dict[str, Any]:
    """``report``'s entries over ``previous``'s; each task lists the entries this run made."""
    tasks = dict(previous.get("tasks", {}))
    for task, result in report["tasks"].items():
        kept = tasks.get(task, {})
        tasks[task] = {**result, "entries": {**kept.get("entries", {}), **result["entries"]},
                       "entries_run": sorted(result["entries"])}
    return {**report, "tasks": tasks}


def _previous(output: Path) -> dict[str, Any]:
    """An earlier report at ``output`` whose entries a partial run keeps (else empty)."""
    import json

    return json.loads(output.read_text()) if output.exists() else {}


if __name__ == "__main__":
    sys.exit(main())
