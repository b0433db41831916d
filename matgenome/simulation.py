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
* Each iteration fits a fresh model from ``model_factory`` on the labelled rows and picks
  the next ``batch_size`` rows with the strategy: a batch rule of
  :data:`matgenome.ranking.BATCH_RULES` (``thompson-half``, which needs a model with
  ``predict_trees``, or ``greedy``), or the ``batch_size`` best scores of an acquisition
  function (:mod:`matgenome.ranking`); ties are broken at random (seeded). ``random``
  picks uniformly. A ``cold-`` prefix (``cold-thompson-half``, the
  default strategy, or e.g. ``cold-greedy``) adds a stratified cold start: while no
  target has been measured, each batch is one random member of each of ``batch_size``
  k-means clusters of the pool (:func:`matgenome.ranking.cold_start_batch`), and no
  model is fitted. Every pick's predicted mean, standard deviation and role (exploit,
  explore, cold start) are recorded.
* A trial can also start from a given prior (``initial``) with a fixed ``threshold``, as a
  lab that starts from the literature does (``benchmarks/campaign_regimes.py``).
  Iterations stop after ``n_iterations`` batches, at ``budget`` experiments, or when the
  pool is empty.
* **Runs are extended past the budget**, batch by batch with the same strategy, until
  ``extend_to`` targets (default 10, the largest DAF count; at most the pool's targets)
  have been found, so that experiments to the 10th target and ``DAF_10`` are defined even
  for slow strategies. Everything "within the budget" (yield curves, targets found, top fraction)
  ignores the extension; only "experiments to the n-th target" uses it.
* **Experiments are counted one by one** after the initial rows, in the order the strategy
  ranked them inside each batch (the lab can measure a batch in that order).

Metrics, per strategy and trial:

* the discovery yield curve: targets found after 0, 1, ..., budget experiments;
* experiments to the n-th target (NaN if not reached within the budget and its extension);
* the **discovery acceleration factor** ``DAF_n = E_random[experiments to n targets] /
  mean over trials of the strategy's experiments to n targets``. The random numerator is
  the exact expectation for uniform picking without replacement from a pool of ``N`` rows
  holding ``K`` targets, ``n (N + 1) / (K + 1)`` (averaged over trials when ``K`` varies);
  it is not limited by the budget and carries no sampling noise. ``DAF_n`` is NaN when the
  strategy did not reach ``n`` targets in every trial (possible only for ``n > extend_to``
  or an exhausted pool), because a mean over only the successful trials would flatter it.
  The simulated ``random`` strategy is reported beside the expectation as a check (its DAF
  should be close to 1);
* the fraction of the top set found within the budget.

:meth:`SimulationResult.to_dict` stores every trial's initial rows and picks (budget and
extension, in order) as **dataset row ids** (``row_ids``, default ``0..n-1``) beside the
target rows, so :func:`summary_from_dict` recomputes ``DAF_n`` and the targets found
within the budget from a saved JSON file alone.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray

from matgenome.censoring import is_exact
from matgenome.errors import UsageError
from matgenome.provenance import json_safe
from matgenome.ranking import (
    ACQUISITIONS,
    BATCH_RULES,
    COLD_START,
    DEFAULT_RULE,
    TREE_RULES,
    Batch,
    PoolBelief,
    acquisition_scores,
    batch_rule,
    cold_start_batch,
    order_by_score,
)

if TYPE_CHECKING:
    from matgenome.labelled import LabelledData

COLD_PREFIX = "cold-"
# The default strategy is the package's batch rule behind a stratified cold start, chosen by
# benchmarks/campaign_regimes.py over cold, warm and second-property regimes; greedy and
# random are the baselines it is compared with.
DEFAULT_STRATEGY = COLD_PREFIX + DEFAULT_RULE
DEFAULT_STRATEGIES: tuple[str, ...] = (DEFAULT_STRATEGY, "greedy", "random")
TREE_SAMPLERS: tuple[str, ...] = TREE_RULES
DAF_TARGETS: tuple[int, ...] = (1, 5, 10)
RANDOM_EXPECTED = "random (expected)"

ModelFactory = Callable[[], Any]
IntArray = NDArray[np.int64]
FloatArray = NDArray[np.float64]


