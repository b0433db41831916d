"""The package layout: data flows one way, so no module-level import cycle may appear."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "matgenome"


def _modules() -> dict[str, Path]:
    modules = {}
    for path in PACKAGE.rglob("*.py"):
        if "_shipped" in path.parts:
            continue
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        modules[name] = path
    return modules


def _imports(node: ast.stmt, modules: dict[str, Path]) -> list[str]:
    """matgenome modules a module-level import statement loads (a submodule, not its
    package, when the names imported are submodules)."""
    if isinstance(node, ast.ImportFrom) and node.module:
        submodules = [f"{node.module}.{a.name}" for a in node.names]
        if all(m in modules for m in submodules):
            return submodules
        return [node.module] if node.module in modules else []
    if isinstance(node, ast.Import):
        return [a.name for a in node.names if a.name in modules]
    return []


def test_no_module_level_import_cycle() -> None:
    modules = _modules()
    graph = {
        name: {dep for node in ast.parse(path.read_text(encoding="utf-8")).body
               for dep in _imports(node, modules) if dep != name}
        for name, path in modules.items()
    }
    state: dict[str, int] = {}
    cycles: list[list[str]] = []

    def visit(module: str, stack: list[str]) -> None:
        state[module] = 1
        stack.append(module)
        for dep in sorted(graph[module]):
            if state.get(dep) == 1:
                cycles.append([*stack[stack.index(dep):], dep])
            elif dep not in state:
                visit(dep, stack)
        stack.pop()
        state[module] = 2

    for module in sorted(graph):
        if module not in state:
            visit(module, [])
    assert len(modules) > 50
    assert not cycles, [" -> ".join(c) for c in cycles]
