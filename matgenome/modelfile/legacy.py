"""skops files: the estimator skeleton of model formats 1 and 2.

Formats 1 and 2 keep the estimator (format 1: with its trees) in skops' format, which
rebuilds objects from an allow-list of types instead of unpickling arbitrary code. They are
read through skops' public API only: the file's types are listed
(``skops.io.get_untrusted_types``), checked against ``TRUSTED_PREFIXES``, and exactly those
are passed as ``trusted`` to ``skops.io.loads``, which refuses any other type. Format 2 is
also written for an estimator the JSON skeleton of format 3 cannot describe.
"""

from __future__ import annotations

import re
import zipfile
from pathlib import Path
from typing import Any

from matgenome.errors import ModelFileError
from matgenome.modelfile.format import TRUSTED_PREFIXES


def import_skops_io() -> Any:
    """``skops.io`` (imported on first use: formats 1 and 2 only)."""
    import skops.io

    return skops.io


def load_skops(path: Path, data: bytes) -> Any:
    """Rebuild the object in a skops file's bytes if every type in it is on the allow-list."""
    skops_io = import_skops_io()
    try:
        untrusted = skops_io.get_untrusted_types(data=data)
    except Exception as exc:  # a damaged zip raises many types
        raise ModelFileError(f"{path} is not a readable skops file: {exc}") from None
    _refuse_foreign(path, untrusted)
    try:
        return skops_io.loads(data, trusted=untrusted)
    except Exception as exc:  # an incompatible library version raises many types
        raise ModelFileError(
            f"{path} could not be loaded with the installed libraries ({exc}). Rebuild it."
        ) from None


def dump_skops(value: Any, path: Path) -> None:
    """Write ``value`` as a skops file whose bytes depend only on ``value``."""
    import_skops_io().dump(value, path, compression=zipfile.ZIP_DEFLATED)
    _make_reproducible(path)


def _refuse_foreign(path: Path, untrusted: list[str]) -> None:
    foreign = [t for t in untrusted if not t.startswith(TRUSTED_PREFIXES)]
    if foreign:
        raise ModelFileError(
            f"{path} contains types matgenome does not load: {', '.join(foreign)}. "
            "Refusing to load it."
        )


_OBJECT_ID = re.compile(r'("__id__": )(\d+)|"(\d+)\.npy"')


def _make_reproducible(path: Path) -> None:
    """Rewrite a skops zip so that the same model always gives the same bytes.

    skops names array files and memo entries after ``id()`` of the objects, which changes
    from run to run; they are renumbered in order of first appearance in the schema, and
    entry times are fixed.
    """
    with zipfile.ZipFile(path) as source:
        entries = {info.filename: source.read(info) for info in source.infolist()}
    numbers: dict[str, str] = {}

    def renumber(match: re.Match[str]) -> str:
        old = match.group(2) or match.group(3)
        new = numbers.setdefault(old, str(len(numbers) + 1))
        return f"{match.group(1)}{new}" if match.group(1) else f'"{new}.npy"'

    schema = _OBJECT_ID.sub(renumber, entries.pop("schema.json").decode())
    renamed = {"schema.json": schema.encode()}
    for name, data in entries.items():
        stem = name.removesuffix(".npy")
        renamed[f"{numbers[stem]}.npy" if stem in numbers else name] = data
    with zipfile.ZipFile(path, "w") as target:
        for name in sorted(renamed):
            info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            target.writestr(info, renamed[name])
