"""Locking and atomic commits of a campaign directory (see :mod:`matgenome.campaign`)."""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

from matgenome.campaign.state import (
    COMMIT_FILE,
    LOCK_FILE,
    STAGING_DIR,
    STATE_FILE,
    CampaignState,
)
from matgenome.io import InputError


class CampaignBusy(InputError):
    """Another process holds the campaign's lock."""


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

    def commit(self, state: CampaignState) -> None:
        state_path = self.path(STATE_FILE)
        state_path.write_text(state.to_json())
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
