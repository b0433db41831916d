"""Regressors from compositions to a property, with a mean and an uncertainty per row.

A model is a scikit-learn ``Pipeline``: a ``CompositionFeaturizer`` followed by a
regressor. The trees are always a :class:`CalibratedTreesRegressor`; the other regressors
wrap one (censored targets, a fallback far from the data) and keep its uncertainty
interface, the one every caller uses:

``regressor.predict_uncertainty(X) -> {"mean", "uncertainty", "epistemic", "noise"}``

``uncertainty`` is the total predictive standard deviation (target units), the root sum
of squares of ``epistemic`` (scaled tree disagreement: shrinks with data near the row) and
``noise`` (observation scatter that no amount of data removes). Wrappers such as
``matgenome.models.censored`` provide the same method. ``predict(X, return_std=True)``
returns ``(mean, uncertainty)`` for scikit-learn compatibility. ``predict_formulas`` scores
any list of formulas without stopping at bad ones. Which recipe (features and estimator
settings) a table gets is decided by cross-validation in ``matgenome.selection``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from sklearn.pipeline import Pipeline

from matgenome.models.calibrated import CalibratedTreesRegressor

__all__ = ["CalibratedTreesRegressor", "Prediction", "make_model", "predict_formulas",
           "predict_parts"]

@dataclass
class Prediction:
    """Predictions for a batch of rows, aligned with the input.

    ``mean`` and ``std`` (one standard deviation of the prediction, in target units) are
    NaN where the row could not be scored, and ``error`` says why ("" where scored).
    ``std`` is the total predictive std; ``epistemic`` (model uncertainty) and ``noise``
    (the model's estimate of the observation noise) are its two parts,
    ``std**2 = epistemic**2 + noise**2``.
    With a domain model, ``in_domain``, ``domain_distance`` and ``domain_reason`` say
    whether each row resembles the training data (the prediction is never altered).
    """

    mean: np.ndarray
    std: np.ndarray
    error: list[str]
    noise: np.ndarray = field(default_factory=lambda: np.empty(0))
    epistemic: np.ndarray = field(default_factory=lambda: np.empty(0))
    in_domain: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=bool))
    domain_distance: np.ndarray = field(default_factory=lambda: np.empty(0))
    domain_reason: list[str] = field(default_factory=list)

    known: Any = None  # pandas DataFrame of matgenome.known.KNOWN_COLUMNS, or None
    # Models trained with censored rows as bounds: probability the value is below the bound.
    p_below_bound: np.ndarray = field(default_factory=lambda: np.empty(0))
    # Classification models: the card's "classification" entry (classes, positive class,
    # threshold); ``mean`` is then the probability of the positive class.
    labels: dict[str, Any] | None = None

    @property
    def scored(self) -> np.ndarray:
        return np.array([not e for e in self.error], dtype=bool)

    def to_frame(self) -> Any:
        """The output columns of ``predict``/``rank``, one row per input row, in order:
        ``prediction``, ``uncertainty`` (total 1 sd), ``p_below_bound`` (models trained on
        bound-only rows), the domain columns (when a domain model was used), the measured
        values (when known data were attached), ``error``."""
        import pandas as pd

        if self.labels:
            out = pd.DataFrame({"probability": self.mean,
                                "predicted_class": self.predicted_class(),
                                "uncertainty": self.std})
        else:
            out = pd.DataFrame({"prediction": self.mean, "uncertainty": self.std})
        if len(self.p_below_bound):
            out["p_below_bound"] = self.p_below_bound
        if len(self.in_domain):
            out["in_domain"] = self.in_domain
            out["domain_distance"] = self.domain_distance
            out["domain_reason"] = self.domain_reason
        if self.known is not None:
            for column in self.known.columns:
                out[column] = self.known[column].to_numpy()
            if self.labels:
                out["known_label"] = self.known_labels()
        out["error"] = self.error
        return out

    def predicted_class(self) -> list[str]:
        """Classification: the positive class where its probability reaches the threshold
        (the training share of that class), the other class below, "" where not scored."""
        labels = self.labels or {}
        threshold = float(labels.get("threshold", 0.5))
        return ["" if not np.isfinite(p) else labels["positive"] if p >= threshold
                else labels["negative"] for p in self.mean]

    def known_labels(self) -> list[str]:
        """Classification: the measured label of a training composition ("" if none;
        both labels, most frequent first, where its repeats disagree)."""
        labels = self.labels or {}
        share = self.known["known_value"].to_numpy(dtype=float)
        out = []
        for s in share:
            if not np.isfinite(s):
                out.append("")
            elif s in (0.0, 1.0):
                out.append(labels["positive"] if s == 1.0 else labels["negative"])
            else:
                first, second = ((labels["positive"], labels["negative"]) if s >= 0.5
                                 else (labels["negative"], labels["positive"]))
                out.append(f"{first}/{second}")
        return out

    def attach_known(self, known: Any, spread_is_noise: bool = True) -> None:
        """Record measured values of the rows' compositions (``matgenome.known``).

        Where a composition was measured more than once, the spread of its repeats is what
        a new measurement would scatter by, so it replaces the model's flat noise term:
        ``std = sqrt(epistemic**2 + known_spread**2)`` (Li3PO4 measured 4.4 decades apart
        is not known to +-0.7). A single measurement leaves the std as predicted.
        """
        self.known = known.reset_index(drop=True)
        if not spread_is_noise:  # labels: their spread is not a scatter of a value
            return
        spread = self.known["known_spread"].to_numpy(dtype=float)
        repeated = np.isfinite(spread) & np.isfinite(self.mean)
        if repeated.any():
            self.noise = np.where(repeated, spread, self.noise)
            self.std = np.where(repeated, np.sqrt(self.epistemic**2 + spread**2), self.std)


def make_model(preset: str, regressor: Any) -> Pipeline:
    """A composition -> property pipeline: the featurizer of ``preset``, then ``regressor``.

    ``regressor`` must provide ``predict_uncertainty`` (see the module docstring);
    ``matgenome.selection`` builds the default one for a table.
    """
    from matgenome.features import CompositionFeaturizer

    if not hasattr(regressor, "predict_uncertainty"):
        raise ValueError(f"{type(regressor).__name__} has no predict_uncertainty(X); "
                         "matgenome models need a mean and a calibrated uncertainty")
    return Pipeline([("features", CompositionFeaturizer(preset=preset)),
                     ("regressor", regressor)])


def predict_parts(regressor: Any, X: np.ndarray, n_jobs: int = 1) -> dict[str, np.ndarray]:
    """``regressor.predict_uncertainty(X)`` with its four parts checked and as float arrays.

    With ``n_jobs`` > 1, blocks of rows are scored on that many threads (the tree
    traversal releases the GIL); every row gets the same numbers as in one call.
    """
    from matgenome.parallel import concat_parts, map_row_blocks, resolve_jobs

    parts = concat_parts(map_row_blocks(regressor.predict_uncertainty, X,
                                        resolve_jobs(n_jobs)))
    # p_censored: a censored-target model's probability that the value lies below the bound.
    names = ("mean", "uncertainty", "epistemic", "noise",
             *(("p_censored",) if "p_censored" in parts else ()))
    names = (*names, *(("domain_distance",) if "domain_distance" in parts else ()))
    out = {name: np.asarray(parts[name], dtype=float).reshape(-1) for name in names}
    if any(values.size != len(X) for values in out.values()):
        raise ValueError("predict_uncertainty(X) must return one value per row for each part")
    return out


def predict_formulas(
    estimator: Pipeline, formulas: Iterable[object], domain: Any = None,
    n_jobs: int | None = None,
) -> Prediction:
    """Predict every formula; rows that fail to parse or featurize get NaN and a reason.

    The formulas are featurized once, in bulk, with the pipeline's own preset, and only the
    rows that featurized are passed to the regressor (and to ``domain``, a fitted
    ``matgenome.domain.DomainModel``, when given). ``n_jobs`` threads (None or -1: every
    core) score blocks of rows; the result is the same for any number.
    """
    from matgenome.features import compute_features
    from matgenome.parallel import resolve_jobs

    jobs = resolve_jobs(n_jobs)

    featurizer, regressor = estimator[0], estimator[-1]
    formulas = list(formulas)
    X, errors = compute_features(formulas, preset=featurizer.preset)
    n = len(errors)
    mean, std, noise = np.full(n, np.nan), np.full(n, np.nan), np.full(n, np.nan)
    good = np.array([not e for e in errors], dtype=bool)
    epistemic, below = np.full(n, np.nan), np.full(n, np.nan)
    if good.any():
        parts = predict_parts(regressor, X[good], n_jobs=jobs)
        mean[good], std[good] = parts["mean"], parts["uncertainty"]
        epistemic[good], noise[good] = parts["epistemic"], parts["noise"]
        if "p_censored" in parts:
            below[good] = parts["p_censored"]
    not_finite = good & ~(np.isfinite(mean) & np.isfinite(std))
    for i in np.flatnonzero(not_finite):
        errors[i] = "the model returned a non-finite prediction"
        mean[i] = std[i] = noise[i] = epistemic[i] = np.nan
    prediction = Prediction(mean=mean, std=std, error=list(errors), noise=noise,
                            epistemic=epistemic)
    if hasattr(regressor, "predict_proba_censored"):
        # Decided by the model, not the rows, so that every chunk has the same columns.
        prediction.p_below_bound = np.where(not_finite, np.nan, below)
    if domain is not None:
        # A fallback fitted on the same rows as the domain model has measured the same
        # distances already: reuse them rather than search the neighbours twice.
        known = _shared_distance(regressor, domain, good, parts if good.any() else None)
        _assess_domain(prediction, domain, formulas, X, good, known)
    return prediction


def _shared_distance(regressor: Any, domain: Any, good: np.ndarray,
                     parts: dict[str, np.ndarray] | None) -> np.ndarray | None:
    """The fallback's distances of the scored rows, if its distance model is ``domain``'s."""
    own = getattr(regressor, "distance_", None)
    if parts is None or own is None or "domain_distance" not in parts:
        return None
    same = (own.n_neighbors_ == domain.n_neighbors_
            and own.reference_distance_ == domain.reference_distance_
            and np.array_equal(own.neighbors_._fit_X, domain.neighbors_._fit_X)
            and np.array_equal(own.scaler_.mean_, domain.scaler_.mean_)
            and np.array_equal(own.scaler_.scale_, domain.scaler_.scale_)
            and np.array_equal(own.imputer_.statistics_, domain.imputer_.statistics_))
    return parts["domain_distance"] if same else None


def _assess_domain(prediction: Prediction, domain: Any, formulas: list[object],
                   X: np.ndarray, good: np.ndarray, distance: np.ndarray | None = None) -> None:
    n = len(formulas)
    prediction.in_domain = np.zeros(n, dtype=bool)
    prediction.domain_distance = np.full(n, np.nan)
    prediction.domain_reason = ["not scored" if not ok else "" for ok in good]
    if not good.any():
        return
    rows = np.flatnonzero(good)
    assessed = domain.assess([formulas[i] for i in rows], X[good], distance=distance)
    prediction.in_domain[rows] = assessed["in_domain"].to_numpy(bool)
    prediction.domain_distance[rows] = assessed["domain_distance"].to_numpy(float)
    for i, reason in zip(rows, assessed["reasons"], strict=True):
        prediction.domain_reason[i] = reason
