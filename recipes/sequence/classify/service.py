"""The seq-cls BentoML service: a JSON sequence of feature rows in, top-k labels out. No torch."""

from __future__ import annotations

from typing import Annotated

import bentoml
from pydantic import Field
from starlette.responses import JSONResponse

from aiaas_cli.serving.service import SERVICE_OPTIONS, SETTINGS, Engine, guard
from aiaas_recipes.common.responses import Prediction, TopK

# One row of feature values per step ([[a, b, c], ...]); a bare number per step when the model has one feature.
Sequence = list[list[float] | float]
Columns = Annotated[
    list[str] | None, Field(description="Names of the values in each row; the model's features are picked by name.")
]


class SequencePrediction(Prediction):
    steps: int = Field(description="Steps in the sequence sent.")
    truncated: bool = Field(description="The sequence was longer than the model reads; its end was not used.")


@bentoml.service(name="aiaas-sequence-classifier", **SERVICE_OPTIONS)
class SequenceService:
    """JSON sequences in, top-k labels out."""

    def __init__(self) -> None:
        self.engine = Engine()

    @bentoml.api(route="/predict")
    async def predict(
        self, sequence: Sequence, columns: Columns = None, k: TopK = SETTINGS.top_k
    ) -> SequencePrediction:
        """Top-k labels for one sequence (JSON `{"sequence": [[...], ...]}`, one row of features per step)."""
        answer = await self.engine.infer([{"sequence": sequence, "columns": columns}], k)
        return answer if isinstance(answer, JSONResponse) else SequencePrediction(**answer[0])

    @bentoml.api(route="/predict_batch")
    async def predict_batch(self, sequences: list[Sequence], k: TopK = SETTINGS.top_k) -> list[SequencePrediction]:
        """Top-k labels for each sequence (JSON `{"sequences": [...]}`), in order."""
        answer = await self.engine.infer(sequences, k)
        return answer if isinstance(answer, JSONResponse) else [SequencePrediction(**one) for one in answer]


guard(SequenceService)
