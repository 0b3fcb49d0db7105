"""asr: WER and CER of the CTC model against a constant baseline on the built-in espeak-ng sentences (test voices
never heard in training, test sentences never seen in training), then real-time factors: torch eager vs ONNX
Runtime on the same log-mels, local `predict` end to end, and the served model at 1 and 8 concurrent clients.

Real-time factor (RTF) = compute seconds / audio seconds (below 1: faster than real time).
Target (issue 11): WER <= 0.15.

    .venv/bin/python -m benchmarks.bench_asr                       (extra overrides: trainer.max_epochs=4)
    .venv/bin/python -m benchmarks.bench_asr --home DIR --out pipeline.json   (reuse a finished pipeline's JSON)
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

AIAAS = str(Path(sys.executable).with_name("aiaas"))
TARGET = 0.15


def pipeline(overrides: list[str]) -> tuple[dict, float]:
    start = time.perf_counter()
    command = [AIAAS, "pipeline", "asr", "trainer.threads=1", *overrides, "--json"]
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode:
        sys.exit(f"aiaas pipeline asr failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout), time.perf_counter() - start


def report(out: dict, seconds: float | None) -> None:
    metrics, base = out["metrics"], out["metrics"]["baseline"]
    print(f"\nasr on the built-in sentences (test voices and sentences unseen in training); baseline: {base['name']}")
    print(f"{'':>10} {'WER':>7} {'CER':>7}")
    print(f"{'model':>10} {metrics['wer']:>7.4f} {metrics['cer']:>7.4f}")
    print(f"{'baseline':>10} {base['wer']:>7.4f} {base['cer']:>7.4f}")
    verdict = "PASS" if metrics["wer"] <= TARGET else "FAIL"
    took = f"; whole pipeline (preprocess, train {out['epochs']} epochs, ...) {seconds:.0f} s" if seconds else ""
    print(f"target WER <= {TARGET}: {verdict}{took}")
    for row in metrics["examples"][:5]:
        print(f"  ref: {row['reference']}\n  hyp: {row['hypothesis']}")


def test_utterances(out: dict, limit: int = 60) -> tuple[list[np.ndarray], list[str], float]:
    from aiaas_recipes.asr.dataset import load_split

    mels, _ = load_split(Path(out["dataset_dir"]), "test")
    files = (Path(out["dataset_dir"]) / "test_files.txt").read_text().splitlines()
    mels, files = mels[:limit], files[:limit]
    return mels, files, sum(m.shape[1] for m in mels) * 0.01  # 10 ms hops


def runtimes(out: dict) -> list[tuple[str, float]]:
    """RTF at batch 1, one thread each: torch eager and ONNX Runtime on the same log-mels; `predict` end to end."""
    import torch

    from aiaas_cli import recipes
    from aiaas_cli.serving.runtime import OnnxModel, Predictor

    torch.set_num_threads(1)
    network, _ = recipes.load("asr").load_model(Path(out["checkpoint"]))
    session = OnnxModel(out["onnx_path"], threads=1)
    mels, files, audio_s = test_utterances(out)
    feeds = [(m[None].copy(), np.asarray([m.shape[1]], dtype=np.int64)) for m in mels]
    rows = []
    with torch.inference_mode():
        start = time.perf_counter()
        for x, n in feeds:
            network(torch.from_numpy(x), torch.from_numpy(n))
        rows.append(("torch eager (network)", (time.perf_counter() - start) / audio_s))
    start = time.perf_counter()
    for x, n in feeds:
        session.run({"features": x, "lengths": n})
    rows.append(("ONNX Runtime (network)", (time.perf_counter() - start) / audio_s))
    predictor, payloads = Predictor(out["onnx_path"], threads=1), [Path(f).read_bytes() for f in files]
    start = time.perf_counter()
    for payload in payloads:  # decode, resample, log-mels, windows, ONNX Runtime, greedy decoding
        predictor.predict([payload])
    rows.append(("ONNX predict (file bytes -> text)", (time.perf_counter() - start) / audio_s))
    return rows


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def served(out: dict, clients: list[int], requests_per_client: int = 15) -> list[tuple[int, float, float]]:
    """(clients, throughput RTF = wall seconds / audio seconds answered, mean latency / duration) per load."""
    import requests

    _, files, _ = test_utterances(out)
    bodies = [Path(f).read_bytes() for f in files]
    port = free_port()
    log = Path(tempfile.mkstemp(prefix="bench-asr-", suffix=".log")[1])
    with log.open("w") as handle:  # the server keeps its own copy of the descriptor
        command = [AIAAS, "serve", out["bento_tag"], "--port", str(port)]
        server = subprocess.Popen(command, stdout=handle, stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(240):
            try:
                if requests.get(f"{url}/readyz", timeout=2).status_code == 200:
                    break
            except requests.RequestException:
                pass
            time.sleep(0.5)
        else:
            sys.exit(f"server not ready, see {log}")

        def client(index: int) -> list[tuple[float, float]]:
            seen = []
            for i in range(requests_per_client):
                body = bodies[(index * requests_per_client + i) % len(bodies)]
                start = time.perf_counter()
                answer = requests.post(f"{url}/predict", files={"audio": ("a.flac", body)}, timeout=120)
                answer.raise_for_status()
                seen.append((time.perf_counter() - start, answer.json()["duration_s"]))
            return seen

        rows = []
        for count in clients:
            client(0)  # warm-up
            start = time.perf_counter()
            with ThreadPoolExecutor(count) as pool:
                results = [r for part in pool.map(client, range(count)) for r in part]
            wall = time.perf_counter() - start
            audio_s = sum(d for _, d in results)
            rows.append((count, wall / audio_s, float(np.mean([t / d for t, d in results]))))
        return rows
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("overrides", nargs="*", help="extra config overrides, e.g. trainer.max_epochs=4")
    parser.add_argument("--home", help="an AIAAS_HOME to use (default: a fresh temporary one)")
    parser.add_argument("--out", help="a finished `aiaas pipeline asr --json` output to measure instead of training")
    parser.add_argument("--clients", type=int, nargs="*", default=[1, 8])
    args = parser.parse_args()
    home = args.home or tempfile.mkdtemp(prefix="bench-asr-")
    os.environ["AIAAS_HOME"] = home
    os.environ.pop("MLFLOW_TRACKING_URI", None)
    out, seconds = (json.loads(Path(args.out).read_text()), None) if args.out else pipeline(args.overrides)
    report(out, seconds)
    print(f"\n{'runtime (batch 1, 1 thread)':>36} {'RTF':>8}")
    for name, rtf in runtimes(out):
        print(f"{name:>36} {rtf:>8.4f}")
    if args.clients:
        print(f"\n{'served clients':>14} {'throughput RTF':>15} {'mean latency/duration':>22}")
        for count, rtf, per_request in served(out, args.clients):
            print(f"{count:>14} {rtf:>15.4f} {per_request:>22.4f}")


if __name__ == "__main__":
    main()
