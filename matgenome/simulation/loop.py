"""The simulation loop: seeded trials, every strategy's picks batch by batch, model refits;
see :mod:`matgenome.simulation` for the protocol."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from matgenome.errors import UsageError
from matgenome.ranking import (
    BATCH_RULES,
    COLD_START,
    PoolBelief,
    acquisition_scores,
    batch_rule,
    cold_start_batch,
    order_by_score,
)
from matgenome.simulation.results import FloatArray, IntArray, SimulationResult
from matgenome.simulation.settings import ModelFactory, SimulationSettings, settings_from_keywords
from matgenome.simulation.strategies import TREE_SAMPLERS, Strategy


def _seed_model(model: Any, rng: np.random.Generator) -> Any:
    """Give every unset ``random_state`` of an sklearn estimator a seed from ``rng``.

    Fixed seeds chosen by the factory are kept. Estimators without ``get_params`` are
    returned unchanged.
    """
    get_params = getattr(model, "get_params", None)
    if get_params is None:
        return model
    unset = {
        key: int(rng.integers(2**31 - 1))
        for key, value in get_params(deep=True).items()
        if (key == "random_state" or key.endswith("__random_state")) and value is None
    }
    if unset:
        model.set_params(**unset)
    return model


def _predict(model: Any, X: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Call ``predict(X, return_std=True)`` and check the shapes."""
    mean, std = model.predict(X, return_std=True)
    mean = np.asarray(mean, dtype=float).reshape(-1)
    std = np.asarray(std, dtype=float).reshape(-1)
    if mean.size != X.shape[0] or std.size != X.shape[0]:
        raise ValueError("model.predict(X, return_std=True) must return one mean and std per row")
    return mean, np.maximum(std, 0.0)


@dataclass(frozen=True)
class _Problem:
    """What every pick of a simulation needs: data, the target cut and the model factory."""

    X: FloatArray
    y: FloatArray  # "higher is better" values
    threshold: float
    model_factory: ModelFactory


def _fit(problem: _Problem, labelled: NDArray[np.bool_], rng: np.random.Generator) -> Any:
    model = _seed_model(problem.model_factory(), rng)
    return model.fit(problem.X[labelled], problem.y[labelled])


@dataclass
class _Picked:
    """One batch: rows (data-set indices, pick order), the model's view of them, roles."""

    rows: IntArray
    mean: FloatArray
    std: FloatArray
    roles: tuple[str, ...]

    @classmethod
    def unmodelled(cls, rows: IntArray, role: str) -> _Picked:
        nan = np.full(len(rows), np.nan)
        return cls(np.asarray(rows, dtype=np.int64), nan, nan.copy(), (role,) * len(rows))


def _pick_batch(
    strategy: Strategy,
    problem: _Problem,
    labelled: NDArray[np.bool_],
    size: int,
    rng: np.random.Generator,
) -> _Picked:
    """The next ``size`` experiments, in pick order (best first)."""
    pool = np.flatnonzero(~labelled)
    if strategy.acquisition == "random" and strategy.rule is None:
        return _Picked.unmodelled(rng.choice(pool, size=size, replace=False), "random")
    reached = bool((problem.y[labelled] >= problem.threshold).any())
    if strategy.cold_start and not reached:
        # No model is fitted: trained on non-targets only, it would not be used.
        return _Picked.unmodelled(pool[cold_start_batch(problem.X[pool], size, rng)],
                                  COLD_START)
    model = _fit(problem, labelled, rng)
    mean, std = _predict(model, problem.X[pool])
    best = float(problem.y[labelled].max())
    if strategy.rule is not None or strategy.acquisition in BATCH_RULES:
        measured = int((problem.y[labelled] >= problem.threshold).sum())
        belief = PoolBelief(mean, std, X=problem.X[pool], best=best, model=model,
                            measured_targets=measured)
        rule = strategy.rule or batch_rule(strategy.acquisition)
        batch = rule(belief, size, rng)
        return _Picked(pool[batch.rows], mean[batch.rows], std[batch.rows], batch.roles)
    scores = acquisition_scores(
        strategy.acquisition, mean, std, "max", best=best,
        kappa=strategy.kappa, xi=strategy.xi, threshold=problem.threshold,
    )
    order = order_by_score(scores, tie_breaker=rng.random(pool.size))[:size]
    return _Picked(pool[order], mean[order], std[order], (strategy.acquisition,) * size)


