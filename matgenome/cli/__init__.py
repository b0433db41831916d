"""The ``matgenome`` command line.

``main`` (the console script ``matgenome = "matgenome.cli:main"``) and ``build_parser`` live in
:mod:`matgenome.cli.main`, with the explicit list of commands. Shared options and output
helpers are in :mod:`matgenome.cli.common`; one module per command group:
:mod:`~matgenome.cli.data` (datasets, featurize), :mod:`~matgenome.cli.model` (train,
predict, evaluate, build-default-model, model info), :mod:`~matgenome.cli.discovery`
(generate, rank, screen, simulate) and :mod:`~matgenome.cli.campaign`. Command modules import
``common`` and never each other; the science never imports this package.
"""

from matgenome.cli.main import COMMANDS, build_parser, main

__all__ = ["COMMANDS", "build_parser", "main"]
