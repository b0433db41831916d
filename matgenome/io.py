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

import warnings
from importlib import import_module
from typing import Any

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


def __getattr__(name: str) -> Any:
    try:
        module = MOVED[name]
    except KeyError:
        raise AttributeError(f"module 'matgenome.io' has no attribute {name!r}") from None
    warnings.warn(f"matgenome.io.{name} moved to {module}.{name}; import it from there "
                  "(matgenome.io will be removed in the next release)",
                  DeprecationWarning, stacklevel=2)
    return getattr(import_module(module), name)


def __dir__() -> list[str]:
    return sorted(name for name in MOVED if not name.startswith("_"))