@dataclass(frozen=True)
class Strategy:
    """A named way of picking the next experiments.

    ``acquisition`` is ``"random"``, a batch rule from
    :data:`matgenome.ranking.BATCH_RULES` (``greedy``, ``thompson-half``;
    the tree samplers need a model with ``predict_trees``) or a name from
    :data:`matgenome.ranking.ACQUISITIONS` (the ``batch_size`` best scores); ``kappa``
    (for ``ucb``) and ``xi`` (for ``ei``) tune it.
    ``pi``/``probability`` use the target threshold, so they score the probability of
    being a target. ``cold_start`` replaces the acquisition by a stratified cold start
    (:func:`matgenome.ranking.cold_start_batch`) until a target has been measured. A
    plain name ``"cold-<acquisition>"`` sets it. ``rule`` (a callable with the signature
    of the ``BATCH_RULES``) replaces the named rule, for rules outside the package.
    """

    name: str
    acquisition: str
    kappa: float = 2.0
    xi: float = 0.0
    cold_start: bool = False
    rule: Callable[..., Batch] | None = field(default=None, compare=False)

    def __post_init__(self) -> None:
        known = ("random", *BATCH_RULES, *ACQUISITIONS)
        if self.rule is None and self.acquisition not in known:
            raise UsageError(
                f"unknown acquisition {self.acquisition!r}; expected one of {known} "
                f"(optionally prefixed by {COLD_PREFIX!r})"
            )
        if self.cold_start and self.acquisition == "random":
            raise UsageError("a cold start before random picking is still random picking")

    def describe(self) -> dict[str, Any]:
        """The JSON-ready settings of the strategy."""
        out = {k: v for k, v in vars(self).items() if k != "rule"}
        if self.rule is not None:
            out["rule"] = getattr(self.rule, "__qualname__", repr(self.rule))
        return out

    @classmethod
    def from_name(cls, name: str, kappa: float = 2.0, xi: float = 0.0) -> Strategy:
        """A strategy from a plain name such as ``"ucb"`` or ``"cold-thompson-half"``."""
        cold = name.startswith(COLD_PREFIX)
        acquisition = name[len(COLD_PREFIX):] if cold else name
        return cls(name, acquisition, kappa, xi, cold_start=cold)


