"""Deprecated: the old home of table reading and writing, units and target cells.

Its names now live in the module of their job, and importing them from here still works
for one release with a ``DeprecationWarning``:

* :mod:`matgenome.tables`: ``read_table``, ``iter_table``, ``check_input_path``,
  ``text_encoding``, ``detect_formula_column``, ``require_column`` and the suffix and
  formula-column constants;
* :mod:`matgenome.table_writer`: ``TableWriter``, ``write_table``, ``check_output_path``,
  ``neutralise_formulas``, ``excel_cells``;
* :mod:`matgenome.units`: ``UNIT_FACTORS``, ``normalise_unit``, ``unit_group``,
  ``unit_factor``;
* :mod:`matgenome.target_values`: ``TargetValues``, ``parse_target_values``;
* :mod:`matgenome.errors`: ``InputError``.
"""

from __future__ import annotations

from matgenome._deprecation import moved

# Old name -> the module it moved to.
MOVED: dict[str, str] = {
    **dict.fromkeys(("TEXT_SUFFIXES", "EXCEL_SUFFIXES", "PARQUET_SUFFIXES",
                     "FORMULA_COLUMN_NAMES", "read_table", "iter_table", "check_input_path",
                     "text_encoding", "detect_formula_column", "require_column"),
                    "matgenome.tables"),
    **dict.fromkeys(("TableWriter", "write_table", "check_output_path", "neutralise_formulas",
                     "excel_cells"), "matgenome.table_writer"),
    **dict.fromkeys(("UNIT_FACTORS", "normalise_unit", "unit_group", "unit_factor"),
                    "matgenome.units"),
    **dict.fromkeys(("TargetValues", "parse_target_values", "_parse_target_cell"),
                    "matgenome.target_values"),
    "InputError": "matgenome.errors",
}


__getattr__ = moved(__name__, MOVED)


def __dir__() -> list[str]:
    return sorted(name for name in MOVED if not name.startswith("_"))
