"""image-gen: the three model kinds (diffusion, vae, gan) each through `aiaas pipeline image-gen` on the built-in
digits, then a leaderboard: the evaluation's quality (conditional accuracy under the aiaas-trained judge, Fréchet
distance in its feature space, precision/recall) beside the class-mean baseline, images/s of the exported model
in-process (`Predictor`, as `aiaas predict` and each service worker run it) at 1 and 8 concurrent clients, and for
diffusion the DDIM steps against quality. No Inception weights: the judge is a small CNN trained on the same data.

Targets (issue 29): generated digits classified as requested >= 0.9; Fréchet distance <= half the baseline's.

    .venv/bin/python -m benchmarks.bench_image_gen                       (all three, fresh workspace)
    .venv/bin/python -m benchmarks.bench_image_gen --models diffusion --from diffusion=pipeline.json
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

AIAAS = str(Path(sys.executable).with_name("aiaas"))
KINDS = ("diffusion", "vae", "gan")
STEPS = (5, 10, 20, 50)


def pipeline(kind: str, overrides: list[str]) -> dict:
    start = time.perf_counter()
    args = [AIAAS, "pipeline", "image-gen", f"model={kind}", "export.register=false", *overrides, "--json"]
    done = subprocess.run(args, capture_output=True, text=True)
    if done.returncode:
        sys.exit(f"aiaas pipeline image-gen model={kind} failed:\n{done.stderr[-3000:]}")
    out = json.loads(done.stdout)
    out["seconds"] = time.perf_counter() - start
    print(f"{kind}: pipeline (preprocess, train, evaluate, export, package) {out['seconds']:.0f} s", flush=True)
    return out


def from_run(run_dir: Path, dataset: str) -> dict:
    """What a pipeline's --json gives, read back from a run folder (its evaluation and model.onnx) and its dataset."""
    metrics_file = run_dir / "evaluation" / "metrics.json"
    return {
        "metrics": json.loads(metrics_file.read_text()),
        "metrics_file": str(metrics_file),
        "onnx_path": str(run_dir / "model.onnx"),
        "dataset_dir": dataset,
    }


def load(path: str, dataset: str) -> dict:
    """A pipeline's --json file, or a run folder (then ``dataset``: its dataset dir)."""
    return from_run(Path(path), dataset) if Path(path).is_dir() else json.loads(Path(path).read_text())


def throughput(onnx: Path, clients: int, seconds: float = 8.0) -> float:
    """Images per second of one Predictor shared by ``clients`` threads, each asking for one image at a time."""
    from aiaas_cli.serving.runtime import Predictor

    predictor = Predictor(onnx)
    predictor.predict([{"label": 0, "seed": 0}])  # warm-up
    deadline = time.perf_counter() + seconds

    def client(index: int) -> int:
        done = 0
        while time.perf_counter() < deadline:
            predictor.predict([{"label": done % 10, "seed": index * 100000 + done}])
            done += 1
        return done

    start = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        total = sum(pool.map(client, range(clients)))
    return total / (time.perf_counter() - start)


def served(tag: str, clients: int, seconds: float = 8.0) -> float:
    """Images per second of `aiaas serve TAG` on 127.0.0.1, ``clients`` threads each POSTing one image at a time."""
    import requests

    from benchmarks.serving_kit import Process, free_port

    port = free_port()
    log = Path(tempfile.mkdtemp()) / "serve.log"
    server = Process([AIAAS, "serve", tag, "--port", str(port)], port, "/readyz", log)
    try:
        requests.post(f"{server.url}/predict", json={"label": 0}, timeout=60)  # warm-up
        deadline = time.perf_counter() + seconds

        def client(index: int) -> int:
            done = 0
            with requests.Session() as session:
                while time.perf_counter() < deadline:
                    body = {"label": done % 10, "seed": index * 100000 + done}
                    assert session.post(f"{server.url}/predict", json=body, timeout=60).status_code == 200
                    done += 1
            return done

        start = time.perf_counter()
        with ThreadPoolExecutor(clients) as pool:
            total = sum(pool.map(client, range(clients)))
        return total / (time.perf_counter() - start)
    finally:
        server.stop()


