"""The BentoML service of a packaged model: image uploads in, top-k labels out. No torch.

Two services, as BentoML composes them: `Classifier` answers HTTP (decodes uploads with the recipe's
adapter) and calls `OnnxRunner`, whose batchable `infer` gathers concurrent requests into one ONNX
Runtime call (adaptive batching). Settings come from the Bento's arguments (see limits.Settings).
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Annotated

import aiohttp
import bentoml
import numpy as np
from pydantic import BaseModel, Field
from starlette.responses import JSONResponse

from aiaas_cli.serving import runtime
from aiaas_cli.serving.limits import RequestGuard, Settings

SETTINGS = bentoml.use_arguments(Settings)
MODEL_FILE = "model.onnx"
UPLOAD_ROUTES = ("/predict", "/predict_batch")


class Score(BaseModel):
    label: str
    score: float


class Prediction(BaseModel):
    predictions: list[Score]


TopK = Annotated[int, Field(ge=1, le=1000, description="How many labels to return, best first.")]


@bentoml.service(name="aiaas-onnx-runner", workers=1, traffic={"timeout": 60}, logging={"access": {"enabled": False}})
class OnnxRunner:
    """The exported model in ONNX Runtime; concurrent calls are batched."""

    def __init__(self) -> None:
        path = bentoml.models.get(SETTINGS.model_tag).path_of(MODEL_FILE)
        self.model = runtime.OnnxModel(path, threads=SETTINGS.threads)

    @bentoml.api(batchable=True, max_batch_size=SETTINGS.max_batch_size, max_latency_ms=SETTINGS.max_latency_ms)
    def infer(self, batch: np.ndarray) -> np.ndarray:
        return self.model.run(batch)


@bentoml.service(name="aiaas-classifier", workers=SETTINGS.workers, traffic={"timeout": 60})
class Classifier:
    """Decodes uploads, asks the runner for logits, answers with the top-k labels."""

    runner = bentoml.depends(OnnxRunner)

    def __init__(self) -> None:
        metadata = bentoml.models.get(SETTINGS.model_tag).info.metadata["aiaas"]
        self.adapter = runtime.load_adapter(metadata, max_pixels=SETTINGS.max_pixels)

    @bentoml.api(route="/predict")
    async def predict(self, image: Path, k: TopK = SETTINGS.top_k) -> Prediction:
        """Top-k labels for one image (multipart field `image`)."""
        answer = await self._classify([image], k)
        return answer if isinstance(answer, JSONResponse) else answer[0]

    @bentoml.api(route="/predict_batch")
    async def predict_batch(self, images: list[Path], k: TopK = SETTINGS.top_k) -> list[Prediction]:
        """Top-k labels for each image (repeated multipart field `images`), in order."""
        return await self._classify(images, k)

    async def _classify(self, files: list[Path], k: int) -> list[Prediction] | JSONResponse:
        if not files:
            return JSONResponse({"error": "no image in the request"}, status_code=400)
        try:
            batch = self.adapter.batch([self.adapter.decode(Path(f).read_bytes()) for f in files])
        except runtime.BadInput as exc:
            return JSONResponse({"error": str(exc)}, status_code=400)
        try:
            logits = await self._infer(batch)
        except Exception as exc:  # the runner is overloaded or down: the client may retry, this is not a bug here
            return JSONResponse({"error": f"model runner unavailable: {exc!r}"}, status_code=503)
        return [Prediction(predictions=top) for top in self.adapter.postprocess(np.asarray(logits), k)]

    async def _infer(self, batch: np.ndarray) -> np.ndarray:
        # Bounded: under heavy CPU contention a runner call was seen to stall until the 60 s traffic timeout.
        timeout = SETTINGS.max_latency_ms / 1000 + 10
        try:
            return await asyncio.wait_for(self.runner.to_async.infer(batch), timeout)
        except aiohttp.ClientConnectionError:  # a pooled keep-alive connection the runner had closed: once more
            return await asyncio.wait_for(self.runner.to_async.infer(batch), timeout)


Classifier.add_asgi_middleware(RequestGuard, upload_routes=UPLOAD_ROUTES, max_body_bytes=SETTINGS.max_body_bytes)
