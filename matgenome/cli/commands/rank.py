"""``matgenome rank``: rank a table of candidates by an acquisition function (a thin layer
over ``matgenome.screen``)."""

from __future__ import annotations

import argparse

from matgenome.cli.command import Command
from matgenome.cli.output import stages
from matgenome.cli.ranking import add_rank_args, finish_ranking, rank_settings, write_ranking
from matgenome.modelfile import load_model
from matgenome.screen import rank_candidates
from matgenome.table_writer import check_output_path
from matgenome.tables import check_input_path, detect_formula_column, read_table


def _rank_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("input", help="table of candidate compositions")
    parser.add_argument("--output", "-o", required=True, help="ranked table to write")
    parser.add_argument("--model", help="model directory (default: shipped OBELiX model)")
    parser.add_argument("--formula-column", help="formula column (detected when omitted)")
    add_rank_args(parser)


def run_rank(args: argparse.Namespace) -> int:
    check_input_path(args.input)
    output = check_output_path(args.output, [args.input])
    settings = rank_settings(args)
    with stages(args, ("reading", "scoring and ranking", "writing")) as bar:
        frame = read_table(args.input)
        column = detect_formula_column(list(frame.columns), args.formula_column)
        model = load_model(args.model)
        bar.next()
        ranked = rank_candidates(model, frame, column, settings)
        bar.next()
        write_ranking(args, ranked, output, model, column)
    finish_ranking(args, ranked, output, model, column)
    return 0


RANK = Command(
    "rank",
    "matgenome rank datasets/examples/candidates.csv --acquisition pi --threshold -3 "
    "-o ranked.csv",
    _rank_args, run_rank)
