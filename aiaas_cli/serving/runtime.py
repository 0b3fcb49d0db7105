"""Torch-free inference: an ONNX Runtime session, the recipe's serving adapter, and both combined.

Used by `aiaas predict`, by export checks and inside the Bento. Never import torch here (directly or
through a recipe): a served model must not need it.

An exported model carries a JSON string under the ONNX metadata key "aiaas" (recipe, run_id,
serving_module, input_names, output_names, opset and the recipe's own keys). The "serving_module" names
the recipe's torch-free module (see `aiaas_cli.recipe_api`): ``build_adapter(metadata, **limits)`` returns
an `Adapter` that decodes one request item, batches items into the model's feeds and turns the model's
outputs into one JSON-ready prediction per item.
"""

from __future__ import annotations

import importlib
import json
from collections.abc import Callable, Iterator
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime as ort

from aiaas_cli.errors import UserError

METADATA_KEY = "aiaas"
Feeds = dict[str, np.ndarray]


class BadInput(ValueError):
    """One request item cannot be used; the message says why, ``status`` is the HTTP answer (400 or 422)."""

    def __init__(self, message: str, status: int = 400):
        super().__init__(message)
        self.status = status


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


class OnnxGraph:
    """One ONNX file in an ONNX Runtime CPU session: feeds in, every output by name out.

    ``folder``: where the file must really be (a Bento's model folder: a symlink in it must not pick the file).
    ONNX Runtime itself refuses external data outside the model's folder, through symlinks too (tests/serving).
    """

    def __init__(self, path: str | Path, threads: int | None = None, folder: str | Path | None = None):
        self.path = Path(path)
        if not self.path.is_file():
            raise UserError(f"model file {self.path} does not exist", "export one with `aiaas export RECIPE run=<id>`")
        if folder is not None and not self.path.resolve().is_relative_to(Path(folder).resolve()):
            raise UserError(f"model file {self.path} is a link out of its folder {folder}; refusing to load it")
        try:
            self.session = ort.InferenceSession(
                str(self.path), session_options(threads), providers=["CPUExecutionProvider"]
            )
        except Exception as exc:  # ORT raises its own exception types for a bad file
            raise UserError(f"cannot load ONNX model {self.path}: {str(exc).splitlines()[0]}") from None
        self.input_names = [i.name for i in self.session.get_inputs()]
        self.output_names = [o.name for o in self.session.get_outputs()]
        first = self.session.get_inputs()[0].shape[0] if self.session.get_inputs() else None
        self.fixed_batch = first if isinstance(first, int) and first > 0 else None  # None: a symbolic batch axis

    def run(self, feeds: Feeds) -> Feeds:
        """Every output for one batch of feeds (ONNX input name -> array), of any batch size."""
        rows = len(next(iter(feeds.values())))
        if self.fixed_batch is None or rows == self.fixed_batch:
            return dict(zip(self.output_names, self.session.run(self.output_names, feeds)))
        # a model exported without a dynamic batch axis: feed it chunks of its size, padding the last one
        size, parts = self.fixed_batch, []
        for start in range(0, rows, size):
            chunk = {name: _pad(array[start : start + size], size) for name, array in feeds.items()}
            outputs = self.session.run(self.output_names, chunk)
            parts.append([out[: min(size, rows - start)] for out in outputs])
        return {name: np.concatenate([part[i] for part in parts]) for i, name in enumerate(self.output_names)}


class OnnxModel(OnnxGraph):
    """An exported aiaas model: model.onnx with its metadata, and the further graphs it names beside it.

    A model of several graphs (an encoder and a decoder step) lists them in ``metadata["graphs"]`` ({name: file
    name in model.onnx's folder}); they load here as ``graphs[name]``, from that folder only.
    """

    def __init__(self, path: str | Path, threads: int | None = None, folder: str | Path | None = None):
        super().__init__(path, threads, folder)
        self.metadata = read_metadata(self.session, self.path)
        self.graphs: dict[str, OnnxGraph] = {}
        for name, file in (self.metadata.get("graphs") or {}).items():
            if Path(file).name != file or file.startswith("."):
                raise UserError(f"{self.path} names graph file {file!r} outside its folder; refusing to load it")
            self.graphs[name] = OnnxGraph(self.path.parent / file, threads, folder or self.path.parent)

    def files(self) -> list[Path]:
        """model.onnx and every graph file it names, the files that make up this model."""
        return [self.path, *(graph.path for graph in self.graphs.values())]


