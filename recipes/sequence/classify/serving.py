"""Torch-free serving half of seq-cls: a sequence of feature rows -> padded arrays -> top-k labels.

The HTTP body {"sequence": [[...], ...]} maps onto ``decode(list)``; ``read_inputs`` turns files given to
`aiaas predict` into sequences: a .csv/.tsv per sequence (numeric columns; a time column orders the rows and is
dropped), a .npy array (steps, features), or .json/.jsonl records {"sequence": [...]}.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from aiaas_cli.serving.runtime import BadInput
from aiaas_recipes.common.scores import LabelAdapter, one_answer, one_prediction
from aiaas_recipes.common.scores import to_row as label_row
from aiaas_recipes.sequence import files
from aiaas_recipes.sequence.values import as_matrix, by_name, fill_missing

SERVICE = "aiaas_recipes.sequence.classify.service:SequenceService"
http_predictions, http_response = one_prediction, one_answer
__all__ = ["SERVICE", "build_adapter", "http_predictions", "http_request", "http_response", "read_inputs", "to_row"]
ID_NAMES = ("sequence_id", "series_id", "seq_id", "id", "sequence", "series", "run", "recording", "session", "trial")
DEFAULT_MAX_STEPS = 100_000  # longer requests are refused: only max_length steps are read anyway


@dataclass
class Item:
    values: np.ndarray  # (steps kept, features) float32
    steps: int  # steps sent


class SequenceAdapter(LabelAdapter):
    """Checks and pads sequences for a model exported by the seq-cls recipe."""

    def __init__(self, metadata: dict[str, Any], max_steps: int = DEFAULT_MAX_STEPS):
        self.labels = list(metadata["labels"])
        self.features = list(metadata["features"])
        self.max_length = int(metadata["max_length"])
        self.max_steps = int(max_steps)

    def decode(self, payload: Any) -> Item:
        """One sequence (a list of rows, or {"sequence": rows, "columns": names of the row values}), cut to the
        model's max_length; BadInput (422) for a wrong shape, NaN or infinity."""
        if isinstance(payload, dict):
            payload = by_name(payload.get("sequence"), payload.get("columns"), self.features, "sequence")
        if isinstance(payload, (list, tuple)) and len(payload) > self.max_steps:
            raise BadInput(f"a sequence of {len(payload)} steps is above the limit of {self.max_steps}", status=422)
        values = as_matrix(payload, self.features, "sequence")
        return Item(values[: self.max_length], len(values))

    def batch(self, items: list[Item]) -> dict[str, np.ndarray]:
        """{"sequence": (N, max_length, features) float32 zero-padded, "lengths": (N,) int64}. Always the full
        max_length: batches from several requests can then be concatenated (the service's batching)."""
        values = np.zeros((len(items), self.max_length, len(self.features)), np.float32)
        for row, item in enumerate(items):
            values[row, : len(item.values)] = item.values
        return {"sequence": values, "lengths": np.asarray([len(item.values) for item in items], np.int64)}

    def extras(self, item: Item) -> dict[str, Any]:
        return {"steps": item.steps, "truncated": item.steps > self.max_length}


def build_adapter(metadata: dict[str, Any], max_steps: int = DEFAULT_MAX_STEPS) -> SequenceAdapter:
    """The adapter for seq-cls models; ``max_steps`` comes from `serve.limits`."""
    return SequenceAdapter(metadata, max_steps=max_steps)


def http_request(name: str, payload: Any, k: int) -> dict[str, Any]:
    """How `aiaas predict --url` sends one sequence: JSON {"sequence", "columns" (from a table's header), "k"}."""
    body = payload if isinstance(payload, dict) else {"sequence": payload}
    return {"json": {**{key: body[key] for key in ("sequence", "columns") if key in body}, "k": k}}


def to_row(name: str, payload: Any, prediction: dict) -> dict:
    """The classification record, plus what reading its file changed (cells filled, rows dropped)."""
    return {**label_row(name, payload, prediction), **files.notes(payload)}


def read_inputs(paths: list[Path]) -> Iterator[tuple[str, Any]]:
    """(name, sequence) per .csv/.tsv/.npy file, per id of a long table, or per .json/.jsonl record; (name, exception)
    for what cannot be read. A table's empty or stray number cells are filled from their neighbours, as
    preprocessing filled them."""
    fill = lambda values: fill_missing(values)[0]  # noqa: E731
    for name, payload in files.read_inputs(paths, "sequence", ("sequence", "columns"), fill):
        yield from _by_sequence(name, payload)


def _by_sequence(name: str, payload: Any) -> Iterator[tuple[str, Any]]:
    """A long table (an id column, as a training table has) holds one sequence per id, in order of appearance."""
    columns = payload.get("columns") if isinstance(payload, dict) else None
    ident = next((i for i, c in enumerate(columns or []) if c.strip().lower() in ID_NAMES), None)
    if ident is None:
        yield name, payload
        return
    groups: dict[Any, list] = {}
    for row in payload["sequence"]:
        groups.setdefault(row[ident], []).append(row)
    for key, rows in groups.items():
        shown = int(key) if isinstance(key, float) and key.is_integer() else key
        yield f"{name}:{columns[ident]}={shown}", {**payload, "sequence": rows}
