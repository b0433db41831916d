"""``matgenome featurize``: descriptor columns for every row of a table (a thin layer over
``matgenome.batch``)."""

from __future__ import annotations

import argparse

from matgenome.batch import featurize_file
from matgenome.cli.command import Command
from matgenome.cli.output import output_metadata, progress
from matgenome.cli.table_options import add_batch_args, batch_options, checked_paths, count_rows
from matgenome.errors import InputError
from matgenome.features import list_presets


def _featurize_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("input", help="CSV/TSV/Excel/Parquet table with a formula column")
    parser.add_argument("--output", "-o", required=True, help="output table")
    parser.add_argument("--preset", default="magpie", help="feature preset, or several joined "
                        "with '+' (default magpie; see --list-presets)")
    parser.add_argument("--formula-column", help="formula column (detected when omitted)")
    add_batch_args(parser)


def run_featurize(args: argparse.Namespace) -> int:
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
