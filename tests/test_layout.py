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


def _runtime_imports(tree: ast.Module, modules: dict[str, Path], name: str) -> set[str]:
    """matgenome modules the module ``name`` loads at any point at run time: module-level
    imports and imports inside functions (which hide a dependency, not remove it);
    ``if TYPE_CHECKING`` blocks are skipped."""
    found: set[str] = set()
    # Importing a.b.c runs a/__init__ and a/b/__init__ first, except the packages this
    # module sits in: they are already running when it is imported.
    inside = {".".join(name.split(".")[:i]) for i in range(1, name.count(".") + 1)}

    def walk(node: ast.AST) -> None:
        if isinstance(node, ast.If) and getattr(node.test, "id", None) == "TYPE_CHECKING":
            return
        if isinstance(node, ast.FunctionDef) and node.name == "__getattr__":
            return  # a package's lazy re-exports load on attribute use, not on import
        if isinstance(node, ast.Import | ast.ImportFrom):
            for imported in _imports(node, modules):
                parts = imported.split(".")
                found.update(m for m in (".".join(parts[:i]) for i in range(2, len(parts) + 1))
                             if m == imported or m not in inside)
        for child in ast.iter_child_nodes(node):
            walk(child)

    walk(tree)
    return found


def _runtime_graph() -> dict[str, set[str]]:
    modules = _modules()
    return {
        name: {dep for dep in _runtime_imports(ast.parse(path.read_text(encoding="utf-8")),
                                               modules, name)
               if dep != name}
        for name, path in modules.items()
    }


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


def test_no_import_circle_hidden_in_functions() -> None:
    """An import inside a function still makes one module depend on another; a circle closed
    that way is a layering fault the module-level check cannot see. No circle at all, inside
    a sub-package or across them."""
    cycles = [" -> ".join(c) for c in _cycles(_runtime_graph())]
    assert not cycles, cycles


# The floors of the package, lowest first. A module may import its own floor and the ones
# below, never one above (imports inside functions included). A module belongs to the
# longest prefix listed.
FLOORS: dict[str, tuple[str, ...]] = {
    # values and files: compositions and their keys, units, targets, censoring, tables,
    # atomic writes, provenance and hashing, errors
    "core": ("matgenome._version", "matgenome._deprecation", "matgenome.errors",
             "matgenome.resources", "matgenome.files", "matgenome.provenance",
             "matgenome.units", "matgenome.targets", "matgenome.target_values",
             "matgenome.censoring", "matgenome.composition", "matgenome.composition_arrays",
             "matgenome.composition_keys", "matgenome.tables", "matgenome.table_writer",
             "matgenome.textblocks",
             "matgenome.parallel"),
    # shipped data, descriptors and what is known about a composition
    "data": ("matgenome.datasets", "matgenome.labelled", "matgenome.features",
             "matgenome.known", "matgenome.supply", "matgenome.domain"),
    # estimators and the model file
    "models": ("matgenome.models", "matgenome.modelfile"),
    # metrics, splits, folds, leakage checks, results and their plots
    "evaluation": ("matgenome.evaluation", "matgenome.plots"),
    # model selection (cross-validation), training of regressors and classifiers
    "training": ("matgenome.selection", "matgenome.training_steps", "matgenome.training",
                 "matgenome.classification"),
    # the jobs users run: evaluate, generate, rank, score, screen, simulate, campaigns
    "workflows": ("matgenome.evaluation.runner", "matgenome.default_models",
                  "matgenome.generation", "matgenome.ranking", "matgenome.batch",
                  "matgenome.screen", "matgenome.simulation", "matgenome.campaign"),
    # the command line and the top-level convenience API
    "interface": ("matgenome", "matgenome.cli", "matgenome.__main__"),
}

# Old import paths kept for one release: they forward names to the module's new home.
DEPRECATED_PATHS = ("matgenome.io", "matgenome.campaign_data", "matgenome.campaign_round",
                    "matgenome.campaign_report", "matgenome.models.selection",
                    "matgenome.models.classifier_recipes", "matgenome.ranking.batch")


def _floor(module: str) -> int | None:
    matches = [(len(prefix), i) for i, prefixes in enumerate(FLOORS.values())
               for prefix in prefixes
               if module == prefix or (prefix != "matgenome" and module.startswith(prefix + "."))]
    return max(matches)[1] if matches else None


def test_every_module_has_a_floor() -> None:
    unplaced = [m for m in _modules() if _floor(m) is None and m not in DEPRECATED_PATHS]
    assert not unplaced, unplaced
    assert _floor("matgenome.no_such_module") is None


def _upward(graph: dict[str, set[str]]) -> list[str]:
    names = list(FLOORS)
    return [f"{module} ({names[_floor(module)]}) imports {dep} ({names[_floor(dep)]})"
            for module, deps in sorted(graph.items()) if module not in DEPRECATED_PATHS
            for dep in sorted(deps) if dep not in DEPRECATED_PATHS
            and (_floor(dep) or 0) > (_floor(module) or 0)]


def test_no_module_imports_a_floor_above_its_own() -> None:
    assert not _upward(_runtime_graph())


def test_the_floor_check_reports_an_upward_import() -> None:
    graph = {"matgenome.composition": {"matgenome.errors", "matgenome.training"},
             "matgenome.evaluation.metrics": {"matgenome.evaluation.runner"},
             "matgenome.campaign_data": {"matgenome.campaign.data"}}
    assert _upward(graph) == [
        "matgenome.composition (core) imports matgenome.training (training)",
        "matgenome.evaluation.metrics (evaluation) imports matgenome.evaluation.runner "
        "(workflows)"]


def test_no_module_imports_a_deprecated_path() -> None:
    users = [f"{module} imports {dep}" for module, deps in sorted(_runtime_graph().items())
             for dep in sorted(deps) if dep in DEPRECATED_PATHS and module not in DEPRECATED_PATHS]
    assert not users, users
