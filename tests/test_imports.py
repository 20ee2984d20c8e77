"""The import graph of SpatialClaw's own modules: every module imports, and none takes part in a cycle.

Edges are the ``import`` statements of each file (module level and inside functions, but not
under ``if TYPE_CHECKING:``), read with `ast`; ``primitives/`` and ``prompts/`` count as
``spatialclaw.primitives`` and ``spatialclaw.prompts``, as they are installed.
"""

from __future__ import annotations

import ast
import importlib

import pytest
from source_modules import NOT_IMPORTED, our_modules


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imported_names(tree: ast.AST, module: str, is_package: bool, known: set[str] | frozenset[str] = frozenset()) -> list[str]:
    """The modules the import statements of ``tree`` reach: ``from a import b`` reaches the
    module ``a.b`` when there is one (a submodule taken from its package), else ``a``."""
    names: list[str] = []
    todo = list(ast.iter_child_nodes(tree))
    while todo:
        node = todo.pop()
        if isinstance(node, ast.If) and _is_type_checking(node):
            todo.extend(node.orelse)
            continue
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = module.split(".") if is_package else module.split(".")[:-1]
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join(anchor + ([node.module] if node.module else []))
            names += [f"{base}.{alias.name}" if f"{base}.{alias.name}" in known else base for alias in node.names]
        todo.extend(ast.iter_child_nodes(node))
    return names


def import_graph() -> dict[str, set[str]]:
    modules = our_modules()
    graph: dict[str, set[str]] = {}
    for module, path in modules.items():
        tree = ast.parse(path.read_text(), filename=str(path))
        targets = _imported_names(tree, module, path.name == "__init__.py", set(modules))
        graph[module] = {t for t in targets if t in modules and t != module}
    return graph


def find_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph.get(node, ())):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return cycles


def test_the_cycle_finder_finds_a_planted_cycle() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert find_cycles(graph) == [["a", "b", "c"]]
    assert find_cycles({"a": {"b"}, "b": set()}) == []


def test_relative_imports_resolve_to_our_modules() -> None:
    tree = ast.parse("from .base import Adapter\nfrom . import pool\n")
    package = "spatialclaw.primitives.backends.learned"
    names = _imported_names(tree, f"{package}.segmentation", False, {f"{package}.base", f"{package}.pool"})
    assert sorted(names) == [f"{package}.base", f"{package}.pool"]


def test_no_import_cycles_among_our_modules() -> None:
    """Any cycle fails, through function-level imports too: layers import downwards only (a lower
    layer that needs something from above is handed a function, as `KernelContext.reconstruct_all`)."""
    cycles = find_cycles(import_graph())
    assert not cycles, "import cycles: " + "; ".join(" <-> ".join(c) for c in cycles)


@pytest.mark.parametrize("module", sorted(set(our_modules()) - NOT_IMPORTED))
def test_every_module_imports(module: str) -> None:
    importlib.import_module(module)
