"""Reading a campaign's inputs: starting data, candidate library and recorded results.

Labelled tables are read with the reader of ``matgenome train``
(:func:`matgenome.labelled.read_labelled`: units, ``<1E-10`` censoring, ``--log10``), so a
table that trains a model records into a campaign the same way.
"""

from __future__ import annotations

import dataclasses
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from matgenome.campaign.state import CampaignState, Classes, RecordSettings, Source
from matgenome.censoring import censor_of, is_exact
from matgenome.composition_keys import key_of
from matgenome.io import UNIT_FACTORS, InputError
from matgenome.provenance import file_sha256
from matgenome.targets import normalise_target

MAX_LISTED = 5  # rows named in one error message


@dataclass(frozen=True)
class RecordSummary:
    """What ``Campaign.record`` added: the file, its rows, how many were proposed, repeats
    of measured compositions, new compositions, bound-only values, the round they follow,
    how the file was read and when a file with the same content was recorded before."""

    file: str
    rows: int
    proposed: int
    repeats: int
    new: int
    censored: int
    round: int
    read: RecordSettings | None = None
    same_content_recorded_at: tuple[str, ...] = ()

    def completed(self, read: RecordSettings,
                  same_content_recorded_at: tuple[str, ...]) -> RecordSummary:
        return dataclasses.replace(self, read=read,
                                   same_content_recorded_at=same_content_recorded_at)

    def as_dict(self) -> dict[str, Any]:
        """The summary as the dict ``Campaign.record`` returned before it was typed."""
        out = dataclasses.asdict(self)
        out["same_content_recorded_at"] = list(self.same_content_recorded_at)
        return out

    def __getitem__(self, key: str) -> Any:
        """Deprecated dict-style access (``summary["rows"]``): use the attributes."""
        warnings.warn("indexing a record summary is deprecated and will be removed in the "
                      f"next release; use the attribute (summary.{key})", DeprecationWarning,
                      stacklevel=2)
        return self.as_dict()[key]


def _row_list(rows: list[str]) -> str:
    return "; ".join(rows[:MAX_LISTED]) + (f"; ... ({len(rows)} rows)" if len(rows) > MAX_LISTED
                                           else "")


def base_unit(unit: str | None) -> str:
    """The unit values are stored in after conversion (S/cm for mS/cm, ...)."""
    if not unit:
        return ""
    for group in UNIT_FACTORS.values():
        if unit in group:
            return next(iter(group))
    return unit  # unknown units are refused by the reader with a clear message


def same_quantity(a: dict[str, str], b: dict[str, str]) -> bool:
    """Whether two target descriptions (``matgenome.targets``) store values alike: the same
    unit after conversion and the same transform."""
    return (a["unit"], a["transform"]) == (b["unit"], b["transform"])


def _keys(formulas: pd.Series, name: str) -> list:
    """Canonical composition keys; a formula that does not parse is an error naming its
    spreadsheet row (header is row 1)."""
    keys = [key_of(f) for f in formulas]
    bad = [f"row {i + 2}: formula {f!r} does not parse" for i, (f, k)
           in enumerate(zip(formulas, keys, strict=True)) if k is None]
    if bad:
        raise InputError(f"{name}: {_row_list(bad)}")
    return keys


def _check_targets(targets, formulas: pd.Series, name: str) -> None:
    bad = [f"row {i + 2} ({formulas[i]}): {error}" for i, error in enumerate(targets.errors)
           if error]
    if bad:
        raise InputError(f"{name}: unusable target values: {_row_list(bad)}")


def _measurement_rows(formulas: pd.Series, values: np.ndarray, censor: np.ndarray,
                      raw: list[str], sources: list[str], group: list[str],
                      proposed_in: list, recorded_in: int) -> pd.DataFrame:
    return pd.DataFrame({
        "formula": list(formulas), "value": values, "censor": censor, "raw_value": raw,
        "source": sources, "group": group,
        "proposed_in": pd.array(proposed_in, dtype="Int64"),
        "recorded_in": pd.array([recorded_in] * len(formulas), dtype="Int64"),
        "recorded_at": [""] * len(formulas),
    })


def _dataset_rows(name: str) -> tuple[pd.DataFrame, dict[str, str]]:
    from matgenome.datasets import dataset_info, load

    info = dataset_info(name)
    frame = load(name)
    ids = frame["id"].astype(str) if "id" in frame else pd.Series(range(len(frame))).astype(str)
    doi = (frame["doi"].astype("string").fillna("").tolist() if "doi" in frame
           else [""] * len(frame))
    rows = _measurement_rows(
        frame["formula"].astype(str), frame["target"].to_numpy(float),
        censor_of(frame), [""] * len(frame),
        [f"dataset {name} id {i}" for i in ids],
        [d if d else f"dataset {name}" for d in doi], [None] * len(frame), 0)
    return rows, normalise_target({"name": info.target, "unit": info.unit})


