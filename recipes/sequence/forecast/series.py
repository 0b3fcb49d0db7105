"""Read a series onto a regular time grid: a user's CSV/TSV/Parquet table, or the built-in statsmodels series.

Built-in: the Mauna Loa weekly atmospheric CO2 record, March 1958 - December 2001, shipped inside statsmodels'
wheel (``statsmodels/datasets/co2``; public domain; Keeling, C.D. and T.P. Whorf, 2004, "Atmospheric CO2
concentrations derived from flask air samples at sites in the SIO network", Trends: A Compendium of Data on
Global Change, CDIAC, Oak Ridge National Laboratory). Its file lacks 59 of the weeks: gaps as real data has them.

Timestamps are sorted; repeated ones are averaged; the step is ``data.frequency`` or the most common spacing
(calendar months, quarters and years recognised); every grid point without an observation, and every missing
value, is filled by linear interpolation in time. What was found is counted for the manifest.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from aiaas_cli.errors import ConfigError, UserError
from aiaas_recipes.sequence import tables
from aiaas_recipes.sequence.forecast.grid import to_grid

BUILTINS = {"co2": ("datasets/co2/co2.csv", "date", "%Y%m%d", "co2")}
CREDIT = "Mauna Loa weekly CO2 1958-2001 (statsmodels.datasets.co2; public domain; Keeling & Whorf 2004, CDIAC)"


@dataclass
class Series:
    values: np.ndarray  # (steps, features) float32 on the regular grid, targets first, then covariates
    times: np.ndarray  # (steps,) datetime64[ns] or float64
    targets: list[str]
    covariates: list[str]
    frequency: str
    source: str
    report: dict[str, int] = field(default_factory=dict)  # gaps, irregular and repeated timestamps, filled values
    skipped: list[dict] = field(default_factory=list)  # rows without a usable timestamp: {"file", "reason"}


def builtin_table(name: str) -> tuple[Path, str, str, str]:
    """(csv path, time column, time format, target) of a built-in series, found without importing statsmodels."""
    if name not in BUILTINS:
        raise ConfigError(f"unknown built-in series '{name}'", f"available: {', '.join(BUILTINS)}")
    spec = importlib.util.find_spec("statsmodels")
    if spec is None or not spec.origin:
        raise UserError("the built-in series needs statsmodels", "pip install statsmodels, or set data.path=")
    relative, time, fmt, target = BUILTINS[name]
    return Path(spec.origin).parent / relative, time, fmt, target


def _targets(given: Any, numeric: list[str]) -> list[str]:
    if given is None:
        if len(numeric) != 1:
            raise ConfigError(f"say which column(s) to forecast: data.target=NAME or [A,B] (numeric: {numeric})")
        return numeric
    names = [str(given)] if isinstance(given, str) else [str(n) for n in given]
    missing = [n for n in names if n not in numeric]
    if missing:
        raise ConfigError(f"data.target: {', '.join(missing)} is not a numeric column", f"numeric columns: {numeric}")
    return names


def _parse_times(column: Any, fmt: str | None) -> Any:
    """The time column as numbers or datetimes (pandas), NaN/NaT where a cell is neither."""
    import pandas as pd

    if fmt:
        return pd.to_datetime(column.astype(str), format=fmt, errors="coerce")
    parsed = pd.to_numeric(column, errors="coerce")
    if parsed.isna().sum() > column.isna().sum():  # some cells are not numbers: dates, then
        parsed = pd.to_datetime(column, errors="coerce", format="mixed")
    return parsed


def _frame(data_cfg: Any) -> tuple[Any, str | None, str | None, Any, str]:
    """(the table, its time column and time format if known, the target(s), where it came from)."""
    if data_cfg.path:
        path = Path(str(data_cfg.path)).expanduser().resolve()
        if not path.is_file():
            raise ConfigError(f"data.path={path} is not a file", "point it at a .csv, .tsv or .parquet table")
        frame = tables.read_table(path, data_cfg.format)
        return frame, data_cfg.time_column, data_cfg.time_format, data_cfg.target, str(path)
    path, time, time_format, target = builtin_table(str(data_cfg.builtin))
    return tables.read_table(path, "csv"), time, time_format, target, CREDIT


def read(data_cfg: Any) -> Series:
    """The configured series on its regular grid; rows without a usable timestamp are skipped and listed."""
    frame, time, time_format, target, source = _frame(data_cfg)
    frame.columns = [str(c) for c in frame.columns]
    time = tables.pick_column(list(frame.columns), time, tables.TIME_GUESSES, "time_column")
    if time is None:
        raise ConfigError("no time column found", f"name it with data.time_column= (columns: {list(frame.columns)})")
    numbers, _, _ = tables.numeric_frame(frame, {time})
    targets = _targets(target, list(numbers.columns))
    covariates = [str(c) for c in (data_cfg.covariates or [])]
    unknown = [c for c in covariates if c not in numbers.columns or c in targets]
    if unknown:
        raise ConfigError(f"data.covariates: {', '.join(unknown)} is not a numeric column other than the target")
    times = _parse_times(frame[time], time_format)
    bad = times.isna().to_numpy()
    name = Path(source).name if data_cfg.path else str(data_cfg.builtin)
    skipped = [{"file": f"{name}:row {i + 2}", "reason": f"no usable {time}: {frame[time].iloc[i]!r}"}
               for i in np.flatnonzero(bad)]  # fmt: skip
    if bad.all():
        raise ConfigError(f"no row of {name} has a usable {time}", "set data.time_format= (e.g. %Y%m%d)")
    columns = numbers[targets + covariates].to_numpy(np.float64)[~bad]
    values, grid_times, frequency, report = to_grid(times.to_numpy()[~bad], columns, targets + covariates,
                                                    data_cfg.frequency)  # fmt: skip
    return Series(values, grid_times, targets, covariates, frequency, source, report, skipped)
