"""Applicability domain: flag candidates a model trained on some compositions cannot judge.

A regressor always returns a number, even for a composition made of elements it never saw
or far from every training row in descriptor space. :class:`DomainModel` is fitted on the
same training compositions and descriptors as the model and reports, per candidate:

``in_domain``
    True when no reason below applies;
``domain_distance``
    on a bounded scale from 0 to 1: ``d / (d + 1)``, where ``d`` is the mean Euclidean
    distance to the ``n_neighbors`` nearest training rows in standardised descriptor space
    divided by the reference distance, the 95th percentile (``percentile``) of the same
    quantity over the training rows, each measured against the others (leave one out).
    0 is a training composition itself (its descriptors equal a training row's, which
    every notation of that composition gives), 0.5 is as far as the 95th-percentile
    training row is from its neighbours, and values approach 1 far outside the data.
    Candidates above ``max_distance`` (default 0.5) are "far";
``unseen_elements``
    elements absent from every training composition;
``reasons``
    ``unseen elements: ...``, ``no mobile ion (Li)`` for a model of ion conduction,
    ``far from training data (distance 0.65 > 0.5)``, or ``unparseable formula``.

The domain model only reports: it never changes a prediction.
"""

from __future__ import annotations

from collections.abc import Sequence
from numbers import Integral, Real
from typing import ClassVar

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, _fit_context
from sklearn.impute import SimpleImputer
from sklearn.neighbors import NearestNeighbors
from sklearn.preprocessing import StandardScaler
from sklearn.utils._param_validation import Interval
from sklearn.utils.validation import check_is_fitted, validate_data

from matgenome.composition import CompositionError
from matgenome.composition_arrays import parse_one
from matgenome.features._elements import SYMBOLS

# Descriptor rows this close (relative to the reference distance) are the same composition:
# some descriptors are float32, so one composition's rows can differ by ~1e-7.
EXACT_MATCH = 1e-6


_DISTANCE_BLOCK = 4096  # rows per block of the exact distances: bounded memory


