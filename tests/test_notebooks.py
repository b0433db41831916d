"""Every notebook runs top to bottom at its default settings, ships with its outputs, and
imports only the public API (the package's exports and the modules the README documents)."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
IDS = [p.stem for p in NOTEBOOKS]


def _code(notebook) -> list[str]:
    return [cell.source for cell in notebook.cells if cell.cell_type == "code"]


def _text(notebook) -> str:
    """Everything a reader sees: printed text and the plain-text form of results."""
    parts = []
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            parts.append(output.get("text", ""))
            parts.append(output.get("data", {}).get("text/plain", ""))
    return "\n".join(parts)


def _imports(source: str) -> list[tuple[str, str]]:
    """(module, name) for every import in a cell (IPython magics removed)."""
    tree = ast.parse("\n".join(line for line in source.splitlines()
                               if not line.lstrip().startswith(("%", "!"))))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            found += [(node.module or "", alias.name) for alias in node.names]
        elif isinstance(node, ast.Import):
            found += [(alias.name, "") for alias in node.names]
    return found


def _documented_modules() -> set[str]:
    return set(re.findall(r"`(matgenome(?:\.[a-z_]+)*)`", (ROOT / "README.md").read_text()))


def _check_outputs(stem: str, text: str) -> None:
    """What each notebook must show, read from its outputs."""
    if stem.startswith("01"):
        assert "(599, " in text and "compositions measured more than once" in text
    elif stem.startswith("02"):
        match = re.search(r"MAE (\d+\.\d+) log10\(S/cm\) on (\d+) uncensored test rows; 68% "
                          r"interval coverage (\d+\.\d+)", text)
        assert match, text[:2000]
        mae, rows, coverage = float(match[1]), int(match[2]), float(match[3])
        assert rows == 113 and 0.3 < mae < 1.5 and 0.4 < coverage <= 1.0
    elif stem.startswith("03"):
        assert re.search(r"\d+ candidates; \d+ already measured", text)
        first_row = re.search(r"^\s*\d+\s+(\S+)\s", text.split("rank")[-1], re.MULTILINE)
        assert first_row and first_row[1] == "1"  # the table starts at rank 1
    elif stem.startswith("04"):
        for strategy in ("cold-thompson-half", "ei", "random"):
            assert strategy in text
        assert "compositions" in text and "descriptors" in text
    elif stem.startswith("05"):
        rounds = [int(n) for n in re.findall(r"^round (\d+): trained on", text, re.MULTILINE)]
        assert rounds == [1, 2, 3, 4]
        assert re.search(r"\d+ measurements: \d+ starting rows, 24 recorded", text)
        assert "report.html" in text


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_notebook_uses_only_the_public_api(path: Path) -> None:
    nbformat = pytest.importorskip("nbformat")
    import matgenome

    documented = _documented_modules()
    for source in _code(nbformat.read(path, as_version=4)):
        for module, name in _imports(source):
            if not module.startswith("matgenome") or (module, name) == ("matgenome", ""):
                continue
            assert not name.startswith("_") and "._" not in module, (module, name)
            if module == "matgenome":  # an export, or a documented submodule
                assert name in matgenome.__all__ or f"matgenome.{name}" in documented, name
            else:
                assert module in documented, f"{module} is not documented in README.md"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_notebook_ships_with_its_outputs(path: Path) -> None:
    nbformat = pytest.importorskip("nbformat")
    notebook = nbformat.read(path, as_version=4)
    cells = [c for c in notebook.cells if c.cell_type == "code"]
    assert all(c.get("execution_count") for c in cells), "run every cell before saving"
    counts = [c["execution_count"] for c in cells]
    assert counts == list(range(1, len(cells) + 1)), "saved from one run, top to bottom"
    assert not [o for c in cells for o in c.outputs if o.get("output_type") == "error"]
    _check_outputs(path.stem, _text(notebook))


@pytest.mark.slow  # executes every notebook in a kernel
@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_notebook_runs_at_its_defaults(path: Path) -> None:
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    notebook = nbformat.read(path, as_version=4)
    for cell in notebook.cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    client = nbclient.NotebookClient(notebook, timeout=600, kernel_name="python3",
                                     resources={"metadata": {"path": str(path.parent)}})
    client.execute()
    errors = [o for cell in notebook.cells if cell.cell_type == "code"
              for o in cell.get("outputs", []) if o.get("output_type") == "error"]
    assert not errors
    images = [o for cell in notebook.cells for o in cell.get("outputs", [])
              if "image/png" in o.get("data", {})]
    assert images, "every notebook shows at least one figure"
    _check_outputs(path.stem, _text(notebook))
