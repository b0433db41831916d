"""Argument groups several commands share: counts, element lists, how formulas and targets
are read from a table (``matgenome.labelled``) and composition constraints.

Light (argparse and :mod:`matgenome.labelled`, which imports no heavy library): every
command may import it.
"""

from __future__ import annotations

import argparse

from matgenome.labelled import LabelledData, read_labelled


def positive_int(text: str) -> int:
    """argparse type for counts such as --top: a whole number of at least 1."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be 1 or more, got {value}")
    return value


def split_elements(text: str) -> list[str]:
    """``Li, P,S`` -> ``["Li", "P", "S"]``."""
    return [e.strip() for e in text.split(",")]


# --- labelled data -----------------------------------------------------------------------


TARGET_UNIT_HELP = ("unit of the target cells, e.g. mS/cm; values are converted to the base "
                    "unit (S/cm, eV, MPa) before --log10")


def add_reading_args(parser, *, formula: str, target: str, log10: str,
                     unit: str = TARGET_UNIT_HELP) -> None:
    """How formulas and targets are read from a table (``matgenome.labelled``); the help
    texts name what the command does with them."""
    parser.add_argument("--formula-column", help=formula)
    parser.add_argument("--target-column", help=target)
    parser.add_argument("--log10", action="store_true", help=log10)
    parser.add_argument("--target-unit", help=unit)


def add_labelled_args(parser: argparse.ArgumentParser) -> None:
    """INPUT or --dataset, and how to read formulas and targets from INPUT."""
    parser.add_argument("input", nargs="?", help="CSV/TSV/Excel/Parquet table of formulas "
                        "and measured values")
    parser.add_argument("--dataset", help="use a shipped dataset instead (e.g. obelix)")
    add_reading_args(parser, formula="formula column (detected when omitted)",
                     target="target column (required with INPUT)",
                     log10="model log10 of the target")


def load_labelled(args: argparse.Namespace) -> LabelledData:
    """The table or dataset named by :func:`add_labelled_args`' options."""
    return read_labelled(args.input, dataset=args.dataset, formula_column=args.formula_column,
                         target_column=args.target_column, log10=args.log10,
                         target_unit=args.target_unit,
                         group_column=getattr(args, "group_column", None))


# --- composition constraints -------------------------------------------------------------


def add_constraint_args(group, fraction_help: str) -> None:
    """--require, --exclude, --max-elements, --min-li-fraction (read by :func:`constraints`)."""
    group.add_argument("--require", help="comma-separated elements every candidate must have")
    group.add_argument("--exclude", help="comma-separated elements no candidate may have")
    group.add_argument("--max-elements", type=int, help="most distinct elements")
    group.add_argument("--min-li-fraction", type=float, help=fraction_help)


def constraints(args: argparse.Namespace) -> dict[str, object]:
    """Composition constraints from --require, --exclude, --max-elements, --min-li-fraction
    (the keys of ``matgenome.ranking`` constraints)."""
    found: dict[str, object] = {}
    if args.require:
        found["required_elements"] = split_elements(args.require)
    if args.exclude:
        found["excluded_elements"] = split_elements(args.exclude)
    if args.max_elements:
        found["max_elements"] = args.max_elements
    if args.min_li_fraction is not None:
        found["min_mobile_fraction"] = args.min_li_fraction
    return found
