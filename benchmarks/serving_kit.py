"""What the serving benchmarks share: the `aiaas` command, free ports, a server process ready on a path, the
naive-Flask baseline and the aiohttp load generator (bounded in requests and seconds)."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

AIAAS = str(Path(sys.executable).with_name("aiaas"))
CONCURRENCY = (1, 8, 32, 64)


def flask_app(answer: str) -> str:
    """The naive baseline: a Flask app (`app.run()` defaults) whose /predict returns ``answer`` (an expression of
    ``predictor``, the model with its recipe's adapter, and Flask's ``request``), one request at a time."""
    return f"""
import sys
from flask import Flask, jsonify, request
from aiaas_cli.serving.runtime import Predictor

predictor = Predictor(sys.argv[1])
app = Flask(__name__)

@app.post("/predict")
def predict():
    return jsonify({answer})

app.run(host="127.0.0.1", port=int(sys.argv[2]))
"""


def aiaas_json(*args: str) -> dict:
    done = subprocess.run([AIAAS, *args, "--json"], capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"aiaas {' '.join(args)} failed:\n{done.stderr}")
    return json.loads(done.stdout)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Process:
    """A server subprocess in its own process group, ready once GET ``ready_path`` answers 200."""

    def __init__(self, command: list[str], port: int, ready_path: str, log: Path):
        import requests

        self.url = f"http://127.0.0.1:{port}"
        started = time.monotonic()
        with log.open("wb") as out:
            self.popen = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and self.popen.poll() is None:
            try:
                if requests.get(self.url + ready_path, timeout=2).status_code in (200, 405):
                    self.startup_s = time.monotonic() - started
                    return
            except requests.RequestException:
                time.sleep(0.3)
        self.stop()
        raise SystemExit(f"{command[:3]} did not start:\n{log.read_text()[-3000:]}")

    def stop(self) -> None:
        if self.popen.poll() is None:
            os.killpg(self.popen.pid, signal.SIGTERM)
            try:
                self.popen.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.popen.pid, signal.SIGKILL)


def package(recipe_name: str, path: Path, overrides: list[str] | tuple[str, ...] = ()) -> tuple[str, dict]:
    """The Bento that `aiaas package` builds for this ONNX file with the recipe's config (``overrides`` applied, e.g.
    serve.workers=1), and its serve settings; the model is opened once, as the stage does."""
    from aiaas_cli import config, console, recipes
    from aiaas_cli.serving.runtime import OnnxModel
    from aiaas_cli.stages import package as package_stage

    console.settings.json = True  # keep BentoML's and our progress lines off stdout
    recipe = recipes.load(recipe_name)
    model = OnnxModel(path, threads=1)
    settings = package_stage.settings(config.compose(recipe, list(overrides)).serve, model)
    built = package_stage.build_bento(path, model.metadata, settings, {"run_id": "bench"}, recipe)
    return built["bento_tag"], settings


def image_body(image: bytes) -> dict:
    """The keyword arguments of one `POST /predict` with an image upload."""
    import aiohttp

    form = aiohttp.FormData()
    form.add_field("image", image, filename="x", content_type="application/octet-stream")
    return {"data": form}


async def load(
    url: str, payloads: list, clients: int, seconds: float, max_requests: int, body: Callable = image_body
) -> dict:
    """``clients`` concurrent request loops; requests/s and latency percentiles (warm-up excluded).

    ``body(payload)`` gives the request's keyword arguments for aiohttp (an upload, a JSON body, ...).
    """
    import aiohttp

    latencies: list[float] = []
    failures = 0
    sent = 0
    stop_at = time.perf_counter() + seconds

    async def client(session: aiohttp.ClientSession, index: int) -> None:
        nonlocal failures, sent
        while time.perf_counter() < stop_at and sent < max_requests:
            sent += 1
            kwargs = body(payloads[(index + sent) % len(payloads)])
            start = time.perf_counter()
            async with session.post(url, **kwargs) as response:
                await response.read()
                if response.status == 200:
                    latencies.append(time.perf_counter() - start)
                else:
                    failures += 1

    connector = aiohttp.TCPConnector(limit=clients)
    async with aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=60)) as session:
        await asyncio.gather(*(client(session, i) for i in range(clients)))  # warm-up: discarded below
        latencies.clear()
        failures, sent = 0, 0
        stop_at = time.perf_counter() + seconds
        began, cpu = time.perf_counter(), time.process_time()
        await asyncio.gather(*(client(session, i) for i in range(clients)))
        elapsed = time.perf_counter() - began
        cpu = (time.process_time() - cpu) / elapsed
    ms = np.asarray(latencies) * 1000
    return {
        "rps": len(latencies) / elapsed,
        "p50": float(np.percentile(ms, 50)) if len(ms) else float("nan"),
        "p99": float(np.percentile(ms, 99)) if len(ms) else float("nan"),
        "failures": failures,
        "client_cpu": cpu,  # cores the load generator itself used
    }
