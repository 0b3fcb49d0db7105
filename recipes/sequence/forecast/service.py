"""The forecast BentoML service: a JSON history in, the next `horizon` values out. No torch."""

from __future__ import annotations

from typing import Annotated

import bentoml
from pydantic import BaseModel, Field
from starlette.responses import JSONResponse

from aiaas_cli.serving.service import SERVICE_OPTIONS, Engine, guard

# One value per step ([1.0, 2.0, ...]) for one target; a row per step ([[a, b], ...]) for several.
Steps = list[list[float] | float]
Columns = Annotated[
    list[str] | None,
    Field(description="Names of the values in each history row (targets and covariates are then picked by name)."),
]


class Forecast(BaseModel):
    forecast: list[list[float] | float] = Field(description="The next `horizon` values (rows for several targets).")
    targets: list[str] = Field(description="What is forecast, in the order of each row.")
    horizon: int = Field(description="Steps ahead.")
    history_steps: int = Field(description="Steps of history sent (the model reads the last context_length).")


@bentoml.service(name="aiaas-forecast", **SERVICE_OPTIONS)
class ForecastService:
    """JSON histories in, forecasts out."""

    def __init__(self) -> None:
        self.engine = Engine()

    @bentoml.api(route="/predict")
    async def predict(self, history: Steps, covariates: Steps | None = None, columns: Columns = None) -> Forecast:
        """The next values after `history` (oldest first; at least the model's context_length steps), with
        `covariates` at the same steps when the model reads them."""
        answer = await self.engine.infer([{"history": history, "covariates": covariates, "columns": columns}], 1)
        return answer if isinstance(answer, JSONResponse) else Forecast(**answer[0])


guard(ForecastService)