def _as_strategies(
    strategies: Sequence[str | Strategy], kappa: float, xi: float
) -> list[Strategy]:
    out = [s if isinstance(s, Strategy) else Strategy.from_name(s, kappa, xi)
           for s in strategies]
    names = [s.name for s in out]
    if len(set(names)) != len(names):
        raise UsageError(f"strategy names must be unique, got {names}")
    if not out:
        raise UsageError("no strategies to simulate")
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
        extension: per strategy, one array per trial of the rows measured after the
            budget (possibly empty), in order; see the module docstring.
        initial: (n_trials, n_initial) row indices labelled at the start.
        pool_size, pool_targets, pool_top: per trial, the number of unlabelled rows and of
            targets and top rows among them at the start.
        target_threshold, top_threshold: the thresholds on ``y`` (in the caller's units).
        n_targets, n_top: targets and top rows in the whole data set.
        settings: the arguments the simulation ran with.
        target_mask, top_mask: per data-set row, whether it is a target (top row); None
            when unknown, and then experiments to a target are read from ``found``.
        row_ids: the caller's id of every data-set row (default 0..n-1), used in
            :meth:`to_dict`.
        predicted, predicted_sd: per strategy, one array per trial of the model's mean and
            standard deviation for each measured row (budget then extension) when it was
            picked, in the caller's units; NaN where no model was used (random picks and
            cold-start batches).
        roles: per strategy, one tuple per trial of each pick's role (``exploit``,
            ``explore``, ``cold start`` or ``random``).
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
    extension: dict[str, list[IntArray]] = field(default_factory=dict)
    target_mask: NDArray[np.bool_] | None = None
    top_mask: NDArray[np.bool_] | None = None
    row_ids: list[Any] | None = None
    predicted: dict[str, list[FloatArray]] = field(default_factory=dict)
    predicted_sd: dict[str, list[FloatArray]] = field(default_factory=dict)
    roles: dict[str, list[tuple[str, ...]]] = field(default_factory=dict)

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

    def sequences(self, strategy: str) -> list[IntArray]:
        """Per trial, every row the strategy measured in order: budget, then extension."""
        extra = self.extension.get(strategy)
        base = list(self.picks[strategy])
        if extra is None:
            return base
        return [np.concatenate([b, e]).astype(np.int64) for b, e in zip(base, extra, strict=True)]

    def experiments_to(self, strategy: str, n: int = 1, *, top: bool = False) -> FloatArray:
        """Per trial, experiments needed to find ``n`` targets (or top rows).

        Counts the budget and its extension; NaN if not reached in either.
        """
        mask = self.top_mask if top else self.target_mask
        if mask is None:
            curves = (self.found_top if top else self.found)[strategy]
            reached = curves >= n
            first = np.argmax(reached, axis=1).astype(float)
            return np.where(reached.any(axis=1), first, np.nan)
        return np.array([_nth_hit(mask[seq], n) for seq in self.sequences(strategy)])

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
        """A JSON-ready dict (NaN becomes None) of settings, per-trial records and summary.

        Rows are given as dataset row ids (``row_ids``): ``initial`` per trial,
        ``target_rows`` and ``top_rows``, and per strategy ``picks``, every trial's
        measured rows in order, budget then extension. With ``budget`` and ``row_ids``
        these are enough for :func:`summary_from_dict` to recompute the metrics.
        """
        ids = self._ids()
        summary = self.summary().reset_index()
        per_strategy = {
            name: {
                "found": self.found[name].tolist(),
                "found_top": self.found_top[name].tolist(),
                "picks": [[ids[i] for i in seq] for seq in self.sequences(name)],
                "experiments_to_first_target": _json_list(self.experiments_to(name, 1)),
                **({"predicted": [_json_list(v) for v in self.predicted[name]],
                    "predicted_sd": [_json_list(v) for v in self.predicted_sd[name]],
                    "roles": [list(r) for r in self.roles[name]]}
                   if name in self.predicted else {}),
            }
            for name in self.strategies
        }
        return json_safe(
            {
                "settings": dict(self.settings),
                "target_threshold": self.target_threshold,
                "top_threshold": self.top_threshold,
                "n_targets": self.n_targets,
                "n_top": self.n_top,
                "budget": self.budget,
                "n_trials": self.n_trials,
                "row_ids": ids,
                "target_rows": self._ids_where(self.target_mask),
                "top_rows": self._ids_where(self.top_mask),
                "initial": [[ids[i] for i in row] for row in self.initial],
                "pool_size": self.pool_size.tolist(),
                "pool_targets": self.pool_targets.tolist(),
                "pool_top": self.pool_top.tolist(),
                "strategies": per_strategy,
                "summary": summary.to_dict(orient="records"),
            }
        )

    def _ids(self) -> list[Any]:
        if self.row_ids is not None:
            return [json_safe(v) for v in self.row_ids]
        n_rows = self.settings.get("n_rows")
        if n_rows is None:
            n_rows = int(max(self.initial.max(), *(p.max() for p in self.picks.values()))) + 1
        return list(range(int(n_rows)))

    def _ids_where(self, mask: NDArray[np.bool_] | None) -> list[Any] | None:
        if mask is None:
            return None
        ids = self._ids()
        return [ids[i] for i in np.flatnonzero(mask)]


def _nth_hit(hits: NDArray[np.bool_], n: int) -> float:
    """Experiments (1-based) until the n-th True in ``hits``; NaN if there are fewer."""
    if n <= 0:
        return 0.0
    cumulative = np.cumsum(hits)
    position = int(np.searchsorted(cumulative, n))  # first index with cumulative >= n
    return float(position + 1) if position < cumulative.size else math.nan


def summary_from_dict(
    payload: dict[str, Any], daf_targets: Sequence[int] = DAF_TARGETS
) -> pd.DataFrame:
    """Recompute the headline metrics from a :meth:`SimulationResult.to_dict` payload.

    Uses only ``row_ids``, ``target_rows``, ``initial``, ``budget`` and every strategy's
    ``picks``, so a saved JSON file can be checked without the simulation. Returns one row
    per strategy with ``daf_<n>`` (as :meth:`SimulationResult.daf`), ``targets_found_mean``
    (within the budget) and ``first_target_mean`` (experiments to the first target, over
    the trials that found one).
    """
    n_rows = len(payload["row_ids"])
    targets = set(payload["target_rows"])
    budget = int(payload["budget"])
    initial = payload["initial"]
    pool_size = np.array([n_rows - len(row) for row in initial], dtype=float)
    pool_targets = np.array([len(targets - set(row)) for row in initial], dtype=float)
    rows = []
    for name, record in payload["strategies"].items():
        hits = [np.array([r in targets for r in seq], dtype=bool) for seq in record["picks"]]
        row: dict[str, Any] = {"strategy": name}
        for n in daf_targets:
            needed = np.array([_nth_hit(h, n) for h in hits])
            expected = (
                math.nan if np.any(pool_targets < n)
                else float(np.mean(n * (pool_size + 1) / (pool_targets + 1)))
            )
            bad = np.isnan(needed).any() or needed.mean() == 0
            row[f"daf_{n}"] = math.nan if bad else expected / float(needed.mean())
        first = np.array([_nth_hit(h, 1) for h in hits])
        row["first_target_mean"] = float(np.nanmean(first)) if np.isfinite(first).any() \
            else math.nan
        row["targets_found_mean"] = float(np.mean([h[:budget].sum() for h in hits]))
        rows.append(row)
    return pd.DataFrame(rows).set_index("strategy")


