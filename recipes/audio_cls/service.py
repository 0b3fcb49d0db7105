"""The audio-cls BentoML service: multipart audio uploads in, top-k keywords out. No torch."""

from __future__ import annotations

from pathlib import Path

import bentoml
from starlette.responses import JSONResponse

from aiaas_cli.serving.service import SERVICE_OPTIONS, SETTINGS, Engine, guard, upload_bytes
from aiaas_recipes.common.responses import Prediction, TopK


@bentoml.service(name="aiaas-keyword-spotter", **SERVICE_OPTIONS)
class AudioService:
    """Audio uploads (multipart; WAV, FLAC, OGG, MP3) in, top-k keywords out."""

    def __init__(self) -> None:
        self.engine = Engine()

    @bentoml.api(route="/predict")
    async def predict(self, audio: Path, k: TopK = SETTINGS.top_k) -> Prediction:
        """Top-k keywords for one recording (multipart field `audio`)."""
        answer = await self.engine.infer([upload_bytes(audio)], k)
        return answer if isinstance(answer, JSONResponse) else Prediction(**answer[0])

    @bentoml.api(route="/predict_batch")
    async def predict_batch(self, audios: list[Path], k: TopK = SETTINGS.top_k) -> list[Prediction]:
        """Top-k keywords for each recording (repeated multipart field `audios`), in order."""
        answer = await self.engine.infer([upload_bytes(f) for f in audios], k)
        return answer if isinstance(answer, JSONResponse) else [Prediction(**one) for one in answer]


guard(AudioService)
