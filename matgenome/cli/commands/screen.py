"""``matgenome screen``: generate candidates from the seed families, predict, rank, write a
table and print the top (a thin layer over ``matgenome.generation`` and
``matgenome.screen``)."""

from __future__ import annotations

import argparse

import pandas as pd

from matgenome.cli.command import Command
from matgenome.cli.generation import add_generation_args, generate
from matgenome.cli.output import log, print_top, stages
from matgenome.cli.ranking import add_rank_args, finish_ranking, rank_settings, write_ranking
from matgenome.modelfile import load_model
from matgenome.screen import SCREEN_THRESHOLD, new_first, rank_candidates
from matgenome.table_writer import check_output_path

MEASURED_COLUMNS = ("formula", "family", "known_value", "known_spread", "known_count",
                    "known_bound", "prediction", "uncertainty")


def _screen_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--output", "-o", default="screen_results.csv",
                        help="ranked candidates (default screen_results.csv)")
    parser.add_argument("--model", help="model directory (default: shipped OBELiX model)")
    add_generation_args(parser)
    add_rank_args(parser, threshold=SCREEN_THRESHOLD)


def run_screen(args: argparse.Namespace) -> int:
    output = check_output_path(args.output, [])
    settings = rank_settings(args)
    with stages(args, ("generating candidates", "scoring and ranking", "writing")) as bar:
        model = load_model(args.model)
        # Whether a candidate was measured is the model's lookup (rank_candidates adds
        # 'measured' and the known_* columns), so generation's own 'known' is left out.
        candidates = generate(args, None).drop(columns="known")
        log.info("generated %d candidates from %s", len(candidates),
                 ", ".join(args.family) if args.family else "all seed families")
        bar.next()
        settings.new_only = True
        ranked = new_first(rank_candidates(model, candidates, "formula", settings))
        bar.next()
        write_ranking(args, ranked, output, model, "formula")
    finish_ranking(args, ranked, output, model, "formula")
    _print_measured(ranked, args.top)
    return 0


def _print_measured(ranked: pd.DataFrame, n: int) -> None:
    """Candidates already in the training data, apart from the new ones."""
    measured = ranked[ranked["measured"].astype(bool)]
    if measured.empty:
        return
    shown = [c for c in MEASURED_COLUMNS if c in measured.columns]
    top = measured.sort_values("known_value", ascending=False, na_position="last").head(n)
    print_top(top[shown], f"\n{len(measured)} candidates were already measured (not ranked; "
              f"top {len(top)} by measured value, known_spread = sd of repeats):")


SCREEN = Command(
    "screen",
    "matgenome screen --family argyrodite --top 10",
    _screen_args, run_screen)
