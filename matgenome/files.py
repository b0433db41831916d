"""Atomic writes: a temporary file (or directory) beside the target, renamed over it only
on success, with the permissions a plain ``open()`` would have given.

The one home of atomic file writing: tables (``io``), JSON records (``provenance``), figures
(``plots``), reports and model directories all write through here, so an interrupted run
never leaves a truncated output.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path

from matgenome.errors import InputError

_UMASK_LOCK = threading.Lock()


def current_umask() -> int:
    """The process umask, read without a window where another thread sees it changed.

    os.umask can only be read by setting it, which is process-wide; Linux shows it in
    /proc/self/status, elsewhere it is set and restored under a lock.
    """
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    with _UMASK_LOCK:
        mask = os.umask(0o077)
        os.umask(mask)
    return mask


def apply_umask(path: str | os.PathLike, directory: bool = False) -> None:
    """Give ``path`` the mode a plain open()/mkdir() would have given it.

    tempfile.mkstemp creates files 0600 and mkdtemp directories 0700, which would make
    every output private after the rename; colleagues expect the usual umask.
    """
    os.chmod(path, (0o777 if directory else 0o666) & ~current_umask())


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it over ``path`` only on success.

    An interrupted or failed write leaves the old file (or none), never a truncated one.
    """
    path = Path(path)
    try:
        fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp",
                                        dir=path.parent)
    except OSError as exc:
        # The error would name the hidden temporary file; name the user's path instead.
        raise InputError(f"cannot write {path}: {exc.strerror or exc}") from None
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        yield tmp
        apply_umask(tmp)
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()
