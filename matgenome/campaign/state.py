"""A campaign's state: the files of a campaign directory and the records of campaign.json."""

from __future__ import annotations

from dataclasses import dataclass

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
