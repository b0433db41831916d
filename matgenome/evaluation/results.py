"""Evaluation results: the result record, its JSON file and its text table.

An :class:`EvaluationResult` holds the protocol, the model parameters, the metrics (per
fold, their mean and population std, and pooled over all out-of-fold rows), what each fold
held out (rows and groups on each side), the baselines scored in the same run, warnings
about the folds, the per-row predictions, a SHA-256 hash of the data and the versions of
the software (from :mod:`matgenome.provenance`); ``write_json`` stores it atomically and
``table`` formats it for a terminal.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from matgenome.censoring import censor_of
from matgenome.provenance import json_safe, table_sha256, write_json_atomic

RESULT_SCHEMA = "matgenome.evaluation/1"


@dataclass
class EvaluationResult:
    """The outcome of one evaluation run, ready to print or store as JSON."""

    dataset: str
    protocol: dict[str, Any]
    model: dict[str, Any]
    metrics: dict[str, Any]
    fold_metrics: list[dict[str, Any]]
    pooled_metrics: dict[str, Any]
    predictions: pd.DataFrame
    data_hash: str
    versions: dict[str, str]
    runtime_seconds: float
    notes: list[str] = field(default_factory=list)
    #: Per fold: train/test rows, exact rows and groups, linking rows removed from training,
    #: the model's MAE and the baselines' (see :func:`matgenome.evaluation.folds.describe_folds`).
    folds: list[dict[str, Any]] = field(default_factory=list)
    #: Baseline name -> description, MAE mean/std over folds and pooled MAE.
    baselines: dict[str, Any] = field(default_factory=dict)
    #: Warnings about the folds (e.g. merged groups making one fold hold most of the rows).
    warnings: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dictionary (per-row predictions as a list of records)."""
        return json_safe(
            {
                "schema": RESULT_SCHEMA,
                "dataset": self.dataset,
                "data_sha256": self.data_hash,
                "protocol": self.protocol,
                "model": self.model,
                "metrics": self.metrics,
                "fold_metrics": self.fold_metrics,
                "pooled_metrics": self.pooled_metrics,
                "folds": self.folds,
                "baselines": self.baselines,
                "warnings": self.warnings,
                "notes": self.notes,
                "versions": self.versions,
                "runtime_seconds": self.runtime_seconds,
                # Column lists, not records: the column names are not repeated per row.
                "predictions": self.predictions.to_dict(orient="list"),
            }
        )

    def write_json(self, path: str | Path) -> Path:
        """Write the result atomically (temporary file + rename) and return the path."""
        return write_json_atomic(self.to_dict(), path)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> EvaluationResult:
        """Rebuild a result from :meth:`to_dict` output (e.g. a loaded JSON file)."""
        return cls(
            dataset=data["dataset"],
            protocol=data["protocol"],
            model=data["model"],
            metrics=data["metrics"],
            fold_metrics=data["fold_metrics"],
            pooled_metrics=data.get("pooled_metrics", {}),
            predictions=pd.DataFrame(data["predictions"]),
            data_hash=data["data_sha256"],
            versions=data["versions"],
            runtime_seconds=data["runtime_seconds"],
            notes=data.get("notes", []),
            folds=data.get("folds", []),
            baselines=data.get("baselines", {}),
            warnings=data.get("warnings", []),
        )

    @classmethod
    def read_json(cls, path: str | Path) -> EvaluationResult:
        """Load a result written by :meth:`write_json`."""
        return cls.from_dict(json.loads(Path(path).read_text(encoding="utf-8")))

    def table(self) -> str:
        """The metrics as aligned text (mean ± std over folds where there are many), then
        what each fold held out with its MAE and the baselines', then any warnings."""
        parts = [format_metrics_table(self.metrics,
                                      title=f"{self.dataset} / {self.protocol['name']}")]
        if self.folds:
            parts.append(format_folds_table(self.folds, self.pooled_mae(), self.baselines))
        reliability = (self.pooled_metrics or self.metrics).get("reliability")
        if reliability:
            parts.append(format_reliability_table(reliability))
        parts += [f"warning: {message}" for message in self.warnings]
        return "\n".join(parts)

    def pooled_mae(self) -> float | None:
        """The model's MAE over every exact out-of-fold row (the only fold's, for one split)."""
        metrics = self.pooled_metrics or self.metrics
        value = metrics.get("regression", {}).get("mae")
        return value if isinstance(value, int | float) else None


