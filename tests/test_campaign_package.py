"""The campaign package: old module paths forward with a warning; campaign.json round-trips."""

from __future__ import annotations

import importlib

import pytest


@pytest.mark.parametrize(("old", "new", "name"), [
    ("matgenome.campaign_data", "matgenome.campaign.data", "read_results"),
    ("matgenome.campaign_round", "matgenome.campaign.round", "run_round"),
    ("matgenome.campaign_report", "matgenome.campaign.report", "status_text"),
])
def test_old_module_paths_forward_with_a_deprecation_warning(old: str, new: str,
                                                             name: str) -> None:
    module = importlib.import_module(old)
    with pytest.warns(DeprecationWarning, match=f"{old} is deprecated.*import {name} from {new}"):
        value = getattr(module, name)
    assert value is getattr(importlib.import_module(new), name)


def test_an_old_path_still_refuses_a_name_that_never_existed() -> None:
    module = importlib.import_module("matgenome.campaign_report")
    with pytest.raises(AttributeError):
        module.no_such_name  # noqa: B018


def test_the_package_keeps_its_public_names() -> None:
    import matgenome
    from matgenome.campaign import Campaign, CampaignBusy, RecordSettings, Transaction

    assert matgenome.Campaign is Campaign
    assert issubclass(CampaignBusy, Exception)
    assert RecordSettings().log10 is None and Transaction.__name__ == "Transaction"
