"""Server CPU per request of BentoML's OpenTelemetry middleware, on and with every URL excluded (aiaas' default).

BentoML puts that middleware outside the services' own middlewares, so it wraps every request of a Bento, with or
without a trace exporter; `serve.tracing=false` (the default) makes BentoML exclude every URL from it. Timed here
in-process, around an ASGI app that answers at once (no HTTP, no model), as CPU time per request (best of 5 rounds,
so the figure is the middleware's own cost even on a loaded machine).
"""

from __future__ import annotations

import asyncio
import os
import time

SCOPE = {
    "type": "http", "method": "POST", "path": "/predict", "raw_path": b"/predict", "query_string": b"",
    "headers": [(b"host", b"127.0.0.1:3000"), (b"content-type", b"multipart/form-data; boundary=x")],
    "server": ("127.0.0.1", 3000), "client": ("127.0.0.1", 5555), "scheme": "http", "http_version": "1.1",
    "root_path": "", "asgi": {"version": "3.0"},
}  # fmt: skip


async def answer(scope, receive, send) -> None:
    await receive()
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"application/json")]})
    await send({"type": "http.response.body", "body": b"{}"})


async def receive() -> dict:
    return {"type": "http.request", "body": b"x" * 2000, "more_body": False}


async def send(message: dict) -> None:
    return None


def cpu_per_request(app, requests: int = 5000) -> float:
    """Best-of-5 CPU seconds per request through ``app``."""

    async def rounds() -> float:
        for _ in range(200):  # warm-up
            await app(dict(SCOPE), receive, send)
        best = float("inf")
        for _ in range(5):
            start = time.process_time()
            for _ in range(requests // 5):
                await app(dict(SCOPE), receive, send)
            best = min(best, (time.process_time() - start) / (requests // 5))
        return best

    return asyncio.run(rounds())


def main() -> None:
    from bentoml._internal.configuration.containers import BentoMLContainer
    from opentelemetry.instrumentation.asgi import OpenTelemetryMiddleware
    from opentelemetry.util.http import ExcludeList, parse_excluded_urls

    provider = BentoMLContainer.tracer_provider.get()
    apps = {
        "bare ASGI app": answer,
        "OpenTelemetry middleware (BentoML's default)": OpenTelemetryMiddleware(
            answer, excluded_urls=ExcludeList([]), default_span_details=None, tracer_provider=provider
        ),
        "OpenTelemetry middleware, every URL excluded (aiaas)": OpenTelemetryMiddleware(
            answer, excluded_urls=parse_excluded_urls(".*"), default_span_details=None, tracer_provider=provider
        ),
    }
    print(f"load average {os.getloadavg()[0]:.1f}; CPU time per request, best of 5 x 1000")
    for name, app in apps.items():
        print(f"{name:<55} {cpu_per_request(app) * 1e6:8.1f} us")


if __name__ == "__main__":
    main()
