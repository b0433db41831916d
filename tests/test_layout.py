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
    cycles = _cycles(graph)
    assert len(modules) > 50
    assert not cycles, [" -> ".join(c) for c in cycles]


def _runtime_imports(tree: ast.Module, modules: dict[str, Path]) -> set[str]:
    """matgenome modules a module loads at any point at run time: module-level imports and
    imports inside functions (which hide a dependency, not remove it); ``if TYPE_CHECKING``
    blocks are skipped."""
    found: set[str] = set()

    def walk(node: ast.AST) -> None:
        if isinstance(node, ast.If) and getattr(node.test, "id", None) == "TYPE_CHECKING":
            return
        if isinstance(node, ast.FunctionDef) and node.name == "__getattr__":
            return  # a package's lazy re-exports load on attribute use, not on import
        if isinstance(node, ast.Import | ast.ImportFrom):
            for name in _imports(node, modules):
                # Importing a.b.c runs a/__init__ and a/b/__init__ first.
                parts = name.split(".")
                found.update(".".join(parts[:i]) for i in range(2, len(parts) + 1))
        for child in ast.iter_child_nodes(node):
            walk(child)

    walk(tree)
    return found


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
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
    return cycles


def _package_of(module: str) -> str:
    return module.rsplit(".", 1)[0] if module.count(".") > 1 else module


def test_no_import_circle_hidden_in_functions() -> None:
    """An import inside a function still makes one module depend on another; a circle closed
    that way is a layering fault the module-level check cannot see. Modules of one
    sub-package (``cli``, ``features``, ...) may use one another; circles between the
    package's layers may not."""
    modules = _modules()
    graph = {
        name: {dep for dep in _runtime_imports(ast.parse(path.read_text(encoding="utf-8")),
                                               modules)
               if dep != name}
        for name, path in modules.items()
    }
    cycles = [" -> ".join(c) for c in _cycles(graph) if len({_package_of(m) for m in c}) > 1]
    assert not cycles, cycles
