"""matgenome: data-driven materials discovery from composition-property data.

The main entry points, importable from the package itself::

    from matgenome import load_dataset, featurize, train, load_model, evaluate, generate, rank
    from matgenome import Campaign  # closed-loop campaigns kept in a directory

They are loaded on first use, so ``import matgenome`` stays fast.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

from matgenome._version import __version__

# Public name -> (module, attribute).
_EXPORTS = {
    "load_dataset": ("matgenome.datasets", "load"),
    "list_datasets": ("matgenome.datasets", "list_datasets"),
    "parse_composition": ("matgenome.composition", "parse_composition"),
    "CompositionError": ("matgenome.errors", "CompositionError"),
    "featurize": ("matgenome.features", "featurize"),
    "CompositionFeaturizer": ("matgenome.features", "CompositionFeaturizer"),
    "train": ("matgenome.training", "train"),
    "load_model": ("matgenome.modelfile", "load_model"),
    "save_model": ("matgenome.modelfile", "save_model"),
    "evaluate": ("matgenome.evaluation", "evaluate"),
    "generate": ("matgenome.generation", "generate_candidates"),
    "rank": ("matgenome.screen", "rank_candidates"),
    "simulate": ("matgenome.simulation", "simulate_discovery"),
    "Campaign": ("matgenome.campaign", "Campaign"),
}

__all__ = ["__version__", *_EXPORTS]


def __getattr__(name: str) -> Any:
    try:
        module, attribute = _EXPORTS[name]
    except KeyError:
        raise AttributeError(f"module 'matgenome' has no attribute {name!r}") from None
    value = getattr(import_module(module), attribute)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
