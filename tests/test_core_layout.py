"""The core's shape (issue 23): no import circle between its modules, function-level imports included, and no
module of 300 lines or more."""

from __future__ import annotations

import ast
from pathlib import Path

import aiaas_cli

CORE = Path(aiaas_cli.__file__).parent


def _modules() -> dict[str, Path]:
    found = {}
    for path in CORE.rglob("*.py"):
        parts = ["aiaas_cli", *path.relative_to(CORE).with_suffix("").parts]
        found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return found


def _imports(path: Path, known: dict[str, Path]) -> set[str]:
    """The core modules ``path`` imports, anywhere in it (`from pkg import sub` counts as importing pkg.sub)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names if alias.name in known)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for alias in node.names:
                full = f"{node.module}.{alias.name}"
                found.add(full if full in known else node.module)
    return {name for name in found if name in known}


def _cycle_from(start: str, graph: dict[str, set[str]]) -> list[str] | None:
    """A path of imports that leads from ``start`` back to it, if there is one."""
    stack, seen = [(start, [start])], set()
    while stack:
        name, path = stack.pop()
        for imported in graph[name]:
            if imported == start:
                return [*path, start]
            if imported not in seen:
                seen.add(imported)
                stack.append((imported, [*path, imported]))
    return None


def test_no_import_circle_between_core_modules():
    known = _modules()
    graph = {name: _imports(path, known) - {name} for name, path in known.items()}
    circles = [cycle for name in sorted(graph) if (cycle := _cycle_from(name, graph))]
    assert not circles, "import circles: " + "; ".join(" -> ".join(c) for c in circles)


def test_every_core_module_is_under_300_lines():
    long = {str(p.relative_to(CORE)): n for p in CORE.rglob("*.py") if (n := len(p.read_text().splitlines())) >= 300}
    assert not long, long
