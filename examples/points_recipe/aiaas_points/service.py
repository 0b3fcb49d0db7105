"""The points service: POST /predict {"x": [a, b]} -> top-k clusters. Generated into a torch-free Bento."""

from __future__ import annotations

import bentoml
from starlette.responses import JSONResponse

from aiaas_cli.serving.service import SERVICE_OPTIONS, SETTINGS, Engine, guard
from aiaas_recipes.common.responses import Prediction, TopK


@bentoml.service(name="aiaas-points", **SERVICE_OPTIONS)
class PointsService:
    def __init__(self) -> None:
        self.engine = Engine()

    @bentoml.api(route="/predict")
    async def predict(self, x: list[float], k: TopK = SETTINGS.top_k) -> Prediction:
        """The k most likely clusters of one point."""
        answer = await self.engine.infer([x], k)
        return answer if isinstance(answer, JSONResponse) else Prediction(**answer[0])


guard(PointsService)
