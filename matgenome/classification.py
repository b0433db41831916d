"""Classification targets: recognise a yes/no column and encode its labels.

A target column is a classification target when its cells hold exactly two distinct
labels: ``true``/``false``, ``yes``/``no``, ``0``/``1`` or any two text labels (``glass``
/ ``crystal``). :func:`detect_task` applies the rule (``task="auto"``); :func:`encode_labels`
turns the cells into 1.0 for the class of interest (the *positive* class) and 0.0 for the
other, with a per-row error for missing cells. The positive class is the one the user
names (``--positive LABEL``), else the rarer class (ties: a "true"-like label, else the
last in sorted order), and the choice is said in the output and recorded in the card.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any, ClassVar

import numpy as np
from sklearn.base import ClassifierMixin

from matgenome.errors import MatgenomeError, UsageError
from matgenome.training_steps import TrainedModelEstimator, formulas_and_targets

TASKS = ("auto", "regression", "classification")
# Cells that mean "no value" rather than a label.
MISSING = {"", "nan", "na", "n/a", "none", "null", "-", "?"}
TRUE_WORDS = {"true", "yes", "y", "t", "1", "positive", "pos"}


@dataclass(frozen=True)
class Labels:
    """The two classes of a classification target and the class of interest."""

    negative: str
    positive: str
    counts: dict[str, int]
    chosen_by: str  # "given" or "the rarer class" or "tie: ..."

    @property
    def classes(self) -> list[str]:
        return [self.negative, self.positive]

    def describe(self) -> str:
        n_pos, n_neg = self.counts.get(self.positive, 0), self.counts.get(self.negative, 0)
        return (f"classes {self.negative!r} ({n_neg} rows) and {self.positive!r} ({n_pos} "
                f"rows); positive class {self.positive!r} ({self.chosen_by})")

    def to_card(self, threshold: float) -> dict[str, Any]:
        return {"classes": self.classes, "positive": self.positive,
                "negative": self.negative, "counts": self.counts,
                "positive_chosen_by": self.chosen_by, "threshold": threshold}


def label_of(cell: object) -> str | None:
    """The label text of a cell (numbers as ``0``/``1``/``2.5``), or None when missing."""
    if cell is None or isinstance(cell, bool | np.bool_):
        return None if cell is None else str(bool(cell)).lower()
    if isinstance(cell, int | float | np.integer | np.floating):
        value = float(cell)
        if not math.isfinite(value):
            return None
        return str(int(value)) if value.is_integer() else repr(value)
    text = str(cell).strip()
    if text.lower() in MISSING:
        return None
    try:
        value = float(text)
    except ValueError:
        return text
    return label_of(value) if math.isfinite(value) else text


def _distinct(cells: Sequence[object]) -> dict[str, str]:
    """Case-folded label -> first spelling seen, for the non-missing cells."""
    seen: dict[str, str] = {}
    for cell in cells:
        label = label_of(cell)
        if label is not None:
            seen.setdefault(label.casefold(), label)
    return seen


def detect_task(cells: Sequence[object], task: str = "auto") -> str:
    """``regression`` or ``classification`` for a target column.

    ``auto``: classification when the cells hold exactly two distinct labels and these are
    not two arbitrary numbers (``0``/``1`` are labels; ``2.1``/``3.4`` are values).
    """
    if task not in TASKS:
        raise UsageError(f"task must be one of {TASKS}, not {task!r}")
    if task != "auto":
        return task
    labels = list(_distinct(cells).values())  # as written: units are case-sensitive
    if len(labels) != 2:
        return "regression"
    if set(labels) == {"0", "1"}:
        return "classification"
    # Two words are labels; a value (2.5, 0.1 mS/cm, <1E-10) beside anything is not.
    return "regression" if any(_is_value(label) for label in labels) else "classification"


def _is_value(label: str) -> bool:
    """Whether a cell reads as a target value (units, bounds, 10^x as ``train`` reads)."""
    from matgenome.io import _parse_target_cell

    try:
        _parse_target_cell(label)
    except (ValueError, MatgenomeError):
        return False
    return True


def choose_labels(cells: Sequence[object], positive: str | None = None) -> Labels:
    """The two classes of ``cells`` and the positive one (see the module docstring).

    Raises:
        UsageError: not exactly two distinct labels, or ``positive`` is not one of them.
    """
    distinct = _distinct(cells)
    counts_folded = Counter(label.casefold() for c in cells
                            if (label := label_of(c)) is not None)
    if len(distinct) != 2:
        shown = ", ".join(repr(v) for v in list(distinct.values())[:5])
        raise UsageError(f"a classification target needs exactly two distinct labels; "
                         f"found {len(distinct)} ({shown})")
    counts = {distinct[k]: int(counts_folded[k]) for k in sorted(distinct)}
    names = list(counts)
    if positive is not None:
        match = distinct.get(str(label_of(positive) or positive).casefold())
        if match is None:
            raise UsageError(f"positive {positive!r} is not one of the labels "
                             f"{names[0]!r}, {names[1]!r}", parameters=("positive",))
        chosen, how = match, "given"
    elif counts[names[0]] != counts[names[1]]:
        chosen, how = min(names, key=lambda n: counts[n]), "the rarer class"
    else:
        truthy = [n for n in names if n.casefold() in TRUE_WORDS]
        chosen = truthy[0] if truthy else names[-1]
        how = "equal counts: " + ("the 'true'-like label" if truthy else "the last label")
    other = names[0] if chosen == names[1] else names[1]
    return Labels(negative=other, positive=chosen, counts=counts, chosen_by=how)


def encode_labels(cells: Sequence[object], labels: Labels) -> tuple[np.ndarray, list[str]]:
    """1.0 for the positive class, 0.0 for the other, NaN and a reason for missing cells."""
    values = np.full(len(cells), np.nan)
    errors = [""] * len(cells)
    positive, negative = labels.positive.casefold(), labels.negative.casefold()
    for i, cell in enumerate(cells):
        label = label_of(cell)
        folded = None if label is None else label.casefold()
        if folded == positive:
            values[i] = 1.0
        elif folded == negative:
            values[i] = 0.0
        else:
            errors[i] = f"target {cell!r}: missing label"
    return values, errors


def label_targets(cells: Sequence[object], positive: str | None = None) -> tuple[Any, Labels]:
    """Targets of a classification column (``TargetValues``: 1.0 = positive class)."""
    from matgenome.io import TargetValues

    cells = list(cells)
    labels = choose_labels(cells, positive)
    values, errors = encode_labels(cells, labels)
    return TargetValues(values=values, censor=np.full(len(cells), "", dtype=object).astype(str),
                        errors=errors, unit="label", raw=cells), labels


def resolve_task(targets: Any, task: str = "auto") -> str:
    """The task of a parsed target column: from its cells as read (``targets.raw``) or,
    for numbers given directly, from its values."""
    if task not in TASKS:
        raise UsageError(f"task must be one of {TASKS}, not {task!r}")
    if task != "auto":
        return task
    return detect_task(_cells(targets), task)


def _cells(targets: Any) -> list[object]:
    if targets.raw is not None:
        return list(targets.raw)
    return [None if e else v for v, e in zip(targets.values, targets.errors, strict=True)]


def train_classifier(
    formulas: Any,
    targets: Any,
    *,
    positive: str | None = None,
    recipe: str = "auto",
    preset: str | None = None,
    kind: str | None = None,
    n_estimators: int | None = None,
    seed: int = 0,
    n_jobs: int | None = None,
    mobile_ion: str | None = None,
    groups: Sequence[object] | None = None,
    card: dict[str, Any] | None = None,
    progress: Any = None,
    first_row: int = 0,
) -> tuple[Any, Any]:
    """``matgenome train`` on a two-class target: a calibrated classifier and its card.

    The options are those of :func:`matgenome.training.train_model` (which calls this
    for a two-label target); ``recipe`` ``auto``
    selects among :data:`matgenome.selection.CLASSIFIERS` (with class balancing and
    calibration) by grouped inner CV on log loss.
    """
    import pandas as pd

    from matgenome.composition import parse_many
    from matgenome.domain import DomainModel
    from matgenome.io import TargetValues
    from matgenome.modelfile import TrainedModel
    from matgenome.models import make_model
    from matgenome.selection import Selection
    from matgenome.training_steps import (
        TrainingReport,
        duplicate_spread,
        training_card,
        usable_rows,
    )

    formulas = pd.Series(formulas).reset_index(drop=True)
    cells = _cells(targets)
    given = card or {}
    # A shipped dataset's labels (unit "label"): 1 is the class its description names.
    dataset_default = positive is None and (given.get("target") or {}).get("unit") == "label"
    labels = choose_labels(cells, "1" if dataset_default else positive)
    if dataset_default:
        labels = replace(labels, chosen_by="the dataset's class 1")
    values, label_errors = encode_labels(cells, labels)
    parsed = TargetValues(values=values, censor=np.full(len(cells), "").astype(str),
                          errors=label_errors, unit="label", raw=cells)
    compositions, formula_errors = parse_many(formulas)
    report = TrainingReport(rows_read=len(formulas), rows_used=0)
    use = usable_rows(formulas, formula_errors, parsed, "drop", report, first_row)
    rows = [c for c, keep in zip(compositions, use, strict=True) if keep]
    y = values[use]
    if len(np.unique(y)) < 2:
        raise UsageError(f"the usable rows hold one class only ({labels.describe()})")
    report.duplicates = duplicate_spread(rows, y)
    row_groups = None if groups is None else [g for g, k in zip(groups, use, strict=True)
                                              if k]
    selection = _choose_classifier(rows, y, recipe, preset, kind, row_groups, seed, n_jobs,
                                   progress)
    candidate = selection.chosen
    classifier = candidate.estimator(seed, n_estimators, n_jobs)
    estimator = make_model(candidate.features, classifier)
    X = estimator[0].fit(rows).transform(rows)
    estimator[-1].fit(X, y)
    domain = DomainModel(mobile_ion=mobile_ion).fit(X, formulas=[str(c.formula) for c in rows])
    used = pd.DataFrame({"formula": formulas[use].to_numpy(), "target": y})
    elements = sorted({str(el) for c in rows for el in c.elements})
    model_card = training_card({"description": f"composition -> probability of {labels.positive!r}",
                        **given}, estimator, used, report, "none (labels)",
                       candidate.features, seed, elements, mobile_ion)
    model_card["task"] = "classification"
    model_card["classification"] = labels.to_card(float(classifier.threshold_))
    model_card["recipe"] = candidate.describe()
    model_card["selection"] = (selection.to_card() if isinstance(selection, Selection)
                               else selection)
    training_data = pd.DataFrame({"formula": formulas[use].to_numpy(), "target": y,
                                  "censor": ""})
    return TrainedModel(estimator=estimator, card=model_card, training_data=training_data,
                        domain=domain), report


def _choose_classifier(rows: list, y: np.ndarray, recipe: str, preset: str | None,
                       kind: str | None, groups: Any, seed: int, n_jobs: int | None,
                       progress: Any) -> Any:
    """The classifier for these rows: named, from explicit options, or selected by CV."""
    from matgenome.selection import (
        CLASSIFIERS,
        Selection,
        get_classifier,
        select_classifier,
    )

    if recipe != "auto" or preset is not None or kind is not None:
        try:
            base = CLASSIFIERS[0] if recipe == "auto" else get_classifier(recipe)
        except ValueError as exc:
            raise UsageError(str(exc)) from None
        chosen = replace(base, name=base.name if preset is None and kind is None else
                         "custom", features=preset or base.features, kind=kind or base.kind)
        return Selection(chosen, protocol="recipe or options given: no selection")
    return select_classifier(rows, y, CLASSIFIERS, groups=groups, seed=seed, n_jobs=n_jobs,
                             progress=progress)


class TrainedModelClassifier(ClassifierMixin, TrainedModelEstimator):
    """``matgenome train`` on a two-class target as a scikit-learn classifier on formulas.

    What ``evaluate`` and the benchmarks score: ``fit(formulas, y)`` runs the training path
    (classifier selection inside the training rows, calibration, domain model) with the
    options given here. ``classes_`` are the values of ``y``; the positive class is
    ``classes_[1]``. ``predict`` applies the model's threshold (``threshold_``: the
    training share of the positive class), ``predict_proba`` gives the calibrated
    probabilities.
    """

    __metadata_request__fit: ClassVar[dict[str, bool]] = {"groups": True}

    def __init__(self, recipe: str = "auto", preset: str | None = None,
                 kind: str | None = None, n_estimators: int | None = None, seed: int = 0,
                 n_jobs: int | None = None, mobile_ion: str | None = None) -> None:
        self.recipe = recipe
        self.preset = preset
        self.kind = kind
        self.n_estimators = n_estimators
        self.seed = seed
        self.n_jobs = n_jobs
        self.mobile_ion = mobile_ion

    def fit(self, X: Sequence[object], y: Sequence[object],
            groups: Sequence[object] | None = None) -> TrainedModelClassifier:
        """Train on formulas ``X`` and two-class labels ``y`` (``groups`` keep the
        selection folds honest)."""
        from matgenome.io import TargetValues

        formulas, y = formulas_and_targets(X, np.asarray(y), "labels")
        self.classes_ = np.unique(y)
        if len(self.classes_) != 2:
            raise UsageError(f"a classifier needs exactly two classes; got "
                             f"{len(self.classes_)}")
        cells = [1.0 if v == self.classes_[1] else 0.0 for v in y]
        targets = TargetValues(values=np.asarray(cells), censor=np.full(len(y), "").astype(str),
                               errors=[""] * len(y), raw=cells)
        self._keep(*train_classifier(
            formulas, targets, positive="1", recipe=self.recipe, preset=self.preset,
            kind=self.kind, n_estimators=self.n_estimators, seed=self.seed,
            n_jobs=self.n_jobs, groups=groups, mobile_ion=self.mobile_ion))
        self.threshold_ = float(self.model_.card["classification"]["threshold"])
        return self

    def predict_proba(self, X: Sequence[object]) -> np.ndarray:
        """Calibrated probabilities of ``classes_[0]`` and ``classes_[1]``."""
        p = self.predict_uncertainty(X)["mean"]
        return np.column_stack([1 - p, p])

    def predict(self, X: Sequence[object]) -> np.ndarray:
        """``classes_[1]`` where its probability reaches ``threshold_``."""
        p = self.predict_uncertainty(X)["mean"]
        return self.classes_[(p >= self.threshold_).astype(int)]


def simulation_classifier_data(labelled: Any, positive: str | None = None,
                               preset: str | None = None) -> Any:
    """A two-class labelled table made ready for ``matgenome.simulation``: the labels as
    1.0 (positive) / 0.0, one row per composition (repeats: positive if at least half
    are), the features of the first classifier candidate (or ``preset``)."""
    from dataclasses import replace as replace_field

    from matgenome.selection import CLASSIFIERS
    from matgenome.simulation import SimulationData, candidates_from_rows

    targets, labels = label_targets(_cells(labelled.targets), positive)
    y = np.where(targets.usable, targets.values, np.nan)
    ids = labelled.ids if labelled.ids is not None else list(range(len(y)))
    recipe = CLASSIFIERS[0] if not preset else replace_field(CLASSIFIERS[0], name="custom",
                                                             features=preset)
    X, y, row_ids, left_out = candidates_from_rows(list(labelled.formulas), y, ids,
                                                   recipe.features)
    return SimulationData(X, (y >= 0.5).astype(float), row_ids, left_out, recipe), labels


def simulation_classifier_factory(recipe: Any, n_estimators: int = 100,
                                  n_jobs: int | None = 1) -> Any:
    """The classifier ``matgenome simulate`` refits at every batch: uncalibrated (as the
    regressors there), classes fixed to 0/1 so that a start without positives still fits,
    ``random_state`` left for the trial to seed."""
    from matgenome.models.probability import ProbabilityScorer

    def make() -> Any:
        return ProbabilityScorer(kind=recipe.kind, n_estimators=n_estimators,
                                 max_features=recipe.max_features,
                                 min_samples_leaf=recipe.min_samples_leaf,
                                 class_weight=recipe.class_weight, calibration="none",
                                 random_state=None, n_jobs=n_jobs, classes=(0.0, 1.0))

    return make
