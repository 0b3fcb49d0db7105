"""Files given to `aiaas predict`, read without pandas (this ships into the Bento): CSV/TSV tables of numbers in
time order, .npy arrays and JSON records. A file that cannot be used becomes a BadInput saying why."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
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


def _time_key(cell: str) -> tuple:
    try:
        return (0, float(cell), "")
    except ValueError:
        return (1, 0.0, cell)  # ISO dates sort as text


def _cell(cell: str) -> Any:
    try:
        return float(cell)
    except ValueError:
        return cell.strip() or None  # kept as is: the adapter names the step and column that is not a number


def table(text: str, delimiter: str) -> tuple[list[str], list[list[Any]]] | BadInput:
    """(column names, rows) of a CSV with a header: rows sorted by a time column when there is one (dropped)."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    header = next(reader, None)
    if not header:
        return BadInput("empty file")
    rows = [row for row in reader if any(cell.strip() for cell in row)]
    names = [h.strip() for h in header]
    lowered = [n.lower() for n in names]
    time = next((lowered.index(n) for n in TIME_NAMES if n in lowered), None)
    if time is not None:
        rows.sort(key=lambda row: _time_key(row[time] if time < len(row) else ""))
    keep = [i for i in range(len(names)) if i != time]
    return [names[i] for i in keep], [[_cell(row[i]) if i < len(row) else None for i in keep] for row in rows]


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
