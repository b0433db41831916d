"""Censored conductivities as bounds: drop them, or a hurdle (classifier + regressor)?

OBELiX reports 37 of 599 conductivities as ``<1E-10`` S/cm. The shipped recipe drops them
(``CensoredRegressor(strategy="drop")`` of ``benchmarks/censored_strategies.py``);
:class:`~matgenome.models.censored.CensoredHurdleRegressor` keeps the same regressor on
the measured rows and adds a classifier for "below the bound". This script compares them
in two stages:

1. **Selection, training split only**: 5-fold CV grouped by paper (DOI; papers sharing a
   composition merged), the folds of ``benchmarks/select_obelix_model.py`` (same frame,
   grouping column and ``make_splits`` call), ``--seeds`` fold shuffles. Scores pooled over
   held-out rows: MAE on measured rows, hinge error ``max(0, prediction - bound)`` on
   censored rows, the hinge MAE over all rows (censored rows count with their hinge
   error), 68% interval coverage on measured rows, and the Brier score of
   ``P(censored)``. The rule, fixed before any run: the lowest CV hinge MAE among the
   variants whose CV measured-row MAE is within ``TOLERANCE`` of ``drop``'s.
2. **Official split**: fit on the 478 training rows, score the 121 test rows (113
   measured, 8 censored), ``--model-seeds`` model seeds; reported, never used to choose.

The combination rules (``switch`` at several thresholds, ``median``, ``mixture``) act only
at prediction time, so they share one fit per fold (``set_params`` on the fitted model);
``drop`` is that fit's own regressor (the same estimator, seed and rows as
``CensoredRegressor(strategy="drop")``). Prints two tables and writes
``benchmarks/results/select_censored.json``.

Usage::

    python benchmarks/select_censored.py [--seeds 3] [--model-seeds 5]
"""

from __future__ import annotations

import argparse
import importlib
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from _common import RESULTS_DIR, format_table, mean_std, software_versions, write_json_atomic
from sklearn.calibration import CalibratedClassifierCV
from sklearn.ensemble import ExtraTreesClassifier
from sklearn.impute import SimpleImputer
from sklearn.metrics import roc_auc_score
from sklearn.pipeline import make_pipeline
from task_recipes import get_recipe

from matgenome.censoring import EXACT, UPPER
from matgenome.evaluation.metrics import hinge_mae
from matgenome.models.censored import CensoredHurdleRegressor

ev = importlib.import_module("matgenome.evaluation")
TOLERANCE = 0.02  # log10 S/cm: how much measured-row CV MAE a variant may lose vs drop
TREES = 500  # as the shipped recipe
# Per fold of the calibrated classifier: its five fold models vote together, so scoring
# costs 500 classifier trees, as many as the regressor.
CLASSIFIER_TREES = 100

# fitted model -> seed -> unfitted hurdle (the regressor is the recipe's in every case)
FITS: dict[str, Callable[[int], CensoredHurdleRegressor]] = {
    "trees": lambda seed: CensoredHurdleRegressor(random_state=seed, n_jobs=1),
    "trees+sigmoid": lambda seed: CensoredHurdleRegressor(
        classifier=CalibratedClassifierCV(make_pipeline(
            SimpleImputer(strategy="median", keep_empty_features=True),
            ExtraTreesClassifier(CLASSIFIER_TREES, max_features=0.1, random_state=seed,
                                 n_jobs=1)),
            method="sigmoid", cv=5),
        random_state=seed, n_jobs=1),
    "trees+sigmoid, below level": lambda seed: FITS["trees+sigmoid"](seed).set_params(
        classify="below_level"),
}

# variant -> (fit it uses, prediction-time parameters; None: the fit's regressor = drop)
VARIANTS: dict[str, tuple[str, dict[str, Any] | None]] = {
    "drop (shipped)": ("trees", None),
    **{f"hurdle switch p>={t}": ("trees", {"combine": "switch", "decision_threshold": t})
       for t in (0.3, 0.4, 0.5, 0.6)},
    "hurdle median": ("trees", {"combine": "median"}),
    "hurdle mixture mean": ("trees", {"combine": "mixture"}),
    **{f"hurdle switch p>={t}, sigmoid": ("trees+sigmoid",
                                         {"combine": "switch", "decision_threshold": t})
       for t in (0.3, 0.5)},
    "hurdle median, sigmoid": ("trees+sigmoid", {"combine": "median"}),
    **{f"hurdle switch p>={t}, sigmoid, below level": (
        "trees+sigmoid, below level", {"combine": "switch", "decision_threshold": t})
       for t in (0.3, 0.5)},
    "hurdle median, sigmoid, below level": ("trees+sigmoid, below level",
                                            {"combine": "median"}),
}


