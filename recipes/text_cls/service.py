"""The text-cls BentoML service: JSON texts in, top-k labels out (and whether each was truncated). No torch."""

from __future__ import annotations

import bentoml
from pydantic import Field
from starlette.responses import JSONResponse

from aiaas_cli.serving.service import SERVICE_OPTIONS, SETTINGS, Engine, guard
from aiaas_recipes.common.responses import Prediction, TopK


class TextPrediction(Prediction):
    truncated: bool = Field(description="The text was longer than the model reads; its end was not used.")


@bentoml.service(name="aiaas-text-classifier", **SERVICE_OPTIONS)
class TextService:
    """JSON texts in, top-k labels out."""

    def __init__(self) -> None:
        self.engine = Engine()

    @bentoml.api(route="/predict")
    async def predict(self, text: str, k: TopK = SETTINGS.top_k) -> TextPrediction:
        """Top-k labels for one text (JSON `{"text": "..."}`)."""
        answer = await self.engine.infer([text], k)
        return answer if isinstance(answer, JSONResponse) else TextPrediction(**answer[0])

    @bentoml.api(route="/predict_batch")
    async def predict_batch(self, texts: list[str], k: TopK = SETTINGS.top_k) -> list[TextPrediction]:
        """Top-k labels for each text (JSON `{"texts": [...]}`), in order."""
        answer = await self.engine.infer(texts, k)
        return answer if isinstance(answer, JSONResponse) else [TextPrediction(**one) for one in answer]


guard(TextService)
