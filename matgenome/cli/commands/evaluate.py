"""``matgenome evaluate``: evaluate a model honestly on a shipped dataset or a user's table
(a thin layer over ``matgenome.evaluation``)."""

from __future__ import annotations

import argparse
import warnings
from pathlib import Path

import pandas as pd

from matgenome.censoring import censor_of, is_exact
from matgenome.classification import label_targets, resolve_task
from matgenome.cli.command import Command
from matgenome.cli.model_options import add_model_args, model_options
from matgenome.cli.options import add_reading_args, positive_int
from matgenome.cli.output import log, output_metadata, progress, write_sidecar
from matgenome.composition import parse_many
from matgenome.datasets import DATASETS
from matgenome.errors import InputError
from matgenome.evaluation import evaluate
from matgenome.evaluation.folds import MergedGroupsWarning
from matgenome.evaluation.splits import LINKED, PROTOCOLS
from matgenome.labelled import FIRST_DATA_ROW, read_labelled
from matgenome.plots import plot_evaluation
from matgenome.targets import normalise_target


def _evaluate_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("data", help="a shipped dataset (obelix, matbench_expt_gap, ...) or a "
                        "CSV/TSV/Excel/Parquet table")
    parser.add_argument("--protocol", choices=PROTOCOLS,
                        help="splits: a shipped dataset's official protocol by default; "
                        "kfold (random), group (GroupKFold by --group-column), logo "
                        "(leave-one-group-out by --group-column) or loco "
                        "(leave-one-cluster-out in descriptor space) for any table")
    parser.add_argument("--group-column", help="column to group by with --protocol group or "
                        "logo, e.g. family or doi")
    parser.add_argument("--linked", choices=LINKED, default="merge",
                        help="groups linked by a shared composition (group, logo): 'merge' "
                        "(default) holds them out together; 'drop' holds each out alone and "
                        "removes the linking compositions from that fold's training rows")
    parser.add_argument("--min-group-rows", type=positive_int, default=1, metavar="N",
                        help="with --protocol logo, hold out only groups with at least N "
                        "exact rows; smaller groups always train (default 1)")
    parser.add_argument("--n-splits", type=int, default=5, help="folds or clusters (5)")
    parser.add_argument("--no-baselines", dest="baselines", action="store_false",
                        help="skip the per-fold baselines (training median and plain extra "
                        "trees on Magpie descriptors, 500 trees)")
    add_reading_args(parser, formula="formula column of a table",
                     target="target column of a table", log10="evaluate log10 of the target")
    add_model_args(parser)
    parser.add_argument("--output", "-o", help="JSON result (versions, data hash, protocol, "
                        "metrics and per-row predictions)")
    parser.add_argument("--plot", metavar="DIR", help="write parity, residual and "
                        "calibration PNGs to DIR")


def run_evaluate(args: argparse.Namespace) -> int:
    data = args.data if args.data in DATASETS else _evaluation_table(args)
    if args.protocol in ("group", "logo") and not args.group_column:
        raise InputError(f"--protocol {args.protocol} needs --group-column (e.g. family or "
                         "doi)")
    if args.linked != "merge" and args.protocol not in ("group", "logo"):
        raise InputError("--linked applies to --protocol group or logo")
    log.info("evaluating on %s with protocol %s", args.data, args.protocol or "official")
    splits = 1 if (args.protocol or args.data) == "obelix" else args.n_splits
    if args.protocol == "logo":
        splits = None  # one split per group large enough, known once the table is read
    with progress(args, total=splits, unit="splits") as bar, warnings.catch_warnings():
        # Reported below as the command's warning lines, from the result.
        warnings.simplefilter("ignore", MergedGroupsWarning)
        result = evaluate(data, protocol=args.protocol, group_column=args.group_column,
                          n_splits=args.n_splits, random_state=args.seed,
                          output=args.output, progress=bar.update,
                          features=args.preset, model_options=_evaluation_options(args, data),
                          linked=args.linked, min_group_rows=args.min_group_rows,
                          baselines=args.baselines)
    for message in result.warnings:
        log.warning("%s", message)
    print(result.table())
    meta = output_metadata(args, recipe=args.recipe, protocol=args.protocol or "official",
                           data=args.data, seed=args.seed)
    if args.output:
        write_sidecar(args.output, meta)
    if args.plot and "classification" in result.metrics:
        log.warning("--plot draws parity plots of regressions; the reliability table of "
                    "the classifier is in the result")
    elif args.plot:
        _plot_evaluation(result, args.plot, _evaluation_label(args, data), meta)
    rows = len(result.predictions)
    print(f"{rows} predictions over {len(result.fold_metrics) or 1} split(s)"
          + (f"; result written to {args.output}" if args.output else ""))
    return 0


