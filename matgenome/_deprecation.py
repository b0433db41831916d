"""Old import paths kept for one release after a module moves or splits.

A moved module leaves a shim at its old path whose module ``__getattr__`` (PEP 562) reads
each name from its new home::

    from matgenome._deprecation import moved

    __getattr__ = moved(__name__, "matgenome.new.home")

Importing the old path is silent; using a name from it (``from old.path import name``
included) warns with a ``DeprecationWarning`` naming the new home. A module split in
several takes a map from each name to its module instead of one module.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Mapping
from importlib import import_module
from typing import Any


def moved(old: str, new: str | Mapping[str, str]) -> Callable[[str], Any]:
    """The module ``__getattr__`` of the deprecated path ``old``.

    Args:
        old: the deprecated module path (the shim's ``__name__``).
        new: the module that now holds every name, or a map from each name to its module.

    Returns:
        A function to bind as the shim's module-level ``__getattr__``.
    """

    def __getattr__(name: str) -> Any:
        home = new if isinstance(new, str) else new.get(name)
        if home is None or name.startswith("__"):  # import machinery probes __path__, ...
            raise AttributeError(f"module {old!r} has no attribute {name!r}")
        value = getattr(import_module(home), name)  # AttributeError for an unknown name
        warnings.warn(f"{old}.{name} moved to {home}.{name}; import it from there ({old} "
                      "will be removed in the next release)", DeprecationWarning, stacklevel=2)
        return value

    return __getattr__
