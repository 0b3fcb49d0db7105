"""audio-cls: the keyword CNN against a logistic-regression baseline, on the same speaker-disjoint split of the
built-in espeak-ng keywords (test voices never heard in training), plus ONNX Runtime vs torch eager latency.

`aiaas pipeline audio-cls --json` in a fresh workspace (so the keywords are generated anew, as on a fresh
clone). The report's baseline is logistic regression on each clip's time-pooled log-mel mean and std, fitted on
the same train split and scored on the same test split. Target (issue 11): accuracy >= 0.95.

    .venv/bin/python -m benchmarks.bench_audio_cls                     (extra overrides: trainer.max_epochs=5)
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
TARGET = 0.95


def pipeline(env: dict, overrides: list[str]) -> tuple[dict, float]:
    start = time.perf_counter()
    done = subprocess.run(
        [AIAAS, "pipeline", "audio-cls", *overrides, "--json"], env=env, capture_output=True, text=True
    )
    if done.returncode:
        sys.exit(f"aiaas pipeline audio-cls failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout), time.perf_counter() - start


def latency_ms(fn, batch: np.ndarray, repeats: int = 50) -> float:
    fn(batch)  # warm-up
    start = time.perf_counter()
    for _ in range(repeats):
        fn(batch)
    return (time.perf_counter() - start) / repeats * 1000


def compare_runtimes(out: dict) -> list[tuple[int, float, float]]:
    """Milliseconds per call at batch 1 and 32: torch eager (1 thread) vs ONNX Runtime (1 thread)."""
    import torch

    from aiaas_cli import recipes
    from aiaas_cli.serving.runtime import OnnxModel

    torch.set_num_threads(1)
    network, _ = recipes.load("audio-cls").load_model(Path(out["checkpoint"]))  # pipeline --json names it
    session = OnnxModel(out["onnx_path"], threads=1)
    mels = np.load(Path(out["dataset_dir"]) / "test_x.npy")
    rows = []
    for size in (1, 32):
        batch = np.ascontiguousarray(mels[:size])
        with torch.inference_mode():
            eager = latency_ms(lambda b: network(torch.from_numpy(b)), batch)
        onnx = latency_ms(lambda b: session.run({"features": b}), batch)
        rows.append((size, eager, onnx))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("overrides", nargs="*", help="extra config overrides, e.g. trainer.max_epochs=5")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as home:
        env = {**os.environ, "AIAAS_HOME": home}
        env.pop("MLFLOW_TRACKING_URI", None)
        out, seconds = pipeline(env, args.overrides)
        report(out, seconds)
        runtimes = compare_runtimes(out)
    print(f"\n{'batch':>5} {'torch eager ms':>15} {'ONNX Runtime ms':>16} {'speed-up':>9}")
    for size, eager, onnx in runtimes:
        print(f"{size:>5} {eager:>15.3f} {onnx:>16.3f} {eager / onnx:>8.1f}x")


def report(out: dict, seconds: float) -> None:
    metrics, base = out["metrics"], out["metrics"]["baseline"]
    print(f"\naudio-cls on the built-in keywords (test voices unseen in training); baseline: {base['name']}")
    print(f"{'':>10} {'accuracy':>9} {'macro-F1':>9}")
    print(f"{'model':>10} {metrics['accuracy']:>9.4f} {metrics['macro_f1']:>9.4f}")
    print(f"{'baseline':>10} {base['accuracy']:>9.4f} {base['macro_f1']:>9.4f}")
    verdict = "PASS" if metrics["accuracy"] >= TARGET else "FAIL"
    print(f"target accuracy >= {TARGET}: {verdict}; whole pipeline (generate, preprocess, train, ...) {seconds:.0f} s")


if __name__ == "__main__":
    main()
