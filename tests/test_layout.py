"""The layout's rules, read from the source with `ast` (nothing is imported, so this stays fast): no recipe imports
another recipe (shared parts live in recipes/common/), no two core modules import each other, no module is long."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = {"aiaas_cli": ROOT / "aiaas_cli", "aiaas_recipes": ROOT / "recipes"}  # import name: folder
SHARED_RECIPE_PACKAGE = "common"
MAX_LINES = 300


def modules(package: str) -> dict[str, Path]:
    """Every module of an installed package by its import name (a package is its __init__.py)."""
    folder, found = PACKAGES[package], {}
    for path in sorted(folder.rglob("*.py")):
        parts = path.relative_to(folder).with_suffix("").parts
        found[".".join((package, *parts[: -1 if parts[-1] == "__init__" else None]))] = path
    return found


def imports(name: str, path: Path) -> list[tuple[str, int]]:
    """(module, line) for each import in ``path``, module or function level, relative ones resolved. For
    `from pkg import x` both `pkg` and `pkg.x` are listed: x may be a submodule."""
    package = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found += [(alias.name, node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = package[: len(package) - node.level + 1] if node.level else []
            module = ".".join([*base, *([node.module] if node.module else [])])
            found += [(module, node.lineno), *((f"{module}.{alias.name}", node.lineno) for alias in node.names)]
    return found


def rel(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


def sibling_recipe_imports() -> list[str]:
    """'file:line imports aiaas_recipes.X' for each import of another recipe package than the file's own."""
    offences = set()
    for name, path in modules("aiaas_recipes").items():
        own = name.split(".")[1:2]
        for module, line in imports(name, path):
            parts = module.split(".")
            if parts[0] == "aiaas_recipes" and len(parts) > 1 and own and parts[1] not in (*own, SHARED_RECIPE_PACKAGE):
                offences.add(f"{rel(path)}:{line} imports aiaas_recipes.{parts[1]}")
    return sorted(offences)


def core_import_circles() -> list[str]:
    """'A <-> B (a.py:line, b.py:line)' for each pair of aiaas_cli modules that import each other."""
    core = modules("aiaas_cli")
    edges: dict[tuple[str, str], int] = {}  # (importer, imported): first line
    for name, path in core.items():
        for module, line in imports(name, path):
            if module in core and module != name:
                edges.setdefault((name, module), line)
    return [
        f"{a} <-> {b} ({rel(core[a])}:{edges[a, b]}, {rel(core[b])}:{edges[b, a]})"
        for a, b in sorted(edges)
        if a < b and (b, a) in edges
    ]


def long_modules() -> list[str]:
    """'file: N lines' for each module of aiaas_cli/ and recipes/ over MAX_LINES."""
    paths = [path for package in PACKAGES for path in modules(package).values()]
    counts = {rel(path): len(path.read_text().splitlines()) for path in paths}
    return [f"{path}: {n} lines" for path, n in sorted(counts.items()) if n > MAX_LINES]


def test_no_recipe_imports_another_recipe():
    offences = sibling_recipe_imports()
    assert not offences, "a recipe imports another recipe (move the shared part to recipes/common/):\n" + "\n".join(
        offences
    )


def test_no_two_core_modules_import_each_other():
    circles = core_import_circles()
    assert not circles, "aiaas_cli modules that import each other:\n" + "\n".join(circles)


def test_no_module_is_over_300_lines():
    offenders = long_modules()
    assert not offenders, f"modules over {MAX_LINES} lines (split them by job):\n" + "\n".join(offenders)
