"""The image-gen BentoML service: JSON `{"label", "n", "steps", "guidance", "seed"}` in, PNG images out (base64 in
JSON, or `image/png` itself with `"format": "png"` for one image). No torch."""

# no `from __future__ import annotations`: BentoML reads the API's annotations, which use the model's limits

import base64
from typing import Annotated, Literal, Optional, Union

import bentoml
from pydantic import BaseModel, Field
from starlette.responses import JSONResponse, Response

from aiaas_cli.serving.service import SERVICE_OPTIONS, SETTINGS, Engine, error, guard, model_metadata
from aiaas_recipes.image_gen.serving import MAX_GUIDANCE, MAX_SEED, build_adapter

LIMITS = build_adapter(model_metadata(), **SETTINGS.limits)  # the exported limits, lowered by serve.limits
N = Annotated[int, Field(ge=1, le=LIMITS.max_n, description=f"How many images (at most {LIMITS.max_n}).")]
Steps = Annotated[int, Field(ge=1, le=LIMITS.max_steps, description="Sampling steps (diffusion; ignored otherwise).")]
Guidance = Annotated[float, Field(ge=0, le=MAX_GUIDANCE, description="Classifier-free guidance weight (1: none).")]
Seed = Annotated[int, Field(ge=0, le=MAX_SEED - 1000, description="Image i of the request uses seed + i.")]


class GeneratedImage(BaseModel):
    label: Optional[str] = Field(description="The class generated (null for an unconditional model).")
    seed: int
    steps: int
    guidance: float
    png_base64: str = Field(description="The image, a PNG file, base64-encoded.")


class Generated(BaseModel):
    images: list[GeneratedImage]


@bentoml.service(name="aiaas-image-generator", **SERVICE_OPTIONS)
class ImageGenService:
    """Class-conditional (or unconditional) image generation."""

    def __init__(self) -> None:
        self.engine = Engine()

    @bentoml.api(route="/predict")
    async def predict(
        self,
        label: Optional[Union[int, str]] = None,
        n: N = 1,
        steps: Steps = LIMITS.steps,
        guidance: Guidance = LIMITS.guidance,
        seed: Seed = 0,
        format: Literal["json", "png"] = "json",
    ) -> Generated:
        """`n` images of class `label` (an index or a name): JSON with base64 PNGs, or `image/png` when
        `"format": "png"` and n = 1. The same seed gives the same image."""
        if format == "png" and n != 1:
            return error(422, "format png answers one image: ask for n=1 or format json")
        request = {"label": label, "steps": steps, "guidance": guidance}
        answer = await self.engine.infer([{**request, "seed": seed + i} for i in range(n)], 1)
        if isinstance(answer, JSONResponse):
            return answer
        if format == "png":
            return Response(base64.b64decode(answer[0]["png_base64"]), media_type="image/png")
        return Generated(images=answer)


guard(ImageGenService)
