"""Read and write tables: CSV/TSV/Excel/Parquet, target values with units and censoring,
formula-column detection, and atomic writes.

Every cell is read as text, so the columns a user gave come back out unchanged (no float
round-off, no leading zeros lost, no ``NA`` turned into NaN).
"""

from __future__ import annotations

import json
import math
import os
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from matgenome.errors import InputError
from matgenome.files import atomic_path
from matgenome.provenance import METADATA_KEY, write_sidecar

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

# Conversion factors to the first unit of each group.
UNIT_FACTORS: dict[str, dict[str, float]] = {
    "conductivity": {"S/cm": 1.0, "mS/cm": 1e-3, "uS/cm": 1e-6, "µS/cm": 1e-6,
                     "S/m": 1e-2, "mS/m": 1e-5},
    "energy": {"eV": 1.0, "meV": 1e-3},
    "stress": {"MPa": 1.0, "GPa": 1e3, "kPa": 1e-3, "Pa": 1e-6},
}
_MISSING = {"", "nan", "na", "n/a", "none", "null", "-", "--", "?"}
_SUPERSCRIPTS = str.maketrans("⁰¹²³⁴⁵⁶⁷⁸⁹⁻⁺", "0123456789-+")
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
    text = str(cell).strip().translate(_SUPERSCRIPTS)
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
                             f"{_known_units()}")
        text = number.group()
    try:
        value = float(text)
    except ValueError:
        raise ValueError("not a number") from None
    if not math.isfinite(value):
        raise ValueError("missing or non-finite value")
    return value, direction, written


def normalise_unit(unit: str) -> str:
    """One spelling per unit: ``S cm-1``, ``S·cm⁻¹`` and ``S/cm`` are all ``S/cm``."""
    text = unit.strip().translate(_SUPERSCRIPTS).replace("μ", "µ").replace("−", "-")
    text = re.sub(r"[\s·*]+", "", text)
    text = re.sub(r"^(.*?)(cm|m)\^?-1$", r"\1/\2", text)
    return "uS/cm" if text == "µS/cm" else text


def unit_group(unit: str) -> str | None:
    """The group of a unit (``conductivity``, ``energy``, ``stress``), None if unknown."""
    for name, group in UNIT_FACTORS.items():
        if unit in group:
            return name
    return None


def _stored_unit(unit: str | None, to_unit: str | None) -> str | None:
    """The unit values are converted to: ``to_unit``, or the base unit of ``unit``'s group."""
    if to_unit:
        return to_unit
    if not unit:
        return None
    group = unit_group(unit)
    return next(iter(UNIT_FACTORS[group])) if group else None


def _known_units() -> str:
    return ", ".join(u for group in UNIT_FACTORS.values() for u in group)


def unit_factor(unit: str, to_unit: str | None = None) -> float:
    """Factor converting values in ``unit`` to ``to_unit`` (default: the group's base unit)."""
    unit = normalise_unit(unit)
    for group in UNIT_FACTORS.values():
        if unit in group:
            target = normalise_unit(to_unit) if to_unit else next(iter(group))
            if target not in group:
                raise InputError(f"cannot convert {unit} to {target}")
            return group[unit] / group[target]
    raise InputError(f"unknown unit {unit!r}; known units: {_known_units()}")


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


def _read_text(path: Path, chunksize: int | None, encoding: str) -> Iterator[pd.DataFrame]:
    encoding = text_encoding(path, encoding)
    sep = _separator(path, TEXT_SUFFIXES.get(path.suffix.lower()), encoding)
    options = dict(
        sep=sep,
        dtype=str,
        keep_default_na=False,
        encoding=encoding,
        engine="python" if sep is None else "c",
        skip_blank_lines=True,
    )
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


# --- writing -------------------------------------------------------------------------


def check_output_path(output: str | os.PathLike, inputs: Sequence[str | os.PathLike]) -> Path:
    """Refuse an output path that is one of the inputs (it would destroy the input)."""
    output = Path(output)
    for source in inputs:
        source = Path(source)
        same = source.exists() and output.exists() and output.samefile(source)
        if same or output.resolve() == source.resolve():
            raise InputError(f"output {output} is the input file; choose another path",
                             parameters=("output",))
    if output.exists() and output.is_dir():
        raise InputError(f"output {output} is a directory; give a file path",
                         parameters=("output",))
    parent = output.parent if str(output.parent) else Path(".")
    if not parent.exists():
        raise InputError(f"the directory of output does not exist: {parent}",
                         parameters=("output",))
    if not os.access(parent, os.W_OK | os.X_OK):
        raise InputError(f"cannot write output {output}: no permission to create files "
                         f"in {parent}", parameters=("output",))
    return output


