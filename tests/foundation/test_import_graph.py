"""The package's import structure: no cycles, and assets and sensors never import each other."""

from __future__ import annotations

import ast
from pathlib import Path

from tests.helpers.paths import REPO_ROOT

PACKAGE = "impressox_pipelines"


def module_name(path: Path) -> str:
    parts = path.relative_to(REPO_ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def import_graph() -> dict[str, set[str]]:
    """module → the project modules it imports anywhere in its text (function-level imports included)."""
    modules = {module_name(p): p for p in (REPO_ROOT / PACKAGE).rglob("*.py")}
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        targets: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = [node.module] + [f"{node.module}.{alias.name}" for alias in node.names]
            else:
                continue
            # `from pkg import module` names a module; `from module import name` names the module.
            targets.update(n for n in names if n in modules and n != name)
        graph[name] = targets
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in graph[node]:
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_the_package_has_no_import_cycle():
    assert cycles(import_graph()) == []


def test_the_cycle_finder_finds_a_cycle():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_assets_and_sensors_never_import_each_other():
    graph = import_graph()
    crossings = [(m, t) for m, targets in graph.items() for t in targets
                 if (m.startswith(f"{PACKAGE}.assets") and t.startswith(f"{PACKAGE}.sensors"))
                 or (m.startswith(f"{PACKAGE}.sensors") and t.startswith(f"{PACKAGE}.assets"))]
    assert crossings == []


def test_plain_modules_import_no_dagster_and_nothing_above_them():
    shell = ("assets", "jobs", "sensors", "defs", "resources", "cli", "demo", "definitions")
    plain = ("connections", "events", "market", "x", "airdrops", "notify", "rag", "operations", "stores", "settings",
             "variables")
    problems = []
    for name, targets in import_graph().items():
        floor = name.split(".")[1] if "." in name else ""
        if floor not in plain:
            continue
        problems += [(name, t) for t in targets if t.split(".")[1] in shell]
        text = (REPO_ROOT / Path(*name.split("."))).with_suffix(".py")
        path = text if text.exists() else REPO_ROOT / Path(*name.split(".")) / "__init__.py"
        if "import dagster" in path.read_text(encoding="utf-8") or "from dagster" in path.read_text(encoding="utf-8"):
            problems.append((name, "dagster"))
    assert problems == []
