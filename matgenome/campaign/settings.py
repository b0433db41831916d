"""What ``Campaign.init`` is given: :class:`CampaignSettings`, validated when it is made."""

from __future__ import annotations

import math
import numbers
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields
from typing import Any

from matgenome.campaign.state import RecordSettings
from matgenome.errors import InputError

OBJECTIVES = ("max", "min")


def record_settings(given: RecordSettings | Mapping[str, Any] | None) -> RecordSettings:
    """Reading options from a :class:`RecordSettings` or a dict of some of its fields."""
    if isinstance(given, RecordSettings):
        return given
    known = [f.name for f in fields(RecordSettings)]
    unknown = sorted(set(given or {}) - set(known))
    if unknown:
        raise InputError(f"unknown reading option(s) {', '.join(map(repr, unknown))}; the "
                         f"options are {', '.join(known)}")
    return RecordSettings(**(given or {}))


@dataclass(frozen=True)
class CampaignSettings:
    """Everything a new campaign is made from (see :meth:`matgenome.campaign.Campaign.init`).

    Args:
        datasets: shipped datasets to start from (e.g. ``("obelix",)``).
        data: the lab's own tables, read with ``record`` (target column, unit, log10).
        record: how tables are read (:class:`RecordSettings` or a dict of its fields:
            ``target_column``, ``formula_column``, ``log10``, ``target_unit``); also the
            default of each option of ``Campaign.record``. With only datasets it defaults
            to the dataset's own column and unit.
        candidates: a table of candidate formulas.
        families: seed families to generate the candidates from when no table is given
            (``matgenome.generation``; default: all families).
        mobile_ion: element every in-domain candidate must contain (e.g. ``"Li"``).
        objective: ``max`` or ``min``.
        threshold: a value (model units) that counts as a discovery; with it the first
            batches are a stratified cold start until one is measured.
        constraints: ``required_elements``, ``excluded_elements``, ``max_elements``,
            ``min_mobile_fraction``.
        model: training options (``recipe``, ``n_estimators``, ``censored``, ``preset``,
            ``kind``), as for ``matgenome train``.
        seed: seed of every random choice (training, batch proposals).
        name: the campaign's name (default: the directory name).
    """

    datasets: Sequence[str] = ()
    data: Sequence[str | os.PathLike] = ()
    record: RecordSettings | Mapping[str, Any] | None = None
    candidates: str | os.PathLike | None = None
    families: Sequence[str] | None = None
    mobile_ion: str | None = None
    objective: str = "max"
    threshold: float | None = None
    constraints: Mapping[str, Any] = field(default_factory=dict)
    model: Mapping[str, Any] = field(default_factory=dict)
    seed: int = 0
    name: str | None = None

    def __post_init__(self) -> None:
        # Normalised once here, so the rest of the package sees one type per field.
        for name in ("datasets", "data"):
            value = getattr(self, name)
            if isinstance(value, str | os.PathLike):
                value = (value,)  # one name or path, not a sequence of characters
            object.__setattr__(self, name, tuple(value or ()))
        object.__setattr__(self, "record", _init_record(self.record))
        if isinstance(self.families, str):
            object.__setattr__(self, "families", (self.families,))
        object.__setattr__(self, "constraints", dict(self.constraints or {}))
        object.__setattr__(self, "model", dict(self.model or {}))
        self._validate()

    def _validate(self) -> None:
        if self.objective not in OBJECTIVES:
            raise InputError(f"objective must be max or min, not {self.objective!r}")
        if self.threshold is not None and not (
                isinstance(self.threshold, numbers.Real) and not isinstance(self.threshold, bool)
                and math.isfinite(self.threshold)):
            raise InputError(f"threshold must be a finite number or None, not "
                             f"{self.threshold!r}")
        if isinstance(self.seed, bool) or not isinstance(self.seed, numbers.Integral):
            raise InputError(f"seed must be an integer, not {self.seed!r}")
        for name in ("mobile_ion", "name"):
            value = getattr(self, name)
            if value is not None and not (isinstance(value, str) and value.strip()):
                raise InputError(f"{name} must be a non-empty string or None, not {value!r}")


def _init_record(given: RecordSettings | Mapping[str, Any] | None) -> RecordSettings:
    """Reading options as stored at ``init``: log10 not given is no log10."""
    settings = record_settings(given)
    return RecordSettings(**{**settings.__dict__, "log10": bool(settings.log10)})
