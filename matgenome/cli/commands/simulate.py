"""``matgenome simulate``: a sequential-learning simulation of acquisition functions against
random picking (a thin layer over ``matgenome.simulation``)."""

from __future__ import annotations

import argparse
import json

from matgenome.classification import TASKS, resolve_task
from matgenome.cli.command import Command
from matgenome.cli.options import add_labelled_args, load_labelled
from matgenome.cli.output import log, output_metadata, progress, write_sidecar
from matgenome.files import atomic_path
from matgenome.plots import plot_discovery_curves
from matgenome.simulation import (
    DEFAULT_STRATEGIES,
    SimulationSettings,
    simulate_discovery,
    simulation_classifier_data,
    simulation_classifier_factory,
    simulation_data,
    simulation_model_factory,
)


def _simulate_args(parser: argparse.ArgumentParser) -> None:
    add_labelled_args(parser)
    parser.add_argument("--objective", choices=("max", "min"), default="max")
    parser.add_argument("--preset", default=None, help="feature preset (default: that of the "
                        "default recipe for the target)")
    parser.add_argument("--strategies", default=",".join(DEFAULT_STRATEGIES),
                        help="comma-separated strategies: cold-thompson-half (the default "
                        "rule of rank --batch and campaign propose: stratified cold start "
                        "until a target is measured, then Thompson sampling from means of "
                        "random halves of the trees), thompson-half, greedy (the best "
                        "predictions), the "
                        "acquisitions mean, ucb, ei, pi, mli, mei, mu (the best scores), a "
                        "'cold-' prefix on any of them, and random (default: "
                        f"{','.join(DEFAULT_STRATEGIES)})")
    parser.add_argument("--trials", type=int, default=20, help="seeded trials (default 20)")
    parser.add_argument("--initial", type=int, default=10,
                        help="random non-target starting rows (default 10)")
    parser.add_argument("--batch-size", type=int, default=5, help="picks per batch (5)")
    parser.add_argument("--iterations", type=int, default=12,
                        help="batches per trial (default 12: 60 experiments)")
    parser.add_argument("--n-estimators", type=int, default=100,
                        help="trees per model (default 100)")
    parser.add_argument("--seed", type=int, default=0, help="base random seed")
    parser.add_argument("--task", choices=TASKS, default="auto",
                        help="auto (default): a target of two labels (yes/no, 0/1, ...) is "
                        "simulated as a classification: targets are the positive rows, "
                        "ranked by their probability")
    parser.add_argument("--positive", metavar="LABEL", help="classification: the class "
                        "sought (default: the rarer class)")
    parser.add_argument("--output", "-o", help="JSON result file")
    parser.add_argument("--plot", help="PNG of the discovery curves")


def run_simulate(args: argparse.Namespace) -> int:
    labelled = load_labelled(args)
    threshold = None
    if resolve_task(labelled.targets, args.task) == "classification":
        data, labels = simulation_classifier_data(labelled, args.positive, args.preset)
        factory = simulation_classifier_factory(data.recipe, args.n_estimators, n_jobs=None)
        # A target is a measured positive; the models rank by its probability.
        threshold = 0.5
        log.info("classification target: %s; a target is a row labelled %r",
                 labels.describe(), labels.positive)
    else:
        data = simulation_data(labelled, args.preset)
        factory = simulation_model_factory(data.recipe, args.n_estimators, n_jobs=None)
    recipe = data.recipe
    log.info("simulating on %d compositions (repeats averaged; %d rows without a usable "
             "target or formula left out) with recipe %s on %s", len(data.y), data.left_out,
             recipe.name, recipe.features)

    strategies = [s.strip() for s in args.strategies.split(",")]
    with progress(args, total=args.trials * len(strategies), unit="runs") as bar:
        settings = SimulationSettings(
            strategies=strategies, n_initial=args.initial, batch_size=args.batch_size,
            n_iterations=args.iterations, n_trials=args.trials, seed=args.seed,
            objective=args.objective, threshold=threshold)
        result = simulate_discovery(data.X, data.y, factory, settings, progress=bar.update,
                                    row_ids=data.row_ids)
    summary = result.summary()
    print(summary.to_string(float_format=lambda v: f"{v:.3g}"))
    meta = output_metadata(args, recipe=recipe.name, feature_preset=recipe.features,
                           seed=args.seed)
    if args.output:
        with atomic_path(args.output) as tmp:
            tmp.write_text(json.dumps(result.to_dict(), indent=2) + "\n")
        write_sidecar(args.output, meta)
    if args.plot:
        plot_discovery_curves(result, args.plot)
        write_sidecar(args.plot, meta)
    print(f"{len(data.y)} compositions, {args.trials} trials per strategy"
          + (f"; result written to {args.output}" if args.output else ""))
    return 0


SIMULATE = Command(
    "simulate",
    "matgenome simulate --dataset obelix --strategies cold-thompson-half,greedy,random "
    "--trials 5 "
    "--plot curves.png -o simulation.json",
    _simulate_args, run_simulate)
