"""The BentoML services of a packaged model, one process each: requests in, top-k labels out. No torch.

`ImageService` takes multipart uploads, `TextService` JSON texts; `aiaas package` ships the one that the
model's serving module names (see stages/package.py). Both decode requests with the recipe's adapter and
await a `MicroBatcher`, which runs concurrent requests through ONNX Runtime as one batch in this process
(no second service, no extra hop). Settings come from the Bento's arguments (see limits.Settings).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import bentoml
import numpy as np
from pydantic import BaseModel, Field
from starlette.responses import JSONResponse

from aiaas_cli.serving import runtime
from aiaas_cli.serving.batcher import MicroBatcher
from aiaas_cli.serving.limits import RequestGuard, Settings

SETTINGS = bentoml.use_arguments(Settings)
MODEL_FILE = "model.onnx"
UPLOAD_ROUTES = ("/predict", "/predict_batch")
SERVICE_OPTIONS = {"workers": SETTINGS.workers, "traffic": {"timeout": 60}}


class Score(BaseModel):
    label: str
    score: float


class Prediction(BaseModel):
    predictions: list[Score]


class TextPrediction(Prediction):
    truncated: bool = Field(description="The text was longer than the model reads; its end was not used.")


TopK = Annotated[int, Field(ge=1, le=1000, description="How many labels to return, best first.")]


def error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


class Engine:
    """The model of this Bento, its recipe's adapter and the batcher in front of ONNX Runtime."""

    def __init__(self) -> None:
        model = bentoml.models.get(SETTINGS.model_tag)
        self.model = runtime.OnnxModel(model.path_of(MODEL_FILE), threads=SETTINGS.threads)
        self.adapter = runtime.load_adapter(model.info.metadata["aiaas"], max_pixels=SETTINGS.max_pixels)
        self.batcher = MicroBatcher(self.model.run, SETTINGS.max_batch_size, SETTINGS.max_latency_ms)
        self.extras = getattr(self.adapter, "extras", lambda item: {})

    async def classify(self, payloads: list[Any], k: int) -> list[tuple[list[dict], Any]] | JSONResponse:
        """(top-k, decoded item) per payload, in order; a 4xx JSONResponse when an item is unusable."""
        if not payloads:
            return error(400, f"no {self.adapter.input_kind} in the request")
        try:
            # decoded right here: measured as fast as in the inference thread or a thread pool (BENCHMARKS.md)
            items = [self.adapter.decode(payload) for payload in payloads]
        except runtime.BadInput as exc:
            return error(400, str(exc))
        logits = await self.batcher.submit(self.adapter.batch(items))
        return list(zip(self.adapter.postprocess(np.asarray(logits), k), items, strict=True))


@bentoml.service(name="aiaas-image-classifier", **SERVICE_OPTIONS)
class ImageService:
    """Image uploads (multipart) in, top-k labels out."""

    def __init__(self) -> None:
        self.engine = Engine()

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
        answer = await self.engine.classify([Path(f).read_bytes() for f in files], k)
        if isinstance(answer, JSONResponse):
            return answer
        return [Prediction(predictions=top) for top, _ in answer]


@bentoml.service(name="aiaas-text-classifier", **SERVICE_OPTIONS)
class TextService:
    """JSON texts in, top-k labels out (and whether each text was truncated)."""

    def __init__(self) -> None:
        self.engine = Engine()

    @bentoml.api(route="/predict")
    async def predict(self, text: str, k: TopK = SETTINGS.top_k) -> TextPrediction:
        """Top-k labels for one text (JSON `{"text": "..."}`)."""
        answer = await self._classify([text], k)
        return answer if isinstance(answer, JSONResponse) else answer[0]

    @bentoml.api(route="/predict_batch")
    async def predict_batch(self, texts: list[str], k: TopK = SETTINGS.top_k) -> list[TextPrediction]:
        """Top-k labels for each text (JSON `{"texts": [...]}`), in order."""
        return await self._classify(texts, k)

    async def _classify(self, texts: list[str], k: int) -> list[TextPrediction] | JSONResponse:
        answer = await self.engine.classify(texts, k)
        if isinstance(answer, JSONResponse):
            return answer
        truncated = [bool(self.engine.extras(item).get("truncated", False)) for _, item in answer]
        return [TextPrediction(predictions=top, truncated=cut) for (top, _), cut in zip(answer, truncated, strict=True)]


guard = {"max_body_bytes": SETTINGS.max_body_bytes}
ImageService.add_asgi_middleware(RequestGuard, upload_routes=UPLOAD_ROUTES, **guard)
TextService.add_asgi_middleware(RequestGuard, upload_routes=(), **guard)
