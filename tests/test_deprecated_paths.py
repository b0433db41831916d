"""Moved modules keep their old import path for one release, with a DeprecationWarning."""

from __future__ import annotations

import importlib
import sys

import pytest

MOVED = {
    "matgenome.ranking.batch": "matgenome.ranking.batch_selection",
    "matgenome.models.selection": "matgenome.selection",
    "matgenome.campaign_data": "matgenome.campaign.data",
    "matgenome.campaign_round": "matgenome.campaign.round",
    "matgenome.campaign_report": "matgenome.campaign.report",
}


@pytest.mark.parametrize(("old", "new"), sorted(MOVED.items()))
def test_old_path_warns_and_reads_the_new_module(old: str, new: str) -> None:
    sys.modules.pop(old, None)
    shim = importlib.import_module(old)
    moved = importlib.import_module(new)
    public = [n for n in vars(moved) if not n.startswith("_")
              and getattr(getattr(moved, n), "__module__", None) == new]
    assert public
    for name in public:
        with pytest.warns(DeprecationWarning, match=rf"{old}\.{name} moved to {new}\.{name}"):
            assert getattr(shim, name) is getattr(moved, name)
    with pytest.raises(AttributeError):
        shim.no_such_name  # noqa: B018


@pytest.mark.parametrize("name", ["simulation_classifier_data", "simulation_classifier_factory"])
def test_simulation_helpers_left_classification_for_the_simulation_package(name: str) -> None:
    import matgenome.classification as classification
    import matgenome.simulation as simulation

    with pytest.warns(DeprecationWarning, match=rf"classification\.{name} moved to "
                                                rf"matgenome\.simulation\.{name}"):
        assert getattr(classification, name) is getattr(simulation, name)
