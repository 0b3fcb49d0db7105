"""The recipe registry: built-in recipes plus the `aiaas.recipes` entry-point group."""

from __future__ import annotations

import difflib
import importlib
from importlib.metadata import entry_points

from aiaas_cli.console import warn
from aiaas_cli.errors import ConfigError
from aiaas_cli.recipe_api import Recipe

GROUP = "aiaas.recipes"
BUILTIN = {
    "image-cls": "aiaas_recipes.image_cls.recipe:recipe",
    "text-cls": "aiaas_recipes.text_cls.recipe:recipe",
}


def available() -> dict[str, str]:
    """Recipe name -> 'module:attribute', built-ins first; plugins cannot shadow a built-in."""
    found = dict(BUILTIN)
    for ep in entry_points(group=GROUP):
        if ep.name in BUILTIN and ep.value != BUILTIN[ep.name]:
            warn(f"ignoring plugin recipe '{ep.name}' ({ep.value}): the name is built in")
            continue
        found.setdefault(ep.name, ep.value)
    return found


def load(name: str) -> Recipe:
    """Import and return the recipe called ``name``."""
    targets = available()
    if name not in targets:
        close = difflib.get_close_matches(name, targets, n=3)
        hint = f"did you mean {', '.join(close)}?" if close else "see `aiaas recipes`"
        raise ConfigError(f"unknown recipe '{name}'", hint)
    module_name, _, attr = targets[name].partition(":")
    obj = getattr(importlib.import_module(module_name), attr)
    recipe = obj() if isinstance(obj, type) else obj
    if not isinstance(recipe, Recipe):
        raise ConfigError(f"recipe '{name}' ({targets[name]}) is not an aiaas Recipe")
    return recipe
