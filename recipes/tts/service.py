"""The tts BentoML service: JSON `{"text": "...", "speed": 1.0}` in, a WAV file (audio/wav) out. No torch.

The WAV is returned as a starlette Response: the serving fast path and BentoML's own path both send it with its
media type."""

from __future__ import annotations

import base64
from typing import Annotated, Literal

import bentoml
from pydantic import BaseModel, Field
from starlette.responses import JSONResponse, Response

from aiaas_cli.serving.service import SERVICE_OPTIONS, Engine, guard
from aiaas_recipes.tts.serving import MAX_SPEED, MIN_SPEED

Speed = Annotated[float, Field(ge=MIN_SPEED, le=MAX_SPEED, description="Speaking rate: 2.0 is twice as fast.")]


class Speech(BaseModel):
    """The JSON answer (``"format": "json"``): the same WAV, base64-encoded, with what was said."""

    audio_base64: str = Field(description="A 16-bit mono WAV file, base64-encoded.")
    sample_rate: int
    seconds: float
    phonemes: str = Field(description="The IPA phonemes spoken (espeak-ng), stress marks and punctuation included.")


@bentoml.service(name="aiaas-speech-synthesizer", **SERVICE_OPTIONS)
class SpeechService:
    """Text in, speech out (Griffin-Lim vocoder on the acoustic model's log-mels)."""

    def __init__(self) -> None:
        self.engine = Engine()

    @bentoml.api(route="/predict")
    async def predict(self, text: str, speed: Speed = 1.0, format: Literal["wav", "json"] = "wav") -> Speech:
        """Speech for one text: `audio/wav` by default, or JSON with `"format": "json"`."""
        answer = await self.engine.infer([{"text": text, "speed": speed}], 1)
        if isinstance(answer, JSONResponse):
            return answer
        if format == "json":
            return Speech(**answer[0])
        return Response(base64.b64decode(answer[0]["audio_base64"]), media_type="audio/wav")


guard(SpeechService)
