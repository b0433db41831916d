"""How species and formulas are written: ``Zr4+``, ``Li6.5La3Zr1.5Ta0.5O12``, and the
tolerances every generator shares."""

from __future__ import annotations

import re
from collections.abc import Mapping

from pymatgen.core import Element

from matgenome.errors import UsageError

AMOUNT_DECIMALS = 4
CHARGE_TOLERANCE = 1e-6
# Amounts this close to zero are treated as zero: they only arise from float round-off.
_EPS = 1e-9
_SPECIES = re.compile(r"^([A-Z][a-z]?)(\d*)([+-])$")


def species_string(element: str, oxidation_state: int) -> str:
    """Return pymatgen-style species notation: ``Li+``, ``Zr4+``, ``O2-``."""
    sign = "+" if oxidation_state > 0 else "-"
    magnitude = abs(oxidation_state)
    return f"{element}{magnitude if magnitude != 1 else ''}{sign}"


def parse_species(text: str) -> tuple[str, int]:
    """Parse ``"Ta5+"`` into ``("Ta", 5)``; raises ValueError on anything else."""
    match = _SPECIES.match(text.strip())
    if not match or not Element.is_valid_symbol(match.group(1)):
        raise UsageError(f"invalid species {text!r}; expected e.g. 'Li+', 'Zr4+', 'O2-'")
    magnitude = int(match.group(2) or 1)
    if magnitude == 0:
        raise UsageError(f"invalid species {text!r}: oxidation state must be nonzero")
    return match.group(1), magnitude if match.group(3) == "+" else -magnitude


def parse_oxidation_states(text: str) -> dict[str, int]:
    """Parse the ``oxidation_states`` column (``"Li+ La3+ Zr4+ O2-"``) into a dict."""
    return dict(parse_species(token) for token in text.split())


def format_formula(amounts: Mapping[str, float]) -> str:
    """Write amounts as a formula string in the given element order (``Li6.4Al0.2La3...``)."""
    return "".join(f"{el}{_number(amount) if amount != 1 else ''}"
                   for el, amount in amounts.items())


def _number(value: float, signed: bool = False) -> str:
    """Format a number with at most four decimals and no trailing zeros."""
    text = f"{value:+.{AMOUNT_DECIMALS}f}" if signed else f"{value:.{AMOUNT_DECIMALS}f}"
    text = text.rstrip("0").rstrip(".")
    return "+0" if text in {"+", "-"} else text
