"""The hot path: API routes answered in the request guard, without BentoML's request and response layers.

BentoML writes every uploaded file to a temporary file and serialises answers through per-request schemas;
for a small model that costs more than the model does (BENCHMARKS.md). The guard has already read and checked
the body, so here the arguments are validated with the API's own input model (uploads stay in memory), the
service method is called as BentoML would call it, and its answer is written as JSON. The `@bentoml.api`
methods still define the routes and the OpenAPI document; until the service object exists (the first request
of a worker), requests take BentoML's own path.
"""

from __future__ import annotations

import json
import typing
from typing import Annotated, Any

from pydantic import BaseModel, TypeAdapter, ValidationError

SERVED: list[Any] = []  # the service object of this process, recorded when BentoML creates it


class Refused(Exception):
    """Arguments that do not validate: (status, message)."""


class FastRoute:
    """One API method: how its arguments are read from a checked request body."""

    def __init__(self, api: Any):
        spec = api.input_spec
        self.func, self.spec = api.func, spec  # the plain method: attribute access can give BentoML's remote proxy
        self.multipart = spec.mime_type() == "multipart/form-data"
        self.files = set(getattr(spec, "multipart_fields", ()) or ())
        fields = spec.model_fields
        # each non-file field on its own: validating a file field through the model writes a temporary file
        self.values = {name: _adapter(info) for name, info in fields.items() if name not in self.files}
        self.defaults = {n: i.get_default(call_default_factory=True) for n, i in fields.items() if not i.is_required()}
        self.file_lists = {n for n in self.files if typing.get_origin(fields[n].annotation) is list}

    def arguments(self, body: bytes, form: Any) -> dict[str, Any]:
        try:
            if not self.multipart:
                model = self.spec.model_validate_json(body)
                return {name: getattr(model, name) for name in self.spec.model_fields}
            return self._form_arguments(form)
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(part) for part in first["loc"]) or "body"
            raise Refused(422, f"{where}: {first['msg']}") from None

    def _form_arguments(self, form: Any) -> dict[str, Any]:
        args = dict(self.defaults)
        for name in self.files:
            uploads = [value.file.read() for value in form.getlist(name)]
            args[name] = uploads if name in self.file_lists else uploads[0]
        for name, adapter in self.values.items():
            if name not in form:
                continue
            text = form[name]
            try:
                args[name] = adapter.validate_strings(text) if _is_scalar(adapter) else adapter.validate_json(text)
            except ValidationError as exc:
                raise Refused(422, f"{name}: {exc.errors()[0]['msg']}") from None
        return args

    async def answer(self, body: bytes, form: Any) -> tuple[int, bytes, str]:
        """(status, body, media type) from the service method: JSON, or the Response it returns (a WAV...)."""
        from starlette.responses import Response

        result = await self.func(SERVED[0], **self.arguments(body, form))
        if isinstance(result, Response):
            return result.status_code, bytes(result.body), result.media_type or "application/json"
        return 200, json.dumps(_plain(result)).encode(), "application/json"


def _adapter(info: Any) -> TypeAdapter:
    """A validator for one field, with its constraints (ge/le...)."""
    return TypeAdapter(Annotated[(info.annotation, *info.metadata)] if info.metadata else info.annotation)


def _is_scalar(adapter: TypeAdapter) -> bool:
    return adapter.json_schema().get("type") in ("integer", "number", "string", "boolean")


def _plain(value: Any) -> Any:
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    if isinstance(value, list):
        return [_plain(item) for item in value]
    return value


def routes_of(service: Any) -> dict[str, FastRoute]:
    """Route path -> its fast route, for every API of a BentoML service."""
    return {api.route.rstrip("/"): FastRoute(api) for api in service.apis.values()}


def record_instances(service: Any) -> None:
    """Make the service class record its instance when BentoML creates it (once per worker process)."""
    cls = service.inner
    original = cls.__init__

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        original(self, *args, **kwargs)
        SERVED.append(self)

    cls.__init__ = __init__
