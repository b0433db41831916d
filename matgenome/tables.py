"""Read tables: CSV/TSV/Excel/Parquet as text cells, and find their columns.

Every cell is read as text, so the columns a user gave come back out unchanged (no float
round-off, no leading zeros lost, no ``NA`` turned into NaN). :func:`read_table` reads a
whole file, :func:`iter_table` streams it in chunks; a missing, unreadable, empty or
badly encoded file raises :class:`~matgenome.errors.InputError`. Writing is in
:mod:`matgenome.table_writer`.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from matgenome.errors import InputError

TEXT_SUFFIXES = {".csv": ",", ".tsv": "\t", ".tab": "\t", ".txt": None}
EXCEL_SUFFIXES = {".xlsx", ".xlsm", ".xls"}
PARQUET_SUFFIXES = {".parquet", ".pq"}

# Column names that hold a formula, in order of preference (compared case-insensitively,
# ignoring spaces, dashes and underscores).
FORMULA_COLUMN_NAMES = (
    "formula",
    "composition",
    "reducedcomposition",
    "reducedformula",
    "prettyformula",
    "formulapretty",
    "chemicalformula",
    "truecomposition",
    "compound",
    "material",
    "comp",
)


def detect_formula_column(columns: Sequence[str], requested: str | None = None) -> str:
    """Return the formula column: ``requested`` if given, else the best-known name."""
    columns = [str(c) for c in columns]
    if requested is not None:
        if requested not in columns:
            raise InputError(
                f"column {requested!r} not found; the input has columns: {_list(columns)}"
            )
        return requested
    keys = {_column_key(c): c for c in reversed(columns)}
    for name in FORMULA_COLUMN_NAMES:
        if name in keys:
            return keys[name]
    raise InputError(
        "could not find a formula column; pass formula_column. "
        f"The input has columns: {_list(columns)}", parameters=("formula_column",)
    )


def require_column(columns: Sequence[str], name: str) -> str:
    """Return ``name`` if it is a column, else raise InputError listing the columns."""
    if name not in [str(c) for c in columns]:
        raise InputError(f"column {name!r} not found; the input has columns: {_list(columns)}")
    return name


def _column_key(name: str) -> str:
    return re.sub(r"[\s_\-]+", "", name.strip().lower())


def _list(columns: Sequence[str]) -> str:
    return ", ".join(repr(c) for c in columns) if columns else "(none)"


def read_table(path: str | os.PathLike, encoding: str = "utf-8-sig") -> pd.DataFrame:
    """Read a whole CSV/TSV/Excel/Parquet file as text cells."""
    chunks = list(iter_table(path, chunksize=None, encoding=encoding))
    return chunks[0]


def iter_table(
    path: str | os.PathLike,
    chunksize: int | None = 100_000,
    encoding: str = "utf-8-sig",
) -> Iterator[pd.DataFrame]:
    """Yield a table in chunks of text cells (one chunk if ``chunksize`` is None).

    The first chunk is read before this returns, so a missing, unreadable or empty file
    raises InputError at once. Chunk indexes continue across chunks (0..n-1 overall).
    """
    path = Path(path)
    check_input_path(path)
    suffix = path.suffix.lower()
    if suffix in EXCEL_SUFFIXES:
        frames: Iterator[pd.DataFrame] = _slices(_read_excel(path), chunksize)
    elif suffix in PARQUET_SUFFIXES:
        frames = _slices(_read_parquet(path), chunksize)
    else:
        frames = _read_text(path, chunksize, encoding)
    first = _first_chunk(path, frames)
    return _chain(first, frames, path)


def check_input_path(path: str | os.PathLike) -> None:
    """Raise InputError unless ``path`` is an existing, readable, non-empty file."""
    path = Path(path)
    if not path.exists():
        raise InputError(f"input file not found: {path}")
    if path.is_dir():
        raise InputError(f"input is a directory, not a file: {path}")
    if not os.access(path, os.R_OK):
        raise InputError(f"input file is not readable: {path}")
    if path.stat().st_size == 0:
        raise InputError(f"input file is empty: {path}")


def _first_chunk(path: Path, frames: Iterator[pd.DataFrame]) -> pd.DataFrame:
    try:
        first = next(frames)
    except StopIteration:
        raise InputError(f"input file has a header but no rows: {path}") from None
    except UnicodeDecodeError as exc:
        raise InputError(
            f"{path} is not valid UTF-8 (byte {exc.start}); re-save it as UTF-8 or pass "
            "encoding (e.g. encoding='latin-1')", parameters=("encoding",)
        ) from None
    except (pd.errors.ParserError, pd.errors.EmptyDataError, ValueError, OSError) as exc:
        raise InputError(f"could not read {path}: {_short(exc)}") from None
    if first.shape[1] == 0:
        raise InputError(f"input file has no columns: {path}")
    if len(first) == 0:
        raise InputError(f"input file has a header but no rows: {path}")
    _check_headers(path, first.columns)
    return first


def _check_headers(path: Path, columns: pd.Index) -> None:
    names = [str(c) for c in columns]
    # pandas renames duplicated headers to 'name.1'; say so rather than guess.
    mangled = [c for c in names if re.fullmatch(r".+\.\d+", c) and c.rsplit(".", 1)[0] in names]
    if mangled:
        raise InputError(
            f"{path} has duplicated column headers ({_list(mangled)} repeat an earlier "
            "column); give every column a unique name"
        )


def _chain(
    first: pd.DataFrame, rest: Iterator[pd.DataFrame], path: Path
) -> Iterator[pd.DataFrame]:
    yield first
    try:
        yield from rest
    except UnicodeDecodeError as exc:
        raise InputError(
            f"{path} is not valid UTF-8 (byte {exc.start}); re-save it as UTF-8 or pass "
            "encoding (e.g. encoding='latin-1')", parameters=("encoding",)
        ) from None
    except (pd.errors.ParserError, ValueError, OSError) as exc:
        raise InputError(f"could not read {path}: {_short(exc)}") from None


def _short(exc: Exception) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__


# Byte-order marks, longest first (the UTF-32 LE mark starts with the UTF-16 LE one).
_BOMS = ((b"\xff\xfe\x00\x00", "utf-32"), (b"\x00\x00\xfe\xff", "utf-32"),
         (b"\xff\xfe", "utf-16"), (b"\xfe\xff", "utf-16"))
_SNIFF_BYTES = 64 * 1024


def text_encoding(path: Path, encoding: str = "utf-8-sig") -> str:
    """The encoding to read ``path`` with: a UTF-16/32 byte-order mark overrides UTF-8.

    Spreadsheet programs save "Unicode text" as UTF-16 with a BOM, which is not UTF-8.
    """
    if encoding.lower().replace("_", "-") not in {"utf-8", "utf8", "utf-8-sig"}:
        return encoding
    with open(path, "rb") as handle:
        head = handle.read(4)
    return next((name for bom, name in _BOMS if head.startswith(bom)), encoding)


def _separator(path: Path, sep: str | None, encoding: str) -> str | None:
    """The separator of a .csv: ``;`` when the header has more semicolons than commas.

    Spreadsheets in locales with a decimal comma save CSV with semicolons; read with
    commas, every row would be one cell.
    """
    if sep != ",":
        return sep
    try:
        with open(path, encoding=encoding, errors="replace", newline="") as handle:
            header = handle.readline(_SNIFF_BYTES)
    except (OSError, LookupError):
        return sep  # the reader reports the problem
    return ";" if header.count(";") > header.count(",") else sep


def text_read_options(path: Path, encoding: str = "utf-8-sig") -> dict[str, Any]:
    """The ``pd.read_csv`` options a text table is read with: every cell as text, the
    separator of its suffix (or sniffed), the encoding its byte-order mark says."""
    encoding = text_encoding(path, encoding)
    sep = _separator(path, TEXT_SUFFIXES.get(path.suffix.lower()), encoding)
    return dict(
        sep=sep,
        dtype=str,
        keep_default_na=False,
        encoding=encoding,
        engine="python" if sep is None else "c",
        skip_blank_lines=True,
    )


def _read_text(path: Path, chunksize: int | None, encoding: str) -> Iterator[pd.DataFrame]:
    options = text_read_options(path, encoding)
    if chunksize is None:
        yield pd.read_csv(path, **options)
        return
    with pd.read_csv(path, chunksize=chunksize, **options) as reader:
        yield from reader


def _read_excel(path: Path) -> pd.DataFrame:
    try:
        return pd.read_excel(path, dtype=str, keep_default_na=False)
    except ImportError:
        raise InputError("reading Excel files needs openpyxl: pip install openpyxl") from None
    except Exception as exc:  # openpyxl raises many types for damaged files
        raise InputError(f"could not read Excel file {path}: {_short(exc)}") from None


def _read_parquet(path: Path) -> pd.DataFrame:
    try:
        frame = pd.read_parquet(path)
    except ImportError:
        raise InputError("reading Parquet files needs pyarrow: pip install pyarrow") from None
    except Exception as exc:  # pyarrow raises many types for damaged files
        raise InputError(f"could not read Parquet file {path}: {_short(exc)}") from None
    return frame.astype(str).where(frame.notna(), "")


def _slices(frame: pd.DataFrame, chunksize: int | None) -> Iterator[pd.DataFrame]:
    if chunksize is None or len(frame) <= chunksize:
        yield frame
        return
    for start in range(0, len(frame), chunksize):
        yield frame.iloc[start : start + chunksize]
