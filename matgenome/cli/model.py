"""Model commands: ``train``, ``predict``, ``evaluate``, ``build-default-model`` and
``model info``. Thin layers over ``matgenome.training``, ``matgenome.batch``,
``matgenome.evaluation``, ``matgenome.default_models`` and ``matgenome.modelfile``.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from matgenome.cli.common import (
    Command,
    add_batch_args,
    add_labelled_args,
    add_model_args,
    add_reading_args,
    batch_options,
    checked_paths,
    count_rows,
    load_labelled,
    log,
    model_options,
    output_metadata,
    positive_int,
    print_top,
    progress,
    stages,
    write_sidecar,
)
from matgenome.errors import InputError
from matgenome.evaluation.splits import LINKED, PROTOCOLS
from matgenome.labelled import FIRST_DATA_ROW

if TYPE_CHECKING:
    import pandas as pd

# --- train -------------------------------------------------------------------------------


def _train_args(parser: argparse.ArgumentParser) -> None:
    add_labelled_args(parser)
    add_model_args(parser)
    parser.add_argument("--group-column", help="column whose values (e.g. paper DOI) the "
                        "recipe-selection folds keep together")
    parser.add_argument("--mobile-ion", help="element every in-domain candidate must contain, "
                        "e.g. Li for a Li-ion conductivity model")
    parser.add_argument("--name", help="model name recorded in the model card")
    parser.add_argument("--output", "-o", required=True, help="model directory to write")


def run_train(args: argparse.Namespace) -> int:
    from matgenome.modelfile import save_model
    from matgenome.training import train_model

    with stages(args, ("reading the table", "training", "writing the model")) as bar:
        data = load_labelled(args)
        log.info("training on %d rows (recipe: %s)", len(data.formulas), args.recipe)
        bar.next()
        model, report = train_model(
            data.formulas, data.targets, **model_options(args), seed=args.seed,
            mobile_ion=args.mobile_ion, groups=data.groups, progress=bar.note,
            card={"name": args.name or Path(args.output).name, "target": data.target,
                  "source": data.source},
            first_row=FIRST_DATA_ROW,
        )
        bar.next()
        path = save_model(model, args.output)
    for reason, example in report.examples.items():
        log.warning("skipped %d rows: %s, e.g. %s", len(report.skipped[reason]), reason,
                    example)
    chosen = model.card["selection"]
    if model.labels:  # a classifier: say which class its probability is of
        labels = model.labels
        print(f"classification target: classes {labels['negative']!r} and "
              f"{labels['positive']!r}; predicting the probability of {labels['positive']!r} "
              f"({labels['positive_chosen_by']}; --positive LABEL to change); labels at "
              f"probability >= {labels['threshold']:.3g} (its training share)")
    print(f"trained on {report.summary()}; recipe {chosen['chosen']} "
          f"({chosen['protocol']}); model written to {path}")
    return 0


TRAIN = Command(
    "train",
    "matgenome train datasets/obelix/train.csv --formula-column 'Reduced Composition' "
    "--target-column 'Ionic conductivity (S cm-1)' --log10 --output my_model",
    _train_args, run_train)


# --- predict -----------------------------------------------------------------------------


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
    from matgenome.batch import score_file
    from matgenome.modelfile import load_model

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
    import pandas as pd

    from matgenome.io import read_table

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


# --- evaluate ----------------------------------------------------------------------------


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
    import warnings

    from matgenome.datasets import DATASETS
    from matgenome.evaluation import evaluate
    from matgenome.evaluation.folds import MergedGroupsWarning

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
    from matgenome.classification import label_targets, resolve_task
    from matgenome.composition import parse_many
    from matgenome.labelled import read_labelled

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
    from matgenome.datasets import DATASETS
    from matgenome.targets import normalise_target

    if isinstance(data, str):
        info = DATASETS[args.data]
        return normalise_target({"name": info.target, "unit": info.unit})["label"]
    return data.attrs["target"]["label"]


def _plot_evaluation(result, directory: str, label: str, meta: dict) -> None:
    from matgenome.censoring import censor_of, is_exact
    from matgenome.plots import plot_evaluation

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


# --- build-default-model -----------------------------------------------------------------


def _build_default_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--output", "-o", help="model directory (default: the shipped "
                        "models/obelix_conductivity)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")


def run_build_default(args: argparse.Namespace) -> int:
    from matgenome.default_models import build_default_model
    from matgenome.modelfile import load_model

    path = build_default_model(args.output, seed=args.seed)
    metrics = load_model(path).card["metrics"]
    print(f"model written to {path}")
    print(f"official-split check: MAE {metrics['mae']} log10(S/cm) on "
          f"{metrics['test_rows_scored']} test rows, 68% coverage {metrics['coverage_68']}")
    return 0


BUILD_DEFAULT_MODEL = Command(
    "build-default-model",
    "matgenome build-default-model --output /tmp/obelix_conductivity",
    _build_default_args, run_build_default)


# --- model info --------------------------------------------------------------------------


def _model_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("action", choices=("info",), help="info: show the model card summary")
    parser.add_argument("directory", nargs="?", help="model directory (default: the shipped "
                        "OBELiX conductivity model)")
    parser.add_argument("--json", action="store_true", help="print the summary as JSON")


def run_model(args: argparse.Namespace) -> int:
    import json

    from matgenome.modelfile import model_info

    info = model_info(args.directory)
    if args.json:
        print(json.dumps(info, indent=2, sort_keys=True))
        return 0
    print(_format_model_info(info))
    return 0


def _format_model_info(info: dict) -> str:
    target = info["target"]
    training = info["training_data"]
    lines = [
        f"name:           {info['name']}",
        f"path:           {info['path']}",
        f"model sha256:   {info['sha256']}",
        f"target:         {target.get('name', '?')} [{target.get('unit', '?')}]",
        f"feature preset: {info['feature_preset']}",
        f"recipe:         {info['recipe'].get('name', info['recipe'].get('kind', '?'))}"
        + (f" ({info['recipe']['description']})" if info["recipe"].get("description") else ""),
        f"estimator:      {info['estimator']}",
        *([f"classes:        {info['classification']['negative']!r}, "
           f"{info['classification']['positive']!r} (probability of "
           f"{info['classification']['positive']!r}; labels from "
           f"{info['classification']['threshold']:.3g})"] if "classification" in info else []),
        f"training data:  {training.get('source', '?')}, {training.get('rows_used', '?')} rows, "
        f"sha256 {training.get('sha256', '?')}",
        "metrics:",
        *(f"  {name}: {value}" for name, value in info["metrics"].items()),
        "versions:",
        *(f"  {name}: {value}" for name, value in sorted(info["versions"].items())),
    ]
    return "\n".join(lines)


MODEL = Command("model", "matgenome model info models/obelix_conductivity\n"
                "  matgenome model info my_model --json", _model_args, run_model)
