"""The task-neutral half of every recipe's BentoML service: settings, the engine, errors and the guard.

A recipe's service module (its serving module's ``SERVICE``) defines the HTTP API: request and response
types and routes. Everything between the request and the response is here: the recipe's adapter decodes
each item, a `MicroBatcher` runs concurrent requests through ONNX Runtime as one batch in this process (no
second service, no extra hop), and the adapter turns the outputs into one prediction per item.
"""

from __future__ import annotations

from typing import Any

import bentoml
from starlette.responses import JSONResponse

from aiaas_cli.serving import runtime
from aiaas_cli.serving.batcher import MicroBatcher
from aiaas_cli.serving.limits import RequestGuard, Settings

SETTINGS = bentoml.use_arguments(Settings)
MODEL_FILE = "model.onnx"
SERVICE_OPTIONS = {"workers": SETTINGS.workers, "traffic": {"timeout": 60}}


def error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


def model_metadata() -> dict[str, Any]:
    """The "aiaas" metadata of this Bento's model (what the recipe exported: labels, columns, sizes)."""
    return bentoml.models.get(SETTINGS.model_tag).info.metadata["aiaas"]


class Engine:
    """The model of this Bento, its recipe's adapter and the batcher in front of ONNX Runtime."""

    def __init__(self) -> None:
        model = bentoml.models.get(SETTINGS.model_tag)
        self.metadata = model.info.metadata["aiaas"]
        self.model = runtime.OnnxModel(model.path_of(MODEL_FILE), threads=SETTINGS.threads)
        self.adapter = runtime.load_adapter(self.metadata, **SETTINGS.limits)
        self.batcher = MicroBatcher(self.model.run, SETTINGS.max_batch_size, SETTINGS.max_latency_ms)

    async def infer(self, payloads: list[Any], k: int) -> list[dict] | JSONResponse:
        """One prediction per payload, in order; a 4xx JSONResponse when an item is unusable."""
        if not payloads:
            return error(400, "nothing to predict in the request")
        try:
            # decoded right here: measured as fast as in the inference thread or a thread pool (BENCHMARKS.md)
            items = [self.adapter.decode(payload) for payload in payloads]
        except runtime.BadInput as exc:
            return error(exc.status, str(exc))
        outputs = await self.batcher.submit(self.adapter.batch(items))
        return self.adapter.postprocess(outputs, items, k)


def guard(service: Any, upload_routes: tuple[str, ...] = ()) -> Any:
    """Put the request guard (pickle refusal, body limit, multipart check on ``upload_routes``) in front."""
    service.add_asgi_middleware(RequestGuard, upload_routes=upload_routes, max_body_bytes=SETTINGS.max_body_bytes)
    return service
