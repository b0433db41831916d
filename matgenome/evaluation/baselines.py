"""Reference models scored in the same run as the evaluated model, fold by fold.

A model is only useful where it beats what needs no model: the training median (of the
exact training rows) and plain scikit-learn extra trees (500 trees on Magpie descriptors,
missing descriptors replaced by training medians). Both are fitted on the exact training
rows of each fold only, so bounds reach neither, and never see the test rows.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

#: Baseline name -> what it is (stored in results beside its scores).
BASELINES = {
    "training_median": "median of the exact training rows of the fold",
    "extra_trees": "scikit-learn ExtraTreesRegressor (500 trees, n_jobs=1) on Magpie "
                   "descriptors (missing values: training medians), exact training rows",
}
N_TREES = 500


def baseline_features(formulas: Sequence[str]) -> np.ndarray:
    """The Magpie descriptors of the formulas (rows that fail are NaN)."""
    from matgenome.features import compute_features

    return np.asarray(compute_features(list(formulas), "magpie")[0], dtype=float)


def fit_predict_baselines(
    features: np.ndarray, y: np.ndarray, exact: np.ndarray, train: np.ndarray,
    test: np.ndarray, random_state: int = 0,
) -> dict[str, np.ndarray]:
    """Predictions of every baseline for ``test``, fitted on the exact rows of ``train``."""
    fit_rows = train[exact[train]]
    if len(fit_rows) == 0:
        return {name: np.full(len(test), math.nan) for name in BASELINES}
    median = float(np.median(y[fit_rows]))
    return {
        "training_median": np.full(len(test), median),
        "extra_trees": _extra_trees(random_state).fit(features[fit_rows], y[fit_rows])
        .predict(features[test]),
    }


def _extra_trees(random_state: int) -> Any:
    from sklearn.ensemble import ExtraTreesRegressor
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import make_pipeline

    # keep_empty_features: a descriptor missing on every training row still keeps its column.
    return make_pipeline(
        SimpleImputer(strategy="median", keep_empty_features=True),
        ExtraTreesRegressor(N_TREES, random_state=random_state, n_jobs=1),
    )


def exact_mae(y_true: np.ndarray, y_pred: np.ndarray, exact: np.ndarray) -> float:
    """MAE over the exact rows (nan when there are none)."""
    exact = np.asarray(exact, bool)
    if not exact.any():
        return math.nan
    return float(np.mean(np.abs(np.asarray(y_pred)[exact] - np.asarray(y_true)[exact])))
