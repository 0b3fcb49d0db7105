"""What a served model accepts: its settings (Bento arguments) and an ASGI guard in front of the API.

The guard answers bad requests itself, before BentoML parses them, so each gets a one-object JSON
error with a 4xx status: pickled bodies (BentoML's internal content type, never to be unpickled from
a client; CVE-2025-27520 / CVE-2025-32375), uploads that are not multipart form data, empty bodies
and bodies above the size limit. Torch-free, like everything in this package.
"""

from __future__ import annotations

import json
from typing import Any

from pydantic import BaseModel, Field

PICKLE_TYPE = "application/vnd.bentoml+pickle"
DEFAULT_MAX_BODY_BYTES = 20 * 1024 * 1024


class Settings(BaseModel):
    """The Bento's arguments (`bentoml.build(args=...)`): fixed at package time, read when served."""

    model_tag: str
    top_k: int = Field(default=5, ge=1)
    limits: dict[str, Any] = Field(default_factory=dict)  # the recipe's own request limits (`serve.limits`)
    max_body_bytes: int = Field(default=DEFAULT_MAX_BODY_BYTES, ge=1)
    max_batch_size: int = Field(default=32, ge=1)
    max_latency_ms: float = Field(default=0, ge=0)  # batching window (0: only what queued meanwhile)
    threads: int | None = None  # ONNX Runtime intra-op threads (None: its default)
    workers: int = Field(default=2, ge=1)


def _header(scope: dict[str, Any], name: bytes) -> str:
    for key, value in scope.get("headers", []):
        if key.lower() == name:
            return value.decode("latin-1")
    return ""


async def send_error(send: Any, status: int, message: str) -> None:
    """One JSON object ``{"error": message}`` with ``status``."""
    body = json.dumps({"error": message}).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


class RequestGuard:
    """ASGI middleware: refuse what the API must never parse, and read the body once, within a limit."""

    def __init__(self, app: Any, upload_routes: tuple[str, ...], max_body_bytes: int = DEFAULT_MAX_BODY_BYTES):
        self.app = app
        self.upload_routes = upload_routes
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope["method"] != "POST":
            return await self.app(scope, receive, send)
        problem = self._check_headers(scope)
        if problem:
            return await send_error(send, *problem)
        body = b""
        more = True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return None
            body += message.get("body", b"")
            more = message.get("more_body", False)
            if len(body) > self.max_body_bytes:
                return await send_error(send, 413, f"request body is above the limit of {self.max_body_bytes} bytes")
        if not body:
            return await send_error(send, 400, "empty request body")
        if scope["path"].rstrip("/") in self.upload_routes:
            problem = await _form_problem(scope, body)
            if problem:
                return await send_error(send, 400, f"malformed multipart body: {problem}")
        return await self.app(scope, _replay(body, receive), send)

    def _check_headers(self, scope: dict[str, Any]) -> tuple[int, str] | None:
        media_type = _header(scope, b"content-type").split(";")[0].strip().lower()
        if media_type == PICKLE_TYPE:
            return 415, f"content type {PICKLE_TYPE} is refused: request bodies are never unpickled"
        if scope["path"].rstrip("/") in self.upload_routes and media_type != "multipart/form-data":
            return 415, f"content type '{media_type or 'none'}' is not accepted: send multipart/form-data"
        length = _header(scope, b"content-length")
        if length.isdigit() and int(length) > self.max_body_bytes:
            return 413, f"request body of {length} bytes is above the limit of {self.max_body_bytes} bytes"
        return None


async def _form_problem(scope: dict[str, Any], body: bytes) -> str | None:
    """Why the body is not valid multipart data, or None. BentoML would answer a parse error with a 500."""
    from starlette.datastructures import Headers
    from starlette.formparsers import MultiPartException, MultiPartParser

    async def stream() -> Any:
        yield body

    try:
        form = await MultiPartParser(Headers(scope=scope), stream()).parse()
    except MultiPartException as exc:
        return exc.message
    await form.close()
    return None


def _replay(body: bytes, receive: Any) -> Any:
    """A receive callable that hands the buffered body over once, then waits on the real one."""
    sent = False

    async def replay() -> dict[str, Any]:
        nonlocal sent
        if sent:
            return await receive()
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return replay
