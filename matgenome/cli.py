"""The ``matgenome`` command line: argument parsing, progress bars and summaries.

Each sub-command is a thin layer over the Python API; the science never imports this module.
Errors a user can fix are printed as one line and exit with status 2; no traceback is shown
unless ``-v`` is given.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import textwrap
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from matgenome._version import __version__
from matgenome.cli_choices import RECIPE_ALIASES, RECIPE_NAMES
from matgenome.errors import CompositionError, InputError, ModelFileError

# Only light modules at the top: pandas, scikit-learn, pymatgen and the science modules
# are imported inside the handlers, so that --help and --version start quickly.
if TYPE_CHECKING:
    import pandas as pd

log = logging.getLogger("matgenome")
EXIT_USAGE = 2
CENSORED_CHOICES = ("hurdle", "drop", "bound")
EXIT_INTERRUPTED = 130
# Rows are named by their spreadsheet row number: the header is row 1.
FIRST_DATA_ROW = 2
EXIT_BROKEN_PIPE = 141  # 128 + SIGPIPE, what a shell reports for a closed pipe

Handler = Callable[[argparse.Namespace], int]
_COMMANDS: dict[str, tuple[Handler, Callable[[argparse.ArgumentParser], None], str, str]] = {}


def command(name: str, help_text: str, example: str):
    """Register a sub-command: its handler, its argument set-up, help and an example."""

    def register(setup: Callable[[argparse.ArgumentParser], None]):
        def attach(handler: Handler) -> Handler:
            _COMMANDS[name] = (handler, setup, help_text, example)
            return handler

        return attach

    return register


def positive_int(text: str) -> int:
    """argparse type for counts such as --top: a whole number of at least 1."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be 1 or more, got {value}")
    return value


# --- datasets ----------------------------------------------------------------------------


def _datasets_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--show", metavar="NAME", help="print the first rows of one dataset")
    parser.add_argument("--rows", type=int, default=10, help="rows to show with --show")


@command("datasets", "list the shipped datasets with rows, target, unit, licence, citation",
         "matgenome datasets\n  matgenome datasets --show obelix")(_datasets_args)
def run_datasets(args: argparse.Namespace) -> int:
    from matgenome.datasets import list_datasets, load

    if args.show:
        frame = load(args.show)
        print(frame.head(args.rows).to_string(index=False))
        print(f"{len(frame)} rows; target in {frame.attrs['unit']}")
        return 0
    table = list_datasets()
    for row in table.itertuples(index=False):
        print(f"{row.name}  ({row.rows} rows, {row.task})")
        print(f"  target:   {row.target} [{row.unit}]")
        print(f"  licence:  {row.licence}")
        print(textwrap.fill(row.citation, width=96, initial_indent="  cite:     ",
                            subsequent_indent="            "))
    print(f"{len(table)} datasets; provenance in datasets/README.md")
    return 0


# --- train -------------------------------------------------------------------------------


def add_labelled_args(parser: argparse.ArgumentParser) -> None:
    """INPUT or --dataset, and how to read formulas and targets from INPUT."""
    parser.add_argument("input", nargs="?", help="CSV/TSV/Excel/Parquet table of formulas "
                        "and measured values")
    parser.add_argument("--dataset", help="use a shipped dataset instead (e.g. obelix)")
    parser.add_argument("--formula-column", help="formula column (detected when omitted)")
    parser.add_argument("--target-column", help="target column (required with INPUT)")
    parser.add_argument("--log10", action="store_true", help="model log10 of the target")
    parser.add_argument("--target-unit", help="unit of the target cells, e.g. mS/cm; values "
                        "are converted to the base unit (S/cm, eV, MPa) before --log10")


