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

from aiaas_cli.serving.runtime import BadInput, read_files
from aiaas_recipes.common.scores import LabelAdapter, one_answer, one_prediction
from aiaas_recipes.common.scores import to_row as label_row
from aiaas_recipes.sequence import files
from aiaas_recipes.sequence.values import as_matrix, by_name, fill_missing

SERVICE = "aiaas_recipes.sequence.classify.service:SequenceService"
http_predictions, http_response = one_prediction, one_answer
__all__ = ["SERVICE", "build_adapter", "http_predictions", "http_request", "http_response", "read_inputs", "to_row"]
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


def _sequence(record: Any) -> Any:
    """A JSON record's sequence: {"sequence": rows, "columns": [...]} or the bare rows."""
    if isinstance(record, dict):
        return {key: record.get(key) for key in ("sequence", "columns")}
    return record


def read_inputs(paths: list[Path]) -> Iterator[tuple[str, Any]]:
    """(name, sequence) per .csv/.tsv/.npy file or .json/.jsonl record; (name, exception) for what cannot be read.
    A table's header goes with its rows ("columns"): the adapter picks the model's features from them by name."""
    for name, data in read_files(paths):
        suffix = Path(name).suffix.lower()
        text = files.text_of(data) if suffix in (".csv", ".tsv", ".txt", ".json", ".jsonl") else None
        if isinstance(data, Exception) or isinstance(text, Exception):
            yield name, data if isinstance(data, Exception) else text
        elif suffix == ".npy":
            yield name, files.array(data)
        elif suffix in (".json", ".jsonl"):
            yield from ((where, _sequence(record)) for where, record in files.json_records(name, text))
        elif suffix in (".csv", ".tsv", ".txt"):
            # empty or stray cells of number columns filled from their neighbours, as in preprocessing
            yield name, files.table_payload(text, suffix, "sequence", lambda values: fill_missing(values)[0])
        else:
            yield name, BadInput("not a .csv, .tsv, .npy, .json or .jsonl file")
