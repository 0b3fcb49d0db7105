"""Windows cut from the regular series by origin: the context before it, the horizon from it (numpy only)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from aiaas_recipes.sequence.forecast.scaling import normalise


def load(dataset_dir: Path, split: str) -> tuple[np.ndarray, np.ndarray]:
    """The whole series (steps, features) float32, memory-mapped (cutting a batch's windows reads only their steps),
    and the origins of ``split``'s windows."""
    folder = Path(dataset_dir)
    return np.load(folder / "series.npy", mmap_mode="r"), np.load(folder / f"{split}_origins.npy")


def cut(series: np.ndarray, origins: np.ndarray, context: int, horizon: int) -> tuple[np.ndarray, np.ndarray]:
    """(contexts (N, context, features), futures (N, horizon, features)) in the series' units."""
    origins = np.asarray(origins, dtype=np.int64)
    past = series[origins[:, None] + np.arange(-context, 0)]
    future = series[np.minimum(origins[:, None] + np.arange(horizon), len(series) - 1)]
    return past, future


def scaled(series: np.ndarray, origins: np.ndarray, meta: dict) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(model inputs, targets on the model's scale (N, horizon, targets), levels (N, features))."""
    scale = np.asarray(meta["scale"])
    targets = len(meta["targets"])
    past, future = cut(series, origins, int(meta["context_length"]), int(meta["horizon"]))
    x, level = normalise(past, scale)
    y = (future[..., :targets] - level[:, None, :targets]) / scale[:targets]
    return x, y.astype(np.float32), level


def origins(start: int, stop: int, context: int, horizon: int, stride: int = 1) -> np.ndarray:
    """Origins whose horizon lies in [start, stop) and whose context lies in the series."""
    return np.arange(max(start, context), stop - horizon + 1, stride, dtype=np.int64)
