"""A campaign's state: the files of a campaign directory and the typed records of
``campaign.json``.

:class:`CampaignState` reads a state file as written by every earlier release and writes
it back byte for byte (``to_json(from_json(text)) == text``): keys a release did not write
stay absent, and keys this release does not know are kept as they were (``extra``). The
records are frozen; a change of state is a new record (:meth:`CampaignState.with_round`,
:meth:`CampaignState.with_recorded`).
"""

from __future__ import annotations

import dataclasses
import json
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from matgenome.errors import InputError
from matgenome.provenance import json_text

FORMAT_VERSION = 1
STATE_FILE = "campaign.json"
MEASUREMENTS_FILE = "measurements.csv"
CANDIDATES_FILE = "candidates.csv"
LOCK_FILE = ".lock"
STAGING_DIR = ".staging"
COMMIT_FILE = "COMMIT"
MEASUREMENT_COLUMNS = ("formula", "value", "censor", "raw_value", "source", "group",
                       "proposed_in", "recorded_in", "recorded_at")
PROPOSAL_COLUMNS = ("round", "batch", "formula", "family", "predicted", "uncertainty",
                    "in_domain", "domain_reason", "supply_risk", "cost_per_kg", "rank",
                    "pareto", "why")


@dataclass(frozen=True)
class RecordSettings:
    """How a results table is read: the same options as ``matgenome train``.

    ``None`` means "not given": at ``init`` the reader's default (formula column detected,
    no unit, no log10), at ``record`` the value stored at ``init``.
    """

    target_column: str | None = None
    formula_column: str | None = None
    log10: bool | None = None
    target_unit: str | None = None

    def over(self, stored: RecordSettings) -> RecordSettings:
        """Each option given here (not None) replaces only itself; every option left out
        keeps its value in ``stored``."""
        return RecordSettings(**{name: stored.__dict__[name] if value is None else value
                                 for name, value in self.__dict__.items()})

    def to_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> RecordSettings:
        return cls(**_known(cls, data, "record settings"))


def _known(cls: type, data: Mapping[str, Any], what: str) -> dict[str, Any]:
    """The fields of ``cls`` in ``data``; a missing required field is an error naming it."""
    if not isinstance(data, Mapping):
        raise InputError(f"campaign state: {what} must be a JSON object, not {data!r}")
    names = {f.name for f in dataclasses.fields(cls)} - {"extra"}
    required = {f.name for f in dataclasses.fields(cls)
                if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING}
    missing = sorted(required - set(data))
    if missing:
        raise InputError(f"campaign state: {what} lacks {', '.join(map(repr, missing))}")
    return {k: v for k, v in data.items() if k in names}


def _extra(cls: type, data: Mapping[str, Any]) -> dict[str, Any]:
    """Keys of ``data`` that ``cls`` does not know (written by another release): kept."""
    names = {f.name for f in dataclasses.fields(cls)}
    return {k: v for k, v in data.items() if k not in names}


def _plain(record: Any, omit_none: tuple[str, ...] = ()) -> dict[str, Any]:
    """A record's JSON object: its fields (``omit_none`` ones left out when None, as the
    release that introduced them does) and its ``extra`` keys."""
    out: dict[str, Any] = {}
    for f in dataclasses.fields(record):
        value = getattr(record, f.name)
        if f.name == "extra" or (f.name in omit_none and value is None):
            continue
        out[f.name] = value.to_json() if hasattr(value, "to_json") else value
    return {**out, **record.extra}


@dataclass(frozen=True)
class Classes:
    """The two labels of a classification campaign (fixed at init): values are stored as
    1.0 (``positive``) and 0.0 (``negative``); ``chosen_by`` says how the positive one was
    chosen."""

    positive: str
    negative: str
    chosen_by: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    def label(self, value: float) -> str:
        """The label as a lab writes it for a stored value (1.0 or 0.0)."""
        return self.positive if value == 1.0 else self.negative

    def to_json(self) -> dict[str, Any]:
        return _plain(self)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Classes:
        return cls(**_known(cls, data, "classes"), extra=_extra(cls, data))


@dataclass(frozen=True)
class Settings:
    """What a campaign looks for and how it trains, fixed at init (``settings`` in
    campaign.json).

    ``target`` is the description of the stored values (``matgenome.targets``: name, unit,
    transform, label); ``constraints`` and ``model`` are the options of
    ``matgenome.screen.RankSettings`` and ``matgenome.training.train_model``; ``task`` and
    ``classes`` are present for a classification campaign only.
    """

    target: dict[str, Any]
    objective: str
    threshold: float | None
    constraints: dict[str, Any]
    mobile_ion: str | None
    model: dict[str, Any]
    seed: int
    record: RecordSettings
    strategy: str
    task: str | None = None
    classes: Classes | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def is_classification(self) -> bool:
        return self.task == "classification"

    def to_json(self) -> dict[str, Any]:
        return _plain(self, omit_none=("task", "classes"))

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Settings:
        known = _known(cls, data, "settings")
        known["record"] = RecordSettings.from_json(known["record"])
        if known.get("classes") is not None:
            known["classes"] = Classes.from_json(known["classes"])
        return cls(**known, extra=_extra(cls, data))


