"""Locate the data that ship with matgenome (datasets/, models/, seeds/).

In a source checkout or an editable install they sit at the top of the repository, beside
the package; a wheel carries them inside the package as ``matgenome/_shipped/<name>``.
Paths are resolved from this file's location, never from the current directory.
"""

from __future__ import annotations

from pathlib import Path

_PACKAGE_DIR = Path(__file__).resolve().parent
SHIPPED_NAMES = ("datasets", "models", "seeds")


def shipped_path(name: str) -> Path:
    """Return the directory of the shipped ``datasets``, ``models`` or ``seeds``."""
    if name not in SHIPPED_NAMES:
        raise ValueError(f"unknown shipped resource {name!r}; expected one of {SHIPPED_NAMES}")
    for candidate in (_PACKAGE_DIR / "_shipped" / name, _PACKAGE_DIR.parent / name):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(
        f"the shipped {name}/ directory was not found beside the matgenome package "
        f"({_PACKAGE_DIR}); reinstall matgenome from a full source checkout or wheel"
    )
