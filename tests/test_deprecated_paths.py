"""Moved modules keep their old import path for one release, with a DeprecationWarning."""

from __future__ import annotations

import importlib
import sys

import pytest

MOVED = {
    "matgenome.ranking.batch": "matgenome.ranking.batch_selection",
}


@pytest.mark.parametrize(("old", "new"), sorted(MOVED.items()))
def test_old_path_warns_and_reads_the_new_module(old: str, new: str) -> None:
    sys.modules.pop(old, None)
    with pytest.warns(DeprecationWarning, match=new.replace(".", r"\.")):
        shim = importlib.import_module(old)
    moved = importlib.import_module(new)
    public = [n for n in vars(moved) if not n.startswith("_")
              and getattr(getattr(moved, n), "__module__", None) == new]
    assert public
    for name in public:
        assert getattr(shim, name) is getattr(moved, name)
