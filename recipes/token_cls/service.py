"""The token-cls BentoML service: a JSON text in, its entities with character offsets out. No torch."""

from __future__ import annotations

import bentoml
from pydantic import BaseModel, Field
from starlette.responses import JSONResponse

from aiaas_cli.serving.service import SERVICE_OPTIONS, Engine, guard


class Entity(BaseModel):
    text: str = Field(description="The entity as it appears in the text: text[start:end].")
    label: str = Field(description="Its type, e.g. PER, ORG, LOC, DATE.")
    start: int = Field(description="Offset of its first character in the text (Unicode code points).")
    end: int = Field(description="Offset just past its last character.")
    score: float = Field(description="Mean probability of its words' tags.")


class Entities(BaseModel):
    entities: list[Entity]


@bentoml.service(name="aiaas-token-classifier", **SERVICE_OPTIONS)
class TokenService:
    """JSON texts in, named entities out."""

    def __init__(self) -> None:
        self.engine = Engine()

    @bentoml.api(route="/predict")
    async def predict(self, text: str) -> Entities:
        """The entities of one text (JSON `{"text": "..."}`)."""
        answer = await self.engine.infer([text], 1)
        return answer if isinstance(answer, JSONResponse) else Entities(**answer[0])

    @bentoml.api(route="/predict_batch")
    async def predict_batch(self, texts: list[str]) -> list[Entities]:
        """The entities of each text (JSON `{"texts": [...]}`), in order."""
        answer = await self.engine.infer(texts, 1)
        return answer if isinstance(answer, JSONResponse) else [Entities(**one) for one in answer]


guard(TokenService)
