"""Batches for sequential learning and campaigns: which ``size`` pool rows to measure next.

A batch rule sees the pool through :class:`PoolBelief` (the model's predicted mean and
standard deviation per row and its per-tree predictions, oriented so that higher is
better) and returns a :class:`Batch`: distinct rows in pick order, each with its role
(``exploit``: among the batch's best predictions inside the model's domain; ``explore``:
any other pick; ``cold start``), so that a proposal can say why each row was chosen.
Rules (``BATCH_RULES``):

``thompson-half`` (``DEFAULT_RULE``)
    Thompson sampling from smooth posterior draws: each slot is the best free row under
    the mean of a random half of the trees. A single tree (the former rule) is so noisy
    that a slot often goes to a composition the forest predicts poorly; half-forest means
    keep the draws near the best predictions while still spreading a batch.
``greedy``
    the ``size`` rows with the best predicted value (inside the domain first): the
    baseline.

:func:`cold_start_batch` is the stratified cold start (one random member of each k-means
cluster of the pool) that :func:`choose_batch` uses while no target has been measured
(:func:`has_reached_target`). Every rule is seeded from a ``numpy.random.Generator``. The
rules were chosen by ``benchmarks/campaign_regimes.py``, which also holds the rules that
lost (single-tree Thompson sampling, a switch from single trees to half-forest means at
five measured targets, UCB, EI, diversity penalties, a portfolio with one explore slot,
draws from the predictive normal) as baselines.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray

from matgenome.errors import UsageError
from matgenome.ranking.acquisition import FloatArray, _as_float
from matgenome.ranking.table import order_by_score

IndexArray = NDArray[np.intp]
EXPLOIT, EXPLORE, COLD_START = "exploit", "explore", "cold start"


@dataclass(frozen=True)
class Batch:
    """Rows to measure next (positions in the pool, in pick order) and why each was picked.

    ``roles[i]`` is ``"exploit"`` (picked for its predicted value), ``"explore"`` (picked
    for what the model does not know) or ``"cold start"`` (one member of a descriptor
    cluster, no model used).
    """

    rows: IndexArray
    roles: tuple[str, ...]

    def __post_init__(self) -> None:
        if len(self.rows) != len(self.roles):
            raise ValueError("one role per row is required")


@dataclass
class PoolBelief:
    """What a batch rule knows about the pool, oriented so that higher is better.

    ``mean`` and ``std`` are the model's predictive mean and standard deviation per row;
    ``tree_predictions`` (or ``model.predict_trees``) the per-tree predictions; ``X`` the
    raw descriptors (for distances); ``best`` the best measured value; ``in_domain``
    which rows lie inside the model's applicability domain: only those are exploited
    (default: every row).
    """

    mean: FloatArray
    std: FloatArray
    X: FloatArray | None = None
    best: float | None = None
    model: Any = None
    sign: float = 1.0  # -1 when the caller minimises: tree predictions are flipped too
    target: float | None = None  # set: tree predictions become closeness -|value - target|
    tree_predictions: FloatArray | None = field(default=None, repr=False)
    in_domain: NDArray[np.bool_] | None = None
    measured_targets: int | None = None  # measured rows beating the threshold; None: unknown

    def __post_init__(self) -> None:
        self.mean = _as_float(self.mean, "mean")
        self.std = np.nan_to_num(_as_float(self.std, "std"), nan=0.0)
        if self.mean.shape != self.std.shape:
            raise ValueError("mean and std differ in length")
        if self.in_domain is not None:
            self.in_domain = np.asarray(self.in_domain, dtype=bool).reshape(-1)
            if self.in_domain.shape != self.mean.shape:
                raise ValueError("in_domain needs one flag per row")

    @property
    def exploitable(self) -> NDArray[np.bool_]:
        """Rows an exploit pick may take: those inside the domain (all if none is)."""
        if self.in_domain is None or not self.in_domain.any():
            return np.ones(self.n_rows, dtype=bool)
        return self.in_domain

    @property
    def n_rows(self) -> int:
        return int(self.mean.size)

    @cached_property
    def trees(self) -> FloatArray:
        """Per-tree predictions ``(n_trees, n_rows)``, higher is better."""
        draws = self.tree_predictions
        if draws is None:
            predict_trees = getattr(self.model, "predict_trees", None)
            if not callable(predict_trees) or self.X is None:
                raise TypeError(
                    "this rule needs a fitted tree ensemble with predict_trees(X) -> "
                    f"(n_trees, n_rows), e.g. CalibratedTreesRegressor; got "
                    f"{type(self.model).__name__}")
            draws = predict_trees(np.asarray(self.X, dtype=float))
        draws = np.asarray(draws, dtype=float)
        if draws.ndim != 2 or draws.shape[1] != self.n_rows:
            raise ValueError("predict_trees(X) must return an (n_trees, n_rows) matrix")
        if self.target is not None:
            return -np.abs(draws - self.target)
        return self.sign * draws

    @cached_property
    def Z(self) -> FloatArray:
        """Standardised descriptors (:func:`standardise`)."""
        if self.X is None:
            raise ValueError("this rule needs the pool's descriptors X")
        return standardise(self.X)


def _batch_size(size: int, n_rows: int) -> int:
    """The batch size capped at the pool size; at least one row is required."""
    if size < 1:
        raise UsageError("the batch size must be at least 1")
    if n_rows < 1:
        raise UsageError("the pool is empty")
    return min(int(size), n_rows)


def _top(scores: FloatArray, size: int, rng: np.random.Generator,
         free: NDArray[np.bool_] | None = None) -> IndexArray:
    """The ``size`` best-scored rows (among ``free``), ties broken at random, NaN last."""
    candidates = np.arange(scores.size) if free is None else np.flatnonzero(free)
    order = order_by_score(scores[candidates], tie_breaker=rng.random(candidates.size))
    return candidates[order[:size]].astype(np.intp)


def _roles_by_mean(belief: PoolBelief, rows: IndexArray) -> tuple[str, ...]:
    """``exploit`` for a pick among the batch-size best predicted rows inside the domain,
    else ``explore``."""
    mean = np.where(belief.exploitable, np.nan_to_num(belief.mean, nan=-np.inf), -np.inf)
    rank = np.argsort(np.argsort(-mean, kind="stable"))
    return tuple(EXPLOIT if rank[r] < len(rows) and belief.exploitable[r] else EXPLORE
                 for r in rows)


def _exploit_rows(belief: PoolBelief, size: int, rng: np.random.Generator) -> Batch:
    """The best predicted rows inside the domain; if too few, the best of the others fill
    the batch as explore picks."""
    inside = _top(belief.mean, size, rng, belief.exploitable)
    rest = ~belief.exploitable
    outside = _top(belief.mean, size - inside.size, rng, rest) if rest.any() else inside[:0]
    rows = np.concatenate([inside, outside]).astype(np.intp)
    return Batch(rows, (EXPLOIT,) * inside.size + (EXPLORE,) * outside.size)


def greedy_batch(belief: PoolBelief, size: int, rng: np.random.Generator) -> Batch:
    """The ``size`` rows with the best predicted value (ties at random)."""
    return _exploit_rows(belief, _batch_size(size, belief.n_rows), rng)


def thompson_batch(
    tree_predictions: ArrayLike,
    size: int,
    rng: np.random.Generator,
    objective: Literal["max", "min"] = "max",
    *,
    subset: float | None = None,
) -> IndexArray:
    """Thompson sampling from a tree ensemble: ``size`` distinct rows, in pick order.

    ``tree_predictions`` is an ``(n_trees, n_rows)`` matrix, one row per tree. Each batch
    slot draws one posterior sample and picks the best free row under it. With
    ``subset=None`` a sample is one tree, drawn without replacement while there are
    enough trees; with ``subset=f`` it is the mean of a random ``f`` share of the trees,
    a smoother draw whose spread is close to that of the forest mean. Ties (common
    within one tree's leaves) are broken at random; NaN predictions rank last.
    """
    draws = np.asarray(tree_predictions, dtype=float)
    if draws.ndim != 2 or draws.shape[0] < 1:
        raise ValueError("tree_predictions must be (n_trees, n_rows) with at least one tree")
    if objective not in ("max", "min"):
        raise ValueError("objective must be 'max' or 'min'")
    n_trees, n_rows = draws.shape
    size = _batch_size(size, n_rows)
    scores = draws if objective == "max" else -draws
    free = np.ones(n_rows, dtype=bool)
    picks = np.empty(size, dtype=np.intp)
    trees = rng.choice(n_trees, size=size, replace=size > n_trees)
    for slot in range(size):
        if subset is None:
            sample = scores[trees[slot]]
        else:
            chosen = rng.choice(n_trees, size=max(1, round(subset * n_trees)), replace=False)
            sample = scores[chosen].mean(axis=0)
        picks[slot] = _top(sample, 1, rng, free)[0]
        free[picks[slot]] = False
    return picks


def thompson_half_batch(belief: PoolBelief, size: int, rng: np.random.Generator) -> Batch:
    """Thompson sampling, each slot the mean of a random half of the trees."""
    rows = thompson_batch(belief.trees, size, rng, subset=0.5)
    return Batch(rows, _roles_by_mean(belief, rows))


BatchRule = Callable[..., Batch]
BATCH_RULES: dict[str, BatchRule] = {
    "greedy": greedy_batch,
    "thompson-half": thompson_half_batch,
}
# Rules that sample the trees rather than using the mean and std.
TREE_RULES: tuple[str, ...] = ("thompson-half",)
# Chosen by benchmarks/campaign_regimes.py (its selection rule, written before the final
# run: results/campaign_regimes.json); greedy is kept as the baseline it is compared with.
DEFAULT_RULE = "thompson-half"


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
) -> IndexArray:
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


def batch_rule(name: str) -> BatchRule:
    """The rule called ``name`` (see ``BATCH_RULES``)."""
    try:
        return BATCH_RULES[name]
    except KeyError:
        raise UsageError(f"unknown batch rule {name!r}; expected one of "
                         f"{tuple(BATCH_RULES)}") from None


def choose_batch(
    model: object | None,
    X_pool: ArrayLike,
    size: int,
    *,
    target_reached: bool | None,
    rng: np.random.Generator,
    objective: Literal["max", "min", "target"] = "max",
    rule: str = DEFAULT_RULE,
    cold_start: bool = True,
    target: float | None = None,
    mean: ArrayLike | None = None,
    std: ArrayLike | None = None,
    best: float | None = None,
    in_domain: ArrayLike | None = None,
    measured_targets: int | None = None,
    **params: float,
) -> Batch:
    """A batch of ``size`` pool rows to measure next, with each row's role.

    While ``target_reached`` is False (and ``cold_start`` is on) the batch is the
    stratified cold start (:func:`cold_start_batch`) and the model is not used: trained
    on non-targets only, it keeps exploiting the family it knows. Otherwise the batch
    rule ``rule`` (``BATCH_RULES``) is applied to the model's predictions; ``mean`` and
    ``std`` (in the model's units) replace ``model.predict(X, return_std=True)`` when
    given; with ``objective="target"`` every value (mean, tree draws, ``best``) is scored
    by its closeness to ``target``. **None means "unknown" and is treated as True.**
    ``params`` go to the rule
    (none of the package's rules takes any); ``best`` is the best measured value;
    ``in_domain``
    flags the rows an exploit pick may take (see :class:`PoolBelief`);
    ``measured_targets`` is how many measured values beat the threshold (None: unknown),
    for rules that depend on it.
    """
    X = np.asarray(X_pool, dtype=float)
    if not target_reached and target_reached is not None and cold_start:
        rows = cold_start_batch(X, size, rng)
        return Batch(rows, (COLD_START,) * len(rows))
    if objective not in ("max", "min", "target"):
        raise ValueError("objective must be 'max', 'min' or 'target'")
    if objective == "target" and (target is None or not np.isfinite(target)):
        raise UsageError("objective 'target' needs a finite target value")
    chosen = batch_rule(rule)
    if mean is None or std is None:
        predict = getattr(model, "predict", None)
        if not callable(predict):
            raise TypeError(f"rule {rule!r} needs a fitted model with predict(X, "
                            f"return_std=True); got {type(model).__name__}")
        mean, std = predict(X, return_std=True)
    sign = -1.0 if objective == "min" else 1.0
    values = _as_float(mean, "mean")
    if objective == "target":
        values = -np.abs(values - float(target))  # type: ignore[arg-type]
        best = None if best is None else -abs(best - float(target))  # type: ignore[arg-type]
    belief = PoolBelief(sign * values, _as_float(std, "std"), X=X,
                        best=None if best is None else sign * best, model=model, sign=sign,
                        target=target if objective == "target" else None,
                        in_domain=None if in_domain is None else np.asarray(in_domain, bool),
                        measured_targets=measured_targets)
    return chosen(belief, size, rng, **params)


def propose_batch(
    model: object | None,
    X_pool: ArrayLike,
    size: int,
    *,
    target_reached: bool | None,
    rng: np.random.Generator,
    objective: Literal["max", "min"] = "max",
    rule: str = DEFAULT_RULE,
    cold_start: bool = True,
    **params: Any,
) -> IndexArray:
    """Row positions of :func:`choose_batch`'s batch, in pick order (see there).

    This is the default sequential-learning rule of matgenome: a stratified cold start
    while no target has been measured, then ``DEFAULT_RULE`` (Thompson sampling from
    half-forest means), chosen by ``benchmarks/campaign_regimes.py`` over cold, warm and
    second-property regimes.
    """
    return choose_batch(model, X_pool, size, target_reached=target_reached, rng=rng,
                        objective=objective, rule=rule, cold_start=cold_start,
                        **params).rows
