"""One module per command, as :data:`matgenome.cli.main.COMMANDS` lists them.

Each module imports, at its top, what its command needs, so its dependencies are visible
and ``matgenome COMMAND`` imports only those. A command module imports the shared modules
of :mod:`matgenome.cli` (``command``, ``options``, ``output``, ...), never another command.
"""
