"""A CSV file cut into blocks of whole records, parsed and formatted where they are scored.

On Dask the client only reads the input's bytes, cuts them at record boundaries and
appends the workers' CSV text to the output in order: parsing and, above all, formatting
the floats of the output (a large share of the work per row) happen on the workers, so
the client does not become the bottleneck as workers are added.

A newline ends a record unless it is inside a quoted field; with CSV's doubled-quote
escaping that is exactly when the number of quote characters before it (since the start
of the data) is odd, so cutting needs no parsing.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO

import numpy as np
import pandas as pd

from matgenome.errors import InputError

NEWLINE, QUOTE = ord("\n"), ord('"')
READ_BYTES = 1 << 23  # read size: large enough that numpy's scan dominates, small in memory
# Encodings in which the bytes of a newline and a quote never occur inside a character.
BYTE_SAFE_ENCODINGS = frozenset({"utf-8", "utf8", "utf-8-sig", "utf_8", "utf_8_sig"})


@dataclass(frozen=True)
class Block:
    """Whole records of the input: their bytes, byte offset and 1-based first line."""

    data: bytes
    offset: int
    first_line: int


def record_ends(data: bytes, inside_quotes: bool = False) -> tuple[np.ndarray, bool]:
    """Positions in ``data`` of the newlines that end a record, and whether ``data`` ends
    inside a quoted field (``inside_quotes``: whether it starts inside one)."""
    array = np.frombuffer(data, dtype=np.uint8)
    newlines = np.flatnonzero(array == NEWLINE)
    quotes = np.flatnonzero(array == QUOTE)
    if len(quotes) == 0:
        return (newlines[:0] if inside_quotes else newlines), inside_quotes
    before = np.searchsorted(quotes, newlines) + int(inside_quotes)
    return newlines[before % 2 == 0], bool((len(quotes) + int(inside_quotes)) % 2)


def read_header(handle: BinaryIO) -> bytes:
    """The first record of ``handle`` (the header line, newline included)."""
    header, inside = b"", False
    while True:
        line = handle.readline()
        header += line
        _, inside = record_ends(line, inside)
        if not line or not inside:
            return header


def iter_blocks(handle: BinaryIO, rows: int, offset: int, first_line: int,
                read_bytes: int = READ_BYTES) -> Iterator[Block]:
    """The rest of ``handle`` in blocks of ``rows`` records (the last one may be shorter;
    a last line without a newline is kept). Memory: one block plus one read."""
    pending, ends, inside = b"", np.empty(0, dtype=np.intp), False
    while True:
        data = handle.read(read_bytes)
        if data:
            new_ends, inside = record_ends(data, inside)
            ends = np.concatenate([ends, new_ends + len(pending)])
            pending += data
        while len(ends) >= rows or (not data and pending):
            cut = int(ends[rows - 1]) + 1 if len(ends) >= rows else len(pending)
            block = pending[:cut]
            yield Block(block, offset, first_line)
            offset, first_line = offset + cut, first_line + block.count(b"\n")
            pending, ends = pending[cut:], ends[rows:] - cut
        if not data:
            return


def parse_block(header: bytes, block: Block, options: dict, path_name: str) -> pd.DataFrame:
    """The block's records as a table of text cells, read with ``options`` (those of
    ``pd.read_csv``) exactly as the whole file would be. Errors name the file's byte or
    line, not the block's."""
    try:
        block.data.decode(options["encoding"])
    except UnicodeDecodeError as exc:
        raise InputError(
            f"{path_name} is not valid UTF-8 (byte {block.offset + exc.start}); re-save it "
            "as UTF-8 or pass encoding (e.g. encoding='latin-1')",
            parameters=("encoding",)) from None
    try:
        frame = pd.read_csv(io.BytesIO(header + block.data), **options)
    except (pd.errors.ParserError, ValueError) as exc:
        # Line 1 of what was parsed is the header, line 2 the block's first line.
        text = re.sub(r"line (\d+)",
                      lambda m: f"line {block.first_line + int(m.group(1)) - 2}",
                      str(exc).strip().splitlines()[0] if str(exc).strip() else
                      type(exc).__name__)
        raise InputError(f"could not read {path_name}: {text}") from None
    if not isinstance(frame.index, pd.RangeIndex):
        # pandas reads a first row with one field more than the header as an index column:
        # in a block that is not the file's first row, it is a malformed row.
        raise InputError(f"could not read {path_name}: line {block.first_line} has more "
                         f"fields than the header ({frame.shape[1]})")
    return frame


def format_block(frame: pd.DataFrame, sep: str, header: bool) -> bytes:
    """``frame`` as the CSV bytes ``TableWriter`` would append for it (UTF-8)."""
    return frame.to_csv(None, sep=sep, index=False, header=header).encode("utf-8")
