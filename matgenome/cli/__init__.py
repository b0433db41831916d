"""The ``matgenome`` command line.

``main`` (the console script ``matgenome = "matgenome.cli:main"``) and ``build_parser`` live in
:mod:`matgenome.cli.main`, with the explicit list of commands. One module per command in
:mod:`matgenome.cli.commands` (``train.py``, ``predict.py``, ...), each importing at its top
what its command needs. What several commands share sits in light modules beside it:
:mod:`~matgenome.cli.command` (the command record, -v/-q), :mod:`~matgenome.cli.errors`
(library errors with their options), :mod:`~matgenome.cli.options` (counts, labelled-data
and constraint options), :mod:`~matgenome.cli.output` (result tables, progress bars,
provenance sidecars), :mod:`~matgenome.cli.table_options` (featurize and predict),
:mod:`~matgenome.cli.model_options` (the commands that train),
:mod:`~matgenome.cli.generation` and :mod:`~matgenome.cli.ranking` (generate, rank,
screen). Command modules never import each other; the science never imports this package.
"""

from matgenome.cli.main import COMMANDS, build_parser, main

__all__ = ["COMMANDS", "build_parser", "main"]