def _run_strategy(
    strategy: Strategy,
    problem: _Problem,
    initial: IntArray,
    plan: list[int],
    extend: tuple[int, int],
    rng: np.random.Generator,
) -> tuple[IntArray, IntArray, _Picked]:
    """All picks of one strategy in one trial, in measurement order: budget, extension,
    and every pick's prediction and role (budget then extension).

    After the planned batches, batches of ``batch_size`` continue until ``extend_to``
    targets (at most all of the pool's) have been picked; ``extend = (extend_to,
    batch_size)``.
    """
    extend_to, batch_size = extend
    labelled = np.zeros(problem.y.size, dtype=bool)
    labelled[initial] = True
    # A pool holding fewer targets than extend_to would otherwise be measured to the end.
    extend_to = min(extend_to, int((problem.y[~labelled] >= problem.threshold).sum()))
    batches: list[_Picked] = []
    for size in plan:
        batches.append(_pick_batch(strategy, problem, labelled, size, rng))
        labelled[batches[-1].rows] = True
    n_budget = sum(len(b.rows) for b in batches)
    found = sum(int((problem.y[b.rows] >= problem.threshold).sum()) for b in batches)
    while found < extend_to and not labelled.all():
        size = min(batch_size, int((~labelled).sum()))
        batches.append(_pick_batch(strategy, problem, labelled, size, rng))
        labelled[batches[-1].rows] = True
        found += int((problem.y[batches[-1].rows] >= problem.threshold).sum())
    rows = np.concatenate([b.rows for b in batches]) if batches else np.zeros(0, np.int64)
    rows = rows.astype(np.int64)
    picked = _Picked(rows, np.concatenate([b.mean for b in batches]) if batches else
                     np.zeros(0), np.concatenate([b.std for b in batches]) if batches else
                     np.zeros(0), tuple(r for b in batches for r in b.roles))
    return rows[:n_budget], rows[n_budget:], picked


def _check_tree_model(plans: Sequence[Strategy], model_factory: ModelFactory) -> None:
    """Fail early, with a clear message, when a Thompson strategy gets a model without trees."""
    samplers = [s.name for s in plans if s.acquisition in TREE_SAMPLERS and s.rule is None]
    if not samplers:
        return
    model = model_factory()
    if not callable(getattr(model, "predict_trees", None)):
        raise TypeError(
            f"strategies {samplers} need a tree ensemble with predict_trees(X) -> "
            "(n_trees, n_rows), e.g. matgenome.models.calibrated.CalibratedTreesRegressor; "
            f"model_factory() returned {type(model).__name__}"
        )


def _as_row_ids(row_ids: Sequence[Any] | None, n_rows: int) -> list[Any]:
    if row_ids is None:
        return list(range(n_rows))
    ids = list(row_ids)
    if len(ids) != n_rows:
        raise UsageError(f"row_ids has {len(ids)} entries for {n_rows} rows")
    if len(set(ids)) != len(ids):
        raise UsageError("row_ids must be unique")
    return ids


def _batch_plan(n_iterations: int, batch_size: int, budget: int) -> list[int]:
    """Batch sizes: full batches, the last one cut to the budget."""
    plan = []
    remaining = budget
    for _ in range(n_iterations):
        if remaining <= 0:
            break
        plan.append(min(batch_size, remaining))
        remaining -= plan[-1]
    return plan


