"""A fitted estimator with its model card, training data and applicability domain."""

from __future__ import annotations

import functools
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from matgenome.known import KnownMeasurements
from matgenome.models import Prediction, predict_formulas


@dataclass
class TrainedModel:
    """A fitted estimator with its model card."""

    estimator: Any
    card: dict[str, Any]
    path: Path | None = None
    training_data: pd.DataFrame | None = field(default=None, repr=False)
    domain: Any = field(default=None, repr=False)
    sha256: str | None = None  # SHA-256 of the directory's manifest.json, once saved

    @property
    def name(self) -> str:
        return str(self.card.get("name", self.path.name if self.path else "model"))

    def predict(self, formulas: Iterable[object], n_jobs: int | None = None) -> Prediction:
        """Mean and one-standard-deviation uncertainty for every formula (NaN + reason
        for rows that cannot be scored), with applicability-domain flags and, for
        compositions in the training data, their measured values (``Prediction.known``).
        ``n_jobs`` threads score the trees (None or -1: every core; 1: one thread); the
        numbers do not depend on it."""
        formulas = list(formulas)
        prediction = predict_formulas(self.estimator, formulas, domain=self.domain,
                                      n_jobs=n_jobs)
        prediction.labels = self.labels
        prediction.attach_known(self.known.lookup(formulas),
                                spread_is_noise=self.labels is None)
        return prediction

    @property
    def task(self) -> str:
        """``regression`` or ``classification`` (``mean`` = probability of the positive
        class, see ``card["classification"]``)."""
        return str(self.card.get("task", "regression"))

    @property
    def labels(self) -> dict[str, Any] | None:
        """A classification model's classes, positive class and threshold; else None."""
        return self.card.get("classification") if self.task == "classification" else None

    @functools.cached_property
    def known(self) -> KnownMeasurements:
        """Measured values per composition of the training data (censored ones as bounds)."""
        return KnownMeasurements.from_training_data(self.training_data)

    @property
    def target(self) -> str:
        """The target's display label (``log10(σ / S cm⁻¹)``), for headers and axes."""
        from matgenome.targets import normalise_target

        label = normalise_target(self.card.get("target"))["label"]
        if self.labels:  # a classifier predicts the probability of its positive class
            return f"probability of {self.labels['positive']!r} ({label})"
        return label
