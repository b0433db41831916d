"""Closed-loop campaigns: train -> propose -> measure -> record -> retrain, kept in a directory.

A campaign directory is meant to be put under version control; its state is plain text:

``campaign.json``     settings (target, unit, transform, objective, threshold, constraints,
                      model options, seed), the data sources, every round (model hash,
                      proposal file, rows trained on), every recorded file, a state version;
``measurements.csv``  every measured row: formula, value (model units), censor, the raw cell,
                      source (dataset and row id, or file name and spreadsheet row), the
                      round that proposed it, the round it was recorded in, the time;
``candidates.csv``    the candidate library (from seed families or a file);
``round-K/``          ``proposal.csv`` (the batch), ``ranking.csv`` (every candidate scored)
                      and ``model/`` (a model directory, ``matgenome.modelfile``);
``.gitignore``        keeps the lock file and the staging area out of version control.

Every command takes an exclusive, non-blocking ``fcntl.flock`` on ``DIR/.lock`` (the OS
releases it when a process dies, so a killed command leaves no stale lock). Writes are
staged in ``DIR/.staging/``; a ``COMMIT`` file listing the staged files is written (atomically)
once everything is staged, then each file is moved into place with ``os.replace`` and
``campaign.json`` last. A command killed before ``COMMIT`` exists leaves the state as it was
(the next command discards the staging area); one killed after it is rolled forward by the
next command, so the state is always either the old or the new one, never a mixture.
"""

from __future__ import annotations

import contextlib
import dataclasses
import fcntl
import json
import os
import shutil
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from matgenome.campaign_data import RecordSettings
from matgenome.errors import InputError
from matgenome.provenance import file_sha256, json_text, utc_now
from matgenome.tables import read_table

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


class CampaignBusy(InputError):
    """Another process holds the campaign's lock."""


def _record_settings(given: RecordSettings | dict[str, Any] | None) -> RecordSettings:
    if isinstance(given, RecordSettings):
        return given
    known = RecordSettings.__dataclass_fields__
    unknown = sorted(set(given or {}) - set(known))
    if unknown:
        raise InputError(f"unknown reading option(s) {', '.join(map(repr, unknown))}; the "
                         f"options are {', '.join(known)}")
    return RecordSettings(**(given or {}))


def _init_settings(given: RecordSettings | dict[str, Any] | None) -> RecordSettings:
    """Reading options as stored at ``init``: log10 not given is no log10."""
    settings = _record_settings(given)
    return RecordSettings(**{**settings.__dict__, "log10": bool(settings.log10)})


# --- locking and atomic commits --------------------------------------------------------------


@contextlib.contextmanager
def campaign_lock(directory: Path) -> Iterator[None]:
    """Hold the campaign's exclusive lock; refuse at once (CampaignBusy) if it is held."""
    handle = open(directory / LOCK_FILE, "a")  # noqa: SIM115 (closed below)
    try:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise CampaignBusy(f"campaign {directory} is busy (another matgenome command "
                               "holds its lock); try again when it has finished") from None
        recover(directory)
        yield
    finally:
        handle.close()  # closing the file releases the lock


def recover(directory: Path) -> None:
    """Finish a committed transaction or discard an uncommitted one (call under the lock)."""
    staging = directory / STAGING_DIR
    if not staging.exists():
        return
    commit = staging / COMMIT_FILE
    if commit.exists():
        _apply(directory, json.loads(commit.read_text()))
    shutil.rmtree(staging)


def _apply(directory: Path, names: list[str]) -> None:
    """Move staged files and directories into place; campaign.json is last in ``names``."""
    staging = directory / STAGING_DIR
    for name in names:
        source, target = staging / name, directory / name
        if not source.exists():  # moved already by an interrupted earlier attempt
            continue
        if source.is_dir() and target.exists():
            shutil.rmtree(target)  # a round directory is only ever replaced whole
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(source, target)


