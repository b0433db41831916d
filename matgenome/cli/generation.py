"""Candidate generation options and their run, shared by ``generate`` and ``screen``
(a thin layer over ``matgenome.generation``)."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from matgenome.cli.options import split_elements
from matgenome.generation import (
    DEFAULT_SUBSTITUTION_THRESHOLD,
    GenerationSettings,
    family_choices,
    generate_candidates,
    load_seeds,
)

if TYPE_CHECKING:
    import pandas as pd


def add_generation_args(parser: argparse.ArgumentParser) -> None:
    """The "candidate generation" options (read by :func:`generate`)."""
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


def generate(args: argparse.Namespace, known: pd.DataFrame | None) -> pd.DataFrame:
    """The candidates of the generation options, marked against ``known`` if given."""
    settings = GenerationSettings(
        families=args.family, methods=tuple(args.method or ("doping",)),
        max_dopants=args.max_dopants, steps=args.steps, seed=args.seed, seeds_path=args.seeds,
        substitution_threshold=args.substitution_threshold,
        grid_elements=split_elements(args.elements) if args.elements else None,
        grid_max_atoms=args.max_atoms, max_candidates=args.max_candidates,
    )
    return generate_candidates(settings, known=known)
