"""``matgenome predict``: score every row of a table with a model (a thin layer over
``matgenome.batch`` and ``matgenome.modelfile``). Imports no training or evaluation code."""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd

from matgenome.batch import score_file
from matgenome.cli.command import Command
from matgenome.cli.options import positive_int
from matgenome.cli.output import output_metadata, print_top, progress
from matgenome.cli.table_options import add_batch_args, batch_options, checked_paths, count_rows
from matgenome.modelfile import load_model
from matgenome.tables import read_table


def _predict_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("input", help="CSV/TSV/Excel/Parquet table with a formula column")
    parser.add_argument("--output", "-o", required=True,
                        help="output table (.csv, .tsv, .xlsx or .parquet)")
    parser.add_argument("--model", help="model directory (default: the shipped OBELiX "
                        "conductivity model, log10 S/cm)")
    parser.add_argument("--formula-column", help="formula column (detected when omitted)")
    parser.add_argument("--top", type=positive_int, metavar="N",
                        help="also print the N rows with the highest prediction")
    add_batch_args(parser)


def run_predict(args: argparse.Namespace) -> int:
    output = checked_paths(args)
    model = load_model(args.model)
    with progress(args, total=count_rows(args.input), unit="rows") as bar:
        summary = score_file(model, args.input, output, **batch_options(args, bar),
                             metadata=output_metadata(args, model))
    if args.top:
        _print_highest(output, args.top, model.target,
                       "probability" if model.labels else "prediction")
    print(summary.line(output))
    return 0


def _print_highest(path: Path, n: int, target: str, column: str = "prediction") -> None:
    """The ``n`` rows of a scored table with the highest ``column`` (the prediction, or a
    classifier's probability of the positive class)."""
    frame = read_table(path)
    frame[column] = pd.to_numeric(frame[column], errors="coerce")
    frame["uncertainty"] = pd.to_numeric(frame["uncertainty"], errors="coerce")
    top = frame.dropna(subset=[column]).nlargest(n, column)
    print_top(top, f"top {len(top)} by predicted {target} (uncertainty = 1 standard "
              "deviation):", digits=".3f")


PREDICT = Command(
    "predict",
    "matgenome predict datasets/examples/candidates.csv --output scored.csv --top 10",
    _predict_args, run_predict)
