"""Shared by the image-det and image-seg benchmarks: the pipeline run, ONNX Runtime vs torch eager latency, the
in-process ceiling (decode + ONNX Runtime + post-processing in this process) and served images/s from `aiaas serve`
at N clients."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

AIAAS = str(Path(sys.executable).with_name("aiaas"))


def median_ms(call, runs: int) -> float:
    call()  # warm-up
    timings = []
    for _ in range(runs):
        start = time.perf_counter()
        call()
        timings.append(time.perf_counter() - start)
    return 1000 * float(np.median(timings))


def latency(recipe_name: str, onnx_path: str, checkpoint: str, batch: int, runs: int = 30) -> tuple[float, float]:
    """Median ms for a batch in ONNX Runtime and in torch eager mode, one thread each, same input."""
    import onnxruntime as ort
    import torch

    from aiaas_cli import recipes

    torch.set_num_threads(1)
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    session = ort.InferenceSession(onnx_path, options, providers=["CPUExecutionProvider"])
    shape = [batch, *session.get_inputs()[0].shape[1:]]
    x = np.random.default_rng(0).normal(size=shape).astype(np.float32)
    network, _ = recipes.load(recipe_name).load_model(Path(checkpoint))
    tensor = torch.from_numpy(x)
    with torch.inference_mode():
        eager = median_ms(lambda: network(tensor), runs)
    return median_ms(lambda: session.run(None, {"image": x}), runs), eager


def pipeline(recipe_name: str, home: Path, overrides: list[str], extra_env: dict | None = None) -> dict:
    """`aiaas pipeline RECIPE --json` in the workspace ``home`` (``extra_env`` added to its environment); the answer
    with its wall time (``wall_s``)."""
    import json

    env = {**os.environ, **(extra_env or {}), "AIAAS_HOME": str(home / "aiaas"), "BENTOML_HOME": str(home / "bentoml")}
    start = time.perf_counter()
    command = [AIAAS, "pipeline", recipe_name, *overrides, "export.register=false", "--json"]
    done = subprocess.run(command, env=env, capture_output=True, text=True)
    if done.returncode:
        sys.exit(f"aiaas pipeline failed:\n{done.stderr[-3000:]}")
    result = json.loads(done.stdout)
    result["wall_s"] = time.perf_counter() - start
    return result


def find(tree, key: str):
    """The first value of ``key`` anywhere in a nested --json answer (None when absent)."""
    if isinstance(tree, dict):
        if key in tree:
            return tree[key]
        tree = list(tree.values())
    if isinstance(tree, list):
        return next((found for item in tree if (found := find(item, key)) is not None), None)
    return None


def png_bytes(pictures) -> list[bytes]:
    import io

    from PIL import Image

    encoded = []
    for pixels in pictures:
        buffer = io.BytesIO()
        Image.fromarray(pixels).save(buffer, format="PNG")
        encoded.append(buffer.getvalue())
    return encoded


def ceiling(onnx_path: str, images: list[bytes], seconds: float = 5.0) -> float:
    """Images/s of decode + ONNX Runtime + post-processing in this process, batches of 32, one thread."""
    from aiaas_cli.serving.runtime import Predictor

    predictor, done, start = Predictor(onnx_path, threads=1), 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        for begin in range(0, len(images), 32):
            done += len(predictor.predict(images[begin : begin + 32], k=100))
    return done / (time.perf_counter() - start)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def served(home: Path, bento: str, images: list[bytes], clients: int = 32, seconds: float = 8.0) -> float:
    """Images/s that `aiaas serve` answers to ``clients`` concurrent one-image requests."""
    import requests

    port = _free_port()
    env = {**os.environ, "AIAAS_HOME": str(home / "aiaas"), "BENTOML_HOME": str(home / "bentoml")}
    server = subprocess.Popen([AIAAS, "serve", bento, "--port", str(port)], env=env, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL, start_new_session=True)  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(240):
            try:
                if requests.get(f"{url}/readyz", timeout=2).status_code == 200:
                    break
            except requests.RequestException:
                time.sleep(0.5)
        stop = time.perf_counter() + seconds

        def client(i: int) -> int:
            answered, session = 0, requests.Session()
            while time.perf_counter() < stop:
                body = images[(i + answered) % len(images)]
                answer = session.post(f"{url}/predict", files={"image": ("x.png", body)}, timeout=60)
                answered += answer.status_code == 200
            return answered

        start = time.perf_counter()
        with ThreadPoolExecutor(clients) as pool:
            total = sum(pool.map(client, range(clients)))
        return total / (time.perf_counter() - start)
    finally:
        os.killpg(server.pid, 15)
        server.wait(30)