class Transaction:
    """Files staged for one atomic change of a campaign's state."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.staging = directory / STAGING_DIR
        if self.staging.exists():
            shutil.rmtree(self.staging)
        self.staging.mkdir()
        self.names: list[str] = []

    def path(self, name: str) -> Path:
        """Where to write ``name`` (relative to the campaign directory) before the commit."""
        if name not in self.names:
            self.names.append(name)
        path = self.staging / name
        path.parent.mkdir(parents=True, exist_ok=True)
        return path

    def commit(self, state: dict[str, Any]) -> None:
        state_path = self.path(STATE_FILE)
        state_path.write_text(json_text(state, indent=2, sort_keys=True, strict=False))
        names = [n for n in self.names if n != STATE_FILE] + [STATE_FILE]
        marker = self.staging / f".{COMMIT_FILE}.tmp"
        marker.write_text(json.dumps(names))
        # Staged data reach the disk before the marker says they are complete (a power
        # cut, not only a killed process, then leaves the old or the new state).
        for path in sorted(p for p in self.staging.rglob("*") if p.is_file()):
            with open(path, "rb") as handle:
                os.fsync(handle.fileno())
        os.replace(marker, self.staging / COMMIT_FILE)  # the commit point
        _apply(self.directory, names)
        shutil.rmtree(self.staging)


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

    def _state(self) -> dict[str, Any]:
        return json.loads((self.directory / STATE_FILE).read_text())

    @property
    def state(self) -> dict[str, Any]:
        """campaign.json as a dict (settings, sources, rounds, recorded files)."""
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

    def _proposals(self, state: dict[str, Any]):
        import pandas as pd

        frames = [pd.read_csv(self.directory / r["proposal"], keep_default_na=False,
                              dtype={"formula": str, "why": str, "family": str, "rule": str})
                  for r in state["rounds"]]
        return (pd.concat(frames, ignore_index=True) if frames
                else pd.DataFrame(columns=list(PROPOSAL_COLUMNS)))

    def results(self):
        """Every recorded result of a proposal beside the prediction that proposed it
        (formula, round, predicted, uncertainty, measured, censor, z), matched by canonical
        composition: what the report's predicted-vs-measured section shows."""
        from matgenome.campaign_report import recorded_vs_predicted

        with campaign_lock(self.directory):
            state = self._state()
            return recorded_vs_predicted(self._measurements(), self._proposals(state))

    def discoveries(self):
        """Per round: proposals, recorded results, discoveries (results at or beyond the
        threshold) and random picking's expected discoveries, a model-based estimate (see
        :func:`matgenome.campaign_report.discoveries_table`); empty without a threshold."""
        from matgenome.campaign_report import discoveries_table

        with campaign_lock(self.directory):
            state = self._state()
            return discoveries_table(self.directory, state, self._measurements(),
                                     self._proposals(state))

    # init ----------------------------------------------------------------------------------

    @classmethod
    def init(
        cls,
        directory: str | os.PathLike,
        *,
        datasets: Sequence[str] = (),
        data: Sequence[str | os.PathLike] = (),
        record: RecordSettings | dict[str, Any] | None = None,
        candidates: str | os.PathLike | None = None,
        families: Sequence[str] | None = None,
        mobile_ion: str | None = None,
        objective: str = "max",
        threshold: float | None = None,
        constraints: dict[str, Any] | None = None,
        model: dict[str, Any] | None = None,
        seed: int = 0,
        name: str | None = None,
    ) -> Campaign:
        """Create a campaign in ``directory`` (new or empty).

        Args:
            datasets: shipped datasets to start from (e.g. ``["obelix"]``).
            data: the lab's own tables, read with ``record`` (target column, unit, log10).
            record: how tables are read (:class:`RecordSettings` or a dict of its fields:
                ``target_column``, ``formula_column``, ``log10``, ``target_unit``); also the
                default of each option of :meth:`record`. With only datasets it defaults to
                the dataset's own column and unit.
            candidates: a table of candidate formulas.
            families: seed families to generate the candidates from when no table is
                given (``matgenome.generation``; default: all families).
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
        directory = Path(directory)
        if directory.exists() and any(p.name != LOCK_FILE for p in directory.iterdir()):
            raise InputError(f"{directory} exists and is not empty; give a new directory")
        if objective not in ("max", "min"):
            raise InputError(f"objective must be max or min, not {objective!r}")
        created = not directory.exists()
        try:
            directory.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise InputError(f"cannot create the campaign directory {directory}: "
                             f"{exc.strerror or exc}") from None
        try:
            cls._create(directory, datasets, data, record, candidates, families, mobile_ion,
                        objective, threshold, constraints, model, seed, name)
        except CampaignBusy:
            raise  # another init is creating this directory: leave it alone
        except BaseException:
            if created:  # leave no half-made campaign behind
                shutil.rmtree(directory, ignore_errors=True)
            raise
        return cls(directory)

    @staticmethod
    def _create(directory: Path, datasets, data, record, candidates, families, mobile_ion,
                objective, threshold, constraints, model, seed, name) -> None:
        from matgenome.campaign_data import build_candidates, initial_measurements
        from matgenome.ranking import DEFAULT_RULE

        with campaign_lock(directory):
            if (directory / STATE_FILE).exists():
                raise InputError(f"{directory} is already a campaign")
            model = dict(model or {})
            record, target, measurements, sources = initial_measurements(
                datasets, [str(d) for d in data], _init_settings(record),
                task=model.get("task", "auto"), positive=model.get("positive"))
            # The task is fixed here: a classification campaign ranks by the probability
            # of the positive class, and a measured positive is a discovery.
            classes = measurements.attrs.get("classes")
            if classes is not None:
                model.update(task="classification", positive=classes["positive"])
                threshold = 0.5 if threshold is None else threshold
                if objective != "max":
                    raise InputError("a classification campaign maximises the probability "
                                     f"of {classes['positive']!r}: objective must be max")
            library, library_source = build_candidates(candidates, families, seed)
            state = {
                "format": FORMAT_VERSION,
                "name": name or directory.resolve().name,
                "created": utc_now(),
                "state_version": 1,
                "settings": {
                    "target": target, "objective": objective, "threshold": threshold,
                    "constraints": constraints or {}, "mobile_ion": mobile_ion,
                    "model": {"recipe": "auto", "censored": "hurdle", **(model or {})},
                    "seed": seed, "record": record.__dict__,
                    "strategy": f"cold-{DEFAULT_RULE}",
                    **({"task": "classification", "classes": classes} if classes else {}),
                },
                "sources": sources,
                "candidates": {"source": library_source, "rows": len(library)},
                "rounds": [],
                "recorded": [],
            }
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
        from matgenome.campaign_round import run_round

        if batch < 1:
            raise InputError("--batch must be at least 1")
        with campaign_lock(self.directory):
            state = self._state()
            number = len(state["rounds"]) + 1
            transaction = Transaction(self.directory)
            proposal, entry = run_round(state, self._measurements(), self._candidates(),
                                        number, batch, transaction, progress)
            state["rounds"].append(entry)
            state["state_version"] += 1
            transaction.commit(state)
        return proposal

    # record --------------------------------------------------------------------------------

    def record(self, path: str | os.PathLike, *, new: bool = False,
               settings: RecordSettings | dict[str, Any] | None = None) -> dict[str, Any]:
        """Add the measured values of a results table; return a summary.

        ``settings`` (:class:`RecordSettings` or a dict of some of its fields) overrides
        the reading options stored at ``init`` one by one: an option given replaces only
        itself, an option left out (or None) keeps init's value. For instance
        ``settings={"formula_column": "Composition"}`` reads the formulas from that column
        and the values from init's target column, unit and log10.

        Rows are matched to proposed, candidate or already measured compositions by
        canonical composition; others are refused (with their spreadsheet row numbers)
        unless ``new``. Nothing is overwritten: a composition measured again is added as a
        repeat.
        """
        from matgenome.campaign_data import read_results

        given = _record_settings(settings)
        with campaign_lock(self.directory):
            state = self._state()
            read = given.over(_record_settings(state["settings"]["record"]))
            measured = self._measurements()
            rows, summary = read_results(Path(path), read, state, measured,
                                         self._proposals(state), self._candidates(), new)
            summary["read"] = dataclasses.asdict(read)
            import pandas as pd

            stamp = utc_now()
            rows["recorded_at"] = stamp
            combined = pd.concat([measured, rows[list(MEASUREMENT_COLUMNS)]],
                                 ignore_index=True)
            transaction = Transaction(self.directory)
            combined.to_csv(transaction.path(MEASUREMENTS_FILE), index=False)
            digest = file_sha256(path)
            summary["same_content_recorded_at"] = [entry["recorded_at"] for entry
                                                   in state["recorded"]
                                                   if entry["sha256"] == digest]
            # How the file was read (init's options with those given here), so it can be
            # read the same way again.
            state["recorded"].append({"file": Path(path).name, "sha256": digest,
                                      "rows": len(rows), "recorded_at": stamp,
                                      "after_round": len(state["rounds"]),
                                      "read": dataclasses.asdict(read)})
            state["state_version"] += 1
            transaction.commit(state)
        return summary

    # status and report ---------------------------------------------------------------------

    def status(self) -> str:
        """A few lines: rounds, measured counts, best so far, pending proposals."""
        from matgenome.campaign_report import status_text

        with campaign_lock(self.directory):
            state = self._state()
            return status_text(state, self._measurements(), self._proposals(state),
                               self.directory)

    def report(self, output: str | os.PathLike) -> Path:
        """Write the self-contained HTML report (figures embedded) to ``output``."""
        from matgenome.campaign_report import write_report

        with campaign_lock(self.directory):
            state = self._state()
            return write_report(self.directory, state, self._measurements(),
                                self._proposals(state), Path(output))
