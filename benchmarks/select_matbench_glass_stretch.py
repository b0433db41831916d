"""What the field uses on Matbench glass, chosen inside each official training fold.

For each official fold k, every candidate below is scored by 3-fold stratified
cross-validation on the training rows (fold != k) only; the candidate with the best inner
balanced accuracy is refitted on those rows and scored on the test rows of fold k (the
"selected" row of the table). Each candidate's own test score is reported beside it, for
information only: the selection never reads it. Balanced accuracy uses labels at the
training share of the positive class (prior-balanced, as ``matgenome train`` labels), with
ROC-AUC of the probability.

Candidates: the project's glass recipe (extra trees, ``max_features`` 0.5, on default +
element fractions + alloy descriptors); the same after mutual-information feature selection
(the best 64 columns, estimated on at most 1,500 of the training rows); kNN on element fractions
(distance-weighted, k 5); histogram gradient boosting; a small MLP (two hidden layers,
standardised inputs, early stopping). Prints a table and writes
``benchmarks/results/select_matbench_glass_stretch.json``.

Usage::

    python benchmarks/select_matbench_glass_stretch.py [--folds 0,1,2,3,4] [--trees 300]
    python benchmarks/select_matbench_glass_stretch.py --combine fold0.json fold1.json ...
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from _common import finish_report, software_versions
from sklearn.base import clone
from sklearn.ensemble import ExtraTreesClassifier, HistGradientBoostingClassifier
from sklearn.feature_selection import SelectKBest, mutual_info_classif
from sklearn.impute import SimpleImputer
from sklearn.metrics import balanced_accuracy_score, roc_auc_score
from sklearn.model_selection import StratifiedKFold
from sklearn.neighbors import KNeighborsClassifier
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from matgenome.datasets import load
from matgenome.features import compute_features, feature_labels

RESULTS = Path(__file__).resolve().parent / "results"
PRESET = "default+element_fraction+alloy"
MI_ROWS = 1500


def _imputer() -> SimpleImputer:
    return SimpleImputer(strategy="median", keep_empty_features=True)


def candidates(trees: int, fractions: np.ndarray) -> dict[str, Callable[[], Any]]:
    """name -> unfitted model on the PRESET matrix (kNN reads the element fractions)."""

    def only_fractions(X: np.ndarray) -> np.ndarray:
        return X[:, fractions]

    from sklearn.preprocessing import FunctionTransformer

    return {
        "extra trees 0.5 (recipe)": lambda: make_pipeline(
            _imputer(), ExtraTreesClassifier(trees, max_features=0.5, random_state=0,
                                             n_jobs=1)),
        "MI top-64 + extra trees": lambda: make_pipeline(
            _imputer(), SelectKBest(mutual_information, k=64),
            ExtraTreesClassifier(trees, max_features=0.5, random_state=0, n_jobs=1)),
        "kNN on element fractions": lambda: make_pipeline(
            FunctionTransformer(only_fractions), _imputer(),
            KNeighborsClassifier(5, weights="distance")),
        "gradient boosting": lambda: make_pipeline(
            _imputer(), HistGradientBoostingClassifier(max_iter=300, learning_rate=0.1,
                                                       random_state=0)),
        "small MLP": lambda: make_pipeline(
            _imputer(), StandardScaler(),
            MLPClassifier((128, 64), alpha=1e-3, early_stopping=True, max_iter=300,
                          random_state=0)),
    }


def mutual_information(X: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Mutual information of each column with the label, estimated on at most MI_ROWS of
    the rows it is fitted on (a seeded subsample: the kNN estimator is slow)."""
    rows = np.random.default_rng(0).permutation(len(y))[:MI_ROWS]
    return mutual_info_classif(X[rows], y[rows], random_state=0)


def scores(y: np.ndarray, p: np.ndarray, prior: float) -> dict[str, float]:
    """Balanced accuracy of labels at the training prior, and ROC-AUC."""
    return {"balanced_accuracy": float(balanced_accuracy_score(y, p >= prior)),
            "roc_auc": float(roc_auc_score(y, p))}


