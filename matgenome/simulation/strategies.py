"""Strategies of a simulation: named ways of picking the next experiments."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from matgenome.errors import UsageError
from matgenome.ranking import ACQUISITIONS, BATCH_RULES, DEFAULT_RULE, TREE_RULES, Batch

COLD_PREFIX = "cold-"
# The default strategy is the package's batch rule behind a stratified cold start, chosen by
# benchmarks/campaign_regimes.py over cold, warm and second-property regimes; greedy and
# random are the baselines it is compared with.
DEFAULT_STRATEGY = COLD_PREFIX + DEFAULT_RULE
DEFAULT_STRATEGIES: tuple[str, ...] = (DEFAULT_STRATEGY, "greedy", "random")
TREE_SAMPLERS: tuple[str, ...] = TREE_RULES


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