def load_labelled(args: argparse.Namespace):
    """Formulas, parsed targets, the target's description, the source of the rows and the
    selection groups (a dataset's papers, or ``--group-column``)."""
    from matgenome.io import detect_formula_column, parse_target_values, read_table, require_column
    from matgenome.targets import describe_target, normalise_target

    if bool(args.input) == bool(args.dataset):
        raise InputError("give either an INPUT file or --dataset NAME")
    if args.dataset:
        from matgenome.datasets import DATASETS, load

        if args.dataset not in DATASETS:
            raise InputError(f"unknown dataset {args.dataset!r}; shipped: "
                             f"{', '.join(DATASETS)}")
        frame = load(args.dataset)
        info = DATASETS[args.dataset]
        target = normalise_target({"name": info.target, "unit": info.unit})
        groups = frame["doi"].tolist() if "doi" in frame.columns else None
        return (frame["formula"], _dataset_targets(frame), target,
                f"shipped dataset {args.dataset}", groups)
    frame = read_table(args.input)
    column = detect_formula_column(list(frame.columns), args.formula_column)
    if not args.target_column:
        raise InputError("--target-column is required with an INPUT file")
    require_column(list(frame.columns), args.target_column)
    targets = parse_target_values(frame[args.target_column], log10=args.log10,
                                  unit=args.target_unit)
    # The unit of the stored values (S/cm for cells in mS/cm), not of the cells.
    target = describe_target(args.target_column, targets.unit, args.log10)
    group_column = getattr(args, "group_column", None)
    groups = None
    if group_column:
        groups = frame[require_column(list(frame.columns), group_column)].tolist()
    return frame[column], targets, target, str(args.input), groups


def add_model_args(parser: argparse.ArgumentParser) -> None:
    """The model options shared by train and evaluate: what you evaluate is what you train."""
    group = parser.add_argument_group("model (the same options for train and evaluate)")
    group.add_argument("--recipe", default="auto", choices=("auto", *RECIPE_NAMES, *RECIPE_ALIASES),
                       help="auto (default): choose among the candidate recipes for the "
                       "target by grouped cross-validation inside the training rows "
                       "(conductivity targets: the conductivity recipe or extra trees on "
                       "magpie); or a named recipe")
    group.add_argument("--preset", default=None, help="feature preset (overrides the "
                       "recipe's; no selection is run)")
    group.add_argument("--kind", choices=("extra_trees", "random_forest"), default=None,
                       help="tree ensemble (overrides the recipe's; no selection is run)")
    group.add_argument("--n-estimators", type=int, default=None,
                       help="trees (default: the recipe's, 500)")
    group.add_argument("--censored", choices=CENSORED_CHOICES, default="hurdle",
                       help="bound-only targets such as <1E-10: 'hurdle' (default, chosen "
                       "by benchmarks/select_censored.py) trains a 'below the bound' "
                       "classifier beside the regressor and predicts the bound level "
                       "where it is more likely than not; 'drop' leaves them out; "
                       "'bound' trains on the bound as if it were the value")
    group.add_argument("--seed", type=int, default=0, help="random seed (default 0)")


def model_options(args: argparse.Namespace) -> dict:
    return {"recipe": args.recipe, "preset": args.preset, "kind": args.kind,
            "n_estimators": args.n_estimators, "censored": args.censored}


def _train_args(parser: argparse.ArgumentParser) -> None:
    add_labelled_args(parser)
    add_model_args(parser)
    parser.add_argument("--group-column", help="column whose values (e.g. paper DOI) the "
                        "recipe-selection folds keep together")
    parser.add_argument("--mobile-ion", help="element every in-domain candidate must contain, "
                        "e.g. Li for a Li-ion conductivity model")
    parser.add_argument("--name", help="model name recorded in the model card")
    parser.add_argument("--output", "-o", required=True, help="model directory to write")


@command(
    "train",
    "train a model with calibrated uncertainty and write a model directory",
    "matgenome train datasets/obelix/train.csv --formula-column 'Reduced Composition' "
    "--target-column 'Ionic conductivity (S cm-1)' --log10 --output my_model",
)(_train_args)
def run_train(args: argparse.Namespace) -> int:
    from matgenome.modelfile import save_model
    from matgenome.training import train_model

    with stages(args, ("reading the table", "training", "writing the model")) as bar:
        formulas, targets, target, source, groups = load_labelled(args)
        log.info("training on %d rows (recipe: %s)", len(formulas), args.recipe)
        bar.next()
        model, report = train_model(
            formulas, targets, **model_options(args), seed=args.seed,
            mobile_ion=args.mobile_ion, groups=groups, progress=bar.note,
            card={"name": args.name or Path(args.output).name, "target": target,
                  "source": source},
            first_row=FIRST_DATA_ROW,
        )
        bar.next()
        path = save_model(model, args.output)
    for reason, example in report.examples.items():
        log.warning("skipped %d rows: %s, e.g. %s", len(report.skipped[reason]), reason,
                    example)
    chosen = model.card["selection"]
    print(f"trained on {report.summary()}; recipe {chosen['chosen']} "
          f"({chosen['protocol']}); model written to {path}")
    return 0


