"""Data commands: ``datasets`` (the shipped datasets) and ``featurize`` (descriptor columns
for every row of a table). Thin layers over ``matgenome.datasets`` and ``matgenome.batch``.
"""

from __future__ import annotations

import argparse
import textwrap

from matgenome.cli.common import (
    Command,
    add_batch_args,
    batch_options,
    checked_paths,
    count_rows,
    output_metadata,
    progress,
)
from matgenome.errors import InputError

# --- datasets ----------------------------------------------------------------------------


def _datasets_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--show", metavar="NAME", help="print the first rows of one dataset")
    parser.add_argument("--rows", type=int, default=10, help="rows to show with --show")


def run_datasets(args: argparse.Namespace) -> int:
    from matgenome.datasets import list_datasets, load

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


# --- featurize ---------------------------------------------------------------------------


def _featurize_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("input", help="CSV/TSV/Excel/Parquet table with a formula column")
    parser.add_argument("--output", "-o", required=True, help="output table")
    parser.add_argument("--preset", default="magpie", help="feature preset, or several joined "
                        "with '+' (default magpie; see --list-presets)")
    parser.add_argument("--formula-column", help="formula column (detected when omitted)")
    add_batch_args(parser)


def run_featurize(args: argparse.Namespace) -> int:
    from matgenome.batch import featurize_file
    from matgenome.features import list_presets

    presets = list_presets()
    unknown = [p for p in args.preset.split("+") if p not in presets]
    if unknown:
        raise InputError(f"unknown preset {unknown[0]!r}; presets: {', '.join(presets)}")
    output = checked_paths(args)
    with progress(args, total=count_rows(args.input), unit="rows") as bar:
        summary = featurize_file(args.preset, args.input, output, **batch_options(args, bar),
                                 metadata=output_metadata(args, feature_preset=args.preset))
    print(summary.line(output, verb="featurized"))
    return 0


FEATURIZE = Command(
    "featurize",
    "matgenome featurize datasets/examples/candidates.csv --preset magpie -o features.csv",
    _featurize_args, run_featurize)
