"""Fit a composition -> property model from a table and describe it in a model card."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, ClassVar

import numpy as np
import pandas as pd
from sklearn.base import RegressorMixin

from matgenome.censoring import EXACT, UPPER, censor_of, upper_bounds
from matgenome.composition import parse_many
from matgenome.domain import DomainModel
from matgenome.errors import UsageError
from matgenome.io import TargetValues
from matgenome.modelfile import TrainedModel
from matgenome.models import make_model
from matgenome.models.fallback import DistanceFallbackRegressor
from matgenome.selection import (
    Selection,
    candidates_for,
    censored_hurdle,
    custom_candidate,
    get_candidate,
    select_candidate,
)
from matgenome.targets import normalise_target
from matgenome.training_steps import (
    TrainedModelEstimator,
    TrainingReport,
    duplicate_spread,
    formulas_and_targets,
    training_card,
    usable_rows,
)

# hurdle (the default): bound-only rows train a "below the bound" classifier beside the
# regressor (matgenome.selection.censored_hurdle, chosen by
# benchmarks/select_censored.py); drop leaves them out; bound trains on the bound as a value.
CENSORED_TREATMENTS = ("hurdle", "drop", "bound")
# Where the model is unsure far from its training data (matgenome.models.fallback, measured
# by benchmarks/evaluate_far.py): interval (the default) widens the interval towards the
# training distribution and keeps the prediction; mean also moves the prediction towards
# the training median; none keeps the model's prediction and interval everywhere.
FALLBACKS = ("interval", "mean", "none")
MIN_BOUNDS = 5  # fewer bound-only rows than this are dropped instead


def train_model(
    formulas: pd.Series,
    targets: TargetValues,
    *,
    recipe: str = "auto",
    preset: str | None = None,
    kind: str | None = None,
    censored: str = "hurdle",
    fallback: str = "interval",
    n_estimators: int | None = None,
    seed: int = 0,
    n_jobs: int | None = None,
    mobile_ion: str | None = None,
    groups: Sequence[object] | None = None,
    card: dict[str, Any] | None = None,
    progress: Callable[[str], None] | None = None,
    first_row: int = 0,
    task: str = "auto",
    positive: str | None = None,
) -> tuple[TrainedModel, TrainingReport]:
    """Fit a model on the usable rows and return it with a report of skipped rows.

    Args:
        formulas: formula strings, one per row.
        targets: parsed target values (``matgenome.io.parse_target_values``).
        recipe: ``auto`` (default): choose among the candidates for the target by grouped
            cross-validation inside these rows (``matgenome.selection``); or a
            recipe name (``conductivity``/``obelix``, ``extra_trees_magpie``, ...).
        preset: override the recipe's feature preset; with it and ``recipe="auto"`` no
            selection is run.
        kind: override the recipe's tree ensemble (``extra_trees``/``random_forest``);
            with it and ``recipe="auto"`` no selection is run.
        censored: ``hurdle`` (default) trains a classifier of "below the bound" on the
            upper-bound rows (``<1E-10``) beside the regressor, which learns from the
            measured rows, and leaves lower bounds (``>``) out; ``drop`` leaves every bound
            out; ``bound`` trains on the bound as if it were the value (biased; kept for
            comparison).
        fallback: ``interval`` (default) widens each interval towards the training
            distribution by a weight that falls with the distance to the training data and
            the model's spread, fitted by leave-one-cluster-out and grouped CV inside these
            rows (:class:`~matgenome.models.fallback.DistanceFallbackRegressor`), and keeps
            the prediction; ``mean`` also moves the prediction towards the training
            median; ``none`` keeps the model's prediction and interval everywhere.
        n_estimators: trees (default: the recipe's).
        seed: seed of every random choice (folds, trees).
        n_jobs: parallel jobs.
        mobile_ion: element every in-domain candidate must contain (``"Li"`` for a Li-ion
            conductivity model); None for properties without one.
        groups: one label per row (e.g. paper DOI) that the selection folds keep together.
        card: model-card fields to record (name, target, source, intended use, limits);
            ``card["target"]`` (name, unit) decides whether the conductivity recipe is a
            candidate.
        progress: called with a line of text as candidates are scored.
        first_row: the number of the first row in messages (2 for a file with a header
            line, so that skipped rows are named by their spreadsheet row number).
        task: ``auto`` (default): a target of exactly two labels (true/false, yes/no, 0/1,
            two words) trains a calibrated classifier (``matgenome.classification``), any
            other a regressor; or ``regression``/``classification``.
        positive: the class of interest of a classification target (default: the rarer).
    """
    from matgenome.classification import resolve_task, train_classifier

    if resolve_task(targets, task) == "classification":
        return train_classifier(
            formulas, targets, positive=positive, recipe=recipe, preset=preset, kind=kind,
            n_estimators=n_estimators, seed=seed, n_jobs=n_jobs, mobile_ion=mobile_ion,
            groups=groups, card=card, progress=progress, first_row=first_row)
    from matgenome.selection import CLASSIFIER_CANDIDATES

    if recipe in CLASSIFIER_CANDIDATES:
        raise UsageError(f"recipe {recipe!r} is a classifier, but this target holds values "
                         "(a regression); give a regression recipe, or task='classification' "
                         "for a target of two labels", parameters=("recipe", "task"))
    if censored not in CENSORED_TREATMENTS:
        raise UsageError(f"censored must be one of {CENSORED_TREATMENTS}, not {censored!r}")
    if fallback not in FALLBACKS:
        raise UsageError(f"fallback must be one of {FALLBACKS}, not {fallback!r}")
    if recipe != "auto":
        get_candidate(recipe)  # an unknown name fails before any row is read
    formulas = pd.Series(formulas).reset_index(drop=True)
    compositions, formula_errors = parse_many(formulas)
    report = TrainingReport(rows_read=len(formulas), rows_used=0)
    valid = np.array([not f and not t for f, t in zip(formula_errors, targets.errors,
                                                      strict=True)])
    if censored == "hurdle" and (upper_bounds(targets.censor) & valid).sum() < MIN_BOUNDS:
        censored = "drop"  # the bound classifier's 5-fold calibration needs 5 bounds
    use = usable_rows(formulas, formula_errors, targets, censored, report, first_row)
    rows = [c for c, keep in zip(compositions, use, strict=True) if keep]
    y = targets.values[use]
    bounds = upper_bounds(targets.censor[use]) & (censored == "hurdle")
    measured = [c for c, b in zip(rows, bounds, strict=True) if not b]
    report.duplicates = duplicate_spread(measured, y[~bounds])
    row_groups = None if groups is None else [
        g for g, k in zip(groups, use, strict=True) if k]
    # The recipe is chosen on the measured rows: a bound is not a value to score against.
    selection = choose_recipe(
        measured, y[~bounds], recipe, preset, kind, (card or {}).get("target"),
        groups=None if row_groups is None else [g for g, b in zip(row_groups, bounds,
                                                                  strict=True) if not b],
        seed=seed, n_jobs=n_jobs, progress=progress)
    candidate = selection.chosen
    regressor = candidate.estimator(seed, n_estimators, n_jobs)
    if bounds.any():
        regressor = censored_hurdle(regressor, seed, n_jobs)
    if fallback != "none":
        regressor = DistanceFallbackRegressor(regressor, shift_mean=fallback == "mean",
                                              random_state=seed, n_jobs=n_jobs)
    estimator = make_model(candidate.features, regressor)
    # Featurize once: the same matrix trains the regressor and the domain model.
    X = estimator[0].fit(rows).transform(rows)
    fit_options: dict[str, Any] = {"censored": bounds} if bounds.any() else {}
    if fallback != "none":
        fit_options["groups"] = row_groups
    estimator[-1].fit(X, y, **fit_options)
    domain = DomainModel(mobile_ion=mobile_ion).fit(X, formulas=[str(c.formula) for c in rows])
    used = pd.DataFrame({"formula": formulas[use].to_numpy(), "target": y})
    elements = sorted({str(el) for c in rows for el in c.elements})
    model_card = training_card(card or {}, estimator, used, report, censored, candidate.features,
                       seed, elements, mobile_ion)
    model_card["recipe"] = candidate.describe()
    if fallback != "none":
        model_card["fallback"] = estimator[-1].describe()
    model_card["selection"] = selection.to_card()
    # Every row with a valid formula and target is kept as known data, censored ones too.
    known = np.array([not f and not t for f, t in zip(formula_errors, targets.errors,
                                                      strict=True)])
    training_data = pd.DataFrame({"formula": formulas[known].to_numpy(),
                                  "target": targets.values[known],
                                  "censor": targets.censor[known]})
    return TrainedModel(estimator=estimator, card=model_card, training_data=training_data,
                        domain=domain), report


def choose_recipe(
    compositions: Sequence[object],
    y: np.ndarray,
    recipe: str = "auto",
    preset: str | None = None,
    kind: str | None = None,
    target: dict[str, Any] | None = None,
    **options: Any,
) -> Selection:
    """The recipe for these rows: named, built from explicit options, or selected by CV."""
    if recipe != "auto":
        named = get_candidate(recipe)
        if preset is None and kind is None:
            return Selection(named, protocol=f"recipe {recipe!r} given: no selection")
        return Selection(custom_candidate(preset, kind, named),
                         protocol=f"recipe {recipe!r} with options given: no selection")
    if preset is not None or kind is not None:
        return Selection(custom_candidate(preset, kind),
                         protocol="preset/estimator given: no selection")
    return select_candidate(compositions, y, candidates_for(target, y, compositions),
                            **options)


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
        (``recipe``, ``preset``, ``kind``, ``censored``, ``n_estimators``, ``seed``,
        ``mobile_ion``, ``groups``, ``card``). A table from ``matgenome.datasets.load``
        brings its target description (so a conductivity gets the conductivity recipe as
        a candidate) and its papers (``doi``) as selection groups.
    """
    from matgenome.io import parse_target_values
    from matgenome.labelled import labelled_from_frame

    if isinstance(data, pd.DataFrame):
        if not isinstance(target, str):
            raise UsageError("with a DataFrame, target must be the name of its target column")
        # The reader of `matgenome train`: formula column detected by name, units, bounds.
        formulas, parsed = labelled_from_frame(data, target, formula_column, log10=log10,
                                               unit=unit)
        if "censor" in data.columns and target == "target":
            # A table from matgenome.datasets.load: the bounds are flagged in 'censor'.
            parsed.censor = censor_of(data)
            options.setdefault("card", {}).setdefault("target", dataset_target(data))
            if "doi" in data.columns:
                options.setdefault("groups", data["doi"].tolist())
        model, _ = train_model(formulas, parsed, **options)
        return model
    if target is None:
        raise UsageError("give the target values")
    formulas, values = pd.Series(list(data)), list(target)
    if len(formulas) != len(values):
        raise UsageError(f"{len(formulas)} formulas but {len(values)} target values")
    parsed = parse_target_values(list(values), log10=log10, unit=unit)
    model, _ = train_model(formulas, parsed, **options)
    return model


def dataset_target(frame: pd.DataFrame) -> dict[str, str]:
    """The target description of a table from ``matgenome.datasets.load``."""
    from matgenome.datasets import DATASETS

    info = DATASETS.get(frame.attrs.get("dataset", ""))
    if info is None:
        return normalise_target({"name": "target", "unit": frame.attrs.get("unit", "")})
    return normalise_target({"name": info.target, "unit": info.unit})


class TrainedModelRegressor(RegressorMixin, TrainedModelEstimator):
    """``train_model`` as a scikit-learn regressor on formulas: what ``evaluate`` scores.

    ``fit(formulas, y, censored=mask)`` runs exactly the training path of ``matgenome
    train`` (recipe selection inside the training rows, the calibrated trees, the domain
    model) with the options given here, so an evaluation scores the model a user would
    train. ``predict_uncertainty`` gives the project's uncertainty parts.
    """

    # Asked for by default: the bounds are what this estimator is for (metadata routing).
    __metadata_request__fit: ClassVar[dict[str, bool]] = {"censored": True, "groups": True}

    def __init__(self, recipe: str = "auto", preset: str | None = None,
                 kind: str | None = None, censored: str = "hurdle",
                 fallback: str = "interval",
                 n_estimators: int | None = None, seed: int = 0, n_jobs: int | None = None,
                 target: dict[str, Any] | None = None, mobile_ion: str | None = None) -> None:
        self.recipe = recipe
        self.preset = preset
        self.kind = kind
        self.censored = censored
        self.fallback = fallback
        self.n_estimators = n_estimators
        self.seed = seed
        self.n_jobs = n_jobs
        self.target = target
        self.mobile_ion = mobile_ion

    def fit(self, X: Sequence[object], y: np.ndarray, censored: np.ndarray | None = None,
            groups: Sequence[object] | None = None) -> TrainedModelRegressor:
        """Train on formulas ``X`` (a 1-D collection or one column) and values ``y``.

        ``censored`` marks the upper bounds among ``y`` (routed metadata); ``groups``
        (e.g. papers) keep the recipe selection's folds honest.

        Raises:
            UsageError: no rows, ``X`` and ``y`` differ in length, or a value of ``y`` is
                not finite (the row is named).
        """
        if np.iscomplexobj(y):
            raise UsageError("target values must be real numbers, not complex")
        formulas, y = formulas_and_targets(X, np.asarray(y, dtype=float), "target values")
        if not len(y):
            raise UsageError("no rows to train on")
        if not np.isfinite(y).all():
            row = int(np.flatnonzero(~np.isfinite(y))[0])
            raise UsageError(f"target value of row {row} ({formulas[row]!r}) is {y[row]}; "
                             "leave unlabelled rows out")
        bound = np.zeros(len(y), bool) if censored is None else np.asarray(censored, bool)
        targets = TargetValues(values=y, censor=np.where(bound, UPPER, EXACT),
                               errors=[""] * len(y))
        self._keep(*train_model(
            pd.Series(formulas), targets, recipe=self.recipe, preset=self.preset,
            kind=self.kind, censored=self.censored, fallback=self.fallback,
            n_estimators=self.n_estimators,
            seed=self.seed, n_jobs=self.n_jobs, groups=groups, mobile_ion=self.mobile_ion,
            card={"target": self.target} if self.target else None,
        ))
        return self

    def predict(self, X: Sequence[object], return_std: bool = False):
        """The predicted mean per formula (and the total uncertainty with ``return_std``)."""
        parts = self.predict_uncertainty(X)
        return (parts["mean"], parts["uncertainty"]) if return_std else parts["mean"]
