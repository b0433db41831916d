"""matgenome.evaluation.leakage: a composition on both sides of a split is found and refused."""

from __future__ import annotations

import importlib

import numpy as np
import pandas as pd
import pytest
from sklearn.dummy import DummyRegressor

# ``matgenome.evaluation`` is also a function exported by the package: import the module.
ev = importlib.import_module("matgenome.evaluation")


def test_planted_leak_is_detected_and_refused(duplicated_table: pd.DataFrame) -> None:
    frame = duplicated_table
    keys = ev.composition_labels(frame["formula"].tolist())
    train, test = np.arange(0, 20), np.arange(20, 24)  # Li1O, Li2O... are in both
    report = ev.check_leakage(keys, train, test)
    assert not report.clean
    assert len(report.shared_compositions) == 4
    assert "4 compositions" in report.describe()
    with pytest.raises(ValueError, match="shared between train and test"):
        ev.run_protocol(frame, frame[["target"]].to_numpy(), DummyRegressor, [(train, test)])
