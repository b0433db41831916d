"""Hard limits on candidate compositions (:class:`Constraints`): required, forbidden and
counted elements, atom counts; :func:`check_constraints` says which rows pass and why not."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, fields

import numpy as np
from numpy.typing import NDArray
from pymatgen.core import Composition, Element

from matgenome.composition import parse_many
from matgenome.errors import UsageError


@dataclass(frozen=True)
class Constraints:
    """Hard limits on candidate compositions.

    Attributes:
        required_elements: every one of these must be present.
        excluded_elements: none of these may be present (e.g. toxic or radioactive ones).
        min_elements, max_elements: bounds on the number of distinct elements.
        mobile_ion: the conducting ion whose atomic fraction is bounded (default Li).
        min_mobile_fraction, max_mobile_fraction: bounds on the mobile ion's atomic
            fraction, ``n(mobile_ion) / n(all atoms)``; inclusive.
    """

    required_elements: tuple[str, ...] = ()
    excluded_elements: tuple[str, ...] = ()
    min_elements: int | None = None
    max_elements: int | None = None
    mobile_ion: str = "Li"
    min_mobile_fraction: float | None = None
    max_mobile_fraction: float | None = None

    def __post_init__(self) -> None:
        for name in ("required_elements", "excluded_elements"):
            value = getattr(self, name)
            symbols = (value,) if isinstance(value, str) else tuple(value)
            object.__setattr__(self, name, tuple(_valid_symbol(s) for s in symbols))
        object.__setattr__(self, "mobile_ion", _valid_symbol(self.mobile_ion))
        overlap = set(self.required_elements) & set(self.excluded_elements)
        if overlap:
            raise UsageError(f"elements both required and excluded: {sorted(overlap)}")
        for low, high in (
            (self.min_elements, self.max_elements),
            (self.min_mobile_fraction, self.max_mobile_fraction),
        ):
            if low is not None and high is not None and low > high:
                raise UsageError(f"lower bound {low} is above upper bound {high}")

    @classmethod
    def from_mapping(cls, mapping: Mapping[str, object]) -> Constraints:
        """Build from a dict (e.g. read from YAML), rejecting unknown keys."""
        known = {f.name for f in fields(cls)}
        unknown = set(mapping) - known
        if unknown:
            raise UsageError(f"unknown constraint(s) {sorted(unknown)}; expected {sorted(known)}")
        return cls(**mapping)  # type: ignore[arg-type]


def _valid_symbol(symbol: object) -> str:
    if not isinstance(symbol, str) or not Element.is_valid_symbol(symbol):
        raise UsageError(f"unknown element symbol {symbol!r}")
    return symbol


def _as_constraints(constraints: Constraints | Mapping[str, object] | None) -> Constraints:
    if constraints is None:
        return Constraints()
    if isinstance(constraints, Constraints):
        return constraints
    return Constraints.from_mapping(constraints)


def _violations(comp: Composition, rules: Constraints) -> list[str]:
    """The reasons one composition breaks the rules (empty when it passes)."""
    present = {el.symbol for el in comp.elements}
    reasons = []
    missing = [s for s in rules.required_elements if s not in present]
    if missing:
        reasons.append(f"missing required element(s) {', '.join(missing)}")
    banned = [s for s in rules.excluded_elements if s in present]
    if banned:
        reasons.append(f"contains excluded element(s) {', '.join(banned)}")
    n = len(present)
    if rules.min_elements is not None and n < rules.min_elements:
        reasons.append(f"{n} elements < min_elements={rules.min_elements}")
    if rules.max_elements is not None and n > rules.max_elements:
        reasons.append(f"{n} elements > max_elements={rules.max_elements}")
    fraction = comp.get_atomic_fraction(rules.mobile_ion)
    ion = rules.mobile_ion
    if rules.min_mobile_fraction is not None and fraction < rules.min_mobile_fraction:
        reasons.append(f"{ion} fraction {fraction:.4g} < {rules.min_mobile_fraction:g}")
    if rules.max_mobile_fraction is not None and fraction > rules.max_mobile_fraction:
        reasons.append(f"{ion} fraction {fraction:.4g} > {rules.max_mobile_fraction:g}")
    return reasons


def check_constraints(
    formulas: Iterable[object],
    constraints: Constraints | Mapping[str, object] | None = None,
) -> tuple[NDArray[np.bool_], list[str]]:
    """Check formulas (or ``Composition`` objects) against ``constraints``.

    Returns a boolean mask (True = passes) and, aligned with it, a reason string per row:
    empty where the row passes, the parse error where the formula is invalid, otherwise the
    violated constraints joined by ``"; "``.
    """
    rules = _as_constraints(constraints)
    compositions, errors = parse_many(formulas)
    reasons = []
    for comp, error in zip(compositions, errors, strict=True):
        reasons.append(error if comp is None else "; ".join(_violations(comp, rules)))
    mask = np.array([not r for r in reasons], dtype=bool)
    return mask, reasons
