"""OpenAI's completions API for any model that writes text: `POST /completions`, `POST /chat/completions` (with
``"stream": true``: server-sent events in OpenAI's chunk format) and `GET /models`, as a Starlette app that a
recipe's BentoML service mounts under /v1, so the `openai` client and curl work unchanged. `GET /streams` (not
OpenAI's) says how many requests this worker is decoding and how many wait.

Requests decode in a `streams.Scheduler` (batched across clients at the token step). The recipe's adapter reads
each request as its `/predict` payload (``decode({"prompt" or "messages", "max_tokens", "temperature", ...})`` ->
an item with ``ids``, ``settings`` (a `Decoding`) and ``stop``, or ``BadInput`` with 413/422 for its limits), so
both paths check the same things, and writes tokens back as text (``decode_tokens``). A client that disconnects
stops its generation. Errors are OpenAI's error objects with a 4xx status. Torch-free.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, StreamingResponse
from starlette.routing import Route


class Message(BaseModel):
    model_config = ConfigDict(extra="ignore")  # name, tool_calls...: the chat template sees role and content
    role: str
    content: str | list[dict[str, Any]]

    def plain(self) -> dict[str, Any]:
        """{"role", "content"} with a list of content parts (OpenAI's newer form) joined into one text."""
        content = self.content
        if isinstance(content, list):
            content = "".join(part.get("text", "") for part in content if part.get("type") == "text")
        return {"role": self.role, "content": content}


class Common(BaseModel):
    """The options both endpoints take; unknown ones (user, logit_bias...) are ignored, as other servers do."""

    model_config = ConfigDict(extra="ignore")
    model: str | None = None
    max_tokens: int | None = Field(default=None, ge=1)
    max_completion_tokens: int | None = Field(default=None, ge=1)
    temperature: float | None = Field(default=None, ge=0, le=2)
    top_p: float | None = Field(default=None, gt=0, le=1)
    top_k: int | None = Field(default=None, ge=0)  # not OpenAI's, as vLLM and others take it
    repetition_penalty: float | None = Field(default=None, gt=0)
    seed: int | None = None
    stop: str | list[str] | None = None
    n: int = Field(default=1, ge=1, le=1)
    ignore_eos: bool = False  # as vLLM's: write max_tokens tokens, never the end token (benchmarks)
    stream: bool = False
    stream_options: dict[str, Any] | None = None


class CompletionRequest(Common):
    prompt: str


class ChatRequest(Common):
    messages: list[Message] = Field(min_length=1)


class Refused(Exception):
    """(status, message): the request cannot be served as sent."""


def error(status: int, message: str, kind: str = "invalid_request_error") -> JSONResponse:
    return JSONResponse({"error": {"message": message, "type": kind, "param": None, "code": status}}, status)


def app(backend: Any, model_id: str) -> Starlette:
    """The /v1 routes; ``backend()`` -> (adapter, scheduler), the served instance's (set once a worker starts)."""
    api = OpenAI(backend, model_id)
    return Starlette(
        routes=[
            Route("/models", api.models, methods=["GET"]),
            Route("/streams", api.streams, methods=["GET"]),
            Route("/completions", api.completions, methods=["POST"]),
            Route("/chat/completions", api.chat, methods=["POST"]),
        ]
    )


class OpenAI:
    def __init__(self, backend: Any, model_id: str):
        self.backend, self.model_id, self.created = backend, model_id, int(time.time())

    async def models(self, request: Request) -> JSONResponse:
        card = {"id": self.model_id, "object": "model", "created": self.created, "owned_by": "aiaas"}
        return JSONResponse({"object": "list", "data": [card]})

    async def streams(self, request: Request) -> JSONResponse:
        """Not OpenAI's: how many requests this worker decodes and how many wait, for operators and tests."""
        scheduler = self.backend()[1]
        return JSONResponse({"active": scheduler.active, "waiting": len(scheduler.waiting), "steps": scheduler.steps,
                             "widest": scheduler.widest})  # fmt: skip

    async def completions(self, request: Request) -> Any:
        return await self._serve(request, CompletionRequest, chat=False)

    async def chat(self, request: Request) -> Any:
        return await self._serve(request, ChatRequest, chat=True)

    async def _serve(self, request: Request, schema: type[Common], chat: bool) -> Any:
        try:
            body = schema.model_validate_json(await request.body())
            stream = await self._submit(body, chat)
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(part) for part in first["loc"]) or "body"
            return error(422 if first["type"] != "json_invalid" else 400, f"{where}: {first['msg']}")
        except Refused as refused:
            return error(*refused.args)
        reply = Reply(self.model_id, chat, stream)
        if body.stream:
            usage = bool((body.stream_options or {}).get("include_usage"))
            headers = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
            return StreamingResponse(reply.events(usage), media_type="text/event-stream", headers=headers)
        try:
            await _until_done(request, stream)
        except Exception as exc:  # the model failed while writing: the request itself was fine
            return error(500, f"generation failed: {exc}", "server_error")
        return JSONResponse(reply.whole())

    async def _submit(self, body: Common, chat: bool) -> Any:
        """The request as the adapter's /predict payload, decoded by it (the same checks and limits), then queued."""
        from aiaas_cli.serving.runtime import BadInput

        adapter, scheduler = self.backend()  # one model per server: any "model" name is answered by it
        payload = {"messages": [m.plain() for m in body.messages]} if chat else {"prompt": body.prompt}
        options = {
            "max_tokens": body.max_completion_tokens or body.max_tokens,
            "temperature": body.temperature,
            "top_k": body.top_k,
            "top_p": body.top_p,
            "repetition_penalty": body.repetition_penalty,
            "seed": body.seed,
            "stop": body.stop,
        }
        payload.update({k: v for k, v in options.items() if v is not None})
        try:  # tokenizing a long prompt is work: off the event loop
            item = await asyncio.get_running_loop().run_in_executor(None, adapter.decode, payload)
            return scheduler.submit(
                item.ids, item.settings, stop=item.stop, detok=adapter.decode_tokens, ignore_eos=body.ignore_eos
            )
        except BadInput as exc:
            raise Refused(exc.status, str(exc)) from None
        except ValueError as exc:
            raise Refused(422, str(exc)) from None


