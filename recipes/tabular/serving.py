"""Torch-free serving half of the tabular recipes: a record (column -> value) in, a label or a value out.

Numbers go to the model raw (missing as NaN: the ONNX graph imputes and scales them); categories become
indices from the vocabulary stored in the model's metadata (an unseen category is "unknown", never an
error). Used by `aiaas predict` (rows of CSV/TSV/JSONL/Parquet files) and by the Bento (JSON records).
No torch, pandas or scikit-learn here.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from aiaas_cli.serving.runtime import BadInput, read_files
from aiaas_recipes.tabular import values
from aiaas_recipes.tabular.encode import Encoder, FieldError

SERVICE = "aiaas_recipes.tabular.service:TabularService"


@dataclass
class Row:
    """A decoded record: its rows of the model's two inputs."""

    numeric: np.ndarray
    categorical: np.ndarray


class TabularAdapter:
    """Records to the "numeric"/"categorical" feeds, outputs to labels with probabilities, or values."""

    def __init__(self, metadata: dict[str, Any]):
        self.task = metadata["task"]
        self.labels = list(metadata.get("labels", []))
        self.encoder = Encoder(metadata["schema"])
        self.inputs = list(metadata.get("inputs") or self.encoder.input_names)

    def decode(self, payload: Any) -> Row:
        """One record; BadInput (422) naming the field that cannot be used."""
        if not isinstance(payload, dict):
            raise BadInput(f"a record must be an object of column -> value, got {type(payload).__name__}", status=422)
        try:
            numeric, categorical = self.encoder.encode_record(payload)
        except FieldError as exc:
            raise BadInput(str(exc), status=422) from None
        return Row(numeric, categorical)

    def batch(self, items: list[Row]) -> dict[str, np.ndarray]:
        feeds = {
            "numeric": np.stack([item.numeric for item in items]).astype(np.float32),
            "categorical": np.stack([item.categorical for item in items]).astype(np.int64),
        }
        return {name: feeds[name] for name in self.inputs}

    def postprocess(self, outputs: dict[str, Any], items: list[Row], k: int) -> list[dict]:
        """Classification: the label, its score and every class's probability (``k`` does not cut them: a
        table of predictions needs the same columns on every row). Regression: the value."""
        if self.task == "regression":
            return [{"value": float(v)} for v in np.asarray(outputs["value"], dtype=np.float64).reshape(-1)]
        probabilities = np.asarray(outputs["probabilities"], dtype=np.float64)
        answers = []
        for row in probabilities:
            best = int(row.argmax())
            answers.append(
                {
                    "label": self.labels[best],
                    "score": float(row[best]),
                    "probabilities": {label: float(p) for label, p in zip(self.labels, row)},
                }
            )
        return answers


def build_adapter(metadata: dict[str, Any], **_: Any) -> TabularAdapter:
    """The adapter for a model exported by tabular-cls or tabular-reg (limits for other inputs are ignored)."""
    return TabularAdapter(metadata)


def http_request(name: str, payload: Any, k: int) -> dict[str, Any]:
    """`predict --url`: one record per request. Columns a file has beyond the model's (an ID, the target)
    are ignored, as they are locally."""
    return {"json": {"records": [payload], "ignore_extra": True}}


def http_response(predictions: list[dict]) -> dict[str, Any]:
    """The body the service's `/predict` answers: ``{"predictions": [...]}``, one per record."""
    return {"predictions": predictions}


def http_predictions(body: dict[str, Any]) -> list[dict]:
    return body.get("predictions") or []


def to_row(name: str, payload: Any, prediction: dict) -> dict[str, Any]:
    """`aiaas predict`'s record: the input's own columns, then the prediction, flat (probability_<class>)."""
    row: dict[str, Any] = {"input": name, **(payload if isinstance(payload, dict) else {})}
    if "value" in prediction:
        return {**row, "value": prediction["value"]}
    row.update({"label": prediction["label"], "score": prediction["score"]})
    row.update({f"probability_{label}": p for label, p in prediction.get("probabilities", {}).items()})
    return row


def _cell(text: str) -> str | None:
    """A CSV cell as the model reads it: missing spellings become None, the rest is trimmed text."""
    return None if values.is_missing(text) else text.strip()


def _decode(data: bytes) -> str:
    for encoding in ("utf-8-sig", "cp1252", "latin-1"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise AssertionError("latin-1 decodes any bytes")


def _csv_rows(name: str, data: bytes) -> Iterator[tuple[str, Any]]:
    from aiaas_recipes.tabular.read import read_csv_text, sniff_delimiter

    text = _decode(data)
    delimiter = "\t" if Path(name).suffix.lower() in (".tsv", ".tab") else sniff_delimiter(text)
    try:
        table = read_csv_text(text, delimiter, name)
    except Exception as exc:  # a UserError for an empty or unparseable file: that file's one error
        yield name, BadInput(str(exc))
        return
    entries = [
        (where, {c: _cell(cells[i]) for c, cells in table.columns.items()}) for i, where in enumerate(table.where)
    ]
    entries += [(skipped["file"], BadInput(skipped["reason"])) for skipped in table.skipped]
    yield from sorted(entries, key=lambda entry: int(entry[0].rsplit(":", 1)[1]))  # in line order


def _jsonl_rows(name: str, data: bytes) -> Iterator[tuple[str, Any]]:
    for number, line in enumerate(_decode(data).splitlines(), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            record = BadInput(f"not JSON ({exc.msg})")
        yield f"{name}:{number}", record


def _parquet_rows(path: str) -> Iterator[tuple[str, Any]]:
    import pyarrow.parquet as pq

    try:
        records = pq.read_table(path).to_pylist()
    except Exception as exc:  # pyarrow raises several types for a file that is not Parquet
        yield path, BadInput(f"cannot read as Parquet: {str(exc).splitlines()[0]}")
        return
    for number, record in enumerate(records, start=1):
        # dates as text, so a record is JSON for `predict --url` too
        yield f"{path}:row {number}", {k: v.isoformat() if hasattr(v, "isoformat") else v for k, v in record.items()}


def read_inputs(paths: list[Path]) -> Iterator[tuple[str, Any]]:
    """(name, record) per row of .csv/.tsv/.jsonl/.parquet files ("data.csv:2" is line 2); a file or line that
    cannot be read yields (name, exception) instead, so the other rows still run."""
    for name, data in read_files(paths):
        suffix = Path(name).suffix.lower()
        if isinstance(data, Exception):
            yield name, data
        elif suffix in (".parquet", ".pq"):
            yield from _parquet_rows(name)
        elif suffix == ".jsonl":
            yield from _jsonl_rows(name, data)
        else:
            yield from _csv_rows(name, data)
