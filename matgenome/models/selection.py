"""Deprecated location of :mod:`matgenome.selection` (model selection runs cross-validation,
so it sits beside training, above evaluation, not among the estimators); kept for one
release."""

from __future__ import annotations

import warnings
from typing import Any


def __getattr__(name: str) -> Any:
    import matgenome.selection as selection

    value = getattr(selection, name)
    warnings.warn(f"matgenome.models.selection is deprecated; import {name} from "
                  "matgenome.selection", DeprecationWarning, stacklevel=2)
    return value