class TableWriter:
    """Write a table chunk by chunk to CSV/TSV (streamed) or Excel/Parquet, atomically.

    With ``metadata`` (see ``matgenome.provenance``), the record is written to the sidecar
    ``<path>.meta.json`` once the table is in place, and also inside Parquet (key-value
    metadata) and Excel (the workbook's description property) files.
    """

    def __init__(self, path: str | os.PathLike,
                 metadata: dict[str, object] | None = None) -> None:
        self.path = Path(path)
        self.metadata = metadata
        self.suffix = self.path.suffix.lower()
        self._context = atomic_path(self.path)
        self._tmp: Path | None = None
        self._held: list[pd.DataFrame] = []
        self._header_written = False
        self.rows = 0

    def __enter__(self) -> TableWriter:
        self._tmp = self._context.__enter__()
        return self

    def write(self, chunk: pd.DataFrame) -> None:
        self.rows += len(chunk)
        if self.suffix in EXCEL_SUFFIXES or self.suffix in PARQUET_SUFFIXES:
            self._held.append(chunk)
            return
        sep = "\t" if self.suffix in {".tsv", ".tab"} else ","
        chunk.to_csv(self._tmp, sep=sep, index=False, mode="a" if self._header_written else "w",
                     header=not self._header_written)
        self._header_written = True

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self._finish()
        self._context.__exit__(exc_type, exc, tb)
        if exc_type is None and self.metadata is not None:
            write_sidecar(self.path, self.metadata)

    def _finish(self) -> None:
        assert self._tmp is not None
        if self.suffix in EXCEL_SUFFIXES:
            self._write_excel(pd.concat(self._held, ignore_index=True))
        elif self.suffix in PARQUET_SUFFIXES:
            self._write_parquet(pd.concat(self._held, ignore_index=True))
        elif not self._header_written:
            self._tmp.write_text("")

    def _write_excel(self, frame: pd.DataFrame) -> None:
        with pd.ExcelWriter(self._tmp, engine="openpyxl") as excel:
            excel_cells(neutralise_formulas(frame)).to_excel(excel, index=False)
            if self.metadata is not None:
                excel.book.properties.description = json.dumps(self.metadata, sort_keys=True)

    def _write_parquet(self, frame: pd.DataFrame) -> None:
        if self.metadata is None:
            frame.to_parquet(self._tmp, index=False)
            return
        import pyarrow as pa
        import pyarrow.parquet as pq

        table = pa.Table.from_pandas(frame, preserve_index=False)
        extra = {METADATA_KEY.encode(): json.dumps(self.metadata, sort_keys=True).encode()}
        table = table.replace_schema_metadata({**(table.schema.metadata or {}), **extra})
        pq.write_table(table, self._tmp)


def write_table(frame: pd.DataFrame, path: str | os.PathLike,
                metadata: dict[str, object] | None = None) -> None:
    """Write a whole table atomically (format from the file suffix); with ``metadata``, its
    provenance record too (see ``TableWriter``)."""
    with TableWriter(path, metadata=metadata) as writer:
        writer.write(frame)


def neutralise_formulas(frame: pd.DataFrame) -> pd.DataFrame:
    """Prefix text cells starting with = + - @ with a quote so spreadsheets show them as text.

    Numbers (including negative ones) are left alone: only cells that are not numbers can
    be read by a spreadsheet as a formula.
    """
    out = frame.copy()
    for column in out.columns:
        if out[column].dtype == object or pd.api.types.is_string_dtype(out[column]):
            out[column] = out[column].map(_neutralise_cell)
    return out


def _neutralise_cell(value: object) -> object:
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        try:
            float(value)
            return value
        except ValueError:
            return "'" + value
    return value


# A plain decimal number as a spreadsheet shows one: no leading zeros (an ID such as
# "007" stays text), optional sign, fraction and exponent.
_PLAIN_NUMBER = re.compile(r"[-+]?(0|[1-9]\d*)(\.\d+)?([eE][-+]?\d+)?")
_MAX_EXACT_DIGITS = 15  # longer integers (e.g. barcodes) would lose digits as floats


def excel_cells(frame: pd.DataFrame) -> pd.DataFrame:
    """Turn text cells that hold plain numbers back into numbers for a spreadsheet.

    Tables are read as text so that no cell is altered; written to Excel as text, the
    user's numeric cells would become text cells that formulas and sorting treat as text.
    """
    out = frame.copy()
    for column in out.columns:
        if out[column].dtype == object or pd.api.types.is_string_dtype(out[column]):
            out[column] = out[column].map(_excel_cell).astype(object)
    return out


def _excel_cell(value: object) -> object:
    if not isinstance(value, str) or not _PLAIN_NUMBER.fullmatch(value):
        return value
    if re.fullmatch(r"[-+]?\d+", value):
        digits = len(value.lstrip("+-"))
        return int(value) if digits <= _MAX_EXACT_DIGITS else value
    number = float(value)
    return number if math.isfinite(number) else value
