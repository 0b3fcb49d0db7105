"""What each column is: numeric, boolean, date or categorical, or dropped (and why).

Kinds are read from the values themselves (a config override wins); statistics are not computed here but
fitted on the training split in `fit.py`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from aiaas_cli.errors import ConfigError
from aiaas_recipes.tabular import values

KINDS = ("numeric", "boolean", "date", "categorical")
OVERRIDES = (*KINDS, "drop")
PARSE_SHARE = 0.95  # a column is numeric (or a date) when this share of its values reads as one
UNIQUE_SHARE = 0.9  # text this unique is an identifier or free text, not a category
MIN_ROWS_FOR_ID = 10
ID_NAME = re.compile(r"(^|[\W_])(id|uuid|guid|key|index|row)$|^unnamed", re.IGNORECASE)
DATE_SAMPLE = 500


@dataclass
class Column:
    """A kept column: its kind and, for dates, the format its text is read with."""

    name: str
    kind: str
    date_format: str | None = None
    overridden: bool = False
    notes: list[str] = field(default_factory=list)


def present(cells: list[Any]) -> list[Any]:
    return [cell for cell in cells if not values.is_missing(cell)]


def share(cells: list[Any], check) -> float:
    if not cells:
        return 0.0
    good = 0
    for cell in cells:
        try:
            check(cell)
            good += 1
        except (ValueError, TypeError):
            pass
    return good / len(cells)


def date_format(cells: list[Any]) -> str | None:
    """The first of DATE_FORMATS that reads nearly every sampled value ("iso" for Parquet timestamps)."""
    sample = cells[:DATE_SAMPLE]
    if sample and all(hasattr(c, "year") and hasattr(c, "month") for c in sample):
        return "iso"
    if not all(isinstance(c, str) for c in sample):
        return None
    for fmt in values.DATE_FORMATS:
        if share(sample, lambda c, fmt=fmt: values.to_datetime(c, fmt)) >= PARSE_SHARE:
            return fmt
    return None


def detect(cells: list[Any]) -> Column:
    """The kind of a column from its non-missing values (name filled in by the caller)."""
    keys = {values.category_key(c) for c in cells}
    if all(values.is_bool_word(c) for c in cells) and not keys <= {"0", "1"}:
        return Column("", "boolean")
    if share(cells, values.to_number) >= PARSE_SHARE:
        return Column("", "numeric")
    fmt = date_format(cells)
    if fmt:
        return Column("", "date", date_format=fmt)
    return Column("", "categorical")


def drop_reason(name: str, cells: list[Any], column: Column) -> str | None:
    """Why a column carries nothing a model can use: empty, constant, or an identifier."""
    if not cells:
        return "empty (every value is missing)"
    distinct = len({values.category_key(c) for c in cells})
    if distinct == 1:
        return f"constant (always {values.label_text(cells[0])!r})"
    if len(cells) < MIN_ROWS_FOR_ID:
        return None
    if column.kind == "categorical" and distinct / len(cells) > UNIQUE_SHARE:
        what = "a different value in every row" if distinct == len(cells) else f"{distinct} values in {len(cells)} rows"
        return f"identifier-like ({what})"
    if column.kind == "numeric" and distinct == len(cells) and _integer_ids(name, cells):
        return "identifier-like (a different whole number in every row)"
    return None


def _integer_ids(name: str, cells: list[Any]) -> bool:
    """Whole numbers, all different, that are named like an ID or run through a consecutive range."""
    try:
        numbers = [values.to_number(c) for c in cells]
    except ValueError:
        return False
    if not all(n.is_integer() for n in numbers):
        return False
    return bool(ID_NAME.search(name)) or max(numbers) - min(numbers) + 1 == len(numbers)


def check_overrides(overrides: dict[str, str], names: list[str]) -> None:
    for name, kind in overrides.items():
        if name not in names:
            raise ConfigError(f"data.column_types names column {name!r}, which the table does not have")
        if kind not in OVERRIDES:
            raise ConfigError(f"data.column_types.{name}={kind} is not one of {', '.join(OVERRIDES)}")


def infer(columns: dict[str, list[Any]], overrides: dict[str, str]) -> tuple[list[Column], list[dict]]:
    """(kept columns, dropped columns with their reason), in table order."""
    check_overrides(overrides, list(columns))
    kept, dropped = [], []
    for name, cells in columns.items():
        if overrides.get(name) == "drop":
            dropped.append({"column": name, "reason": "dropped by data.column_types"})
            continue
        cells = present(cells)
        column = detect(cells)
        column.name = name
        if name in overrides:
            column.kind, column.overridden = overrides[name], True
            if column.kind == "date" and not column.date_format:
                column.date_format = date_format(cells)
        reason = drop_reason(name, cells, column)
        if reason and (not column.overridden or not cells):  # an override cannot bring back an empty column
            dropped.append({"column": name, "reason": reason})
        else:
            kept.append(column)
    return kept, dropped
