"""One cell at a time: missing-value spellings, numbers, booleans, dates, category keys. Pure Python.

Preprocessing and the served model both read cells through these functions, so a value means the same
thing in training and at serving time. Preprocessing forgives a bad cell (it becomes missing and is
counted); serving refuses it (`ValueError` here, a 422 naming the field there).
"""

from __future__ import annotations

import math
from datetime import date, datetime

# compared after strip() and casefold(); "" covers empty cells
MISSING = frozenset({"", "na", "n/a", "nan", "null", "none", "?", "#n/a", "<na>", "nat", "-"})
TRUE = frozenset({"yes", "y", "true", "t", "on", "1"})
FALSE = frozenset({"no", "n", "false", "f", "off", "0"})
# tried in this order; the first that reads (nearly) every value of a column is stored with the column
DATE_FORMATS = (
    "%Y-%m-%d",
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%dT%H:%M:%S",
    "%Y-%m-%d %H:%M",
    "%Y/%m/%d",
    "%d.%m.%Y",
    "%d/%m/%Y",
    "%m/%d/%Y",
)
DATE_PARTS = ("year", "month", "day", "weekday", "hour")
FLOAT32_MAX = 3.4e38  # the model computes in float32: a larger number would become infinity


def is_missing(value: object) -> bool:
    """None, NaN, or a string spelling of "no value" ("", "NA", "N/A", "?", "null", ...)."""
    if value is None:
        return True
    if isinstance(value, float):
        return math.isnan(value)
    if isinstance(value, str):
        return value.strip().casefold() in MISSING
    return False


def to_number(value: object) -> float:
    """A finite float from a number or numeric text; ValueError otherwise (bools are not numbers here)."""
    if isinstance(value, bool):
        raise ValueError(f"{value!r} is not a number")
    if isinstance(value, (int, float)):
        number = float(value)
    elif isinstance(value, str):
        try:
            number = float(value.strip().replace("_", "!"))  # "1_000" is valid Python, not a table number
        except ValueError:
            raise ValueError(f"{value!r} is not a number") from None
    elif hasattr(value, "__float__") and not isinstance(value, (date, datetime)):
        number = float(value)  # numpy scalars from Parquet
    else:
        raise ValueError(f"{value!r} is not a number")
    if not math.isfinite(number):
        raise ValueError(f"{value!r} is not a finite number")
    if abs(number) > FLOAT32_MAX:
        raise ValueError(f"{value!r} is too large")
    return number


def to_bool(value: object) -> float:
    """1.0 or 0.0 from a bool, 0/1, or yes/no, true/false, y/n, t/f, on/off (any case)."""
    if isinstance(value, bool):
        return float(value)
    if isinstance(value, (int, float)) and value in (0, 1):
        return float(value)
    key = str(value).strip().casefold()
    if key in TRUE:
        return 1.0
    if key in FALSE:
        return 0.0
    raise ValueError(f"{value!r} is not a yes/no value")


def is_bool_word(value: object) -> bool:
    return isinstance(value, bool) or str(value).strip().casefold() in TRUE | FALSE


def to_datetime(value: object, fmt: str | None) -> datetime:
    """A datetime from a date/datetime, or text in ``fmt`` (ISO 8601 also accepted)."""
    if isinstance(value, datetime):
        return value.replace(tzinfo=None)
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day)
    if not isinstance(value, str):
        raise ValueError(f"{value!r} is not a date")
    text = value.strip()
    if fmt:
        try:
            return datetime.strptime(text, fmt)
        except ValueError:
            pass
    try:
        return datetime.fromisoformat(text).replace(tzinfo=None)
    except ValueError:
        hint = f" (expected {fmt})" if fmt else ""
        raise ValueError(f"{value!r} is not a date{hint}") from None


def date_parts(moment: datetime, parts: list[str]) -> list[float]:
    values = {
        "year": moment.year,
        "month": moment.month,
        "day": moment.day,
        "weekday": moment.weekday(),
        "hour": moment.hour,
    }
    return [float(values[part]) for part in parts]


def category_key(value: object) -> str:
    """The form categories are compared in: trimmed and case-folded text; 3.0 and "3" are the same."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip().casefold()


def label_text(value: object) -> str:
    """A class label as shown to the user: trimmed text; 1.0 (from a float column) shows as "1"."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()