def scores(y: np.ndarray, censored: np.ndarray, parts: dict[str, np.ndarray]) -> dict[str, float]:
    """All metrics of one set of predictions (``parts`` from ``predict_uncertainty``)."""
    mean, std = parts["mean"], parts["uncertainty"]
    measured = ~censored
    excess = np.maximum(mean - y, 0.0)[censored]
    out = {
        "mae_measured": float(np.mean(np.abs(mean - y)[measured])),
        "hinge_censored": float(np.mean(excess)) if censored.any() else float("nan"),
        "hinge_mae_all": hinge_mae(y, mean, np.where(censored, UPPER, EXACT)),
        "coverage_68": float(np.mean((np.abs(mean - y) <= std)[measured])),
        "n_censored_at_or_below": int(np.sum(excess == 0)),
        "n_censored": int(censored.sum()),
    }
    if "p_censored" in parts:
        # Scored against the flag itself (for ``below level`` fits too): does P(censored)
        # find the rows reported as too low to measure?
        out["brier_p_censored"] = float(np.mean((parts["p_censored"] - censored) ** 2))
        out["auc_p_censored"] = float(roc_auc_score(censored, parts["p_censored"]))
    return out


def predict_variants(fitted: dict[str, CensoredHurdleRegressor],
                     X: np.ndarray) -> dict[str, dict[str, np.ndarray]]:
    """Every variant's ``predict_uncertainty`` on ``X`` from the shared fits."""
    out = {}
    for name, (fit, params) in VARIANTS.items():
        model = fitted[fit]
        if params is None:
            out[name] = model.regressor_.predict_uncertainty(X)
        else:
            out[name] = model.set_params(**params).predict_uncertainty(X)
    return out


def fit_all(X: np.ndarray, y: np.ndarray, censored: np.ndarray,
            seed: int) -> dict[str, CensoredHurdleRegressor]:
    return {name: make(seed).fit(X, y, censored=censored) for name, make in FITS.items()}


def training_frame() -> tuple[pd.DataFrame, pd.DataFrame]:
    """OBELiX train and test rows with a ``paper`` column, as select_obelix_model builds it."""
    frame, _ = ev.load_table("obelix")
    train = frame[frame["split"] == "train"].reset_index(drop=True)
    train["paper"] = train["doi"].fillna(pd.Series("row " + train.index.astype(str)))
    test = frame[frame["split"] == "test"].reset_index(drop=True)
    return train, test


def cross_validate(train: pd.DataFrame, X: np.ndarray, seeds: int) -> dict[str, list[dict]]:
    """Pooled out-of-fold scores per variant, one entry per fold shuffle."""
    y, censored = train["target"].to_numpy(float), train["censor"].ne("").to_numpy()
    keys = ev.composition_labels(train["formula"].tolist())
    per_seed: dict[str, list[dict]] = {name: [] for name in VARIANTS}
    for seed in range(seeds):
        splits = ev.make_splits(train, "group", group_column="paper", random_state=seed)
        pooled = {name: {} for name in VARIANTS}
        for k, (tr, te) in enumerate(splits):
            leak = ev.check_leakage(keys, tr, te, train["paper"].tolist())
            if not leak.clean:
                raise ValueError(f"seed {seed} fold {k}: {leak.describe()}")
            predicted = predict_variants(fit_all(X[tr], y[tr], censored[tr], seed), X[te])
            for name, parts in predicted.items():
                for key, value in parts.items():
                    pooled[name].setdefault(key, np.empty(len(y)))[te] = value
        for name in VARIANTS:
            per_seed[name].append(scores(y, censored, pooled[name]))
        print(f"  CV shuffle {seed} done", flush=True)
    return per_seed


def official(train: pd.DataFrame, test: pd.DataFrame, X_train: np.ndarray,
             X_test: np.ndarray, seeds: int) -> dict[str, list[dict]]:
    """Official-split scores per variant, one entry per model seed."""
    y, censored = train["target"].to_numpy(float), train["censor"].ne("").to_numpy()
    y_test, c_test = test["target"].to_numpy(float), test["censor"].ne("").to_numpy()
    per_seed: dict[str, list[dict]] = {name: [] for name in VARIANTS}
    for seed in range(seeds):
        predicted = predict_variants(fit_all(X_train, y, censored, seed), X_test)
        for name, parts in predicted.items():
            per_seed[name].append(scores(y_test, c_test, parts))
    return per_seed


