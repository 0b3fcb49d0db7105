"""Built-in datasets are generated once into the workspace's builtin folder, atomically (a killed generation leaves
nothing half-written behind), and reused by every later run."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path

from aiaas_cli import workspace
from aiaas_cli.errors import ConfigError


def materialize(name: str, known: Iterable[str], folder: str, write: Callable[[Path], object]) -> Path:
    """``workspace.builtin_dir() / folder``, written by ``write(temp_dir)`` the first time; ``name`` must be known."""
    known = tuple(known)
    if name not in known:
        raise ConfigError(f"unknown built-in dataset '{name}'", f"available: {', '.join(known)}")
    root = workspace.builtin_dir() / folder
    if not root.exists():
        with workspace.atomic_dir(root) as temp:
            write(temp)
    return root
