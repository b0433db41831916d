"""Turn formulas into numpy blocks of (atomic number, amount), one parse per distinct string.

``matgenome.composition.parse_composition`` is the reference parser. It builds pymatgen
``Composition`` objects twice per string and costs several times more per formula than the
whole Magpie featurization (``profile_string_path_us_per_formula`` in
``benchmarks/results/featurize_vs_matminer.json``), so plain formulas take a fast path:
strings made only of element symbols, decimal or scientific amounts and parentheses
(``Li7La3Zr2O12``, ``Li1.3Al0.3Ti1.7(PO4)3``, ``Fe0.62C9.53e-4``) are parsed directly with
the arithmetic pymatgen uses, giving bit-identical element amounts. Formulas without
parentheses are parsed for a whole batch at once (``_batch_parse``), the others one by one
(``fast_parse``). Everything else (hydrates, glass notation, whitespace, brackets,
isotopes, dubious amounts, and every error) goes through ``parse_composition``, so error
messages and edge cases stay those of the reference parser.
``tests/test_featurize_parse.py`` checks both fast paths against it.

Every block is then put in canonical form (``canonicalise``): elements sorted by atomic
number and amounts replaced by ``matgenome.composition.canonical_amounts`` (the smallest
integer formula, or rounded atomic fractions when there is none with a small
denominator). Features therefore depend on the composition only, not on how it is written:
``Li3PS4``, ``Li6P2S8``, ``Li1.5P0.5S2``, ``0.75Li2S-0.25P2S5`` and ``S4PLi3`` give
bit-identical rows (``tests/test_notation.py``).
"""

from __future__ import annotations

import itertools
import math
import re
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
from pymatgen.core import Composition, Element

from matgenome.composition import (
    MAX_ELEMENTS,
    MAX_FORMULA_LENGTH,
    Z_OF,
    CompositionError,
    canonical_amounts,
    parse_composition,
)

# pymatgen drops amounts below this tolerance, which parse_composition reports as an error.
_AMOUNT_TOLERANCE = Composition.amount_tolerance
# pymatgen re-serialises expanded parenthesised groups with str(float); from 1e16 on that
# text contains '+', which its own formula regex cannot read back.
_REPR_LIMIT = 1e16

# ASCII digits only: Python's \d and float() also accept other scripts' digits, which
# parse_composition rejects.
_AMT = r"(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:e[-+]?[0-9]+)?"
# A group factor: pymatgen reads it with [.e\d]*, so no exponent sign; keep it plain.
_FACTOR = r"(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)"
_SIMPLE = re.compile(rf"(?:[A-Z][a-z]*(?:{_AMT})?)+", re.ASCII)
_SIMPLE_TOKEN = re.compile(rf"([A-Z][a-z]*)({_AMT})?", re.ASCII)
_NESTED = re.compile(rf"(?:[A-Z][a-z]*(?:{_AMT})?|\(|\)(?:{_FACTOR})?)+", re.ASCII)
_NESTED_TOKEN = re.compile(rf"([A-Z][a-z]*)({_AMT})?|(\()|(\))({_FACTOR})?", re.ASCII)

Parsed = tuple[tuple[int, ...], tuple[float, ...]]


def fast_parse(text: str) -> Parsed | None:
    """Parse a plain formula into (atomic numbers, amounts), or None to defer.

    Returns None for anything outside the plain grammar or whose result the reference
    parser would reject or treat specially; the caller then uses ``parse_composition``.
    Element order is the order of first appearance after pymatgen's expansion of
    parentheses, as in the ``Composition`` the reference parser builds.
    """
    if len(text) > MAX_FORMULA_LENGTH:
        return None
    if _SIMPLE.fullmatch(text):
        tokens = _SIMPLE_TOKEN.findall(text)
        symbols = [symbol for symbol, _ in tokens]
        if len(set(symbols)) == len(symbols):
            # The common case, each element written once: no summing needed.
            return _finish(symbols, [float(amount) if amount else 1.0 for _, amount in tokens])
        totals: dict[str, float] = {}
        for symbol, amount in tokens:
            totals[symbol] = totals.get(symbol, 0.0) + (float(amount) if amount else 1.0)
    elif "(" in text and _NESTED.fullmatch(text):
        totals = _parse_nested(text)
        if not totals:
            return None
    else:
        return None
    return _finish(list(totals), list(totals.values()))


