"""Built-in image datasets, generated from data shipped inside installed packages (no network)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from aiaas_recipes.common.data import builtin

BUILTINS = ("digits",)


def _write_digits(out_dir: Path) -> None:
    from PIL import Image
    from sklearn.datasets import load_digits

    digits = load_digits()
    pixels = (digits.images * (255.0 / 16.0)).round().astype(np.uint8)
    for i, (image, target) in enumerate(zip(pixels, digits.target)):
        folder = out_dir / str(target)
        folder.mkdir(exist_ok=True)
        Image.fromarray(image, mode="L").save(folder / f"{i:04d}.png")


def materialize(name: str) -> Path:
    """Write the built-in dataset ``name`` as class folders once; return its root."""
    return builtin.materialize(name, BUILTINS, name, _write_digits)
