"""What every command shares: the command record, -v/-q, progress bars, common options,
output checks, the provenance record and the printing of result tables.

Command modules (``matgenome.cli.data``, ``.model``, ``.discovery``, ``.campaign``) import
this module and never each other. ``matgenome --help`` imports none of them (see
:mod:`matgenome.cli.main`), so option choices come straight from the modules that define
them.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from matgenome.classification import TASKS
from matgenome.cli.command import Command, add_verbosity_args  # noqa: F401  (re-exported)
from matgenome.errors import InputError
from matgenome.models.calibrated import KINDS
from matgenome.selection import ALIASES, CANDIDATES, CLASSIFIER_CANDIDATES
from matgenome.training import CENSORED_TREATMENTS, FALLBACKS

if TYPE_CHECKING:
    import pandas as pd

    from matgenome.labelled import LabelledData

log = logging.getLogger("matgenome")

# The command-line spelling of the library parameters that error messages name
# (MatgenomeError.parameters): library messages speak of parameters, the CLI adds options.
OPTION_OF = {
    "path": "INPUT", "dataset": "--dataset", "datasets": "--dataset", "data": "--data",
    "formula_column": "--formula-column", "target_column": "--target-column",
    "positive": "--positive", "task": "--task", "scheduler": "--scheduler",
    "batch": "--batch", "encoding": "--encoding", "output": "--output", "n_jobs": "-j/--jobs",
    "chunksize": "--chunksize", "candidates": "--candidates", "families": "--family",
    "new": "--new", "recipe": "--recipe", "acquisition": "--acquisition",
    "threshold": "--threshold", "objective": "--objective", "target": "--target-value",
    "tolerance": "--tolerance", "batch_size": "--batch",
}


def error_text(error: Exception) -> str:
    """A library error's message with the command-line options of its parameters added."""
    options = [OPTION_OF[p] for p in getattr(error, "parameters", ()) if p in OPTION_OF]
    if not options:
        return str(error)
    return f"{error} (option{'s' if len(options) > 1 else ''} {', '.join(options)})"

def positive_int(text: str) -> int:
    """argparse type for counts such as --top: a whole number of at least 1."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be 1 or more, got {value}")
    return value


def split_elements(text: str) -> list[str]:
    """``Li, P,S`` -> ``["Li", "P", "S"]``."""
    return [e.strip() for e in text.split(",")]


# --- labelled data and models ----------------------------------------------------------


TARGET_UNIT_HELP = ("unit of the target cells, e.g. mS/cm; values are converted to the base "
                    "unit (S/cm, eV, MPa) before --log10")


def add_reading_args(parser, *, formula: str, target: str, log10: str,
                     unit: str = TARGET_UNIT_HELP) -> None:
    """How formulas and targets are read from a table (``matgenome.labelled``); the help
    texts name what the command does with them."""
    parser.add_argument("--formula-column", help=formula)
    parser.add_argument("--target-column", help=target)
    parser.add_argument("--log10", action="store_true", help=log10)
    parser.add_argument("--target-unit", help=unit)


def add_labelled_args(parser: argparse.ArgumentParser) -> None:
    """INPUT or --dataset, and how to read formulas and targets from INPUT."""
    parser.add_argument("input", nargs="?", help="CSV/TSV/Excel/Parquet table of formulas "
                        "and measured values")
    parser.add_argument("--dataset", help="use a shipped dataset instead (e.g. obelix)")
    add_reading_args(parser, formula="formula column (detected when omitted)",
                     target="target column (required with INPUT)",
                     log10="model log10 of the target")


def load_labelled(args: argparse.Namespace) -> LabelledData:
    """The table or dataset named by :func:`add_labelled_args`' options."""
    from matgenome.labelled import read_labelled

    return read_labelled(args.input, dataset=args.dataset, formula_column=args.formula_column,
                         target_column=args.target_column, log10=args.log10,
                         target_unit=args.target_unit,
                         group_column=getattr(args, "group_column", None))


def add_model_args(parser: argparse.ArgumentParser) -> None:
    """The model options shared by train, evaluate and campaign init: what you evaluate is
    what you train."""
    group = parser.add_argument_group("model (the same options for train and evaluate)")
    group.add_argument("--recipe", default="auto",
                       choices=("auto", *CANDIDATES, *ALIASES, *CLASSIFIER_CANDIDATES),
                       help="auto (default): choose among the candidate recipes for the "
                       "target by grouped cross-validation inside the training rows "
                       "(conductivity targets: the conductivity recipe or extra trees on "
                       "magpie; a real share of rows at the minimum value adds the "
                       "hurdle candidates, alloy tables extra trees on element fractions); "
                       "or a named recipe")
    group.add_argument("--preset", default=None, help="feature preset (overrides the "
                       "recipe's; no selection is run)")
    group.add_argument("--kind", choices=KINDS, default=None,
                       help="tree ensemble (overrides the recipe's; no selection is run)")
    group.add_argument("--n-estimators", type=int, default=None,
                       help="trees (default: the recipe's, 500)")
    group.add_argument("--censored", choices=CENSORED_TREATMENTS, default="hurdle",
                       help="bound-only targets such as <1E-10: 'hurdle' (default, chosen "
                       "by benchmarks/select_censored.py) trains a 'below the bound' "
                       "classifier on upper bounds beside the regressor and predicts the "
                       "bound level where it is more likely than not (lower bounds such "
                       "as >1E-2 are left out and reported); 'drop' leaves every bound "
                       "out; 'bound' trains on the bound as if it were the value")
    group.add_argument("--fallback", choices=FALLBACKS, default="interval",
                       help="where the model is unsure far from its training data: "
                       "'interval' (default) widens the interval towards the training "
                       "distribution and keeps the prediction; 'mean' also moves the "
                       "prediction towards the training median (better far from the data, "
                       "worse near it: benchmarks/evaluate_far.py); 'none' keeps the "
                       "model's prediction and interval everywhere")
    group.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    group.add_argument("--task", choices=TASKS, default="auto",
                       help="auto (default): a target of exactly two labels (true/false, "
                       "yes/no, 0/1 or two words) trains a classifier with calibrated "
                       "probabilities, any other a regressor; or force one")
    group.add_argument("--positive", metavar="LABEL", help="classification: the class of "
                       "interest, whose probability is predicted and ranked (default: the "
                       "rarer class; the output says which)")


