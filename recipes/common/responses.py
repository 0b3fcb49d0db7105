"""Response types of the classification services (pydantic only: they ship in the Bento)."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, Field


class Score(BaseModel):
    label: str
    score: float


class Prediction(BaseModel):
    predictions: list[Score]


TopK = Annotated[int, Field(ge=1, le=1000, description="How many labels to return, best first.")]
