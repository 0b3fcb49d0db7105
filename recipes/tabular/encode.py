"""Cells to model inputs with a fitted schema (numpy only: the served model uses this module too).

The model takes two inputs: "numeric" (float32, raw values with NaN where missing: imputation and scaling
happen inside the ONNX graph) and "categorical" (int64 indices into each column's stored vocabulary).
Index 0 is "unknown" (a category not kept in training: unseen or beyond the cap), 1 is "missing".
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from aiaas_recipes.tabular import values

UNKNOWN, MISSING = 0, 1
RESERVED = 2  # indices before the vocabulary
NUMERIC, CATEGORICAL = "numeric", "categorical"  # the ONNX input names


class FieldError(ValueError):
    """A cell that cannot be used; ``field`` names its column."""

    def __init__(self, field: str, message: str):
        super().__init__(f"field {field!r}: {message}")
        self.field = field


def numbers(column: dict, cell: Any) -> list[float]:
    """A numeric, boolean or date column's features for one cell (NaN when missing); ValueError when unreadable."""
    if values.is_missing(cell):
        return [math.nan] * len(column["features"])
    if column["kind"] == "numeric":
        return [values.to_number(cell)]
    if column["kind"] == "boolean":
        return [values.to_bool(cell)]
    fmt = column.get("format")
    return values.date_parts(values.to_datetime(cell, None if fmt == "iso" else fmt), column["parts"])


class Encoder:
    """Turns cells into rows of the two model inputs, as fitted in the schema (see fit.py)."""

    def __init__(self, schema: dict[str, Any]):
        self.columns = list(schema["columns"])
        self.numeric = [c for c in self.columns if c["kind"] != "categorical"]
        self.categorical = [c for c in self.columns if c["kind"] == "categorical"]
        self.lookup = {
            c["name"]: {key: RESERVED + i for i, key in enumerate(c["vocabulary"])} for c in self.categorical
        }
        self.n_numeric = sum(len(c["features"]) for c in self.numeric)

    @property
    def input_names(self) -> list[str]:
        """The model's inputs, in order; an input with no columns is left out."""
        return [name for name, cols in ((NUMERIC, self.numeric), (CATEGORICAL, self.categorical)) if cols]

    def category(self, column: dict, cell: Any) -> int:
        if values.is_missing(cell):
            return MISSING
        return self.lookup[column["name"]].get(values.category_key(cell), UNKNOWN)

    def encode_record(self, record: dict[str, Any]) -> tuple[np.ndarray, np.ndarray]:
        """One record (column -> cell) as a numeric and a categorical row; FieldError names a bad field.

        Columns the model does not use are ignored; a missing required column is an error.
        """
        row: list[float] = []
        for column in self.numeric:
            cell = self._cell(record, column)
            try:
                row += numbers(column, cell)
            except (ValueError, TypeError, OverflowError) as exc:
                raise FieldError(column["name"], str(exc)) from None
        indices = [self.category(column, self._cell(record, column)) for column in self.categorical]
        return np.asarray(row, dtype=np.float32), np.asarray(indices, dtype=np.int64)

    @staticmethod
    def _cell(record: dict[str, Any], column: dict) -> Any:
        cell = record.get(column["name"])
        if column.get("required") and values.is_missing(cell):
            raise FieldError(column["name"], "a value is required (it was never missing in training)")
        return cell

    def encode_columns(self, cells: dict[str, list[Any]]) -> tuple[np.ndarray, np.ndarray, dict[str, int]]:
        """Whole columns (as in training): unreadable cells become missing and are counted per column."""
        rows = len(next(iter(cells.values()))) if cells else 0
        numeric = np.full((rows, self.n_numeric), np.nan, dtype=np.float32)
        unreadable: dict[str, int] = {}
        start = 0
        for column in self.numeric:
            width = len(column["features"])
            for i, cell in enumerate(cells[column["name"]]):
                try:
                    numeric[i, start : start + width] = numbers(column, cell)
                except (ValueError, TypeError, OverflowError):
                    unreadable[column["name"]] = unreadable.get(column["name"], 0) + 1
            start += width
        categorical = np.asarray(
            [[self.category(c, cell) for cell in cells[c["name"]]] for c in self.categorical], dtype=np.int64
        ).reshape(len(self.categorical), rows)
        return numeric, categorical.T.copy(), unreadable
