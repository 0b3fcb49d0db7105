"""The recommend BentoML service: a user id in, the top-k items out; an item id in, similar items out. No torch."""

# no `from __future__ import annotations`: BentoML reads the API's annotations, which use the model's max_k

from typing import Annotated, Optional

import bentoml
from pydantic import BaseModel, Field
from starlette.responses import JSONResponse

from aiaas_cli.serving.service import SERVICE_OPTIONS, SETTINGS, Engine, error, guard, model_metadata
from aiaas_recipes.recommend.serving import FALLBACK, MAX_ID_CHARS

MAX_K = int(model_metadata()["max_k"])
DEFAULT_K = min(SETTINGS.top_k, MAX_K)
Id = Annotated[str, Field(min_length=1, max_length=MAX_ID_CHARS, pattern=r"\S")]
K = Annotated[int, Field(ge=1, le=MAX_K, description=f"How many items to return, best first (at most {MAX_K}).")]


class ItemScore(BaseModel):
    item: str = Field(description="An item id.")
    score: float = Field(description="The model's score (popularity share for the fallback, cosine for /similar).")


class Recommendation(BaseModel):
    user: str
    items: list[ItemScore] = Field(description="Best first; items the user already saw are left out if asked.")
    fallback: Optional[str] = Field(None, description=f"'{FALLBACK}' when the user is unknown: the popular items.")


class Similar(BaseModel):
    item: str
    items: list[ItemScore] = Field(description="The most similar items (cosine of item vectors), best first.")


@bentoml.service(name="aiaas-recommend", **SERVICE_OPTIONS)
class RecommendService:
    """Recommendations for a user, and items similar to an item."""

    def __init__(self) -> None:
        self.engine = Engine()

    @bentoml.api(route="/predict")
    async def predict(self, user: Id, k: K = DEFAULT_K, exclude_seen: bool = True) -> Recommendation:
        """The top-k items for `{"user": "<id>", "k": 10, "exclude_seen": true}`; an unknown user gets the
        popular items, marked `"fallback": "popular"`."""
        answer = await self.engine.infer([{"user": user, "exclude_seen": exclude_seen}], k)
        return answer if isinstance(answer, JSONResponse) else Recommendation(**answer[0])

    @bentoml.api(route="/similar")
    async def similar(self, item: Id, k: K = DEFAULT_K) -> Similar:
        """The k items most similar to `{"item": "<id>"}`; 404 for an item the model does not know."""
        answer = await self.engine.infer([{"item": item}], k)
        if isinstance(answer, JSONResponse):
            return answer
        if not answer[0]["found"]:
            return error(404, f"unknown item '{item}'")
        return Similar(item=answer[0]["item"], items=answer[0]["items"])


guard(RecommendService)
