"""A tiny generated table for quick checks (`smoke_overrides`, the contract test): seconds, not minutes."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np


def mixed_table(path: Path, task: str, rows: int = 60, seed: int = 0) -> Path:
    """A number with missing values, a category, a yes/no column and a target that follows from them."""
    rng = np.random.default_rng(seed)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["size", "colour", "member", "target"])
        for i in range(rows):
            size, colour, member = rng.normal(), rng.choice(["red", "blue", "green"]), bool(rng.random() < 0.5)
            score = size + (colour == "red") + 0.5 * member
            target = ("high" if score > 0.7 else "low") if task == "classification" else f"{10 * score:.3f}"
            writer.writerow(["NA" if i % 7 == 0 else f"{size:.3f}", colour, "yes" if member else "no", target])
    return path
