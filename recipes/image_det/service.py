"""The image-det BentoML service: multipart image uploads in, boxes with labels and scores out. No torch."""

from __future__ import annotations

from pathlib import Path

import bentoml
from starlette.responses import JSONResponse

from aiaas_cli.serving.service import SERVICE_OPTIONS, Engine, guard, upload_bytes
from aiaas_recipes.image_det.responses import Detections, MaxDetections, ScoreThreshold


def _payload(image, score_threshold, max_detections) -> dict:
    return {"image": upload_bytes(image), "score_threshold": score_threshold, "max_detections": max_detections}


@bentoml.service(name="aiaas-image-detector", **SERVICE_OPTIONS)
class DetectionService:
    """Image uploads (multipart) in, detections out."""

    def __init__(self) -> None:
        self.engine = Engine()

    @bentoml.api(route="/predict")
    async def predict(
        self, image: Path, score_threshold: ScoreThreshold = None, max_detections: MaxDetections = None
    ) -> Detections:
        """The objects in one image (multipart field `image`): label, score and box in the image's pixels."""
        answer = await self.engine.infer([_payload(image, score_threshold, max_detections)], max_detections or 0)
        return answer if isinstance(answer, JSONResponse) else Detections(**answer[0])

    @bentoml.api(route="/predict_batch")
    async def predict_batch(
        self, images: list[Path], score_threshold: ScoreThreshold = None, max_detections: MaxDetections = None
    ) -> list[Detections]:
        """The objects in each image (repeated multipart field `images`), in order."""
        payloads = [_payload(f, score_threshold, max_detections) for f in images]
        answer = await self.engine.infer(payloads, max_detections or 0)
        return answer if isinstance(answer, JSONResponse) else [Detections(**one) for one in answer]


guard(DetectionService)
