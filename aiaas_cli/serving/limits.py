"""What a served model accepts: its settings (Bento arguments) and an ASGI guard in front of the API.

The guard answers bad requests itself, before BentoML parses them, so each gets a one-object JSON
error with a 4xx status: pickled bodies (BentoML's internal content type, never to be unpickled from
a client; CVE-2025-27520 / CVE-2025-32375), a content type the route does not take, empty bodies, bodies
above the size limit or sent too slowly, form fields the route does not have (BentoML would try to read
the bytes as JSON and answer 500), oversized form values and JSON nested deeper than any request needs
(a RecursionError in a parser is a 500 too). Torch-free, like everything in this package.
"""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, Field

PICKLE_TYPE = "application/vnd.bentoml+pickle"
DEFAULT_MAX_BODY_BYTES = 20 * 1024 * 1024
MAX_JSON_DEPTH = 32
MAX_FORM_VALUE_BYTES = 4096  # a form field that is not a file (k): a few characters


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
    body_timeout_s: float = Field(default=30.0, gt=0)  # a request body must arrive within this
    decode_threads: int = Field(default=1, ge=1)  # threads decoding requests (off the event loop)
    accept_in_turns: bool = True  # workers accept new connections one per loop turn (connections.TakingTurns)
    max_decode_seconds: float = Field(default=10.0, gt=0)  # decoding one request may take this long
    max_connections: int = Field(default=256, ge=1)  # open connections per worker; more are closed at once
    header_timeout_s: float = Field(default=10.0, gt=0)  # a new connection must send its request headers by then
    # a writable folder for what a service keeps between requests and restarts (image-embed: its gallery); None: a
    # folder per model under the Bento home (service.state_dir). Several workers of one Bento share it.
    state_dir: str | None = None
    serving_module: str | None = None  # the recipe's module, fixed at package time: the only one imported
    fast_path: bool = True  # the guard answers the API routes itself (fast.py)
    access_log: bool = False
    metrics: bool = False  # Prometheus metrics on /metrics
    tracing: bool = False  # BentoML's OpenTelemetry middleware on every request (off: every URL excluded)


@dataclass(frozen=True)
class Route:
    """What one API route takes, read from its BentoML input spec."""

    multipart: bool
    fields: frozenset[str]
    files: frozenset[str]
    required: frozenset[str]

    def form_problem(self, names: list[str], file_names: set[str], long_values: list[str]) -> str | None:
        unknown = sorted(set(names) - self.fields)
        if unknown:
            return f"unexpected form field '{unknown[0]}' (this route takes: {', '.join(sorted(self.fields))})"
        missing = sorted(self.required - set(names))
        if missing:
            return f"missing form field '{missing[0]}'"
        not_files = sorted(self.files & set(names) - file_names)
        if not_files:
            return f"form field '{not_files[0]}' must be a file upload"
        if long_values:
            return f"form field '{long_values[0]}' is longer than {MAX_FORM_VALUE_BYTES} bytes or nested too deeply"
        return None


JSON_BODY = Route(multipart=False, fields=frozenset(), files=frozenset(), required=frozenset())  # any JSON object