def _dataset_targets(frame: pd.DataFrame):
    from matgenome.io import TargetValues

    return TargetValues(values=frame["target"].to_numpy(float),
                        censor=frame["censor"].to_numpy(str),
                        errors=[""] * len(frame))


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
    _add_batch_args(parser)


@command(
    "predict",
    "score every row of a table: prediction, uncertainty (1 sd) and error columns",
    "matgenome predict datasets/examples/candidates.csv --output scored.csv --top 10",
)(_predict_args)
def run_predict(args: argparse.Namespace) -> int:
    from matgenome.batch import score_file
    from matgenome.modelfile import load_model

    output = _checked_paths(args)
    model = load_model(args.model)
    with _progress(args, total=_count(args.input), unit="rows") as bar:
        summary = score_file(model, args.input, output, **_batch_options(args, bar),
                             metadata=output_metadata(args, model))
    if args.top:
        _print_top(output, args.top, model.target)
    print(summary.line(output))
    return 0


def _print_top(path: Path, n: int, target: str) -> None:
    import pandas as pd

    from matgenome.io import read_table

    frame = read_table(path)
    frame["prediction"] = pd.to_numeric(frame["prediction"], errors="coerce")
    frame["uncertainty"] = pd.to_numeric(frame["uncertainty"], errors="coerce")
    top = frame.dropna(subset=["prediction"]).nlargest(n, "prediction")
    print(f"top {len(top)} by predicted {target} (uncertainty = 1 standard deviation):")
    print(top.to_string(index=False, float_format=lambda v: f"{v:.3f}"))


# --- featurize ---------------------------------------------------------------------------


def _featurize_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("input", help="CSV/TSV/Excel/Parquet table with a formula column")
    parser.add_argument("--output", "-o", required=True, help="output table")
    parser.add_argument("--preset", default="magpie", help="feature preset, or several joined "
                        "with '+' (default magpie; see --list-presets)")
    parser.add_argument("--formula-column", help="formula column (detected when omitted)")
    _add_batch_args(parser)


def _add_batch_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--chunksize", type=int, default=50_000, help="rows per chunk")
    parser.add_argument("--scheduler", help="run chunks on Dask: 'local' for a local "
                        "cluster, or a scheduler address such as tcp://10.0.0.5:8786")
    parser.add_argument("--encoding", default="utf-8-sig", help="input text encoding")


@command(
    "featurize",
    "add descriptor columns to every row of a table (one output row per input row)",
    "matgenome featurize datasets/examples/candidates.csv --preset magpie -o features.csv",
)(_featurize_args)
def run_featurize(args: argparse.Namespace) -> int:
    from matgenome.batch import featurize_file
    from matgenome.features import list_presets

    presets = list_presets()
    unknown = [p for p in args.preset.split("+") if p not in presets]
    if unknown:
        raise InputError(f"unknown preset {unknown[0]!r}; presets: {', '.join(presets)}")
    output = _checked_paths(args)
    with _progress(args, total=_count(args.input), unit="rows") as bar:
        summary = featurize_file(args.preset, args.input, output, **_batch_options(args, bar),
                                 metadata=output_metadata(args, feature_preset=args.preset))
    print(summary.line(output, verb="featurized"))
    return 0


def _checked_paths(args: argparse.Namespace) -> Path:
    from matgenome.io import check_input_path, check_output_path

    check_input_path(args.input)
    if args.chunksize < 1:
        raise InputError("--chunksize must be at least 1")
    return check_output_path(args.output, [args.input])


def _count(path: str) -> int | None:
    from matgenome.batch import count_rows

    return count_rows(Path(path))


def _batch_options(args: argparse.Namespace, bar) -> dict:
    return {"formula_column": args.formula_column, "chunksize": args.chunksize,
            "scheduler": args.scheduler, "progress": bar.update, "encoding": args.encoding}


# --- evaluate ----------------------------------------------------------------------------


