"""Turn a series into the dataset dir: the regular series, its time-ordered split and the window origins.

Files: ``series.npy`` (steps, features) float32 (targets first, then covariates; gaps filled), ``times.npy``,
and ``{split}_origins.npy``: the step each window's horizon starts at. The series is split by time, never
shuffled: train, then val, then test (the last part). Training windows have their whole horizon in train;
test windows start at every ``data.eval_stride``-th step of the test part (rolling origin) and may read their
context from before it, as a forecast made at that time could.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from aiaas_cli.errors import ConfigError
from aiaas_recipes.sequence.forecast import windows
from aiaas_recipes.sequence.forecast.grid import season_of
from aiaas_recipes.sequence.forecast.scaling import fit_scale
from aiaas_recipes.sequence.forecast.series import Series, read


def _positive_int(value: Any, key: str, least: int = 1) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < least:
        raise ConfigError(f"{key}={value} must be an integer of at least {least}")
    return value


def check_settings(cfg: Any) -> None:
    _positive_int(cfg.horizon, "horizon")
    _positive_int(cfg.context_length, "context_length", 2)
    _positive_int(cfg.data.eval_stride, "data.eval_stride")
    if cfg.data.get("history_length") is not None:
        _positive_int(cfg.data.history_length, "data.history_length", 2)
    if cfg.data.season is not None:
        _positive_int(cfg.data.season, "data.season")
    val, test = cfg.data.split.val, cfg.data.split.test
    if not (0 <= val < 1 and 0 < test < 1 and val + test < 1):
        raise ConfigError(f"data.split.val={val} and data.split.test={test} must be fractions summing to less than 1")


def boundaries(steps: int, cfg: Any) -> tuple[int, int]:
    """(first val step, first test step) of a series of ``steps``, checked to leave windows in train and test."""
    context, horizon = int(cfg.context_length), int(cfg.horizon)
    test_start = steps - max(int(round(steps * cfg.data.split.test)), horizon)
    val_start = test_start - int(round(steps * cfg.data.split.val))
    if val_start < context + horizon:
        raise ConfigError(
            f"the series has {steps} steps; its training part ({val_start}) is shorter than context_length + "
            f"horizon ({context} + {horizon})",
            "lower context_length or horizon, or give a longer series",
        )
    return val_start, test_start


HISTORY_STEPS = (120, 400)  # the least a statistical model re-reads by default, and the most (a long season's)


def history_length(cfg: Any, val_start: int, season: int) -> int:
    """Steps a statistical model re-reads when it forecasts (the served window of its linear map): data.history_length,
    else ten seasons or horizons (at least 120, at most 400): a filter run over a long window forgets where it
    started, as one over the whole history does. Never below context_length, nor above the training part (so every
    val and test origin has that much before it)."""
    wanted = cfg.data.get("history_length")
    if wanted is None:
        least, most = HISTORY_STEPS
        wanted = min(max(10 * season, 10 * int(cfg.horizon), least), most)
    return int(min(max(int(wanted), int(cfg.context_length)), val_start))


def mase_scale(train: np.ndarray, season: int) -> list[float]:
    """Per target: the mean absolute error of the in-sample seasonal-naive forecast over the training part."""
    lag = season if season < len(train) else 1
    errors = np.abs(train[lag:] - train[:-lag]).mean(axis=0, dtype=np.float64)
    return np.where(errors > 1e-12, errors, 1.0).tolist()


def _warnings(series: Series) -> list[str]:
    found, lines = series.report, []
    if found["missing_steps"]:
        lines.append(
            f"{found['missing_steps']} step(s) of {series.frequency} had no row (longest gap {found['longest_gap']})"
        )
    if found["off_grid_timestamps"]:
        lines.append(f"{found['off_grid_timestamps']} timestamp(s) fall between steps of {series.frequency}")
    if found["repeated_timestamps"]:
        lines.append(f"{found['repeated_timestamps']} row(s) repeat a timestamp (averaged)")
    if found["filled_values"]:
        lines.append(f"filled {found['filled_values']} missing value(s) by linear interpolation in time")
    return lines


def build(cfg: Any, out_dir: Path) -> dict:
    check_settings(cfg)
    series = read(cfg.data)
    steps = len(series.values)
    context, horizon = int(cfg.context_length), int(cfg.horizon)
    val_start, test_start = boundaries(steps, cfg)
    season = int(cfg.data.season or season_of(series.frequency))
    targets = len(series.targets)
    np.save(out_dir / "series.npy", series.values)
    np.save(out_dir / "times.npy", series.times)
    spans = {"train": (0, val_start, 1), "val": (val_start, test_start, 1), "test": (test_start, steps, 0)}
    splits = {}
    for split, (start, stop, stride) in spans.items():
        found = windows.origins(start, stop, context, horizon, stride or int(cfg.data.eval_stride))
        np.save(out_dir / f"{split}_origins.npy", found)
        splits[split] = int(len(found))
    times = series.times
    return {
        "source": series.source,
        "targets": series.targets,
        "covariates": series.covariates,
        "frequency": series.frequency,
        "season": season,
        "horizon": horizon,
        "context_length": context,
        "history_length": history_length(cfg, val_start, season),
        "steps": int(steps),
        "boundaries": {"val_start": val_start, "test_start": test_start},
        "time_range": [str(times[0]), str(times[-1])],
        "test_from": str(times[test_start]),
        "scale": fit_scale(series.values[:val_start], context).round(8).tolist(),
        "mase_scale": mase_scale(series.values[:val_start, :targets], season),
        "gaps": series.report,
        "splits": splits,
        "skipped": series.skipped,
        "skipped_what": "row(s) without a usable timestamp",
        "warnings": _warnings(series),
    }
