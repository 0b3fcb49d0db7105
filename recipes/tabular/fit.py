"""Fit the column transforms on the training rows only: imputation values, scaling, vocabularies.

The result is the schema, a plain JSON document stored with the dataset (`schema.json`), carried in the
checkpoint and in the ONNX metadata, and read by `encode.Encoder` at training and serving time alike.
"""

from __future__ import annotations

import math
from collections import Counter
from typing import Any

import numpy as np

from aiaas_recipes.tabular import values
from aiaas_recipes.tabular.encode import numbers
from aiaas_recipes.tabular.infer import Column

SCHEMA_VERSION = 1


def feature_names(column: Column, parts: list[str]) -> list[str]:
    return [f"{column.name}.{part}" for part in parts] if column.kind == "date" else [column.name]


def date_parts(cells: list[Any], fmt: str | None) -> list[str]:
    """year, month, day, weekday; and hour when some value has a time of day."""
    parts = list(values.DATE_PARTS[:4])
    for cell in cells:
        try:
            moment = values.to_datetime(cell, None if fmt == "iso" else fmt)
        except (ValueError, TypeError):
            continue
        if moment.hour or moment.minute:
            return [*parts, "hour"]
    return parts


def numeric_features(spec: dict, cells: list[Any]) -> list[dict]:
    """Per feature: the median that fills a missing value, mean and std for scaling, and whether the model
    also gets a missing-value indicator (only when values were missing in training)."""
    rows = []
    for cell in cells:
        try:
            rows.append(numbers(spec, cell))
        except (ValueError, TypeError, OverflowError):
            rows.append([math.nan] * len(spec["features"]))
    matrix = np.asarray(rows, dtype=np.float64).reshape(len(cells), len(spec["features"]))
    features = []
    for name, column in zip(spec["features"], matrix.T):
        seen = column[~np.isnan(column)]
        std = float(seen.std()) if len(seen) > 1 else 1.0
        features.append(
            {
                "name": name,
                "fill": float(np.median(seen)) if len(seen) else 0.0,
                "mean": float(seen.mean()) if len(seen) else 0.0,
                "std": std if std > 1e-12 else 1.0,
                "indicator": bool(len(seen) < len(column)),
            }
        )
    return features


def vocabulary(cells: list[Any], max_categories: int, min_count: int) -> dict[str, Any]:
    """The kept categories (most frequent first), variants merged by trimming/case-folding, and how many
    categories were left out (they encode as "unknown")."""
    counts: Counter[str] = Counter()
    spellings: dict[str, set[str]] = {}
    for cell in cells:
        if values.is_missing(cell):
            continue
        key = values.category_key(cell)
        counts[key] += 1
        spellings.setdefault(key, set()).add(str(cell))
    ranked = sorted(counts, key=lambda k: (-counts[k], k))
    kept = [k for k in ranked if counts[k] >= min_count][:max_categories]
    merged = {k: sorted(s) for k, s in spellings.items() if len(s) > 1}
    return {"vocabulary": kept, "merged": merged, "capped": len(counts) - len(kept)}


def fit_column(column: Column, cells: list[Any], train: np.ndarray, data_cfg: Any) -> dict[str, Any]:
    train_cells = [cells[i] for i in train]
    spec: dict[str, Any] = {
        "name": column.name,
        "kind": column.kind,
        "required": not any(values.is_missing(c) for c in cells),
    }
    if column.kind == "categorical":
        return {**spec, **vocabulary(train_cells, int(data_cfg.max_categories), int(data_cfg.min_category_count))}
    if column.kind == "date":
        spec["format"] = column.date_format
        spec["parts"] = date_parts(train_cells, column.date_format)
    spec["features"] = feature_names(column, spec.get("parts", []))
    spec["features"] = numeric_features(spec, train_cells)
    return spec


def fit(columns: list[Column], cells: dict[str, list[Any]], train: np.ndarray, data_cfg: Any) -> dict[str, Any]:
    """The schema: one fitted spec per kept column, in table order."""
    return {"version": SCHEMA_VERSION, "columns": [fit_column(c, cells[c.name], train, data_cfg) for c in columns]}
