"""Torch-free serving half of forecast: a history -> its last context window, scaled -> the next values.

The HTTP body {"history": [...], "covariates": [[...]]} maps onto ``decode(dict)``. ``read_inputs`` turns files
given to `aiaas predict` into histories: a .csv/.tsv table (rows in time order by its time column; the target
and covariate columns picked by name), a .npy array, or .json/.jsonl records {"history": ..., "covariates": ...}.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from aiaas_cli.serving.runtime import BadInput
from aiaas_recipes.common.scores import one_answer, one_prediction
from aiaas_recipes.sequence import files
from aiaas_recipes.sequence.forecast.scaling import denormalise, normalise
from aiaas_recipes.sequence.values import as_matrix, by_name, interpolate_missing

SERVICE = "aiaas_recipes.sequence.forecast.service:ForecastService"
http_predictions, http_response = one_prediction, one_answer
__all__ = ["SERVICE", "build_adapter", "http_predictions", "http_request", "http_response", "read_inputs", "to_row"]
DEFAULT_MAX_STEPS = 1_000_000  # longer histories are refused: only the last context_length steps are read


@dataclass
class History:
    context: np.ndarray  # (context_length, features) float32: targets, then covariates
    steps: int  # steps of history sent


class ForecastAdapter:
    """Checks histories and turns the model's scaled output back into the series' units."""

    def __init__(self, metadata: dict[str, Any], max_steps: int = DEFAULT_MAX_STEPS):
        self.targets = list(metadata["targets"])
        self.covariates = list(metadata["covariates"])
        self.context_length, self.horizon = int(metadata["context_length"]), int(metadata["horizon"])
        self.scale = np.asarray(metadata["scale"], dtype=np.float64)
        self.max_steps = int(max_steps)
        self.input = str(metadata.get("input") or "context")  # a statistical model's graph reads "history"

    def _part(self, rows: Any, key: str, names: list[str], columns: Any = None) -> np.ndarray:
        if isinstance(rows, (list, tuple)) and len(rows) > self.max_steps:
            raise BadInput(f"{key} of {len(rows)} steps is above the limit of {self.max_steps}", status=422)
        values = as_matrix(by_name(rows, columns, names, key), names, key)
        if len(values) < self.context_length:
            raise BadInput(
                f"{key} has {len(values)} steps; the model needs at least context_length={self.context_length}",
                status=422,
            )
        return values

    def decode(self, payload: Any) -> History:
        """The last context_length steps of {"history": ..., "covariates": ...} (or of a table's rows with their
        "columns"); BadInput (422) naming what is wrong: too short, a wrong shape, NaN or infinity, covariates
        missing, unwanted or of another length."""
        if not isinstance(payload, dict):
            payload = {"history": payload}
        rows, columns, covariates = payload.get("history"), payload.get("columns"), payload.get("covariates")
        history = self._part(rows, "history", self.targets, columns)
        parts = [history[-self.context_length :]]
        if self.covariates and columns is not None:  # a table: the covariates are columns of its rows
            parts.append(self._part(rows, "history", self.covariates, columns)[-self.context_length :])
        elif self.covariates:
            if covariates is None:
                raise BadInput(f"covariates are needed: {', '.join(self.covariates)} at each step", status=422)
            extra = self._part(covariates, "covariates", self.covariates)
            if len(extra) != len(history):
                raise BadInput(f"covariates has {len(extra)} steps, history {len(history)}: give one row per step", 422)
            parts.append(extra[-self.context_length :])
        elif covariates not in (None, []):
            raise BadInput("this model takes no covariates", status=422)
        return History(np.concatenate(parts, axis=1), len(history))

    def batch(self, items: list[History]) -> dict[str, np.ndarray]:
        """{"context" (or "history"): (N, context_length, features) float32, each window on its own level}."""
        scaled, _ = normalise(np.stack([item.context for item in items]), self.scale)
        return {self.input: scaled}

    def postprocess(self, outputs: dict[str, np.ndarray], items: list[History], k: int) -> list[dict]:
        """One forecast per history: a list of horizon values (one target) or of rows (one value per target)."""
        level = np.stack([item.context.mean(axis=0, dtype=np.float64) for item in items])
        values = denormalise(np.asarray(outputs["forecast"]), level, self.scale)
        answers = []
        for item, forecast in zip(items, values, strict=True):
            shaped = forecast[:, 0].tolist() if len(self.targets) == 1 else forecast.tolist()
            answers.append({"forecast": shaped, "targets": self.targets, "horizon": self.horizon,
                            "history_steps": item.steps})  # fmt: skip
        return answers


def build_adapter(metadata: dict[str, Any], max_steps: int = DEFAULT_MAX_STEPS) -> ForecastAdapter:
    """The adapter for forecast models; ``max_steps`` comes from `serve.limits`."""
    return ForecastAdapter(metadata, max_steps=max_steps)


def http_request(name: str, payload: Any, k: int) -> dict[str, Any]:
    """How `aiaas predict --url` sends one history: its JSON record."""
    body = payload if isinstance(payload, dict) else {"history": payload}
    return {"json": {key: body[key] for key in ("history", "covariates", "columns") if key in body}}


def to_row(name: str, payload: Any, prediction: dict) -> dict:
    """`aiaas predict`'s record: the next value first (one target), the whole forecast and what it is of, and what
    reading its file changed (cells filled, rows dropped)."""
    first = prediction["forecast"][0] if prediction["forecast"] else None
    return {"input": name, "next": first, **prediction, **files.notes(payload)}


def read_inputs(paths: list[Path]) -> Iterator[tuple[str, Any]]:
    """(name, history) per .csv/.tsv/.npy file or .json/.jsonl record; (name, exception) for what cannot be read.
    A table's empty or stray number cells are filled by straight lines, as the training series was."""
    return files.read_inputs(paths, "history", ("history", "covariates", "columns"), interpolate_missing)