def _evaluate_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("data", help="a shipped dataset (obelix, matbench_expt_gap, ...) or a "
                        "CSV/TSV/Excel/Parquet table")
    parser.add_argument("--protocol", choices=("obelix", "matbench", "kfold", "group", "loco"),
                        help="splits: a shipped dataset's official protocol by default; "
                        "kfold (random), group (GroupKFold by --group-column) or loco "
                        "(leave-one-cluster-out in descriptor space) for any table")
    parser.add_argument("--group-column", help="column to group by with --protocol group, "
                        "e.g. family or doi")
    parser.add_argument("--n-splits", type=int, default=5, help="folds or clusters (5)")
    parser.add_argument("--formula-column", help="formula column of a table")
    parser.add_argument("--target-column", help="target column of a table")
    parser.add_argument("--log10", action="store_true", help="evaluate log10 of the target")
    parser.add_argument("--target-unit", help="unit of the target cells, e.g. mS/cm; values "
                        "are converted to the base unit (S/cm, eV, MPa) before --log10")
    add_model_args(parser)
    parser.add_argument("--output", "-o", help="JSON result (versions, data hash, protocol, "
                        "metrics and per-row predictions)")
    parser.add_argument("--plot", metavar="DIR", help="write parity, residual and "
                        "calibration PNGs to DIR")


@command(
    "evaluate",
    "evaluate a model honestly: official splits or grouped/cluster CV, accuracy and "
    "uncertainty metrics",
    "matgenome evaluate obelix --plot eval_plots -o obelix_eval.json",
)(_evaluate_args)
def run_evaluate(args: argparse.Namespace) -> int:
    from matgenome.datasets import DATASETS
    from matgenome.evaluation import evaluate

    data = args.data if args.data in DATASETS else _evaluation_table(args)
    if args.protocol == "group" and not args.group_column:
        raise InputError("--protocol group needs --group-column (e.g. family or doi)")
    log.info("evaluating on %s with protocol %s", args.data, args.protocol or "official")
    splits = 1 if (args.protocol or args.data) == "obelix" else args.n_splits
    with _progress(args, total=splits, unit="splits") as bar:
        result = evaluate(data, protocol=args.protocol, group_column=args.group_column,
                          n_splits=args.n_splits, random_state=args.seed,
                          output=args.output, progress=bar.update,
                          features=args.preset, model_options=_evaluation_options(args))
    print(result.table())
    meta = output_metadata(args, recipe=args.recipe, protocol=args.protocol or "official",
                           data=args.data, seed=args.seed)
    if args.output:
        from matgenome.provenance import write_sidecar

        write_sidecar(args.output, meta)
    if args.plot:
        _plot_evaluation(result, args.plot, _evaluation_label(args), meta)
    rows = len(result.predictions)
    print(f"{rows} predictions over {len(result.fold_metrics) or 1} split(s)"
          + (f"; result written to {args.output}" if args.output else ""))
    return 0


def _evaluation_options(args: argparse.Namespace) -> dict:
    options = model_options(args)
    if args.data not in _dataset_names() and args.target_column:
        options["target"] = getattr(args, "target_description", None)
    return options


def _dataset_names() -> tuple[str, ...]:
    from matgenome.datasets import DATASETS

    return tuple(DATASETS)


def _evaluation_table(args: argparse.Namespace) -> pd.DataFrame:
    from matgenome.evaluation import drop_invalid_formulas
    from matgenome.io import (
        detect_formula_column,
        parse_target_values,
        read_table,
        require_column,
    )
    from matgenome.targets import describe_target

    table = read_table(args.data)
    column = detect_formula_column(list(table.columns), args.formula_column)
    if not args.target_column:
        raise InputError("--target-column is required for a table")
    require_column(list(table.columns), args.target_column)
    # Formulas are checked as `train` checks them, naming spreadsheet rows.
    table = table.rename(columns={column: "formula"})
    table["_row"] = range(FIRST_DATA_ROW, FIRST_DATA_ROW + len(table))
    table, _ = drop_invalid_formulas(table, first_row=FIRST_DATA_ROW)
    targets = parse_target_values(table[args.target_column], log10=args.log10,
                                  unit=args.target_unit)
    usable = targets.usable
    frame = table[usable].reset_index(drop=True)
    frame["target"] = targets.values[usable]
    frame["censored"] = targets.censor[usable] != ""
    frame.attrs["dataset"] = Path(args.data).name
    args.target_description = describe_target(args.target_column, targets.unit, args.log10)
    bad = [i for i, ok in enumerate(usable) if not ok]
    if bad:
        numbers = table["_row"].to_numpy()
        rows = ", ".join(str(numbers[i]) for i in bad[:5]) + (", ..." if len(bad) > 5 else "")
        log.warning("left out %d rows with unusable targets (rows %s), e.g. row %d: %s",
                    len(bad), rows, numbers[bad[0]], targets.errors[bad[0]])
    return frame.drop(columns="_row")


