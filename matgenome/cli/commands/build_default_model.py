"""``matgenome build-default-model``: rebuild the shipped OBELiX conductivity model (a thin
layer over ``matgenome.default_models``)."""

from __future__ import annotations

import argparse

from matgenome.cli.command import Command
from matgenome.default_models import build_default_model
from matgenome.modelfile import load_model


def _build_default_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--output", "-o", help="model directory (default: the shipped "
                        "models/obelix_conductivity)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")


def run_build_default(args: argparse.Namespace) -> int:
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
