"""Batches for sequential learning (:func:`propose_batch`): a stratified cold start (one
random member of each k-means cluster of the pool, :func:`cold_start_batch`) until a target
has been measured (:func:`has_reached_target`), then Thompson sampling from the individual
trees of a tree ensemble (:func:`thompson_batch`). Both give diverse batches of distinct
rows and are seeded from a ``numpy.random.Generator``."""

from __future__ import annotations

import warnings
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray

from matgenome.errors import UsageError
from matgenome.ranking.acquisition import FloatArray, _as_float
from matgenome.ranking.table import order_by_score


def thompson_batch(
    tree_predictions: ArrayLike,
    size: int,
    rng: np.random.Generator,
    objective: Literal["max", "min"] = "max",
) -> NDArray[np.intp]:
    """Thompson sampling from a tree ensemble: ``size`` distinct rows, in pick order.

    ``tree_predictions`` is an ``(n_trees, n_rows)`` matrix, one row per tree (e.g.
    ``CalibratedTreesRegressor.predict_trees(X)``). Each batch slot takes one tree at
    random, treats its predictions as one draw from the posterior, and picks the row that
    tree predicts best among the rows not picked yet. Trees are drawn without replacement
    while there are enough of them, so a batch spreads over as many posterior draws as it
    can. A single tree gives the same value to every row in one leaf, so ties are common:
    they are broken at random. NaN predictions rank last.
    """
    draws = np.asarray(tree_predictions, dtype=float)
    if draws.ndim != 2 or draws.shape[0] < 1:
        raise ValueError("tree_predictions must be (n_trees, n_rows) with at least one tree")
    if objective not in ("max", "min"):
        raise ValueError("objective must be 'max' or 'min'")
    n_trees, n_rows = draws.shape
    size = _batch_size(size, n_rows)
    scores = draws if objective == "max" else -draws
    trees = rng.choice(n_trees, size=size, replace=size > n_trees)
    tie_breaker = rng.random((size, n_rows))
    free = np.ones(n_rows, dtype=bool)
    picks = np.empty(size, dtype=np.intp)
    for slot, tree in enumerate(trees):
        candidates = np.flatnonzero(free)
        order = order_by_score(scores[tree, candidates], tie_breaker=tie_breaker[slot, candidates])
        picks[slot] = candidates[order[0]]
        free[picks[slot]] = False
    return picks


def _batch_size(size: int, n_rows: int) -> int:
    """The batch size capped at the pool size; at least one row is required."""
    if size < 1:
        raise UsageError("the batch size must be at least 1")
    if n_rows < 1:
        raise UsageError("the pool is empty")
    return min(int(size), n_rows)


def standardise(X: ArrayLike) -> FloatArray:
    """Descriptors scaled to zero mean and unit variance per column, NaN set to the median.

    Constant (or all-NaN) columns become 0, so they do not weigh in distances.
    """
    values = np.asarray(X, dtype=float)
    if values.ndim != 2:
        raise ValueError("X must be (n_rows, n_features)")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN columns
        median = np.nan_to_num(np.nanmedian(values, axis=0))
    filled = np.where(np.isnan(values), median[None, :], values)
    scale = filled.std(axis=0)
    return (filled - filled.mean(axis=0)) / np.where(scale > 0, scale, 1.0)