class DomainModel(BaseEstimator):
    """Distance- and element-based applicability domain of a composition model.

    Args:
        n_neighbors: training rows averaged in the distance.
        percentile: percentile of the training distances used as the unit of distance.
        max_distance: distance on the 0-1 scale above which a candidate is out of domain
            (0.5: farther than the ``percentile``-th percentile training row). Models saved
            before the bounded scale stored 1.0 on the old relative scale; values of 1 or
            more are read on that scale (``t / (1 + t)``), which is the same threshold.
        mobile_ion: element every in-domain composition must contain (``"Li"`` for a Li-ion
            conductivity model); None disables the check.
        check_elements: flag elements never seen in training.

    Attributes (after ``fit``):
        elements_: training elements; imputer_, scaler_: descriptor preprocessing;
        neighbors_: nearest-neighbour index over unique training rows;
        reference_distance_: the ``percentile``-th percentile of training distances.
    """

    _parameter_constraints: ClassVar[dict] = {
        "n_neighbors": [Interval(Integral, 1, None, closed="left")],
        "percentile": [Interval(Real, 0, 100, closed="both")],
        "max_distance": [Interval(Real, 0, None, closed="left")],
        "mobile_ion": [str, None],
        "check_elements": ["boolean"],
    }

    def __init__(
        self,
        *,
        n_neighbors: int = 5,
        percentile: float = 95.0,
        max_distance: float = 0.5,
        mobile_ion: str | None = None,
        check_elements: bool = True,
    ) -> None:
        self.n_neighbors = n_neighbors
        self.percentile = percentile
        self.max_distance = max_distance
        self.mobile_ion = mobile_ion
        self.check_elements = check_elements

    # The training formulas are metadata of fit (scikit-learn metadata routing): the
    # descriptors are X, the formulas give the training elements.
    __metadata_request__fit: ClassVar[dict[str, bool]] = {"formulas": True}

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X: np.ndarray, y: object = None,
            formulas: Sequence[str] | None = None) -> DomainModel:
        """Learn the training elements (from ``formulas``) and descriptor-space density.

        Args:
            X: training descriptors, one row per training composition.
            y: ignored (the domain depends on the inputs only).
            formulas: the training formulas, one per row of ``X``; without them no
                element is known, so every element of a candidate counts as unseen
                when ``check_elements`` is on.
        """
        X = validate_data(self, X, ensure_all_finite="allow-nan", dtype=float)
        if formulas is not None and len(formulas) != len(X):
            raise ValueError(f"{len(formulas)} formulas but {len(X)} descriptor rows")
        self.elements_ = sorted(set().union(*(_elements(f) or set() for f in formulas or [])))
        self.imputer_ = SimpleImputer(strategy="median", keep_empty_features=True).fit(X)
        Z = np.unique(self._fit_scaler(X), axis=0)
        k = min(self.n_neighbors, len(Z) - 1)
        if k < 1:
            raise ValueError("DomainModel needs at least two distinct training rows; got "
                             f"n_samples = {len(Z)} distinct")
        self.n_neighbors_ = k
        self.neighbors_ = NearestNeighbors(n_neighbors=k + 1).fit(Z)
        # Each training row against the others: drop the zero distance to itself.
        distances, _ = self.neighbors_.kneighbors(Z)
        training = distances[:, 1:].mean(axis=1)
        self.reference_distance_ = max(float(np.percentile(training, self.percentile)), 1e-12)
        return self

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True  # descriptors may be missing: imputed as in training
        return tags

    def _fit_scaler(self, X: np.ndarray) -> np.ndarray:
        """Fit the standardiser on imputed training descriptors and return them scaled."""
        self.scaler_ = StandardScaler().fit(self.imputer_.transform(X))
        return self.scaler_.transform(self.imputer_.transform(X))

    def distance(self, X: np.ndarray) -> np.ndarray:
        """Distance to the training data on the bounded 0-1 scale (see the module doc)."""
        check_is_fitted(self, "neighbors_")
        X = validate_data(self, X, reset=False, ensure_all_finite="allow-nan", dtype=float)
        Z = self.scaler_.transform(self.imputer_.transform(X))
        distances = self._neighbour_distances(Z)
        relative = distances.mean(axis=1) / self.reference_distance_
        bounded = relative / (1.0 + relative)
        # A training composition is in the data: its own row is at distance 0, and the
        # mean over its neighbours would call an isolated one (Li3N) far.
        exact = distances[:, 0] <= EXACT_MATCH * self.reference_distance_
        return np.where(exact, 0.0, bounded)

    def _neighbour_distances(self, Z: np.ndarray) -> np.ndarray:
        """Distances of each row to its ``n_neighbors_`` nearest training rows, ascending,
        equal for a row whatever other rows it is scored with.

        The neighbour search computes distances through matrix products whose last bits
        depend on where a row falls in a block, so the same composition scored in another
        chunk (or with another number of jobs) could differ by an ulp. The neighbours it
        finds are kept and their distances recomputed row by row.
        """
        _, indices = self.neighbors_.kneighbors(Z, n_neighbors=self.n_neighbors_)
        # The training rows the index was fitted on (scikit-learn keeps them as _fit_X).
        training = self.neighbors_._fit_X
        out = np.empty(indices.shape)
        for start in range(0, len(Z), _DISTANCE_BLOCK):
            rows = slice(start, start + _DISTANCE_BLOCK)
            difference = Z[rows, None, :] - training[indices[rows]]
            out[rows] = np.sqrt(np.einsum("ikd,ikd->ik", difference, difference))
        return np.sort(out, axis=1)

    @property
    def threshold(self) -> float:
        """``max_distance`` on the bounded scale (legacy values >= 1 converted)."""
        t = float(self.max_distance)
        return t / (1.0 + t) if t >= 1.0 else t

    def assess(self, formulas: Sequence[str], X: np.ndarray,
               distance: np.ndarray | None = None) -> pd.DataFrame:
        """Per candidate: ``in_domain``, ``domain_distance``, ``unseen_elements``, ``reasons``.

        ``distance``: :meth:`distance` of ``X`` when the caller has it already.
        """
        check_is_fitted(self, "neighbors_")
        if len(formulas) != len(X):
            raise ValueError(f"{len(formulas)} formulas but {len(X)} descriptor rows")
        distance = self.distance(X) if distance is None else np.asarray(distance, float)
        if distance.shape != (len(X),):
            raise ValueError(f"{distance.size} distances but {len(X)} descriptor rows")
        known = set(self.elements_)
        rows = []
        for formula, dist in zip(formulas, distance, strict=True):
            reasons, unseen = self._reasons(formula, float(dist), known)
            rows.append(
                {
                    "in_domain": not reasons,
                    "domain_distance": float(dist),
                    "unseen_elements": " ".join(unseen),
                    "reasons": "; ".join(reasons),
                }
            )
        return pd.DataFrame(rows)

    def _reasons(self, formula: str, dist: float, known: set[str]) -> tuple[list[str], list[str]]:
        elements = _elements(formula)
        if elements is None:
            return ["unparseable formula"], []
        reasons = []
        unseen = sorted(elements - known) if self.check_elements else []
        if unseen:
            reasons.append(f"unseen elements: {', '.join(unseen)}")
        if self.mobile_ion and self.mobile_ion not in elements:
            reasons.append(f"no mobile ion ({self.mobile_ion})")
        if not np.isfinite(dist) or dist > self.threshold:
            reasons.append(f"far from training data (distance {dist:.2f} > "
                           f"{self.threshold:.2g})")
        return reasons, unseen


def _elements(formula: object) -> set[str] | None:
    """Element symbols of a formula, or None if it cannot be parsed."""
    # The featurizer's parser: plain formulas skip pymatgen (most of the time on big
    # batches), anything else goes through parse_composition with the same result.
    parsed = parse_one(formula)
    if isinstance(parsed, CompositionError):
        return None
    return {SYMBOLS[z] for z in parsed[0]}
