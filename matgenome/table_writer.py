"""Write tables atomically: CSV/TSV streamed chunk by chunk, Excel and Parquet whole, with
an optional provenance record; cells a spreadsheet would read as formulas are neutralised
and text numbers written back as numbers to Excel.
"""

from __future__ import annotations

import json
import math
import os
import re
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from matgenome.errors import InputError
from matgenome.files import atomic_path
from matgenome.provenance import METADATA_KEY, write_sidecar
from matgenome.tables import EXCEL_SUFFIXES, PARQUET_SUFFIXES


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
