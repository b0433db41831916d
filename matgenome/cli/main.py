"""The ``matgenome`` command: the list of commands, the parser, and how errors end a run.

:data:`COMMANDS` lists every sub-command in the order of ``matgenome --help``; each entry is
a :class:`~matgenome.cli.common.Command` defined in its command-group module. Errors a user
can fix (:class:`matgenome.errors.MatgenomeError`) are printed as one line and exit with
status 2; anything else is a bug: one line asking for a report and status 1, or the
traceback with ``-v``.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import traceback
from collections.abc import Sequence

from matgenome._version import __version__
from matgenome.cli import campaign, data, discovery, model
from matgenome.cli.common import Command, add_verbosity_args
from matgenome.errors import MatgenomeError

EXIT_INTERNAL = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130
EXIT_BROKEN_PIPE = 141  # 128 + SIGPIPE, what a shell reports for a closed pipe

COMMANDS: tuple[Command, ...] = (
    data.DATASETS,
    model.TRAIN,
    model.PREDICT,
    data.FEATURIZE,
    model.EVALUATE,
    model.BUILD_DEFAULT_MODEL,
    model.MODEL,
    campaign.CAMPAIGN,
    discovery.GENERATE,
    discovery.RANK,
    discovery.SCREEN,
    discovery.SIMULATE,
)


def build_parser() -> argparse.ArgumentParser:
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
    for command in COMMANDS:
        child = sub.add_parser(command.name, help=command.help, description=command.help,
                               epilog=f"example:\n  {command.example}",
                               formatter_class=argparse.RawDescriptionHelpFormatter)
        add_verbosity_args(child, "no progress bars or warnings")
        command.setup(child)
    return parser


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
    handler = next(c.handler for c in COMMANDS if c.name == args.command)
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
    except MatgenomeError as exc:
        if args.verbose:
            raise
        print(f"matgenome {args.command}: error: {exc}", file=sys.stderr)
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
