"""Request options and response type of the image-det service (pydantic only: it ships in the Bento)."""

from __future__ import annotations

from typing import Annotated, Optional

from pydantic import BaseModel, Field

ScoreThreshold = Annotated[
    Optional[float], Field(ge=0.0, le=1.0, description="lowest score returned (default: the model's)")
]
MaxDetections = Annotated[
    Optional[int],
    Field(ge=1, le=300, description="most detections per image, best first (default: the model's, 100; at most 300)"),
]


class Detection(BaseModel):
    label: str
    score: float
    box: list[float] = Field(description="x1, y1, x2, y2 in the image's own pixels", min_length=4, max_length=4)


class Detections(BaseModel):
    detections: list[Detection] = Field(description="best first")
    width: int
    height: int