def runner(model: OnnxModel, adapter: Any) -> Callable[[Feeds], Feeds]:
    """How one batch of feeds becomes outputs: one ONNX Runtime call, or, when the adapter has ``run(model,
    feeds)``, the adapter's own loop over the model's graphs (a decoder's steps, a sampler's denoising steps)."""
    own = getattr(adapter, "run", None)
    return model.run if own is None else partial(own, model)


def _pad(chunk: np.ndarray, size: int) -> np.ndarray:
    return np.concatenate([chunk, np.repeat(chunk[-1:], size - len(chunk), axis=0)]) if len(chunk) < size else chunk


def concat(parts: list[Feeds]) -> Feeds:
    """Several batches of feeds (or outputs) as one."""
    return {name: np.concatenate([part[name] for part in parts]) for name in parts[0]}


def split(batch: Feeds, sizes: list[int]) -> list[Feeds]:
    """The inverse of ``concat``: one batch cut into parts of ``sizes`` rows."""
    cuts = np.cumsum(sizes)[:-1]
    pieces = {name: np.split(array, cuts) for name, array in batch.items()}
    return [{name: pieces[name][i] for name in batch} for i in range(len(sizes))]


def read_metadata(session: ort.InferenceSession, path: Path) -> dict[str, Any]:
    raw = session.get_modelmeta().custom_metadata_map.get(METADATA_KEY)
    if not raw:
        raise UserError(f"{path} is not an aiaas model (no '{METADATA_KEY}' metadata)", "export it with `aiaas export`")
    return json.loads(raw)


def serving_module(name: str | None, allowed: set[str] | None = None) -> Any:
    """The recipe's torch-free serving module; only one in ``allowed`` when given (a model file names the module
    to import: a crafted one must not choose what runs)."""
    if not name:
        raise UserError("the model's metadata names no serving_module", "export it again with this aiaas version")
    if allowed is not None and name not in allowed:
        raise UserError(
            f"the model names serving module '{name}', which is not one of its recipe's ({', '.join(sorted(allowed))})",
            "refusing to import it: export the model again with the recipe that serves it",
        )
    try:
        return importlib.import_module(name)
    except ImportError as exc:
        raise UserError(f"cannot import serving module '{name}': {exc}", "install the recipe's package") from None


def load_adapter(metadata: dict[str, Any], allowed: set[str] | None = None, **limits: Any) -> Any:
    """The recipe's torch-free adapter named by ``metadata["serving_module"]``; ``limits`` from `serve.limits`."""
    return serving_module(metadata.get("serving_module"), allowed).build_adapter(metadata, **limits)


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


class Predictor:
    """Payloads in, JSON-ready predictions out: the recipe's adapter around an ONNX Runtime model.

    ``allowed``: the serving modules it may import (the recipe's); aiaas' commands always pass it.
    """

    def __init__(
        self,
        path: str | Path,
        threads: int | None = None,
        limits: dict[str, Any] | None = None,
        allowed: set[str] | None = None,
    ):
        self.model = OnnxModel(path, threads)
        self.metadata = self.model.metadata
        self.module = serving_module(self.metadata.get("serving_module"), allowed)
        self.adapter = self.module.build_adapter(self.metadata, **(limits or {}))
        self.run = runner(self.model, self.adapter)

    def decode(self, payload: Any) -> Any:
        """One item ready to batch; raises BadInput."""
        return self.adapter.decode(payload)

    def predict_decoded(self, items: list[Any], k: int = 5) -> list[dict]:
        """One prediction per item already decoded with ``decode``."""
        if not items:
            return []
        return self.adapter.postprocess(self.run(self.adapter.batch(items)), items, k)

    def predict(self, payloads: list[Any], k: int = 5) -> list[dict]:
        """One prediction per payload, as the service answers it; raises BadInput for a bad item."""
        return self.predict_decoded([self.decode(p) for p in payloads], k)

    def to_row(self, name: str, payload: Any, prediction: dict) -> dict:
        """The flat record `aiaas predict` writes for one input."""
        return self.module.to_row(name, payload, prediction)
