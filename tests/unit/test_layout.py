"""The layout's rules, read from the code's own imports (top-level and inside functions)."""

from __future__ import annotations

import ast
from pathlib import Path

from tests.paths import REPO_ROOT

PACKAGE = REPO_ROOT / "think"
LOWER_ROOMS = (
    "think.providers",
    "think.strategies",
    "think.ledger",
    "think.evaluate",
    "think.batch",
)


def module_name(path: Path) -> str:
    parts = path.relative_to(REPO_ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules() -> dict[str, Path]:
    return {module_name(path): path for path in sorted(PACKAGE.rglob("*.py"))}


def imports_of(name: str, path: Path, known: set[str]) -> set[str]:
    """The think modules ``name`` imports anywhere in its body (``TYPE_CHECKING`` blocks
    excluded: they are never executed)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    type_only: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            type_only.update(id(child) for stmt in node.body for child in ast.walk(stmt))
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(tree):
        if id(node) in type_only:
            continue
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            targets = [f"{base}.{alias.name}" for alias in node.names] + [base]
        else:
            continue
        for imported in targets:
            target = imported
            while target and target not in known:
                target = target.rpartition(".")[0]
            if target and target != name:
                found.add(target)
    return found


def import_graph() -> dict[str, set[str]]:
    found = modules()
    known = set(found)
    graph = {name: imports_of(name, path, known) for name, path in found.items()}
    # importing a package's module runs the package's __init__ too: not a cycle
    return {
        name: {n for n in targets if not name.startswith(n + ".")}
        for name, targets in graph.items()
    }


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Every strongly connected component of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

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
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_the_walker_sees_imports_inside_functions() -> None:
    graph = import_graph()
    # think.cli.ask_run imports the ledger recorder at the top and wiring imports the
    # strategy factory inside a function: both are edges.
    assert "think.ledger.recorder" in graph["think.cli.ask_run"]
    assert "think.strategies.factory" in graph["think.cli.wiring"]


def test_no_import_cycles() -> None:
    assert cycles(import_graph()) == []


def test_cycle_finder_finds_a_cycle() -> None:
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_settings_stay_above_the_lower_rooms() -> None:
    graph = import_graph()
    users = sorted(
        name
        for name, targets in graph.items()
        if name.startswith(LOWER_ROOMS) and "think.config.settings" in targets
    )
    assert users == []
    # nor do they reach the command-line layer
    climbing = sorted(
        f"{name} -> {target}"
        for name, targets in graph.items()
        if name.startswith(LOWER_ROOMS)
        for target in targets
        if target.startswith("think.cli")
    )
    assert climbing == []


def test_the_root_holds_at_most_15_modules() -> None:
    root = sorted(path.name for path in PACKAGE.glob("*.py"))
    assert len(root) <= 15, root


def test_no_module_is_over_450_lines() -> None:
    long = {
        name: length
        for name, path in modules().items()
        if (length := len(path.read_text(encoding="utf-8").splitlines())) > 450
    }
    assert long == {}
