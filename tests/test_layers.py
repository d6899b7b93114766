"""The package's layers (docs/architecture.md): every module imports only from its own layer or
the layers below it, and no chain of imports leads back to where it started. Imports made
inside functions, or only for type checkers, count as much as those at the top of a module."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "lenetcli"

# Lowest first. A module of a subpackage belongs to the subpackage's layer.
LAYERS = {
    "lenetcli": 0,  # __init__: the version
    "lenetcli.errors": 0,
    "lenetcli.config": 1,
    "lenetcli.options": 1,
    "lenetcli.science": 2,
    "lenetcli.outputs": 3,
    "lenetcli.studies": 4,
    "lenetcli.commands": 5,
    "lenetcli.cli": 6,
    "lenetcli.__main__": 7,
}


def module_names() -> dict[str, Path]:
    names = {}
    for path in PACKAGE.rglob("*.py"):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        names[".".join(parts)] = path
    return names


def imported(path: Path, name: str, modules: set[str]) -> set[str]:
    """The lenetcli modules that the module at path imports, anywhere in its text."""
    found = set()
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: from . import x, from ..y import z
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, *([base] if base else [])])
            found.add(base)
            found |= {f"{base}.{alias.name}" for alias in node.names}
    return {m for m in found if m in modules and m != name}


def import_graph() -> dict[str, set[str]]:
    names = module_names()
    return {name: imported(path, name, set(names)) for name, path in names.items()}


def layer(module: str) -> int:
    while module not in LAYERS:
        module = module.rpartition(".")[0]
    return LAYERS[module]


def test_every_module_has_a_layer():
    for module in import_graph():
        assert layer(module) >= 0


def test_modules_import_only_from_their_layer_or_below():
    upward = [
        f"{module} imports {target}"
        for module, targets in import_graph().items()
        for target in targets
        if layer(target) > layer(module) and target != "lenetcli"
    ]
    assert upward == []


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle as a list of modules (first == last), or None."""
    state: dict[str, str] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = "open"
        stack.append(node)
        for target in sorted(graph.get(node, ())):
            if state.get(target) == "open":
                return [*stack[stack.index(target) :], target]
            if target not in state and (cycle := visit(target)):
                return cycle
        state[node] = "done"
        stack.pop()
        return None

    for node in sorted(graph):
        if node not in state and (cycle := visit(node)):
            return cycle
    return None


def test_no_import_cycles():
    graph = import_graph()
    # A package's __init__ is imported on the way to its modules; it imports none of them.
    assert find_cycle(graph) is None, " -> ".join(find_cycle(graph))


@pytest.mark.parametrize(
    "graph, cycle",
    [
        ({"a": {"b"}, "b": {"c"}, "c": set()}, None),
        ({"a": {"b"}, "b": {"c"}, "c": {"a"}}, ["a", "b", "c", "a"]),
        ({"a": {"a"}}, ["a", "a"]),
    ],
)
def test_find_cycle_finds_the_loop_it_should(graph, cycle):
    assert find_cycle(graph) == cycle


def test_a_late_import_inside_a_function_counts(tmp_path):
    module = tmp_path / "m.py"
    module.write_text("def f():\n    from lenetcli.config import TrainConfig\n")
    assert imported(module, "lenetcli.x", {"lenetcli.config", "lenetcli.x"}) == {"lenetcli.config"}