def _parse_nested(text: str) -> dict[str, float]:
    """Expand parentheses innermost first, as pymatgen's ``_parse_formula`` does.

    pymatgen replaces each innermost group by ``El{amount * factor}`` text (amounts of a
    repeated element summed in order) and parses the result again; float text round-trips
    exactly, so carrying the floats gives the same numbers. Returns {} to defer.
    """
    stack: list[list[tuple[str, float]]] = [[]]
    for symbol, amount, opening, closing, factor in _NESTED_TOKEN.findall(text):
        if symbol:
            stack[-1].append((symbol, float(amount) if amount else 1.0))
        elif opening:
            stack.append([])
        elif closing:
            if len(stack) < 2 or not stack[-1]:
                return {}
            multiplier = float(factor) if factor else 1.0
            group: dict[str, float] = {}
            for member, value in stack.pop():
                group[member] = group.get(member, 0.0) + value * multiplier
            for value in group.values():
                if not value < _REPR_LIMIT:
                    return {}
            stack[-1].extend(group.items())
    if len(stack) != 1:
        return {}
    totals: dict[str, float] = {}
    for symbol, value in stack[0]:
        totals[symbol] = totals.get(symbol, 0.0) + value
    return totals


def _finish(symbols: list[str], amounts: list[float]) -> Parsed | None:
    if len(symbols) > MAX_ELEMENTS:
        return None
    zs = [Z_OF.get(symbol) for symbol in symbols]
    # Unknown symbols, isotopes (D, T) and zero, tiny or infinite amounts all go to the
    # reference parser, which either maps them or raises the right error.
    if None in zs or not (min(amounts) >= _AMOUNT_TOLERANCE and max(amounts) < math.inf):
        return None
    return tuple(zs), tuple(amounts)  # type: ignore[arg-type]


def composition_to_parsed(text: object, composition: Composition) -> Parsed:
    """Element amounts of a validated composition, merging oxidation-state species."""
    amounts = composition.get_el_amt_dict()
    zs = []
    for symbol in amounts:
        z = Z_OF.get(symbol)
        if z is None:
            raise CompositionError(text, f"unsupported element {symbol!r}")
        zs.append(z)
    return tuple(zs), tuple(float(value) for value in amounts.values())


def _element_amounts(composition: Composition) -> Parsed | None:
    """Atomic numbers and amounts of a composition of plain elements with valid amounts.

    None (defer to ``parse_composition``) for species with oxidation states, dummy
    species, and amounts that ``parse_composition`` rejects.
    """
    zs, amounts = [], []
    for element, amount in composition.items():
        if type(element) is not Element or not 0 < amount < math.inf:
            return None
        zs.append(element.Z)
        amounts.append(float(amount))
    return (tuple(zs), tuple(amounts)) if zs else None


def parse_one(item: object) -> Parsed | CompositionError:
    """Parse one formula or composition, returning the error instead of raising it."""
    if type(item) is str:
        parsed = fast_parse(item)
        if parsed is not None:
            return parsed
    elif type(item) is Composition:
        parsed = _element_amounts(item)
        if parsed is not None:
            return parsed
    try:
        return composition_to_parsed(item, parse_composition(item))
    except CompositionError as exc:
        # A bare copy: the caught error's traceback holds this frame and, through it, the
        # caller's batch that stores the error, a cycle that keeps whole batches alive
        # until a full garbage collection (gigabytes when streaming millions of rows).
        return CompositionError(exc.text, exc.reason)


@dataclass(frozen=True)
class Block:
    """Distinct compositions that have the same number of elements ``k``.

    ``rows`` index the distinct compositions of the batch; ``z`` (m, k) holds atomic
    numbers and ``amounts`` (m, k) the element amounts. Blocks returned by ``encode`` are
    canonical (see ``canonicalise``): ascending Z, amounts of the smallest integer formula
    (or rounded atomic fractions). Features only use ratios of amounts, so for a formula
    written as its smallest integer formula these are matminer's amounts.
    """

    rows: np.ndarray
    z: np.ndarray
    amounts: np.ndarray


@dataclass(frozen=True)
class Encoded:
    """A batch of formulas reduced to distinct compositions.

    ``codes[i]`` is the distinct-entry index of input row ``i``. Equal strings share an
    entry; every non-string input gets its own. Entries that failed to parse appear in no
    block, and ``failures`` maps each input row that failed to its error.
    """

    n_distinct: int
    codes: np.ndarray
    blocks: tuple[Block, ...]
    failures: dict[int, CompositionError]


