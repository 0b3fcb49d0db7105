"""Per-window scaling (numpy only: training, evaluation and the Bento use the same code).

A context window is centred on its own mean (its level) and divided by a per-feature scale fitted on the
training part; the model predicts the future on that scale. A series that drifts beyond anything seen in
training (CO2 keeps rising) so still reaches the network in the range it was trained on.
"""

from __future__ import annotations

import numpy as np

MAX_FIT_WINDOWS = 4096  # windows sampled to fit the scale on a long series


def normalise(context: np.ndarray, scale: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(context - its mean) / scale for (batch, steps, features) windows; and the means (batch, features)."""
    level = context.mean(axis=1, dtype=np.float64)
    return ((context - level[:, None, :]) / scale).astype(np.float32), level


def denormalise(forecast: np.ndarray, level: np.ndarray, scale: np.ndarray) -> np.ndarray:
    """The model's (batch, horizon, targets) output back in the series' units (targets are the first features)."""
    targets = forecast.shape[-1]
    return forecast.astype(np.float64) * scale[:targets] + level[:, None, :targets]


def fit_scale(train: np.ndarray, context: int) -> np.ndarray:
    """Per feature: the typical spread of a context window around its own mean over the training part."""
    starts = np.arange(0, len(train) - context + 1)
    if len(starts) > MAX_FIT_WINDOWS:
        starts = starts[np.linspace(0, len(starts) - 1, MAX_FIT_WINDOWS).astype(int)]
    windows = train[starts[:, None] + np.arange(context)]  # (windows, context, features)
    spread = np.sqrt(windows.astype(np.float64).var(axis=1).mean(axis=0))
    return np.where(spread > 1e-8, spread, 1.0)  # a constant feature: left unscaled
