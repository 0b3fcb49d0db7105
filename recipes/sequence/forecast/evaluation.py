"""Rolling-origin evaluation of a trained network on the test part, beside seasonal-naive and linear-AR baselines
scored on exactly the same windows."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np

from aiaas_recipes.common.report import baseline_entry, compare_table
from aiaas_recipes.sequence.forecast import scores, windows
from aiaas_recipes.sequence.forecast.scaling import denormalise

PLOT_WINDOWS = 60  # most forecasts drawn in the plot (from every horizon-th origin of the test part)


def seasonal_naive(series: np.ndarray, origins: np.ndarray, horizon: int, season: int, targets: int) -> np.ndarray:
    """Each step of the horizon repeats the value one season (or a whole number of seasons) before it."""
    steps = np.arange(horizon)
    lag = season * (steps // season + 1)
    return series[origins[:, None] + steps - lag][..., :targets].astype(np.float64)


def linear_ar(series: np.ndarray, meta: dict, origins: np.ndarray, train_origins: np.ndarray) -> np.ndarray:
    """A linear autoregression on the same scaled windows: ridge regression from the whole context (every feature,
    context_length lags) to every step of the horizon at once (direct multi-step), fitted on the train windows."""
    from sklearn.linear_model import Ridge

    x, y, _ = windows.scaled(series, train_origins, meta)
    model = Ridge(alpha=1.0).fit(x.reshape(len(x), -1), y.reshape(len(y), -1))
    x, _, level = windows.scaled(series, origins, meta)
    return denormalise(model.predict(x.reshape(len(x), -1)).reshape(-1, *y.shape[1:]), level, np.asarray(meta["scale"]))


def network_forecast(network, series: np.ndarray, origins: np.ndarray, meta: dict) -> np.ndarray:
    import torch

    x, _, level = windows.scaled(series, origins, meta)
    with torch.inference_mode():
        network.eval()
        outputs = [network(torch.from_numpy(x[i : i + 256])).numpy() for i in range(0, len(x), 256)]
    return denormalise(np.concatenate(outputs), level, np.asarray(meta["scale"]))


def _plot_data(series: np.ndarray, times: np.ndarray, origins: np.ndarray, forecasts: dict, meta: dict) -> dict:
    """The test part (first target) and a few non-overlapping forecasts of each model, for `write_plots`."""
    horizon, start = int(meta["horizon"]), int(meta["boundaries"]["test_start"])
    first = max(start - 2 * horizon, 0)
    picks = np.arange(0, len(origins), horizon)[:PLOT_WINDOWS]
    return {
        "target": meta["targets"][0],
        "times": [str(t)[:19] for t in times[first:]],
        "actual": series[first:, 0].round(6).tolist(),
        "test_from": start - first,
        "origins": (origins[picks] - first).tolist(),
        "forecasts": {name: values[picks, :, 0].round(6).tolist() for name, values in forecasts.items()},
    }


def evaluate_split(forecast: Callable, dataset_dir: Path, manifest: dict, split: str) -> dict:
    """Scores of ``forecast(series, origins)`` (forecasts in the series' units) beside the baselines, on ``split``."""
    series, origins = windows.load(dataset_dir, split)
    train_origins = np.load(Path(dataset_dir) / "train_origins.npy")
    horizon, targets, season = int(manifest["horizon"]), manifest["targets"], int(manifest["season"])
    actual = windows.cut(series, origins, int(manifest["context_length"]), horizon)[1][..., : len(targets)]
    forecasts = {
        "model": forecast(series, origins),
        "seasonal_naive": seasonal_naive(series, origins, horizon, season, len(targets)),
        "linear_ar": linear_ar(series, manifest, origins, train_origins),
    }
    found = {name: scores.score(values, actual, targets, manifest["mase_scale"]) for name, values in forecasts.items()}
    names = {"seasonal_naive": f"seasonal naive (season {season})", "linear_ar": "linear AR (ridge, direct)"}
    baselines = {key: baseline_entry(names[key], found[key]) for key in names}
    return {
        **found["model"],
        "baseline": baselines["seasonal_naive"],
        "baselines": baselines,
        "compare": compare_table(
            f"Model vs baselines: {len(origins)} rolling origins, horizon {horizon} ({split} part)",
            {"model": found["model"], **{names[key]: found[key] for key in names}},
            scores.NAMES,
        ),
        "windows": int(len(origins)),
        "horizon": horizon,
        "season": season,
        "plot": _plot_data(series, np.load(Path(dataset_dir) / "times.npy"), origins, forecasts, manifest),
    }
