"""Exceptions a user can fix, kept in a module with no heavy imports.

The command line catches these around every command; importing them must not pull in
pandas, scikit-learn or pymatgen, so that ``matgenome --help`` starts quickly. The classes
are re-exported from the modules that raise them (``matgenome.io``,
``matgenome.modelfile``, ``matgenome.composition``, ``matgenome.generation``), so both import
paths keep working. Every error a user can fix derives from :class:`MatgenomeError`; the
command line shows those as one line (exit status 2) and anything else as an internal error.

Messages speak in the library's terms: they name a function's parameter (``target_column``,
``output``), never a command-line option. An error about parameters lists them in
``parameters``, from which the command line adds its own option names
(the command line's ``error_text``).
"""

from __future__ import annotations

from collections.abc import Sequence


class MatgenomeError(Exception):
    """Base of the errors matgenome reports as one line (no traceback).

    Args:
        parameters: the names of the parameters the message is about (keyword only).
    """

    def __init__(self, *args: object, parameters: Sequence[str] = ()) -> None:
        super().__init__(*args)
        self.parameters = tuple(parameters)


class InputError(MatgenomeError):
    """A problem with a user's input file or column, with a message fit to show as is."""


class ModelFileError(MatgenomeError):
    """A model directory that is missing, damaged, modified or incompatible."""


class UsageError(MatgenomeError, ValueError):
    """A value given to a function or a command-line option that cannot be used (an
    unknown name, a count out of range, too few usable rows).

    Also a ``ValueError``, so code that catches ``ValueError`` keeps working.
    """


class CompositionError(MatgenomeError, ValueError):
    """A formula string that cannot be turned into a valid composition.

    Also a ``ValueError``, as it always was, so existing ``except ValueError`` code works.
    """

    def __init__(self, text: object, reason: str) -> None:
        self.parameters = ()
        self.text = text
        self.reason = reason
        shown = text if not isinstance(text, str) or len(text) <= 80 else text[:77] + "..."
        super().__init__(f"invalid formula {shown!r}: {reason}")


class SeedError(MatgenomeError, ValueError):
    """Invalid seed-family data; the message names the file, family and field.

    Also a ``ValueError``, as it always was.
    """


class DopingError(MatgenomeError, ValueError):
    """A substitution that cannot give a physical composition (also a ``ValueError``)."""