def model_options(args: argparse.Namespace) -> dict:
    options = {"recipe": args.recipe, "preset": args.preset, "kind": args.kind,
               "n_estimators": args.n_estimators, "censored": args.censored,
               "fallback": args.fallback}
    # Only when asked for, so that regression-only callers keep their options.
    if getattr(args, "task", "auto") != "auto":
        options["task"] = args.task
    if getattr(args, "positive", None) is not None:
        options["positive"] = args.positive
    return options


def add_constraint_args(group, fraction_help: str) -> None:
    """--require, --exclude, --max-elements, --min-li-fraction (read by :func:`constraints`)."""
    group.add_argument("--require", help="comma-separated elements every candidate must have")
    group.add_argument("--exclude", help="comma-separated elements no candidate may have")
    group.add_argument("--max-elements", type=int, help="most distinct elements")
    group.add_argument("--min-li-fraction", type=float, help=fraction_help)


def constraints(args: argparse.Namespace) -> dict[str, object]:
    """Composition constraints from --require, --exclude, --max-elements, --min-li-fraction
    (the keys of ``matgenome.ranking`` constraints)."""
    found: dict[str, object] = {}
    if args.require:
        found["required_elements"] = split_elements(args.require)
    if args.exclude:
        found["excluded_elements"] = split_elements(args.exclude)
    if args.max_elements:
        found["max_elements"] = args.max_elements
    if args.min_li_fraction is not None:
        found["min_mobile_fraction"] = args.min_li_fraction
    return found


# --- table in, table out ---------------------------------------------------------------


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
    from matgenome.io import check_input_path, check_output_path

    check_input_path(args.input)
    if args.chunksize < 1:
        raise InputError("--chunksize must be at least 1")
    if args.jobs == 0 or args.jobs < -1:
        raise InputError(f"--jobs must be a positive number of cores, or -1 for all; "
                         f"got {args.jobs}")
    return check_output_path(args.output, [args.input])


def count_rows(path: str) -> int | None:
    """Data rows of a table, for the progress bar's total (None when unknown)."""
    from matgenome.batch import count_rows as count

    return count(Path(path))


def batch_options(args: argparse.Namespace, bar) -> dict:
    return {"formula_column": args.formula_column, "chunksize": args.chunksize,
            "scheduler": args.scheduler, "progress": bar.update, "encoding": args.encoding,
            "n_jobs": args.jobs}


def output_metadata(args: argparse.Namespace, model=None, **details) -> dict:
    """The provenance record of a command's outputs (see ``matgenome.provenance``)."""
    from matgenome.provenance import provenance

    return provenance(args.command, getattr(args, "argv", None), model=model, **details)


def write_sidecar(path: str | Path, meta: dict) -> None:
    """The provenance record beside a written file (``FILE.meta.json``)."""
    from matgenome.provenance import write_sidecar as write

    write(path, meta)


# --- printing --------------------------------------------------------------------------


def print_top(frame: pd.DataFrame, heading: str | None, digits: str = ".3g",
              max_colwidth: int | None = None) -> None:
    """A heading line (if any), then ``frame`` as a text table (no index, floats formatted
    with ``digits``): the result tables of predict, rank, screen and campaign propose."""
    if heading is not None:
        print(heading)
    print(frame.to_string(index=False, float_format=lambda v: f"{v:{digits}}",
                          max_colwidth=max_colwidth))


# --- progress --------------------------------------------------------------------------


class _NoBar:
    def update(self, n: int) -> None:
        pass

    def __enter__(self) -> _NoBar:
        return self

    def __exit__(self, *exc: object) -> None:
        pass


def _bars_off(args: argparse.Namespace) -> bool:
    return bool(args.quiet) or not sys.stderr.isatty()


def progress(args: argparse.Namespace, total: int | None, unit: str):
    """A tqdm bar on stderr, off with --quiet or when stderr is not a terminal."""
    if _bars_off(args):
        return _NoBar()
    from tqdm import tqdm

    # Exact counts: with unit_scale the bar starts at "0.00/45.0k".
    return tqdm(total=total, unit=f" {unit}", unit_scale=False, dynamic_ncols=True,
                file=sys.stderr)


class Stages:
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

    def __enter__(self) -> Stages:
        return self

    def __exit__(self, exc_type, *exc: object) -> None:
        if self.bar is not None:
            if exc_type is None:
                self.bar.update(len(self.names) - self.done)
            self.bar.close()


def stages(args: argparse.Namespace, names: Sequence[str]) -> Stages:
    """A bar over a command's steps on stderr; off with --quiet or without a terminal."""
    if _bars_off(args):
        return Stages(names)
    from tqdm import tqdm

    return Stages(names, tqdm(total=len(names), unit=" steps", dynamic_ncols=True,
                              file=sys.stderr,
                              bar_format="{desc}: {n_fmt}/{total_fmt} steps |{bar}| "
                              "[{elapsed}] {postfix}"))