def _evaluation_label(args: argparse.Namespace) -> str:
    """The target's display label: a shipped dataset's, or the table's column and unit."""
    from matgenome.datasets import DATASETS
    from matgenome.targets import normalise_target

    if args.data in DATASETS:
        info = DATASETS[args.data]
        return normalise_target({"name": info.target, "unit": info.unit})["label"]
    return args.target_description["label"]


def _plot_evaluation(result, directory: str, label: str, meta: dict) -> None:
    from matgenome.plots import plot_evaluation
    from matgenome.provenance import write_sidecar

    predictions = result.predictions
    if "censored" in predictions:
        predictions = predictions[~predictions["censored"].astype(bool)]
    std = predictions.get("y_std")
    for path in plot_evaluation(predictions["y_true"], predictions["y_pred"], std, directory,
                                quantity=label):
        write_sidecar(path, meta)
        print(f"wrote {path}")


# --- build-default-model -----------------------------------------------------------------


def _build_default_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--output", "-o", help="model directory (default: the shipped "
                        "models/obelix_conductivity)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")


@command(
    "build-default-model",
    "rebuild the shipped OBELiX conductivity model (same versions, seed and machine: same bytes)",
    "matgenome build-default-model --output /tmp/obelix_conductivity",
)(_build_default_args)
def run_build_default(args: argparse.Namespace) -> int:
    from matgenome.default_models import build_default_model
    from matgenome.modelfile import load_model

    path = build_default_model(args.output, seed=args.seed)
    metrics = load_model(path).card["metrics"]
    print(f"model written to {path}")
    print(f"official-split check: MAE {metrics['mae']} log10(S/cm) on "
          f"{metrics['test_rows_scored']} test rows, 68% coverage {metrics['coverage_68']}")
    return 0


# --- model info --------------------------------------------------------------------------


def _model_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("action", choices=("info",), help="info: show the model card summary")
    parser.add_argument("directory", nargs="?", help="model directory (default: the shipped "
                        "OBELiX conductivity model)")
    parser.add_argument("--json", action="store_true", help="print the summary as JSON")


@command("model", "describe a model directory: name, hash, versions, features, training "
         "data, metrics, recipe, target and unit", "matgenome model info models/"
         "obelix_conductivity\n  matgenome model info my_model --json")(_model_args)
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
        f"training data:  {training.get('source', '?')}, {training.get('rows_used', '?')} rows, "
        f"sha256 {training.get('sha256', '?')}",
        "metrics:",
        *(f"  {name}: {value}" for name, value in info["metrics"].items()),
        "versions:",
        *(f"  {name}: {value}" for name, value in sorted(info["versions"].items())),
    ]
    return "\n".join(lines)


# --- plumbing ----------------------------------------------------------------------------


def output_metadata(args: argparse.Namespace, model=None, **details) -> dict:
    """The provenance record of a command's outputs (see ``matgenome.provenance``)."""
    from matgenome.provenance import provenance

    return provenance(args.command, getattr(args, "argv", None), model=model, **details)


class _NoBar:
    def update(self, n: int) -> None:
        pass

    def __enter__(self) -> _NoBar:
        return self

    def __exit__(self, *exc: object) -> None:
        pass


def _progress(args: argparse.Namespace, total: int | None, unit: str):
    """A tqdm bar on stderr, off with --quiet or when stderr is not a terminal."""
    if args.quiet or not sys.stderr.isatty():
        return _NoBar()
    from tqdm import tqdm

    # Exact counts: with unit_scale the bar starts at "0.00/45.0k".
    return tqdm(total=total, unit=f" {unit}", unit_scale=False, dynamic_ncols=True,
                file=sys.stderr)