def encode(items: Iterable[object], canonical: bool = True) -> Encoded:
    """Parse every distinct formula once and group the compositions by size.

    ``canonical=False`` keeps the amounts and element order as parsed (for checking the
    parser against ``parse_composition``); features are always computed on canonical
    blocks.
    """
    items = items if isinstance(items, list) else list(items)
    index: dict[str, int] = {}
    if all(type(item) is str for item in items):
        # Common case: all strings; dict.setdefault assigns codes in first-seen order.
        codes = [index.setdefault(item, len(index)) for item in items]  # type: ignore[arg-type]
        others: list[tuple[int, object]] = []
    else:
        codes, others = [], []
        for item in items:
            if type(item) is str:
                codes.append(index.setdefault(item, len(index)))
            else:
                codes.append(-1 - len(others))  # placeholder, fixed below
                others.append((len(codes) - 1, item))
    strings = list(index)
    n_strings = len(strings)
    code_array = np.asarray(codes, dtype=np.intp)
    for number, (row, _) in enumerate(others):
        code_array[row] = n_strings + number

    blocks, deferred = _batch_parse(strings)
    parsed: dict[int, Parsed] = {}
    errors: dict[int, CompositionError] = {}
    for code in deferred:
        result = parse_one(strings[code])
        if isinstance(result, CompositionError):
            errors[code] = result
        else:
            parsed[code] = result
    for number, (_, item) in enumerate(others):
        result = parse_one(item)
        if isinstance(result, CompositionError):
            errors[n_strings + number] = result
        else:
            parsed[n_strings + number] = result

    merged = _merge_blocks(blocks, _group_by_size(parsed))
    failures: dict[int, CompositionError] = {}
    if errors:
        failed_rows = np.flatnonzero(np.isin(code_array, list(errors)))
        failures = {int(row): errors[int(code_array[row])] for row in failed_rows}
    return Encoded(
        n_distinct=n_strings + len(others),
        codes=code_array,
        blocks=tuple(canonicalise(block) if canonical else block for block in merged),
        failures=failures,
    )


def canonicalise(block: Block) -> Block:
    """The block with each row's elements sorted by Z and its amounts made canonical.

    Why: sums over elements in a different order, or of amounts at a different scale,
    differ in the last bit, and tree models compare float32 thresholds, so notations of
    one composition could otherwise get different predictions.
    """
    order = np.argsort(block.z, axis=1, kind="stable")
    z = np.take_along_axis(block.z, order, axis=1)
    amounts, _ = canonical_amounts(np.take_along_axis(block.amounts, order, axis=1))
    return Block(rows=block.rows, z=z, amounts=amounts)


_SYMBOL_SPLIT = re.compile(r"([A-Z][a-z]*)", re.ASCII)
_AMOUNT_TEXT = re.compile(_AMT, re.ASCII)


