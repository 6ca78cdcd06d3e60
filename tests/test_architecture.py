"""The floors of ARCHITECTURE.md, checked from the source tree (an AST walk, nothing imported).

- A package imports only from its own floor or lower ones, and never from a package it is kept apart
  from (web and reports; analysis and ingest; the analyses never reach a store).
- No import cycle between files (module-level imports; `if TYPE_CHECKING:` blocks do not count).
- An import inside a function says why on its line or the line above (a cycle it breaks, or a heavy
  optional dependency it defers).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "geo_service"

# Lower numbers are lower floors. A top-level module or package missing here fails the test, so a
# new package gets its floor (and its line in ARCHITECTURE.md) when it is created.
FLOORS = {
    "settings": 0, "cache": 0, "crs": 0, "text": 0, "progress": 0, "_catalog": 0,
    "catalog": 1,
    "store": 2,
    "analysis": 3, "ingest": 3, "styles": 3,
    "web": 4, "reports": 4, "demo": 4, "planning": 4,
    "api": 5,
    "cli": 6,
}
APART = {("web", "reports"), ("reports", "web"), ("analysis", "ingest"), ("ingest", "analysis"),
         ("analysis", "store"), ("demo", "web"), ("demo", "reports"), ("demo", "ingest"),
         ("planning", "web"), ("planning", "reports"), ("web", "planning"), ("reports", "planning")}


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _resolve(module: str, is_package: bool, node: ast.ImportFrom) -> str:
    if node.level == 0:
        return node.module or ""
    base = module.split(".") if is_package else module.split(".")[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join([*base, *([node.module] if node.module else [])])


def _in_type_checking(node: ast.AST, parents: dict) -> bool:
    while node in parents:
        node = parents[node]
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            return True
    return False


def _in_function(node: ast.AST, parents: dict) -> bool:
    while node in parents:
        node = parents[node]
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            return True
    return False


def _imports(path: Path):
    """(target module, line, inside a function, under TYPE_CHECKING) for each import of geo_service."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    parents = {child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}
    module, is_package = _module_name(path), path.name == "__init__.py"
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = _resolve(module, is_package, node)
            targets = [f"{base}.{a.name}" for a in node.names]
        else:
            continue
        for target in targets:
            if target.split(".")[0] == "geo_service":
                yield target, node.lineno, _in_function(node, parents), _in_type_checking(node, parents)


def _files() -> list[Path]:
    return sorted(p for p in PACKAGE.rglob("*.py") if "_catalog" not in p.parts)


def _existing(target: str, modules: set[str]) -> str | None:
    """The module file an import names (`from .x import name` names module x, or x.name if it is one)."""
    while target and target not in modules:
        target = target.rpartition(".")[0]
    return target or None


def _floor_of(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


@pytest.fixture(scope="module")
def graph():
    modules = {_module_name(p) for p in _files()}
    edges: dict[str, list[tuple[str, int, bool, bool]]] = {}
    for path in _files():
        found = []
        for target, line, in_function, type_only in _imports(path):
            resolved = _existing(target, modules)
            if resolved is not None:
                found.append((resolved, line, in_function, type_only))
        edges[_module_name(path)] = found
    return edges


def test_every_package_has_a_floor(graph):
    unknown = {_floor_of(m) for m in graph} - set(FLOORS) - {"__init__"}
    assert not unknown, f"give these a floor here and in ARCHITECTURE.md: {sorted(unknown)}"


def test_imports_go_down_the_floors(graph):
    wrong = []
    for module, targets in graph.items():
        here = _floor_of(module)
        for target, line, _, _ in targets:
            there = _floor_of(target)
            if here == there or here == "__init__":
                continue
            if FLOORS.get(there, 99) > FLOORS.get(here, -1) or (here, there) in APART:
                wrong.append(f"{module}:{line} imports {target} ({here} -> {there})")
    assert not wrong, "\n".join(wrong)


def test_no_import_cycle_between_files(graph):
    edges = {m: sorted({t for t, _, in_function, type_only in targets if not in_function and not type_only
                        and t != m})
             for m, targets in graph.items()}
    state: dict[str, int] = {}
    cycles = []

    def visit(node: str, stack: list[str]) -> None:
        state[node] = 1
        for nxt in edges.get(node, []):
            if state.get(nxt) == 1:
                cycles.append(" -> ".join([*stack[stack.index(nxt):], nxt]))
            elif nxt not in state:
                visit(nxt, [*stack, nxt])
        state[node] = 2

    for module in sorted(edges):
        if module not in state:
            visit(module, [module])
    # A package's __init__ re-exporting its modules is not a cycle of files that import each other.
    real = [c for c in cycles if not any(part.count(".") == 1 and part in edges and
                                         (PACKAGE / part.split(".", 1)[1] / "__init__.py").exists()
                                         for part in c.split(" -> "))]
    assert not real, "\n".join(real)


def test_function_level_imports_say_why():
    """A comment on the import's line, or above the block of imports it belongs to."""
    silent = []
    for path in _files():
        lines = path.read_text(encoding="utf-8").splitlines()
        tree = ast.parse("\n".join(lines))
        parents = {child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}
        imports = [n for n in ast.walk(tree) if isinstance(n, ast.Import | ast.ImportFrom)]
        covered = {i for n in imports for i in range(n.lineno, (n.end_lineno or n.lineno) + 1)}
        for node in imports:
            if not _in_function(node, parents) or "#" in lines[node.lineno - 1]:
                continue
            above = node.lineno - 1
            while above in covered or (above >= 1 and not lines[above - 1].strip()):  # the block, its blank lines
                above -= 1
            if above < 1 or not lines[above - 1].strip().startswith("#"):
                silent.append(f"{path.relative_to(PACKAGE.parent)}:{node.lineno}: {lines[node.lineno - 1].strip()}")
    assert not silent, "imports inside functions need a comment saying why:\n" + "\n".join(silent)


def test_the_checker_sees_a_wrong_import(tmp_path):
    """The walk itself works: an upward import and a silent function-level import are found."""
    bad = PACKAGE / "store" / "_architecture_probe.py"
    bad.write_text("from ..api import app\n\n\ndef f():\n    from ..web import x\n    return x\n", encoding="utf-8")
    try:
        found = list(_imports(bad))
        assert ("geo_service.api.app", 1, False, False) in found
        assert any(t.startswith("geo_service.web") and in_function for t, _, in_function, _ in found)
    finally:
        bad.unlink()
