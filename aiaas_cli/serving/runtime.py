"""Torch-free inference: an ONNX Runtime session, the recipe's serving adapter, and both combined.

Used by `aiaas predict` and inside the Bento. Never import torch here (directly or through a recipe):
a served model must not need it.

An exported model carries a JSON string under the ONNX metadata key "aiaas" (recipe, labels,
input_size, mean, std, run_id, serving_module, input_name, output_name, opset, ...). The
"serving_module" names a torch-free module whose ``build_adapter(metadata, **options)`` returns an
adapter with ``input_kind``, ``decode(payload)``, ``batch(items)`` and ``postprocess(logits, k)``, and
optionally ``extras(item)`` (fields reported with a prediction, e.g. {"truncated": true}). The payload is
what one HTTP request carries: bytes for an "image" upload, a str for "text" (JSON {"text": ...}).

The module may also define ``INPUT_KIND`` and ``read_inputs(paths)`` -> (name, payload) pairs, for inputs
that are not one file each (a CSV of texts); without it every file is one payload of bytes (``read_files``).
"""

from __future__ import annotations

import importlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import onnxruntime as ort

from aiaas_cli.errors import UserError

METADATA_KEY = "aiaas"
DEFAULT_MAX_PIXELS = 64_000_000


class BadInput(ValueError):
    """One request item cannot be used (empty, not an image or text, truncated, too large); the message says why."""


class Adapter(Protocol):
    """What a recipe's serving module provides: a request payload in, model input out, logits to labels."""

    input_kind: str  # "image" (bytes) or "text" (str): what one request carries

    def decode(self, payload: Any) -> Any: ...

    def batch(self, items: list[Any]) -> np.ndarray: ...

    def postprocess(self, logits: np.ndarray, k: int) -> list[list[dict]]: ...


def session_options(threads: int | None = None) -> ort.SessionOptions:
    """All graph optimisations on; ``threads`` intra-op threads (None: ONNX Runtime's default)."""
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.inter_op_num_threads = 1
    if threads:
        options.intra_op_num_threads = int(threads)
    options.log_severity_level = 3  # errors only: ORT's warnings are not the user's business
    return options


class OnnxModel:
    """An exported aiaas model in an ONNX Runtime CPU session."""

    def __init__(self, path: str | Path, threads: int | None = None):
        self.path = Path(path)
        if not self.path.is_file():
            raise UserError(f"model file {self.path} does not exist", "export one with `aiaas export RECIPE run=<id>`")
        try:
            self.session = ort.InferenceSession(
                str(self.path), session_options(threads), providers=["CPUExecutionProvider"]
            )
        except Exception as exc:  # ORT raises its own exception types for a bad file
            raise UserError(f"cannot load ONNX model {self.path}: {str(exc).splitlines()[0]}") from None
        self.metadata = read_metadata(self.session, self.path)
        self.input_name = self.metadata.get("input_name") or self.session.get_inputs()[0].name
        self.output_name = self.metadata.get("output_name") or self.session.get_outputs()[0].name
        first = next(i for i in self.session.get_inputs() if i.name == self.input_name).shape[0]
        self.fixed_batch = first if isinstance(first, int) and first > 0 else None  # None: a symbolic batch axis

    def run(self, batch: np.ndarray) -> np.ndarray:
        """Logits for one batch (the model's input layout, float32), of any size."""
        if self.fixed_batch is None or len(batch) == self.fixed_batch:
            return self.session.run([self.output_name], {self.input_name: batch})[0]
        # a model exported without a dynamic batch axis: feed it chunks of its size, padding the last one
        size, outputs = self.fixed_batch, []
        for start in range(0, len(batch), size):
            chunk = batch[start : start + size]
            padded = np.concatenate([chunk, np.repeat(chunk[-1:], size - len(chunk), axis=0)])
            outputs.append(self.session.run([self.output_name], {self.input_name: padded})[0][: len(chunk)])
        return np.concatenate(outputs)


def read_metadata(session: ort.InferenceSession, path: Path) -> dict[str, Any]:
    raw = session.get_modelmeta().custom_metadata_map.get(METADATA_KEY)
    if not raw:
        raise UserError(f"{path} is not an aiaas model (no '{METADATA_KEY}' metadata)", "export it with `aiaas export`")
    return json.loads(raw)


def serving_module(name: str | None) -> Any:
    """The recipe's torch-free serving module."""
    if not name:
        raise UserError("the model's metadata names no serving_module", "export it again with this aiaas version")
    try:
        return importlib.import_module(name)
    except ImportError as exc:
        raise UserError(f"cannot import serving module '{name}': {exc}", "install the recipe's package") from None


def load_adapter(metadata: dict[str, Any], **options: Any) -> Adapter:
    """The recipe's torch-free adapter named by ``metadata["serving_module"]`` (options: max_pixels)."""
    return serving_module(metadata.get("serving_module")).build_adapter(metadata, **options)


def read_files(paths: list[Path]) -> Iterator[tuple[str, bytes | OSError]]:
    """(name, bytes) per file; (name, OSError) for a file that cannot be read, so the others still run."""
    for path in paths:
        try:
            yield str(path), Path(path).read_bytes()
        except FileNotFoundError:
            yield str(path), OSError("no such file")
        except OSError as exc:
            yield str(path), OSError(f"cannot read file: {exc.strerror or exc}")


def read_inputs(module_name: str, paths: list[Path]) -> tuple[Iterator[tuple[str, Any]], int]:
    """The serving module's (name, payload) pairs for ``paths`` (payload an exception when unusable), and how many.

    One file per input (images) is read lazily: a folder of photos need not fit in memory. A module's own
    ``read_inputs`` (rows of a table) is read up front, to count its inputs.
    """
    module = serving_module(module_name)
    if not hasattr(module, "read_inputs"):
        return read_files(paths), len(paths)
    inputs = list(module.read_inputs(paths))
    return iter(inputs), len(inputs)


def input_kind(module_name: str) -> str:
    """What one request to the model's service carries ("image" unless the module says otherwise)."""
    return getattr(serving_module(module_name), "INPUT_KIND", "image")


class Predictor:
    """Bytes in, top-k labels out: the adapter around an ONNX Runtime model."""

    def __init__(self, path: str | Path, threads: int | None = None, max_pixels: int = DEFAULT_MAX_PIXELS):
        self.model = OnnxModel(path, threads)
        self.metadata = self.model.metadata
        self.adapter = load_adapter(self.metadata, max_pixels=max_pixels)

    def decode(self, payload: Any) -> Any:
        """One item ready to batch; raises BadInput."""
        return self.adapter.decode(payload)

    def extras(self, item: Any) -> dict[str, Any]:
        """The adapter's extra fields for one decoded item (none for most adapters)."""
        extras = getattr(self.adapter, "extras", None)
        return extras(item) if extras else {}

    def predict_decoded(self, items: list[Any], k: int = 5) -> list[list[dict]]:
        """Top-k predictions for items already decoded with ``decode``."""
        if not items:
            return []
        return self.adapter.postprocess(self.model.run(self.adapter.batch(items)), k)

    def predict(self, payloads: list[Any], k: int = 5) -> list[list[dict]]:
        """Top-k ``{"label", "score"}`` per payload, best first; raises BadInput for a bad item."""
        return self.predict_decoded([self.decode(p) for p in payloads], k)
