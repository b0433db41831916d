"""The one reader of labelled tables (matgenome.labelled), used by train, simulate,
campaigns and training.train on a DataFrame."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from matgenome.errors import InputError, UsageError
from matgenome.labelled import FIRST_DATA_ROW, labelled_from_frame, read_labelled


def test_a_table_with_units_bounds_and_log10(tmp_path: Path) -> None:
    source = tmp_path / "lab.xlsx"
    pd.DataFrame({"Composition": ["Li6PS5Cl", "Li2O", "Li3N", "LiCl"],
                  "σ": ["1.2 mS/cm", "<1e-7", "0.5", "fast"],
                  "paper": ["a", "a", "b", "c"]}).to_excel(source, index=False)
    data = read_labelled(source, target_column="σ", target_unit="mS/cm", log10=True,
                         group_column="paper")
    assert list(data.formulas) == ["Li6PS5Cl", "Li2O", "Li3N", "LiCl"]
    np.testing.assert_allclose(data.targets.values[:3], np.log10([1.2e-3, 1e-10, 5e-4]))
    assert list(data.targets.censor) == ["", "<", "", ""]
    assert data.targets.errors[3] == "target 'fast': not a number"
    # The unit of the stored values (S/cm for cells in mS/cm), before the log10.
    assert data.target["unit"] == "S/cm" and data.target["transform"] == "log10"
    assert data.groups == ["a", "a", "b", "c"] and data.source == str(source)
    assert data.ids is None


def test_a_shipped_dataset_brings_its_target_groups_and_ids() -> None:
    data = read_labelled(dataset="obelix")
    assert len(data.formulas) == len(data.targets.values) == len(data.ids) == 599
    assert data.source == "shipped dataset obelix"
    assert data.groups is not None and data.target["transform"] == "log10"
    assert (data.targets.censor != "").any()


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({}, "give exactly one of path (a table file) and dataset"),
        ({"path": "x.csv", "dataset": "obelix"}, "give exactly one of path"),
        ({"path": "{good}"}, "target_column is required"),
        ({"path": "{good}", "target_column": "nope"}, "column 'nope' not found"),
        ({"path": "{good}", "target_column": "y", "group_column": "g"}, "column 'g' not found"),
        ({"path": "{missing}", "target_column": "y"}, "input file not found"),
    ],
)
def test_errors_are_input_errors(tmp_path: Path, kwargs: dict, message: str) -> None:
    good = tmp_path / "good.csv"
    good.write_text("formula,y\nLi2O,1\n")
    paths = {"good": good, "missing": tmp_path / "missing.csv"}
    kwargs = {k: v.format(**paths) if isinstance(v, str) else v for k, v in kwargs.items()}
    with pytest.raises(InputError, match=re.escape(message)):
        read_labelled(**kwargs)


def test_an_unknown_dataset_is_one_usage_error_everywhere() -> None:
    """A dataset name the caller chose that is not shipped: UsageError, one message."""
    from matgenome.campaign_data import initial_measurements
    from matgenome.datasets import dataset_info, load

    for call in (lambda: read_labelled(dataset="nope"), lambda: load("nope"),
                 lambda: dataset_info("nope"),
                 lambda: initial_measurements(["nope"], [], None)):
        with pytest.raises(UsageError, match="unknown dataset 'nope'; shipped datasets: "
                           "obelix") as caught:
            call()
        assert caught.value.parameters == ("dataset",)


def test_a_frame_is_read_with_its_formula_column_detected() -> None:
    frame = pd.DataFrame({"Reduced Composition": ["Li2O", "Li3N"], "s": ["1 mS/cm", "<1e-9"]})
    formulas, targets = labelled_from_frame(frame, "s", log10=True)
    assert list(formulas) == ["Li2O", "Li3N"]
    np.testing.assert_allclose(targets.values, [-3.0, -9.0])
    assert list(targets.censor) == ["", "<"] and FIRST_DATA_ROW == 2
