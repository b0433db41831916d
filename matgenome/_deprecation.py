"""Old import paths kept for one release after a module moves.

A moved module leaves a two-line shim at its old path::

    from matgenome._deprecation import moved_module
    __getattr__ = moved_module(__name__, "matgenome.new.home")

Importing the old path warns once with a ``DeprecationWarning`` naming the new one, and
every attribute (``from old.path import name`` included) is read from the new module.
"""

from __future__ import annotations

import importlib
import warnings
from collections.abc import Callable
from typing import Any


def moved_module(old: str, new: str) -> Callable[[str], Any]:
    """Warn that ``old`` moved to ``new`` and return a module ``__getattr__`` reading ``new``.

    Args:
        old: the deprecated module path (the shim's ``__name__``).
        new: the module that now holds its names.

    Returns:
        A function to bind as the shim's module-level ``__getattr__`` (PEP 562).
    """
    warnings.warn(f"{old} moved to {new}; the old path will be removed in the next release",
                  DeprecationWarning, stacklevel=3)
    target = importlib.import_module(new)

    def __getattr__(name: str) -> Any:
        return getattr(target, name)

    return __getattr__