def _evaluation_options(args: argparse.Namespace, data: str | pd.DataFrame) -> dict:
    options = model_options(args)
    if not isinstance(data, str) and args.target_column:
        options["target"] = data.attrs.get("target")  # set by _evaluation_table
    return options


def _evaluation_table(args: argparse.Namespace) -> pd.DataFrame:
    """A table to evaluate on, read as ``train`` reads it (``matgenome.labelled``): rows
    with an invalid formula or an unusable target are left out with a warning that names
    their spreadsheet rows; the other columns (groups, papers) are kept."""
    if not args.target_column:
        raise InputError("--target-column is required for a table")
    data = read_labelled(args.data, formula_column=args.formula_column,
                         target_column=args.target_column, log10=args.log10,
                         target_unit=args.target_unit)
    task = resolve_task(data.targets, args.task)
    if task == "classification":  # labels: 1.0 for the positive class, 0.0 for the other
        data.targets, labels = label_targets(data.targets.raw or [], args.positive)
        log.info("classification target: %s", labels.describe())
    _, formula_errors = parse_many(data.formulas.tolist())
    errors = [f or t for f, t in zip(formula_errors, data.targets.errors, strict=True)]
    kept = [not e for e in errors]
    frame = data.table.rename(columns={data.formulas.name: "formula"})[kept]
    frame = frame.reset_index(drop=True)
    frame["target"] = data.targets.values[kept]
    frame["censor"] = data.targets.censor[kept]
    frame.attrs["dataset"] = Path(args.data).name
    frame.attrs["task"] = task
    frame.attrs["target"] = data.target
    _warn_left_out(errors)
    return frame


def _warn_left_out(errors: list[str]) -> None:
    """One warning for the rows left out, by spreadsheet row number, with one reason."""
    bad = [i for i, error in enumerate(errors) if error]
    if bad:
        rows = ", ".join(str(i + FIRST_DATA_ROW) for i in bad[:5])
        log.warning("left out %d rows with an invalid formula or unusable target (rows %s%s), "
                    "e.g. row %d: %s", len(bad), rows, ", ..." if len(bad) > 5 else "",
                    bad[0] + FIRST_DATA_ROW, errors[bad[0]])


def _evaluation_label(args: argparse.Namespace, data: str | pd.DataFrame) -> str:
    """The target's display label: a shipped dataset's, or the table's column and unit."""
    if isinstance(data, str):
        info = DATASETS[args.data]
        return normalise_target({"name": info.target, "unit": info.unit})["label"]
    return data.attrs["target"]["label"]


def _plot_evaluation(result, directory: str, label: str, meta: dict) -> None:
    predictions = result.predictions
    predictions = predictions[is_exact(censor_of(predictions))]
    std = predictions.get("y_std")
    for path in plot_evaluation(predictions["y_true"], predictions["y_pred"], std, directory,
                                quantity=label):
        write_sidecar(path, meta)
        print(f"wrote {path}")


EVALUATE = Command(
    "evaluate",
    "matgenome evaluate obelix --plot eval_plots -o obelix_eval.json",
    _evaluate_args, run_evaluate)


EVALUATE = Command(
    "evaluate",
    "matgenome evaluate obelix --plot eval_plots -o obelix_eval.json",
    _evaluate_args, run_evaluate)
