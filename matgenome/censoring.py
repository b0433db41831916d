"""Censored values: the one ``censor`` column every table and file uses.

A measured value is either exact or known only as a bound. matgenome stores that in one text
column, ``censor``, beside the value:

``"<"``  the value is an upper bound (OBELiX ``<1E-10``: the conductivity was below what the
         instrument could measure);
``">"``  the value is a lower bound;
``""``   the value is exact.

Shipped datasets (:func:`matgenome.datasets.load`), parsed target cells
(:class:`matgenome.target_values.TargetValues`), evaluation tables and prediction tables, a model
directory's ``training_data.csv`` and a campaign's ``measurements.csv`` all carry it.

The models learn from upper bounds only (a conductivity floor is what bound-only rows are in
this field). They receive them as the boolean ``censored`` fit metadata of scikit-learn's
metadata routing, which :func:`upper_bounds` derives from this column; a lower bound is not
a value a model is fitted to.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from matgenome.errors import InputError

if TYPE_CHECKING:
    import pandas as pd

UPPER = "<"
LOWER = ">"
EXACT = ""
CENSOR_VALUES = (EXACT, UPPER, LOWER)


def censor_of(frame: pd.DataFrame) -> np.ndarray:
    """The ``censor`` column of a table as text; every row exact when there is none.

    Raises:
        InputError: a cell is not ``<``, ``>`` or empty (the row is named), or the table
            has the boolean ``censored`` column of matgenome 0.1 instead.
    """
    if "censor" not in frame.columns:
        if "censored" in frame.columns:
            raise InputError("the table has a boolean 'censored' column; censoring is now the "
                             "'censor' column: '<' upper bound, '>' lower bound, '' exact")
        return np.full(len(frame), EXACT, dtype="<U1")
    censor = frame["censor"].fillna(EXACT).astype(str).str.strip().to_numpy().astype(str)
    row = _first_invalid(censor)
    if row is not None:
        raise InputError(f"row {frame.index[row]}: censor {str(censor[row])!r} is not '<', '>' "
                         "or empty")
    return censor


def as_censor(censor: Sequence[str] | np.ndarray) -> np.ndarray:
    """A ``censor`` sequence as a text array (missing cells exact), checked."""
    import pandas as pd

    values = np.asarray(censor, dtype=object)
    values = np.where(pd.isna(values), EXACT, values).astype(str)
    position = _first_invalid(values)
    if position is not None:
        # A boolean mask here would silently mean "nothing is exact": say what is expected.
        raise ValueError(f"censor {str(values[position])!r} at position {position} is not '<', "
                         "'>' or '' (see matgenome.censoring)")
    return values


def _first_invalid(values: np.ndarray) -> int | None:
    """The position of the first value that is not a censor mark, None if all are."""
    bad = np.flatnonzero(~np.isin(values, CENSOR_VALUES))
    return int(bad[0]) if bad.size else None


def is_exact(censor: Sequence[str] | np.ndarray) -> np.ndarray:
    """Rows whose value is exact."""
    return as_censor(censor) == EXACT


def upper_bounds(censor: Sequence[str] | np.ndarray) -> np.ndarray:
    """Rows whose value is an upper bound: the ``censored`` mask the models take."""
    return as_censor(censor) == UPPER


def lower_bounds(censor: Sequence[str] | np.ndarray) -> np.ndarray:
    """Rows whose value is a lower bound."""
    return as_censor(censor) == LOWER


def exact_values(frame: pd.DataFrame, column: str = "target") -> np.ndarray:
    """The exact values of a table's ``column`` (bounds left out), as floats."""
    return frame.loc[is_exact(censor_of(frame)), column].to_numpy(float)