def steps_quality(out: dict) -> list[tuple[int, float, float, float]]:
    """(steps, class accuracy, Fréchet distance, images/s in one batch) of the exported diffusion model."""
    from aiaas_cli.serving.runtime import Predictor
    from aiaas_recipes.image_gen import judge, scores

    dataset = Path(out["dataset_dir"])
    manifest = json.loads((dataset / "manifest.json").read_text())
    critic = judge.load_or_train(dataset, manifest)
    real, _ = judge.judge_images(critic, np.load(dataset / "test_x.npy"))
    predictor = Predictor(Path(out["onnx_path"]))
    labels = np.repeat(np.arange(len(manifest["classes"])), 30)
    rows = []
    for steps in STEPS:
        start = time.perf_counter()
        answers = predictor.predict([{"label": int(c), "seed": 1000 + i, "steps": steps} for i, c in enumerate(labels)])
        rate = len(labels) / (time.perf_counter() - start)
        images = np.stack([_pixels(a["png_base64"]) for a in answers])
        features, predicted = judge.judge_images(critic, images)
        rows.append((steps, float((predicted == labels).mean()), scores.frechet(real, features), rate))
    return rows


def _pixels(png: str) -> np.ndarray:
    import base64
    import io

    from PIL import Image

    image = np.asarray(Image.open(io.BytesIO(base64.b64decode(png))))
    return image[..., None] if image.ndim == 2 else image


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--models", default=",".join(KINDS))
    parser.add_argument("--from", dest="given", action="append", default=[], help="kind=FILE|RUN_DIR")
    parser.add_argument("--dataset", default="", help="the dataset dir of runs given as folders")
    parser.add_argument("--served", action="append", default=[], help="kind=BENTO_TAG: also time the service")
    parser.add_argument("overrides", nargs="*")
    args = parser.parse_args()
    given = dict(item.split("=", 1) for item in args.given)
    os.environ.setdefault("AIAAS_HOME", tempfile.mkdtemp(prefix="bench-image-gen-"))
    print(f"AIAAS_HOME={os.environ['AIAAS_HOME']}  load average {os.getloadavg()[0]:.1f}", flush=True)
    results = {}
    for kind in filter(None, args.models.split(",")):
        results[kind] = load(given[kind], args.dataset) if kind in given else pipeline(kind, args.overrides)
    print(
        "\n| model | class acc. | FID | FID / baseline | precision | recall | nearest-train RMS | img/s 1 client "
        "| img/s 8 clients | pipeline s |\n|---|---|---|---|---|---|---|---|---|---|"
    )
    for kind, out in results.items():
        m, b = out["metrics"], out["metrics"]["baseline"]
        report = json.loads(Path(out["metrics_file"]).read_text()) if out.get("metrics_file") else {}
        rates = [throughput(Path(out["onnx_path"]), clients) for clients in (1, 8)]
        print(f"| {kind} | {m['class_accuracy']:.3f} | {m['fid']:.2f} | {m['fid'] / b['fid']:.2f} | "
              f"{m['precision']:.2f} | {m['recall']:.2f} | {report.get('nearest_train_rms', float('nan')):.3f} | "
              f"{rates[0]:.1f} | {rates[1]:.1f} | {out.get('seconds', float('nan')):.0f} |", flush=True)  # fmt: skip
        print(f"|   baseline ({b.get('name')}) | {b['class_accuracy']:.3f} | {b['fid']:.2f} | 1.00 | "
              f"{b['precision']:.2f} | {b['recall']:.2f} | | | | |", flush=True)  # fmt: skip
    if args.served:
        print("\n| model | served img/s 1 client | served img/s 8 clients |\n|---|---|---|")
        for kind, tag in (item.split("=", 1) for item in args.served):
            print(f"| {kind} | {served(tag, 1):.1f} | {served(tag, 8):.1f} |", flush=True)
    if "diffusion" in results:
        print("\n| DDIM steps | class acc. | FID | img/s (one batch of 300) |\n|---|---|---|---|")
        for steps, accuracy, fid, rate in steps_quality(results["diffusion"]):
            print(f"| {steps} | {accuracy:.3f} | {fid:.2f} | {rate:.1f} |", flush=True)


if __name__ == "__main__":
    main()
