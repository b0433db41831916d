"""The model options of the commands that train (train, evaluate, campaign init): what you
evaluate is what you train.

Their choices come from the modules that define them (``matgenome.selection``,
``matgenome.training``, ``matgenome.classification``, ``matgenome.models.calibrated``), so
only the commands that train import this module; ``predict`` and the discovery commands do
not pay for the training code.
"""

from __future__ import annotations

import argparse

from matgenome.classification import TASKS
from matgenome.models.calibrated import KINDS
from matgenome.selection import ALIASES, CANDIDATES, CLASSIFIER_CANDIDATES
from matgenome.training import CENSORED_TREATMENTS, FALLBACKS


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
