"""image-det: mAP on the built-in shapes test split, model vs a trivial baseline, training time, and ONNX Runtime
against torch eager latency.

Runs `aiaas pipeline image-det` (default config unless overrides are given) in a fresh workspace and prints the
report's model and baseline figures side by side (same split; torchmetrics' MeanAveragePrecision with the
pycocotools backend), the fit time, and the median latency of one image and of a batch of 32 in ONNX Runtime and
in torch eager mode (the trained checkpoint), both on one thread; then served images/s at 32 clients (the
packaged Bento under `aiaas serve`, requests from threads in this process) against the in-process ceiling (the
same decode + ONNX Runtime + numpy post-processing in batches of 32, no HTTP, one process and one thread, where the
Bento runs serve.workers=2 processes). Target: model mAP@.5 >= 0.8.

    .venv/bin/python benchmarks/bench_image_det.py                  (extra overrides, e.g. trainer.threads=1)
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

AIAAS = str(Path(sys.executable).with_name("aiaas"))
TARGET_MAP50 = 0.8
HEADLINE = ("map", "map50", "precision", "recall")


def pipeline(home: Path, overrides: list[str]) -> dict:
    env = {**os.environ, "AIAAS_HOME": str(home / "aiaas"), "BENTOML_HOME": str(home / "bentoml")}
    start = time.perf_counter()
    command = [AIAAS, "pipeline", "image-det", *overrides, "export.register=false", "--json"]
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


def median_ms(call, runs: int) -> float:
    call()  # warm-up
    timings = []
    for _ in range(runs):
        start = time.perf_counter()
        call()
        timings.append(time.perf_counter() - start)
    return 1000 * float(np.median(timings))


def latency(onnx_path: str, checkpoint: str, batch: int, runs: int = 30) -> tuple[float, float]:
    """Median ms for a batch in ONNX Runtime and in torch eager mode, one thread each, same input."""
    import onnxruntime as ort
    import torch

    from aiaas_recipes.image_det.recipe import recipe

    torch.set_num_threads(1)
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    session = ort.InferenceSession(onnx_path, options, providers=["CPUExecutionProvider"])
    shape = [batch, *session.get_inputs()[0].shape[1:]]
    x = np.random.default_rng(0).normal(size=shape).astype(np.float32)
    network, _ = recipe.load_model(Path(checkpoint))
    tensor = torch.from_numpy(x)
    with torch.inference_mode():
        eager = median_ms(lambda: network(tensor), runs)
    return median_ms(lambda: session.run(None, {"image": x}), runs), eager


def test_images(count: int = 64) -> list[bytes]:
    import io

    from PIL import Image

    from aiaas_recipes.image_det import shapes

    encoded = []
    for _, pixels, _, _ in shapes.scenes(count, seed=99):
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


def served(home: Path, bento: str, images: list[bytes], clients: int = 32, seconds: float = 8.0) -> float:
    """Images/s that `aiaas serve` answers to ``clients`` concurrent one-image requests."""
    import socket
    from concurrent.futures import ThreadPoolExecutor

    import requests

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("overrides", nargs="*", help="aiaas overrides, e.g. trainer.max_epochs=30")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-det-") as home:
        result = pipeline(Path(home), args.overrides)
        metrics, baseline = result["metrics"], result["metrics"]["baseline"]
        print(f"image-det on built-in shapes, test split ({args.overrides or 'default config'})")
        print(f"{'metric':<12}{'model':>10}{'baseline':>12}")
        for key in HEADLINE:
            print(f"{key:<12}{metrics[key]:>10.4f}{baseline[key]:>12.4f}")
        print("per-class AP: " + ", ".join(f"{k} {v['ap']:.3f}" for k, v in metrics["per_class"].items()))
        print(f"baseline: {baseline['name']}; precision/recall at the model's score_threshold (default 0.3)")
        epochs, rate = find(result, "epochs"), find(result, "samples_per_sec")
        train_s = epochs * result["split_sizes"]["train"] / rate  # training steps only (no validation)
        print(f"{epochs} epochs: {train_s:.0f} s of training steps ({rate} images/s), whole pipeline "
              f"{result['wall_s']:.0f} s; load average {os.getloadavg()[0]:.1f}")  # fmt: skip
        print(f"parity: {json.dumps(result.get('parity'))}")
        for batch in (1, 32):
            ort_ms, eager_ms = latency(result["onnx_path"], result["checkpoint"], batch)
            print(f"batch {batch:>2}: ONNX Runtime {ort_ms:.2f} ms, torch eager {eager_ms:.2f} ms "
                  f"(eager / ORT = {eager_ms / ort_ms:.2f}x)")  # fmt: skip
        images = test_images()
        rate, top = served(Path(home), result["bento_tag"], images), ceiling(result["onnx_path"], images)
        print(f"served at 32 clients: {rate:.0f} images/s; in-process ceiling {top:.0f} images/s "
              f"(served / ceiling = {rate / top:.2f})")  # fmt: skip
        verdict = "meets" if metrics["map50"] >= TARGET_MAP50 else "falls short of"
        print(f"model mAP@.5 {metrics['map50']:.4f} {verdict} the target {TARGET_MAP50}")


if __name__ == "__main__":
    main()
