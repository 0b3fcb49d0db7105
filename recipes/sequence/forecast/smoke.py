"""A tiny generated series for quick checks (the contract test, `smoke_overrides`): daily, weekly season, trend."""

from __future__ import annotations

from pathlib import Path

import numpy as np


def seasonal_table(path: Path, steps: int = 200, seed: int = 0, gaps: int = 0) -> Path:
    """A CSV with a date column and a `sales` column; ``gaps`` random days left out."""
    rng = np.random.default_rng(seed)
    days = np.arange(steps)
    values = 10 + 0.05 * days + 3 * np.sin(2 * np.pi * days / 7) + rng.normal(0, 0.3, steps)
    keep = np.sort(rng.permutation(steps)[: steps - gaps]) if gaps else days
    dates = np.datetime64("2024-01-01") + keep
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = ["date,sales", *(f"{d},{v:.4f}" for d, v in zip(dates, values[keep]))]
    path.write_text("\n".join(lines) + "\n")
    return path