def _batch_parse(strings: list[str]) -> tuple[list[Block], list[int]]:
    """Parse the plain formulas among ``strings`` at once; return the rest's indices.

    Formulas made only of element symbols and amounts, each element written once, are
    split on element symbols in one regular-expression pass over the newline-joined batch;
    the text after each symbol (its amount, and at a formula's end the newline) is
    interpreted once per distinct text, and the rest is numpy. Amounts are
    ``float(text)``, exactly as pymatgen reads them. Anything else (parentheses, repeated
    elements, unknown symbols, other characters, amounts the reference parser rejects)
    is returned for one-by-one parsing.
    """
    n = len(strings)
    text = "\n".join(strings)
    if n == 0 or text.count("\n") != n - 1:  # a formula containing a newline: no batch
        return [], list(range(n))
    parts = _SYMBOL_SPLIT.split(text)
    symbols, gaps = parts[1::2], parts[2::2]
    deferred = np.fromiter(map(len, strings), dtype=np.intp, count=n) > MAX_FORMULA_LENGTH
    # Text before the first symbol: formulas without symbols, then a prefix of the next.
    first_row = parts[0].count("\n")
    if parts[0].rsplit("\n", 1)[-1] and first_row < n:
        deferred[first_row] = True
    if not symbols:
        return [], list(range(n))

    gap_ids, distinct_gaps = _first_positions(gaps)
    amount_of_gap, newlines_of_gap, junk_of_gap = _read_gaps(list(distinct_gaps))
    amounts = _spread(amount_of_gap, distinct_gaps, len(gaps))[gap_ids]
    newlines = _spread(newlines_of_gap, distinct_gaps, len(gaps))[gap_ids]
    row = first_row + np.concatenate(([0], np.cumsum(newlines[:-1])))
    # After the last newline of a gap comes a prefix of the next formula's text.
    deferred[(row + newlines)[_spread(junk_of_gap, distinct_gaps, len(gaps))[gap_ids]]] = True

    symbol_ids, distinct_symbols = _first_positions(symbols)
    z_of_symbol = np.array([Z_OF.get(symbol, 0) for symbol in distinct_symbols], dtype=np.intp)
    z = _spread(z_of_symbol, distinct_symbols, len(symbols))[symbol_ids]
    # NaN amounts mark unreadable amount text.
    bad = (z == 0) | ~(amounts >= _AMOUNT_TOLERANCE) | ~(amounts < math.inf)
    deferred[row[bad]] = True
    counts = np.bincount(row, minlength=n)
    deferred[(counts == 0) | (counts > MAX_ELEMENTS)] = True
    # A repeated element needs summing in pymatgen's order: leave it to fast_parse.
    order = np.lexsort((z, row))
    repeated = (row[order][1:] == row[order][:-1]) & (z[order][1:] == z[order][:-1])
    deferred[row[order][1:][repeated]] = True

    keep = ~deferred[row]
    row, z, amounts = row[keep], z[keep], amounts[keep]
    counts = np.where(deferred, 0, counts)
    blocks = []
    for k in np.unique(counts[counts > 0]):
        in_block = counts[row] == k
        rows = np.flatnonzero(counts == k)
        size = (rows.size, int(k))
        blocks.append(Block(rows=rows, z=z[in_block].reshape(size),
                            amounts=amounts[in_block].reshape(size)))
    return blocks, np.flatnonzero(deferred).tolist()


def _first_positions(items: list[str]) -> tuple[np.ndarray, dict[str, int]]:
    """For each item, the position of its first occurrence; and {item: that position}."""
    first: dict[str, int] = {}
    positions = np.fromiter(map(first.setdefault, items, itertools.count()), np.intp, len(items))
    return positions, first


def _spread(values: np.ndarray, first: dict[str, int], size: int) -> np.ndarray:
    """Place per-distinct-item values at their first positions in an array of ``size``."""
    spread = np.zeros(size, dtype=values.dtype)
    spread[np.fromiter(first.values(), np.intp, len(first))] = values
    return spread


def _read_gaps(gaps: list[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Amount (NaN if unreadable), newline count and trailing text of each distinct gap."""
    amounts = np.empty(len(gaps))
    newlines = np.empty(len(gaps), dtype=np.intp)
    junk = np.empty(len(gaps), dtype=bool)
    for index, gap in enumerate(gaps):
        pieces = gap.split("\n")
        amount = pieces[0]
        if not amount:
            amounts[index] = 1.0
        elif _AMOUNT_TEXT.fullmatch(amount):
            amounts[index] = float(amount)
        else:
            amounts[index] = np.nan
        newlines[index] = len(pieces) - 1
        junk[index] = len(pieces) > 1 and pieces[-1] != ""
    return amounts, newlines, junk


def _group_by_size(parsed: dict[int, Parsed]) -> list[Block]:
    by_size: dict[int, list[int]] = {}
    for code, (zs, _) in parsed.items():
        by_size.setdefault(len(zs), []).append(code)
    blocks = []
    for k in sorted(by_size):
        rows = by_size[k]
        z = np.array([parsed[code][0] for code in rows], dtype=np.intp).reshape(len(rows), k)
        amounts = np.array([parsed[code][1] for code in rows], dtype=np.float64).reshape(
            len(rows), k
        )
        blocks.append(Block(rows=np.asarray(rows, dtype=np.intp), z=z, amounts=amounts))
    return blocks


def _merge_blocks(*groups: list[Block]) -> tuple[Block, ...]:
    """One block per number of elements, concatenating blocks of equal size."""
    by_size: dict[int, list[Block]] = {}
    for group in groups:
        for block in group:
            by_size.setdefault(block.z.shape[1], []).append(block)
    merged = []
    for k in sorted(by_size):
        parts = by_size[k]
        if len(parts) == 1:
            merged.append(parts[0])
        else:
            merged.append(
                Block(
                    rows=np.concatenate([b.rows for b in parts]),
                    z=np.concatenate([b.z for b in parts]),
                    amounts=np.concatenate([b.amounts for b in parts]),
                )
            )
    return tuple(merged)
