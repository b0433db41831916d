"""``matgenome train``: a model with calibrated uncertainty, written as a model directory
(a thin layer over ``matgenome.training`` and ``matgenome.modelfile``)."""

from __future__ import annotations

import argparse
from pathlib import Path

from matgenome.cli.command import Command
from matgenome.cli.model_options import add_model_args, model_options
from matgenome.cli.options import add_labelled_args, load_labelled
from matgenome.cli.output import log, stages
from matgenome.labelled import FIRST_DATA_ROW
from matgenome.modelfile import save_model
from matgenome.training import train_model


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
