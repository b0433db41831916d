"""Fit a composition -> property model from a table and describe it in a model card."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from matgenome.composition import parse_many
from matgenome.datasets import data_hash
from matgenome.domain import DomainModel
from matgenome.io import TargetValues
from matgenome.modelfile import TrainedModel
from matgenome.models import DEFAULT_PRESET, make_model

CENSORED_TREATMENTS = ("drop", "bound")


@dataclass
class TrainingReport:
    """What happened to the rows of a training table."""

    rows_read: int
    rows_used: int
    skipped: dict[str, list[int]] = field(default_factory=dict)  # reason -> row numbers
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
            parts.append(f"{len(rows)} skipped: {reason} (rows {shown})")
        return "; ".join(parts)


def train_model(
    formulas: pd.Series,
    targets: TargetValues,
    *,
    preset: str | None = None,
    recipe: str | None = None,
    censored: str = "drop",
    n_estimators: int | None = None,
    kind: str = "random_forest",
    seed: int = 0,
    n_jobs: int | None = None,
    mobile_ion: str | None = None,
    card: dict[str, Any] | None = None,
) -> tuple[TrainedModel, TrainingReport]:
    """Fit a model on the usable rows and return it with a report of skipped rows.

    Args:
        formulas: formula strings, one per row.
        targets: parsed target values (``matgenome.io.parse_target_values``).
        preset: feature preset (default: the recipe's, or ``magpie``).
        recipe: a recipe of ``matgenome.models.recipes`` with calibrated uncertainty
            (``obelix``: its features and calibrated extra trees); None for the
            out-of-bag calibrated forest set by ``kind`` and ``n_estimators``.
        censored: ``drop`` leaves bound-only rows (``<1E-10``) out; ``bound`` trains on the
            bound as if it were the value (biased; kept for comparison).
        n_estimators, kind, seed, n_jobs: the ensemble's settings (default trees: the
            recipe's, or 300).
        mobile_ion: element every in-domain candidate must contain (``"Li"`` for a Li-ion
            conductivity model); None for properties without one.
        card: model-card fields to record (name, target, source, intended use, limits).
    """
    if censored not in CENSORED_TREATMENTS:
        raise ValueError(f"censored must be one of {CENSORED_TREATMENTS}, not {censored!r}")
    preset, regressor = _regressor(recipe, preset, n_estimators, seed, n_jobs)
    formulas = pd.Series(formulas).reset_index(drop=True)
    compositions, formula_errors = parse_many(formulas)
    report = TrainingReport(rows_read=len(formulas), rows_used=0)
    use = np.ones(len(formulas), dtype=bool)
    for i in range(len(formulas)):
        if formula_errors[i]:
            _skip(report, "invalid formula", i, f"row {i}: {formula_errors[i]}")
        elif targets.errors[i]:
            _skip(report, "unusable target", i, f"row {i}: {targets.errors[i]}")
        elif targets.censor[i] and censored == "drop":
            _skip(report, "censored target (bound only)", i,
                  f"row {i} {formulas[i]!r}: target is a bound ({targets.censor[i]})")
        else:
            continue
        use[i] = False
    report.rows_used = int(use.sum())
    if report.rows_used < 5:
        raise ValueError(f"only {report.rows_used} usable rows; at least 5 are needed. "
                         + report.summary())
    rows = [c for c, keep in zip(compositions, use, strict=True) if keep]
    y = targets.values[use]
    report.duplicates = duplicate_spread(rows, y)
    estimator = make_model(preset=preset, n_estimators=n_estimators or 300, kind=kind,
                           random_state=seed, n_jobs=n_jobs, regressor=regressor)
    estimator.fit(rows, y)
    domain = DomainModel(mobile_ion=mobile_ion).fit(
        [str(c.formula) for c in rows], estimator[0].transform(rows))
    used = pd.DataFrame({"formula": formulas[use].to_numpy(), "target": y})
    elements = sorted({str(el) for c in rows for el in c.elements})
    model_card = _card(card or {}, estimator, used, report, censored, preset, seed, elements,
                       mobile_ion)
    # Every row with a valid formula and target is kept as known data, censored ones too.
    known = np.array([not f and not t for f, t in zip(formula_errors, targets.errors,
                                                      strict=True)])
    training_data = pd.DataFrame({"formula": formulas[known].to_numpy(),
                                  "target": targets.values[known],
                                  "censor": targets.censor[known]})
    return TrainedModel(estimator=estimator, card=model_card, training_data=training_data,
                        domain=domain), report


def _regressor(recipe: str | None, preset: str | None, n_estimators: int | None,
               seed: int, n_jobs: int | None) -> tuple[str, Any]:
    """The feature preset and the regressor (None: the default forest) of a recipe."""
    if recipe is None:
        return preset or DEFAULT_PRESET, None
    from matgenome.models.recipes import get_recipe

    chosen = get_recipe(recipe)
    options = {} if n_estimators is None else {"n_estimators": n_estimators}
    regressor = chosen.make_model(random_state=seed, n_jobs=n_jobs, **options)
    if not hasattr(regressor, "predict_components"):
        raise ValueError(f"recipe {recipe!r} gives no calibrated uncertainty; use one with "
                         "it (obelix) or none")
    return preset or chosen.features, regressor


def duplicate_spread(compositions: list, values: np.ndarray) -> dict[str, float]:
    """How often the same composition appears, and how far apart its values are.

    Repeated measurements are kept for training (they carry the measurement noise); this
    only reports them. Compositions are compared by atomic fractions rounded to 1e-4.
    """
    from matgenome.generation import composition_key

    keys = pd.Series([composition_key(c) for c in compositions])
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


def _skip(report: TrainingReport, reason: str, row: int, message: str) -> None:
    report.skipped.setdefault(reason, []).append(row)
    report.examples.setdefault(reason, message)


def _card(
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
    card: dict[str, Any] = {
        "name": given.get("name", "model"),
        "description": given.get("description", "composition -> property regressor"),
        "target": given.get("target", {"name": "target", "unit": "", "transform": "none"}),
        "feature_preset": preset,
        "estimator": {
            "class": f"{type(regressor).__module__}.{type(regressor).__qualname__}",
            "params": {k: _jsonable(v) for k, v in regressor.get_params().items()},
            "uncertainty_scale": float(getattr(regressor, "uncertainty_scale_",
                                               getattr(regressor, "scale_", 1.0))),
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


def _jsonable(value: Any) -> Any:
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    if isinstance(value, np.generic):
        return value.item()
    return repr(value)


def train(
    data: pd.DataFrame | list | pd.Series,
    target: str | np.ndarray | list | pd.Series | None = None,
    *,
    formula_column: str | None = None,
    log10: bool = False,
    unit: str | None = None,
    **options: Any,
) -> TrainedModel:
    """Train a model from a DataFrame (column names) or from formulas and target values.

    Examples:
        ``train(frame, "sigma", log10=True)`` with a formula column detected by name;
        ``train(["Li2O", ...], [1e-3, ...], log10=True)``; target cells may be text such as
        ``<1E-10`` (censored) or ``3 × 10^-4``. Further options go to ``train_model``
        (``preset``, ``recipe``, ``censored``, ``n_estimators``, ``kind``, ``seed``, ``mobile_ion``,
        ``card``).
    """
    from matgenome.io import detect_formula_column, parse_target_values, require_column

    if isinstance(data, pd.DataFrame):
        if not isinstance(target, str):
            raise ValueError("with a DataFrame, target must be the name of its target column")
        column = detect_formula_column(list(data.columns), formula_column)
        formulas = data[column]
        values = data[require_column(list(data.columns), target)]
        if "censor" in data.columns and target == "target":
            # A table from matgenome.datasets.load: the bounds are flagged in 'censor'.
            parsed = parse_target_values(list(values), log10=log10, unit=unit)
            parsed.censor = data["censor"].fillna("").astype(str).to_numpy()
            model, _ = train_model(formulas, parsed, **options)
            return model
    else:
        if target is None:
            raise ValueError("give the target values")
        formulas, values = pd.Series(list(data)), list(target)
    if len(formulas) != len(values):
        raise ValueError(f"{len(formulas)} formulas but {len(values)} target values")
    parsed = parse_target_values(list(values), log10=log10, unit=unit)
    model, _ = train_model(formulas, parsed, **options)
    return model
