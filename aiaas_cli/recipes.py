"""The recipe registry: every recipe, built-in or third-party, comes from the `aiaas.recipes` entry points."""

from __future__ import annotations

import difflib
import importlib
from importlib.metadata import entry_points
from pathlib import Path

from aiaas_cli.console import warn
from aiaas_cli.errors import ConfigError
from aiaas_cli.recipe_api import SERVING_HOOKS, Metrics, Recipe

GROUP = "aiaas.recipes"
BUILTIN_PACKAGE = "aiaas_recipes."  # entry points into aiaas' own package are the built-in recipes


def available() -> dict[str, str]:
    """Recipe name -> 'module:attribute', built-ins first; plugins cannot shadow a built-in."""
    points = sorted(entry_points(group=GROUP), key=lambda ep: (not ep.value.startswith(BUILTIN_PACKAGE), ep.name))
    found: dict[str, str] = {}
    for ep in points:
        if ep.name in found and found[ep.name] != ep.value:
            warn(f"ignoring plugin recipe '{ep.name}' ({ep.value}): the name is taken by {found[ep.name]}")
            continue
        found[ep.name] = ep.value
    return found


def load(name: str) -> Recipe:
    """Import, check and return the recipe called ``name``."""
    targets = available()
    if name not in targets:
        close = difflib.get_close_matches(name, targets, n=3)
        hint = f"did you mean {', '.join(close)}?" if close else "see `aiaas recipes`"
        raise ConfigError(f"unknown recipe '{name}'", hint)
    module_name, _, attr = targets[name].partition(":")
    try:
        obj = getattr(importlib.import_module(module_name), attr)
    except (ImportError, AttributeError) as exc:
        raise ConfigError(f"recipe '{name}' ({targets[name]}) cannot be loaded: {exc}") from None
    recipe = obj() if isinstance(obj, type) else obj
    if not isinstance(recipe, Recipe):
        raise ConfigError(f"recipe '{name}' ({targets[name]}) is not an aiaas Recipe")
    missing = check(recipe)
    if missing:
        raise ConfigError(f"recipe '{name}' ({targets[name]}) does not implement: {', '.join(missing)}")
    return recipe


def load_all() -> dict[str, Recipe]:
    """Every recipe that loads; one warning line for each that does not."""
    loaded = {}
    for name in available():
        try:
            loaded[name] = load(name)
        except ConfigError as exc:
            warn(exc.one_line())
    return loaded


def _top_level_names(module: str) -> set[str] | None:
    """Names a module defines or imports at its top level, read from its source (importing it would load
    onnxruntime, and `aiaas recipes` must stay light). None when the module cannot be found."""
    import ast
    import importlib.util

    try:
        spec = importlib.util.find_spec(module)
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.origin or not spec.origin.endswith(".py"):
        return None
    names: set[str] = set()
    for node in ast.parse(Path(spec.origin).read_text()).body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:  # `a = ...` and `a, b = ...`
                names.update(t.id for t in getattr(target, "elts", [target]) if isinstance(t, ast.Name))
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names.update((alias.asname or alias.name).split(".")[0] for alias in node.names)
    return names


def check(recipe: Recipe) -> list[str]:
    """What ``recipe`` is missing: hooks left unimplemented, metrics, a serving module without its hooks."""
    missing = [hook for hook in Recipe.REQUIRED if getattr(type(recipe), hook) is getattr(Recipe, hook)]
    missing += [attr for attr in ("name", "config_name", "serving_module") if not getattr(recipe, attr)]
    if not isinstance(recipe.metrics, Metrics):
        missing.append("metrics")
    elif recipe.metrics.headline not in recipe.metrics.names:
        missing.append(f"metrics.headline '{recipe.metrics.headline}' among metrics.names")
    if recipe.serving_module:
        names = _top_level_names(recipe.serving_module)
        if names is None:
            return [*missing, f"serving module {recipe.serving_module} (not found)"]
        missing += [f"{recipe.serving_module}.{hook}" for hook in SERVING_HOOKS if hook not in names]
    return missing
