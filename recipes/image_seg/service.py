"""The image-seg BentoML service: multipart image uploads in, class masks out. No torch."""

from __future__ import annotations

from pathlib import Path

import bentoml
from starlette.responses import JSONResponse

from aiaas_cli.serving.service import SERVICE_OPTIONS, Engine, guard, upload_bytes
from aiaas_recipes.image_seg.responses import Segmentation


@bentoml.service(name="aiaas-image-segmenter", **SERVICE_OPTIONS)
class SegmentationService:
    """Image uploads (multipart) in, per-pixel class masks out."""

    def __init__(self) -> None:
        self.engine = Engine()

    @bentoml.api(route="/predict")
    async def predict(self, image: Path) -> Segmentation:
        """The class mask of one image (multipart field `image`), at the image's own size."""
        answer = await self.engine.infer([upload_bytes(image)], 1)
        return answer if isinstance(answer, JSONResponse) else Segmentation(**answer[0])

    @bentoml.api(route="/predict_batch")
    async def predict_batch(self, images: list[Path]) -> list[Segmentation]:
        """The class mask of each image (repeated multipart field `images`), in order."""
        answer = await self.engine.infer([upload_bytes(f) for f in images], 1)
        return answer if isinstance(answer, JSONResponse) else [Segmentation(**one) for one in answer]


guard(SegmentationService)