class _Stages:
    """Progress through the named steps of a command, on a tqdm bar (or silently)."""

    def __init__(self, names: Sequence[str], bar=None) -> None:
        self.names, self.done, self.bar = list(names), 0, bar
        self._show()

    def _show(self) -> None:
        if self.bar is not None and self.done < len(self.names):
            self.bar.set_description_str(self.names[self.done])

    def next(self) -> None:
        """The current step is finished; the next one starts."""
        self.done += 1
        if self.bar is not None:
            self.bar.update(1)
        self._show()

    def note(self, text: str) -> None:
        """A detail of the current step (logged; shown beside the bar)."""
        log.info("%s", text)
        if self.bar is not None:
            self.bar.set_postfix_str(text)

    def __enter__(self) -> _Stages:
        return self

    def __exit__(self, exc_type, *exc: object) -> None:
        if self.bar is not None:
            if exc_type is None:
                self.bar.update(len(self.names) - self.done)
            self.bar.close()


def stages(args: argparse.Namespace, names: Sequence[str]) -> _Stages:
    """A bar over a command's steps on stderr; off with --quiet or without a terminal."""
    if args.quiet or not sys.stderr.isatty():
        return _Stages(names)
    from tqdm import tqdm

    return _Stages(names, tqdm(total=len(names), unit=" steps", dynamic_ncols=True,
                               file=sys.stderr,
                               bar_format="{desc}: {n_fmt}/{total_fmt} steps |{bar}| "
                               "[{elapsed}] {postfix}"))


def build_parser() -> argparse.ArgumentParser:
    _load_optional_commands()
    parser = argparse.ArgumentParser(
        prog="matgenome",
        description="Data-driven materials discovery: train on composition-property data, "
        "score and rank candidate compositions.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="Run 'matgenome COMMAND --help' for a command's options and an example.",
    )
    parser.add_argument("--version", action="version",
                        version=f"matgenome {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, (_, setup, help_text, example) in _COMMANDS.items():
        child = sub.add_parser(name, help=help_text, description=help_text,
                               epilog=f"example:\n  {example}",
                               formatter_class=argparse.RawDescriptionHelpFormatter)
        child.add_argument("-v", "--verbose", action="store_true",
                           help="log details and show tracebacks")
        child.add_argument("-q", "--quiet", action="store_true",
                           help="no progress bars or warnings")
        setup(child)
    return parser


def _load_optional_commands() -> None:
    """Import modules that register further commands (kept apart to keep this file short).

    Such modules are imported for every invocation, --help included: their top-level
    imports must stay light (tests/test_startup.py checks that no heavy library loads).
    """
    import matgenome.cli_campaign  # registers campaign
    import matgenome.cli_discovery  # noqa: F401  (registers generate, rank, screen, simulate)


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not args.command:
        parser.print_help()
        return EXIT_USAGE
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.ERROR if args.quiet else logging.INFO,
        format="matgenome: %(message)s",
    )
    handler = _COMMANDS[args.command][0]
    args.argv = list(argv) if argv is not None else sys.argv[1:]
    try:
        code = handler(args)
        sys.stdout.flush()  # a closed pipe shows here, not at interpreter exit
        return code
    except BrokenPipeError:
        # The reader (e.g. `| head -1`) has gone: nothing left to say. Point stdout at
        # devnull so that Python's final flush does not fail again.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_BROKEN_PIPE
    except (InputError, ModelFileError, CompositionError, ValueError, OSError) as exc:
        if args.verbose:
            raise
        print(f"matgenome {args.command}: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print(f"matgenome {args.command}: interrupted; no partial output was written",
              file=sys.stderr)
        return EXIT_INTERRUPTED
    except Exception as exc:  # a bug: report it briefly; -v shows the traceback
        if args.verbose:
            raise
        print(f"matgenome {args.command}: unexpected error: {type(exc).__name__}: {exc} "
              "(run again with -v for the traceback)", file=sys.stderr)
        return 1


if __name__ == "__main__":
    # Run through the imported module so that commands registered by other modules (which
    # import matgenome.cli) land in the same registry.
    from matgenome.cli import main as registered_main

    sys.exit(registered_main())
