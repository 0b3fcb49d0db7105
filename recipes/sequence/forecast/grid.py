"""Put observations on a regular time grid and say what that took (repeated, off-grid and missing timestamps)."""

from __future__ import annotations

from typing import Any

import numpy as np

from aiaas_cli.errors import ConfigError

NS_PER_DAY = 86_400 * 10**9
CALENDAR = {(28, 31): 1, (89, 92): 3, (365, 366): 12}  # spacings in days that mean months, quarters, years
MAX_GRID_GROWTH = 10  # a grid this many times longer than the observations means the step is wrong


def _average_repeats(t: np.ndarray, values: np.ndarray) -> tuple[np.ndarray, np.ndarray, int]:
    """Observations at the same time averaged (NaN ignored); how many rows repeated a timestamp."""
    unique, inverse = np.unique(t, return_inverse=True)
    if len(unique) == len(t):
        return t, values, 0
    finite = np.isfinite(values)
    sums, counts = np.zeros((len(unique), values.shape[1])), np.zeros((len(unique), values.shape[1]))
    np.add.at(sums, inverse, np.where(finite, values, 0.0))
    np.add.at(counts, inverse, finite)
    with np.errstate(invalid="ignore"):
        return unique, np.where(counts > 0, sums / np.maximum(counts, 1), np.nan), len(t) - len(unique)


def _grid(start: Any, end: Any, step: Any, dates: bool) -> tuple[np.ndarray, str]:
    """Grid times (numeric) from ``start`` to ``end`` and the step's name. ``step``: a pandas offset or number."""
    import pandas as pd

    if not dates:
        try:
            step = float(step)
        except (TypeError, ValueError):
            raise ConfigError(f"data.frequency={step} must be a number: the time column holds numbers") from None
        if step <= 0:
            raise ConfigError(f"data.frequency={step} must be positive")
        return start + step * np.arange(int(np.floor((end - start) / step + 1e-9)) + 1), f"{step:g}"
    try:
        grid = pd.date_range(pd.Timestamp(int(start)), pd.Timestamp(int(end)), freq=step)
    except ValueError as exc:
        raise ConfigError(f"data.frequency={step} is not a pandas frequency: {exc}") from None
    return grid.as_unit("ns").asi8.astype(np.float64), step_name(step)


def step_name(step: Any) -> str:
    """A short name for a grid step: "7D", "1h", "15min", "1 month", "3 months"; a pandas alias as given."""
    import pandas as pd

    if isinstance(step, pd.DateOffset) and step.kwds.get("months"):
        months = step.kwds["months"]
        return f"{months} month{'s' if months > 1 else ''}"
    if isinstance(step, pd.Timedelta):
        seconds = int(step.total_seconds())
        for unit, size in (("D", 86_400), ("h", 3_600), ("min", 60)):
            if seconds and seconds % size == 0:
                return f"{seconds // size}{unit}"
        return f"{step.total_seconds():g}s"
    return str(step)


SEASONS = {"1 month": 12, "3 months": 4, "7D": 52, "1D": 7, "1h": 24, "MS": 12, "ME": 12, "M": 12, "QS": 4,
           "QE": 4, "Q": 4, "D": 7, "h": 24, "H": 24, "B": 5}  # fmt: skip


def season_of(name: str) -> int:
    """Steps per seasonal cycle for a grid step (a year of months or weeks, a week of days, a day of hours); 1
    when there is no obvious one."""
    return 52 if name.startswith("W") else SEASONS.get(name, 1)


def _common_step(t: np.ndarray, dates: bool) -> Any:
    """The most common spacing, as a pandas offset for dates (calendar months and years recognised)."""
    import pandas as pd

    if len(t) < 2:
        raise ConfigError("the series has a single timestamp")
    spacings, counts = np.unique(np.diff(t), return_counts=True)
    step = spacings[np.argmax(counts)]
    if not dates:
        return step
    days = step / NS_PER_DAY
    for (low, high), months in CALENDAR.items():
        if low <= days <= high:
            return pd.DateOffset(months=months)
    return pd.Timedelta(int(step), "ns")


def _runs(flags: np.ndarray) -> int:
    """The longest run of True in ``flags``."""
    padded = np.concatenate([[0], flags.astype(np.int8), [0]])
    edges = np.flatnonzero(np.diff(padded))
    return int((edges[1::2] - edges[::2]).max()) if len(edges) else 0


def to_grid(times: np.ndarray, values: np.ndarray, names: list[str], frequency: Any = None):
    """(values on the grid (steps, features) float32, grid times, the step's name, what was found)."""
    dates = np.issubdtype(times.dtype, np.datetime64)
    t = times.astype("datetime64[ns]").astype(np.int64).astype(np.float64) if dates else times.astype(np.float64)
    order = np.argsort(t, kind="stable")
    t, values, repeated = _average_repeats(t[order], values[order])
    step = frequency if frequency is not None else _common_step(t, dates)
    grid, name = _grid(t[0], t[-1], step, dates)
    if len(grid) > MAX_GRID_GROWTH * len(t):
        raise ConfigError(f"a step of {name} gives {len(grid)} steps for {len(t)} observations", "set data.frequency=")
    nearest = np.clip(np.searchsorted(grid, t), 0, len(grid) - 1)
    spacing = np.median(np.diff(grid)) if len(grid) > 1 else 1.0
    on_grid = np.abs(grid[nearest] - t) <= 1e-6 * spacing
    observed = np.zeros(len(grid), bool)
    observed[nearest[on_grid]] = True
    filled = np.empty((len(grid), values.shape[1]), np.float64)
    for column in range(values.shape[1]):
        finite = np.isfinite(values[:, column])
        if not finite.any():
            raise ConfigError(f"column '{names[column]}' has no values")
        filled[:, column] = np.interp(grid, t[finite], values[finite, column])
    exact = np.zeros((len(grid), values.shape[1]), bool)
    exact[nearest[on_grid]] = np.isfinite(values[on_grid])
    report = {
        "observations": int(len(times)),
        "steps": int(len(grid)),
        "missing_steps": int((~observed).sum()),
        "longest_gap": _runs(~observed),
        "off_grid_timestamps": int((~on_grid).sum()),
        "repeated_timestamps": int(repeated),
        "filled_values": int((~exact).sum()),
    }
    grid_times = grid.astype(np.int64).astype("datetime64[ns]") if dates else grid
    return filled.astype(np.float32), grid_times, name, report
