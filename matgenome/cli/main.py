"""The ``matgenome`` command: the list of commands, the parser, and how errors end a run.

:data:`COMMANDS` lists every sub-command in the order of ``matgenome --help``, with its
one-line summary and its module (one per command, in :mod:`matgenome.cli.commands`). Only
the command that runs is imported (as pip does): ``matgenome --help`` imports no command
module, ``matgenome train ...`` imports :mod:`matgenome.cli.commands.train` and what it
needs. Errors a user can fix (:class:`matgenome.errors.MatgenomeError`) are printed as one
line and exit with status 2; anything else is a bug: one line asking for a report and
status 1, or the traceback with ``-v``.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import sys
import traceback
from collections.abc import Sequence
from dataclasses import dataclass

from matgenome._version import __version__
from matgenome.cli.command import Command, add_verbosity_args
from matgenome.cli.errors import error_text
from matgenome.errors import MatgenomeError

EXIT_INTERNAL = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130
EXIT_BROKEN_PIPE = 141  # 128 + SIGPIPE, what a shell reports for a closed pipe


@dataclass(frozen=True)
class CommandEntry:
    """A sub-command as ``--help`` lists it: name, the module ``matgenome.cli.<module>``
    and the attribute there that holds its :class:`~matgenome.cli.command.Command`, and
    its summary."""

    name: str
    module: str
    attribute: str
    summary: str

    def load(self) -> Command:
        command = getattr(importlib.import_module(f"matgenome.cli.{self.module}"),
                          self.attribute)
        if command.name != self.name:  # a wrong entry is a bug, caught by the tests
            raise RuntimeError(f"matgenome.cli.{self.module}.{self.attribute} is "
                               f"{command.name!r}, listed as {self.name!r}")
        return command


COMMANDS: tuple[CommandEntry, ...] = (
    CommandEntry("datasets", "commands.datasets", "DATASETS",
                 "list the shipped datasets with rows, target, unit, licence, citation"),
    CommandEntry("train", "commands.train", "TRAIN",
                 "train a model with calibrated uncertainty and write a model directory"),
    CommandEntry("predict", "commands.predict", "PREDICT",
                 "score every row of a table: prediction, uncertainty (1 sd) and error "
                 "columns"),
    CommandEntry("featurize", "commands.featurize", "FEATURIZE",
                 "add descriptor columns to every row of a table (one output row per "
                 "input row)"),
    CommandEntry("evaluate", "commands.evaluate", "EVALUATE",
                 "evaluate a model honestly: official splits or grouped/cluster CV, "
                 "accuracy and uncertainty metrics"),
    CommandEntry("build-default-model", "commands.build_default_model", "BUILD_DEFAULT_MODEL",
                 "rebuild the shipped OBELiX conductivity model (same versions, seed and"
                 " machine: same bytes)"),
    CommandEntry("model", "commands.model", "MODEL",
                 "describe a model directory: name, hash, versions, features, training "
                 "data, metrics, recipe, target and unit"),
    CommandEntry("campaign", "commands.campaign", "CAMPAIGN",
                 "closed-loop campaign in a directory: init, propose, record, status, "
                 "report"),
    CommandEntry("generate", "commands.generate", "GENERATE",
                 "generate candidate compositions from seed families, substitution or "
                 "charge-neutral grids"),
    CommandEntry("rank", "commands.rank", "RANK",
                 "rank candidates by an acquisition function with uncertainty, domain "
                 "flag, known values, supply risk and cost"),
    CommandEntry("screen", "commands.screen", "SCREEN",
                 "the main job: generate candidates from the seed families, predict, "
                 "rank, write a table and print the top"),
    CommandEntry("simulate", "commands.simulate", "SIMULATE",
                 "sequential-learning simulation: acquisition functions against random "
                 "picking, with discovery yield and acceleration factors"),
)


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The parser: every command listed; only ``command`` (if given) gets its options, so
    only its module is imported."""
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
    for entry in COMMANDS:
        if entry.name != command:
            sub.add_parser(entry.name, help=entry.summary, description=entry.summary)
            continue
        loaded = entry.load()
        child = sub.add_parser(entry.name, help=entry.summary, description=entry.summary,
                               epilog=f"example:\n  {loaded.example}",
                               formatter_class=argparse.RawDescriptionHelpFormatter)
        add_verbosity_args(child, "no progress bars or warnings")
        loaded.setup(child)
    return parser


def command_name(argv: Sequence[str]) -> str | None:
    """The command named on a command line: its first word that is not an option (the
    top-level options take no value)."""
    names = {entry.name for entry in COMMANDS}
    word = next((a for a in argv if not a.startswith("-")), None)
    return word if word in names else None


def main(argv: Sequence[str] | None = None) -> int:
    words = list(argv) if argv is not None else sys.argv[1:]
    parser = build_parser(command_name(words))
    args = parser.parse_args(words)
    if not args.command:
        parser.print_help()
        return EXIT_USAGE
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.ERROR if args.quiet else logging.INFO,
        format="matgenome: %(message)s",
    )
    handler = next(e for e in COMMANDS if e.name == args.command).load().handler
    args.argv = words
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
    except MatgenomeError as exc:
        if args.verbose:
            raise
        print(f"matgenome {args.command}: error: {error_text(exc)}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print(f"matgenome {args.command}: interrupted; no partial output was written",
              file=sys.stderr)
        return EXIT_INTERRUPTED
    except Exception as exc:  # a bug, not the user's input
        return _internal_error(args, exc)


def _internal_error(args: argparse.Namespace, exc: Exception) -> int:
    """A bug: the traceback with -v, else one line asking for a report."""
    if args.verbose:
        traceback.print_exception(exc, file=sys.stderr)
    else:
        print(f"matgenome {args.command}: internal error ({type(exc).__name__}: {exc}); "
              "please report it with the output of -v", file=sys.stderr)
    return EXIT_INTERNAL
