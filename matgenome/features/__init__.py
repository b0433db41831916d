"""Fast composition featurizers on numpy arrays.

``compute_features(formulas, preset)`` returns a float64 matrix and per-row error messages;
``featurize`` returns a DataFrame; ``CompositionFeaturizer`` is the scikit-learn
transformer. Presets (``list_presets()``, ``preset_info(name)``): ``magpie``,
``stoichiometry``, ``valence_orbital``, ``ion_property``, ``element_fraction`` (same labels
and values as the matminer featurizers of those names), ``electrolyte`` (ion-conduction
descriptors plus the Magpie block) and ``default`` (``DEFAULT_PRESET``); join names with
``+`` to concatenate them.
"""

from __future__ import annotations

from matgenome.composition import CompositionError

from .api import compute_features, featurize
from .presets import DEFAULT_PRESET, feature_labels, list_presets, preset_info
from .transformer import CompositionFeaturizer

__all__ = [
    "DEFAULT_PRESET",
    "CompositionError",
    "CompositionFeaturizer",
    "compute_features",
    "feature_labels",
    "featurize",
    "list_presets",
    "preset_info",
]
