"""tts: synthesis real-time factor (seconds of compute per second of audio; below 1 is faster than real time),
in-process (`Predictor`, as `aiaas predict` runs it) and served (`aiaas serve`, POST /predict -> audio/wav) at 1
and 8 concurrent clients, on the held-out sentences of a run; plus the run's MCD beside copy-synthesis.

Without --run it runs `aiaas pipeline tts --json` first in a fresh workspace (the built-in espeak-ng corpus, as on
a fresh clone; about 15-30 min on 2 shared cores). Target (issue 15): RTF about 0.1 for Griffin-Lim.

    .venv/bin/python -m benchmarks.bench_tts                          (train, then measure)
    .venv/bin/python -m benchmarks.bench_tts --from pipeline.json     (`aiaas pipeline tts --json > pipeline.json`)
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

AIAAS = str(Path(sys.executable).with_name("aiaas"))
SENTENCES = 16


def pipeline(overrides: list[str]) -> dict:
    start = time.perf_counter()
    done = subprocess.run([AIAAS, "pipeline", "tts", *overrides, "--json"], capture_output=True, text=True)
    if done.returncode:
        sys.exit(f"aiaas pipeline tts failed:\n{done.stderr[-3000:]}")
    out = json.loads(done.stdout)
    print(f"pipeline (generate, preprocess, train, evaluate, export, package): {time.perf_counter() - start:.0f} s")
    return out


def run_outputs(out: dict) -> tuple[Path, list[str], dict]:
    """(model.onnx, held-out sentences, evaluation report) from a pipeline's --json answer."""
    texts = [u["text"] for u in json.loads((Path(out["dataset_dir"]) / "test.json").read_text())][:SENTENCES]
    return Path(out["onnx_path"]), texts, json.loads(Path(out["metrics_file"]).read_text())


def in_process(onnx: Path, texts: list[str]) -> tuple[float, float, dict]:
    """(compute seconds, audio seconds, seconds per part) for every sentence, one at a time, one thread."""
    from aiaas_cli.serving.runtime import Predictor

    predictor = Predictor(onnx, threads=1)
    predictor.predict([texts[0]])  # warm-up: espeak-ng and ONNX Runtime load
    parts = {"phonemes": 0.0, "acoustic model": 0.0, "griffin-lim + wav": 0.0}
    audio = 0.0
    for text in texts:
        t0 = time.perf_counter()
        item = predictor.decode(text)
        t1 = time.perf_counter()
        outputs = predictor.model.run(predictor.adapter.batch([item]))
        t2 = time.perf_counter()
        answer = predictor.adapter.postprocess(outputs, [item], 1)[0]
        t3 = time.perf_counter()
        for name, seconds in zip(parts, (t1 - t0, t2 - t1, t3 - t2)):
            parts[name] += seconds
        audio += answer["seconds"]
    return sum(parts.values()), audio, parts


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def serve(tag: str) -> tuple[subprocess.Popen, str]:
    import requests

    port = free_port()
    log = open(Path(tempfile.gettempdir()) / f"bench_tts_{port}.log", "wb")  # noqa: SIM115 (lives with the server)
    process = subprocess.Popen(
        [AIAAS, "serve", tag, "--port", str(port)], stdout=log, stderr=log, start_new_session=True
    )
    url = f"http://127.0.0.1:{port}"
    for _ in range(240):
        try:
            if requests.get(f"{url}/readyz", timeout=2).status_code == 200:
                return process, url
        except requests.RequestException:
            pass
        time.sleep(0.5)
    process.terminate()
    sys.exit(f"the server did not start (see {log.name})")


def served(url: str, texts: list[str], clients: int) -> tuple[float, float, float]:
    """(wall seconds, audio seconds, mean RTF of one request) for every sentence sent by ``clients`` threads."""
    import io

    import requests
    import soundfile

    def one(text: str) -> tuple[float, float]:
        start = time.perf_counter()
        answer = requests.post(f"{url}/predict", json={"text": text}, timeout=300)
        answer.raise_for_status()
        samples, rate = soundfile.read(io.BytesIO(answer.content))
        return time.perf_counter() - start, len(samples) / rate

    one(texts[0])  # warm-up
    start = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        results = list(pool.map(one, texts * max(1, clients // 4)))
    wall = time.perf_counter() - start
    return wall, sum(r[1] for r in results), sum(r[0] / r[1] for r in results) / len(results)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--from", dest="source", help="the --json answer of an `aiaas pipeline tts` run")
    parser.add_argument("overrides", nargs="*", help="extra config overrides for the pipeline")
    args = parser.parse_args()
    if args.source:
        out = json.loads(Path(args.source).read_text())
    else:
        os.environ["AIAAS_HOME"] = tempfile.mkdtemp(prefix="bench-tts-")
        os.environ.pop("MLFLOW_TRACKING_URI", None)
        out = pipeline(args.overrides)
    onnx, texts, report = run_outputs(out)
    tag = out.get("bento_tag")
    base = report["baseline"]
    print(f"\nquality on {report['utterances']} held-out utterances ({report['units']})")
    print(f"{'':>16} {'MCD':>7} {'dur. err ms':>12} {'logF0 RMSE':>11}")
    print(f"{'model':>16} {report['mcd']:>7.2f} {report['duration_error']:>12.1f} {report['f0_rmse']:>11.3f}")
    print(f"{'copy-synthesis':>16} {base['mcd']:>7.2f} {base['duration_error']:>12.1f} {base['f0_rmse']:>11.3f}")
    compute, audio, parts = in_process(onnx, texts)
    print(f"\nin-process, 1 thread, {len(texts)} sentences, {audio:.1f} s of audio: RTF {compute / audio:.3f}")
    print("  " + ", ".join(f"{name} {seconds / audio:.3f}" for name, seconds in parts.items()))
    if not tag:
        return
    process, url = serve(tag)
    try:
        print(f"\n{'clients':>7} {'RTF (wall/audio)':>17} {'RTF per request':>16}")
        for clients in (1, 8):
            wall, total, per_request = served(url, texts, clients)
            print(f"{clients:>7} {wall / total:>17.3f} {per_request:>16.3f}")
    finally:
        process.terminate()
        process.wait(30)
    print(f"load average: {Path('/proc/loadavg').read_text().split()[:3]}")


if __name__ == "__main__":
    main()
