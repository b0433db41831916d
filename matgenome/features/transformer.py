"""scikit-learn transformer wrapping ``compute_features`` for use in pipelines."""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils import Tags
from sklearn.utils.validation import check_is_fitted

from matgenome.composition_arrays import encode

from .api import as_formula_list, compute_blocks, row_error
from .presets import feature_labels, resolve_preset


class CompositionFeaturizer(TransformerMixin, BaseEstimator):
    """Turn a column of chemical formulas into a float feature matrix.

    ``X`` is a list, tuple, 1-D array or Series of formula strings or pymatgen
    compositions, or a 2-D array or DataFrame with a single column of them. The features
    do not depend on training data, so ``fit`` only validates the preset and the input
    layout and records the output column names.

    Args:
        preset: a name from ``list_presets()`` or a ``+``-combination of names.

    Attributes:
        feature_names_out_: column labels of the output (object array of str).
        n_features_in_: 1, the single formula column.
        feature_names_in_: the formula column's name, when fitted on a DataFrame.
    """

    def __init__(self, preset: str = "magpie") -> None:
        self.preset = preset

    def fit(self, X: object, y: object = None) -> CompositionFeaturizer:
        """Validate the preset and input layout and record the output column names."""
        resolve_preset(self.preset)
        as_formula_list(X)
        self.preset_ = self.preset
        self.feature_names_out_ = np.asarray(feature_labels(self.preset), dtype=object)
        self.n_features_in_ = 1
        if isinstance(X, pd.DataFrame) and all(isinstance(c, str) for c in X.columns):
            self.feature_names_in_ = np.asarray(list(X.columns), dtype=object)
        elif hasattr(self, "feature_names_in_"):
            del self.feature_names_in_
        return self

    def transform(self, X: object) -> np.ndarray:
        """Return the (n_rows, n_features) float64 feature matrix of ``X``.

        Raises:
            CompositionError: a row cannot be parsed; the message names the first such
                row (0-based position) and its formula.
        """
        check_is_fitted(self, "feature_names_out_")
        encoded = encode(as_formula_list(X))
        if encoded.failures:
            row = min(encoded.failures)
            raise row_error(row, encoded.failures[row])
        return compute_blocks(encoded, resolve_preset(self.preset_))

    def get_feature_names_out(self, input_features: object = None) -> np.ndarray:
        """Output column labels (object array of str)."""
        check_is_fitted(self, "feature_names_out_")
        if input_features is not None and len(list(input_features)) != 1:  # type: ignore[call-overload]
            raise ValueError("input_features must name the single formula column")
        return self.feature_names_out_.copy()

    def __sklearn_tags__(self) -> Tags:
        """Formulas are strings: declare it so scikit-learn's checks do not feed numbers."""
        tags = super().__sklearn_tags__()
        tags.input_tags.string = True
        tags.input_tags.two_d_array = False
        tags.input_tags.one_d_array = True
        tags.requires_fit = True
        return tags
