"""Target cells parsed into values: numbers as written in tables (``1.2e-3``,
``3.4 × 10^-4``, ``0.122 mS/cm``), censored bounds (``<1E-10``, ``≥0.5``, see
:mod:`matgenome.censoring`), units converted (:mod:`matgenome.units`) and an optional
log10, with a reason for every cell that cannot be used.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from matgenome.errors import InputError
from matgenome.units import (
    SUPERSCRIPTS,
    UNIT_FACTORS,
    known_units,
    normalise_unit,
    unit_factor,
    unit_group,
)

_MISSING = {"", "nan", "na", "n/a", "none", "null", "-", "--", "?"}
_LEADING_NUMBER = re.compile(r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?")
_POWER_OF_TEN = re.compile(r"\s*[x×*·]\s*10\s*\^?\s*(?=[-+]?\d)", re.IGNORECASE)


@dataclass
class TargetValues:
    """Parsed target values: floats, censoring direction and per-row errors."""

    values: np.ndarray  # float64, NaN where the cell could not be used
    censor: np.ndarray  # "<" upper bound, ">" lower bound, "" exact value
    errors: list[str]  # "" where the cell was fine
    # Unit of ``values`` before any log10 (after conversion, e.g. S/cm for cells in mS/cm);
    # "" when neither the cells nor the caller named one.
    unit: str = ""
    # The cells as read, before parsing (labels such as "yes"/"no" of a classification
    # target, see matgenome.classification); None when the values were given as numbers.
    raw: list | None = None

    @property
    def usable(self) -> np.ndarray:
        return np.array([not error for error in self.errors], dtype=bool)

    @classmethod
    def from_frame(cls, frame: pd.DataFrame) -> TargetValues:
        """The targets of a shipped dataset's table (``matgenome.datasets.load``): its
        parsed ``target`` and ``censor`` columns, every row usable."""
        return cls(values=frame["target"].to_numpy(float), censor=frame["censor"].to_numpy(str),
                   errors=[""] * len(frame))


def parse_target_values(
    cells: Sequence[object] | pd.Series,
    log10: bool = False,
    unit: str | None = None,
    to_unit: str | None = None,
) -> TargetValues:
    """Parse target cells such as ``1.2e-3``, ``<1E-10``, ``3.4 × 10^-4``, ``−2.1``,
    ``0.122 mS/cm`` or ``1e-4 S cm-1``.

    Censored cells (``<x``, ``≤x``, ``>x``, ``≥x``) are recognised and returned with their
    bound as the value and the direction in ``censor``; they are never read silently as
    exact numbers. A unit written in a cell converts that cell; ``unit`` is the unit of
    cells without one. Values are converted to ``to_unit`` (default: the base unit of the
    unit's group, e.g. S/cm) before ``log10`` is applied. Cells that cannot be used get NaN
    and a reason in ``errors``; ``unit`` of the result is the unit of the values.
    """
    if unit:
        unit = normalise_unit(unit)
        unit_factor(unit, to_unit)  # an unknown unit fails before any cell is read
    n = len(cells)
    values = np.full(n, np.nan)
    censor = np.full(n, "", dtype=object)
    errors = [""] * n
    stored = _stored_unit(unit, to_unit)
    for i, cell in enumerate(list(cells)):
        try:
            value, direction, written = _parse_target_cell(cell)
            cell_unit = written or unit
            if cell_unit:
                if stored and unit_group(cell_unit) != unit_group(stored):
                    raise ValueError(f"unit {written} cannot be converted to {stored}")
                stored = stored or _stored_unit(cell_unit, to_unit)
                value *= unit_factor(cell_unit, stored)
            if log10:
                if value <= 0:
                    raise ValueError(f"cannot take log10 of {value:g} (must be positive)")
                value = math.log10(value)
            values[i], censor[i] = value, direction
        except (ValueError, InputError) as exc:
            errors[i] = f"target {cell!r}: {exc}"
    return TargetValues(values=values, censor=censor.astype(str), errors=errors,
                        unit=stored or "", raw=list(cells))


def _parse_target_cell(cell: object) -> tuple[float, str, str]:
    """(value, censoring direction, unit written in the cell or "")."""
    if isinstance(cell, (int, float, np.integer, np.floating)) and not isinstance(cell, bool):
        if not math.isfinite(float(cell)):
            raise ValueError("missing or non-finite value")
        return float(cell), "", ""
    text = str(cell).strip().translate(SUPERSCRIPTS)
    text = text.replace("−", "-").replace("–", "-").replace("\u2009", "").replace(" ", "")
    if text.lower() in _MISSING:
        raise ValueError("missing value")
    direction = ""
    for prefix, sign in (("<=", "<"), (">=", ">"), ("≤", "<"), ("≥", ">"), ("<", "<"),
                         (">", ">")):
        if text.startswith(prefix):
            direction, text = sign, text[len(prefix):]
            break
    text = _POWER_OF_TEN.sub("e", text)
    number = _LEADING_NUMBER.match(text)
    written = ""
    if number and number.end() < len(text) and (text[number.end()].isalpha()
                                                 or text[number.end()] in "µμ"):
        written = normalise_unit(text[number.end():])
        if unit_group(written) is None:
            raise ValueError(f"unknown unit {text[number.end():]!r}; known units: "
                             f"{known_units()}")
        text = number.group()
    try:
        value = float(text)
    except ValueError:
        raise ValueError("not a number") from None
    if not math.isfinite(value):
        raise ValueError("missing or non-finite value")
    return value, direction, written


def _stored_unit(unit: str | None, to_unit: str | None) -> str | None:
    """The unit values are converted to: ``to_unit``, or the base unit of ``unit``'s group."""
    if to_unit:
        return to_unit
    if not unit:
        return None
    group = unit_group(unit)
    return next(iter(UNIT_FACTORS[group])) if group else None