def format_reliability_table(rows: list[dict[str, Any]]) -> str:
    """Reliability of a classifier's probabilities, pooled over the test rows: per bin,
    the rows, the mean predicted probability and the observed share of the positive class."""
    lines = ["reliability (all test rows): probability bin, rows, mean predicted, observed"]
    for row in rows:
        lines.append(f"  {row['low']:.1f}-{row['high']:.1f}  {row['n']:>6}  "
                     f"{row['mean_probability']:.3f}  {row['observed_share']:.3f}")
    return "\n".join(lines)


def table_hash(frame: pd.DataFrame) -> str:
    """SHA-256 of a table's formulas, targets and censoring (``censor``)."""
    hashed = frame.assign(censor=censor_of(frame))
    return table_sha256(hashed, columns=("formula", "target", "censor"))


def describe_model(model: Any) -> dict[str, Any]:
    """Class name and parameters of a model, JSON-safe."""
    if model is None:
        return {}
    params = model.get_params(deep=True) if hasattr(model, "get_params") else {}
    return {"class": f"{type(model).__module__}.{type(model).__qualname__}", "params": params}


def format_metrics_table(metrics: dict[str, Any], title: str = "") -> str:
    """Render nested metrics (values or ``{"mean", "std"}``) as aligned text lines."""
    lines = [title] if title else []
    for section, values in metrics.items():
        if not isinstance(values, dict) or set(values) == {"mean", "std"}:
            lines.append(f"  {section:<48} {_format_value(values)}")
            continue
        for name, value in values.items():
            lines.append(f"  {section + '.' + name:<48} {_format_value(value)}")
    return "\n".join(lines)


def format_folds_table(folds: list[dict[str, Any]], pooled_mae: float | None = None,
                       baselines: dict[str, Any] | None = None) -> str:
    """One line per fold: rows and groups on each side, linking rows removed from training,
    groups merged into the test set, the model's MAE and each baseline's; then a pooled
    line."""
    names = list(baselines or {})
    merged = any("merged_groups" in fold for fold in folds)
    scored = any("mae" in fold for fold in folds)
    headers = ["fold", "train rows", "test rows", "train groups", "test groups", "removed",
               *(["merged"] if merged else []), *(["MAE"] if scored else []),
               *[f"{name.replace('_', ' ')} MAE" for name in names]]
    rows = []
    for fold in folds:
        rows.append([fold["fold"], fold["train_rows"], fold["test_rows"], fold["train_groups"],
                     fold["test_groups"], fold["linking_rows_removed"],
                     *([fold.get("merged_groups", "")] if merged else []),
                     *([_number(fold.get("mae"))] if scored else []),
                     *[_number(fold.get("baselines", {}).get(name, {}).get("mae"))
                       for name in names]])
    if len(folds) > 1:
        rows.append(["pooled", "", sum(f["test_rows"] for f in folds), "", "", "",
                     *([""] if merged else []), *([_number(pooled_mae)] if scored else []),
                     *[_number(baselines[name].get("pooled_mae")) for name in names]])
    cells = [headers, *[[str(c) for c in row] for row in rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    lines = ["  " + "  ".join(c.rjust(w) for c, w in zip(row, widths, strict=True)).rstrip()
             for row in cells]
    kind = folds[0].get("group_kind", "group")
    return "\n".join([f"folds (groups: {kind}; MAE over exact test rows; removed: rows of "
                      "test compositions left out of training)", *lines])


def _number(value: Any) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    return f"{value:.3f}"


def _format_value(value: Any) -> str:
    if isinstance(value, dict) and "mean" in value:
        return f"{value['mean']:.4g} ± {value['std']:.2g}"
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)
