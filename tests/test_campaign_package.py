"""The campaign package: old module paths forward with a warning; campaign.json round-trips."""

from __future__ import annotations

import importlib
import json
import re
from pathlib import Path

import pandas as pd
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


# --- the typed state ------------------------------------------------------------------------

DATA = Path(__file__).parent / "data"


def test_a_state_file_written_before_the_typed_state_reads_and_writes_back_byte_for_byte(
) -> None:
    from matgenome.campaign import CampaignState

    # Written by the release whose state was a dict: init, two rounds and one record
    # (timestamps replaced by <TIME>).
    text = (DATA / "campaign_state_v1.json").read_text()
    state = CampaignState.from_json(text)
    assert state.to_json() == text
    assert [r.round for r in state.rounds] == [1, 2]
    assert state.rounds[1].trained_on == 122 and state.settings.threshold == -3.0
    assert state.settings.record.log10 is True and state.recorded[0].read.log10 is True
    assert state.sources[0].sha256.startswith("eb02958f")


def test_keys_of_older_and_newer_releases_round_trip() -> None:
    from matgenome.campaign import CampaignState, Classes

    data = json.loads((DATA / "campaign_state_v1.json").read_text())
    del data["recorded"][0]["read"]  # recorded before the reading options were stored
    data["settings"].update(task="classification", threshold=0.5,
                            classes={"positive": "yes", "negative": "no",
                                     "chosen_by": "the label 'yes'"})
    data["settings"]["constraints"] = {"max_elements": 5}
    data["rounds"][0]["future_key"] = [1, 2]  # written by a later release: kept as it was
    text = json.dumps(data, indent=2, sort_keys=True) + "\n"
    state = CampaignState.from_json(text)
    assert state.to_json() == text
    assert state.recorded[0].read is None
    assert state.settings.classes == Classes("yes", "no", "the label 'yes'")
    assert state.settings.is_classification and state.settings.classes.label(0.0) == "no"
    assert state.rounds[0].extra == {"future_key": [1, 2]}


def test_a_state_file_missing_a_key_is_an_error_naming_it() -> None:
    from matgenome.campaign import CampaignState
    from matgenome.errors import InputError

    data = json.loads((DATA / "campaign_state_v1.json").read_text())
    del data["rounds"][0]["model_sha256"]
    with pytest.raises(InputError, match="a round lacks 'model_sha256'"):
        CampaignState.from_dict(data)
    with pytest.raises(InputError, match="not valid JSON"):
        CampaignState.from_json("{")


def test_a_new_state_is_a_new_record_and_dict_access_is_deprecated() -> None:
    from matgenome.campaign import CampaignState

    state = CampaignState.from_json((DATA / "campaign_state_v1.json").read_text())
    later = state.with_round(state.rounds[-1])
    assert (len(later.rounds), later.state_version) == (3, state.state_version + 1)
    assert len(state.rounds) == 2  # frozen: the original is unchanged
    with pytest.warns(DeprecationWarning, match=r"use the attribute \(state.rounds\)"):
        assert state["rounds"][0]["strategy"] == state.rounds[0].strategy


# --- init's settings ----------------------------------------------------------------------


@pytest.mark.parametrize(("options", "message"), [
    ({"objective": "maximum"}, "objective must be max or min, not 'maximum'"),
    ({"threshold": "high"}, "threshold must be a finite number or None, not 'high'"),
    ({"threshold": float("nan")}, "threshold must be a finite number or None"),
    ({"seed": 1.5}, "seed must be an integer, not 1.5"),
    ({"mobile_ion": ""}, "mobile_ion must be a non-empty string or None"),
    ({"record": {"unit": "S/cm"}}, "unknown reading option.*'unit'.*target_unit"),
])
def test_campaign_settings_are_validated_in_library_terms(options: dict, message: str) -> None:
    from matgenome.campaign import CampaignSettings
    from matgenome.errors import InputError

    with pytest.raises(InputError, match=message):
        CampaignSettings(**options)


