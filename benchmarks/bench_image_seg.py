"""image-seg: mIoU on the built-in shapes test split, model vs the per-pixel colour baseline, and training time.

Runs `aiaas pipeline image-seg` (default config unless overrides are given) in a fresh workspace and prints
the report's model and baseline figures side by side (same split, torchmetrics with 255 ignored), the fit time
and ONNX Runtime vs torch eager latency for one image. Target: model mIoU >= 0.8.

    .venv/bin/python benchmarks/bench_image_seg.py                   (extra overrides after --, e.g. trainer.threads=1)
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
TARGET_MIOU = 0.8


def pipeline(home: Path, overrides: list[str]) -> dict:
    env = {**os.environ, "AIAAS_HOME": str(home / "aiaas"), "BENTOML_HOME": str(home / "bentoml")}
    start = time.perf_counter()
    command = [AIAAS, "pipeline", "image-seg", *overrides, "export.register=false", "--json"]
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


def latency(onnx_path: str, runs: int = 50) -> dict[str, float]:
    """Median ms for one image: ONNX Runtime (one thread) against the same network exported from torch."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    session = ort.InferenceSession(onnx_path, options, providers=["CPUExecutionProvider"])
    shape = [1, *session.get_inputs()[0].shape[1:]]
    x = np.random.default_rng(0).normal(size=shape).astype(np.float32)
    timings = []
    for _ in range(runs):
        start = time.perf_counter()
        session.run(None, {"image": x})
        timings.append(time.perf_counter() - start)
    return {"onnxruntime_ms": 1000 * float(np.median(timings)), "side": shape[-1]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("overrides", nargs="*", help="aiaas overrides, e.g. trainer.max_epochs=30")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-seg-") as home:
        result = pipeline(Path(home), args.overrides)
        metrics = result["metrics"]
        baseline = metrics["baseline"]
        print(f"image-seg on built-in shapes, test split ({args.overrides or 'default config'})")
        print(f"{'metric':<16}{'model':>10}{'baseline':>12}")
        for key in ("miou", "pixel_accuracy", "dice"):
            print(f"{key:<16}{metrics[key]:>10.4f}{baseline[key]:>12.4f}")
        print("per-class IoU: " + ", ".join(f"{k} {v['iou']:.3f}" for k, v in metrics["per_class"].items()))
        print(f"baseline: {baseline['name']}")
        fit, epochs = find(result, "fit_seconds"), find(result, "epochs")
        print(f"fit {fit} s, epochs {epochs}, pipeline {result['wall_s']:.1f} s")
        print(f"parity: {json.dumps(result.get('parity'))}")
        timed = latency(result["onnx_path"])
        print(f"one {timed['side']}x{timed['side']} image: {timed['onnxruntime_ms']:.2f} ms in ONNX Runtime (1 thread)")
        verdict = "meets" if metrics["miou"] >= TARGET_MIOU else "falls short of"
        print(f"model mIoU {metrics['miou']:.4f} {verdict} the target {TARGET_MIOU}")


if __name__ == "__main__":
    main()
