"""What commands print and write beside their results: result tables, progress bars and
step bars on stderr, and the provenance record of their outputs (``FILE.meta.json``).
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from tqdm import tqdm

from matgenome.provenance import provenance
from matgenome.provenance import write_sidecar as _write_sidecar

if TYPE_CHECKING:
    import pandas as pd

log = logging.getLogger("matgenome")


# --- provenance --------------------------------------------------------------------------


def output_metadata(args: argparse.Namespace, model=None, **details) -> dict:
    """The provenance record of a command's outputs (see ``matgenome.provenance``)."""
    return provenance(args.command, getattr(args, "argv", None), model=model, **details)


def write_sidecar(path: str | Path, meta: dict) -> None:
    """The provenance record beside a written file (``FILE.meta.json``)."""
    _write_sidecar(path, meta)


# --- printing --------------------------------------------------------------------------


def print_top(frame: pd.DataFrame, heading: str | None, digits: str = ".3g",
              max_colwidth: int | None = None) -> None:
    """A heading line (if any), then ``frame`` as a text table (no index, floats formatted
    with ``digits``): the result tables of predict, rank, screen and campaign propose."""
    if heading is not None:
        print(heading)
    print(frame.to_string(index=False, float_format=lambda v: f"{v:{digits}}",
                          max_colwidth=max_colwidth))


# --- progress --------------------------------------------------------------------------


class _NoBar:
    def update(self, n: int) -> None:
        pass

    def __enter__(self) -> _NoBar:
        return self

    def __exit__(self, *exc: object) -> None:
        pass


def _bars_off(args: argparse.Namespace) -> bool:
    return bool(args.quiet) or not sys.stderr.isatty()


def progress(args: argparse.Namespace, total: int | None, unit: str):
    """A tqdm bar on stderr, off with --quiet or when stderr is not a terminal."""
    if _bars_off(args):
        return _NoBar()
    # Exact counts: with unit_scale the bar starts at "0.00/45.0k".
    return tqdm(total=total, unit=f" {unit}", unit_scale=False, dynamic_ncols=True,
                file=sys.stderr)


class Stages:
    """Progress through the named steps of a command, on a tqdm bar (or silently)."""

    def __init__(self, names: Sequence[str], bar=None) -> None:
        self.names, self.done, self.bar = list(names), 0, bar
        self._show()

    def _show(self) -> None:
        if self.bar is not None and self.done < len(self.names):
            self.bar.set_description_str(self.names[self.done])

    def next(self) -> None:
        """The current step is finished; the next one starts."""
        self.done += 1
        if self.bar is not None:
            self.bar.update(1)
        self._show()

    def note(self, text: str) -> None:
        """A detail of the current step (logged; shown beside the bar)."""
        log.info("%s", text)
        if self.bar is not None:
            self.bar.set_postfix_str(text)

    def __enter__(self) -> Stages:
        return self

    def __exit__(self, exc_type, *exc: object) -> None:
        if self.bar is not None:
            if exc_type is None:
                self.bar.update(len(self.names) - self.done)
            self.bar.close()


def stages(args: argparse.Namespace, names: Sequence[str]) -> Stages:
    """A bar over a command's steps on stderr; off with --quiet or without a terminal."""
    if _bars_off(args):
        return Stages(names)
    return Stages(names, tqdm(total=len(names), unit=" steps", dynamic_ncols=True,
                              file=sys.stderr,
                              bar_format="{desc}: {n_fmt}/{total_fmt} steps |{bar}| "
                              "[{elapsed}] {postfix}"))
