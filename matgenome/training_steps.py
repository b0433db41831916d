"""The steps regression and classifier training share, below both.

:mod:`matgenome.training` (regressors) and :mod:`matgenome.classification` (two-class
targets) check the rows of a training table, report the rows they skip, describe the
fitted model in a card and wrap their training path as a scikit-learn estimator on formulas
in the same way; those steps live here so that neither training module needs the other's.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator
from sklearn.utils import Tags
from sklearn.utils.validation import check_is_fitted

from matgenome.censoring import LOWER
from matgenome.errors import UsageError
from matgenome.io import TargetValues
from matgenome.models.fallback import DistanceFallbackRegressor
from matgenome.provenance import table_sha256 as data_hash
from matgenome.targets import normalise_target

__all__ = ["TrainedModelEstimator", "TrainingReport", "duplicate_spread",
           "formulas_and_targets", "jsonable", "skip_row", "training_card", "usable_rows"]


@dataclass
class TrainingReport:
    """What happened to the rows of a training table."""

    rows_read: int
    rows_used: int
    # reason -> row numbers as the user counts them (``first_row`` + position: spreadsheet
    # row numbers when the table came from a file with a header line)
    skipped: dict[str, list[int]] = field(default_factory=dict)
    examples: dict[str, str] = field(default_factory=dict)  # reason -> one example message
    duplicates: dict[str, float] = field(default_factory=dict)  # repeated compositions

    def summary(self) -> str:
        parts = [f"{self.rows_used} of {self.rows_read} rows used"]
        if self.duplicates.get("compositions"):
            d = self.duplicates
            parts.append(
                f"{d['compositions']:.0f} compositions measured more than once "
                f"({d['rows']:.0f} rows; spread max-min median {d['median_spread']:.3g}, "
                f"largest {d['max_spread']:.3g})"
            )
        for reason, rows in self.skipped.items():
            shown = ", ".join(str(r) for r in rows[:5]) + (", ..." if len(rows) > 5 else "")
            example = self.examples.get(reason, "")
            parts.append(f"{len(rows)} skipped: {reason} (rows {shown})"
                         + (f", e.g. {example}" if example else ""))
        return "; ".join(parts)


def usable_rows(formulas: pd.Series, formula_errors: list[str], targets: TargetValues,
                censored: str, report: TrainingReport, first_row: int = 0) -> np.ndarray:
    """Rows to train on; the others are recorded in ``report`` with their reason."""
    use = np.ones(len(formulas), dtype=bool)
    for i in range(len(formulas)):
        row = i + first_row
        if formula_errors[i]:
            skip_row(report, "invalid formula", row, f"row {row}: {formula_errors[i]}")
        elif targets.errors[i]:
            skip_row(report, "unusable target", row, f"row {row}: {targets.errors[i]}")
        elif targets.censor[i] and censored == "drop":
            skip_row(report, "censored target (bound only)", row,
                  f"row {row} {formulas[i]!r}: target is a bound ({targets.censor[i]})")
        elif targets.censor[i] == LOWER and censored == "hurdle":
            # The hurdle learns a floor (upper bounds); a lower bound is not a value either.
            skip_row(report, "lower bound (the model learns from upper bounds only)", row,
                  f"row {row} {formulas[i]!r}: target is a lower bound (>)")
        else:
            continue
        use[i] = False
    report.rows_used = int(use.sum())
    if report.rows_used < 5:
        raise UsageError(f"only {report.rows_used} usable rows; at least 5 are needed. "
                         + report.summary())
    return use


def duplicate_spread(compositions: list, values: np.ndarray) -> dict[str, float]:
    """How often the same composition appears, and how far apart its values are.

    Repeated measurements are kept for training (they carry the measurement noise); this
    only reports them. Compositions are compared at the identity tolerance, as splits are.
    """
    from matgenome.composition import CompositionKey

    keys = pd.Series([CompositionKey.of(c) for c in compositions])
    frame = pd.DataFrame({"key": keys, "value": values})
    groups = frame.groupby("key")["value"]
    sizes = groups.size()
    repeated = sizes[sizes > 1].index
    if len(repeated) == 0:
        return {"compositions": 0.0, "rows": 0.0}
    spread = (groups.max() - groups.min())[repeated]
    return {
        "compositions": float(len(repeated)),
        "rows": float(sizes[repeated].sum()),
        "median_spread": float(spread.median()),
        "max_spread": float(spread.max()),
    }


def skip_row(report: TrainingReport, reason: str, row: int, message: str) -> None:
    report.skipped.setdefault(reason, []).append(row)
    report.examples.setdefault(reason, message)


def training_card(
    given: dict[str, Any],
    estimator: Any,
    used: pd.DataFrame,
    report: TrainingReport,
    censored: str,
    preset: str,
    seed: int,
    elements: list[str],
    mobile_ion: str | None,
) -> dict[str, Any]:
    regressor = estimator[-1]
    # The card describes the model the fallback wraps; the fallback has its own entry.
    regressor = getattr(regressor, "regressor_", regressor) \
        if isinstance(regressor, DistanceFallbackRegressor) else regressor
    card: dict[str, Any] = {
        "name": given.get("name", "model"),
        "description": given.get("description", "composition -> property regressor"),
        "target": normalise_target(given.get("target")),
        "feature_preset": preset,
        "estimator": {
            "class": f"{type(regressor).__module__}.{type(regressor).__qualname__}",
            "params": {k: jsonable(v) for k, v in regressor.get_params().items()},
            "uncertainty_scale": float(getattr(regressor, "scale_", 1.0)),
            "noise_std": float(getattr(regressor, "noise_std_", 0.0)),
        },
        "seed": seed,
        "domain": {"class": "matgenome.domain.DomainModel", "mobile_ion": mobile_ion},
        "training_data": {
            "source": given.get("source", "user data"),
            "rows_read": report.rows_read,
            "rows_used": report.rows_used,
            "skipped": {k: len(v) for k, v in report.skipped.items()},
            "repeated_compositions": report.duplicates,
            "censored_treatment": censored,
            "sha256": data_hash(used),
            "target_range": [float(used["target"].min()), float(used["target"].max())],
            "elements": elements,
        },
        "metrics": given.get("metrics", {}),
        "intended_use": given.get("intended_use", "Ranking candidate compositions for "
                                  "measurement; not a substitute for measurement."),
        "limits": given.get("limits", [
            "Composition only: polymorphs and processing are not distinguished.",
            "Unreliable for elements or chemistries absent from the training data.",
        ]),
    }
    return card


def jsonable(value: Any) -> Any:
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    if isinstance(value, np.generic):
        return value.item()
    return repr(value)


class TrainedModelEstimator(BaseEstimator):
    """What the scikit-learn wrappers of the training paths share (the regressor
    :class:`~matgenome.training.TrainedModelRegressor`, the classifier
    :class:`~matgenome.classification.TrainedModelClassifier`).

    A subclass's ``fit`` runs its training path and hands the result to :meth:`_keep`;
    ``X`` is formula text everywhere.
    """

    def _keep(self, model: Any, report: TrainingReport) -> None:
        """Record a fitted training path: the model, its row report and its recipe."""
        self.model_, self.report_ = model, report
        self.recipe_ = model.card["selection"]["chosen"]

    def predict_uncertainty(self, X: Sequence[object]) -> dict[str, np.ndarray]:
        """Mean (for a classifier: probability of ``classes_[1]``), total uncertainty and
        its parts (epistemic, noise) per formula."""
        from matgenome.features.api import as_formula_list

        check_is_fitted(self, "model_")
        prediction = self.model_.predict(as_formula_list(X))
        return {"mean": prediction.mean, "uncertainty": prediction.std,
                "epistemic": prediction.epistemic, "noise": prediction.noise}

    def __sklearn_tags__(self) -> Tags:
        """``X`` is formula text, as for :class:`~matgenome.features.CompositionFeaturizer`."""
        tags = super().__sklearn_tags__()
        tags.input_tags.string = True
        tags.input_tags.two_d_array = False
        tags.input_tags.one_d_array = True
        return tags


def formulas_and_targets(X: Sequence[object], y: np.ndarray,
                         what: str) -> tuple[list[str], np.ndarray]:
    """The formulas of ``X`` and the 1-D targets ``y`` (``what``: their name in the error).

    Raises:
        UsageError: ``y`` is not 1-D or differs from ``X`` in length.
    """
    from matgenome.features.api import as_formula_list

    formulas = as_formula_list(X)
    if y.ndim != 1 or len(formulas) != len(y):
        raise UsageError(f"{len(formulas)} formulas but {y.size} {what}")
    return formulas, y
