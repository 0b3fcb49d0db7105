"""Read the user's tables (CSV/TSV/Parquet) with pandas and pick columns by name or by guess (preprocessing only)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from aiaas_cli.errors import ConfigError, UserError
from aiaas_recipes.sequence.files import TIME_NAMES

FORMATS = {".csv": "csv", ".tsv": "tsv", ".tab": "tsv", ".txt": "csv", ".parquet": "parquet", ".pq": "parquet"}
TIME_GUESSES = TIME_NAMES


def table_format(path: Path, fmt: str | None = None) -> str:
    if fmt:
        if fmt not in ("csv", "tsv", "parquet"):
            raise ConfigError(f"data.format={fmt} is not one of csv, tsv, parquet")
        return fmt
    if path.suffix.lower() not in FORMATS:
        raise ConfigError(f"cannot tell the format of {path.name}", "set data.format=csv, tsv or parquet")
    return FORMATS[path.suffix.lower()]


def read_table(path: Path, fmt: str | None = None) -> Any:
    """The file as a pandas DataFrame (CSV delimiters sniffed); UserError naming the file when it cannot be read."""
    import pandas as pd

    fmt = table_format(path, fmt)
    try:
        if fmt == "parquet":
            return pd.read_parquet(path)
        if fmt == "tsv":
            return pd.read_csv(path, sep="\t")
        return pd.read_csv(path, sep=None, engine="python", encoding_errors="replace")
    except (OSError, ValueError, ImportError) as exc:  # pandas' parser errors are ValueErrors
        raise UserError(f"cannot read {path.name}: {str(exc).strip().splitlines()[0]}") from None


def pick_column(columns: list[str], given: str | None, guesses: tuple[str, ...], key: str) -> str | None:
    """The column named by ``data.<key>``, else the first (case-insensitive) guess present; None when none."""
    if given:
        if str(given) not in columns:
            raise ConfigError(f"data.{key}={given} is not a column", f"columns: {', '.join(map(str, columns))}")
        return str(given)
    lowered = {str(c).strip().lower(): c for c in columns}
    return next((str(lowered[g]) for g in guesses if g in lowered), None)


def numeric_columns(frame: Any, exclude: set[str]) -> tuple[list[str], list[str]]:
    """(numeric columns, other columns) of ``frame`` apart from ``exclude``, in their order."""
    from pandas.api.types import is_bool_dtype, is_numeric_dtype

    numeric, other = [], []
    for column in frame.columns:
        if str(column) in exclude:
            continue
        kind = frame[column].dtype
        (numeric if is_numeric_dtype(kind) and not is_bool_dtype(kind) else other).append(str(column))
    return numeric, other


def numeric_frame(frame: Any, exclude: set[str]) -> tuple[Any, list[str], int]:
    """The columns of ``frame`` (apart from ``exclude``) that hold numbers, as floats; the columns left out; how
    many cells of kept columns were not numbers (now NaN). A text column with a few stray words ("n/a") in it is
    kept when most of its cells parse."""
    import pandas as pd

    numeric, other = numeric_columns(frame, exclude)
    kept = {name: frame[name].astype("float64") for name in numeric}
    ignored, coerced = [], 0
    for name in other:
        parsed = pd.to_numeric(frame[name], errors="coerce")
        present = frame[name].notna()
        if present.any() and parsed[present].notna().mean() >= 0.5:
            kept[name] = parsed.astype("float64")
            coerced += int((present & parsed.isna()).sum())
        else:
            ignored.append(name)
    order = [str(c) for c in frame.columns if str(c) in kept]
    return pd.DataFrame({name: kept[name] for name in order}, index=frame.index), ignored, coerced


def sort_by_time(frame: Any, column: str) -> tuple[Any, int]:
    """``frame`` in time order by ``column`` (dates, or numbers); how many rows repeat a timestamp."""
    import pandas as pd

    values = pd.to_numeric(frame[column], errors="coerce")
    if values.isna().any():
        values = pd.to_datetime(frame[column], errors="coerce", format="mixed")
    if values.isna().any():
        bad = frame[column][values.isna()].iloc[0]
        raise UserError(f"time column '{column}' holds a value that is neither a number nor a date: {bad!r}")
    order = values.argsort(kind="stable")
    return frame.iloc[order], int(values.duplicated().sum())
