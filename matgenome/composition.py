"""Parse and validate chemical formula strings into pymatgen ``Composition`` objects.

pymatgen's formula grammar does the element-and-amount parsing; this module adds what
electrolyte papers and lab spreadsheets write on top of it, and the validation pymatgen
leaves out:

* whitespace, unicode subscript digits, ``[]``/``{}`` brackets, and pymatgen's ``@`` of
  endohedral formulas (``Y3N@C80`` is Y3 N C80);
* isotopes as their element, as pymatgen's element amounts do (``HDO``, ``D2O`` and ``T2O``
  all have two H);
* hydrate notation joined by ``*``, ``·``, ``•`` or ``⋅`` (``CuSO4·5H2O``,
  ``Li3(Mo8S8O8(OH)8(HWO5(H2O)))*(H2O)18``);
* pseudo-binary glass notation with leading mole fractions or percentages joined by ``-``,
  ``+``, ``·`` or ``*`` (``0.75Li2S-0.25P2S5``, ``70Li2S·30P2S5``), mapped to the atomic
  composition ``sum(coefficient * component)``; components joined by ``-`` or ``+`` with
  no coefficients (``Li2S-P2S5``) name a system, not a composition, and are refused;
* rejection, as :class:`CompositionError` naming the input and the reason, of empty strings,
  unknown elements and placeholders (``X``, ``x``), zero, negative, NaN or infinite
  amounts, amounts below pymatgen's tolerance (``Na9.9e-09``, which pymatgen silently
  drops), charges (``Fe3+``), unbalanced brackets and over-long strings (pymatgen silently
  drops ``Li0O`` to ``O`` and accepts ``Li1e999``).
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from pymatgen.core import Composition, Element

from matgenome.errors import CompositionError

# Element symbols by atomic number (index 0 unused) and back: the order of canonical forms.
N_ELEMENTS = 118
SYMBOLS: tuple[str, ...] = ("", *(Element.from_Z(z).symbol for z in range(1, N_ELEMENTS + 1)))
Z_OF: dict[str, int] = {symbol: z for z, symbol in enumerate(SYMBOLS) if symbol}

MAX_FORMULA_LENGTH = 256
MAX_ELEMENTS = 20
# Canonical form (see canonical_amounts): the largest count of the least abundant element
# in an integer formula, the relative tolerance for "is this ratio rational", and the
# significant digits kept for compositions without such a formula.
MAX_DENOMINATOR = 10_000
RATIONAL_TOLERANCE = 1e-11
FRACTION_DIGITS = 12
# Integer formulas stay exact in float64 below 2**53.
_EXACT_LIMIT = 2.0**53
_MAX_EXPANSION_TERMS = 40

_SUBSCRIPTS = str.maketrans("₀₁₂₃₄₅₆₇₈₉", "0123456789")
_BRACKETS = str.maketrans("[]{}", "()()")
_DOTS = "*·•⋅∙"
_DASHES = "-−–—+"
# A leading coefficient: a number directly followed by the start of a formula.
_COEFFICIENT = re.compile(r"^(\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?(?=[A-Z(])")
# A '-' or '+' is an exponent sign only when it follows a mantissa digit and 'e'/'E'.
_EXPONENT_SIGN = re.compile(r"(?<=[0-9.][eE])[-+](?=\d)")
# pymatgen reads exponents only with a lower-case 'e'.
_UPPER_EXPONENT = re.compile(r"(?<=[0-9.])E(?=[-+]?\d)")
_SYMBOL = re.compile(r"[A-Z][a-z]*|[a-z]+")
_ALLOWED = re.compile(r"^[A-Za-z0-9().eE+\-]*$")
# An ion: a formula ending in a charge sign, e.g. 'Fe3+', 'O2-', 'Li+', 'SO4^2-'.
# An ion: one element with a charge ('Fe3+', 'O2-', 'Li+'), a '^' charge ('SO4^2-'), or a
# formula ending in a digit and a sign with no other '-'/'+' in it ('O2-', 'Li2O2-');
# 'Li2O-' stays an empty glass-notation component.
_CHARGE = re.compile(r"^[A-Z][a-z]?\d*(?:\.\d+)?[+-]+$|\^|^[^+\-]*\d[+-]$")
# pymatgen drops amounts below this (``Composition.amount_tolerance``).
AMOUNT_TOLERANCE = Composition.amount_tolerance


def parse_composition(text: object) -> Composition:
    """Return the validated ``Composition`` of a formula string.

    Raises:
        CompositionError: the string is empty, too long, or not a valid formula; the
            message names the input and the reason.
    """
    if isinstance(text, Composition):
        _check_amounts(text, text)
        return text
    if not isinstance(text, str):
        if text is None or (isinstance(text, float) and math.isnan(text)):
            raise CompositionError(text, "empty formula")
        raise CompositionError(text, f"expected a formula string, got {type(text).__name__}")
    if len(text) > MAX_FORMULA_LENGTH:
        raise CompositionError(
            text, f"formula is {len(text)} characters long; the limit is {MAX_FORMULA_LENGTH}"
        )
    cleaned = "".join(text.split()).translate(_SUBSCRIPTS).translate(_BRACKETS)
    if not cleaned:
        raise CompositionError(text, "empty formula")
    if _CHARGE.search(cleaned):
        raise CompositionError(
            text, "charges and oxidation states (e.g. 'Fe3+', 'O2-') are not read; write the "
            "neutral formula (e.g. Fe2O3)")
    # pymatgen's notation for endohedral compounds: Y3N@C80 is Y3 N C80.
    cleaned = cleaned.replace("@", "")
    total: dict[str, float] = {}
    for coefficient, component in _split_components(text, cleaned):
        for symbol, amount in _parse_component(text, component).items():
            total[symbol] = total.get(symbol, 0.0) + coefficient * amount
    composition = Composition(total)
    _check_amounts(text, composition)
    if len(composition) > MAX_ELEMENTS:
        raise CompositionError(
            text, f"{len(composition)} elements; the limit is {MAX_ELEMENTS}"
        )
    return composition


def _split_components(text: str, cleaned: str) -> list[tuple[float, str]]:
    """Split hydrate and glass notation into (coefficient, formula) parts."""
    # Protect exponent signs, then mark the joining characters: \x02 for dashes and plus
    # signs (glass notation), \x03 for dots (hydrates and glass notation).
    protected = _EXPONENT_SIGN.sub(lambda m: "\x00" if m.group() == "-" else "\x01", cleaned)
    for dash in _DASHES:
        protected = protected.replace(dash, "\x02")
    for dot in _DOTS:
        protected = protected.replace(dot, "\x03")
    raw_parts = re.split("[\x02\x03]", protected)
    if len(raw_parts) > 1 and any(not part for part in raw_parts):
        raise CompositionError(text, "empty component around a '-', '+', '*' or '·' separator")
    parts = []
    for raw in raw_parts:
        part = _UPPER_EXPONENT.sub("e", raw.replace("\x00", "-").replace("\x01", ""))
        coefficient = 1.0
        match = _COEFFICIENT.match(part)
        if match:
            coefficient = float(match.group())
            part = part[match.end():]
            if not math.isfinite(coefficient) or coefficient <= 0:
                raise CompositionError(text, f"coefficient {match.group()!r} must be positive")
        elif len(raw_parts) == 1 and part[:1].isdigit():
            raise CompositionError(text, "a leading number must be followed by a formula")
        parts.append((coefficient, part, match is not None))
    if "\x02" in protected and not any(has for _, _, has in parts):
        # 'Li2S-P2S5' names a pseudo-binary system, not one composition in it; the parts
        # are parsed first so that a bad element is reported as such.
        for _, part, _ in parts:
            _parse_component(text, part)
        raise CompositionError(
            text,
            "components joined by '-' or '+' without mole fractions name a system, not a "
            "composition; give the fractions (e.g. 0.75Li2S-0.25P2S5)",
        )
    if "\x02" in protected and len({has_coefficient for _, _, has_coefficient in parts}) > 1:
        # 'Li-2O' or 'Li2S-0.5P2S5': a negative amount, or glass notation with a coefficient
        # missing; guessing either way would silently change the composition.
        raise CompositionError(
            text,
            "ambiguous '-': negative amounts are not allowed, and glass notation needs a "
            "coefficient on every component (e.g. 0.75Li2S-0.25P2S5)",
        )
    return [(coefficient, part) for coefficient, part, _ in parts]


def _parse_component(text: str, component: str) -> dict[str, float]:
    if not component:
        raise CompositionError(text, "empty formula")
    if not _ALLOWED.match(component):
        bad = next(ch for ch in component if not _ALLOWED.match(ch))
        raise CompositionError(text, f"unexpected character {bad!r}")
    depth = 0
    for ch in component:
        depth += (ch == "(") - (ch == ")")
        if depth < 0:
            raise CompositionError(text, "unbalanced parentheses: ')' without '('")
    if depth:
        raise CompositionError(text, "unbalanced parentheses: '(' without ')'")
    symbols = _SYMBOL.findall(component.replace("e-", "").replace("e+", ""))
    for symbol in symbols:
        if symbol == "e":  # an exponent; upper-case exponents were lowered before
            continue
        if not Element.is_valid_symbol(symbol):
            raise CompositionError(text, f"unknown element {symbol!r}")
    try:
        parsed = Composition(component)
    except (ValueError, KeyError, TypeError, OverflowError) as exc:
        raise CompositionError(text, _pymatgen_reason(exc)) from None
    # Element amounts, isotopes (D, T) merged into their element as pymatgen's
    # get_el_amt_dict does: keying by str(element) would let 'D' overwrite 'H'.
    amounts = {el: float(amount) for el, amount in parsed.get_el_amt_dict().items()}
    for symbol in {s for s in symbols if s != "e"}:
        if Element(symbol).symbol not in amounts:
            raise CompositionError(text, _dropped_reason(component, symbol))
    return amounts


def _dropped_reason(component: str, symbol: str) -> str:
    """Why pymatgen left ``symbol`` out: a zero amount, or one below its tolerance."""
    written = re.findall(rf"{symbol}(?![a-z])((?:\d+(?:\.\d*)?|\.\d+)(?:e[-+]?\d+)?)",
                         component)
    tiny = [a for a in written if 0 < float(a) < AMOUNT_TOLERANCE]
    if tiny:
        return (f"amount of {symbol} ({tiny[0]}) is below {AMOUNT_TOLERANCE:g}, the smallest "
                "amount pymatgen keeps; leave the element out or scale the formula up")
    if any(float(a) > 0 for a in written):
        return (f"amount of {symbol} is below {AMOUNT_TOLERANCE:g} after multiplying out "
                "parentheses, the smallest amount pymatgen keeps")
    return f"amount of {symbol} is zero"


def _pymatgen_reason(exc: Exception) -> str:
    message = str(exc)
    if "negative" in message:
        return "negative amount"
    return message or type(exc).__name__


def _check_amounts(text: object, composition: Composition) -> None:
    if len(composition) == 0:
        raise CompositionError(text, "no elements")
    for element, amount in composition.items():
        if not math.isfinite(amount):
            raise CompositionError(text, f"amount of {element} is not finite ({amount})")
        if amount <= 0:
            raise CompositionError(text, f"amount of {element} must be positive ({amount})")


def parse_many(formulas: Iterable[object]) -> tuple[list[Composition | None], list[str]]:
    """Parse many formulas without stopping at bad ones.

    Returns the compositions (``None`` where parsing failed) and, aligned with them, the
    error message of each failed row (empty string where parsing succeeded).
    """
    compositions: list[Composition | None] = []
    errors: list[str] = []
    cache: dict[object, Composition | str] = {}
    for formula in formulas:
        key = formula if isinstance(formula, str) else repr(formula)
        result = cache.get(key)
        if result is None:
            try:
                result = parse_composition(formula)
            except CompositionError as exc:
                result = str(exc)
            cache[key] = result
        if isinstance(result, str):
            compositions.append(None)
            errors.append(result)
        else:
            compositions.append(result)
            errors.append("")
    return compositions, errors


# The named tolerances of composition identity, one home for the package.
#: Atomic-fraction decimals that make two compositions one (identity, 1e-6): measured
#: values and "already measured" (matgenome.known), repeats, splits, campaigns, notation.
KEY_DECIMALS = 6
#: Coarser on purpose (1e-4), for merging generated candidates only: grid and doping
#: amounts a rounding apart (Li3PS4, Li3.00001PS4) are one candidate to propose.
CANDIDATE_DECIMALS = 4


@dataclass(frozen=True, order=True)
class CompositionKey:
    """Identity of a composition at a tolerance: an immutable, hashable, ordered value.

    ``parts`` are (element, atomic fraction rounded to ``decimals``) pairs sorted by
    element, taken from the canonical form (:func:`canonical_amounts`), so ``Li3PS4``,
    ``Li6P2S8`` and ``0.75Li2S-0.25P2S5`` give one key. Keys of different tolerances are
    never equal. ``str(key)`` is a readable label such as ``Li0.375 P0.125 S0.5``.

    Build one with :meth:`of` (any formula, ``Composition`` or element -> amount mapping;
    raises :class:`CompositionError`) or :func:`matgenome.composition_keys.key_of` (a
    formula read with the featurizer's fast parser; ``None`` when it does not parse), which
    give equal keys.
    """

    parts: tuple[tuple[str, float], ...]
    decimals: int = KEY_DECIMALS

    @classmethod
    def of(cls, composition: object, decimals: int = KEY_DECIMALS) -> CompositionKey:
        """The key of a formula, ``Composition`` or element -> amount mapping.

        Raises:
            CompositionError: the formula is not a valid composition.
        """
        if isinstance(composition, Mapping) and not isinstance(composition, Composition):
            amounts = {str(el): float(a) for el, a in composition.items()}
        else:
            amounts = {str(el): float(a) for el, a in parse_composition(composition).items()}
        return cls.from_amounts(amounts, decimals)

    @classmethod
    def from_amounts(cls, amounts: Mapping[str, float],
                     decimals: int = KEY_DECIMALS) -> CompositionKey:
        """The key of element -> amount pairs (amounts positive)."""
        # The canonical form in ascending Z, as the featurizer computes it: rounding
        # float-noisy fractions could otherwise split one composition across a boundary.
        symbols = sorted(amounts, key=lambda s: (Z_OF.get(s, len(Z_OF) + 1), s))
        canonical, _ = canonical_amounts(np.array([[amounts[s] for s in symbols]]))
        return cls.from_canonical(symbols, canonical[0], decimals)

    @classmethod
    def from_canonical(cls, symbols: Sequence[str], canonical: np.ndarray,
                       decimals: int = KEY_DECIMALS) -> CompositionKey:
        """The key of ``symbols`` with amounts already in :func:`canonical_amounts` form."""
        fractions = canonical / canonical.sum()
        parts = tuple(sorted((symbol, round(float(f), decimals))
                             for symbol, f in zip(symbols, fractions, strict=True)))
        return cls(parts, decimals)

    def __str__(self) -> str:
        return " ".join(f"{symbol}{fraction:g}" for symbol, fraction in self.parts)


def canonical_amounts(amounts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """One representation per composition of the rows of ``amounts`` (m, k), positive.

    A row becomes its smallest integer formula (``Li1.5P0.5S2``, ``Li6P2S8`` and
    ``0.75Li2S-0.25P2S5`` all give ``3, 1, 4``) when the ratios of its amounts to its
    smallest amount are rationals, within ``RATIONAL_TOLERANCE`` relative, whose common
    denominator is at most ``MAX_DENOMINATOR`` (so the least abundant element appears at
    most that many times). Otherwise the row becomes its atomic fractions rounded to
    ``FRACTION_DIGITS`` significant digits, which absorbs the last-bit differences of
    float arithmetic in all but boundary cases. The integer case is exact: every notation
    that differs only by float rounding gives the same integers. Rows must already be in a
    canonical element order (e.g. sorted by Z) for the fraction case to be bit-stable.

    Returns:
        (canonical amounts (m, k) float64, whether each row is an integer formula (m,)).
    """
    amounts = np.asarray(amounts, dtype=np.float64)
    m, k = amounts.shape
    out = np.empty_like(amounts)
    integral = np.zeros(m, dtype=bool)
    if m == 0 or k == 0:
        return out, integral
    ratios = amounts / amounts.min(axis=1, keepdims=True)
    denominators = _rational_denominators(ratios.ravel()).reshape(m, k)
    common = np.lcm.reduce(denominators, axis=1)
    candidate = (denominators > 0).all(axis=1) & (common > 0) & (common <= MAX_DENOMINATOR)
    scaled = ratios[candidate] * common[candidate, None]
    counts = np.round(scaled)
    exact = (np.abs(scaled - counts) <= RATIONAL_TOLERANCE * scaled).all(axis=1) & (
        counts.max(axis=1, initial=0.0) < _EXACT_LIMIT
    )
    rows = np.flatnonzero(candidate)[exact]
    counts = counts[exact].astype(np.int64)
    # Minimal by construction; the gcd guards against a tolerance-accepted coincidence.
    counts //= np.gcd.reduce(counts, axis=1, keepdims=True)
    out[rows] = counts
    integral[rows] = True
    rest = ~integral
    out[rest] = _round_significant(
        amounts[rest] / amounts[rest].sum(axis=1, keepdims=True), FRACTION_DIGITS
    )
    return out, integral


def _rational_denominators(values: np.ndarray) -> np.ndarray:
    """Denominator of each value (>= 1) as a rational with denominator <= MAX_DENOMINATOR.

    Continued-fraction convergents, vectorised over the values still unresolved; 0 where
    no convergent within the bound matches to ``RATIONAL_TOLERANCE`` relative.
    """
    result = np.zeros(values.size, dtype=np.int64)
    active = np.arange(values.size)
    x = values.copy()
    whole = np.floor(x)
    h_prev, h = np.ones_like(x), whole
    k_prev, k = np.zeros_like(x), np.ones_like(x)
    remainder = x - whole
    for _ in range(_MAX_EXPANSION_TERMS):
        target = values[active]
        done = np.abs(h / k - target) <= RATIONAL_TOLERANCE * target
        result[active[done]] = k[done].astype(np.int64)
        keep = ~done & (remainder > 0) & (k <= MAX_DENOMINATOR)
        if not keep.any():
            break
        active, remainder = active[keep], remainder[keep]
        h_prev, h, k_prev, k = h_prev[keep], h[keep], k_prev[keep], k[keep]
        inverse = 1.0 / remainder
        term = np.floor(inverse)
        remainder = inverse - term
        h_prev, h = h, term * h + h_prev
        k_prev, k = k, term * k + k_prev
    result[result > MAX_DENOMINATOR] = 0
    return result


def _round_significant(values: np.ndarray, digits: int) -> np.ndarray:
    """Positive values rounded to ``digits`` significant decimal digits."""
    exponent = digits - 1 - np.floor(np.log10(values))
    scale = 10.0**exponent
    return np.round(values * scale) / scale
