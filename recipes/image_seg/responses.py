"""Response type of the image-seg service (pydantic only: it ships in the Bento)."""

from __future__ import annotations

from pydantic import BaseModel, Field


class Segmentation(BaseModel):
    mask: str = Field(description="PNG (base64) of the input's size; pixel value = index into `classes`")
    width: int
    height: int
    classes: list[str]
    areas: dict[str, float] = Field(description="share of the image's pixels per class")
    counts: dict[str, int] = Field(description="pixels per class")
