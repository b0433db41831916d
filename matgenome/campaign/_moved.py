"""The old module paths of the campaign modules (``matgenome.campaign_data``, ...) forward
each name to its new home with a DeprecationWarning, for one release."""

from __future__ import annotations

import warnings
from importlib import import_module
from typing import Any


def moved_attribute(old: str, new: str, name: str) -> Any:
    """``name`` of module ``new``, warning that ``old`` is deprecated."""
    if name.startswith("__"):  # import machinery probes (__path__, __file__, ...)
        raise AttributeError(f"module {old!r} has no attribute {name!r}")
    value = getattr(import_module(new), name)  # AttributeError for a name that never existed
    warnings.warn(f"{old} is deprecated and will be removed in the next release; import "
                  f"{name} from {new}", DeprecationWarning, stacklevel=3)
    return value
