"""How a library error is shown on the command line: its message with the options of the
parameters it names.

Light on purpose (no imports): :mod:`matgenome.cli.main` uses it on the error path of every
command.
"""

from __future__ import annotations

# The command-line spelling of the library parameters that error messages name
# (MatgenomeError.parameters): library messages speak of parameters, the CLI adds options.
OPTION_OF = {
    "path": "INPUT", "dataset": "--dataset", "datasets": "--dataset", "data": "--data",
    "formula_column": "--formula-column", "target_column": "--target-column",
    "positive": "--positive", "task": "--task", "scheduler": "--scheduler",
    "batch": "--batch", "encoding": "--encoding", "output": "--output", "n_jobs": "-j/--jobs",
    "chunksize": "--chunksize", "candidates": "--candidates", "families": "--family",
    "new": "--new", "recipe": "--recipe", "acquisition": "--acquisition",
    "threshold": "--threshold", "objective": "--objective", "target": "--target-value",
    "tolerance": "--tolerance", "batch_size": "--batch", "methods": "--method",
    "grid_elements": "--elements",
}


def error_text(error: Exception) -> str:
    """A library error's message with the command-line options of its parameters added."""
    options = [OPTION_OF[p] for p in getattr(error, "parameters", ()) if p in OPTION_OF]
    if not options:
        return str(error)
    return f"{error} (option{'s' if len(options) > 1 else ''} {', '.join(options)})"