def _std(values: FloatArray) -> float:
    return float(np.std(values, ddof=1)) if values.size > 1 else math.nan


def _json_list(values: FloatArray) -> list[float | None]:
    return [None if np.isnan(v) else float(v) for v in values]


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


def _validate(X: FloatArray, y: FloatArray, n_initial: int, batch_size: int) -> None:
    if X.ndim != 2 or X.shape[0] != y.size:
        raise UsageError(f"X must be (n_rows, n_features) with n_rows = len(y) = {y.size}")
    if not np.isfinite(y).all():
        raise UsageError("y must be finite: drop unlabelled rows before simulating")
    if n_initial < 2:
        raise UsageError("n_initial must be at least 2 so that a model can be fitted")
    if batch_size < 1:
        raise UsageError("batch_size must be at least 1")


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
    extend_to: int = max(DAF_TARGETS),
    row_ids: Sequence[Any] | None = None,
    progress: Callable[[int], None] | None = None,
    initial: Sequence[int] | None = None,
    threshold: float | None = None,
) -> SimulationResult:
    """Run ``n_trials`` seeded sequential-learning trials for every strategy.

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

    A campaign that starts from what is already known: ``initial`` gives the rows every
    trial starts from (the prior; ``n_initial`` is then ignored) and every other row is
    the pool, so trials differ only in their seeds. ``threshold`` (in the caller's units)
    sets the target cut instead of ``target_quantile``: targets are ``y >= threshold``
    (``<=`` for ``"min"``).
    """
    features = np.asarray(X, dtype=float)
    values = np.asarray(y, dtype=float).reshape(-1)
    _validate(features, values, n_initial, batch_size)
    if objective not in ("max", "min"):
        raise UsageError("objective must be 'max' or 'min'")
    if not 0 < target_quantile <= top_quantile < 1:
        raise UsageError("need 0 < target_quantile <= top_quantile < 1")
    ids = _as_row_ids(row_ids, values.size)
    plans = _as_strategies(strategies, kappa, xi)
    # Work on "higher is better" values; thresholds are reported in the caller's units.
    work = values if objective == "max" else -values
    target_cut = (float(np.quantile(work, target_quantile)) if threshold is None
                  else float(threshold if objective == "max" else -threshold))
    top_cut = float(np.quantile(work, top_quantile))
    is_target, is_top = work >= target_cut, work >= top_cut
    everything = np.arange(work.size)
    candidates = np.flatnonzero(~is_target) if exclude_targets_from_initial else everything
    fixed = None if initial is None else _fixed_initial(initial, work.size)
    n_initial = n_initial if fixed is None else fixed.size
    if fixed is None and candidates.size < n_initial:
        raise UsageError(f"only {candidates.size} rows to draw {n_initial} initial rows from")
    _check_tree_model(plans, model_factory)
    pool_rows = work.size - n_initial
    total = min(n_iterations * batch_size, pool_rows if budget is None else budget, pool_rows)
    plan = _batch_plan(n_iterations, batch_size, total)
    total = sum(plan)
    problem = _Problem(features, work, target_cut, model_factory)

    initial = np.zeros((n_trials, n_initial), dtype=np.int64)
    picks = {s.name: np.zeros((n_trials, total), dtype=np.int64) for s in plans}
    extension: dict[str, list[IntArray]] = {s.name: [] for s in plans}
    views: dict[str, list[_Picked]] = {s.name: [] for s in plans}
    for trial, trial_seed in enumerate(np.random.SeedSequence(seed).spawn(n_trials)):
        child_seeds = trial_seed.spawn(len(plans) + 1)
        start_rng = np.random.default_rng(child_seeds[0])
        initial[trial] = fixed if fixed is not None else np.sort(
            start_rng.choice(candidates, size=n_initial, replace=False))
        for strategy, child in zip(plans, child_seeds[1:], strict=True):
            rng = np.random.default_rng(child)
            picks[strategy.name][trial], extra, view = _run_strategy(
                strategy, problem, initial[trial], plan, (extend_to, batch_size), rng
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
            "n_initial": n_initial, "batch_size": batch_size, "n_iterations": n_iterations,
            "budget": total, "n_trials": n_trials, "seed": seed,
            "target_quantile": target_quantile, "top_quantile": top_quantile,
            "objective": objective, "exclude_targets_from_initial": exclude_targets_from_initial,
            "extend_to": extend_to, "threshold": threshold, "fixed_initial": fixed is not None,
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


def candidates_from_rows(
    formulas: Sequence[object], y: ArrayLike, row_ids: Sequence[Any], preset: str
) -> tuple[FloatArray, FloatArray, list[str], int]:
    """One simulation candidate per composition, from labelled table rows.

    Rows without a finite target are left out; repeated measurements of one composition
    (however written) are averaged, so a composition cannot be "found" twice, and their
    row ids are joined with ``+``. Returns the descriptors of ``preset``, the targets, the
    candidate ids and the number of rows left out (no target, or no features).
    """
    from matgenome.evaluation import composition_labels
    from matgenome.features import compute_features

    values = np.asarray(y, dtype=float)
    usable = np.flatnonzero(np.isfinite(values))
    frame = pd.DataFrame({
        "key": composition_labels([formulas[i] for i in usable]),
        "formula": [formulas[i] for i in usable],
        "y": values[usable],
        "id": [str(row_ids[i]) for i in usable],
    })
    groups = frame.groupby("key", sort=False)
    merged = pd.DataFrame({"formula": groups["formula"].first(), "y": groups["y"].mean(),
                           "id": groups["id"].agg("+".join)})
    X, errors = compute_features(merged["formula"].tolist(), preset)
    ok = np.array([not e for e in errors], dtype=bool)
    left_out = len(values) - int(groups["y"].size()[ok].sum())
    return X[ok], merged["y"].to_numpy()[ok], merged["id"][ok].tolist(), left_out


# Thompson sampling, the cold start and the greedy picks use the trees and their mean, and
# refitting the std calibration (an internal 5-fold) at every batch would multiply the cost
# of a simulation by six; the benchmarks (simulate_obelix, campaign_regimes) ran this model.
SIMULATION_CALIBRATION = "none"


def simulation_model_factory(recipe: Any, n_estimators: int = 100,
                             n_jobs: int | None = 1) -> ModelFactory:
    """The model ``matgenome simulate`` refits at every batch: the recipe's regressor with
    ``n_estimators`` trees, uncalibrated std, ``random_state`` left for the trial to seed."""

    def make() -> Any:
        return recipe.estimator(None, n_estimators, n_jobs=n_jobs,
                                calibration=SIMULATION_CALIBRATION)

    return make


@dataclass
class SimulationData:
    """A labelled table made ready to simulate on: one row per composition."""

    X: FloatArray  # descriptors of ``recipe.features``
    y: FloatArray  # exact targets, repeats averaged
    row_ids: list[str]  # source row ids, joined with "+" for repeats
    left_out: int  # rows without a usable exact target or without features
    recipe: Any  # the recipe (matgenome.selection) whose estimator is simulated


def simulation_data(labelled: LabelledData, preset: str | None = None) -> SimulationData:
    """Featurize and filter a labelled table (``matgenome.labelled.read_labelled``).

    Censored and unusable targets are left out (a bound is not a measured value); the
    features are those of the default recipe for the table's target, or ``preset``. Row ids
    are a dataset's ``id`` column, else the 0-based input row.
    """
    from matgenome.selection import custom_candidate, default_candidate

    targets = labelled.targets
    y = np.where(is_exact(targets.censor) & targets.usable, targets.values, np.nan)
    ids = labelled.ids if labelled.ids is not None else list(range(len(y)))
    recipe = default_candidate(labelled.target)
    if preset:
        recipe = custom_candidate(preset, None, recipe)
    X, y, row_ids, left_out = candidates_from_rows(list(labelled.formulas), y, ids,
                                                   recipe.features)
    return SimulationData(X, y, row_ids, left_out, recipe)
