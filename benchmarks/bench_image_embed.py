"""image-embed: verification on identities unseen in training (the built-in drawn faces), the trained model beside
the baseline (cosine on raw pixels), then the served model's embeddings against local ones (ONNX Runtime in this
process) on held-out images.

Targets (issue 26): TAR at FAR=1e-2 >= 0.9 and >= 0.3 over the baseline; served vs local cosine >= 0.9999.

    .venv/bin/python -m benchmarks.bench_image_embed                  (extra overrides: trainer.max_epochs=30)
    .venv/bin/python -m benchmarks.bench_image_embed --reuse image-embed-pipeline.json   (serve a finished one)
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import requests

AIAAS = str(Path(sys.executable).with_name("aiaas"))
KEYS = ("tar_at_far_1e-2", "tar_at_far_1e-3", "roc_auc", "eer", "top1", "top5", "dir_at_far_1e-2")


def pipeline(overrides: list[str]) -> tuple[dict, float]:
    start = time.perf_counter()
    done = subprocess.run([AIAAS, "pipeline", "image-embed", *overrides, "--json"], capture_output=True, text=True)
    if done.returncode:
        sys.exit(f"aiaas pipeline image-embed failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout), time.perf_counter() - start


def served_vs_local(out: dict, limit: int = 20) -> np.ndarray:
    """Cosine of the served /embed answer and the local ONNX Runtime embedding, per held-out test image."""
    from aiaas_cli.serving.runtime import Predictor

    folder = Path(out["dataset_dir"])
    names = (folder / "test_files.txt").read_text().split()[:limit]
    source = Path(json.loads((folder / "manifest.json").read_text())["source"])
    payloads = [(source / name).read_bytes() for name in names]
    local = np.asarray([p["embedding"] for p in Predictor(out["onnx_path"]).predict(payloads)])
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = subprocess.Popen([AIAAS, "serve", out["bento_tag"], "--port", str(port)], stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL, start_new_session=True)  # fmt: skip
    try:
        url = f"http://127.0.0.1:{port}"
        for _ in range(240):
            try:
                if requests.get(f"{url}/readyz", timeout=2).status_code == 200:
                    break
            except requests.RequestException:
                time.sleep(0.5)
        served = np.asarray([requests.post(f"{url}/embed", files={"image": p}, timeout=60).json()["embedding"]
                             for p in payloads])  # fmt: skip
    finally:
        os.killpg(server.pid, 15)
        server.wait(30)
    return np.einsum("nd,nd->n", served, local)


def main() -> None:
    if sys.argv[1:2] == ["--reuse"]:  # --reuse pipeline.json: a finished pipeline's --json answer
        out, seconds = json.loads(Path(sys.argv[2]).read_text()), float("nan")
        sys.argv[1:3] = []
    else:
        out, seconds = pipeline(sys.argv[1:])
        Path("image-embed-pipeline.json").write_text(json.dumps(out))
    model, base = out["metrics"], out["metrics"]["baseline"]
    print(f"pipeline image-embed {' '.join(sys.argv[1:])}: {seconds:.0f} s (every stage)")
    print(f"{'metric':18} {'model':>8} {'raw pixels':>10} {'difference':>10}")
    for key in KEYS:
        print(f"{key:18} {model[key]:8.4f} {base[key]:10.4f} {model[key] - base[key]:+10.4f}")
    cos = served_vs_local(out)
    print(f"served vs local embeddings: min cosine {cos.min():.6f} over {len(cos)} test images")
    print(
        f"targets: tar_at_far_1e-2 >= 0.9 ({model['tar_at_far_1e-2'] >= 0.9}), >= baseline + 0.3 "
        f"({model['tar_at_far_1e-2'] - base['tar_at_far_1e-2'] >= 0.3}), cosine >= 0.9999 ({cos.min() >= 0.9999})"
    )


if __name__ == "__main__":
    main()
