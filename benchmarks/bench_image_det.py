"""image-det: mAP on the built-in shapes test split, model vs a trivial baseline, training time, and ONNX Runtime
against torch eager latency.

Runs `aiaas pipeline image-det` (default config unless overrides are given) in a fresh workspace and prints the
report's model and baseline figures side by side (same split; torchmetrics' MeanAveragePrecision with the
pycocotools backend), the fit time, and the median latency of one image and of a batch of 32 in ONNX Runtime and
in torch eager mode (the trained checkpoint), both on one thread; then served images/s at 32 clients (the
packaged Bento under `aiaas serve`, requests from threads in this process) against the in-process ceiling (the
same decode + ONNX Runtime + numpy post-processing in batches of 32, no HTTP, one process and one thread, where the
Bento runs serve.workers=2 processes). Target: model mAP@.5 >= 0.8.

    .venv/bin/python -m benchmarks.bench_image_det                  (extra overrides, e.g. trainer.threads=1)
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
from pathlib import Path

from benchmarks.vision_serving import ceiling, find, latency, pipeline, png_bytes, served

TARGET_MAP50 = 0.8
HEADLINE = ("map", "map50", "precision", "recall")


def test_images(count: int = 64) -> list[bytes]:
    from aiaas_recipes.image_det import shapes

    return png_bytes(pixels for _, pixels, _, _ in shapes.scenes(count, seed=99))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("overrides", nargs="*", help="aiaas overrides, e.g. trainer.max_epochs=30")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-det-") as home:
        result = pipeline("image-det", Path(home), args.overrides)
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
            ort_ms, eager_ms = latency("image-det", result["onnx_path"], result["checkpoint"], batch)
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
