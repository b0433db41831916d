"""Deprecated: moved to :mod:`matgenome.campaign.data`; this path works for one more release."""

from __future__ import annotations

from typing import Any


def __getattr__(name: str) -> Any:
    from matgenome.campaign._moved import moved_attribute

    return moved_attribute("matgenome.campaign_data", "matgenome.campaign.data", name)