def inner_score(make: Callable[[], Any], X: np.ndarray, y: np.ndarray, seed: int) -> float:
    """Pooled balanced accuracy of 3-fold stratified CV inside the training rows."""
    p = np.zeros(len(y))
    prior = np.zeros(len(y))
    for train, test in StratifiedKFold(3, shuffle=True, random_state=seed).split(X, y):
        model = clone(make()).fit(X[train], y[train])
        p[test] = model.predict_proba(X[test])[:, 1]
        prior[test] = y[train].mean()
    return float(balanced_accuracy_score(y, p >= prior))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--folds", default="0,1,2,3,4")
    parser.add_argument("--trees", type=int, default=300)
    parser.add_argument("--output", type=Path,
                        default=RESULTS / "select_matbench_glass_stretch.json")
    parser.add_argument("--combine", type=Path, nargs="+", metavar="JSON",
                        help="merge the results of single-fold runs into --output")
    args = parser.parse_args(argv)
    if args.combine:
        return combine(args.combine, args.output)
    start = time.perf_counter()
    frame = load("matbench_glass")
    X = compute_features(frame["formula"].tolist(), PRESET)[0]
    # The element-fraction block follows the default preset's columns.
    first = len(feature_labels("default"))
    fractions = np.arange(first, first + len(feature_labels("element_fraction")))
    assert first + len(fractions) + len(feature_labels("alloy")) == X.shape[1]
    y = frame["target"].to_numpy(int)
    fold = frame["fold"].to_numpy(int)
    models = candidates(args.trees, fractions)
    per_fold: list[dict[str, Any]] = []
    for k in [int(f) for f in args.folds.split(",")]:
        train, test = fold != k, fold == k
        prior = float(y[train].mean())
        inner, test_scores = {}, {}
        for name, make in models.items():
            inner[name] = inner_score(make, X[train], y[train], seed=k)
            model = clone(make()).fit(X[train], y[train])
            test_scores[name] = scores(y[test], model.predict_proba(X[test])[:, 1], prior)
            print(f"  fold {k} {name:<28} inner {inner[name]:.4f}  test "
                  f"{test_scores[name]['balanced_accuracy']:.4f}", file=sys.stderr)
        chosen = max(inner, key=inner.get)
        per_fold.append({"fold": k, "inner_balanced_accuracy": inner, "test": test_scores,
                         "selected": chosen, "selected_test": test_scores[chosen]})
    report = {"benchmark": "select_matbench_glass_stretch", "preset": PRESET,
              "trees": args.trees, "folds": args.folds, "versions": software_versions(),
              **summarise(per_fold, list(models))}
    finish_report(report, args.output, start)
    return 0


def summarise(per_fold: list[dict[str, Any]], names: list[str]) -> dict[str, Any]:
    """Mean over folds of each candidate's scores and of the selected one's; prints them."""
    table = {name: {"inner_balanced_accuracy": float(np.mean(
                        [f["inner_balanced_accuracy"][name] for f in per_fold])),
                    "test_balanced_accuracy": float(np.mean(
                        [f["test"][name]["balanced_accuracy"] for f in per_fold])),
                    "test_roc_auc": float(np.mean([f["test"][name]["roc_auc"]
                                                   for f in per_fold]))}
             for name in names}
    selected = {"test_balanced_accuracy": float(np.mean(
        [f["selected_test"]["balanced_accuracy"] for f in per_fold])),
        "test_roc_auc": float(np.mean([f["selected_test"]["roc_auc"] for f in per_fold])),
        "chosen": [f["selected"] for f in per_fold]}
    print(f"\nmatbench_glass stretch (folds {[f['fold'] for f in per_fold]})")
    print(f"  {'candidate':<28} {'inner BA':>9} {'test BA':>9} {'test AUC':>9}")
    for name, row in table.items():
        print(f"  {name:<28} {row['inner_balanced_accuracy']:>9.4f} "
              f"{row['test_balanced_accuracy']:>9.4f} {row['test_roc_auc']:>9.4f}")
    print(f"  {'selected inside each fold':<28} {'':>9} "
          f"{selected['test_balanced_accuracy']:>9.4f} {selected['test_roc_auc']:>9.4f}"
          f"  ({', '.join(selected['chosen'])})")
    return {"candidates": table, "selected": selected, "per_fold": per_fold}


def combine(paths: list[Path], output: Path) -> int:
    """One result from runs of single folds (``--folds k`` each, e.g. run one after another
    on a loaded machine)."""
    import json

    start = time.perf_counter()
    runs = [json.loads(p.read_text()) for p in paths]
    per_fold = sorted((f for run in runs for f in run["per_fold"]), key=lambda f: f["fold"])
    report = {"benchmark": "select_matbench_glass_stretch", "preset": PRESET,
              "trees": runs[0]["trees"], "folds": ",".join(str(f["fold"]) for f in per_fold),
              "versions": runs[0]["versions"],
              "runtime_seconds_of_runs": [run["runtime_seconds"] for run in runs],
              **summarise(per_fold, list(runs[0]["candidates"]))}
    finish_report(report, output, start)
    return 0


if __name__ == "__main__":
    sys.exit(main())
