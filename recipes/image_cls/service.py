"""The image-cls BentoML service: multipart image uploads in, top-k labels out. No torch."""

from __future__ import annotations

from pathlib import Path

import bentoml
from starlette.responses import JSONResponse

from aiaas_cli.serving.service import SERVICE_OPTIONS, SETTINGS, Engine, guard, upload_bytes
from aiaas_recipes.common.responses import Prediction, TopK


@bentoml.service(name="aiaas-image-classifier", **SERVICE_OPTIONS)
class ImageService:
    """Image uploads (multipart) in, top-k labels out."""

    def __init__(self) -> None:
        self.engine = Engine()

    @bentoml.api(route="/predict")
    async def predict(self, image: Path, k: TopK = SETTINGS.top_k) -> Prediction:
        """Top-k labels for one image (multipart field `image`)."""
        answer = await self.engine.infer([upload_bytes(image)], k)
        return answer if isinstance(answer, JSONResponse) else Prediction(**answer[0])

    @bentoml.api(route="/predict_batch")
    async def predict_batch(self, images: list[Path], k: TopK = SETTINGS.top_k) -> list[Prediction]:
        """Top-k labels for each image (repeated multipart field `images`), in order."""
        answer = await self.engine.infer([upload_bytes(f) for f in images], k)
        return answer if isinstance(answer, JSONResponse) else [Prediction(**one) for one in answer]


guard(ImageService)