async def _until_done(request: Request, stream: Any) -> None:
    """Wait for the whole output; a client that disconnects meanwhile cancels it."""

    async def watch() -> None:
        while (await request.receive())["type"] != "http.disconnect":
            pass
        stream.cancel()

    watcher = asyncio.create_task(watch())
    try:
        await stream.complete()
    finally:
        watcher.cancel()


class Reply:
    """One request's answer in OpenAI's shapes: chunks as it is written, or the whole object at the end."""

    def __init__(self, model_id: str, chat: bool, stream: Any):
        self.model_id, self.chat, self.stream = model_id, chat, stream
        self.id = f"{'chatcmpl' if chat else 'cmpl'}-{uuid.uuid4().hex[:24]}"
        self.created = int(time.time())
        self.object = "chat.completion" if chat else "text_completion"

    def usage(self) -> dict[str, int]:
        prompt, written = len(self.stream.prompt), len(self.stream.tokens)
        return {"prompt_tokens": prompt, "completion_tokens": written, "total_tokens": prompt + written}

    def _choice(self, text: str | None, finish: str | None, first: bool = False) -> dict[str, Any]:
        if not self.chat:
            return {"index": 0, "text": text or "", "logprobs": None, "finish_reason": finish}
        delta = {"role": "assistant", "content": text or ""} if first else ({"content": text} if text else {})
        return {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}

    def _chunk(self, choices: list[dict], **extra: Any) -> str:
        kind = "chat.completion.chunk" if self.chat else "text_completion"
        body = {"id": self.id, "object": kind, "created": self.created, "model": self.model_id, "choices": choices}
        return f"data: {json.dumps({**body, **extra})}\n\n"

    async def events(self, usage: bool) -> Any:
        """Server-sent events: a role chunk (chat), one chunk per shown piece, the finish reason, [DONE]."""
        try:
            if self.chat:
                yield self._chunk([self._choice("", None, first=True)])
            async for piece in self.stream:
                text = piece.text + "".join(p.text for p in self.stream.ready())  # caught up in one chunk
                if text:
                    yield self._chunk([self._choice(text, None)])
            yield self._chunk([self._choice(None, self.stream.finish_reason)])
            if usage:
                yield self._chunk([], usage=self.usage())
            yield "data: [DONE]\n\n"
        except Exception as exc:  # the headers are sent: an error can only be an event
            yield f"data: {json.dumps({'error': {'message': str(exc), 'type': 'server_error'}})}\n\n"
        finally:
            self.stream.cancel()  # a client that went away: its row leaves the batch at the next step

    def whole(self) -> dict[str, Any]:
        finish, text = self.stream.finish_reason, self.stream.text
        if self.chat:
            choice = {"index": 0, "message": {"role": "assistant", "content": text}, "logprobs": None}
        else:
            choice = {"index": 0, "text": text, "logprobs": None}
        return {"id": self.id, "object": self.object, "created": self.created, "model": self.model_id,
                "choices": [{**choice, "finish_reason": finish}], "usage": self.usage()}  # fmt: skip
