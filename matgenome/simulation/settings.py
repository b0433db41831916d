"""The settings of a simulation: strategies, protocol and seed, checked once."""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from matgenome.errors import UsageError
from matgenome.simulation.results import DAF_TARGETS
from matgenome.simulation.strategies import DEFAULT_STRATEGIES, Strategy, _as_strategies

ModelFactory = Callable[[], Any]


@dataclass(frozen=True)
class SimulationSettings:
    """How :func:`matgenome.simulation.simulate_discovery` runs (the protocol is described
    in :mod:`matgenome.simulation`).

    Attributes:
        strategies: plain names (``"cold-thompson-half"``, ``"ucb"``, ...; plain names use
            ``kappa`` and ``xi``) or :class:`Strategy` objects, names unique.
        n_initial: labelled rows each trial starts from (ignored with ``initial``).
        batch_size: experiments picked per model refit.
        n_iterations: batches per trial; the experiments per trial are
            ``min(n_iterations * batch_size, budget, pool size)``.
        budget: the most experiments per trial (None: no limit beyond the batches).
        n_trials: seeded trials per strategy; at least 20 give usable means and spreads.
        seed: the base seed every trial's seed is spawned from.
        target_quantile, top_quantile: the cuts of the targets and of the top set.
        objective: ``"max"`` or ``"min"`` (targets are then the lowest values).
        exclude_targets_from_initial: draw the initial rows from the non-targets only.
        kappa, xi: the UCB and EI parameters of plain strategy names.
        extend_to: targets each run is extended to past the budget (0 turns it off).
        initial: the rows every trial starts from (a prior); every other row is the pool.
        threshold: the target cut in the caller's units instead of ``target_quantile``.
    """

    strategies: tuple[str | Strategy, ...] = DEFAULT_STRATEGIES
    n_initial: int = 10
    batch_size: int = 1
    n_iterations: int = 50
    budget: int | None = None
    n_trials: int = 20
    seed: int = 0
    target_quantile: float = 0.9
    top_quantile: float = 0.99
    objective: Literal["max", "min"] = "max"
    exclude_targets_from_initial: bool = True
    kappa: float = 2.0
    xi: float = 0.0
    extend_to: int = max(DAF_TARGETS)
    initial: tuple[int, ...] | None = None
    threshold: float | None = None

    def __post_init__(self) -> None:
        # Sequences given as lists or arrays are kept as tuples, so the settings stay frozen.
        object.__setattr__(self, "strategies", tuple(self.strategies))
        if self.initial is not None:
            object.__setattr__(self, "initial", tuple(int(i) for i in self.initial))
        self._check_counts()
        if self.objective not in ("max", "min"):
            raise UsageError("objective must be 'max' or 'min'")
        if not 0 < self.target_quantile <= self.top_quantile < 1:
            raise UsageError("need 0 < target_quantile <= top_quantile < 1")
        if self.initial is not None and (len(set(self.initial)) != len(self.initial)
                                         or len(self.initial) < 2):
            raise UsageError("initial must list at least two distinct rows")
        self.plans()  # unknown or repeated strategy names fail here

    def _check_counts(self) -> None:
        if self.n_initial < 2:
            raise UsageError("n_initial must be at least 2 so that a model can be fitted")
        if self.batch_size < 1:
            raise UsageError("batch_size must be at least 1")
        if self.n_trials < 1:
            raise UsageError(f"n_trials must be at least 1, got {self.n_trials}")
        if self.n_iterations < 1:
            raise UsageError(f"n_iterations must be at least 1, got {self.n_iterations}")
        if self.budget is not None and self.budget < 1:
            raise UsageError(f"budget must be at least 1 (or None), got {self.budget}")
        if self.extend_to < 0:
            raise UsageError(f"extend_to must be 0 or more, got {self.extend_to}")

    def plans(self) -> list[Strategy]:
        """The strategies as :class:`Strategy` objects, in order."""
        return _as_strategies(self.strategies, self.kappa, self.xi)


def settings_from_keywords(settings: SimulationSettings | None,
                           keywords: dict[str, Any]) -> SimulationSettings:
    """The settings of a call: ``settings``, or (deprecated) built from loose keywords."""
    if not keywords:
        return settings if settings is not None else SimulationSettings()
    if settings is not None:
        raise UsageError("pass the simulation's settings either as settings or as keywords "
                         f"({', '.join(sorted(keywords))}), not both")
    known = SimulationSettings.__dataclass_fields__
    unknown = sorted(set(keywords) - set(known))
    if unknown:
        raise TypeError(f"simulate_discovery() got unexpected keyword arguments: {unknown}")
    warnings.warn(
        "simulate_discovery's loose keywords (" + ", ".join(sorted(keywords)) + ") are "
        "deprecated and will be removed in the next release; pass "
        "settings=SimulationSettings(...) instead",
        DeprecationWarning, stacklevel=3)
    return SimulationSettings(**keywords)

