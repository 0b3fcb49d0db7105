"""Tiny generated datasets for quick checks of the classification recipes (the contract test, `smoke_overrides`)."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

COLOURS = {"red": (200, 30, 30), "green": (30, 180, 40), "blue": (40, 60, 210)}
WORDS = {"food": "pasta oven bread", "sports": "goal team match", "tech": "laptop chip code"}


def colour_folders(root: Path, per_class: int = 12, size: int = 12, seed: int = 0) -> Path:
    """Class folders of noisy single-colour PNGs, one folder per colour."""
    from PIL import Image

    rng = np.random.default_rng(seed)
    for name, rgb in COLOURS.items():
        (root / name).mkdir(parents=True, exist_ok=True)
        for i in range(per_class):
            pixels = np.clip(np.array(rgb) + rng.normal(0, 25, (size, size, 3)), 0, 255).astype(np.uint8)
            Image.fromarray(pixels).save(root / name / f"{i:03d}.png")
    return root


def keyword_table(path: Path, per_class: int = 20, seed: int = 0) -> Path:
    """A CSV of short texts whose label follows from their words."""
    rng = np.random.default_rng(seed)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["text", "label"])
        for label, words in WORDS.items():
            vocabulary = words.split()
            for _ in range(per_class):
                writer.writerow([" ".join(rng.choice(vocabulary, size=int(rng.integers(2, 6)))), label])
    return path
