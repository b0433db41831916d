"""The record of one sub-command and the -v/-q options every command has.

Light on purpose (argparse only): :mod:`matgenome.cli.main` imports it to list the commands
without importing any command module.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from dataclasses import dataclass

Handler = Callable[[argparse.Namespace], int]
Setup = Callable[[argparse.ArgumentParser], None]


@dataclass(frozen=True)
class Command:
    """A sub-command: its name, example, argument set-up and handler. Its one-line summary
    is in :data:`matgenome.cli.main.COMMANDS`, which ``matgenome --help`` lists without
    importing the command's module."""

    name: str
    example: str
    setup: Setup
    handler: Handler


def add_verbosity_args(parser: argparse.ArgumentParser, quiet_help: str,
                       keep_earlier: bool = False) -> None:
    """``-v`` (details and tracebacks) and ``-q``. ``keep_earlier``: for a nested parser,
    so that a flag given before its action is not reset (argparse.SUPPRESS)."""
    default = argparse.SUPPRESS if keep_earlier else False
    parser.add_argument("-v", "--verbose", action="store_true", default=default,
                        help="log details and show tracebacks")
    parser.add_argument("-q", "--quiet", action="store_true", default=default,
                        help=quiet_help)
