"""Files given to `aiaas predict`, read without pandas (this ships into the Bento): CSV/TSV tables of numbers in
time order, .npy arrays and JSON records. A file that cannot be used becomes a BadInput saying why."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from datetime import datetime, timezone
from typing import Any

import numpy as np

from aiaas_cli.serving.runtime import BadInput

TIME_NAMES = (
    "time",
    "timestamp",
    "date",
    "datetime",
    "ds",
    "ts",
    "t",
    "step",
    "day",
    "week",
    "month",
    "year",
    "hour",
    "period",
)  # guessed time columns, in this order


def text_of(data: bytes) -> str | BadInput:
    try:
        return data.decode("utf-8").removeprefix("\ufeff")
    except UnicodeDecodeError:
        return BadInput("not UTF-8 text")


def _time_key(cell: str) -> float | None:
    """A number, or an ISO date/time as seconds; None for anything else."""
    try:
        return float(cell)
    except ValueError:
        pass
    try:
        moment = datetime.fromisoformat(cell.strip())
    except ValueError:
        return None
    return (moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)).timestamp()


def _cell(cell: str) -> Any:
    try:
        return float(cell)
    except ValueError:
        return cell.strip() or None  # kept as is: the adapter names the step and column that is not a number


def table(text: str, delimiter: str) -> tuple[list[str], list[list[Any]], int] | BadInput:
    """(column names, rows, rows dropped) of a CSV with a header. With a time column (numbers or ISO dates), the
    rows are put in time order and the column dropped; rows whose time is neither are dropped too."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    header = next(reader, None)
    if not header:
        return BadInput("empty file")
    rows = [row for row in reader if any(cell.strip() for cell in row)]
    names = [h.strip() for h in header]
    lowered = [n.lower() for n in names]
    time = next((lowered.index(n) for n in TIME_NAMES if n in lowered), None)
    dropped = 0
    if time is not None:
        keyed = [(_time_key(row[time] if time < len(row) else ""), row) for row in rows]
        rows = [row for _, row in sorted(((k, r) for k, r in keyed if k is not None), key=lambda kr: kr[0])]
        dropped = len(keyed) - len(rows)
    keep = [i for i in range(len(names)) if i != time]
    return [names[i] for i in keep], [[_cell(row[i]) if i < len(row) else None for i in keep] for row in rows], dropped


def fill_numeric(rows: list[list[Any]], fill: Any) -> tuple[list[list[Any]], int]:
    """Rows whose mostly numeric columns have their empty or stray cells filled by ``fill`` (a function of a
    (steps, features) array with NaN, as preprocessing fills training data); how many cells were filled. Text
    columns are left as they are."""
    if not rows:
        return rows, 0
    width = max(len(row) for row in rows)
    cells = [[row[i] if i < len(row) else None for i in range(width)] for row in rows]
    numeric = [i for i in range(width) if sum(isinstance(r[i], float) for r in cells) * 2 > len(cells)]
    values = np.asarray([[r[i] if isinstance(r[i], float) else np.nan for i in numeric] for r in cells])
    missing = int((~np.isfinite(values)).sum()) if numeric else 0
    if not missing:
        return rows, 0
    filled = fill(values)
    for row, new in zip(cells, filled.tolist()):
        for i, value in zip(numeric, new):
            row[i] = value
    return cells, missing


def table_payload(text: str, suffix: str, key: str, fill: Any) -> dict | BadInput:
    """A table file as a payload: {key: rows in time order, "columns": header, "filled": cells filled by
    ``fill`` (see `fill_numeric`), "dropped": rows without a usable time}."""
    found = table(text, "\t" if suffix == ".tsv" else ",")
    if isinstance(found, Exception):
        return found
    names, rows, dropped = found
    rows, filled = fill_numeric(rows, fill)
    return {key: rows, "columns": names, "filled": filled, "dropped": dropped}


def notes(payload: Any) -> dict[str, int]:
    """What reading a file changed, for its `predict` record: {"filled": n, "dropped": n}, zeros left out."""
    if not isinstance(payload, dict):
        return {}
    return {key: payload[key] for key in ("filled", "dropped") if payload.get(key)}


def array(data: bytes) -> list | BadInput:
    """A (steps,) or (steps, features) numeric .npy array as nested lists."""
    try:
        values = np.load(io.BytesIO(data), allow_pickle=False)
    except (OSError, ValueError, EOFError) as exc:
        return BadInput(f"not a readable .npy file ({str(exc).splitlines()[0]})")
    if values.ndim not in (1, 2) or not np.issubdtype(values.dtype, np.number):
        return BadInput(f"a {values.ndim}-D {values.dtype} array; expected (steps, features) numbers")
    return values.astype(np.float64).tolist()


def _record(text: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        return BadInput(f"not JSON ({exc.msg})")


def json_records(name: str, text: str) -> Iterator[tuple[str, Any]]:
    """A .json file is one record; a .jsonl file holds one per line."""
    if not name.lower().endswith(".jsonl"):
        yield name, _record(text)
        return
    for number, line in enumerate(text.splitlines(), 1):
        if line.strip():
            yield f"{name}:{number}", _record(line)
