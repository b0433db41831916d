"""Provenance of output files: which matgenome, which model and which command made them.

Every table or result a command writes gets a sidecar ``<output>.meta.json`` (written
atomically, after the output itself); Parquet and Excel outputs also carry the same record
inside the file (Parquet key-value metadata under ``matgenome``, the Excel workbook's
``description`` document property). Kept free of heavy imports: the command line builds
the record before it knows whether a model is needed.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

from matgenome._version import __version__
from matgenome.errors import InputError

SIDECAR_SUFFIX = ".meta.json"
METADATA_KEY = "matgenome"


def model_record(model: Any) -> dict[str, Any]:
    """Name, manifest hash, target, unit and feature preset of a loaded ``TrainedModel``."""
    card = getattr(model, "card", {}) or {}
    target = card.get("target", {}) or {}
    return {
        "name": getattr(model, "name", None) or card.get("name"),
        "sha256": getattr(model, "sha256", None),
        "path": str(model.path) if getattr(model, "path", None) else None,
        "target": target.get("name"),
        "unit": target.get("unit"),
        "feature_preset": card.get("feature_preset"),
    }


def provenance(command: str, argv: list[str] | None = None, model: Any = None,
               **details: Any) -> dict[str, Any]:
    """The record written beside an output: matgenome version, the command line, the model
    (when one made the output) and any command-specific ``details``."""
    record: dict[str, Any] = {
        "matgenome_version": __version__,
        "command": command,
        "argv": ["matgenome", *(argv if argv is not None else sys.argv[1:])],
        "model": model_record(model) if model is not None else None,
    }
    record.update(details)
    return record


def sidecar_path(output: str | os.PathLike) -> Path:
    output = Path(output)
    return output.with_name(output.name + SIDECAR_SUFFIX)


def write_sidecar(output: str | os.PathLike, record: dict[str, Any]) -> Path:
    """Write ``record`` to ``<output>.meta.json`` atomically (temp file, then os.replace)."""
    path = sidecar_path(output)
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as exc:
        # The error would name the hidden temporary file; name the user's path instead.
        raise InputError(f"cannot write {path}: {exc.strerror or exc}") from None
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(record, handle, indent=2, sort_keys=True)
            handle.write("\n")
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return path


def read_sidecar(output: str | os.PathLike) -> dict[str, Any]:
    return json.loads(sidecar_path(output).read_text(encoding="utf-8"))
