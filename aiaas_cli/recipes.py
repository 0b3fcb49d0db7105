"""The recipe registry: every recipe, built-in or third-party, comes from the `aiaas.recipes` entry points."""

from __future__ import annotations

import difflib
import importlib
from importlib.metadata import entry_points

from aiaas_cli.console import warn
from aiaas_cli.errors import ConfigError
from aiaas_cli.recipe_api import Recipe, check

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
