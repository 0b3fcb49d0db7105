"""The seq2seq BentoML service: JSON texts in, generated texts out (greedy or beam search). No torch."""

from __future__ import annotations

import bentoml
from pydantic import BaseModel, Field
from starlette.responses import JSONResponse

from aiaas_cli.serving.service import SERVICE_OPTIONS, Engine, guard


class Generated(BaseModel):
    text: str = Field(description="The output text.")
    tokens: list[str] = Field(description="Its subword tokens, in order.")


Beam = Field(default=None, ge=1, description="Beams of the search (1: greedy; null: the model's default).")
Length = Field(default=None, ge=1, description="Most output tokens (null: the model's limit).")


def _requests(texts: list[str], beam_size: int | None, max_length: int | None) -> list[dict]:
    return [{"text": t, "beam_size": beam_size, "max_length": max_length} for t in texts]


@bentoml.service(name="aiaas-seq2seq", **SERVICE_OPTIONS)
class Seq2SeqService:
    """JSON texts in, generated texts (translations, digits, summaries) out."""

    def __init__(self) -> None:
        self.engine = Engine()

    @bentoml.api(route="/predict")
    async def predict(self, text: str, beam_size: int | None = Beam, max_length: int | None = Length) -> Generated:
        """The output for one text (JSON `{"text": "...", "beam_size": 4, "max_length": 64}`)."""
        answer = await self.engine.infer(_requests([text], beam_size, max_length), 1)
        return answer if isinstance(answer, JSONResponse) else Generated(**answer[0])

    @bentoml.api(route="/predict_batch")
    async def predict_batch(
        self, texts: list[str], beam_size: int | None = Beam, max_length: int | None = Length
    ) -> list[Generated]:
        """The output for each text (JSON `{"texts": [...]}`), in order; texts of any lengths are decoded together."""
        answer = await self.engine.infer(_requests(texts, beam_size, max_length), 1)
        return answer if isinstance(answer, JSONResponse) else [Generated(**one) for one in answer]


guard(Seq2SeqService)
