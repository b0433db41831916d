"""Provenance of outputs: which software, which data, which model and command made them.

The one home of the records every output carries:

* :func:`software_versions` - Python and library versions (result files, model cards);
* :func:`file_sha256`, :func:`table_sha256` - SHA-256 of a file and of table columns;
* :func:`json_safe` and :func:`write_json_atomic` - JSON with NaN as null and numpy values
  as plain ones, written through a temporary file renamed over the target;
* :func:`provenance` and :func:`write_sidecar` - every table or result a command writes
  gets a sidecar ``<output>.meta.json`` (written atomically, after the output itself);
  Parquet and Excel outputs also carry the same record inside the file (Parquet key-value
  metadata under ``matgenome``, the Excel workbook's ``description`` document property).

Kept free of heavy imports (numpy and the writers load on first use): the command line
builds the record before it knows whether a model is needed.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import math
import os
import platform
import sys
from collections.abc import Iterable, Mapping
from importlib import import_module
from pathlib import Path
from typing import Any

from matgenome._version import __version__
from matgenome.files import atomic_path

SIDECAR_SUFFIX = ".meta.json"
METADATA_KEY = "matgenome"

#: Versions in evaluation and benchmark results: name -> (distribution, module or None).
#: Distribution metadata is read first: pymatgen, for one, has no top-level __version__.
RESULT_PACKAGES: dict[str, tuple[str, str | None]] = {
    name: (dist, None) for name, dist in (
        ("numpy", "numpy"), ("pandas", "pandas"), ("scipy", "scipy"),
        ("sklearn", "scikit-learn"), ("pymatgen", "pymatgen"), ("matminer", "matminer"),
        ("matgenome", "matgenome"),
    )
}
#: Versions in a model card and manifest: the imported module's own ``__version__`` (what
#: ran), e.g. ``pymatgen.core.__version__``, which can differ from the metadata.
MODEL_PACKAGES: dict[str, tuple[str, str | None]] = {
    "matgenome": ("matgenome", "matgenome"),
    "numpy": ("numpy", "numpy"),
    "scikit-learn": ("scikit-learn", "sklearn"),
    "skops": ("skops", "skops"),
    "pymatgen": ("pymatgen", "pymatgen.core"),
    "matminer": ("matminer", None),
}


def software_versions(packages: Mapping[str, tuple[str, str | None]] = RESULT_PACKAGES,
                      missing: str = "not installed") -> dict[str, str]:
    """Python's version and one version per package (``missing`` when it is not installed).

    ``packages`` maps the name shown to ``(distribution, module)``: with a module, its
    ``__version__`` is used when it has one; otherwise the distribution's metadata, then
    the top-level module's ``__version__``.
    """
    versions = {"python": platform.python_version()}
    for name, (distribution, module) in packages.items():
        versions[name] = _package_version(distribution, module, missing)
    return versions


def _package_version(distribution: str, module: str | None, missing: str) -> str:
    from importlib import metadata  # ~0.1 s to import: only when versions are asked for

    if module is not None:
        try:
            own = getattr(import_module(module), "__version__", None)
        except ImportError:
            own = None
        if own is not None:
            return str(own)
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        pass
    try:
        imported = import_module(module or distribution)
    except ImportError:
        return missing
    return str(getattr(imported, "__version__", "unknown"))


def bytes_sha256(data: bytes) -> str:
    """SHA-256 of bytes already read (a file checked against its recorded hash)."""
    return hashlib.sha256(data).hexdigest()


def file_sha256(path: str | os.PathLike) -> str:
    """SHA-256 of a file's bytes, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def table_sha256(frame: Any, columns: Iterable[str] = ("formula", "target")) -> str:
    """SHA-256 of the given columns of a table, stable across pandas versions."""
    digest = hashlib.sha256()
    for column in columns:
        digest.update(column.encode())
        values = frame[column].to_numpy()
        digest.update("\x1f".join(map(repr, values.tolist())).encode())
    return digest.hexdigest()


def json_safe(value: Any) -> Any:
    """Plain JSON values: numpy scalars and arrays as Python ones, NaN/inf and pd.NA as
    None, dict keys as text, any other object as its ``repr``."""
    import numpy as np  # here, not at the top: the command line imports this module early

    return _json_safe(value, np)


def _json_safe(value: Any, np: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _json_safe(v, np) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_safe(v, np) for v in value]
    if isinstance(value, np.ndarray):
        return [_json_safe(v, np) for v in value.tolist()]
    if isinstance(value, bool | np.bool_):
        return bool(value)
    if isinstance(value, int | np.integer):
        return int(value)
    if isinstance(value, float | np.floating):
        return float(value) if math.isfinite(value) else None
    if value is None or isinstance(value, str):
        return value
    if type(value).__name__ == "NAType":  # pd.NA, without importing pandas
        return None
    return repr(value)


def json_text(data: Any, indent: int = 1, sort_keys: bool = False,
              strict: bool = True) -> str:
    """``data`` as JSON text with a final newline.

    ``strict`` first makes it :func:`json_safe` (no NaN tokens: strict JSON). Model cards
    and campaign state are written with ``strict=False``, as plain ``json.dumps``, so their
    bytes (and the manifest hashes of shipped models) stay as they were.
    """
    if strict:
        return json.dumps(json_safe(data), indent=indent, sort_keys=sort_keys,
                          allow_nan=False) + "\n"
    return json.dumps(data, indent=indent, sort_keys=sort_keys) + "\n"


def write_json_atomic(data: Any, path: str | os.PathLike, indent: int = 1,
                      sort_keys: bool = False, strict: bool = True) -> Path:
    """Write :func:`json_text` through a temporary file renamed over ``path`` (never a
    partial file; the usual umask permissions). Creates the parent directory."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    text = json_text(data, indent=indent, sort_keys=sort_keys, strict=strict)
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return path


def utc_now() -> str:
    """The current time in UTC, to the second, in ISO 8601 (the stamps of records)."""
    return _dt.datetime.now(_dt.UTC).replace(microsecond=0).isoformat()


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
    return write_json_atomic(record, sidecar_path(output), indent=2, sort_keys=True)


def read_sidecar(output: str | os.PathLike) -> dict[str, Any]:
    return json.loads(sidecar_path(output).read_text(encoding="utf-8"))
