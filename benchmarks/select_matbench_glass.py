"""Model selection for Matbench glass, inside the official training folds only.

For each official fold k, 3-fold stratified cross-validation (shuffled with seed k) runs on
the training rows (fold != k); the test rows of fold k are never read. Balanced accuracy
(labels at probability 0.5 after prior balancing) and ROC-AUC are pooled over each inner
cross-validation and averaged over the five training sets; the recipe
``matgenome.selection.MATBENCH_CLASSIFIERS["matbench_glass"]`` is the winner of this table. Trees:
300 per forest here (the recipe ships 500). Prints a table and writes
``benchmarks/results/select_matbench_glass.json``.

Usage::

    python benchmarks/select_matbench_glass.py [--only name,name]
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from _common import format_table, selected_candidates, write_selection
from sklearn.base import clone
from sklearn.ensemble import ExtraTreesClassifier, HistGradientBoostingClassifier
from sklearn.impute import SimpleImputer
from sklearn.metrics import balanced_accuracy_score, roc_auc_score
from sklearn.model_selection import StratifiedKFold
from sklearn.neighbors import KNeighborsClassifier
from sklearn.pipeline import make_pipeline

from matgenome.datasets import load
from matgenome.features import compute_features
from matgenome.models.classify import PriorBalancedClassifier

RESULTS = Path(__file__).resolve().parent / "results"
TREES = 300
BASE = "default+element_fraction"


def _et(max_features: float | str) -> Callable[[], Any]:
    return lambda: PriorBalancedClassifier(make_pipeline(
        SimpleImputer(strategy="median", keep_empty_features=True),
        ExtraTreesClassifier(TREES, max_features=max_features, random_state=0, n_jobs=1)))


def _knn(k: int) -> Callable[[], Any]:
    return lambda: PriorBalancedClassifier(KNeighborsClassifier(k, weights="distance"))


# name -> (feature preset, unfitted model)
CANDIDATES: dict[str, tuple[str, Callable[[], Any]]] = {
    "ET sqrt": (BASE, _et("sqrt")),
    "ET sqrt + alloy": (BASE + "+alloy", _et("sqrt")),
    "ET max_features 0.3": (BASE, _et(0.3)),
    "ET max_features 0.3 + alloy": (BASE + "+alloy", _et(0.3)),
    "ET max_features 0.5 + alloy": (BASE + "+alloy", _et(0.5)),
    "gradient boosting + alloy": (BASE + "+alloy", lambda: PriorBalancedClassifier(
        HistGradientBoostingClassifier(random_state=0))),
    "kNN k=5 (element fractions)": ("element_fraction", _knn(5)),
    "kNN k=10 (element fractions)": ("element_fraction", _knn(10)),
}


def inner_scores(make: Callable[[], Any], X: np.ndarray, y: np.ndarray,
                 fold: np.ndarray) -> dict[str, list[float]]:
    """Balanced accuracy and ROC-AUC of an inner 3-fold CV on each outer training set."""
    scores: dict[str, list[float]] = {"balanced_accuracy": [], "roc_auc": []}
    for k in range(5):
        train = np.flatnonzero(fold != k)
        probability = np.empty(len(train))
        inner = StratifiedKFold(3, shuffle=True, random_state=k)
        for fit_rows, held_rows in inner.split(train, y[train]):
            model = clone(make()).fit(X[train[fit_rows]], y[train[fit_rows]])
            probability[held_rows] = model.predict_proba(X[train[held_rows]])[:, 1]
        scores["balanced_accuracy"].append(
            float(balanced_accuracy_score(y[train], probability >= 0.5)))
        scores["roc_auc"].append(float(roc_auc_score(y[train], probability)))
    return scores


def main(argv: list[str] | None = None) -> int:
    """Run the selection; see the module docstring."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", help="comma list of candidate names (default: all)")
    parser.add_argument("--output", type=Path, default=RESULTS / "select_matbench_glass.json")
    args = parser.parse_args(argv)
    names = selected_candidates(parser, args.only, CANDIDATES)
    frame = load("matbench_glass")
    y = frame["target"].to_numpy().astype(int)
    fold = frame["fold"].to_numpy(int)
    start = time.perf_counter()
    features: dict[str, np.ndarray] = {}
    results: dict[str, Any] = {}
    for name in names:
        preset, make = CANDIDATES[name]
        if preset not in features:
            features[preset] = compute_features(frame["formula"].tolist(), preset)[0]
        began = time.perf_counter()
        scores = inner_scores(make, features[preset], y, fold)
        results[name] = {"preset": preset, **scores,
                         "balanced_accuracy_mean": float(np.mean(scores["balanced_accuracy"])),
                         "roc_auc_mean": float(np.mean(scores["roc_auc"])),
                         "runtime_seconds": round(time.perf_counter() - began, 1)}
        print(f"  {name:<32} inner balanced accuracy "
              f"{results[name]['balanced_accuracy_mean']:.4f}", file=sys.stderr)
    rows = [(name, r["preset"], f"{r['balanced_accuracy_mean']:.4f}", f"{r['roc_auc_mean']:.4f}")
            for name, r in results.items()]
    print("\nmatbench_glass, inner 3-fold CV on each official training set (mean of five)")
    print(format_table(rows, ("candidate", "features", "balanced accuracy", "ROC-AUC")))
    write_selection("select_matbench_glass", "for each official fold k: StratifiedKFold(3, "
                    "shuffle, seed k) on the rows with fold != k; scores pooled over the inner "
                    "folds, averaged over k", results, start, args.output, trees=TREES)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