def cold_start_batch(
    X_pool: ArrayLike, size: int, rng: np.random.Generator, *, n_init: int = 3
) -> NDArray[np.intp]:
    """A stratified exploratory batch: one random member of each of ``size`` clusters.

    The pool's descriptors are standardised (:func:`standardise`) and split into ``size``
    k-means clusters (seeded from ``rng``); each batch slot takes one random member of
    its own cluster. This spreads a batch over the whole descriptor space instead of the
    family the model already knows, which is what a model trained only on non-targets
    cannot do. When k-means finds fewer distinct clusters than slots (e.g. duplicate
    rows), the missing slots are filled at random from the rest of the pool.
    """
    from sklearn.cluster import KMeans

    Z = standardise(X_pool)
    size = _batch_size(size, Z.shape[0])
    if size == 1:
        return rng.choice(Z.shape[0], size=1)
    seed = int(rng.integers(2**31 - 1))
    n_distinct = np.unique(Z, axis=0).shape[0]
    n_clusters = min(size, n_distinct)
    labels = KMeans(n_clusters, n_init=n_init, random_state=seed).fit_predict(Z)
    picks = [int(rng.choice(np.flatnonzero(labels == c))) for c in np.unique(labels)]
    rest = np.setdiff1d(np.arange(Z.shape[0]), picks)
    picks.extend(int(i) for i in rng.choice(rest, size=size - len(picks), replace=False))
    return rng.permutation(np.asarray(picks, dtype=np.intp))


def has_reached_target(
    y_measured: ArrayLike, threshold: float, objective: Literal["max", "min"] = "max"
) -> bool:
    """Whether any measured value is a target: ``>= threshold`` (``<=`` for ``"min"``)."""
    values = _as_float(y_measured, "y_measured")
    values = values[np.isfinite(values)]
    if objective == "max":
        return bool((values >= threshold).any())
    if objective == "min":
        return bool((values <= threshold).any())
    raise ValueError("objective must be 'max' or 'min'")


def propose_batch(
    model: object | None,
    X_pool: ArrayLike,
    size: int,
    *,
    target_reached: bool | None,
    rng: np.random.Generator,
    objective: Literal["max", "min"] = "max",
    cold_start: bool = True,
) -> NDArray[np.intp]:
    """Propose a diverse batch of ``size`` pool rows to measure next (indices into the pool).

    This is the default sequential-learning rule of matgenome: a stratified cold start
    while no target has been measured, then Thompson sampling from the individual trees.
    On OBELiX (``benchmarks/simulate_obelix.py``) it found the top decile several times
    faster than random picking, where acquisition functions on the forest mean and
    spread were slower than random to the first target.

    Args:
        model: a fitted tree ensemble with ``predict_trees(X) -> (n_trees, n_rows)``, such
            as :class:`matgenome.models.calibrated.CalibratedTreesRegressor`. It is not
            used (and may be None) for a cold-start batch.
        X_pool: ``(n_rows, n_features)`` descriptors of the unmeasured candidates, in the
            columns the model was trained on (NaN allowed; the model imputes them, the
            clustering uses column medians).
        size: rows wanted; capped at the pool size.
        target_reached: whether a target (a value good enough to count as a discovery)
            is among the measured rows, e.g. from :func:`has_reached_target`. While it is
            False the batch is a cold start (:func:`cold_start_batch`): a model trained
            only on non-targets keeps exploiting the family it knows, and is ignored.
            **None means "unknown" and is treated as True**: the model's Thompson samples
            are used, because ignoring a model needs the positive knowledge that its data
            hold no target.
        rng: the random generator: tree draws, tie-breaking and clustering are seeded
            from it, so the same generator state gives the same batch.
        objective: ``"max"`` or ``"min"`` the property.
        cold_start: False skips the cold start (plain Thompson sampling from the start).

    Returns:
        Distinct row positions into ``X_pool``, in the order they were picked (measure
        them in that order if the batch is measured one by one).
    """
    if not target_reached and target_reached is not None and cold_start:
        return cold_start_batch(X_pool, size, rng)
    predict_trees = getattr(model, "predict_trees", None)
    if not callable(predict_trees):
        raise TypeError(
            "Thompson sampling needs a fitted tree ensemble with predict_trees(X) -> "
            f"(n_trees, n_rows), e.g. CalibratedTreesRegressor; got {type(model).__name__}"
        )
    draws = np.asarray(predict_trees(np.asarray(X_pool, dtype=float)), dtype=float)
    if draws.ndim != 2 or draws.shape[1] != np.asarray(X_pool).shape[0]:
        raise ValueError("predict_trees(X) must return an (n_trees, n_rows) matrix")
    return thompson_batch(draws, size, rng, objective)