def _dataset_record_settings(name: str, given: RecordSettings) -> RecordSettings:
    """Reading results like a dataset's source table: its column, unit and log10."""
    from matgenome.datasets import dataset_info

    info = dataset_info(name)
    target = normalise_target({"name": info.target, "unit": info.unit})
    log10, unit = target["transform"] == "log10", target["unit"]
    return RecordSettings(target_column=info.source_target_column,
                          formula_column=given.formula_column, log10=log10,
                          target_unit=unit if base_unit(unit) == unit and unit else None)


def initial_measurements(datasets: Sequence[str], data: list[str], settings: RecordSettings,
                         task: str = "auto", positive: str | None = None,
                         ) -> tuple[RecordSettings, dict[str, str], pd.DataFrame, list[Source]]:
    """The starting rows (datasets then tables), with their sources kept per row.

    Returns the record settings, the target description, the rows and the source list.
    A classification target (``task``, or two labels in the first source with ``auto``)
    is stored as 1.0 for the positive class and 0.0 for the other, the label as written
    in ``raw_value``; the classes are then in ``rows.attrs["classes"]``.
    """
    if not datasets and not data:
        raise InputError("give starting data: datasets and/or data (table files)",
                         parameters=("datasets", "data"))
    frames, sources, target = [], [], None
    classes: Classes | None = None
    for name in datasets:
        rows, described = _dataset_rows(name)
        rows, classes = _as_labels(rows, rows["value"].tolist(), task, positive, classes,
                                   f"dataset {name}")
        if target is not None and not same_quantity(described, target):
            raise InputError(f"dataset {name} is in {described['label']}, the others in "
                             f"{target['label']}")
        target = target or described
        frames.append(rows)
        sources.append(Source(kind="dataset", name=name, rows=len(rows)))
    if datasets and not settings.target_column:
        settings = _dataset_record_settings(datasets[0], settings)
    for path in data:
        rows, described = _table_rows(path, settings, task=task, positive=positive,
                                      classes=classes)
        classes = rows.attrs.get("classes", classes)
        if target is not None and not same_quantity(described, target):
            raise InputError(_unit_mismatch(path, described, target))
        target = target or described
        frames.append(rows)
        sources.append(Source(kind="file", name=Path(path).name, rows=len(rows),
                              sha256=file_sha256(path)))
    combined = pd.concat(frames, ignore_index=True)
    if classes is not None:
        combined.attrs["classes"] = classes
    return settings, target, combined, sources


def _as_labels(rows: pd.DataFrame, cells: list, task: str, positive: str | None,
               classes: Classes | None, name: str,
               ) -> tuple[pd.DataFrame, Classes | None]:
    """``rows`` with labels encoded (1.0 positive, 0.0 other) when the campaign's target is
    a classification (``classes`` fixed at init, or found now from ``cells``)."""
    from matgenome.classification import Labels, choose_labels, detect_task, encode_labels

    if classes is None:
        if detect_task(cells, task) != "classification":
            return rows, None
        found = choose_labels(cells, positive)
        classes = Classes(positive=found.positive, negative=found.negative,
                          chosen_by=found.chosen_by)
    labels = Labels(classes.negative, classes.positive, {}, "")
    values, errors = encode_labels(cells, labels)
    bad = [f"row {i + 2}: {e} (labels: {labels.negative!r}, {labels.positive!r})"
           for i, e in enumerate(errors) if e]
    if bad:
        raise InputError(f"{name}: unusable labels: {_row_list(bad)}")
    rows = rows.assign(value=values, raw_value=[
        labels.positive if v == 1.0 else labels.negative for v in values])
    rows.attrs["classes"] = classes
    return rows, classes


def _unit_mismatch(path: str | Path, described: dict[str, str],
                   target: dict[str, str]) -> str:
    return (f"{path} is read as {described['label']} but the campaign's target is "
            f"{target['label']}; give --target-unit (and --log10) so the values convert")