def routes_of(service: Any) -> dict[str, Route]:
    """Route path -> what it takes, for every API of a BentoML service class."""
    found = {}
    for api in service.apis.values():
        spec = api.input_spec
        fields = spec.model_fields
        found[api.route.rstrip("/")] = Route(
            multipart=spec.mime_type() == "multipart/form-data",
            fields=frozenset(fields),
            files=frozenset(getattr(spec, "multipart_fields", ()) or ()),
            required=frozenset(name for name, info in fields.items() if info.is_required()),
        )
    return found


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
    """ASGI middleware: refuse what the API must never parse, and read the body once, within limits."""

    def __init__(
        self,
        app: Any,
        routes: dict[str, Route],
        max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
        body_timeout_s: float = 30.0,
        fast_routes: dict[str, Any] | None = None,
    ):
        self.app = app
        self.routes = routes
        self.fast_routes = fast_routes or {}
        self.max_body_bytes = max_body_bytes
        self.body_timeout_s = body_timeout_s

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope["method"] != "POST":
            return await self.app(scope, receive, send)
        route = self.routes.get(scope["path"].rstrip("/"))
        problem = self._check_headers(scope, route)
        if problem:
            return await send_error(send, *problem)
        try:
            body = await self._read_body(receive)
        except _Refused as refused:
            return await send_error(send, *refused.args)
        if body is None:
            return None  # the client went away
        problem, form = await _body_problem(scope, body, route)
        try:
            if problem:
                return await send_error(send, *problem)
            fast = self.fast_routes.get(scope["path"].rstrip("/"))
            if fast is not None and _served():
                return await _answer(fast, body, form, send)
            return await self.app(scope, _replay(body, receive), send)
        finally:
            if form is not None:
                await form.close()

    async def _read_body(self, receive: Any) -> bytes | None:
        chunks, size = [], 0
        deadline = time.monotonic() + self.body_timeout_s
        more = True
        while more:
            try:
                message = await asyncio.wait_for(receive(), max(deadline - time.monotonic(), 0.001))
            except TimeoutError:
                raise _Refused(408, f"the request body did not arrive within {self.body_timeout_s:g} s") from None
            if message["type"] == "http.disconnect":
                return None
            chunk = message.get("body", b"")
            chunks.append(chunk)
            size += len(chunk)
            more = message.get("more_body", False)
            if size > self.max_body_bytes:
                raise _Refused(413, f"request body is above the limit of {self.max_body_bytes} bytes")
        if not size:
            raise _Refused(400, "empty request body")
        return b"".join(chunks)

    def _check_headers(self, scope: dict[str, Any], route: Route | None) -> tuple[int, str] | None:
        media_type = _header(scope, b"content-type").split(";")[0].strip().lower()
        if media_type == PICKLE_TYPE:
            return 415, f"content type {PICKLE_TYPE} is refused: request bodies are never unpickled"
        if route is not None:
            wanted = "multipart/form-data" if route.multipart else "application/json"
            if media_type != wanted:
                return 415, f"content type '{media_type or 'none'}' is not accepted: send {wanted}"
        length = _header(scope, b"content-length")
        if length.isdigit() and int(length) > self.max_body_bytes:
            return 413, f"request body of {length} bytes is above the limit of {self.max_body_bytes} bytes"
        return None


class _Refused(Exception):
    """A request refused while its body was read: (status, message)."""


async def _body_problem(scope: dict[str, Any], body: bytes, route: Route | None) -> tuple[tuple | None, Any]:
    """(status, message) when the body is not what ``route`` takes, and the parsed form of a multipart body."""
    if route is None:
        return None, None
    if route.multipart:
        return await _form_problem(scope, body, route)
    if json_depth(body) > MAX_JSON_DEPTH:
        return (400, f"JSON nested deeper than {MAX_JSON_DEPTH} levels"), None
    return None, None


def _served() -> bool:
    from aiaas_cli.serving.fast import SERVED

    return bool(SERVED)


async def _answer(fast: Any, body: bytes, form: Any, send: Any) -> None:
    from aiaas_cli.serving.fast import Refused

    try:
        status, payload, media_type = await fast.answer(body, form)
    except Refused as refused:
        return await send_error(send, *refused.args)
    headers = [(b"content-type", media_type.encode("latin-1")), (b"content-length", str(len(payload)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": payload})


def _too_big(value: str) -> bool:
    return len(value) > MAX_FORM_VALUE_BYTES or json_depth(value.encode()) > MAX_JSON_DEPTH


def json_depth(body: bytes) -> int:
    """The deepest nesting of [ and { outside strings (a scan, not a parse: a parser could recurse too deep)."""
    depth = deepest = 0
    in_string = escaped = False
    for byte in body:
        if in_string:
            if escaped:
                escaped = False
            elif byte == 0x5C:  # backslash
                escaped = True
            elif byte == 0x22:  # quote
                in_string = False
        elif byte == 0x22:
            in_string = True
        elif byte in (0x5B, 0x7B):
            depth += 1
            deepest = max(deepest, depth)
        elif byte in (0x5D, 0x7D):
            depth -= 1
    return deepest


async def _form_problem(scope: dict[str, Any], body: bytes, route: Route) -> tuple[tuple | None, Any]:
    """((400, why) or None, the parsed form). BentoML would answer a bad form with a 500."""
    from starlette.datastructures import Headers, UploadFile
    from starlette.formparsers import MultiPartException, MultiPartParser

    async def stream() -> Any:
        yield body

    try:
        form = await MultiPartParser(Headers(scope=scope), stream()).parse()
    except MultiPartException as exc:
        return (400, f"malformed multipart body: {exc.message}"), None
    items = form.multi_items()
    names = [name for name, _ in items]
    files = {name for name, value in items if isinstance(value, UploadFile)}
    long_values = [name for name, value in items if isinstance(value, str) and _too_big(value)]
    problem = route.form_problem(names, files, long_values)
    return ((400, problem) if problem else None), form


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