def test_campaign_settings_normalise_their_fields() -> None:
    from matgenome.campaign import CampaignSettings, RecordSettings

    settings = CampaignSettings(datasets="obelix", data=[Path("a.csv")],
                                record={"target_column": "sigma"}, threshold=-3)
    assert settings.datasets == ("obelix",) and settings.data == (Path("a.csv"),)
    # log10 not given at init is no log10 (as stored in campaign.json)
    assert settings.record == RecordSettings(target_column="sigma", log10=False)
    assert settings.threshold == -3 and isinstance(settings.threshold, int)  # kept as given


def _tables(tmp_path: Path) -> tuple[Path, Path]:
    start, library = tmp_path / "start.csv", tmp_path / "library.csv"
    pd.DataFrame({"formula": ["Li7La3Zr2O12", "Li3PS4", "Li6PS5Cl"],
                  "sigma": ["3e-4", "<1E-10", "2e-3"]}).to_csv(start, index=False)
    pd.DataFrame({"formula": ["Li10GeP2S12", "Li6PS5Br"]}).to_csv(library, index=False)
    return start, library


def test_the_keyword_form_of_init_still_works_with_a_warning(tmp_path: Path) -> None:
    from matgenome.campaign import Campaign, CampaignSettings

    start, library = _tables(tmp_path)
    options = {"data": [start], "candidates": library, "threshold": -3, "name": "c",
               "record": {"target_column": "sigma", "log10": True, "target_unit": "S/cm"},
               "model": {"recipe": "conductivity", "n_estimators": 20}, "seed": 3}
    with pytest.warns(DeprecationWarning, match=r"Campaign.init\(directory, \*\*options\)"):
        old = Campaign.init(tmp_path / "old", **options)
    new = Campaign.init(tmp_path / "new", CampaignSettings(**options))
    for name in ("campaign.json", "measurements.csv", "candidates.csv"):
        texts = [(c.directory / name).read_text() for c in (old, new)]
        if name == "campaign.json":  # the creation times differ
            texts = [re.sub(r'"created": "[^"]*"', "", t) for t in texts]
        assert texts[0] == texts[1]
    assert new.state.settings.threshold == -3 and new.state.sources[0].rows == 3
    with pytest.raises(TypeError, match="not both"):
        Campaign.init(tmp_path / "both", CampaignSettings(**options), seed=1)


def test_a_campaign_recorded_before_reading_options_were_stored_continues(
        tmp_path: Path) -> None:
    from matgenome.campaign import Campaign, CampaignSettings

    start, library = _tables(tmp_path)
    campaign = Campaign.init(tmp_path / "c", CampaignSettings(
        data=[start], candidates=library, threshold=-3,
        record={"target_column": "sigma", "log10": True, "target_unit": "S/cm"}))
    results = tmp_path / "results.csv"
    pd.DataFrame({"formula": ["Li6PS5Br"], "sigma": ["2e-3"]}).to_csv(results, index=False)
    campaign.record(results)
    # As an earlier release wrote it: the recorded file without its reading options.
    path = campaign.directory / "campaign.json"
    data = json.loads(path.read_text())
    del data["recorded"][0]["read"]
    path.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")
    summary = campaign.record(results)
    state = json.loads(path.read_text())
    assert "read" not in state["recorded"][0]  # the old entry is kept as it was written
    assert state["recorded"][1]["read"]["target_column"] == "sigma"
    assert state["state_version"] == 3 and summary.repeats == 1
    assert summary.same_content_recorded_at == (state["recorded"][0]["recorded_at"],)
    # Recorded before the first round, the rows count with the starting data (round 0).
    assert "5 measurements: 5 starting rows, 0 recorded" in campaign.status()


def test_a_damaged_state_file_is_an_error_naming_the_file(tmp_path: Path) -> None:
    from matgenome.campaign import Campaign, CampaignSettings
    from matgenome.errors import InputError

    start, library = _tables(tmp_path)
    campaign = Campaign.init(tmp_path / "c", CampaignSettings(
        data=[start], candidates=library, record={"target_column": "sigma"}))
    path = campaign.directory / "campaign.json"
    data = json.loads(path.read_text())
    del data["settings"]["seed"]
    path.write_text(json.dumps(data))
    with pytest.raises(InputError, match=f"{re.escape(str(path))}: .*settings lacks 'seed'"):
        campaign.status()
