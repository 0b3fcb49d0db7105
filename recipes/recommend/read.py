"""Read a user's interactions table (.csv/.tsv/.parquet): pick the columns, parse ratings and timestamps.

Rows that cannot be used (no user or item, a rating or timestamp that does not parse, a broken line) are
skipped and listed with their line and reason; the rest become plain arrays.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from aiaas_cli.errors import ConfigError, UserError

GUESSES = {
    "user": ("user", "user_id", "userid", "uid", "customer", "customer_id", "visitor", "visitor_id", "member_id"),
    "item": ("item", "item_id", "itemid", "iid", "product", "product_id", "movie", "movie_id", "movieid", "track",
             "track_id", "song", "song_id", "book", "book_id", "article", "article_id", "sku", "asin"),
    "rating": ("rating", "ratings", "score", "stars", "value"),
    "time": ("timestamp", "time", "ts", "datetime", "date", "event_time", "created_at", "when"),
}  # fmt: skip
MILLISECONDS = 1e11  # numeric timestamps above this are milliseconds (1e11 s is the year 5138)


@dataclass
class Table:
    """The usable rows of a table, in file order."""

    source: str
    columns: dict[str, str | None]  # role (user/item/rating/time) -> column name
    users: np.ndarray
    items: np.ndarray
    times: np.ndarray | None  # float seconds, None without a time column
    ratings: np.ndarray | None
    rows: int = 0  # data rows in the file, usable or not
    skipped: list[dict[str, str]] = field(default_factory=list)


def _decode(data: bytes, encoding: str | None) -> str:
    for name in [encoding] if encoding else ["utf-8-sig", "cp1252", "latin-1"]:
        try:
            return data.decode(name)
        except UnicodeDecodeError:
            continue
    raise UserError(f"the table is not valid {encoding}", "set data.encoding= to the file's encoding")


def _delimiter(path: Path, text: str, configured: str | None) -> str:
    if configured:
        return configured
    if path.suffix.lower() in (".tsv", ".tab"):
        return "\t"
    try:
        return csv.Sniffer().sniff(text[:65536], delimiters=",;\t|").delimiter
    except csv.Error:
        return ","


def _read_csv(path: Path, data_cfg: Any) -> tuple[list[str], dict[str, list[str]], list[str], list[dict]]:
    text = _decode(path.read_bytes(), data_cfg.get("encoding"))
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=_delimiter(path, text, data_cfg.get("delimiter")))
    header = next(reader, None)
    if not header:
        raise UserError(f"{path} is empty", "give a table with a header row and one interaction per row")
    header = [name.strip() for name in header]
    cells: dict[str, list[str]] = {name: [] for name in header}
    where, skipped = [], []
    for row in reader:
        if not any(value.strip() for value in row):
            continue
        if len(row) != len(header):
            skipped.append({"file": f"{path.name}:{reader.line_num}", "reason": f"{len(row)} fields, the header has "
                            f"{len(header)}"})  # fmt: skip
            continue
        for name, value in zip(header, row):
            cells[name].append(value.strip())
        where.append(f"{path.name}:{reader.line_num}")
    return header, cells, where, skipped


def _read_parquet(path: Path) -> tuple[list[str], dict[str, list[str]], list[str], list[dict]]:
    import pyarrow.parquet as pq

    try:
        table = pq.read_table(path)
    except Exception as exc:  # pyarrow raises several types for a file that is not Parquet
        raise UserError(f"cannot read {path} as Parquet: {str(exc).splitlines()[0]}") from None
    cells = {
        name: ["" if v is None else v.isoformat() if hasattr(v, "isoformat") else str(v) for v in column.to_pylist()]
        for name, column in zip(table.column_names, table.columns)
    }
    return list(table.column_names), cells, [f"{path.name}:row {i + 1}" for i in range(table.num_rows)], []


def pick_columns(header: list[str], data_cfg: Any) -> dict[str, str | None]:
    """The column of each role: as configured, else guessed from common names (user and item are required)."""
    lowered = {name.lower(): name for name in header}
    picked: dict[str, str | None] = {}
    for role in GUESSES:
        configured = data_cfg.get(f"{role}_column")
        if configured:
            if configured not in header:
                raise ConfigError(f"data.{role}_column={configured} is not a column", f"columns: {', '.join(header)}")
            picked[role] = configured
        else:
            picked[role] = next((lowered[g] for g in GUESSES[role] if g in lowered), None)
    for role in ("user", "item"):
        if picked[role] is None:
            raise ConfigError(
                f"no {role} column found", f"name it with data.{role}_column=; columns: {', '.join(header)}"
            )
    if picked["user"] == picked["item"]:
        raise ConfigError(f"'{picked['user']}' cannot be both the user and the item column")
    return picked


def parse_times(values: np.ndarray) -> np.ndarray:
    """Seconds since the epoch (NaN where unknown): numbers (seconds, or milliseconds when the column's are
    that large) or date strings, each cell read as what it looks like."""
    import pandas as pd

    seconds = np.array(pd.to_numeric(pd.Series(values), errors="coerce"), dtype=np.float64)
    numeric = np.isfinite(seconds)
    if numeric.any() and np.median(np.abs(seconds[numeric])) > MILLISECONDS:
        seconds = seconds / 1000.0
    text = ~numeric & (values != "")
    if text.any():
        stamps = pd.to_datetime(pd.Series(values[text]), errors="coerce", utc=True, format="mixed")
        parsed = (stamps - pd.Timestamp(0, tz="UTC")).dt.total_seconds().to_numpy(dtype=np.float64)
        seconds[text] = np.where(stamps.isna().to_numpy(), np.nan, parsed)
    return seconds


def _problems(column: np.ndarray, bad: np.ndarray, where: np.ndarray, reason: str) -> list[dict[str, str]]:
    return [{"file": str(w), "reason": reason.format(value=v)} for w, v in zip(where[bad], column[bad])]


def read(data_cfg: Any) -> Table:
    """The interactions of ``data.path``: configured or guessed columns, bad rows skipped with a reason."""
    path = Path(str(data_cfg.path)).expanduser()
    if not path.is_file():
        raise ConfigError(f"data.path={path} is not a file", "point it at a .csv, .tsv or .parquet table")
    parquet = path.suffix.lower() in (".parquet", ".pq") or data_cfg.get("format") == "parquet"
    header, cells, where_list, skipped = _read_parquet(path) if parquet else _read_csv(path, data_cfg)
    columns = pick_columns(header, data_cfg)
    where = np.asarray(where_list, dtype=object)
    raw = {role: np.asarray(cells[name], dtype=object) for role, name in columns.items() if name}
    bad = np.zeros(len(where), dtype=bool)
    problems: list[dict[str, str]] = []
    for role in ("user", "item"):
        missing = (raw[role] == "") & ~bad
        problems += _problems(raw[role], missing, where, f"missing {role} id")
        bad |= missing
    ratings = times = None
    if columns["rating"]:
        ratings = np.asarray([_number(v) for v in raw["rating"]], dtype=np.float64)
        unreadable = ~np.isfinite(ratings) & ~bad
        problems += _problems(raw["rating"], unreadable, where, "rating '{value}' is not a number")
        bad |= unreadable
    if columns["time"]:
        times = parse_times(raw["time"])
        unknown = ~np.isfinite(times) & ~bad
        problems += _problems(raw["time"], unknown, where, "unknown timestamp '{value}'")
        bad |= unknown
    keep = ~bad
    return Table(
        source=str(path.resolve()),
        columns=columns,
        users=raw["user"][keep],
        items=raw["item"][keep],
        times=None if times is None else times[keep],
        ratings=None if ratings is None else ratings[keep],
        rows=len(where) + len(skipped),
        skipped=sorted(skipped + problems, key=_line_order),
    )


def _number(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        return float("nan")


def _line_order(entry: dict[str, str]) -> tuple[int, str]:
    tail = entry["file"].rsplit(":", 1)[-1].removeprefix("row ")
    return (int(tail) if tail.isdigit() else 0, entry["file"])
