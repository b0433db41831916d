"""``matgenome model info``: describe a model directory (a thin layer over
``matgenome.modelfile``)."""

from __future__ import annotations

import argparse
import json

from matgenome.cli.command import Command
from matgenome.modelfile import model_info


def _model_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("action", choices=("info",), help="info: show the model card summary")
    parser.add_argument("directory", nargs="?", help="model directory (default: the shipped "
                        "OBELiX conductivity model)")
    parser.add_argument("--json", action="store_true", help="print the summary as JSON")


def run_model(args: argparse.Namespace) -> int:
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
