"""Reading a labelled table: formulas and measured target values.

One reader for every place that takes "a table of formulas and measured values": the
``train``, ``evaluate`` and ``simulate`` commands, campaigns (``matgenome.campaign.data``)
and :func:`matgenome.training.train` on a DataFrame. It detects the formula column, parses
the target cells (units such as ``mS/cm``, censored bounds such as ``<1E-10``, optional
``log10``) and keeps the rows in file order, so an error can name a row by its spreadsheet
number (:data:`FIRST_DATA_ROW` is the first data row; the header is row 1).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from matgenome.errors import InputError

if TYPE_CHECKING:
    import pandas as pd

    from matgenome.io import TargetValues

# Rows are named by their spreadsheet row number: the header is row 1.
FIRST_DATA_ROW = 2


@dataclass
class LabelledData:
    """Formulas and parsed targets of a labelled table, in row order."""

    formulas: pd.Series
    targets: TargetValues
    target: dict[str, str]  # name, unit and transform of the values (see matgenome.targets)
    source: str  # the file, or "shipped dataset NAME"
    groups: list[Any] | None = None  # selection groups: a dataset's papers, or group_column
    ids: list[Any] | None = None  # a shipped dataset's row ids
    table: pd.DataFrame | None = None  # every column of a file as read (None for a dataset)


def labelled_from_frame(frame: pd.DataFrame, target_column: str,
                        formula_column: str | None = None, *, log10: bool = False,
                        unit: str | None = None) -> tuple[pd.Series, TargetValues]:
    """The formula column (named, or detected by name) and the parsed target cells."""
    from matgenome.io import detect_formula_column, parse_target_values, require_column

    column = detect_formula_column(list(frame.columns), formula_column)
    values = frame[require_column(list(frame.columns), target_column)]
    return frame[column], parse_target_values(values, log10=log10, unit=unit)


def read_labelled(path: str | os.PathLike | None = None, *, dataset: str | None = None,
                  formula_column: str | None = None, target_column: str | None = None,
                  log10: bool = False, target_unit: str | None = None,
                  group_column: str | None = None) -> LabelledData:
    """Read a table of formulas and measured values, or a shipped dataset.

    Give exactly one of ``path`` (CSV/TSV/Excel/Parquet; ``target_column`` required) and
    ``dataset``. A dataset brings its own target description, its papers (``doi``) as
    groups and its row ids; a table gets ``group_column``'s values as groups.
    """
    if bool(path) == bool(dataset):
        raise InputError("give exactly one of path (a table file) and dataset (a shipped "
                         "dataset name)", parameters=("path", "dataset"))
    if dataset:
        return _dataset(dataset)
    from matgenome.io import detect_formula_column, read_table, require_column
    from matgenome.targets import describe_target

    frame = read_table(path)
    # The formula column is checked before the target column, as it always was.
    detect_formula_column(list(frame.columns), formula_column)
    if not target_column:
        raise InputError("target_column is required with a table file (path)",
                         parameters=("target_column",))
    formulas, targets = labelled_from_frame(frame, target_column, formula_column,
                                            log10=log10, unit=target_unit)
    # The unit of the stored values (S/cm for cells in mS/cm), not of the cells.
    target = describe_target(target_column, targets.unit, log10)
    groups = None
    if group_column:
        groups = frame[require_column(list(frame.columns), group_column)].tolist()
    return LabelledData(formulas, targets, target, str(path), groups, table=frame)


def _dataset(name: str) -> LabelledData:
    from matgenome.datasets import dataset_info, load
    from matgenome.io import TargetValues
    from matgenome.targets import normalise_target

    info = dataset_info(name)
    frame = load(name)
    targets = TargetValues(values=frame["target"].to_numpy(float),
                           censor=frame["censor"].to_numpy(str), errors=[""] * len(frame))
    return LabelledData(
        frame["formula"], targets, normalise_target({"name": info.target, "unit": info.unit}),
        f"shipped dataset {name}",
        groups=frame["doi"].tolist() if "doi" in frame.columns else None,
        ids=frame["id"].tolist() if "id" in frame.columns else None)
