"""Discovery-loop commands: ``generate``, ``rank``, ``screen`` and ``simulate``.

Each is a thin layer over ``matgenome.generation``, ``matgenome.screen`` and
``matgenome.simulation``; listed in ``matgenome.cli.main.COMMANDS``.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import TYPE_CHECKING

from matgenome.classification import TASKS
from matgenome.cli.common import (
    Command,
    add_constraint_args,
    add_labelled_args,
    constraints,
    load_labelled,
    log,
    output_metadata,
    positive_int,
    print_top,
    progress,
    split_elements,
    stages,
    write_sidecar,
)
from matgenome.errors import InputError
from matgenome.generation import DEFAULT_SUBSTITUTION_THRESHOLD, family_choices, load_seeds
from matgenome.ranking.acquisition import ACQUISITIONS
from matgenome.screen import DEFAULT_ACQUISITION, SCREEN_THRESHOLD, RankSettings
from matgenome.simulation import DEFAULT_STRATEGIES

# pandas and the science modules are imported inside the handlers (fast --help).
if TYPE_CHECKING:
    import pandas as pd

TOP_COLUMNS = ("rank", "formula", "family", "prediction", "uncertainty", "score", "in_domain",
               "known_value", "known_spread", "supply_risk", "pareto")
MEASURED_COLUMNS = ("formula", "family", "known_value", "known_spread", "known_count",
                    "known_bound", "prediction", "uncertainty")


# --- generate ----------------------------------------------------------------------------


def _generation_args(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("candidate generation")
    # Listed from the shipped seeds, the same source --family is checked against.
    group.add_argument("--family", action="append", help="seed family (repeatable; default "
                       f"all; aliases accepted, any case): {family_choices(load_seeds())}")
    group.add_argument("--method", action="append", choices=("doping", "substitution", "grid"),
                       help="generator (repeatable; default doping)")
    group.add_argument("--max-dopants", type=int, default=1, help="dopants per candidate")
    group.add_argument("--steps", type=int, default=5, help="amounts per dopant range")
    group.add_argument("--elements", help="comma-separated elements for --method grid")
    group.add_argument("--max-atoms", type=int, default=12, help="atoms per grid formula")
    group.add_argument("--substitution-threshold", type=float,
                       default=DEFAULT_SUBSTITUTION_THRESHOLD,
                       help="minimum substitution probability for --method substitution")
    group.add_argument("--seeds", help="seed YAML file or directory (default: shipped seeds/)")
    group.add_argument("--max-candidates", type=int, help="random subsample of this size")
    group.add_argument("--seed", type=int, default=0, help="random seed")


def _generate(args: argparse.Namespace, known: pd.DataFrame | None) -> pd.DataFrame:
    from matgenome.generation import generate_candidates

    elements = split_elements(args.elements) if args.elements else None
    methods = tuple(args.method or ("doping",))
    if "grid" in methods and not elements:
        raise InputError("--method grid needs --elements, e.g. --elements Li,P,S,Cl")
    return generate_candidates(
        families=args.family, methods=methods, max_dopants=args.max_dopants,
        steps=args.steps, known=known, seed=args.seed, seeds_path=args.seeds,
        substitution_threshold=args.substitution_threshold, grid_elements=elements,
        grid_max_atoms=args.max_atoms, max_candidates=args.max_candidates,
    )


def _generate_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--output", "-o", required=True, help="candidate table to write")
    parser.add_argument("--known", help="table (formula, target, optionally censor) or "
                        "shipped dataset name whose compositions are marked known with their "
                        "mean measured value (known only as an upper bound such as <1E-10: "
                        "marked known, no value)")
    _generation_args(parser)


def run_generate(args: argparse.Namespace) -> int:
    from matgenome.io import write_table
    from matgenome.known import read_known

    known = read_known(args.known) if args.known else None
    candidates = _generate(args, known)
    write_table(candidates, args.output, metadata=output_metadata(args, seed=args.seed))
    n_known = int(candidates["known"].sum()) if "known" in candidates else 0
    print(f"{len(candidates)} candidates ({n_known} already measured) written to "
          f"{args.output}")
    return 0


# --- rank and screen ---------------------------------------------------------------------


def _rank_settings_args(parser: argparse.ArgumentParser,
                        acquisition: str = DEFAULT_ACQUISITION,
                        threshold: float | None = None) -> None:
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


def _rank_settings(args: argparse.Namespace):
    from matgenome.screen import RankSettings

    acquisition = {"mean": "mean", "pi": "probability"}.get(args.acquisition, args.acquisition)
    return RankSettings(acquisition=acquisition, objective=args.objective,
                        threshold=args.rank_threshold, target=args.target_value,
                        tolerance=args.tolerance, kappa=args.kappa, constraints=constraints(args),
                        batch_size=args.batch, seed=getattr(args, "seed", 0))


def _rank_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("input", help="table of candidate compositions")
    parser.add_argument("--output", "-o", required=True, help="ranked table to write")
    parser.add_argument("--model", help="model directory (default: shipped OBELiX model)")
    parser.add_argument("--formula-column", help="formula column (detected when omitted)")
    _rank_settings_args(parser)


def run_rank(args: argparse.Namespace) -> int:
    from matgenome.io import check_input_path, check_output_path, detect_formula_column, read_table
    from matgenome.modelfile import load_model
    from matgenome.screen import rank_candidates

    check_input_path(args.input)
    output = check_output_path(args.output, [args.input])
    settings = _rank_settings(args)
    with stages(args, ("reading", "scoring and ranking", "writing")) as bar:
        frame = read_table(args.input)
        column = detect_formula_column(list(frame.columns), args.formula_column)
        model = load_model(args.model)
        bar.next()
        ranked = rank_candidates(model, frame, column, settings)
        bar.next()
        _write_ranking(args, ranked, output, model, column)
    _finish_ranking(args, ranked, output, model, column)
    return 0


def _write_ranking(args, ranked: pd.DataFrame, output: Path, model, column: str) -> None:
    from matgenome.io import write_table

    meta = output_metadata(args, model, acquisition=args.acquisition, objective=args.objective)
    write_table(ranked, output, metadata=meta)
    if args.plot:
        from matgenome.plots import plot_pareto

        plot_pareto(ranked, "supply_risk", "score", args.plot, label_column=column)
        write_sidecar(args.plot, meta)


def _finish_ranking(args, ranked: pd.DataFrame, output: Path, model, column: str) -> None:
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


def _screen_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--output", "-o", default="screen_results.csv",
                        help="ranked candidates (default screen_results.csv)")
    parser.add_argument("--model", help="model directory (default: shipped OBELiX model)")
    _generation_args(parser)
    _rank_settings_args(parser, threshold=SCREEN_THRESHOLD)


def run_screen(args: argparse.Namespace) -> int:
    from matgenome.io import check_output_path
    from matgenome.modelfile import load_model
    from matgenome.screen import new_first, rank_candidates

    output = check_output_path(args.output, [])
    settings = _rank_settings(args)
    with stages(args, ("generating candidates", "scoring and ranking", "writing")) as bar:
        model = load_model(args.model)
        # Whether a candidate was measured is the model's lookup (rank_candidates adds
        # 'measured' and the known_* columns), so generation's own 'known' is left out.
        candidates = _generate(args, None).drop(columns="known")
        log.info("generated %d candidates from %s", len(candidates),
                 ", ".join(args.family) if args.family else "all seed families")
        bar.next()
        settings.new_only = True
        ranked = new_first(rank_candidates(model, candidates, "formula", settings))
        bar.next()
        _write_ranking(args, ranked, output, model, "formula")
    _finish_ranking(args, ranked, output, model, "formula")
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


# --- simulate ----------------------------------------------------------------------------


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
    from matgenome.classification import resolve_task
    from matgenome.simulation import (
        simulate_discovery,
        simulation_data,
        simulation_model_factory,
    )

    labelled = load_labelled(args)
    threshold = None
    if resolve_task(labelled.targets, args.task) == "classification":
        from matgenome.classification import (
            simulation_classifier_data,
            simulation_classifier_factory,
        )

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
        result = simulate_discovery(
            data.X, data.y, factory, strategies=strategies, n_initial=args.initial,
            batch_size=args.batch_size, n_iterations=args.iterations, n_trials=args.trials,
            seed=args.seed, objective=args.objective, progress=bar.update,
            row_ids=data.row_ids, threshold=threshold,
        )
    summary = result.summary()
    print(summary.to_string(float_format=lambda v: f"{v:.3g}"))
    meta = output_metadata(args, recipe=recipe.name, feature_preset=recipe.features,
                           seed=args.seed)
    if args.output:
        from matgenome.files import atomic_path

        with atomic_path(args.output) as tmp:
            tmp.write_text(json.dumps(result.to_dict(), indent=2) + "\n")
        write_sidecar(args.output, meta)
    if args.plot:
        from matgenome.plots import plot_discovery_curves

        plot_discovery_curves(result, args.plot)
        write_sidecar(args.plot, meta)
    print(f"{len(data.y)} compositions, {args.trials} trials per strategy"
          + (f"; result written to {args.output}" if args.output else ""))
    return 0


# --- the commands of this module -----------------------------------------------------------

GENERATE = Command(
    "generate",
    "matgenome generate --family garnet --family argyrodite --known obelix -o candidates.csv",
    _generate_args, run_generate)
RANK = Command(
    "rank",
    "matgenome rank datasets/examples/candidates.csv --acquisition pi --threshold -3 "
    "-o ranked.csv",
    _rank_args, run_rank)
SCREEN = Command(
    "screen",
    "matgenome screen --family argyrodite --top 10",
    _screen_args, run_screen)
SIMULATE = Command(
    "simulate",
    "matgenome simulate --dataset obelix --strategies cold-thompson-half,greedy,random "
    "--trials 5 "
    "--plot curves.png -o simulation.json",
    _simulate_args, run_simulate)