def _table_rows(path: str, settings: RecordSettings, recorded_in: int = 0,
                proposed_in: list | None = None, *, task: str = "auto",
                positive: str | None = None, classes: Classes | None = None,
                ) -> tuple[pd.DataFrame, dict[str, str]]:
    """A table's rows as measurements, and the description of their values (read by
    ``matgenome.labelled.read_labelled``, the reader of ``matgenome train``). Labels of a
    classification target (``classes``, or found with ``task``) are encoded as 1.0/0.0."""
    from matgenome.classification import detect_task
    from matgenome.labelled import read_labelled

    if not settings.target_column:
        raise InputError(f"target_column is required to read {path}",
                         parameters=("target_column",))
    data = read_labelled(path, formula_column=settings.formula_column,
                         target_column=settings.target_column, log10=settings.log10,
                         target_unit=settings.target_unit)
    formulas, targets = data.formulas.astype(str).reset_index(drop=True), data.targets
    name = Path(path).name
    cells = list(targets.raw or [])
    labelled = classes is not None or detect_task(cells, task) == "classification"
    if not labelled:
        _check_targets(targets, formulas, name)
    _keys(formulas, name)
    raw_column = data.table[settings.target_column].astype(str).tolist()
    n = len(formulas)
    rows = _measurement_rows(formulas, targets.values, targets.censor, raw_column,
                             # Each row its own selection group: a lab table has no
                             # paper to group by (recipe selection still keeps repeats of
                             # one composition together).
                             [f"{name} row {i + 2}" for i in range(n)],
                             [f"{name} row {i + 2}" for i in range(n)],
                             proposed_in or [None] * n, recorded_in)
    if labelled:
        rows = rows.assign(censor="")
        rows, _ = _as_labels(rows, cells, task, positive, classes, name)
    return rows, data.target


def build_candidates(path: str | None, families: list[str] | None,
                     seed: int) -> tuple[pd.DataFrame, str]:
    """The candidate library from a table (formula column detected) or seed families."""
    if path and families:
        raise InputError("give either candidates (a table file) or families, not both",
                         parameters=("candidates", "families"))
    if path:
        from matgenome.io import detect_formula_column, read_table

        table = read_table(path)
        column = detect_formula_column(list(table.columns), None)
        frame = table.rename(columns={column: "formula"})
        frame["formula"] = frame["formula"].astype(str)
        _keys(frame["formula"], Path(path).name)
        source = f"file {Path(path).name}"
    else:
        from matgenome.generation import generate_candidates

        frame = generate_candidates(families=families or None, seed=seed)
        source = "seed families: " + (", ".join(families) if families else "all")
    keep = [c for c in ("formula", "family", "method", "description") if c in frame.columns]
    frame = frame[keep].copy()
    keys = pd.Series([key_of(f) for f in frame["formula"]])
    frame = frame[~keys.duplicated().to_numpy()].reset_index(drop=True)
    if frame.empty:
        raise InputError("the candidate library is empty")
    return frame, source


def read_results(path: Path, settings: RecordSettings, state: CampaignState,
                 measured: pd.DataFrame, proposals: pd.DataFrame, candidates: pd.DataFrame,
                 new: bool) -> tuple[pd.DataFrame, RecordSummary]:
    """Rows of a results table to add, matched to known compositions by canonical key."""
    if not path.exists():
        raise InputError(f"results file not found: {path}")
    number = len(state.rounds)
    # The task was fixed at init: a regression campaign never reads labels.
    rows, described = _table_rows(str(path), settings, recorded_in=number,
                                  task=state.settings.task or "regression",
                                  classes=state.settings.classes)
    if rows.empty:
        raise InputError(f"{path.name} has no rows")
    target = normalise_target(state.settings.target)
    if not same_quantity(described, target):
        raise InputError(_unit_mismatch(path.name, described, target))
    keys = [key_of(f) for f in rows["formula"]]
    proposed = {key_of(f): int(r)
                for f, r in zip(proposals["formula"], proposals["round"], strict=True)}
    measured_keys = {key_of(f) for f in measured["formula"]}
    library = {key_of(f) for f in candidates["formula"]}
    unknown = [f"row {i + 2} ({f})" for i, (f, k) in enumerate(zip(rows["formula"], keys,
                                                                   strict=True))
               if k not in proposed and k not in measured_keys and k not in library]
    if unknown and not new:
        raise InputError(f"{path.name}: {len(unknown)} rows match no proposed, candidate or "
                         f"measured composition: {_row_list(unknown)}; check the formulas, "
                         "or record them anyway with new=True", parameters=("new",))
    rows["proposed_in"] = pd.array([proposed.get(k) for k in keys], dtype="Int64")
    summary = RecordSummary(file=path.name, rows=len(rows),
                            proposed=int(rows["proposed_in"].notna().sum()),
                            repeats=sum(k in measured_keys for k in keys), new=len(unknown),
                            censored=int((~is_exact(censor_of(rows))).sum()), round=number)
    return rows, summary
