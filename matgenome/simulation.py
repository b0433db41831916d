"""Simulated sequential learning on a labelled data set, compared with random picking.

The simulation pretends the labels ``y`` of a data set are unknown except for a few rows,
then lets each strategy choose which rows to "measure" next, one batch at a time, refitting
the model after every batch. Because every label is in fact known, how fast each strategy
finds the best materials can be counted exactly.

Protocol (after Borg et al., "Quantifying the performance of machine learning models in
materials discovery", Digital Discovery 2, 327 (2023)):

* **Targets** are the rows with ``y >= quantile(y, target_quantile)`` over the whole data set
  (by default the top decile); the **top set** uses ``top_quantile`` (default the top 1%).
  With ``objective="min"`` the signs flip: targets are the lowest values.
* Each trial draws ``n_initial`` labelled rows at random. By default they are drawn from the
  non-targets only, so every target is still to be found and "experiments to the first
  target" means the same in every trial; pass ``exclude_targets_from_initial=False`` to
  draw from all rows.
* Every strategy of a trial starts from the same initial rows, so strategies are compared
  on paired trials. Trial seeds come from one base seed through
  ``numpy.random.SeedSequence(seed).spawn(n_trials)``.
* Each iteration fits a fresh model from ``model_factory`` on the labelled rows, scores the
  unlabelled pool with the strategy's acquisition function (:mod:`matgenome.ranking`) and labels
  the ``batch_size`` best; ties are broken at random (seeded). ``random`` picks uniformly.
  Iterations stop after ``n_iterations`` batches, at ``budget`` experiments, or when the
  pool is empty.
* **Experiments are counted one by one** after the initial rows, in the order the strategy
  ranked them inside each batch (the lab can measure a batch in that order).

Metrics, per strategy and trial:

* the discovery yield curve: targets found after 0, 1, ..., budget experiments;
* experiments to the n-th target (NaN if not reached within the budget);
* the **discovery acceleration factor** ``DAF_n = E_random[experiments to n targets] /
  mean over trials of the strategy's experiments to n targets``. The random numerator is
  the exact expectation for uniform picking without replacement from a pool of ``N`` rows
  holding ``K`` targets, ``n (N + 1) / (K + 1)`` (averaged over trials when ``K`` varies);
  it is not limited by the budget and carries no sampling noise. ``DAF_n`` is NaN when the
  strategy did not reach ``n`` targets in every trial, because a mean over only the
  successful trials would flatter it. The simulated ``random`` strategy is reported beside
  the expectation as a check (its DAF should be close to 1);
* the fraction of the top set found within the budget.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray

from matgenome.ranking import ACQUISITIONS, acquisition_scores, order_by_score

DEFAULT_STRATEGIES: tuple[str, ...] = ("ei", "ucb", "mli", "mei", "mu", "random")
DAF_TARGETS: tuple[int, ...] = (1, 3, 5)
RANDOM_EXPECTED = "random (expected)"

ModelFactory = Callable[[], Any]
IntArray = NDArray[np.int64]
FloatArray = NDArray[np.float64]


@dataclass(frozen=True)
class Strategy:
    """A named way of picking the next experiments.

    ``acquisition`` is ``"random"`` or a name from :data:`matgenome.ranking.ACQUISITIONS`;
    ``kappa`` (for ``ucb``) and ``xi`` (for ``ei``) tune it. ``pi``/``probability`` use the
    target threshold, so they score the probability of being a target.
    """

    name: str
    acquisition: str
    kappa: float = 2.0
    xi: float = 0.0

    def __post_init__(self) -> None:
        if self.acquisition != "random" and self.acquisition not in ACQUISITIONS:
            raise ValueError(
                f"unknown acquisition {self.acquisition!r}; expected 'random' or one of "
                f"{ACQUISITIONS}"
            )


def _as_strategies(
    strategies: Sequence[str | Strategy], kappa: float, xi: float
) -> list[Strategy]:
    out = [s if isinstance(s, Strategy) else Strategy(s, s, kappa, xi) for s in strategies]
    names = [s.name for s in out]
    if len(set(names)) != len(names):
        raise ValueError(f"strategy names must be unique, got {names}")
    if not out:
        raise ValueError("no strategies to simulate")
    return out


@dataclass
class SimulationResult:
    """Per-trial records of a simulation; see the module docstring for the protocol.

    Attributes:
        strategies: strategy names, in the order simulated.
        found: per strategy, an (n_trials, budget + 1) int array: targets found after
            0, 1, ..., budget experiments.
        found_top: the same for the top set.
        picks: per strategy, an (n_trials, budget) array of the row indices measured, in
            order.
        initial: (n_trials, n_initial) row indices labelled at the start.
        pool_size, pool_targets, pool_top: per trial, the number of unlabelled rows and of
            targets and top rows among them at the start.
        target_threshold, top_threshold: the thresholds on ``y`` (in the caller's units).
        n_targets, n_top: targets and top rows in the whole data set.
        settings: the arguments the simulation ran with.
    """

    strategies: tuple[str, ...]
    found: dict[str, IntArray]
    found_top: dict[str, IntArray]
    picks: dict[str, IntArray]
    initial: IntArray
    pool_size: IntArray
    pool_targets: IntArray
    pool_top: IntArray
    target_threshold: float
    top_threshold: float
    n_targets: int
    n_top: int
    settings: dict[str, Any] = field(default_factory=dict)

    @property
    def budget(self) -> int:
        """Experiments per trial after the initial rows."""
        return int(next(iter(self.found.values())).shape[1] - 1)

    @property
    def n_trials(self) -> int:
        """Number of trials."""
        return int(self.initial.shape[0])

    @property
    def experiments(self) -> IntArray:
        """The x axis of the yield curves: 0, 1, ..., budget."""
        return np.arange(self.budget + 1)

    def experiments_to(self, strategy: str, n: int = 1, *, top: bool = False) -> FloatArray:
        """Per trial, experiments needed to find ``n`` targets; NaN if not within budget."""
        curves = (self.found_top if top else self.found)[strategy]
        reached = curves >= n
        first = np.argmax(reached, axis=1).astype(float)
        return np.where(reached.any(axis=1), first, np.nan)

    def random_expected(self, n: int = 1, *, top: bool = False) -> float:
        """Expected experiments for uniform random picking to find ``n`` targets.

        ``n (N + 1) / (K + 1)`` for a pool of N rows holding K targets (the mean of the
        negative hypergeometric distribution), averaged over trials; NaN if any trial's
        pool holds fewer than ``n`` targets.
        """
        k = (self.pool_top if top else self.pool_targets).astype(float)
        if np.any(k < n):
            return math.nan
        return float(np.mean(n * (self.pool_size + 1) / (k + 1)))

    def random_expected_curve(self, *, top: bool = False) -> FloatArray:
        """Expected targets found by random picking after 0..budget experiments."""
        k = (self.pool_top if top else self.pool_targets).astype(float)
        share = np.mean(k / self.pool_size)
        return self.experiments * share

    def daf(self, strategy: str, n: int = 1) -> float:
        """Discovery acceleration factor for ``n`` targets (NaN unless reached in all trials)."""
        needed = self.experiments_to(strategy, n)
        if np.isnan(needed).any() or needed.mean() == 0:
            return math.nan
        return self.random_expected(n) / float(needed.mean())

    def summary(self, daf_targets: Sequence[int] = DAF_TARGETS) -> pd.DataFrame:
        """One row per strategy (plus the random expectation): means and spreads over trials.

        Columns: ``first_target_mean``/``_std``/``_median`` (experiments to the first
        target, over the trials that found one), ``first_target_found`` (fraction of trials
        that did), ``daf_<n>``, ``targets_found_mean``/``_std`` (at the budget) and
        ``top_fraction_mean``/``_std`` (fraction of the pool's top set found).
        """
        rows = [self._summary_row(name, daf_targets) for name in self.strategies]
        rows.append(self._expected_row(daf_targets))
        return pd.DataFrame(rows).set_index("strategy")

    def _summary_row(self, name: str, daf_targets: Sequence[int]) -> dict[str, Any]:
        first = self.experiments_to(name, 1)
        hit = first[~np.isnan(first)]
        top_fraction = self.found_top[name][:, -1] / np.maximum(self.pool_top, 1)
        row: dict[str, Any] = {
            "strategy": name,
            "first_target_mean": float(hit.mean()) if hit.size else math.nan,
            "first_target_std": float(hit.std(ddof=1)) if hit.size > 1 else math.nan,
            "first_target_median": float(np.median(hit)) if hit.size else math.nan,
            "first_target_found": float(hit.size / first.size),
        }
        row.update({f"daf_{n}": self.daf(name, n) for n in daf_targets})
        found = self.found[name][:, -1].astype(float)
        row.update(
            targets_found_mean=float(found.mean()),
            targets_found_std=_std(found),
            top_fraction_mean=float(top_fraction.mean()),
            top_fraction_std=_std(top_fraction),
        )
        return row

    def _expected_row(self, daf_targets: Sequence[int]) -> dict[str, Any]:
        """The exact expectations for uniform random picking (no spread: not sampled)."""
        row: dict[str, Any] = {
            "strategy": RANDOM_EXPECTED,
            "first_target_mean": self.random_expected(1),
            "first_target_std": math.nan,
            "first_target_median": math.nan,
            "first_target_found": math.nan,
        }
        row.update({f"daf_{n}": 1.0 for n in daf_targets})
        top_share = np.mean(np.minimum(self.budget / self.pool_size, 1.0))
        row.update(
            targets_found_mean=float(self.random_expected_curve()[-1]),
            targets_found_std=math.nan,
            top_fraction_mean=float(top_share),
            top_fraction_std=math.nan,
        )
        return row

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (NaN becomes None) of settings, per-trial arrays and summary."""
        summary = self.summary().reset_index()
        per_strategy = {
            name: {
                "found": self.found[name].tolist(),
                "found_top": self.found_top[name].tolist(),
                "picks": self.picks[name].tolist(),
                "experiments_to_first_target": _json_list(self.experiments_to(name, 1)),
            }
            for name in self.strategies
        }
        return _json_clean(
            {
                "settings": dict(self.settings),
                "target_threshold": self.target_threshold,
                "top_threshold": self.top_threshold,
                "n_targets": self.n_targets,
                "n_top": self.n_top,
                "budget": self.budget,
                "n_trials": self.n_trials,
                "initial": self.initial.tolist(),
                "pool_size": self.pool_size.tolist(),
                "pool_targets": self.pool_targets.tolist(),
                "pool_top": self.pool_top.tolist(),
                "strategies": per_strategy,
                "summary": summary.to_dict(orient="records"),
            }
        )


def _std(values: FloatArray) -> float:
    return float(np.std(values, ddof=1)) if values.size > 1 else math.nan


def _json_list(values: FloatArray) -> list[float | None]:
    return [None if np.isnan(v) else float(v) for v in values]


def _json_clean(value: Any) -> Any:
    """Replace NaN/inf floats by None and numpy scalars by Python ones, recursively."""
    if isinstance(value, dict):
        return {str(k): _json_clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_clean(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


# --------------------------------------------------------------------------- simulation


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


def _pick_batch(
    strategy: Strategy,
    model_factory: ModelFactory,
    X: FloatArray,
    y: FloatArray,
    labelled: NDArray[np.bool_],
    size: int,
    threshold: float,
    rng: np.random.Generator,
) -> IntArray:
    """Row indices of the next ``size`` experiments, best first."""
    pool = np.flatnonzero(~labelled)
    if strategy.acquisition == "random":
        return rng.choice(pool, size=size, replace=False)
    model = _seed_model(model_factory(), rng)
    model.fit(X[labelled], y[labelled])
    mean, std = _predict(model, X[pool])
    scores = acquisition_scores(
        strategy.acquisition, mean, std, "max", best=float(y[labelled].max()),
        kappa=strategy.kappa, xi=strategy.xi, threshold=threshold,
    )
    order = order_by_score(scores, tie_breaker=rng.random(pool.size))
    return pool[order[:size]]


def _run_strategy(
    strategy: Strategy,
    model_factory: ModelFactory,
    X: FloatArray,
    y: FloatArray,
    initial: IntArray,
    plan: list[int],
    threshold: float,
    rng: np.random.Generator,
) -> IntArray:
    """All picks of one strategy in one trial, in measurement order."""
    labelled = np.zeros(y.size, dtype=bool)
    labelled[initial] = True
    picks: list[int] = []
    for size in plan:
        batch = _pick_batch(strategy, model_factory, X, y, labelled, size, threshold, rng)
        labelled[batch] = True
        picks.extend(int(i) for i in batch)
    return np.asarray(picks, dtype=np.int64)


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


def _validate(X: FloatArray, y: FloatArray, n_initial: int, batch_size: int) -> None:
    if X.ndim != 2 or X.shape[0] != y.size:
        raise ValueError(f"X must be (n_rows, n_features) with n_rows = len(y) = {y.size}")
    if not np.isfinite(y).all():
        raise ValueError("y must be finite: drop unlabelled rows before simulating")
    if n_initial < 2:
        raise ValueError("n_initial must be at least 2 so that a model can be fitted")
    if batch_size < 1:
        raise ValueError("batch_size must be at least 1")


def simulate_discovery(
    X: ArrayLike,
    y: ArrayLike,
    model_factory: ModelFactory,
    *,
    strategies: Sequence[str | Strategy] = DEFAULT_STRATEGIES,
    n_initial: int = 10,
    batch_size: int = 1,
    n_iterations: int = 50,
    budget: int | None = None,
    n_trials: int = 20,
    seed: int = 0,
    target_quantile: float = 0.9,
    top_quantile: float = 0.99,
    objective: Literal["max", "min"] = "max",
    exclude_targets_from_initial: bool = True,
    kappa: float = 2.0,
    xi: float = 0.0,
    progress: Callable[[int], None] | None = None,
) -> SimulationResult:
    """Run ``n_trials`` seeded sequential-learning trials for every strategy.

    ``model_factory()`` must return a new unfitted estimator with ``fit(X, y)`` and
    ``predict(X, return_std=True) -> (mean, std)``; its unset ``random_state`` parameters are
    seeded from the trial seed. Plain strategy names use ``kappa`` and ``xi``; pass
    :class:`Strategy` objects to vary them. The number of experiments per trial is
    ``min(n_iterations * batch_size, budget, pool size)``. At least 20 trials give usable
    means and spreads; fewer are allowed for quick checks.
    """
    features = np.asarray(X, dtype=float)
    values = np.asarray(y, dtype=float).reshape(-1)
    _validate(features, values, n_initial, batch_size)
    if objective not in ("max", "min"):
        raise ValueError("objective must be 'max' or 'min'")
    if not 0 < target_quantile <= top_quantile < 1:
        raise ValueError("need 0 < target_quantile <= top_quantile < 1")
    plans = _as_strategies(strategies, kappa, xi)
    # Work on "higher is better" values; thresholds are reported in the caller's units.
    work = values if objective == "max" else -values
    target_cut = float(np.quantile(work, target_quantile))
    top_cut = float(np.quantile(work, top_quantile))
    is_target, is_top = work >= target_cut, work >= top_cut
    everything = np.arange(work.size)
    candidates = np.flatnonzero(~is_target) if exclude_targets_from_initial else everything
    if candidates.size < n_initial:
        raise ValueError(f"only {candidates.size} rows to draw {n_initial} initial rows from")
    pool_rows = work.size - n_initial
    total = min(n_iterations * batch_size, pool_rows if budget is None else budget, pool_rows)
    plan = _batch_plan(n_iterations, batch_size, total)
    total = sum(plan)

    initial = np.zeros((n_trials, n_initial), dtype=np.int64)
    picks = {s.name: np.zeros((n_trials, total), dtype=np.int64) for s in plans}
    for trial, trial_seed in enumerate(np.random.SeedSequence(seed).spawn(n_trials)):
        child_seeds = trial_seed.spawn(len(plans) + 1)
        start_rng = np.random.default_rng(child_seeds[0])
        initial[trial] = np.sort(start_rng.choice(candidates, size=n_initial, replace=False))
        for strategy, child in zip(plans, child_seeds[1:], strict=True):
            rng = np.random.default_rng(child)
            picks[strategy.name][trial] = _run_strategy(
                strategy, model_factory, features, work, initial[trial], plan, target_cut, rng
            )
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
            "strategies": [vars(s) for s in plans],
            "n_initial": n_initial, "batch_size": batch_size, "n_iterations": n_iterations,
            "budget": total, "n_trials": n_trials, "seed": seed,
            "target_quantile": target_quantile, "top_quantile": top_quantile,
            "objective": objective, "exclude_targets_from_initial": exclude_targets_from_initial,
            "n_rows": int(work.size), "n_features": int(features.shape[1]),
        },
    )


def _cumulative(flags: NDArray[np.bool_], picks: IntArray) -> IntArray:
    """Targets found after 0, 1, ..., len(picks) experiments, per trial."""
    hits = flags[picks].astype(np.int64)
    zeros = np.zeros((picks.shape[0], 1), dtype=np.int64)
    return np.concatenate([zeros, np.cumsum(hits, axis=1)], axis=1)
