"""The asr BentoML service: a multipart audio upload in, its transcript out. No torch."""

from __future__ import annotations

from pathlib import Path

import bentoml
from pydantic import BaseModel
from starlette.responses import JSONResponse

from aiaas_cli.serving.service import SERVICE_OPTIONS, Engine, guard, upload_bytes


class Word(BaseModel):
    word: str
    start_s: float  # from the recording's start: the word's first and last characters as the model emitted them
    end_s: float


class Transcript(BaseModel):
    text: str
    duration_s: float
    words: list[Word]


@bentoml.service(name="aiaas-speech-recognizer", **SERVICE_OPTIONS)
class SpeechService:
    """Audio uploads (multipart; WAV, FLAC, OGG, MP3) in, transcripts out; long recordings go in windows."""

    def __init__(self) -> None:
        self.engine = Engine()

    @bentoml.api(route="/predict")
    async def predict(self, audio: Path) -> Transcript:
        """The transcript of one recording (multipart field `audio`)."""
        answer = await self.engine.infer([upload_bytes(audio)], 1)
        return answer if isinstance(answer, JSONResponse) else Transcript(**answer[0])

    @bentoml.api(route="/predict_batch")
    async def predict_batch(self, audios: list[Path]) -> list[Transcript]:
        """The transcript of each recording (repeated multipart field `audios`), in order."""
        answer = await self.engine.infer([upload_bytes(f) for f in audios], 1)
        return answer if isinstance(answer, JSONResponse) else [Transcript(**one) for one in answer]


guard(SpeechService)
