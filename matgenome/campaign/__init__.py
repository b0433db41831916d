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

Modules, lowest first: ``state`` (the typed records of ``campaign.json``), ``settings``
(:class:`CampaignSettings`, what ``Campaign.init`` is given), ``store`` (the lock and
atomic commits), ``data`` (reading starting data, candidates and results), ``round``
(retrain and propose), ``report`` (status and HTML report) and ``core`` (:class:`Campaign`).
"""

from matgenome.campaign.core import Campaign
from matgenome.campaign.data import RecordSummary
from matgenome.campaign.settings import CampaignSettings
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
    Round,
    Settings,
    Source,
)
from matgenome.campaign.store import CampaignBusy, Transaction, campaign_lock, recover

__all__ = ["CANDIDATES_FILE", "COMMIT_FILE", "FORMAT_VERSION", "LOCK_FILE",
           "MEASUREMENTS_FILE", "MEASUREMENT_COLUMNS", "PROPOSAL_COLUMNS", "STAGING_DIR",
           "STATE_FILE", "Campaign", "CampaignBusy", "CampaignSettings", "CampaignState",
           "Classes", "Library", "RecordSettings", "RecordSummary", "RecordedFile", "Round",
           "Settings", "Source", "Transaction", "campaign_lock", "recover"]
