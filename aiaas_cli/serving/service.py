"""The task-neutral half of every recipe's BentoML service: settings, the engine, errors and the guard.

A recipe's service module (its serving module's ``SERVICE``) defines the HTTP API: request and response
types and routes. Everything between the request and the response is here: the recipe's adapter decodes
each item, a `MicroBatcher` runs concurrent requests through ONNX Runtime as one batch in this process (no
second service, no extra hop), and the adapter turns the outputs into one prediction per item.
"""

from __future__ import annotations

import asyncio
import os
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import bentoml
from starlette.responses import JSONResponse

from aiaas_cli.serving import connections, fast
from aiaas_cli.serving.limits import JSON_BODY, RequestGuard, Settings, routes_of

# numpy and ONNX Runtime (runtime.py, batcher.py) are imported when a worker builds its Engine, not here: BentoML's
# arbiter imports this module only to read the service's settings, before it starts any worker (~0.15 s of start-up)

# BentoML's usage report is a blocking HTTPS POST (1 s timeout) in the arbiter before any worker starts, then a
# thread for as long as it serves; a served model sends nothing unless its operator sets this variable themselves
os.environ.setdefault("BENTOML_DO_NOT_TRACK", "true")
SETTINGS = bentoml.use_arguments(Settings)
connections.install(SETTINGS.max_connections, SETTINGS.header_timeout_s)
if SETTINGS.accept_in_turns and SETTINGS.workers > 1:
    connections.accept_in_turns(SETTINGS.workers)


def die_with_parent() -> None:
    """In a BentoML worker: ask Linux to SIGTERM it when its parent (the `aiaas serve` / `bentoml serve` process)
    dies. Workers run in sessions of their own, so a parent killed with SIGKILL (kill -9, the OOM killer) would
    otherwise leave them serving on the port, orphaned, and a restarted server would share it with them."""
    import signal
    import sys

    main = getattr(sys.modules.get("__main__"), "__spec__", None)
    if not sys.platform.startswith("linux") or getattr(main, "name", "") != "_bentoml_impl.worker.service":
        return  # the arbiter imports this module too, to read the settings: it must outlive its own parent
    import ctypes

    parent = os.getppid()
    ctypes.CDLL(None, use_errno=True).prctl(1, int(signal.SIGTERM))  # 1: PR_SET_PDEATHSIG
    if os.getppid() != parent:  # the parent died before the request took effect
        os._exit(1)


die_with_parent()
MODEL_FILE = "model.onnx"
SERVICE_OPTIONS = {
    "workers": SETTINGS.workers,
    "traffic": {"timeout": 60},
    # each of these runs on every request, even with nothing to record; on only when asked (conf/serve)
    "logging": {"access": {"enabled": SETTINGS.access_log}},
    "metrics": {"enabled": SETTINGS.metrics},
    # BentoML puts its OpenTelemetry middleware outside ours, so it wraps every request and every ASGI message,
    # exporter or not; excluding every URL makes it pass requests straight through
    "tracing": {} if SETTINGS.tracing else {"excluded_urls": ".*"},
}


def error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


def model_metadata() -> dict[str, Any]:
    """The "aiaas" metadata of this Bento's model (what the recipe exported: labels, columns, sizes)."""
    return bentoml.models.get(SETTINGS.model_tag).info.metadata["aiaas"]


class Engine:
    """The model of this Bento, its recipe's adapter and the batcher in front of ONNX Runtime."""

    def __init__(self) -> None:
        from aiaas_cli.serving import runtime
        from aiaas_cli.serving.batcher import MicroBatcher

        model = bentoml.models.get(SETTINGS.model_tag)
        self.metadata = model.info.metadata["aiaas"]
        self.model = runtime.OnnxModel(model.path_of(MODEL_FILE), threads=SETTINGS.threads, folder=model.path)
        allowed = {SETTINGS.serving_module} if SETTINGS.serving_module else None
        self.adapter = runtime.load_adapter(self.metadata, allowed=allowed, **SETTINGS.limits)
        # one ONNX Runtime call per batch, or the adapter's loop over the model's graphs (runtime.runner)
        self.batcher = MicroBatcher(
            runtime.runner(self.model, self.adapter), SETTINGS.max_batch_size, SETTINGS.max_latency_ms
        )
        # decoding (an image's pixels, a text's tokens) runs here, off the event loop, so health checks and
        # other requests are answered while a costly body is decoded
        self.decoder = ThreadPoolExecutor(max_workers=SETTINGS.decode_threads, thread_name_prefix="aiaas-decode")

    async def infer(self, payloads: list[Any], k: int) -> list[dict] | JSONResponse:
        """One prediction per payload, in order; a 4xx JSONResponse when an item is unusable."""
        from aiaas_cli.serving.runtime import BadInput

        if not payloads:
            return error(400, "nothing to predict in the request")
        try:
            items = await asyncio.get_running_loop().run_in_executor(self.decoder, self.decode, payloads)
        except BadInput as exc:
            return error(exc.status, str(exc))
        outputs = await self.batcher.submit(self.adapter.batch(items))
        return self.adapter.postprocess(outputs, items, k)

    def decode(self, payloads: list[Any]) -> list[Any]:
        """Every payload decoded, within the request's time budget (the adapter may check its cost first)."""
        from aiaas_cli.serving.runtime import BadInput

        check = getattr(self.adapter, "check_request", None)  # optional, see recipe_api.Adapter
        if check is not None:
            check(payloads)
        deadline = time.monotonic() + SETTINGS.max_decode_seconds
        items = []
        for payload in payloads:
            if time.monotonic() > deadline:
                raise BadInput(
                    f"decoding this request took over {SETTINGS.max_decode_seconds:g} s: send fewer or smaller inputs",
                    status=413,
                )
            items.append(self.adapter.decode(payload))
        return items


def guard(service: Any, json_routes: list[str] = ()) -> Any:
    """Put the request guard in front of ``service``: each route's content type and fields come from its API, and
    the guard answers the routes itself (fast.py) unless `serve.fast_path` is off. ``json_routes``: POST routes of
    an ASGI app the service mounts, which take a JSON body (checked like an API's, answered by that app)."""
    fast_routes = None
    # BentoML answers /readyz with this: 200 only once every worker serves (connections.Board)
    service.inner.__is_ready__ = connections.all_workers_serving
    if SETTINGS.fast_path:
        fast.record_instances(service)
        fast_routes = fast.routes_of(service)
    service.add_asgi_middleware(
        RequestGuard,
        routes={**routes_of(service), **{path.rstrip("/"): JSON_BODY for path in json_routes}},
        max_body_bytes=SETTINGS.max_body_bytes,
        body_timeout_s=SETTINGS.body_timeout_s,
        fast_routes=fast_routes,
    )
    return service


def state_dir() -> Path:
    """The service's writable state folder (`serve.state_dir`; None: ``$BENTOML_HOME/aiaas-state/<model>``), made on
    first use. Every worker of the Bento sees the same folder."""
    given = SETTINGS.state_dir
    if given:
        folder = Path(given).expanduser()
    else:
        home = Path(os.environ.get("BENTOML_HOME") or Path.home() / "bentoml")
        folder = home / "aiaas-state" / SETTINGS.model_tag.replace(":", "-")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def upload_bytes(value: Any) -> bytes:
    """An uploaded file's bytes: in memory on the fast path, a temporary file on BentoML's own path."""
    return bytes(value) if isinstance(value, (bytes, bytearray)) else Path(value).read_bytes()
