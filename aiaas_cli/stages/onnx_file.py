"""An exported ONNX file: aiaas' metadata written into it (checked), and its outputs computed in chunks.

Shared by export and quantize (each writes and runs a model), so neither stage imports the other's module.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from aiaas_cli.errors import UserError
from aiaas_cli.serving.runtime import METADATA_KEY, Feeds, OnnxModel, concat

_CHUNK = 64


def embed_metadata(path: Path, meta: dict[str, Any]) -> None:
    """Write ``meta`` into the model's metadata_props and run the ONNX checker on the result."""
    import onnx

    model = onnx.load(str(path))
    kept = [p for p in model.metadata_props if p.key != METADATA_KEY]
    del model.metadata_props[:]
    model.metadata_props.extend(kept)
    onnx.helper.set_model_props(model, {**{p.key: p.value for p in kept}, METADATA_KEY: json.dumps(meta)})
    try:
        onnx.checker.check_model(model, full_check=True)
    except (onnx.checker.ValidationError, onnx.shape_inference.InferenceError) as exc:
        raise UserError(f"the exported ONNX model is invalid: {str(exc).splitlines()[0]}") from exc
    onnx.save(model, str(path))


def onnx_outputs(model: OnnxModel | Callable[[Feeds], Feeds], feeds: Feeds) -> Feeds:
    """Every output of ``model`` (or of a runner, see runtime.runner) for ``feeds``, run in chunks."""
    run = model.run if isinstance(model, OnnxModel) else model
    rows = len(next(iter(feeds.values())))
    chunks = [run({k: v[i : i + _CHUNK] for k, v in feeds.items()}) for i in range(0, rows, _CHUNK)]
    return concat(chunks)
