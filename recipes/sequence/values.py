"""Numbers in, numbers checked (numpy only: shipped into the Bento and used by preprocessing alike).

``as_matrix`` turns a JSON payload into a (steps, features) float32 array or says exactly what is wrong with it;
``fill_missing`` fills NaN/inf inside a sequence from its neighbours, as preprocessing does for user files.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from aiaas_cli.serving.runtime import BadInput


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def as_matrix(payload: Any, features: list[str], what: str) -> np.ndarray:
    """``payload`` as (steps, len(features)) float32: a list of rows, or a flat list when there is one feature.

    Raises BadInput (422) naming the first problem: not a list, a row of the wrong width, a value that is not a
    number, NaN or infinity (with its step and feature)."""
    width = len(features)
    if isinstance(payload, np.ndarray):
        payload = payload.tolist()
    if not isinstance(payload, (list, tuple)) or not payload:
        raise BadInput(f"{what} must be a non-empty list of steps", status=422)
    if width == 1 and not any(isinstance(v, (list, tuple)) for v in payload):
        payload = [[v] for v in payload]  # one value per step
    for step, row in enumerate(payload):
        if not isinstance(row, (list, tuple)):
            shape = f"a list of {width} numbers" if width > 1 else "a number or a list of one number"
            raise BadInput(f"{what}[{step}] must be {shape} ({', '.join(features)})", status=422)
        if len(row) != width:
            raise BadInput(
                f"{what}[{step}] has {len(row)} values; the model takes {width} feature(s): {', '.join(features)}",
                status=422,
            )
        for column, value in enumerate(row):
            if not _is_number(value):
                raise BadInput(f"{what}[{step}][{column}] ({features[column]}) is not a number: {value!r}", status=422)
            if not math.isfinite(value):
                raise BadInput(f"{what}[{step}][{column}] ({features[column]}) is {value}: fill it first", status=422)
    try:
        return np.asarray(payload, dtype=np.float32)
    except OverflowError:
        raise BadInput(f"{what} holds a number too large for float32", status=422) from None


def fill_missing(values: np.ndarray) -> tuple[np.ndarray, int]:
    """NaN/inf replaced by the previous finite value of the same feature (the next one at the start); how many.

    A feature with no finite value at all stays NaN: the caller fills it (with the train mean)."""
    values = np.asarray(values, dtype=np.float64)
    missing = ~np.isfinite(values)
    count = int(missing.sum())
    if not count:
        return values.astype(np.float32), 0
    steps = np.arange(len(values))[:, None]
    last = np.maximum.accumulate(np.where(missing, -1, steps), axis=0)  # index of the last finite value so far
    ahead = np.where(missing, len(values), steps)[::-1]
    first = np.minimum.accumulate(ahead, axis=0)[::-1]  # index of the next finite value
    source = np.where(last >= 0, last, first)
    filled = np.take_along_axis(np.where(missing, np.nan, values), np.minimum(source, len(values) - 1), axis=0)
    return filled.astype(np.float32), count


def interpolate_missing(values: np.ndarray) -> np.ndarray:
    """NaN/inf replaced by straight lines between the nearest finite values of the same feature (the nearest one
    at the ends), as the forecast recipe fills a series on its grid."""
    values = np.asarray(values, dtype=np.float64).copy()
    steps = np.arange(len(values))
    for column in values.T:
        finite = np.isfinite(column)
        if finite.any() and not finite.all():
            column[~finite] = np.interp(steps[~finite], steps[finite], column[finite])
    return values


def by_name(payload: Any, columns: Any, features: list[str], what: str) -> Any:
    """The rows of ``payload`` cut to ``features`` in order, when ``columns`` names the values of each row."""
    if columns is None:
        return payload
    if not isinstance(columns, (list, tuple)) or not all(isinstance(c, str) for c in columns):
        raise BadInput("columns must be a list of column names", status=422)
    missing = [name for name in features if name not in columns]
    if missing:
        raise BadInput(f"columns lack the model's feature(s) {', '.join(missing)}", status=422)
    if not isinstance(payload, (list, tuple)):
        return payload  # as_matrix says what is wrong with it
    index = [list(columns).index(name) for name in features]
    picked = []
    for step, row in enumerate(payload):
        if not isinstance(row, (list, tuple)) or len(row) != len(columns):
            raise BadInput(f"{what}[{step}] must hold {len(columns)} values, one per column", status=422)
        picked.append([row[i] for i in index])
    return picked
