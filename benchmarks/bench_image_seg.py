"""image-seg: mIoU on the built-in shapes test split, model vs the per-pixel colour baseline, and training time.

Runs `aiaas pipeline image-seg` (default config unless overrides are given) in a fresh workspace and prints
the report's model and baseline figures side by side (same split, torchmetrics with 255 ignored), the fit time,
ONNX Runtime vs torch eager latency at batch 1 and 32 (one thread each), and served images/s at 32 clients against
the in-process ceiling (benchmarks/vision_serving.py). Target: model mIoU >= 0.8.

With --proxies it runs the pipeline once per stand-in for "another CPU" instead (each seed at each thread count:
another summation order; --isa adds a run on oneDNN's AVX kernels and ATen's non-vectorised ones) and prints every
run's mIoU and wall time, min / mean / max and the margin over the target; no latency or serving part.

    .venv/bin/python -m benchmarks.bench_image_seg                   (extra overrides after --, e.g. trainer.threads=1)
    .venv/bin/python -m benchmarks.bench_image_seg --proxies --seeds 0 1 2 --threads 1 2 --isa
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

import numpy as np

from benchmarks.vision_serving import ceiling, find, latency, pipeline, png_bytes, served

TARGET_MIOU = 0.8
OTHER_ISA = {"ONEDNN_MAX_CPU_ISA": "AVX", "ATEN_CPU_CAPABILITY": "default"}  # kernels another CPU kind might run


def test_images(count: int = 64) -> list[bytes]:
    from aiaas_recipes.image_seg import shapes

    rng = np.random.default_rng(99)
    return png_bytes(shapes.scene(rng)[0] for _ in range(count))


def proxies(args: argparse.Namespace) -> None:
    """One pipeline per (seed, threads) and the --isa run: the spread a change of CPU may bring."""
    runs = [([f"seed={seed}", f"trainer.threads={threads}"], {}) for seed in args.seeds for threads in args.threads]
    if args.isa:
        runs.append(([f"seed={args.seeds[0]}", f"trainer.threads={args.threads[0]}"], OTHER_ISA))
    scores = []
    for overrides, env in runs:
        with tempfile.TemporaryDirectory(prefix="bench-seg-") as home:
            result = pipeline("image-seg", Path(home), [*overrides, *args.overrides], env)
        scores.append(result["metrics"]["miou"])
        label = " ".join(overrides + [f"{k}={v}" for k, v in env.items()])
        print(f"{label:<70} mIoU {scores[-1]:.4f}  epochs {find(result, 'epochs')}  pipeline {result['wall_s']:.0f} s",
              flush=True)  # fmt: skip
    low, mean, high = min(scores), sum(scores) / len(scores), max(scores)
    print(f"mIoU min {low:.4f} mean {mean:.4f} max {high:.4f}; margin over {TARGET_MIOU}: {low - TARGET_MIOU:+.4f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("overrides", nargs="*", help="aiaas overrides, e.g. trainer.max_epochs=30")
    parser.add_argument("--proxies", action="store_true", help="the spread over seeds, threads and kernels")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--isa", action="store_true", help=f"also a run with {OTHER_ISA}")
    args = parser.parse_args()
    if args.proxies:
        return proxies(args)
    with tempfile.TemporaryDirectory(prefix="bench-seg-") as home:
        result = pipeline("image-seg", Path(home), args.overrides)
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
        for batch in (1, 32):
            ort_ms, eager_ms = latency("image-seg", result["onnx_path"], result["checkpoint"], batch)
            print(f"batch {batch:>2}: ONNX Runtime {ort_ms:.2f} ms, torch eager {eager_ms:.2f} ms "
                  f"(eager / ORT = {eager_ms / ort_ms:.2f}x)")  # fmt: skip
        images = test_images()
        rate, top = served(Path(home), result["bento_tag"], images), ceiling(result["onnx_path"], images)
        print(f"served at 32 clients: {rate:.0f} images/s; in-process ceiling {top:.0f} images/s "
              f"(served / ceiling = {rate / top:.2f})")  # fmt: skip
        verdict = "meets" if metrics["miou"] >= TARGET_MIOU else "falls short of"
        print(f"model mIoU {metrics['miou']:.4f} {verdict} the target {TARGET_MIOU}")


if __name__ == "__main__":
    main()