def _validate(X: FloatArray, y: FloatArray) -> None:
    if X.ndim != 2 or X.shape[0] != y.size:
        raise UsageError(f"X must be (n_rows, n_features) with n_rows = len(y) = {y.size}")
    if not np.isfinite(y).all():
        raise UsageError("y must be finite: drop unlabelled rows before simulating")


def simulate_discovery(
    X: ArrayLike,
    y: ArrayLike,
    model_factory: ModelFactory,
    settings: SimulationSettings | None = None,
    *,
    row_ids: Sequence[Any] | None = None,
    progress: Callable[[int], None] | None = None,
    **keywords: Any,
) -> SimulationResult:
    """Run ``settings.n_trials`` seeded sequential-learning trials for every strategy of
    ``settings`` (a :class:`SimulationSettings`; default: its defaults).

    ``model_factory()`` must return a new unfitted estimator with ``fit(X, y)`` and
    ``predict(X, return_std=True) -> (mean, std)``; for ``thompson-half`` and the default
    ``cold-thompson-half`` it must also have
    ``predict_trees(X) -> (n_trees, n_rows)``,
    as :class:`matgenome.models.calibrated.CalibratedTreesRegressor` has (a TypeError says
    so otherwise). Its unset ``random_state`` parameters are seeded from the trial seed.
    Plain strategy names use ``kappa`` and ``xi``; pass :class:`Strategy` objects to vary
    them. The number of experiments per trial is ``min(n_iterations * batch_size, budget,
    pool size)``; each run then continues past it until ``extend_to`` targets are found
    (0 turns the extension off). ``row_ids`` name the rows in :meth:`~SimulationResult.
    to_dict` (default 0..n-1). At least 20 trials give usable means and spreads; fewer
    are allowed for quick checks.

    ``progress`` is called with 1 after every (trial, strategy) run. The settings' fields
    may still be given as loose keywords (``n_trials=5``, ...), which is deprecated: a
    DeprecationWarning says so.

    A campaign that starts from what is already known: ``initial`` gives the rows every
    trial starts from (the prior; ``n_initial`` is then ignored) and every other row is
    the pool, so trials differ only in their seeds. ``threshold`` (in the caller's units)
    sets the target cut instead of ``target_quantile``: targets are ``y >= threshold``
    (``<=`` for ``"min"``).
    """
    settings = settings_from_keywords(settings, keywords)
    plans = settings.plans()
    n_initial, batch_size = settings.n_initial, settings.batch_size
    n_trials, objective = settings.n_trials, settings.objective
    features = np.asarray(X, dtype=float)
    values = np.asarray(y, dtype=float).reshape(-1)
    _validate(features, values)
    ids = _as_row_ids(row_ids, values.size)
    # Work on "higher is better" values; thresholds are reported in the caller's units.
    work = values if objective == "max" else -values
    target_cut = (float(np.quantile(work, settings.target_quantile)) if settings.threshold is None
                  else float(settings.threshold if objective == "max" else -settings.threshold))
    top_cut = float(np.quantile(work, settings.top_quantile))
    is_target, is_top = work >= target_cut, work >= top_cut
    everything = np.arange(work.size)
    candidates = np.flatnonzero(~is_target) if settings.exclude_targets_from_initial else everything
    fixed = None if settings.initial is None else _fixed_initial(settings.initial, work.size)
    n_initial = n_initial if fixed is None else fixed.size
    if fixed is None and candidates.size < n_initial:
        raise UsageError(f"only {candidates.size} rows to draw {n_initial} initial rows from")
    _check_tree_model(plans, model_factory)
    pool_rows = work.size - n_initial
    total = min(settings.n_iterations * batch_size,
                pool_rows if settings.budget is None else settings.budget, pool_rows)
    plan = _batch_plan(settings.n_iterations, batch_size, total)
    total = sum(plan)
    problem = _Problem(features, work, target_cut, model_factory)

    initial = np.zeros((n_trials, n_initial), dtype=np.int64)
    picks = {s.name: np.zeros((n_trials, total), dtype=np.int64) for s in plans}
    extension: dict[str, list[IntArray]] = {s.name: [] for s in plans}
    views: dict[str, list[_Picked]] = {s.name: [] for s in plans}
    for trial, trial_seed in enumerate(np.random.SeedSequence(settings.seed).spawn(n_trials)):
        child_seeds = trial_seed.spawn(len(plans) + 1)
        start_rng = np.random.default_rng(child_seeds[0])
        initial[trial] = fixed if fixed is not None else np.sort(
            start_rng.choice(candidates, size=n_initial, replace=False))
        for strategy, child in zip(plans, child_seeds[1:], strict=True):
            rng = np.random.default_rng(child)
            picks[strategy.name][trial], extra, view = _run_strategy(
                strategy, problem, initial[trial], plan, (settings.extend_to, batch_size), rng
            )
            extension[strategy.name].append(extra)
            views[strategy.name].append(view)
            if progress is not None:
                progress(1)  # one (trial, strategy) run finished

    in_initial = np.zeros((n_trials, work.size), dtype=bool)
    np.put_along_axis(in_initial, initial, True, axis=1)
    sign = 1.0 if objective == "max" else -1.0
    return SimulationResult(
        strategies=tuple(s.name for s in plans),
        found={k: _cumulative(is_target, v) for k, v in picks.items()},
        found_top={k: _cumulative(is_top, v) for k, v in picks.items()},
        picks=picks,
        initial=initial,
        pool_size=np.full(n_trials, pool_rows, dtype=np.int64),
        pool_targets=(is_target[None, :] & ~in_initial).sum(axis=1).astype(np.int64),
        pool_top=(is_top[None, :] & ~in_initial).sum(axis=1).astype(np.int64),
        target_threshold=sign * target_cut,
        top_threshold=sign * top_cut,
        n_targets=int(is_target.sum()),
        n_top=int(is_top.sum()),
        settings={
            "strategies": [s.describe() for s in plans],
            "n_initial": n_initial, "batch_size": batch_size, "n_iterations": settings.n_iterations,
            "budget": total, "n_trials": n_trials, "seed": settings.seed,
            "target_quantile": settings.target_quantile, "top_quantile": settings.top_quantile,
            "objective": objective,
            "exclude_targets_from_initial": settings.exclude_targets_from_initial,
            "extend_to": settings.extend_to, "threshold": settings.threshold,
            "fixed_initial": fixed is not None,
            "n_rows": int(work.size), "n_features": int(features.shape[1]),
        },
        extension=extension,
        target_mask=is_target,
        top_mask=is_top,
        row_ids=ids,
        predicted={k: [sign * v.mean for v in runs] for k, runs in views.items()},
        predicted_sd={k: [v.std for v in runs] for k, runs in views.items()},
        roles={k: [v.roles for v in runs] for k, runs in views.items()},
    )


def _fixed_initial(initial: Sequence[int], n_rows: int) -> IntArray:
    """The prior rows every trial starts from: distinct, in range, at least two."""
    rows = np.unique(np.asarray(initial, dtype=np.int64))
    if rows.size != len(initial) or rows.size < 2:
        raise UsageError("initial must list at least two distinct rows")
    if rows[0] < 0 or rows[-1] >= n_rows:
        raise UsageError(f"initial rows must lie in 0..{n_rows - 1}")
    if rows.size >= n_rows:
        raise UsageError("initial leaves no pool to pick from")
    return rows


def _cumulative(flags: NDArray[np.bool_], picks: IntArray) -> IntArray:
    """Targets found after 0, 1, ..., len(picks) experiments, per trial."""
    hits = flags[picks].astype(np.int64)
    zeros = np.zeros((picks.shape[0], 1), dtype=np.int64)
    return np.concatenate([zeros, np.cumsum(hits, axis=1)], axis=1)
