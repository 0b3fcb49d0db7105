"""The text-gen BentoML service: OpenAI's completions API under /v1 (streamed or whole, requests of every client
decoded together at the token step) and `/predict` (a prompt in, its continuation out). No torch."""

from __future__ import annotations

import bentoml
from pydantic import BaseModel, Field
from starlette.responses import JSONResponse

from aiaas_cli.serving.service import SERVICE_OPTIONS, SETTINGS, Engine, guard
from aiaas_recipes.common.generation import completions
from aiaas_recipes.common.generation.streams import Scheduler

SERVED: list = []  # this worker's service instance, once BentoML has created it
OPENAI = completions.app(lambda: (SERVED[0].engine.adapter, SERVED[0].scheduler), SETTINGS.model_tag.split(":")[0])


class Message(BaseModel):
    role: str
    content: str


class Completion(BaseModel):
    text: str = Field(description="What the model wrote after the prompt (without the end token or a stop string).")
    tokens: int = Field(description="How many tokens it wrote.")
    finish_reason: str = Field(description='"stop": the end token or a stop string; "length": max_tokens.')


@bentoml.asgi_app(OPENAI, path="/v1")
@bentoml.service(name="aiaas-text-generator", **SERVICE_OPTIONS)
class TextGen:
    """A prompt in, its continuation out; OpenAI-compatible /v1/completions and /v1/chat/completions."""

    def __init__(self) -> None:
        self.engine = Engine()
        # the decoder-step graph (model.onnx) shared with /predict: ONNX Runtime sessions run calls concurrently
        self.scheduler = Scheduler(self.engine.model, self.engine.adapter.spec, SETTINGS.max_batch_size)
        SERVED.append(self)

    @bentoml.api(route="/predict")
    async def predict(
        self,
        prompt: str | None = None,
        messages: list[Message] | None = None,
        max_tokens: int | None = None,
        temperature: float | None = None,
        top_p: float | None = None,
        top_k: int | None = None,
        repetition_penalty: float | None = None,
        seed: int | None = None,
        stop: str | list[str] | None = None,
    ) -> Completion:
        """The continuation of a prompt, or of chat messages rendered with the model's template (JSON
        `{"prompt": "..."}`; greedy unless temperature > 0). The adapter checks the values and limits (413/422)."""
        request = {"prompt": prompt, "max_tokens": max_tokens, "temperature": temperature, "top_p": top_p,
                   "top_k": top_k, "repetition_penalty": repetition_penalty, "seed": seed, "stop": stop,
                   "messages": None if messages is None else [m.model_dump() for m in messages]}  # fmt: skip
        answer = await self.engine.infer([{k: v for k, v in request.items() if v is not None}], 1)
        return answer if isinstance(answer, JSONResponse) else Completion(**answer[0])


guard(TextGen, json_routes=["/v1/completions", "/v1/chat/completions"])
