"""The layers of the code, as the README's architecture section draws them: read from the
source (every import, those under TYPE_CHECKING included), so a newcomer's editor, a type
checker and these tests see the same graph."""

from __future__ import annotations

import ast
from pathlib import Path

from tornado_chat.config import PROJECT_ROOT

PACKAGE = PROJECT_ROOT / "tornado_chat"
PURE_HUB = ("tornado_chat.realtime.hub", "tornado_chat.realtime.channel", "tornado_chat.realtime.waiter")


def module_name(path: Path) -> str:
    parts = path.relative_to(PROJECT_ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(path: Path) -> set[str]:
    """Every module ``path`` imports, with the packages on the way (importing a.b.c runs a and a.b)."""
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)
    closed = set()
    for target in found:
        parts = target.split(".")
        closed.update(".".join(parts[:i]) for i in range(1, len(parts) + 1))
    return closed


def graph() -> dict[str, set[str]]:
    """Module -> the project's modules it imports (not its own parent packages, already running)."""
    modules = {module_name(p): p for p in PACKAGE.rglob("*.py")}
    edges = {}
    for name, path in modules.items():
        ancestors = {name.rsplit(".", i)[0] for i in range(1, name.count(".") + 1)}
        edges[name] = {t for t in imports_of(path) if t in modules and t != name and t not in ancestors}
    return edges


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for target in edges[node]:
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(edges):
        if node not in index:
            visit(node)
    return found


def test_no_module_of_the_package_takes_part_in_an_import_cycle() -> None:
    assert cycles(graph()) == []


def test_the_cycle_finder_finds_a_cycle() -> None:
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_the_hub_imports_no_storage_no_auth_and_nothing_http() -> None:
    for name in PURE_HUB:
        path = PACKAGE.joinpath(*name.split(".")[1:]).with_suffix(".py")
        imported = imports_of(path)
        assert not {m for m in imported if m.startswith(("tornado_chat.store", "tornado_chat.web", "tornado.web"))}
        assert "tornado_chat.auth" not in imported
        assert not {m for m in imported if m.startswith(("aiomysql", "pymysql", "tornado.httputil"))}


def test_handlers_import_no_database_driver() -> None:
    for path in (PACKAGE / "web").glob("*.py"):
        assert not {m for m in imports_of(path) if m.split(".")[0] in ("aiomysql", "pymysql")}, path.name


def test_sql_lives_only_in_the_storage_package() -> None:
    keywords = ("SELECT ", "INSERT INTO", "UPDATE ", "DELETE FROM")
    outside = [
        path.relative_to(PACKAGE)
        for path in PACKAGE.rglob("*.py")
        if "store" not in path.relative_to(PACKAGE).parts[:1] and path.name != "dbserver.py"
        and any(k in path.read_text(encoding="utf-8") for k in keywords)
    ]
    assert outside == []
