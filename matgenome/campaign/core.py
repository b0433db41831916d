"""The :class:`Campaign`: a closed-loop campaign kept in a directory (see
:mod:`matgenome.campaign` for the directory's layout)."""

from __future__ import annotations

import os
import shutil
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from matgenome.campaign.data import RecordSummary
from matgenome.campaign.settings import CampaignSettings, record_settings
from matgenome.campaign.state import (
    CANDIDATES_FILE,
    COMMIT_FILE,
    FORMAT_VERSION,
    LOCK_FILE,
    MEASUREMENT_COLUMNS,
    MEASUREMENTS_FILE,
    PROPOSAL_COLUMNS,
    STAGING_DIR,
    STATE_FILE,
    CampaignState,
    Classes,
    Library,
    RecordedFile,
    RecordSettings,
    Settings,
)
from matgenome.campaign.store import CampaignBusy, Transaction, campaign_lock
from matgenome.io import InputError, read_table
from matgenome.provenance import file_sha256, utc_now

# --- the campaign ----------------------------------------------------------------------------


class Campaign:
    """A closed-loop campaign kept in a directory (see the module docstring).

    Create one with :meth:`Campaign.init`, open an existing one with ``Campaign(path)``;
    then :meth:`propose`, :meth:`record`, :meth:`status` and :meth:`report`. Every method
    holds the campaign's lock while it runs.
    """

    def __init__(self, directory: str | os.PathLike) -> None:
        self.directory = Path(directory)
        if (not (self.directory / STATE_FILE).exists()
                and (self.directory / STAGING_DIR / COMMIT_FILE).exists()):
            with campaign_lock(self.directory):  # an init killed after its commit point
                pass
        if not (self.directory / STATE_FILE).exists():
            raise InputError(f"{self.directory} is not a campaign (no {STATE_FILE}); create "
                             "it with 'matgenome campaign init'")

    # state ---------------------------------------------------------------------------------

    def _state(self) -> CampaignState:
        path = self.directory / STATE_FILE
        try:
            return CampaignState.from_json(path.read_text(encoding="utf-8"))
        except InputError as exc:  # a damaged or hand-edited file: say which one
            raise InputError(f"{path}: {exc}") from None

    @property
    def state(self) -> CampaignState:
        """campaign.json as a :class:`~matgenome.campaign.state.CampaignState` (settings,
        sources, rounds, recorded files)."""
        with campaign_lock(self.directory):
            return self._state()

    @property
    def measurements(self):
        """Every measured row (a pandas DataFrame with MEASUREMENT_COLUMNS)."""
        with campaign_lock(self.directory):
            return self._measurements()

    @property
    def candidates(self):
        """The candidate library (formula, family, ...)."""
        with campaign_lock(self.directory):
            return self._candidates()

    def _measurements(self):
        import pandas as pd

        frame = read_table(self.directory / MEASUREMENTS_FILE)
        frame["value"] = pd.to_numeric(frame["value"])
        for column in ("proposed_in", "recorded_in"):
            frame[column] = pd.to_numeric(frame[column]).astype("Int64")
        return frame

    def _candidates(self):
        return read_table(self.directory / CANDIDATES_FILE)

    def proposals(self):
        """Every round's proposal, concatenated (empty before the first round)."""
        with campaign_lock(self.directory):
            return self._proposals(self._state())

    def _proposals(self, state: CampaignState):
        import pandas as pd

        frames = [pd.read_csv(self.directory / r.proposal, keep_default_na=False,
                              dtype={"formula": str, "why": str, "family": str, "rule": str})
                  for r in state.rounds]
        return (pd.concat(frames, ignore_index=True) if frames
                else pd.DataFrame(columns=list(PROPOSAL_COLUMNS)))

    def results(self):
        """Every recorded result of a proposal beside the prediction that proposed it
        (formula, round, predicted, uncertainty, measured, censor, z), matched by canonical
        composition: what the report's predicted-vs-measured section shows."""
        from matgenome.campaign.report import recorded_vs_predicted

        with campaign_lock(self.directory):
            state = self._state()
            return recorded_vs_predicted(self._measurements(), self._proposals(state))

    def discoveries(self):
        """Per round: proposals, recorded results, discoveries (results at or beyond the
        threshold) and random picking's expected discoveries, a model-based estimate (see
        :func:`matgenome.campaign.report.discoveries_table`); empty without a threshold."""
        from matgenome.campaign.report import discoveries_table

        with campaign_lock(self.directory):
            state = self._state()
            return discoveries_table(self.directory, state, self._measurements(),
                                     self._proposals(state))

    # init ----------------------------------------------------------------------------------

    @classmethod
    def init(cls, directory: str | os.PathLike, settings: CampaignSettings | None = None,
             **options: Any) -> Campaign:
        """Create a campaign in ``directory`` (new or empty) from ``settings`` (a
        :class:`~matgenome.campaign.settings.CampaignSettings`: starting data, how tables
        are read, candidate library, objective, threshold, constraints, model options,
        seed, name).

        Passing those options as keywords (``Campaign.init(dir, data=[...], ...)``) is
        deprecated: it still works, with a DeprecationWarning, for one release.
        """
        if options:
            if settings is not None:
                raise TypeError("give either settings or keyword options, not both")
            warnings.warn("Campaign.init(directory, **options) is deprecated and will be "
                          "removed in the next release; pass "
                          "Campaign.init(directory, CampaignSettings(**options))",
                          DeprecationWarning, stacklevel=2)
            settings = CampaignSettings(**options)
        settings = settings if settings is not None else CampaignSettings()
        if not isinstance(settings, CampaignSettings):
            raise TypeError(f"settings must be a CampaignSettings, not "
                            f"{type(settings).__name__}")
        directory = Path(directory)
        if directory.exists() and any(p.name != LOCK_FILE for p in directory.iterdir()):
            raise InputError(f"{directory} exists and is not empty; give a new directory")
        created = not directory.exists()
        try:
            directory.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise InputError(f"cannot create the campaign directory {directory}: "
                             f"{exc.strerror or exc}") from None
        try:
            cls._create(directory, settings)
        except CampaignBusy:
            raise  # another init is creating this directory: leave it alone
        except BaseException:
            if created:  # leave no half-made campaign behind
                shutil.rmtree(directory, ignore_errors=True)
            raise
        return cls(directory)

    @staticmethod
    def _create(directory: Path, given: CampaignSettings) -> None:
        from matgenome.campaign.data import build_candidates, initial_measurements
        from matgenome.ranking import DEFAULT_RULE

        with campaign_lock(directory):
            if (directory / STATE_FILE).exists():
                raise InputError(f"{directory} is already a campaign")
            model = dict(given.model)
            record, target, measurements, sources = initial_measurements(
                given.datasets, [str(d) for d in given.data], given.record,
                task=model.get("task", "auto"), positive=model.get("positive"))
            # The task is fixed here: a classification campaign ranks by the probability
            # of the positive class, and a measured positive is a discovery.
            classes: Classes | None = measurements.attrs.get("classes")
            threshold = given.threshold
            if classes is not None:
                model.update(task="classification", positive=classes.positive)
                threshold = 0.5 if threshold is None else threshold
                if given.objective != "max":
                    raise InputError("a classification campaign maximises the probability "
                                     f"of {classes.positive!r}: objective must be max")
            library, library_source = build_candidates(given.candidates, given.families,
                                                       given.seed)
            state = CampaignState(
                format=FORMAT_VERSION, name=given.name or directory.resolve().name,
                created=utc_now(), state_version=1,
                settings=Settings(
                    target=target, objective=given.objective, threshold=threshold,
                    constraints=dict(given.constraints), mobile_ion=given.mobile_ion,
                    model={"recipe": "auto", "censored": "hurdle", **model},
                    seed=given.seed, record=record, strategy=f"cold-{DEFAULT_RULE}",
                    task="classification" if classes else None, classes=classes),
                sources=tuple(sources),
                candidates=Library(source=library_source, rows=len(library)))
            transaction = Transaction(directory)
            measurements.to_csv(transaction.path(MEASUREMENTS_FILE), index=False)
            library.to_csv(transaction.path(CANDIDATES_FILE), index=False)
            # The lock and the staging area are not state: keep them out of version control.
            transaction.path(".gitignore").write_text(f"{LOCK_FILE}\n{STAGING_DIR}/\n")
            transaction.commit(state)

    # propose -------------------------------------------------------------------------------

    def propose(self, batch: int = 5, progress=None):
        """Retrain on every measurement, score the candidates and propose ``batch`` of the
        ones not measured yet; write ``round-K/`` and return the proposal table."""
        from matgenome.campaign.round import run_round

        if batch < 1:
            raise InputError("batch must be at least 1", parameters=("batch",))
        with campaign_lock(self.directory):
            state = self._state()
            number = len(state.rounds) + 1
            transaction = Transaction(self.directory)
            proposal, entry = run_round(state, self._measurements(), self._candidates(),
                                        number, batch, transaction, progress)
            transaction.commit(state.with_round(entry))
        return proposal

    # record --------------------------------------------------------------------------------

    def record(self, path: str | os.PathLike, *, new: bool = False,
               settings: RecordSettings | Mapping[str, Any] | None = None) -> RecordSummary:
        """Add the measured values of a results table; return a summary.

        ``settings`` (:class:`RecordSettings` or a dict of some of its fields) overrides
        the reading options stored at ``init`` one by one: an option given replaces only
        itself, an option left out (or None) keeps init's value. For instance
        ``settings={"formula_column": "Composition"}`` reads the formulas from that column
        and the values from init's target column, unit and log10.

        Rows are matched to proposed, candidate or already measured compositions by
        canonical composition; others are refused (with their spreadsheet row numbers)
        unless ``new``. Nothing is overwritten: a composition measured again is added as a
        repeat. Returns a :class:`~matgenome.campaign.data.RecordSummary`.
        """
        from matgenome.campaign.data import read_results

        given = record_settings(settings)
        with campaign_lock(self.directory):
            state = self._state()
            read = given.over(state.settings.record)
            measured = self._measurements()
            rows, summary = read_results(Path(path), read, state, measured,
                                         self._proposals(state), self._candidates(), new)
            import pandas as pd

            stamp = utc_now()
            rows["recorded_at"] = stamp
            combined = pd.concat([measured, rows[list(MEASUREMENT_COLUMNS)]],
                                 ignore_index=True)
            transaction = Transaction(self.directory)
            combined.to_csv(transaction.path(MEASUREMENTS_FILE), index=False)
            digest = file_sha256(path)
            summary = summary.completed(read, tuple(entry.recorded_at for entry
                                                    in state.recorded
                                                    if entry.sha256 == digest))
            # How the file was read (init's options with those given here), so it can be
            # read the same way again.
            transaction.commit(state.with_recorded(RecordedFile(
                file=Path(path).name, sha256=digest, rows=len(rows), recorded_at=stamp,
                after_round=len(state.rounds), read=read)))
        return summary

    # status and report ---------------------------------------------------------------------

    def status(self) -> str:
        """A few lines: rounds, measured counts, best so far, pending proposals."""
        from matgenome.campaign.report import status_text

        with campaign_lock(self.directory):
            state = self._state()
            return status_text(state, self._measurements(), self._proposals(state),
                               self.directory)

    def report(self, output: str | os.PathLike) -> Path:
        """Write the self-contained HTML report (figures embedded) to ``output``."""
        from matgenome.campaign.report import write_report

        with campaign_lock(self.directory):
            state = self._state()
            return write_report(self.directory, state, self._measurements(),
                                self._proposals(state), Path(output))
