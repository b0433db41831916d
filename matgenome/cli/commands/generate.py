"""``matgenome generate``: candidate compositions from seed families, substitution or
charge-neutral grids (a thin layer over ``matgenome.generation``)."""

from __future__ import annotations

import argparse

from matgenome.cli.command import Command
from matgenome.cli.generation import add_generation_args, generate
from matgenome.cli.output import output_metadata
from matgenome.known import read_known
from matgenome.table_writer import write_table


def _generate_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--output", "-o", required=True, help="candidate table to write")
    parser.add_argument("--known", help="table (formula, target, optionally censor) or "
                        "shipped dataset name whose compositions are marked known with their "
                        "mean measured value (known only as an upper bound such as <1E-10: "
                        "marked known, no value)")
    add_generation_args(parser)


def run_generate(args: argparse.Namespace) -> int:
    known = read_known(args.known) if args.known else None
    candidates = generate(args, known)
    write_table(candidates, args.output, metadata=output_metadata(args, seed=args.seed))
    n_known = int(candidates["known"].sum()) if "known" in candidates else 0
    print(f"{len(candidates)} candidates ({n_known} already measured) written to "
          f"{args.output}")
    return 0


GENERATE = Command(
    "generate",
    "matgenome generate --family garnet --family argyrodite --known obelix -o candidates.csv",
    _generate_args, run_generate)
