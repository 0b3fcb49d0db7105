"""The column to predict: which one it is, its usable rows (others skipped with a reason), and the splits."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from aiaas_cli.errors import ConfigError, UserError
from aiaas_recipes.tabular import values
from aiaas_recipes.tabular.read import Table

CLASSIFICATION, REGRESSION = "classification", "regression"
GUESSES = ("target", "label", "class", "y", "outcome")
MAX_CLASSES = 200


@dataclass
class Target:
    name: str
    rows: np.ndarray  # indices of the table rows that have a usable target
    y: np.ndarray  # class indices (int64) or values (float32), one per kept row
    classes: list[str] = field(default_factory=list)
    skipped: list[dict] = field(default_factory=list)


def column_name(table: Table, configured: str | None) -> str:
    """``data.target``, or the built-in dataset's target, or a column with an obvious name."""
    names = list(table.columns)
    if configured:
        if configured not in table.columns:
            folded = {n.casefold(): n for n in names}
            if str(configured).casefold() in folded:
                return folded[str(configured).casefold()]
            raise ConfigError(f"data.target={configured} is not a column of {table.source}", f"columns: {_list(names)}")
        return str(configured)
    if table.target:
        return table.target
    guess = next((n for n in names if n.strip().casefold() in GUESSES), None)
    if guess is None:
        raise ConfigError("data.target is not set", f"name the column to predict, one of: {_list(names)}")
    return guess


def _list(names: list[str], limit: int = 12) -> str:
    return ", ".join(names[:limit]) + (f", ... ({len(names)} columns)" if len(names) > limit else "")


def sort_labels(labels: set[str]) -> list[str]:
    """Numbers in numeric order ("2" before "10"), text alphabetically."""
    try:
        return sorted(labels, key=lambda label: (values.to_number(label), label))
    except ValueError:
        return sorted(labels)


def usable(cells: list[Any], where: list[str], parse, unreadable: str) -> tuple[list[int], list[Any], list[dict]]:
    """(rows kept, their parsed targets, skipped rows with the reason): missing or unreadable targets."""
    keep, parsed, skipped = [], [], []
    for i, cell in enumerate(cells):
        reason = "missing target"
        if not values.is_missing(cell):
            try:
                parsed.append(parse(cell))
                keep.append(i)
                continue
            except ValueError:
                reason = unreadable
        skipped.append({"file": where[i], "reason": reason})
    return keep, parsed, skipped


def classes_of(name: str, cells: list[Any], where: list[str]) -> Target:
    keep, labels, skipped = usable(cells, where, values.label_text, "unreadable target")
    classes = sort_labels(set(labels))
    if len(classes) < 2:
        raise UserError(f"target column {name!r} has {len(classes)} class(es); a classifier needs at least 2")
    if len(classes) > MAX_CLASSES or (len(classes) > 20 and len(classes) > 0.5 * len(labels)):
        raise UserError(
            f"target column {name!r} has {len(classes)} distinct values in {len(labels)} rows",
            "to predict a number, use tabular-reg",
        )
    index = {label: i for i, label in enumerate(classes)}
    y = np.asarray([index[label] for label in labels], dtype=np.int64)
    return Target(name, np.asarray(keep, dtype=np.int64), y, classes, skipped)


def values_of(name: str, cells: list[Any], where: list[str]) -> Target:
    keep, numbers, skipped = usable(cells, where, values.to_number, "target is not a number")
    if len(numbers) < 2:
        raise UserError(f"target column {name!r} has {len(numbers)} numeric value(s)", "is it the column to predict?")
    return Target(name, np.asarray(keep, dtype=np.int64), np.asarray(numbers, dtype=np.float32), skipped=skipped)


def read_target(task: str, table: Table, configured: str | None) -> Target:
    name = column_name(table, configured)
    reader = classes_of if task == CLASSIFICATION else values_of
    return reader(name, table.columns[name], table.where)


def split(task: str, y: np.ndarray, split_cfg: Any) -> dict[str, np.ndarray]:
    """Seeded train/val/test indices into ``y``: stratified by class for classification."""
    from aiaas_recipes.common.data.splits import split_by_class

    val, test, seed = float(split_cfg.val), float(split_cfg.test), int(split_cfg.seed)
    if not (0 <= val < 1 and 0 <= test < 1 and val + test < 1):
        raise ConfigError(f"data.split.val={val} and data.split.test={test} must be >= 0 and sum to less than 1")
    if task == CLASSIFICATION:
        return split_by_class(y, val, test, seed)
    order = np.random.default_rng(seed).permutation(len(y))
    n_test, n_val = int(round(len(y) * test)), int(round(len(y) * val))
    parts = {"train": order[n_test + n_val :], "val": order[n_test : n_test + n_val], "test": order[:n_test]}
    return {name: np.sort(idx) for name, idx in parts.items()}


def class_counts(y: np.ndarray, classes: list[str]) -> dict[str, int]:
    counts = Counter(y.tolist())
    return {label: int(counts.get(i, 0)) for i, label in enumerate(classes)}