@dataclass(frozen=True)
class Source:
    """One source of the starting data: a shipped dataset or a file (with its SHA-256)."""

    kind: str
    name: str
    rows: int
    sha256: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return _plain(self, omit_none=("sha256",))

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Source:
        return cls(**_known(cls, data, "a source"), extra=_extra(cls, data))


@dataclass(frozen=True)
class Library:
    """The candidate library: where it came from and its size."""

    source: str
    rows: int
    extra: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return _plain(self)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Library:
        return cls(**_known(cls, data, "candidates"), extra=_extra(cls, data))


@dataclass(frozen=True)
class Round:
    """One round: its files (relative to the campaign directory), the model's hash, the
    rows it was trained on, the recipe chosen and the rule that proposed the batch."""

    round: int
    created: str
    batch: int
    proposal: str
    ranking: str
    model: str
    model_sha256: str
    trained_on: int
    measurements: int
    recipe: str
    strategy: str
    eligible: int
    extra: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return _plain(self)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Round:
        return cls(**_known(cls, data, "a round"), extra=_extra(cls, data))


@dataclass(frozen=True)
class RecordedFile:
    """One recorded results file: its name, hash, rows, when and after which round, and
    how it was read (``read``; absent in campaigns recorded before it was stored)."""

    file: str
    sha256: str
    rows: int
    recorded_at: str
    after_round: int
    read: RecordSettings | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return _plain(self, omit_none=("read",))

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> RecordedFile:
        known = _known(cls, data, "a recorded file")
        if known.get("read") is not None:
            known["read"] = RecordSettings.from_json(known["read"])
        return cls(**known, extra=_extra(cls, data))


@dataclass(frozen=True)
class CampaignState:
    """``campaign.json``: settings, sources, candidate library, rounds, recorded files."""

    format: int
    name: str
    created: str
    state_version: int
    settings: Settings
    sources: tuple[Source, ...]
    candidates: Library
    rounds: tuple[Round, ...] = ()
    recorded: tuple[RecordedFile, ...] = ()
    extra: dict[str, Any] = field(default_factory=dict)

    def __getitem__(self, key: str) -> Any:
        """Deprecated dict-style access (``state["rounds"]``), as when the state was a dict:
        the JSON value of ``key``. Use the attributes."""
        warnings.warn("indexing a campaign state is deprecated and will be removed in the "
                      f"next release; use the attribute (state.{key})", DeprecationWarning,
                      stacklevel=2)
        return self.to_dict()[key]

    def with_round(self, entry: Round) -> CampaignState:
        """This state with one more round (and the next state version)."""
        return dataclasses.replace(self, rounds=(*self.rounds, entry),
                                   state_version=self.state_version + 1)

    def with_recorded(self, entry: RecordedFile) -> CampaignState:
        """This state with one more recorded file (and the next state version)."""
        return dataclasses.replace(self, recorded=(*self.recorded, entry),
                                   state_version=self.state_version + 1)

    def to_dict(self) -> dict[str, Any]:
        """The JSON object of campaign.json."""
        out = _plain(self)
        for name in ("sources", "rounds", "recorded"):
            out[name] = [item.to_json() for item in getattr(self, name)]
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> CampaignState:
        known = _known(cls, data, "campaign.json")
        known["settings"] = Settings.from_json(known["settings"])
        known["candidates"] = Library.from_json(known["candidates"])
        known["sources"] = tuple(Source.from_json(s) for s in known["sources"])
        known["rounds"] = tuple(Round.from_json(r) for r in known.get("rounds", ()))
        known["recorded"] = tuple(RecordedFile.from_json(r) for r in known.get("recorded", ()))
        return cls(**known, extra=_extra(cls, data))

    def to_json(self) -> str:
        """The text of campaign.json (sorted keys, two-space indent, a final newline)."""
        return json_text(self.to_dict(), indent=2, sort_keys=True, strict=False)

    @classmethod
    def from_json(cls, text: str) -> CampaignState:
        """Read the text of campaign.json."""
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise InputError(f"campaign state: campaign.json is not valid JSON ({exc})") from None
        return cls.from_dict(data)
