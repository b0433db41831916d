"""``matgenome datasets``: the shipped datasets (a thin layer over ``matgenome.datasets``)."""

from __future__ import annotations

import argparse
import textwrap

from matgenome.cli.command import Command
from matgenome.datasets import list_datasets, load


def _datasets_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--show", metavar="NAME", help="print the first rows of one dataset")
    parser.add_argument("--rows", type=int, default=10, help="rows to show with --show")


def run_datasets(args: argparse.Namespace) -> int:
    if args.show:
        frame = load(args.show)
        print(frame.head(args.rows).to_string(index=False))
        print(f"{len(frame)} rows; target in {frame.attrs['unit']}")
        return 0
    table = list_datasets()
    for row in table.itertuples(index=False):
        print(f"{row.name}  ({row.rows} rows, {row.task})")
        print(f"  target:   {row.target} [{row.unit}]")
        print(f"  licence:  {row.licence}")
        print(textwrap.fill(row.citation, width=96, initial_indent="  cite:     ",
                            subsequent_indent="            "))
    print(f"{len(table)} datasets; provenance in datasets/README.md")
    return 0


DATASETS = Command("datasets", "matgenome datasets\n  matgenome datasets --show obelix",
                   _datasets_args, run_datasets)