def summarise(per_seed: dict[str, list[dict]]) -> dict[str, dict[str, Any]]:
    return {name: {"per_seed": runs,
                   **{metric: mean_std(run[metric] for run in runs) for metric in runs[0]}}
            for name, runs in per_seed.items()}


def prior_brier(train_censored: np.ndarray, censored: np.ndarray) -> float:
    """Brier score of predicting the training censored fraction everywhere (no skill)."""
    return float(np.mean((np.mean(train_censored) - censored) ** 2))


def choose(cv: dict[str, dict[str, Any]]) -> str:
    """Lowest CV hinge MAE among variants within TOLERANCE of drop's measured-row MAE."""
    limit = cv["drop (shipped)"]["mae_measured"]["mean"] + TOLERANCE
    allowed = [n for n, r in cv.items() if r["mae_measured"]["mean"] <= limit]
    return min(allowed, key=lambda n: cv[n]["hinge_mae_all"]["mean"])


def _cell(stats: dict[str, float], digits: int = 3) -> str:
    return f"{stats['mean']:.{digits}f} ± {stats['std']:.{digits}f}"


def table(summary: dict[str, dict[str, Any]], chosen: str) -> str:
    rows = []
    for name, r in summary.items():
        brier = _cell(r["brier_p_censored"]) if "brier_p_censored" in r else "-"
        auc = _cell(r["auc_p_censored"], 2) if "auc_p_censored" in r else "-"
        rows.append(("*" if name == chosen else "", name, _cell(r["mae_measured"]),
                     _cell(r["hinge_censored"]), _cell(r["hinge_mae_all"]),
                     _cell(r["coverage_68"]), _cell(r["n_censored_at_or_below"], 1)
                     + f" / {r['per_seed'][0]['n_censored']}", brier, auc))
    return format_table(rows, ("", "variant", "MAE measured", "hinge censored",
                               "hinge MAE all", "cov68 measured", "censored <= bound",
                               "Brier P(cens)", "AUC P(cens)"))


def main(argv: list[str] | None = None) -> int:
    """Run the selection and the official-split check; see the module docstring."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=3, help="CV fold shuffles (default 3)")
    parser.add_argument("--model-seeds", type=int, default=5,
                        help="model seeds on the official split (default 5)")
    parser.add_argument("--output", type=Path, default=RESULTS_DIR / "select_censored.json")
    args = parser.parse_args(argv)
    start = time.perf_counter()
    train, test = training_frame()
    recipe = get_recipe("obelix")
    X_train = recipe.featurize(train["formula"].tolist())
    X_test = recipe.featurize(test["formula"].tolist())
    cv = summarise(cross_validate(train, X_train, args.seeds))
    chosen = choose(cv)
    print(f"\nOBELiX training split ({len(train)} rows), GroupKFold(5) by paper, pooled "
          f"held-out scores, mean ± std over {args.seeds} fold shuffles (* = chosen)")
    print(table(cv, chosen))
    no_skill = {"cv": prior_brier(train["censor"].ne(""), train["censor"].ne("")),
                "official": prior_brier(train["censor"].ne(""), test["censor"].ne(""))}
    print(f"Brier of the constant training base rate (no skill): {no_skill['cv']:.3f}")
    test_summary = summarise(official(train, test, X_train, X_test, args.model_seeds))
    print(f"\nOBELiX official test split ({len(test)} rows), mean ± std over "
          f"{args.model_seeds} model seeds (not used for the choice)")
    print(table(test_summary, chosen))
    print(f"Brier of the constant training base rate (no skill): {no_skill['official']:.3f}")
    write_json_atomic({
        "benchmark": "select_censored", "versions": software_versions(),
        "protocol": "selection: OBELiX training split only, GroupKFold(5) by DOI with papers "
                    "sharing a composition merged (as select_obelix_model), scores pooled over "
                    "held-out rows per fold shuffle; official: fit on train, score test",
        "selection_rule": f"lowest CV hinge MAE among variants whose CV measured-row MAE is "
                          f"within {TOLERANCE} of drop's",
        "features": recipe.features, "trees": TREES, "cv_seeds": args.seeds,
        "model_seeds": args.model_seeds, "chosen": chosen,
        "variants": {name: {"fit": fit, "params": params}
                     for name, (fit, params) in VARIANTS.items()},
        "no_skill_brier": no_skill, "cv": cv, "official": test_summary,
        "runtime_seconds": round(time.perf_counter() - start, 1),
    }, args.output)
    print(f"\nwritten to {args.output}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
