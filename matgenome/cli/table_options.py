"""Table in, table out: the chunked-reading and Dask options of the row-by-row commands
(featurize, predict), their checks before any work, and the row count of the progress bar.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from matgenome.batch import count_rows as _count_rows
from matgenome.errors import InputError
from matgenome.table_writer import check_output_path
from matgenome.tables import check_input_path


def add_batch_args(parser: argparse.ArgumentParser) -> None:
    """Chunked reading and Dask options of the row-by-row commands (featurize, predict)."""
    parser.add_argument("--chunksize", type=int, default=50_000, help="rows per chunk")
    parser.add_argument("--scheduler", help="run chunks on Dask: 'local' for a local "
                        "cluster, or a scheduler address such as tcp://10.0.0.5:8786")
    parser.add_argument("--encoding", default="utf-8-sig", help="input text encoding")
    parser.add_argument("--jobs", "-j", type=int, default=-1, metavar="N",
                        help="cores to use on this machine (default -1: all; 1: one); the "
                        "output is the same for any N")


def checked_paths(args: argparse.Namespace) -> Path:
    """Check INPUT, --chunksize and --output before any work; the output path."""
    check_input_path(args.input)
    if args.chunksize < 1:
        raise InputError("--chunksize must be at least 1")
    if args.jobs == 0 or args.jobs < -1:
        raise InputError(f"--jobs must be a positive number of cores, or -1 for all; "
                         f"got {args.jobs}")
    return check_output_path(args.output, [args.input])


def count_rows(path: str) -> int | None:
    """Data rows of a table, for the progress bar's total (None when unknown)."""
    return _count_rows(Path(path))


def batch_options(args: argparse.Namespace, bar) -> dict:
    return {"formula_column": args.formula_column, "chunksize": args.chunksize,
            "scheduler": args.scheduler, "progress": bar.update, "encoding": args.encoding,
            "n_jobs": args.jobs}
