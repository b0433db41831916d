"""Ranking options, their settings and the printing of a ranked table, shared by ``rank``
and ``screen`` (a thin layer over ``matgenome.screen``)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from matgenome.cli.options import add_constraint_args, constraints, positive_int
from matgenome.cli.output import output_metadata, print_top, write_sidecar
from matgenome.plots import plot_pareto
from matgenome.ranking.acquisition import ACQUISITIONS
from matgenome.screen import DEFAULT_ACQUISITION, RankSettings
from matgenome.table_writer import write_table

if TYPE_CHECKING:
    import pandas as pd

TOP_COLUMNS = ("rank", "formula", "family", "prediction", "uncertainty", "score", "in_domain",
               "known_value", "known_spread", "supply_risk", "pareto")


def add_rank_args(parser: argparse.ArgumentParser, acquisition: str = DEFAULT_ACQUISITION,
                  threshold: float | None = None) -> None:
    """The "ranking" options (read by :func:`rank_settings`); ``threshold`` is the default of
    --threshold."""
    group = parser.add_argument_group("ranking")
    group.add_argument("--acquisition", default=acquisition,
                       choices=ACQUISITIONS,
                       help="score: predicted mean, upper confidence bound, expected "
                       "improvement over the best measured value, probability of beating "
                       f"--threshold, or Citrine's MLI/MEI/MU (default {acquisition})")
    group.add_argument("--objective", default="max", choices=("max", "min", "target"),
                       help="maximise (default), minimise, or hit --target-value")
    group.add_argument("--threshold", dest="rank_threshold", type=float, default=threshold,
                       help="threshold for --acquisition pi, in model units "
                       "(e.g. -3 for 1 mS/cm with the default model)"
                       + (f"; default {threshold}" if threshold is not None else ""))
    group.add_argument("--target-value", type=float, help="value to hit with --objective target")
    group.add_argument("--tolerance", type=float, help="window around --target-value")
    group.add_argument("--kappa", type=float, default=RankSettings.kappa,
                       help="UCB exploration weight")
    add_constraint_args(group, "least Li atomic fraction")
    group.add_argument("--batch", type=int, default=0, metavar="N",
                       help="also propose a batch of N rows to measure next (columns "
                       "'batch', 'rule' and 'why'): a stratified cold start while no "
                       "measured value beats --threshold, else Thompson sampling from means "
                       "of random halves of the model's trees (chosen by "
                       "benchmarks/campaign_regimes.py); exploit picks stay inside the "
                       "model's domain; measured compositions are never proposed")
    group.add_argument("--top", type=positive_int, default=15,
                       help="rows to print (default 15)")
    group.add_argument("--plot", help="write the Pareto front (score vs supply risk) as PNG")


def rank_settings(args: argparse.Namespace) -> RankSettings:
    """The :class:`~matgenome.screen.RankSettings` of the ranking options."""
    acquisition = {"mean": "mean", "pi": "probability"}.get(args.acquisition, args.acquisition)
    return RankSettings(acquisition=acquisition, objective=args.objective,
                        threshold=args.rank_threshold, target=args.target_value,
                        tolerance=args.tolerance, kappa=args.kappa, constraints=constraints(args),
                        batch_size=args.batch, seed=getattr(args, "seed", 0))


def write_ranking(args, ranked: pd.DataFrame, output: Path, model, column: str) -> None:
    """The ranked table, its provenance record and, with --plot, its Pareto front."""
    meta = output_metadata(args, model, acquisition=args.acquisition, objective=args.objective)
    write_table(ranked, output, metadata=meta)
    if args.plot:
        plot_pareto(ranked, "supply_risk", "score", args.plot, label_column=column)
        write_sidecar(args.plot, meta)


def finish_ranking(args, ranked: pd.DataFrame, output: Path, model, column: str) -> None:
    """The printed top rows, the score's meaning, the proposed batch and the counts."""
    _print_ranked(ranked, args.top, model.target, column)
    print(f"score: {_describe_score(args)}")
    if "batch" in ranked:
        _print_batch(ranked, column)
    flagged = int((~ranked["in_domain"].astype(bool)).sum())
    print(f"{len(ranked)} rows read, {int(ranked['rank'].notna().sum())} ranked, "
          f"{flagged} outside the model's domain, "
          f"{int((ranked['error'] != '').sum())} not scored; written to {output}")


def _describe_score(args: argparse.Namespace) -> str:
    names = {"mean": "predicted value", "ucb": f"upper confidence bound (kappa {args.kappa})",
             "ei": "expected improvement over the best measured value",
             "mli": "probability of beating the best measured value",
             "mei": "predicted value (MEI)", "mu": "uncertainty (MU)"}
    if args.acquisition == "pi" and args.objective != "target":
        side = "above" if args.objective == "max" else "below"
        return f"probability that the true value lies {side} {args.rank_threshold}"
    if args.objective == "target":
        target = {"mean": f"closeness to {args.target_value}: -|prediction - "
                  f"{args.target_value}|",
                  "mei": f"closeness to {args.target_value}: -|prediction - "
                  f"{args.target_value}|",
                  "pi": f"probability that the true value lies within {args.target_value} "
                  f"± {args.tolerance}",
                  "ucb": f"optimistic closeness to {args.target_value}: {args.kappa} sd - "
                  f"|prediction - {args.target_value}|"}
        if args.acquisition in target:
            return target[args.acquisition]
    return names.get(args.acquisition, args.acquisition) + f", objective {args.objective}"


def _print_batch(ranked: pd.DataFrame, column: str) -> None:
    batch = ranked[ranked["batch"].notna()].sort_values("batch")
    shown = [c for c in ("batch", column, "rule", "rank", "prediction", "uncertainty",
                         "in_domain") if c in batch.columns]
    print_top(batch[shown], f"proposed batch of {len(batch)} to measure next (rule: exploit, "
              "explore or cold start; the output's 'why' column says why each was chosen):")


def _print_ranked(ranked: pd.DataFrame, n: int, target: str, column: str) -> None:
    top = ranked[ranked["rank"].notna()].sort_values("rank").head(n)
    shown = [c if c != "formula" else column for c in TOP_COLUMNS]
    shown = [c for c in shown if c in top.columns]
    print_top(top[shown], f"top {len(top)} candidates; prediction = {target}, "
              "uncertainty = 1 sd:")
